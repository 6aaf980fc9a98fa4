//! The SDK's view of the statistics table gives back exactly what the engine
//! computed, and the sums in it let a plugin derive the rest of the sample outside
//! a segment group — checked against the independent goldens.

use std::path::PathBuf;

use csi_plugin_sdk::statistics::Statistics;
use csi_stats::Confidence;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn close(what: &str, got: f64, want: f64) {
    let rel = (got - want).abs() / want.abs().max(1e-300);
    assert!(rel <= 1e-8, "{what}: got {got}, golden {want} (relative error {rel:e})");
}

#[test]
fn the_table_round_trips_and_complements_match_the_goldens() {
    let study = csi_study::load(&root().join("tests/fixtures/mini/study.yaml")).unwrap();
    let result = csi_engine::compute_wave(&study, &study.waves[0]).unwrap();
    let stats = Statistics::read(&[csi_engine::statistics_batch(&result)]).unwrap();
    assert_eq!(stats.waves(), ["2024"]);
    let design = stats.design("2024").expect("the host sends its design");
    assert_eq!((design.n, design.population), (result.design.n, None));
    for s in &result.series {
        for (ci, c) in result.cells.iter().enumerate() {
            let got = stats.get("2024", &c.id, &s.node.id, "score").unwrap();
            let want = &s.values[ci].score;
            assert_eq!(got, want, "{} in {}", s.node.id, c.id);
        }
    }
    for x in &result.cross {
        let got = stats.cross("2024", "all", &x.y, &x.x).unwrap();
        assert_eq!(got, x.values[0].unwrap().swapped());
    }

    let golden: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root().join("tests/goldens/mini_rest.json")).unwrap()).unwrap();
    let rest = golden["rest"].as_array().unwrap();
    assert_eq!(rest.len(), 6 * 8);
    for g in rest {
        let node = match g["node"].as_str().unwrap() {
            "__index__" => csi_engine::INDEX_ID,
            other => other,
        };
        let cell = g["cell"].as_str().unwrap();
        let all = stats.moments("2024", "all", node, "score").unwrap();
        let part = stats.moments("2024", cell, node, "score").unwrap();
        // The rest is a domain of the wave's sample, like every host figure.
        let e = stats.estimate("2024", &all.without(&part).unwrap(), Confidence::default());
        let what = format!("{node} outside {cell}");
        assert_eq!(e.n, g["n"].as_u64().unwrap(), "{what}");
        for (name, got) in [
            ("sum_w", e.sum_w),
            ("mean", e.mean.unwrap()),
            ("se", e.se.unwrap()),
            ("effective_n", e.effective_n),
        ] {
            close(&format!("{what}: {name}"), got, g[name].as_f64().unwrap());
        }
    }
}
