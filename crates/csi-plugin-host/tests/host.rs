//! The host against real libraries: the example Rust plugin (`plugins/topbox`),
//! loaded dynamically and run on the mini study; option checks; refusal of a
//! library that is not a plugin; the C header compared with the Rust definitions
//! by compiling a probe with the system C compiler; and C fake plugins compiled
//! here to prove every refusal, the minor-version policy and that every buffer is
//! released exactly once.
#![allow(unsafe_code)] // calling the fake plugin's counters

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, RecordBatch, RecordBatchIterator, RecordBatchReader};
use arrow_schema::ArrowError;

use csi_blocks::wire::{Request, PROTOCOL_VERSION};
use csi_blocks::Block;
use csi_plugin_host::{load, Isolation, Origin, PluginError, Registry, Worker};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The example plugin's library: a dev-dependency, so cargo has built its cdylib
/// next to this test binary.
fn topbox() -> PathBuf {
    csi_plugin_host::built_library("csi_plugin_topbox").expect("built as a dev-dependency")
}

fn c_compiler() -> &'static str {
    ["cc", "gcc", "clang"]
        .into_iter()
        .find(|c| Command::new(c).arg("--version").output().is_ok())
        .expect("no C compiler found")
}

/// Compiles `tests/c/fake.c` with `flags` into a shared library in `dir`.
fn fake(dir: &Path, name: &str, flags: &[&str]) -> PathBuf {
    let lib = dir.join(format!("lib{name}.so"));
    let out = Command::new(c_compiler())
        .args(["-std=c99", "-Wall", "-Wextra", "-Werror", "-shared", "-fPIC", "-o"])
        .arg(&lib)
        .arg("-I")
        .arg(root().join("crates/csi-plugin-api/include"))
        .args(flags)
        .arg(root().join("crates/csi-plugin-host/tests/c/fake.c"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    lib
}

/// The worker process that describes third-party libraries.
fn worker() -> Worker {
    Worker {
        program: PathBuf::from(env!("CARGO_BIN_EXE_csi-plugin-worker")),
        args: vec![],
    }
}

/// Calls a counter the fake plugin exports.
fn counter(lib: &Path, name: &str) -> i32 {
    // SAFETY: the fake plugin exports `int name(void)`; loading it again returns
    // the library the host already loaded, so the counters are the same.
    unsafe {
        let l = libloading::Library::new(lib).unwrap();
        let f: libloading::Symbol<unsafe extern "C" fn() -> i32> = l.get(name.as_bytes()).unwrap();
        let v = f();
        std::mem::forget(l);
        v
    }
}

fn mini_request() -> (Request, (arrow_schema::SchemaRef, Vec<arrow_array::RecordBatch>)) {
    let study = csi_study::load(&root().join("tests/fixtures/mini/study.yaml")).unwrap();
    let result = csi_engine::compute_wave(&study, &study.waves[0]).unwrap();
    let request = Request {
        protocol: PROTOCOL_VERSION,
        analysis: "x".into(),
        wave: result.wave.clone(),
        study: csi_engine::study_context(&study),
        options: Default::default(),
    };
    (
        request,
        (
            csi_engine::statistics_schema(),
            vec![csi_engine::statistics_batch(&result)],
        ),
    )
}

#[test]
fn c_descriptors_are_checked_before_use() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();

    // Unknown major: refused before any other field is read, naming both versions.
    let err = load(&fake(d, "major2", &["-DMAJOR=2", "-DMINOR=3"]), Origin::External).unwrap_err();
    assert!(matches!(err, PluginError::AbiMismatch { plugin_major: 2, .. }), "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains("libmajor2.so") && msg.contains("ABI 2.3") && msg.contains("(ABI 1.1)"),
        "{msg}"
    );

    // A descriptor smaller than ABI 1.0's.
    let err = load(&fake(d, "tiny", &["-DTINY"]), Origin::External).unwrap_err();
    assert!(matches!(err, PluginError::DescriptorTooSmall { size: 8, .. }), "{err}");

    // Only another major's entry symbol: named in the message.
    let err = load(&fake(d, "v2only", &["-DENTRY=csi_plugin_entry_v2"]), Origin::External).unwrap_err();
    assert!(
        matches!(err, PluginError::MissingSymbol { other: Some(2), .. }),
        "{err}"
    );
    assert!(err.to_string().contains("built for ABI 2"), "{err}");

    // An older minor (1.0, built against the old header: no `homepage`) loads.
    let old = load(&fake(d, "old", &["-DOLD_1_0", "-DMINOR=0"]), Origin::External).unwrap();
    assert_eq!((old.abi, old.homepage.as_deref()), ((1, 0), None));
    assert_eq!(old.version, "9.9.9");

    // The current minor reads the 1.1 field; a future minor's extra fields are ignored.
    let now = load(&fake(d, "now", &[]), Origin::External).unwrap();
    assert_eq!(now.homepage.as_deref(), Some("https://example.org/fake"));
    let future = load(&fake(d, "future", &["-DEXTRA", "-DMINOR=7"]), Origin::External).unwrap();
    assert_eq!(
        (future.abi, future.homepage.as_deref()),
        ((1, 7), Some("https://example.org/fake"))
    );
}

#[test]
fn c_results_are_checked_and_every_buffer_released_once() {
    let dir = tempfile::tempdir().unwrap();
    let (request, stats) = mini_request();
    for (name, flags) in [
        ("good", &["-DRESULT=0"][..]),
        ("malformed", &["-DRESULT=1"]),
        ("failing", &["-DRESULT=2", "-DKEEP_STREAMS"]),
    ] {
        let lib = fake(dir.path(), name, flags);
        let plugin = load(&lib, Origin::External).unwrap();
        let (drops, rows) = counted_rows();
        let result = plugin.run(&request, stats.clone(), Some(rows), &Isolation::InProcess);
        match name {
            "good" => assert_eq!(result.unwrap().title.as_deref(), Some("fake")),
            "malformed" => {
                let err = result.unwrap_err();
                assert!(matches!(err, PluginError::MalformedResult { .. }), "{err}");
            }
            _ => assert_eq!(
                result.unwrap_err().to_string(),
                "plugin `fake` failed: the fake plugin failed on purpose"
            ),
        }
        // describe + run: two buffers handed out, each released exactly once.
        assert_eq!(counter(&lib, "fake_handed_out"), 2, "{name}");
        assert_eq!(counter(&lib, "fake_released"), 2, "{name}");
        // The rows stream was released exactly once, by the plugin or (when it kept
        // it) by the host.
        assert_eq!(drops.load(Ordering::SeqCst), 1, "{name}");
    }
}

/// A one-batch rows reader that counts how often it is dropped (the Arrow stream's
/// release callback drops it).
fn counted_rows() -> (Arc<AtomicUsize>, Box<dyn RecordBatchReader + Send>) {
    struct Counted(
        RecordBatchIterator<std::vec::IntoIter<Result<RecordBatch, ArrowError>>>,
        Arc<AtomicUsize>,
    );
    impl Iterator for Counted {
        type Item = Result<RecordBatch, ArrowError>;
        fn next(&mut self) -> Option<Self::Item> {
            self.0.next()
        }
    }
    impl RecordBatchReader for Counted {
        fn schema(&self) -> arrow_schema::SchemaRef {
            self.0.schema()
        }
    }
    impl Drop for Counted {
        fn drop(&mut self) {
            self.1.fetch_add(1, Ordering::SeqCst);
        }
    }
    let batch =
        RecordBatch::try_from_iter([("q1", Arc::new(Float64Array::from(vec![Some(1.0), None])) as ArrayRef)]).unwrap();
    let drops = Arc::new(AtomicUsize::new(0));
    let inner = RecordBatchIterator::new(vec![Ok(batch.clone())].into_iter(), batch.schema());
    (drops.clone(), Box::new(Counted(inner, drops)))
}

#[test]
fn rust_plugin_loads_describes_and_runs() {
    let plugin = load(&topbox(), Origin::External).unwrap();
    assert_eq!(plugin.name, "topbox");
    assert_eq!(plugin.abi, (csi_plugin_api::ABI_MAJOR, csi_plugin_api::ABI_MINOR));
    assert_eq!(plugin.homepage.as_deref(), Some(env!("CARGO_PKG_REPOSITORY")));
    assert!(plugin.description.options.contains_key("limit"));

    // Options: defaults filled in, unknown names and wrong types refused.
    let opts = plugin.resolve_options("tb", &serde_json::json!({"limit": 3})).unwrap();
    assert_eq!(opts["cell"], "all");
    let err = plugin
        .resolve_options("tb", &serde_json::json!({"limt": 3}))
        .unwrap_err();
    assert!(
        err.to_string().contains("unknown option `limt`; did you mean `limit`?"),
        "{err}"
    );
    let err = plugin
        .resolve_options("tb", &serde_json::json!({"limit": "three"}))
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("option `limit` must be a whole number, not \"three\""),
        "{err}"
    );
    let err = plugin
        .resolve_options("tb", &serde_json::json!({"limit": -1}))
        .unwrap_err();
    assert!(err.to_string().contains("outside its range"), "{err}");
    // References to the study are checked against it.
    let mini = csi_study::load(&root().join("tests/fixtures/mini/study.yaml")).unwrap();
    let context = csi_engine::study_context(&mini);
    plugin
        .resolve_options_for("tb", &serde_json::json!({"cell": "type=2"}), &context)
        .unwrap();
    let err = plugin
        .resolve_options_for("tb", &serde_json::json!({"cell": "tpye=2"}), &context)
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("`tpye=2` is not a segment group of this study")
            && err.to_string().contains("did you mean `type=2`?"),
        "{err}"
    );

    let study = csi_study::load(&root().join("tests/fixtures/mini/study.yaml")).unwrap();
    let result = csi_engine::compute_wave(&study, &study.waves[0]).unwrap();
    let request = Request {
        protocol: PROTOCOL_VERSION,
        analysis: "tb".into(),
        wave: result.wave.clone(),
        study: csi_engine::study_context(&study),
        options: opts,
    };
    let stats = (
        csi_engine::statistics_schema(),
        vec![csi_engine::statistics_batch(&result)],
    );
    let report = plugin
        .run(&request, stats.clone(), None, &Isolation::InProcess)
        .unwrap();
    let Block::Table(table) = &report.blocks[1] else {
        panic!("{report:?}")
    };
    assert_eq!(table.rows.len(), 3, "limit 3");
    // The weakest top-box share among the indicators, as computed by the engine.
    let weakest = result
        .series
        .iter()
        .filter(|s| s.node.kind == csi_engine::NodeKind::Indicator)
        .filter_map(|s| s.values[0].top_box.and_then(|t| t.mean))
        .fold(f64::INFINITY, f64::min);
    assert_eq!(table.rows[0].cells[1], csi_blocks::Cell::Number(weakest));

    // With an earlier wave in the table (as csi passes it), only the requested
    // wave is reported.
    let mut earlier = result.clone();
    earlier.wave = "2023".into();
    let mut history = stats.clone();
    history.1.insert(0, csi_engine::statistics_batch(&earlier));
    let mut all = request.clone();
    all.options.insert("limit".into(), 0.into());
    let one = plugin.run(&all, stats.clone(), None, &Isolation::InProcess).unwrap();
    let two = plugin.run(&all, history, None, &Isolation::InProcess).unwrap();
    assert_eq!(one, two);

    // A plugin error (here: a cell with no data) fails the analysis with its message.
    let mut bad = request.clone();
    bad.options.insert("cell".into(), "nobody=1".into());
    let err = plugin.run(&bad, stats, None, &Isolation::InProcess).unwrap_err();
    assert!(
        matches!(err, PluginError::Failed { .. }) && err.to_string().contains("nobody=1"),
        "{err}"
    );
}

#[test]
fn libraries_that_are_not_plugins_are_refused_with_a_reason() {
    // Any shared library without the entry symbol, e.g. the C library itself.
    let libc = [
        "/lib/x86_64-linux-gnu/libm.so.6",
        "/usr/lib/x86_64-linux-gnu/libm.so.6",
        "/lib/aarch64-linux-gnu/libm.so.6",
    ]
    .iter()
    .map(Path::new)
    .find(|p| p.exists());
    if let Some(lib) = libc {
        let err = load(lib, Origin::External).unwrap_err();
        assert!(matches!(err, PluginError::MissingSymbol { other: None, .. }), "{err}");
        assert!(err.to_string().contains("no `csi_plugin_entry_v1` symbol"));
    }
    // Discovery next to an executable ignores libraries not named csi_plugin_*
    // (the deps folder holds proc-macro libraries and the faulty test plugin).
    let reg = Registry::discover(
        &[(topbox().parent().unwrap().to_path_buf(), Origin::Bundled)],
        &worker(),
    );
    assert!(reg.get("topbox").is_some());
    assert!(reg.get("faulty").is_none());
    assert!(reg.refused.is_empty(), "{:?}", reg.refused);
}

/// Third-party libraries are loaded and described in a worker process: one that
/// segfaults, aborts or hangs while being described, or aborts as soon as it is
/// loaded, is refused with the reason, and discovery goes on to the next library
/// (this test process would not survive any of them in process).
#[test]
fn libraries_that_crash_or_hang_while_described_are_refused_and_discovery_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fake(d, "a_segfault", &["-DDESCRIBE=1", "-DNAME=\"segv\""]);
    fake(d, "b_abort", &["-DDESCRIBE=2", "-DNAME=\"abrt\""]);
    fake(d, "c_hang", &["-DDESCRIBE=3", "-DNAME=\"hang\""]);
    fake(d, "d_load_abort", &["-DLOAD_ABORT", "-DNAME=\"ctor\""]);
    fake(d, "e_good", &["-DNAME=\"good\""]);
    fake(d, "g_forks", &["-DDESCRIBE=4", "-DNAME=\"forks\""]);
    std::fs::write(d.join("libf_garbage.so"), "not a library\n".repeat(300)).unwrap();
    let started = std::time::Instant::now();
    let reg = Registry::discover_within(
        &[(d.to_path_buf(), Origin::External)],
        &worker(),
        std::time::Duration::from_secs(5),
    );
    // The hang is stopped at 5 s, and the helper process a library leaves behind
    // (sleeping 120 s with the worker's pipes) does not hold discovery up.
    assert!(started.elapsed().as_secs() < 30, "the hang was not stopped");
    assert!(reg.get("forks").is_some(), "{:?}", reg.refused);
    let good = reg.get("good").unwrap_or_else(|| {
        panic!(
            "the good library after the crashing ones is not found: {:?}",
            reg.refused
        )
    });
    assert_eq!(good.origin, Origin::External);
    assert_eq!(good.version, "9.9.9");
    let refused: Vec<String> = reg.refused.iter().map(ToString::to_string).collect();
    let said = |file: &str, what: &str| {
        assert!(
            refused.iter().any(|r| r.contains(file) && r.contains(what)),
            "{file}: `{what}` not in {refused:#?}"
        )
    };
    said("liba_segfault.so", "SIGSEGV");
    said("libb_abort.so", "SIGABRT");
    said("libc_hang.so", "took longer than 5 s");
    said("libd_load_abort.so", "SIGABRT");
    // The loader's own reason (dlerror), not only "dlopen failed".
    said("libf_garbage.so", "invalid ELF header");
    assert_eq!(reg.refused.len(), 5, "{refused:#?}");

    // A described plugin runs in the worker, and in process only when asked.
    let (request, stats) = mini_request();
    let isolated = Isolation::Process {
        worker: worker(),
        timeout: std::time::Duration::from_secs(10),
    };
    let report = good.run(&request, stats.clone(), None, &isolated).unwrap();
    assert_eq!(report.title.as_deref(), Some("fake"));
    let report = good.run(&request, stats, None, &Isolation::InProcess).unwrap();
    assert_eq!(report.title.as_deref(), Some("fake"));
}

/// A library whose dependency is missing is refused with the loader's reason,
/// which names the missing file.
#[test]
fn a_library_that_cannot_be_loaded_reports_the_loaders_reason() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let dep = fake(d, "gone_dependency", &["-DNAME=\"dep\""]);
    let lib = d.join("libneeds_dep.so");
    let out = Command::new(c_compiler())
        .args(["-std=c99", "-shared", "-fPIC", "-o"])
        .arg(&lib)
        .arg("-I")
        .arg(root().join("crates/csi-plugin-api/include"))
        .arg(root().join("crates/csi-plugin-host/tests/c/fake.c"))
        .arg("-L")
        .arg(d)
        .arg("-Wl,--no-as-needed")
        .arg("-lgone_dependency")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    std::fs::remove_file(dep).unwrap();
    let err = load(&lib, Origin::External).unwrap_err();
    assert!(matches!(err, PluginError::Load { .. }), "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains("libgone_dependency.so") && msg.contains("No such file"),
        "{msg}"
    );
    let reg = Registry::discover(&[(d.to_path_buf(), Origin::External)], &worker());
    assert!(
        reg.refused[0].to_string().contains("libgone_dependency.so"),
        "{:?}",
        reg.refused
    );
}

#[test]
fn c_header_matches_the_rust_definitions() {
    let cc = c_compiler();
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("probe.c");
    let mut probe =
        String::from("#include <stdio.h>\n#include <stddef.h>\n#include \"csi_plugin.h\"\nint main(void) {\n");
    for (field, _) in csi_plugin_api::field_offsets() {
        probe.push_str(&format!(
            "  printf(\"{field} %zu\\n\", offsetof(CsiPluginV1, {field}));\n"
        ));
    }
    probe.push_str("  printf(\"size %zu\\n\", sizeof(CsiPluginV1));\n");
    probe.push_str("  printf(\"bytes %zu\\n\", sizeof(CsiBytes));\n");
    probe.push_str("  printf(\"major %d\\nminor %d\\nentry %s\\n\", CSI_PLUGIN_ABI_MAJOR, CSI_PLUGIN_ABI_MINOR, CSI_PLUGIN_ENTRY_SYMBOL);\n  return 0;\n}\n");
    std::fs::write(&src, probe).unwrap();
    let exe = dir.path().join("probe");
    let out = Command::new(cc)
        .arg("-I")
        .arg(root().join("crates/csi-plugin-api/include"))
        .arg(&src)
        .arg("-o")
        .arg(&exe)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let printed = String::from_utf8(Command::new(&exe).output().unwrap().stdout).unwrap();
    let mut expected: Vec<String> = csi_plugin_api::field_offsets()
        .iter()
        .map(|(f, o)| format!("{f} {o}"))
        .collect();
    expected.push(format!("size {}", std::mem::size_of::<csi_plugin_api::CsiPluginV1>()));
    expected.push(format!("bytes {}", std::mem::size_of::<csi_plugin_api::CsiBytes>()));
    expected.push(format!("major {}", csi_plugin_api::ABI_MAJOR));
    expected.push(format!("minor {}", csi_plugin_api::ABI_MINOR));
    expected.push(format!(
        "entry {}",
        std::str::from_utf8(&csi_plugin_api::ENTRY_SYMBOL[..csi_plugin_api::ENTRY_SYMBOL.len() - 1]).unwrap()
    ));
    assert_eq!(printed.lines().collect::<Vec<_>>(), expected);
}
