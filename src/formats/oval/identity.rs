//! What the dialect files share: a definition's identity (record id and CVE
//! aliases), the platform criterion before a dialect names its ecosystem,
//! and the small text helpers dialects use to read them.

use super::xml::Definition;
use crate::model::{is_cve_id, AdvisoryId, InvalidId};

/// A platform criterion before the dialect names its ecosystem.
#[derive(Debug, Clone)]
pub struct RawPlatform<'a> {
    /// The release package or file (`sles-release`, `redhat-release`, `/etc/debian_version`).
    pub package: &'a str,
    /// The version value (`15.5`, `^8[^\d]`, `11`).
    pub version: &'a str,
    /// The criterion comment (`SUSE Linux Enterprise Server 15 SP5 is installed`).
    pub comment: &'a str,
}

/// Why a definition has no usable record id (the definition is rejected
/// with this reason).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    /// A patch definition without the vendor advisory id it must carry
    /// (the text names that id: "an ALSA id").
    #[error("patch definition without {0}")]
    NoAdvisoryId(&'static str),
    /// A Debian patch definition whose title names no DSA/DLA/DTSA id.
    #[error("patch definition without a DSA id in {0:?}")]
    NoDebianAdvisoryId(String),
    /// An Ubuntu definition whose title names neither a CVE nor a USN.
    #[error("no CVE or USN id in {0:?}")]
    NoCveOrUsn(String),
    /// Neither a CVE nor a vendor advisory id anywhere in the definition.
    #[error("definition names no CVE and no advisory id")]
    NoId,
    /// The id found is not a valid advisory id.
    #[error(transparent)]
    InvalidId(#[from] InvalidId),
}

/// The record id and aliases a dialect gives a definition.
pub struct Identity {
    /// The record id.
    pub id: AdvisoryId,
    /// CVE aliases (without the id).
    pub aliases: Vec<AdvisoryId>,
    /// Whether the record is about one CVE (CVSS vectors apply).
    pub single_cve: Option<String>,
}

/// CVE ids named by a definition: references, advisory cves, title.
pub fn cve_ids(def: &Definition) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut add = |text: &str| {
        for token in text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-')) {
            if is_cve_id(token) && !out.iter().any(|o| o == token) {
                out.push(token.to_string());
            }
        }
    };
    for r in &def.references {
        if r.source.eq_ignore_ascii_case("CVE") || r.ref_id.contains("CVE-") {
            add(&r.ref_id);
        }
    }
    for c in &def.cves {
        add(&c.text);
    }
    // Only a title that starts with a CVE id names it ("CVE-2020-10744
    // ansible: incomplete fix for CVE-2020-1733" is about the first one).
    if let Some(first) = def.title.split_whitespace().next() {
        add(first);
    }
    out
}

/// Per-CVE identity for vulnerability definitions, advisory identity
/// otherwise. An id that is not a valid [`AdvisoryId`] rejects the
/// definition; the CVE aliases are valid by construction.
pub fn standard_identity(
    def: &Definition,
    advisory: Option<String>,
) -> Result<Identity, IdentityError> {
    let cves = cve_ids(def);
    let single_cve = (cves.len() == 1).then(|| cves[0].clone());
    let id = match advisory.or_else(|| cves.first().cloned()) {
        Some(id) => id,
        None => return Err(IdentityError::NoId),
    };
    let aliases = cves
        .iter()
        .filter(|cve| **cve != id)
        .filter_map(|cve| cve.parse().ok())
        .collect();
    Ok(Identity {
        id: id.parse()?,
        aliases,
        single_cve,
    })
}

/// [`standard_identity`] for dialects whose patch definitions must carry a
/// vendor advisory id (`missing` names it in the error: "an ELSA id").
pub(super) fn patch_identity(
    def: &Definition,
    advisory: Option<String>,
    missing: &'static str,
) -> Result<Identity, IdentityError> {
    if advisory.is_none() && def.class == "patch" {
        return Err(IdentityError::NoAdvisoryId(missing));
    }
    standard_identity(def, advisory)
}

/// The major release a platform criterion names: read from the comment
/// when it mentions `comment_marker` (`Oracle Linux 8 is installed`), else
/// from the version of a release package whose name contains
/// `package_marker` (`^8[^\d]`).
pub(super) fn release_major<'a>(
    raw: &RawPlatform<'a>,
    comment_marker: &str,
    package_marker: &str,
) -> Option<&'a str> {
    let text = if raw.comment.contains(comment_marker) {
        raw.comment
    } else if raw.package.contains(package_marker) {
        raw.version
    } else {
        return None;
    };
    major(text)
}

/// One ecosystem per distinct major release named in `texts` (metadata
/// platforms or CPE tails), in order: the default platforms of the
/// RPM dialects.
pub(super) fn major_platforms<'d>(
    texts: impl Iterator<Item = &'d str>,
    ecosystem: impl Fn(&str) -> String,
) -> Vec<String> {
    let mut out: Vec<String> = texts.filter_map(major).map(ecosystem).collect();
    out.dedup();
    out
}

/// The advisory id of a patch definition: the first reference id with one of
/// `prefixes`, else the title's first word (`RHSA-2019:1145: ...`).
pub(super) fn advisory_id(def: &Definition, prefixes: &[&str]) -> Option<String> {
    let is_advisory = |s: &str| prefixes.iter().any(|p| s.starts_with(p));
    def.references
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
}

/// The first run of ASCII digits in `s` (the major release in
/// `Oracle Linux 8 is installed`, `^9[^\d]`, `cpe:/a:almalinux:almalinux:9`).
pub(super) fn major(s: &str) -> Option<&str> {
    let start = s.find(|c: char| c.is_ascii_digit())?;
    let rest = &s[start..];
    let end = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    Some(&rest[..end])
}
