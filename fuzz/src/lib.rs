//! What every fuzz target shares: a parse context and a sink that drops
//! what a parser emits (a target only looks for crashes, hangs and leaks).
#![forbid(unsafe_code)]

use advisord::formats::{ParseItem, SourceContext};

/// The context a parser stamps records with; fixed so runs are repeatable.
pub fn context(data: &[u8]) -> SourceContext {
    let fetched = "2026-01-01T00:00:00Z"
        .parse()
        .unwrap_or_else(|_| advisord::model::Timestamp::now());
    SourceContext::for_bytes("fuzz", "fuzz-input", fetched, data)
}

/// Consumes one emitted item, touching it so it is really built.
pub fn sink(item: ParseItem) {
    match item {
        Ok(record) => {
            std::hint::black_box(record.id.as_str().len());
        }
        Err(error) => {
            std::hint::black_box(error.to_string().len());
        }
    }
}
