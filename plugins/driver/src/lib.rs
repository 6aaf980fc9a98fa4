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
use csi_plugin_sdk::statistics::Correlations;

pub mod kano;

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
        let mut d = Description::statistics()
            .option(
                "kano",
                OptionType::Boolean,
                "Also classify the drivers' indicators (basic / performance / excitement) by penalty–reward analysis of the respondent rows.",
                Some(true.into()),
            )
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
            );
        d.inputs = Inputs::Both;
        d
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
        let ids: Vec<&str> = predictors.iter().map(|p| p.id.as_str()).collect();
        let Correlations { r_xx, r_xy, min_n } = stats.correlations(wave, &cell, &ids, &outcome.id)?;
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
        let mut blocks = vec![
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
        ];
        let kano = request.options.get("kano").and_then(|v| v.as_bool()).unwrap_or(true);
        if let (true, Some(rows), true) = (kano, input.rows.take(), cell == "all") {
            // The indicators under the drivers (or the drivers themselves).
            let under = |n: &NodeInfo| {
                let mut at = Some(n);
                while let Some(x) = at {
                    if predictors.iter().any(|p| p.id == x.id) {
                        return true;
                    }
                    at = x.parent.as_deref().and_then(|p| nodes.iter().find(|m| m.id == p));
                }
                false
            };
            let wanted: Vec<&str> = nodes
                .iter()
                .filter(|n| n.kind == "indicator" && under(n))
                .map(|n| n.id.as_str())
                .collect();
            blocks.extend(kano_blocks(zh, rows, &outcome.id, &outcome.label, &wanted));
        }
        Ok(Report {
            title: Some(t("驱动因素分析", "Drivers").into()),
            blocks,
        })
    }
}

/// The penalty–reward table, or a note saying why there is none.
fn kano_blocks(
    zh: bool,
    rows: csi_plugin_sdk::Batches,
    outcome: &str,
    outcome_label: &str,
    wanted: &[&str],
) -> Vec<Block> {
    let t = |a: &'static str, b: &'static str| if zh { a } else { b };
    let (results, used) = match kano::penalty_reward(rows, outcome, wanted) {
        Ok(r) => r,
        Err(e) => {
            return vec![Block::Markdown {
                text: format!("{}{e}", t("未做惩罚—奖励分析：", "No penalty–reward analysis: ")),
            }]
        }
    };
    let class_name = |c: Option<&str>| match (c, zh) {
        (Some("basic"), true) => "必备型（基本）",
        (Some("basic"), false) => "basic",
        (Some("excitement"), true) => "魅力型（兴奋）",
        (Some("excitement"), false) => "excitement",
        (Some(_), true) => "期望型（绩效）",
        (Some(_), false) => "performance",
        (None, true) => "无明显影响，未分类",
        (None, false) => "no effect, not classified",
    };
    let class_of = |r: &kano::PenaltyReward| -> String {
        match (r.penalty, r.reward) {
            (Some(_), Some(_)) => class_name(r.class()).into(),
            _ => t("样本不足，未分类", "not classified (too few answers)").into(),
        }
    };
    let number = |v: Option<f64>| v.map_or(Cell::Empty(()), Cell::Number);
    let rows = results
        .iter()
        .map(|r| Row {
            cells: vec![
                Cell::Text(r.label.clone()),
                number(r.penalty),
                number(r.reward),
                Cell::Number(r.n_low as f64),
                Cell::Number(r.n_high as f64),
                Cell::Text(class_of(r)),
            ],
            flags: vec![],
        })
        .collect();
    vec![Block::Table(Table {
        title: format!(
            "{}{outcome_label}",
            t(
                "Kano 类型估计（惩罚—奖励分析）：",
                "Kano classes estimated by penalty–reward analysis: "
            )
        ),
        columns: vec![
            column(t("指标", "Indicator"), ColumnKind::Text, 0),
            column(
                t("惩罚（低分时失去的分数）", "Penalty (points lost when rated low)"),
                ColumnKind::Number,
                2,
            ),
            column(
                t("奖励（高分时增加的分数）", "Reward (points gained when rated top)"),
                ColumnKind::Number,
                2,
            ),
            column(t("低分人数", "n low"), ColumnKind::Count, 0),
            column(t("高分人数", "n top"), ColumnKind::Count, 0),
            column(t("类型（估计）", "Class (estimate)"), ColumnKind::Text, 0),
        ],
        rows,
        note: Some(if zh {
            format!("对 {used} 名受访者作加权最小二乘回归：结果变量为{outcome_label}（0–100 分），自变量为各指标的“低分”（量表下半部分）与“高分”（最高两档）虚拟变量，缺答视为两者皆否。惩罚 = −低分系数，奖励 = 高分系数；奖励占两者之和低于 40% 为必备型，高于 60% 为魅力型，其余为期望型。低分或高分人数少于 {} 的指标不分类；惩罚与奖励均不为正者记为无明显影响。分类未作显著性检验，应视为估计。", kano::MIN_CELL)
        } else {
            format!("Weighted least squares over {used} respondents: {outcome_label} (0–100) on dummies for a low rating (lower half of the scale) and a top rating (top two points) of each indicator; a missing answer is neither. Penalty = −low coefficient, reward = top coefficient; basic when the reward is under 40% of penalty + reward, excitement over 60%, performance otherwise. Indicators with fewer than {} low or top ratings are not classified, nor those with neither a positive penalty nor a positive reward. The classes are not tested for significance: read them as estimates.", kano::MIN_CELL)
        }),
    })]
}

csi_plugin_sdk::export_plugin!(
    Driver,
    name = "driver",
    version = env!("CARGO_PKG_VERSION"),
    description = "Derived importance of categories or indicators and the importance-performance matrix"
);
