//! The column comparisons (significance letters) of the segment plugin on the
//! study tests/fixtures/letters, against tests/goldens/letters.json, written by the
//! independent tests/goldens/make_letters_goldens.py (statsmodels domain
//! estimates, scipy's t, statsmodels' multipletests): the letters of every group in
//! every row exactly, under each correction, as the plugin prints them; each
//! group's estimate, and each pair's test and adjusted p-value at 1e-8 relative.

use std::path::PathBuf;

use csi_blocks::wire::{Request, PROTOCOL_VERSION};
use csi_blocks::{Block, Cell, Flag, Report, Table};
use csi_plugin_host::{load, Isolation, Origin, Plugin};
use csi_plugin_sdk::statistics::Statistics;
use csi_plugin_segment::letters::{Excluded, Rule};
use csi_stats::multiple::Correction;

const CORRECTIONS: [&str; 3] = ["bonferroni", "benjamini_hochberg", "none"];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn plugin() -> Plugin {
    let path = csi_plugin_host::built_library("csi_plugin_segment").expect("the library is built with its tests");
    load(&path, Origin::External).unwrap()
}

fn close_rel(what: &str, got: f64, want: f64) {
    let rel = (got - want).abs() / want.abs().max(1e-300);
    assert!(rel <= 1e-8, "{what}: got {got}, golden {want} (relative error {rel:e})");
}

/// The study, its wave and the wave's statistics table.
struct Fixture {
    study: csi_study::Study,
    wave: String,
    batch: csi_plugin_sdk::arrow_array::RecordBatch,
}

fn fixture() -> Fixture {
    let study = csi_study::load(&root().join("tests/fixtures/letters/study.yaml")).unwrap();
    let result = csi_engine::compute_wave(&study, &study.waves[0]).unwrap();
    Fixture {
        batch: csi_engine::statistics_batch(&result),
        wave: result.wave.clone(),
        study,
    }
}

fn request_for(f: &Fixture, p: &Plugin, options: serde_json::Value) -> Request {
    Request {
        protocol: PROTOCOL_VERSION,
        analysis: "segment".into(),
        wave: f.wave.clone(),
        study: csi_engine::study_context(&f.study),
        options: p.resolve_options("segment", &options).unwrap(),
    }
}

fn run(f: &Fixture, p: &Plugin, request: &Request) -> Result<Report, String> {
    p.run(
        request,
        (csi_engine::statistics_schema(), vec![f.batch.clone()]),
        None,
        &Isolation::InProcess,
    )
    .map_err(|e| e.to_string())
}

fn golden() -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(root().join("tests/goldens/letters.json")).unwrap()).unwrap()
}

/// The column-comparison table of the segment labelled `label`.
fn comparisons<'a>(report: &'a Report, label: &str) -> &'a Table {
    report
        .blocks
        .iter()
        .find_map(|b| match b {
            Block::Table(t) if t.title.starts_with(label) && t.title.contains("列间比较") => Some(t),
            Block::Table(t) if t.title.starts_with(label) && t.title.contains("column comparisons") => Some(t),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no column comparisons for {label}: {report:?}"))
}

fn node_id(golden: &str) -> &str {
    if golden == "index" {
        csi_engine::INDEX_ID
    } else {
        golden
    }
}

#[test]
fn letters_and_p_values_are_the_goldens() {
    let golden = golden();
    assert_eq!(golden["confidence"], 0.95);
    assert_eq!(golden["second_level"], 0.9);
    let f = fixture();
    let p = plugin();
    let stats = Statistics::read(std::slice::from_ref(&f.batch)).unwrap();
    let (mut upper, mut lower) = (0, 0);
    for correction in CORRECTIONS {
        let request = request_for(&f, &p, serde_json::json!({"correction": correction}));
        let report = run(&f, &p, &request).unwrap();
        let rule = Rule {
            confidence: request.study.confidence,
            second: Some(0.90),
            low_base: request.study.low_base,
            correction: Correction::parse(correction).unwrap(),
        };
        for seg in &request.study.segments {
            let want = &golden["segments"][&seg.id];
            let table = comparisons(&report, &seg.label);
            let rows = want["rows"].as_array().unwrap();
            // Headers: the letter and label of each group, and its letters column
            // unless it has no letters in any row (an empty column is left out).
            let mut at = Vec::new();
            let mut i = 1;
            for (gi, g) in seg.groups.iter().enumerate() {
                let letter = want["groups"][gi]["letter"].as_str().unwrap();
                assert_eq!(want["groups"][gi]["cell"], g.cell.as_str());
                assert_eq!(table.columns[i].label, format!("{letter} {}", g.label));
                let none = rows
                    .iter()
                    .all(|r| r["letters"][correction][&g.cell].as_str().unwrap().is_empty());
                if none {
                    at.push((i, None));
                    i += 1;
                    let note = table.note.as_deref().unwrap();
                    assert!(
                        note.contains(&format!("{letter} {}", g.label)) && note.contains("其得分后没有字母"),
                        "{note}"
                    );
                } else {
                    assert_eq!(table.columns[i + 1].label, format!("{letter} 显著高于"));
                    assert!(table.columns[i + 1].with_previous, "letters are shown beside the score");
                    at.push((i, Some(i + 1)));
                    i += 2;
                }
            }
            assert_eq!(table.columns.len(), i);
            assert_eq!(table.rows.len(), rows.len());
            for (row, gold) in table.rows.iter().zip(rows) {
                let node = node_id(gold["node"].as_str().unwrap());
                let label = &request.study.nodes.iter().find(|n| n.id == node).unwrap().label;
                assert_eq!(row.cells[0], Cell::Text(label.clone()));
                let what = format!("{correction} {} {node}", seg.id);
                // Each group's estimate, as the plugin reads it, is the golden's.
                let estimates: Vec<_> = seg
                    .groups
                    .iter()
                    .map(|g| stats.get(&f.wave, &g.cell, node, "score").copied().filter(|e| e.n > 0))
                    .collect();
                for (g, e) in seg.groups.iter().zip(&estimates) {
                    let gg = &gold["groups"][&g.cell];
                    let e = e.unwrap();
                    assert_eq!(e.n, gg["n"].as_u64().unwrap(), "{what} {}", g.cell);
                    close_rel(
                        &format!("{what} {} mean", g.cell),
                        e.mean.unwrap(),
                        gg["mean"].as_f64().unwrap(),
                    );
                    // The SE of a group whose effective base is about 1 (one weight
                    // of 20 among weights of 0.0001) is a difference of nearly equal
                    // sums, as precise as that allows (about 1e-7); it is not tested.
                    if gg["excluded"] != "effective_base" {
                        close_rel(
                            &format!("{what} {} se", g.cell),
                            e.se.unwrap(),
                            gg["se"].as_f64().unwrap(),
                        );
                    }
                    close_rel(
                        &format!("{what} {} effective_n", g.cell),
                        e.effective_n,
                        gg["effective_n"].as_f64().unwrap(),
                    );
                }
                // The pairs tested, their tests and adjusted p-values.
                let letters = rule.row(&estimates);
                for (g, ex) in seg.groups.iter().zip(&letters.excluded) {
                    let want = match gold["groups"][&g.cell]["excluded"].as_str() {
                        None => None,
                        Some("low_base") => Some(Excluded::LowBase),
                        Some("effective_base") => Some(Excluded::EffectiveBase),
                        Some(other) => panic!("{other}"),
                    };
                    assert_eq!(*ex, want, "{what} {}: excluded", g.cell);
                }
                let pairs = gold["pairs"].as_array().unwrap();
                assert_eq!(gold["family"].as_u64().unwrap() as usize, pairs.len());
                assert_eq!(letters.pairs.len(), pairs.len(), "{what}: family");
                for (pair, gp) in letters.pairs.iter().zip(pairs) {
                    let (a, b) = (&seg.groups[pair.a].cell, &seg.groups[pair.b].cell);
                    assert_eq!(
                        (gp["a"].as_str().unwrap(), gp["b"].as_str().unwrap()),
                        (a.as_str(), b.as_str())
                    );
                    let what = format!("{what} {a} vs {b}");
                    for (k, v) in [
                        ("diff", pair.test.diff),
                        ("se", pair.test.se),
                        ("df", pair.test.df),
                        ("t", pair.test.t),
                        ("p", pair.test.p),
                    ] {
                        close_rel(&format!("{what}: {k}"), v, gp[k].as_f64().unwrap());
                    }
                    close_rel(
                        &format!("{what}: adjusted p"),
                        pair.adjusted,
                        gp["p_adjusted"][correction].as_f64().unwrap(),
                    );
                }
                // The table: scores, letters exactly, low bases flagged.
                for (gi, g) in seg.groups.iter().enumerate() {
                    let (score, letters_at) = at[gi];
                    let Cell::Number(v) = row.cells[score] else {
                        panic!("{what} {}: {:?}", g.cell, row.cells[score])
                    };
                    close_rel(
                        &format!("{what} {} table", g.cell),
                        v,
                        gold["groups"][&g.cell]["mean"].as_f64().unwrap(),
                    );
                    let want = gold["letters"][correction][&g.cell].as_str().unwrap();
                    let got = match letters_at.map(|j| &row.cells[j]) {
                        None | Some(Cell::Empty(())) => "",
                        Some(Cell::Text(t)) => {
                            assert!(!t.is_empty());
                            t.as_str()
                        }
                        Some(other) => panic!("{what}: {other:?}"),
                    };
                    assert_eq!(got, want, "{what} {}: letters", g.cell);
                    assert_eq!(letters.letters[gi], want, "{what} {}: letters", g.cell);
                    upper += got.chars().filter(char::is_ascii_uppercase).count();
                    lower += got.chars().filter(char::is_ascii_lowercase).count();
                    let low = gold["groups"][&g.cell]["excluded"] == "low_base";
                    assert_eq!(row.flags[score].contains(&Flag::LowBase), low, "{what} {}", g.cell);
                }
            }
        }
        let counts = &golden["counts"][correction];
        let (u, l) = (counts["upper"].as_u64().unwrap(), counts["lower"].as_u64().unwrap());
        assert!(u >= 4 && l >= 2, "{correction}: the fixture shows both cases");
        assert!(counts["not_significant"].as_u64().unwrap() >= 4);
    }
    let want: u64 = CORRECTIONS
        .iter()
        .map(|c| golden["counts"][c]["upper"].as_u64().unwrap())
        .sum();
    assert_eq!(upper as u64, want);
    let want: u64 = CORRECTIONS
        .iter()
        .map(|c| golden["counts"][c]["lower"].as_u64().unwrap())
        .sum();
    assert_eq!(lower as u64, want);
}

#[test]
fn the_note_states_the_test_the_levels_the_family_and_who_is_not_tested() {
    let f = fixture();
    let p = plugin();
    let request = request_for(&f, &p, serde_json::json!({}));
    let report = run(&f, &p, &request).unwrap();
    let plan = comparisons(&report, "用户类型");
    assert_eq!(plan.title, "用户类型：列间比较（显著性字母）");
    let note = plan.note.as_deref().unwrap();
    for says in [
        "不假定两组方差相等（Welch 检验）",
        "自由度按两组加权后的有效样本量计算",
        "大写字母：校正后 p < 0.05（95% 置信水平）",
        "小写字母：0.05 ≤ 校正后 p < 0.10（仅在 90% 置信水平显著）",
        // Four groups tested in three rows, five in the price row.
        "每行内参与检验的各组两两比较（本表每行 6–10 项检验），按检验项数校正（Bonferroni 法）。",
        "未检验、不标字母：E 校园用户（样本量低于 30）；F 试用用户（有效样本量低于 2：满意度指数、服务、网络）。",
    ] {
        assert!(note.contains(says), "{says}\n{note}");
    }
    // Chinese text, Chinese punctuation: no ASCII brackets, colons or commas.
    assert!(!note.contains(['(', ')', ':', ',']), "{note}");
    let region = comparisons(&report, "地区");
    let note = region.note.as_deref().unwrap();
    assert!(
        note.contains("（本表每行 3 项检验）") && !note.contains("未检验"),
        "{note}"
    );

    // In English, with no adjustment and a second level of 0.80.
    let mut english = request_for(
        &f,
        &p,
        serde_json::json!({"correction": "none", "letters_second_level": 0.8}),
    );
    english.study.language = "en".into();
    let report = run(&f, &p, &english).unwrap();
    let plan = comparisons(&report, "用户类型");
    assert!(plan.title.ends_with(": column comparisons (significance letters)"));
    assert_eq!(plan.columns[2].label, "A higher than");
    let note = plan.note.as_deref().unwrap();
    for says in [
        "Upper case: p < 0.05 (95% confidence); lower case: 0.05 ≤ p < 0.20 (significant at 80% only).",
        "(6–10 tests per row), with no multiple-comparison adjustment.",
        "Not tested, no letters: E 校园用户 (base under 30); F 试用用户 (effective base under 2: 满意度指数, 服务, 网络).",
    ] {
        assert!(note.contains(says), "{says}\n{note}");
    }
    // Never a NaN or an infinity anywhere in the report.
    for b in &report.blocks {
        if let Block::Table(t) = b {
            for r in &t.rows {
                for c in &r.cells {
                    if let Cell::Number(x) = c {
                        assert!(x.is_finite(), "{}: {c:?}", t.title);
                    }
                }
            }
        }
    }
}

#[test]
fn the_second_level_must_be_a_level_below_the_studys() {
    let f = fixture();
    let p = plugin();
    for (value, says) in [
        (
            serde_json::json!(0.95),
            "letters_second_level 0.95 must be below the study's confidence level 0.95",
        ),
        (
            serde_json::json!(0.99),
            "must be below the study's confidence level 0.95",
        ),
        (serde_json::json!(90), "write it as a share, such as 0.9"),
        (serde_json::json!(0.3), "must be between 0.5 and 1"),
    ] {
        let request = request_for(&f, &p, serde_json::json!({"letters_second_level": value}));
        let err = run(&f, &p, &request).unwrap_err();
        assert!(err.contains(says), "{value}: {err}");
    }
    // A string is refused by the host, against the declared type.
    let err = p
        .resolve_options("segment", &serde_json::json!({"letters_second_level": "0.9"}))
        .unwrap_err();
    assert!(err.to_string().contains("letters_second_level"), "{err}");
}

#[test]
fn the_heat_map_is_centred_on_the_whole_sample_and_no_weak_cells_is_a_line() {
    let f = fixture();
    let p = plugin();
    let request = request_for(&f, &p, serde_json::json!({"segments": ["region"]}));
    let report = run(&f, &p, &request).unwrap();
    let stats = Statistics::read(std::slice::from_ref(&f.batch)).unwrap();
    let indicators: Vec<_> = request.study.nodes.iter().filter(|n| n.kind == "indicator").collect();
    let Some(Block::Chart(chart)) = report.blocks.get(3) else {
        panic!("{:?}", report.blocks)
    };
    let csi_blocks::ChartKind::Heatmap {
        rows,
        higher_is_better,
        centre,
        legend,
        scale,
        ..
    } = &chart.spec
    else {
        panic!("{chart:?}")
    };
    assert_eq!(rows.len(), indicators.len());
    assert_eq!(higher_is_better, &vec![true; indicators.len()]);
    for (n, c) in indicators.iter().zip(centre) {
        let all = stats.get(&f.wave, "all", &n.id, "score").unwrap().mean.unwrap();
        assert_eq!(*c, Some(all), "{}", n.id);
    }
    assert_eq!(
        legend,
        &Some(["低于全体（分）".to_string(), "高于全体（分）".to_string()])
    );
    // One colour scale for the page's maps: the largest distance of a group's score
    // from the whole sample's over the segments shown, at least 5 points.
    let region = request.study.segments.iter().find(|s| s.id == "region").unwrap();
    let widest = region
        .groups
        .iter()
        .flat_map(|g| indicators.iter().map(move |n| (g, n)))
        .filter_map(|(g, n)| {
            let all = stats.get(&f.wave, "all", &n.id, "score")?.mean?;
            Some((stats.get(&f.wave, &g.cell, &n.id, "score")?.mean? - all).abs())
        })
        .fold(5.0, f64::max);
    assert_eq!(*scale, Some(widest));
    // The regions differ little: no weak cell, said in one line.
    let Some(Block::Markdown { text }) = report.blocks.get(4) else {
        panic!("{:?}", report.blocks.get(4))
    };
    assert!(text.starts_with("地区：没有薄弱环节"), "{text}");
    assert!(!text.contains(['(', ')', ':', ',']), "{text}");
}
