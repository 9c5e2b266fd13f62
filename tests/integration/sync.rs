//! Feed sync against a local upstream (an axum server on 127.0.0.1:0 started
//! by each test): conditional GET, retries, failures that must leave the
//! store intact, per-record diff with removal, the offline mirror round
//! trip, the feeds API and the CLI wiring. No test reaches a real upstream.

use std::collections::{HashMap, VecDeque};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use advisord::feeds::catalog::Catalog;
use advisord::feeds::http::{FetchOptions, Fetcher};
use advisord::pipeline::sync::{SyncOptions, SyncStatus, Syncer};
use advisord::store::{ChangeKind, Store};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::common::{advisord, advisord_ok, get_json, shared};

/// A fault the upstream applies to the next request of a path.
#[derive(Debug, Clone)]
enum Fault {
    /// Answer with this status.
    Status(u16),
    /// Wait this long before answering.
    Slow(Duration),
    /// Announce the full length, send half the body, close.
    ShortBody,
    /// Answer 302 with this `Location`.
    Redirect(&'static str),
}

/// One request the upstream saw.
#[derive(Debug, Clone)]
struct Hit {
    method: String,
    path: String,
    status: u16,
    range: Option<String>,
}

/// The local upstream: files by path, queued faults, a request log.
#[derive(Default)]
struct Upstream {
    files: Mutex<HashMap<String, Vec<u8>>>,
    faults: Mutex<HashMap<String, VecDeque<Fault>>>,
    log: Mutex<Vec<Hit>>,
}

struct TestServer {
    base: String,
    upstream: Arc<Upstream>,
    task: tokio::task::JoinHandle<()>,
}

impl TestServer {
    async fn start() -> TestServer {
        let upstream = Arc::new(Upstream::default());
        let app = axum::Router::new()
            .fallback(serve_file)
            .with_state(upstream.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        TestServer {
            base,
            upstream,
            task,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn put(&self, path: &str, bytes: Vec<u8>) {
        self.upstream
            .files
            .lock()
            .unwrap()
            .insert(path.to_string(), bytes);
    }

    fn fault(&self, path: &str, faults: &[Fault]) {
        self.upstream
            .faults
            .lock()
            .unwrap()
            .entry(path.to_string())
            .or_default()
            .extend(faults.iter().cloned());
    }

    fn hits(&self, path: &str) -> Vec<Hit> {
        self.upstream
            .log
            .lock()
            .unwrap()
            .iter()
            .filter(|h| h.path == path)
            .cloned()
            .collect()
    }

    fn clear_log(&self) {
        self.upstream.log.lock().unwrap().clear();
    }

    async fn stop(self) {
        self.task.abort();
        let _ = self.task.await;
    }
}

fn etag_of(bytes: &[u8]) -> String {
    format!("\"{}\"", &hex::encode(Sha256::digest(bytes))[..16])
}

async fn serve_file(State(up): State<Arc<Upstream>>, request: Request) -> Response {
    let path = request.uri().path().to_string();
    let method = request.method().to_string();
    let headers = request.headers().clone();
    let range = headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let fault = up
        .faults
        .lock()
        .unwrap()
        .get_mut(&path)
        .and_then(VecDeque::pop_front);
    let log = |status: u16| {
        up.log.lock().unwrap().push(Hit {
            method: method.clone(),
            path: path.clone(),
            status,
            range: range.clone(),
        })
    };
    if let Some(Fault::Slow(d)) = &fault {
        // Logged on arrival: the client gives up before the answer.
        log(0);
        tokio::time::sleep(*d).await;
        return StatusCode::GATEWAY_TIMEOUT.into_response();
    }
    if let Some(Fault::Status(s)) = &fault {
        log(*s);
        return StatusCode::from_u16(*s).unwrap().into_response();
    }
    if let Some(Fault::Redirect(location)) = &fault {
        log(302);
        return (StatusCode::FOUND, [(header::LOCATION, *location)]).into_response();
    }
    let Some(bytes) = up.files.lock().unwrap().get(&path).cloned() else {
        log(404);
        return StatusCode::NOT_FOUND.into_response();
    };
    let etag = etag_of(&bytes);
    let last_modified = "Wed, 01 Jan 2025 00:00:00 GMT";
    if headers
        .get(header::IF_NONE_MATCH)
        .is_some_and(|v| v.as_bytes() == etag.as_bytes())
    {
        log(304);
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response();
    }
    let mut response = if let Some(fault @ Fault::ShortBody) = &fault {
        let _ = fault;
        let half = bytes[..bytes.len() / 2].to_vec();
        let stream = futures_util::stream::once(async move { Ok::<_, std::io::Error>(half) });
        let mut r = Response::new(Body::from_stream(stream));
        r.headers_mut().insert(
            header::CONTENT_LENGTH,
            HeaderValue::from_str(&bytes.len().to_string()).unwrap(),
        );
        log(200);
        r
    } else if let Some(start) = range
        .as_deref()
        .and_then(|r| r.strip_prefix("bytes="))
        .and_then(|r| r.strip_suffix('-'))
        .and_then(|n| n.parse::<usize>().ok())
        .filter(|_| {
            headers
                .get(header::IF_RANGE)
                .is_some_and(|v| v.as_bytes() == etag.as_bytes())
        })
        .filter(|&start| start < bytes.len())
    {
        let mut r = Response::new(Body::from(bytes[start..].to_vec()));
        *r.status_mut() = StatusCode::PARTIAL_CONTENT;
        r.headers_mut().insert(
            header::CONTENT_RANGE,
            HeaderValue::from_str(&format!(
                "bytes {start}-{}/{}",
                bytes.len() - 1,
                bytes.len()
            ))
            .unwrap(),
        );
        log(206);
        r
    } else {
        log(200);
        Response::new(Body::from(bytes))
    };
    response
        .headers_mut()
        .insert(header::ETAG, HeaderValue::from_str(&etag).unwrap());
    response.headers_mut().insert(
        header::LAST_MODIFIED,
        HeaderValue::from_static(last_modified),
    );
    response
}

// ---------------------------------------------------------------- fixtures

fn record(id: &str, package: &str, modified: &str, fixed: &str) -> Value {
    json!({
        "id": id,
        "modified": modified,
        "aliases": [format!("CVE-2099-{}", &id[id.len() - 4..])],
        "affected": [{"package": {"ecosystem": "Go", "name": package},
                      "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": fixed}]}]}]
    })
}

fn zip_of(records: &[Value]) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for r in records {
        writer
            .start_file(format!("{}.json", r["id"].as_str().unwrap()), options)
            .unwrap();
        writer.write_all(r.to_string().as_bytes()).unwrap();
    }
    writer.finish().unwrap().into_inner()
}

fn gzip_of(bytes: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap()
}

fn three() -> Vec<Value> {
    vec![
        record("TEST-0001", "alpha", "2024-01-01T00:00:00Z", "1.0.0"),
        record("TEST-0002", "beta", "2024-01-01T00:00:00Z", "2.0.0"),
        record("TEST-0003", "gamma", "2024-01-01T00:00:00Z", "3.0.0"),
    ]
}

/// A catalog directory with one feed file per (name, urls, snapshot).
fn catalog_dir(dir: &Path, feeds: &[(&str, &str, Vec<String>, bool)]) -> PathBuf {
    let cat = dir.join("catalog");
    std::fs::create_dir_all(&cat).unwrap();
    for (name, format, urls, snapshot) in feeds {
        let urls: Vec<String> = urls.iter().map(|u| format!("{u:?}")).collect();
        std::fs::write(
            cat.join(format!("{name}.toml")),
            format!(
                "name = {name:?}\nformat = {format:?}\nurls = [{}]\ninterval = \"1h\"\nenabled = true\nsnapshot = {snapshot}\n",
                urls.join(", ")
            ),
        )
        .unwrap();
    }
    cat
}

fn fast_fetch() -> FetchOptions {
    FetchOptions {
        connect_timeout: Duration::from_secs(5),
        total_timeout: Duration::from_secs(20),
        attempts: 3,
        max_bytes: 64 << 20,
        retry_base: Duration::from_millis(10),
    }
}

struct Env {
    dir: tempfile::TempDir,
    store: Store,
    syncer: Arc<Syncer>,
}

fn env_with(dir: tempfile::TempDir, catalog: &Path, fetch: FetchOptions) -> Env {
    let store = Store::open(&dir.path().join("db.redb")).unwrap();
    let catalog = Catalog::load(false, &[catalog.to_path_buf()]).unwrap();
    let options = SyncOptions {
        fetch,
        cache_dir: dir.path().join("cache"),
        jobs: 2,
        force: false,
        ready_feeds: None,
    };
    let syncer = Syncer::new(store.clone(), catalog, options).unwrap();
    Env { dir, store, syncer }
}

/// One feed `name` of `format` whose files are `paths` on `server`.
fn feed_env(server: &TestServer, name: &str, format: &str, paths: &[&str], snapshot: bool) -> Env {
    let dir = tempfile::tempdir().unwrap();
    let urls = paths.iter().map(|p| server.url(p)).collect();
    let cat = catalog_dir(dir.path(), &[(name, format, urls, snapshot)]);
    env_with(dir, &cat, fast_fetch())
}

fn one_feed_env(server: &TestServer, path: &str, snapshot: bool) -> Env {
    feed_env(server, "t", "osv", &[path], snapshot)
}

/// What `advisord feeds --json` prints for the catalog directory `cat`.
fn feeds_json(db: &str, cat: &str) -> Value {
    let out = advisord_ok(&[
        "--db",
        db,
        "feeds",
        "--no-builtin",
        "--catalog",
        cat,
        "--json",
    ]);
    serde_json::from_str(&out).unwrap()
}

fn change_count(store: &Store) -> u64 {
    store.stats().unwrap().changes
}

fn matched(store: &Store, package: &str, version: &str) -> Vec<String> {
    advisord::query::PackageQuery::new("Go", package, Some(version))
        .unwrap()
        .run(store)
        .unwrap()
        .into_iter()
        .map(|m| m.id)
        .collect()
}

// ------------------------------------------------------------------- tests

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unchanged_upstream_answers_304_and_nothing_is_parsed_or_written() {
    let server = TestServer::start().await;
    server.put("/osv/all.zip", zip_of(&three()));
    let env = one_feed_env(&server, "/osv/all.zip", true);

    let first = env.syncer.sync_named("t").await.unwrap();
    assert_eq!(first.status, SyncStatus::Ingested, "{first:?}");
    assert_eq!(first.records, 3);
    assert_eq!(first.outcome.created, 3);
    assert_eq!(change_count(&env.store), 3);
    assert_eq!(matched(&env.store, "alpha", "0.9.0"), ["TEST-0001"]);
    assert!(matched(&env.store, "alpha", "1.0.0").is_empty());
    let state_before = env.store.feed_state("t").unwrap().unwrap();
    assert_eq!(state_before.records, 3);
    assert!(state_before.etags.contains_key(&server.url("/osv/all.zip")));

    server.clear_log();
    let second = env.syncer.sync_named("t").await.unwrap();
    assert_eq!(second.status, SyncStatus::NotModified, "{second:?}");
    assert_eq!(second.records, 0, "nothing parsed");
    let hits = server.hits("/osv/all.zip");
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].status, 304, "the request was conditional");
    assert_eq!(change_count(&env.store), 3, "no change-log entry");
    assert_eq!(
        env.store.feed_state("t").unwrap().unwrap(),
        state_before,
        "not even the feed state was written"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_record_is_one_update_and_a_dropped_one_is_removed() {
    let server = TestServer::start().await;
    server.put("/osv/all.zip", zip_of(&three()));
    let env = one_feed_env(&server, "/osv/all.zip", true);
    env.syncer.sync_named("t").await.unwrap();
    let seq = env.store.stats().unwrap().last_change_seq;
    let gamma_json = env.store.get_json("TEST-0003").unwrap().unwrap();

    let mut next = three();
    next[0] = record("TEST-0001", "alpha", "2024-02-01T00:00:00Z", "1.1.0");
    next.pop();
    server.put("/osv/all.zip", zip_of(&next));
    let report = env.syncer.sync_named("t").await.unwrap();
    assert_eq!(report.status, SyncStatus::Ingested, "{report:?}");
    assert_eq!(
        (
            report.outcome.created,
            report.outcome.updated,
            report.outcome.removed,
            report.outcome.unchanged
        ),
        (0, 1, 1, 1)
    );
    let changes = env.store.changes_after(seq, 100).unwrap();
    let kinds: Vec<(&str, ChangeKind)> = changes.iter().map(|c| (c.id.as_str(), c.kind)).collect();
    assert_eq!(
        kinds,
        [
            ("TEST-0001", ChangeKind::Updated),
            ("TEST-0003", ChangeKind::Removed)
        ]
    );
    // The update is visible to queries; the removed record is kept by id
    // but no longer matched.
    assert_eq!(matched(&env.store, "alpha", "1.0.0"), ["TEST-0001"]);
    assert_eq!(
        env.store.get_json("TEST-0003").unwrap().unwrap(),
        gamma_json
    );
    assert!(matched(&env.store, "gamma", "0.1.0").is_empty());
    let stats = env.store.stats().unwrap();
    assert_eq!(stats.removed, 1);
    assert_eq!(env.store.feed_state("t").unwrap().unwrap().records, 2);
    assert_eq!(
        env.store.feed_record_ids("t").unwrap(),
        ["TEST-0001", "TEST-0002"]
    );

    // It comes back: created again, matched again.
    server.put("/osv/all.zip", zip_of(&three()));
    let report = env.syncer.sync_named("t").await.unwrap();
    assert_eq!(report.outcome.created, 1, "{report:?}");
    assert_eq!(matched(&env.store, "gamma", "0.1.0"), ["TEST-0003"]);
    assert_eq!(env.store.stats().unwrap().removed, 0);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_snapshot_feeds_keep_records_that_leave_the_file() {
    let server = TestServer::start().await;
    server.put("/m.zip", zip_of(&three()));
    let env = one_feed_env(&server, "/m.zip", false);
    env.syncer.sync_named("t").await.unwrap();
    server.put("/m.zip", zip_of(&three()[..1]));
    let report = env.syncer.sync_named("t").await.unwrap();
    assert_eq!(report.outcome.removed, 0);
    assert_eq!(matched(&env.store, "gamma", "0.1.0"), ["TEST-0003"]);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_500_is_retried_and_then_succeeds() {
    let server = TestServer::start().await;
    server.put("/osv/all.zip", zip_of(&three()));
    server.fault("/osv/all.zip", &[Fault::Status(500), Fault::Status(503)]);
    let env = one_feed_env(&server, "/osv/all.zip", true);
    let report = env.syncer.sync_named("t").await.unwrap();
    assert_eq!(report.status, SyncStatus::Ingested, "{report:?}");
    let statuses: Vec<u16> = server
        .hits("/osv/all.zip")
        .iter()
        .map(|h| h.status)
        .collect();
    assert_eq!(statuses, [500, 503, 200]);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn persistent_5xx_is_reported_and_keeps_the_old_data() {
    let server = TestServer::start().await;
    server.put("/osv/all.zip", zip_of(&three()));
    let env = one_feed_env(&server, "/osv/all.zip", true);
    env.syncer.sync_named("t").await.unwrap();
    let before = env.store.get_json("TEST-0001").unwrap();
    let changes = change_count(&env.store);

    let mut next = three();
    next[0] = record("TEST-0001", "alpha", "2024-03-01T00:00:00Z", "9.9.0");
    server.put("/osv/all.zip", zip_of(&next));
    server.fault(
        "/osv/all.zip",
        &[Fault::Status(502), Fault::Status(502), Fault::Status(502)],
    );
    server.clear_log();
    let report = env.syncer.sync_named("t").await.unwrap();
    assert_eq!(report.status, SyncStatus::Failed);
    assert!(
        report.error.as_deref().unwrap().contains("502"),
        "{report:?}"
    );
    assert_eq!(server.hits("/osv/all.zip").len(), 3, "3 attempts");
    assert_eq!(env.store.get_json("TEST-0001").unwrap(), before);
    assert_eq!(change_count(&env.store), changes);
    let state = env.store.feed_state("t").unwrap().unwrap();
    assert!(state.last_error.as_deref().unwrap().contains("502"));
    assert_eq!(state.records, 3);

    // The next sync gets the new data and clears the error.
    let report = env.syncer.sync_named("t").await.unwrap();
    assert_eq!(report.outcome.updated, 1, "{report:?}");
    assert_eq!(env.store.feed_state("t").unwrap().unwrap().last_error, None);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_404_is_not_retried() {
    let server = TestServer::start().await;
    let env = one_feed_env(&server, "/missing.zip", true);
    let report = env.syncer.sync_named("t").await.unwrap();
    assert_eq!(report.status, SyncStatus::Failed);
    assert!(report.error.as_deref().unwrap().contains("404"));
    assert_eq!(server.hits("/missing.zip").len(), 1);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_body_and_a_slow_answer_are_retried() {
    let server = TestServer::start().await;
    server.put("/a.zip", zip_of(&three()));
    server.fault(
        "/a.zip",
        &[Fault::ShortBody, Fault::Slow(Duration::from_secs(3))],
    );
    let dir = tempfile::tempdir().unwrap();
    let cat = catalog_dir(
        dir.path(),
        &[("t", "osv", vec![server.url("/a.zip")], true)],
    );
    let mut fetch = fast_fetch();
    fetch.total_timeout = Duration::from_millis(1500);
    let env = env_with(dir, &cat, fetch);
    let report = env.syncer.sync_named("t").await.unwrap();
    assert_eq!(report.status, SyncStatus::Ingested, "{report:?}");
    assert_eq!(report.records, 3);
    assert_eq!(
        server.hits("/a.zip").len(),
        3,
        "short body, timeout, success"
    );
    // Nothing half-written stays in the cache directory.
    let leftovers: Vec<_> = walk(&env.dir.path().join("cache"))
        .into_iter()
        .filter(|p| {
            let name = p.to_string_lossy();
            name.ends_with(".part") || name.ends_with(".new")
        })
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_truncated_gzip_never_replaces_good_data() {
    let server = TestServer::start().await;
    let good = three()
        .iter()
        .map(|r| r.to_string())
        .collect::<Vec<_>>()
        .join("\n");
    // One OSV JSON array, gzip-compressed.
    let array = format!("[{}]", good.replace('\n', ","));
    server.put("/feed.json.gz", gzip_of(array.as_bytes()));
    let env = one_feed_env(&server, "/feed.json.gz", true);
    let first = env.syncer.sync_named("t").await.unwrap();
    assert_eq!(first.outcome.created, 3, "{first:?}");
    let state = env.store.feed_state("t").unwrap().unwrap();
    let changes = change_count(&env.store);

    let mut next = three();
    next.truncate(1);
    let full = gzip_of(format!("[{}]", next[0]).as_bytes());
    let truncated = full[..full.len() - 12].to_vec();
    server.put("/feed.json.gz", truncated);
    for _ in 0..2 {
        let report = env.syncer.sync_named("t").await.unwrap();
        assert_eq!(report.status, SyncStatus::Failed, "{report:?}");
        assert_eq!(change_count(&env.store), changes);
        assert_eq!(matched(&env.store, "gamma", "0.1.0"), ["TEST-0003"]);
        let now = env.store.feed_state("t").unwrap().unwrap();
        assert_eq!(
            now.etags, state.etags,
            "validators of the bad copy are not kept"
        );
        assert_eq!(now.digests, state.digests);
    }
    server.put("/feed.json.gz", full);
    let report = env.syncer.sync_named("t").await.unwrap();
    assert_eq!(report.outcome.removed, 2, "{report:?}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_changed_file_of_a_multi_file_feed_reparses_the_cached_others() {
    let server = TestServer::start().await;
    let records = three();
    server.put("/main.zip", zip_of(&records[..2]));
    server.put("/community.zip", zip_of(&records[2..]));
    let env = feed_env(&server, "t", "osv", &["/main.zip", "/community.zip"], true);
    env.syncer.sync_named("t").await.unwrap();
    server.clear_log();
    let changed = record("TEST-0003", "gamma", "2024-05-01T00:00:00Z", "3.1.0");
    server.put("/community.zip", zip_of(&[changed]));
    let report = env.syncer.sync_named("t").await.unwrap();
    assert_eq!(server.hits("/main.zip")[0].status, 304);
    assert_eq!(report.not_modified, 1);
    assert_eq!(report.records, 3, "the 304 file was parsed from the cache");
    assert_eq!(
        (
            report.outcome.updated,
            report.outcome.removed,
            report.outcome.unchanged
        ),
        (1, 0, 2)
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn same_bytes_under_a_new_url_validator_are_not_parsed() {
    // A server without validators: every sync downloads, none parses twice.
    let server = TestServer::start().await;
    server.put("/a.zip", zip_of(&three()));
    let env = one_feed_env(&server, "/a.zip", true);
    env.syncer.sync_named("t").await.unwrap();
    // Drop our validators so the next request is unconditional.
    env.store
        .update_feed_state("t", |s| s.etags.clear())
        .unwrap();
    let report = env.syncer.sync_named("t").await.unwrap();
    assert_eq!(report.status, SyncStatus::Unchanged, "{report:?}");
    assert_eq!(report.records, 0);
    assert_eq!(change_count(&env.store), 3);
    server.stop().await;
}

fn normalized_records(store: &Store) -> Vec<Value> {
    let mut out = Vec::new();
    store
        .for_each_record(&mut |_, json| {
            let mut v: Value = serde_json::from_slice(json).unwrap();
            if let Some(sources) = v
                .pointer_mut("/database_specific/advisord/sources")
                .and_then(Value::as_array_mut)
            {
                for s in sources {
                    s["fetched"] = json!("-");
                }
            }
            out.push(v);
            Ok(())
        })
        .unwrap();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mirror_round_trip_gives_the_same_database_as_a_direct_sync() {
    let server = TestServer::start().await;
    let records = three();
    server.put("/osv/all.zip", zip_of(&records));
    server.put("/more.json.gz", gzip_of(records[0].to_string().as_bytes()));
    let dir = tempfile::tempdir().unwrap();
    let cat = catalog_dir(
        dir.path(),
        &[
            ("osv-a", "osv", vec![server.url("/osv/all.zip")], true),
            ("osv-b", "osv", vec![server.url("/more.json.gz")], true),
        ],
    );
    let catalog = Catalog::load(false, std::slice::from_ref(&cat)).unwrap();
    let specs = catalog.select(&[]).unwrap();

    // Direct sync.
    let direct = env_with(tempfile::tempdir().unwrap(), &cat, fast_fetch());
    for r in direct.syncer.sync_all(specs.clone()).await {
        assert_eq!(r.status, SyncStatus::Ingested, "{r:?}");
    }

    // Mirror pull on the "connected" side, then stop the upstream.
    let mirror = dir.path().join("mirror");
    let fetcher = Fetcher::new(fast_fetch()).unwrap();
    let pulled = advisord::pipeline::mirror::pull(&mirror, &specs, &fetcher)
        .await
        .unwrap();
    assert!(
        pulled.iter().all(|r| r.error.is_none() && r.files == 1),
        "{pulled:?}"
    );
    // A second pull is conditional: nothing transferred.
    let again = advisord::pipeline::mirror::pull(&mirror, &specs, &fetcher)
        .await
        .unwrap();
    assert!(
        again
            .iter()
            .all(|r| r.not_modified == 1 && r.downloaded_bytes == 0),
        "{again:?}"
    );
    server.stop().await;

    // Air-gapped side: no catalog at all, only the mirror.
    let offline = env_with(
        tempfile::tempdir().unwrap(),
        &catalog_dir(dir.path().join("empty").as_path(), &[]),
        fast_fetch(),
    );
    let reports = offline.syncer.sync_from_mirror(&mirror, &[]).await.unwrap();
    assert_eq!(reports.len(), 2);
    assert!(
        reports.iter().all(|r| r.status == SyncStatus::Ingested),
        "{reports:?}"
    );
    assert_eq!(
        normalized_records(&offline.store),
        normalized_records(&direct.store)
    );
    assert_eq!(normalized_records(&offline.store).len(), 3);
    assert_eq!(
        offline.store.stats().unwrap().feeds,
        direct.store.stats().unwrap().feeds
    );
    // Same mirror again: nothing parsed, nothing written.
    let changes = change_count(&offline.store);
    let reports = offline.syncer.sync_from_mirror(&mirror, &[]).await.unwrap();
    assert!(
        reports
            .iter()
            .all(|r| r.status == SyncStatus::Unchanged && r.records == 0),
        "{reports:?}"
    );
    assert_eq!(change_count(&offline.store), changes);

    // An altered file is refused before anything is read.
    let manifest = advisord::pipeline::mirror::load(&mirror).unwrap();
    let victim = mirror.join(&manifest.files[0].path);
    let mut bytes = std::fs::read(&victim).unwrap();
    bytes[10] ^= 0xff;
    std::fs::write(&victim, bytes).unwrap();
    let fresh = env_with(
        tempfile::tempdir().unwrap(),
        &catalog_dir(dir.path().join("empty2").as_path(), &[]),
        fast_fetch(),
    );
    let err = fresh
        .syncer
        .sync_from_mirror(&mirror, &[])
        .await
        .unwrap_err();
    assert!(err.to_string().contains("sha256"), "{err}");
    assert_eq!(fresh.store.stats().unwrap().records, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mirror_pull_resumes_a_partial_download() {
    let server = TestServer::start().await;
    let bytes: Vec<u8> = zip_of(&three());
    server.put("/big.zip", bytes.clone());
    let dir = tempfile::tempdir().unwrap();
    let cat = catalog_dir(
        dir.path(),
        &[("big", "osv", vec![server.url("/big.zip")], true)],
    );
    let specs = Catalog::load(false, &[cat]).unwrap().select(&[]).unwrap();
    let mirror = dir.path().join("mirror");
    // What an interrupted pull leaves behind: half the bytes and their ETag.
    let rel = format!(
        "big/{}",
        advisord::feeds::naming::cache_file_name(&server.url("/big.zip"))
    );
    let part = mirror.join(format!("{rel}.new.part"));
    std::fs::create_dir_all(part.parent().unwrap()).unwrap();
    let half = bytes.len() / 2;
    std::fs::write(&part, &bytes[..half]).unwrap();
    std::fs::write(mirror.join(format!("{rel}.new.part.etag")), etag_of(&bytes)).unwrap();

    let fetcher = Fetcher::new(fast_fetch()).unwrap();
    let report = advisord::pipeline::mirror::pull(&mirror, &specs, &fetcher)
        .await
        .unwrap();
    assert_eq!(
        report[0].downloaded_bytes,
        (bytes.len() - half) as u64,
        "{report:?}"
    );
    let hits = server.hits("/big.zip");
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].status, 206);
    assert_eq!(
        hits[0].range.as_deref(),
        Some(format!("bytes={half}-").as_str())
    );
    assert_eq!(std::fs::read(mirror.join(&rel)).unwrap(), bytes);
    let manifest = advisord::pipeline::mirror::load_verified(&mirror).unwrap();
    assert_eq!(manifest.files[0].size, bytes.len() as u64);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feeds_endpoint_and_admin_sync() {
    let server = TestServer::start().await;
    server.put("/osv/all.zip", zip_of(&three()));
    let env = one_feed_env(&server, "/osv/all.zip", true);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let api = format!("http://{}", listener.local_addr().unwrap());
    let state = advisord::api::AppState {
        store: env.store.clone(),
        hub: advisord::notify::Hub::new(
            env.store.clone(),
            advisord::notify::NotifyConfig {
                admin_token: Some("s3cret".into()),
                ..Default::default()
            },
        )
        .unwrap(),
        sync: Some(env.syncer.clone()),
    };
    let task = tokio::spawn(advisord::api::serve(
        listener,
        state,
        std::future::pending(),
    ));
    let client = reqwest::Client::new();
    let url = format!("{api}/v1/feeds/t/sync");
    assert_eq!(client.post(&url).send().await.unwrap().status(), 401);
    assert_eq!(
        client
            .post(&url)
            .bearer_auth("wrong")
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    let response = client
        .post(&url)
        .bearer_auth("s3cret")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let outcome: Value = response.json().await.unwrap();
    assert_eq!(outcome["status"], "ingested");
    assert_eq!(outcome["outcome"]["created"], 3);
    let missing = client
        .post(format!("{api}/v1/feeds/nope/sync"))
        .bearer_auth("s3cret")
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);

    let response = client
        .post(&url)
        .bearer_auth("s3cret")
        .send()
        .await
        .unwrap();
    let outcome: Value = response.json().await.unwrap();
    assert_eq!(outcome["status"], "not-modified");

    let feeds: Value = get_json(&client, &format!("{api}/v1/feeds")).await.1;
    let feed = &feeds["feeds"][0];
    assert_eq!(feed["name"], "t");
    assert_eq!(feed["records"], 3);
    assert_eq!(feed["last_outcome"]["created"], 3);
    assert!(
        feed["etags"][server.url("/osv/all.zip")].is_string(),
        "{feed}"
    );
    assert!(feed["last_success"].is_string());
    assert!(feed["last_error"].is_null());
    task.abort();
    server.stop().await;
}

#[test]
fn cli_sync_feeds_and_mirror_against_a_local_upstream() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let server = runtime.block_on(TestServer::start());
    server.put("/osv/all.zip", zip_of(&three()));
    let dir = tempfile::tempdir().unwrap();
    let cat = catalog_dir(
        dir.path(),
        &[("t", "osv", vec![server.url("/osv/all.zip")], true)],
    );
    let db = dir.path().join("cli.redb");
    let (db, cat) = (db.to_str().unwrap(), cat.to_str().unwrap());
    let args = [
        "--db",
        db,
        "sync",
        "--no-builtin",
        "--catalog",
        cat,
        "--json",
    ];
    let first: Value = serde_json::from_str(&advisord_ok(&args)).unwrap();
    assert_eq!(first[0]["outcome"]["created"], 3);
    let second: Value = serde_json::from_str(&advisord_ok(&args)).unwrap();
    assert_eq!(second[0]["status"], "not-modified");
    let feeds = feeds_json(db, cat);
    assert_eq!(feeds[0]["records"], 3);
    // Unknown feed names and failing feeds make the command fail.
    let out = advisord(&["--db", db, "sync", "--no-builtin", "--catalog", cat, "nope"]);
    assert!(!out.status.success());
    let mirror = dir.path().join("m");
    advisord_ok(&[
        "mirror",
        "pull",
        "--no-builtin",
        "--catalog",
        cat,
        mirror.to_str().unwrap(),
    ]);
    drop(server);
    let db2 = dir.path().join("offline.redb");
    let out = advisord_ok(&[
        "--db",
        db2.to_str().unwrap(),
        "sync",
        "--no-builtin",
        "--from-mirror",
        mirror.to_str().unwrap(),
    ]);
    assert!(out.contains("3 created"), "{out}");
    runtime.shutdown_background();
}

/// `advisord serve` without `--no-sync` runs each feed on its interval.
#[test]
fn serve_schedules_feed_syncs() {
    use std::io::BufRead;
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let server = runtime.block_on(TestServer::start());
    server.put("/osv/all.zip", zip_of(&three()));
    let dir = tempfile::tempdir().unwrap();
    let cat = dir.path().join("catalog");
    std::fs::create_dir_all(&cat).unwrap();
    std::fs::write(
        cat.join("t.toml"),
        format!(
            "name = \"t\"\nformat = \"osv\"\nurls = [{:?}]\ninterval = \"2s\"\n",
            server.url("/osv/all.zip")
        ),
    )
    .unwrap();
    let db = dir.path().join("serve.redb");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_advisord"))
        .args([
            "--db",
            db.to_str().unwrap(),
            "serve",
            "--listen",
            "127.0.0.1:0",
        ])
        .args(["--no-builtin", "--catalog", cat.to_str().unwrap()])
        .env("ADVISORD_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap()
        .to_string();
    let feed = |want: &dyn Fn(&Value) -> bool| -> Value {
        for _ in 0..150 {
            let body: Value = runtime.block_on(async {
                reqwest::get(format!("{base}/v1/feeds"))
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap()
            });
            let feed = body["feeds"][0].clone();
            if want(&feed) {
                return feed;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("the scheduler did not get there");
    };
    let first = feed(&|f| f["records"] == 3);
    assert_eq!(first["last_outcome"]["created"], 3);
    // The next run picks up an upstream change by itself.
    let mut next = three();
    next[1] = record("TEST-0002", "beta", "2024-06-01T00:00:00Z", "2.1.0");
    server.put("/osv/all.zip", zip_of(&next));
    let second = feed(&|f| f["last_outcome"]["updated"] == 1);
    assert_eq!(second["records"], 3);
    // Between changes the scheduler's requests are conditional.
    std::thread::sleep(Duration::from_millis(2500));
    assert!(server.hits("/osv/all.zip").iter().any(|h| h.status == 304));
    let _ = child.kill();
    let _ = child.wait();
    runtime.shutdown_background();
}

/// Syncs real OSV data from ../shared through the local upstream and checks
/// the record count against the parser alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shared_bulk_data_syncs_fully_then_not_at_all() {
    let Some(path) = shared("data/osv/bulk/golang-vulndb-data-osv.tar.gz") else {
        return;
    };
    let (parsed, _) = crate::common::parse_path(advisord::formats::Format::Osv, "x", &path);
    let ids: std::collections::BTreeSet<String> = parsed.iter().map(|r| r.id.to_string()).collect();
    assert!(ids.len() > 100);
    let server = TestServer::start().await;
    server.put("/go.tar.gz", std::fs::read(&path).unwrap());
    let env = one_feed_env(&server, "/go.tar.gz", true);
    let first = env.syncer.sync_named("t").await.unwrap();
    assert_eq!(first.status, SyncStatus::Ingested, "{first:?}");
    assert_eq!(first.outcome.created, ids.len() as u64);
    assert_eq!(env.store.feed_record_ids("t").unwrap().len(), ids.len());
    assert_eq!(change_count(&env.store), ids.len() as u64);
    let second = env.syncer.sync_named("t").await.unwrap();
    assert_eq!(second.status, SyncStatus::NotModified);
    assert_eq!(change_count(&env.store), ids.len() as u64);
    server.stop().await;
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

fn all_records(store: &Store) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    store
        .for_each_record(&mut |id, json| {
            out.push((id.to_string(), serde_json::from_slice(json).unwrap()));
            Ok(())
        })
        .unwrap();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_then_import_round_trips_every_record() {
    let dir = tempfile::tempdir().unwrap();
    let a = Store::open(&dir.path().join("a.redb")).unwrap();
    // Our own fixtures (one with no affected package), plus real data when present.
    let fixtures = dir.path().join("fixtures");
    std::fs::create_dir_all(&fixtures).unwrap();
    for r in three() {
        std::fs::write(
            fixtures.join(format!("{}.json", r["id"].as_str().unwrap())),
            r.to_string(),
        )
        .unwrap();
    }
    std::fs::write(
        fixtures.join("TEST-0009.json"),
        json!({"id": "TEST-0009", "modified": "2024-01-01T00:00:00Z", "summary": "no package"})
            .to_string(),
    )
    .unwrap();
    let mut inputs = vec![(
        "fixtures".to_string(),
        advisord::pipeline::ingest::Input::Path(fixtures),
    )];
    for (feed, path) in [("go", "data/osv/bulk/golang-vulndb-data-osv.tar.gz")] {
        if let Some(p) = shared(path) {
            inputs.push((feed.to_string(), advisord::pipeline::ingest::Input::Path(p)));
        }
    }
    for (feed, input) in &inputs {
        advisord::pipeline::ingest::ingest(
            &a,
            advisord::formats::Format::Osv,
            feed,
            std::slice::from_ref(input),
        )
        .await
        .unwrap();
    }
    let before = all_records(&a);
    assert!(before.len() >= 4);

    let out = dir.path().join("tree");
    let report = advisord::pipeline::export::export_osv(&a, &out).unwrap();
    assert_eq!(report.records, before.len() as u64);
    assert_eq!(
        report.ecosystems[advisord::pipeline::export::NO_ECOSYSTEM_DIR],
        1
    );
    assert!(report.ecosystems["Go"] >= 3);
    // Each ecosystem's all.zip holds exactly its per-id files.
    for (eco, n) in &report.ecosystems {
        let zip = std::fs::File::open(out.join(eco).join("all.zip")).unwrap();
        assert_eq!(zip::ZipArchive::new(zip).unwrap().len() as u64, *n, "{eco}");
        let jsons = std::fs::read_dir(out.join(eco))
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .path()
                    .extension()
                    .is_some_and(|x| x == "json")
            })
            .count() as u64;
        assert_eq!(jsons, *n, "{eco}");
    }
    let listed = std::fs::read_to_string(out.join("ecosystems.txt")).unwrap();
    assert!(listed.lines().any(|l| l == "Go"), "{listed}");

    let b = Store::open(&dir.path().join("b.redb")).unwrap();
    let imported = advisord::pipeline::export::import_tree(&b, &out, "import:tree").unwrap();
    assert!(imported.errors.is_empty(), "{:?}", imported.errors);
    assert_eq!(imported.records, before.len() as u64);
    assert_eq!(imported.verbatim, imported.records);
    assert_eq!(all_records(&b), before, "every record, same JSON");
    // Queries see the imported records.
    assert_eq!(matched(&b, "alpha", "0.9.0"), ["TEST-0001"]);

    // An osv.dev-style tree without our provenance goes through the parser.
    let foreign = dir.path().join("foreign/Go");
    std::fs::create_dir_all(&foreign).unwrap();
    std::fs::write(foreign.join("TEST-0001.json"), three()[0].to_string()).unwrap();
    let c = Store::open(&dir.path().join("c.redb")).unwrap();
    let imported =
        advisord::pipeline::export::import_tree(&c, &dir.path().join("foreign"), "import:foreign")
            .unwrap();
    assert_eq!((imported.records, imported.verbatim), (1, 0));
    let record = c.get("TEST-0001").unwrap().unwrap();
    let sources = &record.database_specific.advisord.as_ref().unwrap().sources;
    assert_eq!(sources[0].feed, "import:foreign");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_dropped_by_one_of_two_feeds_stays_matched() {
    let server = TestServer::start().await;
    server.put("/a.zip", zip_of(&three()));
    server.put("/b.zip", zip_of(&three()[..1]));
    let dir = tempfile::tempdir().unwrap();
    let cat = catalog_dir(
        dir.path(),
        &[
            ("a", "osv", vec![server.url("/a.zip")], true),
            ("b", "osv", vec![server.url("/b.zip")], true),
        ],
    );
    let env = env_with(dir, &cat, fast_fetch());
    let specs = env.syncer.catalog().select(&[]).unwrap();
    env.syncer.sync_all(specs).await;
    let seq = env.store.stats().unwrap().last_change_seq;
    server.put("/a.zip", zip_of(&three()[1..]));
    let report = env.syncer.sync_named("a").await.unwrap();
    assert_eq!(report.outcome.removed, 1, "{report:?}");
    let changes = env.store.changes_after(seq, 10).unwrap();
    assert_eq!(changes.len(), 1);
    assert_eq!(
        (
            changes[0].id.as_str(),
            changes[0].kind,
            changes[0].feed.as_str()
        ),
        ("TEST-0001", ChangeKind::Updated, "a")
    );
    // Feed b still publishes it: still matched, now from b alone.
    assert_eq!(matched(&env.store, "alpha", "0.9.0"), ["TEST-0001"]);
    let record = env.store.get("TEST-0001").unwrap().unwrap();
    let feeds: Vec<String> = record
        .database_specific
        .advisord
        .unwrap()
        .sources
        .into_iter()
        .map(|s| s.feed)
        .collect();
    assert_eq!(feeds, ["b"]);
    assert_eq!(env.store.stats().unwrap().removed, 0);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_snapshot_does_not_remove_everything() {
    let server = TestServer::start().await;
    server.put("/a.zip", zip_of(&three()));
    let env = one_feed_env(&server, "/a.zip", true);
    env.syncer.sync_named("t").await.unwrap();
    let changes = change_count(&env.store);
    server.put(
        "/a.zip",
        zip_of(&[json!({"id": "TEST-0001", "modified": "not a date"})]),
    );
    let report = env.syncer.sync_named("t").await.unwrap();
    assert_eq!(report.status, SyncStatus::Failed, "{report:?}");
    assert!(
        report.error.as_deref().unwrap().contains("refusing"),
        "{report:?}"
    );
    assert_eq!(change_count(&env.store), changes);
    assert_eq!(matched(&env.store, "gamma", "0.1.0"), ["TEST-0003"]);
    server.stop().await;
}

/// Other formats plug in through the catalog's `format` string alone: an
/// OVAL bz2 file and a two-file Alpine secdb feed from ../shared sync like OSV.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_formats_sync_through_the_same_path() {
    let (Some(oval), Some(main), Some(community)) = (
        shared("data/oval/debian/oval-definitions-bullseye.excerpt.xml.bz2"),
        shared("data/alpine-secdb/json/v3.10-main.DERIVED-from-yaml.json"),
        shared("data/alpine-secdb/json/v3.10-community.DERIVED-from-yaml.json"),
    ) else {
        return;
    };
    let server = TestServer::start().await;
    server.put("/oval.xml.bz2", std::fs::read(&oval).unwrap());
    server.put("/v3.10/main.json", std::fs::read(&main).unwrap());
    server.put("/v3.10/community.json", std::fs::read(&community).unwrap());
    let dir = tempfile::tempdir().unwrap();
    let cat = catalog_dir(
        dir.path(),
        &[
            (
                "debian-oval",
                "oval",
                vec![server.url("/oval.xml.bz2")],
                true,
            ),
            (
                "alpine",
                "alpine-secdb",
                vec![
                    server.url("/v3.10/main.json"),
                    server.url("/v3.10/community.json"),
                ],
                true,
            ),
        ],
    );
    let env = env_with(dir, &cat, fast_fetch());
    let expected = |format: &str, paths: &[&Path]| -> u64 {
        let format: advisord::formats::Format = format.parse().unwrap();
        paths
            .iter()
            .map(|p| crate::common::parse_path(format, "x", p).0.len() as u64)
            .sum()
    };
    for (feed, format, paths) in [
        ("debian-oval", "oval", vec![oval.as_path()]),
        (
            "alpine",
            "alpine-secdb",
            vec![main.as_path(), community.as_path()],
        ),
    ] {
        let want = expected(format, &paths);
        assert!(want > 0, "{feed}");
        let report = env.syncer.sync_named(feed).await.unwrap();
        assert_eq!(report.status, SyncStatus::Ingested, "{report:?}");
        assert_eq!(report.records, want, "{feed}");
        let again = env.syncer.sync_named(feed).await.unwrap();
        assert_eq!(again.status, SyncStatus::NotModified, "{again:?}");
    }
    server.stop().await;
}

/// A snapshot feed of two OVAL files: when one of them cannot be read as a
/// whole (here truncated), applying the snapshot would remove every record
/// that file held; the sync fails instead and the store is left as it was.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_truncated_file_of_a_multi_file_oval_snapshot_keeps_the_stored_records() {
    let (Some(cve), Some(usn)) = (
        shared("data/oval/ubuntu/oci.com.ubuntu.jammy.cve.oval.xml.bz2"),
        shared("data/oval/ubuntu/oci.com.ubuntu.jammy.usn.oval.xml.bz2"),
    ) else {
        return;
    };
    let server = TestServer::start().await;
    server.put("/cve.xml.bz2", std::fs::read(&cve).unwrap());
    server.put("/usn.xml.bz2", std::fs::read(&usn).unwrap());
    let env = feed_env(
        &server,
        "ubuntu",
        "oval",
        &["/cve.xml.bz2", "/usn.xml.bz2"],
        true,
    );
    let first = env.syncer.sync_named("ubuntu").await.unwrap();
    assert_eq!(first.status, SyncStatus::Ingested, "{first:?}");
    let before = env.store.stats().unwrap();
    assert!(before.records >= 2, "both files gave records: {before:?}");

    // The USN file now ends in the middle of its definitions.
    let mut plain = String::new();
    std::io::Read::read_to_string(
        &mut bzip2::read::BzDecoder::new(std::fs::read(&usn).unwrap().as_slice()),
        &mut plain,
    )
    .unwrap();
    let cut = plain.find("</definition>").unwrap() + 20;
    server.put("/usn.xml.bz2", plain.as_bytes()[..cut].to_vec());
    let report = env.syncer.sync_named("ubuntu").await.unwrap();
    assert_eq!(report.status, SyncStatus::Failed, "{report:?}");
    let error = report.error.as_deref().unwrap();
    assert!(
        error.contains("usn.xml.bz2") && error.contains("partial snapshot"),
        "{error}"
    );
    let after = env.store.stats().unwrap();
    assert_eq!(
        (after.records, after.changes, after.removed),
        (before.records, before.changes, before.removed)
    );
    server.stop().await;
}

// ------------------------------------------------- ecosystems.txt and --check

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn osv_feeds_follow_the_buckets_ecosystems_txt() {
    let server = TestServer::start().await;
    server.put("/ecosystems.txt", b"Go\nRed Hat\n".to_vec());
    server.put("/Go/all.zip", zip_of(&three()));
    // A mirror without an index: its feeds are fetched as named.
    server.put(
        "/mirror/Go/all.zip",
        zip_of(&[record(
            "TEST-0009",
            "delta",
            "2024-01-01T00:00:00Z",
            "9.0.0",
        )]),
    );
    let dir = tempfile::tempdir().unwrap();
    let cat = catalog_dir(
        dir.path(),
        &[
            ("osv-Go", "osv", vec![server.url("/Go/all.zip")], true),
            (
                "osv-Photon-OS",
                "osv",
                vec![server.url("/Photon%20OS/all.zip")],
                true,
            ),
            (
                "mirrored",
                "osv",
                vec![server.url("/mirror/Go/all.zip")],
                true,
            ),
        ],
    );
    let env = env_with(dir, &cat, fast_fetch());
    let specs = env.syncer.catalog().select(&[]).unwrap();
    let reports = env.syncer.sync_all(specs.clone()).await;
    let by_name = |name: &str| reports.iter().find(|r| r.feed == name).unwrap().clone();
    assert_eq!(by_name("osv-Go").status, SyncStatus::Ingested);
    assert_eq!(by_name("osv-Go").outcome.created, 3);
    assert_eq!(by_name("mirrored").status, SyncStatus::Ingested);
    let photon = by_name("osv-Photon-OS");
    assert_eq!(photon.status, SyncStatus::NotPublished, "{photon:?}");
    let note = photon.note.clone().unwrap();
    assert!(
        note.contains("not published upstream") && note.contains("Photon OS"),
        "{note}"
    );
    assert!(photon.summary().contains("not published upstream"));
    // The unlisted export is never asked for; the index is read once for
    // both feeds of the bucket; the index-less mirror answered 404 once.
    assert!(server.hits("/Photon%20OS/all.zip").is_empty());
    assert_eq!(server.hits("/ecosystems.txt").len(), 1);
    assert_eq!(server.hits("/mirror/ecosystems.txt").len(), 1);
    // `feeds` says so from the copy on disk; other feeds carry no note.
    let views = env.syncer.views().unwrap();
    let view = |name: &str| views.iter().find(|v| v.name == name).unwrap().clone();
    assert_eq!(
        view("osv-Photon-OS").not_published.as_deref(),
        Some(note.as_str())
    );
    assert_eq!(view("osv-Photon-OS").last_error, None);
    assert_eq!(view("osv-Go").not_published, None);
    // A later process reads the index conditionally (304) and still
    // follows it; once the ecosystem is listed, the feed is fetched.
    let options = SyncOptions {
        fetch: fast_fetch(),
        cache_dir: env.dir.path().join("cache"),
        jobs: 2,
        force: false,
        ready_feeds: None,
    };
    let catalog = Catalog::load(false, std::slice::from_ref(&cat)).unwrap();
    let again = Syncer::new(env.store.clone(), catalog.clone(), options.clone()).unwrap();
    let report = again.sync_named("osv-Photon-OS").await.unwrap();
    assert_eq!(report.status, SyncStatus::NotPublished);
    let index_hits = server.hits("/ecosystems.txt");
    assert_eq!(index_hits.last().unwrap().status, 304, "{index_hits:?}");
    server.put("/ecosystems.txt", b"Go\nPhoton OS\nRed Hat\n".to_vec());
    server.put("/Photon%20OS/all.zip", zip_of(&three()[..1]));
    let later = Syncer::new(env.store.clone(), catalog, options).unwrap();
    let report = later.sync_named("osv-Photon-OS").await.unwrap();
    assert_eq!(report.status, SyncStatus::Ingested, "{report:?}");
    assert!(later
        .views()
        .unwrap()
        .iter()
        .all(|v| v.not_published.is_none()));
    server.stop().await;
}

#[test]
fn feeds_check_reports_each_url_on_a_loopback_upstream() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let server = runtime.block_on(TestServer::start());
    server.put("/ecosystems.txt", b"Go\n".to_vec());
    server.put("/Go/all.zip", zip_of(&three()));
    server.put(
        "/fresh.json",
        record("TEST-0005", "e", "2024-01-01T00:00:00Z", "1.0.0")
            .to_string()
            .into_bytes(),
    );
    // A port nothing listens on, and TLS asked of a plain-HTTP server.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed_url = format!("http://{}/x.json", closed.local_addr().unwrap());
    drop(closed);
    let tls_url = server.url("/fresh.json").replace("http://", "https://");
    let dir = tempfile::tempdir().unwrap();
    let feeds = vec![
        ("synced", "osv", vec![server.url("/Go/all.zip")], true),
        ("fresh", "osv", vec![server.url("/fresh.json")], true),
        ("moved", "osv", vec![server.url("/old/fresh.json")], true),
        ("gone", "osv", vec![server.url("/gone.json")], true),
        (
            "unlisted",
            "osv",
            vec![server.url("/Photon%20OS/all.zip")],
            true,
        ),
        ("refused", "osv", vec![closed_url.clone()], true),
        ("tls", "osv", vec![tls_url.clone()], true),
    ];
    let cat = catalog_dir(dir.path(), &feeds);
    let db = dir.path().join("check.redb");
    let (db, cat) = (db.to_str().unwrap(), cat.to_str().unwrap());
    // `synced` holds validators, so its check is conditional.
    advisord_ok(&[
        "--db",
        db,
        "sync",
        "--no-builtin",
        "--catalog",
        cat,
        "synced",
    ]);
    server.fault("/old/fresh.json", &[Fault::Redirect("/fresh.json")]);
    server.clear_log();
    let check = [
        "--db",
        db,
        "feeds",
        "--no-builtin",
        "--catalog",
        cat,
        "--check",
        "--timeout",
        "5",
    ];
    let out = advisord(&[&check[..], &["--json"][..]].concat());
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    for feed in ["gone", "refused", "tls"] {
        assert!(stderr.contains(feed), "{stderr}");
    }
    let checks: Value = serde_json::from_slice(&out.stdout).unwrap();
    let feed = |name: &str| {
        checks
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["feed"] == name)
            .unwrap_or_else(|| panic!("{name} in {checks}"))
            .clone()
    };
    let url = |name: &str| feed(name)["urls"][0].clone();
    assert_eq!(url("synced")["result"], "not-modified");
    assert_eq!(url("synced")["status"], 304);
    assert_eq!(url("fresh")["result"], "reachable");
    assert_eq!(url("fresh")["status"], 200);
    assert_eq!(url("moved")["result"], "redirect");
    assert_eq!(url("moved")["location"], server.url("/fresh.json"));
    assert_eq!(url("gone")["result"], "not-found");
    assert_eq!(url("gone")["status"], 404);
    assert_eq!(url("refused")["result"], "connection-error");
    assert_eq!(url("tls")["result"], "tls-error", "{}", url("tls"));
    for (name, reachable) in [
        ("synced", true),
        ("fresh", true),
        ("moved", true),
        ("gone", false),
        ("unlisted", true),
        ("refused", false),
        ("tls", false),
    ] {
        assert_eq!(feed(name)["reachable"], reachable, "{name}: {}", feed(name));
    }
    // Not in the bucket's index: reported, not asked, not a failure.
    assert!(feed("unlisted")["not_published"]
        .as_str()
        .is_some_and(|n| n.contains("not published upstream")));
    assert_eq!(feed("unlisted")["urls"], json!([]));
    assert!(server.hits("/Photon%20OS/all.zip").is_empty());
    // Checks ask, they do not download: every request was a HEAD.
    assert!(server
        .hits("/Go/all.zip")
        .iter()
        .all(|h| h.method == "HEAD"));
    // Only reachable feeds left: the text report, and exit 0.
    let good = catalog_dir(
        &dir.path().join("good"),
        &[feeds[0].clone(), feeds[1].clone(), feeds[2].clone()],
    );
    server.fault("/old/fresh.json", &[Fault::Redirect("/fresh.json")]);
    let text = advisord_ok(&[
        "--db",
        db,
        "feeds",
        "--no-builtin",
        "--catalog",
        good.to_str().unwrap(),
        "--check",
    ]);
    assert!(
        text.contains("synced\t") && text.contains("not modified (HTTP 304)"),
        "{text}"
    );
    assert!(text.contains("reachable (HTTP 200)"), "{text}");
    assert!(
        text.contains(&format!(
            "redirect (HTTP 200) -> {}",
            server.url("/fresh.json")
        )),
        "{text}"
    );
    runtime.shutdown_background();
}

/// The first `n` real Go records of the shared golang/vulndb tarball.
fn real_go_records(n: usize) -> Option<Vec<Value>> {
    let path = shared("data/osv/bulk/golang-vulndb-data-osv.tar.gz")?;
    let tarball = std::fs::read(path).unwrap();
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(tarball.as_slice()));
    let mut out = Vec::new();
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let name = entry.path().unwrap().display().to_string();
        if !name.ends_with(".json") || !name.contains("/GO-") {
            continue;
        }
        let mut text = String::new();
        std::io::Read::read_to_string(&mut entry, &mut text).unwrap();
        out.push(serde_json::from_str(&text).unwrap());
        if out.len() == n {
            break;
        }
    }
    Some(out)
}

/// Ids of the records `store` answers for every version of `record`'s first package.
fn package_matches(store: &Store, record: &Value) -> Vec<String> {
    let package = &record["affected"][0]["package"];
    advisord::query::PackageQuery::new(
        package["ecosystem"].as_str().unwrap(),
        package["name"].as_str().unwrap(),
        None,
    )
    .unwrap()
    .run(store)
    .unwrap()
    .into_iter()
    .map(|m| m.id)
    .collect()
}

/// Issue: in a full-snapshot `all.zip`, one record's file made unreadable
/// was reported "1 rejected … 1 removed" and stopped matching. A parse
/// error never deletes a vulnerability: the record keeps its last good
/// version, the error is in the sync report and in `feeds`; a record really
/// absent upstream is still removed.
#[test]
fn a_snapshot_with_one_corrupted_record_keeps_that_record_matching() {
    let Some(records) = real_go_records(40) else {
        return;
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let server = runtime.block_on(TestServer::start());
    server.put("/go/all.zip", zip_of(&records));
    let dir = tempfile::tempdir().unwrap();
    let cat = catalog_dir(
        dir.path(),
        &[("osv-go", "osv", vec![server.url("/go/all.zip")], true)],
    );
    let db = dir.path().join("db.redb");
    let (db, cat) = (db.to_str().unwrap(), cat.to_str().unwrap());
    let sync = ["--db", db, "sync", "--no-builtin", "--catalog", cat];
    advisord_ok(&sync);

    // GO record 7's file is cut in the middle.
    let victim = records[7]["id"].as_str().unwrap().to_string();
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default();
    for r in &records {
        let id = r["id"].as_str().unwrap();
        writer.start_file(format!("{id}.json"), options).unwrap();
        let text = r.to_string();
        let body = if id == victim {
            &text[..text.len() / 2]
        } else {
            &text[..]
        };
        writer.write_all(body.as_bytes()).unwrap();
    }
    server.put("/go/all.zip", writer.finish().unwrap().into_inner());
    let out = advisord(&sync);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stderr}");
    assert!(
        stdout.contains("1 rejected") && stdout.contains("0 removed"),
        "{stdout}"
    );
    assert!(
        stdout.contains("1 unreadable kept at their last good version"),
        "{stdout}"
    );
    assert!(stderr.contains(&format!("{victim}.json")), "{stderr}");
    let store = Store::open(Path::new(db)).unwrap();
    assert!(package_matches(&store, &records[7]).contains(&victim));
    assert_eq!(store.stats().unwrap().removed, 0);
    drop(store);
    let feeds = feeds_json(db, cat);
    assert_eq!(feeds[0]["last_rejected"], 1);
    let first = feeds[0]["last_rejections"][0].as_str().unwrap();
    assert!(first.contains(&format!("{victim}.json")), "{first}");
    let text = advisord_ok(&["--db", db, "feeds", "--no-builtin", "--catalog", cat]);
    assert!(text.contains("1 rejected; first:"), "{text}");

    // Really gone upstream: removed.
    let rest: Vec<Value> = records
        .iter()
        .filter(|r| r["id"] != victim.as_str())
        .cloned()
        .collect();
    server.put("/go/all.zip", zip_of(&rest));
    let out = advisord_ok(&sync);
    assert!(out.contains("1 removed"), "{out}");
    let store = Store::open(Path::new(db)).unwrap();
    assert!(!package_matches(&store, &records[7]).contains(&victim));
    drop(store);

    // A batch in which every record is rejected fails and writes nothing.
    server.put(
        "/go/all.zip",
        zip_of(&[json!({"id": "GO-2099-0001", "modified": "not a date"})]),
    );
    let out = advisord(&sync);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("FAILED"), "{stdout}");
    runtime.shutdown_background();
}

/// Issue 21: offline, `mirror pull`, `sync` and `feeds` said only "error
/// sending request for url (…)". The whole cause chain is printed: a
/// loopback port that refuses says "Connection refused"; a server that cuts
/// the body short says so.
#[test]
fn a_download_that_fails_says_why() {
    let refused = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        format!("http://127.0.0.1:{port}/all.zip")
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let server = runtime.block_on(TestServer::start());
    server.put("/cut.zip", zip_of(&three()));
    server.fault("/cut.zip", &[Fault::ShortBody, Fault::ShortBody]);
    let dir = tempfile::tempdir().unwrap();
    let cat = catalog_dir(
        dir.path(),
        &[
            ("refused", "osv", vec![refused], true),
            ("cut", "osv", vec![server.url("/cut.zip")], true),
        ],
    );
    let db = dir.path().join("db.redb");
    let (db, cat) = (db.to_str().unwrap(), cat.to_str().unwrap());
    let fast = ["--attempts", "2", "--retry-delay-ms", "10"];
    let out = advisord(
        &[
            &["--db", db, "sync", "--no-builtin", "--catalog", cat][..],
            &fast,
        ]
        .concat(),
    );
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = |feed: &str| {
        stdout
            .lines()
            .find(|l| l.starts_with(&format!("feed {feed}:")))
            .unwrap_or_default()
            .to_string()
    };
    assert!(line("refused").contains("Connection refused"), "{stdout}");
    let cut = line("cut");
    assert!(
        cut.contains("connection closed before message completed") || cut.contains("truncated"),
        "{stdout}"
    );
    let feeds = feeds_json(db, cat);
    let refused_view = feeds
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "refused")
        .unwrap();
    assert!(
        refused_view["last_error"]
            .as_str()
            .unwrap()
            .contains("Connection refused"),
        "{refused_view}"
    );
    let mirror = dir.path().join("m");
    let out = advisord(
        &[
            &[
                "mirror",
                "pull",
                "--no-builtin",
                "--catalog",
                cat,
                mirror.to_str().unwrap(),
                "refused",
            ][..],
            &fast,
        ]
        .concat(),
    );
    assert!(!out.status.success());
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(all.contains("Connection refused"), "{all}");
    runtime.shutdown_background();
}

/// feeds/README: a catalog file with a format this build cannot parse
/// (`format = "cvrf"`) "still loads": `feeds` lists it as unsupported (it
/// made `feeds` and `sync` fail at load), and syncing it says so.
#[test]
fn a_catalog_format_without_parser_loads_and_is_reported_unsupported() {
    let dir = tempfile::tempdir().unwrap();
    let cat = catalog_dir(
        dir.path(),
        &[(
            "suse-cvrf",
            "cvrf",
            vec!["http://127.0.0.1:9/cvrf.zip".into()],
            true,
        )],
    );
    let db = dir.path().join("db.redb");
    let (db, cat) = (db.to_str().unwrap(), cat.to_str().unwrap());
    let feeds = feeds_json(db, cat);
    assert_eq!(feeds[0]["name"], "suse-cvrf");
    assert_eq!(feeds[0]["supported"], false);
    let out = advisord(&["--db", db, "sync", "--no-builtin", "--catalog", cat]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("format \"cvrf\" is not supported by this build"),
        "{stdout}"
    );
}

/// Sync honours it too: the same real records served under a new URL are
/// parsed again (new URL, no stored digest) and nothing is written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_bytes_under_another_url_write_nothing() {
    let Some(records) = real_go_records(40) else {
        return;
    };
    let server = TestServer::start().await;
    server.put("/a/all.zip", zip_of(&records));
    server.put("/b/all.zip", zip_of(&records));
    let first = feed_env(&server, "osv-go", "osv", &["/a/all.zip"], true);
    let report = first.syncer.sync_named("osv-go").await.unwrap();
    assert_eq!(report.outcome.created, 40, "{report:?}");
    let changes = change_count(&first.store);
    let (dir, store) = (first.dir, first.store);
    drop(first.syncer);
    let cat = catalog_dir(
        dir.path(),
        &[("osv-go", "osv", vec![server.url("/b/all.zip")], true)],
    );
    let catalog = Catalog::load(false, &[cat]).unwrap();
    let options = SyncOptions {
        fetch: fast_fetch(),
        cache_dir: dir.path().join("cache"),
        jobs: 1,
        force: false,
        ready_feeds: None,
    };
    let syncer = Syncer::new(store.clone(), catalog, options).unwrap();
    let report = syncer.sync_named("osv-go").await.unwrap();
    assert_eq!(report.status, SyncStatus::Ingested, "{report:?}");
    let o = &report.outcome;
    assert_eq!(
        (o.created, o.updated, o.removed, o.unchanged),
        (0, 0, 0, 40)
    );
    assert_eq!(change_count(&store), changes);
    server.stop().await;
}
