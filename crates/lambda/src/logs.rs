//! JSON logs, one object a line, with the CLI's `--log-format json` fields (`msgtype`
//! detail|summary, `entitytype`, `entityname`, `service`, `TotalAuthenticatedEntities`,
//! `message`; the records themselves come from `iamsweep_aws::logs`), ending with one summary
//! line per invocation.

use tracing_subscriber::EnvFilter;

use crate::env_vars;
use crate::handler::Answer;

/// Installs the JSON subscriber on stdout (CloudWatch Logs keeps each line as one event).
pub fn init() {
    let filter = EnvFilter::try_from_env(env_vars::LOG).unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_ansi(false)
        .init();
}

/// The invocation's last line.
pub fn summary(answer: &Answer) {
    tracing::info!(
        msgtype = "summary",
        event = answer.event,
        account_id = %answer.account_id,
        status = answer.status,
        entities = answer.entities,
        ok = answer.ok,
        failed = answer.failed,
        non_compliant = answer.non_compliant,
        pending = answer.pending,
        evaluations = answer.evaluations,
        changed = answer.changed,
        enforced = answer.enforced,
        message = "run finished",
    );
}
