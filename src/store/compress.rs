//! How the store keeps JSON compressed: every served record (table
//! `records`) and the contribution of a feed sharing its id with others
//! (table `contributions`) is one LZ4 block with its length in front, so a
//! point read costs one fast decompression and the file holds about a third
//! of the JSON's bytes.

use std::io;

use super::StoreError;

/// The most an LZ4 block expands: a length prefix larger than this many
/// times the block's size is damage, not data, and is not allocated.
const MAX_RATIO: usize = 255;

/// The stored form of `json`.
pub(super) fn compress(json: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    compress_into(json, &mut out);
    out
}

/// The stored form of `json` written over `out` (a buffer kept across
/// records, so a batch does not allocate one per record): the length in
/// front, then the block, as [`lz4_flex::block::compress_prepend_size`]
/// writes them.
pub(super) fn compress_into(json: &[u8], out: &mut Vec<u8>) {
    // A JSON record is far below 4 GiB (a document is capped long before).
    let len = u32::try_from(json.len()).unwrap_or(u32::MAX);
    out.clear();
    out.extend_from_slice(&len.to_le_bytes());
    out.resize(4 + lz4_flex::block::get_maximum_output_size(json.len()), 0);
    match lz4_flex::block::compress_into(json, &mut out[4..]) {
        Ok(n) => out.truncate(4 + n),
        // The output is sized for the worst case, so this is not reached;
        // the allocating form is the fallback all the same.
        Err(_) => *out = lz4_flex::block::compress_prepend_size(json),
    }
}

/// The JSON of the stored form `stored` of `key` (a record id, or
/// `contribution ID/FEED`).
pub(super) fn decompress(stored: &[u8], key: &str) -> Result<Vec<u8>, StoreError> {
    let damaged = |source: io::Error| StoreError::Unpack {
        key: key.to_string(),
        source,
    };
    let invalid = |e: lz4_flex::block::DecompressError| {
        damaged(io::Error::new(io::ErrorKind::InvalidData, e))
    };
    let (len, block) = lz4_flex::block::uncompressed_size(stored).map_err(invalid)?;
    if len > block.len().saturating_mul(MAX_RATIO) {
        return Err(damaged(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "length prefix {len} is more than a {}-byte block holds",
                block.len()
            ),
        )));
    }
    lz4_flex::block::decompress(block, len).map_err(invalid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_damage() {
        let json = br#"{"id":"X-1","summary":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}"#;
        let stored = compress(json);
        assert!(stored.len() < json.len());
        assert_eq!(stored, lz4_flex::block::compress_prepend_size(json));
        let mut reused = b"left over from another record".to_vec();
        compress_into(json, &mut reused);
        assert_eq!(reused, stored);
        assert_eq!(decompress(&stored, "X-1").unwrap(), json);
        // A length prefix no block of this size can hold.
        let mut huge = stored.clone();
        huge[..4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(
            decompress(&huge, "X-1"),
            Err(StoreError::Unpack { .. })
        ));
        assert!(decompress(&stored[..3], "X-1").is_err());
        // Raw JSON is not a stored form.
        assert!(decompress(json, "X-1").is_err());
    }
}
