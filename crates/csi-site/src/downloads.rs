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

/// The words downloads use, in the report's language: headers of the columns an
/// interval or a flag adds, the flags themselves, and the contents sheet.
#[derive(Debug, Clone, Copy)]
pub struct DataWords<'a> {
    /// Suffix of an interval's lower-limit column ("lower").
    pub lower: &'a str,
    /// Suffix of an interval's upper-limit column ("upper").
    pub upper: &'a str,
    /// Suffix of a flag column ("flag").
    pub flag: &'a str,
    /// Significantly higher.
    pub sig_up: &'a str,
    /// Significantly lower.
    pub sig_down: &'a str,
    /// Low base.
    pub low_base: &'a str,
    /// A weak cell.
    pub weak: &'a str,
    /// Name of the workbook's contents sheet.
    pub contents: &'a str,
    /// Header of the contents sheet's table column.
    pub table: &'a str,
    /// Header of the contents sheet's sheet column.
    pub sheet: &'a str,
}

impl<'a> DataWords<'a> {
    /// The words of the site's vocabulary `t` (see `text::strings`).
    pub fn from_strings(t: &std::collections::BTreeMap<&'static str, &'a str>) -> Self {
        DataWords {
            lower: t["dl_lower"],
            upper: t["dl_upper"],
            flag: t["dl_flag"],
            sig_up: t["dl_sig_up"],
            sig_down: t["dl_sig_down"],
            low_base: t["dl_low_base"],
            weak: t["dl_weak"],
            contents: t["dl_contents"],
            table: t["dl_table"],
            sheet: t["dl_sheet"],
        }
    }

    fn flag_word(&self, f: Flag) -> &'a str {
        match f {
            Flag::SigUp => self.sig_up,
            Flag::SigDown => self.sig_down,
            Flag::LowBase => self.low_base,
            Flag::Weak => self.weak,
        }
    }
}

/// `text` made safe to open in a spreadsheet: a label that starts with `=`, `+`,
/// `-`, `@`, a tab or a carriage return — or the full-width `＝ ＋ － ＠` that
/// spreadsheets in CJK locales also take as formula signs — would be read as a
/// formula by Excel, LibreOffice or Sheets, so it gets a leading apostrophe
/// (OWASP's rule for CSV injection). Numbers are never text cells, so no figure is
/// touched.
pub fn neutralise_formula(text: &str) -> std::borrow::Cow<'_, str> {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r', '＝', '＋', '－', '＠']) {
        std::borrow::Cow::Owned(format!("'{text}"))
    } else {
        std::borrow::Cow::Borrowed(text)
    }
}

/// A header without the symbols pages use as marks (▲▼†, arrows), which mean
/// nothing in a column name.
fn plain_header(label: &str) -> String {
    let cleaned: String = label
        .chars()
        .filter(|c| !matches!(c, '▲' | '▼' | '†' | '↑' | '↓' | '→' | '←'))
        .collect();
    cleaned.split_whitespace().collect::<Vec<_>>().join(" ")
}

impl DataTable {
    /// The CSV file name (`<file>.csv`).
    pub fn csv_name(&self) -> String {
        format!("{}.csv", self.file)
    }

    /// A report table as a download: every value in a column of its own, as data.
    /// An interval column becomes two numeric columns (lower, upper); flags
    /// (significance, low base) go, in words, to an extra column after each column
    /// that has any; p-values are numbers.
    pub fn from_block(t: &Table, file: String, words: &DataWords) -> Self {
        let flagged: Vec<bool> = (0..t.columns.len())
            .map(|i| t.rows.iter().any(|r| r.flags.get(i).is_some_and(|f| !f.is_empty())))
            .collect();
        let interval: Vec<bool> = (0..t.columns.len())
            .map(|i| t.rows.iter().any(|r| matches!(r.cells.get(i), Some(Cell::Interval(_)))))
            .collect();
        let mut columns = Vec::new();
        for (i, c) in t.columns.iter().enumerate() {
            let label = plain_header(&c.label);
            if interval[i] {
                columns.push(format!("{label} {}", words.lower));
                columns.push(format!("{label} {}", words.upper));
            } else {
                columns.push(label.clone());
            }
            if flagged[i] {
                columns.push(format!("{label} {}", words.flag));
            }
        }
        let number = |x: f64, c: &csi_blocks::Column| match c.kind {
            ColumnKind::Percent => DataCell::percent(Some(x), c.decimals),
            ColumnKind::Count => DataCell::number(Some(x), 0),
            // p-values keep four decimals in CSV (the page shows "< 0.001").
            ColumnKind::PValue => DataCell::number(Some(x), 4),
            _ => DataCell::number(Some(x), c.decimals),
        };
        let rows = t
            .rows
            .iter()
            .map(|r| {
                let mut out = Vec::new();
                for (i, c) in t.columns.iter().enumerate() {
                    let cell = r.cells.get(i);
                    if interval[i] {
                        match cell {
                            Some(Cell::Interval(v)) => {
                                out.push(number(v.low, c));
                                out.push(number(v.high, c));
                            }
                            _ => {
                                out.push(DataCell::Empty);
                                out.push(DataCell::Empty);
                            }
                        }
                    } else {
                        out.push(match cell {
                            Some(Cell::Text(s)) => DataCell::Text(s.clone()),
                            Some(Cell::Number(x)) => number(*x, c),
                            _ => DataCell::Empty,
                        });
                    }
                    if flagged[i] {
                        let marks: Vec<&str> = r
                            .flags
                            .get(i)
                            .into_iter()
                            .flatten()
                            .map(|f| words.flag_word(*f))
                            .collect();
                        out.push(if marks.is_empty() {
                            DataCell::Empty
                        } else {
                            DataCell::Text(marks.join("; "))
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
    /// shown on the page, labels that a spreadsheet would take for a formula
    /// neutralised ([`neutralise_formula`]).
    pub fn to_csv(&self) -> Vec<u8> {
        let mut w = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .from_writer(Vec::from(&b"\xEF\xBB\xBF"[..]));
        let header: Vec<String> = self
            .columns
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let c = neutralise_formula(c);
                if self.percent_column(i) {
                    format!("{c} (%)")
                } else {
                    c.into_owned()
                }
            })
            .collect();
        w.write_record(&header).expect("writing to memory");
        for row in &self.rows {
            let rec: Vec<String> = row
                .iter()
                .map(|c| match c {
                    DataCell::Empty => String::new(),
                    DataCell::Text(s) => neutralise_formula(s).into_owned(),
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
        .collect::<String>()
        .trim_matches('\'')
        .chars()
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

/// All `tables` in one workbook, one sheet each (named after the table's title, in
/// the report's language, shortened to Excel's 31 characters), with a first
/// contents sheet listing them with a link to each. `title` becomes the document
/// title.
pub fn workbook(title: &str, tables: &[DataTable], words: &DataWords) -> Result<Vec<u8>, SiteError> {
    let mut wb = Workbook::new();
    // A fixed creation date keeps the file reproducible byte for byte.
    let date = ExcelDateTime::from_ymd(2000, 1, 1).map_err(xlsx_err)?;
    wb.set_properties(&DocProperties::new().set_title(title).set_creation_datetime(&date));
    let bold = Format::new().set_bold();
    let mut used = vec![words.contents.to_string()];
    let names: Vec<String> = tables
        .iter()
        .map(|t| sheet_name(if t.title.trim().is_empty() { &t.file } else { &t.title }, &mut used))
        .collect();
    {
        let ws = wb.add_worksheet();
        ws.set_name(words.contents).map_err(xlsx_err)?;
        ws.write_string_with_format(0, 0, title, &bold).map_err(xlsx_err)?;
        ws.write_string_with_format(2, 0, words.sheet, &bold)
            .map_err(xlsx_err)?;
        ws.write_string_with_format(2, 1, words.table, &bold)
            .map_err(xlsx_err)?;
        for (i, (t, name)) in tables.iter().zip(&names).enumerate() {
            let r = 3 + i as u32;
            let target = format!("internal:'{}'!A1", name.replace('\'', "''"));
            let link = rust_xlsxwriter::Url::new(target).set_text(name);
            ws.write_url(r, 0, link).map_err(xlsx_err)?;
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
    fn labels_a_spreadsheet_would_run_are_neutralised_and_numbers_are_not() {
        let hostile = [
            "=HYPERLINK(\"http://x\")",
            "+1+1",
            "-2+3",
            "@SUM(A1)",
            "\tx",
            "\rx",
            "＝1+1",
            "＠SUM(A1)",
        ];
        let t = DataTable {
            file: "t".into(),
            title: "t".into(),
            columns: vec!["=cmd".into(), "得分".into()],
            rows: hostile
                .iter()
                .map(|h| vec![DataCell::text(*h), DataCell::number(Some(-2.5), 1)])
                .collect(),
        };
        let csv = String::from_utf8(t.to_csv()).unwrap();
        let mut reader = csv::ReaderBuilder::new().from_reader(csv.trim_start_matches('\u{feff}').as_bytes());
        assert_eq!(&reader.headers().unwrap()[0], "'=cmd");
        for (record, h) in reader.records().zip(hostile) {
            let record = record.unwrap();
            assert_eq!(&record[0], format!("'{h}"));
            assert_eq!(&record[1], "-2.5", "figures are numbers, never touched");
        }
        for safe in ["网络", "A-1", "1-2 分", " =x"] {
            assert_eq!(neutralise_formula(safe), safe);
        }
    }

    #[test]
    fn intervals_and_p_values_are_numbers_and_flags_are_words() {
        let t: Table = serde_json::from_str(
            r#"{"title":"差距","columns":[{"label":"指标"},{"label":"差距 ▲▼","signed":true},
            {"label":"区间","signed":true},{"label":"p","kind":"p_value"}],
            "rows":[{"cells":["网络",-2.5,{"low":-3.25,"high":-1.75},0.00002],"flags":[[],["sig_down"],[],[]]},
                    {"cells":["计费",0.4,null,0.62]}]}"#,
        )
        .unwrap();
        let strings = crate::text::strings("zh");
        let d = DataTable::from_block(&t, "gap-1".into(), &DataWords::from_strings(&strings));
        assert_eq!(d.columns, ["指标", "差距", "差距 标记", "区间 下限", "区间 上限", "p"]);
        let csv = String::from_utf8(d.to_csv()).unwrap();
        assert_eq!(
            csv.trim_start_matches('\u{feff}'),
            "指标,差距,差距 标记,区间 下限,区间 上限,p\r\n网络,-2.5,显著较低,-3.2,-1.8,0.0000\r\n计费,0.4,,,,0.6200\r\n"
        );
    }

    #[test]
    fn workbook_is_reproducible_and_sheet_names_are_valid() {
        let t = sample();
        let mut long = t.clone();
        long.file = "an-analysis-with-a-very-long-identifier-name".into();
        let strings = crate::text::strings("zh");
        let words = DataWords::from_strings(&strings);
        let a = workbook("w", &[t.clone(), long.clone(), long.clone()], &words).unwrap();
        let b = workbook("w", &[t, long.clone(), long], &words).unwrap();
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
