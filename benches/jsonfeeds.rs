//! JSON-feed parse throughput and memory, measured in one run:
//!
//! - throughput of `formats::csaf::parse` on the biggest CSAF/VEX files of
//!   the shared data against a plain `serde_json::Value` parse of the same
//!   bytes (best of several rounds each; the ratio is what matters);
//! - the same for the Alpine secdb (all YAML releases) and the Debian
//!   tracker JSON excerpts, for reference;
//! - peak RSS of one fresh process parsing the 2.9 MB Red Hat VEX, with the
//!   advisord parser and with `serde_json::Value`, against the file size.
//!
//! Run with `cargo bench --bench jsonfeeds`. Skips what `../shared` lacks.

mod common;

use std::path::Path;
use std::time::Duration;

use advisord::formats::{alpine, csaf, debian_tracker, ParseItem, SourceContext};
use advisord::model::Timestamp;

const CSAF_FILES: &[&str] = &[
    "data/vex/redhat/cve-2022-38752.json",
    "data/csaf/suse/suse-su-403.json",
    "data/vex/redhat/cve-2023-6240.json",
    "data/vex/redhat/example_vex.jsonl",
    "data/csaf/redhat/advisories/rhsa-2023_7464.json",
    "data/vex/redhat/claircore-acceptance-cve-2025-6176.json",
];

/// The file whose peak RSS is measured.
const RSS_FILE: &str = "data/vex/redhat/cve-2022-38752.json";

/// Which parser a function runs over bytes.
type Parser = fn(&[u8], &SourceContext, &mut dyn FnMut(ParseItem));

fn main() {
    // Child mode: parse one file in a fresh process and report peak RSS.
    let args: Vec<String> = std::env::args().collect();
    if let Some(pos) = args.iter().position(|a| a == "--rss-child") {
        if let (Some(mode), Some(path)) = (args.get(pos + 1), args.get(pos + 2)) {
            rss_child(mode, Path::new(path));
        }
        return;
    }

    println!("# CSAF/VEX: advisord parser vs serde_json::Value (best of 9, interleaved)");
    println!(
        "{:<48} {:>9} {:>8} {:>11} {:>11} {:>7}",
        "file", "MB", "records", "value MB/s", "csaf MB/s", "ratio"
    );
    let mut total = (0usize, Duration::ZERO, Duration::ZERO);
    for relative in CSAF_FILES {
        let Some(path) = common::shared(relative) else {
            println!("{relative}: missing, skipped");
            continue;
        };
        let bytes = std::fs::read(&path).expect("read");
        let context = ctx(&bytes, relative);
        let ((value_time, value_ok), (csaf_time, (records, errors))) = interleaved(
            9,
            || value_parse(&bytes),
            || run(csaf::parse, &bytes, &context),
        );
        assert!(value_ok && errors == 0, "{relative}: {errors} errors");
        report(relative, bytes.len(), records, value_time, csaf_time);
        total.0 += bytes.len();
        total.1 += value_time;
        total.2 += csaf_time;
    }
    if total.0 > 0 {
        report("total of the files above", total.0, 0, total.1, total.2);
    }

    println!();
    println!("# Alpine secdb (all YAML releases) and Debian tracker JSON excerpts");
    let mut yaml = Vec::new();
    for release in [
        "3.3", "3.4", "3.5", "3.6", "3.7", "3.8", "3.9", "3.10", "3.11",
    ] {
        for repo in ["main", "community"] {
            let relative = format!("data/alpine-secdb/yaml/v{release}-{repo}.yaml");
            if let Some(path) = common::shared(&relative) {
                yaml.push(std::fs::read(path).expect("read"));
            }
        }
    }
    if !yaml.is_empty() {
        let size: usize = yaml.iter().map(Vec::len).sum();
        let contexts: Vec<SourceContext> = yaml.iter().map(|b| ctx(b, "alpine")).collect();
        let ((value_time, _), (parse_time, records)) = interleaved(
            9,
            || {
                yaml.iter()
                    .filter(|b| serde_norway::from_slice::<serde_json::Value>(b).is_ok())
                    .count()
            },
            || {
                yaml.iter()
                    .zip(&contexts)
                    .map(|(b, c)| run(alpine::parse, b, c).0)
                    .sum::<usize>()
            },
        );
        report(
            "alpine yaml v3.3-v3.11 (18 files)",
            size,
            records,
            value_time,
            parse_time,
        );
    }
    let mut tracker = Vec::new();
    for name in [
        "osvdev-debian_security_tracker_mock.json",
        "vulnerablecode-debian.json",
        "vuls-advisory.json",
        "vunnel-debian.json",
    ] {
        if let Some(path) = common::shared(&format!("data/debian-tracker/json/{name}")) {
            tracker.push(std::fs::read(path).expect("read"));
        }
    }
    if !tracker.is_empty() {
        let size: usize = tracker.iter().map(Vec::len).sum();
        let contexts: Vec<SourceContext> = tracker.iter().map(|b| ctx(b, "debian")).collect();
        let ((value_time, _), (parse_time, records)) = interleaved(
            99,
            || tracker.iter().filter(|b| value_parse(b)).count(),
            || {
                tracker
                    .iter()
                    .zip(&contexts)
                    .map(|(b, c)| run(debian_tracker::parse, b, c).0)
                    .sum::<usize>()
            },
        );
        report(
            "debian tracker json (4 excerpts)",
            size,
            records,
            value_time,
            parse_time,
        );
    }

    println!();
    println!("# Peak RSS, fresh process per line ({RSS_FILE})");
    let Some(path) = common::shared(RSS_FILE) else {
        println!("missing, skipped");
        return;
    };
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    let exe = std::env::current_exe().expect("bench executable");
    for mode in ["read-only", "value", "csaf"] {
        let out = std::process::Command::new(&exe)
            .args(["--rss-child", mode, path.to_str().expect("utf-8 path")])
            .output()
            .expect("run child");
        let text = String::from_utf8_lossy(&out.stdout);
        let peak_kb: u64 = text.trim().parse().unwrap_or(0);
        println!(
            "{mode:<10} peak RSS {:>7.1} MB = {:>5.2} x the {:.2} MB file",
            peak_kb as f64 / 1024.0,
            (peak_kb * 1024) as f64 / size as f64,
            size as f64 / 1e6
        );
    }
}

/// Best of `rounds` for each of two closures, run alternately so that load
/// from other processes on the machine hits both sides alike.
fn interleaved<A, B>(
    rounds: usize,
    mut a: impl FnMut() -> A,
    mut b: impl FnMut() -> B,
) -> ((Duration, A), (Duration, B)) {
    let mut best_a: Option<(Duration, A)> = None;
    let mut best_b: Option<(Duration, B)> = None;
    for _ in 0..rounds {
        let (da, va) = common::best_of(1, &mut a);
        if best_a.as_ref().is_none_or(|(d, _)| da < *d) {
            best_a = Some((da, va));
        }
        let (db, vb) = common::best_of(1, &mut b);
        if best_b.as_ref().is_none_or(|(d, _)| db < *d) {
            best_b = Some((db, vb));
        }
    }
    (
        best_a.expect("at least one round"),
        best_b.expect("at least one round"),
    )
}

fn ctx(bytes: &[u8], source: &str) -> SourceContext {
    let fetched: Timestamp = "2026-01-01T00:00:00Z".parse().expect("timestamp");
    SourceContext::for_bytes("bench", source, fetched, bytes)
}

/// Runs a parser; returns (records, errors). The context (with the sha256
/// of the bytes, which ingest computes once per file) is made by the caller,
/// outside the timed part.
fn run(parser: Parser, bytes: &[u8], ctx: &SourceContext) -> (usize, usize) {
    let (mut records, mut errors) = (0, 0);
    parser(bytes, ctx, &mut |item| match item {
        Ok(record) => {
            records += 1;
            std::hint::black_box(record);
        }
        Err(_) => errors += 1,
    });
    (records, errors)
}

/// `serde_json::Value` parse of a document or of each JSON line.
fn value_parse(bytes: &[u8]) -> bool {
    let multi = bytes
        .split(|b| *b == b'\n')
        .filter(|l| l.first() == Some(&b'{'))
        .count()
        > 1;
    if multi {
        bytes
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .all(|l| std::hint::black_box(serde_json::from_slice::<serde_json::Value>(l)).is_ok())
    } else {
        std::hint::black_box(serde_json::from_slice::<serde_json::Value>(bytes)).is_ok()
    }
}

fn report(name: &str, size: usize, records: usize, value: Duration, parse: Duration) {
    let mbs = |d: Duration| size as f64 / 1e6 / d.as_secs_f64().max(1e-9);
    println!(
        "{:<48} {:>9.2} {:>8} {:>11.1} {:>11.1} {:>6.2}x",
        name.rsplit('/').next().unwrap_or(name),
        size as f64 / 1e6,
        records,
        mbs(value),
        mbs(parse),
        parse.as_secs_f64() / value.as_secs_f64().max(1e-9),
    );
}

/// Peak resident set (VmHWM, kB) of this process.
fn peak_rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

fn rss_child(mode: &str, path: &Path) {
    let bytes = std::fs::read(path).expect("read");
    match mode {
        "value" => {
            let value: serde_json::Value = serde_json::from_slice(&bytes).expect("json");
            std::hint::black_box(&value);
            println!("{}", peak_rss_kb());
        }
        "csaf" => {
            let mut records = Vec::new();
            let ctx = ctx(&bytes, "rss");
            csaf::parse(&bytes, &ctx, &mut |item| records.push(item));
            std::hint::black_box(&records);
            println!("{}", peak_rss_kb());
        }
        _ => {
            std::hint::black_box(&bytes);
            println!("{}", peak_rss_kb());
        }
    }
}
