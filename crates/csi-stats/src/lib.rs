//! # csi-stats: the statistics kernel of csi
//!
//! Everything a satisfaction report publishes is, at bottom, a weighted mean over
//! respondents: an indicator score, a category score, the index itself, a top-box
//! share (the mean of a 0/1 variable). This crate computes those means, their
//! design-based standard errors and confidence intervals from **mergeable sums**,
//! so a study of any size is summarised in one streaming pass and partial results
//! from different threads (or machines) combine with an associative [`merge`].
//!
//! ## Sampling weights, not frequency weights
//!
//! Respondent weights in survey data are *sampling* weights. The standard error of
//! a weighted mean is the Taylor-linearised one
//!
//! ```text
//! SE = sqrt( n/(n-1) · Σ wᵢ² (xᵢ − x̄_w)² ) / Σ wᵢ
//! ```
//!
//! which is what survey packages (R `survey`, samplics) and a weighted least-squares
//! intercept-only model with HC1 standard errors give. It does not change when all
//! weights are multiplied by a constant. The frequency-weight formula (statsmodels'
//! `DescrStatsW`) is *not* used anywhere. The effective sample size is Kish's
//! `(Σw)² / Σw²`.
//!
//! ## The design assumed, and domains
//!
//! Standard errors assume a **single-stage** sample drawn **with replacement** (or
//! without, with a finite population correction), with **no strata and no
//! clusters** — a [`Design`] of `n` respondents, optionally from a population of
//! `N`. Under it, the standard error of a mean over a *domain* (a segment group, or
//! the respondents who answered an item) is what R `survey` gives for
//! `svymean(~x, subset(design, domain))` and samplics for `domain=`:
//!
//! ```text
//! SE_d = sqrt( n/(n-1) · Σ_{i∈d} wᵢ² (xᵢ − x̄_d)² ) / Σ_{i∈d} wᵢ  · sqrt(1 − n/N)
//! ```
//!
//! with `n` the **design's** sample size, not the domain's count: the domain is a
//! random part of the sample, and its residuals are those of the whole sample with
//! zeros outside it ([`WeightedMoments::standard_error_in`]). The factor
//! `sqrt(1 − n/N)` is the finite population correction, 1 without `N`
//! ([`Design::fpc`]). The plain [`WeightedMoments::standard_error`] is the case
//! where the domain is the whole sample and no correction is made.
//!
//! A study whose sample was in fact stratified or clustered (interviews by region
//! quota, several respondents per account) gets standard errors that ignore that
//! structure. With clusters they are too small, typically by the square root of
//! the design effect (`1 + (m − 1)ρ` for clusters of `m` with intra-cluster
//! correlation `ρ`), so intervals are too narrow and differences look significant
//! too often; proportionate stratification works the other way, mildly. Such a
//! study needs a design-based package with its strata and clusters, or at least
//! its design effect applied when planning ([`sample_size`]).
//!
//! Shares (a mean of 0/1) get intervals that stay inside [0, 1] from
//! [`proportion`]: Korn–Graubard for a published weighted share, Wilson and
//! Clopper–Pearson when only a count or a share and a base are known.
//!
//! ## Numerical care
//!
//! Sums are kept about a fixed *shift* (for 0–100 scores the scale midpoint, 50), so
//! the expansion of `Σ w²(x − x̄)²` into raw sums loses almost no precision; the shift
//! is part of the accumulator and two accumulators merge only if their shifts agree.
//!
//! This crate does no I/O and knows nothing of studies or files.
//!
//! [`merge`]: WeightedMoments::merge
#![deny(missing_docs)]

use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, Normal};

pub mod columns;
pub mod difference;
pub mod multiple;
pub mod pls;
pub mod proportion;
pub mod relweights;
pub mod resample;
pub mod sample_size;

/// Errors raised by the statistics kernel.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StatsError {
    /// A confidence level outside (0, 1) was requested.
    #[error("confidence level must lie strictly between 0 and 1 (e.g. 0.95), got {0}")]
    InvalidConfidence(f64),
    /// Two accumulators with different shifts cannot be merged.
    #[error("cannot merge moments kept about different shifts ({0} and {1})")]
    ShiftMismatch(f64, f64),
}

/// A two-sided confidence level such as 0.95, with its normal critical value.
///
/// Confidence intervals use the normal approximation (`mean ± z·SE`), the default of
/// design-based survey software and of statsmodels' robust (HC1) inference.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Confidence {
    level: f64,
    z: f64,
}

impl Confidence {
    /// A confidence level, e.g. `Confidence::new(0.95)`.
    pub fn new(level: f64) -> Result<Self, StatsError> {
        if !(level > 0.0 && level < 1.0) {
            return Err(StatsError::InvalidConfidence(level));
        }
        let z = normal_quantile(0.5 + level / 2.0);
        Ok(Self { level, z })
    }

    /// The level, e.g. 0.95.
    pub fn level(&self) -> f64 {
        self.level
    }

    /// The two-sided normal critical value, e.g. 1.959963984540054 at 95 %.
    pub fn z(&self) -> f64 {
        self.z
    }
}

impl Default for Confidence {
    fn default() -> Self {
        Self::new(0.95).expect("0.95 is a valid level")
    }
}

/// The standard normal quantile function.
pub fn normal_quantile(p: f64) -> f64 {
    Normal::standard().inverse_cdf(p)
}

/// Whether a higher raw value means a better result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// More is better (satisfaction ratings, resolution rates).
    #[default]
    HigherIsBetter,
    /// Less is better (waiting times, number of contacts needed).
    LowerIsBetter,
}

/// Rescales a raw value on `[min, max]` to the 0–100 scale:
/// `(x − min)/(max − min) × 100`, reversed (`(max − x)/(max − min) × 100`) when lower
/// is better. Values outside the range are not clipped; callers decide the policy.
pub fn rescale_to_100(x: f64, min: f64, max: f64, direction: Direction) -> f64 {
    let span = max - min;
    match direction {
        Direction::HigherIsBetter => (x - min) / span * 100.0,
        Direction::LowerIsBetter => (max - x) / span * 100.0,
    }
}

/// Kish's effective sample size `(Σw)² / Σw²`.
pub fn kish_effective_n(sum_w: f64, sum_w2: f64) -> f64 {
    if sum_w2 > 0.0 {
        sum_w * sum_w / sum_w2
    } else {
        0.0
    }
}

/// Mergeable weighted sums for one variable in one cell (wave × segment × node).
///
/// Holds the unweighted count and, about a fixed shift `c` with `d = x − c`:
/// `Σw`, `Σw²`, `Σw·d`, `Σw²·d`, `Σw²·d²`, from which the weighted mean, its
/// linearised standard error and Kish's effective n follow exactly.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct WeightedMoments {
    shift: f64,
    n: u64,
    sum_w: f64,
    sum_w2: f64,
    sum_wd: f64,
    sum_wd2: f64,
    sum_w2d: f64,
    sum_w2d2: f64,
}

/// The raw sums of a [`WeightedMoments`], about its shift `c` with `d = x − c`:
/// what the statistics table hands to plugins so that they can merge and subtract
/// cells (e.g. a segment group against the rest of the sample) exactly.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MomentSums {
    /// The shift `c`.
    pub shift: f64,
    /// Unweighted count.
    pub n: u64,
    /// `Σw`.
    pub sum_w: f64,
    /// `Σw²`.
    pub sum_w2: f64,
    /// `Σw·d`.
    pub sum_wd: f64,
    /// `Σw·d²`.
    pub sum_wd2: f64,
    /// `Σw²·d`.
    pub sum_w2d: f64,
    /// `Σw²·d²`.
    pub sum_w2d2: f64,
}

impl WeightedMoments {
    /// An empty accumulator keeping its sums about `shift` (use a value near the
    /// data's centre, e.g. 50 for 0–100 scores, 0.5 for shares).
    pub fn new(shift: f64) -> Self {
        Self {
            shift,
            n: 0,
            sum_w: 0.0,
            sum_w2: 0.0,
            sum_wd: 0.0,
            sum_wd2: 0.0,
            sum_w2d: 0.0,
            sum_w2d2: 0.0,
        }
    }

    /// Rebuilds an accumulator from its sums.
    pub fn from_sums(s: MomentSums) -> Self {
        Self {
            shift: s.shift,
            n: s.n,
            sum_w: s.sum_w,
            sum_w2: s.sum_w2,
            sum_wd: s.sum_wd,
            sum_wd2: s.sum_wd2,
            sum_w2d: s.sum_w2d,
            sum_w2d2: s.sum_w2d2,
        }
    }

    /// The raw sums.
    pub fn sums(&self) -> MomentSums {
        MomentSums {
            shift: self.shift,
            n: self.n,
            sum_w: self.sum_w,
            sum_w2: self.sum_w2,
            sum_wd: self.sum_wd,
            sum_wd2: self.sum_wd2,
            sum_w2d: self.sum_w2d,
            sum_w2d2: self.sum_w2d2,
        }
    }

    /// The respondents of `self` that are not in `part` (which must be a subset
    /// accumulated with the same shift): e.g. the rest of the sample outside one
    /// segment group. Exact up to floating-point rounding.
    pub fn without(&self, part: &Self) -> Result<Self, StatsError> {
        if self.shift != part.shift {
            return Err(StatsError::ShiftMismatch(self.shift, part.shift));
        }
        Ok(Self {
            shift: self.shift,
            n: self.n.saturating_sub(part.n),
            sum_w: self.sum_w - part.sum_w,
            sum_w2: self.sum_w2 - part.sum_w2,
            sum_wd: self.sum_wd - part.sum_wd,
            sum_wd2: self.sum_wd2 - part.sum_wd2,
            sum_w2d: self.sum_w2d - part.sum_w2d,
            sum_w2d2: self.sum_w2d2 - part.sum_w2d2,
        })
    }

    /// The weighted variance of the values, `Σw(x − x̄)² / Σw`, or `None` with no
    /// respondents.
    pub fn variance(&self) -> Option<f64> {
        if self.n == 0 || self.sum_w <= 0.0 {
            return None;
        }
        let dbar = self.sum_wd / self.sum_w;
        Some(((self.sum_wd2 - dbar * self.sum_wd) / self.sum_w).max(0.0))
    }

    /// Adds one respondent's value `x` with sampling weight `w` (> 0).
    #[inline]
    pub fn add(&mut self, x: f64, w: f64) {
        let d = x - self.shift;
        let w2 = w * w;
        self.n += 1;
        self.sum_w += w;
        self.sum_w2 += w2;
        self.sum_wd += w * d;
        self.sum_wd2 += w * d * d;
        self.sum_w2d += w2 * d;
        self.sum_w2d2 += w2 * d * d;
    }

    /// Adds the sums of `other` to `self` (associative and commutative up to
    /// floating-point rounding).
    pub fn merge(&mut self, other: &Self) -> Result<(), StatsError> {
        if self.shift != other.shift {
            return Err(StatsError::ShiftMismatch(self.shift, other.shift));
        }
        self.n += other.n;
        self.sum_w += other.sum_w;
        self.sum_w2 += other.sum_w2;
        self.sum_wd += other.sum_wd;
        self.sum_wd2 += other.sum_wd2;
        self.sum_w2d += other.sum_w2d;
        self.sum_w2d2 += other.sum_w2d2;
        Ok(())
    }

    /// Unweighted number of respondents with a value (the base size).
    pub fn n(&self) -> u64 {
        self.n
    }

    /// Sum of weights.
    pub fn sum_w(&self) -> f64 {
        self.sum_w
    }

    /// The weighted mean, or `None` with no respondents.
    pub fn mean(&self) -> Option<f64> {
        (self.n > 0 && self.sum_w > 0.0).then(|| self.shift + self.sum_wd / self.sum_w)
    }

    /// The Taylor-linearised standard error of the weighted mean, or `None` when
    /// fewer than two respondents answered: the domain is the whole sample
    /// (`standard_error_in` with a design of `self.n()` respondents, no fpc).
    pub fn standard_error(&self) -> Option<f64> {
        if self.n < 2 || self.sum_w <= 0.0 {
            return None;
        }
        let n = self.n as f64;
        Some((n / (n - 1.0) * self.residual_ss()).sqrt() / self.sum_w)
    }

    /// Σ w² (d − d̄)², the weighted sum of squared residuals about the mean.
    fn residual_ss(&self) -> f64 {
        let dbar = self.sum_wd / self.sum_w;
        // Σ w² (d − d̄)² expanded; clamp tiny negative rounding to zero.
        (self.sum_w2d2 - 2.0 * dbar * self.sum_w2d + dbar * dbar * self.sum_w2).max(0.0)
    }

    /// Linearised SE of the mean of this domain within `design` (full-sample
    /// n/(n−1), times the fpc). None when the domain has fewer than 2 respondents
    /// or the design n < 2 (and when the design's population is smaller than its
    /// sample).
    ///
    /// This is R `survey`'s `svymean` on `subset(design, domain)` for a single-stage
    /// with-replacement design: the domain's residuals are those of the whole
    /// sample with zeros outside the domain, so the `n/(n−1)` factor uses the
    /// design's `n`, not the domain's count.
    pub fn standard_error_in(&self, design: &Design) -> Option<f64> {
        if self.n < 2 || design.n < 2 || self.sum_w <= 0.0 {
            return None;
        }
        let (n, fpc) = (design.n as f64, design.fpc());
        if fpc.is_nan() {
            return None;
        }
        Some((n / (n - 1.0) * self.residual_ss()).sqrt() / self.sum_w * fpc)
    }

    /// Like `estimate`, with `standard_error_in` (normal interval as before).
    pub fn estimate_in(&self, confidence: Confidence, design: &Design) -> Estimate {
        self.estimate_with_se(confidence, self.standard_error_in(design))
    }

    /// Kish's effective sample size.
    pub fn effective_n(&self) -> f64 {
        kish_effective_n(self.sum_w, self.sum_w2)
    }

    /// Everything a report prints about this mean, at the given confidence level.
    pub fn estimate(&self, confidence: Confidence) -> Estimate {
        self.estimate_with_se(confidence, self.standard_error())
    }

    /// The published figures with a given standard error.
    fn estimate_with_se(&self, confidence: Confidence, se: Option<f64>) -> Estimate {
        let mean = self.mean();
        let (ci_low, ci_high) = match (mean, se) {
            (Some(m), Some(s)) => (Some(m - confidence.z() * s), Some(m + confidence.z() * s)),
            _ => (None, None),
        };
        Estimate {
            n: self.n,
            sum_w: self.sum_w,
            effective_n: self.effective_n(),
            mean,
            se,
            ci_low,
            ci_high,
            sums: Some(self.sums()),
        }
    }
}

/// The sampling design estimates are made under: single stage, with replacement
/// (or without, with a finite population correction), no strata or clusters.
///
/// `n` is the design's sample size (all respondents of the wave), which sets the
/// `n/(n−1)` factor of every domain's standard error; `population` is the
/// population size `N` when a finite population correction is wanted.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Design {
    /// The sample size of the whole design (respondents of the wave).
    pub n: u64,
    /// The population size `N`, for the finite population correction.
    pub population: Option<f64>,
}

impl Design {
    /// A design of `n` respondents, optionally drawn from a population of `N`.
    pub fn new(n: u64, population: Option<f64>) -> Self {
        Self { n, population }
    }

    /// sqrt(1 − n/N) with a population size, else 1.
    ///
    /// NaN when the population is smaller than the sample (or not a positive
    /// number): such a design gives no standard errors.
    pub fn fpc(&self) -> f64 {
        match self.population {
            None => 1.0,
            Some(big_n) if big_n >= self.n as f64 && big_n > 0.0 => (1.0 - self.n as f64 / big_n).sqrt(),
            Some(_) => f64::NAN,
        }
    }
}

/// A weighted mean as published: base size, estimate, standard error and interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    /// Unweighted base size.
    pub n: u64,
    /// Sum of sampling weights.
    pub sum_w: f64,
    /// Kish's effective sample size.
    pub effective_n: f64,
    /// Weighted mean (`None` when `n == 0`).
    pub mean: Option<f64>,
    /// Linearised standard error (`None` when `n < 2`).
    pub se: Option<f64>,
    /// Lower confidence limit.
    pub ci_low: Option<f64>,
    /// Upper confidence limit.
    pub ci_high: Option<f64>,
    /// The sums it was computed from (not serialised: published figures only).
    #[serde(skip)]
    pub sums: Option<MomentSums>,
}

impl Estimate {
    /// Half the width of the confidence interval (the margin of error).
    pub fn margin_of_error(&self) -> Option<f64> {
        Some((self.ci_high? - self.ci_low?) / 2.0)
    }
}

/// Mergeable weighted co-moments of a pair of variables over the respondents who
/// have both: the sufficient statistics of covariances, correlations and
/// regressions (a covariance matrix is a set of these, one per pair).
///
/// Holds the unweighted count and, about fixed shifts with `dx = x − cx`,
/// `dy = y − cy`: `Σw`, `Σw·dx`, `Σw·dy`, `Σw·dx²`, `Σw·dy²`, `Σw·dx·dy`. Merging
/// adds the sums, so partial results from batches, threads or machines combine.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CoMoments {
    shift_x: f64,
    shift_y: f64,
    n: u64,
    sum_w: f64,
    sum_wdx: f64,
    sum_wdy: f64,
    sum_wdxdx: f64,
    sum_wdydy: f64,
    sum_wdxdy: f64,
}

/// The figures that follow from [`CoMoments`]: base, weight, both means and the
/// weighted sums of squares and cross-products about the means.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CoMomentsSummary {
    /// Respondents with both values.
    pub n: u64,
    /// Their sum of weights.
    pub sum_w: f64,
    /// Weighted mean of x over them.
    pub mean_x: f64,
    /// Weighted mean of y over them.
    pub mean_y: f64,
    /// `Σw(x − x̄)²`.
    pub ss_x: f64,
    /// `Σw(y − ȳ)²`.
    pub ss_y: f64,
    /// `Σw(x − x̄)(y − ȳ)`.
    pub sp: f64,
}

/// Whether a weighted sum of squares `ss` over weight `sum_w` about a mean `mean`
/// is zero up to rounding: a spread (standard deviation) below a millionth of
/// `100 + |mean|`. The shifted sums leave rounding of about 1e-8 of the distance
/// between the values and their shift (50 for 0–100 scores); real survey scores
/// vary by many orders more.
fn constant(ss: f64, sum_w: f64, mean: f64) -> bool {
    let floor = 1e-6 * (100.0 + mean.abs());
    sum_w.is_nan() || sum_w <= 0.0 || ss / sum_w <= floor * floor
}

impl CoMomentsSummary {
    /// The same pair seen as (y, x).
    pub fn swapped(&self) -> Self {
        Self {
            mean_x: self.mean_y,
            mean_y: self.mean_x,
            ss_x: self.ss_y,
            ss_y: self.ss_x,
            ..*self
        }
    }

    /// Whether x takes one value over the pair's respondents: its weighted
    /// variance is zero up to the rounding of the shifted sums (relative to the
    /// square of its level), so a correlation with it would be rounding noise.
    pub fn x_constant(&self) -> bool {
        constant(self.ss_x, self.sum_w, self.mean_x)
    }

    /// Whether y takes one value over the pair's respondents (see
    /// [`CoMomentsSummary::x_constant`]).
    pub fn y_constant(&self) -> bool {
        constant(self.ss_y, self.sum_w, self.mean_y)
    }

    /// Pearson correlation (weighted); `None` when either variable is constant
    /// (or fewer than two respondents have both).
    pub fn correlation(&self) -> Option<f64> {
        if self.n < 2 || self.x_constant() || self.y_constant() {
            return None;
        }
        Some(self.sp / (self.ss_x * self.ss_y).sqrt())
    }

    /// Weighted covariance with divisor `Σw`.
    pub fn covariance(&self) -> Option<f64> {
        (self.sum_w > 0.0).then(|| self.sp / self.sum_w)
    }
}

impl CoMoments {
    /// An empty accumulator with sums about (`shift_x`, `shift_y`), values near the
    /// data's centres (50 for 0–100 scores).
    pub fn new(shift_x: f64, shift_y: f64) -> Self {
        Self {
            shift_x,
            shift_y,
            n: 0,
            sum_w: 0.0,
            sum_wdx: 0.0,
            sum_wdy: 0.0,
            sum_wdxdx: 0.0,
            sum_wdydy: 0.0,
            sum_wdxdy: 0.0,
        }
    }

    /// The shifts `(x, y)` the sums are kept about.
    pub fn shifts(&self) -> (f64, f64) {
        (self.shift_x, self.shift_y)
    }

    /// Adds one respondent's pair with sampling weight `w` (> 0).
    #[inline]
    pub fn add(&mut self, x: f64, y: f64, w: f64) {
        let (dx, dy) = (x - self.shift_x, y - self.shift_y);
        let (wdx, wdy) = (w * dx, w * dy);
        self.n += 1;
        self.sum_w += w;
        self.sum_wdx += wdx;
        self.sum_wdy += wdy;
        self.sum_wdxdx += wdx * dx;
        self.sum_wdydy += wdy * dy;
        self.sum_wdxdy += wdx * dy;
    }

    /// Adds the sums of `other` (which must use the same shifts).
    pub fn merge(&mut self, other: &Self) -> Result<(), StatsError> {
        if self.shift_x != other.shift_x || self.shift_y != other.shift_y {
            return Err(StatsError::ShiftMismatch(self.shift_x, other.shift_x));
        }
        self.n += other.n;
        self.sum_w += other.sum_w;
        self.sum_wdx += other.sum_wdx;
        self.sum_wdy += other.sum_wdy;
        self.sum_wdxdx += other.sum_wdxdx;
        self.sum_wdydy += other.sum_wdydy;
        self.sum_wdxdy += other.sum_wdxdy;
        Ok(())
    }

    /// Means and sums of squares and products about the means; `None` when no
    /// respondent has both values.
    pub fn summary(&self) -> Option<CoMomentsSummary> {
        if self.n == 0 || self.sum_w <= 0.0 {
            return None;
        }
        let (mx, my) = (self.sum_wdx / self.sum_w, self.sum_wdy / self.sum_w);
        Some(CoMomentsSummary {
            n: self.n,
            sum_w: self.sum_w,
            mean_x: self.shift_x + mx,
            mean_y: self.shift_y + my,
            ss_x: (self.sum_wdxdx - self.sum_wdx * mx).max(0.0),
            ss_y: (self.sum_wdydy - self.sum_wdy * my).max(0.0),
            sp: self.sum_wdxdy - self.sum_wdx * my,
        })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_rest_of_a_sample_is_its_complement_and_sums_round_trip() {
        let mut all = super::WeightedMoments::new(50.0);
        let (mut part, mut rest) = (all, all);
        for i in 0..300 {
            let (x, w) = (
                20.0 + (i as f64 * 0.7).sin() * 30.0 + (i % 5) as f64,
                0.4 + (i % 9) as f64 * 0.2,
            );
            all.add(x, w);
            if i % 4 == 0 {
                part.add(x, w)
            } else {
                rest.add(x, w)
            }
        }
        let got = all.without(&part).unwrap();
        assert_eq!(got.n(), rest.n());
        let z = super::Confidence::default();
        let (g, r) = (got.estimate(z), rest.estimate(z));
        for (a, b) in [
            (g.mean.unwrap(), r.mean.unwrap()),
            (g.se.unwrap(), r.se.unwrap()),
            (got.variance().unwrap(), rest.variance().unwrap()),
            (g.effective_n, r.effective_n),
        ] {
            assert!((a - b).abs() <= 1e-9 * b.abs(), "{a} vs {b}");
        }
        assert_eq!(super::WeightedMoments::from_sums(all.sums()), all);
        assert!(all.without(&super::WeightedMoments::new(0.0)).is_err());
    }

    #[test]
    fn co_moments_merge_and_match_the_two_pass_formula() {
        let data: Vec<(f64, f64, f64)> = (0..200)
            .map(|i| {
                let t = i as f64;
                (
                    50.0 + 30.0 * (t * 0.37).sin(),
                    40.0 + 25.0 * (t * 0.11).cos() + 0.3 * t,
                    0.5 + (i % 7) as f64 * 0.25,
                )
            })
            .collect();
        let mut all = super::CoMoments::new(50.0, 50.0);
        let (mut a, mut b) = (all, all);
        for (i, &(x, y, w)) in data.iter().enumerate() {
            all.add(x, y, w);
            if i % 3 == 0 {
                a.add(x, y, w)
            } else {
                b.add(x, y, w)
            }
        }
        b.merge(&a).unwrap();
        let (s, m) = (all.summary().unwrap(), b.summary().unwrap());
        let sw: f64 = data.iter().map(|d| d.2).sum();
        let mx = data.iter().map(|d| d.2 * d.0).sum::<f64>() / sw;
        let my = data.iter().map(|d| d.2 * d.1).sum::<f64>() / sw;
        let sp: f64 = data.iter().map(|d| d.2 * (d.0 - mx) * (d.1 - my)).sum();
        let ssx: f64 = data.iter().map(|d| d.2 * (d.0 - mx).powi(2)).sum();
        for (got, want) in [
            (s.mean_x, mx),
            (s.mean_y, my),
            (s.sp, sp),
            (s.ss_x, ssx),
            (m.sp, sp),
            (m.ss_x, ssx),
        ] {
            assert!((got - want).abs() <= 1e-10 * want.abs(), "{got} vs {want}");
        }
        assert_eq!(m.n, 200);
        assert!(super::CoMoments::new(0.0, 0.0).summary().is_none());
    }

    use super::*;

    #[test]
    fn a_constant_series_has_no_correlation_despite_rounding_in_the_shifted_sums() {
        // 66.67 is not exact in binary: the shifted sums leave a tiny positive
        // "variance" that must not become a correlation.
        let mut m = CoMoments::new(50.0, 50.0);
        for (i, w) in [0.8577, 1.0872, 1.3136, 2.114, 0.5].iter().cycle().take(60).enumerate() {
            m.add(200.0 / 3.0, 10.0 + i as f64, *w);
        }
        let s = m.summary().unwrap();
        assert!(s.ss_x > 0.0, "the rounding this test is about: {}", s.ss_x);
        assert!(s.x_constant() && !s.y_constant());
        assert_eq!(s.correlation(), None);
        assert_eq!(s.swapped().correlation(), None);
        let mut one = CoMoments::new(50.0, 50.0);
        one.add(10.0, 20.0, 1.0);
        assert_eq!(one.summary().unwrap().correlation(), None, "one respondent");
    }

    fn moments(xs: &[f64], ws: &[f64], shift: f64) -> WeightedMoments {
        let mut m = WeightedMoments::new(shift);
        for (x, w) in xs.iter().zip(ws) {
            m.add(*x, *w);
        }
        m
    }

    #[test]
    fn unweighted_mean_and_se_match_textbook() {
        let xs = [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0];
        let m = moments(&xs, &[1.0; 8], 0.0);
        assert_eq!(m.mean(), Some(5.0));
        // With unit weights the linearised SE is the sample SD / sqrt(n).
        let sd = (32.0f64 / 7.0).sqrt();
        assert!((m.standard_error().unwrap() - sd / 8f64.sqrt()).abs() < 1e-12);
        assert_eq!(m.effective_n(), 8.0);
    }

    #[test]
    fn se_is_invariant_to_weight_scaling_and_shift() {
        let xs = [61.0, 72.5, 90.0, 33.3, 55.0, 78.0];
        let ws = [0.5, 1.5, 2.0, 0.7, 1.1, 0.9];
        let scaled: Vec<f64> = ws.iter().map(|w| w * 37.0).collect();
        let a = moments(&xs, &ws, 50.0);
        let b = moments(&xs, &scaled, 0.0);
        assert!((a.mean().unwrap() - b.mean().unwrap()).abs() < 1e-12);
        assert!((a.standard_error().unwrap() - b.standard_error().unwrap()).abs() < 1e-12);
        assert!((a.effective_n() - b.effective_n()).abs() < 1e-12);
    }

    #[test]
    fn merge_equals_single_pass() {
        let xs: Vec<f64> = (0..100).map(|i| ((i * 37) % 101) as f64).collect();
        let ws: Vec<f64> = (0..100).map(|i| 0.5 + ((i * 13) % 7) as f64 / 4.0).collect();
        let whole = moments(&xs, &ws, 50.0);
        let mut left = moments(&xs[..30], &ws[..30], 50.0);
        let mid = moments(&xs[30..71], &ws[30..71], 50.0);
        let right = moments(&xs[71..], &ws[71..], 50.0);
        // (left + mid) + right == left + (mid + right)
        let mut assoc = mid;
        assoc.merge(&right).unwrap();
        left.merge(&assoc).unwrap();
        assert_eq!(left.n(), whole.n());
        assert!((left.mean().unwrap() - whole.mean().unwrap()).abs() < 1e-12);
        assert!((left.standard_error().unwrap() - whole.standard_error().unwrap()).abs() < 1e-12);
    }

    #[test]
    fn merge_refuses_different_shifts() {
        let mut a = WeightedMoments::new(0.0);
        assert!(a.merge(&WeightedMoments::new(50.0)).is_err());
    }

    #[test]
    fn small_bases_have_no_se() {
        let m = moments(&[3.0], &[1.0], 0.0);
        assert_eq!(m.mean(), Some(3.0));
        assert_eq!(m.standard_error(), None);
        let e = m.estimate(Confidence::default());
        assert_eq!(e.ci_low, None);
        assert_eq!(WeightedMoments::new(0.0).mean(), None);
    }

    #[test]
    fn rescaling_respects_direction() {
        assert_eq!(rescale_to_100(1.0, 1.0, 10.0, Direction::HigherIsBetter), 0.0);
        assert_eq!(rescale_to_100(10.0, 1.0, 10.0, Direction::HigherIsBetter), 100.0);
        assert_eq!(rescale_to_100(15.0, 0.0, 60.0, Direction::LowerIsBetter), 75.0);
    }

    #[test]
    fn confidence_levels() {
        assert!((Confidence::new(0.95).unwrap().z() - 1.959963984540054).abs() < 1e-9);
        assert!((Confidence::new(0.90).unwrap().z() - 1.6448536269514722).abs() < 1e-9);
        assert!(Confidence::new(1.0).is_err());
        assert!(Confidence::new(f64::NAN).is_err());
    }
}
