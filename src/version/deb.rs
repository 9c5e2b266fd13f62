//! Debian ordering: dpkg's `parseversion` + `dpkg_version_compare` (libdpkg 1.21).
//!
//! `[epoch:]upstream[-revision]`: the epoch is a decimal number (0 when absent), the
//! revision is what follows the last `-` (empty when absent). Upstream and revision
//! are compared with dpkg's `verrevcmp`: alternating non-digit and digit runs;
//! in non-digit runs `~` sorts before everything (even the end), then the end and
//! digits, then letters (ASCII order), then every other character; digit runs
//! compare numerically.
//!
//! Like `dpkg --compare-versions`, parse *errors* are rejected (empty string,
//! embedded spaces, empty/non-numeric/negative/too big epoch, nothing after the
//! colon, empty upstream, empty revision) while parse *warnings* (upstream not
//! starting with a digit, characters outside dpkg's set) are compared anyway and
//! reported by [`DebVersion::warning`].

use std::cmp::Ordering;
use std::ops::Range;

use super::key::KeyWriter;
use super::{OrderKey, SchemeVersion, VersionError};

/// A Debian version, kept as the original string plus offsets.
#[derive(Debug, Clone)]
pub struct DebVersion {
    raw: Box<str>,
    epoch: u32,
    upstream: Range<usize>,
    revision: Range<usize>,
    warning: Option<&'static str>,
}

impl DebVersion {
    /// The epoch (0 when absent).
    pub fn epoch(&self) -> u32 {
        self.epoch
    }

    /// The upstream version.
    pub fn upstream(&self) -> &str {
        &self.raw[self.upstream.clone()]
    }

    /// The Debian revision (empty when absent).
    pub fn revision(&self) -> &str {
        &self.raw[self.revision.clone()]
    }

    /// dpkg's parse warning for this version, if any (it is still compared).
    pub fn warning(&self) -> Option<&'static str> {
        self.warning
    }
}

/// `c_isblank`: what dpkg trims and treats as an embedded space.
fn blank(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// C `strtol(s, &end, 10)` for the epoch: (value clamped, end offset, overflow).
fn strtol(s: &[u8]) -> (i128, usize, bool) {
    let mut i = 0;
    while i < s.len() && matches!(s[i], b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r') {
        i += 1;
    }
    let mut negative = false;
    if i < s.len() && (s[i] == b'+' || s[i] == b'-') {
        negative = s[i] == b'-';
        i += 1;
    }
    let start = i;
    let mut value: i128 = 0;
    let mut overflow = false;
    while i < s.len() && s[i].is_ascii_digit() {
        value = value * 10 + i128::from(s[i] - b'0');
        if value > i128::from(i64::MAX) + 1 {
            overflow = true;
            value = i128::from(i64::MAX) + 1;
        }
        i += 1;
    }
    if i == start {
        return (0, 0, false);
    }
    if negative {
        value = -value;
    }
    if value > i128::from(i64::MAX) {
        overflow = true;
    }
    (value, i, overflow)
}

impl SchemeVersion for DebVersion {
    fn parse(input: &str) -> Result<Self, VersionError> {
        let bad = |reason: &str| VersionError::new("deb", input, reason);
        let bytes = input.as_bytes();
        let mut start = 0;
        while start < bytes.len() && blank(bytes[start]) {
            start += 1;
        }
        if start == bytes.len() {
            return Err(bad("version string is empty"));
        }
        let mut end = start;
        while end < bytes.len() && !blank(bytes[end]) {
            end += 1;
        }
        if bytes[end..].iter().any(|&b| !blank(b)) {
            return Err(bad("version string has embedded spaces"));
        }
        let mut epoch = 0u32;
        let mut vstart = start;
        if let Some(colon) = bytes[start..end].iter().position(|&b| b == b':') {
            let colon = start + colon;
            let (value, used, overflow) = strtol(&bytes[start..end]);
            if used == 0 {
                return Err(bad("epoch in version is empty"));
            }
            if start + used != colon {
                return Err(bad("epoch in version is not number"));
            }
            if value < 0 {
                return Err(bad("epoch in version is negative"));
            }
            if overflow || value > i128::from(i32::MAX) {
                return Err(bad("epoch in version is too big"));
            }
            if colon + 1 == end {
                return Err(bad("nothing after colon in version number"));
            }
            epoch = u32::try_from(value).map_err(|_| bad("epoch in version is too big"))?;
            vstart = colon + 1;
        }
        let (upstream, revision) = match bytes[vstart..end].iter().rposition(|&b| b == b'-') {
            Some(h) => {
                let h = vstart + h;
                if h + 1 == end {
                    return Err(bad("revision number is empty"));
                }
                (vstart..h, h + 1..end)
            }
            None => (vstart..end, end..end),
        };
        if upstream.is_empty() {
            return Err(bad("version number is empty"));
        }
        let up = &bytes[upstream.clone()];
        let warning = if !up[0].is_ascii_digit() {
            Some("version number does not start with digit")
        } else if up[1..]
            .iter()
            .any(|&b| !b.is_ascii_alphanumeric() && !b".-+~:".contains(&b))
        {
            Some("invalid character in version number")
        } else if bytes[revision.clone()]
            .iter()
            .any(|&b| !b.is_ascii_alphanumeric() && !b".+~".contains(&b))
        {
            Some("invalid character in revision number")
        } else {
            None
        };
        Ok(DebVersion {
            raw: input.into(),
            epoch,
            upstream,
            revision,
            warning,
        })
    }

    /// The epoch (4 bytes), then upstream and revision as [`verrevcmp_key`]s.
    fn order_key(&self) -> Option<OrderKey> {
        let raw = self.raw.as_bytes();
        let mut key = KeyWriter::new();
        for b in self.epoch.to_be_bytes() {
            key.byte(b);
        }
        verrevcmp_key(&mut key, &raw[self.upstream.clone()]);
        verrevcmp_key(&mut key, &raw[self.revision.clone()]);
        Some(key.finish())
    }
}

/// One step of [`verrevcmp`]'s walk: a character of a non-digit run, or the
/// end of a run with the number that follows it (`0` when none).
#[derive(Clone, Copy)]
enum Unit<'a> {
    Char(u8),
    Number(&'a [u8]),
}

impl Unit<'_> {
    /// The end of a run followed by zero: what the end of the string
    /// repeats forever.
    fn is_zero_end(&self) -> bool {
        matches!(self, Unit::Number(d) if d.iter().all(|&c| c == b'0'))
    }
}

/// Writes the key of [`verrevcmp`]: its walk is one sequence of units,
/// characters weighted like dpkg's `order()` (`~` lowest, then a run's end,
/// then letters, bytes above 0x7f, other characters), each run's end
/// followed by its number. The string's end stands for endless "run end,
/// 0" units, so trailing ones are dropped and the key closed by `03`, which
/// must sort against a longer key's "run end, 0" by what comes after that:
/// such units are written `02` when the next other unit is a `~` (lower
/// than the end) and `04` otherwise. A run end with a number above 0 is
/// `05` and the number; characters `01` (`~`), `06`/`07`/`08` + byte.
fn verrevcmp_key(key: &mut KeyWriter, s: &[u8]) {
    let mut units = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        while i < s.len() && !s[i].is_ascii_digit() {
            units.push(Unit::Char(s[i]));
            i += 1;
        }
        let start = i;
        while i < s.len() && s[i].is_ascii_digit() {
            i += 1;
        }
        units.push(Unit::Number(&s[start..i]));
    }
    while units.last().is_some_and(Unit::is_zero_end) {
        units.pop();
    }
    // For each unit: whether the next unit that is not a zero end is a `~`.
    let mut tilde_next = vec![false; units.len()];
    let mut next_is_tilde = false;
    for (k, unit) in units.iter().enumerate().rev() {
        tilde_next[k] = next_is_tilde;
        if !unit.is_zero_end() {
            next_is_tilde = matches!(unit, Unit::Char(b'~'));
        }
    }
    for (unit, tilde_next) in units.iter().zip(tilde_next) {
        match *unit {
            Unit::Char(b'~') => key.byte(1),
            Unit::Char(b) => {
                key.byte(if b.is_ascii_alphabetic() {
                    6
                } else if b >= 0x80 {
                    7
                } else {
                    8
                });
                key.byte(b);
            }
            Unit::Number(_) if unit.is_zero_end() => key.byte(if tilde_next { 2 } else { 4 }),
            Unit::Number(digits) => {
                key.byte(5);
                key.digits(digits);
            }
        }
    }
    key.byte(3);
}

/// dpkg's `order()`: the weight of one character in a non-digit run (0 = end).
fn order(c: Option<u8>) -> i32 {
    match c {
        None => 0,
        Some(b) if b.is_ascii_digit() => 0,
        Some(b) if b.is_ascii_alphabetic() => i32::from(b),
        Some(b'~') => -1,
        // A signed `char` above 0x7f is negative: c + 256 is the byte value.
        Some(b) if b >= 0x80 => i32::from(b),
        Some(b) => i32::from(b) + 256,
    }
}

/// dpkg's `verrevcmp` on upstream versions or revisions.
pub fn verrevcmp(a: &[u8], b: &[u8]) -> Ordering {
    let (mut i, mut j) = (0usize, 0usize);
    let digit = |s: &[u8], k: usize| s.get(k).is_some_and(|c| c.is_ascii_digit());
    while i < a.len() || j < b.len() {
        while (i < a.len() && !digit(a, i)) || (j < b.len() && !digit(b, j)) {
            let ac = order(a.get(i).copied());
            let bc = order(b.get(j).copied());
            if ac != bc {
                return ac.cmp(&bc);
            }
            i += 1;
            j += 1;
        }
        while a.get(i) == Some(&b'0') {
            i += 1;
        }
        while b.get(j) == Some(&b'0') {
            j += 1;
        }
        let mut first_diff = Ordering::Equal;
        while digit(a, i) && digit(b, j) {
            if first_diff == Ordering::Equal {
                first_diff = a[i].cmp(&b[j]);
            }
            i += 1;
            j += 1;
        }
        if digit(a, i) {
            return Ordering::Greater;
        }
        if digit(b, j) {
            return Ordering::Less;
        }
        if first_diff != Ordering::Equal {
            return first_diff;
        }
    }
    Ordering::Equal
}

impl Ord for DebVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        let (a, b) = (self.raw.as_bytes(), other.raw.as_bytes());
        self.epoch
            .cmp(&other.epoch)
            .then_with(|| verrevcmp(&a[self.upstream.clone()], &b[other.upstream.clone()]))
            .then_with(|| verrevcmp(&a[self.revision.clone()], &b[other.revision.clone()]))
    }
}

order_by_cmp!(DebVersion);

#[cfg(test)]
mod tests {
    use super::*;

    fn cmp(a: &str, b: &str) -> Ordering {
        DebVersion::parse(a)
            .unwrap()
            .cmp(&DebVersion::parse(b).unwrap())
    }

    #[test]
    fn dpkg_order() {
        assert_eq!(cmp("1.0~rc1", "1.0"), Ordering::Less);
        assert_eq!(cmp("1.0~~", "1.0~"), Ordering::Less);
        assert_eq!(cmp("1.0a", "1.0+"), Ordering::Less);
        assert_eq!(cmp("1:0.9", "2.0"), Ordering::Greater);
        assert_eq!(cmp("1.0-1", "1.0-0"), Ordering::Greater);
        assert_eq!(cmp("1.0", "1.0-0"), Ordering::Equal);
        assert_eq!(cmp("0:1.0", "1.0"), Ordering::Equal);
        assert_eq!(cmp("1.10", "1.9"), Ordering::Greater);
        assert_eq!(cmp(" 1.0 ", "1.0"), Ordering::Equal);
        let v = DebVersion::parse("2:1.2-3-4ubuntu1").unwrap();
        assert_eq!(
            (v.epoch(), v.upstream(), v.revision()),
            (2, "1.2-3", "4ubuntu1")
        );
        assert!(DebVersion::parse("a1").unwrap().warning().is_some());
        for bad in [
            "",
            " ",
            "1 0",
            ":1",
            "a:1",
            "-1:1",
            "1:",
            "1.0-",
            "1:-1",
            "99999999999:1",
        ] {
            assert!(DebVersion::parse(bad).is_err(), "{bad}");
        }
    }
}
