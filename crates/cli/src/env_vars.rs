//! Every environment variable iamsweep reads itself, in one place.
//!
//! The AWS SDK reads its own (`AWS_PROFILE`, `AWS_REGION`, `AWS_ENDPOINT_URL`, credentials...).

use anyhow::Context;

/// `IAMSWEEP_LOG`: a tracing filter such as `debug` or `iamsweep_aws=trace` (default: `info`
/// for iamsweep's own crates, nothing from the AWS SDK's; `error` with `--quiet`). Set, it
/// replaces the default whole, `--quiet` included: `IAMSWEEP_LOG=aws_config=warn` shows the
/// SDK's credential warnings.
pub const LOG: &str = "IAMSWEEP_LOG";

/// `IAMSWEEP_POLL_FIRST_MS`: wait before the first poll of a job, in milliseconds (default
/// 1000). Real jobs take seconds; tests against a simulator with no latency set it low.
pub const POLL_FIRST_MS: &str = "IAMSWEEP_POLL_FIRST_MS";

/// `IAMSWEEP_TIMEOUT_MS`: the connect and read timeout of every AWS call, in milliseconds
/// (default: connect 10 s, read 30 s). Tests against a silent endpoint set it low. The Lambda
/// reads the same variable.
pub const TIMEOUT_MS: &str = "IAMSWEEP_TIMEOUT_MS";

/// `NO_COLOR`: set to anything but the empty string, tables and logs are never coloured
/// (<https://no-color.org>). Colour is only ever written to a terminal.
pub const NO_COLOR: &str = "NO_COLOR";

/// `COLUMNS`: the width tables wrap at when stdout is not a terminal (on a terminal, its
/// width). Unset, output to a pipe or file is not wrapped.
pub const COLUMNS: &str = "COLUMNS";

/// The timeouts of every AWS call: [`TIMEOUT_MS`], or the defaults.
pub fn timeouts() -> anyhow::Result<iamsweep_aws::clients::Timeouts> {
    let value = std::env::var(TIMEOUT_MS).ok();
    iamsweep_aws::clients::Timeouts::from_env_value(TIMEOUT_MS, value.as_deref())
        .map_err(anyhow::Error::msg)
}

/// The first-poll wait, if set.
pub fn poll_first_ms() -> anyhow::Result<Option<u64>> {
    match std::env::var(POLL_FIRST_MS) {
        Ok(text) => text.trim().parse().map(Some).with_context(|| {
            format!("`{POLL_FIRST_MS}` must be a whole number of milliseconds, found `{text}`")
        }),
        Err(_) => Ok(None),
    }
}
