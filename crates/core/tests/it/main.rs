//! Integration tests of iamsweep-core's enforcement, through its public API only.
//!
//! Modules:
//! - `action_level`: the wildcard Deny of action-level boundaries against any catalogue and
//!   usage (properties, judged by `wildmatch`), the fallback to service level, and an EC2-heavy
//!   snapshot;
//! - `support`: fixtures, and a simulated `apply` that carries a plan out on a snapshot and a
//!   live state the way IAM would;
//! - `documents`: boundary documents as insta snapshots, evaluated with `policy_eval` against
//!   the escapes they must deny (and a mutation test of their protective statements);
//! - `findings`: the demo snapshot's findings (insta) and the ASFF limits and mappings;
//! - `org`: SCPs per OU: the synthesis property (proven with `policy_eval`), plan guardrails,
//!   the verifier refusing edited plans and hostile snapshots;
//! - `plan`: scenarios of `build_plan`, its checks, and the round trip through JSON;
//! - `properties`: proptest properties of boundaries, plans and tag values;
//! - `resolve`: the settings resolver's bounds, sources and precedence;
//! - `verify`: the verifier `apply` runs: unedited plans pass, every single-field edit of a
//!   change is refused (a property), times, duplicates, tags and documents.

mod action_level;
mod documents;
mod findings;
mod org;
mod plan;
mod properties;
mod resolve;
mod support;
mod verify;
