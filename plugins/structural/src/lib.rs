//! # csi-plugin-structural: the structural satisfaction index
//!
//! The study's `structural:` model (constructs measured by its items, the paths
//! between them) estimated by PLS path modelling, as the ACSI and the ECSI compute
//! their indices: path coefficients and R², outer weights and loadings, total
//! effects, measurement quality (Cronbach's alpha, ρ_A, ρ_C, AVE, HTMT) with the
//! usual thresholds marked, bootstrap standard errors and percentile intervals, the
//! 0–100 index of every construct for all respondents and each segment's groups,
//! and the importance–performance map of the target construct's drivers.
//!
//! The estimation is `csi_stats::pls`. The plugin reads the respondent rows (fed
//! by the statistics pass when csi runs it in process): every item rescaled to
//! 0–100 in its direction (so a lower-is-better item counts the right way round),
//! respondents who answered every item of the model (listwise deletion, as the
//! reference implementations require), their weights as sampling weights
//! (weighted standardisation and correlations). The bootstrap resamples those
//! respondents with replacement, each keeping its weight, seeded by the study's
//! seed and the wave id: a published wave keeps its intervals byte for byte.
//! Construct indices apply the model's unstandardised, normalised outer weights
//! to the item scores the report publishes for each group of respondents.

use csi_plugin_sdk::arrow_array::cast::AsArray;
use csi_plugin_sdk::arrow_array::types::Float64Type;
use csi_plugin_sdk::arrow_array::{Array, RecordBatch};
use csi_plugin_sdk::arrow_schema::SchemaRef;
use csi_plugin_sdk::csi_blocks::wire::StructuralInfo;
use csi_plugin_sdk::csi_blocks::{DiagramEdge, DiagramNode, Interval};
use csi_plugin_sdk::csi_stats::pls::{self, Construct, Mode, PathModel, PlsEstimate, Scheme, Settings};
use csi_plugin_sdk::csi_stats::resample::{self, BootstrapSummary};
use csi_plugin_sdk::prelude::*;
use csi_plugin_sdk::words;

/// The plugin.
#[derive(Default)]
pub struct Structural;

/// The most values (respondents × items) held in memory for the bootstrap: 16 M,
/// 128 MiB. Beyond it the estimate is still computed (from sums streamed over the
/// rows) and the page says why there are no intervals.
const HELD_VALUES: usize = 16 << 20;

/// Thresholds the field reads measurement quality against (Hair et al., *A Primer
/// on PLS-SEM*): loadings 0.708, reliabilities 0.70, AVE 0.50, HTMT 0.85.
const LOADING: f64 = 0.708;
const RELIABILITY: f64 = 0.70;
const AVE: f64 = 0.50;
const HTMT: f64 = 0.85;

/// An item of the model as the rows carry it.
struct Item {
    node: String,
    label: String,
    /// Its column in the rows.
    column: usize,
    min: f64,
    max: f64,
    lower_is_better: bool,
}

impl Item {
    /// The answer on 0–100, higher better.
    fn score(&self, x: f64) -> f64 {
        let s = (x - self.min) / (self.max - self.min) * 100.0;
        if self.lower_is_better {
            100.0 - s
        } else {
            s
        }
    }
}

/// The respondents who answered every item of the model: their 0–100 scores
/// (held row after row while they fit [`HELD_VALUES`]) and weights, and streamed
/// weighted sums about a shift (the first respondent's scores) for the
/// correlations when they do not.
struct Sample {
    p: usize,
    rows: Vec<f64>,
    weights: Vec<f64>,
    held: bool,
    /// Respondents who answered every item.
    n: usize,
    /// Respondents read.
    read: usize,
    sum_w: f64,
    shift: Vec<f64>,
    s1: Vec<f64>,
    /// Upper triangle, `a * p + b` with `a <= b`.
    s2: Vec<f64>,
    /// A respondent's scores less the shift (reused).
    d: Vec<f64>,
}

impl Sample {
    fn new(p: usize) -> Self {
        Sample {
            p,
            rows: Vec::new(),
            weights: Vec::new(),
            held: true,
            n: 0,
            read: 0,
            sum_w: 0.0,
            shift: Vec::new(),
            s1: vec![0.0; p],
            s2: vec![0.0; p * p],
            d: Vec::with_capacity(p),
        }
    }

    fn add(&mut self, scores: &[f64], w: f64) {
        let p = self.p;
        if self.shift.is_empty() {
            self.shift = scores.to_vec();
        }
        self.n += 1;
        self.sum_w += w;
        self.d.clear();
        self.d.extend(scores.iter().zip(&self.shift).map(|(x, s)| x - s));
        for (a, &da) in self.d.iter().enumerate() {
            self.s1[a] += w * da;
            let wa = w * da;
            for (b, &db) in self.d.iter().enumerate().skip(a) {
                self.s2[a * p + b] += wa * db;
            }
        }
        if self.held {
            if (self.n * p) > HELD_VALUES {
                self.held = false;
                self.rows = Vec::new();
                self.weights = Vec::new();
            } else {
                self.rows.extend_from_slice(scores);
                self.weights.push(w);
            }
        }
    }

    /// The weighted correlations, means and standard deviations of the scores:
    /// two passes over the held rows, else from the streamed sums.
    fn moments(&self) -> (Vec<Vec<f64>>, Vec<f64>, Vec<f64>) {
        let p = self.p;
        if self.held {
            let r = pls::weighted_correlations_of(&self.rows, p, &self.weights);
            let w: f64 = self.weights.iter().sum();
            let means: Vec<f64> = (0..p)
                .map(|a| (0..self.n).map(|i| self.weights[i] * self.rows[i * p + a]).sum::<f64>() / w)
                .collect();
            let sds = (0..p)
                .map(|a| {
                    let ss: f64 = (0..self.n)
                        .map(|i| self.weights[i] * (self.rows[i * p + a] - means[a]).powi(2))
                        .sum();
                    (ss / w).sqrt()
                })
                .collect();
            return (r, means, sds);
        }
        let w = self.sum_w;
        let mean_d: Vec<f64> = self.s1.iter().map(|s| s / w).collect();
        let cov = |a: usize, b: usize| {
            let (a, b) = (a.min(b), a.max(b));
            self.s2[a * p + b] / w - mean_d[a] * mean_d[b]
        };
        let sds: Vec<f64> = (0..p).map(|a| cov(a, a).max(0.0).sqrt()).collect();
        let r = (0..p)
            .map(|a| (0..p).map(|b| cov(a, b) / (sds[a] * sds[b])).collect())
            .collect();
        let means = (0..p).map(|a| self.shift[a] + mean_d[a]).collect();
        (r, means, sds)
    }
}

/// Why the rows cannot feed the model: an item they do not carry (a question not
/// asked in this wave), said on the page; or anything else, an error.
enum Unusable {
    NotAsked(String),
    Other(String),
}

/// The model's items in the rows, in the order of the constructs' items.
fn items(schema: &SchemaRef, model: &StructuralInfo) -> Result<(Vec<Item>, Option<usize>), Unusable> {
    let meta = |i: usize, k: &str| schema.field(i).metadata().get(k).cloned();
    let num = |i: usize, k: &str| meta(i, k).and_then(|v| v.parse::<f64>().ok());
    let weight = (0..schema.fields().len()).find(|&i| meta(i, "csi.role").as_deref() == Some("weight"));
    let mut out = Vec::new();
    for node in model.constructs.iter().flat_map(|c| &c.items) {
        let column = (0..schema.fields().len())
            .find(|&i| meta(i, "csi.role").as_deref() == Some("answer") && meta(i, "csi.node").as_deref() == Some(node))
            .ok_or_else(|| Unusable::NotAsked(node.clone()))?;
        let (Some(min), Some(max)) = (num(column, "csi.min"), num(column, "csi.max")) else {
            return Err(Unusable::Other(format!("item `{node}` has no scale in the rows")));
        };
        out.push(Item {
            node: node.clone(),
            label: meta(column, "csi.label").unwrap_or_else(|| node.clone()),
            column,
            min,
            max,
            lower_is_better: meta(column, "csi.direction").as_deref() == Some("lower_is_better"),
        });
    }
    Ok((out, weight))
}

/// Reads the rows into a [`Sample`].
fn sample<I>(rows: I, items: &[Item], weight: Option<usize>) -> Result<Sample, String>
where
    I: IntoIterator<Item = Result<RecordBatch, String>>,
{
    let mut sample = Sample::new(items.len());
    let mut scores = vec![0.0; items.len()];
    for batch in rows {
        let batch = batch?;
        let columns: Vec<_> = items
            .iter()
            .map(|it| batch.column(it.column).as_primitive_opt::<Float64Type>())
            .collect::<Option<Vec<_>>>()
            .ok_or("the rows' answers are not numbers (float64)")?;
        let weights = weight.and_then(|w| batch.column(w).as_primitive_opt::<Float64Type>());
        'row: for r in 0..batch.num_rows() {
            sample.read += 1;
            let w = match weights {
                Some(ws) if ws.is_null(r) => continue,
                Some(ws) => ws.value(r),
                None => 1.0,
            };
            if !(w > 0.0 && w.is_finite()) {
                continue;
            }
            for ((s, it), col) in scores.iter_mut().zip(items).zip(&columns) {
                if col.is_null(r) || !col.value(r).is_finite() {
                    continue 'row;
                }
                *s = it.score(col.value(r));
            }
            sample.add(&scores, w);
        }
    }
    Ok(sample)
}

/// The model in `csi_stats::pls` terms, over the columns of [`items`].
fn path_model(model: &StructuralInfo) -> Result<(PathModel, Settings), String> {
    let mut next = 0;
    let constructs = model
        .constructs
        .iter()
        .map(|c| {
            let indicators = (next..next + c.items.len()).collect();
            next += c.items.len();
            Construct {
                name: c.label.clone(),
                indicators,
                mode: if c.mode == "B" { Mode::B } else { Mode::A },
            }
        })
        .collect();
    let at = |id: &str| {
        model
            .constructs
            .iter()
            .position(|c| c.id == id)
            .ok_or_else(|| format!("path names `{id}`, which is not a construct"))
    };
    let paths = model
        .paths
        .iter()
        .map(|[f, t]| Ok((at(f)?, at(t)?)))
        .collect::<Result<Vec<_>, String>>()?;
    let scheme = match model.scheme.as_str() {
        "centroid" => Scheme::Centroid,
        "factorial" => Scheme::Factorial,
        _ => Scheme::Path,
    };
    Ok((
        PathModel { constructs, paths },
        Settings {
            scheme,
            max_iterations: model.max_iterations as usize,
            tolerance: model.tolerance,
        },
    ))
}

/// The figures of one estimate the bootstrap summarises, in a fixed order:
/// paths, R² of the endogenous constructs, total effects on the target, outer
/// weights, loadings.
fn figures(e: &PlsEstimate, endogenous: &[usize], target: usize) -> Vec<f64> {
    let mut out = e.paths.clone();
    out.extend(endogenous.iter().map(|&j| e.r_squared[j].unwrap_or(0.0)));
    out.extend((0..e.total_effects.len()).map(|j| e.total_effects[j][target]));
    out.extend(e.outer_weights.iter().flatten());
    out.extend(e.loadings.iter().flatten());
    out
}

/// The bootstrap's summaries, one per figure of [`figures`]; and how many
/// replicates could not be estimated.
fn bootstrapped(
    sample: &Sample,
    model: &PathModel,
    settings: &Settings,
    draws: pls::Draws,
    endogenous: &[usize],
    target: usize,
    confidence: f64,
) -> (Vec<Option<BootstrapSummary>>, usize) {
    let runs = pls::bootstrap(&sample.rows, sample.p, &sample.weights, model, settings, draws);
    let ok: Vec<Vec<f64>> = runs
        .iter()
        .filter_map(|r| r.as_ref().ok())
        .map(|e| figures(e, endogenous, target))
        .collect();
    let failed = runs.len() - ok.len();
    let k = ok.first().map_or(0, Vec::len);
    let summaries = (0..k)
        .map(|f| {
            let values: Vec<f64> = ok.iter().map(|v| v[f]).collect();
            resample::bootstrap_summary(&values, confidence)
        })
        .collect();
    (summaries, failed)
}

/// The seed of a wave's bootstrap: the study's seed mixed with the wave id's hash.
pub fn wave_seed(seed: u64, wave: &str) -> u64 {
    resample::splitmix64(seed ^ resample::fnv1a64(wave.as_bytes()))
}

impl Analysis for Structural {
    fn describe(&self) -> Description {
        let mut d = Description::statistics();
        // The rows first (to estimate the model), the statistics after (the
        // published item scores of every group, for the construct indices).
        d.inputs = Inputs::Both;
        d
    }

    fn run(&self, request: &Request, input: Input) -> Result<Report, String> {
        csi_plugin_sdk::tidy::tidied(request, analyse(request, input))
    }
}

/// Words in the study's language.
struct Words {
    zh: bool,
}

impl Words {
    fn t(&self, zh: &'static str, en: &'static str) -> &'static str {
        if self.zh {
            zh
        } else {
            en
        }
    }
}

fn analyse(request: &Request, mut input: Input) -> Result<Report, String> {
    let zh = request.study.language.starts_with("zh");
    let words = Words { zh };
    let t = |a, b| words.t(a, b);
    let title = t("结构方程模型（满意度指数模型）", "Structural model");
    let model = request.study.structural.as_ref().ok_or(
        "the study declares no structural model: add a `structural:` section with its `constructs` and `paths` (see docs/study-format.md)",
    )?;
    let rows = input
        .rows
        .take()
        .ok_or("the structural analysis needs the respondent rows")?;
    let (items, weight) = match items(&rows.schema(), model) {
        Ok(found) => found,
        Err(Unusable::Other(e)) => return Err(e),
        Err(Unusable::NotAsked(node)) => {
            let name = request
                .study
                .nodes
                .iter()
                .find(|n| n.id == node)
                .map_or(node.clone(), |n| n.label.clone());
            return Ok(Report::new(
                title,
                vec![Block::Markdown {
                    text: if zh {
                        format!("本期数据中没有题目“{name}”的回答（本期未询问该题，或其数据列与另一题共用），而结构方程模型需要模型的全部题目，因此本期不估计该模型。")
                    } else {
                        format!("This wave's rows carry no answers for the item “{name}” (it was not asked in this wave, or its column is shared with another item), and the structural model needs every one of its items, so it is not estimated for this wave.")
                    },
                }],
            ));
        }
    };
    let sample = sample(rows, &items, weight)?;
    let stats = Statistics::read(&input.statistics_batches()?)?;
    let (pm, settings) = path_model(model)?;
    let k = pm.constructs.len();
    let target = model.constructs.iter().position(|c| c.id == model.target).unwrap_or(0);
    let page = |text: String| Report::new(title, vec![Block::Markdown { text }]);

    // Enough complete answers, and every item varying among them.
    let needed = (items.len() + 10).max(30);
    if sample.n < needed {
        return Ok(page(if zh {
            format!(
                "本期只有 {} 位受访者回答了模型的全部 {} 个题目（共 {} 位受访者），不足以估计结构方程模型（至少需要 {} 位）。",
                sample.n,
                items.len(),
                sample.read,
                needed
            )
        } else {
            format!(
                "Only {} of the wave's {} respondents answered all {} items of the structural model: too few to estimate it (at least {} are needed).",
                sample.n,
                sample.read,
                items.len(),
                needed
            )
        }));
    }
    let (r, means, sds) = sample.moments();
    if let Some(flat) = items.iter().zip(&sds).find(|(_, &sd)| sd.is_nan() || sd <= 1e-12) {
        return Ok(page(if zh {
            format!(
                "题目“{}”在回答全部题目的受访者中没有变化（所有人答案相同），其权重和载荷无法估计；请从模型中去掉它。",
                flat.0.label
            )
        } else {
            format!(
                "Every respondent who answered all items gave “{}” the same answer, so its weight and loading cannot be estimated; remove it from the model.",
                flat.0.label
            )
        }));
    }
    let estimate = match pls::estimate(&r, &pm, &settings) {
        Ok(e) => e,
        Err(e) => {
            return Ok(page(if zh {
                format!("结构方程模型无法估计：{e}。")
            } else {
                format!("The structural model cannot be estimated: {e}.")
            }))
        }
    };
    let endogenous: Vec<usize> = (0..k).filter(|&j| estimate.r_squared[j].is_some()).collect();
    let confidence = request.study.confidence;
    let replicates = model.replicates as usize;
    let (boot, failed) = if replicates > 0 && sample.held {
        let draws = pls::Draws {
            replicates,
            seed: wave_seed(model.seed, &request.wave),
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
        };
        bootstrapped(&sample, &pm, &settings, draws, &endogenous, target, confidence)
    } else {
        (Vec::new(), 0)
    };
    let summary = |f: usize| boot.get(f).copied().flatten();
    let n_paths = estimate.paths.len();
    let at_total = n_paths + endogenous.len();
    let at_weights = at_total + k;
    let n_items = items.len();
    let at_loadings = at_weights + n_items;

    let label = |j: usize| model.constructs[j].label.clone();
    let dec = request.study.decimals;
    let level = format!("{:.0}%", confidence * 100.0);
    let mut blocks = Vec::new();

    // Construct indices: for all respondents and each group, from the published
    // item scores.
    // Per construct: its items' unstandardised weights normalised to sum to 1, or
    // `None` when they do not sum to a positive number (mixed signs: the index
    // would not lie between the scale's ends, as `pls::construct_index` says).
    let unstandardised: Vec<Option<Vec<f64>>> = pm
        .constructs
        .iter()
        .enumerate()
        .map(|(j, c)| {
            let raw: Vec<f64> = c
                .indicators
                .iter()
                .zip(&estimate.outer_weights[j])
                .map(|(&x, w)| w / sds[x])
                .collect();
            let total: f64 = raw.iter().sum();
            (total.is_finite() && total > 0.0).then(|| raw.iter().map(|w| w / total).collect())
        })
        .collect();
    let index_in = |j: usize, cell: &str| -> Option<(f64, u64)> {
        let c = &pm.constructs[j];
        let weights = unstandardised[j].as_ref()?;
        let mut value = 0.0;
        let mut n = u64::MAX;
        for (&x, w) in c.indicators.iter().zip(weights) {
            let e = stats.get(&request.wave, cell, &items[x].node, "score")?;
            value += w * e.mean?;
            n = n.min(e.n);
        }
        // With a negative weight the index can leave 0–100: then it is withheld.
        (0.0..=100.0).contains(&value).then_some((value, n))
    };
    // The estimation sample's own index (its means), beside the published one.
    let sample_index = |j: usize| {
        pls::construct_index(
            &pm,
            &estimate,
            j,
            &means,
            &sds,
            &vec![0.0; n_items],
            &vec![100.0; n_items],
        )
    };

    let target_index = index_in(target, "all").map(|(v, _)| v).or_else(|| sample_index(target));
    if let Some(v) = target_index {
        let r2 = estimate.r_squared[target];
        blocks.push(Block::Headline {
            label: if zh {
                format!("{}指数（结构方程模型）", label(target))
            } else {
                format!("{} index (structural model)", label(target))
            },
            value: v,
            decimals: dec.score,
            note: Some(match r2 {
                Some(r2) if zh => format!(
                    "R² = {}，{} 位受访者回答了全部题目",
                    words::fixed(r2, dec.coefficient),
                    sample.n
                ),
                Some(r2) => format!(
                    "R² = {} · {} respondents answered every item",
                    words::fixed(r2, dec.coefficient),
                    sample.n
                ),
                None if zh => format!("{} 位受访者回答了全部题目", sample.n),
                None => format!("{} respondents answered every item", sample.n),
            }),
            signed: false,
        });
    }

    // The finding: the target's strongest driver, and the weakest performer among
    // its drivers.
    let drivers: Vec<usize> = (0..k)
        .filter(|&j| j != target && estimate.total_effects[j][target].abs() > 1e-12)
        .collect();
    if let Some(&top) = drivers
        .iter()
        .max_by(|&&a, &&b| estimate.total_effects[a][target].total_cmp(&estimate.total_effects[b][target]))
    {
        let effect = words::fixed(estimate.total_effects[top][target], dec.coefficient);
        let mut text = if zh {
            format!(
                "对**{}**影响最大的是**{}**（总效应 {}）：它每提高一个标准差，{}约提高 {} 个标准差。",
                label(target),
                label(top),
                effect,
                label(target),
                effect
            )
        } else {
            format!(
                "**{}** has the largest effect on **{}** (total effect {}): one standard deviation more of it goes with about {} of a standard deviation more of {}.",
                label(top),
                label(target),
                effect,
                effect,
                label(target)
            )
        };
        // The map's "improve first" drivers: more important than the drivers'
        // average, performing below theirs.
        let performance: Vec<(usize, f64, f64)> = drivers
            .iter()
            .filter_map(|&j| index_in(j, "all").map(|(v, _)| (j, estimate.total_effects[j][target], v)))
            .collect();
        if performance.len() >= 2 {
            let count = performance.len() as f64;
            let mean_effect = performance.iter().map(|p| p.1).sum::<f64>() / count;
            let mean_index = performance.iter().map(|p| p.2).sum::<f64>() / count;
            let first: Vec<&(usize, f64, f64)> = performance
                .iter()
                .filter(|p| p.1 > mean_effect && p.2 < mean_index)
                .collect();
            let names = |list: &[&(usize, f64, f64)]| {
                list.iter()
                    .map(|p| {
                        if zh {
                            format!("**{}**（指数 {}）", label(p.0), words::fixed(p.2, dec.score))
                        } else {
                            format!("**{}** (index {})", label(p.0), words::fixed(p.2, dec.score))
                        }
                    })
                    .collect::<Vec<_>>()
                    .join(if zh { "、" } else { ", " })
            };
            text.push_str(&match (first.is_empty(), zh) {
                (false, true) => format!(
                    "{}对{}的影响高于驱动因素的平均水平、表现却低于平均：应优先改进。",
                    names(&first),
                    label(target)
                ),
                (false, false) => format!(
                    " {} {} more than the average driver and {} below the drivers' average: improve first.",
                    names(&first),
                    if first.len() == 1 { "matters" } else { "matter" },
                    if first.len() == 1 { "performs" } else { "perform" }
                ),
                (true, true) => {
                    "没有哪个驱动因素既影响高于平均、表现又低于平均：影响较大的驱动因素表现也较好，宜保持。".to_string()
                }
                (true, false) => " No driver both matters more than average and performs below average: the drivers that matter most also perform well; keep them up.".to_string(),
            });
        }
        blocks.push(Block::Markdown { text });
    }

    // The model as a diagram: constructs, R², paths (solid where the bootstrap
    // interval excludes 0).
    let with_intervals = boot.iter().any(Option::is_some);
    let no_intervals_why = if !sample.held {
        t("样本过大，未做自助法", "the sample is too large for the bootstrap")
    } else if replicates == 0 {
        t("未做自助法", "no bootstrap was asked for")
    } else {
        t("自助法重抽样均无法估计", "no bootstrap resample could be estimated")
    };
    blocks.push(Block::Chart(Chart {
        title: t(
            "结构方程模型：路径系数与 R²",
            "The structural model: path coefficients and R²",
        )
        .into(),
        spec: ChartKind::PathDiagram {
            nodes: (0..k)
                .map(|j| DiagramNode {
                    label: label(j),
                    note: estimate.r_squared[j].map(|r2| format!("R² {}", words::fixed(r2, dec.coefficient))),
                })
                .collect(),
            edges: pm
                .paths
                .iter()
                .enumerate()
                .map(|(q, &(from, to))| DiagramEdge {
                    from,
                    to,
                    label: words::fixed(estimate.paths[q], dec.coefficient),
                    strong: !with_intervals || summary(q).is_some_and(|s| s.low > 0.0 || s.high < 0.0),
                })
                .collect(),
        },
        alt: Some(if zh {
            format!(
                "路径图：{} 个潜变量、{} 条路径；{}",
                k,
                pm.paths.len(),
                if with_intervals {
                    "实线为显著路径（区间不含 0），虚线为不显著路径。".to_string()
                } else {
                    format!("{no_intervals_why}，所有路径以实线表示。")
                }
            )
        } else {
            format!(
                "Path diagram: {} constructs, {} paths; {}",
                k,
                pm.paths.len(),
                if with_intervals {
                    "solid arrows are significant (their interval excludes 0), dashed ones are not.".to_string()
                } else {
                    format!("{no_intervals_why}, so every arrow is drawn solid.")
                }
            )
        }),
    }));

    blocks.push(Block::Markdown {
        text: if with_intervals {
            if zh {
                format!("实线：显著的路径（{level} 区间不含 0）；虚线：不显著。方框内为各潜变量的 R²。")
            } else {
                format!("Solid arrows: significant paths (their {level} interval excludes 0); dashed: not significant. R² in the boxes.")
            }
        } else if zh {
            format!("{no_intervals_why}，无法判断显著性，所有路径以实线表示。方框内为各潜变量的 R²。")
        } else {
            format!("No significance: {no_intervals_why}, so every arrow is drawn solid. R² in the boxes.")
        },
    });

    // Importance–performance map of the target's drivers.
    let points: Vec<Point> = drivers
        .iter()
        .filter_map(|&j| {
            let (v, _) = index_in(j, "all")?;
            Some(Point {
                label: label(j),
                x: estimate.total_effects[j][target],
                y: v,
                highlight: false,
            })
        })
        .collect();
    if points.len() >= 2 {
        let mean = |f: &dyn Fn(&Point) -> f64| points.iter().map(f).sum::<f64>() / points.len() as f64;
        let (x_line, y_line) = (mean(&|p| p.x), mean(&|p| p.y));
        let mut points = points;
        for p in &mut points {
            p.highlight = p.x > x_line && p.y < y_line;
        }
        blocks.push(Block::Chart(Chart {
            title: if zh {
                format!("重要性–表现矩阵：{}的驱动因素", label(target))
            } else {
                format!("Importance–performance map: the drivers of {}", label(target))
            },
            spec: ChartKind::Scatter {
                points,
                x_label: if zh {
                    format!("对{}的标准化总效应（重要性）", label(target))
                } else {
                    format!("Standardised total effect on {} (importance)", label(target))
                },
                y_label: t("指数（表现，0–100）", "Index (performance, 0–100)").into(),
                x_line: Some(x_line),
                y_line: Some(y_line),
                quadrants: Some(if zh {
                    ["次要优势", "保持优势", "次要改进", "优先改进"].map(String::from)
                } else {
                    ["Secondary strengths", "Keep up", "Low priority", "Improve first"].map(String::from)
                }),
            },
            alt: None,
        }));
    }

    // Path coefficients.
    let interval = |s: Option<BootstrapSummary>| match s {
        Some(s) => (
            Cell::Number(s.se),
            Cell::Interval(Interval {
                low: s.low,
                high: s.high,
            }),
        ),
        None => (Cell::Empty(()), Cell::Empty(())),
    };
    let significance = |s: Option<BootstrapSummary>| match s {
        Some(s) if s.low > 0.0 => vec![Flag::SigUp],
        Some(s) if s.high < 0.0 => vec![Flag::SigDown],
        _ => vec![],
    };
    let mut path_rows = Vec::new();
    for (q, &(f, to)) in pm.paths.iter().enumerate() {
        let (se, ci) = interval(summary(q));
        path_rows.push(Row {
            cells: vec![
                Cell::Text(label(f)),
                Cell::Text(label(to)),
                Cell::Number(estimate.paths[q]),
                se,
                ci,
            ],
            flags: vec![vec![], vec![], significance(summary(q)), vec![], vec![]],
        });
    }
    blocks.push(Block::Table(Table {
        title: t("路径系数", "Path coefficients").into(),
        columns: vec![
            Column::text(t("从", "From")),
            Column::text(t("到", "To")),
            Column::number(t("路径系数", "Coefficient"), dec.coefficient),
            Column::number(t("标准误", "Standard error"), dec.coefficient),
            Column::number(
                if zh {
                    format!("{level} 置信区间")
                } else {
                    format!("{level} interval")
                },
                dec.coefficient,
            ),
        ],
        rows: path_rows,
        note: Some(method_note(
            &words,
            model,
            &sample,
            &Method {
                weighted: weight.is_some(),
                replicates,
                failed,
                with_intervals,
            },
            &level,
        )),
    }));

    // R² and total effects on the target.
    let mut r2_rows = Vec::new();
    for (e, &j) in endogenous.iter().enumerate() {
        let (se, ci) = interval(summary(n_paths + e));
        r2_rows.push(Row {
            cells: vec![
                Cell::Text(label(j)),
                Cell::Number(estimate.r_squared[j].unwrap_or(0.0)),
                se,
                ci,
            ],
            flags: vec![],
        });
    }
    blocks.push(Block::Table(Table {
        title: t("解释力（R²）", "Variance explained (R²)").into(),
        columns: vec![
            Column::text(t("潜变量", "Construct")),
            Column::number("R²", dec.coefficient),
            Column::number(t("标准误", "Standard error"), dec.coefficient),
            Column::number(
                if zh {
                    format!("{level} 置信区间")
                } else {
                    format!("{level} interval")
                },
                dec.coefficient,
            ),
        ],
        rows: r2_rows,
        note: None,
    }));
    let mut effect_rows = Vec::new();
    for &j in &drivers {
        let (se, ci) = interval(summary(at_total + j));
        effect_rows.push(Row {
            cells: vec![
                Cell::Text(label(j)),
                Cell::Number(estimate.total_effects[j][target]),
                se,
                ci,
            ],
            flags: vec![vec![], significance(summary(at_total + j)), vec![], vec![]],
        });
    }
    if !effect_rows.is_empty() {
        blocks.push(Block::Table(Table {
            title: if zh {
                format!("对{}的总效应", label(target))
            } else {
                format!("Total effects on {}", label(target))
            },
            columns: vec![
                Column::text(t("潜变量", "Construct")),
                Column::number(t("总效应", "Total effect"), dec.coefficient),
                Column::number(t("标准误", "Standard error"), dec.coefficient),
                Column::number(
                    if zh {
                        format!("{level} 置信区间")
                    } else {
                        format!("{level} interval")
                    },
                    dec.coefficient,
                ),
            ],
            rows: effect_rows,
            note: Some(
                t(
                    "总效应：直接路径与经由其他潜变量的间接路径之和。",
                    "Total effect: the direct path plus every indirect path through other constructs.",
                )
                .into(),
            ),
        }));
    }

    // Construct indices by group.
    let mut cells: Vec<(String, String)> = vec![("all".into(), t("全部受访者", "All respondents").into())];
    for s in &request.study.segments {
        for g in &s.groups {
            cells.push((
                g.cell.clone(),
                if zh {
                    format!("{}：{}", s.label, g.label)
                } else {
                    format!("{}: {}", s.label, g.label)
                },
            ));
        }
    }
    let low_base = request.study.low_base;
    let mut index_rows = Vec::new();
    for (cell, cell_label) in &cells {
        let mut row = Row {
            cells: vec![Cell::Text(cell_label.clone())],
            flags: vec![vec![]],
        };
        for j in 0..k {
            match index_in(j, cell) {
                Some((v, n)) => {
                    row.cells.push(Cell::Number(v));
                    row.flags.push(if n < low_base { vec![Flag::LowBase] } else { vec![] });
                }
                None => {
                    row.cells.push(Cell::Empty(()));
                    row.flags.push(vec![]);
                }
            }
        }
        index_rows.push(row);
    }
    let mut index_columns = vec![Column::text(t("受访者", "Respondents"))];
    index_columns.extend((0..k).map(|j| Column::number(label(j), dec.score)));
    blocks.push(Block::Table(Table {
        title: t("各潜变量指数（0–100）", "Construct indices (0–100)").into(),
        columns: index_columns,
        rows: index_rows,
        note: Some(
            t(
                "指数 = 各题得分（0–100）按模型的非标准化外部权重（权重 ÷ 题目标准差，归一化为和为 1）加权，即 ACSI 的指数公式。",
                "Index = the item scores (0–100) weighted by the model's unstandardised outer weights (each weight divided by its item's standard deviation, normalised to sum to 1): the ACSI's index formula.",
            )
            .into(),
        ),
    }));

    // The measurement model.
    let mut negative = Vec::new();
    let mut outer_rows = Vec::new();
    for (j, c) in pm.constructs.iter().enumerate() {
        for (m, &x) in c.indicators.iter().enumerate() {
            let w = estimate.outer_weights[j][m];
            let l = estimate.loadings[j][m];
            if w < 0.0 {
                negative.push(format!("{}（{}）", items[x].label, label(j)));
            }
            // A single item's weight and loading are 1 in every resample.
            let single = c.indicators.len() == 1;
            let (_, w_ci) = interval(summary(at_weights + x).filter(|_| !single));
            let (_, l_ci) = interval(summary(at_loadings + x).filter(|_| !single));
            let weak_loading = c.mode == Mode::A && !single && l < LOADING;
            outer_rows.push(Row {
                cells: vec![
                    Cell::Text(label(j)),
                    Cell::Text(items[x].label.clone()),
                    Cell::Number(w),
                    w_ci,
                    Cell::Number(l),
                    l_ci,
                    unstandardised[j]
                        .as_ref()
                        .map_or(Cell::Empty(()), |w| Cell::Number(w[m])),
                ],
                flags: vec![
                    vec![],
                    vec![],
                    if w < 0.0 { vec![Flag::Weak] } else { vec![] },
                    vec![],
                    if weak_loading { vec![Flag::Weak] } else { vec![] },
                    vec![],
                    vec![],
                ],
            });
        }
    }
    let ci_label = |what: &str| {
        if zh {
            format!("{what} {level} 置信区间")
        } else {
            format!("{what}: {level} interval")
        }
    };
    blocks.push(Block::Table(Table {
        title: t("测量模型：外部权重与载荷", "Measurement model: outer weights and loadings").into(),
        columns: vec![
            Column::text(t("潜变量", "Construct")),
            Column::text(t("题目", "Item")),
            Column::number(t("外部权重", "Outer weight"), dec.coefficient),
            Column::number(ci_label(t("外部权重", "Outer weight")), dec.coefficient),
            Column::number(t("载荷", "Loading"), dec.coefficient),
            Column::number(ci_label(t("载荷", "Loading")), dec.coefficient),
            Column::percent(t("指数中的权重", "Weight in the index"), dec.share),
        ],
        rows: outer_rows,
        note: Some(if zh {
            format!("外部权重作用于标准化题目；载荷 = 题目与其潜变量得分的相关。反映型潜变量的载荷低于 {LOADING} 以标记提示。")
        } else {
            format!("Outer weights apply to standardised items; a loading is the item's correlation with its construct's score. Loadings of reflective constructs below {LOADING} are marked.")
        }),
    }));
    if !negative.is_empty() {
        blocks.push(Block::Markdown {
            text: if zh {
                format!(
                    "注意：{} 的外部权重为负——该题与同一潜变量的其他题目方向相反或高度共线。权重照实保留（不截断为 0）；若因此指数落在 0–100 之外，该指数不予发布。请检查题目方向，或考虑将其移出该潜变量。",
                    negative.join("、")
                )
            } else {
                format!(
                    "Note: the outer weight of {} is negative: the item runs against the construct's other items, or is collinear with them. The weight is kept as estimated (it is not clipped to 0); where it takes the construct's index outside 0–100, the index is withheld. Check the item's direction, or consider moving it out of the construct.",
                    negative.join(", ").replace('（', " (").replace('）', ")")
                )
            },
        });
    }

    // Reliability and validity.
    let mut quality_rows = Vec::new();
    for j in 0..k {
        let q = pls::reliability(&r, &pm, &estimate, j);
        let mark = |v: Option<f64>, floor: f64| match v {
            Some(v) if v < floor => vec![Flag::Weak],
            _ => vec![],
        };
        let num = |v: Option<f64>| v.map_or(Cell::Empty(()), Cell::Number);
        let single = pm.constructs[j].indicators.len() == 1;
        // Formative constructs are judged by their weights, not by reliability.
        let q = if pm.constructs[j].mode == Mode::B {
            pls::Reliability {
                alpha: None,
                rho_a: None,
                ..q
            }
        } else {
            q
        };
        let single = single || pm.constructs[j].mode == Mode::B;
        quality_rows.push(Row {
            cells: vec![
                Cell::Text(label(j)),
                Cell::Text(if pm.constructs[j].mode == Mode::A {
                    t("反映型", "reflective").into()
                } else {
                    t("形成型", "formative").into()
                }),
                num(q.alpha),
                num(q.rho_a),
                num((!single).then_some(q.rho_c)),
                num((!single).then_some(q.ave)),
            ],
            flags: vec![
                vec![],
                vec![],
                mark(q.alpha, RELIABILITY),
                mark(q.rho_a, RELIABILITY),
                mark((!single).then_some(q.rho_c), RELIABILITY),
                mark((!single).then_some(q.ave), AVE),
            ],
        });
    }
    blocks.push(Block::Table(Table {
        title: t("信度与效度", "Reliability and validity").into(),
        columns: vec![
            Column::text(t("潜变量", "Construct")),
            Column::text(t("类型", "Mode")),
            Column::number("Cronbach's α", dec.coefficient),
            Column::number("ρ_A", dec.coefficient),
            Column::number(t("组合信度 ρ_C", "Composite reliability ρ_C"), dec.coefficient),
            Column::number(t("平均提取方差 AVE", "Average variance extracted"), dec.coefficient),
        ],
        rows: quality_rows,
        note: Some(if zh {
            format!("通常的标准：α、ρ_A、ρ_C 不低于 {RELIABILITY:.2}，AVE 不低于 {AVE:.2}；低于标准的以标记提示。单题潜变量不计算信度。形成型潜变量以权重而非信度评价。")
        } else {
            format!("The usual thresholds: α, ρ_A and ρ_C at least {RELIABILITY:.2}, AVE at least {AVE:.2}; figures below them are marked. Single-item constructs have no reliability; formative constructs are judged by their weights, not by reliability.")
        }),
    }));
    let mut htmt_rows = Vec::new();
    for a in 1..k {
        let mut row = Row {
            cells: vec![Cell::Text(label(a))],
            flags: vec![vec![]],
        };
        for b in 0..k - 1 {
            let reflective = pm.constructs[a].mode == Mode::A && pm.constructs[b].mode == Mode::A;
            if b < a && reflective {
                let h = pls::htmt(&r, &pm, a, b);
                row.cells.push(Cell::Number(h));
                row.flags.push(if h >= HTMT { vec![Flag::Weak] } else { vec![] });
            } else {
                row.cells.push(Cell::Empty(()));
                row.flags.push(vec![]);
            }
        }
        htmt_rows.push(row);
    }
    let mut htmt_columns = vec![Column::text(t("潜变量", "Construct"))];
    htmt_columns.extend((0..k - 1).map(|j| Column::number(label(j), dec.coefficient)));
    blocks.push(Block::Table(Table {
        title: t("区分效度（HTMT）", "Discriminant validity (HTMT)").into(),
        columns: htmt_columns,
        rows: htmt_rows,
        note: Some(if zh {
            format!("异质–单质比（HTMT）低于 {HTMT:.2} 表示两个潜变量可以区分；达到或超过的以标记提示。形成型潜变量不计算。")
        } else {
            format!("A heterotrait–monotrait ratio (HTMT) below {HTMT:.2} says two constructs are distinct; ratios at or above it are marked. Formative constructs have none.")
        }),
    }));

    Ok(Report::new(title, blocks))
}

/// What the method note says beyond the model and the sample.
struct Method {
    /// Whether the wave weighs its respondents.
    weighted: bool,
    /// Bootstrap replicates asked for.
    replicates: usize,
    /// Replicates that could not be estimated.
    failed: usize,
    /// Whether the figures have intervals.
    with_intervals: bool,
}

/// How the model was estimated, under the path table.
fn method_note(words: &Words, model: &StructuralInfo, sample: &Sample, method: &Method, level: &str) -> String {
    let Method {
        weighted,
        replicates,
        failed,
        with_intervals,
    } = *method;
    let scheme = match model.scheme.as_str() {
        "centroid" => words.t("中心", "centroid"),
        "factorial" => words.t("因子", "factorial"),
        _ => words.t("路径", "path"),
    };
    let mut note = if words.zh {
        format!(
            "偏最小二乘路径模型（PLS-PM，{scheme}加权方案）{}；仅包括回答了模型全部题目的 {} 位受访者（本期共 {} 位）。",
            if weighted { "，按受访者权重加权" } else { "" },
            sample.n,
            sample.read
        )
    } else {
        format!(
            "Partial least squares path model ({scheme} weighting scheme){}; only the {} respondents who answered every item of the model (of the wave's {}).",
            if weighted { ", respondents weighted by their weights" } else { "" },
            sample.n,
            sample.read
        )
    };
    if with_intervals {
        note.push_str(&if words.zh {
            format!(
                "标准误与 {level} 百分位区间来自 {replicates} 次自助法重抽样（受访者有放回抽样，保留各自权重，种子 {}）；区间不含 0 的路径与总效应以标记表示显著。",
                model.seed
            )
        } else {
            format!(
                " Standard errors and {level} percentile intervals from {replicates} bootstrap resamples (respondents drawn with replacement, each keeping its weight; seed {}); paths and total effects whose interval excludes 0 are marked significant.",
                model.seed
            )
        });
        if failed > 0 {
            note.push_str(&if words.zh {
                format!("其中 {failed} 次重抽样无法估计，未计入。")
            } else {
                format!(" {failed} resamples could not be estimated and are left out.")
            });
        }
    } else if replicates > 0 && sample.held {
        note.push_str(words.t(
            "自助法重抽样均无法估计（模型在重抽样中不收敛或出现共线），故无区间。",
            " No intervals: no bootstrap resample could be estimated (the model did not converge, or a regression was collinear, in every one).",
        ));
    } else if replicates > 0 {
        note.push_str(&if words.zh {
            format!(
                "样本过大（{} 位受访者 × {} 个题目），未做自助法重抽样，故无区间；此规模下的抽样误差很小。",
                sample.n, sample.p
            )
        } else {
            format!(
                " No bootstrap intervals: the sample ({} respondents × {} items) is larger than the bootstrap holds in memory; at this size sampling error is small.",
                sample.n, sample.p
            )
        });
    }
    note
}

csi_plugin_sdk::export_plugin!(
    Structural,
    name = "structural",
    version = env!("CARGO_PKG_VERSION"),
    description =
        "The structural satisfaction index: a PLS path model of the constructs the study declares under `structural:`"
);

#[cfg(test)]
mod tests {
    use super::*;

    /// The correlations, means and standard deviations streamed from sums (a
    /// sample too large to hold) equal those of the held rows' two passes.
    #[test]
    fn streamed_moments_equal_the_held_rows() {
        let (mut held, mut streamed) = (Sample::new(3), Sample::new(3));
        streamed.held = false;
        for i in 0..500u64 {
            let draw = |k: u64| (resample::splitmix64(i * 7 + k) % 1000) as f64 / 10.0;
            let x = draw(1);
            let row = [x, 0.6 * x + 0.4 * draw(2), 100.0 - 0.3 * x - 0.5 * draw(3)];
            let w = 0.5 + (resample::splitmix64(i) % 4) as f64;
            held.add(&row, w);
            streamed.add(&row, w);
        }
        assert!(held.held && !streamed.held && streamed.rows.is_empty());
        let (r1, m1, s1) = held.moments();
        let (r2, m2, s2) = streamed.moments();
        for a in 0..3 {
            assert!((m1[a] - m2[a]).abs() < 1e-9 * m1[a].abs(), "mean {a}");
            assert!((s1[a] - s2[a]).abs() < 1e-9 * s1[a], "sd {a}");
            for b in 0..3 {
                assert!(
                    (r1[a][b] - r2[a][b]).abs() < 1e-9,
                    "r {a} {b}: {} {}",
                    r1[a][b],
                    r2[a][b]
                );
            }
        }
        assert!(r1[0][2] < -0.5 && r1[0][1] > 0.5, "the fixture correlates");
    }
}
