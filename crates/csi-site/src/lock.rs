//! One build at a time per site folder.
//!
//! Two builds writing one site could each read which waves are published, render,
//! and swap their study folders in one after the other, leaving a wave that neither
//! build's record describes — and then freezing it. [`SiteLock`] makes the whole
//! build (from reading the published records to writing the index) exclusive per
//! output folder: an advisory lock (`flock` on Unix, `LockFileEx` on Windows,
//! through the standard library) on a small file beside the site folder,
//! `.<site>.csi-lock`. The operating system releases it when the process ends, so a
//! build that is killed never leaves it stuck. The file holds who holds it (process
//! id, start time, command line), for the message a second build prints.
//!
//! The lock file sits beside the site folder rather than in it, so that a build
//! which publishes nothing leaves no site folder behind.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

/// Why the site folder could not be locked.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another build holds the lock.
    #[error("another csi build is writing to {site} ({holder}); wait for it to finish, or pass --wait to start when it has (lock file {lock})")]
    Busy {
        /// The site folder.
        site: PathBuf,
        /// Who holds the lock, as its lock file says.
        holder: String,
        /// The lock file.
        lock: PathBuf,
    },
    /// The lock file could not be created or locked.
    #[error("cannot lock the site folder {site} through {lock}: {source}")]
    Io {
        /// The site folder.
        site: PathBuf,
        /// The lock file.
        lock: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
}

/// An exclusive hold on a site folder, released when dropped (or when the process
/// ends, however it ends).
#[derive(Debug)]
pub struct SiteLock {
    file: File,
    path: PathBuf,
}

/// The lock file of site folder `out`: `.<name>.csi-lock` in its parent folder.
/// The parent is resolved (symbolic links followed) so that one folder named two
/// ways — relative or absolute, through a link — has one lock.
pub fn lock_path(out: &Path) -> PathBuf {
    let absolute = std::path::absolute(out).unwrap_or_else(|_| out.to_path_buf());
    // `site/.` and `site/` name the same folder as `site`; `a/../site` as `site`.
    let mut normal = PathBuf::new();
    for c in absolute.components() {
        match c {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                normal.pop();
            }
            other => normal.push(other),
        }
    }
    // A site folder that is itself a link shares the lock of its target.
    if let Ok(real) = normal.canonicalize() {
        normal = real;
    }
    let name = normal
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "site".into());
    let parent = normal.parent().map(Path::to_path_buf).unwrap_or_else(|| normal.clone());
    let parent = parent.canonicalize().unwrap_or(parent);
    parent.join(format!(".{name}.csi-lock"))
}

impl SiteLock {
    /// Takes the lock of site folder `out`: at once, or — when `wait` — as soon as
    /// the build holding it ends (`on_wait` is called once before waiting, with the
    /// holder). Creates the site folder's parent if needed.
    pub fn acquire(out: &Path, wait: bool, on_wait: impl FnOnce(&str)) -> Result<SiteLock, LockError> {
        let path = lock_path(out);
        let fail = |source: std::io::Error| LockError::Io {
            site: out.to_path_buf(),
            lock: path.clone(),
            source,
        };
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(fail)?;
        }
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(fail)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let holder = holder(&mut file);
                if !wait {
                    return Err(LockError::Busy {
                        site: out.to_path_buf(),
                        holder,
                        lock: path,
                    });
                }
                on_wait(&holder);
                file.lock().map_err(fail)?;
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(fail(e)),
        }
        let started = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let command: Vec<String> = std::env::args().collect();
        let record = format!(
            "pid {}\nstarted {started}\ncommand {}\n",
            std::process::id(),
            command.join(" ")
        );
        file.set_len(0)
            .and_then(|()| file.seek(SeekFrom::Start(0)))
            .and_then(|_| file.write_all(record.as_bytes()))
            .and_then(|()| file.flush())
            .map_err(fail)?;
        Ok(SiteLock { file, path })
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for SiteLock {
    fn drop(&mut self) {
        let _ = self.file.unlock();
    }
}

/// Who holds a lock, from its file: `process 1234, started 12 s ago: csi build …`.
fn holder(file: &mut File) -> String {
    let mut text = String::new();
    let _ = file
        .seek(SeekFrom::Start(0))
        .and_then(|_| file.read_to_string(&mut text));
    let field = |key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(key).map(|v| v.trim().to_string()))
    };
    let mut parts = Vec::new();
    if let Some(pid) = field("pid ") {
        parts.push(format!("process {pid}"));
    }
    if let Some(started) = field("started ").and_then(|s| s.parse::<u64>().ok()) {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(started, |d| d.as_secs());
        parts.push(format!("started {} s ago", now.saturating_sub(started)));
    }
    let mut out = if parts.is_empty() {
        "a build that has not yet said who it is".to_string()
    } else {
        parts.join(", ")
    };
    if let Some(command) = field("command ") {
        out.push_str(&format!(": `{command}`"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_is_refused_naming_the_first_and_released_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let site = dir.path().join("site");
        let first = SiteLock::acquire(&site, false, |_| {}).unwrap();
        assert_eq!(first.path(), dir.path().canonicalize().unwrap().join(".site.csi-lock"));
        assert!(!site.exists(), "locking writes nothing into the site folder");
        // The same folder named differently shares the lock.
        let err = SiteLock::acquire(&dir.path().join("x/../site/."), false, |_| {}).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains(&format!("process {}", std::process::id())) && msg.contains("--wait"),
            "{msg}"
        );
        // A link to the site folder too.
        #[cfg(unix)]
        {
            std::fs::create_dir_all(&site).unwrap();
            let link = dir.path().join("published");
            std::os::unix::fs::symlink(&site, &link).unwrap();
            assert!(SiteLock::acquire(&link, false, |_| {}).is_err());
        }
        drop(first);
        SiteLock::acquire(&site, false, |_| {}).unwrap();
    }
}
