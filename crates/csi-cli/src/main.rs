//! `csi`: build customer-satisfaction report sites from study definitions.
//!
//! The binary is a thin recipe over the library crates: find studies, load and
//! validate them (`csi-study`), check their data columns and compute every wave
//! (`csi-engine`), and publish the site (`csi-site`). A study with any error is not
//! published, and whatever was published for it before stays as it was.

mod analyses;
mod build;
mod progress;
mod scaffold;
mod serve;
mod site_settings;
mod sums_cache;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};

use csi_engine::EngineError;
use csi_study::{Diagnostic, Study, StudyError};

use progress::Verbosity;

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

/// What a study folder may reach and run beyond itself. A study folder is
/// untrusted input: by default it reads only files inside its own folder and runs
/// no code of its own.
#[derive(Args, Debug, Clone, Default)]
pub(crate) struct Trust {
    /// A folder outside the study folder that the study may read (a shared theme,
    /// shared data); repeatable. Symbolic links are resolved before the check.
    #[arg(long = "allow-path", value_name = "DIR")]
    pub allow_paths: Vec<PathBuf>,
    /// Load the analysis plugins in a study's own `plugins/` folder. They are code
    /// that runs on this machine: allow it only for studies whose author you trust.
    #[arg(long)]
    pub allow_study_plugins: bool,
}

impl Trust {
    /// The folders outside a study's own that it may read: `--allow-path` only.
    /// (Not a setting in the site folder: that folder may come with the studies,
    /// and must not grant itself access.)
    pub(crate) fn allowed_folders(&self) -> Result<Vec<PathBuf>> {
        for dir in &self.allow_paths {
            if !dir.is_dir() {
                bail!("--allow-path {}: no such folder", dir.display());
            }
        }
        Ok(self.allow_paths.clone())
    }
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
        /// Compute every wave from its data file, even one computed before from the
        /// same data and definition (whose sums csi otherwise keeps in the user's
        /// cache folder: CSI_CACHE_DIR, else ~/.cache/csi/statistics), and keep
        /// nothing for the next build.
        #[arg(long)]
        no_cache: bool,
        /// Studies to build at the same time (default: one per core).
        #[arg(short = 'j', long, default_value_t = 0)]
        jobs: usize,
        /// If another build is writing to the same output folder, wait for it to
        /// finish instead of refusing.
        #[arg(long)]
        wait: bool,
        /// Print only problems and the summary.
        #[arg(short, long, conflicts_with = "verbose")]
        quiet: bool,
        /// Print details: plugins found, time per wave.
        #[arg(short, long)]
        verbose: bool,
        #[command(flatten)]
        trust: Trust,
    },
    /// List the analysis plugins found, with version, ABI and location, and why any
    /// library was refused.
    Plugins {
        /// Extra folders to search for analysis plugins.
        #[arg(long = "plugins", value_name = "DIR")]
        plugins: Vec<PathBuf>,
        /// Print the reference documentation of the plugins found (markdown: every
        /// option with its type, default, allowed values and an example), as in
        /// docs/analyses.md.
        #[arg(long)]
        doc: bool,
    },
    /// Validate studies and their data without writing anything.
    Check {
        /// Study files or folders to search for `study.yaml` (default: `reports`).
        paths: Vec<PathBuf>,
        /// Extra folders to search for analysis plugins (as for `build`).
        #[arg(long = "plugins", value_name = "DIR")]
        plugins: Vec<PathBuf>,
        #[command(flatten)]
        trust: Trust,
    },
    /// Create a study folder that builds out of the box: a commented study.yaml,
    /// sample data and narrative files to replace with your own.
    New {
        /// The new study's folder (its name becomes the study id).
        path: PathBuf,
        /// The study's title (default: the folder name).
        #[arg(long)]
        title: Option<String>,
    },
    /// Draft a study folder from a survey data file (.sav, .zsav, .xlsx, CSV,
    /// Parquet): study.yaml with the wave, scale and missing codes, respondent id,
    /// weight, segments and a draft tree, labelled from the file where it has
    /// labels (SPSS), and the data copied beside it. It loads as written; it
    /// lists what it guessed, to check before `csi check` and `csi build`. With `--wave ID --into STUDY`, adds the
    /// file to an existing study as a new wave instead (its study.yaml edited in
    /// place, comments kept) and reports what differs from the previous wave.
    Import {
        /// The data file.
        file: PathBuf,
        /// The new study's folder (default: the file's name without extension).
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// The text encoding of a CSV file that is not UTF-8 (e.g. gb18030).
        #[arg(long, value_name = "LABEL")]
        encoding: Option<String>,
        /// The sheet of a workbook (default: the one with the most columns).
        #[arg(long, value_name = "NAME")]
        sheet: Option<String>,
        /// Add the file as this wave to the study given with `--into`, instead of
        /// drafting a new study.
        #[arg(long, value_name = "ID", requires = "into")]
        wave: Option<String>,
        /// The study (folder or study.yaml) to add the wave to.
        #[arg(long, value_name = "STUDY", requires = "wave", conflicts_with = "out")]
        into: Option<PathBuf>,
    },
    /// Margin of error at a base, or the base needed for a margin, with the finite
    /// population correction and a design effect. Plan the sample before fieldwork;
    /// for weighted data use the effective base (the methodology page of a report
    /// shows it), or the base with the design effect of the weights.
    #[command(name = "sample-size")]
    SampleSize {
        /// Bases to show the margin of error for (repeatable).
        #[arg(short, long = "n", value_name = "N")]
        n: Vec<f64>,
        /// Target margins of error to show the base needed for (repeatable): in
        /// percentage points for a share (3 = ±3 points), in score points with --sd.
        #[arg(short, long = "margin", value_name = "E")]
        margin: Vec<f64>,
        /// Confidence level.
        #[arg(short, long, default_value_t = 0.95)]
        confidence: f64,
        /// Size of the population sampled (customers, accounts); omit if large.
        #[arg(short, long)]
        population: Option<f64>,
        /// Expected share in percent (50 is the most cautious).
        #[arg(long, default_value_t = 50.0)]
        share: f64,
        /// For a mean score instead of a share: its standard deviation (about 20 for
        /// a 0–100 satisfaction score).
        #[arg(long)]
        sd: Option<f64>,
        /// Design effect (at least 1): how much weighting or clustering inflates the
        /// variance over simple random sampling; Kish's n / effective n for weights.
        #[arg(long, default_value_t = 1.0, value_name = "X")]
        deff: f64,
    },
    /// Preview the site locally: build into a preview folder, serve it on
    /// http://127.0.0.1:PORT/, rebuild on every change and reload open pages.
    Serve {
        /// Study files or folders to search for `study.yaml` (default: `reports`).
        paths: Vec<PathBuf>,
        /// A theme folder layered over the built-in default theme.
        #[arg(long)]
        theme: Option<PathBuf>,
        /// Extra folders to search for analysis plugins.
        #[arg(long = "plugins", value_name = "DIR")]
        plugins: Vec<PathBuf>,
        /// Port to listen on (0: any free port).
        #[arg(long, default_value_t = 8000)]
        port: u16,
        #[command(flatten)]
        trust: Trust,
    },
    /// Internal: run one isolated plugin call read from standard input.
    #[command(hide = true, name = "plugin-worker")]
    PluginWorker,
}

/// Finds `study.yaml` files: a file path is taken as is, a folder is searched.
pub(crate) fn find_studies(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
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

fn diagnostics_text(diags: &[Diagnostic]) -> Vec<String> {
    diags.iter().map(|d| d.to_string()).collect()
}

/// Loads a study and checks its data columns; on failure, the messages to show.
pub(crate) fn load_checked(path: &Path, allowed: &[PathBuf]) -> std::result::Result<Study, Vec<String>> {
    let mut study = match csi_study::load_allowing(path, allowed) {
        Ok(s) => s,
        Err(StudyError::Invalid(diags)) => {
            let n = diags.iter().filter(|d| d.is_error()).count();
            let mut out = diagnostics_text(&diags);
            out.push(format!("{}: {n} error(s)", path.display()));
            return Err(out);
        }
        Err(e) => return Err(vec![format!("error: {e}")]),
    };
    // Labels and codes the study leaves to an SPSS file's dictionary.
    match csi_engine::labels_from_data(&mut study) {
        Ok(diags) if diags.is_empty() => {}
        Ok(diags) => {
            let mut out = diagnostics_text(&diags);
            out.push(format!("{}: {} error(s)", path.display(), diags.len()));
            return Err(out);
        }
        Err(e) => return Err(vec![format!("error: {e}")]),
    }
    match csi_engine::check_columns(&study) {
        Ok(diags) if diags.is_empty() => Ok(study),
        Ok(diags) => {
            let mut out = diagnostics_text(&diags);
            out.push(format!("{}: {} error(s)", path.display(), diags.len()));
            Err(out)
        }
        Err(e) => Err(vec![format!("error: {e}")]),
    }
}

/// What a failed wave computation says.
pub(crate) fn engine_error_text(study: &Study, wave: &str, e: &EngineError) -> String {
    match e {
        EngineError::Columns(d) => diagnostics_text(d).join("\n"),
        other => format!("error: wave `{wave}` of study `{}`: {other}", study.id),
    }
}

fn check(paths: &[PathBuf], plugin_dirs: &[PathBuf], trust: &Trust) -> Result<bool> {
    let mut ok = true;
    let allowed = trust.allowed_folders()?;
    if let Some(file) = site_settings::find(paths) {
        match site_settings::load(&file) {
            Ok(_) => println!("ok: site settings ({})", file.display()),
            Err(e) => {
                eprintln!(
                    "error: {e:#}
"
                );
                ok = false;
            }
        }
    }
    for path in find_studies(paths)? {
        let study = match load_checked(&path, &allowed) {
            Ok(s) => s,
            Err(messages) => {
                eprintln!("{}\n", messages.join("\n"));
                ok = false;
                continue;
            }
        };
        let mut study_ok = true;
        // The analyses as a build would run them: plugins found, options valid.
        let search = analyses::PluginSearch::new(plugin_dirs, Some(&study.dir), trust.allow_study_plugins);
        if let Some(m) = search.not_loaded_message(&study) {
            eprintln!("{m}");
        }
        let registry = csi_plugin_host::Registry::discover(&search.dirs, &analyses::worker());
        if let Err(diags) = analyses::prepare(&study, &registry, &search.not_loaded) {
            eprintln!("{}", diagnostics_text(&diags).join("\n"));
            study_ok = false;
        }
        // Waves that share a data file are read in one pass over it.
        let waves: Vec<&csi_study::Wave> = study.waves.iter().collect();
        let computed = csi_engine::compute_waves_with_sums(&study, &waves);
        for (wave, computed) in waves.iter().zip(computed.results) {
            if let Err(e) = computed {
                eprintln!("{}", engine_error_text(&study, &wave.id, &e));
                study_ok = false;
            }
        }
        for rows in &computed.unclaimed {
            eprintln!("note: study `{}`: {rows}", study.id);
        }
        if study_ok {
            println!("ok: {} ({})", study.id, path.display());
        }
        ok &= study_ok;
    }
    Ok(ok)
}

/// `csi sample-size`: a table of margins of error and of bases needed.
fn sample_size(
    bases: &[f64],
    margins: &[f64],
    confidence: f64,
    population: Option<f64>,
    share: f64,
    sd: Option<f64>,
    deff: f64,
) -> Result<bool> {
    use csi_stats::sample_size::{margin_of_error_with_deff, required_base_with_deff, Spread};
    let conf = csi_stats::Confidence::new(confidence)?;
    let (spread, unit, scale) = match sd {
        Some(s) => (Spread::Deviation(s), "score points", 1.0),
        None => (Spread::Share(share / 100.0), "percentage points", 100.0),
    };
    let what = match sd {
        Some(s) => format!("a mean score with standard deviation {s}"),
        None => format!("a share near {share}%"),
    };
    println!(
        "{} confidence, {what}, {}{}",
        format_args!("{}%", confidence * 100.0),
        population.map_or("large population".to_string(), |p| format!("population {p}")),
        if deff == 1.0 {
            String::new()
        } else {
            format!(", design effect {deff}")
        }
    );
    let defaults = [100.0, 200.0, 400.0, 1000.0, 3000.0];
    let bases = if bases.is_empty() && margins.is_empty() {
        &defaults[..]
    } else {
        bases
    };
    for &n in bases {
        let m = margin_of_error_with_deff(n, spread, conf, population, deff)?;
        println!("  n = {n:>8}: margin of error ±{:.2} {unit}", m * scale);
    }
    for &e in margins {
        let n = required_base_with_deff(e / scale, spread, conf, population, deff)?;
        println!("  ±{e} {unit}: at least n = {n}");
    }
    if sd.is_none() {
        println!("Groups (segments) need their own base: the margin of a group of 100 is about ±10 points.");
    }
    Ok(true)
}

/// `csi build`: builds, prints the summary table; `Ok(false)` if a study failed.
fn run_build(paths: &[PathBuf], opts: &build::BuildOptions, verbosity: Verbosity) -> Result<bool> {
    let progress = progress::Progress::new(verbosity);
    let outcomes = build::build(paths, opts, &progress)?;
    drop(progress);
    println!("{}", build::summary(&outcomes).trim_end());
    let failed = outcomes
        .iter()
        .filter(|o| matches!(o.status, build::Status::Failed(_)))
        .count();
    if failed == 0 {
        println!("site: {}", opts.out.join("index.html").display());
    } else {
        println!(
            "{failed} of {} studies failed; their previously published sites (if any) are unchanged",
            outcomes.len()
        );
    }
    Ok(failed == 0)
}

/// Returns large freed buffers to the system at once, and keeps smaller freed
/// memory for reuse. Batches of respondent rows used to be tens of MB and
/// short-lived; glibc's malloc raises its mmap threshold after the first of them
/// is freed and serves the next ones from its heap, so that memory grew with the
/// data file (a plugin worker reading 900 000 respondents' rows: 139 MB against
/// 29 MB with a fixed threshold). Below the threshold, freed memory at the top of a
/// heap is kept up to 16 MiB instead of glibc's 128 KiB: each piece of a Parquet
/// file decodes its pages into fresh buffers, and handing those back to the system
/// after every piece cost a page fault and a zeroed page for every 4 KiB read
/// (a quarter of `csi check`'s time on Parquet). The memory kept is at most 16 MiB
/// per malloc arena, and glibc makes an arena per busy thread up to eight per core:
/// whatever the file's size, a few tens of MB on a few cores, more on many. Applies to the build and to its plugin workers, which are this
/// program too. The one unsafe call of this crate.
#[allow(unsafe_code)]
fn tune_the_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt sets allocator parameters; it is called first thing in main,
    // before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 16 << 20);
    }
}

fn main() -> ExitCode {
    tune_the_allocator();
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Build {
            paths,
            out,
            theme,
            plugins,
            rebuild,
            no_cache,
            jobs,
            wait,
            quiet,
            verbose,
            trust,
        } => run_build(
            paths,
            &build::BuildOptions {
                out,
                theme: theme.as_deref(),
                plugin_dirs: plugins,
                rebuild: *rebuild,
                no_cache: *no_cache,
                jobs: *jobs,
                trust,
                wait: *wait,
            },
            if *quiet {
                Verbosity::Quiet
            } else if *verbose {
                Verbosity::Verbose
            } else {
                Verbosity::Normal
            },
        ),
        Command::Plugins { plugins, doc: false } => Ok(analyses::list(plugins)),
        Command::Plugins { plugins, doc: true } => {
            print!("{}", analyses::reference(plugins));
            Ok(true)
        }
        Command::Serve {
            paths,
            theme,
            plugins,
            port,
            trust,
        } => serve::serve(paths, theme.as_deref(), plugins, *port, trust),
        Command::New { path, title } => scaffold::new_study(path, title.as_deref()).map(|()| {
            println!(
                "created {}: build it with `csi build {0} --out site`, then replace data/wave-2025.csv with your survey data",
                path.display()
            );
            true
        }),
        Command::Import {
            file,
            encoding,
            sheet,
            wave: Some(wave),
            into: Some(into),
            ..
        } => scaffold::add_wave(file, into, wave, encoding.as_deref(), sheet.as_deref()).map(|notes| {
            println!("added {} to {} as wave {wave}", file.display(), into.display());
            for n in &notes {
                println!("  - {n}");
            }
            if notes.is_empty() {
                println!("  the file has the previous wave's variables");
            }
            true
        }),
        Command::Import {
            file,
            out,
            encoding,
            sheet,
            ..
        } => scaffold::import(file, out.as_deref(), encoding.as_deref(), sheet.as_deref()).map(|(dir, guesses)| {
            println!("created {} from {}; guessed:", dir.display(), file.display());
            for g in guesses {
                println!("  - {g}");
            }
            println!(
                "check the lines marked GUESS in {}, then `csi build {}`",
                dir.join("study.yaml").display(),
                dir.display()
            );
            true
        }),
        Command::SampleSize {
            n,
            margin,
            confidence,
            population,
            share,
            sd,
            deff,
        } => sample_size(n, margin, *confidence, *population, *share, *sd, *deff),
        Command::Check { paths, plugins, trust } => check(paths, plugins, trust),
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
