//! Publishing: staging a study's folder, keeping published waves as they are, and
//! swapping the result in atomically.

use std::fs;
use std::path::{Path, PathBuf};

use csi_engine::{WaveResult, INDEX_ID};
use csi_study::Study;

use crate::pages::{self, WavePages};
use crate::provenance::{Headline, Provenance};
use crate::{io, write_atomic, AnalysisPage, SiteError, Theme};

/// What to do with one wave of a study.
#[derive(Debug, Clone)]
pub struct WaveBuild {
    /// What the wave is built from (written as `<wave>/build.json`).
    pub provenance: Provenance,
    /// The analysis outcomes to render, or `None` to keep the published pages of
    /// the wave exactly as they are.
    pub pages: Option<Vec<AnalysisPage>>,
}

/// Renders and publishes studies into one site folder.
pub struct SiteWriter {
    out: PathBuf,
    generator: String,
}

/// Copies the folder `from` to `to`, recursively, byte for byte.
fn copy_tree(from: &Path, to: &Path) -> Result<(), SiteError> {
    fs::create_dir_all(to).map_err(io(to))?;
    for entry in fs::read_dir(from).map_err(io(from))? {
        let entry = entry.map_err(io(from))?;
        let src = entry.path();
        let dst = to.join(entry.file_name());
        if entry.file_type().map_err(io(&src))?.is_dir() {
            copy_tree(&src, &dst)?;
        } else {
            fs::copy(&src, &dst).map_err(io(&src))?;
        }
    }
    Ok(())
}

impl SiteWriter {
    /// A writer for the site folder `out`; `generator` names the producing program
    /// and version (`csi 0.1.0`), printed in page footers and recorded per wave.
    pub fn new(out: &Path, generator: impl Into<String>) -> Self {
        Self {
            out: out.to_path_buf(),
            generator: generator.into(),
        }
    }

    /// The site folder.
    pub fn out(&self) -> &Path {
        &self.out
    }

    /// The record of a published wave (`<out>/<study>/<wave>/build.json`), if the
    /// wave has been published and its record can be read.
    pub fn published(&self, study: &str, wave: &str) -> Option<Provenance> {
        let path = self.out.join(study).join(wave).join("build.json");
        let text = fs::read_to_string(path).ok()?;
        serde_json::from_str(&text).ok()
    }

    /// Publishes `study`: renders the waves whose [`WaveBuild::pages`] are given,
    /// keeps the others as published, writes the study's landing page, version list
    /// and `latest/`, and swaps the study folder in atomically (a failure leaves the
    /// previously published folder as it was). Then refreshes the site index.
    /// Hold the site's [`crate::lock::SiteLock`] from reading [`SiteWriter::published`]
    /// until this returns, so that no other build interleaves.
    /// `results[i]` and `builds[i]` belong to `study.waves[i]`.
    pub fn publish(
        &self,
        study: &Study,
        theme: &Theme,
        results: &[WaveResult],
        builds: &[WaveBuild],
    ) -> Result<PathBuf, SiteError> {
        fs::create_dir_all(&self.out).map_err(io(&self.out))?;
        // Staging folders are unique per build; the caller holds the site's
        // [`crate::lock::SiteLock`], so any other staging folder of this study was
        // left by a build that was killed, and goes.
        // `~` cannot occur in a study id, so `acme~` never matches `acme-2~`.
        let prefix = format!(".csi-staging-{}~", study.id);
        for entry in fs::read_dir(&self.out).map_err(io(&self.out))?.flatten() {
            if entry.file_name().to_string_lossy().starts_with(&prefix) {
                let _ = fs::remove_dir_all(entry.path());
            }
        }
        let staging = self.out.join(format!("{prefix}{}", std::process::id()));
        let written = self.stage(study, theme, results, builds, &staging);
        if let Err(e) = written {
            let _ = fs::remove_dir_all(&staging);
            // A site folder this call created stays absent (removing fails harmlessly
            // when anything else is in it).
            let _ = fs::remove_dir(&self.out);
            return Err(e);
        }
        self.write_assets(theme)?;
        let target = self.out.join(&study.id);
        swap_in(&staging, &target, &self.out.join(format!(".csi-old-{}", study.id)))?;
        self.write_index(theme)?;
        Ok(target)
    }

    fn stage(
        &self,
        study: &Study,
        theme: &Theme,
        results: &[WaveResult],
        builds: &[WaveBuild],
        dir: &Path,
    ) -> Result<(), SiteError> {
        fs::create_dir_all(dir).map_err(io(dir))?;
        let published = self.out.join(&study.id);
        let mut records = Vec::new();
        for (i, build) in builds.iter().enumerate() {
            let wave = &study.waves[i];
            let wdir = dir.join(&wave.id);
            let record = match &build.pages {
                Some(analyses) => {
                    let mut record = build.provenance.clone();
                    let head = &results[i].series(INDEX_ID).expect("index series").values[0].score;
                    record.headline = Some(Headline {
                        score: head.mean,
                        ci_low: head.ci_low,
                        ci_high: head.ci_high,
                        n: head.n,
                    });
                    let wave_pages = WavePages {
                        study,
                        theme,
                        generator: &self.generator,
                        results,
                        index: i,
                        analyses,
                    };
                    record.pages = wave_pages.page_files();
                    wave_pages.write(&wdir, &record)?;
                    record
                }
                None => {
                    let from = published.join(&wave.id);
                    copy_tree(&from, &wdir)?;
                    self.published(&study.id, &wave.id).ok_or_else(|| SiteError::Io {
                        path: from.join("build.json"),
                        source: std::io::Error::new(
                            std::io::ErrorKind::InvalidData,
                            "the published wave has no readable build record; rebuild it",
                        ),
                    })?
                }
            };
            records.push(record);
        }
        pages::write_study_pages(study, theme, &self.generator, &records, dir)
    }

    fn write_assets(&self, theme: &Theme) -> Result<(), SiteError> {
        let dir = self.out.join("assets");
        fs::create_dir_all(&dir).map_err(io(&dir))?;
        // Fingerprinted names: an existing file has this content already, and files
        // of other themes or versions stay for the pages that use them.
        for (name, body) in theme.assets() {
            let path = dir.join(name);
            if !path.exists() {
                write_atomic(&path, body)?;
            }
        }
        Ok(())
    }

    /// Rewrites `<out>/index.html` listing every study folder that has a `study.json`.
    pub fn write_index(&self, theme: &Theme) -> Result<(), SiteError> {
        let mut studies = Vec::new();
        let mut entries: Vec<PathBuf> = fs::read_dir(&self.out)
            .map_err(io(&self.out))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        entries.sort();
        for dir in entries {
            let meta = dir.join("study.json");
            if dir.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.')) || !meta.is_file() {
                continue;
            }
            let v: serde_json::Value = match fs::read_to_string(&meta)
                .ok()
                .and_then(|t| serde_json::from_str(&t).ok())
            {
                Some(v) => v,
                None => continue,
            };
            studies.push(v);
        }
        let html = pages::site_index(theme, &self.generator, &studies)?;
        write_atomic(&self.out.join("index.html"), html.as_bytes())?;
        self.write_assets(theme)
    }
}

/// Replaces `target` by `staging` with renames only; `old` holds the previous copy
/// for the moment between the two renames. A run that stopped in that moment left
/// only `old`, which is put back first.
fn swap_in(staging: &Path, target: &Path, old: &Path) -> Result<(), SiteError> {
    if old.exists() {
        if target.exists() {
            fs::remove_dir_all(old).map_err(io(old))?;
        } else {
            fs::rename(old, target).map_err(io(old))?;
        }
    }
    if target.exists() {
        fs::rename(target, old).map_err(io(target))?;
    }
    if let Err(e) = fs::rename(staging, target) {
        if old.exists() {
            let _ = fs::rename(old, target);
        }
        return Err(SiteError::Io {
            path: staging.to_path_buf(),
            source: e,
        });
    }
    if old.exists() {
        let _ = fs::remove_dir_all(old);
    }
    Ok(())
}
