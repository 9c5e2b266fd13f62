//! OpenVEX out: what the sources say about an inventory, as VEX statements.
//!
//! One statement per (advisory, product purl), where the product is an
//! inventory package at its installed version. The status comes from the
//! entry of the advisory that names the package ([`FixStatus`]):
//!
//! - the installed version is inside an affected range: `affected` (with an
//!   action statement: the fixed version, or why there is none), or
//!   `under_investigation` when the vendor says so or the range could not
//!   be evaluated;
//! - the installed version is at or past a fixed version: `fixed`;
//! - the vendor states the package is not affected: `not_affected` with the
//!   vendor's justification when it is one of OpenVEX's labels, else its
//!   words as the impact statement;
//! - the version is outside the affected ranges without a fix before it:
//!   `not_affected`, with an impact statement saying so.
//!
//! Each statement cites its advisory (id, feed, upstream id, source word) in
//! `status_notes`. OpenVEX 0.2.0 (`https://openvex.dev/ns/v0.2.0`).

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::formats::sha256_digest;
use crate::model::{Advisory, Affected, Ecosystem, Event, FixStatus, InventoryPackage, Timestamp};
use crate::query::{default_ignored, match_batch, PackageQuery, QueryMatch};
use crate::store::{Store, StoreError};

/// The OpenVEX context this module writes.
pub const OPENVEX_CONTEXT: &str = "https://openvex.dev/ns/v0.2.0";

/// The justification labels OpenVEX accepts for `not_affected`.
pub const JUSTIFICATIONS: [&str; 5] = [
    "component_not_present",
    "vulnerable_code_not_present",
    "vulnerable_code_not_in_execute_path",
    "vulnerable_code_cannot_be_controlled_by_adversary",
    "inline_mitigations_already_exist",
];

/// An OpenVEX document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VexDocument {
    /// The OpenVEX context IRI.
    #[serde(rename = "@context")]
    pub context: String,
    /// The document's IRI: a digest of its subject and statements.
    #[serde(rename = "@id")]
    pub id: String,
    /// Who states it.
    pub author: String,
    /// The author's role.
    pub role: String,
    /// When the document was issued.
    pub timestamp: String,
    /// The document version (always 1: each document is issued once).
    pub version: u32,
    /// What produced it.
    pub tooling: String,
    /// The statements, sorted by vulnerability then product.
    pub statements: Vec<VexStatement>,
}

/// One VEX statement: one advisory about one product.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct VexStatement {
    /// The advisory.
    pub vulnerability: VexVulnerability,
    /// The product (one per statement).
    pub products: Vec<VexProduct>,
    /// `affected`, `not_affected`, `fixed` or `under_investigation`.
    pub status: &'static str,
    /// Which advisory and source support the status.
    pub status_notes: String,
    /// When the advisory last changed.
    pub timestamp: String,
    /// For `not_affected`: one of [`JUSTIFICATIONS`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub justification: Option<String>,
    /// For `not_affected` without a label: why, in words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub impact_statement: Option<String>,
    /// For `affected`: what to do.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action_statement: Option<String>,
}

/// The vulnerability of a statement: the advisory id and its aliases.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct VexVulnerability {
    /// The advisory id (`DSA-5678-1`, `CVE-2024-1234`).
    pub name: String,
    /// Its other ids (CVE of a DSA, ...).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
}

/// A product: the package URL of an installed package.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct VexProduct {
    /// The purl, as the product's IRI.
    #[serde(rename = "@id")]
    pub id: String,
    /// The same purl as identifier.
    pub identifiers: VexIdentifiers,
}

/// Software identifiers of a product.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct VexIdentifiers {
    /// Package URL.
    pub purl: String,
}

/// What the statements are about, for the document id and its author.
#[derive(Debug, Clone)]
pub struct VexSubject<'a> {
    /// `watch <id>` or `scan <file>`.
    pub name: &'a str,
    /// Statuses left out (empty: the query default, `not_affected` of
    /// versions outside every range is still stated).
    pub ignore: &'a [FixStatus],
    /// The issue time.
    pub now: &'a Timestamp,
}

/// The OpenVEX document for `packages`, read from `store`.
pub fn document(
    store: &Store,
    packages: &[InventoryPackage],
    subject: &VexSubject<'_>,
) -> Result<VexDocument, StoreError> {
    let ignore = if subject.ignore.is_empty() {
        default_ignored()
    } else {
        subject.ignore.to_vec()
    };
    // Per package, two questions: what affects the installed version, and
    // which advisories name the package at all (every status, any version).
    let mut asked = Vec::new();
    for p in packages {
        // Inventories were validated when read; one that no longer
        // validates is left out, as findings leave it out.
        if let Ok(q) = p.query() {
            let every = PackageQuery {
                version: None,
                unevaluated: None,
                ..q.clone()
            }
            .ignoring(&[]);
            asked.push((p, q.ignoring(&ignore), every));
        }
    }
    let queries: Vec<&PackageQuery> = asked
        .iter()
        .flat_map(|(_, affecting, every)| [affecting, every])
        .collect();
    let answers = match_batch(&store.snapshot()?, &queries)?;
    let mut records: BTreeMap<String, Option<Advisory>> = BTreeMap::new();
    let mut statements = BTreeSet::new();
    for ((package, query, _), pair) in asked.iter().zip(answers.chunks(2)) {
        let [affecting, every] = pair else { continue };
        let affecting: BTreeMap<&str, &QueryMatch> = affecting
            .matches
            .iter()
            .map(|m| (m.id.as_str(), m))
            .collect();
        let purl = package_purl(&query.ecosystem, &package.name, package.version.as_deref());
        for named in &every.matches {
            let record = match records.get(&named.id) {
                Some(r) => r.clone(),
                None => {
                    let r = store.get(&named.id)?;
                    records.insert(named.id.clone(), r.clone());
                    r
                }
            };
            let Some(record) = record else { continue };
            let entries: Vec<&Affected> = record
                .affected
                .iter()
                .filter(|a| names_package(a, query))
                .collect();
            let verdict = match affecting.get(named.id.as_str()) {
                Some(m) => Verdict::Affecting(m),
                None => Verdict::Outside,
            };
            let statement = statement(
                &record,
                &entries,
                verdict,
                package.version.as_deref(),
                &purl,
                query.ecosystem.scheme(),
                subject.ignore,
            );
            if let Some(statement) = statement {
                statements.insert(statement);
            }
        }
    }
    let statements: Vec<VexStatement> = statements.into_iter().collect();
    let digest = sha256_digest(
        serde_json::to_string(&(subject.name, &statements))
            .unwrap_or_default()
            .as_bytes(),
    );
    Ok(VexDocument {
        context: OPENVEX_CONTEXT.into(),
        id: format!("urn:advisord:vex:{}", digest.trim_start_matches("sha256:")),
        author: "advisord".into(),
        role: "Document Creator".into(),
        timestamp: subject.now.to_string(),
        version: 1,
        tooling: format!("advisord {} ({})", env!("CARGO_PKG_VERSION"), subject.name),
        statements,
    })
}

/// Whether the query's version lies inside the advisory's ranges.
enum Verdict<'a> {
    /// It does (the match says with which status, and whether evaluated).
    Affecting(&'a QueryMatch),
    /// It does not.
    Outside,
}

/// Whether `entry` is about the queried package (same name in the index's
/// spelling; same release when the query names one).
fn names_package(entry: &Affected, query: &PackageQuery) -> bool {
    let Some(p) = &entry.package else {
        return false;
    };
    let same_release = match query.ecosystem.release() {
        Some(_) => p.ecosystem == query.ecosystem,
        None => p.ecosystem.base() == query.ecosystem.base(),
    };
    same_release && p.ecosystem.index_name(&p.name) == query.ecosystem.index_name(&query.name)
}

/// The statement `record` supports about the product.
fn statement(
    record: &Advisory,
    entries: &[&Affected],
    verdict: Verdict<'_>,
    version: Option<&str>,
    purl: &str,
    scheme: Option<crate::version::VersionScheme>,
    explicit_ignore: &[FixStatus],
) -> Option<VexStatement> {
    let cite = |status: Option<FixStatus>| {
        let entry = entries
            .iter()
            .find(|e| e.status() == status)
            .or(entries.first());
        let feed = entry.and_then(|e| e.feed()).unwrap_or("");
        let upstream = record
            .sources()
            .iter()
            .find(|p| p.feed == feed)
            .map_or_else(|| record.id.to_string(), |p| p.upstream_id.clone());
        let word = entry
            .and_then(|e| e.status_statement())
            .map(|s| format!(": {} ({})", s.status, s.source))
            .unwrap_or_default();
        (
            format!("{} from feed {feed} (upstream {upstream}){word}", record.id),
            entry.copied(),
        )
    };
    let fixed: Vec<String> = entries
        .iter()
        .flat_map(|e| e.ranges.iter().flat_map(|r| r.events.iter()))
        .filter_map(|e| match e {
            Event::Fixed(v) => Some(v.clone()),
            _ => None,
        })
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut out = VexStatement {
        vulnerability: VexVulnerability {
            name: record.id.to_string(),
            aliases: record.aliases.iter().map(ToString::to_string).collect(),
        },
        products: vec![VexProduct {
            id: purl.to_string(),
            identifiers: VexIdentifiers {
                purl: purl.to_string(),
            },
        }],
        status: "affected",
        status_notes: String::new(),
        timestamp: record.modified.to_string(),
        justification: None,
        impact_statement: None,
        action_statement: None,
    };
    match verdict {
        Verdict::Affecting(m) => {
            let (notes, _) = cite(m.status);
            out.status_notes = notes;
            if m.unevaluated.is_some() || m.status == Some(FixStatus::UnderInvestigation) {
                out.status = "under_investigation";
                return Some(out);
            }
            out.action_statement = Some(match m.status {
                Some(FixStatus::Fixed) => {
                    format!("Update to a fixed version: {}", fixed.join(", "))
                }
                Some(FixStatus::WillNotFix) => {
                    "The vendor will not fix this; mitigate or remove the package".into()
                }
                Some(FixStatus::FixDeferred) => {
                    "The vendor has deferred the fix; mitigate until it ships".into()
                }
                Some(FixStatus::EndOfLife) => {
                    "The release is out of support; upgrade to a supported release".into()
                }
                _ => "No fix is available yet; follow the advisory".into(),
            });
            Some(out)
        }
        Verdict::Outside => {
            let vendor_not_affected = entries
                .iter()
                .any(|e| e.status() == Some(FixStatus::NotAffected));
            // At or past a fixed version in the ecosystem's ordering (a
            // version before `introduced` is merely outside the ranges).
            let past_fix = version.is_some_and(|v| {
                fixed
                    .iter()
                    .any(|f| scheme.is_some_and(|s| s.compare(v, f).is_ok_and(|o| o.is_ge())))
            });
            if past_fix {
                if explicit_ignore.contains(&FixStatus::Fixed) {
                    return None;
                }
                let (notes, _) = cite(Some(FixStatus::Fixed));
                out.status = "fixed";
                out.status_notes = notes;
                return Some(out);
            }
            if explicit_ignore.contains(&FixStatus::NotAffected) {
                return None;
            }
            if vendor_not_affected {
                let (notes, entry) = cite(Some(FixStatus::NotAffected));
                out.status = "not_affected";
                out.status_notes = notes;
                let said = entry.and_then(|e| e.status_statement());
                let label = said.as_ref().and_then(|s| {
                    s.justification
                        .as_deref()
                        .and_then(|j| j.split(", ").find(|l| JUSTIFICATIONS.contains(l)))
                        .map(str::to_string)
                });
                match label {
                    Some(label) => out.justification = Some(label),
                    None => {
                        out.impact_statement = Some(match said {
                            Some(s) => format!(
                                "The vendor states the package is not affected ({})",
                                s.justification.unwrap_or(s.source)
                            ),
                            None => "The vendor states the package is not affected".into(),
                        })
                    }
                }
                return Some(out);
            }
            let version = version?;
            let (notes, _) = cite(None);
            out.status = "not_affected";
            out.status_notes = notes;
            out.impact_statement = Some(format!(
                "Version {version} is outside the versions the advisory names as affected"
            ));
            Some(out)
        }
    }
}

/// The package URL of an installed package (`pkg:deb/debian/openssl@3.0.11-1?distro=debian-12`).
pub fn package_purl(ecosystem: &Ecosystem, name: &str, version: Option<&str>) -> String {
    let distro = |prefix: &str| {
        ecosystem
            .release()
            .map(|r| format!("{prefix}-{}", r.split(':').next().unwrap_or(r)))
    };
    let (ty, namespace, distro) = match ecosystem.base() {
        "Debian" => ("deb", Some("debian"), distro("debian")),
        "Ubuntu" => ("deb", Some("ubuntu"), distro("ubuntu")),
        "Alpine" => ("apk", Some("alpine"), distro("alpine")),
        "Wolfi" => ("apk", Some("wolfi"), None),
        "Chainguard" => ("apk", Some("chainguard"), None),
        "Red Hat" => ("rpm", Some("redhat"), None),
        "AlmaLinux" => ("rpm", Some("almalinux"), distro("almalinux")),
        "Rocky Linux" => ("rpm", Some("rocky-linux"), distro("rocky")),
        "SUSE" => ("rpm", Some("suse"), None),
        "openSUSE" => ("rpm", Some("opensuse"), None),
        "Oracle Linux" => ("rpm", Some("oracle"), None),
        "Azure Linux" => ("rpm", Some("azure-linux"), None),
        "PyPI" => ("pypi", None, None),
        "npm" => ("npm", None, None),
        "Go" => ("golang", None, None),
        "crates.io" => ("cargo", None, None),
        "RubyGems" => ("gem", None, None),
        "NuGet" => ("nuget", None, None),
        "Maven" => ("maven", None, None),
        "Packagist" => ("composer", None, None),
        _ => ("generic", None, None),
    };
    let (namespace, short) = match (ty, namespace) {
        ("maven", _) => match name.split_once(':') {
            Some((group, artifact)) => (Some(group.to_string()), artifact.to_string()),
            None => (None, name.to_string()),
        },
        ("npm" | "golang" | "composer", _) => match name.rsplit_once('/') {
            Some((ns, n)) => (Some(ns.to_string()), n.to_string()),
            None => (None, name.to_string()),
        },
        (_, ns) => (ns.map(str::to_string), name.to_string()),
    };
    let Ok(mut purl) = packageurl::PackageUrl::new(ty, short.as_str()) else {
        return format!("pkg:generic/{name}");
    };
    if let Some(ns) = &namespace {
        let _ = purl.with_namespace(ns.as_str());
    }
    if let Some(v) = version {
        let _ = purl.with_version(v);
    }
    if let Some(d) = &distro {
        let _ = purl.add_qualifier("distro", d.as_str());
    }
    if ty == "generic" {
        let _ = purl.add_qualifier("ecosystem", ecosystem.as_str());
    }
    purl.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purls_of_installed_packages() {
        let eco = |e: &str| Ecosystem::new(e).expect("ecosystem");
        assert_eq!(
            package_purl(&eco("Debian:12"), "openssl", Some("3.0.11-1~deb12u2")),
            "pkg:deb/debian/openssl@3.0.11-1~deb12u2?distro=debian-12"
        );
        assert_eq!(
            package_purl(&eco("npm"), "@babel/core", Some("7.0.0")),
            "pkg:npm/%40babel/core@7.0.0"
        );
        assert_eq!(
            package_purl(&eco("Maven"), "org.apache:log4j", Some("2.14.1")),
            "pkg:maven/org.apache/log4j@2.14.1"
        );
        // Every purl maps back to the package it names.
        let back = crate::query::purl_to_package("pkg:deb/debian/openssl@1?distro=debian-12")
            .expect("purl");
        assert_eq!(back.ecosystem, "Debian:12");
    }
}
