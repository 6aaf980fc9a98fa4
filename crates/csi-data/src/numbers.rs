//! Rows as numbers, for the statistics pass: the same checks as the Arrow batches
//! of [`crate::scan`], without building them. A CSV file is cut into chunks at
//! record boundaries, the chunks are checked and accumulated on every core, and
//! their sums handed back in the file's order.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::mpsc::{channel, sync_channel};
use std::sync::Mutex;

use crate::convert::{Checker, Value};
use crate::csv_reader::{self, Chunk, Splitter};
use crate::{ColumnKind, ColumnPlan, DataError, DataPolicy, DataReport, Format, Position};

/// Rows handed to the accumulator at a time (a few MB of numbers).
const ROWS_PER_CALL: usize = 4096;

/// Checked rows as numbers: one slot per plan column, in plan order, `NaN` where
/// the value is missing (a missing code, an empty cell, a value the data policy
/// excluded). A measure, weight or banded segment holds its value; a categorical
/// segment the position of its code in [`ColumnKind::Category`]'s `codes`; an id
/// column is always `NaN` (ids are only checked for duplicates).
#[derive(Debug, Clone, Default)]
pub struct NumericRows {
    width: usize,
    values: Vec<f64>,
}

impl NumericRows {
    fn new(width: usize) -> Self {
        Self {
            width,
            values: Vec::with_capacity(width * ROWS_PER_CALL),
        }
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.values.len().checked_div(self.width).unwrap_or(0)
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The rows, each a slice of one slot per plan column.
    pub fn rows(&self) -> impl Iterator<Item = &[f64]> {
        self.values.chunks_exact(self.width.max(1))
    }
}

/// How the statistics pass reads a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parallelism {
    /// Threads that check and accumulate chunks (at least 1).
    pub threads: usize,
    /// About how many bytes of CSV a chunk holds. The chunks, and so every sum
    /// merged from them, depend on this and on the file only, never on `threads`.
    pub chunk_bytes: usize,
}

impl Parallelism {
    /// Every core the machine offers, with chunks of `chunk_bytes`.
    pub fn all_cores(chunk_bytes: usize) -> Self {
        Self {
            threads: std::thread::available_parallelism().map_or(1, usize::from),
            chunk_bytes,
        }
    }
}

/// Accumulates a file's checked rows: `new` makes an empty accumulator, `add`
/// adds rows to one, and `merge` receives the accumulators in file order, one per
/// chunk of a CSV file (one for the whole of a Parquet file). Chunks are checked and
/// accumulated on up to `how.threads` threads; the accumulators reach `merge` in the
/// same order and hold the same rows whatever the number of threads, so sums merged
/// in that order are identical on any machine. At most a few chunks are in flight,
/// so memory stays bounded whatever the file's size.
///
/// A respondent id column under `data_policy.duplicate_id: exclude` is read on one
/// thread: whether a row is dropped depends on every id before it.
pub(crate) fn scan_numbers<A: Send>(
    path: &Path,
    plan: &[ColumnPlan],
    policy: &DataPolicy,
    how: Parallelism,
    new: &(dyn Fn() -> A + Sync),
    add: &(dyn Fn(&mut A, &NumericRows) + Sync),
    merge: &mut dyn FnMut(A),
) -> Result<DataReport, DataError> {
    let hasher = std::collections::hash_map::RandomState::new();
    match crate::format_of(path)? {
        Format::Parquet => {
            let mut checker = Checker::new(plan, policy, Position::Row, false, hasher, false);
            let mut acc = new();
            let mut batch = Batch::new(plan.len());
            crate::parquet_reader::each_row(path, plan, &mut |cells, row| {
                batch.push(&mut checker, cells, row, &mut acc, add);
                Ok(())
            })?;
            batch.flush(&mut acc, add);
            merge(acc);
            Ok(checker.finish())
        }
        Format::Csv => {
            let data = csv_reader::open_data(path)?;
            let index = csv_reader::positions(path, &data.header, plan)?;
            let decimal_comma = data.delim != b',';
            let mut ledger = Checker::new(plan, policy, Position::Line, decimal_comma, hasher.clone(), false);
            let splitter = Splitter::new(data.rest, data.delim, data.first_line, how.chunk_bytes);
            let csv = Csv {
                path,
                delim: data.delim,
                header_len: data.header.len(),
                index: &index,
            };
            let live_ids =
                policy.duplicate_id == crate::Policy::Exclude && plan.iter().any(|c| c.kind == ColumnKind::Id);
            if how.threads <= 1 || live_ids {
                sequential(&csv, splitter, &mut ledger, new, add, merge)?;
            } else {
                let chunk_checker = || Checker::new(plan, policy, Position::Line, decimal_comma, hasher.clone(), true);
                parallel(
                    &csv,
                    splitter,
                    how.threads,
                    &mut ledger,
                    &chunk_checker,
                    new,
                    add,
                    merge,
                )?;
            }
            Ok(ledger.finish())
        }
    }
}

/// Rows gathered for the accumulator.
struct Batch {
    rows: NumericRows,
    slots: Vec<f64>,
}

impl Batch {
    fn new(width: usize) -> Self {
        Self {
            rows: NumericRows::new(width),
            slots: vec![f64::NAN; width],
        }
    }

    fn push<A>(
        &mut self,
        checker: &mut Checker<'_>,
        cells: &[Value<'_>],
        line: u64,
        acc: &mut A,
        add: &(dyn Fn(&mut A, &NumericRows) + Sync),
    ) {
        if checker.row(cells, line, &mut self.slots).keep {
            self.rows.values.extend_from_slice(&self.slots);
            if self.rows.len() >= ROWS_PER_CALL {
                self.flush(acc, add);
            }
        }
    }

    fn flush<A>(&mut self, acc: &mut A, add: &(dyn Fn(&mut A, &NumericRows) + Sync)) {
        if !self.rows.is_empty() {
            add(acc, &self.rows);
            self.rows.values.clear();
        }
    }
}

/// What every chunk of one CSV file shares.
struct Csv<'p> {
    path: &'p Path,
    delim: u8,
    header_len: usize,
    index: &'p [usize],
}

impl Csv<'_> {
    /// Checks `chunk`'s records with `checker` and adds the rows kept to `acc`.
    fn accumulate<A>(
        &self,
        chunk: &Chunk,
        checker: &mut Checker<'_>,
        acc: &mut A,
        add: &(dyn Fn(&mut A, &NumericRows) + Sync),
    ) -> Result<(), DataError> {
        let mut batch = Batch::new(self.index.len());
        csv_reader::each_record(
            self.path,
            chunk,
            self.delim,
            self.header_len,
            self.index,
            &mut |cells, line| {
                batch.push(checker, cells, line, acc, add);
                Ok(())
            },
        )?;
        batch.flush(acc, add);
        Ok(())
    }

    fn io(&self, source: std::io::Error) -> DataError {
        DataError::Io {
            path: self.path.to_path_buf(),
            source,
        }
    }
}

/// One chunk after another on the calling thread, each into an accumulator of its
/// own (so that the sums are those of the parallel read).
fn sequential<A>(
    csv: &Csv<'_>,
    mut splitter: Splitter<impl std::io::Read>,
    ledger: &mut Checker<'_>,
    new: &(dyn Fn() -> A + Sync),
    add: &(dyn Fn(&mut A, &NumericRows) + Sync),
    merge: &mut dyn FnMut(A),
) -> Result<(), DataError> {
    while let Some(chunk) = splitter.next_chunk().map_err(|e| csv.io(e))? {
        let mut acc = new();
        csv.accumulate(&chunk, ledger, &mut acc, add)?;
        merge(acc);
    }
    Ok(())
}

/// What a chunk's thread hands back.
enum Done<'a, A> {
    /// Its accumulator and its checks.
    Chunk(A, Checker<'a>),
    /// It could not be read.
    Failed(DataError),
}

/// The splitter on a thread of its own, chunks checked and accumulated on
/// `threads` threads, and their results taken in chunk order on the calling
/// thread: the ledger absorbs each chunk's checks (ids are checked for duplicates
/// there, in file order) and `merge` receives its accumulator. The first failure in
/// file order stops the read, as a single pass would.
#[allow(clippy::too_many_arguments)]
fn parallel<'a, A: Send>(
    csv: &Csv<'_>,
    mut splitter: Splitter<impl std::io::Read + Send>,
    threads: usize,
    ledger: &mut Checker<'a>,
    chunk_checker: &(dyn Fn() -> Checker<'a> + Sync),
    new: &(dyn Fn() -> A + Sync),
    add: &(dyn Fn(&mut A, &NumericRows) + Sync),
    merge: &mut dyn FnMut(A),
) -> Result<(), DataError> {
    // Chunks read but not yet merged: bounds memory when one chunk is slow.
    let in_flight = threads + 2;
    let (job_tx, job_rx) = sync_channel::<Chunk>(threads);
    let job_rx = Mutex::new(job_rx);
    let (done_tx, done_rx) = channel::<(u64, Done<'a, A>)>();
    let (token_tx, token_rx) = sync_channel::<()>(in_flight);
    for _ in 0..in_flight {
        token_tx.send(()).expect("room for every token");
    }
    std::thread::scope(|scope| {
        let split_done = done_tx.clone();
        scope.spawn(move || {
            while token_rx.recv().is_ok() {
                let index = splitter.next_index();
                match splitter.next_chunk() {
                    Ok(Some(chunk)) => {
                        if job_tx.send(chunk).is_err() {
                            break;
                        }
                    }
                    Ok(None) => break,
                    Err(e) => {
                        let _ = split_done.send((index, Done::Failed(csv.io(e))));
                        break;
                    }
                }
            }
        });
        for _ in 0..threads {
            let done_tx = done_tx.clone();
            let job_rx = &job_rx;
            scope.spawn(move || loop {
                let job = job_rx.lock().map(|rx| rx.recv());
                let Ok(Ok(chunk)) = job else { break };
                let mut checker = chunk_checker();
                let mut acc = new();
                let done = match csv.accumulate(&chunk, &mut checker, &mut acc, add) {
                    Ok(()) => Done::Chunk(acc, checker),
                    Err(e) => Done::Failed(e),
                };
                if done_tx.send((chunk.index, done)).is_err() {
                    break;
                }
            });
        }
        drop(done_tx);
        // Returning (on a failure too) drops the receiver and the tokens, which
        // stops the splitter and then the chunk threads.
        in_order(done_rx, token_tx, ledger, merge)
    })
}

/// Takes the chunks' results in chunk order, handing a token back for each.
fn in_order<'a, A>(
    done_rx: std::sync::mpsc::Receiver<(u64, Done<'a, A>)>,
    token_tx: std::sync::mpsc::SyncSender<()>,
    ledger: &mut Checker<'a>,
    merge: &mut dyn FnMut(A),
) -> Result<(), DataError> {
    let mut waiting: BTreeMap<u64, Done<'a, A>> = BTreeMap::new();
    let mut next = 0u64;
    for (index, done) in done_rx {
        waiting.insert(index, done);
        while let Some(done) = waiting.remove(&next) {
            match done {
                Done::Chunk(acc, checker) => {
                    ledger.absorb(checker);
                    merge(acc);
                }
                Done::Failed(e) => return Err(e),
            }
            next += 1;
            let _ = token_tx.send(());
        }
    }
    Ok(())
}
