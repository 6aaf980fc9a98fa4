//! SPSS files written by independent tools (pyreadstat, on ReadStat: see
//! tests/fixtures/formats/make_formats.py; GNU PSPP for a file in the GBK code
//! page: tests/fixtures/spss-gbk): the cases read as the CSV copy's rows,
//! declared missing values (discrete and ranges) read as missing, Chinese text and
//! a string over 255 bytes intact, problems at their case numbers, and the
//! dictionary's labels and missing values as the file declares them.
#![cfg(feature = "spss")]

use arrow_array::{Array, Float64Array, StringArray};
use csi_data::{scan, ColumnKind, ColumnPlan, DataFile, DataPolicy, LabelledValue, MissingValue};

fn formats() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/formats")
}

fn measure(name: &str, max: f64, missing: &[f64]) -> ColumnPlan {
    ColumnPlan {
        name: name.into(),
        kind: ColumnKind::Measure {
            min: 0.0,
            max,
            missing: missing.to_vec(),
        },
    }
}

fn plan(q1_max: f64) -> Vec<ColumnPlan> {
    vec![
        ColumnPlan {
            name: "编号".into(),
            kind: ColumnKind::Id,
        },
        measure("q1", q1_max, &[99.0, -99.0, 0.0]),
        measure("t4", 60.0, &[-1.0]),
        ColumnPlan {
            name: "w".into(),
            kind: ColumnKind::Weight,
        },
        ColumnPlan {
            name: "客户类型".into(),
            kind: ColumnKind::Category {
                codes: ["普通", "高端", "预付费"].map(csi_study::normalise_code).to_vec(),
            },
        },
    ]
}

type Row = (String, Option<f64>, Option<f64>, f64, String);

fn read(path: &std::path::Path, plan: &[ColumnPlan]) -> Result<Vec<Row>, String> {
    let mut rows = Vec::new();
    scan(&DataFile::new(path), plan, &DataPolicy::default(), &mut |b| {
        let text = |c: usize| b.column(c).as_any().downcast_ref::<StringArray>().unwrap().clone();
        let number = |c: usize| b.column(c).as_any().downcast_ref::<Float64Array>().unwrap().clone();
        let (id, q1, t4, w, kind) = (text(0), number(1), number(2), number(3), text(4));
        for i in 0..b.num_rows() {
            let opt = |a: &Float64Array| (!a.is_null(i)).then(|| a.value(i));
            rows.push((id.value(i).into(), opt(&q1), opt(&t4), w.value(i), kind.value(i).into()));
        }
        Ok(())
    })
    .map_err(|e| e.to_string())?;
    Ok(rows)
}

#[test]
fn cases_read_as_the_csv_rows() {
    let want = read(&formats().join("data-utf8.csv"), &plan(10.0)).unwrap();
    assert!(want.len() > 100);
    for name in ["data.sav", "data.zsav"] {
        assert_eq!(read(&formats().join(name), &plan(10.0)).unwrap(), want, "{name}");
    }
    // Without the study's missing codes, the file's own declarations make them
    // missing (the CSV copy then has out-of-range values).
    let bare = vec![measure("q1", 10.0, &[]), measure("t4", 60.0, &[])];
    let from_sav = read_numbers(&formats().join("data.sav"), &bare).unwrap();
    let from_csv = read_numbers(&formats().join("data-utf8.csv"), &bare);
    assert!(
        from_csv.is_err(),
        "the CSV's codes are out of range without the study's missing codes"
    );
    let with_codes = read(&formats().join("data-utf8.csv"), &plan(10.0)).unwrap();
    let codes: Vec<_> = with_codes.iter().map(|r| (r.1, r.2)).collect();
    assert_eq!(from_sav, codes);
}

/// Two measures of each row.
type Pairs = Vec<(Option<f64>, Option<f64>)>;

fn read_numbers(path: &std::path::Path, plan: &[ColumnPlan]) -> Result<Pairs, String> {
    let mut rows = Vec::new();
    scan(&DataFile::new(path), plan, &DataPolicy::default(), &mut |b| {
        let number = |c: usize| b.column(c).as_any().downcast_ref::<Float64Array>().unwrap().clone();
        let (q1, t4) = (number(0), number(1));
        for i in 0..b.num_rows() {
            let opt = |a: &Float64Array| (!a.is_null(i)).then(|| a.value(i));
            rows.push((opt(&q1), opt(&t4)));
        }
        Ok(())
    })
    .map_err(|e| e.to_string())?;
    Ok(rows)
}

#[test]
fn problems_are_at_their_case_numbers() {
    let csv = read(&formats().join("data-utf8.csv"), &plan(5.0)).unwrap_err();
    let sav = read(&formats().join("data.sav"), &plan(5.0)).unwrap_err();
    assert!(sav.contains("column `q1`") && sav.contains("first at case "), "{sav}");
    // Case n is the CSV's line n + 1.
    let cases: Vec<u64> = numbers_after(&sav, "case ");
    let lines: Vec<u64> = numbers_after(&csv, "line ");
    assert!(!cases.is_empty());
    assert_eq!(cases, lines.iter().map(|l| l - 1).collect::<Vec<_>>());
}

fn numbers_after(text: &str, word: &str) -> Vec<u64> {
    text.split(word)
        .skip(1)
        .filter_map(|s| s.split(':').next()?.parse().ok())
        .collect()
}

#[test]
fn the_dictionary_is_the_files() {
    let file = DataFile::new(formats().join("data.sav"));
    let dict = csi_data::dictionary(&file)
        .unwrap()
        .expect("an SPSS file has a dictionary");
    assert_eq!(dict.label.as_deref(), Some("迷你测试研究"));
    let var = |n: &str| dict.variables.iter().find(|v| v.name == n).unwrap();
    assert_eq!(var("q1").label.as_deref(), Some("网络覆盖满意度"));
    assert_eq!(var("t4").label.as_deref(), Some("等待时间（分钟）"));
    assert!(var("备注").is_text && !var("q1").is_text);
    assert_eq!(var("q1").missing, [99.0, -99.0, 0.0].map(MissingValue::Number).to_vec());
    assert_eq!(var("t4").missing, vec![MissingValue::Range(-9.0, -1.0)]);
    assert!(var("w").missing.is_empty() && var("w").value_labels.is_empty());
    assert_eq!(
        csi_data::read_header(&file).unwrap(),
        csi_data::read_header(&DataFile::new(formats().join("data-utf8.csv"))).unwrap()
    );
    assert!(csi_data::dictionary(&DataFile::new(formats().join("data.xlsx")))
        .unwrap()
        .is_none());
}

/// Free text with Chinese punctuation, quotes and a string over 255 bytes (stored
/// by SPSS in segments) reads as the CSV copy's.
#[test]
fn long_chinese_strings_are_intact() {
    let long = "营业厅的服务态度很好，但是排队时间太长，".repeat(6);
    assert!(long.len() > 255);
    let remarks = [
        "服务很好，网络稳定",
        "资费\"偏高\",希望优惠",
        "营业厅排队，等了很久",
        "满意",
        &long,
    ];
    let plan = vec![ColumnPlan {
        name: "备注".into(),
        kind: ColumnKind::Category {
            codes: remarks.map(csi_study::normalise_code).to_vec(),
        },
    }];
    let texts = |name: &str| {
        let mut texts = Vec::new();
        scan(
            &DataFile::new(formats().join(name)),
            &plan,
            &DataPolicy::default(),
            &mut |b| {
                let a = b.column(0).as_any().downcast_ref::<StringArray>().unwrap();
                texts.extend((0..a.len()).map(|i| (!a.is_null(i)).then(|| a.value(i).to_string())));
                Ok(())
            },
        )
        .unwrap();
        texts
    };
    let want = texts("data-utf8.csv");
    assert!(want.iter().any(|t| t.as_deref() == Some(long.as_str())));
    assert_eq!(texts("data.sav"), want);
    assert_eq!(texts("data.zsav"), want);
}

/// A file in a legacy code page (GBK, written by GNU PSPP): its labels and text
/// decoded, its declared missing values missing.
#[test]
fn a_gbk_file_reads_in_its_code_page() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/spss-gbk/gbk.sav");
    let file = DataFile::new(&path);
    let dict = csi_data::dictionary(&file).unwrap().unwrap();
    let var = |n: &str| dict.variables.iter().find(|v| v.name == n).unwrap();
    assert_eq!(var("ctype").label.as_deref(), Some("客户类型"));
    assert_eq!(var("q1").label.as_deref(), Some("网络覆盖满意度"));
    assert_eq!(
        var("ctype").value_labels[1],
        (LabelledValue::Number(2.0), "高端客户".to_string())
    );
    assert_eq!(
        var("q1").missing,
        vec![MissingValue::Number(0.0), MissingValue::Number(99.0)]
    );
    let plan = vec![
        measure("q1", 10.0, &[]),
        ColumnPlan {
            name: "city".into(),
            kind: ColumnKind::Category {
                codes: ["北京", "上海", "广州", "深圳"].map(csi_study::normalise_code).to_vec(),
            },
        },
    ];
    let mut rows = Vec::new();
    scan(&file, &plan, &DataPolicy::default(), &mut |b| {
        let q = b.column(0).as_any().downcast_ref::<Float64Array>().unwrap();
        let c = b.column(1).as_any().downcast_ref::<StringArray>().unwrap();
        for i in 0..b.num_rows() {
            rows.push(((!q.is_null(i)).then(|| q.value(i)), c.value(i).to_string()));
        }
        Ok(())
    })
    .unwrap();
    let want: Vec<(Option<f64>, String)> = [
        (Some(7.0), "北京"),
        (None, "上海"),
        (Some(9.0), "广州"),
        (None, "北京"),
        (Some(8.0), "深圳"),
    ]
    .into_iter()
    .map(|(q, c)| (q, c.to_string()))
    .collect();
    assert_eq!(rows, want);
}
