//! Out-of-process runs: the same plugin library, loaded by a child process (the
//! worker), fed over a pipe, watched with a timeout.
//!
//! In process, a plugin that aborts, segfaults or loops forever takes csi with it;
//! a child process is the only protection. The parent writes to the worker's
//! standard input, as a sequence of framed streams (each a run of `u32` length-
//! prefixed chunks ended by an empty chunk):
//!
//! 1. a JSON header: the library path, the request, and which inputs follow;
//! 2. the statistics table as an Arrow IPC stream, if the plugin takes it;
//! 3. the respondent rows as an Arrow IPC stream, if the plugin takes them,
//!    written batch by batch while the worker reads, so memory stays bounded.
//!
//! A worker also describes libraries for discovery: a header with `describe` set,
//! and nothing after it; the answer is the plugin's description as JSON (status
//! OK), or the reason it was refused (a serialised [`PluginError`]).
//!
//! The worker loads the library (checked exactly as in process), hands the streams
//! to the plugin through the Arrow C stream interface, and answers on its original
//! standard output with `CSI1`, the `i32` status, a `u64` length and the result
//! bytes. Before calling the plugin it points its own standard output at standard
//! error, so a plugin that prints cannot corrupt the answer. The parent kills the
//! worker at the timeout, and turns a death by signal into a message naming it,
//! with the last lines the plugin wrote to standard error.

use std::ffi::OsString;
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{ChildStdin, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use arrow_array::{RecordBatch, RecordBatchIterator, RecordBatchReader};
use arrow_ipc::reader::StreamReader;
use arrow_ipc::writer::StreamWriter;
use arrow_schema::{ArrowError, SchemaRef};

use csi_plugin_api::{STATUS_ERROR, STATUS_OK};

use crate::{load, Described, Origin, Plugin, PluginError};

/// How to start the worker process: a program and the arguments that make it act
/// as a plugin worker (for the `csi` binary, `csi plugin-worker`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Worker {
    /// The executable.
    pub program: PathBuf,
    /// Arguments before which nothing else is passed.
    pub args: Vec<OsString>,
}

/// Where an analysis runs.
#[derive(Debug, Clone, PartialEq)]
pub enum Isolation {
    /// In the csi process: fastest; a panic is caught, an abort is not.
    InProcess,
    /// In a child process started with `worker`, stopped after `timeout`.
    Process {
        /// The worker to start.
        worker: Worker,
        /// How long the run may take.
        timeout: Duration,
    },
}

/// Magic that starts the worker's answer.
const ANSWER_MAGIC: &[u8; 4] = b"CSI1";
/// How much of a plugin's standard error is kept for messages.
const STDERR_TAIL: usize = 8 * 1024;

/// Writes a framed stream: every `write` becomes one length-prefixed chunk.
struct FrameWriter<W: Write> {
    inner: W,
}

impl<W: Write> Write for FrameWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let n = buf.len().min(u32::MAX as usize);
        self.inner.write_all(&(n as u32).to_le_bytes())?;
        self.inner.write_all(&buf[..n])?;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Writes one framed stream produced by `body` onto `out`, then its end marker.
fn framed<W: Write>(out: &mut W, body: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> io::Result<()> {
    {
        let mut w = BufWriter::with_capacity(64 * 1024, FrameWriter { inner: &mut *out });
        body(&mut w)?;
        w.flush()?;
    }
    out.write_all(&0u32.to_le_bytes())?;
    out.flush()
}

/// Reads one framed stream: reports end of file at its end marker, leaving what
/// follows for the next reader.
pub(crate) struct FrameReader<R: Read> {
    inner: R,
    left: usize,
    done: bool,
}

impl<R: Read> FrameReader<R> {
    pub(crate) fn new(inner: R) -> Self {
        FrameReader {
            inner,
            left: 0,
            done: false,
        }
    }
}

impl<R: Read> Read for FrameReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.done || buf.is_empty() {
            return Ok(0);
        }
        if self.left == 0 {
            let mut len = [0u8; 4];
            self.inner.read_exact(&mut len)?;
            self.left = u32::from_le_bytes(len) as usize;
            if self.left == 0 {
                self.done = true;
                return Ok(0);
            }
        }
        let n = buf.len().min(self.left);
        let got = self.inner.read(&mut buf[..n])?;
        if got == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "stream ended inside a frame",
            ));
        }
        self.left -= got;
        Ok(got)
    }
}

/// Writes `reader`'s batches as an Arrow IPC stream.
pub(crate) fn write_ipc(out: &mut dyn Write, reader: &mut dyn RecordBatchReader) -> Result<(), ArrowError> {
    let mut w = StreamWriter::try_new(out, &reader.schema())?;
    for batch in reader {
        w.write(&batch?)?;
    }
    w.finish()
}

/// Writes `reader` framed, as one stream of the worker protocol.
pub(crate) fn write_framed_ipc<W: Write>(out: &mut W, reader: &mut dyn RecordBatchReader) -> io::Result<()> {
    framed(out, |w| write_ipc(w, reader).map_err(io::Error::other))
}

/// Reads one framed Arrow IPC stream lazily.
pub(crate) fn read_framed_ipc<R: Read>(input: R) -> Result<StreamReader<FrameReader<R>>, ArrowError> {
    StreamReader::try_new(FrameReader::new(input), None)
}

fn signal_name(signal: i32) -> &'static str {
    match signal {
        4 => "SIGILL, illegal instruction",
        6 => "SIGABRT, abort",
        7 => "SIGBUS, bus error",
        8 => "SIGFPE, arithmetic error",
        9 => "SIGKILL, killed",
        11 => "SIGSEGV, segmentation fault",
        15 => "SIGTERM, terminated",
        _ => "a signal",
    }
}

fn describe_exit(status: ExitStatus) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(sig) = status.signal() {
            return format!("the plugin process was killed by signal {sig} ({})", signal_name(sig));
        }
    }
    match status.code() {
        Some(code) => format!("the plugin process exited with status {code} without a result"),
        None => "the plugin process ended without a result".to_string(),
    }
}

/// The last lines of what the plugin wrote to standard error, for a message.
fn tail(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let last = &lines[lines.len().saturating_sub(6)..];
    if last.is_empty() {
        String::new()
    } else {
        format!("; its last output: {}", last.join(" | "))
    }
}

/// What a worker process left behind: how it ended, its answer, the tail of its
/// standard error, and whether feeding its input failed.
struct Conversation {
    status: ExitStatus,
    answer: Vec<u8>,
    stderr: Vec<u8>,
    fed: io::Result<()>,
}

/// Why a conversation with a worker did not finish.
enum Unfinished {
    /// The worker could not be started.
    Spawn(io::Error),
    /// It was still running at the time limit and was stopped.
    TimedOut,
    /// Waiting for it failed.
    Watch(io::Error),
}

/// Starts `worker`, writes its input with `feed` (on a thread of its own, so a
/// worker that stops reading cannot block us), collects its answer and the tail of
/// its standard error, and stops it at `timeout`.
fn converse(
    worker: &Worker,
    timeout: Duration,
    feed: impl FnOnce(&mut ChildStdin) -> io::Result<()> + Send + 'static,
) -> Result<Conversation, Unfinished> {
    let mut command = Command::new(&worker.program);
    command
        .args(&worker.args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // The worker leads a process group of its own, so that whatever a plugin
    // starts (a forked helper holding the pipes) is stopped with it.
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    let mut child = command.spawn().map_err(Unfinished::Spawn)?;
    let group = child.id();
    let mut stdin = child.stdin.take().expect("piped");
    let mut stdout = child.stdout.take().expect("piped");
    let mut stderr = child.stderr.take().expect("piped");
    let feeder = std::thread::spawn(move || feed(&mut stdin));
    let answer = std::thread::spawn(move || {
        let mut buf = Vec::new();
        stdout.read_to_end(&mut buf).map(|_| buf)
    });
    let errors = std::thread::spawn(move || {
        let mut kept = Vec::new();
        let mut chunk = [0u8; 4096];
        while let Ok(n) = stderr.read(&mut chunk) {
            if n == 0 {
                break;
            }
            kept.extend_from_slice(&chunk[..n]);
            if kept.len() > 2 * STDERR_TAIL {
                kept.drain(..kept.len() - STDERR_TAIL);
            }
        }
        kept
    });

    let started = Instant::now();
    let mut pause = Duration::from_millis(1);
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Ok(status),
            Ok(None) if started.elapsed() >= timeout => {
                let _ = child.kill();
                let _ = child.wait();
                break Err(Unfinished::TimedOut);
            }
            Ok(None) => {
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(25));
            }
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                break Err(Unfinished::Watch(e));
            }
        }
    };
    // Stop anything the plugin left running in the worker's group: it may hold the
    // pipes open, and the reading threads end only when they close.
    stop_group(group);
    let fed = feeder
        .join()
        .unwrap_or_else(|_| Err(io::Error::other("the input thread panicked")));
    let answer = answer.join().ok().and_then(Result::ok).unwrap_or_default();
    let stderr = errors.join().unwrap_or_default();
    Ok(Conversation {
        status: status?,
        answer,
        stderr,
        fed,
    })
}

/// Kills every process left in the process group `group` (the worker's).
#[cfg(unix)]
fn stop_group(group: u32) {
    if let Ok(pgid) = i32::try_from(group) {
        // SAFETY: kill(2) on a process group this process created; a group that no
        // longer exists makes it fail harmlessly (ESRCH).
        unsafe { libc::kill(-pgid, libc::SIGKILL) };
    }
}

#[cfg(not(unix))]
fn stop_group(_group: u32) {}

impl Conversation {
    /// Why there is no answer, for a message: how the process ended, whether
    /// sending its input failed, and the last lines it wrote.
    fn why_no_answer(&self) -> String {
        let mut message = describe_exit(self.status);
        if let Err(e) = &self.fed {
            if self.status.success() {
                message = format!("{message} (sending its input failed: {e})");
            }
        }
        format!("{message}{}", tail(&self.stderr))
    }
}

impl Plugin {
    /// Runs the plugin in a worker process; see the module documentation.
    pub(crate) fn run_in_worker(
        &self,
        request: Vec<u8>,
        statistics: Option<Box<dyn RecordBatchReader + Send>>,
        rows: Option<Box<dyn RecordBatchReader + Send>>,
        worker: &Worker,
        timeout: Duration,
    ) -> Result<(i32, Vec<u8>), PluginError> {
        let crashed = |message: String| PluginError::Crashed {
            plugin: self.name.clone(),
            message,
        };
        let header = serde_json::json!({
            "library": self.path,
            "statistics": statistics.is_some(),
            "rows": rows.is_some(),
        });
        let talk = converse(worker, timeout, move |stdin| {
            framed(stdin, |w| w.write_all(header.to_string().as_bytes()))?;
            framed(stdin, |w| w.write_all(&request))?;
            for mut input in [statistics, rows].into_iter().flatten() {
                write_framed_ipc(stdin, &mut *input)?;
            }
            Ok(())
        });
        let talk = match talk {
            Ok(t) => t,
            Err(Unfinished::TimedOut) => {
                return Err(PluginError::TimedOut {
                    plugin: self.name.clone(),
                    seconds: timeout.as_secs_f64(),
                })
            }
            Err(Unfinished::Spawn(e)) => {
                return Err(crashed(format!(
                    "cannot start the worker {}: {e}",
                    worker.program.display()
                )))
            }
            Err(Unfinished::Watch(e)) => return Err(crashed(format!("cannot watch the plugin process: {e}"))),
        };
        parse_answer(&talk.answer).ok_or_else(|| crashed(talk.why_no_answer()))
    }
}

/// Loads and describes the library at `path` in a worker process: the plugin it
/// is, or why it was refused — including a library that crashes, aborts or hangs
/// while being loaded or described, which only takes the worker down.
pub(crate) fn describe_in_worker(
    path: &Path,
    worker: &Worker,
    timeout: Duration,
    origin: Origin,
) -> Result<Plugin, PluginError> {
    let refused = |message: String| PluginError::Discovery {
        path: path.to_path_buf(),
        message,
    };
    let header = serde_json::json!({ "library": path, "describe": true });
    let talk = converse(worker, timeout, move |stdin| {
        framed(stdin, |w| w.write_all(header.to_string().as_bytes()))
    });
    let talk = match talk {
        Ok(t) => t,
        Err(Unfinished::TimedOut) => {
            return Err(refused(format!(
                "loading and describing the library took longer than {} s; it was stopped",
                timeout.as_secs_f64()
            )))
        }
        Err(Unfinished::Spawn(e)) => {
            return Err(refused(format!(
                "cannot start the worker {} to describe it: {e}",
                worker.program.display()
            )))
        }
        Err(Unfinished::Watch(e)) => return Err(refused(format!("cannot watch the worker describing it: {e}"))),
    };
    let Some((status, bytes)) = parse_answer(&talk.answer) else {
        return Err(refused(format!(
            "the library crashed while being loaded or described: {}",
            talk.why_no_answer().replace("the plugin process", "the worker")
        )));
    };
    if status == STATUS_OK {
        let described: Described = serde_json::from_slice(&bytes)
            .map_err(|e| refused(format!("the worker's description is malformed: {e}")))?;
        Ok(Plugin::from_described(described, path, origin))
    } else {
        Err(serde_json::from_slice::<PluginError>(&bytes)
            .unwrap_or_else(|_| refused(String::from_utf8_lossy(&bytes).into_owned())))
    }
}

fn parse_answer(answer: &[u8]) -> Option<(i32, Vec<u8>)> {
    let rest = answer.strip_prefix(ANSWER_MAGIC)?;
    let status = i32::from_le_bytes(rest.get(..4)?.try_into().ok()?);
    let len = u64::from_le_bytes(rest.get(4..12)?.try_into().ok()?) as usize;
    let bytes = rest.get(12..12 + len)?;
    Some((status, bytes.to_vec()))
}

/// The worker side: reads one run from standard input, runs it, answers on standard
/// output. Returns the process exit code. Called by `csi plugin-worker` and by the
/// `csi-plugin-worker` binary.
pub fn worker_main() -> i32 {
    // Keep the real standard output for the answer; point file descriptor 1 at
    // standard error so whatever the plugin prints goes to the log instead.
    let mut answer_out: Box<dyn Write> = answer_channel();
    let (status, bytes) = match worker_run() {
        Ok(result) => result,
        Err(message) => (STATUS_ERROR, format!("plugin worker: {message}").into_bytes()),
    };
    let mut msg = Vec::with_capacity(16 + bytes.len());
    msg.extend_from_slice(ANSWER_MAGIC);
    msg.extend_from_slice(&status.to_le_bytes());
    msg.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
    msg.extend_from_slice(&bytes);
    match answer_out.write_all(&msg).and_then(|_| answer_out.flush()) {
        Ok(()) => 0,
        Err(_) => 3,
    }
}

#[cfg(unix)]
fn answer_channel() -> Box<dyn Write> {
    use std::os::fd::{AsFd, AsRawFd};
    let stdout = io::stdout();
    let _ = stdout.lock().flush();
    match stdout.as_fd().try_clone_to_owned() {
        Ok(fd) => {
            // SAFETY: dup2 on the process's own standard descriptors.
            unsafe { libc::dup2(io::stderr().as_fd().as_raw_fd(), 1) };
            Box::new(std::fs::File::from(fd))
        }
        Err(_) => Box::new(stdout),
    }
}

#[cfg(not(unix))]
fn answer_channel() -> Box<dyn Write> {
    Box::new(io::stdout())
}

fn worker_run() -> Result<(i32, Vec<u8>), String> {
    let mut header = Vec::new();
    FrameReader::new(io::stdin())
        .read_to_end(&mut header)
        .map_err(|e| format!("cannot read the header: {e}"))?;
    let header: serde_json::Value = serde_json::from_slice(&header).map_err(|e| format!("malformed header: {e}"))?;
    let library = header["library"].as_str().ok_or("the header names no library")?;
    if header["describe"] == true {
        return Ok(match load(Path::new(library), Origin::External) {
            Ok(plugin) => (
                STATUS_OK,
                serde_json::to_vec(&plugin.described()).expect("descriptions serialise"),
            ),
            Err(e) => (STATUS_ERROR, serde_json::to_vec(&e).expect("errors serialise")),
        });
    }
    let mut request = Vec::new();
    FrameReader::new(io::stdin())
        .read_to_end(&mut request)
        .map_err(|e| format!("cannot read the request: {e}"))?;
    let plugin = load(Path::new(library), Origin::External).map_err(|e| e.to_string())?;
    let statistics: Option<Box<dyn RecordBatchReader + Send>> = if header["statistics"] == true {
        // The statistics are small and precede the rows: read their frames whole (to
        // the end marker, which the IPC reader would leave behind), then decode.
        let mut bytes = Vec::new();
        FrameReader::new(io::stdin())
            .read_to_end(&mut bytes)
            .map_err(|e| format!("cannot read the statistics: {e}"))?;
        let reader = StreamReader::try_new(io::Cursor::new(bytes), None)
            .map_err(|e| format!("cannot read the statistics: {e}"))?;
        let schema: SchemaRef = reader.schema();
        let batches: Vec<RecordBatch> = reader
            .collect::<Result<_, _>>()
            .map_err(|e| format!("cannot read the statistics: {e}"))?;
        Some(Box::new(RecordBatchIterator::new(batches.into_iter().map(Ok), schema)))
    } else {
        None
    };
    let rows: Option<Box<dyn RecordBatchReader + Send>> = if header["rows"] == true {
        Some(Box::new(
            read_framed_ipc(io::stdin()).map_err(|e| format!("cannot read the rows: {e}"))?,
        ))
    } else {
        None
    };
    let run = plugin.run_entry().map_err(|e| e.to_string())?;
    Ok(plugin.call(run, &request, statistics, rows))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_split_streams() {
        let mut buf = Vec::new();
        framed(&mut buf, |w| w.write_all(b"first")).unwrap();
        framed(&mut buf, |w| {
            w.write_all(b"sec")?;
            w.flush()?;
            w.write_all(b"ond")
        })
        .unwrap();
        let mut input = &buf[..];
        let mut a = String::new();
        FrameReader::new(&mut input).read_to_string(&mut a).unwrap();
        let mut b = String::new();
        FrameReader::new(&mut input).read_to_string(&mut b).unwrap();
        assert_eq!((a.as_str(), b.as_str()), ("first", "second"));
        assert!(input.is_empty());
    }

    #[test]
    fn answers_parse_and_truncation_is_refused() {
        let mut msg = b"CSI1".to_vec();
        msg.extend_from_slice(&1i32.to_le_bytes());
        msg.extend_from_slice(&3u64.to_le_bytes());
        msg.extend_from_slice(b"bad");
        assert_eq!(parse_answer(&msg), Some((1, b"bad".to_vec())));
        assert_eq!(parse_answer(&msg[..msg.len() - 1]), None);
        assert_eq!(parse_answer(b"garbage"), None);
    }
}
