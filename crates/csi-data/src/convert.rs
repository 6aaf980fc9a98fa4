//! Cell conversion and checking, shared by every file format: text cells in, typed
//! Arrow columns out, problems counted by kind and column.

use std::collections::{HashMap, HashSet};
use std::hash::BuildHasher;
use std::sync::Arc;

use arrow_array::builder::{Float64Builder, StringBuilder};
use arrow_array::{ArrayRef, RecordBatch};

use crate::{schema_of, ColumnKind, ColumnPlan, DataIssue, DataPolicy, DataReport, IssueKind, Policy, FIRST_ROWS};
use csi_study::normalise_code;

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
}

impl<'a> Converter<'a> {
    pub fn new(plan: &'a [ColumnPlan], policy: &'a DataPolicy) -> Self {
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
            is_error: policy == Policy::Error,
        });
        entry.count += 1;
        if entry.first.len() < FIRST_ROWS {
            entry.first.push((line, text.chars().take(40).collect()));
        }
        policy == Policy::Exclude
    }

    fn number(text: &str) -> Option<f64> {
        let t = text.trim();
        t.parse::<f64>()
            .ok()
            .or_else(|| t.replace(',', ".").parse::<f64>().ok())
            .filter(|x| x.is_finite())
    }

    /// Converts one row; `cells[i]` is the text of plan column `i`.
    pub fn push_row(&mut self, cells: &[&str], line: u64) {
        self.report.rows_read += 1;
        let mut keep = true;
        let mut row = std::mem::take(&mut self.row);
        row.clear();
        for (i, raw) in cells.iter().enumerate() {
            let text = raw.trim();
            let cell = match &self.plan[i].kind {
                ColumnKind::Measure { min, max, missing } => {
                    if text.is_empty() {
                        Cell::Num(None)
                    } else {
                        match Self::number(text) {
                            None => {
                                self.issue(IssueKind::NonNumeric, i, line, text);
                                Cell::Num(None)
                            }
                            Some(x) if missing.contains(&x) => Cell::Num(None),
                            Some(x) if x < *min || x > *max => {
                                self.issue(IssueKind::OutOfRange, i, line, text);
                                Cell::Num(None)
                            }
                            Some(x) => Cell::Num(Some(x)),
                        }
                    }
                }
                ColumnKind::Weight => match Self::number(text) {
                    Some(w) if w > 0.0 => Cell::Num(Some(w)),
                    _ => {
                        let shown = if text.is_empty() { "(empty)" } else { text };
                        if self.issue(IssueKind::InvalidWeight, i, line, shown) {
                            keep = false;
                        }
                        Cell::Num(None)
                    }
                },
                ColumnKind::Id => {
                    let hash = self.hasher.hash_one(text);
                    if !text.is_empty()
                        && !self.seen_ids.insert(hash)
                        && self.issue(IssueKind::DuplicateId, i, line, text)
                    {
                        keep = false;
                    }
                    Cell::Text((!text.is_empty()).then(|| text.to_string()))
                }
                ColumnKind::Category { .. } => {
                    if text.is_empty() {
                        Cell::Text(None)
                    } else {
                        let code = normalise_code(text);
                        if self.known_codes[i].contains(&code) {
                            Cell::Text(Some(code))
                        } else {
                            self.issue(IssueKind::UnknownSegment, i, line, text);
                            Cell::Text(None)
                        }
                    }
                }
                ColumnKind::Banded { bands } => {
                    if text.is_empty() {
                        Cell::Num(None)
                    } else {
                        match Self::number(text) {
                            None => {
                                self.issue(IssueKind::NonNumeric, i, line, text);
                                Cell::Num(None)
                            }
                            Some(x) => {
                                let inside = bands
                                    .iter()
                                    .any(|(lo, hi)| lo.is_none_or(|l| x >= l) && hi.is_none_or(|h| x <= h));
                                if inside {
                                    Cell::Num(Some(x))
                                } else {
                                    self.issue(IssueKind::UnknownSegment, i, line, text);
                                    Cell::Num(None)
                                }
                            }
                        }
                    }
                }
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
