//! The driver plugin loaded as a plugin on the example study: its importances are
//! csi-stats' kernels (golden-tested) applied to the engine's co-moments, its
//! quadrants follow the means, and the seed's weak, important categories land in
//! "improve first".

use std::path::PathBuf;

use csi_blocks::wire::{Request, PROTOCOL_VERSION};
use csi_blocks::{Block, Cell, ChartKind, Report};
use csi_plugin_host::{load, Isolation, Origin, Plugin};
use csi_stats::relweights::{lmg, relative_weights, standardised_coefficients};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn plugin() -> Plugin {
    let path = csi_plugin_host::built_library("csi_plugin_driver").expect("the library is built with its tests");
    load(&path, Origin::External).unwrap()
}

fn example() -> (csi_study::Study, csi_engine::WaveResult) {
    let study = csi_study::load(&root().join("reports/telecom/study.yaml")).unwrap();
    let result = csi_engine::compute_wave(&study, &study.waves[2]).unwrap();
    (study, result)
}

fn run(
    study: &csi_study::Study,
    result: &csi_engine::WaveResult,
    options: serde_json::Value,
) -> Result<Report, String> {
    let p = plugin();
    let request = Request {
        protocol: PROTOCOL_VERSION,
        analysis: "driver".into(),
        wave: result.wave.clone(),
        study: csi_engine::study_context(study),
        options: p.resolve_options("driver", &options).map_err(|e| e.to_string())?,
    };
    let stats = (
        csi_engine::statistics_schema(),
        vec![csi_engine::statistics_batch(result)],
    );
    p.run(&request, stats, None, &Isolation::InProcess)
        .map_err(|e| e.to_string())
}

#[test]
fn importances_are_the_kernels_on_the_engines_correlations() {
    let (study, result) = example();
    let report = run(&study, &result, serde_json::json!({"outcome": "overall", "level": 1})).unwrap();
    let ids: Vec<&str> = study.tree.iter().map(|n| n.id.as_str()).collect();
    let corr = |x: &str, y: &str| {
        if x == y {
            return 1.0;
        }
        let c = result
            .cross
            .iter()
            .find(|c| (c.x == x && c.y == y) || (c.x == y && c.y == x))
            .unwrap();
        c.values[0].unwrap().correlation().unwrap()
    };
    let r_xx: Vec<Vec<f64>> = ids.iter().map(|x| ids.iter().map(|y| corr(x, y)).collect()).collect();
    let r_xy: Vec<f64> = ids.iter().map(|x| corr(x, "overall")).collect();
    let (betas, r2) = standardised_coefficients(&r_xx, &r_xy).unwrap();
    let shapley = lmg(&r_xx, &r_xy).unwrap();
    let johnson = relative_weights(&r_xx, &r_xy).unwrap().shares();

    let Block::Table(table) = &report.blocks[2] else {
        panic!("{report:?}")
    };
    assert_eq!(table.rows.len(), 8);
    let mut last = f64::INFINITY;
    for row in &table.rows {
        let Cell::Text(label) = &row.cells[0] else { panic!() };
        let i = study.tree.iter().position(|n| study.text(&n.label) == label).unwrap();
        let score = result.series(ids[i]).unwrap().values[0].score.mean.unwrap();
        assert_eq!(row.cells[1], Cell::Number(score));
        // Same kernels, same inputs; equal up to the order of floating-point sums.
        for (k, want) in [(2, betas[i]), (3, shapley[i] / r2), (4, johnson[i])] {
            let Cell::Number(got) = row.cells[k] else { panic!() };
            assert!(
                (got - want).abs() <= 1e-12 * want.abs(),
                "{label} column {k}: {got} vs {want}"
            );
        }
        assert!(johnson[i] <= last, "ordered by importance");
        last = johnson[i];
    }
    // The matrix: one point per driver, quadrant lines at the means.
    let Block::Chart(chart) = &report.blocks[1] else {
        panic!()
    };
    let ChartKind::Scatter {
        points, x_line, y_line, ..
    } = &chart.spec
    else {
        panic!()
    };
    assert_eq!(points.len(), 8);
    let mx = points.iter().map(|p| p.x).sum::<f64>() / 8.0;
    let my = points.iter().map(|p| p.y).sum::<f64>() / 8.0;
    assert!((x_line.unwrap() - mx).abs() < 1e-12 && (y_line.unwrap() - my).abs() < 1e-12);
    for row in &table.rows {
        let Cell::Text(label) = &row.cells[0] else { panic!() };
        let p = points.iter().find(|p| &p.label == label).unwrap();
        let want = match (p.x >= mx, p.y >= my) {
            (true, false) => "优先改进",
            (true, true) => "继续保持",
            (false, false) => "次要改进",
            (false, true) => "可能过度投入",
        };
        assert_eq!(row.cells[5], Cell::Text(want.into()));
    }
}

#[test]
fn network_and_billing_are_to_improve_first() {
    let (study, result) = example();
    let report = run(&study, &result, serde_json::json!({})).unwrap();
    let Block::Markdown { text } = &report.blocks[0] else {
        panic!()
    };
    for id in ["network", "billing"] {
        let label = study
            .text(&study.tree.iter().find(|n| n.id == id).unwrap().label)
            .to_string();
        assert!(text.contains(&label), "{id} in: {text}");
    }
    assert!(text.contains("优先改进"));
}

#[test]
fn indicators_within_a_category_and_clear_refusals() {
    let (study, result) = example();
    let report = run(&study, &result, serde_json::json!({"within": "network"})).unwrap();
    let Block::Table(table) = &report.blocks[2] else {
        panic!()
    };
    let network = study.tree.iter().find(|n| n.id == "network").unwrap();
    assert_eq!(table.rows.len(), network.children.len());
    let err = run(&study, &result, serde_json::json!({"within": "netwrok"})).unwrap_err();
    assert!(err.contains("`netwrok` is not a node"), "{err}");
    let err = run(&study, &result, serde_json::json!({"level": 9})).unwrap_err();
    assert!(err.contains("at least two drivers"), "{err}");
}

#[test]
fn penalty_reward_matches_statsmodels_on_the_mini_study() {
    let study = csi_study::load(&root().join("tests/fixtures/mini/study.yaml")).unwrap();
    let result = csi_engine::compute_wave(&study, &study.waves[0]).unwrap();
    let p = plugin();
    let request = Request {
        protocol: PROTOCOL_VERSION,
        analysis: "driver".into(),
        wave: result.wave.clone(),
        study: csi_engine::study_context(&study),
        options: p.resolve_options("driver", &serde_json::json!({})).unwrap(),
    };
    let stats = (
        csi_engine::statistics_schema(),
        vec![csi_engine::statistics_batch(&result)],
    );
    let rows = csi_engine::rows_reader(&study, &study.waves[0]);
    let report = p.run(&request, stats, Some(rows), &Isolation::InProcess).unwrap();
    let Some(Block::Table(kano)) = report.blocks.get(3) else {
        panic!("{report:?}")
    };
    let golden: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root().join("tests/goldens/mini_kano.json")).unwrap()).unwrap();
    assert!(kano
        .note
        .as_deref()
        .unwrap()
        .contains(&format!("{} ", golden["respondents"])));
    assert_eq!(kano.rows.len(), 3);
    for (row, node) in kano.rows.iter().zip(["coverage", "quality", "accuracy"]) {
        let coef = |k: &str| golden["coefficients"][format!("{node}:{k}")].as_f64().unwrap();
        let Cell::Number(penalty) = row.cells[1] else { panic!() };
        let Cell::Number(reward) = row.cells[2] else { panic!() };
        assert!(
            (penalty + coef("low")).abs() <= 1e-8 * penalty.abs(),
            "{node}: {penalty}"
        );
        assert!((reward - coef("high")).abs() <= 1e-8 * reward.abs(), "{node}: {reward}");
        let counts = |k: &str| golden["counts"][format!("{node}:{k}")].as_u64().unwrap() as f64;
        assert_eq!(
            (row.cells[3].clone(), row.cells[4].clone()),
            (Cell::Number(counts("low")), Cell::Number(counts("high")))
        );
        let share = reward / (penalty + reward);
        let class = if share < 0.4 {
            "必备型（基本）"
        } else if share > 0.6 {
            "魅力型（兴奋）"
        } else {
            "期望型（绩效）"
        };
        assert_eq!(row.cells[5], Cell::Text(class.into()), "{node}");
    }
}
