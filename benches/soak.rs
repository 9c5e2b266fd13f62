//! Soak: the real `advisord serve` on loopback under a long mixed load
//! while a feed sync keeps rewriting the store.
//!
//! 1. Burst: 8 clients send 1,000-query batches back to back while one
//!    client polls `/healthz`: every batch must succeed; the health
//!    latency percentiles are printed.
//! 2. Soak: `SOAK_REQUESTS` (default 1,000,000) mixed requests at 64
//!    connections (query, querybatch, vulns, changes pages, short SSE
//!    reads), bounded by `SOAK_SECS` (default 1800), while a local upstream
//!    serves a feed whose content alternates, synced again and again through
//!    `POST /v1/feeds/soak/sync`. Counts every status; any error or 5xx
//!    other than 503 back-pressure fails the run. RSS is sampled every
//!    second; after the warm-up (the first 10% of requests) the highest RSS
//!    of each later tenth of the requests must stay within +10% of the
//!    highest of the first tenth after warm-up (each sync lifts the RSS
//!    and lets it fall, so single samples compare a trough with a crest).
//!
//! The server runs with the default redb page cache (`--db-cache-mib`),
//! as users get it, unless `SOAK_DB_CACHE_MIB` sets another. Each re-sync
//! of the flipping feed appends ~10,000 entries (~6 MiB) to the change
//! log, which the soak does not prune, and redb keeps the pages it writes
//! in its cache up to the cap, so a cache larger than the warm-up fills
//! reads as growth (`SOAK_DB_CACHE_MIB=1024`, redb's own default, shows it).
//!
//! `cargo bench --bench soak` (needs `../shared`; loopback only).

#[path = "common.rs"]
mod common;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

const GO_BULK: &str = "data/osv/bulk/golang-vulndb-data-osv.tar.gz";
const PYPA_BULK: &str = "data/osv/bulk/pypa-advisory-database-vulns.tar.gz";
const FUZZ_BULK: &str = "data/osv/bulk/oss-fuzz-vulns.tar.gz";
const ALMA_BULK: &str = "data/osv/bulk/almalinux-osv-advisories.tar.gz";
const TOKEN: &str = "soak-token";
const CONNECTIONS: usize = 64;

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Runs the binary to completion, panicking with its stderr on failure.
fn advisord(args: &[&str]) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_advisord"))
        .args(args)
        .output()
        .expect("run advisord");
    assert!(
        out.status.success(),
        "advisord {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// (ecosystem, package, version) triples taken from the dumps' ranges.
fn questions(paths: &[std::path::PathBuf]) -> (Vec<Value>, Vec<String>) {
    let mut queries = Vec::new();
    let mut ids = Vec::new();
    for path in paths {
        for (_, bytes) in common::members(path) {
            let record: Value = match serde_json::from_slice(&bytes) {
                Ok(v) => v,
                Err(_) => match serde_norway::from_slice(&bytes) {
                    Ok(v) => v,
                    Err(_) => continue,
                },
            };
            if let Some(id) = record["id"].as_str() {
                ids.push(id.to_string());
            }
            for affected in record["affected"].as_array().into_iter().flatten() {
                let package = &affected["package"];
                for range in affected["ranges"].as_array().into_iter().flatten() {
                    for event in range["events"].as_array().into_iter().flatten() {
                        if let Some(v) = event["fixed"].as_str() {
                            queries.push(json!({"package": {"ecosystem": package["ecosystem"], "name": package["name"]}, "version": v}));
                        }
                    }
                }
            }
        }
    }
    (queries, ids)
}

fn rss_of(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .unwrap_or(0)
        * 1024
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let at = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[at]
}

/// Tallies of one run.
#[derive(Default)]
struct Tally {
    ok: AtomicU64,
    busy: AtomicU64,
    bad: AtomicU64,
    sse_events: AtomicU64,
}

fn main() {
    let paths: Option<Vec<_>> = [GO_BULK, PYPA_BULK, FUZZ_BULK, ALMA_BULK]
        .iter()
        .map(|p| common::shared(p))
        .collect();
    let Some(paths) = paths else {
        eprintln!("soak: ../shared not found, skipping");
        return;
    };
    let total = env_u64("SOAK_REQUESTS", 1_000_000);
    let max_secs = env_u64("SOAK_SECS", 1800);
    let cache_mib = std::env::var("SOAK_DB_CACHE_MIB").ok();
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("soak.redb");
    let db_arg = db.to_str().expect("utf-8").to_string();
    for (path, feed) in paths[..2].iter().zip(["osv-go", "osv-pypa"]) {
        advisord(&[
            "--db",
            &db_arg,
            "ingest",
            "--feed",
            feed,
            path.to_str().expect("utf-8"),
        ]);
    }
    let (queries, ids) = questions(&paths[..2]);
    let fuzz = std::fs::read(&paths[2]).expect("read");
    let alma = std::fs::read(&paths[3]).expect("read");

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async move {
        // The upstream: one feed whose content alternates between two dumps,
        // without validators, so every sync downloads, parses and writes.
        let flip = Arc::new(AtomicU64::new(0));
        let upstream = axum::Router::new().route(
            "/feed.tar.gz",
            axum::routing::get(move || {
                let n = flip.fetch_add(1, Ordering::Relaxed);
                let body = if n % 2 == 0 { fuzz.clone() } else { alma.clone() };
                async move { body }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let upstream_addr = listener.local_addr().expect("addr");
        tokio::spawn(async move { axum::serve(listener, upstream).await });
        let catalog = dir.path().join("catalog");
        std::fs::create_dir(&catalog).expect("mkdir");
        std::fs::write(
            catalog.join("soak.toml"),
            format!("name = \"soak\"\nformat = \"osv\"\nurls = [\"http://{upstream_addr}/feed.tar.gz\"]\ninterval = \"1d\"\n"),
        )
        .expect("write catalog");

        let mut server = tokio::process::Command::new(env!("CARGO_BIN_EXE_advisord"));
        server.args(["--db", &db_arg]);
        if let Some(mib) = &cache_mib {
            server.args(["--db-cache-mib", mib]);
        }
        let mut child = server
            .args(["--log", "warn", "serve", "--listen", "127.0.0.1:0", "--no-sync", "--no-builtin"])
            .arg("--catalog")
            .arg(&catalog)
            .env("ADVISORD_ADMIN_TOKEN", TOKEN)
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn serve");
        let pid = child.id().expect("pid");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = tokio::io::AsyncBufReadExt::lines(tokio::io::BufReader::new(stdout));
        let line = lines.next_line().await.expect("read").expect("listening line");
        let base = line.trim().trim_start_matches("listening on ").to_string();
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(CONNECTIONS)
            .timeout(Duration::from_secs(60))
            .build()
            .expect("client");

        match &cache_mib {
            Some(mib) => println!("soak: server redb cache capped at {mib} MiB"),
            None => println!(
                "soak: server redb cache at the default, {} MiB",
                advisord::store::DEFAULT_CACHE_BYTES >> 20
            ),
        }
        burst(&client, &base, &queries).await;
        soak(&client, &base, pid, total, max_secs, &queries, &ids).await;
        let _ = child.kill().await;
    });
}

/// 8 clients x 1,000-query batches back to back for 20 s, `/healthz` polled.
async fn burst(client: &reqwest::Client, base: &str, queries: &[Value]) {
    let batch = serde_json::to_vec(&json!({"queries": &queries[..1000]})).expect("json");
    let stop = Arc::new(AtomicBool::new(false));
    let tally = Arc::new(Tally::default());
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (client, url, batch, stop, tally) = (
            client.clone(),
            format!("{base}/v1/querybatch"),
            batch.clone(),
            stop.clone(),
            tally.clone(),
        );
        tasks.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let r = client
                    .post(&url)
                    .header("content-type", "application/json")
                    .body(batch.clone())
                    .send()
                    .await;
                let status = match r {
                    Ok(r) => {
                        let status = r.status().as_u16();
                        r.bytes().await.ok().map(|_| status)
                    }
                    Err(_) => None,
                };
                let counter = match status {
                    Some(200) => &tally.ok,
                    Some(503) => &tally.busy,
                    _ => &tally.bad,
                };
                counter.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    let health = reqwest::Client::new();
    let mut latencies = Vec::new();
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(20) {
        let at = Instant::now();
        let ok = health
            .get(format!("{base}/healthz"))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200);
        latencies.push(at.elapsed());
        assert!(ok, "/healthz failed during the burst");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    stop.store(true, Ordering::Relaxed);
    for task in tasks {
        task.await.expect("client task");
    }
    latencies.sort();
    let (ok, busy, bad) = (
        tally.ok.load(Ordering::Relaxed),
        tally.busy.load(Ordering::Relaxed),
        tally.bad.load(Ordering::Relaxed),
    );
    println!(
        "burst: 8 clients x 1,000-query batches for 20 s: {ok} ok, {busy} 503, {bad} failed; \
         /healthz ({} probes) p50 {:?}, p99 {:?}, max {:?}",
        latencies.len(),
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        latencies.last().copied().unwrap_or_default()
    );
    assert_eq!(
        (busy, bad),
        (0, 0),
        "ordinary batch use must never see 503 or errors"
    );
}

async fn soak(
    client: &reqwest::Client,
    base: &str,
    pid: u32,
    total: u64,
    max_secs: u64,
    queries: &[Value],
    ids: &[String],
) {
    let queries = Arc::new(queries.to_vec());
    let ids = Arc::new(ids.to_vec());
    let next = Arc::new(AtomicU64::new(0));
    let tally = Arc::new(Tally::default());
    let deadline = Instant::now() + Duration::from_secs(max_secs);
    let started = Instant::now();

    // The sync loop: the feed is re-synced as soon as the last one ends.
    let syncing = Arc::new(AtomicBool::new(true));
    let syncs = {
        let (client, url, syncing) = (
            client.clone(),
            format!("{base}/v1/feeds/soak/sync"),
            syncing.clone(),
        );
        tokio::spawn(async move {
            let mut done = 0u64;
            while syncing.load(Ordering::Relaxed) {
                let r = client.post(&url).bearer_auth(TOKEN).send().await;
                match r {
                    Ok(r) if r.status().is_success() => done += 1,
                    Ok(r) => panic!("sync answered {}: {:?}", r.status(), r.text().await),
                    Err(e) => panic!("sync failed: {e}"),
                }
            }
            done
        })
    };

    // RSS sampler.
    let samples = Arc::new(std::sync::Mutex::new(Vec::<(u64, u64)>::new()));
    let sampler = {
        let (samples, next, syncing) = (samples.clone(), next.clone(), syncing.clone());
        tokio::spawn(async move {
            while syncing.load(Ordering::Relaxed) {
                let done = next.load(Ordering::Relaxed);
                samples.lock().expect("lock").push((done, rss_of(pid)));
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        })
    };

    let mut workers = Vec::new();
    for worker in 0..CONNECTIONS {
        let (client, base, queries, ids, next, tally) = (
            client.clone(),
            base.to_string(),
            queries.clone(),
            ids.clone(),
            next.clone(),
            tally.clone(),
        );
        workers.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total || Instant::now() > deadline {
                    break;
                }
                let pick = (i as usize).wrapping_mul(2654435761) ^ worker;
                let status = match i % 20 {
                    // 45%: single queries.
                    0..=8 => {
                        let q = &queries[pick % queries.len()];
                        send(client.post(format!("{base}/v1/query")).json(q)).await
                    }
                    // 5%: batches of 100.
                    9 => {
                        let start = pick % (queries.len() - 100);
                        let batch = json!({"queries": &queries[start..start + 100]});
                        send(client.post(format!("{base}/v1/querybatch")).json(&batch)).await
                    }
                    // 30%: records by id.
                    10..=15 => {
                        let id = &ids[pick % ids.len()];
                        send(client.get(format!("{base}/v1/vulns/{id}"))).await
                    }
                    // 15%: change pages.
                    16..=18 => {
                        let after = pick % 1000;
                        send(client.get(format!("{base}/v1/changes?after={after}&limit=100"))).await
                    }
                    // 5%: a short SSE read.
                    _ => sse(&client, &base, pick, &tally).await,
                };
                let counter = match status {
                    Some(s) if s < 400 => &tally.ok,
                    Some(503) => &tally.busy,
                    other => {
                        if tally.bad.load(Ordering::Relaxed) < 10 {
                            eprintln!("soak: request {i} failed: {other:?}");
                        }
                        &tally.bad
                    }
                };
                counter.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    for w in workers {
        w.await.expect("worker");
    }
    let elapsed = started.elapsed();
    syncing.store(false, Ordering::Relaxed);
    let syncs = syncs.await.expect("sync task");
    sampler.await.expect("sampler");
    let done = next.load(Ordering::Relaxed).min(total);
    let (ok, busy, bad) = (
        tally.ok.load(Ordering::Relaxed),
        tally.busy.load(Ordering::Relaxed),
        tally.bad.load(Ordering::Relaxed),
    );
    let samples = samples.lock().expect("lock").clone();
    let warm = done / 10;
    let warm_rss = samples.iter().find(|(n, _)| *n >= warm).map_or(0, |s| s.1);
    let peak_after = samples
        .iter()
        .filter(|(n, _)| *n >= warm)
        .map(|s| s.1)
        .max()
        .unwrap_or(0);
    let last = samples.last().map_or(0, |s| s.1);
    println!(
        "soak: {done} requests at {CONNECTIONS} connections in {:.0} s ({:.0}/s) during {syncs} syncs: \
         {ok} ok, {busy} 503 (back-pressure), {bad} errors or other 5xx; {} SSE events read",
        elapsed.as_secs_f64(),
        done as f64 / elapsed.as_secs_f64(),
        tally.sse_events.load(Ordering::Relaxed)
    );
    println!(
        "soak: RSS after warm-up {} MiB, peak after {} MiB ({:+.1}%), at the end {} MiB",
        warm_rss >> 20,
        peak_after >> 20,
        (peak_after as f64 / warm_rss.max(1) as f64 - 1.0) * 100.0,
        last >> 20
    );
    // Each sync lifts the RSS while it parses and writes, then lets it
    // fall: a single sample after warm-up may catch either. Growth shows in
    // the envelope: the highest RSS of each tenth of the requests.
    let envelope: Vec<u64> = (0..10u64)
        .map(|tenth| {
            let (from, to) = (done * tenth / 10, done * (tenth + 1) / 10);
            samples
                .iter()
                .filter(|(n, _)| (from..=to).contains(n))
                .map(|s| s.1)
                .max()
                .unwrap_or(0)
        })
        .collect();
    let envelope_mib: Vec<u64> = envelope.iter().map(|r| r >> 20).collect();
    let first = envelope[1];
    let highest_later = envelope[1..].iter().copied().max().unwrap_or(0);
    println!(
        "soak: highest RSS of each tenth of the requests (MiB): {envelope_mib:?}; \
         after warm-up at most {:+.1}% over the first tenth after it",
        (highest_later as f64 / first.max(1) as f64 - 1.0) * 100.0
    );
    assert_eq!(bad, 0, "errors or 5xx other than 503");
    assert!(syncs > 0, "no sync completed during the soak");
    assert!(
        highest_later as f64 <= first as f64 * 1.10,
        "RSS grew more than 10% after warm-up: {envelope_mib:?} MiB"
    );
}

async fn send(request: reqwest::RequestBuilder) -> Option<u16> {
    let response = request.send().await.ok()?;
    let status = response.status().as_u16();
    response.bytes().await.ok()?;
    Some(status)
}

/// Opens a stream a little before the newest change and reads up to 20
/// events or 300 ms, then hangs up; `Some(status)` unless the transport failed.
async fn sse(client: &reqwest::Client, base: &str, pick: usize, tally: &Tally) -> Option<u16> {
    let page: Value = client
        .get(format!("{base}/v1/changes?after=0&limit=1"))
        .send()
        .await
        .ok()?
        .json()
        .await
        .ok()?;
    let last = page["last"].as_u64().unwrap_or(0);
    let after = last.saturating_sub(1 + (pick as u64 % 200));
    let mut response = client
        .get(format!("{base}/v1/changes/stream?after={after}"))
        .send()
        .await
        .ok()?;
    let status = response.status().as_u16();
    if status != 200 {
        return Some(status);
    }
    let until = Instant::now() + Duration::from_millis(300);
    let mut events = 0;
    while events < 20 {
        match tokio::time::timeout_at(until.into(), response.chunk()).await {
            Ok(Ok(Some(chunk))) => {
                events += chunk
                    .split(|b| *b == b'\n')
                    .filter(|l| l.starts_with(b"id:"))
                    .count();
            }
            Ok(Err(_)) => return None,
            Ok(Ok(None)) | Err(_) => break,
        }
    }
    tally.sse_events.fetch_add(events as u64, Ordering::Relaxed);
    Some(status)
}
