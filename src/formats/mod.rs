//! Pure parsers: upstream bytes in, unified records out.
//!
//! A parser never touches the network, the clock or the database: what it
//! needs to know about where the bytes came from arrives in a
//! [`SourceContext`], and each record (or per-record error) is handed to an
//! `emit` callback so large inputs stream instead of piling up in memory.
//! One bad record yields one [`RecordError`] and parsing goes on.

use std::fmt;
use std::str::FromStr;

use sha2::{Digest, Sha256};

use crate::model::{Advisory, Provenance, StatusStatement, Timestamp};

pub mod alpine;
pub mod csaf;
pub mod debian_tracker;
pub mod mail;
pub mod osv;
pub mod oval;
mod read;
pub mod stream;
mod syntax;
pub mod values;

pub use read::{
    join_file, merge_batch, parse_dialect, read_bytes, read_path, FileOutcome, ReadError,
    ReadOptions, ReadSink, UnknownDialect,
};
pub use syntax::Syntax;

/// The upstream formats `advisord ingest --format` understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// OSV JSON or YAML records.
    Osv,
    /// Alpine secdb JSON or YAML (also Wolfi, Chainguard, MinimOS).
    AlpineSecdb,
    /// The Debian security tracker JSON, or its DSA/DLA/DTSA list files.
    DebianTracker,
    /// CSAF 2.0 advisories and VEX documents (Red Hat, SUSE, others).
    Csaf,
    /// OVAL definitions (SUSE, Red Hat, Ubuntu, Debian, Oracle Linux).
    Oval,
    /// Mailing-list announcements (DSA/DLA, USN, SUSE-SU, RHSA, GLSA) in
    /// mbox, pipermail, digest, single-message or maildir form.
    Mail,
}

impl Format {
    /// Every format, in the order `--help` and errors list them.
    pub const ALL: [Format; 6] = [
        Format::Osv,
        Format::Oval,
        Format::Mail,
        Format::AlpineSecdb,
        Format::DebianTracker,
        Format::Csaf,
    ];

    /// The name used on the command line and in the feed catalog.
    pub fn name(self) -> &'static str {
        match self {
            Format::Osv => "osv",
            Format::AlpineSecdb => "alpine-secdb",
            Format::DebianTracker => "debian-tracker",
            Format::Csaf => "csaf",
            Format::Oval => "oval",
            Format::Mail => "mail",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A format name advisord does not know.
#[derive(Debug, Clone, thiserror::Error)]
#[error("unknown format {0:?} (expected: {known})", known = Format::ALL.map(Format::name).join(", "))]
pub struct UnknownFormat(pub String);

impl FromStr for Format {
    type Err = UnknownFormat;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Format::ALL
            .into_iter()
            .find(|format| format.name() == s)
            .ok_or_else(|| UnknownFormat(s.to_string()))
    }
}

/// What a parser knows about the bytes it reads: which feed, which file or
/// URL (with archive member), when they were fetched and their digest.
#[derive(Debug, Clone)]
pub struct SourceContext {
    /// The feed name records are attributed to.
    pub feed: String,
    /// The URL or path, with `!member` for archive members.
    pub source: String,
    /// When the bytes were fetched or read.
    pub fetched: Timestamp,
    /// `sha256:<hex>` of the bytes as they were read: the file as fetched
    /// (compressed, if it was; an OVAL file streamed from disk too), or the
    /// archive member.
    pub digest: String,
}

impl SourceContext {
    /// Context for `bytes` read from `source` for `feed` at `fetched`.
    pub fn for_bytes(feed: &str, source: &str, fetched: Timestamp, bytes: &[u8]) -> Self {
        SourceContext {
            feed: feed.to_string(),
            source: source.to_string(),
            fetched,
            digest: sha256_digest(bytes),
        }
    }

    /// The provenance entry for a record whose upstream id is `upstream_id`.
    pub fn provenance(&self, upstream_id: &str) -> Provenance {
        Provenance {
            feed: self.feed.clone(),
            upstream_id: upstream_id.to_string(),
            source: self.source.clone(),
            fetched: self.fetched.clone(),
            digest: self.digest.clone(),
        }
    }

    /// Marks `advisory` as produced by this source: adds the provenance entry
    /// and tags every affected entry with the feed (the merge rule needs it).
    /// An entry whose parser stated no fix status gets one derived from its
    /// ranges ([`StatusStatement::derived`]).
    pub fn stamp(&self, advisory: &mut Advisory, upstream_id: &str) {
        let provenance = self.provenance(upstream_id);
        advisory.meta_mut().sources = vec![provenance];
        for affected in &mut advisory.affected {
            if affected.status().is_none() {
                let derived = StatusStatement::derived(affected);
                affected.set_status(derived);
            }
            affected
                .database_specific
                .advisord
                .get_or_insert_with(Default::default)
                .feed = Some(self.feed.clone());
        }
    }

    /// An error about the file as a whole (malformed, truncated, not the
    /// format): none of its records could be read.
    pub fn file_error(&self, reason: impl Into<String>) -> RecordError {
        self.error(WHOLE_FILE, reason)
    }

    /// A per-record error at `record` (an id, or a position such as `record 3`).
    pub fn error(&self, record: impl Into<String>, reason: impl Into<String>) -> RecordError {
        RecordError {
            feed: self.feed.clone(),
            origin: self.source.clone(),
            record: record.into(),
            reason: reason.into(),
        }
    }
}

/// `sha256:<hex>` of `bytes`.
pub fn sha256_digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// One record that could not be turned into an [`Advisory`]; it names the
/// feed, the file, the record and the reason, and never stops the feed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, thiserror::Error)]
#[error("feed {feed}: {origin}: {record}: {reason}")]
pub struct RecordError {
    /// The feed being read.
    pub feed: String,
    /// The file or URL (with archive member).
    pub origin: String,
    /// The record id, or its position when no id could be read.
    pub record: String,
    /// What is wrong.
    pub reason: String,
}

/// The record label of an error about a whole file ([`SourceContext::file_error`]).
pub const WHOLE_FILE: &str = "file";

impl RecordError {
    /// Whether the error is about the whole file, not one record of it.
    pub fn is_whole_file(&self) -> bool {
        self.record == WHOLE_FILE
    }
}

/// What a parser hands to its caller for each record.
pub type ParseItem = Result<Advisory, RecordError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_format_name_parses_back_and_an_unknown_one_lists_them() {
        for format in Format::ALL {
            assert_eq!(format.name().parse::<Format>().unwrap(), format);
        }
        let err = "ovall".parse::<Format>().unwrap_err().to_string();
        assert!(err.contains("\"ovall\""), "{err}");
        for format in Format::ALL {
            assert!(err.contains(format.name()), "{err}");
        }
    }
}
