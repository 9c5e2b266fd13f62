//! Matching a package (and version) against the store, as OSV.dev does.
//!
//! The matching itself ([`match_rows`]) is a pure function of index rows, so
//! it is tested with plain values; [`PackageQuery::run`] only adds the read.

use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;

use crate::model::{ecosystem, Ecosystem, FixStatus};
use crate::store::snapshot::Snapshot;
use crate::store::{IndexedMatch, PackageKey, PackageRow, Store, StoreError};
use crate::version::packed::{pack, Malformed, PackedSpecs};
use crate::version::{AffectedVerdict, Target};

/// Why a query cannot be answered as asked.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// The package name is empty.
    #[error("package name is empty")]
    EmptyName,
    /// The ecosystem is not one advisord knows.
    #[error("unknown ecosystem {0:?}")]
    UnknownEcosystem(String),
    /// The purl cannot be parsed or maps to no ecosystem.
    #[error("invalid purl {purl:?}: {reason}")]
    Purl {
        /// The purl given.
        purl: String,
        /// What is wrong.
        reason: String,
    },
    /// The version was given both in the purl and in the `version` field.
    #[error("version given twice: in the purl ({purl_version:?}) and in the version field")]
    VersionTwice {
        /// The purl's version.
        purl_version: String,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// "Is package P (at version V) in ecosystem E affected?"
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageQuery {
    /// Ecosystem, with or without release (`Debian` covers every `Debian:N`).
    pub ecosystem: Ecosystem,
    /// Package name as the user spelled it.
    pub name: String,
    /// Version; `None` asks for every advisory of the package.
    pub version: Option<String>,
    /// Why `version` cannot be read in the ecosystem's scheme, when it
    /// cannot: such a query is still answered, as OSV.dev answers it (exact
    /// `versions` lists match, ranges are not evaluated, nothing is guessed).
    pub unevaluated: Option<String>,
    /// Statuses whose entries do not count as matches (`ignore_status`, an
    /// advisord extension); by default `not_affected`. A `not_affected`
    /// entry has no affected versions, so only a query without version that
    /// does not ignore it can return it.
    pub ignore_status: Vec<FixStatus>,
}

/// One record matched by a query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryMatch {
    /// Record id.
    pub id: String,
    /// The record's `modified`.
    pub modified: String,
    /// Set when the match is "possibly affected": a range could not be
    /// evaluated (no comparator, or an event version the scheme rejects).
    pub unevaluated: Option<String>,
    /// The fix status of the matching entry (`None` for index rows written
    /// before statuses were kept).
    pub status: Option<FixStatus>,
}

impl PackageQuery {
    /// Builds a query, checking the name, the ecosystem and the version.
    pub fn new(ecosystem: &str, name: &str, version: Option<&str>) -> Result<Self, QueryError> {
        if name.trim().is_empty() {
            return Err(QueryError::EmptyName);
        }
        let info = ecosystem::lookup(ecosystem.split_once(':').map_or(ecosystem, |(b, _)| b))
            .ok_or_else(|| QueryError::UnknownEcosystem(ecosystem.to_string()))?;
        // Normalize the base spelling (`pypi` -> `PyPI`), keep the release.
        let full = match ecosystem.split_once(':') {
            Some((_, release)) => format!("{}:{release}", info.name),
            None => info.name.to_string(),
        };
        let ecosystem =
            Ecosystem::new(full.clone()).map_err(|_| QueryError::UnknownEcosystem(full))?;
        let version = version.map(str::to_string).filter(|v| !v.is_empty());
        // A version the scheme cannot read (an rpm EVR asked under npm, a
        // date under PyPI) is not a malformed request: real inventories are
        // full of them. Legacy PyPI versions count as unreadable, since
        // ranges are never ordered with them (see `version::range`).
        let unevaluated = match (&version, info.scheme) {
            (Some(v), Some(scheme)) => scheme.check_orderable(v).err().map(|e| {
                format!(
                    "version {v:?} is not a valid {} version for ecosystem {ecosystem}: {}",
                    scheme.name(),
                    e.reason
                )
            }),
            _ => None,
        };
        Ok(PackageQuery {
            ecosystem,
            name: name.to_string(),
            version,
            unevaluated,
            ignore_status: default_ignored(),
        })
    }

    /// Like [`PackageQuery::new`], but an ecosystem missing from advisord's
    /// table is accepted when `store` holds records of it (ingest keeps
    /// them): names then compare exactly and only explicit `versions` lists
    /// can match definitely; ranges come out "possibly affected".
    pub fn new_served(
        ecosystem: &str,
        name: &str,
        version: Option<&str>,
        store: &Store,
    ) -> Result<Self, QueryError> {
        match PackageQuery::new(ecosystem, name, version) {
            Err(QueryError::UnknownEcosystem(given)) => {
                let parsed = Ecosystem::new(given.clone())
                    .map_err(|_| QueryError::UnknownEcosystem(given))?;
                if !store.has_ecosystem(parsed.base())? {
                    return Err(QueryError::UnknownEcosystem(parsed.to_string()));
                }
                Ok(PackageQuery {
                    ecosystem: parsed,
                    name: name.to_string(),
                    version: version.map(str::to_string).filter(|v| !v.is_empty()),
                    unevaluated: None,
                    ignore_status: default_ignored(),
                })
            }
            other => other,
        }
    }

    /// Builds a query from a package URL (`pkg:pypi/jinja2@2.4.1`); `version`
    /// is the request's separate version field, which must not repeat the purl's.
    pub fn from_purl(purl: &str, version: Option<&str>) -> Result<Self, QueryError> {
        let parsed = purl_to_package(purl)?;
        let version = match (parsed.version, version.filter(|v| !v.is_empty())) {
            (Some(p), Some(_)) => return Err(QueryError::VersionTwice { purl_version: p }),
            (Some(p), None) => Some(p),
            (None, v) => v.map(str::to_string),
        };
        PackageQuery::new(&parsed.ecosystem, &parsed.name, version.as_deref())
    }

    /// The package-index key this query reads.
    pub fn index_key(&self) -> PackageKey {
        PackageKey::of(&self.ecosystem, &self.name)
    }

    /// Runs the query against `store`.
    pub fn run(&self, store: &Store) -> Result<Vec<QueryMatch>, QueryError> {
        let mut answers = match_batch(&store.snapshot()?, &[self])?;
        Ok(answers.pop().map(|a| a.matches).unwrap_or_default())
    }

    /// A matcher of this query's version and ignored statuses.
    fn matcher(&self, fixes: bool) -> Matcher<'_> {
        let version = self.version.as_deref().map(|v| match self.unevaluated {
            Some(_) => AskedVersion::Unreadable(v),
            None => AskedVersion::Readable(v),
        });
        Matcher::new(version, &self.ignore_status, fixes)
    }

    /// The same query, with entries of `statuses` not counting as matches.
    pub fn ignoring(mut self, statuses: &[FixStatus]) -> Self {
        self.ignore_status = statuses.to_vec();
        self
    }
}

/// The statuses a query ignores unless told otherwise: those not
/// [`FixStatus::is_reported_by_default`].
pub fn default_ignored() -> Vec<FixStatus> {
    FixStatus::ALL
        .into_iter()
        .filter(|s| !s.is_reported_by_default())
        .collect()
}

/// A version as the query asked it, and whether its scheme can read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AskedVersion<'a> {
    /// Valid in the ecosystem's scheme (or the ecosystem has none): ranges
    /// are evaluated.
    Readable(&'a str),
    /// Not valid in the scheme: only exact `versions` lists are checked.
    Unreadable(&'a str),
}

/// Decides which index rows match `version` (all of them when `None`),
/// one result per id, sorted by id. A definite match wins over "possibly".
/// Entries whose status is in `ignore` are left out before matching; a
/// match carries the status of the entry that matched. (The batch path
/// decides rows as it reads them, borrowed; this is the same decision on
/// owned rows.)
pub fn match_rows(
    version: Option<AskedVersion<'_>>,
    rows: &[IndexedMatch],
    ignore: &[FixStatus],
) -> Result<Vec<QueryMatch>, Malformed> {
    decide_owned(Matcher::new(version, ignore, false), rows)
}

/// Runs `matcher` over owned rows, packing each as the index stores it.
fn decide_owned(
    mut matcher: Matcher<'_>,
    rows: &[IndexedMatch],
) -> Result<Vec<QueryMatch>, Malformed> {
    for row in rows {
        let packed = pack(&row.specs);
        matcher.row(&PackageRow {
            ecosystem: &row.ecosystem,
            id: &row.id,
            modified: &row.modified,
            specs: PackedSpecs::new(&packed),
        })?;
    }
    Ok(matcher.finish().matches)
}

/// One query's decision, row by row as the index is read.
struct Matcher<'q> {
    /// A readable version (parsed at most once per scheme met), an
    /// unreadable one (`Err`: exact version lists only), or `None` for
    /// "every row".
    asked: Option<Result<Target<'q>, &'q str>>,
    ignore: &'q [FixStatus],
    /// Every matching row, in index order: sorted by id within a release,
    /// so one id appears more than once only across releases
    /// ([`Matcher::finish`] keeps one).
    matches: Vec<QueryMatch>,
    /// Fixed versions per id over all the package's rows, when asked for.
    fixed: Option<BTreeMap<String, BTreeSet<String>>>,
}

impl<'q> Matcher<'q> {
    fn new(version: Option<AskedVersion<'q>>, ignore: &'q [FixStatus], fixes: bool) -> Self {
        Matcher {
            asked: version.map(|v| match v {
                AskedVersion::Readable(v) => Ok(Target::new(v)),
                AskedVersion::Unreadable(v) => Err(v),
            }),
            ignore,
            matches: Vec::new(),
            fixed: fixes.then(BTreeMap::new),
        }
    }

    /// Decides one row; allocates only for a row that matches.
    fn row(&mut self, row: &PackageRow<'_>) -> Result<(), Malformed> {
        let mut verdict = AffectedVerdict::NotAffected;
        let mut status = None;
        for spec in row.specs.specs() {
            let spec = spec?;
            if let Some(fixed) = &mut self.fixed {
                for version in spec.fixed_versions()? {
                    if !fixed.get(row.id).is_some_and(|f| f.contains(version)) {
                        let set = fixed.entry(row.id.to_string()).or_default();
                        set.insert(version.to_string());
                    }
                }
            }
            if verdict == AffectedVerdict::Affected {
                // Decided: only the fixed versions of the rest are wanted.
                match self.fixed {
                    Some(_) => continue,
                    None => break,
                }
            }
            if spec.status.is_some_and(|st| self.ignore.contains(&st)) {
                continue;
            }
            let spec_verdict = match &mut self.asked {
                None => AffectedVerdict::Affected,
                Some(Ok(target)) => spec.evaluate(target)?,
                Some(Err(v)) if spec.lists(v)? => AffectedVerdict::Affected,
                Some(Err(_)) => AffectedVerdict::NotAffected,
            };
            match spec_verdict {
                AffectedVerdict::Affected => {
                    verdict = AffectedVerdict::Affected;
                    status = spec.status;
                }
                AffectedVerdict::Unknown { .. } if verdict == AffectedVerdict::NotAffected => {
                    verdict = spec_verdict;
                    status = spec.status;
                }
                _ => {}
            }
        }
        let unevaluated = match verdict {
            AffectedVerdict::Affected => None,
            AffectedVerdict::NotAffected => return Ok(()),
            AffectedVerdict::Unknown { reason } => Some(reason),
        };
        self.matches.push(QueryMatch {
            id: row.id.to_string(),
            modified: row.modified.to_string(),
            unevaluated,
            status,
        });
        Ok(())
    }

    /// One match per id, sorted by id: of an id's rows (in index order),
    /// the first definite match, else the last "possibly".
    fn finish(self) -> PackageAnswer {
        let mut matches = self.matches;
        // Only rows of several releases come out of id order.
        if !matches.is_sorted_by(|a, b| a.id <= b.id) {
            matches.sort_by(|a, b| a.id.cmp(&b.id));
        }
        matches.dedup_by(|later, kept| {
            if later.id != kept.id {
                return false;
            }
            if kept.unevaluated.is_some() {
                std::mem::swap(kept, later);
            }
            true
        });
        let mut fixed = self.fixed.unwrap_or_default();
        fixed.retain(|id, _| matches.binary_search_by(|m| m.id.as_str().cmp(id)).is_ok());
        PackageAnswer {
            matches,
            fixed: fixed
                .into_iter()
                .map(|(id, versions)| (id, versions.into_iter().collect()))
                .collect(),
        }
    }
}

/// One query's answer from [`match_batch`].
#[derive(Debug, Clone, Default)]
pub struct PackageAnswer {
    /// What matched, one per id, sorted by id.
    pub matches: Vec<QueryMatch>,
    /// Per matched id, the fixed versions the package's index rows name for
    /// it, sorted (filled by [`match_batch_with_fixes`] only).
    pub fixed: BTreeMap<String, Vec<String>>,
}

/// Answers many queries from one read view of the store, in order: the
/// one batch path of `querybatch`, the single query, VEX and watches.
/// Each index row is decided where it lies in the page, never decoded.
pub fn match_batch(
    snapshot: &Snapshot,
    queries: &[&PackageQuery],
) -> Result<Vec<PackageAnswer>, StoreError> {
    answer_batch(snapshot, queries, false)
}

/// [`match_batch`], each answer also naming the fixed versions of what
/// matched (inventory findings).
pub fn match_batch_with_fixes(
    snapshot: &Snapshot,
    queries: &[&PackageQuery],
) -> Result<Vec<PackageAnswer>, StoreError> {
    answer_batch(snapshot, queries, true)
}

fn answer_batch(
    snapshot: &Snapshot,
    queries: &[&PackageQuery],
    fixes: bool,
) -> Result<Vec<PackageAnswer>, StoreError> {
    let keys: Vec<PackageKey> = queries.iter().map(|q| q.index_key()).collect();
    let mut matchers: Vec<Matcher<'_>> = queries.iter().map(|q| q.matcher(fixes)).collect();
    snapshot.visit_packages(&keys, |i, row| match matchers.get_mut(i) {
        Some(matcher) => matcher.row(row),
        None => Ok(()),
    })?;
    Ok(matchers.into_iter().map(Matcher::finish).collect())
}

/// A package URL mapped to OSV terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PurlPackage {
    /// OSV ecosystem (with release when the purl's `distro` says it).
    pub ecosystem: String,
    /// OSV package name.
    pub name: String,
    /// The purl's version, if any.
    pub version: Option<String>,
}

/// Maps a purl to an OSV ecosystem and package name.
pub fn purl_to_package(purl: &str) -> Result<PurlPackage, QueryError> {
    let err = |reason: String| QueryError::Purl {
        purl: purl.to_string(),
        reason,
    };
    let parsed = packageurl::PackageUrl::from_str(purl).map_err(|e| err(e.to_string()))?;
    let namespace = parsed.namespace().map(str::to_string);
    let name = parsed.name().to_string();
    let joined = |sep: &str| match &namespace {
        Some(ns) => format!("{ns}{sep}{name}"),
        None => name.clone(),
    };
    let distro = parsed
        .qualifiers()
        .iter()
        .find(|(k, _)| k.as_ref() == "distro")
        .map(|(_, v)| v.to_string());
    let (ecosystem, osv_name) = match parsed.ty() {
        "pypi" => ("PyPI".to_string(), name.clone()),
        "npm" => ("npm".to_string(), joined("/")),
        "maven" => ("Maven".to_string(), joined(":")),
        "golang" => ("Go".to_string(), joined("/")),
        "cargo" => ("crates.io".to_string(), name.clone()),
        "gem" => ("RubyGems".to_string(), name.clone()),
        "nuget" => ("NuGet".to_string(), name.clone()),
        "composer" => ("Packagist".to_string(), joined("/")),
        "hex" => ("Hex".to_string(), name.clone()),
        "pub" => ("Pub".to_string(), name.clone()),
        "swift" => ("SwiftURL".to_string(), joined("/")),
        "hackage" => ("Hackage".to_string(), name.clone()),
        "cran" => ("CRAN".to_string(), name.clone()),
        "deb" | "rpm" | "apk" => {
            let vendor = namespace.clone().unwrap_or_default().to_lowercase();
            let base = match vendor.as_str() {
                "debian" => "Debian",
                "ubuntu" => "Ubuntu",
                "alpine" => "Alpine",
                "wolfi" => "Wolfi",
                "chainguard" => "Chainguard",
                "redhat" => "Red Hat",
                "almalinux" => "AlmaLinux",
                "rocky" | "rocky-linux" => "Rocky Linux",
                "suse" => "SUSE",
                "opensuse" => "openSUSE",
                "oracle" => "Oracle Linux",
                "photon" => "Photon OS",
                "azure-linux" | "mariner" => "Azure Linux",
                other => {
                    return Err(err(format!(
                        "unknown {} vendor namespace {other:?}",
                        parsed.ty()
                    )))
                }
            };
            let ecosystem = match distro.as_deref().and_then(|d| distro_release(base, d)) {
                Some(release) => format!("{base}:{release}"),
                None => base.to_string(),
            };
            (ecosystem, name.clone())
        }
        other => return Err(err(format!("purl type {other:?} maps to no OSV ecosystem"))),
    };
    Ok(PurlPackage {
        ecosystem,
        name: osv_name,
        version: parsed.version().map(str::to_string),
    })
}

/// The OSV release suffix for a purl `distro` qualifier, where it is clear.
fn distro_release(base: &str, distro: &str) -> Option<String> {
    let lower = distro.to_lowercase();
    let tail = lower.rsplit_once('-').map_or(lower.as_str(), |(_, t)| t);
    match base {
        // Numbers are put in OSV spelling by `Ecosystem` (`6` -> `6.0`).
        "Debian" => match crate::model::release::debian_codename(tail) {
            Some(release) => Some(release.into()),
            None if tail.chars().all(|c| c.is_ascii_digit() || c == '.') => Some(tail.into()),
            None => None,
        },
        "Alpine" => {
            let mut parts = tail.trim_start_matches('v').split('.');
            match (parts.next(), parts.next()) {
                (Some(major), Some(minor)) => Some(format!("v{major}.{minor}")),
                _ => None,
            }
        }
        "AlmaLinux" | "Rocky Linux" => tail.split('.').next().map(str::to_string),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Event;
    use crate::version::{EvalRange, RangeSpec, VersionScheme};

    fn row(id: &str, eco: &str, scheme: Option<VersionScheme>, events: Vec<Event>) -> IndexedMatch {
        IndexedMatch {
            ecosystem: eco.into(),
            id: id.into(),
            modified: "2024-01-01T00:00:00Z".into(),
            specs: vec![RangeSpec {
                ranges: vec![EvalRange::new(scheme, events)],
                versions: vec![],
                status: None,
            }],
        }
    }

    #[test]
    fn definite_and_possible_matches() {
        let rows = vec![
            row(
                "A",
                "npm",
                Some(VersionScheme::Semver),
                vec![Event::Introduced("0".into()), Event::Fixed("2.0.0".into())],
            ),
            row(
                "B",
                "npm",
                Some(VersionScheme::Semver),
                vec![Event::Introduced("3.0.0".into())],
            ),
            row("C", "npm", None, vec![Event::Introduced("0".into())]),
        ];
        let got = match_rows(Some(AskedVersion::Readable("1.0.0")), &rows, &[]).unwrap();
        let ids: Vec<_> = got
            .iter()
            .map(|m| (m.id.as_str(), m.unevaluated.is_some()))
            .collect();
        assert_eq!(ids, vec![("A", false), ("C", true)]);
        assert_eq!(match_rows(None, &rows, &[]).unwrap().len(), 3);
    }

    #[test]
    fn one_match_per_id_across_releases_a_definite_one_winning() {
        let definite = |eco: &str| {
            let mut r = row(
                "X",
                eco,
                Some(VersionScheme::Semver),
                vec![Event::Introduced("0".into())],
            );
            r.specs[0].status = Some(FixStatus::Affected);
            r
        };
        let possible = |eco: &str| {
            let mut r = row("X", eco, None, vec![Event::Introduced("0".into())]);
            r.specs[0].status = Some(FixStatus::WillNotFix);
            r
        };
        let other = row("A", "npm:2", None, vec![Event::Introduced("0".into())]);
        let asked = Some(AskedVersion::Readable("1.0.0"));
        for rows in [
            vec![possible("npm:1"), other.clone(), definite("npm:2")],
            vec![definite("npm:1"), other.clone(), possible("npm:2")],
        ] {
            let got = match_rows(asked, &rows, &[]).unwrap();
            let got: Vec<_> = got
                .iter()
                .map(|m| (m.id.as_str(), m.unevaluated.is_some(), m.status))
                .collect();
            assert_eq!(
                got,
                vec![("A", true, None), ("X", false, Some(FixStatus::Affected))]
            );
        }
        // Only "possibly": the last row's reason and status are kept.
        let rows = vec![possible("npm:1"), {
            let mut r = possible("npm:2");
            r.specs[0].status = Some(FixStatus::FixDeferred);
            r
        }];
        let got = match_rows(asked, &rows, &[]).unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].status, Some(FixStatus::FixDeferred));
    }

    #[test]
    fn an_unreadable_version_matches_exact_versions_lists_only() {
        let mut listed = row(
            "LISTED",
            "npm",
            Some(VersionScheme::Semver),
            vec![Event::Introduced("0".into())],
        );
        listed.specs[0].versions = vec!["1:2.3-4.el9".into()];
        let ranged = row(
            "RANGED",
            "npm",
            Some(VersionScheme::Semver),
            vec![Event::Introduced("0".into())],
        );
        let q = PackageQuery::new("npm", "x", Some("1:2.3-4.el9")).unwrap();
        let reason = q.unevaluated.as_deref().unwrap();
        assert!(reason.contains("semver"), "{reason}");
        let got = decide_owned(q.matcher(false), &[listed, ranged.clone()]).unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(
            (got[0].id.as_str(), got[0].unevaluated.as_ref()),
            ("LISTED", None)
        );
        // The same range with a readable version matches.
        let q = PackageQuery::new("npm", "x", Some("1.0.0")).unwrap();
        assert!(q.unevaluated.is_none());
        assert_eq!(decide_owned(q.matcher(false), &[ranged]).unwrap().len(), 1);
        // A date is no PEP 440 version (only a legacy one): not evaluated.
        let q = PackageQuery::new("PyPI", "x", Some("2019-09-12")).unwrap();
        assert!(q.unevaluated.is_some());
    }

    #[test]
    fn purls_map_to_osv_names() {
        let p = purl_to_package("pkg:npm/%40babel/core@7.0.0").unwrap();
        assert_eq!(
            (p.ecosystem.as_str(), p.name.as_str(), p.version.as_deref()),
            ("npm", "@babel/core", Some("7.0.0"))
        );
        let p = purl_to_package("pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1").unwrap();
        assert_eq!(p.name, "org.apache.logging.log4j:log4j-core");
        let p =
            purl_to_package("pkg:deb/debian/openssl@1.1.1n-0%2Bdeb11u3?distro=debian-11").unwrap();
        assert_eq!(
            (p.ecosystem.as_str(), p.version.as_deref()),
            ("Debian:11", Some("1.1.1n-0+deb11u3"))
        );
        let p = purl_to_package("pkg:apk/alpine/busybox@1.36.1-r0?distro=alpine-3.19.1").unwrap();
        assert_eq!(p.ecosystem, "Alpine:v3.19");
        assert!(purl_to_package("pkg:unknowntype/x@1").is_err());
        assert!(purl_to_package("not a purl").is_err());
    }

    #[test]
    fn version_twice_is_rejected() {
        let err = PackageQuery::from_purl("pkg:pypi/jinja2@2.4.1", Some("2.4.1")).unwrap_err();
        assert!(matches!(err, QueryError::VersionTwice { .. }));
    }

    #[test]
    fn empty_name_and_unknown_ecosystem() {
        assert!(matches!(
            PackageQuery::new("PyPI", " ", None),
            Err(QueryError::EmptyName)
        ));
        assert!(matches!(
            PackageQuery::new("Nonesuch", "x", None),
            Err(QueryError::UnknownEcosystem(_))
        ));
        let q = PackageQuery::new("pypi", "Jinja2", None).unwrap();
        assert_eq!(
            q.index_key(),
            PackageKey {
                base: "PyPI".into(),
                name: "jinja2".into(),
                release: None
            }
        );
    }
}
