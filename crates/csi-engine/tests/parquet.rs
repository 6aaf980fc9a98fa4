//! The same study read from Parquet (mixed column types: integers with missing
//! codes, floats, dictionary-encoded codes, text ids) gives exactly the figures it
//! gives from CSV, which the golden test pins to the independent implementation.

use std::path::PathBuf;
use std::sync::Arc;

use arrow_array::builder::StringDictionaryBuilder;
use arrow_array::types::Int32Type;
use arrow_array::{ArrayRef, Float64Array, Int32Array, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use parquet::arrow::ArrowWriter;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn parquet_and_csv_give_identical_results() {
    let dir = root().join("tests/fixtures/mini");
    let text = std::fs::read_to_string(dir.join("data.csv")).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    let col = |name: &str| -> Vec<&str> {
        let i = header.iter().position(|h| *h == name).unwrap();
        rows.iter().map(|r| r[i]).collect()
    };
    let ints = |name: &str| -> ArrayRef {
        Arc::new(Int64Array::from(
            col(name).iter().map(|v| v.parse::<i64>().ok()).collect::<Vec<_>>(),
        ))
    };
    let floats = |name: &str| -> ArrayRef {
        Arc::new(Float64Array::from(
            col(name).iter().map(|v| v.parse::<f64>().ok()).collect::<Vec<_>>(),
        ))
    };
    let mut ctype = StringDictionaryBuilder::<Int32Type>::new();
    for v in col("ctype") {
        if v.is_empty() {
            ctype.append_null();
        } else {
            ctype.append_value(v);
        }
    }
    let columns: Vec<(&str, ArrayRef)> = vec![
        ("rid", Arc::new(StringArray::from(col("rid")))),
        ("w", floats("w")),
        ("ctype", Arc::new(ctype.finish())),
        (
            "joined",
            Arc::new(Int32Array::from(
                col("joined").iter().map(|v| v.parse::<i32>().ok()).collect::<Vec<_>>(),
            )),
        ),
        ("q0", ints("q0")),
        ("q1", ints("q1")),
        ("q2", ints("q2")),
        ("q3", ints("q3")),
        ("e1", ints("e1")),
        ("t4", floats("t4")),
    ];
    let schema = Arc::new(Schema::new(
        columns
            .iter()
            .map(|(n, a)| Field::new(*n, a.data_type().clone(), true))
            .collect::<Vec<_>>(),
    ));
    assert!(matches!(
        schema.field_with_name("ctype").unwrap().data_type(),
        DataType::Dictionary(..)
    ));
    let batch = RecordBatch::try_new(schema.clone(), columns.into_iter().map(|(_, a)| a).collect()).unwrap();

    let work = tempfile::tempdir().unwrap();
    let file = std::fs::File::create(work.path().join("data.parquet")).unwrap();
    let mut writer = ArrowWriter::try_new(file, schema, None).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
    let yaml = std::fs::read_to_string(dir.join("study.yaml"))
        .unwrap()
        .replace("data: data.csv", "data: data.parquet");
    std::fs::write(work.path().join("study.yaml"), yaml).unwrap();

    let csv_study = csi_study::load(&dir.join("study.yaml")).unwrap();
    let pq_study = csi_study::load(&work.path().join("study.yaml")).unwrap();
    assert!(csi_engine::check_columns(&pq_study).unwrap().is_empty());
    let from_csv = csi_engine::compute_wave(&csv_study, &csv_study.waves[0]).unwrap();
    let from_parquet = csi_engine::compute_wave(&pq_study, &pq_study.waves[0]).unwrap();
    assert_eq!(from_csv.cells, from_parquet.cells);
    assert_eq!(from_csv.series, from_parquet.series);
    assert_eq!(from_parquet.data.rows_used, 400);
}
