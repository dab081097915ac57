//! Sessions: the credentials Access Advisor jobs are started and read with, renewed before they
//! expire.
//!
//! An Access Advisor job must be read by the principal that started it, and with temporary
//! credentials by the same session. So a job carries the [`Session`] that started it
//! ([`crate::advisor`]) and is read with that session's client, while [`Sessions::current`]
//! hands new jobs a fresh session once the current one is close to expiring
//! ([`iamsweep_core::session::renew_due`]). An `ExpiredToken` answer is not fatal: the entity's
//! job is started again with a fresh session ([`Sessions::replace`]).
//!
//! Where sessions come from ([`SessionSource`]):
//! - an assumed role ([`AssumedRole`]): `sts:AssumeRole` asking for the longest session the role
//!   allows (12 hours, stepping down on the `ValidationError` STS answers, see
//!   [`iamsweep_core::session::next_duration`]); a fresh session is a new `AssumeRole`;
//! - the caller's own credentials (the standard chain, which refreshes itself): each session
//!   pins the credentials the chain gives at its start, so a job is read with the credentials
//!   that started it even if the chain rotates them meanwhile (SSO, instance and container
//!   roles); a fresh session asks the chain again. Long-term keys never expire and make one
//!   session for the whole run.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime};

use aws_config::SdkConfig;
use aws_config::identity::IdentityCache;
use aws_credential_types::Credentials;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use iamsweep_core::session::{DURATION_STEPS, next_duration, renew_due};
use tokio::sync::Mutex;

use crate::error::CallError;
use crate::pace::Pace;
use crate::retry::{RetryPolicy, call};

/// The name of every session iamsweep opens, visible in the member account's CloudTrail.
pub const SESSION_NAME: &str = "iamsweep";

/// One set of credentials and the IAM client that signs with them.
#[derive(Debug)]
pub struct Session {
    /// IAM, signing with this session's credentials only.
    pub iam: aws_sdk_iam::Client,
    /// When the credentials expire (`None`: long-term credentials, or unknown).
    pub expiration: Option<SystemTime>,
    /// How long they were granted for, measured from when they were obtained.
    pub lifetime: Option<Duration>,
    /// 1 for the run's first session, then 2, 3...: tells whether a session was already replaced.
    pub number: u64,
}

impl Session {
    /// A session whose credentials are whatever `iam` signs with, never renewed (tests, mocks).
    pub fn fixed(iam: aws_sdk_iam::Client) -> Self {
        Session { iam, expiration: None, lifetime: None, number: 1 }
    }

    /// Whether new jobs should go to a fresh session instead.
    fn renew_due(&self, now: SystemTime) -> bool {
        match (self.expiration, self.lifetime) {
            (Some(expiration), Some(lifetime)) => {
                renew_due(lifetime, expiration.duration_since(now).unwrap_or_default())
            }
            _ => false,
        }
    }

    fn expired(&self, now: SystemTime) -> bool {
        self.expiration.is_some_and(|expiration| expiration <= now)
    }
}

/// Where fresh sessions of one account come from.
#[derive(Debug, Clone)]
pub enum SessionSource {
    /// The caller's own credentials, from the standard chain of this configuration.
    Caller(SdkConfig),
    /// A role iamsweep assumed.
    AssumedRole(AssumedRole),
    /// A client whose credentials are fixed (tests): one session, never renewed.
    Fixed,
}

/// A role to assume, with the session length STS last accepted for it.
#[derive(Debug, Clone)]
pub struct AssumedRole {
    /// The configuration the role is assumed from (the caller's).
    pub base: SdkConfig,
    /// The role's ARN.
    pub role_arn: String,
    /// The `DurationSeconds` STS accepted last (12 hours until refused): a renewal starts there
    /// instead of being refused again.
    duration: Arc<AtomicU32>,
    /// The first session, made by [`AssumedRole::assume`]; the collector starts with it.
    first: Option<Arc<Session>>,
}

/// A session made by `AssumeRole`: its configuration (for every client) and its IAM session.
#[derive(Debug)]
pub struct Assumed {
    /// The base configuration with the session's credentials.
    pub config: SdkConfig,
    /// The session, for Access Advisor jobs.
    pub session: Session,
}

impl AssumedRole {
    /// A role to assume from `base`.
    pub fn new(base: SdkConfig, role_arn: String) -> Self {
        AssumedRole {
            base,
            role_arn,
            duration: Arc::new(AtomicU32::new(DURATION_STEPS[0])),
            first: None,
        }
    }

    /// The `DurationSeconds` STS last accepted (or will be asked first).
    pub fn duration_seconds(&self) -> u32 {
        self.duration.load(Ordering::Relaxed)
    }

    /// Remembers `session` as the first one, used before any renewal.
    pub fn with_first(mut self, session: Session) -> Self {
        self.first = Some(Arc::new(session));
        self
    }

    /// Assumes the role: the longest session STS grants, stepping down on each `ValidationError`
    /// about `DurationSeconds`; any other failure is returned as is.
    pub async fn assume(
        &self,
        pace: &Pace,
        retry: &RetryPolicy,
        number: u64,
    ) -> Result<Assumed, CallError> {
        let sts = aws_sdk_sts::Client::new(&self.base);
        let arn = self.role_arn.as_str();
        let mut duration = self.duration_seconds();
        let output = loop {
            let asked = duration;
            let result = call(pace, retry, "sts:AssumeRole", arn, || {
                sts.assume_role()
                    .role_arn(arn)
                    .role_session_name(SESSION_NAME)
                    .duration_seconds(asked as i32)
                    .send()
            })
            .await;
            match result {
                Ok(output) => break output,
                Err(error) if error.code.as_deref() == Some("ValidationError") => {
                    match next_duration(asked, &error.message) {
                        Some(next) => {
                            tracing::debug!(role = arn, asked, next, "session length refused");
                            duration = next;
                        }
                        None => return Err(error),
                    }
                }
                Err(error) => return Err(error),
            }
        };
        self.duration.store(duration, Ordering::Relaxed);
        let missing = |what: &str| CallError {
            operation: "sts:AssumeRole",
            target: arn.to_string(),
            code: None,
            message: format!("the answer has no {what}"),
            attempts: 1,
        };
        let credentials = output.credentials().ok_or_else(|| missing("credentials"))?;
        let expiration = SystemTime::try_from(*credentials.expiration()).ok();
        let credentials = Credentials::new(
            credentials.access_key_id(),
            credentials.secret_access_key(),
            Some(credentials.session_token().to_string()),
            expiration,
            "iamsweep-assume-role",
        );
        let config = pinned(&self.base, credentials);
        let session = Session {
            iam: aws_sdk_iam::Client::new(&config),
            expiration,
            lifetime: lifetime_of(expiration),
            number,
        };
        Ok(Assumed { config, session })
    }
}

/// `base` signing with exactly `credentials`. No identity cache: the credentials are fixed, and a
/// cache would only ask for them again near their expiry.
fn pinned(base: &SdkConfig, credentials: Credentials) -> SdkConfig {
    base.to_builder()
        .credentials_provider(SharedCredentialsProvider::new(credentials))
        .identity_cache(IdentityCache::no_cache())
        .build()
}

fn lifetime_of(expiration: Option<SystemTime>) -> Option<Duration> {
    expiration.map(|expiration| expiration.duration_since(SystemTime::now()).unwrap_or_default())
}

/// The sessions of one account's run: the current one, renewed when due.
#[derive(Debug)]
pub struct Sessions {
    source: SessionSource,
    current: Mutex<Arc<Session>>,
    /// STS has its own limits, apart from IAM's: a pace of its own.
    pace: Pace,
    retry: RetryPolicy,
}

impl Sessions {
    /// One fixed session (tests, mocked clients).
    pub fn fixed(iam: aws_sdk_iam::Client) -> Self {
        Sessions {
            source: SessionSource::Fixed,
            current: Mutex::new(Arc::new(Session::fixed(iam))),
            pace: Pace::new(0.0),
            retry: RetryPolicy::default(),
        }
    }

    /// The sessions of `source`, starting with its first session (`iam` signs with it for an
    /// assumed role and a fixed source; the caller's credentials are pinned now).
    pub async fn start(
        source: SessionSource,
        iam: &aws_sdk_iam::Client,
        rate: f64,
        retry: RetryPolicy,
    ) -> Result<Self, CallError> {
        let pace = Pace::new(rate);
        let first = match &source {
            SessionSource::AssumedRole(role) => match &role.first {
                Some(first) => Arc::clone(first),
                None => Arc::new(role.assume(&pace, &retry, 1).await?.session),
            },
            SessionSource::Caller(config) => Arc::new(caller_session(config, 1).await?),
            SessionSource::Fixed => Arc::new(Session::fixed(iam.clone())),
        };
        Ok(Sessions { source, current: Mutex::new(first), pace, retry })
    }

    /// The session new jobs start with: the current one, or a fresh one when it is about to
    /// expire. When a renewal fails while the current session is still valid, the current one
    /// is used (and the renewal tried again by the next job).
    pub async fn current(&self) -> Result<Arc<Session>, CallError> {
        let mut current = self.current.lock().await;
        if current.renew_due(SystemTime::now()) {
            match self.open(&current).await {
                Ok(fresh) => {
                    tracing::debug!(session = fresh.number, "new jobs use a fresh session");
                    *current = Arc::new(fresh);
                }
                Err(error) if !current.expired(SystemTime::now()) => {
                    tracing::warn!("could not renew the session, keeping the current one: {error}");
                }
                Err(error) => return Err(error),
            }
        }
        Ok(Arc::clone(&current))
    }

    /// A fresh session after `expired` was refused with `ExpiredToken` (unless another job
    /// already replaced it).
    pub async fn replace(&self, expired: &Session) -> Result<Arc<Session>, CallError> {
        let mut current = self.current.lock().await;
        if current.number == expired.number {
            *current = Arc::new(self.open(&current).await?);
            tracing::debug!(session = current.number, "session expired; replaced");
        }
        Ok(Arc::clone(&current))
    }

    /// Sessions opened so far.
    pub async fn opened(&self) -> u64 {
        self.current.lock().await.number
    }

    /// A fresh session to follow `previous`.
    async fn open(&self, previous: &Session) -> Result<Session, CallError> {
        let number = previous.number + 1;
        match &self.source {
            SessionSource::AssumedRole(role) => {
                Ok(role.assume(&self.pace, &self.retry, number).await?.session)
            }
            SessionSource::Caller(config) => caller_session(config, number).await,
            // Fixed credentials cannot be renewed: the same client, under a new number.
            SessionSource::Fixed => Ok(Session { number, ..Session::fixed(previous.iam.clone()) }),
        }
    }
}

/// A session pinning the credentials the standard chain gives now.
async fn caller_session(config: &SdkConfig, number: u64) -> Result<Session, CallError> {
    let Some(provider) = config.credentials_provider() else {
        return Ok(Session { number, ..Session::fixed(aws_sdk_iam::Client::new(config)) });
    };
    let credentials = provider.provide_credentials().await.map_err(|error| CallError {
        operation: "credentials",
        target: "-".to_string(),
        code: None,
        message: aws_smithy_types::error::display::DisplayErrorContext(&error).to_string(),
        attempts: 1,
    })?;
    let expiration = credentials.expiry();
    let config = pinned(config, credentials);
    Ok(Session {
        iam: aws_sdk_iam::Client::new(&config),
        expiration,
        lifetime: lifetime_of(expiration),
        number,
    })
}
