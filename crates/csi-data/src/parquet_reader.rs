//! Apache Parquet: only the planned columns are read (column projection), in
//! batches, and every value goes through the same checks as CSV cells. Numeric
//! columns of any integer or float width, booleans, text (`Utf8`, `LargeUtf8`,
//! `Utf8View`) and dictionary-encoded text are accepted.

use std::fs::File;
use std::path::Path;

use arrow_array::cast::AsArray;
use arrow_array::types::*;
use arrow_array::{Array, ArrayRef};
use arrow_schema::DataType;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ProjectionMask;

use crate::convert::Value;
use crate::{ColumnPlan, DataError};

fn malformed(path: &Path, message: impl Into<String>) -> DataError {
    DataError::Malformed {
        path: path.to_path_buf(),
        line: 0,
        message: message.into(),
    }
}

fn open(path: &Path) -> Result<ParquetRecordBatchReaderBuilder<File>, DataError> {
    let file = File::open(path).map_err(|source| DataError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(|e| malformed(path, format!("not a readable Parquet file: {e}")))
}

pub(crate) fn read_header(path: &Path) -> Result<Vec<String>, DataError> {
    Ok(open(path)?.schema().fields().iter().map(|f| f.name().clone()).collect())
}

/// Calls `f` with the row index and value of every cell of one column of a batch,
/// in row order, as the checks take them.
fn each_cell<'a>(array: &'a ArrayRef, name: &str, f: &mut dyn FnMut(usize, Value<'a>)) -> Result<(), String> {
    fn numbers<'a, T: ArrowPrimitiveType>(
        a: &'a dyn Array,
        to_f64: impl Fn(T::Native) -> f64,
        f: &mut dyn FnMut(usize, Value<'a>),
    ) {
        for (r, v) in a.as_primitive::<T>().iter().enumerate() {
            f(r, v.map_or(Value::Empty, |x| Value::Number(to_f64(x))));
        }
    }
    fn texts<'a>(it: impl Iterator<Item = Option<&'a str>>, f: &mut dyn FnMut(usize, Value<'a>)) {
        for (r, v) in it.enumerate() {
            f(r, v.map_or(Value::Empty, Value::Text));
        }
    }
    let a = array.as_ref();
    match a.data_type() {
        DataType::Null => (0..a.len()).for_each(|r| f(r, Value::Empty)),
        DataType::Boolean => {
            for (r, v) in a.as_boolean().iter().enumerate() {
                f(r, v.map_or(Value::Empty, |b| Value::Number(if b { 1.0 } else { 0.0 })));
            }
        }
        DataType::Int8 => numbers::<Int8Type>(a, f64::from, f),
        DataType::Int16 => numbers::<Int16Type>(a, f64::from, f),
        DataType::Int32 => numbers::<Int32Type>(a, f64::from, f),
        DataType::Int64 => numbers::<Int64Type>(a, |x| x as f64, f),
        DataType::UInt8 => numbers::<UInt8Type>(a, f64::from, f),
        DataType::UInt16 => numbers::<UInt16Type>(a, f64::from, f),
        DataType::UInt32 => numbers::<UInt32Type>(a, f64::from, f),
        DataType::UInt64 => numbers::<UInt64Type>(a, |x| x as f64, f),
        DataType::Float32 => numbers::<Float32Type>(a, f64::from, f),
        DataType::Float64 => numbers::<Float64Type>(a, |x| x, f),
        DataType::Utf8 => texts(a.as_string::<i32>().iter(), f),
        DataType::LargeUtf8 => texts(a.as_string::<i64>().iter(), f),
        DataType::Utf8View => texts(a.as_string_view().iter(), f),
        DataType::Dictionary(_, v) if matches!(**v, DataType::Utf8 | DataType::LargeUtf8) => {
            let dict = a.as_any_dictionary();
            let keys = dict.normalized_keys();
            let dict_values = dict.values();
            let words: Vec<Option<&str>> = match dict_values.data_type() {
                DataType::Utf8 => dict_values.as_string::<i32>().iter().collect(),
                _ => dict_values.as_string::<i64>().iter().collect(),
            };
            for (r, &key) in keys.iter().enumerate().take(a.len()) {
                let value = if a.is_null(r) {
                    Value::Empty
                } else {
                    words[key].map_or(Value::Empty, Value::Text)
                };
                f(r, value);
            }
        }
        other => {
            return Err(format!(
                "column `{name}` has type {other}, which csi cannot read as answers, weights, ids or segment codes; store it as numbers or text"
            ))
        }
    }
    Ok(())
}

/// A Parquet file's pieces when read in parallel: runs of consecutive row groups
/// of about `piece_bytes` (uncompressed, as the metadata says) or more, each with
/// the number of rows before it. They depend on the file and `piece_bytes` only.
pub(crate) fn pieces(path: &Path, piece_bytes: usize) -> Result<Vec<(Vec<usize>, u64)>, DataError> {
    let builder = open(path)?;
    let mut pieces: Vec<(Vec<usize>, u64)> = Vec::new();
    let (mut rows, mut bytes) = (0u64, usize::MAX);
    for (i, g) in builder.metadata().row_groups().iter().enumerate() {
        if bytes >= piece_bytes {
            pieces.push((Vec::new(), rows));
            bytes = 0;
        }
        pieces.last_mut().expect("a piece begun").0.push(i);
        bytes = bytes.saturating_add(g.total_byte_size().max(0) as usize);
        rows += g.num_rows().max(0) as u64;
    }
    Ok(pieces)
}

/// The uncompressed size of the file's largest row group, as its metadata says.
pub(crate) fn largest_row_group_bytes(path: &Path) -> Result<usize, DataError> {
    let builder = open(path)?;
    let groups = builder.metadata().row_groups();
    Ok(groups
        .iter()
        .map(|g| g.total_byte_size().max(0) as usize)
        .max()
        .unwrap_or(0))
}

/// One batch of a Parquet file: its planned columns (in plan order) and the
/// number of rows before it.
pub(crate) struct ParquetBatch {
    columns: Vec<ArrayRef>,
    rows_before: u64,
    rows: usize,
}

impl ParquetBatch {
    /// Rows in the batch.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// The 1-based row number in the file of the batch's row `r`.
    pub fn row_number(&self, r: usize) -> u64 {
        self.rows_before + r as u64 + 1
    }

    /// Calls `f` with the row index and value of every cell of plan column `j`
    /// (named `name`, in the file at `path`), in row order.
    pub fn each_cell<'a>(
        &'a self,
        j: usize,
        name: &str,
        path: &Path,
        f: &mut dyn FnMut(usize, Value<'a>),
    ) -> Result<(), DataError> {
        each_cell(&self.columns[j], name, f).map_err(|m| malformed(path, m))
    }
}

/// Calls `f` with every batch of the planned columns of some row groups, `(their
/// indices, the rows before them)`, or of the whole file, in file order, decoded
/// `batch_rows` rows at a time.
pub(crate) fn each_batch_of(
    path: &Path,
    plan: &[ColumnPlan],
    groups: Option<(&[usize], u64)>,
    batch_rows: usize,
    f: &mut dyn FnMut(&ParquetBatch) -> Result<(), DataError>,
) -> Result<(), DataError> {
    let builder = open(path)?;
    let schema = builder.schema().clone();
    let mut roots = Vec::with_capacity(plan.len());
    let mut missing = Vec::new();
    for c in plan {
        match schema.index_of(&c.name) {
            Ok(i) => roots.push(i),
            Err(_) => missing.push(c.name.clone()),
        }
    }
    if !missing.is_empty() {
        return Err(DataError::MissingColumns {
            path: path.to_path_buf(),
            columns: missing,
        });
    }
    let mask = ProjectionMask::roots(builder.parquet_schema(), roots.iter().copied());
    let mut builder = builder.with_projection(mask).with_batch_size(batch_rows);
    let mut rows_before = 0u64;
    if let Some((indices, before)) = groups {
        builder = builder.with_row_groups(indices.to_vec());
        rows_before = before;
    }
    let reader = builder
        .build()
        .map_err(|e| malformed(path, format!("cannot read Parquet data: {e}")))?;
    for batch in reader {
        let batch = batch.map_err(|e| malformed(path, format!("cannot read Parquet data: {e}")))?;
        let columns = plan
            .iter()
            .map(|c| batch.column_by_name(&c.name).expect("projected column present").clone())
            .collect();
        let piece = ParquetBatch {
            columns,
            rows_before,
            rows: batch.num_rows(),
        };
        f(&piece)?;
        rows_before += batch.num_rows() as u64;
    }
    Ok(())
}
