//! Page models: the results of a wave (and the records of a study's published
//! waves) turned into display-ready values, rendered through the theme.
//!
//! A wave's pages depend only on that wave and the waves before it, never on later
//! ones: the version switcher lists the waves known when the page was built and a
//! small script extends it from the study's `versions.js`, so adding a wave leaves
//! every earlier page byte-identical.

use std::fs;
use std::path::Path;

use serde::Serialize;

use csi_engine::{Neighbour, NodeKind, WaveResult, INDEX_ID};
use csi_stats::{difference, Confidence};
use csi_study::{BenchmarkKind, Study};

use crate::downloads::{self, DataCell, DataTable};
use crate::provenance::Provenance;
use crate::{
    blocks, chart, chart_layouts, interval, io, markdown, percent, score, share, signed, text, AnalysisPage, SiteError,
    Theme,
};

/// The fixed file names of a wave's own pages.
const OVERVIEW: &str = "index.html";
const METHOD: &str = "method.html";
const DOWNLOADS: &str = "downloads.html";

#[derive(Serialize)]
struct TreeRow {
    id: String,
    label: String,
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
}

#[derive(Serialize)]
struct Link {
    href: String,
    label: String,
    current: bool,
}

fn base_context(theme: &Theme, generator: &str, lang: &str, root: &str) -> tera::Context {
    let mut ctx = tera::Context::new();
    ctx.insert("lang", lang);
    ctx.insert("root", root);
    ctx.insert("css", &format!("assets/{}", theme.stylesheet_name()));
    ctx.insert("script", &format!("assets/{}", theme.script_name()));
    ctx.insert("generator", generator);
    ctx.insert("t", &text::strings(lang));
    let brand = theme.brand();
    ctx.insert(
        "brand",
        &serde_json::json!({
            "title": brand.title.as_ref().map(|l| l.get(lang)),
            "publisher": brand.publisher.as_ref().map(|l| l.get(lang)),
            "logo": theme.logo_name().map(|n| format!("assets/{n}")),
        }),
    );
    ctx.insert("versions_js", &Option::<String>::None);
    ctx
}

fn study_json(study: &Study) -> serde_json::Value {
    serde_json::json!({
        "id": study.id,
        "title": study.text(&study.title),
        "client": study.client.as_ref().map(|c| study.text(c)),
        "description": study.description.as_ref().map(|d| study.text(d)),
        "index_label": study.text(&study.index_label),
    })
}

fn read_markdown(path: &Path) -> Result<String, SiteError> {
    Ok(markdown::to_html(&fs::read_to_string(path).map_err(io(path))?))
}

/// The pages of one wave.
pub(crate) struct WavePages<'a> {
    pub study: &'a Study,
    pub theme: &'a Theme,
    pub generator: &'a str,
    /// Results of every wave computed (at least up to `index`).
    pub results: &'a [WaveResult],
    /// Position of the wave in `study.waves`.
    pub index: usize,
    /// Its analysis outcomes.
    pub analyses: &'a [AnalysisPage],
}

impl WavePages<'_> {
    fn result(&self) -> &WaveResult {
        &self.results[self.index]
    }

    fn wave(&self) -> &csi_study::Wave {
        &self.study.waves[self.index]
    }

    /// The HTML pages of the wave, in tab order.
    pub fn page_files(&self) -> Vec<String> {
        let mut pages = vec![OVERVIEW.to_string()];
        pages.extend(self.analyses.iter().map(|a| format!("{}.html", a.id)));
        pages.push(METHOD.into());
        pages.push(DOWNLOADS.into());
        pages
    }

    /// The context every page of the wave shares: study, wave, version switcher and
    /// page tabs, for the page `page`.
    fn chrome(&self, page: &str) -> tera::Context {
        let study = self.study;
        let t = text::strings(&study.language);
        let mut ctx = base_context(self.theme, self.generator, &study.language, "../../");
        ctx.insert("study", &study_json(study));
        let wave = self.wave();
        ctx.insert(
            "wave",
            &serde_json::json!({
                "id": wave.id,
                "label": study.text(&wave.label),
                "fieldwork": wave.fieldwork,
            }),
        );
        // Waves known when this page is built: this one and the ones before it (the
        // last eight; the landing page lists all, the script offers all).
        let versions: Vec<Link> = study.waves[self.index.saturating_sub(7)..=self.index]
            .iter()
            .map(|w| Link {
                href: format!("../{}/{page}", w.id),
                label: study.text(&w.label).to_string(),
                current: w.id == wave.id,
            })
            .collect();
        ctx.insert("versions", &versions);
        ctx.insert("versions_js", &Some("../versions.js"));
        ctx.insert("page", page);
        let mut tabs = vec![Link {
            href: OVERVIEW.into(),
            label: t["overview"].into(),
            current: page == OVERVIEW,
        }];
        for a in self.analyses {
            let file = format!("{}.html", a.id);
            tabs.push(Link {
                label: analysis_title(a),
                current: page == file,
                href: file,
            });
        }
        for (file, key) in [(METHOD, "method"), (DOWNLOADS, "downloads")] {
            tabs.push(Link {
                href: file.into(),
                label: t[key].into(),
                current: page == file,
            });
        }
        ctx.insert("tabs", &tabs);
        ctx.insert("confidence", &percent(self.result().confidence));
        ctx
    }

    /// Writes every page, the downloads, `results.json` and `build.json` into `dir`.
    pub fn write(&self, dir: &Path, record: &Provenance) -> Result<(), SiteError> {
        let data_dir = dir.join("data");
        fs::create_dir_all(&data_dir).map_err(io(&data_dir))?;
        let mut tables = Vec::new();
        let overview = self.overview(&mut tables)?;
        fs::write(dir.join(OVERVIEW), overview).map_err(io(dir))?;
        for a in self.analyses {
            let html = self.analysis(a, &mut tables)?;
            let path = dir.join(format!("{}.html", a.id));
            fs::write(&path, html).map_err(io(&path))?;
        }
        let method = self.method(record, &mut tables)?;
        fs::write(dir.join(METHOD), method).map_err(io(dir))?;

        let study = self.study;
        let wave = self.wave();
        let workbook_name = format!("{}-{}.xlsx", study.id, wave.id);
        let title = format!("{} · {}", study.text(&study.title), study.text(&wave.label));
        for t in &tables {
            let path = data_dir.join(t.csv_name());
            fs::write(&path, t.to_csv()).map_err(io(&path))?;
        }
        let strings = text::strings(&study.language);
        let words = blocks::Words::from_strings(&strings);
        let book = downloads::workbook(&title, &tables, &words.downloads)?;
        fs::write(dir.join(&workbook_name), book).map_err(io(dir))?;

        let mut ctx = self.chrome(DOWNLOADS);
        ctx.insert("workbook", &workbook_name);
        let list: Vec<serde_json::Value> = tables
            .iter()
            .map(|t| serde_json::json!({"href": format!("data/{}", t.csv_name()), "file": t.csv_name(), "title": t.title, "rows": t.rows.len()}))
            .collect();
        ctx.insert("tables", &list);
        fs::write(dir.join(DOWNLOADS), self.theme.render("downloads.html", &ctx)?).map_err(io(dir))?;

        // Every figure of the wave, then every analysis's output (its blocks with the
        // unrounded values, or why it failed), keyed by the analysis id.
        let mut value = serde_json::to_value(self.result()).expect("results serialise");
        let analyses: serde_json::Map<String, serde_json::Value> = self
            .analyses
            .iter()
            .map(|a| {
                let outcome = match &a.outcome {
                    Ok(report) => serde_json::json!({"plugin": a.plugin, "report": report}),
                    Err(e) => serde_json::json!({"plugin": a.plugin, "error": e}),
                };
                (a.id.clone(), outcome)
            })
            .collect();
        if let Some(map) = value.as_object_mut() {
            map.insert("analyses".into(), analyses.into());
        }
        let json = serde_json::to_string_pretty(&value).expect("results serialise");
        fs::write(dir.join("results.json"), json + "\n").map_err(io(dir))?;
        let json = serde_json::to_string_pretty(record).expect("records serialise");
        fs::write(dir.join("build.json"), json + "\n").map_err(io(dir))?;
        Ok(())
    }

    fn overview(&self, tables: &mut Vec<DataTable>) -> Result<String, SiteError> {
        let study = self.study;
        let dec = &study.settings.decimals;
        let lang = study.language.as_str();
        let t = text::strings(lang);
        let r = self.result();
        let wave = self.wave();
        let mut ctx = self.chrome(OVERVIEW);
        let index = r.series(INDEX_ID).expect("index series");
        let head = &index.values[0].score;
        let confidence = Confidence::new(r.confidence).map_err(|e| SiteError::Chart(e.to_string()))?;

        // Headline and change against the previous wave, with its test.
        let mut headline = serde_json::json!({
            "label": study.text(&study.index_label),
            "score": score(head, dec),
            "ci": interval(head, dec),
            "n": head.n,
            "moe": head.margin_of_error().map(|m| format!("{m:.1}")),
        });
        if let Some(j) = self.index.checked_sub(1) {
            let pw = &study.waves[j];
            // Like for like: when questions were added or dropped, both waves'
            // indices on the questions they have in common.
            let (head, p, common) = match (
                r.comparable(INDEX_ID, Neighbour::Previous),
                self.results[j].comparable(INDEX_ID, Neighbour::Next),
            ) {
                (Some(now), Some(before)) => (&now.values[0], &before.values[0], Some(now.common_items)),
                _ => (
                    head,
                    &self.results[j].series(INDEX_ID).expect("index").values[0].score,
                    None,
                ),
            };
            if let Some(items) = common {
                headline["change_basis"] = t["change_common"].replace("{items}", &items.to_string()).into();
            }
            if let (Some(a), Some(b)) = (head.mean, p.mean) {
                headline["change"] = signed(a - b, dec).into();
                headline["prev_label"] = study.text(&pw.label).into();
                let test = difference::independent(head, p, confidence);
                let significant = test.as_ref().is_some_and(|d| d.p < 1.0 - r.confidence);
                headline["change_class"] = (if !significant {
                    "same"
                } else if a > b {
                    "up"
                } else {
                    "down"
                })
                .into();
                headline["change_test"] = match &test {
                    Some(d) => format!(
                        "{}{}p {}{}",
                        if significant {
                            t["significant"]
                        } else {
                            t["not_significant"]
                        },
                        t["paren_open"],
                        match csi_blocks::p_value_text(d.p) {
                            v if v.starts_with(['<', '>']) => v,
                            v => format!("= {v}"),
                        },
                        t["paren_close"]
                    ),
                    None => String::new(),
                }
                .into();
            }
        }
        ctx.insert("headline", &headline);

        // The executive overview: what the analyses offer to it, in the study's order.
        let words = blocks::Words::from_strings(&t);
        let offers: Vec<serde_json::Value> = self
            .analyses
            .iter()
            .filter_map(|a| {
                let report = a.outcome.as_ref().ok()?;
                (!report.overview.is_empty()).then(|| {
                    serde_json::json!({
                        "title": analysis_title(a),
                        "href": format!("{}.html", a.id),
                        "html": blocks::render_blocks(&report.overview, self.theme.palette(), &words),
                    })
                })
            })
            .collect();
        ctx.insert("offers", &offers);

        let mut bench_table = DataTable {
            file: "benchmarks".into(),
            title: t["benchmarks"].into(),
            columns: vec![t["benchmark"].into(), t["score"].into(), t["benchmark_lead"].into()],
            rows: vec![],
        };
        let benchmarks: Vec<serde_json::Value> = study
            .benchmarks
            .iter()
            .filter_map(|b| {
                let v = *b.values.get(&r.wave)?;
                let diff = head.mean.map(|m| m - v);
                bench_table.rows.push(vec![
                    DataCell::text(study.text(&b.label)),
                    DataCell::number(Some(v), 1),
                    DataCell::number(diff, 1),
                ]);
                Some(serde_json::json!({
                    "label": study.text(&b.label),
                    "kind": match b.kind { BenchmarkKind::Competitor => "competitor", BenchmarkKind::Industry => "industry" },
                    "value": super::fixed(v, dec.score),
                    "diff": diff.map(|x| signed(x, dec)).unwrap_or_default(),
                    "class": diff.map(|d| if d >= 0.0 { "up" } else { "down" }).unwrap_or(""),
                }))
            })
            .collect();
        ctx.insert("benchmarks", &benchmarks);

        // The tree table: index, categories and indicators in order, then overall items.
        // A bilingual study's other labels go to the download only (the page is in
        // the report's language).
        let bilingual = r.series.iter().any(|s| s.node.label.other(lang).is_some());
        let mut tree = Vec::new();
        let mut tree_table = DataTable {
            file: "index-tree".into(),
            title: t["tree"].into(),
            columns: [
                "id",
                t["indicator"],
                t["label_other"],
                t["level"],
                t["weight"],
                t["score"],
                t["ci_low"],
                t["ci_high"],
                "n",
                t["top_box"],
                t["expectation"],
                t["gap"],
            ]
            .iter()
            .map(|s| s.to_string())
            .collect(),
            rows: vec![],
        };
        if !bilingual {
            tree_table.columns.remove(2);
        }
        for s in &r.series {
            let v = &s.values[0];
            let node = &s.node;
            let gap = v.gap.as_ref().and_then(|g| g.mean);
            let weighted = node.kind == NodeKind::Category || node.kind == NodeKind::Indicator;
            let mut row = vec![
                DataCell::text(&node.id),
                DataCell::text(study.text(&node.label)),
                DataCell::text(node.label.other(lang).unwrap_or_default()),
                DataCell::number(Some(node.depth as f64), 0),
                DataCell::percent(weighted.then_some(node.weight), 0),
                DataCell::number(v.score.mean, 1),
                DataCell::number(v.score.ci_low, 1),
                DataCell::number(v.score.ci_high, 1),
                DataCell::number(Some(v.score.n as f64), 0),
                DataCell::percent(v.top_box.as_ref().and_then(|e| e.mean), 1),
                DataCell::number(v.expectation.as_ref().and_then(|e| e.mean), 1),
                DataCell::number(gap, 1),
            ];
            if !bilingual {
                row.remove(2);
            }
            tree_table.rows.push(row);
            tree.push(TreeRow {
                id: node.id.clone(),
                label: study.text(&node.label).to_string(),
                depth: node.depth,
                kind: match node.kind {
                    NodeKind::Index => "index",
                    NodeKind::Category => "category",
                    NodeKind::Indicator => "indicator",
                    NodeKind::Overall => "overall",
                },
                weight: if weighted {
                    format!("{:.0}%", node.weight * 100.0)
                } else {
                    String::new()
                },
                unit: node.leaf.as_ref().and_then(|l| l.unit.clone()).map(|u| {
                    match v.raw.as_ref().and_then(|r| r.mean) {
                        Some(m) => format!("{u}{}{} {m:.1} {u}", t["list_semicolon"], t["raw_mean"]),
                        None => u,
                    }
                }),
                score: score(&v.score, dec),
                ci: interval(&v.score, dec),
                n: v.score.n,
                low_base: v.low_base,
                top_box: share(&v.top_box, dec),
                expectation: v.expectation.as_ref().map(|e| score(e, dec)).unwrap_or_default(),
                gap: gap.map(|g| signed(g, dec)).unwrap_or_default(),
            });
        }
        ctx.insert("tree_low_base", &tree.iter().any(|r| r.low_base));
        // A dash is explained where it stands: nobody answered, or one person did
        // (no interval can be estimated from a single answer).
        ctx.insert("tree_no_answers", &tree.iter().any(|r| r.n == 0));
        ctx.insert("tree_no_interval", &tree.iter().any(|r| r.n == 1));
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
        let reference = head.mean.map(|m| (study.text(&study.index_label), m));
        let palette = self.theme.palette();
        let svg = chart::horizontal_bars(&bars, reference, palette, chart::Layout::Wide).map_err(SiteError::Chart)?;
        let narrow =
            chart::horizontal_bars(&bars, reference, palette, chart::Layout::Narrow).map_err(SiteError::Chart)?;
        let print =
            chart::horizontal_bars(&bars, reference, palette, chart::Layout::Print).map_err(SiteError::Chart)?;
        let alt = bars
            .iter()
            .map(|b| format!("{} {:.1}", b.label, b.value))
            .collect::<Vec<_>>()
            .join("; ");
        ctx.insert("chart_svg", &chart_layouts(&svg, &narrow, &[print], &title, &alt));
        let axis_from = chart::bar_axis_min(&bars);
        let axis = if axis_from > 0.0 {
            t["axis_from"].replace("{from}", &format!("{axis_from:.0}"))
        } else {
            String::new()
        };
        ctx.insert(
            "chart_caption",
            &format!("{title}{}{}{axis}", t["sentence_sep"], t["chart_note"]),
        );

        // Segments: the index per group.
        let mut seg_table = DataTable {
            file: "segments".into(),
            title: t["segments"].into(),
            columns: vec![
                t["segment"].into(),
                t["group"].into(),
                "n".into(),
                study.text(&study.index_label).into(),
                t["ci_low"].into(),
                t["ci_high"].into(),
                t["low_base"].into(),
            ],
            rows: vec![],
        };
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
                        seg_table.rows.push(vec![
                            DataCell::text(study.text(&seg.label)),
                            DataCell::text(study.text(&c.label)),
                            DataCell::number(Some(v.score.n as f64), 0),
                            DataCell::number(v.score.mean, 1),
                            DataCell::number(v.score.ci_low, 1),
                            DataCell::number(v.score.ci_high, 1),
                            DataCell::text(if v.low_base { "†" } else { "" }),
                        ]);
                        serde_json::json!({
                            "label": study.text(&c.label),
                            "n": v.score.n,
                            "score": score(&v.score, dec),
                            "ci": interval(&v.score, dec),
                            "low_base": v.low_base,
                        })
                    })
                    .collect();
                serde_json::json!({ "label": study.text(&seg.label), "groups": groups })
            })
            .collect();
        ctx.insert("segments", &segments);

        let summary = study
            .narrative
            .waves
            .get(&wave.id)
            .map(|p| read_markdown(p))
            .transpose()?;
        ctx.insert("summary_html", &summary);
        let links: Vec<serde_json::Value> = self
            .analyses
            .iter()
            .map(|a| {
                serde_json::json!({
                    "href": format!("{}.html", a.id),
                    "title": analysis_title(a),
                    "plugin": a.plugin,
                    "error": a.outcome.as_ref().err(),
                })
            })
            .collect();
        ctx.insert("analyses", &links);
        ctx.insert("tree_csv", "data/index-tree.csv");
        ctx.insert(
            "segments_csv",
            &(!seg_table.rows.is_empty()).then_some("data/segments.csv"),
        );
        tables.push(tree_table);
        if !seg_table.rows.is_empty() {
            tables.push(seg_table);
        }
        if !bench_table.rows.is_empty() {
            tables.push(bench_table);
        }
        self.theme.render("wave.html", &ctx)
    }

    fn analysis(&self, page: &AnalysisPage, tables: &mut Vec<DataTable>) -> Result<String, SiteError> {
        let t = text::strings(&self.study.language);
        let mut ctx = self.chrome(&format!("{}.html", page.id));
        ctx.insert("analysis_id", &page.id);
        ctx.insert("plugin", &page.plugin);
        ctx.insert("plugin_version", &page.plugin_version);
        ctx.insert("title", &analysis_title(page));
        match &page.outcome {
            Ok(report) => {
                let words = blocks::Words::from_strings(&t);
                let (html, found) = blocks::render_with_downloads(report, self.theme.palette(), &page.id, &words);
                tables.extend(found);
                ctx.insert("blocks_html", &html);
                ctx.insert("error", &Option::<String>::None);
            }
            Err(e) => {
                ctx.insert("blocks_html", "");
                ctx.insert("error", &Some(e));
            }
        }
        self.theme.render("analysis.html", &ctx)
    }

    fn method(&self, record: &Provenance, tables: &mut Vec<DataTable>) -> Result<String, SiteError> {
        let study = self.study;
        let dec = &study.settings.decimals;
        let t = text::strings(&study.language);
        let r = self.result();
        let wave = self.wave();
        let mut ctx = self.chrome(METHOD);
        let confidence = Confidence::new(r.confidence).map_err(|e| SiteError::Chart(e.to_string()))?;
        let z = confidence.z();
        let index = r.series(INDEX_ID).expect("index series");
        let head = &index.values[0].score;
        ctx.insert(
            "sample",
            &serde_json::json!({
                "n_read": r.data.rows_read,
                "n_used": r.data.rows_used,
                "n_dropped": r.data.rows_read - r.data.rows_used,
                "data_file": wave.data_as_written,
                "data_encoding": wave.encoding.as_deref().filter(|e| *e != "UTF-8"),
                "data_rows": wave.filter.as_ref().map(csi_study::RowFilter::text),
                "data_sha256": record.inputs.data.sha256,
                "weighted": r.weighted,
                "effective_n": format!("{:.0}", head.effective_n),
                "deff": (head.effective_n > 0.0).then(|| format!("{:.2}", head.n as f64 / head.effective_n)),
            }),
        );

        // Base sizes and margins of error per cell (whole sample, then each group).
        let mut base_table = DataTable {
            file: "base-sizes".into(),
            title: t["bases"].into(),
            columns: vec![
                t["segment"].into(),
                t["group"].into(),
                "n".into(),
                t["effective_n"].into(),
                study.text(&study.index_label).into(),
                t["moe_index"].into(),
                t["moe_share"].into(),
            ],
            rows: vec![],
        };
        let mut bases = Vec::new();
        for (ci, cell) in r.cells.iter().enumerate() {
            let e = &index.values[ci].score;
            let segment = cell
                .segment
                .as_ref()
                .and_then(|id| study.segments.iter().find(|s| &s.id == id))
                .map(|s| study.text(&s.label).to_string())
                .unwrap_or_else(|| t["all"].to_string());
            // Largest margin of error of a share (at 50%), in percentage points, at the
            // effective base.
            let moe_share = (e.effective_n > 0.0).then(|| z * (0.25 / e.effective_n).sqrt() * 100.0 * r.design.fpc());
            base_table.rows.push(vec![
                DataCell::text(&segment),
                DataCell::text(study.text(&cell.label)),
                DataCell::number(Some(e.n as f64), 0),
                DataCell::number(Some(e.effective_n), 0),
                DataCell::number(e.mean, 1),
                DataCell::number(e.margin_of_error(), 1),
                DataCell::number(moe_share, 1),
            ]);
            bases.push(serde_json::json!({
                "segment": segment,
                "group": study.text(&cell.label),
                "n": e.n,
                "effective_n": format!("{:.0}", e.effective_n),
                "score": score(e, dec),
                "moe": e.margin_of_error().map(|m| format!("±{m:.1}")).unwrap_or_else(|| "–".into()),
                "moe_share": moe_share.map(|m| format!("±{m:.1}")).unwrap_or_else(|| "–".into()),
                "low_base": index.values[ci].low_base,
            }));
        }
        ctx.insert("bases", &bases);
        ctx.insert("bases_csv", "data/base-sizes.csv");
        tables.push(base_table);

        // The scales of the indicators asked in this wave, one row per distinct scale.
        let mut scales: Vec<(String, usize)> = Vec::new();
        for s in &r.series {
            let Some(leaf) = &s.node.leaf else { continue };
            if leaf.waves.as_ref().is_some_and(|w| !w.contains(&r.wave)) {
                continue;
            }
            let missing: Vec<String> = leaf.missing.iter().map(|m| format!("{m}")).collect();
            let sep = t["list_semicolon"];
            let line = format!(
                "{}–{}{}{}{}{}",
                leaf.min,
                leaf.max,
                leaf.unit.as_ref().map(|u| format!(" {u}")).unwrap_or_default(),
                if matches!(leaf.direction, csi_stats::Direction::LowerIsBetter) {
                    format!("{sep}{}", t["lower_better"])
                } else {
                    String::new()
                },
                if missing.is_empty() {
                    String::new()
                } else {
                    format!("{sep}{} {}", t["missing_codes"], missing.join(t["list_sep"]))
                },
                leaf.top_threshold
                    .map(|x| format!("{sep}{} ≥ {x}", t["top_box"]))
                    .unwrap_or_default(),
            );
            match scales.iter_mut().find(|(l, _)| *l == line) {
                Some((_, n)) => *n += 1,
                None => scales.push((line, 1)),
            }
        }
        let scales: Vec<serde_json::Value> = scales
            .into_iter()
            .map(|(line, n)| serde_json::json!({"scale": line, "indicators": n}))
            .collect();
        ctx.insert("scales", &scales);

        let analyses: Vec<serde_json::Value> = record
            .analyses
            .iter()
            .map(|a| {
                let title = self
                    .analyses
                    .iter()
                    .find(|p| p.id == a.id)
                    .map_or_else(|| a.id.clone(), analysis_title);
                serde_json::json!({
                    "id": a.id, "title": title, "plugin": a.plugin, "version": a.version,
                    "library_sha256": a.library_sha256,
                    "options": serde_json::to_string(&a.options).unwrap_or_default(),
                })
            })
            .collect();
        ctx.insert("analysis_records", &analyses);
        ctx.insert(
            "settings",
            &serde_json::json!({
                "confidence": percent(r.confidence),
                "z": format!("{z:.3}"),
                "low_base": r.low_base,
                "fpc": r.design.population.map(|population| serde_json::json!({
                    "n": r.design.n,
                    "population": format!("{population:.0}"),
                    "factor": format!("{:.4}", r.design.fpc()),
                })),
            }),
        );
        ctx.insert("record", record);
        let issues: Vec<String> = r.data.issues.iter().map(|i| i.to_string()).collect();
        ctx.insert("data_issues", &issues);
        self.theme.render("method.html", &ctx)
    }
}

fn analysis_title(a: &AnalysisPage) -> String {
    a.outcome
        .as_ref()
        .ok()
        .and_then(|r| r.title.clone())
        .unwrap_or_else(|| a.id.clone())
}

fn fmt_opt(x: Option<f64>, d: u8) -> String {
    x.map_or("–".into(), |v| super::fixed(v, d))
}

/// Writes the study's landing page, `versions.json`/`versions.js`, `study.json` and
/// `latest/` into `dir`, from the records of its waves (in study order).
pub(crate) fn write_study_pages(
    study: &Study,
    theme: &Theme,
    generator: &str,
    records: &[Provenance],
    dir: &Path,
) -> Result<(), SiteError> {
    let t = text::strings(&study.language);
    let dec = &study.settings.decimals;
    let mut ctx = base_context(theme, generator, &study.language, "../");
    ctx.insert("study", &study_json(study));
    let latest = study.waves.last().expect("validated: at least one wave");
    let latest_record = records.last().expect("one record per wave");

    let rows: Vec<serde_json::Value> = study
        .waves
        .iter()
        .zip(records)
        .map(|(w, rec)| {
            let h = rec.headline.as_ref();
            serde_json::json!({
                "href": format!("{}/index.html", w.id),
                "label": study.text(&w.label),
                "fieldwork": w.fieldwork,
                "n": h.map(|h| h.n),
                "score": fmt_opt(h.and_then(|h| h.score), dec.score),
                "ci": match h.map(|h| (h.ci_low, h.ci_high)) {
                    Some((Some(l), Some(u))) => format!("[{},\u{a0}{}]", super::fixed(l, dec.score), super::fixed(u, dec.score)),
                    _ => "–".into(),
                },
                "bench": study.benchmarks.iter().map(|b| fmt_opt(b.values.get(&w.id).copied(), dec.score)).collect::<Vec<_>>(),
            })
        })
        .collect();
    ctx.insert("waves", &rows);
    ctx.insert("confidence", &percent(study.settings.confidence));
    ctx.insert("latest_label", study.text(&latest.label));
    ctx.insert(
        "latest_score",
        &fmt_opt(latest_record.headline.as_ref().and_then(|h| h.score), dec.score),
    );

    // The index across waves, with its interval band and the benchmarks.
    let categories: Vec<String> = study.waves.iter().map(|w| study.text(&w.label).to_string()).collect();
    let get = |f: fn(&crate::provenance::Headline) -> Option<f64>| -> Vec<Option<f64>> {
        records.iter().map(|r| r.headline.as_ref().and_then(f)).collect()
    };
    let mut lines = vec![chart::Line {
        name: study.text(&study.index_label).to_string(),
        values: get(|h| h.score),
        low: get(|h| h.ci_low),
        high: get(|h| h.ci_high),
        marked: vec![],
    }];
    for b in &study.benchmarks {
        lines.push(chart::Line {
            name: study.text(&b.label).to_string(),
            values: study.waves.iter().map(|w| b.values.get(&w.id).copied()).collect(),
            low: vec![],
            high: vec![],
            marked: vec![],
        });
    }
    let title = format!("{} · {}", study.text(&study.index_label), t["trend"]);
    let svg = chart::line_chart(&categories, &lines, theme.palette(), chart::Layout::Wide).map_err(SiteError::Chart)?;
    let narrow =
        chart::line_chart(&categories, &lines, theme.palette(), chart::Layout::Narrow).map_err(SiteError::Chart)?;
    let print = match chart::line_chart_print_parts(&categories, &lines, theme.palette()) {
        Some(parts) => parts,
        None => vec![
            chart::line_chart(&categories, &lines, theme.palette(), chart::Layout::Print).map_err(SiteError::Chart)?,
        ],
    };
    let alt = lines
        .iter()
        .map(|l| {
            let vals: Vec<String> = categories
                .iter()
                .zip(&l.values)
                .map(|(c, v)| format!("{c} {}", fmt_opt(*v, dec.score)))
                .collect();
            format!("{}: {}", l.name, vals.join(", "))
        })
        .collect::<Vec<_>>()
        .join("; ");
    ctx.insert("trend_svg", &chart_layouts(&svg, &narrow, &print, &title, &alt));
    ctx.insert(
        "trend_caption",
        &format!("{title}{}{}", t["sentence_sep"], t["trend_note"]),
    );
    let bench_rows: Vec<serde_json::Value> = study
        .benchmarks
        .iter()
        .map(|b| serde_json::json!({ "label": study.text(&b.label) }))
        .collect();
    ctx.insert("bench_rows", &bench_rows);
    let about = study.narrative.summary.as_deref().map(read_markdown).transpose()?;
    ctx.insert("about_html", &about);
    let html = theme.render("study.html", &ctx)?;
    fs::write(dir.join("index.html"), html).map_err(io(dir))?;

    // The version list: every page of every wave, for the switcher.
    let versions = serde_json::json!({
        "study": study.id,
        "latest": latest.id,
        "waves": study.waves.iter().zip(records).map(|(w, r)| serde_json::json!({
            "id": w.id,
            "label": study.text(&w.label),
            "fieldwork": w.fieldwork,
            "pages": r.pages,
        })).collect::<Vec<_>>(),
        "newer": t["newer_wave"],
    });
    let json = serde_json::to_string_pretty(&versions).expect("json");
    fs::write(dir.join("versions.json"), format!("{json}\n")).map_err(io(dir))?;
    fs::write(dir.join("versions.js"), format!("window.CSI_VERSIONS = {json};\n")).map_err(io(dir))?;

    // `latest/`: one forwarding page per page of the newest wave.
    let ldir = dir.join("latest");
    fs::create_dir_all(&ldir).map_err(io(&ldir))?;
    let label = tera::escape_html(study.text(&latest.label));
    for page in &latest_record.pages {
        let target = format!("../{}/{page}", latest.id);
        fs::write(
            ldir.join(page),
            format!(
                "<!DOCTYPE html>\n<html lang=\"{}\"><head><meta charset=\"utf-8\"><meta http-equiv=\"refresh\" content=\"0; url={target}\"><link rel=\"canonical\" href=\"{target}\"><title>{label}</title></head>\n<body><p><a href=\"{target}\">{label}</a></p></body></html>\n",
                tera::escape_html(&study.language)
            ),
        )
        .map_err(io(&ldir))?;
    }

    let meta = serde_json::json!({
        "id": study.id,
        "title": study.text(&study.title),
        "client": study.client.as_ref().map(|c| study.text(c)),
        "waves": study.waves.len(),
        "latest": latest.id,
        "latest_label": study.text(&latest.label),
        "latest_score": fmt_opt(latest_record.headline.as_ref().and_then(|h| h.score), dec.score),
        "language": study.language,
    });
    let json = serde_json::to_string_pretty(&meta).expect("json");
    fs::write(dir.join("study.json"), json + "\n").map_err(io(dir))?;
    Ok(())
}

/// The site index page, listing `studies` (their `study.json` records).
pub(crate) fn site_index(theme: &Theme, generator: &str, studies: &[serde_json::Value]) -> Result<String, SiteError> {
    // The index speaks the language most studies use.
    let zh = studies
        .iter()
        .filter(|s| s["language"].as_str().is_some_and(|l| l.starts_with("zh")))
        .count();
    let lang = if zh * 2 > studies.len() { "zh" } else { "en" };
    let mut ctx = base_context(theme, generator, lang, "");
    let title = theme.brand().title.as_ref().map_or_else(
        || text::strings(lang)["studies"].to_string(),
        |l| l.get(lang).to_string(),
    );
    ctx.insert("study", &serde_json::json!({ "title": title }));
    ctx.insert("studies", studies);
    theme.render("index.html", &ctx)
}
