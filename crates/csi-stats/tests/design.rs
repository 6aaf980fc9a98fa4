//! Domain estimates, the finite population correction and intervals for shares
//! against independent implementations (samplics' Taylor estimator, checked in the
//! script against R survey's closed form and statsmodels; statsmodels'
//! proportion_confint), through the goldens written by
//! tests/goldens/make_design_goldens.py.

use std::collections::HashMap;
use std::path::PathBuf;

use csi_stats::proportion::{clopper_pearson, korn_graubard, wilson};
use csi_stats::{Confidence, Design, WeightedMoments};
use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn golden() -> Value {
    let text = std::fs::read_to_string(root().join("tests/goldens/design.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// Relative error at most 1e-8; a golden within 1e-15 of 0 (an exact 0, or the
/// rounding noise of one, like Wilson's lower limit at p = 0) must be met within
/// 1e-15.
fn close(what: &str, got: f64, want: f64) {
    let ok = if want.abs() <= 1e-15 {
        got.abs() <= 1e-15
    } else {
        (got - want).abs() <= 1e-8 * want.abs()
    };
    assert!(ok, "{what}: got {got}, golden {want}");
}

fn num(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

/// A fixture as rows of named cells (empty cells are missing values).
fn read_fixture(file: &str) -> Vec<HashMap<String, String>> {
    let text = std::fs::read_to_string(root().join("tests/fixtures/stats").join(file)).unwrap();
    let mut lines = text.lines();
    let header: Vec<String> = lines.next().unwrap().split(',').map(str::to_string).collect();
    lines
        .map(|l| header.iter().cloned().zip(l.split(',').map(str::to_string)).collect())
        .collect()
}

/// The moments of a golden case's domain, and the number of rows (the design's n).
fn domain_moments(case: &Value) -> (WeightedMoments, u64, bool) {
    let rows = read_fixture(case["file"].as_str().unwrap());
    let y = case["y"].as_str().unwrap();
    let at_least = case["at_least"].as_f64();
    let share = case.get("intervals").is_some();
    let mut m = WeightedMoments::new(if share { 0.5 } else { 50.0 });
    for row in &rows {
        if row[y].is_empty() {
            continue;
        }
        if let Some(w) = case["where"].as_object() {
            let cell = &row[w["column"].as_str().unwrap()];
            let matches = match &w["equals"] {
                Value::String(s) => cell == s,
                v => cell.parse::<f64>().unwrap() == num(v),
            };
            if !matches {
                continue;
            }
        }
        let x: f64 = row[y].parse().unwrap();
        let x = at_least.map_or(x, |t| if x >= t { 1.0 } else { 0.0 });
        m.add(x, row["w"].parse().unwrap());
    }
    (m, rows.len() as u64, share)
}

#[test]
fn domain_means_and_standard_errors_match_samplics() {
    let g = golden();
    let cases = g["means"].as_array().unwrap();
    assert!(cases.len() >= 15);
    let conf = Confidence::default();
    let mut with_fpc = 0;
    for case in cases {
        let what = format!(
            "{} {} where {} at least {} N = {}",
            case["file"], case["y"], case["where"], case["at_least"], case["population"]
        );
        let (m, rows, _) = domain_moments(case);
        assert_eq!(rows, case["design_n"].as_u64().unwrap(), "{what}: design n");
        assert_eq!(m.n(), case["n"].as_u64().unwrap(), "{what}: domain n");
        let design = Design::new(rows, case["population"].as_f64());
        with_fpc += usize::from(design.population.is_some());
        close(&format!("{what}: sum_w"), m.sum_w(), num(&case["sum_w"]));
        close(&format!("{what}: mean"), m.mean().unwrap(), num(&case["mean"]));
        let se = m.standard_error_in(&design).unwrap();
        close(&format!("{what}: se"), se, num(&case["se"]));
        // The plain SE is the domain's own n/(n−1), without the fpc.
        close(
            &format!("{what}: own-n se"),
            m.standard_error().unwrap(),
            num(&case["se_own_n"]),
        );
        let e = m.estimate_in(conf, &design);
        assert_eq!((e.n, e.se), (m.n(), Some(se)), "{what}");
        close(
            &format!("{what}: ci low"),
            e.ci_low.unwrap(),
            num(&case["mean"]) - conf.z() * num(&case["se"]),
        );
        close(
            &format!("{what}: ci high"),
            e.ci_high.unwrap(),
            num(&case["mean"]) + conf.z() * num(&case["se"]),
        );
    }
    assert!(with_fpc >= 4);
}

#[test]
fn share_intervals_match_statsmodels_on_the_effective_base() {
    let g = golden();
    let mut checked = 0;
    for case in g["means"].as_array().unwrap() {
        let (m, rows, share) = domain_moments(case);
        if !share {
            continue;
        }
        let what = format!(
            "{} {} where {} N = {}",
            case["file"], case["y"], case["where"], case["population"]
        );
        let design = Design::new(rows, case["population"].as_f64());
        close(&format!("{what}: Kish n"), m.effective_n(), num(&case["effective_n"]));
        for iv in case["intervals"].as_array().unwrap() {
            let conf = Confidence::new(num(&iv["confidence"])).unwrap();
            let e = m.estimate_in(conf, &design);
            let (lo, hi) = korn_graubard(&e, conf).unwrap();
            let kg = iv["korn_graubard"].as_array().unwrap();
            close(&format!("{what}: Korn–Graubard low at {conf:?}"), lo, num(&kg[0]));
            close(&format!("{what}: Korn–Graubard high at {conf:?}"), hi, num(&kg[1]));
            assert!((0.0..=1.0).contains(&lo) && (0.0..=1.0).contains(&hi), "{what}");
            let (lo, hi) = wilson(e.mean.unwrap(), e.effective_n, conf);
            let wk = iv["wilson_kish"].as_array().unwrap();
            close(&format!("{what}: Wilson low"), lo, num(&wk[0]));
            close(&format!("{what}: Wilson high"), hi, num(&wk[1]));
            checked += 1;
        }
    }
    assert!(checked >= 16, "{checked}");
}

#[test]
fn wilson_and_clopper_pearson_match_statsmodels() {
    let g = golden();
    let wilson_cases = g["wilson"].as_array().unwrap();
    let cp_cases = g["clopper_pearson"].as_array().unwrap();
    assert!(wilson_cases.len() >= 10 && cp_cases.len() >= 14);
    for c in wilson_cases {
        let conf = Confidence::new(num(&c["confidence"])).unwrap();
        let (lo, hi) = wilson(num(&c["p"]), num(&c["n"]), conf);
        close(&format!("Wilson low {c}"), lo, num(&c["low"]));
        close(&format!("Wilson high {c}"), hi, num(&c["high"]));
    }
    for c in cp_cases {
        let conf = Confidence::new(num(&c["confidence"])).unwrap();
        let (lo, hi) = clopper_pearson(num(&c["x"]), num(&c["n"]), conf);
        close(&format!("Clopper–Pearson low {c}"), lo, num(&c["low"]));
        close(&format!("Clopper–Pearson high {c}"), hi, num(&c["high"]));
    }
}

#[test]
fn the_finite_population_correction_and_small_designs() {
    let d = Design::new(200, Some(1000.0));
    assert!((d.fpc() - 0.8f64.sqrt()).abs() < 1e-15);
    assert_eq!(Design::new(200, None).fpc(), 1.0);
    assert_eq!(Design::new(200, Some(200.0)).fpc(), 0.0);
    assert!(Design::new(200, Some(150.0)).fpc().is_nan());
    let mut m = WeightedMoments::new(50.0);
    for (x, w) in [(60.0, 1.0), (80.0, 2.0), (40.0, 0.5)] {
        m.add(x, w);
    }
    // A design of the domain's own size, without a population, is the plain SE.
    assert_eq!(m.standard_error_in(&Design::new(3, None)), m.standard_error());
    // A larger design shrinks n/(n−1) towards 1.
    let se = m.standard_error().unwrap();
    let in_200 = m.standard_error_in(&Design::new(200, None)).unwrap();
    close(
        "n/(n-1) of the design",
        in_200,
        se * (200.0f64 / 199.0 * 2.0 / 3.0).sqrt(),
    );
    assert_eq!(m.standard_error_in(&Design::new(200, Some(150.0))), None);
    assert_eq!(m.standard_error_in(&Design::new(1, None)), None);
    let mut one = WeightedMoments::new(50.0);
    one.add(70.0, 1.0);
    assert_eq!(one.standard_error_in(&Design::new(200, None)), None);
    let e = one.estimate_in(Confidence::default(), &Design::new(200, None));
    assert_eq!((e.mean, e.se, e.ci_low), (Some(70.0), None, None));
}
