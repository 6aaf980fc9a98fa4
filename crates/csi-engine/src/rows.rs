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

use csi_data::ColumnKind;
use csi_stats::Direction;
use csi_study::{Study, Wave};

use crate::{flat, Plan};

/// Batches buffered between the reading thread and the plugin: bounds memory to a
/// few batches whatever the file size.
const IN_FLIGHT: usize = 2;

/// The self-describing schema of `wave`'s respondent rows.
pub fn rows_schema(study: &Study, wave: &Wave) -> SchemaRef {
    let mut nodes = flat::flatten(study);
    let plan = Plan::new(study, wave, &mut nodes);
    schema_for(study, wave, &plan, &nodes)
}

fn schema_for(study: &Study, wave: &Wave, plan: &Plan, nodes: &[flat::FlatNode]) -> SchemaRef {
    let mut meta: Vec<HashMap<String, String>> = vec![HashMap::new(); plan.columns.len()];
    for (i, c) in plan.columns.iter().enumerate() {
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
    let fields: Vec<Field> = plan
        .columns
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

/// Streams `wave`'s respondent rows: a reading thread scans the data file and hands
/// batches over a bounded channel, so memory stays at a few batches. A data problem
/// (the file changed since the index was computed) ends the stream with an error.
pub fn rows_reader(study: &Study, wave: &Wave) -> Box<dyn RecordBatchReader + Send> {
    let mut nodes = flat::flatten(study);
    let plan = Plan::new(study, wave, &mut nodes);
    let schema = schema_for(study, wave, &plan, &nodes);
    let (tx, rx) = sync_channel::<Result<RecordBatch, ArrowError>>(IN_FLIGHT);
    let path = wave.data.clone();
    let policy = study.data_policy;
    let out_schema = schema.clone();
    std::thread::spawn(move || {
        let mut consume = |batch: &RecordBatch| -> Result<(), String> {
            let batch =
                RecordBatch::try_new(out_schema.clone(), batch.columns().to_vec()).map_err(|e| e.to_string())?;
            // The receiver hung up: the plugin has read enough. Stop reading.
            tx.send(Ok(batch)).map_err(|_| "reader closed".to_string())
        };
        if let Err(e) = csi_data::scan(&path, &plan.columns, &policy, &mut consume) {
            let _ = tx.send(Err(ArrowError::ExternalError(Box::new(e))));
        }
    });
    Box::new(Rows { schema, rx })
}

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
