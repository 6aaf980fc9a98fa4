//! # csi-engine: the satisfaction index, computed in one streaming pass
//!
//! Given a validated [`Study`] and one of its waves, [`compute_wave`] reads the
//! wave's data once, in pieces read on every core (via `csi-data`), and accumulates mergeable
//! weighted sums ([`WeightedMoments`]) for every node of the indicator tree, every
//! overall item, and every cell: all respondents plus each group of each segment.
//! Memory is bounded by `cells × nodes`, not by respondents.
//!
//! Each respondent is added once, to its *finest cell* (the cross of its groups of
//! every segment); the published cells are merged from those afterwards, in the
//! order of the finest cells, so that a respondent costs one cell's update however
//! many segments the study has (with a fallback to per-cell sums when the cross
//! is too large). Each piece of the file (a CSV chunk, Parquet row groups) is
//! checked and accumulated on a worker thread into sums of its own, and the pieces
//! are merged in the file's order, so every sum is the same whatever the number of
//! cores. [`compute_wave_with_sums`] also hands back those sums ([`WaveSums`]), or
//! computes the figures from sums kept by an earlier build without reading the data.
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
//! and Kish's effective n. Every figure is a *domain* of the wave's sample (a
//! segment group, the respondents who answered an item), so its standard error
//! uses the sample's n/(n−1) factor, as R `survey`'s `subset` does, times the
//! finite population correction when the study declares a population size.
//! Indicators on a scale with a top box also get the top-box share, whose
//! interval is Korn–Graubard's (Clopper–Pearson on the effective n), never
//! outside [0, 1].
//!
//! ## Expectations and gaps on one base
//!
//! For nodes with expectations, expectation, performance and gap are computed
//! over one base: a leaf over the respondents who answered both questions; a
//! category over, per respondent, the children answered both ways. So the
//! published `paired_score − expectation` equals the published `gap`.
//!
//! ## Like for like across waves
//!
//! When a question is added or dropped, a composite no longer measures the same
//! thing in two waves. For every composite whose questions differ from the
//! previous (or next) wave's, the engine also scores it on the questions both
//! waves asked ([`Comparable`]), so that a change can be computed like for like.
//!
//! ## The bootstrap of importance
//!
//! The co-moments of the index, first-level categories and overall items are also
//! kept per random group of respondents (module [`groups`]), from which plugins
//! bootstrap derived importance without a second pass.
#![deny(missing_docs)]

mod context;
mod dense;
mod flat;
mod from_data;
pub mod groups;
mod rows;
mod score;

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use csi_data::{ColumnKind, ColumnPlan, DataError, DataReport};
use csi_stats::{rescale_to_100, CoMoments, CoMomentsSummary, Confidence, Design, Estimate, WeightedMoments};
use csi_study::{closest, Diagnostic, Label, SegmentKind, Study, Wave};

pub use context::{statistics_batch, statistics_schema, study_context};
pub use flat::{FlatNode, NodeKind};
pub use from_data::labels_from_data;
pub use rows::{fed_rows, rows_reader, rows_schema, shared_rows_readers, FedRows, RowsDetach, RowsFeed, RowsReader};

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
    /// The wave has no respondent to report on: an empty file, or every row
    /// excluded under the data policy. A report of nobody is not published.
    #[error("wave `{wave}` has no respondents: {why}")]
    NoRespondents {
        /// The wave.
        wave: String,
        /// Its data file, as the study names it.
        file: String,
        /// Why: no data rows, or how many rows were excluded.
        why: String,
    },
    /// Kept sums that do not fit the study as it is now (compute from the data).
    #[error("the kept sums do not fit the study's tree, segments or waves")]
    SumsDoNotFit,
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
    /// Expectation score (0–100), for nodes with an expectation beneath them, over
    /// the gap's base: the respondents who answered both questions (for a
    /// category, the children each respondent answered both of).
    pub expectation: Option<Estimate>,
    /// Performance score (0–100) over the same base as `expectation` and `gap`,
    /// so that `paired_score − expectation = gap` exactly. It differs from
    /// `score` (all who answered the performance question) when some respondents
    /// skipped the expectation.
    pub paired_score: Option<Estimate>,
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
    /// The sampling design the standard errors assume: the wave's sample size and
    /// the population size, if the study declares one.
    pub design: Design,
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
    /// Like-for-like scores of the composites whose questions differ from a
    /// neighbouring wave's. Not written to `results.json` (the comparison with the
    /// next wave depends on a later wave); they reach plugins through the
    /// statistics table.
    #[serde(skip)]
    pub comparable: Vec<Comparable>,
    /// The importance pairs' co-moments per random group, for the bootstrap.
    #[serde(skip)]
    pub groups: Vec<GroupCross>,
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

    /// The like-for-like score of `node` against a neighbouring wave, when the
    /// node's questions differ from that wave's.
    pub fn comparable(&self, node: &str, against: Neighbour) -> Option<&Comparable> {
        self.comparable.iter().find(|c| c.node == node && c.against == against)
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
/// suggesting near matches. Returns one diagnostic per missing column per data
/// file (waves that read one file share its diagnostics).
pub fn check_columns(study: &Study) -> Result<Vec<Diagnostic>, DataError> {
    let mut diags = Vec::new();
    // Waves that read one file (a file holding several waves) share its missing
    // columns: each is reported once, for the first of them.
    let mut missing_reported = std::collections::HashSet::new();
    for wave in &study.waves {
        let file = csi_data::DataFile::of_wave(wave);
        let header = csi_data::read_header(&file)?;
        let mut reported = std::collections::HashSet::new();
        let used: Vec<String> = study.columns_for(wave).iter().map(|c| c.name.clone()).collect();
        // A workbook read from its first sheet that lacks columns: another sheet
        // that has them all.
        let lacks = |header: &[String]| used.iter().any(|u| !header.contains(u));
        let better_sheet = match csi_data::sheets(&file)? {
            Some(sheets) if file.sheet.is_none() && lacks(&header) => sheets.into_iter().skip(1).find(|sheet| {
                let other = csi_data::DataFile {
                    sheet: Some(sheet.clone()),
                    ..file.clone()
                };
                csi_data::read_header(&other).is_ok_and(|h| !lacks(&h))
            }),
            _ => None,
        };
        let unnamed: Vec<usize> = (0..header.len())
            .filter(|&i| header[i].is_empty())
            .map(|i| i + 1)
            .collect();
        for col in study.columns_for(wave) {
            let positions: Vec<usize> = (0..header.len())
                .filter(|&i| header[i] == col.name)
                .map(|i| i + 1)
                .collect();
            if positions.len() == 1 || !reported.insert(col.name.clone()) {
                continue;
            }
            let named_at = col.at.map(|at| (at.line, at.column));
            if !missing_reported.insert((&wave.data, &wave.encoding, &wave.sheet, col.name.clone(), named_at)) {
                continue;
            }
            if positions.len() > 1 {
                diags.push(
                    study
                        .diagnostic(
                            format!(
                                "column `{}` appears {} times in the header of wave `{}`'s data ({}, columns {}), so csi cannot tell which holds the answers",
                                col.name,
                                positions.len(),
                                wave.id,
                                wave.data_as_written,
                                positions.iter().map(ToString::to_string).collect::<Vec<_>>().join(" and ")
                            ),
                            col.at,
                        )
                        .with_help("rename or remove the extra columns in the data file"),
                );
                continue;
            }
            // Never suggest a column the study already uses for something else (an
            // expectation for a performance item), nor an unnamed one.
            let near = closest(
                &col.name,
                header
                    .iter()
                    .map(String::as_str)
                    .filter(|h| !h.is_empty() && !used.iter().any(|u| u == h)),
            );
            let mut help = if near.is_empty() {
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
            if let Some(sheet) = &better_sheet {
                help.push_str(&format!(
                    "; this is the workbook's first sheet, and its sheet `{sheet}` has the study's columns: add `sheet: {sheet}` to the wave"
                ));
            }
            if !unnamed.is_empty() {
                help.push_str(&format!(
                    "; the header also has {} unnamed column(s) (column {}): if one of them holds `{}`, write the name in the header",
                    unnamed.len(),
                    unnamed.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "),
                    col.name
                ));
            }
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

/// The columns read in one pass over a data file (for one wave, or for every
/// wave of a file holding several), each once per role.
#[derive(Default)]
struct Columns {
    columns: Vec<ColumnPlan>,
    index: HashMap<String, usize>,
}

impl Columns {
    /// The position of `name` read as `kind`, added if new. A column is read once
    /// per role: the same column used with two scales or as both an answer and a
    /// segment gets one plan entry per use.
    fn add(&mut self, name: &str, kind: ColumnKind) -> usize {
        let columns = &mut self.columns;
        *self.index.entry(format!("{name}\u{1f}{kind:?}")).or_insert_with(|| {
            columns.push(ColumnPlan {
                name: name.to_string(),
                kind,
            });
            columns.len() - 1
        })
    }
}

/// Where `wave`'s series inputs are in the read plan.
struct Plan {
    weight: Option<usize>,
    /// Per segment: plan column.
    segments: Vec<usize>,
    /// The plan columns the wave reads.
    reads: Vec<usize>,
}

impl Plan {
    fn new(study: &Study, wave: &Wave, nodes: &mut [FlatNode], columns: &mut Columns) -> Self {
        let mut reads = Vec::new();
        let mut add = |name: &str, kind: ColumnKind| -> usize {
            let at = columns.add(name, kind);
            reads.push(at);
            at
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
            weight,
            segments,
            reads,
        }
    }

    /// The plan of `wave` read on its own, and its columns.
    fn alone(study: &Study, wave: &Wave, nodes: &mut [FlatNode]) -> (Self, Vec<ColumnPlan>) {
        let mut columns = Columns::default();
        let plan = Self::new(study, wave, nodes, &mut columns);
        (plan, columns.columns)
    }
}

/// Accumulators of one cell.
#[derive(Clone, Serialize, Deserialize)]
struct CellAcc {
    /// Respondents accumulated.
    rows: u64,
    score: Vec<WeightedMoments>,
    top: Vec<WeightedMoments>,
    expect: Vec<WeightedMoments>,
    paired: Vec<WeightedMoments>,
    gap: Vec<WeightedMoments>,
    raw: Vec<WeightedMoments>,
    cross: Vec<CoMoments>,
    /// Like-for-like scores against the previous and the next wave.
    common: [Vec<WeightedMoments>; 2],
}

impl CellAcc {
    /// Adds `other`'s sums (accumulated about the same shifts) to this cell's.
    fn merge(&mut self, other: &CellAcc) {
        fn all(a: &mut [WeightedMoments], b: &[WeightedMoments]) {
            for (a, b) in a.iter_mut().zip(b) {
                a.merge(b).expect("cells share their shifts");
            }
        }
        self.rows += other.rows;
        all(&mut self.score, &other.score);
        all(&mut self.top, &other.top);
        all(&mut self.expect, &other.expect);
        all(&mut self.paired, &other.paired);
        all(&mut self.gap, &other.gap);
        all(&mut self.raw, &other.raw);
        for k in 0..2 {
            all(&mut self.common[k], &other.common[k]);
        }
        for (a, b) in self.cross.iter_mut().zip(&other.cross) {
            a.merge(b).expect("cells share their shifts");
        }
    }

    /// About how many bytes the cell's accumulators take.
    fn bytes(&self) -> usize {
        let moments = self.score.len() * 6 + self.common.iter().map(Vec::len).sum::<usize>();
        moments * std::mem::size_of::<WeightedMoments>() + self.cross.len() * std::mem::size_of::<CoMoments>()
    }
}

/// The sufficient statistics of a wave: the data report and every published
/// cell's sums (and the bootstrap groups'), from which every figure of the wave
/// follows. They hold sums over small cells, so they are kept for the next build
/// outside the published site, never in it.
#[derive(Clone, Serialize, Deserialize)]
pub struct WaveSums {
    data: DataReport,
    cells: Vec<CellAcc>,
    groups: Vec<Vec<CoMoments>>,
}

impl WaveSums {
    /// The sums, checked against the shape the study gives them: as many cells,
    /// nodes, pairs and groups, about the same shifts.
    fn fit(self, empty: &CellAcc, cells: usize, group_pairs: usize) -> Result<Self, EngineError> {
        let shape = |a: &CellAcc| {
            let shifts = |m: &[WeightedMoments]| m.iter().map(|m| m.sums().shift.to_bits()).collect::<Vec<_>>();
            (
                [
                    &a.score,
                    &a.top,
                    &a.expect,
                    &a.paired,
                    &a.gap,
                    &a.raw,
                    &a.common[0],
                    &a.common[1],
                ]
                .map(|m| shifts(m)),
                a.cross.len(),
            )
        };
        let want = shape(empty);
        let fits = self.cells.len() == cells
            && self.cells.iter().all(|c| shape(c) == want)
            && self.groups.len() == groups::BOOTSTRAP_GROUPS as usize
            && self.groups.iter().all(|g| g.len() == group_pairs);
        if fits {
            Ok(self)
        } else {
            Err(EngineError::SumsDoNotFit)
        }
    }
}

/// Where a respondent's sums are accumulated.
///
/// By default into the *finest cell* it belongs to, the cross of its groups of every
/// segment ("no group" included): one cell's sums per respondent, whatever the
/// number of segments, and the published cells (all, each segment's groups) are
/// merged from the finest cells afterwards, in a fixed order. When that cross would
/// take more memory than [`FINEST_CELLS_BYTES`] (many segments of many groups), each
/// respondent is added to every published cell it belongs to instead.
enum Accumulation {
    /// Per finest cell; per segment, the stride of its group in the cell's index and
    /// its number of groups (the value `groups` meaning "none").
    Finest { strides: Vec<(usize, usize)>, count: usize },
    /// Per published cell.
    PerCell,
}

/// The most memory the finest cells' accumulators may take.
const FINEST_CELLS_BYTES: usize = 64 << 20;

impl Accumulation {
    fn choose(study: &Study, cell_bytes: usize) -> Self {
        let mut strides = Vec::with_capacity(study.segments.len());
        let mut count: usize = 1;
        for s in &study.segments {
            let groups = segment_cells(s).len();
            strides.push((count, groups));
            count = match count.checked_mul(groups + 1) {
                Some(c) if c.saturating_mul(cell_bytes.max(1)) <= FINEST_CELLS_BYTES => c,
                _ => return Accumulation::PerCell,
            };
        }
        Accumulation::Finest { strides, count }
    }

    /// How many accumulators the pass keeps.
    fn accumulators(&self, published: usize) -> usize {
        match self {
            Accumulation::Finest { count, .. } => *count,
            Accumulation::PerCell => published,
        }
    }

    /// The accumulators a respondent in `groups` (per segment) is added to.
    fn members(&self, groups: &[Option<usize>], seg_offset: &[usize], out: &mut Vec<usize>) {
        out.clear();
        match self {
            Accumulation::Finest { strides, .. } => out.push(
                groups
                    .iter()
                    .zip(strides)
                    .map(|(g, &(stride, n))| stride * g.unwrap_or(n))
                    .sum(),
            ),
            Accumulation::PerCell => {
                out.push(0);
                out.extend(groups.iter().zip(seg_offset).filter_map(|(g, &o)| g.map(|g| o + g)));
            }
        }
    }

    /// The published cells' accumulators: the finest cells merged in the order of
    /// their index (so the sums do not depend on how the pass ran), or as kept.
    fn publish(&self, acc: Vec<CellAcc>, empty: &CellAcc, published: usize, seg_offset: &[usize]) -> Vec<CellAcc> {
        let Accumulation::Finest { strides, .. } = self else {
            return acc;
        };
        let mut cells = vec![empty.clone(); published];
        for (f, a) in acc.iter().enumerate().filter(|(_, a)| a.rows > 0) {
            cells[0].merge(a);
            for (&(stride, n), &offset) in strides.iter().zip(seg_offset) {
                let g = (f / stride) % (n + 1);
                if g < n {
                    cells[offset + g].merge(a);
                }
            }
        }
        cells
    }
}

/// About how many bytes a piece of the file holds (a CSV chunk, or a run of Parquet
/// row groups; more when a record or a row group is larger): large enough that a
/// piece's accumulators (made afresh for each) cost little beside reading it. A
/// piece also holds at least about twice its accumulators' size.
const CHUNK_BYTES: usize = 8 << 20;

/// The most memory the batches of rows made for plugins by the statistics pass may
/// take while their pieces wait for the pieces before them (see
/// [`compute_waves_feeding_rows`]); with more cores or larger pieces the plugins
/// read their rows in a pass of their own.
const FEED_BYTES: usize = 256 << 20;

/// One chunk's sums: its cells' accumulators, and, per respondent kept, the
/// weight and the importance series' scores (`NaN` where missing), whose random
/// group is known only once the chunks before it are counted.
struct ChunkSums {
    cells: Vec<dense::DenseCell>,
    importance: Vec<f64>,
}

/// What adding respondents to a chunk's sums needs to know about the wave.
struct Pass<'a> {
    study: &'a Study,
    nodes: &'a [FlatNode],
    plan: &'a Plan,
    layout: &'a Accumulation,
    seg_offset: &'a [usize],
    dense: &'a dense::DenseLayout,
    important: &'a [usize],
    /// The questions in common with the previous and the next wave, where they differ.
    neighbours: [Option<&'a [bool]>; 2],
}

impl Pass<'_> {
    /// Scores each respondent of `rows` (leaves rescaled to 0–100; the tree, the
    /// paired figures and the like-for-like composites rolled up from them) and adds
    /// it to the accumulators it belongs to.
    fn add(&self, sums: &mut ChunkSums, rows: &csi_data::NumericRows) {
        let nodes = self.nodes;
        let n = nodes.len();
        // Per node, `NaN` where missing.
        let mut leaf_scores = vec![f64::NAN; n];
        let mut leaf_expects = vec![f64::NAN; n];
        let mut scores = vec![f64::NAN; n];
        let (mut performance, mut expectation) = (vec![f64::NAN; n], vec![f64::NAN; n]);
        let mut common_scores = [vec![f64::NAN; n], vec![f64::NAN; n]];
        // The leaves asked in the wave (the others stay missing).
        let asked: Vec<(usize, &flat::Leaf)> = nodes
            .iter()
            .enumerate()
            .filter_map(|(i, node)| Some((i, node.leaf.as_ref().filter(|l| l.asked)?)))
            .collect();
        let mut member: Vec<usize> = Vec::with_capacity(1 + self.study.segments.len());
        let mut groups_of_row: Vec<Option<usize>> = vec![None; self.study.segments.len()];
        let mut values = vec![0.0; self.dense.width()];
        sums.importance.reserve(rows.len() * (self.important.len() + 1));
        for r in rows.rows() {
            let w = self.plan.weight.map_or(1.0, |c| r[c]);
            for ((group, s), &col) in groups_of_row
                .iter_mut()
                .zip(&self.study.segments)
                .zip(&self.plan.segments)
            {
                let x = r[col];
                *group = if x.is_nan() {
                    None
                } else {
                    match &s.kind {
                        // The reader gives a code's position among the segment's values.
                        SegmentKind::Categorical { .. } => Some(x as usize),
                        SegmentKind::Banded { bands } => bands.iter().position(|b| b.contains(x)),
                    }
                };
            }
            self.layout.members(&groups_of_row, self.seg_offset, &mut member);
            for &(i, leaf) in &asked {
                // A missing answer (NaN) rescales to NaN.
                let rescale = |c: usize| rescale_to_100(r[c], leaf.min, leaf.max, leaf.direction);
                leaf_scores[i] = rescale(leaf.column);
                if let Some(e) = leaf.expectation {
                    leaf_expects[i] = rescale(e);
                }
            }
            score::roll_up(nodes, &leaf_scores, None, &mut scores);
            score::roll_up_paired(nodes, &leaf_scores, &leaf_expects, &mut performance, &mut expectation);
            for (k, include) in self.neighbours.iter().enumerate() {
                if let Some(include) = include {
                    score::roll_up(nodes, &leaf_scores, Some(include), &mut common_scores[k]);
                }
            }
            self.dense
                .fill(&mut values, &scores, &performance, &expectation, &common_scores, r);
            for &c in &member {
                self.dense.add(&mut sums.cells[c], &values, w);
            }
            sums.importance.push(w);
            sums.importance.extend(self.important.iter().map(|&i| scores[i]));
        }
    }
}

/// Which neighbouring wave a like-for-like score is computed against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Neighbour {
    /// The wave before (for the change into this wave).
    Previous,
    /// The wave after (for the change out of this wave).
    Next,
}

impl Neighbour {
    /// The measure name in the statistics table.
    pub fn measure(self) -> &'static str {
        match self {
            Neighbour::Previous => "score_common_previous",
            Neighbour::Next => "score_common_next",
        }
    }
}

/// A composite scored on the questions this wave has in common with a
/// neighbouring wave, for a node whose questions differ between the two: the
/// like-for-like side of a wave-over-wave change.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparable {
    /// Node id.
    pub node: String,
    /// Against which neighbour.
    pub against: Neighbour,
    /// The neighbouring wave's id.
    pub wave: String,
    /// How many questions beneath the node both waves asked.
    pub common_items: usize,
    /// Per cell (as [`WaveResult::cells`]).
    pub values: Vec<Estimate>,
}

/// The co-moments of one importance pair in each random group of the "all" cell
/// (see the `groups` module: the bootstrap of derived importance).
#[derive(Debug, Clone, PartialEq)]
pub struct GroupCross {
    /// First series id.
    pub x: String,
    /// Second series id.
    pub y: String,
    /// Per random group; `None` when nobody in the group has both.
    pub values: Vec<Option<CoMomentsSummary>>,
}

/// The series whose pairwise co-moments are kept per random group: the index, the
/// first-level categories and the overall items (what a driver or trend analysis
/// of first-level importance needs), as positions in the flattened tree.
fn importance_series(nodes: &[FlatNode]) -> Vec<usize> {
    (0..nodes.len())
        .filter(|&i| matches!(nodes[i].kind, NodeKind::Index | NodeKind::Overall) || nodes[i].depth == 1)
        .collect()
}

/// The questions (leaf ids) asked in the waves before and after `wave`, `None`
/// where there is no such wave: a wave's like-for-like sums depend on them, beyond
/// its own definition (what a key of kept [`WaveSums`] must include).
pub fn neighbour_questions(study: &Study, wave: &Wave) -> [Option<Vec<String>>; 2] {
    let nodes = flat::flatten(study);
    let position = study.waves.iter().position(|w| w.id == wave.id);
    [
        position.and_then(|p| p.checked_sub(1)),
        position.map(|p| p + 1).filter(|&p| p < study.waves.len()),
    ]
    .map(|other| {
        let asked = score::asked_in(&nodes, &study.waves[other?].id);
        Some(
            nodes
                .iter()
                .zip(asked)
                .filter(|(_, a)| *a)
                .map(|(n, _)| n.id.clone())
                .collect(),
        )
    })
}

/// Computes every figure of `wave`.
pub fn compute_wave(study: &Study, wave: &Wave) -> Result<WaveResult, EngineError> {
    compute(study, wave, false, None, None).map(|(result, _)| result)
}

/// Computes every figure of `wave` and hands back the sums they were computed
/// from, to be kept for the next build; with `cached` sums (kept by an earlier
/// build of the same data and definition), computes the figures from those
/// without reading the data. Sums that do not fit the study (another tree,
/// other segments) are refused with [`EngineError::SumsDoNotFit`].
pub fn compute_wave_with_sums(
    study: &Study,
    wave: &Wave,
    cached: Option<WaveSums>,
) -> Result<(WaveResult, WaveSums), EngineError> {
    compute(study, wave, false, None, cached)
}

/// [`compute_wave_with_sums`] for several waves from their data, reading each
/// data file once: the waves that take their rows from one file by the values of
/// one column (`where:`, or the study's `wave_column`) are computed in a single
/// pass over it, each from its own rows, with its own data report (a problem
/// whose policy is `error` fails that wave only; ids are checked for duplicates
/// within a wave). The results are in the order of `waves`.
pub fn compute_waves_with_sums(study: &Study, waves: &[&Wave]) -> WavesComputed {
    compute_waves_feeding_rows(study, waves, Vec::new(), &mut |_, _| {})
}

/// [`compute_waves_with_sums`], each wave's statistics pass also feeding the
/// streams of respondent rows in `feeds` (per wave, in the order of `waves`; see
/// [`fed_rows`]), so that plugins reading rows read them with the pass, not in a
/// pass of their own. `done` is told each wave's result as soon as its pass is
/// over (waves sharing a file at once, in the order of `waves`).
pub fn compute_waves_feeding_rows(
    study: &Study,
    waves: &[&Wave],
    feeds: Vec<Vec<RowsFeed>>,
    done: &mut dyn FnMut(usize, &Computed),
) -> WavesComputed {
    let mut out: Vec<Option<Result<(WaveResult, WaveSums), EngineError>>> = waves.iter().map(|_| None).collect();
    let mut unclaimed = Vec::new();
    let mut feeds: Vec<Option<Vec<RowsFeed>>> = feeds.into_iter().map(Some).collect();
    feeds.resize_with(waves.len(), || None);
    for group in passes_over_files(waves) {
        let members: Vec<&Wave> = group.iter().map(|&k| waves[k]).collect();
        let group_feeds = group.iter().map(|&k| feeds[k].take().unwrap_or_default()).collect();
        let (results, nobody) = compute_in_one_pass(study, &members, false, None, group_feeds);
        for (k, result) in group.into_iter().zip(results) {
            done(k, &result);
            out[k] = Some(result);
        }
        if let (Some(rows), Some(filter)) = (nobody.filter(|u| u.rows > 0), &members[0].filter) {
            unclaimed.push(UnclaimedRows {
                file: members[0].data_as_written.clone(),
                column: filter.column.name.clone(),
                rows,
            });
        }
    }
    WavesComputed {
        results: out.into_iter().map(|r| r.expect("every wave is in one pass")).collect(),
        unclaimed,
    }
}

/// Several waves computed from their data ([`compute_waves_with_sums`]).
pub struct WavesComputed {
    /// Per wave, in the order asked: its figures and the sums they follow from,
    /// or why it could not be computed.
    pub results: Vec<Result<(WaveResult, WaveSums), EngineError>>,
    /// Per file holding several waves: its rows that no wave of the study takes.
    pub unclaimed: Vec<UnclaimedRows>,
}

/// The rows of a file holding several waves that no wave of the study takes:
/// not read, and worth a word (a wave not yet declared, a value written
/// otherwise than in `where`, an empty wave column).
#[derive(Debug, Clone, PartialEq)]
pub struct UnclaimedRows {
    /// The file, as the study names it.
    pub file: String,
    /// The column that says a row's wave.
    pub column: String,
    /// How many rows, and the first few of their values.
    pub rows: csi_data::Unclaimed,
}

impl std::fmt::Display for UnclaimedRows {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let values: Vec<String> = self
            .rows
            .values
            .iter()
            .map(|(v, n)| {
                let v = if v.is_empty() {
                    "empty".to_string()
                } else {
                    format!("`{v}`")
                };
                format!("{v} ({n} row{})", if *n == 1 { "" } else { "s" })
            })
            .collect();
        let listed: u64 = self.rows.values.iter().map(|(_, n)| n).sum();
        let more = if listed < self.rows.rows { ", …" } else { "" };
        write!(
            f,
            "{} row(s) of `{}` have a `{}` that no wave takes, so they are not read: {}{more}; declare their wave, or write their value in a wave's `where`",
            self.rows.rows,
            self.file,
            self.column,
            values.join(", ")
        )
    }
}

/// The waves read in one pass each: those that take their rows of one file by
/// one column's values together, in order; every other wave alone.
fn passes_over_files(waves: &[&Wave]) -> Vec<Vec<usize>> {
    let mut passes: Vec<Vec<usize>> = Vec::new();
    for (k, wave) in waves.iter().enumerate() {
        match passes.iter_mut().find(|p| waves[p[0]].shares_rows_with(wave)) {
            Some(pass) => pass.push(k),
            None => passes.push(vec![k]),
        }
    }
    passes
}

/// [`compute_wave`], with every respondent added to each published cell it belongs
/// to when `per_cell` (the fallback for a cross of segments too large), else into
/// its finest cell where that fits.
///
/// `how` fixes the threads and the chunk size of the read (tests); by default every
/// core, and chunks of [`CHUNK_BYTES`] or more.
fn compute(
    study: &Study,
    wave: &Wave,
    per_cell: bool,
    how: Option<csi_data::Parallelism>,
    cached: Option<WaveSums>,
) -> Result<(WaveResult, WaveSums), EngineError> {
    match cached {
        Some(sums) => {
            let prepared = Prepared::new(study, wave, per_cell, &mut Columns::default())?;
            let sums = sums.fit(&prepared.empty, prepared.cells.len(), prepared.group_pairs.len())?;
            prepared.finish(study, sums)
        }
        None => compute_in_one_pass(study, &[wave], per_cell, how, Vec::new())
            .0
            .pop()
            .expect("one result per wave"),
    }
}

/// Everything computing one wave needs, prepared before its data are read.
struct Prepared<'s> {
    wave: &'s Wave,
    confidence: Confidence,
    nodes: Vec<FlatNode>,
    plan: Plan,
    pairs: Vec<(usize, usize)>,
    important: Vec<usize>,
    /// The pairs of importance series kept per random group.
    group_pairs: Vec<usize>,
    /// Like-for-like masks against the neighbouring waves, where their questions differ.
    neighbours: [Option<(&'s Wave, score::Common)>; 2],
    cells: Vec<Cell>,
    seg_offset: Vec<usize>,
    empty: CellAcc,
    /// Nodes with an expectation somewhere beneath them (themselves included).
    has_expectation: Vec<bool>,
    dense: dense::DenseLayout,
    layout: Accumulation,
    /// A cell's sums take the larger of their two forms: column-wise while a piece
    /// is read, as accumulators once merged.
    cell_bytes: usize,
    /// Where each importance series sits in a respondent's row of importance scores.
    importance_slot: Vec<usize>,
}

impl<'s> Prepared<'s> {
    /// Prepares `wave`, its columns added to those of the pass.
    fn new(study: &'s Study, wave: &'s Wave, per_cell: bool, columns: &mut Columns) -> Result<Self, EngineError> {
        let confidence =
            Confidence::new(study.settings.confidence).map_err(|e| EngineError::Settings(e.to_string()))?;
        let mut nodes = flat::flatten(study);
        let plan = Plan::new(study, wave, &mut nodes, columns);
        let pairs = cross_pairs(&nodes);
        let important = importance_series(&nodes);
        let group_pairs: Vec<usize> = pairs
            .iter()
            .enumerate()
            .filter(|(_, (x, y))| important.contains(x) && important.contains(y))
            .map(|(k, _)| k)
            .collect();

        let position = study.waves.iter().position(|w| w.id == wave.id);
        let asked = score::asked_in(&nodes, &wave.id);
        let neighbours: [Option<(&Wave, score::Common)>; 2] = [
            position.and_then(|p| p.checked_sub(1)),
            position.map(|p| p + 1).filter(|&p| p < study.waves.len()),
        ]
        .map(|other| {
            let other = &study.waves[other?];
            score::Common::between(&nodes, &asked, &score::asked_in(&nodes, &other.id)).map(|c| (other, c))
        });

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
        let scores_about_50 = vec![WeightedMoments::new(50.0); nodes.len()];
        let empty = CellAcc {
            rows: 0,
            score: scores_about_50.clone(),
            top: vec![WeightedMoments::new(0.5); nodes.len()],
            expect: scores_about_50.clone(),
            paired: scores_about_50.clone(),
            gap: vec![WeightedMoments::new(0.0); nodes.len()],
            raw: nodes
                .iter()
                .map(|n| WeightedMoments::new(n.leaf.as_ref().map_or(0.0, |l| (l.min + l.max) / 2.0)))
                .collect(),
            cross: vec![CoMoments::new(50.0, 50.0); pairs.len()],
            common: [0, 1].map(|k| {
                if neighbours[k].is_some() {
                    scores_about_50.clone()
                } else {
                    Vec::new()
                }
            }),
        };
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
        let dense = dense::DenseLayout::new(&nodes, &empty, &pairs, &has_expectation);
        let cell_bytes = empty.bytes().max(dense.cell_bytes());
        let layout = if per_cell {
            Accumulation::PerCell
        } else {
            Accumulation::choose(study, cell_bytes)
        };
        let mut importance_slot = vec![usize::MAX; nodes.len()];
        for (k, &i) in important.iter().enumerate() {
            importance_slot[i] = k + 1;
        }
        Ok(Self {
            wave,
            confidence,
            nodes,
            plan,
            pairs,
            important,
            group_pairs,
            neighbours,
            cells,
            seg_offset,
            empty,
            has_expectation,
            dense,
            layout,
            cell_bytes,
            importance_slot,
        })
    }

    /// The sums a piece of the file adds to.
    fn new_chunk(&self) -> ChunkSums {
        ChunkSums {
            cells: self.dense.cells(self.layout.accumulators(self.cells.len())),
            importance: Vec::new(),
        }
    }

    /// How a respondent of the wave is added to a piece's sums.
    fn pass(&self, study: &'s Study) -> Pass<'_> {
        Pass {
            study,
            nodes: &self.nodes,
            plan: &self.plan,
            layout: &self.layout,
            seg_offset: &self.seg_offset,
            dense: &self.dense,
            important: &self.important,
            neighbours: [0, 1].map(|k| self.neighbours[k].as_ref().map(|(_, c)| &c.include[..])),
        }
    }

    /// The bytes of the accumulators one piece of the file holds for the wave.
    fn piece_bytes(&self) -> usize {
        self.cell_bytes * self.layout.accumulators(self.cells.len())
    }

    /// Every figure of the wave, from its sums.
    fn finish(self, study: &Study, sums: WaveSums) -> Result<(WaveResult, WaveSums), EngineError> {
        let Prepared {
            wave,
            confidence,
            nodes,
            pairs,
            group_pairs,
            neighbours,
            cells,
            has_expectation,
            ..
        } = self;
        let (data, acc, group_acc) = (sums.data.clone(), &sums.cells, &sums.groups);
        if data.rows_used == 0 {
            return Err(EngineError::NoRespondents {
                wave: wave.id.clone(),
                file: wave.data_as_written.clone(),
                why: if let (0, Some(filter)) = (data.rows_read, &wave.filter) {
                    format!(
                        "no row of `{}` has {}; check the wave's `where` (or the study's `wave_column`) against the values in the file",
                        wave.data_as_written,
                        filter.text()
                    )
                } else if data.rows_read == 0 {
                    format!(
                        "the data file has a header but no data rows; check that `{}` is the wave's data file",
                        wave.data_as_written
                    )
                } else {
                    let issues: Vec<String> = data.issues.iter().take(3).map(ToString::to_string).collect();
                    format!(
                        "all {} data rows of `{}` were excluded under the study's data policy{}; review `data_policy` in the study or the data",
                        data.rows_read,
                        wave.data_as_written,
                        if issues.is_empty() {
                            String::new()
                        } else {
                            format!(" ({})", issues.join("; "))
                        }
                    )
                },
            });
        }

        // Every figure is a domain (a segment group, the respondents who answered an
        // item) of the wave's sample: its standard error uses the sample's n.
        if let Some(population) = study.settings.population.filter(|&p| p < data.rows_used as f64) {
            return Err(EngineError::Settings(format!(
                "settings.population is {population}, fewer than the {} respondents of wave `{}`: give the size of the population the sample is drawn from",
                data.rows_used, wave.id
            )));
        }
        let design = Design::new(data.rows_used, study.settings.population);
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
        let group_cross = group_pairs
            .iter()
            .enumerate()
            .map(|(m, &k)| GroupCross {
                x: nodes[pairs[k].0].id.clone(),
                y: nodes[pairs[k].1].id.clone(),
                values: group_acc.iter().map(|g| g[m].summary()).collect(),
            })
            .collect();
        let mut comparable = Vec::new();
        for (k, neighbour) in neighbours.iter().enumerate() {
            let Some((other, common)) = neighbour else { continue };
            for (i, node) in nodes.iter().enumerate() {
                if node.leaf.is_some() || !common.differs[i] {
                    continue;
                }
                comparable.push(Comparable {
                    node: node.id.clone(),
                    against: if k == 0 { Neighbour::Previous } else { Neighbour::Next },
                    wave: other.id.clone(),
                    common_items: common.common_items[i],
                    values: acc
                        .iter()
                        .map(|a| a.common[k][i].estimate_in(confidence, &design))
                        .collect(),
                });
            }
        }
        let series = nodes
            .into_iter()
            .enumerate()
            .map(|(i, node)| {
                let values = acc
                    .iter()
                    .map(|a| {
                        let score = a.score[i].estimate_in(confidence, &design);
                        let leaf = node.leaf.as_ref();
                        let paired =
                            |m: &WeightedMoments| has_expectation[i].then(|| m.estimate_in(confidence, &design));
                        CellValue {
                            low_base: score.n < low,
                            score,
                            top_box: leaf
                                .filter(|l| l.top_threshold.is_some())
                                .map(|_| share(&a.top[i], confidence, &design)),
                            expectation: paired(&a.expect[i]),
                            paired_score: paired(&a.paired[i]),
                            gap: paired(&a.gap[i]),
                            raw: leaf
                                .filter(|l| l.unit.is_some())
                                .map(|_| a.raw[i].estimate_in(confidence, &design)),
                        }
                    })
                    .collect();
                Series { node, values }
            })
            .collect();
        let result = WaveResult {
            wave: wave.id.clone(),
            confidence: confidence.level(),
            low_base: low,
            weighted: wave.weight.is_some(),
            design,
            data,
            cells,
            series,
            cross,
            comparable,
            groups: group_cross,
        };
        Ok((result, sums))
    }
}

/// A wave's sums as the pieces of its file are merged, in file order.
struct Totals {
    acc: Vec<CellAcc>,
    group_acc: Vec<Vec<CoMoments>>,
    /// Respondents merged so far: the position, and so the random group, of the next.
    respondent: u64,
}

impl Totals {
    fn new(prepared: &Prepared<'_>) -> Self {
        Self {
            acc: vec![prepared.empty.clone(); prepared.layout.accumulators(prepared.cells.len())],
            group_acc: vec![
                vec![CoMoments::new(50.0, 50.0); prepared.group_pairs.len()];
                groups::BOOTSTRAP_GROUPS as usize
            ],
            respondent: 0,
        }
    }

    /// Adds a piece's sums, the piece after every piece merged so far: its cells
    /// are merged in that order (so every sum is the same whatever the number of
    /// threads), and its respondents take their positions, and so their random
    /// groups, in that order too.
    fn merge(&mut self, prepared: &Prepared<'_>, sums: ChunkSums) {
        let (dense, empty, pairs) = (&prepared.dense, &prepared.empty, &prepared.pairs);
        for (total, chunk) in self.acc.iter_mut().zip(&sums.cells) {
            if chunk.rows > 0 {
                total.merge(&dense.to_cell(chunk, empty));
            }
        }
        for scores in sums.importance.chunks_exact(prepared.important.len() + 1) {
            let g = &mut self.group_acc[groups::group_of(self.respondent)];
            for (m, &k) in g.iter_mut().zip(&prepared.group_pairs) {
                let (x, y) = pairs[k];
                let (sx, sy) = (scores[prepared.importance_slot[x]], scores[prepared.importance_slot[y]]);
                if !sx.is_nan() && !sy.is_nan() {
                    m.add(sx, sy, scores[0]);
                }
            }
            self.respondent += 1;
        }
    }

    /// The wave's sums, with its data report.
    fn into_sums(self, prepared: &Prepared<'_>, data: DataReport) -> WaveSums {
        WaveSums {
            data,
            cells: prepared
                .layout
                .publish(self.acc, &prepared.empty, prepared.cells.len(), &prepared.seg_offset),
            groups: self.group_acc,
        }
    }
}

/// Computes `waves` (one, or several that take their rows of one file by one
/// column's values) in one pass over their data file: each piece of the file
/// adds each row to the sums of its wave. Also returns the rows of a file
/// holding several waves that no wave of the study takes.
fn compute_in_one_pass(
    study: &Study,
    waves: &[&Wave],
    per_cell: bool,
    how: Option<csi_data::Parallelism>,
    feeds: Vec<Vec<RowsFeed>>,
) -> (Vec<Computed>, Option<csi_data::Unclaimed>) {
    let mut feeds = feeds;
    feeds.resize_with(waves.len(), Vec::new);
    let fail_feeds = |feeds: Vec<Vec<RowsFeed>>, why: &str| {
        for feed in feeds.into_iter().flatten() {
            feed.fail(why.to_string());
        }
    };
    let failed = |e: EngineError, feeds: Vec<Vec<RowsFeed>>| {
        fail_feeds(feeds, &e.to_string());
        (every_wave_fails(waves.len(), e), None)
    };
    let mut columns = Columns::default();
    let prepared: Result<Vec<Prepared<'_>>, EngineError> = waves
        .iter()
        .map(|w| Prepared::new(study, w, per_cell, &mut columns))
        .collect();
    let prepared = match prepared {
        Ok(p) => p,
        Err(e) => return failed(e, feeds),
    };
    // The study's other waves of the file: their rows are not read now, nor
    // unclaimed; and the pieces are sized for every wave of the file, so that a
    // wave's sums do not depend on which of them this pass computes.
    let siblings: Vec<&Wave> = study
        .waves
        .iter()
        .filter(|w| w.shares_rows_with(waves[0]) && !waves.iter().any(|o| o.id == w.id))
        .collect();
    let mut piece_bytes = prepared.iter().map(Prepared::piece_bytes).max().unwrap_or(0);
    for w in &siblings {
        match Prepared::new(study, w, per_cell, &mut Columns::default()) {
            Ok(p) => piece_bytes = piece_bytes.max(p.piece_bytes()),
            Err(e) => return failed(e, feeds),
        }
    }
    let mut file = csi_data::DataFile::of_wave(waves[0]);
    if let Some(parts) = &mut file.parts {
        parts.values = waves
            .iter()
            .map(|w| w.filter.as_ref().map_or_else(Vec::new, |f| f.values.clone()))
            .collect();
        parts.reads = prepared
            .iter()
            .map(|p| (0..columns.columns.len()).map(|c| p.plan.reads.contains(&c)).collect())
            .collect();
        parts.others = siblings
            .iter()
            .filter_map(|w| w.filter.as_ref())
            .flat_map(|f| f.values.iter().cloned())
            .collect();
    }
    let passes: Vec<Pass<'_>> = prepared.iter().map(|p| p.pass(study)).collect();
    let chunk_bytes = CHUNK_BYTES.max(2 * piece_bytes);
    // The rows of a wave whose plugins read them are also made into batches for
    // them, when its columns are the first of the pass's (always so for a file of
    // one wave) and the batches of the pieces in flight (about four times their
    // bytes, waiting for the pieces before them) fit FEED_BYTES; else its streams
    // read the rows on their own.
    let how = how.unwrap_or_else(|| csi_data::Parallelism::all_cores(chunk_bytes));
    let feedable = || {
        (how.threads + 1) * 4 * how.chunk_bytes <= FEED_BYTES
            && csi_data::pieces_fit(&file.path, how.chunk_bytes).unwrap_or(false)
    };
    let feedable = feeds.iter().any(|f| !f.is_empty()) && feedable();
    // Per wave: the width of its streams' rows, and how many streams still read.
    let mut fed: Vec<Option<(usize, std::sync::atomic::AtomicUsize)>> = (0..waves.len()).map(|_| None).collect();
    for (k, wave_feeds) in feeds.iter_mut().enumerate() {
        let Some(first) = wave_feeds.first() else { continue };
        if feedable && columns.columns.starts_with(first.columns()) {
            fed[k] = Some((first.columns().len(), wave_feeds.len().into()));
        } else {
            std::mem::take(wave_feeds).into_iter().for_each(RowsFeed::unserved);
        }
    }
    let feeding = fed.iter().any(Option::is_some);
    let reading = |k: usize| {
        fed[k]
            .as_ref()
            .filter(|(_, live)| live.load(std::sync::atomic::Ordering::Relaxed) > 0)
            .map(|(width, _)| *width)
    };
    // A piece's sums of a wave are made when the piece has one of its rows (a
    // file sorted by wave has rows of one wave in most pieces).
    type Chunk = (Vec<Option<ChunkSums>>, Vec<Vec<arrow_array::RecordBatch>>);
    let new_chunk = || -> Chunk {
        (
            prepared.iter().map(|_| None).collect(),
            prepared.iter().map(|_| Vec::new()).collect(),
        )
    };
    let add = |(sums, batches): &mut Chunk, rows: &csi_data::NumericRows| {
        let k = rows.part();
        let sums = sums[k].get_or_insert_with(|| prepared[k].new_chunk());
        passes[k].add(sums, rows);
        if let Some(width) = reading(k) {
            batches[k].push(csi_data::rows_batch(&columns.columns[..width], rows));
        }
    };
    let mut totals: Vec<Totals> = prepared.iter().map(Totals::new).collect();
    let mut merge = |(chunk, batches): Chunk| {
        for ((total, p), sums) in totals.iter_mut().zip(&prepared).zip(chunk) {
            if let Some(sums) = sums {
                total.merge(p, sums);
            }
        }
        for ((wave_feeds, batches), fed) in feeds.iter_mut().zip(batches).zip(&fed) {
            for batch in &batches {
                // A stream that no longer reads from the pass is let go.
                wave_feeds.retain(|feed| feed.send(batch));
            }
            if let Some((_, live)) = fed {
                // Once no stream reads, no more batches are made for them.
                live.store(wave_feeds.len(), std::sync::atomic::Ordering::Relaxed);
            }
        }
    };
    let scan = if feeding {
        csi_data::scan_numbers_in_parts_with_ids
    } else {
        csi_data::scan_numbers_in_parts
    };
    let read = scan(
        &file,
        &columns.columns,
        &study.data_policy,
        how,
        &new_chunk,
        &add,
        &mut merge,
    );
    drop(passes);
    let read = match read {
        Ok(r) => r,
        Err(e) => return failed(EngineError::Data(e), feeds),
    };
    let results = prepared
        .into_iter()
        .zip(totals)
        .zip(read.parts)
        .zip(feeds)
        .map(|(((p, total), report), wave_feeds)| {
            if report.has_errors() {
                let e = EngineError::Data(DataError::Invalid {
                    path: p.wave.data.clone(),
                    report: Box::new(report),
                });
                for feed in wave_feeds {
                    feed.fail(e.to_string());
                }
                return Err(e);
            }
            wave_feeds.into_iter().for_each(RowsFeed::end);
            let sums = total.into_sums(&p, report);
            p.finish(study, sums)
        })
        .collect();
    (results, Some(read.unclaimed))
}

/// One wave's figures and the sums they follow from, or why not.
pub type Computed = Result<(WaveResult, WaveSums), EngineError>;

/// `e` for each of `waves` waves of a pass that failed as a whole: the last has
/// it as it is, the others a copy (a data error as its text).
fn every_wave_fails(waves: usize, e: EngineError) -> Vec<Computed> {
    let mut out: Vec<_> = (1..waves).map(|_| Err(same_error(&e))).collect();
    out.push(Err(e));
    out
}

/// A copy of `e` (a data error as its text).
fn same_error(e: &EngineError) -> EngineError {
    match e {
        EngineError::Columns(d) => EngineError::Columns(d.clone()),
        EngineError::Settings(m) => EngineError::Settings(m.clone()),
        EngineError::NoRespondents { wave, file, why } => EngineError::NoRespondents {
            wave: wave.clone(),
            file: file.clone(),
            why: why.clone(),
        },
        EngineError::SumsDoNotFit => EngineError::SumsDoNotFit,
        EngineError::Data(d) => EngineError::Data(DataError::Consumer(d.to_string())),
    }
}

/// A share (the mean of a 0/1 variable) with the Korn–Graubard interval, which
/// stays within [0, 1], in place of the normal one.
fn share(m: &WeightedMoments, confidence: Confidence, design: &Design) -> Estimate {
    let mut e = m.estimate_in(confidence, design);
    if let Some((low, high)) = csi_stats::proportion::korn_graubard(&e, confidence) {
        (e.ci_low, e.ci_high) = (Some(low), Some(high));
    }
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The relative difference of two figures (absolute below 1).
    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-12 * a.abs().max(b.abs()).max(1.0)
    }

    fn same(a: &Estimate, b: &Estimate) -> bool {
        a.n == b.n
            && [
                (a.mean, b.mean),
                (a.se, b.se),
                (a.ci_low, b.ci_low),
                (a.ci_high, b.ci_high),
            ]
            .iter()
            .all(|(x, y)| match (x, y) {
                (Some(x), Some(y)) => close(*x, *y),
                (None, None) => true,
                _ => false,
            })
    }

    /// Accumulating into the finest cells and merging gives every figure of the
    /// per-cell pass (the example study: three segments, 64 finest cells), to
    /// 1e-12 relative, co-moments and like-for-like scores included.
    #[test]
    fn finest_cells_merge_to_the_per_cell_figures() {
        let study = csi_study::load(std::path::Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../reports/telecom/study.yaml"
        )))
        .expect("example study");
        assert!(matches!(
            Accumulation::choose(&study, 1),
            Accumulation::Finest { count: 64, .. }
        ));
        for wave in &study.waves {
            let finest = compute(&study, wave, false, None, None).unwrap().0;
            let per_cell = compute(&study, wave, true, None, None).unwrap().0;
            assert_close(&finest, &per_cell);
        }
    }

    /// Every figure of two passes over the same data agrees to 1e-12 relative.
    fn assert_close(a: &WaveResult, b: &WaveResult) {
        assert_eq!(a.data, b.data);
        assert_close_figures(a, b);
    }

    /// [`assert_close`] but for where the data report places its problems.
    fn assert_close_figures(a: &WaveResult, b: &WaveResult) {
        assert_eq!(a.cells, b.cells);
        assert_eq!(
            (a.data.rows_read, a.data.rows_used),
            (b.data.rows_read, b.data.rows_used)
        );
        let kinds = |r: &WaveResult| -> Vec<_> {
            r.data
                .issues
                .iter()
                .map(|i| (i.kind, i.count, i.column.clone()))
                .collect()
        };
        assert_eq!(kinds(a), kinds(b));
        let mut compared = 0;
        for (a, b) in a.series.iter().zip(&b.series) {
            for (x, y) in a.values.iter().zip(&b.values) {
                assert!(same(&x.score, &y.score), "{} {:?} {:?}", a.node.id, x.score, y.score);
                for (p, q) in [
                    (&x.top_box, &y.top_box),
                    (&x.expectation, &y.expectation),
                    (&x.paired_score, &y.paired_score),
                    (&x.gap, &y.gap),
                    (&x.raw, &y.raw),
                ] {
                    assert_eq!(p.is_some(), q.is_some());
                    if let (Some(p), Some(q)) = (p, q) {
                        assert!(same(p, q), "{}: {p:?} {q:?}", a.node.id);
                    }
                }
                compared += 1;
            }
        }
        assert!(compared > 500, "{compared}");
        let summaries =
            |c: &[Cross]| -> Vec<Vec<Option<CoMomentsSummary>>> { c.iter().map(|c| c.values.clone()).collect() };
        let groups =
            |c: &[GroupCross]| -> Vec<Vec<Option<CoMomentsSummary>>> { c.iter().map(|c| c.values.clone()).collect() };
        assert_eq!(a.cross.len(), b.cross.len());
        assert_eq!(a.groups.len(), b.groups.len());
        assert!(!a.groups.is_empty());
        for (xs, ys) in summaries(&a.cross)
            .iter()
            .chain(&groups(&a.groups))
            .zip(summaries(&b.cross).iter().chain(&groups(&b.groups)))
        {
            for (x, y) in xs.iter().zip(ys) {
                match (x, y) {
                    (Some(x), Some(y)) => {
                        assert_eq!(x.n, y.n);
                        for (p, q) in [
                            (x.sum_w, y.sum_w),
                            (x.mean_x, y.mean_x),
                            (x.mean_y, y.mean_y),
                            (x.ss_x, y.ss_x),
                            (x.ss_y, y.ss_y),
                            (x.sp, y.sp),
                        ] {
                            assert!(close(p, q), "{p} {q}");
                        }
                    }
                    (None, None) => {}
                    _ => panic!("one pass has no co-moments"),
                }
            }
        }
        assert_eq!(a.comparable.len(), b.comparable.len());
        for (a, b) in a.comparable.iter().zip(&b.comparable) {
            for (x, y) in a.values.iter().zip(&b.values) {
                assert!(same(x, y), "{}", a.node);
            }
        }
    }

    /// The read in chunks on several threads gives the same figures, bit for bit,
    /// for any number of threads, and the figures of one chunk read on one thread to
    /// 1e-12 (sums merged from chunks round differently, by a few units of the last
    /// digit).
    #[test]
    fn chunks_on_any_number_of_threads_give_the_same_figures() {
        let study = csi_study::load(std::path::Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../reports/telecom/study.yaml"
        )))
        .expect("example study");
        let wave = &study.waves[1];
        let how = |threads, chunk_bytes| Some(csi_data::Parallelism { threads, chunk_bytes });
        let whole = compute(&study, wave, false, how(1, usize::MAX), None).unwrap().0;
        assert_eq!(
            whole,
            compute(&study, wave, false, None, None).unwrap().0,
            "the example fits one chunk"
        );
        for chunk_bytes in [4 << 10, 37 << 10] {
            let one = compute(&study, wave, false, how(1, chunk_bytes), None).unwrap().0;
            for threads in [2, 3, 5] {
                assert_eq!(
                    compute(&study, wave, false, how(threads, chunk_bytes), None).unwrap().0,
                    one
                );
            }
            assert_close(&one, &whole);
            assert_ne!(one, whole, "chunks of {chunk_bytes} bytes: more than one chunk");
        }
    }

    /// Waves read from one file holding them all, in one pass cut into chunks
    /// on any number of threads, give each wave the figures of a file of its own
    /// (to rounding: the pieces are cut elsewhere), whatever the order of the
    /// waves' rows in the file, as long as each wave's rows keep their order.
    #[test]
    fn waves_of_one_file_in_one_pass_give_the_figures_of_their_own_files() {
        let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../../reports/telecom/study.yaml");
        let study = csi_study::load(std::path::Path::new(example)).expect("example study");
        let dir = tempfile::tempdir().unwrap();
        let shared = dir.path().join("responses.csv");
        let mut by_wave: Vec<std::collections::VecDeque<String>> = Vec::new();
        let mut header = String::new();
        for w in &study.waves {
            let text = std::fs::read_to_string(&w.data).unwrap();
            let mut lines = text.lines();
            header = format!("{},wave", lines.next().unwrap());
            by_wave.push(lines.map(|l| format!("{l},{}", w.id)).collect());
        }
        // Interleaved, two rows of one wave, one of the next...
        let mut text = header + "\n";
        let mut k = 0;
        while by_wave.iter().any(|w| !w.is_empty()) {
            for _ in 0..(1 + k % 2) {
                let wave = k % by_wave.len();
                if let Some(line) = by_wave[wave].pop_front() {
                    text.push_str(&line);
                    text.push('\n');
                }
            }
            k += 1;
        }
        std::fs::write(&shared, text).unwrap();
        let mut one_file = study.clone();
        for w in &mut one_file.waves {
            w.data = shared.clone();
            w.filter = Some(csi_study::RowFilter {
                column: csi_study::ColumnRef {
                    name: "wave".into(),
                    at: None,
                },
                values: vec![w.id.clone()],
            });
        }
        let own: Vec<WaveResult> = study.waves.iter().map(|w| compute_wave(&study, w).unwrap()).collect();
        let waves: Vec<&Wave> = one_file.waves.iter().collect();
        let how = |threads, chunk_bytes| Some(csi_data::Parallelism { threads, chunk_bytes });
        for (threads, chunk_bytes) in [(1, usize::MAX), (1, 64 << 10), (3, 64 << 10), (2, 1 << 20)] {
            let (results, unclaimed) =
                compute_in_one_pass(&one_file, &waves, false, how(threads, chunk_bytes), Vec::new());
            assert_eq!(unclaimed.map(|u| u.rows), Some(0));
            for (got, want) in results.into_iter().zip(&own) {
                assert_close_figures(&got.unwrap().0, want);
            }
        }
        // Two of the three waves in the pass: the third's rows are not unclaimed,
        // and the two get the figures they get with it.
        let (two, unclaimed) = compute_in_one_pass(&one_file, &waves[1..], false, None, Vec::new());
        assert_eq!(unclaimed.map(|u| u.rows), Some(0));
        for (got, want) in two.into_iter().zip(&own[1..]) {
            assert_close_figures(&got.unwrap().0, want);
        }
        let all = compute_waves_with_sums(&one_file, &waves);
        assert!(all.unclaimed.is_empty());
        assert_eq!(all.results.len(), 3);
    }

    /// The cross of segments falls back to per-cell accumulation when its cells
    /// would take more memory than allowed.
    #[test]
    fn a_cross_too_large_falls_back_to_per_cell() {
        let study = csi_study::load(std::path::Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../reports/telecom/study.yaml"
        )))
        .expect("example study");
        assert!(matches!(
            Accumulation::choose(&study, FINEST_CELLS_BYTES / 64),
            Accumulation::Finest { .. }
        ));
        assert!(matches!(
            Accumulation::choose(&study, FINEST_CELLS_BYTES / 63),
            Accumulation::PerCell
        ));
    }
}
