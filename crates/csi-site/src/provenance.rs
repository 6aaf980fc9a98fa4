//! What a published wave was built from, recorded as `<wave>/build.json`.
//!
//! A wave's record names its inputs by content hash (SHA-256): the study definition
//! *as it stood for that wave* (the definition with later waves removed, so adding a
//! wave does not change the record of earlier ones), the data file, the narrative
//! files, the theme, the csi version and every analysis plugin with its version,
//! library hash and options. The headline figures are kept too, so the study's
//! landing page shows what each wave published. Nothing in it depends on the time
//! or the machine: building again from the same inputs writes the same bytes.

use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use csi_study::Study;

/// SHA-256 of `bytes`, as lowercase hex.
pub fn sha256(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// SHA-256 of a file's content, read in blocks (data files can be large).
pub fn sha256_file(path: &Path) -> std::io::Result<String> {
    use std::io::Read;
    let mut f = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// A file and the hash of its content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileHash {
    /// The path as the study names it (relative to the study folder).
    pub path: String,
    /// SHA-256 of the content.
    pub sha256: String,
}

/// The inputs of a wave's pages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inputs {
    /// SHA-256 of the study definition as it stood for this wave (see the module
    /// documentation).
    pub definition_sha256: String,
    /// The wave's data file.
    pub data: FileHash,
    /// Narrative files shown on the wave (summary, wave notes).
    pub narrative: Vec<FileHash>,
    /// SHA-256 of the theme (templates, stylesheet, script).
    pub theme_sha256: String,
}

/// One analysis as it ran for the wave.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnalysisRecord {
    /// Analysis id in the study.
    pub id: String,
    /// Plugin name.
    pub plugin: String,
    /// Plugin version, when the plugin was found.
    pub version: Option<String>,
    /// SHA-256 of the plugin library, when it was found.
    pub library_sha256: Option<String>,
    /// The options it ran with (test settings, corrections).
    pub options: serde_json::Value,
}

/// The headline of a published wave.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Headline {
    /// Index score.
    pub score: Option<f64>,
    /// Lower confidence limit.
    pub ci_low: Option<f64>,
    /// Upper confidence limit.
    pub ci_high: Option<f64>,
    /// Base size.
    pub n: u64,
}

/// What a wave was built from: the content of `<wave>/build.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Provenance {
    /// Study id.
    pub study: String,
    /// Wave id.
    pub wave: String,
    /// The producing program and version (`csi 0.1.0`).
    pub generator: String,
    /// Content hashes of the inputs.
    pub inputs: Inputs,
    /// Statistical settings (confidence level, low-base threshold).
    pub settings: serde_json::Value,
    /// Analyses with their plugin versions and options.
    pub analyses: Vec<AnalysisRecord>,
    /// The published headline (filled in when the wave is rendered).
    #[serde(default)]
    pub headline: Option<Headline>,
    /// The pages of the wave, relative to its folder.
    #[serde(default)]
    pub pages: Vec<String>,
}

impl Provenance {
    /// What differs between the inputs recorded in `self` (published) and `now`,
    /// in words; empty when the wave would be built from the same inputs.
    pub fn changes(&self, now: &Provenance) -> Vec<String> {
        let mut out = Vec::new();
        if self.generator != now.generator {
            out.push(format!("program version ({} → {})", self.generator, now.generator));
        }
        if self.inputs.definition_sha256 != now.inputs.definition_sha256 {
            out.push("study definition".into());
        }
        if self.inputs.data != now.inputs.data {
            out.push(format!("data file {}", now.inputs.data.path));
        }
        if self.inputs.narrative != now.inputs.narrative {
            out.push("narrative".into());
        }
        if self.inputs.theme_sha256 != now.inputs.theme_sha256 {
            out.push("theme".into());
        }
        if self.settings != now.settings {
            out.push("settings".into());
        }
        if self.analyses != now.analyses {
            let ids: Vec<&str> = now
                .analyses
                .iter()
                .filter(|a| !self.analyses.contains(a))
                .map(|a| a.id.as_str())
                .chain(
                    self.analyses
                        .iter()
                        .filter(|a| !now.analyses.iter().any(|b| b.id == a.id))
                        .map(|a| a.id.as_str()),
                )
                .collect();
            out.push(format!("analyses ({})", ids.join(", ")));
        }
        out
    }
}

fn relative(study: &Study, p: &Path) -> String {
    p.strip_prefix(&study.dir)
        .unwrap_or(p)
        .to_string_lossy()
        .replace('\\', "/")
}

/// SHA-256 of the study definition as it stood for wave number `upto` (0-based):
/// the validated study with later waves (and their benchmark values and notes)
/// removed and paths made relative to the study folder.
pub fn definition_digest(study: &Study, upto: usize) -> String {
    let mut s = study.clone();
    let kept: Vec<String> = s.waves.iter().take(upto + 1).map(|w| w.id.clone()).collect();
    s.waves.truncate(upto + 1);
    s.file = "study.yaml".into();
    s.dir = ".".into();
    for w in &mut s.waves {
        w.data = w.data_as_written.clone().into();
    }
    for b in &mut s.benchmarks {
        b.values.retain(|w, _| kept.contains(w));
    }
    // The study summary is on the landing page only, not part of any wave.
    s.narrative.summary = None;
    s.narrative.waves = study
        .narrative
        .waves
        .iter()
        .filter(|(w, _)| kept.contains(w))
        .map(|(w, p)| (w.clone(), relative(study, p).into()))
        .collect();
    s.theme = study.theme.as_ref().map(|p| relative(study, p).into());
    sha256(&serde_json::to_vec(&s).expect("a study serialises"))
}

/// The narrative files shown on wave number `i` (its executive summary), hashed.
pub fn narrative_hashes(study: &Study, i: usize) -> std::io::Result<Vec<FileHash>> {
    let wave = &study.waves[i];
    let mut out = Vec::new();
    if let Some(p) = study.narrative.waves.get(&wave.id) {
        out.push(FileHash {
            path: relative(study, p),
            sha256: sha256_file(p)?,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_matches_the_standard_vector() {
        assert_eq!(
            sha256(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
