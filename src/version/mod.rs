//! Version ordering per ecosystem and the OSV range evaluator.
//!
//! Each scheme lives in its own file and exposes one type implementing
//! [`SchemeVersion`]: parse once, then compare with `Ord`, exactly as the
//! ecosystem's own tool orders versions. [`VersionScheme`] names the schemes
//! and dispatches to them; [`key`] turns a version into bytes ordered like
//! its scheme (stored in the package index, so matching compares bytes);
//! [`range`] decides whether a version is inside a set of OSV ranges; [`batch`] is the `A<TAB>B` line protocol behind
//! `advisord vercmp`.
//!
//! | scheme | real implementation matched | file |
//! |---|---|---|
//! | deb | dpkg 1.21 `parseversion` + `dpkg_version_compare` | [`deb`] |
//! | rpm | rpm 4.18 `rpmverParse` + `rpmverCmp` (lua `rpm.vercmp`) | [`rpm`] |
//! | apk | apk-tools 2.14 `apk_version_compare` | [`apk`] |
//! | pep440 | packaging 26 `Version`, else packaging 21 `LegacyVersion` | [`pep440`] |
//! | semver | node-semver 7 (npm), loose parsing, `compare` | [`semver`] |
//! | go | `golang.org/x/mod/semver.Compare` (a missing `v` is added) | [`go`] |
//! | maven | Maven 3.8 `ComparableVersion` | [`maven`] |
//! | gem | rubygems 3.3 `Gem::Version#<=>` | [`gem`] |
//! | nuget | NuGet.Versioning 5 `NuGetVersion.TryParse` + `VersionComparer.Default` | [`nuget`] |
//! | composer | composer/semver 3 `VersionParser::normalize` + `Comparator` | [`composer`] |
//!
//! Every one is checked pair by pair against the real tool (`tests/integration/version.rs`).
//! A string the tool rejects is a [`VersionError`] carrying the input; nothing
//! panics on any input.
//!
//! # apk-tools 3
//!
//! Alpine's own releases use apk-tools 2 (the ordering here, checked pair by
//! pair against apk-tools 2.14.10). apk-tools 3 orders leading zeros,
//! digits after a letter, suffix names, a repeated `-r`, unreadable tails
//! and `~hash` tokens differently: [`apk`] lists each difference, and the
//! vector test counts the rows of apk-tools 3's own vectors that differ.
//!
//! # Ecosystems without a comparator
//!
//! Some ecosystems have no ordering here (the `None` rows of
//! [`crate::model::ecosystem::ECOSYSTEMS`]: CRAN, Hackage, Bioconductor, opam,
//! Linux, Android, OSS-Fuzz, ...). For them only the explicit `versions` list of an
//! `affected` entry is used, by exact string equality; an `ECOSYSTEM` range there
//! is not guessed with another scheme: [`RangeSpec::evaluate`] answers
//! [`AffectedVerdict::Unknown`] with the reason, so callers report "possibly
//! affected" instead of silently matching or dropping it. `GIT` ranges are never
//! version-ordered.

use std::cmp::Ordering;

/// Derives `PartialOrd`, `PartialEq` and `Eq` from a scheme version's
/// `Ord`: two versions are equal when their tool orders them equal
/// (`1.0` and `1.0.0` in some schemes), never by their spelling.
macro_rules! order_by_cmp {
    ($version:ty) => {
        impl PartialOrd for $version {
            fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
                Some(self.cmp(other))
            }
        }

        impl PartialEq for $version {
            fn eq(&self, other: &Self) -> bool {
                self.cmp(other) == std::cmp::Ordering::Equal
            }
        }

        impl Eq for $version {}
    };
}

pub mod apk;
pub mod batch;
pub mod composer;
pub mod deb;
pub mod gem;
pub mod go;
pub mod key;
pub mod maven;
pub mod nuget;
pub mod packed;
pub mod pep440;
pub mod range;
pub mod rpm;
pub mod semver;

pub use crate::model::{UnknownScheme, VersionScheme, ALL_SCHEMES};
pub use key::OrderKey;
pub use range::{AffectedVerdict, EvalRange, KeyedRange, RangeSpec, Target};

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

    /// Why this value came from a fallback parse (e.g. PyPI's legacy
    /// versions) rather than the scheme proper, if it did. Matching does
    /// not trust fallback ordering: such a range is reported as unevaluable.
    fn fallback_reason(&self) -> Option<&'static str> {
        None
    }

    /// This version's order key (see [`key`]), or `None` where no byte key
    /// captures the scheme's order for it; matching then compares parsed values.
    fn order_key(&self) -> Option<OrderKey> {
        None
    }
}

impl VersionScheme {
    /// Compares two version strings under this scheme, exactly as the scheme's
    /// tool does. Errors: a side the tool rejects, or (composer) two different
    /// `dev-` branches, which Composer does not order.
    pub fn compare(self, a: &str, b: &str) -> Result<Ordering, VersionError> {
        macro_rules! cmp {
            ($t:ty) => {{
                let a = <$t>::parse(a)?;
                let b = <$t>::parse(b)?;
                Ok(a.cmp(&b))
            }};
        }
        match self {
            VersionScheme::Deb => cmp!(deb::DebVersion),
            VersionScheme::Apk => cmp!(apk::ApkVersion),
            VersionScheme::Rpm => cmp!(rpm::RpmVersion),
            VersionScheme::Go => cmp!(go::GoVersion),
            VersionScheme::Gem => cmp!(gem::GemVersion),
            VersionScheme::Maven => cmp!(maven::MavenVersion),
            VersionScheme::Nuget => cmp!(nuget::NugetVersion),
            VersionScheme::Composer => {
                let x = composer::ComposerVersion::parse(a)?;
                let y = composer::ComposerVersion::parse(b)?;
                x.try_cmp(&y).ok_or_else(|| {
                    VersionError::new(
                        "composer",
                        b,
                        format!("branches {a:?} and {b:?} are not ordered by Composer"),
                    )
                })
            }
            VersionScheme::Pep440 => cmp!(pep440::PypiVersion),
            VersionScheme::Semver => cmp!(semver::SemverVersion),
        }
    }

    /// Checks that `version` is valid under this scheme.
    pub fn validate(self, version: &str) -> Result<(), VersionError> {
        self.compare(version, version).map(|_| ())
    }

    /// Checks that `version` can be placed in a range: valid under this
    /// scheme and not a fallback parse (legacy PyPI versions), the test the
    /// range evaluator applies to every version it orders.
    pub fn check_orderable(self, version: &str) -> Result<(), VersionError> {
        self.contains(version, &[]).map(|_| ())
    }

    /// The order key of `version` (see [`key`]): `None` when the scheme
    /// rejects it, when it is a fallback parse (never ordered in ranges), or
    /// when the scheme has no byte key for it.
    pub fn order_key(self, version: &str) -> Option<OrderKey> {
        fn of<V: SchemeVersion>(version: &str) -> Option<OrderKey> {
            let parsed = V::parse(version).ok()?;
            match parsed.fallback_reason() {
                Some(_) => None,
                None => parsed.order_key(),
            }
        }
        match self {
            VersionScheme::Deb => of::<deb::DebVersion>(version),
            VersionScheme::Apk => of::<apk::ApkVersion>(version),
            VersionScheme::Rpm => of::<rpm::RpmVersion>(version),
            VersionScheme::Go => of::<go::GoVersion>(version),
            VersionScheme::Gem => of::<gem::GemVersion>(version),
            VersionScheme::Maven => of::<maven::MavenVersion>(version),
            VersionScheme::Nuget => of::<nuget::NugetVersion>(version),
            VersionScheme::Composer => of::<composer::ComposerVersion>(version),
            VersionScheme::Pep440 => of::<pep440::PypiVersion>(version),
            VersionScheme::Semver => of::<semver::SemverVersion>(version),
        }
    }

    /// Whether `version` lies inside the range made of `events` (see [`range`]).
    pub fn contains(
        self,
        version: &str,
        events: &[crate::model::Event],
    ) -> Result<bool, VersionError> {
        match self {
            VersionScheme::Deb => range::contains::<deb::DebVersion>(version, events),
            VersionScheme::Apk => range::contains::<apk::ApkVersion>(version, events),
            VersionScheme::Rpm => range::contains::<rpm::RpmVersion>(version, events),
            VersionScheme::Go => range::contains::<go::GoVersion>(version, events),
            VersionScheme::Gem => range::contains::<gem::GemVersion>(version, events),
            VersionScheme::Maven => range::contains::<maven::MavenVersion>(version, events),
            VersionScheme::Nuget => range::contains::<nuget::NugetVersion>(version, events),
            VersionScheme::Composer => {
                range::contains::<composer::ComposerVersion>(version, events)
            }
            VersionScheme::Pep440 => range::contains::<pep440::PypiVersion>(version, events),
            VersionScheme::Semver => range::contains::<semver::SemverVersion>(version, events),
        }
    }
}
