//! The plugin worker process on its own (the `csi` binary embeds the same as
//! `csi plugin-worker`): runs one plugin call read from standard input.

fn main() {
    std::process::exit(csi_plugin_host::worker_main());
}
