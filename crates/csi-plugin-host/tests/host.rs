//! The host against real libraries: the example Rust plugin built by the workspace
//! (`plugins/topbox`), loaded dynamically and run on the mini study; option checks;
//! refusal of a library that is not a plugin; and the C header compared with the
//! Rust definitions by compiling a probe with the system C compiler.

use std::path::{Path, PathBuf};
use std::process::Command;

use csi_blocks::wire::{Request, PROTOCOL_VERSION};
use csi_blocks::Block;
use csi_plugin_host::{load, Origin, PluginError, Registry};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `target/<profile>`: the test binary lives in `target/<profile>/deps`.
fn profile_dir() -> PathBuf {
    std::env::current_exe()
        .unwrap()
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .to_path_buf()
}

fn topbox() -> PathBuf {
    let name = format!(
        "{}csi_plugin_topbox{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    );
    let path = profile_dir().join(name);
    if !path.exists() {
        let status = Command::new(env!("CARGO"))
            .args(["build", "-p", "csi-plugin-topbox"])
            .status()
            .unwrap();
        assert!(status.success());
    }
    path
}

#[test]
fn rust_plugin_loads_describes_and_runs() {
    let plugin = load(&topbox(), Origin::External).unwrap();
    assert_eq!(plugin.name, "topbox");
    assert_eq!(plugin.abi, (1, 0));
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
    assert!(err.to_string().contains("must be of type Number"), "{err}");

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
    let report = plugin.run(&request, stats.clone(), None).unwrap();
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

    // A plugin error (here: a cell with no data) fails the analysis with its message.
    let mut bad = request.clone();
    bad.options.insert("cell".into(), "nobody=1".into());
    let err = plugin.run(&bad, stats, None).unwrap_err();
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
    // Discovery next to an executable ignores libraries not named csi_plugin_*.
    let reg = Registry::discover(&[(profile_dir(), Origin::Bundled)]);
    assert!(reg.get("topbox").is_some() || !topbox().exists());
    assert!(reg.refused.is_empty(), "{:?}", reg.refused);
}

#[test]
fn c_header_matches_the_rust_definitions() {
    let Some(cc) = ["cc", "gcc", "clang"]
        .into_iter()
        .find(|c| Command::new(c).arg("--version").output().is_ok())
    else {
        panic!("no C compiler found");
    };
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
