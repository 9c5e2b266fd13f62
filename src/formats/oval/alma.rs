//! AlmaLinux OVAL (ALSA/ALBA/ALEA): Red Hat's v2 layout with AlmaLinux
//! release tests ("AlmaLinux 9 is installed" -> `AlmaLinux:9`), signing keys
//! and module streams, handled by the shared core.

use super::identity::{advisory_id, major, standard_identity, Identity, RawPlatform};
use super::xml::Definition;

/// `AlmaLinux 9 is installed` / `almalinux-release ^9[^\d]` -> `AlmaLinux:9`.
pub fn platform(raw: &RawPlatform<'_>) -> Option<Vec<String>> {
    let text = if raw.comment.contains("AlmaLinux") {
        raw.comment
    } else if raw.package.contains("almalinux-release") {
        raw.version
    } else {
        return None;
    };
    major(text).map(|m| vec![format!("AlmaLinux:{m}")])
}

/// From the CPEs (`cpe:/a:almalinux:almalinux:9`) when no criterion names the release.
pub fn default_platforms(def: &Definition) -> Vec<String> {
    let mut out: Vec<String> = def
        .cpes
        .iter()
        .filter_map(|c| c.strip_prefix("cpe:/a:almalinux:almalinux:"))
        .filter_map(major)
        .map(|m| format!("AlmaLinux:{m}"))
        .collect();
    out.dedup();
    out
}

/// The ALSA/ALBA/ALEA id from the references or the title.
pub fn identity(def: &Definition) -> Result<Identity, String> {
    let id = advisory_id(def, &["ALSA-", "ALBA-", "ALEA-"]);
    if id.is_none() && def.class == "patch" {
        return Err("patch definition without an ALSA id".into());
    }
    standard_identity(def, id)
}
