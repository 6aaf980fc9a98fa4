//! Source locations for YAML documents and located diagnostics.
//!
//! serde tells us *what* is wrong with a study; this module tells us *where*. A
//! [`SourceMap`] is built from the YAML event stream (saphyr-parser) and maps every
//! key path (`tree[0].children[3].column`) to the span of its key and of its value.
//! Validation reports problems by path, and [`Diagnostic`] renders them with
//! `file:line:column`, the source line and a caret under the offending text.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use saphyr_parser::{Event, Parser, Span};

/// A position in a source file (1-based line and column, in characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Location {
    /// 1-based line.
    pub line: usize,
    /// 1-based column, counted in characters.
    pub column: usize,
    /// Number of characters to underline (at least 1).
    pub len: usize,
}

impl Location {
    fn from_span(span: &Span) -> Self {
        let len = if span.end.line() == span.start.line() {
            span.end.col().saturating_sub(span.start.col()).max(1)
        } else {
            1
        };
        Self {
            line: span.start.line(),
            column: span.start.col() + 1,
            len,
        }
    }
}

#[derive(Debug, Clone, Copy, Default)]
struct Entry {
    key: Option<Location>,
    value: Option<Location>,
}

/// Maps key paths of a YAML document to source locations.
#[derive(Debug, Clone, Default)]
pub struct SourceMap {
    entries: HashMap<String, Entry>,
}

enum Frame {
    Mapping {
        path: String,
        key: Option<(String, Location)>,
    },
    Sequence {
        path: String,
        index: usize,
    },
}

fn child_path(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent}.{key}")
    }
}

impl SourceMap {
    /// Parses `text` as YAML and records the location of every key and value.
    /// A syntax error is returned as a [`Diagnostic`] located where the parser
    /// stopped.
    pub fn build(text: &str, file: &Path) -> Result<Self, Box<Diagnostic>> {
        let mut map = SourceMap::default();
        let mut stack: Vec<Frame> = Vec::new();
        for item in Parser::new_from_str(text) {
            let (event, span) = item.map_err(|e| {
                let m = e.marker();
                let info = e.info();
                // The parser notices an unclosed bracket or quote only where the
                // text stops making sense, often lines later (or at the end of the
                // file); point at where it was opened instead.
                let bracket = info.contains("flow sequence") || info.contains("flow mapping");
                let quote = info.contains("quoted scalar");
                if bracket || quote {
                    if let Some((opener, at)) = unclosed(text, m.line()) {
                        let is_quote = matches!(opener, '"' | '\'');
                        if (bracket && !is_quote) || (quote && is_quote) {
                            let close = match opener {
                                '[' => ']',
                                '{' => '}',
                                other => other,
                            };
                            return Box::new(
                                Diagnostic::error(
                                    format!("this `{opener}` is never closed"),
                                    Some(file.to_path_buf()),
                                    Some(at),
                                    text,
                                )
                                .with_help(format!("close it with `{close}` on the same line")),
                            );
                        }
                    }
                }
                Box::new(Diagnostic::error(
                    format!("this is not valid YAML: {info}"),
                    Some(file.to_path_buf()),
                    Some(Location {
                        line: m.line(),
                        column: m.col() + 1,
                        len: 1,
                    }),
                    text,
                )
                .with_help("check the indentation and quoting around this line; values containing ': ' or starting with special characters need quotes"))
            })?;
            let here = Location::from_span(&span);
            let opens = matches!(event, Event::MappingStart(..) | Event::SequenceStart(..));
            let is_value = matches!(
                event,
                Event::Scalar(..) | Event::Alias(..) | Event::MappingStart(..) | Event::SequenceStart(..)
            );
            if is_value {
                // Decide whether this node is a mapping key or a value, and its path.
                let mut value_path = None;
                match stack.last_mut() {
                    Some(Frame::Mapping { key, path }) if key.is_none() => {
                        let name = match &event {
                            Event::Scalar(v, ..) => v.to_string(),
                            _ => "?".to_string(),
                        };
                        let p = child_path(path, &name);
                        let entry = map.entries.entry(p).or_default();
                        if let (Some(first), false) = (entry.key, opens) {
                            return Err(Box::new(
                                Diagnostic::error(
                                    format!("duplicate key `{name}`: it is already set on line {}", first.line),
                                    Some(file.to_path_buf()),
                                    Some(here),
                                    text,
                                )
                                .with_help(
                                    "keys must be unique within a mapping; remove one of the two, or merge them",
                                ),
                            ));
                        }
                        entry.key = Some(here);
                        *key = Some((name, here));
                        if opens {
                            // A complex key: track its contents under a throwaway path.
                            value_path = Some(String::from("?complex-key"));
                        }
                    }
                    Some(Frame::Mapping { key, path }) => {
                        let (name, _) = key.clone().expect("key present");
                        value_path = Some(child_path(path, &name));
                    }
                    Some(Frame::Sequence { path, index }) => {
                        value_path = Some(format!("{path}[{index}]"));
                    }
                    None => value_path = Some(String::new()),
                }
                if let Some(p) = value_path {
                    map.entries.entry(p.clone()).or_default().value = Some(here);
                    if opens {
                        stack.push(match event {
                            Event::MappingStart(..) => Frame::Mapping { path: p, key: None },
                            _ => Frame::Sequence { path: p, index: 0 },
                        });
                    } else {
                        Self::value_done(&mut stack);
                    }
                }
            } else if matches!(event, Event::MappingEnd | Event::SequenceEnd) {
                stack.pop();
                Self::value_done(&mut stack);
            }
        }
        Ok(map)
    }

    fn value_done(stack: &mut [Frame]) {
        match stack.last_mut() {
            Some(Frame::Mapping { key, .. }) => *key = None,
            Some(Frame::Sequence { index, .. }) => *index += 1,
            None => {}
        }
    }

    /// The location of the value at `path`, or of its nearest ancestor present in
    /// the document (so a missing key is reported at the mapping that lacks it).
    pub fn value(&self, path: &str) -> Option<Location> {
        self.find(path, |e| e.value.or(e.key))
    }

    /// The location of the key at `path` (falls back like [`SourceMap::value`]).
    pub fn key(&self, path: &str) -> Option<Location> {
        self.find(path, |e| e.key.or(e.value))
    }

    fn find(&self, path: &str, pick: impl Fn(&Entry) -> Option<Location>) -> Option<Location> {
        let mut p = path.to_string();
        loop {
            if let Some(loc) = self.entries.get(&p).and_then(&pick) {
                return Some(loc);
            }
            if p.is_empty() {
                return None;
            }
            p = parent_path(&p);
        }
    }
}

/// The innermost flow bracket (`[`, `{`) or quote still open at the end of line
/// `upto` (1-based) of `text`, with where it was opened. Reads YAML's lexical
/// structure only: comments, quoted text (with `\"` and `''` escapes), and
/// brackets that start a flow collection (after a key's `:`, a list's `-`, a comma,
/// another bracket, or at the start of a line).
fn unclosed(text: &str, upto: usize) -> Option<(char, Location)> {
    let mut open: Vec<(char, Location)> = Vec::new();
    let mut quote: Option<(char, Location)> = None;
    for (i, line) in text.lines().enumerate().take(upto) {
        let number = i + 1;
        let chars: Vec<char> = line.chars().collect();
        let mut c = 0;
        while c < chars.len() {
            let ch = chars[c];
            let at = Location {
                line: number,
                column: c + 1,
                len: 1,
            };
            if let Some((q, _)) = quote {
                if q == '"' && ch == '\\' {
                    c += 2;
                    continue;
                }
                if ch == q {
                    if q == '\'' && chars.get(c + 1) == Some(&'\'') {
                        c += 2;
                        continue;
                    }
                    quote = None;
                }
                c += 1;
                continue;
            }
            let before = chars[..c].iter().rev().find(|x| !x.is_whitespace()).copied();
            let starts_node = matches!(before, None | Some(':' | '-' | ',' | '[' | '{' | '?'));
            match ch {
                '#' if c == 0 || chars[c - 1].is_whitespace() => break,
                '"' | '\'' if starts_node => quote = Some((ch, at)),
                '[' | '{' if starts_node || !open.is_empty() => open.push((ch, at)),
                ']' | '}' if !open.is_empty() => {
                    open.pop();
                }
                _ => {}
            }
            c += 1;
        }
    }
    quote.or_else(|| open.pop())
}

/// The path one level up: `a.b[2]` → `a.b`, `a.b` → `a`, `a` → ``.
pub fn parent_path(path: &str) -> String {
    let cut = path.rfind(['.', '[']).unwrap_or(0);
    path[..cut].to_string()
}

/// How serious a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// The study cannot be built until this is fixed.
    Error,
    /// The study builds, but a person should look.
    Warning,
}

/// A problem found in a study, located in its source file where possible.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// What is wrong, in one sentence.
    pub message: String,
    /// The file the problem is in.
    pub file: Option<PathBuf>,
    /// Where in the file.
    pub location: Option<Location>,
    /// The source line at `location`, for display.
    pub source_line: Option<String>,
    /// How to fix it.
    pub help: Option<String>,
}

impl Diagnostic {
    /// An error at `location` of `file`, whose text is `text` (for the source line).
    pub fn error(message: impl Into<String>, file: Option<PathBuf>, location: Option<Location>, text: &str) -> Self {
        let source_line = location.and_then(|l| text.lines().nth(l.line.saturating_sub(1)).map(str::to_string));
        Self {
            severity: Severity::Error,
            message: message.into(),
            file,
            location,
            source_line,
            help: None,
        }
    }

    /// Adds a suggestion for the fix.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Turns the diagnostic into a warning.
    pub fn as_warning(mut self) -> Self {
        self.severity = Severity::Warning;
        self
    }

    /// Whether this is an error (as opposed to a warning).
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        writeln!(f, "{kind}: {}", self.message)?;
        if let Some(file) = &self.file {
            match self.location {
                Some(l) => writeln!(f, "  --> {}:{}:{}", file.display(), l.line, l.column)?,
                None => writeln!(f, "  --> {}", file.display())?,
            }
        }
        if let (Some(l), Some(src)) = (self.location, &self.source_line) {
            let gutter = l.line.to_string().len();
            writeln!(f, "{:gutter$} |", "")?;
            writeln!(f, "{} | {}", l.line, src)?;
            // Columns count characters; pad with the same characters' display width
            // approximated by one space each (tabs kept as tabs).
            let pad: String = src
                .chars()
                .take(l.column.saturating_sub(1))
                .map(|c| {
                    if c == '\t' {
                        '\t'
                    } else if c.is_ascii() {
                        ' '
                    } else {
                        '　'
                    }
                })
                .collect();
            writeln!(f, "{:gutter$} | {}{}", "", pad, "^".repeat(l.len.clamp(1, 80)))?;
        }
        if let Some(help) = &self.help {
            writeln!(f, "  = help: {help}")?;
        }
        Ok(())
    }
}

/// The candidates closest to `wanted`, for "did you mean" suggestions: those within
/// a small edit distance, containing it, or very similar (Jaro–Winkler ≥ 0.85);
/// of these only the ones at the smallest edit distance, at most three.
pub fn closest<'a>(wanted: &str, candidates: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
    let lw = wanted.to_lowercase();
    let mut scored: Vec<(usize, f64, &str)> = candidates
        .into_iter()
        .filter_map(|c| {
            let lc = c.to_lowercase();
            let lev = strsim::levenshtein(&lw, &lc);
            let jw = strsim::jaro_winkler(&lw, &lc);
            let contains = !lc.is_empty() && (lc.contains(&lw) || lw.contains(&lc));
            (lev <= 2 || contains || jw >= 0.85).then_some((lev, jw, c))
        })
        .collect();
    let Some(best) = scored.iter().map(|s| s.0).min() else {
        return Vec::new();
    };
    scored.retain(|s| s.0 == best);
    scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.2.cmp(b.2)));
    scored.into_iter().take(3).map(|s| s.2).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "id: demo\nwaves:\n  - id: w1\n    data: a.csv\n  - id: w2\ntree:\n  - id: net\n    children:\n      - id: cov\n        column: q1\n";

    #[test]
    fn paths_map_to_lines() {
        let m = SourceMap::build(DOC, Path::new("s.yaml")).unwrap();
        assert_eq!(m.value("id").unwrap().line, 1);
        assert_eq!(m.value("waves[1].id").unwrap().line, 5);
        let col = m.value("tree[0].children[0].column").unwrap();
        assert_eq!((col.line, col.column, col.len), (10, 17, 2));
        assert_eq!(m.key("tree[0].children[0].column").unwrap().column, 9);
        // A missing key falls back to the nearest ancestor.
        assert_eq!(m.value("waves[1].data").unwrap().line, 5);
    }

    #[test]
    fn syntax_errors_are_located() {
        let err = SourceMap::build("id: a\nwaves: [1, 2\n", Path::new("s.yaml")).unwrap_err();
        assert!(err.location.is_some());
        assert!(err.to_string().contains("s.yaml:"));
    }

    #[test]
    fn suggestions() {
        assert_eq!(closest("colum", ["column", "children", "label"]), vec!["column"]);
        assert!(closest("zzz", ["column", "label"]).is_empty());
    }
}
