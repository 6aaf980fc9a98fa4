//! The topbox plugin on the example study, loaded as a plugin: its shares are the
//! engine's top-box shares, its intervals interval cells, and the page names the
//! study's top box ("高分段 = 1–10 量表的最高 2 档（9–10）") and the respondents
//! by their labels, never by a cell id.

use std::path::PathBuf;

use csi_blocks::wire::{Request, PROTOCOL_VERSION};
use csi_blocks::{Block, Cell, ColumnKind, Report};
use csi_plugin_host::{load, Isolation, Origin};

fn run(cell: &str, with_rows: bool) -> (csi_engine::WaveResult, Report) {
    run_with(serde_json::json!({"cell": cell}), with_rows)
}

fn run_with(options: serde_json::Value, with_rows: bool) -> (csi_engine::WaveResult, Report) {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let study = csi_study::load(&root.join("reports/telecom/study.yaml")).unwrap();
    let wave = &study.waves[2];
    let result = csi_engine::compute_wave(&study, wave).unwrap();
    let path = csi_plugin_host::built_library("csi_plugin_topbox").expect("the library is built with its tests");
    let p = load(&path, Origin::External).unwrap();
    let request = Request {
        protocol: PROTOCOL_VERSION,
        analysis: "topbox".into(),
        wave: result.wave.clone(),
        study: csi_engine::study_context(&study),
        options: p.resolve_options("topbox", &options).unwrap(),
    };
    let stats = (
        csi_engine::statistics_schema(),
        vec![csi_engine::statistics_batch(&result)],
    );
    let rows = with_rows.then(|| csi_engine::rows_reader(&study, wave));
    let report = p.run(&request, stats, rows, &Isolation::InProcess).unwrap();
    (result, report)
}

#[test]
fn the_study_top_box_is_named_in_place() {
    let (result, report) = run("all", true);
    let [Block::Markdown { text }, Block::Table(table)] = &report.blocks[..] else {
        panic!("{report:#?}")
    };
    let definition = "高分段 = 1–10 量表的最高 2 档（9–10）。";
    // Bold between punctuation marks: it renders whatever the label.
    assert!(text.starts_with("高分段比例最低的指标：**"), "{text}");
    assert!(text.ends_with(definition), "{text}");
    assert!(table.note.as_deref().unwrap().starts_with(definition));
    assert_eq!(report.title.as_deref(), Some("高分段比例"));
    assert_eq!(table.title, "各指标高分段比例（由低到高，全部受访者）");
    // Shares and their intervals: 0–1 numbers in percent columns.
    assert_eq!(table.columns[1].kind, ColumnKind::Percent);
    assert_eq!(table.columns[2].kind, ColumnKind::Percent);
    let engine: Vec<f64> = result
        .series
        .iter()
        .filter(|s| s.node.kind == csi_engine::NodeKind::Indicator)
        .filter_map(|s| s.values[0].top_box.and_then(|t| t.mean))
        .collect();
    for row in &table.rows {
        let Cell::Number(share) = row.cells[1] else { panic!() };
        assert!(
            engine.iter().any(|e| (e - share).abs() <= 1e-12),
            "{share} is the engine's: {engine:?}"
        );
        let Cell::Interval(i) = row.cells[2] else {
            panic!("{:?}", row.cells[2])
        };
        assert!(
            0.0 <= i.low && i.low <= share && share <= i.high && i.high <= 1.0,
            "{i:?}"
        );
    }
}

#[test]
fn groups_are_named_by_their_labels_and_without_rows_the_definition_is_general() {
    let (_, report) = run("customer_type=2", false);
    let [Block::Markdown { text }, Block::Table(table)] = &report.blocks[..] else {
        panic!("{report:#?}")
    };
    assert_eq!(table.title, "各指标高分段比例（由低到高，用户类型：高额话费用户）");
    assert!(!table.title.contains("customer_type"), "{}", table.title);
    assert!(text.ends_with("高分段：各指标量表在研究中设定的最高几档。"), "{text}");
}

#[test]
fn a_limited_list_says_it_shows_the_lowest_n_of_m() {
    let (_, all) = run("all", true);
    let [_, Block::Table(all)] = &all.blocks[..] else {
        panic!()
    };
    let total = all.rows.len();
    assert!(total > 12, "{total}");
    let (_, report) = run_with(serde_json::json!({"limit": 12}), true);
    let [_, Block::Table(table)] = &report.blocks[..] else {
        panic!("{report:#?}")
    };
    assert_eq!(table.rows.len(), 12);
    assert_eq!(table.rows[..], all.rows[..12]);
    assert_eq!(
        table.title,
        format!("高分段比例最低的 12 项指标（共 {total} 项，由低到高，全部受访者）")
    );
    // A limit above the number of indicators lists them all, under the plain title.
    let (_, report) = run_with(serde_json::json!({"limit": 1000}), true);
    let [_, Block::Table(table)] = &report.blocks[..] else {
        panic!()
    };
    assert_eq!(table.title, "各指标高分段比例（由低到高，全部受访者）");
}
