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
