//! The standard segment analysis: who is unhappy with what?
//!
//! For each segment (customer type, tenure cohort, region…), every group's index
//! and category scores with base sizes, each tested against **the rest of the
//! sample** — everyone in the wave not in that group, whose figures follow exactly
//! from the host's sums (`all` minus the group), a domain of the wave's sample
//! like the group itself — with a Welch-type test for independent weighted means
//! (disjoint domains of one with-replacement sample have no covariance). The
//! tests of one segment table form a family and are adjusted for multiple
//! comparisons as the study says (none, Bonferroni or Benjamini–Hochberg); the
//! table says which and how many tests it holds. In a segment of two groups that
//! classifies every respondent, "A against the rest" and "B against the rest" are
//! one comparison, counted once in the family. Groups below the study's low-base
//! threshold are flagged, never hidden. A group × indicator table and heat map
//! flag the weak cells: indicators where a group scores significantly below the
//! rest.

use csi_plugin_sdk::csi_stats::difference::{independent, Difference};
use csi_plugin_sdk::csi_stats::{Confidence, Estimate};
use csi_plugin_sdk::prelude::*;
use csi_plugin_sdk::words;

/// The plugin.
#[derive(Default)]
pub struct Segments;

fn column(label: &str, kind: ColumnKind, decimals: u8) -> Column {
    Column {
        label: label.to_string(),
        kind,
        decimals,
        signed: false,
    }
}

/// One tested cell: the group's figures and its comparison with the rest.
struct Tested {
    estimate: Option<Estimate>,
    test: Option<Difference>,
    /// Adjusted p-value (filled once the family is known).
    adjusted: f64,
    /// The rest of the sample is exactly another group of the segment (two
    /// groups classifying everyone): this comparison is that group's, mirrored.
    mirrors: bool,
}

impl Analysis for Segments {
    fn describe(&self) -> Description {
        Description::statistics()
            .option(
                "segments",
                OptionType::StringList,
                "Segments to analyse (default: all of the study's segments).",
                Some(serde_json::json!([])),
            )
            .option(
                "correction",
                OptionType::String,
                "Multiple-comparison adjustment within each segment table: none, bonferroni or benjamini_hochberg.",
                Some("bonferroni".into()),
            )
            .option(
                "level",
                OptionType::Number,
                "Depth of the categories shown beside the index (1 = first-level categories).",
                Some(1.into()),
            )
    }

    fn run(&self, request: &Request, mut input: Input) -> Result<Report, String> {
        let zh = request.study.language.starts_with("zh");
        let t = |a: &'static str, b: &'static str| if zh { a } else { b };
        let stats = Statistics::read(&input.statistics_batches()?)?;
        let wave = request.wave.as_str();
        let correction = words::correction_option(&request.options)?;
        let confidence = Confidence::new(request.study.confidence).map_err(|e| e.to_string())?;
        let alpha = 1.0 - request.study.confidence;
        let level = request
            .options
            .get("level")
            .and_then(|v| v.as_f64())
            .unwrap_or(1.0)
            .max(1.0) as usize;
        let wanted: Vec<String> = request
            .options
            .get("segments")
            .and_then(|v| v.as_array())
            .map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect())
            .unwrap_or_default();
        for w in &wanted {
            if !request.study.segments.iter().any(|s| &s.id == w) {
                let known: Vec<&str> = request.study.segments.iter().map(|s| s.id.as_str()).collect();
                return Err(format!(
                    "segment `{w}` is not in the study (segments: {})",
                    known.join(", ")
                ));
            }
        }
        let segments: Vec<_> = request
            .study
            .segments
            .iter()
            .filter(|s| wanted.is_empty() || wanted.contains(&s.id))
            .collect();
        if segments.is_empty() {
            return Err("the study defines no segments".into());
        }
        let index = request
            .study
            .nodes
            .iter()
            .find(|n| n.kind == "index")
            .ok_or("no index")?;
        let mut series: Vec<_> = vec![index];
        series.extend(
            request
                .study
                .nodes
                .iter()
                .filter(|n| n.kind == "category" && n.depth == level),
        );
        let indicators: Vec<_> = request.study.nodes.iter().filter(|n| n.kind == "indicator").collect();

        // Tests a group against the rest for one node's score.
        let test = |cell: &str, node: &str| -> Tested {
            let estimate = stats.get(wave, cell, node, "score").copied().filter(|e| e.n > 0);
            let rest = stats
                .moments(wave, "all", node, "score")
                .zip(stats.moments(wave, cell, node, "score"))
                .and_then(|(all, part)| all.without(&part).ok())
                .map(|m| stats.estimate(wave, &m, confidence));
            let test = estimate
                .as_ref()
                .zip(rest.as_ref())
                .and_then(|(g, r)| independent(r, g, confidence));
            Tested {
                estimate,
                test,
                adjusted: f64::NAN,
                mirrors: false,
            }
        };
        // Whether, for `node`, a two-group segment's groups together hold every
        // respondent with a score (then each group's rest is the other group).
        let complementary = |groups: &[csi_plugin_sdk::csi_blocks::wire::GroupInfo], node: &str| {
            let n = |cell: &str| stats.get(wave, cell, node, "score").map_or(0, |e| e.n);
            groups.len() == 2 && n(&groups[0].cell) + n(&groups[1].cell) == n("all")
        };
        // Adjusts a family; mirrored comparisons are not counted again and take
        // the adjusted p of the comparison they mirror (`twin[i]`).
        let adjust = |cells: &mut [Tested], twin: &dyn Fn(usize) -> Option<usize>| -> usize {
            for (i, c) in cells.iter_mut().enumerate() {
                c.mirrors = twin(i).is_some();
            }
            let p: Vec<f64> = cells
                .iter()
                .map(|c| {
                    if c.mirrors {
                        f64::NAN
                    } else {
                        c.test.map_or(f64::NAN, |d| d.p)
                    }
                })
                .collect();
            let adjusted = correction.adjust(&p);
            for (i, c) in cells.iter_mut().enumerate() {
                c.adjusted = adjusted[twin(i).unwrap_or(i)];
            }
            p.iter().filter(|p| p.is_finite()).count()
        };
        let flags_of = |c: &Tested| -> Vec<Flag> {
            let mut f = Vec::new();
            if let (Some(d), true) = (c.test, c.adjusted < alpha) {
                f.push(if d.diff > 0.0 { Flag::SigUp } else { Flag::SigDown });
            }
            if c.estimate.is_some_and(|e| e.n < request.study.low_base) {
                f.push(Flag::LowBase);
            }
            f
        };
        let correction_text = words::correction(correction, zh);

        let mut blocks = Vec::new();
        let mut findings = Vec::new();
        for seg in &segments {
            // Group × (index, categories).
            let mut cells: Vec<Tested> = Vec::new();
            for g in &seg.groups {
                for s in &series {
                    cells.push(test(&g.cell, &s.id));
                }
            }
            let per = series.len();
            let mirrored: Vec<bool> = series.iter().map(|s| complementary(&seg.groups, &s.id)).collect();
            let family = adjust(&mut cells, &|i| (i >= per && mirrored[i % per]).then(|| i - per));
            let mut columns = vec![
                column(t("组别", "Group"), ColumnKind::Text, 0),
                column("n", ColumnKind::Count, 0),
            ];
            columns.extend(series.iter().map(|s| column(&s.label, ColumnKind::Number, 1)));
            let rows: Vec<Row> = seg
                .groups
                .iter()
                .enumerate()
                .map(|(gi, g)| {
                    let row = &cells[gi * per..(gi + 1) * per];
                    let n = row[0].estimate.map_or(0, |e| e.n);
                    let mut out = vec![Cell::Text(g.label.clone()), Cell::Number(n as f64)];
                    let mut flags = vec![
                        vec![],
                        if n < request.study.low_base {
                            vec![Flag::LowBase]
                        } else {
                            vec![]
                        },
                    ];
                    for c in row {
                        out.push(c.estimate.and_then(|e| e.mean).map_or(Cell::Empty(()), Cell::Number));
                        flags.push(flags_of(c));
                    }
                    Row { cells: out, flags }
                })
                .collect();
            blocks.push(Block::Table(Table {
                title: format!("{}{}", seg.label, t("：指数与各类别得分", ": index and categories")),
                columns,
                rows,
                note: Some(if zh {
                    format!(
                        "每组与其余受访者比较（加权均值之差的 Welch 型检验，自由度按 Kish 有效样本量的 Welch–Satterthwaite 公式）；本表检验族为 {} 项检验{}，作 {}，箭头表示校正后 p < {alpha:.2}；样本量低于 {} 标记为低基数。",
                        family,
                        if mirrored.iter().any(|&m| m) {
                            "（两组且覆盖全部受访者：每项比较只计一次）"
                        } else {
                            ""
                        },
                        correction_text,
                        request.study.low_base
                    )
                } else {
                    format!(
                        "Each group against the rest of the sample (Welch-type test of weighted means, Welch–Satterthwaite df on Kish effective bases); this table's family is {} tests{}, with {}; arrows mark adjusted p < {alpha:.2}; bases under {} are flagged low.",
                        family,
                        if mirrored.iter().any(|&m| m) {
                            " (two groups that classify everyone: each comparison counted once)"
                        } else {
                            ""
                        },
                        correction_text,
                        request.study.low_base
                    )
                }),
            }));
            // The lowest group on the index, and whether it differs significantly.
            if let Some((gi, low)) = seg
                .groups
                .iter()
                .enumerate()
                .filter_map(|(gi, _)| Some((gi, cells[gi * per].estimate?.mean?)))
                .min_by(|a, b| a.1.total_cmp(&b.1))
            {
                let c = &cells[gi * per];
                let sig = c.adjusted < alpha;
                let diff = c.test.map_or(f64::NAN, |d| d.diff);
                findings.push(if zh {
                    format!(
                        "- {}：**{}** 的指数最低（{low:.1}），比其余受访者{} {:.1} 分，{}（校正后 {}）。",
                        seg.label,
                        seg.groups[gi].label,
                        if diff < 0.0 { "低" } else { "高" },
                        diff.abs(),
                        if sig { "差异显著" } else { "差异不显著" },
                        words::p_clause(c.adjusted)
                    )
                } else {
                    format!(
                        "- {}: **{}** has the lowest index ({low:.1}), {:.1} points {} the rest of the sample, {} (adjusted {}).",
                        seg.label,
                        seg.groups[gi].label,
                        diff.abs(),
                        if diff < 0.0 { "below" } else { "above" },
                        if sig { "a significant difference" } else { "not significant" },
                        words::p_clause(c.adjusted)
                    )
                });
            }

            // Indicator × group: weak cells are significantly below the rest.
            let mut cells: Vec<Tested> = Vec::new();
            for ind in &indicators {
                for g in &seg.groups {
                    cells.push(test(&g.cell, &ind.id));
                }
            }
            let k = seg.groups.len();
            let mirrored: Vec<bool> = indicators.iter().map(|n| complementary(&seg.groups, &n.id)).collect();
            let family = adjust(&mut cells, &|i| (i % k == 1 && mirrored[i / k]).then(|| i - 1));
            let values: Vec<Vec<Option<f64>>> = (0..indicators.len())
                .map(|i| (0..k).map(|g| cells[i * k + g].estimate.and_then(|e| e.mean)).collect())
                .collect();
            let group_labels: Vec<String> = seg.groups.iter().map(|g| g.label.clone()).collect();
            blocks.push(Block::Chart(Chart {
                title: format!("{}{}", seg.label, t(" × 指标得分", " × indicator scores")),
                spec: ChartKind::Heatmap {
                    rows: indicators.iter().map(|n| n.label.clone()).collect(),
                    columns: group_labels.clone(),
                    values: values.clone(),
                    higher_is_better: Vec::new(),
                    centre: Vec::new(),
                    legend: None,
                },
                alt: None,
            }));
            let weak: Vec<(usize, usize)> = (0..indicators.len())
                .flat_map(|i| (0..k).map(move |g| (i, g)))
                .filter(|&(i, g)| {
                    let c = &cells[i * k + g];
                    c.adjusted < alpha && c.test.is_some_and(|d| d.diff < 0.0)
                })
                .collect();
            let mut columns = vec![column(t("指标", "Indicator"), ColumnKind::Text, 0)];
            columns.extend(group_labels.iter().map(|g| column(g, ColumnKind::Number, 1)));
            blocks.push(Block::Table(Table {
                title: format!("{}{}", seg.label, t("：薄弱环节（显著低于其余受访者）", ": weak cells (significantly below the rest)")),
                columns,
                rows: (0..indicators.len())
                    .map(|i| {
                        let mut out = vec![Cell::Text(indicators[i].label.clone())];
                        let mut flags = vec![vec![]];
                        for g in 0..k {
                            let c = &cells[i * k + g];
                            out.push(values[i][g].map_or(Cell::Empty(()), Cell::Number));
                            let mut f = flags_of(c);
                            if weak.contains(&(i, g)) {
                                f.push(Flag::Weak);
                            }
                            flags.push(f);
                        }
                        Row { cells: out, flags }
                    })
                    .collect(),
                note: Some(if zh {
                    format!("薄弱 = 该组该指标得分显著低于其余受访者（本表 {family} 项检验作{correction_text}后 p < {alpha:.2}）。本表共 {} 个薄弱单元。", weak.len())
                } else {
                    format!("Weak = the group scores significantly below the rest of the sample on the indicator ({correction_text} over this table's {family} tests, adjusted p < {alpha:.2}). {} weak cells.", weak.len())
                }),
            }));
        }
        blocks.insert(
            0,
            Block::Markdown {
                text: format!(
                    "{}\n\n{}",
                    t(
                        "**各细分群体中指数最低的组：**",
                        "**The lowest group in each segment:**"
                    ),
                    findings.join("\n")
                ),
            },
        );
        Ok(Report {
            overview: Vec::new(),
            title: Some(t("细分群体分析", "Segments").into()),
            blocks,
        })
    }
}

csi_plugin_sdk::export_plugin!(
    Segments,
    name = "segment",
    version = env!("CARGO_PKG_VERSION"),
    description = "Index, categories and indicators per segment group against the rest, with corrected significance"
);
