//! The live state enforcement compares against: iamsweep's boundary policies, and one entity's
//! current boundary and policy version read again just before it is changed.
//!
//! The plan is computed from a snapshot that may be hours old; [`entity_state`] and
//! [`default_version`] are read at apply time so that `check_preconditions` sees what IAM holds
//! now, not what it held when the plan was made.

use aws_sdk_iam::types::EntityType;
use iamsweep_core::boundary::canonicalize;
use iamsweep_core::denied::{own_boundary, record_boundary};
use iamsweep_core::model::{EntityKind, EntityRecord};
use iamsweep_core::plan::{LivePolicy, LiveState, LiveVersion};
use time::OffsetDateTime;

use crate::error::CallError;
use crate::inventory::{LocalPolicy, local_policy, to_time};
use crate::pace::Pace;
use crate::retry::{RetryPolicy, call};

/// The boundary policies among `policies`: those whose path is exactly `path`, each default
/// document canonicalised so the plan compares it exactly with the document it wants.
pub fn live_state(policies: &[LocalPolicy], path: &str) -> LiveState {
    let policies = policies
        .iter()
        .filter(|policy| policy.path == path)
        .filter_map(|policy| {
            let default_version_id = policy.default_version_id.clone()?;
            let document = policy
                .versions
                .iter()
                .find(|version| version.version_id == default_version_id)
                .and_then(|version| version.document.clone())
                .unwrap_or_default();
            // A document that does not parse is kept as it is: it differs from any document
            // iamsweep writes, so the plan replaces it.
            let default_document = canonicalize(&document).unwrap_or(document);
            let versions = policy
                .versions
                .iter()
                .map(|version| LiveVersion {
                    version_id: version.version_id.clone(),
                    is_default: version.is_default,
                    created: version.created.unwrap_or(OffsetDateTime::UNIX_EPOCH),
                })
                .collect();
            Some((
                policy.arn.clone(),
                LivePolicy { default_version_id, default_document, versions },
            ))
        })
        .collect();
    LiveState { policies }
}

/// Reads the customer managed policies (one paged `GetAccountAuthorizationDetails` walk
/// filtered to them: documents of every version included) and keeps those under `path`.
pub async fn read_live_state(
    iam: &aws_sdk_iam::Client,
    pace: &Pace,
    retry: &RetryPolicy,
    path: &str,
) -> Result<LiveState, CallError> {
    let mut policies = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let page = call(pace, retry, "iam:GetAccountAuthorizationDetails", "account", || {
            iam.get_account_authorization_details()
                .filter(EntityType::LocalManagedPolicy)
                .max_items(1000)
                .set_marker(marker.clone())
                .send()
        })
        .await?;
        policies.extend(page.policies.unwrap_or_default().into_iter().map(local_policy));
        match page.marker {
            Some(next) if page.is_truncated => marker = Some(next),
            _ => break,
        }
    }
    Ok(live_state(&policies, path))
}

/// Records in each of `entities` bounded by one of iamsweep's own boundaries under `path` what
/// that boundary allows and since when (`iamsweep_core::denied::record_boundary`), so the audit
/// can mark the services it denied, live and from the saved snapshot alike.
///
/// What it costs: nothing when no entity is bounded under `path`; when `local` holds the
/// customer managed policies already (`include_local_policies`: plan, heal), nothing either;
/// otherwise one more `GetAccountAuthorizationDetails` walk filtered to them (one call per page
/// of up to 1,000 policies), rather than a `GetPolicy` and a `GetPolicyVersion` per bounded
/// entity. A failed walk loses only the marks: it is logged and the audit goes on.
pub async fn record_boundaries(
    iam: &aws_sdk_iam::Client,
    pace: &Pace,
    retry: &RetryPolicy,
    entities: &mut [EntityRecord],
    account_id: &str,
    path: &str,
    local: Option<&[LocalPolicy]>,
) {
    if !entities.iter().any(|entity| own_boundary(entity, account_id, path).is_some()) {
        return;
    }
    let live = match local {
        Some(policies) => live_state(policies, path),
        None => match read_live_state(iam, pace, retry, path).await {
            Ok(live) => live,
            Err(error) => {
                tracing::warn!(
                    "could not read iamsweep's boundary policies under `{path}`, so the report \
                     marks no service denied since bounded: {error}"
                );
                return;
            }
        },
    };
    for entity in entities {
        record_boundary(entity, account_id, path, &live);
    }
}

/// What IAM holds now for one user or role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntityState {
    /// Its permissions boundary.
    pub boundary_arn: Option<String>,
}

/// Reads one user's or role's current boundary (`GetUser`/`GetRole`).
pub async fn entity_state(
    iam: &aws_sdk_iam::Client,
    pace: &Pace,
    retry: &RetryPolicy,
    kind: EntityKind,
    name: &str,
) -> Result<EntityState, CallError> {
    let boundary = match kind {
        EntityKind::Role => {
            call(pace, retry, "iam:GetRole", name, || iam.get_role().role_name(name).send())
                .await?
                .role
                .and_then(|role| role.permissions_boundary)
        }
        _ => call(pace, retry, "iam:GetUser", name, || iam.get_user().user_name(name).send())
            .await?
            .user
            .and_then(|user| user.permissions_boundary),
    };
    Ok(EntityState { boundary_arn: boundary.and_then(|b| b.permissions_boundary_arn) })
}

/// The default version of a policy, `None` when the policy does not exist.
pub async fn default_version(
    iam: &aws_sdk_iam::Client,
    pace: &Pace,
    retry: &RetryPolicy,
    policy_arn: &str,
) -> Result<Option<String>, CallError> {
    match call(pace, retry, "iam:GetPolicy", policy_arn, || {
        iam.get_policy().policy_arn(policy_arn).send()
    })
    .await
    {
        Ok(output) => Ok(output.policy.and_then(|policy| policy.default_version_id)),
        Err(error) if error.is_no_such_entity() => Ok(None),
        Err(error) => Err(error),
    }
}

/// Every version of a policy (`ListPolicyVersions`), to find the oldest non-default one when
/// the policy is at IAM's limit of five.
pub async fn versions(
    iam: &aws_sdk_iam::Client,
    pace: &Pace,
    retry: &RetryPolicy,
    policy_arn: &str,
) -> Result<Vec<LiveVersion>, CallError> {
    let output = call(pace, retry, "iam:ListPolicyVersions", policy_arn, || {
        iam.list_policy_versions().policy_arn(policy_arn).send()
    })
    .await?;
    Ok(output
        .versions
        .unwrap_or_default()
        .into_iter()
        .map(|version| LiveVersion {
            version_id: version.version_id.unwrap_or_default(),
            is_default: version.is_default_version,
            created: version.create_date.and_then(to_time).unwrap_or(OffsetDateTime::UNIX_EPOCH),
        })
        .collect())
}

/// The version to delete before adding one: decided in `iamsweep-core`, once for the plan and
/// the applier alike (oldest non-default at five, same-second ties by the numeric id).
pub use iamsweep_core::policy_versions::version_to_delete;
