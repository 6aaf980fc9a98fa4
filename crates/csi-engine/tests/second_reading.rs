//! The engine's figures on the second-reading study (tests/fixtures/second_reading)
//! against an independent implementation: tests/goldens/make_second_reading_goldens.py
//! (pandas tree scoring, samplics domain estimates) wrote
//! tests/goldens/second_reading.json. Checked at 1e-8 relative:
//!
//! * every score of every node in every cell of both waves, with the wave's n in
//!   every domain's standard error;
//! * one base per row: expectation, paired performance and gap of every node with an
//!   expectation beneath it (a category over the children each respondent answered
//!   both ways), and `paired_score − expectation = gap`, beside a `score` over all
//!   who rated the performance that differs from the paired one;
//! * the raw minutes of the lower-is-better `wait`, and its gap back in minutes;
//! * like for like: with `legacy` asked in the first wave only, the index and
//!   `product` on the questions both waves asked (`score_common_next` in w1,
//!   `score_common_previous` in w2), and the Welch test of their change.

use std::path::PathBuf;

use csi_engine::{Neighbour, WaveResult, INDEX_ID};
use csi_stats::difference::{independent, Difference};
use csi_stats::{Confidence, Estimate};
use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn golden() -> Value {
    serde_json::from_str(&std::fs::read_to_string(root().join("tests/goldens/second_reading.json")).unwrap()).unwrap()
}

fn results() -> (csi_study::Study, Vec<WaveResult>) {
    let study = csi_study::load(&root().join("tests/fixtures/second_reading/study.yaml")).unwrap();
    assert!(csi_engine::check_columns(&study).unwrap().is_empty());
    let results = study
        .waves
        .iter()
        .map(|w| csi_engine::compute_wave(&study, w).unwrap())
        .collect();
    (study, results)
}

fn close(what: &str, got: f64, want: f64) {
    let rel = (got - want).abs() / want.abs().max(1e-300);
    assert!(rel <= 1e-8, "{what}: got {got}, golden {want} (relative error {rel:e})");
}

fn num(g: &Value, key: &str) -> f64 {
    g[key].as_f64().unwrap_or_else(|| panic!("no `{key}` in {g}"))
}

fn compare(what: &str, e: &Estimate, g: &Value) {
    assert_eq!(e.n, g["n"].as_u64().unwrap(), "{what}: n");
    close(&format!("{what}: sum_w"), e.sum_w, num(g, "sum_w"));
    close(&format!("{what}: effective_n"), e.effective_n, num(g, "effective_n"));
    close(&format!("{what}: mean"), e.mean.unwrap(), num(g, "mean"));
    close(&format!("{what}: se"), e.se.unwrap(), num(g, "se"));
    close(&format!("{what}: ci_low"), e.ci_low.unwrap(), num(g, "ci_low"));
    close(&format!("{what}: ci_high"), e.ci_high.unwrap(), num(g, "ci_high"));
}

fn compare_test(what: &str, d: &Difference, g: &Value) {
    for (name, got) in [("diff", d.diff), ("se", d.se), ("df", d.df), ("t", d.t), ("p", d.p)] {
        close(&format!("{what}: {name}"), got, num(g, name));
    }
}

fn optional(what: &str, got: Option<&Estimate>, g: &Value) {
    match (got, g.is_null()) {
        (Some(e), false) => compare(what, e, g),
        (None, true) => {}
        (e, _) => panic!("{what}: presence differs ({e:?} vs {g})"),
    }
}

#[test]
fn every_figure_of_both_waves_is_the_goldens_on_one_base_per_row() {
    let (_, results) = results();
    let golden = golden();
    for r in &results {
        let g = &golden["waves"][&r.wave];
        assert_eq!(r.design.n, g["n"].as_u64().unwrap(), "{}: the design's n", r.wave);
        let rows = g["series"].as_array().unwrap();
        assert_eq!(rows.len(), 13 * 6, "13 series in 6 cells");
        let mut paired_checked = 0;
        for row in rows {
            let (cell, node) = (row["cell"].as_str().unwrap(), row["node"].as_str().unwrap());
            let what = format!("{} {node} in {cell}", r.wave);
            let v = &r.series(node).unwrap().values[r.cell_index(cell).unwrap()];
            if row["score"].is_null() {
                assert_eq!(v.score.n, 0, "{what}: not asked");
                assert_eq!(v.score.mean, None, "{what}: not asked");
            } else {
                compare(&format!("{what} score"), &v.score, &row["score"]);
            }
            optional(
                &format!("{what} expectation"),
                v.expectation.as_ref(),
                &row["expectation"],
            );
            optional(
                &format!("{what} paired_score"),
                v.paired_score.as_ref(),
                &row["paired_score"],
            );
            optional(&format!("{what} gap"), v.gap.as_ref(), &row["gap"]);
            optional(&format!("{what} raw"), v.raw.as_ref(), &row["raw"]);
            if let (Some(p), Some(e), Some(gap)) = (v.paired_score, v.expectation, v.gap) {
                // One base: the same respondents, so P − E is the gap.
                assert_eq!((p.n, e.n), (gap.n, gap.n), "{what}: one base");
                let d = p.mean.unwrap() - e.mean.unwrap();
                assert!(
                    (d - gap.mean.unwrap()).abs() <= 1e-9 * d.abs().max(1.0),
                    "{what}: P − E = gap"
                );
                paired_checked += 1;
            }
        }
        assert_eq!(
            paired_checked,
            7 * 6,
            "{}: index, 2 categories, 4 indicators in 6 cells",
            r.wave
        );
        // The bases differ: a category's score over all performance answers is not
        // its paired performance.
        let all = r.cell_index("all").unwrap();
        for node in [INDEX_ID, "service", "product"] {
            let v = &r.series(node).unwrap().values[all];
            let (score, paired) = (v.score.mean.unwrap(), v.paired_score.unwrap().mean.unwrap());
            assert!((score - paired).abs() > 0.5, "{} {node}: {score} vs {paired}", r.wave);
        }
    }
}

#[test]
fn the_wait_gap_in_minutes_is_actual_minus_expected() {
    let (_, results) = results();
    let golden = golden();
    for r in &results {
        let want = &golden["waves"][&r.wave]["gap"]["wait_minutes"];
        let gap = r.series("wait").unwrap().values[0].gap.unwrap();
        assert_eq!(gap.n, want["n"].as_u64().unwrap());
        // The points are direction-aligned (lower is better): minutes = −points × 60 / 100.
        close(
            &format!("{} wait, minutes", r.wave),
            -gap.mean.unwrap() * 60.0 / 100.0,
            num(want, "actual_minus_expected"),
        );
    }
}

#[test]
fn a_dropped_question_is_compared_like_for_like() {
    let (_, results) = results();
    let golden = golden();
    let conf = Confidence::default();
    let (w1, w2) = (&results[0], &results[1]);
    // Like-for-like scores exist exactly for the composites whose questions changed.
    for (r, against) in [(w1, Neighbour::Next), (w2, Neighbour::Previous)] {
        for node in ["service", "price"] {
            assert!(r.comparable(node, against).is_none(), "{} {node}", r.wave);
        }
        let other = if against == Neighbour::Next {
            Neighbour::Previous
        } else {
            Neighbour::Next
        };
        assert!(
            r.comparable(INDEX_ID, other).is_none(),
            "{}: no wave on that side",
            r.wave
        );
        for g in golden["waves"][&r.wave]["comparable"].as_array().unwrap() {
            let (cell, node) = (g["cell"].as_str().unwrap(), g["node"].as_str().unwrap());
            assert_eq!(g["against"].as_str().unwrap(), format!("{against:?}").to_lowercase());
            let c = r
                .comparable(node, against)
                .unwrap_or_else(|| panic!("{}: no like-for-like {node}", r.wave));
            assert_eq!(c.common_items, if node == "product" { 2 } else { 7 }, "{node}");
            compare(
                &format!("{} {node} like for like in {cell}", r.wave),
                &c.values[r.cell_index(cell).unwrap()],
                &g["estimate"],
            );
        }
    }
    for row in golden["change"]["rows"].as_array().unwrap() {
        let node = row["node"].as_str().unwrap();
        let score = |r: &WaveResult| r.series(node).unwrap().values[0].score;
        let naive = independent(&score(w1), &score(w2), conf).unwrap();
        compare_test(&format!("{node}: naive change"), &naive, &row["naive"]);
        if row["like_for_like"].is_null() {
            continue;
        }
        let a = w1.comparable(node, Neighbour::Next).unwrap().values[0];
        let b = w2.comparable(node, Neighbour::Previous).unwrap().values[0];
        let like = independent(&a, &b, conf).unwrap();
        compare_test(
            &format!("{node}: like-for-like change"),
            &like,
            &row["like_for_like"]["test"],
        );
        if node == INDEX_ID {
            // The story: a large, "significant" naive change; like for like, none.
            assert!(naive.diff > 2.0 && naive.p < 0.001, "{naive:?}");
            assert!(like.diff.abs() < 1.0 && like.p > 0.05, "{like:?}");
        }
    }
}
