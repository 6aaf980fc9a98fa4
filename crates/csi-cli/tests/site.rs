//! The example study, built end to end: deterministic output, every internal link
//! resolving, and the wave page rendered by headless Chromium with its Chinese
//! labels and chart (screenshots saved under `target/screenshots/`).
//!
//! The browser part needs Debian's `chromium` (`.ci/run` installs it). Without it the
//! test says so and skips that part, unless `CSI_REQUIRE_BROWSER=1` (set by CI).

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn build(out: &Path) {
    let status = Command::new(env!("CARGO_BIN_EXE_csi"))
        .args([
            "build",
            root().join("reports/telecom").to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(status.status.success(), "{}", String::from_utf8_lossy(&status.stderr));
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(files(&p));
        } else {
            out.push(p);
        }
    }
    out.sort();
    out
}

#[test]
fn example_site_is_deterministic_and_links_resolve() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    build(a.path());
    build(b.path());
    let fa = files(a.path());
    let fb = files(b.path());
    assert_eq!(
        fa.iter().map(|p| p.strip_prefix(a.path()).unwrap()).collect::<Vec<_>>(),
        fb.iter().map(|p| p.strip_prefix(b.path()).unwrap()).collect::<Vec<_>>()
    );
    for (x, y) in fa.iter().zip(&fb) {
        assert!(
            std::fs::read(x).unwrap() == std::fs::read(y).unwrap(),
            "{} differs between two builds",
            x.display()
        );
    }
    for w in ["2000", "2001", "2002"] {
        assert!(a.path().join("telecom").join(w).join("index.html").is_file());
    }

    // Every href/src of every page resolves to a file of the site.
    let mut checked = 0;
    for page in fa.iter().filter(|p| p.extension().is_some_and(|e| e == "html")) {
        let html = std::fs::read_to_string(page).unwrap();
        for attr in ["href=\"", "src=\"", "url="] {
            for part in html.split(attr).skip(1) {
                let target = part.split(['"', '#']).next().unwrap();
                if target.is_empty() || target.starts_with("http") || target.starts_with("mailto:") {
                    continue;
                }
                let resolved = page.parent().unwrap().join(target);
                assert!(resolved.exists(), "{} links to missing {target}", page.display());
                checked += 1;
            }
        }
    }
    assert!(checked > 20, "too few links checked ({checked})");
}

fn chromium() -> Option<PathBuf> {
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .find_map(|name| {
            std::env::var_os("PATH").and_then(|paths| {
                std::env::split_paths(&paths)
                    .map(|d| d.join(name))
                    .find(|p| p.is_file())
            })
        })
}

#[test]
fn wave_page_renders_in_headless_chromium() {
    let Some(browser) = chromium() else {
        assert!(
            std::env::var("CSI_REQUIRE_BROWSER").is_err(),
            "CSI_REQUIRE_BROWSER is set but no chromium is installed"
        );
        eprintln!("skipped: chromium not installed");
        return;
    };
    let site = tempfile::tempdir().unwrap();
    build(site.path());
    let profile = tempfile::tempdir().unwrap();
    let shots = root().join("target/screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    let url = format!("file://{}", site.path().join("telecom/2002/index.html").display());
    let run = |extra: &[&str]| {
        Command::new(&browser)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--enable-logging=stderr",
                "--v=0",
                &format!("--user-data-dir={}", profile.path().display()),
            ])
            .args(extra)
            .arg(&url)
            .output()
            .expect("chromium runs")
    };
    let dom = run(&["--dump-dom"]);
    let html = String::from_utf8_lossy(&dom.stdout);
    let log = String::from_utf8_lossy(&dom.stderr);
    assert!(html.contains("<svg"), "no chart in the rendered page");
    for text in ["顾客满意度指数", "网络服务", "计费/收费/缴费/扣费", "高额话费用户"] {
        assert!(html.contains(text), "rendered page lacks {text}");
    }
    let console_errors: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("CONSOLE") && l.contains("ERROR"))
        .collect();
    assert!(console_errors.is_empty(), "console errors: {console_errors:?}");
    let shot = shots.join("telecom-2002.png");
    let out = run(&["--window-size=1280,2400", &format!("--screenshot={}", shot.display())]);
    assert!(
        shot.is_file() && std::fs::metadata(&shot).unwrap().len() > 50_000,
        "no screenshot: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
