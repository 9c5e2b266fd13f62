//! The Debian security tracker: its JSON export and its DSA/DLA/DTSA list files.
//!
//! # The JSON export (`package -> CVE -> releases -> {status, fixed_version, urgency}`)
//!
//! One record per tracker issue, named like OSV.dev's Debian records:
//! `DEBIAN-CVE-2016-1585` (`DEBIAN-TEMP-...` for the tracker's temporary
//! ids). It has one affected entry per (source package, release):
//!
//! | tracker                          | affected entry                                          |
//! |----------------------------------|---------------------------------------------------------|
//! | `resolved`, `fixed_version: "0"` | not affected: no ranges, no versions, `status: "not_affected"` (never matches) |
//! | `resolved`, `fixed_version: V`   | `introduced: "0"`, `fixed: V`                           |
//! | `open`, `undetermined`           | `introduced: "0"` only (affected, no fix)               |
//!
//! Release codenames map to `Debian:<N>` as OSV.dev spells it (bookworm
//! `Debian:12`, squeeze `Debian:6.0`, ...: the one table of
//! [`crate::model::release`], shared with DSA/DLA mails and OVAL);
//! `sid`/`unstable` map to `Debian:unstable` (a rolling suite has no number,
//! but its data is the most current there is, so it is kept rather than
//! dropped); `experimental` and unknown codenames are reported and skipped.
//!
//! The urgency (`unimportant`, `low`, `medium`, `high`) goes to each entry's
//! `database_specific.vendor_severity`; the record's
//! `advisord.vendor_severity` is the highest one. A trailing
//! `**` (the tracker's mark for an urgency it did not assess itself) is
//! stripped from the rating and kept verbatim in `database_specific.urgency`.
//! `not yet assigned` and `end-of-life` are not severities and are only kept
//! verbatim. The export has no dates, so `modified` is the fetch time.
//!
//! # The list files (`data/DSA/list`, `data/DLA/list`, `data/DTSA/list`)
//!
//! Each advisory becomes its own record (`DSA-5546-1`): the CVEs in `{...}`
//! are its aliases (so asking for a CVE finds the DSA through the alias
//! index, and the DSA names its CVEs), the header date is `published` and
//! `modified`, the header text the summary, and each `[release] - package
//! version` line an affected entry fixed at that version. `<not-affected>`
//! lines are not-affected data; `<unfixed>`, `<no-dsa>`, ... lines are
//! affected without a fix. A malformed header is reported and its lines are
//! skipped.

use std::borrow::Cow;
use std::collections::BTreeMap;

use std::io::{BufRead, BufReader, Read};

use serde::de::{MapAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{json, Map, Value};

use super::stream::{CappedReader, DocumentMeter, DocumentTooLarge};
use super::{ParseItem, SourceContext};
use crate::model::{
    release, Advisory, AdvisoryId, Affected, DatabaseSpecific, Ecosystem, Event, FixStatus, IdKind,
    Package, Range, RangeKind, Reference, StatusStatement, Timestamp,
};

/// Parses a tracker file: the JSON export (starts with `{`) or a list file.
pub fn parse(bytes: &[u8], ctx: &SourceContext, emit: &mut dyn FnMut(ParseItem)) {
    match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{') => parse_json(bytes, ctx, emit),
        _ => parse_list(bytes, ctx, emit),
    }
}

/// Parses a tracker file read from `reader` (decompressed): the JSON
/// export is streamed one package at a time, each package's entry (one
/// document) at most `max_document` bytes, so the file is never held
/// whole; a list file is read whole within `max_document`. A package past
/// the cap, like any unreadable file, is one whole-file error naming it.
pub fn parse_reader(
    reader: impl Read,
    max_document: u64,
    ctx: &SourceContext,
    emit: &mut dyn FnMut(ParseItem),
) {
    let capped = CappedReader::new(reader, max_document);
    let meter = capped.meter();
    let mut reader = BufReader::with_capacity(64 * 1024, capped);
    let refused = |e: &std::io::Error| match DocumentTooLarge::from_io(e) {
        Some(too_large) => too_large.to_string(),
        None => format!("reading: {e}"),
    };
    // The first byte that is not white space tells JSON from a list.
    let first = loop {
        let buf = match reader.fill_buf() {
            Ok(buf) => buf,
            Err(e) => return emit(Err(ctx.file_error(refused(&e)))),
        };
        if buf.is_empty() {
            break None;
        }
        match buf.iter().position(|b| !b.is_ascii_whitespace()) {
            Some(at) => break Some(buf[at]),
            None => {
                let n = buf.len();
                reader.consume(n);
            }
        }
    };
    if first == Some(b'{') {
        let mut de = serde_json::Deserializer::from_reader(reader);
        return read_json(&mut de, Some(&meter), ctx, emit);
    }
    let mut bytes = Vec::new();
    match reader.read_to_end(&mut bytes) {
        Ok(_) => parse_list(&bytes, ctx, emit),
        Err(e) => emit(Err(ctx.file_error(refused(&e)))),
    }
}

/// One tracker issue of one package, as kept until its record is built.
#[derive(Debug, Deserialize)]
struct Issue {
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    scope: Option<String>,
    #[serde(default)]
    debianbug: Option<Value>,
    /// A mapping, or `[]` when empty (PHP-style serialization).
    #[serde(default)]
    releases: Option<Box<RawValue>>,
}

/// The state of one issue in one release.
#[derive(Debug, Deserialize)]
struct ReleaseState<'a> {
    #[serde(borrow)]
    status: Cow<'a, str>,
    #[serde(borrow, default)]
    fixed_version: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    urgency: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    nodsa: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    nodsa_reason: Option<Cow<'a, str>>,
}

/// Parses the tracker's JSON export held in memory.
pub fn parse_json(bytes: &[u8], ctx: &SourceContext, emit: &mut dyn FnMut(ParseItem)) {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    read_json(&mut de, None, ctx, emit)
}

/// Issue id -> (package, issue), gathered across packages.
type ByIssue = BTreeMap<String, Vec<(String, Issue)>>;

/// Reads the export's top-level object one package at a time (each a new
/// document for `meter`, when streaming), then builds one record per
/// issue. A file that is not a JSON object of packages, or a package past
/// the document cap, yields one whole-file error and no records.
fn read_json<'de, R: serde_json::de::Read<'de>>(
    de: &mut serde_json::Deserializer<R>,
    meter: Option<&DocumentMeter>,
    ctx: &SourceContext,
    emit: &mut dyn FnMut(ParseItem),
) {
    let mut by_issue = ByIssue::new();
    // The package being read, to name it when it is refused.
    let mut last_package = String::new();
    let top = Packages {
        meter,
        ctx,
        emit: &mut *emit,
        by_issue: &mut by_issue,
        last_package: &mut last_package,
    };
    let result = serde::Deserializer::deserialize_map(&mut *de, top).and_then(|()| de.end());
    if let Err(e) = result {
        let reason = match meter.and_then(DocumentMeter::tripped) {
            Some(too_large) if last_package.is_empty() => too_large.to_string(),
            Some(too_large) => format!("package {last_package:?}: {too_large}"),
            None => format!("malformed tracker JSON: {e}"),
        };
        return emit(Err(ctx.file_error(reason)));
    }
    for (issue_id, packages) in by_issue {
        if let Some(item) = build_issue(&issue_id, &packages, ctx, emit) {
            emit(item);
        }
    }
}

/// The visitor of the export's top-level object: each package's entry is
/// read as raw text (one document), split into issues and kept.
struct Packages<'a, 'm> {
    meter: Option<&'m DocumentMeter>,
    ctx: &'a SourceContext,
    emit: &'a mut dyn FnMut(ParseItem),
    by_issue: &'a mut ByIssue,
    last_package: &'a mut String,
}

impl<'de> Visitor<'de> for Packages<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an object of source packages")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        loop {
            if let Some(meter) = self.meter {
                meter.start_document();
            }
            let Some(package) = map.next_key::<String>()? else {
                return Ok(());
            };
            self.last_package.clone_from(&package);
            let raw: Box<RawValue> = map.next_value()?;
            add_package(&package, &raw, self.ctx, self.emit, self.by_issue);
        }
    }
}

/// Splits one package's entry into its issues and keeps them by issue id
/// (an issue's description is kept once: the record takes the first).
fn add_package(
    package: &str,
    raw: &RawValue,
    ctx: &SourceContext,
    emit: &mut dyn FnMut(ParseItem),
    by_issue: &mut ByIssue,
) {
    let issues: BTreeMap<Key<'_>, &RawValue> = match serde_json::from_str(raw.get()) {
        Ok(m) => m,
        Err(e) => {
            return emit(Err(ctx.error(
                package,
                format!("package entry is not a mapping of issues: {e}"),
            )))
        }
    };
    for (issue_id, raw_issue) in issues {
        match serde_json::from_str::<Issue>(raw_issue.get()) {
            Ok(mut issue) => {
                let kept = by_issue.entry(issue_id.0.into_owned()).or_default();
                let described = kept.iter().any(|(_, i)| {
                    i.description
                        .as_deref()
                        .is_some_and(|d| !d.trim().is_empty())
                });
                if described {
                    issue.description = None;
                }
                kept.push((package.to_string(), issue));
            }
            Err(e) => emit(Err(ctx.error(
                format!("{}/{}", issue_id.0, package),
                format!("unreadable issue: {e}"),
            ))),
        }
    }
}

/// A map key borrowed from the input where it has no escapes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
struct Key<'a>(#[serde(borrow)] Cow<'a, str>);

fn build_issue(
    issue_id: &str,
    packages: &[(String, Issue)],
    ctx: &SourceContext,
    emit: &mut dyn FnMut(ParseItem),
) -> Option<ParseItem> {
    let id_text = format!("DEBIAN-{issue_id}");
    let id = match id_text.parse::<AdvisoryId>() {
        Ok(id) => id,
        Err(e) => return Some(Err(ctx.error(issue_id, e.to_string()))),
    };
    let upstream: Vec<AdvisoryId> = issue_id
        .parse::<AdvisoryId>()
        .ok()
        .filter(|a| a.kind() == IdKind::Cve)
        .into_iter()
        .collect();
    let mut affected = Vec::new();
    let mut worst: Option<Urgency> = None;
    let mut details: Option<String> = None;
    let mut references: Vec<Reference> = Vec::new();
    for (package, issue) in packages {
        if details.is_none() {
            details = issue
                .description
                .as_ref()
                .map(|d| d.trim().to_string())
                .filter(|d| !d.is_empty());
        }
        if let Some(bug) = issue.debianbug.as_ref().and_then(bug_number) {
            let url = format!("https://bugs.debian.org/{bug}");
            if !references.iter().any(|r| r.url == url) {
                references.push(Reference {
                    kind: "REPORT".into(),
                    url,
                });
            }
        }
        let label = format!("{issue_id}/{package}");
        let releases: BTreeMap<Key<'_>, ReleaseState<'_>> = match issue.releases.as_deref() {
            None => BTreeMap::new(),
            Some(raw) if raw.get().trim_start().starts_with('[') => {
                if raw.get().trim() != "[]" {
                    emit(Err(ctx.error(&label, "`releases` is a non-empty list")));
                }
                BTreeMap::new()
            }
            Some(raw) => match serde_json::from_str(raw.get()) {
                Ok(m) => m,
                Err(e) => {
                    emit(Err(ctx.error(&label, format!("unreadable releases: {e}"))));
                    continue;
                }
            },
        };
        for (codename, state) in &releases {
            let ecosystem = match release_ecosystem(&codename.0) {
                Ok(Some(e)) => e,
                Ok(None) => continue,
                Err(reason) => {
                    emit(Err(ctx.error(
                        format!("{label}/{}", codename.0),
                        reason.to_string(),
                    )));
                    continue;
                }
            };
            match release_entry(package, ecosystem, state, issue.scope.as_deref()) {
                Ok((entry, urgency)) => {
                    if urgency > worst {
                        worst = urgency;
                    }
                    affected.push(entry);
                }
                Err(reason) => emit(Err(
                    ctx.error(format!("{label}/{}", codename.0), reason.to_string())
                )),
            }
        }
    }
    if affected.is_empty() {
        // Nothing about any Debian release: no record to make.
        return None;
    }
    references.insert(
        0,
        Reference {
            kind: "ADVISORY".into(),
            url: format!("https://security-tracker.debian.org/tracker/{issue_id}"),
        },
    );
    let mut advisory = Advisory {
        aliases: upstream.clone(),
        upstream,
        details,
        affected,
        references,
        ..Advisory::new(id, ctx.fetched.clone())
    };
    if let Some(worst) = worst {
        advisory.meta_mut().vendor_severity = Some(worst.name().to_string());
    }
    ctx.stamp(&mut advisory, issue_id);
    Some(Ok(advisory))
}

fn bug_number(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Debian urgency levels that are severities, in increasing order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Urgency {
    Unimportant,
    Low,
    Medium,
    High,
}

impl Urgency {
    fn parse(text: &str) -> Option<Urgency> {
        match text.trim().trim_end_matches('*').trim() {
            t if t.eq_ignore_ascii_case("unimportant") => Some(Urgency::Unimportant),
            t if t.eq_ignore_ascii_case("low") => Some(Urgency::Low),
            t if t.eq_ignore_ascii_case("medium") => Some(Urgency::Medium),
            t if t.eq_ignore_ascii_case("high") => Some(Urgency::High),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Urgency::Unimportant => "unimportant",
            Urgency::Low => "low",
            Urgency::Medium => "medium",
            Urgency::High => "high",
        }
    }
}

/// Why one release entry of the tracker JSON, or one line of a list file,
/// is rejected (the reason of its record error).
#[derive(Debug, Clone, thiserror::Error)]
pub enum TrackerError {
    /// A `resolved` state with no `fixed_version`.
    #[error("resolved without a fixed_version")]
    ResolvedWithoutFix,
    /// A state the tracker does not document.
    #[error("unknown status {0:?}")]
    UnknownStatus(String),
    /// A version with blanks or control characters.
    #[error("invalid version {0:?}")]
    InvalidVersion(String),
    /// A codename the release table does not hold.
    #[error("unknown Debian release {0:?}")]
    UnknownRelease(String),
    /// The release makes no valid ecosystem name.
    #[error(transparent)]
    Ecosystem(#[from] crate::model::InvalidEcosystem),
    /// A list-file line that should open an advisory and does not.
    #[error("not an advisory header: {0:?}")]
    NotAHeader(String),
    /// A header whose `[date` has no `]`.
    #[error("unterminated date in header {0:?}")]
    UnterminatedDate(String),
    /// A header whose id does not parse.
    #[error("header {line:?}: {source}")]
    HeaderId {
        /// The header line.
        line: String,
        /// The cause.
        source: crate::model::InvalidId,
    },
    /// A header whose id is not a DSA, DLA or DTSA.
    #[error("header {line:?}: {id:?} is not a DSA, DLA or DTSA id")]
    NotAListId {
        /// The header line.
        line: String,
        /// The id as written.
        id: String,
    },
    /// A package line whose `[release` has no `]`.
    #[error("unterminated release in {0:?}")]
    UnterminatedRelease(String),
    /// A package line without `- package version`.
    #[error("expected `- package version` in {0:?}")]
    NoDash(String),
    /// A package line with no package name.
    #[error("no package in {0:?}")]
    NoPackage(String),
    /// A package line with no version.
    #[error("no version in {0:?}")]
    NoVersion(String),
}

/// One affected entry for one release of one package.
fn release_entry(
    package: &str,
    ecosystem: Ecosystem,
    state: &ReleaseState<'_>,
    scope: Option<&str>,
) -> Result<(Affected, Option<Urgency>), TrackerError> {
    let status = state.status.trim();
    let fixed = state
        .fixed_version
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty());
    let mut extra = Map::new();
    extra.insert("status".into(), json!(status));
    let events = match (status, fixed) {
        ("resolved", Some("0")) => {
            extra.insert("status".into(), json!("not_affected"));
            None
        }
        ("resolved", Some(v)) => Some(vec![
            Event::Introduced("0".into()),
            Event::Fixed(checked_version(v)?),
        ]),
        ("resolved", None) => return Err(TrackerError::ResolvedWithoutFix),
        ("open" | "undetermined", _) => Some(vec![Event::Introduced("0".into())]),
        (other, _) => return Err(TrackerError::UnknownStatus(other.into())),
    };
    let urgency = state.urgency.as_deref().and_then(Urgency::parse);
    if let Some(raw) = state.urgency.as_deref() {
        extra.insert("urgency".into(), json!(raw));
    }
    if let Some(u) = urgency {
        extra.insert("vendor_severity".into(), json!(u.name()));
    }
    if let Some(nodsa) = &state.nodsa {
        extra.insert("nodsa".into(), json!(nodsa));
    }
    if let Some(reason) = &state.nodsa_reason {
        extra.insert("nodsa_reason".into(), json!(reason));
    }
    if let Some(scope) = scope {
        extra.insert("scope".into(), json!(scope));
    }
    let mut entry = Affected {
        ranges: events
            .map(|events| Range {
                kind: RangeKind::Ecosystem,
                repo: None,
                events,
                database_specific: None,
            })
            .into_iter()
            .collect(),
        database_specific: DatabaseSpecific {
            advisord: None,
            other: extra,
        },
        ..Affected::new(debian_package(ecosystem, package))
    };
    entry.set_status(tracker_status(state, status, fixed));
    Ok((entry, urgency))
}

/// The common status of one release state of the tracker JSON: `resolved`
/// (with fixed version `0` meaning never affected), `open`, `undetermined`,
/// refined by `nodsa_reason` (`ignored`, `postponed`, `end-of-life`) and by
/// urgency `unimportant` (no security fix will be made).
fn tracker_status(state: &ReleaseState<'_>, status: &str, fixed: Option<&str>) -> StatusStatement {
    if status == "resolved" {
        return match fixed {
            Some("0") => StatusStatement::new(FixStatus::NotAffected, "resolved (fixed_version 0)"),
            _ => StatusStatement::new(FixStatus::Fixed, "resolved"),
        };
    }
    if status == "undetermined" {
        return StatusStatement::new(FixStatus::UnderInvestigation, "undetermined");
    }
    let reason = state.nodsa_reason.as_deref().map(str::trim).unwrap_or("");
    let refined = match reason {
        "ignored" => Some(FixStatus::WillNotFix),
        "postponed" => Some(FixStatus::FixDeferred),
        "end-of-life" => Some(FixStatus::EndOfLife),
        _ => None,
    };
    if let Some(refined) = refined {
        return StatusStatement::new(refined, format!("{status}, nodsa {reason}"));
    }
    if state.urgency.as_deref().map(str::trim) == Some("unimportant") {
        return StatusStatement::new(
            FixStatus::WillNotFix,
            format!("{status}, urgency unimportant"),
        );
    }
    if state.nodsa.is_some() {
        return StatusStatement::new(FixStatus::Affected, format!("{status}, nodsa"));
    }
    StatusStatement::new(FixStatus::Affected, status)
}

/// The common status of a `<marker>` of the DSA/DLA/DTSA list files
/// (`<unfixed>`, `<no-dsa>`, `<postponed>`, `<ignored>`, `<end-of-life>`,
/// `<not-affected>`, `<removed>`, `<undetermined>`).
fn list_marker_status(marker: &str) -> FixStatus {
    match marker {
        "not-affected" | "removed" => FixStatus::NotAffected,
        "ignored" => FixStatus::WillNotFix,
        "postponed" | "no-dsa" => FixStatus::FixDeferred,
        "end-of-life" => FixStatus::EndOfLife,
        "undetermined" => FixStatus::UnderInvestigation,
        _ => FixStatus::Affected,
    }
}

fn checked_version(v: &str) -> Result<String, TrackerError> {
    if v.chars().any(|c| c.is_whitespace() || c.is_control()) {
        Err(TrackerError::InvalidVersion(v.into()))
    } else {
        Ok(v.to_string())
    }
}

fn debian_package(ecosystem: Ecosystem, name: &str) -> Package {
    Package {
        ecosystem,
        name: name.to_string(),
        purl: Some(format!("pkg:deb/debian/{name}?arch=source")),
    }
}

/// `bookworm` -> `Debian:12`, `squeeze` -> `Debian:6.0` (the one table:
/// [`release::DEBIAN_RELEASES`]), `sid` -> `Debian:unstable`; `Ok(None)` for
/// suites that are deliberately skipped (`experimental`).
pub fn release_ecosystem(codename: &str) -> Result<Option<Ecosystem>, TrackerError> {
    let base = codename
        .trim()
        .trim_end_matches("-security")
        .to_ascii_lowercase();
    let release = match base.as_str() {
        "sid" | "unstable" => "unstable",
        "experimental" => return Ok(None),
        other => match release::debian_codename(other) {
            Some(number) => number,
            None => return Err(TrackerError::UnknownRelease(codename.into())),
        },
    };
    Ok(Some(Ecosystem::new(format!("Debian:{release}"))?))
}

// ---------------------------------------------------------------------------
// List files
// ---------------------------------------------------------------------------

/// One advisory of a list file while it is being read.
struct ListEntry {
    line: usize,
    id: AdvisoryId,
    date: Option<Timestamp>,
    summary: String,
    aliases: Vec<AdvisoryId>,
    affected: Vec<Affected>,
    notes: Vec<String>,
}

/// Parses `data/DSA/list`, `data/DLA/list` or `data/DTSA/list`.
pub fn parse_list(bytes: &[u8], ctx: &SourceContext, emit: &mut dyn FnMut(ParseItem)) {
    let text = String::from_utf8_lossy(bytes);
    let mut current: Option<ListEntry> = None;
    // True while skipping the body of an entry whose header was unreadable.
    let mut skipping = false;
    for (index, raw) in text.lines().enumerate() {
        let line_no = index + 1;
        if raw.trim().is_empty() {
            continue;
        }
        let indented = raw.starts_with([' ', '\t']);
        if !indented {
            if let Some(done) = current.take() {
                emit(finish_list_entry(done, ctx));
            }
            if raw.starts_with("CVE-") || raw.starts_with("TEMP-") {
                emit(Err(ctx.error(
                    format!("line {line_no}"),
                    "this is data/CVE/list; use the tracker JSON export for CVE data",
                )));
                return;
            }
            match parse_header(raw) {
                Ok(entry) => {
                    current = Some(ListEntry {
                        line: line_no,
                        ..entry
                    });
                    skipping = false;
                }
                Err(reason) => {
                    emit(Err(ctx.error(format!("line {line_no}"), reason.to_string())));
                    skipping = true;
                }
            }
            continue;
        }
        if skipping {
            continue;
        }
        let Some(entry) = current.as_mut() else {
            emit(Err(ctx.error(
                format!("line {line_no}"),
                "indented line before any advisory header",
            )));
            skipping = true;
            continue;
        };
        let body = raw.trim();
        if let Some(inner) = body.strip_prefix('{') {
            for token in inner.trim_end_matches('}').split_whitespace() {
                match token.parse::<AdvisoryId>() {
                    Ok(alias) if !entry.aliases.contains(&alias) => entry.aliases.push(alias),
                    Ok(_) => {}
                    Err(e) => emit(Err(ctx.error(entry.id.as_str(), e.to_string()))),
                }
            }
        } else if let Some(note) = body.strip_prefix("NOTE:") {
            entry.notes.push(note.trim().to_string());
        } else if body.starts_with('[') || body.starts_with('-') {
            match parse_package_line(body) {
                Ok(Some(affected)) => entry.affected.push(affected),
                Ok(None) => {}
                Err(reason) => emit(Err(
                    ctx.error(format!("{} (line {line_no})", entry.id), reason.to_string())
                )),
            }
        } else {
            entry.notes.push(body.to_string());
        }
    }
    if let Some(done) = current.take() {
        emit(finish_list_entry(done, ctx));
    }
}

/// `[02 Nov 2023] DSA-5546-1 chromium - security update`.
fn parse_header(line: &str) -> Result<ListEntry, TrackerError> {
    let rest = line
        .strip_prefix('[')
        .ok_or_else(|| TrackerError::NotAHeader(line.into()))?;
    let (date_text, rest) = rest
        .split_once(']')
        .ok_or_else(|| TrackerError::UnterminatedDate(line.into()))?;
    let rest = rest.trim();
    let (id_text, summary) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
    let id: AdvisoryId = id_text.parse().map_err(|source| TrackerError::HeaderId {
        line: line.into(),
        source,
    })?;
    if !matches!(id.kind(), IdKind::Dsa | IdKind::Dla | IdKind::Dtsa) {
        return Err(TrackerError::NotAListId {
            line: line.into(),
            id: id_text.into(),
        });
    }
    Ok(ListEntry {
        line: 0,
        id,
        date: parse_list_date(date_text),
        summary: summary.trim().to_string(),
        aliases: Vec::new(),
        affected: Vec::new(),
        notes: Vec::new(),
    })
}

/// `[bookworm] - chromium 119.0.6045.105-1~deb12u1`, with optional trailing
/// `(high)` / `(bug #123)` and `<marker>` versions.
fn parse_package_line(body: &str) -> Result<Option<Affected>, TrackerError> {
    let (release, rest) = match body.strip_prefix('[') {
        Some(r) => {
            let (release, rest) = r
                .split_once(']')
                .ok_or_else(|| TrackerError::UnterminatedRelease(body.into()))?;
            (Some(release.trim()), rest.trim())
        }
        None => (None, body),
    };
    let Some(release) = release else {
        // `- pkg version` without a release names the unstable upload; the
        // list files always give releases, so there is nothing to add.
        return Ok(None);
    };
    let rest = rest
        .strip_prefix('-')
        .ok_or_else(|| TrackerError::NoDash(body.into()))?
        .trim();
    let (main, paren) = match rest.find('(') {
        Some(i) => (
            rest[..i].trim(),
            Some(rest[i + 1..].trim_end_matches(')').trim()),
        ),
        None => (rest, None),
    };
    let mut tokens = main.split_whitespace();
    let package = tokens
        .next()
        .ok_or_else(|| TrackerError::NoPackage(body.into()))?;
    let version = tokens
        .next()
        .ok_or_else(|| TrackerError::NoVersion(body.into()))?;
    let Some(ecosystem) = release_ecosystem(release)? else {
        return Ok(None);
    };
    let mut extra = Map::new();
    let mut status = StatusStatement::new(FixStatus::Fixed, "fixed version");
    let ranges = if let Some(marker) = version.strip_prefix('<') {
        let marker = marker.trim_end_matches('>');
        status = StatusStatement::new(list_marker_status(marker), format!("<{marker}>"));
        match marker {
            "not-affected" | "removed" => {
                extra.insert("status".into(), json!(marker.replace('-', "_")));
                Vec::new()
            }
            _ => {
                extra.insert("status".into(), json!(marker));
                vec![Event::Introduced("0".into())]
            }
        }
    } else {
        vec![
            Event::Introduced("0".into()),
            Event::Fixed(checked_version(version)?),
        ]
    };
    let urgency = paren.and_then(|p| p.split(';').find_map(Urgency::parse));
    if let Some(p) = paren {
        extra.insert("note".into(), json!(p));
    }
    if let Some(u) = urgency {
        extra.insert("vendor_severity".into(), json!(u.name()));
    }
    let mut entry = Affected {
        ranges: if ranges.is_empty() {
            Vec::new()
        } else {
            vec![Range {
                kind: RangeKind::Ecosystem,
                repo: None,
                events: ranges,
                database_specific: None,
            }]
        },
        database_specific: DatabaseSpecific {
            advisord: None,
            other: extra,
        },
        ..Affected::new(debian_package(ecosystem, package))
    };
    entry.set_status(status);
    Ok(Some(entry))
}

fn finish_list_entry(entry: ListEntry, ctx: &SourceContext) -> ParseItem {
    let upstream = entry.id.to_string();
    let worst = entry
        .affected
        .iter()
        .filter_map(|a| a.database_specific.other.get("vendor_severity"))
        .filter_map(|v| v.as_str())
        .filter_map(Urgency::parse)
        .max();
    let modified = entry.date.clone().unwrap_or_else(|| ctx.fetched.clone());
    let mut advisory = Advisory {
        published: entry.date,
        aliases: entry.aliases,
        summary: (!entry.summary.is_empty()).then_some(entry.summary),
        details: (!entry.notes.is_empty()).then(|| entry.notes.join("\n")),
        affected: entry.affected,
        references: vec![Reference {
            kind: "ADVISORY".into(),
            url: format!("https://security-tracker.debian.org/tracker/{upstream}"),
        }],
        ..Advisory::new(entry.id, modified)
    };
    if let Some(worst) = worst {
        advisory.meta_mut().vendor_severity = Some(worst.name().to_string());
    }
    advisory
        .database_specific
        .other
        .insert("list_line".into(), json!(entry.line));
    ctx.stamp(&mut advisory, &upstream);
    Ok(advisory)
}

/// `02 Nov 2023` or `August 26th, 2005` -> midnight UTC that day.
fn parse_list_date(text: &str) -> Option<Timestamp> {
    const MONTHS: [&str; 12] = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    let cleaned = text.replace(',', " ");
    let tokens: Vec<&str> = cleaned.split_whitespace().collect();
    if tokens.len() != 3 {
        return None;
    }
    let month_of = |t: &str| {
        let lower = t.to_ascii_lowercase();
        MONTHS
            .iter()
            .position(|m| lower.len() >= 3 && lower.starts_with(m))
            .map(|i| i + 1)
    };
    let day_of = |t: &str| {
        t.trim_end_matches(|c: char| c.is_ascii_alphabetic())
            .parse::<u8>()
            .ok()
    };
    let (day, month) = match (day_of(tokens[0]), month_of(tokens[0])) {
        (Some(day), _) => (day, month_of(tokens[1])?),
        (None, Some(month)) => (day_of(tokens[1])?, month),
        (None, None) => return None,
    };
    let year: i32 = tokens[2].parse().ok()?;
    let month = time::Month::try_from(u8::try_from(month).ok()?).ok()?;
    let date = time::Date::from_calendar_date(year, month, day).ok()?;
    Some(Timestamp::from_instant(date.midnight().assume_utc()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> SourceContext {
        SourceContext::for_bytes(
            "debian",
            "inline",
            "2024-01-01T00:00:00Z".parse::<Timestamp>().unwrap(),
            b"",
        )
    }

    fn collect(bytes: &[u8]) -> Vec<ParseItem> {
        let mut out = Vec::new();
        parse(bytes, &ctx(), &mut |item| out.push(item));
        out
    }

    const JSON: &str = r#"{
      "openssl": {
        "CVE-2024-0001": {
          "description": "d", "debianbug": 123, "scope": "remote",
          "releases": {
            "bookworm": {"status": "resolved", "fixed_version": "3.0.1-1", "urgency": "high**"},
            "bullseye": {"status": "open", "urgency": "low"},
            "buster": {"status": "resolved", "fixed_version": "0", "urgency": "unimportant"},
            "sid": {"status": "resolved", "fixed_version": "3.0.1-1", "urgency": "not yet assigned"},
            "hamm2": {"status": "open"}
          }
        },
        "TEMP-0000000-ABCDEF": {"releases": []}
      },
      "openssl1.1": {
        "CVE-2024-0001": {"releases": {"bookworm": {"status": "weird"}}}
      },
      "broken": 7
    }"#;

    #[test]
    fn statuses_map_to_ranges() {
        let items = collect(JSON.as_bytes());
        let errors: Vec<_> = items.iter().filter_map(|i| i.as_ref().err()).collect();
        let records: Vec<_> = items.iter().filter_map(|i| i.as_ref().ok()).collect();
        assert_eq!(errors.len(), 3, "{errors:#?}");
        assert_eq!(records.len(), 1);
        let r = records[0];
        assert_eq!(r.id.as_str(), "DEBIAN-CVE-2024-0001");
        assert_eq!(r.aliases[0].as_str(), "CVE-2024-0001");
        assert_eq!(
            r.database_specific
                .advisord
                .as_ref()
                .unwrap()
                .vendor_severity,
            Some("high".into())
        );
        let by_eco = |e: &str| {
            r.affected
                .iter()
                .find(|a| a.package.as_ref().unwrap().ecosystem.as_str() == e)
                .unwrap()
        };
        assert_eq!(
            by_eco("Debian:12").ranges[0].events,
            [
                Event::Introduced("0".into()),
                Event::Fixed("3.0.1-1".into())
            ]
        );
        assert_eq!(
            by_eco("Debian:11").ranges[0].events,
            [Event::Introduced("0".into())]
        );
        let na = by_eco("Debian:10");
        assert!(na.ranges.is_empty() && na.versions.is_empty());
        assert_eq!(na.database_specific.other["status"], json!("not_affected"));
        assert_eq!(by_eco("Debian:unstable").ranges.len(), 1);
        assert_eq!(
            by_eco("Debian:12").database_specific.other["urgency"],
            json!("high**")
        );
    }

    #[test]
    fn list_file_entries() {
        let list = "[02 Nov 2023] DSA-5546-1 chromium - security update
\t{CVE-2023-5480 CVE-2023-5482}
\t[bullseye] - chromium 119.0.6045.105-1~deb11u1
\t[bookworm] - chromium <not-affected> (Vulnerable code not present)
[19 Jul 2021] MALFORMED HEADER
\t{CVE-2021-29969}
\t[stretch] - thunderbird 1:78.12.0-1~deb9u1
[August 26th, 2005] DTSA-1-1 kismet - various
\t{CVE-2005-2626 CVE-2005-2627 }
\t[etch] - kismet 2005.08.R1-0.1etch1 (high)
";
        let items = collect(list.as_bytes());
        assert_eq!(items.len(), 3);
        let dsa = items[0].as_ref().unwrap();
        assert_eq!(dsa.id.as_str(), "DSA-5546-1");
        assert_eq!(dsa.aliases.len(), 2);
        assert_eq!(
            dsa.published.as_ref().unwrap().as_str(),
            "2023-11-02T00:00:00Z"
        );
        assert_eq!(dsa.summary.as_deref(), Some("chromium - security update"));
        assert_eq!(dsa.affected.len(), 2);
        assert!(dsa.affected[1].ranges.is_empty());
        assert!(items[1].is_err());
        let dtsa = items[2].as_ref().unwrap();
        assert_eq!(
            dtsa.published.as_ref().unwrap().as_str(),
            "2005-08-26T00:00:00Z"
        );
        assert_eq!(
            dtsa.affected[0]
                .package
                .as_ref()
                .unwrap()
                .ecosystem
                .as_str(),
            "Debian:4.0"
        );
        assert_eq!(
            dtsa.database_specific
                .advisord
                .as_ref()
                .unwrap()
                .vendor_severity,
            Some("high".into())
        );
    }

    #[test]
    fn garbage_never_panics() {
        for bad in [
            &b"{"[..],
            b"{\"a\": {\"CVE-1\": {\"releases\": {\"bookworm\": 5}}}}",
            b"\t[x] - y",
            b"[",
            b"[] ",
            b"[99 Foo 2023] DSA-1-1 x\n\t[bookworm] - \n\t[nowhere] - a 1\n\t[bookworm] - a 1 2 (",
        ] {
            let _ = collect(bad);
        }
    }
}
