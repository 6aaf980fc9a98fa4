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
//! threshold are flagged, never hidden.
//!
//! Beside each segment table, its column comparisons ([`letters`]): every group
//! gets a letter, and each score lists the letters of the groups it is
//! significantly above — upper case at the study's confidence level, lower case at
//! a second, weaker level only — from the pairwise tests of each row, adjusted over
//! the row's pairs.
//!
//! A group × indicator heat map, coloured against the whole sample's score of each
//! indicator, and the weak cells: indicators where a group scores significantly
//! below the rest (a line saying there are none when there are none).

use csi_plugin_sdk::csi_blocks::wire::{NodeInfo, SegmentInfo};
use csi_plugin_sdk::csi_stats::difference::{independent, Difference};
use csi_plugin_sdk::csi_stats::multiple::Correction;
use csi_plugin_sdk::csi_stats::{Confidence, Estimate};
use csi_plugin_sdk::prelude::*;
use csi_plugin_sdk::words;

pub mod letters;

use letters::{Excluded, Rule};

/// The plugin.
#[derive(Default)]
pub struct Segments;

fn column(label: &str, kind: ColumnKind, decimals: u8) -> Column {
    Column::new(label, kind, decimals)
}

/// A significance level as the notes print it: two decimals, three when needed
/// (0.05, 0.10, 0.025).
fn share(x: f64) -> String {
    let three = format!("{x:.3}");
    match three.strip_suffix('0') {
        Some(two) => two.to_string(),
        None => three,
    }
}

/// A confidence level as a percentage: 95%, 97.5%.
fn percent(level: f64) -> String {
    let text = format!("{:.1}", level * 100.0);
    format!("{}%", text.strip_suffix(".0").unwrap_or(&text))
}

/// The column comparisons of one segment: each group's score of the index and of
/// each category in `series`, and beside it the letters of the groups it is
/// significantly above (`estimates[row][group]`). A line of text instead when the
/// segment has one group, or more groups than there are letters. Scores have the
/// study's `score` decimals.
fn column_comparisons(
    zh: bool,
    decimals: Decimals,
    seg: &SegmentInfo,
    series: &[&NodeInfo],
    estimates: &[Vec<Option<Estimate>>],
    rule: &Rule,
    p_word: &str,
) -> Block {
    let t = |a: &'static str, b: &'static str| if zh { a } else { b };
    let k = seg.groups.len();
    if k < 2 {
        return Block::Markdown {
            text: if zh {
                format!("{}：只有一组，没有可做列间比较的组。", seg.label)
            } else {
                format!("{}: a single group, so there are no column comparisons.", seg.label)
            },
        };
    }
    if k > letters::MAX_GROUPS {
        return Block::Markdown {
            text: if zh {
                format!(
                    "{}：共 {k} 组，列间比较（显著性字母）只对不超过 {} 组的细分维度给出。",
                    seg.label,
                    letters::MAX_GROUPS
                )
            } else {
                format!(
                    "{}: {k} groups; column comparisons (significance letters) are given for segments of at most {} groups.",
                    seg.label,
                    letters::MAX_GROUPS
                )
            },
        };
    }
    let higher = t("显著高于", "higher than");
    let mut columns = vec![column(t("指标", "Indicator"), ColumnKind::Text, 0)];
    for (i, g) in seg.groups.iter().enumerate() {
        columns.push(column(
            &format!("{} {}", letters::letter(i), g.label),
            ColumnKind::Number,
            decimals.score,
        ));
        columns.push(column(&format!("{} {higher}", letters::letter(i)), ColumnKind::Text, 0).shown_with_previous());
    }
    let results: Vec<_> = estimates.iter().map(|row| rule.row(row)).collect();
    let mut rows: Vec<Row> = series
        .iter()
        .zip(estimates)
        .zip(&results)
        .map(|((s, row), res)| {
            let mut cells = vec![Cell::Text(s.label.clone())];
            let mut flags = vec![vec![]];
            for (gi, e) in row.iter().enumerate() {
                cells.push(e.and_then(|e| e.mean).map_or(Cell::Empty(()), Cell::Number));
                flags.push(if res.excluded[gi] == Some(Excluded::LowBase) {
                    vec![Flag::LowBase]
                } else {
                    vec![]
                });
                let l = &res.letters[gi];
                cells.push(if l.is_empty() {
                    Cell::Empty(())
                } else {
                    Cell::Text(l.clone())
                });
                flags.push(vec![]);
            }
            Row { cells, flags }
        })
        .collect();

    let mut note = Vec::new();
    note.push(if zh {
        format!("每组以字母标示（见列标题）；得分后的字母表示该组得分显著高于这些字母所代表的组（下载的数据中为各组的“{higher}”列）。检验：两组加权平均分之差的 t 检验，不假定两组方差相等（Welch 检验）；各组是同一样本中互不重叠的部分，两组的标准误按独立样本合并，自由度按两组加权后的有效样本量计算。")
    } else {
        format!("Each group has a letter (in its column header); the letters after a score name the groups it scores significantly higher than (in the downloaded data, each group's “{higher}” column). Test: a t-test of the difference between two groups' weighted means that does not assume equal variances (Welch's test); the groups are non-overlapping parts of one sample, so their standard errors combine as independent, with degrees of freedom from the groups' effective bases after weighting.")
    });
    let (a1, c1) = (share(1.0 - rule.confidence), percent(rule.confidence));
    note.push(match (rule.second, zh) {
        (Some(second), true) => {
            let a2 = share(1.0 - second);
            format!(
                "大写字母：{p_word} < {a1}（{c1} 置信水平）；小写字母：{a1} ≤ {p_word} < {a2}（仅在 {} 置信水平显著）。",
                percent(second)
            )
        }
        (Some(second), false) => {
            let a2 = share(1.0 - second);
            format!(
                "Upper case: {p_word} < {a1} ({c1} confidence); lower case: {a1} ≤ {p_word} < {a2} (significant at {} only).",
                percent(second)
            )
        }
        (None, true) => format!("字母：{p_word} < {a1}（{c1} 置信水平）；不使用小写字母。"),
        (None, false) => format!("Letters: {p_word} < {a1} ({c1} confidence); no lower-case letters."),
    });
    let sizes: Vec<usize> = results.iter().map(|r| r.pairs.len()).collect();
    let (lo, hi) = (
        sizes.iter().copied().min().unwrap_or(0),
        sizes.iter().copied().max().unwrap_or(0),
    );
    let correction_text = words::correction(rule.correction, zh);
    note.push(match (hi, zh) {
        (0, true) => "本表没有可检验的组对。".to_string(),
        (0, false) => "No pair of groups could be tested.".to_string(),
        (_, true) => format!(
            "检验族：每行内参与检验的各组两两比较（本表每行 {} 项检验），{correction_text}。",
            if lo == hi {
                hi.to_string()
            } else {
                format!("{lo}–{hi}")
            }
        ),
        (_, false) => format!(
            "Family: all pairs of the tested groups within a row ({} tests per row), with {correction_text}.",
            if lo == hi {
                hi.to_string()
            } else {
                format!("{lo}–{hi}")
            }
        ),
    });
    // The groups not tested, with why and, when not in every row, where.
    let reason = |why: Excluded| match (why, zh) {
        (Excluded::NoScore, true) => "无得分".to_string(),
        (Excluded::NoScore, false) => "no score".to_string(),
        (Excluded::LowBase, true) => format!("样本量低于 {}", rule.low_base),
        (Excluded::LowBase, false) => format!("base under {}", rule.low_base),
        (Excluded::EffectiveBase, true) => format!("有效样本量低于 {}", letters::MIN_EFFECTIVE_BASE),
        (Excluded::EffectiveBase, false) => format!("effective base under {}", letters::MIN_EFFECTIVE_BASE),
    };
    let mut untested = Vec::new();
    for (gi, g) in seg.groups.iter().enumerate() {
        let mut why = Vec::new();
        for kind in [Excluded::NoScore, Excluded::LowBase, Excluded::EffectiveBase] {
            let rows: Vec<&str> = series
                .iter()
                .zip(&results)
                .filter(|(_, r)| r.excluded[gi] == Some(kind))
                .map(|(s, _)| s.label.as_str())
                .collect();
            if rows.is_empty() {
                continue;
            }
            why.push(if rows.len() == series.len() {
                reason(kind)
            } else if zh {
                format!("{}：{}", reason(kind), rows.join("、"))
            } else {
                format!("{}: {}", reason(kind), rows.join(", "))
            });
        }
        if !why.is_empty() {
            untested.push(if zh {
                format!("{} {}（{}）", letters::letter(gi), g.label, why.join("；"))
            } else {
                format!("{} {} ({})", letters::letter(gi), g.label, why.join("; "))
            });
        }
    }
    if !untested.is_empty() {
        note.push(if zh {
            format!("未检验、不标字母：{}。", untested.join("；"))
        } else {
            format!("Not tested, no letters: {}.", untested.join("; "))
        });
    }
    // A group higher than no other in any row has no letters column (an empty
    // column is left out), and the note says so.
    let empty: Vec<usize> = (0..k)
        .filter(|&gi| results.iter().all(|r| r.letters[gi].is_empty()))
        .collect();
    for &gi in empty.iter().rev() {
        columns.remove(2 + 2 * gi);
        for row in &mut rows {
            row.cells.remove(2 + 2 * gi);
            row.flags.remove(2 + 2 * gi);
        }
    }
    if !empty.is_empty() {
        let names: Vec<String> = empty
            .iter()
            .map(|&gi| format!("{} {}", letters::letter(gi), seg.groups[gi].label))
            .collect();
        note.push(match (empty.len() == k, zh) {
            (true, true) => "没有一组的得分显著高于另一组，表中没有字母。".to_string(),
            (true, false) => {
                "No group scores significantly higher than another, so the table has no letters.".to_string()
            }
            (false, true) => format!("{}的得分没有显著高于任何一组，其得分后没有字母。", names.join("、")),
            (false, false) => format!(
                "{}: significantly higher than no other group, so no letters after its scores.",
                names.join(", ")
            ),
        });
    }
    Block::Table(Table {
        title: format!(
            "{}{}",
            seg.label,
            t(
                "：列间比较（显著性字母）",
                ": column comparisons (significance letters)"
            )
        ),
        columns,
        rows,
        note: Some(note.join(if zh { "" } else { " " })),
    })
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
                OptionType::SegmentList,
                "Segments to analyse (default: all of the study's segments).",
                Some(serde_json::json!([])),
            )
            .option(
                "correction",
                OptionType::String,
                "Multiple-comparison adjustment within each segment table: none, bonferroni or benjamini_hochberg.",
                Some("bonferroni".into()),
            )
            .allowed("correction", ["none", "bonferroni", "benjamini_hochberg"])
            .option(
                "level",
                OptionType::Integer,
                "Depth of the categories shown beside the index (1 = first-level categories).",
                Some(1.into()),
            )
            .range("level", Some(1.0), None)
            .option(
                "letters_second_level",
                OptionType::Number,
                "Second confidence level of the column comparisons' significance letters: a pair of groups significantly different at this level but not at the study's confidence gets a lower-case letter. Must be below the study's confidence level; default 0.90 (with a study confidence of 0.90 or less: upper-case letters only).",
                None,
            )
    }

    fn run(&self, request: &Request, input: Input) -> Result<Report, String> {
        csi_plugin_sdk::tidy::tidied(request, self.analyse(request, input))
    }
}

impl Segments {
    /// The report, before [`csi_plugin_sdk::tidy::tidy`] leaves out empty columns and sets bold
    /// names tight in Chinese.
    fn analyse(&self, request: &Request, mut input: Input) -> Result<Report, String> {
        let zh = request.study.language.starts_with("zh");
        let t = |a: &'static str, b: &'static str| if zh { a } else { b };
        let stats = Statistics::read(&input.statistics_batches()?)?;
        let wave = request.wave.as_str();
        let decimals = request.study.decimals;
        let correction = words::correction_option(&request.options)?;
        let confidence = Confidence::new(request.study.confidence).map_err(|e| e.to_string())?;
        let alpha = 1.0 - request.study.confidence;
        let rule = Rule {
            confidence: request.study.confidence,
            second: letters::second_level(&request.options, request.study.confidence)?,
            low_base: request.study.low_base,
            correction,
        };
        // "adjusted p", or plain "p" when nothing is adjusted.
        let p_word = match (correction, zh) {
            (Correction::None, _) => "p",
            (_, true) => "校正后 p",
            (_, false) => "adjusted p",
        };
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
        // One colour scale for every heat map on the page: the largest distance of
        // a group's score from the whole sample's, at least 5 points.
        let heat_scale = segments
            .iter()
            .flat_map(|seg| seg.groups.iter())
            .flat_map(|g| indicators.iter().map(move |n| (g, n)))
            .filter_map(|(g, n)| {
                let all = stats.get(wave, "all", &n.id, "score")?.mean?;
                Some((stats.get(wave, &g.cell, &n.id, "score")?.mean? - all).abs())
            })
            .fold(5.0, f64::max);
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
            columns.extend(
                series
                    .iter()
                    .map(|s| column(&s.label, ColumnKind::Number, decimals.score)),
            );
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
                        "每组与其余受访者比较（两组加权平均分之差的 t 检验，不假定方差相等，自由度按加权后的有效样本量计算）；本表检验族为 {} 项检验{}，{}，箭头表示{p_word} < {}；样本量低于 {} 标记为低基数。",
                        family,
                        if mirrored.iter().any(|&m| m) {
                            "（两组且覆盖全部受访者：每项比较只计一次）"
                        } else {
                            ""
                        },
                        correction_text,
                        share(alpha),
                        request.study.low_base
                    )
                } else {
                    format!(
                        "Each group against the rest of the sample (t test of the difference of weighted means without assuming equal variances, degrees of freedom from the effective bases after weighting); this table's family is {} tests{}, with {}; arrows mark {p_word} < {}; bases under {} are flagged low.",
                        family,
                        if mirrored.iter().any(|&m| m) {
                            " (two groups that classify everyone: each comparison counted once)"
                        } else {
                            ""
                        },
                        correction_text,
                        share(alpha),
                        request.study.low_base
                    )
                }),
            }));
            // Column comparisons: the groups' scores with significance letters.
            let estimates: Vec<Vec<Option<Estimate>>> = series
                .iter()
                .map(|s| {
                    seg.groups
                        .iter()
                        .map(|g| stats.get(wave, &g.cell, &s.id, "score").copied().filter(|e| e.n > 0))
                        .collect()
                })
                .collect();
            blocks.push(column_comparisons(
                zh, decimals, seg, &series, &estimates, &rule, p_word,
            ));
            // The lowest group on the index among those that could be tested against
            // the rest, and whether it differs significantly; lower groups that could
            // not be tested (a base of one, no variance) are named as such.
            let lowest = seg
                .groups
                .iter()
                .enumerate()
                .filter(|(gi, _)| cells[gi * per].test.is_some())
                .filter_map(|(gi, _)| Some((gi, cells[gi * per].estimate?.mean?)))
                .min_by(|a, b| a.1.total_cmp(&b.1));
            let untested: Vec<String> = seg
                .groups
                .iter()
                .enumerate()
                .filter(|(gi, _)| cells[gi * per].test.is_none())
                .filter_map(|(gi, g)| {
                    let e = cells[gi * per].estimate?;
                    let mean = e.mean?;
                    lowest.is_none_or(|(_, low)| mean < low).then(|| {
                        if zh {
                            format!("{}（n = {}）", g.label, e.n)
                        } else {
                            format!("{} (n = {})", g.label, e.n)
                        }
                    })
                })
                .collect();
            let untested_note = if untested.is_empty() {
                String::new()
            } else if zh {
                format!(
                    "；{}的指数更低，但无法与其余受访者作检验，未纳入比较",
                    untested.join("、")
                )
            } else {
                format!(
                    "; {} score lower but cannot be tested against the rest, so are not compared",
                    untested.join(", ")
                )
            };
            match lowest {
                Some((gi, low)) => {
                    let c = &cells[gi * per];
                    let sig = c.adjusted < alpha;
                    let diff = c.test.map_or(0.0, |d| d.diff);
                    let low = words::fixed(low, decimals.score);
                    let size = words::fixed(diff.abs(), decimals.change);
                    let p = words::p_clause_with(c.adjusted, decimals.p).replacen('p', p_word, 1);
                    findings.push(if zh {
                        format!(
                            "- {}：**{}**的指数最低（{low}），比其余受访者{} {size} 分，{}（{p}）{untested_note}。",
                            seg.label,
                            seg.groups[gi].label,
                            if diff < 0.0 { "低" } else { "高" },
                            if sig { "差异显著" } else { "差异不显著" },
                        )
                    } else {
                        format!(
                            "- {}: **{}** has the lowest index ({low}), {size} points {} the rest of the sample, {} ({p}){untested_note}.",
                            seg.label,
                            seg.groups[gi].label,
                            if diff < 0.0 { "below" } else { "above" },
                            if sig { "a significant difference" } else { "not significant" },
                        )
                    });
                }
                None if !untested.is_empty() => findings.push(if zh {
                    format!("- {}：没有可与其余受访者作检验的组{untested_note}。", seg.label)
                } else {
                    format!(
                        "- {}: no group can be tested against the rest{untested_note}.",
                        seg.label
                    )
                }),
                None => {}
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
                    // Scores are direction-aligned (0–100, higher is better).
                    higher_is_better: vec![true; indicators.len()],
                    centre: indicators
                        .iter()
                        .map(|n| stats.get(wave, "all", &n.id, "score").and_then(|e| e.mean))
                        .collect(),
                    legend: Some([
                        t("低于全体（分）", "points below all respondents").to_string(),
                        t("高于全体（分）", "points above all respondents").to_string(),
                    ]),
                    scale: Some(heat_scale),
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
            if weak.is_empty() {
                blocks.push(Block::Markdown {
                    text: if zh {
                        format!(
                            "{}：没有薄弱环节，即没有哪一组在任何指标上显著低于其余受访者（{family} 项检验，{correction_text}，{p_word} < {}）。",
                            seg.label,
                            share(alpha)
                        )
                    } else {
                        format!(
                            "{}: no weak cells. No group scores significantly below the rest of the sample on any indicator ({correction_text} over {family} tests, {p_word} < {}).",
                            seg.label,
                            share(alpha)
                        )
                    },
                });
                continue;
            }
            let mut columns = vec![column(t("指标", "Indicator"), ColumnKind::Text, 0)];
            columns.extend(
                group_labels
                    .iter()
                    .map(|g| column(g, ColumnKind::Number, decimals.score)),
            );
            blocks.push(Block::Table(Table {
                title: format!("{}{}", seg.label, t("：薄弱环节（显著低于其余受访者）", ": weak cells (significantly below the rest)")),
                columns,
                rows: (0..indicators.len())
                    .filter(|&i| weak.iter().any(|&(wi, _)| wi == i))
                    .map(|i| {
                        let mut out = vec![Cell::Text(indicators[i].label.clone())];
                        let mut flags = vec![vec![]];
                        for g in 0..k {
                            let c = &cells[i * k + g];
                            out.push(values[i][g].map_or(Cell::Empty(()), Cell::Number));
                            // A weak-cells table marks only what is weak: cells
                            // significantly above the rest are shown plain here.
                            let mut f: Vec<Flag> = flags_of(c).into_iter().filter(|f| *f != Flag::SigUp).collect();
                            if weak.contains(&(i, g)) {
                                f.push(Flag::Weak);
                            }
                            flags.push(f);
                        }
                        Row { cells: out, flags }
                    })
                    .collect(),
                note: Some(if zh {
                    format!(
                        "薄弱环节：该组该指标得分显著低于其余受访者（{family} 项检验，{correction_text}，{p_word} < {}）。共 {} 个薄弱单元；只列出有薄弱单元的指标。",
                        share(alpha),
                        weak.len()
                    )
                } else {
                    format!(
                        "Weak: the group scores significantly below the rest of the sample on the indicator ({correction_text} over {family} tests, {p_word} < {}). {} weak cells; only indicators with a weak cell are listed.",
                        share(alpha),
                        weak.len()
                    )
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
