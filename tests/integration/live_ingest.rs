//! Data into a running server: `ingest --server URL` sends its sources to
//! `POST /v1/ingest` of a real `advisord serve`, and must give the offline
//! command's report, exit status and resulting database, on real data.

use serde_json::Value;

use crate::common::{advisord_ok, binary, get_json, shared, Server};

const GO_BULK: &str = "data/osv/bulk/golang-vulndb-data-osv.tar.gz";
const CRATES_DIR: &str = "data/osv/crates.io";
const TOKEN: &str = "operate-test-token";

/// `advisord ARGS` with `ADVISORD_ADMIN_TOKEN` set to `token` (if any).
fn run(args: &[&str], token: Option<&str>) -> std::process::Output {
    let mut command = std::process::Command::new(binary());
    command
        .args(args)
        .env_remove("ADVISORD_DB")
        .env_remove("ADVISORD_ADMIN_TOKEN");
    if let Some(token) = token {
        command.env("ADVISORD_ADMIN_TOKEN", token);
    }
    command.output().expect("run advisord")
}

/// `stats --json` without the clock-dependent feed ages.
fn stats(db: &std::path::Path) -> Value {
    let mut stats: Value = serde_json::from_str(&advisord_ok(&[
        "--db",
        db.to_str().unwrap(),
        "stats",
        "--json",
    ]))
    .unwrap();
    stats.as_object_mut().unwrap().remove("feed_age_secs");
    stats
}

#[tokio::test]
async fn ingest_through_a_running_server_matches_the_offline_command() {
    let Some(go) = shared(GO_BULK) else { return };
    let Some(crates) = shared(CRATES_DIR) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let offline_db = dir.path().join("offline.redb");
    let served_db = dir.path().join("served.redb");
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, r#"{"id": "BAD-1", "summary": "no modified time"}"#).unwrap();
    let go = go.to_str().unwrap();
    let crates = crates.to_str().unwrap();
    let bad = bad.to_str().unwrap();
    // One archive, a directory (packed into a tar on the way), and a batch
    // whose every record is rejected (exit 1, report still printed).
    let batches: [&[&str]; 3] = [
        &["--feed", "osv-go", go],
        &["--feed", "crates", crates],
        &["--feed", "bad", bad],
    ];

    let mut offline = Vec::new();
    for batch in batches {
        let mut args = vec!["--db", offline_db.to_str().unwrap(), "ingest", "--json"];
        args.extend_from_slice(batch);
        offline.push(run(&args, None));
    }

    let server = Server::start_with(&served_db, &[("ADVISORD_ADMIN_TOKEN", TOKEN)]);
    let url = server.base.clone();
    for (batch, offline) in batches.iter().zip(&offline) {
        let mut args = vec!["ingest", "--server", &url, "--json"];
        args.extend_from_slice(batch);
        let served = run(&args, Some(TOKEN));
        assert_eq!(
            served.status.code(),
            offline.status.code(),
            "{batch:?}: {}",
            String::from_utf8_lossy(&served.stderr)
        );
        let report = |out: &std::process::Output| -> Value {
            serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
                panic!(
                    "{batch:?}: no JSON report ({e}): {}",
                    String::from_utf8_lossy(&out.stderr)
                )
            })
        };
        assert_eq!(report(&served), report(offline), "{batch:?}");
        assert_eq!(
            String::from_utf8_lossy(&served.stderr).lines().last(),
            String::from_utf8_lossy(&offline.stderr).lines().last(),
            "{batch:?}"
        );
    }
    assert_eq!(offline[2].status.code(), Some(1));
    assert!(report_records(&offline[0]) > 100);

    // The running server answers from the new data at once.
    let first_id = {
        let report: Value = serde_json::from_slice(&offline[0].stdout).unwrap();
        assert!(report["outcome"]["created"].as_u64().unwrap() > 100);
        let out = advisord_ok(&[
            "--db",
            offline_db.to_str().unwrap(),
            "query",
            "--ecosystem",
            "Go",
            "--name",
            "stdlib",
        ]);
        out.lines()
            .next()
            .unwrap()
            .split('\t')
            .next()
            .unwrap()
            .to_string()
    };
    let answer = reqwest::get(server.url(&format!("/v1/vulns/{first_id}")))
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);

    // Without the token, or with a wrong one, nothing is sent.
    let none = run(&["ingest", "--server", &url, "--feed", "x", go], None);
    assert_eq!(none.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&none.stderr).contains("ADVISORD_ADMIN_TOKEN"));
    let wrong = run(
        &["ingest", "--server", &url, "--feed", "x", go],
        Some("wrong"),
    );
    assert_eq!(wrong.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&wrong.stderr).contains("401"),
        "{}",
        String::from_utf8_lossy(&wrong.stderr)
    );

    // Both databases now hold the same records, feeds and change log.
    drop(server);
    assert_eq!(stats(&served_db), stats(&offline_db));
}

fn report_records(out: &std::process::Output) -> u64 {
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    report["records"].as_u64().unwrap()
}

/// A feed file for `name` whose one URL is `url` (OSV snapshot).
fn feed_file(dir: &std::path::Path, name: &str, url: &str) {
    std::fs::write(
        dir.join(format!("{name}.toml")),
        format!(
            "name = {name:?}\nformat = \"osv\"\nurls = [{url:?}]\ninterval = \"1h\"\nenabled = true\nsnapshot = true\n"
        ),
    )
    .unwrap();
}

#[tokio::test]
async fn a_catalog_reload_makes_a_new_feed_syncable_without_restart() {
    let Some(go) = shared(GO_BULK) else { return };
    let url = crate::common::serve_file("/go.tar.gz", std::fs::read(&go).unwrap()).await;
    let dir = tempfile::tempdir().unwrap();
    let catalog = dir.path().join("catalog");
    std::fs::create_dir(&catalog).unwrap();
    let server = Server::start_args(
        &dir.path().join("a.redb"),
        &["--catalog", catalog.to_str().unwrap(), "--no-builtin"],
        &[("ADVISORD_ADMIN_TOKEN", TOKEN)],
    );
    let client = reqwest::Client::new();
    let post = |path: &str, token: &str| client.post(server.url(path)).bearer_auth(token).send();

    assert_eq!(
        post("/v1/feeds/local-go/sync", TOKEN)
            .await
            .unwrap()
            .status(),
        404
    );
    feed_file(&catalog, "local-go", &url);
    // Not seen until a reload; a reload needs the token.
    assert_eq!(
        post("/v1/feeds/local-go/sync", TOKEN)
            .await
            .unwrap()
            .status(),
        404
    );
    assert_eq!(
        post("/v1/catalog/reload", "wrong").await.unwrap().status(),
        401
    );
    let reload = post("/v1/catalog/reload", TOKEN).await.unwrap();
    assert_eq!(reload.status(), 200);
    let reload: Value = reload.json().await.unwrap();
    assert_eq!(reload["added"], serde_json::json!(["local-go"]));
    assert_eq!(reload["feeds"], 1);
    let report = post("/v1/feeds/local-go/sync", TOKEN).await.unwrap();
    assert_eq!(report.status(), 200);
    let report: Value = report.json().await.unwrap();
    assert_eq!(report["status"], "ingested", "{report}");
    assert!(report["records"].as_u64().unwrap() > 100, "{report}");

    // A broken feed file is refused by name and the catalog in use stays.
    std::fs::write(catalog.join("broken.toml"), "name = \n").unwrap();
    let refused = post("/v1/catalog/reload", TOKEN).await.unwrap();
    assert_eq!(refused.status(), 422);
    let refused: Value = refused.json().await.unwrap();
    assert!(
        refused["message"].as_str().unwrap().contains("broken.toml"),
        "{refused}"
    );
    std::fs::remove_file(catalog.join("broken.toml")).unwrap();

    // SIGHUP reloads too.
    feed_file(&catalog, "local-go-2", &url);
    let hup = std::process::Command::new("kill")
        .args(["-HUP", &server.pid().to_string()])
        .status()
        .unwrap();
    assert!(hup.success());
    let mut names = Vec::new();
    for _ in 0..50 {
        let (_, feeds) = get_json(&client, &server.url("/v1/feeds")).await;
        names = feeds["feeds"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["name"].as_str().unwrap().to_string())
            .collect();
        if names.iter().any(|n| n == "local-go-2") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(names.iter().any(|n| n == "local-go-2"), "{names:?}");
    assert_eq!(
        post("/v1/feeds/local-go-2/sync", TOKEN)
            .await
            .unwrap()
            .status(),
        200
    );
}

/// Sync reports without their wall times.
fn without_seconds(out: &std::process::Output) -> Value {
    let mut reports: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "no JSON reports ({e}): {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    for report in reports.as_array_mut().unwrap() {
        report.as_object_mut().unwrap().remove("seconds");
    }
    reports
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_from_mirror_through_a_running_server_matches_the_offline_command() {
    let Some(go) = shared(GO_BULK) else { return };
    let url = crate::common::serve_file("/go.tar.gz", std::fs::read(&go).unwrap()).await;
    let dir = tempfile::tempdir().unwrap();
    let catalog = dir.path().join("catalog");
    std::fs::create_dir(&catalog).unwrap();
    feed_file(&catalog, "mirrored-go", &url);
    let mirror = dir.path().join("mirror");
    let (cat, mir) = (catalog.clone(), mirror.clone());
    let pulled = tokio::task::spawn_blocking(move || {
        run(
            &[
                "mirror",
                "pull",
                "--catalog",
                cat.to_str().unwrap(),
                "--no-builtin",
                mir.to_str().unwrap(),
            ],
            None,
        )
    })
    .await
    .unwrap();
    assert!(
        pulled.status.success(),
        "{}",
        String::from_utf8_lossy(&pulled.stderr)
    );

    let offline_db = dir.path().join("offline.redb");
    let served_db = dir.path().join("served.redb");
    let mirror = mirror.to_str().unwrap();
    let offline = run(
        &[
            "--db",
            offline_db.to_str().unwrap(),
            "sync",
            "--from-mirror",
            mirror,
            "--json",
        ],
        None,
    );
    assert!(
        offline.status.success(),
        "{}",
        String::from_utf8_lossy(&offline.stderr)
    );
    let server = Server::start_with(&served_db, &[("ADVISORD_ADMIN_TOKEN", TOKEN)]);
    let served = run(
        &[
            "sync",
            "--from-mirror",
            mirror,
            "--server",
            &server.base,
            "--json",
        ],
        Some(TOKEN),
    );
    assert_eq!(
        served.status.code(),
        offline.status.code(),
        "{}",
        String::from_utf8_lossy(&served.stderr)
    );
    let reports = without_seconds(&served);
    assert_eq!(reports, without_seconds(&offline));
    assert_eq!(reports[0]["status"], "ingested", "{reports}");
    assert!(reports[0]["records"].as_u64().unwrap() > 100);

    // A feed the mirror does not hold: exit 1 naming it, as offline.
    let missing = run(
        &[
            "sync",
            "--from-mirror",
            mirror,
            "--server",
            &server.base,
            "no-such-feed",
        ],
        Some(TOKEN),
    );
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no-such-feed"));

    drop(server);
    assert_eq!(stats(&served_db), stats(&offline_db));
}

#[tokio::test]
async fn import_through_a_running_server_matches_the_offline_command() {
    let Some(crates) = shared(CRATES_DIR) else {
        return;
    };
    let Some(go) = shared(GO_BULK) else { return };
    let dir = tempfile::tempdir().unwrap();
    // An osv.dev-style tree written by `export --osv`, plus an ecosystem
    // directory holding one unreadable record.
    let source_db = dir.path().join("source.redb");
    crate::common::ingest_osv(&source_db, &go, "osv-go");
    crate::common::ingest_osv(&source_db, &crates, "crates");
    let tree = dir.path().join("tree");
    advisord_ok(&[
        "--db",
        source_db.to_str().unwrap(),
        "export",
        "--osv",
        tree.to_str().unwrap(),
    ]);
    std::fs::create_dir(tree.join("PyPI")).unwrap();
    std::fs::write(tree.join("PyPI/BAD-1.json"), "{\"id\": ").unwrap();

    let offline_db = dir.path().join("offline.redb");
    let served_db = dir.path().join("served.redb");
    let tree = tree.to_str().unwrap();
    let offline = run(
        &[
            "--db",
            offline_db.to_str().unwrap(),
            "import",
            "--json",
            tree,
        ],
        None,
    );
    assert!(
        offline.status.success(),
        "{}",
        String::from_utf8_lossy(&offline.stderr)
    );
    let server = Server::start_with(&served_db, &[("ADVISORD_ADMIN_TOKEN", TOKEN)]);
    let served = run(
        &["import", "--server", &server.base, "--json", tree],
        Some(TOKEN),
    );
    assert_eq!(
        served.status.code(),
        offline.status.code(),
        "{}",
        String::from_utf8_lossy(&served.stderr)
    );
    let report: Value = serde_json::from_slice(&served.stdout).unwrap();
    assert_eq!(
        report,
        serde_json::from_slice::<Value>(&offline.stdout).unwrap()
    );
    assert_eq!(report["feed"], "import:tree");
    assert!(report["records"].as_u64().unwrap() > 100, "{report}");
    assert_eq!(report["errors"].as_array().unwrap().len(), 1, "{report}");
    assert!(
        report["errors"][0]
            .as_str()
            .unwrap()
            .contains(&format!("{tree}/PyPI/BAD-1.json")),
        "{report}"
    );
    drop(server);
    assert_eq!(stats(&served_db), stats(&offline_db));
}

/// How [`refusing_server`] treats an upload.
#[derive(Clone, Copy, Debug)]
enum Upload {
    /// Read its head and a first piece of its body, then close the
    /// connection unanswered: the client sees only its upload cut off.
    CutOff,
    /// Answer 401 after its head and close without reading the body.
    AnsweredEarly,
}

/// A loopback stand-in for a server that refuses the client's token,
/// shaped so the race of the real one is decided: uploads are treated as
/// `upload` says, and any other request (the client's read-only
/// `GET /v1/subscriptions`) is answered 401. The base URL, and the request
/// lines seen so far.
fn refusing_server(upload: Upload) -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request_line = String::new();
            if reader.read_line(&mut request_line).is_err() {
                continue;
            }
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 0) && line.trim() != "" {
                line.clear();
            }
            let request_line = request_line.trim().to_string();
            log.lock().unwrap().push(request_line.clone());
            let body = r#"{"code": 16, "message": "invalid token"}"#;
            let refusal = format!(
                "HTTP/1.1 401 Unauthorized\r\ncontent-type: application/json\r\n\
                 connection: close\r\ncontent-length: {}\r\n\r\n{body}",
                body.len()
            );
            match (request_line.starts_with("POST "), upload) {
                (true, Upload::CutOff) => {
                    // Closing with body bytes unread resets the connection.
                    let _ = reader.read_exact(&mut [0u8; 1]);
                }
                _ => {
                    let _ = stream.write_all(refusal.as_bytes());
                }
            }
        }
    });
    (base, seen)
}

/// Issue 13: with a wrong token, a server answers 401 before reading the
/// upload and closes, and the client may see only its upload cut off
/// (EPIPE), which once exited 0 as if stdout were closed. The live test
/// above meets that race only sometimes; here a 32 MiB upload is cut off
/// every time (and, in the other shape, answered early), and `ingest`,
/// `import` and `sync --from-mirror` all exit 1 naming the 401.
#[test]
fn a_cut_off_upload_with_a_wrong_token_fails_naming_the_401() {
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("tree");
    std::fs::create_dir(&tree).unwrap();
    let big = tree.join("big.json");
    std::fs::write(&big, vec![b' '; 32 << 20]).unwrap();
    let (big, tree) = (big.to_str().unwrap(), tree.to_str().unwrap());
    for upload in [Upload::CutOff, Upload::AnsweredEarly] {
        let (url, seen) = refusing_server(upload);
        let commands: [&[&str]; 3] = [
            &["ingest", "--server", &url, "--feed", "x", big],
            &["import", "--server", &url, tree],
            &["sync", "--from-mirror", tree, "--server", &url],
        ];
        for args in commands {
            let out = run(args, Some("wrong"));
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(1), "{upload:?} {args:?}: {stderr}");
            assert!(
                stderr.contains("answered 401"),
                "{upload:?} {args:?}: {stderr}"
            );
        }
        let seen = seen.lock().unwrap().clone();
        let uploads = seen.iter().filter(|l| l.starts_with("POST /v1/")).count();
        assert_eq!(uploads, 3, "{seen:?}");
        if let Upload::CutOff = upload {
            // Each cut-off upload was followed by the client's question.
            let asked = seen
                .iter()
                .filter(|l| l.starts_with("GET /v1/subscriptions"))
                .count();
            assert_eq!(asked, 3, "{seen:?}");
        }
    }
}
