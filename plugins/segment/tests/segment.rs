//! The segment plugin loaded as a plugin: on the mini study its groups' figures
//! are the goldens and every significance flag is the corrected Welch-type test of
//! the group against the golden rest of the sample; on the example study the
//! seed's finding shows — high-spend users lowest, significantly.

use std::path::PathBuf;

use csi_blocks::wire::{Request, PROTOCOL_VERSION};
use csi_blocks::{Block, Cell, Flag, Report};
use csi_plugin_host::{load, Isolation, Origin, Plugin};
use csi_stats::difference::independent;
use csi_stats::multiple::Correction;
use csi_stats::{Confidence, Estimate};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn plugin() -> Plugin {
    let path = csi_plugin_host::built_library("csi_plugin_segment").expect("the library is built with its tests");
    load(&path, Origin::External).unwrap()
}

fn run(study_file: &str, options: serde_json::Value) -> (csi_study::Study, Report) {
    let study = csi_study::load(&root().join(study_file)).unwrap();
    let last = study.waves.len() - 1;
    let result = csi_engine::compute_wave(&study, &study.waves[last]).unwrap();
    let p = plugin();
    let request = Request {
        protocol: PROTOCOL_VERSION,
        analysis: "segment".into(),
        wave: result.wave.clone(),
        study: csi_engine::study_context(&study),
        options: p.resolve_options("segment", &options).unwrap(),
    };
    let stats = (
        csi_engine::statistics_schema(),
        vec![csi_engine::statistics_batch(&result)],
    );
    let report = p.run(&request, stats, None, &Isolation::InProcess).unwrap();
    (study, report)
}

fn golden(file: &str) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(root().join("tests/goldens").join(file)).unwrap()).unwrap()
}

fn estimate(g: &serde_json::Value) -> Estimate {
    Estimate {
        n: g["n"].as_u64().unwrap(),
        sum_w: g["sum_w"].as_f64().unwrap(),
        effective_n: g["effective_n"].as_f64().unwrap(),
        mean: g["mean"].as_f64(),
        se: g["se"].as_f64(),
        ci_low: g["ci_low"].as_f64(),
        ci_high: g["ci_high"].as_f64(),
        sums: None,
    }
}

#[test]
fn flags_are_the_corrected_tests_against_the_golden_rest() {
    for correction in ["bonferroni", "benjamini_hochberg", "none"] {
        let (_, report) = run(
            "tests/fixtures/mini/study.yaml",
            serde_json::json!({"segments": ["type"], "correction": correction}),
        );
        let Block::Table(table) = &report.blocks[1] else {
            panic!("{report:?}")
        };
        let nodes = ["__index__", "network", "billing"];
        assert_eq!(table.columns.len(), 2 + nodes.len());
        let (mini, rest) = (golden("mini.json"), golden("mini_rest.json"));
        let find = |list: &serde_json::Value, key: &str, cell: &str, node: &str| {
            list[key]
                .as_array()
                .unwrap()
                .iter()
                .find(|g| g["cell"] == cell && g["node"] == node)
                .cloned()
                .unwrap()
        };
        let conf = Confidence::default();
        let mut p = Vec::new();
        for code in 1..=3 {
            for node in nodes {
                let cell = format!("type={code}");
                let d = independent(
                    &estimate(&find(&rest, "rest", &cell, node)),
                    &estimate(&find(&mini, "cells", &cell, node)),
                    conf,
                )
                .unwrap();
                p.push((d.diff, d.p));
            }
        }
        let adjusted = Correction::parse(correction)
            .unwrap()
            .adjust(&p.iter().map(|x| x.1).collect::<Vec<_>>());
        for (r, row) in table.rows.iter().enumerate() {
            for (k, node) in nodes.iter().enumerate() {
                let g = find(&mini, "cells", &format!("type={}", r + 1), node);
                let Cell::Number(v) = row.cells[2 + k] else { panic!() };
                assert!((v - g["mean"].as_f64().unwrap()).abs() <= 1e-8 * v.abs());
                let (diff, _) = p[r * nodes.len() + k];
                let want: Vec<Flag> = if adjusted[r * nodes.len() + k] < 0.05 {
                    vec![if diff > 0.0 { Flag::SigUp } else { Flag::SigDown }]
                } else {
                    vec![]
                };
                let got: Vec<Flag> = row.flags[2 + k]
                    .iter()
                    .copied()
                    .filter(|f| *f != Flag::LowBase)
                    .collect();
                assert_eq!(got, want, "{correction}: type={} {node}", r + 1);
            }
        }
    }
}

#[test]
fn high_spend_users_are_lowest_and_significantly_so() {
    let (study, report) = run(
        "reports/telecom/study.yaml",
        serde_json::json!({"segments": ["customer_type", "cohort"]}),
    );
    let Block::Markdown { text } = &report.blocks[0] else {
        panic!()
    };
    let csi_study::SegmentKind::Categorical { values } = &study.segments[0].kind else {
        panic!()
    };
    let high_spend = study
        .text(&values.iter().find(|(code, _)| code == "2").unwrap().1)
        .to_string();
    let line = text
        .lines()
        .find(|l| l.contains(&high_spend))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(line.contains("差异显著"), "{line}");
    // Tables and heat maps for both segments; weak cells exist for high spenders.
    let tables = report.blocks.iter().filter(|b| matches!(b, Block::Table(_))).count();
    assert_eq!(tables, 4);
    assert!(report.blocks.iter().any(|b| matches!(b, Block::Chart(_))));
    let Block::Table(weak) = &report.blocks[3] else {
        panic!()
    };
    assert!(weak
        .rows
        .iter()
        .any(|r| r.flags.get(2).is_some_and(|f| f.contains(&Flag::Weak))));
}

#[test]
fn unknown_segments_and_corrections_are_clear_errors() {
    let study = csi_study::load(&root().join("tests/fixtures/mini/study.yaml")).unwrap();
    let result = csi_engine::compute_wave(&study, &study.waves[0]).unwrap();
    let p = plugin();
    for (options, says) in [
        (
            serde_json::json!({"segments": ["tpye"]}),
            "segment `tpye` is not in the study",
        ),
        (serde_json::json!({"correction": "holm"}), "unknown correction `holm`"),
    ] {
        let request = Request {
            protocol: PROTOCOL_VERSION,
            analysis: "segment".into(),
            wave: result.wave.clone(),
            study: csi_engine::study_context(&study),
            options: p.resolve_options("segment", &options).unwrap(),
        };
        let stats = (
            csi_engine::statistics_schema(),
            vec![csi_engine::statistics_batch(&result)],
        );
        let err = p.run(&request, stats, None, &Isolation::InProcess).unwrap_err();
        assert!(err.to_string().contains(says), "{err}");
    }
}
