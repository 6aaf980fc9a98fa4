//! The trend plugin on the example study's three waves, loaded as a plugin: its
//! figures are the engine's, its tests are csi-stats' (golden-tested), and the
//! seed's story shows — promotions losing importance wave by wave.

use std::path::PathBuf;

use csi_blocks::wire::{Request, PROTOCOL_VERSION};
use csi_blocks::{Block, Cell, ChartKind, ColumnKind, Report, Table};
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
    // The index, the primary figure, is tested on its own as in the headline; the
    // eight categories' changes are the table's Bonferroni family.
    // p-values are numbers in a p-value column (the site prints "< 0.001"), the
    // change is signed.
    assert_eq!(row.cells[5], Cell::Number(d.p));
    assert_eq!(table.columns[5].kind, ColumnKind::PValue);
    assert!(table.columns[4].signed);
    assert_eq!(table.rows.len(), 1 + 8, "index and the 8 categories");
    assert!(
        table.note.as_deref().unwrap().contains("其余 8 项检验"),
        "{:?}",
        table.note
    );
    let network = ex.results[1].series("network").unwrap().values[0].score;
    let network_now = ex.results[2].series("network").unwrap().values[0].score;
    let dn = difference::independent(&network, &network_now, conf).unwrap();
    let adjusted = (dn.p * 8.0).min(1.0);
    let Cell::Number(shown) = table.rows[1].cells[5] else {
        panic!("{:?}", table.rows[1].cells[5])
    };
    assert!(
        (shown - adjusted).abs() <= 1e-12 * adjusted.max(1e-300),
        "{shown} vs {adjusted}"
    );
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
            Block::Table(t) if t.title.contains("驱动因素重要性") => Some(t),
            _ => None,
        })
        .expect("an importance table");
    // Category, three waves, the first and latest wave's intervals, the shift, its
    // interval and whether it is significant, in words (a shift in importance is
    // neither better nor worse: no coloured arrow); the eight categories (R² has a
    // table of its own).
    assert_eq!((table.columns.len(), table.rows.len()), (9, 8));
    assert!(table.rows.iter().all(|r| r.flags.iter().all(Vec::is_empty)));
    assert_eq!(r2_table(&report).rows.len(), 3, "an R² per wave");
    for w in 1..4 {
        let sum: f64 = table
            .rows
            .iter()
            .take(8)
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
    assert_eq!(
        table.rows[promotions].cells[8],
        Cell::Text("下降".into()),
        "a significant fall"
    );
    let label = ex.study.text(&ex.study.tree[promotions].label).to_string();
    let fall = finding.find(&label).expect("promotions named");
    assert!(
        finding[..fall].len() < finding.len() / 2,
        "named as the largest fall: {finding}"
    );
}

#[test]
fn the_first_wave_has_no_change_and_says_so() {
    // A first wave has no trend: one line says so, and no chart or table of a single
    // point is published.
    let ex = example();
    let report = run(&ex, 0, serde_json::json!({"cell": "customer_type=2"}));
    assert_eq!(report.blocks.len(), 1, "{:?}", report.blocks);
    let Block::Markdown { text } = &report.blocks[0] else {
        panic!("{:?}", report.blocks[0])
    };
    assert!(
        text.contains("首期") && text.contains(ex.study.text(&ex.study.waves[0].label)),
        "{text}"
    );
}

// ---------------------------------------------------------------------------------
// The second-reading study (tests/fixtures/second_reading): goldens from the
// independent implementation tests/goldens/make_second_reading_goldens.py.

fn second_reading() -> Example {
    let study = csi_study::load(&root().join("tests/fixtures/second_reading/study.yaml")).unwrap();
    let results = study
        .waves
        .iter()
        .map(|w| csi_engine::compute_wave(&study, w).unwrap())
        .collect();
    Example { study, results }
}

fn second_reading_golden() -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(root().join("tests/goldens/second_reading.json")).unwrap()).unwrap()
}

fn close_rel(what: &str, got: f64, want: f64) {
    let rel = (got - want).abs() / want.abs().max(1e-300);
    assert!(rel <= 1e-8, "{what}: got {got}, golden {want} (relative error {rel:e})");
}

fn pair(v: &serde_json::Value) -> (f64, f64) {
    (v[0].as_f64().unwrap(), v[1].as_f64().unwrap())
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

/// numpy's default (linear) percentile of `xs` at `q` (0–1).
fn percentile(xs: &[f64], q: f64) -> f64 {
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    let h = (v.len() - 1) as f64 * q;
    let (lo, hi) = (h.floor() as usize, h.ceil() as usize);
    v[lo] + (h - lo as f64) * (v[hi] - v[lo])
}

#[test]
fn second_reading_a_dropped_question_changes_the_index_like_for_like_only() {
    let ex = second_reading();
    let golden = second_reading_golden();
    let report = run(&ex, 1, serde_json::json!({}));
    let change = &golden["change"];
    let rows = change["rows"].as_array().unwrap();
    let index = &rows[0];
    assert_eq!(index["node"], "index");
    // The headline: the like-for-like change, not significant, said to be like for like.
    let Block::Headline { value, note, .. } = &report.blocks[0] else {
        panic!("{report:?}")
    };
    let w2 = ex.results[1].series(csi_engine::INDEX_ID).unwrap().values[0].score;
    assert_eq!(*value, w2.mean.unwrap());
    let note = note.as_deref().unwrap();
    let like = &index["like_for_like"]["test"];
    let p = like["p"].as_f64().unwrap();
    assert!(p > 0.05, "the golden story: no change like for like");
    // "vs +0.1 (Wave 1, not significant, p = 0.873, on the questions both waves asked)"
    let diff = like["diff"].as_f64().unwrap();
    assert!(note.contains(&format!("{diff:+.1}")), "{note}");
    assert!(numbers_in(note).contains(&rounded(&[p], 3)[0]), "{note}");
    assert!(
        note.contains("not significant") && note.contains("on the questions both waves asked"),
        "{note}"
    );
    // The naive change would have been large and significant.
    assert!(index["naive"]["p"].as_f64().unwrap() < 0.001);

    // The change table: index and categories, like for like where questions changed.
    let table = report
        .blocks
        .iter()
        .find_map(|b| match b {
            Block::Table(t) if t.title == "Scores by wave and the latest change" => Some(t),
            _ => None,
        })
        .unwrap();
    assert_eq!(table.rows.len(), rows.len());
    let family = change["family"].as_u64().unwrap();
    let table_note = table.note.as_deref().unwrap();
    assert!(
        table_note.contains(&format!("the other {family} tests form this table's family")),
        "{table_note}"
    );
    let conf = Confidence::default();
    for (row, want) in table.rows.iter().zip(rows) {
        let node = want["node"].as_str().unwrap();
        let Cell::Text(label) = &row.cells[0] else { panic!() };
        let like_for_like = !want["like_for_like"].is_null();
        assert_eq!(label.ends_with(" ‡"), like_for_like, "{label}");
        let what = format!("change of {node}");
        // The published scores of each wave beside the change.
        for (w, r) in ex.results.iter().enumerate() {
            let Cell::Number(v) = row.cells[1 + w] else { panic!() };
            assert_eq!(v, r.series(node).unwrap().values[0].score.mean.unwrap());
        }
        let d = if like_for_like {
            let a = ex.results[0]
                .comparable(node, csi_engine::Neighbour::Next)
                .unwrap()
                .values[0];
            let b = ex.results[1]
                .comparable(node, csi_engine::Neighbour::Previous)
                .unwrap()
                .values[0];
            for (e, g) in [(&a, &want["like_for_like"]["w1"]), (&b, &want["like_for_like"]["w2"])] {
                close_rel(
                    &format!("{what}: like-for-like mean"),
                    e.mean.unwrap(),
                    g["mean"].as_f64().unwrap(),
                );
                close_rel(
                    &format!("{what}: like-for-like se"),
                    e.se.unwrap(),
                    g["se"].as_f64().unwrap(),
                );
            }
            difference::independent(&a, &b, conf).unwrap()
        } else {
            let score = |w: usize| ex.results[w].series(node).unwrap().values[0].score;
            difference::independent(&score(0), &score(1), conf).unwrap()
        };
        let g = &want["change"];
        for (k, v) in [("diff", d.diff), ("se", d.se), ("df", d.df), ("t", d.t), ("p", d.p)] {
            close_rel(&format!("{what}: {k}"), v, g[k].as_f64().unwrap());
        }
        let Cell::Number(shown) = row.cells[3] else { panic!() };
        close_rel(&format!("{what}: shown"), shown, g["diff"].as_f64().unwrap());
        let adjusted = g["p_adjusted"].as_f64().unwrap();
        // The index is tested on its own; the categories are the family.
        let m = if node == "index" { 1.0 } else { family as f64 };
        close_rel(&format!("{what}: adjusted"), (d.p * m).min(1.0), adjusted);
        let Cell::Number(shown) = row.cells[4] else {
            panic!("{what}: {:?}", row.cells[4])
        };
        close_rel(&format!("{what}: p shown"), shown, adjusted);
        assert_eq!(row.flags[3].is_empty(), adjusted >= 0.05, "{what}: flag");
    }
}

#[test]
fn second_reading_importance_and_its_bootstrap_are_the_goldens() {
    use csi_plugin_sdk::statistics::Statistics;
    let ex = second_reading();
    let golden = &second_reading_golden()["importance"];
    let report = run(&ex, 1, serde_json::json!({}));
    let predictors: Vec<&str> = golden["predictors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    let outcome = golden["outcome"].as_str().unwrap();
    let replicates = golden["replicates"].as_u64().unwrap() as usize;
    assert_eq!(replicates, csi_plugin_trend::REPLICATES);
    let labels = ["Service", "Product", "Price"];
    let waves = ["w1", "w2"];

    // The chart: shares and their percentile intervals per wave, in points.
    let chart = report
        .blocks
        .iter()
        .find_map(|b| match b {
            Block::Chart(c)
                if c.title
                    .starts_with("Importance of each category for Overall satisfaction") =>
            {
                Some(c)
            }
            _ => None,
        })
        .unwrap();
    let ChartKind::Line { series, .. } = &chart.spec else {
        panic!()
    };
    assert_eq!(series.len(), predictors.len());
    for (c, s) in series.iter().enumerate() {
        assert_eq!(s.name, labels[c]);
        for (w, wave) in waves.iter().enumerate() {
            let g = &golden["waves"][wave];
            let what = format!("{wave} {}", labels[c]);
            close_rel(
                &format!("{what}: share"),
                s.values[w].unwrap(),
                100.0 * g["shares"][c].as_f64().unwrap(),
            );
            let (lo, hi) = pair(&g["intervals"][c]);
            close_rel(&format!("{what}: low"), s.low[w].unwrap(), 100.0 * lo);
            close_rel(&format!("{what}: high"), s.high[w].unwrap(), 100.0 * hi);
        }
    }
    // The table "Driver importance by wave": shares, interval texts, R² and the
    // shift with its interval; columns found by their headers.
    let table = report
        .blocks
        .iter()
        .find_map(|b| match b {
            Block::Table(t) if t.title == "Driver importance by wave" => Some(t),
            _ => None,
        })
        .unwrap();
    let col = |header: &str| {
        table
            .columns
            .iter()
            .position(|c| c.label == header)
            .unwrap_or_else(|| panic!("no column `{header}` in {:?}", table.columns))
    };
    assert_eq!(table.rows.len(), predictors.len());
    let r2 = r2_table(&report);
    assert_eq!(r2.columns[1].kind, ColumnKind::Number);
    for (w, wave) in waves.iter().enumerate() {
        let g = &golden["waves"][wave];
        let label = format!("Wave {}", w + 1);
        for c in 0..predictors.len() {
            let row = &table.rows[c];
            assert_eq!(row.cells[0], Cell::Text(labels[c].into()));
            let Cell::Number(v) = row.cells[col(&label)] else {
                panic!("{:?}", row.cells)
            };
            close_rel(&format!("{wave} table share"), v, g["shares"][c].as_f64().unwrap());
            let (lo, hi) = pair(&g["intervals"][c]);
            let k = col(&format!("{label} 95% interval"));
            assert_eq!(
                table.columns[k].kind,
                ColumnKind::Percent,
                "shares' intervals are shares"
            );
            let (low, high) = interval(&row.cells[k]);
            close_rel(&format!("{wave} table interval low"), low, lo);
            close_rel(&format!("{wave} table interval high"), high, hi);
        }
        let r2_row = r2
            .rows
            .iter()
            .find(|r| r.cells[0] == Cell::Text(label.clone()))
            .unwrap_or_else(|| panic!("no R² of {label}"));
        let Cell::Number(shown) = r2_row.cells[1] else { panic!() };
        close_rel(&format!("{wave}: R² shown"), shown, g["r_squared"].as_f64().unwrap());
    }
    let shift = &golden["shift"];
    for c in 0..predictors.len() {
        let row = &table.rows[c];
        let Cell::Number(v) = row.cells[col("Wave 1 → Wave 2 shift (points)")] else {
            panic!("{:?}", row.cells)
        };
        close_rel(&format!("shift {}", labels[c]), v, shift["points"][c].as_f64().unwrap());
        let (lo, hi) = pair(&shift["intervals"][c]);
        let level = format!("{:.1}% interval", shift["level"].as_f64().unwrap() * 100.0);
        let k = col(&level);
        assert!(
            table.columns[k].signed && table.columns[k - 1].signed,
            "shifts are signed"
        );
        let (low, high) = interval(&row.cells[k]);
        close_rel(&format!("shift {}: shown low", labels[c]), low, lo);
        close_rel(&format!("shift {}: shown high", labels[c]), high, hi);
    }

    // R² and the shift's interval at full precision, from the SDK the plugin uses:
    // the host's random groups drawn with the documented seeds.
    let batches: Vec<_> = ex.results.iter().map(csi_engine::statistics_batch).collect();
    let stats = Statistics::read(&batches).unwrap();
    let mut reps: Vec<Vec<Vec<f64>>> = Vec::new();
    for wave in waves {
        let g = &golden["waves"][wave];
        let c = stats.correlations(wave, "all", &predictors, outcome).unwrap();
        let rw = relweights::relative_weights(&c.r_xx, &c.r_xy).unwrap();
        close_rel(&format!("{wave}: R²"), rw.r_squared, g["r_squared"].as_f64().unwrap());
        let shares: Vec<Vec<f64>> = stats
            .bootstrap(wave, &predictors, outcome, replicates)
            .unwrap()
            .into_iter()
            .map(|r| {
                let c = r.unwrap();
                relweights::relative_weights(&c.r_xx, &c.r_xy).unwrap().shares()
            })
            .collect();
        assert_eq!(shares.len(), replicates, "no replicate fails");
        for c in 0..predictors.len() {
            let v: Vec<f64> = shares.iter().map(|s| s[c]).collect();
            let (lo, hi) = pair(&g["intervals"][c]);
            close_rel(
                &format!("{wave} {}: replicate low", labels[c]),
                percentile(&v, 0.025),
                lo,
            );
            close_rel(
                &format!("{wave} {}: replicate high", labels[c]),
                percentile(&v, 0.975),
                hi,
            );
        }
        reps.push(shares);
    }
    let mut moves = Vec::new();
    for c in 0..predictors.len() {
        let d: Vec<f64> = (0..replicates)
            .map(|r| (reps[1][r][c] - reps[0][r][c]) * 100.0)
            .collect();
        let (lo, hi) = pair(&shift["intervals"][c]);
        // Simultaneous over the categories (Bonferroni), as the plugin names them.
        let a = (1.0 - shift["level"].as_f64().unwrap()) / 2.0;
        close_rel(&format!("shift {}: low", labels[c]), percentile(&d, a), lo);
        close_rel(&format!("shift {}: high", labels[c]), percentile(&d, 1.0 - a), hi);
        moves.push((shift["points"][c].as_f64().unwrap(), lo, hi, labels[c]));
    }
    // The finding names the largest fall and rise only when their interval excludes 0.
    let finding = report
        .blocks
        .iter()
        .rev()
        .find_map(|b| match b {
            Block::Markdown { text } => Some(text.as_str()),
            _ => None,
        })
        .unwrap();
    moves.sort_by(|a, b| a.0.total_cmp(&b.0));
    let clear = |m: &(f64, f64, f64, &str)| m.1 > 0.0 || m.2 < 0.0;
    let named: Vec<_> = [moves.first().filter(|m| m.0 < 0.0), moves.last().filter(|m| m.0 > 0.0)]
        .into_iter()
        .flatten()
        .filter(|m| clear(m))
        .collect();
    if named.is_empty() {
        assert!(
            finding.starts_with("Wave 1 → Wave 2: no category's importance for Overall satisfaction shifted beyond its bootstrap interval"),
            "{finding}"
        );
    }
    for m in named {
        let level = shift["level"].as_f64().unwrap() * 100.0;
        let text = format!(
            "**{}** {:+.1} ({level:.1}% interval [{:+.1}, {:+.1}])",
            m.3, m.0, m.1, m.2
        );
        assert!(finding.contains(&text), "{text} in {finding}");
    }
}

#[test]
fn a_category_with_no_questions_in_common_is_not_compared() {
    // Price asks fairness only in wave 1 and value only in wave 2: nothing in
    // common, so its change is neither computed nor tested, and the table says so.
    let dir = tempfile::tempdir().unwrap();
    let fixture = root().join("tests/fixtures/second_reading");
    for f in ["w1.csv", "w2.csv"] {
        std::fs::copy(fixture.join(f), dir.path().join(f)).unwrap();
    }
    let yaml = std::fs::read_to_string(fixture.join("study.yaml")).unwrap();
    let yaml = yaml
        .replace(
            "        column: q_fair\n",
            "        column: q_fair\n        waves: [w1]\n",
        )
        .replace(
            "        column: q_value\n",
            "        column: q_value\n        waves: [w2]\n",
        );
    std::fs::write(dir.path().join("study.yaml"), yaml).unwrap();
    let study = csi_study::load(&dir.path().join("study.yaml")).unwrap();
    let results = study
        .waves
        .iter()
        .map(|w| csi_engine::compute_wave(&study, w).unwrap())
        .collect();
    let ex = Example { study, results };
    let report = run(&ex, 1, serde_json::json!({}));
    let table = report
        .blocks
        .iter()
        .find_map(|b| match b {
            Block::Table(t) if t.title == "Scores by wave and the latest change" => Some(t),
            _ => None,
        })
        .unwrap();
    let price = table
        .rows
        .iter()
        .find(|r| r.cells[0] == Cell::Text("Price ‡".into()))
        .unwrap_or_else(|| panic!("{:?}", table.rows));
    // Both waves' published scores are shown; the change and its p are not.
    assert!(matches!(price.cells[1], Cell::Number(_)) && matches!(price.cells[2], Cell::Number(_)));
    assert_eq!((&price.cells[3], &price.cells[4]), (&Cell::Empty(()), &Cell::Empty(())));
    let note = table.note.as_deref().unwrap();
    assert!(note.contains("The questions of Price changed"), "{note}");
}

/// The table of each wave's R².
fn r2_table(report: &Report) -> &Table {
    report
        .blocks
        .iter()
        .find_map(|b| match b {
            Block::Table(t) if t.title.contains("R²") => Some(t),
            _ => None,
        })
        .expect("an R² table")
}

/// An interval cell's limits.
fn interval(cell: &Cell) -> (f64, f64) {
    match cell {
        Cell::Interval(i) => (i.low, i.high),
        other => panic!("not an interval: {other:?}"),
    }
}

/// The points a trend chart rings are the changes its table marks with an arrow:
/// the index tested on its own, the categories adjusted together, for each wave.
#[test]
fn ringed_points_are_the_change_tables_arrows() {
    let ex = example();
    let (mut ringed, mut plain) = (0, 0);
    for upto in 1..ex.results.len() {
        let report = run(&ex, upto, serde_json::json!({}));
        let lines: Vec<&csi_blocks::Series> = report
            .blocks
            .iter()
            .filter_map(|b| match b {
                Block::Chart(c) if c.title.contains("圈出的点") => match &c.spec {
                    ChartKind::Line { series, .. } => Some(series),
                    _ => None,
                },
                _ => None,
            })
            .flatten()
            .collect();
        let table = report
            .blocks
            .iter()
            .find_map(|b| match b {
                Block::Table(t) if t.columns.iter().any(|c| c.kind == ColumnKind::PValue) => Some(t),
                _ => None,
            })
            .unwrap();
        let change_at = table.columns.len() - 2;
        assert!(table.columns[change_at].signed, "{:?}", table.columns[change_at]);
        for row in &table.rows {
            let Cell::Text(label) = &row.cells[0] else { panic!() };
            let label = label.trim_end_matches(" ‡");
            let arrow = row.flags[change_at]
                .iter()
                .any(|f| matches!(f, csi_blocks::Flag::SigUp | csi_blocks::Flag::SigDown));
            let line = lines
                .iter()
                .find(|s| s.name == label)
                .unwrap_or_else(|| panic!("no line for {label}"));
            assert_eq!(line.marked[upto], arrow, "wave {upto}, {label}");
            if arrow {
                ringed += 1;
            } else {
                plain += 1;
            }
        }
    }
    assert!(ringed > 0 && plain > 0, "{ringed} ringed, {plain} not");
}
