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

/// Tests `b − a`. `None` when either side lacks a mean or a standard error, has an
/// effective size of at most one, or both standard errors are zero.
pub fn independent(a: &Estimate, b: &Estimate, confidence: Confidence) -> Option<Difference> {
    let (ma, mb, sa, sb) = (a.mean?, b.mean?, a.se?, b.se?);
    if a.effective_n <= 1.0 || b.effective_n <= 1.0 {
        return None;
    }
    let (va, vb) = (sa * sa, sb * sb);
    let var = va + vb;
    if !var.is_finite() || var <= 0.0 {
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
/// test). `None` without a mean or standard error, or with `n_eff ≤ 1` or SE 0.
pub fn against(e: &Estimate, value: f64, confidence: Confidence) -> Option<Difference> {
    let (m, se) = (e.mean?, e.se?);
    if e.effective_n <= 1.0 || !se.is_finite() || se <= 0.0 {
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
