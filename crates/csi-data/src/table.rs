//! Rows of typed cells, as the readers of files that are not text hand them on
//! (workbooks, SPSS files): a header, then pieces of rows holding only the
//! columns the study reads, in plan order. The rows are read on a thread of
//! their own and checked on every core (see `numbers`).

use std::path::Path;

use crate::convert::Value;
use crate::{ColumnPlan, DataError};

/// One cell, owned, as the checks take it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Cell {
    /// No value (a blank cell, a system-missing or declared missing value).
    Empty,
    /// A number.
    Number(f64),
    /// Text.
    Text(String),
}

impl Cell {
    /// The cell as the checks read it.
    pub fn value(&self) -> Value<'_> {
        match self {
            Cell::Empty => Value::Empty,
            Cell::Number(x) => Value::Number(*x),
            Cell::Text(t) => Value::Text(t),
        }
    }

    /// Whether the cell holds nothing (blank text included).
    pub fn is_empty(&self) -> bool {
        match self {
            Cell::Empty => true,
            Cell::Text(t) => t.trim().is_empty(),
            Cell::Number(_) => false,
        }
    }
}

/// Rows: each its position in the file (as [`crate::Position`] counts) and its
/// cells, one per plan column, in plan order.
pub(crate) type Rows = Vec<(u64, Vec<Cell>)>;

/// What a reader hands on, in order: the header, then pieces of rows.
pub(crate) enum Table {
    /// The file's column names, in order (unnamed columns empty).
    Header(Vec<String>),
    /// Data rows.
    Rows(Rows),
}

/// How many rows of `width` planned cells make a piece of about `chunk_bytes`
/// (at least 64).
pub(crate) fn rows_per_piece(chunk_bytes: usize, width: usize) -> usize {
    let row_bytes = 16 + 40 * width.max(1);
    (chunk_bytes / row_bytes).clamp(64, 1 << 20)
}

/// For each column of `header`, the plan slots it fills (the plan's columns
/// must all be there: [`DataError::MissingColumns`] names those that are not).
pub(crate) fn slots(path: &Path, header: &[String], plan: &[ColumnPlan]) -> Result<Vec<Vec<usize>>, DataError> {
    let index = crate::csv_reader::positions(path, header, plan)?;
    let mut slots = vec![Vec::new(); header.len()];
    for (slot, &col) in index.iter().enumerate() {
        slots[col].push(slot);
    }
    Ok(slots)
}
