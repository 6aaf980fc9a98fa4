//! A piece's accumulators, column-wise: while a piece of the file is read, each
//! cell keeps its sums in [`csi_stats::columns`] arrays, to which a respondent adds
//! one row of values (one per accumulator, `NaN` where missing) without a branch
//! per node. When the piece is done its cells become ordinary [`CellAcc`]s: the
//! sums that adding each value to its own accumulator would have given, bit for bit
//! for the moments and, when no value is missing, the co-moments (else up to the
//! bounded rounding that [`CoMomentColumns`] describes).

use csi_stats::columns::{CoMomentColumns, MomentColumns};
use csi_stats::{Direction, WeightedMoments};

use crate::flat::FlatNode;
use crate::CellAcc;

/// Which of a cell's accumulators a position of the row of values feeds.
#[derive(Debug, Clone, Copy)]
enum Slot {
    /// A node's score.
    Score(usize),
    /// A node's paired expectation.
    Expect(usize),
    /// A node's paired performance.
    Paired(usize),
    /// A node's paired gap (performance − expectation).
    Gap(usize),
    /// A leaf's top-box share.
    Top(usize),
    /// A leaf's raw value (measures with a unit).
    Raw(usize),
    /// A node's like-for-like score against neighbour `k` (0 previous, 1 next).
    Common { k: usize, node: usize },
}

/// A leaf's top box: an answer in `column` is in it at or beyond `threshold` in the
/// direction of goodness.
struct TopBox {
    column: usize,
    threshold: f64,
    lower_is_better: bool,
}

/// The accumulators of one cell during a piece.
#[derive(Clone)]
pub(crate) struct DenseCell {
    /// Respondents added.
    pub rows: u64,
    moments: MomentColumns,
    cross: CoMomentColumns,
}

/// How a respondent's figures map onto a cell's accumulators: a row of values in
/// runs of one kind each, in this order: every node's score (so that the row's
/// start is the row of node scores the co-moment pairs index), the paired
/// expectation, performance and gap of each node with expectations, the top-box
/// hits, the raw values, and the like-for-like scores of every node per neighbour
/// whose questions differ.
pub(crate) struct DenseLayout {
    slots: Vec<Slot>,
    expectation_nodes: Vec<usize>,
    tops: Vec<TopBox>,
    raws: Vec<usize>,
    commons: Vec<usize>,
    /// An empty cell in this layout.
    empty: DenseCell,
}

/// The accumulator of `cell` that `slot` feeds.
fn target(cell: &mut CellAcc, slot: Slot) -> &mut WeightedMoments {
    match slot {
        Slot::Score(i) => &mut cell.score[i],
        Slot::Expect(i) => &mut cell.expect[i],
        Slot::Paired(i) => &mut cell.paired[i],
        Slot::Gap(i) => &mut cell.gap[i],
        Slot::Top(i) => &mut cell.top[i],
        Slot::Raw(i) => &mut cell.raw[i],
        Slot::Common { k, node } => &mut cell.common[k][node],
    }
}

impl DenseLayout {
    /// The layout for `nodes` (planned for the wave), whose cells look like `empty`
    /// (whose shifts they take) and whose co-moment `pairs` are of node scores;
    /// `has_expectation` says which nodes have an expectation beneath them.
    pub fn new(nodes: &[FlatNode], empty: &CellAcc, pairs: &[(usize, usize)], has_expectation: &[bool]) -> Self {
        let mut slots: Vec<Slot> = (0..nodes.len()).map(Slot::Score).collect();
        let expectation_nodes: Vec<usize> = (0..nodes.len()).filter(|&i| has_expectation[i]).collect();
        for &i in &expectation_nodes {
            slots.extend([Slot::Expect(i), Slot::Paired(i), Slot::Gap(i)]);
        }
        let asked = |i: usize| nodes[i].leaf.as_ref().filter(|l| l.asked);
        let mut tops = Vec::new();
        for i in 0..nodes.len() {
            if let Some((leaf, threshold)) = asked(i).and_then(|l| Some((l, l.top_threshold?))) {
                slots.push(Slot::Top(i));
                tops.push(TopBox {
                    column: leaf.column,
                    threshold,
                    lower_is_better: leaf.direction == Direction::LowerIsBetter,
                });
            }
        }
        let mut raws = Vec::new();
        for i in 0..nodes.len() {
            if let Some(leaf) = asked(i).filter(|l| l.unit.is_some()) {
                slots.push(Slot::Raw(i));
                raws.push(leaf.column);
            }
        }
        let mut commons = Vec::new();
        for (k, common) in empty.common.iter().enumerate().filter(|(_, c)| !c.is_empty()) {
            commons.push(k);
            slots.extend((0..common.len()).map(|node| Slot::Common { k, node }));
        }
        let mut template = empty.clone();
        let shifts = slots.iter().map(|&s| target(&mut template, s).sums().shift).collect();
        // The co-moments of node scores, kept about the scores' shift.
        let score_shifts: Vec<f64> = empty.score.iter().map(|m| m.sums().shift).collect();
        debug_assert!(pairs
            .iter()
            .zip(&empty.cross)
            .all(|(&(x, y), c)| c.shifts() == (score_shifts[x], score_shifts[y])));
        DenseLayout {
            slots,
            expectation_nodes,
            tops,
            raws,
            commons,
            empty: DenseCell {
                rows: 0,
                moments: MomentColumns::new(shifts),
                cross: CoMomentColumns::new(score_shifts, pairs),
            },
        }
    }

    /// `count` empty cells.
    pub fn cells(&self, count: usize) -> Vec<DenseCell> {
        vec![self.empty.clone(); count]
    }

    /// About how many bytes one cell of [`DenseLayout::cells`] takes.
    pub fn cell_bytes(&self) -> usize {
        std::mem::size_of::<DenseCell>() + self.empty.moments.heap_bytes() + self.empty.cross.heap_bytes()
    }

    /// How many values a respondent's row holds.
    pub fn width(&self) -> usize {
        self.slots.len()
    }

    /// Fills `values` (of [`DenseLayout::width`]) with one respondent's figures: its
    /// node `scores`, paired `performance` and `expectation`, like-for-like scores
    /// (`common`, per neighbour; empty where the wave has none) and its raw answers
    /// `row` (each `NaN` where missing).
    pub fn fill(
        &self,
        values: &mut [f64],
        scores: &[f64],
        performance: &[f64],
        expectation: &[f64],
        common: &[Vec<f64>; 2],
        row: &[f64],
    ) {
        // The slots come in runs of one kind (see `new`), filled run by run.
        let (score_part, rest) = values.split_at_mut(scores.len());
        score_part.copy_from_slice(scores);
        let (paired_part, rest) = rest.split_at_mut(3 * self.expectation_nodes.len());
        for (v, &i) in paired_part.chunks_exact_mut(3).zip(&self.expectation_nodes) {
            // (both or neither missing: the gap is missing with them)
            v[0] = expectation[i];
            v[1] = performance[i];
            v[2] = performance[i] - expectation[i];
        }
        let (top_part, rest) = rest.split_at_mut(self.tops.len());
        for (v, top) in top_part.iter_mut().zip(&self.tops) {
            let x = row[top.column];
            let hit = if top.lower_is_better {
                x <= top.threshold
            } else {
                x >= top.threshold
            };
            *v = if x.is_nan() {
                f64::NAN
            } else if hit {
                1.0
            } else {
                0.0
            };
        }
        let (raw_part, rest) = rest.split_at_mut(self.raws.len());
        for (v, &column) in raw_part.iter_mut().zip(&self.raws) {
            *v = row[column];
        }
        for (common_part, &k) in rest.chunks_exact_mut(scores.len()).zip(&self.commons) {
            common_part.copy_from_slice(&common[k]);
        }
    }

    /// Adds one respondent's row of `values` (from [`DenseLayout::fill`]) with weight
    /// `w` to `cell`.
    pub fn add(&self, cell: &mut DenseCell, values: &[f64], w: f64) {
        cell.rows += 1;
        cell.moments.add(values, w);
        // The row starts with the node scores, which the pairs index.
        cell.cross.add(values, w);
    }

    /// `cell`'s sums as a [`CellAcc`] (`empty` being the empty one this layout was
    /// made from).
    pub fn to_cell(&self, cell: &DenseCell, empty: &CellAcc) -> CellAcc {
        let mut out = empty.clone();
        out.rows = cell.rows;
        for (k, &slot) in self.slots.iter().enumerate() {
            *target(&mut out, slot) = cell.moments.get(k);
        }
        for (k, c) in out.cross.iter_mut().enumerate() {
            *c = cell.cross.get(k);
        }
        out
    }
}
