//! Shared by the tests that build the example study with its analyses.

/// A folder holding the libraries of the six standard plugins, for `--plugins`.
///
/// `cargo test` alone does not put plugin libraries next to the `csi` binary (only
/// `cargo build` does), but it builds them as dev-dependencies of this crate; they
/// are copied from there, so the tests work on a fresh clone with the README's test
/// command alone.
pub fn standard_plugins() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for name in ["gap", "driver", "segment", "trend", "topbox", "netscore"] {
        let lib = csi_plugin_host::built_library(&format!("csi_plugin_{name}"))
            .unwrap_or_else(|| panic!("plugin {name} not built as a dev-dependency"));
        std::fs::copy(&lib, dir.path().join(lib.file_name().unwrap())).unwrap();
    }
    dir
}
