//! The broken-study corpus in `tests/invalid/`: every case must fail with its clear
//! message (each line of its `expect.txt` appears in the output), a non-zero exit,
//! and no site written. And a failed build must leave a published site untouched.

use std::path::PathBuf;
use std::process::Command;

mod common;

fn csi(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_csi"))
        .args(args)
        .output()
        .expect("csi runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

#[test]
fn every_broken_study_fails_clearly_and_writes_nothing() {
    let dir = common::root().join("tests/invalid");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    assert!(cases.len() >= 14, "the corpus shrank");
    let mut failures = Vec::new();
    for case in &cases {
        let name = case.file_name().unwrap().to_string_lossy().to_string();
        let expect = std::fs::read_to_string(case.join("expect.txt")).unwrap();
        let out = tempfile::tempdir().unwrap();
        let site = out.path().join("site");
        for args in [
            vec!["build", case.to_str().unwrap(), "--out", site.to_str().unwrap()],
            vec!["check", case.to_str().unwrap()],
        ] {
            let (code, text) = csi(&args);
            if code == 0 {
                failures.push(format!("{name} ({}): exit code 0\n{text}", args[0]));
            }
            for line in expect.lines().filter(|l| !l.is_empty()) {
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
    let (code, text) = csi(&[
        "build",
        study.to_str().unwrap(),
        "--out",
        site.to_str().unwrap(),
        "--rebuild",
    ]);
    assert_ne!(code, 0, "{text}");
    assert!(text.contains("invalid weight"), "{text}");
    assert_eq!(
        before,
        common::snapshot(&site),
        "the published site changed after a failed build"
    );
}
