//! rpm ordering: `rpmverParse` + `rpmverCmp` of librpm 4.18 on `[epoch:]version[-release]`.
//!
//! The epoch is the run of leading digits before a `:` (missing or empty = `0`),
//! the release is what follows the last `-` after the epoch digits (missing =
//! sorts before any release, exactly as rpm's lua `rpm.vercmp` does). Every part
//! is compared with [`rpmvercmp`]: alternating alphabetic and numeric segments,
//! numbers by value, letters below numbers, `~` before anything (even the end),
//! `^` after the end but before any further segment. Only the empty string is
//! rejected, as rpm rejects it.

use std::cmp::Ordering;
use std::ops::Range;

use super::key::KeyWriter;
use super::{OrderKey, SchemeVersion, VersionError};

/// An rpm `[epoch:]version[-release]`, kept as the original bytes plus offsets.
#[derive(Debug, Clone)]
pub struct RpmVersion {
    raw: Box<str>,
    epoch: Option<Range<usize>>,
    version: Range<usize>,
    release: Option<Range<usize>>,
}

impl RpmVersion {
    fn part(&self, r: &Range<usize>) -> &[u8] {
        &self.raw.as_bytes()[r.clone()]
    }

    /// The epoch as written (`"0"` when absent or empty).
    pub fn epoch(&self) -> &str {
        match &self.epoch {
            Some(r) if !r.is_empty() => &self.raw[r.clone()],
            _ => "0",
        }
    }

    /// The version part.
    pub fn version(&self) -> &str {
        &self.raw[self.version.clone()]
    }

    /// The release part, if any.
    pub fn release(&self) -> Option<&str> {
        self.release.as_ref().map(|r| &self.raw[r.clone()])
    }
}

impl SchemeVersion for RpmVersion {
    fn parse(input: &str) -> Result<Self, VersionError> {
        if input.is_empty() {
            return Err(VersionError::new("rpm", input, "empty version"));
        }
        let bytes = input.as_bytes();
        // Same walk as rpm's parseEVR: skip leading digits, then look for ':'.
        let s = bytes.iter().take_while(|b| b.is_ascii_digit()).count();
        let dash = bytes[s..].iter().rposition(|&b| b == b'-').map(|p| p + s);
        let (epoch, vstart) = if bytes.get(s) == Some(&b':') {
            (Some(0..s), s + 1)
        } else {
            (None, 0)
        };
        let (version, release) = match dash {
            // A '-' before the ':' cannot happen: `s` stops at the first non-digit.
            Some(d) if d >= vstart => (vstart..d, Some(d + 1..bytes.len())),
            _ => (vstart..bytes.len(), None),
        };
        Ok(RpmVersion {
            raw: input.into(),
            epoch,
            version,
            release,
        })
    }

    /// Epoch and version as [`rpmvercmp_key`]s, then `00` without a
    /// release or `01` and the release's key.
    fn order_key(&self) -> Option<OrderKey> {
        let mut key = KeyWriter::new();
        let epoch = match &self.epoch {
            Some(r) if !r.is_empty() => self.part(r),
            _ => b"0".as_slice(),
        };
        rpmvercmp_key(&mut key, epoch);
        rpmvercmp_key(&mut key, self.part(&self.version));
        match &self.release {
            Some(r) => {
                key.byte(1);
                rpmvercmp_key(&mut key, self.part(r));
            }
            None => key.byte(0),
        }
        Some(key.finish())
    }
}

/// Writes the key of [`rpmvercmp`]: separators dropped, each token in
/// order `~` (`01`) < the end (`02`) < `^` (`03`) < a letter segment (`04`
/// and its text) < a digit segment (`05` and its value).
fn rpmvercmp_key(key: &mut KeyWriter, s: &[u8]) {
    let mut i = 0;
    while i < s.len() {
        let c = s[i];
        if c == b'~' || c == b'^' {
            key.byte(if c == b'~' { 1 } else { 3 });
            i += 1;
        } else if c.is_ascii_alphanumeric() {
            let digits = c.is_ascii_digit();
            let len = s[i..]
                .iter()
                .take_while(|b| {
                    if digits {
                        b.is_ascii_digit()
                    } else {
                        b.is_ascii_alphabetic()
                    }
                })
                .count();
            let segment = &s[i..i + len];
            if digits {
                key.byte(5);
                key.digits(segment);
            } else {
                key.byte(4);
                key.text(segment);
            }
            i += len;
        } else {
            i += 1;
        }
    }
    key.byte(2);
}

impl Ord for RpmVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        let e1 = match &self.epoch {
            Some(r) if !r.is_empty() => self.part(r),
            _ => b"0".as_slice(),
        };
        let e2 = match &other.epoch {
            Some(r) if !r.is_empty() => other.part(r),
            _ => b"0".as_slice(),
        };
        rpmvercmp(e1, e2)
            .then_with(|| rpmvercmp(self.part(&self.version), other.part(&other.version)))
            .then_with(|| match (&self.release, &other.release) {
                (Some(a), Some(b)) => rpmvercmp(self.part(a), other.part(b)),
                (Some(_), None) => Ordering::Greater,
                (None, Some(_)) => Ordering::Less,
                (None, None) => Ordering::Equal,
            })
    }
}

order_by_cmp!(RpmVersion);

/// rpm's `rpmvercmp` on two raw strings (no epoch/release split).
pub fn rpmvercmp(a: &[u8], b: &[u8]) -> Ordering {
    if a == b {
        return Ordering::Equal;
    }
    let sep = |c: u8| !c.is_ascii_alphanumeric() && c != b'~' && c != b'^';
    let (mut i, mut j) = (0usize, 0usize);
    let at = |s: &[u8], k: usize| s.get(k).copied().unwrap_or(0);
    while i < a.len() || j < b.len() {
        while i < a.len() && sep(a[i]) {
            i += 1;
        }
        while j < b.len() && sep(b[j]) {
            j += 1;
        }
        let (ca, cb) = (at(a, i), at(b, j));
        if ca == b'~' || cb == b'~' {
            if ca != b'~' {
                return Ordering::Greater;
            }
            if cb != b'~' {
                return Ordering::Less;
            }
            i += 1;
            j += 1;
            continue;
        }
        if ca == b'^' || cb == b'^' {
            if i >= a.len() {
                return Ordering::Less;
            }
            if j >= b.len() {
                return Ordering::Greater;
            }
            if ca != b'^' {
                return Ordering::Greater;
            }
            if cb != b'^' {
                return Ordering::Less;
            }
            i += 1;
            j += 1;
            continue;
        }
        if i >= a.len() || j >= b.len() {
            break;
        }
        let isnum = ca.is_ascii_digit();
        let class = |c: &u8| {
            if isnum {
                c.is_ascii_digit()
            } else {
                c.is_ascii_alphabetic()
            }
        };
        let ea = i + a[i..].iter().take_while(|c| class(c)).count();
        let eb = j + b[j..].iter().take_while(|c| class(c)).count();
        // `a` always has a segment here; an empty one on `b` means mixed types.
        if eb == j {
            return if isnum {
                Ordering::Greater
            } else {
                Ordering::Less
            };
        }
        let (mut sa, mut sb) = (&a[i..ea], &b[j..eb]);
        if isnum {
            while let [b'0', rest @ ..] = sa {
                sa = rest;
            }
            while let [b'0', rest @ ..] = sb {
                sb = rest;
            }
            match sa.len().cmp(&sb.len()) {
                Ordering::Equal => {}
                other => return other,
            }
        }
        match sa.cmp(sb) {
            Ordering::Equal => {}
            other => return other,
        }
        i = ea;
        j = eb;
    }
    match (i >= a.len(), j >= b.len()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Less,
        _ => Ordering::Greater,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmp(a: &str, b: &str) -> Ordering {
        RpmVersion::parse(a)
            .unwrap()
            .cmp(&RpmVersion::parse(b).unwrap())
    }

    #[test]
    fn tilde_caret_epoch_release() {
        assert_eq!(cmp("1.0~rc1", "1.0"), Ordering::Less);
        assert_eq!(cmp("1.0^git1", "1.0"), Ordering::Greater);
        assert_eq!(cmp("1.0^git1", "1.0.1"), Ordering::Less);
        assert_eq!(cmp("1:1.0", "2.0"), Ordering::Greater);
        assert_eq!(cmp("0:1.0", "1.0"), Ordering::Equal);
        assert_eq!(cmp("1.0", "1.0-1"), Ordering::Less);
        assert_eq!(cmp("1.0a", "1.0"), Ordering::Greater);
        assert_eq!(cmp("1.0a", "1.0.1"), Ordering::Less);
        assert_eq!(cmp("1_0", "1.0"), Ordering::Equal);
        assert_eq!(cmp("010", "10"), Ordering::Equal);
        assert!(RpmVersion::parse("").is_err());
    }

    #[test]
    fn parts_are_split_like_rpm() {
        let v = RpmVersion::parse("3:1.2-a-4.el9").unwrap();
        assert_eq!(
            (v.epoch(), v.version(), v.release()),
            ("3", "1.2-a", Some("4.el9"))
        );
        let v = RpmVersion::parse("a:1-2").unwrap();
        assert_eq!(
            (v.epoch(), v.version(), v.release()),
            ("0", "a:1", Some("2"))
        );
    }
}
