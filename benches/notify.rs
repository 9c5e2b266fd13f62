//! Notification cost, measured in one run on synthetic npm records:
//!
//! - fan-out: one ingest of 1,000 changed records with no watches, against
//!   the same ingest followed by the watch-engine pass that evaluates it
//!   against 1,000 watches of 500 packages each (ratio);
//! - webhook: latency from appending one change to the receiver holding it
//!   (20 runs), and time until it holds all of a 1,000-change append
//!   (one subscription, batches of 100);
//! - SSE: 1,000 records appended once, delivered to 1,000 concurrent
//!   `/v1/changes/stream` clients over HTTP (events per second).
//!
//! Everything (server, receiver, clients) shares one machine, so these are
//! figures of this machine at the time of the run, not of the server alone.
//!
//! Run: `cargo bench --bench notify`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use advisord::inventory;
use advisord::model::Advisory;
use advisord::model::InventoryPackage;
use advisord::notify::watches::engine::Engine;
use advisord::notify::{Hub, NotifyConfig};
use advisord::store::watches::Watch;
use advisord::store::Store;

/// Distinct package names the records and watches draw from.
const NAMES: usize = 20_000;

fn record(id: &str, package: usize, fixed: &str) -> Advisory {
    let json = serde_json::json!({
        "id": id,
        "modified": "2024-01-01T00:00:00Z",
        "affected": [{
            "package": {"ecosystem": "npm", "name": format!("lib-{package}")},
            "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": fixed}]}]
        }]
    });
    serde_json::from_value(json).expect("record")
}

/// 1,000 records; batch `round` changes them all: odd rounds fix them in
/// 0.5.x (so 1.0.0 is no longer affected), even rounds in 2.0.x.
fn batch(round: usize) -> Vec<Advisory> {
    let fixed = if round % 2 == 1 {
        format!("0.5.{round}")
    } else {
        format!("2.0.{round}")
    };
    (0..1000)
        .map(|i| record(&format!("BENCH-{i:04}"), (i * 7919) % NAMES, &fixed))
        .collect()
}

fn fanout() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Same starting point for both stores: the records exist, round 0.
    let plain = Store::open(&dir.path().join("plain.redb")).expect("open");
    let watched = Store::open(&dir.path().join("watched.redb")).expect("open");
    plain
        .apply_batch("bench", batch(0), |_| {})
        .expect("ingest");
    watched
        .apply_batch("bench", batch(0), |_| {})
        .expect("ingest");

    // 1,000 watches of 500 packages each at 1.0.0 (affected by every record
    // of their packages).
    let setup = Instant::now();
    let snapshot = watched.snapshot().expect("snapshot");
    let as_of = snapshot.last_seq().expect("seq");
    for w in 0..1000usize {
        let packages: Vec<InventoryPackage> = (0..500usize)
            .map(|p| InventoryPackage {
                ecosystem: "npm".into(),
                name: format!("lib-{}", (w * 131 + p * 37) % NAMES),
                version: Some("1.0.0".into()),
            })
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        let findings = inventory::findings(&snapshot, &packages, &[])
            .expect("findings")
            .into_iter()
            .flatten()
            .collect();
        let watch = Watch {
            id: format!("watch_{w:04}"),
            name: format!("image {w}"),
            created: "2024-01-01T00:00:00Z".into(),
            packages,
            findings,
            as_of,
            subscription: None,
            events: 0,
            image: None,
            ignore_status: Vec::new(),
        };
        watched.put_watch(&watch, None).expect("put watch");
    }
    drop(snapshot);
    let mut engine = Engine::default();
    engine.reload(&watched).expect("reload");
    eprintln!("setup of 1,000 watches: {:?}", setup.elapsed());

    let mut plain_times = Vec::new();
    let mut watched_times = Vec::new();
    let mut pass_times = Vec::new();
    let mut events = 0;
    for round in 1..=3 {
        let start = Instant::now();
        plain
            .apply_batch("bench", batch(round), |_| {})
            .expect("ingest");
        plain_times.push(start.elapsed());

        let start = Instant::now();
        watched
            .apply_batch("bench", batch(round), |_| {})
            .expect("ingest");
        let ingest = start.elapsed();
        let pass_start = Instant::now();
        let outcome = engine.pass(&watched).expect("pass");
        pass_times.push(pass_start.elapsed());
        watched_times.push(ingest + pass_times[pass_times.len() - 1]);
        assert_eq!(outcome.changes, 1000);
        events += outcome.events;
        if round == 1 {
            eprintln!(
                "pass: {} watches advanced, {} packages re-evaluated, {} events",
                outcome.watches, outcome.packages, outcome.events
            );
        }
    }
    let best = |v: &[Duration]| v.iter().min().copied().unwrap_or_default();
    let (p, w, e) = (best(&plain_times), best(&watched_times), best(&pass_times));
    println!("fan-out, 1,000 changed records (best of 3):");
    println!("  ingest, no watches:                      {p:?}");
    println!("  ingest + pass over 1,000 x 500 packages: {w:?} (pass alone {e:?})");
    println!(
        "  ratio: {:.2}x ({} watch events written over the 3 rounds)",
        w.as_secs_f64() / p.as_secs_f64(),
        events
    );
}

fn sse_and_webhook() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&dir.path().join("sse.redb")).expect("open");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let config = NotifyConfig {
            admin_token: Some("t".into()),
            poll: Duration::from_millis(50),
            // The receiver runs on loopback.
            allow_private_webhooks: true,
            ..NotifyConfig::default()
        };
        let hub = Hub::new(store.clone(), config).expect("hub");
        hub.start().expect("start");
        let state = advisord::api::AppState {
            store: store.clone(),
            hub: hub.clone(),
            sync: None,
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        tokio::spawn(advisord::api::serve(
            listener,
            state,
            std::future::pending(),
        ));

        // A webhook receiver counting changes.
        let received = Arc::new(AtomicUsize::new(0));
        let done = Arc::new(tokio::sync::Notify::new());
        let counter = received.clone();
        let notify = done.clone();
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |body: axum::body::Bytes| {
                let counter = counter.clone();
                let notify = notify.clone();
                async move {
                    let v: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
                    let n = v["changes"].as_array().map_or(0, Vec::len);
                    counter.fetch_add(n, Ordering::SeqCst);
                    notify.notify_one();
                    "ok"
                }
            }),
        );
        let hook = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let hook_url = format!("http://{}/hook", hook.local_addr().expect("addr"));
        tokio::spawn(async move { axum::serve(hook, app).await });
        let client = reqwest::Client::new();
        let r = client
            .post(format!("{base}/v1/subscriptions"))
            .bearer_auth("t")
            .json(&serde_json::json!({"url": hook_url, "secret": "s"}))
            .send()
            .await
            .expect("subscribe");
        assert_eq!(r.status().as_u16(), 201);

        // Webhook latency: one change at a time, append -> receiver has it.
        let wait_for = |n: usize| {
            let received = received.clone();
            let done = done.clone();
            async move {
                while received.load(Ordering::SeqCst) < n {
                    let _ = tokio::time::timeout(Duration::from_millis(100), done.notified()).await;
                }
            }
        };
        let mut latencies = Vec::new();
        for i in 0..20 {
            let s = store.clone();
            let start = Instant::now();
            let seq = tokio::task::spawn_blocking(move || {
                let r = record(&format!("LAT-{i:02}"), i, "2.0.0");
                s.apply_batch("bench", vec![r], |_| {})
                    .expect("ingest")
                    .last_seq
                    .unwrap_or(0)
            })
            .await
            .expect("append");
            hub.publish(seq);
            wait_for(i + 1).await;
            latencies.push(start.elapsed());
        }
        latencies.sort();
        println!(
            "webhook latency, one change appended -> received (20 runs): median {:?}, max {:?}",
            latencies[latencies.len() / 2],
            latencies[latencies.len() - 1]
        );
        // Webhook bulk: 1,000 changes in one append.
        let start = Instant::now();
        let s = store.clone();
        let seq = tokio::task::spawn_blocking(move || {
            s.apply_batch("bench", batch(0), |_| {})
                .expect("ingest")
                .last_seq
                .unwrap_or(0)
        })
        .await
        .expect("append");
        hub.publish(seq);
        wait_for(1020).await;
        println!(
            "webhook, 1,000 changes in one append, batches of 100: all received after {:?}",
            start.elapsed()
        );

        // 1,000 streams, connected before the append.
        const STREAMS: usize = 1000;
        let mut responses = Vec::with_capacity(STREAMS);
        for _ in 0..STREAMS {
            let r = client
                .get(format!("{base}/v1/changes/stream"))
                .send()
                .await
                .expect("stream");
            assert_eq!(r.status().as_u16(), 200);
            responses.push(r);
        }
        let start = Instant::now();
        let readers: Vec<_> = responses
            .into_iter()
            .map(|mut r| {
                tokio::spawn(async move {
                    let mut seen = 0usize;
                    let mut buffer = String::new();
                    while seen < 1000 {
                        let Ok(Some(chunk)) = r.chunk().await else {
                            break;
                        };
                        buffer.push_str(&String::from_utf8_lossy(&chunk));
                        while let Some(end) = buffer.find("\n\n") {
                            let block: String = buffer.drain(..end + 2).collect();
                            if block.contains("event: change") {
                                seen += 1;
                            }
                        }
                    }
                    seen
                })
            })
            .collect();
        let s = store.clone();
        let append = tokio::task::spawn_blocking(move || {
            let out = s.apply_batch("bench", batch(1), |_| {}).expect("ingest");
            out.last_seq.unwrap_or(0)
        })
        .await
        .expect("append");
        let appended = start.elapsed();
        hub.publish(append);
        let mut total = 0;
        for reader in readers {
            total += reader.await.expect("reader");
        }
        let sse = start.elapsed();
        println!("SSE, 1,000 appended changes to {STREAMS} concurrent streams:");
        println!("  append (1 batch): {appended:?}");
        println!(
            "  all streams have all changes: {sse:?} ({total} events, {:.0} events/s)",
            total as f64 / sse.as_secs_f64()
        );
    });
}

fn main() {
    // `NOTIFY_BENCH=fanout` or `=sse` runs one part (for profiling).
    let only = std::env::var("NOTIFY_BENCH").unwrap_or_default();
    if only.is_empty() || only == "fanout" {
        fanout();
    }
    if only.is_empty() || only == "sse" {
        sse_and_webhook();
    }
}
