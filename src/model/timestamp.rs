//! RFC 3339 timestamps as OSV writes them.

use std::cmp::Ordering;
use std::fmt;

use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// An RFC 3339 timestamp, kept in its published spelling so a record
/// round-trips byte-for-byte, and ordered by the instant it denotes.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Timestamp {
    text: String,
    instant: OffsetDateTime,
}

/// A string that is not an RFC 3339 timestamp.
#[derive(Debug, Clone, thiserror::Error)]
#[error("invalid RFC 3339 timestamp {input:?}: {reason}")]
pub struct InvalidTimestamp {
    /// The rejected input.
    pub input: String,
    /// The parser's reason.
    pub reason: String,
}

impl Timestamp {
    /// The current time, in UTC with second precision.
    pub fn now() -> Timestamp {
        Timestamp::from_instant(OffsetDateTime::now_utc())
    }

    /// Builds a timestamp from an instant, formatted as `YYYY-MM-DDTHH:MM:SSZ`.
    pub fn from_instant(instant: OffsetDateTime) -> Timestamp {
        let instant = instant
            .to_offset(time::UtcOffset::UTC)
            .replace_nanosecond(0)
            .unwrap_or(instant);
        let text = instant
            .format(&Rfc3339)
            .unwrap_or_else(|_| "1970-01-01T00:00:00Z".to_string());
        Timestamp { text, instant }
    }

    /// The published spelling.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The instant denoted.
    pub fn instant(&self) -> OffsetDateTime {
        self.instant
    }
}

impl TryFrom<String> for Timestamp {
    type Error = InvalidTimestamp;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        match OffsetDateTime::parse(&text, &Rfc3339) {
            Ok(instant) => Ok(Timestamp { text, instant }),
            Err(e) => Err(InvalidTimestamp {
                input: text,
                reason: e.to_string(),
            }),
        }
    }
}

impl std::str::FromStr for Timestamp {
    type Err = InvalidTimestamp;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Timestamp::try_from(s.to_string())
    }
}

impl From<Timestamp> for String {
    fn from(t: Timestamp) -> String {
        t.text
    }
}

impl PartialEq for Timestamp {
    fn eq(&self, other: &Self) -> bool {
        self.instant == other.instant
    }
}

impl Eq for Timestamp {}

impl Ord for Timestamp {
    fn cmp(&self, other: &Self) -> Ordering {
        self.instant.cmp(&other.instant)
    }
}

impl PartialOrd for Timestamp {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}
