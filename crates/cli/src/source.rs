//! Where a run's facts come from: a saved snapshot, or a live collection (saved if asked).

use std::path::Path;

use anyhow::Context;
use iamsweep_aws::clients::Clients;
use iamsweep_aws::collector::{CollectError, Collection, collect};
use iamsweep_core::analysis::analyze_owned;
use iamsweep_core::compliance::Rules;
use iamsweep_core::report::AuditReport;
use iamsweep_core::snapshot::Snapshot;
use time::OffsetDateTime;

use crate::progress::Bar;
use crate::settings::AuditSettings;

/// The facts of one run.
#[derive(Debug)]
pub struct Facts {
    /// What was collected or loaded.
    pub snapshot: Snapshot,
    /// Whether it was loaded from a saved snapshot: its figures (calls, throttles) are then
    /// its collection's, not this run's.
    pub offline: bool,
}

impl Facts {
    /// Analyses the facts; an offline report says when its snapshot was collected.
    pub fn analyze(self, rules: &Rules) -> AuditReport {
        let collected_at = self.snapshot.collected_at;
        let mut report = analyze_owned(self.snapshot, rules, OffsetDateTime::now_utc());
        if self.offline {
            report.snapshot_collected_at = Some(collected_at);
        }
        report
    }
}

/// Loads the snapshot named by `--snapshot`, or collects one from AWS.
pub async fn obtain(settings: &AuditSettings) -> anyhow::Result<Facts> {
    if let Some(path) = &settings.snapshot {
        let mut snapshot = load_snapshot(path)?;
        settings.selection.retain(&mut snapshot.entities);
        return Ok(Facts { snapshot, offline: true });
    }
    let config = settings.connection.load().await;
    let clients = Clients::new(&config);
    let bar = Bar::new();
    let Collection { snapshot, .. } = collect(&clients, &settings.collect, &bar)
        .await
        .map_err(|error| naming_profile(error, settings.connection.profile.as_deref()))?;
    bar.finish();
    if let Some(path) = &settings.save_snapshot {
        let file = std::fs::File::create(path)
            .with_context(|| format!("cannot create the snapshot file `{}`", path.display()))?;
        let mut writer = std::io::BufWriter::new(file);
        snapshot
            .write_json(&mut writer)
            .map_err(anyhow::Error::from)
            .and_then(|()| Ok(std::io::Write::flush(&mut writer)?))
            .with_context(|| format!("cannot write the snapshot to `{}`", path.display()))?;
        tracing::info!(path = %path.display(), "snapshot saved");
    }
    Ok(Facts { snapshot, offline: false })
}

/// A collection error, naming the `--profile` when the credentials could not be used: "no
/// credentials found" alone leaves the user guessing which profile was tried.
pub fn naming_profile(error: CollectError, profile: Option<&str>) -> anyhow::Error {
    let identity = matches!(error, CollectError::Identity(_));
    let error = anyhow::Error::from(error);
    match profile {
        Some(profile) if identity => error.context(profile_context(profile)),
        _ => error,
    }
}

/// The words that name a profile in a credential error.
pub fn profile_context(profile: &str) -> String {
    format!(
        "with the AWS profile \"{profile}\" (is it in the AWS config file? `aws configure \
         list-profiles` lists them)"
    )
}

/// Reads and checks a snapshot file, naming the file, line and field of any problem.
pub fn load_snapshot(path: &Path) -> anyhow::Result<Snapshot> {
    let bytes = std::fs::read(path)
        .with_context(|| format!("cannot read the snapshot `{}`", path.display()))?;
    Snapshot::from_slice(&bytes)
        .map_err(|error| anyhow::anyhow!("snapshot `{}`, {error}", path.display()))
}
