//! # csi-plugin-netscore: a csi analysis plugin written in C
//!
//! The analysis — net satisfaction, a net score: the weighted share of answers in
//! each indicator's top box (the study's, from the rows' `csi.top`) minus the share
//! in a bottom box as wide at the other end, weakest first — is all in `netscore.c`, a C99 file using only the C library and
//! `csi_plugin.h`. It builds on its own into a plugin with any C compiler; this
//! crate exists so that `cargo build` compiles it too (see `build.rs`) and ships it
//! next to the csi executable as `libcsi_plugin_netscore.so`, where csi loads its
//! bundled plugins.
//!
//! This file only re-exports the C entry point under the ABI's symbol name.
// Declaring and calling the C entry point is the one thing this crate does; the
// workspace denies unsafe code elsewhere.
#![allow(unsafe_code)]

use csi_plugin_api::CsiPluginV1;

extern "C" {
    /// `netscore.c`'s entry point, compiled with `-DCSI_NETSCORE_EMBEDDED`.
    fn csi_netscore_entry() -> *const CsiPluginV1;
}

/// The ABI 1 entry point: the netscore plugin's static descriptor.
#[no_mangle]
pub extern "C" fn csi_plugin_entry_v1() -> *const CsiPluginV1 {
    // SAFETY: the C function takes no arguments and returns a pointer to a static,
    // immutable descriptor.
    unsafe { csi_netscore_entry() }
}
