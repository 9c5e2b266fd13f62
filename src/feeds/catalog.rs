//! The feed catalog: one TOML file per upstream source (`feeds/*.toml`,
//! built into the binary) plus the user's own files (`--catalog DIR`).
//!
//! A feed names its format as a string; it is resolved to a
//! [`Format`] only when the feed is synced, so the catalog loads whatever
//! parsers this build has, and a new `Format` variant needs no change here.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::formats::{Format, UnknownFormat};

/// The format names the catalog accepts (whether or not this build has the parser).
pub const KNOWN_FORMATS: &[&str] = &[
    "osv",
    "oval",
    "mail",
    "alpine-secdb",
    "debian-tracker",
    "csaf",
];

/// The catalog files shipped in `feeds/`, embedded at build time.
mod builtin {
    include!(concat!(env!("OUT_DIR"), "/builtin_catalog.rs"));
}

/// Why the catalog could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// A catalog directory or file could not be read.
    #[error("catalog {path}: {source}")]
    Io {
        /// The path.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// A file is not valid catalog TOML.
    #[error("catalog file {path}: {reason}")]
    Invalid {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// Two files of the same catalog directory define one feed name.
    #[error("feed {name} is defined twice: {first} and {second}")]
    Duplicate {
        /// The feed name.
        name: String,
        /// First file.
        first: String,
        /// Second file.
        second: String,
    },
}

/// Why an interval (`interval`, `max_age`, `--every`) does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    /// A character that is neither a digit nor a unit.
    #[error("interval {text:?}: unexpected {found:?} (use e.g. 6h, 30m, 1d)")]
    UnknownUnit {
        /// The interval as written.
        text: String,
        /// The character found.
        found: char,
    },
    /// A unit with no number before it (`h`, `1hm`).
    #[error("interval {text:?}: a number must precede {unit:?}")]
    MissingNumber {
        /// The interval as written.
        text: String,
        /// The unit that has no number.
        unit: char,
    },
    /// A number with no unit after it, or nothing at all.
    #[error("interval {text:?}: give a unit (s, m, h, d)")]
    MissingUnit {
        /// The interval as written.
        text: String,
    },
    /// An interval of zero (a feed synced continuously).
    #[error("interval {text:?} must be positive")]
    Zero {
        /// The interval as written.
        text: String,
    },
}

/// Why a size (`max_size`, `--max-bytes`) does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SizeError {
    /// No number at the start.
    #[error("size {text:?}: expected a number and a unit")]
    NoNumber {
        /// The size as written.
        text: String,
    },
    /// A unit this parser does not know.
    #[error("size {text:?}: unknown unit {unit:?}")]
    UnknownUnit {
        /// The size as written.
        text: String,
        /// The unit as written.
        unit: String,
    },
    /// More bytes than a `u64` holds.
    #[error("size {text:?} is too large")]
    TooLarge {
        /// The size as written.
        text: String,
    },
    /// Zero where a cap must be positive (a cap of 0 would refuse everything).
    #[error("size {text:?} must be positive")]
    Zero {
        /// The size as written.
        text: String,
    },
}

/// An `end_of_life` date that is neither `YYYY-MM` nor `YYYY-MM-DD`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("end_of_life {text:?}: use YYYY-MM or YYYY-MM-DD")]
pub struct EndOfLifeError {
    /// The date as written.
    pub text: String,
}

/// A feed name asked for that the catalog does not hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no feed named {name:?} in the catalog")]
pub struct UnknownFeed {
    /// The name asked for.
    pub name: String,
}

/// One catalog file as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSpec {
    name: String,
    format: String,
    #[serde(default)]
    dialect: Option<String>,
    urls: Vec<String>,
    interval: String,
    #[serde(default = "default_true")]
    enabled: bool,
    #[serde(default)]
    description: Option<String>,
    #[serde(default = "default_true")]
    snapshot: bool,
    #[serde(default)]
    history_months: u32,
    #[serde(default)]
    max_size: Option<String>,
    #[serde(default)]
    end_of_life: Option<String>,
    max_age: Option<String>,
}

fn default_true() -> bool {
    true
}

/// One upstream source: where to fetch, how to parse, how often.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FeedSpec {
    /// Unique feed name (records are attributed to it).
    pub name: String,
    /// Format name (`osv`, `oval`, ...), resolved by [`FeedSpec::format`].
    pub format: String,
    /// Publisher dialect where a format has several (`suse`, `redhat`...).
    /// For `oval` it is the dialect the files are parsed with (checked when
    /// the catalog loads); for other formats it is informational.
    pub dialect: Option<String>,
    /// The files of the feed; may hold `{yyyy}`, `{mm}`, `{Month}` placeholders
    /// (see [`FeedSpec::expanded_urls`]).
    pub urls: Vec<String>,
    /// Time between scheduled syncs.
    #[serde(serialize_with = "ser_duration")]
    pub interval: Duration,
    /// Whether `sync` without names and the scheduler include the feed.
    pub enabled: bool,
    /// Free text.
    pub description: Option<String>,
    /// The files are a full snapshot: records missing from them are removed.
    pub snapshot: bool,
    /// For dated URL templates: how many months before the current one to fetch too.
    pub history_months: u32,
    /// Largest download accepted per file, when not the default.
    pub max_bytes: Option<u64>,
    /// When the publisher ended support for the release the feed covers
    /// (`2025-07` or `2025-07-23`): the feed stays usable, `feeds` flags it.
    pub end_of_life: Option<String>,
    /// How old the feed's last successful sync may be before answers that
    /// depend on it are marked stale (`max_age`, default 3 x `interval`).
    #[serde(serialize_with = "ser_duration")]
    pub max_age: Duration,
    /// Where the spec came from (`builtin:NAME.toml` or a path).
    pub origin: String,
}

fn ser_duration<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format_duration(*d))
}

impl FeedSpec {
    /// Parses and validates one catalog file's text.
    pub fn from_toml(text: &str, origin: &str) -> Result<FeedSpec, CatalogError> {
        let invalid = |reason: String| CatalogError::Invalid {
            path: origin.to_string(),
            reason,
        };
        let raw: RawSpec = toml::from_str(text).map_err(|e| invalid(e.to_string()))?;
        if raw.name.is_empty()
            || !raw
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'))
            || raw.name.starts_with('.')
        {
            return Err(invalid(format!(
                "name {:?}: use letters, digits, '-', '_', '.', ':'",
                raw.name
            )));
        }
        // A format this build has no parser for (`cvrf`) still loads: the
        // feed is listed as unsupported and its sync says so. Only a value
        // that cannot be a format name is refused.
        let plausible = !raw.format.is_empty()
            && raw
                .format
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !plausible {
            return Err(invalid(format!(
                "format {:?} is not a format name (this build reads {})",
                raw.format,
                KNOWN_FORMATS.join(", ")
            )));
        }
        // For OVAL the dialect is used (detection is skipped), so it must be one.
        if raw.format == Format::Oval.name() {
            if let Some(dialect) = &raw.dialect {
                crate::formats::oval::Dialect::parse_name(dialect)
                    .map_err(|e| invalid(e.to_string()))?;
            }
        }
        if raw.urls.is_empty() {
            return Err(invalid("urls is empty".into()));
        }
        for url in &raw.urls {
            if !(url.starts_with("https://") || url.starts_with("http://")) {
                return Err(invalid(format!("url {url:?} is not http(s)")));
            }
        }
        let interval = parse_duration(&raw.interval).map_err(|e| invalid(e.to_string()))?;
        let max_age = match &raw.max_age {
            Some(text) => parse_duration(text).map_err(|e| invalid(format!("max_age: {e}")))?,
            None => interval.saturating_mul(3),
        };
        let max_bytes = raw
            .max_size
            .as_deref()
            .map(parse_size)
            .transpose()
            .map_err(|e| invalid(e.to_string()))?;
        if let Some(date) = &raw.end_of_life {
            check_end_of_life(date).map_err(|e| invalid(e.to_string()))?;
        }
        Ok(FeedSpec {
            name: raw.name,
            format: raw.format,
            dialect: raw.dialect,
            urls: raw.urls,
            interval,
            enabled: raw.enabled,
            description: raw.description,
            snapshot: raw.snapshot,
            history_months: raw.history_months,
            max_bytes,
            end_of_life: raw.end_of_life,
            max_age,
            origin: origin.to_string(),
        })
    }

    /// The parser for this feed, if this build has it.
    pub fn format(&self) -> Result<Format, UnknownFormat> {
        self.format.parse()
    }

    /// For an OSV feed reading one `<BASE>/<ECOSYSTEM>/all.zip` (OSV.dev's
    /// bucket layout, or a mirror of it): the ecosystem and the bucket's
    /// `ecosystems.txt`, which lists the ecosystems the bucket exports.
    pub fn osv_export(&self) -> Option<OsvExport> {
        if self.format != Format::Osv.name() {
            return None;
        }
        let [url] = self.urls.as_slice() else {
            return None;
        };
        let dir = url.strip_suffix("/all.zip")?;
        let (base, segment) = dir.rsplit_once('/')?;
        if segment.is_empty() || base.ends_with('/') || !base.contains("://") {
            return None;
        }
        Some(OsvExport {
            ecosystem: percent_decode(segment)?,
            index_url: format!("{base}/ecosystems.txt"),
        })
    }

    /// The URLs to fetch at `now`: a URL with `{yyyy}` (year), `{mm}` (01-12)
    /// or `{Month}` (`January`) stands for the current month and the
    /// `history_months` before it, oldest first; others are taken as they are.
    pub fn expanded_urls(&self, now: time::OffsetDateTime) -> Vec<String> {
        let mut out = Vec::new();
        for url in &self.urls {
            if !(url.contains("{yyyy}") || url.contains("{mm}") || url.contains("{Month}")) {
                out.push(url.clone());
                continue;
            }
            let (mut year, mut month) = (now.year(), u8::from(now.month()));
            let mut months = Vec::new();
            for _ in 0..=self.history_months {
                months.push((year, month));
                if month == 1 {
                    year -= 1;
                    month = 12;
                } else {
                    month -= 1;
                }
            }
            for (year, month) in months.into_iter().rev() {
                let name = time::Month::try_from(month).map_or("January", month_name);
                out.push(
                    url.replace("{yyyy}", &format!("{year:04}"))
                        .replace("{mm}", &format!("{month:02}"))
                        .replace("{Month}", name),
                );
            }
        }
        out
    }
}

fn month_name(m: time::Month) -> &'static str {
    use time::Month::*;
    match m {
        January => "January",
        February => "February",
        March => "March",
        April => "April",
        May => "May",
        June => "June",
        July => "July",
        August => "August",
        September => "September",
        October => "October",
        November => "November",
        December => "December",
    }
}

/// Parses `90s`, `30m`, `6h`, `1d`, `1h30m`.
pub fn parse_duration(text: &str) -> Result<Duration, DurationError> {
    let mut total = 0u64;
    let mut number = String::new();
    let mut any = false;
    for c in text.trim().chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            _ => {
                return Err(DurationError::UnknownUnit {
                    text: text.into(),
                    found: c,
                })
            }
        };
        let n: u64 = number.parse().map_err(|_| DurationError::MissingNumber {
            text: text.into(),
            unit: c,
        })?;
        total = total.saturating_add(n.saturating_mul(unit));
        number.clear();
        any = true;
    }
    if !number.is_empty() || !any {
        return Err(DurationError::MissingUnit { text: text.into() });
    }
    if total == 0 {
        return Err(DurationError::Zero { text: text.into() });
    }
    Ok(Duration::from_secs(total))
}

/// `6h`, `1h30m`, `45s` for a whole number of seconds.
pub fn format_duration(d: Duration) -> String {
    let mut s = d.as_secs();
    let mut out = String::new();
    for (unit, len) in [("d", 86_400), ("h", 3600), ("m", 60), ("s", 1)] {
        if s >= len {
            out.push_str(&format!("{}{unit}", s / len));
            s %= len;
        }
    }
    if out.is_empty() {
        out.push_str("0s");
    }
    out
}

/// Parses `512MiB`, `2GiB`, `100MB`, `4096`; a bare `K`, `M`, `G`, `T`
/// (`512M`, `8G`) is binary like `MiB`.
pub fn parse_size(text: &str) -> Result<u64, SizeError> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (n, unit) = t.split_at(split);
    let n: u64 = n
        .parse()
        .map_err(|_| SizeError::NoNumber { text: text.into() })?;
    let mult: u64 = match unit.trim() {
        "" | "B" => 1,
        "KB" => 1000,
        "MB" => 1_000_000,
        "GB" => 1_000_000_000,
        "TB" => 1_000_000_000_000,
        "K" | "k" | "KiB" => 1 << 10,
        "M" | "MiB" => 1 << 20,
        "G" | "GiB" => 1 << 30,
        "T" | "TiB" => 1 << 40,
        other => {
            return Err(SizeError::UnknownUnit {
                text: text.into(),
                unit: other.into(),
            })
        }
    };
    n.checked_mul(mult)
        .ok_or_else(|| SizeError::TooLarge { text: text.into() })
}

/// Where OSV.dev publishes its per-ecosystem exports (`<ECOSYSTEM>/all.zip`
/// and `ecosystems.txt`).
pub const OSV_BUCKET: &str = "https://osv-vulnerabilities.storage.googleapis.com";

/// An OSV feed's place in an OSV.dev-style bucket (see [`FeedSpec::osv_export`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OsvExport {
    /// The ecosystem as `ecosystems.txt` spells it (`Red Hat`).
    pub ecosystem: String,
    /// The bucket's list of exported ecosystems.
    pub index_url: String,
}

impl OsvExport {
    /// What `feeds` and `sync` say when the index does not list the ecosystem.
    pub fn not_published(&self) -> String {
        format!(
            "not published upstream: {} does not list {:?}",
            self.index_url, self.ecosystem
        )
    }
}

/// The feed that reads OSV.dev's export of `ecosystem`: named like the
/// built-in ones (`osv-Red-Hat` for `Red Hat`), enabled, every 6 hours.
/// Lets a newly exported ecosystem be synced without writing a TOML file.
pub fn osv_feed(ecosystem: &str) -> Result<FeedSpec, CatalogError> {
    let invalid = |reason: String| CatalogError::Invalid {
        path: "--osv-ecosystem".into(),
        reason,
    };
    let name: String = ecosystem
        .trim()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    if ecosystem.trim() != ecosystem || name.trim_matches('-').is_empty() {
        return Err(invalid(format!("ecosystem {ecosystem:?} is not a name")));
    }
    Ok(FeedSpec {
        name: format!("osv-{name}"),
        format: Format::Osv.name().to_string(),
        dialect: None,
        urls: vec![format!(
            "{OSV_BUCKET}/{}/all.zip",
            percent_encode(ecosystem)
        )],
        interval: OSV_BY_NAME_INTERVAL,
        enabled: true,
        description: Some(format!(
            "OSV.dev export of the {ecosystem} ecosystem (enabled by name)"
        )),
        snapshot: true,
        history_months: 0,
        max_bytes: None,
        end_of_life: None,
        max_age: 3 * OSV_BY_NAME_INTERVAL,
        origin: "--osv-ecosystem".to_string(),
    })
}

/// How often a feed enabled with `--osv-ecosystem` syncs.
const OSV_BY_NAME_INTERVAL: Duration = Duration::from_secs(6 * 3600);

/// The ecosystems listed by an `ecosystems.txt` (one name per line).
pub fn parse_ecosystem_index(text: &str) -> std::collections::BTreeSet<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

/// `%XX` for every byte of a path segment outside `A-Z a-z 0-9 - . _ ~`.
fn percent_encode(segment: &str) -> String {
    let mut out = String::new();
    for b in segment.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The inverse of [`percent_encode`]; `None` for a malformed escape or non-UTF-8.
fn percent_decode(segment: &str) -> Option<String> {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = segment.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// An end-of-life date: `YYYY-MM` or `YYYY-MM-DD`.
fn check_end_of_life(text: &str) -> Result<(), EndOfLifeError> {
    let full = format!("{text}{}", if text.len() == 7 { "-01" } else { "" });
    let format = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(&full, &format)
        .map(|_| ())
        .map_err(|_| EndOfLifeError { text: text.into() })
}

/// The loaded catalog: feeds by name.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    feeds: BTreeMap<String, FeedSpec>,
}

impl Catalog {
    /// The built-in feeds (`feeds/*.toml` at build time).
    pub fn builtin() -> Result<Catalog, CatalogError> {
        let mut catalog = Catalog::default();
        let mut origins = BTreeMap::new();
        for (file, text) in builtin::FILES {
            let origin = format!("builtin:{file}");
            let spec = FeedSpec::from_toml(text, &origin)?;
            catalog.insert_unique(spec, &mut origins)?;
        }
        Ok(catalog)
    }

    /// The built-in feeds (unless `builtin` is false) plus every `*.toml`
    /// in `dirs`; a user file defining a built-in name replaces it.
    pub fn load(builtin: bool, dirs: &[PathBuf]) -> Result<Catalog, CatalogError> {
        let mut catalog = if builtin {
            Catalog::builtin()?
        } else {
            Catalog::default()
        };
        for dir in dirs {
            let mut origins = BTreeMap::new();
            for spec in read_dir_specs(dir)? {
                if let Some(first) = origins.insert(spec.name.clone(), spec.origin.clone()) {
                    return Err(CatalogError::Duplicate {
                        name: spec.name,
                        first,
                        second: spec.origin,
                    });
                }
                catalog.feeds.insert(spec.name.clone(), spec);
            }
        }
        Ok(catalog)
    }

    fn insert_unique(
        &mut self,
        spec: FeedSpec,
        origins: &mut BTreeMap<String, String>,
    ) -> Result<(), CatalogError> {
        if let Some(first) = origins.get(&spec.name) {
            return Err(CatalogError::Duplicate {
                name: spec.name.clone(),
                first: first.clone(),
                second: spec.origin.clone(),
            });
        }
        origins.insert(spec.name.clone(), spec.origin.clone());
        self.feeds.insert(spec.name.clone(), spec);
        Ok(())
    }

    /// Enables OSV.dev's export of each ecosystem named (`Root`, `Red Hat`):
    /// the catalog's feed for it when there is one (by feed name or URL),
    /// else a new one from [`osv_feed`].
    pub fn enable_osv_ecosystems(&mut self, ecosystems: &[String]) -> Result<(), CatalogError> {
        for ecosystem in ecosystems {
            let generated = osv_feed(ecosystem)?;
            let existing = self
                .feeds
                .values_mut()
                .find(|f| f.name == generated.name || f.urls == generated.urls);
            match existing {
                Some(feed) => feed.enabled = true,
                None => {
                    self.feeds.insert(generated.name.clone(), generated);
                }
            }
        }
        Ok(())
    }

    /// Every feed, by name.
    pub fn feeds(&self) -> impl Iterator<Item = &FeedSpec> {
        self.feeds.values()
    }

    /// The feed called `name`.
    pub fn get(&self, name: &str) -> Option<&FeedSpec> {
        self.feeds.get(name)
    }

    /// The named feeds (errors on an unknown name), or every enabled feed
    /// when `names` is empty.
    pub fn select(&self, names: &[String]) -> Result<Vec<FeedSpec>, UnknownFeed> {
        if names.is_empty() {
            return Ok(self.feeds.values().filter(|f| f.enabled).cloned().collect());
        }
        names
            .iter()
            .map(|n| {
                self.feeds
                    .get(n)
                    .cloned()
                    .ok_or_else(|| UnknownFeed { name: n.clone() })
            })
            .collect()
    }

    /// Number of feeds.
    pub fn len(&self) -> usize {
        self.feeds.len()
    }

    /// Whether there is no feed.
    pub fn is_empty(&self) -> bool {
        self.feeds.is_empty()
    }
}

fn read_dir_specs(dir: &Path) -> Result<Vec<FeedSpec>, CatalogError> {
    let io = |source| CatalogError::Io {
        path: dir.display().to_string(),
        source,
    };
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(io)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    paths.sort();
    let mut out = Vec::new();
    for path in paths {
        let text = std::fs::read_to_string(&path).map_err(|source| CatalogError::Io {
            path: path.display().to_string(),
            source,
        })?;
        out.push(FeedSpec::from_toml(&text, &path.display().to_string())?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC: &str = r#"
name = "ubuntu-announce"
format = "mail"
urls = ["https://example.org/archives/{yyyy}-{Month}.txt.gz"]
interval = "1h30m"
snapshot = false
history_months = 2
max_size = "64MiB"
"#;

    #[test]
    fn parses_and_expands_month_templates() {
        let spec = FeedSpec::from_toml(SPEC, "t.toml").unwrap();
        assert_eq!(spec.interval, Duration::from_secs(5400));
        assert!(spec.enabled);
        assert!(!spec.snapshot);
        assert_eq!(spec.max_bytes, Some(64 << 20));
        // max_age defaults to three intervals; a feed may set its own.
        assert_eq!(spec.max_age, Duration::from_secs(3 * 5400));
        let own = FeedSpec::from_toml(&format!("{SPEC}max_age = \"2d\"\n"), "t.toml").unwrap();
        assert_eq!(own.max_age, Duration::from_secs(2 * 86_400));
        let now = time::macros::datetime!(2026-02-10 12:00 UTC);
        assert_eq!(
            spec.expanded_urls(now),
            vec![
                "https://example.org/archives/2025-December.txt.gz",
                "https://example.org/archives/2026-January.txt.gz",
                "https://example.org/archives/2026-February.txt.gz",
            ]
        );
    }

    #[test]
    fn rejects_bad_specs() {
        for (text, needle) in [
            (SPEC.replace("\"mail\"", "\"Gopher feed\""), "format"),
            (SPEC.replace("1h30m", "soon"), "interval"),
            (format!("{SPEC}max_age = \"later\"\n"), "max_age"),
            (SPEC.replace("https://", "ftp://"), "not http"),
            (SPEC.replace("ubuntu-announce", "a b"), "name"),
            (format!("{SPEC}\ncolour = 1\n"), "colour"),
            (
                SPEC.replace("\"mail\"", "\"oval\"\ndialect = \"gentoo\""),
                "unknown OVAL dialect \"gentoo\"",
            ),
        ] {
            let err = FeedSpec::from_toml(&text, "t.toml")
                .unwrap_err()
                .to_string();
            assert!(err.contains(needle), "{err} lacks {needle}");
        }
    }

    /// feeds/README: a format this build cannot parse "still loads; its feed
    /// is reported as unsupported when synced".
    #[test]
    fn a_format_without_parser_loads_as_unsupported() {
        let spec = FeedSpec::from_toml(&SPEC.replace("\"mail\"", "\"cvrf\""), "t.toml").unwrap();
        assert_eq!(spec.format, "cvrf");
        assert!(spec.format().is_err());
    }

    #[test]
    fn end_of_life_is_a_date() {
        let with = |v: &str| {
            SPEC.replace(
                "snapshot = false",
                &format!("snapshot = false\nend_of_life = {v:?}"),
            )
        };
        for ok in ["2025-07", "2024-12-31"] {
            let spec = FeedSpec::from_toml(&with(ok), "t.toml").unwrap();
            assert_eq!(spec.end_of_life.as_deref(), Some(ok));
        }
        for bad in ["July 2025", "2025-13", "2025-02-30", "yes"] {
            let err = FeedSpec::from_toml(&with(bad), "t.toml")
                .unwrap_err()
                .to_string();
            assert!(err.contains("end_of_life"), "{bad}: {err}");
        }
        assert_eq!(
            FeedSpec::from_toml(SPEC, "t.toml").unwrap().end_of_life,
            None
        );
    }

    #[test]
    fn osv_feeds_know_their_bucket_index() {
        let catalog = Catalog::builtin().unwrap();
        let red_hat = catalog.get("osv-Red-Hat").unwrap().osv_export().unwrap();
        assert_eq!(red_hat.ecosystem, "Red Hat");
        assert_eq!(red_hat.index_url, format!("{OSV_BUCKET}/ecosystems.txt"));
        // Every built-in OSV feed is one bucket export; no other feed is.
        for feed in catalog.feeds() {
            assert_eq!(
                feed.osv_export().is_some(),
                feed.format == "osv",
                "{}",
                feed.name
            );
        }
        let other = SPEC.replace("\"mail\"", "\"osv\"");
        let other = other.replace("archives/{yyyy}-{Month}.txt.gz", "x/all.zip");
        let export = FeedSpec::from_toml(&other, "t.toml")
            .unwrap()
            .osv_export()
            .unwrap();
        assert_eq!(export.index_url, "https://example.org/ecosystems.txt");
        assert_eq!(export.ecosystem, "x");
        let bad = other.replace("x/all.zip", "%zz/all.zip");
        assert_eq!(
            FeedSpec::from_toml(&bad, "t.toml").unwrap().osv_export(),
            None
        );
        let index = parse_ecosystem_index("AlmaLinux\nRed Hat\n\n  Go \n");
        assert!(index.contains("Red Hat") && index.contains("Go") && index.len() == 3);
    }

    #[test]
    fn osv_ecosystems_are_enabled_by_name() {
        let mut catalog = Catalog::builtin().unwrap();
        let before = catalog.len();
        catalog
            .enable_osv_ecosystems(&["Docker Hardened Images".into(), "PyPI".into()])
            .unwrap();
        // A new one gets a feed named like the built-in ones...
        let dhi = catalog.get("osv-Docker-Hardened-Images").unwrap();
        assert!(dhi.enabled);
        assert_eq!(
            dhi.urls,
            vec![format!("{OSV_BUCKET}/Docker%20Hardened%20Images/all.zip")]
        );
        assert_eq!(
            dhi.osv_export().unwrap().ecosystem,
            "Docker Hardened Images"
        );
        // ...a known one is the built-in feed, not a copy.
        assert_eq!(catalog.len(), before + 1);
        assert_eq!(
            catalog.get("osv-PyPI").unwrap().origin,
            "builtin:osv-PyPI.toml"
        );
        // A disabled built-in feed is enabled by its ecosystem's name.
        let mut catalog = Catalog::builtin().unwrap();
        for feed in catalog.feeds.values_mut() {
            feed.enabled = false;
        }
        catalog.enable_osv_ecosystems(&["Red Hat".into()]).unwrap();
        let enabled: Vec<_> = catalog
            .select(&[])
            .unwrap()
            .into_iter()
            .map(|f| f.name)
            .collect();
        assert_eq!(enabled, vec!["osv-Red-Hat"]);
        for bad in ["", " Go", "::"] {
            assert!(
                catalog.enable_osv_ecosystems(&[bad.into()]).is_err(),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn durations_and_sizes() {
        assert_eq!(parse_duration("6h"), Ok(Duration::from_secs(21_600)));
        assert_eq!(parse_duration("1d"), Ok(Duration::from_secs(86_400)));
        assert!(parse_duration("6").is_err());
        assert!(parse_duration("0s").is_err());
        assert_eq!(format_duration(Duration::from_secs(5400)), "1h30m");
        assert_eq!(parse_size("2GiB"), Ok(2 << 30));
        assert_eq!(parse_size("512M"), Ok(512 << 20));
        assert_eq!(parse_size("8G"), Ok(8 << 30));
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size("3k"), Ok(3072));
        assert!(parse_size("2 parsecs").is_err());
        assert!(parse_size("M").is_err());
        assert!(parse_size("99999999999T").is_err());
    }

    #[test]
    fn builtin_catalog_loads_and_covers_the_sources() {
        let catalog = Catalog::builtin().unwrap();
        for format in KNOWN_FORMATS {
            assert!(
                catalog.feeds().any(|f| f.format == *format),
                "no built-in feed of format {format}"
            );
        }
        for feed in catalog.feeds() {
            assert!(
                feed.origin.ends_with(&format!("{}.toml", feed.name)),
                "{feed:?}"
            );
        }
        // Every built-in OVAL feed names its dialect (which its files are parsed with).
        for feed in catalog.feeds().filter(|f| f.format == "oval") {
            let dialect = feed.dialect.as_deref().unwrap_or_default();
            assert!(
                crate::formats::oval::Dialect::parse_name(dialect).is_ok(),
                "{}: dialect {dialect:?}",
                feed.name
            );
        }
        // Azure Linux / CBL-Mariner: the file name names the release, which
        // the parser falls back on when a definition's EVRs carry no dist tag.
        for (name, release) in [("oval-azurelinux-3.0", 3), ("oval-cbl-mariner-2.0", 2)] {
            let feed = catalog.get(name).expect(name);
            assert_eq!(feed.dialect.as_deref(), Some("azure"), "{name}");
            assert_eq!(feed.urls.len(), 1, "{name}");
            assert_eq!(
                crate::formats::oval::azure::file_release(&feed.urls[0]),
                Some(release),
                "{name}"
            );
        }
        // The catalog as reviewed against public evidence (feeds/README.md):
        // no feed for a file that does not exist...
        for gone in ["oval-rhel-10", "osv-Photon-OS", "osv-Bioconductor"] {
            assert!(catalog.get(gone).is_none(), "{gone}");
        }
        for feed in catalog.feeds() {
            for url in &feed.urls {
                // SUSE publishes Leap Micro 5.x per minor; SL Micro 6 as suse.linux.micro.6.
                assert!(!url.contains("leap.micro.5-"), "{url}");
                assert!(!url.contains("enterprise.micro.6"), "{url}");
            }
        }
        // ...current releases, and end-of-life ones kept but marked.
        for name in [
            "oval-suse-sles-16",
            "oval-opensuse-leap-16.0",
            "oval-opensuse-leap-micro-5.5",
            "osv-CleanStart",
            "osv-Root",
            "osv-TuxCare",
        ] {
            assert!(catalog.get(name).is_some_and(|f| f.enabled), "{name}");
        }
        for name in [
            "oval-ubuntu-25.10",
            "oval-opensuse-leap-15.5",
            "oval-cbl-mariner-2.0",
        ] {
            assert!(catalog.get(name).unwrap().end_of_life.is_some(), "{name}");
        }
        for n in [8, 9] {
            let feed = catalog.get(&format!("oval-rhel-{n}")).unwrap();
            assert!(
                feed.urls[0].ends_with(&format!("rhel-{n}-including-unpatched.oval.xml.bz2")),
                "{feed:?}"
            );
        }
        // A dialect on another format stays informational.
        let csaf = SPEC.replace("\"mail\"", "\"csaf\"\ndialect = \"anything\"");
        assert!(FeedSpec::from_toml(&csaf, "t.toml").is_ok());
    }
}
