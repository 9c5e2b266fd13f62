//! CSAF 2.0 security advisories and VEX documents (Red Hat, SUSE, others).
//!
//! # Records
//!
//! - A per-CVE document (VEX: `tracking.id` is a CVE) gives one record per
//!   vulnerability, named after the CVE with the publisher's prefix:
//!   `REDHAT-CVE-2022-38752`, `SUSE-CVE-2023-5568` (the bare CVE for other
//!   publishers). The CVE is in `upstream` and `aliases`. A per-CVE document
//!   without vulnerabilities gives one record without affected entries; a
//!   `deleted` tombstone (Red Hat's bulk VEX streams) gives a withdrawn one.
//! - A document named by an advisory id (`csaf_security_advisory`, and Red
//!   Hat's older `csaf_vex` RHSAs) gives one record named by `tracking.id`
//!   (`RHSA-2023:7025`, `SUSE-SU-2015:0011-2`) with every CVE of its
//!   vulnerabilities as aliases.
//! - Advisories named in vendor-fix remediation URLs (`.../errata/RHSA-2023:1512`)
//!   are listed in `related`.
//!
//! # Products
//!
//! A product id in `product_status` is resolved through the product tree:
//! a relationship (`default_component_of`) joins a component (the package,
//! described by a `product_version` branch) to a platform (a `product_name`
//! branch with a CPE). The platform gives the ecosystem:
//! Red Hat `cpe:/a:redhat:enterprise_linux:8::appstream` ->
//! `Red Hat:enterprise_linux:8::appstream` (OSV.dev's spelling);
//! SUSE `SUSE Linux Enterprise Server 15 SP5` -> `SUSE:Linux Enterprise Server 15 SP5`,
//! `openSUSE Leap 15.5` -> `openSUSE:Leap 15.5`. The component gives the package
//! name and version: from its purl (`pkg:rpm/redhat/name@1.2-3.el9?arch=x&epoch=1&rpmmod=ruby:2.5:...`)
//! or, lacking one, from its id (`name-0:1.2-3.el7.noarch` for Red Hat,
//! `name-1.2-3.1.x86_64` for SUSE). Red Hat versions carry the epoch
//! (`0:1.2-3.el7`) as Red Hat's own product ids do. Module streams
//! (`rpmmod=`) go to `ecosystem_specific.rpm_module` and into the purl.
//!
//! # Statuses
//!
//! | CSAF status                              | affected entry                                 |
//! |------------------------------------------|------------------------------------------------|
//! | `fixed`, `first_fixed`, `recommended`    | `introduced: "0"`, `fixed: <EVR>` (rpm only)   |
//! | `known_affected` without a version       | `introduced: "0"` only (affected, no fix)      |
//! | `known_affected` with a version          | `versions: [<EVR>]`                            |
//! | `first_affected` / `last_affected`       | `introduced: v` / `introduced: 0, last_affected: v` |
//! | `known_not_affected`, `under_investigation` | no ranges, no versions: never matches       |
//!
//! Every entry carries `database_specific.status` (the CSAF status) and,
//! where a remediation names it, `remediation` (`vendor_fix`,
//! `none_available`, `no_fix_planned`, ...). Entries are grouped per
//! (ecosystem, package, module, status); the versions a not-affected or
//! under-investigation entry was stated for are kept in
//! `database_specific.product_versions`. Non-rpm components (containers,
//! Maven artifacts) have no comparable version here: their fixed and
//! not-affected statements are kept as data only; their unfixed ones match
//! every version.
//!
//! Scores (`cvss_v3`, `cvss_v2`) become record severities; the `impact`
//! threat (or the document's `aggregate_severity`) becomes the vendor
//! severity.
//!
//! # Memory
//!
//! The document is deserialized into small wire structures (each
//! vulnerability kept as borrowed raw JSON), notes and other prose that is
//! not used are skipped without being built, and each vulnerability is read
//! on its own so one malformed vulnerability is one [`super::RecordError`].

use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap};
use std::str::FromStr;

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{json, Map};

use super::{ParseItem, SourceContext};
use crate::model::{
    is_cve_id, Advisory, AdvisoryId, Affected, DatabaseSpecific, Ecosystem, Event, FixStatus,
    IdKind, Package, Range, RangeKind, Reference, Severity, SeverityKind, StatusStatement,
    Timestamp,
};

/// A string of the wire structs. Serde borrows a string only for a field
/// spelled `Cow<'a, str>` and marked `borrow`, never inside `Option` or
/// `Vec`, so through this alias every string is owned; only the
/// vulnerabilities are borrowed (as raw JSON, parsed one at a time).
type Str<'a> = Cow<'a, str>;

#[derive(Deserialize)]
struct Doc<'a> {
    document: Document<'a>,
    product_tree: Option<ProductTree<'a>>,
    #[serde(borrow, default)]
    vulnerabilities: Vec<&'a RawValue>,
}

#[derive(Deserialize)]
struct Document<'a> {
    title: Option<Str<'a>>,
    tracking: Tracking<'a>,
    aggregate_severity: Option<Text<'a>>,
    publisher: Option<Publisher<'a>>,
    #[serde(default)]
    references: Vec<CsafReference<'a>>,
    #[serde(default)]
    notes: Vec<Note<'a>>,
}

#[derive(Deserialize)]
struct Tracking<'a> {
    id: Str<'a>,
    current_release_date: Option<Str<'a>>,
    initial_release_date: Option<Str<'a>>,
    /// `final`, `interim`, `draft`; Red Hat's bulk VEX streams also carry
    /// `deleted` tombstones.
    status: Option<Str<'a>>,
}

#[derive(Deserialize)]
struct Text<'a> {
    text: Str<'a>,
}

#[derive(Deserialize)]
struct Publisher<'a> {
    name: Option<Str<'a>>,
    namespace: Option<Str<'a>>,
}

#[derive(Deserialize)]
struct CsafReference<'a> {
    category: Option<Str<'a>>,
    url: Str<'a>,
}

#[derive(Deserialize)]
struct Note<'a> {
    category: Str<'a>,
    text: Option<Str<'a>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ProductTree<'a> {
    branches: Vec<Branch<'a>>,
    relationships: Vec<Relationship<'a>>,
    full_product_names: Vec<FullProductName<'a>>,
}

#[derive(Deserialize)]
struct Branch<'a> {
    category: Str<'a>,
    product: Option<FullProductName<'a>>,
    #[serde(default)]
    branches: Vec<Branch<'a>>,
}

#[derive(Deserialize)]
struct FullProductName<'a> {
    name: Str<'a>,
    product_id: Str<'a>,
    product_identification_helper: Option<Helper<'a>>,
}

#[derive(Deserialize)]
struct Helper<'a> {
    cpe: Option<Str<'a>>,
    purl: Option<Str<'a>>,
}

#[derive(Deserialize)]
struct Relationship<'a> {
    full_product_name: FullProductName<'a>,
    product_reference: Str<'a>,
    relates_to_product_reference: Str<'a>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Vulnerability<'a> {
    cve: Option<Str<'a>>,
    title: Option<Str<'a>>,
    notes: Vec<Note<'a>>,
    product_status: ProductStatus<'a>,
    remediations: Vec<Remediation<'a>>,
    flags: Vec<Flag<'a>>,
    scores: Vec<Score<'a>>,
    threats: Vec<Threat<'a>>,
    references: Vec<CsafReference<'a>>,
    release_date: Option<Str<'a>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ProductStatus<'a> {
    fixed: Vec<Str<'a>>,
    first_fixed: Vec<Str<'a>>,
    recommended: Vec<Str<'a>>,
    known_affected: Vec<Str<'a>>,
    first_affected: Vec<Str<'a>>,
    last_affected: Vec<Str<'a>>,
    known_not_affected: Vec<Str<'a>>,
    under_investigation: Vec<Str<'a>>,
}

#[derive(Deserialize)]
struct Remediation<'a> {
    category: Str<'a>,
    url: Option<Str<'a>>,
    details: Option<Str<'a>>,
    #[serde(default)]
    product_ids: Vec<Str<'a>>,
}

/// A VEX flag: the justification label of `known_not_affected` products.
#[derive(Deserialize)]
struct Flag<'a> {
    label: Str<'a>,
    #[serde(default)]
    product_ids: Vec<Str<'a>>,
}

#[derive(Deserialize)]
struct Score<'a> {
    cvss_v3: Option<Cvss<'a>>,
    cvss_v2: Option<Cvss<'a>>,
}

#[derive(Deserialize)]
struct Cvss<'a> {
    #[serde(rename = "vectorString")]
    vector_string: Str<'a>,
}

#[derive(Deserialize)]
struct Threat<'a> {
    category: Str<'a>,
    details: Option<Str<'a>>,
}

/// Whose documents these are: decides id prefixes and ecosystem spelling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Vendor {
    RedHat,
    Suse,
    Other,
}

impl Vendor {
    /// From the publisher; a tombstone without one is told by its feed or source.
    fn detect(publisher: Option<&Publisher<'_>>, ctx: &SourceContext) -> Vendor {
        let text = match publisher {
            Some(p) => format!(
                "{} {}",
                p.name.as_deref().unwrap_or(""),
                p.namespace.as_deref().unwrap_or("")
            ),
            None => format!("{} {}", ctx.feed, ctx.source),
        }
        .to_ascii_lowercase();
        if text.contains("red hat") || text.contains("redhat") {
            Vendor::RedHat
        } else if text.contains("suse") {
            Vendor::Suse
        } else {
            Vendor::Other
        }
    }

    fn vex_prefix(self) -> Option<&'static str> {
        match self {
            Vendor::RedHat => Some("REDHAT"),
            Vendor::Suse => Some("SUSE"),
            Vendor::Other => None,
        }
    }
}

/// Parses one CSAF 2.0 document (advisory or VEX), or a JSON-lines file of
/// documents (one per line, as bulk VEX exports come).
pub fn parse(bytes: &[u8], ctx: &SourceContext, emit: &mut dyn FnMut(ParseItem)) {
    if !is_json_lines(bytes) {
        return parse_document(bytes, super::WHOLE_FILE, ctx, emit);
    }
    for (index, line) in bytes.split(|b| *b == b'\n').enumerate() {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        parse_document(line, &format!("line {}", index + 1), ctx, emit);
    }
}

/// More than one line opens a JSON object at its first byte.
fn is_json_lines(bytes: &[u8]) -> bool {
    bytes
        .split(|b| *b == b'\n')
        .filter(|line| line.first() == Some(&b'{'))
        .nth(1)
        .is_some()
}

/// Parses one document; `label` names it in errors (`file`, `line 3`).
fn parse_document(bytes: &[u8], label: &str, ctx: &SourceContext, emit: &mut dyn FnMut(ParseItem)) {
    let doc: Doc<'_> = match serde_json::from_slice(bytes) {
        Ok(d) => d,
        Err(e) => return emit(Err(ctx.error(label, format!("not a CSAF document: {e}")))),
    };
    let vendor = Vendor::detect(doc.document.publisher.as_ref(), ctx);
    let tree = doc.product_tree.unwrap_or_default();
    let index = ProductIndex::build(&tree, vendor);
    let tracking_id = doc.document.tracking.id.trim().to_string();

    let dates = match (
        parse_date(doc.document.tracking.current_release_date.as_deref()),
        parse_date(doc.document.tracking.initial_release_date.as_deref()),
    ) {
        (Ok(modified), Ok(published)) => (modified, published),
        (Err(e), _) | (_, Err(e)) => return emit(Err(ctx.error(&tracking_id, e.to_string()))),
    };
    let mut vulns = Vec::new();
    for (i, raw) in doc.vulnerabilities.iter().enumerate() {
        match serde_json::from_str::<Vulnerability<'_>>(raw.get()) {
            Ok(v) => vulns.push(v),
            Err(e) => emit(Err(ctx.error(
                format!("{tracking_id} vulnerabilities[{i}]"),
                format!("unreadable vulnerability: {e}"),
            ))),
        }
    }
    // Per-CVE documents (VEX) give one record per vulnerability; documents
    // named by an advisory id (even Red Hat's `csaf_vex` RHSAs) give one.
    let per_vulnerability = is_cve_id(&tracking_id);
    let doc_refs = references(&doc.document.references);
    let doc_severity = doc
        .document
        .aggregate_severity
        .as_ref()
        .map(|s| s.text.trim().to_ascii_lowercase())
        .filter(|s| !s.is_empty());
    // A deleted document withdraws the record it used to give.
    let withdrawn = (doc.document.tracking.status.as_deref().map(str::trim) == Some("deleted"))
        .then(|| dates.0.clone().unwrap_or_else(|| ctx.fetched.clone()));
    let header = Header {
        tracking_id: &tracking_id,
        title: doc.document.title.as_deref(),
        notes: &doc.document.notes,
        withdrawn,
        modified: dates.0,
        published: dates.1,
        vendor,
        severity: doc_severity,
        references: doc_refs,
    };
    if per_vulnerability && vulns.is_empty() {
        // A per-CVE document without statements (a tombstone, or a CVE the
        // vendor only describes): one record without affected entries.
        emit(vex_record(&header, &Vulnerability::default(), &index, ctx));
    } else if per_vulnerability {
        for vuln in &vulns {
            emit(vex_record(&header, vuln, &index, ctx));
        }
    } else {
        emit(advisory_record(&header, &vulns, &index, ctx));
    }
}

/// What every record of one document shares.
struct Header<'h> {
    tracking_id: &'h str,
    title: Option<&'h str>,
    notes: &'h [Note<'h>],
    withdrawn: Option<Timestamp>,
    modified: Option<Timestamp>,
    published: Option<Timestamp>,
    vendor: Vendor,
    severity: Option<String>,
    references: Vec<Reference>,
}

impl Header<'_> {
    /// The document's `modified`, or when it was fetched if it has none.
    fn modified_or(&self, ctx: &SourceContext) -> Timestamp {
        self.modified.clone().unwrap_or_else(|| ctx.fetched.clone())
    }
}

fn parse_date(text: Option<&str>) -> Result<Option<Timestamp>, crate::model::InvalidTimestamp> {
    match text.map(str::trim).filter(|t| !t.is_empty()) {
        None => Ok(None),
        Some(t) => t.parse::<Timestamp>().map(Some),
    }
}

fn references(refs: &[CsafReference<'_>]) -> Vec<Reference> {
    let mut out: Vec<Reference> = Vec::new();
    for r in refs {
        let url = r.url.trim();
        if url.is_empty() || out.iter().any(|o| o.url == url) {
            continue;
        }
        let kind = if r.category.as_deref() == Some("self") {
            "ADVISORY"
        } else if url.contains("bugzilla") || url.contains("show_bug") {
            "REPORT"
        } else {
            "WEB"
        };
        out.push(Reference {
            kind: kind.into(),
            url: url.to_string(),
        });
    }
    out
}

fn vex_record(
    header: &Header<'_>,
    vuln: &Vulnerability<'_>,
    index: &ProductIndex<'_>,
    ctx: &SourceContext,
) -> ParseItem {
    let cve = vuln
        .cve
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .unwrap_or(header.tracking_id);
    let id_text = match header.vendor.vex_prefix() {
        Some(prefix) => format!("{prefix}-{cve}"),
        None => cve.to_string(),
    };
    let id: AdvisoryId = id_text
        .parse()
        .map_err(|e| ctx.error(&id_text, format!("{e}")))?;
    let cve_id: Option<AdvisoryId> = cve
        .parse()
        .ok()
        .filter(|c: &AdvisoryId| is_cve_id(c.as_str()));
    let mut builder = AffectedBuilder::default();
    builder.add_vulnerability(vuln, index);
    let unresolved = builder.unresolved;
    let mut references = header.references.clone();
    for r in references_of(vuln) {
        if !references.iter().any(|o| o.url == r.url) {
            references.push(r);
        }
    }
    let mut advisory = Advisory {
        published: header.published.clone().or_else(|| {
            vuln.release_date
                .as_deref()
                .and_then(|d| d.trim().parse().ok())
        }),
        withdrawn: header.withdrawn.clone(),
        aliases: cve_id.iter().cloned().collect(),
        upstream: cve_id.into_iter().collect(),
        related: builder.fix_advisories(),
        summary: vuln
            .title
            .as_deref()
            .or(header.title)
            .map(|t| t.trim().to_string()),
        details: description(&vuln.notes).or_else(|| description(header.notes)),
        severity: severities(std::slice::from_ref(vuln)),
        affected: builder.finish(header.vendor),
        references,
        ..Advisory::new(id, header.modified_or(ctx))
    };
    let severity = impact(std::slice::from_ref(vuln)).or_else(|| header.severity.clone());
    if let Some(s) = severity {
        advisory.meta_mut().vendor_severity = Some(s);
    }
    if unresolved > 0 {
        advisory
            .database_specific
            .other
            .insert("unresolved_product_ids".into(), json!(unresolved));
    }
    ctx.stamp(&mut advisory, header.tracking_id);
    Ok(advisory)
}

fn advisory_record(
    header: &Header<'_>,
    vulns: &[Vulnerability<'_>],
    index: &ProductIndex<'_>,
    ctx: &SourceContext,
) -> ParseItem {
    let id: AdvisoryId = header
        .tracking_id
        .parse()
        .map_err(|e| ctx.error(header.tracking_id, format!("{e}")))?;
    let mut aliases: Vec<AdvisoryId> = Vec::new();
    let mut builder = AffectedBuilder::default();
    let mut references = header.references.clone();
    for vuln in vulns {
        if let Some(cve) = vuln.cve.as_deref().and_then(|c| c.trim().parse().ok()) {
            if !aliases.contains(&cve) {
                aliases.push(cve);
            }
        }
        builder.add_vulnerability(vuln, index);
        for r in references_of(vuln) {
            if !references.iter().any(|o| o.url == r.url) {
                references.push(r);
            }
        }
    }
    let unresolved = builder.unresolved;
    let mut related = builder.fix_advisories();
    related.retain(|r| r != &id);
    let mut advisory = Advisory {
        published: header.published.clone(),
        withdrawn: header.withdrawn.clone(),
        aliases,
        related,
        summary: header.title.map(|t| t.trim().to_string()),
        details: description(header.notes),
        severity: severities(vulns),
        affected: builder.finish(header.vendor),
        references,
        ..Advisory::new(id, header.modified_or(ctx))
    };
    if let Some(s) = header.severity.clone().or_else(|| impact(vulns)) {
        advisory.meta_mut().vendor_severity = Some(s);
    }
    if unresolved > 0 {
        advisory
            .database_specific
            .other
            .insert("unresolved_product_ids".into(), json!(unresolved));
    }
    ctx.stamp(&mut advisory, header.tracking_id);
    Ok(advisory)
}

fn references_of(vuln: &Vulnerability<'_>) -> Vec<Reference> {
    references(&vuln.references)
}

/// The `description` note (or `summary`), trimmed.
fn description(notes: &[Note<'_>]) -> Option<String> {
    ["description", "summary", "general"]
        .iter()
        .find_map(|cat| {
            notes
                .iter()
                .find(|n| n.category.as_ref() == *cat)
                .and_then(|n| n.text.as_deref())
        })
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
}

/// Distinct CVSS vectors, the first of each version.
fn severities(vulns: &[Vulnerability<'_>]) -> Vec<Severity> {
    let mut out: Vec<Severity> = Vec::new();
    for score in vulns.iter().flat_map(|v| v.scores.iter()) {
        for (kind, cvss) in [
            (SeverityKind::CvssV3, score.cvss_v3.as_ref()),
            (SeverityKind::CvssV2, score.cvss_v2.as_ref()),
        ] {
            let Some(cvss) = cvss else { continue };
            let vector = cvss.vector_string.trim();
            if vector.is_empty() || out.iter().any(|s| s.kind == kind) {
                continue;
            }
            out.push(Severity {
                kind,
                score: vector.to_string(),
            });
        }
    }
    out
}

/// The vendor's impact rating from `threats`, the highest when they differ.
fn impact(vulns: &[Vulnerability<'_>]) -> Option<String> {
    const ORDER: [&str; 6] = ["none", "low", "moderate", "medium", "important", "critical"];
    vulns
        .iter()
        .flat_map(|v| v.threats.iter())
        .filter(|t| t.category.as_ref() == "impact")
        .filter_map(|t| t.details.as_deref())
        .map(|d| d.trim().to_ascii_lowercase())
        .filter(|d| !d.is_empty())
        .max_by_key(|d| ORDER.iter().position(|o| o == d).unwrap_or(0))
}

// ---------------------------------------------------------------------------
// Product tree
// ---------------------------------------------------------------------------

/// The product tree as lookups from product id.
struct ProductIndex<'t> {
    vendor: Vendor,
    /// Every product described in a branch or `full_product_names`.
    leaves: HashMap<&'t str, Leaf<'t>>,
    /// Relationship product id -> (component id, platform id).
    relationships: HashMap<&'t str, (&'t str, &'t str)>,
}

struct Leaf<'t> {
    category: &'t str,
    name: &'t str,
    cpe: Option<&'t str>,
    purl: Option<&'t str>,
}

impl<'t> ProductIndex<'t> {
    fn build(tree: &'t ProductTree<'_>, vendor: Vendor) -> Self {
        let mut index = ProductIndex {
            vendor,
            leaves: HashMap::new(),
            relationships: HashMap::new(),
        };
        let mut stack: Vec<&'t Branch<'_>> = tree.branches.iter().collect();
        while let Some(branch) = stack.pop() {
            if let Some(product) = &branch.product {
                index.add_leaf(branch.category.as_ref(), product);
            }
            stack.extend(branch.branches.iter());
        }
        for product in &tree.full_product_names {
            index.add_leaf("full_product_name", product);
        }
        for rel in &tree.relationships {
            index.relationships.insert(
                rel.full_product_name.product_id.as_ref(),
                (
                    rel.product_reference.as_ref(),
                    rel.relates_to_product_reference.as_ref(),
                ),
            );
        }
        index
    }

    fn add_leaf(&mut self, category: &'t str, product: &'t FullProductName<'_>) {
        let helper = product.product_identification_helper.as_ref();
        self.leaves.insert(
            product.product_id.as_ref(),
            Leaf {
                category,
                name: product.name.as_ref(),
                cpe: helper.and_then(|h| h.cpe.as_deref()),
                purl: helper.and_then(|h| h.purl.as_deref()),
            },
        );
    }

    /// The (platform ecosystem, component) a product id stands for, if it
    /// names a package.
    fn resolve(&self, product_id: &str) -> Option<(Option<Ecosystem>, Component)> {
        if let Some((component_id, platform_id)) = self.relationships.get(product_id) {
            let component = self.component(component_id)?;
            let ecosystem = self.platform_ecosystem(platform_id);
            return Some((ecosystem, component));
        }
        let leaf = self.leaves.get(product_id)?;
        if leaf.category == "product_name" || leaf.category == "product_family" {
            return None;
        }
        Some((None, self.component(product_id)?))
    }

    fn component(&self, id: &str) -> Option<Component> {
        let leaf = self.leaves.get(id);
        if let Some(purl) = leaf.and_then(|l| l.purl) {
            if let Some(component) = Component::from_purl(purl, id, self.vendor) {
                return Some(component);
            }
        }
        Component::from_id(id, self.vendor)
            .or_else(|| leaf.and_then(|l| Component::from_id(l.name, self.vendor)))
    }

    fn platform_ecosystem(&self, platform_id: &str) -> Option<Ecosystem> {
        let leaf = self.leaves.get(platform_id);
        let name = match self.vendor {
            Vendor::RedHat => match leaf.and_then(|l| l.cpe).and_then(redhat_cpe_release) {
                Some(release) => format!("Red Hat:{release}"),
                None => format!("Red Hat:{}", leaf.map_or(platform_id, |l| l.name)),
            },
            Vendor::Suse => suse_ecosystem(leaf.map_or(platform_id, |l| l.name)),
            Vendor::Other => return None,
        };
        Ecosystem::new(name).ok()
    }
}

/// `cpe:/a:redhat:enterprise_linux:8::appstream` -> `enterprise_linux:8::appstream`.
fn redhat_cpe_release(cpe: &str) -> Option<&str> {
    let rest = cpe.trim().strip_prefix("cpe:/")?;
    let (_part, rest) = rest.split_once(':')?;
    let rest = rest.strip_prefix("redhat:")?;
    (!rest.is_empty()).then_some(rest)
}

/// `SUSE Linux Enterprise Server 15 SP5` -> `SUSE:Linux Enterprise Server 15 SP5`,
/// `openSUSE Leap 15.5` -> `openSUSE:Leap 15.5`.
fn suse_ecosystem(product: &str) -> String {
    let product = product.trim();
    if let Some(rest) = product.strip_prefix("openSUSE ") {
        format!("openSUSE:{}", rest.trim())
    } else if let Some(rest) = product.strip_prefix("SUSE ") {
        format!("SUSE:{}", rest.trim())
    } else {
        format!("SUSE:{product}")
    }
}

/// A package named by a component product.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Component {
    kind: ComponentKind,
    name: String,
    version: Option<String>,
    module: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum ComponentKind {
    Rpm,
    /// Anything else with a purl: containers, Maven, generic.
    Other,
}

const ARCHES: &[&str] = &[
    "noarch",
    "src",
    "nosrc",
    "x86_64",
    "x86_64_v2",
    "i386",
    "i486",
    "i586",
    "i686",
    "athlon",
    "aarch64",
    "ppc64le",
    "ppc64",
    "ppc",
    "s390x",
    "s390",
    "ia64",
    "armv7hl",
    "armv6hl",
    "armv7l",
    "riscv64",
    "loongarch64",
];

impl Component {
    fn from_purl(purl: &str, id: &str, vendor: Vendor) -> Option<Component> {
        let parsed = packageurl::PackageUrl::from_str(purl.trim()).ok()?;
        let qualifier = |k: &str| {
            parsed
                .qualifiers()
                .iter()
                .find(|(key, _)| key.as_ref() == k)
                .map(|(_, v)| v.as_ref())
        };
        if parsed.ty() == "rpm" {
            // `ruby:2.5:8090020230627084142:b46abd14` -> the stream `ruby:2.5`.
            let module = qualifier("rpmmod").map(|m| {
                let mut parts = m.split(':');
                match (parts.next(), parts.next()) {
                    (Some(name), Some(stream)) => format!("{name}:{stream}"),
                    _ => m.to_string(),
                }
            });
            let version = match parsed.version() {
                // A module stream product (`go-toolset@rhel8?rpmmod=go-toolset:rhel8`)
                // has the stream where the version goes: no package version.
                Some(v) if module.is_some() && !v.contains('-') => None,
                Some(v) => {
                    let epoch = qualifier("epoch").filter(|e| !e.is_empty());
                    Some(match (epoch, vendor) {
                        (Some(e), _) => format!("{e}:{v}"),
                        (None, Vendor::RedHat) => format!("0:{v}"),
                        (None, _) => v.to_string(),
                    })
                }
                None => None,
            };
            // The id is the most precise when it parses (it carries the epoch).
            let from_id = Component::from_id(id, vendor)
                .filter(|c| c.name == parsed.name() && c.version.is_some());
            return Some(Component {
                kind: ComponentKind::Rpm,
                name: parsed.name().to_string(),
                version: from_id.and_then(|c| c.version).or(version),
                module,
            });
        }
        let name = match (parsed.ty(), qualifier("repository_url")) {
            ("oci", Some(repo)) => repo
                .split_once('/')
                .map_or(repo, |(_, path)| path)
                .to_string(),
            _ => match parsed.namespace() {
                Some(ns) if !ns.is_empty() => format!("{ns}/{}", parsed.name()),
                _ => parsed.name().to_string(),
            },
        };
        Some(Component {
            kind: ComponentKind::Other,
            name,
            version: parsed
                .version()
                .map(str::to_string)
                .or_else(|| qualifier("tag").map(str::to_string)),
            module: None,
        })
    }

    /// Red Hat `name-E:V-R.arch`, SUSE `name-V-R.arch` / `name-V-R`, or a bare
    /// package name.
    fn from_id(id: &str, vendor: Vendor) -> Option<Component> {
        let id = id.trim();
        if id.is_empty() || id.contains(char::is_whitespace) {
            return None;
        }
        let base = id.strip_suffix(".rpm").unwrap_or(id);
        let base = match base.rsplit_once('.') {
            Some((rest, arch)) if ARCHES.contains(&arch) => rest,
            _ => base,
        };
        let split = base.rsplit_once('-').and_then(|(nv, release)| {
            let (name, version) = nv.rsplit_once('-')?;
            let version_ok = version
                .split_once(':')
                .map_or(version, |(epoch, v)| {
                    if epoch.bytes().all(|b| b.is_ascii_digit()) {
                        v
                    } else {
                        ""
                    }
                })
                .starts_with(|c: char| c.is_ascii_digit());
            (version_ok && !name.is_empty() && !release.is_empty())
                .then(|| (name.to_string(), format!("{version}-{release}")))
        });
        // A container image `namespace/name:tag` (older Red Hat documents).
        if split.is_none() && vendor == Vendor::RedHat {
            if let Some((path, tag)) = base.rsplit_once(':') {
                if path.contains('/') && !tag.contains('/') && !tag.is_empty() {
                    return Some(Component {
                        kind: ComponentKind::Other,
                        name: path.to_string(),
                        version: Some(tag.to_string()),
                        module: None,
                    });
                }
            }
        }
        match split {
            Some((name, version)) => Some(Component {
                kind: ComponentKind::Rpm,
                name,
                version: Some(version),
                module: None,
            }),
            // Only a plain name without a colon is a package name; anything
            // else (`go-toolset:rhel8/go-toolset`) needs its purl.
            None if !base.contains([':', '/']) && vendor != Vendor::Other => Some(Component {
                kind: ComponentKind::Rpm,
                name: base.to_string(),
                version: None,
                module: None,
            }),
            None => None,
        }
    }
}

// ---------------------------------------------------------------------------
// Affected entries
// ---------------------------------------------------------------------------

/// The CSAF statuses, grouped by what they mean for matching.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Status {
    Fixed,
    FirstFixed,
    Recommended,
    KnownAffected,
    FirstAffected,
    LastAffected,
    KnownNotAffected,
    UnderInvestigation,
}

impl Status {
    fn name(self) -> &'static str {
        match self {
            Status::Fixed => "fixed",
            Status::FirstFixed => "first_fixed",
            Status::Recommended => "recommended",
            Status::KnownAffected => "known_affected",
            Status::FirstAffected => "first_affected",
            Status::LastAffected => "last_affected",
            Status::KnownNotAffected => "known_not_affected",
            Status::UnderInvestigation => "under_investigation",
        }
    }
}

/// What identifies a package across product ids: the same package on the
/// same platform in several architectures is one affected entry.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct GroupKey {
    ecosystem: String,
    name: String,
    module: Option<String>,
    kind: ComponentKind,
}

#[derive(Default)]
struct Group {
    versions: BTreeSet<String>,
    unversioned: bool,
    remediations: BTreeSet<String>,
    fix_urls: BTreeSet<String>,
    /// Short remediation details of unfixed products (`Will not fix`,
    /// `Out of support scope`, `Fix deferred`, `Affected`).
    unfixed_details: BTreeSet<String>,
    /// Flag labels (justifications) of not-affected products.
    justifications: BTreeSet<String>,
}

/// Collects the product statuses of one record into affected entries.
///
/// Product ids repeat across the vulnerabilities of an advisory (SUSE lists
/// the same few hundred products under each of dozens of CVEs), so each id
/// is resolved once and remembered as (package, version).
#[derive(Default)]
struct AffectedBuilder<'v> {
    /// Product id -> index into `keys` and the product's version.
    resolved: HashMap<&'v str, Option<(usize, Option<String>)>>,
    keys: Vec<GroupKey>,
    key_index: HashMap<GroupKey, usize>,
    groups: HashMap<(usize, Status), Group>,
    unresolved: usize,
}

impl<'v> AffectedBuilder<'v> {
    fn resolve(
        &mut self,
        product_id: &'v str,
        index: &ProductIndex<'_>,
    ) -> Option<(usize, Option<String>)> {
        if let Some(known) = self.resolved.get(product_id) {
            return known.clone();
        }
        let resolved = match index.resolve(product_id) {
            None => {
                if !index.leaves.contains_key(product_id) {
                    self.unresolved += 1;
                }
                None
            }
            Some((ecosystem, component)) => ecosystem
                .or_else(|| fallback_ecosystem(index.vendor))
                .map(|ecosystem| {
                    let key = GroupKey {
                        ecosystem: ecosystem.as_str().to_string(),
                        name: component.name,
                        module: component.module,
                        kind: component.kind,
                    };
                    let next = self.keys.len();
                    let at = *self.key_index.entry(key.clone()).or_insert(next);
                    if at == next {
                        self.keys.push(key);
                    }
                    (at, component.version)
                }),
        };
        self.resolved.insert(product_id, resolved.clone());
        resolved
    }

    fn add_vulnerability(&mut self, vuln: &'v Vulnerability<'_>, index: &ProductIndex<'_>) {
        let mut remediation: HashMap<&str, Vec<&Remediation<'_>>> = HashMap::new();
        for r in &vuln.remediations {
            for id in &r.product_ids {
                remediation.entry(id.as_ref()).or_default().push(r);
            }
        }
        let mut flags: HashMap<&str, Vec<&str>> = HashMap::new();
        for f in &vuln.flags {
            for id in &f.product_ids {
                flags.entry(id.as_ref()).or_default().push(f.label.trim());
            }
        }
        let ps = &vuln.product_status;
        let lists: [(Status, &'v Vec<Str<'_>>); 8] = [
            (Status::Fixed, &ps.fixed),
            (Status::FirstFixed, &ps.first_fixed),
            (Status::Recommended, &ps.recommended),
            (Status::KnownAffected, &ps.known_affected),
            (Status::FirstAffected, &ps.first_affected),
            (Status::LastAffected, &ps.last_affected),
            (Status::KnownNotAffected, &ps.known_not_affected),
            (Status::UnderInvestigation, &ps.under_investigation),
        ];
        for (status, ids) in lists {
            for product_id in ids {
                let Some((key, version)) = self.resolve(product_id.as_ref(), index) else {
                    continue;
                };
                let group = self.groups.entry((key, status)).or_default();
                match version {
                    Some(v) => {
                        if !group.versions.contains(&v) {
                            group.versions.insert(v);
                        }
                    }
                    None => group.unversioned = true,
                }
                for label in flags.get(product_id.as_ref()).into_iter().flatten() {
                    if !group.justifications.contains(*label) {
                        group.justifications.insert(label.to_string());
                    }
                }
                for r in remediation.get(product_id.as_ref()).into_iter().flatten() {
                    let category = r.category.trim();
                    if !group.remediations.contains(category) {
                        group.remediations.insert(category.to_string());
                    }
                    if matches!(category, "none_available" | "no_fix_planned") {
                        let details = r.details.as_deref().map(str::trim).unwrap_or("");
                        // Red Hat's short words; long prose is no status word.
                        if !details.is_empty()
                            && details.len() <= 40
                            && !group.unfixed_details.contains(details)
                        {
                            group.unfixed_details.insert(details.to_string());
                        }
                    }
                    if let Some(url) = r.url.as_deref().map(str::trim).filter(|u| !u.is_empty()) {
                        if !group.fix_urls.contains(url) {
                            group.fix_urls.insert(url.to_string());
                        }
                    }
                }
            }
        }
    }

    /// Advisory ids named by vendor-fix URLs (`.../errata/RHSA-2023:1512`).
    fn fix_advisories(&self) -> Vec<AdvisoryId> {
        let mut out: Vec<AdvisoryId> = Vec::new();
        for url in self.groups.values().flat_map(|g| g.fix_urls.iter()) {
            let last = url.trim_end_matches('/').rsplit('/').next().unwrap_or("");
            if let Ok(id) = last.parse::<AdvisoryId>() {
                if id.kind() != IdKind::Other && !out.contains(&id) {
                    out.push(id);
                }
            }
        }
        out.sort();
        out
    }

    /// The affected entries, ordered by ecosystem, package, module, status.
    fn finish(self, vendor: Vendor) -> Vec<Affected> {
        let keys = self.keys;
        let mut groups: Vec<((usize, Status), Group)> = self.groups.into_iter().collect();
        groups.sort_by(|((a, sa), _), ((b, sb), _)| keys[*a].cmp(&keys[*b]).then(sa.cmp(sb)));
        let mut out = Vec::with_capacity(groups.len());
        for ((key_index, status), group) in groups {
            let key = keys[key_index].clone();
            let Ok(ecosystem) = Ecosystem::new(key.ecosystem.clone()) else {
                continue;
            };
            let mut extra = Map::new();
            extra.insert("status".into(), json!(status.name()));
            if !group.remediations.is_empty() {
                extra.insert(
                    "remediation".into(),
                    json!(group.remediations.iter().collect::<Vec<_>>()),
                );
            }
            let rpm = key.kind == ComponentKind::Rpm;
            let zero = || Event::Introduced("0".into());
            let (ranges, versions): (Vec<Vec<Event>>, Vec<String>) = match status {
                Status::Fixed | Status::FirstFixed | Status::Recommended if rpm => (
                    group
                        .versions
                        .iter()
                        .map(|v| vec![zero(), Event::Fixed(v.clone())])
                        .collect(),
                    Vec::new(),
                ),
                Status::KnownAffected => (
                    if group.unversioned {
                        vec![vec![zero()]]
                    } else {
                        Vec::new()
                    },
                    group.versions.iter().cloned().collect(),
                ),
                Status::FirstAffected if rpm => (
                    group
                        .versions
                        .iter()
                        .map(|v| vec![Event::Introduced(v.clone())])
                        .collect(),
                    Vec::new(),
                ),
                Status::LastAffected if rpm => (
                    group
                        .versions
                        .iter()
                        .map(|v| vec![zero(), Event::LastAffected(v.clone())])
                        .collect(),
                    Vec::new(),
                ),
                Status::FirstAffected | Status::LastAffected => {
                    (Vec::new(), group.versions.iter().cloned().collect())
                }
                // Fixed non-rpm components, not affected, under investigation:
                // data only, never a match.
                _ => (Vec::new(), Vec::new()),
            };
            if ranges.is_empty() && versions.is_empty() && !group.versions.is_empty() {
                extra.insert(
                    "product_versions".into(),
                    json!(group.versions.iter().collect::<Vec<_>>()),
                );
            }
            let ecosystem_specific = key.module.as_ref().map(|m| json!({ "rpm_module": m }));
            let purl = package_purl(vendor, &key);
            let statement = csaf_status(status, &group);
            let mut entry = Affected {
                ranges: ranges
                    .into_iter()
                    .map(|events| Range {
                        kind: RangeKind::Ecosystem,
                        repo: None,
                        events,
                        database_specific: None,
                    })
                    .collect(),
                versions,
                ecosystem_specific,
                database_specific: DatabaseSpecific {
                    advisord: None,
                    other: extra,
                },
                ..Affected::new(Package {
                    ecosystem,
                    name: key.name,
                    purl,
                })
            };
            entry.set_status(statement);
            out.push(entry);
        }
        out
    }
}

/// The common status of a CSAF product status, refined for unfixed
/// products by the remediation (`no_fix_planned`: will not fix, or end of
/// life when Red Hat says "Out of support scope"; `none_available` with
/// "Fix deferred": deferred) and carrying the VEX flag as justification of
/// `known_not_affected`. The source word joins status, remediation
/// categories and short details: `known_affected/no_fix_planned: Will not fix`.
fn csaf_status(status: Status, group: &Group) -> StatusStatement {
    let mut source = status.name().to_string();
    let common = match status {
        Status::Fixed | Status::FirstFixed | Status::Recommended => FixStatus::Fixed,
        Status::KnownNotAffected => {
            let justification = (!group.justifications.is_empty()).then(|| {
                group
                    .justifications
                    .iter()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            });
            return StatusStatement::new(FixStatus::NotAffected, source).justified(justification);
        }
        Status::UnderInvestigation => FixStatus::UnderInvestigation,
        Status::KnownAffected | Status::FirstAffected | Status::LastAffected => {
            let unfixed: Vec<&str> = ["no_fix_planned", "none_available"]
                .into_iter()
                .filter(|c| group.remediations.contains(*c))
                .collect();
            if !unfixed.is_empty() {
                source.push('/');
                source.push_str(&unfixed.join("+"));
            }
            if !group.unfixed_details.is_empty() {
                source.push_str(": ");
                source.push_str(
                    &group
                        .unfixed_details
                        .iter()
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", "),
                );
            }
            let said = |word: &str| {
                group
                    .unfixed_details
                    .iter()
                    .any(|d| d.eq_ignore_ascii_case(word))
            };
            if said("Out of support scope") {
                FixStatus::EndOfLife
            } else if group.remediations.contains("no_fix_planned") || said("Will not fix") {
                FixStatus::WillNotFix
            } else if said("Fix deferred") {
                FixStatus::FixDeferred
            } else {
                FixStatus::Affected
            }
        }
    };
    StatusStatement::new(common, source)
}

/// The ecosystem of a component with no platform relationship.
fn fallback_ecosystem(vendor: Vendor) -> Option<Ecosystem> {
    match vendor {
        Vendor::RedHat => Ecosystem::new("Red Hat").ok(),
        Vendor::Suse => Ecosystem::new("SUSE").ok(),
        Vendor::Other => None,
    }
}

fn package_purl(vendor: Vendor, key: &GroupKey) -> Option<String> {
    if key.kind != ComponentKind::Rpm {
        return None;
    }
    let namespace = match vendor {
        Vendor::RedHat => "redhat",
        Vendor::Suse if key.ecosystem.starts_with("openSUSE") => "opensuse",
        Vendor::Suse => "suse",
        Vendor::Other => return None,
    };
    let mut purl = packageurl::PackageUrl::new("rpm", key.name.as_str()).ok()?;
    purl.with_namespace(namespace).ok()?;
    if let Some(module) = &key.module {
        purl.add_qualifier("rpmmod", module.as_str()).ok()?;
    }
    Some(purl.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> SourceContext {
        SourceContext::for_bytes(
            "csaf",
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

    #[test]
    fn ids_parse_to_packages() {
        let c = Component::from_id(
            "eap7-snakeyaml-0:1.33.0-2.SP1_redhat_00001.1.el7eap.noarch",
            Vendor::RedHat,
        )
        .unwrap();
        assert_eq!(c.name, "eap7-snakeyaml");
        assert_eq!(
            c.version.as_deref(),
            Some("0:1.33.0-2.SP1_redhat_00001.1.el7eap")
        );
        let s = Component::from_id("bind-chrootenv-9.9.4P2-0.6.1.i586", Vendor::Suse).unwrap();
        assert_eq!(
            (s.name.as_str(), s.version.as_deref()),
            ("bind-chrootenv", Some("9.9.4P2-0.6.1"))
        );
        let n = Component::from_id("libdcerpc-binding0", Vendor::Suse).unwrap();
        assert_eq!((n.name.as_str(), n.version), ("libdcerpc-binding0", None));
        assert!(Component::from_id("go-toolset:rhel8/go-toolset", Vendor::RedHat).is_none());
        let m = Component::from_purl(
            "pkg:rpm/redhat/ruby@2.5.9-111.module%2Bel8.9.0%2B19193%2B435404ae?arch=i686&rpmmod=ruby:2.5:8090020230627084142:b46abd14",
            "ruby-2.5.9-111.module+el8.9.0+19193+435404ae.i686.rpm-ruby:2.5",
            Vendor::RedHat,
        )
        .unwrap();
        assert_eq!(m.name, "ruby");
        assert_eq!(
            m.version.as_deref(),
            Some("0:2.5.9-111.module+el8.9.0+19193+435404ae")
        );
        assert_eq!(m.module.as_deref(), Some("ruby:2.5"));
        assert_eq!(
            redhat_cpe_release("cpe:/a:redhat:enterprise_linux:8::appstream"),
            Some("enterprise_linux:8::appstream")
        );
        assert_eq!(suse_ecosystem("openSUSE Leap 15.5"), "openSUSE:Leap 15.5");
    }

    const VEX: &str = r#"{
      "document": {"category": "csaf_vex", "csaf_version": "2.0", "title": "t",
        "publisher": {"name": "Red Hat Product Security", "namespace": "https://www.redhat.com"},
        "tracking": {"id": "CVE-2024-0001", "current_release_date": "2024-02-01T00:00:00+00:00",
                     "initial_release_date": "2024-01-01T00:00:00+00:00"},
        "aggregate_severity": {"text": "moderate"}},
      "product_tree": {
        "branches": [{"category": "vendor", "name": "Red Hat", "branches": [
          {"category": "product_family", "name": "RHEL", "branches": [
            {"category": "product_name", "name": "Red Hat Enterprise Linux 9",
             "product": {"name": "Red Hat Enterprise Linux 9", "product_id": "AppStream-9",
                         "product_identification_helper": {"cpe": "cpe:/a:redhat:enterprise_linux:9::appstream"}}}]},
          {"category": "architecture", "name": "x86_64", "branches": [
            {"category": "product_version", "name": "foo-1:2.0-3.el9.x86_64",
             "product": {"name": "foo-1:2.0-3.el9.x86_64", "product_id": "foo-1:2.0-3.el9.x86_64",
               "product_identification_helper": {"purl": "pkg:rpm/redhat/foo@2.0-3.el9?arch=x86_64&epoch=1"}}},
            {"category": "product_version", "name": "bar",
             "product": {"name": "bar", "product_id": "bar",
               "product_identification_helper": {"purl": "pkg:rpm/redhat/bar?arch=src"}}},
            {"category": "product_version", "name": "baz-0:1.0-1.el9.x86_64",
             "product": {"name": "baz-0:1.0-1.el9.x86_64", "product_id": "baz-0:1.0-1.el9.x86_64"}}]}]}],
        "relationships": [
          {"category": "default_component_of", "product_reference": "foo-1:2.0-3.el9.x86_64",
           "relates_to_product_reference": "AppStream-9",
           "full_product_name": {"name": "x", "product_id": "AppStream-9:foo-1:2.0-3.el9.x86_64"}},
          {"category": "default_component_of", "product_reference": "bar",
           "relates_to_product_reference": "AppStream-9",
           "full_product_name": {"name": "x", "product_id": "AppStream-9:bar"}},
          {"category": "default_component_of", "product_reference": "baz-0:1.0-1.el9.x86_64",
           "relates_to_product_reference": "AppStream-9",
           "full_product_name": {"name": "x", "product_id": "AppStream-9:baz-0:1.0-1.el9.x86_64"}}]},
      "vulnerabilities": [{
        "cve": "CVE-2024-0001", "title": "foo: bad",
        "product_status": {"fixed": ["AppStream-9:foo-1:2.0-3.el9.x86_64"],
                           "known_affected": ["AppStream-9:bar"],
                           "known_not_affected": ["AppStream-9:baz-0:1.0-1.el9.x86_64", "nowhere"]},
        "remediations": [
          {"category": "vendor_fix", "product_ids": ["AppStream-9:foo-1:2.0-3.el9.x86_64"],
           "url": "https://access.redhat.com/errata/RHSA-2024:0002"},
          {"category": "no_fix_planned", "product_ids": ["AppStream-9:bar"]}],
        "scores": [{"cvss_v3": {"vectorString": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "baseScore": 9.8},
                    "products": []}],
        "threats": [{"category": "impact", "details": "Important"}]
      }, {"cve": 7}]
    }"#;

    #[test]
    fn vex_statuses() {
        let items = collect(VEX.as_bytes());
        assert_eq!(items.len(), 2, "{items:#?}");
        assert!(items[0].is_err(), "bad vulnerability reported first");
        let r = items[1].as_ref().unwrap();
        assert_eq!(r.id.as_str(), "REDHAT-CVE-2024-0001");
        assert_eq!(r.aliases[0].as_str(), "CVE-2024-0001");
        assert_eq!(r.related[0].as_str(), "RHSA-2024:0002");
        assert_eq!(r.modified.as_str(), "2024-02-01T00:00:00+00:00");
        assert_eq!(
            r.database_specific
                .advisord
                .as_ref()
                .unwrap()
                .vendor_severity,
            Some("important".into())
        );
        assert_eq!(r.severity[0].kind, SeverityKind::CvssV3);
        assert_eq!(
            r.database_specific.other["unresolved_product_ids"],
            json!(1)
        );
        let find = |name: &str| {
            r.affected
                .iter()
                .find(|a| a.package.as_ref().unwrap().name == name)
                .unwrap()
        };
        let foo = find("foo");
        assert_eq!(
            foo.package.as_ref().unwrap().ecosystem.as_str(),
            "Red Hat:enterprise_linux:9::appstream"
        );
        assert_eq!(
            foo.ranges[0].events,
            [
                Event::Introduced("0".into()),
                Event::Fixed("1:2.0-3.el9".into())
            ]
        );
        let bar = find("bar");
        assert_eq!(bar.ranges[0].events, [Event::Introduced("0".into())]);
        assert_eq!(
            bar.database_specific.other["remediation"],
            json!(["no_fix_planned"])
        );
        let baz = find("baz");
        assert!(baz.ranges.is_empty() && baz.versions.is_empty());
        assert_eq!(
            baz.database_specific.other["status"],
            json!("known_not_affected")
        );
        assert_eq!(
            baz.database_specific.other["product_versions"],
            json!(["0:1.0-1.el9"])
        );
    }

    #[test]
    fn garbage_never_panics() {
        for bad in [
            &b"{}"[..],
            b"[]",
            b"{\"document\": {\"category\": \"csaf_vex\", \"tracking\": {\"id\": \"a b\"}}, \"vulnerabilities\": [{}]}",
            b"{\"document\": {\"category\": \"x\", \"tracking\": {\"id\": \"X-1\", \"current_release_date\": \"yesterday\"}}}",
            b"{\"document\": {\"category\": \"x\", \"tracking\": {\"id\": \"X-1\"}}, \"product_tree\": {\"relationships\": [{\"product_reference\": \"-\", \"relates_to_product_reference\": \"\", \"full_product_name\": {\"name\": \"\", \"product_id\": \"p\"}}]}, \"vulnerabilities\": [{\"product_status\": {\"fixed\": [\"p\", \"\"]}}]}",
        ] {
            let items = collect(bad);
            assert!(!items.is_empty());
        }
    }
}
