//! The respondent rows handed to plugins: the same values the index is computed
//! from (missing codes already missing), with a schema that describes itself.

use std::path::PathBuf;

use arrow_array::cast::AsArray;
use arrow_array::types::Float64Type;
use arrow_array::{Array, RecordBatchReader};

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

/// Every value of `batches`, column by column, as text (`null` where missing).
fn cells(batches: &[arrow_array::RecordBatch]) -> Vec<Vec<String>> {
    let width = batches.first().map_or(0, |b| b.num_columns());
    (0..width)
        .map(|j| {
            let mut out = Vec::new();
            for b in batches {
                let c = b.column(j);
                for i in 0..b.num_rows() {
                    out.push(if c.is_null(i) {
                        "null".to_string()
                    } else if let Some(f) = c.as_primitive_opt::<Float64Type>() {
                        format!("{:?}", f.value(i))
                    } else {
                        c.as_string::<i32>().value(i).to_string()
                    });
                }
            }
            out
        })
        .collect()
}

/// The example study in a folder of its own, each wave's rows repeated `times`
/// times (ids made unique), so that a wave's file is read in several pieces and
/// handed on in many batches; `corrupt` spoils one answer of the first wave.
fn example_repeated(times: usize, corrupt: bool) -> (tempfile::TempDir, csi_study::Study) {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../reports/telecom");
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("data")).unwrap();
    std::fs::create_dir_all(dir.path().join("narrative")).unwrap();
    std::fs::copy(root.join("study.yaml"), dir.path().join("study.yaml")).unwrap();
    for entry in std::fs::read_dir(root.join("narrative")).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, dir.path().join("narrative").join(path.file_name().unwrap())).unwrap();
    }
    for entry in std::fs::read_dir(root.join("data")).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let mut lines = text.lines();
        let mut out = format!("{}\n", lines.next().unwrap());
        let rows: Vec<&str> = lines.collect();
        for k in 0..times {
            for row in &rows {
                let (id, rest) = row.split_once(',').unwrap();
                out.push_str(&format!("{id}-{k},{rest}\n"));
            }
        }
        if corrupt && path.file_name().unwrap() == "wave-2000.csv" {
            // The overall item (the sixth column) of a row far into the file.
            let at = out.match_indices('\n').nth(rows.len() * times * 3 / 4).unwrap().0 + 1;
            let line_end = at + out[at..].find('\n').unwrap();
            let mut fields: Vec<String> = out[at..line_end].split(',').map(String::from).collect();
            fields[5] = "abc".into();
            out.replace_range(at..line_end, &fields.join(","));
        }
        std::fs::write(dir.path().join("data").join(path.file_name().unwrap()), out).unwrap();
    }
    let study = csi_study::load(&dir.path().join("study.yaml")).unwrap();
    (dir, study)
}

/// The rows a wave's statistics pass feeds are, batch for batch, those a pass of
/// their own reads: for a stream read to its end, one detached after its first
/// batch (the rest from a pass of its own, past the rows already handed on), one
/// detached before it reads anything, while another stream is dropped at once.
/// The figures are those of a pass feeding nobody.
#[test]
fn the_statistics_pass_feeds_the_rows_a_pass_of_their_own_reads() {
    let (_dir, study) = example_repeated(20, false);
    let wave = &study.waves[0];
    let own: Vec<_> = csi_engine::rows_reader(&study, wave).map(Result::unwrap).collect();
    assert!(own.len() > 10, "many batches: {}", own.len());
    let expected = cells(&own);

    let mut feeds = Vec::new();
    let mut readers = Vec::new();
    for how in ["to the end", "detached after one batch", "detached at once", "dropped"] {
        let (feed, rows) = csi_engine::fed_rows(&study, wave);
        feeds.push(feed);
        assert_eq!(rows.schema(), csi_engine::rows_schema(&study, wave));
        readers.push(std::thread::spawn(move || {
            let detach = rows.detacher();
            let mut rows = rows;
            let mut read = Vec::new();
            match how {
                "dropped" => return None,
                "detached at once" => detach.detach(),
                "detached after one batch" => {
                    read.push(rows.next().unwrap().unwrap());
                    detach.detach();
                }
                _ => {}
            }
            read.extend(rows.map(Result::unwrap));
            Some((how, read))
        }));
    }
    let waves: Vec<&csi_study::Wave> = study.waves.iter().collect();
    let mut done = Vec::new();
    let fed =
        csi_engine::compute_waves_feeding_rows(&study, &waves, vec![feeds], &mut |k, r| done.push((k, r.is_ok())));
    assert_eq!(done, [(0, true), (1, true), (2, true)]);
    for reader in readers {
        if let Some((how, read)) = reader.join().unwrap() {
            assert_eq!(cells(&read), expected, "{how}");
        }
    }
    let alone = csi_engine::compute_waves_with_sums(&study, &waves);
    for (a, b) in fed.results.iter().zip(&alone.results) {
        let (a, b) = (&a.as_ref().unwrap().0, &b.as_ref().unwrap().0);
        assert_eq!(serde_json::to_string(a).unwrap(), serde_json::to_string(b).unwrap());
    }
}

/// A wave whose pass fails (a value the data policy refuses) ends the streams it
/// feeds with its error, not with a silent end of the rows; the other waves'
/// streams get their rows.
#[test]
fn a_failed_pass_ends_its_streams_with_its_error() {
    let (_dir, study) = example_repeated(6, true);
    let waves: Vec<&csi_study::Wave> = study.waves.iter().collect();
    let (bad, bad_rows) = csi_engine::fed_rows(&study, waves[0]);
    let (good, good_rows) = csi_engine::fed_rows(&study, waves[1]);
    let read = |rows: csi_engine::FedRows| std::thread::spawn(move || rows.collect::<Vec<_>>());
    let (bad_read, good_read) = (read(bad_rows), read(good_rows));
    let computed = csi_engine::compute_waves_feeding_rows(&study, &waves, vec![vec![bad], vec![good]], &mut |_, _| {});
    let error = computed.results[0].as_ref().err().expect("wave 2000 fails").to_string();
    assert!(error.contains("abc"), "{error}");
    let bad_read = bad_read.join().unwrap();
    let last = bad_read
        .last()
        .unwrap()
        .as_ref()
        .expect_err("the stream ends with an error");
    assert!(last.to_string().contains("abc"), "{last}");
    let good_read = good_read.join().unwrap();
    assert!(good_read.iter().all(Result::is_ok));
    let own: Vec<_> = csi_engine::rows_reader(&study, waves[1]).map(Result::unwrap).collect();
    assert_eq!(
        cells(&good_read.into_iter().map(Result::unwrap).collect::<Vec<_>>()),
        cells(&own)
    );
}

/// A study whose three waves are rows of one file (`wave_column`), interleaved.
fn example_in_one_file() -> (tempfile::TempDir, csi_study::Study) {
    let (dir, _) = example_repeated(2, false);
    let data = dir.path().join("data");
    let mut header = String::new();
    let mut waves: Vec<Vec<String>> = Vec::new();
    for id in ["2000", "2001", "2002"] {
        let text = std::fs::read_to_string(data.join(format!("wave-{id}.csv"))).unwrap();
        let mut lines = text.lines();
        header = format!("{},survey_wave\n", lines.next().unwrap());
        waves.push(lines.map(|l| format!("{l},{id}\n")).collect());
    }
    let mut out = header;
    for i in 0..waves.iter().map(Vec::len).max().unwrap() {
        for rows in &waves {
            if let Some(row) = rows.get(i) {
                out.push_str(row);
            }
        }
    }
    std::fs::write(data.join("all.csv"), out).unwrap();
    let yaml = std::fs::read_to_string(dir.path().join("study.yaml")).unwrap();
    let yaml = ["2000", "2001", "2002"]
        .iter()
        .fold(yaml, |y, id| {
            y.replace(&format!("data: data/wave-{id}.csv"), "data: data/all.csv")
        })
        .replacen("\nwaves:\n", "\nwave_column: survey_wave\nwaves:\n", 1);
    std::fs::write(dir.path().join("study.yaml"), yaml).unwrap();
    let study = csi_study::load(&dir.path().join("study.yaml")).unwrap();
    (dir, study)
}

/// The waves of one file, computed in one pass: each wave's streams get that
/// wave's rows only, those a pass of its own over its part of the file reads.
#[test]
fn a_wave_of_a_shared_file_is_fed_its_own_rows() {
    let (_dir, study) = example_in_one_file();
    let waves: Vec<&csi_study::Wave> = study.waves.iter().collect();
    let mut feeds = Vec::new();
    let mut readers = Vec::new();
    for wave in &waves[..2] {
        let (feed, rows) = csi_engine::fed_rows(&study, wave);
        feeds.push(vec![feed]);
        readers.push(std::thread::spawn(move || rows.map(Result::unwrap).collect::<Vec<_>>()));
    }
    let computed = csi_engine::compute_waves_feeding_rows(&study, &waves, feeds, &mut |_, _| {});
    assert!(computed.results.iter().all(Result::is_ok));
    for (wave, reader) in waves.iter().zip(readers) {
        let own: Vec<_> = csi_engine::rows_reader(&study, wave).map(Result::unwrap).collect();
        let fed = reader.join().unwrap();
        assert_eq!(cells(&fed), cells(&own), "wave {}", wave.id);
        assert!(fed.iter().map(|b| b.num_rows()).sum::<usize>() > 3000);
    }
}

/// Under `duplicate_id: exclude` the file is read on one thread (whether a row is
/// dropped depends on every id before it): the fed rows are still those of a
/// pass of their own, repeated ids left out.
#[test]
fn rows_fed_under_duplicate_exclusion_leave_out_the_repeated_ids() {
    let (dir, _) = example_repeated(6, false);
    let yaml = std::fs::read_to_string(dir.path().join("study.yaml")).unwrap();
    std::fs::write(
        dir.path().join("study.yaml"),
        yaml.replacen("  duplicate_id: error", "  duplicate_id: exclude", 1),
    )
    .unwrap();
    // Every hundredth row of the first wave repeats the id before it.
    let path = dir.path().join("data/wave-2000.csv");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut previous = String::new();
    let mut out = String::new();
    for (i, line) in text.lines().enumerate() {
        let (id, rest) = line.split_once(',').unwrap();
        let id = if i > 1 && i % 100 == 0 {
            previous.clone()
        } else {
            id.to_string()
        };
        out.push_str(&format!("{id},{rest}\n"));
        previous = id;
    }
    std::fs::write(&path, out).unwrap();
    let study = csi_study::load(&dir.path().join("study.yaml")).unwrap();
    let wave = &study.waves[0];
    let (feed, rows) = csi_engine::fed_rows(&study, wave);
    let reader = std::thread::spawn(move || rows.map(Result::unwrap).collect::<Vec<_>>());
    let waves: Vec<&csi_study::Wave> = study.waves.iter().collect();
    let computed = csi_engine::compute_waves_feeding_rows(&study, &waves, vec![vec![feed]], &mut |_, _| {});
    let result = &computed.results[0].as_ref().unwrap().0;
    let own: Vec<_> = csi_engine::rows_reader(&study, wave).map(Result::unwrap).collect();
    let fed = reader.join().unwrap();
    assert_eq!(cells(&fed), cells(&own));
    let n: usize = fed.iter().map(|b| b.num_rows()).sum();
    assert_eq!(n as u64, result.data.rows_used);
    assert!(n < 3012 * 6, "repeated ids are left out: {n}");
}
