//! Containment: a plugin that errors, panics, aborts, hangs or prints fails only its
//! own analysis, in process (error, panic) and in a worker process (all of them);
//! and respondent data reach a plugin unchanged, in process (Arrow C stream) and
//! isolated (Arrow IPC over the pipe), checked on random batches with nulls,
//! strings and dictionary columns.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow_array::builder::{BooleanBuilder, Float64Builder, Int32Builder, StringBuilder, StringDictionaryBuilder};
use arrow_array::types::Int32Type;
use arrow_array::{ArrayRef, RecordBatch, RecordBatchIterator, RecordBatchReader};
use arrow_schema::{DataType, Field, Schema};

use csi_blocks::wire::{Request, PROTOCOL_VERSION};
use csi_blocks::Block;
use csi_plugin_host::{load, Isolation, Origin, Plugin, PluginError, Worker};

fn faulty() -> Plugin {
    let path = csi_plugin_host::built_library("faulty_test_plugin").expect("built as a dev-dependency");
    load(&path, Origin::External).unwrap()
}

fn isolated(seconds: f64) -> Isolation {
    Isolation::Process {
        worker: Worker {
            program: PathBuf::from(env!("CARGO_BIN_EXE_csi-plugin-worker")),
            args: vec![],
        },
        timeout: Duration::from_secs_f64(seconds),
    }
}

fn request(plugin: &Plugin, mode: &str) -> Request {
    let study =
        csi_study::load(&PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/mini/study.yaml"))
            .unwrap();
    Request {
        protocol: PROTOCOL_VERSION,
        analysis: mode.into(),
        wave: study.waves[0].id.clone(),
        study: csi_engine::study_context(&study),
        options: plugin
            .resolve_options(mode, &serde_json::json!({ "mode": mode }))
            .unwrap(),
    }
}

fn no_statistics() -> (arrow_schema::SchemaRef, Vec<RecordBatch>) {
    (csi_engine::statistics_schema(), vec![])
}

#[test]
fn errors_and_panics_are_contained_in_process_and_isolated() {
    let p = faulty();
    for isolation in [Isolation::InProcess, isolated(60.0)] {
        let err = p
            .run(&request(&p, "error"), no_statistics(), None, &isolation)
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "plugin `faulty` failed: the faulty plugin refuses on purpose",
            "{isolation:?}"
        );
        let err = p
            .run(&request(&p, "panic"), no_statistics(), None, &isolation)
            .unwrap_err();
        assert!(matches!(err, PluginError::Panicked { .. }), "{err}");
        assert!(err.to_string().contains("panics on purpose"), "{err}");
        // And the same plugin still works afterwards.
        let ok = p.run(&request(&p, "ok"), no_statistics(), None, &isolation).unwrap();
        assert_eq!(ok.title.as_deref(), Some("faulty"));
    }
}

#[test]
fn an_aborting_plugin_fails_only_its_analysis_when_isolated() {
    let p = faulty();
    let err = p
        .run(&request(&p, "abort"), no_statistics(), None, &isolated(60.0))
        .unwrap_err();
    assert!(matches!(err, PluginError::Crashed { .. }), "{err}");
    let msg = err.to_string();
    assert!(msg.contains("signal 6 (SIGABRT"), "{msg}");
    assert!(
        msg.contains("faulty: about to abort"),
        "its standard error is quoted: {msg}"
    );
}

#[test]
fn a_hanging_plugin_is_stopped_at_its_timeout() {
    let p = faulty();
    let started = Instant::now();
    let err = p
        .run(&request(&p, "hang"), no_statistics(), None, &isolated(1.0))
        .unwrap_err();
    assert!(matches!(err, PluginError::TimedOut { .. }), "{err}");
    assert!(err.to_string().contains("within 1 s"), "{err}");
    // Stopped, not waited for: well under the plugin's endless loop.
    assert!(started.elapsed() < Duration::from_secs(30));
}

#[test]
fn a_plugin_printing_to_standard_output_cannot_corrupt_its_answer() {
    let p = faulty();
    let ok = p
        .run(&request(&p, "print"), no_statistics(), None, &isolated(60.0))
        .unwrap();
    assert_eq!(ok.title.as_deref(), Some("faulty"));
}

/// A small deterministic generator (splitmix64) for the random batches.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Random batches: float, int, bool, UTF-8 (with Chinese) and dictionary columns,
/// each with random nulls; random batch sizes including empty batches.
fn random_batches(seed: u64) -> (Arc<Schema>, Vec<RecordBatch>) {
    let mut rng = Rng(seed);
    let schema = Arc::new(Schema::new(vec![
        Field::new("score", DataType::Float64, true),
        Field::new("code", DataType::Int32, true),
        Field::new("flag", DataType::Boolean, true),
        Field::new("name", DataType::Utf8, true),
        Field::new(
            "region",
            DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8)),
            true,
        ),
    ]));
    let words = ["北京", "上海", "广州", "", "a,b", "\"quoted\"", "line\nbreak"];
    let null_rate = rng.below(4); // 0: none … 3: many
    let batches = (0..1 + rng.below(4))
        .map(|_| {
            let rows = rng.below(300) as usize;
            let mut f = Float64Builder::new();
            let mut i = Int32Builder::new();
            let mut b = BooleanBuilder::new();
            let mut s = StringBuilder::new();
            let mut d = StringDictionaryBuilder::<Int32Type>::new();
            for _ in 0..rows {
                let null = |rng: &mut Rng| rng.below(8) < null_rate;
                if null(&mut rng) {
                    f.append_null()
                } else {
                    f.append_value((rng.next() as f64 / u64::MAX as f64 - 0.5) * 1e6)
                }
                if null(&mut rng) {
                    i.append_null()
                } else {
                    i.append_value(rng.next() as i32)
                }
                if null(&mut rng) {
                    b.append_null()
                } else {
                    b.append_value(rng.below(2) == 1)
                }
                if null(&mut rng) {
                    s.append_null()
                } else {
                    s.append_value(words[rng.below(words.len() as u64) as usize])
                }
                if null(&mut rng) {
                    d.append_null()
                } else {
                    d.append_value(words[rng.below(3) as usize])
                }
            }
            let cols: Vec<ArrayRef> = vec![
                Arc::new(f.finish()),
                Arc::new(i.finish()),
                Arc::new(b.finish()),
                Arc::new(s.finish()),
                Arc::new(d.finish()),
            ];
            RecordBatch::try_new(schema.clone(), cols).unwrap()
        })
        .collect();
    (schema, batches)
}

/// What the echo plugin should report for `batches`.
fn expected_echo(schema: &Schema, batches: &[RecordBatch]) -> String {
    schema
        .fields()
        .iter()
        .enumerate()
        .map(|(c, f)| {
            let (mut n, mut nulls, mut fp) = (0, 0, 0xcbf2_9ce4_8422_2325u64);
            for b in batches {
                n += b.num_rows();
                nulls += b.column(c).null_count();
                fp = faulty_test_plugin::fingerprint(fp, b.column(c));
            }
            format!("{} {n} {nulls} {fp:016x}", f.name())
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn respondent_rows_reach_the_plugin_unchanged() {
    let p = faulty();
    for seed in 0..40u64 {
        let (schema, batches) = random_batches(seed);
        let expected = expected_echo(&schema, &batches);
        // Isolated runs cost a process each: every fourth seed.
        let modes = if seed % 4 == 0 {
            vec![Isolation::InProcess, isolated(60.0)]
        } else {
            vec![Isolation::InProcess]
        };
        for isolation in modes {
            let rows: Box<dyn RecordBatchReader + Send> = Box::new(RecordBatchIterator::new(
                batches.clone().into_iter().map(Ok),
                schema.clone(),
            ));
            let report = p
                .run(&request(&p, "echo"), no_statistics(), Some(rows), &isolation)
                .unwrap();
            let [Block::Markdown { text }] = &report.blocks[..] else {
                panic!("{report:?}")
            };
            assert_eq!(text, &expected, "seed {seed}, {isolation:?}");
        }
    }
}
