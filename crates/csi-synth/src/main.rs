//! # csi-synth: reproducible synthetic survey waves
//!
//! Writes the data files of a csi study from its `study.yaml`: one CSV per wave, at
//! the wave's `data` path, with every column the study reads (respondent id,
//! segment columns, weight, overall items, performance and expectation of every
//! indicator). It exists to give the showcase study `reports/telecom` realistic
//! data with known patterns, which the report must then find:
//!
//! ```text
//! cargo run -p csi-synth -- reports/telecom/study.yaml            # in place
//! cargo run -p csi-synth -- reports/telecom/study.yaml --out DIR  # DIR/data/…
//! ```
//!
//! The output is a pure function of the study file and the seed and is
//! byte-stable: the random numbers come from a self-contained xoshiro256**
//! generator and hand-written `ln`/`exp`/`cos` (see [`rng`]), numbers are
//! formatted with fixed decimals, and the CSV is UTF-8 with `\n` line ends. The
//! test `tests/reproducible.rs` regenerates the committed files and compares bytes.
//!
//! The population model lives in [`profile`] (the telecom case's patterns) and
//! [`generate`] (how respondents and answers are drawn).
//!
//! `csi_study::load` insists that the data files named by the study exist. When
//! they do not (a fresh checkout, or a study being bootstrapped), empty
//! placeholders are created for the load and removed again before writing.

pub mod generate;
pub mod profile;
pub mod rng;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};

const USAGE: &str = "usage: csi-synth STUDY.yaml [--out DIR] [--seed N] [--respondents N]

Writes synthetic data for every wave of the study, at each wave's `data` path
(relative to the study folder), or under DIR with the same relative paths.
--respondents N writes N respondents per wave instead of the example's size.";

/// Command-line options.
#[derive(Debug)]
struct Args {
    study: PathBuf,
    out: Option<PathBuf>,
    seed: u64,
    respondents: Option<usize>,
}

fn parse_args() -> Result<Option<Args>> {
    let mut study = None;
    let mut out = None;
    let mut seed = generate::DEFAULT_SEED;
    let mut respondents = None;
    let mut it = std::env::args_os().skip(1);
    while let Some(a) = it.next() {
        match a.to_str() {
            Some("-h" | "--help") => return Ok(None),
            Some("--out") => out = Some(PathBuf::from(it.next().context("--out needs a folder")?)),
            Some("--respondents") => {
                let s = it.next().context("--respondents needs a number")?;
                respondents = Some(
                    s.to_str()
                        .and_then(|s| s.parse::<usize>().ok())
                        .filter(|n| *n > 0)
                        .context("--respondents needs a positive whole number")?,
                );
            }
            Some("--seed") => {
                let s = it.next().context("--seed needs a number")?;
                seed = s
                    .to_str()
                    .and_then(|s| s.parse().ok())
                    .context("--seed needs a whole number")?;
            }
            Some(s) if s.starts_with('-') => bail!("unknown option `{s}`\n\n{USAGE}"),
            _ if study.is_none() => study = Some(PathBuf::from(a)),
            _ => bail!("more than one study file given\n\n{USAGE}"),
        }
    }
    let study = study.with_context(|| format!("no study file given\n\n{USAGE}"))?;
    Ok(Some(Args {
        study,
        out,
        seed,
        respondents,
    }))
}

/// Just the data paths of the waves, read before validation.
#[derive(serde::Deserialize)]
struct DataPaths {
    #[serde(default)]
    waves: Vec<DataPath>,
}

#[derive(serde::Deserialize)]
struct DataPath {
    data: Option<String>,
}

/// Creates empty placeholders for wave data files that do not exist yet, so that
/// the study validates; returns them for removal. Paths leaving the study folder
/// are skipped (validation reports them).
fn placeholders(study: &Path) -> Result<Vec<PathBuf>> {
    let text = std::fs::read_to_string(study).with_context(|| format!("cannot read {}", study.display()))?;
    let Ok(paths) = serde_yaml::from_str::<DataPaths>(&text) else {
        return Ok(Vec::new()); // let `load` report what is wrong
    };
    let dir = study.parent().unwrap_or(Path::new("."));
    let mut created = Vec::new();
    for rel in paths.waves.iter().filter_map(|w| w.data.as_deref()) {
        let p = Path::new(rel);
        let inside = p
            .components()
            .all(|c| matches!(c, std::path::Component::Normal(_) | std::path::Component::CurDir));
        let full = dir.join(p);
        if inside && !full.exists() {
            if let Some(parent) = full.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(&full, b"")?;
            created.push(full);
        }
    }
    Ok(created)
}

fn run(args: &Args) -> Result<()> {
    let created = placeholders(&args.study)?;
    let loaded = csi_study::load(&args.study);
    for p in &created {
        std::fs::remove_file(p).with_context(|| format!("cannot remove placeholder {}", p.display()))?;
    }
    let study = match loaded {
        Ok(s) => s,
        Err(e) => {
            for d in e.diagnostics() {
                eprint!("{d}");
            }
            bail!("{e}");
        }
    };
    for pos in 0..study.waves.len() {
        let wave = &study.waves[pos];
        let table = generate::wave_table_sized(&study, pos, args.seed, args.respondents)?;
        let path = generate::target(wave, args.out.as_deref());
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).with_context(|| format!("cannot create {}", parent.display()))?;
        }
        std::fs::write(&path, table.to_csv()?).with_context(|| format!("cannot write {}", path.display()))?;
        println!(
            "wave {}: {} respondents, {} columns → {}",
            wave.id,
            table.rows.len(),
            table.header.len(),
            path.display()
        );
    }
    Ok(())
}

fn main() -> ExitCode {
    match parse_args() {
        Ok(None) => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        Ok(Some(args)) => match run(&args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("csi-synth: {e:#}");
                ExitCode::FAILURE
            }
        },
        Err(e) => {
            eprintln!("csi-synth: {e:#}");
            ExitCode::FAILURE
        }
    }
}
