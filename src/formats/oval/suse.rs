//! SUSE / openSUSE OVAL: `*-affected.xml` (per-CVE), `*-patch.xml`
//! (per-update), and the older per-release files.
//!
//! Products come from the criteria tree ("SUSE Linux Enterprise Server 15 SP5
//! is installed" -> `SUSE:Linux Enterprise Server 15 SP5`); a package whose
//! state is `version equals 0` ("X is not affected") is never affected,
//! whatever the comment says.

use super::identity::{standard_identity, Identity, IdentityError, RawPlatform};
use super::xml::Definition;
use crate::model::is_cve_id;

/// Maps a SUSE product name to its OSV ecosystem.
pub fn product_ecosystem(product: &str) -> Option<String> {
    let p = product.trim();
    // "openSUSE 12.1 Update" is the update repository of openSUSE 12.1.
    let p = p.strip_suffix(" Update").unwrap_or(p);
    if p.is_empty() {
        return None;
    }
    if let Some(rest) = p.strip_prefix("openSUSE ") {
        return Some(format!("openSUSE:{}", rest.trim()));
    }
    if let Some(rest) = p.strip_prefix("SUSE ") {
        return Some(format!("SUSE:{}", rest.trim()));
    }
    if p.contains(' ') {
        return Some(format!("SUSE:{p}"));
    }
    None
}

/// `15.5` -> `15 SP5`, `15` -> `15`.
fn service_pack(version: &str) -> String {
    match version.split_once('.') {
        Some((major, sp)) if sp != "0" && sp.bytes().all(|b| b.is_ascii_digit()) => {
            format!("{major} SP{sp}")
        }
        _ => version.to_string(),
    }
}

/// Names the product of an "X is installed" criterion.
pub fn platform(raw: &RawPlatform<'_>) -> Option<Vec<String>> {
    let product = raw
        .comment
        .trim()
        .strip_suffix(" is installed")
        .unwrap_or(raw.comment.trim());
    if let Some(eco) = product_ecosystem(product) {
        return Some(vec![eco]);
    }
    // Old files name products by a token ("suse102", "core9", "sles10-sp4"):
    // fall back on the release package and its version.
    let version = raw
        .version
        .trim()
        .trim_start_matches('^')
        .trim_end_matches('$');
    let eco = match raw.package {
        "suse-release" | "openSUSE-release" => format!("openSUSE:{version}"),
        "sles-release" | "sles-release-DVD" => {
            format!("SUSE:Linux Enterprise Server {}", service_pack(version))
        }
        "sled-release" => format!("SUSE:Linux Enterprise Desktop {}", service_pack(version)),
        _ if product.starts_with("core9") || product == "sles9" => {
            "SUSE:Linux Enterprise Server 9".to_string()
        }
        _ if product.starts_with("sles10") => {
            let sp = product
                .strip_prefix("sles10-sp")
                .and_then(|r| r.split('-').next())
                .map(|sp| format!(" SP{sp}"))
                .unwrap_or_default();
            format!("SUSE:Linux Enterprise Server 10{sp}")
        }
        _ if !product.is_empty() => format!("SUSE:{product}"),
        _ => return None,
    };
    Some(vec![eco])
}

/// Products named in the metadata, for definitions without a product criterion.
pub fn default_platforms(def: &Definition) -> Vec<String> {
    def.platforms
        .iter()
        .filter_map(|p| product_ecosystem(p))
        .collect()
}

/// Per-CVE definitions get the CVE id; patch definitions their SUSE-SU id
/// (from the title or references), or the OVAL definition id when the
/// definition has none (SLE 16 GA-media definitions).
pub fn identity(def: &Definition) -> Result<Identity, IdentityError> {
    if def.class != "patch" {
        return standard_identity(def, None);
    }
    let is_advisory = |s: &str| {
        [
            "SUSE-SU-",
            "SUSE-RU-",
            "SUSE-IU-",
            "openSUSE-SU-",
            "openSUSE-RU-",
        ]
        .iter()
        .any(|p| s.starts_with(p))
    };
    let from_title = def
        .title
        .split_whitespace()
        .next()
        .map(|t| t.trim_end_matches(':'))
        .filter(|t| is_advisory(t))
        .map(str::to_string);
    let from_refs = def
        .references
        .iter()
        .map(|r| r.ref_id.as_str())
        .find(|r| is_advisory(r))
        .map(str::to_string);
    match from_title.or(from_refs) {
        Some(id) => standard_identity(def, Some(id)),
        // Old per-CVE files mark CVE definitions as patches.
        None if is_cve_id(def.title.trim()) => standard_identity(def, None),
        None => standard_identity(def, Some(def.id.clone())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn products() {
        assert_eq!(
            product_ecosystem("SUSE Linux Enterprise Server 15 SP5").as_deref(),
            Some("SUSE:Linux Enterprise Server 15 SP5")
        );
        assert_eq!(
            product_ecosystem("openSUSE Leap 15.5").as_deref(),
            Some("openSUSE:Leap 15.5")
        );
        assert_eq!(
            product_ecosystem("openSUSE Tumbleweed").as_deref(),
            Some("openSUSE:Tumbleweed")
        );
        assert_eq!(product_ecosystem("suse102"), None);
        let raw = RawPlatform {
            package: "suse-release",
            version: "10.2",
            comment: "suse102 is installed",
        };
        assert_eq!(platform(&raw), Some(vec!["openSUSE:10.2".to_string()]));
    }
}
