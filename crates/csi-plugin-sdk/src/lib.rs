//! # csi-plugin-sdk: analysis plugins in a few dozen lines
//!
//! Implement [`Analysis`] for a type with a `Default`, then export it:
//!
//! ```ignore
//! use csi_plugin_sdk::prelude::*;
//!
//! #[derive(Default)]
//! struct Hello;
//!
//! impl Analysis for Hello {
//!     fn describe(&self) -> Description { Description::statistics() }
//!     fn run(&self, req: &Request, input: Input) -> Result<Report, String> {
//!         Ok(Report { title: Some("Hello".into()), blocks: vec![Block::Markdown { text: format!("wave {}", req.wave) }] })
//!     }
//! }
//!
//! csi_plugin_sdk::export_plugin!(Hello, name = "hello", version = "0.1.0", description = "Says hello");
//! ```
//!
//! and build the crate as a `cdylib`. The macro writes the C entry point and the
//! descriptor; every call into the plugin goes through [`catch_unwind`], so a panic
//! becomes a failed analysis with its message instead of a crashed host. Inputs
//! arrive as Arrow record batches read from the Arrow C stream interface; the result
//! is serialised to JSON in a buffer the plugin frees itself when the host is done.
//!
//! [`catch_unwind`]: std::panic::catch_unwind
#![deny(missing_docs)]
#![allow(unsafe_code)]

use std::panic::{catch_unwind, AssertUnwindSafe};

use arrow_array::ffi_stream::{FFI_ArrowArrayStream, RecordBatchStreamReader};
use arrow_array::RecordBatch;

pub mod statistics;
pub mod tidy;
pub mod words;

pub use arrow_array;
pub use arrow_schema;
pub use csi_blocks::wire::{Decimals, Description, Inputs, OptionSpec, OptionType, Request, PROTOCOL_VERSION};
pub use csi_blocks::{self, Block, Report};
pub use csi_plugin_api as api;
pub use csi_stats;

use api::{ArrowArrayStream, CsiBytes, STATUS_ERROR, STATUS_OK, STATUS_PANIC};

/// Everything a plugin usually needs.
pub mod prelude {
    pub use crate::statistics::Statistics;
    pub use crate::{Analysis, Input};
    pub use csi_blocks::wire::{Decimals, Description, Inputs, OptionSpec, OptionType, Request};
    pub use csi_blocks::{Block, Cell, Chart, ChartKind, Column, ColumnKind, Flag, Point, Report, Row, Series, Table};
}

/// A stream of record batches from the host, read as the plugin iterates.
pub struct Batches {
    reader: RecordBatchStreamReader,
}

impl Batches {
    /// The stream's schema, with its metadata (for respondent rows: the roles,
    /// scales and labels of the columns; see docs/plugins.md).
    pub fn schema(&self) -> arrow_schema::SchemaRef {
        use arrow_array::RecordBatchReader;
        self.reader.schema()
    }
}

impl Iterator for Batches {
    type Item = Result<RecordBatch, String>;
    fn next(&mut self) -> Option<Self::Item> {
        self.reader.next().map(|r| r.map_err(|e| e.to_string()))
    }
}

/// The data a plugin receives for one wave.
pub struct Input {
    /// The statistics table (see `csi_blocks::wire::STATISTICS_COLUMNS`), when the
    /// plugin asked for it.
    pub statistics: Option<Batches>,
    /// Respondent rows, when the plugin asked for them.
    pub rows: Option<Batches>,
}

impl Input {
    /// Reads the whole statistics table (small: cells × series × measures).
    pub fn statistics_batches(&mut self) -> Result<Vec<RecordBatch>, String> {
        match self.statistics.take() {
            Some(it) => it.collect(),
            None => Err("this plugin did not ask for statistics (Description::inputs)".into()),
        }
    }
}

/// An analysis plugin.
pub trait Analysis: Default {
    /// What the plugin needs and which options it accepts.
    fn describe(&self) -> Description;
    /// Analyses one wave.
    fn run(&self, request: &Request, input: Input) -> Result<Report, String>;
}

unsafe extern "C" fn release_vec(bytes: *mut CsiBytes) {
    if bytes.is_null() {
        return;
    }
    let b = &mut *bytes;
    if !b.private_data.is_null() {
        drop(Box::from_raw(b.private_data as *mut Vec<u8>));
    }
    b.data = std::ptr::null();
    b.len = 0;
    b.private_data = std::ptr::null_mut();
    b.release = None;
}

/// Fills `out` with `bytes`, owned by this library and freed by its own callback.
///
/// # Safety
/// `out` must be null or point to a writable `CsiBytes`.
pub unsafe fn fill(out: *mut CsiBytes, bytes: Vec<u8>) {
    if out.is_null() {
        return;
    }
    let boxed = Box::new(bytes);
    *out = CsiBytes {
        data: boxed.as_ptr(),
        len: boxed.len(),
        release: Some(release_vec),
        private_data: Box::into_raw(boxed) as *mut std::ffi::c_void,
    };
}

std::thread_local! {
    /// Where the last panic on this thread happened, recorded by [`quiet_panics`].
    static PANIC_AT: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

/// Replaces this library's panic hook (a plugin has its own copy of std, so the
/// host's hook is untouched) with one that records where the panic happened instead
/// of printing it: the panic becomes the analysis's error message, with its place.
fn quiet_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            let at = info.location().map(|l| format!("{}:{}", l.file(), l.line()));
            PANIC_AT.with(|p| *p.borrow_mut() = at);
        }));
    });
}

fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    let text = if let Some(s) = payload.downcast_ref::<&str>() {
        format!("panicked: {s}")
    } else if let Some(s) = payload.downcast_ref::<String>() {
        format!("panicked: {s}")
    } else {
        "panicked".into()
    };
    match PANIC_AT.with(|p| p.borrow_mut().take()) {
        Some(at) => format!("{text} (at {at})"),
        None => text,
    }
}

/// Takes ownership of a host stream (null → none).
unsafe fn batches(stream: *mut ArrowArrayStream) -> Result<Option<Batches>, String> {
    if stream.is_null() {
        return Ok(None);
    }
    let stream = stream as *mut FFI_ArrowArrayStream;
    let reader = RecordBatchStreamReader::from_raw(stream).map_err(|e| format!("cannot read the Arrow stream: {e}"))?;
    Ok(Some(Batches { reader }))
}

#[doc(hidden)]
pub unsafe fn describe_entry<A: Analysis>(out: *mut CsiBytes) -> i32 {
    quiet_panics();
    match catch_unwind(|| serde_json::to_vec(&A::default().describe())) {
        Ok(Ok(json)) => {
            fill(out, json);
            STATUS_OK
        }
        Ok(Err(e)) => {
            fill(out, e.to_string().into_bytes());
            STATUS_ERROR
        }
        Err(p) => {
            fill(out, panic_message(p).into_bytes());
            STATUS_PANIC
        }
    }
}

#[doc(hidden)]
pub unsafe fn run_entry<A: Analysis>(
    request: *const u8,
    request_len: usize,
    statistics: *mut ArrowArrayStream,
    rows: *mut ArrowArrayStream,
    out: *mut CsiBytes,
) -> i32 {
    quiet_panics();
    // Take ownership of the streams first, so they are released whatever happens.
    let statistics = batches(statistics);
    let rows = batches(rows);
    let req: &[u8] = if request.is_null() {
        &[]
    } else {
        std::slice::from_raw_parts(request, request_len)
    };
    let result = catch_unwind(AssertUnwindSafe(|| -> Result<Vec<u8>, String> {
        let request: Request =
            serde_json::from_slice(req).map_err(|e| format!("malformed request from the host: {e}"))?;
        let input = Input {
            statistics: statistics?,
            rows: rows?,
        };
        let report = A::default().run(&request, input)?;
        serde_json::to_vec(&report).map_err(|e| e.to_string())
    }));
    match result {
        Ok(Ok(json)) => {
            fill(out, json);
            STATUS_OK
        }
        Ok(Err(message)) => {
            fill(out, message.into_bytes());
            STATUS_ERROR
        }
        Err(p) => {
            fill(out, panic_message(p).into_bytes());
            STATUS_PANIC
        }
    }
}

/// Exports an [`Analysis`] as a csi plugin: writes the `csi_plugin_entry_v1` symbol
/// and the static descriptor.
///
/// `export_plugin!(MyType, name = "gap", version = env!("CARGO_PKG_VERSION"), description = "…");`
#[macro_export]
macro_rules! export_plugin {
    ($ty:ty, name = $name:expr, version = $version:expr, description = $description:expr $(,)?) => {
        const _: () = {
            use $crate::api;
            unsafe extern "C" fn __csi_describe(out: *mut api::CsiBytes) -> i32 {
                $crate::describe_entry::<$ty>(out)
            }
            unsafe extern "C" fn __csi_run(
                request: *const u8,
                request_len: usize,
                statistics: *mut api::ArrowArrayStream,
                rows: *mut api::ArrowArrayStream,
                out: *mut api::CsiBytes,
            ) -> i32 {
                $crate::run_entry::<$ty>(request, request_len, statistics, rows, out)
            }
            static DESCRIPTOR: api::CsiPluginV1 = api::CsiPluginV1 {
                struct_size: ::std::mem::size_of::<api::CsiPluginV1>() as u32,
                abi_major: api::ABI_MAJOR,
                abi_minor: api::ABI_MINOR,
                reserved: 0,
                name: concat!($name, "\0").as_ptr() as *const ::std::ffi::c_char,
                version: concat!($version, "\0").as_ptr() as *const ::std::ffi::c_char,
                description: concat!($description, "\0").as_ptr() as *const ::std::ffi::c_char,
                describe: Some(__csi_describe),
                run: Some(__csi_run),
                homepage: concat!(env!("CARGO_PKG_REPOSITORY"), "\0").as_ptr() as *const ::std::ffi::c_char,
            };
            /// The csi plugin entry point (ABI 1).
            #[unsafe(no_mangle)]
            pub extern "C" fn csi_plugin_entry_v1() -> *const api::CsiPluginV1 {
                &DESCRIPTOR
            }
        };
    };
}
