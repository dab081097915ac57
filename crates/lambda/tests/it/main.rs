//! The Lambda handler against iamsim on 127.0.0.1, one event kind at a time.
//!
//! Modules:
//! - `sim`: starting iamsim and building the function's runtime with test credentials;
//! - `events`: scheduled, Config item, Config periodic and fan-out events, and the
//!   deadline-and-resume path;
//! - `fan_out_answers`: the answers the Step Functions test's stub gives are the handler's;
//! - `policy`: every action the function calls is granted by `deploy/`, and nothing more.

mod events;
mod fan_out_answers;
mod policy;
mod sim;
