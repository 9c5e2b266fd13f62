//! The published layout: object names, `latest.json`, and the encoding of
//! delta segments and snapshots.
//!
//! Under the URL's prefix:
//! - `snapshots/<generation>-<seq>.redb.gz`: a compacted copy of the served
//!   tables (gzip of a redb file);
//! - `segments/<generation>-<after>-<last>.seg.gz`: the changes after one
//!   seq up to another (gzip of postcard [`SegmentFile`]);
//! - `latest.json`: the newest snapshot and every segment after it, with
//!   the sha256 of each, written last so a reader never sees an object
//!   that is not complete.
//!
//! Objects are immutable: a name is never written twice with other bytes.

use std::io::{Read, Write};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::PublishError;
use crate::store::replica::ChangeRows;

/// Version of this layout, in `latest.json` and every segment.
pub const FORMAT: u32 = 1;

/// Name of the root object, written last.
pub const LATEST: &str = "latest.json";

/// One published object as `latest.json` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectRef {
    /// Object name under the prefix.
    pub key: String,
    /// Publish counter: every snapshot and segment gets the next one.
    pub generation: u64,
    /// The seq the object starts after (a snapshot: its own seq).
    pub after: u64,
    /// The seq of the newest change the object holds.
    pub seq: u64,
    /// Hex sha256 of the object's bytes.
    pub sha256: String,
    /// Size of the object in bytes.
    pub bytes: u64,
    /// When it was published (RFC 3339).
    pub published: String,
}

/// The root of a published tree: what a replica reads first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Latest {
    /// Layout version ([`FORMAT`]).
    pub format: u32,
    /// Generation of the newest object.
    pub generation: u64,
    /// Seq of the newest change published.
    pub seq: u64,
    /// When this file was written (RFC 3339): the writer rewrites it at
    /// least every heartbeat, so its age tells a replica the writer is alive.
    pub written_at: String,
    /// The newest snapshot.
    pub snapshot: ObjectRef,
    /// Every segment after the snapshot, in generation order.
    pub segments: Vec<ObjectRef>,
}

impl Latest {
    /// Parses and checks `latest.json` (format, order and continuity of the
    /// segments), so a replica never acts on an inconsistent list.
    pub fn decode(bytes: &[u8]) -> Result<Latest, PublishError> {
        let latest: Latest = serde_json::from_slice(bytes).map_err(|e| PublishError::Bad {
            object: LATEST.into(),
            reason: e.to_string(),
        })?;
        let bad = |reason: String| PublishError::Bad {
            object: LATEST.into(),
            reason,
        };
        if latest.format != FORMAT {
            return Err(bad(format!(
                "layout format {} (this advisord reads {FORMAT})",
                latest.format
            )));
        }
        let mut previous = (latest.snapshot.generation, latest.snapshot.seq);
        for segment in &latest.segments {
            if segment.generation != previous.0 + 1 || segment.after != previous.1 {
                return Err(bad(format!(
                    "segment {} does not follow generation {} at seq {}",
                    segment.key, previous.0, previous.1
                )));
            }
            previous = (segment.generation, segment.seq);
        }
        if previous != (latest.generation, latest.seq) {
            return Err(bad(format!(
                "generation {} seq {} is not that of its last object ({}, {})",
                latest.generation, latest.seq, previous.0, previous.1
            )));
        }
        Ok(latest)
    }
}

/// A delta segment's content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SegmentFile {
    /// Layout version ([`FORMAT`]).
    pub format: u32,
    /// Its generation.
    pub generation: u64,
    /// The rows to apply.
    pub rows: ChangeRows,
}

/// Object name of the snapshot at `generation` and `seq`.
pub fn snapshot_key(generation: u64, seq: u64) -> String {
    format!("snapshots/{generation:012}-{seq:012}.redb.gz")
}

/// Object name of the segment at `generation` covering `(after, last]`.
pub fn segment_key(generation: u64, after: u64, last: u64) -> String {
    format!("segments/{generation:012}-{after:012}-{last:012}.seg.gz")
}

/// Hex sha256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Checks `bytes` against what `latest.json` says of `object`: a mismatch
/// means a corrupt, truncated or replaced object, which is never applied.
pub fn verify(object: &ObjectRef, bytes: &[u8]) -> Result<(), PublishError> {
    let found = sha256_hex(bytes);
    if bytes.len() as u64 != object.bytes || found != object.sha256 {
        return Err(PublishError::Refused {
            object: object.key.clone(),
            reason: format!(
                "{} bytes with sha256 {found}, latest.json says {} bytes with sha256 {}",
                bytes.len(),
                object.bytes,
                object.sha256
            ),
        });
    }
    Ok(())
}

/// Encodes a segment: postcard, then gzip.
pub fn encode_segment(segment: &SegmentFile) -> Result<Vec<u8>, PublishError> {
    let raw = postcard::to_allocvec(segment).map_err(|e| PublishError::Encode {
        what: format!("segment {}", segment.generation),
        reason: e.to_string(),
    })?;
    gzip(&raw)
}

/// Decodes a segment named `key` (already verified against its sha256).
pub fn decode_segment(key: &str, bytes: &[u8]) -> Result<SegmentFile, PublishError> {
    let bad = |reason: String| PublishError::Bad {
        object: key.to_string(),
        reason,
    };
    let mut raw = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut raw)
        .map_err(|e| bad(format!("gzip: {e}")))?;
    let segment: SegmentFile = postcard::from_bytes(&raw).map_err(|e| bad(e.to_string()))?;
    if segment.format != FORMAT {
        return Err(bad(format!("layout format {}", segment.format)));
    }
    Ok(segment)
}

/// Gzip of `raw` at a fast level (objects are written often, read once).
pub fn gzip(raw: &[u8]) -> Result<Vec<u8>, PublishError> {
    let mut encoder = flate2::write::GzEncoder::new(
        Vec::with_capacity(raw.len() / 4),
        flate2::Compression::fast(),
    );
    encoder
        .write_all(raw)
        .and_then(|()| encoder.finish())
        .map_err(|e| PublishError::Encode {
            what: "gzip".into(),
            reason: e.to_string(),
        })
}

/// Gunzips the snapshot object `key` into the file `to`.
pub fn gunzip_to_file(key: &str, bytes: &[u8], to: &std::path::Path) -> Result<(), PublishError> {
    let mut file = std::fs::File::create(to).map_err(|e| PublishError::Local {
        path: to.to_path_buf(),
        source: e,
    })?;
    std::io::copy(&mut flate2::read::GzDecoder::new(bytes), &mut file).map_err(|e| {
        PublishError::Bad {
            object: key.to_string(),
            reason: format!("gzip: {e}"),
        }
    })?;
    file.sync_all().map_err(|e| PublishError::Local {
        path: to.to_path_buf(),
        source: e,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(key: &str, generation: u64, after: u64, seq: u64) -> ObjectRef {
        ObjectRef {
            key: key.into(),
            generation,
            after,
            seq,
            sha256: sha256_hex(b""),
            bytes: 0,
            published: "2026-01-01T00:00:00Z".into(),
        }
    }

    fn latest(segments: Vec<ObjectRef>, generation: u64, seq: u64) -> Vec<u8> {
        serde_json::to_vec(&Latest {
            format: FORMAT,
            generation,
            seq,
            written_at: "2026-01-01T00:00:00Z".into(),
            snapshot: object("s", 3, 10, 10),
            segments,
        })
        .unwrap()
    }

    #[test]
    fn latest_must_list_a_continuous_chain() {
        let good = latest(vec![object("a", 4, 10, 12), object("b", 5, 12, 12)], 5, 12);
        assert_eq!(Latest::decode(&good).unwrap().segments.len(), 2);
        let gap = latest(vec![object("a", 4, 11, 12)], 4, 12);
        assert!(Latest::decode(&gap).is_err());
        let skipped = latest(vec![object("a", 5, 10, 12)], 5, 12);
        assert!(Latest::decode(&skipped).is_err());
        let wrong_head = latest(vec![object("a", 4, 10, 12)], 4, 13);
        assert!(Latest::decode(&wrong_head).is_err());
    }

    #[test]
    fn a_changed_byte_is_refused() {
        let bytes = b"segment bytes".to_vec();
        let mut reference = object("a", 4, 10, 12);
        reference.sha256 = sha256_hex(&bytes);
        reference.bytes = bytes.len() as u64;
        assert!(verify(&reference, &bytes).is_ok());
        let mut corrupt = bytes.clone();
        corrupt[3] ^= 1;
        assert!(matches!(
            verify(&reference, &corrupt),
            Err(PublishError::Refused { .. })
        ));
    }
}
