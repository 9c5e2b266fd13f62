//! Fuzz target: every inventory format `advisord scan` reads (JSON package
//! lists and SBOMs, dpkg status, apk installed db, purl lines, `rpm -qa`).
//! The first byte picks a forced list format or detection.
#![no_main]

use advisord::inventory::{detect_and_parse, ListFormat};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    let format = match pick % 4 {
        0 => None,
        1 => Some(ListFormat::DpkgStatus),
        2 => Some(ListFormat::ApkInstalled),
        _ => Some(ListFormat::RpmQa),
    };
    let ecosystem =
        ["Debian:12", "Alpine:v3.19", "AlmaLinux:9", "Ubuntu:22.04"][(pick / 4 % 4) as usize];
    let _ = std::hint::black_box(detect_and_parse(&text, format, Some(ecosystem)));
});
