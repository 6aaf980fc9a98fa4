//! The standard gap analysis: where do we fall short of what customers expect?
//!
//! For every indicator with an expectation question, and every category above
//! them: expectation, performance and the gap = performance − expectation, on the
//! 0–100 scale and, for measures in their own unit (minutes, %), in that unit
//! too. The gap is **paired**: computed per respondent over those who answered
//! both, so its standard error accounts for the correlation between the two
//! answers. It is tested against zero (t test with Kish's effective size). The
//! largest significant shortfalls are named; indicators are grouped by SERVQUAL
//! dimension when the tree declares them; per segment (option `segments`) the
//! categories' gaps are shown for every group.

use csi_plugin_sdk::csi_blocks::wire::NodeInfo;
use csi_plugin_sdk::csi_stats::difference::{against, Difference};
use csi_plugin_sdk::csi_stats::{Confidence, Estimate};
use csi_plugin_sdk::prelude::*;

/// The plugin.
#[derive(Default)]
pub struct Gap;

fn column(label: &str, kind: ColumnKind, decimals: u8) -> Column {
    Column {
        label: label.to_string(),
        kind,
        decimals,
    }
}

/// One node's figures in one cell.
struct NodeGap<'a> {
    node: &'a NodeInfo,
    expectation: Option<Estimate>,
    performance: Option<Estimate>,
    gap: Estimate,
    test: Option<Difference>,
}

impl NodeGap<'_> {
    fn significant(&self, alpha: f64) -> bool {
        self.test.is_some_and(|t| t.p < alpha)
    }

    /// The gap in the measure's own unit (indicators with a `unit` only).
    fn in_unit(&self) -> Option<f64> {
        let [min, max] = self.node.scale?;
        self.node.unit.as_ref()?;
        let points = self.gap.mean?;
        let sign = if self.node.lower_is_better { -1.0 } else { 1.0 };
        Some(sign * points * (max - min) / 100.0)
    }
}

/// The figures of `node` in `cell`, if it has a gap there.
fn figures<'a>(
    stats: &Statistics,
    wave: &str,
    cell: &str,
    node: &'a NodeInfo,
    confidence: Confidence,
) -> Option<NodeGap<'a>> {
    let get = |m: &str| stats.get(wave, cell, &node.id, m).copied().filter(|e| e.n > 0);
    let gap = get("gap")?;
    Some(NodeGap {
        node,
        expectation: get("expectation"),
        performance: get("score"),
        test: against(&gap, 0.0, confidence),
        gap,
    })
}

impl Analysis for Gap {
    fn describe(&self) -> Description {
        Description::statistics()
            .option(
                "segments",
                OptionType::StringList,
                "Segments whose groups' category gaps are shown too.",
                Some(serde_json::json!([])),
            )
            .option(
                "top",
                OptionType::Number,
                "How many of the largest shortfalls the finding names.",
                Some(5.into()),
            )
    }

    fn run(&self, request: &Request, mut input: Input) -> Result<Report, String> {
        let zh = request.study.language.starts_with("zh");
        let t = |a: &'static str, b: &'static str| if zh { a } else { b };
        let stats = Statistics::read(&input.statistics_batches()?)?;
        let wave = request.wave.as_str();
        let confidence = Confidence::new(request.study.confidence).map_err(|e| e.to_string())?;
        let alpha = 1.0 - request.study.confidence;
        let low_base = request.study.low_base;
        let nodes = &request.study.nodes;

        let figures = |cell: &str, node| figures(&stats, wave, cell, node, confidence);
        let indicators: Vec<NodeGap> = nodes
            .iter()
            .filter(|n| n.kind == "indicator" && n.has_expectation)
            .filter_map(|n| figures("all", n))
            .collect();
        if indicators.is_empty() {
            return Err(t(
                "本期没有任何指标同时有期望与表现的回答：请在研究定义中为指标设置 `expectation` 列",
                "no indicator has both expectation and performance answers in this wave: give indicators an `expectation` column in the study",
            )
            .into());
        }
        let categories: Vec<NodeGap> = nodes
            .iter()
            .filter(|n| matches!(n.kind.as_str(), "index" | "category"))
            .filter_map(|n| figures("all", n))
            .collect();

        let mut blocks = Vec::new();
        // The largest significant shortfalls.
        let top = request
            .options
            .get("top")
            .and_then(|v| v.as_f64())
            .unwrap_or(5.0)
            .max(1.0) as usize;
        let mut short: Vec<&NodeGap> = indicators
            .iter()
            .filter(|g| g.significant(alpha) && g.gap.mean.is_some_and(|m| m < 0.0))
            .collect();
        short.sort_by(|a, b| a.gap.mean.unwrap_or(0.0).total_cmp(&b.gap.mean.unwrap_or(0.0)));
        let total_short = short.len();
        short.truncate(top);
        let names: Vec<String> = short
            .iter()
            .map(|g| {
                format!("**{}**（{:+.1}）", g.node.label, g.gap.mean.unwrap_or(0.0))
                    .replace("（", if zh { "（" } else { " (" })
                    .replace("）", if zh { "）" } else { ")" })
            })
            .collect();
        blocks.push(Block::Markdown {
            text: if names.is_empty() {
                t("没有指标的表现显著低于顾客期望。", "No indicator falls significantly short of customers' expectations.").into()
            } else if zh {
                format!(
                    "{} 项指标的表现显著低于期望；差距最大的是 {}。差距 = 表现 − 期望（0–100 分，逐个受访者配对计算）。",
                    total_short,
                    names.join("、")
                )
            } else {
                format!(
                    "{} indicators fall significantly short of expectations; the largest shortfalls are {}. Gap = performance − expectation (0–100 points, paired per respondent).",
                    total_short,
                    names.join(", ")
                )
            },
        });

        // Diverging bars, largest shortfall first.
        let mut ordered: Vec<&NodeGap> = indicators.iter().collect();
        ordered.sort_by(|a, b| a.gap.mean.unwrap_or(0.0).total_cmp(&b.gap.mean.unwrap_or(0.0)));
        blocks.push(Block::Chart(Chart {
            title: t(
                "各指标差距（表现 − 期望，分）",
                "Gap by indicator (performance − expectation, points)",
            )
            .into(),
            spec: ChartKind::DivergingBar {
                categories: ordered.iter().map(|g| g.node.label.clone()).collect(),
                series: vec![Series {
                    name: t("差距", "Gap").into(),
                    values: ordered.iter().map(|g| g.gap.mean).collect(),
                    low: ordered.iter().map(|g| g.gap.ci_low).collect(),
                    high: ordered.iter().map(|g| g.gap.ci_high).collect(),
                }],
            },
            alt: None,
        }));

        let with_unit = ordered.iter().any(|g| g.in_unit().is_some());
        let level = format!("{:.0}%", request.study.confidence * 100.0);
        let table = |title: String, rows: &[&NodeGap]| {
            let mut columns = vec![
                column(t("指标", "Node"), ColumnKind::Text, 0),
                column(t("期望", "Expectation"), ColumnKind::Number, 1),
                column(t("表现", "Performance"), ColumnKind::Number, 1),
                column(t("差距", "Gap"), ColumnKind::Number, 1),
                column(&format!("{level} {}", t("置信区间", "CI")), ColumnKind::Text, 0),
                column("p", ColumnKind::Text, 0),
                column("n", ColumnKind::Count, 0),
            ];
            if with_unit {
                columns.push(column(t("差距（原单位）", "Gap in own unit"), ColumnKind::Text, 0));
            }
            let rows = rows
                .iter()
                .map(|g| {
                    let mean = |e: &Option<Estimate>| e.and_then(|e| e.mean).map_or(Cell::Empty(()), Cell::Number);
                    let mut flags = vec![vec![]; 7];
                    if let (true, Some(m)) = (g.significant(alpha), g.gap.mean) {
                        flags[3].push(if m < 0.0 { Flag::SigDown } else { Flag::SigUp });
                    }
                    if g.gap.n < low_base {
                        flags[6].push(Flag::LowBase);
                    }
                    let mut cells = vec![
                        Cell::Text(g.node.label.clone()),
                        mean(&g.expectation),
                        mean(&g.performance),
                        g.gap.mean.map_or(Cell::Empty(()), Cell::Number),
                        match (g.gap.ci_low, g.gap.ci_high) {
                            (Some(l), Some(h)) => Cell::Text(format!("{l:+.1} – {h:+.1}")),
                            _ => Cell::Empty(()),
                        },
                        g.test.map_or(Cell::Empty(()), |d| {
                            Cell::Text(if d.p < 0.001 {
                                "<0.001".into()
                            } else {
                                format!("{:.3}", d.p)
                            })
                        }),
                        Cell::Number(g.gap.n as f64),
                    ];
                    if with_unit {
                        cells.push(match (g.in_unit(), &g.node.unit) {
                            (Some(v), Some(u)) => Cell::Text(format!("{v:+.2} {u}")),
                            _ => Cell::Empty(()),
                        });
                        flags.push(vec![]);
                    }
                    Row { cells, flags }
                })
                .collect();
            Block::Table(Table {
                title,
                columns,
                rows,
                note: Some(if zh {
                    "差距 = 表现 − 期望（0–100 分；方向已统一：正值好于期望）。逐个受访者配对计算，仅含两题均作答者（n）；p 为差距不等于 0 的 t 检验（有效样本量自由度）。原单位差距 = 表现 − 期望的原始值之差（越少越好的指标取负号后同向）。".to_string()
                } else {
                    "Gap = performance − expectation (0–100 points, direction-aligned: positive is better than expected), paired per respondent over those who answered both (n); p from a t test of the gap against 0 with effective-size df. In own unit: the same gap in the measure's unit (sign-flipped where lower is better, so positive is still better).".to_string()
                }),
            })
        };
        let category_rows: Vec<&NodeGap> = categories.iter().collect();
        blocks.push(table(
            t("类别与指数的差距", "Gaps of the index and categories").into(),
            &category_rows,
        ));
        blocks.push(table(
            t(
                "各指标差距（差距最大者在前）",
                "Gaps by indicator, largest shortfall first",
            )
            .into(),
            &ordered,
        ));

        // SERVQUAL dimensions: the average indicator gap per dimension.
        let mut dims: Vec<(String, Vec<f64>)> = Vec::new();
        for g in &indicators {
            if let (Some(d), Some(m)) = (&g.node.dimension, g.gap.mean) {
                match dims.iter_mut().find(|x| &x.0 == d) {
                    Some(x) => x.1.push(m),
                    None => dims.push((d.clone(), vec![m])),
                }
            }
        }
        if !dims.is_empty() {
            blocks.push(Block::Table(Table {
                title: t("按服务质量维度（SERVQUAL）", "By service-quality dimension (SERVQUAL)").into(),
                columns: vec![
                    column(t("维度", "Dimension"), ColumnKind::Text, 0),
                    column(t("平均差距", "Mean gap"), ColumnKind::Number, 1),
                    column(t("指标数", "Indicators"), ColumnKind::Count, 0),
                ],
                rows: dims
                    .iter()
                    .map(|(d, v)| Row {
                        cells: vec![
                            Cell::Text(d.clone()),
                            Cell::Number(v.iter().sum::<f64>() / v.len() as f64),
                            Cell::Number(v.len() as f64),
                        ],
                        flags: vec![],
                    })
                    .collect(),
                note: Some(
                    t(
                        "维度差距为该维度各指标差距的简单平均。",
                        "A dimension's gap is the simple mean of its indicators' gaps.",
                    )
                    .into(),
                ),
            }));
        }

        // Per segment group: the categories' gaps.
        let wanted: Vec<&str> = request
            .options
            .get("segments")
            .and_then(|v| v.as_array())
            .map(|a| a.iter().filter_map(|x| x.as_str()).collect())
            .unwrap_or_default();
        for w in &wanted {
            let Some(seg) = request.study.segments.iter().find(|s| s.id == *w) else {
                let known: Vec<&str> = request.study.segments.iter().map(|s| s.id.as_str()).collect();
                return Err(format!(
                    "segment `{w}` is not in the study (segments: {})",
                    known.join(", ")
                ));
            };
            let heads: Vec<&NodeInfo> = categories.iter().map(|c| c.node).collect();
            let mut columns = vec![column(t("组别", "Group"), ColumnKind::Text, 0)];
            columns.extend(heads.iter().map(|n| column(&n.label, ColumnKind::Number, 1)));
            let rows = seg
                .groups
                .iter()
                .map(|g| {
                    let mut cells = vec![Cell::Text(g.label.clone())];
                    let mut flags = vec![vec![]];
                    for n in &heads {
                        match figures(&g.cell, n) {
                            Some(f) => {
                                cells.push(f.gap.mean.map_or(Cell::Empty(()), Cell::Number));
                                let mut fl = Vec::new();
                                if let (true, Some(m)) = (f.significant(alpha), f.gap.mean) {
                                    fl.push(if m < 0.0 { Flag::SigDown } else { Flag::SigUp });
                                }
                                if f.gap.n < low_base {
                                    fl.push(Flag::LowBase);
                                }
                                flags.push(fl);
                            }
                            None => {
                                cells.push(Cell::Empty(()));
                                flags.push(vec![]);
                            }
                        }
                    }
                    Row { cells, flags }
                })
                .collect();
            blocks.push(Block::Table(Table {
                title: format!("{}{}", seg.label, t("：各组的差距", ": gaps by group")),
                columns,
                rows,
                note: Some(t("箭头：差距显著不等于 0（各单元分别检验，未做多重比较校正）。", "Arrows: gap significantly different from 0 (each cell tested on its own, no multiple-comparison adjustment).").into()),
            }));
        }
        Ok(Report {
            title: Some(t("差距分析（表现 − 期望）", "Gap analysis (performance − expectation)").into()),
            blocks,
        })
    }
}

csi_plugin_sdk::export_plugin!(
    Gap,
    name = "gap",
    version = env!("CARGO_PKG_VERSION"),
    description = "Performance minus expectation per indicator and category, paired, with significance"
);
