//! Hostile inputs (issue 13): inputs that once aborted the process, ran it
//! out of memory or read outside the input are fed through `advisord
//! ingest` and through a catalog sync inside a real `advisord serve`. The
//! process lives, the input fails with a named error, stored data stays.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::{advisord, advisord_ok, binary, get_json};

/// OVAL whose one definition nests criteria `levels` deep (50,000 levels
/// make the 1.7 MB file that overflowed the stack).
pub fn deep_oval(levels: usize) -> Vec<u8> {
    let mut xml = String::from(
        r#"<?xml version="1.0"?>
<oval_definitions xmlns="http://oval.mitre.org/XMLSchema/oval-definitions-5">
 <generator><product_name>Red Hat OVAL Patch Definition Merger</product_name></generator>
 <definitions><definition class="patch" id="oval:com.redhat.rhsa:def:20240001" version="1">
  <metadata><title>RHSA-2024:0001: deep</title></metadata>
"#,
    );
    xml.push_str(&r#"<criteria operator="AND">"#.repeat(levels));
    xml.push_str(r#"<criterion test_ref="oval:com.redhat.rhsa:tst:1"/>"#);
    xml.push_str(&"</criteria>".repeat(levels));
    xml.push_str("</definition></definitions><tests/><objects/><states/></oval_definitions>\n");
    xml.into_bytes()
}

/// A mail whose parts nest `levels` deep as message/rfc822.
pub fn nested_mail(levels: usize) -> Vec<u8> {
    let mut mail =
        b"From: a@example.org\nSubject: [SECURITY] [DSA 5000-1] x security update\n".to_vec();
    for _ in 0..levels {
        mail.extend_from_slice(b"Content-Type: message/rfc822\n\nFrom: b@example.org\n");
    }
    mail.extend_from_slice(b"\nbody\n");
    mail
}

/// A mail whose one part is a base64-encoded message/rfc822 hiding
/// `levels` nested messages (mail readers decode and parse it).
pub fn nested_mail_base64(levels: usize) -> Vec<u8> {
    use base64::Engine;
    let mut inner = Vec::new();
    for _ in 0..levels {
        inner.extend_from_slice(b"Content-Type: message/rfc822\n\nFrom: b@example.org\n");
    }
    inner.extend_from_slice(b"\nbody\n");
    let encoded = base64::engine::general_purpose::STANDARD.encode(inner);
    let mut mail = b"From: a@example.org\nSubject: [SECURITY] [DSA 5000-1] x security update\n\
        Content-Type: message/rfc822\nContent-Transfer-Encoding: base64\n\n"
        .to_vec();
    for line in encoded.as_bytes().chunks(76) {
        mail.extend_from_slice(line);
        mail.push(b'\n');
    }
    mail
}

/// `mib` MiB of zeros, gzip'd as repeated 1 MiB members (1 GiB is ~1 MB).
pub fn zeros_gz(mib: usize) -> Vec<u8> {
    let mut member = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    member.write_all(&vec![0u8; 1 << 20]).expect("gzip");
    let member = member.finish().expect("gzip");
    member.repeat(mib)
}

/// A zip whose `entries` central-directory entries all point at one
/// deflate stream of 1 MiB of zeros (each entry a different name).
pub fn overlapping_zip(entries: usize) -> Vec<u8> {
    let data = vec![0u8; 1 << 20];
    let mut deflate = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    deflate.write_all(&data).expect("deflate");
    let packed = deflate.finish().expect("deflate");
    let mut crc = flate2::Crc::new();
    crc.update(&data);
    let (crc, csize, usize_) = (crc.sum(), packed.len() as u32, data.len() as u32);
    let name = b"m.json";
    let mut zip = Vec::new();
    zip.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
    for v in [20u16, 0, 8, 0, 0x21] {
        zip.extend_from_slice(&v.to_le_bytes());
    }
    for v in [crc, csize, usize_] {
        zip.extend_from_slice(&v.to_le_bytes());
    }
    zip.extend_from_slice(&(name.len() as u16).to_le_bytes());
    zip.extend_from_slice(&0u16.to_le_bytes());
    zip.extend_from_slice(name);
    zip.extend_from_slice(&packed);
    let cd_start = zip.len() as u32;
    for i in 0..entries {
        let name = format!("m{i:05}.json");
        zip.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
        for v in [20u16, 20, 0, 8, 0, 0x21] {
            zip.extend_from_slice(&v.to_le_bytes());
        }
        for v in [crc, csize, usize_] {
            zip.extend_from_slice(&v.to_le_bytes());
        }
        for v in [name.len() as u16, 0, 0, 0, 0] {
            zip.extend_from_slice(&v.to_le_bytes());
        }
        zip.extend_from_slice(&0u32.to_le_bytes()); // external attributes
        zip.extend_from_slice(&0u32.to_le_bytes()); // every entry: offset 0
        zip.extend_from_slice(name.as_bytes());
    }
    let cd_size = zip.len() as u32 - cd_start;
    zip.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    for v in [0u16, 0, entries as u16, entries as u16] {
        zip.extend_from_slice(&v.to_le_bytes());
    }
    zip.extend_from_slice(&cd_size.to_le_bytes());
    zip.extend_from_slice(&cd_start.to_le_bytes());
    zip.extend_from_slice(&0u16.to_le_bytes());
    zip
}

/// One valid OSV record, stored first so "stored data unchanged" is seen.
const GOOD: &str = r#"{"id": "GOOD-0001", "modified": "2024-01-01T00:00:00Z",
 "affected": [{"package": {"ecosystem": "PyPI", "name": "goodpkg"},
   "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.0"}]}]}]}"#;

/// Each hostile input: file name, format, bytes, and what the error says
/// (for JSON formats that skip unknown fields without recursion, a deep
/// value is merely not a document of the format: the error names the file).
fn crash_inputs() -> Vec<(&'static str, &'static str, Vec<u8>, &'static str)> {
    let deep_array = "[".repeat(1_000_000).into_bytes();
    // Closed, so a reader that skips unknown fields skips all of it.
    let deep_object =
        format!("{}1{}", "{\"a\":".repeat(1_000_000), "}".repeat(1_000_000)).into_bytes();
    vec![
        (
            "deep.oval.xml",
            "oval",
            deep_oval(50_000),
            "nested deeper than 128",
        ),
        (
            "nested.eml",
            "mail",
            nested_mail(50_000),
            "nested deeper than 32",
        ),
        (
            "nested-base64.eml",
            "mail",
            nested_mail_base64(50_000),
            "nested deeper than 32",
        ),
        (
            "zeros.oval.xml.gz",
            "oval",
            zeros_gz(1024),
            "bytes without markup",
        ),
        ("zeros.json.gz", "osv", zeros_gz(1024), "decompression bomb"),
        (
            "zeros-tracker.json.gz",
            "debian-tracker",
            zeros_gz(1024),
            "exceeds the cap of 33554432 bytes",
        ),
        ("overlap.zip", "osv", overlapping_zip(1000), "overlap"),
        ("deep.json", "osv", deep_array, "recursion limit"),
        (
            "deep-csaf.json",
            "csaf",
            deep_object.clone(),
            "deep-csaf.json",
        ),
        (
            "deep-secdb.json",
            "alpine-secdb",
            deep_object.clone(),
            "deep-secdb.json",
        ),
        (
            "deep-tracker.json",
            "debian-tracker",
            deep_object,
            "0 records",
        ),
        (
            "deep.yaml",
            "osv",
            "[".repeat(100_000).into_bytes(),
            "recursion limit",
        ),
    ]
}

fn write_inputs(dir: &Path) -> Vec<(PathBuf, &'static str, &'static str)> {
    crash_inputs()
        .into_iter()
        .map(|(name, format, bytes, says)| {
            let path = dir.join(name);
            std::fs::write(&path, bytes).expect("write input");
            (path, format, says)
        })
        .collect()
}

/// `stats --json` without the feeds' ages, which move with the clock.
fn stats(db: &str) -> Value {
    let mut stats: Value =
        serde_json::from_str(&advisord_ok(&["--db", db, "stats", "--json"])).expect("stats json");
    if let Some(object) = stats.as_object_mut() {
        object.remove("feed_age_secs");
    }
    stats
}

#[test]
fn crash_inputs_through_ingest_fail_by_name_and_leave_the_store() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("a.redb");
    let db = db.to_str().expect("utf-8");
    let good = dir.path().join("good.json");
    std::fs::write(&good, GOOD).expect("write");
    advisord_ok(&[
        "--db",
        db,
        "ingest",
        "--feed",
        "hostile",
        good.to_str().expect("utf-8"),
    ]);
    let before = stats(db);
    for (path, format, says) in write_inputs(dir.path()) {
        let started = Instant::now();
        let out = advisord(&[
            "--db",
            db,
            "ingest",
            "--format",
            format,
            "--feed",
            "hostile",
            path.to_str().expect("utf-8"),
        ]);
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        // Alive: an exit code, not a signal (abort, stack overflow, OOM kill).
        assert!(
            out.status.code().is_some(),
            "{}: killed\n{text}",
            path.display()
        );
        assert!(
            text.contains(says),
            "{}: {says:?} not in\n{text}",
            path.display()
        );
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{}: {:?}",
            path.display(),
            started.elapsed()
        );
        assert_eq!(stats(db), before, "{}: store changed", path.display());
    }
}

#[test]
fn directory_walks_skip_links_and_never_leave_the_tree() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tree = dir.path().join("tree");
    std::fs::create_dir(&tree).expect("mkdir");
    std::fs::write(tree.join("good.json"), GOOD).expect("write");
    std::os::unix::fs::symlink(".", tree.join("self1")).expect("link");
    std::os::unix::fs::symlink(".", tree.join("self2")).expect("link");
    std::os::unix::fs::symlink("/etc", tree.join("etc")).expect("link");
    std::os::unix::fs::symlink("/etc/passwd", tree.join("passwd.json")).expect("link");
    let db = dir.path().join("a.redb");
    let db = db.to_str().expect("utf-8");
    let tree = tree.to_str().expect("utf-8");
    for (format, follow) in [
        ("osv", false),
        ("osv", true),
        ("mail", true),
        ("csaf", true),
    ] {
        let mut args = vec!["--db", db, "ingest", "--format", format, "--json", tree];
        if follow {
            args.push("--follow-symlinks");
        }
        let started = Instant::now();
        let out = advisord(&args);
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(started.elapsed() < Duration::from_secs(30), "{args:?} hung");
        // The one file is an OSV record: read as mail or CSAF, every record
        // is rejected, which exits 1; nothing else may end the process.
        assert!(matches!(out.status.code(), Some(0 | 1)), "{args:?}\n{text}");
        assert!(
            !text.contains("root:"),
            "{args:?} quoted /etc/passwd\n{text}"
        );
        let report: Value = serde_json::from_slice(&out.stdout).expect("report");
        // good.json once: not again through self1/ or self2/.
        assert_eq!(report["files"], 1, "{args:?}\n{text}");
    }
    // import walks the same way.
    let out = advisord(&["--db", db, "import", "--follow-symlinks", tree]);
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(!text.contains("root:"), "{text}");
}

/// Serves the files of `dir` over loopback HTTP until the test ends.
async fn serve_dir(dir: PathBuf) -> String {
    use axum::response::IntoResponse;
    let app = axum::Router::new().fallback(move |uri: axum::http::Uri| {
        let file = dir.join(uri.path().trim_start_matches('/'));
        async move {
            match tokio::fs::read(file).await {
                Ok(body) => body.into_response(),
                Err(_) => axum::http::StatusCode::NOT_FOUND.into_response(),
            }
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    base
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_inputs_as_catalog_feeds_leave_serve_up() {
    let dir = tempfile::tempdir().expect("tempdir");
    let files = dir.path().join("upstream");
    std::fs::create_dir(&files).expect("mkdir");
    let inputs = write_inputs(&files);
    let base = serve_dir(files.clone()).await;
    let catalog = dir.path().join("catalog");
    std::fs::create_dir(&catalog).expect("mkdir");
    let mut names = Vec::new();
    for (path, format, _) in &inputs {
        let file = path.file_name().and_then(|n| n.to_str()).expect("name");
        let name = format!("hostile-{}", file.replace('.', "-"));
        std::fs::write(
            catalog.join(format!("{name}.toml")),
            format!(
                "name = {name:?}\nformat = {format:?}\nurls = [\"{base}/{file}\"]\ninterval = \"1h\"\nenabled = true\nsnapshot = true\n"
            ),
        )
        .expect("catalog");
        names.push(name);
    }
    let db = dir.path().join("a.redb");
    let good = dir.path().join("good.json");
    std::fs::write(&good, GOOD).expect("write");
    let db_arg = db.to_str().expect("utf-8");
    advisord_ok(&[
        "--db",
        db_arg,
        "ingest",
        "--feed",
        "hostile-0",
        good.to_str().expect("utf-8"),
    ]);

    let mut child = std::process::Command::new(binary())
        .args([
            "--db",
            db_arg,
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--no-builtin",
        ])
        .arg("--catalog")
        .arg(&catalog)
        .env("ADVISORD_LOG", "info")
        .stdout(std::process::Stdio::piped())
        .stderr(std::fs::File::create(dir.path().join("serve.log")).expect("log"))
        .spawn()
        .expect("spawn serve");
    let mut stdout = std::io::BufReader::new(child.stdout.take().expect("stdout"));
    let mut line = String::new();
    std::io::BufRead::read_line(&mut stdout, &mut line).expect("line");
    // Keep reading what serve prints (sync summaries), so it never writes
    // into a closed pipe.
    std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
    let server = line
        .trim()
        .strip_prefix("listening on ")
        .expect("listening")
        .to_string();
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    let feeds = loop {
        assert!(child.try_wait().expect("wait").is_none(), "serve died");
        let (status, feeds) = get_json(&client, &format!("{server}/v1/feeds")).await;
        assert_eq!(status, 200, "GET /v1/feeds: {feeds}");
        let all_tried = names.iter().all(|n| {
            feeds["feeds"].as_array().into_iter().flatten().any(|f| {
                f["name"] == n.as_str()
                    && (!f["last_error"].is_null() || !f["last_success"].is_null())
            })
        });
        if all_tried {
            break feeds;
        }
        if Instant::now() > deadline {
            let summary: Vec<String> = feeds["feeds"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|f| {
                    format!(
                        "{} {} {} {}",
                        f["name"], f["last_attempt"], f["last_success"], f["last_error"]
                    )
                })
                .collect();
            let log = std::fs::read_to_string(dir.path().join("serve.log")).unwrap_or_default();
            let log: Vec<&str> = log
                .lines()
                .filter(|l| l.contains("hostile-0") || l.contains("schedul") || l.contains("ERROR"))
                .collect();
            panic!("feeds not all synced: {summary:#?}\n{log:#?}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let health = client
        .get(format!("{server}/healthz"))
        .send()
        .await
        .expect("healthz");
    assert!(health.status().is_success());
    assert!(child.try_wait().expect("wait").is_none(), "serve died");
    for (name, (path, _, says)) in names.iter().zip(&inputs) {
        let feed = feeds["feeds"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|f| f["name"] == name.as_str())
            .expect("feed");
        // A whole-file failure fails the sync by name; a mail message that
        // nests too deep is one rejected record of its feed.
        let failed = feed["last_error"]
            .as_str()
            .is_some_and(|e| e.contains(says));
        let rejected = feed["last_rejected"] == 1 && feed["records"] == 0;
        // A tracker whose deep value names no issue is read as empty.
        let empty = *says == "0 records" && feed["records"] == 0;
        assert!(
            failed || rejected || empty,
            "{}: {} {} {} {}",
            path.display(),
            feed["name"],
            feed["last_error"],
            feed["last_rejected"],
            feed["records"]
        );
    }
    // The record stored before is still served.
    let (status, good) = get_json(&client, &format!("{server}/v1/vulns/GOOD-0001")).await;
    assert_eq!(status, 200, "GET /v1/vulns/GOOD-0001: {good}");
    assert_eq!(good["id"], "GOOD-0001");
    let _ = child.kill();
    let _ = child.wait();
}

/// Serves `body` at `/zeros.json` with `Content-Encoding: gzip`, sent
/// whether or not the client asked for it, as a hostile server may.
async fn serve_content_encoded(body: Vec<u8>) -> String {
    let app = axum::Router::new().route(
        "/zeros.json",
        axum::routing::get(move || {
            let body = body.clone();
            async move { ([(axum::http::header::CONTENT_ENCODING, "gzip")], body) }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/zeros.json", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

/// Issue 13: reqwest inflated a `Content-Encoding: gzip` body with no cap, so
/// a gzip bomb bypassed --max-decompressed and the inflation-ratio check.
/// Bodies are now stored as sent and inflated by the capped reader.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gzip_bomb_sent_as_content_encoding_is_capped_like_a_file() {
    use advisord::feeds::http::{FetchOptions, FetchOutcome, Fetcher, Validators};
    use advisord::feeds::{for_each_file_with, FeedError, ReadLimits};
    let bomb = zeros_gz(1024);
    let url = serve_content_encoded(bomb.clone()).await;
    let dir = tempfile::tempdir().expect("tempdir");

    // A sync's download keeps the compressed bytes.
    let fetcher = Fetcher::new(FetchOptions::default()).expect("client");
    let dest = dir.path().join("zeros.json");
    let outcome = fetcher
        .fetch_to_file(&url, &dest, &Validators::default(), false, None)
        .await
        .expect("download");
    let FetchOutcome::Downloaded(downloaded) = outcome else {
        panic!("not downloaded: {outcome:?}");
    };
    assert_eq!(downloaded.size, bomb.len() as u64);
    assert_eq!(std::fs::read(&dest).expect("read"), bomb);
    // Reading it inflates through the capped reader: refused as a bomb
    // (and, under the ratio, by --max-decompressed).
    let read = |max_decompressed| {
        let limits = ReadLimits {
            max_decompressed,
            max_document: max_decompressed,
            follow_symlinks: false,
        };
        let mut files = 0;
        let result = for_each_file_with(&dest, limits, &mut |_| files += 1);
        (result, files)
    };
    let (result, files) = read(2 << 30);
    assert!(matches!(result, Err(FeedError::Ratio { .. })), "{result:?}");
    assert_eq!(files, 0);
    let (result, _) = read(16 << 20);
    assert!(
        matches!(result, Err(FeedError::TooLarge { limit, .. }) if limit == 16 << 20),
        "{result:?}"
    );

    // `ingest URL` (an in-memory download) fails the same way, by name.
    let db = dir.path().join("a.redb");
    let out = tokio::task::spawn_blocking(move || {
        advisord(&[
            "--db",
            db.to_str().expect("utf-8"),
            "ingest",
            "--format",
            "osv",
            "--feed",
            "bomb",
            url.as_str(),
        ])
    })
    .await
    .expect("ingest");
    let text = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("decompression bomb") && text.contains("zeros.json"),
        "{text}"
    );
}

/// `advisord --db DB ingest --format FORMAT --feed big --max-document 16K
/// PATH` (plus `extra` flags): its exit code and everything it printed.
fn ingest_capped(db: &str, format: &str, path: &Path) -> (Option<i32>, String) {
    let out = advisord(&[
        "--db",
        db,
        "ingest",
        "--format",
        format,
        "--feed",
        "big",
        "--max-document",
        "16K",
        path.to_str().expect("utf-8"),
    ]);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), text)
}

/// A gzip of `bytes`.
fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(bytes).expect("gzip");
    gz.finish().expect("gzip")
}

/// One document of each non-OVAL format, well-formed but 40 KiB of text
/// long: past a 16 KiB `--max-document`.
fn oversized_documents() -> Vec<(&'static str, &'static str, Vec<u8>)> {
    let text = "x".repeat(40 << 10);
    vec![
        (
            "big.json",
            "osv",
            format!(r#"{{"id": "BIG-0001", "modified": "2024-01-01T00:00:00Z", "details": "{text}"}}"#)
                .into_bytes(),
        ),
        (
            "big.json.gz",
            "osv",
            gzip(
                format!(r#"{{"id": "BIG-0002", "modified": "2024-01-01T00:00:00Z", "details": "{text}"}}"#)
                    .as_bytes(),
            ),
        ),
        (
            "big-secdb.json",
            "alpine-secdb",
            format!(r#"{{"distroversion": "v3.20", "reponame": "main", "x": "{text}", "packages": []}}"#)
                .into_bytes(),
        ),
        (
            "big-csaf.json",
            "csaf",
            format!(r#"{{"document": {{"category": "csaf_vex", "title": "{text}"}}}}"#).into_bytes(),
        ),
        (
            "big.eml",
            "mail",
            format!("From: a@example.org\nSubject: [SECURITY] [DSA 1-1] x\n\n{text}\n").into_bytes(),
        ),
        (
            "big-list",
            "debian-tracker",
            format!("[01 Jan 2024] DSA-1-1 x - {text}\n").into_bytes(),
        ),
        (
            "big-tracker.json",
            "debian-tracker",
            format!(
                r#"{{"small": {{"CVE-2024-0001": {{"releases": {{}}}}}},
                    "bigpkg": {{"CVE-2024-0002": {{"description": "{text}", "releases": {{}}}}}}}}"#
            )
            .into_bytes(),
        ),
    ]
}

/// Issue 13: "memory per input is bounded, whatever it decompresses to".
/// Each format's document past `--max-document` (plain, gzip, a tracker
/// package) is refused with the named error, its file named, and the
/// stored data is unchanged.
#[test]
fn each_oversized_document_is_refused_by_name_and_leaves_the_store() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("a.redb");
    let db = db.to_str().expect("utf-8");
    let good = dir.path().join("good.json");
    std::fs::write(&good, GOOD).expect("write");
    advisord_ok(&[
        "--db",
        db,
        "ingest",
        "--feed",
        "big",
        good.to_str().expect("utf-8"),
    ]);
    let before = stats(db);
    for (name, format, bytes) in oversized_documents() {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).expect("write");
        let (code, text) = ingest_capped(db, format, &path);
        assert_eq!(code, Some(1), "{name}: {text}");
        assert!(
            text.contains("exceeds the cap of 16384 bytes (--max-document)"),
            "{name}: {text}"
        );
        assert!(text.contains(name), "{name}: file not named in {text}");
        if name == "big-tracker.json" {
            assert!(text.contains(r#"package "bigpkg""#), "{text}");
        }
        assert_eq!(stats(db), before, "{name}: store changed");
    }
}

/// The rest of a feed lands: in a zip, the member past `--max-document` is
/// one error naming it, the member beside it is stored.
#[test]
fn an_oversized_member_is_refused_and_the_rest_of_the_archive_lands() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("a.redb");
    let db = db.to_str().expect("utf-8");
    let zip_path = dir.path().join("all.zip");
    {
        let file = std::fs::File::create(&zip_path).expect("create");
        let mut zip = zip::ZipWriter::new(file);
        let options = zip::write::SimpleFileOptions::default();
        zip.start_file("GOOD-0001.json", options).expect("zip");
        zip.write_all(GOOD.as_bytes()).expect("zip");
        zip.start_file("BIG-0001.json", options).expect("zip");
        let (_, _, big) = oversized_documents().remove(0);
        zip.write_all(&big).expect("zip");
        zip.finish().expect("zip");
    }
    let (code, text) = ingest_capped(db, "osv", &zip_path);
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains("all.zip!BIG-0001.json") && text.contains("exceeds the cap of 16384 bytes"),
        "{text}"
    );
    let got = advisord_ok(&["--db", db, "get", "GOOD-0001"]);
    assert!(got.contains("goodpkg"), "{got}");
    assert!(!advisord(&["--db", db, "get", "BIG-0001"]).status.success());
}

/// The Debian tracker's one JSON object is read a package at a time: a
/// file far past `--max-document` whose packages are each under it lands
/// whole, plain or gzip-compressed.
#[test]
fn a_tracker_file_past_the_document_cap_streams_by_package() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("a.redb");
    let db = db.to_str().expect("utf-8");
    let description = "d".repeat(1000);
    let packages: Vec<String> = (0..200)
        .map(|i| {
            format!(
                r#""pkg{i}": {{"CVE-2024-{:04}": {{"description": "{description}",
                  "releases": {{"bookworm": {{"status": "resolved", "fixed_version": "1.{i}",
                  "urgency": "low"}}}}}}}}"#,
                1000 + i
            )
        })
        .collect();
    let json = format!("{{{}}}", packages.join(","));
    assert!(json.len() > 10 * (16 << 10));
    for (name, bytes) in [
        ("tracker.json", json.clone().into_bytes()),
        ("tracker.json.gz", gzip(json.as_bytes())),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).expect("write");
        let (code, text) = ingest_capped(db, "debian-tracker", &path);
        assert_eq!(code, Some(0), "{name}: {text}");
        assert!(text.contains("200 records"), "{name}: {text}");
    }
    let got = advisord_ok(&["--db", db, "get", "DEBIAN-CVE-2024-1199"]);
    assert!(got.contains("pkg199") && got.contains("1.199"), "{got}");
}

/// OVAL has no document cap (it streams definition by definition): an
/// OVAL file inside a directory, past `--max-document`, is still read.
#[test]
fn oval_files_are_not_capped_as_documents() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("a.redb");
    let db = db.to_str().expect("utf-8");
    let tree = dir.path().join("tree");
    std::fs::create_dir(&tree).expect("mkdir");
    let mut oval = deep_oval(10);
    // Padding (a comment) past the 16 KiB cap, before the root element ends.
    let at = oval.len() - "</oval_definitions>".len() - 1;
    let padding = format!("<!-- {} -->", "p".repeat(40 << 10));
    oval.splice(at..at, padding.into_bytes());
    std::fs::write(tree.join("big.oval.xml"), oval).expect("write");
    let (_, text) = ingest_capped(db, "oval", &tree);
    assert!(!text.contains("--max-document"), "{text}");
}
