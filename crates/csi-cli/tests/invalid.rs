//! The broken-study corpus in `tests/invalid/`: every case must fail with its clear
//! message (each line of its `expect.txt` appears in the output; a line starting
//! with `!` must not, for suggestions that would mislead), a non-zero exit,
//! and no site written. And a failed build must leave a published site untouched.

mod common;

fn csi(args: &[&str]) -> (i32, String) {
    let out = common::csi().args(args).output().expect("csi runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

/// `csi build STUDY --out SITE` with `extra` arguments.
fn build(study: &std::path::Path, site: &std::path::Path, extra: &[&str]) -> (i32, String) {
    let mut args = vec!["build", study.to_str().unwrap(), "--out", site.to_str().unwrap()];
    args.extend_from_slice(extra);
    csi(&args)
}

#[test]
fn every_broken_study_fails_clearly_and_writes_nothing() {
    let cases = common::corpus("invalid");
    assert!(cases.len() >= 14, "the corpus shrank");
    // The standard analyses, as a build finds them next to the csi binary.
    let plugins = common::standard_plugins();
    let plugins = plugins.path().to_str().unwrap();
    let mut failures = Vec::new();
    for case in &cases {
        let name = case.file_name().unwrap().to_string_lossy().to_string();
        let expect = std::fs::read_to_string(case.join("expect.txt")).unwrap();
        let out = tempfile::tempdir().unwrap();
        let site = out.path().join("site");
        for args in [
            vec![
                "build",
                case.to_str().unwrap(),
                "--out",
                site.to_str().unwrap(),
                "--plugins",
                plugins,
            ],
            vec!["check", case.to_str().unwrap(), "--plugins", plugins],
        ] {
            let (code, text) = csi(&args);
            if code == 0 {
                failures.push(format!("{name} ({}): exit code 0\n{text}", args[0]));
            }
            // A line starting with `!` must not appear (a misleading suggestion).
            for line in expect.lines().filter_map(|l| l.strip_prefix('!')) {
                if text.contains(line) {
                    failures.push(format!("{name} ({}): output says `{line}`:\n{text}", args[0]));
                }
            }
            for line in expect.lines().filter(|l| !l.is_empty() && !l.starts_with('!')) {
                if !text.contains(line) {
                    failures.push(format!("{name} ({}): output lacks `{line}`:\n{text}", args[0]));
                }
            }
            if text.contains("panicked") {
                failures.push(format!("{name}: panic\n{text}"));
            }
        }
        assert!(!site.exists(), "{name}: something was written to the site folder");
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn a_failed_build_leaves_the_published_site_untouched() {
    let work = tempfile::tempdir().unwrap();
    let study = work.path().join("mini");
    std::fs::create_dir_all(&study).unwrap();
    for f in ["study.yaml", "data.csv"] {
        std::fs::copy(common::root().join("tests/fixtures/mini").join(f), study.join(f)).unwrap();
    }
    let site = work.path().join("site");
    let (code, text) = csi(&["build", study.to_str().unwrap(), "--out", site.to_str().unwrap()]);
    assert_eq!(code, 0, "{text}");
    assert!(site.join("mini/2024/index.html").is_file());
    let before = common::snapshot(&site);

    // Break the data: an invalid weight. A rebuild (published waves are otherwise
    // kept without reading their data again) must fail and change nothing.
    let data = std::fs::read_to_string(study.join("data.csv")).unwrap();
    let broken = data.replacen("\n1,", "\n1,x", 1);
    assert_ne!(data, broken);
    std::fs::write(study.join("data.csv"), broken).unwrap();
    let (code, text) = build(&study, &site, &["--rebuild"]);
    assert_ne!(code, 0, "{text}");
    assert!(text.contains("invalid weight"), "{text}");
    assert_eq!(
        before,
        common::snapshot(&site),
        "the published site changed after a failed build"
    );
}

/// A study folder cannot read outside itself through a symbolic link, for every
/// kind of path it names: the data file, a folder on the way to it, the narrative,
/// the theme folder, a template of its own, a library in its plugins folder. Each
/// is refused with the link and its target named, and nothing is written;
/// `--allow-path` lets a trusted folder in.
#[cfg(unix)]
#[test]
fn symbolic_links_out_of_the_study_folder_are_refused_for_every_kind_of_path() {
    use std::os::unix::fs::symlink;
    let work = tempfile::tempdir().unwrap();
    let outside = work.path().join("outside");
    std::fs::create_dir_all(outside.join("theme/templates")).unwrap();
    std::fs::create_dir_all(outside.join("data")).unwrap();
    let fixture = common::root().join("tests/fixtures/mini");
    std::fs::copy(fixture.join("data.csv"), outside.join("data/secret.csv")).unwrap();
    std::fs::write(outside.join("secret.md"), "# not for the site\n").unwrap();
    std::fs::write(outside.join("theme/templates/footer.html"), "<footer>shared</footer>").unwrap();

    // Each case: how to set the study up, and what the output must say.
    type Setup = fn(&std::path::Path, &std::path::Path) -> String;
    let cases: Vec<(&str, Setup, Vec<&str>)> = vec![
        (
            "data file",
            |s, o| {
                symlink(o.join("data/secret.csv"), s.join("data.csv")).unwrap();
                String::new()
            },
            vec![
                "the symbolic link `data.csv` points to",
                "secret.csv",
                "outside the study folder",
                "copy the file into the study folder instead of linking to it",
            ],
        ),
        (
            "folder on the way",
            |s, o| {
                symlink(o.join("data"), s.join("shared")).unwrap();
                std::fs::copy(common::root().join("tests/fixtures/mini/data.csv"), s.join("data.csv")).unwrap();
                "waves:\n  - id: 2024\n    data: shared/secret.csv\n    weight: w\n".into()
            },
            vec!["the symbolic link `shared` points to", "outside the study folder"],
        ),
        (
            "narrative",
            |s, o| {
                std::fs::copy(common::root().join("tests/fixtures/mini/data.csv"), s.join("data.csv")).unwrap();
                symlink(o.join("secret.md"), s.join("summary.md")).unwrap();
                "narrative:\n  summary: summary.md\n".into()
            },
            vec!["the symbolic link `summary.md` points to", "secret.md"],
        ),
        (
            "theme folder",
            |s, o| {
                std::fs::copy(common::root().join("tests/fixtures/mini/data.csv"), s.join("data.csv")).unwrap();
                symlink(o.join("theme"), s.join("theme")).unwrap();
                "theme: theme\n".into()
            },
            vec!["the symbolic link `theme` points to", "outside the study folder"],
        ),
        (
            "theme folder named outside",
            |s, _| {
                std::fs::copy(common::root().join("tests/fixtures/mini/data.csv"), s.join("data.csv")).unwrap();
                "theme: ../../outside/theme\n".into()
            },
            vec!["`../../outside/theme` points outside the study folder", "--allow-path"],
        ),
        (
            "own template",
            |s, o| {
                std::fs::copy(common::root().join("tests/fixtures/mini/data.csv"), s.join("data.csv")).unwrap();
                std::fs::create_dir_all(s.join("templates")).unwrap();
                symlink(o.join("secret.md"), s.join("templates/footer.html")).unwrap();
                String::new()
            },
            vec![
                "footer.html is a symbolic link to",
                "secret.md",
                "outside its theme folder",
            ],
        ),
    ];
    for (name, setup, says) in cases {
        let case = work.path().join(name.replace(' ', "-"));
        let study = case.join("mini");
        std::fs::create_dir_all(&study).unwrap();
        let extra = setup(&study, &outside);
        let mut yaml = std::fs::read_to_string(fixture.join("study.yaml")).unwrap();
        if extra.starts_with("waves:") {
            yaml = yaml.replace("waves:\n  - id: 2024\n    data: data.csv\n    weight: w\n", &extra);
        } else {
            yaml.push_str(&extra);
        }
        std::fs::write(study.join("study.yaml"), yaml).unwrap();
        let site = case.join("site");
        let mut runs = vec![vec!["build", study.to_str().unwrap(), "--out", site.to_str().unwrap()]];
        if name != "own template" {
            // Templates are read when building; the rest is checked by `csi check` too.
            runs.push(vec!["check", study.to_str().unwrap()]);
        }
        for args in runs {
            let (code, text) = csi(&args);
            assert_ne!(code, 0, "{name} ({}): accepted\n{text}", args[0]);
            for s in &says {
                assert!(text.contains(s), "{name} ({}): lacks `{s}`:\n{text}", args[0]);
            }
            assert!(!text.contains("not for the site"), "{name}: the file was read: {text}");
        }
        assert!(!site.exists(), "{name}: something was written");
        // The user's consent lets the outside folder in.
        if name == "theme folder named outside" || name == "data file" {
            let (code, text) = csi(&[
                "build",
                study.to_str().unwrap(),
                "--out",
                site.to_str().unwrap(),
                "--allow-path",
                outside.to_str().unwrap(),
            ]);
            assert_eq!(code, 0, "{name} with --allow-path: {text}");
        }
    }

    // A library in the study's plugins folder linking outside it is refused, even
    // with --allow-study-plugins.
    let study = work.path().join("plugin-link/mini");
    std::fs::create_dir_all(study.join("plugins")).unwrap();
    for f in ["study.yaml", "data.csv"] {
        std::fs::copy(fixture.join(f), study.join(f)).unwrap();
    }
    let library = csi_plugin_host::built_library("faulty_test_plugin").expect("built as a dev-dependency");
    symlink(&library, study.join("plugins/libfaulty.so")).unwrap();
    let site = work.path().join("plugin-link/site");
    let (code, text) = build(&study, &site, &["--allow-study-plugins"]);
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains("libfaulty.so: refused: it is a symbolic link to")
            && text.contains("outside the study's plugins folder"),
        "{text}"
    );

    // The plugins folder itself a link out of the study: not searched, even with
    // consent.
    std::fs::remove_file(study.join("plugins/libfaulty.so")).unwrap();
    std::fs::remove_dir(study.join("plugins")).unwrap();
    let elsewhere = work.path().join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    std::fs::copy(&library, elsewhere.join("libfaulty.so")).unwrap();
    symlink(&elsewhere, study.join("plugins")).unwrap();
    let (code, text) = build(&study, &site, &["--allow-study-plugins", "-v"]);
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains("is a symbolic link to")
            && text.contains("it was not searched")
            && !text.contains("plugin faulty"),
        "{text}"
    );
}

/// Columns the study does not use are ignored even when they have no name (a row
/// index written by R or pandas, trailing empty columns saved by Excel) or share a
/// name: such a file builds.
#[test]
fn unnamed_and_repeated_columns_the_study_does_not_use_are_ignored() {
    let work = tempfile::tempdir().unwrap();
    let study = work.path().join("mini");
    std::fs::create_dir_all(&study).unwrap();
    let fixture = common::root().join("tests/fixtures/mini");
    std::fs::copy(fixture.join("study.yaml"), study.join("study.yaml")).unwrap();
    let data = std::fs::read_to_string(fixture.join("data.csv")).unwrap();
    let padded: Vec<String> = data
        .lines()
        .enumerate()
        .map(|(i, l)| {
            if i == 0 {
                format!(",{l},note,note,,")
            } else {
                format!("{i},{l},a,b,,")
            }
        })
        .collect();
    std::fs::write(study.join("data.csv"), padded.join("\n") + "\n").unwrap();
    let site = work.path().join("site");
    let (code, text) = csi(&["build", study.to_str().unwrap(), "--out", site.to_str().unwrap()]);
    assert_eq!(code, 0, "{text}");
    let (code, text) = csi(&["check", study.to_str().unwrap()]);
    assert_eq!(code, 0, "{text}");
}
