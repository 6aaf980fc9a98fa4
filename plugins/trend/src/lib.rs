//! The standard trend analysis: are we getting better?
//!
//! For the analysed wave and every wave before it (the statistics table holds
//! them all): the index and each category with its confidence interval, the
//! change from the previous wave with a significance test for independent samples
//! (each wave is a new sample), the study's competitor and industry benchmarks
//! beside the index, and how the categories' importance for overall satisfaction
//! shifts from wave to wave (relative weights from each wave's co-moments, with
//! each wave's R² and bootstrap intervals from the host's random groups; a shift
//! is named only when both waves' R² is not negligible and the shift's interval
//! excludes zero). Questions not asked in a wave (added or dropped) are shown as
//! gaps and noted; a composite whose questions changed is compared like for like,
//! on the questions both waves asked (the host's `score_common_previous` /
//! `score_common_next`). The change tests of a table form one family, adjusted
//! as option `correction` says.

use csi_plugin_sdk::csi_blocks::Interval;
use csi_plugin_sdk::csi_stats::multiple::Correction;
use csi_plugin_sdk::csi_stats::Estimate;
use csi_plugin_sdk::prelude::*;
use csi_plugin_sdk::words::{fixed, signed as with_sign};

/// Bootstrap replicates of derived importance per wave.
pub const REPLICATES: usize = 1000;

/// Below this R² the drivers explain too little of the outcome for a shift in
/// their shares to mean anything.
pub const NEGLIGIBLE_R2: f64 = 0.05;

/// The plugin.
#[derive(Default)]
pub struct Trend;

/// Texts in the study's language, and the study's decimals for the numbers in them.
struct Words {
    zh: bool,
    decimals: Decimals,
}

impl Words {
    fn t<'a>(&self, zh: &'a str, en: &'a str) -> &'a str {
        if self.zh {
            zh
        } else {
            en
        }
    }
}

/// One series followed across waves.
struct Followed {
    id: String,
    label: String,
    /// Per wave of the history: the published estimate (`None`: not asked / no data).
    values: Vec<Option<Estimate>>,
    /// Per wave: the like-for-like pair for the change from the previous wave
    /// (previous wave on the common questions, this wave on them), when the
    /// series' questions differ between the two; a side is `None` when nobody
    /// answered the questions in common (then there is no comparable change).
    common: Vec<Option<(Option<Estimate>, Option<Estimate>)>>,
}

impl Followed {
    fn mean(&self, w: usize) -> Option<f64> {
        self.values[w].as_ref().and_then(|e| e.mean)
    }
}

fn column(label: &str, kind: ColumnKind, decimals: u8) -> Column {
    Column::new(label, kind, decimals)
}

/// A column of changes: the page prints their signs.
fn signed(label: &str, decimals: u8) -> Column {
    column(label, ColumnKind::Number, decimals).signed()
}

impl Analysis for Trend {
    fn describe(&self) -> Description {
        Description::statistics()
            .option(
                "level",
                OptionType::Integer,
                "Depth of the categories followed (1 = first-level categories).",
                Some(1.into()),
            )
            .range("level", Some(1.0), None)
            .option(
                "outcome",
                OptionType::Node,
                "The series whose drivers are followed (default: the first overall item, else the index).",
                Some("".into()),
            )
            .option(
                "cell",
                OptionType::Cell,
                "Which respondents: `all` or a segment group such as `customer_type=2`.",
                Some("all".into()),
            )
            .option(
                "correction",
                OptionType::String,
                "Multiple-comparison adjustment of the change tests: none, bonferroni or benjamini_hochberg.",
                Some("bonferroni".into()),
            )
            .allowed("correction", ["none", "bonferroni", "benjamini_hochberg"])
    }

    fn run(&self, request: &Request, input: Input) -> Result<Report, String> {
        csi_plugin_sdk::tidy::tidied(request, self.analyse(request, input))
    }
}

impl Trend {
    /// The report, before [`csi_plugin_sdk::tidy::tidy`] leaves out empty columns and sets bold
    /// names tight in Chinese.
    fn analyse(&self, request: &Request, mut input: Input) -> Result<Report, String> {
        let words = Words {
            zh: request.study.language.starts_with("zh"),
            decimals: request.study.decimals,
        };
        let stats = Statistics::read(&input.statistics_batches()?)?;
        let opt_str = |k: &str| {
            request
                .options
                .get(k)
                .and_then(|v| v.as_str())
                .unwrap_or("")
                .to_string()
        };
        let cell = match opt_str("cell") {
            c if c.is_empty() => "all".to_string(),
            c => c,
        };
        let level = request.options.get("level").and_then(|v| v.as_f64()).unwrap_or(1.0) as usize;

        // The history: the study's waves up to the analysed one, in order.
        let history: Vec<&csi_plugin_sdk::csi_blocks::wire::WaveInfo> = {
            let upto = request
                .study
                .waves
                .iter()
                .position(|w| w.id == request.wave)
                .ok_or_else(|| format!("wave `{}` is not in the study", request.wave))?;
            request.study.waves[..=upto]
                .iter()
                .filter(|w| stats.waves().contains(&w.id))
                .collect()
        };
        let wave_labels: Vec<String> = history.iter().map(|w| w.label.clone()).collect();
        let last = history.len() - 1;
        // A first wave has no trend to show: one line says so, instead of charts of a
        // single point and tables without a change.
        if last == 0 {
            let label = &wave_labels[0];
            let text = if words.zh {
                format!(
                    "{label}为本研究的首期，尚无趋势可比：从下一期起，本页比较各期的指数、各类别得分及其重要性的变化。"
                )
            } else {
                format!("{label} is the study's first wave, so there is no trend yet: from the next wave on, this page compares the index, the category scores and their importance across waves.")
            };
            return Ok(Report::new(
                words.t("趋势分析", "Trend"),
                vec![Block::Markdown { text }],
            ));
        }

        let get = |wave: &str, id: &str, m: &str| stats.get(wave, &cell, id, m).filter(|e| e.n > 0).copied();
        let follow = |id: &str, label: &str| Followed {
            id: id.to_string(),
            label: label.to_string(),
            values: history.iter().map(|w| get(&w.id, id, "score")).collect(),
            common: (0..history.len())
                .map(|w| {
                    let (before, now) = (&history[w.checked_sub(1)?].id, &history[w].id);
                    // The rows exist when the questions differ; a side without
                    // answers (no questions in common) leaves the change untested.
                    let exists = |wave: &str, m: &str| stats.get(wave, &cell, id, m).is_some();
                    (exists(before, "score_common_next") || exists(now, "score_common_previous")).then(|| {
                        (
                            get(before, id, "score_common_next"),
                            get(now, id, "score_common_previous"),
                        )
                    })
                })
                .collect(),
        };
        let correction = csi_plugin_sdk::words::correction_option(&request.options)?;
        let index_node = request
            .study
            .nodes
            .iter()
            .find(|n| n.kind == "index")
            .ok_or("the study has no index")?;
        let index = follow(&index_node.id, &index_node.label);
        if index.values.iter().all(Option::is_none) {
            return Err(format!("no index figures for `{cell}` in any wave"));
        }
        let categories: Vec<Followed> = request
            .study
            .nodes
            .iter()
            .filter(|n| n.kind != "overall" && n.depth == level.max(1))
            .map(|n| follow(&n.id, &n.label))
            .collect();

        let mut blocks = Vec::new();
        blocks.push(headline(&words, &index, &wave_labels, last, request.study.confidence));
        blocks.push(index_chart(
            &words,
            &index,
            &wave_labels,
            &history,
            &request.study.benchmarks,
            request.study.confidence,
        ));
        if !categories.is_empty() {
            blocks.push(category_chart(
                &words,
                &categories,
                &wave_labels,
                request.study.confidence,
                correction,
            ));
        }
        let mut all = vec![&index];
        all.extend(categories.iter());
        blocks.push(change_table(
            &words,
            &all,
            &wave_labels,
            request.study.low_base,
            request.study.confidence,
            correction,
        ));
        if let Some(b) = importance_blocks(&words, &stats, request, &cell, &categories, &history) {
            blocks.extend(b);
        }
        if let Some(note) = asked_note(&words, &all, &wave_labels) {
            blocks.push(Block::Markdown { text: note });
        }
        Ok(Report {
            overview: Vec::new(),
            title: Some(words.t("趋势分析", "Trend").into()),
            blocks,
        })
    }
}

/// A change from one wave to the next.
#[derive(Debug, Clone, Copy)]
struct Change {
    diff: f64,
    p: Option<f64>,
    /// Computed on the questions both waves asked (the series' questions changed).
    like_for_like: bool,
}

/// Change of `s` from wave `w - 1` to wave `w`, like for like when the series'
/// questions differ between the two waves.
fn change(s: &Followed, w: usize, confidence: f64) -> Option<Change> {
    if w == 0 {
        return None;
    }
    let (a, b, like_for_like) = match &s.common[w] {
        Some((Some(a), Some(b))) => (a, b, true),
        // The questions differ and have no answers in common: not comparable.
        Some(_) => return None,
        None => (s.values[w - 1].as_ref()?, s.values[w].as_ref()?, false),
    };
    Some(Change {
        diff: b.mean? - a.mean?,
        p: change_p_value(a, b, confidence),
        like_for_like,
    })
}

fn headline(words: &Words, index: &Followed, waves: &[String], last: usize, confidence: f64) -> Block {
    let value = index.mean(last).unwrap_or(f64::NAN);
    let d = words.decimals;
    let basis = |c: &Change| {
        if c.like_for_like {
            words.t("，按两期共同题目比较", ", on the questions both waves asked")
        } else {
            ""
        }
    };
    let note = match change(index, last, confidence) {
        Some(c @ Change { p: Some(p), .. }) => {
            let significance = if p < 1.0 - confidence {
                words.t("显著", "significant")
            } else {
                words.t("不显著", "not significant")
            };
            let p = csi_plugin_sdk::words::p_clause_with(p, d.p);
            Some(if words.zh {
                format!(
                    "较{} {}（{significance}，{p}{}）",
                    waves[last - 1],
                    with_sign(c.diff, d.change),
                    basis(&c)
                )
            } else {
                format!(
                    "vs {} ({}, {significance}, {p}{})",
                    with_sign(c.diff, d.change),
                    waves[last - 1],
                    basis(&c)
                )
            })
        }
        Some(c) => Some(if words.zh {
            format!(
                "较{} {}{}",
                waves[last - 1],
                with_sign(c.diff, d.change),
                if c.like_for_like {
                    "（按两期共同题目比较）"
                } else {
                    ""
                }
            )
        } else {
            format!("vs {} ({}{})", with_sign(c.diff, d.change), waves[last - 1], basis(&c))
        }),
        None => Some(
            words
                .t("首期：趋势自下一期起", "first wave: the trend starts with the next")
                .into(),
        ),
    };
    Block::Headline {
        label: format!("{} {}", index.label, waves[last]),
        value,
        decimals: d.score,
        note,
        signed: false,
    }
}

fn series_of(s: &Followed) -> Series {
    Series {
        name: s.label.clone(),
        values: (0..s.values.len()).map(|w| s.mean(w)).collect(),
        low: s.values.iter().map(|e| e.as_ref().and_then(|e| e.ci_low)).collect(),
        high: s.values.iter().map(|e| e.as_ref().and_then(|e| e.ci_high)).collect(),
        marked: Vec::new(),
    }
}

fn index_chart(
    words: &Words,
    index: &Followed,
    waves: &[String],
    history: &[&csi_plugin_sdk::csi_blocks::wire::WaveInfo],
    benchmarks: &[csi_plugin_sdk::csi_blocks::wire::BenchmarkInfo],
    confidence: f64,
) -> Block {
    // Ringed: a wave whose change from the previous one is significant (the index
    // tested on its own, as in the headline).
    let mut own = series_of(index);
    own.marked = (0..waves.len())
        .map(|w| {
            change(index, w, confidence)
                .and_then(|c| c.p)
                .is_some_and(|p| p < 1.0 - confidence)
        })
        .collect();
    let mut series = vec![own];
    for b in benchmarks {
        let values: Vec<Option<f64>> = history.iter().map(|w| b.values.get(&w.id).copied()).collect();
        if values.iter().any(Option::is_some) {
            series.push(Series {
                name: b.label.clone(),
                values,
                low: vec![],
                high: vec![],
                marked: Vec::new(),
            });
        }
    }
    Block::Chart(Chart {
        title: words
            .t(
                "满意度指数与基准（含置信区间；圈出的点：较上期变化显著）",
                "Index and benchmarks, with confidence band (ringed: a significant change from the previous wave)",
            )
            .into(),
        spec: ChartKind::Line {
            categories: waves.to_vec(),
            series,
        },
        alt: None,
    })
}

fn category_chart(
    words: &Words,
    categories: &[Followed],
    waves: &[String],
    confidence: f64,
    correction: Correction,
) -> Block {
    // Ringed: a category whose change into that wave is significant, the
    // categories' changes of one wave adjusted together as the change table does.
    let mut series: Vec<Series> = categories.iter().map(series_of).collect();
    for s in &mut series {
        s.marked = vec![false; waves.len()];
    }
    for w in 1..waves.len() {
        let raw: Vec<f64> = categories
            .iter()
            .map(|c| change(c, w, confidence).and_then(|c| c.p).unwrap_or(f64::NAN))
            .collect();
        let adjusted = correction.adjust(&raw);
        for (s, p) in series.iter_mut().zip(adjusted) {
            s.marked[w] = p.is_finite() && p < 1.0 - confidence;
        }
    }
    Block::Chart(Chart {
        title: words
            .t(
                "各类别得分趋势（圈出的点：较上期变化显著，按类别校正）",
                "Categories across waves (ringed: a significant change from the previous wave, adjusted over the categories)",
            )
            .into(),
        spec: ChartKind::Line {
            categories: waves.to_vec(),
            series,
        },
        alt: None,
    })
}

fn change_table(
    words: &Words,
    all: &[&Followed],
    waves: &[String],
    low_base: u64,
    confidence: f64,
    correction: Correction,
) -> Block {
    let last = waves.len() - 1;
    let alpha = 1.0 - confidence;
    let mut columns = vec![column(words.t("指标", "Series"), ColumnKind::Text, 0)];
    let d = words.decimals;
    columns.extend(waves.iter().map(|w| column(w, ColumnKind::Number, d.score)));
    if last > 0 {
        columns.push(signed(words.t("变化", "Change"), d.change));
        columns.push(column(
            match correction {
                Correction::None => "p",
                _ => words.t("p（类别已校正）", "p (categories adjusted)"),
            },
            ColumnKind::PValue,
            d.p,
        ));
    }
    let changes: Vec<Option<Change>> = all.iter().map(|s| change(s, last, confidence)).collect();
    let raw: Vec<f64> = changes
        .iter()
        .map(|c| c.and_then(|c| c.p).unwrap_or(f64::NAN))
        .collect();
    // The index (the first row) is the headline's test, read on its own as the
    // primary figure; the other rows' changes form the table's family.
    let mut family = raw.clone();
    family[0] = f64::NAN;
    let mut adjusted = correction.adjust(&family);
    adjusted[0] = raw[0];
    let tests = family.iter().filter(|p| p.is_finite()).count();
    let mut like_for_like = Vec::new();
    let mut not_comparable = Vec::new();
    let rows = all
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let mut label = s.label.clone();
            if changes[i].is_some_and(|c| c.like_for_like) {
                label.push_str(" ‡");
                like_for_like.push(s.label.as_str());
            } else if last > 0 && changes[i].is_none() && s.common[last].is_some() {
                label.push_str(" ‡");
                not_comparable.push(s.label.as_str());
            }
            let mut cells = vec![Cell::Text(label)];
            let mut flags = vec![vec![]];
            for w in 0..waves.len() {
                cells.push(s.mean(w).map_or(Cell::Empty(()), Cell::Number));
                flags.push(match &s.values[w] {
                    Some(e) if e.n < low_base => vec![Flag::LowBase],
                    _ => vec![],
                });
            }
            if last > 0 {
                let ch = changes[i];
                cells.push(ch.map_or(Cell::Empty(()), |c| Cell::Number(c.diff)));
                let p = adjusted[i];
                cells.push(if p.is_finite() {
                    Cell::Number(p)
                } else {
                    Cell::Empty(())
                });
                let sig = match ch {
                    Some(c) if p < alpha && c.diff > 0.0 => vec![Flag::SigUp],
                    Some(c) if p < alpha && c.diff < 0.0 => vec![Flag::SigDown],
                    _ => vec![],
                };
                flags.push(sig);
                flags.push(vec![]);
            }
            Row { cells, flags }
        })
        .collect();
    let adjusted_by = csi_plugin_sdk::words::correction(correction, words.zh);
    let mut note = if words.zh {
        format!("变化 = 本期 − 上期（由未经四舍五入的数值计算，可能与显示值之差相差 0.1）；p 值为两期加权平均分之差的 t 检验（各期为独立样本，不假定方差相等，自由度按加权后的有效样本量计算）。指数为首要指标，单独检验、不作校正（与页首一致）；其余 {tests} 项检验为一个检验族，{adjusted_by}；箭头表示在研究设定的置信水平下显著。")
    } else {
        format!("Change = this wave − previous wave (from the unrounded figures, so it may differ by 0.1 from the difference of the shown ones); p from a t test of the difference of two independent weighted means (each wave is a new sample; unequal variances, degrees of freedom from the effective bases after weighting). The index is the primary figure, tested on its own without adjustment (as in the headline); the other {tests} tests form this table's family, with {adjusted_by}; arrows mark significance at the study's confidence level.")
    };
    if !not_comparable.is_empty() {
        note.push_str(&if words.zh {
            format!(" ‡ {}的题目在两期之间完全不同（或共同题目无人作答），变化不可比，未计算也未检验。", not_comparable.join("、"))
        } else {
            format!(" ‡ The questions of {} changed between the two waves with none in common answered, so no comparable change is computed or tested.", not_comparable.join(", "))
        });
    }
    if !like_for_like.is_empty() {
        note.push_str(&if words.zh {
            format!(" ‡ 两期题目不同（有新增或删除）：{}的变化按两期都调查的题目计算，与表中各期公布的得分之差不同。", like_for_like.join("、"))
        } else {
            format!(" ‡ Questions differ between the two waves (added or dropped): the change of {} is computed like for like, on the questions both waves asked, so it is not the difference of the published scores.", like_for_like.join(", "))
        });
    }
    Block::Table(Table {
        title: words
            .t("各期得分与最近一期变化", "Scores by wave and the latest change")
            .into(),
        columns,
        rows,
        note: Some(note),
    })
}

/// Which questions were not asked (or have no answers) in some waves.
fn asked_note(words: &Words, all: &[&Followed], waves: &[String]) -> Option<String> {
    let mut lines = Vec::new();
    for s in all {
        let missing: Vec<&str> = (0..waves.len())
            .filter(|&w| s.values[w].is_none())
            .map(|w| waves[w].as_str())
            .collect();
        if !missing.is_empty() && missing.len() < waves.len() {
            lines.push(if words.zh {
                format!(
                    "- **{}**：以下各期无数据（未调查或新增）：{}",
                    s.label,
                    missing.join("、")
                )
            } else {
                format!(
                    "- **{}**: no figures in (not asked, or added later): {}",
                    s.label,
                    missing.join(", ")
                )
            });
        }
    }
    (!lines.is_empty()).then(|| lines.join("\n"))
}

/// A shift in importance (points) with its bootstrap interval, and the category.
type Move<'a> = (f64, Option<(f64, f64)>, &'a str);

/// One wave's derived importance: the shares of R² with bootstrap replicates.
struct Importance {
    shares: Vec<f64>,
    r2: f64,
    /// Bootstrap replicates of the shares (empty: no bootstrap for this cell).
    replicates: Vec<Vec<f64>>,
}

/// The `q` quantile of `xs` (sorted in place), by linear interpolation between
/// order statistics (numpy's default).
fn quantile(xs: &mut [f64], q: f64) -> f64 {
    xs.sort_by(f64::total_cmp);
    let h = (xs.len() - 1) as f64 * q;
    let (lo, hi) = (h.floor() as usize, h.ceil() as usize);
    xs[lo] + (h - lo as f64) * (xs[hi] - xs[lo])
}

/// Percentile interval of the replicates' values `f`, at `confidence`.
fn percentile_interval(values: impl Iterator<Item = f64>, confidence: f64) -> Option<(f64, f64)> {
    let mut v: Vec<f64> = values.collect();
    if v.len() < 20 {
        return None;
    }
    let a = (1.0 - confidence) / 2.0;
    Some((quantile(&mut v, a), quantile(&mut v, 1.0 - a)))
}

/// The importance of each category for the outcome in every wave, each wave's
/// R², bootstrap intervals, and a finding on the largest shifts when the
/// evidence supports one.
fn importance_blocks(
    words: &Words,
    stats: &Statistics,
    request: &Request,
    cell: &str,
    categories: &[Followed],
    history: &[&csi_plugin_sdk::csi_blocks::wire::WaveInfo],
) -> Option<Vec<Block>> {
    if categories.len() < 2 || history.len() < 2 {
        return None;
    }
    let outcome = match request.options.get("outcome").and_then(|v| v.as_str()) {
        Some(o) if !o.is_empty() => match request.study.nodes.iter().find(|n| n.id == o) {
            Some(n) => n,
            None => {
                let known: Vec<&str> = request
                    .study
                    .nodes
                    .iter()
                    .filter(|n| n.kind != "indicator")
                    .map(|n| n.id.as_str())
                    .collect();
                return Some(vec![Block::Markdown {
                    text: if words.zh {
                        format!("未分析驱动因素重要性的变化：研究中没有结果变量 `{o}`（可用：{}）", known.join("、"))
                    } else {
                        format!(
                            "Driver importance is not followed: the study has no outcome `{o}` ({})",
                            known.join(", ")
                        )
                    },
                }]);
            }
        },
        // Never the index by default: it is built from the categories themselves.
        _ => match request.study.nodes.iter().find(|n| n.kind == "overall") {
            Some(o) => o,
            None => {
                return Some(vec![Block::Markdown {
                    text: words
                        .t(
                            "未分析驱动因素重要性的变化：研究没有总体满意度题目，而指数由这些类别本身合成，以指数为结果会使 R² 人为偏高。请在 `outcome` 选项中指定结果变量。",
                            "Driver importance is not followed: the study has no overall-satisfaction item, and the index is built from these categories themselves, so regressing it on them would inflate R² by construction. Name the outcome with the `outcome` option.",
                        )
                        .into(),
                }])
            }
        },
    };
    let confidence = request.study.confidence;
    let ids: Vec<&str> = categories.iter().map(|c| c.id.as_str()).collect();
    let mut per_wave: Vec<Option<Importance>> = Vec::new();
    let mut notes = Vec::new();
    for wave in history {
        match importance(stats, &wave.id, cell, &outcome.id, &ids, false) {
            Ok(imp) => per_wave.push(Some(imp)),
            Err(e) => {
                notes.push(if words.zh {
                    format!("{}：{e}", wave.label)
                } else {
                    format!("{}: {e}", wave.label)
                });
                per_wave.push(None);
            }
        }
    }
    if per_wave.iter().all(Option::is_none) {
        return Some(vec![Block::Markdown {
            text: if words.zh {
                format!("无法计算驱动因素的重要性：{}", notes.join("；"))
            } else {
                format!("Driver importance could not be estimated: {}", notes.join("; "))
            },
        }]);
    }
    // The shift is read from the first to the last wave with figures; those two
    // are bootstrapped (the cost of a replicate is the same for every wave, and a
    // long history would otherwise multiply it).
    let first = per_wave.iter().position(Option::is_some)?;
    let last = per_wave.iter().rposition(Option::is_some)?;
    for w in [first, last] {
        if let Ok(imp) = importance(stats, &history[w].id, cell, &outcome.id, &ids, true) {
            per_wave[w] = Some(imp);
        }
    }
    let waves: Vec<String> = history.iter().map(|w| w.label.clone()).collect();
    let share = |c: usize, w: usize| per_wave[w].as_ref().map(|i| i.shares[c]);
    let series: Vec<Series> = (0..categories.len())
        .map(|c| {
            let interval = |w: usize| {
                per_wave[w]
                    .as_ref()
                    .and_then(|i| percentile_interval(i.replicates.iter().map(|r| r[c]), confidence))
            };
            Series {
                name: categories[c].label.clone(),
                values: (0..history.len()).map(|w| share(c, w).map(|x| x * 100.0)).collect(),
                low: (0..history.len()).map(|w| interval(w).map(|i| i.0 * 100.0)).collect(),
                high: (0..history.len()).map(|w| interval(w).map(|i| i.1 * 100.0)).collect(),
                marked: Vec::new(),
            }
        })
        .collect();

    // Shifts from the first to the last wave with figures, with the bootstrap
    // interval of the shift (the waves are independent samples, so replicate b of
    // one is paired with replicate b of the other).
    let (a, b) = (per_wave[first].as_ref()?, per_wave[last].as_ref()?);
    let level = format!("{:.0}%", confidence * 100.0);
    // Naming the largest fall or rise picks among all the categories' shifts, so
    // their intervals are simultaneous: Bonferroni over the categories.
    let reps = a.replicates.len().min(b.replicates.len());
    let family_level = 1.0 - (1.0 - confidence) / categories.len() as f64;
    let shifts: Vec<(f64, Option<(f64, f64)>)> = (0..categories.len())
        .map(|c| {
            let shift = (b.shares[c] - a.shares[c]) * 100.0;
            let interval = percentile_interval(
                (0..reps).map(|r| (b.replicates[r][c] - a.replicates[r][c]) * 100.0),
                family_level,
            );
            (shift, interval)
        })
        .collect();
    let family_text = format!("{:.1}%", family_level * 100.0);
    let d = words.decimals;
    let r2 = |x: f64| fixed(x, d.coefficient);
    let mut text: String;
    if first == last {
        text = words
            .t(
                "只有一期可估计重要性，无法比较变化。",
                "Only one wave's importance could be estimated, so no shift is reported.",
            )
            .into();
    } else if reps == 0 {
        text = if words.zh {
            format!(
                "{}的重要性没有自助法区间（{}），因此不判断重要性是否变化。",
                outcome.label,
                if cell == "all" {
                    "重抽样只为指数、一级类别与总体满意度题目保留"
                } else {
                    "重抽样只为全部受访者保留"
                }
            )
        } else {
            format!(
                "The importance for {} has no bootstrap intervals ({}), so no shift is claimed.",
                outcome.label,
                if cell == "all" {
                    "the host keeps random groups only for the index, the first-level categories and the overall items"
                } else {
                    "the host keeps random groups for all respondents only"
                }
            )
        };
    } else if a.r2 < NEGLIGIBLE_R2 || b.r2 < NEGLIGIBLE_R2 {
        text = if words.zh {
            format!("各类别对{}的解释力很弱（R² {} 为 {}，{} 为 {}，低于 {NEGLIGIBLE_R2}），重要性份额的变化没有实际意义，故不作解读。", outcome.label, waves[first], r2(a.r2), waves[last], r2(b.r2))
        } else {
            format!("The categories explain little of {} (R² {} in {} and {} in {}, below {NEGLIGIBLE_R2}), so shifts in their shares of it mean nothing and are not read.", outcome.label, r2(a.r2), waves[first], r2(b.r2), waves[last])
        };
    } else {
        let mut moves: Vec<Move> = (0..categories.len())
            .map(|c| (shifts[c].0, shifts[c].1, categories[c].label.as_str()))
            .collect();
        moves.sort_by(|x, y| x.0.total_cmp(&y.0));
        let clear = |m: &&Move| m.1.is_some_and(|(l, h)| l > 0.0 || h < 0.0);
        let fall = moves.first().filter(|m| m.0 < 0.0 && clear(m));
        let rise = moves.last().filter(|m| m.0 > 0.0 && clear(m));
        let describe = |m: &Move| {
            let (l, h) = m.1.unwrap_or((f64::NAN, f64::NAN));
            let [x, l, h] = [m.0, l, h].map(|v| with_sign(v, d.change));
            if words.zh {
                format!("**{}**（{x} 个百分点，{family_text} 区间 [{l}, {h}]）", m.2)
            } else {
                format!("**{}** {x} ({family_text} interval [{l}, {h}])", m.2)
            }
        };
        text = match (fall, rise, words.zh) {
            (None, None, true) => format!("{} → {}，各类别对{}的重要性变化均在自助法区间之内，没有可确认的变化。", waves[first], waves[last], outcome.label),
            (None, None, false) => format!("{} → {}: no category's importance for {} shifted beyond its bootstrap interval, so no shift is claimed.", waves[first], waves[last], outcome.label),
            (f, r, true) => format!(
                "{} → {}，对{}而言：{}；R² {} → {}。",
                waves[first],
                waves[last],
                outcome.label,
                [f.map(|m| format!("重要性下降最多的是{}", describe(m))), r.map(|m| format!("上升最多的是{}", describe(m)))]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join("；"),
                r2(a.r2),
                r2(b.r2)
            ),
            (f, r, false) => format!(
                "{} → {}, for {}: {} (points of the share of R²; R² {} → {}).",
                waves[first],
                waves[last],
                outcome.label,
                [f.map(|m| format!("the importance of {} fell most", describe(m))), r.map(|m| format!("{} rose most", describe(m)))]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join("; "),
                r2(a.r2),
                r2(b.r2)
            ),
        };
    }
    if !notes.is_empty() {
        text.push_str(&format!("\n\n{}", notes.join(words.t("；", "; "))));
    }
    let mut columns = vec![column(words.t("类别", "Category"), ColumnKind::Text, 0)];
    columns.extend(waves.iter().map(|w| column(w, ColumnKind::Percent, d.share)));
    let interval_word = words.t("区间", "interval");
    columns.push(column(
        &format!("{} {level} {interval_word}", waves[first]),
        ColumnKind::Percent,
        d.share,
    ));
    if last != first {
        columns.push(column(
            &format!("{} {level} {interval_word}", waves[last]),
            ColumnKind::Percent,
            d.share,
        ));
        columns.push(signed(
            &format!(
                "{} → {} {}",
                waves[first],
                waves[last],
                words.t("变化（百分点）", "shift (points)")
            ),
            d.change,
        ));
        columns.push(signed(&format!("{family_text} {interval_word}"), d.change));
        // In words, not an arrow: a shift in importance is neither better nor
        // worse, and the site colours arrows as better (blue) and worse (orange).
        columns.push(column(words.t("显著变化", "Significant shift"), ColumnKind::Text, 0));
    }
    // Intervals of shares: 0–1, like the shares beside them.
    let interval_cell = |c: usize, w: usize| -> Cell {
        per_wave[w]
            .as_ref()
            .and_then(|i| percentile_interval(i.replicates.iter().map(|r| r[c]), confidence))
            .map_or(Cell::Empty(()), |(low, high)| Cell::Interval(Interval { low, high }))
    };
    let rows: Vec<Row> = (0..categories.len())
        .map(|c| {
            let mut cells = vec![Cell::Text(categories[c].label.clone())];
            cells.extend((0..history.len()).map(|w| share(c, w).map_or(Cell::Empty(()), Cell::Number)));
            cells.push(interval_cell(c, first));
            if last != first {
                cells.push(interval_cell(c, last));
                cells.push(Cell::Number(shifts[c].0));
                cells.push(
                    shifts[c]
                        .1
                        .map_or(Cell::Empty(()), |(low, high)| Cell::Interval(Interval { low, high })),
                );
            }
            // A shift whose simultaneous interval excludes 0 (and whose waves' R² is
            // not negligible) is named: the ones the finding may name.
            if last != first {
                let supported = a.r2 >= NEGLIGIBLE_R2 && b.r2 >= NEGLIGIBLE_R2;
                cells.push(match (supported, shifts[c].1) {
                    (true, Some((l, _))) if l > 0.0 => Cell::Text(words.t("上升", "rose").into()),
                    (true, Some((_, h))) if h < 0.0 => Cell::Text(words.t("下降", "fell").into()),
                    _ => Cell::Empty(()),
                });
            }
            Row { cells, flags: vec![] }
        })
        .collect();
    // Each wave's R², a number in its own table (not a share of it).
    let r2_table = Table {
        title: words
            .t("各期模型 R²（各类别对结果变量的解释力）", "Model R² by wave")
            .into(),
        columns: vec![
            column(words.t("调查期", "Wave"), ColumnKind::Text, 0),
            column("R²", ColumnKind::Number, d.coefficient),
        ],
        rows: (0..history.len())
            .filter_map(|w| {
                let i = per_wave[w].as_ref()?;
                Some(Row {
                    cells: vec![Cell::Text(waves[w].clone()), Cell::Number(i.r2)],
                    flags: vec![],
                })
            })
            .collect(),
        note: Some(if words.zh {
            format!(
                "R²：各类别共同解释的{}方差比例（即相对权重所分解的模型）；低于 {NEGLIGIBLE_R2} 时不解读重要性的变化。",
                outcome.label
            )
        } else {
            format!("R²: the share of the variance of {} the categories explain together (the model of the relative weights); below {NEGLIGIBLE_R2} shifts in importance are not read.", outcome.label)
        }),
    };
    let bootstrapped = per_wave.iter().flatten().any(|i| !i.replicates.is_empty());
    // Replicates whose correlations were undefined (a constant score in the draw)
    // are left out; the note says how many were used.
    let used = [first, last]
        .iter()
        .filter_map(|&w| per_wave[w].as_ref().map(|i| i.replicates.len()))
        .min()
        .unwrap_or(0);
    let (used_zh, used_en) = if used == REPLICATES {
        (format!("{REPLICATES}"), format!("{REPLICATES}"))
    } else {
        (
            format!("{used}（共 {REPLICATES} 次，其余重抽样的相关系数无法定义）"),
            format!("{used} usable (of {REPLICATES}; the others had an undefined correlation)"),
        )
    };
    Some(vec![
        Block::Chart(Chart {
            title: format!(
                "{}{}",
                words.t("各类别对", "Importance of each category for "),
                if words.zh {
                    format!("{}的重要性（相对权重，%）", outcome.label)
                } else {
                    format!("{} (relative weights, % of R²)", outcome.label)
                }
            ),
            spec: ChartKind::Line {
                categories: waves.clone(),
                series,
            },
            alt: None,
        }),
        Block::Table(Table {
            title: words.t("驱动因素重要性的变化", "Driver importance by wave").into(),
            columns,
            rows,
            note: Some(if bootstrapped {
                if words.zh {
                    format!("重要性为相对权重（Johnson 法）：各类别在总体满意度解释力（R²）中所占的份额，由每期加权相关矩阵（成对完整样本）计算；区间由 {used_zh} 次重抽样（按受访者随机分组有放回抽取）得出：首期与最近一期为 {level} 区间；两者之间的变化为 {family_text}（按 {k} 个类别校正的联合区间，因为“下降/上升最多”是在所有类别中挑选）。“显著变化”列标出区间不含 0 的变化；文字结论只提这些变化，R² 低于 {NEGLIGIBLE_R2} 时不作结论。", k = categories.len())
                } else {
                    format!("Johnson's relative weights: each category's share of R², from each wave's weighted correlation matrix (pairwise complete); intervals are percentile intervals of {used_en} bootstrap replicates (random groups of respondents drawn with replacement): {level} for the first and latest wave; {family_text} for the shift between them (simultaneous, Bonferroni over the {k} categories, since “fell most” and “rose most” pick among them all). The “Significant shift” column names the shifts whose interval excludes 0; the finding names only those, and none when R² is below {NEGLIGIBLE_R2}.", k = categories.len())
                }
            } else if cell == "all" {
                words
                    .t(
                        "重要性为相对权重（Johnson 法）：各类别在总体满意度解释力（R²）中所占的份额。重抽样只为指数、一级类别与总体满意度题目保留，这些类别没有区间，也不判断变化。",
                        "Johnson's relative weights: each category's share of R². Resampling is kept only for the index, the first-level categories and the overall items, so these have no intervals and no shift is claimed.",
                    )
                    .into()
            } else {
                words
                    .t(
                        "重要性为相对权重（Johnson 法）：各类别在总体满意度解释力（R²）中所占的份额。重抽样只为全部受访者保留，该群体没有区间，也不判断变化。",
                        "Johnson's relative weights: each category's share of R². Resampling is kept for all respondents only, so this group has no intervals and no shift is claimed.",
                    )
                    .into()
            }),
        }),
        Block::Table(r2_table),
        Block::Markdown { text },
    ])
}

csi_plugin_sdk::export_plugin!(
    Trend,
    name = "trend",
    version = env!("CARGO_PKG_VERSION"),
    description = "The index and its categories wave over wave, with significance, benchmarks and driver shifts"
);

/// Two-sided p-value of the change between two waves (independent samples).
fn change_p_value(a: &Estimate, b: &Estimate, confidence: f64) -> Option<f64> {
    let conf = csi_plugin_sdk::csi_stats::Confidence::new(confidence).ok()?;
    csi_plugin_sdk::csi_stats::difference::independent(a, b, conf).map(|d| d.p)
}

/// Johnson's relative weights (shares of R²) of `predictors` for `outcome` in one
/// wave, from the pairwise-complete correlations of the statistics table, with
/// the bootstrap replicates when the cell has the host's random groups (`all`).
fn importance(
    stats: &Statistics,
    wave: &str,
    cell: &str,
    outcome: &str,
    predictors: &[&str],
    bootstrap: bool,
) -> Result<Importance, String> {
    let c = stats.correlations(wave, cell, predictors, outcome)?;
    let rw = csi_plugin_sdk::csi_stats::relweights::relative_weights(&c.r_xx, &c.r_xy).map_err(|e| e.to_string())?;
    let replicates = match (cell == "all" && bootstrap).then(|| stats.bootstrap(wave, predictors, outcome, REPLICATES))
    {
        Some(Ok(reps)) => reps
            .into_iter()
            .filter_map(|r| r.ok())
            .filter_map(|c| csi_plugin_sdk::csi_stats::relweights::relative_weights(&c.r_xx, &c.r_xy).ok())
            .map(|rw| rw.shares())
            .collect(),
        _ => Vec::new(),
    };
    Ok(Importance {
        shares: rw.shares(),
        r2: rw.r_squared,
        replicates,
    })
}
