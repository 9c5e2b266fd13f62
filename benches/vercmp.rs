//! Comparisons per second for every version scheme, parse cost included, against
//! a plain string comparison of the same pairs in the same run; for deb and rpm
//! also against the libdpkg / librpm oracles fed the same batch, and for semver
//! against the `semver` crate.
//!
//! Pairs come from `../shared/vectors` when present (else a small synthetic set);
//! the oracle rows need `../shared/oracles` installed (`ADVISORD_ORACLES`, default
//! `~/.cache/advisord-oracles`). Run: `cargo bench --bench vercmp`.

use std::hint::black_box;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use advisord::version::{batch, VersionScheme, ALL_SCHEMES};

/// Comparisons per timed run (pairs are repeated to reach it).
const TARGET: usize = 400_000;

fn shared() -> PathBuf {
    std::env::var_os("ADVISORD_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared"))
}

fn vector_files(scheme: VersionScheme) -> &'static [&'static str] {
    match scheme {
        VersionScheme::Deb => &["osv-scalibr-debian-versions-generated.tsv"],
        VersionScheme::Rpm => &["osv-scalibr-redhat-versions.tsv", "rpm-rpmvercmp.tsv"],
        VersionScheme::Apk => &["osv-scalibr-alpine-versions-generated.tsv"],
        VersionScheme::Pep440 => &["osv-scalibr-pypi-versions-generated.tsv"],
        VersionScheme::Semver => &[
            "osv-scalibr-semver-versions.tsv",
            "node-semver-comparisons.tsv",
        ],
        VersionScheme::Go => &["golang-x-mod-semver-compare.tsv"],
        VersionScheme::Maven => &["osv-scalibr-maven-versions-generated.tsv"],
        VersionScheme::Gem => &["osv-scalibr-rubygems-versions-generated.tsv"],
        VersionScheme::Nuget => &["univers-nuget.tsv", "osv-scalibr-nuget-versions.tsv"],
        VersionScheme::Composer => &["osv-scalibr-packagist-versions-generated.tsv"],
    }
}

/// Synthetic pairs when the shared vectors are absent.
fn synthetic(scheme: VersionScheme) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for i in 0..2000u32 {
        let (a, b) = (i % 17, (i * 7) % 23);
        let (x, y) = match scheme {
            VersionScheme::Deb => (format!("1:{a}.{b}-{i}"), format!("1:{b}.{a}~rc{i}-1")),
            VersionScheme::Rpm => (format!("{a}.{b}-{i}.el9"), format!("{b}.{a}~rc{i}-1.el9")),
            VersionScheme::Apk => (format!("{a}.{b}_rc{i}-r0"), format!("{b}.{a}-r{i}")),
            VersionScheme::Maven => (format!("{a}.{b}-beta{i}"), format!("{b}.{a}.RELEASE")),
            VersionScheme::Composer => (format!("v{a}.{b}-RC{i}"), format!("{b}.{a}.0")),
            _ => (format!("{a}.{b}.{i}"), format!("{b}.{a}.{i}-rc.1")),
        };
        out.push((x, y));
    }
    out
}

fn pairs(scheme: VersionScheme) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for file in vector_files(scheme) {
        if let Ok(text) = std::fs::read_to_string(shared().join("vectors").join(file)) {
            for line in text.lines() {
                let cols: Vec<&str> = line.split('\t').collect();
                if let [a, b, _] = cols.as_slice() {
                    out.push((a.to_string(), b.to_string()));
                }
            }
        }
    }
    if out.is_empty() {
        out = synthetic(scheme);
    }
    out
}

/// Runs `f` over the pairs repeatedly until TARGET comparisons; returns per second.
fn rate(pairs: &[(String, String)], mut f: impl FnMut(&str, &str)) -> f64 {
    let rounds = TARGET.div_ceil(pairs.len()).max(1);
    // warm-up
    for (a, b) in pairs.iter().take(1000) {
        f(a, b);
    }
    let start = Instant::now();
    for _ in 0..rounds {
        for (a, b) in pairs {
            f(a, b);
        }
    }
    per_second(rounds * pairs.len(), start.elapsed())
}

fn per_second(n: usize, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64().max(1e-9)
}

fn batch_input(pairs: &[(String, String)], total: usize) -> (Vec<u8>, usize) {
    let mut input = Vec::new();
    let mut n = 0;
    while n < total {
        for (a, b) in pairs {
            input.extend_from_slice(a.as_bytes());
            input.push(b'\t');
            input.extend_from_slice(b.as_bytes());
            input.push(b'\n');
            n += 1;
        }
    }
    (input, n)
}

/// Our batch (`advisord vercmp` core, in process) vs the oracle process on the same bytes.
fn against_oracle(scheme: VersionScheme, oracle: &str, pairs: &[(String, String)]) {
    let root = std::env::var_os("ADVISORD_ORACLES")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/advisord-oracles"))
        });
    let Some(path) = root
        .map(|r| r.join("bin").join(oracle))
        .filter(|p| p.exists())
    else {
        println!(
            "{:>9} vs {oracle}: oracle not installed, skipped",
            scheme.name()
        );
        return;
    };
    let (input, n) = batch_input(pairs, TARGET);
    let start = Instant::now();
    let mut out = Vec::with_capacity(n * 2);
    let _ = batch::run_batch(scheme, &input[..], &mut out);
    let ours = per_second(n, start.elapsed());
    black_box(out);
    let start = Instant::now();
    let child = Command::new(&path)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn();
    let Ok(mut child) = child else {
        println!("{:>9} vs {oracle}: cannot start, skipped", scheme.name());
        return;
    };
    let mut stdin = child.stdin.take().expect("oracle stdin");
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let output = child.wait_with_output().expect("oracle output");
    let _ = writer.join();
    let theirs = per_second(n, start.elapsed());
    println!(
        "{:>9} batch of {n} lines: advisord {:>12.0}/s, {oracle} {:>12.0}/s (process incl.), ratio {:.2}x ({} answer lines)",
        scheme.name(),
        ours,
        theirs,
        ours / theirs,
        output.stdout.iter().filter(|b| **b == b'\n').count()
    );
}

fn main() {
    println!("comparisons per second, parse of both sides included, one run:");
    for &scheme in ALL_SCHEMES {
        let pairs = pairs(scheme);
        let ours = rate(&pairs, |a, b| {
            let _ = black_box(scheme.compare(black_box(a), black_box(b)));
        });
        let plain = rate(&pairs, |a, b| {
            black_box(black_box(a).cmp(black_box(b)));
        });
        println!(
            "{:>9}: {ours:>12.0}/s   plain string compare {plain:>12.0}/s   ratio {:.3} ({} distinct pairs)",
            scheme.name(),
            ours / plain,
            pairs.len()
        );
    }

    let semver_pairs: Vec<(String, String)> = pairs(VersionScheme::Semver)
        .into_iter()
        .filter(|(a, b)| semver::Version::parse(a).is_ok() && semver::Version::parse(b).is_ok())
        .collect();
    if !semver_pairs.is_empty() {
        let ours = rate(&semver_pairs, |a, b| {
            let _ = black_box(VersionScheme::Semver.compare(black_box(a), black_box(b)));
        });
        let crate_rate = rate(&semver_pairs, |a, b| {
            if let (Ok(x), Ok(y)) = (
                semver::Version::parse(black_box(a)),
                semver::Version::parse(black_box(b)),
            ) {
                black_box(x.cmp_precedence(&y));
            }
        });
        println!(
            "   semver: advisord {ours:>12.0}/s   semver crate {crate_rate:>12.0}/s   ratio {:.2}x ({} pairs valid for both)",
            ours / crate_rate,
            semver_pairs.len()
        );
    }

    against_oracle(VersionScheme::Deb, "deb-cmp", &pairs(VersionScheme::Deb));
    against_oracle(VersionScheme::Rpm, "rpm-cmp", &pairs(VersionScheme::Rpm));
}
