//! Significance letters between the groups of a segment ("column comparisons", as
//! Displayr, SPSS Custom Tables and Decipher show them).
//!
//! Every group gets a letter (A, B, C… in the study's order). In one row — the
//! index or a category — every pair of *tested* groups is compared: the difference
//! of their weighted domain means with the Welch-type test of [`independent`]
//! (disjoint domains of one with-replacement sample have no covariance under
//! linearisation, so their standard errors combine as independent;
//! Welch–Satterthwaite degrees of freedom on Kish effective bases). The family is all pairs of the row, k(k−1)/2
//! tests for k tested groups, adjusted with the analysis's correction. A group's
//! cell then lists the letters of the groups it is significantly **above**: upper
//! case when the adjusted p is below 1 − the study's confidence, lower case when it
//! is not but is below 1 − the second level.
//!
//! A group is tested in a row when it has a score there, its base is at least the
//! study's low-base threshold and its effective base at least 2; the others get no
//! letters and take no part in the family.

use csi_plugin_sdk::csi_stats::difference::{independent, Difference};
use csi_plugin_sdk::csi_stats::multiple::Correction;
use csi_plugin_sdk::csi_stats::{Confidence, Estimate};

/// The most groups a segment may have for letters: one letter each, A to Z.
pub const MAX_GROUPS: usize = 26;

/// The smallest Kish effective base a group must have to be tested.
pub const MIN_EFFECTIVE_BASE: f64 = 2.0;

/// The second level's default, when the study's confidence is above it.
pub const DEFAULT_SECOND_LEVEL: f64 = 0.90;

/// How the letters of a table are decided.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rule {
    /// The study's confidence level: upper-case letters at adjusted p < 1 − this.
    pub confidence: f64,
    /// The second, lower level: lower-case letters at adjusted p < 1 − this (and
    /// not significant at `confidence`); `None` for upper-case letters only.
    pub second: Option<f64>,
    /// Groups with a base under this are not tested.
    pub low_base: u64,
    /// The adjustment over the pairs of one row.
    pub correction: Correction,
}

/// Why a group is not tested in a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Excluded {
    /// It has no score in the row.
    NoScore,
    /// Its base is below the study's low-base threshold.
    LowBase,
    /// Its Kish effective base is below [`MIN_EFFECTIVE_BASE`].
    EffectiveBase,
}

/// One pairwise comparison of a row.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pair {
    /// The first group (index into the segment's groups; `a < b`).
    pub a: usize,
    /// The second group.
    pub b: usize,
    /// The test of `mean(a) − mean(b)`.
    pub test: Difference,
    /// Its p-value adjusted over the row's family.
    pub adjusted: f64,
}

/// How significant a pair is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Significant at the study's confidence level: an upper-case letter.
    First,
    /// Significant at the second level only: a lower-case letter.
    Second,
    /// Neither.
    None,
}

/// The comparisons of one row.
#[derive(Debug, Clone, PartialEq)]
pub struct RowLetters {
    /// Per group: why it was not tested (`None`: tested).
    pub excluded: Vec<Option<Excluded>>,
    /// The pairs of tested groups whose test is defined (the family), in the order
    /// (0, 1), (0, 2), … (1, 2), …
    pub pairs: Vec<Pair>,
    /// Per group: the letters of the groups it is significantly above, in group
    /// order (empty for none and for groups not tested).
    pub letters: Vec<String>,
}

impl Rule {
    /// How significant an adjusted p-value is under this rule.
    pub fn level(&self, adjusted: f64) -> Level {
        if adjusted < 1.0 - self.confidence {
            Level::First
        } else if self.second.is_some_and(|s| adjusted < 1.0 - s) {
            Level::Second
        } else {
            Level::None
        }
    }

    /// Why a group with this estimate is not tested, if it is not.
    pub fn excluded(&self, estimate: Option<&Estimate>) -> Option<Excluded> {
        match estimate {
            Some(e) if e.n > 0 && e.mean.is_some() => {
                if e.n < self.low_base {
                    Some(Excluded::LowBase)
                } else if e.se.is_none() || e.effective_n.is_nan() || e.effective_n < MIN_EFFECTIVE_BASE {
                    Some(Excluded::EffectiveBase)
                } else {
                    None
                }
            }
            _ => Some(Excluded::NoScore),
        }
    }

    /// The letters of one row, from each group's estimate (in the segment's order).
    pub fn row(&self, groups: &[Option<Estimate>]) -> RowLetters {
        let confidence = Confidence::new(self.confidence).unwrap_or_default();
        let excluded: Vec<Option<Excluded>> = groups.iter().map(|g| self.excluded(g.as_ref())).collect();
        let mut pairs = Vec::new();
        for a in 0..groups.len() {
            for b in a + 1..groups.len() {
                if excluded[a].is_some() || excluded[b].is_some() {
                    continue;
                }
                let (Some(ea), Some(eb)) = (&groups[a], &groups[b]) else {
                    continue;
                };
                // `independent(x, y)` tests y − x: mean(a) − mean(b) here.
                if let Some(test) = independent(eb, ea, confidence).filter(|d| d.p.is_finite()) {
                    pairs.push(Pair {
                        a,
                        b,
                        test,
                        adjusted: f64::NAN,
                    });
                }
            }
        }
        let adjusted = self
            .correction
            .adjust(&pairs.iter().map(|p| p.test.p).collect::<Vec<_>>());
        for (p, q) in pairs.iter_mut().zip(adjusted) {
            p.adjusted = q;
        }
        let mut above: Vec<Vec<(usize, char)>> = vec![Vec::new(); groups.len()];
        for p in &pairs {
            let (high, low) = if p.test.diff > 0.0 { (p.a, p.b) } else { (p.b, p.a) };
            match self.level(p.adjusted) {
                Level::First => above[high].push((low, letter(low))),
                Level::Second => above[high].push((low, letter(low).to_ascii_lowercase())),
                Level::None => {}
            }
        }
        let letters = above
            .into_iter()
            .map(|mut v| {
                v.sort_unstable();
                v.into_iter().map(|(_, c)| c).collect()
            })
            .collect();
        RowLetters {
            excluded,
            pairs,
            letters,
        }
    }
}

/// The letter of group `i` (0-based): `A` … `Z`; `?` beyond [`MAX_GROUPS`].
pub fn letter(i: usize) -> char {
    if i < MAX_GROUPS {
        char::from(b'A' + i as u8)
    } else {
        '?'
    }
}

/// The `letters_second_level` option, checked against the study's confidence:
/// `Ok(None)` when it is absent and the study's confidence is at or below the
/// default (then only upper-case letters are shown), an error for a value that is
/// not a confidence level or not below the study's.
pub fn second_level(
    options: &serde_json::Map<String, serde_json::Value>,
    confidence: f64,
) -> Result<Option<f64>, String> {
    let Some(value) = options.get("letters_second_level").filter(|v| !v.is_null()) else {
        return Ok((DEFAULT_SECOND_LEVEL < confidence).then_some(DEFAULT_SECOND_LEVEL));
    };
    let Some(v) = value.as_f64().filter(|v| v.is_finite()) else {
        return Err(format!(
            "letters_second_level must be a number such as 0.90, got {value}"
        ));
    };
    if v > 1.0 && v < 100.0 {
        return Err(format!(
            "letters_second_level {v} is not a confidence level: write it as a share, such as {}",
            v / 100.0
        ));
    }
    if v <= 0.5 || v >= 1.0 {
        return Err(format!(
            "letters_second_level {v} must be between 0.5 and 1, like the study's confidence level (e.g. 0.90)"
        ));
    }
    if v >= confidence {
        return Err(format!(
            "letters_second_level {v} must be below the study's confidence level {confidence}: lower-case letters mark differences significant at this weaker level but not at {confidence}"
        ));
    }
    Ok(Some(v))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(v: serde_json::Value) -> serde_json::Map<String, serde_json::Value> {
        let mut m = serde_json::Map::new();
        m.insert("letters_second_level".into(), v);
        m
    }

    #[test]
    fn the_second_level_is_below_the_confidence_or_refused() {
        let none = serde_json::Map::new();
        assert_eq!(second_level(&none, 0.95), Ok(Some(0.90)));
        assert_eq!(second_level(&none, 0.90), Ok(None));
        assert_eq!(second_level(&options(0.8.into()), 0.90), Ok(Some(0.8)));
        assert_eq!(second_level(&options(0.99.into()), 0.999), Ok(Some(0.99)));
        for (v, says) in [
            (
                serde_json::json!(0.95),
                "must be below the study's confidence level 0.95",
            ),
            (
                serde_json::json!(0.97),
                "must be below the study's confidence level 0.95",
            ),
            (serde_json::json!(90), "write it as a share, such as 0.9"),
            (serde_json::json!(0.5), "between 0.5 and 1"),
            (serde_json::json!(1.0), "between 0.5 and 1"),
            (serde_json::json!(-0.1), "between 0.5 and 1"),
            (serde_json::json!("0.9"), "must be a number"),
        ] {
            let err = second_level(&options(v.clone()), 0.95).unwrap_err();
            assert!(err.contains(says), "{v}: {err}");
        }
    }

    fn group(n: u64, mean: f64, se: f64, effective_n: f64) -> Option<Estimate> {
        Some(Estimate {
            n,
            sum_w: n as f64,
            effective_n,
            mean: Some(mean),
            se: Some(se),
            ci_low: None,
            ci_high: None,
            sums: None,
        })
    }

    #[test]
    fn letters_mark_the_groups_a_group_is_above() {
        let rule = Rule {
            confidence: 0.95,
            second: Some(0.90),
            low_base: 30,
            correction: Correction::None,
        };
        // A far above B (upper case), A a little above C (z ≈ 1.8: lower case), B
        // and C alike, D a low base, E an effective base under 2, F no score.
        let groups = [
            group(200, 70.0, 1.0, 150.0),
            group(200, 60.0, 1.0, 150.0),
            group(200, 67.5, 1.0, 150.0),
            group(10, 90.0, 1.0, 9.0),
            group(40, 90.0, 1.0, 1.5),
            None,
        ];
        let row = rule.row(&groups);
        assert_eq!(row.pairs.len(), 3);
        assert_eq!(
            row.excluded,
            [
                None,
                None,
                None,
                Some(Excluded::LowBase),
                Some(Excluded::EffectiveBase),
                Some(Excluded::NoScore)
            ]
        );
        assert_eq!(row.letters, ["Bc", "", "B", "", "", ""]);
        // Upper case only without a second level; Bonferroni over the three pairs
        // takes A > C out.
        let upper = Rule { second: None, ..rule }.row(&groups);
        assert_eq!(upper.letters, ["B", "", "B", "", "", ""]);
        let bonferroni = Rule {
            correction: Correction::Bonferroni,
            ..rule
        }
        .row(&groups);
        assert_eq!(bonferroni.letters, ["B", "", "B", "", "", ""]);
        assert!(row.letters.iter().chain(&upper.letters).all(|l| !l.contains('D')));
    }
}
