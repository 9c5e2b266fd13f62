//! The command line's edges: `ingest --dialect` / `--max-decompressed`
//! (with a mirror feed's dialect, the same options reach `sync`), and
//! output into a pipe whose reader has gone.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use advisord::formats::oval::Dialect;
use advisord::formats::Format;
use advisord::formats::ReadOptions;
use serde_json::Value;

use crate::common;

fn oval(rel: &str) -> Option<PathBuf> {
    common::shared(&format!("data/oval/{rel}"))
}

fn db_arg(db: &Path) -> &str {
    db.to_str().expect("utf-8 path")
}

/// `advisord --db DB ingest --format oval --json ARGS...`: exit code,
/// the JSON report (when it succeeded) and stderr.
fn ingest_oval(db: &Path, args: &[&str]) -> (i32, Option<Value>, String) {
    let mut all = vec![
        "--db",
        db_arg(db),
        "--log",
        "error",
        "ingest",
        "--format",
        "oval",
        "--json",
    ];
    all.extend_from_slice(args);
    let out = common::advisord(&all);
    let report = serde_json::from_slice(&out.stdout).ok();
    (
        out.status.code().unwrap_or(-1),
        report,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `stats --json` without the feeds' ages, which change with the clock.
fn stats(db: &Path) -> Value {
    let out = common::advisord_ok(&["--db", db_arg(db), "stats", "--json"]);
    let mut stats: Value = serde_json::from_str(&out).expect("stats JSON");
    stats
        .as_object_mut()
        .expect("stats object")
        .remove("feed_age_secs");
    stats
}

/// A real Debian OVAL file whose publisher cannot be told: the definition
/// ids' namespace and the generator's product name are rewritten (in a
/// temporary directory).
fn anonymized_debian(dir: &Path) -> Option<PathBuf> {
    let original = oval("debian/vulnerablecode-debian_oval_data.xml")?;
    let text = std::fs::read_to_string(&original).expect("read");
    assert!(text.contains("oval:org.debian:def:") && text.contains(">Debian</oval:product_name>"));
    let anon = text
        .replace("oval:org.debian:", "oval:org.example.mirror:")
        .replace(
            ">Debian</oval:product_name>",
            ">Internal mirror</oval:product_name>",
        );
    let path = dir.join("definitions.xml");
    std::fs::write(&path, anon).expect("write");
    Some(path)
}

#[test]
fn forced_dialect_reads_a_file_whose_publisher_cannot_be_detected() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (Some(original), Some(anon)) = (
        oval("debian/vulnerablecode-debian_oval_data.xml"),
        anonymized_debian(dir.path()),
    ) else {
        return;
    };
    let want = common::facts(&common::parse_path(Format::Oval, "x", &original).0);
    assert_ne!(want, serde_json::json!([]), "the original has records");

    // Library: detection fails, the forced dialect gives the original's records.
    let (records, report) = common::parse_path(Format::Oval, "x", &anon);
    assert!(records.is_empty());
    assert_eq!(report.errors.len(), 1, "{:?}", report.errors);
    assert!(report.errors[0]
        .reason
        .contains("cannot tell the OVAL dialect"));
    let forced = ReadOptions {
        dialect: Some(Dialect::Debian),
        ..ReadOptions::new(Format::Oval)
    };
    let fetched: advisord::model::Timestamp = "2026-01-01T00:00:00Z".parse().expect("timestamp");
    let (records, report) =
        advisord::pipeline::ingest::collect_path(forced, "x", &anon, fetched).expect("readable");
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(common::facts(&records), want);
    common::assert_schema_valid(&records);

    // The binary: the same, and the store gets the records only when forced.
    let db = dir.path().join("db.redb");
    let anon = anon.to_str().expect("utf-8");
    // Every record rejected: the report still lists why, and the exit is 1.
    let (code, report, stderr) = ingest_oval(&db, &[anon]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("every record was rejected (1), nothing written"),
        "{stderr}"
    );
    let report = report.expect("report");
    assert_eq!(report["records"], 0);
    assert!(
        report["errors"][0]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("pass one explicitly")),
        "{report}"
    );
    assert_eq!(stats(&db)["records"], 0);
    let (code, report, stderr) = ingest_oval(&db, &["--dialect", "debian", anon]);
    assert_eq!(code, 0, "{stderr}");
    let report = report.expect("report");
    assert_eq!(
        report["records"].as_u64(),
        want.as_array().map(|a| a.len() as u64)
    );
    assert_eq!(report["errors"], serde_json::json!([]));
    let out = common::advisord_ok(&["--db", db_arg(&db), "get", "CVE-2001-1593"]);
    let record: Value = serde_json::from_str(&out).expect("record JSON");
    assert_eq!(record["affected"][0]["package"]["ecosystem"], "Debian:7");
    assert_eq!(
        record["database_specific"]["advisord"]["sources"][0]["upstream_id"],
        "oval:org.example.mirror:def:20011593"
    );
}

#[test]
fn a_wrong_dialect_gives_per_definition_errors_not_a_crash() {
    let Some(photon) = oval("photon/com.vmware.phsa-photon3.xml") else {
        return;
    };
    let definitions = std::fs::read_to_string(&photon)
        .expect("read")
        .matches("<definition ")
        .count();
    assert!(definitions > 100);
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("db.redb");
    let path = photon.to_str().expect("utf-8");
    // Detected: Photon records.
    let (code, report, stderr) = ingest_oval(&db, &["--feed", "detected", path]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(report.expect("report")["errors"], serde_json::json!([]));
    let before = stats(&db);
    // Forced to Debian: every definition is one error naming it; nothing lands.
    let (code, report, stderr) =
        ingest_oval(&db, &["--dialect", "debian", "--feed", "forced", path]);
    assert_eq!(code, 1, "every record rejected: {stderr}");
    let report = report.expect("report");
    assert_eq!(report["records"], 0);
    let errors = report["errors"].as_array().expect("errors");
    assert_eq!(errors.len(), definitions);
    for e in errors {
        assert!(
            e["record"]
                .as_str()
                .is_some_and(|r| r.starts_with("oval:com.vmware.phsa:def:")),
            "{e}"
        );
    }
    assert_eq!(stats(&db)["records"], before["records"]);
}

#[test]
fn a_tiny_decompression_cap_fails_the_ingest_and_leaves_the_store_alone() {
    let (Some(rhel), Some(bz2)) = (
        oval("rhel/v1/com.redhat.rhsa-RHEL8.2019-11-13.xml"),
        oval("oracle/com.oracle.elsa-all.excerpt.xml.bz2"),
    ) else {
        return;
    };
    let decompressed = {
        let mut text = Vec::new();
        bzip2::read::MultiBzDecoder::new(std::fs::File::open(&bz2).expect("open"))
            .read_to_end(&mut text)
            .expect("bunzip2");
        text.len() as u64
    };
    assert!(decompressed > 16 << 10, "{decompressed}");
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("db.redb");
    let (code, _, stderr) = ingest_oval(&db, &["--feed", "rhel", rhel.to_str().expect("utf-8")]);
    assert_eq!(code, 0, "{stderr}");
    let before = stats(&db);
    assert!(before["records"].as_u64() > Some(100), "{before}");

    // Streamed from disk, inside a directory, inside a tar.gz: each fails,
    // naming the file and the cap.
    let tree = dir.path().join("tree");
    std::fs::create_dir(&tree).expect("mkdir");
    std::fs::copy(&bz2, tree.join("elsa.xml.bz2")).expect("copy");
    let tgz = dir.path().join("elsa.tar.gz");
    {
        let gz = flate2::write::GzEncoder::new(
            std::fs::File::create(&tgz).expect("create"),
            flate2::Compression::fast(),
        );
        let mut tar = tar::Builder::new(gz);
        tar.append_path_with_name(&bz2, "elsa.xml.bz2")
            .expect("tar");
        tar.into_inner().expect("tar").finish().expect("gzip");
    }
    for (source, names) in [
        (bz2.clone(), "com.oracle.elsa-all.excerpt.xml.bz2"),
        (tree.clone(), "elsa.xml.bz2"),
        (tgz.clone(), "elsa.tar.gz"),
    ] {
        let source = source.to_str().expect("utf-8");
        let (code, report, stderr) = ingest_oval(
            &db,
            &["--max-decompressed", "16K", "--feed", "capped", source],
        );
        assert_eq!(code, 1, "{source}: {stderr}");
        assert!(report.is_none(), "{source}: no report on failure");
        assert!(
            stderr.contains("decompressed size exceeds the cap of 16384 bytes"),
            "{source}: {stderr}"
        );
        assert!(stderr.contains(names), "{source}: {stderr}");
        assert_eq!(stats(&db), before, "{source}: the store is unchanged");
    }
    // A cap above the size reads it.
    let (code, report, stderr) = ingest_oval(
        &db,
        &[
            "--max-decompressed",
            &decompressed.to_string(),
            "--feed",
            "capped",
            bz2.to_str().expect("utf-8"),
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(report.expect("report")["records"].as_u64() > Some(0));
}

#[test]
fn dialect_with_another_format_is_a_usage_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("db.redb");
    for args in [
        &["ingest", "--format", "osv", "--dialect", "suse", "x.json"][..],
        &["ingest", "--dialect", "redhat", "x.json"],
        &["ingest", "--format", "oval", "--dialect", "gentoo", "x.xml"],
        &[
            "ingest",
            "--format",
            "oval",
            "--max-decompressed",
            "0",
            "x.xml",
        ],
        &[
            "ingest",
            "--format",
            "oval",
            "--max-decompressed",
            "lots",
            "x.xml",
        ],
    ] {
        let mut all = vec!["--db", db_arg(&db)];
        all.extend_from_slice(args);
        let out = common::advisord(&all);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains("error:"), "{args:?}: {stderr}");
        assert!(!db.exists(), "{args:?}: refused before opening the store");
    }
    let out = common::advisord(&[
        "--db",
        db_arg(&db),
        "ingest",
        "--format",
        "osv",
        "--dialect",
        "suse",
        "x.json",
    ]);
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("--dialect suse applies to --format oval only"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// One feed of a hand-made mirror: name, format, dialect, upstream URL and
/// the local file standing for it.
struct MirrorEntry<'a> {
    feed: &'a str,
    format: &'a str,
    dialect: Option<&'a str>,
    url: &'a str,
    file: &'a Path,
}

/// Writes `mirror/manifest.json` (and copies the files) as `advisord mirror
/// pull` would have.
fn write_mirror(mirror: &Path, entries: &[MirrorEntry<'_>]) {
    let mut manifest = advisord::pipeline::mirror::Manifest {
        version: advisord::pipeline::mirror::MANIFEST_VERSION,
        updated: "2026-01-01T00:00:00Z".into(),
        ..Default::default()
    };
    for e in entries {
        let name = e.url.rsplit('/').next().expect("file name");
        let rel = format!("{}/{name}", e.feed);
        std::fs::create_dir_all(mirror.join(e.feed)).expect("mkdir");
        std::fs::copy(e.file, mirror.join(&rel)).expect("copy");
        let (sha256, size) = advisord::feeds::http::sha256_file(&mirror.join(&rel)).expect("hash");
        manifest.feeds.insert(
            e.feed.to_string(),
            advisord::pipeline::mirror::MirrorFeed {
                format: e.format.into(),
                dialect: e.dialect.map(str::to_string),
                snapshot: true,
            },
        );
        manifest.files.push(advisord::pipeline::mirror::MirrorFile {
            feed: e.feed.into(),
            url: e.url.into(),
            path: rel,
            sha256,
            size,
            etag: None,
            last_modified: None,
            fetched: "2026-01-01T00:00:00Z".into(),
        });
    }
    std::fs::write(
        mirror.join("manifest.json"),
        serde_json::to_vec(&manifest).expect("manifest"),
    )
    .expect("write manifest");
}

/// `advisord sync --force --json --from-mirror MIRROR`: exit code and reports.
fn sync_from_mirror(db: &Path, mirror: &Path) -> (Option<i32>, Vec<Value>) {
    let out = common::advisord(&[
        "--db",
        db_arg(db),
        "--log",
        "error",
        "sync",
        "--force",
        "--json",
        "--from-mirror",
        mirror.to_str().expect("utf-8"),
    ]);
    let reports: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("{e}: {}", String::from_utf8_lossy(&out.stderr));
    });
    (out.status.code(), reports)
}

#[test]
fn a_mirror_feeds_dialect_is_used_by_sync() {
    let dir = tempfile::tempdir().expect("tempdir");
    let Some(anon) = anonymized_debian(dir.path()) else {
        return;
    };
    let mirror = dir.path().join("mirror");
    let db = dir.path().join("db.redb");
    let sync = |dialect: Option<&str>| {
        write_mirror(
            &mirror,
            &[MirrorEntry {
                feed: "internal",
                format: "oval",
                dialect,
                url: "https://oval.example.org/definitions.xml",
                file: &anon,
            }],
        );
        let (code, reports) = sync_from_mirror(&db, &mirror);
        (code, reports[0].clone())
    };
    // Undetectable and no dialect: the file cannot be read as a whole, so
    // the snapshot feed fails (nothing is applied) and says why.
    let (code, report) = sync(None);
    assert_eq!(code, Some(1), "{report}");
    assert_eq!(report["status"], "failed", "{report}");
    assert!(
        report["error"]
            .as_str()
            .is_some_and(|e| e.contains("cannot tell the OVAL dialect")),
        "{report}"
    );
    assert_eq!(stats(&db)["records"], 0);
    // The manifest's dialect (from the catalog's `dialect`) is used.
    let (code, report) = sync(Some("debian"));
    assert_eq!(code, Some(0), "{report}");
    assert_eq!(report["records"], 2, "{report}");
    assert_eq!(stats(&db)["records"], 2);
    // An unknown dialect fails the feed by name, leaving the store as it was.
    let (code, report) = sync(Some("gentoo"));
    assert_eq!(code, Some(1), "{report}");
    assert!(
        report["error"]
            .as_str()
            .is_some_and(|e| e.contains("unknown OVAL dialect \"gentoo\"")),
        "{report}"
    );
    assert_eq!(stats(&db)["records"], 2);
}

#[test]
fn builtin_azure_linux_feeds_sync_their_files() {
    // The built-in catalog entries, fed the real (truncated) upstream files
    // through a mirror under the entries' own URLs: format, dialect and
    // file name (which names the release) work together.
    let (Some(azl3), Some(cm2)) = (
        oval("azurelinux/azure-linux-3.0-oval.truncated.xml"),
        oval("azurelinux/mariner-2.0-oval.truncated.xml"),
    ) else {
        return;
    };
    let catalog = advisord::feeds::catalog::Catalog::builtin().expect("catalog");
    let spec = |name: &str| catalog.get(name).expect(name).clone();
    let (azure, mariner) = (spec("oval-azurelinux-3.0"), spec("oval-cbl-mariner-2.0"));
    let dir = tempfile::tempdir().expect("tempdir");
    let mirror = dir.path().join("mirror");
    let entries: Vec<MirrorEntry<'_>> = [(&azure, azl3.as_path()), (&mariner, cm2.as_path())]
        .into_iter()
        .map(|(spec, file)| MirrorEntry {
            feed: &spec.name,
            format: &spec.format,
            dialect: spec.dialect.as_deref(),
            url: &spec.urls[0],
            file,
        })
        .collect();
    write_mirror(&mirror, &entries);
    let db = dir.path().join("db.redb");
    let (code, reports) = sync_from_mirror(&db, &mirror);
    assert_eq!(code, Some(0), "{reports:?}");
    for (report, file, ecosystem) in [
        (&reports[0], &azl3, "Azure Linux:3"),
        (&reports[1], &cm2, "Azure Linux:2"),
    ] {
        let (records, _) = common::parse_path(Format::Oval, "x", file);
        assert!(!records.is_empty());
        assert_eq!(
            report["records"].as_u64(),
            Some(records.len() as u64),
            "{report}"
        );
        assert_eq!(report["record_errors"], 0, "{report}");
        let first = &records[0];
        let out = common::advisord_ok(&["--db", db_arg(&db), "get", first.id.as_str()]);
        let stored: Value = serde_json::from_str(&out).expect("record");
        assert!(
            stored["affected"]
                .as_array()
                .is_some_and(|a| a.iter().any(|e| e["package"]["ecosystem"] == ecosystem)),
            "{stored}"
        );
        assert_eq!(
            stored["database_specific"]["advisord"]["sources"][0]["source"],
            report_url(&catalog, report)
        );
    }
}

#[test]
fn builtin_rhel_feeds_read_unpatched_cves_as_affected_without_a_fix() {
    // The built-in RHEL 9 entry names Red Hat's "including unpatched" file;
    // fed the real (excerpted) upstream file under that URL, its CVE
    // definitions without a fix become "affected, no fix yet" (introduced
    // 0, no fixed event) while its RHSA patch definitions keep their fixes.
    let Some(file) = oval("rhel/v2/RHEL9/rhel-9-including-unpatched.oval.xml.bz2") else {
        return;
    };
    let catalog = advisord::feeds::catalog::Catalog::builtin().expect("catalog");
    let spec = catalog.get("oval-rhel-9").expect("oval-rhel-9").clone();
    assert!(spec.enabled);
    assert!(
        spec.urls[0].ends_with("/RHEL9/rhel-9-including-unpatched.oval.xml.bz2"),
        "{:?}",
        spec.urls
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let mirror = dir.path().join("mirror");
    write_mirror(
        &mirror,
        &[MirrorEntry {
            feed: &spec.name,
            format: &spec.format,
            dialect: spec.dialect.as_deref(),
            url: &spec.urls[0],
            file: &file,
        }],
    );
    let db = dir.path().join("db.redb");
    let (code, reports) = sync_from_mirror(&db, &mirror);
    assert_eq!(code, Some(0), "{reports:?}");
    assert_eq!(reports[0]["record_errors"], 0, "{}", reports[0]);
    let get = |id: &str| -> Value {
        serde_json::from_str(&common::advisord_ok(&["--db", db_arg(&db), "get", id]))
            .expect("record")
    };
    let events = |record: &Value, name: &str| -> Vec<Value> {
        record["affected"]
            .as_array()
            .expect("affected")
            .iter()
            .filter(|a| {
                a["package"]["ecosystem"] == "Red Hat:enterprise_linux:9"
                    && a["package"]["name"] == name
            })
            .flat_map(|a| a["ranges"].as_array().cloned().unwrap_or_default())
            .flat_map(|r| r["events"].as_array().cloned().unwrap_or_default())
            .collect()
    };
    // "Will not fix" for tar: affected, and no version fixes it.
    let unpatched = get("CVE-2005-2541");
    assert_eq!(
        events(&unpatched, "tar"),
        vec![serde_json::json!({"introduced": "0"})],
        "{unpatched}"
    );
    let out = common::advisord_ok(&[
        "--db",
        db_arg(&db),
        "query",
        "--ecosystem",
        "Red Hat:enterprise_linux:9",
        "--name",
        "tar",
        "--version",
        "2:1.34-99.el9",
    ]);
    assert!(out.contains("CVE-2005-2541"), "{out}");
    // A patch definition of the same file keeps its fixed version.
    let patched = get("RHSA-2022:4765");
    assert!(
        events(&patched, "firefox")
            .iter()
            .any(|e| e.get("fixed").is_some()),
        "{patched}"
    );
    // "Unaffected" definitions never become records.
    let missing = common::advisord(&["--db", db_arg(&db), "get", "CVE-2002-0059"]);
    assert!(!missing.status.success());
}

#[test]
fn a_synced_oval_download_is_read_from_its_saved_copy_and_named_by_its_url() {
    let Some(bz2) = oval("debian/oval-definitions-bullseye.excerpt.xml.bz2") else {
        return;
    };
    let url = "https://www.example.org/security/oval/oval-definitions-bullseye.xml.bz2";
    let dir = tempfile::tempdir().expect("tempdir");
    let mirror = dir.path().join("mirror");
    write_mirror(
        &mirror,
        &[MirrorEntry {
            feed: "debian-11",
            format: "oval",
            dialect: Some("debian"),
            url,
            file: &bz2,
        }],
    );
    let db = dir.path().join("db.redb");
    let (code, reports) = sync_from_mirror(&db, &mirror);
    assert_eq!(code, Some(0), "{reports:?}");
    let (want, _) = common::parse_path(Format::Oval, "x", &bz2);
    assert_eq!(reports[0]["records"].as_u64(), Some(want.len() as u64));
    let (sha256, _) = advisord::feeds::http::sha256_file(&bz2).expect("hash");
    let store = advisord::store::Store::open(&db).expect("store");
    let mut stored = Vec::new();
    for record in &want {
        let json = store
            .get_json(record.id.as_str())
            .expect("read")
            .expect("stored");
        let value: Value = serde_json::from_slice(&json).expect("JSON");
        let source = &value["database_specific"]["advisord"]["sources"][0];
        // The download's own URL (not one with `.bz2` cut off) and the
        // digest of the bytes fetched, as the feed state records them.
        assert_eq!(source["source"], url, "{value}");
        assert_eq!(source["digest"], sha256.as_str(), "{value}");
        stored.push(serde_json::from_value(value).expect("advisory"));
    }
    assert_eq!(common::facts(&stored), common::facts(&want));
}

fn report_url(catalog: &advisord::feeds::catalog::Catalog, report: &Value) -> String {
    let feed = report["feed"].as_str().expect("feed name");
    catalog.get(feed).expect("feed").urls[0].clone()
}

// ------------------------------------------------------------ broken pipe

/// Runs `advisord ARGS` with stdout into a pipe whose reader reads at most
/// `keep` bytes and then closes it; returns the exit code and stderr.
fn run_into_closed_pipe(args: &[&str], keep: usize) -> (Option<i32>, String) {
    let mut child = Command::new(common::binary())
        .args(args)
        .env_remove("ADVISORD_DB")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn advisord");
    {
        let mut stdout = child.stdout.take().expect("stdout");
        let mut head = vec![0u8; keep];
        if keep > 0 {
            stdout.read_exact(&mut head).expect("first bytes");
        }
        // Dropping the read end closes the pipe: further writes get EPIPE.
    }
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut stderr)
        .expect("stderr");
    let status = child.wait().expect("wait");
    (status.code(), stderr)
}

#[test]
fn output_into_a_closed_pipe_ends_quietly() {
    let Some(photon) = oval("photon/com.vmware.phsa-photon3.xml") else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("db.redb");
    let db = db_arg(&db);
    let photon = photon.to_str().expect("utf-8");
    common::advisord_ok(&["--db", db, "ingest", "--format", "oval", photon]);

    // Output far larger than a pipe's buffer (64 KiB): after one byte is
    // read and the pipe closed, writing must fail with EPIPE whatever the
    // timing. A wrong dialect makes a long JSON error list (the file is
    // given twice to double it).
    let (code, stderr) = run_into_closed_pipe(
        &[
            "--db",
            db,
            "--log",
            "off",
            "ingest",
            "--format",
            "oval",
            "--dialect",
            "redhat",
            "--feed",
            "wrong",
            "--json",
            photon,
            photon,
        ],
        1,
    );
    assert_eq!(code, Some(0), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(stderr.is_empty(), "quiet: {stderr}");
    // Read whole, the same output ends with exit 1: every record was rejected.
    let whole = common::advisord(&[
        "--db",
        db,
        "--log",
        "off",
        "ingest",
        "--format",
        "oval",
        "--dialect",
        "redhat",
        "--feed",
        "wrong",
        "--json",
        photon,
        photon,
    ]);
    assert_eq!(whole.status.code(), Some(1));
    let out = whole.stdout;
    assert!(
        out.len() > 128 << 10,
        "the output really exceeds a pipe buffer: {}",
        out.len()
    );

    // Every printing command, with the reader gone before it writes.
    let id = {
        let out = common::advisord_ok(&[
            "--db",
            db,
            "query",
            "--ecosystem",
            "Photon OS:3.0",
            "--name",
            "linux",
        ]);
        out.split('\t').next().expect("an id").to_string()
    };
    for args in [
        &["get", id.as_str()][..],
        &[
            "query",
            "--ecosystem",
            "Photon OS:3.0",
            "--name",
            "linux",
            "--json",
        ],
        &["query", "--ecosystem", "Photon OS:3.0", "--name", "linux"],
        &["stats"],
        &["stats", "--json"],
        &["feeds"],
        &["feeds", "--json"],
        &["ingest", "--format", "oval", "--feed", "again", photon],
    ] {
        let mut all = vec!["--db", db, "--log", "off"];
        all.extend_from_slice(args);
        let (code, stderr) = run_into_closed_pipe(&all, 0);
        assert_eq!(code, Some(0), "{args:?}: {stderr}");
        assert!(stderr.is_empty(), "{args:?}: {stderr}");
    }
    // Other failures still report (the EPIPE case is not a blanket success).
    let (code, stderr) =
        run_into_closed_pipe(&["--db", db, "--log", "off", "get", "CVE-0000-0000"], 0);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("no record with id"), "{stderr}");
}
