//! The standard trend analysis: are we getting better?
//!
//! For the analysed wave and every wave before it (the statistics table holds
//! them all): the index and each category with its confidence interval, the
//! change from the previous wave with a significance test for independent samples
//! (each wave is a new sample), the study's competitor and industry benchmarks
//! beside the index, and how the categories' importance for overall satisfaction
//! shifts from wave to wave (relative weights from each wave's co-moments).
//! Questions not asked in a wave (added or dropped) are shown as gaps and noted.

use std::collections::BTreeMap;

use csi_plugin_sdk::csi_stats::Estimate;
use csi_plugin_sdk::prelude::*;

/// The plugin.
#[derive(Default)]
pub struct Trend;

/// Texts in the study's language.
struct Words {
    zh: bool,
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
}

impl Followed {
    fn mean(&self, w: usize) -> Option<f64> {
        self.values[w].as_ref().and_then(|e| e.mean)
    }
}

fn column(label: &str, kind: ColumnKind, decimals: u8) -> Column {
    Column {
        label: label.to_string(),
        kind,
        decimals,
    }
}

impl Analysis for Trend {
    fn describe(&self) -> Description {
        Description::statistics()
            .option(
                "level",
                OptionType::Number,
                "Depth of the categories followed (1 = first-level categories).",
                Some(1.into()),
            )
            .option(
                "outcome",
                OptionType::String,
                "The series whose drivers are followed (default: the first overall item, else the index).",
                Some("".into()),
            )
            .option(
                "cell",
                OptionType::String,
                "Which respondents: `all` or a segment group such as `customer_type=2`.",
                Some("all".into()),
            )
    }

    fn run(&self, request: &Request, mut input: Input) -> Result<Report, String> {
        let words = Words {
            zh: request.study.language.starts_with("zh"),
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

        let follow = |id: &str, label: &str| Followed {
            id: id.to_string(),
            label: label.to_string(),
            values: history
                .iter()
                .map(|w| stats.get(&w.id, &cell, id, "score").filter(|e| e.n > 0).copied())
                .collect(),
        };
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
        ));
        if !categories.is_empty() {
            blocks.push(category_chart(&words, &categories, &wave_labels));
        }
        let mut all = vec![&index];
        all.extend(categories.iter());
        blocks.push(change_table(
            &words,
            &all,
            &wave_labels,
            request.study.low_base,
            request.study.confidence,
        ));
        if let Some(b) = importance_blocks(&words, &stats, request, &cell, &categories, &history) {
            blocks.extend(b);
        }
        if let Some(note) = asked_note(&words, &all, &wave_labels) {
            blocks.push(Block::Markdown { text: note });
        }
        Ok(Report {
            title: Some(words.t("趋势分析", "Trend").into()),
            blocks,
        })
    }
}

/// Change of `s` from wave `w - 1` to wave `w`: (difference, p-value).
fn change(s: &Followed, w: usize, confidence: f64) -> Option<(f64, Option<f64>)> {
    if w == 0 {
        return None;
    }
    let (a, b) = (s.values[w - 1].as_ref()?, s.values[w].as_ref()?);
    let diff = b.mean? - a.mean?;
    Some((diff, change_p_value(a, b, confidence)))
}

fn headline(words: &Words, index: &Followed, waves: &[String], last: usize, confidence: f64) -> Block {
    let value = index.mean(last).unwrap_or(f64::NAN);
    let note = match change(index, last, confidence) {
        Some((d, Some(p))) => Some(format!(
            "{} {:+.1} ({}{}, p = {:.3})",
            words.t("较", "vs"),
            d,
            waves[last - 1],
            if p < 1.0 - confidence {
                words.t("，显著", ", significant")
            } else {
                words.t("，不显著", ", not significant")
            },
            p
        )),
        Some((d, None)) => Some(format!("{} {:+.1} ({})", words.t("较", "vs"), d, waves[last - 1])),
        None => Some(
            words
                .t("首期：趋势自下一期起", "first wave: the trend starts with the next")
                .into(),
        ),
    };
    Block::Headline {
        label: format!("{} {}", index.label, waves[last]),
        value,
        decimals: 1,
        note,
    }
}

fn series_of(s: &Followed) -> Series {
    Series {
        name: s.label.clone(),
        values: (0..s.values.len()).map(|w| s.mean(w)).collect(),
        low: s.values.iter().map(|e| e.as_ref().and_then(|e| e.ci_low)).collect(),
        high: s.values.iter().map(|e| e.as_ref().and_then(|e| e.ci_high)).collect(),
    }
}

fn index_chart(
    words: &Words,
    index: &Followed,
    waves: &[String],
    history: &[&csi_plugin_sdk::csi_blocks::wire::WaveInfo],
    benchmarks: &[csi_plugin_sdk::csi_blocks::wire::BenchmarkInfo],
) -> Block {
    let mut series = vec![series_of(index)];
    for b in benchmarks {
        let values: Vec<Option<f64>> = history.iter().map(|w| b.values.get(&w.id).copied()).collect();
        if values.iter().any(Option::is_some) {
            series.push(Series {
                name: b.label.clone(),
                values,
                low: vec![],
                high: vec![],
            });
        }
    }
    Block::Chart(Chart {
        title: words
            .t(
                "满意度指数与基准（含置信区间）",
                "Index and benchmarks, with confidence band",
            )
            .into(),
        spec: ChartKind::Line {
            categories: waves.to_vec(),
            series,
        },
        alt: None,
    })
}

fn category_chart(words: &Words, categories: &[Followed], waves: &[String]) -> Block {
    Block::Chart(Chart {
        title: words.t("各类别得分趋势", "Categories across waves").into(),
        spec: ChartKind::Line {
            categories: waves.to_vec(),
            series: categories.iter().map(series_of).collect(),
        },
        alt: None,
    })
}

fn change_table(words: &Words, all: &[&Followed], waves: &[String], low_base: u64, confidence: f64) -> Block {
    let last = waves.len() - 1;
    let mut columns = vec![column(words.t("指标", "Series"), ColumnKind::Text, 0)];
    columns.extend(waves.iter().map(|w| column(w, ColumnKind::Number, 1)));
    if last > 0 {
        columns.push(column(words.t("变化", "Change"), ColumnKind::Number, 1));
        columns.push(column("p", ColumnKind::Number, 3));
    }
    let rows = all
        .iter()
        .map(|s| {
            let mut cells = vec![Cell::Text(s.label.clone())];
            let mut flags = vec![vec![]];
            for w in 0..waves.len() {
                cells.push(s.mean(w).map_or(Cell::Empty(()), Cell::Number));
                flags.push(match &s.values[w] {
                    Some(e) if e.n < low_base => vec![Flag::LowBase],
                    _ => vec![],
                });
            }
            if last > 0 {
                let ch = change(s, last, confidence);
                cells.push(ch.map_or(Cell::Empty(()), |c| Cell::Number(c.0)));
                cells.push(match ch.and_then(|c| c.1) {
                    None => Cell::Empty(()),
                    Some(p) if p < 0.001 => Cell::Text("<0.001".into()),
                    Some(p) => Cell::Number(p),
                });
                let sig = match ch {
                    Some((d, Some(p))) if p < 1.0 - confidence && d > 0.0 => vec![Flag::SigUp],
                    Some((d, Some(p))) if p < 1.0 - confidence && d < 0.0 => vec![Flag::SigDown],
                    _ => vec![],
                };
                flags.push(sig);
                flags.push(vec![]);
            }
            Row { cells, flags }
        })
        .collect();
    Block::Table(Table {
        title: words.t("各期得分与最近一期变化", "Scores by wave and the latest change").into(),
        columns,
        rows,
        note: Some(
            words
                .t(
                    "变化 = 本期 − 上期；p 值为两独立样本加权均值之差的检验（各期为独立样本）；箭头表示在研究设定的置信水平下显著。",
                    "Change = this wave − previous wave; p from a test of the difference of two independent weighted means (each wave is a new sample); arrows mark significance at the study's confidence level.",
                )
                .into(),
        ),
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
            lines.push(format!(
                "- **{}**: {} {}",
                s.label,
                words.t(
                    "以下各期无数据（未调查或新增）：",
                    "no figures in (not asked, or added later):"
                ),
                missing.join(", ")
            ));
        }
    }
    (!lines.is_empty()).then(|| lines.join("\n"))
}

/// The importance of each category for the outcome in every wave, and a finding
/// on the largest shifts. `None` when the outcome or co-moments are unavailable.
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
        Some(o) if !o.is_empty() => request.study.nodes.iter().find(|n| n.id == o)?,
        _ => request
            .study
            .nodes
            .iter()
            .find(|n| n.kind == "overall")
            .or_else(|| request.study.nodes.iter().find(|n| n.kind == "index"))?,
    };
    let ids: Vec<&str> = categories.iter().map(|c| c.id.as_str()).collect();
    let mut shares: BTreeMap<usize, Vec<Option<f64>>> = BTreeMap::new();
    let mut notes = Vec::new();
    for (w, wave) in history.iter().enumerate() {
        match relative_weights(stats, &wave.id, cell, &outcome.id, &ids) {
            Ok(weights) => {
                for (c, v) in weights.into_iter().enumerate() {
                    shares.entry(c).or_insert_with(|| vec![None; history.len()])[w] = Some(v);
                }
            }
            Err(e) => notes.push(format!("{}: {e}", wave.label)),
        }
    }
    if shares.is_empty() {
        return Some(vec![Block::Markdown {
            text: format!(
                "{} {}",
                words.t(
                    "无法计算驱动因素的重要性：",
                    "Driver importance could not be estimated:"
                ),
                notes.join("; ")
            ),
        }]);
    }
    let waves: Vec<String> = history.iter().map(|w| w.label.clone()).collect();
    let series: Vec<Series> = shares
        .iter()
        .map(|(c, v)| Series {
            name: categories[*c].label.clone(),
            values: v.iter().map(|x| x.map(|x| x * 100.0)).collect(),
            low: vec![],
            high: vec![],
        })
        .collect();
    // The largest fall and rise from the first to the last wave with figures.
    let mut moves: Vec<(f64, &str)> = shares
        .iter()
        .filter_map(|(c, v)| {
            let first = v.iter().flatten().next()?;
            let last = v.iter().rev().flatten().next()?;
            Some(((last - first) * 100.0, categories[*c].label.as_str()))
        })
        .collect();
    moves.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut text = String::new();
    if let (Some(fall), Some(rise)) = (moves.first(), moves.last()) {
        text = if words.zh {
            format!(
                "对{}而言，**{}** 的重要性下降最多（{:+.1} 个百分点），**{}** 上升最多（{:+.1} 个百分点），{} → {}。",
                outcome.label,
                fall.1,
                fall.0,
                rise.1,
                rise.0,
                waves[0],
                waves[waves.len() - 1]
            )
        } else {
            format!(
                "For {}, the importance of **{}** fell most ({:+.1} points of explained variance share) and **{}** rose most ({:+.1} points), {} → {}.",
                outcome.label, fall.1, fall.0, rise.1, rise.0, waves[0], waves[waves.len() - 1]
            )
        };
    }
    if !notes.is_empty() {
        text.push_str(&format!("\n\n{}", notes.join("; ")));
    }
    let mut columns = vec![column(words.t("类别", "Category"), ColumnKind::Text, 0)];
    columns.extend(waves.iter().map(|w| column(w, ColumnKind::Percent, 1)));
    let rows = shares
        .iter()
        .map(|(c, v)| Row {
            cells: std::iter::once(Cell::Text(categories[*c].label.clone()))
                .chain(v.iter().map(|x| x.map_or(Cell::Empty(()), Cell::Number)))
                .collect(),
            flags: vec![],
        })
        .collect();
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
            note: Some(
                words
                    .t(
                        "Johnson 相对权重：各类别在 R² 中所占份额，由每期加权协方差矩阵（成对完整样本）计算。",
                        "Johnson's relative weights: each category's share of R², from each wave's weighted covariance matrix (pairwise complete).",
                    )
                    .into(),
            ),
        }),
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
/// wave, from the pairwise-complete correlations of the statistics table.
fn relative_weights(
    stats: &Statistics,
    wave: &str,
    cell: &str,
    outcome: &str,
    predictors: &[&str],
) -> Result<Vec<f64>, String> {
    let c = stats.correlations(wave, cell, predictors, outcome)?;
    csi_plugin_sdk::csi_stats::relweights::relative_weights(&c.r_xx, &c.r_xy)
        .map(|rw| rw.shares())
        .map_err(|e| e.to_string())
}
