//! One module per subcommand.

pub mod apply;
pub mod audit;
pub mod check;
pub mod completions;
pub mod findings;
pub mod heal;
pub mod org;
pub mod org_apply;
pub mod org_audit;
pub mod org_rollback;
pub mod plan;
pub mod rollback;

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use anyhow::Context;

/// Writes through `write` to `path`, or to stdout, buffered and flushed, naming the destination
/// in any error.
pub fn emit(
    path: Option<&Path>,
    write: impl FnOnce(&mut dyn Write) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    match path {
        Some(path) => {
            let file = File::create(path)
                .with_context(|| format!("cannot create the output file `{}`", path.display()))?;
            let mut writer = BufWriter::new(file);
            write(&mut writer)
                .and_then(|()| writer.flush().map_err(Into::into))
                .with_context(|| format!("cannot write the output file `{}`", path.display()))
        }
        None => {
            let mut writer = BufWriter::new(crate::stdout::Stdout);
            write(&mut writer)
                .and_then(|()| writer.flush().map_err(Into::into))
                .context("cannot write to stdout")
        }
    }
}

/// Says on stderr what `--output` wrote (`wrote audit report (json) to FILE`), unless
/// `--quiet`: a file written in silence leaves the user wondering whether anything happened.
pub fn wrote(what: &str, format: impl clap::ValueEnum, path: Option<&Path>) {
    if let (Some(path), Some(format)) = (path, format.to_possible_value()) {
        crate::logging::status!("wrote {what} ({}) to {}", format.get_name(), path.display());
    }
}
