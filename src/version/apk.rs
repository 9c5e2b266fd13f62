//! Alpine ordering: apk-tools 2.14's `apk_version_compare` and
//! `apk_version_validate`, the ordering of the `apk` that Alpine releases ship.
//!
//! A version is read as a stream of typed tokens, each with a signed value:
//! the first number; `.`-numbers; a lowercase letter (value: its byte);
//! digits right after a letter (another number, `2p1`); `_suffix` (value:
//! `alpha beta pre rc` = -4..-1, `cvs svn git hg p` = 0..4, the name matched
//! as a prefix: `_pre1`, `_rc1a`); digits after a suffix; `-r` and its number.
//!
//! - A `.`-number starting with `0` becomes two tokens: minus the count of its
//!   leading zeros after the first, then the number from the last zero
//!   (`.001` is `-1, 1`; `.0` is `0, 0`), so more leading zeros sort lower:
//!   `8.2.0 > 8.2.001`, `8.2.0015 > 8.2.002`, `1.0_beta2 > 1.00_beta2`.
//! - A number of 18 digits or more, an unknown suffix (`_foo`, or `_` followed
//!   by a non-letter: `1.7_RC3`, `5.2_-r14`) or any other character is an
//!   unreadable token of value -1: such a version sorts *below* the same
//!   version without it, as the real tool does.
//! - Both sides are walked in lockstep while their next tokens have the same
//!   type; the first differing value decides. When the values are equal but
//!   the next types differ, a pre-release suffix (or an unreadable one) on a
//!   side makes it lower; otherwise the side whose next token type comes
//!   earlier in the list above is greater (it has more version), and a side
//!   that stopped at an unreadable token is greater than one that ended.
//! - A repeated `-r` (`1-r1-r2`) is valid and compared token by token.
//!
//! As with `apk version -t`, strings that apk's validator rejects are still
//! compared, token by token, as the real tool does; use
//! [`ApkVersion::is_valid`] to check `apk_version_validate`. Only the empty
//! string is refused here.
//!
//! # apk-tools 3
//!
//! apk-tools 3 (Alpine edge tooling, not the `apk` of any release here)
//! orders differently:
//! - a `.`-number with a leading zero compares as a string against the other
//!   side's (`8.2.0 < 8.2.001`, `8.2.0015 < 8.2.002`, `1.00_beta2 <
//!   1.0_beta2`);
//! - digits after a letter (`6.0.2p1`) are invalid, so `6.0.2p1-r0` and
//!   `6.0.2p1-r1` compare equal there;
//! - suffix names must match whole (`_pre1a` is invalid), a repeated `-r` is
//!   invalid, and an unreadable tail sorts below the end of the other side
//!   instead of above it;
//! - it adds a `~hash` commit token (`1.0_pre2~1234abcd`), unreadable for
//!   apk 2;
//! - an empty digit run (`1..2`, `-r` without a number) and an empty suffix
//!   (`1_`) are invalid, where apk 2 reads them as 0 and as an unknown suffix.
//!
//! `tests/integration/version.rs` checks every pair of
//! `apk-tools-2.14-oracle-pairs.tsv` (answers of the real apk-tools 2.14.10)
//! and counts the rows of apk-tools 3's own vectors that differ.

use std::cmp::Ordering;

use super::key::KeyWriter;
use super::{OrderKey, SchemeVersion, VersionError};

/// Token types, in apk 2's order: a later type means "more version to come".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Tok {
    /// Unreadable: anything apk cannot parse at this point.
    Invalid,
    /// A number after `.` (leading zeros are counted apart).
    DotNumber,
    /// The first number, digits after a letter, the number after leading zeros.
    Number,
    /// One lowercase letter after a number.
    Letter,
    /// `_alpha`, `_p`, ...
    Suffix,
    /// The number after a suffix.
    SuffixNumber,
    /// The number after `-r`.
    Revision,
    /// Nothing left.
    End,
}

/// Suffix names as apk 2 matches them (prefix match, in this order), with
/// their values: pre-release ones negative.
const SUFFIXES: [(&[u8], i64); 9] = [
    (b"alpha", -4),
    (b"beta", -3),
    (b"pre", -2),
    (b"rc", -1),
    (b"cvs", 0),
    (b"svn", 1),
    (b"git", 2),
    (b"hg", 3),
    (b"p", 4),
];

/// Numbers of this many digits or more are unreadable (apk 2 keeps an int64).
const MAX_DIGITS: usize = 18;

/// One side being read: what is left and the type of the token at its head.
#[derive(Clone)]
struct Tokens<'a> {
    rest: &'a [u8],
    next: Tok,
}

impl<'a> Tokens<'a> {
    fn new(s: &'a [u8]) -> Self {
        Tokens {
            rest: s,
            next: Tok::Number,
        }
    }

    fn done(&self) -> bool {
        matches!(self.next, Tok::End | Tok::Invalid)
    }

    /// Reads the value of the token at the head (of type `self.next`) and
    /// finds the type of the one after it.
    fn take(&mut self) -> i64 {
        if self.rest.is_empty() {
            self.next = Tok::End;
            return 0;
        }
        let mut fixed_next = None;
        let (value, len) = match self.next {
            Tok::DotNumber if self.rest[0] == b'0' => {
                // Keep the last zero for the number token that follows.
                let zeros = self.rest.iter().take_while(|&&b| b == b'0').count();
                fixed_next = Some(Tok::Number);
                (1 - zeros as i64, zeros - 1)
            }
            Tok::DotNumber | Tok::Number | Tok::SuffixNumber | Tok::Revision => {
                let len = self.rest.iter().take_while(|b| b.is_ascii_digit()).count();
                if len >= MAX_DIGITS {
                    return self.unreadable();
                }
                let value = self.rest[..len]
                    .iter()
                    .fold(0i64, |v, d| v * 10 + i64::from(d - b'0'));
                (value, len)
            }
            Tok::Letter => (i64::from(self.rest[0]), 1),
            Tok::Suffix => match SUFFIXES
                .iter()
                .find(|(name, _)| self.rest.starts_with(name))
            {
                Some((name, value)) => (*value, name.len()),
                None => return self.unreadable(),
            },
            Tok::Invalid | Tok::End => return self.unreadable(),
        };
        self.rest = &self.rest[len..];
        self.next = match fixed_next {
            _ if self.rest.is_empty() => Tok::End,
            Some(next) => next,
            None => self.following(),
        };
        value
    }

    fn unreadable(&mut self) -> i64 {
        self.next = Tok::Invalid;
        -1
    }

    /// The type of the token at the head of a non-empty rest, consuming its
    /// separator (`.`, `_`, `-r`); a type that may not follow the current
    /// one is unreadable.
    fn following(&mut self) -> Tok {
        let current = self.next;
        let c = self.rest[0];
        let next = if c == 0 {
            Tok::End
        } else if matches!(current, Tok::Number | Tok::DotNumber) && c.is_ascii_lowercase() {
            Tok::Letter
        } else if current == Tok::Letter && c.is_ascii_digit() {
            Tok::Number
        } else if current == Tok::Suffix && c.is_ascii_digit() {
            Tok::SuffixNumber
        } else {
            let (next, len) = match c {
                b'.' => (Tok::DotNumber, 1),
                b'_' => (Tok::Suffix, 1),
                b'-' if self.rest.get(1) == Some(&b'r') => (Tok::Revision, 2),
                _ => (Tok::Invalid, 1),
            };
            self.rest = &self.rest[len..];
            next
        };
        let allowed_step_back = matches!(
            (next, current),
            (Tok::DotNumber, Tok::Number)
                | (Tok::Suffix, Tok::SuffixNumber)
                | (Tok::Number, Tok::Letter)
        );
        if next < current && !allowed_step_back {
            Tok::Invalid
        } else {
            next
        }
    }
}

/// apk-tools 2.14's `apk_version_compare` on two raw version strings.
pub fn apk_compare(a: &[u8], b: &[u8]) -> Ordering {
    let (mut ta, mut tb) = (Tokens::new(a), Tokens::new(b));
    let (mut av, mut bv) = (0, 0);
    while ta.next == tb.next && !ta.done() && av == bv {
        av = ta.take();
        bv = tb.take();
    }
    if av != bv {
        return av.cmp(&bv);
    }
    if ta.next == tb.next {
        return Ordering::Equal;
    }
    // A pre-release (or unreadable) suffix next makes that side lower.
    if ta.next == Tok::Suffix && ta.clone().take() < 0 {
        return Ordering::Less;
    }
    if tb.next == Tok::Suffix && tb.clone().take() < 0 {
        return Ordering::Greater;
    }
    // An earlier token type next means that side has more version.
    tb.next.cmp(&ta.next)
}

/// An Alpine package version.
#[derive(Debug, Clone)]
pub struct ApkVersion {
    raw: Box<str>,
}

impl ApkVersion {
    /// Whether apk-tools 2.14's `apk_version_validate` accepts the version.
    pub fn is_valid(&self) -> bool {
        let mut t = Tokens::new(self.raw.as_bytes());
        while !t.done() {
            t.take();
        }
        t.next == Tok::End
    }
}

impl SchemeVersion for ApkVersion {
    fn parse(input: &str) -> Result<Self, VersionError> {
        if input.is_empty() {
            return Err(VersionError::new("apk", input, "empty version"));
        }
        Ok(ApkVersion { raw: input.into() })
    }

    /// [`apk_compare`]'s walk written out: per token a tag for its type,
    /// then its value (sign bit flipped, big-endian); the key ends at the
    /// end or at an unreadable token, as the walk does. Tags rank types as
    /// the walk does when the two sides' types differ: a pre-release (or
    /// unreadable) suffix lowest, then the end, then the other types in
    /// reverse order (an earlier type means more version).
    fn order_key(&self) -> Option<OrderKey> {
        let tag = |next: Tok, value: i64| match next {
            Tok::Suffix if value < 0 => 0,
            Tok::End => 1,
            Tok::Revision => 2,
            Tok::SuffixNumber => 3,
            Tok::Suffix => 4,
            Tok::Letter => 5,
            Tok::Number => 6,
            Tok::DotNumber => 7,
            Tok::Invalid => 8,
        };
        let mut key = KeyWriter::new();
        let mut tokens = Tokens::new(self.raw.as_bytes());
        while !tokens.done() {
            let next = tokens.next;
            let value = tokens.take();
            key.byte(tag(next, value));
            key.u64((value as u64) ^ (1 << 63));
        }
        key.byte(tag(tokens.next, 0));
        Some(key.finish())
    }
}

impl Ord for ApkVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        apk_compare(self.raw.as_bytes(), other.raw.as_bytes())
    }
}

order_by_cmp!(ApkVersion);

#[cfg(test)]
mod tests {
    use super::*;

    fn cmp(a: &str, b: &str) -> Ordering {
        apk_compare(a.as_bytes(), b.as_bytes())
    }

    #[test]
    fn apk2_order() {
        let ordered = [
            "1.0_alpha1",
            "1.0_beta",
            "1.0_rc1",
            "1.0",
            "1.0-r1",
            "1.0_p1",
            "1.0a",
            "1.0.1",
            "1.01.0",
            "1.1",
            "1.10",
        ];
        for w in ordered.windows(2) {
            assert_eq!(cmp(w[0], w[1]), Ordering::Less, "{} < {}", w[0], w[1]);
        }
        assert_eq!(cmp("1.0", "1"), Ordering::Greater);
        assert_eq!(cmp("1-r", "1-r0"), Ordering::Equal);
        // apk-tools 2.14.10's answers where apk-tools 3 differs.
        assert_eq!(cmp("8.2.0015", "8.2.002"), Ordering::Greater);
        assert_eq!(cmp("8.2.0", "8.2.001"), Ordering::Greater);
        assert_eq!(cmp("6.0.2p1-r0", "6.0.2p1-r1"), Ordering::Less);
        assert_eq!(cmp("1.7_RC3", "1.7"), Ordering::Less);
        assert_eq!(cmp("1-r1-r2", "1-r1-r1"), Ordering::Greater);
        assert_eq!(cmp("1-r-0", "1-r0"), Ordering::Greater);
        assert!(ApkVersion::parse("1-r1-r2").unwrap().is_valid());
        assert!(ApkVersion::parse("6.0.2p1-r0").unwrap().is_valid());
        assert!(ApkVersion::parse("1.2.3_rc1-r0").unwrap().is_valid());
        assert!(!ApkVersion::parse("1.0bc").unwrap().is_valid());
        assert!(ApkVersion::parse("").is_err());
    }
}
