//! `bootstrap`: the Lambda entry point. Settings and clients are built once, at cold start; each
//! invocation gets its deadline from the runtime's context.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use iamsweep_aws::clients::{Connection, Timeouts};
use iamsweep_lambda::handler::{Runtime, handle};
use iamsweep_lambda::settings::EnvSettings;
use iamsweep_lambda::{env_vars, logs};
use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;
use tokio::time::Instant;

#[tokio::main]
async fn main() -> Result<(), Error> {
    logs::init();
    let env = EnvSettings::from_lookup(|name| std::env::var(name).ok())?;
    let timeout_ms = std::env::var(env_vars::TIMEOUT_MS).ok();
    let timeouts = Timeouts::from_env_value(env_vars::TIMEOUT_MS, timeout_ms.as_deref())?;
    let runtime = Runtime::load(&Connection { timeouts, ..Connection::default() }, env).await?;
    let runtime = &runtime;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let deadline = instant_of(event.context.deadline);
        handle(runtime, &event.payload, deadline).await.map_err(|error| {
            tracing::error!(msgtype = "summary", message = %format!("{error:#}"), "run failed");
            Error::from(format!("{error:#}"))
        })
    }))
    .await
}

/// The runtime's deadline (milliseconds since the epoch) as a monotonic instant.
fn instant_of(deadline_ms: u64) -> Instant {
    let now_ms =
        SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_millis() as u64;
    Instant::now() + Duration::from_millis(deadline_ms.saturating_sub(now_ms))
}
