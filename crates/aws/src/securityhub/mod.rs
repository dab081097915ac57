//! AWS Security Hub: iamsweep's findings in the SDK's types.
//!
//! [`asff`] turns the findings `iamsweep_core::findings::asff` builds into the SDK's
//! `AwsSecurityFinding`, strictly: the importer sends exactly what `--format asff` writes.

pub mod asff;
