//! Helpers shared by the benches: shared-data lookup and bulk-archive loading.
#![allow(dead_code)]

use std::io::Read;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// `../shared` (or `$ADVISORD_SHARED`), if present.
pub fn shared(relative: &str) -> Option<PathBuf> {
    let root = std::env::var_os("ADVISORD_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared"));
    let path = root.join(relative);
    path.exists().then_some(path)
}

/// The four OSV bulk archives of the shared data.
pub const OSV_BULK: &[&str] = &[
    "data/osv/bulk/golang-vulndb-data-osv.tar.gz",
    "data/osv/bulk/pypa-advisory-database-vulns.tar.gz",
    "data/osv/bulk/oss-fuzz-vulns.tar.gz",
    "data/osv/bulk/almalinux-osv-advisories.tar.gz",
];

/// Every `.json`/`.yaml` member of a tar.gz, decompressed into memory.
pub fn members(path: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    let file = std::fs::File::open(path).expect("open archive");
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
    let mut out = Vec::new();
    for entry in archive.entries().expect("tar entries") {
        let mut entry = entry.expect("tar entry");
        let name = entry.path().expect("member path").display().to_string();
        if name.ends_with(".json") || name.ends_with(".yaml") {
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes).expect("read member");
            out.push((name, bytes));
        }
    }
    out
}

/// Runs `f` `rounds` times and returns the fastest run.
pub fn best_of<T>(rounds: usize, mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut best: Option<(Duration, T)> = None;
    for _ in 0..rounds {
        let start = Instant::now();
        let value = f();
        let elapsed = start.elapsed();
        if best.as_ref().is_none_or(|(d, _)| elapsed < *d) {
            best = Some((elapsed, value));
        }
    }
    best.expect("at least one round")
}
