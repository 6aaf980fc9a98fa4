//! Multiple comparisons: when a table tests many cells at once, the chance that
//! some "significant" difference is noise grows with the number of tests. The
//! adjusted p-values here are compared with the usual level; which adjustment a
//! table used is stated on it.

use serde::{Deserialize, Serialize};

/// How a family of p-values is adjusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Correction {
    /// No adjustment: each test at its own level.
    None,
    /// Bonferroni: p × m (capped at 1); controls the family-wise error rate.
    #[default]
    Bonferroni,
    /// Benjamini–Hochberg step-up; controls the false discovery rate.
    BenjaminiHochberg,
}

impl Correction {
    /// Parses `none`, `bonferroni` or `benjamini_hochberg` (also `bh`, `fdr_bh`).
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "none" => Some(Correction::None),
            "bonferroni" => Some(Correction::Bonferroni),
            "benjamini_hochberg" | "bh" | "fdr_bh" => Some(Correction::BenjaminiHochberg),
            _ => None,
        }
    }

    /// Adjusted p-values, in the order given; non-finite inputs stay as they are
    /// and are not counted in the family.
    pub fn adjust(self, p: &[f64]) -> Vec<f64> {
        let idx: Vec<usize> = (0..p.len()).filter(|&i| p[i].is_finite()).collect();
        let m = idx.len() as f64;
        let mut out = p.to_vec();
        match self {
            Correction::None => {}
            Correction::Bonferroni => {
                for &i in &idx {
                    out[i] = (p[i] * m).min(1.0);
                }
            }
            Correction::BenjaminiHochberg => {
                let mut order = idx.clone();
                order.sort_by(|&a, &b| p[a].total_cmp(&p[b]));
                let mut running = 1.0f64;
                for (rank, &i) in order.iter().enumerate().rev() {
                    running = running.min(p[i] * m / (rank + 1) as f64);
                    out[i] = running.min(1.0);
                }
            }
        }
        out
    }
}
