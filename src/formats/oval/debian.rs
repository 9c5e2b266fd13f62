//! Debian OVAL: per-CVE vulnerability definitions (one per CVE and source
//! package) and DSA patch definitions. `less than 0` means not affected; the
//! release comes from the `/etc/debian_version` test (`Debian:11`).

use super::identity::{standard_identity, Identity, IdentityError, RawPlatform};
use super::xml::Definition;

/// `/etc/debian_version` with subexpression `11` -> `Debian:11`.
pub fn platform(raw: &RawPlatform<'_>) -> Option<Vec<String>> {
    let v = raw.version.trim();
    if raw.package == "/etc/debian_version"
        && !v.is_empty()
        && v.bytes().all(|b| b.is_ascii_digit())
    {
        return Some(vec![format!("Debian:{v}")]);
    }
    None
}

/// From the metadata platform (`Debian GNU/Linux 11`).
pub fn default_platforms(def: &Definition) -> Vec<String> {
    def.platforms
        .iter()
        .filter_map(|p| p.rsplit(' ').next())
        .filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
        .map(|v| format!("Debian:{v}"))
        .collect()
}

/// CVE for vulnerability definitions; `DSA-nnnn-n`/`DLA-...` for patch ones.
pub fn identity(def: &Definition) -> Result<Identity, IdentityError> {
    if def.class != "patch" {
        return standard_identity(def, None);
    }
    let id = def
        .title
        .split_whitespace()
        .next()
        .filter(|t| t.starts_with("DSA-") || t.starts_with("DLA-") || t.starts_with("DTSA-"))
        .map(str::to_string)
        .ok_or_else(|| IdentityError::NoDebianAdvisoryId(def.title.clone()))?;
    standard_identity(def, Some(id))
}
