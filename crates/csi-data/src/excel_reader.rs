//! Excel and OpenDocument workbooks (`.xlsx`, `.xlsm`, `.xlsb`, `.xls`, `.ods`),
//! through calamine: the wave's sheet (the one it names, else the first), its first
//! row with any cell as the header, each later row with a cell under the header a
//! respondent (rows with no cell, or only cells right of the header, are skipped),
//! cells read as their types say: numbers as numbers, text as text, booleans as 1
//! and 0, dates as `YYYY-MM-DD` text (`YYYY-MM-DD hh:mm:ss` with a time), durations
//! as days, error cells (`#N/A`) as their text, so that they are reported as
//! non-numeric. Positions are the sheet's row numbers, as Excel shows them.
//!
//! `.xlsx`, `.xlsm` and `.xlsb` sheets are streamed cell by cell (memory: the
//! workbook's shared strings and a piece of rows, of the study's columns only).
//! `.xls` and `.ods` workbooks are read whole by calamine when opened, every sheet:
//! an `.xls` file is at most 65,536 rows by 256 columns by its format; an `.ods`
//! file whose sheets' XML is larger than [`MAX_ODS_CONTENT_BYTES`] is refused
//! before it is parsed.

use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use calamine::{Data, DataRef, Range, Reader, Sheets};

use crate::table::{Cell, Rows, Table};
use crate::{ColumnPlan, DataError, DataFile};

/// The largest `.ods` workbook read: its `content.xml` (the sheets' XML,
/// uncompressed) at most 256 MiB, which calamine holds parsed, every cell of
/// every sheet (a few hundred MB).
pub const MAX_ODS_CONTENT_BYTES: u64 = 256 << 20;

/// A header cell as a column name.
fn name_of(cell: &Cell) -> String {
    match cell {
        Cell::Empty => String::new(),
        Cell::Number(x) => format!("{x}"),
        Cell::Text(t) => t.trim().to_string(),
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

/// An OpenDocument date (`2024-10-01`, `2024-10-01T12:30:00.000`) as an Excel
/// date reads: `YYYY-MM-DD`, with ` hh:mm:ss` when it has a time of day.
fn iso_date_text(iso: &str) -> Cell {
    let (date, time) = iso.split_once('T').unwrap_or((iso, ""));
    let time = time.split('.').next().unwrap_or("");
    Cell::Text(if time.is_empty() || time == "00:00:00" {
        date.to_string()
    } else {
        format!("{date} {time}")
    })
}

/// An OpenDocument duration (`PT12H30M00S`, `P1DT2H`) as an Excel duration
/// reads: its length in days (the text as it is when it is not such a duration).
fn iso_duration(iso: &str) -> Cell {
    let parse = || -> Option<f64> {
        let (negative, rest) = match iso.strip_prefix('-') {
            Some(r) => (true, r),
            None => (false, iso),
        };
        let rest = rest.strip_prefix('P')?;
        let (days_part, time_part) = rest.split_once('T').unwrap_or((rest, ""));
        let mut days = 0.0;
        if !days_part.is_empty() {
            days += days_part.strip_suffix('D')?.parse::<f64>().ok()?;
        }
        let mut number = String::new();
        for c in time_part.chars() {
            let per_day = match c {
                'H' => 24.0,
                'M' => 24.0 * 60.0,
                'S' => 24.0 * 3600.0,
                _ => {
                    number.push(c);
                    continue;
                }
            };
            days += number.parse::<f64>().ok()? / per_day;
            number.clear();
        }
        number.is_empty().then_some(if negative { -days } else { days })
    };
    parse().map_or_else(|| Cell::Text(iso.to_string()), Cell::Number)
}

fn from_ref(d: DataRef<'_>) -> Cell {
    match d {
        DataRef::Int(i) => Cell::Number(i as f64),
        DataRef::Float(x) => Cell::Number(x),
        DataRef::String(s) => Cell::Text(s),
        DataRef::DateTimeIso(s) => iso_date_text(&s),
        DataRef::DurationIso(s) => iso_duration(&s),
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
        Data::String(s) => Cell::Text(s.clone()),
        Data::DateTimeIso(s) => iso_date_text(s),
        Data::DurationIso(s) => iso_duration(s),
        Data::Bool(b) => Cell::Number(if *b { 1.0 } else { 0.0 }),
        Data::DateTime(d) => date_text(d),
        Data::Error(e) => Cell::Text(e.to_string()),
        Data::Empty => Cell::Empty,
    }
}

fn workbook_error(path: &Path, message: String) -> DataError {
    DataError::Workbook {
        path: path.to_path_buf(),
        message,
    }
}

/// Rows gathered into pieces of the planned columns and handed on.
struct Gather<'f> {
    path: &'f Path,
    plan: &'f [ColumnPlan],
    /// Once the header is read: for each of its columns, the plan slots it fills.
    slots: Option<Vec<Vec<usize>>>,
    /// The row being read: its index in the sheet, its planned cells, and whether
    /// it has a cell under the header.
    row: Option<(u32, Vec<Cell>, bool)>,
    /// The header row's cells, while it is read.
    header: Vec<Cell>,
    piece: Rows,
    chunk_bytes: usize,
    piece_rows: usize,
    send: &'f mut dyn FnMut(Table) -> Result<(), DataError>,
}

impl Gather<'_> {
    fn cell(&mut self, row: u32, col: u32, cell: Cell) -> Result<(), DataError> {
        if self.row.as_ref().is_some_and(|(r, _, _)| *r != row) {
            self.end_row()?;
        }
        if cell.is_empty() {
            return Ok(());
        }
        let col = col as usize;
        let width = self.plan.len();
        let (_, cells, in_header) = self.row.get_or_insert_with(|| (row, Vec::new(), false));
        match &self.slots {
            None => {
                *in_header = true;
                if self.header.len() <= col {
                    self.header.resize(col + 1, Cell::Empty);
                }
                self.header[col] = cell;
            }
            Some(slots) => {
                let Some(fills) = slots.get(col) else {
                    return Ok(()); // right of the header: no column of the study
                };
                *in_header = true;
                if cells.is_empty() {
                    cells.resize(width, Cell::Empty);
                }
                if let Some((last, others)) = fills.split_last() {
                    for &slot in others {
                        cells[slot] = cell.clone();
                    }
                    cells[*last] = cell;
                }
            }
        }
        Ok(())
    }

    fn end_row(&mut self) -> Result<(), DataError> {
        let Some((row, mut cells, in_header)) = self.row.take() else {
            return Ok(());
        };
        if !in_header {
            return Ok(()); // only cells right of the header: notes beside the table
        }
        if self.slots.is_none() {
            return self.header_done();
        }
        cells.resize(self.plan.len(), Cell::Empty);
        self.piece.push((u64::from(row) + 1, cells));
        if self.piece.len() >= self.piece_rows {
            (self.send)(Table::Rows(std::mem::take(&mut self.piece)))?;
        }
        Ok(())
    }

    fn header_done(&mut self) -> Result<(), DataError> {
        let names: Vec<String> = self.header.iter().map(name_of).collect();
        let slots = crate::table::slots(self.path, &names, self.plan);
        (self.send)(Table::Header(names))?;
        self.slots = Some(slots?);
        self.piece_rows = crate::table::rows_per_piece(self.chunk_bytes, self.plan.len());
        Ok(())
    }

    fn finish(mut self) -> Result<(), DataError> {
        self.end_row()?;
        if self.slots.is_none() {
            self.header_done()?;
        }
        if !self.piece.is_empty() {
            (self.send)(Table::Rows(std::mem::take(&mut self.piece)))?;
        }
        Ok(())
    }
}

fn open(path: &Path) -> Result<Sheets<BufReader<File>>, DataError> {
    let is_ods = path
        .extension()
        .is_some_and(|e| e.to_string_lossy().eq_ignore_ascii_case("ods"));
    if is_ods {
        // calamine parses every sheet of an .ods file when it opens it.
        let content = File::open(path)
            .ok()
            .and_then(|f| zip::ZipArchive::new(f).ok())
            .and_then(|mut z| z.by_name("content.xml").ok().map(|c| c.size()));
        if let Some(bytes) = content.filter(|b| *b > MAX_ODS_CONTENT_BYTES) {
            return Err(workbook_error(
                path,
                format!(
                    "its sheets are {} MB of XML; an .ods workbook is read whole, every sheet, and one over {} MB would take gigabytes of memory: save the sheet as .xlsx, CSV (UTF-8) or Parquet, which are streamed",
                    bytes >> 20,
                    MAX_ODS_CONTENT_BYTES >> 20
                ),
            ));
        }
    }
    calamine::open_workbook_auto(path).map_err(|e| workbook_error(path, format!("cannot read the workbook: {e}")))
}

/// The workbook's sheets, in order.
pub(crate) fn sheet_names(path: &Path) -> Result<Vec<String>, DataError> {
    Ok(open(path)?.sheet_names())
}

/// Reads `file`'s sheet, handing `send` its header and then its rows, of the
/// `plan` columns, in pieces of about `chunk_bytes`; an error from `send` stops
/// the read. An empty sheet has an empty header.
pub(crate) fn read(
    file: &DataFile,
    plan: &[ColumnPlan],
    chunk_bytes: usize,
    send: &mut dyn FnMut(Table) -> Result<(), DataError>,
) -> Result<(), DataError> {
    let path = &file.path;
    let cannot = |e: &dyn std::fmt::Display| workbook_error(path, format!("cannot read the workbook: {e}"));
    let mut book = open(path)?;
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
            .ok_or_else(|| workbook_error(path, "the workbook has no sheet".into()))?,
    };
    let mut gather = Gather {
        path,
        plan,
        slots: None,
        row: None,
        header: Vec::new(),
        piece: Vec::new(),
        chunk_bytes,
        piece_rows: 1,
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
    let read = read(file, &[], 1, &mut |s| match s {
        Table::Header(h) => {
            header = Some(h);
            Err(DataError::Consumer(String::new()))
        }
        Table::Rows(_) => Ok(()),
    });
    match (read, header) {
        (_, Some(h)) => Ok(h),
        (Err(e), None) => Err(e),
        (Ok(()), None) => Ok(Vec::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opendocument_dates_and_durations_read_as_excel_ones() {
        assert_eq!(iso_date_text("2024-10-01"), Cell::Text("2024-10-01".into()));
        assert_eq!(iso_date_text("2024-10-01T00:00:00"), Cell::Text("2024-10-01".into()));
        assert_eq!(
            iso_date_text("2024-10-01T12:30:05.250"),
            Cell::Text("2024-10-01 12:30:05".into())
        );
        assert_eq!(iso_duration("PT12H00M00S"), Cell::Number(0.5));
        assert_eq!(iso_duration("P1DT6H"), Cell::Number(1.25));
        assert_eq!(iso_duration("-PT36H"), Cell::Number(-1.5));
        assert_eq!(iso_duration("PT1X"), Cell::Text("PT1X".into()));
    }
}
