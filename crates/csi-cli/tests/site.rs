//! The example study, built end to end: deterministic output, every internal link
//! resolving, a self-contained site, and versioning — adding a wave leaves the
//! published waves byte-identical, and a full rebuild reproduces them.

use std::path::Path;

mod common;

fn build(out: &Path) {
    build_study(&common::root().join("reports/telecom"), out, &[]);
}

/// Runs `csi build <study> --out <out> <extra…>` with the standard plugins; returns
/// stdout and stderr. Every analysis must succeed.
fn build_study(study: &Path, out: &Path, extra: &[&str]) -> (String, String) {
    let plugins = common::standard_plugins();
    // Sums kept between builds go beside the site, not in the user's cache.
    let cache = out.parent().unwrap().join("kept-sums");
    let run = common::csi()
        .args(["build", study.to_str().unwrap(), "--out", out.to_str().unwrap()])
        .arg("--plugins")
        .arg(plugins.path())
        .args(extra)
        .env("CSI_CACHE_DIR", &cache)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr).into_owned();
    assert!(run.status.success(), "{stderr}");
    assert!(!stderr.contains("warning: analysis"), "an analysis failed: {stderr}");
    (String::from_utf8_lossy(&run.stdout).into_owned(), stderr)
}

/// The numbers of the summary table's row for `study`: waves, built, kept.
fn summary_row(out: &str, study: &str) -> (usize, usize, usize) {
    let row = out
        .lines()
        .find(|l| l.split_whitespace().next() == Some(study))
        .unwrap_or_else(|| panic!("no summary row for {study}: {out}"));
    let n: Vec<usize> = row
        .split_whitespace()
        .skip(1)
        .take(3)
        .map(|c| c.parse().unwrap())
        .collect();
    (n[0], n[1], n[2])
}

#[test]
fn example_site_is_deterministic_and_links_resolve() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    build(a.path());
    build(b.path());
    let fa = common::files(a.path());
    let fb = common::files(b.path());
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
    let mut pages = 0;
    for page in fa.iter().filter(|p| p.extension().is_some_and(|e| e == "html")) {
        pages += 1;
        let html = std::fs::read_to_string(page).unwrap();
        for attr in ["href=\"", "src=\"", "url="] {
            for part in html.split(attr).skip(1) {
                let target = part.split(['"', '#']).next().unwrap();
                if target.is_empty() || target.starts_with("https://") || target.starts_with("mailto:") {
                    continue;
                }
                assert!(
                    !target.starts_with('/') && !target.contains("://"),
                    "{}: {target} is not a relative link (the site must work from file:// and any host)",
                    page.display()
                );
                let resolved = page.parent().unwrap().join(target);
                assert!(resolved.is_file(), "{} links to missing {target}", page.display());
                checked += 1;
            }
        }
        // Self-contained: no stylesheet, script, font or image from elsewhere.
        for tag in ["<link", "<script", "<img"] {
            for part in html.split(tag).skip(1) {
                let end = part.find('>').unwrap_or(part.len());
                assert!(
                    !part[..end].contains("://"),
                    "{}: external resource in {tag}{}",
                    page.display(),
                    &part[..end]
                );
            }
        }
    }
    let scanned = reads_as_a_publication(&fa, &common::root().join("reports/telecom/study.yaml"));
    assert!(scanned > 10_000, "too little text scanned ({scanned})");

    // 3 waves × (overview, 6 analyses, method, downloads), their latest/ forwards,
    // the study page and the site index.
    assert_eq!(pages, 3 * 9 + 9 + 2, "pages written");
    assert!(checked > 500, "too few links checked ({checked})");

    // Downloads: a CSV per table (UTF-8 with BOM) and one workbook per wave.
    let wave = a.path().join("telecom/2002");
    let csv = std::fs::read(wave.join("data/index-tree.csv")).unwrap();
    assert!(csv.starts_with(b"\xEF\xBB\xBF"), "CSV without byte-order mark");
    let csv = String::from_utf8(csv).unwrap();
    assert!(csv.contains("网络服务"), "CSV lacks Chinese labels");
    assert!(std::fs::read(wave.join("telecom-2002.xlsx"))
        .unwrap()
        .starts_with(b"PK"));
    let downloads = std::fs::read_to_string(wave.join("downloads.html")).unwrap();
    let csvs = common::files(&wave.join("data")).len();
    assert!(csvs > 20, "only {csvs} CSV files");
    assert_eq!(
        downloads.matches(".csv\" download").count(),
        csvs,
        "downloads page lists every CSV"
    );
}

#[test]
fn adding_a_wave_leaves_published_waves_byte_identical() {
    let work = tempfile::tempdir().unwrap();
    let study = work.path().join("telecom");
    common::copy_dir(&common::root().join("reports/telecom"), &study);
    let site = work.path().join("site");
    build_study(&study, &site, &[]);
    let published: Vec<_> = ["2000", "2001", "2002"]
        .iter()
        .map(|w| common::snapshot(&site.join("telecom").join(w)))
        .collect();

    // A fourth wave: the 2002 data again, under a new wave.
    std::fs::copy(study.join("data/wave-2002.csv"), study.join("data/wave-2003.csv")).unwrap();
    let yaml = std::fs::read_to_string(study.join("study.yaml")).unwrap();
    let yaml = yaml.replacen(
        "    data: data/wave-2002.csv\n    weight: weight\n",
        "    data: data/wave-2002.csv\n    weight: weight\n  - id: 2003\n    label: {zh: 2003年度, en: \"2003\"}\n    data: data/wave-2003.csv\n    weight: weight\n",
        1,
    );
    std::fs::write(study.join("study.yaml"), yaml).unwrap();
    let (out, err) = build_study(&study, &site, &[]);
    assert_eq!(summary_row(&out, "telecom"), (4, 1, 3), "{out}\n{err}");
    assert!(
        !err.contains("kept as published"),
        "adding a wave changed the inputs of earlier ones: {err}"
    );
    for (w, before) in ["2000", "2001", "2002"].iter().zip(&published) {
        assert!(
            &common::snapshot(&site.join("telecom").join(w)) == before,
            "wave {w} changed when 2003 was added"
        );
    }
    let versions = std::fs::read_to_string(site.join("telecom/versions.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&versions).unwrap();
    assert_eq!(v["latest"], "2003");
    assert_eq!(v["waves"].as_array().unwrap().len(), 4);
    let latest = std::fs::read_to_string(site.join("telecom/latest/gap.html")).unwrap();
    assert!(latest.contains("url=../2003/gap.html"), "{latest}");
    let page = std::fs::read_to_string(site.join("telecom/2003/gap.html")).unwrap();
    for w in ["2000", "2001", "2002", "2003"] {
        assert!(
            page.contains(&format!("href=\"../{w}/gap.html\"")),
            "switcher of 2003 lacks {w}"
        );
    }

    // A full rebuild from the same inputs reproduces the published bytes.
    let fresh = work.path().join("fresh");
    let (out, _) = build_study(&study, &fresh, &["--rebuild"]);
    assert_eq!(summary_row(&out, "telecom"), (4, 4, 0), "{out}");
    for (w, before) in ["2000", "2001", "2002"].iter().zip(&published) {
        assert!(
            &common::snapshot(&fresh.join("telecom").join(w)) == before,
            "a rebuild of wave {w} differs from what was published"
        );
    }

    // Changed inputs of a published wave are reported, and the wave stays as published.
    let mut data = std::fs::read(study.join("data/wave-2000.csv")).unwrap();
    data.extend_from_slice(b"\n");
    std::fs::write(study.join("data/wave-2000.csv"), data).unwrap();
    let (out, err) = build_study(&study, &site, &[]);
    assert_eq!(summary_row(&out, "telecom"), (4, 0, 4), "{out}");
    assert!(out.contains("up to date"), "{out}");
    assert!(
        err.contains("wave `2000` of `telecom` was published from other inputs (data file data/wave-2000.csv)"),
        "{err}"
    );
    assert!(common::snapshot(&site.join("telecom/2000")) == published[0]);
    let (out, _) = build_study(&study, &site, &["--rebuild"]);
    assert_eq!(summary_row(&out, "telecom"), (4, 4, 0), "{out}");
}

/// The waves whose figures a verbose build took from kept sums.
fn from_kept(err: &str) -> Vec<String> {
    err.lines()
        .filter(|l| l.contains("(from the sums kept by an earlier build"))
        .filter_map(|l| l.split("wave ").nth(1)?.split(':').next().map(str::to_string))
        .collect()
}

/// A wave computed before from the same data and definition is computed from
/// its kept sums, without reading the data, and publishes the same bytes; changed
/// data, a wave added after it (its like-for-like scores) or `--no-cache` compute it
/// from the data again.
#[test]
fn kept_sums_spare_reading_unchanged_waves_and_publish_the_same_bytes() {
    let work = tempfile::tempdir().unwrap();
    let study = work.path().join("telecom");
    common::copy_dir(&common::root().join("reports/telecom"), &study);
    let site = |name: &str| work.path().join(name);
    let waves = ["2000", "2001", "2002"];
    let snapshot = |out: &Path| -> Vec<_> {
        waves
            .iter()
            .map(|w| common::snapshot(&out.join("telecom").join(w)))
            .collect()
    };

    let (_, err) = build_study(&study, &site("first"), &["-v"]);
    assert!(from_kept(&err).is_empty(), "{err}");
    let kept = std::fs::read_dir(work.path().join("kept-sums")).unwrap().count();
    assert_eq!(kept, 3, "one entry per wave");
    let first = snapshot(&site("first"));
    assert!(
        common::files(&site("first"))
            .iter()
            .all(|f| !f.to_string_lossy().contains("kept-sums")),
        "kept sums are never published"
    );

    let (_, err) = build_study(&study, &site("second"), &["-v"]);
    assert_eq!(from_kept(&err), waves, "{err}");
    assert!(snapshot(&site("second")) == first, "kept sums publish the same bytes");

    let (_, err) = build_study(&study, &site("third"), &["-v", "--no-cache"]);
    assert!(from_kept(&err).is_empty(), "{err}");
    assert!(snapshot(&site("third")) == first);

    // Changed data: that wave alone is read again.
    let mut data = std::fs::read(study.join("data/wave-2001.csv")).unwrap();
    data.extend_from_slice(b"\n");
    std::fs::write(study.join("data/wave-2001.csv"), data).unwrap();
    let (_, err) = build_study(&study, &site("fourth"), &["-v"]);
    assert_eq!(from_kept(&err), ["2000", "2002"], "{err}");
    // (wave 2001's pages record the new data file's hash; wave 2000's are as before)
    assert!(snapshot(&site("fourth"))[0] == first[0]);

    // A wave added: the one before it gains like-for-like scores against it and
    // is read again; the others are not.
    std::fs::copy(study.join("data/wave-2002.csv"), study.join("data/wave-2003.csv")).unwrap();
    let yaml = std::fs::read_to_string(study.join("study.yaml")).unwrap();
    let yaml = yaml.replacen(
        "    data: data/wave-2002.csv\n    weight: weight\n",
        "    data: data/wave-2002.csv\n    weight: weight\n  - id: 2003\n    label: {zh: 2003年度, en: \"2003\"}\n    data: data/wave-2003.csv\n    weight: weight\n",
        1,
    );
    std::fs::write(study.join("study.yaml"), yaml).unwrap();
    let (_, err) = build_study(&study, &site("fifth"), &["-v"]);
    assert_eq!(from_kept(&err), ["2000", "2001"], "{err}");
}

/// The first displayed number in `text` that a publication would never print: a
/// negative zero (`-0`, `-0.0`, `−0.00` not followed by a digit), `NaN` or `inf`.
fn bad_number(text: &str) -> Option<String> {
    for word in text.split(|c: char| c.is_whitespace() || "()（）[]:;,，；：%|/".contains(c)) {
        let w = word.trim_matches(|c: char| "*▲▼†‡".contains(c));
        if w == "NaN" || w == "inf" || w == "-inf" || w.eq_ignore_ascii_case("nan") {
            return Some(w.to_string());
        }
        let body = w.strip_prefix('-').or_else(|| w.strip_prefix('−'));
        if let Some(body) = body {
            let digits: String = body.chars().take_while(|c| c.is_ascii_digit() || *c == '.').collect();
            if !digits.is_empty()
                && digits.chars().all(|c| c == '0' || c == '.')
                && digits.starts_with('0')
                && !body[digits.len()..].starts_with(|c: char| c.is_ascii_digit())
            {
                return Some(w.to_string());
            }
        }
    }
    None
}

/// What every page and download of a built study must satisfy: no displayed number is
/// a negative zero, NaN or infinite; no internal identifier of `study` is shown to the
/// client; downloads are data (no text ranges, no printed p-values, no symbols in
/// headers).
/// Returns how many pieces of text were scanned.
fn reads_as_a_publication(fa: &[std::path::PathBuf], study: &Path) -> usize {
    // No displayed number is a negative zero, NaN or infinite: in the text of every
    // page (charts included) and in every cell of every CSV download.
    let mut scanned = 0;
    for file in fa {
        let ext = file.extension().and_then(|e| e.to_str()).unwrap_or("");
        let text = match ext {
            "html" | "csv" => std::fs::read_to_string(file).unwrap(),
            _ => continue,
        };
        let pieces: Vec<&str> = if ext == "html" {
            // Text nodes only: what a reader sees, not attribute values or SVG paths.
            text.split('<')
                .filter_map(|p| p.split_once('>').map(|(_, t)| t))
                .collect()
        } else {
            text.lines().flat_map(|l| l.split(',')).collect()
        };
        for piece in pieces {
            if let Some(bad) = bad_number(piece) {
                panic!("{}: `{bad}` displayed in `{}`", file.display(), piece.trim());
            }
            scanned += 1;
        }
    }

    // No internal identifier in what a client reads: the study's ids (study, nodes,
    // segments, groups, analyses) and the plugins' names, as whole words, in the
    // visible text of every page outside the technical appendix.
    let ids = internal_ids(study);
    assert!(ids.len() > 5, "too few ids collected: {ids:?}");
    for file in fa.iter().filter(|f| f.extension().is_some_and(|e| e == "html")) {
        let text = visible_text(&std::fs::read_to_string(file).unwrap());
        for id in &ids {
            if let Some(at) = whole_word(&text, id) {
                let from = text[..at].char_indices().rev().nth(40).map_or(0, |(i, _)| i);
                let context: String = text[from..].chars().take(100).collect();
                panic!("{}: internal id `{id}` shown: …{context}…", file.display());
            }
        }
    }

    // Downloads are data: no numeric column holds a text range ("+1.9 – +2.4",
    // "[1.2, 3.4]") or a printed p-value ("< 0.001").
    for file in fa.iter().filter(|f| f.extension().is_some_and(|e| e == "csv")) {
        let text = std::fs::read_to_string(file).unwrap();
        let mut reader = csv::ReaderBuilder::new().from_reader(text.trim_start_matches('\u{feff}').as_bytes());
        let header = reader.headers().unwrap().clone();
        let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        for (i, name) in header.iter().enumerate() {
            assert!(
                !name.contains(['▲', '▼', '†']),
                "{}: header `{name}` has symbols",
                file.display()
            );
            let cells: Vec<&str> = rows.iter().filter_map(|r| r.get(i)).filter(|c| !c.is_empty()).collect();
            let numeric = cells.iter().filter(|c| c.parse::<f64>().is_ok()).count();
            if numeric == 0 {
                continue;
            }
            for c in &cells {
                assert!(
                    c.parse::<f64>().is_ok(),
                    "{}: column `{name}` mixes numbers with the text `{c}`",
                    file.display()
                );
            }
        }
        for r in &rows {
            for c in r {
                let range = numeric_range(c);
                assert!(!range, "{}: a text range `{c}` in a download", file.display());
                assert!(
                    !c.starts_with("< 0.") && !c.starts_with("> 0."),
                    "{}: printed p `{c}`",
                    file.display()
                );
            }
        }
    }

    scanned
}

#[test]
fn a_degenerate_study_reads_as_a_publication() {
    // One wave, a segment group of a single respondent and an item everyone answers
    // alike, with every standard analysis: what cannot be estimated says so in
    // place (tests/fixtures/degenerate).
    let out = tempfile::tempdir().unwrap();
    let study = common::root().join("tests/fixtures/degenerate");
    build_study(&study, out.path(), &[]);
    let files = common::files(out.path());
    let scanned = reads_as_a_publication(&files, &study.join("study.yaml"));
    assert!(scanned > 500, "too little text scanned ({scanned})");
    let wave = out.path().join("degenerate/2024");
    let trend = std::fs::read_to_string(wave.join("trend.html")).unwrap();
    assert!(
        trend.contains("首期") && !trend.contains("<svg"),
        "a first wave has no trend charts"
    );
    let segment = std::fs::read_to_string(wave.join("segment.html")).unwrap();
    assert!(
        segment.contains("单人组（n = 1）"),
        "the group of one is named as untestable"
    );
}

/// The ids a study declares (`id:` keys: study, nodes, segments, groups, analyses)
/// and the names of the standard plugins.
fn internal_ids(study: &Path) -> Vec<String> {
    let yaml: serde_yaml::Value = serde_yaml::from_str(&std::fs::read_to_string(study).unwrap()).unwrap();
    fn walk(v: &serde_yaml::Value, out: &mut Vec<String>) {
        match v {
            serde_yaml::Value::Mapping(m) => {
                for (k, v) in m {
                    if matches!(k.as_str(), Some("id" | "plugin")) {
                        if let Some(s) = v.as_str() {
                            out.push(s.to_string());
                        }
                    }
                    walk(v, out);
                }
            }
            serde_yaml::Value::Sequence(s) => s.iter().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    /// Every label of the study (in every language): an id that is also a word of
    /// a label (`complaint`, "Lodging a complaint") is client language there.
    fn labels(v: &serde_yaml::Value, out: &mut String) {
        match v {
            serde_yaml::Value::Mapping(m) => {
                for (k, v) in m {
                    if !matches!(k.as_str(), Some("id" | "plugin" | "data" | "column" | "weight")) {
                        labels(v, out);
                    }
                }
            }
            serde_yaml::Value::Sequence(s) => s.iter().for_each(|v| labels(v, out)),
            serde_yaml::Value::String(s) => {
                out.push_str(&s.to_lowercase());
                out.push('\n');
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(&yaml, &mut out);
    out.extend(["gap", "driver", "segment", "trend", "topbox", "netscore"].map(String::from));
    out.sort();
    out.dedup();
    let mut words = String::new();
    labels(&yaml, &mut words);
    out.retain(|id| whole_word(&words, &id.to_lowercase()).is_none());
    // Wave ids are years, which the report prints as such.
    out.retain(|id| !id.chars().all(|c| c.is_ascii_digit()));
    out
}

/// What a reader sees of a page: text nodes, without scripts, styles and the
/// collapsed technical appendix.
fn visible_text(html: &str) -> String {
    let mut html = html.to_string();
    for (open, close) in [
        ("<details class=\"method technical\"", "</details>"),
        ("<script", "</script>"),
        ("<style", "</style>"),
        ("<code", "</code>"),
    ] {
        while let Some(a) = html.find(open) {
            let b = html[a..].find(close).map_or(html.len(), |b| a + b + close.len());
            html.replace_range(a..b, " ");
        }
    }
    html.split('<')
        .filter_map(|p| p.split_once('>').map(|(_, t)| t))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Where `word` occurs in `text` as a whole word (not inside a longer identifier).
fn whole_word(text: &str, word: &str) -> Option<usize> {
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
    text.match_indices(word).map(|(i, _)| i).find(|&i| {
        !text[..i].chars().next_back().is_some_and(ident) && !text[i + word.len()..].chars().next().is_some_and(ident)
    })
}

/// Whether `cell` is nothing but an interval written as text: "[1.2, 3.4]",
/// "+1.9 – +2.4", "45.1–47.3%" (a label such as "1996–1998年" is not).
fn numeric_range(cell: &str) -> bool {
    let number = |s: &str| {
        let s = s.trim().trim_end_matches('%').trim();
        let s = s.trim_start_matches(['+', '-', '−']);
        !s.is_empty() && s.parse::<f64>().is_ok()
    };
    let c = cell.trim();
    if let Some(inner) = c.strip_prefix('[').and_then(|c| c.strip_suffix(']')) {
        return inner.split_once(',').is_some_and(|(a, b)| number(a) && number(b));
    }
    // Figures carry decimals, a sign or a percent; whole numbers joined by a dash are
    // labels (year bands such as "1996–1998").
    c.contains(['.', '+', '%']) && c.split_once(['–', '—']).is_some_and(|(a, b)| number(a) && number(b))
}

#[test]
fn internal_ids_are_found_as_whole_words_only() {
    assert!(numeric_range("[+1.2,\u{a0}+3.4]") && numeric_range("+1.9 – +2.4") && numeric_range("45.1–47.3%"));
    assert!(!numeric_range("1996–1998年") && !numeric_range("1996–1998") && !numeric_range("62.7"));
    assert_eq!(whole_word("the net_roaming score", "net_roaming"), Some(4));
    assert_eq!(whole_word("net_roaming_x", "net_roaming"), None);
    assert_eq!(whole_word("Gap analysis", "gap"), None);
    assert!(visible_text("<p>a</p><details class=\"method technical\"><p>gap</p></details>").trim() == "a");
}

#[test]
fn bad_numbers_are_recognised() {
    assert_eq!(bad_number("gap -0.0 ▼"), Some("-0.0".into()));
    assert_eq!(bad_number("(−0.00)"), Some("−0.00".into()));
    assert_eq!(bad_number("p NaN"), Some("NaN".into()));
    assert_eq!(bad_number("-0.1 and 0.0 and -10.0 and 2000–2002"), None);
}

/// Links `from` at `to` (same file system), else copies it.
fn link_or_copy(from: &Path, to: &Path) {
    if std::fs::hard_link(from, to).is_err() {
        std::fs::copy(from, to).unwrap();
    }
}

/// With the plugins that ship with csi beside the binary, as installed, the
/// analyses that read respondent rows (driver's penalty–reward, netscore) read
/// them with the statistics pass, fed as it reads the data, and run beside it;
/// their pages, and every figure, are those of the same plugins reading a pass of
/// their own after the figures (loaded from `--plugins`, in worker processes).
#[test]
fn shipped_plugins_read_rows_with_the_statistics_pass_and_publish_the_same_pages() {
    let work = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let installed = work.path().join("bin");
    std::fs::create_dir_all(&installed).unwrap();
    let csi = installed.join("csi");
    link_or_copy(Path::new(env!("CARGO_BIN_EXE_csi")), &csi);
    let plugins = common::standard_plugins();
    for entry in std::fs::read_dir(plugins.path()).unwrap() {
        let path = entry.unwrap().path();
        link_or_copy(&path, &installed.join(path.file_name().unwrap()));
    }
    let study = common::root().join("reports/telecom/study.yaml");
    let build = |mut command: std::process::Command, out: &Path, extra: &[&Path]| -> String {
        let run = command
            .args(["build", "-v", "--no-cache", study.to_str().unwrap(), "--out"])
            .arg(out)
            .args(extra)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&run.stderr).into_owned();
        assert!(run.status.success(), "{stderr}");
        assert!(!stderr.contains("warning: analysis"), "an analysis failed: {stderr}");
        stderr
    };
    let fed = |err: &str| {
        err.matches("3 of them, which read rows, ran beside the statistics pass")
            .count()
    };
    let with_pass = work.path().join("with-pass");
    let err = build(std::process::Command::new(&csi), &with_pass, &[]);
    assert_eq!(fed(&err), 3, "every wave's driver, netscore and topbox: {err}");
    let after = work.path().join("after");
    let err = build(common::csi(), &after, &[Path::new("--plugins"), plugins.path()]);
    assert_eq!(fed(&err), 0, "{err}");
    for wave in ["2000", "2001", "2002"] {
        for page in ["driver.html", "netscore.html", "results.json"] {
            let read = |site: &Path| std::fs::read(site.join("telecom").join(wave).join(page)).unwrap();
            assert!(read(&with_pass) == read(&after), "wave {wave}: {page}");
        }
    }
}
