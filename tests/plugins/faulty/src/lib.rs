//! A plugin that misbehaves on request, for the host's tests: option `mode` is one
//! of `ok`, `error`, `panic`, `abort`, `hang`, `print` (writes to standard output
//! and error, then succeeds) or `echo` (reports what it received: per column of
//! the respondent rows, the row count, null count and a fingerprint of the values).

use csi_plugin_sdk::arrow_array::cast::AsArray;
use csi_plugin_sdk::arrow_array::types::{Float64Type, Int32Type};
use csi_plugin_sdk::arrow_array::{Array, ArrayRef};
use csi_plugin_sdk::arrow_schema::DataType;
use csi_plugin_sdk::prelude::*;

/// The plugin.
#[derive(Default)]
pub struct Faulty;

impl Analysis for Faulty {
    fn describe(&self) -> Description {
        let mut d = Description::statistics().option(
            "mode",
            OptionType::String,
            "ok, error, panic, abort, hang, print or echo",
            Some("ok".into()),
        );
        d.inputs = Inputs::Both;
        d
    }

    fn run(&self, request: &Request, mut input: Input) -> Result<Report, String> {
        let ok = Report {
            overview: Vec::new(),
            title: Some("faulty".into()),
            blocks: vec![Block::Markdown { text: "fine".into() }],
        };
        match request.options.get("mode").and_then(|m| m.as_str()).unwrap_or("ok") {
            "ok" => Ok(ok),
            "error" => Err("the faulty plugin refuses on purpose".into()),
            "panic" => panic!("the faulty plugin panics on purpose"),
            "abort" => {
                eprintln!("faulty: about to abort");
                std::process::abort()
            }
            "hang" => loop {
                std::thread::sleep(std::time::Duration::from_secs(1));
            },
            "print" => {
                println!("noise on standard output");
                eprintln!("noise on standard error");
                Ok(ok)
            }
            "echo" => {
                let rows = input.rows.take().ok_or("no rows were passed")?;
                let schema = rows.schema();
                let mut per_column: Vec<(usize, usize, u64)> = vec![(0, 0, FNV); schema.fields().len()];
                for batch in rows {
                    let batch = batch?;
                    for (i, col) in batch.columns().iter().enumerate() {
                        let c = &mut per_column[i];
                        c.0 += col.len();
                        c.1 += col.null_count();
                        c.2 = fingerprint(c.2, col);
                    }
                }
                let text = schema
                    .fields()
                    .iter()
                    .zip(per_column)
                    .map(|(f, (n, nulls, fp))| format!("{} {n} {nulls} {fp:016x}", f.name()))
                    .collect::<Vec<_>>()
                    .join("\n");
                Ok(Report {
                    overview: Vec::new(),
                    title: Some("echo".into()),
                    blocks: vec![Block::Markdown { text }],
                })
            }
            other => Err(format!("unknown mode `{other}`")),
        }
    }
}

const FNV: u64 = 0xcbf2_9ce4_8422_2325;

fn mix(mut h: u64, bytes: &[u8]) -> u64 {
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// Folds every value (and every null's position in sequence) of `col` into `h`.
/// The host's tests compute the same over the data they sent.
pub fn fingerprint(mut h: u64, col: &ArrayRef) -> u64 {
    for i in 0..col.len() {
        if col.is_null(i) {
            h = mix(h, b"\xffnull");
            continue;
        }
        h = match col.data_type() {
            DataType::Float64 => mix(h, &col.as_primitive::<Float64Type>().value(i).to_le_bytes()),
            DataType::Int32 => mix(h, &col.as_primitive::<Int32Type>().value(i).to_le_bytes()),
            DataType::Utf8 => mix(h, col.as_string::<i32>().value(i).as_bytes()),
            DataType::Boolean => mix(h, &[u8::from(col.as_boolean().value(i))]),
            DataType::Dictionary(..) => {
                let d = col.as_dictionary::<Int32Type>();
                let key = d.keys().value(i) as usize;
                mix(h, d.values().as_string::<i32>().value(key).as_bytes())
            }
            other => mix(h, format!("{other}").as_bytes()),
        };
        h = mix(h, b"\x00");
    }
    h
}

csi_plugin_sdk::export_plugin!(
    Faulty,
    name = "faulty",
    version = "0.0.1",
    description = "Fails on purpose, for tests"
);
