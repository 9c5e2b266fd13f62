//! OSV ingest throughput on all shared OSV bulk data, against a plain
//! serde parse of the same bytes, measured in one run:
//!
//! - baseline: `serde_json::Value` (JSON) / `serde_norway` to `Value` (YAML);
//! - parse: advisord's OSV parser into the typed model, with provenance;
//! - ingest: parse + one redb write batch into a fresh database, as
//!   `advisord ingest` writes: each record pushed into the open batch as
//!   it is parsed; and the same work one step after the other (parse every
//!   file into a `Vec`, then write it), the measure before 2026-12-08;
//! - the size of that database file against the input JSON, and where
//!   its bytes go: per table, rows, key + value bytes stored and the pages
//!   its B-tree takes (redb's table stats);
//! - peak RSS of a whole `ingest` of an OSV `all.zip` built from the
//!   AlmaLinux records at x1 and x5, the replicas with renamed ids (each
//!   copy is distinct records, as a large ecosystem's dump is), each in a
//!   fresh child process (`VmHWM` of /proc/self/status).
//!
//! Run: `cargo bench --bench ingest` (`INGEST_BENCH_ONLY=rss` for the RSS
//! figures alone, `INGEST_BENCH_SKIP_RSS=1` for the speed and size figures
//! alone; `INGEST_BENCH_CACHE_MIB` sets the page cache of the speed runs,
//! by default the store's).

use std::io::Write;
use std::path::Path;

use advisord::formats::{osv, Format, SourceContext};
use advisord::model::Timestamp;
use advisord::pipeline::ingest::{self, Input};
use advisord::store::{Store, DEFAULT_CACHE_BYTES};
use redb::{ReadableDatabase, ReadableTableMetadata, TableHandle};

mod common;

/// The AlmaLinux archive the all.zip replicas are built from.
const ALMA: &str = "data/osv/bulk/almalinux-osv-advisories.tar.gz";

/// The redb page caches the RSS children run with (MiB), unless
/// `INGEST_BENCH_RSS_CACHES_MIB` lists others (`1024,64`): the default
/// (what `advisord ingest` runs with) and redb's own (1 GiB), so the
/// store's cache is told apart from what the ingest itself holds.
const RSS_CACHES_MIB: &[usize] = &[DEFAULT_CACHE_BYTES >> 20, 1024];

/// Peak resident set size of this process in KiB.
fn vm_hwm_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// Child mode: one whole ingest of the zip at `path` into a fresh database
/// with a page cache of `cache_mib`, as `advisord ingest --format osv` runs
/// it; prints the peak RSS before and after (KiB) and the records created.
fn rss_child(path: &Path, cache_mib: usize) {
    let base = vm_hwm_kib();
    let dir = tempfile::tempdir().expect("tempdir");
    let store =
        Store::open_with_cache(&dir.path().join("rss.redb"), cache_mib << 20).expect("store");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let report = runtime
        .block_on(ingest::ingest(
            &store,
            Format::Osv,
            "bench",
            &[Input::Path(path.to_path_buf())],
        ))
        .expect("ingest");
    println!("{base} {} {}", vm_hwm_kib(), report.outcome.created);
}

/// Writes an OSV `all.zip` of `copies` replicas of `records` (member name,
/// JSON), copy k's ids suffixed `-xk`, each id once; returns the JSON
/// bytes written.
fn write_replica_zip(records: &[(String, Vec<u8>)], copies: usize, out: &Path) -> u64 {
    let file = std::fs::File::create(out).expect("create zip");
    let mut zip = zip::ZipWriter::new(file);
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    let mut total = 0u64;
    // The archive holds some ids twice (in two paths): a zip names each once.
    let mut written = std::collections::BTreeSet::new();
    for k in 0..copies {
        for (_, data) in records {
            let mut value: serde_json::Value = serde_json::from_slice(data).expect("json");
            let id = format!("{}-x{k}", value["id"].as_str().expect("id"));
            if !written.insert(id.clone()) {
                continue;
            }
            value["id"] = serde_json::Value::String(id.clone());
            let bytes = serde_json::to_vec(&value).expect("json");
            total += bytes.len() as u64;
            zip.start_file(format!("{id}.json"), options)
                .expect("zip member");
            zip.write_all(&bytes).expect("zip write");
        }
    }
    zip.finish().expect("zip finish");
    total
}

/// Peak-RSS growth of a whole all.zip ingest from x1 to x5 distinct-id
/// AlmaLinux replicas, against the growth of the input JSON.
fn rss_growth() {
    let Some(alma) = common::shared(ALMA) else {
        eprintln!("skipping RSS: {ALMA} not found");
        return;
    };
    let records: Vec<_> = common::members(&alma)
        .into_iter()
        .filter(|(name, _)| name.ends_with(".json"))
        .collect();
    let dir = tempfile::tempdir().expect("tempdir");
    let exe = std::env::current_exe().expect("exe");
    let scales = [1usize, 5];
    let inputs: Vec<_> = scales
        .iter()
        .map(|&k| {
            let path = dir.path().join(format!("alma-x{k}.zip"));
            let json = write_replica_zip(&records, k, &path);
            (k, path, json)
        })
        .collect();
    let caches: Vec<usize> = std::env::var("INGEST_BENCH_RSS_CACHES_MIB")
        .ok()
        .map(|v| v.split(',').filter_map(|c| c.trim().parse().ok()).collect())
        .unwrap_or_else(|| RSS_CACHES_MIB.to_vec());
    for cache in caches {
        let mut peaks = Vec::new();
        for (k, path, json) in &inputs {
            let out = std::process::Command::new(&exe)
                .env("INGEST_BENCH_RSS_ZIP", path)
                .env("INGEST_BENCH_RSS_CACHE_MIB", cache.to_string())
                .output()
                .expect("child");
            let text = String::from_utf8_lossy(&out.stdout).to_string();
            let fields: Vec<u64> = text
                .split_whitespace()
                .filter_map(|v| v.parse().ok())
                .collect();
            let (peak, created) = (
                fields.get(1).copied().unwrap_or(0),
                fields.get(2).copied().unwrap_or(0),
            );
            println!(
                "all.zip x{k}: {:.1} MB JSON, {created} created, peak RSS {:.1} MB (redb cache {cache} MiB)",
                *json as f64 / 1e6,
                peak as f64 / 1024.0
            );
            peaks.push((*json, peak));
        }
        if let (Some(first), Some(last)) = (peaks.first(), peaks.last()) {
            let growth = (last.1.saturating_sub(first.1) * 1024) as f64;
            println!(
                "ratio: all.zip RSS growth / input growth x1 -> x5 = {:.3} (redb cache {cache} MiB)",
                growth / (last.0 - first.0) as f64
            );
        }
    }
}

/// Prints, per table of the database at `path`, its rows, the key + value
/// bytes stored and what its pages take (leaf + branch pages at the
/// database's page size), largest first: where the file's bytes go.
fn table_sizes(path: &Path) {
    let db = redb::Database::open(path).expect("open database");
    let stats = db.begin_write().expect("write").stats().expect("stats");
    let page = stats.page_size() as u64;
    println!(
        "database: {:.1} MB in allocated pages ({:.1} MB fragmented, {:.1} MB metadata)",
        (stats.allocated_pages() * page) as f64 / 1e6,
        stats.fragmented_bytes() as f64 / 1e6,
        stats.metadata_bytes() as f64 / 1e6,
    );
    let txn = db.begin_read().expect("read");
    let mut rows = Vec::new();
    for handle in txn.list_tables().expect("tables") {
        let table = txn.open_untyped_table(handle.clone()).expect("table");
        let stats = table.stats().expect("stats");
        let pages = (stats.leaf_pages() + stats.branch_pages()) * page;
        let len = table.len().expect("len");
        rows.push((handle.name().to_string(), len, stats.stored_bytes(), pages));
    }
    rows.sort_by_key(|r| std::cmp::Reverse(r.3));
    for (name, len, stored, pages) in rows.iter().filter(|r| r.1 > 0) {
        println!(
            "table {name:<14}: {len:>7} rows, {:>6.1} MB stored, {:>6.1} MB in pages",
            *stored as f64 / 1e6,
            *pages as f64 / 1e6
        );
    }
}

fn main() {
    if let Some(path) = std::env::var_os("INGEST_BENCH_RSS_ZIP") {
        let cache = std::env::var("INGEST_BENCH_RSS_CACHE_MIB")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(DEFAULT_CACHE_BYTES >> 20);
        rss_child(Path::new(&path), cache);
        return;
    }
    if std::env::var("INGEST_BENCH_ONLY").as_deref() == Ok("rss") {
        rss_growth();
        return;
    }
    let mut files = Vec::new();
    for archive in common::OSV_BULK {
        match common::shared(archive) {
            Some(path) => files.extend(common::members(&path)),
            None => {
                eprintln!("skipping: {archive} not found (set ADVISORD_SHARED)");
                return;
            }
        }
    }
    let bytes: usize = files.iter().map(|(_, b)| b.len()).sum();
    println!(
        "input: {} files, {:.1} MiB",
        files.len(),
        bytes as f64 / 1048576.0
    );

    let (baseline, n) = common::best_of(3, || {
        let mut n = 0usize;
        for (name, data) in &files {
            let value: Result<serde_json::Value, String> = if name.ends_with(".json") {
                serde_json::from_slice(data).map_err(|e| e.to_string())
            } else {
                serde_norway::from_slice(data).map_err(|e| e.to_string())
            };
            n += usize::from(value.is_ok());
        }
        n
    });

    let fetched: Timestamp = "2026-01-01T00:00:00Z".parse().expect("timestamp");
    let parse_all = || {
        let mut records = Vec::with_capacity(files.len());
        for (name, data) in &files {
            let ctx = SourceContext::for_bytes("bench", name, fetched.clone(), data);
            let syntax = osv::Syntax::from_path(name).unwrap_or(osv::Syntax::Json);
            osv::parse(data, syntax, &ctx, &mut |item| {
                if let Ok(r) = item {
                    records.push(r);
                }
            });
        }
        records
    };
    let (parse, records) = common::best_of(3, parse_all);
    let parsed = records.len();
    drop(records);

    let cache_mib: usize = std::env::var("INGEST_BENCH_CACHE_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_CACHE_BYTES >> 20);
    let (ingest, (created, db_bytes, db_dir)) = common::best_of(3, || {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("bench.redb");
        let store = Store::open_with_cache(&path, cache_mib << 20).expect("open store");
        let ((), outcome) = store
            .write_batch("bench", |writer| {
                let mut failed = None;
                for (name, data) in &files {
                    let ctx = SourceContext::for_bytes("bench", name, fetched.clone(), data);
                    let syntax = osv::Syntax::from_path(name).unwrap_or(osv::Syntax::Json);
                    osv::parse(data, syntax, &ctx, &mut |item| {
                        if let (Ok(r), None) = (item, &failed) {
                            failed = writer.push(r).err();
                        }
                    });
                }
                failed.map_or(Ok::<_, advisord::store::StoreError>(()), Err)
            })
            .expect("batch");
        drop(store);
        let size = std::fs::metadata(&path).map_or(0, |m| m.len());
        (outcome.created, size, dir)
    });
    let (serial, _) = common::best_of(3, || {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open_with_cache(&dir.path().join("bench.redb"), cache_mib << 20)
            .expect("open store");
        let records = parse_all();
        store.apply_batch("bench", records, |_| {}).expect("batch")
    });

    let rate = |d: std::time::Duration| files.len() as f64 / d.as_secs_f64();
    println!(
        "plain serde parse : {:>8.0} records/s ({:?}, {n} ok)",
        rate(baseline),
        baseline
    );
    println!(
        "advisord parse    : {:>8.0} records/s ({:?}, {parsed} records)",
        rate(parse),
        parse
    );
    println!(
        "advisord ingest   : {:>8.0} records/s ({:?}, {created} created)",
        rate(ingest),
        ingest
    );
    println!(
        "advisord ingest, parse all then write: {:>8.0} records/s ({:?})",
        rate(serial),
        serial
    );
    println!(
        "ratios: parse / plain = {:.2}x time, ingest / plain = {:.2}x time (parse all then write: {:.2}x)",
        parse.as_secs_f64() / baseline.as_secs_f64(),
        ingest.as_secs_f64() / baseline.as_secs_f64(),
        serial.as_secs_f64() / baseline.as_secs_f64()
    );
    println!(
        "ratio: database file / input JSON = {:.2}x ({:.1} MB for {:.1} MiB in)",
        db_bytes as f64 / bytes as f64,
        db_bytes as f64 / 1e6,
        bytes as f64 / 1048576.0
    );
    table_sizes(&db_dir.path().join("bench.redb"));
    drop(db_dir);
    if std::env::var_os("INGEST_BENCH_SKIP_RSS").is_none() {
        rss_growth();
    }
}
