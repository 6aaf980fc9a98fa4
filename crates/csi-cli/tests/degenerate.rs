//! Degenerate data never publishes a meaningless figure. Each study in
//! `tests/degenerate/` (a constant outcome or driver, too few respondents, a single
//! respondent with both answers, collinear or uncorrelated drivers, a group of one)
//! builds, and the pages of its analyses state in place why a figure cannot be
//! estimated: every line `page: text` of its `expect.txt` appears in that page's
//! text. No page or download of any of them holds `NaN` or an infinity.

mod common;

/// The visible text of an HTML page: charts, scripts and tags removed.
fn page_text(html: &str) -> String {
    let mut out = String::new();
    let mut rest = html;
    while let Some(start) = rest.find('<') {
        out.push_str(&rest[..start]);
        let tail = &rest[start..];
        let skip_to = ["<svg", "<script", "<style"]
            .iter()
            .find(|t| tail.starts_with(**t))
            .map(|t| format!("</{}>", &t[1..]));
        rest = match skip_to.and_then(|end| tail.find(&end).map(|i| &tail[i + end.len()..])) {
            Some(after) => after,
            None => tail.find('>').map_or("", |i| &tail[i + 1..]),
        };
        out.push(' ');
    }
    out.push_str(rest);
    let out = out
        .replace("&amp;", "&")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#x27;", "'");
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn every_degenerate_study_states_what_cannot_be_estimated() {
    let plugins = common::standard_plugins();
    let cases = common::corpus("degenerate");
    assert!(cases.len() >= 7, "the corpus shrank");
    let mut failures = Vec::new();
    for case in &cases {
        let name = case.file_name().unwrap().to_string_lossy().to_string();
        let work = tempfile::tempdir().unwrap();
        let site = work.path().join("site");
        let out = common::csi()
            .arg("build")
            .arg(case)
            .arg("--out")
            .arg(&site)
            .arg("--plugins")
            .arg(plugins.path())
            .output()
            .unwrap();
        let log = String::from_utf8_lossy(&out.stderr).to_string();
        if !out.status.success() {
            failures.push(format!("{name}: the build failed\n{log}"));
            continue;
        }
        let id = name.replace('_', "-");
        let wave = site.join(&id).join("2024");
        for line in std::fs::read_to_string(case.join("expect.txt")).unwrap().lines() {
            let Some((page, says)) = line.split_once(": ") else {
                continue;
            };
            let text = page_text(&std::fs::read_to_string(wave.join(format!("{page}.html"))).unwrap());
            if !text.contains(says) {
                failures.push(format!("{name}: {page}.html lacks `{says}`:\n{text}"));
            }
        }
        for file in common::files(&site) {
            let Ok(text) = std::fs::read_to_string(&file) else {
                continue;
            };
            let page = file.extension().is_some_and(|e| e == "html");
            for bad in ["NaN", "inf\"", ">inf", "Infinity", "class=\"analysis-error"] {
                if text.contains(bad) && (page || !bad.starts_with("class")) {
                    failures.push(format!("{name}: {} holds `{bad}`", file.display()));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
