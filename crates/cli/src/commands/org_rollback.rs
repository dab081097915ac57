//! `iamsweep org rollback`: bring OUs back to what the journal recorded before `org apply`
//! changed them: a created iamsweep SCP detached and deleted, an updated one given its prior
//! content back, its prior attachment restored. Every entry is checked before the first write
//! (`iamsweep_core::org::journal::check_org_entry`); nothing is written without `--apply`.

use std::process::ExitCode;

use anyhow::{Context, bail};
use iamsweep_aws::clients::Clients;
use iamsweep_aws::journal::JournalStore;
use iamsweep_aws::org::scp::Scps;
use iamsweep_aws::pace::Pace;
use iamsweep_aws::retry::RetryPolicy;
use iamsweep_aws::s3::{self, S3};
use iamsweep_core::config::Config;
use iamsweep_core::org::journal::{OrgSelection, select_org};
use iamsweep_core::org::snapshot::{valid_ou_id, valid_root_id};

use crate::commands::org::OrgRollbackArgs;
use crate::settings::{load_config, rate_of};

/// Runs `org rollback`.
pub async fn run(args: &OrgRollbackArgs) -> anyhow::Result<ExitCode> {
    if let Some(bad) = args.ou.iter().find(|id| !valid_ou_id(id) && !valid_root_id(id)) {
        bail!("`--ou {bad}`: expected an OU id such as `ou-ab12-cdef5678` (or a root id `r-ab12`)");
    }
    let config = match &args.config {
        Some(path) => load_config(path)?,
        None => Config::default(),
    };
    let rate = rate_of(&config, args.config.as_deref())?;
    let connection = args.connection.connection()?;
    let sdk = connection.load().await;
    let clients = Clients::new(&sdk);
    let pace = Pace::new(rate);
    let retry = RetryPolicy::default();
    let caller =
        iamsweep_aws::identity::caller_identity(&clients.sts, &pace, &retry).await.context(
            "could not identify the caller with sts:GetCallerIdentity; check the credentials",
        )?;
    let journal = JournalStore::parse(&args.journal, Some(S3 { client: s3::client(&sdk), retry }))
        .with_context(|| format!("invalid journal location `{}`", args.journal))?;
    // Every entry is read and checked before the first write: one bad entry stops it all.
    let entries = journal.read_org(&pace, &caller.account_id).await?;
    let selection = match (&args.run, args.all) {
        (Some(run), _) => OrgSelection::Run(run.clone()),
        (None, true) => OrgSelection::All,
        (None, false) => OrgSelection::Targets(args.ou.clone()),
    };
    let selected = select_org(&entries, &selection);
    if selected.is_empty() {
        eprintln!(
            "nothing to roll back: the journal `{}` records no SCP change of this selection",
            journal.describe()
        );
        return Ok(ExitCode::SUCCESS);
    }
    let scps = Scps { organizations: &clients.organizations, pace: &pace, retry };
    let mut failed = 0;
    for entry in &selected {
        let result = scps.rollback_entry(entry, args.apply).await;
        let verb = if args.apply { "restored" } else { "would restore" };
        match &result.error {
            None if result.actions.is_empty() => {
                println!("{}: already as before", entry.target_id);
            }
            None => println!("{verb} {}: {}", entry.target_id, result.actions.join("; ")),
            Some(error) => {
                failed += 1;
                println!("failed {}: {error}", entry.target_id);
            }
        }
    }
    if !args.apply {
        eprintln!("dry run, nothing written; add --apply to write");
    }
    Ok(if failed > 0 { ExitCode::from(2) } else { ExitCode::SUCCESS })
}
