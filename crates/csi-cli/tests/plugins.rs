//! Plugins end to end through `csi build`: a third-party plugin dropped into the
//! study's `plugins/` folder is found, runs isolated by default, receives the
//! wave's respondent rows, and every way it can fail (error, panic, abort, hang,
//! unknown options) fails only that analysis — the build succeeds, each failure is
//! in the build log and on its analysis page, and the other analyses publish.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The test plugin's library, built by cargo as a dev-dependency next to this test.
fn faulty_library() -> PathBuf {
    let name = format!(
        "{}faulty_test_plugin{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    );
    std::env::current_exe().unwrap().parent().unwrap().join(name)
}

fn study_with_plugin(dir: &Path) -> PathBuf {
    let study = dir.join("study");
    std::fs::create_dir_all(study.join("plugins")).unwrap();
    for f in ["study.yaml", "data.csv"] {
        std::fs::copy(root().join("tests/fixtures/mini").join(f), study.join(f)).unwrap();
    }
    std::fs::copy(faulty_library(), study.join("plugins/libfaulty.so")).unwrap();
    let mut yaml = std::fs::read_to_string(study.join("study.yaml")).unwrap();
    assert!(
        !yaml.contains("\nanalyses:"),
        "the fixture gained analyses; merge them here"
    );
    yaml.push_str(
        "
analyses:
  - {id: fine, plugin: faulty, options: {mode: ok}}
  - {id: echo, plugin: faulty, options: {mode: echo}}
  - {id: refuses, plugin: faulty, options: {mode: error}}
  - {id: panics, plugin: faulty, options: {mode: panic}}
  - {id: panics-inside, plugin: faulty, isolation: in_process, options: {mode: panic}}
  - {id: aborts, plugin: faulty, options: {mode: abort}}
  - {id: hangs, plugin: faulty, timeout: 2, options: {mode: hang}}
  - {id: typo, plugin: faulty, options: {mdoe: ok}}
",
    );
    std::fs::write(study.join("study.yaml"), yaml).unwrap();
    study
}

#[test]
fn a_dropped_in_plugin_runs_and_its_failures_stay_contained() {
    let work = tempfile::tempdir().unwrap();
    let study = study_with_plugin(work.path());
    let site = work.path().join("site");
    let out = Command::new(env!("CARGO_BIN_EXE_csi"))
        .arg("build")
        .arg(&study)
        .arg("--out")
        .arg(&site)
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "{log}");

    let page = |id: &str| std::fs::read_to_string(site.join("mini/2024").join(format!("{id}.html"))).unwrap();
    assert!(page("fine").contains("fine"));
    for (id, says) in [
        ("refuses", "the faulty plugin refuses on purpose"),
        ("panics", "panics on purpose"),
        ("panics-inside", "panics on purpose"),
        ("aborts", "SIGABRT"),
        ("hangs", "did not finish within 2 s"),
        ("typo", "unknown option `mdoe`; did you mean `mode`?"),
    ] {
        assert!(page(id).contains("analysis-error"), "{id}");
        assert!(page(id).contains(says), "{id}: {}", page(id));
        assert!(
            log.lines()
                .any(|l| l.contains(&format!("analysis `{id}`")) && l.contains(says)),
            "{id} in the log: {log}"
        );
    }

    // The plugin saw every respondent row of the wave, with the study's columns.
    let rows = std::fs::read_to_string(study.join("data.csv")).unwrap().lines().count() - 1;
    let echo = page("echo");
    assert!(echo.contains(&format!("q1 {rows} ")), "{echo}");
    assert!(echo.contains(&format!("w {rows} 0 ")), "weights have no nulls: {echo}");

    // `csi plugins` lists it with its ABI and how it runs.
    let listed = Command::new(env!("CARGO_BIN_EXE_csi"))
        .args(["plugins", "--plugins"])
        .arg(study.join("plugins"))
        .output()
        .unwrap();
    let listed = String::from_utf8_lossy(&listed.stdout);
    assert!(listed.contains("faulty") && listed.contains("ABI 1.1"), "{listed}");
    assert!(listed.contains("third-party; runs isolated"), "{listed}");
}
