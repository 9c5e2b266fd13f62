//! The per-CVE view: every source's statement about one CVE, side by side.
//!
//! Distribution trackers show, per CVE, what each release says about each
//! package; no OSV API does. [`CveView::build`] takes every record naming
//! the CVE (as id, alias or upstream), groups their affected entries by
//! ecosystem/release and package, and says per package whether the sources
//! agree: same fix status and, when fixed, the same fixed version (compared
//! in the ecosystem's own version ordering, so `1:2.0` and `1:2.0-0` agree
//! where the scheme says so).

use std::cmp::Ordering;
use std::collections::BTreeMap;

use serde::Serialize;

use crate::model::{Advisory, Affected, Ecosystem, Event, FixStatus};
use crate::store::{Store, StoreError};

/// What every source says about one CVE.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CveView {
    /// The CVE id asked for.
    pub id: String,
    /// The ids of the records naming it, sorted.
    pub records: Vec<String>,
    /// One group per ecosystem with its release (`Debian:12`), sorted.
    pub releases: Vec<ReleaseView>,
    /// Whether every package of every release has agreeing sources.
    pub agree: bool,
}

/// The packages of one ecosystem release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReleaseView {
    /// The ecosystem with its release (`Debian:12`, `Red Hat:9`).
    pub ecosystem: String,
    /// The packages, sorted by name.
    pub packages: Vec<PackageView>,
}

/// What the sources say about one package in one release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PackageView {
    /// The package name.
    pub name: String,
    /// Every source's statement, ordered by feed then record.
    pub statements: Vec<Statement>,
    /// Whether the statements agree (same status; same fixed version when fixed).
    pub agree: bool,
    /// When they do not: the distinct claims, each with the sources making it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub disagreements: Vec<Claim>,
}

/// One source's statement about a package: one affected entry of one record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Statement {
    /// The record the entry belongs to.
    pub record: String,
    /// The feed that contributed the entry.
    pub feed: String,
    /// The upstream id the feed published it under (`DSA-5678-1`, `CVE-...`).
    pub upstream_id: String,
    /// The fix status (`None` for entries stored before statuses existed).
    pub status: Option<FixStatus>,
    /// The source's own word for the status.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_source: Option<String>,
    /// Why not affected, in the vendor's words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub justification: Option<String>,
    /// The fixed version(s) the entry names, sorted.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fixed: Vec<String>,
}

/// One distinct claim among disagreeing statements.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Claim {
    /// The status claimed.
    pub status: Option<FixStatus>,
    /// The fixed version(s) claimed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fixed: Vec<String>,
    /// Who claims it: `feed (upstream id)`.
    pub sources: Vec<String>,
}

impl CveView {
    /// Reads every non-withdrawn record naming `cve` from `store` and builds
    /// the view; `None` when no record names it.
    pub fn read(store: &Store, cve: &str) -> Result<Option<CveView>, StoreError> {
        let mut records = Vec::new();
        for id in store.ids_for_alias(cve)? {
            if let Some(record) = store.get(&id)? {
                if !record.is_withdrawn() {
                    records.push(record);
                }
            }
        }
        if records.is_empty() {
            return Ok(None);
        }
        Ok(Some(CveView::build(cve, &records)))
    }

    /// The view of `cve` over `records` (each assumed to name it).
    pub fn build(cve: &str, records: &[Advisory]) -> CveView {
        let mut groups: BTreeMap<(String, String), (Ecosystem, Vec<Statement>)> = BTreeMap::new();
        for record in records {
            for entry in &record.affected {
                let Some(package) = &entry.package else {
                    continue;
                };
                let statement = statement_of(record, entry);
                groups
                    .entry((package.ecosystem.to_string(), package.name.clone()))
                    .or_insert_with(|| (package.ecosystem.clone(), Vec::new()))
                    .1
                    .push(statement);
            }
        }
        let mut releases: BTreeMap<String, Vec<PackageView>> = BTreeMap::new();
        for ((ecosystem_name, name), (ecosystem, mut statements)) in groups {
            statements.sort_by(|a, b| {
                (&a.feed, &a.record, &a.fixed).cmp(&(&b.feed, &b.record, &b.fixed))
            });
            statements.dedup();
            let disagreements = claims(&ecosystem, &statements);
            releases
                .entry(ecosystem_name)
                .or_default()
                .push(PackageView {
                    name,
                    agree: disagreements.is_empty(),
                    disagreements,
                    statements,
                });
        }
        let releases: Vec<ReleaseView> = releases
            .into_iter()
            .map(|(ecosystem, packages)| ReleaseView {
                ecosystem,
                packages,
            })
            .collect();
        let mut ids: Vec<String> = records.iter().map(|r| r.id.to_string()).collect();
        ids.sort();
        ids.dedup();
        CveView {
            id: cve.to_string(),
            records: ids,
            agree: releases.iter().all(|r| r.packages.iter().all(|p| p.agree)),
            releases,
        }
    }

    /// Every package whose sources disagree, as `(ecosystem, package)`.
    pub fn disagreeing(&self) -> impl Iterator<Item = (&ReleaseView, &PackageView)> {
        self.releases
            .iter()
            .flat_map(|r| r.packages.iter().map(move |p| (r, p)))
            .filter(|(_, p)| !p.agree)
    }
}

/// The statement an affected entry of `record` makes.
fn statement_of(record: &Advisory, entry: &Affected) -> Statement {
    let feed = entry.feed().unwrap_or_default().to_string();
    let upstream_id = record
        .sources()
        .iter()
        .find(|p| p.feed == feed)
        .map_or_else(|| record.id.to_string(), |p| p.upstream_id.clone());
    let mut fixed: Vec<String> = entry
        .ranges
        .iter()
        .flat_map(|r| r.events.iter())
        .filter_map(|e| match e {
            Event::Fixed(v) => Some(v.clone()),
            _ => None,
        })
        .collect();
    fixed.sort();
    fixed.dedup();
    let status = entry.status_statement();
    Statement {
        record: record.id.to_string(),
        feed,
        upstream_id,
        status: status.as_ref().map(|s| s.status),
        status_source: status.as_ref().map(|s| s.source.clone()),
        justification: status.and_then(|s| s.justification),
        fixed,
    }
}

/// The distinct claims of `statements`, or none when they all agree.
/// Two statements agree when their status is the same and, when fixed,
/// their fixed versions are equal in the ecosystem's ordering. Entries of
/// one source (same feed and upstream id) never disagree with each other:
/// they are different components of its document (an rpm and a container
/// of the same name), not two sources' views.
fn claims(ecosystem: &Ecosystem, statements: &[Statement]) -> Vec<Claim> {
    let sources: std::collections::BTreeSet<(&str, &str)> = statements
        .iter()
        .map(|s| (s.feed.as_str(), s.upstream_id.as_str()))
        .collect();
    if sources.len() < 2 {
        return Vec::new();
    }
    let mut out: Vec<Claim> = Vec::new();
    for s in statements {
        let source = format!("{} ({})", s.feed, s.upstream_id);
        let fixed = if s.status == Some(FixStatus::Fixed) {
            s.fixed.clone()
        } else {
            Vec::new()
        };
        match out
            .iter_mut()
            .find(|c| c.status == s.status && same_versions(ecosystem, &c.fixed, &fixed))
        {
            Some(claim) => {
                if !claim.sources.contains(&source) {
                    claim.sources.push(source);
                }
            }
            None => out.push(Claim {
                status: s.status,
                fixed,
                sources: vec![source],
            }),
        }
    }
    if out.len() > 1 {
        out
    } else {
        Vec::new()
    }
}

/// Whether two sorted version lists name the same versions, compared in
/// the ecosystem's scheme (by string where it has none or one fails to parse).
fn same_versions(ecosystem: &Ecosystem, a: &[String], b: &[String]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| match ecosystem.scheme() {
            Some(scheme) => scheme
                .compare(x, y)
                .map_or(x == y, |o| o == Ordering::Equal),
            None => x == y,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(json: serde_json::Value) -> Advisory {
        serde_json::from_value(json).expect("record")
    }

    #[test]
    fn disagreeing_fixed_versions_are_listed_and_equal_ones_agree() {
        let tracker = record(serde_json::json!({
            "id": "CVE-2024-1", "modified": "2024-01-01T00:00:00Z",
            "database_specific": {"advisord": {"sources": [{"feed": "debian-tracker", "upstream_id": "CVE-2024-1", "source": "x", "fetched": "2024-01-01T00:00:00Z", "digest": "sha256:00"}]}},
            "affected": [
                {"package": {"ecosystem": "Debian:12", "name": "p"},
                 "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.0-1"}]}],
                 "database_specific": {"advisord": {"feed": "debian-tracker", "status": "fixed", "status_source": "resolved"}}},
                {"package": {"ecosystem": "Debian:11", "name": "p"},
                 "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "0:0.9-1"}]}],
                 "database_specific": {"advisord": {"feed": "debian-tracker", "status": "fixed", "status_source": "resolved"}}}
            ]
        }));
        let dsa = record(serde_json::json!({
            "id": "DSA-1-1", "modified": "2024-01-01T00:00:00Z", "aliases": ["CVE-2024-1"],
            "database_specific": {"advisord": {"sources": [{"feed": "mail", "upstream_id": "DSA-1-1", "source": "x", "fetched": "2024-01-01T00:00:00Z", "digest": "sha256:00"}]}},
            "affected": [
                {"package": {"ecosystem": "Debian:12", "name": "p"},
                 "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.0-2"}]}],
                 "database_specific": {"advisord": {"feed": "mail", "status": "fixed", "status_source": "announced fix"}}},
                {"package": {"ecosystem": "Debian:11", "name": "p"},
                 "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "0.9-1"}]}],
                 "database_specific": {"advisord": {"feed": "mail", "status": "fixed", "status_source": "announced fix"}}}
            ]
        }));
        let view = CveView::build("CVE-2024-1", &[tracker, dsa]);
        assert_eq!(view.records, vec!["CVE-2024-1", "DSA-1-1"]);
        assert!(!view.agree);
        let by_release: BTreeMap<_, _> = view
            .releases
            .iter()
            .map(|r| (r.ecosystem.as_str(), &r.packages[0]))
            .collect();
        // `0:0.9-1` and `0.9-1` are one dpkg version.
        assert!(by_release["Debian:11"].agree);
        let bookworm = by_release["Debian:12"];
        assert!(!bookworm.agree);
        let fixed: Vec<_> = bookworm
            .disagreements
            .iter()
            .map(|c| (c.fixed.clone(), c.sources.clone()))
            .collect();
        assert_eq!(
            fixed,
            vec![
                (
                    vec!["1.0-1".to_string()],
                    vec!["debian-tracker (CVE-2024-1)".to_string()]
                ),
                (
                    vec!["1.0-2".to_string()],
                    vec!["mail (DSA-1-1)".to_string()]
                ),
            ]
        );
        assert_eq!(view.disagreeing().count(), 1);
    }
}
