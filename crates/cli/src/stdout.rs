//! Stdout that a closed pipe cannot break: `iamsweep audit | head -1` ends quietly, with the
//! command's own exit code, as ripgrep does.
//!
//! Once the reader has gone (`EPIPE`), what is left is dropped instead of failing the run with
//! "Broken pipe" (or, through `println!`, panicking). The command still runs to its end: an
//! `apply` or `rollback` whose output is cut is never stopped half-way, and `check` still
//! answers with its gate's exit code. Any other write error is still an error.

use std::io::{self, ErrorKind, Write};
use std::sync::atomic::{AtomicBool, Ordering};

/// Set once a write found the pipe closed.
static CLOSED: AtomicBool = AtomicBool::new(false);

/// The process's stdout, less its broken-pipe errors.
#[derive(Debug, Default, Clone, Copy)]
pub struct Stdout;

impl Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if CLOSED.load(Ordering::Relaxed) {
            return Ok(buf.len());
        }
        match io::stdout().lock().write(buf) {
            Err(error) if error.kind() == ErrorKind::BrokenPipe => {
                CLOSED.store(true, Ordering::Relaxed);
                Ok(buf.len())
            }
            other => other,
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        if CLOSED.load(Ordering::Relaxed) {
            return Ok(());
        }
        match io::stdout().lock().flush() {
            Err(error) if error.kind() == ErrorKind::BrokenPipe => {
                CLOSED.store(true, Ordering::Relaxed);
                Ok(())
            }
            other => other,
        }
    }
}

/// `println!` through [`Stdout`]: a closed pipe is ignored, another error is said on stderr
/// and does not stop the command (the line is what it did, already done).
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let mut stdout = $crate::stdout::Stdout;
        if let Err(error) = writeln!(stdout, $($arg)*).and_then(|()| stdout.flush()) {
            eprintln!("error: cannot write to stdout: {error}");
        }
    }};
}
pub(crate) use out;
