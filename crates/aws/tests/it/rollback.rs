//! `rollback::execute` against a mocked IAM client: a failed step does not stop the others.

use std::collections::BTreeMap;

use aws_sdk_iam::Client;
use aws_sdk_iam::config::retry::RetryConfig;
use aws_sdk_iam::operation::tag_role::TagRoleOutput;
use aws_sdk_iam::operation::untag_role::UntagRoleOutput;
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use iamsweep_aws::pace::Pace;
use iamsweep_aws::retry::RetryPolicy;
use iamsweep_aws::rollback::execute;
use iamsweep_core::model::{EntityKind, EntityRecord};
use iamsweep_core::rollback::Step;

/// Regression guard for "a step that fails on one entity still restores what it can of that
/// entity and names the rest": the boundary call is refused, the tags are still restored, and
/// the previous-boundary tag, which a later rollback needs, is kept.
#[tokio::test(start_paused = true)]
async fn a_refused_boundary_call_still_restores_the_tags_and_keeps_the_previous_boundary_tag() {
    let denied = mock!(Client::delete_role_permissions_boundary).then_http_response(|| {
        HttpResponse::new(
            StatusCode::try_from(403).unwrap(),
            SdkBody::from(
                "<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>User \
                 is not authorized to perform: iam:DeleteRolePermissionsBoundary</Message>\
                 </Error><RequestId>1</RequestId></ErrorResponse>",
            ),
        )
    });
    let tag = mock!(Client::tag_role).then_output(|| TagRoleOutput::builder().build());
    let untag = mock!(Client::untag_role).then_output(|| UntagRoleOutput::builder().build());
    let rules: &[&Rule] = &[&denied, &tag, &untag];
    let iam = mock_client!(aws_sdk_iam, RuleMode::MatchAny, rules, |config| config
        .retry_config(RetryConfig::disabled()));
    let role = EntityRecord::new(EntityKind::Role, "arn:aws:iam::111122223333:role/app", "app");
    let steps = [
        Step::DeleteBoundary,
        Step::Tag { tags: BTreeMap::from([("Team".to_string(), "web".to_string())]) },
        Step::Untag { keys: vec!["Permissions_Used".into()] },
        Step::ForgetPreviousBoundary { key: "iamsweep:previous-boundary".into() },
    ];
    let executed = execute(&iam, &Pace::new(0.0), &RetryPolicy::default(), &role, &steps).await;
    assert_eq!(executed.done, steps[1..3].to_vec());
    assert_eq!(executed.failed.len(), 1);
    assert_eq!(executed.failed[0].0, Step::DeleteBoundary);
    assert_eq!(executed.failed[0].1.code.as_deref(), Some("AccessDenied"));
    assert_eq!(executed.not_tried, steps[3..].to_vec());
    assert_eq!((denied.num_calls(), tag.num_calls(), untag.num_calls()), (1, 1, 1));
}
