//! SDK-level tests of the Access Advisor collection with `aws-smithy-mocks`: polling, paging,
//! failed jobs, throttling and attribution chunks, with no network and no real sleeping.
//!
//! Modules:
//! - `advisor`: one entity's job, from start to classified services.

mod advisor;
