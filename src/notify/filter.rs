//! Change filters: which change-log entries a stream, page or webhook wants.

use std::collections::HashSet;

use crate::model::Ecosystem;
use crate::query::{purl_to_package, PackageQuery, QueryError};
use crate::store::snapshot::Snapshot;
use crate::store::subscriptions::ChangeFilter;
use crate::store::{ChangeEntry, PackageRef, StoreError};

/// A [`ChangeFilter`] checked and ready to match.
#[derive(Debug, Clone, Default)]
pub struct CompiledFilter {
    ecosystem: Option<Ecosystem>,
    /// (ecosystem of the name, name in that ecosystem's index form), or a
    /// bare name compared against every ecosystem's index form.
    package: Option<String>,
    purl: Option<(Ecosystem, String)>,
    feed: Option<String>,
    alias_ids: Option<HashSet<String>>,
}

/// Why a change filter is refused (answered as a 400).
#[derive(Debug, thiserror::Error)]
pub enum FilterError {
    /// An unknown ecosystem, or a purl that maps to none.
    #[error(transparent)]
    Query(#[from] QueryError),
    /// A package filter of only blanks.
    #[error("package filter is empty")]
    EmptyPackage,
}

/// Checks a filter: ecosystems must be known, purls must map to one.
pub fn validate(filter: &ChangeFilter) -> Result<(), FilterError> {
    if let Some(e) = &filter.ecosystem {
        PackageQuery::new(e, "x", None)?;
    }
    if let Some(p) = &filter.purl {
        let parsed = purl_to_package(p)?;
        PackageQuery::new(&parsed.ecosystem, &parsed.name, None)?;
    }
    if filter
        .package
        .as_deref()
        .is_some_and(|p| p.trim().is_empty())
    {
        return Err(FilterError::EmptyPackage);
    }
    Ok(())
}

impl CompiledFilter {
    /// Compiles `filter`; aliases are resolved against `snapshot` (so a
    /// filter on `CVE-X` matches the DSA, USN, GHSA... naming it).
    pub fn compile(filter: &ChangeFilter, snapshot: &Snapshot) -> Result<Self, StoreError> {
        let ecosystem = filter
            .ecosystem
            .as_deref()
            .and_then(|e| PackageQuery::new(e, "x", None).ok())
            .map(|q| q.ecosystem);
        let purl = filter
            .purl
            .as_deref()
            .and_then(|p| PackageQuery::from_purl(p, None).ok())
            .map(|q| (q.ecosystem.clone(), q.ecosystem.index_name(&q.name)));
        let alias_ids = match &filter.alias {
            Some(alias) => {
                let mut ids: HashSet<String> = snapshot.ids_for_alias(alias)?.into_iter().collect();
                ids.insert(alias.clone());
                Some(ids)
            }
            None => None,
        };
        Ok(CompiledFilter {
            ecosystem,
            package: filter.package.clone(),
            purl,
            feed: filter.feed.clone(),
            alias_ids,
        })
    }

    /// Whether the filter sets no condition.
    pub fn is_empty(&self) -> bool {
        self.ecosystem.is_none()
            && self.package.is_none()
            && self.purl.is_none()
            && self.feed.is_none()
            && self.alias_ids.is_none()
    }

    fn package_matches(&self, p: &PackageRef) -> bool {
        let Ok(eco) = Ecosystem::new(p.ecosystem.clone()) else {
            return false;
        };
        let same_ecosystem = |want: &Ecosystem| match want.release() {
            Some(_) => want.as_str() == eco.as_str(),
            None => want.base() == eco.base(),
        };
        if let Some(want) = &self.ecosystem {
            if !same_ecosystem(want) {
                return false;
            }
        }
        if let Some(name) = &self.package {
            if eco.index_name(name) != eco.index_name(&p.name) {
                return false;
            }
        }
        if let Some((want, name)) = &self.purl {
            if !same_ecosystem(want) || eco.index_name(&p.name) != *name {
                return false;
            }
        }
        true
    }

    /// Whether `change` passes every condition.
    pub fn matches(&self, change: &ChangeEntry) -> bool {
        if self.feed.as_ref().is_some_and(|f| *f != change.feed) {
            return false;
        }
        if self
            .alias_ids
            .as_ref()
            .is_some_and(|ids| !ids.contains(&change.id))
        {
            return false;
        }
        if self.ecosystem.is_none() && self.package.is_none() && self.purl.is_none() {
            return true;
        }
        change.packages.iter().any(|p| self.package_matches(p))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::ChangeKind;

    fn change(feed: &str, packages: &[(&str, &str)]) -> ChangeEntry {
        ChangeEntry {
            seq: 1,
            id: "GHSA-x".into(),
            kind: ChangeKind::Created,
            modified: "2024-01-01T00:00:00Z".into(),
            feed: feed.into(),
            recorded: "2024-01-01T00:00:00Z".into(),
            packages: packages
                .iter()
                .map(|(e, n)| PackageRef {
                    ecosystem: e.to_string(),
                    name: n.to_string(),
                })
                .collect(),
        }
    }

    fn compiled(filter: ChangeFilter) -> CompiledFilter {
        // No alias in these filters, so no store is needed.
        CompiledFilter {
            ecosystem: filter
                .ecosystem
                .as_deref()
                .map(|e| PackageQuery::new(e, "x", None).unwrap().ecosystem),
            package: filter.package,
            purl: filter.purl.as_deref().map(|p| {
                let q = PackageQuery::from_purl(p, None).unwrap();
                (q.ecosystem.clone(), q.ecosystem.index_name(&q.name))
            }),
            feed: filter.feed,
            alias_ids: None,
        }
    }

    #[test]
    fn ecosystem_package_purl_feed() {
        let c = change("osv:a", &[("Debian:12", "openssl"), ("PyPI", "Jinja2")]);
        let f = |e: Option<&str>, p: Option<&str>, u: Option<&str>, feed: Option<&str>| {
            compiled(ChangeFilter {
                ecosystem: e.map(Into::into),
                package: p.map(Into::into),
                purl: u.map(Into::into),
                feed: feed.map(Into::into),
                alias: None,
            })
            .matches(&c)
        };
        assert!(f(None, None, None, None));
        assert!(f(Some("Debian"), None, None, None));
        assert!(f(Some("Debian:12"), Some("openssl"), None, None));
        assert!(!f(Some("Debian:11"), None, None, None));
        assert!(!f(Some("Debian"), Some("jinja2"), None, None));
        assert!(f(Some("pypi"), Some("jinja2"), None, None));
        assert!(f(None, None, Some("pkg:pypi/jinja2"), None));
        assert!(!f(None, None, Some("pkg:npm/jinja2"), None));
        assert!(f(None, None, None, Some("osv:a")));
        assert!(!f(None, None, None, Some("osv:b")));
        assert!(validate(&ChangeFilter {
            ecosystem: Some("Nonesuch".into()),
            ..Default::default()
        })
        .is_err());
    }
}
