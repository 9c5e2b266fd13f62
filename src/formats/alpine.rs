//! Alpine secdb (and the same-shaped Wolfi, Chainguard and MinimOS secdb feeds), JSON or YAML.
//!
//! A secdb file covers one release and repository (`v3.19/main`) and lists
//! source packages with `secfixes`: a map from the package version that
//! fixed something (`1.2.3-r1`) to the ids it fixed. The key `0` means the
//! package was never affected by those ids.
//!
//! # Mapping
//!
//! - One record per vulnerability id per file, named like OSV.dev's Alpine
//!   records: `ALPINE-CVE-2021-30473` (`WOLFI-`, `CHAINGUARD-`, `MINIMOS-`
//!   for the derivatives). The upstream id goes to `upstream` and `aliases`.
//! - One affected entry per source package on `Alpine:v3.N` (the file's
//!   `distroversion`; `Alpine:edge` for edge; the derivatives have no
//!   release), purl `pkg:apk/<distro>/<name>?arch=source`.
//! - The listed fix version becomes an `ECOSYSTEM` range
//!   `introduced: 0, fixed: <version>`. When a package lists the same id
//!   under several versions of one branch (v3.11 `lame`: CVE-2015-9099 under
//!   `3.99.5-r6` and `3.100-r0`), the *lowest* one (in apk order) fixes it:
//!   one range up to it, the later versions kept in
//!   `database_specific.later_fixes`.
//! - Key `0` (never affected) is kept as data that never matches: an entry
//!   with no ranges and no versions and `database_specific.status =
//!   "not_affected"`.
//! - Entries are `ID [more ids] [(free text)]`: the first token is the id;
//!   further id-like tokens (`TALOS-2019-0844`) become aliases and the text
//!   in parentheses goes to `database_specific.note`. `CVE-2017-17434-1`
//!   (a numbered part of one CVE) is read as `CVE-2017-17434`.
//!
//! The secdb carries no dates, so `modified` is the fetch time of the file.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::{json, Map};

use super::{ParseItem, SourceContext};
use crate::model::{
    extend_unique, Advisory, AdvisoryId, Affected, DatabaseSpecific, Ecosystem, Event, FixStatus,
    Package, Range, RangeKind, Reference, StatusStatement,
};
use crate::version::apk::apk_compare;

pub use super::syntax::Syntax;

/// Parses one secdb file, JSON or YAML (sniffed from the content).
pub fn parse(bytes: &[u8], ctx: &SourceContext, emit: &mut dyn FnMut(ParseItem)) {
    parse_as(bytes, Syntax::sniff(bytes), ctx, emit);
}

/// Parses one secdb YAML file.
pub fn parse_yaml(bytes: &[u8], ctx: &SourceContext, emit: &mut dyn FnMut(ParseItem)) {
    parse_as(bytes, Syntax::Yaml, ctx, emit);
}

/// Most records (vulnerability ids) one secdb file may give. What its
/// parse holds grows with them (a record's packages and fixes, then the
/// record, a few kilobytes, until the batch's releases are joined); a real
/// release file names a few thousand ids, the Wolfi and Chainguard feeds
/// tens of thousands. A file naming more is refused as a whole.
pub const MAX_RECORDS: usize = 100_000;

/// Parses one secdb file in the given syntax.
pub fn parse_as(
    bytes: &[u8],
    syntax: Syntax,
    ctx: &SourceContext,
    emit: &mut dyn FnMut(ParseItem),
) {
    parse_capped(bytes, syntax, MAX_RECORDS, ctx, emit);
}

/// [`parse_as`] refusing a file of more than `max_records` ids.
fn parse_capped(
    bytes: &[u8],
    syntax: Syntax,
    max_records: usize,
    ctx: &SourceContext,
    emit: &mut dyn FnMut(ParseItem),
) {
    let root: Node = match syntax {
        Syntax::Json => match serde_json::from_slice(bytes) {
            Ok(node) => node,
            Err(e) => return emit(Err(ctx.file_error(format!("malformed JSON: {e}")))),
        },
        Syntax::Yaml => match serde_norway::from_slice(bytes) {
            Ok(node) => node,
            Err(e) => return emit(Err(ctx.file_error(format!("malformed YAML: {e}")))),
        },
    };
    let Some(top) = root.as_map() else {
        return emit(Err(ctx.file_error("secdb root is not a mapping")));
    };
    let distro = match Distro::detect(top, ctx) {
        Ok(d) => d,
        Err(reason) => return emit(Err(ctx.file_error(reason.to_string()))),
    };
    let ecosystem = match distro.ecosystem(get_str(top, "distroversion")) {
        Ok(e) => e,
        Err(reason) => return emit(Err(ctx.file_error(reason.to_string()))),
    };
    let repo = get_str(top, "reponame").map(str::to_string);
    let packages = match get(top, "packages") {
        Some(Node::List(items)) => items.as_slice(),
        Some(Node::Null) | None => &[],
        Some(_) => return emit(Err(ctx.file_error("`packages` is not a list"))),
    };

    let mut by_id: BTreeMap<String, Collected> = BTreeMap::new();
    for (index, item) in packages.iter().enumerate() {
        if let Err(refused) = collect_package(item, index, max_records, ctx, &mut by_id, emit) {
            return emit(Err(ctx.file_error(refused.to_string())));
        }
    }
    for (upstream, collected) in by_id {
        emit(build_record(
            &upstream,
            collected,
            distro,
            &ecosystem,
            repo.as_deref(),
            ctx,
        ));
    }
}

/// Why a secdb file as a whole cannot be given a distribution and release.
#[derive(Debug, Clone, thiserror::Error)]
enum SecdbError {
    /// Neither `distroversion` nor a known URL prefix, repository or feed name.
    #[error("cannot tell which apk distribution this secdb is for (no distroversion, unknown urlprefix)")]
    UnknownDistro,
    /// An Alpine file with no release.
    #[error("Alpine secdb without distroversion")]
    NoDistroversion,
    /// The release makes no valid ecosystem name.
    #[error(transparent)]
    Ecosystem(#[from] crate::model::InvalidEcosystem),
    /// More ids than [`MAX_RECORDS`] (or the cap a test sets).
    #[error("secdb names more than {0} vulnerability ids (one record each); refused")]
    TooManyRecords(usize),
}

/// The apk-based distributions publishing this shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Distro {
    Alpine,
    Wolfi,
    Chainguard,
    MinimOs,
}

impl Distro {
    /// Alpine files name their release (`distroversion`); the derivatives do
    /// not, and are told apart by their URL prefix, repository or feed name.
    fn detect(top: &[(String, Node)], ctx: &SourceContext) -> Result<Distro, SecdbError> {
        let hint = format!(
            "{} {} {}",
            get_str(top, "urlprefix").unwrap_or(""),
            get_str(top, "reponame").unwrap_or(""),
            ctx.feed
        )
        .to_ascii_lowercase();
        if hint.contains("wolfi") {
            Ok(Distro::Wolfi)
        } else if hint.contains("chainguard") || hint.contains("cgr.") {
            Ok(Distro::Chainguard)
        } else if hint.contains("minimos") || hint.contains(".mini.") {
            Ok(Distro::MinimOs)
        } else if get_str(top, "distroversion").is_some() || hint.contains("alpine") {
            Ok(Distro::Alpine)
        } else {
            Err(SecdbError::UnknownDistro)
        }
    }

    fn ecosystem_base(self) -> &'static str {
        match self {
            Distro::Alpine => "Alpine",
            Distro::Wolfi => "Wolfi",
            Distro::Chainguard => "Chainguard",
            Distro::MinimOs => "MinimOS",
        }
    }

    fn id_prefix(self) -> &'static str {
        match self {
            Distro::Alpine => "ALPINE",
            Distro::Wolfi => "WOLFI",
            Distro::Chainguard => "CHAINGUARD",
            Distro::MinimOs => "MINIMOS",
        }
    }

    fn purl_namespace(self) -> &'static str {
        match self {
            Distro::Alpine => "alpine",
            Distro::Wolfi => "wolfi",
            Distro::Chainguard => "chainguard",
            Distro::MinimOs => "minimos",
        }
    }

    fn ecosystem(self, distroversion: Option<&str>) -> Result<Ecosystem, SecdbError> {
        let name = match (self, distroversion.map(str::trim)) {
            (Distro::Alpine, Some(release)) if !release.is_empty() => {
                let release = if release.starts_with('v') || release == "edge" {
                    release.to_string()
                } else {
                    format!("v{release}")
                };
                format!("Alpine:{release}")
            }
            (Distro::Alpine, _) => return Err(SecdbError::NoDistroversion),
            (other, _) => other.ecosystem_base().to_string(),
        };
        Ok(Ecosystem::new(name)?)
    }
}

/// What one vulnerability id collected across the packages of a file.
#[derive(Default)]
struct Collected {
    /// Package name -> its fix versions (`0` = never affected), in input
    /// order; usually one package (a map would allocate a node of eleven).
    packages: Vec<(String, PackageFacts)>,
    /// Extra ids given next to the main one.
    aliases: Vec<String>,
}

#[derive(Default)]
struct PackageFacts {
    fixed: Vec<String>,
    never_affected: bool,
    notes: Vec<String>,
    spelled: Vec<String>,
}

/// Adds one `packages` entry's fixes to `by_id`; an entry that cannot be
/// read is an error of that entry. Past `max_records` ids the file is
/// refused.
fn collect_package(
    item: &Node,
    index: usize,
    max_records: usize,
    ctx: &SourceContext,
    by_id: &mut BTreeMap<String, Collected>,
    emit: &mut dyn FnMut(ParseItem),
) -> Result<(), SecdbError> {
    let label = format!("packages[{index}]");
    let Some(pkg) = item
        .as_map()
        .and_then(|m| get(m, "pkg"))
        .and_then(Node::as_map)
    else {
        emit(Err(ctx.error(label, "entry has no `pkg` mapping")));
        return Ok(());
    };
    let Some(name) = get_str(pkg, "name")
        .map(str::trim)
        .filter(|n| !n.is_empty())
    else {
        emit(Err(ctx.error(label, "package without a name")));
        return Ok(());
    };
    let label = format!("{label} ({name})");
    let secfixes = match get(pkg, "secfixes") {
        Some(Node::Map(m)) => m.as_slice(),
        Some(Node::Null) | None => return Ok(()),
        Some(_) => {
            emit(Err(ctx.error(label, "`secfixes` is not a mapping")));
            return Ok(());
        }
    };
    for (version, ids) in secfixes {
        let version = version.trim();
        if version.is_empty() || version.chars().any(char::is_whitespace) {
            emit(Err(
                ctx.error(&label, format!("invalid fix version {version:?}"))
            ));
            continue;
        }
        let entries: &[Node] = match ids {
            Node::List(items) => items,
            Node::Null => &[],
            Node::Scalar(_) => std::slice::from_ref(ids),
            Node::Map(_) => {
                emit(Err(ctx.error(
                    &label,
                    format!("secfixes {version}: not a list of ids"),
                )));
                continue;
            }
        };
        for entry in entries {
            let Some(text) = entry.as_str() else {
                emit(Err(ctx.error(
                    &label,
                    format!("secfixes {version}: entry is not a string"),
                )));
                continue;
            };
            let Some(parsed) = parse_entry(text) else {
                emit(Err(ctx.error(
                    &label,
                    format!("secfixes {version}: unreadable entry {text:?}"),
                )));
                continue;
            };
            if by_id.len() >= max_records && !by_id.contains_key(&parsed.id) {
                return Err(SecdbError::TooManyRecords(max_records));
            }
            let collected = by_id.entry(parsed.id.clone()).or_default();
            extend_unique(&mut collected.aliases, parsed.aliases);
            let at = match collected.packages.iter().position(|(n, _)| n == name) {
                Some(at) => at,
                None => {
                    collected
                        .packages
                        .push((name.to_string(), PackageFacts::default()));
                    collected.packages.len() - 1
                }
            };
            let facts = &mut collected.packages[at].1;
            if version == "0" {
                facts.never_affected = true;
            } else if !facts.fixed.iter().any(|v| v == version) {
                facts.fixed.push(version.to_string());
            }
            if let Some(note) = parsed.note {
                if !facts.notes.contains(&note) {
                    facts.notes.push(note);
                }
            }
            if parsed.spelled != parsed.id && !facts.spelled.contains(&parsed.spelled) {
                facts.spelled.push(parsed.spelled);
            }
        }
    }
    Ok(())
}

/// One secfixes list entry taken apart.
struct Entry {
    id: String,
    spelled: String,
    aliases: Vec<String>,
    note: Option<String>,
}

/// Reads `CVE-2019-5060 TALOS-2019-0844`, `CVE-2018-14468 (FrameRelay)`,
/// `CVE-2017-17434-1`. Returns `None` when no usable id leads the entry.
fn parse_entry(text: &str) -> Option<Entry> {
    let text = text.trim();
    let (head, note) = match text.find('(') {
        Some(open) => {
            let note = text[open + 1..].trim_end().trim_end_matches(')').trim();
            (&text[..open], (!note.is_empty()).then(|| note.to_string()))
        }
        None => (text, None),
    };
    let mut words: Vec<String> = head
        .split_whitespace()
        .map(|t| t.trim_end_matches([',', ';']).to_string())
        .collect();
    // `CVE 2018-16859`: a space where the dash belongs.
    if words.len() >= 2 && words[0].eq_ignore_ascii_case("CVE") {
        let joined = format!("CVE-{}", words[1]);
        words.splice(0..2, [joined]);
    }
    // `CVE-????-?????  XSA-295`: no CVE yet, the next id leads.
    while words.first().is_some_and(|w| w.contains('?')) {
        words.remove(0);
    }
    let mut tokens = words.iter().map(String::as_str);
    let spelled = tokens.next()?;
    let id = normalize_id(spelled);
    if !looks_like_id(&id) {
        return None;
    }
    let aliases = tokens
        .map(|t| t.trim_end_matches([',', ';']))
        .filter(|t| looks_like_id(t))
        .map(str::to_string)
        .collect();
    Some(Entry {
        id,
        spelled: spelled.to_string(),
        aliases,
        note,
    })
}

/// An id has a `-`, a digit and passes [`AdvisoryId`] validation.
fn looks_like_id(token: &str) -> bool {
    token.contains('-')
        && token.chars().any(|c| c.is_ascii_digit())
        && token.parse::<AdvisoryId>().is_ok()
}

/// `CVE-2017-17434-1` -> `CVE-2017-17434`; everything else unchanged.
fn normalize_id(token: &str) -> String {
    let parts: Vec<&str> = token.split('-').collect();
    let numeric = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if parts.len() == 4
        && parts[0].eq_ignore_ascii_case("CVE")
        && numeric(parts[1])
        && numeric(parts[2])
        && numeric(parts[3])
    {
        return format!("CVE-{}-{}", parts[1], parts[2]);
    }
    if parts.len() == 3 && parts[0].eq_ignore_ascii_case("cve") {
        return format!("CVE-{}-{}", parts[1], parts[2]);
    }
    token.to_string()
}

fn build_record(
    upstream: &str,
    collected: Collected,
    distro: Distro,
    ecosystem: &Ecosystem,
    repo: Option<&str>,
    ctx: &SourceContext,
) -> ParseItem {
    let id_text = format!("{}-{}", distro.id_prefix(), upstream);
    let id: AdvisoryId = id_text
        .parse()
        .map_err(|e| ctx.error(&id_text, format!("{e}")))?;
    let upstream_id: AdvisoryId = upstream
        .parse()
        .map_err(|e| ctx.error(&id_text, format!("{e}")))?;
    let mut aliases = vec![upstream_id.clone()];
    for alias in &collected.aliases {
        if let Ok(alias) = alias.parse::<AdvisoryId>() {
            if !aliases.contains(&alias) {
                aliases.push(alias);
            }
        }
    }
    let mut affected = Vec::new();
    let mut packages = collected.packages;
    // In name order, as when they were collected in a map.
    packages.sort_by(|a, b| a.0.cmp(&b.0));
    for (name, facts) in packages {
        let package = Package {
            ecosystem: ecosystem.clone(),
            name: name.clone(),
            purl: Some(format!(
                "pkg:apk/{}/{}?arch=source",
                distro.purl_namespace(),
                name
            )),
        };
        let mut extra = Map::new();
        if let Some(repo) = repo {
            extra.insert("repository".into(), json!(repo));
        }
        if !facts.notes.is_empty() {
            extra.insert("note".into(), json!(facts.notes.join("; ")));
        }
        if !facts.spelled.is_empty() {
            extra.insert("upstream_spelling".into(), json!(facts.spelled));
        }
        // The lowest listed fix fixes it; later ones are re-fixes, kept as data.
        let mut fixed = facts.fixed;
        fixed.sort_by(|a, b| apk_compare(a.as_bytes(), b.as_bytes()));
        if fixed.len() > 1 {
            extra.insert("later_fixes".into(), json!(fixed[1..]));
        }
        let ranges: Vec<Range> = fixed
            .first()
            .map(|version| Range {
                kind: RangeKind::Ecosystem,
                repo: None,
                events: vec![Event::Introduced("0".into()), Event::Fixed(version.clone())],
                database_specific: None,
            })
            .into_iter()
            .collect();
        if ranges.is_empty() {
            // Only key `0`: the vendor says this package was never affected.
            extra.insert("status".into(), json!("not_affected"));
        } else if facts.never_affected {
            extra.insert("also_listed_as_never_affected".into(), json!(true));
        }
        // secdb lists fixes only: a fixed version, or `0` for never affected.
        let status = if ranges.is_empty() {
            StatusStatement::new(FixStatus::NotAffected, "secfixes 0")
        } else {
            StatusStatement::new(FixStatus::Fixed, "secfixes")
        };
        let mut entry = Affected {
            ranges,
            database_specific: DatabaseSpecific {
                advisord: None,
                other: extra,
            },
            ..Affected::new(package)
        };
        entry.set_status(status);
        affected.push(entry);
    }
    let mut references = Vec::new();
    if distro == Distro::Alpine && upstream_id.kind() == crate::model::IdKind::Cve {
        references.push(Reference {
            kind: "ADVISORY".into(),
            url: format!("https://security.alpinelinux.org/vuln/{upstream}"),
        });
    }
    let mut advisory = Advisory {
        aliases,
        upstream: vec![upstream_id],
        affected,
        references,
        ..Advisory::new(id, ctx.fetched.clone())
    };
    ctx.stamp(&mut advisory, upstream);
    Ok(advisory)
}

/// Joins the records of several secdb files (one per release and
/// repository) that share an id into one record, as OSV.dev publishes
/// them: `ALPINE-CVE-2017-16548` carries the entries of every release. Without
/// this, one batch holding v3.10 and v3.11 would keep only the file read
/// last. Affected entries, aliases, upstream ids, references and provenance
/// are unioned; `modified` is the latest. Order of first appearance is kept.
pub fn merge_releases(records: Vec<Advisory>) -> Vec<Advisory> {
    let mut out: Vec<Advisory> = Vec::with_capacity(records.len());
    let mut at: std::collections::HashMap<AdvisoryId, usize> =
        std::collections::HashMap::with_capacity(records.len());
    for record in records {
        let Some(&index) = at.get(&record.id) else {
            at.insert(record.id.clone(), out.len());
            out.push(record);
            continue;
        };
        let sources: Vec<_> = record.sources().to_vec();
        let into = &mut out[index];
        extend_unique(&mut into.affected, record.affected);
        extend_unique(&mut into.aliases, record.aliases);
        extend_unique(&mut into.upstream, record.upstream);
        extend_unique(&mut into.references, record.references);
        if record.modified > into.modified {
            into.modified = record.modified;
        }
        let meta = into.meta_mut();
        extend_unique(&mut meta.sources, sources);
    }
    out
}

/// A loosely typed YAML/JSON tree whose scalars keep their spelling: the
/// YAML key `0` stays `"0"` and `1.10` stays `"1.10"` (not a float).
#[derive(Debug, Clone, PartialEq)]
enum Node {
    Null,
    Scalar(String),
    List(Vec<Node>),
    Map(Vec<(String, Node)>),
}

impl Node {
    fn as_map(&self) -> Option<&[(String, Node)]> {
        match self {
            Node::Map(m) => Some(m),
            _ => None,
        }
    }

    fn as_str(&self) -> Option<&str> {
        match self {
            Node::Scalar(s) => Some(s),
            _ => None,
        }
    }
}

fn get<'n>(map: &'n [(String, Node)], key: &str) -> Option<&'n Node> {
    map.iter().find(|(k, _)| k == key).map(|(_, v)| v)
}

fn get_str<'n>(map: &'n [(String, Node)], key: &str) -> Option<&'n str> {
    get(map, key).and_then(Node::as_str)
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a secdb value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Node, E> {
        Ok(Node::Scalar(v.to_string()))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Node, E> {
        Ok(Node::Scalar(v.to_string()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Node, E> {
        Ok(Node::Scalar(v.to_string()))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Node, E> {
        Ok(Node::Scalar(v.to_string()))
    }
    fn visit_str<E>(self, v: &str) -> Result<Node, E> {
        Ok(Node::Scalar(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Node, E> {
        Ok(Node::Scalar(v))
    }
    fn visit_unit<E>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }
    fn visit_none<E>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
        Node::deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Node>()? {
            items.push(item);
        }
        Ok(Node::List(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key_seed(KeySeed)? {
            let value = map.next_value::<Node>()?;
            entries.push((key, value));
        }
        Ok(Node::Map(entries))
    }
}

/// Reads a mapping key as its text, whatever scalar type YAML would infer.
struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = String;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<String, D::Error> {
        d.deserialize_str(KeyVisitor)
    }
}

struct KeyVisitor;

impl<'de> Visitor<'de> for KeyVisitor {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a scalar mapping key")
    }
    fn visit_str<E>(self, v: &str) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_string<E>(self, v: String) -> Result<String, E> {
        Ok(v)
    }
    fn visit_u64<E>(self, v: u64) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_i64<E>(self, v: i64) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_f64<E>(self, v: f64) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_bool<E>(self, v: bool) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_unit<E: de::Error>(self) -> Result<String, E> {
        Ok(String::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Timestamp;

    fn ctx(feed: &str) -> SourceContext {
        SourceContext::for_bytes(
            feed,
            "inline",
            "2024-01-01T00:00:00Z".parse::<Timestamp>().unwrap(),
            b"",
        )
    }

    fn collect(bytes: &[u8], feed: &str) -> Vec<ParseItem> {
        let mut out = Vec::new();
        parse(bytes, &ctx(feed), &mut |item| out.push(item));
        out
    }

    const YAML: &str = "---
distroversion: v3.99
reponame: main
packages:
  - pkg:
      name: foo
      secfixes:
        1.10:
          - CVE-2020-0001
        1.2.3-r1:
          - CVE-2020-0002 TALOS-2020-0001
          - CVE-2020-0003 (partial)
        0:
          - CVE-2020-0009
  - pkg:
      name: bar
      secfixes:
        2.0-r0:
          - CVE-2020-0002
  - pkg:
      secfixes: {}
  - pkg:
      name: nofixes
";

    #[test]
    fn yaml_keys_keep_their_spelling() {
        let items = collect(YAML.as_bytes(), "alpine");
        let errors: Vec<_> = items.iter().filter_map(|i| i.as_ref().err()).collect();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(errors[0].record.starts_with("packages[2]"));
        let records: Vec<_> = items.iter().filter_map(|i| i.as_ref().ok()).collect();
        let ids: Vec<_> = records.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "ALPINE-CVE-2020-0001",
                "ALPINE-CVE-2020-0002",
                "ALPINE-CVE-2020-0003",
                "ALPINE-CVE-2020-0009"
            ]
        );
        // `1.10` stays `1.10`, not the float 1.1.
        assert_eq!(
            records[0].affected[0].ranges[0].events[1],
            Event::Fixed("1.10".into())
        );
        // Two packages fixed the same id: one record, two entries.
        let two = records[1];
        assert_eq!(two.affected.len(), 2);
        assert_eq!(two.affected[0].package.as_ref().unwrap().name, "bar");
        assert_eq!(
            two.aliases
                .iter()
                .map(AdvisoryId::as_str)
                .collect::<Vec<_>>(),
            ["CVE-2020-0002", "TALOS-2020-0001"]
        );
        assert_eq!(
            two.affected[0].package.as_ref().unwrap().ecosystem.as_str(),
            "Alpine:v3.99"
        );
        assert_eq!(
            records[2].affected[0].database_specific.other["note"],
            json!("partial")
        );
        // Key 0: kept, never matches (no ranges, no versions).
        let never = records[3];
        assert!(never.affected[0].ranges.is_empty());
        assert!(never.affected[0].versions.is_empty());
        assert_eq!(
            never.affected[0].database_specific.other["status"],
            json!("not_affected")
        );
    }

    #[test]
    fn derivative_without_release() {
        let json = br#"{"reponame": "os", "urlprefix": "https://packages.wolfi.example",
            "packages": [{"pkg": {"name": "x", "secfixes": {"1-r0": ["CVE-2022-1", "bad id"]}}}]}"#;
        let items = collect(json, "feed");
        let records: Vec<_> = items.iter().filter_map(|i| i.as_ref().ok()).collect();
        assert_eq!(records.len(), 1);
        assert_eq!(items.iter().filter(|i| i.is_err()).count(), 1);
        let eco = &records[0].affected[0].package.as_ref().unwrap().ecosystem;
        assert_eq!(eco.as_str(), "Wolfi");
        assert_eq!(records[0].id.as_str(), "WOLFI-CVE-2022-1");
    }

    #[test]
    fn malformed_inputs_never_panic() {
        for bad in [
            &b"{"[..],
            b"[]",
            b"packages: 7",
            b"distroversion: v3.1\npackages: [1, {pkg: 2}, {pkg: {name: a, secfixes: [1]}}]",
            b"distroversion: v3.1\npackages: [{pkg: {name: a, secfixes: {'1-r0': {x: 1}, '': [CVE-1-2]}}}]",
        ] {
            let items = collect(bad, "alpine");
            assert!(items.iter().any(Result::is_err), "{:?}", String::from_utf8_lossy(bad));
            assert!(items.iter().all(Result::is_err));
        }
    }

    #[test]
    fn releases_merge_into_one_record() {
        let v1 = YAML.replace("v3.99", "v3.98");
        let mut all = Vec::new();
        for text in [YAML.to_string(), v1] {
            all.extend(
                collect(text.as_bytes(), "alpine")
                    .into_iter()
                    .filter_map(Result::ok),
            );
        }
        assert_eq!(all.len(), 8);
        let merged = merge_releases(all);
        assert_eq!(merged.len(), 4);
        let two = &merged[1];
        assert_eq!(two.id.as_str(), "ALPINE-CVE-2020-0002");
        assert_eq!(two.affected.len(), 4, "bar and foo in both releases");
        assert_eq!(two.aliases.len(), 2);
        assert_eq!(two.sources().len(), 1, "same source text, same digest here");
    }

    #[test]
    fn a_file_at_the_record_cap_is_read_and_one_id_more_is_refused() {
        // Four ids (CVE-2020-0002 by two packages is one record).
        let yaml = YAML.replace("  - pkg:\n      secfixes: {}\n", "");
        let run = |max: usize| {
            let mut out = Vec::new();
            parse_capped(
                yaml.as_bytes(),
                Syntax::Yaml,
                max,
                &ctx("alpine"),
                &mut |item| out.push(item),
            );
            out
        };
        let at_cap = run(4);
        assert_eq!(at_cap.iter().filter(|i| i.is_ok()).count(), 4);
        let over = run(3);
        let ok = over.iter().filter(|i| i.is_ok()).count();
        assert_eq!(ok, 0, "a refused file gives no record");
        let error = over.last().unwrap().as_ref().unwrap_err();
        assert!(error.is_whole_file());
        assert_eq!(error.feed, "alpine");
        assert_eq!(
            error.reason,
            "secdb names more than 3 vulnerability ids (one record each); refused"
        );
    }

    #[test]
    fn numbered_cve_parts_collapse() {
        assert_eq!(normalize_id("CVE-2017-17434-1"), "CVE-2017-17434");
        assert_eq!(normalize_id("XSA-207"), "XSA-207");
        let e = parse_entry("CVE-????-?????  XSA-295").unwrap();
        assert_eq!(e.id, "XSA-295");
        assert_eq!(parse_entry("CVE 2018-16859").unwrap().id, "CVE-2018-16859");
        assert!(parse_entry("CVE-????-?????").is_none());
        let e = parse_entry("CVE-2018-10103 (SMB - partially fixed)").unwrap();
        assert_eq!(e.id, "CVE-2018-10103");
        assert_eq!(e.note.as_deref(), Some("SMB - partially fixed"));
    }
}
