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
        /// A theme folder layered over the built-in default theme (a study's own
        /// `theme:` and `templates/` folder are layered over this one).
        #[arg(long)]
        theme: Option<PathBuf>,
        /// Extra folders to search for analysis plugins.
        #[arg(long = "plugins", value_name = "DIR")]
        plugins: Vec<PathBuf>,
        /// Render every wave again, including waves already published (published
        /// waves are otherwise kept exactly as they are).
        #[arg(long, alias = "force")]
        rebuild: bool,
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

/// What `csi build` was asked to do.
struct BuildOptions<'a> {
    out: &'a Path,
    theme: Option<&'a Path>,
    plugin_dirs: &'a [PathBuf],
    rebuild: bool,
}

/// The build record of each wave as it would be built now.
fn provenance(
    study: &Study,
    theme: &csi_site::Theme,
    analyses: &[csi_site::provenance::AnalysisRecord],
    generator: &str,
) -> Result<Vec<csi_site::Provenance>> {
    use csi_site::provenance::{definition_digest, narrative_hashes, sha256_file, FileHash, Inputs};
    let settings = serde_json::json!({
        "confidence": study.settings.confidence,
        "low_base": study.settings.low_base,
    });
    study
        .waves
        .iter()
        .enumerate()
        .map(|(i, wave)| {
            Ok(csi_site::Provenance {
                study: study.id.clone(),
                wave: wave.id.clone(),
                generator: generator.to_string(),
                inputs: Inputs {
                    definition_sha256: definition_digest(study, i),
                    data: FileHash {
                        path: wave.data_as_written.clone(),
                        sha256: sha256_file(&wave.data)
                            .with_context(|| format!("cannot read {}", wave.data.display()))?,
                    },
                    narrative: narrative_hashes(study, i).context("cannot read a narrative file")?,
                    theme_sha256: theme.digest().to_string(),
                },
                settings: settings.clone(),
                analyses: analyses.to_vec(),
                headline: None,
                pages: vec![],
            })
        })
        .collect()
}

fn build(paths: &[PathBuf], opts: &BuildOptions) -> Result<bool> {
    let generator = format!("csi {}", env!("CARGO_PKG_VERSION"));
    let site_theme = csi_site::Theme::load(opts.theme).context("cannot load the theme")?;
    let writer = csi_site::SiteWriter::new(opts.out, generator.clone());
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
        match build_study(&study, &writer, opts, &generator) {
            Ok(true) => {}
            Ok(false) => ok = false,
            Err(e) => {
                eprintln!(
                    "error: {e:#}\n{}: not published; the previous site of `{}` (if any) is unchanged\n",
                    path.display(),
                    study.id
                );
                ok = false;
            }
        }
    }
    if opts.out.is_dir() {
        writer.write_index(&site_theme).context("cannot write the site index")?;
    }
    if ok {
        println!("site: {}", opts.out.join("index.html").display());
    }
    Ok(ok)
}

/// Builds one study; `Ok(false)` when it was not published (reasons printed).
fn build_study(study: &Study, writer: &csi_site::SiteWriter, opts: &BuildOptions, generator: &str) -> Result<bool> {
    // Theme layers: default ← --theme ← the study's `theme:` ← the study folder.
    let layers: Vec<&Path> = opts
        .theme
        .into_iter()
        .chain(study.theme.as_deref())
        .chain([study.dir.as_path()])
        .collect();
    let theme = csi_site::Theme::layered(layers.into_iter()).context("cannot load the study's theme")?;
    let registry = csi_plugin_host::Registry::discover(&analyses::plugin_dirs(opts.plugin_dirs, Some(&study.dir)));
    for refused in &registry.refused {
        eprintln!("warning: {refused}");
    }
    let prepared = analyses::prepare(study, &registry);
    let records = analyses::records(&prepared, study);
    let now = provenance(study, &theme, &records, generator)?;

    // Published waves are kept as they are unless asked to rebuild.
    let mut render = Vec::new();
    for (wave, record) in study.waves.iter().zip(&now) {
        let published = if opts.rebuild {
            None
        } else {
            writer.published(&study.id, &wave.id)
        };
        if let Some(old) = &published {
            let changes = old.changes(record);
            if !changes.is_empty() {
                eprintln!(
                    "warning: wave `{}` of `{}` was published from other inputs ({}); it is kept as published; use --rebuild to publish it again",
                    wave.id,
                    study.id,
                    changes.join(", ")
                );
            }
        }
        render.push(published.is_none());
    }
    let kept = render.iter().filter(|r| !**r).count();
    if kept == study.waves.len() {
        println!(
            "up to date: {} ({kept} wave{} kept as published)",
            study.id,
            if kept == 1 { "" } else { "s" }
        );
        return Ok(true);
    }

    let mut results = Vec::new();
    for wave in &study.waves {
        match csi_engine::compute_wave(study, wave) {
            Ok(r) => {
                for issue in &r.data.issues {
                    eprintln!("warning: wave `{}`: {issue}", wave.id);
                }
                results.push(r);
            }
            Err(e) => report_engine_error(study, &wave.id, &e),
        }
    }
    if results.len() != study.waves.len() {
        eprintln!(
            "{}: not published; the previous site of `{}` (if any) is unchanged\n",
            study.file.display(),
            study.id
        );
        return Ok(false);
    }
    let mut builds = Vec::new();
    for (i, record) in now.into_iter().enumerate() {
        let pages = render[i].then(|| analyses::run_wave(study, &prepared, &results, i));
        for page in pages.iter().flatten() {
            if let Err(e) = &page.outcome {
                eprintln!(
                    "warning: analysis `{}` of `{}`, wave `{}`: {e}",
                    page.id, study.id, study.waves[i].id
                );
            }
        }
        builds.push(csi_site::WaveBuild {
            provenance: record,
            pages,
        });
    }
    let dir = writer
        .publish(study, &theme, &results, &builds)
        .with_context(|| format!("cannot write the site of `{}`", study.id))?;
    let latest = study.waves.last().map(|w| w.id.as_str()).unwrap_or_default();
    let built = study.waves.len() - kept;
    println!(
        "built {}: {built} wave{} rendered, {kept} kept as published: {}",
        study.id,
        if built == 1 { "" } else { "s" },
        dir.join(latest).join("index.html").display()
    );
    Ok(true)
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
            rebuild,
        } => build(
            paths,
            &BuildOptions {
                out,
                theme: theme.as_deref(),
                plugin_dirs: plugins,
                rebuild: *rebuild,
            },
        ),
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
