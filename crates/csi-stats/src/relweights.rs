//! Johnson's relative weights: how much of R² each predictor accounts for, robust
//! to correlated predictors (Johnson 2000). From the predictors' correlation matrix
//! `R = V Λ Vᵀ`, `Λ½ = V Λ^{1/2} Vᵀ` maps the predictors to their closest
//! orthogonal counterparts; `β = Λ½⁻¹ r` regresses the outcome on those, and
//! predictor j's weight is `Σₖ (Λ½)ⱼₖ² βₖ²`. The weights sum to the R² of the
//! regression of the outcome on the predictors.
//!
//! Every kernel here first checks the *whole* correlation matrix, outcome included,
//! `[[R_xx, r_xy], [r_xyᵀ, 1]]`: with pairwise-complete correlations (each pair over
//! the respondents who answered both) it need not be a correlation matrix at all,
//! and then `R² = r_xyᵀ R_xx⁻¹ r_xy` exceeds 1 even when `R_xx` alone is fine. A
//! smallest eigenvalue below `−`[`CONSISTENCY_TOLERANCE`] is refused as
//! [`RelativeWeightsError::Inconsistent`]. (The full matrix is positive semidefinite
//! exactly when `R_xx` is and R² ≤ 1; an eigenvalue of 0 within the tolerance is a
//! perfect fit, R² = 1, which is allowed: an index regressed on its own components
//! with complete answers is one.)

use serde::{Deserialize, Serialize};

/// Why relative weights cannot be computed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RelativeWeightsError {
    /// Fewer than two predictors, or matrices of the wrong shape.
    #[error("relative weights need at least two predictors and a square correlation matrix")]
    Shape,
    /// A correlation is not finite (a constant predictor, or no respondents).
    #[error("a correlation is not defined (a constant predictor, or no respondents with both answers)")]
    Undefined,
    /// The predictors are (nearly) collinear: the correlation matrix is singular or
    /// not positive definite (possible with pairwise-complete correlations).
    #[error(
        "the predictors are collinear or their pairwise correlations are inconsistent (smallest eigenvalue {0:.2e})"
    )]
    Singular(f64),
    /// The correlation matrix of the predictors *and the outcome* is not positive
    /// semidefinite (smallest eigenvalue given): the pairwise-complete correlations
    /// contradict each other, and R² would exceed 1 or be otherwise invalid.
    #[error(
        "the pairwise-complete correlations are inconsistent: the correlation matrix of the drivers and the outcome is not a valid correlation matrix (smallest eigenvalue {0:.3e}), so R² would exceed 1 or be invalid"
    )]
    Inconsistent(f64),
}

/// How far below 0 the smallest eigenvalue of the full correlation matrix
/// (predictors and outcome) may fall from rounding before the correlations are
/// refused as inconsistent.
pub const CONSISTENCY_TOLERANCE: f64 = 1e-10;

/// The smallest eigenvalue of the full correlation matrix `[[r_xx, r_xy], [r_xyᵀ,
/// 1]]` of the predictors and the outcome (shapes and finiteness already checked).
pub fn smallest_full_eigenvalue(r_xx: &[Vec<f64>], r_xy: &[f64]) -> f64 {
    let p = r_xy.len();
    let full: Vec<Vec<f64>> = (0..=p)
        .map(|i| {
            (0..=p)
                .map(|j| match (i < p, j < p) {
                    (true, true) => r_xx[i][j],
                    (true, false) => r_xy[i],
                    (false, true) => r_xy[j],
                    (false, false) => 1.0,
                })
                .collect()
        })
        .collect();
    symmetric_eigen(&full).0.into_iter().fold(f64::INFINITY, f64::min)
}

fn consistent(r_xx: &[Vec<f64>], r_xy: &[f64]) -> Result<(), RelativeWeightsError> {
    let smallest = smallest_full_eigenvalue(r_xx, r_xy);
    if smallest < -CONSISTENCY_TOLERANCE {
        return Err(RelativeWeightsError::Inconsistent(smallest));
    }
    Ok(())
}

/// Relative weights of the predictors, with the regression's R².
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RelativeWeights {
    /// Raw weights, one per predictor; they sum to `r_squared`.
    pub weights: Vec<f64>,
    /// R² of the outcome on all predictors.
    pub r_squared: f64,
}

impl RelativeWeights {
    /// Each weight as a share of R² (summing to 1).
    pub fn shares(&self) -> Vec<f64> {
        self.weights.iter().map(|w| w / self.r_squared).collect()
    }
}

/// Eigen-decomposition of a symmetric matrix by cyclic Jacobi rotations:
/// (eigenvalues, eigenvectors as columns).
fn symmetric_eigen(a: &[Vec<f64>]) -> (Vec<f64>, Vec<Vec<f64>>) {
    let n = a.len();
    let mut a: Vec<Vec<f64>> = a.to_vec();
    let mut v: Vec<Vec<f64>> = (0..n)
        .map(|i| (0..n).map(|j| f64::from(u8::from(i == j))).collect())
        .collect();
    for _sweep in 0..100 {
        let off: f64 = (0..n)
            .flat_map(|i| (0..n).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| a[i][j] * a[i][j])
            .sum();
        if off < 1e-30 {
            break;
        }
        for p in 0..n {
            for q in p + 1..n {
                if a[p][q].abs() < 1e-300 {
                    continue;
                }
                let theta = (a[q][q] - a[p][p]) / (2.0 * a[p][q]);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for row in a.iter_mut() {
                    let (akp, akq) = (row[p], row[q]);
                    row[p] = c * akp - s * akq;
                    row[q] = s * akp + c * akq;
                }
                let (upper, lower) = a.split_at_mut(q);
                for (x, y) in upper[p].iter_mut().zip(lower[0].iter_mut()) {
                    let (apk, aqk) = (*x, *y);
                    *x = c * apk - s * aqk;
                    *y = s * apk + c * aqk;
                }
                for row in v.iter_mut() {
                    let (vkp, vkq) = (row[p], row[q]);
                    row[p] = c * vkp - s * vkq;
                    row[q] = s * vkp + c * vkq;
                }
            }
        }
    }
    ((0..n).map(|i| a[i][i]).collect(), v)
}

/// Johnson's relative weights from the predictors' correlation matrix `r_xx`
/// (p × p) and their correlations with the outcome `r_xy` (p). Refuses a full
/// matrix (outcome included) that is not a correlation matrix.
pub fn relative_weights(r_xx: &[Vec<f64>], r_xy: &[f64]) -> Result<RelativeWeights, RelativeWeightsError> {
    check(r_xx, r_xy)?;
    let p = r_xy.len();
    let (values, vectors) = symmetric_eigen(r_xx);
    let smallest = values.iter().copied().fold(f64::INFINITY, f64::min);
    if smallest <= 1e-10 {
        return Err(RelativeWeightsError::Singular(smallest));
    }
    // Λ½ = V diag(√λ) Vᵀ and its inverse V diag(1/√λ) Vᵀ.
    let half = |f: &dyn Fn(f64) -> f64| -> Vec<Vec<f64>> {
        (0..p)
            .map(|i| {
                (0..p)
                    .map(|j| (0..p).map(|k| vectors[i][k] * f(values[k]) * vectors[j][k]).sum())
                    .collect()
            })
            .collect()
    };
    let lam_half = half(&|l| l.sqrt());
    let lam_half_inv = half(&|l| 1.0 / l.sqrt());
    let beta: Vec<f64> = (0..p)
        .map(|i| (0..p).map(|j| lam_half_inv[i][j] * r_xy[j]).sum())
        .collect();
    let weights: Vec<f64> = (0..p)
        .map(|j| (0..p).map(|k| lam_half[j][k].powi(2) * beta[k].powi(2)).sum())
        .collect();
    let r_squared = beta.iter().map(|b| b * b).sum();
    Ok(RelativeWeights { weights, r_squared })
}

/// Solves `a x = b` for a symmetric positive definite `a` by Cholesky; `None`
/// when `a` is not (numerically) positive definite.
pub fn cholesky_solve(a: &[Vec<f64>], b: &[f64]) -> Option<Vec<f64>> {
    let n = b.len();
    let mut l = vec![vec![0.0; n]; n];
    for i in 0..n {
        for j in 0..=i {
            let s: f64 = (0..j).map(|k| l[i][k] * l[j][k]).sum();
            if i == j {
                let d = a[i][i] - s;
                if d <= 1e-12 {
                    return None;
                }
                l[i][i] = d.sqrt();
            } else {
                l[i][j] = (a[i][j] - s) / l[j][j];
            }
        }
    }
    let mut y = vec![0.0; n];
    for i in 0..n {
        y[i] = (b[i] - (0..i).map(|k| l[i][k] * y[k]).sum::<f64>()) / l[i][i];
    }
    let mut x = vec![0.0; n];
    for i in (0..n).rev() {
        x[i] = (y[i] - (i + 1..n).map(|k| l[k][i] * x[k]).sum::<f64>()) / l[i][i];
    }
    Some(x)
}

fn check(r_xx: &[Vec<f64>], r_xy: &[f64]) -> Result<(), RelativeWeightsError> {
    let p = r_xy.len();
    if p < 2 || r_xx.len() != p || r_xx.iter().any(|row| row.len() != p) {
        return Err(RelativeWeightsError::Shape);
    }
    if r_xx.iter().flatten().chain(r_xy).any(|x| !x.is_finite()) {
        return Err(RelativeWeightsError::Undefined);
    }
    consistent(r_xx, r_xy)
}

/// Unstandardised regression coefficients from standardised ones: `b = β × sd_y /
/// sd_x`, in the outcome's unit per unit of each predictor. `None` for a predictor
/// whose standard deviation is not positive and finite.
pub fn unstandardised_coefficients(betas: &[f64], sd_x: &[f64], sd_y: f64) -> Vec<Option<f64>> {
    betas
        .iter()
        .zip(sd_x)
        .map(|(b, &sx)| (sx > 0.0 && sx.is_finite() && sd_y.is_finite()).then(|| b * sd_y / sx))
        .collect()
}

/// Standardised regression coefficients `β = R⁻¹ r` of the outcome on all the
/// predictors, and the R² `rᵀ β`. Refuses a full matrix (outcome included) that is
/// not a correlation matrix.
pub fn standardised_coefficients(r_xx: &[Vec<f64>], r_xy: &[f64]) -> Result<(Vec<f64>, f64), RelativeWeightsError> {
    check(r_xx, r_xy)?;
    let beta = cholesky_solve(r_xx, r_xy).ok_or(RelativeWeightsError::Singular(0.0))?;
    let r2 = beta.iter().zip(r_xy).map(|(b, r)| b * r).sum();
    Ok((beta, r2))
}

/// The most predictors [`lmg`] accepts (it fits 2^p subset regressions).
pub const LMG_MAX_PREDICTORS: usize = 15;

/// The LMG (Shapley value) decomposition of R²: each predictor's average gain in
/// R² when added to every subset of the others, weighted as in the Shapley value.
/// The parts sum to the R² of the full model. Refuses a full matrix (outcome
/// included) that is not a correlation matrix.
pub fn lmg(r_xx: &[Vec<f64>], r_xy: &[f64]) -> Result<Vec<f64>, RelativeWeightsError> {
    check(r_xx, r_xy)?;
    let p = r_xy.len();
    if p > LMG_MAX_PREDICTORS {
        return Err(RelativeWeightsError::Shape);
    }
    // R² of every subset (bit mask), from the correlation matrix.
    let mut r2 = vec![0.0; 1 << p];
    for (mask, slot) in r2.iter_mut().enumerate().skip(1) {
        let idx: Vec<usize> = (0..p).filter(|i| mask & (1 << i) != 0).collect();
        let a: Vec<Vec<f64>> = idx.iter().map(|&i| idx.iter().map(|&j| r_xx[i][j]).collect()).collect();
        let b: Vec<f64> = idx.iter().map(|&i| r_xy[i]).collect();
        let beta = cholesky_solve(&a, &b).ok_or(RelativeWeightsError::Singular(0.0))?;
        *slot = beta.iter().zip(&b).map(|(x, y)| x * y).sum();
    }
    let fact: Vec<f64> = (0..=p)
        .scan(1.0, |f, k| {
            let v = *f;
            *f *= (k + 1) as f64;
            Some(v)
        })
        .collect();
    Ok((0..p)
        .map(|j| {
            (0..1usize << p)
                .filter(|m| m & (1 << j) == 0)
                .map(|m| {
                    let s = m.count_ones() as usize;
                    fact[s] * fact[p - s - 1] / fact[p] * (r2[m | (1 << j)] - r2[m])
                })
                .sum()
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pairwise correlations that each look fine, but not together: x1 and x2 each
    /// correlate 0.9 with the outcome and −0.5 with each other. `R_xx` alone is
    /// positive definite, and `rᵀ R_xx⁻¹ r` = 3.24.
    fn inconsistent() -> (Vec<Vec<f64>>, Vec<f64>) {
        (vec![vec![1.0, -0.5], vec![-0.5, 1.0]], vec![0.9, 0.9])
    }

    #[test]
    fn a_full_matrix_that_is_not_a_correlation_matrix_is_refused_by_every_kernel() {
        let (r_xx, r_xy) = inconsistent();
        // The eigenvalues of [[1, −.5, .9], [−.5, 1, .9], [.9, .9, 1]]: 1.5 for
        // (1, −1, 0), and (1.5 ± √(0.25 + 6.48))/2 on the rest; the smallest is
        // (1.5 − √6.73)/2.
        let want = (1.5 - 6.73f64.sqrt()) / 2.0;
        let got = smallest_full_eigenvalue(&r_xx, &r_xy);
        assert!((got - want).abs() < 1e-12, "{got} vs {want}");
        for result in [
            relative_weights(&r_xx, &r_xy).map(|_| ()),
            standardised_coefficients(&r_xx, &r_xy).map(|_| ()),
            lmg(&r_xx, &r_xy).map(|_| ()),
        ] {
            match result {
                Err(RelativeWeightsError::Inconsistent(l)) => assert!((l - want).abs() < 1e-12),
                other => panic!("{other:?}"),
            }
        }
        let message = RelativeWeightsError::Inconsistent(want).to_string();
        assert!(
            message.contains("pairwise-complete correlations are inconsistent"),
            "{message}"
        );
        assert!(message.contains("R² would exceed 1"), "{message}");
    }

    #[test]
    fn a_perfect_fit_is_not_inconsistent() {
        // y = (x1 + x2)/√(2 + 2r) exactly: R² = 1 and the full matrix is singular,
        // positive semidefinite.
        let r = 0.3f64;
        let ry = (1.0 + r) / (2.0 + 2.0 * r).sqrt();
        let r_xx = vec![vec![1.0, r], vec![r, 1.0]];
        let (_, r2) = standardised_coefficients(&r_xx, &[ry, ry]).unwrap();
        assert!((r2 - 1.0).abs() < 1e-12, "{r2}");
        let rw = relative_weights(&r_xx, &[ry, ry]).unwrap();
        assert!((rw.r_squared - 1.0).abs() < 1e-12);
        assert_eq!(lmg(&r_xx, &[ry, ry]).unwrap().len(), 2);
        // Just past it, R² > 1: refused.
        let over = ry + 1e-4;
        assert!(matches!(
            standardised_coefficients(&r_xx, &[over, over]),
            Err(RelativeWeightsError::Inconsistent(_))
        ));
    }
}
