//! Building the AWS clients once per run, from the standard credential chain.
//!
//! Every client gets connect and read timeouts ([`Timeouts`], see [`crate::transport`]) and
//! transport errors that name the endpoint.

use aws_config::environment::region::EnvironmentVariableRegionProvider;
use aws_config::meta::region::RegionProviderChain;
use aws_config::profile::ProfileFileRegionProvider;
use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};

use crate::session::SessionSource;
pub use crate::transport::Timeouts;

/// Where to find credentials and which endpoint to call.
#[derive(Debug, Clone, Default)]
pub struct Connection {
    /// A named profile (`--profile`); else the standard chain (`AWS_PROFILE`, env, SSO, IMDS...).
    pub profile: Option<String>,
    /// A region (`--region`); else the chain's. IAM is global, so any region works.
    pub region: Option<String>,
    /// Another endpoint for every client (`--endpoint-url`, or `AWS_ENDPOINT_URL` via the chain),
    /// as the AWS CLI does: this is how the tests reach iamsim.
    pub endpoint_url: Option<String>,
    /// Connect and read timeouts of every call (default 10 s and 30 s); tests shorten them
    /// through `IAMSWEEP_TIMEOUT_MS`.
    pub timeouts: Timeouts,
}

impl Connection {
    /// Loads the shared SDK configuration.
    ///
    /// SDK retries are disabled: [`crate::retry::call`] retries every call itself, through the
    /// shared pace, so that throttles are counted and slow the whole run down. Timeouts are
    /// set here, once, so that no client the CLI or the Lambda builds can wait forever.
    pub async fn load(&self) -> SdkConfig {
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .retry_config(RetryConfig::disabled())
            .timeout_config(self.timeouts.sdk_config());
        if let Some(client) = crate::transport::naming_client() {
            loader = loader.http_client(client);
        }
        if let Some(profile) = &self.profile {
            loader = loader.profile_name(profile);
        }
        // IAM is global, so the region only picks the STS endpoint. Without one from the flag,
        // the environment or the profile, use us-east-1 rather than the SDK's last resort, the
        // instance metadata service, which off EC2 costs seconds and logs warnings.
        let region = match &self.region {
            Some(region) => RegionProviderChain::first_try(Region::new(region.clone())),
            None => RegionProviderChain::first_try(EnvironmentVariableRegionProvider::new()),
        }
        .or_else(match &self.profile {
            Some(profile) => ProfileFileRegionProvider::builder().profile_name(profile).build(),
            None => ProfileFileRegionProvider::new(),
        })
        .or_else(Region::from_static("us-east-1"));
        loader = loader.region(region);
        if let Some(endpoint_url) = &self.endpoint_url {
            loader = loader.endpoint_url(endpoint_url);
        }
        loader.load().await
    }
}

/// The clients of one account.
#[derive(Debug, Clone)]
pub struct Clients {
    /// IAM.
    pub iam: aws_sdk_iam::Client,
    /// STS.
    pub sts: aws_sdk_sts::Client,
    /// Organizations, for `--organization` (management or delegated administrator account).
    pub organizations: aws_sdk_organizations::Client,
    /// AWS Config, for the custom rule's `PutEvaluations`.
    pub config: aws_sdk_config::Client,
    /// Security Hub, for `findings import` and the Lambda's import (in the configured region).
    pub securityhub: aws_sdk_securityhub::Client,
    /// Where fresh sessions of these credentials come from: Access Advisor jobs are started and
    /// read through them ([`crate::session`]).
    pub sessions: SessionSource,
}

impl Clients {
    /// Builds the clients of one account from its configuration.
    pub fn new(config: &SdkConfig) -> Self {
        Clients {
            iam: aws_sdk_iam::Client::new(config),
            sts: aws_sdk_sts::Client::new(config),
            organizations: aws_sdk_organizations::Client::new(config),
            config: aws_sdk_config::Client::new(config),
            securityhub: aws_sdk_securityhub::Client::new(config),
            sessions: SessionSource::Caller(config.clone()),
        }
    }
}
