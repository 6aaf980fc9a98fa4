//! The gap plugin loaded as a plugin: on the mini study its figures are the
//! goldens (paired gaps from the independent implementation) and its tests are
//! csi-stats' golden-tested one-sample test; on the example study gaps in minutes
//! are the point gaps converted back to the unit.

use std::path::PathBuf;

use csi_blocks::wire::{Request, PROTOCOL_VERSION};
use csi_blocks::{Block, Cell, ColumnKind, Flag, Report, Table};
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
    run_study(study, options)
}

/// Runs the plugin on the last wave of `study`.
fn run_study(study: csi_study::Study, options: serde_json::Value) -> Result<(csi_study::Study, Report), String> {
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
    // Performance over the gap's base (those who also gave an expectation), so
    // that performance − expectation is the gap.
    close(num(&row.cells[2]), g["paired_score"]["mean"].as_f64().unwrap());
    close(
        num(&row.cells[2]) - num(&row.cells[1]),
        g["gap"]["mean"].as_f64().unwrap(),
    );
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
    // The p-value is a number in a p-value column (the site prints "< 0.001"); the
    // gap and its interval are signed.
    close(num(&row.cells[5]), d.p); // one test: nothing to adjust
    assert_eq!(t[1].columns[5].kind, ColumnKind::PValue);
    assert!(t[1].columns[3].signed && t[1].columns[4].signed);
    let Cell::Interval(i) = row.cells[4] else {
        panic!("{:?}", row.cells[4])
    };
    assert!(i.low < num(&row.cells[3]) && num(&row.cells[3]) < i.high);
    let sig = d.p < 0.05;
    assert_eq!(
        row.flags[3].contains(&Flag::SigDown) || row.flags[3].contains(&Flag::SigUp),
        sig
    );
    // Per segment group: one row per category (the index first), one column per
    // group, here the index gap of each customer type.
    let seg = t.last().unwrap();
    assert_eq!(seg.rows.len(), t[0].rows.len());
    assert_eq!(seg.columns.len(), 1 + 3);
    assert_eq!(seg.rows[0].cells[0], t[0].rows[0].cells[0]);
    for k in 0..3 {
        close(
            num(&seg.rows[0].cells[k + 1]),
            find(&format!("type={}", k + 1), "__index__")["gap"]["mean"]
                .as_f64()
                .unwrap(),
        );
    }
    let note = seg.note.as_deref().unwrap();
    let n = find("type=1", "__index__")["gap"]["n"].as_u64().unwrap();
    assert!(note.contains(&format!(" n = {n}")), "{note}");
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
        // Actual − expected in the unit: the point gap reversed where lower is
        // better; said in words, with which way is worse (a longer wait is worse).
        let points = num(&row.cells[3]);
        let sign = if node.lower_is_better { -1.0 } else { 1.0 };
        let raw = sign * points * (max - min) / 100.0;
        let want = format!(
            "比期望{} {:.1} {unit}（{}）",
            if raw > 0.0 { "多" } else { "少" },
            raw.abs(),
            if points < 0.0 { "较差" } else { "较好" }
        );
        assert_eq!(row.cells[7], Cell::Text(want));
        if node.lower_is_better && points < 0.0 {
            assert!(matches!(&row.cells[7], Cell::Text(t) if t.contains("多") && t.contains("较差")));
        }
        checked += 1;
    }
    assert!(checked > 0, "the example has gaps in a unit");
}

#[test]
fn the_studys_decimals_set_the_columns_and_the_words() {
    // The example with `settings.decimals: {score: 2, change: 2}`: through the
    // engine's study context into the request.
    let mut study = csi_study::load(&root().join("reports/telecom/study.yaml")).unwrap();
    study.settings.decimals = csi_study::Decimals {
        score: 2,
        change: 2,
        ..Default::default()
    };
    let decimals = csi_engine::study_context(&study).decimals;
    assert_eq!((decimals.score, decimals.change, decimals.share), (2, 2, 1));
    assert_eq!((decimals.coefficient, decimals.p), (3, 3));
    let (_, report) = run_study(study, serde_json::json!({"segments": ["customer_type"]})).unwrap();
    let t = tables(&report);

    // The gap tables: scores and gaps with two decimals, the interval as the gap,
    // p-values printed by the site, base sizes whole; the gap in its own unit for
    // the indicators only (no category has a unit: no empty column).
    for (table, unit) in [(t[0], false), (t[1], true)] {
        let shown: Vec<(ColumnKind, u8, bool)> = table.columns.iter().map(|c| (c.kind, c.decimals, c.signed)).collect();
        let mut want = vec![
            (ColumnKind::Text, 0, false),
            (ColumnKind::Number, 2, false),
            (ColumnKind::Number, 2, false),
            (ColumnKind::Number, 2, true),
            (ColumnKind::Number, 2, true),
            (ColumnKind::PValue, 3, false),
            (ColumnKind::Count, 0, false),
        ];
        if unit {
            want.push((ColumnKind::Text, 0, false));
        }
        assert_eq!(shown, want, "{}", table.title);
        assert_eq!(
            table.note.as_deref().unwrap().contains("原单位"),
            unit,
            "{}",
            table.title
        );
    }
    // The SERVQUAL means and the segment's gaps are gaps too.
    let dims = t
        .iter()
        .find(|t| t.title.contains("服务质量维度") || t.title.contains("service-quality dimension"))
        .unwrap();
    assert_eq!(dims.columns[1].decimals, 2);
    assert_eq!(dims.columns[2].kind, ColumnKind::Count);
    let seg = t.last().unwrap();
    assert!(seg.columns[1..].iter().all(|c| c.decimals == 2 && c.signed));

    // The finding names the largest shortfalls with their gaps as the table shows
    // them: two decimals, signed.
    let Block::Markdown { text } = &report.blocks[0] else {
        panic!("{:?}", report.blocks[0])
    };
    let mut named = 0;
    for row in &t[1].rows {
        let Cell::Text(label) = &row.cells[0] else { panic!() };
        let bold = format!("**{label}**（");
        if let Some(at) = text.find(&bold) {
            let want = format!("{bold}{:+.2}）", num(&row.cells[3]));
            assert_eq!(&text[at..at + want.len()], want, "{text}");
            named += 1;
        }
    }
    assert_eq!(named, 5, "the five largest shortfalls: {text}");
    // Gaps in a unit (minutes) get the study's decimals for changes, as the points
    // and the overview's raw means do.
    let mut in_unit = 0;
    for row in &t[1].rows {
        if let Cell::Text(words) = &row.cells[7] {
            let size = words.split(' ').nth(1).unwrap();
            assert_eq!(size.split('.').nth(1).map(str::len), Some(2), "{words}");
            in_unit += 1;
        }
    }
    assert!(in_unit > 0);
}

#[test]
fn servqual_dimensions_are_named_in_the_studys_language() {
    let (study, report) = run("reports/telecom/study.yaml", serde_json::json!({})).unwrap();
    let t = tables(&report);
    let dims = t
        .iter()
        .find(|t| t.title.contains("服务质量维度") || t.title.contains("service-quality dimension"))
        .expect("a service-quality dimension table");
    let names: Vec<&str> = dims
        .rows
        .iter()
        .map(|r| match &r.cells[0] {
            Cell::Text(t) => t.as_str(),
            other => panic!("{other:?}"),
        })
        .collect();
    let ids: Vec<String> = csi_engine::study_context(&study)
        .nodes
        .iter()
        .filter_map(|n| n.dimension.clone())
        .collect();
    assert!(!ids.is_empty());
    for name in &names {
        assert!(
            ["有形性", "可靠性", "响应性", "保证性", "移情性"].contains(name),
            "{name} in {names:?}"
        );
        assert!(!ids.iter().any(|id| id == name), "an id on the page: {name}");
    }
    assert!(dims.columns[1].signed, "a mean gap carries its sign");
    assert_eq!(csi_plugin_gap::dimension_name("Reliability", false), "Reliability");
    assert_eq!(csi_plugin_gap::dimension_name("tangibles", true), "有形性");
    assert_eq!(csi_plugin_gap::dimension_name("价格", true), "价格");
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

// ---------------------------------------------------------------------------------
// The second-reading study (tests/fixtures/second_reading): goldens from the
// independent implementation tests/goldens/make_second_reading_goldens.py.

fn second_reading(wave: usize) -> (Vec<csi_engine::WaveResult>, Report) {
    let study = csi_study::load(&root().join("tests/fixtures/second_reading/study.yaml")).unwrap();
    let results: Vec<_> = study
        .waves
        .iter()
        .map(|w| csi_engine::compute_wave(&study, w).unwrap())
        .collect();
    let p = plugin();
    let request = Request {
        protocol: PROTOCOL_VERSION,
        analysis: "gap".into(),
        wave: results[wave].wave.clone(),
        study: csi_engine::study_context(&study),
        options: p.resolve_options("gap", &serde_json::json!({})).unwrap(),
    };
    let stats = (
        csi_engine::statistics_schema(),
        vec![csi_engine::statistics_batch(&results[wave])],
    );
    let report = p.run(&request, stats, None, &Isolation::InProcess).unwrap();
    (results, report)
}

fn second_reading_golden() -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(root().join("tests/goldens/second_reading.json")).unwrap()).unwrap()
}

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

fn text(cell: &Cell) -> &str {
    match cell {
        Cell::Text(t) => t,
        other => panic!("{other:?}"),
    }
}

/// The gap plugin's p: the adjusted p-value itself, a number (the site prints it).
fn assert_p(what: &str, cell: &Cell, p: f64) {
    close_rel(&format!("{what}: p shown"), num(cell), p);
}

#[test]
fn second_reading_rows_share_one_base_and_gaps_are_tested_as_the_goldens() {
    let golden = second_reading_golden();
    for wave in 0..2 {
        let (results, report) = second_reading(wave);
        let r = &results[wave];
        let g = &golden["waves"][&r.wave]["gap"];
        let t = tables(&report);
        // The in-unit column where a row has a unit: the indicators (minutes), not
        // the categories, whose column would be empty.
        for (table, family, unit) in [(t[0], &g["categories"], false), (t[1], &g["indicators"], true)] {
            let rows = family["rows"].as_array().unwrap();
            let m = family["family"].as_u64().unwrap();
            assert_eq!(table.rows.len() as u64, m, "{}: {}", r.wave, table.title);
            assert_eq!(table.columns.len(), if unit { 8 } else { 7 }, "{}", table.title);
            let note = table.note.as_deref().unwrap();
            assert!(note.contains(&format!("this table's {m} tests")), "{note}");
            for want in rows {
                let label = want["label"].as_str().unwrap();
                let what = format!("{} {label}", r.wave);
                let row = table
                    .rows
                    .iter()
                    .find(|row| row.cells[0] == Cell::Text(label.into()))
                    .unwrap_or_else(|| panic!("{what}: no row"));
                // One base: expectation, paired performance and gap of the row.
                close_rel(
                    &format!("{what}: expectation"),
                    num(&row.cells[1]),
                    want["expectation"]["mean"].as_f64().unwrap(),
                );
                close_rel(
                    &format!("{what}: performance"),
                    num(&row.cells[2]),
                    want["paired_score"]["mean"].as_f64().unwrap(),
                );
                close_rel(
                    &format!("{what}: gap"),
                    num(&row.cells[3]),
                    want["gap"]["mean"].as_f64().unwrap(),
                );
                assert!(
                    (num(&row.cells[2]) - num(&row.cells[1]) - num(&row.cells[3])).abs() < 1e-9,
                    "{what}: P − E = gap"
                );
                assert_eq!(
                    num(&row.cells[6]) as u64,
                    want["gap"]["n"].as_u64().unwrap(),
                    "{what}: n"
                );
                // The test against 0: t on Kish's effective n − 1, Bonferroni over the
                // table, the simultaneous interval beside it.
                let node = want["node"].as_str().unwrap();
                let gap = r.series(node).unwrap().values[0].gap.unwrap();
                let test = &want["test"];
                let d = against(&gap, 0.0, Confidence::default()).unwrap();
                close_rel(&format!("{what}: t"), d.t, test["t"].as_f64().unwrap());
                close_rel(&format!("{what}: df"), d.df, test["df"].as_f64().unwrap());
                close_rel(&format!("{what}: p"), d.p, test["p"].as_f64().unwrap());
                let adjusted = test["p_adjusted"].as_f64().unwrap();
                close_rel(&format!("{what}: adjusted p"), (d.p * m as f64).min(1.0), adjusted);
                assert_p(&what, &row.cells[5], adjusted);
                let level = Confidence::new(1.0 - 0.05 / m as f64).unwrap();
                let sim = against(&gap, 0.0, level).unwrap();
                let interval = test["interval"].as_array().unwrap();
                let (lo, hi) = (interval[0].as_f64().unwrap(), interval[1].as_f64().unwrap());
                close_rel(&format!("{what}: interval low"), sim.ci_low, lo);
                close_rel(&format!("{what}: interval high"), sim.ci_high, hi);
                let Cell::Interval(shown) = row.cells[4] else {
                    panic!("{what}: {:?}", row.cells[4])
                };
                close_rel(&format!("{what}: interval shown low"), shown.low, lo);
                close_rel(&format!("{what}: interval shown high"), shown.high, hi);
                let flagged = row.flags[3].contains(&Flag::SigDown) || row.flags[3].contains(&Flag::SigUp);
                assert_eq!(flagged, adjusted < 0.05, "{what}: flag");
                // In minutes, in words; empty for measures on a scale.
                if node == "wait" {
                    let words = g["wait_minutes"]["words"].as_str().unwrap();
                    // "5.30 min more than expected (worse)": the size, its unit and
                    // which way is worse; never a signed "+5.30 min".
                    let shown = text(&row.cells[7]);
                    let minutes = g["wait_minutes"]["actual_minus_expected"].as_f64().unwrap();
                    assert_eq!(numbers_in(shown), rounded(&[minutes], 2), "{what}: {shown}");
                    for part in ["min", "more than expected", "worse"] {
                        assert!(
                            shown.contains(part) && words.contains(part),
                            "{what}: {shown} vs {words}"
                        );
                    }
                    assert!(!shown.contains('+') && !shown.contains("better"), "{what}: {shown}");
                } else {
                    assert!(matches!(row.cells.get(7), None | Some(Cell::Empty(()))), "{what}");
                }
                // The overview's score is over a different base; the note names the rows.
                let (paired, all) = (
                    want["paired_score"]["mean"].as_f64().unwrap(),
                    want["score"]["mean"].as_f64().unwrap(),
                );
                if (paired - all).abs() >= 0.05 {
                    assert!(
                        note.contains(label) && note.contains("differs from the overview"),
                        "{what}: {note}"
                    );
                }
            }
        }
        // The chart draws the indicators' gaps with their simultaneous intervals.
        let chart = report
            .blocks
            .iter()
            .find_map(|b| match b {
                Block::Chart(c) => Some(c),
                _ => None,
            })
            .unwrap();
        let csi_blocks::ChartKind::DivergingBar { categories, series } = &chart.spec else {
            panic!("{chart:?}")
        };
        for want in g["indicators"]["rows"].as_array().unwrap() {
            let k = categories
                .iter()
                .position(|c| c == want["label"].as_str().unwrap())
                .unwrap();
            let interval = want["test"]["interval"].as_array().unwrap();
            close_rel(
                "chart gap",
                series[0].values[k].unwrap(),
                want["gap"]["mean"].as_f64().unwrap(),
            );
            close_rel("chart low", series[0].low[k].unwrap(), interval[0].as_f64().unwrap());
            close_rel("chart high", series[0].high[k].unwrap(), interval[1].as_f64().unwrap());
        }
    }
}
