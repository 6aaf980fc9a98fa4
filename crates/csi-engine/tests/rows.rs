//! The respondent rows handed to plugins: the same values the index is computed
//! from (missing codes already missing), with a schema that describes itself.

use std::path::PathBuf;

use arrow_array::cast::AsArray;
use arrow_array::types::Float64Type;
use arrow_array::Array;

fn mini() -> csi_study::Study {
    csi_study::load(&PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/mini/study.yaml")).unwrap()
}

#[test]
fn rows_carry_every_respondent_with_roles_and_scales() {
    let study = mini();
    let wave = &study.waves[0];
    let reader = csi_engine::rows_reader(&study, wave);
    let schema = reader.schema();
    assert_eq!(schema, csi_engine::rows_schema(&study, wave));
    assert_eq!(schema.metadata()["csi.study"], "mini");
    assert_eq!(schema.metadata()["csi.wave"], "2024");
    assert_eq!(schema.metadata()["csi.language"], "zh");
    assert_eq!(schema.metadata()["csi.confidence"], "0.95");
    assert_eq!(schema.metadata()["csi.low_base"], study.settings.low_base.to_string());

    let meta = |name: &str| schema.field_with_name(name).unwrap().metadata().clone();
    let q1 = meta("q1");
    assert_eq!(q1["csi.role"], "answer");
    assert_eq!(q1["csi.node"], "coverage");
    assert_eq!(q1["csi.kind"], "indicator");
    assert_eq!(q1["csi.label"], "覆盖");
    assert_eq!((q1["csi.min"].as_str(), q1["csi.max"].as_str()), ("1", "10"));
    assert_eq!(q1["csi.direction"], "higher_is_better");
    assert!(!q1.contains_key("csi.unit"));
    let t4 = meta("t4");
    assert_eq!(
        (t4["csi.unit"].as_str(), t4["csi.direction"].as_str()),
        ("min", "lower_is_better")
    );
    assert_eq!(meta("e1")["csi.role"], "expectation");
    assert_eq!(meta("w")["csi.role"], "weight");
    assert_eq!(meta("q0")["csi.kind"], "overall");
    assert_eq!(meta("rid")["csi.role"], "id");
    assert_eq!(meta("ctype")["csi.segment"], "type");
    assert_eq!(meta("joined")["csi.segment"], "cohort");

    // Every row, in file order; the wait time's missing code -1 is null.
    let text = std::fs::read_to_string(study.dir.join("data.csv")).unwrap();
    let lines: Vec<&str> = text.lines().skip(1).collect();
    let t4_index = schema.index_of("t4").unwrap();
    let mut row = 0;
    for batch in reader {
        let batch = batch.unwrap();
        let t4 = batch.column(t4_index).as_primitive::<Float64Type>();
        for i in 0..batch.num_rows() {
            let cell = lines[row].split(',').nth(9).unwrap();
            match cell {
                "" | "-1" => assert!(t4.is_null(i), "row {row}"),
                v => assert_eq!(t4.value(i), v.parse::<f64>().unwrap(), "row {row}"),
            }
            row += 1;
        }
    }
    assert_eq!(row, lines.len());
}

#[test]
fn a_reader_dropped_early_stops_the_scan() {
    let study = mini();
    let mut reader = csi_engine::rows_reader(&study, &study.waves[0]);
    assert!(reader.next().is_some());
    drop(reader); // the reading thread sees the hang-up and ends; nothing blocks
}

/// A shared pass hands every reader the same batches as a pass of its own, and a
/// reader dropped at once neither blocks the others nor loses them a batch.
#[test]
fn a_shared_pass_feeds_every_reader_the_same_rows() {
    let study = mini();
    let wave = &study.waves[0];
    let own: Vec<_> = csi_engine::rows_reader(&study, wave).map(Result::unwrap).collect();
    let mut readers = csi_engine::shared_rows_readers(&study, wave, 3);
    drop(readers.pop());
    let handles: Vec<_> = readers
        .into_iter()
        .map(|r| std::thread::spawn(move || r.map(Result::unwrap).collect::<Vec<_>>()))
        .collect();
    for h in handles {
        assert_eq!(h.join().unwrap(), own);
    }
}
