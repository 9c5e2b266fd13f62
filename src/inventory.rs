//! Inventories (what a system runs) and their findings (what affects it).
//!
//! Parsers are pure: a package list (`/var/lib/dpkg/status`,
//! `/lib/apk/db/installed`, `rpm -qa` output), a CycloneDX or SPDX JSON SBOM,
//! or a list of packages / purls in, [`InventoryPackage`]s out. [`findings`]
//! matches them with [`crate::query::match_batch_with_fixes`], so a finding
//! lists exactly what `/v1/query` answers for the same package and version.

use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::model::{Finding, FixStatus, InventoryPackage};
use crate::query::{match_batch_with_fixes, PackageAnswer, PackageQuery, QueryError};
use crate::store::snapshot::Snapshot;
use crate::store::StoreError;

/// Most packages one inventory may hold.
pub const MAX_PACKAGES: usize = 20_000;

/// Why an inventory cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum InventoryError {
    /// The SBOM or package document is not JSON.
    #[error("not JSON: {0}")]
    NotJson(String),
    /// The JSON is neither CycloneDX nor SPDX.
    #[error("unrecognized SBOM: expected CycloneDX (bomFormat) or SPDX (spdxVersion) JSON")]
    UnknownSbom,
    /// The package-list format name is unknown.
    #[error("unknown package list format {0:?} (expected dpkg-status, apk-installed or rpm-qa)")]
    UnknownFormat(String),
    /// A package entry is unusable (unknown ecosystem, bad version, bad purl).
    #[error("package {index} ({label}): {source}")]
    Package {
        /// Position in the inventory.
        index: usize,
        /// What the entry said.
        label: String,
        /// The cause.
        source: Box<QueryError>,
    },
    /// A package entry lacks a field.
    #[error("package {index}: {reason}")]
    Incomplete {
        /// Position in the inventory.
        index: usize,
        /// What is missing.
        reason: String,
    },
    /// Too many packages.
    #[error("inventory has {0} packages, at most {MAX_PACKAGES} are accepted")]
    TooMany(usize),
    /// The list has no package at all.
    #[error("inventory contains no package")]
    Empty,
}

impl InventoryPackage {
    /// The query for this package (validated when the inventory was read).
    pub fn query(&self) -> Result<PackageQuery, QueryError> {
        PackageQuery::new(&self.ecosystem, &self.name, self.version.as_deref())
    }
}

/// A parsed inventory plus the entries that could not be mapped to a package.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Inventory {
    /// Distinct packages, sorted.
    pub packages: Vec<InventoryPackage>,
    /// Entries left out, with the reason (SBOM components without a usable purl...).
    pub skipped: Vec<String>,
    /// Packages whose version their ecosystem's scheme cannot read, with
    /// the reason: they are kept, but only exact `versions` lists can
    /// match them (ranges are not evaluated).
    pub unevaluated: Vec<String>,
}

/// The text formats of installed-package databases.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListFormat {
    /// `/var/lib/dpkg/status`.
    DpkgStatus,
    /// `/lib/apk/db/installed`.
    ApkInstalled,
    /// `rpm -qa` output (`name-version-release.arch` per line).
    RpmQa,
}

impl FromStr for ListFormat {
    type Err = InventoryError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "dpkg-status" | "dpkg" => Ok(ListFormat::DpkgStatus),
            "apk-installed" | "apk" => Ok(ListFormat::ApkInstalled),
            "rpm-qa" | "rpm" => Ok(ListFormat::RpmQa),
            other => Err(InventoryError::UnknownFormat(other.to_string())),
        }
    }
}

/// A package as given in a JSON inventory: ecosystem + name (+ version), or a purl.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackageSpec {
    /// OSV ecosystem.
    #[serde(default)]
    pub ecosystem: Option<String>,
    /// Package name.
    #[serde(default)]
    pub name: Option<String>,
    /// Version.
    #[serde(default)]
    pub version: Option<String>,
    /// Package URL instead of ecosystem and name.
    #[serde(default)]
    pub purl: Option<String>,
}

fn normalize(query: PackageQuery) -> InventoryPackage {
    InventoryPackage {
        ecosystem: query.ecosystem.to_string(),
        name: query.name,
        version: query.version,
    }
}

fn finish(
    mut packages: Vec<InventoryPackage>,
    skipped: Vec<String>,
) -> Result<Inventory, InventoryError> {
    packages.sort();
    packages.dedup();
    if packages.len() > MAX_PACKAGES {
        return Err(InventoryError::TooMany(packages.len()));
    }
    if packages.is_empty() {
        return Err(InventoryError::Empty);
    }
    let unevaluated = unevaluated_versions(&packages);
    Ok(Inventory {
        packages,
        skipped,
        unevaluated,
    })
}

/// The packages whose version their ecosystem's scheme cannot read, each
/// with the reason (only exact `versions` lists can match them).
pub fn unevaluated_versions(packages: &[InventoryPackage]) -> Vec<String> {
    packages
        .iter()
        .filter_map(|p| p.query().ok()?.unevaluated)
        .map(|reason| format!("{reason}; ranges not evaluated"))
        .collect()
}

/// Reads explicit package entries.
pub fn from_specs(specs: &[PackageSpec]) -> Result<Inventory, InventoryError> {
    if specs.len() > MAX_PACKAGES {
        return Err(InventoryError::TooMany(specs.len()));
    }
    let mut out = Vec::with_capacity(specs.len());
    for (index, spec) in specs.iter().enumerate() {
        let label = match &spec.purl {
            // The purl error names the purl already.
            Some(_) => "purl".to_string(),
            None => format!(
                "{} {}",
                spec.ecosystem.as_deref().unwrap_or("?"),
                spec.name.as_deref().unwrap_or("?")
            ),
        };
        let query = match (&spec.purl, &spec.ecosystem, &spec.name) {
            (Some(purl), None, None) => PackageQuery::from_purl(purl, spec.version.as_deref()),
            (None, Some(e), Some(n)) => PackageQuery::new(e, n, spec.version.as_deref()),
            _ => {
                return Err(InventoryError::Incomplete {
                    index,
                    reason: "give either purl, or ecosystem and name".into(),
                })
            }
        }
        .map_err(|source| InventoryError::Package {
            index,
            label: label.clone(),
            source: Box::new(source),
        })?;
        out.push(normalize(query));
    }
    finish(out, Vec::new())
}

/// Reads one purl per line (blank lines and `#` comments ignored); purls
/// that map to no OSV ecosystem (`pkg:generic/...`) are skipped, as in SBOMs.
pub fn from_purl_lines(text: &str) -> Result<Inventory, InventoryError> {
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    if lines.len() > MAX_PACKAGES {
        return Err(InventoryError::TooMany(lines.len()));
    }
    let mut packages = Vec::new();
    let mut skipped = Vec::new();
    for line in lines {
        match PackageQuery::from_purl(line, None) {
            Ok(q) => packages.push(normalize(q)),
            Err(e) => skipped.push(e.to_string()),
        }
    }
    finish(packages, skipped)
}

/// Reads a CycloneDX or SPDX JSON SBOM: every component / package with a
/// purl that maps to an OSV ecosystem; the others are listed as skipped.
pub fn from_sbom(sbom: &serde_json::Value) -> Result<Inventory, InventoryError> {
    let mut purls: Vec<(String, String)> = Vec::new();
    let mut skipped = Vec::new();
    if sbom.get("bomFormat").and_then(|v| v.as_str()) == Some("CycloneDX") {
        fn walk(
            components: &serde_json::Value,
            purls: &mut Vec<(String, String)>,
            skipped: &mut Vec<String>,
        ) {
            for c in components.as_array().into_iter().flatten() {
                let label = c
                    .get("name")
                    .and_then(|v| v.as_str())
                    .unwrap_or("?")
                    .to_string();
                match c.get("purl").and_then(|v| v.as_str()) {
                    Some(p) => purls.push((label, p.to_string())),
                    None => skipped.push(format!("{label}: no purl")),
                }
                if let Some(nested) = c.get("components") {
                    walk(nested, purls, skipped);
                }
            }
        }
        if let Some(components) = sbom.get("components") {
            walk(components, &mut purls, &mut skipped);
        }
    } else if sbom.get("spdxVersion").is_some() {
        for p in sbom
            .get("packages")
            .and_then(|v| v.as_array())
            .into_iter()
            .flatten()
        {
            let label = p
                .get("name")
                .and_then(|v| v.as_str())
                .unwrap_or("?")
                .to_string();
            let purl = p
                .get("externalRefs")
                .and_then(|v| v.as_array())
                .into_iter()
                .flatten()
                .find(|r| r.get("referenceType").and_then(|v| v.as_str()) == Some("purl"))
                .and_then(|r| r.get("referenceLocator"))
                .and_then(|v| v.as_str());
            match purl {
                Some(purl) => purls.push((label, purl.to_string())),
                None => skipped.push(format!("{label}: no purl")),
            }
        }
    } else {
        return Err(InventoryError::UnknownSbom);
    }
    if purls.len() > MAX_PACKAGES {
        return Err(InventoryError::TooMany(purls.len()));
    }
    let mut packages = Vec::new();
    for (label, purl) in purls {
        // An SBOM names everything in an image, much of it with no OSV
        // ecosystem (pkg:generic, files): those are skipped, not errors.
        match PackageQuery::from_purl(&purl, None) {
            Ok(q) => packages.push(normalize(q)),
            Err(e) => skipped.push(format!("{label}: {e}")),
        }
    }
    finish(packages, skipped)
}

/// Splits a Debian-style control file into paragraphs of (field, value).
fn paragraphs(text: &str) -> Vec<Vec<(String, String)>> {
    let mut out = Vec::new();
    let mut current: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        if line.trim().is_empty() {
            if !current.is_empty() {
                out.push(std::mem::take(&mut current));
            }
            continue;
        }
        if line.starts_with([' ', '\t']) {
            continue; // continuation of a multi-line field
        }
        if let Some((key, value)) = line.split_once(':') {
            current.push((key.trim().to_string(), value.trim().to_string()));
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// The non-empty value of field `name` in a paragraph.
fn field<'a>(paragraph: &'a [(String, String)], name: &str) -> Option<&'a str> {
    paragraph
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
}

/// The field `name` of the paragraph of `package`; without it (or empty)
/// the package goes to `skipped` as `"{package}: no {name}"`.
fn required<'a>(
    paragraph: &'a [(String, String)],
    package: &str,
    name: &str,
    skipped: &mut Vec<String>,
) -> Option<&'a str> {
    let value = field(paragraph, name);
    if value.is_none() {
        skipped.push(format!("{package}: no {name}"));
    }
    value
}

/// One installed package of a dpkg status file.
pub(crate) struct DpkgEntry {
    /// `Package:`.
    pub package: String,
    /// `Version:`.
    pub version: String,
    /// The `Source:` name (the package's own name without one).
    pub source_name: String,
    /// The `Source:` version, when it gives one (binNMUs).
    pub source_version: Option<String>,
    /// `Architecture:`.
    pub arch: String,
}

/// The installed packages of a dpkg status file (or a distroless
/// `status.d` file); removed or half-installed ones go to `skipped`.
pub(crate) fn dpkg_entries(text: &str, skipped: &mut Vec<String>) -> Vec<DpkgEntry> {
    paragraphs(text)
        .iter()
        .filter_map(|p| {
            let package = field(p, "Package")?;
            if let Some(status) = field(p, "Status") {
                if !status.ends_with(" installed") {
                    skipped.push(format!("{package}: status {status:?}"));
                    return None;
                }
            }
            let version = required(p, package, "Version", skipped)?;
            let (source_name, source_version) = match field(p, "Source") {
                Some(source) => match source.split_once('(') {
                    Some((n, v)) => (n.trim(), Some(v.trim_end_matches(')').trim().to_string())),
                    None => (source, None),
                },
                None => (package, None),
            };
            Some(DpkgEntry {
                package: package.to_string(),
                version: version.to_string(),
                source_name: source_name.to_string(),
                source_version,
                arch: field(p, "Architecture").unwrap_or("").to_string(),
            })
        })
        .collect()
}

/// One installed package of an apk database (`/lib/apk/db/installed`).
pub(crate) struct ApkEntry {
    /// `P:`.
    pub package: String,
    /// `V:`.
    pub version: String,
    /// The origin (`o:`, the source package; the package's own name without one).
    pub origin: String,
    /// `A:`.
    pub arch: String,
}

/// The installed packages of an apk database; entries without a version
/// go to `skipped`.
pub(crate) fn apk_entries(text: &str, skipped: &mut Vec<String>) -> Vec<ApkEntry> {
    paragraphs(text)
        .iter()
        .filter_map(|p| {
            let package = field(p, "P")?;
            let version = required(p, package, "V", skipped)?;
            Some(ApkEntry {
                package: package.to_string(),
                version: version.to_string(),
                origin: field(p, "o").unwrap_or(package).to_string(),
                arch: field(p, "A").unwrap_or("").to_string(),
            })
        })
        .collect()
}

/// Known rpm architectures, stripped from `rpm -qa` lines.
const RPM_ARCHES: &[&str] = &[
    "x86_64", "noarch", "aarch64", "i686", "i586", "i386", "ppc64le", "ppc64", "s390x", "armv7hl",
    "src", "riscv64",
];

/// Reads an installed-package database in `format` for `ecosystem`
/// (`Debian:12`, `Alpine:v3.19`, `AlmaLinux:9`...). Debian and Alpine
/// packages are reported under their source package (as advisories name
/// them), with the source version when dpkg records one.
pub fn from_package_list(
    text: &str,
    format: ListFormat,
    ecosystem: &str,
) -> Result<Inventory, InventoryError> {
    let mut raw: Vec<(String, String)> = Vec::new();
    let mut skipped = Vec::new();
    match format {
        ListFormat::DpkgStatus => {
            for e in dpkg_entries(text, &mut skipped) {
                let version = e.source_version.unwrap_or(e.version);
                raw.push((e.source_name, version));
            }
        }
        ListFormat::ApkInstalled => {
            for e in apk_entries(text, &mut skipped) {
                raw.push((e.origin, e.version));
            }
        }
        ListFormat::RpmQa => {
            for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
                let nevr = match line.rsplit_once('.') {
                    Some((head, arch)) if RPM_ARCHES.contains(&arch) => head,
                    _ => line,
                };
                let mut parts = nevr.rsplitn(3, '-');
                let (Some(release), Some(version), Some(name)) =
                    (parts.next(), parts.next(), parts.next())
                else {
                    skipped.push(format!("{line}: not name-version-release"));
                    continue;
                };
                if name == "gpg-pubkey" {
                    continue;
                }
                raw.push((name.to_string(), format!("{version}-{release}")));
            }
        }
    }
    if raw.len() > MAX_PACKAGES {
        return Err(InventoryError::TooMany(raw.len()));
    }
    let mut packages = Vec::with_capacity(raw.len());
    for (index, (name, version)) in raw.into_iter().enumerate() {
        let label = format!("{name} {version}");
        let query = PackageQuery::new(ecosystem, &name, Some(&version)).map_err(|source| {
            InventoryError::Package {
                index,
                label: label.clone(),
                source: Box::new(source),
            }
        });
        match query {
            Ok(q) => packages.push(normalize(q)),
            // A wrong ecosystem makes the whole list meaningless.
            Err(InventoryError::Package { source, .. })
                if matches!(*source, QueryError::UnknownEcosystem(_)) =>
            {
                return Err(InventoryError::Package {
                    index,
                    label,
                    source,
                })
            }
            Err(e) => skipped.push(e.to_string()),
        }
    }
    finish(packages, skipped)
}

/// Guesses the kind of an inventory file for `advisord scan` and reads it:
/// JSON (SBOM, or `{"packages": [...]}` / a bare array of package entries),
/// dpkg status, apk installed db, purl lines, else `rpm -qa` output.
/// `ecosystem` is required for the three package-list formats.
pub fn detect_and_parse(
    text: &str,
    format: Option<ListFormat>,
    ecosystem: Option<&str>,
) -> Result<Inventory, InventoryError> {
    let need_ecosystem = || {
        ecosystem.ok_or(InventoryError::Incomplete {
            index: 0,
            reason:
                "this package list needs --ecosystem (e.g. Debian:12, Alpine:v3.19, AlmaLinux:9)"
                    .into(),
        })
    };
    if let Some(format) = format {
        return from_package_list(text, format, need_ecosystem()?);
    }
    let trimmed = text.trim_start();
    if trimmed.starts_with('{') || trimmed.starts_with('[') {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| InventoryError::NotJson(e.to_string()))?;
        let list = value
            .as_array()
            .or_else(|| value.get("packages").and_then(|p| p.as_array()))
            .filter(|_| value.get("spdxVersion").is_none());
        return match list {
            Some(list) => {
                let specs: Vec<PackageSpec> =
                    serde_json::from_value(serde_json::Value::Array(list.clone()))
                        .map_err(|e| InventoryError::NotJson(e.to_string()))?;
                from_specs(&specs)
            }
            None => from_sbom(&value),
        };
    }
    let first = trimmed.lines().next().unwrap_or("");
    if first.starts_with("Package:") {
        from_package_list(text, ListFormat::DpkgStatus, need_ecosystem()?)
    } else if first.starts_with("C:") || first.starts_with("P:") {
        from_package_list(text, ListFormat::ApkInstalled, need_ecosystem()?)
    } else if first.starts_with("pkg:") {
        from_purl_lines(text)
    } else {
        from_package_list(text, ListFormat::RpmQa, need_ecosystem()?)
    }
}

/// The finding of each package (`None` when nothing affects it), read from
/// one snapshot; entries whose status is in `ignore` do not count (an empty
/// `ignore` means the query default, [`crate::query::default_ignored`]).
pub fn findings(
    snapshot: &Snapshot,
    packages: &[InventoryPackage],
    ignore: &[FixStatus],
) -> Result<Vec<Option<Finding>>, StoreError> {
    // Inventories are validated when read; a package that no longer
    // validates (ecosystem renamed on upgrade) matches nothing.
    let queries: Vec<Option<PackageQuery>> = packages
        .iter()
        .map(|p| {
            p.query().ok().map(|q| {
                if ignore.is_empty() {
                    q
                } else {
                    q.ignoring(ignore)
                }
            })
        })
        .collect();
    let valid: Vec<&PackageQuery> = queries.iter().flatten().collect();
    let mut answers = match_batch_with_fixes(snapshot, &valid)?.into_iter();
    Ok(packages
        .iter()
        .zip(&queries)
        .map(|(package, query)| {
            // Only valid queries were answered, in order.
            if query.is_none() {
                return None;
            }
            let PackageAnswer { matches, fixed } = answers.next()?;
            if matches.is_empty() {
                return None;
            }
            Some(Finding {
                package: package.clone(),
                advisories: matches.iter().map(|m| m.id.clone()).collect(),
                unevaluated: matches
                    .iter()
                    .filter(|m| m.unevaluated.is_some())
                    .map(|m| m.id.clone())
                    .collect(),
                fixed,
                statuses: matches
                    .iter()
                    .filter_map(|m| Some((m.id.clone(), m.status?)))
                    .collect(),
            })
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    const DPKG: &str = "Package: libssl3\nStatus: install ok installed\nSource: openssl (3.0.11-1~deb12u2)\nVersion: 3.0.11-1~deb12u2\nDescription: SSL\n more text: here\n\nPackage: bash\nStatus: install ok installed\nVersion: 5.2.15-2+b2\n\nPackage: gone\nStatus: deinstall ok config-files\nVersion: 1.0-1\n\nPackage: libssl-dev\nStatus: install ok installed\nSource: openssl\nVersion: 3.0.11-1~deb12u2\n";

    #[test]
    fn dpkg_status_uses_source_packages_and_skips_removed() {
        let inv = from_package_list(DPKG, ListFormat::DpkgStatus, "Debian:12").unwrap();
        let got: Vec<_> = inv
            .packages
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_deref().unwrap()))
            .collect();
        assert_eq!(
            got,
            vec![("bash", "5.2.15-2+b2"), ("openssl", "3.0.11-1~deb12u2")]
        );
        assert_eq!(inv.skipped.len(), 1);
        assert!(inv.packages.iter().all(|p| p.ecosystem == "Debian:12"));
    }

    #[test]
    fn apk_and_rpm_lists() {
        let apk =
            "C:Q1abc=\nP:libcrypto3\nV:3.1.4-r5\no:openssl\n\nP:musl\nV:1.2.4_git20230717-r4\n";
        let inv = from_package_list(apk, ListFormat::ApkInstalled, "Alpine:v3.19").unwrap();
        assert_eq!(inv.packages[0].name, "musl");
        assert_eq!(inv.packages[1].name, "openssl");
        let rpm = "openssl-libs-3.0.7-27.el9.x86_64\ngpg-pubkey-fd431d51-4ae0493b\nbash-5.1.8-9.el9.aarch64\ntzdata-2024a-1.el9.noarch\n";
        let inv = from_package_list(rpm, ListFormat::RpmQa, "AlmaLinux:9").unwrap();
        let got: Vec<_> = inv
            .packages
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_deref().unwrap()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("bash", "5.1.8-9.el9"),
                ("openssl-libs", "3.0.7-27.el9"),
                ("tzdata", "2024a-1.el9")
            ]
        );
    }

    #[test]
    fn sboms() {
        let cdx = serde_json::json!({"bomFormat": "CycloneDX", "specVersion": "1.5", "components": [
            {"name": "jinja2", "purl": "pkg:pypi/jinja2@2.4.1", "components": [
                {"name": "lodash", "purl": "pkg:npm/lodash@4.17.20"}]},
            {"name": "README", "type": "file"},
            {"name": "x", "purl": "pkg:generic/x@1"}]});
        let inv = from_sbom(&cdx).unwrap();
        assert_eq!(inv.packages.len(), 2);
        assert_eq!(inv.skipped.len(), 2);
        let spdx = serde_json::json!({"spdxVersion": "SPDX-2.3", "packages": [
            {"name": "lodash", "externalRefs": [{"referenceCategory": "PACKAGE-MANAGER",
             "referenceType": "purl", "referenceLocator": "pkg:npm/lodash@4.17.20"}]}]});
        let inv = from_sbom(&spdx).unwrap();
        assert_eq!(
            inv.packages,
            vec![InventoryPackage {
                ecosystem: "npm".into(),
                name: "lodash".into(),
                version: Some("4.17.20".into())
            }]
        );
        assert!(matches!(
            from_sbom(&serde_json::json!({"a": 1})),
            Err(InventoryError::UnknownSbom)
        ));
    }

    #[test]
    fn bad_inventories() {
        assert!(matches!(
            from_package_list(DPKG, ListFormat::DpkgStatus, "Nonesuch:1"),
            Err(InventoryError::Package { .. })
        ));
        let specs = vec![PackageSpec {
            ecosystem: Some("Nope".into()),
            name: Some("x".into()),
            ..Default::default()
        }];
        assert!(from_specs(&specs).is_err());
        let many: String = (0..MAX_PACKAGES + 1)
            .map(|i| format!("pkg:npm/p{i}@1.0.0\n"))
            .collect();
        assert!(matches!(
            from_purl_lines(&many),
            Err(InventoryError::TooMany(_))
        ));
        assert!(matches!(
            detect_and_parse("{not json", None, None),
            Err(InventoryError::NotJson(_))
        ));
        assert!(detect_and_parse("Package: a\nVersion: 1\n", None, None).is_err());
    }
}
