//! One module per subcommand.

pub mod apply;
pub mod audit;
pub mod check;
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
            let mut writer = BufWriter::new(std::io::stdout().lock());
            write(&mut writer)
                .and_then(|()| writer.flush().map_err(Into::into))
                .context("cannot write to stdout")
        }
    }
}
