//! The AWS edge of iamsweep: the only code that talks to AWS.
//!
//! - [`clients`] builds the SDK clients once from the standard credential chain;
//! - [`collector::collect`] reads the inventory ([`inventory`]), then runs Access Advisor for
//!   every entity ([`advisor`]) with bounded concurrency, a shared rate limit ([`pace`]) and
//!   retries with backoff ([`retry`]), and returns a [`iamsweep_core::snapshot::Snapshot`];
//! - every decision made from what it gathers lives in `iamsweep-core`.

pub mod accounts;
pub mod advisor;
pub mod clients;
pub mod collector;
pub mod config_rule;
pub mod error;
pub mod identity;
pub mod inventory;
pub mod pace;
pub mod retry;

pub use error::CallError;
