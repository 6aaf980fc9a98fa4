//! The standard gap analysis: where do we fall short of what customers expect?
//!
//! For every indicator with an expectation question, and every category above
//! them: expectation, performance and the gap = performance − expectation, on the
//! 0–100 scale and, for measures in their own unit (minutes, %), in that unit
//! too, in words that say which way is worse ("2.8 min longer than expected").
//! The three figures of a row share one base: the respondents who answered both
//! questions (for a category, the children each respondent answered both of), so
//! performance − expectation is the gap. The gap is **paired**, so its standard
//! error accounts for the correlation between the two answers. It is tested
//! against zero with Student's t on Kish's effective base, and the interval shown
//! is the one the test implies. Each table is one family of tests, adjusted for
//! multiple comparisons as option `correction` says (Bonferroni by default, with
//! simultaneous intervals); the table names the family. The largest significant
//! shortfalls are named; indicators are grouped by SERVQUAL dimension when the
//! tree declares them; per segment (option `segments`) the categories' gaps are
//! shown for every group: one row per category, one column per group.

use csi_plugin_sdk::csi_blocks::wire::NodeInfo;
use csi_plugin_sdk::csi_blocks::Interval;
use csi_plugin_sdk::csi_stats::difference::{against, Difference};
use csi_plugin_sdk::csi_stats::multiple::Correction;
use csi_plugin_sdk::csi_stats::{Confidence, Estimate};
use csi_plugin_sdk::prelude::*;
use csi_plugin_sdk::words;

/// The plugin.
#[derive(Default)]
pub struct Gap;

fn column(label: &str, kind: ColumnKind, decimals: u8) -> Column {
    Column::new(label, kind, decimals)
}

/// A column of gaps or differences: the page prints their signs.
fn signed(label: &str, decimals: u8) -> Column {
    column(label, ColumnKind::Number, decimals).signed()
}

/// The name of a dimension in the study's language: the five SERVQUAL dimensions
/// by their standard names (the study names them by id, e.g. `reliability`), any
/// other grouping as the study wrote it.
pub fn dimension_name(id: &str, zh: bool) -> String {
    let key = id.trim().to_lowercase().replace(['_', '-'], " ");
    let known = match key.as_str() {
        "tangibles" | "tangible" | "tangibility" => Some(("有形性", "Tangibles")),
        "reliability" => Some(("可靠性", "Reliability")),
        "responsiveness" => Some(("响应性", "Responsiveness")),
        "assurance" => Some(("保证性", "Assurance")),
        "empathy" => Some(("移情性", "Empathy")),
        _ => None,
    };
    match known {
        Some((z, e)) => (if zh { z } else { e }).to_string(),
        None => id.to_string(),
    }
}

/// One node's figures in one cell, all over the gap's base.
struct NodeGap<'a> {
    node: &'a NodeInfo,
    expectation: Option<Estimate>,
    performance: Option<Estimate>,
    /// The performance score over everyone who answered it (the overview's).
    performance_all: Option<Estimate>,
    gap: Estimate,
    test: Option<Difference>,
    /// The p-value adjusted within the table's family (filled per table).
    adjusted: f64,
    /// The interval at the table's level (simultaneous under Bonferroni).
    interval: Option<(f64, f64)>,
}

impl NodeGap<'_> {
    fn significant(&self, alpha: f64) -> bool {
        self.test.is_some() && self.adjusted < alpha
    }

    /// The gap in the measure's own unit, direction-aligned like the points
    /// (negative = worse than expected), for indicators with a `unit` only.
    fn in_unit(&self) -> Option<f64> {
        let [min, max] = self.node.scale?;
        self.node.unit.as_ref()?;
        Some(self.gap.mean? * (max - min) / 100.0)
    }

    /// The gap in the measure's own unit, in words: "2.8 min longer than
    /// expected" — the raw difference actual − expected with its direction named,
    /// so that a lower-is-better measure cannot be misread — with `decimals`
    /// decimals (the study's `change`, as the overview prints raw means).
    fn in_unit_words(&self, zh: bool, decimals: u8) -> Option<String> {
        let aligned = self.in_unit()?;
        let unit = self.node.unit.as_ref()?;
        // actual − expected in the raw unit: the aligned gap reversed where lower is better.
        let raw = if self.node.lower_is_better { -aligned } else { aligned };
        let size = words::fixed(raw.abs(), decimals);
        if size.bytes().all(|c| c == b'0' || c == b'.') {
            return Some(if zh {
                "与期望持平".into()
            } else {
                "as expected".into()
            });
        }
        let more = raw > 0.0;
        let worse = aligned < 0.0;
        Some(if zh {
            format!(
                "比期望{} {size} {unit}（{}）",
                if more { "多" } else { "少" },
                if worse { "较差" } else { "较好" }
            )
        } else {
            format!(
                "{size} {unit} {} than expected ({})",
                if more { "more" } else { "less" },
                if worse { "worse" } else { "better" }
            )
        })
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
    let test = against(&gap, 0.0, confidence);
    Some(NodeGap {
        node,
        expectation: get("expectation"),
        // Hosts before the paired base sent no `paired_score`.
        performance: get("paired_score").or_else(|| get("score")),
        performance_all: get("score"),
        interval: test.map(|d| (d.ci_low, d.ci_high)),
        adjusted: test.map_or(f64::NAN, |d| d.p),
        test,
        gap,
    })
}

/// Adjusts the tests of one table (a family) and sets each row's interval to
/// the one the adjusted test implies: simultaneous (level 1 − α/m) under
/// Bonferroni, per comparison otherwise. Returns the number of tests.
fn adjust(rows: &mut [NodeGap], correction: Correction, confidence: Confidence) -> usize {
    let p: Vec<f64> = rows.iter().map(|g| g.test.map_or(f64::NAN, |d| d.p)).collect();
    let m = p.iter().filter(|p| p.is_finite()).count();
    let level = match correction {
        Correction::Bonferroni if m > 1 => 1.0 - (1.0 - confidence.level()) / m as f64,
        _ => confidence.level(),
    };
    let at = Confidence::new(level).unwrap_or(confidence);
    for (g, a) in rows.iter_mut().zip(correction.adjust(&p)) {
        g.adjusted = a;
        g.interval = against(&g.gap, 0.0, at).map(|d| (d.ci_low, d.ci_high));
    }
    m
}

/// What a table's tests were adjusted by, in the study's language, with what
/// its intervals are.
fn correction_words(correction: Correction, zh: bool) -> String {
    let intervals = match (correction, zh) {
        (Correction::None, _) => "",
        (Correction::Bonferroni, true) => "（区间为联合区间）",
        (Correction::Bonferroni, false) => " (simultaneous intervals)",
        (Correction::BenjaminiHochberg, true) => "（区间未校正）",
        (Correction::BenjaminiHochberg, false) => " (intervals unadjusted)",
    };
    format!("{}{intervals}", words::correction(correction, zh))
}

impl Analysis for Gap {
    fn describe(&self) -> Description {
        Description::statistics()
            .option(
                "segments",
                OptionType::SegmentList,
                "Segments whose groups' category gaps are shown too.",
                Some(serde_json::json!([])),
            )
            .option(
                "top",
                OptionType::Integer,
                "How many of the largest shortfalls the finding names.",
                Some(5.into()),
            )
            .range("top", Some(1.0), None)
            .option(
                "correction",
                OptionType::String,
                "Multiple-comparison adjustment within each table: none, bonferroni or benjamini_hochberg.",
                Some("bonferroni".into()),
            )
            .allowed("correction", ["none", "bonferroni", "benjamini_hochberg"])
    }

    fn run(&self, request: &Request, input: Input) -> Result<Report, String> {
        csi_plugin_sdk::tidy::tidied(request, self.analyse(request, input))
    }
}

impl Gap {
    /// The report, before [`csi_plugin_sdk::tidy::tidy`] leaves out empty columns and sets bold
    /// names tight in Chinese.
    fn analyse(&self, request: &Request, mut input: Input) -> Result<Report, String> {
        let zh = request.study.language.starts_with("zh");
        let t = |a: &'static str, b: &'static str| if zh { a } else { b };
        let stats = Statistics::read(&input.statistics_batches()?)?;
        let wave = request.wave.as_str();
        let confidence = Confidence::new(request.study.confidence).map_err(|e| e.to_string())?;
        let alpha = 1.0 - request.study.confidence;
        let low_base = request.study.low_base;
        let decimals = request.study.decimals;
        let nodes = &request.study.nodes;
        let correction = words::correction_option(&request.options)?;
        let adjusted_by = correction_words(correction, zh);
        // Where no interval is shown (the finding, the segment tables), the
        // adjustment alone.
        let adjusted = words::correction(correction, zh);

        let figures = |cell: &str, node| figures(&stats, wave, cell, node, confidence);
        let mut indicators: Vec<NodeGap> = nodes
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
        let mut categories: Vec<NodeGap> = nodes
            .iter()
            .filter(|n| matches!(n.kind.as_str(), "index" | "category"))
            .filter_map(|n| figures("all", n))
            .collect();
        let indicator_tests = adjust(&mut indicators, correction, confidence);
        let category_tests = adjust(&mut categories, correction, confidence);

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
                format!(
                    "**{}**（{}）",
                    g.node.label,
                    words::signed(g.gap.mean.unwrap_or(0.0), decimals.change)
                )
                .replace("（", if zh { "（" } else { " (" })
                .replace("）", if zh { "）" } else { ")" })
            })
            .collect();
        blocks.push(Block::Markdown {
            text: if indicators.iter().all(|g| g.test.is_none()) {
                // No gap could be tested: saying "none is significant" would read as
                // a finding. Say why: too few respondents, or no variation.
                let few = indicators
                    .iter()
                    .filter(|g| g.gap.effective_n < csi_plugin_sdk::csi_stats::difference::MIN_EFFECTIVE_N)
                    .count();
                if few == indicators.len() {
                    t(
                        "**无法检验差距是否显著：样本太少**。每个指标同时回答了期望与表现的受访者都不足 2 位（或有效样本量不足 2），下表的差距只是描述，不能据此判断表现是否低于期望。",
                        "**The gaps cannot be tested: too few respondents.** No indicator has 2 or more respondents (or an effective base of 2) who answered both expectation and performance, so the gaps below describe this sample only and say nothing about whether performance falls short of expectations.",
                    )
                } else if few == 0 {
                    t(
                        "**无法检验差距是否显著：差距没有变化**。每个指标上所有受访者的差距都相同（标准误为零），t 检验无从计算；下表的差距只是描述。",
                        "**The gaps cannot be tested: they do not vary.** On every indicator each respondent's gap is the same (a standard error of zero), so no t test can be computed; the gaps below are a description only.",
                    )
                } else {
                    t(
                        "**无法检验差距是否显著**：有的指标同时回答了期望与表现的受访者不足 2 位，其余指标上所有受访者的差距都相同（标准误为零），t 检验无从计算；下表的差距只是描述。",
                        "**The gaps cannot be tested**: some indicators have fewer than 2 respondents who answered both expectation and performance, and on the others every respondent's gap is the same (a standard error of zero), so no t test can be computed; the gaps below are a description only.",
                    )
                }
                .into()
            } else if names.is_empty() {
                t("没有指标的表现显著低于顾客期望。", "No indicator falls significantly short of customers' expectations.").into()
            } else if zh {
                format!(
                    "{} 项指标的表现显著低于期望（{indicator_tests} 项检验，{adjusted}）；差距最大的是{}。差距 = 表现 − 期望（0–100 分，逐个受访者配对计算）。",
                    total_short,
                    names.join("、")
                )
            } else {
                format!(
                    "{} indicators fall significantly short of expectations ({indicator_tests} tests, {adjusted}); the largest shortfalls are {}. Gap = performance − expectation (0–100 points, paired per respondent).",
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
                    low: ordered.iter().map(|g| g.interval.map(|i| i.0)).collect(),
                    high: ordered.iter().map(|g| g.interval.map(|i| i.1)).collect(),
                    marked: Vec::new(),
                }],
            },
            alt: None,
        }));

        let level = format!("{:.0}%", request.study.confidence * 100.0);
        let table = |title: String, rows: &[&NodeGap], tests: usize| {
            // A unit column only where some row has a unit (indicators, not categories).
            let with_unit = rows.iter().any(|g| g.in_unit().is_some());
            let mut columns = vec![
                column(t("指标", "Node"), ColumnKind::Text, 0),
                column(t("期望", "Expectation"), ColumnKind::Number, decimals.score),
                column(t("表现", "Performance"), ColumnKind::Number, decimals.score),
                signed(t("差距", "Gap"), decimals.change),
                signed(&format!("{level} {}", t("置信区间", "CI")), decimals.change),
                column(
                    match correction {
                        Correction::None => "p",
                        _ => t("p（校正后）", "p (adjusted)"),
                    },
                    ColumnKind::PValue,
                    decimals.p,
                ),
                column("n", ColumnKind::Count, 0),
            ];
            if with_unit {
                columns.push(column(t("差距（原单位）", "Gap in own unit"), ColumnKind::Text, 0));
            }
            let rows_in = rows;
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
                        match g.interval {
                            Some((low, high)) => Cell::Interval(Interval { low, high }),
                            None => Cell::Empty(()),
                        },
                        match g.test {
                            Some(_) if g.adjusted.is_finite() => Cell::Number(g.adjusted),
                            _ => Cell::Empty(()),
                        },
                        Cell::Number(g.gap.n as f64),
                    ];
                    if with_unit {
                        let in_unit = g.in_unit_words(zh, decimals.change);
                        cells.push(in_unit.map_or(Cell::Empty(()), Cell::Text));
                        flags.push(vec![]);
                    }
                    Row { cells, flags }
                })
                .collect();
            Block::Table(Table {
                title,
                columns,
                rows,
                note: Some({
                    // Where the paired performance differs from the overview's score
                    // (some respondents skipped the expectation), say so in place.
                    let differs: Vec<&str> = rows_in
                        .iter()
                        .filter(|g| {
                            match (
                                g.performance.and_then(|e| e.mean),
                                g.performance_all.and_then(|e| e.mean),
                            ) {
                                // As displayed: the reader compares those.
                                (Some(a), Some(b)) => {
                                    words::fixed(a, decimals.score) != words::fixed(b, decimals.score)
                                }
                                _ => false,
                            }
                        })
                        .map(|g| g.node.label.as_str())
                        .collect();
                    let mut note = if zh {
                        format!("差距 = 表现 − 期望（0–100 分；方向已统一：正值好于期望，负值差于期望）。同一行的期望、表现与差距基于同一批受访者：两题均作答者（n；类别为每位受访者两题均作答的下级指标），因此表现 − 期望 = 差距（各数分别四舍五入，显示值相减可能差 0.1）。p 为差距不等于 0 的 t 检验（自由度按加权后的有效样本量），本表 {tests} 项检验，{adjusted_by}；区间即该检验对应的区间。")
                    } else {
                        format!("Gap = performance − expectation (0–100 points, direction-aligned: positive is better than expected, negative worse). The expectation, performance and gap of a row share one base: the respondents who answered both (n; for a category, the children each respondent answered both of), so performance − expectation = gap (each figure is rounded on its own, so the shown figures may differ by 0.1). p from a t test of the gap against 0 (degrees of freedom from the effective base after weighting); this table's {tests} tests with {adjusted_by}; the interval is the one the test implies.")
                    };
                    if with_unit {
                        note.push_str(t(
                            "原单位差距以文字标明多或少、较好或较差。",
                            " In own unit: the raw difference, with which way is worse named.",
                        ));
                    }
                    if !differs.is_empty() {
                        note.push_str(&if zh {
                            format!("表现一栏仅含也回答了期望的受访者，与概览中（全部回答表现者）的得分不同：{}。", differs.join("、"))
                        } else {
                            format!(" Performance here counts only respondents who also gave an expectation, so it differs from the overview's score (everyone who rated performance) for: {}.", differs.join(", "))
                        });
                    }
                    note
                }),
            })
        };
        let category_rows: Vec<&NodeGap> = categories.iter().collect();
        blocks.push(table(
            t("类别与指数的差距", "Gaps of the index and categories").into(),
            &category_rows,
            category_tests,
        ));
        blocks.push(table(
            t(
                "各指标差距（差距最大者在前）",
                "Gaps by indicator, largest shortfall first",
            )
            .into(),
            &ordered,
            indicator_tests,
        ));

        // SERVQUAL dimensions: the average indicator gap per dimension.
        // Grouped by the dimension's name, so `Reliability` and `reliability` are one.
        let mut dims: Vec<(String, Vec<f64>)> = Vec::new();
        for g in &indicators {
            if let (Some(d), Some(m)) = (&g.node.dimension, g.gap.mean) {
                let d = dimension_name(d, zh);
                match dims.iter_mut().find(|x| x.0 == d) {
                    Some(x) => x.1.push(m),
                    None => dims.push((d, vec![m])),
                }
            }
        }
        if !dims.is_empty() {
            blocks.push(Block::Table(Table {
                title: t("按服务质量维度", "By service-quality dimension").into(),
                columns: vec![
                    column(t("维度", "Dimension"), ColumnKind::Text, 0),
                    signed(t("平均差距", "Mean gap"), decimals.change),
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
                note: Some({
                    let mut note = t(
                        "维度差距为该维度各指标差距的简单平均。",
                        "A dimension's gap is the simple mean of its indicators' gaps.",
                    )
                    .to_string();
                    // Say what the dimensions leave out, so that the counts add up.
                    let with_gap = indicators.iter().filter(|g| g.gap.mean.is_some()).count();
                    let placed: usize = dims.iter().map(|d| d.1.len()).sum();
                    if placed < with_gap {
                        let rest = with_gap - placed;
                        note.push_str(&if zh {
                            format!("有差距的 {with_gap} 个指标中，{rest} 个未归入任何维度，不计入本表。")
                        } else {
                            format!(" Of the {with_gap} indicators with a gap, {rest} belong to no dimension and are not in this table.")
                        });
                    }
                    note
                }),
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
            // One row per category (the index first), one column per group: a long,
            // narrow table however many categories the tree has.
            let heads: Vec<&NodeInfo> = categories.iter().map(|c| c.node).collect();
            let mut columns = vec![column(t("类别", "Category"), ColumnKind::Text, 0)];
            columns.extend(seg.groups.iter().map(|g| signed(&g.label, decimals.change)));
            // The table's cells form one family of tests.
            let mut family: Vec<Option<NodeGap>> = Vec::new();
            for g in &seg.groups {
                for n in &heads {
                    family.push(figures(&g.cell, n));
                }
            }
            let slots: Vec<bool> = family.iter().map(Option::is_some).collect();
            let mut present: Vec<NodeGap> = family.into_iter().flatten().collect();
            let tests = adjust(&mut present, correction, confidence);
            let mut present = present.into_iter();
            let family: Vec<Option<NodeGap>> = slots.iter().map(|&s| if s { present.next() } else { None }).collect();
            let per = heads.len();
            let rows = heads
                .iter()
                .enumerate()
                .map(|(ni, n)| {
                    let mut cells = vec![Cell::Text(n.label.clone())];
                    let mut flags = vec![vec![]];
                    for f in (0..seg.groups.len()).map(|gi| &family[gi * per + ni]) {
                        match f {
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
            // Each group's base: its index gap's (the categories' are those who
            // answered both questions of some child, at most as many).
            let bases: Vec<String> = seg
                .groups
                .iter()
                .enumerate()
                .filter_map(|(gi, g)| {
                    let f = family[gi * per..(gi + 1) * per]
                        .iter()
                        .flatten()
                        .find(|f| f.node.kind == "index")?;
                    Some(format!("{} n = {}", g.label, f.gap.n))
                })
                .collect();
            let mut note = if zh {
                format!("各组的差距（表现 − 期望，0–100 分）。箭头：差距显著不等于 0（t 检验，自由度按加权后的有效样本量；本表 {tests} 项检验，{adjusted}）。")
            } else {
                format!("Each group's gaps (performance − expectation, 0–100 points). Arrows: gap significantly different from 0 (t test, degrees of freedom from the effective base after weighting; this table's {tests} tests with {adjusted}).")
            };
            if !bases.is_empty() {
                note.push_str(&if zh {
                    format!("基数（指数，两题均作答者）：{}；类别的基数可能更小，低于 {low_base} 的单元格标为低基数；空白表示该组无人作答。", bases.join("，"))
                } else {
                    format!(" Bases (the index, respondents who answered both): {}; a category's may be smaller, and cells under {low_base} are flagged low; blank where nobody in the group answered.", bases.join(", "))
                });
            }
            blocks.push(Block::Table(Table {
                title: format!("{}{}", seg.label, t("：各组的差距", ": gaps by group")),
                columns,
                rows,
                note: Some(note),
            }));
        }
        Ok(Report {
            overview: Vec::new(),
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
