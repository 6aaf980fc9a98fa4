//! Site-wide settings: `site.yaml` in a folder `csi build` is given (default
//! `reports/`), holding who publishes the site — its title, the publisher's name and
//! logo. Study-level settings (confidence, precision, language) stay in each study.
//!
//! The file is untrusted input like a study: its logo must be an image inside the
//! folder of `site.yaml`, and every problem names the file, line and column.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use csi_study::Label;
use serde::Deserialize;

/// The name of the site settings file.
pub const FILE: &str = "site.yaml";

/// Image types a logo may have, and the largest logo accepted.
const LOGO_TYPES: [&str; 5] = ["svg", "png", "jpg", "jpeg", "webp"];
const LOGO_MAX_BYTES: u64 = 1 << 20;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    title: Option<Label>,
    publisher: Option<Label>,
    logo: Option<String>,
}

/// The first `site.yaml` directly in one of the folders of `paths` (or in
/// `reports/` when none is given).
pub fn find(paths: &[PathBuf]) -> Option<PathBuf> {
    let defaults = [PathBuf::from("reports")];
    let paths = if paths.is_empty() { &defaults[..] } else { paths };
    paths.iter().map(|p| p.join(FILE)).find(|f| f.is_file())
}

/// The branding of the site settings found for `paths`; none when there is no file.
pub fn load_for(paths: &[PathBuf]) -> Result<csi_site::Brand> {
    match find(paths) {
        Some(file) => load(&file),
        None => Ok(csi_site::Brand::default()),
    }
}

fn read(file: &Path) -> Result<Raw> {
    let text = std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    serde_yaml::from_str(&text).map_err(|e| {
        let at = e
            .location()
            .map_or(String::new(), |l| format!(":{}:{}", l.line(), l.column()));
        anyhow::anyhow!(
            "{}{at}: {e}\n  the site settings take `title`, `publisher` (a text, or texts by language such as `{{zh: 某调研公司, en: Acme Research}}`) and `logo` (an image file beside site.yaml)",
            file.display()
        )
    })
}

/// Reads and checks `file`.
pub fn load(file: &Path) -> Result<csi_site::Brand> {
    let raw = read(file)?;
    let logo = match &raw.logo {
        Some(name) => Some(logo(file, name)?),
        None => None,
    };
    Ok(csi_site::Brand {
        title: raw.title,
        publisher: raw.publisher,
        logo,
    })
}

/// The logo `name` of `file`: an image inside the settings' folder.
fn logo(file: &Path, name: &str) -> Result<(String, Vec<u8>)> {
    let dir = file.parent().unwrap_or(Path::new("."));
    let place = format!("{}: `logo: {name}`", file.display());
    let candidate = Path::new(name);
    if candidate.is_absolute()
        || candidate
            .components()
            .any(|c| matches!(c, std::path::Component::ParentDir))
    {
        bail!("{place} leaves the folder of site.yaml; put the logo beside site.yaml and name it relative to it");
    }
    let path = dir.join(candidate);
    let real = path
        .canonicalize()
        .with_context(|| format!("{place}: no such file {}", path.display()))?;
    let home = dir
        .canonicalize()
        .with_context(|| format!("cannot read {}", dir.display()))?;
    if !real.starts_with(&home) {
        bail!("{place} is a link to a file outside the folder of site.yaml; copy the logo into the folder");
    }
    let ext = real
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    if !LOGO_TYPES.contains(&ext.as_str()) {
        bail!(
            "{place} is not an image the site can show; use one of: {}",
            LOGO_TYPES.join(", ")
        );
    }
    let size = std::fs::metadata(&real)
        .with_context(|| format!("cannot read {}", real.display()))?
        .len();
    if size > LOGO_MAX_BYTES {
        bail!("{place} is {size} bytes; a logo must be at most 1 MiB");
    }
    let bytes = std::fs::read(&real).with_context(|| format!("cannot read {}", real.display()))?;
    Ok((ext, bytes))
}
