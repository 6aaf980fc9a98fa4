//! A declared population size: every standard error carries the finite population
//! correction sqrt(1 − n/N), n the wave's sample size (the design samplics and R
//! survey use with `fpc`; the kernel itself is golden-tested in csi-stats), and a
//! population smaller than the sample is refused.

use std::path::PathBuf;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The mini study with `settings.population` set (or not), in a temporary folder.
fn mini(population: Option<&str>) -> (tempfile::TempDir, csi_study::Study) {
    let dir = tempfile::tempdir().unwrap();
    let fixture = root().join("tests/fixtures/mini");
    std::fs::copy(fixture.join("data.csv"), dir.path().join("data.csv")).unwrap();
    let mut yaml = std::fs::read_to_string(fixture.join("study.yaml")).unwrap();
    if let Some(n) = population {
        yaml.push_str(&format!("settings:\n  population: {n}\n"));
    }
    std::fs::write(dir.path().join("study.yaml"), yaml).unwrap();
    let study = csi_study::load(&dir.path().join("study.yaml")).unwrap();
    (dir, study)
}

#[test]
fn standard_errors_carry_the_finite_population_correction() {
    let (_d, plain) = mini(None);
    let (_e, finite) = mini(Some("1000"));
    let a = csi_engine::compute_wave(&plain, &plain.waves[0]).unwrap();
    let b = csi_engine::compute_wave(&finite, &finite.waves[0]).unwrap();
    let n = b.design.n as f64;
    assert_eq!(b.design.population, Some(1000.0));
    let fpc = (1.0 - n / 1000.0).sqrt();
    assert!(fpc < 0.9, "the sample is a noticeable share of the population");
    let mut checked = 0;
    for (sa, sb) in a.series.iter().zip(&b.series) {
        for (va, vb) in sa.values.iter().zip(&sb.values) {
            assert_eq!(va.score.mean, vb.score.mean);
            if let (Some(x), Some(y)) = (va.score.se, vb.score.se) {
                assert!((y - x * fpc).abs() <= 1e-12 * x, "{}: {y} vs {x} × {fpc}", sa.node.id);
                checked += 1;
            }
        }
    }
    assert!(checked > 50);
}

#[test]
fn a_population_smaller_than_the_sample_is_refused() {
    let (_d, study) = mini(Some("100"));
    let err = csi_engine::compute_wave(&study, &study.waves[0])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("settings.population") && err.contains("fewer than"),
        "{err}"
    );
}
