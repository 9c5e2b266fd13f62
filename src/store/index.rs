//! The value of one package-index row ([`super::tables::PACKAGES`]) and its
//! one encoding: the record's `modified`, one [`RangeSpec`] per affected
//! entry, each spec's fix status, and each range's events as order keys
//! ([`KeyedRange`]), so that matching compares bytes instead of parsing.
//!
//! The encoding is postcard (compact and several times faster to decode
//! than JSON on the query path). Fields are only ever added at the end, so
//! the rows of older databases still decode: without keys (their ranges are
//! then evaluated by parsing, with the same answers) and without statuses.

use serde::{Deserialize, Serialize};

use crate::model::FixStatus;
use crate::version::key::KEY_FORMAT;
use crate::version::{KeyedRange, RangeSpec};

/// One package-index row: what a query needs of a record for one package.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct IndexRow {
    /// The record's `modified`.
    pub(crate) modified: String,
    /// One spec per affected entry, their statuses and keys put back in place.
    pub(crate) specs: Vec<RangeSpec>,
    /// The fix status of each spec, in order.
    statuses: Vec<Option<FixStatus>>,
    /// The key encoding of `keys` ([`KEY_FORMAT`]); other encodings are ignored.
    key_format: u8,
    /// Per spec, per range: its events as order keys, when all have one.
    keys: Vec<Vec<Option<KeyedRange>>>,
}

/// [`IndexRow`] as written before it carried order keys.
#[derive(Deserialize)]
struct IndexRowV2 {
    modified: String,
    specs: Vec<RangeSpec>,
    statuses: Vec<Option<FixStatus>>,
}

/// [`IndexRow`] as written before it carried the specs' statuses.
#[derive(Deserialize)]
struct IndexRowV1 {
    modified: String,
    specs: Vec<RangeSpec>,
}

impl IndexRow {
    /// The row of `specs`, their statuses and keys kept beside them.
    pub(crate) fn new(modified: String, specs: Vec<RangeSpec>) -> IndexRow {
        let statuses = specs.iter().map(|s| s.status).collect();
        let keys = specs
            .iter()
            .map(|s| s.ranges.iter().map(|r| r.keyed.clone()).collect())
            .collect();
        IndexRow {
            modified,
            specs,
            statuses,
            key_format: KEY_FORMAT,
            keys,
        }
    }

    /// The stored bytes.
    pub(crate) fn encode(&self) -> Result<Vec<u8>, postcard::Error> {
        postcard::to_allocvec(self)
    }

    /// Decodes a row in the current encoding or an older one (each older
    /// one a prefix of the next, so they cannot be confused), and puts each
    /// status and keyed range back on its spec and range.
    pub(crate) fn decode(bytes: &[u8]) -> Result<IndexRow, postcard::Error> {
        let mut row = postcard::from_bytes::<IndexRow>(bytes).or_else(|current| {
            let old = match postcard::from_bytes::<IndexRowV2>(bytes) {
                Ok(v2) => v2,
                Err(_) => {
                    let v1: IndexRowV1 = postcard::from_bytes(bytes).map_err(|_| current)?;
                    let statuses = vec![None; v1.specs.len()];
                    IndexRowV2 {
                        modified: v1.modified,
                        specs: v1.specs,
                        statuses,
                    }
                }
            };
            Ok::<_, postcard::Error>(IndexRow {
                modified: old.modified,
                specs: old.specs,
                statuses: old.statuses,
                key_format: 0,
                keys: Vec::new(),
            })
        })?;
        for (spec, status) in row.specs.iter_mut().zip(&row.statuses) {
            spec.status = *status;
        }
        if row.key_format == KEY_FORMAT {
            for (spec, keys) in row.specs.iter_mut().zip(std::mem::take(&mut row.keys)) {
                for (range, keyed) in spec.ranges.iter_mut().zip(keys) {
                    range.keyed = keyed;
                }
            }
        }
        Ok(row)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Event;
    use crate::version::{EvalRange, VersionScheme};

    fn spec() -> RangeSpec {
        RangeSpec {
            ranges: vec![EvalRange::new(
                Some(VersionScheme::Go),
                vec![Event::Introduced("0".into()), Event::Fixed("1.2.3".into())],
            )],
            versions: vec![],
            status: Some(FixStatus::Fixed),
        }
    }

    #[test]
    fn rows_round_trip_with_keys_and_statuses() {
        let row = IndexRow::new("2024-01-01T00:00:00Z".into(), vec![spec()]);
        let back = IndexRow::decode(&row.encode().unwrap()).unwrap();
        assert_eq!(back.specs, vec![spec()]);
        assert!(back.specs[0].ranges[0].keyed.is_some());
    }

    #[test]
    fn older_rows_decode_without_keys() {
        #[derive(Serialize)]
        struct V1<'a> {
            modified: &'a str,
            specs: Vec<RangeSpec>,
        }
        #[derive(Serialize)]
        struct V2<'a> {
            modified: &'a str,
            specs: Vec<RangeSpec>,
            statuses: Vec<Option<FixStatus>>,
        }
        let mut unkeyed = spec();
        unkeyed.ranges[0].keyed = None;
        let v2 = postcard::to_allocvec(&V2 {
            modified: "m",
            specs: vec![spec()],
            statuses: vec![Some(FixStatus::Fixed)],
        })
        .unwrap();
        let row = IndexRow::decode(&v2).unwrap();
        assert_eq!(row.modified, "m");
        assert_eq!(row.specs, vec![unkeyed.clone()]);
        let v1 = postcard::to_allocvec(&V1 {
            modified: "m",
            specs: vec![spec()],
        })
        .unwrap();
        unkeyed.status = None;
        assert_eq!(IndexRow::decode(&v1).unwrap().specs, vec![unkeyed]);
    }
}
