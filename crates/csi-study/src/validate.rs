//! From YAML text to a validated [`Study`], collecting every problem found.
//!
//! Three passes, each reporting all it finds: (1) YAML syntax and the source map;
//! (2) unknown keys, with the closest valid key suggested; (3) types (serde) and
//! then meaning: required keys, unique ids, positive weights, sound scales, data
//! paths inside the study folder. A type error stops pass 3 at that point, since
//! later checks need typed values; passes 1–2 still report everything.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_yaml::Value;

use crate::model::*;
use crate::raw::*;
use crate::source::{closest, Diagnostic, Location, SourceMap};
use csi_stats::Direction;

/// Collects diagnostics for one study file.
/// `path` made absolute with `.` and `..` removed by reading them, without
/// touching the file system (for paths that do not exist, so cannot be resolved).
fn lexical(path: &Path) -> PathBuf {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut out = PathBuf::new();
    for c in absolute.components() {
        match c {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    // The roots are resolved; resolve the longest existing ancestor the same way.
    let mut existing = out.clone();
    let mut rest = Vec::new();
    while !existing.exists() {
        match existing.file_name() {
            Some(name) => {
                rest.push(name.to_os_string());
                existing.pop();
            }
            None => break,
        }
    }
    let mut resolved = existing.canonicalize().unwrap_or(existing);
    resolved.extend(rest.into_iter().rev());
    resolved
}

pub(crate) struct Checker<'a> {
    pub file: &'a Path,
    pub text: &'a str,
    pub map: SourceMap,
    pub diags: Vec<Diagnostic>,
    /// The study's wave ids, once read (indicators may name them).
    pub wave_ids: Vec<String>,
    /// Folders the study may read from, resolved (the study folder first, then
    /// the folders the user allowed).
    pub roots: Vec<PathBuf>,
    /// File names the study already names for its waves' data, which a "did you
    /// mean" must not offer for another wave.
    pub taken: Vec<String>,
    /// What the study leaves for its data file's dictionary to say.
    pub from_data: crate::model::FromData,
}

impl Checker<'_> {
    fn at(&self, path: &str) -> Option<Location> {
        self.map.value(path)
    }

    fn err(&mut self, path: &str, message: impl Into<String>, help: Option<String>) {
        let loc = self.at(path);
        self.push(loc, message, help);
    }

    fn err_key(&mut self, path: &str, message: impl Into<String>, help: Option<String>) {
        let loc = self.map.key(path);
        self.push(loc, message, help);
    }

    fn push(&mut self, loc: Option<Location>, message: impl Into<String>, help: Option<String>) {
        let mut d = Diagnostic::error(message, Some(self.file.to_path_buf()), loc, self.text);
        d.help = help;
        self.diags.push(d);
    }

    // ---- pass 2: unknown keys -------------------------------------------------

    fn keys<'de, T: Deserialize<'de>>(&mut self, value: &Value, path: &str, what: &str) {
        let Value::Mapping(m) = value else { return };
        let fields = fields_of::<T>();
        for k in m.keys() {
            let name = match k {
                Value::String(s) => s.clone(),
                other => serde_yaml::to_string(other).unwrap_or_default().trim().to_string(),
            };
            if !fields.contains(&name.as_str()) {
                let near = closest(&name, fields.iter().copied());
                let help = match near.first() {
                    Some(n) => format!("did you mean `{n}`?"),
                    None => format!("valid keys here: {}", fields.join(", ")),
                };
                let p = join(path, &name);
                self.err_key(&p, format!("unknown key `{name}` in {what}"), Some(help));
            }
        }
    }

    fn seq<'de, T: Deserialize<'de>>(&mut self, value: &Value, path: &str, what: &str) {
        if let Value::Sequence(items) = value {
            for (i, item) in items.iter().enumerate() {
                self.keys::<T>(item, &format!("{path}[{i}]"), what);
            }
        }
    }

    fn node_keys(&mut self, value: &Value, path: &str) {
        self.keys::<RawNode>(value, path, "a tree node");
        if let Some(s @ Value::Mapping(_)) = value.get("scale") {
            self.keys::<RawScale>(s, &join(path, "scale"), "a scale");
        }
        if let Some(Value::Sequence(children)) = value.get("children") {
            for (i, c) in children.iter().enumerate() {
                self.node_keys(c, &format!("{path}.children[{i}]"));
            }
        }
    }

    /// Unknown keys of `settings.decimals`, each with the kind of figure it most
    /// likely means: by synonym (`percent` → `share`, `gap` → `change`, `p_value`
    /// → `p`), else by spelling (never the one-letter `p` by spelling alone: every
    /// word with a p in it would match it).
    fn decimals_keys(&mut self, value: &Value) {
        let Value::Mapping(m) = value else { return };
        let fields = fields_of::<RawDecimals>();
        let meaning = |k: &str| match k {
            "score" => "0–100 scores",
            "share" => "percentages of 0–1 shares",
            "change" => "changes, gaps and differences",
            "coefficient" => "regression coefficients and R²",
            _ => "p-values in text",
        };
        for k in m.keys() {
            let name = match k {
                Value::String(s) => s.clone(),
                other => serde_yaml::to_string(other).unwrap_or_default().trim().to_string(),
            };
            if fields.contains(&name.as_str()) {
                continue;
            }
            let word = name.to_lowercase().replace(['-', ' '], "_");
            let meant = match word.trim_end_matches('s') {
                "percent" | "percentage" | "pct" | "proportion" | "top_box" => Some("share"),
                "mean" | "index" | "scor" => Some("score"),
                "gap" | "diff" | "difference" | "delta" => Some("change"),
                "coef" | "beta" | "r2" | "r_squared" | "regression" => Some("coefficient"),
                "p_value" | "pvalue" | "p_val" | "pval" | "significance" => Some("p"),
                _ => None,
            }
            .or_else(|| {
                closest(&name, fields.iter().copied().filter(|f| f.len() > 1))
                    .first()
                    .copied()
            });
            let help = match meant {
                Some(n) => format!("did you mean `{n}`? ({})", meaning(n)),
                None => format!("valid keys here: {}", fields.join(", ")),
            };
            let p = join("settings.decimals", &name);
            self.err_key(&p, format!("unknown key `{name}` in `settings.decimals`"), Some(help));
        }
    }

    pub fn unknown_keys(&mut self, doc: &Value) {
        if !doc.is_mapping() {
            self.err(
                "",
                "a study file must be a mapping of keys (id, title, waves, tree …)",
                None,
            );
            return;
        }
        self.keys::<RawStudy>(doc, "", "the study");
        let sub = |k: &str| doc.get(k).cloned().unwrap_or(Value::Null);
        self.keys::<RawIndex>(&sub("index"), "index", "`index`");
        self.keys::<RawScale>(&sub("scale"), "scale", "a scale");
        if let Value::Mapping(m) = sub("scales") {
            for (k, v) in &m {
                let name = k.as_str().unwrap_or("?");
                self.keys::<RawScale>(v, &format!("scales.{name}"), "a scale");
            }
        }
        self.keys::<RawSettings>(&sub("settings"), "settings", "`settings`");
        if let Some(d) = sub("settings").get("decimals") {
            self.decimals_keys(d);
        }
        self.keys::<DataPolicy>(&sub("data_policy"), "data_policy", "`data_policy`");
        self.seq::<RawWave>(&sub("waves"), "waves", "a wave");
        for key in ["tree", "overall"] {
            if let Value::Sequence(items) = sub(key) {
                for (i, item) in items.iter().enumerate() {
                    self.node_keys(item, &format!("{key}[{i}]"));
                }
            }
        }
        self.seq::<RawSegment>(&sub("segments"), "segments", "a segment");
        if let Value::Sequence(segs) = sub("segments") {
            for (i, s) in segs.iter().enumerate() {
                if let Some(b) = s.get("bands") {
                    self.seq::<RawBand>(b, &format!("segments[{i}].bands"), "a band");
                }
            }
        }
        self.seq::<RawBenchmark>(&sub("benchmarks"), "benchmarks", "a benchmark");
        self.seq::<RawAnalysis>(&sub("analyses"), "analyses", "an analysis");
        self.keys::<RawNarrative>(&sub("narrative"), "narrative", "`narrative`");
        let structural = sub("structural");
        self.keys::<RawStructural>(&structural, "structural", "`structural`");
        let part = |k: &str| structural.get(k).cloned().unwrap_or(Value::Null);
        self.seq::<RawConstruct>(&part("constructs"), "structural.constructs", "a construct");
        self.seq::<RawPath>(&part("paths"), "structural.paths", "a path");
        self.keys::<RawBootstrap>(&part("bootstrap"), "structural.bootstrap", "`structural.bootstrap`");
    }

    // ---- pass 3: meaning ------------------------------------------------------

    fn required<T: Clone>(&mut self, v: &Option<T>, path: &str, key: &str, example: &str) -> Option<T> {
        if v.is_none() {
            self.err(
                path,
                format!("missing required key `{key}`"),
                Some(format!("add `{key}: {example}`")),
            );
        }
        v.clone()
    }

    fn id(&mut self, v: &Option<String>, path: &str, seen: &mut HashSet<String>, what: &str) -> String {
        let Some(id) = self.required(v, path, "id", "a_short_id") else {
            return String::new();
        };
        let idp = join(path, "id");
        if id.is_empty()
            || !id.chars().all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'))
            || id.starts_with('.')
        {
            self.err(
                &idp,
                format!("{what} id `{id}` is not usable in file names"),
                Some("use letters, digits, `_`, `-` or `.` (e.g. `network_service`, `2024-Q1`)".into()),
            );
        }
        let reserved: &[&str] = match what {
            "node" => &["index"],
            "wave" => &["latest", "assets"],
            "analysis" => &["index", "results", "study"],
            _ => &[],
        };
        if reserved.contains(&id.as_str()) {
            self.err(
                &idp,
                format!(
                    "`{id}` is reserved and cannot be {} {what} id",
                    if what.starts_with('a') { "an" } else { "a" }
                ),
                Some(format!("choose another id for this {what}")),
            );
        }
        if !seen.insert(id.clone()) {
            self.err(
                &idp,
                format!("duplicate {what} id `{id}`"),
                Some(format!("every {what} needs its own id")),
            );
        }
        id
    }

    fn label(&mut self, v: &Option<Label>, path: &str, fallback: &str) -> Label {
        match v {
            Some(l) => {
                let empty = match l {
                    Label::Text(t) => t.trim().is_empty(),
                    Label::Translations(m) => m.is_empty() || m.values().any(|t| t.trim().is_empty()),
                };
                if empty {
                    self.err(
                        &join(path, "label"),
                        "empty label",
                        Some("write the text to display".into()),
                    );
                }
                l.clone()
            }
            None => Label::Text(fallback.to_string()),
        }
    }

    fn scale(&mut self, base: &Scale, raw: &RawScale, path: &str) -> Scale {
        let mut s = base.clone();
        if let Some(v) = raw.min {
            s.min = v;
        }
        if let Some(v) = raw.max {
            s.max = v;
        }
        if let Some(labels) = &raw.labels {
            s.labels = labels.iter().cloned().collect();
        }
        if let Some(m) = &raw.missing {
            s.missing = m.clone();
        }
        if raw.top_box.is_some() {
            s.top_box = raw.top_box;
        }
        if !(s.min.is_finite() && s.max.is_finite() && s.min < s.max) {
            self.err(
                path,
                format!("scale minimum {} must be below its maximum {}", s.min, s.max),
                Some("e.g. `min: 1` and `max: 10`".into()),
            );
        } else if let Some(k) = s.top_box {
            let points = s.max - s.min + 1.0;
            if k == 0 || f64::from(k) >= points {
                self.err(
                    &join(path, "top_box"),
                    format!("top_box {k} must be at least 1 and smaller than the {points} points of the scale"),
                    Some("2 means top-two-box".into()),
                );
            }
        }
        for code in &s.missing {
            if *code >= s.min && *code <= s.max && s.min < s.max {
                self.err(
                    &join(path, "missing"),
                    format!(
                        "missing code {code} lies inside the scale {}–{}, so real answers would be discarded",
                        s.min, s.max
                    ),
                    Some("use codes outside the scale (99, -99), or narrow the scale".into()),
                );
            }
        }
        s
    }

    /// Whether `real` (a resolved path, or for a path that does not exist its
    /// [`lexical`] form) lies in a folder the study may read.
    fn allowed(&self, real: &Path) -> bool {
        self.roots.iter().any(|r| real.starts_with(r))
    }

    /// The first symbolic link on the way from `dir` to `dir/rel` whose target
    /// leaves the allowed folders: the link as written and its resolved target.
    fn escaping_link(&self, dir: &Path, rel: &Path) -> Option<(PathBuf, PathBuf)> {
        let mut at = dir.to_path_buf();
        let mut written = PathBuf::new();
        for c in rel.components() {
            at.push(c);
            written.push(c);
            let is_link = std::fs::symlink_metadata(&at).is_ok_and(|m| m.file_type().is_symlink());
            if is_link {
                if let Ok(target) = at.canonicalize() {
                    if !self.allowed(&target) {
                        return Some((written, target));
                    }
                }
            }
        }
        None
    }

    /// Checks that `rel` (written at `key`) names something inside the study
    /// folder or a folder the user allowed, after resolving symbolic links;
    /// `what` names it in messages ("file", "theme folder"). Returns the resolved
    /// path when it exists and is allowed.
    fn contained(&mut self, dir: &Path, rel: &str, key: &str, what: &str) -> Option<PathBuf> {
        let p = Path::new(rel);
        let real = dir.join(p).canonicalize().ok()?;
        if self.allowed(&real) {
            return Some(real);
        }
        // Allow the folder itself, or the folder holding the file.
        let folder = if real.is_dir() {
            Some(real.as_path())
        } else {
            real.parent()
        };
        let allow = folder.unwrap_or(&real).display().to_string();
        match self.escaping_link(dir, p) {
            Some((link, target)) => self.err(
                key,
                format!(
                    "`{rel}`: the symbolic link `{}` points to `{}`, outside the study folder",
                    link.display(),
                    target.display()
                ),
                // Never advise allowing a link's target: a hostile link may point at
                // ~/.ssh. Copying is the fix; --allow-path is for folders named openly.
                Some(format!("copy the {what} into the study folder instead of linking to it")),
            ),
            None => self.err(
                key,
                format!("`{rel}` points outside the study folder (to `{}`)", real.display()),
                Some(format!(
                    "keep the {what} inside the study folder and name it relative to study.yaml, or, if you trust that folder, allow it with `--allow-path {allow}`"
                )),
            ),
        }
        None
    }

    /// A wave's `encoding`: the canonical name (in capitals) of the encoding its label names
    /// (WHATWG labels: `gb18030`, `gbk`, `big5`, `utf-16le`...), for a text file.
    fn encoding(&mut self, label: &str, data: &str, path: &str) -> Option<String> {
        let Some(encoding) = encoding_rs::Encoding::for_label(label.trim().as_bytes()) else {
            self.err(
                path,
                format!("unknown text encoding `{label}`"),
                Some(
                    "write the encoding the file was saved in, e.g. `gb18030` (Chinese Excel's CSV, GBK included), \
                     `big5`, `utf-16le`, `utf-16be`, `windows-1252` or `utf-8`"
                        .into(),
                ),
            );
            return None;
        };
        if encoding == encoding_rs::REPLACEMENT {
            self.err(
                path,
                format!("the text encoding `{label}` cannot be read (HZ and ISO-2022 are not supported)"),
                Some("save the file as UTF-8, or as `gb18030`, `big5` or `utf-16le`, and declare that".into()),
            );
            return None;
        };
        let text = Path::new(data)
            .extension()
            .map(|e| e.to_string_lossy().to_lowercase())
            .is_none_or(|e| matches!(e.as_str(), "csv" | "tsv" | "txt"));
        if !text {
            self.err(
                path,
                format!("`encoding` applies to text (CSV) files, not to `{data}`"),
                Some("remove `encoding`: this format records its own text encoding".into()),
            );
            return None;
        }
        Some(encoding.name().to_uppercase())
    }

    /// A wave's `where:`: one column, and the value or values of the wave's rows.
    fn row_filter(&mut self, v: &Value, path: &str) -> Option<RowFilter> {
        let scalar = |v: &Value| match v {
            Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        };
        let help = "write the column that says a row's wave and the wave's value in it, e.g. `where: {wave: 2002}`, or several values as a list: `where: {quarter: [Q1, Q2]}`";
        let entries: Vec<(&Value, &Value)> = match v {
            Value::Mapping(m) => m.iter().collect(),
            _ => Vec::new(),
        };
        let [(column, values)] = entries[..] else {
            let what = if entries.len() > 1 {
                "`where` names one column only"
            } else {
                "`where` must name a column and its value"
            };
            self.err(path, what, Some(help.into()));
            return None;
        };
        let Some(column) = scalar(column) else {
            self.err(path, "`where` must name a column", Some(help.into()));
            return None;
        };
        let at = join(path, &column);
        let values: Option<Vec<String>> = match values {
            Value::Sequence(items) if !items.is_empty() => items.iter().map(scalar).collect(),
            Value::Sequence(_) => None,
            other => scalar(other).map(|v| vec![v]),
        };
        let Some(values) = values else {
            self.err(
                &at,
                format!("`where: {{{column}: …}}` must give the wave's value (a text or a number) or a list of them"),
                Some(help.into()),
            );
            return None;
        };
        Some(RowFilter {
            column: ColumnRef {
                name: column,
                at: self.map.key(&at),
            },
            values,
        })
    }

    /// Waves that read one file by a column's values must not claim the same rows:
    /// a row belongs to one wave, so that the file is read once for all of them;
    /// nor may another wave read that file whole (its rows would be counted twice).
    fn waves_apart(&mut self, raw: &RawStudy, waves: &[Wave]) {
        let at = |i: usize| {
            if raw.waves[i].filter.is_some() {
                format!("waves[{i}].where")
            } else {
                format!("waves[{i}].id")
            }
        };
        let real = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
        for (i, w) in waves.iter().enumerate() {
            let Some(f) = &w.filter else {
                let Some(other) = waves
                    .iter()
                    .find(|o| o.filter.is_some() && o.sheet == w.sheet && real(&o.data) == real(&w.data))
                else {
                    continue;
                };
                let column = &other.filter.as_ref().expect("filtered").column.name;
                self.err(
                    &format!("waves[{i}].data"),
                    format!(
                        "wave `{}` reads every row of `{}`, of which wave `{}` takes those with its {column}: their rows would be counted twice",
                        w.id, w.data_as_written, other.id
                    ),
                    Some(format!("give wave `{}` its rows too, e.g. `where: {{{column}: {}}}`", w.id, w.id)),
                );
                continue;
            };
            let mut seen = HashSet::new();
            for value in &f.values {
                let code = normalise_code(value);
                if !seen.insert(code.clone()) {
                    continue;
                }
                let first = waves[..i].iter().position(|o| {
                    o.shares_rows_with(w)
                        && o.filter
                            .as_ref()
                            .is_some_and(|g| g.values.iter().any(|v| normalise_code(v) == code))
                });
                if let Some(first) = first {
                    self.err(
                        &at(i),
                        format!(
                            "the rows of `{}` with {} = {value} would be in two waves, `{}` and `{}`",
                            w.data_as_written, f.column.name, waves[first].id, w.id
                        ),
                        Some("a row belongs to one wave: give each wave its own values in `where`".into()),
                    );
                }
            }
        }
    }

    /// A wave's `sheet`, for a workbook.
    fn sheet(&mut self, sheet: &str, data: &str, path: &str) -> Option<String> {
        let workbook = Path::new(data)
            .extension()
            .map(|e| e.to_string_lossy().to_lowercase())
            .is_some_and(|e| matches!(e.as_str(), "xlsx" | "xlsm" | "xlsb" | "xls" | "ods"));
        if !workbook {
            self.err(
                path,
                format!("`sheet` applies to workbooks (.xlsx, .xls, .ods), not to `{data}`"),
                Some("remove `sheet`, or point `data` at the workbook".into()),
            );
            return None;
        }
        Some(sheet.to_string())
    }

    fn data_path(&mut self, dir: &Path, rel: &str, path: &str) -> PathBuf {
        let p = Path::new(rel);
        let joined = dir.join(p);
        if joined.exists() {
            if let Some(real) = self.contained(dir, rel, path, "file") {
                if real.is_dir() {
                    self.err(
                        path,
                        format!("`{rel}` is a folder, not a file"),
                        Some("name the data or narrative file inside it, e.g. `data/wave-2024.csv`".into()),
                    );
                } else if !real.is_file() {
                    self.err(
                        path,
                        format!("`{rel}` is not a regular file (a device, pipe or socket)"),
                        Some("name a data or narrative file saved inside the study folder".into()),
                    );
                }
            }
        } else if !self.allowed(&lexical(&joined)) {
            self.err(
                path,
                format!("`{rel}` points outside the study folder"),
                Some(
                    "keep data and narrative files inside the study folder and name them relative to study.yaml, or allow their folder with `--allow-path DIR`".into(),
                ),
            );
        } else if std::fs::symlink_metadata(&joined).is_ok() {
            let target = std::fs::read_link(&joined).unwrap_or_default();
            self.err(
                path,
                format!(
                    "`{rel}` is a symbolic link to `{}`, which does not exist",
                    target.display()
                ),
                Some("copy the file into the study folder instead of linking to it".into()),
            );
        } else {
            let names: Vec<String> = std::fs::read_dir(dir.join(p.parent().unwrap_or(Path::new(""))))
                .map(|rd| {
                    rd.filter_map(|e| e.ok())
                        .map(|e| e.file_name().to_string_lossy().into_owned())
                        .collect()
                })
                .unwrap_or_default();
            let fname = p
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_default();
            let near = closest(
                &fname,
                names
                    .iter()
                    .map(String::as_str)
                    .filter(|n| !self.taken.iter().any(|t| t == n)),
            );
            let help = match near.first() {
                Some(n) => format!("did you mean `{n}`?"),
                None => "paths are relative to the folder of study.yaml".into(),
            };
            self.err(path, format!("file `{rel}` not found"), Some(help));
        }
        joined
    }

    fn column(&self, name: &str, path: &str) -> ColumnRef {
        ColumnRef {
            name: name.to_string(),
            at: self.at(path),
        }
    }

    fn measure(
        &mut self,
        raw: &RawNode,
        path: &str,
        default: &Scale,
        named: &BTreeMap<String, Scale>,
    ) -> Option<Measure> {
        let column = raw.column.as_ref()?;
        let scale = match &raw.scale {
            None => default.clone(),
            Some(RawScaleRef::Named(n)) => match named.get(n) {
                Some(s) => {
                    // A measure in its own unit has no discrete points: no top box.
                    let mut s = s.clone();
                    if raw.unit.is_some() {
                        s.top_box = None;
                        s.labels.clear();
                    }
                    s
                }
                None => {
                    let near = closest(n, named.keys().map(String::as_str));
                    let help = match near.first() {
                        Some(x) => format!("did you mean `{x}`?"),
                        None => "define it under `scales:` or write the scale inline".into(),
                    };
                    self.err(&join(path, "scale"), format!("unknown scale `{n}`"), Some(help));
                    default.clone()
                }
            },
            Some(RawScaleRef::Inline(r)) => {
                // A measure in its own unit has no discrete points unless it says so.
                let mut base = default.clone();
                if raw.unit.is_some() {
                    base.top_box = None;
                    base.labels.clear();
                }
                self.scale(&base, r, &join(path, "scale"))
            }
        };
        Some(Measure {
            column: self.column(column, &join(path, "column")),
            expectation: raw
                .expectation
                .as_ref()
                .map(|e| self.column(e, &join(path, "expectation"))),
            scale,
            unit: raw.unit.clone(),
            direction: raw.direction.unwrap_or(Direction::HigherIsBetter),
            waves: raw.waves.as_ref().map(|ws| {
                if ws.is_empty() {
                    self.err(
                        &join(path, "waves"),
                        "`waves` lists no wave",
                        Some("leave `waves` out for a question asked in every wave".into()),
                    );
                }
                for (i, w) in ws.iter().enumerate() {
                    if !self.wave_ids.contains(w) {
                        let near = closest(w, self.wave_ids.iter().map(String::as_str));
                        self.err(
                            &format!("{}[{i}]", join(path, "waves")),
                            format!("wave `{w}` is not one of the study's waves"),
                            Some(match near.first() {
                                Some(n) => format!("did you mean `{n}`?"),
                                None => format!("the study's waves are {}", self.wave_ids.join(", ")),
                            }),
                        );
                    }
                }
                ws.clone()
            }),
        })
    }

    fn nodes(
        &mut self,
        raws: &[RawNode],
        path: &str,
        seen: &mut HashSet<String>,
        default: &Scale,
        named: &BTreeMap<String, Scale>,
    ) -> Vec<Node> {
        let mut out = Vec::with_capacity(raws.len());
        for (i, raw) in raws.iter().enumerate() {
            let p = format!("{path}[{i}]");
            let id = self.id(&raw.id, &p, seen, "node");
            let label = self.label(&raw.label, &p, &id);
            if raw.label.is_none() {
                self.from_data.node_labels.insert(id.clone());
            }
            if let Some(w) = raw.weight {
                if !(w.is_finite() && w > 0.0) {
                    self.err(
                        &join(&p, "weight"),
                        format!("weight {w} of `{id}` must be a positive number"),
                        Some("weights are relative among siblings; leave `weight` out for equal weights".into()),
                    );
                }
            }
            let children = match (&raw.children, &raw.column) {
                (Some(_), Some(_)) => {
                    self.err(&join(&p, "column"), format!("`{id}` has both `children` and `column`"), Some("a category combines its children; an indicator reads one column; split them into two nodes".into()));
                    Vec::new()
                }
                (Some(ch), None) if ch.is_empty() => {
                    self.err(
                        &join(&p, "children"),
                        format!("category `{id}` has no children"),
                        Some("add indicators under it, or give it a `column`".into()),
                    );
                    Vec::new()
                }
                (Some(ch), None) => self.nodes(ch, &format!("{p}.children"), seen, default, named),
                (None, None) => {
                    self.err(
                        &p,
                        format!("node `{id}` has neither `children` nor `column`"),
                        Some("give an indicator the data `column` it reads, or a category its `children`".into()),
                    );
                    Vec::new()
                }
                (None, Some(_)) => Vec::new(),
            };
            let measure = if raw.children.is_none() {
                self.measure(raw, &p, default, named)
            } else {
                None
            };
            if raw.children.is_some() && (raw.expectation.is_some() || raw.unit.is_some()) {
                self.err(
                    &p,
                    format!("category `{id}` cannot have `expectation` or `unit`"),
                    Some("put them on its indicators".into()),
                );
            }
            out.push(Node {
                id,
                label,
                weight: raw.weight.unwrap_or(1.0),
                dimension: raw.dimension.clone(),
                children,
                measure,
            });
        }
        let total: f64 = out.iter().map(|n| n.weight).sum();
        if total > 0.0 {
            for n in &mut out {
                n.weight /= total;
            }
        }
        out
    }

    /// `settings.decimals`: each kind given must be a whole number from 0 to
    /// [`MAX_DECIMALS`]; the others keep their defaults.
    fn decimals(&mut self, raw: &RawDecimals) -> Decimals {
        let mut out = Decimals::default();
        let kinds: [(&str, Option<i64>, &mut u8, &str); 5] = [
            (
                "score",
                raw.score,
                &mut out.score,
                "0–100 scores: 1 shows 72.4, 2 shows 72.38",
            ),
            (
                "share",
                raw.share,
                &mut out.share,
                "percentages of shares: 1 shows 35.2%",
            ),
            ("change", raw.change, &mut out.change, "changes and gaps: 1 shows +2.1"),
            (
                "coefficient",
                raw.coefficient,
                &mut out.coefficient,
                "coefficients and R²: 3 shows 0.588",
            ),
            ("p", raw.p, &mut out.p, "p-values in text: 3 shows p = 0.016"),
        ];
        for (key, given, slot, example) in kinds {
            let Some(v) = given else { continue };
            match u8::try_from(v) {
                Ok(d) if d <= MAX_DECIMALS => *slot = d,
                _ => {
                    let default = *slot; // not set yet: the default
                    self.err(
                        &format!("settings.decimals.{key}"),
                        format!("decimals `{key}: {v}` must be a whole number from 0 to {MAX_DECIMALS}"),
                        Some(format!(
                            "write e.g. `{key}: {default}` (the default; {example}), or leave `{key}` out"
                        )),
                    );
                }
            }
        }
        out
    }

    pub fn study(&mut self, raw: RawStudy, dir: &Path) -> Study {
        let id = self.required(&raw.id, "", "id", "telecom_2024").unwrap_or_default();
        if raw.id.is_some()
            && (id.is_empty()
                || id.starts_with('.')
                || !id.chars().all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.')))
        {
            self.err(
                "id",
                format!("study id `{id}` is not usable as a folder name"),
                Some("use letters, digits, `_`, `-` or `.`, not starting with `.`".into()),
            );
        }
        if id == "assets" {
            self.err(
                "id",
                "`assets` is reserved for the site's shared files",
                Some("choose another study id".into()),
            );
        }
        let title = self
            .required(&raw.title, "", "title", "Customer satisfaction 2024")
            .unwrap_or(Label::Text(id.clone()));
        let language = raw.language.clone().unwrap_or_else(|| "en".into());

        let default_scale = Scale {
            min: 1.0,
            max: 10.0,
            labels: BTreeMap::new(),
            missing: vec![],
            top_box: Some(2),
        };
        let default_scale = match &raw.scale {
            Some(r) => self.scale(&default_scale, r, "scale"),
            None => default_scale,
        };
        self.from_data.scale_labels = raw.scale.as_ref().is_none_or(|r| r.labels.is_none());
        let mut named = BTreeMap::new();
        for (name, r) in &raw.scales {
            let s = self.scale(&default_scale, r, &format!("scales.{name}"));
            named.insert(name.clone(), s);
        }

        let settings = match &raw.settings {
            Some(s) => {
                let confidence = s.confidence.unwrap_or(0.95);
                if !(confidence > 0.5 && confidence < 1.0) {
                    self.err(
                        "settings.confidence",
                        format!("confidence {confidence} must be between 0.5 and 1"),
                        Some("write it as a share: 0.95 for 95 %".into()),
                    );
                }
                if let Some(n) = s.population.filter(|n| !(n.is_finite() && *n >= 2.0)) {
                    self.err(
                        "settings.population",
                        format!("population size {n} must be a number of at least 2"),
                        Some("give the number of customers the sample is drawn from, or leave `population` out for a large population".into()),
                    );
                }
                Settings {
                    confidence,
                    low_base: s.low_base.unwrap_or(30),
                    population: s.population,
                    decimals: match &s.decimals {
                        Some(d) => self.decimals(d),
                        None => Decimals::default(),
                    },
                }
            }
            None => Settings::default(),
        };

        // Waves.
        if raw.wave_column.as_deref().is_some_and(|c| c.trim().is_empty()) {
            self.err(
                "wave_column",
                "`wave_column` is empty",
                Some("name the column that says each row's wave (its values the waves' ids), or remove the key".into()),
            );
        }
        let mut seen = HashSet::new();
        if raw.waves.is_empty() {
            self.err(
                "waves",
                "the study has no waves",
                Some("list at least one wave with its `id` and `data` file".into()),
            );
        }
        let mut waves = Vec::new();
        // A missing data file is never "corrected" to another wave's file.
        self.taken = raw
            .waves
            .iter()
            .filter_map(|w| w.data.as_deref())
            .filter_map(|d| Path::new(d).file_name())
            .map(|f| f.to_string_lossy().into_owned())
            .collect();
        for (i, w) in raw.waves.iter().enumerate() {
            let p = format!("waves[{i}]");
            let wid = self.id(&w.id, &p, &mut seen, "wave");
            let rel = self.required(&w.data, &p, "data", "data/wave.csv").unwrap_or_default();
            let data = if rel.is_empty() {
                dir.to_path_buf()
            } else {
                self.data_path(dir, &rel, &join(&p, "data"))
            };
            let encoding = w
                .encoding
                .as_deref()
                .and_then(|e| self.encoding(e, &rel, &join(&p, "encoding")));
            let sheet = w.sheet.as_deref().and_then(|s| self.sheet(s, &rel, &join(&p, "sheet")));
            let filter = match &w.filter {
                Some(v) => self.row_filter(v, &join(&p, "where")),
                None => raw
                    .wave_column
                    .as_deref()
                    .filter(|c| !c.trim().is_empty())
                    .map(|c| RowFilter {
                        column: self.column(c, "wave_column"),
                        values: vec![wid.clone()],
                    }),
            };
            waves.push(Wave {
                encoding,
                sheet,
                filter,
                label: w.label.clone().unwrap_or(Label::Text(wid.clone())),
                id: wid,
                fieldwork: w.fieldwork.clone(),
                data,
                data_as_written: rel,
                data_at: self.at(&join(&p, "data")),
                weight: w.weight.as_ref().map(|c| self.column(c, &join(&p, "weight"))),
            });
        }

        self.waves_apart(&raw, &waves);

        // Tree and overall items share one id space.
        let mut node_ids = HashSet::new();
        if raw.tree.is_empty() {
            self.err(
                "tree",
                "the indicator tree is empty",
                Some("add first-level categories under `tree:`, each with `children` or a `column`".into()),
            );
        }
        self.wave_ids = waves.iter().map(|w| w.id.clone()).collect();
        let tree = self.nodes(&raw.tree, "tree", &mut node_ids, &default_scale, &named);
        let mut overall = Vec::new();
        for (i, o) in raw.overall.iter().enumerate() {
            let p = format!("overall[{i}]");
            let oid = self.id(&o.id, &p, &mut node_ids, "node");
            let label = self.label(&o.label, &p, &oid);
            if o.label.is_none() {
                self.from_data.node_labels.insert(oid.clone());
            }
            if o.children.is_some() {
                self.err(
                    &join(&p, "children"),
                    "an overall item reads one column and cannot have children",
                    None,
                );
            }
            match self.measure(o, &p, &default_scale, &named) {
                Some(measure) => overall.push(OverallItem {
                    id: oid,
                    label,
                    measure,
                }),
                None => self.err(
                    &p,
                    format!("overall item `{oid}` has no `column`"),
                    Some("name the data column of the overall-satisfaction question".into()),
                ),
            }
        }

        // Segments.
        let mut seg_ids = HashSet::new();
        let mut segments = Vec::new();
        let spss_data = !waves.is_empty()
            && waves.iter().all(|w| {
                w.data
                    .extension()
                    .is_some_and(|e| matches!(e.to_string_lossy().to_lowercase().as_str(), "sav" | "zsav"))
            });
        for (i, s) in raw.segments.iter().enumerate() {
            let p = format!("segments[{i}]");
            let sid = self.id(&s.id, &p, &mut seg_ids, "segment");
            let label = self.label(&s.label, &p, &sid);
            if s.label.is_none() {
                self.from_data.segment_labels.insert(sid.clone());
            }
            let column = self
                .required(&s.column, &p, "column", "customer_type")
                .unwrap_or_default();
            let kind = match (&s.values, &s.bands) {
                (Some(v), None) if !v.is_empty() => {
                    let mut codes = HashSet::new();
                    for (code, _) in v {
                        if !codes.insert(normalise_code(code)) {
                            self.err(
                                &format!("{p}.values.{code}"),
                                format!("code `{code}` listed twice in segment `{sid}`"),
                                None,
                            );
                        }
                    }
                    SegmentKind::Categorical { values: v.clone() }
                }
                (None, Some(b)) if !b.is_empty() => {
                    let mut bands = Vec::new();
                    for (j, rb) in b.iter().enumerate() {
                        let bp = format!("{p}.bands[{j}]");
                        if rb.min.is_none() && rb.max.is_none() {
                            self.err(
                                &bp,
                                "a band needs `min`, `max` or both",
                                Some("e.g. `{label: 1996–1998, min: 1996, max: 1998}`".into()),
                            );
                        }
                        if let (Some(lo), Some(hi)) = (rb.min, rb.max) {
                            if lo > hi {
                                self.err(&bp, format!("band minimum {lo} is above its maximum {hi}"), None);
                            }
                        }
                        let label = rb
                            .label
                            .clone()
                            .unwrap_or_else(|| Label::Text(band_text(rb.min, rb.max)));
                        bands.push(Band {
                            label,
                            min: rb.min,
                            max: rb.max,
                        });
                    }
                    for (a, x) in bands.iter().enumerate() {
                        for (b2, y) in bands.iter().enumerate().skip(a + 1) {
                            let lo = x
                                .min
                                .unwrap_or(f64::NEG_INFINITY)
                                .max(y.min.unwrap_or(f64::NEG_INFINITY));
                            let hi = x.max.unwrap_or(f64::INFINITY).min(y.max.unwrap_or(f64::INFINITY));
                            if lo <= hi {
                                self.err(
                                    &format!("{p}.bands[{b2}]"),
                                    format!("bands {} and {} of segment `{sid}` overlap", a + 1, b2 + 1),
                                    Some("make the bands disjoint, e.g. max: 1995 then min: 1996".into()),
                                );
                            }
                        }
                    }
                    SegmentKind::Banded { bands }
                }
                (Some(_), Some(_)) => {
                    self.err(
                        &p,
                        format!("segment `{sid}` has both `values` and `bands`"),
                        Some("use `values` for codes with labels, `bands` to cut a numeric column".into()),
                    );
                    SegmentKind::Categorical { values: vec![] }
                }
                _ if spss_data => {
                    // The codes and labels the SPSS file declares for the column.
                    self.from_data.segment_values.insert(sid.clone());
                    SegmentKind::Categorical { values: vec![] }
                }
                _ => {
                    self.err(
                        &p,
                        format!("segment `{sid}` needs `values` (codes with labels) or `bands` (numeric ranges)"),
                        Some("e.g. `values: {1: 普通用户, 2: 高端用户}` (with SPSS data, the file's value labels serve when both are left out)".into()),
                    );
                    SegmentKind::Categorical { values: vec![] }
                }
            };
            segments.push(Segment {
                id: sid,
                label,
                column: self.column(&column, &join(&p, "column")),
                kind,
            });
        }

        // Benchmarks.
        let wave_ids: Vec<String> = waves.iter().map(|w| w.id.clone()).collect();
        let mut bench_ids = HashSet::new();
        let mut benchmarks = Vec::new();
        for (i, b) in raw.benchmarks.iter().enumerate() {
            let p = format!("benchmarks[{i}]");
            let bid = self.id(&b.id, &p, &mut bench_ids, "benchmark");
            let label = self.label(&b.label, &p, &bid);
            let mut values = BTreeMap::new();
            for (w, v) in b.values.clone().unwrap_or_default() {
                if !wave_ids.contains(&w) {
                    let near = closest(&w, wave_ids.iter().map(String::as_str));
                    self.err_key(
                        &format!("{p}.values.{w}"),
                        format!("benchmark `{bid}` names wave `{w}`, which the study does not have"),
                        near.first().map(|n| format!("did you mean `{n}`?")),
                    );
                }
                if !(0.0..=100.0).contains(&v) {
                    self.err(
                        &format!("{p}.values.{w}"),
                        format!("benchmark value {v} is not on the 0–100 index scale"),
                        None,
                    );
                }
                values.insert(w, v);
            }
            benchmarks.push(Benchmark {
                id: bid,
                label,
                kind: b.kind.unwrap_or_default(),
                values,
            });
        }

        // Analyses.
        let mut analysis_ids = HashSet::new();
        let mut analyses = Vec::new();
        for (i, a) in raw.analyses.iter().enumerate() {
            let p = format!("analyses[{i}]");
            let plugin = self.required(&a.plugin, &p, "plugin", "gap").unwrap_or_default();
            let default_id = Some(a.id.clone().unwrap_or_else(|| plugin.clone()));
            let aid = self.id(&default_id, &p, &mut HashSet::new(), "analysis");
            if !analysis_ids.insert(aid.clone()) {
                self.err(
                    &p,
                    format!("duplicate analysis id `{aid}`"),
                    Some("give the second one an `id` of its own".into()),
                );
            }
            let option_at = a
                .options
                .as_ref()
                .and_then(|o| o.as_object())
                .map(|o| {
                    o.keys()
                        .filter_map(|k| self.map.key(&format!("{p}.options.{k}")).map(|l| (k.clone(), l)))
                        .collect()
                })
                .unwrap_or_default();
            analyses.push(AnalysisSpec {
                id: aid,
                at: self.map.value(&format!("{p}.plugin")),
                option_at,
                plugin,
                options: a
                    .options
                    .clone()
                    .unwrap_or(serde_json::Value::Object(Default::default())),
                isolation: a.isolation.unwrap_or_default(),
                timeout_seconds: match a.timeout {
                    Some(t) if !(t.is_finite() && t > 0.0) => {
                        self.err(
                            &format!("{p}.timeout"),
                            format!("timeout must be a positive number of seconds, got {t}"),
                            Some(format!("e.g. `timeout: {DEFAULT_TIMEOUT_SECONDS}`")),
                        );
                        DEFAULT_TIMEOUT_SECONDS
                    }
                    Some(t) => t,
                    None => DEFAULT_TIMEOUT_SECONDS,
                },
            });
        }

        // Narrative.
        let mut narrative = Narrative::default();
        if let Some(n) = &raw.narrative {
            if let Some(s) = &n.summary {
                narrative.summary = Some(self.data_path(dir, s, "narrative.summary"));
            }
            for (w, f) in n.waves.clone().unwrap_or_default() {
                if !wave_ids.contains(&w) {
                    self.err_key(
                        &format!("narrative.waves.{w}"),
                        format!("narrative names wave `{w}`, which the study does not have"),
                        None,
                    );
                }
                let path = self.data_path(dir, &f, &format!("narrative.waves.{w}"));
                narrative.waves.insert(w, path);
            }
        }

        let theme = raw.theme.as_ref().and_then(|t| {
            let p = dir.join(t);
            if p.exists() && self.contained(dir, t, "theme", "theme folder").is_none() {
                return None;
            }
            if p.join("templates").is_dir() || p.join("static").is_dir() {
                Some(p)
            } else {
                self.err_key(
                    "theme",
                    format!("theme folder `{t}` has no `templates/` or `static/` folder"),
                    Some("name a theme folder relative to study.yaml, e.g. `../../themes/corporate`, holding templates/*.html and/or static/style.css".into()),
                );
                None
            }
        });

        let structural = raw
            .structural
            .as_ref()
            .and_then(|r| self.structural(r, &tree, &overall));

        Study {
            id,
            title,
            client: raw.client.clone(),
            description: raw.description.clone(),
            language,
            file: self.file.to_path_buf(),
            dir: dir.to_path_buf(),
            index_label: raw
                .index
                .as_ref()
                .and_then(|i| i.label.clone())
                .unwrap_or(Label::Text("CSI".into())),
            respondent_id: raw.respondent_id.as_ref().map(|c| self.column(c, "respondent_id")),
            waves,
            tree,
            overall,
            segments,
            benchmarks,
            analyses,
            narrative,
            settings,
            data_policy: raw.data_policy.unwrap_or_default(),
            theme,
            structural,
            from_data: std::mem::take(&mut self.from_data),
        }
    }
}

impl Checker<'_> {
    /// `structural:`: every construct measured by known items (a tree node's
    /// indicators, or items listed by id), no item in two constructs, paths between
    /// declared constructs that never lead back, every construct on a path, and
    /// the algorithm's settings in range.
    fn structural(&mut self, raw: &RawStructural, tree: &[Node], overall: &[OverallItem]) -> Option<Structural> {
        let at = "structural";
        // Every tree node (with the indicators below it) and every overall item.
        fn walk<'n>(nodes: &'n [Node], out: &mut Vec<(&'n Node, Vec<String>)>) -> Vec<String> {
            let mut all = Vec::new();
            for n in nodes {
                let below = if n.is_indicator() {
                    vec![n.id.clone()]
                } else {
                    walk(&n.children, out)
                };
                all.extend(below.iter().cloned());
                out.push((n, below));
            }
            all
        }
        let mut nodes = Vec::new();
        walk(tree, &mut nodes);
        let items: Vec<&str> = nodes
            .iter()
            .filter(|(n, _)| n.is_indicator())
            .map(|(n, _)| n.id.as_str())
            .chain(overall.iter().map(|o| o.id.as_str()))
            .collect();
        let before = self.diags.len();
        if raw.constructs.len() < 2 {
            self.err(
                at,
                "a structural model needs at least two constructs under `constructs:`",
                Some("list the constructs, each with `id` and either `node:` (a tree node: its indicators) or `items:` (indicator or overall-item ids)".into()),
            );
        }
        let mut ids = HashSet::new();
        let mut owner: BTreeMap<String, String> = BTreeMap::new();
        let mut constructs = Vec::new();
        for (i, c) in raw.constructs.iter().enumerate() {
            let p = format!("{at}.constructs[{i}]");
            let id = self.id(&c.id, &p, &mut ids, "construct");
            let mut members = Vec::new();
            let mut label = None;
            match (&c.node, &c.items) {
                (Some(node), None) => match nodes.iter().find(|(n, _)| n.id == *node) {
                    Some((n, below)) => {
                        members = below.clone();
                        label = Some(n.label.clone());
                    }
                    None => {
                        let near = closest(node, nodes.iter().map(|(n, _)| n.id.as_str()));
                        self.err(
                            &join(&p, "node"),
                            format!("construct `{id}` names node `{node}`, which is not in the tree"),
                            Some(match near.first() {
                                Some(n) => format!("did you mean `{n}`?"),
                                None => {
                                    "name a category or indicator of the tree, or list the construct's `items:`".into()
                                }
                            }),
                        );
                    }
                },
                (None, Some(list)) => {
                    if list.is_empty() {
                        self.err(&join(&p, "items"), format!("construct `{id}` lists no items"), None);
                    }
                    for (k, item) in list.iter().enumerate() {
                        if list[..k].contains(item) {
                            self.err(
                                &format!("{p}.items[{k}]"),
                                format!("construct `{id}` lists `{item}` twice"),
                                Some("list each item once".into()),
                            );
                            continue;
                        }
                        if items.contains(&item.as_str()) {
                            members.push(item.clone());
                            continue;
                        }
                        let near = closest(item, items.iter().copied());
                        let what = if nodes.iter().any(|(n, _)| n.id == *item) {
                            format!("`{item}` is a category, not an item; use `node: {item}` for its indicators")
                        } else {
                            format!(
                                "construct `{id}` lists `{item}`, which is neither an indicator nor an overall item"
                            )
                        };
                        self.err(
                            &format!("{p}.items[{k}]"),
                            what,
                            near.first().map(|n| format!("did you mean `{n}`?")),
                        );
                    }
                }
                (Some(_), Some(_)) => self.err(
                    &p,
                    format!("construct `{id}` has both `node:` and `items:`"),
                    Some("keep one: `node:` takes the indicators of a tree node, `items:` lists them".into()),
                ),
                (None, None) => self.err(
                    &p,
                    format!("construct `{id}` has no indicators"),
                    Some(
                        "add `node: <tree node id>` (its indicators) or `items: [<indicator or overall-item ids>]`"
                            .into(),
                    ),
                ),
            }
            for m in &members {
                if let Some(other) = owner.insert(m.clone(), id.clone()) {
                    self.err(
                        &p,
                        format!("item `{m}` belongs to construct `{other}` and to `{id}`"),
                        Some("an item measures one construct only".into()),
                    );
                }
            }
            let mode = match c.mode.as_deref().map(str::to_lowercase).as_deref() {
                None | Some("a") | Some("reflective") => "A",
                Some("b") | Some("formative") => "B",
                Some(other) => {
                    self.err(
                        &join(&p, "mode"),
                        format!("unknown mode `{other}`"),
                        Some("use `A` (reflective: the items reflect the construct) or `B` (formative: the items form it)".into()),
                    );
                    "A"
                }
            };
            let label = match &c.label {
                Some(_) => self.label(&c.label, &p, &id),
                None => label.unwrap_or_else(|| Label::Text(id.clone())),
            };
            constructs.push(StructuralConstruct {
                id,
                label,
                items: members,
                mode: mode.into(),
                node: c.node.clone(),
            });
        }
        let position = |id: &str| constructs.iter().position(|c| c.id == id);
        let mut paths: Vec<(usize, usize)> = Vec::new();
        if raw.paths.is_empty() {
            self.err(
                at,
                "a structural model needs paths under `paths:`",
                Some("list them as `- {from: quality, to: satisfaction}`".into()),
            );
        }
        for (i, path) in raw.paths.iter().enumerate() {
            let p = format!("{at}.paths[{i}]");
            let end = |key: &str, v: &Option<String>, me: &mut Self| -> Option<usize> {
                let Some(v) = v else {
                    me.err(
                        &p,
                        format!("missing required key `{key}`"),
                        Some(format!("add `{key}: <construct id>`")),
                    );
                    return None;
                };
                let found = position(v);
                if found.is_none() {
                    let near = closest(v, constructs.iter().map(|c| c.id.as_str()));
                    me.err(
                        &join(&p, key),
                        format!("path {} names `{v}`, which is not a construct", i + 1),
                        Some(match near.first() {
                            Some(n) => format!("did you mean `{n}`?"),
                            None => "name a construct declared under `constructs:`".into(),
                        }),
                    );
                }
                found
            };
            let (Some(from), Some(to)) = (end("from", &path.from, self), end("to", &path.to, self)) else {
                continue;
            };
            if from == to {
                self.err(
                    &p,
                    format!("path {} leads from `{}` to itself", i + 1, constructs[from].id),
                    None,
                );
            } else if paths.contains(&(from, to)) {
                self.err(
                    &p,
                    format!(
                        "the path from `{}` to `{}` is declared twice",
                        constructs[from].id, constructs[to].id
                    ),
                    None,
                );
            } else {
                // A path that closes a cycle: `to` already leads to `from`.
                let mut reach = vec![to];
                let mut seen = vec![false; constructs.len()];
                while let Some(j) = reach.pop() {
                    if !std::mem::replace(&mut seen[j], true) {
                        reach.extend(paths.iter().filter(|&&(f, _)| f == j).map(|&(_, t)| t));
                    }
                }
                if seen[from] {
                    self.err(
                        &p,
                        format!(
                            "the path from `{}` to `{}` closes a loop (`{}` already leads to `{}`)",
                            constructs[from].id, constructs[to].id, constructs[to].id, constructs[from].id
                        ),
                        Some("a PLS path model is recursive: remove this path or the one leading back".into()),
                    );
                } else {
                    paths.push((from, to));
                }
            }
        }
        for (j, c) in constructs.iter().enumerate() {
            if !paths.iter().any(|&(f, t)| f == j || t == j) && !raw.paths.is_empty() {
                self.err(
                    &format!("{at}.constructs[{j}]"),
                    format!("construct `{}` is on no path", c.id),
                    Some("add a path from or to it, or remove it".into()),
                );
            }
        }
        let scheme = match raw.scheme.as_deref().map(str::to_lowercase).as_deref() {
            None | Some("path") => "path",
            Some("centroid") => "centroid",
            Some("factorial") => "factorial",
            Some(other) => {
                self.err(
                    &join(at, "scheme"),
                    format!("unknown inner weighting scheme `{other}`"),
                    Some("use `path` (the default), `centroid` or `factorial`".into()),
                );
                "path"
            }
        };
        let max_iterations = raw.max_iterations.unwrap_or(300);
        if max_iterations == 0 {
            self.err(
                &join(at, "max_iterations"),
                "`max_iterations` must be at least 1",
                Some("the default is 300".into()),
            );
        }
        let tolerance = raw.tolerance.unwrap_or(1e-10);
        if !(tolerance > 0.0 && tolerance < 1.0) {
            self.err(
                &join(at, "tolerance"),
                format!("`tolerance` {tolerance} is not between 0 and 1"),
                Some("the default is 1e-10 (the outer weights' total change between iterations)".into()),
            );
        }
        let replicates = raw.bootstrap.as_ref().and_then(|b| b.replicates).unwrap_or(500);
        if replicates == 1 || replicates > 100_000 {
            self.err(
                &join(at, "bootstrap.replicates"),
                format!("{replicates} bootstrap replicates cannot give intervals"),
                Some(
                    "use 0 (no bootstrap) or between 2 and 100000; 500 is the default, 5000 for published intervals"
                        .into(),
                ),
            );
        }
        let seed = raw.bootstrap.as_ref().and_then(|b| b.seed).unwrap_or(1);
        let target = match &raw.target {
            Some(t) => position(t).unwrap_or_else(|| {
                let near = closest(t, constructs.iter().map(|c| c.id.as_str()));
                self.err(
                    &join(at, "target"),
                    format!("`target` names `{t}`, which is not a construct"),
                    near.first().map(|n| format!("did you mean `{n}`?")),
                );
                0
            }),
            // Satisfaction is what most paths lead to, and it leads on (to
            // complaints, loyalty): of the constructs with drivers and
            // consequences, the one with the most drivers (the first of a tie);
            // without such a construct, the one with the most drivers.
            None => {
                let drivers = |j: usize| paths.iter().filter(|&&(_, t)| t == j).count();
                let leads = |j: usize| paths.iter().any(|&(f, _)| f == j);
                let most = |candidates: Vec<usize>| {
                    candidates
                        .into_iter()
                        .filter(|&j| drivers(j) > 0)
                        .rev()
                        .max_by_key(|&j| drivers(j))
                };
                most((0..constructs.len()).filter(|&j| leads(j)).collect())
                    .or_else(|| most((0..constructs.len()).collect()))
                    .unwrap_or(0)
            }
        };
        if raw.target.is_some() && !paths.iter().any(|&(_, t)| t == target) && self.diags.len() == before {
            self.err(
                &join(at, "target"),
                format!("`target` names `{}`, which no path leads to", constructs[target].id),
                Some("the target is a construct with drivers, such as satisfaction".into()),
            );
        }
        (self.diags.len() == before).then_some(Structural {
            constructs,
            paths,
            scheme: scheme.into(),
            max_iterations,
            tolerance,
            replicates,
            seed,
            target,
        })
    }
}

/// Canonical form of a segment code: numbers compare as numbers (`1` = `1.0`).
pub fn normalise_code(code: &str) -> String {
    let t = code.trim();
    match t.parse::<f64>() {
        Ok(x) if x.is_finite() => format!("{x}"),
        _ => t.to_string(),
    }
}

fn band_text(min: Option<f64>, max: Option<f64>) -> String {
    match (min, max) {
        (Some(a), Some(b)) => format!("{a}–{b}"),
        (Some(a), None) => format!("≥ {a}"),
        (None, Some(b)) => format!("≤ {b}"),
        (None, None) => "all".into(),
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// Maps a serde error (with its path and location) to a diagnostic.
pub(crate) fn type_error(e: &serde_yaml::Error, file: &Path, text: &str) -> Diagnostic {
    let loc = e.location().map(|l| Location {
        line: l.line(),
        column: l.column(),
        len: 1,
    });
    let msg = e.to_string();
    // serde_yaml_ng appends " at line L column C"; the location is shown separately.
    let msg = msg.split(" at line ").next().unwrap_or(&msg).to_string();
    // The internal name of `settings.decimals`, and its integers, in the reader's words.
    let msg = msg
        .replace("expected struct RawDecimals", "expected decimals per kind of figure")
        .replace("expected i64", "expected a whole number");
    let help = if msg.contains("expected decimals per kind of figure") {
        "give decimals per kind of figure, e.g. `decimals: {score: 1, share: 1, change: 1, coefficient: 3, p: 3}`"
    } else if msg.contains("Label") || msg.contains("untagged enum") {
        "a label is a text, or texts by language such as `{zh: 网络服务, en: Network service}`"
    } else if msg.contains("expected f64")
        || msg.contains("expected u32")
        || msg.contains("expected u64")
        || msg.contains("expected a whole number")
    {
        "write a plain number here, without quotes or units"
    } else if msg.contains("unknown variant") {
        "use one of the values listed"
    } else {
        "check the type of this value against docs/study-format.md"
    };
    Diagnostic::error(format!("wrong type: {msg}"), Some(file.to_path_buf()), loc, text).with_help(help)
}
