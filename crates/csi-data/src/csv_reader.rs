//! CSV: UTF-8 with or without BOM, or a declared encoding (GB18030, Big5,
//! UTF-16...) decoded to UTF-8 while streaming; comma / semicolon / tab detected
//! from the header line, quoted fields, one header row.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek};
use std::path::Path;

use crate::convert::Value;
use crate::{ColumnPlan, DataError, DataFile};

/// A CSV file's text as UTF-8 bytes: the file itself, or its decoding.
pub(crate) type Text = BufReader<Box<dyn Read + Send>>;

fn io_error(path: &Path) -> impl Fn(std::io::Error) -> DataError + '_ {
    move |source| DataError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Opens `file` as UTF-8 text. A file declared in another encoding, or one that
/// starts with a UTF-16 byte-order mark, is decoded on the way (a byte-order mark
/// wins over the declared encoding; bytes the encoding cannot decode become
/// U+FFFD, and so a cell that is not a number or not a known code, at its line);
/// a UTF-8 file is read as it is, its mark left for [`prepare`].
fn open(file: &DataFile) -> Result<Text, DataError> {
    let path = &file.path;
    let mut raw = File::open(path).map_err(io_error(path))?;
    let mut head = Vec::with_capacity(3);
    (&mut raw).take(3).read_to_end(&mut head).map_err(io_error(path))?;
    raw.seek(std::io::SeekFrom::Start(0)).map_err(io_error(path))?;
    let mark = encoding_rs::Encoding::for_bom(&head).map(|(e, _)| e);
    let utf16_mark = mark.is_some_and(|e| e != encoding_rs::UTF_8);
    // A mark that says another encoding than the study: the page would state one
    // and the figures come from the other.
    if let (Some(mark), Some(declared)) = (mark, file.encoding) {
        let utf16 = |e: &encoding_rs::Encoding| e == encoding_rs::UTF_16LE || e == encoding_rs::UTF_16BE;
        if mark != declared && !(utf16(mark) && utf16(declared)) {
            return Err(malformed(
                path,
                1,
                format!(
                    "the file starts with a {} byte-order mark, but the wave declares `encoding: {}`; remove the wave's `encoding:` (the mark says how the file is written) or save the file in the encoding declared",
                    mark.name(),
                    declared.name().to_lowercase()
                ),
            ));
        }
    }
    let declared = file.encoding.filter(|e| *e != encoding_rs::UTF_8);
    let text: Box<dyn Read + Send> = if declared.is_some() || utf16_mark {
        Box::new(
            encoding_rs_io::DecodeReaderBytesBuilder::new()
                .encoding(declared)
                .bom_override(true)
                .strip_bom(true)
                .build(raw),
        )
    } else {
        Box::new(raw)
    };
    Ok(BufReader::with_capacity(1 << 20, text))
}

/// Skips a UTF-8 byte-order mark and detects the delimiter from the first line.
fn prepare(file: &DataFile) -> Result<(Text, u8, u64), DataError> {
    let path = &file.path;
    let mut r = open(file)?;
    // The first line whole (a decoder may hand on a few bytes at a time), up to
    // 1 MiB, read ahead and put back in front of the rest.
    let mut head = Vec::new();
    while !head.contains(&b'\n') && head.len() < 1 << 20 {
        let buf = r.fill_buf().map_err(io_error(path))?;
        if buf.is_empty() {
            break;
        }
        head.extend_from_slice(buf);
        let n = buf.len();
        r.consume(n);
    }
    let mut bom = 0;
    if head.starts_with(&[0xEF, 0xBB, 0xBF]) {
        bom = 3;
    }
    let first_line = head[bom as usize..].split(|b| *b == b'\n').next().unwrap_or(&[]);
    if file.encoding.is_none() && first_line.contains(&0) {
        // UTF-16 without a byte-order mark: ASCII text with a zero byte after
        // (little-endian) or before (big-endian) each character.
        let odd = head.iter().skip(1).step_by(2).filter(|b| **b == 0).count();
        let even = head.iter().step_by(2).filter(|b| **b == 0).count();
        let label = if odd >= even { "utf-16le" } else { "utf-16be" };
        return Err(malformed(
            path,
            1,
            format!(
                "the header has zero bytes: the file looks like {label} text without a byte-order mark; add `encoding: {label}` to this wave in study.yaml (beside `data:`)"
            ),
        ));
    }
    let mut counts = [(b',', 0usize), (b';', 0), (b'\t', 0)];
    let mut quoted = false;
    for &b in first_line {
        if b == b'"' {
            quoted = !quoted;
        } else if !quoted {
            for (d, n) in counts.iter_mut() {
                if b == *d {
                    *n += 1;
                }
            }
        }
    }
    // (ties, a single column among them, go to the comma)
    let delim = counts
        .iter()
        .rev()
        .max_by_key(|(_, n)| *n)
        .map(|(d, _)| *d)
        .unwrap_or(b',');
    let rest: Box<dyn Read + Send> = Box::new(std::io::Cursor::new(head.split_off(bom as usize)).chain(r));
    Ok((BufReader::with_capacity(1 << 20, rest), delim, bom))
}

fn reader<R: Read>(r: R, delim: u8) -> csv::Reader<R> {
    csv::ReaderBuilder::new()
        .delimiter(delim)
        .flexible(true)
        .has_headers(false)
        .from_reader(r)
}

fn malformed(path: &Path, line: u64, message: impl Into<String>) -> DataError {
    DataError::Malformed {
        path: path.to_path_buf(),
        line,
        message: message.into(),
    }
}

fn csv_error(path: &Path, e: csv::Error, line: u64) -> DataError {
    match e.into_kind() {
        csv::ErrorKind::Io(source) => DataError::Io {
            path: path.to_path_buf(),
            source,
        },
        other => malformed(path, line, format!("cannot parse CSV: {other:?}")),
    }
}

fn utf8<'b>(path: &Path, bytes: &'b [u8], line: u64, column: usize) -> Result<&'b str, DataError> {
    std::str::from_utf8(bytes).map_err(|_| {
        let help = match guess_encoding(path) {
            Some(label) => format!(
                "the file looks like {label} text; add `encoding: {label}` to this wave in study.yaml (beside `data:`)"
            ),
            None => "add the file's encoding to this wave in study.yaml (beside `data:`): `encoding: gb18030` \
                     for a CSV saved by Excel in mainland China, `encoding: big5` in Taiwan or Hong Kong, \
                     `encoding: windows-1252` in Western Europe"
                .to_string(),
        };
        malformed(path, line, format!("field {column} is not UTF-8 text; {help}"))
    })
}

/// The encoding a text file that is not UTF-8 most likely has, by its first
/// 1 MiB, as the label to declare (GBK as `gb18030`, its superset); `None` when
/// it has too little non-ASCII text for a guess to mean much.
fn guess_encoding(path: &Path) -> Option<String> {
    let mut head = Vec::new();
    File::open(path).ok()?.take(1 << 20).read_to_end(&mut head).ok()?;
    let zeros = |start: usize| head.iter().skip(start).step_by(2).filter(|b| **b == 0).count();
    let (even, odd) = (zeros(0), zeros(1));
    if odd.max(even) * 4 > head.len() {
        return Some(if odd >= even { "utf-16le" } else { "utf-16be" }.to_string());
    }
    if head.iter().filter(|b| !b.is_ascii()).count() < 64 {
        return None;
    }
    let mut detector = chardetng::EncodingDetector::new();
    detector.feed(&head, head.len() < 1 << 20);
    let encoding = detector.guess(None, true);
    if encoding == encoding_rs::UTF_8 {
        return None;
    }
    Some(if encoding == encoding_rs::GBK {
        "gb18030".to_string()
    } else {
        encoding.name().to_lowercase()
    })
}

fn header_of<R: Read>(path: &Path, rdr: &mut csv::Reader<R>) -> Result<Vec<String>, DataError> {
    let mut rec = csv::ByteRecord::new();
    if !rdr.read_byte_record(&mut rec).map_err(|e| {
        let line = e.position().map_or(0, |p| p.line());
        csv_error(path, e, line)
    })? {
        return Err(malformed(
            path,
            1,
            "the file is empty; it needs a header row with column names",
        ));
    }
    // Unnamed columns (a row index written by R or pandas, trailing empty columns
    // saved by Excel) and repeated names are kept as they are: a column the study
    // does not use is ignored, and one it uses is checked by the engine's column
    // check, which says what is wrong with it.
    let mut names = Vec::with_capacity(rec.len());
    for (i, f) in rec.iter().enumerate() {
        names.push(utf8(path, f, 1, i + 1)?.trim().to_string());
    }
    Ok(names)
}

pub(crate) fn read_header(file: &DataFile) -> Result<Vec<String>, DataError> {
    let (r, delim, _) = prepare(file)?;
    header_of(&file.path, &mut reader(r, delim))
}

/// A CSV file opened for its data rows: positioned just after the header.
pub(crate) struct CsvData {
    /// The rest of the file, from the first byte after the header row.
    pub rest: Text,
    /// The delimiter.
    pub delim: u8,
    /// The header's column names.
    pub header: Vec<String>,
    /// The line on which the rest begins.
    pub first_line: u64,
}

/// Opens `path`, reads its header and positions the reader on the first data row.
pub(crate) fn open_data(file: &DataFile) -> Result<CsvData, DataError> {
    let path = &file.path;
    let (r, delim, bom) = prepare(file)?;
    let mut rdr = reader(r, delim);
    let header = header_of(path, &mut rdr)?;
    let header_end = bom + rdr.position().byte();
    drop(rdr);
    let mut rest = open(file)?;
    let mut before = Vec::with_capacity(header_end as usize);
    (&mut rest)
        .take(header_end)
        .read_to_end(&mut before)
        .map_err(io_error(path))?;
    let first_line = 1 + memchr::memchr_iter(b'\n', &before).count() as u64;
    Ok(CsvData {
        rest,
        delim,
        header,
        first_line,
    })
}

/// Each plan column's position in `header`, or the columns it lacks.
pub(crate) fn positions(path: &Path, header: &[String], plan: &[ColumnPlan]) -> Result<Vec<usize>, DataError> {
    let mut index = Vec::with_capacity(plan.len());
    let mut missing = Vec::new();
    for c in plan {
        match header.iter().position(|h| *h == c.name) {
            Some(i) => index.push(i),
            None => missing.push(c.name.clone()),
        }
    }
    if !missing.is_empty() {
        return Err(DataError::MissingColumns {
            path: path.to_path_buf(),
            columns: missing,
        });
    }
    Ok(index)
}

/// A run of whole records of a CSV file.
pub(crate) struct Chunk {
    /// The line on which it begins.
    pub first_line: u64,
    /// Its bytes: whole records, each with its line end (the last one may lack it).
    pub bytes: Vec<u8>,
}

/// Where the splitter stands in the CSV grammar, so that a chunk ends only where
/// a record does (never inside a quoted field): the states of `csv_core`'s reader
/// that matter for where a record ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Quoting {
    /// At the start of a field (where a quote opens a quoted field).
    FieldStart,
    /// Inside an unquoted field (a quote is an ordinary character).
    Unquoted,
    /// Inside a quoted field (line ends are part of the field).
    Quoted,
    /// Just after a quote inside a quoted field: a second quote is an escaped
    /// quote; anything else follows the closed field.
    QuoteInQuoted,
}

impl Quoting {
    fn next(self, b: u8, delim: u8) -> Self {
        use Quoting::*;
        match (self, b) {
            (Quoted, b'"') => QuoteInQuoted,
            (Quoted, _) => Quoted,
            (QuoteInQuoted, b'"') => Quoted,
            (FieldStart, b'"') => Quoted,
            (_, b'\n' | b'\r') => FieldStart,
            (_, d) if d == delim => FieldStart,
            _ => Unquoted,
        }
    }
}

/// Cuts a CSV file's data rows into chunks of about `chunk_bytes` that end where a
/// record ends. The cut depends only on the file and `chunk_bytes`, never on how
/// many threads read the chunks, so the chunks (and every sum merged from them in
/// their order) are the same on any machine.
pub(crate) struct Splitter<R> {
    source: R,
    delim: u8,
    chunk_bytes: usize,
    carry: Vec<u8>,
    /// Bytes of `carry` already run through the quoting state.
    scanned: usize,
    /// Just after the last line end in `carry` at which a record ends.
    cut: usize,
    state: Quoting,
    next_line: u64,
    eof: bool,
}

impl<R: Read> Splitter<R> {
    /// Splits `source`, whose first byte is on line `first_line`.
    pub fn new(source: R, delim: u8, first_line: u64, chunk_bytes: usize) -> Self {
        Self {
            source,
            delim,
            chunk_bytes: chunk_bytes.max(1),
            carry: Vec::new(),
            scanned: 0,
            cut: 0,
            state: Quoting::FieldStart,
            next_line: first_line,
            eof: false,
        }
    }

    /// Runs the bytes not yet scanned through the quoting state, noting the last
    /// line end at which a record ends.
    fn scan_new_bytes(&mut self) {
        let new = &self.carry[self.scanned..];
        let plain =
            matches!(self.state, Quoting::FieldStart | Quoting::Unquoted) && memchr::memchr(b'"', new).is_none();
        if plain {
            // No quote: every line end ends a record: a `\n`, or a `\r` that is not
            // the first half of `\r\n` (files saved with `\r` alone); a `\r` with
            // nothing read after it yet waits for the next read.
            if let Some(nl) = memchr::memrchr(b'\n', new) {
                self.cut = self.scanned + nl + 1;
            }
            let mut cr = memchr::memrchr(b'\r', new);
            if let Some(last) = cr.filter(|&r| r + 1 == new.len()) {
                cr = memchr::memrchr(b'\r', &new[..last]);
            }
            if let Some(r) = cr.filter(|&r| new[r + 1] != b'\n') {
                self.cut = self.cut.max(self.scanned + r + 1);
            }
            if let Some(&last) = new.last() {
                self.state = Quoting::FieldStart.next(last, self.delim);
                if self.state == Quoting::Quoted {
                    self.state = Quoting::Unquoted; // no quote in these bytes
                }
            }
        } else {
            for (i, &b) in new.iter().enumerate() {
                let before = self.state;
                self.state = before.next(b, self.delim);
                let ends = match b {
                    b'\n' => true,
                    b'\r' => new.get(i + 1).is_some_and(|&next| next != b'\n'),
                    _ => false,
                };
                if ends && before != Quoting::Quoted {
                    self.cut = self.scanned + i + 1;
                }
            }
        }
        self.scanned = self.carry.len();
    }

    /// The next chunk, or `None` at the end of the file.
    pub fn next_chunk(&mut self) -> std::io::Result<Option<Chunk>> {
        loop {
            if self.carry.len() >= self.chunk_bytes && self.cut > 0 {
                break;
            }
            if self.eof {
                if self.carry.is_empty() {
                    return Ok(None);
                }
                self.cut = self.carry.len();
                break;
            }
            // Up to the chunk's size; past it (a record longer than a chunk) a
            // chunk's size at a time.
            let want = match self.chunk_bytes.saturating_sub(self.carry.len()) {
                0 => self.chunk_bytes,
                short => short,
            } as u64;
            let read = (&mut self.source).take(want).read_to_end(&mut self.carry)?;
            if read == 0 {
                self.eof = true;
            }
            self.scan_new_bytes();
        }
        let rest = self.carry.split_off(self.cut);
        let bytes = std::mem::replace(&mut self.carry, rest);
        self.scanned -= self.cut;
        self.cut = 0;
        let chunk = Chunk {
            first_line: self.next_line,
            bytes,
        };
        self.next_line += memchr::memchr_iter(b'\n', &chunk.bytes).count() as u64;
        Ok(Some(chunk))
    }
}

/// The chunk as text when it is "plain": UTF-8, without a quote, and every `\r`
/// the first half of a `\r\n`. Then a record is a line and a field what lies
/// between delimiters, exactly as the CSV reader would find them, and the chunk is
/// split without it (most survey exports are plain: numbers and codes).
fn plain_text(bytes: &[u8]) -> Option<&str> {
    if memchr::memchr(b'"', bytes).is_some() {
        return None;
    }
    let lone_cr = memchr::memchr_iter(b'\r', bytes).any(|r| bytes.get(r + 1) != Some(&b'\n'));
    if lone_cr {
        return None;
    }
    std::str::from_utf8(bytes).ok()
}

/// [`each_record`] for a plain chunk (see [`plain_text`]): the same records, lines,
/// blank lines skipped and errors, without the CSV state machine or a copy of each
/// record.
fn each_plain_record(
    path: &Path,
    text: &str,
    first_line: u64,
    delim: u8,
    header_len: usize,
    index: &[usize],
    f: &mut crate::convert::RowSink<'_>,
) -> Result<(), DataError> {
    let bytes = text.as_bytes();
    // For each field of the header, the first cell it fills (or none: a column not
    // read); a column read twice (an answer that is also a segment, one column on
    // two scales) fills its other cells from the first after the split.
    let mut slot_of = vec![usize::MAX; header_len];
    let mut again: Vec<(usize, usize)> = Vec::new();
    for (slot, &i) in index.iter().enumerate() {
        if slot_of[i] == usize::MAX {
            slot_of[i] = slot;
        } else {
            again.push((slot_of[i], slot));
        }
    }
    let mut cells: Vec<Value> = vec![Value::Empty; index.len()];
    let (mut start, mut line) = (0, first_line);
    while start < bytes.len() {
        let newline = memchr::memchr(b'\n', &bytes[start..]).map_or(bytes.len(), |i| start + i);
        let end = if newline > start && bytes[newline - 1] == b'\r' {
            newline - 1
        } else {
            newline
        };
        let (record, this_line) = (&text[start..end], line);
        start = newline + 1;
        line += 1;
        if record.is_empty() {
            continue; // blank line
        }
        let mut fields = 0;
        let mut from = 0;
        each_delimiter(record.as_bytes(), delim, |at| {
            if let Some(&slot) = slot_of.get(fields).filter(|&&s| s != usize::MAX) {
                // Fields end at an ASCII delimiter or line end: always on a character.
                cells[slot] = Value::Text(record.get(from..at).unwrap_or(""));
            }
            fields += 1;
            from = at + 1;
        });
        if let Some(&slot) = slot_of.get(fields).filter(|&&s| s != usize::MAX) {
            cells[slot] = Value::Text(&record[from..]);
        }
        fields += 1;
        if fields == 1 && record.bytes().all(|b| b.is_ascii_whitespace()) {
            continue; // blank line
        }
        if fields != header_len {
            return Err(malformed(
                path,
                this_line,
                format!(
                    "this row has {fields} fields but the header has {header_len}; check for an unquoted delimiter or a missing field",
                ),
            ));
        }
        for &(first, other) in &again {
            cells[other] = cells[first];
        }
        f(&cells, this_line)?;
    }
    Ok(())
}

/// Calls `at` with the position of every `delim` in `bytes`, in order: eight bytes
/// at a time (a word's bytes equal to `delim` found with bit arithmetic), the tail
/// byte by byte.
fn each_delimiter(bytes: &[u8], delim: u8, mut at: impl FnMut(usize)) {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    let pattern = u64::from_le_bytes([delim; 8]);
    let mut words = bytes.chunks_exact(8);
    let mut base = 0;
    for word in &mut words {
        let x = u64::from_le_bytes(word.try_into().unwrap_or([0; 8])) ^ pattern;
        // The high bit of each byte of x that is zero, exactly (no carries across bytes).
        let mut zero = !(((x & LOW7).wrapping_add(LOW7)) | x | LOW7);
        while zero != 0 {
            at(base + zero.trailing_zeros() as usize / 8);
            zero &= zero - 1;
        }
        base += 8;
    }
    for (i, &b) in words.remainder().iter().enumerate() {
        if b == delim {
            at(base + i);
        }
    }
}

/// Calls `f` with the planned columns' cells (`index`: their positions in the
/// header) of every record of `chunk`, and the record's line. Blank lines are
/// skipped; a record whose number of fields differs from the header's stops the
/// read with its line.
pub(crate) fn each_record(
    path: &Path,
    chunk: &Chunk,
    delim: u8,
    header_len: usize,
    index: &[usize],
    f: &mut crate::convert::RowSink<'_>,
) -> Result<(), DataError> {
    match plain_text(&chunk.bytes) {
        Some(text) => each_plain_record(path, text, chunk.first_line, delim, header_len, index, f),
        None => each_csv_record(path, chunk, delim, header_len, index, f),
    }
}

/// [`each_record`] by the CSV reader (quotes, lone `\r` line ends, text that is
/// not UTF-8).
fn each_csv_record(
    path: &Path,
    chunk: &Chunk,
    delim: u8,
    header_len: usize,
    index: &[usize],
    f: &mut crate::convert::RowSink<'_>,
) -> Result<(), DataError> {
    let bytes = &chunk.bytes[..];
    let mut rdr = reader(bytes, delim);
    let mut rec = csv::ByteRecord::new();
    // Lines are counted from the newlines before each record's end, so blank lines
    // (which the csv reader skips) count too. A record with a quoted multi-line
    // field is reported at its last line.
    let (mut counted, mut line) = (0usize, chunk.first_line);
    loop {
        match rdr.read_byte_record(&mut rec) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                let at = e.position().map_or(0, |p| p.byte() as usize).min(bytes.len());
                let line = chunk.first_line + memchr::memchr_iter(b'\n', &bytes[..at]).count() as u64;
                return Err(csv_error(path, e, line));
            }
        }
        let end = (rdr.position().byte() as usize).min(bytes.len());
        let last = end.saturating_sub(1).max(counted);
        line += memchr::memchr_iter(b'\n', &bytes[counted..last]).count() as u64;
        counted = last;
        if rec.len() == 1 && rec.get(0).is_some_and(|f| f.iter().all(u8::is_ascii_whitespace)) {
            continue; // blank line
        }
        if rec.len() != header_len {
            return Err(malformed(
                path,
                line,
                format!(
                    "this row has {} fields but the header has {header_len}; check for an unquoted delimiter or a missing field",
                    rec.len(),
                ),
            ));
        }
        let mut cells: Vec<Value> = Vec::with_capacity(index.len());
        // The whole record checked as UTF-8 at once; when that fails (or a field
        // would not start on a character), field by field, so that only a column
        // the study reads is refused.
        let text = std::str::from_utf8(rec.as_slice()).ok();
        for &i in index {
            let field = text.and_then(|t| t.get(rec.range(i)?));
            cells.push(Value::Text(match field {
                Some(field) => field,
                None => utf8(path, &rec[i], line, i + 1)?,
            }));
        }
        f(&cells, line)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a reader delivers from a chunk: each record's cells and line, then the
    /// error that stopped it, if any.
    type Reader = fn(&Path, &Chunk, u8, usize, &[usize], &mut crate::convert::RowSink<'_>) -> Result<(), DataError>;

    fn records(
        each: Reader,
        bytes: &[u8],
        delim: u8,
        header_len: usize,
        index: &[usize],
    ) -> (Vec<(Vec<String>, u64)>, Option<String>) {
        let chunk = Chunk {
            first_line: 7,
            bytes: bytes.to_vec(),
        };
        let mut seen = Vec::new();
        let result = each(
            Path::new("data.csv"),
            &chunk,
            delim,
            header_len,
            index,
            &mut |cells, line| {
                let cells = cells
                    .iter()
                    .map(|c| match c {
                        Value::Text(t) => t.to_string(),
                        other => format!("{other:?}"),
                    })
                    .collect();
                seen.push((cells, line));
                Ok(())
            },
        );
        (seen, result.err().map(|e| e.to_string()))
    }

    fn plain(
        path: &Path,
        chunk: &Chunk,
        delim: u8,
        header_len: usize,
        index: &[usize],
        f: &mut crate::convert::RowSink<'_>,
    ) -> Result<(), DataError> {
        let text = plain_text(&chunk.bytes).expect("a plain chunk");
        each_plain_record(path, text, chunk.first_line, delim, header_len, index, f)
    }

    /// A plain chunk split without the CSV reader gives the reader's records, lines
    /// and errors: line ends `\n` and `\r\n`, blank and blank-looking lines, empty
    /// fields, a last line without its end, long and short records, fields of any
    /// length around the eight-byte words the delimiters are found in, columns
    /// read in any order or not at all.
    #[test]
    fn plain_chunks_read_as_the_csv_reader_reads_them() {
        let long = "x".repeat(23);
        let cases: Vec<(String, u8, usize, Vec<usize>)> = vec![
            ("1,2,3\n4,5,6\n".into(), b',', 3, vec![0, 1, 2]),
            // A column read twice (an answer that is also a segment).
            ("1,2,3\n4,5,6\n".into(), b',', 3, vec![1, 1, 0, 2, 1]),
            ("1,2,3\r\n4,5,6\r\n".into(), b',', 3, vec![2, 0]),
            ("1,2,3\n\n\n4,5,6".into(), b',', 3, vec![1]),
            ("1,2,3\n   \n4,,6\n\r\n,,\n".into(), b',', 3, vec![0, 1, 2]),
            (format!("{long},7,{long}8\n9,{long},10\n"), b',', 3, vec![2, 1, 0]),
            (
                "1;2;3;4;5;6;7;8;9;10;11\n11;10;9;8;7;6;5;4;3;2;1\n".into(),
                b';',
                11,
                vec![10, 0, 5],
            ),
            ("1\t2\n3\t4\n".into(), b'\t', 2, vec![1]),
            ("1,2,3\n4,5\n".into(), b',', 3, vec![0]),
            ("1,2,3\n4,5,6,7\n".into(), b',', 3, vec![0]),
            ("中文,2,3\n4,五,6\n".into(), b',', 3, vec![0, 1]),
            ("7\n\n8\n".into(), b',', 1, vec![0]),
            (" 1 , 2 ,3 \n".into(), b',', 3, vec![0, 1, 2]),
        ];
        for (text, delim, header_len, index) in cases {
            let ours = records(plain, text.as_bytes(), delim, header_len, &index);
            let theirs = records(each_csv_record, text.as_bytes(), delim, header_len, &index);
            assert_eq!(ours, theirs, "{text:?}");
        }
    }

    /// Chunks the split cannot read as the CSV reader would go to the reader.
    #[test]
    fn quotes_lone_carriage_returns_and_other_encodings_are_not_plain() {
        assert!(plain_text(b"1,2\n3,4\n").is_some());
        assert!(plain_text(b"1,2\r\n3,4\r\n").is_some());
        assert!(plain_text(b"1,\"2\"\n").is_none());
        assert!(plain_text(b"1,2\r3,4\r").is_none());
        assert!(plain_text(b"1,2\r\n3,4\r").is_none());
        assert!(plain_text(b"1,\xd6\xd0\n").is_none());
    }

    #[test]
    fn delimiters_are_found_at_every_position_of_a_word() {
        for len in 0..40 {
            for delim_every in 1..10 {
                let bytes: Vec<u8> = (0..len)
                    .map(|i| if i % delim_every == delim_every - 1 { b',' } else { b'7' })
                    .collect();
                let mut found = Vec::new();
                each_delimiter(&bytes, b',', |at| found.push(at));
                let expected: Vec<usize> = (0..len).filter(|&i| bytes[i] == b',').collect();
                assert_eq!(found, expected, "{len} {delim_every}");
            }
        }
        // Bytes next to the delimiter's value (carries in the bit arithmetic).
        let bytes = [b'+', b',', b'-', 0x80, 0xff, b',', 0, b','];
        let mut found = Vec::new();
        each_delimiter(&bytes, b',', |at| found.push(at));
        assert_eq!(found, [1, 5, 7]);
    }
}
