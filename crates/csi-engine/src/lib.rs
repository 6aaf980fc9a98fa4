//! # csi-engine: the satisfaction index, computed in one streaming pass
//!
//! Given a validated [`Study`] and one of its waves, [`compute_wave`] reads the
//! wave's data once, batch by batch (via `csi-data`), and accumulates mergeable
//! weighted sums ([`WeightedMoments`]) for every node of the indicator tree, every
//! overall item, and every cell: all respondents plus each group of each segment.
//! Memory is bounded by `cells × nodes`, not by respondents.
//!
//! ## How a respondent is scored
//!
//! 1. An indicator's raw answer becomes missing if empty or a missing code, else is
//!    rescaled to 0–100 on its scale (reversed when lower is better).
//! 2. A category's score is the weighted mean of the scores of the children the
//!    respondent has, with the tree weights renormalised over those children; with
//!    none, the category is missing for that respondent (never zero).
//! 3. The index is the same rule over the first-level categories.
//!
//! Each published figure is then the weighted mean of those per-respondent scores
//! over the respondents who have one (available cases), with its base size, the
//! linearised standard error for sampling weights, a normal confidence interval
//! and Kish's effective n. Indicators on a scale with a top box also get the
//! top-box share; indicators with an expectation column get the expectation score.
#![deny(missing_docs)]

mod context;
mod flat;
mod rows;

use std::collections::HashMap;

use arrow_array::{Array, Float64Array, RecordBatch, StringArray};
use serde::Serialize;

use csi_data::{ColumnKind, ColumnPlan, DataError, DataReport};
use csi_stats::{rescale_to_100, CoMoments, CoMomentsSummary, Confidence, Direction, Estimate, WeightedMoments};
use csi_study::{closest, Diagnostic, Label, SegmentKind, Study, Wave};

pub use context::{statistics_batch, statistics_schema, study_context};
pub use flat::{FlatNode, NodeKind};
pub use rows::{rows_reader, rows_schema};

/// The id of the index (the root of the tree) in results.
pub const INDEX_ID: &str = "index";

/// Why a wave could not be computed.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The study names columns the data file does not have (one diagnostic each).
    #[error("{} column(s) named in the study are not in the data", .0.len())]
    Columns(Vec<Diagnostic>),
    /// The data file could not be read, or has problems whose policy is `error`.
    #[error(transparent)]
    Data(#[from] DataError),
    /// An invalid setting (e.g. confidence level).
    #[error("{0}")]
    Settings(String),
}

/// One cell of the results: all respondents, or one group of one segment.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cell {
    /// `all`, or `<segment id>=<code>` for categorical segments and
    /// `<segment id>=<band index>` for banded ones.
    pub id: String,
    /// The segment id, for segment groups.
    pub segment: Option<String>,
    /// The group's position within its segment.
    pub group: Option<usize>,
    /// Display label of the group (or of "all").
    pub label: Label,
}

/// The published figures of one series (node or overall item) in one cell.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CellValue {
    /// The 0–100 score.
    pub score: Estimate,
    /// Top-box share (0–1), for indicators and items on a scale with a top box.
    pub top_box: Option<Estimate>,
    /// Expectation score (0–100), for indicators with an expectation column.
    pub expectation: Option<Estimate>,
    /// Gap = performance − expectation in 0–100 points, paired: the mean of each
    /// respondent's difference over those who answered both, with its SE.
    pub gap: Option<Estimate>,
    /// The raw mean in the measure's own unit (minutes, days), for measures with a
    /// `unit`.
    pub raw: Option<Estimate>,
    /// Whether the base size is below the study's low-base threshold.
    pub low_base: bool,
}

/// A scored series: the index, a category, an indicator or an overall item.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Series {
    /// The node's position in the flattened tree and its metadata.
    #[serde(flatten)]
    pub node: FlatNode,
    /// Figures per cell, in the order of [`WaveResult::cells`].
    pub values: Vec<CellValue>,
}

/// Everything computed for one wave.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WaveResult {
    /// Wave id.
    pub wave: String,
    /// Confidence level of the intervals.
    pub confidence: f64,
    /// Low-base threshold used.
    pub low_base: u64,
    /// Whether the wave is weighted.
    pub weighted: bool,
    /// What reading the data found.
    pub data: DataReport,
    /// The cells (all, then each segment's groups).
    pub cells: Vec<Cell>,
    /// The index first, then the tree in pre-order, then overall items.
    pub series: Vec<Series>,
    /// Weighted co-moments of score pairs (see [`cross_pairs`]), for driver
    /// analyses. Not written to `results.json`: they reach plugins through the
    /// statistics table.
    #[serde(skip)]
    pub cross: Vec<Cross>,
}

/// The co-moments of one pair of series in every cell.
#[derive(Debug, Clone, PartialEq)]
pub struct Cross {
    /// First series id.
    pub x: String,
    /// Second series id.
    pub y: String,
    /// Per cell (as [`WaveResult::cells`]); `None` when nobody has both.
    pub values: Vec<Option<CoMomentsSummary>>,
}

/// The pairs of series (positions in the flattened tree) whose co-moments are
/// accumulated: siblings with each other and with their parent, and every series
/// with the index and with each overall item. That is what driver analyses need —
/// what moves overall satisfaction or the index, at any level, and what moves a
/// category among its children — without the full square of every indicator.
pub fn cross_pairs(nodes: &[FlatNode]) -> Vec<(usize, usize)> {
    let mut pairs = std::collections::BTreeSet::new();
    let mut add = |a: usize, b: usize| {
        if a != b {
            pairs.insert((a.min(b), a.max(b)));
        }
    };
    for (p, node) in nodes.iter().enumerate() {
        for (k, &c) in node.children.iter().enumerate() {
            add(p, c);
            for &d in &node.children[k + 1..] {
                add(c, d);
            }
        }
    }
    let outcomes: Vec<usize> = nodes
        .iter()
        .enumerate()
        .filter(|(_, n)| matches!(n.kind, NodeKind::Index | NodeKind::Overall))
        .map(|(i, _)| i)
        .collect();
    for &o in &outcomes {
        for i in 0..nodes.len() {
            add(o, i);
        }
    }
    pairs.into_iter().collect()
}

impl WaveResult {
    /// The series with `id`.
    pub fn series(&self, id: &str) -> Option<&Series> {
        self.series.iter().find(|s| s.node.id == id)
    }

    /// The position of the cell with `id`.
    pub fn cell_index(&self, id: &str) -> Option<usize> {
        self.cells.iter().position(|c| c.id == id)
    }
}

/// The cell ids and labels of a segment's groups: `<segment>=<code>` for
/// categorical segments, `<segment>=<band index>` for banded ones.
pub fn segment_cells(s: &csi_study::Segment) -> Vec<(String, &Label)> {
    match &s.kind {
        SegmentKind::Categorical { values } => values
            .iter()
            .map(|(c, l)| (format!("{}={}", s.id, csi_study::normalise_code(c)), l))
            .collect(),
        SegmentKind::Banded { bands } => bands
            .iter()
            .enumerate()
            .map(|(g, b)| (format!("{}={g}", s.id), &b.label))
            .collect(),
    }
}

/// Checks that every column the study names exists in each wave's data file,
/// suggesting near matches. Returns one diagnostic per missing column per wave.
pub fn check_columns(study: &Study) -> Result<Vec<Diagnostic>, DataError> {
    let mut diags = Vec::new();
    for wave in &study.waves {
        let header = csi_data::read_header(&wave.data)?;
        let mut reported = std::collections::HashSet::new();
        for col in study.columns_for(wave) {
            if header.contains(&col.name) || !reported.insert(col.name.clone()) {
                continue;
            }
            let near = closest(&col.name, header.iter().map(String::as_str));
            let help = if near.is_empty() {
                format!(
                    "the file has {} columns; check the column name against its header",
                    header.len()
                )
            } else {
                format!(
                    "did you mean {}?",
                    near.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(" or ")
                )
            };
            diags.push(
                study
                    .diagnostic(
                        format!(
                            "column `{}` is not in the data of wave `{}` ({})",
                            col.name, wave.id, wave.data_as_written
                        ),
                        col.at,
                    )
                    .with_help(help),
            );
        }
    }
    Ok(diags)
}

/// The columns to read for `wave` and, for each series input, its position in the plan.
struct Plan {
    columns: Vec<ColumnPlan>,
    weight: Option<usize>,
    /// Per segment: plan column.
    segments: Vec<usize>,
}

impl Plan {
    fn new(study: &Study, wave: &Wave, nodes: &mut [FlatNode]) -> Self {
        let mut columns: Vec<ColumnPlan> = Vec::new();
        let mut index: HashMap<String, usize> = HashMap::new();
        // A column is read once per role: the same column used with two scales or
        // as both an answer and a segment gets one plan entry per use.
        let mut add = |name: &str, kind: ColumnKind| -> usize {
            *index.entry(format!("{name}\u{1f}{kind:?}")).or_insert_with(|| {
                columns.push(ColumnPlan {
                    name: name.to_string(),
                    kind,
                });
                columns.len() - 1
            })
        };
        for n in nodes.iter_mut() {
            if let Some(leaf) = &mut n.leaf {
                leaf.asked = leaf.waves.as_ref().is_none_or(|w| w.contains(&wave.id));
                if !leaf.asked {
                    continue;
                }
                let kind = ColumnKind::Measure {
                    min: leaf.min,
                    max: leaf.max,
                    missing: leaf.missing.clone(),
                };
                leaf.column = add(&leaf.column_name, kind.clone());
                if let Some(e) = &leaf.expectation_name {
                    leaf.expectation = Some(add(e, kind));
                }
            }
        }
        let segments = study
            .segments
            .iter()
            .map(|s| {
                let kind = match &s.kind {
                    SegmentKind::Categorical { values } => ColumnKind::Category {
                        codes: values.iter().map(|(c, _)| csi_study::normalise_code(c)).collect(),
                    },
                    SegmentKind::Banded { bands } => ColumnKind::Banded {
                        bands: bands.iter().map(|b| (b.min, b.max)).collect(),
                    },
                };
                add(&s.column.name, kind)
            })
            .collect();
        let weight = wave.weight.as_ref().map(|w| add(&w.name, ColumnKind::Weight));
        if let Some(id) = &study.respondent_id {
            add(&id.name, ColumnKind::Id);
        }
        Plan {
            columns,
            weight,
            segments,
        }
    }
}

/// Accumulators of one cell.
#[derive(Clone)]
struct CellAcc {
    score: Vec<WeightedMoments>,
    top: Vec<WeightedMoments>,
    expect: Vec<WeightedMoments>,
    gap: Vec<WeightedMoments>,
    raw: Vec<WeightedMoments>,
    cross: Vec<CoMoments>,
}

/// Computes every figure of `wave`.
pub fn compute_wave(study: &Study, wave: &Wave) -> Result<WaveResult, EngineError> {
    let confidence = Confidence::new(study.settings.confidence).map_err(|e| EngineError::Settings(e.to_string()))?;
    let mut nodes = flat::flatten(study);
    let plan = Plan::new(study, wave, &mut nodes);
    let pairs = cross_pairs(&nodes);

    // Cells: all, then each group of each segment.
    let mut cells = vec![Cell {
        id: "all".into(),
        segment: None,
        group: None,
        label: Label::Translations(
            [
                ("en".to_string(), "All respondents".to_string()),
                ("zh".to_string(), "全部受访者".to_string()),
            ]
            .into(),
        ),
    }];
    let mut seg_offset = Vec::new();
    for s in &study.segments {
        seg_offset.push(cells.len());
        for (g, (key, label)) in segment_cells(s).into_iter().enumerate() {
            cells.push(Cell {
                id: key,
                segment: Some(s.id.clone()),
                group: Some(g),
                label: label.clone(),
            });
        }
    }
    let empty = CellAcc {
        score: vec![WeightedMoments::new(50.0); nodes.len()],
        top: vec![WeightedMoments::new(0.5); nodes.len()],
        expect: vec![WeightedMoments::new(50.0); nodes.len()],
        gap: vec![WeightedMoments::new(0.0); nodes.len()],
        raw: nodes
            .iter()
            .map(|n| WeightedMoments::new(n.leaf.as_ref().map_or(0.0, |l| (l.min + l.max) / 2.0)))
            .collect(),
        cross: vec![CoMoments::new(50.0, 50.0); pairs.len()],
    };
    let mut acc = vec![empty; cells.len()];

    // Group lookup per segment: code → group, or bands.
    let code_groups: Vec<HashMap<String, usize>> = study
        .segments
        .iter()
        .map(|s| match &s.kind {
            SegmentKind::Categorical { values } => values
                .iter()
                .enumerate()
                .map(|(g, (c, _))| (csi_study::normalise_code(c), g))
                .collect(),
            SegmentKind::Banded { .. } => HashMap::new(),
        })
        .collect();

    let mut scores: Vec<Option<f64>> = vec![None; nodes.len()];
    let mut expects: Vec<Option<f64>> = vec![None; nodes.len()];
    let mut gaps: Vec<Option<f64>> = vec![None; nodes.len()];
    // Nodes with an expectation somewhere beneath them (themselves included).
    let mut has_expectation: Vec<bool> = nodes
        .iter()
        .map(|n| n.leaf.as_ref().is_some_and(|l| l.expectation_name.is_some()))
        .collect();
    for i in (0..nodes.len()).rev() {
        if has_expectation[i] {
            if let Some(p) = nodes[i].parent {
                has_expectation[p] = true;
            }
        }
    }
    let mut member: Vec<usize> = Vec::with_capacity(1 + study.segments.len());
    let mut consume = |batch: &RecordBatch| -> Result<(), String> {
        let num = |i: usize| {
            batch
                .column(i)
                .as_any()
                .downcast_ref::<Float64Array>()
                .expect("numeric column")
        };
        let weights = plan.weight.map(num);
        let seg_cols: Vec<&dyn Array> = plan.segments.iter().map(|&i| batch.column(i).as_ref()).collect();
        let leaf_cols: Vec<Option<(&Float64Array, Option<&Float64Array>)>> = nodes
            .iter()
            .map(|n| {
                n.leaf
                    .as_ref()
                    .filter(|l| l.asked)
                    .map(|l| (num(l.column), l.expectation.map(num)))
            })
            .collect();
        for row in 0..batch.num_rows() {
            let w = weights.map_or(1.0, |w| w.value(row));
            member.clear();
            member.push(0);
            for (si, s) in study.segments.iter().enumerate() {
                let col = seg_cols[si];
                if col.is_null(row) {
                    continue;
                }
                let group = match &s.kind {
                    SegmentKind::Categorical { .. } => {
                        let code = col
                            .as_any()
                            .downcast_ref::<StringArray>()
                            .expect("text column")
                            .value(row);
                        code_groups[si].get(code).copied()
                    }
                    SegmentKind::Banded { bands } => {
                        let x = col
                            .as_any()
                            .downcast_ref::<Float64Array>()
                            .expect("numeric column")
                            .value(row);
                        bands.iter().position(|b| b.contains(x))
                    }
                };
                if let Some(g) = group {
                    member.push(seg_offset[si] + g);
                }
            }
            // Score bottom-up: in pre-order children follow their parent.
            for i in (0..nodes.len()).rev() {
                let n = &nodes[i];
                scores[i] = match (&n.leaf, leaf_cols[i]) {
                    (Some(leaf), Some((col, _))) => {
                        (!col.is_null(row)).then(|| rescale_to_100(col.value(row), leaf.min, leaf.max, leaf.direction))
                    }
                    _ if n.children.is_empty() => None,
                    _ => {
                        let (mut sw, mut sws) = (0.0, 0.0);
                        for &c in &n.children {
                            if let Some(s) = scores[c] {
                                sw += nodes[c].weight;
                                sws += nodes[c].weight * s;
                            }
                        }
                        (sw > 0.0).then(|| sws / sw)
                    }
                };
                // Expectations and paired gaps: a leaf's from its expectation column;
                // a parent's the weighted mean over the children that have one, so a
                // category's gap is its performance minus its expectation over the
                // same children, per respondent.
                (expects[i], gaps[i]) = match (&n.leaf, leaf_cols[i]) {
                    (Some(leaf), Some((_, Some(e)))) if !e.is_null(row) => {
                        let expected = rescale_to_100(e.value(row), leaf.min, leaf.max, leaf.direction);
                        (Some(expected), scores[i].map(|s| s - expected))
                    }
                    _ if n.children.is_empty() => (None, None),
                    _ => {
                        let combine = |values: &[Option<f64>]| {
                            let (mut sw, mut sws) = (0.0, 0.0);
                            for &c in &n.children {
                                if let Some(v) = values[c] {
                                    sw += nodes[c].weight;
                                    sws += nodes[c].weight * v;
                                }
                            }
                            (sw > 0.0).then(|| sws / sw)
                        };
                        (combine(&expects), combine(&gaps))
                    }
                };
            }
            for &c in &member {
                let a = &mut acc[c];
                for i in 0..nodes.len() {
                    if let Some(s) = scores[i] {
                        a.score[i].add(s, w);
                    }
                    if let Some(e) = expects[i] {
                        a.expect[i].add(e, w);
                    }
                    if let Some(g) = gaps[i] {
                        a.gap[i].add(g, w);
                    }
                    if let (Some(leaf), Some((col, _))) = (&nodes[i].leaf, leaf_cols[i]) {
                        if let (Some(t), false) = (leaf.top_threshold, col.is_null(row)) {
                            let x = col.value(row);
                            let hit = match leaf.direction {
                                Direction::HigherIsBetter => x >= t,
                                Direction::LowerIsBetter => x <= t,
                            };
                            a.top[i].add(if hit { 1.0 } else { 0.0 }, w);
                        }
                        if leaf.unit.is_some() && !col.is_null(row) {
                            a.raw[i].add(col.value(row), w);
                        }
                    }
                }
                for (k, &(x, y)) in pairs.iter().enumerate() {
                    if let (Some(sx), Some(sy)) = (scores[x], scores[y]) {
                        a.cross[k].add(sx, sy, w);
                    }
                }
            }
        }
        Ok(())
    };
    let data = csi_data::scan(&wave.data, &plan.columns, &study.data_policy, &mut consume)?;

    let low = study.settings.low_base;
    let cross = pairs
        .iter()
        .enumerate()
        .map(|(k, &(x, y))| Cross {
            x: nodes[x].id.clone(),
            y: nodes[y].id.clone(),
            values: acc.iter().map(|a| a.cross[k].summary()).collect(),
        })
        .collect();
    let series = nodes
        .into_iter()
        .enumerate()
        .map(|(i, node)| {
            let values = acc
                .iter()
                .map(|a| {
                    let score = a.score[i].estimate(confidence);
                    let leaf = node.leaf.as_ref();
                    CellValue {
                        low_base: score.n < low,
                        score,
                        top_box: leaf
                            .filter(|l| l.top_threshold.is_some())
                            .map(|_| a.top[i].estimate(confidence)),
                        expectation: has_expectation[i].then(|| a.expect[i].estimate(confidence)),
                        gap: has_expectation[i].then(|| a.gap[i].estimate(confidence)),
                        raw: leaf.filter(|l| l.unit.is_some()).map(|_| a.raw[i].estimate(confidence)),
                    }
                })
                .collect();
            Series { node, values }
        })
        .collect();
    Ok(WaveResult {
        wave: wave.id.clone(),
        confidence: confidence.level(),
        low_base: low,
        weighted: wave.weight.is_some(),
        data,
        cells,
        series,
        cross,
    })
}
