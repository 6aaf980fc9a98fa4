//! Johnson's relative weights: how much of R² each predictor accounts for, robust
//! to correlated predictors (Johnson 2000). From the predictors' correlation matrix
//! `R = V Λ Vᵀ`, `Λ½ = V Λ^{1/2} Vᵀ` maps the predictors to their closest
//! orthogonal counterparts; `β = Λ½⁻¹ r` regresses the outcome on those, and
//! predictor j's weight is `Σₖ (Λ½)ⱼₖ² βₖ²`. The weights sum to the R² of the
//! regression of the outcome on the predictors.

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
/// (p × p) and their correlations with the outcome `r_xy` (p).
pub fn relative_weights(r_xx: &[Vec<f64>], r_xy: &[f64]) -> Result<RelativeWeights, RelativeWeightsError> {
    let p = r_xy.len();
    if p < 2 || r_xx.len() != p || r_xx.iter().any(|row| row.len() != p) {
        return Err(RelativeWeightsError::Shape);
    }
    if r_xx.iter().flatten().chain(r_xy).any(|x| !x.is_finite()) {
        return Err(RelativeWeightsError::Undefined);
    }
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
