//! Cell conversion and checking, shared by every file format: cells in (text or
//! typed values), checked numbers out, problems counted by kind and column.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::hash::BuildHasher;

use crate::{ColumnKind, ColumnPlan, DataIssue, DataPolicy, DataReport, IssueKind, Policy, Position, FIRST_ROWS};
use csi_study::normalise_code;

/// One cell as a file format delivers it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Value<'a> {
    /// No value (empty cell, null).
    Empty,
    /// Text, to be parsed where a number is expected.
    Text(&'a str),
    /// A number stored as such (binary formats).
    Number(f64),
}

impl<'a> Value<'a> {
    /// The value as a number: `Ok(None)` when empty, `Err` when it is not a number.
    /// With `decimal_comma` (semicolon or tab files) text may use a decimal comma
    /// (`7,5`); otherwise a comma makes it non-numeric, so a thousands separator
    /// (`1,250`) is reported instead of silently read as 1.25.
    fn number(&self, decimal_comma: bool) -> Result<Option<f64>, ()> {
        match self {
            Value::Empty => Ok(None),
            Value::Number(x) if x.is_finite() => Ok(Some(*x)),
            Value::Number(_) => Err(()),
            Value::Text(t) => {
                // Most answers are small integers, already without spaces.
                if let Some(x) = small_integer(t) {
                    return Ok(Some(x));
                }
                let t = t.trim();
                if t.is_empty() {
                    return Ok(None);
                }
                if let Some(x) = small_integer(t) {
                    return Ok(Some(x));
                }
                t.parse::<f64>()
                    .ok()
                    .or_else(|| {
                        let single_comma = t.matches(',').count() == 1 && !t.contains('.');
                        (decimal_comma && single_comma)
                            .then(|| t.replace(',', ".").parse::<f64>().ok())
                            .flatten()
                    })
                    .filter(|x| x.is_finite())
                    .map(Some)
                    .ok_or(())
            }
        }
    }

    /// The value as text, trimmed (numbers in their shortest form: `1`, `2.5`).
    fn shown(&self) -> Cow<'a, str> {
        match self {
            Value::Empty => Cow::Borrowed(""),
            Value::Text(t) => Cow::Borrowed(t.trim()),
            Value::Number(x) => Cow::Owned(format!("{x}")),
        }
    }
}

/// Per-cell checks under the data policy, shared by every reader: cells in, numbers
/// out (one slot per plan column; `NaN` where the value is missing), problems
/// counted by kind and column.
///
/// Slots: a measure, weight or banded segment holds its value; a categorical
/// segment the position of its code in [`ColumnKind::Category`]'s `codes`; an id
/// column `NaN` (ids are checked for duplicates, not passed on as numbers).
pub(crate) struct Checker<'a> {
    plan: &'a [ColumnPlan],
    policy: &'a DataPolicy,
    issues: HashMap<(IssueKind, usize), DataIssue>,
    ids: Ids,
    hasher: std::collections::hash_map::RandomState,
    known_codes: Vec<HashMap<String, usize>>,
    /// The codes that are numbers, by the bits of their value (a number `x` is
    /// written `format!("{x}")`, which is the normalised code of that value).
    known_numbers: Vec<HashMap<u64, usize>>,
    position: Position,
    decimal_comma: bool,
    rows_read: u64,
    rows_used: u64,
}

/// How respondent ids are checked for duplicates.
enum Ids {
    /// Against every id seen so far (hashes: 8 bytes each, so 10 million ids ≈ 160
    /// MB with the set's overhead); a duplicate is known at once, so a policy of
    /// `exclude` can drop it.
    Live(HashSet<u64>),
    /// Recorded for a later check in file order ([`Checker::absorb`]): chunks read
    /// in parallel do not know the ids of the chunks before them.
    Deferred(Vec<PendingId>, String),
}

/// An id whose duplicate check waits for the chunks before it.
struct PendingId {
    hash: u64,
    line: u64,
    /// Where its text (up to 40 characters) is in the chunk's text buffer.
    text: std::ops::Range<usize>,
}

/// A row's fate after its checks.
pub(crate) struct Checked<'v> {
    /// Whether the respondent is kept (a policy of `exclude` drops one with an
    /// invalid weight or a duplicate id).
    pub keep: bool,
    /// The id's text, trimmed (empty when there is none).
    pub id: Cow<'v, str>,
}

impl Checked<'_> {
    /// A row not yet checked: kept, without an id.
    pub fn new() -> Self {
        Checked {
            keep: true,
            id: Cow::Borrowed(""),
        }
    }
}

impl<'a> Checker<'a> {
    /// A checker for `plan`; `deferred_ids` when the ids are checked later, in file
    /// order (parallel chunks).
    pub fn new(
        plan: &'a [ColumnPlan],
        policy: &'a DataPolicy,
        position: Position,
        decimal_comma: bool,
        hasher: std::collections::hash_map::RandomState,
        deferred_ids: bool,
    ) -> Self {
        let known_codes = plan
            .iter()
            .map(|c| match &c.kind {
                ColumnKind::Category { codes } => codes.iter().enumerate().map(|(g, c)| (c.clone(), g)).collect(),
                _ => HashMap::new(),
            })
            .collect();
        let known_numbers = plan
            .iter()
            .map(|c| match &c.kind {
                ColumnKind::Category { codes } => codes
                    .iter()
                    .enumerate()
                    .filter_map(|(g, c)| {
                        let x: f64 = c.parse().ok().filter(|x: &f64| x.is_finite())?;
                        (format!("{x}") == *c).then_some((x.to_bits(), g))
                    })
                    .collect(),
                _ => HashMap::new(),
            })
            .collect();
        Self {
            plan,
            policy,
            issues: HashMap::new(),
            known_numbers,
            ids: if deferred_ids {
                Ids::Deferred(Vec::new(), String::new())
            } else {
                Ids::Live(HashSet::new())
            },
            hasher,
            known_codes,
            position,
            decimal_comma,
            rows_read: 0,
            rows_used: 0,
        }
    }

    /// Records a problem; returns whether the policy excludes (true) or errors.
    fn issue(&mut self, kind: IssueKind, col: usize, line: u64, text: &str) -> bool {
        let policy = kind.policy(self.policy);
        let entry = self.issues.entry((kind, col)).or_insert_with(|| DataIssue {
            kind,
            column: self.plan[col].name.clone(),
            count: 0,
            first: Vec::new(),
            position: self.position,
            is_error: policy == Policy::Error,
        });
        entry.count += 1;
        if entry.first.len() < FIRST_ROWS {
            entry.first.push((line, text.chars().take(40).collect()));
        }
        policy == Policy::Exclude
    }

    /// Checks one row: `cells[i]` is the value of plan column `i`, `line` its
    /// position in the file (a line for text formats, a row for binary ones). Fills
    /// `slots` (one per plan column) and says whether the respondent is kept.
    pub fn row<'v>(&mut self, cells: &[Value<'v>], line: u64, slots: &mut [f64]) -> Checked<'v> {
        let mut checked = Checked::new();
        for (i, value) in cells.iter().enumerate() {
            slots[i] = self.cell(i, value, line, &mut checked);
        }
        self.count_row(checked.keep);
        checked
    }

    /// Counts a row whose cells were checked one by one with [`Checker::cell`]
    /// (a binary format checks a batch column by column), kept or not.
    pub fn count_row(&mut self, keep: bool) {
        self.rows_read += 1;
        if keep {
            self.rows_used += 1;
        }
    }

    /// Checks `value`, the cell of plan column `i` of the row at `line`, and returns
    /// its slot (see [`Checker`]); clears `row.keep` when the policy drops the row
    /// for it, and sets `row.id` from an id column. The cells of a row may be checked
    /// in any order, the rows of a column in file order.
    pub fn cell<'v>(&mut self, i: usize, value: &Value<'v>, line: u64, row: &mut Checked<'v>) -> f64 {
        match &self.plan[i].kind {
            ColumnKind::Measure { min, max, missing } => match value.number(self.decimal_comma) {
                Err(()) => {
                    self.issue(IssueKind::NonNumeric, i, line, &value.shown());
                    f64::NAN
                }
                Ok(None) => f64::NAN,
                Ok(Some(x)) if missing.contains(&x) => f64::NAN,
                Ok(Some(x)) if x < *min || x > *max => {
                    self.issue(IssueKind::OutOfRange, i, line, &value.shown());
                    f64::NAN
                }
                Ok(Some(x)) => x,
            },
            ColumnKind::Weight => match value.number(self.decimal_comma) {
                Ok(Some(w)) if w > 0.0 => w,
                _ => {
                    let shown = value.shown();
                    let shown = if shown.is_empty() { "(empty)" } else { &shown };
                    if self.issue(IssueKind::InvalidWeight, i, line, shown) {
                        row.keep = false;
                    }
                    f64::NAN
                }
            },
            ColumnKind::Id => {
                let shown = value.shown();
                if !shown.is_empty() {
                    let hash = self.hasher.hash_one(&*shown);
                    match &mut self.ids {
                        Ids::Live(seen) => {
                            if !seen.insert(hash) && self.issue(IssueKind::DuplicateId, i, line, &shown) {
                                row.keep = false;
                            }
                        }
                        Ids::Deferred(pending, texts) => {
                            let start = texts.len();
                            texts.extend(shown.chars().take(40));
                            pending.push(PendingId {
                                hash,
                                line,
                                text: start..texts.len(),
                            });
                        }
                    }
                }
                row.id = shown;
                f64::NAN
            }
            ColumnKind::Category { .. } => {
                // A number stored as such (binary formats) is found by its value,
                // without formatting it; anything else by its text.
                let by_value = match value {
                    Value::Number(x) => self.known_numbers[i].get(&x.to_bits()).copied(),
                    _ => None,
                };
                let shown = if by_value.is_some() {
                    Cow::Borrowed("")
                } else {
                    value.shown()
                };
                if let Some(g) = by_value {
                    g as f64
                } else if shown.is_empty() {
                    f64::NAN
                } else {
                    // Codes are kept normalised, and normalising is idempotent:
                    // a cell written as a code is that code.
                    let known = &self.known_codes[i];
                    match known.get(&*shown).or_else(|| known.get(&normalise_code(&shown))) {
                        Some(&g) => g as f64,
                        None => {
                            self.issue(IssueKind::UnknownSegment, i, line, &shown);
                            f64::NAN
                        }
                    }
                }
            }
            ColumnKind::Banded { bands } => match value.number(self.decimal_comma) {
                Err(()) => {
                    self.issue(IssueKind::NonNumeric, i, line, &value.shown());
                    f64::NAN
                }
                Ok(None) => f64::NAN,
                Ok(Some(x)) => {
                    let inside = bands
                        .iter()
                        .any(|(lo, hi)| lo.is_none_or(|l| x >= l) && hi.is_none_or(|h| x <= h));
                    if inside {
                        x
                    } else {
                        self.issue(IssueKind::UnknownSegment, i, line, &value.shown());
                        f64::NAN
                    }
                }
            },
        }
    }

    /// Takes in the counts, problems and ids of `chunk`, the chunk that follows
    /// every chunk absorbed so far: its ids are checked against theirs, in file
    /// order, so duplicates are found and reported as a single pass would.
    pub fn absorb(&mut self, chunk: Checker<'_>) {
        self.rows_read += chunk.rows_read;
        self.rows_used += chunk.rows_used;
        let mut issues: Vec<((IssueKind, usize), DataIssue)> = chunk.issues.into_iter().collect();
        issues.sort_by_key(|(key, _)| *key);
        for (key, issue) in issues {
            match self.issues.entry(key) {
                std::collections::hash_map::Entry::Vacant(v) => {
                    v.insert(issue);
                }
                std::collections::hash_map::Entry::Occupied(mut o) => {
                    let o = o.get_mut();
                    o.count += issue.count;
                    let room = FIRST_ROWS.saturating_sub(o.first.len());
                    o.first.extend(issue.first.into_iter().take(room));
                }
            }
        }
        if let Ids::Deferred(pending, texts) = chunk.ids {
            let Some(col) = self.plan.iter().position(|c| c.kind == ColumnKind::Id) else {
                return;
            };
            for id in pending {
                let seen = match &mut self.ids {
                    Ids::Live(seen) => seen,
                    Ids::Deferred(..) => unreachable!("the ledger checks ids live"),
                };
                if !seen.insert(id.hash) {
                    self.issue(IssueKind::DuplicateId, col, id.line, &texts[id.text]);
                }
            }
        }
    }

    /// The report, with issues sorted by column order then kind.
    pub fn finish(self) -> DataReport {
        let mut issues: Vec<((IssueKind, usize), DataIssue)> = self.issues.into_iter().collect();
        issues.sort_by_key(|((k, c), _)| (*c, *k));
        DataReport {
            rows_read: self.rows_read,
            rows_used: self.rows_used,
            issues: issues.into_iter().map(|(_, i)| i).collect(),
        }
    }
}

/// What a reader hands each row to: the planned columns' cells and the row's
/// position in the file.
pub(crate) type RowSink<'s> = dyn FnMut(&[Value<'_>], u64) -> Result<(), crate::DataError> + 's;

/// A whole number of up to 15 digits with an optional minus sign (most survey
/// answers: `7`, `99`, `-1`), read without the general float parser; the same value
/// as `str::parse::<f64>` gives, since such integers are exact in an `f64`.
fn small_integer(t: &str) -> Option<f64> {
    let (negative, digits) = match t.as_bytes() {
        [b'-', rest @ ..] => (true, rest),
        all => (false, all),
    };
    if digits.is_empty() || digits.len() > 15 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let v = digits.iter().fold(0u64, |v, d| v * 10 + u64::from(d - b'0')) as f64;
    Some(if negative { -v } else { v })
}

#[cfg(test)]
mod tests {
    #[test]
    fn small_integers_read_as_the_float_parser_reads_them() {
        for t in ["0", "7", "99", "-1", "-0", "123456789012345", "007"] {
            let fast = super::small_integer(t).unwrap();
            let slow: f64 = t.parse().unwrap();
            assert_eq!(fast.to_bits(), slow.to_bits(), "{t}");
        }
        for t in ["", "-", "+5", "7.5", "1e3", "1,5", "1234567890123456", " 7", "x"] {
            assert_eq!(super::small_integer(t), None, "{t}");
        }
    }
}
