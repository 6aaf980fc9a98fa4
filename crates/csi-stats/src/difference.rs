//! The difference of two weighted means from independent samples — two waves, or
//! a segment group and the rest of the sample — with a Welch-type test.
//!
//! The standard error of the difference is `sqrt(se₁² + se₂²)` from the two
//! linearised standard errors (sampling weights). The degrees of freedom follow
//! Welch–Satterthwaite with Kish's effective sample sizes in place of the counts:
//! `(se₁² + se₂²)² / (se₁⁴/(n₁ − 1) + se₂⁴/(n₂ − 1))`. Without weights this is
//! exactly Welch's unequal-variance t test; with weights it accounts for the
//! information lost to unequal weights; with large samples it is the normal test.

use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, StudentsT};

use crate::{Confidence, Estimate};

/// The difference `b − a` of two independent means and its test.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Difference {
    /// `mean(b) − mean(a)`.
    pub diff: f64,
    /// Its standard error.
    pub se: f64,
    /// Welch–Satterthwaite degrees of freedom (effective sample sizes).
    pub df: f64,
    /// `diff / se`.
    pub t: f64,
    /// Two-sided p-value.
    pub p: f64,
    /// Lower confidence limit of the difference.
    pub ci_low: f64,
    /// Upper confidence limit of the difference.
    pub ci_high: f64,
}

/// The smallest effective base a test is run on: below it, the t distribution's
/// degrees of freedom (n_eff − 1) are under one and its quantiles meaningless.
pub const MIN_EFFECTIVE_N: f64 = 2.0;

/// Whether a standard error of an estimate at `level` over an effective base
/// `effective_n` is zero up to the rounding of the shifted sums it comes from (a
/// constant variable): the spread it implies, `se·√n_eff`, is below a millionth of
/// `100 + |level|`. Rounding leaves about 1e-8 of the distance between the values
/// and their shift (50 for 0–100 scores, so up to about 100) there; a real survey
/// spread is many orders larger (1e-4 points would be one respondent in a million
/// differing by a tenth of a point). A test on it would turn rounding noise into a
/// confident "significant".
fn negligible(se: f64, level: f64, effective_n: f64) -> bool {
    !se.is_finite() || se * effective_n.max(1.0).sqrt() <= 1e-6 * (100.0 + level.abs())
}

/// Tests `b − a`. `None` (not estimable) when either side lacks a mean or a
/// standard error, has an effective size below [`MIN_EFFECTIVE_N`], or both
/// standard errors are zero up to rounding (no variance in either group).
pub fn independent(a: &Estimate, b: &Estimate, confidence: Confidence) -> Option<Difference> {
    let (ma, mb, sa, sb) = (a.mean?, b.mean?, a.se?, b.se?);
    if a.effective_n < MIN_EFFECTIVE_N || b.effective_n < MIN_EFFECTIVE_N {
        return None;
    }
    let (va, vb) = (sa * sa, sb * sb);
    let var = va + vb;
    if !var.is_finite() || (negligible(sa, ma, a.effective_n) && negligible(sb, mb, b.effective_n)) {
        return None;
    }
    let se = var.sqrt();
    let df = var * var / (va * va / (a.effective_n - 1.0) + vb * vb / (b.effective_n - 1.0));
    let dist = StudentsT::new(0.0, 1.0, df).ok()?;
    let diff = mb - ma;
    let t = diff / se;
    let p = (2.0 * dist.sf(t.abs())).min(1.0);
    let q = dist.inverse_cdf(0.5 + confidence.level() / 2.0);
    Some(Difference {
        diff,
        se,
        df,
        t,
        p,
        ci_low: diff - q * se,
        ci_high: diff + q * se,
    })
}

/// Tests a weighted mean against a fixed `value` (e.g. a paired gap against 0):
/// `mean − value` with the mean's linearised standard error and `n_eff − 1`
/// degrees of freedom (Kish's effective size; without weights, the one-sample t
/// test). `None` (not estimable) without a mean or standard error, with an
/// effective size below [`MIN_EFFECTIVE_N`], or with a standard error of zero up to
/// rounding (everyone's value the same).
pub fn against(e: &Estimate, value: f64, confidence: Confidence) -> Option<Difference> {
    let (m, se) = (e.mean?, e.se?);
    if e.effective_n < MIN_EFFECTIVE_N || negligible(se, m, e.effective_n) {
        return None;
    }
    let df = e.effective_n - 1.0;
    let dist = StudentsT::new(0.0, 1.0, df).ok()?;
    let diff = m - value;
    let t = diff / se;
    let q = dist.inverse_cdf(0.5 + confidence.level() / 2.0);
    Some(Difference {
        diff,
        se,
        df,
        t,
        p: (2.0 * dist.sf(t.abs())).min(1.0),
        ci_low: diff - q * se,
        ci_high: diff + q * se,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn estimate(mean: f64, se: f64, effective_n: f64) -> Estimate {
        Estimate {
            n: effective_n.ceil() as u64,
            sum_w: effective_n,
            effective_n,
            mean: Some(mean),
            se: Some(se),
            ci_low: None,
            ci_high: None,
            sums: None,
        }
    }

    #[test]
    fn degenerate_tests_are_not_estimable_rather_than_significant() {
        let c = Confidence::new(0.95).unwrap();
        // Everyone's gap is −11.1: a standard error of rounding noise (as the
        // shifted sums of the gap fixture leave it), not a test.
        assert!(against(&estimate(-11.1, 4.2e-8, 40.0), 0.0, c).is_none());
        // Two constant groups.
        assert!(independent(&estimate(60.0, 1e-14, 30.0), &estimate(70.0, 0.0, 30.0), c).is_none());
        // Constant groups at the ends of the scale, 50 points from the shift:
        // rounding noise of up to ~1e-6 in the spread.
        assert!(independent(&estimate(0.0, 2e-7, 400.0), &estimate(100.0, 3e-7, 400.0), c).is_none());
        // An effective base under two (one heavy weight) is too small for a t test.
        assert!(against(&estimate(50.0, 5.0, 1.6), 0.0, c).is_none());
        assert!(independent(&estimate(50.0, 5.0, 1.6), &estimate(60.0, 4.0, 40.0), c).is_none());
        // Ordinary figures are tested.
        let d = against(&estimate(-10.0, 2.0, 50.0), 0.0, c).unwrap();
        assert!(d.p < 0.001 && d.df == 49.0);
        assert!(independent(&estimate(60.0, 1e-14, 30.0), &estimate(70.0, 2.0, 30.0), c).is_some());
    }
}
