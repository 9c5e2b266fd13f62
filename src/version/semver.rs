//! Semantic Versioning 2.0 precedence, as used by OSV `SEMVER` ranges.

use std::cmp::Ordering;

use super::{SchemeVersion, VersionError};

/// A SemVer 2.0 version; build metadata is kept but ignored for ordering.
#[derive(Debug, Clone)]
pub struct SemverVersion(::semver::Version);

impl SchemeVersion for SemverVersion {
    fn parse(input: &str) -> Result<Self, VersionError> {
        let trimmed = input.trim();
        let bare = trimmed.strip_prefix('v').unwrap_or(trimmed);
        ::semver::Version::parse(bare)
            .map(SemverVersion)
            .map_err(|e| VersionError::new("semver", input, e.to_string()))
    }
}

impl Ord for SemverVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.cmp_precedence(&other.0)
    }
}

impl PartialOrd for SemverVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for SemverVersion {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for SemverVersion {}
