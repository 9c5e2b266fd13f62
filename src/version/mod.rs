//! Version ordering per ecosystem and the OSV range evaluator.
//!
//! Each scheme lives in its own file and exposes one type implementing
//! [`SchemeVersion`]: parse once, then compare with `Ord`, exactly as the
//! ecosystem's own tool orders versions. [`VersionScheme`] names the schemes
//! and dispatches to them; [`range`] decides whether a version is inside a
//! set of OSV ranges.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

pub mod batch;
pub mod go;
pub mod range;
pub mod rpm;
pub mod semver;

pub use range::{AffectedVerdict, EvalRange, RangeSpec};

/// A version ordering scheme, as used by one or more ecosystems.
///
/// The table from ecosystem to scheme lives in [`crate::model::Ecosystem::scheme`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VersionScheme {
    /// dpkg ordering (Debian, Ubuntu).
    Deb,
    /// rpm ordering on epoch:version-release (SUSE, Red Hat, AlmaLinux, ...).
    Rpm,
    /// apk-tools 2 ordering (Alpine, Wolfi, Chainguard).
    Apk,
    /// PEP 440 (PyPI).
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

/// A version string that its scheme rejects, or a scheme we cannot evaluate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{scheme} version {input:?}: {reason}")]
pub struct VersionError {
    /// The scheme that rejected the input (`deb`, `rpm`, ...).
    pub scheme: &'static str,
    /// The rejected input, verbatim.
    pub input: String,
    /// Why it was rejected.
    pub reason: String,
}

impl VersionError {
    /// Builds an error for `input` under `scheme`.
    pub fn new(scheme: &'static str, input: &str, reason: impl Into<String>) -> Self {
        VersionError {
            scheme,
            input: input.to_string(),
            reason: reason.into(),
        }
    }
}

/// A parsed version of one scheme, totally ordered like the ecosystem's tool.
pub trait SchemeVersion: Ord + Sized {
    /// Parses `input`; errors carry the input and the reason.
    fn parse(input: &str) -> Result<Self, VersionError>;
}

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

    /// Compares two version strings under this scheme.
    pub fn compare(self, a: &str, b: &str) -> Result<Ordering, VersionError> {
        macro_rules! cmp {
            ($t:ty) => {{
                let a = <$t>::parse(a)?;
                let b = <$t>::parse(b)?;
                Ok(a.cmp(&b))
            }};
        }
        match self {
            VersionScheme::Rpm => cmp!(rpm::RpmVersion),
            VersionScheme::Go => cmp!(go::GoVersion),
            VersionScheme::Semver => cmp!(semver::SemverVersion),
            other => Err(VersionError::new(
                other.name(),
                a,
                "no comparator implemented for this scheme yet",
            )),
        }
    }

    /// Checks that `version` is valid under this scheme.
    pub fn validate(self, version: &str) -> Result<(), VersionError> {
        self.compare(version, version).map(|_| ())
    }

    /// Whether `version` lies inside the range made of `events` (see [`range`]).
    pub fn contains(
        self,
        version: &str,
        events: &[crate::model::Event],
    ) -> Result<bool, VersionError> {
        match self {
            VersionScheme::Rpm => range::contains::<rpm::RpmVersion>(version, events),
            VersionScheme::Go => range::contains::<go::GoVersion>(version, events),
            VersionScheme::Semver => range::contains::<semver::SemverVersion>(version, events),
            other => Err(VersionError::new(
                other.name(),
                version,
                "no comparator implemented for this scheme yet",
            )),
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
#[error("unknown version scheme {0:?} (expected one of deb, rpm, apk, pep440, semver, go, maven, gem, nuget, composer)")]
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
