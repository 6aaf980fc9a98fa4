//! Loading valid studies: what the model holds after validation.

use std::path::{Path, PathBuf};

use csi_study::{Label, Policy, SegmentKind};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn mini_study_model() {
    let s = csi_study::load(&root().join("tests/fixtures/mini/study.yaml")).unwrap();
    assert_eq!(s.id, "mini");
    assert_eq!(s.text(&s.title), "迷你测试研究");
    assert_eq!(s.waves[0].id, "2024");
    // Sibling weights are normalised: network 3, billing 1.
    assert_eq!(s.tree[0].weight, 0.75);
    assert_eq!(s.tree[1].weight, 0.25);
    assert!((s.tree[0].children[0].weight - 2.0 / 3.0).abs() < 1e-15);
    assert_eq!(s.indicators().len(), 4);
    let wait = s.indicators()[3].measure.as_ref().unwrap();
    assert_eq!(
        (wait.scale.min, wait.scale.max, wait.scale.missing.clone()),
        (0.0, 60.0, vec![-1.0])
    );
    assert_eq!(
        wait.scale.top_box, None,
        "a measure with a unit has no top box by default"
    );
    let q1 = s.indicators()[0].measure.as_ref().unwrap();
    assert_eq!(q1.scale.top_box_threshold(q1.direction), Some(9.0));
    assert!(
        matches!(&s.segments[1].kind, SegmentKind::Banded { bands } if bands.len() == 3 && bands[1].contains(1997.0))
    );
    assert_eq!(s.data_policy.non_numeric, Policy::Error);
}

#[test]
fn numbers_are_accepted_where_text_is_natural() {
    let yaml = r#"
id: n
title: {zh: 研究, en: 2024}
data_policy: {out_of_range: exclude}
waves:
  - {id: 2024, label: {zh: 2024年度, en: 2024}, data: study.yaml}
tree:
  - {id: a, column: 7}
"#;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("study.yaml"), yaml).unwrap();
    let s = csi_study::parse(yaml, Path::new("study.yaml"), dir.path()).unwrap();
    assert_eq!(s.title.get("en"), "2024");
    assert_eq!(
        s.waves[0].label,
        Label::Translations([("en".into(), "2024".into()), ("zh".into(), "2024年度".into())].into())
    );
    assert_eq!(s.indicators()[0].measure.as_ref().unwrap().column.name, "7");
    // A partial data policy leaves the other kinds at `error`.
    assert_eq!(s.data_policy.out_of_range, Policy::Exclude);
    assert_eq!(s.data_policy.invalid_weight, Policy::Error);
}

#[test]
fn all_problems_are_reported_at_once() {
    let yaml = "id: x\ntitle: t\nwaves:\n  - {id: w, data: nope.csv}\n  - {id: w, data: nope.csv}\ntree:\n  - {id: a, column: q, weight: 0}\n  - {id: a, colum: q}\nbogus: 1\n";
    let dir = tempfile::tempdir().unwrap();
    let err = csi_study::parse(yaml, Path::new("study.yaml"), dir.path()).unwrap_err();
    let msgs: Vec<String> = err.diagnostics().iter().map(|d| d.message.clone()).collect();
    for want in [
        "unknown key `bogus` in the study",
        "unknown key `colum` in a tree node",
        "duplicate wave id `w`",
        "file `nope.csv` not found",
        "weight 0 of `a` must be a positive number",
        "duplicate node id `a`",
    ] {
        assert!(msgs.iter().any(|m| m.contains(want)), "missing `{want}` in {msgs:#?}");
    }
    // Every diagnostic is located.
    assert!(err.diagnostics().iter().all(|d| d.location.is_some()));
}

/// A minimal valid study with `settings` as given, in a folder of its own.
fn with_settings(settings: &str) -> (tempfile::TempDir, String) {
    let yaml = format!(
        "id: d\ntitle: t\n{settings}waves:\n  - {{id: 2024, data: study.yaml}}\ntree:\n  - {{id: a, column: q}}\n"
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("study.yaml"), &yaml).unwrap();
    (dir, yaml)
}

#[test]
fn decimals_are_read_per_kind_of_figure() {
    use csi_study::Decimals;
    // None given: the defaults (one decimal, three for coefficients and p).
    let (dir, yaml) = with_settings("");
    let s = csi_study::parse(&yaml, Path::new("study.yaml"), dir.path()).unwrap();
    assert_eq!(s.settings.decimals, Decimals::default());
    assert_eq!(
        Decimals::default(),
        Decimals {
            score: 1,
            share: 1,
            change: 1,
            coefficient: 3,
            p: 3
        }
    );
    // Some given, beside the other settings: the rest keep their defaults.
    let (dir, yaml) =
        with_settings("settings:\n  confidence: 0.9\n  decimals:\n    score: 2\n    change: 0\n    p: 4\n");
    let s = csi_study::parse(&yaml, Path::new("study.yaml"), dir.path()).unwrap();
    assert_eq!(s.settings.confidence, 0.9);
    assert_eq!(
        s.settings.decimals,
        Decimals {
            score: 2,
            change: 0,
            p: 4,
            ..Decimals::default()
        }
    );
    // The defaults are left out of the serialised study (its content hash is
    // unchanged for studies that do not set them); others are kept.
    let json = serde_json::to_value(&s).unwrap();
    assert_eq!(json["settings"]["decimals"]["score"], 2);
    let plain = csi_study::parse(
        &with_settings("").1,
        Path::new("study.yaml"),
        with_settings("").0.path(),
    );
    let plain = serde_json::to_value(plain.unwrap()).unwrap();
    assert!(plain["settings"].get("decimals").is_none(), "{plain}");
}

#[test]
fn bad_decimals_are_located_with_a_fix() {
    let (dir, yaml) = with_settings("settings:\n  decimals: {score: 5, shares: 2, change: -1, coefficient: 4}\n");
    let err = csi_study::parse(&yaml, Path::new("study.yaml"), dir.path()).unwrap_err();
    let find = |want: &str| {
        err.diagnostics()
            .iter()
            .find(|d| d.message.contains(want))
            .unwrap_or_else(|| panic!("no `{want}` in {:#?}", err.diagnostics()))
    };
    let unknown = find("unknown key `shares` in `settings.decimals`");
    assert_eq!(
        unknown.help.as_deref(),
        Some("did you mean `share`? (percentages of 0–1 shares)")
    );
    let range = find("decimals `score: 5` must be a whole number from 0 to 4");
    assert!(range.help.as_deref().unwrap().contains("`score: 1`"), "{range:?}");
    let loc = range.location.unwrap();
    assert_eq!((loc.line, loc.column), (4, 21), "at the value 5");
    find("decimals `change: -1` must be a whole number from 0 to 4");
    assert!(
        !err.diagnostics().iter().any(|d| d.message.contains("coefficient")),
        "4 is allowed"
    );
    // Not a mapping, or not a number: a type error saying how to write it.
    for bad in ["settings:\n  decimals: 2\n", "settings:\n  decimals: {score: two}\n"] {
        let (dir, yaml) = with_settings(bad);
        let err = csi_study::parse(&yaml, Path::new("study.yaml"), dir.path()).unwrap_err();
        let d = &err.diagnostics()[0];
        assert!(d.message.starts_with("wrong type"), "{d:?}");
        assert!(d.location.is_some(), "{d:?}");
    }
}

#[test]
fn waves_of_one_file_are_its_rows_by_a_column() {
    let yaml = "id: d\ntitle: t\nwave_column: survey_wave\nwaves:\n  - {id: 2001, data: study.yaml}\n  - {id: 2002, data: study.yaml, where: {quarter: [Q1, 2]}}\n  - {id: 2003, data: study.yaml, where: {quarter: 3}}\ntree:\n  - {id: a, column: q}\n";
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("study.yaml"), yaml).unwrap();
    let s = csi_study::parse(yaml, Path::new("study.yaml"), dir.path()).unwrap();
    let filters: Vec<(String, Vec<String>)> = s
        .waves
        .iter()
        .map(|w| {
            let f = w.filter.as_ref().unwrap();
            (f.column.name.clone(), f.values.clone())
        })
        .collect();
    assert_eq!(
        filters,
        [
            ("survey_wave".to_string(), vec!["2001".to_string()]),
            ("quarter".into(), vec!["Q1".into(), "2".into()]),
            ("quarter".into(), vec!["3".into()]),
        ]
    );
    assert_eq!(s.waves[1].filter.as_ref().unwrap().text(), "quarter = Q1 or 2");
    // The wave column is a column the study reads, for the header check.
    assert!(s.columns_for(&s.waves[0]).iter().any(|c| c.name == "survey_wave"));
}

#[test]
fn a_wave_filter_that_cannot_select_rows_is_refused_at_its_line() {
    let (dir, _) = with_settings("");
    let cases = [
        ("where: {a: 1, b: 2}", "`where` names one column only"),
        ("where: [wave, 2001]", "`where` must name a column and its value"),
        ("where: {wave: []}", "must give the wave's value"),
        ("where: {wave: {x: 1}}", "must give the wave's value"),
    ];
    for (filter, want) in cases {
        let yaml = format!("id: d\ntitle: t\nwaves:\n  - id: 2024\n    data: study.yaml\n    {filter}\ntree:\n  - {{id: a, column: q}}\n");
        let err = csi_study::parse(&yaml, Path::new("study.yaml"), dir.path()).unwrap_err();
        let d = err
            .diagnostics()
            .iter()
            .find(|d| d.message.contains(want))
            .unwrap_or_else(|| panic!("{filter}: {:#?}", err.diagnostics()));
        assert_eq!(d.location.map(|l| l.line), Some(6), "{filter}");
        assert!(d.help.as_deref().unwrap_or("").contains("where: {wave: 2002}"));
    }
    // Two waves claiming the same rows: the second is refused at its `where`.
    let yaml = "id: d\ntitle: t\nwaves:\n  - {id: a, data: study.yaml, where: {wave: [1, 2]}}\n  - id: b\n    data: study.yaml\n    where: {wave: 2.0}\ntree:\n  - {id: a, column: q}\n";
    let err = csi_study::parse(yaml, Path::new("study.yaml"), dir.path()).unwrap_err();
    let d = &err.diagnostics()[0];
    assert!(
        d.message.contains("with wave = 2.0 would be in two waves, `a` and `b`"),
        "{d:?}"
    );
    assert_eq!(d.location.map(|l| l.line), Some(7));
    // Through the wave column too: wave `2002`'s rows, claimed again by `2002.0`.
    let yaml = "id: d\ntitle: t\nwave_column: wave\nwaves:\n  - {id: 2002, data: study.yaml}\n  - {id: b, data: ./study.yaml, where: {wave: 2002.0}}\ntree:\n  - {id: a, column: q}\n";
    let err = csi_study::parse(yaml, Path::new("study.yaml"), dir.path()).unwrap_err();
    assert!(
        err.diagnostics()[0]
            .message
            .contains("would be in two waves, `2002` and `b`"),
        "{:?}",
        err.diagnostics()
    );
    // A wave reading the whole file that others take rows of.
    let yaml = "id: d\ntitle: t\nwaves:\n  - {id: a, data: study.yaml, where: {wave: 1}}\n  - {id: b, data: study.yaml}\ntree:\n  - {id: a, column: q}\n";
    let err = csi_study::parse(yaml, Path::new("study.yaml"), dir.path()).unwrap_err();
    let d = &err.diagnostics()[0];
    assert!(d.message.contains("wave `b` reads every row of `study.yaml`"), "{d:?}");
    assert!(d.help.as_deref().unwrap_or("").contains("where: {wave: b}"), "{d:?}");
    assert_eq!(d.location.map(|l| l.line), Some(5));
    // An empty wave column, a yes/no value.
    for (yaml, want) in [
        ("id: d\ntitle: t\nwave_column: \"  \"\nwaves:\n  - {id: a, data: study.yaml}\ntree:\n  - {id: a, column: q}\n", "`wave_column` is empty"),
        ("id: d\ntitle: t\nwaves:\n  - {id: a, data: study.yaml, where: {done: true}}\ntree:\n  - {id: a, column: q}\n", "must give the wave's value"),
    ] {
        let err = csi_study::parse(yaml, Path::new("study.yaml"), dir.path()).unwrap_err();
        assert!(err.diagnostics().iter().any(|d| d.message.contains(want) && d.location.is_some()), "{want}: {:?}", err.diagnostics());
    }
    // Another file, or another column, claims nothing of these rows.
    let yaml = "id: d\ntitle: t\nwaves:\n  - {id: a, data: study.yaml, where: {wave: 1}}\n  - {id: b, data: study.yaml, where: {round: 1}}\ntree:\n  - {id: a, column: q}\n";
    assert!(csi_study::parse(yaml, Path::new("study.yaml"), dir.path()).is_ok());
}

/// A study with a tree of two categories (`a`: a1, a2; `b`: b1, b2) and an
/// overall item `o`, and `structural` as its model.
fn with_model(structural: &str) -> (tempfile::TempDir, String) {
    let yaml = format!(
        "id: d\ntitle: t\nwaves:\n  - {{id: 1, data: study.yaml}}\ntree:\n  - id: a\n    children:\n      - {{id: a1, column: a1}}\n      - {{id: a2, column: a2}}\n  - id: b\n    children:\n      - {{id: b1, column: b1}}\n      - {{id: b2, column: b2}}\noverall:\n  - {{id: o, column: o}}\n  - {{id: o2, column: o2}}\nstructural:\n{structural}"
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("study.yaml"), &yaml).unwrap();
    (dir, yaml)
}

#[test]
fn a_structural_model_is_read_from_tree_nodes_and_items() {
    let (dir, yaml) = with_model(
        "  constructs:\n    - {id: A, node: a}\n    - {id: B, items: [b1, b2], mode: formative}\n    - {id: S, label: Satisfaction, items: [o]}\n    - {id: L, items: [o2]}\n  paths:\n    - {from: A, to: S}\n    - {from: B, to: S}\n    - {from: S, to: L}\n  scheme: factorial\n  bootstrap: {replicates: 100, seed: 3}\n",
    );
    let s = csi_study::parse(&yaml, Path::new("study.yaml"), dir.path()).unwrap();
    let m = s.structural.clone().unwrap();
    let items: Vec<Vec<&str>> = m
        .constructs
        .iter()
        .map(|c| c.items.iter().map(String::as_str).collect())
        .collect();
    assert_eq!(items, [vec!["a1", "a2"], vec!["b1", "b2"], vec!["o"], vec!["o2"]]);
    let modes: Vec<&str> = m.constructs.iter().map(|c| c.mode.as_str()).collect();
    assert_eq!(modes, ["A", "B", "A", "A"]);
    assert_eq!(m.paths, [(0, 2), (1, 2), (2, 3)]);
    assert_eq!(
        (m.scheme.as_str(), m.replicates, m.seed, m.max_iterations),
        ("factorial", 100, 3, 300)
    );
    // The target by default: what most paths lead to and what leads on.
    assert_eq!(m.constructs[m.target].id, "S");
    assert_eq!(
        s.text(&m.constructs[0].label),
        "a",
        "a node's construct takes its label"
    );
    assert_eq!(s.text(&m.constructs[2].label), "Satisfaction");
}

#[test]
fn a_structural_model_that_cannot_be_estimated_is_refused_at_its_line() {
    let paths = "  paths:\n    - {from: A, to: S}\n    - {from: B, to: S}\n";
    let cases = [
        (
            format!("  constructs:\n    - {{id: A, node: nope}}\n    - {{id: B, node: b}}\n    - {{id: S, items: [o]}}\n{paths}"),
            "construct `A` names node `nope`, which is not in the tree",
            19,
        ),
        (
            format!("  constructs:\n    - {{id: A, node: a}}\n    - {{id: B, items: [b1, a1]}}\n    - {{id: S, items: [o]}}\n{paths}"),
            "item `a1` belongs to construct `A` and to `B`",
            20,
        ),
        (
            format!("  constructs:\n    - {{id: A, node: a}}\n    - {{id: B, items: [b]}}\n    - {{id: S, items: [o]}}\n{paths}"),
            "`b` is a category, not an item; use `node: b`",
            20,
        ),
        (
            format!("  constructs:\n    - {{id: A, node: a, mode: C}}\n    - {{id: B, node: b}}\n    - {{id: S, items: [o]}}\n{paths}"),
            "unknown mode `c`",
            19,
        ),
        (
            "  constructs:\n    - {id: A, node: a}\n    - {id: B, node: b}\n    - {id: S, items: [o]}\n  paths:\n    - {from: A, to: S}\n    - {from: S, to: B}\n    - {from: B, to: A}\n".to_string(),
            "the path from `B` to `A` closes a loop",
            25,
        ),
        (
            "  constructs:\n    - {id: A, node: a}\n    - {id: B, node: b}\n    - {id: S, items: [o]}\n  paths:\n    - {from: A, to: Sat}\n".to_string(),
            "path 1 names `Sat`, which is not a construct",
            23,
        ),
        (
            format!("  constructs:\n    - {{id: A, node: a}}\n    - {{id: B, node: b}}\n    - {{id: S, items: [o]}}\n    - {{id: L, items: [o2]}}\n{paths}"),
            "construct `L` is on no path",
            22,
        ),
        (
            format!("  constructs:\n    - {{id: A, node: a}}\n    - {{id: B, node: b}}\n    - {{id: S, items: [o]}}\n{paths}  bootstrap: {{replicates: 1}}\n"),
            "1 bootstrap replicates cannot give intervals",
            25,
        ),
        (
            format!("  constructs:\n    - {{id: A, node: a}}\n    - {{id: B, node: b}}\n    - {{id: S, items: [o]}}\n{paths}  wieghts: path\n"),
            "unknown key `wieghts` in `structural`",
            25,
        ),
    ];
    let more = [
        (
            format!("  constructs:\n    - {{id: A, node: a}}\n    - {{id: B, items: [b1, b1]}}\n    - {{id: S, items: [o]}}\n{paths}"),
            "construct `B` lists `b1` twice",
            20,
        ),
        (
            format!("  constructs:\n    - {{id: A, node: a}}\n    - {{id: B, node: b}}\n    - {{id: S, items: [o]}}\n{paths}  target: Sat\n"),
            "`target` names `Sat`, which is not a construct",
            25,
        ),
        (
            format!("  constructs:\n    - {{id: A, node: a}}\n    - {{id: B, node: b}}\n    - {{id: S, items: [o]}}\n{paths}  target: A\n"),
            "`target` names `A`, which no path leads to",
            25,
        ),
        (
            format!("  constructs:\n    - {{id: A, node: a}}\n    - {{id: B, node: b}}\n    - {{id: S, items: [o]}}\n{paths}  tolerance: 2\n"),
            "`tolerance` 2 is not between 0 and 1",
            25,
        ),
    ];
    for (structural, want, line) in cases.into_iter().chain(more) {
        let (dir, yaml) = with_model(&structural);
        let err = csi_study::parse(&yaml, Path::new("study.yaml"), dir.path()).unwrap_err();
        let d = err
            .diagnostics()
            .iter()
            .find(|d| d.message.contains(want))
            .unwrap_or_else(|| panic!("no `{want}` in {:?}", err.diagnostics()));
        assert_eq!(d.location.map(|l| l.line), Some(line), "{want}: {d:?}");
    }
}
