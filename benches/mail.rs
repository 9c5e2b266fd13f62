//! Mail parsing throughput: messages/s of `formats::mail::parse` over the
//! shared pipermail archives, against a plain line scan that only splits the
//! same (already decompressed) bytes at their `From ` lines. One run; the
//! ratio is the figure to compare across changes, not the absolute rates.

use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use advisord::formats::mail;
use advisord::formats::SourceContext;
use advisord::model::Timestamp;

fn archives() -> Option<Vec<(String, Vec<u8>)>> {
    let root = std::env::var_os("ADVISORD_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared"))
        .join("data/mail/archives");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&root)
        .ok()?
        .chain(std::fs::read_dir(root.join("ubuntu-security-announce")).ok()?)
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let bytes = std::fs::read(&p).ok()?;
            let plain = mail::split::decompress(&bytes).ok()?.into_owned();
            Some((p.display().to_string(), plain))
        })
        .collect()
}

/// The baseline: count messages by scanning lines for `From ` after a
/// blank line, touching every byte once and allocating nothing.
fn line_scan(bytes: &[u8]) -> usize {
    let mut messages = 0;
    let mut previous_blank = true;
    for line in bytes.split(|&b| b == b'\n') {
        if previous_blank && line.starts_with(b"From ") {
            messages += 1;
        }
        previous_blank = line.is_empty() || line == b"\r";
    }
    messages
}

/// A way of reading one archive that returns the messages it found.
type Method<'a> = &'a dyn Fn(&str, &[u8]) -> usize;

/// One timed slice: runs `f` over all archives until `slice` has elapsed;
/// returns (messages per pass, messages per second).
fn measure(archives: &[(String, Vec<u8>)], slice: Duration, f: Method<'_>) -> (usize, f64) {
    let start = Instant::now();
    let mut passes = 0u32;
    let mut messages = 0;
    while passes == 0 || start.elapsed() < slice {
        messages = archives
            .iter()
            .map(|(name, bytes)| f(name, black_box(bytes)))
            .sum();
        passes += 1;
    }
    let rate = messages as f64 * f64::from(passes) / start.elapsed().as_secs_f64();
    (messages, rate)
}

fn main() {
    let Some(archives) = archives() else {
        eprintln!("skipping: shared/data/mail/archives not found");
        return;
    };
    let bytes: usize = archives.iter().map(|(_, b)| b.len()).sum();
    let fetched: Timestamp = "2024-01-01T00:00:00Z".parse().expect("timestamp");
    // The machine is shared: the three methods run in interleaved slices
    // and each keeps its best slice, so a busy moment hurts none of them
    // more than the others.
    let scan = |_: &str, b: &[u8]| line_scan(b);
    let decode = |_: &str, b: &[u8]| {
        let (_, messages) = mail::split::split(b);
        messages
            .iter()
            .enumerate()
            .filter(|(i, m)| black_box(mail::message::decode(m, i + 1)).is_ok())
            .count()
    };
    let parse = |name: &str, b: &[u8]| {
        let ctx = SourceContext::for_bytes("bench", name, fetched.clone(), b);
        let mut records = 0usize;
        let stats = mail::parse(b, &ctx, &mut |item| {
            records += usize::from(item.is_ok());
        });
        black_box(records);
        stats.messages
    };
    let methods: [Method<'_>; 3] = [&scan, &decode, &parse];
    let mut best = [0f64; 3];
    let mut counts = [0usize; 3];
    for _round in 0..10 {
        for (i, method) in methods.iter().enumerate() {
            let (messages, rate) = measure(&archives, Duration::from_millis(300), *method);
            counts[i] = messages;
            best[i] = best[i].max(rate);
        }
    }
    assert!(
        counts.iter().all(|&c| c == counts[0]),
        "all methods must see the same messages: {counts:?}"
    );
    let [scan_rate, decode_rate, parse_rate] = best;
    let parsed = counts[2];
    println!(
        "mail bench: {} archives, {} messages, {:.1} MB decompressed",
        archives.len(),
        parsed,
        bytes as f64 / 1e6
    );
    println!("  line scan (split only):          {scan_rate:>10.0} messages/s");
    println!("  split + MIME decode only:        {decode_rate:>10.0} messages/s");
    println!(
        "  mail::parse (split+MIME+records): {parse_rate:>9.0} messages/s ({:.1} MB/s)",
        parse_rate * bytes as f64 / parsed as f64 / 1e6
    );
    println!("  ratio line scan / parse: {:.1}x", scan_rate / parse_rate);
}
