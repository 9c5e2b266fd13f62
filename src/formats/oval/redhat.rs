//! Red Hat OVAL: v2 streams (per-CVE `com.redhat.cve`, `com.redhat.unaffected`
//! and `com.redhat.rhsa` patch definitions) and v1 per-release files.
//!
//! The "Red Hat Enterprise Linux must be installed" guard (`none satisfy`)
//! and the signing-key criteria constrain nothing a package query can see;
//! "unaffected" definitions (X installed AND X not installed) never match;
//! an unpatched component ("Will not fix", "Affected", "Fix deferred") is
//! affected without a fix; packages of a module stream are named
//! `<module>:<stream>/<package>` (see the module docs of `oval`).

use super::normalize::{standard_identity, Identity, RawPlatform};
use super::xml::Definition;

/// The first run of digits in `s`.
fn major(s: &str) -> Option<&str> {
    let start = s.find(|c: char| c.is_ascii_digit())?;
    let rest = &s[start..];
    let end = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    Some(&rest[..end])
}

/// `Red Hat Enterprise Linux 8 is installed` / `redhat-release ^8[^\d]` -> `Red Hat:enterprise_linux:8`;
/// `Red Hat CoreOS 4 is installed` -> `Red Hat:rhel_coreos:4`.
pub fn platform(raw: &RawPlatform<'_>) -> Option<Vec<String>> {
    if raw.comment.contains("CoreOS") {
        return major(raw.comment).map(|m| vec![format!("Red Hat:rhel_coreos:{m}")]);
    }
    let text = if raw.comment.contains("Red Hat Enterprise Linux") {
        raw.comment
    } else if raw.package.contains("redhat-release") {
        raw.version
    } else {
        return None;
    };
    major(text).map(|m| vec![format!("Red Hat:enterprise_linux:{m}")])
}

/// From the metadata platforms (`Red Hat Enterprise Linux 9`).
pub fn default_platforms(def: &Definition) -> Vec<String> {
    let mut out: Vec<String> = def
        .platforms
        .iter()
        .filter(|p| p.contains("Red Hat Enterprise Linux"))
        .filter_map(|p| major(p))
        .map(|m| format!("Red Hat:enterprise_linux:{m}"))
        .collect();
    out.dedup();
    out
}

/// CVE definitions get the CVE id; patch definitions their RHSA/RHBA/RHEA id.
pub fn identity(def: &Definition) -> Result<Identity, String> {
    if def.class != "patch" {
        return standard_identity(def, None);
    }
    let is_advisory = |s: &str| ["RHSA-", "RHBA-", "RHEA-"].iter().any(|p| s.starts_with(p));
    let id = def
        .references
        .iter()
        .map(|r| r.ref_id.as_str())
        .find(|r| is_advisory(r))
        .or_else(|| {
            def.title
                .split_whitespace()
                .next()
                .map(|t| t.trim_end_matches(':'))
                .filter(|t| is_advisory(t))
        })
        .map(str::to_string)
        .ok_or_else(|| "patch definition without an RHSA/RHBA/RHEA id".to_string())?;
    standard_identity(def, Some(id))
}
