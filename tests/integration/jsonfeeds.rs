//! Alpine secdb, Debian security tracker and CSAF/VEX normalizers on real
//! upstream files: golden facts, range facts through the query path, and
//! malformed input reported per record.

use std::path::Path;

use advisord::formats::Format;
use advisord::model::{Advisory, Affected, Event, RangeKind};
use advisord::query::{match_rows, AskedVersion, PackageQuery, QueryMatch};
use advisord::store::{index_entries, IndexedMatch, Store};
use advisord::version::VersionScheme;
use serde_json::json;

use crate::common::{assert_golden, assert_schema_valid, facts, parse_path, shared};

/// Parses `relative` (under `shared/`) with `format`; `None` when absent.
fn parse_shared(format: Format, relative: &str) -> Option<(Vec<Advisory>, Vec<String>)> {
    let path = shared(relative)?;
    let (records, report) = parse_path(format, "test", &path);
    let errors = report.errors.iter().map(|e| e.to_string()).collect();
    Some((records, errors))
}

fn record<'a>(records: &'a [Advisory], id: &str) -> &'a Advisory {
    records
        .iter()
        .find(|r| r.id.as_str() == id)
        .unwrap_or_else(|| panic!("no record {id}"))
}

fn entry<'a>(record: &'a Advisory, ecosystem: &str, name: &str) -> &'a Affected {
    record
        .affected
        .iter()
        .find(|a| {
            a.package
                .as_ref()
                .is_some_and(|p| p.ecosystem.as_str() == ecosystem && p.name == name)
        })
        .unwrap_or_else(|| panic!("{}: no entry {ecosystem} {name}", record.id))
}

fn status(affected: &Affected) -> &str {
    affected.database_specific.other["status"]
        .as_str()
        .unwrap_or("")
}

/// What the query path answers for `version` of (`ecosystem`, `name`) given
/// these records, exactly as the store's package index would (no store).
fn query(records: &[Advisory], ecosystem: &str, name: &str, version: &str) -> Vec<QueryMatch> {
    let mut rows = Vec::new();
    for record in records {
        for ((_, index_name, full), specs) in index_entries(record) {
            if full == ecosystem && index_name == name {
                rows.push(IndexedMatch {
                    ecosystem: full,
                    id: record.id.to_string(),
                    modified: record.modified.to_string(),
                    specs,
                });
            }
        }
    }
    match_rows(Some(AskedVersion::Readable(version)), &rows, &[]).expect("packed rows")
}

fn intro(v: &str) -> Event {
    Event::Introduced(v.into())
}
fn fixed(v: &str) -> Event {
    Event::Fixed(v.into())
}

/// Whether the comparator of `scheme` has landed (it is written on another branch).
fn has_comparator(scheme: VersionScheme, sample: &str) -> bool {
    scheme.validate(sample).is_ok()
}

// ---------------------------------------------------------------------------
// Alpine secdb
// ---------------------------------------------------------------------------

#[test]
fn alpine_golden_facts() {
    let cases = [
        (
            "jsonfeeds/alpine-edge-main",
            "data/alpine-secdb/json/edge-main.excerpt.json",
        ),
        (
            "jsonfeeds/alpine-v3.4-community",
            "data/alpine-secdb/yaml/v3.4-community.yaml",
        ),
        (
            "jsonfeeds/wolfi-secdb",
            "data/alpine-secdb/apk-derivatives/wolfi-secdb.security.json",
        ),
    ];
    for (golden, input) in cases {
        let Some((records, errors)) = parse_shared(Format::AlpineSecdb, input) else {
            return;
        };
        assert!(errors.is_empty(), "{input}: {errors:?}");
        assert_schema_valid(&records);
        assert_golden(golden, &facts(&records));
    }
}

#[test]
fn alpine_every_release_parses_and_yaml_equals_json() {
    let mut total = 0;
    for release in [
        "3.3", "3.4", "3.5", "3.6", "3.7", "3.8", "3.9", "3.10", "3.11",
    ] {
        for repo in ["main", "community"] {
            let input = format!("data/alpine-secdb/yaml/v{release}-{repo}.yaml");
            let Some((records, errors)) = parse_shared(Format::AlpineSecdb, &input) else {
                return;
            };
            assert!(errors.is_empty(), "{input}: {errors:?}");
            let ecosystem = format!("Alpine:v{release}");
            for r in &records {
                assert!(r.id.as_str().starts_with("ALPINE-"), "{}", r.id);
                for a in &r.affected {
                    assert_eq!(a.package.as_ref().unwrap().ecosystem.as_str(), ecosystem);
                }
            }
            total += records.len();
        }
    }
    // 18 files, about 11,000 (CVE, release) records.
    assert!(total > 10_000, "{total}");

    // The collector's JSON conversion of the same YAML gives the same facts.
    for name in ["v3.10-main", "v3.11-community"] {
        let Some((yaml, _)) = parse_shared(
            Format::AlpineSecdb,
            &format!("data/alpine-secdb/yaml/{name}.yaml"),
        ) else {
            return;
        };
        let Some((json, _)) = parse_shared(
            Format::AlpineSecdb,
            &format!("data/alpine-secdb/json/{name}.DERIVED-from-yaml.json"),
        ) else {
            return;
        };
        assert_eq!(facts(&yaml), facts(&json), "{name}");
    }
}

#[test]
fn alpine_secfix_boundaries() {
    let Some((records, _)) = parse_shared(
        Format::AlpineSecdb,
        "data/alpine-secdb/yaml/v3.10-main.yaml",
    ) else {
        return;
    };
    // v3.10/main rsync: `3.1.2-r7: [CVE-2017-16548, CVE-2017-17433, CVE-2017-17434-1, ...]`.
    let r = record(&records, "ALPINE-CVE-2017-16548");
    assert_eq!(r.upstream[0].as_str(), "CVE-2017-16548");
    let rsync = entry(r, "Alpine:v3.10", "rsync");
    assert_eq!(rsync.ranges.len(), 1);
    assert_eq!(rsync.ranges[0].kind, RangeKind::Ecosystem);
    assert_eq!(rsync.ranges[0].events, [intro("0"), fixed("3.1.2-r7")]);
    assert_eq!(
        rsync.package.as_ref().unwrap().purl.as_deref(),
        Some("pkg:apk/alpine/rsync?arch=source")
    );
    // `CVE-2017-17434-1` is part 1 of CVE-2017-17434.
    let parts = record(&records, "ALPINE-CVE-2017-17434");
    assert_eq!(
        entry(parts, "Alpine:v3.10", "rsync")
            .database_specific
            .other["upstream_spelling"],
        json!(["CVE-2017-17434-1", "CVE-2017-17434-2"])
    );

    let below = query(&records, "Alpine:v3.10", "rsync", "3.1.2-r6");
    let at = query(&records, "Alpine:v3.10", "rsync", "3.1.2-r7");
    let has = |m: &[QueryMatch]| m.iter().any(|m| m.id == "ALPINE-CVE-2017-16548");
    if has_comparator(VersionScheme::Apk, "3.1.2-r7") {
        assert!(has(&below), "one revision below the secfix is affected");
        assert!(below.iter().all(|m| m.unevaluated.is_none()));
        assert!(!has(&at), "the secfix version is not affected");
    } else {
        // The apk comparator is not on this branch yet: the range is
        // reported as unevaluable ("possibly affected"), never dropped.
        eprintln!("apk comparator missing: range facts asserted, evaluation pending");
        assert!(has(&below) && below.iter().all(|m| m.unevaluated.is_some()));
        assert!(has(&at));
    }
}

/// A version just below `version` in apk order: one revision less, else a
/// pre-release of it (`1.2-r0` -> `1.2_alpha`).
fn apk_just_below(version: &str) -> String {
    let below = match version.rsplit_once("-r") {
        Some((base, rev)) => match rev.parse::<u64>() {
            Ok(n) if n > 0 => format!("{base}-r{}", n - 1),
            _ => format!("{base}_alpha"),
        },
        None => format!("{version}_alpha"),
    };
    assert_eq!(
        advisord::version::apk::apk_compare(below.as_bytes(), version.as_bytes()),
        std::cmp::Ordering::Less,
        "{below} < {version}"
    );
    below
}

/// Issue: v3.11 `lame` lists CVE-2015-9099 under both `3.99.5-r6` and
/// `3.100-r0`; two ranges kept `3.99.5-r6` affected. Every fixed row of the
/// v3.9-v3.11 secdb files (as vunnel reads them: package, version, id) is
/// not affected at its version, and the lowest fix of each id and package
/// is affected just below it.
#[test]
fn alpine_lowest_listed_fix_wins_on_every_secdb_row() {
    use std::collections::BTreeMap;
    // An entry led by a CVE id (`CVE-2017-17434-1` is part 1 of it); not
    // `CVE-2019-19451.patch` or `XSA-295`.
    let cve = regex::Regex::new(r"^(?i:cve)-(\d{4})-(\d+)(?:-\d+)?(?:\s|$)").unwrap();
    let (mut rows_checked, mut refixes) = (0, 0);
    use advisord::version::SchemeVersion;
    for release in ["v3.9", "v3.10", "v3.11"] {
        for repo in ["main", "community"] {
            let relative = format!("data/alpine-secdb/yaml/{release}-{repo}.yaml");
            let Some(path) = shared(&relative) else {
                return;
            };
            let (records, report) = parse_path(Format::AlpineSecdb, "alpine", &path);
            assert!(report.errors.is_empty(), "{relative}: {:?}", report.errors);
            let yaml: serde_norway::Value =
                serde_norway::from_slice(&std::fs::read(&path).unwrap()).unwrap();
            // (id, package) -> every version listing it.
            let mut rows: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
            for item in yaml["packages"].as_sequence().unwrap() {
                let name = item["pkg"]["name"].as_str().unwrap();
                let Some(secfixes) = item["pkg"]["secfixes"].as_mapping() else {
                    continue;
                };
                for (version, ids) in secfixes {
                    let version = match version {
                        serde_norway::Value::String(v) => v.clone(),
                        other => serde_norway::to_string(other).unwrap().trim().to_string(),
                    };
                    if version == "0" {
                        continue;
                    }
                    for id in ids.as_sequence().into_iter().flatten() {
                        let Some(c) = id.as_str().and_then(|t| cve.captures(t.trim())) else {
                            continue;
                        };
                        let id = format!("ALPINE-CVE-{}-{}", &c[1], &c[2]);
                        rows.entry((id, name.to_string()))
                            .or_default()
                            .push(version.clone());
                    }
                }
            }
            let ecosystem = format!("Alpine:{release}");
            // The package index of the file, as the store builds it.
            let mut index: BTreeMap<String, Vec<IndexedMatch>> = BTreeMap::new();
            for record in &records {
                for ((_, name, full), specs) in index_entries(record) {
                    if full == ecosystem {
                        index.entry(name).or_default().push(IndexedMatch {
                            ecosystem: full,
                            id: record.id.to_string(),
                            modified: record.modified.to_string(),
                            specs,
                        });
                    }
                }
            }
            for ((id, name), mut versions) in rows {
                versions.sort_by(|a, b| {
                    advisord::version::apk::apk_compare(a.as_bytes(), b.as_bytes())
                });
                versions.dedup();
                let rows = index.get(&name).cloned().unwrap_or_default();
                let has = |version: &str| {
                    match_rows(Some(AskedVersion::Readable(version)), &rows, &[])
                        .expect("packed rows")
                        .iter()
                        .any(|m| m.id == id && m.unevaluated.is_none())
                };
                for version in &versions {
                    rows_checked += 1;
                    assert!(
                        !has(version),
                        "{relative}: {name} {version} is fixed for {id}"
                    );
                }
                let lowest = &versions[0];
                // A fix version apk itself cannot read (`4.10-1-r1`) orders
                // nothing below it.
                if advisord::version::apk::ApkVersion::parse(lowest).is_ok_and(|v| v.is_valid()) {
                    assert!(
                        has(&apk_just_below(lowest)),
                        "{relative}: {name} below {lowest} is affected by {id}"
                    );
                }
                refixes += versions.len() - 1;
            }
        }
    }
    eprintln!("{rows_checked} secfix rows checked, {refixes} of them later re-fixes");
    assert!(
        rows_checked > 1000 && refixes >= 53,
        "{rows_checked} {refixes}"
    );
}

#[test]
fn alpine_never_affected_key_is_data_that_never_matches() {
    let Some((records, errors)) = parse_shared(
        Format::AlpineSecdb,
        "data/alpine-secdb/apk-derivatives/wolfi-secdb.security.json",
    ) else {
        return;
    };
    assert!(errors.is_empty(), "{errors:?}");
    // wolfi `coreutils: secfixes: {"0": [CVE-2016-2781]}`.
    let r = record(&records, "WOLFI-CVE-2016-2781");
    let coreutils = entry(r, "Wolfi", "coreutils");
    assert!(coreutils.ranges.is_empty() && coreutils.versions.is_empty());
    assert_eq!(status(coreutils), "not_affected");
    for version in ["0", "9.1-r0", "99-r99"] {
        assert!(query(&records, "Wolfi", "coreutils", version).is_empty());
    }
    // apko `"0": [CVE-2023-45283, CVE-2023-45284, GHSA-jq35-85cj-fj4p]`.
    let ghsa = record(&records, "WOLFI-GHSA-jq35-85cj-fj4p");
    assert_eq!(status(entry(ghsa, "Wolfi", "apko")), "not_affected");
}

// ---------------------------------------------------------------------------
// Debian security tracker
// ---------------------------------------------------------------------------

#[test]
fn debian_golden_facts() {
    let cases = [
        (
            "jsonfeeds/debian-tracker-osvdev-mock",
            "data/debian-tracker/json/osvdev-debian_security_tracker_mock.json",
        ),
        (
            "jsonfeeds/debian-tracker-vunnel",
            "data/debian-tracker/json/vunnel-debian.json",
        ),
        (
            "jsonfeeds/debian-dsa-list-vunnel",
            "data/debian-tracker/list/vunnel-DSA.list",
        ),
        (
            "jsonfeeds/debian-dsa-list-vdu",
            "data/debian-tracker/list/vdu-DSA-list",
        ),
        (
            "jsonfeeds/debian-dtsa-list-vdu",
            "data/debian-tracker/list/vdu-DTSA-list",
        ),
    ];
    for (golden, input) in cases {
        let Some((records, errors)) = parse_shared(Format::DebianTracker, input) else {
            return;
        };
        assert!(errors.is_empty(), "{input}: {errors:?}");
        assert_schema_valid(&records);
        assert_golden(golden, &facts(&records));
    }
}

#[test]
fn debian_tracker_statuses() {
    let Some((records, _)) = parse_shared(
        Format::DebianTracker,
        "data/debian-tracker/json/osvdev-debian_security_tracker_mock.json",
    ) else {
        return;
    };
    // apparmor CVE-2016-1585: bookworm `open` (urgency unimportant), sid resolved 3.0.12-1.
    let r = record(&records, "DEBIAN-CVE-2016-1585");
    assert_eq!(r.aliases[0].as_str(), "CVE-2016-1585");
    let open = entry(r, "Debian:12", "apparmor");
    assert_eq!(open.ranges.len(), 1);
    assert_eq!(
        open.ranges[0].events,
        [intro("0")],
        "open = introduced only"
    );
    assert_eq!(status(open), "open");
    assert_eq!(
        entry(r, "Debian:unstable", "apparmor").ranges[0].events,
        [intro("0"), fixed("3.0.12-1")]
    );
    let open_matches = query(&records, "Debian:12", "apparmor", "3.0.8-3");
    assert!(open_matches.iter().any(|m| m.id == "DEBIAN-CVE-2016-1585"));
    if has_comparator(VersionScheme::Deb, "1:2.0-1") {
        for version in ["0.1-1", "3.0.8-3", "99:99-99"] {
            let m = query(&records, "Debian:12", "apparmor", version);
            assert!(
                m.iter()
                    .any(|m| m.id == "DEBIAN-CVE-2016-1585" && m.unevaluated.is_none()),
                "an open issue matches every version ({version})"
            );
        }
    } else {
        eprintln!("deb comparator missing: open-range facts asserted, evaluation pending");
    }

    // CVE-2014-1424: `fixed_version: "0"` everywhere = not affected, never matches.
    let na = record(&records, "DEBIAN-CVE-2014-1424");
    let bookworm = entry(na, "Debian:12", "apparmor");
    assert!(bookworm.ranges.is_empty() && bookworm.versions.is_empty());
    assert_eq!(status(bookworm), "not_affected");
    assert!(!query(&records, "Debian:12", "apparmor", "3.0.8-3")
        .iter()
        .any(|m| m.id == "DEBIAN-CVE-2014-1424"));
}

#[test]
fn debian_urgency_markers() {
    let Some((records, _)) = parse_shared(
        Format::DebianTracker,
        "data/debian-tracker/json/vunnel-debian.json",
    ) else {
        return;
    };
    // prototypejs CVE-2008-7220: `urgency: "high**"` in every release.
    let r = record(&records, "DEBIAN-CVE-2008-7220");
    let meta = r.database_specific.advisord.as_ref().unwrap();
    assert_eq!(meta.vendor_severity.as_deref(), Some("high"));
    let stretch = entry(r, "Debian:9", "prototypejs");
    assert_eq!(stretch.database_specific.other["urgency"], json!("high**"));
    assert_eq!(stretch.ranges[0].events, [intro("0"), fixed("1.6.0.2-1")]);
    // `releases: []` (chromium-browser CVE-2022-0358) says nothing: no record.
    assert!(!records
        .iter()
        .any(|r| r.id.as_str() == "DEBIAN-CVE-2022-0358"
            && r.affected
                .iter()
                .any(|a| a.package.as_ref().unwrap().name == "chromium-browser")));
}

#[test]
fn debian_dsa_list_aliases() {
    let Some((records, errors)) = parse_shared(
        Format::DebianTracker,
        "data/debian-tracker/list/vdu-DSA-list",
    ) else {
        return;
    };
    assert!(errors.is_empty());
    let dsa = record(&records, "DSA-5546-1");
    assert_eq!(dsa.aliases.len(), 13);
    assert!(dsa.aliases.iter().any(|a| a.as_str() == "CVE-2023-5849"));
    assert_eq!(
        dsa.published.as_ref().unwrap().as_str(),
        "2023-11-02T00:00:00Z"
    );
    assert_eq!(
        entry(dsa, "Debian:12", "chromium").ranges[0].events,
        [intro("0"), fixed("119.0.6045.105-1~deb12u1")]
    );
    // DSA-5545-1 lists no CVE: a record without aliases.
    assert!(record(&records, "DSA-5545-1").aliases.is_empty());
}

#[test]
fn debian_malformed_entries_are_reported_and_skipped() {
    // A release `resolved` without fixed_version (stackrox's edited fixture).
    let Some((records, errors)) = parse_shared(
        Format::DebianTracker,
        "data/debian-tracker/json/stackrox-fetcher_debian_test.json",
    ) else {
        return;
    };
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].contains("CVE-2015-1323/aptdaemon/wheezy"),
        "{}",
        errors[0]
    );
    let r = record(&records, "DEBIAN-CVE-2015-1323");
    assert_eq!(r.affected.len(), 2, "jessie and sid kept");

    // A malformed DLA header: reported, its lines skipped, the rest kept.
    let Some((records, errors)) = parse_shared(
        Format::DebianTracker,
        "data/debian-tracker/list/vlu-DLA.list",
    ) else {
        return;
    };
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].contains("MALFORMED"));
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].id.as_str(), "DLA-2711-1");
    assert_eq!(records[0].affected.len(), 1);
}

// ---------------------------------------------------------------------------
// CSAF / VEX
// ---------------------------------------------------------------------------

#[test]
fn csaf_golden_facts() {
    let cases = [
        (
            "jsonfeeds/csaf-redhat-vex-cve-2023-6238",
            "data/vex/redhat/cve-2023-6238.json",
        ),
        (
            "jsonfeeds/csaf-redhat-vex-illegal-module",
            "data/vex/redhat/edge/cve-2024-24786-illegal-module.json",
        ),
        (
            "jsonfeeds/csaf-redhat-vex-bad-rpmmod",
            "data/vex/redhat/edge/cve-2024-24786-bad-rpmmod.json",
        ),
        (
            "jsonfeeds/csaf-redhat-rhsa-2024-6163",
            "data/csaf/redhat/advisories/rhsa-2024_6163.json",
        ),
        (
            "jsonfeeds/csaf-opensuse-su-2016-1623-1",
            "data/csaf/suse/opensuse-su-2016_1623-1.json",
        ),
    ];
    for (golden, input) in cases {
        let Some((records, errors)) = parse_shared(Format::Csaf, input) else {
            return;
        };
        assert!(errors.is_empty(), "{input}: {errors:?}");
        assert_schema_valid(&records);
        assert_golden(golden, &facts(&records));
    }
}

#[test]
fn csaf_every_real_document_parses() {
    let mut files = 0;
    let mut records_total = 0;
    for dir in [
        "data/csaf/examples",
        "data/csaf/redhat/advisories",
        "data/csaf/suse",
        "data/vex/redhat",
        "data/vex/redhat/edge",
        "data/vex/suse",
    ] {
        let Some(path) = shared(dir) else { return };
        let mut entries: Vec<_> = std::fs::read_dir(&path)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "json" || e == "jsonl"))
            .collect();
        entries.sort();
        for file in entries {
            let (records, report) = parse_path(Format::Csaf, "test", &file);
            let name = file.file_name().unwrap().to_string_lossy().to_string();
            assert!(report.errors.is_empty(), "{name}: {:?}", report.errors);
            assert!(!records.is_empty(), "{name}");
            assert_schema_valid(&records);
            files += 1;
            records_total += records.len();
        }
    }
    assert!(files >= 40, "{files}");
    // example_vex.jsonl holds 8 documents.
    assert!(records_total >= files + 7, "{records_total}");
}

#[test]
fn csaf_documents_without_vulnerabilities() {
    // Red Hat's bulk VEX stream carries `"status": "deleted"` tombstones.
    let Some((records, errors)) = parse_shared(Format::Csaf, "data/vex/redhat/example_vex.jsonl")
    else {
        return;
    };
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(records.len(), 8);
    let tombstone = record(&records, "REDHAT-CVE-2023-0030");
    assert!(tombstone.withdrawn.is_some());
    assert!(tombstone.affected.is_empty());
    // SUSE's VEX for CVE-1999-0003 only describes it: a record, no entries.
    let Some((records, errors)) = parse_shared(Format::Csaf, "data/vex/suse/cve-1999-0003.json")
    else {
        return;
    };
    assert!(errors.is_empty(), "{errors:?}");
    let r = record(&records, "SUSE-CVE-1999-0003");
    assert!(r.affected.is_empty() && r.withdrawn.is_none());
    assert_eq!(
        r.database_specific
            .advisord
            .as_ref()
            .unwrap()
            .vendor_severity
            .as_deref(),
        Some("critical")
    );
}

#[test]
fn csaf_redhat_vex_statuses() {
    let Some((records, errors)) = parse_shared(Format::Csaf, "data/vex/redhat/cve-2022-38752.json")
    else {
        return;
    };
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(records.len(), 1);
    let r = &records[0];
    assert_eq!(r.id.as_str(), "REDHAT-CVE-2022-38752");
    assert_eq!(r.aliases[0].as_str(), "CVE-2022-38752");
    assert_eq!(
        r.database_specific
            .advisord
            .as_ref()
            .unwrap()
            .vendor_severity
            .as_deref(),
        Some("moderate")
    );
    assert!(r.related.iter().any(|a| a.as_str() == "RHSA-2023:1512"));

    // fixed: `7Server-JBEAP-7.4:eap7-snakeyaml-0:1.33.0-2.SP1_redhat_00001.1.el7eap.noarch`.
    let eap = entry(
        r,
        "Red Hat:jboss_enterprise_application_platform:7.4::el7",
        "eap7-snakeyaml",
    );
    assert_eq!(
        eap.ranges[0].events,
        [intro("0"), fixed("0:1.33.0-2.SP1_redhat_00001.1.el7eap")]
    );
    assert_eq!(
        eap.database_specific.other["remediation"],
        json!(["vendor_fix"])
    );

    // known_affected `red_hat_enterprise_linux_7:snakeyaml`, remediation no_fix_planned.
    let rhel7 = entry(r, "Red Hat:enterprise_linux:7", "snakeyaml");
    assert_eq!(rhel7.ranges[0].events, [intro("0")]);
    assert_eq!(status(rhel7), "known_affected");
    assert_eq!(
        rhel7.database_specific.other["remediation"],
        json!(["no_fix_planned"])
    );

    // 2,353 known_not_affected product ids, all kept as data that never matches.
    let not_affected: Vec<&Affected> = r
        .affected
        .iter()
        .filter(|a| status(a) == "known_not_affected")
        .collect();
    assert!(not_affected.len() > 1000, "{}", not_affected.len());
    for a in &not_affected {
        assert!(a.ranges.is_empty() && a.versions.is_empty());
    }
    let artemis = entry(
        r,
        "Red Hat:jboss_enterprise_application_platform:7.4::el7",
        "eap7-activemq-artemis-native",
    );
    assert_eq!(status(artemis), "known_not_affected");
    assert_eq!(
        artemis.database_specific.other["product_versions"],
        json!(["1:1.0.2-3.redhat_00004.1.el7eap"])
    );
}

/// Parses `input` like `advisord ingest` does, writes the records to a fresh
/// store, and asks the store like the API does. (The library, not the
/// binary: the query path is the same and the test needs no built binary.)
fn ingest_and_query(
    format: Format,
    input: &Path,
    ecosystem: &str,
    name: &str,
    version: &str,
) -> Vec<QueryMatch> {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("db.redb")).unwrap();
    let (records, report) = parse_path(format, "test", input);
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    store.apply_batch("test", records, |_| {}).unwrap();
    PackageQuery::new(ecosystem, name, Some(version))
        .unwrap()
        .run(&store)
        .unwrap()
}

#[test]
fn csaf_redhat_vex_through_the_store() {
    let Some(path) = shared("data/vex/redhat/cve-2022-38752.json") else {
        return;
    };
    let eco = "Red Hat:jboss_enterprise_application_platform:7.4::el7";
    let id = "REDHAT-CVE-2022-38752";
    // known_not_affected: never a match, not at the stated version, not below.
    for version in ["1:1.0.2-3.redhat_00004.1.el7eap", "0:0.1-1", "1:99-1"] {
        let m = ingest_and_query(
            Format::Csaf,
            &path,
            eco,
            "eap7-activemq-artemis-native",
            version,
        );
        assert!(!m.iter().any(|m| m.id == id), "{version}: {m:?}");
    }
    // fixed at 0:1.33.0-2.SP1_redhat_00001.1.el7eap: below matches, at does not.
    let below = ingest_and_query(
        Format::Csaf,
        &path,
        eco,
        "eap7-snakeyaml",
        "0:1.33.0-1.el7eap",
    );
    assert!(
        below.iter().any(|m| m.id == id && m.unevaluated.is_none()),
        "{below:?}"
    );
    let at = ingest_and_query(
        Format::Csaf,
        &path,
        eco,
        "eap7-snakeyaml",
        "0:1.33.0-2.SP1_redhat_00001.1.el7eap",
    );
    assert!(!at.iter().any(|m| m.id == id), "{at:?}");
}

#[test]
fn csaf_module_streams_and_suse_products() {
    let Some((records, _)) = parse_shared(
        Format::Csaf,
        "data/csaf/redhat/advisories/rhsa-2023_7025.json",
    ) else {
        return;
    };
    let r = record(&records, "RHSA-2023:7025");
    assert_eq!(r.aliases.len(), 4);
    // `ruby-2.5.9-111.module+el8.9.0+19193+435404ae.x86_64.rpm-ruby:2.5` via its rpmmod purl.
    let ruby = entry(r, "Red Hat:enterprise_linux:8::appstream", "ruby");
    assert_eq!(
        ruby.ecosystem_specific,
        Some(json!({"rpm_module": "ruby:2.5"}))
    );
    assert_eq!(
        ruby.ranges[0].events,
        [
            intro("0"),
            fixed("0:2.5.9-111.module+el8.9.0+19193+435404ae")
        ]
    );
    assert_eq!(
        ruby.package.as_ref().unwrap().purl.as_deref(),
        Some("pkg:rpm/redhat/ruby?rpmmod=ruby:2.5")
    );

    // SUSE `SUSE Linux Enterprise Server 11 SP2-LTSS:bind-9.9.4P2-0.6.1.i586`, status recommended.
    let Some((records, _)) = parse_shared(Format::Csaf, "data/csaf/suse/suse-su-2015_0011-2.json")
    else {
        return;
    };
    let su = record(&records, "SUSE-SU-2015:0011-2");
    assert_eq!(
        su.database_specific
            .advisord
            .as_ref()
            .unwrap()
            .vendor_severity
            .as_deref(),
        Some("moderate")
    );
    let bind = entry(su, "SUSE:Linux Enterprise Server 11 SP2-LTSS", "bind");
    assert_eq!(bind.ranges[0].events, [intro("0"), fixed("9.9.4P2-0.6.1")]);
    assert_eq!(status(bind), "recommended");

    // SUSE VEX: per-CVE record, not-affected products kept as data.
    let Some((records, errors)) = parse_shared(Format::Csaf, "data/vex/suse/cve-2023-5568.json")
    else {
        return;
    };
    assert!(errors.is_empty());
    let vex = record(&records, "SUSE-CVE-2023-5568");
    let na = entry(vex, "SUSE:CaaS Platform 4.0", "libdcerpc-binding0");
    assert_eq!(status(na), "known_not_affected");
    assert!(na.ranges.is_empty() && na.versions.is_empty());
    let tw = entry(vex, "openSUSE:Tumbleweed", "ctdb");
    assert_eq!(
        tw.ranges[0].events,
        [intro("0"), fixed("4.19.2+git.322.7e9201cef5-1.1")]
    );
}

#[test]
fn csaf_malformed_documents_are_reported_and_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let good = r#"{"document": {"category": "csaf_security_advisory", "title": "t",
        "publisher": {"name": "SUSE Product Security Team"},
        "tracking": {"id": "SUSE-SU-2099:0001-1", "current_release_date": "2099-01-01T00:00:00Z",
                     "initial_release_date": "2099-01-01T00:00:00Z"}},
      "product_tree": {"branches": [{"category": "product_version", "name": "x-1.0-1.1.x86_64",
          "product": {"name": "x-1.0-1.1.x86_64", "product_id": "x-1.0-1.1.x86_64"}},
        {"category": "product_name", "name": "SUSE Linux Enterprise Server 15 SP5",
          "product": {"name": "SUSE Linux Enterprise Server 15 SP5", "product_id": "SLES15-SP5"}}],
        "relationships": [{"category": "default_component_of", "product_reference": "x-1.0-1.1.x86_64",
          "relates_to_product_reference": "SLES15-SP5",
          "full_product_name": {"name": "n", "product_id": "SLES15-SP5:x-1.0-1.1.x86_64"}}]},
      "vulnerabilities": [{"cve": "CVE-2099-0001", "product_status": {"recommended": ["SLES15-SP5:x-1.0-1.1.x86_64"]}},
                          {"cve": "CVE-2099-0002", "product_status": {"fixed": "not a list"}}]}"#;
    std::fs::write(dir.path().join("good.json"), good).unwrap();
    std::fs::write(dir.path().join("truncated.json"), &good[..200]).unwrap();
    std::fs::write(
        dir.path().join("baddate.json"),
        r#"{"document": {"category": "csaf_vex", "tracking": {"id": "CVE-2099-1", "current_release_date": "soon"}}, "vulnerabilities": [{"cve": "CVE-2099-1"}]}"#,
    )
    .unwrap();
    std::fs::write(dir.path().join("notes.txt"), "not a document").unwrap();
    let (records, report) = parse_path(Format::Csaf, "test", dir.path());
    assert_eq!(report.skipped_files, 1, "non-JSON member skipped");
    assert_eq!(report.errors.len(), 3, "{:?}", report.errors);
    assert_eq!(records.len(), 1);
    let r = &records[0];
    assert_eq!(
        r.aliases.len(),
        1,
        "the unreadable vulnerability is left out"
    );
    let x = entry(r, "SUSE:Linux Enterprise Server 15 SP5", "x");
    assert_eq!(x.ranges[0].events, [intro("0"), fixed("1.0-1.1")]);
}

#[test]
fn alpine_and_debian_through_the_store() {
    if let Some(path) = shared("data/alpine-secdb/yaml/v3.10-main.yaml") {
        let id = "ALPINE-CVE-2017-16548";
        let below = ingest_and_query(
            Format::AlpineSecdb,
            &path,
            "Alpine:v3.10",
            "rsync",
            "3.1.2-r6",
        );
        assert!(
            below.iter().any(|m| m.id == id && m.unevaluated.is_none()),
            "{below:?}"
        );
        let at = ingest_and_query(
            Format::AlpineSecdb,
            &path,
            "Alpine:v3.10",
            "rsync",
            "3.1.2-r7",
        );
        assert!(!at.iter().any(|m| m.id == id), "{at:?}");
    }
    if let Some(path) = shared("data/debian-tracker/json/osvdev-debian_security_tracker_mock.json")
    {
        for version in ["0.1-1", "3.0.8-3", "9:9.9-9"] {
            let m = ingest_and_query(
                Format::DebianTracker,
                &path,
                "Debian:12",
                "apparmor",
                version,
            );
            assert!(
                m.iter()
                    .any(|m| m.id == "DEBIAN-CVE-2016-1585" && m.unevaluated.is_none()),
                "open issue, {version}: {m:?}"
            );
            assert!(
                !m.iter().any(|m| m.id == "DEBIAN-CVE-2014-1424"),
                "not affected, {version}: {m:?}"
            );
        }
    }
}

#[test]
fn alpine_releases_of_one_batch_join_into_one_record() {
    // All 18 release files as one batch of one feed: every release keeps its entry.
    let Some(dir) = shared("data/alpine-secdb/yaml") else {
        return;
    };
    let (records, report) = parse_path(Format::AlpineSecdb, "alpine", &dir);
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let r = record(&records, "ALPINE-CVE-2017-16548");
    assert_eq!(
        records.iter().filter(|x| x.id == r.id).count(),
        1,
        "one record per id"
    );
    for release in ["v3.7", "v3.10", "v3.11"] {
        let rsync = entry(r, &format!("Alpine:{release}"), "rsync");
        assert_eq!(rsync.ranges.len(), 1, "{release}");
    }
    let at = ingest_and_query(
        Format::AlpineSecdb,
        &dir,
        "Alpine:v3.10",
        "rsync",
        "3.1.2-r6",
    );
    assert!(at.iter().any(|m| m.id == "ALPINE-CVE-2017-16548"), "{at:?}");
}
