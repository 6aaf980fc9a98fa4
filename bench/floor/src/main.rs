//! The benchmark's "floor loop": a yardstick for `csi check`, not a competitor.
//!
//! It reads each wave CSV given on the command line once, with a few threads
//! (each file is split into byte ranges at line boundaries, one per thread),
//! parses the numbers it needs straight from the bytes (no `String` per field),
//! and for every row adds
//!
//! - for each item column (indicators and overall items): the 0–100 rescaled
//!   value's n, Σw, Σw², Σw·x, Σw·x² into the row's finest cell (the cross of
//!   every segment's group, "none" included);
//! - for `--pairs N` pairs of items: the co-moment sums n, Σw, Σw·x, Σw·y, Σw·x²,
//!   Σw·y², Σw·x·y over the rows that have both.
//!
//! Values are taken about 50, as csi does. What it leaves out, on purpose, is in
//! bench/README.md: no tree roll-up, no expectations, no validation, no quoted
//! fields; a value is missing when empty, not a number or outside min–max.
//!
//! ```text
//! floor [--threads T] [--scalar] [--weight COL] [--segment COL=G,G,...]...
//!       [--item COL=MIN..MAX[,rev]]... [--pairs N] FILE...
//! ```
//!
//! A segment group `G` is a code (`3`) or an inclusive range with either end
//! open (`1996..1998`, `..1995`, `1999..`). `--scalar` uses the byte-at-a-time
//! delimiter scanner instead of the 8-bytes-at-a-time (SWAR, `u64`) one.
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::process::ExitCode;
use std::time::Instant;

const SHIFT: f64 = 50.0;
/// n, Σw, Σw², Σw·x, Σw·x² per item and cell.
const ITEM_SUMS: usize = 5;
/// n, Σw, Σw·x, Σw·y, Σw·x², Σw·y², Σw·x·y per pair and cell.
const PAIR_SUMS: usize = 7;
const BLOCK: usize = 1 << 20;

#[derive(Clone)]
struct Item {
    name: String,
    min: f64,
    max: f64,
    rev: bool,
}

#[derive(Clone, Copy)]
enum Group {
    Code(f64),
    Range(f64, f64),
}

impl Group {
    fn contains(self, v: f64) -> bool {
        match self {
            Group::Code(c) => v == c,
            Group::Range(lo, hi) => v >= lo && v <= hi,
        }
    }
}

struct Segment {
    name: String,
    groups: Vec<Group>,
}

struct Args {
    threads: usize,
    scalar: bool,
    weight: Option<String>,
    segments: Vec<Segment>,
    items: Vec<Item>,
    pairs: usize,
    files: Vec<String>,
}

fn number(s: &str, what: &str) -> Result<f64, String> {
    s.trim()
        .parse::<f64>()
        .map_err(|_| format!("{what}: `{s}` is not a number"))
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        threads: 2,
        scalar: false,
        weight: None,
        segments: Vec::new(),
        items: Vec::new(),
        pairs: 0,
        files: Vec::new(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--threads" => {
                a.threads = value("--threads")?.parse().map_err(|_| "--threads: not a number")?;
                a.threads = a.threads.max(1);
            }
            "--scalar" => a.scalar = true,
            "--weight" => a.weight = Some(value("--weight")?),
            "--pairs" => a.pairs = value("--pairs")?.parse().map_err(|_| "--pairs: not a number")?,
            "--segment" => {
                let v = value("--segment")?;
                let (name, spec) = v.split_once('=').ok_or("--segment COL=G,G,...")?;
                let mut groups = Vec::new();
                for g in spec.split(',') {
                    groups.push(match g.split_once("..") {
                        Some((lo, hi)) => Group::Range(
                            if lo.is_empty() {
                                f64::NEG_INFINITY
                            } else {
                                number(lo, "--segment")?
                            },
                            if hi.is_empty() {
                                f64::INFINITY
                            } else {
                                number(hi, "--segment")?
                            },
                        ),
                        None => Group::Code(number(g, "--segment")?),
                    });
                }
                a.segments.push(Segment {
                    name: name.to_string(),
                    groups,
                });
            }
            "--item" => {
                let v = value("--item")?;
                let (name, spec) = v.split_once('=').ok_or("--item COL=MIN..MAX[,rev]")?;
                let (range, rev) = match spec.strip_suffix(",rev") {
                    Some(r) => (r, true),
                    None => (spec, false),
                };
                let (lo, hi) = range.split_once("..").ok_or("--item COL=MIN..MAX[,rev]")?;
                let (min, max) = (number(lo, "--item")?, number(hi, "--item")?);
                if max.partial_cmp(&min) != Some(std::cmp::Ordering::Greater) {
                    return Err(format!("--item {v}: max must exceed min"));
                }
                a.items.push(Item {
                    name: name.to_string(),
                    min,
                    max,
                    rev,
                });
            }
            "-h" | "--help" => return Err(usage()),
            s if s.starts_with("--") => return Err(format!("unknown option {s}\n{}", usage())),
            _ => a.files.push(arg),
        }
    }
    if a.files.is_empty() || a.items.is_empty() {
        return Err(usage());
    }
    let n = a.items.len();
    if a.pairs > n * (n - 1) / 2 {
        return Err(format!(
            "--pairs {}: {n} items have only {} pairs",
            a.pairs,
            n * (n - 1) / 2
        ));
    }
    Ok(a)
}

fn usage() -> String {
    "usage: floor [--threads T] [--scalar] [--weight COL] [--segment COL=G,G,...]... \
     [--item COL=MIN..MAX[,rev]]... [--pairs N] FILE..."
        .to_string()
}

/// A column the loop does not read.
const SKIP: u32 = u32::MAX;

/// The layout of one file: where each column's number goes, rescaling and the
/// cell strides.
struct Plan {
    /// Per column of the file: its slot in a row's values (items, then
    /// segments, then the weight), or SKIP.
    slots: Vec<u32>,
    /// Per item: valid range and x = a·v + b, the 0–100 score minus the shift.
    lo: Vec<f64>,
    hi: Vec<f64>,
    a: Vec<f64>,
    b: Vec<f64>,
    groups: Vec<Vec<Group>>,
    strides: Vec<usize>,
    cells: usize,
    pairs: Vec<(usize, usize)>,
    weighted: bool,
}

impl Plan {
    fn width(&self) -> usize {
        self.lo.len() * ITEM_SUMS + self.pairs.len() * PAIR_SUMS
    }

    fn new(args: &Args, header: &[String]) -> Result<Plan, String> {
        let mut slots = vec![SKIP; header.len()];
        let names = args
            .items
            .iter()
            .map(|i| &i.name)
            .chain(args.segments.iter().map(|s| &s.name));
        for (slot, name) in names.chain(args.weight.as_ref()).enumerate() {
            let i = header
                .iter()
                .position(|h| h == name)
                .ok_or(format!("column `{name}` is not in the header"))?;
            if slots[i] != SKIP {
                return Err(format!("column `{name}` is given twice"));
            }
            slots[i] = slot as u32;
        }
        let mut strides = Vec::new();
        let mut cells = 1;
        for s in &args.segments {
            strides.push(cells);
            cells *= s.groups.len() + 1; // + "none"
        }
        let n = args.items.len();
        let pairs = (0..n)
            .flat_map(|i| (i + 1..n).map(move |j| (i, j)))
            .take(args.pairs)
            .collect();
        let span = |it: &Item| it.max - it.min;
        Ok(Plan {
            slots,
            lo: args.items.iter().map(|i| i.min).collect(),
            hi: args.items.iter().map(|i| i.max).collect(),
            a: args
                .items
                .iter()
                .map(|i| if i.rev { -100.0 } else { 100.0 } / span(i))
                .collect(),
            b: args
                .items
                .iter()
                .map(|i| if i.rev { 100.0 * i.max } else { -100.0 * i.min } / span(i) - SHIFT)
                .collect(),
            groups: args.segments.iter().map(|s| s.groups.clone()).collect(),
            strides,
            cells,
            pairs,
            weighted: args.weight.is_some(),
        })
    }
}

const POW10: [f64; 19] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18,
];

/// A decimal number (`-12`, `3.25`) from bytes; NaN when empty or not a number.
/// Integer mantissa and a power of ten: exact for the short numbers of survey
/// data (correctly rounded below 2^53).
#[inline]
fn parse_number(f: &[u8]) -> f64 {
    let (neg, d) = match f {
        [b'-', rest @ ..] => (true, rest),
        _ => (false, f),
    };
    if d.is_empty() || d.len() > 18 {
        return f64::NAN;
    }
    let (mut mant, mut frac, mut dot, mut digits, mut bad) = (0u64, 0usize, false, 0usize, false);
    for &c in d {
        let k = c.wrapping_sub(b'0');
        if k < 10 {
            mant = mant * 10 + k as u64;
            frac += dot as usize;
            digits += 1;
        } else if c == b'.' && !dot {
            dot = true;
        } else {
            bad = true;
        }
    }
    if bad || digits == 0 {
        return f64::NAN;
    }
    // Most answers are whole numbers: no division (its latency showed in profiles).
    let v = if frac == 0 {
        mant as f64
    } else {
        mant as f64 / POW10[frac]
    };
    if neg {
        -v
    } else {
        v
    }
}

const ONES: u64 = 0x0101_0101_0101_0101;
const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;

/// The high bit of every byte of `v` equal to the byte in `c` (broadcast), exactly
/// (no false positives, unlike the shorter `(x − 1…) & !x & 8…` test).
#[inline]
fn bytes_equal(v: u64, c: u64) -> u64 {
    let x = v ^ c;
    !(((x & LOW7) + LOW7) | x | LOW7)
}

/// One thread's sums and the row being read.
struct Worker<'a> {
    plan: &'a Plan,
    acc: Vec<f64>,
    /// The row's numbers by slot (NaN: empty, not a number or not in the row).
    values: Vec<f64>,
    /// Per item: 1 when present, and its score minus the shift (0 when missing).
    m: Vec<f64>,
    x: Vec<f64>,
    col: usize,
    rows: u64,
}

impl<'a> Worker<'a> {
    fn new(plan: &'a Plan) -> Self {
        let n = plan.lo.len();
        Worker {
            plan,
            acc: vec![0.0; plan.cells * plan.width()],
            values: vec![f64::NAN; n + plan.groups.len() + plan.weighted as usize],
            m: vec![0.0; n],
            x: vec![0.0; n],
            col: 0,
            rows: 0,
        }
    }

    /// One field: parsed only if the loop reads its column, one branch per field.
    #[inline(always)]
    fn field(&mut self, f: &[u8]) {
        let slot = self.plan.slots.get(self.col).copied().unwrap_or(SKIP);
        self.col += 1;
        if slot != SKIP {
            self.values[slot as usize] = parse_number(f);
        }
    }

    #[inline(always)]
    fn end_row(&mut self) {
        let p = self.plan;
        let n = p.lo.len();
        // Items: present when in min–max (NaN is not), rescaled, about the shift.
        for j in 0..n {
            let v = self.values[j];
            let ok = v >= p.lo[j] && v <= p.hi[j];
            self.m[j] = ok as u8 as f64;
            self.x[j] = if ok { p.a[j] * v + p.b[j] } else { 0.0 };
        }
        // The finest cell: each segment's first matching group, or "none".
        let mut cell = 0;
        for (k, groups) in p.groups.iter().enumerate() {
            let v = self.values[n + k];
            cell += p.strides[k] * groups.iter().position(|g| g.contains(v)).unwrap_or(groups.len());
        }
        let w = if p.weighted {
            let v = self.values[n + p.groups.len()];
            if v >= 0.0 {
                v
            } else {
                0.0
            }
        } else {
            1.0
        };
        let width = p.width();
        let acc = &mut self.acc[cell * width..(cell + 1) * width];
        let (items, pairs) = acc.split_at_mut(n * ITEM_SUMS);
        for ((s, &m), &x) in items.chunks_exact_mut(ITEM_SUMS).zip(&self.m).zip(&self.x) {
            let wm = w * m;
            let wx = wm * x;
            s[0] += m;
            s[1] += wm;
            s[2] += wm * w;
            s[3] += wx;
            s[4] += wx * x;
        }
        for (s, &(a, b)) in pairs.chunks_exact_mut(PAIR_SUMS).zip(&p.pairs) {
            let mm = self.m[a] * self.m[b];
            let wb = w * mm;
            let (xa, xb) = (self.x[a], self.x[b]);
            let wbx = wb * xa;
            let wby = wb * xb;
            s[0] += mm;
            s[1] += wb;
            s[2] += wbx;
            s[3] += wby;
            s[4] += wbx * xa;
            s[5] += wby * xb;
            s[6] += wbx * xb;
        }
        self.rows += 1;
        self.values.fill(f64::NAN);
        self.col = 0;
    }

    /// The field `buf[start..end]`, ended by the delimiter at `buf[end]`.
    #[inline(always)]
    fn delimiter(&mut self, buf: &[u8], start: usize, end: usize) {
        if buf[end] == b'\n' {
            if start == end && self.col == 0 {
                return; // an empty line
            }
            let f = &buf[start..end];
            self.field(f.strip_suffix(b"\r").unwrap_or(f));
            self.end_row();
        } else {
            self.field(&buf[start..end]);
        }
    }

    /// Complete lines (`buf` ends with a newline), 8 bytes at a time: a `u64`
    /// word's commas and newlines as a bit mask, walked lowest bit first.
    fn lines_swar(&mut self, buf: &[u8]) {
        const COMMA: u64 = ONES * b',' as u64;
        const NEWLINE: u64 = ONES * b'\n' as u64;
        let mut start = 0;
        let mut words = buf.chunks_exact(8);
        let mut base = 0;
        for word in &mut words {
            let v = u64::from_le_bytes(word.try_into().unwrap());
            let mut hits = bytes_equal(v, COMMA) | bytes_equal(v, NEWLINE);
            while hits != 0 {
                let end = base + (hits.trailing_zeros() / 8) as usize;
                self.delimiter(buf, start, end);
                start = end + 1;
                hits &= hits - 1;
            }
            base += 8;
        }
        for (k, &c) in words.remainder().iter().enumerate() {
            if c == b',' || c == b'\n' {
                self.delimiter(buf, start, base + k);
                start = base + k + 1;
            }
        }
    }

    /// Complete lines, one byte at a time: the portable scalar scanner.
    fn lines_scalar(&mut self, buf: &[u8]) {
        let mut start = 0;
        for (end, &c) in buf.iter().enumerate() {
            if c == b',' || c == b'\n' {
                self.delimiter(buf, start, end);
                start = end + 1;
            }
        }
    }
}

/// Reads `[from, to)` of `path` in blocks and feeds its complete lines to a worker.
fn read_range<'a>(path: &str, from: u64, to: u64, plan: &'a Plan, scalar: bool) -> std::io::Result<Worker<'a>> {
    let mut worker = Worker::new(plan);
    let mut file = File::open(path)?;
    file.seek(SeekFrom::Start(from))?;
    let mut remaining = (to - from) as usize;
    let mut buf = vec![0u8; 2 * BLOCK];
    let mut carry = 0; // the start of a line not yet complete, at the front of buf
    let feed = |w: &mut Worker<'a>, lines: &[u8]| {
        if scalar {
            w.lines_scalar(lines)
        } else {
            w.lines_swar(lines)
        }
    };
    while remaining > 0 {
        if carry + BLOCK > buf.len() {
            buf.resize(carry + BLOCK, 0); // a line longer than a block
        }
        let want = BLOCK.min(remaining);
        let got = file.read(&mut buf[carry..carry + want])?;
        if got == 0 {
            break;
        }
        remaining -= got;
        let filled = carry + got;
        match buf[..filled].iter().rposition(|&c| c == b'\n') {
            Some(last) => {
                feed(&mut worker, &buf[..=last]);
                buf.copy_within(last + 1..filled, 0);
                carry = filled - last - 1;
            }
            None => carry = filled,
        }
    }
    if carry > 0 {
        // The file's last line, without a newline.
        let mut tail = buf[..carry].to_vec();
        tail.push(b'\n');
        feed(&mut worker, &tail);
    }
    Ok(worker)
}

/// The header's column names and the offset of the first data line.
fn header(path: &str) -> std::io::Result<(Vec<String>, u64)> {
    let mut file = File::open(path)?;
    let mut bytes = Vec::new();
    let mut chunk = [0u8; 8192];
    let end = loop {
        let got = file.read(&mut chunk)?;
        if let Some(i) = chunk[..got].iter().position(|&c| c == b'\n') {
            bytes.extend_from_slice(&chunk[..i]);
            break bytes.len() as u64 + 1;
        }
        bytes.extend_from_slice(&chunk[..got]);
        if got == 0 {
            break bytes.len() as u64;
        }
    };
    let text = String::from_utf8_lossy(&bytes);
    let text = text.trim_start_matches('\u{feff}').trim_end_matches('\r');
    let names = text
        .split(',')
        .map(|h| h.trim().trim_matches('"').to_string())
        .collect();
    Ok((names, end))
}

/// `parts` byte ranges of `[start, len)` that begin at line starts.
fn split(path: &str, start: u64, len: u64, parts: usize) -> std::io::Result<Vec<(u64, u64)>> {
    let mut cuts = vec![start];
    let mut file = File::open(path)?;
    let mut chunk = [0u8; 4096];
    for k in 1..parts as u64 {
        let mut at = (start + (len - start) * k / parts as u64).max(*cuts.last().unwrap());
        file.seek(SeekFrom::Start(at))?;
        let cut = loop {
            let got = file.read(&mut chunk)?;
            if got == 0 {
                break len;
            }
            if let Some(i) = chunk[..got].iter().position(|&c| c == b'\n') {
                break at + i as u64 + 1;
            }
            at += got as u64;
        };
        cuts.push(cut);
    }
    cuts.push(len);
    Ok(cuts.windows(2).map(|w| (w[0], w[1])).collect())
}

fn run(args: &Args) -> Result<(), String> {
    let started = Instant::now();
    let (mut rows, mut checksum) = (0u64, 0.0f64);
    for path in &args.files {
        let io = |e: std::io::Error| format!("{path}: {e}");
        let (names, body) = header(path).map_err(io)?;
        let plan = Plan::new(args, &names).map_err(|e| format!("{path}: {e}"))?;
        let len = std::fs::metadata(path).map_err(io)?.len();
        let ranges = split(path, body, len, args.threads).map_err(io)?;
        let plan = &plan;
        let workers = std::thread::scope(|s| {
            let handles: Vec<_> = ranges
                .iter()
                .map(|&(from, to)| s.spawn(move || read_range(path, from, to, plan, args.scalar)))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("worker thread"))
                .collect::<std::io::Result<Vec<_>>>()
        })
        .map_err(io)?;
        // Merge the threads' sums (in range order, so the checksum is reproducible).
        let mut total = vec![0.0; plan.cells * plan.width()];
        let mut n = 0;
        for w in &workers {
            n += w.rows;
            for (t, a) in total.iter_mut().zip(&w.acc) {
                *t += a;
            }
        }
        let width = plan.width();
        let (sw, swx) = (0..plan.cells).fold((0.0, 0.0), |(sw, swx), c| {
            (sw + total[c * width + 1], swx + total[c * width + 3])
        });
        let used = total
            .chunks_exact(width)
            .filter(|c| c.iter().any(|&v| v != 0.0))
            .count();
        println!(
            "{path}: {n} rows, {used} of {} finest cells used, `{}` mean {:.10}",
            plan.cells,
            args.items[0].name,
            SHIFT + swx / sw
        );
        rows += n;
        checksum += total.iter().sum::<f64>();
    }
    println!(
        "floor: {rows} rows, {} items, {} pairs, {} threads, {} scanner, checksum {checksum:.10e}, wall {:.3} s",
        args.items.len(),
        args.pairs,
        args.threads,
        if args.scalar { "scalar" } else { "swar" },
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn main() -> ExitCode {
    match parse_args().and_then(|a| run(&a)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("floor: {e}");
            ExitCode::FAILURE
        }
    }
}
