//! Compiles `netscore.c` (the whole plugin) into a static library that `src/lib.rs`
//! links and re-exports under the ABI's entry symbol.

fn main() {
    let api = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../crates/csi-plugin-api/include");
    println!("cargo:rerun-if-changed=netscore.c");
    println!("cargo:rerun-if-changed={}", api.join("csi_plugin.h").display());
    let version = format!("\"{}\"", env!("CARGO_PKG_VERSION"));
    cc::Build::new()
        .file("netscore.c")
        .include(&api)
        .std("c99")
        .define("CSI_NETSCORE_EMBEDDED", None)
        .define("CSI_NETSCORE_VERSION", version.as_str())
        // The source holds UTF-8 text (Chinese labels); MSVC needs to be told.
        .flag_if_supported("/utf-8")
        .warnings(true)
        .extra_warnings(true)
        .warnings_into_errors(true)
        .compile("csi_netscore");
}
