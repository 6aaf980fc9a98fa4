//! The kernel against goldens written by `tests/goldens/make_goldens.py`
//! (statsmodels WLS with HC1 standard errors) for `tests/fixtures/stats/weighted.csv`.

use csi_stats::{Confidence, WeightedMoments};
use std::path::PathBuf;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn close(what: &str, got: f64, want: f64) {
    let rel = (got - want).abs() / want.abs().max(1e-300);
    assert!(rel <= 1e-8, "{what}: got {got}, golden {want} (relative error {rel:e})");
}

#[test]
fn weighted_moments_match_statsmodels_hc1() {
    let text = std::fs::read_to_string(root().join("tests/fixtures/stats/weighted.csv")).unwrap();
    let golden: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root().join("tests/goldens/weighted_moments.json")).unwrap())
            .unwrap();
    let factor = golden["scale_factor"].as_f64().unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    let wi = header.iter().position(|h| *h == "w").unwrap();
    let conf = Confidence::new(golden["confidence"].as_f64().unwrap()).unwrap();
    let mut checked = 0;
    for (ci, name) in header.iter().enumerate().filter(|(i, _)| *i != wi) {
        for (suffix, scale) in [("", 1.0), ("_scaled", factor)] {
            let mut m = WeightedMoments::new(50.0);
            for r in &rows {
                if !r[ci].is_empty() {
                    m.add(r[ci].parse().unwrap(), r[wi].parse::<f64>().unwrap() * scale);
                }
            }
            let g = &golden["variables"][format!("{name}{suffix}")];
            let e = m.estimate(conf);
            assert_eq!(e.n, g["n"].as_u64().unwrap(), "{name}{suffix} n");
            close("sum_w", e.sum_w, g["sum_w"].as_f64().unwrap());
            close("mean", e.mean.unwrap(), g["mean"].as_f64().unwrap());
            close("se", e.se.unwrap(), g["se"].as_f64().unwrap());
            close("ci_low", e.ci_low.unwrap(), g["ci_low"].as_f64().unwrap());
            close("ci_high", e.ci_high.unwrap(), g["ci_high"].as_f64().unwrap());
            close("effective_n", e.effective_n, g["effective_n"].as_f64().unwrap());
            checked += 1;
        }
    }
    assert_eq!(checked, 6);
}
