//! Distribution release names: the one table of Debian codenames and the
//! one spelling of each release in an ecosystem name.
//!
//! Upstreams spell one release several ways: the Debian security tracker
//! writes squeeze as `6`, DSA mails as `6.0`; Ubuntu notices drop the `LTS`
//! suffix in places; Alpine's secdb says `v3.4` where an image's
//! `/etc/alpine-release` says `3.4.6`. [`canonical_release`] maps each to the
//! spelling OSV.dev's own records use, and [`crate::model::Ecosystem`] applies
//! it to every ecosystem name it builds, so records from every source and the
//! ecosystem of a query meet under one name:
//!
//! | ecosystem | OSV.dev spelling | also accepted |
//! |---|---|---|
//! | Debian | `Debian:3.0` … `Debian:6.0`, then `Debian:7`, `Debian:8`, … | `Debian:6`, `Debian:7.0`, `Debian:6.0.10`, `Debian:squeeze` |
//! | Ubuntu | `Ubuntu:22.04:LTS`, `Ubuntu:Pro:18.04:LTS`, `Ubuntu:24.10` | `Ubuntu:22.04`, `Ubuntu:22.04:lts` |
//! | Alpine | `Alpine:v3.4` | `Alpine:3.4`, `Alpine:3.4.6`, `Alpine:v3.4.6` |

use std::borrow::Cow;

/// Debian codenames and their releases as OSV.dev's Debian records spell
/// them (`.0` up to 6.0, the bare major number from 7 on), oldest first.
/// The security tracker, DSA/DLA mails, OVAL and purl qualifiers all read
/// codenames here.
pub const DEBIAN_RELEASES: &[(&str, &str)] = &[
    ("buzz", "1.1"),
    ("rex", "1.2"),
    ("bo", "1.3"),
    ("hamm", "2.0"),
    ("slink", "2.1"),
    ("potato", "2.2"),
    ("woody", "3.0"),
    ("sarge", "3.1"),
    ("etch", "4.0"),
    ("lenny", "5.0"),
    ("squeeze", "6.0"),
    ("wheezy", "7"),
    ("jessie", "8"),
    ("stretch", "9"),
    ("buster", "10"),
    ("bullseye", "11"),
    ("bookworm", "12"),
    ("trixie", "13"),
    ("forky", "14"),
    ("duke", "15"),
];

/// The release of a Debian codename (`squeeze` -> `6.0`, `Bookworm` -> `12`;
/// case-insensitive, a `-security` suffix ignored); `None` for an unknown
/// name and for the rolling suites (`sid`, `experimental`).
pub fn debian_codename(codename: &str) -> Option<&'static str> {
    let name = codename.trim();
    let name = name.strip_suffix("-security").unwrap_or(name);
    DEBIAN_RELEASES
        .iter()
        .find(|(known, _)| known.eq_ignore_ascii_case(name))
        .map(|(_, release)| *release)
}

/// The OSV.dev spelling of a numbered Debian release: up to 6 the major
/// and minor number (`6` -> `6.0`, `3.1` stays), from 7 on the major number
/// only (`7.0` -> `7`, `12.4` -> `12`). `None` when `number` is not one.
pub fn debian_number(number: &str) -> Option<String> {
    let mut parts = number.trim().split('.');
    let major: u32 = parts.next()?.parse().ok()?;
    let minor = match parts.next() {
        Some(m) => Some(m.parse::<u32>().ok()?),
        None => None,
    };
    if parts.any(|p| p.parse::<u32>().is_err()) {
        return None;
    }
    Some(if major >= 7 {
        major.to_string()
    } else {
        format!("{major}.{}", minor.unwrap_or(0))
    })
}

/// Whether an Ubuntu release number is a long-term-support one: April of an
/// even year from 8.04 on, and 6.06.
pub fn ubuntu_is_lts(number: &str) -> bool {
    match number.split_once('.') {
        Some((year, month)) => {
            let year: u32 = year.parse().unwrap_or(0);
            (month == "04" && year >= 8 && year % 2 == 0) || number == "6.06"
        }
        None => false,
    }
}

/// The release part of an Ubuntu ecosystem: `22.04` -> `22.04:LTS`,
/// `Pro:18.04` -> `Pro:18.04:LTS`, `24.10` unchanged.
fn ubuntu_release(release: &str) -> Option<String> {
    let (pro, rest) = match release.split_once(':') {
        Some((head, rest)) if head.eq_ignore_ascii_case("pro") => (true, rest),
        _ => (false, release),
    };
    let (number, suffix) = match rest.split_once(':') {
        Some((number, suffix)) => (number, Some(suffix)),
        None => (rest, None),
    };
    let lts = match suffix {
        None => ubuntu_is_lts(number),
        Some(s) if s.eq_ignore_ascii_case("lts") => true,
        Some(_) => return None,
    };
    let is_number = number.split_once('.').is_some_and(|(y, m)| {
        !y.is_empty() && !m.is_empty() && (y.bytes().chain(m.bytes())).all(|b| b.is_ascii_digit())
    });
    if !is_number {
        return None;
    }
    let pro = if pro { "Pro:" } else { "" };
    let lts = if lts { ":LTS" } else { "" };
    Some(format!("{pro}{number}{lts}"))
}

/// The release part of an Alpine ecosystem: `3.4`, `3.4.6`, `v3.4.6` -> `v3.4`.
fn alpine_release(release: &str) -> Option<String> {
    let number = release.strip_prefix('v').unwrap_or(release);
    let mut parts = number.split('.');
    let (Some(major), Some(minor)) = (parts.next(), parts.next()) else {
        return None;
    };
    let numeric = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    (numeric(major) && numeric(minor)).then(|| format!("v{major}.{minor}"))
}

/// The OSV.dev spelling of `base:release` when `release` is spelled another
/// way (see the module table); `None` when it already is the spelling, or
/// is not a release this table knows (left as given).
pub fn canonical_release(base: &str, release: &str) -> Option<String> {
    let canonical = match base {
        "Debian" => debian_number(release).or_else(|| debian_codename(release).map(String::from)),
        "Ubuntu" => ubuntu_release(release),
        "Alpine" => alpine_release(release),
        _ => None,
    }?;
    (canonical != release).then_some(canonical)
}

/// `name` (`base:release`) with its release in the OSV.dev spelling.
pub fn canonical_ecosystem(name: &str) -> Cow<'_, str> {
    match name.split_once(':') {
        Some((base, release)) => match canonical_release(base, release) {
            Some(release) => Cow::Owned(format!("{base}:{release}")),
            None => Cow::Borrowed(name),
        },
        None => Cow::Borrowed(name),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_spelling_per_release() {
        for (given, want) in [
            ("Debian:5", "Debian:5.0"),
            ("Debian:6", "Debian:6.0"),
            ("Debian:6.0", "Debian:6.0"),
            ("Debian:6.0.10", "Debian:6.0"),
            ("Debian:3.1", "Debian:3.1"),
            ("Debian:7.0", "Debian:7"),
            ("Debian:12", "Debian:12"),
            ("Debian:squeeze", "Debian:6.0"),
            ("Debian:unstable", "Debian:unstable"),
            ("Ubuntu:22.04", "Ubuntu:22.04:LTS"),
            ("Ubuntu:22.04:lts", "Ubuntu:22.04:LTS"),
            ("Ubuntu:Pro:18.04", "Ubuntu:Pro:18.04:LTS"),
            ("Ubuntu:24.10", "Ubuntu:24.10"),
            ("Ubuntu:6.06", "Ubuntu:6.06:LTS"),
            ("Alpine:3.4", "Alpine:v3.4"),
            ("Alpine:v3.4.6", "Alpine:v3.4"),
            ("Alpine:edge", "Alpine:edge"),
            ("PyPI", "PyPI"),
            (
                "Red Hat:enterprise_linux:9::appstream",
                "Red Hat:enterprise_linux:9::appstream",
            ),
        ] {
            assert_eq!(canonical_ecosystem(given), want, "{given}");
        }
    }

    #[test]
    fn codenames() {
        assert_eq!(debian_codename("Squeeze"), Some("6.0"));
        assert_eq!(debian_codename("bookworm-security"), Some("12"));
        assert_eq!(debian_codename("sid"), None);
        // Every numbered release in the table is already in OSV spelling.
        for (_, number) in DEBIAN_RELEASES {
            assert_eq!(debian_number(number).as_deref(), Some(*number));
        }
    }
}
