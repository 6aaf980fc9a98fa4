//! The standard driver analysis: what moves overall satisfaction, and so what to
//! improve first?
//!
//! Derived importance of each first-level category (option `level`), or of the
//! indicators within one category (option `within`), for an outcome (option
//! `outcome`: an overall item, by default the first, or the index): standardised
//! regression coefficients, the LMG / Shapley decomposition of R² and Johnson's
//! relative weights — the last two robust to correlated predictors. Everything
//! comes from the weighted, pairwise-complete correlations in the host's
//! statistics table (no extra pass over the data). The importance–performance
//! matrix puts relative weight on x and mean score on y, with quadrant lines at
//! the means: "improve first" (important, weak), "keep up", "low priority",
//! "possible overkill".

use csi_plugin_sdk::csi_blocks::wire::NodeInfo;
use csi_plugin_sdk::csi_stats::relweights::{lmg, relative_weights, standardised_coefficients};
use csi_plugin_sdk::prelude::*;

/// The plugin.
#[derive(Default)]
pub struct Driver;

fn column(label: &str, kind: ColumnKind, decimals: u8) -> Column {
    Column {
        label: label.to_string(),
        kind,
        decimals,
    }
}

/// The four quadrants of the importance–performance matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quadrant {
    /// High importance, low performance.
    ImproveFirst,
    /// High importance, high performance.
    KeepUp,
    /// Low importance, low performance.
    LowPriority,
    /// Low importance, high performance.
    PossibleOverkill,
}

impl Quadrant {
    /// The quadrant of a point given the lines at the means.
    pub fn of(importance: f64, performance: f64, mean_importance: f64, mean_performance: f64) -> Self {
        match (importance >= mean_importance, performance >= mean_performance) {
            (true, false) => Quadrant::ImproveFirst,
            (true, true) => Quadrant::KeepUp,
            (false, false) => Quadrant::LowPriority,
            (false, true) => Quadrant::PossibleOverkill,
        }
    }

    fn name(self, zh: bool) -> &'static str {
        match (self, zh) {
            (Quadrant::ImproveFirst, true) => "优先改进",
            (Quadrant::ImproveFirst, false) => "improve first",
            (Quadrant::KeepUp, true) => "继续保持",
            (Quadrant::KeepUp, false) => "keep up",
            (Quadrant::LowPriority, true) => "次要改进",
            (Quadrant::LowPriority, false) => "low priority",
            (Quadrant::PossibleOverkill, true) => "可能过度投入",
            (Quadrant::PossibleOverkill, false) => "possible overkill",
        }
    }
}

impl Analysis for Driver {
    fn describe(&self) -> Description {
        Description::statistics()
            .option(
                "outcome",
                OptionType::String,
                "The outcome: an overall item or the index (default: the first overall item).",
                Some("".into()),
            )
            .option(
                "level",
                OptionType::Number,
                "Depth of the categories used as drivers (1 = first-level categories).",
                Some(1.into()),
            )
            .option(
                "within",
                OptionType::String,
                "A category whose children are the drivers instead (overrides `level`).",
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
        let zh = request.study.language.starts_with("zh");
        let t = |a: &'static str, b: &'static str| if zh { a } else { b };
        let stats = Statistics::read(&input.statistics_batches()?)?;
        let wave = request.wave.as_str();
        let text = |k: &str| {
            request
                .options
                .get(k)
                .and_then(|v| v.as_str())
                .unwrap_or("")
                .to_string()
        };
        let cell = match text("cell") {
            c if c.is_empty() => "all".to_string(),
            c => c,
        };
        let nodes = &request.study.nodes;
        let find = |id: &str| -> Result<&NodeInfo, String> {
            nodes.iter().find(|n| n.id == id).ok_or_else(|| {
                let ids: Vec<&str> = nodes
                    .iter()
                    .filter(|n| n.kind != "indicator")
                    .map(|n| n.id.as_str())
                    .collect();
                format!("`{id}` is not a node of the study (e.g. {})", ids.join(", "))
            })
        };
        let outcome = match text("outcome") {
            o if o.is_empty() => nodes
                .iter()
                .find(|n| n.kind == "overall")
                .or_else(|| nodes.iter().find(|n| n.kind == "index"))
                .ok_or("the study has no overall item or index")?,
            o => find(&o)?,
        };
        let within = text("within");
        let predictors: Vec<&NodeInfo> = if within.is_empty() {
            let level = request
                .options
                .get("level")
                .and_then(|v| v.as_f64())
                .unwrap_or(1.0)
                .max(1.0) as usize;
            nodes
                .iter()
                .filter(|n| n.depth == level && matches!(n.kind.as_str(), "category" | "indicator"))
                .collect()
        } else {
            let parent = find(&within)?;
            nodes
                .iter()
                .filter(|n| n.parent.as_deref() == Some(parent.id.as_str()))
                .collect()
        };
        if predictors.len() < 2 {
            return Err("a driver analysis needs at least two drivers; choose another `level` or `within`".into());
        }

        // Pairwise-complete correlations from the co-moments.
        let pair = |x: &str, y: &str| stats.cross(wave, &cell, x, y);
        let corr = |x: &str, y: &str| -> Result<f64, String> {
            if x == y {
                return Ok(1.0);
            }
            pair(x, y)
                .and_then(|c| c.correlation())
                .ok_or_else(|| format!("no correlation between `{x}` and `{y}` in `{cell}` (no respondents with both, or a constant score)"))
        };
        let mut r_xx = Vec::new();
        for x in &predictors {
            r_xx.push(
                predictors
                    .iter()
                    .map(|y| corr(&x.id, &y.id))
                    .collect::<Result<Vec<_>, _>>()?,
            );
        }
        let r_xy = predictors
            .iter()
            .map(|x| corr(&x.id, &outcome.id))
            .collect::<Result<Vec<_>, _>>()?;
        let min_n = predictors
            .iter()
            .flat_map(|x| predictors.iter().map(move |y| (x, y)))
            .filter(|(x, y)| x.id != y.id)
            .filter_map(|(x, y)| pair(&x.id, &y.id))
            .chain(predictors.iter().filter_map(|x| pair(&x.id, &outcome.id)))
            .map(|c| c.n)
            .min()
            .unwrap_or(0);
        if (min_n as usize) < predictors.len() + 10 {
            return Err(format!(
                "too few respondents for {} drivers: the smallest pairwise base is {min_n}",
                predictors.len()
            ));
        }
        let fail = |e: csi_plugin_sdk::csi_stats::relweights::RelativeWeightsError| {
            format!("the drivers' importance cannot be estimated: {e}")
        };
        let (betas, r2) = standardised_coefficients(&r_xx, &r_xy).map_err(fail)?;
        let shapley = lmg(&r_xx, &r_xy).map_err(fail)?;
        let johnson = relative_weights(&r_xx, &r_xy).map_err(fail)?.shares();
        let performance: Vec<Option<f64>> = predictors
            .iter()
            .map(|p| stats.get(wave, &cell, &p.id, "score").and_then(|e| e.mean))
            .collect();

        // The matrix: relative weight (%) on x, performance on y.
        let points: Vec<(usize, f64, f64)> = (0..predictors.len())
            .filter_map(|i| Some((i, johnson[i] * 100.0, performance[i]?)))
            .collect();
        let mean_x = points.iter().map(|p| p.1).sum::<f64>() / points.len().max(1) as f64;
        let mean_y = points.iter().map(|p| p.2).sum::<f64>() / points.len().max(1) as f64;
        let quadrant = |i: usize| {
            points
                .iter()
                .find(|p| p.0 == i)
                .map(|p| Quadrant::of(p.1, p.2, mean_x, mean_y))
        };
        let mut order: Vec<usize> = (0..predictors.len()).collect();
        order.sort_by(|a, b| johnson[*b].total_cmp(&johnson[*a]));

        let improve: Vec<&str> = order
            .iter()
            .filter(|&&i| quadrant(i) == Some(Quadrant::ImproveFirst))
            .map(|&i| predictors[i].label.as_str())
            .collect();
        let finding = if zh {
            format!(
                "对**{}**而言，{}。模型 R² = {r2:.3}（成对完整样本，最小基数 {min_n}）。",
                outcome.label,
                if improve.is_empty() {
                    "没有同时“重要且表现偏弱”的驱动因素".to_string()
                } else {
                    format!("应**优先改进**：{}（重要性高于平均、表现低于平均）", improve.join("、"))
                }
            )
        } else {
            format!(
                "For **{}**, {}. Model R² = {r2:.3} (pairwise complete, smallest base {min_n}).",
                outcome.label,
                if improve.is_empty() {
                    "no driver is both important and weak".to_string()
                } else {
                    format!(
                        "**improve first**: {} (above-average importance, below-average performance)",
                        improve.join(", ")
                    )
                }
            )
        };

        let rows = order
            .iter()
            .map(|&i| Row {
                cells: vec![
                    Cell::Text(predictors[i].label.clone()),
                    performance[i].map_or(Cell::Empty(()), Cell::Number),
                    Cell::Number(betas[i]),
                    Cell::Number(shapley[i] / r2),
                    Cell::Number(johnson[i]),
                    quadrant(i).map_or(Cell::Empty(()), |q| Cell::Text(q.name(zh).into())),
                ],
                flags: match quadrant(i) {
                    Some(Quadrant::ImproveFirst) => vec![vec![], vec![], vec![], vec![], vec![], vec![Flag::Weak]],
                    _ => vec![],
                },
            })
            .collect();
        Ok(Report {
            title: Some(t("驱动因素分析", "Drivers").into()),
            blocks: vec![
                Block::Markdown { text: finding },
                Block::Chart(Chart {
                    title: format!(
                        "{}{}",
                        t("重要性—表现矩阵：", "Importance–performance matrix: "),
                        outcome.label
                    ),
                    spec: ChartKind::Scatter {
                        points: points
                            .iter()
                            .map(|&(i, x, y)| Point {
                                label: predictors[i].label.clone(),
                                x,
                                y,
                            })
                            .collect(),
                        x_label: t("重要性（相对权重，% of R²）", "Importance (relative weight, % of R²)").into(),
                        y_label: t("表现（得分，0–100）", "Performance (score, 0–100)").into(),
                        x_line: Some(mean_x),
                        y_line: Some(mean_y),
                    },
                    alt: None,
                }),
                Block::Table(Table {
                    title: format!("{}{}", t("驱动因素重要性：", "Derived importance for "), outcome.label),
                    columns: vec![
                        column(t("驱动因素", "Driver"), ColumnKind::Text, 0),
                        column(t("表现", "Performance"), ColumnKind::Number, 1),
                        column(t("标准化系数", "Std. coefficient"), ColumnKind::Number, 3),
                        column(t("LMG 份额", "LMG share"), ColumnKind::Percent, 1),
                        column(t("相对权重份额", "Relative weight"), ColumnKind::Percent, 1),
                        column(t("象限", "Quadrant"), ColumnKind::Text, 0),
                    ],
                    rows,
                    note: Some(if zh {
                        format!(
                            "由加权相关矩阵（成对完整样本，最小基数 {min_n}）计算：标准化回归系数；LMG（Shapley）与 Johnson 相对权重为各因素在 R² = {r2:.3} 中的份额，对相关的驱动因素稳健。象限线为重要性与表现的平均值。"
                        )
                    } else {
                        format!(
                            "From the weighted correlation matrix (pairwise complete, smallest base {min_n}): standardised regression coefficients; LMG (Shapley) and Johnson's relative weights as shares of R² = {r2:.3}, robust to correlated drivers. Quadrant lines at the mean importance and performance."
                        )
                    }),
                }),
            ],
        })
    }
}

csi_plugin_sdk::export_plugin!(
    Driver,
    name = "driver",
    version = env!("CARGO_PKG_VERSION"),
    description = "Derived importance of categories or indicators and the importance-performance matrix"
);
