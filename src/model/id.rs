//! Typed advisory identifiers: the id of a record and each of its aliases.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The family an advisory identifier belongs to, detected from its prefix.
///
/// Knowing the family lets the API and the merge logic tell a CVE alias from a
/// vendor advisory id without string matching scattered through the code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IdKind {
    /// MITRE CVE (`CVE-2014-0160`).
    Cve,
    /// GitHub Security Advisory (`GHSA-xxxx-xxxx-xxxx`).
    Ghsa,
    /// Debian Security Advisory (`DSA-5678-1`).
    Dsa,
    /// Debian LTS Advisory (`DLA-3456-1`).
    Dla,
    /// Debian Testing Security Advisory (`DTSA-1-1`).
    Dtsa,
    /// Ubuntu Security Notice (`USN-6000-1`).
    Usn,
    /// Ubuntu Livepatch Security Notice (`LSN-0108-1`).
    Lsn,
    /// Ubuntu per-CVE record as published by OSV.dev (`UBUNTU-CVE-...`).
    UbuntuCve,
    /// Red Hat Security Advisory (`RHSA-2024:1234`), also RHBA/RHEA.
    Rhsa,
    /// SUSE Security Update (`SUSE-SU-2024:1234-1`).
    SuseSu,
    /// openSUSE Security Update (`openSUSE-SU-2024:1234-1`).
    OpensuseSu,
    /// AlmaLinux advisory (`ALSA-`, `ALBA-`, `ALEA-`).
    Alsa,
    /// Oracle Linux advisory (`ELSA-`, `ELBA-`, `ELEA-`).
    Elsa,
    /// Rocky Linux advisory (`RLSA-`, `RXSA-`).
    Rlsa,
    /// Alpine per-CVE record (`ALPINE-CVE-...`).
    AlpineCve,
    /// Go vulnerability database (`GO-2022-0001`).
    Go,
    /// Python Packaging Advisory database (`PYSEC-2021-1`).
    Pysec,
    /// OSS-Fuzz and other OSV-native ids (`OSV-2021-1`).
    Osv,
    /// RustSec (`RUSTSEC-2023-0001`).
    Rustsec,
    /// Malicious package reports (`MAL-2023-8`).
    Mal,
    /// Gentoo Linux Security Advisory (`GLSA-202401-01`).
    Glsa,
    /// Any other prefix: kept verbatim, never rejected.
    Other,
}

impl IdKind {
    /// Detects the family of `id` from its prefix (case-sensitive, as published).
    pub fn detect(id: &str) -> IdKind {
        const PREFIXES: &[(&str, IdKind)] = &[
            ("CVE-", IdKind::Cve),
            ("GHSA-", IdKind::Ghsa),
            ("DSA-", IdKind::Dsa),
            ("DLA-", IdKind::Dla),
            ("DTSA-", IdKind::Dtsa),
            ("USN-", IdKind::Usn),
            ("LSN-", IdKind::Lsn),
            ("UBUNTU-CVE-", IdKind::UbuntuCve),
            ("RHSA-", IdKind::Rhsa),
            ("RHBA-", IdKind::Rhsa),
            ("RHEA-", IdKind::Rhsa),
            ("SUSE-SU-", IdKind::SuseSu),
            ("SUSE-RU-", IdKind::SuseSu),
            ("openSUSE-SU-", IdKind::OpensuseSu),
            ("ALSA-", IdKind::Alsa),
            ("ALBA-", IdKind::Alsa),
            ("ALEA-", IdKind::Alsa),
            ("ELSA-", IdKind::Elsa),
            ("ELBA-", IdKind::Elsa),
            ("ELEA-", IdKind::Elsa),
            ("RLSA-", IdKind::Rlsa),
            ("RXSA-", IdKind::Rlsa),
            ("ALPINE-CVE-", IdKind::AlpineCve),
            ("GO-", IdKind::Go),
            ("PYSEC-", IdKind::Pysec),
            ("OSV-", IdKind::Osv),
            ("RUSTSEC-", IdKind::Rustsec),
            ("MAL-", IdKind::Mal),
            ("GLSA-", IdKind::Glsa),
        ];
        PREFIXES
            .iter()
            .find(|(prefix, _)| id.starts_with(prefix))
            .map_or(IdKind::Other, |(_, kind)| *kind)
    }
}

/// Whether `text` is exactly a CVE id: `CVE-`, a four-digit year, `-`,
/// and four or more digits. The one test of CVE syntax (OVAL titles and
/// references, CSAF documents); [`IdKind::detect`] only reads the prefix.
pub fn is_cve_id(text: &str) -> bool {
    let mut parts = text.split('-');
    parts.next() == Some("CVE")
        && parts
            .next()
            .is_some_and(|y| y.len() == 4 && y.bytes().all(|b| b.is_ascii_digit()))
        && parts
            .next()
            .is_some_and(|n| n.len() >= 4 && n.bytes().all(|b| b.is_ascii_digit()))
        && parts.next().is_none()
}

/// An advisory identifier: non-empty, no whitespace or control characters.
///
/// Validated on construction so every id in the store can be used as a URL
/// path segment and a redb key without escaping surprises.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AdvisoryId(String);

/// Why a string is not a valid advisory identifier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid advisory id {input:?}: {reason}")]
pub struct InvalidId {
    /// The rejected input.
    pub input: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl AdvisoryId {
    /// The identifier text as published.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The family this id belongs to.
    pub fn kind(&self) -> IdKind {
        IdKind::detect(&self.0)
    }
}

impl FromStr for AdvisoryId {
    type Err = InvalidId;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        AdvisoryId::try_from(s.to_string())
    }
}

impl TryFrom<String> for AdvisoryId {
    type Error = InvalidId;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        let reason = if s.is_empty() {
            Some("empty")
        } else if s.len() > 256 {
            Some("longer than 256 bytes")
        } else if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            Some("contains whitespace or control characters")
        } else if s.contains('/') {
            Some("contains '/'")
        } else {
            None
        };
        match reason {
            Some(reason) => Err(InvalidId { input: s, reason }),
            None => Ok(AdvisoryId(s)),
        }
    }
}

impl From<AdvisoryId> for String {
    fn from(id: AdvisoryId) -> String {
        id.0
    }
}

impl fmt::Display for AdvisoryId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cve_syntax() {
        assert!(is_cve_id("CVE-2021-3449"));
        assert!(is_cve_id("CVE-2021-1234567"));
        assert!(!is_cve_id("CVE-21-3449"));
        assert!(!is_cve_id("CVE-2021-123"));
        assert!(!is_cve_id("CVE-2021-3449-1"));
        assert!(!is_cve_id("RHSA-2021:1"));
    }

    #[test]
    fn detects_families() {
        let cases = [
            ("CVE-2014-0160", IdKind::Cve),
            ("GHSA-2c8c-84w2-j38j", IdKind::Ghsa),
            ("DSA-3029-1", IdKind::Dsa),
            ("DLA-0010-1", IdKind::Dla),
            ("USN-5614-1", IdKind::Usn),
            ("RHSA-2024:1234", IdKind::Rhsa),
            ("SUSE-SU-2015:0011-2", IdKind::SuseSu),
            ("openSUSE-SU-2016:1623-1", IdKind::OpensuseSu),
            ("ALSA-2023:7549", IdKind::Alsa),
            ("ELSA-2024-0001", IdKind::Elsa),
            ("GO-2020-0001", IdKind::Go),
            ("PYSEC-2021-335", IdKind::Pysec),
            ("OSV-2021-1658", IdKind::Osv),
            ("UBUNTU-CVE-2021-3782", IdKind::UbuntuCve),
            ("BIT-zookeeper-2024-23944", IdKind::Other),
        ];
        for (id, kind) in cases {
            assert_eq!(id.parse::<AdvisoryId>().unwrap().kind(), kind, "{id}");
        }
    }

    #[test]
    fn rejects_unusable_ids() {
        for bad in ["", "CVE 2014", "a/b", "x\u{7}y"] {
            assert!(bad.parse::<AdvisoryId>().is_err(), "{bad:?}");
        }
        let long = "X".repeat(300);
        assert!(long.parse::<AdvisoryId>().is_err());
    }
}
