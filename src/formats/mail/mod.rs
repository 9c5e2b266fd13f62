//! Mailing-list security announcements: message sources (mbox, pipermail
//! archives, MIME and plain digests, single messages, maildir) split into
//! messages, each recognized as a Debian DSA/DLA, Ubuntu USN, SUSE-SU,
//! Red Hat RHSA or Gentoo GLSA and turned into a record.
//!
//! Messages that are not advisories (replies, discussion, list admin,
//! Livepatch notices) are counted and skipped with a reason; a message that
//! announces an advisory but cannot be read yields a [`RecordError`](super::RecordError) naming
//! the message and line, and the rest of the container goes on.

mod dsa;
mod glsa;
pub mod message;
pub mod mime;
mod rhsa;
pub mod split;
mod suse;
mod text;
mod usn;

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use super::{ParseItem, SourceContext};
use crate::model::{
    Advisory, AdvisoryId, Affected, Ecosystem, Event, FixStatus, Package, Range, RangeKind,
    Reference, StatusStatement,
};
pub use message::MailMessage;
pub use split::{Container, RawMessage, SplitError};

/// What one call to [`parse`] found, for reports and tests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MailStats {
    /// The container detected (the last one, for a maildir of several).
    pub container: Option<Container>,
    /// Messages found in the container.
    pub messages: usize,
    /// Messages that became records.
    pub advisories: usize,
    /// Records with at least one fixed version.
    pub with_fixes: usize,
    /// Messages that announced an advisory but could not be read.
    pub errors: usize,
    /// Skipped messages, counted by reason.
    pub skipped: BTreeMap<String, usize>,
}

impl MailStats {
    /// Total of skipped messages over all reasons.
    pub fn skipped_total(&self) -> usize {
        self.skipped.values().sum()
    }

    fn skip(&mut self, reason: impl Into<String>) {
        *self.skipped.entry(reason.into()).or_default() += 1;
    }

    fn absorb(&mut self, other: MailStats) {
        self.container = other.container.or(self.container);
        self.messages += other.messages;
        self.advisories += other.advisories;
        self.with_fixes += other.with_fixes;
        self.errors += other.errors;
        for (reason, n) in other.skipped {
            *self.skipped.entry(reason).or_default() += n;
        }
    }
}

/// Parses a mail source of any supported container (gzip-compressed or not)
/// and emits one item per advisory message, decoding one message at a
/// time; a message past [`split::MAX_MESSAGE`] is one error
/// ([`split::MessageTooLarge`]) and the rest of the container is read.
pub fn parse(bytes: &[u8], ctx: &SourceContext, emit: &mut dyn FnMut(ParseItem)) -> MailStats {
    let mut stats = MailStats::default();
    let bytes = match split::decompress(bytes) {
        Ok(b) => b,
        Err(e) => {
            stats.errors += 1;
            emit(Err(ctx.file_error(e.to_string())));
            return stats;
        }
    };
    let (container, messages) = split::messages(&bytes);
    stats.container = Some(container);
    for (i, raw) in messages.enumerate() {
        match raw {
            Ok(raw) => parse_raw(&raw, i + 1, ctx, &mut stats, emit),
            Err(refused) => {
                stats.messages += 1;
                stats.errors += 1;
                emit(Err(ctx.error(
                    format!("message {} (line {})", i + 1, refused.line),
                    refused.to_string(),
                )));
            }
        }
    }
    stats
}

/// Parses every message of a maildir directory (`cur/` and `new/`, files in
/// name order). Each file is one message; the record source is the file.
pub fn parse_maildir(
    dir: &Path,
    ctx: &SourceContext,
    emit: &mut dyn FnMut(ParseItem),
) -> std::io::Result<MailStats> {
    let mut files = Vec::new();
    for sub in ["cur", "new"] {
        let path = dir.join(sub);
        if !path.is_dir() {
            continue;
        }
        for entry in std::fs::read_dir(&path)? {
            let entry = entry?;
            if entry.file_type()?.is_file() {
                files.push(entry.path());
            }
        }
    }
    if files.is_empty() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!(
                "{} is not a maildir (no messages in cur/ or new/)",
                dir.display()
            ),
        ));
    }
    files.sort();
    let mut stats = MailStats {
        container: Some(Container::Maildir),
        ..MailStats::default()
    };
    for file in files {
        let bytes = std::fs::read(&file)?;
        let file_ctx = SourceContext {
            source: format!("{}!{}", ctx.source, file.display()),
            digest: super::sha256_digest(&bytes),
            ..ctx.clone()
        };
        let mut one = parse(&bytes, &file_ctx, emit);
        one.container = Some(Container::Maildir);
        stats.absorb(one);
    }
    Ok(stats)
}

/// Reads a mail source from disk: a maildir directory, or a file of any
/// container (`.gz` or not). The caller's feed name and fetch time go into
/// each record's provenance; the source is the path.
pub fn parse_path(
    path: &Path,
    feed: &str,
    fetched: crate::model::Timestamp,
    emit: &mut dyn FnMut(ParseItem),
) -> std::io::Result<MailStats> {
    let source = path.display().to_string();
    if path.is_dir() {
        let ctx = SourceContext::for_bytes(feed, &source, fetched, b"");
        return parse_maildir(path, &ctx, emit);
    }
    let bytes = std::fs::read(path)?;
    let ctx = SourceContext::for_bytes(feed, &source, fetched, &bytes);
    Ok(parse(&bytes, &ctx, emit))
}

/// Whether `dir` looks like a maildir.
pub fn is_maildir(dir: &Path) -> bool {
    dir.join("cur").is_dir() || dir.join("new").is_dir()
}

fn parse_raw(
    raw: &RawMessage,
    index: usize,
    ctx: &SourceContext,
    stats: &mut MailStats,
    emit: &mut dyn FnMut(ParseItem),
) {
    stats.messages += 1;
    let message = match message::decode(raw, index) {
        Ok(m) => m,
        Err(reason) => {
            stats.errors += 1;
            emit(Err(ctx.error(
                format!("message {index} (line {})", raw.line),
                reason.to_string(),
            )));
            return;
        }
    };
    match recognize(&message) {
        Verdict::Parsed(draft) => match build(*draft, &message, ctx) {
            Ok(advisory) => {
                stats.advisories += 1;
                if advisory.affected.iter().any(|a| {
                    a.ranges
                        .iter()
                        .any(|r| r.events.iter().any(|e| matches!(e, Event::Fixed(_))))
                }) {
                    stats.with_fixes += 1;
                }
                emit(Ok(advisory));
            }
            Err(reason) => {
                stats.errors += 1;
                emit(Err(ctx.error(message.label(), reason.to_string())));
            }
        },
        Verdict::Skip(reason) => stats.skip(reason),
        Verdict::NotMine => stats.skip(unrecognized_reason(&message)),
        Verdict::Malformed { id, line, reason } => {
            stats.errors += 1;
            emit(Err(ctx.error(
                format!("{} ({id})", message.label()),
                format!("line {}: {reason}", message.line_of(line)),
            )));
        }
    }
}

/// What an announcement parser made of a message.
pub(crate) enum Verdict {
    /// Not this parser's kind of message.
    NotMine,
    /// Recognized, but not an advisory with packages (a reason for reports).
    Skip(String),
    /// An advisory.
    Parsed(Box<Draft>),
    /// An advisory that cannot be read: `line` is 0-based in the body.
    Malformed {
        /// The advisory id, as far as it was read.
        id: String,
        /// 0-based body line.
        line: usize,
        /// What is wrong.
        reason: String,
    },
}

impl Verdict {
    /// An advisory that cannot be read, for `reason`, at 0-based body line `line`.
    pub fn malformed(id: String, line: usize, reason: impl Into<String>) -> Verdict {
        Verdict::Malformed {
            id,
            line,
            reason: reason.into(),
        }
    }
}

/// An advisory as read from a message, before validation.
#[derive(Debug, Clone, Default)]
pub(crate) struct Draft {
    pub id: String,
    /// The id as the message spells it, when the record id normalizes it.
    pub upstream_id: Option<String>,
    pub aliases: Vec<String>,
    pub related: Vec<String>,
    pub summary: Option<String>,
    pub details: Option<String>,
    pub vendor_severity: Option<String>,
    pub fixes: Vec<Fix>,
    pub references: Vec<(String, String)>,
}

/// One package fixed in one release.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Fix {
    pub ecosystem: String,
    pub name: String,
    /// `None`: affected, no fix announced.
    pub fixed: Option<String>,
    pub purl: Option<String>,
    pub ecosystem_specific: Option<Value>,
}

impl Draft {
    /// Adds a fix unless the same (ecosystem, package, version) is present.
    pub fn add_fix(&mut self, fix: Fix) {
        if !self
            .fixes
            .iter()
            .any(|f| f.ecosystem == fix.ecosystem && f.name == fix.name && f.fixed == fix.fixed)
        {
            self.fixes.push(fix);
        }
    }

    /// Adds a reference unless present.
    pub fn add_reference(&mut self, kind: &str, url: &str) {
        if !self.references.iter().any(|(_, u)| u == url) {
            self.references.push((kind.to_string(), url.to_string()));
        }
    }
}

/// Tries each announcement parser in turn.
fn recognize(message: &MailMessage) -> Verdict {
    if let Some(subject) = &message.subject {
        let lower = subject.trim_start().to_ascii_lowercase();
        if lower.starts_with("re:") || lower.starts_with("aw:") || lower.starts_with("sv:") {
            return Verdict::Skip("reply".into());
        }
    }
    type Parser = fn(&MailMessage) -> Verdict;
    const PARSERS: [Parser; 5] = [
        dsa::parse,
        usn::parse,
        suse::parse,
        rhsa::parse,
        glsa::parse,
    ];
    for parser in PARSERS {
        match parser(message) {
            Verdict::NotMine => continue,
            verdict => return verdict,
        }
    }
    // A forwarded announcement: its text is quoted with `>`.
    if message.body.lines().filter(|l| l.starts_with('>')).count() > 10 {
        let unquoted = MailMessage {
            body: unquote(&message.body),
            ..message.clone()
        };
        for parser in PARSERS {
            match parser(&unquoted) {
                Verdict::NotMine => continue,
                verdict => return verdict,
            }
        }
    }
    Verdict::NotMine
}

/// Removes one level of `>` quoting. Lines without `>` are kept: mail
/// clients hard-wrap quoted lines, leaving their tails unquoted.
fn unquote(body: &str) -> String {
    body.lines()
        .map(|l| {
            let l = l
                .strip_prefix(' ')
                .filter(|r| r.starts_with('>'))
                .unwrap_or(l);
            match l.strip_prefix('>') {
                Some(rest) => rest.strip_prefix(' ').unwrap_or(rest),
                None => l,
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn unrecognized_reason(message: &MailMessage) -> String {
    let subject = message
        .subject
        .as_deref()
        .unwrap_or_default()
        .to_ascii_lowercase();
    if subject.contains("digest") || subject.contains("mailing list") {
        "list administration".into()
    } else if message.body.trim().is_empty() {
        "empty message".into()
    } else {
        "not an advisory".into()
    }
}

/// Why a recognized announcement does not make a valid record.
#[derive(Debug, thiserror::Error)]
enum BuildError {
    /// Its id, an alias or a related id does not parse.
    #[error(transparent)]
    Id(#[from] crate::model::InvalidId),
    /// A fixed package names an invalid ecosystem.
    #[error(transparent)]
    Ecosystem(#[from] crate::model::InvalidEcosystem),
}

/// Turns a draft into a validated, stamped record.
fn build(draft: Draft, message: &MailMessage, ctx: &SourceContext) -> Result<Advisory, BuildError> {
    let id: AdvisoryId = draft.id.parse()?;
    let ids = |list: &[String]| -> Result<Vec<AdvisoryId>, BuildError> {
        list.iter()
            .filter(|a| **a != draft.id)
            .map(|a| Ok(a.parse::<AdvisoryId>()?))
            .collect()
    };
    let mut affected = Vec::new();
    for fix in &draft.fixes {
        let ecosystem = Ecosystem::new(fix.ecosystem.clone())?;
        let mut events = vec![Event::Introduced("0".into())];
        // An announcement ships a fix; one without a version is still open.
        let status = match &fix.fixed {
            Some(fixed) => {
                events.push(Event::Fixed(fixed.clone()));
                StatusStatement::new(FixStatus::Fixed, "announced fix")
            }
            None => StatusStatement::new(FixStatus::Affected, "announced without fixed version"),
        };
        let mut entry = Affected {
            ranges: vec![Range {
                kind: RangeKind::Ecosystem,
                repo: None,
                events,
                database_specific: None,
            }],
            ecosystem_specific: fix.ecosystem_specific.clone(),
            ..Affected::new(Package {
                ecosystem,
                name: fix.name.clone(),
                purl: fix.purl.clone(),
            })
        };
        entry.set_status(status);
        affected.push(entry);
    }
    let mut references: Vec<Reference> = draft
        .references
        .iter()
        .map(|(kind, url)| Reference {
            kind: kind.clone(),
            url: url.clone(),
        })
        .collect();
    if let Some(mid) = &message.message_id {
        references.push(Reference {
            kind: "ARTICLE".into(),
            url: format!("mid:{}", percent_encode_mid(mid)),
        });
    }
    if let Some(archive) = &message.list_archive {
        references.push(Reference {
            kind: "ARTICLE".into(),
            url: archive.clone(),
        });
    } else if ctx.source.starts_with("http://") || ctx.source.starts_with("https://") {
        references.push(Reference {
            kind: "ARTICLE".into(),
            url: ctx.source.clone(),
        });
    }
    // A bare body has no Date header: the advisory's own date line keeps
    // the record's time independent of when it was read.
    let date = message
        .date
        .clone()
        .or_else(|| text::prose_date(&message.body, 40));
    let modified = date.clone().unwrap_or_else(|| ctx.fetched.clone());
    let mut advisory = Advisory {
        schema_version: Some("1.7.0".into()),
        published: date,
        aliases: ids(&draft.aliases)?,
        related: ids(&draft.related)?,
        summary: draft.summary.clone(),
        details: draft.details.clone(),
        affected,
        references,
        ..Advisory::new(id, modified)
    };
    if let Some(severity) = &draft.vendor_severity {
        advisory.meta_mut().vendor_severity = Some(severity.to_ascii_lowercase());
    }
    ctx.stamp(
        &mut advisory,
        draft.upstream_id.as_deref().unwrap_or(&draft.id),
    );
    Ok(advisory)
}

/// RFC 2392 `mid:` URLs percent-encode what URLs cannot carry.
fn percent_encode_mid(mid: &str) -> String {
    let mut out = String::with_capacity(mid.len());
    for b in mid.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~@!$&'()*+,;=:".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
