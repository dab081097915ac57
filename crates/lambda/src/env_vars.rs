//! Every environment variable the Lambda reads, in one place. `deploy/template.yaml` sets them.
//!
//! The AWS SDK reads its own (`AWS_REGION`, the function's credentials, `AWS_ENDPOINT_URL` in
//! tests); the Lambda runtime sets `AWS_LAMBDA_*`.

/// `IAMSWEEP_CONFIG`: `s3://bucket/key` of the TOML config (the CLI's format; optional). List
/// files it names (`do_not_list_file`, `base_actions_file`) are read from S3 as the CLI reads
/// them.
pub const CONFIG: &str = "IAMSWEEP_CONFIG";
/// `IAMSWEEP_ENFORCE`: `true` to attach boundaries on scheduled runs and to widen them on heal
/// runs (without it a heal run is a dry run); anything else, or unset, means off. Enforcement
/// is never on by default.
pub const ENFORCE: &str = "IAMSWEEP_ENFORCE";
/// `IAMSWEEP_SECURITY_HUB`: `true` to import each scheduled and fan-out run's findings into AWS
/// Security Hub (in the function's region; for the fan-out, into each member account's), and
/// archive those of entities now compliant or deleted; anything else, or unset, means off.
pub const SECURITY_HUB: &str = "IAMSWEEP_SECURITY_HUB";
/// `IAMSWEEP_STATE`: `s3://bucket/prefix` where resume markers live, one per account and kind of
/// run (`PREFIX/resume/ACCOUNT/KIND.json`), and the state store (`PREFIX/grants/ACCOUNT/
/// state.json`). Without it a cut-short run reports its pending entities in its answer only,
/// and a run that would write boundaries with grace or notice on is refused (`ConfigError`).
pub const STATE: &str = "IAMSWEEP_STATE";
/// `IAMSWEEP_JOURNAL`: `s3://bucket/prefix` of the enforcement journal (required to write).
pub const JOURNAL: &str = "IAMSWEEP_JOURNAL";
/// `IAMSWEEP_REPORTS`: `s3://bucket/prefix` where each scheduled and fan-out run writes its audit
/// report, `PREFIX/ACCOUNT/DATE.json` and `.html` and `PREFIX/ACCOUNT/latest.json` and `.html`
/// (the template sets `s3://BUCKET/iamsweep/STACK/reports`). Unset: no reports.
pub const REPORTS: &str = "IAMSWEEP_REPORTS";
/// `IAMSWEEP_SAFETY_MARGIN_SECONDS`: stop starting entities this long before the function's
/// deadline (default 120: the entities in flight, tagging and the summary need the rest).
pub const SAFETY_MARGIN_SECONDS: &str = "IAMSWEEP_SAFETY_MARGIN_SECONDS";
/// `IAMSWEEP_RATE`: IAM calls per second per account (default: the config's, else 10).
pub const RATE: &str = "IAMSWEEP_RATE";
/// `IAMSWEEP_LOG`: a tracing filter such as `debug` (default `info`).
pub const LOG: &str = "IAMSWEEP_LOG";
/// `IAMSWEEP_POLL_FIRST_MS`: wait before a job's first poll, ms (tests against iamsim set it low).
pub const POLL_FIRST_MS: &str = "IAMSWEEP_POLL_FIRST_MS";
/// `IAMSWEEP_TIMEOUT_MS`: the connect and read timeout of every AWS call, in milliseconds
/// (default: connect 10 s, read 30 s), as for the CLI.
pub const TIMEOUT_MS: &str = "IAMSWEEP_TIMEOUT_MS";
