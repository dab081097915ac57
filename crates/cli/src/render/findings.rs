//! `--format asff` and `--format ocsf`: the report as findings (built in
//! `iamsweep_core::findings`), for Security Hub's `BatchImportFindings` and OCSF readers.

use std::io::Write;

use iamsweep_core::findings::{FindingContext, asff, ocsf};
use iamsweep_core::report::AuditReport;

use crate::cli::Format;

/// The region findings name when neither `--region` nor the environment gives one.
pub const DEFAULT_REGION: &str = "us-east-1";

/// The findings context of `report`: the Security Hub region is `--region`, else `AWS_REGION`,
/// else `AWS_DEFAULT_REGION`, else [`DEFAULT_REGION`]; the findings are made when the report was.
pub fn context(report: &AuditReport, region: Option<&str>) -> FindingContext {
    let region = region
        .map(str::to_string)
        .or_else(|| std::env::var("AWS_REGION").ok())
        .or_else(|| std::env::var("AWS_DEFAULT_REGION").ok())
        .filter(|region| !region.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_REGION.to_string());
    FindingContext::for_report(report, region.trim())
}

/// Writes `report`'s findings in `format` (`asff` or `ocsf`).
pub fn write(
    report: &AuditReport,
    format: Format,
    context: &FindingContext,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    match format {
        Format::Ocsf => serde_json::to_writer_pretty(&mut *out, &ocsf::findings(report, context))?,
        _ => serde_json::to_writer_pretty(&mut *out, &asff::request(report, context))?,
    }
    out.write_all(b"\n")?;
    Ok(())
}
