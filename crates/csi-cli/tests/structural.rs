//! The structural satisfaction index end to end: the synthetic ECSI study of
//! tests/fixtures/pls (its `structural:` section declares the ECSI model over
//! tree nodes and overall items) built with the `structural` plugin publishes the
//! figures seminr computes on the same data (tests/goldens/pls.json, written by
//! tests/goldens/make_pls_goldens.py): path coefficients, R², outer weights,
//! loadings, reliability, HTMT and the ACSI 0–100 index of every construct, at
//! 1e-8; with the respondents' weights, the figures of the sample with each
//! respondent repeated as often as its weight says; bootstrap intervals those of
//! `csi_stats::pls::bootstrap` on the same resamples, and the same on every build.

mod common;

use serde_json::Value;

fn goldens() -> Value {
    serde_json::from_str(&std::fs::read_to_string(common::root().join("tests/goldens/pls.json")).unwrap()).unwrap()
}

/// Builds the fixture study, its wave's YAML changed by `edit`, and returns the
/// structural analysis's report from results.json.
fn report(edit: impl Fn(String) -> String) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let study = dir.path().join("study");
    common::copy_dir(&common::root().join("tests/fixtures/pls"), &study);
    let yaml = std::fs::read_to_string(study.join("study.yaml")).unwrap();
    std::fs::write(study.join("study.yaml"), edit(yaml)).unwrap();
    let plugins = common::standard_plugins();
    let out = dir.path().join("site");
    let run = common::csi()
        .args(["build", study.to_str().unwrap(), "--out", out.to_str().unwrap()])
        .arg("--plugins")
        .arg(plugins.path())
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let results: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("ecsi/2024/results.json")).unwrap()).unwrap();
    let analysis = &results["analyses"]["structural"];
    assert!(analysis["error"].is_null(), "{analysis}");
    analysis["report"].clone()
}

fn table<'r>(report: &'r Value, title: &str) -> &'r Value {
    report["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["title"].as_str().is_some_and(|t| t.starts_with(title)))
        .unwrap_or_else(|| panic!("no table `{title}` in {report}"))
}

fn rows(table: &Value) -> &Vec<Value> {
    table["rows"].as_array().unwrap()
}

fn close(what: &str, got: f64, want: f64) {
    let scale = want.abs().max(1e-2);
    assert!(
        (got - want).abs() <= 1e-8 * scale,
        "{what}: csi {got}, reference {want} (difference {:.2e})",
        (got - want).abs()
    );
}

fn number(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

const NAMES: [&str; 7] = ["IMAG", "EXPE", "QUAL", "VAL", "SAT", "COMP", "LOY"];

/// The estimate's figures in the report against a golden set of seminr's.
fn check_estimate(report: &Value, golden: &Value, what: &str) {
    let g = goldens();
    let paths = rows(table(report, "Path coefficients"));
    assert_eq!(paths.len(), 12);
    for (q, row) in paths.iter().enumerate() {
        close(
            &format!("{what}: path {:?}", g["paths"][q]),
            number(&row["cells"][2]),
            number(&golden["paths"][q]),
        );
    }
    let r2 = rows(table(report, "Variance explained"));
    let endogenous: Vec<&str> = NAMES
        .iter()
        .copied()
        .filter(|n| !golden["r_squared"][n].is_null())
        .collect();
    assert_eq!(r2.len(), endogenous.len());
    for (row, name) in r2.iter().zip(&endogenous) {
        close(
            &format!("{what}: R² of {name}"),
            number(&row["cells"][1]),
            number(&golden["r_squared"][name]),
        );
    }
    let outer = rows(table(report, "Measurement model"));
    let mut at = 0;
    for name in NAMES {
        for i in 0..g["blocks"][name].as_array().unwrap().len() {
            let row = &outer[at];
            close(
                &format!("{what}: outer weight {i} of {name}"),
                number(&row["cells"][2]),
                number(&golden["outer_weights"][name][i]),
            );
            close(
                &format!("{what}: loading {i} of {name}"),
                number(&row["cells"][4]),
                number(&golden["loadings"][name][i]),
            );
            at += 1;
        }
    }
    assert_eq!(at, outer.len());
}

#[test]
fn the_ecsi_model_publishes_seminrs_figures() {
    let report = report(|y| y);
    let g = goldens();
    check_estimate(&report, &g["seminr_path"], "unweighted");

    // Reliability: alpha, rho_A, rho_C, AVE (single-item constructs have none).
    let quality = rows(table(&report, "Reliability and validity"));
    for (row, name) in quality.iter().zip(NAMES) {
        let want = &g["reliability"][name];
        for (cell, key) in [(2, "alpha"), (3, "rho_a"), (4, "rho_c"), (5, "ave")] {
            let single = g["blocks"][name].as_array().unwrap().len() == 1;
            if single || want[key].is_null() {
                assert!(row["cells"][cell].is_null(), "{name} {key}: {row}");
            } else {
                close(
                    &format!("{key} of {name}"),
                    number(&row["cells"][cell]),
                    number(&want[key]),
                );
            }
        }
    }
    // HTMT, lower triangle: row a, column b < a.
    let htmt = rows(table(&report, "Discriminant validity"));
    for (a, row) in htmt.iter().enumerate().map(|(i, r)| (i + 1, r)) {
        for b in 0..a {
            let want = number(&g["htmt"][format!("{}-{}", NAMES[b], NAMES[a])]);
            close(
                &format!("HTMT {}-{}", NAMES[b], NAMES[a]),
                number(&row["cells"][b + 1]),
                want,
            );
        }
    }
    // The ACSI index of every construct, for all respondents.
    let indices = rows(table(&report, "Construct indices"));
    for (j, name) in NAMES.iter().enumerate() {
        close(
            &format!("index of {name}"),
            number(&indices[0]["cells"][j + 1]),
            number(&g["index_seminr_path"][name]),
        );
    }
    // Satisfaction is the default target: the headline and the map are about it.
    let headline = &report["blocks"][0];
    assert_eq!(headline["type"], "headline");
    assert!(
        headline["label"].as_str().unwrap().starts_with("Satisfaction"),
        "{headline}"
    );
    close(
        "headline",
        number(&headline["value"]),
        number(&g["index_seminr_path"]["SAT"]),
    );
    assert!(
        table(&report, "Total effects on Satisfaction")["rows"]
            .as_array()
            .unwrap()
            .len()
            == 4
    );
}

#[test]
fn weights_act_as_repeated_respondents() {
    let report = report(|y| y.replace("    data: ecsi.csv", "    data: ecsi.csv\n    weight: weight"));
    check_estimate(&report, &goldens()["seminr_path_weighted_by_repetition"], "weighted");
}

/// Loads the fixture's items in the model's order, as 0–100 scores.
fn fixture_rows() -> (Vec<f64>, usize, usize) {
    let g = goldens();
    let mut reader = csv::Reader::from_path(common::root().join("tests/fixtures/pls/ecsi.csv")).unwrap();
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    let columns: Vec<usize> = NAMES
        .iter()
        .flat_map(|n| g["blocks"][n].as_array().unwrap().clone())
        .map(|i| header.iter().position(|h| h == i.as_str().unwrap()).unwrap())
        .collect();
    let mut rows = Vec::new();
    let mut n = 0;
    for record in reader.records() {
        let record = record.unwrap();
        rows.extend(
            columns
                .iter()
                .map(|&c| (record[c].parse::<f64>().unwrap() - 1.0) / 9.0 * 100.0),
        );
        n += 1;
    }
    (rows, n, columns.len())
}

#[test]
fn bootstrap_intervals_are_those_of_the_resamples_and_the_same_on_every_build() {
    let first = report(|y| y);
    let again = report(|y| y);
    assert_eq!(first, again, "a rebuild must publish the same intervals");
    let paths = rows(table(&first, "Path coefficients"));

    // The plugin's seed for wave 2024 from the study's `seed: 7`, and the same
    // model, estimated directly.
    use csi_stats::pls::{self, Construct, Mode, PathModel, Scheme, Settings};
    let g = goldens();
    let mut next = 0;
    let constructs = NAMES
        .iter()
        .map(|n| {
            let k = g["blocks"][n].as_array().unwrap().len();
            next += k;
            Construct {
                name: n.to_string(),
                indicators: (next - k..next).collect(),
                mode: Mode::A,
            }
        })
        .collect();
    let at = |n: &Value| NAMES.iter().position(|m| *m == n.as_str().unwrap()).unwrap();
    let model = PathModel {
        constructs,
        paths: g["paths"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| (at(&p[0]), at(&p[1])))
            .collect(),
    };
    let settings = Settings {
        scheme: Scheme::Path,
        max_iterations: 1000,
        tolerance: 1e-12,
    };
    let (rows_flat, n, p) = fixture_rows();
    let seed = csi_plugin_structural::wave_seed(7, "2024");
    let draws = pls::Draws {
        replicates: 200,
        seed,
        threads: 1,
    };
    let runs = pls::bootstrap(&rows_flat, p, &vec![1.0; n], &model, &settings, draws);
    for (q, row) in paths.iter().enumerate() {
        let values: Vec<f64> = runs.iter().map(|r| r.as_ref().unwrap().paths[q]).collect();
        let s = csi_stats::resample::bootstrap_summary(&values, 0.95).unwrap();
        assert_eq!(number(&row["cells"][3]), s.se, "path {q}: standard error");
        assert_eq!(number(&row["cells"][4]["low"]), s.low, "path {q}: interval");
        assert_eq!(number(&row["cells"][4]["high"]), s.high, "path {q}: interval");
        assert!(s.se > 0.0 && s.low < s.high);
    }
    // R², outer weights and loadings: each figure's own replicates.
    let summary = |values: Vec<f64>| csi_stats::resample::bootstrap_summary(&values, 0.95).unwrap();
    let ok: Vec<&pls::PlsEstimate> = runs.iter().map(|r| r.as_ref().unwrap()).collect();
    let r2 = rows(table(&first, "Variance explained"));
    let endogenous: Vec<usize> = (0..NAMES.len()).filter(|&j| ok[0].r_squared[j].is_some()).collect();
    for (row, &j) in r2.iter().zip(&endogenous) {
        let s = summary(ok.iter().map(|e| e.r_squared[j].unwrap()).collect());
        assert_eq!(number(&row["cells"][2]), s.se, "R² of {}", NAMES[j]);
        assert_eq!(number(&row["cells"][3]["high"]), s.high, "R² of {}", NAMES[j]);
    }
    let outer = rows(table(&first, "Measurement model"));
    let mut at = 0;
    for (j, c) in model.constructs.iter().enumerate() {
        for m in 0..c.indicators.len() {
            let (w, l) = (&outer[at]["cells"][3], &outer[at]["cells"][5]);
            at += 1;
            if c.indicators.len() == 1 {
                assert!(w.is_null() && l.is_null(), "a single item's weight has no interval");
                continue;
            }
            let sw = summary(ok.iter().map(|e| e.outer_weights[j][m]).collect());
            let sl = summary(ok.iter().map(|e| e.loadings[j][m]).collect());
            assert_eq!(
                (number(&w["low"]), number(&w["high"])),
                (sw.low, sw.high),
                "weight {m} of {}",
                NAMES[j]
            );
            assert_eq!(
                (number(&l["low"]), number(&l["high"])),
                (sl.low, sl.high),
                "loading {m} of {}",
                NAMES[j]
            );
        }
    }
    // The method note says how.
    let note = table(&first, "Path coefficients")["note"].as_str().unwrap().to_string();
    assert!(
        note.contains("200 bootstrap resamples") && note.contains("seed 7"),
        "{note}"
    );
}

/// Too few complete answers, or an item nobody varies on: said in place, never
/// a figure built on nothing.
#[test]
fn a_model_that_cannot_be_estimated_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let study = dir.path().join("study");
    common::copy_dir(&common::root().join("tests/fixtures/pls"), &study);
    // Every respondent gives comp1 the same answer.
    let data = std::fs::read_to_string(study.join("ecsi.csv")).unwrap();
    let header: Vec<&str> = data.lines().next().unwrap().split(',').collect();
    let comp = header.iter().position(|h| *h == "comp1").unwrap();
    let flat: Vec<String> = data
        .lines()
        .enumerate()
        .map(|(i, l)| {
            let mut cells: Vec<&str> = l.split(',').collect();
            if i > 0 {
                cells[comp] = "5";
            }
            cells.join(",")
        })
        .collect();
    std::fs::write(study.join("ecsi.csv"), flat.join("\n") + "\n").unwrap();
    let plugins = common::standard_plugins();
    let out = dir.path().join("site");
    let run = common::csi()
        .args(["build", study.to_str().unwrap(), "--out", out.to_str().unwrap()])
        .arg("--plugins")
        .arg(plugins.path())
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let results: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("ecsi/2024/results.json")).unwrap()).unwrap();
    let blocks = &results["analyses"]["structural"]["report"]["blocks"];
    assert_eq!(blocks.as_array().unwrap().len(), 1, "{blocks}");
    let text = blocks[0]["text"].as_str().unwrap();
    assert!(
        text.contains("Complaint handled well") && text.contains("same answer"),
        "{text}"
    );
}

/// Listwise deletion and direction: answers left out here and there, and an item
/// asked the other way round (lower is better, its answers mirrored), give the
/// estimate of the respondents who answered everything, as csi_stats computes it
/// from the original answers of those respondents.
#[test]
fn incomplete_answers_are_left_out_listwise_and_reversed_items_turned() {
    let g = goldens();
    let items: Vec<String> = NAMES
        .iter()
        .flat_map(|n| g["blocks"][n].as_array().unwrap().clone())
        .map(|i| i.as_str().unwrap().to_string())
        .collect();
    let data = std::fs::read_to_string(common::root().join("tests/fixtures/pls/ecsi.csv")).unwrap();
    let header: Vec<&str> = data.lines().next().unwrap().split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let (qual2, loy3, qual5) = (col("qual2"), col("loy3"), col("qual5"));
    let mut edited = vec![header.join(",")];
    let mut complete = Vec::new();
    for (i, line) in data.lines().skip(1).enumerate() {
        let mut cells: Vec<String> = line.split(',').map(String::from).collect();
        let answers: Vec<f64> = items.iter().map(|it| cells[col(it)].parse().unwrap()).collect();
        let gap = i % 7 == 3 || i % 11 == 5;
        if i % 7 == 3 {
            cells[qual2] = String::new();
        }
        if i % 11 == 5 {
            cells[loy3] = String::new();
        }
        // qual5 asked the other way round: 1 best, 10 worst.
        let mirrored = 11.0 - cells[qual5].parse::<f64>().unwrap();
        cells[qual5] = format!("{mirrored}");
        edited.push(cells.join(","));
        if !gap {
            complete.push(answers);
        }
    }
    let report = {
        let dir = tempfile::tempdir().unwrap();
        let study = dir.path().join("study");
        common::copy_dir(&common::root().join("tests/fixtures/pls"), &study);
        std::fs::write(study.join("ecsi.csv"), edited.join("\n") + "\n").unwrap();
        let yaml = std::fs::read_to_string(study.join("study.yaml")).unwrap();
        let yaml = yaml.replace("column: qual5}", "column: qual5, direction: lower_is_better}");
        assert!(yaml.contains("lower_is_better"));
        std::fs::write(study.join("study.yaml"), yaml).unwrap();
        let plugins = common::standard_plugins();
        let out = dir.path().join("site");
        let run = common::csi()
            .args(["build", study.to_str().unwrap(), "--out", out.to_str().unwrap()])
            .arg("--plugins")
            .arg(plugins.path())
            .output()
            .unwrap();
        assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
        let results: Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("ecsi/2024/results.json")).unwrap()).unwrap();
        results["analyses"]["structural"]["report"].clone()
    };

    use csi_stats::pls::{self, Construct, Mode, PathModel, Scheme, Settings};
    let mut next = 0;
    let constructs = NAMES
        .iter()
        .map(|n| {
            let k = g["blocks"][n].as_array().unwrap().len();
            next += k;
            Construct {
                name: n.to_string(),
                indicators: (next - k..next).collect(),
                mode: Mode::A,
            }
        })
        .collect();
    let at = |n: &Value| NAMES.iter().position(|m| *m == n.as_str().unwrap()).unwrap();
    let model = PathModel {
        constructs,
        paths: g["paths"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| (at(&p[0]), at(&p[1])))
            .collect(),
    };
    let settings = Settings {
        scheme: Scheme::Path,
        max_iterations: 1000,
        tolerance: 1e-12,
    };
    let want = pls::estimate(&pls::weighted_correlations(&complete, None), &model, &settings).unwrap();
    let paths = rows(table(&report, "Path coefficients"));
    for (q, row) in paths.iter().enumerate() {
        close(&format!("path {q}"), number(&row["cells"][2]), want.paths[q]);
    }
    let outer = rows(table(&report, "Measurement model"));
    for (x, row) in outer.iter().enumerate() {
        let flat: Vec<f64> = want.loadings.iter().flatten().copied().collect();
        close(&format!("loading {x}"), number(&row["cells"][4]), flat[x]);
    }
    let note = table(&report, "Path coefficients")["note"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        note.contains(&format!("only the {} respondents", complete.len())),
        "{note}"
    );
    assert!(complete.len() < 400 && complete.len() > 300, "{}", complete.len());
}

/// Each group's construct index: the model's unstandardised, normalised weights
/// applied to the group's own item scores (here groups by the weight column's
/// value, read as a banded segment).
#[test]
fn every_group_gets_the_index_of_its_own_item_scores() {
    let report = report(|y| {
        y.replace(
            "analyses:",
            "segments:\n  - id: heavy\n    label: Weight\n    column: weight\n    bands:\n      - {label: Light, max: 1}\n      - {label: Heavy, min: 2}\nanalyses:",
        )
    });
    let g = goldens();
    let mut reader = csv::Reader::from_path(common::root().join("tests/fixtures/pls/ecsi.csv")).unwrap();
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    let rows_all: Vec<Vec<f64>> = reader
        .records()
        .map(|r| r.unwrap().iter().map(|v| v.parse::<f64>().unwrap()).collect())
        .collect();
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let weights = rows(table(&report, "Measurement model"));
    let indices = rows(table(&report, "Construct indices"));
    assert_eq!(indices.len(), 3, "all respondents and two groups");
    let mut at = 0;
    for (j, name) in NAMES.iter().enumerate() {
        let items: Vec<String> = g["blocks"][name]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i.as_str().unwrap().to_string())
            .collect();
        let share: Vec<f64> = (0..items.len()).map(|m| number(&weights[at + m]["cells"][6])).collect();
        at += items.len();
        for (row, heavy) in [(1, false), (2, true)] {
            let group: Vec<&Vec<f64>> = rows_all.iter().filter(|r| (r[col("weight")] >= 2.0) == heavy).collect();
            let want: f64 = items
                .iter()
                .zip(&share)
                .map(|(it, w)| {
                    let mean = group.iter().map(|r| (r[col(it)] - 1.0) / 9.0 * 100.0).sum::<f64>() / group.len() as f64;
                    w * mean
                })
                .sum();
            close(
                &format!("{name} in group {row}"),
                number(&indices[row]["cells"][j + 1]),
                want,
            );
        }
    }
    assert_eq!(indices[1]["cells"][0], "Weight: Light");
}
