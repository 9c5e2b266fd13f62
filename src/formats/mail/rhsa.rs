//! Red Hat Security Advisories (RHSA) as mailed to rhsa-announce.
//!
//! Header fields `Synopsis:` (severity prefix such as `Critical:`),
//! `Advisory ID:`, `CVE Names:` (wrapped); then a numbered `Package List:`
//! (2000-era: `RPMs required:` with URLs) of product headers over
//! `name-version-release.arch.rpm` files. The record id drops the `-NN`
//! revision (`RHSA-2018:0549`, as Red Hat's errata and OSV spell it); the
//! full id is kept as the upstream id. RPM file names carry no epoch, so
//! fixed versions are `version-release`.

use std::sync::LazyLock;

use regex::Regex;

use super::text::{cve_ids, field, parse_rpm_filename, section};
use super::{Draft, Fix, MailMessage, Verdict};

static ID: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?-u:\b)(RH[SBE]A-\d{4}:\d+)(-\d+)?(?-u:\b)").expect("constant regex")
});
static RHEL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^Red Hat Enterprise Linux (.*?) ?\(v\. ?(\d+(?:\.\d+)*)(?: ([A-Za-z]+))?\)$")
        .expect("constant regex")
});
static SECTION: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\d+\. [A-Z][^:]{0,60}:").expect("constant regex"));

/// The OSV ecosystem of a Red Hat product name: RHEL variants map to their
/// CPE-derived spelling (`Red Hat Enterprise Linux Server (v. 7)` ->
/// `Red Hat:enterprise_linux:7::server`); other products are kept verbatim
/// after `Red Hat:`.
pub(crate) fn product_ecosystem(product: &str) -> String {
    if let Some(c) = RHEL.captures(product) {
        let variant = c[1].trim().to_ascii_lowercase();
        let variant = variant.strip_suffix(" optional").unwrap_or(&variant);
        // Extended-support streams have their own CPE product.
        let (variant, product) = [" eus", " aus", " tus", " e4s"]
            .iter()
            .find_map(|suffix| {
                variant
                    .strip_suffix(suffix)
                    .map(|v| (v, format!("rhel_{}", suffix.trim())))
            })
            .unwrap_or((variant, "enterprise_linux".to_string()));
        let cpe_variant = match (variant, c.get(3).map(|m| m.as_str().to_ascii_lowercase())) {
            ("", Some(v)) => Some(v),
            ("server", _) => Some("server".to_string()),
            ("client" | "desktop", _) => Some("client".to_string()),
            ("workstation", _) => Some("workstation".to_string()),
            ("hpc node" | "computenode" | "compute node", _) => Some("computenode".to_string()),
            ("appstream", _) => Some("appstream".to_string()),
            ("baseos", _) => Some("baseos".to_string()),
            ("codeready linux builder", _) => Some("crb".to_string()),
            _ => None,
        };
        if let Some(v) = cpe_variant {
            return format!("Red Hat:{product}:{}::{v}", &c[2]);
        }
    }
    format!("Red Hat:{}", product.trim())
}

/// Reads an RHSA (or a forwarded copy once unquoted); anything else is NotMine.
pub(crate) fn parse(message: &MailMessage) -> Verdict {
    let body = &message.body;
    if !body.contains("Red Hat") || !body.contains("Advisory ID:") {
        return Verdict::NotMine;
    }
    let lines: Vec<&str> = body.lines().collect();
    let Some((id_field, id_line)) = field(&lines, &["Advisory ID"]) else {
        return Verdict::NotMine;
    };
    let Some(caps) = ID.captures(&id_field) else {
        return Verdict::malformed(
            id_field,
            id_line,
            "`Advisory ID:` is not an RHSA/RHBA/RHEA id",
        );
    };
    let id = caps[1].to_string();
    let full_id = caps[0].to_string();
    let synopsis = field(&lines, &["Synopsis"]).map(|(v, _)| v);
    let severity = synopsis.as_deref().and_then(|s| {
        let (level, _) = s.split_once(':')?;
        let level = level.trim().to_ascii_lowercase();
        ["critical", "important", "moderate", "low"]
            .contains(&level.as_str())
            .then_some(level)
    });
    let mut aliases = field(&lines, &["CVE Names", "CVE names"])
        .map(|(v, _)| cve_ids(&v))
        .unwrap_or_default();
    if aliases.is_empty() {
        aliases = cve_ids(body);
    }
    let details = section(
        &lines,
        &["3. Description:", "3. Problem description:"],
        &["4. Solution:", "4. "],
    );
    let mut draft = Draft {
        id: id.clone(),
        details,
        upstream_id: Some(full_id),
        aliases,
        summary: synopsis,
        vendor_severity: severity,
        ..Draft::default()
    };
    match field(&lines, &["Advisory URL"]) {
        Some((url, _)) if url.starts_with("http") => draft.add_reference("ADVISORY", &url),
        _ => draft.add_reference(
            "ADVISORY",
            &format!("https://access.redhat.com/errata/{id}"),
        ),
    }

    let Some(start) = lines.iter().position(|l| {
        let t = l.trim();
        t.ends_with("Package List:") || t.ends_with("RPMs required:")
    }) else {
        // Newer mails may leave the package list to the errata page: the
        // record still carries the id, CVEs and severity.
        return Verdict::Parsed(Box::new(draft));
    };
    let mut product: Option<String> = None;
    for (offset, line) in lines[start + 1..].iter().enumerate() {
        let t = line.trim();
        if SECTION.is_match(t) {
            break;
        }
        if t.ends_with(':') && t.contains(' ') && !t.contains(".rpm") {
            product = Some(t.trim_end_matches(':').trim().to_string());
            continue;
        }
        for token in t.split_whitespace().filter(|w| w.ends_with(".rpm")) {
            let file = token.rsplit('/').next().unwrap_or(token);
            let Some((name, version, _arch)) = parse_rpm_filename(file) else {
                return Verdict::malformed(
                    id,
                    start + 1 + offset,
                    format!("`{file}` is not name-version-release.arch.rpm"),
                );
            };
            let Some(product) = &product else {
                return Verdict::malformed(
                    id,
                    start + 1 + offset,
                    format!("`{file}` before any product header"),
                );
            };
            draft.add_fix(Fix {
                ecosystem: product_ecosystem(product),
                name: name.to_string(),
                fixed: Some(version.to_string()),
                purl: Some(format!("pkg:rpm/redhat/{name}")),
                ecosystem_specific: None,
            });
        }
    }
    if draft.fixes.is_empty() {
        return Verdict::malformed(id, start, "no RPM files in the package list");
    }
    Verdict::Parsed(Box::new(draft))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn products_map_to_cpe_spelling() {
        assert_eq!(
            product_ecosystem("Red Hat Enterprise Linux Server Optional (v. 7)"),
            "Red Hat:enterprise_linux:7::server"
        );
        assert_eq!(
            product_ecosystem("Red Hat Enterprise Linux Desktop (v. 6)"),
            "Red Hat:enterprise_linux:6::client"
        );
        assert_eq!(
            product_ecosystem("Red Hat Enterprise Linux (v. 5 server)"),
            "Red Hat:enterprise_linux:5::server"
        );
        assert_eq!(
            product_ecosystem("Red Hat Enterprise Linux AppStream (v. 8)"),
            "Red Hat:enterprise_linux:8::appstream"
        );
        assert_eq!(
            product_ecosystem("Red Hat Enterprise Linux BaseOS EUS (v.8.6)"),
            "Red Hat:rhel_eus:8.6::baseos"
        );
        assert_eq!(
            product_ecosystem("Red Hat Linux 6.2"),
            "Red Hat:Red Hat Linux 6.2"
        );
    }
}
