//! Rows as numbers, checked: for the statistics pass as they are, and for
//! [`crate::scan`] turned into Arrow batches ([`to_batch`]). A CSV file is cut into chunks at
//! record boundaries (a Parquet file read in its row groups), the pieces are checked
//! and accumulated on every core, and their sums handed back in the file's order.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::mpsc::{channel, sync_channel};
use std::sync::{Arc, Mutex};

use arrow_array::{ArrayRef, Float64Array, RecordBatch, StringArray};
use arrow_buffer::NullBuffer;

use crate::convert::{Checked, Checker, Parting, Value};
use crate::csv_reader::{self, Chunk, Splitter};
use crate::table::{Cell, Rows, Table};
use crate::{ColumnKind, ColumnPlan, DataError, DataFile, DataPolicy, DataReport, Format, Position};

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
    /// The part of the file (the wave of a file holding several) the rows are of.
    part: usize,
    values: Vec<f64>,
    /// The ids' text (trimmed, empty when there is none), when asked for: all of
    /// them, one after another, and where each row's ends.
    ids: Option<(String, Vec<usize>)>,
}

impl NumericRows {
    fn new(width: usize, part: usize, with_ids: bool) -> Self {
        Self {
            width,
            part,
            values: Vec::with_capacity(width * ROWS_PER_CALL),
            ids: with_ids.then(|| (String::new(), Vec::with_capacity(ROWS_PER_CALL))),
        }
    }

    /// Row `row`'s id text, when the rows keep ids (empty when it has none).
    pub(crate) fn id(&self, row: usize) -> Option<&str> {
        let (text, ends) = self.ids.as_ref()?;
        let start = if row == 0 { 0 } else { ends[row - 1] };
        Some(&text[start..ends[row]])
    }

    fn clear(&mut self) {
        self.values.clear();
        if let Some((text, ends)) = &mut self.ids {
            text.clear();
            ends.clear();
        }
    }

    /// The part of the file the rows are of: always 0 for a file read whole, else
    /// the position of their part in the file's [`crate::Parts`].
    pub fn part(&self) -> usize {
        self.part
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

/// `rows` as an Arrow record batch of the plan's schema ([`crate::schema_of`]):
/// numbers, null where missing; a categorical segment as its code; the id as its
/// text (null when empty; the rows must keep ids when the plan has an id column).
pub(crate) fn to_batch(plan: &[ColumnPlan], rows: &NumericRows) -> RecordBatch {
    // The numeric columns, read row by row in one pass over the rows (each row's
    // slots are side by side), missing values `NaN` until the end.
    let n = rows.len();
    let numeric: Vec<usize> = (0..plan.len())
        .filter(|&j| !matches!(plan[j].kind, ColumnKind::Id | ColumnKind::Category { .. }))
        .collect();
    let mut values: Vec<Vec<f64>> = numeric.iter().map(|_| vec![0.0; n]).collect();
    for (r, row) in rows.rows().enumerate() {
        for (column, &j) in values.iter_mut().zip(&numeric) {
            column[r] = row[j];
        }
    }
    let mut values = values.into_iter();
    let columns: Vec<ArrayRef> = plan
        .iter()
        .enumerate()
        .map(|(j, c)| match &c.kind {
            ColumnKind::Id => Arc::new(StringArray::from_iter(
                (0..rows.len()).map(|r| rows.id(r).filter(|id| !id.is_empty())),
            )) as ArrayRef,
            ColumnKind::Category { codes } => Arc::new(StringArray::from_iter(
                rows.rows()
                    .map(|r| (!r[j].is_nan()).then(|| codes[r[j] as usize].as_str())),
            )),
            _ => {
                // Missing values are null (and 0 beneath the null, as Arrow builders write).
                let mut values = values.next().expect("a column of values per numeric column");
                let nulls = values.iter().any(|v| v.is_nan()).then(|| {
                    let valid = arrow_buffer::BooleanBuffer::collect_bool(values.len(), |i| !values[i].is_nan());
                    values.iter_mut().filter(|v| v.is_nan()).for_each(|v| *v = 0.0);
                    NullBuffer::new(valid)
                });
                Arc::new(Float64Array::new(values.into(), nulls))
            }
        })
        .collect();
    RecordBatch::try_new(crate::schema_of(plan), columns).expect("columns follow the plan's schema")
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

/// How [`scan_numbers`] reads a file: on how many threads and in pieces of what
/// size, and whether the rows keep their ids' text (for Arrow batches).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Reading {
    pub how: Parallelism,
    pub with_ids: bool,
}

/// Accumulates a file's checked rows: `new` makes an empty accumulator, `add`
/// adds rows to one, and `merge` receives the accumulators in file order, one per
/// chunk of a CSV file (one per row group of a Parquet file). Chunks are checked and
/// accumulated on up to `how.threads` threads; the accumulators reach `merge` in the
/// same order and hold the same rows whatever the number of threads, so sums merged
/// in that order are identical on any machine. At most a few chunks per thread are
/// in flight, so memory stays bounded whatever the file's size (a Parquet chunk is
/// at least one row group: see [`rows_in_one_stream`] for rows kept as batches).
///
/// A respondent id column under `data_policy.duplicate_id: exclude` is read on one
/// thread: whether a row is dropped depends on every id before it.
pub(crate) fn scan_numbers<A: Send>(
    file: &crate::DataFile,
    plan: &[ColumnPlan],
    policy: &DataPolicy,
    reading: Reading,
    new: &(dyn Fn() -> A + Sync),
    add: &(dyn Fn(&mut A, &NumericRows) + Sync),
    merge: &mut Merge<'_, A>,
) -> Result<crate::PartsReport, DataError> {
    let Reading { how, with_ids } = reading;
    // Pieces read but not yet merged: bounds memory when one piece is slow. Rows
    // kept with their ids are made into batches that wait with their piece, so
    // one piece fewer is in flight then.
    let workers = |threads: usize| Workers {
        threads,
        in_flight: threads + if with_ids { 1 } else { 2 },
    };
    let path = file.path.as_path();
    // A file in parts is read with its parts' column after the plan's.
    let (plan, parting) = parted(plan, file.parts.as_ref());
    let (plan, parting) = (&plan[..], parting.as_ref());
    let hasher = std::collections::hash_map::RandomState::new();
    // Whether a row is dropped for its id depends on every id before it.
    let live_ids = policy.duplicate_id == crate::Policy::Exclude && plan.iter().any(|c| c.kind == ColumnKind::Id);
    let threads = if live_ids { 1 } else { how.threads };
    match crate::format_of(path)? {
        Format::Parquet => {
            // The pieces are runs of the file's row groups, of about a chunk's size.
            let ledger = Checker::new(plan, parting, policy, Position::Row, false, hasher.clone(), false);
            // (columns checked here too: a file without row groups has no piece)
            csv_reader::positions(path, &crate::parquet_reader::read_header(path)?, plan)?;
            let mut groups = crate::parquet_reader::pieces(path, how.chunk_bytes)?.into_iter();
            let mut next = || Ok(groups.next());
            let accumulate = |piece: &(Vec<usize>, u64), checker: &mut Checker<'_>, acc: &mut A| {
                let groups = Some((&piece.0[..], piece.1));
                check_parquet(
                    path,
                    plan,
                    parting,
                    groups,
                    with_ids,
                    checker,
                    acc,
                    add,
                    &mut |_| Ok(()),
                )
            };
            let chunk_checker = || Checker::new(plan, parting, policy, Position::Row, false, hasher.clone(), true);
            read_pieces(
                &mut next,
                workers(threads),
                ledger,
                &chunk_checker,
                new,
                &accumulate,
                merge,
            )
        }
        Format::Excel | Format::Spss => {
            let (position, reader): (Position, TableReader) = match crate::format_of(path)? {
                Format::Excel => (Position::SheetRow, crate::excel_reader::read),
                _ => (Position::Case, crate::spss::read),
            };
            let ctx = TableRead {
                file,
                plan,
                parting,
                policy,
                chunk_bytes: how.chunk_bytes,
                threads,
                with_ids,
                hasher,
            };
            ctx.read(position, reader, new, add, merge)
        }
        Format::Csv => {
            let data = csv_reader::open_data(file)?;
            let index = csv_reader::positions(path, &data.header, plan)?;
            let decimal_comma = data.delim != b',';
            let ledger = Checker::new(
                plan,
                parting,
                policy,
                Position::Line,
                decimal_comma,
                hasher.clone(),
                false,
            );
            let mut splitter = Splitter::new(data.rest, data.delim, data.first_line, how.chunk_bytes);
            let csv = Csv {
                path,
                with_ids,
                delim: data.delim,
                header_len: data.header.len(),
                index: &index,
            };
            let mut next = || splitter.next_chunk().map_err(|e| csv.io(e));
            let accumulate =
                |chunk: &Chunk, checker: &mut Checker<'_>, acc: &mut A| csv.accumulate(chunk, checker, acc, add);
            let chunk_checker = || {
                Checker::new(
                    plan,
                    parting,
                    policy,
                    Position::Line,
                    decimal_comma,
                    hasher.clone(),
                    true,
                )
            };
            read_pieces(
                &mut next,
                workers(threads),
                ledger,
                &chunk_checker,
                new,
                &accumulate,
                merge,
            )
        }
    }
}

/// `plan`, with the parts' column after its own when the file is in `parts`, and
/// how its rows are parted.
fn parted<'p>(
    plan: &'p [ColumnPlan],
    parts: Option<&crate::Parts>,
) -> (std::borrow::Cow<'p, [ColumnPlan]>, Option<Parting>) {
    let Some(parts) = parts else {
        return (std::borrow::Cow::Borrowed(plan), None);
    };
    let mut full = plan.to_vec();
    full.push(ColumnPlan {
        name: parts.column.clone(),
        kind: ColumnKind::Category {
            codes: parts.values.concat(),
        },
    });
    let parting = Parting::new(&full, parts);
    (std::borrow::Cow::Owned(full), Some(parting))
}

/// A file read by a reader of typed cells (a workbook, an SPSS file) and how.
struct TableRead<'a> {
    file: &'a DataFile,
    plan: &'a [ColumnPlan],
    parting: Option<&'a Parting>,
    policy: &'a DataPolicy,
    chunk_bytes: usize,
    threads: usize,
    with_ids: bool,
    hasher: std::collections::hash_map::RandomState,
}

/// A reader of typed cells: hands on the file's header, then pieces of rows of
/// the plan's columns, of about so many bytes.
type TableReader =
    fn(&DataFile, &[ColumnPlan], usize, &mut dyn FnMut(Table) -> Result<(), DataError>) -> Result<(), DataError>;

impl TableRead<'_> {
    /// Reads the file with `reader` on a thread of its own, which hands on its
    /// header, then pieces of rows, to be checked on every core.
    fn read<A: Send>(
        &self,
        position: Position,
        reader: TableReader,
        new: &(dyn Fn() -> A + Sync),
        add: &(dyn Fn(&mut A, &NumericRows) + Sync),
        merge: &mut Merge<'_, A>,
    ) -> Result<crate::PartsReport, DataError> {
        let Self {
            file,
            plan,
            parting,
            policy,
            chunk_bytes,
            threads,
            with_ids,
            ..
        } = *self;
        std::thread::scope(|scope| {
            let (tx, rx) = sync_channel::<Result<Table, DataError>>(2);
            scope.spawn(move || {
                let stopped = || DataError::Consumer("stopped".into());
                if let Err(e) = reader(file, plan, chunk_bytes, &mut |t| tx.send(Ok(t)).map_err(|_| stopped())) {
                    let _ = tx.send(Err(e));
                }
            });
            // The header first (the reader checked the plan's columns against it).
            match rx.recv() {
                Ok(Ok(Table::Header(_))) => {}
                Ok(Err(e)) => return Err(e),
                _ => {}
            }
            let ledger = Checker::new(plan, parting, policy, position, false, self.hasher.clone(), false);
            let mut next = move || match rx.recv() {
                Ok(Ok(Table::Rows(rows))) => Ok(Some(rows)),
                Ok(Ok(Table::Header(_))) | Err(_) => Ok(None),
                Ok(Err(e)) => Err(e),
            };
            let accumulate = |rows: &Rows, checker: &mut Checker<'_>, acc: &mut A| {
                let mut batch = Batch::new(plan.len(), checker.parts(), with_ids);
                let mut cells = Vec::with_capacity(plan.len());
                for (row, all) in rows {
                    cells.clear();
                    cells.extend(all.iter().map(Cell::value));
                    batch.push(checker, &cells, *row, acc, add);
                }
                batch.flush(acc, add);
                Ok(())
            };
            let chunk_checker = || Checker::new(plan, parting, policy, position, false, self.hasher.clone(), true);
            let workers = Workers {
                threads,
                in_flight: threads + if with_ids { 1 } else { 2 },
            };
            read_pieces(&mut next, workers, ledger, &chunk_checker, new, &accumulate, merge)
        })
    }
}

/// Checks the rows of some row groups of a Parquet file (`(their indices, the rows
/// before them)`, or the whole file) with `checker`, adds those kept to `acc`, and
/// calls `after` with it after every batch (an error there stops the read). Each
/// batch is checked column by column (no value per cell kept), its rows then taken
/// in order.
#[allow(clippy::too_many_arguments)]
fn check_parquet<A>(
    path: &Path,
    plan: &[ColumnPlan],
    parting: Option<&Parting>,
    groups: Option<(&[usize], u64)>,
    with_ids: bool,
    checker: &mut Checker<'_>,
    acc: &mut A,
    add: &(dyn Fn(&mut A, &NumericRows) + Sync),
    after: &mut dyn FnMut(&mut A) -> Result<(), DataError>,
) -> Result<(), DataError> {
    let mut batch = Batch::new(plan.len(), checker.parts(), with_ids);
    let width = plan.len();
    let mut slots = Vec::new();
    crate::parquet_reader::each_batch_of(path, plan, groups, ROWS_PER_CALL, &mut |b| {
        slots.clear();
        slots.resize(b.rows() * width, f64::NAN);
        let mut rows: Vec<Checked<'_>> = (0..b.rows()).map(|_| Checked::new()).collect();
        // The rows' parts first (a file holding several waves: its last column),
        // then the columns each row's part reads.
        if let Some(j) = parting.map(|p| p.column) {
            b.each_cell(j, &plan[j].name, path, &mut |r, value| {
                checker.assign(&value, &mut rows[r])
            })?;
        }
        for (j, c) in plan.iter().enumerate() {
            b.each_cell(j, &c.name, path, &mut |r, value| {
                if checker.reads(&rows[r], j) {
                    slots[r * width + j] = checker.cell(j, &value, b.row_number(r), &mut rows[r]);
                }
            })?;
        }
        for (row, values) in rows.iter().zip(slots.chunks_exact(width)) {
            checker.count_row(row);
            if let (true, Some(part)) = (row.keep, row.part) {
                batch.push_checked(part, values, &row.id, acc, add);
            }
        }
        batch.flush(acc, add);
        after(acc)
    })
}

/// Whether reading `path`'s rows as Arrow batches in parallel pieces would hold
/// too much: each piece is at least one row group, and its batches wait in memory
/// until the pieces before it are handed on, so a Parquet file whose row groups
/// are larger than `piece_bytes` many times over is read in one stream instead.
pub(crate) fn rows_in_one_stream(path: &Path, piece_bytes: usize) -> Result<bool, DataError> {
    match crate::format_of(path)? {
        Format::Csv | Format::Excel | Format::Spss => Ok(false),
        Format::Parquet => Ok(crate::parquet_reader::largest_row_group_bytes(path)? > 8 * piece_bytes),
    }
}

/// Streams a Parquet file's rows in file order on the calling thread through the
/// checks of [`scan_numbers`], handing each batch of rows to `consume` as soon as
/// it is checked (memory: one batch, whatever the row groups' size). Returns the
/// report.
pub(crate) fn stream_parquet_rows(
    file: &DataFile,
    plan: &[ColumnPlan],
    policy: &DataPolicy,
    consume: &mut dyn FnMut(&RecordBatch) -> Result<(), String>,
) -> Result<DataReport, DataError> {
    let path = file.path.as_path();
    let batch_plan = plan;
    let (plan, parting) = parted(plan, file.parts.as_ref());
    let (plan, parting) = (&plan[..], parting.as_ref());
    let hasher = std::collections::hash_map::RandomState::new();
    let mut checker = Checker::new(plan, parting, policy, Position::Row, false, hasher, false);
    csv_reader::positions(path, &crate::parquet_reader::read_header(path)?, plan)?;
    let mut ready: Vec<RecordBatch> = Vec::new();
    let add = |ready: &mut Vec<RecordBatch>, rows: &NumericRows| ready.push(to_batch(batch_plan, rows));
    check_parquet(
        path,
        plan,
        parting,
        None,
        true,
        &mut checker,
        &mut ready,
        &add,
        &mut |ready| {
            ready
                .drain(..)
                .try_for_each(|b| consume(&b))
                .map_err(DataError::Consumer)
        },
    )?;
    Ok(checker.finish().parts.swap_remove(0))
}

/// Takes a piece's accumulator, in file order; an error stops the read.
pub(crate) type Merge<'m, A> = dyn FnMut(A) -> Result<(), DataError> + 'm;

/// The next piece of a file (a CSV chunk, a Parquet row group), or `None` at its end.
type NextPiece<'n, P> = dyn FnMut() -> Result<Option<P>, DataError> + Send + 'n;

/// Checks a piece's rows with a checker and adds those kept to an accumulator.
type Accumulate<'f, 'a, P, A> = dyn Fn(&P, &mut Checker<'a>, &mut A) -> Result<(), DataError> + Sync + 'f;

/// How many threads check pieces, and how many pieces may be read but not yet
/// merged (bounding memory when one piece is slow).
#[derive(Debug, Clone, Copy)]
struct Workers {
    threads: usize,
    in_flight: usize,
}

/// Reads a file's pieces, one after another when `workers.threads` is 1, else in
/// [`parallel`], and returns the ledger's report.
fn read_pieces<'a, P: Send, A: Send>(
    next: &mut NextPiece<'_, P>,
    workers: Workers,
    mut ledger: Checker<'a>,
    chunk_checker: &(dyn Fn() -> Checker<'a> + Sync),
    new: &(dyn Fn() -> A + Sync),
    accumulate: &Accumulate<'_, 'a, P, A>,
    merge: &mut Merge<'_, A>,
) -> Result<crate::PartsReport, DataError> {
    if workers.threads <= 1 {
        sequential(next, &mut ledger, new, accumulate, merge)?;
    } else {
        parallel(next, workers, &mut ledger, chunk_checker, new, accumulate, merge)?;
    }
    Ok(ledger.finish())
}

/// Rows gathered for the accumulator, one batch per part of the file.
struct Batch {
    rows: Vec<NumericRows>,
    slots: Vec<f64>,
}

impl Batch {
    fn new(width: usize, parts: usize, with_ids: bool) -> Self {
        Self {
            rows: (0..parts).map(|p| NumericRows::new(width, p, with_ids)).collect(),
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
        let checked = checker.row(cells, line, &mut self.slots);
        if let (true, Some(part)) = (checked.keep, checked.part) {
            let slots = std::mem::take(&mut self.slots);
            self.push_checked(part, &slots, &checked.id, acc, add);
            self.slots = slots;
        }
    }

    /// Adds a row of `part` already checked cell by cell: its slots and id.
    fn push_checked<A>(
        &mut self,
        part: usize,
        values: &[f64],
        id: &str,
        acc: &mut A,
        add: &(dyn Fn(&mut A, &NumericRows) + Sync),
    ) {
        let rows = &mut self.rows[part];
        rows.values.extend_from_slice(values);
        if let Some((text, ends)) = &mut rows.ids {
            text.push_str(id);
            ends.push(text.len());
        }
        if rows.len() >= ROWS_PER_CALL {
            add(acc, rows);
            rows.clear();
        }
    }

    fn flush<A>(&mut self, acc: &mut A, add: &(dyn Fn(&mut A, &NumericRows) + Sync)) {
        for rows in &mut self.rows {
            if !rows.is_empty() {
                add(acc, rows);
                rows.clear();
            }
        }
    }
}

/// What every chunk of one CSV file shares.
struct Csv<'p> {
    path: &'p Path,
    /// Whether the rows keep their ids' text.
    with_ids: bool,
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
        let mut batch = Batch::new(self.index.len(), checker.parts(), self.with_ids);
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

/// One piece after another on the calling thread, each into an accumulator of its
/// own (so that the sums are those of the parallel read).
fn sequential<'a, P, A>(
    next: &mut NextPiece<'_, P>,
    ledger: &mut Checker<'a>,
    new: &(dyn Fn() -> A + Sync),
    accumulate: &Accumulate<'_, 'a, P, A>,
    merge: &mut Merge<'_, A>,
) -> Result<(), DataError> {
    while let Some(piece) = next()? {
        let mut acc = new();
        accumulate(&piece, ledger, &mut acc)?;
        merge(acc)?;
    }
    Ok(())
}

/// What a chunk's thread hands back.
enum Done<'a, A> {
    /// Its accumulator and its checks.
    Chunk(A, Checker<'a>),
    /// It could not be read.
    Failed(DataError),
    /// Its thread panicked (a bug): the panic is resumed on the calling thread.
    Panicked(Box<dyn std::any::Any + Send>),
}

/// The pieces cut on a thread of their own, checked and accumulated on `threads`
/// threads, and their results taken in file order on the calling thread: the
/// ledger absorbs each piece's checks (ids are checked for duplicates there, in
/// file order) and `merge` receives its accumulator. The first failure in file
/// order stops the read, as a single pass would.
fn parallel<'a, P: Send, A: Send>(
    next: &mut NextPiece<'_, P>,
    Workers { threads, in_flight }: Workers,
    ledger: &mut Checker<'a>,
    chunk_checker: &(dyn Fn() -> Checker<'a> + Sync),
    new: &(dyn Fn() -> A + Sync),
    accumulate: &Accumulate<'_, 'a, P, A>,
    merge: &mut Merge<'_, A>,
) -> Result<(), DataError> {
    let (job_tx, job_rx) = sync_channel::<(u64, P)>(threads);
    let job_rx = Mutex::new(job_rx);
    let (done_tx, done_rx) = channel::<(u64, Done<'a, A>)>();
    let (token_tx, token_rx) = sync_channel::<()>(in_flight);
    for _ in 0..in_flight {
        token_tx.send(()).expect("room for every token");
    }
    std::thread::scope(|scope| {
        let split_done = done_tx.clone();
        scope.spawn(move || {
            let mut index = 0u64;
            while token_rx.recv().is_ok() {
                match next() {
                    Ok(Some(piece)) => {
                        if job_tx.send((index, piece)).is_err() {
                            break;
                        }
                        index += 1;
                    }
                    Ok(None) => break,
                    Err(e) => {
                        let _ = split_done.send((index, Done::Failed(e)));
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
                let Ok(Ok((index, piece))) = job else { break };
                // A panic is handed on in file order too (the reader must not wait
                // for a piece that never comes).
                let done = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    let mut checker = chunk_checker();
                    let mut acc = new();
                    match accumulate(&piece, &mut checker, &mut acc) {
                        Ok(()) => Done::Chunk(acc, checker),
                        Err(e) => Done::Failed(e),
                    }
                }))
                .unwrap_or_else(Done::Panicked);
                if done_tx.send((index, done)).is_err() {
                    break;
                }
            });
        }
        drop(done_tx);
        // Returning (on a failure too) drops the receiver and the tokens: the
        // splitter stops once it has used the tokens it holds, then the chunk
        // threads once the pieces already handed out are done.
        in_order(done_rx, token_tx, ledger, merge)
    })
}

/// Takes the chunks' results in chunk order, handing a token back for each.
fn in_order<'a, A>(
    done_rx: std::sync::mpsc::Receiver<(u64, Done<'a, A>)>,
    token_tx: std::sync::mpsc::SyncSender<()>,
    ledger: &mut Checker<'a>,
    merge: &mut Merge<'_, A>,
) -> Result<(), DataError> {
    let mut waiting: BTreeMap<u64, Done<'a, A>> = BTreeMap::new();
    let mut next = 0u64;
    for (index, done) in done_rx {
        waiting.insert(index, done);
        while let Some(done) = waiting.remove(&next) {
            match done {
                Done::Chunk(acc, checker) => {
                    ledger.absorb(checker);
                    merge(acc)?;
                }
                Done::Failed(e) => return Err(e),
                Done::Panicked(panic) => {
                    drop(token_tx);
                    std::panic::resume_unwind(panic)
                }
            }
            next += 1;
            let _ = token_tx.send(());
        }
    }
    Ok(())
}
