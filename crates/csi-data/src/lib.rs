//! # csi-data: survey data into Arrow record batches
//!
//! A wave's data file is read **once, as a stream**: rows are parsed, checked and
//! converted into Arrow [`RecordBatch`]es of bounded size that the engine consumes
//! one at a time, so memory stays bounded whatever the number of respondents.
//!
//! The caller says which columns it needs and what they are ([`ColumnPlan`]): a
//! scored measure with its scale and missing codes, a weight, a respondent id, or a
//! segment column. On the way in:
//!
//! - missing codes (99, −99, 0 "don't know") and empty cells become nulls;
//! - non-numeric cells, values outside the declared scale, invalid weights (zero,
//!   negative, missing), duplicate respondent ids and unknown segment codes are
//!   counted with the first offending rows, and handled by the study's
//!   [`DataPolicy`]: `error` (the default) fails the wave after the whole file has
//!   been scanned, so every problem is reported at once; `exclude` turns the value
//!   into a null (or drops the respondent, for weights and ids) and reports it as a
//!   warning;
//! - structural problems (ragged rows, text that is not UTF-8, a missing or
//!   duplicated header) stop the read at once with the line and column.
//!
//! Formats, chosen by file extension: CSV (UTF-8 with or without BOM, or the
//! encoding the study declares, such as GB18030 or UTF-16, decoded while
//! streaming; comma,
//! semicolon or tab, detected from the header; quoted fields) and Apache Parquet
//! (numeric, text and dictionary-encoded text columns; snappy, zstd and lz4
//! compression), read column-projected in batches; Excel and OpenDocument
//! workbooks (a named sheet, else the first; see `excel_reader`). All feed the
//! same checks.
#![deny(missing_docs)]

mod convert;
mod csv_reader;
mod excel_reader;
mod numbers;
mod parquet_reader;
#[cfg(feature = "spss")]
mod spss_reader;
mod table;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::{DataType, Field, Schema};
use serde::{Deserialize, Serialize};

pub use csi_study::{DataPolicy, Policy};
pub use excel_reader::MAX_ODS_CONTENT_BYTES;
pub use numbers::{NumericRows, Parallelism};

/// How many offending rows are kept per problem for the report.
pub const FIRST_ROWS: usize = 5;

/// What a planned column holds and how its cells are checked.
#[derive(Debug, Clone, PartialEq)]
pub enum ColumnKind {
    /// A scored answer: numeric, on `[min, max]`, with missing codes.
    Measure {
        /// Lowest valid value.
        min: f64,
        /// Highest valid value.
        max: f64,
        /// Codes that mean "no answer" / "don't know".
        missing: Vec<f64>,
    },
    /// The respondent's sampling weight: numeric, finite and positive.
    Weight,
    /// The respondent id: text, unique within the file.
    Id,
    /// A categorical segment code; `codes` are the known (normalised) codes.
    Category {
        /// Known codes, normalised with [`csi_study::normalise_code`].
        codes: Vec<String>,
    },
    /// A numeric segment column cut into bands later; `bands` are (min, max)
    /// ranges used to flag values that fall into none.
    Banded {
        /// Inclusive (min, max) bounds of each band, open where `None`.
        bands: Vec<(Option<f64>, Option<f64>)>,
    },
}

impl ColumnKind {
    /// The Arrow type of the column in the produced batches.
    pub fn data_type(&self) -> DataType {
        match self {
            ColumnKind::Id | ColumnKind::Category { .. } => DataType::Utf8,
            _ => DataType::Float64,
        }
    }
}

/// A column to read.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnPlan {
    /// Column name in the file's header.
    pub name: String,
    /// What it holds.
    pub kind: ColumnKind,
}

/// The kinds of data problems counted while reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum IssueKind {
    /// A cell that is not a number in a numeric column.
    NonNumeric,
    /// A value outside the declared scale that is not a missing code.
    OutOfRange,
    /// A weight that is zero, negative, missing or not a number.
    InvalidWeight,
    /// A respondent id seen before.
    DuplicateId,
    /// A segment code with no label, or a value in no band.
    UnknownSegment,
}

impl IssueKind {
    /// The policy that governs this kind of problem.
    pub fn policy(self, p: &DataPolicy) -> Policy {
        match self {
            IssueKind::NonNumeric => p.non_numeric,
            IssueKind::OutOfRange => p.out_of_range,
            IssueKind::InvalidWeight => p.invalid_weight,
            IssueKind::DuplicateId => p.duplicate_id,
            IssueKind::UnknownSegment => p.unknown_segment,
        }
    }

    /// The `data_policy` key for this kind.
    pub fn policy_key(self) -> &'static str {
        match self {
            IssueKind::NonNumeric => "non_numeric",
            IssueKind::OutOfRange => "out_of_range",
            IssueKind::InvalidWeight => "invalid_weight",
            IssueKind::DuplicateId => "duplicate_id",
            IssueKind::UnknownSegment => "unknown_segment",
        }
    }

    fn describe(self) -> &'static str {
        match self {
            IssueKind::NonNumeric => "non-numeric value(s)",
            IssueKind::OutOfRange => "value(s) outside the declared scale",
            IssueKind::InvalidWeight => "invalid weight(s) (zero, negative, missing or not a number)",
            IssueKind::DuplicateId => "duplicate respondent id(s)",
            IssueKind::UnknownSegment => "segment value(s) with no label in the study",
        }
    }

    fn fix(self) -> &'static str {
        match self {
            IssueKind::NonNumeric => "clean the cells, or declare the code as a missing code in the item's scale",
            IssueKind::OutOfRange => "check the item's `scale` (min/max) and `missing` codes in study.yaml",
            IssueKind::InvalidWeight => {
                "every respondent needs a positive weight; fix the weighting, or drop those respondents"
            }
            IssueKind::DuplicateId => "remove the duplicated interviews from the file",
            IssueKind::UnknownSegment => "add the code to the segment's `values` (or widen its `bands`) in study.yaml",
        }
    }
}

/// What the positions in a [`DataIssue`] count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Position {
    /// Lines of a text file (the header is line 1).
    Line,
    /// Data rows of a binary file (the first respondent is row 1).
    Row,
    /// Rows of a worksheet as the spreadsheet numbers them (the header's row too).
    SheetRow,
    /// Cases of an SPSS file (the first case is 1).
    Case,
}

/// One kind of problem in one column: how often, and where first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataIssue {
    /// What is wrong.
    pub kind: IssueKind,
    /// The column.
    pub column: String,
    /// How many cells.
    pub count: u64,
    /// The first offending cells as (position in the file, cell text).
    pub first: Vec<(u64, String)>,
    /// Whether positions are lines or rows.
    pub position: Position,
    /// Whether the policy made this an error (else it was excluded, a warning).
    pub is_error: bool,
}

impl std::fmt::Display for DataIssue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let word = match self.position {
            Position::Line => "line",
            Position::Row | Position::SheetRow => "row",
            Position::Case => "case",
        };
        let rows: Vec<String> = self.first.iter().map(|(l, v)| format!("{word} {l}: `{v}`")).collect();
        write!(
            f,
            "column `{}`: {} {}, first at {}",
            self.column,
            self.count,
            self.kind.describe(),
            rows.join(", ")
        )?;
        if self.is_error {
            write!(
                f,
                "\n    help: {}; or set `data_policy: {{{}: exclude}}` to treat them as missing and continue",
                self.kind.fix(),
                self.kind.policy_key()
            )
        } else {
            write!(f, " (excluded by `data_policy.{}: exclude`)", self.kind.policy_key())
        }
    }
}

/// What happened while reading a file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DataReport {
    /// Data rows in the file.
    pub rows_read: u64,
    /// Respondents passed on (rows read minus rows dropped).
    pub rows_used: u64,
    /// Problems found, errors and excluded ones.
    pub issues: Vec<DataIssue>,
}

impl DataReport {
    /// Whether any problem is an error under the policy.
    pub fn has_errors(&self) -> bool {
        self.issues.iter().any(|i| i.is_error)
    }
}

/// Why a data file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// The file could not be opened or read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The file type is not supported.
    #[error("{path}: unsupported data format `{extension}`; supported: .csv, .tsv, .txt, .parquet, .xlsx, .xlsm, .xlsb, .xls, .ods, .sav, .zsav")]
    UnsupportedFormat {
        /// The file.
        path: PathBuf,
        /// Its extension.
        extension: String,
    },
    /// The file is structurally broken (ragged row, not UTF-8, bad header).
    #[error("{path}:{line}: {message}")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: u64,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// A workbook or SPSS file that cannot be read as a whole (no sheet, too
    /// large, broken).
    #[error("{path}: {message}")]
    Workbook {
        /// The file.
        path: PathBuf,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// The workbook has no sheet of the name the wave gives.
    #[error("{path}: the workbook has no sheet `{sheet}`; its sheets: {}; set the wave's `sheet:` to one of them", .sheets.iter().map(|s| format!("`{s}`")).collect::<Vec<_>>().join(", "))]
    NoSheet {
        /// The file.
        path: PathBuf,
        /// The sheet asked for.
        sheet: String,
        /// The workbook's sheets.
        sheets: Vec<String>,
    },
    /// Columns the study needs are not in the file.
    #[error("{path}: missing column(s) {}", .columns.join(", "))]
    MissingColumns {
        /// The file.
        path: PathBuf,
        /// The columns not found.
        columns: Vec<String>,
    },
    /// Bad values whose policy is `error`; every problem of the file is listed.
    #[error("{path}: {} data problem(s):\n{}", .report.issues.iter().filter(|i| i.is_error).count(), .report.issues.iter().map(|i| format!("  - {i}")).collect::<Vec<_>>().join("\n"))]
    Invalid {
        /// The file.
        path: PathBuf,
        /// The full report, errors and warnings.
        report: Box<DataReport>,
    },
    /// The consumer of the batches failed.
    #[error("{0}")]
    Consumer(String),
}

/// A data file and how to read it.
#[derive(Debug, Clone, PartialEq)]
pub struct DataFile {
    /// The file; its extension says its format.
    pub path: PathBuf,
    /// The text encoding of a CSV file, `None` for UTF-8. A byte-order mark in
    /// the file (UTF-8, UTF-16LE, UTF-16BE) wins over either.
    pub encoding: Option<&'static encoding_rs::Encoding>,
    /// The sheet of a workbook, `None` for its first.
    pub sheet: Option<String>,
    /// When the file holds several waves: which rows are read, and into which
    /// part; `None` reads every row.
    pub parts: Option<Parts>,
}

/// The rows of a file holding several waves that one read keeps, each in the part
/// (wave) the value in one column says. A row whose value selects no part (or
/// that has none) is not read: not checked, not counted, not passed on.
#[derive(Debug, Clone, PartialEq)]
pub struct Parts {
    /// The column whose value says a row's part (for example `wave`).
    pub column: String,
    /// Per part, the values that select it (compared as segment codes are: `2002`
    /// and `2002.0` are one value). A value selects the first part that lists it.
    pub values: Vec<Vec<String>>,
    /// Per part, per plan column, whether the part reads the column (empty, or
    /// shorter than the plan: the rest are read). A row's cells in columns its
    /// part does not read are neither checked nor passed on (`NaN`).
    pub reads: Vec<Vec<bool>>,
    /// The values of the file's other waves, not read now: their rows are
    /// skipped like those of no wave, but not counted as [`Unclaimed`].
    pub others: Vec<String>,
}

/// What a read of a file in [`Parts`] found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PartsReport {
    /// The report of each part, in the order of [`Parts::values`] (one for a file
    /// read whole).
    pub parts: Vec<DataReport>,
    /// The rows that no wave of the file takes.
    pub unclaimed: Unclaimed,
}

/// The rows of a file holding several waves that no wave takes (a wave not yet
/// declared, a value written otherwise, an empty cell).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Unclaimed {
    /// How many.
    pub rows: u64,
    /// The first few of their values in the file (trimmed; empty for an empty
    /// cell), each with how many of the rows hold it.
    pub values: Vec<(String, u64)>,
}

impl DataFile {
    /// `path`, its text (if any) in UTF-8.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            encoding: None,
            sheet: None,
            parts: None,
        }
    }

    /// The same file with its text in the encoding `label` names (a WHATWG label
    /// such as `gb18030`, `gbk`, `big5`, `utf-16le`), or `None` if no encoding has
    /// that label.
    pub fn with_encoding(self, label: &str) -> Option<Self> {
        let encoding = encoding_rs::Encoding::for_label_no_replacement(label.trim().as_bytes())?;
        Some(Self {
            encoding: Some(encoding),
            ..self
        })
    }

    /// A wave's data file, read as the study says (its encoding was checked when
    /// the study was loaded): its rows only, when the file holds several waves.
    pub fn of_wave(wave: &csi_study::Wave) -> Self {
        let file = Self {
            sheet: wave.sheet.clone(),
            parts: wave.filter.as_ref().map(|f| Parts {
                column: f.column.name.clone(),
                values: vec![f.values.clone()],
                reads: Vec::new(),
                others: Vec::new(),
            }),
            ..Self::new(&wave.data)
        };
        match wave.encoding.as_deref() {
            Some(label) => file.clone().with_encoding(label).unwrap_or(file),
            None => file,
        }
    }
}

/// Reads the header (column names) of a data file.
pub fn read_header(file: &DataFile) -> Result<Vec<String>, DataError> {
    match format_of(&file.path)? {
        Format::Csv => csv_reader::read_header(file),
        Format::Parquet => parquet_reader::read_header(&file.path),
        Format::Excel => excel_reader::read_header(file),
        Format::Spss => spss::read_header(&file.path),
    }
}

/// What a data file says of its variables besides their values: an SPSS file's
/// dictionary.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Dictionary {
    /// The variables, in file order.
    pub variables: Vec<Variable>,
    /// The variable the file names as its case weight, if any.
    pub weight: Option<String>,
    /// The file's label, if any.
    pub label: Option<String>,
}

/// One variable of a [`Dictionary`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Variable {
    /// The column name (SPSS's long name).
    pub name: String,
    /// Its label (the question text), if any.
    pub label: Option<String>,
    /// Whether it holds text (else numbers).
    pub is_text: bool,
    /// Labels of its values, in file order.
    pub value_labels: Vec<(LabelledValue, String)>,
    /// Its declared missing values.
    pub missing: Vec<MissingValue>,
    /// Its measurement level as the file declares it: `nominal`, `ordinal`,
    /// `scale`, or `None` when unknown.
    pub measure: Option<&'static str>,
}

/// A value that has a label.
#[derive(Debug, Clone, PartialEq)]
pub enum LabelledValue {
    /// A number.
    Number(f64),
    /// A text (trailing blanks dropped).
    Text(String),
}

/// A declared missing value.
#[derive(Debug, Clone, PartialEq)]
pub enum MissingValue {
    /// One number.
    Number(f64),
    /// Every number from the first to the second, both included (SPSS's LOWEST
    /// and HIGHEST as the largest finite numbers).
    Range(f64, f64),
    /// One text.
    Text(String),
}

/// The dictionary of a data file that has one (SPSS), else `None`.
pub fn dictionary(file: &DataFile) -> Result<Option<Dictionary>, DataError> {
    match format_of(&file.path)? {
        Format::Spss => spss::dictionary(&file.path).map(Some),
        _ => Ok(None),
    }
}

/// SPSS files, when csi is built with them (the default `spss` feature).
mod spss {
    #[cfg(not(feature = "spss"))]
    use crate::table::Table;
    #[cfg(not(feature = "spss"))]
    use crate::{ColumnPlan, DataError, DataFile, Dictionary};
    #[cfg(not(feature = "spss"))]
    use std::path::Path;

    #[cfg(feature = "spss")]
    pub(crate) use crate::spss_reader::{dictionary, read, read_header};

    #[cfg(not(feature = "spss"))]
    fn not_built(path: &Path) -> DataError {
        DataError::Workbook {
            path: path.to_path_buf(),
            message: "this csi was built without SPSS files (cargo feature `spss`); build it with the default features, or save the data as CSV (UTF-8) or Parquet".into(),
        }
    }

    #[cfg(not(feature = "spss"))]
    pub(crate) fn read(
        file: &DataFile,
        _: &[ColumnPlan],
        _: usize,
        _: &mut dyn FnMut(Table) -> Result<(), DataError>,
    ) -> Result<(), DataError> {
        Err(not_built(&file.path))
    }

    #[cfg(not(feature = "spss"))]
    pub(crate) fn read_header(path: &Path) -> Result<Vec<String>, DataError> {
        Err(not_built(path))
    }

    #[cfg(not(feature = "spss"))]
    pub(crate) fn dictionary(path: &Path) -> Result<Dictionary, DataError> {
        Err(not_built(path))
    }
}

/// The sheets of a workbook, in order, or `None` for a file of another format.
pub fn sheets(file: &DataFile) -> Result<Option<Vec<String>>, DataError> {
    match format_of(&file.path)? {
        Format::Excel => excel_reader::sheet_names(&file.path).map(Some),
        _ => Ok(None),
    }
}

/// Streams `path` as record batches holding the `plan` columns (in plan order,
/// named as in the plan), calling `consume` for each batch, in file order. The
/// file is read and checked in pieces on every core, as [`scan_numbers`] does, and
/// the batches come out in file order; a piece's batches wait until the pieces
/// before it are handed on, so a Parquet file whose row groups are far larger than
/// a piece (tens of MB) is read in one stream on the calling thread instead,
/// batch by batch. Returns the report of what was read, or
/// [`DataError::Invalid`] listing every problem whose policy is `error` once the
/// whole file has been scanned; an error from `consume` stops the read.
pub fn scan(
    file: &DataFile,
    plan: &[ColumnPlan],
    policy: &DataPolicy,
    consume: &mut dyn FnMut(&RecordBatch) -> Result<(), String>,
) -> Result<DataReport, DataError> {
    scan_in_pieces(file, plan, policy, ROWS_PIECE_BYTES, consume)
}

/// [`scan`] with pieces of about `piece_bytes`.
fn scan_in_pieces(
    file: &DataFile,
    plan: &[ColumnPlan],
    policy: &DataPolicy,
    piece_bytes: usize,
    consume: &mut dyn FnMut(&RecordBatch) -> Result<(), String>,
) -> Result<DataReport, DataError> {
    let path = &file.path;
    if file.parts.as_ref().is_some_and(|p| p.values.len() > 1) {
        return Err(DataError::Consumer(
            "rows are read for one part of a file at a time".into(),
        ));
    }
    let report = if numbers::rows_in_one_stream(path, piece_bytes)? {
        numbers::stream_parquet_rows(file, plan, policy, consume)?
    } else {
        let how = Parallelism::all_cores(piece_bytes);
        let to_batches =
            |batches: &mut Vec<RecordBatch>, rows: &NumericRows| batches.push(numbers::to_batch(plan, rows));
        let reading = numbers::Reading { how, with_ids: true };
        let mut report = numbers::scan_numbers(file, plan, policy, reading, &Vec::new, &to_batches, &mut |batches| {
            batches.iter().try_for_each(&mut *consume).map_err(DataError::Consumer)
        })?;
        report.parts.swap_remove(0)
    };
    if report.has_errors() {
        return Err(DataError::Invalid {
            path: path.to_path_buf(),
            report: Box::new(report),
        });
    }
    Ok(report)
}

/// About how many bytes of the file a piece holds when rows are read for
/// [`scan`]: its batches (about four times its size) wait in memory until the
/// pieces before them are handed on.
const ROWS_PIECE_BYTES: usize = 2 << 20;

/// Streams `path` through the same checks as [`scan`], as numbers for the
/// statistics pass ([`NumericRows`]): `new` makes an empty accumulator, `add` adds
/// checked rows to one, and `merge` receives the accumulators in file order, one
/// per chunk (CSV files are cut into chunks of about `how.chunk_bytes` at record
/// boundaries, a Parquet file in its row groups, and the pieces read on
/// `how.threads` threads).
/// The chunks depend on the file and the chunk size only, so sums merged in that
/// order are identical for any number of threads. Returns the report, or
/// [`DataError::Invalid`] as [`scan`] does. A file in several [`Parts`] is read
/// with [`scan_numbers_in_parts`].
pub fn scan_numbers<A: Send>(
    file: &DataFile,
    plan: &[ColumnPlan],
    policy: &DataPolicy,
    how: Parallelism,
    new: &(dyn Fn() -> A + Sync),
    add: &(dyn Fn(&mut A, &NumericRows) + Sync),
    merge: &mut dyn FnMut(A),
) -> Result<DataReport, DataError> {
    if file.parts.as_ref().is_some_and(|p| p.values.len() > 1) {
        return Err(DataError::Consumer(
            "a file in several parts is read with scan_numbers_in_parts".into(),
        ));
    }
    let mut report = scan_numbers_in_parts(file, plan, policy, how, new, add, merge)?;
    let report = report.parts.swap_remove(0);
    if report.has_errors() {
        return Err(DataError::Invalid {
            path: file.path.clone(),
            report: Box::new(report),
        });
    }
    Ok(report)
}

/// [`scan_numbers`] for a file holding several waves, read once for all of them:
/// each batch of rows handed to `add` is of one part ([`NumericRows::part`]), and
/// the report of each part (one when the file is not parted) is returned whatever
/// its problems, for the caller to decide on part by part (a problem whose policy
/// is `error` fails that part, not the others), with the rows no wave takes. Ids
/// are checked for duplicates within a part.
pub fn scan_numbers_in_parts<A: Send>(
    file: &DataFile,
    plan: &[ColumnPlan],
    policy: &DataPolicy,
    how: Parallelism,
    new: &(dyn Fn() -> A + Sync),
    add: &(dyn Fn(&mut A, &NumericRows) + Sync),
    merge: &mut dyn FnMut(A),
) -> Result<PartsReport, DataError> {
    let reading = numbers::Reading { how, with_ids: false };
    numbers::scan_numbers(file, plan, policy, reading, new, add, &mut |a| {
        merge(a);
        Ok(())
    })
}

/// [`scan_numbers_in_parts`] with every row keeping its id's text, so that the
/// rows handed to `add` can also be made into the Arrow batches [`scan`] hands on
/// ([`rows_batch`]): the statistics pass feeding the plugins that read rows.
pub fn scan_numbers_in_parts_with_ids<A: Send>(
    file: &DataFile,
    plan: &[ColumnPlan],
    policy: &DataPolicy,
    how: Parallelism,
    new: &(dyn Fn() -> A + Sync),
    add: &(dyn Fn(&mut A, &NumericRows) + Sync),
    merge: &mut dyn FnMut(A),
) -> Result<PartsReport, DataError> {
    let reading = numbers::Reading { how, with_ids: true };
    numbers::scan_numbers(file, plan, policy, reading, new, add, &mut |a| {
        merge(a);
        Ok(())
    })
}

/// `rows`, checked for the first `plan.len()` columns of their plan, as the Arrow
/// record batch [`scan`] would hand on for `plan` ([`schema_of`]): numbers, null
/// where missing; a categorical segment as its code; the id as its text (the rows
/// must have been read keeping ids when `plan` has an id column).
pub fn rows_batch(plan: &[ColumnPlan], rows: &NumericRows) -> RecordBatch {
    numbers::to_batch(plan, rows)
}

/// Whether every piece of `path` that a pass in chunks of about `chunk_bytes`
/// reads is itself about that size or smaller, so that a piece's rows may wait in
/// memory as batches until the pieces before it are handed on: always for CSV,
/// workbooks and SPSS files; for Parquet when no row group is larger (a piece is
/// at least one row group).
pub fn pieces_fit(path: &Path, chunk_bytes: usize) -> Result<bool, DataError> {
    match format_of(path)? {
        Format::Csv | Format::Excel | Format::Spss => Ok(true),
        Format::Parquet => Ok(parquet_reader::largest_row_group_bytes(path)? <= chunk_bytes),
    }
}

/// The Arrow schema of batches produced for `plan`.
pub fn schema_of(plan: &[ColumnPlan]) -> Arc<Schema> {
    Arc::new(Schema::new(
        plan.iter()
            .map(|c| Field::new(&c.name, c.kind.data_type(), true))
            .collect::<Vec<_>>(),
    ))
}

enum Format {
    Csv,
    Parquet,
    Excel,
    Spss,
}

fn format_of(path: &Path) -> Result<Format, DataError> {
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "csv" | "tsv" | "txt" => Ok(Format::Csv),
        "parquet" | "pq" => Ok(Format::Parquet),
        "xlsx" | "xlsm" | "xlsb" | "xls" | "ods" => Ok(Format::Excel),
        "sav" | "zsav" => Ok(Format::Spss),
        _ => Err(DataError::UnsupportedFormat {
            path: path.to_path_buf(),
            extension: ext,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{ArrayRef, Float64Array, StringArray};

    /// A Parquet file whose row groups are far larger than a piece is read in one
    /// stream, batch by batch: the same batches, the same report, the same errors
    /// as the read in pieces.
    #[test]
    fn large_row_groups_stream_the_same_rows() {
        let n = 10_000;
        let id: ArrayRef = Arc::new(StringArray::from_iter_values((0..n).map(|i| format!("r{}", i % 9_000))));
        let q: ArrayRef = Arc::new(Float64Array::from_iter((0..n).map(|i| Some((i % 12) as f64))));
        let w: ArrayRef = Arc::new(Float64Array::from_iter((0..n).map(|i| Some(1.0 + (i % 3) as f64))));
        let batch = RecordBatch::try_from_iter(vec![("id", id), ("q", q), ("w", w)]).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data.parquet");
        let mut writer =
            parquet::arrow::ArrowWriter::try_new(std::fs::File::create(&path).unwrap(), batch.schema(), None).unwrap();
        writer.write(&batch).unwrap();
        writer.close().unwrap();
        let plan = vec![
            ColumnPlan {
                name: "id".into(),
                kind: ColumnKind::Id,
            },
            ColumnPlan {
                name: "q".into(),
                kind: ColumnKind::Measure {
                    min: 1.0,
                    max: 10.0,
                    missing: vec![0.0],
                },
            },
            ColumnPlan {
                name: "w".into(),
                kind: ColumnKind::Weight,
            },
        ];
        let exclude = DataPolicy {
            out_of_range: Policy::Exclude,
            duplicate_id: Policy::Exclude,
            ..DataPolicy::default()
        };
        assert!(!numbers::rows_in_one_stream(&path, ROWS_PIECE_BYTES).unwrap());
        assert!(numbers::rows_in_one_stream(&path, 16).unwrap());
        // Its one row group fits a piece of a few MiB, not one of 16 bytes.
        assert!(pieces_fit(&path, ROWS_PIECE_BYTES).unwrap());
        assert!(!pieces_fit(&path, 16).unwrap());
        assert!(pieces_fit(Path::new("any.csv"), 16).unwrap());
        for policy in [DataPolicy::default(), exclude] {
            let read = |piece_bytes: usize| {
                let mut batches = Vec::new();
                let report = scan_in_pieces(&DataFile::new(&path), &plan, &policy, piece_bytes, &mut |b| {
                    batches.push(b.clone());
                    Ok(())
                });
                (report.map_err(|e| e.to_string()), batches)
            };
            let (in_pieces, streamed) = (read(ROWS_PIECE_BYTES), read(16));
            assert_eq!(in_pieces.0, streamed.0);
            assert_eq!(in_pieces.1, streamed.1);
        }
        let (report, batches) = {
            let mut batches = Vec::new();
            let report = scan_in_pieces(&DataFile::new(&path), &plan, &exclude, 16, &mut |b| {
                batches.push(b.num_rows());
                Ok(())
            })
            .unwrap();
            (report, batches)
        };
        assert_eq!(report.rows_used, 9_000, "the repeated ids dropped");
        assert!(batches.len() > 1 && batches.iter().all(|&r| r <= 4096), "{batches:?}");
    }
}
