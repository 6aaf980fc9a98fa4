//! Partial least squares path modelling (PLS-PM): Wold's algorithm as Lohmöller
//! and Tenenhaus et al. (2005) state it, the estimator behind the ACSI and the
//! ECSI, with measurement quality (Cronbach's alpha, ρ_C, ρ_A, AVE, HTMT) and the
//! 0–100 index of each construct from its unstandardised outer weights.
//!
//! Everything is computed from the correlation matrix of the indicators, never
//! from respondent rows: each step of the algorithm (construct scores as weighted
//! sums of standardised indicators, their correlations, Mode A covariances, Mode
//! B regressions, the inner weights) is linear in the data, so it follows from
//! the indicators' cross-products. With respondent weights, pass the *weighted*
//! correlation matrix ([`weighted_correlations`]): weights then act as sampling
//! weights throughout (weighted standardisation and covariances), and integer
//! weights give the estimate of the sample with each respondent repeated that
//! many times. The figures equal those of implementations that iterate on the
//! standardised rows (seminr, plspm) once both have converged.
//!
//! The construct scores are standardised (variance 1); outer weights apply to
//! standardised indicators; loadings are correlations of an indicator with its
//! construct; path coefficients are standardised regression coefficients.

use crate::relweights::cholesky_solve;

/// How a construct relates to its indicators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Mode A (reflective): each outer weight is the indicator's covariance with
    /// the construct's inner estimate.
    A,
    /// Mode B (formative): the outer weights are the regression of the inner
    /// estimate on the block's indicators.
    B,
}

/// How the inner estimate of a construct weighs its neighbours in the path model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// A predecessor by the regression of the construct on its predecessors, a
    /// successor by its correlation (Lohmöller's path weighting, the default of
    /// seminr and SmartPLS).
    Path,
    /// Every neighbour by the sign of its correlation (Wold's original).
    Centroid,
    /// Every neighbour by its correlation.
    Factorial,
}

/// A construct (latent variable): its indicators (columns of the correlation
/// matrix) and its mode.
#[derive(Debug, Clone, PartialEq)]
pub struct Construct {
    /// Its name, for messages.
    pub name: String,
    /// The columns of its indicators.
    pub indicators: Vec<usize>,
    /// Mode A or B.
    pub mode: Mode,
}

/// A path model: constructs and the paths between them (`(from, to)`, positions
/// in `constructs`), recursive (no construct leads back to itself).
#[derive(Debug, Clone, PartialEq)]
pub struct PathModel {
    /// The constructs.
    pub constructs: Vec<Construct>,
    /// The inner paths, from cause to effect.
    pub paths: Vec<(usize, usize)>,
}

/// How the algorithm runs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Settings {
    /// The inner weighting scheme.
    pub scheme: Scheme,
    /// The most iterations before giving up.
    pub max_iterations: usize,
    /// Convergence: the sum of the absolute changes of the outer weights between
    /// two iterations below this.
    pub tolerance: f64,
}

impl Default for Settings {
    /// Path weighting, up to 300 iterations, to a change below 1e-10.
    fn default() -> Self {
        Settings {
            scheme: Scheme::Path,
            max_iterations: 300,
            tolerance: 1e-10,
        }
    }
}

/// Why a model cannot be estimated.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PlsError {
    /// The model is not one the algorithm can estimate.
    #[error("the path model is not valid: {0}")]
    Model(String),
    /// The outer weights still moved after the last iteration allowed.
    #[error("the PLS algorithm did not converge in {iterations} iterations (the outer weights still changed by {change:.2e} in all); allow more iterations or check for constructs whose indicators do not correlate")]
    NotConverged {
        /// Iterations run.
        iterations: usize,
        /// The last change of the outer weights.
        change: f64,
    },
    /// A regression the algorithm needs has collinear predictors.
    #[error("{0} are collinear (perfectly or almost perfectly correlated), so their separate contributions cannot be estimated")]
    Collinear(String),
}

/// A path model's estimate.
#[derive(Debug, Clone, PartialEq)]
pub struct PlsEstimate {
    /// Per construct, per indicator (in the construct's order): the outer weight
    /// on the standardised indicator.
    pub outer_weights: Vec<Vec<f64>>,
    /// Per construct, per indicator: the loading (the indicator's correlation with
    /// its construct's score).
    pub loadings: Vec<Vec<f64>>,
    /// Per path of the model, in its order: the path coefficient.
    pub paths: Vec<f64>,
    /// Per construct: R² of its regression on its predecessors; `None` for an
    /// exogenous construct.
    pub r_squared: Vec<Option<f64>>,
    /// Total effects, `[from][to]`: the sum over every chain of paths from one
    /// construct to another of the products of their coefficients.
    pub total_effects: Vec<Vec<f64>>,
    /// The correlations of the construct scores.
    pub construct_correlations: Vec<Vec<f64>>,
    /// Iterations until the outer weights converged.
    pub iterations: usize,
}

/// The measurement quality of one construct.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reliability {
    /// Cronbach's alpha of the standardised indicators; `None` for a single
    /// indicator.
    pub alpha: Option<f64>,
    /// Composite reliability ρ_C (Jöreskog) from the loadings.
    pub rho_c: f64,
    /// Dijkstra–Henseler's ρ_A; `None` for a single indicator.
    pub rho_a: Option<f64>,
    /// Average variance extracted: the mean squared loading.
    pub ave: f64,
}

/// The weighted correlation matrix of `rows` (each row one respondent's values
/// of every column, all present), `weights` the respondents' weights (all 1 when
/// `None`): weighted means, weighted cross-products about them.
pub fn weighted_correlations(rows: &[Vec<f64>], weights: Option<&[f64]>) -> Vec<Vec<f64>> {
    let p = rows.first().map_or(0, Vec::len);
    correlations_of(p, rows.len(), |i| &rows[i], |i| weights.map_or(1.0, |w| w[i]))
}

/// [`weighted_correlations`] of respondents held row after row: `rows` holds
/// `weights.len()` rows of `p` values each.
pub fn weighted_correlations_of(rows: &[f64], p: usize, weights: &[f64]) -> Vec<Vec<f64>> {
    correlations_of(p, weights.len(), |i| &rows[i * p..(i + 1) * p], |i| weights[i])
}

/// [`weighted_correlations`] of `n` rows of `p` values each, row `i` given by
/// `row(i)` and its weight by `weight(i)` (a row of weight 0 counts for nothing).
fn correlations_of<'r>(
    p: usize,
    n: usize,
    row: impl Fn(usize) -> &'r [f64],
    weight: impl Fn(usize) -> f64,
) -> Vec<Vec<f64>> {
    let total: f64 = (0..n).map(&weight).sum();
    let mut means = vec![0.0; p];
    for i in 0..n {
        let w = weight(i);
        if w != 0.0 {
            for (m, x) in means.iter_mut().zip(row(i)) {
                *m += w * x;
            }
        }
    }
    means.iter_mut().for_each(|m| *m /= total);
    let mut cov = vec![vec![0.0; p]; p];
    let mut d = vec![0.0; p];
    for i in 0..n {
        let w = weight(i);
        if w == 0.0 {
            continue;
        }
        for ((d, x), m) in d.iter_mut().zip(row(i)).zip(&means) {
            *d = x - m;
        }
        for a in 0..p {
            let wa = w * d[a];
            for b in a..p {
                cov[a][b] += wa * d[b];
            }
        }
    }
    let mut cor = vec![vec![0.0; p]; p];
    for a in 0..p {
        for b in a..p {
            let r = cov[a][b] / (cov[a][a] * cov[b][b]).sqrt();
            (cor[a][b], cor[b][a]) = (r, r);
        }
    }
    cor
}

/// How a bootstrap draws its resamples.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Draws {
    /// How many resamples.
    pub replicates: usize,
    /// The seed of [`crate::resample::resample_counts`].
    pub seed: u64,
    /// Threads to run on (the replicates do not depend on it).
    pub threads: usize,
}

/// Bootstrap replicates of a path model's estimate: each resamples the
/// respondents with replacement ([`crate::resample::resample_counts`] with
/// the draws' `seed`, replicate after replicate), every respondent drawn keeping its weight,
/// and estimates `model` from the resample's weighted correlations. `rows` holds
/// `n` respondents' `p` values row after row (all present). Runs on up to
/// `threads` threads; the replicates are the same on any number. A replicate the
/// algorithm cannot estimate (it does not converge, or a regression is
/// collinear) is `Err` in its place.
pub fn bootstrap(
    rows: &[f64],
    p: usize,
    weights: &[f64],
    model: &PathModel,
    settings: &Settings,
    draws: Draws,
) -> Vec<Result<PlsEstimate, PlsError>> {
    let Draws {
        replicates,
        seed,
        threads,
    } = draws;
    let n = weights.len();
    let one = |b: usize| {
        let counts = crate::resample::resample_counts(n, seed, b as u64);
        let r = correlations_of(
            p,
            n,
            |i| &rows[i * p..(i + 1) * p],
            |i| weights[i] * f64::from(counts[i]),
        );
        estimate(&r, model, settings)
    };
    let threads = threads.clamp(1, replicates.max(1));
    let mut out: Vec<Option<Result<PlsEstimate, PlsError>>> = vec![None; replicates];
    std::thread::scope(|scope| {
        // Replicate b on thread b mod threads: each thread's slots interleave.
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let one = &one;
                scope.spawn(move || {
                    (t..replicates)
                        .step_by(threads)
                        .map(|b| (b, one(b)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        for h in handles {
            // A replicate that panics is a bug: raised, never counted as a replicate
            // that could not be estimated (which would depend on the threads).
            for (b, e) in h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)) {
                out[b] = Some(e);
            }
        }
    });
    out.into_iter()
        .map(|e| e.unwrap_or_else(|| Err(PlsError::Model("a bootstrap thread stopped".into()))))
        .collect()
}

/// `wᵀ R[xs, ys] v`.
fn form(r: &[Vec<f64>], xs: &[usize], w: &[f64], ys: &[usize], v: &[f64]) -> f64 {
    xs.iter()
        .zip(w)
        .map(|(&x, wx)| wx * ys.iter().zip(v).map(|(&y, vy)| r[x][y] * vy).sum::<f64>())
        .sum()
}

/// Checks the model against a correlation matrix of `p` columns.
fn check(model: &PathModel, p: usize) -> Result<(), PlsError> {
    let k = model.constructs.len();
    let bad = |m: String| Err(PlsError::Model(m));
    if k < 2 {
        return bad("a path model needs at least two constructs".into());
    }
    let mut seen = vec![false; p];
    for c in &model.constructs {
        if c.indicators.is_empty() {
            return bad(format!("construct `{}` has no indicators", c.name));
        }
        for &i in &c.indicators {
            if i >= p {
                return bad(format!("construct `{}` names column {i} of {p}", c.name));
            }
            if std::mem::replace(&mut seen[i], true) {
                return bad(format!("an indicator of `{}` belongs to another construct too", c.name));
            }
        }
    }
    for (n, &(from, to)) in model.paths.iter().enumerate() {
        if from >= k || to >= k || from == to {
            return bad(format!("path {} does not join two different constructs", n + 1));
        }
        if model.paths[..n].contains(&(from, to)) {
            return bad(format!(
                "the path from `{}` to `{}` is declared twice",
                model.constructs[from].name, model.constructs[to].name
            ));
        }
    }
    // Recursive: repeatedly remove constructs without predecessors.
    let mut left: Vec<bool> = vec![true; k];
    for _ in 0..k {
        let free: Vec<usize> = (0..k)
            .filter(|&j| left[j] && !model.paths.iter().any(|&(f, t)| t == j && left[f]))
            .collect();
        free.iter().for_each(|&j| left[j] = false);
    }
    if let Some(j) = (0..k).find(|&j| left[j]) {
        return bad(format!(
            "the paths lead from `{}` back to itself; a PLS path model is recursive",
            model.constructs[j].name
        ));
    }
    if let Some(c) = (0..k).find(|&j| !model.paths.iter().any(|&(f, t)| f == j || t == j)) {
        return bad(format!("construct `{}` has no path", model.constructs[c].name));
    }
    Ok(())
}

/// The regression of construct `to` on constructs `from` (standardised
/// coefficients), from the constructs' correlations `c`.
fn regression(
    c: &[Vec<f64>],
    from: &[usize],
    to: usize,
    names: &dyn Fn(&[usize]) -> String,
) -> Result<Vec<f64>, PlsError> {
    let a: Vec<Vec<f64>> = from.iter().map(|&i| from.iter().map(|&j| c[i][j]).collect()).collect();
    let b: Vec<f64> = from.iter().map(|&i| c[i][to]).collect();
    cholesky_solve(&a, &b).ok_or_else(|| PlsError::Collinear(names(from)))
}

/// Estimates `model` from the (weighted) correlation matrix of the indicators.
pub fn estimate(r: &[Vec<f64>], model: &PathModel, settings: &Settings) -> Result<PlsEstimate, PlsError> {
    check(model, r.len())?;
    let cs = &model.constructs;
    let k = cs.len();
    let names = |set: &[usize]| -> String {
        let named: Vec<String> = set.iter().map(|&j| format!("`{}`", cs[j].name)).collect();
        named.join(", ")
    };
    let predecessors: Vec<Vec<usize>> = (0..k)
        .map(|j| model.paths.iter().filter(|p| p.1 == j).map(|p| p.0).collect())
        .collect();
    let adjacent = |i: usize, j: usize| model.paths.iter().any(|&(f, t)| (f, t) == (i, j) || (f, t) == (j, i));
    // Weights normalised so that each construct's score has variance 1.
    let normalised = |j: usize, w: Vec<f64>| -> Vec<f64> {
        let v = form(r, &cs[j].indicators, &w, &cs[j].indicators, &w);
        w.iter().map(|x| x / v.sqrt()).collect()
    };
    let mut weights: Vec<Vec<f64>> = (0..k)
        .map(|j| normalised(j, vec![1.0; cs[j].indicators.len()]))
        .collect();
    let correlations = |weights: &[Vec<f64>]| -> Vec<Vec<f64>> {
        (0..k)
            .map(|i| {
                (0..k)
                    .map(|j| form(r, &cs[i].indicators, &weights[i], &cs[j].indicators, &weights[j]))
                    .collect()
            })
            .collect()
    };
    let mut iterations = 0;
    loop {
        let c = correlations(&weights);
        // inner[i][j]: the weight of construct i in construct j's inner estimate.
        let mut inner = vec![vec![0.0; k]; k];
        for j in 0..k {
            for i in (0..k).filter(|&i| adjacent(i, j)) {
                inner[i][j] = match settings.scheme {
                    Scheme::Centroid => c[i][j].signum(),
                    Scheme::Factorial => c[i][j],
                    Scheme::Path if predecessors[j].contains(&i) => 0.0, // below
                    Scheme::Path => c[i][j],
                };
            }
            if settings.scheme == Scheme::Path && !predecessors[j].is_empty() {
                let b = regression(&c, &predecessors[j], j, &names)?;
                for (&i, b) in predecessors[j].iter().zip(b) {
                    inner[i][j] = b;
                }
            }
        }
        let mut next = Vec::with_capacity(k);
        for j in 0..k {
            let xs = &cs[j].indicators;
            // Each indicator's covariance with the inner estimate Σ_i inner[i][j] Y_i.
            let with_inner: Vec<f64> = xs
                .iter()
                .map(|&x| {
                    (0..k)
                        .filter(|&i| inner[i][j] != 0.0)
                        .map(|i| inner[i][j] * form(r, &[x], &[1.0], &cs[i].indicators, &weights[i]))
                        .sum()
                })
                .collect();
            let w = match cs[j].mode {
                Mode::A => with_inner,
                Mode::B => {
                    let rxx: Vec<Vec<f64>> = xs.iter().map(|&a| xs.iter().map(|&b| r[a][b]).collect()).collect();
                    cholesky_solve(&rxx, &with_inner)
                        .ok_or_else(|| PlsError::Collinear(format!("the indicators of `{}`", cs[j].name)))?
                }
            };
            next.push(normalised(j, w));
        }
        let change: f64 = next
            .iter()
            .zip(&weights)
            .flat_map(|(a, b)| a.iter().zip(b).map(|(x, y)| (x - y).abs()))
            .sum();
        weights = next;
        iterations += 1;
        if change < settings.tolerance {
            break;
        }
        if iterations >= settings.max_iterations {
            return Err(PlsError::NotConverged { iterations, change });
        }
    }
    let c = correlations(&weights);
    let loadings: Vec<Vec<f64>> = (0..k)
        .map(|j| {
            cs[j]
                .indicators
                .iter()
                .map(|&x| form(r, &[x], &[1.0], &cs[j].indicators, &weights[j]))
                .collect()
        })
        .collect();
    let mut coefficient = vec![vec![0.0; k]; k];
    let mut r_squared = vec![None; k];
    for j in 0..k {
        if predecessors[j].is_empty() {
            continue;
        }
        let b = regression(&c, &predecessors[j], j, &names)?;
        r_squared[j] = Some(predecessors[j].iter().zip(&b).map(|(&i, b)| b * c[i][j]).sum());
        for (&i, b) in predecessors[j].iter().zip(b) {
            coefficient[i][j] = b;
        }
    }
    // Total effects: B + B² + … (B is nilpotent: the model is recursive).
    let mut total = coefficient.clone();
    let mut power = coefficient.clone();
    for _ in 1..k {
        power = (0..k)
            .map(|i| {
                (0..k)
                    .map(|j| (0..k).map(|m| power[i][m] * coefficient[m][j]).sum())
                    .collect()
            })
            .collect();
        for i in 0..k {
            for j in 0..k {
                total[i][j] += power[i][j];
            }
        }
    }
    Ok(PlsEstimate {
        paths: model.paths.iter().map(|&(f, t)| coefficient[f][t]).collect(),
        outer_weights: weights,
        loadings,
        r_squared,
        total_effects: total,
        construct_correlations: c,
        iterations,
    })
}

/// The measurement quality of construct `j` of `model` as `estimate` found it,
/// from the correlation matrix `r` of the indicators.
pub fn reliability(r: &[Vec<f64>], model: &PathModel, estimate: &PlsEstimate, j: usize) -> Reliability {
    let xs = &model.constructs[j].indicators;
    let q = xs.len() as f64;
    let total: f64 = xs.iter().map(|&a| xs.iter().map(|&b| r[a][b]).sum::<f64>()).sum();
    let alpha = (xs.len() > 1).then(|| q / (q - 1.0) * (1.0 - q / total));
    let l = &estimate.loadings[j];
    let sum: f64 = l.iter().sum();
    let errors: f64 = l.iter().map(|x| 1.0 - x * x).sum();
    let rho_c = sum * sum / (sum * sum + errors);
    let ave = l.iter().map(|x| x * x).sum::<f64>() / q;
    let w = &estimate.outer_weights[j];
    let rho_a = (xs.len() > 1).then(|| {
        let ww: f64 = w.iter().map(|x| x * x).sum();
        let (mut s_off, mut ww_off) = (0.0, 0.0);
        for (a, &xa) in xs.iter().enumerate() {
            for (b, &xb) in xs.iter().enumerate() {
                if a != b {
                    s_off += w[a] * r[xa][xb] * w[b];
                    ww_off += w[a] * w[a] * w[b] * w[b];
                }
            }
        }
        ww * ww * s_off / ww_off
    });
    Reliability {
        alpha,
        rho_c,
        rho_a,
        ave,
    }
}

/// The heterotrait–monotrait ratio of constructs `i` and `j` (Henseler, Ringle
/// and Sarstedt 2015), as seminr and cSEM compute it: the mean absolute
/// correlation between their indicators over the geometric mean of the mean
/// absolute correlations within each (1 for a construct of a single indicator).
pub fn htmt(r: &[Vec<f64>], model: &PathModel, i: usize, j: usize) -> f64 {
    let (a, b) = (&model.constructs[i].indicators, &model.constructs[j].indicators);
    let within = |xs: &[usize]| -> f64 {
        let n = xs.len();
        if n < 2 {
            return 1.0;
        }
        let s: f64 = (0..n)
            .flat_map(|p| (p + 1..n).map(move |q| (p, q)))
            .map(|(p, q)| r[xs[p]][xs[q]].abs())
            .sum();
        s / (n * (n - 1) / 2) as f64
    };
    let between: f64 = a
        .iter()
        .map(|&x| b.iter().map(|&y| r[x][y].abs()).sum::<f64>())
        .sum::<f64>()
        / (a.len() * b.len()) as f64;
    between / (within(a) * within(b)).sqrt()
}

/// The index of construct `j` on 0–100, as the ACSI computes it: its outer
/// weights unstandardised (divided by each indicator's standard deviation) and
/// normalised to sum to 1, applied to the indicators' means, and the result
/// rescaled from the lowest to the highest value those weights can give:
/// `Σ w̃ (x̄ − min) / Σ w̃ (max − min) × 100` (Fornell et al. 1996, with each
/// indicator's own scale). `means`, `sds`, `mins` and `maxs` are per column of
/// the correlation matrix. `None` when the unstandardised weights do not sum to a
/// positive number (the index would not lie between the scale's ends).
pub fn construct_index(
    model: &PathModel,
    estimate: &PlsEstimate,
    j: usize,
    means: &[f64],
    sds: &[f64],
    mins: &[f64],
    maxs: &[f64],
) -> Option<f64> {
    let xs = &model.constructs[j].indicators;
    let raw: Vec<f64> = xs
        .iter()
        .zip(&estimate.outer_weights[j])
        .map(|(&x, w)| w / sds[x])
        .collect();
    let total: f64 = raw.iter().sum();
    let span: f64 = xs.iter().zip(&raw).map(|(&x, w)| w * (maxs[x] - mins[x])).sum();
    (total > 0.0 && span > 0.0)
        .then(|| xs.iter().zip(&raw).map(|(&x, w)| w * (means[x] - mins[x])).sum::<f64>() / span * 100.0)
}
