//! Site settings (`site.yaml`): the branding reaches every page, and the file is
//! treated as untrusted input — a logo outside its folder is refused, and a typo is
//! reported with its line and column.

mod common;

fn csi(args: &[&str]) -> std::process::Output {
    common::csi().args(args).output().unwrap()
}

/// A copy of the mini fixture study inside a folder holding `site` as site.yaml.
fn folder(site: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let study = dir.path().join("mini");
    std::fs::create_dir_all(&study).unwrap();
    for f in ["study.yaml", "data.csv"] {
        std::fs::copy(common::root().join("tests/fixtures/mini").join(f), study.join(f)).unwrap();
    }
    std::fs::write(dir.path().join("site.yaml"), site).unwrap();
    dir
}

#[test]
fn the_brand_is_on_every_page_and_the_tool_name_is_not() {
    let dir = folder("title: {zh: 某调研公司报告, en: Acme reports}\npublisher: 某调研公司\nlogo: logo.svg\n");
    std::fs::write(
        dir.path().join("logo.svg"),
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"8\" height=\"8\"/>",
    )
    .unwrap();
    let out = dir.path().join("site");
    let run = csi(&["build", dir.path().to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let index = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(index.contains("<h1>某调研公司报告</h1>"), "{index}");
    let page = std::fs::read_to_string(out.join("mini/2024/index.html")).unwrap();
    assert!(page.contains("某调研公司 · "), "publisher in the footer");
    let logo = page.split("<img class=\"logo\" src=\"../../").nth(1).unwrap();
    let logo = logo.split('"').next().unwrap();
    assert!(out.join(logo).is_file(), "logo published as {logo}");
    let footer = page.split("<footer").nth(1).unwrap();
    assert!(
        !footer.contains("csi "),
        "the tool's name is not in the footer: {footer}"
    );
}

#[test]
fn a_logo_outside_the_folder_and_a_typo_are_refused_with_where() {
    let dir = folder("title: 报告\nlogo: ../../etc/passwd\n");
    let run = csi(&["check", dir.path().to_str().unwrap()]);
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(!run.status.success());
    assert!(err.contains("site.yaml") && err.contains("leaves the folder"), "{err}");

    let dir = folder("title: 报告\npublisherr: 某调研公司\n");
    let run = csi(&["check", dir.path().to_str().unwrap()]);
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(!run.status.success());
    assert!(err.contains("site.yaml:2:"), "line and column: {err}");
    assert!(err.contains("publisherr"), "{err}");

    let dir = folder("logo: notes.txt\n");
    std::fs::write(dir.path().join("notes.txt"), "x").unwrap();
    let run = csi(&["check", dir.path().to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&run.stderr).contains("not an image"));
}

#[test]
fn the_study_s_decimals_reach_the_site_s_own_figures() {
    let dir = folder("title: 报告\n");
    let study = dir.path().join("mini/study.yaml");
    let mut text = std::fs::read_to_string(&study).unwrap();
    text.push_str("settings:\n  decimals: {score: 2, change: 2}\n");
    std::fs::write(&study, text).unwrap();
    let out = dir.path().join("site");
    let run = csi(&["build", dir.path().to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let page = std::fs::read_to_string(out.join("mini/2024/index.html")).unwrap();
    let hero = page.split("<p class=\"big\">").nth(1).unwrap();
    let big = hero.split('<').next().unwrap();
    assert!(
        big.split_once('.').is_some_and(|(_, d)| d.len() == 2),
        "headline with two decimals: {big}"
    );
    let ci = page.split("class=\"ci\">").nth(1).unwrap();
    assert!(ci.contains('[') && ci.contains(", ") || ci.contains(",\u{a0}"), "{ci}");
}
