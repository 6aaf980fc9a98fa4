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
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::{Arc, Mutex};

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
    RowsSource::of(study, wave).start(consumers)
}

/// What a pass over a wave's rows reads, and how it describes them: enough to
/// start a pass later, on its own.
struct RowsSource {
    file: csi_data::DataFile,
    columns: Vec<ColumnPlan>,
    policy: csi_study::DataPolicy,
    schema: SchemaRef,
}

impl RowsSource {
    fn of(study: &Study, wave: &Wave) -> Self {
        let mut nodes = flat::flatten(study);
        let (plan, columns) = Plan::alone(study, wave, &mut nodes);
        let schema = schema_for(study, wave, &plan, &columns, &nodes);
        RowsSource {
            file: csi_data::DataFile::of_wave(wave),
            columns,
            policy: study.data_policy,
            schema,
        }
    }

    /// Starts a pass feeding `consumers` streams (see [`shared_rows_readers`]).
    fn start(&self, consumers: usize) -> Vec<RowsReader> {
        if consumers == 0 {
            return Vec::new();
        }
        let (senders, receivers): (Vec<_>, Vec<_>) = (0..consumers)
            .map(|_| sync_channel::<Result<RecordBatch, ArrowError>>(IN_FLIGHT))
            .unzip();
        let (file, columns, policy) = (self.file.clone(), self.columns.clone(), self.policy);
        let out_schema = self.schema.clone();
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
                    schema: self.schema.clone(),
                    rx,
                }) as RowsReader
            })
            .collect()
    }
}

/// A stream of `wave`'s respondent rows fed by the wave's statistics pass, and
/// that pass's end of it: hand the [`RowsFeed`] to
/// [`crate::compute_waves_feeding_rows`] and read the [`FedRows`] from another
/// thread while the pass runs, so that the rows are read and checked once for the
/// statistics and the plugin together. The pass moves at the pace of the stream,
/// so read it to its end, or [detach](RowsDetach::detach) it first (as a plugin
/// that asks for its statistics before it has read its rows must: the statistics
/// exist only once the pass is over). A detached stream, or one the pass cannot
/// feed (a Parquet file whose row groups are too large to wait in memory, a wave
/// whose columns are not the first of a shared file's), reads the rows it has not
/// yet handed on in a pass of its own.
pub fn fed_rows(study: &Study, wave: &Wave) -> (RowsFeed, FedRows) {
    let source = RowsSource::of(study, wave);
    let (tx, rx) = sync_channel::<Fed>(IN_FLIGHT);
    let state = Arc::new(Mutex::new(FeedState {
        rx: Some(rx),
        delivered: 0,
        finished: false,
    }));
    let feed = RowsFeed {
        tx,
        schema: source.schema.clone(),
        columns: source.columns.clone(),
    };
    let rows = FedRows {
        schema: source.schema.clone(),
        state,
        source,
        own_pass: None,
    };
    (feed, rows)
}

/// What the statistics pass hands to a [`FedRows`] stream.
enum Fed {
    /// Rows, in file order.
    Batch(RecordBatch),
    /// The last of the wave's rows has been handed on.
    End,
    /// The pass failed; the text says why.
    Failed(String),
    /// The pass cannot feed this stream: it reads the rows on its own.
    Unserved,
}

/// The statistics pass's end of a [`FedRows`] stream (see [`fed_rows`]).
pub struct RowsFeed {
    tx: SyncSender<Fed>,
    schema: SchemaRef,
    columns: Vec<ColumnPlan>,
}

impl RowsFeed {
    /// The columns the stream's rows have, in order.
    pub(crate) fn columns(&self) -> &[ColumnPlan] {
        &self.columns
    }

    /// Hands `batch` (of [`RowsFeed::columns`]) on; `false` when the stream no
    /// longer reads from the pass (detached or dropped).
    pub(crate) fn send(&self, batch: &RecordBatch) -> bool {
        match RecordBatch::try_new(self.schema.clone(), batch.columns().to_vec()) {
            Ok(b) => self.tx.send(Fed::Batch(b)).is_ok(),
            Err(e) => {
                let _ = self.tx.send(Fed::Failed(e.to_string()));
                false
            }
        }
    }

    /// Tells the stream that every row has been handed on.
    pub(crate) fn end(self) {
        let _ = self.tx.send(Fed::End);
    }

    /// Tells the stream that the pass failed, and why.
    pub(crate) fn fail(self, why: String) {
        let _ = self.tx.send(Fed::Failed(why));
    }

    /// Tells the stream to read the rows on its own.
    pub(crate) fn unserved(self) {
        let _ = self.tx.send(Fed::Unserved);
    }
}

struct FeedState {
    /// The pass's batches; `None` once the stream is detached, finished or not fed.
    rx: Option<Receiver<Fed>>,
    /// Rows handed on from the pass.
    delivered: u64,
    /// Whether the pass said its last word (the end, or a failure).
    finished: bool,
}

/// A stream of a wave's respondent rows fed by its statistics pass (see
/// [`fed_rows`]).
pub struct FedRows {
    schema: SchemaRef,
    state: Arc<Mutex<FeedState>>,
    source: RowsSource,
    /// The pass of its own, once detached or not fed, and the rows of it still to
    /// skip (those the statistics pass handed on).
    own_pass: Option<(RowsReader, u64)>,
}

impl FedRows {
    /// A handle that detaches this stream from the statistics pass, from any
    /// thread.
    pub fn detacher(&self) -> RowsDetach {
        RowsDetach(self.state.clone())
    }
}

/// Detaches a [`FedRows`] stream from the statistics pass (see [`fed_rows`]).
#[derive(Clone)]
pub struct RowsDetach(Arc<Mutex<FeedState>>);

impl RowsDetach {
    /// From now on the statistics pass no longer waits for the stream: the rows it
    /// has not yet handed on are read in a pass of the stream's own, when read. (A
    /// read of the stream under way on another thread finishes first.)
    pub fn detach(&self) {
        let mut state = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        state.rx = None;
    }
}

impl Iterator for FedRows {
    type Item = Result<RecordBatch, ArrowError>;
    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some((reader, skip)) = &mut self.own_pass {
                let batch = match reader.next()? {
                    Ok(b) => b,
                    Err(e) => return Some(Err(e)),
                };
                let n = batch.num_rows() as u64;
                if *skip >= n {
                    *skip -= n;
                    continue;
                }
                let from = std::mem::take(skip) as usize;
                return Some(Ok(batch.slice(from, batch.num_rows() - from)));
            }
            let mut state = self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if state.finished {
                return None;
            }
            if let Some(rx) = &state.rx {
                match rx.recv() {
                    Ok(Fed::Batch(b)) => {
                        state.delivered += b.num_rows() as u64;
                        return Some(Ok(b));
                    }
                    Ok(Fed::End) => {
                        (state.finished, state.rx) = (true, None);
                        return None;
                    }
                    Ok(Fed::Failed(why)) => {
                        (state.finished, state.rx) = (true, None);
                        return Some(Err(ArrowError::ExternalError(why.into())));
                    }
                    Ok(Fed::Unserved) => state.rx = None,
                    Err(_) => {
                        (state.finished, state.rx) = (true, None);
                        return Some(Err(ArrowError::ExternalError(
                            "the statistics pass stopped before the last of the respondent rows (a bug in csi)".into(),
                        )));
                    }
                }
            }
            // Detached or not fed: the rows not yet handed on, from a pass of our own.
            let skip = state.delivered;
            drop(state);
            let reader = self.source.start(1).pop().expect("one reader");
            self.own_pass = Some((reader, skip));
        }
    }
}

impl RecordBatchReader for FedRows {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }
}

/// A stream dropped unread to its end lets the pass go on without it at once
/// (not only when the plugin's statistics stream, which can detach it, goes too).
impl Drop for FedRows {
    fn drop(&mut self) {
        self.detacher().detach();
    }
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
