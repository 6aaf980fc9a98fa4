//! The same answers saved in the text encodings survey data arrives in, as
//! Parquet, as workbooks and as SPSS files give the same figures:
//! tests/fixtures/formats holds copies written by Python's codecs, pyarrow,
//! openpyxl, odfpy, xlwt and pyreadstat (make_formats.py), and a study that
//! differs only in its wave's `data`, `encoding` and `sheet` keys. A copy that is not UTF-8 and
//! declares no encoding is refused with its likely encoding named.

mod common;

use std::path::Path;

/// Builds the fixture study with its wave reading `data` with the wave's `keys`
/// (`encoding`, `sheet`) and returns the wave's results.json and method page, or
/// the build's stderr.
fn build(plugins: &Path, data: &str, keys: &[(&str, &str)]) -> Result<(String, String), String> {
    let dir = tempfile::tempdir().unwrap();
    let study = dir.path().join("study");
    common::copy_dir(&common::root().join("tests/fixtures/formats"), &study);
    let yaml = std::fs::read_to_string(study.join("study.yaml")).unwrap();
    let mut wave = format!("    data: {data}");
    for (key, value) in keys {
        wave.push_str(&format!("\n    {key}: {value}"));
    }
    assert!(yaml.contains("    data: data-utf8.csv"));
    std::fs::write(study.join("study.yaml"), yaml.replace("    data: data-utf8.csv", &wave)).unwrap();
    let out = dir.path().join("site");
    let run = common::csi()
        .args(["build", study.to_str().unwrap(), "--out", out.to_str().unwrap()])
        .arg("--plugins")
        .arg(plugins)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr).into_owned();
    if !run.status.success() {
        return Err(stderr);
    }
    let wave = out.join("mini/2024");
    let results = std::fs::read_to_string(wave.join("results.json")).unwrap();
    let method = std::fs::read_to_string(wave.join("method.html")).unwrap_or_default();
    Ok((results, method))
}

#[test]
fn every_encoding_and_format_gives_the_utf8_figures() {
    let plugins = common::standard_plugins();
    let (want, method) = build(plugins.path(), "data-utf8.csv", &[]).unwrap();
    assert!(want.contains("普通客户"), "segment groups read from the text codes");
    assert!(!method.contains("文本编码"), "no encoding to state for UTF-8");
    for (data, keys) in [
        ("data-utf8-bom.csv", &[][..]),
        ("data-utf8.csv", &[("encoding", "utf-8")]),
        ("data-gb18030.csv", &[("encoding", "gb18030")]),
        ("data-gb18030.csv", &[("encoding", "GBK")]),
        ("data-utf16.csv", &[]),
        ("data-utf16.csv", &[("encoding", "utf-16be")]),
        ("data-utf16be.csv", &[("encoding", "utf-16be")]),
        ("data.parquet", &[]),
        ("data.xlsx", &[("sheet", "数据")]),
        ("data.ods", &[("sheet", "数据")]),
        ("data.xls", &[]),
        ("data.sav", &[]),
        ("data.zsav", &[]),
    ] {
        let (results, method) = build(plugins.path(), data, keys).unwrap_or_else(|e| panic!("{data}: {e}"));
        assert!(results == want, "{data} ({keys:?}) gives other figures");
        if keys == [("encoding", "gb18030")] && data == "data-gb18030.csv" {
            assert!(
                method.contains("文本编码 GB18030"),
                "the method page states the encoding"
            );
        }
    }
}

#[test]
fn a_file_read_the_wrong_way_is_refused_with_the_key_to_set() {
    let plugins = common::standard_plugins();
    let err = build(plugins.path(), "data-gb18030.csv", &[]).unwrap_err();
    assert!(err.contains("data-gb18030.csv") && err.contains("not UTF-8"), "{err}");
    assert!(
        err.contains("looks like gb18030 text") && err.contains("`encoding: gb18030`"),
        "{err}"
    );
    let err = build(plugins.path(), "data-utf16be.csv", &[]).unwrap_err();
    assert!(err.contains("looks like utf-16be text"), "{err}");
    let err = build(plugins.path(), "data-utf16.csv", &[("encoding", "gb18030")]).unwrap_err();
    assert!(
        err.contains("UTF-16LE byte-order mark") && err.contains("`encoding: gb18030`"),
        "{err}"
    );
    let err = build(plugins.path(), "data.sav", &[("encoding", "gb18030")]).unwrap_err();
    assert!(err.contains("`encoding` applies to text (CSV) files"), "{err}");
    let err = build(plugins.path(), "data-gb18030.csv", &[("encoding", "gb2312-ish")]).unwrap_err();
    assert!(
        err.contains("unknown text encoding `gb2312-ish`") && err.contains("study.yaml:"),
        "{err}"
    );
    let err = build(plugins.path(), "data.parquet", &[("encoding", "gb18030")]).unwrap_err();
    assert!(err.contains("`encoding` applies to text (CSV) files"), "{err}");
    let err = build(plugins.path(), "data.csv", &[("sheet", "数据")]).unwrap_err();
    assert!(err.contains("`sheet` applies to workbooks"), "{err}");
    // The first sheet holds notes, not the answers: the columns are named missing.
    let err = build(plugins.path(), "data.xlsx", &[]).unwrap_err();
    assert!(err.contains("data.xlsx") && err.contains("编号"), "{err}");
    let err = build(plugins.path(), "data.xlsx", &[("sheet", "Sheet1")]).unwrap_err();
    assert!(
        err.contains("no sheet `Sheet1`") && err.contains("`说明`, `数据`"),
        "{err}"
    );
}

/// The example study's waves, written as an SPSS file, a workbook and a
/// GB18030 text file (ASCII, so byte for byte the CSV) by writers other than
/// csi's readers (ambers' writer, rust_xlsxwriter), give the same figures (to
/// 1e-12: see [`same_figures`]) with only the waves' `data` and `encoding` keys
/// changed.
#[test]
fn the_example_study_builds_unchanged_from_spss_workbook_and_gb18030_copies() {
    let plugins = common::standard_plugins();
    let example = common::root().join("reports/telecom");
    let waves = ["2000", "2001", "2002"];
    let build = |variant: &str, keys: &str| -> Vec<String> {
        let dir = tempfile::tempdir().unwrap();
        let study = dir.path().join("telecom");
        common::copy_dir(&example, &study);
        let mut yaml = std::fs::read_to_string(study.join("study.yaml")).unwrap();
        for wave in waves {
            let csv = study.join(format!("data/wave-{wave}.csv"));
            let copy = format!("data/wave-{wave}.{variant}");
            match variant {
                "csv" => continue,
                "sav" => write_sav(&csv, &study.join(&copy)),
                "xlsx" => write_xlsx(&csv, &study.join(&copy)),
                _ => {
                    std::fs::copy(&csv, study.join(&copy)).unwrap();
                }
            }
            let was = format!("data: data/wave-{wave}.csv");
            assert!(yaml.contains(&was));
            yaml = yaml.replace(&was, &format!("data: {copy}{keys}"));
        }
        std::fs::write(study.join("study.yaml"), yaml).unwrap();
        let out = dir.path().join("site");
        let run = common::csi()
            .args(["build", study.to_str().unwrap(), "--out", out.to_str().unwrap()])
            .arg("--plugins")
            .arg(plugins.path())
            .output()
            .unwrap();
        assert!(
            run.status.success(),
            "{variant}: {}",
            String::from_utf8_lossy(&run.stderr)
        );
        waves
            .iter()
            .map(|w| std::fs::read_to_string(out.join(format!("telecom/{w}/results.json"))).unwrap())
            .collect()
    };
    let want = build("csv", "");
    for (variant, keys) in [("sav", ""), ("xlsx", ""), ("txt", "\n    encoding: gb18030")] {
        let got = build(variant, keys);
        for (w, (a, b)) in waves.iter().zip(want.iter().zip(&got)) {
            let (a, b): (serde_json::Value, serde_json::Value) =
                (serde_json::from_str(a).unwrap(), serde_json::from_str(b).unwrap());
            same_figures(&a, &b, &format!("wave {w} from .{variant}"));
        }
    }
}

/// `a` and `b` hold the same figures: every text and count equal, every number
/// equal to 1e-10 relative. (The statistics pass sums the file piece by piece and
/// merges the pieces in file order; pieces of a CSV file are cut by bytes, those
/// of other formats by rows, and a file holding several waves elsewhere than
/// each wave's own file, so sums can differ in their last bits; changes between
/// waves and p-values far in a tail magnify that a thousandfold.)
fn same_figures(a: &serde_json::Value, b: &serde_json::Value, at: &str) {
    use serde_json::Value;
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
            assert!((x - y).abs() <= 1e-10 * x.abs().max(y.abs()), "{at}: {x} against {y}");
        }
        (Value::Array(x), Value::Array(y)) => {
            assert_eq!(x.len(), y.len(), "{at}");
            for (i, (u, v)) in x.iter().zip(y).enumerate() {
                same_figures(u, v, &format!("{at}[{i}]"));
            }
        }
        (Value::Object(x), Value::Object(y)) => {
            assert_eq!(x.keys().collect::<Vec<_>>(), y.keys().collect::<Vec<_>>(), "{at}");
            for (k, u) in x {
                same_figures(u, &y[k], &format!("{at}/{k}"));
            }
        }
        _ => assert_eq!(a, b, "{at}"),
    }
}

/// The CSV's header and rows (empty cells as `None`).
fn read_csv(csv: &Path) -> (Vec<String>, Vec<Vec<Option<String>>>) {
    let mut reader = csv::Reader::from_path(csv).unwrap();
    let header = reader.headers().unwrap().iter().map(str::to_string).collect();
    let rows = reader
        .records()
        .map(|r| {
            r.unwrap()
                .iter()
                .map(|c| (!c.is_empty()).then(|| c.to_string()))
                .collect()
        })
        .collect();
    (header, rows)
}

/// The example's data (all numbers) as an SPSS file, bytecode-compressed.
fn write_sav(csv: &Path, sav: &Path) {
    use arrow57::array::{ArrayRef, Float64Array, RecordBatch};
    let (header, rows) = read_csv(csv);
    let columns: Vec<(String, ArrayRef)> = header
        .iter()
        .enumerate()
        .map(|(j, h)| {
            let values = rows.iter().map(|r| r[j].as_deref().map(|c| c.parse::<f64>().unwrap()));
            (
                h.clone(),
                std::sync::Arc::new(Float64Array::from_iter(values)) as ArrayRef,
            )
        })
        .collect();
    let batch = RecordBatch::try_from_iter(columns).unwrap();
    let meta = ambers::SpssMetadata::from_arrow_schema(&batch.schema());
    ambers::write_sav(sav, &batch, &meta, ambers::Compression::Bytecode, None).unwrap();
}

/// The example's data as a workbook: numbers as number cells.
fn write_xlsx(csv: &Path, xlsx: &Path) {
    let (header, rows) = read_csv(csv);
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (j, h) in header.iter().enumerate() {
        sheet.write(0, j as u16, h.as_str()).unwrap();
    }
    for (i, row) in rows.iter().enumerate() {
        for (j, cell) in row.iter().enumerate() {
            if let Some(c) = cell {
                sheet.write(1 + i as u32, j as u16, c.parse::<f64>().unwrap()).unwrap();
            }
        }
    }
    book.save(xlsx).unwrap();
}

/// The example's three waves as one file with a `survey_wave` column (first),
/// `edit` applied to its rows (each with its wave's id first), in a copy of the
/// example study whose waves read it through `wave_column`.
fn one_file_study(dir: &Path, variant: &str, edit: &dyn Fn(&mut Vec<Vec<String>>)) -> std::path::PathBuf {
    let example = common::root().join("reports/telecom");
    let study = dir.join("telecom");
    common::copy_dir(&example, &study);
    let mut yaml = std::fs::read_to_string(study.join("study.yaml")).unwrap();
    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut header = String::new();
    for wave in ["2000", "2001", "2002"] {
        let csv = study.join(format!("data/wave-{wave}.csv"));
        let text = std::fs::read_to_string(&csv).unwrap();
        let mut lines = text.lines();
        header = format!("survey_wave,{}", lines.next().unwrap());
        rows.extend(lines.map(|l| {
            std::iter::once(wave.to_string())
                .chain(l.split(',').map(str::to_string))
                .collect()
        }));
        std::fs::remove_file(&csv).unwrap();
        let was = format!("data: data/wave-{wave}.csv");
        assert!(yaml.contains(&was));
        yaml = yaml.replace(&was, &format!("data: data/responses.{variant}"));
    }
    edit(&mut rows);
    let mut text = header + "\n";
    for r in &rows {
        text.push_str(&r.join(","));
        text.push('\n');
    }
    let csv = study.join("data/responses.csv");
    std::fs::write(&csv, text).unwrap();
    if variant == "sav" {
        write_sav(&csv, &study.join("data/responses.sav"));
        std::fs::remove_file(&csv).unwrap();
    }
    yaml = yaml.replacen("\nwaves:\n", "\nwave_column: survey_wave\nwaves:\n", 1);
    std::fs::write(study.join("study.yaml"), yaml).unwrap();
    study
}

#[test]
fn the_example_study_builds_unchanged_from_one_file_holding_every_wave() {
    let plugins = common::standard_plugins();
    let waves = ["2000", "2001", "2002"];
    let build = |study: &Path, out: &Path| -> Vec<serde_json::Value> {
        let run = common::csi()
            .args(["build", study.to_str().unwrap(), "--out", out.to_str().unwrap(), "-v"])
            .arg("--plugins")
            .arg(plugins.path())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert!(run.status.success(), "{stderr}");
        waves
            .iter()
            .map(|w| {
                let json = std::fs::read_to_string(out.join(format!("telecom/{w}/results.json"))).unwrap();
                serde_json::from_str(&json).unwrap()
            })
            .collect()
    };
    let dir = tempfile::tempdir().unwrap();
    let want = build(&common::root().join("reports/telecom"), &dir.path().join("site"));
    for variant in ["csv", "sav"] {
        let at = dir.path().join(variant);
        // The waves' rows interleaved, each wave's in its order: still its own.
        let study = one_file_study(&at, variant, &|rows| {
            let mut by_wave: Vec<std::collections::VecDeque<Vec<String>>> = waves
                .iter()
                .map(|w| rows.iter().filter(|r| r[0] == *w).cloned().collect())
                .collect();
            rows.clear();
            while by_wave.iter().any(|w| !w.is_empty()) {
                rows.extend(by_wave.iter_mut().filter_map(std::collections::VecDeque::pop_front));
            }
        });
        let got = build(&study, &at.join("site"));
        for (w, (a, b)) in waves.iter().zip(want.iter().zip(&got)) {
            same_figures(a, b, &format!("wave {w} from one .{variant} file"));
        }
        let method = std::fs::read_to_string(at.join("site/telecom/2001/method.html")).unwrap();
        assert!(
            method.contains(&format!(
                "responses.{variant}</code> (本期取其中 <code>survey_wave = 2001</code>的行)"
            )),
            "the method page says which rows are the wave's"
        );
    }
}

#[test]
fn a_problem_in_one_wave_of_a_shared_file_fails_that_wave_only() {
    let plugins = common::standard_plugins();
    let dir = tempfile::tempdir().unwrap();
    let study = one_file_study(dir.path(), "csv", &|rows| {
        // A 2002 respondent with a 2000 respondent's id: another wave, no duplicate.
        let first = rows[0][1].clone();
        let later = rows.iter().position(|r| r[0] == "2002").unwrap();
        rows[later][1] = first;
        // A 2001 respondent twice: a duplicate within its wave.
        let twice = rows.iter().find(|r| r[0] == "2001").unwrap().clone();
        rows.push(twice);
        // Rows of a wave the study does not have are not read.
        let mut other = rows[0].clone();
        other[0] = "2003".into();
        other[5] = "-7".into();
        rows.push(other);
    });
    let run = common::csi()
        .args(["check", study.to_str().unwrap()])
        .arg("--plugins")
        .arg(plugins.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(!run.status.success());
    assert!(
        stderr.contains("wave `2001`") && stderr.contains("duplicate"),
        "{stderr}"
    );
    let lines = 1 + 3012 + 3047 + 3106 + 1;
    assert!(
        stderr.contains(&format!("line {lines}")),
        "the duplicate at its line: {stderr}"
    );
    for other in ["wave `2000`", "wave `2002`", "-7"] {
        assert!(!stderr.contains(other), "{other}: {stderr}");
    }
    // The row of no wave is not read, but said.
    assert!(
        stderr.contains("note: study `telecom`: 1 row(s) of `data/responses.csv` have a `survey_wave` that no wave takes, so they are not read: `2003` (1 row)"),
        "{stderr}"
    );
}
