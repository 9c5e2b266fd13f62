//! NuGet ordering: `NuGetVersion.TryParse` + `VersionComparer.Default` (NuGet.Versioning 5.x).
//!
//! `major.minor[.patch[.revision]][-label(.label)*][+metadata]`, surrounding
//! whitespace trimmed; a lone `major` means `major.0`. Each number is a .NET
//! `int` component (optional sign and surrounding blanks, 0 to 2^31-1). Labels and
//! metadata are `[0-9A-Za-z-]+`, labels without leading zeros when all digits.
//! Ordering: major, minor, patch, revision; a release above its pre-releases;
//! labels pairwise: numeric (a .NET `int`) below alphanumeric, numbers by value,
//! others case-insensitively; more labels win. Metadata is ignored.

use std::cmp::Ordering;

use super::key::KeyWriter;
use super::{OrderKey, SchemeVersion, VersionError};

/// A NuGet version.
#[derive(Debug, Clone)]
pub struct NugetVersion {
    nums: [i32; 4],
    labels: Vec<Box<str>>,
}

impl NugetVersion {
    /// Whether the version has release labels.
    pub fn is_prerelease(&self) -> bool {
        self.labels.first().is_some_and(|l| !l.is_empty())
    }
}

/// .NET `char.IsWhiteSpace`-like trim for `string.Trim()`.
fn dotnet_space(c: char) -> bool {
    c.is_whitespace() || c == '\u{85}' || c == '\u{a0}'
}

/// .NET `int.TryParse(s, NumberStyles.Integer, InvariantCulture)`.
fn dotnet_int(s: &str) -> Option<i32> {
    let white = |c: char| c == ' ' || ('\u{9}'..='\u{d}').contains(&c);
    let t = s.trim_matches(white);
    let (neg, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut v: i64 = 0;
    for b in digits.bytes() {
        v = v * 10 + i64::from(b - b'0');
        if v > i64::from(i32::MAX) + 1 {
            return None;
        }
    }
    let v = if neg { -v } else { v };
    i32::try_from(v).ok()
}

/// `System.Version.TryParse`: 2 to 4 non-negative int components.
fn system_version(s: &str) -> Option<[i32; 4]> {
    let parts: Vec<&str> = s.split('.').collect();
    if !(2..=4).contains(&parts.len()) {
        return None;
    }
    let mut nums = [0i32; 4];
    for (i, p) in parts.iter().enumerate() {
        let v = dotnet_int(p)?;
        if v < 0 {
            return None;
        }
        nums[i] = v;
    }
    Some(nums)
}

fn label_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-'
}

/// NuGet's `IsValidPart`.
fn valid_part(s: &str, allow_leading_zeros: bool) -> bool {
    let b = s.as_bytes();
    if b.is_empty() {
        return false;
    }
    if !allow_leading_zeros && b.len() > 1 && b[0] == b'0' && b[1..].iter().all(u8::is_ascii_digit)
    {
        return false;
    }
    b.iter().all(|&c| label_char(c))
}

/// NuGet's `ParseSections`: (version, labels, metadata) as substrings.
fn sections(value: &str) -> (Option<&str>, Option<&str>, Option<&str>) {
    let b = value.as_bytes();
    let (mut version, mut labels, mut metadata) = (None, None, None);
    let mut dash: Option<usize> = None;
    let mut plus: Option<usize> = None;
    for i in 0..b.len() {
        let end = i == b.len() - 1;
        let stop = i + usize::from(end);
        match (dash, plus) {
            (None, _) => {
                if end || b[i] == b'-' || b[i] == b'+' {
                    version = value.get(..stop);
                    dash = Some(i);
                    if b[i] == b'+' {
                        plus = Some(i);
                    }
                }
            }
            (Some(d), None) => {
                if end || b[i] == b'+' {
                    labels = value.get(d + 1..stop);
                    plus = Some(i);
                }
            }
            (Some(_), Some(p)) => {
                if end {
                    metadata = value.get(p + 1..stop);
                }
            }
        }
    }
    (version, labels, metadata)
}

impl SchemeVersion for NugetVersion {
    fn parse(input: &str) -> Result<Self, VersionError> {
        let bad = || VersionError::new("nuget", input, "not a NuGet version");
        let value = input.trim_matches(dotnet_space);
        let (version, labels, metadata) = sections(value);
        let version = version.filter(|v| !v.is_empty()).ok_or_else(bad)?;
        let nums = if version.contains('.') {
            system_version(version)
        } else {
            system_version(&format!("{version}.0"))
        }
        .ok_or_else(bad)?;
        let labels: Vec<Box<str>> = match labels {
            Some(l) => {
                let parts: Vec<&str> = l.split('.').collect();
                if !parts.iter().all(|p| valid_part(p, false)) {
                    return Err(bad());
                }
                parts.into_iter().map(Into::into).collect()
            }
            None => Vec::new(),
        };
        if let Some(m) = metadata {
            if !m.split('.').all(|p| valid_part(p, true)) {
                return Err(bad());
            }
        }
        Ok(NugetVersion { nums, labels })
    }

    /// The four numbers (sign bit flipped, big-endian), then `02` for a
    /// release or `01` and the labels: a .NET `int` `01` + value, any other
    /// `02` + its upper-cased text; `00` closing (more labels win).
    fn order_key(&self) -> Option<OrderKey> {
        let mut key = KeyWriter::new();
        let int = |key: &mut KeyWriter, n: i32| {
            for b in ((n as u32) ^ (1 << 31)).to_be_bytes() {
                key.byte(b);
            }
        };
        for n in self.nums {
            int(&mut key, n);
        }
        if !self.is_prerelease() {
            key.byte(2);
            return Some(key.finish());
        }
        key.byte(1);
        for label in &self.labels {
            match dotnet_int(label) {
                Some(n) => {
                    key.byte(1);
                    int(&mut key, n);
                }
                None => {
                    key.byte(2);
                    key.text(label.to_ascii_uppercase().as_bytes());
                }
            }
        }
        key.byte(0);
        Some(key.finish())
    }
}

/// NuGet's `CompareRelease` for one label pair.
fn compare_label(a: &str, b: &str) -> Ordering {
    match (dotnet_int(a), dotnet_int(b)) {
        (Some(x), Some(y)) => x.cmp(&y),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => a
            .bytes()
            .map(|c| c.to_ascii_uppercase())
            .cmp(b.bytes().map(|c| c.to_ascii_uppercase())),
    }
}

impl Ord for NugetVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        self.nums.cmp(&other.nums).then_with(|| {
            match (self.is_prerelease(), other.is_prerelease()) {
                (true, false) => Ordering::Less,
                (false, true) => Ordering::Greater,
                (false, false) => Ordering::Equal,
                (true, true) => {
                    for (a, b) in self.labels.iter().zip(&other.labels) {
                        let o = compare_label(a, b);
                        if o != Ordering::Equal {
                            return o;
                        }
                    }
                    self.labels.len().cmp(&other.labels.len())
                }
            }
        })
    }
}

order_by_cmp!(NugetVersion);

#[cfg(test)]
mod tests {
    use super::*;

    fn cmp(a: &str, b: &str) -> Ordering {
        NugetVersion::parse(a)
            .unwrap()
            .cmp(&NugetVersion::parse(b).unwrap())
    }

    #[test]
    fn nuget_order() {
        let ordered = [
            "1.0.0-alpha",
            "1.0.0-alpha.1",
            "1.0.0-Beta",
            "1.0.0-beta.2",
            "1.0.0-rc.1",
            "1.0.0",
            "1.0.0.1",
            "1.0.1",
            "1.10",
        ];
        for w in ordered.windows(2) {
            assert_eq!(cmp(w[0], w[1]), Ordering::Less, "{} < {}", w[0], w[1]);
        }
        assert_eq!(cmp("1", "1.0.0.0"), Ordering::Equal);
        assert_eq!(cmp("1.0.0-BETA", "1.0.0-beta"), Ordering::Equal);
        assert_eq!(cmp("1.0.0+a", "1.0.0+b"), Ordering::Equal);
        for bad in [
            "",
            "a",
            "1.0-",
            "1.0+",
            "1.0-01",
            "1.2.3.4.5",
            "2147483648.0",
        ] {
            assert!(NugetVersion::parse(bad).is_err(), "{bad}");
        }
    }
}
