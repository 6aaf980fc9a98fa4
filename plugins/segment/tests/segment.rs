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
    // Per segment: the scores, the column comparisons, a heat map and the weak
    // cells (a table: both segments have some); weak cells exist for high spenders.
    let tables = report.blocks.iter().filter(|b| matches!(b, Block::Table(_))).count();
    assert_eq!(tables, 6);
    assert_eq!(report.blocks.len(), 1 + 2 * 4);
    assert!(report.blocks.iter().any(|b| matches!(b, Block::Chart(_))));
    let Block::Table(weak) = &report.blocks[4] else {
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
    // The host refuses a correction the plugin does not declare, before running.
    let err = p
        .resolve_options("segment", &serde_json::json!({"correction": "holm"}))
        .unwrap_err();
    assert!(
        err.to_string().contains("option `correction` cannot be \"holm\"")
            && err.to_string().contains("none, bonferroni, benjamini_hochberg"),
        "{err}"
    );
    // The plugin still checks on its own what a host that did not check lets by.
    {
        let (options, says) = (
            serde_json::json!({"segments": ["tpye"]}),
            "segment `tpye` is not in the study",
        );
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

// ---------------------------------------------------------------------------------
// The second-reading study (tests/fixtures/second_reading): goldens from the
// independent implementation tests/goldens/make_second_reading_goldens.py.

fn close_rel(what: &str, got: f64, want: f64) {
    let rel = (got - want).abs() / want.abs().max(1e-300);
    assert!(rel <= 1e-8, "{what}: got {got}, golden {want} (relative error {rel:e})");
}

/// The decimal numbers written in `text`, in order (a sign directly before a digit
/// is kept; separators and spacing are free), to compare printed figures with the
/// goldens whatever the typography.
fn numbers_in(text: &str) -> Vec<f64> {
    let mut out = Vec::new();
    let mut token = String::new();
    let mut prev = ' ';
    for ch in text.chars().chain(std::iter::once(' ')) {
        if ch.is_ascii_digit() || (ch == '.' && !token.is_empty()) {
            if token.is_empty() && matches!(prev, '-' | '−' | '+') {
                token.push(if prev == '+' { '+' } else { '-' });
            }
            token.push(ch);
        } else if !token.is_empty() {
            out.push(token.trim_end_matches('.').parse().unwrap());
            token.clear();
        }
        prev = ch;
    }
    out
}

/// `values` as printed with `decimals` decimals.
fn rounded(values: &[f64], decimals: usize) -> Vec<f64> {
    values
        .iter()
        .map(|v| format!("{v:.decimals$}").parse().unwrap())
        .collect()
}

#[test]
fn second_reading_two_groups_that_classify_everyone_are_one_test_and_the_rest_is_a_domain() {
    use csi_plugin_sdk::statistics::Statistics;
    let golden = golden("second_reading.json");
    let study = csi_study::load(&root().join("tests/fixtures/second_reading/study.yaml")).unwrap();
    let conf = Confidence::default();
    for wave in &study.waves {
        let result = csi_engine::compute_wave(&study, wave).unwrap();
        let batch = csi_engine::statistics_batch(&result);
        let p = plugin();
        let request = Request {
            protocol: PROTOCOL_VERSION,
            analysis: "segment".into(),
            wave: result.wave.clone(),
            study: csi_engine::study_context(&study),
            options: p.resolve_options("segment", &serde_json::json!({})).unwrap(),
        };
        let report = p
            .run(
                &request,
                (csi_engine::statistics_schema(), vec![batch.clone()]),
                None,
                &Isolation::InProcess,
            )
            .unwrap();
        let stats = Statistics::read(&[batch]).unwrap();
        let Block::Markdown { text: finding } = &report.blocks[0] else {
            panic!("{report:?}")
        };
        let nodes = ["index", "service", "product", "price"];
        // Per segment: its index-and-categories table, column comparisons, heat map, weak cells.
        for (s, seg) in ["plan", "region"].iter().enumerate() {
            let want = &golden["waves"][&result.wave]["segments"][seg];
            let family = want["family"].as_u64().unwrap();
            assert_eq!(family, if *seg == "plan" { 4 } else { 12 }, "{seg}");
            let Block::Table(table) = &report.blocks[1 + 4 * s] else {
                panic!("{:?}", report.blocks[1 + 4 * s])
            };
            assert!(table.title.starts_with(if *seg == "plan" { "Plan" } else { "Region" }));
            let note = table.note.as_deref().unwrap();
            assert!(
                note.contains(&format!("this table's family is {family} tests")),
                "{note}"
            );
            let rows = want["rows"].as_array().unwrap();
            assert_eq!(rows.len(), table.rows.len() * nodes.len());
            let mut lowest: Option<(f64, &serde_json::Value)> = None;
            for g in rows {
                let (cell, node) = (g["cell"].as_str().unwrap(), g["node"].as_str().unwrap());
                let what = format!("{} {cell} {node}", result.wave);
                // The rest of the sample as the plugin derives it: all minus the
                // group, estimated in the wave's design (a domain SE).
                let rest = stats
                    .moments(&result.wave, "all", node, "score")
                    .unwrap()
                    .without(&stats.moments(&result.wave, cell, node, "score").unwrap())
                    .unwrap();
                let rest = stats.estimate(&result.wave, &rest, conf);
                let group = *stats.get(&result.wave, cell, node, "score").unwrap();
                for (name, e, gold) in [("rest", &rest, &g["rest"]), ("group", &group, &g["group"])] {
                    assert_eq!(e.n, gold["n"].as_u64().unwrap(), "{what} {name}: n");
                    for (k, v) in [
                        ("mean", e.mean.unwrap()),
                        ("se", e.se.unwrap()),
                        ("effective_n", e.effective_n),
                        ("sum_w", e.sum_w),
                    ] {
                        close_rel(&format!("{what} {name}: {k}"), v, gold[k].as_f64().unwrap());
                    }
                }
                let d = independent(&rest, &group, conf).unwrap();
                let test = &g["test"];
                for (k, v) in [("diff", d.diff), ("se", d.se), ("df", d.df), ("t", d.t), ("p", d.p)] {
                    close_rel(&format!("{what}: {k}"), v, test[k].as_f64().unwrap());
                }
                let adjusted = test["p_adjusted"].as_f64().unwrap();
                close_rel(&format!("{what}: adjusted p"), (d.p * family as f64).min(1.0), adjusted);
                // The table: the group's mean and the flag of the adjusted test.
                let label = &request.study.segments[s]
                    .groups
                    .iter()
                    .find(|x| x.cell == cell)
                    .unwrap()
                    .label;
                let gi = table
                    .rows
                    .iter()
                    .position(|r| r.cells[0] == Cell::Text(label.clone()))
                    .unwrap();
                let k = nodes.iter().position(|n| *n == node).unwrap();
                let Cell::Number(v) = table.rows[gi].cells[2 + k] else {
                    panic!()
                };
                close_rel(&format!("{what}: table"), v, g["group"]["mean"].as_f64().unwrap());
                let want_flags: Vec<Flag> = if adjusted < 0.05 {
                    vec![if d.diff > 0.0 { Flag::SigUp } else { Flag::SigDown }]
                } else {
                    vec![]
                };
                assert_eq!(table.rows[gi].flags[2 + k], want_flags, "{what}: flag");
                if node == "index" && lowest.is_none_or(|(m, _)| g["group"]["mean"].as_f64().unwrap() < m) {
                    lowest = Some((g["group"]["mean"].as_f64().unwrap(), g));
                }
            }
            // The finding: the lowest group on the index, with its adjusted p.
            let (_, low) = lowest.unwrap();
            let adjusted = low["test"]["p_adjusted"].as_f64().unwrap();
            let line = finding
                .lines()
                .find(|l| l.starts_with(&format!("- {}:", table.title.split(':').next().unwrap())))
                .unwrap_or_else(|| panic!("{finding}"));
            let shown = &line[line.find("adjusted p").unwrap_or_else(|| panic!("{line}"))..];
            if adjusted < 0.001 {
                assert!(shown.contains('<') && numbers_in(shown) == [0.001], "{line}");
            } else if adjusted > 0.99 {
                assert!(shown.contains('>') && numbers_in(shown) == [0.99], "{line}");
            } else {
                assert_eq!(numbers_in(shown), rounded(&[adjusted], 3), "{line}");
            }
            assert_eq!(line.contains("a significant difference"), adjusted < 0.05, "{line}");
        }
    }
}
