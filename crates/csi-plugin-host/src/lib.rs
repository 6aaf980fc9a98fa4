//! # csi-plugin-host: loading and running analysis plugins safely
//!
//! Plugins are shared libraries found in configured folders ([`Registry::discover`]).
//! Each library is loaded once and never unloaded (unloading is unreliable across
//! platforms). Before reading anything else, the host reads the descriptor's size
//! and ABI version and refuses a mismatch, naming the file and both versions; then it
//! asks the plugin to describe itself (inputs and options), so a study's options are
//! validated before anything runs.
//!
//! Loading a library runs its code (its initialisers, then the entry point and
//! `describe`). Only the plugins that ship with csi are loaded into csi's own
//! process to be described; every other library is loaded and described by a
//! worker process (see `isolate.rs`), so one that crashes, aborts or hangs while being
//! loaded is refused with the reason and discovery goes on.
//!
//! Running a plugin passes the request as JSON and the statistics (and, when asked,
//! respondent rows) as Arrow C streams; the result comes back as JSON report blocks
//! in a buffer the plugin frees with its own callback. Every failure — an error
//! status, a caught panic, malformed JSON — is a [`PluginError`] for that analysis
//! alone; the caller carries on with the rest of the build.
#![deny(missing_docs)]
#![allow(unsafe_code)]

mod isolate;

pub use isolate::{worker_main, Isolation, Worker};

use std::collections::HashMap;
use std::ffi::CStr;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use arrow_array::ffi_stream::FFI_ArrowArrayStream;
use arrow_array::{RecordBatch, RecordBatchIterator, RecordBatchReader};
use arrow_schema::SchemaRef;

use csi_blocks::wire::{Description, OptionType, Request, StudyContext, PROTOCOL_VERSION};
use csi_blocks::Report;
use csi_plugin_api::{
    ArrowArrayStream, CsiBytes, CsiPluginV1, DescribeFn, EntryFn, RunFn, ABI_MAJOR, ABI_MINOR, ENTRY_SYMBOL,
    MIN_STRUCT_SIZE_V1, STATUS_OK, STATUS_PANIC,
};
use serde::{Deserialize, Serialize};

/// Why a plugin was refused or an analysis failed. Serialisable, so that a worker
/// process that describes a library can hand the reason back unchanged.
#[derive(Debug, Clone, PartialEq, thiserror::Error, Serialize, Deserialize)]
pub enum PluginError {
    /// The library could not be loaded.
    #[error("{path}: cannot load the library: {message}")]
    Load {
        /// The library.
        path: PathBuf,
        /// The loader's message.
        message: String,
    },
    /// The library has no csi entry point.
    #[error("{path}: not a csi plugin for ABI {host}: no `csi_plugin_entry_v{host}` symbol{}", .other.map(|m| format!(" (it exports `csi_plugin_entry_v{m}`: it was built for ABI {m})")).unwrap_or_default())]
    MissingSymbol {
        /// The library.
        path: PathBuf,
        /// The host's ABI major.
        host: u32,
        /// Another ABI major the library does export, if any.
        other: Option<u32>,
    },
    /// The ABI major version differs.
    #[error("{path}: plugin ABI {plugin_major}.{plugin_minor} is not compatible with this csi (ABI {host_major}.{host_minor}); rebuild the plugin against csi-plugin-api {host_major}.x")]
    AbiMismatch {
        /// The library.
        path: PathBuf,
        /// The plugin's ABI major.
        plugin_major: u32,
        /// The plugin's ABI minor.
        plugin_minor: u32,
        /// The host's ABI major.
        host_major: u32,
        /// The host's ABI minor.
        host_minor: u32,
    },
    /// The descriptor is smaller than ABI 1.0's.
    #[error("{path}: plugin descriptor is {size} bytes, smaller than the {min} bytes of ABI {ABI_MAJOR}.0; the plugin is broken or was built against a different header")]
    DescriptorTooSmall {
        /// The library.
        path: PathBuf,
        /// The size it claims.
        size: u32,
        /// The minimum.
        min: u32,
    },
    /// A required descriptor field is null or not UTF-8.
    #[error("{path}: invalid plugin descriptor: {message}")]
    BadDescriptor {
        /// The library.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The worker process that loads and describes a library did not answer: the
    /// library crashed, aborted or hung while being loaded or described.
    #[error("{path}: refused: {message}")]
    Discovery {
        /// The library.
        path: PathBuf,
        /// What happened to the worker.
        message: String,
    },
    /// A library in a study's plugin folder is a symbolic link to a file outside it.
    #[error("{path}: refused: it is a symbolic link to {target}, outside the study's plugins folder; copy the library into the folder if you trust it")]
    Outside {
        /// The library as found.
        path: PathBuf,
        /// Where the link leads.
        target: PathBuf,
    },
    /// Another plugin of the same name was found first.
    #[error("{path}: skipped: a plugin named `{name}` was already found at {first}")]
    Duplicate {
        /// The library skipped.
        path: PathBuf,
        /// The plugin name.
        name: String,
        /// Where the first one is.
        first: PathBuf,
    },
    /// `describe` failed or returned something unreadable.
    #[error("plugin `{plugin}` ({path}): cannot describe itself: {message}")]
    Describe {
        /// Plugin name.
        plugin: String,
        /// The library.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// The study's options for an analysis are not what the plugin accepts.
    #[error("analysis `{analysis}` (plugin `{plugin}`): {message}")]
    Options {
        /// Analysis id.
        analysis: String,
        /// Plugin name.
        plugin: String,
        /// What is wrong, every problem in one line.
        message: String,
        /// Each problem, with the option it is about (to locate it in the study).
        problems: Vec<OptionProblem>,
    },
    /// The plugin returned an error.
    #[error("plugin `{plugin}` failed: {message}")]
    Failed {
        /// Plugin name.
        plugin: String,
        /// The plugin's message.
        message: String,
    },
    /// The plugin panicked (caught at its boundary).
    #[error("plugin `{plugin}` crashed: {message}")]
    Panicked {
        /// Plugin name.
        plugin: String,
        /// The panic message.
        message: String,
    },
    /// An isolated plugin's process died (abort, segfault, exit) without a result.
    #[error("plugin `{plugin}` crashed: {message}")]
    Crashed {
        /// Plugin name.
        plugin: String,
        /// How it died, with the last lines it wrote to standard error.
        message: String,
    },
    /// An isolated plugin did not finish in time and was stopped.
    #[error("plugin `{plugin}` did not finish within {seconds} s and was stopped; raise the analysis's `timeout` if it needs longer")]
    TimedOut {
        /// Plugin name.
        plugin: String,
        /// The time limit.
        seconds: f64,
    },
    /// The plugin's result is not valid report JSON.
    #[error("plugin `{plugin}` returned a malformed result: {message}")]
    MalformedResult {
        /// Plugin name.
        plugin: String,
        /// The parse error.
        message: String,
    },
}

/// One thing wrong with an analysis's options.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OptionProblem {
    /// The option given in the study that is wrong; `None` for a problem of the
    /// options as a whole (a required option missing).
    pub option: Option<String>,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub help: Option<String>,
}

/// What is wrong with `v`, an option of type `kind`, as a reference to `study`:
/// the message and the fix (the ids it could be, the closest first).
fn reference_problem(kind: OptionType, v: &serde_json::Value, study: &StudyContext) -> Option<(String, String)> {
    let nodes = || study.nodes.iter().map(|n| n.id.clone()).collect::<Vec<_>>();
    let segments = || study.segments.iter().map(|s| s.id.clone()).collect::<Vec<_>>();
    let cells = || {
        std::iter::once("all".to_string())
            .chain(
                study
                    .segments
                    .iter()
                    .flat_map(|s| s.groups.iter().map(|g| g.cell.clone())),
            )
            .collect::<Vec<_>>()
    };
    let waves = || study.waves.iter().map(|w| w.id.clone()).collect::<Vec<_>>();
    let (what, known): (&str, Vec<String>) = match kind {
        OptionType::Node | OptionType::NodeList => ("node", nodes()),
        OptionType::Segment | OptionType::SegmentList => ("segment", segments()),
        OptionType::Cell => ("cell", cells()),
        OptionType::Wave => ("wave", waves()),
        _ => return None,
    };
    let given: Vec<&str> = match v {
        serde_json::Value::String(s) => vec![s.as_str()],
        serde_json::Value::Array(a) => a.iter().filter_map(|x| x.as_str()).collect(),
        _ => return None,
    };
    let wrong = given.into_iter().find(|g| !known.iter().any(|k| k == g))?;
    let mut near: Vec<&String> = known.iter().filter(|k| strsim::levenshtein(k, wrong) <= 2).collect();
    near.sort_by_key(|k| strsim::levenshtein(k, wrong));
    let listed = if known.len() > 12 {
        format!("{} …", known[..12].join(", "))
    } else {
        known.join(", ")
    };
    let help = match near.first() {
        Some(n) => format!("did you mean `{n}`? the study's {what}s are: {listed}"),
        None => format!("the study's {what}s are: {listed}"),
    };
    let noun = match what {
        "node" => "an indicator, category or overall item",
        "segment" => "a segment",
        "cell" => "a segment group",
        _ => "a wave",
    };
    Some((format!("`{wrong}` is not {noun} of this study"), help))
}

/// Where a plugin came from, which decides its default isolation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Shipped with csi (found next to the csi executable).
    Bundled,
    /// Found in a plugin folder the user named (`--plugins`, `CSI_PLUGIN_PATH`).
    External,
    /// Found in a study's own `plugins/` folder, searched only with the user's
    /// consent; a library there must not be a link to a file outside that folder.
    Study,
}

/// A loaded, checked plugin.
#[derive(Debug, Clone)]
pub struct Plugin {
    /// The name studies use.
    pub name: String,
    /// The plugin's own version.
    pub version: String,
    /// One line on what it does.
    pub summary: String,
    /// Where to read about it (ABI 1.1 and later).
    pub homepage: Option<String>,
    /// ABI (major, minor) it was built for.
    pub abi: (u32, u32),
    /// The library file.
    pub path: PathBuf,
    /// Where it was found.
    pub origin: Origin,
    /// What it needs and accepts.
    pub description: Description,
    /// The run entry, when the library is loaded in this process (plugins that ship
    /// with csi, and any plugin inside a worker); `None` for a library described
    /// by a worker, which is loaded here only if an analysis asks to run in process.
    run: Option<RunFn>,
}

/// What a worker says about a library it loaded and described: everything of a
/// [`Plugin`] but the function pointers.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Described {
    pub(crate) name: String,
    pub(crate) version: String,
    pub(crate) summary: String,
    pub(crate) homepage: Option<String>,
    pub(crate) abi: (u32, u32),
    pub(crate) description: Description,
}

impl Plugin {
    pub(crate) fn described(&self) -> Described {
        Described {
            name: self.name.clone(),
            version: self.version.clone(),
            summary: self.summary.clone(),
            homepage: self.homepage.clone(),
            abi: self.abi,
            description: self.description.clone(),
        }
    }

    pub(crate) fn from_described(d: Described, path: &Path, origin: Origin) -> Plugin {
        Plugin {
            name: d.name,
            version: d.version,
            summary: d.summary,
            homepage: d.homepage,
            abi: d.abi,
            path: path.to_path_buf(),
            origin,
            description: d.description,
            run: None,
        }
    }

    /// The run entry: the one loaded, or, for a library described by a worker, the
    /// library loaded into this process now (an analysis asked to run in process).
    fn run_entry(&self) -> Result<RunFn, PluginError> {
        match self.run {
            Some(run) => Ok(run),
            None => load(&self.path, self.origin).map(|p| p.run.expect("loaded in process")),
        }
    }
}

/// Libraries loaded so far, by canonical path: each is loaded once, never unloaded.
fn library(path: &Path) -> Result<&'static libloading::Library, PluginError> {
    static LOADED: OnceLock<Mutex<HashMap<PathBuf, &'static libloading::Library>>> = OnceLock::new();
    let key = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    let mut map = LOADED
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if let Some(lib) = map.get(&key) {
        return Ok(lib);
    }
    // SAFETY: loading a library runs its initialisers; plugins are trusted to the
    // extent the user put them in a plugin folder. Process isolation is the answer
    // for untrusted ones.
    let lib = unsafe { libloading::Library::new(&key) }.map_err(|e| PluginError::Load {
        path: path.to_path_buf(),
        message: {
            let reason = loader_reason(&e);
            // dlerror starts with the file name, which the message already gives.
            let prefix = format!("{}: ", key.display());
            reason.strip_prefix(&prefix).map(str::to_string).unwrap_or(reason)
        },
    })?;
    let lib: &'static libloading::Library = Box::leak(Box::new(lib));
    map.insert(key, lib);
    Ok(lib)
}

/// The loader's own reason (dlerror's text on Unix, which libloading keeps as
/// the error's source behind a generic "dlopen failed").
fn loader_reason(e: &libloading::Error) -> String {
    let mut reasons = Vec::new();
    let mut next: Option<&dyn std::error::Error> = Some(e);
    while let Some(err) = next {
        reasons.push(err.to_string());
        next = err.source();
    }
    match reasons.as_slice() {
        [only] => only.clone(),
        [_, rest @ ..] => rest.join(": "),
        [] => String::new(),
    }
}

fn c_text(ptr: *const std::ffi::c_char, field: &str, path: &Path) -> Result<String, PluginError> {
    if ptr.is_null() {
        return Err(PluginError::BadDescriptor {
            path: path.to_path_buf(),
            message: format!("`{field}` is null"),
        });
    }
    // SAFETY: the ABI requires NUL-terminated static strings.
    unsafe { CStr::from_ptr(ptr) }
        .to_str()
        .map(str::to_string)
        .map_err(|_| PluginError::BadDescriptor {
            path: path.to_path_buf(),
            message: format!("`{field}` is not UTF-8"),
        })
}

/// Takes the bytes out of a plugin-filled buffer and releases it (exactly once).
fn take(mut bytes: CsiBytes) -> Vec<u8> {
    let data = if bytes.data.is_null() || bytes.len == 0 {
        Vec::new()
    } else {
        // SAFETY: the plugin promises `len` readable bytes at `data` until release.
        unsafe { std::slice::from_raw_parts(bytes.data, bytes.len) }.to_vec()
    };
    if let Some(release) = bytes.release {
        // SAFETY: the buffer was filled by the plugin with its own release callback.
        unsafe { release(&mut bytes) };
    }
    data
}

/// Loads and checks the plugin library at `path`.
pub fn load(path: &Path, origin: Origin) -> Result<Plugin, PluginError> {
    let lib = library(path)?;
    // SAFETY: the symbol's type is fixed by the ABI; a library exporting this name
    // with another type is not a csi plugin and breaks its own contract.
    let entry: EntryFn = match unsafe { lib.get::<EntryFn>(ENTRY_SYMBOL) } {
        Ok(sym) => *sym,
        Err(_) => {
            let other = (1..=9).filter(|m| *m != ABI_MAJOR).find(|m| {
                let name = format!("csi_plugin_entry_v{m}\0");
                // SAFETY: only probing for the symbol's presence.
                unsafe { lib.get::<EntryFn>(name.as_bytes()) }.is_ok()
            });
            return Err(PluginError::MissingSymbol {
                path: path.to_path_buf(),
                host: ABI_MAJOR,
                other,
            });
        }
    };
    // SAFETY: calling the entry point the ABI defines; it returns static data.
    let desc = unsafe { entry() };
    if desc.is_null() {
        return Err(PluginError::BadDescriptor {
            path: path.to_path_buf(),
            message: "the entry point returned null".into(),
        });
    }
    // Check first, parse second: read only the three leading u32 fields.
    // SAFETY: every ABI version starts with these three u32 fields.
    let head = unsafe { std::slice::from_raw_parts(desc as *const u32, 3) };
    let (size, major, minor) = (head[0], head[1], head[2]);
    if major != ABI_MAJOR {
        return Err(PluginError::AbiMismatch {
            path: path.to_path_buf(),
            plugin_major: major,
            plugin_minor: minor,
            host_major: ABI_MAJOR,
            host_minor: ABI_MINOR,
        });
    }
    if size < MIN_STRUCT_SIZE_V1 {
        return Err(PluginError::DescriptorTooSmall {
            path: path.to_path_buf(),
            size,
            min: MIN_STRUCT_SIZE_V1,
        });
    }
    // SAFETY: size and version checked: the ABI 1.0 fields are all present, and are
    // read field by field through the raw pointer (never as a reference to the whole
    // struct, which an older plugin's smaller descriptor would not fill). Fields
    // added by later minors are read only when `has_field` says they exist.
    let (name, version, summary, describe, run, homepage) = unsafe {
        (
            (*desc).name,
            (*desc).version,
            (*desc).description,
            (*desc).describe,
            (*desc).run,
            csi_plugin_api::has_field(
                size,
                minor,
                std::mem::offset_of!(CsiPluginV1, homepage),
                std::mem::size_of::<*const std::ffi::c_char>(),
                1,
            )
            .then(|| (*desc).homepage),
        )
    };
    let name = c_text(name, "name", path)?;
    let version = c_text(version, "version", path)?;
    let summary = c_text(summary, "description", path)?;
    let homepage = match homepage {
        Some(h) if !h.is_null() => Some(c_text(h, "homepage", path)?).filter(|h| !h.is_empty()),
        _ => None,
    };
    let (Some(describe), Some(run)) = (describe, run) else {
        return Err(PluginError::BadDescriptor {
            path: path.to_path_buf(),
            message: "`describe` or `run` is null".into(),
        });
    };
    let description = describe_plugin(describe, &name, path)?;
    Ok(Plugin {
        name,
        version,
        summary,
        homepage,
        abi: (major, minor),
        path: path.to_path_buf(),
        origin,
        description,
        run: Some(run),
    })
}

fn describe_plugin(describe: DescribeFn, name: &str, path: &Path) -> Result<Description, PluginError> {
    let mut out = CsiBytes::empty();
    // SAFETY: `describe` is the plugin's, checked non-null; `out` is ours.
    let status = unsafe { describe(&mut out) };
    let bytes = take(out);
    let fail = |message: String| PluginError::Describe {
        plugin: name.to_string(),
        path: path.to_path_buf(),
        message,
    };
    if status != STATUS_OK {
        return Err(fail(String::from_utf8_lossy(&bytes).into_owned()));
    }
    let d: Description = serde_json::from_slice(&bytes).map_err(|e| fail(format!("malformed description: {e}")))?;
    if d.protocol != PROTOCOL_VERSION {
        return Err(fail(format!(
            "speaks protocol {}, this csi speaks {PROTOCOL_VERSION}",
            d.protocol
        )));
    }
    Ok(d)
}

impl Plugin {
    /// Checks `options` (from the study) against what the plugin declares — names
    /// (unknown ones get the closest accepted one suggested), types, allowed values,
    /// ranges, required options — and fills in defaults. References to the study
    /// (nodes, segments, cells, waves) are checked by [`Plugin::resolve_options_for`].
    pub fn resolve_options(
        &self,
        analysis: &str,
        options: &serde_json::Value,
    ) -> Result<serde_json::Map<String, serde_json::Value>, PluginError> {
        self.resolve(analysis, options, None)
    }

    /// [`Plugin::resolve_options`], also checking that every option naming a node,
    /// segment, cell or wave names one of `study`'s.
    pub fn resolve_options_for(
        &self,
        analysis: &str,
        options: &serde_json::Value,
        study: &StudyContext,
    ) -> Result<serde_json::Map<String, serde_json::Value>, PluginError> {
        self.resolve(analysis, options, Some(study))
    }

    fn resolve(
        &self,
        analysis: &str,
        options: &serde_json::Value,
        study: Option<&StudyContext>,
    ) -> Result<serde_json::Map<String, serde_json::Value>, PluginError> {
        let fail = |problems: Vec<OptionProblem>| PluginError::Options {
            analysis: analysis.to_string(),
            plugin: self.name.clone(),
            message: problems
                .iter()
                .map(|p| match &p.help {
                    Some(h) => format!("{} ({h})", p.message),
                    None => p.message.clone(),
                })
                .collect::<Vec<_>>()
                .join("; "),
            problems,
        };
        let given = match options {
            serde_json::Value::Object(m) => m.clone(),
            serde_json::Value::Null => Default::default(),
            _ => {
                return Err(fail(vec![OptionProblem {
                    option: None,
                    message: "`options` must be a mapping of option names to values".into(),
                    help: Some("e.g. `options: {top: 5}`".into()),
                }]))
            }
        };
        let accepted: Vec<&str> = self.description.options.keys().map(String::as_str).collect();
        let mut problems = Vec::new();
        for (k, v) in &given {
            let problem = |message: String, help: Option<String>| OptionProblem {
                option: Some(k.clone()),
                message,
                help,
            };
            let Some(spec) = self.description.options.get(k) else {
                let near = accepted
                    .iter()
                    .find(|a| strsim::levenshtein(a, k) <= 2 || a.contains(k.as_str()))
                    .map(|a| format!("; did you mean `{a}`?"))
                    .unwrap_or_default();
                problems.push(problem(
                    format!("unknown option `{k}`{near}"),
                    Some(format!(
                        "the options of `{}` are: {}",
                        self.name,
                        if accepted.is_empty() {
                            "none".to_string()
                        } else {
                            accepted.join(", ")
                        }
                    )),
                ));
                continue;
            };
            if !spec.kind.accepts(v) {
                problems.push(problem(
                    format!("option `{k}` must be {}, not {v}", spec.kind.in_words()),
                    Some(spec.description.clone()),
                ));
                continue;
            }
            if let Some(allowed) = &spec.allowed {
                if !allowed.contains(v) {
                    let words: Vec<String> = allowed
                        .iter()
                        .map(|a| a.as_str().map_or_else(|| a.to_string(), str::to_string))
                        .collect();
                    let near = v
                        .as_str()
                        .and_then(|t| words.iter().find(|w| strsim::levenshtein(w, t) <= 2))
                        .map(|w| format!("did you mean `{w}`? "))
                        .unwrap_or_default();
                    problems.push(problem(
                        format!("option `{k}` cannot be {v}"),
                        Some(format!("{near}it takes one of: {}", words.join(", "))),
                    ));
                    continue;
                }
            }
            if let Some(x) = v.as_f64() {
                let below = spec.minimum.is_some_and(|m| x < m);
                let above = spec.maximum.is_some_and(|m| x > m);
                if below || above {
                    let range = match (spec.minimum, spec.maximum) {
                        (Some(a), Some(b)) => format!("from {a} to {b}"),
                        (Some(a), None) => format!("at least {a}"),
                        (None, Some(b)) => format!("at most {b}"),
                        (None, None) => unreachable!("a bound was crossed"),
                    };
                    problems.push(problem(
                        format!("option `{k}` is {x}, outside its range"),
                        Some(format!("it must be {range}: {}", spec.description)),
                    ));
                    continue;
                }
            }
            // A value equal to the plugin's own default (`""`: "not set") is taken as
            // the default, not as a reference.
            let is_default = spec.default.as_ref() == Some(v);
            if let Some(study) = study.filter(|_| !is_default) {
                if let Some(p) = reference_problem(spec.kind, v, study) {
                    problems.push(problem(format!("option `{k}`: {}", p.0), Some(p.1)));
                }
            }
        }
        let mut resolved = given;
        for (k, spec) in &self.description.options {
            if !resolved.contains_key(k) {
                match &spec.default {
                    Some(d) => {
                        resolved.insert(k.clone(), d.clone());
                    }
                    None if spec.required => problems.push(OptionProblem {
                        option: None,
                        message: format!("option `{k}` is required"),
                        help: Some(format!("{}: {}", spec.kind.in_words(), spec.description)),
                    }),
                    None => {}
                }
            }
        }
        if problems.is_empty() {
            Ok(resolved)
        } else {
            Err(fail(problems))
        }
    }

    /// Runs the analysis for one wave, in process or in a worker process as
    /// `isolation` says. `statistics` is the statistics table; `rows` the
    /// respondent rows, passed on only if the plugin asked for them. Every failure
    /// (an error, a panic, a crash or hang of an isolated plugin, a malformed
    /// result) comes back as this analysis's [`PluginError`].
    pub fn run(
        &self,
        request: &Request,
        statistics: (SchemaRef, Vec<RecordBatch>),
        rows: Option<Box<dyn RecordBatchReader + Send>>,
        isolation: &Isolation,
    ) -> Result<csi_blocks::Report, PluginError> {
        let (schema, batches) = statistics;
        let stats = Box::new(RecordBatchIterator::new(batches.into_iter().map(Ok), schema));
        self.run_streams(request, stats, rows, isolation)
    }

    /// [`Plugin::run`] with the statistics as a stream: the plugin reads it when
    /// it asks for it, so the stream may wait for statistics still being computed
    /// (while the plugin reads its rows first).
    pub fn run_streams(
        &self,
        request: &Request,
        statistics: Box<dyn RecordBatchReader + Send>,
        rows: Option<Box<dyn RecordBatchReader + Send>>,
        isolation: &Isolation,
    ) -> Result<csi_blocks::Report, PluginError> {
        let json = serde_json::to_vec(request).expect("requests serialise");
        let stats = self.description.inputs.statistics().then_some(statistics);
        let rows = rows.filter(|_| self.description.inputs.rows());
        let (status, bytes) = match isolation {
            Isolation::InProcess => self.call(self.run_entry()?, &json, stats, rows),
            Isolation::Process { worker, timeout } => self.run_in_worker(json, stats, rows, worker, *timeout)?,
        };
        let text = || String::from_utf8_lossy(&bytes).into_owned();
        match status {
            STATUS_OK => Report::from_json(&bytes).map_err(|e| PluginError::MalformedResult {
                plugin: self.name.clone(),
                message: e.to_string(),
            }),
            STATUS_PANIC => Err(PluginError::Panicked {
                plugin: self.name.clone(),
                message: text(),
            }),
            _ => Err(PluginError::Failed {
                plugin: self.name.clone(),
                message: text(),
            }),
        }
    }

    /// Calls the plugin's `run` in this process: exports the inputs as Arrow C
    /// streams, and returns the status and the bytes of the plugin's answer (its
    /// buffer released exactly once).
    pub(crate) fn call(
        &self,
        run: RunFn,
        request: &[u8],
        statistics: Option<Box<dyn RecordBatchReader + Send>>,
        rows: Option<Box<dyn RecordBatchReader + Send>>,
    ) -> (i32, Vec<u8>) {
        let export = |r: Box<dyn RecordBatchReader + Send>| Box::into_raw(Box::new(FFI_ArrowArrayStream::new(r)));
        let stats = statistics.map(export);
        let rows = rows.map(export);
        let mut out = CsiBytes::empty();
        // SAFETY: pointers are valid for the call; the plugin takes ownership of the
        // streams' contents (moving them out and releasing them), leaving released
        // husks that we free below.
        let status = unsafe {
            run(
                request.as_ptr(),
                request.len(),
                stats.map_or(std::ptr::null_mut(), |p| p as *mut ArrowArrayStream),
                rows.map_or(std::ptr::null_mut(), |p| p as *mut ArrowArrayStream),
                &mut out,
            )
        };
        for p in [stats, rows].into_iter().flatten() {
            // SAFETY: allocated above with Box::into_raw; dropping the husk calls its
            // release callback only if the plugin did not (FFI_ArrowArrayStream's Drop).
            drop(unsafe { Box::from_raw(p) });
        }
        (status, take(out))
    }
}

/// The plugins found, and the libraries refused with the reason.
#[derive(Debug, Default)]
pub struct Registry {
    /// Loaded plugins, by discovery order.
    pub plugins: Vec<Plugin>,
    /// Libraries that are not usable plugins, with why.
    pub refused: Vec<PluginError>,
}

/// The file name cargo gives the `cdylib` of library `lib_name` on this platform
/// (`libcsi_plugin_gap.so`, `csi_plugin_gap.dll`).
pub fn library_file_name(lib_name: &str) -> String {
    format!(
        "{}{lib_name}{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    )
}

/// For tests and tools run by cargo: the `cdylib` of `lib_name` built for the
/// current profile, looked up next to the running executable (`target/<profile>/deps`
/// for test binaries) and in its parent folder (`target/<profile>`).
pub fn built_library(lib_name: &str) -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let dir = exe.parent()?;
    let name = library_file_name(lib_name);
    [Some(dir.join(&name)), dir.parent().map(|p| p.join(&name))]
        .into_iter()
        .flatten()
        .find(|p| p.is_file())
}

/// Whether `path` looks like a shared library on this platform.
pub fn is_library(path: &Path) -> bool {
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    matches!(ext, "so" | "dylib" | "dll")
}

/// Whether the file name marks a library built from csi's own plugin crates
/// (`libcsi_plugin_*.so`, `csi_plugin_*.dll`).
pub fn is_bundled_name(path: &Path) -> bool {
    let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
    stem.strip_prefix("lib").unwrap_or(stem).starts_with("csi_plugin_")
}

/// How long a worker may take to load and describe one library.
pub const DESCRIBE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

impl Registry {
    /// Finds every plugin library in `dirs`, each with its origin. Plugins that
    /// ship with csi ([`Origin::Bundled`]) are loaded and described in this process;
    /// every other library by `worker` (see the module documentation), within
    /// [`DESCRIBE_TIMEOUT`]. The first plugin of a name wins; later ones of the same
    /// name are refused with a note.
    pub fn discover(dirs: &[(PathBuf, Origin)], worker: &Worker) -> Registry {
        Self::discover_within(dirs, worker, DESCRIBE_TIMEOUT)
    }

    /// [`Registry::discover`] with another time limit per library.
    pub fn discover_within(dirs: &[(PathBuf, Origin)], worker: &Worker, timeout: std::time::Duration) -> Registry {
        let mut reg = Registry::default();
        for (dir, origin) in dirs {
            if !dir.is_dir() {
                continue;
            }
            // Next to the csi executable only libraries named `csi_plugin_*` are
            // candidates (build folders hold many other libraries, which must not be
            // loaded); configured plugin folders are searched two levels deep.
            let bundled = *origin == Origin::Bundled;
            let mut libs: Vec<PathBuf> = walkdir::WalkDir::new(dir)
                .max_depth(if bundled { 1 } else { 2 })
                .sort_by_file_name()
                .into_iter()
                .filter_map(Result::ok)
                .map(|e| e.into_path())
                .filter(|p| p.is_file() && is_library(p) && (!bundled || is_bundled_name(p)))
                .collect();
            libs.dedup();
            let home = dir.canonicalize().unwrap_or_else(|_| dir.clone());
            for path in libs {
                let found = match origin {
                    Origin::Bundled => load(&path, *origin),
                    Origin::Study => match path.canonicalize() {
                        Ok(real) if !real.starts_with(&home) => Err(PluginError::Outside {
                            path: path.clone(),
                            target: real,
                        }),
                        _ => isolate::describe_in_worker(&path, worker, timeout, *origin),
                    },
                    Origin::External => isolate::describe_in_worker(&path, worker, timeout, *origin),
                };
                match found {
                    Ok(p) => {
                        if let Some(first) = reg.plugins.iter().find(|q| q.name == p.name) {
                            if first.path.canonicalize().ok() != p.path.canonicalize().ok() {
                                reg.refused.push(PluginError::Duplicate {
                                    path: p.path.clone(),
                                    name: p.name.clone(),
                                    first: first.path.clone(),
                                });
                            }
                        } else {
                            reg.plugins.push(p);
                        }
                    }
                    Err(e) => reg.refused.push(e),
                }
            }
        }
        reg
    }

    /// The plugin called `name`.
    pub fn get(&self, name: &str) -> Option<&Plugin> {
        self.plugins.iter().find(|p| p.name == name)
    }
}
