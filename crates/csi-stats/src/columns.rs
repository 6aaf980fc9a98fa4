//! Many accumulators updated together, kept column-wise (one array per sum), for
//! the statistics pass's inner loop: each respondent adds one value to every
//! accumulator of a cell, and a missing value adds nothing. Laid out this way the
//! update has no branches and the compiler can run it on vector registers. Every
//! [`MomentColumns`] sum takes exactly the operations, in the same order, that
//! [`WeightedMoments::add`] would, so its accumulators are bit for bit those of the
//! one-at-a-time updates; [`CoMomentColumns`] are too when no value is missing, and
//! otherwise equal them up to rounding bounded by a few hundred respondents' terms
//! (see there).
//!
//! Counts are kept as `f64` (exact below 2⁵³ respondents) so that the whole update
//! is floating point.

use crate::{CoMoments, MomentSums, WeightedMoments};

/// All ones when `x` is a value, zero when it is `NaN` (missing).
#[inline(always)]
fn present(x: f64) -> u64 {
    u64::from(!x.is_nan()).wrapping_neg()
}

/// `x` where `keep` is all ones, `+0.0` where it is zero.
#[inline(always)]
fn masked(x: f64, keep: u64) -> f64 {
    f64::from_bits(x.to_bits() & keep)
}

/// A set of [`WeightedMoments`], one per value of a respondent's row of values.
#[derive(Debug, Clone)]
pub struct MomentColumns {
    shift: Vec<f64>,
    n: Vec<f64>,
    sum_w: Vec<f64>,
    sum_w2: Vec<f64>,
    sum_wd: Vec<f64>,
    sum_wd2: Vec<f64>,
    sum_w2d: Vec<f64>,
    sum_w2d2: Vec<f64>,
}

impl MomentColumns {
    /// Empty accumulators, the `k`-th keeping its sums about `shifts[k]`.
    pub fn new(shifts: Vec<f64>) -> Self {
        let zeros = vec![0.0; shifts.len()];
        Self {
            shift: shifts,
            n: zeros.clone(),
            sum_w: zeros.clone(),
            sum_w2: zeros.clone(),
            sum_wd: zeros.clone(),
            sum_wd2: zeros.clone(),
            sum_w2d: zeros.clone(),
            sum_w2d2: zeros,
        }
    }

    /// The bytes its arrays take on the heap.
    pub fn heap_bytes(&self) -> usize {
        8 * self.shift.len() * 8
    }

    /// Adds one respondent of sampling weight `w` (finite): `values[k]` to the
    /// `k`-th accumulator, or nothing where it is `NaN` (missing). `values` has one
    /// entry per accumulator.
    pub fn add(&mut self, values: &[f64], w: f64) {
        let len = self.shift.len();
        assert_eq!(values.len(), len, "one value per accumulator");
        let (shift, n, sum_w, sum_w2) = (
            &self.shift[..len],
            &mut self.n[..len],
            &mut self.sum_w[..len],
            &mut self.sum_w2[..len],
        );
        let (sum_wd, sum_wd2, sum_w2d, sum_w2d2) = (
            &mut self.sum_wd[..len],
            &mut self.sum_wd2[..len],
            &mut self.sum_w2d[..len],
            &mut self.sum_w2d2[..len],
        );
        for k in 0..len {
            let x = values[k];
            // A missing value adds zeros: its weight, deviation and count are masked
            // to 0 (bit operations, so that the loop has no branch).
            let keep = present(x);
            let wk = masked(w, keep);
            let d = masked(x - shift[k], keep);
            let w2 = wk * wk;
            n[k] += masked(1.0, keep);
            sum_w[k] += wk;
            sum_w2[k] += w2;
            sum_wd[k] += wk * d;
            sum_wd2[k] += wk * d * d;
            sum_w2d[k] += w2 * d;
            sum_w2d2[k] += w2 * d * d;
        }
    }

    /// The `k`-th accumulator.
    pub fn get(&self, k: usize) -> WeightedMoments {
        WeightedMoments::from_sums(MomentSums {
            shift: self.shift[k],
            n: self.n[k] as u64,
            sum_w: self.sum_w[k],
            sum_w2: self.sum_w2[k],
            sum_wd: self.sum_wd[k],
            sum_wd2: self.sum_wd2[k],
            sum_w2d: self.sum_w2d[k],
            sum_w2d2: self.sum_w2d2[k],
        })
    }
}

/// A set of [`CoMoments`], one per pair of positions in a respondent's row of
/// values, each position's sums kept about one shift.
///
/// A pair's sums are taken over the respondents who have both values. Only the
/// cross-product `Σ w·dx·dy` is added pair by pair; the others are each
/// position's own sums (over the respondents who have it) less what the
/// respondents who have it but not the pair's other value added, which is
/// accumulated only for them. So a complete respondent costs one sum per pair, and
/// one with missing values a few more per pair that misses.
///
/// The subtraction rounds in proportion to what is subtracted, which could dwarf a
/// pair that few respondents share (items asked of a small group inside a large
/// cell). So after every [`FOLD_AFTER`] respondents with a missing value the
/// differences are folded into per-pair totals and the position sums start again:
/// a pair's rounding is then bounded by the terms of at most that many respondents
/// beyond its own, never by the whole cell. Without missing values nothing is
/// subtracted or folded and the sums are bit for bit those of one-at-a-time
/// accumulation.
#[derive(Debug, Clone)]
pub struct CoMomentColumns {
    pairs: Vec<(usize, usize)>,
    /// Per position: its shift.
    shift: Vec<f64>,
    /// Per position: the pairs it is part of, each with the other position and
    /// whether that one is the pair's `x` (CSR: `incident[starts[i]..starts[i + 1]]`).
    starts: Vec<usize>,
    incident: Vec<Incident>,
    /// Per position, for the row being added: its deviation from the shift (0 when
    /// missing), whether it is present (all ones) or not (zero), and the missing
    /// positions.
    deviation: Vec<f64>,
    keep: Vec<u64>,
    missing: Vec<usize>,
    /// Per position, over the respondents who have it: count, `Σw`, `Σw·d`, `Σw·d²`.
    own: [Vec<f64>; 4],
    /// Per pair: `Σ w·dx·dy` over the respondents who have both.
    sum_wdxdy: Vec<f64>,
    /// Per pair and side (x, y): the count, `Σw`, `Σw·d`, `Σw·d²` of that side's
    /// value over the respondents who have it but not the other side's.
    without_other: [[Vec<f64>; 4]; 2],
    /// Per pair, what earlier folds took from the sums above: the count, `Σw`,
    /// `Σw·dx`, `Σw·dy`, `Σw·dx²`, `Σw·dy²` over the pair's respondents.
    folded: [Vec<f64>; 6],
    /// Respondents with a missing value added since the last fold.
    missing_rows_since_fold: usize,
}

/// After how many respondents with a missing value [`CoMomentColumns`] folds its
/// position sums into its pair sums (a pass over the pairs: a small share of the
/// work of that many respondents).
pub const FOLD_AFTER: usize = 256;

/// A pair that a position is part of.
#[derive(Debug, Clone, Copy)]
struct Incident {
    pair: usize,
    other: usize,
    /// Side of `other` in the pair: 0 for x, 1 for y.
    other_side: usize,
}

impl CoMomentColumns {
    /// Empty accumulators of the co-moments of each pair `(x, y)` of positions of
    /// the rows [`CoMomentColumns::add`] is given, position `i` kept about
    /// `shifts[i]`.
    ///
    /// # Panics
    /// When a pair names a position beyond `shifts`.
    pub fn new(shifts: Vec<f64>, pairs: &[(usize, usize)]) -> Self {
        let width = shifts.len();
        assert!(
            pairs.iter().all(|&(x, y)| x < width && y < width),
            "pairs within the row"
        );
        let mut lists: Vec<Vec<Incident>> = vec![Vec::new(); width];
        for (pair, &(x, y)) in pairs.iter().enumerate() {
            lists[x].push(Incident {
                pair,
                other: y,
                other_side: 1,
            });
            if y != x {
                lists[y].push(Incident {
                    pair,
                    other: x,
                    other_side: 0,
                });
            }
        }
        let mut starts = vec![0];
        for l in &lists {
            starts.push(starts.last().copied().unwrap_or(0) + l.len());
        }
        let per_position = || vec![0.0; width];
        let per_pair = || vec![0.0; pairs.len()];
        Self {
            pairs: pairs.to_vec(),
            starts,
            incident: lists.into_iter().flatten().collect(),
            deviation: vec![0.0; width],
            keep: vec![0; width],
            missing: Vec::with_capacity(width),
            shift: shifts,
            own: [per_position(), per_position(), per_position(), per_position()],
            sum_wdxdy: per_pair(),
            without_other: [0, 1].map(|_| [per_pair(), per_pair(), per_pair(), per_pair()]),
            folded: [0; 6].map(|_| per_pair()),
            missing_rows_since_fold: 0,
        }
    }

    /// The bytes its arrays take on the heap.
    pub fn heap_bytes(&self) -> usize {
        let f = std::mem::size_of::<f64>();
        let width = self.shift.len();
        let pairs = self.pairs.len();
        pairs * std::mem::size_of::<(usize, usize)>()
            + self.starts.len() * std::mem::size_of::<usize>()
            + self.incident.len() * std::mem::size_of::<Incident>()
            + width * (f + std::mem::size_of::<u64>() + std::mem::size_of::<usize>())
            + width * 5 * f
            + pairs * (1 + 8 + 6) * f
    }

    /// Adds one respondent of sampling weight `w` (finite) to every pair whose two
    /// values are both present (not `NaN`); `values` starts with one value per
    /// position (any further values are not read).
    pub fn add(&mut self, values: &[f64], w: f64) {
        let width = self.shift.len();
        let (values, shift) = (&values[..width], &self.shift[..width]);
        let (deviation, keep) = (&mut self.deviation[..width], &mut self.keep[..width]);
        let [own_n, own_w, own_wd, own_wd2] = &mut self.own;
        let (own_n, own_w, own_wd, own_wd2) = (
            &mut own_n[..width],
            &mut own_w[..width],
            &mut own_wd[..width],
            &mut own_wd2[..width],
        );
        for i in 0..width {
            keep[i] = present(values[i]);
            let d = masked(values[i] - shift[i], keep[i]);
            deviation[i] = d;
            let wk = masked(w, keep[i]);
            let wd = wk * d;
            own_n[i] += masked(1.0, keep[i]);
            own_w[i] += wk;
            own_wd[i] += wd;
            own_wd2[i] += wd * d;
        }
        let len = self.pairs.len();
        let (pairs, sum_wdxdy) = (&self.pairs[..len], &mut self.sum_wdxdy[..len]);
        for k in 0..len {
            let (x, y) = pairs[k];
            // Positions were checked against the width when the pairs were made.
            let wk = masked(w, keep[x] & keep[y]);
            sum_wdxdy[k] += wk * deviation[x] * deviation[y];
        }
        self.missing.clear();
        self.missing.extend((0..width).filter(|&i| keep[i] == 0));
        for &m in &self.missing {
            for inc in &self.incident[self.starts[m]..self.starts[m + 1]] {
                if keep[inc.other] == 0 {
                    continue; // neither side: in no sum
                }
                let d = deviation[inc.other];
                let wd = w * d;
                let [n, sw, swd, swd2] = &mut self.without_other[inc.other_side];
                n[inc.pair] += 1.0;
                sw[inc.pair] += w;
                swd[inc.pair] += wd;
                swd2[inc.pair] += wd * d;
            }
        }
        if !self.missing.is_empty() {
            self.missing_rows_since_fold += 1;
            if self.missing_rows_since_fold >= FOLD_AFTER {
                self.fold();
            }
        }
    }

    /// The `k`-th pair's count, `Σw`, `Σw·dx`, `Σw·dy`, `Σw·dx²`, `Σw·dy²` since
    /// the last fold.
    fn unfolded(&self, k: usize) -> [f64; 6] {
        let (x, y) = self.pairs[k];
        let side = |position: usize, s: usize, sum: usize| self.own[sum][position] - self.without_other[s][sum][k];
        [
            side(x, 0, 0),
            side(x, 0, 1),
            side(x, 0, 2),
            side(y, 1, 2),
            side(x, 0, 3),
            side(y, 1, 3),
        ]
    }

    /// Moves every pair's sums since the last fold into its totals and starts the
    /// position sums again.
    fn fold(&mut self) {
        for k in 0..self.pairs.len() {
            let part = self.unfolded(k);
            for (total, part) in self.folded.iter_mut().zip(part) {
                total[k] += part;
            }
        }
        for sums in self.own.iter_mut().chain(self.without_other.iter_mut().flatten()) {
            sums.fill(0.0);
        }
        self.missing_rows_since_fold = 0;
    }

    /// The `k`-th pair's accumulator.
    pub fn get(&self, k: usize) -> CoMoments {
        let (x, y) = self.pairs[k];
        let part = self.unfolded(k);
        let [n, sum_w, sum_wdx, sum_wdy, sum_wdxdx, sum_wdydy] = std::array::from_fn(|s| self.folded[s][k] + part[s]);
        CoMoments {
            shift_x: self.shift[x],
            shift_y: self.shift[y],
            n: n as u64,
            sum_w,
            sum_wdx,
            sum_wdy,
            sum_wdxdx,
            sum_wdydy,
            sum_wdxdy: self.sum_wdxdy[k],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small deterministic generator (no dependency for a test's noise).
    struct Lcg(u64);
    impl Lcg {
        fn next(&mut self) -> f64 {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (self.0 >> 11) as f64 / (1u64 << 53) as f64
        }
    }

    /// Column-wise sums are bit for bit those of one accumulator at a time, with
    /// missing values, zero and fractional weights, and values far from the shift.
    #[test]
    fn columns_equal_one_accumulator_at_a_time_bit_for_bit() {
        let mut rng = Lcg(7);
        let shifts = vec![50.0, 0.5, 0.0, 3.0, 50.0];
        let pairs = [(0, 1), (0, 4), (2, 3), (4, 4), (1, 3)];
        let mut columns = MomentColumns::new(shifts.clone());
        let mut one_by_one: Vec<WeightedMoments> = shifts.iter().map(|&s| WeightedMoments::new(s)).collect();
        let mut co_columns = CoMomentColumns::new(shifts.clone(), &pairs);
        let mut co_one_by_one: Vec<CoMoments> =
            pairs.iter().map(|p| CoMoments::new(shifts[p.0], shifts[p.1])).collect();
        for r in 0..5000 {
            let w = if r % 97 == 0 { 0.0 } else { 0.2 + 3.0 * rng.next() };
            let values: Vec<f64> = (0..shifts.len())
                .map(|_| {
                    let u = rng.next();
                    if u < 0.15 {
                        f64::NAN
                    } else {
                        (u * 1e4).round() / 37.0 - 20.0
                    }
                })
                .collect();
            columns.add(&values, w);
            co_columns.add(&values, w);
            for (m, &x) in one_by_one.iter_mut().zip(&values) {
                if !x.is_nan() {
                    m.add(x, w);
                }
            }
            for (m, p) in co_one_by_one.iter_mut().zip(&pairs) {
                let (x, y) = (values[p.0], values[p.1]);
                if !x.is_nan() && !y.is_nan() {
                    m.add(x, y, w);
                }
            }
        }
        for (k, m) in one_by_one.iter().enumerate() {
            assert_eq!(columns.get(k), *m, "accumulator {k}");
        }
        // Co-moments: equal up to the rounding of the subtraction for missing values.
        for (k, m) in co_one_by_one.iter().enumerate() {
            let (a, b) = (co_columns.get(k), *m);
            assert_eq!(a.n, b.n, "pair {k}");
            for (x, y) in [
                (a.sum_w, b.sum_w),
                (a.sum_wdx, b.sum_wdx),
                (a.sum_wdy, b.sum_wdy),
                (a.sum_wdxdx, b.sum_wdxdx),
                (a.sum_wdydy, b.sum_wdydy),
            ] {
                assert!((x - y).abs() <= 1e-12 * y.abs().max(1.0), "pair {k}: {x} against {y}");
            }
            assert_eq!(a.sum_wdxdy, b.sum_wdxdy, "pair {k}");
        }
        assert!(one_by_one[0].sums().n > 4000 && one_by_one[0].sums().n < 4700);
    }

    /// Without missing values the co-moments are bit for bit those of one pair at
    /// a time (the subtraction subtracts zeros).
    #[test]
    fn complete_rows_give_co_moments_bit_for_bit() {
        let mut rng = Lcg(11);
        let shifts = vec![50.0, 50.0, 0.5];
        let pairs = [(0, 1), (0, 2), (1, 2)];
        let mut columns = CoMomentColumns::new(shifts.clone(), &pairs);
        let mut one_by_one: Vec<CoMoments> = pairs.iter().map(|p| CoMoments::new(shifts[p.0], shifts[p.1])).collect();
        for _ in 0..3000 {
            let w = 0.1 + rng.next();
            let values = [
                100.0 * rng.next(),
                (10.0 * rng.next()).round() * 10.0,
                rng.next().round(),
            ];
            columns.add(&values, w);
            for (m, p) in one_by_one.iter_mut().zip(&pairs) {
                m.add(values[p.0], values[p.1], w);
            }
        }
        for (k, m) in one_by_one.iter().enumerate() {
            assert_eq!(columns.get(k), *m, "pair {k}");
        }
    }

    /// A pair that two light respondents share inside a large cell whose other
    /// respondents each have only one of its sides: its sums are those of its two
    /// respondents, so both sides are constant and the correlation is refused
    /// (subtracting whole-cell position sums would leave rounding noise of the
    /// cell's size, read as a variance and a correlation of 1).
    #[test]
    fn a_sparse_pair_in_a_large_cell_keeps_its_own_precision() {
        let mut rng = Lcg(3);
        let mut columns = CoMomentColumns::new(vec![50.0, 50.0], &[(0, 1)]);
        for r in 0..300_000 {
            let w = 0.2 + 5.0 * rng.next();
            let v = (rng.next() * 100.0).round();
            let values = if r % 2 == 0 { [v, f64::NAN] } else { [f64::NAN, v] };
            columns.add(&values, w);
            if r == 100_001 || r == 200_002 {
                columns.add(&[70.0, 80.0], 0.05);
            }
        }
        let pair = columns.get(0);
        assert_eq!(pair.n, 2);
        assert!((pair.sum_w - 0.1).abs() <= 1e-12, "{}", pair.sum_w);
        let summary = pair.summary().expect("two respondents");
        assert!((summary.mean_x - 70.0).abs() <= 1e-9 && (summary.mean_y - 80.0).abs() <= 1e-9);
        assert_eq!(summary.correlation(), None, "{summary:?}");
    }
}
