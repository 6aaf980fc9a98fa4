//! Confidence intervals for shares (top-box, % satisfied) that never leave [0, 1].
//!
//! The normal interval `p ± z·SE` that [`WeightedMoments::estimate`] gives for any
//! mean is fine for a share far from 0 and 1 on a large base, and wrong near the
//! edges: 39 of 40 respondents in the top box gives 92.6–102.4 %. The three
//! intervals here stay inside [0, 1]:
//!
//! - [`wilson`] — the score interval for a share `p` at base `n`. Use it when only a
//!   share and a base are known (planning, a figure quoted from elsewhere); with
//!   weighted data pass Kish's effective n as the base.
//! - [`clopper_pearson`] — the "exact" binomial interval from Beta quantiles, for an
//!   unweighted count `x` of `n` (conservative: it covers at least the nominal
//!   level). Non-integer `x` and `n` are allowed, which is what Korn–Graubard needs.
//! - [`korn_graubard`] — Korn & Graubard (1998): Clopper–Pearson on the *effective*
//!   base implied by a design-based standard error, as R `survey`'s
//!   `svyciprop(method = "beta")` computes it. This is the interval for a weighted
//!   share published from an [`Estimate`] (the engine uses it for top-box shares):
//!   it carries the estimate's own standard error, so a domain's full-sample
//!   `n/(n−1)` and a finite population correction flow into it.
//!
//! Invalid inputs (a share outside [0, 1], a base that is not positive, NaN) give
//! `(NaN, NaN)` from the first two rather than a panic.
//!
//! [`WeightedMoments::estimate`]: crate::WeightedMoments::estimate

use statrs::distribution::{Beta, ContinuousCDF};

use crate::{Confidence, Estimate};

/// A share may come out of floating-point sums a hair outside [0, 1].
const EDGE: f64 = 1e-12;

/// The Wilson score interval for a share `p` at base `n` (which may be an
/// effective n, e.g. Kish's for weighted data).
///
/// `(p + z²/2n ± z·sqrt(p(1 − p)/n + z²/4n²)) / (1 + z²/n)`; `(NaN, NaN)` when `p`
/// lies outside [0, 1] or `n` is not positive.
pub fn wilson(p: f64, n: f64, confidence: Confidence) -> (f64, f64) {
    if !((0.0..=1.0).contains(&p) && n > 0.0 && n.is_finite()) {
        return (f64::NAN, f64::NAN);
    }
    let z = confidence.z();
    let z2 = z * z;
    let denom = 1.0 + z2 / n;
    let centre = (p + z2 / (2.0 * n)) / denom;
    let half = z * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt() / denom;
    ((centre - half).max(0.0), (centre + half).min(1.0))
}

/// The Clopper–Pearson interval for `x` successes of `n`, from Beta quantiles:
/// low = B⁻¹(α/2; x, n − x + 1), high = B⁻¹(1 − α/2; x + 1, n − x), with low = 0
/// when `x = 0` and high = 1 when `x = n`. Non-integer `x` and `n` are allowed;
/// `(NaN, NaN)` unless `0 ≤ x ≤ n` and `n > 0`.
pub fn clopper_pearson(x: f64, n: f64, confidence: Confidence) -> (f64, f64) {
    if !(x >= 0.0 && n > 0.0 && x <= n && n.is_finite()) {
        return (f64::NAN, f64::NAN);
    }
    let alpha = 1.0 - confidence.level();
    let low = if x == 0.0 {
        0.0
    } else {
        beta_quantile(x, n - x + 1.0, alpha / 2.0)
    };
    let high = if x == n {
        1.0
    } else {
        beta_quantile(x + 1.0, n - x, 1.0 - alpha / 2.0)
    };
    (low.clamp(0.0, 1.0), high.clamp(0.0, 1.0))
}

/// The `q` quantile of Beta(a, b) (both shapes positive, checked by the caller).
fn beta_quantile(a: f64, b: f64, q: f64) -> f64 {
    match Beta::new(a, b) {
        Ok(beta) => beta.inverse_cdf(q),
        Err(_) => f64::NAN,
    }
}

/// The Korn–Graubard interval for a weighted share, as R `survey`'s
/// `svyciprop(method = "beta")` gives it for a single-stage design.
///
/// With the estimate's share `p` and its own standard error (the domain or
/// finite-population one it was made with), the effective base is
/// `n* = p(1 − p)/SE²`, and the interval is [`clopper_pearson`] on
/// (`x* = p·n*`, `n*`). When `p` is 0 or 1 the standard error is 0 and says
/// nothing about the base; Kish's effective n of the estimate is used instead
/// (R returns no interval there). `None` when the estimate has no mean or no
/// standard error (fewer than two respondents), or its mean is not a share.
///
/// R also scales `n*` by `(t(α/2, rows − 1)/t(α/2, degf))²`; for a single-stage
/// design without calibration, for the whole sample or a `subset` of it, that
/// factor is exactly 1.
pub fn korn_graubard(e: &Estimate, confidence: Confidence) -> Option<(f64, f64)> {
    let (p, se) = (e.mean?, e.se?);
    if !(-EDGE..=1.0 + EDGE).contains(&p) {
        return None;
    }
    let p = p.clamp(0.0, 1.0);
    if se == 0.0 && p > 0.0 && p < 1.0 {
        // No sampling error: the sample is the whole population (finite
        // population correction 0), so the share is known exactly.
        return Some((p, p));
    }
    let n_star = p * (1.0 - p) / (se * se);
    let n_star = if p > 0.0 && p < 1.0 && n_star.is_finite() && n_star > 0.0 {
        n_star
    } else {
        e.effective_n
    };
    if !(n_star > 0.0 && n_star.is_finite()) {
        return None;
    }
    // x* = n* at p = 1 exactly, so that the upper limit is 1.
    let x_star = if p == 1.0 { n_star } else { p * n_star };
    Some(clopper_pearson(x_star, n_star, confidence))
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_census_share_has_no_sampling_error() {
        // The whole population answered (finite population correction 0): SE 0,
        // and the interval is the share itself, not a Kish-based one.
        let e = crate::Estimate {
            n: 40,
            sum_w: 40.0,
            effective_n: 40.0,
            mean: Some(0.4),
            se: Some(0.0),
            ci_low: None,
            ci_high: None,
            sums: None,
        };
        assert_eq!(super::korn_graubard(&e, crate::Confidence::default()), Some((0.4, 0.4)));
    }

    use super::*;
    use crate::WeightedMoments;

    #[test]
    fn intervals_stay_inside_the_unit_interval() {
        let c = Confidence::default();
        let mut m = WeightedMoments::new(0.5);
        for i in 0..40 {
            m.add(if i == 0 { 0.0 } else { 1.0 }, 1.0);
        }
        let e = m.estimate(c);
        // The normal interval leaves [0, 1] (the bug this module fixes) ...
        assert!(e.ci_high.unwrap() > 1.0);
        // ... the others do not, and they contain the share.
        for (lo, hi) in [
            wilson(e.mean.unwrap(), 40.0, c),
            clopper_pearson(39.0, 40.0, c),
            korn_graubard(&e, c).unwrap(),
        ] {
            assert!((0.0..0.975).contains(&lo) && (0.975..=1.0).contains(&hi), "{lo} {hi}");
        }
        assert_eq!(clopper_pearson(0.0, 10.0, c).0, 0.0);
        assert_eq!(clopper_pearson(10.0, 10.0, c).1, 1.0);
        assert!(wilson(1.5, 10.0, c).0.is_nan());
        assert!(clopper_pearson(11.0, 10.0, c).0.is_nan());
    }

    #[test]
    fn korn_graubard_at_the_edges_uses_kish() {
        let c = Confidence::default();
        let mut m = WeightedMoments::new(0.5);
        for w in [1.0, 2.0, 1.0, 3.0] {
            m.add(1.0, w);
        }
        let e = m.estimate(c);
        assert_eq!(e.se, Some(0.0));
        let (lo, hi) = korn_graubard(&e, c).unwrap();
        let want = clopper_pearson(e.effective_n, e.effective_n, c);
        assert_eq!((lo, hi), want);
        assert_eq!(hi, 1.0);
        let mut one = WeightedMoments::new(0.5);
        one.add(1.0, 1.0);
        assert_eq!(korn_graubard(&one.estimate(c), c), None);
    }
}
