//! Excel and OpenDocument workbooks (`.xlsx`, `.xlsm`, `.xlsb`, `.xls`, `.ods`),
//! through calamine: the wave's sheet (the one it names, else the first), its first
//! row with any cell as the header, each later row a respondent (rows with no cell
//! are skipped), cells read as their types say: numbers as numbers, text as text,
//! booleans as 1 and 0, dates as `YYYY-MM-DD` text (`YYYY-MM-DD hh:mm:ss` with a
//! time), error cells (`#N/A`) as their text, so that they are reported as
//! non-numeric. Positions are the sheet's row numbers, as Excel shows them.
//!
//! `.xlsx`, `.xlsm` and `.xlsb` sheets are streamed cell by cell (memory: the
//! workbook's shared strings and a piece of rows); `.xls` and `.ods` sheets are
//! read whole, about 40 bytes a cell, and one of more than [`MAX_WHOLE_CELLS`]
//! cells is refused.

use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use calamine::{Data, DataRef, Range, Reader, Sheets};

use crate::convert::Value;
use crate::{DataError, DataFile};

/// The most cells a sheet read whole (`.xls`, `.ods`) may have: about 800 MB.
pub const MAX_WHOLE_CELLS: usize = 20_000_000;

/// One cell, owned, as the checks take it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Cell {
    Empty,
    Number(f64),
    Text(String),
}

impl Cell {
    pub fn value(&self) -> Value<'_> {
        match self {
            Cell::Empty => Value::Empty,
            Cell::Number(x) => Value::Number(*x),
            Cell::Text(t) => Value::Text(t),
        }
    }

    fn is_empty(&self) -> bool {
        match self {
            Cell::Empty => true,
            Cell::Text(t) => t.trim().is_empty(),
            Cell::Number(_) => false,
        }
    }

    /// A header cell as a column name.
    fn name(&self) -> String {
        match self {
            Cell::Empty => String::new(),
            Cell::Number(x) => format!("{x}"),
            Cell::Text(t) => t.trim().to_string(),
        }
    }
}

fn date_text(d: &calamine::ExcelDateTime) -> Cell {
    if !d.is_datetime() {
        // A duration: its length in days, as Excel stores it.
        return Cell::Number(d.as_f64());
    }
    let (y, m, day, h, min, s, _) = d.to_ymd_hms_milli();
    Cell::Text(if (h, min, s) == (0, 0, 0) {
        format!("{y:04}-{m:02}-{day:02}")
    } else {
        format!("{y:04}-{m:02}-{day:02} {h:02}:{min:02}:{s:02}")
    })
}

fn from_ref(d: DataRef<'_>) -> Cell {
    match d {
        DataRef::Int(i) => Cell::Number(i as f64),
        DataRef::Float(x) => Cell::Number(x),
        DataRef::String(s) | DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => Cell::Text(s),
        DataRef::SharedString(s) => Cell::Text(s.to_string()),
        DataRef::Bool(b) => Cell::Number(if b { 1.0 } else { 0.0 }),
        DataRef::DateTime(d) => date_text(&d),
        DataRef::Error(e) => Cell::Text(e.to_string()),
        DataRef::Empty => Cell::Empty,
    }
}

fn from_data(d: &Data) -> Cell {
    match d {
        Data::Int(i) => Cell::Number(*i as f64),
        Data::Float(x) => Cell::Number(*x),
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => Cell::Text(s.clone()),
        Data::Bool(b) => Cell::Number(if *b { 1.0 } else { 0.0 }),
        Data::DateTime(d) => date_text(d),
        Data::Error(e) => Cell::Text(e.to_string()),
        Data::Empty => Cell::Empty,
    }
}

/// What the reader hands on, in order: the header, then pieces of rows.
pub(crate) enum Sheet {
    /// The header's names, by column (from column A; unnamed columns empty).
    Header(Vec<String>),
    /// Data rows: each its row number in the sheet and its cells under the header.
    Rows(Vec<(u64, Vec<Cell>)>),
}

fn malformed(path: &Path, message: String) -> DataError {
    DataError::Malformed {
        path: path.to_path_buf(),
        line: 0,
        message,
    }
}

/// Rows gathered into pieces and handed on.
struct Gather<'f> {
    header: Option<usize>,
    row: Option<(u32, Vec<Cell>)>,
    piece: Vec<(u64, Vec<Cell>)>,
    piece_rows: usize,
    send: &'f mut dyn FnMut(Sheet) -> Result<(), DataError>,
}

impl Gather<'_> {
    fn cell(&mut self, row: u32, col: u32, cell: Cell) -> Result<(), DataError> {
        if self.row.as_ref().is_some_and(|(r, _)| *r != row) {
            self.end_row()?;
        }
        if cell.is_empty() {
            return Ok(());
        }
        let (_, cells) = self.row.get_or_insert_with(|| (row, Vec::new()));
        let col = col as usize;
        if let Some(width) = self.header {
            if col >= width {
                return Ok(()); // beyond the header: no column of the study
            }
            cells.resize(width, Cell::Empty);
        } else if cells.len() <= col {
            cells.resize(col + 1, Cell::Empty);
        }
        cells[col] = cell;
        Ok(())
    }

    fn end_row(&mut self) -> Result<(), DataError> {
        let Some((row, mut cells)) = self.row.take() else {
            return Ok(());
        };
        match self.header {
            None => {
                self.header = Some(cells.len());
                (self.send)(Sheet::Header(cells.iter().map(Cell::name).collect()))
            }
            Some(width) => {
                cells.resize(width, Cell::Empty);
                self.piece.push((u64::from(row) + 1, cells));
                if self.piece.len() >= self.piece_rows {
                    (self.send)(Sheet::Rows(std::mem::take(&mut self.piece)))?;
                }
                Ok(())
            }
        }
    }

    fn finish(mut self) -> Result<(), DataError> {
        self.end_row()?;
        if self.header.is_none() {
            (self.send)(Sheet::Header(Vec::new()))?;
        }
        if !self.piece.is_empty() {
            (self.send)(Sheet::Rows(std::mem::take(&mut self.piece)))?;
        }
        Ok(())
    }
}

/// The workbook's sheets, in order.
pub(crate) fn sheet_names(path: &Path) -> Result<Vec<String>, DataError> {
    let book: Sheets<BufReader<File>> =
        calamine::open_workbook_auto(path).map_err(|e| malformed(path, format!("cannot read the workbook: {e}")))?;
    Ok(book.sheet_names())
}

/// Reads `file`'s sheet, handing `send` its header and then its rows in pieces of
/// `piece_rows`; an error from `send` stops the read. An empty sheet has an empty
/// header.
pub(crate) fn read(
    file: &DataFile,
    piece_rows: usize,
    send: &mut dyn FnMut(Sheet) -> Result<(), DataError>,
) -> Result<(), DataError> {
    let path = &file.path;
    let cannot = |e: &dyn std::fmt::Display| malformed(path, format!("cannot read the workbook: {e}"));
    let mut book: Sheets<BufReader<File>> = calamine::open_workbook_auto(path).map_err(|e| cannot(&e))?;
    let names = book.sheet_names();
    let sheet = match &file.sheet {
        Some(wanted) => names
            .iter()
            .find(|n| *n == wanted)
            .cloned()
            .ok_or_else(|| DataError::NoSheet {
                path: path.to_path_buf(),
                sheet: wanted.clone(),
                sheets: names.clone(),
            })?,
        None => names
            .first()
            .cloned()
            .ok_or_else(|| malformed(path, "the workbook has no sheet".into()))?,
    };
    let mut gather = Gather {
        header: None,
        row: None,
        piece: Vec::with_capacity(piece_rows),
        piece_rows: piece_rows.max(1),
        send,
    };
    match &mut book {
        Sheets::Xlsx(x) => {
            let mut cells = x.worksheet_cells_reader(&sheet).map_err(|e| cannot(&e))?;
            while let Some(c) = cells.next_cell().map_err(|e| cannot(&e))? {
                let (row, col) = c.get_position();
                gather.cell(row, col, from_ref(c.get_value().clone()))?;
            }
        }
        Sheets::Xlsb(x) => {
            let mut cells = x.worksheet_cells_reader(&sheet).map_err(|e| cannot(&e))?;
            while let Some(c) = cells.next_cell().map_err(|e| cannot(&e))? {
                let (row, col) = c.get_position();
                gather.cell(row, col, from_ref(c.get_value().clone()))?;
            }
        }
        whole => {
            let range: Range<Data> = whole.worksheet_range(&sheet).map_err(|e| cannot(&e))?;
            let (rows, cols) = range.get_size();
            if rows.saturating_mul(cols) > MAX_WHOLE_CELLS {
                return Err(malformed(
                    path,
                    format!(
                        "sheet `{sheet}` has {rows} rows by {cols} columns; .xls and .ods sheets are read whole, and more than {MAX_WHOLE_CELLS} cells would take gigabytes of memory: save it as .xlsx, CSV (UTF-8) or Parquet, which are streamed"
                    ),
                ));
            }
            let (top, left) = range.start().unwrap_or((0, 0));
            for (i, cells) in range.rows().enumerate() {
                for (j, d) in cells.iter().enumerate() {
                    gather.cell(top + i as u32, left + j as u32, from_data(d))?;
                }
            }
        }
    }
    gather.finish()
}

/// The header of `file`'s sheet (empty for an empty sheet).
pub(crate) fn read_header(file: &DataFile) -> Result<Vec<String>, DataError> {
    let mut header = None;
    // Stops the read once the header is in.
    let read = read(file, 1, &mut |s| match s {
        Sheet::Header(h) => {
            header = Some(h);
            Err(DataError::Consumer(String::new()))
        }
        Sheet::Rows(_) => Ok(()),
    });
    match (read, header) {
        (_, Some(h)) => Ok(h),
        (Err(e), None) => Err(e),
        (Ok(()), None) => Ok(Vec::new()),
    }
}
