//! Fuzz target: the mail parser on arbitrary bytes.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let ctx = advisord_fuzz::context(data);
    advisord::formats::mail::parse(data, &ctx, &mut advisord_fuzz::sink);
});
