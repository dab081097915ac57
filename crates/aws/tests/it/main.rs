//! SDK-level tests with `aws-smithy-mocks`: the Access Advisor collection (polling, paging,
//! failed jobs, throttling and attribution chunks) and rollback's writes, with no network and no
//! real sleeping.
//!
//! Modules:
//! - `advisor`: one entity's job, from start to classified services;
//! - `applier`: `apply_until`'s stop instant, which starts no new entity but lets one that has
//!   started finish its writes;
//! - `rollback`: carrying out a rollback's steps when one of them fails;
//! - `securityhub`: ASFF findings through the SDK's model and serialiser, byte for byte.

mod advisor;
mod applier;
mod rollback;
mod securityhub;
