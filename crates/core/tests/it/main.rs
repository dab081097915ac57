//! Integration tests of iamsweep-core's enforcement, through its public API only.
//!
//! Modules:
//! - `support`: fixtures, and a simulated `apply` that carries a plan out on a snapshot and a
//!   live state the way IAM would;
//! - `documents`: boundary documents as insta snapshots, evaluated with `policy_eval` against
//!   the escapes they must deny (and a mutation test of their protective statements);
//! - `org`: SCPs per OU: the synthesis property (proven with `policy_eval`), plan guardrails,
//!   the verifier refusing edited plans and hostile snapshots;
//! - `plan`: scenarios of `build_plan`, its checks, and the round trip through JSON;
//! - `properties`: proptest properties of boundaries, plans and tag values;
//! - `resolve`: the settings resolver's bounds, sources and precedence;
//! - `verify`: the verifier `apply` runs: unedited plans pass, every single-field edit of a
//!   change is refused (a property), times, duplicates, tags and documents.

mod documents;
mod org;
mod plan;
mod properties;
mod resolve;
mod support;
mod verify;
