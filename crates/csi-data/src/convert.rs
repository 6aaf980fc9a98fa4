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
    #[inline]
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
    /// The rows' parts, when the file holds several waves.
    parting: Option<&'a Parting>,
    /// Per part (one when the file is not parted): its problems, ids and counts.
    ledgers: Vec<Ledger>,
    /// The rows of a parted file that no wave takes, and some of their values.
    unclaimed: crate::Unclaimed,
    hasher: std::collections::hash_map::RandomState,
    known_codes: Vec<HashMap<String, usize>>,
    /// The codes that are numbers, by the bits of their value (a number `x` is
    /// written `format!("{x}")`, which is the normalised code of that value).
    known_numbers: Vec<HashMap<u64, usize>>,
    position: Position,
    decimal_comma: bool,
}

/// The rows of a file holding several waves, each in one part: which plan column
/// says a row's part, by which values, and which columns each part reads (a row
/// of one part is not checked on a column only another part reads, such as
/// another wave's weight).
#[derive(Debug)]
pub(crate) struct Parting {
    /// The plan column whose value says the row's part.
    pub column: usize,
    /// Per part, per plan column: whether the part reads it.
    pub reads: Vec<Vec<bool>>,
    /// A normalised value, to its part.
    pub by_code: HashMap<String, usize>,
    /// A value that is a number, by its bits, to its part.
    pub by_number: HashMap<u64, usize>,
}

/// Where a row of a file in parts goes.
enum Claim {
    /// To this part.
    Part(usize),
    /// To another wave of the file, not read now.
    Other,
    /// To no wave: its value (trimmed; empty for an empty cell).
    Nobody(String),
}

impl Parting {
    /// The parting of `plan` (its last column the parts' column) by `parts`.
    pub fn new(plan: &[ColumnPlan], parts: &crate::Parts) -> Self {
        let mut by_code = HashMap::new();
        let mut by_number = HashMap::new();
        let others = parts.values.len();
        let values = parts
            .values
            .iter()
            .enumerate()
            .chain(std::iter::once((others, &parts.others)));
        for (p, values) in values {
            for v in values {
                let code = normalise_code(v);
                if let Some(x) = code
                    .parse::<f64>()
                    .ok()
                    .filter(|x| x.is_finite() && format!("{x}") == code)
                {
                    by_number.entry(x.to_bits()).or_insert(p);
                }
                by_code.entry(code).or_insert(p);
            }
        }
        let reads = (0..parts.values.len())
            .map(|p| {
                (0..plan.len())
                    .map(|j| j + 1 < plan.len() && parts.reads.get(p).is_none_or(|r| r.get(j).copied().unwrap_or(true)))
                    .collect()
            })
            .collect();
        Self {
            column: plan.len() - 1,
            reads,
            by_code,
            by_number,
        }
    }

    /// Where a row whose parts' column holds `value` goes.
    fn claim(&self, value: &Value<'_>) -> Claim {
        let found = match value {
            Value::Number(x) => self.by_number.get(&x.to_bits()).copied(),
            Value::Empty => None,
            Value::Text(_) => {
                let shown = value.shown();
                self.by_code
                    .get(&*shown)
                    .or_else(|| self.by_code.get(&normalise_code(&shown)))
                    .copied()
            }
        };
        match found {
            Some(p) if p < self.reads.len() => Claim::Part(p),
            Some(_) => Claim::Other,
            None => Claim::Nobody(value.shown().into_owned()),
        }
    }
}

/// How many distinct values of rows no wave takes are kept for the report.
const UNCLAIMED_VALUES: usize = 5;

/// One part's checks: its problems, ids and counts.
struct Ledger {
    issues: HashMap<(IssueKind, usize), DataIssue>,
    ids: Ids,
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
    /// The part of its row.
    part: usize,
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
    /// The row's part (always the first when the file is not parted); `None`
    /// for a row of no part, which is not read at all.
    pub part: Option<usize>,
}

impl Checked<'_> {
    /// A row not yet checked: kept, without an id, in the first part.
    pub fn new() -> Self {
        Checked {
            keep: true,
            id: Cow::Borrowed(""),
            part: Some(0),
        }
    }
}

impl<'a> Checker<'a> {
    /// A checker for `plan`, its rows in parts when `parting` says so (its last
    /// column then the parts' column); `deferred_ids` when the ids are checked
    /// later, in file order (parallel chunks).
    pub fn new(
        plan: &'a [ColumnPlan],
        parting: Option<&'a Parting>,
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
        let parts = parting.map_or(1, |p| p.reads.len());
        let ledgers = (0..parts)
            .map(|_| Ledger {
                issues: HashMap::new(),
                ids: if deferred_ids {
                    Ids::Deferred(Vec::new(), String::new())
                } else {
                    Ids::Live(HashSet::new())
                },
                rows_read: 0,
                rows_used: 0,
            })
            .collect();
        Self {
            plan,
            policy,
            parting,
            ledgers,
            unclaimed: crate::Unclaimed::default(),
            known_numbers,
            hasher,
            known_codes,
            position,
            decimal_comma,
        }
    }

    /// How many parts the rows fall into (one when the file is not parted).
    pub fn parts(&self) -> usize {
        self.ledgers.len()
    }

    /// Sets the part of `row` from `value`, the cell of its parts' column (a
    /// row of no part is not kept; one that no wave of the file takes is counted
    /// as unclaimed). Does nothing when the file is not parted.
    pub fn assign(&mut self, value: &Value<'_>, row: &mut Checked<'_>) {
        let Some(parting) = self.parting else { return };
        row.part = match parting.claim(value) {
            Claim::Part(p) => Some(p),
            Claim::Other => None,
            Claim::Nobody(value) => {
                self.unclaimed.add(value, 1);
                None
            }
        };
        if row.part.is_none() {
            row.keep = false;
        }
    }

    /// Whether plan column `i` of `row` is checked: the row is in a part that
    /// reads the column.
    pub fn reads(&self, row: &Checked<'_>, i: usize) -> bool {
        match (self.parting, row.part) {
            (_, None) => false,
            (None, Some(_)) => true,
            (Some(parting), Some(p)) => parting.reads[p][i],
        }
    }

    /// Records a problem of part `part`; returns whether the policy excludes
    /// (true) or errors.
    fn issue(&mut self, part: usize, kind: IssueKind, col: usize, line: u64, text: &str) -> bool {
        let policy = kind.policy(self.policy);
        let entry = self.ledgers[part]
            .issues
            .entry((kind, col))
            .or_insert_with(|| DataIssue {
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
    /// A row of no part (a file holding several waves) is neither checked nor
    /// counted, and not kept.
    pub fn row<'v>(&mut self, cells: &[Value<'v>], line: u64, slots: &mut [f64]) -> Checked<'v> {
        let mut checked = Checked::new();
        match self.parting {
            None => {
                for (i, value) in cells.iter().enumerate() {
                    slots[i] = self.cell(i, value, line, &mut checked);
                }
            }
            Some(parting) => {
                self.assign(&cells[parting.column], &mut checked);
                for (i, value) in cells.iter().enumerate() {
                    slots[i] = if self.reads(&checked, i) {
                        self.cell(i, value, line, &mut checked)
                    } else {
                        f64::NAN
                    };
                }
            }
        }
        self.count_row(&checked);
        checked
    }

    /// Counts a row whose cells were checked one by one with [`Checker::cell`]
    /// (a binary format checks a batch column by column), kept or not, in its
    /// part (a row of no part is not counted).
    pub fn count_row(&mut self, row: &Checked<'_>) {
        if let Some(p) = row.part {
            let ledger = &mut self.ledgers[p];
            ledger.rows_read += 1;
            if row.keep {
                ledger.rows_used += 1;
            }
        }
    }

    /// Checks `value`, the cell of plan column `i` of the row at `line`, and returns
    /// its slot (see [`Checker`]); clears `row.keep` when the policy drops the row
    /// for it, and sets `row.id` from an id column. The cells of a row may be checked
    /// in any order, the rows of a column in file order.
    pub fn cell<'v>(&mut self, i: usize, value: &Value<'v>, line: u64, row: &mut Checked<'v>) -> f64 {
        let part = row.part.unwrap_or(0);
        match &self.plan[i].kind {
            ColumnKind::Measure { min, max, missing } => match value.number(self.decimal_comma) {
                Err(()) => {
                    self.issue(part, IssueKind::NonNumeric, i, line, &value.shown());
                    f64::NAN
                }
                Ok(None) => f64::NAN,
                Ok(Some(x)) if missing.contains(&x) => f64::NAN,
                Ok(Some(x)) if x < *min || x > *max => {
                    self.issue(part, IssueKind::OutOfRange, i, line, &value.shown());
                    f64::NAN
                }
                Ok(Some(x)) => x,
            },
            ColumnKind::Weight => match value.number(self.decimal_comma) {
                Ok(Some(w)) if w > 0.0 => w,
                _ => {
                    let shown = value.shown();
                    let shown = if shown.is_empty() { "(empty)" } else { &shown };
                    if self.issue(part, IssueKind::InvalidWeight, i, line, shown) {
                        row.keep = false;
                    }
                    f64::NAN
                }
            },
            ColumnKind::Id => {
                let shown = value.shown();
                if !shown.is_empty() {
                    let hash = self.hasher.hash_one(&*shown);
                    match &mut self.ledgers[part].ids {
                        Ids::Live(seen) => {
                            if !seen.insert(hash) && self.issue(part, IssueKind::DuplicateId, i, line, &shown) {
                                row.keep = false;
                            }
                        }
                        Ids::Deferred(pending, texts) => {
                            let start = texts.len();
                            texts.extend(shown.chars().take(40));
                            pending.push(PendingId {
                                part,
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
                            self.issue(part, IssueKind::UnknownSegment, i, line, &shown);
                            f64::NAN
                        }
                    }
                }
            }
            ColumnKind::Banded { bands } => match value.number(self.decimal_comma) {
                Err(()) => {
                    self.issue(part, IssueKind::NonNumeric, i, line, &value.shown());
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
                        self.issue(part, IssueKind::UnknownSegment, i, line, &value.shown());
                        f64::NAN
                    }
                }
            },
        }
    }

    /// Takes in the counts, problems and ids of `chunk`, the chunk that follows
    /// every chunk absorbed so far, part by part: its ids are checked against
    /// theirs, in file order, so duplicates are found and reported as a single
    /// pass would (within a part: one wave's ids are not another's).
    pub fn absorb(&mut self, chunk: Checker<'_>) {
        let id_column = self.plan.iter().position(|c| c.kind == ColumnKind::Id);
        self.unclaimed.absorb(chunk.unclaimed);
        for (part, theirs) in chunk.ledgers.into_iter().enumerate() {
            let ours = &mut self.ledgers[part];
            ours.rows_read += theirs.rows_read;
            ours.rows_used += theirs.rows_used;
            let mut issues: Vec<((IssueKind, usize), DataIssue)> = theirs.issues.into_iter().collect();
            issues.sort_by_key(|(key, _)| *key);
            for (key, issue) in issues {
                match ours.issues.entry(key) {
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
            let (Ids::Deferred(pending, texts), Some(col)) = (theirs.ids, id_column) else {
                continue;
            };
            for id in pending {
                let seen = match &mut self.ledgers[id.part].ids {
                    Ids::Live(seen) => seen,
                    Ids::Deferred(..) => unreachable!("the ledger checks ids live"),
                };
                if !seen.insert(id.hash) {
                    self.issue(id.part, IssueKind::DuplicateId, col, id.line, &texts[id.text]);
                }
            }
        }
    }

    /// The report of each part, with issues sorted by column order then kind,
    /// and the rows no wave takes.
    pub fn finish(self) -> crate::PartsReport {
        let parts = self
            .ledgers
            .into_iter()
            .map(|ledger| {
                let mut issues: Vec<((IssueKind, usize), DataIssue)> = ledger.issues.into_iter().collect();
                issues.sort_by_key(|((k, c), _)| (*c, *k));
                DataReport {
                    rows_read: ledger.rows_read,
                    rows_used: ledger.rows_used,
                    issues: issues.into_iter().map(|(_, i)| i).collect(),
                }
            })
            .collect();
        crate::PartsReport {
            parts,
            unclaimed: self.unclaimed,
        }
    }
}

impl crate::Unclaimed {
    /// Counts `rows` rows whose wave column holds `value`.
    fn add(&mut self, value: String, rows: u64) {
        self.rows += rows;
        if let Some(seen) = self.values.iter_mut().find(|(v, _)| *v == value) {
            seen.1 += rows;
        } else if self.values.len() < UNCLAIMED_VALUES {
            self.values.push((value, rows));
        }
    }

    /// Takes in the unclaimed rows of the chunk after those absorbed so far.
    fn absorb(&mut self, chunk: crate::Unclaimed) {
        let listed: u64 = chunk.values.iter().map(|(_, n)| n).sum();
        for (value, rows) in chunk.values {
            self.add(value, rows);
        }
        self.rows += chunk.rows - listed;
    }
}

/// What a reader hands each row to: the planned columns' cells and the row's
/// position in the file.
pub(crate) type RowSink<'s> = dyn FnMut(&[Value<'_>], u64) -> Result<(), crate::DataError> + 's;

/// A whole number of up to 15 digits with an optional minus sign (most survey
/// answers: `7`, `99`, `-1`), read without the general float parser; the same value
/// as `str::parse::<f64>` gives, since such integers are exact in an `f64`.
#[inline]
fn small_integer(t: &str) -> Option<f64> {
    // One digit (most answers on a scale) without the loop.
    if let [d @ b'0'..=b'9'] = t.as_bytes() {
        return Some(f64::from(d - b'0'));
    }
    let (negative, digits) = match t.as_bytes() {
        [b'-', rest @ ..] => (true, rest),
        all => (false, all),
    };
    if digits.is_empty() || digits.len() > 15 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    // Up to 15 digits fit an i64, whose conversion to f64 is one instruction.
    let v = digits.iter().fold(0i64, |v, d| v * 10 + i64::from(d - b'0')) as f64;
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
