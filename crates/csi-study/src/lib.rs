//! # csi-study: what a study is
//!
//! A study is one YAML file (`study.yaml`) describing a customer-satisfaction survey
//! that is fielded wave after wave: its waves and data files, response scales and
//! missing codes, the indicator tree whose weighted scores make the index, overall
//! satisfaction items, segments, benchmarks, analyses and narrative files. The format
//! is documented in `docs/study-format.md`.
//!
//! [`load`] turns the file into a validated [`Study`] or into *every* problem it can
//! find, each a [`Diagnostic`] with file, line, column, the offending source line
//! and a suggested fix. Checks that need the data (do the named columns exist?) live
//! in the engine, which uses the [`ColumnRef`] locations kept in the model to report
//! them against the study file too.
//!
//! YAML is read with `serde_yaml_ng` (the maintained fork of `serde_yaml`, used under
//! that name) for typed values, and with `saphyr-parser`'s event stream for the
//! source map, since serde's `Value` forgets where things were.
#![deny(missing_docs)]

mod model;
mod raw;
mod source;
mod validate;

use std::path::Path;

pub use model::*;
pub use source::{closest, Diagnostic, Location, Severity, SourceMap};
pub use validate::normalise_code;

/// Why a study could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum StudyError {
    /// The file could not be read.
    #[error("cannot read study file {path}: {source}")]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The file was read but is not a valid study; every problem found is listed.
    #[error("{} problem(s) in {}", .0.iter().filter(|d| d.is_error()).count(), .0.first().and_then(|d| d.file.as_ref()).map(|p| p.display().to_string()).unwrap_or_default())]
    Invalid(Vec<Diagnostic>),
}

impl StudyError {
    /// The diagnostics, if the study was invalid.
    pub fn diagnostics(&self) -> &[Diagnostic] {
        match self {
            StudyError::Invalid(d) => d,
            StudyError::Io { .. } => &[],
        }
    }
}

/// Loads and validates the study file at `path`. Every path it names must lie
/// inside its folder, after resolving symbolic links.
pub fn load(path: &Path) -> Result<Study, StudyError> {
    load_allowing(path, &[])
}

/// [`load`], where the study may also read inside the folders `allowed` (what the
/// user passed with `--allow-path`, or a site's setting).
pub fn load_allowing(path: &Path, allowed: &[std::path::PathBuf]) -> Result<Study, StudyError> {
    let bytes = std::fs::read(path).map_err(|source| StudyError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let text = match String::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
            let valid = String::from_utf8_lossy(valid);
            let line = valid.matches('\n').count() + 1;
            let column = valid.rsplit('\n').next().map(|l| l.chars().count() + 1).unwrap_or(1);
            let d = Diagnostic::error(
                "the study file is not UTF-8 text",
                Some(path.to_path_buf()),
                Some(Location { line, column, len: 1 }),
                "",
            )
            .with_help("save the file as UTF-8 (GBK/GB2312 files can be converted with `iconv -f GBK -t UTF-8`)");
            return Err(StudyError::Invalid(vec![d]));
        }
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let dir = path.parent().unwrap_or(Path::new(".")).to_path_buf();
    parse_allowing(text, path, &dir, allowed)
}

/// Validates study `text` as if read from `file` in folder `dir`.
pub fn parse(text: &str, file: &Path, dir: &Path) -> Result<Study, StudyError> {
    parse_allowing(text, file, dir, &[])
}

/// [`parse`], where the study may also read inside the folders `allowed`.
pub fn parse_allowing(
    text: &str,
    file: &Path,
    dir: &Path,
    allowed: &[std::path::PathBuf],
) -> Result<Study, StudyError> {
    let home = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let roots = std::iter::once(home)
        .chain(allowed.iter().map(std::path::PathBuf::as_path))
        .filter_map(|d| d.canonicalize().ok())
        .collect();
    let map = SourceMap::build(text, file).map_err(|d| StudyError::Invalid(vec![*d]))?;
    let mut checker = validate::Checker {
        file,
        text,
        map,
        diags: Vec::new(),
        wave_ids: Vec::new(),
        roots,
        taken: Vec::new(),
        from_data: Default::default(),
    };
    let doc: serde_yaml::Value = match serde_yaml::from_str(text) {
        Ok(v) => v,
        Err(e) => return Err(StudyError::Invalid(vec![validate::type_error(&e, file, text)])),
    };
    checker.unknown_keys(&doc);
    match serde_yaml::from_str::<raw::RawStudy>(text) {
        Ok(raw) => {
            let study = checker.study(raw, dir);
            if checker.diags.iter().any(Diagnostic::is_error) {
                Err(StudyError::Invalid(checker.diags))
            } else {
                Ok(study)
            }
        }
        Err(e) => {
            checker.diags.push(validate::type_error(&e, file, text));
            Err(StudyError::Invalid(checker.diags))
        }
    }
}

impl Study {
    /// A diagnostic about this study file at `at` (for checks made after loading,
    /// such as columns missing from a data file).
    pub fn diagnostic(&self, message: impl Into<String>, at: Option<Location>) -> Diagnostic {
        let text = std::fs::read_to_string(&self.file).unwrap_or_default();
        Diagnostic::error(
            message,
            Some(self.file.clone()),
            at,
            text.strip_prefix('\u{feff}').unwrap_or(&text),
        )
    }
}
