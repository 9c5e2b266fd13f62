//! What a system runs and what affects it: the types an inventory, an image
//! scan, the watch engine and the store all share (the parsers and the
//! matching live in the `inventory` module).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::FixStatus;

/// One installed package, normalized: the ecosystem and name are what the
/// package index is keyed by (Debian / Alpine source package names).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct InventoryPackage {
    /// OSV ecosystem (`Debian:12`, `npm`).
    pub ecosystem: String,
    /// Package name.
    pub name: String,
    /// Installed version (`None`: every advisory of the package counts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

/// What affects one inventory package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// The package.
    pub package: InventoryPackage,
    /// Every advisory `/v1/query` reports for it, sorted.
    pub advisories: Vec<String>,
    /// The subset that is "possibly affected" (a range could not be evaluated).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unevaluated: Vec<String>,
    /// Per advisory, the fixed versions it names for this package.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fixed: BTreeMap<String, Vec<String>>,
    /// Per advisory, the fix status of the entry that matched.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub statuses: BTreeMap<String, FixStatus>,
}
