//! Packagist ordering: composer/semver 3 (`VersionParser::normalize`, then `Comparator`).
//!
//! Each side is normalized as Composer does: trimmed; `x as y` aliases and
//! `@stability` flags dropped; `master`/`trunk`/`default` and `dev-*` are branches;
//! `+build` dropped; then `v?N[.N[.N[.N]]]` or a date version, with an optional
//! modifier (`stable`, `beta`/`b`, `RC`, `alpha`/`a`, `patch`/`pl`/`p` and a number,
//! and/or `dev`), becomes `N.N.N.N[-stability[n]][-dev]`; numeric branches like
//! `1.x-dev` become `1.9999999.9999999.9999999-dev`. Anything else is rejected.
//! Normalized versions are ordered with PHP's `version_compare` (`dev < alpha = a
//! < beta = b < RC = rc < number < patch = pl = p`, other words below `dev`). Two
//! different `dev-` branches are not comparable (an error, as in Composer); a
//! branch against a numbered version goes through `version_compare` too.

use std::cmp::Ordering;
use std::sync::LazyLock;

use regex::bytes::Regex;

use super::key::{KeyWriter, OrderKey};
use super::{SchemeVersion, VersionError};

/// PCRE's `$` without the `D` flag: the end, or before a final newline.
const END: &str = r"\n?\z";
const MODIFIER: &str =
    r"[._-]?(?:(stable|beta|b|RC|alpha|a|patch|pl|p)((?:[.-]?\d+)*)?)?([.-]?dev)?";

fn re(pattern: String) -> Regex {
    // Patterns are constants: a failure here is a programming error caught by tests.
    Regex::new(&pattern).unwrap_or_else(|e| panic!("composer regex {pattern}: {e}"))
}

static ALIAS: LazyLock<Regex> =
    LazyLock::new(|| re(format!(r"(?-u)^([^,\s]+) +as +([^,\s]+){END}")));
static FLAG: LazyLock<Regex> =
    LazyLock::new(|| re(format!(r"(?i-u)@(?:stable|RC|beta|alpha|dev){END}")));
static BUILD: LazyLock<Regex> = LazyLock::new(|| re(format!(r"(?-u)^([^,\s+]+)\+[^\s]+{END}")));
static CLASSICAL: LazyLock<Regex> = LazyLock::new(|| {
    re(format!(
        r"(?i-u)^v?(\d{{1,5}})(\.\d+)?(\.\d+)?(\.\d+)?{MODIFIER}{END}"
    ))
});
static DATE: LazyLock<Regex> = LazyLock::new(|| {
    re(format!(
        r"(?i-u)^v?(\d{{4}}(?:[.:-]?\d{{2}}){{1,6}}(?:[.:-]?\d{{1,3}})?){MODIFIER}{END}"
    ))
});
static DEV_BRANCH: LazyLock<Regex> = LazyLock::new(|| re(format!(r"(?i-u)^(.*?)[.-]?dev{END}")));
static NUMERIC_BRANCH: LazyLock<Regex> = LazyLock::new(|| {
    re(format!(
        r"(?i-u)^v?(\d+)(\.(?:\d+|[xX*]))?(\.(?:\d+|[xX*]))?(\.(?:\d+|[xX*]))?{END}"
    ))
});

/// PHP's `trim` default character set.
fn php_trim(s: &[u8]) -> &[u8] {
    let ws = |b: &u8| matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0 | 0x0b);
    let start = s.iter().position(|b| !ws(b)).unwrap_or(s.len());
    let end = s.iter().rposition(|b| !ws(b)).map_or(start, |p| p + 1);
    &s[start..end]
}

fn expand_stability(s: &[u8]) -> Vec<u8> {
    let lower = s.to_ascii_lowercase();
    match lower.as_slice() {
        b"a" => b"alpha".to_vec(),
        b"b" => b"beta".to_vec(),
        b"p" | b"pl" => b"patch".to_vec(),
        b"rc" => b"RC".to_vec(),
        _ => lower,
    }
}

/// The modifier groups (stability, number, dev) of a classical or date match.
fn apply_modifier(
    mut version: Vec<u8>,
    caps: &regex::bytes::Captures<'_>,
    index: usize,
) -> Vec<u8> {
    let group = |i: usize| caps.get(i).map(|m| m.as_bytes()).filter(|m| !m.is_empty());
    if let Some(stability) = group(index) {
        if stability == b"stable" {
            return version;
        }
        version.push(b'-');
        version.extend(expand_stability(stability));
        if let Some(n) = group(index + 1) {
            let start = n
                .iter()
                .position(|b| *b != b'.' && *b != b'-')
                .unwrap_or(n.len());
            version.extend_from_slice(&n[start..]);
        }
    }
    if group(index + 2).is_some() {
        version.extend_from_slice(b"-dev");
    }
    version
}

/// `VersionParser::normalizeBranch`.
fn normalize_branch(name: &[u8]) -> Vec<u8> {
    let name = php_trim(name);
    if let Some(c) = NUMERIC_BRANCH.captures(name) {
        let mut v = Vec::new();
        for i in 1..5 {
            match c.get(i) {
                Some(m) => v.extend(m.as_bytes().iter().map(|b| match b {
                    b'*' | b'X' => b'x',
                    other => *other,
                })),
                None => v.extend_from_slice(b".x"),
            }
        }
        let mut out = Vec::new();
        for b in v {
            if b == b'x' {
                out.extend_from_slice(b"9999999");
            } else {
                out.push(b);
            }
        }
        out.extend_from_slice(b"-dev");
        return out;
    }
    let mut out = b"dev-".to_vec();
    out.extend_from_slice(name);
    out
}

/// `VersionParser::normalize`: the normalized form, or `None` when Composer rejects it.
pub fn normalize(input: &str) -> Option<String> {
    let mut v: &[u8] = php_trim(input.as_bytes());
    if let Some(c) = ALIAS.captures(v) {
        v = c.get(1).map_or(v, |m| m.as_bytes());
    }
    if let Some(m) = FLAG.find(v) {
        v = &v[..v.len() - m.as_bytes().len()];
    }
    let owned;
    if matches!(v, b"master" | b"trunk" | b"default") {
        owned = [b"dev-".as_slice(), v].concat();
        v = &owned;
    }
    let text = |b: Vec<u8>| String::from_utf8(b).ok();
    if v.len() >= 4 && v[..4].eq_ignore_ascii_case(b"dev-") {
        return text([b"dev-".as_slice(), &v[4..]].concat());
    }
    if let Some(c) = BUILD.captures(v) {
        v = c.get(1).map_or(v, |m| m.as_bytes());
    }
    if let Some(c) = CLASSICAL.captures(v) {
        let mut version = c.get(1).map(|m| m.as_bytes().to_vec()).unwrap_or_default();
        for i in 2..5 {
            match c.get(i).map(|m| m.as_bytes()).filter(|m| !m.is_empty()) {
                Some(part) => version.extend_from_slice(part),
                None => version.extend_from_slice(b".0"),
            }
        }
        return text(apply_modifier(version, &c, 5));
    }
    if let Some(c) = DATE.captures(v) {
        let version = c
            .get(1)
            .map(|m| {
                m.as_bytes()
                    .iter()
                    .map(|b| if b.is_ascii_digit() { *b } else { b'.' })
                    .collect()
            })
            .unwrap_or_default();
        return text(apply_modifier(version, &c, 2));
    }
    if let Some(c) = DEV_BRANCH.captures(v) {
        let normalized = normalize_branch(c.get(1).map_or(&[][..], |m| m.as_bytes()));
        if !normalized.windows(4).any(|w| w == b"dev-") {
            return text(normalized);
        }
    }
    None
}

/// PHP's `php_canonicalize_version`.
fn canonicalize(v: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(v.len() * 2);
    let Some((&first, rest)) = v.split_first() else {
        return out;
    };
    out.push(first);
    let mut lp = first;
    let dig = |c: u8| c.is_ascii_digit();
    let ndig = |c: u8| !c.is_ascii_digit() && c != b'.';
    for &c in rest {
        let last_dot = out.last() == Some(&b'.');
        if matches!(c, b'-' | b'_' | b'+') {
            if !last_dot {
                out.push(b'.');
            }
        } else if (ndig(lp) && dig(c)) || (dig(lp) && ndig(c)) {
            if !last_dot {
                out.push(b'.');
            }
            out.push(c);
        } else if !c.is_ascii_alphanumeric() {
            if !last_dot {
                out.push(b'.');
            }
        } else {
            out.push(c);
        }
        lp = c;
    }
    out
}

/// PHP's `compare_special_version_forms`.
fn special_form(s: &[u8]) -> i32 {
    const FORMS: [(&[u8], i32); 10] = [
        (b"dev", 0),
        (b"alpha", 1),
        (b"a", 1),
        (b"beta", 2),
        (b"b", 2),
        (b"RC", 3),
        (b"rc", 3),
        (b"#", 4),
        (b"pl", 5),
        (b"p", 5),
    ];
    FORMS
        .iter()
        .find(|(name, _)| s.starts_with(name))
        .map_or(-1, |(_, order)| *order)
}

/// C `strtol` on a digit-led segment (saturating like glibc).
fn strtol(s: &[u8]) -> i64 {
    let mut v: i64 = 0;
    for b in s.iter().take_while(|b| b.is_ascii_digit()) {
        v = v.saturating_mul(10).saturating_add(i64::from(b - b'0'));
    }
    v
}

/// PHP's `version_compare` (two-argument form).
pub fn php_version_compare(a: &[u8], b: &[u8]) -> Ordering {
    if a.is_empty() || b.is_empty() {
        return (!a.is_empty()).cmp(&!b.is_empty());
    }
    let v1 = if a[0] == b'#' {
        a.to_vec()
    } else {
        canonicalize(a)
    };
    let v2 = if b[0] == b'#' {
        b.to_vec()
    } else {
        canonicalize(b)
    };
    let n_n: &[u8] = b"#N#";
    let (mut p1, mut p2): (&[u8], &[u8]) = (&v1, &v2);
    let (mut n1, mut n2) = (true, true);
    let mut compare = Ordering::Equal;
    while !p1.is_empty() && !p2.is_empty() && n1 && n2 {
        let d1 = p1.iter().position(|&c| c == b'.');
        let d2 = p2.iter().position(|&c| c == b'.');
        n1 = d1.is_some();
        n2 = d2.is_some();
        let s1 = &p1[..d1.unwrap_or(p1.len())];
        let s2 = &p2[..d2.unwrap_or(p2.len())];
        let digit = |s: &[u8]| s.first().is_some_and(u8::is_ascii_digit);
        compare = match (digit(s1), digit(s2)) {
            (true, true) => strtol(s1).cmp(&strtol(s2)),
            (false, false) => special_form(s1).cmp(&special_form(s2)),
            (true, false) => special_form(n_n).cmp(&special_form(s2)),
            (false, true) => special_form(s1).cmp(&special_form(n_n)),
        };
        if compare != Ordering::Equal {
            break;
        }
        if let Some(d) = d1 {
            p1 = &p1[d + 1..];
        }
        if let Some(d) = d2 {
            p2 = &p2[d + 1..];
        }
    }
    if compare == Ordering::Equal {
        if n1 {
            compare = if p1.first().is_some_and(u8::is_ascii_digit) {
                Ordering::Greater
            } else {
                php_version_compare(p1, n_n)
            };
        } else if n2 {
            compare = if p2.first().is_some_and(u8::is_ascii_digit) {
                Ordering::Less
            } else {
                php_version_compare(n_n, p2)
            };
        }
    }
    compare
}

/// A Packagist version in Composer's normalized form.
#[derive(Debug, Clone)]
pub struct ComposerVersion {
    normalized: Box<str>,
}

impl ComposerVersion {
    /// The normalized form (`1.2.0.0-beta1`, `dev-main`, ...).
    pub fn normalized(&self) -> &str {
        &self.normalized
    }

    /// Whether this is a `dev-` branch.
    pub fn is_branch(&self) -> bool {
        self.normalized.starts_with("dev-")
    }

    /// Composer's answer: `None` for two different branches, which it does not order.
    pub fn try_cmp(&self, other: &Self) -> Option<Ordering> {
        if self.is_branch() && other.is_branch() {
            return (self.normalized == other.normalized).then_some(Ordering::Equal);
        }
        Some(php_version_compare(
            self.normalized.as_bytes(),
            other.normalized.as_bytes(),
        ))
    }
}

impl SchemeVersion for ComposerVersion {
    fn parse(input: &str) -> Result<Self, VersionError> {
        normalize(input)
            .map(|n| ComposerVersion {
                normalized: n.into(),
            })
            .ok_or_else(|| VersionError::new("composer", input, "Invalid version string"))
    }

    /// `version_compare`'s order as bytes, for numbered versions (two
    /// branches are not ordered by Composer: none). Per segment of the
    /// canonical form, its class: a word by its special form (other words
    /// `01`, `dev` `02`, `alpha` `03`, `beta` `04`, `RC` `05`, `pl`/`p`
    /// `08`), a number `07` + value; the end is `06`, since a longer version
    /// is greater when a number or `pl` follows and less when a word below
    /// a number does.
    fn order_key(&self) -> Option<OrderKey> {
        const END: u8 = 6;
        const NUMBER: u8 = 7;
        if self.is_branch() {
            return None;
        }
        let canonical = canonicalize(self.normalized.as_bytes());
        let mut key = KeyWriter::new();
        for segment in canonical.split(|&c| c == b'.') {
            match segment.first() {
                None | Some(b'#') => return None,
                Some(c) if c.is_ascii_digit() => {
                    key.byte(NUMBER);
                    key.u64(strtol(segment).unsigned_abs());
                }
                Some(_) => {
                    let class = match special_form(segment) {
                        -1 => 1,
                        form @ 0..=3 => form + 2,
                        5 => 8,
                        _ => return None,
                    };
                    key.byte(class as u8);
                }
            }
        }
        key.byte(END);
        Some(key.finish())
    }
}

impl Ord for ComposerVersion {
    /// Composer's order; two different branches (which Composer does not order)
    /// fall back to comparing their names so that `Ord` stays total.
    fn cmp(&self, other: &Self) -> Ordering {
        self.try_cmp(other)
            .unwrap_or_else(|| self.normalized.cmp(&other.normalized))
    }
}

order_by_cmp!(ComposerVersion);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_like_composer() {
        let cases = [
            ("1.0", "1.0.0.0"),
            ("v1.2.3", "1.2.3.0"),
            ("1.0.0RC1", "1.0.0.0-RC1"),
            ("1.0.0-beta.2.dev", "1.0.0.0-beta2-dev"),
            ("1.0pl1", "1.0.0.0-patch1"),
            ("1.0-stable", "1.0.0.0"),
            ("dev-Feature", "dev-Feature"),
            ("master", "dev-master"),
            ("1.x-dev", "1.9999999.9999999.9999999-dev"),
            ("2010-01-02", "2010.01.02"),
            ("1.0.0+build", "1.0.0.0"),
            ("1.0 as 2.0", "1.0.0.0"),
            ("1.0@dev", "1.0.0.0"),
        ];
        for (input, want) in cases {
            assert_eq!(normalize(input).as_deref(), Some(want), "{input}");
        }
        for bad in ["", "4.3-2", "1.2.3.4.5", "foo", "1.0-dev-dev"] {
            assert_eq!(normalize(bad), None, "{bad}");
        }
    }

    #[test]
    fn php_version_compare_order() {
        let ordered = [
            "1.0.0.0-dev",
            "1.0.0.0-alpha1",
            "1.0.0.0-beta2",
            "1.0.0.0-RC1",
            "1.0.0.0",
            "1.0.0.0-patch1",
            "1.0.0.1",
        ];
        for w in ordered.windows(2) {
            assert_eq!(
                php_version_compare(w[0].as_bytes(), w[1].as_bytes()),
                Ordering::Less,
                "{} < {}",
                w[0],
                w[1]
            );
        }
        let a = ComposerVersion::parse("dev-a").unwrap();
        let b = ComposerVersion::parse("dev-b").unwrap();
        assert_eq!(a.try_cmp(&b), None);
        assert_eq!(a.try_cmp(&a), Some(Ordering::Equal));
    }

    #[test]
    fn keys_follow_version_compare() {
        let key = |v: &str| ComposerVersion::parse(v).unwrap().order_key();
        let ordered = [
            "1.0.0-dev",
            "1.0.0-alpha1",
            "1.0.0-alpha2",
            "1.0.0-beta2",
            "1.0.0-RC1",
            "1.0.0",
            "1.0.0-patch1",
            "1.0.1",
            "1.10",
            "2.x-dev",
        ];
        for w in ordered.windows(2) {
            let (a, b) = (key(w[0]).unwrap(), key(w[1]).unwrap());
            assert!(a < b, "key {} < key {}", w[0], w[1]);
        }
        assert_eq!(key("1.0.0-a1"), key("1.0.0-alpha1"));
        assert_eq!(key("v1.0"), key("1.0.0.0"));
        assert_eq!(key("dev-main"), None);
    }
}
