//! Plugins end to end through `csi build`: a study's own plugins are not loaded
//! without the user's consent; a third-party plugin dropped into the study's
//! `plugins/` folder and allowed is found, runs isolated by default, receives the
//! wave's respondent rows, and every way it can fail (error, panic, abort, hang,
//! unknown options) fails only that analysis — the build succeeds, each failure is
//! in the build log and on its analysis page, and the other analyses publish.

use std::path::{Path, PathBuf};
use std::process::Command;

mod common;

/// `csi build STUDY --out SITE`, to add arguments to and run.
fn build(study: &Path, site: &Path) -> Command {
    let mut c = common::csi();
    c.arg("build").arg(study).arg("--out").arg(site);
    c
}

/// The test plugin's library, built by cargo as a dev-dependency next to this test.
fn faulty_library() -> PathBuf {
    csi_plugin_host::built_library("faulty_test_plugin").expect("built as a dev-dependency")
}

fn study_with_plugin(dir: &Path) -> PathBuf {
    let study = dir.join("study");
    std::fs::create_dir_all(study.join("plugins")).unwrap();
    for f in ["study.yaml", "data.csv"] {
        std::fs::copy(common::root().join("tests/fixtures/mini").join(f), study.join(f)).unwrap();
    }
    std::fs::copy(faulty_library(), study.join("plugins/libfaulty.so")).unwrap();
    let mut yaml = std::fs::read_to_string(study.join("study.yaml")).unwrap();
    assert!(
        !yaml.contains("\nanalyses:"),
        "the fixture gained analyses; merge them here"
    );
    yaml.push_str(
        "
analyses:
  - {id: fine, plugin: faulty, options: {mode: ok}}
  - {id: echo, plugin: faulty, options: {mode: echo}}
  - {id: refuses, plugin: faulty, options: {mode: error}}
  - {id: panics, plugin: faulty, options: {mode: panic}}
  - {id: panics-inside, plugin: faulty, isolation: in_process, options: {mode: panic}}
  - {id: aborts, plugin: faulty, options: {mode: abort}}
  - {id: hangs, plugin: faulty, timeout: 2, options: {mode: hang}}
",
    );
    std::fs::write(study.join("study.yaml"), yaml).unwrap();
    study
}

/// A study folder from someone else runs no code of its own: its `plugins/`
/// folder is not loaded (nothing in it is even opened), and the build and
/// `csi check` say which libraries they left alone and how to allow them; the
/// study, whose analyses need them, is not published.
#[test]
fn a_studys_own_plugins_are_not_loaded_without_consent() {
    let work = tempfile::tempdir().unwrap();
    let study = study_with_plugin(work.path());
    let site = work.path().join("site");
    let out = build(&study, &site).output().unwrap();
    let log = String::from_utf8_lossy(&out.stderr).to_string();
    // The analyses need the plugin, so the study is not published; nothing ran.
    assert!(!out.status.success(), "{log}");
    assert!(
        log.contains("has plugin libraries of its own that were not loaded")
            && log.contains("libfaulty.so")
            && log.contains("--allow-study-plugins"),
        "{log}"
    );
    assert!(
        log.contains("no plugin named `faulty` was found") && log.contains("not loaded without your consent"),
        "{log}"
    );
    assert!(!log.contains("faulty plugin"), "the plugin ran: {log}");
    assert!(!site.exists(), "nothing is written");
    let check = common::csi().arg("check").arg(&study).output().unwrap();
    let said = String::from_utf8_lossy(&check.stderr).to_string();
    assert!(
        !check.status.success() && said.contains("--allow-study-plugins"),
        "{said}"
    );

    // Naming the folder with --plugins is consent for that folder.
    let site2 = work.path().join("site2");
    let out = build(&study, &site2)
        .arg("--plugins")
        .arg(study.join("plugins"))
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "{log}");
    assert!(!log.contains("not loaded"), "{log}");
    assert!(site2.join("mini/2024/index.html").is_file());
    let page = std::fs::read_to_string(site2.join("mini/2024/fine.html")).unwrap();
    assert!(!page.contains("analysis-error"), "{page}");
}

/// A library in a plugin folder whose `describe` segfaults is refused with the
/// signal, and the build goes on with the other plugins.
#[test]
fn a_plugin_whose_describe_segfaults_is_refused_and_the_build_goes_on() {
    let cc = ["cc", "gcc", "clang"]
        .into_iter()
        .find(|c| Command::new(c).arg("--version").output().is_ok())
        .expect("a C compiler");
    let work = tempfile::tempdir().unwrap();
    let study = study_with_plugin(work.path());
    let folder = work.path().join("more-plugins");
    std::fs::create_dir_all(&folder).unwrap();
    let built = Command::new(cc)
        .args(["-std=c99", "-shared", "-fPIC", "-DDESCRIBE=1", "-I"])
        .arg(common::root().join("crates/csi-plugin-api/include"))
        .arg(common::root().join("crates/csi-plugin-host/tests/c/fake.c"))
        .arg("-o")
        .arg(folder.join("libsegfaults.so"))
        .output()
        .unwrap();
    assert!(built.status.success(), "{}", String::from_utf8_lossy(&built.stderr));
    let site = work.path().join("site");
    let out = build(&study, &site)
        .arg("--allow-study-plugins")
        .arg("--plugins")
        .arg(&folder)
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "{log}");
    assert!(
        log.lines()
            .any(|l| l.contains("libsegfaults.so") && l.contains("SIGSEGV")),
        "{log}"
    );
    let page = std::fs::read_to_string(site.join("mini/2024/fine.html")).unwrap();
    assert!(!page.contains("analysis-error"), "{page}");
}

/// A misconfigured analysis (an option the plugin does not declare) fails the
/// study before anything is written, with the study file's line and column, at
/// `csi check` and at `csi build`; a published site stays as it was.
#[test]
fn a_misconfigured_analysis_fails_before_anything_is_written() {
    let work = tempfile::tempdir().unwrap();
    let study = study_with_plugin(work.path());
    let site = work.path().join("site");
    let rebuild = |site: &Path| {
        build(&study, site)
            .arg("--allow-study-plugins")
            .arg("--rebuild")
            .output()
            .unwrap()
    };
    assert!(rebuild(&site).status.success());
    let before = common::snapshot(&site);
    let yaml = std::fs::read_to_string(study.join("study.yaml")).unwrap();
    let typo = yaml.replacen(
        "{id: fine, plugin: faulty, options: {mode: ok}}",
        "{id: fine, plugin: faulty, options: {mdoe: ok}}",
        1,
    );
    assert_ne!(yaml, typo);
    std::fs::write(study.join("study.yaml"), &typo).unwrap();
    let line = typo.lines().position(|l| l.contains("mdoe")).unwrap() + 1;
    let column = typo.lines().nth(line - 1).unwrap().find("mdoe").unwrap() + 1;
    let out = rebuild(&site);
    let log = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(!out.status.success(), "{log}");
    for says in [
        "analysis `fine` (plugin `faulty`): unknown option `mdoe`; did you mean `mode`?".to_string(),
        format!("study.yaml:{line}:{column}"),
    ] {
        assert!(log.contains(&says), "lacks `{says}`: {log}");
    }
    assert!(common::snapshot(&site) == before, "the published site changed");
    let check = common::csi()
        .arg("check")
        .arg(&study)
        .arg("--allow-study-plugins")
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&check.stderr).to_string();
    assert!(
        !check.status.success() && said.contains("unknown option `mdoe`"),
        "{said}"
    );
}

#[test]
fn a_dropped_in_plugin_runs_and_its_failures_stay_contained() {
    let work = tempfile::tempdir().unwrap();
    let study = study_with_plugin(work.path());
    let site = work.path().join("site");
    let out = build(&study, &site).arg("--allow-study-plugins").output().unwrap();
    let log = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "{log}");

    let page = |id: &str| std::fs::read_to_string(site.join("mini/2024").join(format!("{id}.html"))).unwrap();
    assert!(page("fine").contains("fine"));
    for (id, says) in [
        ("refuses", "the faulty plugin refuses on purpose"),
        ("panics", "panics on purpose"),
        ("panics-inside", "panics on purpose"),
        ("aborts", "SIGABRT"),
        ("hangs", "did not finish within 2 s"),
    ] {
        assert!(page(id).contains("analysis-error"), "{id}");
        assert!(page(id).contains(says), "{id}: {}", page(id));
        assert!(
            log.lines()
                .any(|l| l.contains(&format!("analysis `{id}`")) && l.contains(says)),
            "{id} in the log: {log}"
        );
    }

    // The plugin saw every respondent row of the wave, with the study's columns.
    let rows = std::fs::read_to_string(study.join("data.csv")).unwrap().lines().count() - 1;
    let echo = page("echo");
    assert!(echo.contains(&format!("q1 {rows} ")), "{echo}");
    assert!(echo.contains(&format!("w {rows} 0 ")), "weights have no nulls: {echo}");

    // `csi plugins` lists it with its ABI and how it runs.
    let listed = common::csi()
        .args(["plugins", "--plugins"])
        .arg(study.join("plugins"))
        .output()
        .unwrap();
    let listed = String::from_utf8_lossy(&listed.stdout);
    assert!(listed.contains("faulty") && listed.contains("ABI 1.1"), "{listed}");
    assert!(listed.contains("third-party; runs isolated"), "{listed}");
}

/// The first fenced block of `lang` in `text`.
fn fenced<'a>(text: &'a str, lang: &str) -> &'a str {
    let start = text.find(&format!("```{lang}\n")).unwrap() + lang.len() + 4;
    let len = text[start..].find("```").unwrap();
    &text[start..start + len]
}

/// The Rust quick start of docs/plugins.md, built as the separate crate it is
/// (outside the workspace, against the SDK only), dropped into a copy of the
/// example study's `plugins/` folder: its page appears in the report.
#[test]
fn the_guides_separate_crate_plugin_appears_in_the_example_report() {
    let standard = common::standard_plugins();
    let guide = std::fs::read_to_string(common::root().join("docs/plugins.md")).unwrap();
    let work = tempfile::tempdir().unwrap();
    let krate = work.path().join("lowscores");
    std::fs::create_dir_all(krate.join("src")).unwrap();
    let sdk = common::root().join("crates/csi-plugin-sdk").canonicalize().unwrap();
    let manifest = fenced(&guide, "toml").replace(
        r#"{ git = "https://github.com/csi-reports/csi" }  # or { path = "…/crates/csi-plugin-sdk" }"#,
        &format!("{{ path = {:?} }}", sdk.display().to_string()),
    );
    assert!(manifest.contains("path ="), "the guide's manifest changed: {manifest}");
    std::fs::write(krate.join("Cargo.toml"), format!("{manifest}\n[workspace]\n")).unwrap();
    std::fs::write(krate.join("src/lib.rs"), fenced(&guide, "rust")).unwrap();
    // Same dependency versions as the workspace, resolved without the network.
    std::fs::copy(common::root().join("Cargo.lock"), krate.join("Cargo.lock")).unwrap();
    // A target folder of its own (cached between runs) so this build neither waits
    // for the workspace's lock nor lands next to the csi binary.
    let target = common::root().join("target/guide-plugin");
    let built = Command::new(env!("CARGO"))
        .args(["build", "--offline", "--quiet"])
        .current_dir(&krate)
        .env("CARGO_TARGET_DIR", &target)
        .env_remove("RUSTFLAGS")
        .output()
        .unwrap();
    assert!(built.status.success(), "{}", String::from_utf8_lossy(&built.stderr));
    let library = target.join("debug").join(format!(
        "{}csi_plugin_lowscores{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    ));

    let study = work.path().join("telecom");
    common::copy_dir(&common::root().join("reports/telecom"), &study);
    std::fs::create_dir_all(study.join("plugins")).unwrap();
    std::fs::copy(&library, study.join("plugins").join(library.file_name().unwrap())).unwrap();
    let yaml = std::fs::read_to_string(study.join("study.yaml")).unwrap();
    let yaml = yaml.replacen(
        "analyses:\n",
        "analyses:\n  - plugin: lowscores\n    options: {below: 65}\n",
        1,
    );
    std::fs::write(study.join("study.yaml"), yaml).unwrap();
    let site = work.path().join("site");
    let out = build(&study, &site)
        // As the guide says: the study's own folder is loaded only when allowed.
        .arg("--allow-study-plugins")
        // The example's standard analyses, as they ship next to the csi binary.
        .arg("--plugins")
        .arg(standard.path())
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{log}");
    assert!(!log.contains("analysis `lowscores`"), "{log}");
    for wave in ["2000", "2001", "2002"] {
        let page = std::fs::read_to_string(site.join("telecom").join(wave).join("lowscores.html")).unwrap();
        assert!(page.contains("Scores below 65"), "{page}");
        assert!(page.contains("<th scope=\"row\""), "a row per low indicator: {page}");
        assert!(!page.contains("analysis-error"), "{page}");
    }
}

/// The C plugin compiled on its own with the system C compiler (renamed so it
/// does not clash with the copy that ships with csi) and dropped into a copy of
/// the example study's `plugins/` folder: it runs isolated and its page appears.
#[test]
fn a_c_plugin_dropped_into_the_study_appears_in_the_report() {
    let standard = common::standard_plugins();
    let cc = ["cc", "gcc", "clang"]
        .into_iter()
        .find(|c| Command::new(c).arg("--version").output().is_ok())
        .expect("a C compiler");
    let work = tempfile::tempdir().unwrap();
    let study = work.path().join("telecom");
    common::copy_dir(&common::root().join("reports/telecom"), &study);
    std::fs::create_dir_all(study.join("plugins")).unwrap();
    let out = Command::new(cc)
        .args([
            "-std=c99",
            "-O2",
            "-shared",
            "-fPIC",
            "-DCSI_NETSCORE_NAME=\"netscore_c\"",
            "-I",
        ])
        .arg(common::root().join("crates/csi-plugin-api/include"))
        .arg(common::root().join("plugins/netscore/netscore.c"))
        .arg("-o")
        .arg(study.join("plugins/libnetscore_c.so"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let yaml = std::fs::read_to_string(study.join("study.yaml")).unwrap();
    std::fs::write(
        study.join("study.yaml"),
        yaml.replacen("analyses:\n", "analyses:\n  - plugin: netscore_c\n", 1),
    )
    .unwrap();
    let site = work.path().join("site");
    let out = build(&study, &site)
        // Naming the folder is consent to load what it holds.
        .arg("--plugins")
        .arg(study.join("plugins"))
        // The example's standard analyses, as they ship next to the csi binary.
        .arg("--plugins")
        .arg(standard.path())
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{log}");
    assert!(!log.contains("analysis `netscore_c`"), "{log}");
    let page = std::fs::read_to_string(site.join("telecom/2002/netscore_c.html")).unwrap();
    assert!(page.contains("净满意度") && page.contains("<svg"), "{page}");
    assert!(!page.contains("analysis-error"));
}

/// docs/analyses.md is what `csi plugins --doc` prints for the plugins that ship
/// with csi: every declared option, its type, default, accepted values and an
/// example. Regenerate with `CSI_UPDATE_SNAPSHOTS=1`.
#[test]
fn the_analyses_reference_is_generated_from_the_declarations() {
    let standard = common::standard_plugins();
    let out = common::csi()
        .args(["plugins", "--doc", "--plugins"])
        .arg(standard.path())
        .env_remove("CSI_PLUGIN_PATH")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let now = String::from_utf8(out.stdout).unwrap();
    for name in ["gap", "driver", "segment", "trend", "topbox", "netscore", "structural"] {
        assert!(now.contains(&format!("## `{name}`")), "{name} missing:\n{now}");
    }
    assert!(
        now.contains("| `correction` | a text | `bonferroni` | `none`, `bonferroni`, `benjamini_hochberg` |"),
        "{now}"
    );
    let file = common::root().join("docs/analyses.md");
    if std::env::var_os("CSI_UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&file, &now).unwrap();
    }
    let committed = std::fs::read_to_string(&file).unwrap_or_default();
    assert!(
        committed == now,
        "docs/analyses.md is out of step with the plugins' declarations; run CSI_UPDATE_SNAPSHOTS=1 cargo test -p csi-cli --test plugins"
    );
}
