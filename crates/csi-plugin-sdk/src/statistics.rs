//! The statistics table as lookups: the host's figures per wave × cell × series ×
//! measure, with the raw sums behind each (so cells can be merged or subtracted
//! with `csi_stats`), and the co-moments of series pairs.

use std::collections::HashMap;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, UInt32Type, UInt64Type};
use arrow_array::{Array, RecordBatch};
use csi_stats::{CoMomentsSummary, Confidence, Design, Estimate, MomentSums, WeightedMoments};

type Key = (String, String, String, String);

/// The statistics table, indexed. Build it with [`Statistics::read`] from
/// `Input::statistics_batches`.
#[derive(Debug, Default, Clone)]
pub struct Statistics {
    rows: HashMap<Key, Estimate>,
    cross: HashMap<Key, CoMomentsSummary>,
    /// Per (wave, x, y): the co-moments in each random group of the "all" cell.
    groups: HashMap<(String, String, String), Vec<Option<CoMomentsSummary>>>,
    /// Per wave: the number of random groups (from the design row).
    group_count: HashMap<String, usize>,
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
            // Appended after the first protocol: absent from older hosts' tables.
            let group = batch
                .column_by_name("group")
                .map(|c| c.as_primitive::<UInt32Type>().clone());
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
                if matches!(measure.value(i), "cross" | "cross_group") {
                    let summary = CoMomentsSummary {
                        n: n.value(i),
                        sum_w: sum_w.value(i),
                        mean_x: mean.value(i),
                        mean_y: mean_with.value(i),
                        ss_x: ss.value(i),
                        ss_y: ss_with.value(i),
                        sp: sp.value(i),
                    };
                    if measure.value(i) == "cross" {
                        let key = (w, cell.value(i).into(), node.value(i).into(), with.value(i).into());
                        out.cross.insert(key, summary);
                    } else if let Some(g) = group.as_ref().filter(|g| !g.is_null(i)).map(|g| g.value(i) as usize) {
                        let slot = out
                            .groups
                            .entry((w, node.value(i).into(), with.value(i).into()))
                            .or_default();
                        if slot.len() <= g {
                            slot.resize(g + 1, None);
                        }
                        slot[g] = Some(summary);
                    }
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
                if measure.value(i) == "design" {
                    if let Some(g) = group.as_ref().filter(|g| !g.is_null(i)) {
                        out.group_count.insert(w.clone(), g.value(i) as usize);
                    }
                }
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

    /// The sampling design of `wave`: its sample size and declared population
    /// size. Standard errors of cells a plugin derives (a group's complement, a
    /// merge of groups) are computed in it with `WeightedMoments::estimate_in`,
    /// like the host's. `None` for tables from hosts that did not send it.
    pub fn design(&self, wave: &str) -> Option<Design> {
        let row = self.get(wave, "all", "index", "design")?;
        Some(Design::new(row.n, row.mean))
    }

    /// The estimate of derived sums `m` in `wave`'s design (see [`Statistics::design`]);
    /// with no design row, the domain is taken as the whole sample.
    pub fn estimate(&self, wave: &str, m: &WeightedMoments, confidence: Confidence) -> Estimate {
        match self.design(wave) {
            Some(d) => m.estimate_in(confidence, &d),
            None => m.estimate(confidence),
        }
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

    /// Bootstrap replicates of the pairwise-complete correlations of `predictors`
    /// and `outcome` over all respondents of `wave`: each replicate draws the
    /// host's random groups of respondents with replacement (as many as there are
    /// groups) and merges their co-moments. The draws are the outputs of the
    /// SplitMix64 generator seeded with the FNV-1a-64 hash of the wave id, each
    /// taken mod G, replicate after replicate. Deterministic, so a published wave
    /// keeps its intervals. `Err` when
    /// the host sent no groups for these series (only the index, first-level
    /// categories and overall items have them).
    pub fn bootstrap(
        &self,
        wave: &str,
        predictors: &[&str],
        outcome: &str,
        replicates: usize,
    ) -> Result<Vec<Result<Correlations, String>>, String> {
        let mut vars: Vec<&str> = predictors.to_vec();
        vars.push(outcome);
        let mut table: HashMap<(usize, usize), &Vec<Option<CoMomentsSummary>>> = HashMap::new();
        let mut groups = 0;
        for a in 0..vars.len() {
            for b in a + 1..vars.len() {
                let (x, y) = (vars[a], vars[b]);
                let found = self
                    .groups
                    .get(&(wave.to_string(), x.to_string(), y.to_string()))
                    .map(|g| (g, false))
                    .or_else(|| {
                        self.groups
                            .get(&(wave.to_string(), y.to_string(), x.to_string()))
                            .map(|g| (g, true))
                    })
                    .ok_or_else(|| format!("no random-group co-moments of `{x}` and `{y}` in wave `{wave}`"))?;
                groups = groups.max(found.0.len());
                // Store oriented as (a, b); swapped entries are flipped on use.
                table.insert(if found.1 { (b, a) } else { (a, b) }, found.0);
            }
        }
        // The host says how many groups there are: a group in which nobody has
        // both answers sends no row, so the rows alone could undercount.
        let groups = self.group_count.get(wave).copied().unwrap_or(groups).max(groups);
        if groups < 2 {
            return Err(format!("too few random groups in wave `{wave}` to bootstrap"));
        }
        // SplitMix64 from the wave id's FNV-1a hash, its state advanced by the
        // golden-ratio increment before each output.
        let mut state = csi_stats::resample::fnv1a64(wave.as_bytes());
        let mut draw = || {
            let r = csi_stats::resample::splitmix64(state);
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            (r % groups as u64) as usize
        };
        let p = predictors.len();
        let mut out = Vec::with_capacity(replicates);
        for _ in 0..replicates {
            let picks: Vec<usize> = (0..groups).map(|_| draw()).collect();
            let merged = |a: usize, b: usize| -> Option<CoMomentsSummary> {
                let (list, swap) = match table.get(&(a, b)) {
                    Some(l) => (*l, false),
                    None => (*table.get(&(b, a))?, true),
                };
                let parts = picks.iter().filter_map(|&g| list.get(g).copied().flatten());
                let m = merge_summaries(parts)?;
                Some(if swap { m.swapped() } else { m })
            };
            let corr = |a: usize, b: usize| -> Result<(f64, u64), String> {
                let c = merged(a, b).ok_or_else(|| {
                    format!(
                        "no respondents with both `{}` and `{}` in a replicate",
                        vars[a], vars[b]
                    )
                })?;
                let r = c.correlation().ok_or_else(|| {
                    format!(
                        "no correlation of `{}` and `{}` in a replicate (a constant score)",
                        vars[a], vars[b]
                    )
                })?;
                Ok((r, c.n))
            };
            let replicate = (|| {
                let mut min_n = u64::MAX;
                let mut r_xx = vec![vec![1.0; p]; p];
                for (a, b) in (0..p).flat_map(|a| (a + 1..p).map(move |b| (a, b))) {
                    let (r, n) = corr(a, b)?;
                    min_n = min_n.min(n);
                    r_xx[a][b] = r;
                    r_xx[b][a] = r;
                }
                let mut r_xy = Vec::with_capacity(p);
                for a in 0..p {
                    let (r, n) = corr(a, p)?;
                    min_n = min_n.min(n);
                    r_xy.push(r);
                }
                Ok(Correlations { r_xx, r_xy, min_n })
            })();
            out.push(replicate);
        }
        Ok(out)
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

/// Merges co-moment summaries of disjoint sets of respondents (a group drawn
/// twice counts twice): the pooled means and the sums of squares and products
/// about them (the parallel-axis rule).
fn merge_summaries(parts: impl Iterator<Item = CoMomentsSummary>) -> Option<CoMomentsSummary> {
    let parts: Vec<CoMomentsSummary> = parts.collect();
    let sum_w: f64 = parts.iter().map(|p| p.sum_w).sum();
    if parts.is_empty() || sum_w <= 0.0 {
        return None;
    }
    let mean_x = parts.iter().map(|p| p.sum_w * p.mean_x).sum::<f64>() / sum_w;
    let mean_y = parts.iter().map(|p| p.sum_w * p.mean_y).sum::<f64>() / sum_w;
    let mut out = CoMomentsSummary {
        n: 0,
        sum_w,
        mean_x,
        mean_y,
        ss_x: 0.0,
        ss_y: 0.0,
        sp: 0.0,
    };
    for p in &parts {
        let (dx, dy) = (p.mean_x - mean_x, p.mean_y - mean_y);
        out.n += p.n;
        out.ss_x += p.ss_x + p.sum_w * dx * dx;
        out.ss_y += p.ss_y + p.sum_w * dy * dy;
        out.sp += p.sp + p.sum_w * dx * dy;
    }
    Some(out)
}
