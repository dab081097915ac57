//! End-to-end tests: the real `iamsweep` binary against iamsim on 127.0.0.1.
//!
//! Modules:
//! - `accounts`: several accounts through `--assume-role`, one refusing it;
//! - `sim`: starting iamsim and running the binary with test credentials;
//! - `sessions`: a silent endpoint, sessions that expire mid-audit, the session length asked;
//! - `sdk`: the unmodified AWS SDK for Rust against iamsim's added actions;
//! - `audit`: classification of every entity against the scenario's truth, paging, groups,
//!   attribution, failed jobs, throttling;
//! - `inputs`: bad flags, config and snapshot files, and offline analysis;
//! - `strict_inputs`: list files saved by Notepad (BOM, UTF-16), NUL bytes, endless lines, a
//!   snapshot listing an entity twice, settings out of their bounds: read right or refused
//!   with zero writes;
//! - `enforce`: plan, apply and rollback read back through the SDK: exact boundaries, guardrails,
//!   idempotence, the five-version limit, refused plans, throttling and failures, S3 lists;
//! - `verify`: edited, future-dated, twice-listed plans and old snapshots refused with zero
//!   writes; the version deleted at five is the one the dry run names;
//! - `boundary`: boundaries of entities that used IAM: the containing document read back
//!   whole, and the escalation risks `plan` and `audit` name;
//! - `findings`: `audit --format asff|ocsf` and `check --min-severity` exit codes;
//! - `action_level`: action-level boundaries: an EC2-heavy role's fitting boundary read back
//!   and evaluated, a service that does not fit at service level, an edit of that refused;
//! - `org`: `org audit | plan | apply | rollback` against an Organization of six OUs (one
//!   nested) and ten accounts, read back through the Organizations SDK, and the permissions
//!   README lists for them;
//! - `rollback`: rollback against a hostile journal and tags, the caller, a shared S3 journal;
//! - `idle`: idle users and roles (`RoleLastUsed` included) in every format and `--fail-on idle`;
//! - `layout`: the demo's audit and plan tables at 80 and 200 columns, Markdown, colour only on
//!   a terminal and never with `NO_COLOR`;
//! - `keepright`: grace for new grants from the state store's history and IAM's dates, notice
//!   before restriction, `heal` restoring a denied service, a hostile state document refused
//!   with zero writes;
//! - `denied`: the audit's `denied since bounded` mark, live and from a saved snapshot, gone
//!   once `heal` restores the service; never on a boundary iamsweep did not write;
//! - `selection`: `--kinds`, `--name`, `--path`, `--tag` on live and snapshot inputs alike, jobs
//!   only for the selected entities, hostile values, `apply --plan` refusing them;
//! - `conventions`: completions, `--quiet`, `--version`, a closed stdout, no ANSI off a
//!   terminal, help defaults, `--output` confirmation, config-relative lists, credential errors
//!   naming the profile, the SDK's warnings kept out, offline figures.
//! - `securityhub`: `findings import` into iamsim's Security Hub: dry run, create, update in
//!   place, archive compliant and deleted entities, a person's workflow kept, batches of 100,
//!   refused findings, a snapshot of another account.

mod accounts;
mod action_level;
mod audit;
mod boundary;
mod conventions;
mod denied;
mod enforce;
mod findings;
mod idle;
mod inputs;
mod keepright;
mod layout;
mod org;
mod rollback;
mod sdk;
mod securityhub;
mod selection;
mod sessions;
mod sim;
mod strict_inputs;
mod verify;
