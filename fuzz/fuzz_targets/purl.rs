//! Fuzz target: package URLs, as a query names them and as an inventory
//! lists them (one per line).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = std::hint::black_box(advisord::query::purl_to_package(&text));
    let _ = std::hint::black_box(advisord::query::PackageQuery::from_purl(&text, None));
    let _ = std::hint::black_box(advisord::inventory::from_purl_lines(&text));
});
