//! Downloads: every table of a wave as a CSV file and all of them in one Excel
//! workbook.
//!
//! CSV files are UTF-8 with a byte-order mark, so spreadsheet programs that guess
//! the encoding (Excel on Windows above all) open Chinese labels correctly. They hold
//! the figures as the page shows them: rounded to the page's decimals, percentages
//! as numbers of percent with `(%)` in the header, significance and low-base marks
//! in a column of their own. The workbook holds the unrounded figures with number
//! formats that display them as the page does, so sums and charts made from it are
//! exact. Both are byte-for-byte reproducible (the workbook's creation date is fixed).

use csi_blocks::{Cell, ColumnKind, Flag, Table};
use rust_xlsxwriter::{DocProperties, ExcelDateTime, Format, Workbook};

use crate::SiteError;

/// One value of a downloadable table.
#[derive(Debug, Clone, PartialEq)]
pub enum DataCell {
    /// No value.
    Empty,
    /// Text (a label).
    Text(String),
    /// A number and how the page shows it.
    Number {
        /// The unrounded value (a 0–1 share for percentages).
        value: f64,
        /// Decimals shown on the page.
        decimals: u8,
        /// Shown as a percentage.
        percent: bool,
    },
}

impl DataCell {
    /// A number shown with `decimals`.
    pub fn number(value: Option<f64>, decimals: u8) -> Self {
        match value {
            Some(v) if v.is_finite() => DataCell::Number {
                value: v,
                decimals,
                percent: false,
            },
            _ => DataCell::Empty,
        }
    }

    /// A 0–1 share shown as a percentage with `decimals`.
    pub fn percent(value: Option<f64>, decimals: u8) -> Self {
        match value {
            Some(v) if v.is_finite() => DataCell::Number {
                value: v,
                decimals,
                percent: true,
            },
            _ => DataCell::Empty,
        }
    }

    /// Text.
    pub fn text(s: impl Into<String>) -> Self {
        DataCell::Text(s.into())
    }
}

/// A table offered for download.
#[derive(Debug, Clone, PartialEq)]
pub struct DataTable {
    /// File stem, unique within the wave (`index-tree`, `gap-2`).
    pub file: String,
    /// The table's title as on the page.
    pub title: String,
    /// Column headers.
    pub columns: Vec<String>,
    /// Rows of cells, one per column.
    pub rows: Vec<Vec<DataCell>>,
}

fn mark(f: Flag) -> &'static str {
    match f {
        Flag::SigUp => "▲",
        Flag::SigDown => "▼",
        Flag::LowBase => "†",
        Flag::Weak => "weak",
    }
}

impl DataTable {
    /// The CSV file name (`<file>.csv`).
    pub fn csv_name(&self) -> String {
        format!("{}.csv", self.file)
    }

    /// A report table as a download. Flags (significance, low base) go to an extra
    /// column after each column that has any.
    pub fn from_block(t: &Table, file: String) -> Self {
        let flagged: Vec<bool> = (0..t.columns.len())
            .map(|i| t.rows.iter().any(|r| r.flags.get(i).is_some_and(|f| !f.is_empty())))
            .collect();
        let mut columns = Vec::new();
        for (c, f) in t.columns.iter().zip(&flagged) {
            columns.push(c.label.clone());
            if *f {
                columns.push(format!("{} ▲▼†", c.label));
            }
        }
        let rows = t
            .rows
            .iter()
            .map(|r| {
                let mut out = Vec::new();
                for (i, c) in t.columns.iter().enumerate() {
                    let cell = match r.cells.get(i) {
                        Some(Cell::Text(s)) => DataCell::Text(s.clone()),
                        Some(Cell::Number(x)) => match c.kind {
                            ColumnKind::Percent => DataCell::percent(Some(*x), c.decimals),
                            ColumnKind::Count => DataCell::number(Some(*x), 0),
                            _ => DataCell::number(Some(*x), c.decimals),
                        },
                        _ => DataCell::Empty,
                    };
                    out.push(cell);
                    if flagged[i] {
                        let marks: Vec<&str> = r.flags.get(i).into_iter().flatten().map(|f| mark(*f)).collect();
                        out.push(if marks.is_empty() {
                            DataCell::Empty
                        } else {
                            DataCell::Text(marks.join(" "))
                        });
                    }
                }
                out
            })
            .collect();
        Self {
            file,
            title: t.title.clone(),
            columns,
            rows,
        }
    }

    /// Whether column `i` holds percentages (any of its cells is one).
    fn percent_column(&self, i: usize) -> bool {
        self.rows
            .iter()
            .any(|r| matches!(r.get(i), Some(DataCell::Number { percent: true, .. })))
    }

    /// The table as CSV: UTF-8 with a byte-order mark, CRLF line ends, figures as
    /// shown on the page.
    pub fn to_csv(&self) -> Vec<u8> {
        let mut w = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .from_writer(Vec::from(&b"\xEF\xBB\xBF"[..]));
        let header: Vec<String> = self
            .columns
            .iter()
            .enumerate()
            .map(|(i, c)| {
                if self.percent_column(i) {
                    format!("{c} (%)")
                } else {
                    c.clone()
                }
            })
            .collect();
        w.write_record(&header).expect("writing to memory");
        for row in &self.rows {
            let rec: Vec<String> = row
                .iter()
                .map(|c| match c {
                    DataCell::Empty => String::new(),
                    DataCell::Text(s) => s.clone(),
                    DataCell::Number {
                        value,
                        decimals,
                        percent,
                    } => {
                        let d = usize::from(*decimals);
                        let v = if *percent { value * 100.0 } else { *value };
                        // Never write "-0.0".
                        let s = format!("{v:.d$}");
                        if s.trim_start_matches('-').chars().all(|c| c == '0' || c == '.') {
                            s.trim_start_matches('-').to_string()
                        } else {
                            s
                        }
                    }
                })
                .collect();
            w.write_record(&rec).expect("writing to memory");
        }
        w.into_inner().expect("writing to memory")
    }
}

/// A worksheet name Excel accepts: at most 31 characters, none of `[]:*?/\`,
/// unique within the workbook.
fn sheet_name(stem: &str, used: &mut Vec<String>) -> String {
    let clean: String = stem
        .chars()
        .map(|c| if "[]:*?/\\".contains(c) { '_' } else { c })
        .take(31)
        .collect();
    let mut name = clean.clone();
    let mut k = 2;
    while used.iter().any(|u| u.eq_ignore_ascii_case(&name)) {
        let suffix = format!("~{k}");
        name = format!("{}{suffix}", clean.chars().take(31 - suffix.len()).collect::<String>());
        k += 1;
    }
    used.push(name.clone());
    name
}

fn xlsx_err(e: rust_xlsxwriter::XlsxError) -> SiteError {
    SiteError::Download(e.to_string())
}

/// All `tables` in one workbook, one sheet each (named after the CSV file), with a
/// first sheet `contents` listing them. `title` becomes the document title.
pub fn workbook(title: &str, tables: &[DataTable]) -> Result<Vec<u8>, SiteError> {
    let mut wb = Workbook::new();
    // A fixed creation date keeps the file reproducible byte for byte.
    let date = ExcelDateTime::from_ymd(2000, 1, 1).map_err(xlsx_err)?;
    wb.set_properties(&DocProperties::new().set_title(title).set_creation_datetime(&date));
    let bold = Format::new().set_bold();
    let mut used = vec!["contents".to_string()];
    let names: Vec<String> = tables.iter().map(|t| sheet_name(&t.file, &mut used)).collect();
    {
        let ws = wb.add_worksheet();
        ws.set_name("contents").map_err(xlsx_err)?;
        ws.write_string_with_format(0, 0, title, &bold).map_err(xlsx_err)?;
        ws.write_string_with_format(2, 0, "sheet", &bold).map_err(xlsx_err)?;
        ws.write_string_with_format(2, 1, "table", &bold).map_err(xlsx_err)?;
        for (i, (t, name)) in tables.iter().zip(&names).enumerate() {
            let r = 3 + i as u32;
            ws.write_string(r, 0, name).map_err(xlsx_err)?;
            ws.write_string(r, 1, &t.title).map_err(xlsx_err)?;
        }
        ws.set_column_width(0, 24).map_err(xlsx_err)?;
        ws.set_column_width(1, 60).map_err(xlsx_err)?;
    }
    for (t, name) in tables.iter().zip(&names) {
        let ws = wb.add_worksheet();
        ws.set_name(name).map_err(xlsx_err)?;
        ws.write_string_with_format(0, 0, &t.title, &bold).map_err(xlsx_err)?;
        for (c, h) in t.columns.iter().enumerate() {
            ws.write_string_with_format(1, c as u16, h, &bold).map_err(xlsx_err)?;
        }
        for (r, row) in t.rows.iter().enumerate() {
            let r = 2 + r as u32;
            for (c, cell) in row.iter().enumerate() {
                let c = c as u16;
                match cell {
                    DataCell::Empty => {}
                    DataCell::Text(s) => {
                        ws.write_string(r, c, s).map_err(xlsx_err)?;
                    }
                    DataCell::Number {
                        value,
                        decimals,
                        percent,
                    } => {
                        let zeros = "0".repeat(usize::from(*decimals));
                        let mut code = if zeros.is_empty() {
                            "0".to_string()
                        } else {
                            format!("0.{zeros}")
                        };
                        if *percent {
                            code.push('%');
                        }
                        let fmt = Format::new().set_num_format(code);
                        ws.write_number_with_format(r, c, *value, &fmt).map_err(xlsx_err)?;
                    }
                }
            }
        }
        ws.set_column_width(0, 28).map_err(xlsx_err)?;
        ws.set_freeze_panes(2, 1).map_err(xlsx_err)?;
    }
    wb.save_to_buffer().map_err(xlsx_err)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> DataTable {
        DataTable {
            file: "index-tree".into(),
            title: "满意度".into(),
            columns: vec!["指标".into(), "得分".into(), "满意率".into()],
            rows: vec![
                vec![
                    DataCell::text("网络, \"覆盖\""),
                    DataCell::number(Some(62.749), 1),
                    DataCell::percent(Some(0.4567), 1),
                ],
                vec![
                    DataCell::text("计费"),
                    DataCell::number(Some(-0.01), 1),
                    DataCell::Empty,
                ],
            ],
        }
    }

    #[test]
    fn csv_has_bom_quotes_and_page_rounding() {
        let csv = String::from_utf8(sample().to_csv()).unwrap();
        assert!(csv.starts_with('\u{feff}'));
        assert_eq!(
            csv.trim_start_matches('\u{feff}'),
            "指标,得分,满意率 (%)\r\n\"网络, \"\"覆盖\"\"\",62.7,45.7\r\n计费,0.0,\r\n"
        );
    }

    #[test]
    fn workbook_is_reproducible_and_sheet_names_are_valid() {
        let t = sample();
        let mut long = t.clone();
        long.file = "an-analysis-with-a-very-long-identifier-name".into();
        let a = workbook("w", &[t.clone(), long.clone(), long.clone()]).unwrap();
        let b = workbook("w", &[t, long.clone(), long]).unwrap();
        assert_eq!(a, b);
        assert_eq!(&a[..2], b"PK");
        let mut used = vec![];
        let n1 = sheet_name("a[b]", &mut used);
        let n2 = sheet_name("A[B]", &mut used);
        assert_eq!(n1, "a_b_");
        assert_eq!(n2, "A_B_~2");
        let n3 = sheet_name(&"x".repeat(40), &mut used);
        assert_eq!(n3.chars().count(), 31);
    }
}
