//! `GET /metrics` of the real server: the exposition parses with
//! prometheus_client's Prometheus and OpenMetrics parsers (Python), its
//! counters move as requests are made, its labels are route templates, and
//! its scrape-time gauges agree with `advisord stats` on real data.

use serde_json::{json, Value};

use crate::common::{advisord_ok, ingest_osv, require_shared, shared, Server};

const GO_BULK: &str = "data/osv/bulk/golang-vulndb-data-osv.tar.gz";

/// The parsed samples of `text`, from `tests/tools/metrics_to_json.py`, or
/// `None` (skip) when Python's prometheus_client is not installed.
fn parse(text: &str) -> Option<Vec<(String, Value, f64)>> {
    use std::io::Write;
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/tools/metrics_to_json.py"
    );
    let probe = std::process::Command::new("python3")
        .args(["-c", "import prometheus_client"])
        .output();
    if !probe.is_ok_and(|o| o.status.success()) {
        assert!(
            !require_shared(),
            "python3 with prometheus_client is missing (pip install prometheus_client)"
        );
        eprintln!("skipping: python3 with prometheus_client is not installed");
        return None;
    }
    let mut child = std::process::Command::new("python3")
        .arg(script)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run python3");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())
        .expect("write exposition");
    let out = child.wait_with_output().expect("parser output");
    assert!(
        out.status.success(),
        "the Prometheus parsers refused /metrics: {}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    let parsed: Value = serde_json::from_slice(&out.stdout).expect("parser JSON");
    Some(
        parsed["samples"]
            .as_array()
            .expect("samples")
            .iter()
            .map(|s| {
                (
                    s[0].as_str().expect("name").to_string(),
                    s[1].clone(),
                    s[2].as_f64().expect("value"),
                )
            })
            .collect(),
    )
}

/// The value of sample `name` whose labels include `labels`; 0 when absent
/// (a counter not yet created).
fn value(samples: &[(String, Value, f64)], name: &str, labels: &Value) -> f64 {
    let wanted = labels.as_object().expect("label object");
    samples
        .iter()
        .filter(|(n, l, _)| n == name && wanted.iter().all(|(k, v)| l.get(k) == Some(v)))
        .map(|(_, _, v)| *v)
        .sum()
}

async fn scrape(client: &reqwest::Client, server: &Server) -> String {
    let response = client
        .get(server.url("/metrics"))
        .send()
        .await
        .expect("GET /metrics");
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"]
        .to_str()
        .expect("ascii")
        .to_string();
    assert!(
        content_type.starts_with("application/openmetrics-text"),
        "{content_type}"
    );
    response.text().await.expect("metrics text")
}

#[tokio::test]
async fn metrics_parse_and_counters_move_with_requests() {
    let Some(go) = shared(GO_BULK) else { return };
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("a.redb");
    ingest_osv(&db, &go, "osv-go");
    let stats: Value = serde_json::from_str(&advisord_ok(&[
        "--db",
        db.to_str().unwrap(),
        "stats",
        "--json",
    ]))
    .unwrap();
    let server = Server::start(&db);
    let client = reqwest::Client::new();

    let before_text = scrape(&client, &server).await;
    let Some(before) = parse(&before_text) else {
        return;
    };

    // Real requests: two health checks, a batch of three queries, a record
    // found and one not found, and a path no route serves.
    let id = stats_record_id(&client, &server).await;
    for _ in 0..2 {
        assert_eq!(
            client
                .get(server.url("/healthz"))
                .send()
                .await
                .unwrap()
                .status(),
            200
        );
    }
    let batch = json!({"queries": [
        {"package": {"ecosystem": "Go", "name": "stdlib"}, "version": "1.20.0"},
        {"package": {"ecosystem": "Go", "name": "golang.org/x/net"}, "version": "0.1.0"},
        {"package": {"purl": "pkg:golang/golang.org/x/crypto@0.1.0"}},
    ]});
    let response = client
        .post(server.url("/v1/querybatch"))
        .json(&batch)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let found = client
        .get(server.url(&format!("/v1/vulns/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(found.status(), 200);
    let missing = client
        .get(server.url("/v1/vulns/GO-1900-0001"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    let nowhere = client
        .get(server.url("/no/such/path"))
        .send()
        .await
        .unwrap();
    assert_eq!(nowhere.status(), 404);

    let after_text = scrape(&client, &server).await;
    let after = parse(&after_text).expect("parsed once already");
    let moved =
        |name: &str, labels: Value| value(&after, name, &labels) - value(&before, name, &labels);

    let requests = "advisord_http_requests_total";
    assert_eq!(
        moved(
            requests,
            json!({"route": "/healthz", "method": "GET", "status": "200"})
        ),
        2.0
    );
    assert_eq!(
        moved(
            requests,
            json!({"route": "/v1/querybatch", "method": "POST", "status": "200"})
        ),
        1.0
    );
    assert_eq!(
        moved(
            requests,
            json!({"route": "/v1/vulns/{id}", "method": "GET", "status": "200"})
        ),
        1.0
    );
    assert_eq!(
        moved(
            requests,
            json!({"route": "/v1/vulns/{id}", "method": "GET", "status": "404"})
        ),
        1.0
    );
    assert_eq!(
        moved(
            requests,
            json!({"route": "unmatched", "method": "GET", "status": "404"})
        ),
        1.0
    );
    // The first scrape itself was counted once it was answered.
    assert_eq!(
        moved(
            requests,
            json!({"route": "/metrics", "method": "GET", "status": "200"})
        ),
        1.0
    );
    assert_eq!(moved("advisord_querybatch_queries_total", json!({})), 3.0);
    assert_eq!(
        moved(
            "advisord_http_request_duration_seconds_count",
            json!({"route": "/v1/querybatch", "method": "POST"})
        ),
        1.0
    );
    assert!(
        moved(
            "advisord_http_request_duration_seconds_sum",
            json!({"route": "/v1/querybatch", "method": "POST"})
        ) > 0.0
    );

    // Bounded labels: no path or id ever becomes a label value.
    for (name, labels, _) in &after {
        let text = labels.to_string();
        assert!(
            !text.contains(&id) && !text.contains("GO-1900") && !text.contains("/no/such"),
            "{name} has an unbounded label: {text}"
        );
    }

    // Scrape-time gauges agree with the store.
    let feed = json!({"feed": "osv-go"});
    assert_eq!(
        value(&after, "advisord_feed_records", &feed),
        stats["feeds"]["osv-go"].as_f64().unwrap()
    );
    assert!(stats["feeds"]["osv-go"].as_u64().unwrap() > 100);
    let now = time::OffsetDateTime::now_utc().unix_timestamp() as f64;
    let success = value(
        &after,
        "advisord_feed_last_success_timestamp_seconds",
        &feed,
    );
    assert!(
        success > now - 600.0 && success <= now,
        "{success} vs {now}"
    );
    assert!(value(&after, "advisord_feed_age_seconds", &feed) < 600.0);
    assert_eq!(
        value(&after, "advisord_change_log_head_seq", &json!({})),
        stats["last_change_seq"].as_f64().unwrap()
    );
    assert!(value(&after, "advisord_change_log_oldest_seq", &json!({})) >= 1.0);
    assert_eq!(
        value(&after, "advisord_database_size_bytes", &json!({})),
        std::fs::metadata(&db).unwrap().len() as f64
    );
    for (kind, state) in [("changes", "active"), ("watch", "failing")] {
        assert!(after.iter().any(|(n, l, v)| n == "advisord_subscriptions"
            && l["kind"] == kind
            && l["state"] == state
            && *v == 0.0));
    }
    assert!(after.iter().any(|(n, _, _)| n == "advisord_heavy_running"));
}

/// An id the server holds, found through the API rather than hard-coded.
async fn stats_record_id(client: &reqwest::Client, server: &Server) -> String {
    let answer: Value = client
        .post(server.url("/v1/query"))
        .json(&json!({"package": {"ecosystem": "Go", "name": "stdlib"}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    answer["vulns"][0]["id"]
        .as_str()
        .expect("stdlib has advisories")
        .to_string()
}
