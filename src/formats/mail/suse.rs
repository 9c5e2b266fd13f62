//! SUSE and openSUSE security updates (`SUSE-SU-`, `openSUSE-SU-`).
//!
//! Written from the published layouts (no real mail in shared data):
//! the classic one (`SUSE Security Update:` title, `Announcement ID:`,
//! `Rating:`, `Cross-References:`, `Affected Products:`, then a
//! `Package List:` of `- Product (arches):` headers over indented
//! `name-version-release` lines) and the 2023+ markdown-like one
//! (`# Security update for ...`, `* Product (arches)` bullets over
//! `* name-version-release` bullets under `## Package List:`).
//! Package lines are split at their last two hyphens.

use std::sync::LazyLock;

use regex::Regex;

use super::text::{cve_ids, field, section, split_name_version_release};
use super::{Draft, Fix, MailMessage, Verdict};

static ID: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?-u:\b)((?:open)?SUSE-SU-\d{4}:\d+-\d+)(?-u:\b)").expect("constant regex")
});

/// The OSV ecosystem of a SUSE product name: `SUSE Linux Enterprise Server
/// 12-SP1` -> `SUSE:Linux Enterprise Server 12 SP1`, `openSUSE Leap 15.5` ->
/// `openSUSE:Leap 15.5`.
pub(crate) fn product_ecosystem(product: &str) -> String {
    let product = product.trim().replace("-SP", " SP");
    if let Some(rest) = product.strip_prefix("openSUSE ") {
        format!("openSUSE:{rest}")
    } else if let Some(rest) = product.strip_prefix("SUSE ") {
        format!("SUSE:{rest}")
    } else {
        format!("SUSE:{product}")
    }
}

/// Reads a SUSE-SU / openSUSE-SU announcement; anything else is NotMine.
pub(crate) fn parse(message: &MailMessage) -> Verdict {
    let body = &message.body;
    let subject = message.subject.as_deref().unwrap_or_default();
    let lines: Vec<&str> = body.lines().collect();
    let announced = field(&lines, &["Announcement ID"])
        .and_then(|(v, _)| ID.captures(&v).map(|c| c[1].to_string()));
    let looks_suse = body.contains("SUSE Security Update")
        || lines
            .iter()
            .any(|l| l.trim_start().starts_with("Announcement ID:"));
    let id = match announced {
        Some(id) => id,
        None if looks_suse => match ID.captures(subject).or_else(|| ID.captures(body)) {
            Some(c) => c[1].to_string(),
            None => return Verdict::NotMine,
        },
        None => return Verdict::NotMine,
    };
    let details = section(
        &lines,
        &["Description:"],
        &[
            "Patch Instructions:",
            "Special Instructions",
            "Package List:",
        ],
    );
    let mut draft = Draft {
        id: id.clone(),
        details,
        vendor_severity: field(&lines, &["Rating"])
            .map(|(v, _)| v.trim().to_ascii_lowercase())
            .filter(|v| !v.is_empty()),
        summary: lines
            .iter()
            .map(|l| l.trim())
            .find_map(|l| {
                l.strip_prefix("# ")
                    .or_else(|| l.split_once("Security Update:").map(|(_, t)| t))
            })
            .map(|t| t.trim().to_string()),
        ..Draft::default()
    };

    // Cross-References: classic continuation lines or 2023 bullets.
    if let Some(start) = lines
        .iter()
        .position(|l| l.trim_start().starts_with("Cross-References:"))
    {
        let end = lines[start + 1..]
            .iter()
            .position(|l| {
                let t = l.trim_start();
                t.starts_with("CVSS scores:")
                    || t.starts_with("Affected Products:")
                    || t.starts_with("Description:")
                    || t.starts_with("## ")
                    || t.starts_with("_____")
            })
            .map_or(lines.len(), |i| start + 1 + i);
        draft.aliases = cve_ids(&lines[start..end].join("\n"));
    }
    if draft.aliases.is_empty() {
        draft.aliases = cve_ids(body);
    }

    let Some(list_start) = lines.iter().position(|l| {
        let t = l.trim_start().trim_start_matches('#').trim();
        t == "Package List:"
    }) else {
        return Verdict::malformed(id, 0, "no `Package List:` section");
    };
    let mut product: Option<String> = None;
    for (offset, line) in lines[list_start + 1..].iter().enumerate() {
        let t = line.trim();
        if t.is_empty() {
            continue;
        }
        let bare = t.trim_start_matches('#').trim();
        if !line.starts_with([' ', '\t']) && (bare == "References:" || t.starts_with("## ")) {
            break;
        }
        let item = t.trim_start_matches(['-', '*']).trim();
        if item.contains(' ') {
            // A product header: `Product (arch arch):` or `Product:`.
            let name = item.trim_end_matches(':');
            let name = match name.rfind(" (") {
                Some(i) if name.ends_with(')') => &name[..i],
                _ => name,
            };
            product = Some(name.trim().to_string());
            continue;
        }
        let Some(product) = &product else {
            return Verdict::malformed(
                id,
                list_start + 1 + offset,
                format!("package `{item}` before any product header"),
            );
        };
        let Some((name, version)) = split_name_version_release(item) else {
            return Verdict::malformed(
                id,
                list_start + 1 + offset,
                format!("`{item}` is not name-version-release"),
            );
        };
        let ecosystem = product_ecosystem(product);
        let purl_ns = if ecosystem.starts_with("openSUSE") {
            "opensuse"
        } else {
            "suse"
        };
        draft.add_fix(Fix {
            purl: Some(format!("pkg:rpm/{purl_ns}/{name}")),
            ecosystem,
            name: name.to_string(),
            fixed: Some(version.to_string()),
            ecosystem_specific: None,
        });
    }
    if draft.fixes.is_empty() {
        return Verdict::malformed(id, list_start, "empty `Package List:`");
    }
    for line in &lines {
        let t = line.trim().trim_start_matches(['*', '-']).trim();
        if t.starts_with("https://www.suse.com/security/cve/") {
            draft.add_reference("WEB", t);
        }
    }
    Verdict::Parsed(Box::new(draft))
}

#[cfg(test)]
mod tests {
    use super::*;

    // Layouts written from SUSE's published announcement format; the
    // package names and versions are made up.
    const CLASSIC: &str = "\
   SUSE Security Update: Security update for frobnicate
______________________________________________________________________________

Announcement ID:    SUSE-SU-2016:1234-1
Rating:             important
References:         #900001 #900002
Cross-References:   CVE-2016-1111 CVE-2016-2222
                    CVE-2016-3333
Affected Products:
                    SUSE Linux Enterprise Server 12-SP1
                    SUSE Linux Enterprise Desktop 12-SP1
______________________________________________________________________________

   An update that fixes three vulnerabilities is now available.

Description:

   frobnicate was updated.

Package List:

   - SUSE Linux Enterprise Server 12-SP1 (ppc64le s390x x86_64):

      frobnicate-1.0.2-47.1
      libfrob1-32bit-1.0.2-47.1

   - SUSE Linux Enterprise Desktop 12-SP1 (x86_64):

      frobnicate-1.0.2-47.1


References:

   https://www.suse.com/security/cve/CVE-2016-1111.html
";

    const MODERN: &str = "\
# Security update for frobnicate

Announcement ID: openSUSE-SU-2024:0001-1
Rating: moderate
References:

  * bsc#1200001

Cross-References:

  * CVE-2024-1111

CVSS scores:

  * CVE-2024-1111 ( SUSE ): 5.3 CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:L/A:N

Affected Products:

  * openSUSE Leap 15.5

An update that solves one vulnerability can now be installed.

## Description:

This update for frobnicate fixes CVE-2024-1111.

## Package List:

  * openSUSE Leap 15.5 (aarch64 x86_64)
    * frobnicate-2.1-150500.3.6.1
    * frobnicate-devel-2.1-150500.3.6.1

## References:

  * https://www.suse.com/security/cve/CVE-2024-1111.html
";

    fn draft(body: &str) -> Draft {
        let message = MailMessage {
            body: body.to_string(),
            ..MailMessage::default()
        };
        match parse(&message) {
            Verdict::Parsed(d) => *d,
            _ => panic!("not parsed"),
        }
    }

    #[test]
    fn classic_layout() {
        let d = draft(CLASSIC);
        assert_eq!(d.id, "SUSE-SU-2016:1234-1");
        assert_eq!(d.vendor_severity.as_deref(), Some("important"));
        assert_eq!(
            d.aliases,
            ["CVE-2016-1111", "CVE-2016-2222", "CVE-2016-3333"]
        );
        let fixes: Vec<(&str, &str, &str)> = d
            .fixes
            .iter()
            .map(|f| {
                (
                    f.ecosystem.as_str(),
                    f.name.as_str(),
                    f.fixed.as_deref().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            fixes,
            [
                (
                    "SUSE:Linux Enterprise Server 12 SP1",
                    "frobnicate",
                    "1.0.2-47.1"
                ),
                (
                    "SUSE:Linux Enterprise Server 12 SP1",
                    "libfrob1-32bit",
                    "1.0.2-47.1"
                ),
                (
                    "SUSE:Linux Enterprise Desktop 12 SP1",
                    "frobnicate",
                    "1.0.2-47.1"
                ),
            ]
        );
    }

    #[test]
    fn modern_layout() {
        let d = draft(MODERN);
        assert_eq!(d.id, "openSUSE-SU-2024:0001-1");
        assert_eq!(d.vendor_severity.as_deref(), Some("moderate"));
        assert_eq!(d.aliases, ["CVE-2024-1111"]);
        assert_eq!(d.fixes.len(), 2);
        assert_eq!(d.fixes[1].ecosystem, "openSUSE:Leap 15.5");
        assert_eq!(d.fixes[1].name, "frobnicate-devel");
        assert_eq!(d.fixes[1].fixed.as_deref(), Some("2.1-150500.3.6.1"));
        assert_eq!(d.summary.as_deref(), Some("Security update for frobnicate"));
        assert_eq!(
            d.details.as_deref(),
            Some("This update for frobnicate fixes CVE-2024-1111.")
        );
    }
}
