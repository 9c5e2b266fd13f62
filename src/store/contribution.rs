//! How one feed's version of a record is kept in table `contributions`
//! without a second full copy of the served record.
//!
//! A value is the 32-byte content digest (the "unchanged" check), one form
//! byte, then the form's payload:
//!
//! - [`Body::Sole`] (no payload): the feed is the id's only contributor, so
//!   its JSON is exactly the served record in table `records`;
//! - [`Body::Packed`]: several feeds share the id, so each keeps its own
//!   JSON, compressed ([`super::compress`]; the served record is their merge).

use sha2::{Digest as _, Sha256};

use super::{codec_err, compress, StoreError};
use crate::model::{Advisory, Provenance, Timestamp};

/// Bytes of the content digest at the head of every value.
const DIGEST_LEN: usize = 32;

/// Form byte of [`Body::Sole`].
const SOLE: u8 = 0;

/// Form byte of [`Body::Packed`].
const PACKED: u8 = 1;

/// A content digest of one feed's record (see [`digest`]).
pub(super) type Digest = [u8; DIGEST_LEN];

/// Where a stored contribution's JSON is.
pub(super) enum Body<'a> {
    /// In table `records`: the feed is the id's only contributor.
    Sole,
    /// Here, compressed.
    Packed(&'a [u8]),
}

/// The value of a sole contributor: its digest only.
pub(super) fn sole(digest: &Digest) -> Vec<u8> {
    let mut value = Vec::with_capacity(DIGEST_LEN + 1);
    value.extend_from_slice(digest);
    value.push(SOLE);
    value
}

/// The sole form of the stored value `value` (same digest, no payload).
pub(super) fn sole_of(value: &[u8]) -> Vec<u8> {
    let mut out = digest_of(value).to_vec();
    out.push(SOLE);
    out
}

/// The value of one of several contributors: digest and compressed JSON.
pub(super) fn packed(digest: &[u8], json: &[u8]) -> Vec<u8> {
    let mut value = digest.to_vec();
    value.push(PACKED);
    value.extend_from_slice(&compress::compress(json));
    value
}

/// The digest of a stored value (empty when the value is malformed).
pub(super) fn digest_of(value: &[u8]) -> &[u8] {
    value.get(..DIGEST_LEN).unwrap_or_default()
}

/// Where the JSON of the stored value `value` of `key` is.
pub(super) fn body<'a>(value: &'a [u8], key: &str) -> Result<Body<'a>, StoreError> {
    match (value.get(DIGEST_LEN), value.get(DIGEST_LEN + 1..)) {
        (Some(&SOLE), _) => Ok(Body::Sole),
        (Some(&PACKED), Some(payload)) => Ok(Body::Packed(payload)),
        _ => Err(StoreError::Unpack {
            key: key.to_string(),
            source: std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "unknown contribution form",
            ),
        }),
    }
}

/// The JSON of a [`Body::Packed`] payload.
pub(super) fn unpack(payload: &[u8], key: &str) -> Result<Vec<u8>, StoreError> {
    compress::decompress(payload, key)
}

/// The content digest of one feed's record, taken before its JSON is
/// written, so an unchanged record is never encoded for storage.
///
/// Provenance is not content: the digest leaves out where and when the
/// record was read (`source`, `fetched`, `digest` of each provenance entry,
/// and a `modified` that is only the fetch time of a format without dates),
/// so the same record read again from another path, URL, archive member or
/// copy is "unchanged" and nothing is written: the stored record keeps the
/// provenance of the read that last changed it.
///
/// The canonical form is encoded over `canonical` (a buffer the batch
/// keeps across records) and hashed in one piece: fed to the hash as
/// written, its many small writes cost more than the buffer.
pub(super) fn digest(record: &mut Advisory, canonical: &mut Vec<u8>) -> Result<Digest, StoreError> {
    canonical.clear();
    if record.sources().is_empty() {
        serde_json::to_writer(&mut *canonical, &*record).map_err(codec_err(record.id.as_str()))?;
        return Ok(Sha256::digest(canonical.as_slice()).into());
    }
    let epoch = Timestamp::from_instant(time::OffsetDateTime::UNIX_EPOCH);
    let modified_is_fetch_time = record
        .sources()
        .iter()
        .any(|p| p.fetched == record.modified);
    let sources = std::mem::take(&mut record.meta_mut().sources);
    record.meta_mut().sources = sources
        .iter()
        .map(|p| Provenance {
            source: String::new(),
            fetched: epoch.clone(),
            digest: String::new(),
            ..p.clone()
        })
        .collect();
    let modified = modified_is_fetch_time.then(|| std::mem::replace(&mut record.modified, epoch));
    let encoded = serde_json::to_writer(&mut *canonical, &*record);
    record.meta_mut().sources = sources;
    if let Some(modified) = modified {
        record.modified = modified;
    }
    encoded.map_err(codec_err(record.id.as_str()))?;
    Ok(Sha256::digest(canonical.as_slice()).into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_round_trips_and_sole_has_no_payload() {
        let digest = [7u8; DIGEST_LEN];
        let json =
            br#"{"id":"X-1","modified":"2024-01-01T00:00:00Z","summary":"aaaaaaaaaaaaaaaa"}"#;
        let value = packed(&digest, json);
        assert_eq!(digest_of(&value), digest);
        let Body::Packed(payload) = body(&value, "X-1/f").unwrap() else {
            panic!("packed value read as sole");
        };
        assert_eq!(unpack(payload, "X-1/f").unwrap(), json);
        let value = sole(&digest);
        assert_eq!(value.len(), DIGEST_LEN + 1);
        assert!(matches!(body(&value, "X-1/f").unwrap(), Body::Sole));
        assert!(body(&digest, "X-1/f").is_err());
    }
}
