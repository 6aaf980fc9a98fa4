//! Running a study's analyses: find the plugins, check the study's options against
//! what each plugin accepts (before anything runs), then run every analysis on every
//! wave. A missing plugin, bad options, an error or a panic fail that analysis only.

use rayon::prelude::*;
use std::path::{Path, PathBuf};

use csi_blocks::wire::{Request, PROTOCOL_VERSION};
use csi_engine::WaveResult;
use std::time::Duration;

use csi_plugin_host::{Isolation, Origin, Plugin, Registry, Worker};
use csi_site::AnalysisPage;
use csi_study::{Diagnostic, Study};

/// The worker process that loads, describes and runs plugins that do not ship
/// with csi: this executable, as `csi plugin-worker`.
pub fn worker() -> Worker {
    Worker {
        program: std::env::current_exe().unwrap_or_else(|_| PathBuf::from("csi")),
        args: vec!["plugin-worker".into()],
    }
}

/// The plugins of a study: the folders searched, and the libraries in the study's
/// own `plugins/` folder that were not loaded because the user did not allow it.
pub struct PluginSearch {
    /// Folders to search, each with its origin.
    pub dirs: Vec<(PathBuf, Origin)>,
    /// Libraries in the study's `plugins/` folder left alone (no consent).
    pub not_loaded: Vec<PathBuf>,
    /// The study's `plugins/` folder when it is a link out of the study folder
    /// (left alone even with consent), with where it leads.
    pub escaped: Option<(PathBuf, PathBuf)>,
}

impl PluginSearch {
    /// Plugin folders: next to the csi executable (bundled), then `--plugins`
    /// folders and `CSI_PLUGIN_PATH` entries (naming a folder is consent to run
    /// what it holds), then the study's own `plugins/` folder, only when
    /// `allow_study_plugins` (a study folder from someone else must not run code on
    /// this machine just by being built).
    pub fn new(extra: &[PathBuf], study_dir: Option<&Path>, allow_study_plugins: bool) -> Self {
        let mut dirs = plugin_dirs(extra);
        let mut not_loaded = Vec::new();
        let mut escaped = None;
        if let Some(dir) = study_dir {
            let own = dir.join("plugins");
            let consented = dirs
                .iter()
                .filter_map(|(d, _)| d.canonicalize().ok())
                .any(|d| own.canonicalize().is_ok_and(|o| o == d));
            let home = dir.canonicalize().ok();
            let inside = own.canonicalize().ok().zip(home).is_none_or(|(o, h)| o.starts_with(h));
            if consented {
                // Named with --plugins as well: searched there already.
            } else if allow_study_plugins && !inside {
                // `plugins/` itself a link out of the study: not the study's own.
                let target = own.canonicalize().unwrap_or_default();
                escaped = Some((own, target));
            } else if allow_study_plugins {
                dirs.push((own, Origin::Study));
            } else if own.is_dir() {
                not_loaded = walkdir::WalkDir::new(&own)
                    .max_depth(2)
                    .sort_by_file_name()
                    .into_iter()
                    .filter_map(Result::ok)
                    .map(walkdir::DirEntry::into_path)
                    .filter(|p| p.is_file() && csi_plugin_host::is_library(p))
                    .collect();
            }
        }
        PluginSearch {
            dirs,
            not_loaded,
            escaped,
        }
    }

    /// What the build says about the study's libraries it did not load.
    pub fn not_loaded_message(&self, study: &Study) -> Option<String> {
        if let Some((folder, target)) = &self.escaped {
            return Some(format!(
                "warning: the plugins folder of study `{}` ({}) is a symbolic link to {}, outside the study folder; it was not searched. Copy the plugins into the study folder, or name their folder with --plugins if you trust it",
                study.id,
                folder.display(),
                target.display()
            ));
        }
        if self.not_loaded.is_empty() {
            return None;
        }
        Some(format!(
            "warning: study `{}` has plugin libraries of its own that were not loaded, because a study's plugins run as code on this machine: {}; if you trust this study's author, build with --allow-study-plugins (or name the folder with --plugins)",
            study.id,
            self.not_loaded
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ))
    }
}

/// Plugin folders the user chose: next to the csi executable (bundled), then
/// `--plugins` folders and `CSI_PLUGIN_PATH` entries.
fn plugin_dirs(extra: &[PathBuf]) -> Vec<(PathBuf, Origin)> {
    let mut dirs = Vec::new();
    if let Some(exe_dir) = std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(Path::to_path_buf))
    {
        dirs.push((exe_dir.join("plugins"), Origin::Bundled));
        dirs.push((exe_dir, Origin::Bundled));
    }
    dirs.extend(extra.iter().map(|d| (d.clone(), Origin::External)));
    if let Some(path) = std::env::var_os("CSI_PLUGIN_PATH") {
        dirs.extend(std::env::split_paths(&path).map(|d| (d, Origin::External)));
    }
    dirs
}

/// An analysis ready to run: its plugin, and its options with defaults filled in.
pub struct Prepared<'a> {
    id: String,
    plugin_name: String,
    plugin: &'a Plugin,
    options: serde_json::Map<String, serde_json::Value>,
    isolation: Isolation,
}

/// Where an analysis runs: as the study says, else in process for plugins shipped
/// with csi and in a worker process (this executable) for all others.
fn isolation_for(spec: &csi_study::AnalysisSpec, plugin: Option<&Plugin>) -> Isolation {
    let isolate = match spec.isolation {
        // A study cannot pull its own plugins into csi's process: they always run
        // isolated, whatever it asks.
        csi_study::Isolation::InProcess => plugin.is_some_and(|p| p.origin == Origin::Study),
        csi_study::Isolation::Process => true,
        csi_study::Isolation::Auto => plugin.is_none_or(|p| p.origin != Origin::Bundled),
    };
    if isolate {
        Isolation::Process {
            worker: worker(),
            timeout: Duration::from_secs_f64(spec.timeout_seconds),
        }
    } else {
        Isolation::InProcess
    }
}

/// Resolves every analysis of `study` against `registry`: its plugin found, its
/// options checked against what the plugin declares (names, types, allowed values,
/// ranges, and the nodes, segments, cells and waves they name). A misconfigured
/// analysis is an error of the study, located at the plugin name or the option in
/// the study file, so that a build fails before anything is written rather than
/// publishing an error page; `not_loaded` are the study's own libraries left alone,
/// named when a plugin is not found.
pub fn prepare<'a>(
    study: &Study,
    registry: &'a Registry,
    not_loaded: &[PathBuf],
) -> Result<Vec<Prepared<'a>>, Vec<Diagnostic>> {
    let context = csi_engine::study_context(study);
    let mut diags = Vec::new();
    let mut prepared = Vec::new();
    for spec in &study.analyses {
        match registry.get(&spec.plugin) {
            None => diags.push(not_found(study, spec, registry, not_loaded)),
            Some(p) => match p.resolve_options_for(&spec.id, &spec.options, &context) {
                Ok(options) => prepared.push(Prepared {
                    id: spec.id.clone(),
                    plugin_name: spec.plugin.clone(),
                    isolation: isolation_for(spec, Some(p)),
                    plugin: p,
                    options,
                }),
                Err(csi_plugin_host::PluginError::Options { problems, .. }) => {
                    for problem in problems {
                        let at = problem
                            .option
                            .as_ref()
                            .and_then(|o| spec.option_at.get(o).copied())
                            .or(spec.at);
                        let d = study.diagnostic(
                            format!("analysis `{}` (plugin `{}`): {}", spec.id, spec.plugin, problem.message),
                            at,
                        );
                        diags.push(match problem.help {
                            Some(h) => d.with_help(h),
                            None => d,
                        });
                    }
                }
                Err(other) => diags.push(study.diagnostic(other.to_string(), spec.at)),
            },
        }
    }
    if diags.is_empty() {
        Ok(prepared)
    } else {
        Err(diags)
    }
}

/// The diagnostic of an analysis whose plugin was not found: the closest name
/// found, what was found, and the study's libraries left alone.
fn not_found(study: &Study, spec: &csi_study::AnalysisSpec, registry: &Registry, not_loaded: &[PathBuf]) -> Diagnostic {
    let names: Vec<&str> = registry.plugins.iter().map(|p| p.name.as_str()).collect();
    let mut help = Vec::new();
    if let Some(near) = csi_study::closest(&spec.plugin, names.iter().copied()).first() {
        help.push(format!("did you mean `{near}`?"));
    }
    help.push(if names.is_empty() {
        "no plugins were found".to_string()
    } else {
        format!("(plugins found: {})", names.join(", "))
    });
    if !not_loaded.is_empty() {
        help.push(format!(
            "the study's own plugins/ folder holds libraries that were not loaded without your consent ({}): build with --allow-study-plugins if you trust them",
            not_loaded
                .iter()
                .filter_map(|p| p.file_name())
                .map(|f| f.to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    study
        .diagnostic(
            format!("analysis `{}`: no plugin named `{}` was found", spec.id, spec.plugin),
            spec.at,
        )
        .with_help(help.join(" "))
}

/// One analysis of wave `wave`: its request, its run, its page.
fn run_one(
    context: &csi_blocks::wire::StudyContext,
    wave: &str,
    a: &Prepared<'_>,
    statistics: Box<dyn arrow_array::RecordBatchReader + Send>,
    rows: Option<Box<dyn arrow_array::RecordBatchReader + Send>>,
) -> AnalysisPage {
    let request = Request {
        protocol: PROTOCOL_VERSION,
        analysis: a.id.clone(),
        wave: wave.to_string(),
        study: context.clone(),
        options: a.options.clone(),
    };
    let outcome = a
        .plugin
        .run_streams(&request, statistics, rows, &a.isolation)
        .map_err(|e| e.to_string());
    AnalysisPage {
        id: a.id.clone(),
        plugin: a.plugin_name.clone(),
        plugin_version: Some(a.plugin.version.clone()),
        outcome,
    }
}

/// The page of an analysis whose run stopped with a panic in csi.
fn stopped(a: &Prepared<'_>) -> AnalysisPage {
    AnalysisPage {
        id: a.id.clone(),
        plugin: a.plugin_name.clone(),
        plugin_version: Some(a.plugin.version.clone()),
        outcome: Err("the analysis stopped unexpectedly (a panic in csi)".into()),
    }
}

/// Whether `a` reads its wave's rows with the wave's statistics pass (see
/// [`WithThePass`]): a plugin that ships with csi, in csi's process, reading rows.
fn reads_with_the_pass(a: &Prepared<'_>) -> bool {
    a.plugin.description.inputs.rows()
        && matches!(a.isolation, Isolation::InProcess)
        && a.plugin.origin == Origin::Bundled
}

/// The statistics of waves up to one wave, once they exist.
#[derive(Default)]
struct Awaited {
    value: std::sync::Mutex<Option<Result<Vec<arrow_array::RecordBatch>, String>>>,
    ready: std::sync::Condvar,
}

impl Awaited {
    fn set(&self, value: Result<Vec<arrow_array::RecordBatch>, String>) {
        let mut v = self.value.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if v.is_none() {
            *v = Some(value);
            self.ready.notify_all();
        }
    }

    fn wait(&self) -> Result<Vec<arrow_array::RecordBatch>, String> {
        let mut v = self.value.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        loop {
            if let Some(value) = &*v {
                return value.clone();
            }
            v = self.ready.wait(v).unwrap_or_else(std::sync::PoisonError::into_inner);
        }
    }
}

/// The statistics stream of an analysis started before its wave's statistics
/// exist: its first read lets the statistics pass go on without the analysis's
/// rows (they are then read in a pass of their own) and waits for the statistics.
struct AwaitedStatistics {
    awaited: std::sync::Arc<Awaited>,
    detach: Option<csi_engine::RowsDetach>,
    batches: Option<std::vec::IntoIter<arrow_array::RecordBatch>>,
}

impl Iterator for AwaitedStatistics {
    type Item = Result<arrow_array::RecordBatch, arrow_schema::ArrowError>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.batches.is_none() {
            if let Some(d) = self.detach.take() {
                d.detach();
            }
            match self.awaited.wait() {
                Ok(batches) => self.batches = Some(batches.into_iter()),
                Err(why) => {
                    self.batches = Some(Vec::new().into_iter());
                    return Some(Err(arrow_schema::ArrowError::ExternalError(why.into())));
                }
            }
        }
        self.batches.as_mut()?.next().map(Ok)
    }
}

impl arrow_array::RecordBatchReader for AwaitedStatistics {
    fn schema(&self) -> arrow_schema::SchemaRef {
        csi_engine::statistics_schema()
    }
}

/// The analyses that read their wave's respondent rows with the wave's
/// statistics pass, started before it: each runs on a thread of its own from the
/// start, its rows fed by the pass as it reads them (so the data are read and
/// checked once for the figures and these analyses together), its statistics
/// handed over once its wave and the waves before it are computed. An analysis
/// that asks for its statistics before it has read its rows lets the pass go on
/// without it and reads its rows afterwards, on its own. Only the plugins that
/// ship with csi, in csi's process, are run so, and two of their analyses (of one
/// wave or of two) may then run at once; other plugins run after the pass, one
/// call at a time each.
pub struct WithThePass<'scope> {
    /// Per wave of the study: the streams its pass feeds.
    feeds: Vec<Vec<csi_engine::RowsFeed>>,
    /// Per wave of the study: its statistics table, once computed.
    tables: Vec<Option<arrow_array::RecordBatch>>,
    /// Per wave of the study: what its early analyses wait for.
    awaited: Vec<std::sync::Arc<Awaited>>,
    /// The waves' ids.
    ids: Vec<String>,
    /// Per running analysis: its wave, its position among the study's analyses,
    /// its thread.
    running: Vec<(usize, usize, std::thread::ScopedJoinHandle<'scope, AnalysisPage>)>,
}

/// Whatever happens (a panic unwinding the build), no analysis is left waiting
/// for statistics, so the scope its thread runs in can end.
impl Drop for WithThePass<'_> {
    fn drop(&mut self) {
        self.all_computed();
        // Joined here, so that a thread that panicked (a bug) is not the scope's
        // panic on a path that is already failing.
        for (_, _, handle) in self.running.drain(..) {
            let _ = handle.join();
        }
    }
}

impl<'scope> WithThePass<'scope> {
    /// Starts, in `scope`, every analysis of `prepared` that reads rows with the
    /// pass, for each of `waves` (positions in the study).
    pub fn start<'env>(
        scope: &'scope std::thread::Scope<'scope, 'env>,
        study: &'env Study,
        prepared: &'env [Prepared<'env>],
        waves: &[usize],
    ) -> Self {
        let count = study.waves.len();
        let mut this = WithThePass {
            feeds: (0..count).map(|_| Vec::new()).collect(),
            tables: vec![None; count],
            awaited: (0..count).map(|_| Default::default()).collect(),
            ids: study.waves.iter().map(|w| w.id.clone()).collect(),
            running: Vec::new(),
        };
        let context = std::sync::Arc::new(csi_engine::study_context(study));
        for &w in waves {
            let wave = &study.waves[w];
            for (i, a) in prepared.iter().enumerate().filter(|(_, a)| reads_with_the_pass(a)) {
                let (feed, rows) = csi_engine::fed_rows(study, wave);
                let statistics = AwaitedStatistics {
                    awaited: this.awaited[w].clone(),
                    detach: Some(rows.detacher()),
                    batches: None,
                };
                let context = context.clone();
                let id = wave.id.as_str();
                let handle = scope.spawn(move || run_one(&context, id, a, Box::new(statistics), Some(Box::new(rows))));
                this.feeds[w].push(feed);
                this.running.push((w, i, handle));
            }
        }
        this
    }

    /// The streams the pass of each of `waves` (positions in the study) feeds, in
    /// that order.
    pub fn feeds_of(&mut self, waves: &[usize]) -> Vec<Vec<csi_engine::RowsFeed>> {
        waves.iter().map(|&w| std::mem::take(&mut self.feeds[w])).collect()
    }

    /// Wave `wave` is computed (`None`: it could not be): the analyses of every
    /// wave whose statistics are now all there get them.
    pub fn computed(&mut self, wave: usize, result: Option<&WaveResult>) {
        match result {
            Some(r) => self.tables[wave] = Some(csi_engine::statistics_batch(r)),
            None => {
                for a in &self.awaited[wave..] {
                    a.set(Err(format!(
                        "the statistics of wave `{}` could not be computed",
                        self.ids[wave]
                    )));
                }
                return;
            }
        }
        for (w, a) in self.awaited.iter().enumerate() {
            if let Some(tables) = self.tables[..=w].iter().cloned().collect::<Option<Vec<_>>>() {
                a.set(Ok(tables));
            }
        }
    }

    /// Every wave that will be computed is: the analyses still waiting for
    /// statistics are told there will be none.
    pub fn all_computed(&mut self) {
        self.feeds.clear();
        for a in &self.awaited {
            a.set(Err(
                "the statistics of this wave or an earlier one could not be computed".into(),
            ));
        }
    }

    /// The pages of wave `wave`'s analyses run with its pass, by their position
    /// among the study's analyses (waits for them).
    pub fn pages(&mut self, wave: usize, prepared: &[Prepared<'_>]) -> std::collections::HashMap<usize, AnalysisPage> {
        let (these, others): (Vec<_>, Vec<_>) =
            std::mem::take(&mut self.running).into_iter().partition(|r| r.0 == wave);
        self.running = others;
        these
            .into_iter()
            .map(|(_, i, handle)| (i, handle.join().unwrap_or_else(|_| stopped(&prepared[i]))))
            .collect()
    }
}

/// Runs the prepared analyses on wave `results[index]`, but for those whose pages
/// are `done` already (by position among the analyses: see [`WithThePass`]).
/// Plugins receive the statistics of that wave and every wave before it (one
/// batch per wave, in wave order), so a trend analysis sees the history the
/// report had at that wave.
///
/// The analyses run side by side. Those that read the respondent rows share passes
/// over the data: one pass feeds one analysis of each such plugin at once (on a
/// thread each, as a shared pass needs), and a second analysis of a plugin waits
/// for the next pass. The analyses of the statistics table alone run meanwhile.
/// Two analyses of one plugin here take turns, so a plugin that does not ship with
/// csi is called from one thread at a time, as docs/plugins.md promises. Pages
/// keep the study's order.
pub fn run_wave(
    study: &Study,
    prepared: &[Prepared<'_>],
    results: &[WaveResult],
    index: usize,
    mut done: std::collections::HashMap<usize, AnalysisPage>,
) -> Vec<AnalysisPage> {
    let context = csi_engine::study_context(study);
    let result = &results[index];
    let batches: Vec<_> = results[..=index].iter().map(csi_engine::statistics_batch).collect();
    // (keyed by the plugin's address: one entry per loaded plugin)
    let address = |a: &Prepared<'_>| a.plugin as *const Plugin as usize;
    let turns: std::collections::HashMap<usize, std::sync::Mutex<()>> =
        prepared.iter().map(|a| (address(a), Default::default())).collect();
    let run = |a: &Prepared<'_>, rows: Option<csi_engine::RowsReader>| {
        let _turn = turns[&address(a)]
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let statistics = Box::new(arrow_array::RecordBatchIterator::new(
            batches.clone().into_iter().map(Ok),
            csi_engine::statistics_schema(),
        ));
        run_one(&context, &result.wave, a, statistics, rows)
    };
    let wave = study.waves.iter().find(|w| w.id == result.wave);
    let to_run: Vec<bool> = (0..prepared.len()).map(|i| !done.contains_key(&i)).collect();
    let reads_rows = |a: &Prepared<'_>| wave.is_some() && a.plugin.description.inputs.rows();
    // The passes over the rows: each takes, in the study's order, the first waiting
    // analysis of every plugin that reads rows in csi's process. A shared pass moves
    // at its slowest reader's pace, so an analysis in a worker process, whose time
    // limit runs from its start, reads a pass of its own.
    let shares = |a: &Prepared<'_>| matches!(a.isolation, Isolation::InProcess);
    let mut passes: Vec<Vec<usize>> = Vec::new();
    for (i, a) in prepared.iter().enumerate().filter(|(i, a)| to_run[*i] && reads_rows(a)) {
        match passes.iter_mut().find(|p| {
            shares(a)
                && p.iter()
                    .all(|&j| shares(&prepared[j]) && address(&prepared[j]) != address(a))
        }) {
            Some(pass) => pass.push(i),
            None => passes.push(vec![i]),
        }
    }
    let mut pages: Vec<Option<AnalysisPage>> = (0..prepared.len()).map(|i| done.remove(&i)).collect();
    let (row_pages, table_pages) = std::thread::scope(|scope| {
        let row_passes = scope.spawn(|| {
            let mut done = Vec::new();
            for pass in &passes {
                let wave = wave.expect("rows are read only for a wave of the study");
                let readers = csi_engine::shared_rows_readers(study, wave, pass.len());
                // Every reader of a shared pass is read at once: a thread each.
                std::thread::scope(|pass_scope| {
                    let running: Vec<_> = pass
                        .iter()
                        .zip(readers)
                        .map(|(&i, rows)| (i, pass_scope.spawn(move || run(&prepared[i], Some(rows)))))
                        .collect();
                    for (i, handle) in running {
                        let page = handle.join().unwrap_or_else(|_| stopped(&prepared[i]));
                        done.push((i, page));
                    }
                });
            }
            done
        });
        let table: Vec<(usize, AnalysisPage)> = prepared
            .par_iter()
            .enumerate()
            .filter(|(i, a)| to_run[*i] && !reads_rows(a))
            .map(|(i, a)| (i, run(a, None)))
            .collect();
        (row_passes.join().expect("the rows passes do not panic"), table)
    });
    for (i, page) in row_pages.into_iter().chain(table_pages) {
        pages[i] = Some(page);
    }
    pages.into_iter().map(|p| p.expect("every analysis ran")).collect()
}

/// `csi plugins`: what was found, and what was refused and why.
pub fn list(extra: &[PathBuf]) -> bool {
    let dirs = plugin_dirs(extra);
    let registry = Registry::discover(&dirs, &worker());
    println!(
        "searched: {}",
        dirs.iter()
            .map(|(d, _)| d.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );
    if registry.plugins.is_empty() {
        println!("no plugins found");
    }
    for p in &registry.plugins {
        let runs = match p.origin {
            Origin::Bundled => "ships with csi; runs in process",
            Origin::External => "third-party; runs isolated",
            Origin::Study => "the study's own; runs isolated",
        };
        println!(
            "{:<12} {:<8} ABI {}.{}  {}\n    {}\n    {}{}",
            p.name,
            p.version,
            p.abi.0,
            p.abi.1,
            p.summary,
            p.path.display(),
            runs,
            p.homepage.as_deref().map(|h| format!("; {h}")).unwrap_or_default()
        );
    }
    for r in &registry.refused {
        println!("refused: {r}");
    }
    registry.refused.is_empty()
}

/// The reference documentation of the plugins found in the folders the user
/// chose (`csi plugins --doc`): for each, what it does and needs, every option it
/// declares (type in YAML terms, default, allowed values or range, whether
/// required, what it does) and a study excerpt using every option. docs/analyses.md
/// is this text for the plugins that ship with csi.
pub fn reference(extra: &[PathBuf]) -> String {
    let registry = Registry::discover(&plugin_dirs(extra), &worker());
    let mut plugins: Vec<&Plugin> = registry.plugins.iter().collect();
    plugins.sort_by(|a, b| a.name.cmp(&b.name));
    let mut out = String::from(
        "# Analyses\n\n\
         The reference of every analysis plugin that ships with csi, generated by\n\
         `csi plugins --doc` from what each plugin declares (a test keeps this file in\n\
         step with the code). Options go under the analysis in `study.yaml`; csi checks\n\
         them against these declarations at `csi check` and before a build writes\n\
         anything.\n",
    );
    for p in plugins {
        let d = &p.description;
        out.push_str(&format!(
            "\n## `{}`\n\n{}.\n\n",
            p.name,
            p.summary.trim_end_matches('.')
        ));
        let inputs = match d.inputs {
            csi_blocks::wire::Inputs::Statistics => "the statistics table (no extra pass over the data)",
            csi_blocks::wire::Inputs::Rows => "the respondent rows (a pass over the wave's data)",
            csi_blocks::wire::Inputs::Both => "the statistics table and the respondent rows",
        };
        out.push_str(&format!(
            "Reads {inputs}. Protocol {}.{}.\n\n",
            d.protocol, d.protocol_minor
        ));
        if d.options.is_empty() {
            out.push_str("No options.\n\n");
        } else {
            out.push_str(
                "| option | type | default | accepted | example | what it does |\n| --- | --- | --- | --- | --- | --- |\n",
            );
            for (name, o) in &d.options {
                let default = match (&o.default, o.required) {
                    (_, true) => "required".to_string(),
                    (Some(v), _) if v.as_str() == Some("") => "not set".to_string(),
                    (Some(v), _) => format!("`{}`", yaml_value(v)),
                    (None, false) => "not set".to_string(),
                };
                let accepted = match (&o.allowed, o.minimum, o.maximum) {
                    (Some(a), _, _) => a
                        .iter()
                        .map(|v| format!("`{}`", yaml_value(v)))
                        .collect::<Vec<_>>()
                        .join(", "),
                    (None, Some(lo), Some(hi)) => format!("{lo} to {hi}"),
                    (None, Some(lo), None) => format!("at least {lo}"),
                    (None, None, Some(hi)) => format!("at most {hi}"),
                    (None, None, None) => String::new(),
                };
                out.push_str(&format!(
                    "| `{name}` | {} | {default} | {accepted} | `{name}: {}` | {} |\n",
                    o.kind.in_words().replace('|', "\\|"),
                    example_value(name, o),
                    o.description.replace('|', "\\|").replace('\n', " ")
                ));
            }
            out.push('\n');
        }
        // The analysis as a study writes it, with the options that have a default
        // set to it: what an analysis without options runs with.
        let example: Vec<String> = d
            .options
            .iter()
            .filter_map(|(name, o)| {
                let v = o.default.as_ref()?;
                let empty = v.as_str() == Some("") || v.as_array().is_some_and(|a| a.is_empty());
                (!empty).then(|| format!("{name}: {}", yaml_value(v)))
            })
            .collect();
        out.push_str(if example.is_empty() {
            "In `study.yaml`:\n\n```yaml\nanalyses:\n"
        } else {
            "In `study.yaml`, with the defaults written out:\n\n```yaml\nanalyses:\n"
        });
        out.push_str(&format!("  - plugin: {}\n", p.name));
        if !example.is_empty() {
            out.push_str("    options:\n");
            for e in example {
                out.push_str(&format!("      {e}\n"));
            }
        }
        out.push_str("```\n");
    }
    out
}

/// `v` as it is written in YAML (flow style for lists).
fn yaml_value(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Array(a) => format!("[{}]", a.iter().map(yaml_value).collect::<Vec<_>>().join(", ")),
        other => other.to_string(),
    }
}

/// A value of option `name` for the documentation's example: its default when it
/// has one that says something, else a value of its type (an overall item for an
/// outcome, a category for other nodes).
fn example_value(name: &str, o: &csi_blocks::wire::OptionSpec) -> String {
    use csi_blocks::wire::OptionType as T;
    // A value other than the default where the default is the obvious one.
    match (o.kind, o.default.as_ref().and_then(|v| v.as_bool())) {
        (T::Cell, _) => return "customer_type=2".into(),
        (T::Boolean, Some(b)) => return (!b).to_string(),
        _ => {}
    }
    let meaningful = o
        .default
        .as_ref()
        .filter(|v| !(v.as_str() == Some("") || v.as_array().is_some_and(|a| a.is_empty())));
    if let Some(v) = meaningful {
        return yaml_value(v);
    }
    if let Some(first) = o.allowed.as_ref().and_then(|a| a.first()) {
        return yaml_value(first);
    }
    match o.kind {
        T::String => "text".into(),
        T::Number => o.minimum.map_or("0.9".into(), |m| m.to_string()),
        T::Integer => o.minimum.map_or("1".into(), |m| m.to_string()),
        T::Boolean => "true".into(),
        T::StringList => "[a, b]".into(),
        T::Node if name.contains("outcome") => "overall".into(),
        T::Node => "network".into(),
        T::NodeList => "[network, billing]".into(),
        T::Segment => "customer_type".into(),
        T::SegmentList => "[customer_type, region]".into(),
        T::Cell => "customer_type=2".into(),
        T::Wave => "\"2002\"".into(),
    }
}

/// What each analysis will run with, for the waves' build records: plugin version,
/// library hash and the options after defaults were applied.
pub fn records(prepared: &[Prepared<'_>]) -> Vec<csi_site::provenance::AnalysisRecord> {
    prepared
        .iter()
        .map(|a| csi_site::provenance::AnalysisRecord {
            id: a.id.clone(),
            plugin: a.plugin_name.clone(),
            version: Some(a.plugin.version.clone()),
            library_sha256: csi_site::provenance::sha256_file(&a.plugin.path).ok(),
            options: serde_json::Value::Object(a.options.clone()),
        })
        .collect()
}
