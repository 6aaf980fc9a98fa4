//! SPSS system files (`.sav`, and `.zsav` compressed with zlib) through the
//! `ambers` reader: the file's variables as columns (their long names), its cases
//! as respondents, in pieces of the study's columns only. Numbers are read as
//! numbers, strings as text (trailing blanks dropped, decoded from the file's
//! code page), dates as `YYYY-MM-DD` text (`YYYY-MM-DD hh:mm:ss` with a time),
//! times and durations as seconds. The system-missing value and each variable's
//! declared missing values (discrete values and ranges) are read as empty cells,
//! that is as missing answers. Positions are case numbers (the first case is 1).
//!
//! Memory: `.zsav` and uncompressed files are read block by block; a `.sav` file
//! compressed the usual way (SPSS's bytecode) is held compressed while it is read
//! (about a byte per small-integer answer), because the reader decodes it from
//! memory.

use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use ambers::{MissingSpec, SpssMetadata, Value as SpssValue};
use arrow57::array::{
    Array, Date32Array, DurationMicrosecondArray, Float64Array, StringArray, StringViewArray, TimestampMicrosecondArray,
};
use arrow57::datatypes::{DataType, TimeUnit};

use crate::table::{Cell, Rows, Table};
use crate::{ColumnPlan, DataError, DataFile, Dictionary, LabelledValue, MissingValue, Variable};

fn spss_error(path: &Path, e: impl std::fmt::Display) -> DataError {
    DataError::Workbook {
        path: path.to_path_buf(),
        message: format!("cannot read the SPSS file: {e}"),
    }
}

fn open(path: &Path, batch_rows: usize) -> Result<ambers::Scanner<BufReader<File>>, DataError> {
    let file = File::open(path).map_err(|source| DataError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    ambers::scan_sav_from_reader(BufReader::with_capacity(1 << 20, file), batch_rows).map_err(|e| spss_error(path, e))
}

fn metadata(path: &Path) -> Result<SpssMetadata, DataError> {
    Ok(open(path, 1)?.metadata().clone())
}

/// The file's dictionary: variables, labels, value labels, missing values.
pub(crate) fn dictionary(path: &Path) -> Result<Dictionary, DataError> {
    let meta = metadata(path)?;
    let nonempty = |s: Option<&String>| s.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
    let variables = meta
        .variable_names
        .iter()
        .map(|name| Variable {
            name: name.clone(),
            label: nonempty(meta.variable_labels.get(name)),
            is_text: meta.variable_formats.get(name).is_some_and(|f| f.starts_with('A')),
            value_labels: meta
                .variable_value_labels
                .get(name)
                .map(|labels| {
                    labels
                        .iter()
                        .map(|(v, l)| {
                            let value = match v {
                                SpssValue::Numeric(x) => LabelledValue::Number(*x),
                                SpssValue::String(s) => LabelledValue::Text(s.trim_end().to_string()),
                            };
                            (value, l.trim().to_string())
                        })
                        .collect()
                })
                .unwrap_or_default(),
            missing: meta
                .variable_missing_values
                .get(name)
                .map(|specs| {
                    specs
                        .iter()
                        .map(|s| match s {
                            MissingSpec::Value(v) => MissingValue::Number(*v),
                            MissingSpec::Range { lo, hi } => MissingValue::Range(*lo, *hi),
                            MissingSpec::StringValue(t) => MissingValue::Text(t.trim_end().to_string()),
                        })
                        .collect()
                })
                .unwrap_or_default(),
            measure: meta.variable_measures.get(name).and_then(|m| match m {
                ambers::Measure::Nominal => Some("nominal"),
                ambers::Measure::Ordinal => Some("ordinal"),
                ambers::Measure::Scale => Some("scale"),
                _ => None,
            }),
        })
        .collect();
    Ok(Dictionary {
        variables,
        weight: meta.weight_variable.clone(),
        label: nonempty(Some(&meta.file_label)),
    })
}

/// Whether `x` is one of `specs`' missing values.
fn is_declared_missing(specs: &[MissingSpec], x: f64) -> bool {
    specs.iter().any(|s| match s {
        MissingSpec::Value(v) => *v == x,
        MissingSpec::Range { lo, hi } => *lo <= x && x <= *hi,
        MissingSpec::StringValue(_) => false,
    })
}

fn is_declared_missing_text(specs: &[MissingSpec], t: &str) -> bool {
    specs
        .iter()
        .any(|s| matches!(s, MissingSpec::StringValue(v) if v.trim_end() == t))
}

/// The days since 1970-01-01 as a civil date (proleptic Gregorian).
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

fn date_text(days: i64) -> String {
    let (y, m, d) = civil(days);
    format!("{y:04}-{m:02}-{d:02}")
}

fn timestamp_text(micros: i64) -> String {
    let seconds = micros.div_euclid(1_000_000);
    let (days, of_day) = (seconds.div_euclid(86_400), seconds.rem_euclid(86_400));
    if of_day == 0 {
        return date_text(days);
    }
    let (h, m, s) = (of_day / 3600, of_day / 60 % 60, of_day % 60);
    format!("{} {h:02}:{m:02}:{s:02}", date_text(days))
}

/// The cells of one column of a batch, row by row.
fn column_cells(path: &Path, name: &str, column: &dyn Array, specs: &[MissingSpec]) -> Result<Vec<Cell>, DataError> {
    let n = column.len();
    let cells = match column.data_type() {
        DataType::Float64 => {
            let a = column
                .as_any()
                .downcast_ref::<Float64Array>()
                .expect("a Float64 column");
            (0..n)
                .map(|i| match a.is_valid(i).then(|| a.value(i)) {
                    Some(x) if !is_declared_missing(specs, x) => Cell::Number(x),
                    _ => Cell::Empty,
                })
                .collect()
        }
        DataType::Utf8View => {
            let a = column
                .as_any()
                .downcast_ref::<StringViewArray>()
                .expect("a string column");
            (0..n)
                .map(|i| text_cell(a.is_valid(i).then(|| a.value(i)), specs))
                .collect()
        }
        DataType::Utf8 => {
            let a = column.as_any().downcast_ref::<StringArray>().expect("a string column");
            (0..n)
                .map(|i| text_cell(a.is_valid(i).then(|| a.value(i)), specs))
                .collect()
        }
        DataType::Date32 => {
            let a = column.as_any().downcast_ref::<Date32Array>().expect("a date column");
            (0..n)
                .map(|i| match a.is_valid(i) {
                    true => Cell::Text(date_text(i64::from(a.value(i)))),
                    false => Cell::Empty,
                })
                .collect()
        }
        DataType::Timestamp(TimeUnit::Microsecond, _) => {
            let a = column
                .as_any()
                .downcast_ref::<TimestampMicrosecondArray>()
                .expect("a timestamp column");
            (0..n)
                .map(|i| match a.is_valid(i) {
                    true => Cell::Text(timestamp_text(a.value(i))),
                    false => Cell::Empty,
                })
                .collect()
        }
        DataType::Duration(TimeUnit::Microsecond) => {
            let a = column
                .as_any()
                .downcast_ref::<DurationMicrosecondArray>()
                .expect("a duration column");
            (0..n)
                .map(|i| match a.is_valid(i) {
                    true => Cell::Number(a.value(i) as f64 / 1e6),
                    false => Cell::Empty,
                })
                .collect()
        }
        other => {
            return Err(spss_error(
                path,
                format!("variable `{name}` has a type this reader does not know ({other})"),
            ));
        }
    };
    Ok(cells)
}

fn text_cell(text: Option<&str>, specs: &[MissingSpec]) -> Cell {
    match text.map(str::trim_end) {
        Some(t) if !t.is_empty() && !is_declared_missing_text(specs, t) => Cell::Text(t.to_string()),
        _ => Cell::Empty,
    }
}

/// Reads `file`'s cases, handing `send` the variables' names and then the cases,
/// of the `plan` columns, in pieces of about `chunk_bytes`; an error from `send`
/// stops the read.
pub(crate) fn read(
    file: &DataFile,
    plan: &[ColumnPlan],
    chunk_bytes: usize,
    send: &mut dyn FnMut(Table) -> Result<(), DataError>,
) -> Result<(), DataError> {
    let path = file.path.as_path();
    let mut scanner = open(path, crate::table::rows_per_piece(chunk_bytes, plan.len()))?;
    let meta = scanner.metadata().clone();
    let header = meta.variable_names.clone();
    let slots = crate::table::slots(path, &header, plan);
    send(Table::Header(header.clone()))?;
    let slots = slots?;
    // The columns read, each once, and for each the plan slots it fills.
    let mut read: Vec<(&str, &[usize])> = Vec::new();
    for (name, fills) in header.iter().zip(&slots) {
        if !fills.is_empty() {
            read.push((name, fills));
        }
    }
    if read.is_empty() {
        return Ok(());
    }
    let names: Vec<&str> = read.iter().map(|(n, _)| *n).collect();
    scanner.select(&names).map_err(|e| spss_error(path, e))?;
    let no_specs = Vec::new();
    let mut case = 0u64;
    while let Some(batch) = scanner.next_batch().map_err(|e| spss_error(path, e))? {
        let rows = batch.num_rows();
        let mut piece: Rows = (0..rows)
            .map(|i| (case + 1 + i as u64, vec![Cell::Empty; plan.len()]))
            .collect();
        for (c, (name, fills)) in read.iter().enumerate() {
            let specs = meta.variable_missing_values.get(*name).unwrap_or(&no_specs);
            let cells = column_cells(path, name, batch.column(c).as_ref(), specs)?;
            for (row, cell) in piece.iter_mut().zip(cells) {
                for &slot in *fills {
                    row.1[slot] = cell.clone();
                }
            }
        }
        case += rows as u64;
        send(Table::Rows(piece))?;
    }
    Ok(())
}

/// The variables' names, in order.
pub(crate) fn read_header(path: &Path) -> Result<Vec<String>, DataError> {
    Ok(metadata(path)?.variable_names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_count_days_from_1970() {
        assert_eq!(date_text(0), "1970-01-01");
        assert_eq!(date_text(-1), "1969-12-31");
        assert_eq!(date_text(19_997), "2024-10-01");
        assert_eq!(date_text(-141_428), "1582-10-14");
        assert_eq!(
            timestamp_text(19_997 * 86_400_000_000 + 45_296_000_000),
            "2024-10-01 12:34:56"
        );
    }

    #[test]
    fn declared_missing_values_are_values_and_ranges() {
        let specs = [MissingSpec::Value(99.0), MissingSpec::Range { lo: -9.0, hi: -1.0 }];
        assert!(is_declared_missing(&specs, 99.0));
        assert!(is_declared_missing(&specs, -9.0) && is_declared_missing(&specs, -1.0));
        assert!(!is_declared_missing(&specs, 0.0) && !is_declared_missing(&specs, 98.0));
        let text = [MissingSpec::StringValue("NA      ".into())];
        assert_eq!(text_cell(Some("NA"), &text), Cell::Empty);
        assert_eq!(text_cell(Some("OK  "), &text), Cell::Text("OK".into()));
    }
}
