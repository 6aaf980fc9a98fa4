//! The example site in a real browser: every page of every wave opened in headless
//! Chromium from `file://`, failing on any console error (a missing file, a script
//! error), with a screenshot of each page saved under `target/screenshots/`; the
//! version switcher checked to list later waves on an earlier wave's page and to
//! keep the reader on the same page.
//!
//! Needs Debian's `chromium` (`.ci/run` installs it with `fonts-noto-cjk`). Without
//! it the test says so and skips, unless `CSI_REQUIRE_BROWSER=1` (set by CI).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod common;

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

/// Runs headless Chromium on `page` with `extra` arguments, console logged to stderr.
fn open(browser: &Path, profile: &Path, page: &Path, extra: &[String]) -> Output {
    Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--enable-logging=stderr",
            "--v=0",
            &format!("--user-data-dir={}", profile.display()),
        ])
        .args(extra)
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("chromium runs")
}

/// Console messages Chromium logged. Headless Chromium logs every console message
/// at the same level (`INFO:CONSOLE`), errors included, and the site's script never
/// writes to the console, so any message is an error: an uncaught exception, a
/// `console.error`. (Missing files are not logged; the link checker in `site.rs`
/// finds those.)
fn console_errors(log: &str) -> Vec<String> {
    log.lines()
        .filter(|l| l.contains(":CONSOLE"))
        .map(str::to_string)
        .collect()
}

/// The browser, the example study built into a temporary site with the standard
/// plugins (every analysis succeeding), and the screenshot folder; `None` (the
/// test is skipped) without chromium, unless `CSI_REQUIRE_BROWSER` is set.
fn example_site() -> Option<(PathBuf, tempfile::TempDir, PathBuf)> {
    let Some(browser) = chromium() else {
        assert!(
            std::env::var("CSI_REQUIRE_BROWSER").is_err(),
            "CSI_REQUIRE_BROWSER is set but no chromium is installed"
        );
        eprintln!("skipped: chromium not installed");
        return None;
    };
    let site = tempfile::tempdir().unwrap();
    let plugins = common::standard_plugins();
    let run = common::csi()
        .args([
            "build",
            common::root().join("reports/telecom").to_str().unwrap(),
            "--out",
        ])
        .arg(site.path())
        .arg("--plugins")
        .arg(plugins.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{stderr}");
    assert!(!stderr.contains("warning: analysis"), "an analysis failed: {stderr}");
    let shots = common::root().join("target/screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    Some((browser, site, shots))
}

#[test]
fn every_page_renders_in_headless_chromium_without_console_errors() {
    let Some((browser, site, shots)) = example_site() else {
        return;
    };

    // Every page: the site index, the study page, each page of each wave.
    let study = site.path().join("telecom");
    let versions: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(study.join("versions.json")).unwrap()).unwrap();
    let mut pages = vec![site.path().join("index.html"), study.join("index.html")];
    for w in versions["waves"].as_array().unwrap() {
        for p in w["pages"].as_array().unwrap() {
            pages.push(study.join(w["id"].as_str().unwrap()).join(p.as_str().unwrap()));
        }
    }
    assert_eq!(pages.len(), 2 + 3 * 9);

    // Two browsers at a time (one per core of a small machine).
    let failures: Vec<String> = std::thread::scope(|scope| {
        let chunks: Vec<Vec<PathBuf>> = vec![
            pages.iter().step_by(2).cloned().collect(),
            pages.iter().skip(1).step_by(2).cloned().collect(),
        ];
        let handles: Vec<_> = chunks
            .into_iter()
            .map(|chunk| {
                let browser = browser.clone();
                let (shots, site) = (shots.clone(), site.path().to_path_buf());
                scope.spawn(move || {
                    let profile = tempfile::tempdir().unwrap();
                    let mut failures = Vec::new();
                    for page in chunk {
                        let rel = page.strip_prefix(&site).unwrap().to_string_lossy().replace('/', "-");
                        let shot = shots.join(rel.replace(".html", ".png"));
                        let out = open(
                            &browser,
                            profile.path(),
                            &page,
                            &[
                                "--window-size=1280,2000".into(),
                                format!("--screenshot={}", shot.display()),
                            ],
                        );
                        let errors = console_errors(&String::from_utf8_lossy(&out.stderr));
                        if !errors.is_empty() {
                            failures.push(format!("{}: {errors:?}", page.display()));
                        }
                        if std::fs::metadata(&shot).map_or(0, |m| m.len()) < 20_000 {
                            failures.push(format!("{}: no screenshot", page.display()));
                        }
                    }
                    failures
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap()).collect()
    });
    assert!(failures.is_empty(), "{failures:#?}");

    // The rendered DOM: Chinese labels and charts are there, and on the first wave's
    // gap page the switcher (extended by its script) offers every later wave's gap
    // page and says a newer wave exists.
    let profile = tempfile::tempdir().unwrap();
    let dom = open(
        &browser,
        profile.path(),
        &study.join("2000/gap.html"),
        &["--dump-dom".into()],
    );
    let html = String::from_utf8_lossy(&dom.stdout);
    assert!(html.contains("<svg"), "no chart on the gap page: {html}");
    for w in ["2000", "2001", "2002"] {
        assert!(
            html.contains(&format!("href=\"../{w}/gap.html\"")),
            "switcher lacks {w}: {html}"
        );
    }
    assert!(html.contains("class=\"newer-wave\""), "no notice of the newer wave");
    let dom = open(
        &browser,
        profile.path(),
        &study.join("2002/index.html"),
        &["--dump-dom".into()],
    );
    let html = String::from_utf8_lossy(&dom.stdout);
    for text in [
        "顾客满意度指数",
        "网络服务",
        "计费/收费/缴费/扣费",
        "高额话费用户",
        "执行摘要",
    ] {
        assert!(html.contains(text), "rendered page lacks {text}");
    }
    assert!(
        !html.contains("class=\"newer-wave\""),
        "the newest wave says a newer one exists"
    );
}

/// Where a page is measured: on a phone's screen, or on paper.
#[derive(Clone, Copy, PartialEq)]
enum Medium {
    /// A 390 px wide screen.
    Phone,
    /// An A4 page less the stylesheet's margins (182 mm): the print styles are
    /// applied (the stylesheet is added again with `@media print` read as
    /// `@media all`), and sizes are reported in points (a CSS px is 0.75 pt).
    Print,
}

/// Measures, in the browser, the smallest chart text as displayed on `medium`, and
/// which tables run past the screen's edge. Headless Chromium will not lay a window
/// out narrower than 500 px, so the page is shown in an iframe of the medium's width
/// (its own viewport, so the phone styles apply); a copy of the page with a
/// measuring script reports to the frame's parent. A chart's scale is the smaller of
/// its width's and height's (a chart taller than the page is shrunk to fit it).
fn measure(browser: &Path, profile: &Path, page: &Path, shot: &Path, medium: Medium) -> serde_json::Value {
    const PROBE: &str = r#"<script>
addEventListener('load', () => {
  let min = Infinity, worst = '', texts = 0;
  for (const svg of document.querySelectorAll('.chart svg')) {
    const box = svg.getBoundingClientRect();
    if (box.width === 0) continue;
    const vb = svg.viewBox.baseVal;
    const k = vb && vb.width ? Math.min(box.width / vb.width, box.height / vb.height) : 1;
    for (const t of svg.querySelectorAll('text')) {
      if (!t.textContent.trim()) continue;
      texts++;
      const px = parseFloat(getComputedStyle(t).fontSize) * k;
      if (px < min) { min = px; worst = t.textContent.trim(); }
    }
  }
  // Tables whose columns run past the screen's edge (hidden until scrolled).
  const hidden = [];
  for (const t of document.querySelectorAll('table')) {
    if (!t.offsetParent) continue;
    const box = t.closest('.table-scroll') || t.parentElement;
    if (t.scrollWidth > box.clientWidth + 1 || t.getBoundingClientRect().right > innerWidth + 1) {
      const c = t.querySelector('caption') || t.querySelector('th');
      hidden.push(c ? c.textContent.trim() : t.className);
    }
  }
  parent.postMessage(JSON.stringify({min: texts ? min : null, worst, texts, hidden, width: innerWidth}), '*');
});
</script>"#;
    let dir = page.parent().unwrap();
    let name = page.file_name().unwrap().to_string_lossy().to_string();
    let mut html = std::fs::read_to_string(page).unwrap();
    let (frame_width, tag) = match medium {
        Medium::Phone => ("390px", "phone"),
        Medium::Print => ("182mm", "print"),
    };
    if medium == Medium::Print {
        let mut print = String::new();
        for sheet in html.split("rel=\"stylesheet\" href=\"").skip(1) {
            let href = sheet.split('"').next().unwrap();
            let css = std::fs::read_to_string(dir.join(href)).unwrap();
            assert!(css.contains("@media print"), "{href} has no print styles");
            print.push_str(&css.replace("@media print", "@media all"));
        }
        html = html.replace("</head>", &format!("<style>{print}</style></head>"));
    }
    let probe = dir.join(format!("probe-{tag}-{name}"));
    std::fs::write(&probe, html.replace("</body>", &format!("{PROBE}</body>"))).unwrap();
    let frame = dir.join(format!("frame-{tag}-{name}"));
    std::fs::write(
        &frame,
        format!(
            "<!doctype html><html><body style=\"margin:0\"><iframe src=\"probe-{tag}-{name}\" style=\"width:{frame_width};height:2400px;border:0\"></iframe><pre id=\"out\"></pre><script>addEventListener('message', e => {{ document.getElementById('out').textContent = e.data; }});</script></body></html>"
        ),
    )
    .unwrap();
    let out = open(
        browser,
        profile,
        &frame,
        &[
            "--window-size=800,2400".into(),
            "--virtual-time-budget=5000".into(),
            "--dump-dom".into(),
        ],
    );
    let dom = String::from_utf8_lossy(&out.stdout);
    let json = dom
        .split("<pre id=\"out\">")
        .nth(1)
        .and_then(|s| s.split("</pre>").next())
        .unwrap_or_default()
        .replace("&quot;", "\"")
        .replace("&amp;", "&");
    let _ = open(
        browser,
        profile,
        &frame,
        &[
            "--window-size=800,2400".into(),
            format!("--screenshot={}", shot.display()),
        ],
    );
    let mut m: serde_json::Value =
        serde_json::from_str(&json).unwrap_or_else(|e| panic!("{}: no measurement ({e}): {dom}", page.display()));
    if medium == Medium::Print {
        if let Some(px) = m["min"].as_f64() {
            m["min"] = (px * 0.75).into();
        }
    }
    m
}

#[test]
fn phone_layout_has_legible_charts_and_no_hidden_columns() {
    let Some((browser, site, shots)) = example_site() else {
        return;
    };
    let study = site.path().join("telecom");
    // Every page type: the overview, each analysis, method, downloads, the study page.
    let mut pages: Vec<PathBuf> = [
        "index",
        "gap",
        "driver",
        "segment",
        "trend",
        "topbox",
        "netscore",
        "method",
        "downloads",
    ]
    .iter()
    .map(|p| study.join(format!("2002/{p}.html")))
    .collect();
    pages.push(study.join("index.html"));
    let profile = tempfile::tempdir().unwrap();
    let mut measured = 0;
    let mut failures = Vec::new();
    let mut cut = Vec::new();
    for page in &pages {
        let rel = page
            .strip_prefix(site.path())
            .unwrap()
            .to_string_lossy()
            .replace('/', "-");
        let shot = shots.join(rel.replace(".html", "-390.png"));
        let m = measure(&browser, profile.path(), page, &shot, Medium::Phone);
        assert_eq!(m["width"], 390, "{}: {m}", page.display());
        if let Some(min) = m["min"].as_f64() {
            measured += 1;
            if min < 11.0 {
                failures.push(format!("{}: {:.1} px ({})", page.display(), min, m["worst"]));
            }
        }
        for table in m["hidden"].as_array().into_iter().flatten() {
            cut.push(format!("{}: {table}", page.display()));
        }
    }
    assert!(measured >= 5, "charts were measured on only {measured} pages");
    assert!(failures.is_empty(), "chart text below 11 px at 390 px: {failures:#?}");
    assert!(cut.is_empty(), "tables with columns off a 390 px screen: {cut:#?}");
}

#[test]
fn printed_chart_text_is_legible() {
    // Every chart as printed on A4 (its print layout, whole or in parts) has no text
    // below 7.5 pt; the wide layout scaled to the page printed at about 6.5 pt.
    let Some((browser, site, shots)) = example_site() else {
        return;
    };
    let study = site.path().join("telecom");
    let profile = tempfile::tempdir().unwrap();
    let mut measured = 0;
    let mut failures = Vec::new();
    for page in ["index", "gap", "driver", "segment", "trend"] {
        let page = study.join(format!("2002/{page}.html"));
        let shot = shots.join(format!(
            "telecom-2002-{}-print.png",
            page.file_stem().unwrap().to_string_lossy()
        ));
        let m = measure(&browser, profile.path(), &page, &shot, Medium::Print);
        // 182 mm in CSS px (96 per inch).
        assert_eq!(m["width"], 688, "{}: {m}", page.display());
        if let Some(min) = m["min"].as_f64() {
            measured += 1;
            if min < 7.5 {
                failures.push(format!("{}: {:.1} pt ({})", page.display(), min, m["worst"]));
            }
        }
    }
    assert_eq!(measured, 5, "charts were measured on only {measured} pages");
    assert!(failures.is_empty(), "printed chart text below 7.5 pt: {failures:#?}");
}

#[test]
fn console_errors_are_recognised() {
    // The filter above must catch what Chromium logs for a script error and a
    // missing file, or the browser test could not fail.
    // What Chromium 14x writes for `nothere()` and `console.error("bad")`.
    let log = "[16413:16413:1130/163620.739459:INFO:CONSOLE:1] \"Uncaught ReferenceError: nothere is not defined\", source: file:///site/a.html (1)\n\
               [16538:16538:1130/163623.436250:INFO:CONSOLE:1] \"bad\", source: file:///site/b.html (1)\n\
               [16538:16538:1130/163623.436250:WARNING:some_other_component.cc(12)] unrelated";
    assert_eq!(console_errors(log).len(), 2);
}
