//! The package-index key, built in one place for both sides: the rows a
//! record's packages write and the rows a query reads.

use crate::model::Ecosystem;

/// Which package-index rows a query reads: the base ecosystem as stored
/// (`Debian`), the name in the ecosystem's index form (PEP 503 for PyPI),
/// and the release the rows must be of (`Debian:12`; `None`: every release).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PackageKey {
    /// The base ecosystem (`Debian`, `PyPI`).
    pub base: String,
    /// The package name as the index spells it.
    pub name: String,
    /// The full ecosystem when it names a release (`Debian:12`).
    pub release: Option<String>,
}

impl PackageKey {
    /// The key of `name` in `ecosystem`; an ecosystem without a release
    /// reads the package in every release.
    pub fn of(ecosystem: &Ecosystem, name: &str) -> PackageKey {
        PackageKey {
            base: ecosystem.base().to_string(),
            name: ecosystem.index_name(name),
            release: ecosystem.release().map(|_| ecosystem.to_string()),
        }
    }
}

/// The key of one stored package-index row: base ecosystem, index name and
/// full ecosystem (the row's release, or the base again).
pub(super) type RowKey = (String, String, String);

/// The row a record's package `name` in `ecosystem` is written under: the
/// same base and name as [`PackageKey::of`] reads.
pub(super) fn row_key(ecosystem: &Ecosystem, name: &str) -> RowKey {
    let key = PackageKey::of(ecosystem, name);
    (key.base, key.name, ecosystem.to_string())
}
