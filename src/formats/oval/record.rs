//! One OVAL definition's record fields: id and aliases from its identity,
//! dates, severity, references and CPEs from its metadata.

use serde_json::json;

use super::identity::Identity;
use super::xml::Definition;
use super::Dialect;
use crate::model::{Advisory, Affected, Reference, Severity, SeverityKind, Timestamp};

/// `YYYY-MM-DD`, `YYYYMMDD`, `YYYY-MM-DD HH:MM:SS UTC` or RFC 3339 to a timestamp.
pub fn timestamp(text: &str) -> Option<Timestamp> {
    let t = text.trim();
    // RFC 3339 needs at least `YYYY-MM-DDTHH:MM:SSZ`: a shorter text (the
    // plain dates most files write) skips a parse that can only fail.
    if t.len() >= "YYYY-MM-DDTHH:MM:SSZ".len() {
        if let Ok(ts) = t.parse::<Timestamp>() {
            return Some(ts);
        }
    }
    let digits: String = t.chars().filter(|c| c.is_ascii_digit()).collect();
    let (date, time) = if t.len() == 8 && digits.len() == 8 {
        (
            format!("{}-{}-{}", &digits[0..4], &digits[4..6], &digits[6..8]),
            "00:00:00".to_string(),
        )
    } else if t.len() >= 10 {
        let date = &t[..10];
        let time = t
            .get(11..19)
            .filter(|s| s.len() == 8 && s.as_bytes()[2] == b':')
            .unwrap_or("00:00:00");
        (date.to_string(), time.to_string())
    } else {
        return None;
    };
    format!("{date}T{time}Z").parse().ok()
}

/// `7.5/CVSS:3.1/AV:N/...` (score prefix) to the bare vector.
fn strip_score(v: &str) -> &str {
    match v.split_once('/') {
        Some((score, rest)) if score.parse::<f32>().is_ok() => rest,
        _ => v,
    }
}

fn cvss_for(def: &Definition, cve: &str) -> Vec<Severity> {
    let mut out: Vec<Severity> = Vec::new();
    let mut entries: Vec<&super::xml::CveEntry> = def
        .cves
        .iter()
        .filter(|c| c.text.contains(cve) || c.href.contains(cve))
        .collect();
    // The vendor's own assessment before NVD's.
    entries.sort_by_key(|c| c.href.contains("nvd.nist.gov"));
    for c in entries {
        let candidates = [
            (SeverityKind::CvssV3, c.cvss3.as_str()),
            (SeverityKind::CvssV3, c.cvss_vector.as_str()),
            (SeverityKind::CvssV4, c.cvss4.as_str()),
            (SeverityKind::CvssV2, c.cvss2.as_str()),
        ];
        for (kind, raw) in candidates {
            if raw.is_empty() {
                continue;
            }
            let vector = strip_score(raw);
            let kind = if vector.starts_with("CVSS:4") {
                SeverityKind::CvssV4
            } else if vector.starts_with("CVSS:3") {
                SeverityKind::CvssV3
            } else {
                kind
            };
            if !out.iter().any(|s| s.kind == kind) {
                out.push(Severity {
                    kind,
                    score: vector.to_string(),
                });
            }
        }
    }
    out
}

fn reference_kind(source: &str, id: &str) -> &'static str {
    let s = source.to_ascii_uppercase();
    if s.contains("CVE") || id.starts_with("CVE-") {
        "WEB"
    } else {
        "ADVISORY"
    }
}

/// The record of a definition: id and aliases from `ident`, dates,
/// severity, references and CPEs from the metadata, and `affected`.
pub(super) fn record(
    dialect: Dialect,
    def: &Definition,
    ident: Identity,
    affected: Vec<Affected>,
) -> Advisory {
    let Identity {
        id,
        aliases,
        single_cve,
    } = ident;
    let issued = def
        .issued
        .as_deref()
        .or(def.public_date.as_deref())
        .and_then(timestamp);
    let modified = def
        .updated
        .as_deref()
        .and_then(timestamp)
        .or_else(|| issued.clone())
        .or_else(|| def.cves.iter().find_map(|c| timestamp(&c.public)))
        .unwrap_or_else(|| {
            // Deterministic: parsers never read the clock.
            Timestamp::from_instant(time::OffsetDateTime::UNIX_EPOCH)
        });
    let mut severity = single_cve
        .as_deref()
        .map(|c| cvss_for(def, c))
        .unwrap_or_default();
    let vendor = def
        .severity
        .as_deref()
        .map(|s| s.trim().to_ascii_lowercase())
        .filter(|s| !s.is_empty());
    if dialect == Dialect::Ubuntu {
        if let Some(p) = &vendor {
            severity.push(Severity {
                kind: SeverityKind::Ubuntu,
                score: p.clone(),
            });
        }
    }
    let mut references: Vec<Reference> = Vec::new();
    let mut add_ref = |kind: &str, url: &str| {
        let url = url.trim();
        if (url.starts_with("http://") || url.starts_with("https://"))
            && !references.iter().any(|r| r.url == url)
        {
            references.push(Reference {
                kind: kind.to_string(),
                url: url.to_string(),
            });
        }
    };
    for r in &def.references {
        add_ref(reference_kind(&r.source, &r.ref_id), &r.ref_url);
    }
    for c in &def.cves {
        add_ref("WEB", &c.href);
    }
    for (kind, url) in &def.links {
        add_ref(kind, url);
    }
    let mut adv = Advisory {
        schema_version: Some("1.7.0".into()),
        published: issued,
        aliases,
        summary: (!def.title.is_empty()).then(|| def.title.clone()),
        details: (!def.description.is_empty()).then(|| def.description.clone()),
        severity,
        affected,
        references,
        ..Advisory::new(id, modified)
    };
    if !def.cpes.is_empty() {
        adv.database_specific
            .other
            .insert("cpes".into(), json!(def.cpes));
    }
    adv.meta_mut().vendor_severity = vendor;
    adv
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(
            timestamp("2021-06-28").unwrap().as_str(),
            "2021-06-28T00:00:00Z"
        );
        assert_eq!(
            timestamp("2023-12-18 15:00:00 UTC").unwrap().as_str(),
            "2023-12-18T15:00:00Z"
        );
        assert_eq!(
            timestamp("20050804").unwrap().as_str(),
            "2005-08-04T00:00:00Z"
        );
        assert!(timestamp("soon").is_none());
    }

    #[test]
    fn cvss_prefix() {
        assert_eq!(strip_score("7.5/CVSS:3.1/AV:N"), "CVSS:3.1/AV:N");
        assert_eq!(strip_score("CVSS:3.1/AV:N"), "CVSS:3.1/AV:N");
    }
}
