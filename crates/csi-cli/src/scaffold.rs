//! `csi new NAME`: a study folder that builds out of the box — a commented
//! `study.yaml`, made-up sample data of 200 respondents and narrative files.

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
    // Written next to the target and renamed: a failure leaves nothing half-made.
    let parent = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).with_context(|| format!("cannot create {}", parent.display()))?;
    let staging = tempfile::Builder::new()
        .prefix(".csi-new-")
        .tempdir_in(parent)
        .with_context(|| format!("cannot write in {}", parent.display()))?;
    let root = staging.path();
    std::fs::create_dir_all(root.join("data"))?;
    std::fs::create_dir_all(root.join("narrative"))?;
    std::fs::write(root.join("study.yaml"), yaml)?;
    std::fs::write(root.join("data/wave-2025.csv"), sample_data())?;
    std::fs::write(root.join("narrative/summary.md"), SUMMARY)?;
    std::fs::write(root.join("narrative/2025.md"), WAVE)?;
    if path.exists() {
        std::fs::remove_dir(path).with_context(|| format!("cannot replace the empty folder {}", path.display()))?;
    }
    let staged = staging.keep();
    std::fs::rename(&staged, path).with_context(|| format!("cannot create {}", path.display()))?;
    Ok(())
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
    }
}
