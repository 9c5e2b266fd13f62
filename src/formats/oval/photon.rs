//! VMware Photon OS OVAL (PHSA): rpm tests on `photon-release`
//! ("Photon OS 3 is installed" -> `Photon OS:3.0`), handled by the shared core.

use super::identity::{major, standard_identity, Identity, RawPlatform};
use super::xml::Definition;

/// `Photon OS 3 is installed` / `photon-release ^3[^\d]` -> `Photon OS:3.0`.
pub fn platform(raw: &RawPlatform<'_>) -> Option<Vec<String>> {
    let text = if raw.comment.contains("Photon") {
        raw.comment
    } else if raw.package.contains("photon-release") {
        raw.version
    } else {
        return None;
    };
    major(text).map(|m| vec![format!("Photon OS:{m}.0")])
}

/// From the metadata platform (`Photon 3`).
pub fn default_platforms(def: &Definition) -> Vec<String> {
    let mut out: Vec<String> = def
        .platforms
        .iter()
        .filter_map(|p| major(p))
        .map(|m| format!("Photon OS:{m}.0"))
        .collect();
    out.dedup();
    out
}

/// The PHSA id from the title (`PHSA-2020:00001 sqlite Security Update.`).
pub fn identity(def: &Definition) -> Result<Identity, String> {
    let id = def
        .title
        .split_whitespace()
        .next()
        .filter(|t| t.starts_with("PHSA-"))
        .map(str::to_string);
    if id.is_none() && def.class == "patch" {
        return Err("patch definition without a PHSA id".into());
    }
    standard_identity(def, id)
}
