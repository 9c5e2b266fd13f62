//! Fuzz target: the oval parser on arbitrary bytes.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let ctx = advisord_fuzz::context(data);
    // A small cap keeps a fuzzed gzip from spending the run inflating.
    let options = advisord::formats::oval::Options {
        dialect: None,
        max_decompressed: 64 << 20,
    };
    let _ =
        advisord::formats::oval::parse_bytes_with(data, &options, &ctx, &mut advisord_fuzz::sink);
});
