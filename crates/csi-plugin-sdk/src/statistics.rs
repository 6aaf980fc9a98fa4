//! The statistics table as lookups: the host's figures per wave × cell × series ×
//! measure, with the raw sums behind each (so cells can be merged or subtracted
//! with `csi_stats`), and the co-moments of series pairs.

use std::collections::HashMap;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, UInt64Type};
use arrow_array::{Array, RecordBatch};
use csi_stats::{CoMomentsSummary, Estimate, MomentSums, WeightedMoments};

type Key = (String, String, String, String);

/// The statistics table, indexed. Build it with [`Statistics::read`] from
/// `Input::statistics_batches`.
#[derive(Debug, Default, Clone)]
pub struct Statistics {
    rows: HashMap<Key, Estimate>,
    cross: HashMap<Key, CoMomentsSummary>,
    waves: Vec<String>,
}

impl Statistics {
    /// Indexes the batches of the statistics table.
    pub fn read(batches: &[RecordBatch]) -> Result<Self, String> {
        let mut out = Statistics::default();
        for batch in batches {
            let col = |name: &str| {
                batch
                    .column_by_name(name)
                    .ok_or(format!("the statistics lack `{name}`"))
            };
            let text = |name: &str| col(name).map(|c| c.as_string::<i32>().clone());
            let num = |name: &str| col(name).map(|c| c.as_primitive::<Float64Type>().clone());
            let (wave, cell, node, measure, with) = (
                text("wave")?,
                text("cell")?,
                text("node")?,
                text("measure")?,
                text("with")?,
            );
            let n = col("n")?.as_primitive::<UInt64Type>().clone();
            let [sum_w, sum_w2, mean, se, lo, hi, eff, mean_with, ss, ss_with, sp, shift, wd, wd2, w2d, w2d2] = [
                "sum_w",
                "sum_w2",
                "mean",
                "se",
                "ci_low",
                "ci_high",
                "effective_n",
                "mean_with",
                "ss",
                "ss_with",
                "sp",
                "shift",
                "sum_wd",
                "sum_wd2",
                "sum_w2d",
                "sum_w2d2",
            ]
            .map(num);
            let (sum_w, sum_w2, mean, se, lo, hi, eff) = (sum_w?, sum_w2?, mean?, se?, lo?, hi?, eff?);
            let (mean_with, ss, ss_with, sp) = (mean_with?, ss?, ss_with?, sp?);
            let (shift, wd, wd2, w2d, w2d2) = (shift?, wd?, wd2?, w2d?, w2d2?);
            let opt = |a: &arrow_array::Float64Array, i: usize| (!a.is_null(i)).then(|| a.value(i));
            for i in 0..batch.num_rows() {
                let w = wave.value(i).to_string();
                if out.waves.last() != Some(&w) && !out.waves.contains(&w) {
                    out.waves.push(w.clone());
                }
                if measure.value(i) == "cross" {
                    let key = (w, cell.value(i).into(), node.value(i).into(), with.value(i).into());
                    out.cross.insert(
                        key,
                        CoMomentsSummary {
                            n: n.value(i),
                            sum_w: sum_w.value(i),
                            mean_x: mean.value(i),
                            mean_y: mean_with.value(i),
                            ss_x: ss.value(i),
                            ss_y: ss_with.value(i),
                            sp: sp.value(i),
                        },
                    );
                    continue;
                }
                let sums = (!shift.is_null(i)).then(|| MomentSums {
                    shift: shift.value(i),
                    n: n.value(i),
                    sum_w: sum_w.value(i),
                    sum_w2: sum_w2.value(i),
                    sum_wd: wd.value(i),
                    sum_wd2: wd2.value(i),
                    sum_w2d: w2d.value(i),
                    sum_w2d2: w2d2.value(i),
                });
                let key = (w, cell.value(i).into(), node.value(i).into(), measure.value(i).into());
                out.rows.insert(
                    key,
                    Estimate {
                        n: n.value(i),
                        sum_w: sum_w.value(i),
                        effective_n: eff.value(i),
                        mean: opt(&mean, i),
                        se: opt(&se, i),
                        ci_low: opt(&lo, i),
                        ci_high: opt(&hi, i),
                        sums,
                    },
                );
            }
        }
        Ok(out)
    }

    /// The waves present, in the order the host sent them (oldest first).
    pub fn waves(&self) -> &[String] {
        &self.waves
    }

    /// The published figures of `node`'s `measure` (`score`, `top_box`,
    /// `expectation`, `gap`, `raw`) in `cell` of `wave`.
    pub fn get(&self, wave: &str, cell: &str, node: &str, measure: &str) -> Option<&Estimate> {
        self.rows.get(&(wave.into(), cell.into(), node.into(), measure.into()))
    }

    /// The accumulator behind [`Statistics::get`], to merge or subtract cells.
    pub fn moments(&self, wave: &str, cell: &str, node: &str, measure: &str) -> Option<WeightedMoments> {
        self.get(wave, cell, node, measure)?
            .sums
            .map(WeightedMoments::from_sums)
    }

    /// The co-moments of the scores of `x` and `y` (in that order) in `cell` of
    /// `wave`, if the host computed that pair.
    pub fn cross(&self, wave: &str, cell: &str, x: &str, y: &str) -> Option<CoMomentsSummary> {
        let key = |a: &str, b: &str| (wave.to_string(), cell.to_string(), a.to_string(), b.to_string());
        match self.cross.get(&key(x, y)) {
            Some(c) => Some(*c),
            None => self.cross.get(&key(y, x)).map(CoMomentsSummary::swapped),
        }
    }

    /// The weighted, pairwise-complete correlations among `predictors` and of each
    /// with `outcome` in `cell` of `wave`, from the co-moments, with the smallest
    /// pairwise base. An error names the first pair without a correlation (no
    /// respondents with both, a constant score, or a pair the host did not compute).
    pub fn correlations(
        &self,
        wave: &str,
        cell: &str,
        predictors: &[&str],
        outcome: &str,
    ) -> Result<Correlations, String> {
        let mut min_n = u64::MAX;
        let mut corr = |x: &str, y: &str| -> Result<f64, String> {
            if x == y {
                return Ok(1.0);
            }
            let c = self
                .cross(wave, cell, x, y)
                .ok_or_else(|| format!("no co-moments of `{x}` and `{y}` in `{cell}`"))?;
            min_n = min_n.min(c.n);
            c.correlation().ok_or_else(|| {
                format!("no correlation between `{x}` and `{y}` in `{cell}` (no respondents with both, or a constant score)")
            })
        };
        let mut r_xx = Vec::with_capacity(predictors.len());
        for x in predictors {
            r_xx.push(predictors.iter().map(|y| corr(x, y)).collect::<Result<Vec<_>, _>>()?);
        }
        let r_xy = predictors
            .iter()
            .map(|x| corr(x, outcome))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Correlations { r_xx, r_xy, min_n })
    }
}

/// A correlation matrix of predictors with their correlations with an outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct Correlations {
    /// Predictors × predictors.
    pub r_xx: Vec<Vec<f64>>,
    /// Each predictor with the outcome.
    pub r_xy: Vec<f64>,
    /// The smallest pairwise base among them.
    pub min_n: u64,
}
