//! `csi new NAME`: a study folder that builds out of the box — a commented
//! `study.yaml`, made-up sample data of 200 respondents and narrative files; and
//! `csi import FILE`: a study folder drafted from a survey data file.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{bail, Context, Result};

const STUDY: &str = include_str!("../scaffold/study.yaml");
const SUMMARY: &str = include_str!("../scaffold/narrative/summary.md");
const WAVE: &str = include_str!("../scaffold/narrative/2025.md");

/// A small deterministic generator (64-bit LCG), so every new study gets the same
/// sample data.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Roughly normal: the sum of four uniforms, centred, sd ≈ 1.
    fn normal(&mut self) -> f64 {
        ((0..4).map(|_| self.next()).sum::<f64>() - 2.0) * 1.732
    }
}

/// The sample answers: four indicators with performance and expectation, overall
/// satisfaction driven mostly by reliability and speed, two plans, weights.
fn sample_data() -> String {
    let mut rng = Lcg(20_251_001);
    let mut out = String::from(
        "id,weight,plan,p_reliability,e_reliability,p_ease,e_ease,p_staff,e_staff,p_speed,e_speed,overall\n",
    );
    let rating = |x: f64| x.round().clamp(1.0, 10.0);
    for id in 1..=200 {
        let premium = rng.next() < 0.35;
        let mood = rng.normal();
        let weight = 0.6 + rng.next();
        let base = [7.6, 8.0, 8.3, 6.4];
        let expect = [8.8, 8.0, 7.9, 8.6];
        let mut p = [0.0; 4];
        let mut cells = Vec::new();
        for k in 0..4 {
            let shift = if premium && k == 3 { -0.9 } else { 0.0 };
            p[k] = rating(base[k] + shift + 0.9 * mood + 0.9 * rng.normal());
            let e = rating(expect[k] + 0.8 * rng.normal());
            // About 3% answer "don't know" (99).
            let shown = if rng.next() < 0.03 { 99.0 } else { p[k] };
            cells.push(format!("{shown}"));
            cells.push(format!("{e}"));
        }
        let overall = rating(0.45 * p[0] + 0.1 * p[1] + 0.1 * p[2] + 0.35 * p[3] + 0.7 * rng.normal() + 0.3);
        let _ = writeln!(
            out,
            "{id},{weight:.3},{},{},{overall}",
            if premium { 2 } else { 1 },
            cells.join(",")
        );
    }
    out
}

/// A study id from a folder name: letters, digits, `_`, `-`, `.`; others become `-`.
fn study_id(name: &str) -> String {
    let id: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "_-.".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect();
    let id = id.trim_matches('-').to_string();
    if id.is_empty() {
        "study".into()
    } else {
        id
    }
}

/// Writes a new study into the folder `path` (which must not exist or be empty),
/// titled `title` (default: the folder name).
pub fn new_study(path: &Path, title: Option<&str>) -> Result<()> {
    if path.exists() && std::fs::read_dir(path).map(|mut d| d.next().is_some()).unwrap_or(true) {
        bail!(
            "`{}` already exists and is not empty; choose a new folder name (nothing was written)",
            path.display()
        );
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .context("name the new study's folder, e.g. `csi new reports/acme-2025`")?;
    let id = study_id(&name);
    let title = title.unwrap_or(&name);
    let quoted = format!("\"{}\"", title.replace('\\', "\\\\").replace('"', "\\\""));
    let yaml = STUDY
        .replace("{id}", &id)
        .replace("{title}", &quoted)
        .replace("{dir}", &path.display().to_string());
    publish_folder(path, |root| {
        std::fs::create_dir_all(root.join("data"))?;
        std::fs::create_dir_all(root.join("narrative"))?;
        std::fs::write(root.join("study.yaml"), &yaml)?;
        std::fs::write(root.join("data/wave-2025.csv"), sample_data())?;
        std::fs::write(root.join("narrative/summary.md"), SUMMARY)?;
        std::fs::write(root.join("narrative/2025.md"), WAVE)?;
        Ok(())
    })
}

/// Writes a folder at `path` with `fill`, next to it first and renamed into
/// place, so a failure leaves nothing half-made.
fn publish_folder(path: &Path, fill: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    let parent = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).with_context(|| format!("cannot create {}", parent.display()))?;
    let staging = tempfile::Builder::new()
        .prefix(".csi-new-")
        .tempdir_in(parent)
        .with_context(|| format!("cannot write in {}", parent.display()))?;
    fill(staging.path())?;
    if path.exists() {
        std::fs::remove_dir(path).with_context(|| format!("cannot replace the empty folder {}", path.display()))?;
    }
    let staged = staging.keep();
    std::fs::rename(&staged, path).with_context(|| format!("cannot create {}", path.display()))?;
    Ok(())
}

/// The wave id a data file's name suggests: a year in it (`survey_2024.sav`),
/// else `1`.
fn wave_of(stem: &str) -> String {
    let digits: Vec<char> = stem.chars().collect();
    for i in 0..digits.len().saturating_sub(3) {
        let run: String = digits[i..i + 4].iter().collect();
        let before = i == 0 || !digits[i - 1].is_ascii_digit();
        let after = digits.get(i + 4).is_none_or(|c| !c.is_ascii_digit());
        if before
            && after
            && (run.starts_with("19") || run.starts_with("20"))
            && run.chars().all(|c| c.is_ascii_digit())
        {
            return run;
        }
    }
    "1".into()
}

/// Drafts a study folder from the data file `file` at `out` (default: the
/// file's name without extension, in the current folder): study.yaml and the data
/// under data/, the file read in `encoding` (a CSV file) or from `sheet` (a
/// workbook; default the sheet with the most columns). Returns the folder and what
/// was guessed.
pub fn import(
    file: &Path,
    out: Option<&Path>,
    encoding: Option<&str>,
    sheet: Option<&str>,
) -> Result<(std::path::PathBuf, Vec<String>)> {
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .context("name the data file to import, e.g. `csi import survey.sav`")?;
    let stem = file
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let dir = out.map_or_else(|| Path::new(&stem).to_path_buf(), Path::to_path_buf);
    if dir.exists() && std::fs::read_dir(&dir).map(|mut d| d.next().is_some()).unwrap_or(true) {
        bail!(
            "`{}` already exists and is not empty; choose another folder with `--out DIR` (nothing was written)",
            dir.display()
        );
    }
    let cannot = || format!("cannot read {} to draft a study from it", file.display());
    // A workbook's answers are on its sheet with the most named columns.
    let mut source = csi_data::DataFile::new(file);
    if let Some(label) = encoding {
        source = source
            .with_encoding(label)
            .with_context(|| format!("unknown text encoding `{label}`; e.g. gb18030, big5, utf-16le"))?;
    }
    let sheets = csi_data::sheets(&source).with_context(cannot)?.unwrap_or_default();
    if let Some(sheet) = sheet {
        source.sheet = Some(sheet.to_string());
    } else if sheets.len() > 1 {
        let width = |sheet: &String| {
            let on = csi_data::DataFile {
                sheet: Some(sheet.clone()),
                ..source.clone()
            };
            csi_data::read_header(&on).map_or(0, |h| h.iter().filter(|n| !n.is_empty()).count())
        };
        let best = sheets
            .iter()
            .max_by_key(|s| (width(s), std::cmp::Reverse(s.as_str())))
            .cloned();
        if best.as_ref() != sheets.first() {
            source.sheet = best;
        }
    }
    let survey = csi_import::profile(&source).with_context(cannot)?;
    let id = study_id(
        dir.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .as_deref()
            .unwrap_or(&stem),
    );
    let data = format!("data/{name}");
    let wave = wave_of(&stem);
    let draft = csi_import::draft(
        &survey,
        &id,
        &stem,
        &csi_import::WaveSource {
            id: &wave,
            data: &data,
            sheet: source.sheet.as_deref(),
            encoding: source.encoding.map(|e| e.name()),
        },
    );
    publish_folder(&dir, |root| {
        std::fs::create_dir_all(root.join("data"))?;
        std::fs::copy(file, root.join(&data)).with_context(|| format!("cannot copy {}", file.display()))?;
        std::fs::write(root.join("study.yaml"), &draft.yaml)?;
        // The draft must load as written.
        csi_study::load(&root.join("study.yaml")).map(|_| ()).map_err(|e| {
            let problems: Vec<String> = e.diagnostics().iter().map(|d| d.to_string()).collect();
            anyhow::anyhow!(
                "the drafted study.yaml does not load (please report this): {e}\n{}\n--- the draft:\n{}",
                problems.join("\n"),
                draft.yaml
            )
        })
    })?;
    Ok((dir, draft.guesses))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_safe_and_data_is_reproducible() {
        assert_eq!(study_id("acme 2025!"), "acme-2025");
        assert_eq!(study_id("满意度"), "study");
        assert_eq!(sample_data(), sample_data());
        assert_eq!(sample_data().lines().count(), 201);
        assert_eq!(wave_of("survey_2024"), "2024");
        assert_eq!(wave_of("wave2"), "1");
        assert_eq!(wave_of("12024x"), "1");
    }
}
