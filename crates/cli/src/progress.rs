//! The progress bar: entities done / total, throttles, elapsed; only when stderr is a terminal
//! and `--quiet` was not given.

use std::io::IsTerminal;

use iamsweep_aws::collector::Progress;
use iamsweep_core::model::EntityRecord;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A bar on stderr, hidden when stderr is not a terminal (pipes, CI, Lambda).
#[derive(Debug)]
pub struct Bar {
    bar: ProgressBar,
}

impl Bar {
    /// A bar that draws only on a terminal.
    pub fn new() -> Self {
        let target = if std::io::stderr().is_terminal() && !crate::logging::quiet() {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        let bar = ProgressBar::with_draw_target(None, target);
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} entities  {msg}",
            )
            .expect("the template is valid"),
        );
        Bar { bar }
    }

    /// Clears the bar.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

impl Progress for Bar {
    fn started(&self, total: usize) {
        self.bar.set_length(total as u64);
        self.bar.enable_steady_tick(std::time::Duration::from_millis(200));
    }

    fn entity_done(&self, _entity: &EntityRecord, throttles: u64) {
        self.bar.inc(1);
        if throttles > 0 {
            self.bar.set_message(format!("{throttles} throttles"));
        }
    }
}
