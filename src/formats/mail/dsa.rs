//! Debian Security Advisories (DSA) and Debian LTS Advisories (DLA).
//!
//! The header block gives `Package`, `CVE Id(s)`/`CVE ID` (wrapped onto
//! indented lines); fixed versions are in prose, wrapped anywhere:
//! "For the stable distribution (bookworm), this problem has been fixed in
//! version X." or, for LTS, "For Debian 11 bullseye, these problems have
//! been fixed in version X.". Old advisories add a matrix of rebuilt source
//! packages under a `Debian 4.0 (etch)` column header.

use std::sync::LazyLock;

use regex::Regex;

use super::text::{collapse, cve_ids, field, section};
use super::{Draft, Fix, MailMessage, Verdict};
use crate::model::release;

static ID: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"Debian (?:Security|LTS) Advisory (DSA|DLA)[- ](\d+(?:-\d+)?)(?-u:\b)")
        .expect("constant regex")
});
static SUBJECT_ID: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\[(DSA|DLA)[- ](\d+(?:-\d+)?)\]").expect("constant regex"));
static FIXED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?-u:\b)(?:For|In) (?P<suites>(?:[^.]|\.\d){1,200}?),? (?:this|these|the) (?:problems?|issues?|vulnerabilit(?:y|ies)|bugs?) (?:has|have) been (?:fixed|corrected|resolved|addressed) in (?:[a-z0-9][a-z0-9.+-]* )?(?:version|versions) (?P<version>[^\s,;]+)",
    )
    .expect("constant regex")
});
static FIXED_AFTER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"in version (?P<version>[^\s,;]+) for the (?P<suites>(?:[A-Za-z-]+ ){0,3}distributions? \([A-Za-z-]+\))",
    )
    .expect("constant regex")
});
static DEBIAN_NUMBER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?-u:\b)Debian(?: GNU/Linux)? (\d+(?:\.\d+)?)(?-u:\b)").expect("constant regex")
});
static MATRIX_COLUMN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"Debian(?: GNU/Linux)? (\d+(?:\.\d+)?) \(([a-z-]+)\)").expect("constant regex")
});

/// OSV spells releases before 7 with `.0` (`Debian:4.0`) and later ones
/// bare (the one table: [`release::debian_number`]).
fn osv_release(number: &str) -> String {
    release::debian_number(number).unwrap_or_else(|| number.to_string())
}

/// Reads a DSA or DLA; anything else is [`Verdict::NotMine`].
pub(crate) fn parse(message: &MailMessage) -> Verdict {
    let body = &message.body;
    let id = ID
        .captures(body)
        .or_else(|| {
            message
                .subject
                .as_deref()
                .and_then(|s| SUBJECT_ID.captures(s))
        })
        .map(|c| format!("{}-{}", &c[1], &c[2]));
    let Some(mut id) = id else {
        return Verdict::NotMine;
    };
    if !id[4..].contains('-') {
        // "DSA-123" (very old advisories) stays as published.
        id = id.replace(' ', "-");
    }
    let lines: Vec<&str> = body.lines().collect();
    let Some((package_field, _)) = field(&lines, &["Package", "Packages", "Package(s)"]) else {
        return Verdict::malformed(id, 0, "no `Package :` field in the advisory header");
    };
    let package = package_field
        .split([',', ' '])
        .find(|p| !p.is_empty())
        .unwrap_or_default()
        .to_string();
    if package.is_empty() {
        return Verdict::malformed(id, 0, "empty `Package :` field");
    }
    let cve_field = field(
        &lines,
        &[
            "CVE Id(s)",
            "CVE ID",
            "CVE IDs",
            "CVE Ids",
            "CVE Id",
            "CVE Names",
            "CVE",
        ],
    );
    let mut aliases = cve_field.map(|(v, _)| cve_ids(&v)).unwrap_or_default();
    if aliases.is_empty() {
        aliases = cve_ids(body);
    }
    // Details: from the blank line closing the header fields to the first
    // fix statement or recommendation.
    let details = field(&lines, &["Package", "Packages", "Package(s)"])
        .and_then(|(_, at)| {
            lines[at..]
                .iter()
                .position(|l| l.trim().is_empty())
                .map(|i| at + i)
        })
        .and_then(|blank| {
            section(
                &lines[blank..],
                &[""],
                &[
                    "For the ",
                    "For Debian",
                    "In Debian",
                    "We recommend",
                    "This problem has been fixed",
                    "These problems have been fixed",
                ],
            )
        });
    let mut draft = Draft {
        id: id.clone(),
        details,
        aliases,
        summary: field(&lines, &["Vulnerability"]).map(|(v, _)| format!("{package}: {v}")),
        ..Draft::default()
    };
    draft.add_reference(
        "ADVISORY",
        &format!("https://security-tracker.debian.org/tracker/{id}"),
    );

    let collapsed = collapse(body);
    let mut statements = 0;
    // "For the stable distribution (bookworm), this problem has been fixed
    // in version X.", and the 2001-2005 word order: "This problem has been
    // fixed in version X for the stable distribution (woody) and in version
    // Y for the unstable distribution (sid)." Both give suites and version.
    for caps in FIXED
        .captures_iter(&collapsed)
        .chain(FIXED_AFTER.captures_iter(&collapsed))
    {
        statements += 1;
        let version = caps["version"].trim_end_matches(['.', ')']);
        for number in suite_releases(&caps["suites"]) {
            draft.add_fix(debian_fix(&number, package.clone(), version.to_string()));
        }
    }
    for (number, name, version) in rebuilt_matrix(&lines) {
        draft.add_fix(debian_fix(&number, name, version));
    }
    if statements == 0 && draft.fixes.is_empty() {
        let line = lines
            .iter()
            .position(|l| l.contains("distribution"))
            .unwrap_or(0);
        return Verdict::malformed(
            id,
            line,
            "no \"fixed in version\" statement for any Debian release",
        );
    }
    Verdict::Parsed(Box::new(draft))
}

/// The fix of Debian source package `name` at `version` in the release
/// `number` (`11`, `3.0`) names, with the package's purl.
fn debian_fix(number: &str, name: String, version: String) -> Fix {
    Fix {
        ecosystem: format!("Debian:{}", osv_release(number)),
        purl: Some(format!("pkg:deb/debian/{name}?arch=source")),
        name,
        fixed: Some(version),
        ecosystem_specific: None,
    }
}

/// The Debian release numbers named in the subject of a "For ..." sentence:
/// codenames in parentheses or bare (`(etch)`, `Debian 11 bullseye`) and
/// numbers (`Debian 11`). `sid`, `unstable`, `testing` without a codename
/// and `experimental` name no release and yield nothing.
fn suite_releases(suites: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for word in suites.split(|c: char| !c.is_ascii_alphanumeric()) {
        if let Some(number) = release::debian_codename(word) {
            if !out.iter().any(|n| n == number) {
                out.push(number.to_string());
            }
        }
    }
    if out.is_empty() {
        for caps in DEBIAN_NUMBER.captures_iter(suites) {
            let number = caps[1].to_string();
            if !out.contains(&number) {
                out.push(number);
            }
        }
    }
    out
}

/// Rows under a `Debian 4.0 (etch)  Debian 5.0 (lenny)` column header:
/// `source-package  version [version...]`, until a blank line.
fn rebuilt_matrix(lines: &[&str]) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for (index, line) in lines.iter().enumerate() {
        let columns: Vec<String> = MATRIX_COLUMN
            .captures_iter(line)
            .map(|c| c[1].to_string())
            .collect();
        if columns.is_empty() || MATRIX_COLUMN.replace_all(line, "").trim() != "" {
            continue;
        }
        for row in &lines[index + 1..] {
            let tokens: Vec<&str> = row.split_whitespace().collect();
            if tokens.len() != columns.len() + 1
                || !tokens[1..]
                    .iter()
                    .all(|t| t.bytes().any(|b| b.is_ascii_digit()))
            {
                break;
            }
            for (number, version) in columns.iter().zip(&tokens[1..]) {
                out.push((number.clone(), tokens[0].to_string(), version.to_string()));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(body: &str) -> MailMessage {
        MailMessage {
            body: body.to_string(),
            ..MailMessage::default()
        }
    }

    /// The draft `body` parses to; panics when it is not parsed.
    fn parsed(body: &str) -> Box<Draft> {
        let Verdict::Parsed(draft) = parse(&message(body)) else {
            panic!("not parsed: {body}");
        };
        draft
    }

    #[test]
    fn wrapped_prose_and_lts_wording() {
        let body = "Debian LTS Advisory DLA-1-1   x\n\nPackage        : foo\nCVE ID         : CVE-2024-1001 CVE-2024-1002\n                 CVE-2024-1003\n\nFor Debian 11 bullseye, these problems have been fixed in version\n1:2.0-1+deb11u1.\n\nFor the stable\ndistribution (bookworm), this problem has been fixed in version 2.0-2+deb12u1.\nFor the unstable distribution (sid), this problem has been fixed in version 3.\n";
        let draft = parsed(body);
        assert_eq!(draft.id, "DLA-1-1");
        assert_eq!(
            draft.aliases,
            ["CVE-2024-1001", "CVE-2024-1002", "CVE-2024-1003"]
        );
        let fixes: Vec<(&str, &str)> = draft
            .fixes
            .iter()
            .map(|f| (f.ecosystem.as_str(), f.fixed.as_deref().unwrap()))
            .collect();
        assert_eq!(
            fixes,
            [
                ("Debian:11", "1:2.0-1+deb11u1"),
                ("Debian:12", "2.0-2+deb12u1")
            ]
        );
    }

    #[test]
    fn early_word_order_and_squeeze_lts() {
        let body = "Debian Security Advisory DSA 200-1\nPackage : foo\n\nThis problem has been fixed in version\n1.0-2woody1 for the current stable distribution (woody) and in version 1.2-1 for\nthe unstable distribution (sid).\n";
        let draft = parsed(body);
        assert_eq!(draft.id, "DSA-200-1");
        assert_eq!(draft.fixes.len(), 1);
        assert_eq!(draft.fixes[0].ecosystem, "Debian:3.0");
        assert_eq!(draft.fixes[0].fixed.as_deref(), Some("1.0-2woody1"));
        let lts = "Debian LTS Advisory DLA-5-1\nPackage : bar\n\nFor Debian 6 \"Squeeze\", these issues have been fixed in bar version 1.1-1+deb6u1.\n";
        let draft = parsed(lts);
        assert_eq!(draft.fixes[0].ecosystem, "Debian:6.0");
    }

    #[test]
    fn advisory_without_fix_statement_is_malformed() {
        let body = "Debian Security Advisory DSA-9-1\nPackage : foo\n\nThe unstable distribution will be fixed soon.\n";
        assert!(matches!(parse(&message(body)), Verdict::Malformed { .. }));
    }

    #[test]
    fn release_spelling() {
        assert_eq!(osv_release("4.0"), "4.0");
        assert_eq!(osv_release("6"), "6.0");
        assert_eq!(osv_release("11"), "11");
        assert_eq!(osv_release("7.0"), "7");
    }
}
