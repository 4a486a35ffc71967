//! Progress reporting handed in by the binary. Library code never prints: it asks the [`Ui`]
//! for progress bars, which draw on the binary's terminal (and hide themselves when stderr
//! is not a terminal, or in tests).

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Where progress bars go.
#[derive(Clone, Debug)]
pub struct Ui {
    multi: Option<MultiProgress>,
}

impl Ui {
    /// Bars drawn on stderr (the binary).
    pub fn terminal() -> Ui {
        Ui {
            multi: Some(MultiProgress::with_draw_target(ProgressDrawTarget::stderr())),
        }
    }

    /// No output at all (tests, library callers).
    pub fn hidden() -> Ui {
        Ui { multi: None }
    }

    /// A bar counting `len` units of `what` (e.g. "cells").
    pub fn bar(&self, len: u64, what: &str) -> ProgressBar {
        let Some(m) = &self.multi else {
            return ProgressBar::hidden();
        };
        let pb = m.add(ProgressBar::new(len));
        pb.set_style(
            ProgressStyle::with_template(
                "{spinner} {msg:<28} [{bar:30}] {pos}/{len} {unit} ({elapsed}, eta {eta})",
            )
            .map(|s| s.progress_chars("=> "))
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .with_key("unit", {
                let w = what.to_string();
                move |_: &indicatif::ProgressState, f: &mut dyn std::fmt::Write| {
                    let _ = f.write_str(&w);
                }
            }),
        );
        pb
    }

    /// A spinner for a step of unknown length.
    pub fn spinner(&self, msg: &str) -> ProgressBar {
        let Some(m) = &self.multi else {
            return ProgressBar::hidden();
        };
        let pb = m.add(ProgressBar::new_spinner());
        pb.set_message(msg.to_string());
        pb.enable_steady_tick(std::time::Duration::from_millis(120));
        pb
    }

    /// Prints a line above the bars (for the binary's summaries); nothing when hidden.
    pub fn println(&self, line: &str) {
        if let Some(m) = &self.multi {
            let _ = m.println(line);
        }
    }
}
