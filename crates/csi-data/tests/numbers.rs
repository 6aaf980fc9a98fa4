//! The statistics pass's reader (`scan_numbers`) sees what the Arrow reader sees,
//! whatever the chunk size and the number of threads: the same rows in the same
//! order, the same problems at the same lines.

use arrow_array::{Array, Float64Array, StringArray};
use csi_data::{
    scan, scan_numbers, ColumnKind, ColumnPlan, DataError, DataFile, DataPolicy, DataReport, NumericRows, Parallelism,
    Policy,
};

fn plan() -> Vec<ColumnPlan> {
    vec![
        ColumnPlan {
            name: "id".into(),
            kind: ColumnKind::Id,
        },
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
        ColumnPlan {
            name: "age".into(),
            kind: ColumnKind::Banded {
                bands: vec![(None, Some(29.0)), (Some(30.0), None)],
            },
        },
    ]
}

/// A row as both readers can give it: answer, weight, segment code, age.
type Row = (Option<f64>, f64, Option<String>, Option<f64>);

fn write(dir: &tempfile::TempDir, bytes: &[u8]) -> std::path::PathBuf {
    let path = dir.path().join("data.csv");
    std::fs::write(&path, bytes).unwrap();
    path
}

fn by_arrow(path: &std::path::Path, policy: &DataPolicy) -> Result<(Vec<Row>, DataReport), DataError> {
    let mut rows = Vec::new();
    let report = scan(&DataFile::new(path), &plan(), policy, &mut |b| {
        let num = |i: usize| b.column(i).as_any().downcast_ref::<Float64Array>().unwrap().clone();
        let (q, w, age) = (num(1), num(2), num(4));
        let seg = b.column(3).as_any().downcast_ref::<StringArray>().unwrap();
        for i in 0..b.num_rows() {
            rows.push((
                (!q.is_null(i)).then(|| q.value(i)),
                w.value(i),
                (!seg.is_null(i)).then(|| seg.value(i).to_string()),
                (!age.is_null(i)).then(|| age.value(i)),
            ));
        }
        Ok(())
    })?;
    Ok((rows, report))
}

fn by_numbers(
    path: &std::path::Path,
    policy: &DataPolicy,
    how: Parallelism,
) -> Result<(Vec<Row>, DataReport), DataError> {
    let codes = ["1", "2"];
    let mut rows = Vec::new();
    let mut chunks = 0;
    let report = scan_numbers(
        &DataFile::new(path),
        &plan(),
        policy,
        how,
        &Vec::new,
        &|acc: &mut Vec<Row>, batch: &NumericRows| {
            for r in batch.rows() {
                assert!(r[0].is_nan(), "ids are not passed on as numbers");
                let some = |x: f64| (!x.is_nan()).then_some(x);
                acc.push((
                    some(r[1]),
                    r[2],
                    some(r[3]).map(|g| codes[g as usize].to_string()),
                    some(r[4]),
                ));
            }
        },
        &mut |acc: Vec<Row>| {
            chunks += 1;
            rows.extend(acc);
        },
    )?;
    assert!(chunks >= 1);
    Ok((rows, report))
}

/// Every chunk size from one byte up, on one, two and three threads.
fn every_way() -> Vec<Parallelism> {
    let mut ways = Vec::new();
    for chunk_bytes in [1, 2, 3, 5, 8, 13, 21, 34, 55, 1 << 20] {
        for threads in [1, 2, 3] {
            ways.push(Parallelism { threads, chunk_bytes });
        }
    }
    ways
}

fn same_everywhere(bytes: &[u8], policy: &DataPolicy) {
    let dir = tempfile::tempdir().unwrap();
    let path = write(&dir, bytes);
    let want = by_arrow(&path, policy).map_err(|e| e.to_string());
    for how in every_way() {
        let got = by_numbers(&path, policy, how).map_err(|e| e.to_string());
        assert_eq!(got, want, "{how:?} on {:?}", String::from_utf8_lossy(bytes));
    }
}

const EXCLUDE: DataPolicy = DataPolicy {
    non_numeric: Policy::Exclude,
    out_of_range: Policy::Exclude,
    invalid_weight: Policy::Exclude,
    duplicate_id: Policy::Exclude,
    unknown_segment: Policy::Exclude,
};

#[test]
fn clean_files_read_the_same_in_any_chunks() {
    let header = "id,q1,w,seg,age\n";
    let mut body = String::from(header);
    for i in 0..40 {
        body.push_str(&format!(
            "r{i},{},{}.5,{},{}\n",
            1 + i % 10,
            1 + i % 3,
            1 + i % 2,
            18 + i
        ));
    }
    same_everywhere(body.as_bytes(), &DataPolicy::default());
    // Lines ended by `\r` alone are cut into chunks too.
    same_everywhere(body.replace('\n', "\r").as_bytes(), &DataPolicy::default());
    // CRLF, a byte-order mark, no final line end, blank lines, quoted fields holding
    // delimiters, line ends and escaped quotes, a quote inside an unquoted field.
    let tricky = "\u{feff}id,\"q1\",w,seg,age\r\nr1,7,1,1,20\r\n\r\n\"r,2\",\"8\",2,\"2\",31\r\n\"r\n3\",9,1,2.0,40\r\nr\"4,5,1,1,\"2\"\"\"\r\nr5,6,1,1,50";
    let tricky = tricky.replace("\"2\"\"\"", "22");
    same_everywhere(tricky.as_bytes(), &DataPolicy::default());
    let quoted = "id,q1,w,seg,age\n\"a \"\"quoted\"\"\nid\",7,1,1,20\nb,8,1,2,30\n\"c\",\"\",1,\"\",\n";
    same_everywhere(quoted.as_bytes(), &DataPolicy::default());
}

#[test]
fn problems_are_found_and_located_in_any_chunks() {
    let data = b"id,q1,w,seg,age\nr1,7,1,1,20\nr2,x,1,1,20\nr3,11,1,1,20\n\n\nr4,5,0,3,20\nr1,5,1,1,-5\nr5,99,1,1,20\nr5,4,1,9,20\n";
    same_everywhere(data, &DataPolicy::default());
    same_everywhere(data, &EXCLUDE);
    let dir = tempfile::tempdir().unwrap();
    let path = write(&dir, data);
    let err = by_numbers(
        &path,
        &DataPolicy::default(),
        Parallelism {
            threads: 2,
            chunk_bytes: 7,
        },
    )
    .unwrap_err();
    let text = err.to_string();
    for want in [
        "line 3: `x`",
        "line 4: `11`",
        "line 7: `0`",
        "line 8: `r1`, line 10: `r5`",
        "line 7: `3`",
    ] {
        assert!(text.contains(want), "{want} missing from {text}");
    }
}

#[test]
fn the_first_broken_row_in_the_file_is_the_one_reported() {
    let mut data = String::from("id,q1,w,seg,age\n");
    for i in 0..30 {
        data.push_str(&format!("r{i},7,1,1,20\n"));
    }
    data.push_str("broken,7\n");
    for i in 30..60 {
        data.push_str(&format!("r{i},7,1,1\n"));
    }
    same_everywhere(data.as_bytes(), &DataPolicy::default());
    let dir = tempfile::tempdir().unwrap();
    let path = write(&dir, data.as_bytes());
    let err = by_numbers(
        &path,
        &DataPolicy::default(),
        Parallelism {
            threads: 3,
            chunk_bytes: 16,
        },
    )
    .unwrap_err();
    assert!(err.to_string().contains(":32: this row has 2 fields"), "{err}");
}

#[test]
fn parquet_row_groups_read_in_parallel_with_the_same_checks() {
    use arrow_array::{ArrayRef, RecordBatch};
    use std::sync::Arc;
    let id: ArrayRef = Arc::new(StringArray::from(vec!["a", "b", "a", "c"]));
    let q1: ArrayRef = Arc::new(StringArray::from(vec![Some("7"), Some("x"), None, Some("99")]));
    let w: ArrayRef = Arc::new(Float64Array::from(vec![Some(1.0), Some(1.0), Some(-1.0), Some(2.0)]));
    let seg: ArrayRef = Arc::new(StringArray::from(vec![Some("1"), Some("2"), Some("1"), Some("9")]));
    let age: ArrayRef = Arc::new(Float64Array::from(vec![Some(20.0), Some(31.0), None, Some(40.0)]));
    let batch = RecordBatch::try_from_iter(vec![("id", id), ("q1", q1), ("w", w), ("seg", seg), ("age", age)]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data.parquet");
    // Row groups of one row: a duplicate id and each problem in a group of its own.
    let props = parquet::file::properties::WriterProperties::builder()
        .set_max_row_group_row_count(Some(1))
        .build();
    let mut writer =
        parquet::arrow::ArrowWriter::try_new(std::fs::File::create(&path).unwrap(), batch.schema(), Some(props))
            .unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
    let groups = parquet::file::reader::FileReader::metadata(
        &parquet::file::reader::SerializedFileReader::new(std::fs::File::open(&path).unwrap()).unwrap(),
    )
    .num_row_groups();
    assert_eq!(groups, 4);
    let err = by_numbers(
        &path,
        &DataPolicy::default(),
        Parallelism {
            threads: 3,
            chunk_bytes: 1,
        },
    )
    .unwrap_err();
    let text = err.to_string();
    for want in ["row 2: `x`", "row 3: `-1`", "row 3: `a`", "row 4: `9`"] {
        assert!(text.contains(want), "{want} missing from {text}");
    }
    for policy in [DataPolicy::default(), EXCLUDE] {
        let want = by_arrow(&path, &policy).map_err(|e| e.to_string());
        for how in every_way() {
            assert_eq!(by_numbers(&path, &policy, how).map_err(|e| e.to_string()), want);
        }
    }
}

#[test]
fn numeric_segment_codes_in_parquet_find_their_groups() {
    use arrow_array::{ArrayRef, Int64Array, RecordBatch};
    use std::sync::Arc;
    let id: ArrayRef = Arc::new(StringArray::from(vec!["a", "b", "c", "d"]));
    let q1: ArrayRef = Arc::new(Float64Array::from(vec![7.0, 8.0, 9.0, 6.0]));
    let w: ArrayRef = Arc::new(Float64Array::from(vec![1.0, 1.0, 1.0, 1.0]));
    let seg: ArrayRef = Arc::new(Int64Array::from(vec![Some(2), Some(1), None, Some(9)]));
    let age: ArrayRef = Arc::new(Float64Array::from(vec![20.0, 31.0, 40.0, 50.0]));
    let batch = RecordBatch::try_from_iter(vec![("id", id), ("q1", q1), ("w", w), ("seg", seg), ("age", age)]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data.parquet");
    let mut writer =
        parquet::arrow::ArrowWriter::try_new(std::fs::File::create(&path).unwrap(), batch.schema(), None).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
    let how = Parallelism {
        threads: 2,
        chunk_bytes: 1,
    };
    let err = by_numbers(&path, &DataPolicy::default(), how).unwrap_err();
    assert!(err.to_string().contains("row 4: `9`"), "{err}");
    let (rows, _) = by_numbers(&path, &EXCLUDE, how).unwrap();
    let groups: Vec<Option<String>> = rows.into_iter().map(|r| r.2).collect();
    assert_eq!(groups, [Some("2".into()), Some("1".into()), None, None]);
}

/// A panic while accumulating one chunk reaches the caller; the read does not hang
/// waiting for that chunk.
#[test]
fn a_panic_in_a_chunk_reaches_the_caller() {
    let mut data = String::from("id,q1,w,seg,age\n");
    for i in 0..200 {
        data.push_str(&format!("r{i},{},1,1,20\n", if i == 150 { 10 } else { 7 }));
    }
    let dir = tempfile::tempdir().unwrap();
    let path = write(&dir, data.as_bytes());
    for threads in [1, 2, 3] {
        let outcome = std::panic::catch_unwind(|| {
            scan_numbers(
                &DataFile::new(&path),
                &plan(),
                &DataPolicy::default(),
                Parallelism {
                    threads,
                    chunk_bytes: 64,
                },
                &|| (),
                &|_: &mut (), rows: &NumericRows| {
                    assert!(rows.rows().all(|r| r[1] != 10.0), "a bug in the accumulator")
                },
                &mut |_| {},
            )
        });
        assert!(outcome.is_err(), "{threads} threads");
    }
}
