//! Oracle Linux ELSA OVAL: per-release signing keys, per-architecture
//! respins (different fixed versions per arch are kept apart, with the
//! architectures in `ecosystem_specific.arches`) and ksplice user-space
//! builds (named `ksplice/<package>` so a regular build never matches).

use super::identity::{
    advisory_id, major_platforms, patch_identity, release_major, Identity, IdentityError,
    RawPlatform,
};
use super::xml::Definition;

/// `Oracle Linux 8 is installed` (`oraclelinux-release` version `^8`) -> `Oracle Linux:8`.
pub fn platform(raw: &RawPlatform<'_>) -> Option<Vec<String>> {
    release_major(raw, "Oracle Linux", "release").map(|m| vec![format!("Oracle Linux:{m}")])
}

/// From the metadata platforms (`Oracle Linux 8`).
pub fn default_platforms(def: &Definition) -> Vec<String> {
    major_platforms(def.platforms.iter().map(String::as_str), |m| {
        format!("Oracle Linux:{m}")
    })
}

/// The ELSA/ELBA/ELEA id from the references or the title.
pub fn identity(def: &Definition) -> Result<Identity, IdentityError> {
    let id = advisory_id(def, &["ELSA-", "ELBA-", "ELEA-"]);
    patch_identity(def, id, "an ELSA id")
}
