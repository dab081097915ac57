//! Integration tests of iamsweep-core's enforcement, through its public API only.
//!
//! Modules:
//! - `support`: fixtures, and a simulated `apply` that carries a plan out on a snapshot and a
//!   live state the way IAM would;
//! - `plan`: scenarios of `build_plan`, its checks, and the round trip through JSON;
//! - `properties`: proptest properties of boundaries, plans and tag values;
//! - `resolve`: the settings resolver's bounds, sources and precedence.

mod plan;
mod properties;
mod resolve;
mod support;
