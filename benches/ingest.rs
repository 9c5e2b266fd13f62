//! OSV ingest throughput on all shared OSV bulk data, against a plain
//! serde parse of the same bytes, measured in one run:
//!
//! - baseline: `serde_json::Value` (JSON) / `serde_norway` to `Value` (YAML);
//! - parse: advisord's OSV parser into the typed model, with provenance;
//! - ingest: parse + one redb write batch into a fresh database.
//!
//! Run: `cargo bench --bench ingest`.

use advisord::formats::{osv, SourceContext};
use advisord::model::Timestamp;
use advisord::store::Store;

mod common;

fn main() {
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

    let (ingest, created) = common::best_of(3, || {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&dir.path().join("bench.redb")).expect("open store");
        let records = parse_all();
        let outcome = store.apply_batch("bench", records, |_| {}).expect("batch");
        outcome.created
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
        "ratios: parse / plain = {:.2}x time, ingest / plain = {:.2}x time",
        parse.as_secs_f64() / baseline.as_secs_f64(),
        ingest.as_secs_f64() / baseline.as_secs_f64()
    );
}
