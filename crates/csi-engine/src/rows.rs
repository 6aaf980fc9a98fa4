//! Respondent rows for plugins that ask for them: the wave's data file read again,
//! through the same checks and missing-code handling as the index, as a stream of
//! Arrow record batches whose schema describes itself in metadata (so a plugin in
//! any language can find answers, scales, weights and segments without the JSON
//! study context).
//!
//! Schema metadata: `csi.study`, `csi.wave`, `csi.language`, `csi.confidence`,
//! `csi.low_base`. Field metadata: `csi.role` (`answer`, `expectation`, `weight`,
//! `id`, `segment`); for answers and expectations `csi.node`, `csi.kind`
//! (`indicator` or `overall`), `csi.label`, `csi.min`, `csi.max`, `csi.direction`
//! (`higher_is_better` / `lower_is_better`), `csi.top` (the raw value from which an
//! answer is in the scale's top box: answers at or above it, or at or below it when
//! lower is better; absent when the scale has no top box) and, for non-scale
//! measures, `csi.unit`; for segments `csi.segment`.

use std::collections::HashMap;
use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::Arc;

use arrow_array::{RecordBatch, RecordBatchReader};
use arrow_schema::{ArrowError, Field, Schema, SchemaRef};

use csi_data::{ColumnKind, ColumnPlan};
use csi_stats::Direction;
use csi_study::{Study, Wave};

use crate::{flat, Plan};

/// Batches buffered between the reading thread and each plugin (besides the
/// pieces `csi_data::scan` reads ahead): memory stays bounded whatever the file
/// size.
const IN_FLIGHT: usize = 2;

/// The self-describing schema of `wave`'s respondent rows.
pub fn rows_schema(study: &Study, wave: &Wave) -> SchemaRef {
    let mut nodes = flat::flatten(study);
    let (plan, columns) = Plan::alone(study, wave, &mut nodes);
    schema_for(study, wave, &plan, &columns, &nodes)
}

fn schema_for(study: &Study, wave: &Wave, plan: &Plan, columns: &[ColumnPlan], nodes: &[flat::FlatNode]) -> SchemaRef {
    let mut meta: Vec<HashMap<String, String>> = vec![HashMap::new(); columns.len()];
    for (i, c) in columns.iter().enumerate() {
        let role = match c.kind {
            ColumnKind::Measure { .. } => continue,
            ColumnKind::Weight => "weight",
            ColumnKind::Id => "id",
            ColumnKind::Category { .. } | ColumnKind::Banded { .. } => "segment",
        };
        meta[i].insert("csi.role".into(), role.into());
    }
    for (s, &col) in study.segments.iter().zip(&plan.segments) {
        meta[col].insert("csi.segment".into(), s.id.clone());
    }
    for n in nodes {
        let Some(leaf) = n.leaf.as_ref().filter(|l| l.asked) else {
            continue;
        };
        for (col, role) in [(Some(leaf.column), "answer"), (leaf.expectation, "expectation")] {
            let Some(col) = col else { continue };
            let m = &mut meta[col];
            if m.contains_key("csi.role") {
                continue; // a column shared by two nodes describes the first
            }
            m.insert("csi.role".into(), role.into());
            m.insert("csi.node".into(), n.id.clone());
            let kind = match n.kind {
                crate::NodeKind::Overall => "overall",
                _ => "indicator",
            };
            m.insert("csi.kind".into(), kind.into());
            m.insert("csi.label".into(), study.text(&n.label).to_string());
            m.insert("csi.min".into(), leaf.min.to_string());
            m.insert("csi.max".into(), leaf.max.to_string());
            let direction = match leaf.direction {
                Direction::HigherIsBetter => "higher_is_better",
                Direction::LowerIsBetter => "lower_is_better",
            };
            m.insert("csi.direction".into(), direction.into());
            if let Some(top) = leaf.top_threshold {
                m.insert("csi.top".into(), top.to_string());
            }
            if let Some(u) = &leaf.unit {
                m.insert("csi.unit".into(), u.clone());
            }
        }
    }
    let fields: Vec<Field> = columns
        .iter()
        .zip(meta)
        .map(|(c, m)| Field::new(&c.name, c.kind.data_type(), true).with_metadata(m))
        .collect();
    let schema_meta = HashMap::from([
        ("csi.study".to_string(), study.id.clone()),
        ("csi.wave".to_string(), wave.id.clone()),
        ("csi.language".to_string(), study.language.clone()),
        ("csi.confidence".to_string(), study.settings.confidence.to_string()),
        ("csi.low_base".to_string(), study.settings.low_base.to_string()),
    ]);
    Arc::new(Schema::new_with_metadata(fields, schema_meta))
}

/// A stream of respondent rows, as plugins read them.
pub type RowsReader = Box<dyn RecordBatchReader + Send>;

/// Streams `wave`'s respondent rows: a reading thread scans the data file and hands
/// batches over a bounded channel, so memory stays bounded. A data problem
/// (the file changed since the index was computed) ends the stream with an error.
pub fn rows_reader(study: &Study, wave: &Wave) -> RowsReader {
    shared_rows_readers(study, wave, 1).pop().expect("one reader")
}

/// `consumers` streams of `wave`'s respondent rows from one pass over the data
/// file: each batch is read and checked once and handed to every stream (the
/// batches' columns are shared, not copied). Each stream buffers at most a few
/// batches, so the pass moves at the pace of its slowest reader: read the streams
/// side by side, from threads of their own, or a stream read later waits for one
/// that is never read. A stream dropped early stops receiving; the pass stops when
/// every stream is dropped.
pub fn shared_rows_readers(study: &Study, wave: &Wave, consumers: usize) -> Vec<RowsReader> {
    if consumers == 0 {
        return Vec::new();
    }
    let mut nodes = flat::flatten(study);
    let (plan, columns) = Plan::alone(study, wave, &mut nodes);
    let schema = schema_for(study, wave, &plan, &columns, &nodes);
    let (senders, receivers): (Vec<_>, Vec<_>) = (0..consumers)
        .map(|_| sync_channel::<Result<RecordBatch, ArrowError>>(IN_FLIGHT))
        .unzip();
    let file = csi_data::DataFile::of_wave(wave);
    let policy = study.data_policy;
    let out_schema = schema.clone();
    std::thread::spawn(move || {
        let mut open: Vec<Option<_>> = senders.into_iter().map(Some).collect();
        let mut consume = |batch: &RecordBatch| -> Result<(), String> {
            let batch =
                RecordBatch::try_new(out_schema.clone(), batch.columns().to_vec()).map_err(|e| e.to_string())?;
            for sender in &mut open {
                // A receiver that hung up has read enough.
                if sender.as_ref().is_some_and(|tx| tx.send(Ok(batch.clone())).is_err()) {
                    *sender = None;
                }
            }
            if open.iter().all(Option::is_none) {
                // Every reader closed: stop reading.
                return Err("reader closed".to_string());
            }
            Ok(())
        };
        // A panic while reading (a bug) must end every stream with an error, not
        // look like the end of the data.
        let read = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            csi_data::scan(&file, &columns, &policy, &mut consume)
        }));
        let failure: Option<Arc<dyn std::error::Error + Send + Sync>> = match read {
            Ok(Ok(_)) => None,
            Ok(Err(e)) => Some(Arc::new(e)),
            Err(panic) => {
                let what = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                let message = format!("reading the respondent rows stopped unexpectedly (a bug in csi): {what}");
                Some(Arc::from(Box::<dyn std::error::Error + Send + Sync>::from(message)))
            }
        };
        if let Some(failure) = failure {
            for tx in open.iter().flatten() {
                let _ = tx.send(Err(ArrowError::ExternalError(Box::new(SharedError(failure.clone())))));
            }
        }
    });
    receivers
        .into_iter()
        .map(|rx| {
            Box::new(Rows {
                schema: schema.clone(),
                rx,
            }) as RowsReader
        })
        .collect()
}

/// A data error handed to every stream of a shared pass.
#[derive(Debug)]
struct SharedError(Arc<dyn std::error::Error + Send + Sync>);

impl std::fmt::Display for SharedError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for SharedError {}

struct Rows {
    schema: SchemaRef,
    rx: Receiver<Result<RecordBatch, ArrowError>>,
}

impl Iterator for Rows {
    type Item = Result<RecordBatch, ArrowError>;
    fn next(&mut self) -> Option<Self::Item> {
        self.rx.recv().ok()
    }
}

impl RecordBatchReader for Rows {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }
}
