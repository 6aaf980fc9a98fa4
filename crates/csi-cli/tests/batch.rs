//! The batch CLI: a folder of studies with a broken one, reruns that skip what is
//! published, a build killed mid-way, large studies (50 waves, 200 segment groups),
//! `csi new`, `csi sample-size` and `csi serve`.

use std::io::{BufRead, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

mod common;

fn csi(args: &[&str]) -> Output {
    common::csi().args(args).output().unwrap()
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A copy of the mini study as `<dir>/<id>` with study id `id`; `edit` may change
/// its study.yaml text.
fn mini(dir: &Path, id: &str, edit: impl Fn(String) -> String) -> PathBuf {
    let study = dir.join(id);
    std::fs::create_dir_all(&study).unwrap();
    let src = common::root().join("tests/fixtures/mini");
    std::fs::copy(src.join("data.csv"), study.join("data.csv")).unwrap();
    let yaml = std::fs::read_to_string(src.join("study.yaml"))
        .unwrap()
        .replacen("id: mini", &format!("id: {id}"), 1);
    std::fs::write(study.join("study.yaml"), edit(yaml)).unwrap();
    study
}

#[test]
fn a_folder_of_studies_builds_in_parallel_and_a_broken_one_fails_alone() {
    let work = tempfile::tempdir().unwrap();
    let studies = work.path().join("studies");
    for id in ["alpha", "beta", "gamma"] {
        mini(&studies, id, |y| y);
    }
    // Broken: the data file is missing.
    mini(&studies, "broken", |y| {
        y.replace("data: data.csv", "data: data/wave-2024.csv")
    });
    let site = work.path().join("site");
    let out = csi(&[
        "build",
        studies.to_str().unwrap(),
        "--out",
        site.to_str().unwrap(),
        "-j",
        "2",
    ]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    // The broken study is reported with the file, line and the fix.
    assert!(stderr.contains("broken/study.yaml:"), "{stderr}");
    assert!(stderr.contains("data/wave-2024.csv"), "{stderr}");
    // The summary: one line per study.
    for id in ["alpha", "beta", "gamma"] {
        let line = stdout
            .lines()
            .find(|l| l.starts_with(id))
            .unwrap_or_else(|| panic!("{stdout}"));
        assert!(line.ends_with("published"), "{line}");
        assert!(site.join(id).join("2024/index.html").is_file());
    }
    let broken = stdout.lines().find(|l| l.contains("broken")).unwrap();
    assert!(broken.contains("FAILED"), "{broken}");
    assert!(!site.join("broken").exists());
    assert!(stdout.contains("1 of 4 studies failed"), "{stdout}");
    // Not a terminal: plain progress lines, one per stage.
    assert!(stderr.contains("alpha: computing wave 2024"), "{stderr}");
    let index = std::fs::read_to_string(site.join("index.html")).unwrap();
    for id in ["alpha", "beta", "gamma"] {
        assert!(index.contains(&format!("href=\"{id}/index.html\"")), "{index}");
    }

    // A rerun skips everything published and changes no byte.
    let before = common::snapshot(&site);
    let out = csi(&[
        "build",
        studies.to_str().unwrap(),
        "--out",
        site.to_str().unwrap(),
        "--quiet",
    ]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1));
    for id in ["alpha", "beta", "gamma"] {
        let line = stdout.lines().find(|l| l.starts_with(id)).unwrap();
        assert!(line.ends_with("up to date"), "{line}");
    }
    assert!(!stderr.contains("computing"), "--quiet printed progress: {stderr}");
    assert!(common::snapshot(&site) == before, "a rerun changed the site");

    // Fixed, the broken study is published and the others stay as they were.
    std::fs::create_dir_all(studies.join("broken/data")).unwrap();
    std::fs::rename(
        studies.join("broken/data.csv"),
        studies.join("broken/data/wave-2024.csv"),
    )
    .unwrap();
    let out = csi(&["build", studies.to_str().unwrap(), "--out", site.to_str().unwrap()]);
    assert!(out.status.success(), "{:?}", text(&out));
    assert!(site.join("broken/2024/index.html").is_file());
    assert!(
        common::snapshot(&site.join("alpha"))
            == before
                .iter()
                .filter(|(p, _)| p.starts_with("alpha"))
                .map(|(p, b)| (p.strip_prefix("alpha").unwrap().to_path_buf(), b.clone()))
                .collect::<Vec<_>>()
    );
}

#[test]
fn a_build_killed_mid_way_leaves_the_published_site_intact() {
    let work = tempfile::tempdir().unwrap();
    // 50 waves: long enough to be killed while the new site is being staged.
    let waves: String = (1..=50)
        .map(|i| format!("  - id: w{i:02}\n    data: data.csv\n    weight: w\n"))
        .collect();
    let study = mini(work.path(), "fifty", |y| {
        let start = y.find("waves:\n").unwrap();
        let end = start + y[start..].find("tree:").unwrap();
        format!(
            "{}waves:\n{waves}{}\nanalyses:\n  - plugin: trend\n  - plugin: segment\n",
            &y[..start],
            &y[end..]
        )
    });
    let site = work.path().join("site");
    let plugins = common::standard_plugins();
    let plugins = plugins.path().to_str().unwrap();
    let started = Instant::now();
    let out = csi(&[
        "build",
        study.to_str().unwrap(),
        "--out",
        site.to_str().unwrap(),
        "--plugins",
        plugins,
    ]);
    assert!(out.status.success(), "{:?}", text(&out));
    assert!(!text(&out).1.contains("warning: analysis"), "{:?}", text(&out));
    eprintln!("50 waves built in {:.1} s", started.elapsed().as_secs_f64());
    assert!(site.join("fifty/w50/index.html").is_file());
    let versions = std::fs::read_to_string(site.join("fifty/versions.json")).unwrap();
    assert_eq!(versions.matches("\"id\": \"w").count(), 50);
    let before = common::snapshot(&site.join("fifty"));

    // Rebuild, and kill the process as soon as the staging folder appears.
    let mut child = common::csi()
        .args([
            "build",
            study.to_str().unwrap(),
            "--out",
            site.to_str().unwrap(),
            "--rebuild",
        ])
        .args(["--plugins", plugins])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Staging folders are unique per build: named after the building process.
    let staging = site.join(format!(".csi-staging-fifty~{}", child.id()));
    let deadline = Instant::now() + Duration::from_secs(120);
    while !staging.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(2));
    }
    assert!(staging.exists(), "the build never started staging");
    std::thread::sleep(Duration::from_millis(20));
    assert!(
        child.try_wait().unwrap().is_none(),
        "the build finished before it could be killed"
    );
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        common::snapshot(&site.join("fifty")) == before,
        "the published study changed after a killed build"
    );
    assert!(site.join("index.html").is_file());

    // The next build (without --wait: the killed build left no lock held) cleans
    // up and publishes.
    let out = csi(&[
        "build",
        study.to_str().unwrap(),
        "--out",
        site.to_str().unwrap(),
        "--rebuild",
        "--plugins",
        plugins,
    ]);
    assert!(out.status.success(), "{:?}", text(&out));
    let leftovers: Vec<_> = std::fs::read_dir(&site)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".csi"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    assert!(
        common::snapshot(&site.join("fifty")) == before,
        "a rebuild from the same inputs differs"
    );
}

#[test]
fn an_unwritable_output_fails_clearly_and_loses_nothing() {
    let work = tempfile::tempdir().unwrap();
    let study = mini(work.path(), "mini", |y| y);
    // The output path is a file: nothing can be written under it.
    let site = work.path().join("site");
    std::fs::write(&site, "not a folder").unwrap();
    let out = csi(&["build", study.to_str().unwrap(), "--out", site.to_str().unwrap()]);
    let (stdout, stderr) = text(&out);
    assert_ne!(out.status.code(), Some(0));
    assert!(stderr.contains("site"), "{stdout}\n{stderr}");
    assert_eq!(std::fs::read_to_string(&site).unwrap(), "not a folder");
}

#[test]
fn two_hundred_segment_groups_build() {
    let work = tempfile::tempdir().unwrap();
    let study = mini(work.path(), "wide", |y| {
        let values: Vec<String> = (0..200).map(|i| format!("{i}: G{i:03}")).collect();
        y.replace(
            "segments:\n",
            &format!(
                "segments:\n  - id: shop\n    label: Shop\n    column: shop\n    values: {{{}}}\n",
                values.join(", ")
            ),
        ) + "\nanalyses:\n  - plugin: segment\n    options: {segments: [shop]}\n  - plugin: gap\n    options: {segments: [shop]}\n"
    });
    let data = std::fs::read_to_string(study.join("data.csv")).unwrap();
    let mut lines = data.lines();
    let mut out = format!("{},shop\n", lines.next().unwrap());
    for (i, l) in lines.enumerate() {
        out.push_str(&format!("{l},{}\n", i % 200));
    }
    std::fs::write(study.join("data.csv"), out).unwrap();
    let site = work.path().join("site");
    let plugins = common::standard_plugins();
    let started = Instant::now();
    let run = csi(&[
        "build",
        study.to_str().unwrap(),
        "--out",
        site.to_str().unwrap(),
        "--plugins",
        plugins.path().to_str().unwrap(),
    ]);
    assert!(run.status.success(), "{:?}", text(&run));
    assert!(!text(&run).1.contains("warning: analysis"), "{:?}", text(&run));
    let segment = std::fs::read_to_string(site.join("wide/2024/segment.html")).unwrap();
    assert!(
        segment.contains("G199") && segment.contains("<svg"),
        "segment page lacks groups or chart"
    );
    eprintln!("200 segment groups built in {:.1} s", started.elapsed().as_secs_f64());
    let method = std::fs::read_to_string(site.join("wide/2024/method.html")).unwrap();
    assert!(method.contains("G199"), "every group has its base size");
    let csv = std::fs::read_to_string(site.join("wide/2024/data/base-sizes.csv")).unwrap();
    assert!(csv.lines().count() > 200, "{csv}");
}

#[test]
fn a_new_study_builds_out_of_the_box() {
    let work = tempfile::tempdir().unwrap();
    let study = work.path().join("acme 2025");
    let out = csi(&["new", study.to_str().unwrap(), "--title", "ACME: customer satisfaction"]);
    assert!(out.status.success(), "{:?}", text(&out));
    let yaml = std::fs::read_to_string(study.join("study.yaml")).unwrap();
    assert!(
        yaml.contains("id: acme-2025") && yaml.contains("title: \"ACME: customer satisfaction\""),
        "{yaml}"
    );
    let plugins = common::standard_plugins();
    let check = csi(&[
        "check",
        study.to_str().unwrap(),
        "--plugins",
        plugins.path().to_str().unwrap(),
    ]);
    assert!(check.status.success(), "{:?}", text(&check));

    let site = work.path().join("site");
    let run = common::csi()
        .args([
            "build",
            study.to_str().unwrap(),
            "--out",
            site.to_str().unwrap(),
            "--plugins",
        ])
        .arg(plugins.path())
        .output()
        .unwrap();
    let (stdout, stderr) = text(&run);
    assert!(run.status.success(), "{stdout}\n{stderr}");
    assert!(!stderr.contains("warning: analysis"), "an analysis failed: {stderr}");
    for page in ["index", "gap", "driver", "segment", "trend", "method", "downloads"] {
        let html = std::fs::read_to_string(site.join(format!("acme-2025/2025/{page}.html"))).unwrap();
        assert!(!html.contains("analysis-error"), "{page}: {html}");
    }
    // A second `new` into the same folder is refused and changes nothing.
    let again = csi(&["new", study.to_str().unwrap()]);
    assert!(!again.status.success());
    assert!(text(&again).1.contains("already exists"));
    assert_eq!(std::fs::read_to_string(study.join("study.yaml")).unwrap(), yaml);
}

#[test]
fn sample_size_answers_both_questions() {
    let out = csi(&["sample-size", "-n", "400", "-m", "5", "-m", "3", "--population", "1000"]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    // ±4.90 points at n = 400 without correction; with N = 1000: × sqrt(600/999).
    assert!(stdout.contains("±3.80 percentage points"), "{stdout}");
    assert!(stdout.contains("±5 percentage points: at least n = 278"), "{stdout}");
    assert!(stdout.contains("±3 percentage points: at least n = 517"), "{stdout}");
    let out = csi(&["sample-size", "--sd", "20", "-m", "1"]);
    assert!(
        text(&out).0.contains("±1 score points: at least n = 1537"),
        "{:?}",
        text(&out)
    );
    let out = csi(&["sample-size", "-n", "2000", "--population", "1000"]);
    assert!(!out.status.success());
    assert!(text(&out).1.contains("population"), "{:?}", text(&out));
    // A design effect of 1.5 widens the margin by √1.5 (±4.90 → ±6.00) and needs
    // 384.1 × 1.5 = 576.2 → 577 respondents for ±5 points.
    let out = csi(&["sample-size", "-n", "400", "-m", "5", "--deff", "1.5"]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("design effect 1.5"), "{stdout}");
    assert!(stdout.contains("±6.00 percentage points"), "{stdout}");
    assert!(stdout.contains("±5 percentage points: at least n = 577"), "{stdout}");
    let out = csi(&["sample-size", "-n", "400", "--deff", "0.5"]);
    assert!(!out.status.success());
    assert!(text(&out).1.contains("design effect"), "{:?}", text(&out));
}

/// One HTTP GET on localhost; returns the body.
fn get(address: &str, path: &str) -> String {
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {address}\r\n\r\n").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default()
}

#[test]
fn serve_previews_and_rebuilds_on_change() {
    let work = tempfile::tempdir().unwrap();
    let study = mini(work.path(), "mini", |y| {
        format!("{y}\nnarrative:\n  waves: {{2024: notes.md}}\n")
    });
    std::fs::write(study.join("notes.md"), "First version of the notes.\n").unwrap();
    // The preview folder is made under TMPDIR; stopping the server removes it.
    let tmp = work.path().join("tmp");
    std::fs::create_dir(&tmp).unwrap();
    let mut child = common::csi()
        .args(["serve", study.to_str().unwrap(), "--port", "0"])
        .env("TMPDIR", &tmp)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut first = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let address = first
        .split("http://")
        .nth(1)
        .and_then(|r| r.split('/').next())
        .unwrap_or_else(|| panic!("{first}"))
        .to_string();
    let result = std::panic::catch_unwind(|| {
        let page = get(&address, "/mini/2024/index.html");
        assert!(page.contains("First version of the notes."), "{page}");
        assert!(page.contains("/__csi/generation"), "no reload script");
        assert!(get(&address, "/../../etc/passwd").contains("not found"));
        let generation = get(&address, "/__csi/generation");
        std::thread::sleep(Duration::from_millis(1100));
        std::fs::write(study.join("notes.md"), "Second version of the notes.\n").unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        while get(&address, "/__csi/generation") == generation && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
        }
        let page = get(&address, "/mini/2024/index.html");
        assert!(page.contains("Second version of the notes."), "{page}");
        let made: Vec<_> = std::fs::read_dir(&tmp)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(made.len(), 1, "one preview folder: {made:?}");
    });
    // Stopped as Ctrl-C or a service manager would stop it: the preview is removed.
    let stopped = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    if !matches!(stopped, Ok(s) if s.success()) {
        child.kill().unwrap();
    }
    let status = child.wait().unwrap();
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
    assert_eq!(status.code(), Some(130), "{status:?}");
    let left: Vec<_> = std::fs::read_dir(&tmp).unwrap().map(|e| e.unwrap().path()).collect();
    assert!(left.is_empty(), "left behind when stopped: {left:?}");
}

/// One build at a time per site folder. Two builds of one study from different
/// data, started together into one site again and again with `--wait`: both
/// succeed, one after the other, and the published wave always matches, file for
/// file, a build of one of them alone (never a mix). Without `--wait`, a build into
/// a locked site refuses, naming the holder, and writes nothing.
#[test]
fn concurrent_builds_into_one_site_never_mix_a_wave() {
    let work = tempfile::tempdir().unwrap();
    let a = mini(&work.path().join("a"), "mini", |y| y);
    let b = mini(&work.path().join("b"), "mini", |y| y);
    // Variant b: every respondent weighs 1, so every figure moves.
    let data = std::fs::read_to_string(b.join("data.csv")).unwrap();
    let unweighted: Vec<String> = data
        .lines()
        .enumerate()
        .map(|(i, l)| {
            let mut cells: Vec<&str> = l.split(',').collect();
            if i > 0 {
                cells[1] = "1";
            }
            cells.join(",")
        })
        .collect();
    std::fs::write(b.join("data.csv"), unweighted.join("\n") + "\n").unwrap();

    // Each variant built alone: what its wave folder must be.
    let alone = |study: &Path, name: &str| {
        let site = work.path().join(name);
        let out = csi(&["build", study.to_str().unwrap(), "--out", site.to_str().unwrap()]);
        assert!(out.status.success(), "{:?}", text(&out));
        common::snapshot(&site.join("mini/2024"))
    };
    let expected = [alone(&a, "alone-a"), alone(&b, "alone-b")];
    assert_ne!(expected[0], expected[1], "the variants must differ");

    let site = work.path().join("site");
    let build = |study: &Path| {
        common::csi()
            .args(["build", "--rebuild", "--wait", "--quiet", "--out"])
            .arg(&site)
            .arg(study)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let mut seen = [false, false];
    for round in 0..6 {
        let (first, second) = if round % 2 == 0 { (&a, &b) } else { (&b, &a) };
        let children = [build(first), build(second)];
        for child in children {
            let out = child.wait_with_output().unwrap();
            assert!(out.status.success(), "round {round}: {:?}", text(&out));
        }
        let now = common::snapshot(&site.join("mini/2024"));
        let which = expected.iter().position(|e| *e == now);
        assert!(
            which.is_some(),
            "round {round}: the published wave is a mix of two builds"
        );
        seen[which.unwrap()] = true;
        let leftovers: Vec<_> = std::fs::read_dir(&site)
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with(".csi-"))
            .collect();
        assert!(leftovers.is_empty(), "round {round}: {leftovers:?}");
    }
    assert!(seen[0] || seen[1]);

    // A build holding the lock (here: this test), and a second build without --wait.
    let held = csi_site::SiteLock::acquire(&site, false, |_| {}).unwrap();
    let before = common::snapshot(&site);
    let out = csi(&[
        "build",
        b.to_str().unwrap(),
        "--rebuild",
        "--out",
        site.to_str().unwrap(),
    ]);
    let (_, err) = text(&out);
    assert!(!out.status.success());
    assert!(
        err.contains("another csi build is writing to")
            && err.contains(&format!("process {}", std::process::id()))
            && err.contains("--wait"),
        "{err}"
    );
    assert!(common::snapshot(&site) == before, "a refused build wrote to the site");
    drop(held);
    let out = csi(&[
        "build",
        b.to_str().unwrap(),
        "--rebuild",
        "--out",
        site.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{:?}", text(&out));
    let (summary, _) = text(&out);
    assert!(summary.contains("mini: published wave(s) 2024"), "{summary}");
}
