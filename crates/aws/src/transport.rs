//! Bounded time on every call, and transport failures that name the endpoint.
//!
//! The AWS SDK for Rust sets no read timeout unless asked: an endpoint that accepts the
//! connection and never answers kept a call waiting forever (over 18 minutes, measured, where
//! boto3 gives up after 3). [`Timeouts`] is set once in the shared `SdkConfig`
//! ([`crate::clients::Connection::load`]), so every client built from it (IAM, STS, S3, Config,
//! Organizations, and assumed-role sessions, in the CLI and the Lambda alike) gets it. A timed-out
//! attempt is a transient failure that [`crate::retry::call`] retries like a 5xx.
//!
//! The SDK's transport errors do not say where the call went ("HTTP read timeout occurred after
//! 30s"). [`naming_client`] wraps the SDK's default HTTP client so that every connector error
//! carries the endpoint (scheme and host, never the path or query), and
//! [`crate::error::CallError`] prints it.

use std::fmt;
use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::{
    RuntimeComponents, RuntimeComponentsBuilder,
};
use aws_smithy_runtime_api::client::runtime_plugin::RuntimePlugin;
use aws_smithy_types::timeout::TimeoutConfig;

/// How long one attempt of a call may take. The defaults follow boto3's idea (connect and read
/// timeouts, then retries) with shorter values: IAM, STS, S3, Config and Organizations answer in
/// well under a second, and the largest answer iamsweep reads (a 1,000-item
/// `GetAccountAuthorizationDetails` page) takes a few seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// Establishing the TCP (and TLS) connection. Default 10 s.
    pub connect: Duration,
    /// From sending the request until the answer starts. Default 30 s.
    pub read: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts { connect: Duration::from_secs(10), read: Duration::from_secs(30) }
    }
}

impl Timeouts {
    /// Both timeouts set to `duration` (tests set them to a fraction of a second).
    pub fn uniform(duration: Duration) -> Self {
        Timeouts { connect: duration, read: duration }
    }

    /// Reads the value of the environment variable `name` (whole milliseconds, more than 0, for
    /// both timeouts); unset means the defaults. Both binaries declare the same variable
    /// (`IAMSWEEP_TIMEOUT_MS`) and read it through this.
    pub fn from_env_value(name: &str, value: Option<&str>) -> Result<Timeouts, String> {
        let Some(text) = value else { return Ok(Timeouts::default()) };
        match text.trim().parse::<u64>() {
            Ok(ms) if ms > 0 => Ok(Timeouts::uniform(Duration::from_millis(ms))),
            _ => Err(format!(
                "`{name}` must be a whole number of milliseconds greater than 0, found `{text}`"
            )),
        }
    }

    /// The SDK's form. The attempt timeout (connect + read) also bounds an answer that starts
    /// and then stalls mid-body, which the read timeout alone does not cover.
    pub fn sdk_config(&self) -> TimeoutConfig {
        TimeoutConfig::builder()
            .connect_timeout(self.connect)
            .read_timeout(self.read)
            .operation_attempt_timeout(self.connect + self.read)
            .build()
    }
}

/// The SDK's default HTTPS client, wrapped so that connector errors name the endpoint.
pub fn naming_client() -> Option<SharedHttpClient> {
    // The plugin is the only public way to the very client the SDK would pick by itself.
    let plugin = aws_smithy_runtime::client::defaults::default_http_client_plugin_v2(
        BehaviorVersion::latest(),
    )?;
    let inner =
        plugin.runtime_components(&RuntimeComponentsBuilder::new("iamsweep")).http_client()?;
    Some(SharedHttpClient::new(NamingClient(inner)))
}

#[derive(Debug)]
struct NamingClient(SharedHttpClient);

impl HttpClient for NamingClient {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(NamingConnector(self.0.http_connector(settings, components)))
    }

    fn connector_metadata(
        &self,
    ) -> Option<aws_smithy_runtime_api::client::connector_metadata::ConnectorMetadata> {
        self.0.connector_metadata()
    }
}

#[derive(Debug)]
struct NamingConnector(SharedHttpConnector);

impl HttpConnector for NamingConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let endpoint = endpoint_of(request.uri());
        let call = self.0.call(request);
        HttpConnectorFuture::new(async move {
            call.await.map_err(|error| with_endpoint(error, endpoint))
        })
    }
}

/// `scheme://host[:port]` of a request URI: where the call went, without the path or query
/// (which may carry presigned parameters).
fn endpoint_of(uri: &str) -> String {
    match uri.split_once("://") {
        Some((scheme, rest)) => {
            let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
            format!("{scheme}://{authority}")
        }
        None => uri.to_string(),
    }
}

/// Rewraps a connector error with its endpoint, keeping its kind (timeout, I/O, user, other),
/// which decides whether the call is retried.
fn with_endpoint(error: ConnectorError, endpoint: String) -> ConnectorError {
    let (is_timeout, is_io, is_user, other) =
        (error.is_timeout(), error.is_io(), error.is_user(), error.as_other());
    let wrapped: BoxError = Box::new(EndpointError { endpoint, source: error });
    if is_timeout {
        ConnectorError::timeout(wrapped)
    } else if is_io {
        ConnectorError::io(wrapped)
    } else if is_user {
        ConnectorError::user(wrapped)
    } else {
        ConnectorError::other(wrapped, other)
    }
}

/// A transport failure and the endpoint it happened on.
#[derive(Debug)]
pub struct EndpointError {
    /// `scheme://host[:port]`.
    pub endpoint: String,
    source: ConnectorError,
}

impl fmt::Display for EndpointError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "calling `{}`", self.endpoint)
    }
}

impl std::error::Error for EndpointError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_timeout_variable_is_milliseconds_or_refused_with_its_name() {
        assert_eq!(Timeouts::from_env_value("T", None), Ok(Timeouts::default()));
        assert_eq!(
            Timeouts::from_env_value("T", Some(" 250 ")),
            Ok(Timeouts::uniform(Duration::from_millis(250)))
        );
        for bad in ["0", "-5", "1.5", "10s", ""] {
            let error = Timeouts::from_env_value("T", Some(bad)).unwrap_err();
            assert!(error.starts_with("`T` must be"), "{error}");
        }
    }

    #[test]
    fn the_endpoint_keeps_scheme_host_and_port_only() {
        assert_eq!(endpoint_of("http://127.0.0.1:4566/?Action=X"), "http://127.0.0.1:4566");
        assert_eq!(endpoint_of("https://iam.amazonaws.com/"), "https://iam.amazonaws.com");
        assert_eq!(
            endpoint_of("https://b.s3.amazonaws.com/key?X-Amz-Signature=secret"),
            "https://b.s3.amazonaws.com"
        );
    }

    #[test]
    fn rewrapping_keeps_the_kind_that_decides_retries() {
        let timeout = with_endpoint(ConnectorError::timeout("slow".into()), "http://h".into());
        assert!(timeout.is_timeout());
        let io = with_endpoint(ConnectorError::io("reset".into()), "http://h".into());
        assert!(io.is_io());
        let user = with_endpoint(ConnectorError::user("bad".into()), "http://h".into());
        assert!(user.is_user());
    }
}
