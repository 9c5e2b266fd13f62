//! Ubuntu Security Notices (USN), all eras.
//!
//! - 2006 onwards: per-release sections `Ubuntu 20.04 LTS:` followed by
//!   indented `binary-package  version` rows.
//! - 2004-2011: `Updated packages for Ubuntu X (Codename):` sections whose
//!   `Source archives:` list `.dsc` pool URLs naming the source package and
//!   version; the 2004-2006 notices put versions in prose ("upgrading the
//!   affected package to version X (for Ubuntu 4.10)").
//! - follow-ups (`USN-N-2`) quote the original; the original id is `related`.
//!
//! Binary rows are mapped to their source package (the `.dsc` of the same
//! release or a `launchpad.net/ubuntu/+source/<src>/<version>` link with the
//! same version); a row no source matches keeps its binary name. Livepatch
//! notices (LSN) are recognized and skipped: they carry no package versions.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use regex::Regex;
use serde_json::json;

use super::text::{collapse, cve_ids, section};
use super::{Draft, Fix, MailMessage, Verdict};

static ID: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"Ubuntu Security Notice (USN-\d+-\d+)").expect("constant regex"));
static SUBJECT_ID: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\[(USN-\d+(?:-\d+)?)\]").expect("constant regex"));
static LSN: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?-u:\b)LSN-\d+-\d+(?-u:\b)").expect("constant regex"));
static SECTION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^Ubuntu (\d+\.\d+)(?: (LTS|ESM))?(?: \([^)]*\))?:\s*$").expect("constant regex")
});
static UPDATED_FOR: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^Updated packages for Ubuntu (\d+\.\d+)(?: (LTS|ESM))?").expect("constant regex")
});
static RELEASE_LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:[-*] +)?Ubuntu (\d+\.\d+)(?: (LTS|ESM))?(?: \([^)]*\))?\s*$")
        .expect("constant regex")
});
static DSC: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"/pool/[^/\s]+/[^/\s]+/([^/\s]+)/([^/_\s]+)_([^/_\s]+)\.dsc(?-u:\b)")
        .expect("constant regex")
});
static LAUNCHPAD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"launchpad\.net/ubuntu/\+source/([^/\s]+)/([^/\s]+)").expect("constant regex")
});
static PROSE_VERSION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"([0-9][^\s(),]*) \((?:for )?([^()]{1,60})\)").expect("constant regex")
});
static USN_REF: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?-u:\b)USN-\d+-\d+(?-u:\b)").expect("constant regex"));

/// An Ubuntu release as the notice names it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Release {
    number: String,
    esm: bool,
}

impl Release {
    fn new(number: &str, qualifier: Option<&str>) -> Self {
        Release {
            number: number.to_string(),
            esm: qualifier == Some("ESM"),
        }
    }

    /// `Ubuntu:20.04:LTS`, `Ubuntu:20.10`, `Ubuntu:Pro:14.04:LTS` (ESM).
    /// LTS is decided by the number (even year, April, from 6.06 on), since
    /// old notices drop the suffix in places.
    fn ecosystem(&self) -> String {
        match (self.esm, crate::model::release::ubuntu_is_lts(&self.number)) {
            (true, _) => format!("Ubuntu:Pro:{}:LTS", self.number),
            (false, true) => format!("Ubuntu:{}:LTS", self.number),
            (false, false) => format!("Ubuntu:{}", self.number),
        }
    }
}

/// Drops a Debian epoch (`1:`): pool file names never carry it.
fn without_epoch(version: &str) -> &str {
    match version.split_once(':') {
        Some((epoch, rest)) if epoch.bytes().all(|b| b.is_ascii_digit()) => rest,
        _ => version,
    }
}

/// Reads a USN; recognizes and skips an LSN; anything else is NotMine.
pub(crate) fn parse(message: &MailMessage) -> Verdict {
    let body = &message.body;
    let subject = message.subject.as_deref().unwrap_or_default();
    let id = ID
        .captures(body)
        .map(|c| c[1].to_string())
        .or_else(|| SUBJECT_ID.captures(subject).map(|c| c[1].to_string()));
    let Some(id) = id else {
        if subject.contains("[LSN-")
            || body.contains("Livepatch Security Notice")
            || (LSN.is_match(subject) && body.contains("Ubuntu"))
        {
            return Verdict::Skip("Livepatch notice (LSN): no package versions".into());
        }
        return Verdict::NotMine;
    };
    // `USN-1946` (no suffix, 2013) is `USN-1946-1` in the notice's own
    // reference URL; the published spelling stays the upstream id.
    let published_id = id.clone();
    let id = if id.matches('-').count() == 1 {
        let suffixed = Regex::new(&format!(
            r"(?i)(?-u:\b){}-(\d+)(?-u:\b)",
            regex::escape(&id)
        ))
        .ok()
        .and_then(|re| re.captures(body).map(|c| format!("{id}-{}", &c[1])));
        suffixed.unwrap_or(id)
    } else {
        id
    };
    let lines: Vec<&str> = body.lines().collect();

    // Releases the notice lists as affected.
    let mut listed: Vec<Release> = Vec::new();
    if let Some(start) = lines
        .iter()
        .position(|l| l.contains("affects") && l.contains("Ubuntu"))
    {
        for line in lines[start + 1..]
            .iter()
            .skip_while(|l| l.trim().is_empty())
        {
            match RELEASE_LINE.captures(line.trim()) {
                Some(c) => listed.push(Release::new(&c[1], c.get(2).map(|m| m.as_str()))),
                None => break,
            }
        }
    }

    // Per-release binary rows: `Ubuntu 20.04 LTS:` + indented rows.
    let mut rows: Vec<(Release, Vec<(String, String)>)> = Vec::new();
    let mut pro_rows: Vec<(String, String)> = Vec::new();
    let mut first_row_line = None;
    let mut index = 0;
    while index < lines.len() {
        let section = lines[index]
            .starts_with("Ubuntu ")
            .then(|| SECTION.captures(lines[index].trim_end()))
            .flatten();
        let Some(c) = section else {
            index += 1;
            continue;
        };
        let release = Release::new(&c[1], c.get(2).map(|m| m.as_str()));
        index += 1;
        // 2006 notices put a blank line under the header and a colon
        // after the package name (`  flex:\t\t2.5.31-26ubuntu1.2`).
        while index < lines.len() && lines[index].trim().is_empty() {
            index += 1;
        }
        while index < lines.len() {
            let line = lines[index];
            if line.trim().is_empty() || !line.starts_with([' ', '\t']) {
                break;
            }
            if line.contains("Ubuntu Pro") {
                // 2023+: `Available with Ubuntu Pro` under an ESM-only row.
                if let Some((_, section)) = rows.last() {
                    if let Some(row) = section.last() {
                        pro_rows.push(row.clone());
                    }
                }
                index += 1;
                continue;
            }
            let tokens: Vec<&str> = line.split_whitespace().collect();
            if tokens.len() >= 2 && tokens[1].bytes().any(|b| b.is_ascii_digit()) {
                first_row_line.get_or_insert(index);
                if rows.last().is_none_or(|(r, _)| *r != release) {
                    rows.push((release.clone(), Vec::new()));
                }
                let Some((_, section)) = rows.last_mut() else {
                    break;
                };
                section.push((
                    tokens[0].trim_end_matches(':').to_string(),
                    tokens[1].to_string(),
                ));
            }
            index += 1;
        }
    }

    correct_mislabelled_sections(&mut rows);

    // Source packages from `.dsc` pool URLs, per release section.
    let mut sources: BTreeMap<Release, Vec<(String, String)>> = BTreeMap::new();
    let mut current: Option<Release> = (listed.len() == 1).then(|| listed[0].clone());
    for line in &lines {
        if line.contains("Updated packages for") {
            let Some(c) = UPDATED_FOR.captures(line.trim_start()) else {
                continue;
            };
            current = Some(Release::new(&c[1], c.get(2).map(|m| m.as_str())));
            continue;
        }
        if !line.contains(".dsc") {
            continue;
        }
        if let (Some(release), Some(c)) = (&current, DSC.captures(line)) {
            let entry = sources.entry(release.clone()).or_default();
            let pair = (c[2].to_string(), c[3].to_string());
            if !entry.contains(&pair) {
                entry.push(pair);
            }
        }
    }
    let launchpad: Vec<(String, String)> = LAUNCHPAD
        .captures_iter(body)
        .map(|c| {
            (
                c[1].to_string(),
                c[2].trim_end_matches(['.', ',']).to_string(),
            )
        })
        .collect();

    let details = section(
        &lines,
        &["Details:", "Details follow:", "Details"],
        &[
            "Update instructions:",
            "Updated packages for",
            "Source archives:",
            "References:",
            "Original advisory details:",
        ],
    );
    let mut draft = Draft {
        id: id.clone(),
        details,
        upstream_id: (published_id != id).then_some(published_id),
        summary: {
            let rest = SUBJECT_ID.replace(subject, "").trim().to_string();
            (!rest.is_empty()).then_some(rest)
        },
        ..Draft::default()
    };
    draft.add_reference(
        "ADVISORY",
        &format!("https://ubuntu.com/security/notices/{id}"),
    );

    // Rows first: they carry epochs; sources name them.
    for (release, release_rows) in &rows {
        let release_sources = sources.get(release).map(Vec::as_slice).unwrap_or_default();
        let mut grouped: Vec<(String, String, Vec<String>, bool, bool)> = Vec::new();
        let mut used_sources: Vec<&str> = Vec::new();
        for (binary, version) in release_rows {
            // Fixes only available through Ubuntu Pro (ESM) belong to the
            // Pro ecosystem, as OSV files them.
            let pro = release.esm
                || version.contains("esm")
                || pro_rows.iter().any(|(b, v)| b == binary && v == version);
            let mut candidates: Vec<&str> = release_sources
                .iter()
                .filter(|(_, v)| v == without_epoch(version))
                .map(|(s, _)| s.as_str())
                .collect();
            if candidates.is_empty() {
                candidates = launchpad
                    .iter()
                    .filter(|(_, v)| v == version || without_epoch(v) == without_epoch(version))
                    .map(|(s, _)| s.as_str())
                    .collect();
            }
            candidates.sort_unstable();
            candidates.dedup();
            let (name, is_source) = match candidates.as_slice() {
                [one] => {
                    used_sources.push(one);
                    (one.to_string(), true)
                }
                _ => (binary.clone(), false),
            };
            match grouped
                .iter_mut()
                .find(|(n, v, _, _, p)| *n == name && v == version && *p == pro)
            {
                Some((_, _, binaries, _, _)) => binaries.push(binary.clone()),
                None => grouped.push((name, version.clone(), vec![binary.clone()], is_source, pro)),
            }
        }
        for (name, version, binaries, is_source, pro) in grouped {
            let ecosystem = Release {
                number: release.number.clone(),
                esm: pro,
            }
            .ecosystem();
            let purl = if is_source {
                format!("pkg:deb/ubuntu/{name}?arch=source")
            } else {
                format!("pkg:deb/ubuntu/{name}")
            };
            draft.add_fix(Fix {
                ecosystem,
                name,
                fixed: Some(version),
                purl: Some(purl),
                ecosystem_specific: Some(json!({ "binaries": binaries })),
            });
        }
        // Sources the rows did not name (rebuilt packages whose binaries
        // carry other versions) are fixed too.
        for (source, version) in release_sources {
            if !used_sources.contains(&source.as_str()) {
                draft.add_fix(Fix {
                    ecosystem: release.ecosystem(),
                    name: source.clone(),
                    fixed: Some(version.clone()),
                    purl: Some(format!("pkg:deb/ubuntu/{source}?arch=source")),
                    ecosystem_specific: None,
                });
            }
        }
    }

    // Releases without rows: the `.dsc` sources, with the prose version
    // (which keeps the epoch) where it matches.
    let prose = if body.contains("corrected by upgrading") {
        prose_versions(&collapse(body))
    } else {
        Vec::new()
    };
    for (release, release_sources) in &sources {
        if rows.iter().any(|(r, _)| r == release) {
            continue;
        }
        for (source, version) in release_sources {
            let fixed = prose
                .iter()
                .map(|(v, _)| v)
                .find(|v| without_epoch(v) == version)
                .cloned()
                .unwrap_or_else(|| version.clone());
            draft.add_fix(Fix {
                ecosystem: release.ecosystem(),
                name: source.clone(),
                fixed: Some(fixed),
                purl: Some(format!("pkg:deb/ubuntu/{source}?arch=source")),
                ecosystem_specific: None,
            });
        }
    }

    // CVEs: header block and References section; the body as a fallback.
    let header_end = lines
        .iter()
        .enumerate()
        .filter(|(_, l)| l.starts_with("====="))
        .nth(1)
        .map_or(0, |(i, _)| i);
    let references_start = lines.iter().position(|l| l.trim_end() == "References:");
    let mut aliases = cve_ids(&lines[..header_end].join("\n"));
    if let Some(start) = references_start {
        let end = lines[start + 1..]
            .iter()
            .position(|l| !l.is_empty() && !l.starts_with([' ', '\t']))
            .map_or(lines.len(), |i| start + 1 + i);
        for cve in cve_ids(&lines[start..end].join("\n")) {
            if !aliases.contains(&cve) {
                aliases.push(cve);
            }
        }
    }
    if aliases.is_empty() {
        aliases = cve_ids(body);
    }
    draft.aliases = aliases;
    for reference in USN_REF.find_iter(body) {
        let other = reference.as_str().to_string();
        if other != id && !draft.related.contains(&other) {
            draft.related.push(other);
        }
    }

    if draft.fixes.is_empty() {
        let line = lines
            .iter()
            .position(|l| l.starts_with("Update instructions") || l.contains("can be corrected"))
            .or(first_row_line)
            .unwrap_or(0);
        return Verdict::malformed(id, line, "no package versions for any Ubuntu release");
    }
    Verdict::Parsed(Box::new(draft))
}

static RELEASE_MARKER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:ubuntu\d*\.|~)(\d{1,2}\.\d{2})\.\d+").expect("constant regex")
});

/// A section header can be mistyped (USN-4926-1 has `Ubuntu 20.04:` above
/// `0ubuntu0.21.04.1` and a separate `Ubuntu 20.04 LTS:`). When a release
/// heads two sections and every version in one of them carries the same
/// other release marker (`ubuntu0.21.04.1`, `~14.04.1`), that section is
/// relabelled with the marker's release.
fn correct_mislabelled_sections(rows: &mut [(Release, Vec<(String, String)>)]) {
    let numbers: Vec<String> = rows.iter().map(|(r, _)| r.number.clone()).collect();
    for (release, section) in rows.iter_mut() {
        if numbers.iter().filter(|n| **n == release.number).count() < 2 {
            continue;
        }
        let markers: Vec<&str> = section
            .iter()
            .filter_map(|(_, v)| RELEASE_MARKER.captures(v).and_then(|c| c.get(1)))
            .map(|m| m.as_str())
            .collect();
        if markers.len() == section.len()
            && markers.windows(2).all(|w| w[0] == w[1])
            && markers.first().is_some_and(|m| *m != release.number)
        {
            release.number = markers[0].to_string();
        }
    }
}

/// `version (for Ubuntu 4.10)` / `version (package)` pairs in the
/// "can be corrected by upgrading" sentence of early notices.
fn prose_versions(collapsed: &str) -> Vec<(String, String)> {
    let Some(start) = collapsed.find("corrected by upgrading") else {
        return Vec::new();
    };
    let rest = &collapsed[start..];
    let end = rest.find("In general").unwrap_or_else(|| {
        let mut end = rest.len().min(600);
        while !rest.is_char_boundary(end) {
            end -= 1;
        }
        end
    });
    PROSE_VERSION
        .captures_iter(&rest[..end])
        .map(|c| (c[1].trim_end_matches('.').to_string(), c[2].to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(body: &str) -> Draft {
        let message = MailMessage {
            body: body.to_string(),
            subject: Some("[USN-1-1] foo vulnerability".into()),
            ..MailMessage::default()
        };
        match parse(&message) {
            Verdict::Parsed(d) => *d,
            _ => panic!("not parsed"),
        }
    }

    #[test]
    fn modern_rows_map_to_sources() {
        let body = "Ubuntu Security Notice USN-1-1\n\nUbuntu 20.04 LTS:\n  libfoo1   1:2.0-1ubuntu0.1\n  foo-bin   1:2.0-1ubuntu0.1\n\nUbuntu 14.04 ESM:\n  foo   1.0-1ubuntu0.1~esm1\n\nReferences:\n  https://ubuntu.com/security/notices/USN-1-1\n  CVE-2021-1000\n\nPackage Information:\n  https://launchpad.net/ubuntu/+source/foo/1:2.0-1ubuntu0.1\n";
        let draft = parsed(body);
        assert_eq!(draft.aliases, ["CVE-2021-1000"]);
        let fixes: Vec<(&str, &str, &str)> = draft
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
                ("Ubuntu:20.04:LTS", "foo", "1:2.0-1ubuntu0.1"),
                ("Ubuntu:Pro:14.04:LTS", "foo", "1.0-1ubuntu0.1~esm1"),
            ]
        );
    }

    #[test]
    fn ubuntu_pro_rows() {
        let body = "Ubuntu Security Notice USN-2-1\n\nUbuntu 22.04 LTS:\n  foo   1.0-1ubuntu0.2\n\nUbuntu 16.04 LTS:\n  foo   0.9-1ubuntu0.1+esm1\n                                  Available with Ubuntu Pro\n  libbar1   2.0-1ubuntu0.16.04.1~esm2\n";
        let draft = parsed(body);
        let ecosystems: Vec<&str> = draft.fixes.iter().map(|f| f.ecosystem.as_str()).collect();
        assert_eq!(
            ecosystems,
            [
                "Ubuntu:22.04:LTS",
                "Ubuntu:Pro:16.04:LTS",
                "Ubuntu:Pro:16.04:LTS"
            ]
        );
    }

    #[test]
    fn lsn_is_skipped() {
        let message = MailMessage {
            subject: Some("[LSN-0075-1] Linux kernel vulnerability".into()),
            body: "Linux kernel vulnerabilities\n".into(),
            ..MailMessage::default()
        };
        assert!(matches!(parse(&message), Verdict::Skip(_)));
    }

    #[test]
    fn lts_is_decided_by_number() {
        assert_eq!(Release::new("6.06", None).ecosystem(), "Ubuntu:6.06:LTS");
        assert_eq!(Release::new("5.10", None).ecosystem(), "Ubuntu:5.10");
        assert_eq!(Release::new("9.04", None).ecosystem(), "Ubuntu:9.04");
        assert_eq!(
            Release::new("22.04", Some("LTS")).ecosystem(),
            "Ubuntu:22.04:LTS"
        );
    }
}
