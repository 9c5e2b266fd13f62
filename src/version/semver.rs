//! Semantic Versioning 2.0 precedence with npm's leniency (node-semver 7, `loose`).
//!
//! Accepts everything node-semver accepts in loose mode, which is a superset of
//! strict SemVer 2.0: surrounding whitespace, any run of leading `v`, `=` and
//! whitespace, leading zeros in numbers, a prerelease without its `-`
//! (`1.2.3beta`). Ordering is node-semver's `compare`: main numbers, then
//! prerelease identifiers (numeric below alphanumeric; numeric ones compared as
//! JavaScript numbers), build metadata ignored. Like node-semver it rejects
//! strings longer than 256 UTF-16 units and main numbers above 2^53-1.
//!
//! Valid SemVer 2.0 strings order exactly as the `semver` crate's precedence,
//! so OSV `SEMVER` ranges and crates.io are served by the same type.

use std::cmp::Ordering;

use super::key::KeyWriter;
use super::{OrderKey, SchemeVersion, VersionError};

/// 2^53 - 1, JavaScript's `Number.MAX_SAFE_INTEGER`.
const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;
/// node-semver's `MAX_LENGTH`.
const MAX_LENGTH: usize = 256;

/// One prerelease identifier as node-semver holds it.
#[derive(Debug, Clone, Copy, PartialEq)]
enum PreId<'a> {
    /// All-digit identifier, valued as a JavaScript number.
    Num(f64),
    /// Any other identifier; `numeric` if all digits but too large to be a safe number.
    Str { text: &'a str, numeric: bool },
}

/// A version as node-semver's `SemVer` class parses it (loose mode).
#[derive(Debug, Clone)]
pub struct SemverVersion {
    main: [u64; 3],
    /// The prerelease identifiers joined by `.` (empty when none).
    pre: Box<str>,
    /// The build metadata (empty when none).
    build: Box<str>,
}

impl SemverVersion {
    /// Major, minor and patch numbers.
    pub fn main(&self) -> [u64; 3] {
        self.main
    }

    /// Whether the version has a prerelease part.
    pub fn is_prerelease(&self) -> bool {
        !self.pre.is_empty()
    }

    /// The build metadata, `.`-joined (ignored for ordering).
    pub fn build(&self) -> &str {
        &self.build
    }
}

fn err(input: &str, reason: &str) -> VersionError {
    VersionError::new("semver", input, reason)
}

/// JavaScript's `String.prototype.trim` whitespace (and `\s` in regexes).
fn js_space(c: char) -> bool {
    matches!(
        c,
        '\t' | '\n' | '\u{b}' | '\u{c}' | '\r' | ' ' | '\u{a0}' | '\u{1680}' | '\u{2000}'
            ..='\u{200a}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{202f}'
                | '\u{205f}'
                | '\u{3000}'
                | '\u{feff}'
    )
}

fn ident_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-'
}

/// Whether `t` is `id(.id)*` with each id `[0-9A-Za-z-]+`.
fn valid_ids(t: &str) -> bool {
    t.split('.')
        .all(|id| !id.is_empty() && id.bytes().all(ident_char))
}

/// Splits `pre[+build]` and checks both; must consume all.
fn parse_tail(s: &str) -> Option<(&str, &str)> {
    let (pre, build) = match s.find('+') {
        Some(p) => {
            let build = &s[p + 1..];
            if !valid_ids(build) {
                return None;
            }
            (&s[..p], build)
        }
        None => (s, ""),
    };
    if !pre.is_empty() && !valid_ids(pre) {
        return None;
    }
    Some((pre, build))
}

fn main_number(input: &str, digits: &str) -> Result<u64, VersionError> {
    // node-semver takes `+digits`; anything above 2^53-1 is rejected.
    let trimmed = digits.trim_start_matches('0');
    if trimmed.len() > 16 {
        return Err(err(input, "number larger than 2^53-1"));
    }
    let n: u64 = if trimmed.is_empty() {
        0
    } else {
        trimmed.parse().map_err(|_| err(input, "invalid number"))?
    };
    if n > MAX_SAFE_INTEGER {
        return Err(err(input, "number larger than 2^53-1"));
    }
    Ok(n)
}

fn pre_id(id: &str) -> PreId<'_> {
    if id.bytes().all(|b| b.is_ascii_digit()) {
        // `+id`, kept as a number when below MAX_SAFE_INTEGER, else as a string.
        let value: f64 = if id.len() <= 15 {
            // Exact in an f64; integer parsing is much cheaper than float parsing.
            id.parse::<u64>().map_or(f64::INFINITY, |n| n as f64)
        } else {
            id.parse().unwrap_or(f64::INFINITY)
        };
        if value < MAX_SAFE_INTEGER as f64 {
            return PreId::Num(value);
        }
        return PreId::Str {
            text: id,
            numeric: true,
        };
    }
    PreId::Str {
        text: id,
        numeric: false,
    }
}

impl SchemeVersion for SemverVersion {
    fn parse(input: &str) -> Result<Self, VersionError> {
        // UTF-8 is never shorter than UTF-16, so only long inputs need counting.
        if input.len() > MAX_LENGTH && input.encode_utf16().count() > MAX_LENGTH {
            return Err(err(input, "longer than 256 characters"));
        }
        let s = input.trim_matches(js_space);
        let s = s.trim_start_matches(|c: char| c == 'v' || c == '=' || js_space(c));
        let digits = |t: &str| t.bytes().take_while(u8::is_ascii_digit).count();
        let n1 = digits(s);
        let rest = s[n1..]
            .strip_prefix('.')
            .filter(|_| n1 > 0)
            .ok_or_else(|| err(input, "expected MAJOR.MINOR.PATCH"))?;
        let n2 = digits(rest);
        let rest2 = rest[n2..]
            .strip_prefix('.')
            .filter(|_| n2 > 0)
            .ok_or_else(|| err(input, "expected MAJOR.MINOR.PATCH"))?;
        let n3 = digits(rest2);
        if n3 == 0 {
            return Err(err(input, "expected MAJOR.MINOR.PATCH"));
        }
        // The patch digits are greedy but may give digits back to the prerelease,
        // as the regular expression does when backtracking.
        for k in (1..=n3).rev() {
            let tail = &rest2[k..];
            // `-?` first takes the dash, then gives it back (it is an identifier character).
            let attempts = [
                tail.strip_prefix('-').map(|t| (t, true)),
                Some((tail, false)),
            ];
            for (t, dashed) in attempts.into_iter().flatten() {
                let Some((pre, build)) = parse_tail(t) else {
                    continue;
                };
                // A consumed dash must be followed by a prerelease.
                if dashed && pre.is_empty() {
                    continue;
                }
                return Ok(SemverVersion {
                    main: [
                        main_number(input, &s[..n1])?,
                        main_number(input, &rest[..n2])?,
                        main_number(input, &rest2[..k])?,
                    ],
                    pre: pre.into(),
                    build: build.into(),
                });
            }
        }
        Err(err(input, "invalid prerelease or build metadata"))
    }

    /// The three numbers, then `02` for a release or `01` and the
    /// prerelease identifiers (`01` number or `02` text), closed by `00`.
    /// `None` with a numeric identifier above 2^53-1: node-semver compares
    /// those as rounded floats and stops at the first pair it calls equal,
    /// an order no key can reproduce.
    fn order_key(&self) -> Option<OrderKey> {
        let mut key = KeyWriter::new();
        for n in self.main {
            key.u64(n);
        }
        if self.pre.is_empty() {
            key.byte(2);
            return Some(key.finish());
        }
        key.byte(1);
        for id in self.pre.split('.').map(pre_id) {
            match id {
                // Below 2^53: an exact integer.
                PreId::Num(n) => {
                    key.byte(1);
                    key.u64(n as u64);
                }
                PreId::Str { numeric: true, .. } => return None,
                PreId::Str { text, .. } => {
                    key.byte(2);
                    key.text(text.as_bytes());
                }
            }
        }
        key.byte(0);
        Some(key.finish())
    }
}

/// node-semver's `compareIdentifiers`.
fn compare_identifiers(a: &PreId<'_>, b: &PreId<'_>) -> Ordering {
    let as_num = |x: &PreId<'_>| match x {
        PreId::Num(n) => Some(*n),
        PreId::Str {
            text,
            numeric: true,
        } => Some(text.parse().unwrap_or(f64::INFINITY)),
        PreId::Str { .. } => None,
    };
    match (as_num(a), as_num(b)) {
        (Some(x), Some(y)) => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => match (a, b) {
            (PreId::Str { text: x, .. }, PreId::Str { text: y, .. }) => x.cmp(y),
            _ => Ordering::Equal,
        },
    }
}

impl Ord for SemverVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        let main = self.main.cmp(&other.main);
        if main != Ordering::Equal {
            return main;
        }
        match (self.pre.is_empty(), other.pre.is_empty()) {
            (true, true) => return Ordering::Equal,
            (false, true) => return Ordering::Less,
            (true, false) => return Ordering::Greater,
            _ => {}
        }
        let mut left = self.pre.split('.').map(pre_id);
        let mut right = other.pre.split('.').map(pre_id);
        loop {
            match (left.next(), right.next()) {
                (None, None) => return Ordering::Equal,
                (Some(_), None) => return Ordering::Greater,
                (None, Some(_)) => return Ordering::Less,
                // node-semver stops at the first identifiers that are not `===`,
                // even when compareIdentifiers then calls them equal.
                (Some(a), Some(b)) if a == b => {}
                (Some(a), Some(b)) => return compare_identifiers(&a, &b),
            }
        }
    }
}

order_by_cmp!(SemverVersion);

#[cfg(test)]
mod tests {
    use super::*;

    fn cmp(a: &str, b: &str) -> Ordering {
        SemverVersion::parse(a)
            .unwrap()
            .cmp(&SemverVersion::parse(b).unwrap())
    }

    #[test]
    fn precedence_and_leniency() {
        assert_eq!(cmp("1.0.0-alpha", "1.0.0-alpha.1"), Ordering::Less);
        assert_eq!(cmp("1.0.0-alpha.beta", "1.0.0-beta"), Ordering::Less);
        assert_eq!(cmp("1.0.0-beta.2", "1.0.0-beta.11"), Ordering::Less);
        assert_eq!(cmp("1.0.0-rc.1", "1.0.0"), Ordering::Less);
        assert_eq!(cmp("1.0.0+a", "1.0.0+b"), Ordering::Equal);
        assert_eq!(cmp("v1.2.3", "=1.2.3"), Ordering::Equal);
        assert_eq!(cmp("  =v 1.2.3 ", "1.2.3"), Ordering::Equal);
        assert_eq!(cmp("1.2.3beta", "1.2.3-beta"), Ordering::Equal);
        assert_eq!(cmp("01.02.03", "1.2.3"), Ordering::Equal);
        assert_eq!(cmp("1.10.0", "1.9.0"), Ordering::Greater);
        for bad in [
            "1.2",
            "1.2.3.4",
            "",
            "a.b.c",
            "1.2.3-a..b",
            "9007199254740992.0.0",
        ] {
            assert!(SemverVersion::parse(bad).is_err(), "{bad}");
        }
    }
}
