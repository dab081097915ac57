//! `bootstrap`: the Lambda entry point. Settings and clients are built once, at cold start; each
//! invocation gets its deadline from the runtime's context.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use iamsweep_aws::clients::{Connection, Timeouts};
use iamsweep_lambda::failure::{ConfigError, diagnostic};
use iamsweep_lambda::handler::{Runtime, handle};
use iamsweep_lambda::settings::EnvSettings;
use iamsweep_lambda::{env_vars, logs};
use lambda_runtime::{Diagnostic, Error, LambdaEvent, service_fn};
use serde_json::Value;
use tokio::time::Instant;

#[tokio::main]
async fn main() -> Result<(), Error> {
    logs::init();
    // A cold start that cannot build its settings answers every invocation with that error
    // (`errorType` `ConfigError`) instead of exiting: an exit shows only as `Runtime.ExitError`
    // and Lambda starts the same failing process again for each event.
    let runtime: Result<Runtime, Diagnostic> = match environment() {
        Ok((env, timeouts)) => {
            Runtime::load(&Connection { timeouts, ..Connection::default() }, env).await.map_err(
                |error| {
                    tracing::error!(msgtype = "summary", message = %format!("{error:#}"), "cold start failed");
                    diagnostic(&error)
                },
            )
        }
        Err(error) => {
            tracing::error!(msgtype = "summary", message = %format!("{error:#}"), "cold start failed");
            Err(diagnostic(&error))
        }
    };
    let runtime = &runtime;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let runtime = runtime.as_ref().map_err(Clone::clone)?;
        let deadline = instant_of(event.context.deadline);
        handle(runtime, &event.payload, deadline).await.map_err(|error| {
            let diagnostic = diagnostic(&error);
            tracing::error!(
                msgtype = "summary",
                error_type = %diagnostic.error_type,
                message = %diagnostic.error_message,
                "run failed"
            );
            diagnostic
        })
    }))
    .await
}

/// The settings and timeouts from the environment.
fn environment() -> anyhow::Result<(EnvSettings, Timeouts)> {
    let env = EnvSettings::from_lookup(|name| std::env::var(name).ok())
        .context(ConfigError("invalid environment".to_string()))?;
    let timeout_ms = std::env::var(env_vars::TIMEOUT_MS).ok();
    let timeouts = Timeouts::from_env_value(env_vars::TIMEOUT_MS, timeout_ms.as_deref())
        .map_err(|error| anyhow::anyhow!("{error}"))
        .context(ConfigError("invalid environment".to_string()))?;
    Ok((env, timeouts))
}

/// The runtime's deadline (milliseconds since the epoch) as a monotonic instant.
fn instant_of(deadline_ms: u64) -> Instant {
    let now_ms =
        SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_millis() as u64;
    Instant::now() + Duration::from_millis(deadline_ms.saturating_sub(now_ms))
}
