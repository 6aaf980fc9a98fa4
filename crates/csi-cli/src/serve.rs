//! `csi serve`: a local preview. Builds the studies into a preview folder (never the
//! published site), serves it over HTTP on localhost, rebuilds when a study file,
//! data file, narrative, template or plugin changes, and makes open pages reload.
//!
//! The reload script is added to HTML responses by the server only; the files on
//! disk are exactly what `csi build` writes.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use anyhow::{Context, Result};

use crate::build::{self, BuildOptions, Status};
use crate::progress::{Progress, Verbosity};

/// Polls the generation number and reloads the page when it changes.
const RELOAD: &str = r#"<script>(function(){var g=null;function poll(){fetch("/__csi/generation").then(function(r){return r.text();}).then(function(t){if(g!==null&&t!==g){location.reload();}g=t;}).catch(function(){});}setInterval(poll,1000);poll();})();</script>"#;

/// A fingerprint of every file under `roots`: the newest modification time and the
/// number of files (so deletions count too).
fn fingerprint(roots: &[PathBuf]) -> (Option<SystemTime>, usize) {
    let mut newest = None;
    let mut count = 0;
    for root in roots {
        for entry in walkdir::WalkDir::new(root)
            .into_iter()
            .filter_entry(|e| !e.file_name().to_string_lossy().starts_with('.'))
            .filter_map(Result::ok)
        {
            if entry.file_type().is_file() {
                count += 1;
                if let Some(m) = entry.metadata().ok().and_then(|m| m.modified().ok()) {
                    newest = newest.max(Some(m));
                }
            }
        }
    }
    (newest, count)
}

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" => "text/javascript; charset=utf-8",
        "json" => "application/json",
        "csv" => "text/csv; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        _ => "application/octet-stream",
    }
}

/// The file a request path names inside `root`, refusing anything outside it.
fn resolve(root: &Path, url: &str) -> Option<PathBuf> {
    let path = url.split(['?', '#']).next().unwrap_or("");
    let mut out = root.to_path_buf();
    for part in path.split('/').filter(|p| !p.is_empty()) {
        let part = percent_decode(part)?;
        if part == ".." || part == "." || part.contains(['/', '\\']) {
            return None;
        }
        out.push(part);
    }
    if out.is_dir() {
        out.push("index.html");
    }
    out.is_file().then_some(out)
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Builds every study into the preview folder, rendering all waves; reports the
/// studies that failed (the preview keeps their last good build).
fn preview_build(
    paths: &[PathBuf],
    out: &Path,
    theme: Option<&Path>,
    plugin_dirs: &[PathBuf],
    trust: &crate::Trust,
) -> Result<()> {
    let progress = Progress::new(Verbosity::Quiet);
    let outcomes = build::build(
        paths,
        &BuildOptions {
            out,
            theme,
            plugin_dirs,
            rebuild: true,
            no_cache: false,
            jobs: 0,
            trust,
            wait: true,
        },
        &progress,
    )?;
    for o in &outcomes {
        if let Status::Failed(why) = &o.status {
            eprintln!("{}: not rebuilt ({why}); the preview shows its last good build", o.name);
        }
    }
    Ok(())
}

/// Removes the preview folder when the process is stopped by Ctrl-C, SIGTERM or
/// SIGHUP, then exits with 130 (the shell's code for an interrupted command). A
/// build in progress is given up to two seconds to finish writing first.
fn remove_on_stop(preview: &Path, building: Arc<std::sync::Mutex<()>>) -> Result<()> {
    let preview = preview.to_path_buf();
    ctrlc::set_handler(move || {
        let deadline = std::time::Instant::now() + Duration::from_secs(2);
        let _held = loop {
            match building.try_lock() {
                Ok(guard) => break Some(guard),
                Err(std::sync::TryLockError::Poisoned(e)) => break Some(e.into_inner()),
                Err(std::sync::TryLockError::WouldBlock) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(std::sync::TryLockError::WouldBlock) => break None,
            }
        };
        if let Err(e) = std::fs::remove_dir_all(&preview) {
            eprintln!("cannot remove the preview folder {}: {e}", preview.display());
        }
        std::process::exit(130);
    })
    .context("cannot install the handler that removes the preview folder when stopped")
}

/// Runs the preview until the process is stopped.
pub fn serve(
    paths: &[PathBuf],
    theme: Option<&Path>,
    plugin_dirs: &[PathBuf],
    port: u16,
    trust: &crate::Trust,
) -> Result<bool> {
    let preview = tempfile::Builder::new()
        .prefix("csi-preview-")
        .tempdir()
        .context("cannot create the preview folder")?;
    // The site is a folder inside the temporary one, so that its lock file (kept
    // beside the site) goes with it.
    let out = preview.path().join("site");
    let root = preview.path().to_path_buf();
    // A build in progress holds this lock, so that stopping waits for it (briefly)
    // rather than removing the folder under its feet.
    let building = Arc::new(std::sync::Mutex::new(()));
    remove_on_stop(&root, Arc::clone(&building))?;
    let mut watched: Vec<PathBuf> = crate::find_studies(paths)?
        .iter()
        .filter_map(|p| p.parent().map(Path::to_path_buf))
        .collect();
    watched.extend(theme.map(Path::to_path_buf));
    watched.extend(plugin_dirs.iter().cloned());

    {
        let _building = building.lock().unwrap_or_else(|e| e.into_inner());
        preview_build(paths, &out, theme, plugin_dirs, trust)?;
    }

    let server = tiny_http::Server::http(("127.0.0.1", port))
        .map_err(|e| anyhow::anyhow!("cannot listen on 127.0.0.1:{port}: {e}"))?;
    let address = server
        .server_addr()
        .to_ip()
        .map_or_else(|| format!("127.0.0.1:{port}"), |a| a.to_string());
    println!(
        "serving http://{address}/ (preview of {}; Ctrl-C to stop)",
        paths.len().max(1)
    );
    use std::io::Write as _;
    let _ = std::io::stdout().flush();

    let generation = Arc::new(AtomicU64::new(1));
    {
        let generation = Arc::clone(&generation);
        let out = out.clone();
        let paths = paths.to_vec();
        let theme = theme.map(Path::to_path_buf);
        let plugin_dirs = plugin_dirs.to_vec();
        let trust = trust.clone();
        let building = Arc::clone(&building);
        std::thread::spawn(move || {
            let mut last = fingerprint(&watched);
            loop {
                std::thread::sleep(Duration::from_millis(500));
                let now = fingerprint(&watched);
                if now == last {
                    continue;
                }
                last = now;
                eprintln!("change found; rebuilding");
                let _building = building.lock().unwrap_or_else(|e| e.into_inner());
                if let Err(e) = preview_build(&paths, &out, theme.as_deref(), &plugin_dirs, &trust) {
                    eprintln!("error: {e:#}");
                }
                drop(_building);
                generation.fetch_add(1, Ordering::SeqCst);
            }
        });
    }

    for request in server.incoming_requests() {
        let url = request.url().to_string();
        if url == "/__csi/generation" {
            let body = generation.load(Ordering::SeqCst).to_string();
            let _ = request.respond(tiny_http::Response::from_string(body));
            continue;
        }
        let Some(file) = resolve(&out, &url) else {
            let _ = request.respond(tiny_http::Response::from_string("not found").with_status_code(404));
            continue;
        };
        let Ok(mut bytes) = std::fs::read(&file) else {
            let _ = request.respond(tiny_http::Response::from_string("not found").with_status_code(404));
            continue;
        };
        let kind = content_type(&file);
        if kind.starts_with("text/html") {
            let html = String::from_utf8_lossy(&bytes);
            bytes = match html.rfind("</body>") {
                Some(i) => format!("{}{RELOAD}{}", &html[..i], &html[i..]).into_bytes(),
                None => format!("{html}{RELOAD}").into_bytes(),
            };
        }
        let header = tiny_http::Header::from_bytes(&b"Content-Type"[..], kind.as_bytes()).expect("a valid header");
        let _ = request.respond(tiny_http::Response::from_data(bytes).with_header(header));
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_stay_inside_the_site() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("a")).unwrap();
        std::fs::write(dir.path().join("a/index.html"), "x").unwrap();
        std::fs::write(dir.path().join("a/b c.csv"), "x").unwrap();
        assert!(resolve(dir.path(), "/a/").is_some());
        assert!(resolve(dir.path(), "/a/b%20c.csv").is_some());
        assert!(resolve(dir.path(), "/a/../../etc/passwd").is_none());
        assert!(resolve(dir.path(), "/a/%2e%2e/%2e%2e/etc/passwd").is_none());
        assert!(resolve(dir.path(), "/missing.html").is_none());
    }
}
