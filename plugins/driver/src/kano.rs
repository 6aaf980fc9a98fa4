//! Penalty–reward contrast analysis (Kano-style classes), from the respondent rows.
//!
//! For each indicator, two dummies: *low* (score below 50 on the 0–100 scale, i.e.
//! the lower half of the answer scale) and *high* (the top two answer points). The
//! outcome's 0–100 score is regressed on all dummies at once by weighted least
//! squares (the rows are streamed once, accumulating XᵀWX and XᵀWy). The *penalty*
//! of an indicator is minus its low coefficient (how much a poor rating costs), the
//! *reward* its high coefficient (how much an excellent one adds). Classes, an
//! estimate stated with its method: *basic* when the reward is under 40% of
//! penalty + reward, *excitement* when over 60%, *performance* otherwise. A missing
//! answer counts as neither low nor high; respondents without the outcome are left
//! out. Indicators with fewer than [`MIN_CELL`] respondents in either dummy are not
//! classified.

use std::collections::HashMap;

use csi_plugin_sdk::arrow_array::cast::AsArray;
use csi_plugin_sdk::arrow_array::types::Float64Type;
use csi_plugin_sdk::arrow_array::Array;
use csi_plugin_sdk::csi_stats::relweights::cholesky_solve;
use csi_plugin_sdk::Batches;

/// The fewest respondents a dummy needs for its indicator to be classified.
pub const MIN_CELL: u64 = 30;

/// One indicator's result.
#[derive(Debug, Clone, PartialEq)]
pub struct PenaltyReward {
    /// Indicator id.
    pub node: String,
    /// Label.
    pub label: String,
    /// `−β_low` (points of the outcome lost by a low rating), if estimated.
    pub penalty: Option<f64>,
    /// `β_high` (points gained by a top rating), if estimated.
    pub reward: Option<f64>,
    /// Respondents with a low / high rating.
    pub n_low: u64,
    /// Respondents with a high rating.
    pub n_high: u64,
}

impl PenaltyReward {
    /// `basic`, `performance` or `excitement` (see the module documentation).
    pub fn class(&self) -> Option<&'static str> {
        let (p, r) = (self.penalty?, self.reward?);
        let (p, r) = (p.max(0.0), r.max(0.0));
        if p + r <= 0.0 {
            return None;
        }
        let share = r / (p + r);
        Some(if share < 0.4 {
            "basic"
        } else if share > 0.6 {
            "excitement"
        } else {
            "performance"
        })
    }
}

struct Column {
    index: usize,
    node: String,
    label: String,
    min: f64,
    max: f64,
    lower_is_better: bool,
}

fn score(x: f64, c: &Column) -> f64 {
    let s = (x - c.min) / (c.max - c.min) * 100.0;
    if c.lower_is_better {
        100.0 - s
    } else {
        s
    }
}

/// Runs the analysis for the indicators `wanted` (ids) on `outcome` (a node id)
/// over the streamed rows. Returns the results and the respondents used.
pub fn penalty_reward(rows: Batches, outcome: &str, wanted: &[&str]) -> Result<(Vec<PenaltyReward>, u64), String> {
    let schema = rows.schema();
    let meta = |i: usize, k: &str| schema.field(i).metadata().get(k).cloned();
    let num = |i: usize, k: &str| meta(i, k).and_then(|v| v.parse::<f64>().ok());
    let mut indicators: Vec<Column> = Vec::new();
    let (mut outcome_col, mut weight_col) = (None, None);
    for i in 0..schema.fields().len() {
        match meta(i, "csi.role").as_deref() {
            Some("weight") => weight_col = Some(i),
            Some("answer") => {
                let node = meta(i, "csi.node").unwrap_or_default();
                let (Some(min), Some(max)) = (num(i, "csi.min"), num(i, "csi.max")) else {
                    continue;
                };
                let col = Column {
                    index: i,
                    label: meta(i, "csi.label").unwrap_or_else(|| node.clone()),
                    lower_is_better: meta(i, "csi.direction").as_deref() == Some("lower_is_better"),
                    node,
                    min,
                    max,
                };
                if col.node == outcome {
                    outcome_col = Some(col);
                } else if wanted.contains(&col.node.as_str()) && meta(i, "csi.unit").is_none() && max - min >= 3.0 {
                    indicators.push(col);
                }
            }
            _ => {}
        }
    }
    let outcome_col = outcome_col.ok_or_else(|| format!("the rows have no answers of the outcome `{outcome}`"))?;
    if indicators.is_empty() {
        return Err("none of the drivers' indicators is a rating scale".into());
    }
    // Design: intercept, then low and high dummies per indicator.
    let k = 1 + 2 * indicators.len();
    let mut xtx = vec![vec![0.0; k]; k];
    let mut xty = vec![0.0; k];
    let mut counts = vec![0u64; k];
    let mut used = 0u64;
    let mut x = vec![0.0; k];
    for batch in rows {
        let batch = batch?;
        let f = |i: usize| batch.column(i).as_primitive::<Float64Type>().clone();
        let y_col = f(outcome_col.index);
        let w_col = weight_col.map(f);
        let cols: Vec<_> = indicators.iter().map(|c| f(c.index)).collect();
        for r in 0..batch.num_rows() {
            if y_col.is_null(r) {
                continue;
            }
            let w = match &w_col {
                Some(w) if w.is_null(r) || w.value(r) <= 0.0 => continue,
                Some(w) => w.value(r),
                None => 1.0,
            };
            let y = score(y_col.value(r), &outcome_col);
            x.iter_mut().for_each(|v| *v = 0.0);
            x[0] = 1.0;
            for (j, (c, col)) in indicators.iter().zip(&cols).enumerate() {
                if col.is_null(r) {
                    continue;
                }
                let s = score(col.value(r), c);
                let top = 100.0 - 100.0 / (c.max - c.min);
                if s < 50.0 {
                    x[1 + 2 * j] = 1.0;
                } else if s >= top - 1e-9 {
                    x[2 + 2 * j] = 1.0;
                }
            }
            used += 1;
            for a in 0..k {
                if x[a] == 0.0 {
                    continue;
                }
                counts[a] += 1;
                xty[a] += w * y;
                for b in 0..k {
                    if x[b] != 0.0 {
                        xtx[a][b] += w;
                    }
                }
            }
        }
    }
    // Keep the dummies with enough respondents; solve on those.
    let keep: Vec<usize> = (0..k).filter(|&a| a == 0 || counts[a] >= MIN_CELL).collect();
    let a: Vec<Vec<f64>> = keep
        .iter()
        .map(|&i| keep.iter().map(|&j| xtx[i][j]).collect())
        .collect();
    let b: Vec<f64> = keep.iter().map(|&i| xty[i]).collect();
    let beta = cholesky_solve(&a, &b).ok_or("the penalty–reward regression is singular (dummies collinear)")?;
    let coef: HashMap<usize, f64> = keep.iter().copied().zip(beta).collect();
    let out = indicators
        .iter()
        .enumerate()
        .map(|(j, c)| PenaltyReward {
            node: c.node.clone(),
            label: c.label.clone(),
            penalty: coef.get(&(1 + 2 * j)).map(|b| -b),
            reward: coef.get(&(2 + 2 * j)).copied(),
            n_low: counts[1 + 2 * j],
            n_high: counts[2 + 2 * j],
        })
        .collect();
    Ok((out, used))
}
