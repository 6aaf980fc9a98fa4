//! A file holding several waves, read once for all of them: each row goes to the
//! part (wave) its wave column names, is checked only on the columns its part
//! reads, and counts in its part's report; ids are duplicates within a part only;
//! rows of no part are not read. The same whatever the chunk size, the number of
//! threads and the format (CSV, Parquet with a text or a number wave column).

use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use csi_data::{
    scan, scan_numbers, scan_numbers_in_parts, ColumnKind, ColumnPlan, DataFile, DataPolicy, DataReport, IssueKind,
    NumericRows, Parallelism, Parts, PartsReport, Policy, Unclaimed,
};

/// id, q1, the first wave's weight, the second wave's weight, a segment.
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
            name: "w1".into(),
            kind: ColumnKind::Weight,
        },
        ColumnPlan {
            name: "w2".into(),
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

/// Waves 2001 (weighted by w1) and 2002 (by w2) of a file with a `wave` column.
fn parts() -> Parts {
    Parts {
        column: "wave".into(),
        values: vec![vec!["2001".into()], vec!["2002".into()]],
        reads: vec![vec![true, true, true, false, true], vec![true, true, false, true, true]],
        others: Vec::new(),
    }
}

const CSV: &str = "\
id,wave,q1,w1,w2,seg
a,2001,5,1,,1
b,2001,7,2,,2
a,2002,3,,1.5,1
c,2002,abc,,2,1
d,2003,1,,,x
b,2001,8,1,,9
e,,5,1,1,1
f,2002.0,4,,1,2
";

/// Per part, its rows as (q1, weight) in file order, and the reports.
type Read = (Vec<Vec<(Option<f64>, f64)>>, PartsReport);

fn read(file: &DataFile, policy: &DataPolicy, how: Parallelism) -> Read {
    let mut rows: Vec<Vec<(Option<f64>, f64)>> = vec![Vec::new(); 2];
    let reports = scan_numbers_in_parts(
        file,
        &plan(),
        policy,
        how,
        &Vec::new,
        &|acc: &mut Vec<(usize, Option<f64>, f64)>, batch: &NumericRows| {
            let weight = [2, 3][batch.part()];
            for r in batch.rows() {
                let other = [3, 2][batch.part()];
                assert!(r[other].is_nan(), "another wave's weight is not read");
                acc.push((batch.part(), (!r[1].is_nan()).then_some(r[1]), r[weight]));
            }
        },
        &mut |acc| {
            for (part, q, w) in acc {
                rows[part].push((q, w));
            }
        },
    )
    .unwrap();
    (rows, reports)
}

fn issue(report: &DataReport, kind: IssueKind) -> Option<(u64, Vec<(u64, String)>)> {
    report
        .issues
        .iter()
        .find(|i| i.kind == kind)
        .map(|i| (i.count, i.first.clone()))
}

/// What every reading of the file must give.
fn check(read: &Read, line: &dyn Fn(u64) -> u64) {
    let (rows, report) = read;
    assert_eq!(rows[0], vec![(Some(5.0), 1.0), (Some(7.0), 2.0), (Some(8.0), 1.0)]);
    assert_eq!(rows[1], vec![(Some(3.0), 1.5), (None, 2.0), (Some(4.0), 1.0)]);
    let [first, second] = &report.parts[..] else {
        panic!("one report per part: {report:?}")
    };
    // Rows no wave takes are counted, with their values, in file order.
    assert_eq!(
        report.unclaimed,
        Unclaimed {
            rows: 2,
            values: vec![("2003".into(), 1), (String::new(), 1)],
        }
    );
    assert_eq!((first.rows_read, first.rows_used), (3, 3));
    assert_eq!((second.rows_read, second.rows_used), (3, 3));
    // The first wave: `b` twice (its own duplicate), an unknown segment; no
    // invalid weight for the empty w2 it does not read.
    assert_eq!(
        issue(first, IssueKind::DuplicateId),
        Some((1, vec![(line(6), "b".into())]))
    );
    assert_eq!(
        issue(first, IssueKind::UnknownSegment),
        Some((1, vec![(line(6), "9".into())]))
    );
    assert_eq!(first.issues.len(), 2, "{:?}", first.issues);
    // The second: `a` again is not a duplicate of the first wave's `a`.
    assert_eq!(
        issue(second, IssueKind::NonNumeric),
        Some((1, vec![(line(4), "abc".into())]))
    );
    assert_eq!(second.issues.len(), 1, "{:?}", second.issues);
}

fn every_way() -> Vec<Parallelism> {
    let mut ways = Vec::new();
    for chunk_bytes in [1, 7, 30, 1 << 20] {
        for threads in [1, 2, 3] {
            ways.push(Parallelism { threads, chunk_bytes });
        }
    }
    ways
}

#[test]
fn a_csv_file_of_two_waves_reads_each_waves_rows_with_its_own_checks() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("responses.csv");
    std::fs::write(&path, CSV).unwrap();
    let file = DataFile {
        parts: Some(parts()),
        ..DataFile::new(&path)
    };
    // The nth data row is on line n + 1.
    for how in every_way() {
        check(&read(&file, &DataPolicy::default(), how), &|n| n + 1);
    }
    // Under `duplicate_id: exclude` ids are checked on one thread, live.
    let exclude = DataPolicy {
        duplicate_id: Policy::Exclude,
        ..DataPolicy::default()
    };
    let (rows, report) = read(
        &file,
        &exclude,
        Parallelism {
            threads: 2,
            chunk_bytes: 1,
        },
    );
    assert_eq!(rows[0].len(), 2, "the second `b` of the first wave is dropped");
    assert_eq!((report.parts[0].rows_read, report.parts[0].rows_used), (3, 2));
    assert_eq!(rows[1].len(), 3, "`a` of the second wave is kept");
    // The rows of another wave of the file, not read now, are not unclaimed.
    let with_others = DataFile {
        parts: Some(Parts {
            others: vec!["2003.0".into()],
            ..parts()
        }),
        ..DataFile::new(&path)
    };
    let (_, report) = read(&with_others, &DataPolicy::default(), Parallelism::all_cores(1 << 20));
    assert_eq!(report.unclaimed.values, vec![(String::new(), 1)]);
    // The one-report reader refuses a file of several parts.
    let err = scan_numbers(
        &file,
        &plan(),
        &DataPolicy::default(),
        Parallelism::all_cores(1 << 20),
        &|| (),
        &|_: &mut (), _: &NumericRows| {},
        &mut |_| {},
    )
    .unwrap_err();
    assert!(err.to_string().contains("scan_numbers_in_parts"), "{err}");
}

#[test]
fn a_parquet_file_of_two_waves_reads_as_the_csv_does() {
    let dir = tempfile::tempdir().unwrap();
    let text = |v: Vec<Option<&str>>| Arc::new(StringArray::from(v)) as ArrayRef;
    let num = |v: Vec<Option<f64>>| Arc::new(Float64Array::from(v)) as ArrayRef;
    let columns = |wave: ArrayRef| {
        vec![
            ("id", text(["a", "b", "a", "c", "d", "b", "e", "f"].map(Some).to_vec())),
            ("wave", wave),
            (
                "q1",
                text(vec![
                    Some("5"),
                    Some("7"),
                    Some("3"),
                    Some("abc"),
                    Some("1"),
                    Some("8"),
                    Some("5"),
                    Some("4"),
                ]),
            ),
            (
                "w1",
                num(vec![Some(1.0), Some(2.0), None, None, None, Some(1.0), Some(1.0), None]),
            ),
            (
                "w2",
                num(vec![None, None, Some(1.5), Some(2.0), None, None, Some(1.0), Some(1.0)]),
            ),
            (
                "seg",
                text(vec![
                    Some("1"),
                    Some("2"),
                    Some("1"),
                    Some("1"),
                    Some("x"),
                    Some("9"),
                    Some("1"),
                    Some("2"),
                ]),
            ),
        ]
    };
    let as_text = text(vec![
        Some("2001"),
        Some("2001"),
        Some("2002"),
        Some("2002"),
        Some("2003"),
        Some("2001"),
        None,
        Some("2002.0"),
    ]);
    let as_number: ArrayRef = Arc::new(Int64Array::from(vec![
        Some(2001),
        Some(2001),
        Some(2002),
        Some(2002),
        Some(2003),
        Some(2001),
        None,
        Some(2002),
    ]));
    for (name, wave) in [("text", as_text), ("number", as_number)] {
        let path = dir.path().join(format!("responses-{name}.parquet"));
        let batch = RecordBatch::try_from_iter(columns(wave)).unwrap();
        let props = parquet::file::properties::WriterProperties::builder()
            .set_max_row_group_row_count(Some(3))
            .build();
        let mut writer =
            parquet::arrow::ArrowWriter::try_new(std::fs::File::create(&path).unwrap(), batch.schema(), Some(props))
                .unwrap();
        writer.write(&batch).unwrap();
        writer.close().unwrap();
        let file = DataFile {
            parts: Some(parts()),
            ..DataFile::new(&path)
        };
        // Rows are numbered from 1.
        for how in every_way() {
            check(&read(&file, &DataPolicy::default(), how), &|n| n);
        }
    }
}

#[test]
fn the_rows_of_one_wave_of_a_shared_file_are_its_arrow_batches() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("responses.csv");
    std::fs::write(&path, CSV).unwrap();
    let one = Parts {
        values: vec![vec!["2002".into()]],
        reads: vec![vec![true, true, false, true, true]],
        others: vec!["2001".into()],
        ..parts()
    };
    let file = DataFile {
        parts: Some(one),
        ..DataFile::new(&path)
    };
    let mut ids = Vec::new();
    let policy = DataPolicy {
        non_numeric: Policy::Exclude,
        ..DataPolicy::default()
    };
    let report = scan(&file, &plan(), &policy, &mut |b| {
        assert_eq!(b.num_columns(), plan().len(), "the wave column is not passed on");
        let id = b.column(0).as_any().downcast_ref::<StringArray>().unwrap();
        ids.extend((0..b.num_rows()).map(|i| id.value(i).to_string()));
        Ok(())
    })
    .unwrap();
    assert_eq!(ids, ["a", "c", "f"]);
    assert_eq!((report.rows_read, report.rows_used), (3, 3));
    let issues: Vec<_> = report.issues.iter().map(|i| (i.kind, i.count)).collect();
    assert_eq!(issues, [(IssueKind::NonNumeric, 1)]);
}
