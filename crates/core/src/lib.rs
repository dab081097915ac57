//! The pure core of iamsweep: every decision, no I/O.
//!
//! Facts enter as plain data ([`model`], gathered into a [`snapshot::Snapshot`] by the
//! `iamsweep-aws` crate or read from a saved file); the current time, account id and documents
//! come in as arguments. Out come reports ([`analysis::analyze`]), compliance verdicts
//! ([`compliance`]) and, for enforcement, boundary documents and plans. Nothing here touches the
//! network, the filesystem or the clock, which is what lets every decision be tested without AWS.
//!
//! Settings of every run come from [`resolve::resolve`] (flags or environment over the config
//! file over the defaults, every number bounded), the one resolver of the CLI and the Lambda.
//!
//! Findings: [`risk`] ranks services by the risk class of their namespace (shipped data) and
//! gives every entity and service of a report its severity; [`findings`] turns a report into ASFF
//! (Security Hub's `BatchImportFindings` body) and OCSF Detection Findings.
//!
//! Enforcement, in the order the binaries use it:
//! [`settings::EnforceSettings::resolve`] (config + window + list files read by [`lists`]) ->
//! [`plan::build_plan`] (snapshot + report + [`plan::LiveState`]; skips decided in
//! [`guardrails`], documents by [`boundary`], values by [`tags`], the version to delete by
//! [`policy_versions`]) -> `apply` refuses an edited, future-dated, stale or invalid plan with
//! [`verify::verify_plan`] (documents checked by [`policy_document`]), checks
//! [`plan::check_max_changes`], [`plan::check_preconditions`] and writes a
//! [`journal::JournalEntry`] before each change -> `rollback` checks each entry with
//! [`journal::check_entry`], then [`rollback::select`], [`rollback::decide`] and
//! [`rollback::steps`] say what to restore. What a boundary
//! allows and denies is proven with [`policy_eval`]; what it leaves open is named by
//! [`escalation`].
//!
//! With action-level data, a boundary's Deny of tracked-but-unused actions is decided per
//! service by [`action_level`], as the fewest wildcard patterns ([`action_patterns`]) that match
//! nothing else in the IAM [`action_catalogue`] shipped with the crate.
//!
//! Keeping boundaries right as workloads change: [`grace`] keeps services granted less than
//! `boundary.grace_days` ago (their age from the state store's [`grants`] history, else IAM's
//! dates), [`notice`] announces a restriction before making it, and [`heal`] gives a bounded
//! entity back at once a service its boundary denied it since it was attached; whether a service
//! was [`denied`] since bounded is decided once, for `heal` and the audit report alike.
//!
//! Organizations: [`org`] holds the SCP per OU, from the Organization snapshot through its
//! analysis, synthesis, plan and verification to its journal entries and rollback steps.
//!
//! ```
//! use iamsweep_core::analysis::classify;
//! use iamsweep_core::report::ServiceState;
//! use time::{Duration, macros::datetime};
//!
//! let now = datetime!(2026-11-23 12:00 UTC);
//! assert_eq!(classify(Some(now - Duration::days(3)), now, 180), ServiceState::Used);
//! assert_eq!(classify(Some(now - Duration::days(250)), now, 180), ServiceState::Stale);
//! assert_eq!(classify(None, now, 180), ServiceState::Unused);
//! ```

pub mod action_catalogue;
pub mod action_level;
pub mod action_patterns;
pub mod analysis;
pub mod boundary;
pub mod compliance;
pub mod config;
pub mod denied;
pub mod effect;
pub mod error;
pub mod escalation;
pub mod findings;
pub mod grace;
pub mod grants;
pub mod guardrails;
pub mod heal;
pub mod html;
pub mod journal;
pub mod json_document;
pub mod lists;
pub mod model;
pub mod notice;
pub mod org;
pub mod plan;
pub mod policy_document;
pub mod policy_eval;
pub mod policy_versions;
pub mod report;
pub mod resolve;
pub mod resume;
pub mod risk;
pub mod rollback;
pub mod rollup;
pub mod securityhub;
pub mod selection;
pub mod session;
pub mod settings;
pub mod snapshot;
pub mod tags;
pub mod verify;

pub use error::InputError;
