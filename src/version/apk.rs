//! Alpine ordering: apk-tools 2.14's `apk_version_compare`.
//!
//! A version is read as a stream of tokens:
//! `digits{.digits}[letter]{_suffix[digits]}[-r[digits]]`. The first number and
//! suffix/revision numbers compare by value; a later `.`-number compares by value
//! too, unless either side starts with `0`, in which case the two digit strings
//! compare as strings (`1.01 < 1.1`, `8.2.0015 < 8.2.002`). A letter follows the
//! number it is attached to (`1.2a > 1.2`). Suffixes `_alpha _beta _pre _rc` sort
//! below the plain version, `_cvs _svn _git _hg _p` (and a bare `_`) above it;
//! `-rN` is the package revision (`-r` alone is `-r0`). Both token streams are
//! walked in lockstep and the first difference decides; when one side has more,
//! it is greater unless what it has next is a pre-release suffix.
//!
//! As with `apk version -t`, strings that apk's validator rejects are still
//! compared, token by token, up to the first token apk cannot read (an unreadable
//! token sorts below anything readable, and two unreadable ones are equal); use
//! [`ApkVersion::is_valid`] to check `apk_version_validate`. Only the empty string
//! is refused here.
//!
//! apk-tools 3 differs (see `mod.rs`).

use std::cmp::Ordering;

use super::{SchemeVersion, VersionError};

/// Token types, in apk's order (a later type means "more version to come").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Tok {
    InitialDigit,
    Digit,
    Letter,
    Suffix,
    SuffixNo,
    RevisionNo,
    End,
    Invalid,
}

/// Suffix values: pre-release ones below `None`, post-release ones above.
const SUFFIXES: [&[u8]; 11] = [
    b"", b"alpha", b"beta", b"pre", b"rc", b"", b"cvs", b"svn", b"git", b"hg", b"p",
];
const SUFFIX_INVALID: u8 = 0;
const SUFFIX_NONE: u8 = 5;

fn suffix_value(s: &[u8]) -> u8 {
    let v = match s.first() {
        None => return SUFFIX_NONE,
        Some(b'a') => 1,
        Some(b'b') => 2,
        Some(b'c') => 6,
        Some(b'g') => 8,
        Some(b'h') => 9,
        Some(b'p') if s.len() > 1 => 3,
        Some(b'p') => 10,
        Some(b'r') => 4,
        Some(b's') => 7,
        _ => return SUFFIX_INVALID,
    };
    if SUFFIXES[usize::from(v)] == s {
        v
    } else {
        SUFFIX_INVALID
    }
}

/// The tokenizer state of one side.
struct Tokens<'a> {
    rest: &'a [u8],
    tok: Tok,
    value: &'a [u8],
    suffix: u8,
}

impl<'a> Tokens<'a> {
    fn span(&mut self, accept: fn(&u8) -> bool) -> &'a [u8] {
        let n = self.rest.iter().take_while(|b| accept(b)).count();
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        head
    }

    fn first(s: &'a [u8]) -> Tokens<'a> {
        let mut t = Tokens {
            rest: s,
            tok: Tok::Invalid,
            value: &[],
            suffix: 0,
        };
        t.value = t.span(u8::is_ascii_digit);
        t.tok = if t.value.is_empty() {
            Tok::Invalid
        } else {
            Tok::InitialDigit
        };
        t
    }

    fn next(&mut self) {
        let Some(&c) = self.rest.first() else {
            self.tok = Tok::End;
            return;
        };
        self.tok = match c {
            b'a'..=b'z' if self.tok <= Tok::Digit => {
                self.value = &self.rest[..1];
                self.rest = &self.rest[1..];
                Tok::Letter
            }
            b'.' | b'0'..=b'9' if c != b'.' || self.tok <= Tok::Digit => {
                if c == b'.' {
                    self.rest = &self.rest[1..];
                }
                self.value = self.span(u8::is_ascii_digit);
                match self.tok {
                    Tok::Suffix => Tok::SuffixNo,
                    Tok::InitialDigit | Tok::Digit => Tok::Digit,
                    _ => Tok::Invalid,
                }
            }
            b'_' if self.tok <= Tok::SuffixNo => {
                self.rest = &self.rest[1..];
                self.value = self.span(u8::is_ascii_lowercase);
                self.suffix = suffix_value(self.value);
                if self.suffix == SUFFIX_INVALID {
                    Tok::Invalid
                } else {
                    Tok::Suffix
                }
            }
            b'-' if self.tok < Tok::RevisionNo && self.rest.starts_with(b"-r") => {
                self.rest = &self.rest[2..];
                self.value = self.span(u8::is_ascii_digit);
                Tok::RevisionNo
            }
            _ => Tok::Invalid,
        };
    }
}

/// apk's `apk_blob_pull_uint` on a digit run (wrapping like its u64).
fn uint(digits: &[u8]) -> u64 {
    digits.iter().fold(0u64, |v, d| {
        v.wrapping_mul(10).wrapping_add(u64::from(d - b'0'))
    })
}

/// apk's `token_cmp` for two tokens of the same type.
fn token_cmp(a: &Tokens<'_>, b: &Tokens<'_>) -> Ordering {
    match a.tok {
        Tok::Digit if a.value.first() == Some(&b'0') || b.value.first() == Some(&b'0') => {
            a.value.cmp(b.value)
        }
        Tok::Digit | Tok::InitialDigit | Tok::SuffixNo | Tok::RevisionNo => {
            uint(a.value).cmp(&uint(b.value))
        }
        Tok::Letter => a.value.cmp(b.value),
        Tok::Suffix => a.suffix.cmp(&b.suffix),
        Tok::End | Tok::Invalid => a.value.cmp(b.value),
    }
}

/// apk-tools 2.14's `apk_version_compare` on two raw version strings.
pub fn apk_compare(a: &[u8], b: &[u8]) -> Ordering {
    let mut ta = Tokens::first(a);
    let mut tb = Tokens::first(b);
    while ta.tok == tb.tok && ta.tok < Tok::End {
        let r = token_cmp(&ta, &tb);
        if r != Ordering::Equal {
            return r;
        }
        ta.next();
        tb.next();
    }
    if ta.tok == tb.tok {
        return Ordering::Equal;
    }
    if ta.tok == Tok::Suffix && ta.suffix < SUFFIX_NONE {
        return Ordering::Less;
    }
    if tb.tok == Tok::Suffix && tb.suffix < SUFFIX_NONE {
        return Ordering::Greater;
    }
    // A later token type means the other side had more to say.
    tb.tok.cmp(&ta.tok)
}

/// An Alpine package version.
#[derive(Debug, Clone)]
pub struct ApkVersion {
    raw: Box<str>,
}

impl ApkVersion {
    /// Whether apk-tools 2.14's `apk_version_validate` accepts the version.
    pub fn is_valid(&self) -> bool {
        let mut t = Tokens::first(self.raw.as_bytes());
        while t.tok < Tok::End {
            t.next();
        }
        t.tok == Tok::End
    }
}

impl SchemeVersion for ApkVersion {
    fn parse(input: &str) -> Result<Self, VersionError> {
        if input.is_empty() {
            return Err(VersionError::new("apk", input, "empty version"));
        }
        Ok(ApkVersion { raw: input.into() })
    }
}

impl Ord for ApkVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        apk_compare(self.raw.as_bytes(), other.raw.as_bytes())
    }
}

impl PartialOrd for ApkVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for ApkVersion {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for ApkVersion {}

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
        assert_eq!(cmp("8.2.0015", "8.2.002"), Ordering::Less);
        assert!(ApkVersion::parse("1.2.3_rc1-r0").unwrap().is_valid());
        assert!(!ApkVersion::parse("1.0bc").unwrap().is_valid());
        assert!(ApkVersion::parse("").is_err());
    }
}
