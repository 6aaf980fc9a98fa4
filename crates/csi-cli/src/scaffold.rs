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
    if draft.tree_items == 0 {
        bail!(
            "{}: no rated item besides an overall one was found (csi import takes whole-number answers on a scale within 0-11, with at least 4 points, for items); write the study by hand (`csi new` shows one) — nothing was written. Guessed: {}",
            file.display(),
            draft.guesses.join("; ")
        );
    }
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

/// Where a new wave's entry goes in a study file's text: the line before which
/// it is inserted, and the indentation of the `waves:` items. `None` when the
/// text has no block-style `waves:` list at the top level.
fn waves_insertion(text: &str) -> Option<(usize, usize)> {
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.iter().position(|l| {
        l.trim_end() == "waves:" || (l.starts_with("waves:") && l["waves:".len()..].trim_start().starts_with('#'))
    })?;
    let mut end = lines.len();
    for (i, line) in lines.iter().enumerate().skip(start + 1) {
        let first = line.chars().next();
        if matches!(first, Some(c) if c != ' ' && c != '-' && c != '#' && c != '\t') {
            end = i;
            break;
        }
    }
    // Comments and blank lines at the end of the block introduce what follows.
    while end > start + 1 && (lines[end - 1].trim().is_empty() || lines[end - 1].trim_start().starts_with('#')) {
        end -= 1;
    }
    let indent = lines[start + 1..end]
        .iter()
        .find(|l| l.trim_start().starts_with("- "))
        .map(|l| l.len() - l.trim_start().len())?;
    Some((end, indent))
}

/// Adds the data file `file` to the study at `study` (its folder or its
/// study.yaml) as the wave `wave`: the file is copied under data/ and the wave's
/// entry written after the last wave, the rest of the text (comments, layout)
/// untouched; the study must load with it, or nothing is changed. Returns what
/// differs from the previous wave (columns the study reads that the file lacks,
/// variables added or dropped, labels changed).
pub fn add_wave(
    file: &Path,
    study: &Path,
    wave: &str,
    encoding: Option<&str>,
    sheet: Option<&str>,
) -> Result<Vec<String>> {
    let yaml_path = if study.is_dir() {
        study.join("study.yaml")
    } else {
        study.to_path_buf()
    };
    let dir = yaml_path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_path_buf();
    let before = csi_study::load(&yaml_path).map_err(|e| {
        let problems: Vec<String> = e.diagnostics().iter().map(|d| d.to_string()).collect();
        anyhow::anyhow!("{e}; fix the study before adding a wave:\n{}", problems.join("\n"))
    })?;
    if before.waves.iter().any(|w| w.id == wave) {
        bail!(
            "{} already has a wave `{wave}`; choose another id with `--wave` (nothing was changed)",
            yaml_path.display()
        );
    }
    let previous = before.waves.last().context("the study has no wave to follow")?;
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .context("name the data file to add")?;
    let data = format!("data/{name}");
    let target = dir.join(&data);
    let mut source = csi_data::DataFile::new(file);
    if let Some(label) = encoding {
        source = source
            .with_encoding(label)
            .with_context(|| format!("unknown text encoding `{label}`; e.g. gb18030, big5, utf-16le"))?;
    }
    source.sheet = sheet.map(str::to_string);
    let header = csi_data::read_header(&source).with_context(|| format!("cannot read {}", file.display()))?;
    let text = std::fs::read_to_string(&yaml_path).with_context(|| format!("cannot read {}", yaml_path.display()))?;
    let Some((at, indent)) = waves_insertion(&text) else {
        bail!(
            "{}: no `waves:` list written one wave per `- ` item was found; add the wave by hand: `- {{id: {wave}, data: {data}}}`",
            yaml_path.display()
        );
    };
    let pad = " ".repeat(indent);
    let quote = |t: &str| format!("\"{}\"", t.replace('\\', "\\\\").replace('"', "\\\""));
    let mut entry = format!("{pad}- id: {}\n{pad}  data: {}\n", quote(wave), quote(&data));
    if let Some(e) = source.encoding.filter(|e| e.name() != "UTF-8") {
        entry.push_str(&format!("{pad}  encoding: {}\n", quote(&e.name().to_lowercase())));
    }
    if let Some(sheet) = sheet {
        entry.push_str(&format!("{pad}  sheet: {}\n", quote(sheet)));
    }
    if let Some(w) = previous.weight.as_ref().filter(|w| header.contains(&w.name)) {
        entry.push_str(&format!("{pad}  weight: {}\n", quote(&w.name)));
    }
    let mut lines: Vec<&str> = text.lines().collect();
    lines.insert(at, entry.trim_end_matches('\n'));
    let mut new_text = lines.join("\n");
    new_text.push('\n');
    // The data in place and the new text next to the study, loaded, then renamed.
    let copied = if target.exists() {
        if std::fs::read(&target).ok() != std::fs::read(file).ok() {
            bail!(
                "{} exists and is another file; rename the file to add (nothing was changed)",
                target.display()
            );
        }
        false
    } else {
        std::fs::create_dir_all(target.parent().unwrap_or(&dir))?;
        std::fs::copy(file, &target).with_context(|| format!("cannot copy {}", file.display()))?;
        true
    };
    let staged = tempfile::Builder::new()
        .prefix(".study-")
        .suffix(".yaml")
        .tempfile_in(&dir)
        .with_context(|| format!("cannot write in {}", dir.display()))?;
    std::fs::write(staged.path(), &new_text)?;
    let after = match csi_study::load(staged.path()) {
        Ok(s) => s,
        Err(e) => {
            if copied {
                let _ = std::fs::remove_file(&target);
            }
            let problems: Vec<String> = e.diagnostics().iter().map(|d| d.to_string()).collect();
            bail!(
                "the study does not load with the new wave (nothing was changed): {e}\n{}",
                problems.join("\n")
            );
        }
    };
    staged
        .persist(&yaml_path)
        .with_context(|| format!("cannot write {}", yaml_path.display()))?;
    // What differs from the previous wave.
    let mut notes = Vec::new();
    let new_wave = after.waves.iter().find(|w| w.id == wave).expect("the wave just added");
    let lacking: Vec<String> = after
        .columns_for(new_wave)
        .iter()
        .map(|c| c.name.clone())
        .filter(|c| !header.contains(c))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    if !lacking.is_empty() {
        notes.push(format!(
            "the study reads column(s) the new file lacks: {}; rename them in the file, or list the waves each question was asked in with `waves: [...]` on its item",
            lacking.join(", ")
        ));
    }
    let earlier = csi_data::DataFile::of_wave(previous);
    if let Ok(old) = csi_data::read_header(&earlier) {
        let added: Vec<&String> = header.iter().filter(|h| !h.is_empty() && !old.contains(h)).collect();
        let dropped: Vec<&String> = old.iter().filter(|h| !h.is_empty() && !header.contains(h)).collect();
        let list = |v: &[&String]| v.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ");
        if !added.is_empty() {
            notes.push(format!(
                "new in this wave's file (not in wave {}): {}",
                previous.id,
                list(&added)
            ));
        }
        if !dropped.is_empty() {
            notes.push(format!(
                "in wave {}'s file but not in this one: {}",
                previous.id,
                list(&dropped)
            ));
        }
    }
    if let (Ok(Some(old)), Ok(Some(new))) = (csi_data::dictionary(&earlier), csi_data::dictionary(&source)) {
        for v in &new.variables {
            let Some(o) = old.variables.iter().find(|o| o.name == v.name) else {
                continue;
            };
            if o.label != v.label {
                notes.push(format!(
                    "`{}`: its label changed from {:?} to {:?}",
                    v.name,
                    o.label.as_deref().unwrap_or(""),
                    v.label.as_deref().unwrap_or("")
                ));
            }
            if o.value_labels != v.value_labels {
                notes.push(format!("`{}`: its value labels changed", v.name));
            }
            if o.missing != v.missing {
                notes.push(format!("`{}`: its declared missing values changed", v.name));
            }
        }
    }
    Ok(notes)
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

    #[test]
    fn a_wave_goes_after_the_last_one() {
        let text = "id: x\nwaves:\n  - id: a\n    data: a.csv\n\n  # second\n  - id: b\n    data: b.csv\n\n# The tree\ntree: []\n";
        assert_eq!(waves_insertion(text), Some((8, 2)));
        let text = "waves:\n- id: a\n  data: a.csv\n";
        assert_eq!(waves_insertion(text), Some((3, 0)));
        assert_eq!(waves_insertion("waves: [{id: a, data: a.csv}]\n"), None);
    }
}
