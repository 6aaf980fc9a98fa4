//! `csi import FILE`: a study folder drafted from a data file builds as written,
//! and on a labelled SPSS file (tests/fixtures/import, written by pyreadstat) the
//! draft's scale, missing codes, segments and labels are those the file declares,
//! and the site shows them.

mod common;

use std::path::Path;

use serde_yaml::Value;

/// Imports `data` into `dir/study` and builds it into `dir/site`; returns the
/// import's stdout.
fn import_and_build(dir: &Path, plugins: &Path, data: &Path, extra: &[&str]) -> String {
    let study = dir.join("study");
    let run = common::csi()
        .arg("import")
        .arg(data)
        .arg("--out")
        .arg(&study)
        .args(extra)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout).into_owned();
    assert!(
        run.status.success(),
        "{}: {}",
        data.display(),
        String::from_utf8_lossy(&run.stderr)
    );
    let build = common::csi()
        .arg("build")
        .arg(&study)
        .arg("--out")
        .arg(dir.join("site"))
        .arg("--plugins")
        .arg(plugins)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&build.stderr);
    assert!(build.status.success(), "{}: {stderr}", data.display());
    assert!(!stderr.contains("failed"), "{}: {stderr}", data.display());
    stdout
}

#[test]
fn an_spss_file_drafts_a_study_labelled_from_it() {
    let plugins = common::standard_plugins();
    let dir = tempfile::tempdir().unwrap();
    let sav = common::root().join("tests/fixtures/import/survey.sav");
    let said = import_and_build(dir.path(), plugins.path(), &sav, &[]);
    assert!(said.contains("guessed:") && said.contains("GUESS"), "{said}");
    let yaml: Value =
        serde_yaml::from_str(&std::fs::read_to_string(dir.path().join("study/study.yaml")).unwrap()).unwrap();
    assert_eq!(yaml["title"], "客户满意度调查 2024", "the file's label");
    assert_eq!(yaml["language"], "zh");
    assert_eq!(yaml["respondent_id"], "respid");
    assert_eq!(yaml["waves"][0]["weight"], "w");
    assert_eq!(yaml["waves"][0]["data"], "data/survey.sav");
    let scale = &yaml["scale"];
    assert_eq!((scale["min"].as_f64(), scale["max"].as_f64()), (Some(1.0), Some(10.0)));
    let mut missing: Vec<f64> = scale["missing"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    missing.sort_by(f64::total_cmp);
    assert_eq!(missing, [-99.0, 0.0, 99.0], "the declared missing values");
    assert_eq!(scale["labels"][1], "非常不满意");
    assert_eq!(scale["labels"][10], "非常满意");
    let segments = yaml["segments"].as_sequence().unwrap();
    let segment = |column: &str| segments.iter().find(|s| s["column"] == column).unwrap();
    assert_eq!(segment("ctype")["label"], "客户类型");
    assert_eq!(segment("ctype")["values"]["1"], "普通客户");
    assert_eq!(segment("ctype")["values"]["2"], "高端客户");
    assert_eq!(segment("ctype")["values"]["3"], "预付费客户");
    assert_eq!(segment("region")["values"]["4"], "西部");
    assert_eq!(segments.len(), 2, "no other variable has a few labelled codes");
    let items: Vec<&Value> = yaml["tree"]
        .as_sequence()
        .unwrap()
        .iter()
        .flat_map(|c| c["children"].as_sequence().unwrap())
        .collect();
    let label = |column: &str| items.iter().find(|i| i["column"] == column).map(|i| i["label"].clone());
    assert_eq!(label("q1"), Some("网络覆盖满意度".into()));
    assert_eq!(label("q3"), Some("计费准确性满意度".into()));
    assert_eq!(items.iter().find(|i| i["column"] == "q1").unwrap()["expectation"], "e1");
    assert_eq!(yaml["overall"][0]["column"], "q0");
    assert_eq!(yaml["overall"][0]["label"], "总体满意度");
    // The site speaks the file's labels.
    let site = dir.path().join("site/study/1");
    let index = std::fs::read_to_string(site.join("index.html")).unwrap();
    assert!(
        index.contains("网络覆盖满意度") && index.contains("总体满意度"),
        "item labels on the overview"
    );
    let segment_page = std::fs::read_to_string(site.join("segment.html")).unwrap();
    assert!(
        segment_page.contains("高端客户") && segment_page.contains("华东"),
        "group labels"
    );
}

#[test]
fn every_format_drafts_a_study_that_builds() {
    let plugins = common::standard_plugins();
    let formats = common::root().join("tests/fixtures/formats");
    for (file, extra) in [
        ("data-utf8.csv", &[][..]),
        ("data-gb18030.csv", &["--encoding", "gb18030"][..]),
        ("data.parquet", &[]),
        ("data.xlsx", &[]),
        ("data.zsav", &[]),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let said = import_and_build(dir.path(), plugins.path(), &formats.join(file), extra);
        let yaml = std::fs::read_to_string(dir.path().join("study/study.yaml")).unwrap();
        assert!(yaml.contains("respondent_id: \"编号\""), "{file}: {yaml}");
        assert!(yaml.contains("column: \"客户类型\""), "{file}: the text segment");
        assert!(!yaml.contains("column: \"备注\""), "{file}: free text is not a segment");
        if file == "data.xlsx" {
            assert!(said.contains("sheet: `数据`"), "{said}");
        }
    }
}

#[test]
fn an_existing_folder_is_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("keep.txt"), "mine").unwrap();
    let run = common::csi()
        .arg("import")
        .arg(common::root().join("tests/fixtures/import/survey.sav"))
        .arg("--out")
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!run.status.success());
    assert!(String::from_utf8_lossy(&run.stderr).contains("already exists and is not empty"));
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

/// `csi import FILE --wave ID --into STUDY` adds a wave: the study's text kept
/// line for line with the wave's entry after the last wave, the file copied, and
/// what differs from the previous wave reported; the study then builds both waves
/// once the dropped question is marked as asked in the first only.
#[test]
fn a_later_wave_is_added_to_the_study() {
    let plugins = common::standard_plugins();
    let dir = tempfile::tempdir().unwrap();
    let fixtures = common::root().join("tests/fixtures/import");
    import_and_build(dir.path(), plugins.path(), &fixtures.join("survey.sav"), &[]);
    let study = dir.path().join("study");
    let before = std::fs::read_to_string(study.join("study.yaml")).unwrap();
    let run = common::csi()
        .arg("import")
        .arg(fixtures.join("survey-2025.sav"))
        .args(["--wave", "2025", "--into"])
        .arg(&study)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&run.stdout);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    assert!(said.contains("lacks: q3"), "{said}");
    assert!(said.contains("not in wave 1): q5"), "{said}");
    assert!(said.contains("`q2`: its label changed"), "{said}");
    assert!(study.join("data/survey-2025.sav").exists());
    let after = std::fs::read_to_string(study.join("study.yaml")).unwrap();
    let added: Vec<&str> = after.lines().filter(|l| !before.lines().any(|b| b == *l)).collect();
    assert_eq!(
        added,
        [
            "  - id: \"2025\"",
            "    data: \"data/survey-2025.sav\"",
            "    weight: \"w\""
        ],
        "only the wave's entry is new"
    );
    assert_eq!(
        after.lines().filter(|l| !added.contains(l)).collect::<Vec<_>>(),
        before.lines().collect::<Vec<_>>(),
        "every other line kept, in order"
    );
    // The same id again is refused, and nothing changes.
    let again = common::csi()
        .arg("import")
        .arg(fixtures.join("survey-2025.sav"))
        .args(["--wave", "2025", "--into"])
        .arg(&study)
        .output()
        .unwrap();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already has a wave `2025`"));
    assert_eq!(std::fs::read_to_string(study.join("study.yaml")).unwrap(), after);
    // Marked as asked in wave 1 only, the dropped question no longer stops the build.
    let marked = after.replacen("column: \"q3\"", "column: \"q3\"\n        waves: [\"1\"]", 1);
    std::fs::write(study.join("study.yaml"), marked).unwrap();
    let build = common::csi()
        .arg("build")
        .arg(&study)
        .arg("--out")
        .arg(dir.path().join("site"))
        .arg("--plugins")
        .arg(plugins.path())
        .output()
        .unwrap();
    assert!(build.status.success(), "{}", String::from_utf8_lossy(&build.stderr));
    assert!(dir.path().join("site/study/2025/index.html").exists());
}

/// A hand-written study over an SPSS file may leave labels out: items and
/// segments take the file's variable labels, a segment without `values` its value
/// labels (the scale's point labels too: see csi-engine's from_data tests); what
/// the YAML writes wins.
#[test]
fn an_spss_file_labels_what_the_study_leaves_out() {
    let plugins = common::standard_plugins();
    let dir = tempfile::tempdir().unwrap();
    let study = dir.path().join("bare");
    std::fs::create_dir_all(&study).unwrap();
    std::fs::copy(
        common::root().join("tests/fixtures/import/survey.sav"),
        study.join("survey.sav"),
    )
    .unwrap();
    let yaml = r#"id: bare
title: 标签来自数据
language: zh
respondent_id: respid
scale: {min: 1, max: 10, missing: [99, -99, 0]}
waves:
  - id: "2024"
    data: survey.sav
    weight: w
tree:
  - id: network
    label: 网络
    children:
      - {id: coverage, column: q1}
      - {id: quality, column: q2, label: 通话质量（问卷措辞）}
  - id: billing
    label: 计费
    children:
      - {id: accuracy, column: q3}
overall:
  - {id: overall, column: q0}
segments:
  - {id: type, column: ctype}
analyses:
  - plugin: segment
"#;
    std::fs::write(study.join("study.yaml"), yaml).unwrap();
    let build = |out: &str| {
        common::csi()
            .arg("build")
            .arg(&study)
            .arg("--out")
            .arg(dir.path().join(out))
            .arg("--plugins")
            .arg(plugins.path())
            .output()
            .unwrap()
    };
    let run = build("site");
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let wave = dir.path().join("site/bare/2024");
    let index = std::fs::read_to_string(wave.join("index.html")).unwrap();
    assert!(
        index.contains("网络覆盖满意度") && index.contains("计费准确性满意度"),
        "item labels from the file"
    );
    assert!(
        index.contains("通话质量（问卷措辞）") && !index.contains("通话质量满意度"),
        "the YAML's label wins"
    );
    assert!(index.contains("总体满意度"), "the overall item's label");
    let segment = std::fs::read_to_string(wave.join("segment.html")).unwrap();
    assert!(segment.contains("客户类型") && segment.contains("高端客户") && segment.contains("预付费客户"));
    // Without an SPSS file, a segment needs its values.
    let csv = common::root().join("tests/fixtures/mini/data.csv");
    std::fs::copy(&csv, study.join("data.csv")).unwrap();
    let yaml = yaml
        .replace("data: survey.sav", "data: data.csv")
        .replace("respid", "rid");
    std::fs::write(study.join("study.yaml"), yaml).unwrap();
    let run = build("site2");
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(!run.status.success());
    assert!(
        err.contains("segment `type` needs `values`") && err.contains("study.yaml:"),
        "{err}"
    );
}

/// Drafts from awkward CSV files: an item on a narrower scale keeps its own, a
/// weight with blanks is not taken for one, a header with a line break stays in
/// its comment, and a file with no rated item is refused with what was seen.
#[test]
fn awkward_files_give_a_loadable_draft_or_a_clear_refusal() {
    let dir = tempfile::tempdir().unwrap();
    let mut csv = String::from("id,w,q1,q2,q3,q4,r1,r2,\"remarks\nfree text\"\n");
    for i in 0..60 {
        let w = if i % 10 == 0 { String::new() } else { format!("1.{i}") };
        let a = i % 10 + 1;
        let b = i % 5 + 1;
        csv.push_str(&format!(
            "{i},{w},{a},{},{},{a},{b},{b},\"note {i}\"\n",
            (a % 10) + 1,
            ((a + 3) % 10) + 1
        ));
    }
    let data = dir.path().join("awkward.csv");
    std::fs::write(&data, csv).unwrap();
    let study = dir.path().join("study");
    let run = common::csi()
        .arg("import")
        .arg(&data)
        .arg("--out")
        .arg(&study)
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let yaml = std::fs::read_to_string(study.join("study.yaml")).unwrap();
    assert!(
        yaml.contains("column: \"r1\"\n        scale: {min: 1, max: 5"),
        "{yaml}"
    );
    assert!(!yaml.contains("weight: \"w\""), "a weight with blanks: {yaml}");
    let text = dir.path().join("text.csv");
    std::fs::write(&text, "name,city\nAnn,Paris\nBo,Rome\n").unwrap();
    let run = common::csi()
        .arg("import")
        .arg(&text)
        .arg("--out")
        .arg(dir.path().join("text"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(!run.status.success() && err.contains("no rated item"), "{err}");
    assert!(!dir.path().join("text").exists());
}

#[test]
fn an_id_must_differ_on_every_row_and_a_segment_takes_every_code_seen() {
    let plugins = common::standard_plugins();
    let dir = tempfile::tempdir().unwrap();
    let mut csv = String::from("age,resp_id,q1,q2,q3,q4,member\n");
    for i in 0..120 {
        let a = i % 10 + 1;
        let member = ["1", "2", "DK"][i % 3];
        csv.push_str(&format!(
            "{},{},{a},{},{},{a},{member}\n",
            18 + (i * 7) % 63,
            i % 90,
            (a % 10) + 1,
            ((a + 3) % 10) + 1
        ));
    }
    let data = dir.path().join("survey.csv");
    std::fs::write(&data, csv).unwrap();
    let out = import_and_build(dir.path(), plugins.path(), &data, &[]);
    let yaml = std::fs::read_to_string(dir.path().join("study/study.yaml")).unwrap();
    // Neither the first column nor `resp_id` (named like one) is an id: their values repeat.
    assert!(!yaml.contains("respondent_id: \"age\""), "{yaml}");
    assert!(!yaml.contains("respondent_id: \"resp_id\""), "{yaml}");
    assert!(!out.contains("id: `age`") && !out.contains("id: `resp_id`"), "{out}");
    // `member` mixes numbers and a text: every code seen is a group.
    let study: Value = serde_yaml::from_str(&yaml).unwrap();
    let member = study["segments"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|s| s["column"] == "member")
        .unwrap_or_else(|| panic!("{yaml}"));
    let codes: Vec<String> = member["values"]
        .as_mapping()
        .unwrap()
        .keys()
        .map(|k| match k {
            Value::String(s) => s.clone(),
            other => serde_yaml::to_string(other).unwrap().trim().to_string(),
        })
        .collect();
    assert_eq!(codes, ["1", "2", "DK"], "{yaml}");
}
