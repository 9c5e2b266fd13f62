//! Go module version ordering: `golang.org/x/mod/semver` (what the go command uses).
//!
//! Versions are `vMAJOR[.MINOR[.PATCH]][-PRERELEASE][+BUILD]`; the leading `v` may be
//! left out (it is added before parsing, as OSV Go records often omit it). The
//! `MAJOR` and `MAJOR.MINOR` shorthands are valid only without prerelease and build
//! and mean `.0`. Build metadata (including `+incompatible`) is ignored for ordering.
//! Pseudo-versions (`v0.0.0-20191109021931-daa7c04131f5`) are ordinary prereleases
//! and sort as such. Numbers may be arbitrarily long, as in x/mod.

use std::cmp::Ordering;

use super::key::KeyWriter;
use super::{OrderKey, SchemeVersion, VersionError};

/// A Go module version.
#[derive(Debug, Clone)]
pub struct GoVersion {
    /// major, minor, patch as digit strings without leading zeros (x/mod forbids them).
    nums: [Box<str>; 3],
    /// Dot-separated prerelease identifiers (empty when none).
    pre: Vec<Box<str>>,
    /// Whether the build metadata was `+incompatible`.
    incompatible: bool,
}

impl GoVersion {
    /// Whether the version carries `+incompatible`.
    pub fn is_incompatible(&self) -> bool {
        self.incompatible
    }

    /// Whether this looks like a pseudo-version (`vX.Y.Z-[pre.]0.yyyymmddhhmmss-abcdefabcdef`).
    pub fn is_pseudo(&self) -> bool {
        let Some(last) = self.pre.last() else {
            return false;
        };
        let last: &str = last;
        let mut parts = last.rsplitn(2, '-');
        let (Some(rev), Some(time)) = (parts.next(), parts.next()) else {
            return false;
        };
        let time = time.rsplit('.').next().unwrap_or(time);
        rev.len() == 12
            && rev
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
            && time.len() == 14
            && time.bytes().all(|b| b.is_ascii_digit())
    }
}

fn err(input: &str, reason: &str) -> VersionError {
    VersionError::new("go", input, reason)
}

fn is_ident_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-'
}

/// Parses a number without leading zeros; returns it and the rest.
fn number<'a>(input: &str, s: &'a str) -> Result<(&'a str, &'a str), VersionError> {
    let n = s.bytes().take_while(u8::is_ascii_digit).count();
    if n == 0 {
        return Err(err(input, "expected a number"));
    }
    if n > 1 && s.starts_with('0') {
        return Err(err(input, "number with a leading zero"));
    }
    Ok(s.split_at(n))
}

impl SchemeVersion for GoVersion {
    fn parse(input: &str) -> Result<Self, VersionError> {
        let s = input.strip_prefix('v').unwrap_or(input);
        let (major, mut rest) = number(input, s)?;
        let mut minor = "0";
        let mut patch = "0";
        let mut short = false;
        if let Some(r) = rest.strip_prefix('.') {
            let (m, r) = number(input, r)?;
            minor = m;
            rest = r;
            if let Some(r) = rest.strip_prefix('.') {
                let (p, r) = number(input, r)?;
                patch = p;
                rest = r;
            } else {
                short = true;
            }
        } else {
            short = true;
        }
        let mut pre = Vec::new();
        if let Some(r) = rest.strip_prefix('-') {
            if short {
                return Err(err(input, "prerelease on a shorthand version"));
            }
            let end = r.find('+').unwrap_or(r.len());
            for id in r[..end].split('.') {
                if id.is_empty() || !id.bytes().all(is_ident_char) {
                    return Err(err(input, "invalid prerelease identifier"));
                }
                if id.len() > 1 && id.bytes().all(|b| b.is_ascii_digit()) && id.starts_with('0') {
                    return Err(err(
                        input,
                        "numeric prerelease identifier with a leading zero",
                    ));
                }
                pre.push(id.into());
            }
            rest = &r[end..];
        }
        let mut incompatible = false;
        if let Some(r) = rest.strip_prefix('+') {
            if short {
                return Err(err(input, "build metadata on a shorthand version"));
            }
            for id in r.split('.') {
                if id.is_empty() || !id.bytes().all(is_ident_char) {
                    return Err(err(input, "invalid build identifier"));
                }
            }
            incompatible = r == "incompatible";
            rest = "";
        }
        if !rest.is_empty() {
            return Err(err(input, "unexpected characters"));
        }
        Ok(GoVersion {
            nums: [major.into(), minor.into(), patch.into()],
            pre,
            incompatible,
        })
    }

    /// The three numbers, then `02` for a release or `01` and the
    /// prerelease identifiers (`01` number or `02` text), closed by `00`.
    fn order_key(&self) -> Option<OrderKey> {
        let mut key = KeyWriter::new();
        for n in &self.nums {
            key.digits(n.as_bytes());
        }
        prerelease_key(&mut key, &self.pre);
        Some(key.finish())
    }
}

/// The key of SemVer 2.0 prerelease precedence ([`cmp_prerelease`]): a
/// release (`02`) above any prerelease (`01`); identifiers numeric (`01`,
/// by value) below text (`02`, by bytes); a shorter list (`00`) lower.
pub(crate) fn prerelease_key<S: AsRef<str>>(key: &mut KeyWriter, pre: &[S]) {
    if pre.is_empty() {
        key.byte(2);
        return;
    }
    key.byte(1);
    for id in pre {
        let id = id.as_ref().as_bytes();
        if id.iter().all(u8::is_ascii_digit) {
            key.byte(1);
            key.digits(id);
        } else {
            key.byte(2);
            key.text(id);
        }
    }
    key.byte(0);
}

/// Compares two digit strings without leading zeros by numeric value.
pub(crate) fn cmp_digits(a: &str, b: &str) -> Ordering {
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// SemVer 2.0 prerelease precedence over identifier lists (empty = release, highest).
pub(crate) fn cmp_prerelease<S: AsRef<str>>(a: &[S], b: &[S]) -> Ordering {
    match (a.is_empty(), b.is_empty()) {
        (true, true) => return Ordering::Equal,
        (true, false) => return Ordering::Greater,
        (false, true) => return Ordering::Less,
        _ => {}
    }
    for (x, y) in a.iter().zip(b) {
        let (x, y) = (x.as_ref(), y.as_ref());
        let xn = x.bytes().all(|c| c.is_ascii_digit());
        let yn = y.bytes().all(|c| c.is_ascii_digit());
        let o = match (xn, yn) {
            (true, true) => cmp_digits(x.trim_start_matches('0'), y.trim_start_matches('0')),
            (true, false) => Ordering::Less,
            (false, true) => Ordering::Greater,
            (false, false) => x.cmp(y),
        };
        if o != Ordering::Equal {
            return o;
        }
    }
    a.len().cmp(&b.len())
}

impl Ord for GoVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        self.nums
            .iter()
            .zip(&other.nums)
            .map(|(a, b)| cmp_digits(a, b))
            .find(|o| *o != Ordering::Equal)
            .unwrap_or(Ordering::Equal)
            .then_with(|| cmp_prerelease(&self.pre, &other.pre))
    }
}

order_by_cmp!(GoVersion);

#[cfg(test)]
mod tests {
    use super::*;

    fn cmp(a: &str, b: &str) -> Ordering {
        GoVersion::parse(a)
            .unwrap()
            .cmp(&GoVersion::parse(b).unwrap())
    }

    #[test]
    fn shorthand_incompatible_pseudo() {
        assert_eq!(cmp("v1", "v1.0.0"), Ordering::Equal);
        assert_eq!(cmp("1.2", "v1.2.0"), Ordering::Equal);
        assert_eq!(cmp("v2.0.0+incompatible", "v2.0.0"), Ordering::Equal);
        assert!(GoVersion::parse("v2.0.0+incompatible")
            .unwrap()
            .is_incompatible());
        let pseudo = "v0.0.0-20191109021931-daa7c04131f5";
        assert!(GoVersion::parse(pseudo).unwrap().is_pseudo());
        assert_eq!(cmp(pseudo, "v0.0.1"), Ordering::Less);
        assert_eq!(
            cmp("v1.2.4-0.20191109021931-daa7c04131f5", "v1.2.3"),
            Ordering::Greater
        );
        assert_eq!(cmp("v1.10.0", "v1.9.0"), Ordering::Greater);
        for bad in [
            "v1.2-pre",
            "v01.0.0",
            "v1.0.0-01",
            "",
            "v",
            "1.0.0+",
            "1.0.0-a..b",
            "v1.0.0.0",
        ] {
            assert!(GoVersion::parse(bad).is_err(), "{bad}");
        }
    }
}
