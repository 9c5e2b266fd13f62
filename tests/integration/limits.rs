//! The server under abuse, on a real port: idle connections past the
//! descriptor limit, bursts of heavy batches, streams nobody reads, error
//! answers in the JSON shape, and webhook targets inside the network.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::common::{binary, get_json, ingest_osv, shared, Server};

const GO_BULK: &str = "data/osv/bulk/golang-vulndb-data-osv.tar.gz";
const PYPA_BULK: &str = "data/osv/bulk/pypa-advisory-database-vulns.tar.gz";
const TOKEN: &str = "limits-admin-token";

/// A database holding three synthetic npm records (three changes).
fn small_db(dir: &std::path::Path) -> std::path::PathBuf {
    let records = dir.join("records");
    std::fs::create_dir_all(&records).unwrap();
    for i in 0..3 {
        let record = json!({
            "id": format!("TEST-{i}"), "modified": "2024-01-01T00:00:00Z",
            "affected": [{"package": {"ecosystem": "npm", "name": "left-pad"},
                          "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "9.0.0"}]}]}]
        });
        std::fs::write(records.join(format!("{i}.json")), record.to_string()).unwrap();
    }
    let db = dir.join("a.redb");
    ingest_osv(&db, &records, "synthetic");
    db
}

/// One HTTP/1.1 exchange over a fresh socket (`Connection: close`), for
/// requests a client library would not send as is: returns the status,
/// the head and the body.
fn raw(addr: &str, head: &str) -> (u16, String, String) {
    let mut socket = TcpStream::connect(addr).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    socket.write_all(head.as_bytes()).unwrap();
    let mut answer = Vec::new();
    let _ = socket.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer).to_string();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status in {answer:?}"));
    (status, head.to_string(), body.to_string())
}

/// Asserts an error answer in the API's shape with `status` and `code`,
/// its message containing `needle`.
fn assert_error(what: &str, (status, head, body): &(u16, String, String), want: (u16, i64, &str)) {
    assert_eq!(*status, want.0, "{what}: {head}\n{body}");
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: application/json"),
        "{what}: {head}"
    );
    let body: Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("{what}: {e}: {body}"));
    assert_eq!(body["code"], want.1, "{what}: {body}");
    let message = body["message"].as_str().unwrap_or_default();
    assert!(message.contains(want.2), "{what}: {body}");
}

#[test]
fn errors_outside_handlers_are_json_and_after_past_the_newest_change_is_400() {
    let dir = tempfile::tempdir().unwrap();
    let db = small_db(dir.path());
    let server = Server::start_with(&db, &[("ADVISORD_ADMIN_TOKEN", TOKEN)]);
    let addr = server.addr();
    let get = |path: &str| {
        raw(
            addr,
            &format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
        )
    };

    assert_error(
        "unknown route",
        &get("/v2/nothing"),
        (404, 5, "/v2/nothing"),
    );
    let delete = raw(
        addr,
        "DELETE /v1/query HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert_error("wrong method", &delete, (405, 12, "DELETE"));
    assert!(
        delete.1.to_ascii_lowercase().contains("allow: post"),
        "{}",
        delete.1
    );
    assert_error(
        "GET on a POST route",
        &get("/v1/querybatch"),
        (405, 12, "GET"),
    );
    // Bodies over the limit, refused from the declared length alone.
    let too_big = |path: &str, length: usize| {
        raw(
            addr,
            &format!(
                "POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n\
                 Content-Type: application/json\r\nContent-Length: {length}\r\nConnection: close\r\n\r\n"
            ),
        )
    };
    assert_error(
        "querybatch over 4 MiB",
        &too_big("/v1/querybatch", (4 << 20) + 1),
        (413, 8, &(4u64 << 20).to_string()),
    );
    assert_error(
        "watch over 32 MiB",
        &too_big("/v1/watches", (32 << 20) + 1),
        (413, 8, &(32u64 << 20).to_string()),
    );
    // A cursor past the newest change: 400 on pages and streams alike.
    let (status, _, body) = get("/v1/changes?after=0");
    assert_eq!(status, 200, "{body}");
    let last = serde_json::from_str::<Value>(&body).unwrap()["last"]
        .as_u64()
        .unwrap();
    assert_eq!(last, 3);
    let (status, _, body) = get(&format!("/v1/changes?after={last}"));
    assert_eq!(
        status, 200,
        "the newest change itself is a valid cursor: {body}"
    );
    let past = last + 1;
    assert_error(
        "changes past the end",
        &get(&format!("/v1/changes?after={past}")),
        (400, 3, "past the newest change"),
    );
    assert_error(
        "stream past the end",
        &get(&format!("/v1/changes/stream?after={past}")),
        (400, 3, "past the newest change"),
    );
    let resume = raw(
        addr,
        &format!("GET /v1/changes/stream HTTP/1.1\r\nHost: x\r\nLast-Event-ID: {past}\r\nConnection: close\r\n\r\n"),
    );
    assert_error(
        "Last-Event-ID past the end",
        &resume,
        (400, 3, "past the newest change"),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_sockets_past_the_descriptor_limit_leave_healthz_answering() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("a.redb");
    let mut command = std::process::Command::new("sh");
    command
        .args(["-c", r#"ulimit -n 256 && exec "$0" "$@""#])
        .arg(binary())
        .args(["--db", db.to_str().unwrap()])
        .args(Server::ARGS)
        .args(["--header-timeout-secs", "2"]);
    let server = Server::spawn(command);
    let limits = std::fs::read_to_string(format!("/proc/{}/limits", server.pid())).unwrap();
    let open_files = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap();
    assert!(open_files.contains(" 256 "), "{open_files}");

    // 300 connections that never send a byte: more than the server has
    // descriptors for, so accept fails until some are closed.
    let idle: Vec<TcpStream> = (0..300)
        .map(|_| TcpStream::connect(server.addr()).unwrap())
        .collect();
    let opened = Instant::now();
    tokio::time::sleep(Duration::from_millis(2500)).await;

    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let asked = Instant::now();
    let health = client.get(server.url("/healthz")).send().await.unwrap();
    let waited = asked.elapsed();
    assert_eq!(health.status(), 200);
    assert!(
        waited < Duration::from_secs(1),
        "/healthz took {waited:?}, {:?} after the idle sockets opened",
        opened.elapsed()
    );
    // The server closed the idle sockets it took (EOF or reset on read).
    let closed = idle
        .iter()
        .filter(|socket| {
            socket
                .set_read_timeout(Some(Duration::from_millis(50)))
                .unwrap();
            let mut byte = [0u8; 1];
            match (&**socket).read(&mut byte) {
                Ok(0) => true,
                Err(e) => e.kind() == std::io::ErrorKind::ConnectionReset,
                Ok(_) => false,
            }
        })
        .count();
    assert!(
        closed >= 150,
        "only {closed} of 300 idle sockets were closed"
    );
    // Later, every one of them (those left in the backlog were taken and
    // timed out in turn), and the server still answers.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let still_open = idle
        .iter()
        .filter(|socket| {
            let mut byte = [0u8; 1];
            matches!((&**socket).read(&mut byte), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock || e.kind() == std::io::ErrorKind::TimedOut)
        })
        .count();
    assert_eq!(still_open, 0, "idle sockets never closed");
    let health = client.get(server.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
}

/// 1,000 Go queries at versions named in the dump's own ranges.
pub(crate) fn go_batch(go: &std::path::Path) -> Value {
    let file = std::fs::File::open(go).unwrap();
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
    let mut queries = Vec::new();
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        if !entry.path().unwrap().to_string_lossy().ends_with(".json") {
            continue;
        }
        let mut text = String::new();
        entry.read_to_string(&mut text).unwrap();
        let record: Value = serde_json::from_str(&text).unwrap();
        for affected in record["affected"].as_array().into_iter().flatten() {
            let name = &affected["package"]["name"];
            for event in affected["ranges"][0]["events"]
                .as_array()
                .into_iter()
                .flatten()
            {
                if let Some(v) = event["fixed"].as_str() {
                    queries
                        .push(json!({"package": {"ecosystem": "Go", "name": name}, "version": v}));
                }
            }
        }
        if queries.len() >= 1000 {
            break;
        }
    }
    queries.truncate(1000);
    assert_eq!(queries.len(), 1000);
    json!({ "queries": queries })
}

/// Sends `batch` `rounds` times back to back from each of `clients`
/// clients; returns every answer's status and `Retry-After`.
async fn batches(
    server: &Server,
    batch: &Value,
    clients: usize,
    rounds: usize,
) -> Vec<(u16, Option<String>, Value)> {
    let body = serde_json::to_vec(batch).unwrap();
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let url = server.url("/v1/querybatch");
        let body = body.clone();
        tasks.push(tokio::spawn(async move {
            let client = reqwest::Client::new();
            let mut out = Vec::new();
            for _ in 0..rounds {
                let response = client
                    .post(&url)
                    .header("content-type", "application/json")
                    .body(body.clone())
                    .send()
                    .await
                    .unwrap();
                let status = response.status().as_u16();
                let retry = response
                    .headers()
                    .get("retry-after")
                    .map(|v| v.to_str().unwrap().to_string());
                out.push((status, retry, response.json::<Value>().await.unwrap()));
            }
            out
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.unwrap());
    }
    all
}

/// [`batches`] while `/healthz` is polled; returns the batch answers and
/// the health statuses seen meanwhile.
async fn batches_and_health(
    server: &Server,
    batch: &Value,
    clients: usize,
    rounds: usize,
) -> (Vec<(u16, Option<String>, Value)>, Vec<u16>) {
    let (done, watching) = tokio::sync::watch::channel(false);
    let health = async {
        let client = reqwest::Client::new();
        let mut statuses = Vec::new();
        while !*watching.borrow() {
            let response = client.get(server.url("/healthz")).send().await.unwrap();
            statuses.push(response.status().as_u16());
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        statuses
    };
    let load = async {
        let answers = batches(server, batch, clients, rounds).await;
        done.send(true).unwrap();
        answers
    };
    tokio::join!(load, health)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn heavy_batches_queue_and_only_a_full_queue_answers_503() {
    let Some(go) = shared(GO_BULK) else { return };
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("a.redb");
    ingest_osv(&db, &go, "osv-go");
    let batch = go_batch(&go);

    // Ordinary use: 8 clients, 1,000-query batches back to back, all answered.
    let server = Server::start(&db);
    let (answers, health) = batches_and_health(&server, &batch, 8, 2).await;
    assert_eq!(answers.len(), 16);
    for (status, _, body) in &answers {
        assert_eq!(*status, 200, "{body}");
        assert_eq!(body["results"].as_array().unwrap().len(), 1000);
    }
    assert!(
        !health.is_empty() && health.iter().all(|s| *s == 200),
        "{health:?}"
    );
    drop(server);

    // One worker and no queue: a burst overflows, and the overflow is told
    // to come back, in the JSON error shape; health is not held up.
    let server = Server::start_with(
        &db,
        &[
            ("ADVISORD_HEAVY_WORKERS", "1"),
            ("ADVISORD_HEAVY_QUEUE", "0"),
        ],
    );
    let (answers, health) = batches_and_health(&server, &batch, 16, 2).await;
    let ok = answers.iter().filter(|(s, _, _)| *s == 200).count();
    let busy: Vec<_> = answers.iter().filter(|(s, _, _)| *s == 503).collect();
    assert!(ok > 0, "no batch got through");
    assert!(!busy.is_empty(), "no 503 with one worker and no queue");
    assert_eq!(ok + busy.len(), answers.len());
    for (_, retry, body) in busy {
        assert_eq!(retry.as_deref(), Some("1"));
        assert_eq!(body["code"], 14, "{body}");
    }
    assert!(health.iter().all(|s| *s == 200), "{health:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unread_change_streams_hold_bounded_memory() {
    let (Some(go), Some(pypa)) = (shared(GO_BULK), shared(PYPA_BULK)) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("a.redb");
    ingest_osv(&db, &go, "osv-go");
    ingest_osv(&db, &pypa, "osv-pypa");
    let server = Server::start(&db);
    let client = reqwest::Client::new();
    let page: Value = get_json(&client, &server.url("/v1/changes?after=0&limit=1"))
        .await
        .1;
    let changes = page["last"].as_u64().unwrap();
    assert!(changes > 5000, "{changes} changes");
    // What one stream from after=0 has to send: the whole log.
    let mut log_bytes = 0;
    let mut after = 0;
    while after < changes {
        let page: Value = client
            .get(server.url(&format!("/v1/changes?after={after}&limit=1000")))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        for change in page["changes"].as_array().unwrap() {
            log_bytes += change.to_string().len();
        }
        after = page["next"].as_u64().unwrap();
    }
    assert!(
        log_bytes > 1 << 20,
        "a stream's log is only {log_bytes} bytes: too small to tell bounded from unbounded"
    );
    let before = server.rss();
    // 400 streams from the start of the log whose readers stop reading once
    // the stream is seen live (its head and a first change event).
    let mut streams = Vec::new();
    for n in 0..400 {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        // A small receive window keeps the kernel from absorbing the
        // stream, so what is not sent piles up in the server if anywhere.
        socket.set_recv_buffer_size(4096).unwrap();
        let mut stream = socket
            .connect(server.addr().parse().unwrap())
            .await
            .unwrap();
        tokio::io::AsyncWriteExt::write_all(
            &mut stream,
            b"GET /v1/changes/stream?after=0 HTTP/1.1\r\nHost: x\r\n\r\n",
        )
        .await
        .unwrap();
        let mut seen = Vec::new();
        let mut chunk = [0u8; 512];
        while memchr::memmem::find(&seen, b"event: change").is_none() {
            let read = tokio::io::AsyncReadExt::read(&mut stream, &mut chunk);
            let got = tokio::time::timeout(Duration::from_secs(30), read)
                .await
                .unwrap_or_else(|_| panic!("stream {n}: no change event within 30 s"))
                .unwrap();
            assert!(
                got > 0,
                "stream {n} closed: {}",
                String::from_utf8_lossy(&seen)
            );
            seen.extend_from_slice(&chunk[..got]);
        }
        assert!(
            seen.starts_with(b"HTTP/1.1 200"),
            "stream {n}: {}",
            String::from_utf8_lossy(&seen)
        );
        streams.push(stream);
    }
    // Let the server fill whatever it buffers, then look again: a bounded
    // buffer is full by then and stays so.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let filled = server.rss();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let later = server.rss();
    let per_stream = later.saturating_sub(before) / 400;
    eprintln!(
        "400 unread streams over {changes} changes: RSS {} -> {} -> {} MiB ({} KiB a stream)",
        before >> 20,
        filled >> 20,
        later >> 20,
        per_stream >> 10
    );
    // Each stream may hold a page of 100 entries and the 64 KiB connection
    // buffer, where the whole log (over 1 MiB a stream, asserted above; 1.3
    // MiB a stream was held before the bound) would not. Measured: 55 KiB a
    // stream on a quiet machine, 182-292 KiB with other builds loading the
    // 2 cores (the allocator keeps more per thread): 512 KiB tells bounded
    // from the whole log without failing on a busy machine.
    assert!(
        per_stream < 512 << 10,
        "{} KiB held per unread stream",
        per_stream >> 10
    );
    assert!(
        later <= filled + (16 << 20),
        "RSS still growing: {} -> {} MiB",
        filled >> 20,
        later >> 20
    );
    let health = client.get(server.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    drop(streams);
}

#[tokio::test]
async fn webhooks_to_internal_addresses_are_refused_at_registration() {
    let dir = tempfile::tempdir().unwrap();
    let db = small_db(dir.path());
    let server = Server::start_with(&db, &[("ADVISORD_ADMIN_TOKEN", TOKEN)]);
    let client = reqwest::Client::new();
    let register = |path: &'static str, body: Value| {
        client
            .post(server.url(path))
            .bearer_auth(TOKEN)
            .json(&body)
            .send()
    };
    for url in [
        "http://127.0.0.1:9/hook",
        "http://2130706433/",
        "http://0.0.0.0/",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/",
        "http://[::ffff:127.0.0.1]/",
        "http://[fd12::1]/",
        "http://localhost:9/",
    ] {
        let subscription = json!({"url": url, "secret": "s"});
        let watch = json!({"name": "w", "packages": [{"purl": "pkg:npm/left-pad@1.0.0"}],
                           "webhook": {"url": url, "secret": "s"}});
        for (path, body) in [("/v1/subscriptions", subscription), ("/v1/watches", watch)] {
            let response = register(path, body).await.unwrap();
            assert_eq!(response.status(), 400, "{path} {url}");
            let body: Value = response.json().await.unwrap();
            let message = body["message"].as_str().unwrap();
            assert!(
                message.contains("--allow-private-webhooks"),
                "{path} {url}: {message}"
            );
        }
    }
    let long = format!("https://hooks.example/{}", "a".repeat(3000));
    let response = register("/v1/subscriptions", json!({"url": long, "secret": "s"}))
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert!(
        body["message"].as_str().unwrap().contains("at most 2048"),
        "{body}"
    );
    // Nothing was registered.
    let list: Value = client
        .get(server.url("/v1/subscriptions"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["subscriptions"], json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliveries_to_internal_addresses_are_refused_each_time() {
    // Subscriptions stored before this check existed, or whose name now
    // resolves inward: the delivery refuses them without connecting.
    let dir = tempfile::tempdir().unwrap();
    let db = small_db(dir.path());
    let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = hits.clone();
    let receiver = axum::Router::new().route(
        "/hook",
        axum::routing::post(move || {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            async { "ok" }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, receiver).await });

    let store = advisord::store::Store::open(&db).unwrap();
    let urls = [
        format!("http://127.0.0.1:{port}/hook"),
        format!("http://localhost:{port}/hook"),
    ];
    for (i, url) in urls.iter().enumerate() {
        store
            .put_subscription(&advisord::store::subscriptions::Subscription {
                id: format!("sub_{i}"),
                url: url.clone(),
                secret: "s".into(),
                filter: Default::default(),
                watch: None,
                cursor: 0,
                state: advisord::store::subscriptions::SubscriptionState::Active,
                failures: 0,
                last_error: None,
                last_attempt: None,
                last_success: None,
                delivered: 0,
                lost: 0,
                created: "2024-01-01T00:00:00Z".into(),
            })
            .unwrap();
    }
    let config = advisord::notify::NotifyConfig {
        poll: Duration::from_millis(20),
        backoff_base: Duration::from_millis(20),
        backoff_max: Duration::from_millis(50),
        ..Default::default()
    };
    let hub = advisord::notify::Hub::new(store.clone(), config).unwrap();
    hub.start().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut errors = Vec::new();
    while Instant::now() < deadline {
        errors = (0..urls.len())
            .map(|i| store.subscription(&format!("sub_{i}")).unwrap().unwrap())
            .filter(|s| s.failures >= 2)
            .map(|s| s.last_error.unwrap_or_default())
            .collect();
        if errors.len() == urls.len() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(errors.len(), urls.len(), "{errors:?}");
    for error in &errors {
        assert!(error.contains("loopback"), "{error}");
    }
    assert_eq!(hits.load(std::sync::atomic::Ordering::SeqCst), 0);
    for i in 0..urls.len() {
        let sub = store.subscription(&format!("sub_{i}")).unwrap().unwrap();
        assert_eq!(sub.cursor, 0, "nothing delivered, nothing acknowledged");
    }
}

#[tokio::test]
async fn feed_downloads_follow_a_few_redirects_and_only_to_http() {
    use axum::extract::Path;
    use axum::response::{IntoResponse, Redirect};
    // /hop/N redirects to /hop/N-1; /hop/0 is the file; /ftp redirects to ftp.
    let app = axum::Router::new()
        .route(
            "/hop/{n}",
            axum::routing::get(|Path(n): Path<u32>| async move {
                if n == 0 {
                    "the file".into_response()
                } else {
                    Redirect::temporary(&format!("/hop/{}", n - 1)).into_response()
                }
            }),
        )
        .route(
            "/ftp",
            axum::routing::get(|| async { Redirect::temporary("ftp://127.0.0.1/file") }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let options = advisord::feeds::http::FetchOptions {
        attempts: 1,
        ..Default::default()
    };
    let max = advisord::feeds::http::MAX_REDIRECTS;
    let body = advisord::feeds::http::get(&format!("{base}/hop/{max}"), &options)
        .await
        .unwrap();
    assert_eq!(body, b"the file");
    let err = advisord::feeds::http::get(&format!("{base}/hop/{}", max + 1), &options)
        .await
        .unwrap_err();
    let chain = format!("{err} {:?}", std::error::Error::source(&err));
    assert!(chain.contains("redirects"), "{chain}");
    let err = advisord::feeds::http::get(&format!("{base}/ftp"), &options)
        .await
        .unwrap_err();
    let chain = format!("{err} {:?}", std::error::Error::source(&err));
    assert!(chain.contains("only http and https"), "{chain}");
}

#[test]
fn a_kept_alive_connection_idle_past_the_header_timeout_is_closed() {
    let dir = tempfile::tempdir().unwrap();
    let db = small_db(dir.path());
    let mut command = std::process::Command::new(binary());
    command
        .args(["--db", db.to_str().unwrap()])
        .args(Server::ARGS)
        .args(["--header-timeout-secs", "1"]);
    let server = Server::spawn(command);
    let mut socket = TcpStream::connect(server.addr()).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    // One request, answered, on a connection kept alive...
    socket
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut buf = [0u8; 1024];
    let n = socket.read(&mut buf).unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    // ...then silence: the server hangs up once the header timeout passes.
    let idle = Instant::now();
    let n = socket.read(&mut buf).unwrap_or(0);
    assert_eq!(n, 0, "expected EOF");
    let waited = idle.elapsed();
    assert!(
        waited >= Duration::from_millis(900) && waited < Duration::from_secs(4),
        "closed after {waited:?}"
    );
}
