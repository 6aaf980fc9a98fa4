//! CSV dialects read the same, and problems are reported with their lines.

use arrow_array::{Array, Float64Array, StringArray};
use csi_data::{scan, ColumnKind, ColumnPlan, DataError, DataFile, DataPolicy, IssueKind, Policy};

fn plan() -> Vec<ColumnPlan> {
    vec![
        ColumnPlan {
            name: "q1".into(),
            kind: ColumnKind::Measure {
                min: 1.0,
                max: 10.0,
                missing: vec![99.0],
            },
        },
        ColumnPlan {
            name: "w".into(),
            kind: ColumnKind::Weight,
        },
        ColumnPlan {
            name: "seg".into(),
            kind: ColumnKind::Category {
                codes: vec!["1".into(), "2".into()],
            },
        },
    ]
}

/// Answers, weights and segment codes as read.
type Columns = (Vec<Option<f64>>, Vec<f64>, Vec<Option<String>>);

fn read(bytes: &[u8], policy: &DataPolicy) -> Result<Columns, DataError> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data.csv");
    std::fs::write(&path, bytes).unwrap();
    let (mut q, mut w, mut s) = (Vec::new(), Vec::new(), Vec::new());
    scan(&DataFile::new(&path), &plan(), policy, &mut |b| {
        let qa = b.column(0).as_any().downcast_ref::<Float64Array>().unwrap();
        let wa = b.column(1).as_any().downcast_ref::<Float64Array>().unwrap();
        let sa = b.column(2).as_any().downcast_ref::<StringArray>().unwrap();
        for i in 0..b.num_rows() {
            q.push((!qa.is_null(i)).then(|| qa.value(i)));
            w.push(wa.value(i));
            s.push((!sa.is_null(i)).then(|| sa.value(i).to_string()));
        }
        Ok(())
    })?;
    Ok((q, w, s))
}

#[test]
fn dialects_read_identically() {
    let comma = "id,q1,w,seg\n1,7,1.5,1\n2,99,0.5,2\n3,,2,\n".as_bytes().to_vec();
    let mut bom_semicolon = vec![0xEF, 0xBB, 0xBF];
    bom_semicolon.extend("id;\"q1\";w;seg\r\n1;7;1,5;\"1\"\r\n2;99;0,5;2.0\r\n3;;2;\r\n".as_bytes());
    let tab = "id\tq1\tw\tseg\n1\t7\t1.5\t1\n2\t99\t0.5\t2\n3\t\t2\t\n"
        .as_bytes()
        .to_vec();
    let want = (
        vec![Some(7.0), None, None],
        vec![1.5, 0.5, 2.0],
        vec![Some("1".to_string()), Some("2".to_string()), None],
    );
    for bytes in [comma, bom_semicolon, tab] {
        assert_eq!(read(&bytes, &DataPolicy::default()).unwrap(), want);
    }
}

#[test]
fn value_problems_are_all_reported_with_lines() {
    let data = b"q1,w,seg\n7,1,1\nx,1,1\n11,1,1\n5,0,3\n";
    let err = read(data, &DataPolicy::default()).unwrap_err();
    let DataError::Invalid { report, .. } = &err else {
        panic!("{err}")
    };
    let kinds: Vec<(IssueKind, &str, u64)> = report
        .issues
        .iter()
        .map(|i| (i.kind, i.column.as_str(), i.first[0].0))
        .collect();
    assert_eq!(
        kinds,
        vec![
            (IssueKind::NonNumeric, "q1", 3),
            (IssueKind::OutOfRange, "q1", 4),
            (IssueKind::InvalidWeight, "w", 5),
            (IssueKind::UnknownSegment, "seg", 5),
        ]
    );
    let text = err.to_string();
    assert!(text.contains("line 3: `x`"), "{text}");
}

#[test]
fn exclude_policy_turns_problems_into_missing_and_drops_bad_weights() {
    let policy = DataPolicy {
        non_numeric: Policy::Exclude,
        out_of_range: Policy::Exclude,
        invalid_weight: Policy::Exclude,
        duplicate_id: Policy::Exclude,
        unknown_segment: Policy::Exclude,
    };
    let (q, w, s) = read(b"q1,w,seg\n7,1,1\nx,1,1\n11,1,1\n5,0,3\n", &policy).unwrap();
    assert_eq!(q, vec![Some(7.0), None, None]);
    assert_eq!(w, vec![1.0, 1.0, 1.0]);
    assert_eq!(s.len(), 3);
}

#[test]
fn structural_problems_stop_with_the_line() {
    let err = read(b"q1,w,seg\n7,1,1\n7,1\n", &DataPolicy::default()).unwrap_err();
    assert!(
        err.to_string()
            .contains(":3: this row has 2 fields but the header has 3"),
        "{err}"
    );
    let err = read(b"q1,w,seg\n7,1,\xff\n", &DataPolicy::default()).unwrap_err();
    assert!(err.to_string().contains("not UTF-8"), "{err}");
    let err = read(b"q1,w\n7,1\n", &DataPolicy::default()).unwrap_err();
    assert!(
        matches!(err, DataError::MissingColumns { ref columns, .. } if columns == &["seg".to_string()]),
        "{err}"
    );
    let err = read(b"", &DataPolicy::default()).unwrap_err();
    assert!(err.to_string().contains("empty"), "{err}");
}

#[test]
fn parquet_values_are_checked_like_csv_cells() {
    use arrow_array::{ArrayRef, Float64Array, RecordBatch, StringArray};
    use std::sync::Arc;
    let q1: ArrayRef = Arc::new(StringArray::from(vec![Some("7"), Some("x"), None, Some("99")]));
    let w: ArrayRef = Arc::new(Float64Array::from(vec![Some(1.0), Some(1.0), Some(-1.0), Some(2.0)]));
    let seg: ArrayRef = Arc::new(StringArray::from(vec![Some("1"), Some("2"), Some("1"), Some("9")]));
    let batch = RecordBatch::try_from_iter(vec![("q1", q1), ("w", w), ("seg", seg)]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data.parquet");
    let mut writer =
        parquet::arrow::ArrowWriter::try_new(std::fs::File::create(&path).unwrap(), batch.schema(), None).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
    assert_eq!(
        csi_data::read_header(&DataFile::new(&path)).unwrap(),
        vec!["q1", "w", "seg"]
    );
    let err = scan(&DataFile::new(&path), &plan(), &DataPolicy::default(), &mut |_| Ok(())).unwrap_err();
    let text = err.to_string();
    for want in ["row 2: `x`", "row 3: `-1`", "row 4: `9`"] {
        assert!(text.contains(want), "{want} missing from {text}");
    }
}

#[test]
fn line_numbers_count_blank_lines_and_thousands_separators_are_not_decimals() {
    let err = read(b"q1,w,seg\n7,1,1\n\n\n\nx,1,1\n", &DataPolicy::default()).unwrap_err();
    assert!(err.to_string().contains("line 6: `x`"), "{err}");
    // "1,250" in a comma file is a quoted thousands-separated number, not 1.25.
    let err = read(b"q1,w,seg\n7,\"1,250\",1\n", &DataPolicy::default()).unwrap_err();
    assert!(err.to_string().contains("invalid weight"), "{err}");
    // In a semicolon file a decimal comma is a decimal comma.
    let (_, w, _) = read(b"q1;w;seg\n7;1,25;1\n", &DataPolicy::default()).unwrap();
    assert_eq!(w, vec![1.25]);
}
