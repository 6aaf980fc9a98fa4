//! Excel workbooks: the named sheet (else the first), its first row with a cell
//! as the header, cells read as their types say, and problems at the rows Excel
//! shows.

use arrow_array::{Array, Float64Array, StringArray};
use csi_data::{scan, ColumnKind, ColumnPlan, DataError, DataFile, DataPolicy};
use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};

fn plan() -> Vec<ColumnPlan> {
    vec![
        ColumnPlan {
            name: "id".into(),
            kind: ColumnKind::Id,
        },
        ColumnPlan {
            name: "q1".into(),
            kind: ColumnKind::Measure {
                min: 0.0,
                max: 10.0,
                missing: vec![99.0],
            },
        },
        ColumnPlan {
            name: "day".into(),
            kind: ColumnKind::Category {
                codes: vec!["2024-10-01".into(), "2024-10-02".into()],
            },
        },
    ]
}

/// A workbook with notes on its first sheet and answers on `answers`: the
/// header on row 3 from column B, a blank row, a bad answer on row 8, a note
/// right of the table on a row of its own.
fn workbook(path: &std::path::Path, bad: bool) {
    let mut book = Workbook::new();
    book.add_worksheet()
        .set_name("notes")
        .unwrap()
        .write(0, 0, "read me")
        .unwrap();
    let sheet = book.add_worksheet().set_name("answers").unwrap();
    let date = Format::new().set_num_format("yyyy-mm-dd");
    for (c, h) in ["id", "q1", "day", "", "q1x"].iter().enumerate() {
        if !h.is_empty() {
            sheet.write(2, 1 + c as u16, *h).unwrap();
        }
    }
    let rows: [(&str, Option<f64>, u8); 4] = [
        ("a", Some(7.0), 1),
        ("b", None, 2),
        ("c", Some(99.0), 1),
        ("d", Some(3.5), 2),
    ];
    let mut r = 3;
    for (i, (id, q, d)) in rows.iter().enumerate() {
        if i == 2 {
            r += 1; // a blank row
        }
        sheet.write(r, 1, *id).unwrap();
        match (i, q) {
            (3, _) if bad => {
                sheet.write(r, 2, "seven").unwrap();
            }
            (_, Some(q)) => {
                sheet.write(r, 2, *q).unwrap();
            }
            (_, None) => {}
        }
        let day = ExcelDateTime::from_ymd(2024, 10, *d).unwrap();
        sheet.write_datetime_with_format(r, 3, day, &date).unwrap();
        sheet.write(r, 6, "beyond the header").unwrap();
        r += 1;
    }
    // A boolean answer read as 1.
    sheet.write(r, 1, "e").unwrap();
    sheet.write(r, 2, true).unwrap();
    sheet
        .write_datetime_with_format(r, 3, ExcelDateTime::from_ymd(2024, 10, 2).unwrap(), &date)
        .unwrap();
    // A note right of the table, on a row of its own: not a respondent.
    sheet.write(r + 2, 7, "note: wave 2024").unwrap();
    book.save(path).unwrap();
}

type Rows = Vec<(String, Option<f64>, Option<String>)>;

fn read(file: &DataFile) -> Result<Rows, DataError> {
    let mut rows = Vec::new();
    scan(file, &plan(), &DataPolicy::default(), &mut |b| {
        let id = b.column(0).as_any().downcast_ref::<StringArray>().unwrap();
        let q = b.column(1).as_any().downcast_ref::<Float64Array>().unwrap();
        let d = b.column(2).as_any().downcast_ref::<StringArray>().unwrap();
        for i in 0..b.num_rows() {
            rows.push((
                id.value(i).to_string(),
                (!q.is_null(i)).then(|| q.value(i)),
                (!d.is_null(i)).then(|| d.value(i).to_string()),
            ));
        }
        Ok(())
    })?;
    Ok(rows)
}

#[test]
fn a_sheet_reads_as_its_cells_say() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("answers.xlsx");
    workbook(&path, false);
    let file = DataFile {
        sheet: Some("answers".into()),
        ..DataFile::new(&path)
    };
    assert_eq!(
        csi_data::read_header(&file).unwrap(),
        ["", "id", "q1", "day", "", "q1x"]
    );
    assert_eq!(csi_data::sheets(&file).unwrap().unwrap(), ["notes", "answers"]);
    let day = |d: &str| Some(d.to_string());
    assert_eq!(
        read(&file).unwrap(),
        vec![
            ("a".into(), Some(7.0), day("2024-10-01")),
            ("b".into(), None, day("2024-10-02")),
            ("c".into(), None, day("2024-10-01")),
            ("d".into(), Some(3.5), day("2024-10-02")),
            ("e".into(), Some(1.0), day("2024-10-02")),
        ]
    );
    // The first sheet holds no such columns.
    let err = read(&DataFile::new(&path)).unwrap_err().to_string();
    assert!(err.contains("missing column(s) id, q1, day"), "{err}");
    let err = read(&DataFile {
        sheet: Some("Answers".into()),
        ..DataFile::new(&path)
    })
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("no sheet `Answers`; its sheets: `notes`, `answers`"),
        "{err}"
    );
}

#[test]
fn a_bad_cell_is_reported_at_its_sheet_row() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("answers.xlsx");
    workbook(&path, true);
    let file = DataFile {
        sheet: Some("answers".into()),
        ..DataFile::new(&path)
    };
    let err = read(&file).unwrap_err().to_string();
    assert!(
        err.contains("column `q1`: 1 non-numeric value(s), first at row 8: `seven`"),
        "{err}"
    );
}
