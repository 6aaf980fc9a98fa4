//! The whole engine (tree scoring, segments, top box, expectations) against an
//! independent pandas/statsmodels implementation: `tests/goldens/make_goldens.py`
//! wrote `tests/goldens/mini.json` for `tests/fixtures/mini`.

use csi_stats::Estimate;
use std::path::PathBuf;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn close(what: &str, got: f64, want: f64) {
    let rel = (got - want).abs() / want.abs().max(1e-300);
    assert!(rel <= 1e-8, "{what}: got {got}, golden {want} (relative error {rel:e})");
}

fn compare(what: &str, e: &Estimate, g: &serde_json::Value) {
    assert_eq!(e.n, g["n"].as_u64().unwrap(), "{what}: n");
    close(&format!("{what}: sum_w"), e.sum_w, g["sum_w"].as_f64().unwrap());
    close(&format!("{what}: mean"), e.mean.unwrap(), g["mean"].as_f64().unwrap());
    close(&format!("{what}: se"), e.se.unwrap(), g["se"].as_f64().unwrap());
    close(
        &format!("{what}: ci_low"),
        e.ci_low.unwrap(),
        g["ci_low"].as_f64().unwrap(),
    );
    close(
        &format!("{what}: ci_high"),
        e.ci_high.unwrap(),
        g["ci_high"].as_f64().unwrap(),
    );
    close(
        &format!("{what}: effective_n"),
        e.effective_n,
        g["effective_n"].as_f64().unwrap(),
    );
}

#[test]
fn mini_study_matches_independent_implementation() {
    let study = csi_study::load(&root().join("tests/fixtures/mini/study.yaml")).unwrap();
    let result = csi_engine::compute_wave(&study, &study.waves[0]).unwrap();
    let golden: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root().join("tests/goldens/mini.json")).unwrap()).unwrap();
    let cells = golden["cells"].as_array().unwrap();
    assert_eq!(cells.len(), 56);
    for g in cells {
        let node = match g["node"].as_str().unwrap() {
            "__index__" => csi_engine::INDEX_ID,
            other => other,
        };
        let cell = g["cell"].as_str().unwrap();
        let what = format!("{node} in {cell}");
        let series = result.series(node).unwrap_or_else(|| panic!("no series {node}"));
        let ci = result.cell_index(cell).unwrap_or_else(|| panic!("no cell {cell}"));
        let v = &series.values[ci];
        compare(&what, &v.score, g);
        match (&v.top_box, g["top_box"].is_null()) {
            (Some(t), false) => compare(&format!("{what} top box"), t, &g["top_box"]),
            (None, true) => {}
            (t, _) => panic!("{what}: top box presence differs ({t:?} vs {})", g["top_box"]),
        }
        for (name, got) in [("gap", &v.gap), ("raw", &v.raw), ("paired_score", &v.paired_score)] {
            match (got, g[name].is_null()) {
                (Some(e), false) => compare(&format!("{what} {name}"), e, &g[name]),
                (None, true) => {}
                (e, _) => panic!("{what}: {name} presence differs ({e:?} vs {})", g[name]),
            }
        }
        match (&v.expectation, g["expectation"].is_null()) {
            (Some(e), false) => compare(&format!("{what} expectation"), e, &g["expectation"]),
            (None, true) => {}
            (e, _) => panic!("{what}: expectation presence differs ({e:?} vs {})", g["expectation"]),
        }
    }
}

#[test]
fn co_moments_of_score_pairs_match_numpy() {
    let study = csi_study::load(&root().join("tests/fixtures/mini/study.yaml")).unwrap();
    let result = csi_engine::compute_wave(&study, &study.waves[0]).unwrap();
    let golden: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root().join("tests/goldens/mini_cross.json")).unwrap()).unwrap();
    let rows = golden["cross"].as_array().unwrap();
    let id = |g: &serde_json::Value| match g.as_str().unwrap() {
        "__index__" => csi_engine::INDEX_ID.to_string(),
        other => other.to_string(),
    };
    // The same pairs, no more: 20 pairs in each of the 7 cells.
    assert_eq!(result.cross.len() * result.cells.len(), rows.len());
    for g in rows {
        let (gx, gy) = (id(&g["x"]), id(&g["y"]));
        let cell = g["cell"].as_str().unwrap();
        let pair = result
            .cross
            .iter()
            .find(|c| (c.x == gx && c.y == gy) || (c.x == gy && c.y == gx))
            .unwrap_or_else(|| panic!("no pair {gx} × {gy}"));
        let swapped = pair.x != gx;
        let v = pair.values[result.cell_index(cell).unwrap()].unwrap();
        let what = format!("{gx} × {gy} in {cell}");
        assert_eq!(v.n, g["n"].as_u64().unwrap(), "{what}: n");
        let (mx, my, ssx, ssy) = if swapped {
            (v.mean_y, v.mean_x, v.ss_y, v.ss_x)
        } else {
            (v.mean_x, v.mean_y, v.ss_x, v.ss_y)
        };
        for (name, got) in [
            ("sum_w", v.sum_w),
            ("mean_x", mx),
            ("mean_y", my),
            ("ss_x", ssx),
            ("ss_y", ssy),
            ("sp", v.sp),
        ] {
            close(&format!("{what}: {name}"), got, g[name].as_f64().unwrap());
        }
    }
}

#[test]
fn the_statistics_table_has_the_documented_columns_and_cross_rows() {
    let study = csi_study::load(&root().join("tests/fixtures/mini/study.yaml")).unwrap();
    let result = csi_engine::compute_wave(&study, &study.waves[0]).unwrap();
    let batch = csi_engine::statistics_batch(&result);
    let names: Vec<&str> = batch.schema_ref().fields().iter().map(|f| f.name().as_str()).collect();
    assert_eq!(names, csi_blocks::wire::STATISTICS_COLUMNS);
    use arrow_array::cast::AsArray;
    let measure = batch.column_by_name("measure").unwrap().as_string::<i32>();
    let cross = (0..batch.num_rows()).filter(|&i| measure.value(i) == "cross").count();
    assert_eq!(cross, result.cross.len() * result.cells.len());
}
