//! Sufficient statistics kept between builds, so that adding a wave reads only
//! the new wave's data.
//!
//! After a wave is computed, its sums ([`WaveSums`]: the data report and every
//! published cell's shifted sums) are written to the user's cache folder under a
//! key that covers everything they depend on: the data file's SHA-256 (its text
//! encoding, its sheet), the study
//! definition as it stood for the wave (tree, scales, segments, weights, filters,
//! data policy, settings: the provenance's `definition_sha256`), the questions
//! of the neighbouring waves (the like-for-like scores), the wave's id, the
//! format of the sums and the SHA-256 of the `csi` executable itself (so that a
//! build of other code, a release or not, never reads sums another made). A later
//! build whose key matches computes the wave's figures from the sums without its
//! statistics pass (the data file is still read once, for its hash); anything
//! changed gives another key, and the wave is computed from its data again.
//!
//! The cache lives outside the site (`CSI_CACHE_DIR`, else
//! `$XDG_CACHE_HOME/csi/statistics`, else `~/.cache/csi/statistics`; relative
//! paths are ignored), never in it: the sums are of small cells, which a
//! published site must not carry. Nor is it used inside the study folder, which
//! may come from someone else: a study cannot bring sums of its own. Deleting the
//! folder is always safe.

use std::path::{Path, PathBuf};

use csi_engine::WaveSums;
use csi_study::Study;

/// Bumped whenever the layout of the kept sums changes.
const FORMAT: u32 = 2;

/// Where kept sums are read and written; `None` keeps nothing.
pub struct SumsCache {
    dir: Option<PathBuf>,
    /// The SHA-256 of the running executable.
    build: String,
}

impl SumsCache {
    /// The user's cache folder (see the module documentation), or no cache when
    /// `off` or when no folder can be found.
    pub fn locate(off: bool) -> Self {
        let var = |k: &str| {
            std::env::var_os(k)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
                .filter(|p| p.is_absolute())
        };
        let build = std::env::current_exe()
            .ok()
            .and_then(|exe| csi_site::provenance::sha256_file(&exe).ok());
        let dir = if off {
            None
        } else {
            var("CSI_CACHE_DIR")
                .or_else(|| var("XDG_CACHE_HOME").map(|d| d.join("csi").join("statistics")))
                .or_else(|| var("HOME").map(|d| d.join(".cache").join("csi").join("statistics")))
        };
        match build {
            Some(build) => Self { dir, build },
            None => Self {
                dir: None,
                build: String::new(),
            },
        }
    }

    /// This cache, or none when its folder is inside `folder` (a study's, or the
    /// site's): sums must come from the user's own builds and never be published.
    pub fn outside(self, folder: &Path) -> Self {
        let inside = self.dir.as_ref().is_some_and(|d| {
            let canonical = |p: &Path| {
                std::fs::canonicalize(p)
                    .or_else(|_| std::path::absolute(p))
                    .unwrap_or_else(|_| p.to_path_buf())
            };
            canonical(d).starts_with(canonical(folder))
        });
        if inside {
            Self { dir: None, ..self }
        } else {
            self
        }
    }

    /// A cache in `dir` (tests).
    #[cfg(test)]
    pub fn at(dir: &Path) -> Self {
        Self {
            dir: Some(dir.to_path_buf()),
            build: "test".into(),
        }
    }

    /// The key of wave number `index` of `study` with data of SHA-256 `data_sha256`.
    pub fn key(&self, study: &Study, index: usize, data_sha256: &str) -> String {
        let wave = &study.waves[index];
        let material = serde_json::json!({
            "format": FORMAT,
            "csi": env!("CARGO_PKG_VERSION"),
            "executable_sha256": self.build,
            "study": study.id,
            "wave": wave.id,
            "definition_sha256": csi_site::provenance::definition_digest(study, index),
            "data_sha256": data_sha256,
            "data_encoding": wave.encoding,
            "data_sheet": wave.sheet,
            "neighbour_questions": csi_engine::neighbour_questions(study, wave),
        });
        csi_site::provenance::sha256(material.to_string().as_bytes())
    }

    fn path(&self, key: &str) -> Option<PathBuf> {
        self.dir.as_ref().map(|d| d.join(format!("{key}.json")))
    }

    /// The sums kept under `key`, if any can be read (an unreadable or damaged
    /// entry counts as none: the wave is computed from its data).
    pub fn load(&self, key: &str) -> Option<WaveSums> {
        let bytes = std::fs::read(self.path(key)?).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// Keeps `sums` under `key`: written beside the entry, then renamed over it, so
    /// a reader sees the whole entry or none.
    pub fn store(&self, key: &str, sums: &WaveSums) -> std::io::Result<()> {
        let (Some(dir), Some(path)) = (&self.dir, self.path(key)) else {
            return Ok(());
        };
        std::fs::create_dir_all(dir)?;
        let partial = dir.join(format!("{key}.{}.partial", std::process::id()));
        let json = serde_json::to_vec(sums).map_err(std::io::Error::other)?;
        std::fs::write(&partial, json)?;
        std::fs::rename(&partial, &path).inspect_err(|_| {
            let _ = std::fs::remove_file(&partial);
        })
    }

    /// The folder, when there is one.
    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example() -> Study {
        csi_study::load(Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../reports/telecom/study.yaml"
        )))
        .unwrap()
    }

    /// Kept sums give the wave's figures exactly; what they depend on changes the
    /// key; a damaged entry is no entry.
    #[test]
    fn kept_sums_give_the_same_figures_and_changes_change_the_key() {
        let study = example();
        let dir = tempfile::tempdir().unwrap();
        let cache = SumsCache::at(dir.path());
        let (fresh, sums) = csi_engine::compute_wave_with_sums(&study, &study.waves[1], None).unwrap();
        let key = cache.key(&study, 1, "abc");
        assert!(cache.load(&key).is_none());
        cache.store(&key, &sums).unwrap();
        let kept = cache.load(&key).expect("kept");
        let (again, _) = csi_engine::compute_wave_with_sums(&study, &study.waves[1], Some(kept)).unwrap();
        assert_eq!(again, fresh);

        assert_ne!(cache.key(&study, 1, "abd"), key, "other data");
        let other_build = SumsCache {
            dir: None,
            build: "another executable".into(),
        };
        assert_ne!(other_build.key(&study, 1, "abc"), key, "another build of csi");
        assert!(SumsCache::at(&dir.path().join("kept"))
            .outside(dir.path())
            .dir()
            .is_none());
        assert!(SumsCache::at(dir.path())
            .outside(&dir.path().join("study"))
            .dir()
            .is_some());
        assert_ne!(cache.key(&study, 0, "abc"), key, "another wave");
        let mut changed = study.clone();
        changed.settings.low_base += 1;
        assert_ne!(cache.key(&changed, 1, "abc"), key, "another definition");
        // Wave 2000 has a neighbour after it; without wave 2001 its key differs.
        let mut fewer = study.clone();
        fewer.waves.truncate(1);
        assert_ne!(cache.key(&fewer, 0, "abc"), cache.key(&study, 0, "abc"), "a wave added");

        std::fs::write(dir.path().join(format!("{key}.json")), b"{ not sums").unwrap();
        assert!(cache.load(&key).is_none());
        // Sums of another shape (a segment fewer) are refused, not misread.
        let mut fewer_segments = study.clone();
        fewer_segments.segments.pop();
        let (_, other) = csi_engine::compute_wave_with_sums(&fewer_segments, &fewer_segments.waves[1], None).unwrap();
        assert!(matches!(
            csi_engine::compute_wave_with_sums(&study, &study.waves[1], Some(other)),
            Err(csi_engine::EngineError::SumsDoNotFit)
        ));
    }
}
