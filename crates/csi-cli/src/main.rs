//! `csi`: build customer-satisfaction report sites from study definitions.
//!
//! The binary is a thin recipe over the library crates: find studies, load and
//! validate them (`csi-study`), check their data columns and compute every wave
//! (`csi-engine`), and publish the site (`csi-site`). A study with any error is not
//! published, and whatever was published for it before stays as it was.

mod analyses;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};

use csi_engine::EngineError;
use csi_study::{Diagnostic, Study, StudyError};

#[derive(Parser)]
#[command(
    name = "csi",
    version,
    about = "Customer-satisfaction index reports: from survey waves to a versioned static site"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Compute every wave of the studies and write the report site.
    Build {
        /// Study files or folders to search for `study.yaml` (default: `reports`).
        paths: Vec<PathBuf>,
        /// Output folder of the site.
        #[arg(long, default_value = "site")]
        out: PathBuf,
        /// A theme folder overriding the built-in default theme.
        #[arg(long)]
        theme: Option<PathBuf>,
        /// Extra folders to search for analysis plugins.
        #[arg(long = "plugins", value_name = "DIR")]
        plugins: Vec<PathBuf>,
    },
    /// List the analysis plugins found, with version, ABI and location, and why any
    /// library was refused.
    Plugins {
        /// Extra folders to search for analysis plugins.
        #[arg(long = "plugins", value_name = "DIR")]
        plugins: Vec<PathBuf>,
    },
    /// Validate studies and their data without writing anything.
    Check {
        /// Study files or folders to search for `study.yaml` (default: `reports`).
        paths: Vec<PathBuf>,
    },
    /// Internal: run one isolated plugin call read from standard input.
    #[command(hide = true, name = "plugin-worker")]
    PluginWorker,
}

/// Finds `study.yaml` files: a file path is taken as is, a folder is searched.
fn find_studies(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let defaults = [PathBuf::from("reports")];
    let paths = if paths.is_empty() { &defaults[..] } else { paths };
    let mut found = Vec::new();
    for p in paths {
        if p.is_file() {
            found.push(p.clone());
            continue;
        }
        if !p.is_dir() {
            bail!("`{}` is neither a study file nor a folder", p.display());
        }
        let before = found.len();
        let walker = walkdir::WalkDir::new(p)
            .sort_by_file_name()
            .into_iter()
            .filter_entry(|e| {
                let name = e.file_name().to_string_lossy();
                e.depth() == 0 || !(name.starts_with('.') || name == "target" || name == "node_modules")
            });
        for entry in walker {
            let entry = entry.with_context(|| format!("cannot search {}", p.display()))?;
            if entry.file_type().is_file() && entry.file_name() == "study.yaml" {
                found.push(entry.into_path());
            }
        }
        if found.len() == before {
            bail!("no study.yaml found under `{}`", p.display());
        }
    }
    Ok(found)
}

fn print_diagnostics(diags: &[Diagnostic]) {
    for d in diags {
        eprintln!("{d}");
    }
}

/// Loads a study and checks its data columns; prints diagnostics on failure.
fn load_checked(path: &Path) -> Option<Study> {
    let study = match csi_study::load(path) {
        Ok(s) => s,
        Err(StudyError::Invalid(diags)) => {
            print_diagnostics(&diags);
            let n = diags.iter().filter(|d| d.is_error()).count();
            eprintln!("{}: {n} error(s); nothing was written for this study\n", path.display());
            return None;
        }
        Err(e) => {
            eprintln!("error: {e}\n");
            return None;
        }
    };
    match csi_engine::check_columns(&study) {
        Ok(diags) if diags.is_empty() => Some(study),
        Ok(diags) => {
            print_diagnostics(&diags);
            eprintln!(
                "{}: {} error(s); nothing was written for this study\n",
                path.display(),
                diags.len()
            );
            None
        }
        Err(e) => {
            eprintln!("error: {e}\n{}: nothing was written for this study\n", path.display());
            None
        }
    }
}

fn report_engine_error(study: &Study, wave: &str, e: &EngineError) {
    match e {
        EngineError::Columns(d) => print_diagnostics(d),
        other => eprintln!("error: wave `{wave}` of study `{}`: {other}", study.id),
    }
}

fn build(paths: &[PathBuf], out: &Path, theme: Option<&Path>, plugin_dirs: &[PathBuf]) -> Result<bool> {
    let theme = csi_site::Theme::load(theme).context("cannot load the theme")?;
    let writer = csi_site::SiteWriter::new(out, theme, format!("csi {}", env!("CARGO_PKG_VERSION")));
    let mut ok = true;
    let mut seen: std::collections::HashMap<String, PathBuf> = std::collections::HashMap::new();
    for path in find_studies(paths)? {
        let Some(study) = load_checked(&path) else {
            ok = false;
            continue;
        };
        if let Some(first) = seen.get(&study.id) {
            eprintln!(
                "error: study id `{}` of {} is already used by {}; each study needs its own id (it names the site folder)\n",
                study.id,
                path.display(),
                first.display()
            );
            ok = false;
            continue;
        }
        seen.insert(study.id.clone(), path.clone());
        let mut results = Vec::new();
        for wave in &study.waves {
            match csi_engine::compute_wave(&study, wave) {
                Ok(r) => {
                    for issue in &r.data.issues {
                        eprintln!("warning: wave `{}`: {issue}", wave.id);
                    }
                    results.push(r);
                }
                Err(e) => report_engine_error(&study, &wave.id, &e),
            }
        }
        if results.len() != study.waves.len() {
            eprintln!(
                "{}: not published; the previous site of `{}` (if any) is unchanged\n",
                path.display(),
                study.id
            );
            ok = false;
            continue;
        }
        let registry = csi_plugin_host::Registry::discover(&analyses::plugin_dirs(plugin_dirs, Some(&study.dir)));
        for refused in &registry.refused {
            eprintln!("warning: {refused}");
        }
        let prepared = analyses::prepare(&study, &registry);
        let pages: Vec<Vec<csi_site::AnalysisPage>> = (0..results.len())
            .map(|i| analyses::run_wave(&study, &prepared, &results, i))
            .collect();
        for (r, wave_pages) in results.iter().zip(&pages) {
            for page in wave_pages {
                if let Err(e) = &page.outcome {
                    eprintln!(
                        "warning: analysis `{}` of `{}`, wave `{}`: {e}",
                        page.id, study.id, r.wave
                    );
                }
            }
        }
        let dir = writer
            .publish(&study, &results, &pages)
            .with_context(|| format!("cannot write the site of `{}`", study.id))?;
        let latest = study.waves.last().map(|w| w.id.as_str()).unwrap_or_default();
        println!(
            "built {} ({} wave{}): {}",
            study.id,
            results.len(),
            if results.len() == 1 { "" } else { "s" },
            dir.join(latest).join("index.html").display()
        );
    }
    if ok {
        println!("site: {}", out.join("index.html").display());
    }
    Ok(ok)
}

fn check(paths: &[PathBuf]) -> Result<bool> {
    let mut ok = true;
    for path in find_studies(paths)? {
        let Some(study) = load_checked(&path) else {
            ok = false;
            continue;
        };
        let mut study_ok = true;
        for wave in &study.waves {
            if let Err(e) = csi_engine::compute_wave(&study, wave) {
                report_engine_error(&study, &wave.id, &e);
                study_ok = false;
            }
        }
        if study_ok {
            println!("ok: {} ({})", study.id, path.display());
        }
        ok &= study_ok;
    }
    Ok(ok)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Build {
            paths,
            out,
            theme,
            plugins,
        } => build(paths, out, theme.as_deref(), plugins),
        Command::Plugins { plugins } => Ok(analyses::list(plugins)),
        Command::Check { paths } => check(paths),
        Command::PluginWorker => return ExitCode::from(csi_plugin_host::worker_main().clamp(0, 255) as u8),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
