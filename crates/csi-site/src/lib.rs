//! # csi-site: results to a static HTML site
//!
//! The engine's results are turned into display-ready *page models* (numbers
//! formatted, labels chosen in the study's language, charts drawn as SVG), and the
//! page models are rendered through tera templates of a theme. Templates escape
//! everything by default; only HTML produced here (charts, narrative markdown) is
//! marked safe.
//!
//! Layout written for a study:
//!
//! ```text
//! <out>/index.html                 all studies found under <out>
//! <out>/<study>/index.html         the study: every wave, link to the latest
//! <out>/<study>/<wave>/index.html  the wave's report
//! <out>/<study>/<wave>/results.json  every number on the page, machine-readable
//! <out>/<study>/latest/index.html  points at the newest wave
//! <out>/<study>/study.json         what the site index needs about the study
//! <out>/assets/style.<hash>.css    the theme's stylesheet, fingerprinted
//! ```
//!
//! **Publishing is atomic per study**: everything is rendered into a staging folder
//! next to the output first and swapped in by renaming, so a failed build never
//! leaves a half-written study over a good one.
#![deny(missing_docs)]

pub mod blocks;
pub mod chart;
pub mod markdown;
mod text;
mod theme;

use std::fs;
use std::path::{Path, PathBuf};

use serde::Serialize;

use csi_engine::{NodeKind, WaveResult, INDEX_ID};
use csi_stats::Estimate;
use csi_study::{BenchmarkKind, Study};

pub use blocks::{render as render_blocks, AnalysisPage};
pub use chart::Palette;
pub use theme::Theme;

/// Why a site could not be written.
#[derive(Debug, thiserror::Error)]
pub enum SiteError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A template failed to parse or render.
    #[error("template error: {0}")]
    Template(String),
    /// A chart could not be drawn.
    #[error("chart error: {0}")]
    Chart(String),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> SiteError + '_ {
    move |source| SiteError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// A confidence level as a percentage: 0.95 → `95%`, 0.995 → `99.5%`.
fn percent(level: f64) -> String {
    let p = (level * 1000.0).round() / 10.0;
    format!("{p}%")
}

/// Formats a 0–100 score.
fn score(e: &Estimate) -> String {
    e.mean.map_or("–".into(), |m| format!("{m:.1}"))
}

fn interval(e: &Estimate) -> String {
    match (e.ci_low, e.ci_high) {
        (Some(l), Some(h)) => format!("{l:.1}–{h:.1}"),
        _ => "–".into(),
    }
}

fn share(e: &Option<Estimate>) -> String {
    e.as_ref()
        .and_then(|e| e.mean)
        .map_or(String::new(), |m| format!("{:.1}%", m * 100.0))
}

fn signed(x: f64) -> String {
    if x.abs() < 0.05 {
        "±0.0".into()
    } else {
        format!("{x:+.1}")
    }
}

#[derive(Serialize)]
struct TreeRow {
    id: String,
    label: String,
    label_other: Option<String>,
    depth: usize,
    kind: &'static str,
    weight: String,
    unit: Option<String>,
    score: String,
    ci: String,
    n: u64,
    low_base: bool,
    top_box: String,
    expectation: String,
    gap: String,
    gap_class: &'static str,
}

#[derive(Serialize)]
struct WaveLink {
    id: String,
    label: String,
    href: String,
    current: bool,
}

/// Renders and publishes studies into one output folder.
pub struct SiteWriter {
    out: PathBuf,
    theme: Theme,
    generator: String,
}

impl SiteWriter {
    /// A writer for the site folder `out`, with `theme`; `generator` names the
    /// producing program and version (`csi 0.1.0`), printed in every page footer.
    pub fn new(out: &Path, theme: Theme, generator: impl Into<String>) -> Self {
        Self {
            out: out.to_path_buf(),
            theme,
            generator: generator.into(),
        }
    }

    /// Renders every wave of `study` and swaps the result into `<out>/<study id>/`
    /// atomically; then refreshes the site index.
    /// `analyses[i]` holds the analysis outcomes of wave `i` (may be empty).
    pub fn publish(
        &self,
        study: &Study,
        results: &[WaveResult],
        analyses: &[Vec<AnalysisPage>],
    ) -> Result<PathBuf, SiteError> {
        fs::create_dir_all(&self.out).map_err(io(&self.out))?;
        let staging = self.out.join(format!(".csi-staging-{}", study.id));
        if staging.exists() {
            fs::remove_dir_all(&staging).map_err(io(&staging))?;
        }
        let written = self.render_study(study, results, analyses, &staging);
        if let Err(e) = written {
            let _ = fs::remove_dir_all(&staging);
            return Err(e);
        }
        self.write_assets()?;
        let target = self.out.join(&study.id);
        let old = self.out.join(format!(".csi-old-{}", study.id));
        if old.exists() {
            if target.exists() {
                fs::remove_dir_all(&old).map_err(io(&old))?;
            } else {
                // A previous run stopped between its two renames: `old` is the only
                // published copy. Put it back before anything else.
                fs::rename(&old, &target).map_err(io(&old))?;
            }
        }
        if target.exists() {
            fs::rename(&target, &old).map_err(io(&target))?;
        }
        if let Err(e) = fs::rename(&staging, &target) {
            if old.exists() {
                let _ = fs::rename(&old, &target);
            }
            return Err(SiteError::Io {
                path: staging,
                source: e,
            });
        }
        if old.exists() {
            // The new site is in place; a leftover old copy is only clutter.
            let _ = fs::remove_dir_all(&old);
        }
        self.write_index()?;
        Ok(target)
    }

    fn write_assets(&self) -> Result<(), SiteError> {
        let dir = self.out.join("assets");
        fs::create_dir_all(&dir).map_err(io(&dir))?;
        let (name, css) = self.theme.stylesheet();
        let path = dir.join(name);
        if !path.exists() {
            write_atomic(&path, css.as_bytes())?;
        }
        Ok(())
    }

    fn base_context(&self, lang: &str, root: &str) -> tera::Context {
        let mut ctx = tera::Context::new();
        ctx.insert("lang", lang);
        ctx.insert("root", root);
        ctx.insert("css", &format!("assets/{}", self.theme.stylesheet().0));
        ctx.insert("generator", &self.generator);
        ctx.insert("t", &text::strings(lang));
        ctx
    }

    fn study_context(&self, study: &Study, root: &str) -> tera::Context {
        let lang = &study.language;
        let mut ctx = self.base_context(lang, root);
        ctx.insert(
            "study",
            &serde_json::json!({
                "id": study.id,
                "title": study.text(&study.title),
                "client": study.client.as_ref().map(|c| study.text(c)),
                "description": study.description.as_ref().map(|d| study.text(d)),
                "index_label": study.text(&study.index_label),
            }),
        );
        ctx
    }

    fn render_study(
        &self,
        study: &Study,
        results: &[WaveResult],
        analyses: &[Vec<AnalysisPage>],
        dir: &Path,
    ) -> Result<(), SiteError> {
        fs::create_dir_all(dir).map_err(io(dir))?;
        let summary = match &study.narrative.summary {
            Some(p) => Some(markdown::to_html(&fs::read_to_string(p).map_err(io(p))?)),
            None => None,
        };
        for (i, result) in results.iter().enumerate() {
            let wave = &study.waves[i];
            let notes = match study.narrative.waves.get(&wave.id) {
                Some(p) => Some(markdown::to_html(&fs::read_to_string(p).map_err(io(p))?)),
                None => None,
            };
            let prev = i.checked_sub(1).map(|j| (&study.waves[j], &results[j]));
            let pages = analyses.get(i).map(Vec::as_slice).unwrap_or(&[]);
            let html = self.render_wave(study, result, prev, summary.as_deref(), notes.as_deref(), pages)?;
            let wdir = dir.join(&wave.id);
            fs::create_dir_all(&wdir).map_err(io(&wdir))?;
            for page in pages {
                let html = self.render_analysis(study, &wave.id, page)?;
                fs::write(wdir.join(format!("{}.html", page.id)), html).map_err(io(&wdir))?;
            }
            fs::write(wdir.join("index.html"), html).map_err(io(&wdir))?;
            let json = serde_json::to_string_pretty(result).expect("results serialise");
            fs::write(wdir.join("results.json"), json).map_err(io(&wdir))?;
        }
        // Study landing page and `latest`.
        let mut ctx = self.study_context(study, "../");
        let rows: Vec<serde_json::Value> = study
            .waves
            .iter()
            .zip(results)
            .map(|(w, r)| {
                let idx = &r.series(INDEX_ID).expect("index series").values[0].score;
                serde_json::json!({
                    "href": format!("{}/index.html", w.id),
                    "label": study.text(&w.label),
                    "fieldwork": w.fieldwork,
                    "n": idx.n,
                    "score": score(idx),
                    "ci": interval(idx),
                })
            })
            .collect();
        ctx.insert("waves", &rows);
        ctx.insert("confidence", &percent(study.settings.confidence));
        let latest = study.waves.last().expect("validated: at least one wave");
        ctx.insert("latest_label", study.text(&latest.label));
        fs::write(dir.join("index.html"), self.theme.render("study.html", &ctx)?).map_err(io(dir))?;
        let ldir = dir.join("latest");
        fs::create_dir_all(&ldir).map_err(io(&ldir))?;
        let target = format!("../{}/index.html", latest.id);
        fs::write(
            ldir.join("index.html"),
            format!(
                "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><meta http-equiv=\"refresh\" content=\"0; url={target}\"><link rel=\"canonical\" href=\"{target}\"><title>{}</title></head>\n<body><p><a href=\"{target}\">{}</a></p></body></html>\n",
                tera::escape_html(study.text(&latest.label)),
                tera::escape_html(study.text(&latest.label))
            ),
        )
        .map_err(io(&ldir))?;
        let meta = serde_json::json!({
            "id": study.id,
            "title": study.text(&study.title),
            "waves": study.waves.iter().map(|w| &w.id).collect::<Vec<_>>(),
            "latest": latest.id,
        });
        fs::write(
            dir.join("study.json"),
            serde_json::to_string_pretty(&meta).expect("json"),
        )
        .map_err(io(dir))?;
        Ok(())
    }

    fn render_wave(
        &self,
        study: &Study,
        r: &WaveResult,
        prev: Option<(&csi_study::Wave, &WaveResult)>,
        summary: Option<&str>,
        notes: Option<&str>,
        analyses: &[AnalysisPage],
    ) -> Result<String, SiteError> {
        let lang = study.language.as_str();
        let t = text::strings(lang);
        let wave = study.waves.iter().find(|w| w.id == r.wave).expect("wave of study");
        let mut ctx = self.study_context(study, "../../");
        let index = r.series(INDEX_ID).expect("index series");
        let head = &index.values[0].score;

        // Headline and change against the previous wave.
        let mut headline = serde_json::json!({
            "label": study.text(&study.index_label),
            "score": score(head),
            "ci": interval(head),
            "n": head.n,
            "moe": head.margin_of_error().map(|m| format!("{m:.1}")),
        });
        if let Some((pw, pr)) = prev {
            let p = &pr.series(INDEX_ID).expect("index").values[0].score;
            if let (Some(a), Some(b)) = (head.mean, p.mean) {
                headline["change"] = signed(a - b).into();
                headline["change_class"] = (if (a - b).abs() < 0.05 {
                    "same"
                } else if a > b {
                    "up"
                } else {
                    "down"
                })
                .into();
                headline["prev_label"] = study.text(&pw.label).into();
            }
        }
        ctx.insert("headline", &headline);

        let benchmarks: Vec<serde_json::Value> = study
            .benchmarks
            .iter()
            .filter_map(|b| {
                let v = *b.values.get(&r.wave)?;
                let diff = head.mean.map(|m| m - v);
                Some(serde_json::json!({
                    "label": study.text(&b.label),
                    "kind": match b.kind { BenchmarkKind::Competitor => "competitor", BenchmarkKind::Industry => "industry" },
                    "value": format!("{v:.1}"),
                    "diff": diff.map(signed).unwrap_or_default(),
                    "class": diff.map(|d| if d >= 0.0 { "up" } else { "down" }).unwrap_or(""),
                }))
            })
            .collect();
        ctx.insert("benchmarks", &benchmarks);

        ctx.insert(
            "waves",
            &study
                .waves
                .iter()
                .map(|w| WaveLink {
                    id: w.id.clone(),
                    label: study.text(&w.label).to_string(),
                    href: format!("../{}/index.html", w.id),
                    current: w.id == r.wave,
                })
                .collect::<Vec<_>>(),
        );
        ctx.insert(
            "wave",
            &serde_json::json!({
                "id": wave.id,
                "label": study.text(&wave.label),
                "fieldwork": wave.fieldwork,
                "n_read": r.data.rows_read,
                "n_used": r.data.rows_used,
                "n_dropped": r.data.rows_read - r.data.rows_used,
                "weighted": r.weighted,
                "data_file": wave.data_as_written,
            }),
        );

        // The tree table: index, categories and indicators in order, then overall items.
        let mut tree = Vec::new();
        for s in &r.series {
            let v = &s.values[0];
            let node = &s.node;
            let gap = v.gap.as_ref().and_then(|g| g.mean);
            tree.push(TreeRow {
                id: node.id.clone(),
                label: study.text(&node.label).to_string(),
                label_other: node.label.other(lang).map(str::to_string),
                depth: node.depth,
                kind: match node.kind {
                    NodeKind::Index => "index",
                    NodeKind::Category => "category",
                    NodeKind::Indicator => "indicator",
                    NodeKind::Overall => "overall",
                },
                weight: if node.kind == NodeKind::Category || node.kind == NodeKind::Indicator {
                    format!("{:.0}%", node.weight * 100.0)
                } else {
                    String::new()
                },
                unit: node.leaf.as_ref().and_then(|l| l.unit.clone()).map(|u| {
                    match v.raw.as_ref().and_then(|r| r.mean) {
                        Some(m) => format!("{u}; {} {m:.1} {u}", t["raw_mean"]),
                        None => u,
                    }
                }),
                score: score(&v.score),
                ci: interval(&v.score),
                n: v.score.n,
                low_base: v.low_base,
                top_box: share(&v.top_box),
                expectation: v.expectation.as_ref().map(score).unwrap_or_default(),
                gap: gap.map(signed).unwrap_or_default(),
                gap_class: match gap {
                    Some(g) if g < 0.0 => "gap-neg",
                    Some(_) => "gap-pos",
                    None => "",
                },
            });
        }
        ctx.insert("tree", &tree);

        // Chart: first-level categories with CIs, the index as reference line.
        let bars: Vec<chart::Bar> = index
            .node
            .children
            .iter()
            .filter_map(|&c| {
                let s = &r.series[c];
                let e = &s.values[0].score;
                // A category nobody answered has no bar (never a zero bar).
                Some(chart::Bar {
                    label: study.text(&s.node.label).to_string(),
                    value: e.mean?,
                    low: e.ci_low,
                    high: e.ci_high,
                })
            })
            .collect();
        let title = format!("{} · {}", t["categories"], study.text(&wave.label));
        let svg = chart::horizontal_bars(
            &bars,
            head.mean.map(|m| (study.text(&study.index_label), m)),
            self.theme.palette(),
        )
        .map_err(SiteError::Chart)?;
        let alt = bars
            .iter()
            .map(|b| format!("{} {:.1}", b.label, b.value))
            .collect::<Vec<_>>()
            .join("; ");
        ctx.insert("chart_svg", &accessible_svg(&svg, &title, &alt));
        ctx.insert("chart_caption", &format!("{}. {}", title, t["chart_note"]));

        // Segments: the index per group.
        let segments: Vec<serde_json::Value> = study
            .segments
            .iter()
            .map(|seg| {
                let groups: Vec<serde_json::Value> = r
                    .cells
                    .iter()
                    .enumerate()
                    .filter(|(_, c)| c.segment.as_deref() == Some(seg.id.as_str()))
                    .map(|(ci, c)| {
                        let v = &index.values[ci];
                        serde_json::json!({
                            "label": study.text(&c.label),
                            "n": v.score.n,
                            "score": score(&v.score),
                            "ci": interval(&v.score),
                            "low_base": v.low_base,
                        })
                    })
                    .collect();
                serde_json::json!({ "label": study.text(&seg.label), "groups": groups })
            })
            .collect();
        ctx.insert("segments", &segments);
        ctx.insert("summary_html", &summary);
        ctx.insert("notes_html", &notes);
        ctx.insert("confidence", &percent(r.confidence));
        ctx.insert("low_base", &r.low_base);
        let issues: Vec<String> = r.data.issues.iter().map(|i| i.to_string()).collect();
        ctx.insert("data_issues", &issues);
        let links: Vec<serde_json::Value> = analyses
            .iter()
            .map(|a| {
                serde_json::json!({
                    "href": format!("{}.html", a.id),
                    "title": a.outcome.as_ref().ok().and_then(|r| r.title.clone()).unwrap_or_else(|| a.id.clone()),
                    "plugin": a.plugin,
                    "error": a.outcome.as_ref().err(),
                })
            })
            .collect();
        ctx.insert("analyses", &links);
        self.theme.render("wave.html", &ctx)
    }

    fn render_analysis(&self, study: &Study, wave_id: &str, page: &AnalysisPage) -> Result<String, SiteError> {
        let mut ctx = self.study_context(study, "../../");
        let wave = study.waves.iter().find(|w| w.id == wave_id).expect("wave of study");
        ctx.insert(
            "waves",
            &study
                .waves
                .iter()
                .map(|w| WaveLink {
                    id: w.id.clone(),
                    label: study.text(&w.label).to_string(),
                    href: format!("../{}/{}.html", w.id, page.id),
                    current: w.id == wave_id,
                })
                .collect::<Vec<_>>(),
        );
        ctx.insert("wave_label", study.text(&wave.label));
        ctx.insert("analysis_id", &page.id);
        ctx.insert("plugin", &page.plugin);
        ctx.insert("plugin_version", &page.plugin_version);
        match &page.outcome {
            Ok(report) => {
                ctx.insert("title", report.title.as_deref().unwrap_or(&page.id));
                ctx.insert("blocks_html", &blocks::render(report, self.theme.palette()));
                ctx.insert("error", &Option::<String>::None);
            }
            Err(e) => {
                ctx.insert("title", &page.id);
                ctx.insert("blocks_html", "");
                ctx.insert("error", &Some(e));
            }
        }
        self.theme.render("analysis.html", &ctx)
    }

    /// Rewrites `<out>/index.html` listing every study folder that has a `study.json`.
    pub fn write_index(&self) -> Result<(), SiteError> {
        let mut studies = Vec::new();
        let mut entries: Vec<PathBuf> = fs::read_dir(&self.out)
            .map_err(io(&self.out))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        entries.sort();
        for dir in entries {
            let meta = dir.join("study.json");
            if dir.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.')) || !meta.is_file() {
                continue;
            }
            let v: serde_json::Value = match fs::read_to_string(&meta)
                .ok()
                .and_then(|t| serde_json::from_str(&t).ok())
            {
                Some(v) => v,
                None => continue,
            };
            studies.push(serde_json::json!({
                "id": v["id"], "title": v["title"], "latest": v["latest"],
                "waves": v["waves"].as_array().map_or(0, Vec::len),
            }));
        }
        let mut ctx = self.base_context("en", "");
        ctx.insert("study", &serde_json::json!({ "title": "csi" }));
        ctx.insert("studies", &studies);
        let html = self.theme.render("index.html", &ctx)?;
        write_atomic(&self.out.join("index.html"), html.as_bytes())
    }
}

/// Adds a role, a title and a text alternative to an SVG chart.
pub(crate) fn accessible_svg(svg: &str, title: &str, alt: &str) -> String {
    let Some(end) = svg.find('>') else {
        return svg.to_string();
    };
    let (open, rest) = svg.split_at(end);
    format!(
        "{open} role=\"img\" aria-label=\"{}\"><title>{}</title><desc>{}</desc>{}",
        tera::escape_html(title),
        tera::escape_html(title),
        tera::escape_html(alt),
        &rest[1..]
    )
}

/// Writes `bytes` to `path` through a temporary file and a rename.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), SiteError> {
    let tmp = path.with_extension("csi-tmp");
    fs::write(&tmp, bytes).map_err(io(&tmp))?;
    fs::rename(&tmp, path).map_err(io(path))
}
