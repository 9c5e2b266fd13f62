//! Ecosystem names (OSV.dev spelling) and the one table mapping each to its
//! version scheme and package-name rules.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::VersionScheme;

/// What advisord knows about one base ecosystem.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EcosystemInfo {
    /// The base name as OSV.dev spells it (`Debian`, `PyPI`, `Red Hat`).
    pub name: &'static str,
    /// The scheme ordering its `ECOSYSTEM` ranges; `None` where no comparator
    /// applies (only explicit `versions` lists can match there).
    pub scheme: Option<VersionScheme>,
    /// How package names compare.
    pub names: NameRule,
}

/// How an ecosystem compares package names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameRule {
    /// Byte-for-byte.
    Exact,
    /// PEP 503: case-insensitive, runs of `-`, `_`, `.` are one `-`.
    Pep503,
    /// Case-insensitive (NuGet ids, Packagist, Hackage).
    CaseInsensitive,
}

use NameRule::*;
use VersionScheme as S;

/// The table: every ecosystem advisord knows, with its scheme and name rule.
/// This is the only place that decides how an ecosystem orders versions.
pub const ECOSYSTEMS: &[EcosystemInfo] = &[
    info("AlmaLinux", Some(S::Rpm), Exact),
    info("Alpaquita", Some(S::Apk), Exact),
    info("Alpine", Some(S::Apk), Exact),
    info("Android", None, Exact),
    info("Azure Linux", Some(S::Rpm), Exact),
    info("BellSoft Hardened Containers", Some(S::Apk), Exact),
    info("Bioconductor", None, Exact),
    info("Bitnami", Some(S::Semver), Exact),
    info("Chainguard", Some(S::Apk), Exact),
    info("CRAN", None, Exact),
    info("crates.io", Some(S::Semver), Exact),
    info("Debian", Some(S::Deb), Exact),
    info("Echo", Some(S::Deb), Exact),
    info("Fedora", Some(S::Rpm), Exact),
    info("Gentoo", None, Exact),
    info("GHC", None, Exact),
    info("GitHub Actions", Some(S::Semver), Exact),
    info("Go", Some(S::Go), Exact),
    info("Hackage", None, Exact),
    info("Hex", Some(S::Semver), Exact),
    info("Julia", Some(S::Semver), Exact),
    info("Linux", None, Exact),
    info("Mageia", Some(S::Rpm), Exact),
    info("Maven", Some(S::Maven), Exact),
    info("MinimOS", Some(S::Apk), Exact),
    info("npm", Some(S::Semver), Exact),
    info("NuGet", Some(S::Nuget), CaseInsensitive),
    info("opam", None, Exact),
    info("openEuler", Some(S::Rpm), Exact),
    info("openSUSE", Some(S::Rpm), Exact),
    info("Oracle Linux", Some(S::Rpm), Exact),
    info("OSS-Fuzz", None, Exact),
    info("Packagist", Some(S::Composer), CaseInsensitive),
    info("Photon OS", Some(S::Rpm), Exact),
    info("Pub", Some(S::Semver), Exact),
    info("PyPI", Some(S::Pep440), Pep503),
    info("Red Hat", Some(S::Rpm), Exact),
    info("Rocky Linux", Some(S::Rpm), Exact),
    info("RubyGems", Some(S::Gem), Exact),
    info("SUSE", Some(S::Rpm), Exact),
    info("SwiftURL", Some(S::Semver), Exact),
    info("Ubuntu", Some(S::Deb), Exact),
    info("VSCode", Some(S::Semver), Exact),
    info("Wolfi", Some(S::Apk), Exact),
];

const fn info(name: &'static str, scheme: Option<VersionScheme>, names: NameRule) -> EcosystemInfo {
    EcosystemInfo {
        name,
        scheme,
        names,
    }
}

/// An ecosystem name as OSV spells it, with an optional release suffix after
/// the first `:` (`Debian:12`, `Ubuntu:22.04:LTS`, `Red Hat:enterprise_linux:9::appstream`).
///
/// Unknown ecosystems are kept (OSV.dev adds new ones over time) but have no
/// scheme, so their `ECOSYSTEM` ranges are reported as unevaluable.
///
/// A release spelled another way than OSV.dev spells it is rewritten when
/// the name is built (`Debian:6` -> `Debian:6.0`, `Ubuntu:22.04` ->
/// `Ubuntu:22.04:LTS`, `Alpine:3.4` -> `Alpine:v3.4`; see [`super::release`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Ecosystem(String);

/// An ecosystem string that cannot be one (empty or with control characters).
#[derive(Debug, Clone, thiserror::Error)]
#[error("invalid ecosystem {0:?}")]
pub struct InvalidEcosystem(pub String);

impl Ecosystem {
    /// Builds an ecosystem from its OSV spelling.
    pub fn new(name: impl Into<String>) -> Result<Self, InvalidEcosystem> {
        Ecosystem::try_from(name.into())
    }

    /// The full name, release included.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The part before the first `:` (`Debian` for `Debian:12`).
    pub fn base(&self) -> &str {
        self.0.split_once(':').map_or(&self.0, |(base, _)| base)
    }

    /// The part after the first `:`, if any (`12` for `Debian:12`).
    pub fn release(&self) -> Option<&str> {
        self.0.split_once(':').map(|(_, release)| release)
    }

    /// The table entry of the base ecosystem, if advisord knows it.
    pub fn info(&self) -> Option<&'static EcosystemInfo> {
        lookup(self.base())
    }

    /// The version scheme of `ECOSYSTEM` ranges here, if any.
    pub fn scheme(&self) -> Option<VersionScheme> {
        self.info().and_then(|i| i.scheme)
    }

    /// The name as the package index stores it: normalized per the ecosystem's
    /// name rule so that equal names under that rule find the same entries.
    pub fn index_name(&self, name: &str) -> String {
        match self.info().map_or(Exact, |i| i.names) {
            Exact => name.to_string(),
            CaseInsensitive => name.to_lowercase(),
            Pep503 => pep503_normalize(name),
        }
    }
}

/// Finds a base ecosystem in the table; exact spelling first, then ignoring case.
pub fn lookup(base: &str) -> Option<&'static EcosystemInfo> {
    ECOSYSTEMS.iter().find(|i| i.name == base).or_else(|| {
        ECOSYSTEMS
            .iter()
            .find(|i| i.name.eq_ignore_ascii_case(base))
    })
}

/// PEP 503 name normalization: lower case, runs of `-`, `_`, `.` become one `-`.
pub fn pep503_normalize(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut in_separator = false;
    for c in name.trim().chars() {
        if matches!(c, '-' | '_' | '.') {
            if !in_separator {
                out.push('-');
            }
            in_separator = true;
        } else {
            out.extend(c.to_lowercase());
            in_separator = false;
        }
    }
    out
}

impl TryFrom<String> for Ecosystem {
    type Error = InvalidEcosystem;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        if s.trim().is_empty() || s.chars().any(char::is_control) {
            return Err(InvalidEcosystem(s));
        }
        // One spelling per release (`Debian:6` is `Debian:6.0`), whoever wrote it.
        match super::release::canonical_ecosystem(&s) {
            std::borrow::Cow::Owned(canonical) => Ok(Ecosystem(canonical)),
            std::borrow::Cow::Borrowed(_) => Ok(Ecosystem(s)),
        }
    }
}

impl From<Ecosystem> for String {
    fn from(e: Ecosystem) -> String {
        e.0
    }
}

impl fmt::Display for Ecosystem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// README: "`Jinja2`, `jinja2` and `JINJA2` are one name, and so are
    /// `zope.interface`, `zope_interface` and `Zope-Interface`; `jinja-2`
    /// is another name" (PEP 503 keeps `jinja2` and `jinja-2` apart).
    #[test]
    fn readme_pep503_examples() {
        let pypi = Ecosystem::new("PyPI").unwrap();
        let one = |names: &[&str]| {
            names
                .iter()
                .map(|n| pypi.index_name(n))
                .collect::<std::collections::BTreeSet<_>>()
                .len()
                == 1
        };
        assert!(one(&["Jinja2", "jinja2", "JINJA2"]));
        assert!(one(&["zope.interface", "zope_interface", "Zope-Interface"]));
        assert!(!one(&["jinja2", "jinja-2"]));
        assert!(one(&["jinja_2", "jinja-2"]));
    }

    #[test]
    fn releases_and_schemes() {
        let e = Ecosystem::new("Red Hat:enterprise_linux:9::appstream").unwrap();
        assert_eq!(e.base(), "Red Hat");
        assert_eq!(e.release(), Some("enterprise_linux:9::appstream"));
        assert_eq!(e.scheme(), Some(VersionScheme::Rpm));
        assert_eq!(
            Ecosystem::new("Ubuntu:22.04:LTS").unwrap().scheme(),
            Some(VersionScheme::Deb)
        );
        assert_eq!(Ecosystem::new("PyPI").unwrap().release(), None);
        assert_eq!(Ecosystem::new("Nonesuch:1").unwrap().scheme(), None);
    }

    #[test]
    fn pep503() {
        assert_eq!(pep503_normalize("Jinja2"), "jinja2");
        assert_eq!(pep503_normalize("zope.interface"), "zope-interface");
        assert_eq!(pep503_normalize("Foo__Bar-.baz"), "foo-bar-baz");
        let e = Ecosystem::new("PyPI").unwrap();
        assert_eq!(e.index_name("AccessControl"), "accesscontrol");
    }
}
