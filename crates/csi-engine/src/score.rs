//! Scoring one respondent: the tree rolled up from the leaves, the paired
//! expectation / performance / gap figures on one base, and the like-for-like
//! masks that compare two waves on the questions both asked.

use crate::flat::FlatNode;

/// Rolls `leaf` values (0–100, `NaN` when missing) up the tree into `out`: a
/// parent is the weighted mean of the children that have a value, weights
/// renormalised over those; with none it is missing. Leaves outside `include`
/// (when given) count as missing, which is how a composite is restricted to the
/// questions two waves have in common.
pub(crate) fn roll_up(nodes: &[FlatNode], leaf: &[f64], include: Option<&[bool]>, out: &mut [f64]) {
    // In pre-order children follow their parent, so a reverse loop sees every
    // child before its parent.
    for i in (0..nodes.len()).rev() {
        let n = &nodes[i];
        out[i] = if n.leaf.is_some() {
            if include.is_none_or(|m| m[i]) {
                leaf[i]
            } else {
                f64::NAN
            }
        } else {
            let (mut sw, mut sws) = (0.0, 0.0);
            for &c in &n.children {
                let s = out[c];
                if !s.is_nan() {
                    sw += nodes[c].weight;
                    sws += nodes[c].weight * s;
                }
            }
            if sw > 0.0 {
                sws / sw
            } else {
                f64::NAN
            }
        };
    }
}

/// One respondent's paired figures per node, all on one base: for a leaf, the
/// performance and expectation when both were answered; for a parent, the
/// weighted means over the children that have a pair (tree weights renormalised
/// over those children). So `gap = performance − expectation` holds for every
/// node and respondent, and the published means of the three agree exactly.
///
/// Fills `performance` and `expectation` (both `NaN` where a node has no pair)
/// from the leaves' scores and expectations (0–100, `NaN` when missing).
pub(crate) fn roll_up_paired(
    nodes: &[FlatNode],
    score: &[f64],
    expected: &[f64],
    performance: &mut [f64],
    expectation: &mut [f64],
) {
    for i in (0..nodes.len()).rev() {
        let n = &nodes[i];
        (performance[i], expectation[i]) = if n.leaf.is_some() {
            if score[i].is_nan() || expected[i].is_nan() {
                (f64::NAN, f64::NAN)
            } else {
                (score[i], expected[i])
            }
        } else {
            let (mut sw, mut sp, mut se) = (0.0, 0.0, 0.0);
            for &c in &n.children {
                if !performance[c].is_nan() {
                    let w = nodes[c].weight;
                    sw += w;
                    sp += w * performance[c];
                    se += w * expectation[c];
                }
            }
            if sw > 0.0 {
                (sp / sw, se / sw)
            } else {
                (f64::NAN, f64::NAN)
            }
        };
    }
}

/// Whether each leaf was asked in `wave` (per the study's `waves:` lists).
pub(crate) fn asked_in(nodes: &[FlatNode], wave: &str) -> Vec<bool> {
    nodes
        .iter()
        .map(|n| {
            n.leaf
                .as_ref()
                .is_some_and(|l| l.waves.as_ref().is_none_or(|w| w.iter().any(|x| x == wave)))
        })
        .collect()
}

/// How this wave's composites compare with a neighbouring wave's.
#[derive(Debug, Clone)]
pub(crate) struct Common {
    /// Leaves asked in both waves (the mask [`roll_up`] takes).
    pub include: Vec<bool>,
    /// Per node: whether the questions beneath it differ between the two waves
    /// (then its like-for-like score differs from its published one).
    pub differs: Vec<bool>,
    /// Per node: how many of the questions beneath it both waves asked.
    pub common_items: Vec<usize>,
}

impl Common {
    /// The comparison of `this` wave's questions with `other`'s; `None` when they
    /// asked exactly the same questions (every composite is already like for like).
    pub(crate) fn between(nodes: &[FlatNode], this: &[bool], other: &[bool]) -> Option<Self> {
        if this == other {
            return None;
        }
        let include: Vec<bool> = this.iter().zip(other).map(|(a, b)| *a && *b).collect();
        let mut differs: Vec<bool> = this.iter().zip(other).map(|(a, b)| a != b).collect();
        let mut common_items: Vec<usize> = include.iter().map(|&b| usize::from(b)).collect();
        for i in (0..nodes.len()).rev() {
            if let Some(p) = nodes[i].parent {
                differs[p] |= differs[i];
                common_items[p] += common_items[i];
            }
        }
        Some(Common {
            include,
            differs,
            common_items,
        })
    }
}
