//! The committed data of the showcase study are exactly what the generator writes:
//! regenerating them into a temporary folder gives the same bytes.

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn telecom_data_are_reproducible() {
    let root = repo_root();
    let study = root.join("reports/telecom/study.yaml");
    let tmp = tempfile::tempdir().expect("temporary folder");
    let status = Command::new(env!("CARGO_BIN_EXE_csi-synth"))
        .arg(&study)
        .arg("--out")
        .arg(tmp.path())
        .status()
        .expect("run csi-synth");
    assert!(status.success(), "csi-synth failed");

    for year in ["2000", "2001", "2002"] {
        let rel = format!("data/wave-{year}.csv");
        let committed = std::fs::read(root.join("reports/telecom").join(&rel)).expect("committed data file");
        let fresh = std::fs::read(tmp.path().join(&rel)).expect("regenerated data file");
        assert!(
            committed == fresh,
            "{rel} differs from what csi-synth writes now; if the change is intended, \
             regenerate with `cargo run -p csi-synth -- reports/telecom/study.yaml` \
             and update the narrative if the patterns moved"
        );
    }
}

#[test]
fn the_study_names_every_generated_column() {
    // Every column the study reads is in the file, and nothing else is.
    let root = repo_root();
    let study = csi_study_columns(&root.join("reports/telecom/study.yaml"));
    let text = std::fs::read_to_string(root.join("reports/telecom/data/wave-2000.csv")).expect("data file");
    let header: Vec<&str> = text.lines().next().expect("header").split(',').collect();
    let mut expected = study;
    expected.sort();
    let mut got: Vec<String> = header.iter().map(|s| s.to_string()).collect();
    got.sort();
    assert_eq!(expected, got);
    assert!(!text.contains('\r'), "line ends must be \\n");
    assert!(text.ends_with('\n'));
}

/// The columns of the study's first wave, read through `csi_study::load`.
fn csi_study_columns(path: &Path) -> Vec<String> {
    let study = csi_study::load(path).unwrap_or_else(|e| {
        let diags: Vec<String> = e.diagnostics().iter().map(ToString::to_string).collect();
        panic!("{e}\n{}", diags.join(""))
    });
    assert_eq!(study.tree.len(), 8, "8 first-level categories");
    assert_eq!(study.indicators().len(), 40, "40 indicators");
    assert!(
        study
            .tree
            .iter()
            .all(|c| c.children.iter().all(|s| s.children.iter().all(|i| i.is_indicator()))),
        "three levels"
    );
    study
        .columns_for(&study.waves[0])
        .iter()
        .map(|c| c.name.clone())
        .collect()
}

#[test]
fn bootstraps_a_study_without_data() {
    // A fresh study folder with no data files yet: the study only validates once
    // its data exist, so the generator must bootstrap them.
    let root = repo_root().join("reports/telecom");
    let tmp = tempfile::tempdir().expect("temporary folder");
    std::fs::copy(root.join("study.yaml"), tmp.path().join("study.yaml")).expect("copy study");
    std::fs::create_dir(tmp.path().join("narrative")).expect("narrative folder");
    for f in ["summary.md", "2000.md", "2001.md", "2002.md"] {
        std::fs::copy(root.join("narrative").join(f), tmp.path().join("narrative").join(f)).expect("copy narrative");
    }
    let status = Command::new(env!("CARGO_BIN_EXE_csi-synth"))
        .arg(tmp.path().join("study.yaml"))
        .status()
        .expect("run csi-synth");
    assert!(status.success(), "csi-synth failed");
    let committed = std::fs::read(root.join("data/wave-2001.csv")).expect("committed data file");
    let fresh = std::fs::read(tmp.path().join("data/wave-2001.csv")).expect("generated data file");
    assert!(
        committed == fresh,
        "in-place generation differs from the committed file"
    );
}
