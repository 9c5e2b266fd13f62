//! Query cost, measured in one run on the shared Go + PyPA OSV dumps:
//!
//! - one querybatch of 1,000 (package, version) queries through the matching
//!   core (`query::match_batch`: each index row decided where it lies), against 1,000 raw
//!   redb point lookups of the same packages' index rows (no decoding, no
//!   matching) on the same file;
//! - the same 1,000-query batch over HTTP to the real server (`/v1/querybatch`).
//!
//! Run: `cargo bench --bench query` (`QUERY_BENCH_CACHE_MIB=1024`: the
//! core and raw lookups with that redb page cache instead of the default).

use std::collections::BTreeSet;

use advisord::formats::Format;
use advisord::model::Timestamp;
use advisord::query::{match_batch, PackageQuery};
use advisord::store::{tables, Store};
use redb::ReadableDatabase;

mod common;

fn main() {
    let (Some(go), Some(pypa)) = (
        common::shared("data/osv/bulk/golang-vulndb-data-osv.tar.gz"),
        common::shared("data/osv/bulk/pypa-advisory-database-vulns.tar.gz"),
    ) else {
        eprintln!("skipping: shared OSV bulk data not found");
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("bench.redb");
    let fetched: Timestamp = "2026-01-01T00:00:00Z".parse().expect("timestamp");
    {
        let store = Store::open(&db).expect("open");
        for (feed, path) in [("go", &go), ("pypa", &pypa)] {
            let (records, _) =
                advisord::pipeline::ingest::collect_path(Format::Osv, feed, path, fetched.clone())
                    .expect("parse");
            store.apply_batch(feed, records, |_| {}).expect("ingest");
        }
    }

    // 1,000 queries: Go packages at versions taken from their own events.
    let mut queries = Vec::new();
    let mut seen = BTreeSet::new();
    for (_, bytes) in common::members(&go) {
        let record: serde_json::Value = serde_json::from_slice(&bytes).expect("json");
        for affected in record["affected"].as_array().into_iter().flatten() {
            let name = affected["package"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            for range in affected["ranges"].as_array().into_iter().flatten() {
                for event in range["events"].as_array().into_iter().flatten() {
                    if let Some((_, v)) = event.as_object().and_then(|o| o.iter().next()) {
                        let v = v.as_str().unwrap_or("0");
                        if v != "0"
                            && seen.insert((name.clone(), v.to_string()))
                            && queries.len() < 1000
                        {
                            queries.push(PackageQuery::new("Go", &name, Some(v)).expect("query"));
                        }
                    }
                }
            }
        }
    }
    assert_eq!(queries.len(), 1000);
    let asked: Vec<&PackageQuery> = queries.iter().collect();
    let keys: Vec<_> = queries.iter().map(PackageQuery::index_key).collect();

    let cache = std::env::var("QUERY_BENCH_CACHE_MIB")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .map_or(advisord::store::DEFAULT_CACHE_BYTES, |mib| mib << 20);
    println!("redb page cache: {} MiB", cache >> 20);
    let store = Store::open_with_cache(&db, cache).expect("open");
    let (batch, matched) = common::best_of(10, || {
        let snapshot = store.snapshot().expect("snapshot");
        match_batch(&snapshot, &asked)
            .expect("lookup")
            .iter()
            .map(|answer| answer.matches.len())
            .sum::<usize>()
    });
    drop(store);

    let database = redb::Database::open(&db).expect("open raw");
    let (raw, found) = common::best_of(10, || {
        let txn = database.begin_read().expect("read txn");
        let table = txn.open_table(tables::PACKAGES).expect("table");
        let mut found = 0usize;
        for key in &keys {
            let (base, name) = (key.base.as_str(), key.name.as_str());
            let range = table.range((base, name, "", "")..).expect("range");
            for row in range {
                let (key, value) = row.expect("row");
                let (b, n, _, _) = key.value();
                if b != base || n != name {
                    break;
                }
                found += value.value().len().min(1);
            }
        }
        found
    });
    drop(database);

    println!("querybatch core, 1,000 queries: {batch:?} ({matched} matches)");
    println!("1,000 raw redb index lookups  : {raw:?} ({found} rows)");
    println!(
        "ratio: querybatch / raw lookups = {:.2}x",
        batch.as_secs_f64() / raw.as_secs_f64()
    );

    // The same batch over HTTP, through the real server code.
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let store = Store::open(&db).expect("open");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(advisord::api::serve(
            listener,
            advisord::api::AppState::new(store).expect("state"),
            async move {
                let _ = rx.await;
            },
        ));
        let body = serde_json::json!({
            "queries": queries.iter().map(|q| serde_json::json!({
                "package": {"ecosystem": "Go", "name": q.name}, "version": q.version
            })).collect::<Vec<_>>()
        });
        let client = reqwest::Client::new();
        let url = format!("http://{addr}/v1/querybatch");
        let mut best = std::time::Duration::MAX;
        for _ in 0..10 {
            let start = std::time::Instant::now();
            let response = client.post(&url).json(&body).send().await.expect("send");
            assert!(response.status().is_success());
            let _ = response.bytes().await.expect("body");
            best = best.min(start.elapsed());
        }
        println!("HTTP /v1/querybatch, 1,000 queries: {best:?}");
        let _ = tx.send(());
        let _ = server.await;
    });
}
