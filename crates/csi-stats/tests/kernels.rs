//! The difference test and Johnson's relative weights against independent
//! implementations (scipy's Welch t test, statsmodels WLS HC1, numpy eigh),
//! through the goldens written by tests/goldens/make_kernel_goldens.py.

use std::path::PathBuf;

use csi_stats::difference::{against, independent};
use csi_stats::multiple::Correction;
use csi_stats::relweights::{lmg, relative_weights, standardised_coefficients, RelativeWeightsError};
use csi_stats::{CoMoments, Confidence, WeightedMoments};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn close(what: &str, got: f64, want: f64) {
    let rel = (got - want).abs() / want.abs().max(1e-300);
    assert!(rel <= 1e-8, "{what}: got {got}, golden {want} (relative error {rel:e})");
}

fn rows(file: &str) -> Vec<Vec<String>> {
    std::fs::read_to_string(root().join("tests/fixtures/stats").join(file))
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect()
}

fn golden(file: &str) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(root().join("tests/goldens").join(file)).unwrap()).unwrap()
}

#[test]
fn welch_type_difference_matches_scipy_and_statsmodels() {
    let g = golden("difference.json");
    let conf = Confidence::new(g["confidence"].as_f64().unwrap()).unwrap();
    for (case, weighted) in [("unweighted", false), ("weighted", true)] {
        let (mut a, mut b) = (WeightedMoments::new(50.0), WeightedMoments::new(50.0));
        for r in rows("two_groups.csv") {
            let (x, w): (f64, f64) = (r[1].parse().unwrap(), r[2].parse().unwrap());
            let w = if weighted { w } else { 1.0 };
            if r[0] == "a" {
                a.add(x, w)
            } else {
                b.add(x, w)
            }
        }
        let d = independent(&a.estimate(conf), &b.estimate(conf), conf).unwrap();
        let one = against(&a.estimate(conf), 65.0, conf).unwrap();
        let want1 = &g[format!("against_65_{case}")];
        for (name, got) in [
            ("diff", one.diff),
            ("se", one.se),
            ("df", one.df),
            ("t", one.t),
            ("p", one.p),
            ("ci_low", one.ci_low),
            ("ci_high", one.ci_high),
        ] {
            close(&format!("{case} against 65 {name}"), got, want1[name].as_f64().unwrap());
        }
        let want = &g[case];
        for (name, got) in [
            ("diff", d.diff),
            ("se", d.se),
            ("df", d.df),
            ("t", d.t),
            ("p", d.p),
            ("ci_low", d.ci_low),
            ("ci_high", d.ci_high),
        ] {
            close(&format!("{case} {name}"), got, want[name].as_f64().unwrap());
        }
    }
    // Nothing to compare: no interval, no test.
    let empty = WeightedMoments::new(0.0).estimate(conf);
    assert!(independent(&empty, &empty, conf).is_none());
}

#[test]
fn relative_weights_match_numpy_and_sum_to_r_squared() {
    let g = golden("relweights.json");
    for (case, weighted) in [("unweighted", false), ("weighted", true)] {
        let data: Vec<Vec<f64>> = rows("drivers.csv")
            .iter()
            .map(|r| r.iter().map(|v| v.parse().unwrap()).collect())
            .collect();
        // Correlations from co-moments, as plugins get them from the statistics table.
        let corr = |i: usize, j: usize| {
            let mut c = CoMoments::new(0.0, 0.0);
            for r in &data {
                c.add(r[i], r[j], if weighted { r[5] } else { 1.0 });
            }
            let s = c.summary().unwrap();
            if i == j {
                1.0
            } else {
                s.correlation().unwrap()
            }
        };
        let r_xx: Vec<Vec<f64>> = (1..5).map(|i| (1..5).map(|j| corr(i, j)).collect()).collect();
        let r_xy: Vec<f64> = (1..5).map(|i| corr(i, 0)).collect();
        let rw = relative_weights(&r_xx, &r_xy).unwrap();
        let want = &g[case];
        // Unstandardised coefficients from the standardised ones and the spreads
        // the co-moments give: statsmodels WLS's slopes.
        let spread = |i: usize| {
            let mut c = CoMoments::new(0.0, 0.0);
            for r in &data {
                c.add(r[i], r[0], if weighted { r[5] } else { 1.0 });
            }
            let s = c.summary().unwrap();
            ((s.ss_x / s.sum_w).sqrt(), (s.ss_y / s.sum_w).sqrt())
        };
        let (betas, _) = csi_stats::relweights::standardised_coefficients(&r_xx, &r_xy).unwrap();
        let sd_x: Vec<f64> = (1..5).map(|i| spread(i).0).collect();
        let sd_y = spread(1).1;
        let b = csi_stats::relweights::unstandardised_coefficients(&betas, &sd_x, sd_y);
        for (k, b) in b.iter().enumerate() {
            close(
                &format!("{case} coefficient {k}"),
                b.unwrap(),
                want["coefficients"][k].as_f64().unwrap(),
            );
        }
        close(&format!("{case} R²"), rw.r_squared, want["r_squared"].as_f64().unwrap());
        for (k, w) in rw.weights.iter().enumerate() {
            close(&format!("{case} weight {k}"), *w, want["weights"][k].as_f64().unwrap());
        }
        let shares: f64 = rw.shares().iter().sum();
        assert!((shares - 1.0).abs() < 1e-12);
        let (betas, r2) = standardised_coefficients(&r_xx, &r_xy).unwrap();
        close(&format!("{case} R² (betas)"), r2, want["r_squared"].as_f64().unwrap());
        for (k, b) in betas.iter().enumerate() {
            close(&format!("{case} beta {k}"), *b, want["betas"][k].as_f64().unwrap());
        }
        let parts = lmg(&r_xx, &r_xy).unwrap();
        for (k, v) in parts.iter().enumerate() {
            close(&format!("{case} LMG {k}"), *v, want["lmg"][k].as_f64().unwrap());
        }
    }
}

#[test]
fn collinear_and_undefined_predictors_are_refused_clearly() {
    let same = vec![vec![1.0, 1.0], vec![1.0, 1.0]];
    assert!(matches!(
        relative_weights(&same, &[0.5, 0.5]),
        Err(RelativeWeightsError::Singular(_))
    ));
    let nan = vec![vec![1.0, f64::NAN], vec![f64::NAN, 1.0]];
    assert_eq!(
        relative_weights(&nan, &[0.5, 0.5]),
        Err(RelativeWeightsError::Undefined)
    );
    assert_eq!(relative_weights(&[vec![1.0]], &[0.5]), Err(RelativeWeightsError::Shape));
}

#[test]
fn p_value_adjustments_match_statsmodels() {
    let g = golden("multiple.json");
    let p: Vec<f64> = g["p"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
    for (name, c) in [
        ("bonferroni", Correction::Bonferroni),
        ("benjamini_hochberg", Correction::BenjaminiHochberg),
    ] {
        let got = c.adjust(&p);
        for (k, v) in got.iter().enumerate() {
            close(&format!("{name} {k}"), *v, g[name][k].as_f64().unwrap());
        }
    }
    assert_eq!(Correction::None.adjust(&p), p);
    assert_eq!(Correction::parse("fdr_bh"), Some(Correction::BenjaminiHochberg));
    // A missing test is neither adjusted nor counted.
    let with_gap = Correction::Bonferroni.adjust(&[0.01, f64::NAN, 0.02]);
    assert_eq!((with_gap[0], with_gap[2]), (0.02, 0.04));
    assert!(with_gap[1].is_nan());
}

#[test]
fn sample_sizes_match_statsmodels_and_scipy() {
    use csi_stats::sample_size::{
        margin_of_error, margin_of_error_with_deff, required_base, required_base_with_deff, Spread,
    };
    let g = golden("sample_size.json");
    let spread = |c: &serde_json::Value| match c.get("share") {
        Some(p) => Spread::Share(p.as_f64().unwrap()),
        None => Spread::Deviation(c["sd"].as_f64().unwrap()),
    };
    let margins = g["margins"].as_array().unwrap();
    assert!(margins.len() >= 100);
    let mut with_deff = 0;
    for c in margins {
        let conf = Confidence::new(c["confidence"].as_f64().unwrap()).unwrap();
        let (n, population) = (c["n"].as_f64().unwrap(), c["population"].as_f64());
        let got = match c["deff"].as_f64() {
            Some(deff) => {
                with_deff += 1;
                margin_of_error_with_deff(n, spread(c), conf, population, deff).unwrap()
            }
            None => margin_of_error(n, spread(c), conf, population).unwrap(),
        };
        close(&format!("margin {c}"), got, c["margin"].as_f64().unwrap());
    }
    for c in g["bases"].as_array().unwrap() {
        let conf = Confidence::new(c["confidence"].as_f64().unwrap()).unwrap();
        let (margin, population) = (c["margin"].as_f64().unwrap(), c["population"].as_f64());
        let got = match c["deff"].as_f64() {
            Some(deff) => {
                with_deff += 1;
                required_base_with_deff(margin, spread(c), conf, population, deff).unwrap()
            }
            None => required_base(margin, spread(c), conf, population).unwrap(),
        };
        assert_eq!(got, c["base"].as_u64().unwrap(), "base for {c}");
    }
    assert!(with_deff >= 100, "{with_deff} cases with a design effect");
}
