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

/// The values of one column of a batch, as the converter takes them.
fn values<'a>(array: &'a ArrayRef, name: &str) -> Result<Vec<Value<'a>>, String> {
    fn numbers<'a, T: ArrowPrimitiveType>(a: &'a dyn Array, f: impl Fn(T::Native) -> f64) -> Vec<Value<'a>> {
        a.as_primitive::<T>()
            .iter()
            .map(|v| v.map_or(Value::Empty, |x| Value::Number(f(x))))
            .collect()
    }
    fn texts<'a>(it: impl Iterator<Item = Option<&'a str>>) -> Vec<Value<'a>> {
        it.map(|v| v.map_or(Value::Empty, Value::Text)).collect()
    }
    let a = array.as_ref();
    Ok(match a.data_type() {
        DataType::Null => vec![Value::Empty; a.len()],
        DataType::Boolean => a
            .as_boolean()
            .iter()
            .map(|v| v.map_or(Value::Empty, |b| Value::Number(if b { 1.0 } else { 0.0 })))
            .collect(),
        DataType::Int8 => numbers::<Int8Type>(a, f64::from),
        DataType::Int16 => numbers::<Int16Type>(a, f64::from),
        DataType::Int32 => numbers::<Int32Type>(a, f64::from),
        DataType::Int64 => numbers::<Int64Type>(a, |x| x as f64),
        DataType::UInt8 => numbers::<UInt8Type>(a, f64::from),
        DataType::UInt16 => numbers::<UInt16Type>(a, f64::from),
        DataType::UInt32 => numbers::<UInt32Type>(a, f64::from),
        DataType::UInt64 => numbers::<UInt64Type>(a, |x| x as f64),
        DataType::Float32 => numbers::<Float32Type>(a, f64::from),
        DataType::Float64 => numbers::<Float64Type>(a, |x| x),
        DataType::Utf8 => texts(a.as_string::<i32>().iter()),
        DataType::LargeUtf8 => texts(a.as_string::<i64>().iter()),
        DataType::Utf8View => texts(a.as_string_view().iter()),
        DataType::Dictionary(_, v) if matches!(**v, DataType::Utf8 | DataType::LargeUtf8) => {
            let dict = a.as_any_dictionary();
            let keys = dict.normalized_keys();
            let dict_values = dict.values();
            let words: Vec<Option<&str>> = match dict_values.data_type() {
                DataType::Utf8 => dict_values.as_string::<i32>().iter().collect(),
                _ => dict_values.as_string::<i64>().iter().collect(),
            };
            (0..a.len())
                .map(|i| {
                    if a.is_null(i) {
                        Value::Empty
                    } else {
                        words[keys[i]].map_or(Value::Empty, Value::Text)
                    }
                })
                .collect()
        }
        other => {
            return Err(format!(
                "column `{name}` has type {other}, which csi cannot read as answers, weights, ids or segment codes; store it as numbers or text"
            ))
        }
    })
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

/// Calls `f` with the planned columns' values of every row of some row groups,
/// `(their indices, the rows before them)`, or of the whole file, in file order,
/// with its 1-based row number, decoded `batch_rows` rows at a time.
pub(crate) fn each_row_of(
    path: &Path,
    plan: &[ColumnPlan],
    groups: Option<(&[usize], u64)>,
    batch_rows: usize,
    f: &mut crate::convert::RowSink<'_>,
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
    let mut row_number = 0u64;
    if let Some((indices, before)) = groups {
        builder = builder.with_row_groups(indices.to_vec());
        row_number = before;
    }
    let reader = builder
        .build()
        .map_err(|e| malformed(path, format!("cannot read Parquet data: {e}")))?;
    for batch in reader {
        let batch = batch.map_err(|e| malformed(path, format!("cannot read Parquet data: {e}")))?;
        let mut columns = Vec::with_capacity(plan.len());
        for c in plan {
            let array = batch.column_by_name(&c.name).expect("projected column present");
            columns.push(values(array, &c.name).map_err(|m| malformed(path, m))?);
        }
        let mut cells = Vec::with_capacity(plan.len());
        for row in 0..batch.num_rows() {
            row_number += 1;
            cells.clear();
            cells.extend(columns.iter().map(|col| col[row]));
            f(&cells, row_number)?;
        }
    }
    Ok(())
}
