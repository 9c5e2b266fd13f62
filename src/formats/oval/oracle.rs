//! Oracle Linux ELSA OVAL: per-release signing keys, per-architecture
//! respins (different fixed versions per arch are kept apart, with the
//! architectures in `ecosystem_specific.arches`) and ksplice user-space
//! builds (named `ksplice/<package>` so a regular build never matches).

use super::identity::{advisory_id, major, standard_identity, Identity, RawPlatform};
use super::xml::Definition;

/// `Oracle Linux 8 is installed` (`oraclelinux-release` version `^8`) -> `Oracle Linux:8`.
pub fn platform(raw: &RawPlatform<'_>) -> Option<Vec<String>> {
    let text = if raw.comment.contains("Oracle Linux") {
        raw.comment
    } else if raw.package.contains("release") {
        raw.version
    } else {
        return None;
    };
    major(text).map(|m| vec![format!("Oracle Linux:{m}")])
}

/// From the metadata platforms (`Oracle Linux 8`).
pub fn default_platforms(def: &Definition) -> Vec<String> {
    let mut out: Vec<String> = def
        .platforms
        .iter()
        .filter_map(|p| major(p))
        .map(|m| format!("Oracle Linux:{m}"))
        .collect();
    out.dedup();
    out
}

/// The ELSA/ELBA/ELEA id from the references or the title.
pub fn identity(def: &Definition) -> Result<Identity, String> {
    let id = advisory_id(def, &["ELSA-", "ELBA-", "ELEA-"]);
    if id.is_none() && def.class == "patch" {
        return Err("patch definition without an ELSA id".into());
    }
    standard_identity(def, id)
}
