//! The Lambda handler against iamsim on 127.0.0.1, one event kind at a time.
//!
//! Modules:
//! - `sim`: starting iamsim and building the function's runtime with test credentials;
//! - `events`: scheduled, Config item, Config periodic and fan-out events, and the
//!   deadline-and-resume path;
//! - `fan_out_answers`: the answers the Step Functions test's stub gives are the handler's;
//! - `policy`: every action the function calls is granted by `deploy/`, and nothing more;
//! - `config_events`: AWS Config sample events written by others (`aws_lambda_events`, SAM
//!   CLI, the RDK) replayed through the handler; error kinds and account ids of answers;
//! - `deadline`: a run cut short before its writes, resumed by the next one with nothing lost
//!   or done twice; old and broken markers;
//! - `securityhub`: `IAMSWEEP_SECURITY_HUB`: scheduled and fan-out runs import into their
//!   accounts' Security Hub, off by default, never past the deadline;
//! - `settings`: the CLI's resolver and bounds, and strict list files from S3;
//! - `reports`: JSON and HTML reports in S3 from scheduled and fan-out runs;
//! - `keep`: boundaries need `IAMSWEEP_STATE` (grace, notice); heal runs restore a denied
//!   service once, and write only when enforcing.

mod config_events;
mod deadline;
mod events;
mod fan_out_answers;
mod keep;
mod policy;
mod reports;
mod securityhub;
mod settings;
mod sim;
