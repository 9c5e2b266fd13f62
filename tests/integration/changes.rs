//! Change feed, webhooks and watches against the real server on a real
//! port, with a real webhook receiver (an axum server in the test) that
//! records bodies and headers and can fail on purpose.
//!
//! Ingests go through `advisord ingest` while the server is stopped (redb
//! allows one process per file), then the server is started again: this is
//! also the "restart mid-stream" case, since deliveries must resume from the
//! cursors stored in the database.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use hmac::{Hmac, Mac};
use serde_json::{json, Value};

use crate::common::{advisord, advisord_ok, ingest_osv, shared, Server};

const TOKEN: &str = "test-admin-token";
const SECRET: &str = "webhook-secret-1";

/// Settings that make the background loops quick for tests.
fn env() -> Vec<(&'static str, &'static str)> {
    vec![
        ("ADVISORD_ADMIN_TOKEN", TOKEN),
        ("ADVISORD_POLL_MS", "50"),
        ("ADVISORD_WEBHOOK_BACKOFF_MS", "20"),
        ("ADVISORD_WEBHOOK_BACKOFF_MAX_MS", "200"),
        ("ADVISORD_WEBHOOK_MAX_ATTEMPTS", "3"),
        ("ADVISORD_WEBHOOK_BATCH", "40"),
        ("ADVISORD_SSE_HEARTBEAT_SECS", "1"),
        // The receivers run on loopback.
        ("ADVISORD_ALLOW_PRIVATE_WEBHOOKS", "true"),
    ]
}

/// Writes `ids` as OSV records, each affecting npm package `pkg-(n % 10)`
/// below `fixed` (`None`: no fix), into a fresh directory under `dir`.
fn write_records(dir: &Path, batch: &str, ids: &[String], fixed: Option<&str>) -> PathBuf {
    let out = dir.join(batch);
    std::fs::create_dir_all(&out).unwrap();
    for id in ids {
        let n: usize = id.rsplit('-').next().unwrap().parse().unwrap();
        let mut events = vec![json!({"introduced": "0"})];
        if let Some(f) = fixed {
            events.push(json!({"fixed": f}));
        }
        let record = json!({
            "schema_version": "1.6.0",
            "id": id,
            "modified": format!("2024-01-01T00:00:{:02}Z", n % 60),
            "published": "2024-01-01T00:00:00Z",
            "aliases": [format!("CVE-2099-{n:05}")],
            "affected": [{
                "package": {"ecosystem": "npm", "name": format!("pkg-{}", n % 10)},
                "ranges": [{"type": "SEMVER", "events": events}]
            }]
        });
        std::fs::write(out.join(format!("{id}.json")), record.to_string()).unwrap();
    }
    out
}

fn ids(range: std::ops::RangeInclusive<usize>) -> Vec<String> {
    range.map(|n| format!("TEST-{n:04}")).collect()
}

/// One POST the receiver got.
#[derive(Clone, Debug)]
struct Delivery {
    headers: HeaderMap,
    body: Bytes,
}

/// A webhook receiver: records successful deliveries, answers 500 to the
/// first `fail` requests, counts every attempt.
#[derive(Clone, Default)]
struct Receiver {
    got: Arc<Mutex<Vec<Delivery>>>,
    fail: Arc<AtomicUsize>,
    attempts: Arc<AtomicUsize>,
}

async fn receive(State(r): State<Receiver>, headers: HeaderMap, body: Bytes) -> StatusCode {
    r.attempts.fetch_add(1, Ordering::SeqCst);
    let failing = r
        .fail
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok();
    if failing {
        return StatusCode::INTERNAL_SERVER_ERROR;
    }
    r.got.lock().unwrap().push(Delivery { headers, body });
    StatusCode::OK
}

impl Receiver {
    async fn start(fail: usize) -> (String, Receiver) {
        let receiver = Receiver::default();
        receiver.fail.store(fail, Ordering::SeqCst);
        let app = axum::Router::new()
            .route("/hook", axum::routing::post(receive))
            .with_state(receiver.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (url, receiver)
    }

    fn deliveries(&self) -> Vec<Delivery> {
        self.got.lock().unwrap().clone()
    }

    /// The change seqs received, in arrival order, after checking every
    /// signature with an HMAC computed here.
    fn seqs(&self, secret: &str) -> Vec<u64> {
        let mut out = Vec::new();
        for d in self.deliveries() {
            assert_signed(&d, secret);
            let body: Value = serde_json::from_slice(&d.body).unwrap();
            for c in body["changes"].as_array().unwrap() {
                out.push(c["seq"].as_u64().unwrap());
            }
        }
        out
    }
}

fn assert_signed(d: &Delivery, secret: &str) {
    let header = d
        .headers
        .get("x-advisord-signature")
        .expect("signature header")
        .to_str()
        .unwrap();
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(&d.body);
    let want = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    assert_eq!(header, want, "signature of {} bytes", d.body.len());
}

/// Polls `check` until it returns `Some`, failing after 60 s (a guard
/// against hangs, not a timing assertion).
async fn wait_for<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    for _ in 0..1200 {
        if let Some(v) = check().await {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

fn client() -> reqwest::Client {
    reqwest::Client::new()
}

async fn admin_get(url: &str) -> (u16, Value) {
    let r = client().get(url).bearer_auth(TOKEN).send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn admin_post(url: &str, body: &Value) -> (u16, Value) {
    let r = client()
        .post(url)
        .bearer_auth(TOKEN)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn subscribe(server: &Server, url: &str, filter: Value) -> String {
    let (status, body) = admin_post(
        &server.url("/v1/subscriptions"),
        &json!({"url": url, "secret": SECRET, "filter": filter, "after": 0}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert!(body.get("secret").is_none(), "secret must not be shown");
    body["id"].as_str().unwrap().to_string()
}

/// Waits until subscription `id` has acknowledged cursor `seq`.
async fn wait_cursor(server: &Server, id: &str, seq: u64) -> Value {
    let url = server.url(&format!("/v1/subscriptions/{id}"));
    wait_for(&format!("{id} cursor {seq}"), || {
        let url = url.clone();
        async move {
            let (_, body) = admin_get(&url).await;
            (body["cursor"].as_u64() == Some(seq)).then_some(body)
        }
    })
    .await
}

/// Expected seqs of changes touching `pkg-k` when change n touches
/// `pkg-(n % 10)` and seq n is record TEST-n.
fn seqs_of_package(k: u64, through: u64) -> Vec<u64> {
    (1..=through).filter(|n| n % 10 == k).collect()
}

#[tokio::test]
async fn webhooks_in_order_signed_resumed_after_restart_failing_and_deleted() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("db.redb");
    ingest_osv(
        &db,
        &write_records(tmp.path(), "a", &ids(1..=150), Some("2.0.0")),
        "test",
    );
    let (healthy_url, healthy) = Receiver::start(0).await;
    let (flaky_url, flaky) = Receiver::start(2).await;
    let (filtered_url, filtered) = Receiver::start(0).await;
    let (dead_url, dead) = Receiver::start(usize::MAX).await;
    let (other_url, other) = Receiver::start(0).await;

    let server = Server::start_with(&db, &env());
    let healthy_id = subscribe(&server, &healthy_url, json!({})).await;
    let flaky_id = subscribe(&server, &flaky_url, json!({})).await;
    let filtered_id = subscribe(
        &server,
        &filtered_url,
        json!({"ecosystem": "npm", "package": "pkg-7"}),
    )
    .await;
    let dead_id = subscribe(&server, &dead_url, json!({})).await;
    let other_id = subscribe(&server, &other_url, json!({})).await;

    let healthy_state = wait_cursor(&server, &healthy_id, 150).await;
    wait_cursor(&server, &flaky_id, 150).await;
    wait_cursor(&server, &filtered_id, 150).await;
    wait_cursor(&server, &other_id, 150).await;
    assert_eq!(healthy_state["delivered"], 150);
    assert_eq!(healthy_state["state"], "active");
    // Exactly once, in order, to the healthy receiver.
    assert_eq!(healthy.seqs(SECRET), (1..=150).collect::<Vec<_>>());
    // The flaky receiver refused the first two POSTs: it got everything in
    // order, the refused batch retried (at least once).
    assert_eq!(
        flaky.attempts.load(Ordering::SeqCst),
        flaky.deliveries().len() + 2
    );
    assert_eq!(flaky.seqs(SECRET), (1..=150).collect::<Vec<_>>());
    assert_eq!(filtered.seqs(SECRET), seqs_of_package(7, 150));
    // The dead receiver made the subscription failing.
    let dead_state = wait_for("dead subscription failing", || {
        let url = server.url(&format!("/v1/subscriptions/{dead_id}"));
        async move {
            let (_, body) = admin_get(&url).await;
            (body["state"] == "failing").then_some(body)
        }
    })
    .await;
    assert!(dead_state["failures"].as_u64().unwrap() >= 3);
    assert_eq!(dead_state["cursor"], 0);
    assert!(
        dead_state["last_error"].as_str().unwrap().contains("500"),
        "{dead_state}"
    );
    assert!(dead.deliveries().is_empty());

    // Delete one subscription, then restart with more changes waiting.
    let r = client()
        .delete(server.url(&format!("/v1/subscriptions/{healthy_id}")))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 204);
    let (status, _) = admin_get(&server.url(&format!("/v1/subscriptions/{healthy_id}"))).await;
    assert_eq!(status, 404);
    drop(server);

    // 100 new records and 20 updates (a fix appears), written while stopped.
    ingest_osv(
        &db,
        &write_records(tmp.path(), "b", &ids(151..=250), Some("2.0.0")),
        "test",
    );
    let report = ingest_osv(
        &db,
        &write_records(tmp.path(), "c", &ids(1..=20), Some("1.5.0")),
        "test",
    );
    assert_eq!(report["outcome"]["updated"], 20);
    let server = Server::start_with(&db, &env());
    wait_cursor(&server, &other_id, 270).await;
    wait_cursor(&server, &flaky_id, 270).await;
    wait_cursor(&server, &filtered_id, 270).await;
    // No loss, no duplicate across the restart.
    assert_eq!(other.seqs(SECRET), (1..=270).collect::<Vec<_>>());
    assert_eq!(flaky.seqs(SECRET), (1..=270).collect::<Vec<_>>());
    let mut want = seqs_of_package(7, 250);
    want.extend((251..=270).filter(|s| (s - 250) % 10 == 7));
    assert_eq!(filtered.seqs(SECRET), want);
    // The deleted subscription got nothing after its deletion, though the
    // others, served alongside, got all 120 new changes.
    assert_eq!(healthy.seqs(SECRET), (1..=150).collect::<Vec<_>>());
    // Every body names its subscription.
    for d in other.deliveries() {
        let body: Value = serde_json::from_slice(&d.body).unwrap();
        assert_eq!(body["subscription"], other_id.as_str());
    }
}

/// One parsed server-sent event.
#[derive(Debug, Default, Clone)]
struct SseEvent {
    id: Option<String>,
    event: Option<String>,
    data: String,
    comment: Option<String>,
}

/// Reads events from an SSE response until `stop` says so.
async fn read_sse(
    response: &mut reqwest::Response,
    mut stop: impl FnMut(&SseEvent) -> bool,
) -> Vec<SseEvent> {
    let mut buffer = String::new();
    let mut out = Vec::new();
    loop {
        while let Some(end) = buffer.find("\n\n") {
            let block: String = buffer.drain(..end + 2).collect();
            let mut event = SseEvent::default();
            for line in block.lines() {
                if let Some(v) = line.strip_prefix("id:") {
                    event.id = Some(v.trim().to_string());
                } else if let Some(v) = line.strip_prefix("event:") {
                    event.event = Some(v.trim().to_string());
                } else if let Some(v) = line.strip_prefix("data:") {
                    event.data.push_str(v.trim_start());
                } else if let Some(v) = line.strip_prefix(':') {
                    event.comment = Some(v.trim().to_string());
                }
            }
            let done = stop(&event);
            out.push(event);
            if done {
                return out;
            }
        }
        let chunk = tokio::time::timeout(Duration::from_secs(60), response.chunk())
            .await
            .expect("SSE stalled")
            .unwrap()
            .expect("SSE ended early");
        buffer.push_str(std::str::from_utf8(&chunk).unwrap());
    }
}

async fn sse(server: &Server, query: &str, last_event_id: Option<&str>) -> reqwest::Response {
    let mut request = client().get(server.url(&format!("/v1/changes/stream{query}")));
    if let Some(id) = last_event_id {
        request = request.header("Last-Event-ID", id);
    }
    request.send().await.unwrap()
}

fn change_ids(events: &[SseEvent]) -> Vec<u64> {
    events
        .iter()
        .filter(|e| e.event.as_deref() == Some("change"))
        .map(|e| {
            let seq: u64 = e.id.as_deref().unwrap().parse().unwrap();
            let data: Value = serde_json::from_str(&e.data).unwrap();
            assert_eq!(data["seq"], seq, "id: and data.seq agree");
            seq
        })
        .collect()
}

#[tokio::test]
async fn sse_resume_with_last_event_id_has_no_loss_or_duplication() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("db.redb");
    ingest_osv(
        &db,
        &write_records(tmp.path(), "a", &ids(1..=120), None),
        "test",
    );
    let server = Server::start_with(&db, &env());
    let mut first = sse(&server, "?after=0", None).await;
    assert_eq!(first.status().as_u16(), 200);
    assert!(first.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/event-stream"));
    let got = read_sse(&mut first, |e| e.id.as_deref() == Some("47")).await;
    let part1 = change_ids(&got);
    drop(first); // disconnect mid-stream
    let mut second = sse(&server, "?after=0", Some("47")).await;
    let got = read_sse(&mut second, |e| e.id.as_deref() == Some("120")).await;
    let part2 = change_ids(&got);
    let mut all = part1.clone();
    all.extend(&part2);
    assert_eq!(part1, (1..=47).collect::<Vec<_>>());
    assert_eq!(all, (1..=120).collect::<Vec<_>>());
    // Caught up: the stream stays open with heartbeat comments.
    let idle = read_sse(&mut second, |e| e.comment.is_some()).await;
    assert_eq!(idle.last().unwrap().comment.as_deref(), Some("heartbeat"));
    drop(second);

    // Filters apply to the stream, and a restart of the server between
    // connections loses nothing (the log is the store).
    drop(server);
    ingest_osv(
        &db,
        &write_records(tmp.path(), "b", &ids(121..=140), None),
        "test",
    );
    let server = Server::start_with(&db, &env());
    let mut filtered = sse(&server, "?package=pkg-3", Some("100")).await;
    let got = read_sse(&mut filtered, |e| e.id.as_deref() == Some("133")).await;
    assert_eq!(change_ids(&got), vec![103, 113, 123, 133]);

    // Bad Last-Event-ID and bad filters are 400, not a stream.
    assert_eq!(sse(&server, "", Some("abc")).await.status().as_u16(), 400);
    assert_eq!(
        sse(&server, "?ecosystem=Nonesuch", None)
            .await
            .status()
            .as_u16(),
        400
    );
}

async fn get_changes(server: &Server, q: &str) -> (u16, Value) {
    let r = client()
        .get(server.url(&format!("/v1/changes{q}")))
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json::<Value>().await.unwrap())
}

#[tokio::test]
async fn cursor_api_pages_filters_and_retention_410() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("db.redb");
    ingest_osv(
        &db,
        &write_records(tmp.path(), "a", &ids(1..=30), None),
        "test",
    );
    let server = Server::start_with(&db, &env());
    // Paging by cursor collects every change exactly once, in order.
    let mut after = 0;
    let mut seen = Vec::new();
    loop {
        let (status, body) = get_changes(&server, &format!("?after={after}&limit=7")).await;
        assert_eq!(status, 200);
        let page = body["changes"].as_array().unwrap();
        if page.is_empty() {
            assert_eq!(body["next"], after);
            break;
        }
        assert!(page.len() <= 7);
        seen.extend(page.iter().map(|c| c["seq"].as_u64().unwrap()));
        after = body["next"].as_u64().unwrap();
    }
    assert_eq!(seen, (1..=30).collect::<Vec<_>>());
    let (_, body) = get_changes(&server, "?after=0&limit=1").await;
    let first = &body["changes"][0];
    assert_eq!(first["id"], "TEST-0001");
    assert_eq!(first["kind"], "created");
    assert_eq!(first["feed"], "test");
    assert_eq!(
        first["packages"],
        json!([{"ecosystem": "npm", "name": "pkg-1"}])
    );
    // Filters.
    let (_, body) = get_changes(&server, "?purl=pkg:npm/pkg-4").await;
    let seqs: Vec<u64> = body["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs, vec![4, 14, 24]);
    assert_eq!(body["next"], 30);
    let (_, body) = get_changes(&server, "?alias=CVE-2099-00012").await;
    assert_eq!(body["changes"].as_array().unwrap().len(), 1);
    assert_eq!(body["changes"][0]["id"], "TEST-0012");
    let (_, body) = get_changes(&server, "?feed=other").await;
    assert!(body["changes"].as_array().unwrap().is_empty());
    let (_, body) = get_changes(&server, "?ecosystem=PyPI").await;
    assert!(body["changes"].as_array().unwrap().is_empty());
    // Bad parameters.
    for q in [
        "?limit=0",
        "?limit=5000",
        "?after=-1",
        "?ecosystem=Nonesuch",
        "?bogus=1",
    ] {
        assert_eq!(get_changes(&server, q).await.0, 400, "{q}");
    }
    drop(server);

    // Retention: keep the last 10 changes.
    let mut env = env();
    env.push(("ADVISORD_RETAIN_CHANGES", "10"));
    let server = Server::start_with(&db, &env);
    let gone = wait_for("retention to prune", || {
        let url = server.url("/v1/changes?after=0");
        async move {
            let r = client().get(url).send().await.unwrap();
            (r.status().as_u16() == 410).then_some(())?;
            Some(r.json::<Value>().await.unwrap())
        }
    })
    .await;
    assert_eq!(gone["oldest"], 21);
    let (status, body) = get_changes(&server, "?after=19").await;
    assert_eq!((status, &body["oldest"]), (410, &json!(21)));
    let (status, body) = get_changes(&server, "?after=20").await;
    assert_eq!(status, 200);
    let seqs: Vec<u64> = body["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs, (21..=30).collect::<Vec<_>>());
    // The stream refuses a too-old resume point the same way.
    let r = sse(&server, "", Some("3")).await;
    assert_eq!(r.status().as_u16(), 410);
    assert_eq!(r.json::<Value>().await.unwrap()["oldest"], 21);
    drop(server);
    // The sequence continues after pruning (the counter is never pruned).
    let report = ingest_osv(
        &db,
        &write_records(tmp.path(), "b", &ids(31..=31), None),
        "test",
    );
    assert_eq!(report["outcome"]["last_seq"], 31);
}

/// The ids `/v1/query` reports for a package (and version): when the server
/// has no comparator for the scheme yet (400), every advisory of the
/// package, which is what "possibly affected" findings then list.
async fn query_ids(
    server: &Server,
    ecosystem: &str,
    name: &str,
    version: &str,
) -> BTreeSet<String> {
    let body = json!({"package": {"ecosystem": ecosystem, "name": name}, "version": version});
    let r = client()
        .post(server.url("/v1/query"))
        .json(&body)
        .send()
        .await
        .unwrap();
    let (status, mut value) = (r.status().as_u16(), r.json::<Value>().await.unwrap());
    if status == 400 && value["message"].as_str().unwrap().contains("no comparator") {
        let body = json!({"package": {"ecosystem": ecosystem, "name": name}});
        let r = client()
            .post(server.url("/v1/query"))
            .json(&body)
            .send()
            .await
            .unwrap();
        value = r.json().await.unwrap();
    } else {
        assert_eq!(status, 200, "{value}");
    }
    value["vulns"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|v| v["id"].as_str().unwrap().to_string())
        .collect()
}

fn finding_ids(watch: &Value) -> std::collections::BTreeMap<String, BTreeSet<String>> {
    watch["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["package"]["name"].as_str().unwrap().to_string(),
                f["advisories"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|a| a.as_str().unwrap().to_string())
                    .collect(),
            )
        })
        .collect()
}

/// A dpkg status paragraph.
fn dpkg(package: &str, source: Option<&str>, version: &str) -> String {
    let source = source.map(|s| format!("Source: {s}\n")).unwrap_or_default();
    format!("Package: {package}\nStatus: install ok installed\nPriority: optional\n{source}Version: {version}\nDescription: test\n a long description\n\n")
}

#[tokio::test]
async fn dpkg_watch_matches_query_api_and_gets_one_newly_affected_event() {
    let Some(debian) = shared("data/osv/debian") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("db.redb");
    ingest_osv(&db, &debian, "osv:debian");
    // A status file of the packages those real records name, at versions
    // before their fixes, plus packages no record names.
    let mut status = String::new();
    let mut names = Vec::new();
    for path in std::fs::read_dir(&debian).unwrap() {
        let record: Value =
            serde_json::from_slice(&std::fs::read(path.unwrap().path()).unwrap()).unwrap();
        for a in record["affected"].as_array().into_iter().flatten() {
            names.push(a["package"]["name"].as_str().unwrap().to_string());
        }
    }
    names.sort();
    names.dedup();
    assert!(names.len() >= 4, "{names:?}");
    for name in &names {
        // A binary package built from the named source package.
        status.push_str(&dpkg(&format!("{name}-bin"), Some(name), "0.1-1"));
    }
    status.push_str(&dpkg("openssl", None, "1.0.1e-2+deb7u20"));
    status.push_str(&dpkg("bash", None, "4.2+dfsg-0.1"));
    let status_path = tmp.path().join("status");
    std::fs::write(&status_path, &status).unwrap();

    let (hook_url, hook) = Receiver::start(0).await;
    let server = Server::start_with(&db, &env());
    let (code, created) = admin_post(
        &server.url("/v1/watches"),
        &json!({"name": "image-1", "package_list": status, "format": "dpkg-status",
                "ecosystem": "Debian", "webhook": {"url": hook_url, "secret": SECRET}}),
    )
    .await;
    assert_eq!(code, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_string();
    assert_eq!(created["packages"], names.len() + 2);
    let (_, watch) = admin_get(&server.url(&format!("/v1/watches/{id}"))).await;
    let findings = finding_ids(&watch);
    // Exactly what the query API says, package by package.
    let mut packages: Vec<(String, String)> = names
        .iter()
        .map(|n| (n.clone(), "0.1-1".to_string()))
        .collect();
    packages.push(("openssl".into(), "1.0.1e-2+deb7u20".into()));
    packages.push(("bash".into(), "4.2+dfsg-0.1".into()));
    for (name, version) in &packages {
        let want = query_ids(&server, "Debian", name, version).await;
        let got = findings.get(name).cloned().unwrap_or_default();
        assert_eq!(got, want, "{name} {version}");
    }
    assert_eq!(
        findings.len(),
        names.len(),
        "every named package is affected"
    );
    assert_eq!(watch["events"], 0);
    drop(server);

    // `advisord scan` prints the same findings without registering anything.
    let scanned = advisord_ok(&[
        "--db",
        db.to_str().unwrap(),
        "scan",
        status_path.to_str().unwrap(),
        "--ecosystem",
        "Debian",
        "--json",
    ]);
    let scanned: Value = serde_json::from_str(&scanned).unwrap();
    assert_eq!(scanned["findings"], watch["findings"]);

    // A new record affecting the installed openssl arrives.
    let new = tmp.path().join("new");
    std::fs::create_dir_all(&new).unwrap();
    let record = json!({"id": "DSA-9999-1", "modified": "2099-01-01T00:00:00Z",
        "published": "2099-01-01T00:00:00Z",
        "affected": [{"package": {"ecosystem": "Debian:7", "name": "openssl"},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.0.1e-2+deb7u21"}]}]}]});
    std::fs::write(new.join("DSA-9999-1.json"), record.to_string()).unwrap();
    ingest_osv(&db, &new, "local");
    let server = Server::start_with(&db, &env());
    let events_url = server.url(&format!("/v1/watches/{id}/events?after=0"));
    let events = wait_for("one watch event", || {
        let url = events_url.clone();
        async move {
            let (_, body) = admin_get(&url).await;
            (body["last"] == 1).then_some(body)
        }
    })
    .await;
    let list = events["events"].as_array().unwrap();
    assert_eq!(list.len(), 1, "{events}");
    assert_eq!(list[0]["kind"], "newly_affected");
    assert_eq!(list[0]["advisory"], "DSA-9999-1");
    assert_eq!(list[0]["package"]["name"], "openssl");
    assert_eq!(list[0]["fixed"], json!(["1.0.1e-2+deb7u21"]));
    let delivered = wait_for("watch webhook", || {
        let hook = hook.clone();
        async move { (!hook.deliveries().is_empty()).then(|| hook.deliveries()) }
    })
    .await;
    assert_eq!(delivered.len(), 1);
    assert_signed(&delivered[0], SECRET);
    let body: Value = serde_json::from_slice(&delivered[0].body).unwrap();
    assert_eq!(body["watch"], id.as_str());
    assert_eq!(body["events"], events["events"]);
    let (_, watch) = admin_get(&server.url(&format!("/v1/watches/{id}"))).await;
    let want = query_ids(&server, "Debian", "openssl", "1.0.1e-2+deb7u20").await;
    assert!(want.contains("DSA-9999-1"));
    assert_eq!(finding_ids(&watch)["openssl"], want);
    drop(server);

    // Withdrawing it makes the package no longer affected: one more event.
    let mut withdrawn = record.clone();
    withdrawn["modified"] = json!("2099-02-01T00:00:00Z");
    withdrawn["withdrawn"] = json!("2099-02-01T00:00:00Z");
    std::fs::write(new.join("DSA-9999-1.json"), withdrawn.to_string()).unwrap();
    ingest_osv(&db, &new, "local");
    let server = Server::start_with(&db, &env());
    let events = wait_for("second watch event", || {
        let url = events_url.replace("?after=0", "?after=1");
        let url = server.url(&url[url.find("/v1/").unwrap()..]);
        async move {
            let (_, body) = admin_get(&url).await;
            (body["last"] == 2).then_some(body)
        }
    })
    .await;
    assert_eq!(events["events"].as_array().unwrap().len(), 1);
    assert_eq!(events["events"][0]["kind"], "no_longer_affected");
    assert_eq!(events["events"][0]["advisory"], "DSA-9999-1");
    wait_for("second webhook", || {
        let hook = hook.clone();
        async move { (hook.deliveries().len() == 2).then_some(()) }
    })
    .await;
    // Deleting the watch removes it and its webhook.
    let r = client()
        .delete(server.url(&format!("/v1/watches/{id}")))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 204);
    let (code, _) = admin_get(&server.url(&format!("/v1/watches/{id}"))).await;
    assert_eq!(code, 404);
    let (_, subs) = admin_get(&server.url("/v1/subscriptions")).await;
    assert_eq!(subs["subscriptions"], json!([]));
}

#[tokio::test]
async fn sbom_watch_findings_equal_query_api_with_real_version_evaluation() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("db.redb");
    // TEST-1..20 fixed in 2.0.0, TEST-21..40 never fixed.
    ingest_osv(
        &db,
        &write_records(tmp.path(), "a", &ids(1..=20), Some("2.0.0")),
        "test",
    );
    ingest_osv(
        &db,
        &write_records(tmp.path(), "b", &ids(21..=40), None),
        "test",
    );
    let server = Server::start_with(&db, &env());
    let components: Vec<Value> = (0..10)
        .map(|k| {
            let version = if k % 2 == 0 { "1.0.0" } else { "3.0.0" };
            json!({"type": "library", "name": format!("pkg-{k}"),
                   "purl": format!("pkg:npm/pkg-{k}@{version}")})
        })
        .chain(std::iter::once(json!({"type": "file", "name": "README"})))
        .collect();
    let cdx = json!({"bomFormat": "CycloneDX", "specVersion": "1.5", "components": components});
    let (code, created) = admin_post(
        &server.url("/v1/watches"),
        &json!({"name": "app", "sbom": cdx}),
    )
    .await;
    assert_eq!(code, 201, "{created}");
    assert_eq!(created["skipped"].as_array().unwrap().len(), 1);
    let findings = finding_ids(&created);
    for k in 0..10 {
        let version = if k % 2 == 0 { "1.0.0" } else { "3.0.0" };
        let name = format!("pkg-{k}");
        let want = query_ids(&server, "npm", &name, version).await;
        // 1.0.0 is hit by both records of the package, 3.0.0 only by the unfixed one.
        assert_eq!(want.len(), if k % 2 == 0 { 4 } else { 2 }, "{name}");
        assert_eq!(findings.get(&name).cloned().unwrap_or_default(), want);
    }
    // The same SBOM as SPDX gives the same findings.
    let packages: Vec<Value> = (0..10)
        .map(|k| {
            let version = if k % 2 == 0 { "1.0.0" } else { "3.0.0" };
            json!({"name": format!("pkg-{k}"), "externalRefs": [{"referenceCategory": "PACKAGE-MANAGER",
                "referenceType": "purl", "referenceLocator": format!("pkg:npm/pkg-{k}@{version}")}]})
        })
        .collect();
    let spdx = json!({"spdxVersion": "SPDX-2.3", "packages": packages});
    let (_, created_spdx) = admin_post(
        &server.url("/v1/watches"),
        &json!({"name": "app2", "sbom": spdx}),
    )
    .await;
    assert_eq!(created_spdx["findings"], created["findings"]);
}

#[tokio::test]
async fn bad_watch_and_subscription_requests() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("db.redb");
    let server = Server::start_with(&db, &env());
    let post = |path: &str, body: Value, token: Option<&str>| {
        let url = server.url(path);
        let token = token.map(str::to_string);
        async move {
            let mut r = client().post(url).json(&body);
            if let Some(t) = token {
                r = r.bearer_auth(t);
            }
            let r = r.send().await.unwrap();
            let status = r.status().as_u16();
            (status, r.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let packages = json!([{"ecosystem": "npm", "name": "a", "version": "1.0.0"}]);
    // Auth.
    let (code, _) = post(
        "/v1/watches",
        json!({"name": "x", "packages": packages}),
        None,
    )
    .await;
    assert_eq!(code, 401);
    let (code, _) = post(
        "/v1/watches",
        json!({"name": "x", "packages": packages}),
        Some("wrong"),
    )
    .await;
    assert_eq!(code, 401);
    let t = Some(TOKEN);
    // An SBOM that is not JSON.
    let (code, body) = post("/v1/watches", json!({"name": "x", "sbom": "{not json"}), t).await;
    assert_eq!(code, 400, "{body}");
    assert!(body["message"].as_str().unwrap().contains("not JSON"));
    let (code, _) = post("/v1/watches", json!({"name": "x", "sbom": {"a": 1}}), t).await;
    assert_eq!(code, 400);
    // Unknown ecosystems.
    let (code, body) = post(
        "/v1/watches",
        json!({"name": "x", "package_list": "Package: a\nVersion: 1\n", "format": "dpkg-status", "ecosystem": "Nonesuch:1"}),
        t,
    )
    .await;
    assert_eq!(code, 400);
    assert!(body["message"].as_str().unwrap().contains("Nonesuch"));
    let (code, _) = post(
        "/v1/watches",
        json!({"name": "x", "packages": [{"ecosystem": "Nope", "name": "a"}]}),
        t,
    )
    .await;
    assert_eq!(code, 400);
    let (code, _) = post(
        "/v1/watches",
        json!({"name": "x", "package_list": "a-1-1.x86_64", "format": "yum", "ecosystem": "AlmaLinux:9"}),
        t,
    )
    .await;
    assert_eq!(code, 400);
    // 100k packages in one watch.
    let many: Vec<Value> = (0..100_000)
        .map(|i| json!({"ecosystem": "npm", "name": format!("p{i}"), "version": "1.0.0"}))
        .collect();
    let (code, body) = post("/v1/watches", json!({"name": "big", "packages": many}), t).await;
    assert_eq!(code, 413);
    assert!(
        body["message"].as_str().unwrap().contains("at most"),
        "{body}"
    );
    // Webhook URLs that are not http(s).
    for url in ["ftp://example.invalid/x", "not a url", "file:///etc/passwd"] {
        let (code, _) = post("/v1/subscriptions", json!({"url": url, "secret": "s"}), t).await;
        assert_eq!(code, 400, "{url}");
        let (code, _) = post(
            "/v1/watches",
            json!({"name": "x", "packages": packages, "webhook": {"url": url, "secret": "s"}}),
            t,
        )
        .await;
        assert_eq!(code, 400, "{url}");
    }
    let (code, _) = post(
        "/v1/subscriptions",
        json!({"url": "http://127.0.0.1:9/x", "secret": ""}),
        t,
    )
    .await;
    assert_eq!(code, 400);
    let (code, _) = post(
        "/v1/subscriptions",
        json!({"url": "http://127.0.0.1:9/x", "secret": "s", "filter": {"ecosystem": "Nope"}}),
        t,
    )
    .await;
    assert_eq!(code, 400);
    // Nothing was registered by the refused requests.
    let (_, watches) = admin_get(&server.url("/v1/watches")).await;
    assert_eq!(watches["watches"], json!([]));
    drop(server);
    // Without an admin token configured, the admin endpoints are off.
    let server = Server::start(&db);
    let r = client()
        .get(server.url("/v1/subscriptions"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
    // `advisord scan` rejects what it cannot read.
    let bad = tmp.path().join("bad.json");
    std::fs::write(&bad, "{not json").unwrap();
    drop(server);
    let out = advisord(&["--db", db.to_str().unwrap(), "scan", bad.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not JSON"));
}

/// OSV records as the library parses them (for in-process stores).
fn records(ids: &[String], fixed: &str) -> Vec<advisord::model::Advisory> {
    let dir = tempfile::tempdir().unwrap();
    let path = write_records(dir.path(), "r", ids, Some(fixed));
    let (records, _) = crate::common::parse_path(advisord::formats::Format::Osv, "test", &path);
    records
}

#[test]
fn retention_keeps_what_consumers_have_not_read_and_never_the_counter() {
    let tmp = tempfile::tempdir().unwrap();
    let store = advisord::store::Store::open(&tmp.path().join("db.redb")).unwrap();
    store
        .apply_batch("test", records(&ids(1..=30), "2.0.0"), |_| {})
        .unwrap();
    let oldest = |s: &advisord::store::Store| s.snapshot().unwrap().oldest_seq().unwrap();
    // A consumer at cursor 12 holds entries 13.. even though only 5 are asked for.
    assert_eq!(store.prune_changes(Some(5), None, 12).unwrap(), 12);
    assert_eq!(oldest(&store), Some(13));
    // Once it has read everything, the count rule applies.
    assert_eq!(store.prune_changes(Some(5), None, u64::MAX).unwrap(), 13);
    assert_eq!(oldest(&store), Some(26));
    // Age: everything was recorded just now, so a one-day limit removes nothing,
    // a limit in the future everything but the newest entry.
    let day_ago = time::OffsetDateTime::now_utc() - time::Duration::days(1);
    assert_eq!(
        store.prune_changes(None, Some(day_ago), u64::MAX).unwrap(),
        0
    );
    let later = time::OffsetDateTime::now_utc() + time::Duration::days(1);
    assert_eq!(store.prune_changes(None, Some(later), u64::MAX).unwrap(), 4);
    assert_eq!(oldest(&store), Some(30));
    assert_eq!(store.prune_changes(Some(0), None, u64::MAX).unwrap(), 0);
    // The next change continues the sequence.
    let out = store
        .apply_batch("test", records(&ids(31..=31), "2.0.0"), |_| {})
        .unwrap();
    assert_eq!(out.last_seq, Some(31));
}

#[tokio::test]
async fn live_stream_and_watch_see_changes_written_while_connected() {
    // In-process server: the store can be written while it serves, as an
    // in-server sync would.
    let tmp = tempfile::tempdir().unwrap();
    let store = advisord::store::Store::open(&tmp.path().join("db.redb")).unwrap();
    store
        .apply_batch("test", records(&ids(1..=10), "2.0.0"), |_| {})
        .unwrap();
    let config = advisord::notify::NotifyConfig {
        admin_token: Some(TOKEN.into()),
        poll: Duration::from_millis(20),
        ..Default::default()
    };
    let hub = advisord::notify::Hub::new(store.clone(), config).unwrap();
    hub.start().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let state = advisord::api::AppState {
        store: store.clone(),
        hub: hub.clone(),
        sync: None,
    };
    tokio::spawn(advisord::api::serve(
        listener,
        state,
        std::future::pending(),
    ));
    let (code, watch) = admin_post(
        &format!("{base}/v1/watches"),
        &json!({"name": "w", "packages": [{"purl": "pkg:npm/pkg-3@1.0.0"}]}),
    )
    .await;
    assert_eq!(code, 201, "{watch}");
    assert_eq!(watch["findings"][0]["advisories"], json!(["TEST-0003"]));
    let watch_id = watch["id"].as_str().unwrap().to_string();

    let mut stream = client()
        .get(format!("{base}/v1/changes/stream?after=0"))
        .send()
        .await
        .unwrap();
    let got = read_sse(&mut stream, |e| e.id.as_deref() == Some("10")).await;
    assert_eq!(change_ids(&got), (1..=10).collect::<Vec<_>>());
    // Written while the stream is open and idle: TEST-0011..20 are new, and
    // TEST-0003 gets fixed in 0.5.0 (pkg-3@1.0.0 no longer affected).
    let s = store.clone();
    tokio::task::spawn_blocking(move || {
        s.apply_batch("test", records(&ids(11..=20), "2.0.0"), |_| {})
            .unwrap();
        s.apply_batch("test", records(&ids(3..=3), "0.5.0"), |_| {})
            .unwrap();
    })
    .await
    .unwrap();
    let got = read_sse(&mut stream, |e| e.id.as_deref() == Some("21")).await;
    assert_eq!(change_ids(&got), (11..=21).collect::<Vec<_>>());
    let events = wait_for("watch events", || {
        let url = format!("{base}/v1/watches/{watch_id}/events");
        async move {
            let (_, body) = admin_get(&url).await;
            (body["last"] == 2).then_some(body)
        }
    })
    .await;
    let kinds: Vec<(String, String)> = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["kind"].as_str().unwrap().to_string(),
                e["advisory"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    // TEST-0013 (pkg-3, new) affects 1.0.0; TEST-0003 no longer does.
    assert_eq!(
        kinds,
        vec![
            ("newly_affected".to_string(), "TEST-0013".to_string()),
            ("no_longer_affected".to_string(), "TEST-0003".to_string()),
        ]
    );
}
