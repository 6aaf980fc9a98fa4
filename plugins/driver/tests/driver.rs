//! The driver plugin loaded as a plugin on the example study: its importances are
//! csi-stats' kernels (golden-tested) applied to the engine's co-moments, its
//! quadrants follow the means, and the seed's weak, important categories land in
//! "improve first". On the fixtures of tests/fixtures (kano_short, kano_weighted,
//! mini, pairwise_inconsistent): the penalty–reward analysis against statsmodels
//! (tests/goldens/make_driver_goldens.py, 1e-8 relative), its refusals, the refusal
//! of inconsistent pairwise correlations and the choice of outcome.

use std::path::PathBuf;
use std::sync::Arc;

use csi_blocks::wire::{Request, PROTOCOL_VERSION};
use csi_blocks::{Block, Cell, ChartKind, Report, Table};
use csi_plugin_host::{load, Isolation, Origin, Plugin};
use csi_plugin_sdk::arrow_array::{RecordBatch, RecordBatchIterator, RecordBatchReader};
use csi_plugin_sdk::arrow_schema::{Field, Schema};
use csi_stats::relweights::{lmg, relative_weights, standardised_coefficients, RelativeWeightsError};

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
        // The unstandardised coefficient from the pair's own spreads.
        let c = result
            .cross
            .iter()
            .find(|c| (c.x == ids[i] && c.y == "overall") || (c.y == ids[i] && c.x == "overall"))
            .unwrap();
        let pair = c.values[0].unwrap();
        let (sx, sy) = if c.x == ids[i] {
            (pair.ss_x, pair.ss_y)
        } else {
            (pair.ss_y, pair.ss_x)
        };
        let unstandardised = betas[i] * (sy / pair.sum_w).sqrt() / (sx / pair.sum_w).sqrt();
        // Same kernels, same inputs; equal up to the order of floating-point sums.
        for (k, want) in [
            (2, betas[i]),
            (3, unstandardised),
            (4, shapley[i] / r2),
            (5, shapley[i]),
            (6, johnson[i]),
            (7, johnson[i] * r2),
        ] {
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
        assert_eq!(row.cells[8], Cell::Text(want.into()));
    }
}

#[test]
fn the_matrix_names_its_quadrants_as_the_table_does_and_goes_to_the_overview() {
    let (study, result) = example();
    let report = run(&study, &result, serde_json::json!({})).unwrap();
    let (Block::Chart(chart), Block::Table(table)) = (&report.blocks[1], &report.blocks[2]) else {
        panic!("{report:#?}")
    };
    let ChartKind::Scatter {
        points,
        x_line,
        y_line,
        quadrants,
        ..
    } = &chart.spec
    else {
        panic!()
    };
    // Corners: top left, top right, bottom left, bottom right; x = importance,
    // y = performance.
    let corners = quadrants.as_ref().expect("named quadrants");
    assert_eq!(corners, &["可能过度投入", "继续保持", "次要改进", "优先改进"]);
    let (mx, my) = (x_line.unwrap(), y_line.unwrap());
    let mut improve = Vec::new();
    for row in &table.rows {
        let Cell::Text(label) = &row.cells[0] else { panic!() };
        let p = points.iter().find(|p| &p.label == label).unwrap();
        let corner = if p.y >= my { 0 } else { 2 } + usize::from(p.x >= mx);
        assert_eq!(row.cells[8], Cell::Text(corners[corner].clone()), "{label}");
        assert_eq!(p.highlight, corner == 3, "{label}: highlighted iff improve first");
        if corner == 3 {
            improve.push(label.clone()); // the table is in order of importance
        }
    }
    assert!(!improve.is_empty());
    // The overview: the finding names the (at most) three most important, in
    // order, then the matrix itself.
    let [Block::Markdown { text }, Block::Chart(offered)] = &report.overview[..] else {
        panic!("{:#?}", report.overview)
    };
    assert_eq!(offered, chart);
    let mut at = 0;
    for label in improve.iter().take(3) {
        let pos = text[at..]
            .find(label.as_str())
            .unwrap_or_else(|| panic!("{label} in {text}"));
        at += pos + label.len();
    }
    for label in improve.iter().skip(3) {
        assert!(!text.contains(label.as_str()), "{label} in {text}");
    }
    assert!(text.contains("优先改进"), "{text}");

    // In English, the same words in the table and in the corners.
    let short = fixture("kano_short");
    let report = run_on(&short, serde_json::json!({}), Some(None), |_| {}).unwrap();
    let Block::Chart(chart) = &report.blocks[1] else {
        panic!("{report:#?}")
    };
    let ChartKind::Scatter { quadrants, .. } = &chart.spec else {
        panic!()
    };
    let corners = quadrants.as_ref().unwrap();
    assert_eq!(
        corners,
        &["Possible overkill", "Keep up", "Low priority", "Improve first"]
    );
    let Block::Table(table) = &report.blocks[2] else {
        panic!()
    };
    for row in &table.rows {
        let Cell::Text(q) = &row.cells[8] else { panic!() };
        assert!(corners.contains(q), "{q}");
    }
    let Block::Markdown { text } = &report.overview[0] else {
        panic!()
    };
    assert!(text.starts_with("For **Overall satisfaction**, "), "{text}");
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

// ------------------------------------------------------------------ fixtures

fn fixture(name: &str) -> csi_study::Study {
    csi_study::load(&root().join(format!("tests/fixtures/{name}/study.yaml"))).unwrap()
}

fn golden(name: &str) -> serde_json::Value {
    let path = root().join(format!("tests/goldens/{name}"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Runs the plugin on the first wave of `study`, with the respondent rows unless
/// `rows` is `Some(None)`, and optionally a changed study context.
fn run_on(
    study: &csi_study::Study,
    options: serde_json::Value,
    rows: Option<Option<Box<dyn RecordBatchReader + Send>>>,
    context: impl FnOnce(&mut csi_blocks::wire::StudyContext),
) -> Result<Report, String> {
    let wave = &study.waves[0];
    let result = csi_engine::compute_wave(study, wave).unwrap();
    let p = plugin();
    let mut request = Request {
        protocol: PROTOCOL_VERSION,
        analysis: "driver".into(),
        wave: result.wave.clone(),
        study: csi_engine::study_context(study),
        options: p.resolve_options("driver", &options).map_err(|e| e.to_string())?,
    };
    context(&mut request.study);
    let stats = (
        csi_engine::statistics_schema(),
        vec![csi_engine::statistics_batch(&result)],
    );
    let rows = rows.unwrap_or_else(|| Some(csi_engine::rows_reader(study, wave)));
    p.run(&request, stats, rows, &Isolation::InProcess)
        .map_err(|e| e.to_string())
}

fn kano_table(report: &Report) -> &Table {
    report
        .blocks
        .iter()
        .find_map(|b| match b {
            Block::Table(t) if t.title.contains("Kano") => Some(t),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no Kano table in {report:#?}"))
}

fn label_of(study: &csi_study::Study, node: &str) -> String {
    fn find<'a>(nodes: &'a [csi_study::Node], id: &str) -> Option<&'a csi_study::Node> {
        nodes
            .iter()
            .find_map(|n| if n.id == id { Some(n) } else { find(&n.children, id) })
    }
    study.text(&find(&study.tree, node).unwrap().label).to_string()
}

fn row<'a>(table: &'a Table, label: &str) -> &'a [Cell] {
    &table
        .rows
        .iter()
        .find(|r| r.cells[0] == Cell::Text(label.into()))
        .unwrap_or_else(|| panic!("no row {label} in {table:#?}"))
        .cells
}

fn number(c: &Cell) -> f64 {
    match c {
        Cell::Number(x) => *x,
        other => panic!("not a number: {other:?}"),
    }
}

fn close(what: &str, got: f64, want: f64) {
    assert!(
        (got - want).abs() <= 1e-8 * want.abs(),
        "{what}: {got} vs golden {want}"
    );
}

fn class_name(class: &str, zh: bool) -> &'static str {
    match (class, zh) {
        ("performance", true) => "期望型（绩效）",
        ("performance", false) => "performance",
        ("basic", true) => "必备型（基本）",
        ("basic", false) => "basic (must-be)",
        ("excitement", true) => "魅力型（兴奋）",
        ("excitement", false) => "excitement",
        ("none", true) => "惩罚与奖励均不显著，未分类",
        ("none", false) => "not classified: neither penalty nor reward significant",
        ("unexpected_sign", true) => "符号异常，未分类",
        ("unexpected_sign", false) => "unexpected sign, not classified",
        other => panic!("{other:?}"),
    }
}

/// Every indicator of the golden against its table row: coefficients and SEs at
/// 1e-8 relative, counts, and the class or the reason it has none.
fn check_against_golden(study: &csi_study::Study, table: &Table, golden: &serde_json::Value, zh: bool) {
    let indicators = golden["indicators"].as_object().unwrap();
    assert_eq!(table.rows.len(), indicators.len(), "{table:#?}");
    for (node, g) in indicators {
        let cells = row(table, &label_of(study, node));
        let count = |k: &str| g[k].as_u64().unwrap() as f64;
        match g["status"].as_str().unwrap() {
            "classified" => {
                for (k, i) in [("penalty", 1), ("penalty_se", 2), ("reward", 3), ("reward_se", 4)] {
                    close(&format!("{node} {k}"), number(&cells[i]), g[k].as_f64().unwrap());
                }
                let counts = [5, 6, 7].map(|i| number(&cells[i]));
                assert_eq!(counts, [count("n_low"), count("n_middle"), count("n_top")], "{node}");
                assert_eq!(
                    cells[8],
                    Cell::Text(class_name(g["class"].as_str().unwrap(), zh).into()),
                    "{node}"
                );
            }
            "no_middle" => {
                let (points, top_box) = (g["points"].as_u64().unwrap(), g["top_box"].as_u64().unwrap());
                let want = if zh {
                    format!("未分类：{points} 级量表、高分段为 {top_box} 档时没有中间类别")
                } else {
                    format!("not classified: no middle category on a {points}-point scale with top box {top_box}")
                };
                let Cell::Text(text) = &cells[8] else { panic!() };
                assert!(text.starts_with(&want), "{node}: {text}");
                assert!(cells[1..8].iter().all(|c| *c == Cell::Empty(())), "{node}: {cells:?}");
            }
            "too_few" => {
                let n = g["n"].as_u64().unwrap();
                let which = match (g["category"].as_str().unwrap(), zh) {
                    ("low", true) => "评分低于中点",
                    ("low", false) => "rated it low",
                    other => panic!("{other:?}"),
                };
                let want = if zh {
                    format!("未分类：只有 {n} 名受访者{which}（少于 30）")
                } else {
                    format!("not classified: only {n} respondents {which} (fewer than 30)")
                };
                assert_eq!(cells[8], Cell::Text(want), "{node}");
                assert!(cells[1..5].iter().all(|c| *c == Cell::Empty(())), "{node}: {cells:?}");
                let counts = [5, 6, 7].map(|i| number(&cells[i]));
                assert_eq!(counts, [count("n_low"), count("n_middle"), count("n_top")], "{node}");
            }
            other => panic!("{node}: {other}"),
        }
    }
}

#[test]
fn four_point_scales_without_a_middle_are_refused_by_name_not_estimated() {
    let study = fixture("kano_short");
    let g = golden("driver_kano_short.json");
    let report = run_on(&study, serde_json::json!({}), None, |_| {}).unwrap();
    let table = kano_table(&report);
    check_against_golden(&study, table, &g, false);
    // Three of the four refused: 1–4 with a top-two box has no middle answer.
    for label in ["Staff", "Opening hours", "Range"] {
        assert_eq!(
            row(table, label)[8],
            Cell::Text("not classified: no middle category on a 4-point scale with top box 2 (every answer is in the lower half or in the top box)".into())
        );
    }
    // The top box is not a column: the note states it once per scale, naming the
    // indicators of all but the commonest.
    assert!(
        table.columns.iter().all(|c| c.label != "Top box"),
        "{:?}",
        table.columns
    );
    // Listwise over the outcome and the one classified indicator, out of everyone.
    let note = table.note.as_deref().unwrap();
    assert!(
        note.starts_with(&format!(
            "Least squares over {} of {} respondents: those who answered Overall satisfaction and every classified indicator",
            g["used"], g["respondents"]
        )),
        "{note}"
    );
    assert!(note.contains("Classes at 95% confidence"), "{note}");
    assert!(note.contains("the middle answers are the reference"), "{note}");
    assert!(
        note.contains("Top box: the top point of the 1–4 scale (4) for Speed; the top 2 points of the 1–4 scale (3–4) for the other indicators."),
        "{note}"
    );
}

#[test]
fn penalty_reward_matches_statsmodels_with_weights_non_response_and_mixed_scales() {
    let study = fixture("kano_weighted");
    let g = golden("driver_kano_weighted.json");
    assert_eq!(g["confidence"], 0.9);
    let report = run_on(&study, serde_json::json!({}), None, |_| {}).unwrap();
    let table = kano_table(&report);
    check_against_golden(&study, table, &g, true);
    // Every outcome of the method is there.
    let classes: Vec<&str> = g["indicators"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v["class"].as_str().unwrap_or(v["status"].as_str().unwrap()))
        .collect();
    for c in [
        "performance",
        "basic",
        "excitement",
        "none",
        "unexpected_sign",
        "too_few",
        "no_middle",
    ] {
        assert!(classes.contains(&c), "{c} in {classes:?}");
    }
    // The lower-is-better scale's top box is at the low end.
    let note = table.note.as_deref().unwrap();
    assert!(
        note.contains("办事费力程度为 1–5 量表的最低 2 档（1–2，越低越好）"),
        "the definition, once, in the note: {note}"
    );
    assert!(note.contains("1–10 量表的最高 2 档（9–10）"), "{note}");
    assert!(
        note.starts_with(&format!(
            "对 {} 名受访者中的 {} 名作加权最小二乘回归",
            g["respondents"], g["used"]
        )),
        "{note}"
    );
    assert!(note.contains("按 90% 置信水平"), "{note}");
    assert!(note.contains("非评分量表、未纳入：等待时间。"), "{note}");
    assert!(!table.rows.iter().any(|r| r.cells[0] == Cell::Text("等待时间".into())));
}

#[test]
fn the_rows_say_where_each_top_box_starts() {
    let study = fixture("kano_weighted");
    let schema = csi_engine::rows_schema(&study, &study.waves[0]);
    let top = |column: &str| {
        schema
            .field_with_name(column)
            .unwrap()
            .metadata()
            .get("csi.top")
            .cloned()
    };
    assert_eq!(top("a1").as_deref(), Some("4")); // top two of 1–5
    assert_eq!(top("a3").as_deref(), Some("2")); // lower is better: 1–2
    assert_eq!(top("b1").as_deref(), Some("9")); // top two of 1–10
    assert_eq!(top("b5").as_deref(), Some("3")); // top two of 1–4
    assert_eq!(top("t6"), None); // minutes: no top box
    let short = fixture("kano_short");
    let schema = csi_engine::rows_schema(&short, &short.waves[0]);
    assert_eq!(schema.field_with_name("p2").unwrap().metadata()["csi.top"], "4");
}

/// The mini study's rows with `csi.top` removed, as rows from a scale without a
/// top box would come.
fn rows_without_top_box(study: &csi_study::Study) -> Box<dyn RecordBatchReader + Send> {
    let reader = csi_engine::rows_reader(study, &study.waves[0]);
    let schema = reader.schema();
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| {
            let mut m = f.metadata().clone();
            m.remove("csi.top");
            f.as_ref().clone().with_metadata(m)
        })
        .collect();
    let stripped = Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()));
    let batches: Vec<RecordBatch> = reader
        .map(|b| RecordBatch::try_new(stripped.clone(), b.unwrap().columns().to_vec()).unwrap())
        .collect();
    Box::new(RecordBatchIterator::new(batches.into_iter().map(Ok), stripped))
}

#[test]
fn penalty_reward_matches_statsmodels_on_the_mini_study_and_without_a_top_box() {
    let study = fixture("mini");
    let g = golden("driver_kano_mini.json");
    let report = run_on(&study, serde_json::json!({}), None, |_| {}).unwrap();
    let table = kano_table(&report);
    check_against_golden(&study, table, &g, true);
    let note = table.note.as_deref().unwrap();
    assert!(
        note.contains(&format!("对 {} 名受访者中的 {} 名", g["respondents"], g["used"])),
        "{note}"
    );
    assert!(!note.contains("未设高分段"), "{note}");

    // A scale that sets no top box: its top two points, which on 1–10 is the
    // mini study's own top-two box, so the same numbers; the note says so.
    let report = run_on(
        &study,
        serde_json::json!({}),
        Some(Some(rows_without_top_box(&study))),
        |_| {},
    )
    .unwrap();
    let table = kano_table(&report);
    check_against_golden(&study, table, &g, true);
    let note = table.note.as_deref().unwrap();
    assert!(note.contains("高分段 = 1–10，最高两档（量表未设高分段）。"), "{note}");
    assert!(
        note.contains("覆盖、通话质量、计费准确性的量表未设高分段，按最高两档计。"),
        "{note}"
    );
}

#[test]
fn inconsistent_pairwise_correlations_are_refused_in_place() {
    let study = fixture("pairwise_inconsistent");
    let g = golden("driver_pairwise.json");
    // The engine's pairwise correlations are numpy's.
    let result = csi_engine::compute_wave(&study, &study.waves[0]).unwrap();
    let stats = csi_plugin_sdk::statistics::Statistics::read(&[csi_engine::statistics_batch(&result)]).unwrap();
    let c = stats
        .correlations(&result.wave, "all", &["reach", "price"], "overall")
        .unwrap();
    close(
        "reach:price",
        c.r_xx[0][1],
        g["correlations"]["reach:price"].as_f64().unwrap(),
    );
    close(
        "reach:overall",
        c.r_xy[0],
        g["correlations"]["reach:overall"].as_f64().unwrap(),
    );
    close(
        "price:overall",
        c.r_xy[1],
        g["correlations"]["price:overall"].as_f64().unwrap(),
    );
    assert_eq!(c.min_n, g["smallest_base"].as_u64().unwrap());
    // The predictors alone pass; the full matrix does not; every kernel refuses it
    // with numpy's smallest eigenvalue.
    assert!(g["predictor_eigenvalues"][0].as_f64().unwrap() > 0.0);
    assert!(g["r_squared_unchecked"].as_f64().unwrap() > 1.0);
    let smallest = g["full_eigenvalues"][0].as_f64().unwrap();
    assert!(smallest < 0.0);
    for got in [
        standardised_coefficients(&c.r_xx, &c.r_xy).map(|_| ()),
        lmg(&c.r_xx, &c.r_xy).map(|_| ()),
        relative_weights(&c.r_xx, &c.r_xy).map(|_| ()),
    ] {
        match got {
            Err(RelativeWeightsError::Inconsistent(l)) => close("smallest eigenvalue", l, smallest),
            other => panic!("{other:?}"),
        }
    }
    // The page says why, in place of the importances, and names the smallest base.
    let report = run_on(&study, serde_json::json!({}), None, |_| {}).unwrap();
    let Block::Markdown { text } = &report.blocks[0] else {
        panic!("{report:#?}")
    };
    assert!(
        text.starts_with(
            "**No derived importance for Overall satisfaction: the pairwise-complete correlations are inconsistent.**"
        ),
        "{text}"
    );
    assert!(
        text.contains(&format!("smallest pairwise base {}", g["smallest_base"])),
        "{text}"
    );
    assert!(text.contains(&format!("{smallest:.3}")), "{text}");
    assert!(text.contains("R² would exceed 1"), "{text}");
    assert!(
        !report.blocks.iter().any(|b| matches!(b, Block::Chart(_))),
        "no importance–performance matrix: {report:#?}"
    );
    assert!(
        !report
            .blocks
            .iter()
            .any(|b| matches!(b, Block::Table(t) if t.title.contains("Derived importance"))),
        "no importance table"
    );
    // The penalty–reward analysis is listwise, so still valid: here nobody answered
    // all three questions, and it says so — in words, never as "only 0".
    let table = kano_table(&report);
    let note = table.note.as_deref().unwrap();
    assert!(
        note.starts_with("None of 135 respondents answered Overall satisfaction and all 2 indicators analysable on their scale (they were asked of different respondents, or some have no answers), so there is no regression: classify fewer indicators at a time (option `within`"),
        "{note}"
    );
    // Nothing estimated or counted: the empty columns are left out.
    assert_eq!(table.columns.len(), 2, "{:?}", table.columns);
    assert_eq!(
        row(table, "Reach")[1],
        Cell::Text("not classified: the indicators were asked of different respondents (nobody answered all 2), so there is no joint model".into())
    );
}

#[test]
fn the_default_outcome_is_an_overall_item_never_the_index() {
    let study = fixture("kano_short");
    let finding = |report: &Report| match &report.blocks[0] {
        Block::Markdown { text } => text.clone(),
        other => panic!("{other:?}"),
    };
    let report = run_on(&study, serde_json::json!({}), Some(None), |_| {}).unwrap();
    let text = finding(&report);
    assert!(text.starts_with("For **Overall satisfaction**"), "{text}");
    assert!(!text.contains("by construction"), "{text}");

    // Without an overall item there is no default.
    let err = run_on(&study, serde_json::json!({}), Some(None), |s| {
        s.nodes.retain(|n| n.kind != "overall")
    })
    .unwrap_err();
    assert!(err.contains("the study has no overall-satisfaction item"), "{err}");
    assert!(err.contains("`outcome:`"), "{err}");

    // The index, named knowingly: its drivers are its own components. Here with
    // pairwise bases R² would pass 1: refused, saying why it is close to 1 at all.
    let report = run_on(&study, serde_json::json!({"outcome": "index"}), None, |_| {}).unwrap();
    let text = finding(&report);
    assert!(
        text.starts_with(
            "**No derived importance for Satisfaction index: the pairwise-complete correlations are inconsistent.**"
        ),
        "{text}"
    );
    assert!(
        text.contains("The drivers are Satisfaction index's own components, so R² is close to 1 by construction"),
        "{text}"
    );
    // And no penalty–reward on a computed score.
    assert!(report.blocks.iter().any(|b| matches!(b,
        Block::Markdown { text } if text.starts_with("No penalty–reward analysis: the outcome `index` has no answers in the respondent rows"))));
    // In the example the matrix is consistent: the finding says R² is high by
    // construction.
    let (telecom, result) = example();
    let report = run(&telecom, &result, serde_json::json!({"outcome": "index"})).unwrap();
    let text = finding(&report);
    // The index as the study labels it (顾客满意度指数（CSI）).
    let index = telecom.text(&telecom.index_label);
    // After a closing bracket `**` closes only before punctuation or a space: the
    // one space that keeps the name bold.
    assert!(index.ends_with('）'), "{index}");
    assert!(text.starts_with(&format!("对**{index}** 而言")), "{text}");
    assert!(
        text.contains(&format!(
            "注意：R² 因构造而偏高——{index}本身就是由这些驱动因素计算出来的"
        )),
        "{text}"
    );
    let report = run(&telecom, &result, serde_json::json!({"outcome": "overall"})).unwrap();
    assert!(!finding(&report).contains("因构造"), "{report:#?}");
}

#[test]
fn a_joint_model_too_thin_falls_back_to_one_model_per_driver() {
    // The example's billing and prepaid questions go to different customers, so
    // nobody answers all 38 indicators: each driver gets a model of its own.
    let study = csi_study::load(&root().join("reports/telecom/study.yaml")).unwrap();
    let report = run_on(&study, serde_json::json!({}), None, |_| {}).unwrap();
    let table = kano_table(&report);
    let note = table.note.as_deref().unwrap();
    assert!(note.contains("每个驱动因素单独建模"), "{note}");
    let classified = ["期望型（绩效）", "必备型（基本）", "魅力型（兴奋）"];
    let class_of = |r: &csi_blocks::Row| match r.cells.last() {
        Some(Cell::Text(t)) => t.clone(),
        other => panic!("{other:?}"),
    };
    assert!(
        table
            .rows
            .iter()
            .filter(|r| classified.contains(&class_of(r).as_str()))
            .count()
            >= 10,
        "most drivers' indicators are classified"
    );
    // Each classified indicator's low + middle + top counts are its model's base,
    // which the note states per driver.
    let network = label_of(&study, "network");
    let base: u64 = note
        .split(&format!("{network} "))
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no base for {network} in {note}"));
    let coverage = row(table, &label_of(&study, "net_coverage"));
    let counts: u64 = coverage[coverage.len() - 4..coverage.len() - 1]
        .iter()
        .map(|c| number(c) as u64)
        .sum();
    assert_eq!(counts, base);
}

#[test]
fn a_driver_whose_parts_were_asked_of_different_customers_gets_a_model_per_part() {
    // Billing: charging is asked of everyone, statements and payment of contract
    // customers, the prepaid services of prepaid customers; nobody answers all
    // seven, so each sub-category has its model, over its own respondents.
    let study = csi_study::load(&root().join("reports/telecom/study.yaml")).unwrap();
    let report = run_on(&study, serde_json::json!({}), None, |_| {}).unwrap();
    let table = kano_table(&report);
    let note = table.note.as_deref().unwrap();
    let billing = label_of(&study, "billing");
    let parts = ["billing_charging", "billing_payment", "billing_prepaid"].map(|id| label_of(&study, id));
    assert!(
        note.contains(&format!(
            "{billing}（其各项指标分别询问不同的受访者，按下一级分别建模：{} ",
            parts[0]
        )),
        "{note}"
    );
    assert!(!note.contains(" 0 名") && !note.contains("只有 0 名"), "{note}");
    for r in &table.rows {
        let Some(Cell::Text(class)) = r.cells.last() else {
            panic!()
        };
        assert!(!class.contains(" 0 名"), "{class}");
    }
    // Each part's model is the joint model of that sub-category alone: the same
    // regression over the same respondents, so the same numbers.
    for (id, part) in ["billing_charging", "billing_payment", "billing_prepaid"]
        .iter()
        .zip(&parts)
    {
        let alone = run_on(&study, serde_json::json!({"within": id}), None, |_| {}).unwrap();
        let alone = kano_table(&alone);
        let base: u64 = note
            .split(&format!("{part} "))
            .nth(1)
            .and_then(|rest| rest.split(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no base for {part} in {note}"));
        assert!(
            alone
                .note
                .as_deref()
                .unwrap()
                .contains(&format!("中的 {base} 名作加权最小二乘回归")),
            "{part}: {:?}",
            alone.note
        );
        assert!(!alone.rows.is_empty());
        // (Equal up to the order of the sums: the answer patterns differ.)
        for r in &alone.rows {
            let Cell::Text(label) = &r.cells[0] else { panic!() };
            let here = row(table, label);
            assert_eq!(here.len(), r.cells.len(), "{part}: {label}");
            for (a, b) in here.iter().zip(&r.cells) {
                match (a, b) {
                    (Cell::Number(a), Cell::Number(b)) => {
                        assert!((a - b).abs() <= 1e-9 * b.abs().max(1.0), "{part}: {label}: {a} vs {b}")
                    }
                    _ => assert_eq!(a, b, "{part}: {label}"),
                }
            }
        }
    }
}
