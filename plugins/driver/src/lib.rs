//! The standard driver analysis: what moves overall satisfaction, and so what to
//! improve first?
//!
//! Derived importance of each first-level category (option `level`), or of the
//! indicators within one category (option `within`), for an outcome (option
//! `outcome`): standardised regression coefficients, the LMG / Shapley
//! decomposition of R² and Johnson's relative weights — the last two robust to
//! correlated predictors. Everything comes from the weighted, pairwise-complete
//! correlations in the host's statistics table (no extra pass over the data). The
//! importance–performance matrix puts relative weight on x and mean score on y, with
//! quadrant lines at the means: "improve first" (important, weak: bottom right),
//! "keep up" (top right), "low priority" (bottom left), "possible overkill" (top
//! left); the chart names its quadrants with the words of the table's quadrant
//! column and highlights the "improve first" points.
//!
//! **Overview.** The analysis offers the wave's overview a finding naming the three
//! most important "improve first" drivers (or saying there are none) and the matrix.
//!
//! **Outcome.** By default the first overall-satisfaction item. A study without one
//! fails with a message asking for `outcome:`: the analysis never silently regresses
//! the index on its own components. When the outcome is named and the drivers are
//! its own components (`outcome: index`), the finding says that R² is high by
//! construction.
//!
//! **Consistency.** Pairwise-complete correlations (each pair over the respondents
//! who answered both) need not form a correlation matrix; then R² exceeds 1. The
//! kernels check the full matrix, outcome included, and the analysis refuses in
//! place, naming the smallest pairwise base. (A listwise analysis would need the
//! respondents' category scores, which the host computes and the statistics table
//! does not carry.)
//!
//! **Kano classes** (option `kano`, for all respondents): penalty–reward analysis
//! of the drivers' rating-scale indicators from the respondent rows — low (lower
//! half), middle (the reference) and top-box (the study's `top_box`) dummies,
//! listwise deletion, weighted least squares with HC1 robust standard errors, and
//! classes only where the penalty or reward is significant at the study's confidence
//! level. See [`kano`].

use csi_plugin_sdk::csi_blocks::wire::{NodeInfo, StudyContext};
use csi_plugin_sdk::csi_stats::relweights::{
    lmg, relative_weights, standardised_coefficients, unstandardised_coefficients, RelativeWeightsError,
};
use csi_plugin_sdk::prelude::*;
use csi_plugin_sdk::statistics::Correlations;
use csi_plugin_sdk::words;

pub mod kano;

/// The plugin.
#[derive(Default)]
pub struct Driver;

fn column(label: &str, kind: ColumnKind, decimals: u8) -> Column {
    Column::new(label, kind, decimals)
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

    /// The quadrant's name, as the table's quadrant column and the chart's corners
    /// print it.
    pub fn name(self, zh: bool) -> &'static str {
        match (self, zh) {
            (Quadrant::ImproveFirst, true) => "优先改进",
            (Quadrant::ImproveFirst, false) => "Improve first",
            (Quadrant::KeepUp, true) => "继续保持",
            (Quadrant::KeepUp, false) => "Keep up",
            (Quadrant::LowPriority, true) => "次要改进",
            (Quadrant::LowPriority, false) => "Low priority",
            (Quadrant::PossibleOverkill, true) => "可能过度投入",
            (Quadrant::PossibleOverkill, false) => "Possible overkill",
        }
    }

    /// The quadrants' names in the order of the chart's corners (top left, top
    /// right, bottom left, bottom right), with importance on x and performance on
    /// y: possible overkill, keep up, low priority, improve first.
    pub fn corners(zh: bool) -> [String; 4] {
        [
            Quadrant::PossibleOverkill,
            Quadrant::KeepUp,
            Quadrant::LowPriority,
            Quadrant::ImproveFirst,
        ]
        .map(|q| q.name(zh).to_string())
    }
}

/// The overview's finding: the (at most three) most important "improve first"
/// drivers, `improve` in order of importance, or that there are none.
fn overview_finding(zh: bool, outcome: &str, improve: &[&str], own_components: bool) -> String {
    let name = Quadrant::ImproveFirst.name(zh);
    let top: Vec<&str> = improve.iter().take(3).copied().collect();
    let list = |sep: &str, last: &str| match top.len() {
        0 => String::new(),
        1 => top[0].to_string(),
        n => format!("{}{last}{}", top[..n - 1].join(sep), top[n - 1]),
    };
    let mut text = match (improve.len(), zh) {
        (0, true) => format!("对**{outcome}**而言，没有“{name}”的驱动因素：没有一个驱动因素既重要性高于平均、又表现低于平均。"),
        (0, false) => format!("For **{outcome}**, no driver is to **{}**: none combines above-average importance with below-average performance.", name.to_lowercase()),
        (n, true) if n <= 3 => format!("对**{outcome}**而言，应**{name}**（重要性高于平均、表现低于平均，按重要性排序）：{}。", list("、", "、")),
        (n, false) if n <= 3 => format!("For **{outcome}**, **{}** (above-average importance, below-average performance, most important first): {}.", name.to_lowercase(), list(", ", " and ")),
        (n, true) => format!("对**{outcome}**而言，{n} 个驱动因素应**{name}**（重要性高于平均、表现低于平均），其中最重要的三个：{}。", list("、", "、")),
        (n, false) => format!("For **{outcome}**, {n} drivers are to **{}** (above-average importance, below-average performance); the three most important: {}.", name.to_lowercase(), list(", ", " and ")),
    };
    if own_components {
        text.push_str(&if zh {
            format!("注意：这些驱动因素就是{outcome}本身的组成部分，重要性反映的是它的构成方式。")
        } else {
            format!(" Note: the drivers are {outcome}'s own components, so their importance reflects how it is built.")
        });
    }
    text
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
                OptionType::Node,
                "The outcome: an overall item (default: the first), or knowingly the index or a category (its drivers are then its own components).",
                Some("".into()),
            )
            .option(
                "level",
                OptionType::Integer,
                "Depth of the categories used as drivers (1 = first-level categories).",
                Some(1.into()),
            )
            .range("level", Some(1.0), None)
            .option(
                "within",
                OptionType::Node,
                "A category whose children are the drivers instead (overrides `level`).",
                Some("".into()),
            )
            .option(
                "cell",
                OptionType::Cell,
                "Which respondents: `all` or a segment group such as `customer_type=2`.",
                Some("all".into()),
            );
        d.inputs = Inputs::Both;
        d
    }

    fn run(&self, request: &Request, input: Input) -> Result<Report, String> {
        csi_plugin_sdk::tidy::tidied(request, self.analyse(request, input))
    }
}

impl Driver {
    /// The report, before [`csi_plugin_sdk::tidy::tidy`] leaves out empty columns and sets bold
    /// names tight in Chinese.
    fn analyse(&self, request: &Request, mut input: Input) -> Result<Report, String> {
        let zh = request.study.language.starts_with("zh");
        let t = |a: &'static str, b: &'static str| if zh { a } else { b };
        let wave = request.wave.as_str();
        let decimals = request.study.decimals;
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
        // Never the index by default: its drivers are its own components.
        let outcome = match text("outcome") {
            o if o.is_empty() => nodes.iter().find(|n| n.kind == "overall").ok_or(
                "the study has no overall-satisfaction item, so the driver analysis has no outcome: add one under `overall:`, or name the outcome with the option `outcome:` (the index, `outcome: index`, only knowingly: its drivers are its own components, so R² is high by construction)",
            )?,
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
        // The rows first, the statistics after: csi can then feed the rows from
        // the pass that computes the statistics instead of reading the data again.
        let kano = self.kano(request, &mut input, &cell, &predictors, outcome);
        let stats = Statistics::read(&input.statistics_batches()?)?;

        // Degenerate data: stated in place, never a figure built on nothing.
        let not_estimable = |zh_text: String, en_text: String| Report {
            overview: Vec::new(),
            title: Some(t("驱动因素分析", "Drivers").into()),
            blocks: vec![Block::Markdown {
                text: if zh { zh_text } else { en_text },
            }],
        };
        if let Some((zh_text, en_text)) = degenerate(&stats, wave, &cell, &predictors, outcome) {
            return Ok(not_estimable(zh_text, en_text));
        }

        // Pairwise-complete correlations from the co-moments.
        let ids: Vec<&str> = predictors.iter().map(|p| p.id.as_str()).collect();
        let Correlations { r_xx, r_xy, min_n } = stats.correlations(wave, &cell, &ids, &outcome.id)?;
        let needed = predictors.len() + 10;
        if (min_n as usize) < needed {
            return Ok(not_estimable(
                format!(
                    "**无法估计{}的驱动因素重要性：样本太少**。{} 个驱动因素至少需要 {needed} 位同时回答了结果题与驱动因素题的受访者，本期最少只有 {min_n} 位。",
                    outcome.label,
                    predictors.len()
                ),
                format!(
                    "**No derived importance for {}: too few respondents.** {} drivers need at least {needed} respondents who answered both the outcome and each driver; the smallest such base this wave is {min_n}.",
                    outcome.label,
                    predictors.len()
                ),
            ));
        }
        // The drivers are the outcome's own components (the index on its categories).
        let own_components = predictors.iter().any(|p| {
            let mut at = p.parent.as_deref();
            while let Some(id) = at {
                if id == outcome.id {
                    return true;
                }
                at = nodes.iter().find(|n| n.id == id).and_then(|n| n.parent.as_deref());
            }
            false
        });
        let fail = |e: RelativeWeightsError| format!("the drivers' importance cannot be estimated: {e}");
        let estimated = standardised_coefficients(&r_xx, &r_xy)
            .and_then(|(betas, r2)| Ok((betas, r2, lmg(&r_xx, &r_xy)?, relative_weights(&r_xx, &r_xy)?.shares())));
        let (betas, r2, shapley, johnson) = match estimated {
            Ok(e) => e,
            Err(RelativeWeightsError::Inconsistent(smallest)) => {
                // Refused in place: the page says why; the Kano table, from the
                // respondent rows with listwise deletion, is still valid.
                let eigen = if smallest.abs() >= 1e-3 {
                    format!("{smallest:.3}")
                } else {
                    format!("{smallest:.1e}")
                };
                let mut text = if zh {
                    format!(
                        "**无法估计{}的驱动因素重要性：成对完整样本的相关系数互相矛盾**。每个相关系数只基于同时回答了两题的受访者（最小成对基数 {min_n}），合在一起却不构成有效的相关矩阵（含结果变量的相关矩阵最小特征值为 {eigen}），因此模型 R² 会超过 1 或无效，重要性无从谈起。原因是各驱动因素的缺答落在不同的受访者身上；统计表不含逐个受访者的类别得分，无法改用列表删除，请减少缺答或选择由同一批受访者回答的驱动因素。",
                        outcome.label
                    )
                } else {
                    format!(
                        "**No derived importance for {}: the pairwise-complete correlations are inconsistent.** Each correlation is computed over the respondents who answered both questions (smallest pairwise base {min_n}), and together they do not form a valid correlation matrix (smallest eigenvalue of the matrix with the outcome: {eigen}), so the model's R² would exceed 1 or be invalid. The drivers' missing answers fall on different respondents; the statistics table has no per-respondent category scores to fall back on listwise deletion, so reduce non-response or choose drivers answered by the same respondents.",
                        outcome.label
                    )
                };
                if own_components {
                    text.push_str(&if zh {
                        format!(" 这些驱动因素就是{}本身的组成部分，R² 因构造而接近 1，成对样本的一点不一致就会使它超过 1；要回答“什么推动满意度”，请以总体满意度题为结果变量。", outcome.label)
                    } else {
                        format!(" The drivers are {}'s own components, so R² is close to 1 by construction and the slightest inconsistency between the pairwise bases pushes it past 1; to find what moves satisfaction, use an overall-satisfaction item as the outcome.", outcome.label)
                    });
                }
                let mut blocks = vec![Block::Markdown { text }];
                blocks.extend(kano);
                return Ok(Report {
                    overview: Vec::new(),
                    title: Some(t("驱动因素分析", "Drivers").into()),
                    blocks,
                });
            }
            Err(RelativeWeightsError::Singular(_)) => {
                let names: Vec<&str> = predictors.iter().map(|p| p.label.as_str()).collect();
                return Ok(not_estimable(
                    format!(
                        "**无法估计{}的驱动因素重要性：驱动因素之间（{}）完全或几乎完全相关**，模型无法区分各自的贡献。请减少驱动因素，或选择彼此不重复的驱动因素。",
                        outcome.label,
                        names.join("、")
                    ),
                    format!(
                        "**No derived importance for {}: the drivers ({}) are perfectly or almost perfectly correlated with each other**, so the model cannot tell their contributions apart. Use fewer drivers, or drivers that do not repeat each other.",
                        outcome.label,
                        names.join(", ")
                    ),
                ));
            }
            Err(e) => return Err(fail(e)),
        };
        if r2 <= 1e-12 {
            return Ok(not_estimable(
                format!(
                    "**无法估计{}的驱动因素重要性：驱动因素与它完全不相关（R² = 0）**，没有可以分配给各驱动因素的解释力。",
                    outcome.label
                ),
                format!(
                    "**No derived importance for {}: the drivers do not correlate with it at all (R² = 0)**, so there is no explained variance to share among them.",
                    outcome.label
                ),
            ));
        }
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
        let r2_text = words::fixed(r2, decimals.coefficient);
        let mut finding = if zh {
            format!(
                "对**{}**而言，{}。模型 R² = {r2_text}（成对完整样本，最小基数 {min_n}）。",
                outcome.label,
                if improve.is_empty() {
                    "没有同时“重要且表现偏弱”的驱动因素".to_string()
                } else {
                    format!("应**优先改进**：{}（重要性高于平均、表现低于平均）", improve.join("、"))
                }
            )
        } else {
            format!(
                "For **{}**, {}. Model R² = {r2_text} (pairwise complete, smallest base {min_n}).",
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
        if own_components {
            finding.push_str(&if zh {
                format!(" 注意：R² 因构造而偏高——{}本身就是由这些驱动因素计算出来的，模型反映的是它的构成方式，而不是真正推动满意度的因素；要回答“什么推动满意度”，请以总体满意度题为结果变量。", outcome.label)
            } else {
                format!(" Note: R² is high by construction — {} is computed from these drivers, so the model recovers how it is built rather than what moves satisfaction; for that, use an overall-satisfaction item as the outcome.", outcome.label)
            });
        }

        // The unstandardised coefficient: points of the outcome's 0–100 score per
        // point of the driver's, β × sd(outcome) / sd(driver), each standard
        // deviation over the respondents with both (the pair behind r_xy).
        let unstandardised = |i: usize| -> Option<f64> {
            let c = stats.cross(wave, &cell, &predictors[i].id, &outcome.id)?;
            let (sx, sy) = ((c.ss_x / c.sum_w).sqrt(), (c.ss_y / c.sum_w).sqrt());
            unstandardised_coefficients(&[betas[i]], &[sx], sy)[0]
        };
        let rows = order
            .iter()
            .map(|&i| Row {
                cells: vec![
                    Cell::Text(predictors[i].label.clone()),
                    performance[i].map_or(Cell::Empty(()), Cell::Number),
                    Cell::Number(betas[i]),
                    unstandardised(i).map_or(Cell::Empty(()), Cell::Number),
                    Cell::Number(shapley[i] / r2),
                    Cell::Number(shapley[i]),
                    Cell::Number(johnson[i]),
                    Cell::Number(johnson[i] * r2),
                    quadrant(i).map_or(Cell::Empty(()), |q| Cell::Text(q.name(zh).into())),
                ],
                flags: match quadrant(i) {
                    Some(Quadrant::ImproveFirst) => {
                        let mut flags = vec![vec![]; 8];
                        flags.push(vec![Flag::Weak]);
                        flags
                    }
                    _ => vec![],
                },
            })
            .collect();
        let matrix = Block::Chart(Chart {
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
                        highlight: quadrant(i) == Some(Quadrant::ImproveFirst),
                    })
                    .collect(),
                x_label: t("重要性（相对权重法，%）", "Importance (relative weight, %)").into(),
                y_label: t("表现（得分，0–100）", "Performance (score, 0–100)").into(),
                x_line: Some(mean_x),
                y_line: Some(mean_y),
                quadrants: Some(Quadrant::corners(zh)),
            },
            alt: None,
        });
        let overview = vec![
            Block::Markdown {
                text: overview_finding(zh, &outcome.label, &improve, own_components),
            },
            matrix.clone(),
        ];
        let mut blocks = vec![
            Block::Markdown { text: finding },
            matrix,
            Block::Table(Table {
                title: format!("{}{}", t("驱动因素重要性：", "Derived importance for "), outcome.label),
                columns: vec![
                    column(t("驱动因素", "Driver"), ColumnKind::Text, 0),
                    column(t("表现", "Performance"), ColumnKind::Number, decimals.score),
                    column(
                        t("标准化系数", "Std. coefficient"),
                        ColumnKind::Number,
                        decimals.coefficient,
                    ),
                    column(
                        t("非标准化系数（分/分）", "Coefficient (points per point)"),
                        ColumnKind::Number,
                        decimals.coefficient,
                    ),
                    column(
                        t("重要性（平均贡献法）", "Importance (Shapley)"),
                        ColumnKind::Percent,
                        decimals.share,
                    ),
                    column(
                        t("对 R² 的贡献（平均贡献法）", "R² contribution (Shapley)"),
                        ColumnKind::Number,
                        decimals.coefficient,
                    ),
                    column(
                        t("重要性（相对权重法）", "Importance (relative weight)"),
                        ColumnKind::Percent,
                        decimals.share,
                    ),
                    column(
                        t("对 R² 的贡献（相对权重法）", "R² contribution (relative weight)"),
                        ColumnKind::Number,
                        decimals.coefficient,
                    ),
                    column(t("象限", "Quadrant"), ColumnKind::Text, 0),
                ],
                rows,
                note: Some(if zh {
                    format!(
                            "由加权相关矩阵（成对完整样本，最小基数 {min_n}）计算：标准化回归系数，及非标准化系数（驱动因素得分每高 1 分，结果变量得分约高多少分）；两种重要性都是各因素在模型解释力（R² = {r2_text}）中所占的份额（其旁为对 R² 的绝对贡献，合计为 R²），驱动因素彼此相关时也稳健：平均贡献法（Shapley 分解）对因素进入模型的所有顺序取平均，相对权重法（Johnson）先把因素正交化。象限线为重要性与表现的平均值。"
                        )
                } else {
                    format!(
                            "From the weighted correlation matrix (pairwise complete, smallest base {min_n}): standardised regression coefficients, and unstandardised ones (points of the outcome's score per point of the driver's); LMG (Shapley) and Johnson's relative weights as shares of R² = {r2_text}, each beside its absolute contribution to R² (they sum to R²), robust to correlated drivers. Quadrant lines at the mean importance and performance."
                        )
                }),
            }),
        ];
        blocks.extend(kano);
        Ok(Report {
            overview,
            title: Some(t("驱动因素分析", "Drivers").into()),
            blocks,
        })
    }
}

impl Driver {
    /// The Kano blocks, when asked for, for all respondents, with rows.
    fn kano(
        &self,
        request: &Request,
        input: &mut Input,
        cell: &str,
        predictors: &[&NodeInfo],
        outcome: &NodeInfo,
    ) -> Vec<Block> {
        let nodes = &request.study.nodes;
        let kano = request.options.get("kano").and_then(|v| v.as_bool()).unwrap_or(true);
        let (true, Some(rows), true) = (kano, input.rows.take(), cell == "all") else {
            return vec![];
        };
        // The driver each indicator falls under (or the driver itself).
        let driver_of = |n: &NodeInfo| {
            let mut at = Some(n);
            while let Some(x) = at {
                if let Some(p) = predictors.iter().find(|p| p.id == x.id) {
                    return Some(*p);
                }
                at = x.parent.as_deref().and_then(|p| nodes.iter().find(|m| m.id == p));
            }
            None
        };
        let wanted: Vec<&str> = nodes
            .iter()
            .filter(|n| n.kind == "indicator" && driver_of(n).is_some())
            .map(|n| n.id.as_str())
            .collect();
        // One group of indicators per driver, with its parts (sub-categories,
        // indicators), for when a joint model is too thin.
        fn group<'n>(n: &'n NodeInfo, nodes: &'n [NodeInfo]) -> kano::Group<'n> {
            if n.kind == "indicator" {
                return kano::Group {
                    label: n.label.clone(),
                    indicators: vec![n.id.as_str()],
                    parts: Vec::new(),
                };
            }
            let parts: Vec<kano::Group> = nodes
                .iter()
                .filter(|c| c.parent.as_deref() == Some(n.id.as_str()))
                .filter(|c| matches!(c.kind.as_str(), "category" | "indicator"))
                .map(|c| group(c, nodes))
                .filter(|g| !g.indicators.is_empty())
                .collect();
            kano::Group {
                label: n.label.clone(),
                indicators: parts.iter().flat_map(|p| p.indicators.iter().copied()).collect(),
                parts,
            }
        }
        let groups: Vec<kano::Group> = predictors.iter().map(|p| group(p, nodes)).collect();
        kano_blocks(&request.study, rows, &outcome.id, &outcome.label, &wanted, &groups)
    }
}

/// The penalty–reward table (every indicator asked for, with its class or why it
/// has none), or a note saying why there is no analysis at all, in the language
/// and at the confidence level of `study`.
///
/// Penalties and rewards are differences in points estimated more finely than a
/// change: they and their standard errors get the study's `change` decimals plus
/// one (2 by default).
fn kano_blocks(
    study: &StudyContext,
    rows: csi_plugin_sdk::Batches,
    outcome: &str,
    outcome_label: &str,
    wanted: &[&str],
    groups: &[kano::Group],
) -> Vec<Block> {
    use kano::{Category, Class, NotClassified, PenaltyReward, MIN_CELL};
    let (zh, confidence) = (study.language.starts_with("zh"), study.confidence);
    let t = |a: &'static str, b: &'static str| if zh { a } else { b };
    let points = study.decimals.change.saturating_add(1);
    let schema = rows.schema();
    let analysis = match kano::penalty_reward(schema, rows, outcome, wanted, groups, confidence) {
        Ok(a) => a,
        Err(e) => {
            return vec![Block::Markdown {
                text: format!("{}{e}", t("未做惩罚—奖励分析：", "No penalty–reward analysis: ")),
            }]
        }
    };
    let class_text = |r: &PenaltyReward| -> String {
        match &r.estimate {
            Ok((penalty, reward)) => match (Class::of(penalty, reward), zh) {
                (Class::Performance, true) => "期望型（绩效）".into(),
                (Class::Performance, false) => "performance".into(),
                (Class::Basic, true) => "必备型（基本）".into(),
                (Class::Basic, false) => "basic (must-be)".into(),
                (Class::Excitement, true) => "魅力型（兴奋）".into(),
                (Class::Excitement, false) => "excitement".into(),
                (Class::NoEffect, true) => "惩罚与奖励均不显著，未分类".into(),
                (Class::NoEffect, false) => "not classified: neither penalty nor reward significant".into(),
                (Class::UnexpectedSign, true) => "符号异常，未分类".into(),
                (Class::UnexpectedSign, false) => "unexpected sign, not classified".into(),
            },
            Err(NotClassified::NoMiddle { points, top_box }) => {
                if zh {
                    format!("未分类：{points} 级量表、高分段为 {top_box} 档时没有中间类别（每个回答不是落在下半部分就是落在高分段）")
                } else {
                    format!("not classified: no middle category on a {points}-point scale with top box {top_box} (every answer is in the lower half or in the top box)")
                }
            }
            Err(NotClassified::TopBoxInLowerHalf { points, top_box }) => {
                if zh {
                    format!("未分类：高分段（{top_box} 档）延伸到了 {points} 级量表的下半部分")
                } else {
                    format!("not classified: the top box ({top_box} points) reaches into the lower half of the {points}-point scale")
                }
            }
            Err(NotClassified::TooFewComplete {
                n,
                indicators,
                each,
                group,
            }) => {
                let g = group.as_deref();
                match (*n, *each > 0, zh) {
                    // Nobody answered them all, but each has answers: they were
                    // asked of different customers, not left unanswered.
                    (0, true, true) => format!(
                        "未分类：{}各项指标分别询问不同的受访者（没有受访者回答全部 {indicators} 项），无法{}建立联合模型",
                        g.map_or(String::new(), |g| format!("{g}的")),
                        if g.is_some() { "为其" } else { "" }
                    ),
                    (0, true, false) => format!(
                        "not classified: {} were asked of different respondents (nobody answered all {indicators}), so there is no joint model{}",
                        g.map_or("the indicators".to_string(), |g| format!("the indicators of {g}")),
                        if g.is_some() { " for them" } else { "" }
                    ),
                    (0, false, true) => format!(
                        "未分类：{}有指标没有受访者作答，无法建立联合模型",
                        g.map_or(String::new(), |g| format!("{g}的各项指标中"))
                    ),
                    (0, false, false) => format!(
                        "not classified: some of {} have no answers, so there is no joint model",
                        g.map_or("the indicators".to_string(), |g| format!("the indicators of {g}"))
                    ),
                    (n, _, true) => format!(
                        "未分类：只有 {n} 名受访者回答了结果变量和{}全部 {indicators} 项指标（列表删除），无法建模",
                        g.map_or(String::new(), |g| format!("{g}的"))
                    ),
                    (n, _, false) => format!(
                        "not classified: only {n} respondents answered the outcome and all {indicators} indicators{} (listwise deletion), too few for the model",
                        g.map_or(String::new(), |g| format!(" of {g}"))
                    ),
                }
            }
            Err(NotClassified::Model(message)) => {
                if zh {
                    format!("未分类：该驱动因素的模型无法估计（{message}）")
                } else {
                    format!("not classified: this driver's model cannot be estimated ({message})")
                }
            }
            Err(NotClassified::TooFew { category, n }) => {
                let which = match (category, zh) {
                    (Category::Low, true) => "评分低于中点",
                    (Category::Low, false) => "rated it low",
                    (Category::Middle, true) => "评为中间档",
                    (Category::Middle, false) => "rated it in the middle",
                    (Category::Top, true) => "评入高分段",
                    (Category::Top, false) => "rated it in the top box",
                };
                if zh {
                    format!("未分类：只有 {n} 名受访者{which}（少于 {MIN_CELL}）")
                } else {
                    format!("not classified: only {n} respondents {which} (fewer than {MIN_CELL})")
                }
            }
        }
    };
    let scale_text = |s: &kano::ScaleInfo| -> String {
        let (min, max) = (s.min, s.max);
        match (s.top_two_assumed, s.lower_is_better, zh) {
            (true, false, true) => format!("{min}–{max}，最高两档（量表未设高分段）"),
            (true, false, false) => format!("top two of {min}–{max} (no top box set)"),
            (true, true, true) => format!("{min}–{max}，最低两档（越低越好，量表未设高分段）"),
            (true, true, false) => format!("lowest two of {min}–{max} (lower is better; no top box set)"),
            // The study's top box, worded as everywhere in the report.
            (false, lower, zh) => csi_plugin_sdk::words::top_box_points(min, max, s.top, lower, zh),
        }
    };
    let table_rows = analysis
        .indicators
        .iter()
        .map(|r| {
            let coefficient = |c: Option<&kano::Coefficient>| match c {
                Some(c) => [Cell::Number(c.estimate), Cell::Number(c.se)],
                None => [Cell::Empty(()), Cell::Empty(())],
            };
            let counts: Vec<Cell> = match &r.estimate {
                Err(
                    NotClassified::NoMiddle { .. }
                    | NotClassified::TopBoxInLowerHalf { .. }
                    | NotClassified::TooFewComplete { .. }
                    | NotClassified::Model(_),
                ) => {
                    vec![Cell::Empty(()); 3]
                }
                _ => r.counts.iter().map(|&n| Cell::Number(n as f64)).collect(),
            };
            let mut cells = vec![Cell::Text(r.label.clone())];
            cells.extend(coefficient(r.penalty()));
            cells.extend(coefficient(r.reward()));
            cells.extend(counts);
            cells.push(Cell::Text(class_text(r)));
            Row { cells, flags: vec![] }
        })
        .collect();

    // The note: who was used, the categories, the model and the rule.
    let level = (analysis.confidence * 1000.0).round() / 10.0;
    // The top box, stated once: each definition with the indicators it applies
    // to, the commonest last for the others (the table has no column for it).
    let mut scales: Vec<(String, Vec<&str>)> = Vec::new();
    for r in &analysis.indicators {
        let s = scale_text(&r.scale);
        match scales.iter_mut().find(|(d, _)| *d == s) {
            Some((_, labels)) => labels.push(&r.label),
            None => scales.push((s, vec![&r.label])),
        }
    }
    let top_box = match &scales[..] {
        [(only, _)] if zh => format!("高分段 = {only}"),
        [(only, _)] => format!("Top box = {only}"),
        _ => {
            let commonest = (0..scales.len())
                .rev()
                .max_by_key(|&i| scales[i].1.len())
                .expect("at least one indicator");
            let mut parts: Vec<String> = scales
                .iter()
                .enumerate()
                .filter(|&(i, _)| i != commonest)
                .map(|(_, (d, labels))| {
                    if zh {
                        format!("{}为 {d}", labels.join("、"))
                    } else {
                        format!("{d} for {}", labels.join(", "))
                    }
                })
                .collect();
            let d = &scales[commonest].0;
            parts.push(if zh {
                format!("其余指标为 {d}")
            } else {
                format!("{d} for the other indicators")
            });
            if zh {
                format!("高分段：{}", parts.join("；"))
            } else {
                format!("Top box: {}", parts.join("; "))
            }
        }
    };
    let assumed: Vec<&str> = analysis
        .indicators
        .iter()
        .filter(|r| r.scale.top_two_assumed)
        .map(|r| r.label.as_str())
        .collect();
    let (used, total) = (analysis.used, analysis.respondents);
    let too_few_complete = analysis
        .indicators
        .iter()
        .any(|r| matches!(r.estimate, Err(NotClassified::TooFewComplete { .. })));
    // Each model's base, by driver; a driver with one model per part lists its
    // parts' bases, with why.
    let base = |g: &str, m: &kano::Model| match (m.used, zh) {
        (0, true) => format!("{g} 未估计（原因见表）"),
        (0, false) => format!("{g}: none (see the table)"),
        (n, true) => format!("{g} {n} 名"),
        (n, false) => format!("{g}: {n}"),
    };
    let mut per_driver: Vec<String> = Vec::new();
    let mut models = analysis.models.iter().peekable();
    while let Some(m) = models.next() {
        let Some(g) = m.group.as_deref() else { continue };
        let Some(driver) = m.part_of.as_deref() else {
            per_driver.push(base(g, m));
            continue;
        };
        let mut parts = vec![base(g, m)];
        while let Some(next) = models.next_if(|n| n.part_of.as_deref() == Some(driver)) {
            parts.push(base(next.group.as_deref().unwrap_or_default(), next));
        }
        let why = match (m.part_of_complete, zh) {
            (0, true) => "其各项指标分别询问不同的受访者".to_string(),
            (0, false) => "its indicators were asked of different respondents".to_string(),
            (c, true) => format!("只有 {c} 名受访者回答了其全部指标"),
            (c, false) => format!("only {c} respondents answered all its indicators"),
        };
        per_driver.push(if zh {
            format!("{driver}（{why}，按下一级分别建模：{}）", parts.join("、"))
        } else {
            format!("{driver} ({why}, so one model per part: {})", parts.join(", "))
        });
    }
    let eligible = analysis
        .indicators
        .iter()
        .filter(|r| {
            !matches!(
                r.estimate,
                Err(NotClassified::NoMiddle { .. } | NotClassified::TopBoxInLowerHalf { .. })
            )
        })
        .count();
    let mut note = if !per_driver.is_empty() {
        let weighted = analysis.weighted;
        match (analysis.complete, zh) {
            (0, true) => format!("部分指标分别询问不同的受访者，没有受访者回答了{outcome_label}及全部 {eligible} 项指标，无法建立一个联合模型，因此每个驱动因素单独建模（各自对回答了{outcome_label}及该因素全部已分类指标的受访者作{}最小二乘回归，列表删除；缺答者不会被当作参照组）：{}。", if weighted { "加权" } else { "" }, per_driver.join("，")),
            (c, true) => format!("只有 {c} 名受访者回答了{outcome_label}及全部 {eligible} 项指标，不足以建立一个联合模型，因此每个驱动因素单独建模（各自对回答了{outcome_label}及该因素全部已分类指标的受访者作{}最小二乘回归，列表删除；缺答者不会被当作参照组）：{}。", if weighted { "加权" } else { "" }, per_driver.join("，")),
            (0, false) => format!("Some indicators were asked of different respondents: none of the {total} answered {outcome_label} and all {eligible} indicators, so there is no joint model and each driver has its own ({} over the respondents who answered {outcome_label} and all of that driver's classified indicators; listwise deletion, a missing answer is never the reference): {}. ", if weighted { "weighted least squares" } else { "least squares" }, per_driver.join("; ")),
            (c, false) => format!("Only {c} of {total} respondents answered {outcome_label} and all {eligible} indicators, too few for one joint model, so each driver has its own model ({} over the respondents who answered {outcome_label} and all of that driver's classified indicators; listwise deletion, a missing answer is never the reference): {}. ", if weighted { "weighted least squares" } else { "least squares" }, per_driver.join("; ")),
        }
    } else {
        String::new()
    };
    note.push_str(&if zh {
        let sample = if !per_driver.is_empty() {
            String::new()
        } else if used > 0 {
            format!(
                "对 {total} 名受访者中的 {used} 名作{}最小二乘回归，即回答了{outcome_label}及全部已分类指标的受访者（列表删除；缺答者不会被当作参照组）。",
                if analysis.weighted { "加权" } else { "" }
            )
        } else if too_few_complete && analysis.complete == 0 {
            format!("{total} 名受访者中没有人回答了{outcome_label}及全部 {eligible} 项可分析的指标（各指标分别询问不同的受访者，或有指标无人作答），列表删除后无法建模，因此未作回归：请一次分析较少的指标（选项 `within`，如一个类别）。")
        } else if too_few_complete {
            format!(
                "{total} 名受访者中只有 {} 名回答了{outcome_label}及全部可分析的指标，列表删除后无法建模，因此未作回归：请一次分析较少的指标（选项 `within`，如一个类别）。",
                analysis.complete
            )
        } else {
            format!("{total} 名受访者中，没有可以估计的指标（原因见表），因此未作回归。")
        };
        format!(
            "{sample}结果变量为{outcome_label}（0–100 分），每个指标两个虚拟变量：“低于中点”（量表下半部分，得分低于 50）与“高分段”，中间档为参照组；{top_box}。惩罚 = −低于中点的系数（评分低于中点相对于中间档失去的分数），奖励 = 高分段系数（评入高分段增加的分数），均不截断；标准误为稳健标准误（不假定误差方差相等，即抽样权重下的线性化方差）。按 {level}% 置信水平（双侧区间，各指标分别判断，未作多重比较校正）分类：惩罚与奖励均显著大于 0 为期望型（绩效），仅惩罚显著为必备型（基本），仅奖励显著为魅力型（兴奋）；两者均不显著则不分类；惩罚或奖励显著为负记为符号异常，不分类。量表没有中间类别、或某一类别少于 {MIN_CELL} 人的指标不分类，也不进入模型。"
        )
    } else {
        let sample = if !per_driver.is_empty() {
            String::new()
        } else if used > 0 {
            format!(
                "{} over {used} of {total} respondents: those who answered {outcome_label} and every classified indicator (listwise deletion; a missing answer is never the reference). ",
                if analysis.weighted { "Weighted least squares" } else { "Least squares" }
            )
        } else if too_few_complete && analysis.complete == 0 {
            format!("None of {total} respondents answered {outcome_label} and all {eligible} indicators analysable on their scale (they were asked of different respondents, or some have no answers), so there is no regression: classify fewer indicators at a time (option `within`, e.g. one category). ")
        } else if too_few_complete {
            format!(
                "Only {} of {total} respondents answered {outcome_label} and every indicator analysable on its scale, too few after listwise deletion, so there is no regression: classify fewer indicators at a time (option `within`, e.g. one category). ",
                analysis.complete
            )
        } else {
            format!("Of {total} respondents: no indicator could be estimated (see the table for why), so there is no regression. ")
        };
        format!(
            "{sample}{outcome_label} (0–100) on two dummies per indicator: a low rating (the lower half of the scale, a score below 50) and a top-box rating; the middle answers are the reference. {top_box}. Penalty = −low coefficient (points lost by a low rating against a middle one), reward = top-box coefficient (points gained by a top-box rating), neither clamped; standard errors heteroskedasticity-robust (HC1, the linearised variance for sampling weights). Classes at {level}% confidence (two-sided intervals, each indicator on its own, without multiple-comparison adjustment): performance when both penalty and reward are significantly above 0, basic (must-be) when only the penalty is, excitement when only the reward is; not classified when neither is; a significantly negative penalty or reward is an unexpected sign, not classified. An indicator whose scale has no middle category, or with fewer than {MIN_CELL} respondents in a category, is not classified and not in the model."
        )
    });
    if !assumed.is_empty() {
        note.push_str(&if zh {
            format!("{}的量表未设高分段，按最高两档计。", assumed.join("、"))
        } else {
            format!(
                " The scale of {} sets no top box: its top two points are used.",
                assumed.join(", ")
            )
        });
    }
    if !analysis.not_rating_scales.is_empty() {
        note.push_str(&if zh {
            format!("非评分量表、未纳入：{}。", analysis.not_rating_scales.join("、"))
        } else {
            format!(
                " Left out, not rating scales: {}.",
                analysis.not_rating_scales.join(", ")
            )
        });
    }
    vec![Block::Table(Table {
        title: format!(
            "{}{outcome_label}",
            t(
                "Kano 类型估计（惩罚—奖励分析）：",
                "Kano classes estimated by penalty–reward analysis: "
            )
        ),
        // Short headers: the note says what each figure is, and the top box.
        columns: vec![
            column(t("指标", "Indicator"), ColumnKind::Text, 0),
            column(t("惩罚", "Penalty"), ColumnKind::Number, points),
            column(t("惩罚标准误", "Penalty SE"), ColumnKind::Number, points),
            column(t("奖励", "Reward"), ColumnKind::Number, points),
            column(t("奖励标准误", "Reward SE"), ColumnKind::Number, points),
            column(t("低于中点人数", "n low"), ColumnKind::Count, 0),
            column(t("中间人数", "n middle"), ColumnKind::Count, 0),
            column(t("高分段人数", "n top box"), ColumnKind::Count, 0),
            column(t("类型", "Class"), ColumnKind::Text, 0),
        ],
        rows: table_rows,
        note: Some(note),
    })]
}

csi_plugin_sdk::export_plugin!(
    Driver,
    name = "driver",
    version = env!("CARGO_PKG_VERSION"),
    description = "Derived importance of categories or indicators and the importance-performance matrix"
);

/// Why the drivers of `outcome` cannot be estimated in `cell` of `wave`, in Chinese
/// and English, when the data are degenerate: no respondent answered both the
/// outcome and a driver, fewer than two did, or the outcome or a driver is the same
/// for everyone who answered both (no variance to explain or to explain with).
fn degenerate(
    stats: &Statistics,
    wave: &str,
    cell: &str,
    predictors: &[&NodeInfo],
    outcome: &NodeInfo,
) -> Option<(String, String)> {
    for p in predictors {
        let Some(pair) = stats.cross(wave, cell, &p.id, &outcome.id).filter(|c| c.n >= 2) else {
            let n = stats.cross(wave, cell, &p.id, &outcome.id).map_or(0, |c| c.n);
            return Some((
                format!(
                    "**无法估计{}的驱动因素重要性：同时回答了{}与{}的受访者只有 {n} 位**，不足以估计相关关系。",
                    outcome.label, outcome.label, p.label
                ),
                format!(
                    "**No derived importance for {}: only {n} respondent(s) answered both {} and {}**, too few to estimate a correlation.",
                    outcome.label, outcome.label, p.label
                ),
            ));
        };
        if pair.y_constant() {
            return Some((
                format!(
                    "**无法估计{}的驱动因素重要性：本期所有作答者对{}的评价都相同**（没有差异），因此没有可以由驱动因素解释的差异。",
                    outcome.label, outcome.label
                ),
                format!(
                    "**No derived importance for {}: every respondent gave {} the same rating this wave** (no variation), so there is nothing for the drivers to explain.",
                    outcome.label, outcome.label
                ),
            ));
        }
        if pair.x_constant() {
            return Some((
                format!(
                    "**无法估计{}的驱动因素重要性：本期所有作答者对{}的评价都相同**（没有差异），它无法解释{}的差异；请把它从驱动因素中去掉，或选择其他驱动因素。",
                    outcome.label, p.label, outcome.label
                ),
                format!(
                    "**No derived importance for {}: every respondent gave {} the same rating this wave** (no variation), so it cannot explain differences in {}; leave it out of the drivers or choose others.",
                    outcome.label, p.label, outcome.label
                ),
            ));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::overview_finding;

    #[test]
    fn the_overview_names_at_most_three_and_says_when_there_are_none() {
        let none = overview_finding(true, "总体满意度", &[], false);
        assert!(none.contains("没有“优先改进”的驱动因素"), "{none}");
        let two = overview_finding(false, "Overall", &["A", "B"], false);
        assert!(two.ends_with("most important first): A and B."), "{two}");
        let five = overview_finding(true, "总体满意度", &["A", "B", "C", "D", "E"], false);
        assert!(five.contains("5 个驱动因素") && five.ends_with("：A、B、C。"), "{five}");
        let en = overview_finding(false, "Overall", &["A", "B", "C", "D"], false);
        assert!(en.ends_with("the three most important: A, B and C."), "{en}");
        assert!(overview_finding(false, "Overall", &[], false).contains("no driver is to **improve first**"));
    }
}
