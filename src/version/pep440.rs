//! PyPI version ordering: PEP 440 as implemented by `packaging` (what pip uses),
//! with the documented legacy fallback for strings that are not PEP 440.
//!
//! [`Pep440Version`] is strict PEP 440, exactly `packaging.version.Version` of
//! packaging 26: optional `v`, epoch `N!`, release `N(.N)*`, pre-release
//! (`a`/`alpha`, `b`/`beta`, `rc`/`c`/`pre`/`preview`), post-release (`-N`,
//! `post`/`rev`/`r`), dev-release, local version `+seg(.seg)*`, any case, `.`,
//! `-` or `_` as optional separators, surrounding whitespace. Numbers have no
//! size limit. Ordering is packaging's `_cmpkey`: trailing zeros of the release
//! ignored, dev-only releases before pre-releases, post after the release, local
//! segments compared piecewise (strings below numbers), no local below any local.
//!
//! [`PypiVersion`] is what [`super::VersionScheme::Pep440`] uses: a PEP 440
//! version when the string is one, otherwise packaging 21's `LegacyVersion`
//! (the setuptools-style fallback pip used before version 22 and that older OSV
//! tooling still applies): the lower-cased string is split into digit runs,
//! letter runs, `.` and `-`; numbers are zero-padded to 8 characters, words get
//! a `*` prefix (`pre`, `preview`, `rc` become `c`, `dev` becomes `@`, `-`
//! becomes `final-`), trailing zeros and `final-` markers before pre-release
//! words are dropped, and a `*final` is appended. Every legacy version sorts
//! below every PEP 440 version (legacy epoch is -1). The legacy scheme accepts
//! every string (even the empty one, which sorts lowest), so [`PypiVersion::parse`]
//! never fails; use [`Pep440Version`] to reject what is not PEP 440.
//!
//! packaging 21's regex was Unicode case-insensitive, so it let the letters `İ ı ſ K`
//! (which case-fold to ASCII) into local segments; [`PypiVersion`] accepts them
//! there as packaging 21 did, [`Pep440Version`] rejects them as packaging 26 does.
//! The legacy split takes every Unicode decimal digit as a digit, as Python's `\d`
//! does. Known remaining difference with packaging 21 on exotic input: those
//! letters inside the `post`/`preview` keywords.

use std::cmp::Ordering;

use super::key::KeyWriter;
use super::{OrderKey, SchemeVersion, VersionError};

/// An arbitrary-size non-negative integer held as its decimal digits (no leading zeros).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Num(Box<str>);

impl Num {
    fn new(digits: &str) -> Num {
        Num(digits.trim_start_matches('0').into())
    }
    fn zero() -> Num {
        Num("".into())
    }
    fn is_zero(&self) -> bool {
        self.0.is_empty()
    }
}

impl Ord for Num {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0
            .len()
            .cmp(&other.0.len())
            .then_with(|| self.0.cmp(&other.0))
    }
}

impl PartialOrd for Num {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// One local-version segment: strings sort below numbers.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum LocalSeg {
    Str(Box<str>),
    Num(Num),
}

/// A strict PEP 440 version, ordered like `packaging.version.Version`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pep440Version {
    epoch: Num,
    /// Release with trailing zeros removed.
    release: Vec<Num>,
    /// (pre_rank, pre_n, post_rank, post_n, dev_rank, dev_n), as packaging's suffix.
    suffix: (i8, Num, u8, Num, u8, Num),
    local: Option<Vec<LocalSeg>>,
}

impl Pep440Version {
    /// Whether the version has a pre-release or dev-release segment.
    pub fn is_prerelease(&self) -> bool {
        self.suffix.0 < 3 || self.suffix.4 == 0
    }
}

impl Ord for Pep440Version {
    fn cmp(&self, other: &Self) -> Ordering {
        self.epoch
            .cmp(&other.epoch)
            .then_with(|| self.release.cmp(&other.release))
            .then_with(|| self.suffix.cmp(&other.suffix))
            .then_with(|| self.local.cmp(&other.local))
    }
}

impl Pep440Version {
    /// The key of packaging's `_cmpkey`, field by field: epoch; release
    /// numbers (`01` + value each, `00` closing: a shorter release is lower);
    /// the suffix ranks (one byte each, pre-release rank shifted by 2) and
    /// numbers; then `00` without a local version or `01` and its segments
    /// (`01` + text below `02` + number, `00` closing). Local versions need
    /// no parsed form: their order is a plain lexicographic one.
    fn order_key(&self) -> OrderKey {
        let mut key = KeyWriter::new();
        key.digits(self.epoch.0.as_bytes());
        for n in &self.release {
            key.byte(1);
            key.digits(n.0.as_bytes());
        }
        key.byte(0);
        let (pre_rank, pre_n, post_rank, post_n, dev_rank, dev_n) = &self.suffix;
        key.byte((pre_rank + 2) as u8);
        key.digits(pre_n.0.as_bytes());
        key.byte(*post_rank);
        key.digits(post_n.0.as_bytes());
        key.byte(*dev_rank);
        key.digits(dev_n.0.as_bytes());
        match &self.local {
            None => key.byte(0),
            Some(segments) => {
                key.byte(1);
                for segment in segments {
                    match segment {
                        LocalSeg::Str(text) => {
                            key.byte(1);
                            key.text(text.as_bytes());
                        }
                        LocalSeg::Num(n) => {
                            key.byte(2);
                            key.digits(n.0.as_bytes());
                        }
                    }
                }
                key.byte(0);
            }
        }
        key.finish()
    }
}

impl PartialOrd for Pep440Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Unicode decimal digits (category Nd, Unicode 14 as in Python 3.11): what `\d`
/// matches in a Python `str` pattern.
fn py_decimal(c: char) -> bool {
    const ND: [(u32, u32); 62] = [
        (0x30, 0x39),
        (0x660, 0x669),
        (0x6F0, 0x6F9),
        (0x7C0, 0x7C9),
        (0x966, 0x96F),
        (0x9E6, 0x9EF),
        (0xA66, 0xA6F),
        (0xAE6, 0xAEF),
        (0xB66, 0xB6F),
        (0xBE6, 0xBEF),
        (0xC66, 0xC6F),
        (0xCE6, 0xCEF),
        (0xD66, 0xD6F),
        (0xDE6, 0xDEF),
        (0xE50, 0xE59),
        (0xED0, 0xED9),
        (0xF20, 0xF29),
        (0x1040, 0x1049),
        (0x1090, 0x1099),
        (0x17E0, 0x17E9),
        (0x1810, 0x1819),
        (0x1946, 0x194F),
        (0x19D0, 0x19D9),
        (0x1A80, 0x1A89),
        (0x1A90, 0x1A99),
        (0x1B50, 0x1B59),
        (0x1BB0, 0x1BB9),
        (0x1C40, 0x1C49),
        (0x1C50, 0x1C59),
        (0xA620, 0xA629),
        (0xA8D0, 0xA8D9),
        (0xA900, 0xA909),
        (0xA9D0, 0xA9D9),
        (0xA9F0, 0xA9F9),
        (0xAA50, 0xAA59),
        (0xABF0, 0xABF9),
        (0xFF10, 0xFF19),
        (0x104A0, 0x104A9),
        (0x10D30, 0x10D39),
        (0x11066, 0x1106F),
        (0x110F0, 0x110F9),
        (0x11136, 0x1113F),
        (0x111D0, 0x111D9),
        (0x112F0, 0x112F9),
        (0x11450, 0x11459),
        (0x114D0, 0x114D9),
        (0x11650, 0x11659),
        (0x116C0, 0x116C9),
        (0x11730, 0x11739),
        (0x118E0, 0x118E9),
        (0x11950, 0x11959),
        (0x11C50, 0x11C59),
        (0x11D50, 0x11D59),
        (0x11DA0, 0x11DA9),
        (0x16A60, 0x16A69),
        (0x16AC0, 0x16AC9),
        (0x16B50, 0x16B59),
        (0x1D7CE, 0x1D7FF),
        (0x1E140, 0x1E149),
        (0x1E2F0, 0x1E2F9),
        (0x1E950, 0x1E959),
        (0x1FBF0, 0x1FBF9),
    ];
    let cp = u32::from(c);
    cp < 0x80 && c.is_ascii_digit()
        || cp >= 0x80 && ND.iter().any(|&(lo, hi)| (lo..=hi).contains(&cp))
}

/// Python's `str.isspace` (what `\s` matches in a `str` pattern).
fn py_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// A cursor over the ASCII bytes of a candidate version.
struct Cursor<'a> {
    s: &'a [u8],
    i: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }
    fn digits(&mut self) -> Option<&'a str> {
        let start = self.i;
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.i += 1;
        }
        let s: &'a [u8] = self.s;
        (self.i > start).then(|| std::str::from_utf8(&s[start..self.i]).unwrap_or(""))
    }
    fn sep(&mut self) {
        if matches!(self.peek(), Some(b'.' | b'_' | b'-')) {
            self.i += 1;
        }
    }
    /// Consumes the first of `words` (case-insensitive) found here.
    fn word(&mut self, words: &[&'static str]) -> Option<&'static str> {
        let rest = &self.s[self.i..];
        let w = words.iter().find(|w| {
            rest.len() >= w.len() && rest[..w.len()].eq_ignore_ascii_case(w.as_bytes())
        })?;
        self.i += w.len();
        Some(w)
    }
}

impl SchemeVersion for Pep440Version {
    fn parse(input: &str) -> Result<Self, VersionError> {
        Pep440Version::parse_with(input, false)
    }
}

/// Non-ASCII letters that packaging 21's Unicode case-insensitive regex let into
/// a local segment (they case-fold to ASCII letters): İ ı ſ K.
const FOLDING_LETTERS: [&str; 4] = ["\u{130}", "\u{131}", "\u{17f}", "\u{212a}"];

impl Pep440Version {
    /// Parses; with `packaging21_local`, local segments also accept the few
    /// non-ASCII letters packaging 21 accepted there (see [`PypiVersion`]).
    fn parse_with(input: &str, packaging21_local: bool) -> Result<Self, VersionError> {
        let bad = |reason: &str| VersionError::new("pep440", input, reason);
        let trimmed = input.trim_matches(py_space);
        let mut c = Cursor {
            s: trimmed.as_bytes(),
            i: 0,
        };
        if matches!(c.peek(), Some(b'v' | b'V')) {
            c.i += 1;
        }
        let mut epoch = Num::zero();
        let save = c.i;
        if let Some(d) = c.digits() {
            if c.peek() == Some(b'!') {
                epoch = Num::new(d);
                c.i += 1;
            } else {
                c.i = save;
            }
        }
        let mut release = vec![Num::new(
            c.digits().ok_or_else(|| bad("no release number"))?,
        )];
        while c.peek() == Some(b'.') && c.s.get(c.i + 1).is_some_and(|b| b.is_ascii_digit()) {
            c.i += 1;
            release.push(Num::new(c.digits().unwrap_or("")));
        }
        while release.last().is_some_and(Num::is_zero) {
            release.pop();
        }
        // pre-release
        let mut pre: Option<(i8, Num)> = None;
        let save = c.i;
        c.sep();
        match c.word(&["alpha", "a", "beta", "b", "preview", "pre", "c", "rc"]) {
            Some(w) => {
                c.sep();
                let n = c.digits().map(Num::new).unwrap_or_else(Num::zero);
                let rank = match w {
                    "alpha" | "a" => 0,
                    "beta" | "b" => 1,
                    _ => 2,
                };
                pre = Some((rank, n));
            }
            None => c.i = save,
        }
        // post-release
        let mut post: Option<Num> = None;
        let save = c.i;
        if c.peek() == Some(b'-') {
            c.i += 1;
            match c.digits() {
                Some(d) => post = Some(Num::new(d)),
                None => c.i = save,
            }
        }
        if post.is_none() {
            c.sep();
            if c.word(&["post", "rev", "r"]).is_some() {
                c.sep();
                post = Some(c.digits().map(Num::new).unwrap_or_else(Num::zero));
            } else {
                c.i = save;
            }
        }
        // dev-release
        let mut dev: Option<Num> = None;
        let save = c.i;
        c.sep();
        if c.word(&["dev"]).is_some() {
            c.sep();
            dev = Some(c.digits().map(Num::new).unwrap_or_else(Num::zero));
        } else {
            c.i = save;
        }
        // local version
        let mut local = None;
        if c.peek() == Some(b'+') {
            c.i += 1;
            let mut segs = Vec::new();
            loop {
                let start = c.i;
                let local_char = |c: &Cursor<'_>, at: usize| -> usize {
                    match c.s.get(at) {
                        Some(b) if b.is_ascii_alphanumeric() => 1,
                        Some(_) if packaging21_local => FOLDING_LETTERS
                            .iter()
                            .find(|l| c.s[at..].starts_with(l.as_bytes()))
                            .map_or(0, |l| l.len()),
                        _ => 0,
                    }
                };
                loop {
                    let n = local_char(&c, c.i);
                    if n == 0 {
                        break;
                    }
                    c.i += n;
                }
                if c.i == start {
                    return Err(bad("empty local version segment"));
                }
                let seg = std::str::from_utf8(&c.s[start..c.i]).unwrap_or("");
                segs.push(if seg.bytes().all(|b| b.is_ascii_digit()) {
                    LocalSeg::Num(Num::new(seg))
                } else {
                    LocalSeg::Str(seg.to_lowercase().into())
                });
                if matches!(c.peek(), Some(b'.' | b'_' | b'-')) && local_char(&c, c.i + 1) > 0 {
                    c.i += 1;
                } else {
                    break;
                }
            }
            local = Some(segs);
        }
        if c.i != c.s.len() {
            return Err(bad("not a PEP 440 version"));
        }
        let (pre_rank, pre_n) = match (&pre, &post, &dev) {
            (None, None, Some(_)) => (-1, Num::zero()),
            (None, _, _) => (3, Num::zero()),
            (Some((r, n)), _, _) => (*r, n.clone()),
        };
        let (post_rank, post_n) = match post {
            Some(n) => (1, n),
            None => (0, Num::zero()),
        };
        let (dev_rank, dev_n) = match dev {
            Some(n) => (0, n),
            None => (1, Num::zero()),
        };
        Ok(Pep440Version {
            epoch,
            release,
            suffix: (pre_rank, pre_n, post_rank, post_n, dev_rank, dev_n),
            local,
        })
    }
}

/// packaging 21's `LegacyVersion` key: the parts after `_legacy_cmpkey`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct LegacyVersion {
    parts: Vec<String>,
}

impl LegacyVersion {
    /// Builds the legacy key of any string (never fails).
    pub fn new(input: &str) -> LegacyVersion {
        let lower = input.to_lowercase();
        let mut parts: Vec<String> = Vec::new();
        let mut push = |part: String| {
            if part.starts_with('*') {
                if part.as_str() < "*final" {
                    while parts.last().is_some_and(|p| p == "*final-") {
                        parts.pop();
                    }
                }
                while parts.last().is_some_and(|p| p == "00000000") {
                    parts.pop();
                }
            }
            parts.push(part);
        };
        let mut emit = |raw: &str| {
            let mapped = match raw {
                "pre" | "preview" | "rc" => "c",
                "-" => "final-",
                "dev" => "@",
                other => other,
            };
            if mapped.is_empty() || mapped == "." {
                return;
            }
            if mapped.starts_with(|c: char| c.is_ascii_digit()) {
                let width = mapped.chars().count();
                let pad = "0".repeat(8usize.saturating_sub(width));
                push(format!("{pad}{mapped}"));
            } else {
                push(format!("*{mapped}"));
            }
        };
        // re.split(r"(\d+|[a-z]+|\.|-)"): text between tokens is kept as a part too.
        let mut chars = lower.char_indices().peekable();
        let mut text_start = 0;
        while let Some((i, c)) = chars.next() {
            let class: Option<fn(char) -> bool> = if py_decimal(c) {
                Some(py_decimal)
            } else if c.is_ascii_lowercase() {
                Some(|c: char| c.is_ascii_lowercase())
            } else {
                None
            };
            let end = match class {
                Some(same) => {
                    while chars.peek().is_some_and(|&(_, n)| same(n)) {
                        chars.next();
                    }
                    chars.peek().map_or(lower.len(), |&(j, _)| j)
                }
                None if c == '.' || c == '-' => i + 1,
                None => continue,
            };
            emit(&lower[text_start..i]);
            emit(&lower[i..end]);
            text_start = end;
        }
        emit(&lower[text_start..]);
        push("*final".to_string());
        LegacyVersion { parts }
    }
}

/// A PyPI version: PEP 440 when possible, else the legacy fallback (always lower).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum PypiVersion {
    /// Not PEP 440: ordered with packaging 21's `LegacyVersion`.
    Legacy(LegacyVersion),
    /// A PEP 440 version.
    Pep440(Pep440Version),
}

impl SchemeVersion for PypiVersion {
    fn parse(input: &str) -> Result<Self, VersionError> {
        match Pep440Version::parse_with(input, true) {
            Ok(v) => Ok(PypiVersion::Pep440(v)),
            Err(_) => Ok(PypiVersion::Legacy(LegacyVersion::new(input))),
        }
    }

    fn fallback_reason(&self) -> Option<&'static str> {
        match self {
            PypiVersion::Legacy(_) => {
                Some("not a PEP 440 version (only the legacy fallback orders it)")
            }
            PypiVersion::Pep440(_) => None,
        }
    }

    /// A PEP 440 version's key ([`Pep440Version`]); legacy versions are
    /// never ordered in ranges, so they have none.
    fn order_key(&self) -> Option<OrderKey> {
        match self {
            PypiVersion::Legacy(_) => None,
            PypiVersion::Pep440(v) => Some(v.order_key()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmp(a: &str, b: &str) -> Ordering {
        Pep440Version::parse(a)
            .unwrap()
            .cmp(&Pep440Version::parse(b).unwrap())
    }

    #[test]
    fn pep440_order() {
        let ordered = [
            "1.0.dev456",
            "1.0a1",
            "1.0a2.dev456",
            "1.0a12.dev456",
            "1.0a12",
            "1.0b1.dev456",
            "1.0b2",
            "1.0b2.post345.dev456",
            "1.0b2.post345",
            "1.0rc1.dev456",
            "1.0rc1",
            "1.0",
            "1.0+abc.5",
            "1.0+abc.7",
            "1.0+5",
            "1.0.post456.dev34",
            "1.0.post456",
            "1.1.dev1",
            "1!0.1",
        ];
        for w in ordered.windows(2) {
            assert_eq!(cmp(w[0], w[1]), Ordering::Less, "{} < {}", w[0], w[1]);
        }
        assert_eq!(cmp("1.0", "1.0.0.0"), Ordering::Equal);
        assert_eq!(cmp(" V1.0-Preview_2 ", "1.0rc2"), Ordering::Equal);
        assert_eq!(cmp("1.0-1", "1.0.post1"), Ordering::Equal);
        assert_eq!(cmp("1.0+ubuntu-1", "1.0+ubuntu.1"), Ordering::Equal);
        for bad in ["french toast", "1.0+", "1.0+a+", "1..0", "", "1.0.", "v"] {
            assert!(Pep440Version::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn legacy_fallback_sorts_below_pep440() {
        let p = |s: &str| PypiVersion::parse(s).unwrap();
        assert!(matches!(p("0.1-bulbasaur"), PypiVersion::Legacy(_)));
        assert!(p("0.1-bulbasaur") < p("0.1-charmander"));
        assert!(p("999-foo") < p("0.0.1"));
        assert_eq!(
            LegacyVersion::new("1.0-rc1").parts,
            vec!["00000001", "*c", "00000001", "*final"]
        );
    }
}
