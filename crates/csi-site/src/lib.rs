//! # csi-site: results to a static HTML site
//!
//! The engine's results are turned into display-ready *page models* (numbers
//! formatted, labels chosen in the study's language, charts drawn as SVG), and the
//! page models are rendered through tera templates of a theme. Templates escape
//! everything by default; only HTML produced here (charts, narrative markdown) is
//! marked safe.
//!
//! Layout written into the site folder:
//!
//! ```text
//! index.html                        all studies of the site
//! assets/style.<hash>.css           the theme's stylesheet and version-switcher
//! assets/switcher.<hash>.js         script, fingerprinted (old ones stay)
//! <study>/index.html                landing page: index trend, every wave
//! <study>/versions.json             the waves and their pages (versions.js: same,
//! <study>/versions.js               loadable from file://) for the switcher
//! <study>/latest/<page>.html        forwards to the same page of the newest wave
//! <study>/<wave>/index.html         overview: headline, summary, tree, segments
//! <study>/<wave>/<analysis>.html    one page per analysis
//! <study>/<wave>/method.html        methodology appendix and build record
//! <study>/<wave>/downloads.html     every table as CSV, the wave as .xlsx
//! <study>/<wave>/data/*.csv         the tables (UTF-8 with BOM)
//! <study>/<wave>/<study>-<wave>.xlsx
//! <study>/<wave>/results.json       every number, machine-readable
//! <study>/<wave>/build.json         what the wave was built from (provenance)
//! ```
//!
//! **Published waves are frozen**: a wave that has a `build.json` is copied as it
//! is unless the caller asks to render it again, so adding a wave never rewrites
//! earlier ones. **Publishing is atomic per study**: everything is rendered into a
//! staging folder next to the output and swapped in by renaming, so a failed build
//! never leaves a half-written study over a good one.
#![deny(missing_docs)]

pub mod blocks;
pub mod chart;
pub mod downloads;
pub mod lock;
pub mod markdown;
mod pages;
pub mod provenance;
mod publish;
mod text;
mod theme;

use std::fs;
use std::path::{Path, PathBuf};

use csi_stats::Estimate;
use csi_study::Decimals;

pub use blocks::{render as render_blocks, AnalysisPage};
pub use chart::Palette;
pub use lock::SiteLock;
pub use provenance::Provenance;
pub use publish::{SiteWriter, WaveBuild};
pub use theme::{Brand, Theme};

/// Why a site could not be written.
#[derive(Debug, thiserror::Error)]
pub enum SiteError {
    /// A file could not be read or written (the cause is the error's source).
    #[error("{path}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A theme file is a symbolic link that leaves its theme folder.
    #[error("{path} is a symbolic link to {target}, outside its theme folder {folder}; copy the file into the theme folder instead")]
    Outside {
        /// The file as found in the theme folder.
        path: PathBuf,
        /// Where the link leads.
        target: PathBuf,
        /// The theme folder.
        folder: PathBuf,
    },
    /// A template failed to parse or render.
    #[error("template error: {0}")]
    Template(String),
    /// A chart could not be drawn.
    #[error("chart error: {0}")]
    Chart(String),
    /// A download (the workbook) could not be written.
    #[error("download error: {0}")]
    Download(String),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> SiteError + '_ {
    move |source| SiteError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// A confidence level as a percentage: 0.95 → `95%`, 0.995 → `99.5%`.
fn percent(level: f64) -> String {
    let p = (level * 1000.0).round() / 10.0;
    format!("{p}%")
}

/// `x` with the study's decimals `d`, never a negative zero.
fn fixed(x: f64, d: u8) -> String {
    let d = usize::from(d);
    let text = format!("{x:.d$}");
    match text.strip_prefix('-') {
        Some(rest) if rest.bytes().all(|c| c == b'0' || c == b'.') => rest.to_string(),
        _ => text,
    }
}

/// Formats a 0–100 score with the study's score decimals.
fn score(e: &Estimate, d: &Decimals) -> String {
    e.mean.map_or("–".into(), |m| fixed(m, d.score))
}

/// A score's interval, `[low, high]`.
fn interval(e: &Estimate, d: &Decimals) -> String {
    match (e.ci_low, e.ci_high) {
        (Some(l), Some(h)) => format!("[{},\u{a0}{}]", fixed(l, d.score), fixed(h, d.score)),
        _ => "–".into(),
    }
}

/// A 0–1 share as a percentage with the study's share decimals.
fn share(e: &Option<Estimate>, d: &Decimals) -> String {
    e.as_ref()
        .and_then(|e| e.mean)
        .map_or(String::new(), |m| format!("{}%", fixed(m * 100.0, d.share)))
}

/// A change with its sign and the study's change decimals ("±0.0" when it rounds
/// to zero).
fn signed(x: f64, d: &Decimals) -> String {
    let text = fixed(x.abs(), d.change);
    if text.bytes().all(|c| c == b'0' || c == b'.') {
        format!("±{text}")
    } else if x < 0.0 {
        format!("-{text}")
    } else {
        format!("+{text}")
    }
}

/// Adds a role, a title and a text alternative to an SVG chart.
pub(crate) fn accessible_svg(svg: &str, title: &str, alt: &str) -> String {
    let Some(end) = svg.find('>') else {
        return svg.to_string();
    };
    let (open, rest) = svg.split_at(end);
    format!(
        "{open} role=\"img\" aria-label=\"{}\"><title>{}</title><desc>{}</desc>{}",
        tera::escape_html(title),
        tera::escape_html(title),
        tera::escape_html(alt),
        &rest[1..]
    )
}

/// A chart in its three layouts: the wide one for screens, the narrow one for
/// phones (the stylesheet shows one of them by the page's width), and its printed
/// form, hidden on screens: the print layout, whole or in parts (a tall chart).
/// Each printed part keeps the print layout's scale, so a part narrower than
/// [`chart::PRINT_WIDTH`] px (a heat map of few columns) prints narrower than the
/// page rather than enlarged.
pub(crate) fn chart_layouts(wide: &str, narrow: &str, print: &[String], title: &str, alt: &str) -> String {
    let mut out = format!(
        "<div class=\"chart-wide\">{}</div><div class=\"chart-narrow\">{}</div><div class=\"chart-print\" aria-hidden=\"true\">",
        accessible_svg(wide, title, alt),
        accessible_svg(narrow, title, alt)
    );
    for svg in print {
        let width = svg
            .split("width=\"")
            .nth(1)
            .and_then(|w| w.split('"').next())
            .and_then(|w| w.parse::<f64>().ok())
            .unwrap_or(f64::from(chart::PRINT_WIDTH));
        let _ = std::fmt::Write::write_fmt(
            &mut out,
            format_args!(
                "<div class=\"chart-part\" style=\"width:{:.1}%\">{}</div>",
                (width / f64::from(chart::PRINT_WIDTH) * 100.0).min(100.0),
                accessible_svg(svg, title, alt)
            ),
        );
    }
    out.push_str("</div>");
    out
}

/// Writes `bytes` to `path` through a temporary file and a rename. The temporary
/// name is unique to the process and call, so studies published at the same time
/// (sharing the site index and assets) never write into each other's file.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), SiteError> {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = path.with_extension(format!("csi-tmp-{}-{n}", std::process::id()));
    fs::write(&tmp, bytes).map_err(io(&tmp))?;
    fs::rename(&tmp, path).map_err(io(path))
}
