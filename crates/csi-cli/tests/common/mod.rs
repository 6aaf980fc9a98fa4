//! Helpers shared by the integration tests of the `csi` binary.
// Each test file uses a different subset of these.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// The `csi` binary under test, keeping the sums of the waves it computes in a
/// folder of the test build (not the user's cache), so that tests neither read
/// nor leave kept sums elsewhere.
pub fn csi() -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_csi"));
    command.env(
        "CSI_CACHE_DIR",
        Path::new(env!("CARGO_TARGET_TMPDIR")).join("kept-sums"),
    );
    command
}

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A folder holding the libraries of the standard plugins, for `--plugins`.
///
/// `cargo test` alone does not put plugin libraries next to the `csi` binary (only
/// `cargo build` does), but it builds them as dev-dependencies of this crate; they
/// are copied from there, so the tests work on a fresh clone with the README's test
/// command alone.
pub fn standard_plugins() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for name in ["gap", "driver", "segment", "trend", "topbox", "netscore", "structural"] {
        let lib = csi_plugin_host::built_library(&format!("csi_plugin_{name}"))
            .unwrap_or_else(|| panic!("plugin {name} not built as a dev-dependency"));
        std::fs::copy(&lib, dir.path().join(lib.file_name().unwrap())).unwrap();
    }
    dir
}

/// The case folders of the corpus `tests/<name>/`, sorted.
pub fn corpus(name: &str) -> Vec<PathBuf> {
    let dir = root().join("tests").join(name);
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    cases
}

/// Every file under `dir`, sorted.
pub fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(files(&p));
        } else {
            out.push(p);
        }
    }
    out.sort();
    out
}

/// Every file under `dir` with its bytes, by relative path, sorted.
pub fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    files(dir)
        .into_iter()
        .map(|p| (p.strip_prefix(dir).unwrap().to_path_buf(), std::fs::read(&p).unwrap()))
        .collect()
}

/// Copies the folder `from` to `to`, recursively.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}
