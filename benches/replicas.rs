//! Scale-out costs, measured in one run over the shared OSV set (the four
//! bulk archives and every per-ecosystem sample folder), published to a
//! `file://` tree in a temporary directory:
//!
//! - publish size: bytes written for a one-record change (segment plus
//!   `latest.json`) / the snapshot's size (goal <= 0.001);
//! - catch-up: a new replica loading the snapshot, and a replica applying
//!   the whole set as segments, each / the writer's ingest time of the set
//!   (goal <= 0.5);
//! - throughput: 1,000-query batches over HTTP on loopback, spread over the
//!   writer and two replicas / sent to the writer alone. All three servers
//!   share this machine's cores, so this measures the overhead of the
//!   arrangement, not the capacity it adds (see README).
//!
//! Run: `cargo bench --bench replicas`.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use advisord::formats::Format;
use advisord::model::Timestamp;
use advisord::publish::{FollowOptions, Follower, PublishOptions, Publisher, Remote, S3Settings};
use advisord::store::Store;

mod common;

/// One feed per bulk archive, one per sample folder.
fn feeds(root: &std::path::Path) -> Vec<(String, PathBuf)> {
    let mut out = Vec::new();
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root)
        .expect("read data/osv")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    for dir in dirs {
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name == "bulk" {
            let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
                .expect("read bulk")
                .filter_map(|e| e.ok().map(|e| e.path()))
                .collect();
            files.sort();
            for file in files {
                let stem = file
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                out.push((format!("bulk-{}", stem.trim_end_matches(".tar.gz")), file));
            }
        } else {
            out.push((name, dir));
        }
    }
    out
}

/// Parses and stores every feed; returns the time taken.
fn ingest(store: &Store, feeds: &[(String, PathBuf)]) -> Duration {
    let fetched: Timestamp = "2026-01-01T00:00:00Z".parse().expect("timestamp");
    let start = Instant::now();
    for (feed, path) in feeds {
        let (records, _) =
            advisord::pipeline::ingest::collect_path(Format::Osv, feed, path, fetched.clone())
                .expect("parse");
        store.apply_snapshot(feed, records, |_| {}).expect("store");
    }
    start.elapsed()
}

/// Sends `rounds` batches from each of `clients` clients, client `i` to
/// `bases[i % len]`; returns batches per second.
async fn throughput(bases: &[String], body: &[u8], clients: usize, rounds: usize) -> f64 {
    let start = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..clients {
        let url = format!("{}/v1/querybatch", bases[i % bases.len()]);
        let body = body.to_vec();
        tasks.push(tokio::spawn(async move {
            let client = reqwest::Client::new();
            for _ in 0..rounds {
                let response = client
                    .post(&url)
                    .header("content-type", "application/json")
                    .body(body.clone())
                    .send()
                    .await
                    .expect("send");
                assert!(response.status().is_success());
                let _ = response.bytes().await.expect("body");
            }
        }));
    }
    for task in tasks {
        task.await.expect("client");
    }
    (clients * rounds) as f64 / start.elapsed().as_secs_f64()
}

/// Serves `store` on loopback until the runtime ends; returns its base URL.
async fn serve(store: Store) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let state = advisord::api::AppState::new(store).expect("state");
    tokio::spawn(advisord::api::serve(
        listener,
        state,
        std::future::pending::<()>(),
    ));
    base
}

fn main() {
    let Some(root) = common::shared("data/osv") else {
        eprintln!("skipping: shared data not found (set ADVISORD_SHARED)");
        return;
    };
    let feeds = feeds(&root);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    let open = |name: &str| Store::open(&dir.path().join(name)).expect("open store");
    let remote = |name: &str| {
        Remote::open(
            dir.path().join(name).to_str().expect("utf-8"),
            &S3Settings::default(),
        )
        .expect("remote")
    };

    // The writer publishes an empty snapshot, ingests, publishes segments.
    let writer = open("writer.redb");
    let segments = Publisher::new(
        writer.clone(),
        remote("by-segments"),
        PublishOptions::default(),
    );
    runtime.block_on(segments.publish()).expect("publish empty");
    let ingest_time = ingest(&writer, &feeds);
    let stats = writer.stats().expect("stats");
    let published = runtime
        .block_on(segments.publish())
        .expect("publish segments");

    // A second tree that starts from a snapshot of the full database.
    let snapshots = Publisher::new(
        writer.clone(),
        remote("by-snapshot"),
        PublishOptions::default(),
    );
    let start = Instant::now();
    let first = runtime
        .block_on(snapshots.publish())
        .expect("publish snapshot");
    let snapshot_time = start.elapsed();
    let snapshot_bytes = first.objects[0].bytes;

    // Replicas catching up, each into a new database.
    let follow = |name: &str, tree: &str| {
        let follower = Follower::new(open(name), remote(tree), FollowOptions::default());
        let start = Instant::now();
        let position = runtime.block_on(follower.catch_up()).expect("catch up");
        assert_eq!(position.seq, stats.last_change_seq);
        start.elapsed()
    };
    let from_snapshot = follow("replica-1.redb", "by-snapshot");
    let from_segments = follow("replica-2.redb", "by-segments");

    // One record changes.
    let fetched: Timestamp = "2026-01-02T00:00:00Z".parse().expect("timestamp");
    let (feed, path) = &feeds[0];
    let (mut records, _) =
        advisord::pipeline::ingest::collect_path(Format::Osv, feed, path, fetched).expect("parse");
    records.truncate(1);
    records[0].details = Some(format!(
        "{} (edited)",
        records[0].details.clone().unwrap_or_default()
    ));
    writer.apply_batch(feed, records, |_| {}).expect("edit");
    let change = runtime
        .block_on(snapshots.publish())
        .expect("publish one change");
    let change_bytes = change.total_bytes();

    println!(
        "input: {} feeds, {} records, {} changes; writer ingest {ingest_time:?}",
        feeds.len(),
        stats.records,
        stats.last_change_seq
    );
    println!(
        "snapshot: {snapshot_bytes} bytes (gzip of a compacted redb), taken and written in {snapshot_time:?}"
    );
    println!(
        "segments for the whole set: {} objects, {} bytes",
        published.objects.len(),
        published.total_bytes()
    );
    println!(
        "one-record change: {change_bytes} bytes published ({} segment + {} latest.json); ratio to snapshot = {:.6} (goal <= 0.001)",
        change.objects.iter().map(|o| o.bytes).sum::<u64>(),
        change.latest_bytes,
        change_bytes as f64 / snapshot_bytes as f64
    );
    println!(
        "replica catch-up from the snapshot: {from_snapshot:?}; ratio to writer ingest = {:.3} (goal <= 0.5)",
        from_snapshot.as_secs_f64() / ingest_time.as_secs_f64()
    );
    println!(
        "replica catch-up from segments only: {from_segments:?}; ratio to writer ingest = {:.3}",
        from_segments.as_secs_f64() / ingest_time.as_secs_f64()
    );

    // Throughput: the writer alone, then the writer and both replicas.
    let replica_one = open("replica-3.redb");
    let replica_two = open("replica-4.redb");
    for store in [&replica_one, &replica_two] {
        let follower = Follower::new(
            store.clone(),
            remote("by-snapshot"),
            FollowOptions::default(),
        );
        runtime.block_on(follower.catch_up()).expect("catch up");
    }
    let go = common::shared("data/osv/bulk/golang-vulndb-data-osv.tar.gz").expect("go bulk");
    let mut queries = Vec::new();
    for (_, bytes) in common::members(&go) {
        let record: serde_json::Value = serde_json::from_slice(&bytes).expect("json");
        for affected in record["affected"].as_array().into_iter().flatten() {
            for event in affected["ranges"][0]["events"]
                .as_array()
                .into_iter()
                .flatten()
            {
                if let Some(v) = event["fixed"].as_str() {
                    queries.push(serde_json::json!({
                        "package": {"ecosystem": "Go", "name": affected["package"]["name"]},
                        "version": v
                    }));
                }
            }
        }
    }
    queries.truncate(1000);
    let body = serde_json::to_vec(&serde_json::json!({ "queries": queries })).expect("batch");
    let (alone, together) = runtime.block_on(async {
        let writer_base = serve(writer.clone()).await;
        let one = serve(replica_one).await;
        let two = serve(replica_two).await;
        let _ = throughput(std::slice::from_ref(&writer_base), &body, 6, 3).await;
        let alone = throughput(std::slice::from_ref(&writer_base), &body, 6, 20).await;
        let together = throughput(&[writer_base, one, two], &body, 6, 20).await;
        (alone, together)
    });
    println!(
        "querybatch (1,000 queries) throughput, 6 clients: writer alone {alone:.1}/s, writer + 2 replicas {together:.1}/s; ratio = {:.2}",
        together / alone
    );
}
