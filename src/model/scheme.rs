//! The version scheme tag: which ordering an ecosystem's versions follow.
//!
//! Only the name lives here, below both `model::ecosystem` (whose
//! table maps each ecosystem to one) and the `version` module (which compares
//! versions under each, in `VersionScheme::compare`).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A version ordering scheme, as used by one or more ecosystems.
///
/// The table from ecosystem to scheme lives in [`crate::model::Ecosystem::scheme`];
/// the comparators behind each are in the `version` module.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VersionScheme {
    /// dpkg ordering (Debian, Ubuntu).
    Deb,
    /// rpm ordering on epoch:version-release (SUSE, Red Hat, AlmaLinux, ...).
    Rpm,
    /// apk-tools 2 ordering (Alpine, Wolfi, Chainguard).
    Apk,
    /// PEP 440 (PyPI), with the pre-22 pip legacy fallback for other strings.
    Pep440,
    /// Semantic Versioning 2.0 precedence (npm, crates.io, OSV `SEMVER` ranges).
    Semver,
    /// Go module versions (with or without `v`, `+incompatible`, pseudo-versions).
    Go,
    /// Maven's ComparableVersion.
    Maven,
    /// RubyGems' `Gem::Version`.
    Gem,
    /// NuGet.Versioning.
    Nuget,
    /// composer/semver (Packagist).
    Composer,
}

/// Every scheme, in a stable order (used by CLI help and tests).
pub const ALL_SCHEMES: &[VersionScheme] = &[
    VersionScheme::Deb,
    VersionScheme::Rpm,
    VersionScheme::Apk,
    VersionScheme::Pep440,
    VersionScheme::Semver,
    VersionScheme::Go,
    VersionScheme::Maven,
    VersionScheme::Gem,
    VersionScheme::Nuget,
    VersionScheme::Composer,
];

impl VersionScheme {
    /// The short name used on the command line and in stored data.
    pub fn name(self) -> &'static str {
        match self {
            VersionScheme::Deb => "deb",
            VersionScheme::Rpm => "rpm",
            VersionScheme::Apk => "apk",
            VersionScheme::Pep440 => "pep440",
            VersionScheme::Semver => "semver",
            VersionScheme::Go => "go",
            VersionScheme::Maven => "maven",
            VersionScheme::Gem => "gem",
            VersionScheme::Nuget => "nuget",
            VersionScheme::Composer => "composer",
        }
    }
}

impl fmt::Display for VersionScheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A scheme name that is not one of [`ALL_SCHEMES`].
#[derive(Debug, Clone, thiserror::Error)]
#[error("unknown version scheme {0:?} (expected one of {known})", known = ALL_SCHEMES.iter().map(|s| s.name()).collect::<Vec<_>>().join(", "))]
pub struct UnknownScheme(pub String);

impl FromStr for VersionScheme {
    type Err = UnknownScheme;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ALL_SCHEMES
            .iter()
            .copied()
            .find(|scheme| scheme.name() == s)
            .ok_or_else(|| UnknownScheme(s.to_string()))
    }
}
