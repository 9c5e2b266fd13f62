//! OVAL benchmark: parse throughput against a raw quick-xml event scan of
//! the same bytes, and peak RSS (parse alone and a whole ingest into redb)
//! at x1/x10/x100 of the real RHEL 8 file.
//!
//! The scale-up inputs replicate the definitions, tests, objects, states and
//! variables of `shared/data/oval/rhel/v1/com.redhat.rhsa-RHEL8...xml` with
//! renamed ids (`oval:com.redhat.x7.rhsa:...`) into a temporary directory at
//! bench time; nothing generated is kept. The replicas keep their RHSA ids,
//! so a whole ingest merges them into the file's 129 records (ingest holds
//! one record per distinct id); a second set of inputs also renames the
//! advisory ids (`RHSA-2019:0966` -> `RHSA-2019:30966` in replica 3), so
//! every replica's records are distinct and the "distinct ids" ingest
//! figure measures what an ingest of a file that large holds. Peak RSS is
//! measured in a child
//! process per input (`VmHWM` of /proc/self/status), so one measurement never
//! inherits another's high-water mark.
//!
//! Run: `cargo bench --bench oval` (optionally `-- 10` to cap the scale).
//! Every figure comes from a fresh child process, so one measurement never
//! inherits another's heap or high-water mark.

use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use advisord::formats::oval;
use advisord::formats::SourceContext;

const SOURCE: &str = "data/oval/rhel/v1/com.redhat.rhsa-RHEL8.2019-11-13.xml";

fn shared_root() -> PathBuf {
    std::env::var_os("ADVISORD_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared"))
}

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

/// The text between `<tag>` and `</tag>`.
fn section<'a>(text: &'a str, tag: &str) -> &'a str {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    match (text.find(&open), text.find(&close)) {
        (Some(a), Some(b)) => &text[a + open.len()..b],
        _ => "",
    }
}

/// Replica `k`'s advisory ids: the number after `RHSA-YYYY:` gets `k + 1`
/// in front (`RHSA-2019:0966` -> `RHSA-2019:10966`), which keeps the id
/// valid and, the numbers all having four digits, distinct across replicas.
fn rename_advisories(text: &str, k: usize) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 64);
    let mut parts = text.split("RHSA-");
    out.push_str(parts.next().unwrap_or(""));
    for part in parts {
        out.push_str("RHSA-");
        let year_colon = part.len() >= 5
            && part.as_bytes()[..4].iter().all(u8::is_ascii_digit)
            && part.as_bytes()[4] == b':';
        if year_colon {
            out.push_str(&part[..5]);
            out.push_str(&(k + 1).to_string());
            out.push_str(&part[5..]);
        } else {
            out.push_str(part);
        }
    }
    out
}

/// Writes `copies` renamed replicas of the source into `out`, streaming;
/// with `distinct`, the replicas' advisory ids are renamed too.
fn scale_up(source: &str, copies: usize, distinct: bool, out: &Path) -> std::io::Result<u64> {
    let head_end = source.find("<definitions>").unwrap_or(0);
    let mut w = BufWriter::with_capacity(1 << 20, File::create(out)?);
    w.write_all(&source.as_bytes()[..head_end])?;
    for tag in ["definitions", "tests", "objects", "states", "variables"] {
        let body = section(source, tag);
        writeln!(w, "<{tag}>")?;
        for k in 0..copies {
            let renamed = body.replace("oval:com.redhat.", &format!("oval:com.redhat.x{k}."));
            let renamed = if distinct {
                rename_advisories(&renamed, k)
            } else {
                renamed
            };
            w.write_all(renamed.as_bytes())?;
        }
        writeln!(w, "</{tag}>")?;
    }
    writeln!(w, "</oval_definitions>")?;
    w.flush()?;
    Ok(std::fs::metadata(out)?.len())
}

/// Counts events of a plain quick-xml scan (no attribute or text decoding).
fn raw_scan(path: &Path) -> u64 {
    let file = File::open(path).expect("open");
    let mut reader = quick_xml::Reader::from_reader(BufReader::with_capacity(64 * 1024, file));
    let mut buf = Vec::with_capacity(64 * 1024);
    let mut n = 0u64;
    loop {
        match reader.read_event_into(&mut buf) {
            Ok(quick_xml::events::Event::Eof) => break,
            Ok(_) => n += 1,
            Err(e) => panic!("scan: {e}"),
        }
        buf.clear();
    }
    n
}

/// Parses with advisord, counting records (dropped as they come).
fn parse(path: &Path) -> (usize, usize) {
    let ctx = SourceContext {
        feed: "bench".into(),
        source: path.display().to_string(),
        fetched: "2024-01-01T00:00:00Z".parse().expect("timestamp"),
        digest: "sha256:0".into(),
    };
    let (mut ok, mut err) = (0, 0);
    oval::parse_path(path, &ctx, &mut |item| match item {
        Ok(_) => ok += 1,
        Err(_) => err += 1,
    })
    .expect("parse");
    (ok, err)
}

fn main() {
    // Child mode: measure one thing and print its peak RSS.
    if let Ok(job) = std::env::var("OVAL_BENCH_CHILD") {
        let path = PathBuf::from(std::env::var("OVAL_BENCH_FILE").expect("file"));
        let base = vm_hwm_kib();
        let (detail, secs) = match job.as_str() {
            "scan" => {
                let t = Instant::now();
                let n = raw_scan(&path);
                (format!("{n} events"), t.elapsed().as_secs_f64())
            }
            "tables" => {
                let t = Instant::now();
                let file = File::open(&path).expect("open");
                let tables = oval::xml::collect_tables(file).expect("pass 1");
                (
                    format!("{} tests", tables.tests.len()),
                    t.elapsed().as_secs_f64(),
                )
            }
            "definitions" => {
                let t = Instant::now();
                let file = BufReader::with_capacity(64 * 1024, File::open(&path).expect("open"));
                let mut n = 0usize;
                oval::xml::for_each_definition(file, &mut |_| {
                    n += 1;
                    true
                })
                .expect("pass 2");
                (format!("{n} definitions"), t.elapsed().as_secs_f64())
            }
            "ingest" => {
                // The whole ingest, as `advisord ingest --format oval FILE`
                // runs it: parse, same-id merge, one store batch, with the
                // default page cache.
                let t = Instant::now();
                let dir = tempfile::tempdir().expect("tempdir");
                let store =
                    advisord::store::Store::open(&dir.path().join("bench.redb")).expect("store");
                let runtime = tokio::runtime::Runtime::new().expect("runtime");
                let report = runtime
                    .block_on(advisord::pipeline::ingest::ingest(
                        &store,
                        advisord::formats::Format::Oval,
                        "bench",
                        &[advisord::pipeline::ingest::Input::Path(path.clone())],
                    ))
                    .expect("ingest");
                (
                    format!(
                        "{} definitions' records, {} stored, {} errors",
                        report.records,
                        report.outcome.created,
                        report.errors.len()
                    ),
                    t.elapsed().as_secs_f64(),
                )
            }
            _ => {
                let t = Instant::now();
                let (ok, err) = parse(&path);
                (
                    format!("{ok} records, {err} errors"),
                    t.elapsed().as_secs_f64(),
                )
            }
        };
        println!("{} {} {secs:.3} {detail}", base, vm_hwm_kib());
        return;
    }

    let max_scale: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(100);
    let source_path = shared_root().join(SOURCE);
    let Ok(source) = std::fs::read_to_string(&source_path) else {
        eprintln!("skipping: {} not found", source_path.display());
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let exe = std::env::current_exe().expect("exe");

    println!("OVAL benchmark on {SOURCE}");
    println!("each figure from a fresh child process (page cache warm); times best of 3,");
    println!("peak RSS = VmHWM of that child; throughput = input MB / wall seconds");
    let mut rows = Vec::new();
    for scale in [1usize, 10, 100] {
        if scale > max_scale {
            continue;
        }
        let path = dir.path().join(format!("rhel8-x{scale}.xml"));
        let bytes = scale_up(&source, scale, false, &path).expect("generate");
        let _ = raw_scan(&path); // warm the page cache
        let measure_file = |path: &Path, job: &str, runs: usize| -> (u64, f64, String) {
            let mut best = (0, f64::MAX, String::new());
            for _ in 0..runs {
                let out = std::process::Command::new(&exe)
                    .env("OVAL_BENCH_CHILD", job)
                    .env("OVAL_BENCH_FILE", path)
                    .output()
                    .expect("child");
                let text = String::from_utf8_lossy(&out.stdout).to_string();
                let mut parts = text.split_whitespace();
                let _base: u64 = parts.next().and_then(|v| v.parse().ok()).unwrap_or(0);
                let peak: u64 = parts.next().and_then(|v| v.parse().ok()).unwrap_or(0);
                let secs: f64 = parts
                    .next()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(f64::MAX);
                if secs < best.1 {
                    best = (peak, secs, parts.collect::<Vec<_>>().join(" "));
                }
            }
            best
        };
        let measure = |job: &str, runs: usize| measure_file(&path, job, runs);
        let (scan_peak, scan_s, events) = measure("scan", 3);
        let (tables_s, definitions_s) = (measure("tables", 3).1, measure("definitions", 3).1);
        let (parse_peak, parse_s, detail) = measure("parse", 3);
        let (ingest_peak, ingest_s, ingest_detail) = measure("ingest", 1);
        let mb = bytes as f64 / 1e6;
        println!(
            "  x{scale:<3} {mb:7.1} MB  raw scan {:6.1} MB/s ({events})  parse {:6.1} MB/s ({detail})  parse/scan = {:.2}",
            mb / scan_s,
            mb / parse_s,
            scan_s / parse_s
        );
        println!(
            "        pass 1 alone {tables_s:.3}s, pass-2 reading alone {definitions_s:.3}s, parse {parse_s:.3}s, scan {scan_s:.3}s; whole ingest {ingest_s:.3}s ({ingest_detail})"
        );
        println!(
            "        peak RSS: scan {:.1} MB, parse {:.1} MB, whole ingest {:.1} MB",
            scan_peak as f64 / 1024.0,
            parse_peak as f64 / 1024.0,
            ingest_peak as f64 / 1024.0,
        );
        let _ = std::fs::remove_file(&path);
        let distinct_path = dir.path().join(format!("rhel8-x{scale}-distinct.xml"));
        let distinct_bytes = scale_up(&source, scale, true, &distinct_path).expect("generate");
        let _ = raw_scan(&distinct_path);
        let (distinct_peak, distinct_s, distinct_detail) =
            measure_file(&distinct_path, "ingest", 1);
        println!(
            "        distinct ids: {:.1} MB, whole ingest {distinct_s:.3}s ({distinct_detail}), peak RSS {:.1} MB",
            distinct_bytes as f64 / 1e6,
            distinct_peak as f64 / 1024.0,
        );
        let _ = std::fs::remove_file(&distinct_path);
        rows.push((
            bytes,
            parse_peak,
            ingest_peak,
            distinct_bytes,
            distinct_peak,
        ));
    }
    if let (Some(first), Some(last)) = (rows.first(), rows.last()) {
        if last.0 > first.0 {
            let input_growth = (last.0 - first.0) as f64;
            let growth = |a: u64, b: u64| (b.saturating_sub(a) * 1024) as f64 / input_growth;
            println!(
                "RSS growth / input growth (x1 -> largest): parse {:.3}, whole ingest {:.3} (goal < 0.25)",
                growth(first.1, last.1),
                growth(first.2, last.2)
            );
        }
        if last.3 > first.3 {
            let input_growth = (last.3 - first.3) as f64;
            let rss_growth = (last.4.saturating_sub(first.4) * 1024) as f64;
            println!(
                "RSS growth / input growth, whole ingest, replicas with distinct ids (x1 -> largest): {:.3} (+{:.1} MiB for +{:.1} MiB; goal <= 0.25)",
                rss_growth / input_growth,
                rss_growth / (1 << 20) as f64,
                input_growth / (1 << 20) as f64,
            );
        }
    }
}
