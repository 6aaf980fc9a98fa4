//! `csi build`: every study found, in parallel, each isolated from the others, with
//! published waves kept and a summary at the end.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use rayon::prelude::*;

use csi_study::Study;

use crate::progress::{Progress, StudyProgress};
use crate::{analyses, engine_error_text, load_checked};

/// What `csi build` was asked to do.
pub struct BuildOptions<'a> {
    /// The site folder.
    pub out: &'a Path,
    /// A theme folder layered over the default theme.
    pub theme: Option<&'a Path>,
    /// Extra plugin folders.
    pub plugin_dirs: &'a [PathBuf],
    /// Render published waves again.
    pub rebuild: bool,
    /// Compute every wave from its data, and keep no sums for the next build.
    pub no_cache: bool,
    /// Studies built at the same time (0: one per core).
    pub jobs: usize,
    /// What the user allows a study to reach and run.
    pub trust: &'a crate::Trust,
    /// When another build is writing to the same site folder: wait for it
    /// (otherwise refuse).
    pub wait: bool,
}

/// How one study's build ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// New waves were published.
    Published,
    /// Every wave was already published; nothing was written.
    UpToDate,
    /// Not published (its previous site, if any, is unchanged).
    Failed(String),
}

/// The outcome of one study, for the summary table.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Study id, or the file when it could not be read.
    pub name: String,
    /// Waves in the study.
    pub waves: usize,
    /// Waves rendered now.
    pub built: usize,
    /// Waves kept as published.
    pub kept: usize,
    /// The waves rendered and published by this build, in wave order (empty unless
    /// the study was published).
    pub rendered: Vec<String>,
    /// Analyses (per wave) that failed; their pages show why.
    pub analyses_failed: usize,
    /// Wall time.
    pub time: Duration,
    /// How it ended.
    pub status: Status,
}

impl Outcome {
    fn failed(name: String, why: &str, time: Duration) -> Self {
        Self {
            name,
            waves: 0,
            built: 0,
            kept: 0,
            rendered: Vec::new(),
            analyses_failed: 0,
            time,
            status: Status::Failed(why.to_string()),
        }
    }
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
    // Each file hashed once (a file may hold several waves), the files side by side.
    let mut files: Vec<&Path> = Vec::new();
    for wave in &study.waves {
        if !files.contains(&wave.data.as_path()) {
            files.push(&wave.data);
        }
    }
    let hashes: Vec<(&Path, Result<String>)> = files
        .par_iter()
        .map(|&f| {
            (
                f,
                sha256_file(f).with_context(|| format!("cannot read {}", f.display())),
            )
        })
        .collect();
    // (a file that cannot be read: the first in the study's order)
    let mut hashed: std::collections::HashMap<&Path, String> = std::collections::HashMap::new();
    for (f, sha) in hashes {
        hashed.insert(f, sha?);
    }
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
                        sha256: hashed[wave.data.as_path()].clone(),
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

/// Builds every study under `paths`; returns the outcomes in the order found.
pub fn build(paths: &[PathBuf], opts: &BuildOptions, progress: &Progress) -> Result<Vec<Outcome>> {
    let generator = format!("csi {}", env!("CARGO_PKG_VERSION"));
    let brand = crate::site_settings::load_for(paths)?;
    let site_theme = csi_site::Theme::load(opts.theme)
        .context("cannot load the theme")?
        .with_brand(brand.clone());
    let writer = csi_site::SiteWriter::new(opts.out, generator.clone());
    let files = crate::find_studies(paths)?;
    let allowed = opts.trust.allowed_folders()?;

    // Load and validate first (fast): duplicate ids must be known before building.
    let mut loaded: Vec<(PathBuf, std::result::Result<Study, Vec<String>>)> = files
        .par_iter()
        .map(|path| (path.clone(), load_checked(path, &allowed)))
        .collect();
    let mut seen: Vec<(String, PathBuf)> = Vec::new();
    for (path, study) in &mut loaded {
        if let Ok(s) = study {
            if let Some((_, first)) = seen.iter().find(|(id, _)| *id == s.id) {
                *study = Err(vec![format!(
                    "error: study id `{}` of {} is already used by {}; each study needs its own id (it names the site folder)",
                    s.id,
                    path.display(),
                    first.display()
                )]);
            } else {
                seen.push((s.id.clone(), path.clone()));
            }
        }
    }

    // From reading what is published to writing the index, this build is the only
    // one writing to the site folder.
    let _lock = csi_site::SiteLock::acquire(opts.out, opts.wait, |holder| {
        progress.line(&format!(
            "waiting: another csi build is writing to {} ({holder})",
            opts.out.display()
        ))
    })?;

    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(opts.jobs)
        .build()
        .context("cannot start worker threads")?;
    let outcomes: Vec<Outcome> = pool.install(|| {
        loaded
            .into_par_iter()
            .map(|(path, study)| {
                let started = Instant::now();
                match study {
                    Err(messages) => {
                        let mut p = progress.study(&path.display().to_string(), 1);
                        for m in messages {
                            p.message(m);
                        }
                        p.message(format!("{}: not published; nothing was written for this study", path.display()));
                        p.finish("failed: invalid study");
                        Outcome::failed(path.display().to_string(), "invalid study", started.elapsed())
                    }
                    Ok(study) => {
                        // A bug in one study's build must not take the others down.
                        let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                            build_study(&study, &writer, opts, (&generator, &brand), progress)
                        }));
                        let mut outcome = match run {
                            Ok(o) => o,
                            Err(panic) => {
                                let why = panic
                                    .downcast_ref::<String>()
                                    .cloned()
                                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                                    .unwrap_or_else(|| "unknown".into());
                                progress.line(&format!(
                                    "error: csi failed while building `{}` (a bug; please report it): {why}\n{}: not published; its previous site (if any) is unchanged",
                                    study.id,
                                    path.display()
                                ));
                                Outcome::failed(study.id.clone(), "internal error", Duration::ZERO)
                            }
                        };
                        outcome.time = started.elapsed();
                        outcome
                    }
                }
            })
            .collect()
    });
    // The index lists what is published; a run that published nothing into a new
    // folder writes nothing at all.
    let published = outcomes.iter().any(|o| !matches!(o.status, Status::Failed(_)));
    if opts.out.is_dir() && (published || opts.out.join("index.html").is_file()) {
        writer.write_index(&site_theme).context("cannot write the site index")?;
    }
    Ok(outcomes)
}

/// Builds one study, reporting through `progress`.
fn build_study(
    study: &Study,
    writer: &csi_site::SiteWriter,
    opts: &BuildOptions,
    (generator, brand): (&str, &csi_site::Brand),
    progress: &Progress,
) -> Outcome {
    let waves = study.waves.len();
    // Steps: compute each wave, analyse and render each wave, publish.
    let mut p = progress.study(&study.id, (waves * 2 + 1) as u64);
    let mut outcome = Outcome {
        name: study.id.clone(),
        waves,
        built: 0,
        kept: 0,
        rendered: Vec::new(),
        analyses_failed: 0,
        time: Duration::ZERO,
        status: Status::Published,
    };
    match publish_study(study, writer, opts, (generator, brand), &mut p, &mut outcome) {
        Ok(()) => {
            let result = match outcome.status {
                Status::UpToDate => "up to date".to_string(),
                _ => format!("published: {} rendered, {} kept", outcome.built, outcome.kept),
            };
            p.finish(&result);
        }
        Err(e) => {
            p.message(format!(
                "error: {e:#}\n{}: not published; the previous site of `{}` (if any) is unchanged",
                study.file.display(),
                study.id
            ));
            outcome.status = Status::Failed(e.chain().next().map_or("failed".into(), |c| {
                c.to_string().lines().next().unwrap_or("").to_string()
            }));
            p.finish("failed");
        }
    }
    outcome
}

fn publish_study(
    study: &Study,
    writer: &csi_site::SiteWriter,
    opts: &BuildOptions,
    (generator, brand): (&str, &csi_site::Brand),
    p: &mut StudyProgress,
    outcome: &mut Outcome,
) -> Result<()> {
    p.stage("preparing");
    // Theme layers: default ← --theme ← the study's `theme:` ← the study folder.
    let layers: Vec<&Path> = opts
        .theme
        .into_iter()
        .chain(study.theme.as_deref())
        .chain([study.dir.as_path()])
        .collect();
    let theme = csi_site::Theme::layered(layers.into_iter())
        .context("cannot load the study's theme")?
        .with_brand(brand.clone());
    let search = analyses::PluginSearch::new(opts.plugin_dirs, Some(&study.dir), opts.trust.allow_study_plugins);
    if let Some(m) = search.not_loaded_message(study) {
        p.message(m);
    }
    let registry = csi_plugin_host::Registry::discover(&search.dirs, &analyses::worker());
    for refused in &registry.refused {
        p.message(format!("warning: {refused}"));
    }
    for plugin in &registry.plugins {
        p.detail(&format!(
            "plugin {} {} from {}",
            plugin.name,
            plugin.version,
            plugin.path.display()
        ));
    }
    // A misconfigured analysis fails the study before anything is written.
    let prepared = match analyses::prepare(study, &registry, &search.not_loaded) {
        Ok(p) => p,
        Err(diags) => {
            for d in &diags {
                p.message(d.to_string());
            }
            anyhow::bail!("{} analysis problem(s)", diags.len());
        }
    };
    let records = analyses::records(&prepared);
    let now = provenance(study, &theme, &records, generator)?;

    // Whether a wave takes its rows of a file it shares with other waves.
    let shared = |wave: &csi_study::Wave| study.waves.iter().any(|w| w.id != wave.id && w.shares_rows_with(wave));
    // Published waves are kept as they are unless asked to rebuild.
    let mut render = Vec::new();
    // Kept waves whose only change is the file they share with other waves (it
    // grows as waves are added to it): one note per file.
    let mut shared_file_changed: Vec<(&str, Vec<&str>)> = Vec::new();
    for (wave, record) in study.waves.iter().zip(&now) {
        let published = if opts.rebuild {
            None
        } else {
            writer.published(&study.id, &wave.id)
        };
        if let Some(old) = &published {
            let changes = old.changes(record);
            let only_shared_file = shared(wave) && changes.len() == 1 && old.inputs.data != record.inputs.data;
            if only_shared_file {
                match shared_file_changed.iter_mut().find(|(f, _)| *f == wave.data_as_written) {
                    Some((_, waves)) => waves.push(&wave.id),
                    None => shared_file_changed.push((&wave.data_as_written, vec![&wave.id])),
                }
            } else if !changes.is_empty() {
                p.message(format!(
                    "warning: wave `{}` of `{}` was published from other inputs ({}); it is kept as published; use --rebuild to publish it again",
                    wave.id,
                    study.id,
                    changes.join(", ")
                ));
            }
        }
        render.push(published.is_none());
    }
    for (file, waves) in shared_file_changed {
        let (these, verb) = match &waves[..] {
            [one] => (format!("wave `{one}`"), "is"),
            many => (
                format!(
                    "waves {}",
                    many.iter().map(|w| format!("`{w}`")).collect::<Vec<_>>().join(", ")
                ),
                "are",
            ),
        };
        p.message(format!(
            "note: {these} of `{}` {verb} kept as published, though `{file}`, the file holding them, has changed since (rows of a new wave, or of these): use --rebuild to publish them again from the file as it is now",
            study.id
        ));
    }
    outcome.kept = render.iter().filter(|r| !**r).count();
    if outcome.kept == study.waves.len() {
        outcome.status = Status::UpToDate;
        return Ok(());
    }

    // The analyses that read a wave's rows with its statistics pass start first
    // (analyses::WithThePass), so the whole of what follows runs in one scope.
    let (results, builds) = std::thread::scope(|scope| -> Result<_> {
        let mut results = Vec::new();
        let mut errors = Vec::new();
        let cache = crate::sums_cache::SumsCache::locate(opts.no_cache)
            .outside(&study.dir)
            .outside(opts.out);
        // A wave computed before from the same data and definition is computed from
        // its kept sums, without its statistics pass; the others are computed from
        // their data, the waves that share one file in one pass over it.
        let keys: Vec<String> = (0..study.waves.len())
            .map(|i| cache.key(study, i, &now[i].inputs.data.sha256))
            .collect();
        let mut computed: Vec<Option<(Result<_, csi_engine::EngineError>, bool, f64)>> =
            study.waves.iter().map(|_| None).collect();
        for (i, wave) in study.waves.iter().enumerate() {
            let Some(kept) = cache.load(&keys[i]) else { continue };
            p.stage(&format!("computing wave {}", wave.id));
            let started = Instant::now();
            match csi_engine::compute_wave_with_sums(study, wave, Some(kept)) {
                Err(csi_engine::EngineError::SumsDoNotFit) => {}
                other => computed[i] = Some((other, true, started.elapsed().as_secs_f64())),
            }
        }
        let from_data: Vec<usize> = (0..study.waves.len()).filter(|&i| computed[i].is_none()).collect();
        // (not the waves of a file holding several: their pass would feed the
        // analyses of all of them at once, each holding its own tables)
        let analysed_with_pass: Vec<usize> = from_data
            .iter()
            .copied()
            .filter(|&i| render[i] && !shared(&study.waves[i]))
            .collect();
        let mut with_pass = analyses::WithThePass::start(scope, study, &prepared, &analysed_with_pass);
        for (i, c) in computed.iter().enumerate() {
            if let Some((r, _, _)) = c {
                with_pass.computed(i, r.as_ref().ok().map(|(r, _)| r));
            }
        }
        if !from_data.is_empty() {
            let ids: Vec<&str> = from_data.iter().map(|&i| study.waves[i].id.as_str()).collect();
            p.stage(&format!(
                "computing wave{} {}",
                if ids.len() > 1 { "s" } else { "" },
                ids.join(", ")
            ));
            let started = Instant::now();
            let waves: Vec<&csi_study::Wave> = from_data.iter().map(|&i| &study.waves[i]).collect();
            let feeds = with_pass.feeds_of(&from_data);
            let computed_now = csi_engine::compute_waves_feeding_rows(study, &waves, feeds, &mut |k, r| {
                with_pass.computed(from_data[k], r.as_ref().ok().map(|(r, _)| r))
            });
            // Waves read in one pass share its time.
            let seconds = started.elapsed().as_secs_f64();
            for (&i, r) in from_data.iter().zip(computed_now.results) {
                computed[i] = Some((r, false, seconds));
            }
            for rows in &computed_now.unclaimed {
                p.message(format!("note: study `{}`: {rows}", study.id));
            }
        }
        with_pass.all_computed();
        // The data files as they are after the pass, each hashed once.
        let mut rehashed: std::collections::HashMap<&Path, Option<String>> = std::collections::HashMap::new();
        for (i, (wave, done)) in study.waves.iter().zip(computed).enumerate() {
            let (computed, from_kept, seconds) = done.expect("every wave is computed");
            match computed {
                Ok((r, sums)) => {
                    for issue in &r.data.issues {
                        p.message(format!("warning: wave `{}`: {issue}", wave.id));
                    }
                    // Kept only when the file read is the file hashed (not one still
                    // being written).
                    let data_sha256 = &now[i].inputs.data.sha256;
                    let mut unchanged = || {
                        *rehashed
                            .entry(wave.data.as_path())
                            .or_insert_with(|| csi_site::provenance::sha256_file(&wave.data).ok())
                            == Some(data_sha256.clone())
                    };
                    if !from_kept && cache.dir().is_some() && unchanged() {
                        if let Err(e) = cache.store(&keys[i], &sums) {
                            let dir = cache.dir().map_or(String::new(), |d| d.display().to_string());
                            p.message(format!(
                            "warning: cannot keep the sums of wave `{}` in {dir} for the next build ({e}); set CSI_CACHE_DIR to a writable folder, or pass --no-cache",
                            wave.id
                        ));
                        }
                    }
                    p.detail(&format!(
                        "wave {}: {} respondents in {seconds:.2} s{}",
                        wave.id,
                        r.data.rows_used,
                        if from_kept {
                            " (from the sums kept by an earlier build of the same data and definition)"
                        } else if shared(wave) {
                            " (the time of one pass over the file it shares with other waves)"
                        } else {
                            ""
                        }
                    ));
                    results.push(r);
                }
                Err(e) => errors.push(engine_error_text(study, &wave.id, &e)),
            }
            p.step();
        }
        if !errors.is_empty() {
            for e in &errors {
                p.message(e.clone());
            }
            anyhow::bail!("{} wave(s) could not be computed", errors.len());
        }
        let mut builds = Vec::new();
        for (i, record) in now.into_iter().enumerate() {
            let pages = render[i].then(|| {
                p.stage(&format!("analysing wave {}", study.waves[i].id));
                let started = Instant::now();
                let done = with_pass.pages(i, &prepared);
                let with_the_pass = done.len();
                let pages = analyses::run_wave(study, &prepared, &results, i, done);
                p.detail(&format!(
                    "wave {}: {} analyses in {:.2} s{}",
                    study.waves[i].id,
                    pages.len(),
                    started.elapsed().as_secs_f64(),
                    match with_the_pass {
                        0 => String::new(),
                        n => format!(" ({n} of them, which read rows, ran beside the statistics pass, fed by it)"),
                    }
                ));
                pages
            });
            for page in pages.iter().flatten() {
                if let Err(e) = &page.outcome {
                    outcome.analyses_failed += 1;
                    p.message(format!(
                        "warning: analysis `{}` of `{}`, wave `{}` failed (its page says why): {e}",
                        page.id, study.id, study.waves[i].id
                    ));
                }
            }
            p.step();
            builds.push(csi_site::WaveBuild {
                provenance: record,
                pages,
            });
        }
        Ok((results, builds))
    })?;
    p.stage("writing the site");
    let started = Instant::now();
    writer
        .publish(study, &theme, &results, &builds)
        .with_context(|| format!("cannot write the site of `{}`", study.id))?;
    p.detail(&format!("site written in {:.2} s", started.elapsed().as_secs_f64()));
    p.step();
    outcome.built = study.waves.len() - outcome.kept;
    outcome.rendered = study
        .waves
        .iter()
        .zip(&render)
        .filter(|(_, r)| **r)
        .map(|(w, _)| w.id.clone())
        .collect();
    Ok(())
}

/// The summary table printed after a build.
pub fn summary(outcomes: &[Outcome]) -> String {
    let mut rows = vec![[
        "study".to_string(),
        "waves".into(),
        "built".into(),
        "kept".into(),
        "failed analyses".into(),
        "time".into(),
        "result".into(),
    ]];
    for o in outcomes {
        let (waves, built, kept, failed) = match o.status {
            Status::Failed(_) if o.waves == 0 => ("–".into(), "–".into(), "–".into(), "–".into()),
            _ => (
                o.waves.to_string(),
                o.built.to_string(),
                o.kept.to_string(),
                o.analyses_failed.to_string(),
            ),
        };
        rows.push([
            o.name.clone(),
            waves,
            built,
            kept,
            failed,
            format!("{:.1} s", o.time.as_secs_f64()),
            match &o.status {
                Status::Published if o.analyses_failed > 0 => "published, with failed analyses".into(),
                Status::Published => "published".into(),
                Status::UpToDate => "up to date".into(),
                Status::Failed(why) => format!("FAILED: {why}"),
            },
        ]);
    }
    let widths: Vec<usize> = (0..7)
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for (i, r) in rows.iter().enumerate() {
        let line: Vec<String> = r
            .iter()
            .enumerate()
            .map(|(c, cell)| {
                let pad = widths[c] - cell.chars().count();
                if (1..6).contains(&c) {
                    format!("{}{cell}", " ".repeat(pad))
                } else {
                    format!("{cell}{}", " ".repeat(pad))
                }
            })
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
        if i == 0 {
            out.push_str(&"-".repeat(widths.iter().sum::<usize>() + 12));
            out.push('\n');
        }
    }
    for o in outcomes.iter().filter(|o| !o.rendered.is_empty()) {
        out.push_str(&format!("{}: published wave(s) {}\n", o.name, o.rendered.join(", ")));
    }
    out
}
