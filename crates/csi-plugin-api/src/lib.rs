//! # csi-plugin-api: the plugin ABI, and nothing else
//!
//! Rust has no stable ABI, so csi's plugin boundary is C: one exported function,
//! [`ENTRY_SYMBOL`], returning a pointer to a static [`CsiPluginV1`] descriptor. The
//! same definitions are in `include/csi_plugin.h` for C authors; a test compares the
//! two.
//!
//! ## Versioning
//!
//! The descriptor begins with its own size and a major/minor ABI version. The host
//! reads those three fields first and refuses a plugin whose major differs from
//! [`ABI_MAJOR`] or whose descriptor is smaller than [`MIN_STRUCT_SIZE_V1`], naming
//! both versions, before it reads or calls anything else. ABI 1 grows only by
//! appending fields at the end of the descriptor, each guarded by the minor version
//! and the struct size, so an older-minor plugin still loads in a newer host. A
//! change that cannot be made that way is a new major, with a new entry symbol
//! (`csi_plugin_entry_v2`), so old and new plugins can never be confused.
//!
//! ## Memory
//!
//! Whoever allocates frees. A [`CsiBytes`] filled by a plugin carries the plugin's
//! own `release` callback and the host calls it exactly once; Arrow C streams passed
//! to a plugin carry the host's callbacks and the plugin releases them.
//!
//! This crate has no dependencies so a plugin author compiles nothing else for it.
#![deny(missing_docs)]
#![allow(unsafe_code)]

use std::ffi::{c_char, c_void};

/// The ABI major version this crate describes.
pub const ABI_MAJOR: u32 = 1;
/// The ABI minor version this crate describes.
///
/// History: 1.0 — `struct_size` … `run`; 1.1 — appends `homepage`.
pub const ABI_MINOR: u32 = 1;
/// The name of the exported entry function for ABI 1 (NUL-terminated).
pub const ENTRY_SYMBOL: &[u8] = b"csi_plugin_entry_v1\0";
/// The size of an ABI 1.0 descriptor (everything up to and including `run`): any
/// ABI 1 descriptor is at least this large.
pub const MIN_STRUCT_SIZE_V1: u32 = std::mem::offset_of!(CsiPluginV1, homepage) as u32;

/// Whether a descriptor of `struct_size` bytes declaring `abi_minor` carries the
/// field that starts at `offset`, `len` bytes long, added in minor `since`. The host
/// reads an appended field only when this holds; otherwise it uses the default.
pub const fn has_field(struct_size: u32, abi_minor: u32, offset: usize, len: usize, since: u32) -> bool {
    abi_minor >= since && struct_size as usize >= offset + len
}

/// `describe`/`run` succeeded.
pub const STATUS_OK: i32 = 0;
/// The plugin reports an error; the output bytes hold a UTF-8 message.
pub const STATUS_ERROR: i32 = 1;
/// The plugin caught a panic or crash; the output bytes may hold a message.
pub const STATUS_PANIC: i32 = 2;

/// Bytes owned by whoever filled them. `release`, when not null, frees them; the
/// receiver calls it exactly once and then must not touch `data`.
#[repr(C)]
#[derive(Debug)]
pub struct CsiBytes {
    /// Start of the bytes (may be null when `len` is 0).
    pub data: *const u8,
    /// Number of bytes.
    pub len: usize,
    /// Frees the bytes; set by the side that allocated them.
    pub release: Option<unsafe extern "C" fn(*mut CsiBytes)>,
    /// For the allocator's own use.
    pub private_data: *mut c_void,
}

impl CsiBytes {
    /// An empty buffer with nothing to release.
    pub const fn empty() -> Self {
        Self {
            data: std::ptr::null(),
            len: 0,
            release: None,
            private_data: std::ptr::null_mut(),
        }
    }
}

/// The Arrow C stream interface's `struct ArrowArrayStream`, opaque here: host and
/// SDK use arrow-rs's `FFI_ArrowArrayStream`, which has the same layout.
#[repr(C)]
pub struct ArrowArrayStream {
    _private: [u8; 0],
}

/// `describe`: writes the plugin's description (JSON) into `out`.
pub type DescribeFn = unsafe extern "C" fn(out: *mut CsiBytes) -> i32;

/// `run`: analyses one wave. `request` is JSON; `statistics` and `rows` are Arrow C
/// streams (null when not requested) that the plugin must release; `out` receives
/// the result JSON or an error message.
pub type RunFn = unsafe extern "C" fn(
    request: *const u8,
    request_len: usize,
    statistics: *mut ArrowArrayStream,
    rows: *mut ArrowArrayStream,
    out: *mut CsiBytes,
) -> i32;

/// The plugin descriptor, ABI 1.1. Fields after `abi_minor` are read only once the
/// host has checked `struct_size`, `abi_major` and `abi_minor`; fields appended by a
/// minor version (marked "since 1.x") only when [`has_field`] says the plugin's
/// descriptor has them.
#[repr(C)]
#[derive(Debug)]
pub struct CsiPluginV1 {
    /// `size_of::<CsiPluginV1>()` as the plugin was compiled.
    pub struct_size: u32,
    /// [`ABI_MAJOR`] at the plugin's compile time.
    pub abi_major: u32,
    /// [`ABI_MINOR`] at the plugin's compile time.
    pub abi_minor: u32,
    /// Zero.
    pub reserved: u32,
    /// The plugin's name (static, NUL-terminated UTF-8), as studies name it.
    pub name: *const c_char,
    /// The plugin's own version (static, NUL-terminated).
    pub version: *const c_char,
    /// One line on what it does (static, NUL-terminated).
    pub description: *const c_char,
    /// See [`DescribeFn`].
    pub describe: Option<DescribeFn>,
    /// See [`RunFn`].
    pub run: Option<RunFn>,
    /// Since 1.1: where to read about the plugin or report problems (static,
    /// NUL-terminated; null or empty when none).
    pub homepage: *const c_char,
}

// The descriptor is immutable static data.
unsafe impl Sync for CsiPluginV1 {}

/// The type of the exported entry function.
pub type EntryFn = unsafe extern "C" fn() -> *const CsiPluginV1;

/// Offsets of the descriptor's fields, for the header check.
pub fn field_offsets() -> [(&'static str, usize); 10] {
    use std::mem::offset_of;
    [
        ("struct_size", offset_of!(CsiPluginV1, struct_size)),
        ("abi_major", offset_of!(CsiPluginV1, abi_major)),
        ("abi_minor", offset_of!(CsiPluginV1, abi_minor)),
        ("reserved", offset_of!(CsiPluginV1, reserved)),
        ("name", offset_of!(CsiPluginV1, name)),
        ("version", offset_of!(CsiPluginV1, version)),
        ("description", offset_of!(CsiPluginV1, description)),
        ("describe", offset_of!(CsiPluginV1, describe)),
        ("run", offset_of!(CsiPluginV1, run)),
        ("homepage", offset_of!(CsiPluginV1, homepage)),
    ]
}
