//! Red Hat OVAL: v2 streams (per-CVE `com.redhat.cve`, `com.redhat.unaffected`
//! and `com.redhat.rhsa` patch definitions) and v1 per-release files.
//!
//! The "Red Hat Enterprise Linux must be installed" guard (`none satisfy`)
//! and the signing-key criteria constrain nothing a package query can see;
//! "unaffected" definitions (X installed AND X not installed) never match;
//! an unpatched component ("Will not fix", "Affected", "Fix deferred") is
//! affected without a fix; packages of a module stream are named
//! `<module>:<stream>/<package>` (see the module docs of `oval`).

use super::identity::{
    advisory_id, major, major_platforms, release_major, standard_identity, Identity, IdentityError,
    RawPlatform,
};
use super::xml::Definition;

/// `Red Hat Enterprise Linux 8 is installed` / `redhat-release ^8[^\d]` -> `Red Hat:enterprise_linux:8`;
/// `Red Hat CoreOS 4 is installed` -> `Red Hat:rhel_coreos:4`.
pub fn platform(raw: &RawPlatform<'_>) -> Option<Vec<String>> {
    if raw.comment.contains("CoreOS") {
        return major(raw.comment).map(|m| vec![format!("Red Hat:rhel_coreos:{m}")]);
    }
    release_major(raw, "Red Hat Enterprise Linux", "redhat-release")
        .map(|m| vec![format!("Red Hat:enterprise_linux:{m}")])
}

/// From the metadata platforms (`Red Hat Enterprise Linux 9`).
pub fn default_platforms(def: &Definition) -> Vec<String> {
    let rhel = def
        .platforms
        .iter()
        .map(String::as_str)
        .filter(|p| p.contains("Red Hat Enterprise Linux"));
    major_platforms(rhel, |m| format!("Red Hat:enterprise_linux:{m}"))
}

/// CVE definitions get the CVE id; patch definitions their RHSA/RHBA/RHEA id.
pub fn identity(def: &Definition) -> Result<Identity, IdentityError> {
    if def.class != "patch" {
        return standard_identity(def, None);
    }
    let id = advisory_id(def, &["RHSA-", "RHBA-", "RHEA-"])
        .ok_or(IdentityError::NoAdvisoryId("an RHSA/RHBA/RHEA id"))?;
    standard_identity(def, Some(id))
}
