//! The netscore plugin, both as `netscore.c` compiled here on its own with the
//! system C compiler and as the cargo-built `libcsi_plugin_netscore`, loaded by the
//! real host and run on respondent rows built here: several batches (one sliced,
//! one of columns sliced at different points, one empty), nulls with non-zero
//! values behind them, invalid weights, a lower-is-better scale, a measure with a
//! unit and an unanswered indicator (both skipped), a Chinese label and one full of
//! characters JSON and markdown must escape. Every number of the table is checked
//! against an independent computation; errors come back as the plugin's message.
//!
//! The host exports rows with arrow-rs, which moves every slice into the buffers
//! (offset 0); a hand-made Arrow C stream here also gives the plugin non-zero array
//! offsets, struct-level offsets and nulls, checks that it releases the stream
//! once and every batch, and that its output buffer's release is idempotent.
//!
//! Extra C compiler flags for the standalone build can be given in
//! `CSI_NETSCORE_TEST_CFLAGS` (e.g. `-fsanitize=address,undefined` together with
//! `LD_PRELOAD` of the sanitizer runtime).

#![allow(unsafe_code)] // the hand-made Arrow C stream and the direct call of `run`

use std::collections::{HashMap, VecDeque};
use std::ffi::{c_char, c_int, c_void, CString};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use arrow_array::ffi::{FFI_ArrowArray, FFI_ArrowSchema};
use arrow_array::{
    make_array, Array, ArrayRef, Float64Array, RecordBatch, RecordBatchIterator, RecordBatchReader, StringArray,
    StructArray,
};
use arrow_schema::{ArrowError, DataType, Field, Schema, SchemaRef};

use csi_blocks::wire::{Decimals, Inputs, Request, StudyContext, WaveInfo, PROTOCOL_VERSION};
use csi_blocks::{Block, Cell, ChartKind, ColumnKind, Report};
use csi_plugin_host::{load, Isolation, Origin, Plugin, PluginError};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn c_compiler() -> &'static str {
    ["cc", "gcc", "clang"]
        .into_iter()
        .find(|c| Command::new(c).arg("--version").output().is_ok())
        .expect("no C compiler found")
}

/// `netscore.c` compiled on its own, as a third-party author would, into `dir`.
fn standalone(dir: &Path) -> PathBuf {
    let lib = dir.join("libnetscore_standalone.so");
    let extra = std::env::var("CSI_NETSCORE_TEST_CFLAGS").unwrap_or_default();
    let out = Command::new(c_compiler())
        .env_remove("LD_PRELOAD") // a sanitizer runtime preloaded for the tests is not the compiler's
        .args([
            "-std=c99", "-Wall", "-Wextra", "-Werror", "-shared", "-fPIC", "-O2", "-o",
        ])
        .arg(&lib)
        .arg("-I")
        .arg(root().join("crates/csi-plugin-api/include"))
        .args(extra.split_whitespace())
        .arg(root().join("plugins/netscore/netscore.c"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    lib
}

/// The cdylib cargo built for this package (it builds the library target before
/// the tests): in `deps/` next to this test binary, or one folder up.
fn cargo_built() -> PathBuf {
    let name = format!(
        "{}csi_plugin_netscore{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    );
    let exe = std::env::current_exe().unwrap();
    exe.ancestors()
        .skip(1)
        .take(2)
        .map(|d| d.join(&name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("{name} not found near {}", exe.display()))
}

fn plugins() -> (tempfile::TempDir, Vec<Plugin>) {
    let dir = tempfile::tempdir().unwrap();
    let plugins = [standalone(dir.path()), cargo_built()]
        .iter()
        .map(|p| load(p, Origin::External).unwrap_or_else(|e| panic!("{e}")))
        .collect();
    (dir, plugins)
}

fn request(language: &str) -> Request {
    Request {
        protocol: PROTOCOL_VERSION,
        analysis: "net".into(),
        wave: "2024".into(),
        study: StudyContext {
            id: "telco".into(),
            title: "Telco".into(),
            language: language.into(),
            nodes: vec![],
            segments: vec![],
            waves: vec![WaveInfo {
                id: "2024".into(),
                label: "2024".into(),
            }],
            benchmarks: vec![],
            confidence: 0.95,
            low_base: 30,
            decimals: Decimals::default(),
            structural: None,
        },
        options: Default::default(),
    }
}

// --- The fixture -----------------------------------------------------------------

const CHINESE: &str = "网络覆盖";
const TRICKY: &str = "Billing \"clarity\" \\ fees\t*now*\n\u{1} [end]";

#[derive(Clone, Copy)]
enum Kind {
    Id,
    Weight,
    /// An answer on a scale: min, max, lower is better.
    Answer(f64, f64, bool),
    /// An answer with a unit (not a scale).
    Timed,
    Expectation,
    Category,
    Banded,
    /// A scale nobody answered.
    Unanswered,
}

struct Col {
    name: &'static str,
    label: &'static str,
    kind: Kind,
}

const COLS: [Col; 10] = [
    Col {
        name: "rid",
        label: "",
        kind: Kind::Id,
    },
    Col {
        name: "w",
        label: "",
        kind: Kind::Weight,
    },
    Col {
        name: "q1",
        label: CHINESE,
        kind: Kind::Answer(1.0, 10.0, false),
    },
    Col {
        name: "q2",
        label: TRICKY,
        kind: Kind::Answer(1.0, 5.0, true),
    },
    Col {
        name: "t4",
        label: "Wait (minutes)",
        kind: Kind::Timed,
    },
    Col {
        name: "e1",
        label: "Expected coverage",
        kind: Kind::Expectation,
    },
    Col {
        name: "region",
        label: "",
        kind: Kind::Category,
    },
    Col {
        name: "age",
        label: "",
        kind: Kind::Banded,
    },
    Col {
        name: "q3",
        label: "Nobody answered",
        kind: Kind::Unanswered,
    },
    Col {
        name: "q4",
        label: "Staff friendliness",
        kind: Kind::Answer(0.0, 7.0, false),
    },
];

fn meta(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn field(c: &Col) -> Field {
    let answer = |role: &str, min: &str, max: &str, dir: &str, unit: Option<&str>| {
        let mut m = meta(&[
            ("csi.role", role),
            ("csi.node", c.name),
            ("csi.label", c.label),
            ("csi.min", min),
            ("csi.max", max),
            ("csi.direction", dir),
        ]);
        if let Some(u) = unit {
            m.insert("csi.unit".into(), u.into());
        }
        m
    };
    let (ty, m) = match c.kind {
        Kind::Id => (DataType::Utf8, meta(&[("csi.role", "id")])),
        Kind::Weight => (DataType::Float64, meta(&[("csi.role", "weight")])),
        Kind::Category => (
            DataType::Utf8,
            meta(&[("csi.role", "segment"), ("csi.segment", "region")]),
        ),
        Kind::Banded => (
            DataType::Float64,
            meta(&[("csi.role", "segment"), ("csi.segment", "age")]),
        ),
        Kind::Answer(min, max, lower) => (
            DataType::Float64,
            answer(
                "answer",
                &min.to_string(),
                &max.to_string(),
                if lower { "lower_is_better" } else { "higher_is_better" },
                None,
            ),
        ),
        Kind::Timed => (
            DataType::Float64,
            answer("answer", "0", "120", "lower_is_better", Some("min")),
        ),
        Kind::Expectation => (
            DataType::Float64,
            answer("expectation", "1", "10", "higher_is_better", None),
        ),
        Kind::Unanswered => (DataType::Float64, answer("answer", "0", "10", "higher_is_better", None)),
    };
    Field::new(c.name, ty, true).with_metadata(m)
}

fn schema(language: &str, cols: &[Col]) -> SchemaRef {
    Arc::new(Schema::new_with_metadata(
        cols.iter().map(field).collect::<Vec<_>>(),
        meta(&[("csi.study", "telco"), ("csi.wave", "2024"), ("csi.language", language)]),
    ))
}

/// A small deterministic generator.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// One column's values for `len` rows (`None` = null).
fn values(kind: Kind, len: usize, rng: &mut Lcg) -> Vec<Option<f64>> {
    (0..len)
        .map(|_| match kind {
            Kind::Weight => match rng.below(12) {
                0 => None,
                1 => Some(0.0),
                2 => Some(-1.5),
                3 => Some(f64::NAN),
                k => Some([0.5, 1.0, 1.25, 2.0, 0.75, 3.0, 1.0, 0.4][k as usize - 4]),
            },
            Kind::Answer(min, max, _) => {
                if rng.below(6) == 0 {
                    None
                } else if rng.below(50) == 0 {
                    Some(f64::NAN)
                } else {
                    Some(min + rng.below((max - min) as u64 + 1) as f64)
                }
            }
            Kind::Timed => (rng.below(5) != 0).then(|| rng.below(121) as f64),
            Kind::Expectation => (rng.below(4) != 0).then(|| 1.0 + rng.below(10) as f64),
            Kind::Banded => (rng.below(4) != 0).then(|| 18.0 + rng.below(60) as f64),
            Kind::Unanswered => None,
            Kind::Id | Kind::Category => unreachable!(),
        })
        .collect()
}

/// A float64 array of `v` whose null slots hold `filler` (not 0), so a plugin that
/// ignored the validity bitmap would count them.
fn float_array(v: &[Option<f64>], filler: f64) -> ArrayRef {
    let data: Vec<f64> = v.iter().map(|x| x.unwrap_or(filler)).collect();
    let nulls = Float64Array::from(v.to_vec()).nulls().cloned();
    Arc::new(Float64Array::new(Float64Array::from(data).values().clone(), nulls))
}

/// The logical rows (what the plugin must see), column by column, and the batches
/// that carry them.
struct Fixture {
    schema: SchemaRef,
    batches: Vec<RecordBatch>,
    truth: Vec<Vec<Option<f64>>>,
}

fn fixture(language: &str) -> Fixture {
    let schema = schema(language, &COLS);
    let mut rng = Lcg(42);
    let mut truth: Vec<Vec<Option<f64>>> = vec![Vec::new(); COLS.len()];
    // Builds one batch of `len` rows from arrays of `pad + len + 5` rows sliced at
    // `pad(c)`; records the logical rows in `truth`.
    let mut batch = |len: usize, pad: &dyn Fn(usize) -> usize, rng: &mut Lcg| {
        let cols: Vec<ArrayRef> = COLS
            .iter()
            .enumerate()
            .map(|(c, col)| {
                let (p, total) = (pad(c), pad(c) + len + 5);
                match col.kind {
                    Kind::Id | Kind::Category => {
                        let v: Vec<Option<String>> = (0..total)
                            .map(|i| (i % 7 != 3).then(|| format!("r{}-{}", c, rng.below(1000) + i as u64)))
                            .collect();
                        (Arc::new(StringArray::from(v)) as ArrayRef).slice(p, len)
                    }
                    kind => {
                        let v = values(kind, total, rng);
                        truth[c].extend_from_slice(&v[p..p + len]);
                        let filler = if matches!(kind, Kind::Weight) {
                            5.0
                        } else {
                            1.0 + (c % 2) as f64 * 9.0
                        };
                        float_array(&v, filler).slice(p, len)
                    }
                }
            })
            .collect();
        RecordBatch::try_new(schema.clone(), cols).unwrap()
    };
    let plain = batch(60, &|_| 0, &mut rng);
    let whole = batch(90, &|_| 0, &mut rng);
    let shifted = batch(45, &|c| 3 + 5 * c, &mut rng);
    let empty = batch(0, &|_| 2, &mut rng);
    // The second batch is sent sliced: only rows 17..67 are the plugin's, so the
    // truth drops the others.
    let (start, len) = (17, 50);
    for col in truth.iter_mut() {
        if !col.is_empty() {
            let keep: Vec<Option<f64>> = col[60 + start..60 + start + len].to_vec();
            let tail: Vec<Option<f64>> = col[150..].to_vec();
            col.truncate(60);
            col.extend(keep);
            col.extend(tail);
        }
    }
    let sliced = whole.slice(start, len);
    // (arrow-rs moves a slice into the buffers: the host exports these with offset 0;
    // `offsets_and_struct_nulls_in_a_raw_stream` below covers non-zero offsets.)
    Fixture {
        schema,
        batches: vec![plain, sliced, empty, shifted],
        truth,
    }
}

fn reader(schema: SchemaRef, batches: Vec<RecordBatch>) -> Box<dyn RecordBatchReader + Send> {
    Box::new(RecordBatchIterator::new(batches.into_iter().map(Ok), schema))
}

fn no_statistics() -> (SchemaRef, Vec<RecordBatch>) {
    (Arc::new(Schema::empty()), vec![])
}

// --- The independent computation ---------------------------------------------------

#[derive(Debug)]
struct Expected {
    label: &'static str,
    n: f64,
    top: f64,
    bottom: f64,
    net: f64,
}

fn expected(truth: &[Vec<Option<f64>>]) -> Vec<Expected> {
    let weights = &truth[1];
    let mut out = Vec::new();
    for (c, col) in COLS.iter().enumerate() {
        let Kind::Answer(min, max, lower) = col.kind else {
            continue;
        };
        let (mut n, mut sw, mut high, mut low) = (0.0, 0.0, 0.0, 0.0);
        for (x, w) in truth[c].iter().zip(weights) {
            let (Some(x), Some(w)) = (*x, *w) else { continue };
            if !(w > 0.0 && w.is_finite()) || x.is_nan() {
                continue;
            }
            n += 1.0;
            sw += w;
            if x >= max - 1.0 {
                high += w;
            }
            if x <= min + 1.0 {
                low += w;
            }
        }
        assert!(n > 30.0, "the fixture gives every scale answers");
        let (top, bottom) = if lower {
            (low / sw, high / sw)
        } else {
            (high / sw, low / sw)
        };
        out.push(Expected {
            label: col.label,
            n,
            top,
            bottom,
            net: (top - bottom) * 100.0,
        });
    }
    out.sort_by(|a, b| a.net.total_cmp(&b.net));
    out
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9
}

fn number(c: &Cell) -> f64 {
    match c {
        Cell::Number(x) => *x,
        other => panic!("not a number: {other:?}"),
    }
}

/// A label in markdown: trimmed, CommonMark backslash escapes of ASCII
/// punctuation, control characters as spaces.
fn md(s: &str) -> String {
    let mut out = String::new();
    for ch in s.trim_matches(|c: char| c.is_ascii_whitespace()).chars() {
        match ch {
            c if c.is_ascii_control() => out.push(' '),
            c if c.is_ascii_punctuation() => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

fn check_report(report: &Report, want: &[Expected], chinese: bool, who: &str) {
    assert_eq!(
        report.title.as_deref(),
        Some(if chinese { "净满意度" } else { "Net satisfaction" }),
        "{who}"
    );
    let [Block::Headline {
        label,
        value,
        decimals,
        note,
        signed: headline_signed,
    }, Block::Table(table), Block::Chart(chart), Block::Markdown { text }] = &report.blocks[..]
    else {
        panic!("{who}: unexpected blocks {report:#?}")
    };
    // Headline: the simple mean of the net scores.
    let mean = want.iter().map(|e| e.net).sum::<f64>() / want.len() as f64;
    assert!(close(*value, mean), "{who}: headline {value} vs {mean}");
    assert_eq!(*decimals, 1);
    assert!(*headline_signed, "{who}: a net score is shown with its sign");
    assert_eq!(
        label,
        if chinese {
            "平均净满意度"
        } else {
            "Average net satisfaction"
        }
    );
    // No internal ids (the study's and the wave's) on the page.
    let want_note = if chinese {
        format!("{} 项指标净满意度的简单平均", want.len())
    } else {
        format!("Simple mean of the net scores of {} indicators", want.len())
    };
    assert_eq!(note.as_deref(), Some(want_note.as_str()), "{who}");

    // Table: weakest first, every number as computed here.
    let kinds: Vec<ColumnKind> = table.columns.iter().map(|c| c.kind).collect();
    assert_eq!(
        kinds,
        [
            ColumnKind::Text,
            ColumnKind::Count,
            ColumnKind::Percent,
            ColumnKind::Percent,
            ColumnKind::Number
        ]
    );
    // The base is headed "n", as on every other page.
    assert_eq!(table.columns[1].label, "n", "{who}");
    if chinese {
        assert_eq!(table.columns[0].label, "指标");
        assert_eq!(table.columns[2].label, "高分段比例");
        assert!(
            table.note.as_deref().unwrap().ends_with("n 为未加权的回答数。"),
            "{who}"
        );
    } else {
        assert_eq!(table.columns[2].label, "% top box");
    }
    assert!(table.columns[4].signed, "{who}: a net score is a difference");
    // The fixture's scales set no top box: the note says which points are used.
    let table_note = table.note.as_deref().unwrap();
    let says = if chinese {
        [
            "净满意度是净分，不是高分段比例",
            "1–10 量表未设高分段，按最高 2 档（9–10）与最低 2 档（1–2）计",
        ]
    } else {
        [
            "Net satisfaction is a net score, not a top-box share",
            "1–10 scale sets no top box: its top 2 points (9–10) and its bottom 2 (1–2) are used",
        ]
    };
    for s in says {
        assert!(table_note.contains(s), "{who}: {s} in {table_note}");
    }
    assert_eq!(
        table.rows.len(),
        want.len(),
        "{who}: the unit measure and the unanswered scale are skipped"
    );
    for (row, e) in table.rows.iter().zip(want) {
        assert_eq!(
            row.cells[0],
            Cell::Text(e.label.to_string()),
            "{who}: labels round-trip, in net order"
        );
        let got: Vec<f64> = row.cells[1..].iter().map(number).collect();
        for (g, w) in got.iter().zip([e.n, e.top, e.bottom, e.net]) {
            assert!(close(*g, w), "{who}: {}: got {got:?}, want {e:?}", e.label);
        }
        assert!(row.flags.is_empty());
    }

    // Chart: diverging bars of the net scores in the table's order.
    let ChartKind::DivergingBar { categories, series } = &chart.spec else {
        panic!("{who}: {chart:?}")
    };
    let labels: Vec<&str> = want.iter().map(|e| e.label).collect();
    assert_eq!(categories, &labels);
    assert_eq!(series.len(), 1);
    for (v, e) in series[0].values.iter().zip(want) {
        assert!(close(v.unwrap(), e.net));
    }
    assert!(series[0].low.is_empty() && series[0].high.is_empty());

    // Finding: the three weakest, markdown-escaped, in order, each with its net
    // score signed as the table shows it.
    let mut at = 0;
    for e in want.iter().take(3) {
        let (open, close) = if chinese { ("（", "）") } else { (" (", ")") };
        let bold = format!("**{}**{open}{}{close}", md(e.label), signed(e.net, 1));
        let pos = text[at..]
            .find(&bold)
            .unwrap_or_else(|| panic!("{who}: {bold} not in {text}"));
        at += pos + bold.len();
    }
}

// --- The tests ---------------------------------------------------------------------

#[test]
fn standalone_and_cargo_builds_describe_themselves() {
    let (_dir, plugins) = plugins();
    for p in &plugins {
        assert_eq!((p.name.as_str(), p.version.as_str()), ("netscore", "0.1.0"));
        assert!(!p.summary.is_empty() && !p.summary.contains('\n'));
        assert_eq!(p.abi, (csi_plugin_api::ABI_MAJOR, csi_plugin_api::ABI_MINOR));
        assert_eq!(p.description.inputs, Inputs::Rows);
        assert!(p.description.options.is_empty());
        assert_eq!(p.homepage.as_deref(), Some(env!("CARGO_PKG_REPOSITORY")));
    }
    assert_eq!(plugins[1].version, env!("CARGO_PKG_VERSION"));
}

#[test]
fn net_scores_match_an_independent_computation() {
    let (_dir, plugins) = plugins();
    for (language, chinese) in [("zh", true), ("en", false)] {
        let f = fixture(language);
        let want = expected(&f.truth);
        assert_eq!(want.len(), 3);
        for p in &plugins {
            let who = format!("{} ({language})", p.path.display());
            let report = p
                .run(
                    &request(language),
                    no_statistics(),
                    Some(reader(f.schema.clone(), f.batches.clone())),
                    &Isolation::InProcess,
                )
                .unwrap_or_else(|e| panic!("{who}: {e}"));
            check_report(&report, &want, chinese, &who);
            if chinese {
                let Block::Markdown { text } = &report.blocks[3] else {
                    unreachable!()
                };
                assert!(
                    text.contains(CHINESE) && text.starts_with("净满意度最低的指标：**"),
                    "{text}"
                );
            }
        }
    }
}

#[test]
fn a_single_indicator_and_no_weight_column() {
    // Without a weight column every respondent counts 1.
    let cols = [
        Col {
            name: "rid",
            label: "",
            kind: Kind::Id,
        },
        Col {
            name: "q",
            label: "Only one",
            kind: Kind::Answer(1.0, 10.0, false),
        },
    ];
    let schema = schema("en", &cols);
    let q = [
        Some(10.0),
        Some(9.0),
        Some(8.0),
        None,
        Some(1.0),
        Some(2.0),
        Some(3.0),
        Some(2.0),
    ];
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(StringArray::from(vec!["a"; q.len()])) as ArrayRef,
            float_array(&q, 10.0),
        ],
    )
    .unwrap();
    let (_dir, plugins) = plugins();
    for p in &plugins {
        let report = p
            .run(
                &request("en"),
                no_statistics(),
                Some(reader(schema.clone(), vec![batch.clone()])),
                &Isolation::InProcess,
            )
            .unwrap();
        let Block::Table(t) = &report.blocks[1] else { panic!() };
        let got: Vec<f64> = t.rows[0].cells[1..].iter().map(number).collect();
        let want = [7.0, 2.0 / 7.0, 3.0 / 7.0, (2.0 / 7.0 - 3.0 / 7.0) * 100.0];
        assert!(got.iter().zip(want).all(|(g, w)| close(*g, w)), "{got:?} vs {want:?}");
        let Block::Markdown { text } = &report.blocks[3] else {
            panic!()
        };
        assert!(
            text.starts_with("The weakest indicator by net satisfaction is **Only one**"),
            "{text}"
        );
    }
}

#[test]
fn the_studys_top_box_is_used_and_named() {
    // A top-three box on 1–10 (`csi.top` 8), as a study's `top_box: 3` sends it,
    // and a lower-is-better 1–5 scale with a top-two box (`csi.top` 2).
    let cols = [
        Col {
            name: "q",
            label: "Coverage",
            kind: Kind::Answer(1.0, 10.0, false),
        },
        Col {
            name: "e",
            label: "Effort",
            kind: Kind::Answer(1.0, 5.0, true),
        },
    ];
    let plain = schema("en", &cols);
    let fields: Vec<Field> = plain
        .fields()
        .iter()
        .zip(["8", "2"])
        .map(|(f, top)| {
            let mut m = f.metadata().clone();
            m.insert("csi.top".to_string(), top.to_string());
            f.as_ref().clone().with_metadata(m)
        })
        .collect();
    let with_top = Arc::new(Schema::new_with_metadata(fields, plain.metadata().clone()));
    let q = [10.0, 9.0, 8.0, 7.0, 5.0, 3.0, 2.0, 1.0, 6.0, 8.0].map(Some);
    let e = [1.0, 2.0, 3.0, 4.0, 5.0, 5.0, 1.0, 2.0, 3.0, 4.0].map(Some);
    let batch = RecordBatch::try_new(with_top.clone(), vec![float_array(&q, 1.0), float_array(&e, 1.0)]).unwrap();
    let (_dir, plugins) = plugins();
    for p in &plugins {
        let report = p
            .run(
                &request("en"),
                no_statistics(),
                Some(reader(with_top.clone(), vec![batch.clone()])),
                &Isolation::InProcess,
            )
            .unwrap();
        let Block::Table(t) = &report.blocks[1] else { panic!() };
        let row = |label: &str| -> Vec<f64> {
            t.rows
                .iter()
                .find(|r| r.cells[0] == Cell::Text(label.into()))
                .unwrap()
                .cells[1..]
                .iter()
                .map(number)
                .collect()
        };
        // Coverage: 8–10 is the top box (4 of 10), 1–3 the bottom box (3 of 10).
        let want = [10.0, 0.4, 0.3, 10.0];
        assert!(
            row("Coverage").iter().zip(want).all(|(g, w)| close(*g, w)),
            "{:?}",
            row("Coverage")
        );
        // Effort (lower is better): 1–2 is the top box (4 of 10), 4–5 the bottom (4 of 10).
        let want = [10.0, 0.4, 0.4, 0.0];
        assert!(
            row("Effort").iter().zip(want).all(|(g, w)| close(*g, w)),
            "{:?}",
            row("Effort")
        );
        let note = t.note.as_deref().unwrap();
        for s in [
            "top box = the top 3 points of the 1–10 scale (8–10), bottom box = the bottom 3 (1–3)",
            "top box = the bottom 2 points of the 1–5 scale (1–2; lower is better), bottom box = the top 2 (4–5)",
        ] {
            assert!(note.to_lowercase().contains(s), "{s} in {note}");
        }
        assert!(!note.contains("sets no top box"), "{note}");
    }
}

#[test]
fn errors_come_back_as_messages() {
    let (_dir, plugins) = plugins();
    let failed = |r: Result<Report, PluginError>| match r {
        Err(e @ PluginError::Failed { .. }) => e.to_string(),
        other => panic!("expected a plugin error, got {other:?}"),
    };
    for p in &plugins {
        // Rows with no answer on a scale: only an id, a weight and a timed measure.
        let cols = [
            Col {
                name: "rid",
                label: "",
                kind: Kind::Id,
            },
            Col {
                name: "w",
                label: "",
                kind: Kind::Weight,
            },
            Col {
                name: "t4",
                label: "Wait",
                kind: Kind::Timed,
            },
        ];
        let nothing = schema("en", &cols);
        let msg = failed(p.run(
            &request("en"),
            no_statistics(),
            Some(reader(nothing, vec![])),
            &Isolation::InProcess,
        ));
        assert!(
            msg.contains("netscore: the rows have no answer columns on a scale"),
            "{msg}"
        );

        // A stream that fails half-way: the reader's message is passed on.
        let f = fixture("en");
        let failing: Vec<Result<RecordBatch, ArrowError>> = vec![
            Ok(f.batches[0].clone()),
            Err(ArrowError::ComputeError("the data file changed while reading".into())),
        ];
        let rows = Box::new(RecordBatchIterator::new(failing, f.schema.clone()));
        let msg = failed(p.run(&request("en"), no_statistics(), Some(rows), &Isolation::InProcess));
        assert!(
            msg.contains("reading the respondent rows failed") && msg.contains("the data file changed while reading"),
            "{msg}"
        );

        // No rows stream at all.
        let msg = failed(p.run(&request("en"), no_statistics(), None, &Isolation::InProcess));
        assert!(msg.contains("no respondent rows"), "{msg}");

        // Answers that are not float64.
        let text = Arc::new(Schema::new_with_metadata(
            vec![Field::new("q", DataType::Utf8, true).with_metadata(meta(&[
                ("csi.role", "answer"),
                ("csi.min", "1"),
                ("csi.max", "10"),
            ]))],
            HashMap::new(),
        ));
        let msg = failed(p.run(
            &request("en"),
            no_statistics(),
            Some(reader(text, vec![])),
            &Isolation::InProcess,
        ));
        assert!(msg.contains("answer column `q` has Arrow format `u`"), "{msg}");

        // Every answer null: nothing to report, said so.
        let cols = [Col {
            name: "q3",
            label: "Nobody",
            kind: Kind::Unanswered,
        }];
        let unanswered = schema("en", &cols);
        let batch = RecordBatch::try_new(unanswered.clone(), vec![float_array(&[None, None], 9.0)]).unwrap();
        let msg = failed(p.run(
            &request("en"),
            no_statistics(),
            Some(reader(unanswered, vec![batch])),
            &Isolation::InProcess,
        ));
        assert!(msg.contains("no respondent"), "{msg}");
    }
}

// --- A hand-made Arrow C stream ------------------------------------------------------

/// `struct ArrowArrayStream`, laid out as the header declares it.
#[repr(C)]
struct RawStream {
    get_schema: Option<unsafe extern "C" fn(*mut RawStream, *mut FFI_ArrowSchema) -> c_int>,
    get_next: Option<unsafe extern "C" fn(*mut RawStream, *mut FFI_ArrowArray) -> c_int>,
    get_last_error: Option<unsafe extern "C" fn(*mut RawStream) -> *const c_char>,
    release: Option<unsafe extern "C" fn(*mut RawStream)>,
    private_data: *mut c_void,
}

struct RawState {
    schema: SchemaRef,
    batches: VecDeque<Result<FFI_ArrowArray, String>>,
    error: Option<CString>,
    releases: Arc<AtomicUsize>,
}

unsafe extern "C" fn raw_get_schema(s: *mut RawStream, out: *mut FFI_ArrowSchema) -> c_int {
    // SAFETY: `private_data` is the stream's live state; `out` is the caller's.
    unsafe {
        let st = &*((*s).private_data as *const RawState);
        match FFI_ArrowSchema::try_from(st.schema.as_ref()) {
            Ok(schema) => {
                std::ptr::write(out, schema);
                0
            }
            Err(_) => 22,
        }
    }
}

unsafe extern "C" fn raw_get_next(s: *mut RawStream, out: *mut FFI_ArrowArray) -> c_int {
    // SAFETY: as above.
    unsafe {
        let st = &mut *((*s).private_data as *mut RawState);
        match st.batches.pop_front() {
            Some(Ok(batch)) => {
                std::ptr::write(out, batch);
                0
            }
            Some(Err(message)) => {
                st.error = Some(CString::new(message).unwrap());
                5
            }
            None => {
                std::ptr::write(out, FFI_ArrowArray::empty());
                0
            }
        }
    }
}

unsafe extern "C" fn raw_last_error(s: *mut RawStream) -> *const c_char {
    // SAFETY: as above; the message lives as long as the stream.
    unsafe {
        let st = &*((*s).private_data as *const RawState);
        st.error.as_ref().map_or(std::ptr::null(), |e| e.as_ptr())
    }
}

unsafe extern "C" fn raw_release(s: *mut RawStream) {
    // SAFETY: called at most once while `release` is set; it clears it.
    unsafe {
        let st = Box::from_raw((*s).private_data as *mut RawState);
        st.releases.fetch_add(1, Ordering::SeqCst);
        drop(st); // batches the plugin did not take are released here
        (*s).private_data = std::ptr::null_mut();
        (*s).release = None;
    }
}

fn raw_stream(schema: SchemaRef, batches: Vec<Result<FFI_ArrowArray, String>>) -> (Box<RawStream>, Arc<AtomicUsize>) {
    let releases = Arc::new(AtomicUsize::new(0));
    let state = Box::new(RawState {
        schema,
        batches: batches.into(),
        error: None,
        releases: releases.clone(),
    });
    let stream = Box::new(RawStream {
        get_schema: Some(raw_get_schema),
        get_next: Some(raw_get_next),
        get_last_error: Some(raw_last_error),
        release: Some(raw_release),
        private_data: Box::into_raw(state) as *mut c_void,
    });
    (stream, releases)
}

/// Calls the plugin's `run` directly (as the host does) with `rows`, and returns
/// the status and the output, checking the output's release callback.
fn call(lib: &Path, rows: Option<&mut RawStream>) -> (i32, Vec<u8>) {
    call_with(lib, &serde_json::to_vec(&request("zh")).unwrap(), rows)
}

/// [`call`] with the request's bytes as given.
fn call_with(lib: &Path, request: &[u8], rows: Option<&mut RawStream>) -> (i32, Vec<u8>) {
    // SAFETY: the library is a csi plugin (loaded and checked by the host in the
    // other tests); the descriptor is static; the stream outlives the call.
    unsafe {
        let l = libloading::Library::new(lib).unwrap();
        let entry: libloading::Symbol<csi_plugin_api::EntryFn> = l.get(csi_plugin_api::ENTRY_SYMBOL).unwrap();
        let run = (*entry()).run.unwrap();
        let mut out = csi_plugin_api::CsiBytes::empty();
        let rows = rows.map_or(std::ptr::null_mut(), |r| r as *mut RawStream as *mut _);
        let status = run(request.as_ptr(), request.len(), std::ptr::null_mut(), rows, &mut out);
        assert!(!out.data.is_null() && out.len > 0);
        let bytes = std::slice::from_raw_parts(out.data, out.len).to_vec();
        let release = out.release.expect("the plugin sets a release callback");
        release(&mut out);
        assert!(out.data.is_null() && out.len == 0 && out.private_data.is_null());
        release(&mut out); // a second call is harmless
        std::mem::forget(l);
        (status, bytes)
    }
}

/// Batches for the raw stream, with the rows the plugin must count (`truth`) and
/// the float arrays behind them (to check afterwards that every batch was released:
/// then these are their buffers' only owners again).
struct RawBatches {
    schema: SchemaRef,
    rng: Lcg,
    truth: Vec<Vec<Option<f64>>>,
    arrays: Vec<Float64Array>,
}

impl RawBatches {
    fn new(schema: &SchemaRef, seed: u64) -> Self {
        RawBatches {
            schema: schema.clone(),
            rng: Lcg(seed),
            truth: vec![Vec::new(); COLS.len()],
            arrays: Vec::new(),
        }
    }

    /// `len` rows at struct offset `at`; column `c` an array with `1 + 3c` rows of
    /// padding in front (so its offset is that); every fifth row null at struct
    /// level.
    fn batch(&mut self, len: usize, at: usize) -> FFI_ArrowArray {
        let total = at + len + 4;
        let row_valid: Vec<bool> = (0..len).map(|i| i % 5 != 2).collect();
        let mut children = Vec::new();
        for (c, col) in COLS.iter().enumerate() {
            let pad = 1 + 3 * c;
            let n = pad + total;
            let array: ArrayRef = match col.kind {
                Kind::Id | Kind::Category => Arc::new(StringArray::from(
                    (0..n)
                        .map(|i| format!("r{i}-{}", self.rng.below(100)))
                        .collect::<Vec<_>>(),
                )),
                kind => {
                    let v = values(kind, n, &mut self.rng);
                    for (i, valid) in row_valid.iter().enumerate() {
                        if *valid {
                            self.truth[c].push(v[pad + at + i]);
                        }
                    }
                    let array = float_array(&v, 7.0);
                    self.arrays
                        .push(array.as_any().downcast_ref::<Float64Array>().unwrap().clone());
                    array
                }
            };
            children.push(array.to_data().slice(pad, total));
        }
        let template = StructArray::new(
            self.schema.fields().clone(),
            children.iter().map(|d| make_array(d.clone())).collect(),
            None,
        );
        let nulls = Float64Array::from(row_valid.iter().map(|v| v.then_some(0.0)).collect::<Vec<_>>())
            .nulls()
            .cloned();
        let data = template
            .into_data()
            .into_builder()
            .child_data(children)
            .offset(at)
            .len(len)
            .nulls(nulls)
            .build()
            .unwrap();
        FFI_ArrowArray::new(&data)
    }

    fn all_released(&self) -> bool {
        self.arrays.iter().all(|a| a.values().inner().strong_count() == 1)
    }
}

#[test]
fn offsets_and_struct_nulls_in_a_raw_stream() {
    let (dir, _) = plugins();
    for lib in [standalone(dir.path()), cargo_built()] {
        let who = lib.display().to_string();
        let schema = schema("zh", &COLS);
        let mut raw = RawBatches::new(&schema, 7);
        let batches = vec![Ok(raw.batch(70, 0)), Ok(raw.batch(0, 3)), Ok(raw.batch(83, 11))];
        let want = expected(&raw.truth);
        let (mut stream, releases) = raw_stream(schema.clone(), batches);
        let (status, bytes) = call(&lib, Some(&mut stream));
        assert_eq!(status, 0, "{who}: {}", String::from_utf8_lossy(&bytes));
        assert_eq!(releases.load(Ordering::SeqCst), 1, "{who}: the stream is released once");
        assert!(stream.release.is_none());
        assert!(raw.all_released(), "{who}: every batch the plugin took was released");
        let report = Report::from_json(&bytes).unwrap_or_else(|e| panic!("{who}: {e}"));
        check_report(&report, &want, true, &who);

        // The JSON itself: exactly the fields of the block schema, nothing the
        // (non-strict) chart block would let through.
        let json: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        let keys = |v: &serde_json::Value| {
            let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
            k.sort();
            k.join(",")
        };
        assert_eq!(keys(&json), "blocks,title");
        let blocks = json["blocks"].as_array().unwrap();
        assert_eq!(keys(&blocks[0]), "decimals,label,note,signed,type,value");
        assert_eq!(keys(&blocks[1]), "columns,note,rows,title,type");
        assert_eq!(keys(&blocks[2]), "categories,kind,series,title,type");
        assert_eq!(keys(&blocks[2]["series"][0]), "name,values");
        assert_eq!(keys(&blocks[3]), "text,type");

        // A failure half-way: the stream's message, the stream still released once,
        // the batch taken before released too.
        let mut raw = RawBatches::new(&schema, 8);
        let batches = vec![
            Ok(raw.batch(20, 2)),
            Err("disk on fire".to_string()),
            Ok(raw.batch(20, 2)),
        ];
        let (mut stream, releases) = raw_stream(schema.clone(), batches);
        let (status, bytes) = call(&lib, Some(&mut stream));
        let message = String::from_utf8(bytes).unwrap();
        assert_eq!(status, 1, "{message}");
        assert_eq!(message, "netscore: reading the respondent rows failed: disk on fire");
        assert_eq!(releases.load(Ordering::SeqCst), 1);
        assert!(raw.all_released(), "{who}: including the batch it never asked for");

        // No stream.
        let (status, bytes) = call(&lib, None);
        assert_eq!(status, 1);
        assert!(String::from_utf8(bytes).unwrap().contains("no respondent rows"));
    }
}

/// `x` with `d` decimals, never a negative zero (as the plugin writes its finding).
fn fixed(x: f64, d: usize) -> String {
    let text = format!("{x:.d$}");
    match text.strip_prefix('-') {
        Some(rest) if rest.bytes().all(|c| c == b'0' || c == b'.') => rest.to_string(),
        _ => text,
    }
}

/// `x` as the plugin's finding and the table's signed column print it: "+6.9",
/// "-3.0", "0.0".
fn signed(x: f64, d: usize) -> String {
    let text = fixed(x, d);
    if x > 0.0 && text.bytes().any(|c| (b'1'..=b'9').contains(&c)) {
        format!("+{text}")
    } else {
        text
    }
}

/// The decimals of the headline, the two box columns and the net-score column.
type Shown = (u8, u8, u8, u8);

/// The [`Shown`] decimals of a report.
fn decimals_shown(report: &Report) -> Shown {
    let [Block::Headline { decimals, .. }, Block::Table(t), ..] = &report.blocks[..] else {
        panic!("{report:#?}")
    };
    (
        *decimals,
        t.columns[2].decimals,
        t.columns[3].decimals,
        t.columns[4].decimals,
    )
}

#[test]
fn the_studys_decimals_are_read_from_the_request() {
    // Through the host: shares with two decimals, net scores (differences) with none.
    let (dir, plugins) = plugins();
    let f = fixture("en");
    let want = expected(&f.truth);
    let mut req = request("en");
    req.study.decimals = Decimals {
        share: 2,
        change: 0,
        score: 3,
        ..Decimals::default()
    };
    for p in &plugins {
        let who = p.path.display().to_string();
        let report = p
            .run(
                &req,
                no_statistics(),
                Some(reader(f.schema.clone(), f.batches.clone())),
                &Isolation::InProcess,
            )
            .unwrap_or_else(|e| panic!("{who}: {e}"));
        assert_eq!(decimals_shown(&report), (0, 2, 2, 0), "{who}");
        let Block::Markdown { text } = &report.blocks[3] else {
            panic!("{who}: {report:#?}")
        };
        for e in want.iter().take(3) {
            let named = format!("**{}** ({})", md(e.label), signed(e.net, 0));
            assert!(text.contains(&named), "{who}: {named} in {text}");
        }
    }

    // Requests written by hand, to the C reader of the JSON: an older host's
    // (no decimals), keys in another order with whitespace and look-alike text
    // before them, values out of range or of another type, a truncated request.
    let base = serde_json::to_value(request("zh")).unwrap();
    let mut old = base.clone();
    old["study"].as_object_mut().unwrap().remove("decimals");
    let decoy = r#"{"analysis": "x", "options": {"study": {"decimals": {"change": 4}}, "l": [1, {"a": []}, "\"}"]},
        "study" : { "title": "a \"decimals\": {\"change\": 3}", "decimals" : { "p" : 3 , "change" : 2 , "share": 0 } }, "wave": "2024"}"#;
    let cases: Vec<(String, Vec<u8>, Shown)> = vec![
        ("older host".into(), serde_json::to_vec(&old).unwrap(), (1, 1, 1, 1)),
        ("decoys".into(), decoy.as_bytes().to_vec(), (2, 0, 0, 2)),
        (
            "out of range".into(),
            br#"{"study": {"decimals": {"change": 12, "share": 1.5}}}"#.to_vec(),
            (1, 1, 1, 1),
        ),
        (
            "not numbers".into(),
            br#"{"study": {"decimals": {"change": "2", "share": null}}}"#.to_vec(),
            (1, 1, 1, 1),
        ),
        (
            "truncated".into(),
            br#"{"study": {"decimals": {"change": 2"#.to_vec(),
            (2, 1, 1, 2),
        ),
        ("not JSON".into(), b"\x00\xff{[".to_vec(), (1, 1, 1, 1)),
    ];
    for lib in [standalone(dir.path()), cargo_built()] {
        for (what, bytes, shown) in &cases {
            let who = format!("{} ({what})", lib.display());
            let schema = schema("zh", &COLS);
            let mut raw = RawBatches::new(&schema, 9);
            let batches = vec![Ok(raw.batch(60, 0))];
            let (mut stream, _) = raw_stream(schema.clone(), batches);
            let (status, out) = call_with(&lib, bytes, Some(&mut stream));
            assert_eq!(status, 0, "{who}: {}", String::from_utf8_lossy(&out));
            let report = Report::from_json(&out).unwrap_or_else(|e| panic!("{who}: {e}"));
            assert_eq!(decimals_shown(&report), *shown, "{who}");
        }
    }
}
