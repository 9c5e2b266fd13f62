//! OSV ingest: golden facts, schema validity and per-record error handling on real data.

use advisord::formats::Format;

use crate::common::{assert_golden, assert_schema_valid, facts, parse_path, shared};

const BULK: &[(&str, usize)] = &[
    // (archive, withdrawn records) as the shared MANIFEST states them.
    ("data/osv/bulk/golang-vulndb-data-osv.tar.gz", 17),
    ("data/osv/bulk/pypa-advisory-database-vulns.tar.gz", 10),
    ("data/osv/bulk/oss-fuzz-vulns.tar.gz", 24),
    ("data/osv/bulk/almalinux-osv-advisories.tar.gz", 0),
];

/// Counts `.json`/`.yaml` members of a tar.gz with the tar crate directly.
fn record_members(path: &std::path::Path) -> usize {
    let file = std::fs::File::open(path).unwrap();
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
    archive
        .entries()
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.header().entry_type().is_file())
        .filter(|e| {
            let p = e.path().unwrap().display().to_string();
            p.ends_with(".json") || p.ends_with(".yaml")
        })
        .count()
}

#[test]
fn bulk_archives_parse_completely_and_validate_against_the_schema() {
    for (archive, withdrawn) in BULK {
        let Some(path) = shared(archive) else { return };
        let files = record_members(&path);
        assert!(files > 2000, "{archive}: {files} record files");
        let (records, report) = parse_path(Format::Osv, "test", &path);
        assert_eq!(
            report.errors,
            vec![],
            "{archive}: no record of a real dump is rejected"
        );
        assert_eq!(report.files as usize, files, "{archive}: record files");
        assert_eq!(records.len(), files, "{archive}: one record per file");
        let withdrawn_seen = records.iter().filter(|r| r.is_withdrawn()).count();
        assert_eq!(withdrawn_seen, *withdrawn, "{archive}: withdrawn records");
        assert_schema_valid(&records);
    }
}

#[test]
fn every_sample_record_validates_against_the_schema() {
    let Some(root) = shared("data/osv") else {
        return;
    };
    let mut total = 0;
    let mut rejected = 0;
    for entry in std::fs::read_dir(&root).unwrap() {
        let dir = entry.unwrap().path();
        if !dir.is_dir() || dir.ends_with("bulk") {
            continue;
        }
        let (records, report) = parse_path(Format::Osv, "test", &dir);
        for error in &report.errors {
            // The one deliberately broken upstream record: an id with a space.
            assert_eq!(error.record, "SUSE-SU-403 Forbidden-1", "{error}");
            assert!(
                error.origin.ends_with("SUSE-SU-403_Forbidden-1.json"),
                "{error}"
            );
            assert!(error.reason.contains("invalid advisory id"), "{error}");
            rejected += 1;
        }
        total += records.len();
        assert_schema_valid(&records);
    }
    assert_eq!(rejected, 1);
    assert!(
        total > 150,
        "expected the ~40 ecosystem samples, parsed {total}"
    );
}

#[test]
fn golden_facts_of_real_records() {
    let cases = [
        ("osv/go-GO-2020-0001", "data/osv/go/GO-2020-0001.json"),
        (
            "osv/pypi-PYSEC-2021-335",
            "data/osv/pypi/PYSEC-2021-335.yaml",
        ),
        (
            "osv/almalinux-ALSA-2023-7549",
            "data/osv/almalinux/ALSA-2023:7549.json",
        ),
        (
            "osv/maven-GHSA-25gw-4pcc-45cf",
            "data/osv/ghsa/readfile/GHSA-25gw-4pcc-45cf.json",
        ),
        (
            "osv/nuget-GHSA-242j-2gm6-5rwx",
            "data/osv/ghsa/readfile/GHSA-242j-2gm6-5rwx.json",
        ),
        ("osv/debian-DSA-135", "data/osv/debian/DSA-135.json"),
        ("osv/ubuntu-USN-7095-1", "data/osv/ubuntu/USN-7095-1.json"),
    ];
    for (golden, input) in cases {
        let Some(path) = shared(input) else { return };
        let (records, report) = parse_path(Format::Osv, "test", &path);
        assert!(report.errors.is_empty(), "{input}: {:?}", report.errors);
        assert_golden(golden, &facts(&records));
    }
}

#[test]
fn malformed_records_are_reported_and_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let good = r#"{"id":"OSV-GOOD-1","modified":"2024-01-01T00:00:00Z","affected":[{"package":{"ecosystem":"PyPI","name":"x"},"versions":["1.0"]}]}"#;
    std::fs::write(dir.path().join("good.json"), good).unwrap();
    std::fs::write(dir.path().join("truncated.json"), &good[..40]).unwrap();
    std::fs::write(
        dir.path().join("wrongtype.json"),
        r#"{"id":"OSV-BAD-2","modified":"2024-01-01T00:00:00Z","affected":"none"}"#,
    )
    .unwrap();
    std::fs::write(
        dir.path().join("badtime.yaml"),
        "id: OSV-BAD-3\nmodified: yesterday\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("README.md"), "not a record").unwrap();
    let (records, report) = parse_path(Format::Osv, "local", dir.path());
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].id.as_str(), "OSV-GOOD-1");
    assert_eq!(report.skipped_files, 1, "README is not a record file");
    let mut errors: Vec<(String, String)> = report
        .errors
        .iter()
        .map(|e| {
            (
                e.origin.rsplit('/').next().unwrap().to_string(),
                e.record.clone(),
            )
        })
        .collect();
    errors.sort();
    assert_eq!(
        errors,
        vec![
            ("badtime.yaml".to_string(), "OSV-BAD-3".to_string()),
            ("truncated.json".to_string(), "file".to_string()),
            ("wrongtype.json".to_string(), "OSV-BAD-2".to_string()),
        ]
    );
    for e in &report.errors {
        assert_eq!(e.feed, "local");
    }
}
