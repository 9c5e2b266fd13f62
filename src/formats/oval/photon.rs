//! VMware Photon OS OVAL (PHSA): rpm tests on `photon-release`
//! ("Photon OS 3 is installed" -> `Photon OS:3.0`), handled by the shared core.

use super::identity::{
    major_platforms, patch_identity, release_major, Identity, IdentityError, RawPlatform,
};
use super::xml::Definition;

/// `Photon OS 3 is installed` / `photon-release ^3[^\d]` -> `Photon OS:3.0`.
pub fn platform(raw: &RawPlatform<'_>) -> Option<Vec<String>> {
    release_major(raw, "Photon", "photon-release").map(|m| vec![format!("Photon OS:{m}.0")])
}

/// From the metadata platform (`Photon 3`).
pub fn default_platforms(def: &Definition) -> Vec<String> {
    major_platforms(def.platforms.iter().map(String::as_str), |m| {
        format!("Photon OS:{m}.0")
    })
}

/// The PHSA id from the title (`PHSA-2020:00001 sqlite Security Update.`).
pub fn identity(def: &Definition) -> Result<Identity, IdentityError> {
    let id = def
        .title
        .split_whitespace()
        .next()
        .filter(|t| t.starts_with("PHSA-"))
        .map(str::to_string);
    patch_identity(def, id, "a PHSA id")
}
