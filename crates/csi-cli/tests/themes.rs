//! Themes layer as documented: default ← the theme a study selects ← the study's
//! own `templates/`; a theme outside the study folder is read only when the user
//! allows it; a broken template is reported with its file and line, and the
//! previously published site stays.

use std::path::{Path, PathBuf};
use std::process::Output;

mod common;

/// `csi build` of `study` into `out`, allowing the shared theme folder beside it.
fn csi_build(study: &Path, out: &Path) -> Output {
    let corporate = study.join("../../corporate");
    csi_build_with(study, out, &["--allow-path", corporate.to_str().unwrap()])
}

fn csi_build_with(study: &Path, out: &Path, extra: &[&str]) -> Output {
    common::csi()
        .args([
            "build",
            study.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--rebuild",
        ])
        .args(extra)
        .output()
        .unwrap()
}

/// A theme folder outside the study is refused until it is allowed on the command
/// line; a site.yaml beside the studies cannot allow it (it may come with them).
#[test]
fn a_shared_theme_outside_the_study_needs_the_users_consent() {
    let dir = tempfile::tempdir().unwrap();
    let study = study_with_theme(dir.path());
    let out = dir.path().join("site");
    let run = csi_build_with(&study, &out, &[]);
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(!run.status.success());
    assert!(
        err.contains("`../../corporate` points outside the study folder") && err.contains("--allow-path"),
        "{err}"
    );
    assert!(!out.exists());
    // A site.yaml that tries to allow it is refused as a site setting.
    std::fs::write(dir.path().join("studies/site.yaml"), "allow_paths: [../corporate]\n").unwrap();
    let run = common::csi()
        .arg("build")
        .arg(dir.path().join("studies"))
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(!run.status.success());
    assert!(String::from_utf8_lossy(&run.stderr).contains("allow_paths"));
    assert!(!out.exists());
    std::fs::remove_file(dir.path().join("studies/site.yaml")).unwrap();
    let run = csi_build(&study, &out);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let overview = std::fs::read_to_string(out.join("mini/2024/index.html")).unwrap();
    assert!(overview.contains("<p class=\"corporate\">Corporate</p>"));
}

/// A copy of the mini study at `<dir>/studies/mini`, selecting `../../corporate`.
fn study_with_theme(dir: &Path) -> PathBuf {
    let study = dir.join("studies/mini");
    std::fs::create_dir_all(&study).unwrap();
    let src = common::root().join("tests/fixtures/mini");
    std::fs::copy(src.join("data.csv"), study.join("data.csv")).unwrap();
    let yaml = std::fs::read_to_string(src.join("study.yaml")).unwrap();
    std::fs::write(study.join("study.yaml"), format!("{yaml}\ntheme: ../../corporate\n")).unwrap();
    let theme = dir.join("corporate");
    std::fs::create_dir_all(theme.join("templates")).unwrap();
    std::fs::create_dir_all(theme.join("static")).unwrap();
    std::fs::write(theme.join("static/style.css"), "body { font-family: serif; }\n").unwrap();
    let base = std::fs::read_to_string(common::root().join("themes/default/templates/base.html")).unwrap();
    std::fs::write(
        theme.join("templates/base.html"),
        base.replace(
            "<main class=\"wrap\">",
            "<main class=\"wrap\"><p class=\"corporate\">Corporate</p>",
        ),
    )
    .unwrap();
    study
}

#[test]
fn a_study_selects_a_theme_and_overrides_single_templates() {
    let dir = tempfile::tempdir().unwrap();
    let study = study_with_theme(dir.path());
    // The study's own override of one template, on top of the theme.
    std::fs::create_dir_all(study.join("templates")).unwrap();
    let downloads = std::fs::read_to_string(common::root().join("themes/default/templates/downloads.html")).unwrap();
    std::fs::write(
        study.join("templates/downloads.html"),
        downloads.replace("<h1>{{ t.downloads }}</h1>", "<h1>Files for {{ study.title }}</h1>"),
    )
    .unwrap();
    let out = dir.path().join("site");
    let run = csi_build(&study, &out);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let wave = out.join("mini/2024");
    let overview = std::fs::read_to_string(wave.join("index.html")).unwrap();
    assert!(
        overview.contains("<p class=\"corporate\">Corporate</p>"),
        "theme template not used"
    );
    let css = overview
        .split("href=\"../../assets/")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    assert_eq!(
        std::fs::read_to_string(out.join("assets").join(css)).unwrap(),
        "body { font-family: serif; }\n"
    );
    let files = std::fs::read_to_string(wave.join("downloads.html")).unwrap();
    assert!(
        files.contains("<h1>Files for 迷你测试研究</h1>"),
        "study template not used"
    );
    assert!(
        files.contains("Corporate"),
        "the study override still extends the theme's base"
    );
    let method = std::fs::read_to_string(wave.join("method.html")).unwrap();
    assert!(
        method.contains("<h1>方法说明</h1>"),
        "untouched templates come from the default theme"
    );
}

#[test]
fn a_template_error_names_the_file_and_line_and_keeps_the_published_site() {
    let dir = tempfile::tempdir().unwrap();
    let study = study_with_theme(dir.path());
    let out = dir.path().join("site");
    assert!(csi_build(&study, &out).status.success());
    let before = std::fs::read(out.join("mini/2024/index.html")).unwrap();

    std::fs::create_dir_all(study.join("templates")).unwrap();
    std::fs::write(
        study.join("templates/method.html"),
        "{% extends \"base.html\" %}\n{% block content %}\n<p>{{ wave.label </p>\n{% endblock content %}\n",
    )
    .unwrap();
    let run = csi_build(&study, &out);
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(!run.status.success());
    assert!(err.contains("templates/method.html"), "{err}");
    assert!(err.contains("3:"), "no line number in: {err}");
    assert!(err.contains("previous site of `mini`"), "{err}");
    assert_eq!(std::fs::read(out.join("mini/2024/index.html")).unwrap(), before);

    // A template that parses but fails while rendering names the template too.
    std::fs::write(
        study.join("templates/method.html"),
        "{% extends \"base.html\" %}\n{% block content %}\n<p>{{ no_such_value }}</p>\n{% endblock content %}\n",
    )
    .unwrap();
    let run = csi_build(&study, &out);
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(!run.status.success());
    assert!(err.contains("method.html") && err.contains("no_such_value"), "{err}");
    assert_eq!(std::fs::read(out.join("mini/2024/index.html")).unwrap(), before);

    // Into a new folder, a failed build writes nothing at all.
    let fresh = dir.path().join("fresh");
    assert!(!csi_build(&study, &fresh).status.success());
    assert!(!fresh.exists(), "a failed first build left files behind");
}
