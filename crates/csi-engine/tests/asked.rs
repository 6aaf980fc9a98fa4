//! A question asked only in some waves: in the others its column is not needed,
//! its figures are empty (n = 0, no mean), and its parent combines the children
//! that were asked.

use std::path::PathBuf;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn an_indicator_dropped_in_a_wave_is_skipped_there_and_its_parent_renormalises() {
    let dir = tempfile::tempdir().unwrap();
    let yaml = std::fs::read_to_string(root().join("tests/fixtures/mini/study.yaml")).unwrap();
    let yaml = yaml
        .replacen(
            "waves:\n  - id: 2024\n    data: data.csv\n    weight: w\n",
            "waves:\n  - id: 2024\n    data: data.csv\n    weight: w\n  - id: 2025\n    data: later.csv\n    weight: w\n",
            1,
        )
        .replacen("        column: q2\n", "        column: q2\n        waves: [2024]\n", 1);
    assert!(
        yaml.contains("later.csv") && yaml.contains("waves: [2024]"),
        "the fixture changed"
    );
    std::fs::write(dir.path().join("study.yaml"), yaml).unwrap();
    let data = std::fs::read_to_string(root().join("tests/fixtures/mini/data.csv")).unwrap();
    std::fs::write(dir.path().join("data.csv"), &data).unwrap();
    // The later wave's file has no q2 column at all.
    let without_q2: String = data
        .lines()
        .map(|l| {
            let mut cells: Vec<&str> = l.split(',').collect();
            cells.remove(6);
            cells.join(",") + "\n"
        })
        .collect();
    assert!(without_q2.starts_with("rid,w,ctype,joined,q0,q1,q3,"));
    std::fs::write(dir.path().join("later.csv"), without_q2).unwrap();

    let study = csi_study::load(&dir.path().join("study.yaml")).unwrap();
    assert!(csi_engine::check_columns(&study).unwrap().is_empty());
    let first = csi_engine::compute_wave(&study, &study.waves[0]).unwrap();
    let later = csi_engine::compute_wave(&study, &study.waves[1]).unwrap();
    let score = |r: &csi_engine::WaveResult, id: &str| r.series(id).unwrap().values[0].score;
    assert!(score(&first, "quality").n > 0);
    assert_eq!(score(&later, "quality").n, 0);
    assert_eq!(score(&later, "quality").mean, None);
    // Network = coverage alone in the later wave; coverage itself is unchanged.
    assert_eq!(score(&later, "coverage"), score(&first, "coverage"));
    let (net, cov) = (score(&later, "network"), score(&later, "coverage"));
    assert_eq!(net.n, cov.n);
    assert!((net.mean.unwrap() - cov.mean.unwrap()).abs() < 1e-9);
    assert_ne!(score(&first, "network").mean, net.mean);
    // Rows for plugins do not describe the question in the later wave.
    assert!(csi_engine::rows_schema(&study, &study.waves[1])
        .field_with_name("q2")
        .is_err());
}

#[test]
fn naming_an_unknown_wave_is_an_error_with_a_suggestion() {
    let dir = tempfile::tempdir().unwrap();
    let yaml = std::fs::read_to_string(root().join("tests/fixtures/mini/study.yaml")).unwrap();
    let yaml = yaml.replacen("        column: q2\n", "        column: q2\n        waves: [2042]\n", 1);
    std::fs::write(dir.path().join("study.yaml"), yaml).unwrap();
    std::fs::copy(root().join("tests/fixtures/mini/data.csv"), dir.path().join("data.csv")).unwrap();
    let csi_study::StudyError::Invalid(diags) = csi_study::load(&dir.path().join("study.yaml")).unwrap_err() else {
        panic!("not a validation error")
    };
    let err: String = diags.iter().map(|d| d.to_string()).collect();
    assert!(err.contains("wave `2042` is not one of the study's waves"), "{err}");
    assert!(err.contains("did you mean `2024`?"), "{err}");
}
