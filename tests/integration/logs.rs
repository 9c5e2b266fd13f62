//! Logs and request ids of the real server: `x-request-id` on every
//! response (a sane client id kept, any other replaced), and
//! `--log-format json` giving one JSON object per line, the access lines
//! with request id, route template, status and latency, and the
//! "listening on" line among them.

use serde_json::Value;

use crate::common::Server;

/// The server's log lines so far, each parsed as JSON (any other line fails).
fn json_lines(path: &std::path::Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .expect("read log")
        .lines()
        .map(|line| {
            serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("log line is not JSON ({e}): {line}"))
        })
        .collect()
}

#[tokio::test]
async fn json_logs_name_each_request_by_its_id_route_and_status() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("a.redb");
    let log = dir.path().join("server.log");
    let mut command = std::process::Command::new(crate::common::binary());
    command
        .args(["--db", db.to_str().unwrap()])
        .args(Server::ARGS)
        .args(["--log", "info", "--log-format", "json"]);
    let server = Server::spawn_logging(command, std::fs::File::create(&log).unwrap());
    let client = reqwest::Client::new();

    // A sane id is kept; one with a space, or too long, is replaced.
    let kept = client
        .get(server.url("/healthz"))
        .header("x-request-id", "client-id-42")
        .send()
        .await
        .unwrap();
    assert_eq!(kept.headers()["x-request-id"], "client-id-42");
    let mut generated = Vec::new();
    for given in ["two words", &"x".repeat(200)] {
        let replaced = client
            .get(server.url("/healthz"))
            .header("x-request-id", given)
            .send()
            .await
            .unwrap();
        let id = replaced.headers()["x-request-id"]
            .to_str()
            .unwrap()
            .to_string();
        assert!(id.starts_with("req_") && id != given, "{id}");
        generated.push(id);
    }
    // Errors too carry an id, each request its own.
    let missing = client
        .get(server.url("/v1/vulns/GHSA-0000-0000-0000"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    let missing_id = missing.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_string();
    generated.push(missing_id.clone());
    let unique: std::collections::BTreeSet<_> = generated.iter().collect();
    assert_eq!(unique.len(), generated.len(), "{generated:?}");

    // The access line is written after the response is sent: give it a moment.
    let mut lines = Vec::new();
    for _ in 0..50 {
        lines = json_lines(&log);
        if lines.iter().any(|l| l["request_id"] == missing_id.as_str()) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let listening = lines
        .iter()
        .find(|l| {
            l["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("listening on http://"))
        })
        .expect("a listening-on line in the JSON log");
    assert_eq!(listening["level"], "INFO");
    assert_eq!(
        listening["address"].as_str().unwrap(),
        server.addr(),
        "{listening}"
    );

    let access = |id: &str| {
        lines
            .iter()
            .find(|l| l["target"] == "advisord::access" && l["request_id"] == id)
            .unwrap_or_else(|| panic!("no access line for {id}: {lines:#?}"))
            .clone()
    };
    let first = access("client-id-42");
    assert_eq!(first["route"], "/healthz");
    assert_eq!(first["status"], 200);
    assert!(first["latency_ms"].as_f64().is_some_and(|ms| ms >= 0.0));
    assert_eq!(first["span"]["request_id"], "client-id-42");
    let not_found = access(&missing_id);
    assert_eq!(not_found["route"], "/v1/vulns/{id}");
    assert_eq!(not_found["status"], 404);
}
