//! Fuzz target: the osv_yaml parser on arbitrary bytes.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let ctx = advisord_fuzz::context(data);
    advisord::formats::osv::parse(
        data,
        advisord::formats::osv::Syntax::Yaml,
        &ctx,
        &mut advisord_fuzz::sink,
    );
});
