//! What the user sees while studies build: a progress bar per study on a terminal,
//! one plain line per stage otherwise, nothing but problems and the summary with
//! `--quiet`, and details with `-v`.
//!
//! Messages of one study (warnings, diagnostics) are collected and printed as one
//! block when the study finishes, so studies building in parallel never interleave
//! their lines.

use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How much to show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verbosity {
    /// Problems and the summary only.
    Quiet,
    /// Stages as they happen.
    Normal,
    /// Stages, plugin discovery and timings.
    Verbose,
}

/// Progress output for a whole run.
pub struct Progress {
    bars: Option<MultiProgress>,
    verbosity: Verbosity,
    /// Serialises plain-line output.
    lock: Mutex<()>,
}

impl Progress {
    /// Bars when standard error is a terminal and not quiet; plain lines otherwise.
    pub fn new(verbosity: Verbosity) -> Self {
        let bars = (verbosity != Verbosity::Quiet && std::io::stderr().is_terminal())
            .then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr()));
        Self {
            bars,
            verbosity,
            lock: Mutex::new(()),
        }
    }

    /// Starts reporting on study `name` with `steps` steps of work.
    pub fn study(&self, name: &str, steps: u64) -> StudyProgress<'_> {
        let bar = self.bars.as_ref().map(|m| {
            let bar = m.add(ProgressBar::new(steps));
            bar.set_style(
                ProgressStyle::with_template("{spinner} {prefix:<16} [{bar:24}] {pos}/{len} {wide_msg}")
                    .expect("a valid template")
                    .progress_chars("=> "),
            );
            bar.set_prefix(name.to_string());
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        StudyProgress {
            progress: self,
            name: name.to_string(),
            bar,
            messages: Vec::new(),
        }
    }

    /// Prints a line to standard error without breaking the bars.
    pub fn line(&self, text: &str) {
        match &self.bars {
            Some(m) => {
                let _ = m.println(text);
            }
            None => {
                let _guard = self.lock.lock();
                eprintln!("{text}");
            }
        }
    }

    /// Whether details are wanted.
    pub fn verbose(&self) -> bool {
        self.verbosity == Verbosity::Verbose
    }
}

impl Drop for Progress {
    /// Leaves the finished bars on screen and the cursor on a fresh line.
    fn drop(&mut self) {
        if self.bars.is_some() {
            eprintln!();
        }
    }
}

/// Progress of one study.
pub struct StudyProgress<'a> {
    progress: &'a Progress,
    name: String,
    bar: Option<ProgressBar>,
    messages: Vec<String>,
}

impl StudyProgress<'_> {
    /// A new stage begins (`computing wave 2001`).
    pub fn stage(&self, what: &str) {
        match &self.bar {
            Some(bar) => bar.set_message(what.to_string()),
            None if self.progress.verbosity != Verbosity::Quiet => {
                self.progress.line(&format!("{}: {what}", self.name))
            }
            None => {}
        }
    }

    /// One step of work is done.
    pub fn step(&self) {
        if let Some(bar) = &self.bar {
            bar.inc(1);
        }
    }

    /// A detail shown with `-v` only.
    pub fn detail(&self, what: &str) {
        if self.progress.verbose() {
            self.progress.line(&format!("{}: {what}", self.name));
        }
    }

    /// A warning or error, printed with the study's other messages when it ends.
    pub fn message(&mut self, text: impl Into<String>) {
        self.messages.push(text.into());
    }

    /// Ends the study's bar with `result` and prints its collected messages.
    pub fn finish(self, result: &str) {
        if let Some(bar) = &self.bar {
            bar.finish_with_message(result.to_string());
        }
        if !self.messages.is_empty() {
            self.progress.line(&self.messages.join("\n"));
        }
    }
}
