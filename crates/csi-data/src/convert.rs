//! Cell conversion and checking, shared by every file format: text cells in, typed
//! Arrow columns out, problems counted by kind and column.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::hash::BuildHasher;
use std::sync::Arc;

use arrow_array::builder::{Float64Builder, StringBuilder};
use arrow_array::{ArrayRef, RecordBatch};

use crate::{
    schema_of, ColumnKind, ColumnPlan, DataIssue, DataPolicy, DataReport, IssueKind, Policy, Position, FIRST_ROWS,
};
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

enum Cell {
    Num(Option<f64>),
    Text(Option<String>),
}

enum Builder {
    Num(Float64Builder),
    Text(StringBuilder),
}

/// Converts rows of text cells into record batches, checking every cell.
pub(crate) struct Converter<'a> {
    plan: &'a [ColumnPlan],
    policy: &'a DataPolicy,
    builders: Vec<Builder>,
    rows_in_batch: usize,
    issues: HashMap<(IssueKind, usize), DataIssue>,
    /// Hashes of respondent ids seen (8 bytes each, so 10 million ids ≈ 160 MB).
    seen_ids: HashSet<u64>,
    hasher: std::collections::hash_map::RandomState,
    known_codes: Vec<HashSet<String>>,
    row: Vec<Cell>,
    report: DataReport,
    position: Position,
    decimal_comma: bool,
}

impl<'a> Converter<'a> {
    pub fn new(plan: &'a [ColumnPlan], policy: &'a DataPolicy, position: Position, decimal_comma: bool) -> Self {
        let known_codes = plan
            .iter()
            .map(|c| match &c.kind {
                ColumnKind::Category { codes } => codes.iter().cloned().collect(),
                _ => HashSet::new(),
            })
            .collect();
        let mut me = Self {
            plan,
            policy,
            builders: Vec::new(),
            rows_in_batch: 0,
            issues: HashMap::new(),
            seen_ids: HashSet::new(),
            hasher: Default::default(),
            known_codes,
            row: Vec::with_capacity(plan.len()),
            report: DataReport::default(),
            position,
            decimal_comma,
        };
        me.builders = me.new_builders();
        me
    }

    fn new_builders(&self) -> Vec<Builder> {
        self.plan
            .iter()
            .map(|c| match c.kind {
                ColumnKind::Id | ColumnKind::Category { .. } => {
                    Builder::Text(StringBuilder::with_capacity(crate::BATCH_ROWS, crate::BATCH_ROWS * 4))
                }
                _ => Builder::Num(Float64Builder::with_capacity(crate::BATCH_ROWS)),
            })
            .collect()
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

    /// Converts one row; `cells[i]` is the value of plan column `i`, `line` its
    /// position in the file (a line for text formats, a row for binary ones).
    pub fn push_row(&mut self, cells: &[Value<'_>], line: u64) {
        self.report.rows_read += 1;
        let mut keep = true;
        let mut row = std::mem::take(&mut self.row);
        row.clear();
        for (i, value) in cells.iter().enumerate() {
            let cell = match &self.plan[i].kind {
                ColumnKind::Measure { min, max, missing } => match value.number(self.decimal_comma) {
                    Err(()) => {
                        self.issue(IssueKind::NonNumeric, i, line, &value.shown());
                        Cell::Num(None)
                    }
                    Ok(None) => Cell::Num(None),
                    Ok(Some(x)) if missing.contains(&x) => Cell::Num(None),
                    Ok(Some(x)) if x < *min || x > *max => {
                        self.issue(IssueKind::OutOfRange, i, line, &value.shown());
                        Cell::Num(None)
                    }
                    Ok(Some(x)) => Cell::Num(Some(x)),
                },
                ColumnKind::Weight => match value.number(self.decimal_comma) {
                    Ok(Some(w)) if w > 0.0 => Cell::Num(Some(w)),
                    _ => {
                        let shown = value.shown();
                        let shown = if shown.is_empty() { "(empty)" } else { &shown };
                        if self.issue(IssueKind::InvalidWeight, i, line, shown) {
                            keep = false;
                        }
                        Cell::Num(None)
                    }
                },
                ColumnKind::Id => {
                    let shown = value.shown();
                    if !shown.is_empty()
                        && !self.seen_ids.insert(self.hasher.hash_one(&shown))
                        && self.issue(IssueKind::DuplicateId, i, line, &shown)
                    {
                        keep = false;
                    }
                    Cell::Text((!shown.is_empty()).then(|| shown.into_owned()))
                }
                ColumnKind::Category { .. } => {
                    let shown = value.shown();
                    if shown.is_empty() {
                        Cell::Text(None)
                    } else {
                        let code = normalise_code(&shown);
                        if self.known_codes[i].contains(&code) {
                            Cell::Text(Some(code))
                        } else {
                            self.issue(IssueKind::UnknownSegment, i, line, &shown);
                            Cell::Text(None)
                        }
                    }
                }
                ColumnKind::Banded { bands } => match value.number(self.decimal_comma) {
                    Err(()) => {
                        self.issue(IssueKind::NonNumeric, i, line, &value.shown());
                        Cell::Num(None)
                    }
                    Ok(None) => Cell::Num(None),
                    Ok(Some(x)) => {
                        let inside = bands
                            .iter()
                            .any(|(lo, hi)| lo.is_none_or(|l| x >= l) && hi.is_none_or(|h| x <= h));
                        if inside {
                            Cell::Num(Some(x))
                        } else {
                            self.issue(IssueKind::UnknownSegment, i, line, &value.shown());
                            Cell::Num(None)
                        }
                    }
                },
            };
            row.push(cell);
        }
        if keep {
            for (b, cell) in self.builders.iter_mut().zip(row.drain(..)) {
                match (b, cell) {
                    (Builder::Num(b), Cell::Num(v)) => b.append_option(v),
                    (Builder::Text(b), Cell::Text(v)) => b.append_option(v),
                    _ => unreachable!("cell and builder kinds follow the plan"),
                }
            }
            self.rows_in_batch += 1;
            self.report.rows_used += 1;
        }
        self.row = row;
    }

    /// Whether a batch is full.
    pub fn batch_full(&self) -> bool {
        self.rows_in_batch >= crate::BATCH_ROWS
    }

    /// Takes the rows converted so far as a batch (None if there are none).
    pub fn take_batch(&mut self) -> Option<RecordBatch> {
        if self.rows_in_batch == 0 {
            return None;
        }
        let fresh = self.new_builders();
        let builders = std::mem::replace(&mut self.builders, fresh);
        let columns: Vec<ArrayRef> = builders
            .into_iter()
            .map(|b| match b {
                Builder::Num(mut b) => Arc::new(b.finish()) as ArrayRef,
                Builder::Text(mut b) => Arc::new(b.finish()) as ArrayRef,
            })
            .collect();
        self.rows_in_batch = 0;
        Some(RecordBatch::try_new(schema_of(self.plan), columns).expect("columns follow the plan's schema"))
    }

    /// The report, with issues sorted by column order then kind.
    pub fn finish(mut self) -> DataReport {
        let mut issues: Vec<((IssueKind, usize), DataIssue)> = self.issues.drain().collect();
        issues.sort_by_key(|((k, c), _)| (*c, *k));
        self.report.issues = issues.into_iter().map(|(_, i)| i).collect();
        self.report
    }
}

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
