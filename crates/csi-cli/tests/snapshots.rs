//! Snapshot tests of rendered pages: the small fixture study (`tests/fixtures/mini`)
//! is built and its pages, version list, build record and downloads are compared
//! byte for byte with the files committed under `tests/snapshots/mini/`.
//!
//! After an intended change to the pages, review the difference and accept it with
//! `CSI_UPDATE_SNAPSHOTS=1 cargo test -p csi-cli --test snapshots`.

use std::path::PathBuf;

mod common;

/// The files compared, relative to the site folder.
const PAGES: &[&str] = &[
    "index.html",
    "mini/index.html",
    "mini/versions.json",
    "mini/versions.js",
    "mini/latest/index.html",
    "mini/2024/index.html",
    "mini/2024/method.html",
    "mini/2024/downloads.html",
    "mini/2024/build.json",
    "mini/2024/data/index-tree.csv",
    "mini/2024/data/segments.csv",
    "mini/2024/data/base-sizes.csv",
];

#[test]
fn rendered_pages_match_their_snapshots() {
    let site = tempfile::tempdir().unwrap();
    let run = common::csi()
        .args([
            "build",
            common::root().join("tests/fixtures/mini").to_str().unwrap(),
            "--out",
        ])
        .arg(site.path())
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let snapshots = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots");
    let update = std::env::var_os("CSI_UPDATE_SNAPSHOTS").is_some();
    let mut differ = Vec::new();
    for page in PAGES {
        let got = std::fs::read(site.path().join(page)).unwrap_or_else(|e| panic!("{page}: {e}"));
        let file = snapshots.join(page);
        if update {
            std::fs::create_dir_all(file.parent().unwrap()).unwrap();
            std::fs::write(&file, &got).unwrap();
            continue;
        }
        let want = std::fs::read(&file).unwrap_or_default();
        if want != got {
            let first = want
                .iter()
                .zip(&got)
                .position(|(a, b)| a != b)
                .unwrap_or(want.len().min(got.len()));
            let from = first.saturating_sub(80);
            differ.push(format!(
                "{page}: differs from byte {first}\n  snapshot: …{}…\n  now:      …{}…",
                String::from_utf8_lossy(&want[from.min(want.len())..(first + 80).min(want.len())]),
                String::from_utf8_lossy(&got[from..(first + 80).min(got.len())]),
            ));
        }
    }
    assert!(
        differ.is_empty(),
        "{}\n(if the change is intended: CSI_UPDATE_SNAPSHOTS=1 cargo test -p csi-cli --test snapshots)",
        differ.join("\n")
    );
}
