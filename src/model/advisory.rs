//! The unified advisory record: a superset of the OSV schema 1.7.
//!
//! Every field maps one-to-one onto OSV JSON, so a stored record serializes
//! to a document any OSV client accepts. What advisord adds (provenance,
//! vendor severity) lives under `database_specific.advisord`, where OSV
//! allows arbitrary data.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

use super::{AdvisoryId, Ecosystem, FixStatus, Provenance, StatusStatement, Timestamp};

/// OSV lists may be absent or `null` upstream (YAML `aliases:` with nothing
/// after it); both mean empty.
fn null_as_empty<'de, D, T>(de: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(de)?.unwrap_or_default())
}

/// One advisory: what is affected, which versions, what fixes it, and where
/// the knowledge came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Advisory {
    /// The OSV schema version the record follows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema_version: Option<String>,
    /// The record's identifier (`GHSA-...`, `DSA-5678-1`, ...).
    pub id: AdvisoryId,
    /// When the record last changed upstream.
    pub modified: Timestamp,
    /// When the record was first published.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published: Option<Timestamp>,
    /// When the record was withdrawn; a withdrawn record never matches a query.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub withdrawn: Option<Timestamp>,
    /// Other ids for the same vulnerability (CVE for a DSA, ...).
    #[serde(default, deserialize_with = "null_as_empty", skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<AdvisoryId>,
    /// Ids of records this one was derived from.
    #[serde(default, deserialize_with = "null_as_empty", skip_serializing_if = "Vec::is_empty")]
    pub upstream: Vec<AdvisoryId>,
    /// Ids of closely related but distinct records.
    #[serde(default, deserialize_with = "null_as_empty", skip_serializing_if = "Vec::is_empty")]
    pub related: Vec<AdvisoryId>,
    /// One-line summary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// Longer description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<String>,
    /// Quantitative severity scores (CVSS vectors, Ubuntu priority).
    #[serde(default, deserialize_with = "null_as_empty", skip_serializing_if = "Vec::is_empty")]
    pub severity: Vec<Severity>,
    /// The affected packages with their version ranges.
    #[serde(default, deserialize_with = "null_as_empty", skip_serializing_if = "Vec::is_empty")]
    pub affected: Vec<Affected>,
    /// Links to advisories, fixes, reports.
    #[serde(default, deserialize_with = "null_as_empty", skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<Reference>,
    /// People and organisations credited.
    #[serde(default, deserialize_with = "null_as_empty", skip_serializing_if = "Vec::is_empty")]
    pub credits: Vec<Credit>,
    /// Free-form data of the database; ours lives under the `advisord` key.
    #[serde(default, skip_serializing_if = "DatabaseSpecific::is_empty")]
    pub database_specific: DatabaseSpecific,
}

/// One affected package and the versions of it that are affected.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Affected {
    /// The package; OSV allows it to be absent for non-package records.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package: Option<Package>,
    /// Per-entry severity (OSV 1.4+).
    #[serde(default, deserialize_with = "null_as_empty", skip_serializing_if = "Vec::is_empty")]
    pub severity: Vec<Severity>,
    /// Version ranges.
    #[serde(default, deserialize_with = "null_as_empty", skip_serializing_if = "Vec::is_empty")]
    pub ranges: Vec<Range>,
    /// Explicitly enumerated affected versions.
    #[serde(default, deserialize_with = "null_as_empty", skip_serializing_if = "Vec::is_empty")]
    pub versions: Vec<String>,
    /// Ecosystem-specific data, kept verbatim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ecosystem_specific: Option<Value>,
    /// Database-specific data; advisord stores the entry's feed under `advisord`.
    #[serde(default, skip_serializing_if = "DatabaseSpecific::is_empty")]
    pub database_specific: DatabaseSpecific,
}

/// A package inside an ecosystem.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Package {
    /// The ecosystem, with its release where it has one (`Debian:12`).
    pub ecosystem: Ecosystem,
    /// The package name as the ecosystem spells it.
    pub name: String,
    /// The package URL, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purl: Option<String>,
}

/// The kind of a range: how its event versions are ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum RangeKind {
    /// SemVer 2.0 ordering regardless of ecosystem.
    Semver,
    /// The ecosystem's own ordering.
    Ecosystem,
    /// Commits in a git repository (not a version ordering).
    Git,
}

/// One version range: an ordered list of events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Range {
    /// How the events are ordered.
    #[serde(rename = "type")]
    pub kind: RangeKind,
    /// The git repository, for `GIT` ranges.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repo: Option<String>,
    /// The events.
    pub events: Vec<Event>,
    /// Database-specific data, kept verbatim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_specific: Option<Value>,
}

/// A range event: the version at which a range opens, closes or is capped.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Event {
    /// Affected from this version on (`"0"` = from the beginning).
    Introduced(String),
    /// Not affected from this version on: the fixed version.
    Fixed(String),
    /// Affected up to and including this version; no fix known after it.
    LastAffected(String),
    /// Versions at or above this are outside the range (`"*"` = no cap).
    Limit(String),
}

impl Event {
    /// The event's version string.
    pub fn version(&self) -> &str {
        match self {
            Event::Introduced(v) | Event::Fixed(v) | Event::LastAffected(v) | Event::Limit(v) => v,
        }
    }
}

/// The scoring system of a [`Severity`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SeverityKind {
    /// CVSS v2 vector.
    #[serde(rename = "CVSS_V2")]
    CvssV2,
    /// CVSS v3.x vector.
    #[serde(rename = "CVSS_V3")]
    CvssV3,
    /// CVSS v4 vector.
    #[serde(rename = "CVSS_V4")]
    CvssV4,
    /// Ubuntu priority (negligible, low, medium, high, critical).
    Ubuntu,
}

/// A severity score in one scoring system.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Severity {
    /// The scoring system.
    #[serde(rename = "type")]
    pub kind: SeverityKind,
    /// The vector or rating.
    pub score: String,
}

/// A reference link.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Reference {
    /// OSV reference type (ADVISORY, ARTICLE, DETECTION, DISCUSSION, REPORT,
    /// FIX, INTRODUCED, GIT, PACKAGE, EVIDENCE, WEB).
    #[serde(rename = "type")]
    pub kind: String,
    /// The link.
    pub url: String,
}

/// A credited person or organisation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Credit {
    /// Name.
    pub name: String,
    /// Contact addresses or URLs.
    #[serde(default, deserialize_with = "null_as_empty", skip_serializing_if = "Vec::is_empty")]
    pub contact: Vec<String>,
    /// OSV credit type (FINDER, REPORTER, ...).
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
}

/// `database_specific`: advisord's typed metadata plus whatever else upstream put there.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DatabaseSpecific {
    /// advisord's own metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub advisord: Option<AdvisordMeta>,
    /// Upstream's database_specific keys, kept verbatim.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

impl DatabaseSpecific {
    /// True when there is nothing to serialize.
    pub fn is_empty(&self) -> bool {
        self.advisord.is_none() && self.other.is_empty()
    }
}

/// advisord's metadata on a record or an affected entry.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AdvisordMeta {
    /// Where the record (or entry) came from, one element per contributing feed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<Provenance>,
    /// The feed that produced this affected entry (set on entries only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feed: Option<String>,
    /// The vendor's own severity rating, normalized to lower case
    /// (`critical`, `important`, `high`, `moderate`, `medium`, `low`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor_severity: Option<String>,
    /// The entry's fix status in advisord's vocabulary (set on entries only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<FixStatus>,
    /// The source's own word(s) for [`AdvisordMeta::status`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_source: Option<String>,
    /// Why the package is not affected, in the vendor's words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub justification: Option<String>,
}

impl Advisory {
    /// A record with only its id and `modified`, everything else empty.
    /// Parsers fill in what they have with struct-update syntax
    /// (`Advisory { aliases, ..Advisory::new(id, modified) }`), so a new
    /// field is added here once, not in every parser.
    pub fn new(id: AdvisoryId, modified: Timestamp) -> Advisory {
        Advisory {
            schema_version: None,
            id,
            modified,
            published: None,
            withdrawn: None,
            aliases: Vec::new(),
            upstream: Vec::new(),
            related: Vec::new(),
            summary: None,
            details: None,
            severity: Vec::new(),
            affected: Vec::new(),
            references: Vec::new(),
            credits: Vec::new(),
            database_specific: DatabaseSpecific::default(),
        }
    }

    /// True when upstream withdrew the record.
    pub fn is_withdrawn(&self) -> bool {
        self.withdrawn.is_some()
    }

    /// advisord's metadata, created empty on first use.
    pub fn meta_mut(&mut self) -> &mut AdvisordMeta {
        self.database_specific
            .advisord
            .get_or_insert_with(AdvisordMeta::default)
    }

    /// The provenance entries of this record.
    pub fn sources(&self) -> &[Provenance] {
        self.database_specific
            .advisord
            .as_ref()
            .map_or(&[], |m| m.sources.as_slice())
    }
}

impl Affected {
    /// An entry for `package` with no ranges, versions or data yet; parsers
    /// fill in the rest with struct-update syntax (see [`Advisory::new`]).
    pub fn new(package: Package) -> Affected {
        Affected {
            package: Some(package),
            severity: Vec::new(),
            ranges: Vec::new(),
            versions: Vec::new(),
            ecosystem_specific: None,
            database_specific: DatabaseSpecific::default(),
        }
    }

    /// The feed that contributed this entry, if recorded.
    pub fn feed(&self) -> Option<&str> {
        self.database_specific
            .advisord
            .as_ref()
            .and_then(|m| m.feed.as_deref())
    }

    /// The entry's fix status, if a source stated or advisord derived one.
    pub fn status(&self) -> Option<FixStatus> {
        self.database_specific
            .advisord
            .as_ref()
            .and_then(|m| m.status)
    }

    /// The entry's full status statement (status, source word, justification).
    pub fn status_statement(&self) -> Option<StatusStatement> {
        let meta = self.database_specific.advisord.as_ref()?;
        Some(StatusStatement {
            status: meta.status?,
            source: meta.status_source.clone().unwrap_or_default(),
            justification: meta.justification.clone(),
        })
    }

    /// Records `statement` as the entry's status.
    pub fn set_status(&mut self, statement: StatusStatement) {
        let meta = self
            .database_specific
            .advisord
            .get_or_insert_with(AdvisordMeta::default);
        meta.status = Some(statement.status);
        meta.status_source = Some(statement.source);
        meta.justification = statement.justification;
    }
}

/// Appends each of `items` that `into` does not hold yet, in order: how
/// the lists of records joined into one (aliases, severity, affected...)
/// are merged without repeating an entry.
pub(crate) fn extend_unique<T: PartialEq>(into: &mut Vec<T>, items: impl IntoIterator<Item = T>) {
    for item in items {
        if !into.contains(&item) {
            into.push(item);
        }
    }
}
