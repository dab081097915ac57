//! Building the AWS clients once per run, from the standard credential chain.

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};

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
}

impl Connection {
    /// Loads the shared SDK configuration.
    ///
    /// SDK retries are disabled: [`crate::retry::call`] retries every call itself, through the
    /// shared pace, so that throttles are counted and slow the whole run down.
    pub async fn load(&self) -> SdkConfig {
        let mut loader =
            aws_config::defaults(BehaviorVersion::latest()).retry_config(RetryConfig::disabled());
        if let Some(profile) = &self.profile {
            loader = loader.profile_name(profile);
        }
        if let Some(region) = &self.region {
            loader = loader.region(Region::new(region.clone()));
        }
        if let Some(endpoint_url) = &self.endpoint_url {
            loader = loader.endpoint_url(endpoint_url);
        }
        let config = loader.load().await;
        if config.region().is_none() {
            // IAM and STS answer in any region; without one the SDK refuses to build a request.
            return config.into_builder().region(Region::from_static("us-east-1")).build();
        }
        config
    }
}

/// The clients of one account.
#[derive(Debug, Clone)]
pub struct Clients {
    /// IAM.
    pub iam: aws_sdk_iam::Client,
    /// STS.
    pub sts: aws_sdk_sts::Client,
}

impl Clients {
    /// Builds the clients of one account from its configuration.
    pub fn new(config: &SdkConfig) -> Self {
        Clients { iam: aws_sdk_iam::Client::new(config), sts: aws_sdk_sts::Client::new(config) }
    }
}
