//! RubyGems ordering: `Gem::Version#<=>` (rubygems 3.3).
//!
//! Valid versions match `\s*[0-9]+(\.[0-9A-Za-z]+)*(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?\s*`
//! (or are blank, meaning `0`). Each `-` becomes `.pre.`, then the version is read
//! as runs of digits (numbers, any size) and runs of letters (strings, case
//! kept). Trailing zeros are dropped from the leading numeric part and from the
//! rest (`1.0.a.0 = 1.a`). Segments compare pairwise, a missing one counting as
//! 0: a string is below a number (so `1.0.a < 1.0`), numbers by value, strings
//! bytewise.

use std::cmp::Ordering;

use super::key::KeyWriter;
use super::{OrderKey, SchemeVersion, VersionError};

/// One canonical segment.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Seg {
    /// Digits without leading zeros ("" = 0).
    Num(Box<str>),
    Str(Box<str>),
}

/// A RubyGems version.
#[derive(Debug, Clone)]
pub struct GemVersion {
    canonical: Vec<Seg>,
}

impl GemVersion {
    /// Whether the version contains a letter (RubyGems' `prerelease?`).
    pub fn is_prerelease(&self) -> bool {
        self.canonical.iter().any(|s| matches!(s, Seg::Str(_)))
    }
}

/// Ruby's `\s` in a regexp.
fn ruby_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\u{b}' | '\u{c}' | '\r')
}

fn valid(s: &str) -> bool {
    let b = s.as_bytes();
    if b.is_empty() {
        return true;
    }
    let mut i = b.iter().take_while(|c| c.is_ascii_digit()).count();
    if i == 0 {
        return false;
    }
    while i < b.len() && b[i] == b'.' {
        let n = b[i + 1..]
            .iter()
            .take_while(|c| c.is_ascii_alphanumeric())
            .count();
        if n == 0 {
            return false;
        }
        i += 1 + n;
    }
    if i < b.len() && b[i] == b'-' {
        let part = &b[i + 1..];
        return part
            .split(|&c| c == b'.')
            .all(|p| !p.is_empty() && p.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-'));
    }
    i == b.len()
}

impl SchemeVersion for GemVersion {
    fn parse(input: &str) -> Result<Self, VersionError> {
        let s = input.trim_matches(ruby_space);
        if !valid(s) {
            return Err(VersionError::new(
                "gem",
                input,
                "Malformed version number string",
            ));
        }
        let s = if s.is_empty() { "0" } else { s };
        // `scan(/[0-9]+|[a-z]+/i)` over the string with "-" as ".pre.".
        let mut segs: Vec<Seg> = Vec::new();
        let bytes = s.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            let c = bytes[i];
            if c == b'-' {
                segs.push(Seg::Str("pre".into()));
                i += 1;
            } else if c.is_ascii_digit() {
                let n = bytes[i..].iter().take_while(|c| c.is_ascii_digit()).count();
                segs.push(Seg::Num(s[i..i + n].trim_start_matches('0').into()));
                i += n;
            } else if c.is_ascii_alphabetic() {
                let n = bytes[i..]
                    .iter()
                    .take_while(|c| c.is_ascii_alphabetic())
                    .count();
                segs.push(Seg::Str(s[i..i + n].into()));
                i += n;
            } else {
                i += 1;
            }
        }
        // canonical_segments: drop trailing zeros of the numeric head and of the rest.
        let split = segs
            .iter()
            .position(|s| matches!(s, Seg::Str(_)))
            .unwrap_or(segs.len());
        let mut rest = segs.split_off(split);
        let zero = |s: &Seg| matches!(s, Seg::Num(d) if d.is_empty());
        while segs.last().is_some_and(zero) {
            segs.pop();
        }
        while rest.last().is_some_and(zero) {
            rest.pop();
        }
        segs.extend(rest);
        Ok(GemVersion { canonical: segs })
    }

    /// The segments in order: a string `01` + text, a number above 0 `05` +
    /// value; the end (endless zeros, trailing zeros dropped) `03`. A zero
    /// must sort against the end by what follows it: `02` when the next
    /// non-zero segment is a string (below 0), `04` when it is a number.
    fn order_key(&self) -> Option<OrderKey> {
        let zero = |s: &Seg| matches!(s, Seg::Num(d) if d.is_empty());
        let mut segs: &[Seg] = &self.canonical;
        while segs.last().is_some_and(zero) {
            segs = &segs[..segs.len() - 1];
        }
        let mut key = KeyWriter::new();
        for (k, seg) in segs.iter().enumerate() {
            match seg {
                Seg::Str(text) => {
                    key.byte(1);
                    key.text(text.as_bytes());
                }
                Seg::Num(_) if zero(seg) => {
                    let next = segs[k..].iter().find(|s| !zero(s));
                    key.byte(if matches!(next, Some(Seg::Str(_))) {
                        2
                    } else {
                        4
                    });
                }
                Seg::Num(digits) => {
                    key.byte(5);
                    key.digits(digits.as_bytes());
                }
            }
        }
        key.byte(3);
        Some(key.finish())
    }
}

impl Ord for GemVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        let zero = Seg::Num("".into());
        let n = self.canonical.len().max(other.canonical.len());
        for i in 0..n {
            let l = self.canonical.get(i).unwrap_or(&zero);
            let r = other.canonical.get(i).unwrap_or(&zero);
            let o = match (l, r) {
                (Seg::Num(a), Seg::Num(b)) => a.len().cmp(&b.len()).then_with(|| a.cmp(b)),
                (Seg::Str(_), Seg::Num(_)) => Ordering::Less,
                (Seg::Num(_), Seg::Str(_)) => Ordering::Greater,
                (Seg::Str(a), Seg::Str(b)) => a.as_bytes().cmp(b.as_bytes()),
            };
            if o != Ordering::Equal {
                return o;
            }
        }
        Ordering::Equal
    }
}

order_by_cmp!(GemVersion);

#[cfg(test)]
mod tests {
    use super::*;

    fn cmp(a: &str, b: &str) -> Ordering {
        GemVersion::parse(a)
            .unwrap()
            .cmp(&GemVersion::parse(b).unwrap())
    }

    #[test]
    fn gem_order() {
        let ordered = ["1.0.a", "1.0.b1", "1.0.rc", "1.0", "1.0.1", "1.1", "1.10"];
        for w in ordered.windows(2) {
            assert_eq!(cmp(w[0], w[1]), Ordering::Less, "{} < {}", w[0], w[1]);
        }
        assert_eq!(cmp("1.0.0", "1"), Ordering::Equal);
        assert_eq!(cmp("1-a", "1.pre.a"), Ordering::Equal);
        assert_eq!(cmp(" ", "0"), Ordering::Equal);
        assert!(GemVersion::parse("1.0.a").unwrap().is_prerelease());
        for bad in ["1a", "junk", "1.0\n2.0", "1..2", "1.2\\ 3.4", "-1"] {
            assert!(GemVersion::parse(bad).is_err(), "{bad}");
        }
    }
}
