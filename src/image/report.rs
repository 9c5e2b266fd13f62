//! An image's findings: its packages matched like any inventory (one
//! [`crate::model::Finding`] per matched source package, so findings
//! equal `/v1/query`), each with the installed binary packages it hits;
//! and the three renderings `scan --image` writes (table, JSON, CycloneDX).

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::packages::ImagePackage;
use super::ImageContents;
use crate::inventory::findings;
use crate::model::{Finding, InventoryPackage};
use crate::store::snapshot::Snapshot;
use crate::store::StoreError;

/// A finding on an image: the matched package plus the binaries it hits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImageFinding {
    /// The finding as any inventory gets it.
    #[serde(flatten)]
    pub finding: Finding,
    /// The installed binary packages behind the matched (source) package.
    pub binaries: Vec<String>,
}

/// The packages matched for an image: each package's [`ImagePackage::match_names`]
/// in its ecosystem, deduplicated, with the binaries behind each.
pub fn inventory(contents: &ImageContents) -> BTreeMap<InventoryPackage, BTreeSet<String>> {
    let mut out: BTreeMap<InventoryPackage, BTreeSet<String>> = BTreeMap::new();
    for p in &contents.packages {
        let Some(ecosystem) = &p.ecosystem else {
            continue;
        };
        for (name, version) in p.match_names() {
            out.entry(InventoryPackage {
                ecosystem: ecosystem.clone(),
                name,
                version: Some(version),
            })
            .or_default()
            .insert(p.name.clone());
        }
    }
    out
}

/// Matches an image's packages against one snapshot of the store.
pub fn image_findings(
    snapshot: &Snapshot,
    contents: &ImageContents,
    ignore: &[crate::model::FixStatus],
) -> Result<Vec<ImageFinding>, StoreError> {
    let inventory = inventory(contents);
    let packages: Vec<InventoryPackage> = inventory.keys().cloned().collect();
    let found = findings(snapshot, &packages, ignore)?;
    Ok(packages
        .iter()
        .zip(found)
        .filter_map(|(p, f)| {
            let f = f?;
            Some(ImageFinding {
                finding: f,
                binaries: inventory
                    .get(p)
                    .map(|b| b.iter().cloned().collect())
                    .unwrap_or_default(),
            })
        })
        .collect())
}

/// How `scan` prints (an inventory file: `json` and `openvex` only change it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// One line per (package, advisory): what a person acts on.
    Table,
    /// The `scan --json` object, extended with image, os and packages.
    Json,
    /// A CycloneDX 1.5 SBOM with the findings as vulnerabilities.
    Cyclonedx,
    /// An OpenVEX 0.2.0 document: one statement per (advisory, package).
    Openvex,
}

/// The JSON report: today's `scan --json` fields plus the image's.
pub fn json_report(
    contents: &ImageContents,
    findings: &[ImageFinding],
    as_of: u64,
) -> serde_json::Value {
    serde_json::json!({
        "image": contents.image,
        "os": contents.os,
        "packages": contents.packages,
        "skipped": contents.skipped,
        "as_of": as_of,
        "findings": findings,
    })
}

/// Aliases of each advisory id, looked up by the caller (the store).
pub type Aliases = BTreeMap<String, Vec<String>>;

/// The table: package, installed version, fixed version, advisory and
/// aliases, binaries; one line per advisory.
pub fn table(contents: &ImageContents, findings: &[ImageFinding], aliases: &Aliases) -> String {
    let mut rows = vec![[
        "PACKAGE".to_string(),
        "INSTALLED".into(),
        "FIXED".into(),
        "ADVISORY".into(),
        "ALIASES".into(),
        "BINARIES".into(),
    ]];
    for f in findings {
        let p = &f.finding.package;
        for id in &f.finding.advisories {
            let mut fixed = f
                .finding
                .fixed
                .get(id)
                .map(|v| v.join(","))
                .unwrap_or_default();
            if fixed.is_empty() {
                fixed = "-".into();
            }
            if f.finding.unevaluated.contains(id) {
                fixed.push_str(" (possibly affected)");
            }
            rows.push([
                p.name.clone(),
                p.version.clone().unwrap_or_else(|| "*".into()),
                fixed,
                id.clone(),
                aliases.get(id).map(|a| a.join(",")).unwrap_or_default(),
                f.binaries.join(","),
            ]);
        }
    }
    let widths: Vec<usize> = (0..6)
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    let os = contents
        .os
        .as_ref()
        .map(|o| {
            o.ecosystem
                .clone()
                .unwrap_or_else(|| format!("{} (unknown to advisord)", o.id))
        })
        .unwrap_or_else(|| "unknown OS".into());
    out.push_str(&format!(
        "{} ({}{}): {} packages, {} affected\n",
        contents.image.reference,
        os,
        contents
            .image
            .manifest_digest
            .as_deref()
            .map(|d| format!(", {d}"))
            .unwrap_or_default(),
        contents.packages.len(),
        findings.len()
    ));
    for row in rows {
        let line: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    out
}

/// A CycloneDX 1.5 JSON SBOM: one component per installed package (by
/// purl), one vulnerability per advisory, affecting the binaries it hits.
pub fn cyclonedx(
    contents: &ImageContents,
    findings: &[ImageFinding],
    aliases: &Aliases,
) -> serde_json::Value {
    let bom_ref = |p: &ImagePackage| p.purl.clone();
    let components: Vec<serde_json::Value> = contents
        .packages
        .iter()
        .map(|p| {
            serde_json::json!({
                "type": "library",
                "bom-ref": bom_ref(p),
                "name": p.name,
                "version": p.version,
                "purl": p.purl,
                "properties": [
                    {"name": "advisord:source_name", "value": p.source_name},
                    {"name": "advisord:layer", "value": p.layer.clone().unwrap_or_default()},
                ],
            })
        })
        .collect();
    let mut vulns: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut fixed: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in findings {
        for id in &f.finding.advisories {
            let refs = vulns.entry(id.clone()).or_default();
            for p in contents
                .packages
                .iter()
                .filter(|p| f.binaries.contains(&p.name))
            {
                refs.insert(bom_ref(p));
            }
            fixed
                .entry(id.clone())
                .or_default()
                .extend(f.finding.fixed.get(id).cloned().unwrap_or_default());
        }
    }
    let vulnerabilities: Vec<serde_json::Value> = vulns
        .into_iter()
        .map(|(id, refs)| {
            let mut v = serde_json::json!({
                "id": id,
                "affects": refs.iter().map(|r| serde_json::json!({"ref": r})).collect::<Vec<_>>(),
            });
            if let Some(a) = aliases.get(&id).filter(|a| !a.is_empty()) {
                v["references"] = a
                    .iter()
                    .map(|a| serde_json::json!({"id": a, "source": {"name": "alias"}}))
                    .collect();
            }
            if let Some(f) = fixed.get(&id).filter(|f| !f.is_empty()) {
                v["recommendation"] = format!(
                    "upgrade to {}",
                    f.iter().cloned().collect::<Vec<_>>().join(" or ")
                )
                .into();
            }
            v
        })
        .collect();
    serde_json::json!({
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "version": 1,
        "metadata": {
            "component": {
                "type": "container",
                "name": contents.image.reference,
                "version": contents.image.manifest_digest.clone().unwrap_or_default(),
            },
            "tools": {"components": [{"type": "application", "name": "advisord", "version": env!("CARGO_PKG_VERSION")}]},
        },
        "components": components,
        "vulnerabilities": vulnerabilities,
    })
}
