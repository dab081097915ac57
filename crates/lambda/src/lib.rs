//! iamsweep as an AWS Lambda function (`bootstrap`, runtime `provided.al2023`).
//!
//! One handler, three kinds of event ([`event::Event`]): the EventBridge schedule (audit the
//! function's account, write summary tags, attach boundaries only when `IAMSWEEP_ENFORCE=true`),
//! AWS Config custom rule events (one configuration item, or every entity on the periodic
//! trigger, answered with `PutEvaluations`), and the fan-out payload
//! `{"account_id", "role_name", "mode": "audit|enforce"}` a Step Functions Distributed Map sends
//! once per account.
//!
//! Data flow: [`settings`] are resolved once per cold start from [`env_vars`] and the optional
//! TOML config in S3; [`handler::Runtime`] holds them with the clients; [`handler::handle`] turns
//! an event and the invocation's deadline into an [`handler::Answer`], through the same
//! `iamsweep-aws` collector, `iamsweep-core` analysis, plan and applier as the CLI. A run that the
//! deadline cuts short leaves a [`resume`] marker, and the next run starts there. Scheduled and fan-out runs
//! write their report as JSON and HTML to S3 ([`reports`]).

pub mod env_vars;
pub mod event;
pub mod failure;
pub mod handler;
pub mod logs;
pub mod pass;
pub mod reports;
pub mod resume;
pub mod settings;
