//! Sample size and margin of error under simple random sampling, with the finite
//! population correction — what a study must settle before fieldwork (too small a
//! sample is the classic mistake) and what every report states at its achieved base.
//!
//! For a share `p` at base `n` from a population of `N`:
//! `MoE = z · sqrt(p(1 − p)/n) · sqrt((N − n)/(N − 1))`; the base needed for a margin
//! `e` is `n₀ = z² p(1 − p)/e²`, corrected to `n = n₀ / (1 + (n₀ − 1)/N)` and rounded
//! up. For a mean score with standard deviation `s`, `p(1 − p)` becomes `s²`.
//! Weighted data: use the effective base (Kish), not the count of respondents.
//!
//! A design effect `deff ≥ 1` (weighting, clustering: the ratio of the design's
//! variance to that of a simple random sample of the same size) multiplies the
//! variance: `MoE = z · sqrt(deff · p(1 − p)/n) · sqrt((N − n)/(N − 1))`, and the
//! base needed is `n₀ · deff`, then corrected for the population as above. For
//! unequal weights alone Kish's `deff = 1 + CV²(w)` = `n / n_eff`. The `_with_deff`
//! functions take it; the others are the same with `deff = 1`.

use crate::Confidence;

/// Why a sample-size question has no answer.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SampleSizeError {
    /// The base is not a positive number.
    #[error("the base n must be at least 1, got {0}")]
    Base(f64),
    /// The population is smaller than the base or not positive.
    #[error("the population ({population}) must be at least the base ({n})")]
    Population {
        /// The population size.
        population: f64,
        /// The base.
        n: f64,
    },
    /// The share lies outside (0, 1).
    #[error("the expected share must lie strictly between 0 and 1, got {0}")]
    Share(f64),
    /// The margin is not positive.
    #[error("the margin of error must be positive, got {0}")]
    Margin(f64),
    /// The standard deviation is not positive.
    #[error("the standard deviation must be positive, got {0}")]
    Deviation(f64),
    /// The design effect is below 1 or not a number.
    #[error("the design effect must be a number of at least 1, got {0}")]
    DesignEffect(f64),
}

/// Checks a design effect: a finite number of at least 1.
fn design_effect(deff: f64) -> Result<f64, SampleSizeError> {
    if deff >= 1.0 && deff.is_finite() {
        Ok(deff)
    } else {
        Err(SampleSizeError::DesignEffect(deff))
    }
}

/// The finite population correction for base `n` of a population of `population`
/// (1 when the population is not given).
fn fpc(n: f64, population: Option<f64>) -> Result<f64, SampleSizeError> {
    match population {
        None => Ok(1.0),
        Some(pop) if pop >= n && pop > 1.0 => Ok(((pop - n) / (pop - 1.0)).sqrt()),
        Some(pop) => Err(SampleSizeError::Population { population: pop, n }),
    }
}

/// The variance of one answer: `p(1 − p)` for a share, `s²` for a score.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Spread {
    /// A share expected near `p` (0.5 is the most cautious).
    Share(f64),
    /// A mean score with standard deviation `s` (in the score's unit).
    Deviation(f64),
}

impl Spread {
    fn variance(self) -> Result<f64, SampleSizeError> {
        match self {
            Spread::Share(p) if p > 0.0 && p < 1.0 => Ok(p * (1.0 - p)),
            Spread::Share(p) => Err(SampleSizeError::Share(p)),
            Spread::Deviation(s) if s > 0.0 && s.is_finite() => Ok(s * s),
            Spread::Deviation(s) => Err(SampleSizeError::Deviation(s)),
        }
    }
}

/// Margin of error (half the width of the confidence interval) at base `n`, in the
/// unit of the spread (a 0–1 share, or the score's unit), under simple random
/// sampling (a design effect of 1).
pub fn margin_of_error(
    n: f64,
    spread: Spread,
    confidence: Confidence,
    population: Option<f64>,
) -> Result<f64, SampleSizeError> {
    margin_of_error_with_deff(n, spread, confidence, population, 1.0)
}

/// Margin of error at base `n` under a design effect `deff` (≥ 1), which
/// multiplies the variance of simple random sampling.
pub fn margin_of_error_with_deff(
    n: f64,
    spread: Spread,
    confidence: Confidence,
    population: Option<f64>,
    deff: f64,
) -> Result<f64, SampleSizeError> {
    if !(n >= 1.0 && n.is_finite()) {
        return Err(SampleSizeError::Base(n));
    }
    let deff = design_effect(deff)?;
    Ok(confidence.z() * (deff * spread.variance()? / n).sqrt() * fpc(n, population)?)
}

/// The smallest base whose margin of error is at most `margin`, under simple
/// random sampling (a design effect of 1).
pub fn required_base(
    margin: f64,
    spread: Spread,
    confidence: Confidence,
    population: Option<f64>,
) -> Result<u64, SampleSizeError> {
    required_base_with_deff(margin, spread, confidence, population, 1.0)
}

/// The smallest base whose margin of error is at most `margin` under a design
/// effect `deff` (≥ 1): the simple-random-sampling base times `deff`, then the
/// finite population correction.
pub fn required_base_with_deff(
    margin: f64,
    spread: Spread,
    confidence: Confidence,
    population: Option<f64>,
    deff: f64,
) -> Result<u64, SampleSizeError> {
    if !(margin > 0.0 && margin.is_finite()) {
        return Err(SampleSizeError::Margin(margin));
    }
    let deff = design_effect(deff)?;
    let z = confidence.z();
    let n0 = z * z * spread.variance()? / (margin * margin) * deff;
    let n = match population {
        None => n0,
        Some(pop) if pop > 1.0 => n0 / (1.0 + (n0 - 1.0) / pop),
        Some(pop) => return Err(SampleSizeError::Population { population: pop, n: n0 }),
    };
    // Guard against 400.0000000001 from rounding before taking the ceiling.
    Ok((n - 1e-9).ceil().max(1.0) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn textbook_values() {
        let c = Confidence::new(0.95).unwrap();
        // ±4.9 points at n = 400 for a share of 50%.
        let m = margin_of_error(400.0, Spread::Share(0.5), c, None).unwrap();
        assert!((m - 0.048_999_099_613_501_35).abs() < 1e-12);
        // 385 respondents for ±5 points; 278 from a population of 1 000.
        assert_eq!(required_base(0.05, Spread::Share(0.5), c, None).unwrap(), 385);
        assert_eq!(required_base(0.05, Spread::Share(0.5), c, Some(1000.0)).unwrap(), 278);
        assert!(margin_of_error(10.0, Spread::Share(0.5), c, Some(5.0)).is_err());
        assert!(margin_of_error(0.0, Spread::Share(0.5), c, None).is_err());
        assert!(required_base(0.0, Spread::Deviation(20.0), c, None).is_err());
    }

    #[test]
    fn a_design_effect_multiplies_the_variance() {
        let c = Confidence::new(0.95).unwrap();
        let srs = margin_of_error(400.0, Spread::Share(0.5), c, None).unwrap();
        let m = margin_of_error_with_deff(400.0, Spread::Share(0.5), c, None, 2.0).unwrap();
        assert!((m - srs * 2f64.sqrt()).abs() < 1e-15, "{m} vs {srs}");
        // n₀ = 384.15 × 1.5 = 576.2 → 577, not 385 × 1.5 rounded (578).
        assert_eq!(
            required_base_with_deff(0.05, Spread::Share(0.5), c, None, 1.5).unwrap(),
            577
        );
        assert_eq!(
            required_base_with_deff(0.05, Spread::Share(0.5), c, None, 1.0).unwrap(),
            385
        );
        for bad in [0.5, f64::NAN, f64::INFINITY] {
            let m = margin_of_error_with_deff(400.0, Spread::Share(0.5), c, None, bad);
            assert!(matches!(m, Err(SampleSizeError::DesignEffect(_))), "{bad}: {m:?}");
            let n = required_base_with_deff(0.05, Spread::Share(0.5), c, None, bad);
            assert!(matches!(n, Err(SampleSizeError::DesignEffect(_))), "{bad}: {n:?}");
        }
    }
}
