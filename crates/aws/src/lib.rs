//! The AWS edge of iamsweep: the only code that talks to AWS.
//!
//! - [`clients`] builds the SDK clients once from the standard credential chain, with the
//!   connect and read timeouts of [`transport`];
//! - [`collector::collect`] reads the inventory ([`inventory`]), then runs Access Advisor for
//!   every entity ([`advisor`]) with bounded concurrency, a shared rate limit ([`pace`]) and
//!   retries with backoff ([`retry`]), and returns a [`iamsweep_core::snapshot::Snapshot`];
//!   each job is started and read through one of the account's [`session`]s, renewed before
//!   it expires ([`accounts`] assumes roles for several accounts);
//! - enforcement: [`live`] reads iamsweep's boundary policies and an entity's state at apply
//!   time, [`applier`] carries out a plan entity by entity, writing a [`journal`] entry (to a
//!   directory or S3, via [`s3`]) before each change, and [`rollback`] undoes it; [`location`]
//!   reads list files from disk or `s3://`;
//! - [`securityhub`] reads iamsweep's findings in Security Hub and imports the report's;
//! - Organizations: [`org`] reads the tree and one access report per OU and account into an
//!   Organization snapshot, and reads and writes iamsweep's SCPs (journaled in [`journal`]);
//! - every decision made from what it gathers lives in `iamsweep-core`.

pub mod accounts;
pub mod advisor;
pub mod applier;
pub mod clients;
pub mod collector;
pub mod config_rule;
pub mod entity;
pub mod error;
pub mod heal;
pub mod identity;
pub mod inventory;
pub mod journal;
pub mod live;
pub mod location;
pub mod logs;
pub mod org;
pub mod pace;
pub mod retry;
pub mod rollback;
pub mod s3;
pub mod securityhub;
pub mod session;
pub mod state_store;
pub mod transport;

pub use error::CallError;
