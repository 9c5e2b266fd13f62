//! Gentoo Linux Security Advisories (GLSA), written from the published
//! layout (no real GLSA mail in shared data): a header block with
//! `Severity:`, `Title:`, `ID:`, an "Affected packages" table of
//! `[N] category/package  vulnerable-constraint  unaffected-constraint`
//! rows, and a "References" list of CVEs. The first `>=` unaffected
//! constraint becomes the fixed version; all constraints are kept in
//! `ecosystem_specific`.

use std::sync::LazyLock;

use regex::Regex;
use serde_json::json;

use super::text::{cve_ids, field, section};
use super::{Draft, Fix, MailMessage, Verdict};

static ID: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"Gentoo Linux Security Advisory\s+GLSA[ -](\d{6}-\d+)").expect("constant regex")
});
static ROW: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^\s*(?:\d+\s+)?([a-z0-9][\w+-]*/[\w+.-]+)\s+((?:[<>=]=?|\*)\s*\S+(?:\s+(?:[<>=]=?|\*)\s*\S+)*)\s+((?:[<>=]=?|\*)\s*\S+.*)$",
    )
    .expect("constant regex")
});
static CONSTRAINT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"([<>=]=?|\*)\s*([^\s<>=*]+)").expect("constant regex"));

/// Reads a GLSA; anything else is NotMine.
pub(crate) fn parse(message: &MailMessage) -> Verdict {
    let body = &message.body;
    let Some(caps) = ID.captures(body) else {
        return Verdict::NotMine;
    };
    let id = format!("GLSA-{}", &caps[1]);
    let lines: Vec<&str> = body.lines().collect();
    let mut draft = Draft {
        id: id.clone(),
        details: section(
            &lines,
            &["Description"],
            &["Impact", "Workaround", "Resolution"],
        )
        .map(|d| d.trim_start_matches(['=', '\n']).trim().to_string()),
        vendor_severity: field(&lines, &["Severity"])
            .map(|(v, _)| v.trim().to_ascii_lowercase())
            .filter(|v| !v.is_empty()),
        summary: field(&lines, &["Title"]).map(|(v, _)| v),
        ..Draft::default()
    };
    let references = lines
        .iter()
        .position(|l| l.trim() == "References")
        .map_or(body.as_str().to_string(), |i| lines[i..].join("\n"));
    draft.aliases = cve_ids(&references);
    draft.add_reference(
        "ADVISORY",
        &format!("https://security.gentoo.org/glsa/{}", &caps[1]),
    );
    let Some(start) = lines.iter().position(|l| l.trim() == "Affected packages") else {
        return Verdict::malformed(id, 0, "no \"Affected packages\" section");
    };
    for line in &lines[start + 1..] {
        if line.trim() == "Description" || line.trim() == "Background" {
            break;
        }
        let Some(row) = ROW.captures(line) else {
            continue;
        };
        let vulnerable: Vec<String> = CONSTRAINT
            .captures_iter(&row[2])
            .map(|c| format!("{} {}", &c[1], &c[2]))
            .collect();
        let unaffected: Vec<String> = CONSTRAINT
            .captures_iter(&row[3])
            .map(|c| format!("{} {}", &c[1], &c[2]))
            .collect();
        let fixed = CONSTRAINT
            .captures_iter(&row[3])
            .find(|c| &c[1] == ">=")
            .map(|c| c[2].to_string());
        draft.add_fix(Fix {
            ecosystem: "Gentoo".into(),
            name: row[1].to_string(),
            fixed,
            purl: None,
            ecosystem_specific: Some(json!({
                "vulnerable": vulnerable,
                "unaffected": unaffected,
            })),
        });
    }
    if draft.fixes.is_empty() {
        return Verdict::malformed(id, start, "no package rows under \"Affected packages\"");
    }
    Verdict::Parsed(Box::new(draft))
}

#[cfg(test)]
mod tests {
    use super::*;

    // Layout from the published GLSA format; package and versions made up.
    const GLSA: &str = "\
Gentoo Linux Security Advisory                           GLSA 202401-01
- - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - -
                                           https://security.gentoo.org/
- - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - - -

 Severity: High
    Title: Frobnicate: Multiple Vulnerabilities
     Date: January 01, 2024
     Bugs: #900001
       ID: 202401-01

Affected packages
=================

Package              Vulnerable    Unaffected
-------------------  ------------  ------------
dev-libs/frobnicate  < 1.2.3       >= 1.2.3

Description
===========

Several vulnerabilities.

References
==========

[ 1 ] CVE-2023-1111
[ 2 ] CVE-2023-2222
";

    #[test]
    fn published_layout() {
        let message = MailMessage {
            body: GLSA.to_string(),
            ..MailMessage::default()
        };
        let Verdict::Parsed(d) = parse(&message) else {
            panic!("not parsed");
        };
        assert_eq!(d.id, "GLSA-202401-01");
        assert_eq!(d.vendor_severity.as_deref(), Some("high"));
        assert_eq!(d.aliases, ["CVE-2023-1111", "CVE-2023-2222"]);
        assert_eq!(d.fixes.len(), 1);
        assert_eq!(d.fixes[0].name, "dev-libs/frobnicate");
        assert_eq!(d.fixes[0].fixed.as_deref(), Some("1.2.3"));
    }
}
