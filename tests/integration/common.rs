//! Helpers shared by the integration test modules.
#![allow(dead_code)]

use std::path::PathBuf;

/// The `shared/` folder beside the repository (overridable with
/// `ADVISORD_SHARED`), or `None` when absent. With `ADVISORD_REQUIRE_SHARED=1`
/// (set by CI) a missing folder or file fails the test instead of skipping it.
pub fn shared(relative: &str) -> Option<PathBuf> {
    let root = std::env::var_os("ADVISORD_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared"));
    let path = root.join(relative);
    if path.exists() {
        return Some(path);
    }
    if require_shared() {
        panic!(
            "shared data {} is missing and ADVISORD_REQUIRE_SHARED=1",
            path.display()
        );
    }
    eprintln!("skipping: shared data {} not found", path.display());
    None
}

/// Whether CI demands the shared data and oracles.
pub fn require_shared() -> bool {
    std::env::var("ADVISORD_REQUIRE_SHARED").is_ok_and(|v| v == "1")
}

/// The directory holding the oracle commands (`deb-cmp`, ...), if installed:
/// `$ADVISORD_ORACLES/bin`, else `~/.cache/advisord-oracles/bin`.
pub fn oracle(command: &str) -> Option<PathBuf> {
    let root = std::env::var_os("ADVISORD_ORACLES")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/advisord-oracles"))
        })?;
    let path = root.join("bin").join(command);
    if path.exists() {
        return Some(path);
    }
    if require_shared() {
        panic!(
            "oracle {} is missing and ADVISORD_REQUIRE_SHARED=1",
            path.display()
        );
    }
    eprintln!("skipping: oracle {} not installed", path.display());
    None
}
