//! The gap plugin loaded as a plugin: on the mini study its figures are the
//! goldens (paired gaps from the independent implementation) and its tests are
//! csi-stats' golden-tested one-sample test; on the example study gaps in minutes
//! are the point gaps converted back to the unit.

use std::path::PathBuf;

use csi_blocks::wire::{Request, PROTOCOL_VERSION};
use csi_blocks::{Block, Cell, Flag, Report, Table};
use csi_plugin_host::{load, Isolation, Origin, Plugin};
use csi_stats::difference::against;
use csi_stats::{Confidence, Estimate};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn plugin() -> Plugin {
    let path = csi_plugin_host::built_library("csi_plugin_gap").expect("the library is built with its tests");
    load(&path, Origin::External).unwrap()
}

fn run(file: &str, options: serde_json::Value) -> Result<(csi_study::Study, Report), String> {
    let study = csi_study::load(&root().join(file)).unwrap();
    let last = study.waves.len() - 1;
    let result = csi_engine::compute_wave(&study, &study.waves[last]).unwrap();
    let p = plugin();
    let request = Request {
        protocol: PROTOCOL_VERSION,
        analysis: "gap".into(),
        wave: result.wave.clone(),
        study: csi_engine::study_context(&study),
        options: p.resolve_options("gap", &options).map_err(|e| e.to_string())?,
    };
    let stats = (
        csi_engine::statistics_schema(),
        vec![csi_engine::statistics_batch(&result)],
    );
    let report = p
        .run(&request, stats, None, &Isolation::InProcess)
        .map_err(|e| e.to_string())?;
    Ok((study, report))
}

fn tables(r: &Report) -> Vec<&Table> {
    r.blocks
        .iter()
        .filter_map(|b| match b {
            Block::Table(t) => Some(t),
            _ => None,
        })
        .collect()
}

fn num(c: &Cell) -> f64 {
    match c {
        Cell::Number(v) => *v,
        other => panic!("{other:?}"),
    }
}

#[test]
fn gaps_are_the_goldens_and_tested_against_zero() {
    let (_, report) = run(
        "tests/fixtures/mini/study.yaml",
        serde_json::json!({"segments": ["type"]}),
    )
    .unwrap();
    let golden: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root().join("tests/goldens/mini.json")).unwrap()).unwrap();
    let find = |cell: &str, node: &str| {
        golden["cells"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["cell"] == cell && g["node"] == node)
            .unwrap()
            .clone()
    };
    let close = |a: f64, b: f64| assert!((a - b).abs() <= 1e-8 * b.abs().max(1e-12), "{a} vs {b}");
    let t = tables(&report);
    // Categories table: the index and network have gaps (through coverage); billing none.
    let labels: Vec<String> = t[0].rows.iter().map(|r| format!("{:?}", r.cells[0])).collect();
    assert_eq!(t[0].rows.len(), 2, "{labels:?}");
    // Indicator table: coverage only.
    assert_eq!(t[1].rows.len(), 1);
    let row = &t[1].rows[0];
    let g = find("all", "coverage");
    close(num(&row.cells[1]), g["expectation"]["mean"].as_f64().unwrap());
    close(num(&row.cells[2]), g["mean"].as_f64().unwrap());
    close(num(&row.cells[3]), g["gap"]["mean"].as_f64().unwrap());
    assert_eq!(num(&row.cells[6]) as u64, g["gap"]["n"].as_u64().unwrap());
    let e = |g: &serde_json::Value| Estimate {
        n: g["n"].as_u64().unwrap(),
        sum_w: g["sum_w"].as_f64().unwrap(),
        effective_n: g["effective_n"].as_f64().unwrap(),
        mean: g["mean"].as_f64(),
        se: g["se"].as_f64(),
        ci_low: g["ci_low"].as_f64(),
        ci_high: g["ci_high"].as_f64(),
        sums: None,
    };
    let d = against(&e(&g["gap"]), 0.0, Confidence::default()).unwrap();
    let p = if d.p < 0.001 {
        "<0.001".to_string()
    } else {
        format!("{:.3}", d.p)
    };
    assert_eq!(row.cells[5], Cell::Text(p));
    let sig = d.p < 0.05;
    assert_eq!(
        row.flags[3].contains(&Flag::SigDown) || row.flags[3].contains(&Flag::SigUp),
        sig
    );
    // Per segment group: the index gap of each customer type.
    let seg = t.last().unwrap();
    assert_eq!(seg.rows.len(), 3);
    for (k, r) in seg.rows.iter().enumerate() {
        close(
            num(&r.cells[1]),
            find(&format!("type={}", k + 1), "__index__")["gap"]["mean"]
                .as_f64()
                .unwrap(),
        );
    }
}

#[test]
fn gaps_in_minutes_are_the_point_gaps_converted() {
    let (study, report) = run("reports/telecom/study.yaml", serde_json::json!({})).unwrap();
    let t = tables(&report);
    let ctx = csi_engine::study_context(&study);
    let mut checked = 0;
    for row in &t[1].rows {
        let Cell::Text(label) = &row.cells[0] else { panic!() };
        let node = ctx
            .nodes
            .iter()
            .find(|n| &n.label == label && n.kind == "indicator")
            .unwrap();
        let (Some(unit), Some([min, max])) = (&node.unit, node.scale) else {
            continue;
        };
        let sign = if node.lower_is_better { -1.0 } else { 1.0 };
        let want = sign * num(&row.cells[3]) * (max - min) / 100.0;
        assert_eq!(row.cells[7], Cell::Text(format!("{want:+.2} {unit}")));
        checked += 1;
    }
    assert!(checked > 0, "the example has gaps in a unit");
}

#[test]
fn no_expectations_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let yaml = std::fs::read_to_string(root().join("tests/fixtures/mini/study.yaml")).unwrap();
    std::fs::write(
        dir.path().join("study.yaml"),
        yaml.replace("        expectation: e1\n", ""),
    )
    .unwrap();
    std::fs::copy(root().join("tests/fixtures/mini/data.csv"), dir.path().join("data.csv")).unwrap();
    let file = dir.path().join("study.yaml");
    let err = run(file.to_str().unwrap(), serde_json::json!({})).unwrap_err();
    assert!(err.contains("expectation"), "{err}");
}
