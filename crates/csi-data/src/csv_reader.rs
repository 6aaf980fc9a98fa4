//! CSV: UTF-8 with or without BOM, comma / semicolon / tab detected from the header
//! line, quoted fields, one header row.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::rc::Rc;

use arrow_array::RecordBatch;

use crate::convert::{Converter, Value};
use crate::{ColumnPlan, DataError, DataPolicy, DataReport};

fn open(path: &Path) -> Result<BufReader<File>, DataError> {
    let f = File::open(path).map_err(|source| DataError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(BufReader::with_capacity(1 << 20, f))
}

/// Skips a UTF-8 byte-order mark and detects the delimiter from the first line.
fn prepare(path: &Path) -> Result<(BufReader<File>, u8), DataError> {
    let mut r = open(path)?;
    let io = |source| DataError::Io {
        path: path.to_path_buf(),
        source,
    };
    let buf = r.fill_buf().map_err(io)?;
    if buf.starts_with(&[0xEF, 0xBB, 0xBF]) {
        r.consume(3);
    } else if buf.starts_with(&[0xFF, 0xFE]) || buf.starts_with(&[0xFE, 0xFF]) {
        return Err(DataError::Malformed {
            path: path.to_path_buf(),
            line: 1,
            message: "the file is UTF-16; save it as UTF-8 (CSV UTF-8 in spreadsheet programs)".into(),
        });
    }
    let buf = r.fill_buf().map_err(io)?;
    let first_line = buf.split(|b| *b == b'\n').next().unwrap_or(&[]);
    let mut counts = [(b',', 0usize), (b';', 0), (b'\t', 0)];
    let mut quoted = false;
    for &b in first_line {
        if b == b'"' {
            quoted = !quoted;
        } else if !quoted {
            for (d, n) in counts.iter_mut() {
                if b == *d {
                    *n += 1;
                }
            }
        }
    }
    let delim = counts.iter().max_by_key(|(_, n)| *n).map(|(d, _)| *d).unwrap_or(b',');
    Ok((r, delim))
}

/// Passes bytes through and records where each newline is, so that a record's
/// line number can be computed from its byte offset (the csv crate does not count
/// the blank lines it skips). Only newlines not yet matched to a record are kept,
/// so memory stays bounded by the csv crate's read-ahead.
struct LineCounter<R> {
    inner: R,
    offset: u64,
    newlines: Rc<RefCell<VecDeque<u64>>>,
}

impl<R: Read> Read for LineCounter<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let mut q = self.newlines.borrow_mut();
        for (i, b) in buf[..n].iter().enumerate() {
            if *b == b'\n' {
                q.push_back(self.offset + i as u64);
            }
        }
        self.offset += n as u64;
        Ok(n)
    }
}

fn reader<R: Read>(r: R, delim: u8) -> csv::Reader<R> {
    csv::ReaderBuilder::new()
        .delimiter(delim)
        .flexible(true)
        .has_headers(false)
        .from_reader(r)
}

fn malformed(path: &Path, line: u64, message: impl Into<String>) -> DataError {
    DataError::Malformed {
        path: path.to_path_buf(),
        line,
        message: message.into(),
    }
}

fn csv_error(path: &Path, e: csv::Error) -> DataError {
    let line = e.position().map(|p| p.line()).unwrap_or(0);
    match e.into_kind() {
        csv::ErrorKind::Io(source) => DataError::Io {
            path: path.to_path_buf(),
            source,
        },
        other => malformed(path, line, format!("cannot parse CSV: {other:?}")),
    }
}

fn utf8<'b>(path: &Path, bytes: &'b [u8], line: u64, column: usize) -> Result<&'b str, DataError> {
    std::str::from_utf8(bytes).map_err(|_| {
        malformed(
            path,
            line,
            format!(
                "field {column} is not UTF-8 text; save the file as UTF-8 (GBK files can be converted with `iconv -f GBK -t UTF-8`)"
            ),
        )
    })
}

fn header_of<R: Read>(path: &Path, rdr: &mut csv::Reader<R>) -> Result<Vec<String>, DataError> {
    let mut rec = csv::ByteRecord::new();
    if !rdr.read_byte_record(&mut rec).map_err(|e| csv_error(path, e))? {
        return Err(malformed(
            path,
            1,
            "the file is empty; it needs a header row with column names",
        ));
    }
    // Unnamed columns (a row index written by R or pandas, trailing empty columns
    // saved by Excel) and repeated names are kept as they are: a column the study
    // does not use is ignored, and one it uses is checked by the engine's column
    // check, which says what is wrong with it.
    let mut names = Vec::with_capacity(rec.len());
    for (i, f) in rec.iter().enumerate() {
        names.push(utf8(path, f, 1, i + 1)?.trim().to_string());
    }
    Ok(names)
}

pub(crate) fn read_header(path: &Path) -> Result<Vec<String>, DataError> {
    let (r, delim) = prepare(path)?;
    header_of(path, &mut reader(r, delim))
}

pub(crate) fn scan(
    path: &Path,
    plan: &[ColumnPlan],
    policy: &DataPolicy,
    consume: &mut dyn FnMut(&RecordBatch) -> Result<(), String>,
) -> Result<DataReport, DataError> {
    let (r, delim) = prepare(path)?;
    let newlines = Rc::new(RefCell::new(VecDeque::new()));
    let counter = LineCounter {
        inner: r,
        offset: 0,
        newlines: Rc::clone(&newlines),
    };
    let mut rdr = reader(counter, delim);
    let header = header_of(path, &mut rdr)?;
    let mut lines_before = 0u64;
    let mut index = Vec::with_capacity(plan.len());
    let mut missing = Vec::new();
    for c in plan {
        match header.iter().position(|h| *h == c.name) {
            Some(i) => index.push(i),
            None => missing.push(c.name.clone()),
        }
    }
    if !missing.is_empty() {
        return Err(DataError::MissingColumns {
            path: path.to_path_buf(),
            columns: missing,
        });
    }
    let mut conv = Converter::new(plan, policy, crate::Position::Line, delim != b',');
    let mut rec = csv::ByteRecord::new();
    loop {
        match rdr.read_byte_record(&mut rec) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => return Err(csv_error(path, e)),
        }
        // The record ends where the reader now stands (just after its line end);
        // its line is one more than the newlines before that line end. (A record
        // with a quoted multi-line field is reported at its last line.)
        let end = rdr.position().byte();
        {
            let mut q = newlines.borrow_mut();
            while q.front().is_some_and(|&nl| nl + 1 < end) {
                q.pop_front();
                lines_before += 1;
            }
        }
        let line = lines_before + 1;
        if rec.len() == 1 && rec.get(0).is_some_and(|f| f.iter().all(u8::is_ascii_whitespace)) {
            continue; // blank line
        }
        if rec.len() != header.len() {
            return Err(malformed(
                path,
                line,
                format!(
                    "this row has {} fields but the header has {}; check for an unquoted delimiter or a missing field",
                    rec.len(),
                    header.len()
                ),
            ));
        }
        let mut cells: Vec<Value> = Vec::with_capacity(index.len());
        for &i in &index {
            cells.push(Value::Text(utf8(path, &rec[i], line, i + 1)?));
        }
        conv.push_row(&cells, line);
        if conv.batch_full() {
            let batch = conv.take_batch().expect("full batch");
            consume(&batch).map_err(DataError::Consumer)?;
        }
    }
    if let Some(batch) = conv.take_batch() {
        consume(&batch).map_err(DataError::Consumer)?;
    }
    Ok(conv.finish())
}
