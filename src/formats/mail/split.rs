//! Message sources: detects the container (mbox, pipermail archive, MIME or
//! RFC 1153 digest, single message, bare body) and splits it into messages.

use std::io::Read;

use mail_parser::MimeHeaders;

use crate::formats::stream::DEFAULT_MAX_DOCUMENT;

/// Gzip decompression stops at the document cap: a monthly archive is a
/// few MB, so anything larger is treated as hostile rather than read into
/// memory (a compressed member of a tar reaches the parser still gzipped).
const MAX_DECOMPRESSED: u64 = DEFAULT_MAX_DOCUMENT;

/// Most bytes one message may hold: real announcements are kilobytes (the
/// largest in the test data is 41 KB, a month of a list's archive a few
/// hundred), so 4 MiB leaves room for any and bounds what decoding one
/// message holds. A larger message is refused by name and the rest of its
/// container is read.
pub const MAX_MESSAGE: usize = 4 << 20;

/// The kind of container a byte stream turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Container {
    /// An RFC 4155 mbox file (`From ` separator lines).
    Mbox,
    /// A pipermail monthly text archive: an mbox whose `From ` lines and
    /// addresses are obfuscated as `user at domain`.
    Pipermail,
    /// A Mailman MIME digest (`multipart/digest`).
    MimeDigest,
    /// An RFC 1153 plain-text digest ("Today's Topics", 30-dash separators).
    PlainDigest,
    /// One RFC 5322 message (`.eml`).
    Single,
    /// Message text without any header block.
    BodyOnly,
    /// A maildir directory (`cur/` and `new/`).
    Maildir,
}

impl Container {
    /// A short name for reports.
    pub fn name(self) -> &'static str {
        match self {
            Container::Mbox => "mbox",
            Container::Pipermail => "pipermail",
            Container::MimeDigest => "mime-digest",
            Container::PlainDigest => "plain-digest",
            Container::Single => "message",
            Container::BodyOnly => "body",
            Container::Maildir => "maildir",
        }
    }
}

/// One message cut out of a container, still undecoded.
#[derive(Debug, Clone)]
pub struct RawMessage {
    /// The message bytes (mbox `>From ` escaping already undone).
    pub bytes: Vec<u8>,
    /// Whether the bytes start with an RFC 5322 header block.
    pub has_headers: bool,
    /// 1-based line of the container holding the first byte of `bytes`
    /// (for an mbox, the line after the `From ` separator).
    pub line: usize,
}

/// A message past [`MAX_MESSAGE`]: refused (its bytes are never held
/// past the cap) while the rest of its container is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("message of {size} bytes exceeds the cap of {limit} bytes; refused")]
pub struct MessageTooLarge {
    /// 1-based line of the container where the message starts.
    pub line: usize,
    /// The message's size in bytes.
    pub size: u64,
    /// The cap, in bytes.
    pub limit: usize,
}

/// A container that could not be opened at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SplitError {
    /// The gzip stream is corrupt or truncated.
    #[error("corrupt gzip data: {0}")]
    Gzip(String),
    /// The decompressed data exceeds the safety limit.
    #[error("decompressed data larger than {MAX_DECOMPRESSED} bytes")]
    TooLarge,
}

/// Decompresses gzip input (detected by its magic bytes); other input is
/// returned as is.
pub fn decompress(bytes: &[u8]) -> Result<std::borrow::Cow<'_, [u8]>, SplitError> {
    if !bytes.starts_with(&[0x1f, 0x8b]) {
        return Ok(std::borrow::Cow::Borrowed(bytes));
    }
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(bytes)
        .take(MAX_DECOMPRESSED + 1)
        .read_to_end(&mut out)
        .map_err(|e| SplitError::Gzip(e.to_string()))?;
    if out.len() as u64 > MAX_DECOMPRESSED {
        return Err(SplitError::TooLarge);
    }
    Ok(std::borrow::Cow::Owned(out))
}

/// Detects the container of (already decompressed) `bytes` and splits it
/// (messages past [`MAX_MESSAGE`] are left out; [`messages`] names them).
pub fn split(bytes: &[u8]) -> (Container, Vec<RawMessage>) {
    let (container, messages) = messages(bytes);
    (container, messages.filter_map(Result::ok).collect())
}

/// The messages of one container, cut one at a time: an mbox is read line
/// by line, so no more than one message of it is held (at most
/// [`MAX_MESSAGE`] bytes); a digest or single message is split whole.
pub struct Messages<'a>(Cut<'a>);

enum Cut<'a> {
    Mbox(MboxMessages<'a>),
    Parts(std::vec::IntoIter<Result<RawMessage, MessageTooLarge>>),
}

impl Iterator for Messages<'_> {
    type Item = Result<RawMessage, MessageTooLarge>;

    fn next(&mut self) -> Option<Self::Item> {
        match &mut self.0 {
            Cut::Mbox(mbox) => mbox.next(),
            Cut::Parts(parts) => parts.next(),
        }
    }
}

/// `size` bytes of a message starting at `line`, refused when past
/// [`MAX_MESSAGE`].
fn check_size(line: usize, size: usize) -> Result<(), MessageTooLarge> {
    if size > MAX_MESSAGE {
        return Err(MessageTooLarge {
            line,
            size: size as u64,
            limit: MAX_MESSAGE,
        });
    }
    Ok(())
}

/// Detects the container of (already decompressed) `bytes`; its messages,
/// each under [`MAX_MESSAGE`] or refused.
pub fn messages(bytes: &[u8]) -> (Container, Messages<'_>) {
    let (container, cut) = cut(bytes);
    (container, Messages(cut))
}

fn cut(bytes: &[u8]) -> (Container, Cut<'_>) {
    let start = skip_blank_lines(bytes);
    let rest = &bytes[start..];
    let first_line = rest.split(|&b| b == b'\n').next().unwrap_or_default();
    if is_from_line(first_line) {
        let pipermail = is_pipermail_from_line(first_line);
        let container = if pipermail {
            Container::Pipermail
        } else {
            Container::Mbox
        };
        return (container, Cut::Mbox(MboxMessages::new(bytes)));
    }
    // A digest or single message is parsed whole (and a plain digest's
    // lines indexed): one past the message cap is refused as a whole.
    if bytes.len() > MAX_MESSAGE {
        let container = if starts_with_header(rest) {
            Container::Single
        } else {
            Container::BodyOnly
        };
        let refused = MessageTooLarge {
            line: 1,
            size: bytes.len() as u64,
            limit: MAX_MESSAGE,
        };
        return (container, Cut::Parts(vec![Err(refused)].into_iter()));
    }
    let parts = |parts: Vec<RawMessage>| {
        Cut::Parts(parts.into_iter().map(Ok).collect::<Vec<_>>().into_iter())
    };
    if starts_with_header(rest) {
        if let Some(found) = split_mime_digest(bytes) {
            return (Container::MimeDigest, parts(found));
        }
        if let Some(found) = split_plain_digest_of_message(bytes) {
            return (Container::PlainDigest, parts(found));
        }
        return (Container::Single, whole(bytes, true));
    }
    if let Some(found) = split_plain_digest(&String::from_utf8_lossy(bytes), 1) {
        return (Container::PlainDigest, parts(found));
    }
    (Container::BodyOnly, whole(bytes, false))
}

/// The container (at most [`MAX_MESSAGE`] bytes) as its one message.
fn whole(bytes: &[u8], has_headers: bool) -> Cut<'_> {
    let one = RawMessage {
        bytes: bytes.to_vec(),
        has_headers,
        line: 1,
    };
    Cut::Parts(vec![Ok(one)].into_iter())
}

fn skip_blank_lines(bytes: &[u8]) -> usize {
    let mut pos = 0;
    while pos < bytes.len() {
        let end = bytes[pos..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(bytes.len(), |i| pos + i + 1);
        if bytes[pos..end].iter().all(u8::is_ascii_whitespace) {
            pos = end;
        } else {
            break;
        }
    }
    pos
}

/// True for an RFC 4155 separator line: `From <sender> <asctime date>`.
/// The sender is one token, or `user at domain` in pipermail archives; the
/// date must carry a `hh:mm[:ss]` time and a four-digit year, which keeps
/// body lines starting with "From " from splitting a message.
pub fn is_from_line(line: &[u8]) -> bool {
    let Some(rest) = line.strip_prefix(b"From ") else {
        return false;
    };
    let text = String::from_utf8_lossy(rest);
    let tokens: Vec<&str> = text.split_whitespace().collect();
    if tokens.len() < 5 {
        return false;
    }
    let Some(time_at) = tokens.iter().position(|t| is_clock(t)) else {
        return false;
    };
    time_at >= 2
        && tokens[time_at..]
            .iter()
            .any(|t| t.len() == 4 && t.bytes().all(|b| b.is_ascii_digit()))
}

fn is_clock(token: &str) -> bool {
    let parts: Vec<&str> = token.split(':').collect();
    (parts.len() == 2 || parts.len() == 3)
        && parts
            .iter()
            .all(|p| p.len() == 2 && p.bytes().all(|b| b.is_ascii_digit()))
}

fn is_pipermail_from_line(line: &[u8]) -> bool {
    let text = String::from_utf8_lossy(line);
    let mut tokens = text.split_whitespace().skip(1);
    tokens.nth(1) == Some("at")
}

/// True when `bytes` opens with a header field (`Name: value`).
fn starts_with_header(bytes: &[u8]) -> bool {
    let line = bytes.split(|&b| b == b'\n').next().unwrap_or_default();
    let Some(colon) = line.iter().position(|&b| b == b':') else {
        return false;
    };
    colon > 0 && line[..colon].iter().all(|&b| (33..=126).contains(&b))
}

/// The lines of bytes held in memory, each with its line end.
type Lines<'a> = std::slice::SplitInclusive<'a, u8, fn(&u8) -> bool>;

/// An mbox held in memory, cut at its `From ` lines (each preceded by a
/// blank line or the start of the file) one message at a time, with
/// `>From ` quoting undone (mboxrd: one `>` is removed from any `>+From `
/// line, which also covers mboxo). A message past [`MAX_MESSAGE`] stops
/// being copied there and is refused when it ends.
struct MboxMessages<'a> {
    lines: std::iter::Enumerate<Lines<'a>>,
    /// The message being read: its bytes (empty once past the cap), its
    /// first line, and its size so far.
    current: Option<(RawMessage, usize)>,
    previous_blank: bool,
}

impl<'a> MboxMessages<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        let newline: fn(&u8) -> bool = |&b| b == b'\n';
        MboxMessages {
            lines: bytes.split_inclusive(newline).enumerate(),
            current: None,
            previous_blank: true,
        }
    }
}

impl Iterator for MboxMessages<'_> {
    type Item = Result<RawMessage, MessageTooLarge>;

    fn next(&mut self) -> Option<Self::Item> {
        for (index, line) in self.lines.by_ref() {
            let trimmed = trim_eol(line);
            if self.previous_blank && is_from_line(trimmed) {
                let next = RawMessage {
                    bytes: Vec::new(),
                    has_headers: true,
                    line: index + 2,
                };
                self.previous_blank = false;
                match self.current.replace((next, 0)) {
                    Some(done) => return Some(finish_mbox_message(done)),
                    None => continue,
                }
            }
            self.previous_blank = trimmed.iter().all(u8::is_ascii_whitespace);
            if let Some((message, size)) = self.current.as_mut() {
                let line = if is_escaped_from(trimmed) {
                    &line[1..]
                } else {
                    line
                };
                *size += line.len();
                if *size <= MAX_MESSAGE {
                    message.bytes.extend_from_slice(line);
                } else if !message.bytes.is_empty() {
                    message.bytes = Vec::new();
                }
            }
        }
        self.current.take().map(finish_mbox_message)
    }
}

fn finish_mbox_message(
    (mut message, size): (RawMessage, usize),
) -> Result<RawMessage, MessageTooLarge> {
    check_size(message.line, size)?;
    // The blank line before the next `From ` belongs to the separator.
    while message.bytes.ends_with(b"\n\n") || message.bytes.ends_with(b"\r\n\r\n") {
        let cut = if message.bytes.ends_with(b"\r\n") {
            2
        } else {
            1
        };
        message.bytes.truncate(message.bytes.len() - cut);
    }
    Ok(message)
}

fn trim_eol(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

fn is_escaped_from(line: &[u8]) -> bool {
    let quotes = line.iter().take_while(|&&b| b == b'>').count();
    quotes > 0 && line[quotes..].starts_with(b"From ")
}

/// Splits the `multipart/digest` part of a Mailman MIME digest. Parts that
/// are `message/rfc822` yield the nested message; Mailman 2.0 wrote its
/// digest parts as plain parts whose header block is the message's own
/// (`Message: N`, `Date`, `From`, `Subject`), so those are taken whole.
fn split_mime_digest(bytes: &[u8]) -> Option<Vec<RawMessage>> {
    let message = super::mime::parse(bytes).ok()?;
    let digest = message.parts.iter().find(|p| {
        p.content_type().is_some_and(|c| {
            c.ctype().eq_ignore_ascii_case("multipart") && c.subtype() == Some("digest")
        })
    })?;
    let raw_all = message.raw_message.as_ref();
    let mut out = Vec::new();
    for &child_id in digest.sub_parts()? {
        let Some(child) = message.parts.get(child_id as usize) else {
            continue;
        };
        // A message/rfc822 part: the nested message is the part's body;
        // otherwise (Mailman 2.0) the part's own header block is the message's.
        let start = if child.is_message() {
            child.offset_body
        } else {
            child.offset_header
        } as usize;
        let end = (child.offset_end as usize).min(raw_all.len());
        let start = start.min(end);
        let raw = &raw_all[start..end];
        let line = 1 + raw_all[..start].iter().filter(|&&b| b == b'\n').count();
        let skip = skip_blank_lines(raw);
        out.push(RawMessage {
            bytes: raw[skip..].to_vec(),
            has_headers: true,
            line,
        });
    }
    Some(out)
}

/// A plain digest delivered as a message: its text body is split.
fn split_plain_digest_of_message(bytes: &[u8]) -> Option<Vec<RawMessage>> {
    let message = super::mime::parse(bytes).ok()?;
    if message.root_part().is_multipart() {
        return None;
    }
    let body = message.body_text(0)?;
    let body_offset = (message.root_part().offset_body as usize).min(bytes.len());
    let body_line = 1 + bytes[..body_offset].iter().filter(|&&b| b == b'\n').count();
    split_plain_digest(&body, body_line)
}

/// Splits an RFC 1153 digest body: preamble and "Today's Topics" up to a
/// separator of (usually 70) dashes, then messages separated by lines of
/// exactly 30 dashes, then "End of ... Digest". Mailman's "Digest Footer"
/// pseudo-message is dropped. `first_line` numbers the body's first line.
fn split_plain_digest(text: &str, first_line: usize) -> Option<Vec<RawMessage>> {
    let lines: Vec<&str> = text.lines().map(|l| l.trim_end_matches('\r')).collect();
    let topics = lines
        .iter()
        .position(|l| l.trim().eq_ignore_ascii_case("Today's Topics:"))?;
    let preamble_end = topics
        + lines[topics..]
            .iter()
            .position(|l| l.len() >= 60 && l.bytes().all(|b| b == b'-'))?;
    if !lines[preamble_end..].iter().any(|l| is_digest_separator(l)) {
        return None;
    }
    let mut out = Vec::new();
    let mut chunk_start = preamble_end + 1;
    for index in preamble_end + 1..=lines.len() {
        let at_end = index == lines.len();
        if !at_end && !is_digest_separator(lines[index]) {
            continue;
        }
        let chunk = &lines[chunk_start..index];
        let first = chunk.iter().position(|l| !l.trim().is_empty());
        if let Some(first) = first {
            let body = &chunk[first..];
            let is_footer = body.first().is_some_and(|l| {
                let l = l.trim();
                l.starts_with("End of ") || l.eq_ignore_ascii_case("Subject: Digest Footer")
            });
            if !is_footer {
                let mut bytes = body.join("\n").into_bytes();
                bytes.push(b'\n');
                out.push(RawMessage {
                    has_headers: starts_with_header(&bytes),
                    bytes,
                    line: first_line + chunk_start + first,
                });
            }
        }
        chunk_start = index + 1;
    }
    Some(out)
}

fn is_digest_separator(line: &str) -> bool {
    line.len() == 30 && line.bytes().all(|b| b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_lines() {
        assert!(is_from_line(b"From MAILER-DAEMON Fri Jul  8 12:08:34 2011"));
        assert!(is_from_line(
            b"From marc.deslauriers at canonical.com  Thu Apr  1 13:26:32 2021"
        ));
        assert!(!is_from_line(b"From the stable distribution we learn"));
        assert!(!is_from_line(b"From: someone@example.org"));
    }

    #[test]
    fn mbox_with_escaped_from() {
        let mbox = b"From a@b Mon Jan  1 00:00:00 2024\nSubject: one\n\n>From here\nFrom nowhere to anywhere\n\nFrom c@d Tue Jan  2 00:00:00 2024\nSubject: two\n\nbody\n";
        let (container, messages) = split(mbox);
        assert_eq!(container, Container::Mbox);
        assert_eq!(messages.len(), 2);
        let first = String::from_utf8_lossy(&messages[0].bytes);
        assert!(first.contains("\nFrom here\n"), "{first}");
        assert!(first.contains("From nowhere"));
        assert_eq!(messages[1].line, 8);
    }

    #[test]
    fn plain_digest() {
        let digest = "Send list submissions to\n\nToday's Topics:\n\n   1. a (x)\n\n\
            ----------------------------------------------------------------------\n\n\
            Message: 1\nSubject: a\n\nbody a\n\n------------------------------\n\n\
            Message: 2\nSubject: b\n\nbody b\n\n------------------------------\n\n\
            End of List Digest, Vol 1, Issue 1\n**********\n";
        let (container, messages) = split(digest.as_bytes());
        assert_eq!(container, Container::PlainDigest);
        assert_eq!(messages.len(), 2);
        assert!(messages.iter().all(|m| m.has_headers));
    }

    #[test]
    fn plain_digest_delivered_as_a_message() {
        let digest = "From: list-request@example.org\nSubject: List Digest, Vol 1, Issue 1\nContent-Type: text/plain; charset=us-ascii\n\n\
            Today's Topics:\n\n   1. a (x)\n\n\
            ----------------------------------------------------------------------\n\n\
            Message: 1\nSubject: a\n\nbody a\n\n------------------------------\n\n\
            Message: 2\nSubject: b\n\nbody b\n\n------------------------------\n\n\
            Message: 3\nSubject: c\n\nbody c\n\n------------------------------\n\n\
            End of List Digest, Vol 1, Issue 1\n**********\n";
        let (container, messages) = split(digest.as_bytes());
        assert_eq!(container, Container::PlainDigest);
        assert_eq!(messages.len(), 3);
        // Lines count from the top of the file: `Message: 2` is line 18.
        assert_eq!(messages[1].line, 18);
    }

    #[test]
    fn bare_body() {
        let (container, messages) = split(b"Debian Security Advisory DSA-1-1\n\nPackage : x\n");
        assert_eq!(container, Container::BodyOnly);
        assert_eq!(messages.len(), 1);
    }
}
