//! AlmaLinux OVAL (ALSA/ALBA/ALEA): Red Hat's v2 layout with AlmaLinux
//! release tests ("AlmaLinux 9 is installed" -> `AlmaLinux:9`), signing keys
//! and module streams, handled by the shared core.

use super::identity::{
    advisory_id, major_platforms, patch_identity, release_major, Identity, IdentityError,
    RawPlatform,
};
use super::xml::Definition;

/// `AlmaLinux 9 is installed` / `almalinux-release ^9[^\d]` -> `AlmaLinux:9`.
pub fn platform(raw: &RawPlatform<'_>) -> Option<Vec<String>> {
    release_major(raw, "AlmaLinux", "almalinux-release").map(|m| vec![format!("AlmaLinux:{m}")])
}

/// From the CPEs (`cpe:/a:almalinux:almalinux:9`) when no criterion names the release.
pub fn default_platforms(def: &Definition) -> Vec<String> {
    let tails = def
        .cpes
        .iter()
        .filter_map(|c| c.strip_prefix("cpe:/a:almalinux:almalinux:"));
    major_platforms(tails, |m| format!("AlmaLinux:{m}"))
}

/// The ALSA/ALBA/ALEA id from the references or the title.
pub fn identity(def: &Definition) -> Result<Identity, IdentityError> {
    let id = advisory_id(def, &["ALSA-", "ALBA-", "ALEA-"]);
    patch_identity(def, id, "an ALSA id")
}
