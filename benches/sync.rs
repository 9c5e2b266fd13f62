//! Feed sync overhead, measured in one run over all shared OSV data (the
//! four bulk archives plus every per-ecosystem sample file), served by a
//! local HTTP server on 127.0.0.1 (no real upstream is reached):
//!
//! - parse: the parsers alone (`collect_path` over every file);
//! - full sync: download + parse + one batch per feed into a fresh database;
//! - re-sync: the same catalog again, upstream unchanged (every file 304);
//! - re-sync without validators: every file downloaded again, recognized by
//!   its sha256, nothing parsed.
//!
//! Reported: full sync / parse (overhead ratio) and re-sync / full sync
//! (goal <= 0.02). Run: `cargo bench --bench sync`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use advisord::feeds::catalog::Catalog;
use advisord::feeds::http::FetchOptions;
use advisord::formats::Format;
use advisord::model::Timestamp;
use advisord::pipeline::sync::{SyncOptions, SyncStatus, Syncer};
use advisord::store::Store;
use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

mod common;

type Files = Arc<HashMap<String, (Vec<u8>, String)>>;

async fn serve(State(files): State<Files>, request: Request) -> Response {
    let Some((bytes, etag)) = files.get(request.uri().path()) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    if request
        .headers()
        .get(header::IF_NONE_MATCH)
        .is_some_and(|v| v.as_bytes() == etag.as_bytes())
    {
        return StatusCode::NOT_MODIFIED.into_response();
    }
    ([(header::ETAG, etag.clone())], bytes.clone()).into_response()
}

fn main() {
    let Some(root) = common::shared("data/osv") else {
        eprintln!("skipping: shared data not found (set ADVISORD_SHARED)");
        return;
    };
    // One feed per bulk archive and one per ecosystem sample folder.
    let mut feeds: Vec<(String, Vec<std::path::PathBuf>)> = Vec::new();
    let mut dirs: Vec<_> = std::fs::read_dir(&root)
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
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .expect("read folder")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file())
            .collect();
        files.sort();
        if name == "bulk" {
            for f in files {
                let stem = f
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                feeds.push((
                    format!("bulk-{}", stem.trim_end_matches(".tar.gz")),
                    vec![f],
                ));
            }
        } else if !files.is_empty() {
            feeds.push((name, files));
        }
    }
    let file_count: usize = feeds.iter().map(|(_, f)| f.len()).sum();

    // Parsers alone.
    let fetched: Timestamp = "2026-01-01T00:00:00Z".parse().expect("timestamp");
    let (parse, records) = common::best_of(3, || {
        let mut n = 0u64;
        for (feed, files) in &feeds {
            for f in files {
                let (records, _) =
                    advisord::pipeline::ingest::collect_path(Format::Osv, feed, f, fetched.clone())
                        .expect("parse");
                n += records.len() as u64;
            }
        }
        n
    });

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let mut served = HashMap::new();
    for (feed, files) in &feeds {
        for f in files {
            let bytes = std::fs::read(f).expect("read");
            let etag = format!("\"{}\"", &hex::encode(Sha256::digest(&bytes))[..16]);
            let name = f
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            served.insert(format!("/{feed}/{name}"), (bytes, etag));
        }
    }
    let served: Files = Arc::new(served);
    let base = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let app = axum::Router::new()
            .fallback(serve)
            .with_state(served.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        base
    });
    let dir = tempfile::tempdir().expect("tempdir");
    let catalog_dir = dir.path().join("catalog");
    std::fs::create_dir_all(&catalog_dir).expect("mkdir");
    for (feed, files) in &feeds {
        let urls: Vec<String> = files
            .iter()
            .map(|f| {
                let name = f
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                format!("{:?}", format!("{base}/{feed}/{name}"))
            })
            .collect();
        std::fs::write(
            catalog_dir.join(format!("{feed}.toml")),
            format!(
                "name = {feed:?}\nformat = \"osv\"\nurls = [{}]\ninterval = \"6h\"\n",
                urls.join(", ")
            ),
        )
        .expect("write catalog");
    }
    let catalog = Catalog::load(false, &[catalog_dir]).expect("catalog");
    let specs = catalog.select(&[]).expect("select");

    let mut full = Duration::MAX;
    let mut resync = Duration::MAX;
    let mut resync_nocond = Duration::MAX;
    let mut written = 0;
    for round in 0..3 {
        let db = dir.path().join(format!("bench-{round}.redb"));
        let store = Store::open(&db).expect("store");
        let options = SyncOptions {
            fetch: FetchOptions::default(),
            cache_dir: dir.path().join(format!("cache-{round}")),
            jobs: 2,
            force: false,
            ready_feeds: None,
        };
        let syncer = Syncer::new(store.clone(), catalog.clone(), options).expect("syncer");
        let start = Instant::now();
        let reports = runtime.block_on(syncer.sync_all(specs.clone()));
        full = full.min(start.elapsed());
        assert!(reports.iter().all(|r| r.status == SyncStatus::Ingested));
        written = store.stats().expect("stats").changes;

        let start = Instant::now();
        let reports = runtime.block_on(syncer.sync_all(specs.clone()));
        resync = resync.min(start.elapsed());
        assert!(reports.iter().all(|r| r.status == SyncStatus::NotModified));

        for spec in &specs {
            store
                .update_feed_state(&spec.name, |s| s.etags.clear())
                .expect("clear validators");
        }
        let start = Instant::now();
        let reports = runtime.block_on(syncer.sync_all(specs.clone()));
        resync_nocond = resync_nocond.min(start.elapsed());
        assert!(reports.iter().all(|r| r.status == SyncStatus::Unchanged));
        assert_eq!(store.stats().expect("stats").changes, written);
    }

    println!(
        "input: {} feeds, {} files, {records} records parsed, {written} records written",
        feeds.len(),
        file_count
    );
    println!(
        "parse (parsers alone)         {:>9.1} ms",
        parse.as_secs_f64() * 1e3
    );
    println!(
        "full sync                     {:>9.1} ms",
        full.as_secs_f64() * 1e3
    );
    println!(
        "re-sync, all 304              {:>9.1} ms",
        resync.as_secs_f64() * 1e3
    );
    println!(
        "re-sync, no validators        {:>9.1} ms",
        resync_nocond.as_secs_f64() * 1e3
    );
    println!(
        "full sync / parse             {:>9.2}",
        full.as_secs_f64() / parse.as_secs_f64()
    );
    println!(
        "re-sync / full sync           {:>9.4}  (goal <= 0.02)",
        resync.as_secs_f64() / full.as_secs_f64()
    );
    println!(
        "re-sync (no validators) / full{:>9.4}",
        resync_nocond.as_secs_f64() / full.as_secs_f64()
    );
}
