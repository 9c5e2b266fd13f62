//! Order keys: a version turned into bytes whose plain byte order (memcmp)
//! is its scheme's order, computed once when a range is indexed so that
//! matching compares bytes instead of parsing version strings.
//!
//! The comparators stay the reference: a key exists only where it is proven
//! to order exactly like them (`tests/integration/version.rs`,
//! `order_keys_agree_with_comparators`, on every vector pair). Where no
//! byte key can capture a scheme's order, [`SchemeVersion::order_key`]
//! gives `None` and the range evaluator parses the strings as before, so a
//! missing key costs time, never correctness.
//!
//! | scheme | key |
//! |---|---|
//! | deb | byte key (epoch, then dpkg's character weights and numbers) |
//! | rpm | byte key (rpmvercmp's segments, `~` and `^` as tags) |
//! | apk | byte key (apk-tools 2's token walk: type tags and values) |
//! | gem | byte key (segments; a zero tagged by what follows it) |
//! | go | byte key |
//! | nuget | byte key (labels upper-cased: NuGet compares them case-insensitively) |
//! | pep440 | byte key, local versions included (legacy versions are never ordered in ranges: none) |
//! | semver | byte key, except a prerelease number above 2^53-1 (node-semver compares those as rounded floats and stops at the first "equal" pair: not a total order) |
//! | composer | byte key (canonical segments by class; `dev-` branches, which Composer does not order: none) |
//! | maven | byte key, except shapes where `ComparableVersion` is not transitive (`1-alpha` > `1.sp.1`, yet `1-alpha` < `1` < `1.sp.1`): see `MavenVersion::order_key` |
//!
//! [`SchemeVersion::order_key`]: super::SchemeVersion::order_key

/// The encoding version of every scheme's keys. Stored beside the keys in
/// the package index; keys of another version are ignored (the evaluator
/// then parses), so changing an encoding needs no re-ingest to stay correct.
pub const KEY_FORMAT: u8 = 1;

/// A version's order key: bytes whose lexicographic order equals the
/// scheme's comparator order (equal keys = versions the scheme calls equal).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OrderKey(Box<[u8]>);

impl OrderKey {
    /// The key's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

/// Builds an [`OrderKey`] from ordered parts; each helper writes a
/// self-delimiting piece, so pieces can follow one another.
#[derive(Debug, Default)]
pub(crate) struct KeyWriter(Vec<u8>);

impl KeyWriter {
    /// An empty key.
    pub(crate) fn new() -> Self {
        KeyWriter(Vec::with_capacity(24))
    }

    /// One tag byte (callers choose tags so that their order is the scheme's).
    pub(crate) fn byte(&mut self, b: u8) {
        self.0.push(b);
    }

    /// A fixed-width number (8 bytes, big-endian).
    pub(crate) fn u64(&mut self, n: u64) {
        self.0.extend_from_slice(&n.to_be_bytes());
    }

    /// A decimal number of any length given as ASCII digits (leading zeros
    /// ignored): its length first, so longer numbers sort higher, then its digits.
    pub(crate) fn digits(&mut self, digits: &[u8]) {
        let start = digits
            .iter()
            .position(|&d| d != b'0')
            .unwrap_or(digits.len());
        let digits = &digits[start..];
        match u8::try_from(digits.len()) {
            Ok(len) if len < u8::MAX => self.0.push(len),
            _ => {
                self.0.push(u8::MAX);
                let len = u32::try_from(digits.len()).unwrap_or(u32::MAX);
                self.0.extend_from_slice(&len.to_be_bytes());
            }
        }
        self.0.extend_from_slice(digits);
    }

    /// A string compared byte by byte, a prefix lower than its extensions:
    /// `0x00` is escaped as `00 FF` and the end written as `00 01`.
    pub(crate) fn text(&mut self, text: &[u8]) {
        for &b in text {
            if b == 0 {
                self.0.extend_from_slice(&[0, 0xFF]);
            } else {
                self.0.push(b);
            }
        }
        self.0.extend_from_slice(&[0, 1]);
    }

    /// The finished key.
    pub(crate) fn finish(self) -> OrderKey {
        OrderKey(self.0.into_boxed_slice())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(f: impl FnOnce(&mut KeyWriter)) -> OrderKey {
        let mut w = KeyWriter::new();
        f(&mut w);
        w.finish()
    }

    #[test]
    fn numbers_order_by_value_and_text_by_bytes() {
        let n = |d: &str| key(|w| w.digits(d.as_bytes()));
        assert!(n("9") < n("10"));
        assert_eq!(n("007"), n("7"));
        assert_eq!(n("0"), n(""));
        assert!(n(&"9".repeat(300)) > n(&"9".repeat(254)));
        let t = |s: &[u8]| {
            key(|w| {
                w.text(s);
                w.byte(0xFF)
            })
        };
        assert!(t(b"a") < t(b"ab"));
        assert!(t(b"a") < t(b"a\0"));
        assert!(t(b"a\0") < t(b"a\x01"));
        assert!(t(b"b") > t(b"abc"));
    }
}
