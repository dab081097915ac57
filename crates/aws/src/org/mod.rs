//! The Organization: its tree ([`tree`]), one access report per unit and account
//! ([`reports`], paced, polled and paged as the entity collector does), and the service control
//! policies iamsweep reads and writes ([`scp`]).

pub mod reports;
pub mod scp;
pub mod tree;
