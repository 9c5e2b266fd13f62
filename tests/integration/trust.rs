//! Answers a scanner can trust, on real data: one spelling per distribution
//! release whichever source wrote it, and ingesting the same bytes twice
//! writes nothing whatever path, copy or archive member they came from.

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::path::Path;
use std::process::Command;

use serde_json::{json, Value};
use sha2::Digest;

use crate::common::{advisord_ok, binary, shared, Server};

/// `advisord --db DB ingest --format FORMAT --feed FEED --json PATH` run in
/// `cwd`; the JSON report.
fn ingest_in(cwd: &Path, db: &Path, format: &str, feed: &str, path: &str) -> Value {
    let out = Command::new(binary())
        .current_dir(cwd)
        .args(["--db", db.to_str().unwrap(), "--log", "error", "ingest"])
        .args(["--format", format, "--feed", feed, "--json", path])
        .env_remove("ADVISORD_DB")
        .output()
        .expect("run advisord");
    assert!(
        out.status.success(),
        "ingest {path}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("report JSON")
}

fn ingest(db: &Path, format: &str, feed: &str, path: &Path) -> Value {
    ingest_in(Path::new("."), db, format, feed, path.to_str().unwrap())
}

/// The JSON printed by `advisord --db DB ARGS`.
fn json_of(db: &Path, args: &[&str]) -> Value {
    let all = [&["--db", db.to_str().unwrap()][..], args].concat();
    serde_json::from_str(&advisord_ok(&all)).expect("JSON output")
}

fn changes(db: &Path) -> u64 {
    json_of(db, &["stats", "--json"])["changes"]
        .as_u64()
        .unwrap()
}

/// Asserts a second read wrote nothing.
fn assert_nothing_written(report: &Value, what: &str) {
    let o = &report["outcome"];
    assert_eq!(
        (&o["created"], &o["updated"], &o["withdrawn"]),
        (&json!(0), &json!(0), &json!(0)),
        "{what}: {report}"
    );
    assert!(o["unchanged"].as_u64().unwrap() > 0, "{what}: {report}");
}

/// Issue: the tracker wrote squeeze as `Debian:6`, DSA mail as `Debian:6.0`,
/// so a query saw half. Every Debian source now uses OSV.dev's spelling, and
/// a query spelled either way (also Ubuntu with or without `:LTS`, Alpine
/// with or without `v`) answers the same.
#[tokio::test]
async fn one_release_spelling_for_every_source_and_query() {
    let (Some(osv_dla), Some(dsa_list), Some(dsa_mail), Some(ubuntu), Some(alpine)) = (
        shared("data/osv/debian/DLA-0010-1.json"),
        shared("data/debian-tracker/list/vunnel-DSA.list"),
        shared("data/mail/debian/DSA-1553-1.eml"),
        shared("data/osv/ubuntu/UBUNTU-CVE-2021-3782.json"),
        shared("data/alpine-secdb/yaml/v3.4-main.yaml"),
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db.redb");
    ingest(&db, "osv", "osv-debian", &osv_dla);
    ingest(&db, "debian-tracker", "dsa-list", &dsa_list);
    ingest(&db, "mail", "debian-announce", &dsa_mail);
    ingest(&db, "osv", "osv-ubuntu", &ubuntu);
    ingest(&db, "alpine-secdb", "alpine", &alpine);
    let get = |id: &str| json_of(&db, &["get", id]);

    let ecosystems = |record: &Value| -> BTreeSet<String> {
        record["affected"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["package"]["ecosystem"].as_str().unwrap().to_string())
            .collect()
    };
    // The tracker's `[squeeze]` and OSV.dev's own record meet on `Debian:6.0`;
    // mail's etch is `Debian:4.0`, wheezy `Debian:7`.
    assert!(ecosystems(&get("DSA-2808-2")).contains("Debian:6.0"));
    assert!(ecosystems(&get("DSA-2808-2")).contains("Debian:7"));
    assert!(ecosystems(&get("DLA-0001-1")).contains("Debian:6.0"));
    assert!(ecosystems(&get("DSA-1553-1")).contains("Debian:4.0"));

    let server = Server::start(&db);
    let client = reqwest::Client::new();
    let ask = |ecosystem: &str, name: &str| {
        let body = json!({"package": {"ecosystem": ecosystem, "name": name}});
        let request = client.post(server.url("/v1/query")).json(&body);
        async move {
            let answer: Value = request.send().await.unwrap().json().await.unwrap();
            answer["vulns"]
                .as_array()
                .map(|v| {
                    v.iter()
                        .map(|r| r["id"].as_str().unwrap().to_string())
                        .collect::<BTreeSet<_>>()
                })
                .unwrap_or_default()
        }
    };
    let ubuntu_record: Value = serde_json::from_slice(&std::fs::read(&ubuntu).unwrap()).unwrap();
    let ubuntu_package = ubuntu_record["affected"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["package"]["ecosystem"] == "Ubuntu:22.04:LTS")
        .expect("a 22.04 entry")["package"]["name"]
        .as_str()
        .unwrap()
        .to_string();
    for (spellings, name, id) in [
        (["Debian:6", "Debian:6.0"], "gnutls26", "DLA-0001-1"),
        (["Debian:6", "Debian:6.0"], "openjpeg", "DSA-2808-2"),
        (["Debian:7.0", "Debian:7"], "openjpeg", "DSA-2808-2"),
        (["Debian:4", "Debian:4.0"], "ikiwiki", "DSA-1553-1"),
        (
            ["Ubuntu:22.04", "Ubuntu:22.04:LTS"],
            ubuntu_package.as_str(),
            "UBUNTU-CVE-2021-3782",
        ),
        (["Alpine:3.4", "Alpine:v3.4"], "openssl", ""),
    ] {
        let a = ask(spellings[0], name).await;
        let b = ask(spellings[1], name).await;
        assert!(!a.is_empty(), "{spellings:?} {name}");
        assert_eq!(a, b, "{spellings:?} {name}");
        assert!(
            id.is_empty() || a.contains(id),
            "{spellings:?} {name}: {a:?}"
        );
    }
}

/// The golang tarball's records as an OSV.dev `all.zip` (flat `ID.json`).
fn go_all_zip(tarball: &Path) -> Vec<u8> {
    let bytes = std::fs::read(tarball).unwrap();
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(bytes.as_slice()));
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default();
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let name = entry.path().unwrap().display().to_string();
        let Some(file) = name.rsplit('/').next().filter(|f| f.ends_with(".json")) else {
            continue;
        };
        let mut data = Vec::new();
        entry.read_to_end(&mut data).unwrap();
        writer.start_file(file, options).unwrap();
        writer.write_all(&data).unwrap();
    }
    writer.finish().unwrap().into_inner()
}

/// Issue: re-ingesting AlmaLinux's tarball reported 80 records "updated"
/// (the same id under almalinux8/9/10, the path compared as content), and
/// the same `all.zip` read as `goz/all.zip`, `./goz/all.zip` or a copy
/// marked all 4,291 updated. Provenance is not content: every shared OSV
/// tarball, and the zip under every path, adds no change entry the second time.
#[test]
fn ingesting_the_same_bytes_twice_writes_nothing() {
    let Some(bulk) = shared("data/osv/bulk") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db.redb");
    let mut tarballs: Vec<_> = std::fs::read_dir(&bulk)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    tarballs.sort();
    assert_eq!(tarballs.len(), 4);
    for tarball in &tarballs {
        let feed = tarball.file_name().unwrap().to_str().unwrap();
        let first = ingest(&db, "osv", feed, tarball);
        assert!(
            first["outcome"]["created"].as_u64().unwrap() > 100,
            "{first}"
        );
        let before = changes(&db);
        let again = ingest(&db, "osv", feed, tarball);
        assert_nothing_written(&again, feed);
        assert_eq!(changes(&db), before, "{feed}: no change entry");
    }

    // A fresh store for the zip read from three paths.
    let db = dir.path().join("zip.redb");
    let go = tarballs
        .iter()
        .find(|t| t.to_str().unwrap().contains("golang"))
        .unwrap();
    std::fs::create_dir_all(dir.path().join("goz")).unwrap();
    std::fs::create_dir_all(dir.path().join("copy")).unwrap();
    let zip = go_all_zip(go);
    std::fs::write(dir.path().join("goz/all.zip"), &zip).unwrap();
    std::fs::write(dir.path().join("copy/all.zip"), &zip).unwrap();
    let first = ingest_in(dir.path(), &db, "osv", "osv-go", "goz/all.zip");
    assert!(
        first["outcome"]["created"].as_u64().unwrap() > 4000,
        "{first}"
    );
    let before = changes(&db);
    for path in ["./goz/all.zip", "copy/all.zip", "goz/all.zip"] {
        let again = ingest_in(dir.path(), &db, "osv", "osv-go", path);
        assert_nothing_written(&again, path);
    }
    assert_eq!(changes(&db), before, "no change entry");
}

/// Issue 21: for `one.json.gz` the source was recorded as `one.json` and
/// the digest was of the decompressed bytes. The source is the file read,
/// the digest covers its bytes as read (README: "the file as fetched,
/// compressed if it was").
#[test]
fn source_is_the_file_read_and_digest_covers_its_bytes() {
    let Some(record) = shared("data/osv/debian/DLA-0010-1.json") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let gz_path = dir.path().join("one.json.gz");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&std::fs::read(&record).unwrap()).unwrap();
    let gz = gz.finish().unwrap();
    std::fs::write(&gz_path, &gz).unwrap();
    let db = dir.path().join("db.redb");
    ingest(&db, "osv", "osv-debian", &gz_path);
    let stored = json_of(&db, &["get", "DLA-0001-1"]);
    let source = &stored["database_specific"]["advisord"]["sources"][0];
    assert_eq!(source["source"], gz_path.to_str().unwrap());
    let want = format!("sha256:{}", hex::encode(sha2::Sha256::digest(&gz)));
    assert_eq!(source["digest"], want.as_str());
}

/// The same holds for every format, including those whose records carry
/// no date of their own (`modified` is then the read time: Alpine secdb,
/// the Debian tracker): read twice from two copies, nothing is written.
#[test]
fn every_format_read_twice_from_two_copies_writes_nothing() {
    let cases = [
        ("alpine-secdb", "data/alpine-secdb/yaml/v3.11-main.yaml"),
        (
            "debian-tracker",
            "data/debian-tracker/json/vunnel-debian.json",
        ),
        ("debian-tracker", "data/debian-tracker/list/vunnel-DSA.list"),
        (
            "mail",
            "data/mail/archives/ubuntu-security-announce/2020-August.txt.gz",
        ),
        (
            "oval",
            "data/oval/debian/oval-definitions-bullseye.excerpt.xml.bz2",
        ),
        ("csaf", "data/csaf/redhat/advisories/rhsa-2024_6163.json"),
    ];
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db.redb");
    for (format, relative) in cases {
        let Some(path) = shared(relative) else {
            return;
        };
        let copy = dir.path().join(path.file_name().unwrap());
        std::fs::copy(&path, &copy).unwrap();
        let first = ingest(&db, format, relative, &path);
        assert!(first["outcome"]["created"].as_u64().unwrap() > 0, "{first}");
        let before = changes(&db);
        let again = ingest(&db, format, relative, &copy);
        assert_nothing_written(&again, relative);
        assert_eq!(changes(&db), before, "{relative}: no change entry");
    }
}
