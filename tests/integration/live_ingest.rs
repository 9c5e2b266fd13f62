//! Data into a running server: `ingest --server URL` sends its sources to
//! `POST /v1/ingest` of a real `advisord serve`, and must give the offline
//! command's report, exit status and resulting database, on real data.

use serde_json::Value;

use crate::common::{advisord_ok, binary, shared, Server};

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
