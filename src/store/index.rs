//! The value of one package-index row ([`super::tables::PACKAGES`]) and its
//! one encoding: the record's `modified`, then the package's range specs
//! packed ([`crate::version::packed`]: statuses, version lists, events and
//! their order keys), so that matching reads the row where it lies, without
//! decoding it into owned values.

use crate::version::packed::{pack_into, put_bytes, Cursor, Malformed, PackedSpecs};
use crate::version::RangeSpec;

/// The stored bytes of a row written over `out` (a buffer kept across
/// rows): `modified`, then `specs` packed.
pub(crate) fn encode_into(out: &mut Vec<u8>, modified: &str, specs: &[RangeSpec]) {
    out.clear();
    put_bytes(out, modified.as_bytes());
    pack_into(out, specs);
}

/// A stored row read in place: its `modified` and its packed specs.
pub(crate) fn decode(bytes: &[u8]) -> Result<(&str, PackedSpecs<'_>), Malformed> {
    let mut cursor = Cursor::new(bytes);
    let modified = cursor.text()?;
    Ok((modified, PackedSpecs::new(cursor.rest())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Event, FixStatus};
    use crate::version::{EvalRange, VersionScheme};

    #[test]
    fn rows_round_trip_with_keys_and_statuses() {
        let specs = vec![RangeSpec {
            ranges: vec![EvalRange::new(
                Some(VersionScheme::Go),
                vec![Event::Introduced("0".into()), Event::Fixed("1.2.3".into())],
            )],
            versions: vec![],
            status: Some(FixStatus::Fixed),
        }];
        let mut bytes = b"a row written before".to_vec();
        encode_into(&mut bytes, "2024-01-01T00:00:00Z", &specs);
        let (modified, packed) = decode(&bytes).unwrap();
        assert_eq!(modified, "2024-01-01T00:00:00Z");
        let back = packed.unpack().unwrap();
        assert_eq!(back, specs);
        assert!(back[0].ranges[0].keyed.is_some());
        assert!(decode(&bytes[..3]).is_err());
    }
}
