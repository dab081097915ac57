//! Least privilege for a whole Organization: service control policies per OU from
//! Organizations access reports.
//!
//! Facts enter as an [`snapshot::OrgSnapshot`] (the tree and one access report per unit and
//! account, gathered by `iamsweep-aws` or read from a saved file); [`report::analyze_org`]
//! classifies every service of every unit and account; [`plan::build_org_plan`] decides, per OU,
//! the SCP of [`scp::synthesize`] (one `Deny` with `NotAction` listing the services kept) under
//! the [`settings::OrgSettings`] guardrails; `org apply` verifies the plan with
//! [`plan::verify_org_plan`] and journals each change as a [`journal::OrgJournalEntry`];
//! `org rollback` restores with [`journal::rollback_steps`].

pub mod journal;
pub mod plan;
pub mod report;
pub mod scp;
pub mod settings;
pub mod snapshot;
