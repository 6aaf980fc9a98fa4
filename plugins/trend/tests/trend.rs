//! The trend plugin on the example study's three waves, loaded as a plugin: its
//! figures are the engine's, its tests are csi-stats' (golden-tested), and the
//! seed's story shows — promotions losing importance wave by wave.

use std::path::PathBuf;

use csi_blocks::wire::{Request, PROTOCOL_VERSION};
use csi_blocks::{Block, Cell, ChartKind, Report};
use csi_plugin_host::{load, Isolation, Origin, Plugin};
use csi_stats::{difference, relweights, Confidence};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn plugin() -> Plugin {
    let path = csi_plugin_host::built_library("csi_plugin_trend").expect("the library is built with its tests");
    load(&path, Origin::External).unwrap()
}

struct Example {
    study: csi_study::Study,
    results: Vec<csi_engine::WaveResult>,
}

fn example() -> Example {
    let study = csi_study::load(&root().join("reports/telecom/study.yaml")).unwrap();
    let results = study
        .waves
        .iter()
        .map(|w| csi_engine::compute_wave(&study, w).unwrap())
        .collect();
    Example { study, results }
}

fn run(ex: &Example, upto: usize, options: serde_json::Value) -> Report {
    let p = plugin();
    let request = Request {
        protocol: PROTOCOL_VERSION,
        analysis: "trend".into(),
        wave: ex.results[upto].wave.clone(),
        study: csi_engine::study_context(&ex.study),
        options: p.resolve_options("trend", &options).unwrap(),
    };
    let batches = ex.results[..=upto].iter().map(csi_engine::statistics_batch).collect();
    p.run(
        &request,
        (csi_engine::statistics_schema(), batches),
        None,
        &Isolation::InProcess,
    )
    .unwrap()
}

#[test]
fn trend_figures_are_the_engines_and_changes_are_tested() {
    let ex = example();
    let report = run(&ex, 2, serde_json::json!({}));
    let index = |w: usize| ex.results[w].series(csi_engine::INDEX_ID).unwrap().values[0].score;
    let Block::Headline { value, note, .. } = &report.blocks[0] else {
        panic!("{report:?}")
    };
    assert_eq!(*value, index(2).mean.unwrap());
    let conf = Confidence::new(ex.study.settings.confidence).unwrap();
    let d = difference::independent(&index(1), &index(2), conf).unwrap();
    assert!(
        note.as_deref().unwrap().contains(&format!("p = {:.3}", d.p)),
        "{note:?}"
    );

    // Index line: the engine's means and intervals, then the two benchmarks.
    let Block::Chart(chart) = &report.blocks[1] else {
        panic!()
    };
    let ChartKind::Line { series, categories } = &chart.spec else {
        panic!()
    };
    assert_eq!(categories.len(), 3);
    assert_eq!(series[0].values, (0..3).map(|w| index(w).mean).collect::<Vec<_>>());
    assert_eq!(series[0].low, (0..3).map(|w| index(w).ci_low).collect::<Vec<_>>());
    assert_eq!(series.len(), 3, "index, competitor, industry");
    assert_eq!(series[1].values, vec![Some(63.0), Some(64.0), Some(65.0)]);

    // Change table: the index row's change and p-value.
    let table = report
        .blocks
        .iter()
        .find_map(|b| match b {
            Block::Table(t) if t.columns.len() == 6 => Some(t),
            _ => None,
        })
        .unwrap();
    let row = &table.rows[0];
    assert_eq!(row.cells[4], Cell::Number(d.diff));
    assert_eq!(row.cells[5], Cell::Number(d.p));
    assert_eq!(table.rows.len(), 1 + 8, "index and the 8 categories");
}

#[test]
fn promotions_lose_importance_wave_by_wave() {
    let ex = example();
    let report = run(&ex, 2, serde_json::json!({}));
    // The importance table: a share per category per wave, summing to 1 per wave.
    let table = report
        .blocks
        .iter()
        .find_map(|b| match b {
            Block::Table(t) if t.columns.len() == 4 && t.rows.len() == 8 => Some(t),
            _ => None,
        })
        .expect("an importance table");
    for w in 1..4 {
        let sum: f64 = table
            .rows
            .iter()
            .map(|r| match r.cells[w] {
                Cell::Number(v) => v,
                _ => 0.0,
            })
            .sum();
        assert!((sum - 1.0).abs() < 1e-9, "wave {w}: {sum}");
    }
    let promotions = ex.study.tree.iter().position(|n| n.id == "promotions").unwrap();
    let share = |w: usize| match table.rows[promotions].cells[w + 1] {
        Cell::Number(v) => v,
        _ => panic!(),
    };
    assert!(
        share(0) > share(1) && share(1) > share(2),
        "{:?}",
        (share(0), share(1), share(2))
    );
    // The same share from csi-stats directly, for the last wave.
    let r = &ex.results[2];
    let ids: Vec<&str> = ex.study.tree.iter().map(|n| n.id.as_str()).collect();
    let corr = |x: &str, y: &str| {
        if x == y {
            return 1.0;
        }
        let c = r
            .cross
            .iter()
            .find(|c| (c.x == x && c.y == y) || (c.x == y && c.y == x))
            .unwrap();
        c.values[0].unwrap().correlation().unwrap()
    };
    let r_xx: Vec<Vec<f64>> = ids.iter().map(|x| ids.iter().map(|y| corr(x, y)).collect()).collect();
    let r_xy: Vec<f64> = ids.iter().map(|x| corr(x, "overall")).collect();
    let rw = relweights::relative_weights(&r_xx, &r_xy).unwrap();
    assert!((rw.shares()[promotions] - share(2)).abs() < 1e-12);
    // And the finding names the largest fall.
    let finding = report
        .blocks
        .iter()
        .rev()
        .find_map(|b| match b {
            Block::Markdown { text } => Some(text.clone()),
            _ => None,
        })
        .unwrap();
    let label = ex.study.text(&ex.study.tree[promotions].label).to_string();
    let fall = finding.find(&label).expect("promotions named");
    assert!(
        finding[..fall].len() < finding.len() / 2,
        "named as the largest fall: {finding}"
    );
}

#[test]
fn the_first_wave_has_no_change_and_says_so() {
    let ex = example();
    let report = run(&ex, 0, serde_json::json!({"cell": "customer_type=2"}));
    let Block::Headline { note, value, .. } = &report.blocks[0] else {
        panic!()
    };
    let want = ex.results[0].series(csi_engine::INDEX_ID).unwrap().values
        [ex.results[0].cell_index("customer_type=2").unwrap()]
    .score
    .mean
    .unwrap();
    assert_eq!(*value, want);
    assert!(note.as_deref().unwrap().contains("首期"), "{note:?}");
}
