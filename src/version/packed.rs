//! A package's range specs in one record, packed into one byte string that
//! matching reads where it lies (in the database page): no allocation per
//! row, and no version parsing where the events have order keys.
//!
//! The package index stores this form. [`pack`] writes it from
//! [`RangeSpec`]s; [`PackedSpecs::unpack`] gives them back field for field,
//! for the callers that want owned specs. Each fact is written once: the
//! events as published (fixed versions are read from them, and a range
//! without keys is evaluated by parsing them) and, beside them, the same
//! events as sorted order keys ([`KeyedRange`]).
//!
//! Layout (`len` is an unsigned LEB128 number; `bytes` follow their `len`):
//!
//! ```text
//! specs    := spec*
//! spec     := status:u8  len versions  len ranges
//! versions := (len bytes)*
//! ranges   := range*
//! range    := scheme:u8  len events  len keys
//! events   := (kind:u8 len bytes)*
//! keys     := <empty> | key_format:u8  len steps  limits
//! steps    := (rank:u8 len bytes | 0x80)*      0x80: the `introduced: "0"` sentinel
//! limits   := (len bytes)*
//! ```
//!
//! `status` and `scheme` are 0 for none, else 1 + the position in
//! [`FixStatus::ALL`] / [`ALL_SCHEMES`]; `kind` and `rank` are the event
//! kind's tie rank (introduced, last_affected, fixed, limit). Keys of
//! another `key_format` than [`KEY_FORMAT`] are ignored: the range is then
//! evaluated by parsing, with the same answer.

use super::key::KEY_FORMAT;
use super::range::{fold_ranges, keyed_contains, no_comparator};
use super::{AffectedVerdict, EvalRange, KeyedRange, RangeSpec, Target, VersionScheme};
use crate::model::{Event, FixStatus, ALL_SCHEMES};

/// Packed bytes that do not follow the layout (a damaged index row).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("packed range specs: {0}")]
pub struct Malformed(&'static str);

/// The specs of `specs` as one packed byte string (see the module docs).
pub fn pack(specs: &[RangeSpec]) -> Vec<u8> {
    let mut out = Vec::new();
    pack_into(&mut out, specs);
    out
}

/// [`pack`] appended to `out`: each length-prefixed part is written in
/// place and its length put in front afterwards, so packing a row takes no
/// allocation of its own (an ingest packs one per package of every record).
pub fn pack_into(out: &mut Vec<u8>, specs: &[RangeSpec]) {
    for spec in specs {
        out.push(tag(spec.status.map(|s| s as u8)));
        nested(out, |out| {
            for version in &spec.versions {
                put_bytes(out, version.as_bytes());
            }
        });
        nested(out, |out| {
            for range in &spec.ranges {
                pack_range(out, range);
            }
        });
    }
}

/// Appends what `fill` writes to `out` after its length, as [`put_bytes`]
/// would, without a buffer of its own: the length goes in front once known.
fn nested(out: &mut Vec<u8>, fill: impl FnOnce(&mut Vec<u8>)) {
    let start = out.len();
    fill(out);
    let (prefix, used) = length_prefix(out.len() - start);
    out.splice(start..start, prefix[..used].iter().copied());
}

/// The bytes that stand before a part of `n` bytes: its length, seven bits
/// a byte, low bits first, the high bit set on every byte but the last
/// (what [`Cursor`] reads back). The second value is how many are used.
fn length_prefix(mut n: usize) -> ([u8; 10], usize) {
    let mut prefix = [0u8; 10];
    let mut used = 0;
    while n >= 0x80 {
        prefix[used] = (n as u8 & 0x7F) | 0x80;
        n >>= 7;
        used += 1;
    }
    prefix[used] = n as u8;
    (prefix, used + 1)
}

fn pack_range(out: &mut Vec<u8>, range: &EvalRange) {
    out.push(tag(range.scheme.map(|s| s as u8)));
    nested(out, |out| {
        for event in &range.events {
            out.push(kind_of(event));
            put_bytes(out, event.version().as_bytes());
        }
    });
    let computed;
    let keyed = match (&range.keyed, range.scheme) {
        (Some(keyed), _) => Some(keyed),
        (None, Some(scheme)) => {
            computed = KeyedRange::new(scheme, &range.events);
            computed.as_ref()
        }
        (None, None) => None,
    };
    nested(out, |out| {
        if let Some(keyed) = keyed {
            out.push(KEY_FORMAT);
            nested(out, |out| {
                for (rank, key) in keyed.steps() {
                    match key {
                        Some(key) => {
                            out.push(*rank);
                            put_bytes(out, key.as_bytes());
                        }
                        None => out.push(SENTINEL),
                    }
                }
            });
            for limit in keyed.limits() {
                put_bytes(out, limit.as_bytes());
            }
        }
    });
}

/// The tag byte of an optional table entry: 0 for none, else 1 + its
/// position in the table ([`FixStatus::ALL`], [`ALL_SCHEMES`]).
fn tag(position: Option<u8>) -> u8 {
    position.map_or(0, |p| 1 + p)
}

/// The entry of `table` that tag byte `tag` names (see [`tag`]); `unknown`
/// says what a tag past the table's end is.
fn untag<T: Copy>(tag: u8, table: &[T], unknown: &'static str) -> Result<Option<T>, Malformed> {
    match tag.checked_sub(1) {
        None => Ok(None),
        Some(at) => table
            .get(usize::from(at))
            .copied()
            .map(Some)
            .ok_or(Malformed(unknown)),
    }
}

/// The step byte of the `introduced: "0"` sentinel (no key follows).
const SENTINEL: u8 = 0x80;

/// An event kind as its tie rank (the order of kinds at one version).
fn kind_of(event: &Event) -> u8 {
    match event {
        Event::Introduced(_) => 0,
        Event::LastAffected(_) => 1,
        Event::Fixed(_) => 2,
        Event::Limit(_) => 3,
    }
}

/// Appends `bytes` after their length.
pub(crate) fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    let (prefix, used) = length_prefix(bytes.len());
    out.extend_from_slice(&prefix[..used]);
    out.extend_from_slice(bytes);
}

/// A reader over packed bytes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Cursor<'a>(&'a [u8]);

impl<'a> Cursor<'a> {
    /// A reader at the start of `bytes`.
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Cursor(bytes)
    }

    /// Whether everything was read.
    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// What is left unread.
    pub(crate) fn rest(&self) -> &'a [u8] {
        self.0
    }

    fn byte(&mut self) -> Result<u8, Malformed> {
        let (&first, rest) = self.0.split_first().ok_or(Malformed("truncated"))?;
        self.0 = rest;
        Ok(first)
    }

    fn len(&mut self) -> Result<usize, Malformed> {
        let mut n = 0usize;
        for shift in (0..usize::BITS).step_by(7) {
            let b = self.byte()?;
            n |= usize::from(b & 0x7F)
                .checked_shl(shift)
                .ok_or(Malformed("length overflows"))?;
            if b & 0x80 == 0 {
                return Ok(n);
            }
        }
        Err(Malformed("length overflows"))
    }

    /// The next length-prefixed bytes.
    pub(crate) fn bytes(&mut self) -> Result<&'a [u8], Malformed> {
        let len = self.len()?;
        if len > self.0.len() {
            return Err(Malformed("length past the end"));
        }
        let (taken, rest) = self.0.split_at(len);
        self.0 = rest;
        Ok(taken)
    }

    /// The next length-prefixed UTF-8 text.
    pub(crate) fn text(&mut self) -> Result<&'a str, Malformed> {
        std::str::from_utf8(self.bytes()?).map_err(|_| Malformed("text is not UTF-8"))
    }
}

/// A package's packed specs, borrowed (see the module docs).
#[derive(Debug, Clone, Copy)]
pub struct PackedSpecs<'a>(&'a [u8]);

impl<'a> PackedSpecs<'a> {
    /// Packed bytes as [`pack`] wrote them.
    pub fn new(bytes: &'a [u8]) -> Self {
        PackedSpecs(bytes)
    }

    /// The specs in order, read lazily.
    pub fn specs(&self) -> PackedSpecIter<'a> {
        PackedSpecIter(Cursor(self.0))
    }

    /// The owned specs, as they were packed (keys included).
    pub fn unpack(&self) -> Result<Vec<RangeSpec>, Malformed> {
        self.specs().map(|spec| spec?.unpack()).collect()
    }
}

/// The specs of [`PackedSpecs`], one at a time.
#[derive(Debug, Clone)]
pub struct PackedSpecIter<'a>(Cursor<'a>);

impl<'a> Iterator for PackedSpecIter<'a> {
    type Item = Result<PackedSpec<'a>, Malformed>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.0.is_empty() {
            return None;
        }
        let spec = (|| {
            Ok(PackedSpec {
                status: untag(self.0.byte()?, &FixStatus::ALL, "unknown fix status")?,
                versions: self.0.bytes()?,
                ranges: self.0.bytes()?,
            })
        })();
        if spec.is_err() {
            self.0 = Cursor(&[]);
        }
        Some(spec)
    }
}

/// One packed spec: what one `affected` entry says of the package.
#[derive(Debug, Clone, Copy)]
pub struct PackedSpec<'a> {
    /// The entry's fix status.
    pub status: Option<FixStatus>,
    versions: &'a [u8],
    ranges: &'a [u8],
}

impl<'a> PackedSpec<'a> {
    /// Whether the explicit versions list names `version` exactly.
    pub fn lists(&self, version: &str) -> Result<bool, Malformed> {
        let mut cursor = Cursor(self.versions);
        while !cursor.is_empty() {
            if cursor.bytes()? == version.as_bytes() {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// [`RangeSpec::evaluate_target`] on the packed form: order keys where
    /// the range and the version have them, parsing otherwise.
    pub fn evaluate(&self, target: &mut Target<'_>) -> Result<AffectedVerdict, Malformed> {
        let version = target.text();
        if self.lists(version)? {
            return Ok(AffectedVerdict::Affected);
        }
        let mut ranges = Cursor(self.ranges);
        let mut damaged = None;
        let results = std::iter::from_fn(|| {
            if ranges.is_empty() || damaged.is_some() {
                return None;
            }
            match read_range(&mut ranges).and_then(|range| range.contains(target)) {
                Ok(result) => Some(result),
                Err(e) => {
                    damaged = Some(e);
                    None
                }
            }
        });
        let verdict = fold_ranges(results);
        match damaged {
            Some(e) => Err(e),
            None => Ok(verdict),
        }
    }

    /// The versions of the spec's `fixed` events, as published.
    pub fn fixed_versions(&self) -> Result<Vec<&'a str>, Malformed> {
        let mut out = Vec::new();
        let mut ranges = Cursor(self.ranges);
        while !ranges.is_empty() {
            let mut events = Cursor(read_range(&mut ranges)?.events);
            while !events.is_empty() {
                let kind = events.byte()?;
                let version = events.text()?;
                if kind == 2 {
                    out.push(version);
                }
            }
        }
        Ok(out)
    }

    fn unpack(&self) -> Result<RangeSpec, Malformed> {
        let mut versions = Vec::new();
        let mut cursor = Cursor(self.versions);
        while !cursor.is_empty() {
            versions.push(cursor.text()?.to_string());
        }
        let mut ranges = Vec::new();
        let mut cursor = Cursor(self.ranges);
        while !cursor.is_empty() {
            let range = read_range(&mut cursor)?;
            ranges.push(EvalRange::new(range.scheme, range.events()?));
        }
        Ok(RangeSpec {
            ranges,
            versions,
            status: self.status,
        })
    }
}

/// One packed range.
struct PackedRange<'a> {
    scheme: Option<VersionScheme>,
    events: &'a [u8],
    keys: &'a [u8],
}

fn read_range<'a>(cursor: &mut Cursor<'a>) -> Result<PackedRange<'a>, Malformed> {
    Ok(PackedRange {
        scheme: untag(cursor.byte()?, ALL_SCHEMES, "unknown version scheme")?,
        events: cursor.bytes()?,
        keys: cursor.bytes()?,
    })
}

impl PackedRange<'_> {
    /// The events, owned.
    fn events(&self) -> Result<Vec<Event>, Malformed> {
        let mut out = Vec::new();
        let mut cursor = Cursor(self.events);
        while !cursor.is_empty() {
            let kind = cursor.byte()?;
            let version = cursor.text()?.to_string();
            out.push(match kind {
                0 => Event::Introduced(version),
                1 => Event::LastAffected(version),
                2 => Event::Fixed(version),
                3 => Event::Limit(version),
                _ => return Err(Malformed("unknown event kind")),
            });
        }
        Ok(out)
    }

    /// Whether the range contains `target`: the outer error is damage, the
    /// inner one a range that cannot be evaluated.
    fn contains(
        &self,
        target: &mut Target<'_>,
    ) -> Result<Result<bool, super::VersionError>, Malformed> {
        let Some(scheme) = self.scheme else {
            return Ok(Err(no_comparator(target.text())));
        };
        let mut keys = Cursor(self.keys);
        if !keys.is_empty() && keys.byte()? == KEY_FORMAT {
            if let Some(key) = target.key(scheme) {
                let mut steps = Steps(Cursor(keys.bytes()?), None);
                let mut limits = Limits(keys, None);
                let inside = keyed_contains(&mut steps, &mut limits, key.as_bytes());
                return match steps.1.or(limits.1) {
                    Some(e) => Err(e),
                    None => Ok(Ok(inside)),
                };
            }
        }
        Ok(scheme.contains(target.text(), &self.events()?))
    }
}

/// The sorted steps of a keyed range; a damaged step ends them and is kept.
struct Steps<'a>(Cursor<'a>, Option<Malformed>);

impl<'a> Iterator for Steps<'a> {
    type Item = (u8, Option<&'a [u8]>);

    fn next(&mut self) -> Option<Self::Item> {
        if self.0.is_empty() {
            return None;
        }
        let step = self.0.byte().and_then(|rank| match rank {
            SENTINEL => Ok((0, None)),
            rank => Ok((rank, Some(self.0.bytes()?))),
        });
        step.map_err(|e| self.1 = Some(e)).ok()
    }
}

/// The limit keys of a keyed range; a damaged one ends them and is kept.
struct Limits<'a>(Cursor<'a>, Option<Malformed>);

impl<'a> Iterator for Limits<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<Self::Item> {
        if self.0.is_empty() {
            return None;
        }
        self.0.bytes().map_err(|e| self.1 = Some(e)).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(scheme: Option<VersionScheme>, events: Vec<Event>, versions: &[&str]) -> RangeSpec {
        RangeSpec {
            ranges: vec![EvalRange::new(scheme, events)],
            versions: versions.iter().map(|v| v.to_string()).collect(),
            status: Some(FixStatus::Affected),
        }
    }

    fn specs() -> Vec<RangeSpec> {
        vec![
            spec(
                Some(VersionScheme::Semver),
                vec![
                    Event::Introduced("0".into()),
                    Event::Fixed("1.2.3".into()),
                    Event::Introduced("2.0.0".into()),
                    Event::Limit("3.0.0".into()),
                ],
                &["9.9.9"],
            ),
            // A Maven version no key can order (a bare `sp` after a dot):
            // the range has no keys and is parsed per query.
            spec(
                Some(VersionScheme::Maven),
                vec![
                    Event::Introduced("1.sp.1".into()),
                    Event::Fixed("1.1".into()),
                ],
                &[],
            ),
            spec(None, vec![Event::Introduced("1".into())], &["x"]),
        ]
    }

    /// The layout as written part by part into buffers of their own (how
    /// `pack` wrote it before it wrote in place).
    fn pack_by_parts(specs: &[RangeSpec]) -> Vec<u8> {
        let mut out = Vec::new();
        for spec in specs {
            out.push(tag(spec.status.map(|s| s as u8)));
            let mut versions = Vec::new();
            for version in &spec.versions {
                put_bytes(&mut versions, version.as_bytes());
            }
            put_bytes(&mut out, &versions);
            let mut ranges = Vec::new();
            for range in &spec.ranges {
                ranges.push(tag(range.scheme.map(|s| s as u8)));
                let mut events = Vec::new();
                for event in &range.events {
                    events.push(kind_of(event));
                    put_bytes(&mut events, event.version().as_bytes());
                }
                put_bytes(&mut ranges, &events);
                let mut keys = Vec::new();
                if let Some(keyed) = &range.keyed {
                    keys.push(KEY_FORMAT);
                    let mut steps = Vec::new();
                    for (rank, key) in keyed.steps() {
                        match key {
                            Some(key) => {
                                steps.push(*rank);
                                put_bytes(&mut steps, key.as_bytes());
                            }
                            None => steps.push(SENTINEL),
                        }
                    }
                    put_bytes(&mut keys, &steps);
                    for limit in keyed.limits() {
                        put_bytes(&mut keys, limit.as_bytes());
                    }
                }
                put_bytes(&mut ranges, &keys);
            }
            put_bytes(&mut out, &ranges);
        }
        out
    }

    #[test]
    fn packing_in_place_writes_the_layout_part_by_part() {
        let mut specs = specs();
        // Parts past 127 and 16,383 bytes take two and three length bytes.
        let many: Vec<String> = (0..40).map(|i| format!("1.{i}.0")).collect();
        let events: Vec<Event> = (0..3000)
            .map(|i| Event::Introduced(format!("{i}.0.0")))
            .collect();
        specs.push(RangeSpec {
            ranges: vec![EvalRange::new(Some(VersionScheme::Semver), events)],
            versions: many,
            status: None,
        });
        let packed = pack(&specs);
        assert_eq!(packed, pack_by_parts(&specs));
        assert!(packed.len() > 16_384);
        let mut appended = b"prefix".to_vec();
        pack_into(&mut appended, &specs);
        assert_eq!(&appended[6..], packed.as_slice());
        assert_eq!(PackedSpecs::new(&packed).unpack().unwrap(), specs);
    }

    #[test]
    fn specs_round_trip_field_for_field() {
        let specs = specs();
        let packed = pack(&specs);
        assert_eq!(PackedSpecs::new(&packed).unpack().unwrap(), specs);
        assert_eq!(pack(&[]), Vec::<u8>::new());
    }

    #[test]
    fn packed_evaluation_answers_like_the_specs() {
        let specs = specs();
        let packed = pack(&specs);
        for version in [
            "0.1.0",
            "1.2.2",
            "1.2.3",
            "2.0.0",
            "2.9.9",
            "3.0.0",
            "9.9.9",
            "1.0",
            "1.0.5",
            "1.sp.0",
            "1.sp.2",
            "1.1",
            "x",
            "not a version",
        ] {
            for (spec, packed) in specs.iter().zip(PackedSpecs::new(&packed).specs()) {
                let packed = packed.unwrap();
                assert_eq!(
                    packed.evaluate(&mut Target::new(version)).unwrap(),
                    spec.evaluate(version),
                    "{version}"
                );
                assert_eq!(packed.status, spec.status);
            }
        }
    }

    #[test]
    fn fixed_versions_are_read_in_place() {
        let packed = pack(&specs());
        let fixed: Vec<Vec<&str>> = PackedSpecs::new(&packed)
            .specs()
            .map(|s| s.unwrap().fixed_versions().unwrap())
            .collect();
        assert_eq!(fixed, vec![vec!["1.2.3"], vec!["1.1"], vec![]]);
    }

    #[test]
    fn keys_of_another_format_are_ignored() {
        let range = EvalRange::new(
            Some(VersionScheme::Semver),
            vec![Event::Introduced("1.0.0".into())],
        );
        let mut stale = Vec::new();
        pack_range(&mut stale, &range);
        // Rewrite the key format byte: scheme, events (len + bytes), keys len, format.
        let events_len = usize::from(stale[1]);
        let format_at = 1 + 1 + events_len + 1;
        assert_eq!(stale[format_at], KEY_FORMAT);
        stale[format_at] = KEY_FORMAT.wrapping_add(1);
        // Corrupt the keys too: a stale format must not be read as keys.
        let last = stale.len() - 1;
        stale[last] ^= 0xFF;
        let mut spec = vec![0];
        put_bytes(&mut spec, &[]);
        put_bytes(&mut spec, &stale);
        let packed = PackedSpecs::new(&spec).specs().next().unwrap().unwrap();
        for (v, want) in [("0.9.0", false), ("1.0.0", true), ("7.0.0", true)] {
            let got = packed.evaluate(&mut Target::new(v)).unwrap();
            assert_eq!(got == AffectedVerdict::Affected, want, "{v}");
        }
    }

    #[test]
    fn damaged_bytes_are_errors_not_panics() {
        let packed = pack(&specs());
        for end in 0..packed.len() {
            for spec in PackedSpecs::new(&packed[..end]).specs().flatten() {
                let _ = spec.evaluate(&mut Target::new("1.0.0"));
                let _ = spec.fixed_versions();
                let _ = spec.unpack();
            }
        }
        let mut flipped = packed.clone();
        for i in 0..flipped.len() {
            flipped[i] ^= 0xA5;
            for spec in PackedSpecs::new(&flipped).specs().flatten() {
                let _ = spec.evaluate(&mut Target::new("2.5.0"));
            }
            flipped[i] ^= 0xA5;
        }
        assert!(PackedSpecs::new(&[1, 9]).unpack().is_err());
        assert!(PackedSpecs::new(&[200]).unpack().is_err());
    }
}
