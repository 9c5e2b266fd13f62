//! The one door to `mail-parser`: MIME nesting is measured and capped
//! before a message is handed to it.
//!
//! `mail-parser` reads nested `message/rfc822` parts into nested `Message`
//! values, and freeing them recurses once per level: 50,000 levels overflow
//! the stack and abort the process. [`parse`] first walks the raw bytes
//! line by line (no recursion, no allocation per level beyond the stack of
//! open multipart boundaries) and refuses a message nested deeper than
//! [`MAX_DEPTH`]. Messages inside base64 or quoted-printable parts are
//! decoded and counted too.

use std::collections::VecDeque;

use mail_parser::{Message, MessageParser};

/// Deepest MIME nesting accepted (multipart levels and `message/rfc822`
/// levels together). Real announcements and digests nest about 5 deep.
pub const MAX_DEPTH: usize = 32;

/// Why [`parse`] gave no message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MimeError {
    /// Parts nest deeper than [`MAX_DEPTH`].
    #[error("MIME parts nested deeper than {MAX_DEPTH} levels")]
    TooDeep,
    /// `mail-parser` found no message in the bytes.
    #[error("not a readable RFC 5322 message")]
    Unreadable,
}

/// Parses `bytes` with `mail-parser` once their nesting is known to be at
/// most [`MAX_DEPTH`].
pub fn parse(bytes: &[u8]) -> Result<Message<'_>, MimeError> {
    if deeper_than(bytes, MAX_DEPTH) {
        return Err(MimeError::TooDeep);
    }
    MessageParser::new()
        .parse(bytes)
        .ok_or(MimeError::Unreadable)
}

/// Whether the MIME structure of `bytes` nests deeper than `limit`. It
/// follows header blocks, `Content-Type` (multipart boundaries and
/// `message/*` parts) and boundary lines the way a MIME reader does; it may
/// count a level the full parser would not, never fewer.
///
/// A `message/*` part sent base64 or quoted-printable is a nested message
/// too (`mail-parser` decodes and parses it): its body is decoded and
/// scanned one level deeper. Decoded bodies wait in a queue, not on the
/// stack, and each is no larger than the text it came from, so the scan
/// holds at most about twice the input.
pub fn deeper_than(bytes: &[u8], limit: usize) -> bool {
    let mut encoded = VecDeque::new();
    if scan_entity(bytes, 1, limit, &mut encoded) {
        return true;
    }
    while let Some((body, depth)) = encoded.pop_front() {
        if scan_entity(&body, depth, limit, &mut encoded) {
            return true;
        }
    }
    false
}

/// A `Content-Transfer-Encoding` that hides a nested message's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TransferEncoding {
    Base64,
    QuotedPrintable,
}

impl TransferEncoding {
    fn from_header(value: &[u8]) -> Option<TransferEncoding> {
        let value = value.trim_ascii();
        if value.eq_ignore_ascii_case(b"base64") {
            Some(TransferEncoding::Base64)
        } else if value.eq_ignore_ascii_case(b"quoted-printable") {
            Some(TransferEncoding::QuotedPrintable)
        } else {
            None
        }
    }

    fn decode(self, body: &[u8]) -> Vec<u8> {
        match self {
            TransferEncoding::Base64 => decode_base64(body),
            TransferEncoding::QuotedPrintable => decode_quoted_printable(body),
        }
    }
}

/// The header of a header block whose (possibly folded) value is being read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    ContentType,
    TransferEncoding,
    Other,
}

/// Scans one entity (the whole input, or a decoded message body) that
/// starts with a header block at `depth`; encoded `message/*` bodies are
/// queued on `encoded` with the depth of the message they hold. True as
/// soon as the depth passes `limit`.
fn scan_entity(
    bytes: &[u8],
    mut depth: usize,
    limit: usize,
    encoded: &mut VecDeque<(Vec<u8>, usize)>,
) -> bool {
    // Open multipart boundaries, with the depth of the entity declaring each.
    let mut open: Vec<(Vec<u8>, usize)> = Vec::new();
    let mut in_headers = true;
    // The Content-Type and Content-Transfer-Encoding of the current header
    // block (unfolded).
    let mut content_type: Vec<u8> = Vec::new();
    let mut transfer_encoding: Vec<u8> = Vec::new();
    let mut field = Field::Other;
    // An encoded message body being skipped: its encoding and start.
    let mut encoded_body: Option<(TransferEncoding, usize)> = None;
    let mut offset = 0;
    for line in bytes.split(|&b| b == b'\n') {
        let line_start = offset;
        offset += line.len() + 1;
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if let Some((encoding, body_start)) = encoded_body {
            // The body runs to the innermost boundary (as mail-parser reads it).
            let ends = line
                .strip_prefix(b"--")
                .is_some_and(|rest| open.last().is_some_and(|(b, _)| rest.starts_with(b)));
            if !ends {
                continue;
            }
            let body = bytes.get(body_start..line_start).unwrap_or_default();
            encoded.push_back((encoding.decode(body), depth));
            encoded_body = None;
        }
        if in_headers {
            if line.is_empty() {
                in_headers = false;
                let lower = content_type.to_ascii_lowercase();
                let media = lower.trim_ascii_start();
                if media.starts_with(b"multipart/") {
                    if let Some(boundary) = boundary(&content_type) {
                        open.push((boundary.to_vec(), depth));
                    }
                } else if media.starts_with(b"message/rfc822")
                    || media.starts_with(b"message/global")
                {
                    // The body is a message, one level deeper: its header
                    // block starts now, or once decoded.
                    depth += 1;
                    match TransferEncoding::from_header(&transfer_encoding) {
                        Some(encoding) => encoded_body = Some((encoding, offset)),
                        None => in_headers = true,
                    }
                }
                content_type.clear();
                transfer_encoding.clear();
                field = Field::Other;
            } else if line[0] == b' ' || line[0] == b'\t' {
                match field {
                    Field::ContentType => content_type.extend_from_slice(line),
                    Field::TransferEncoding => transfer_encoding.extend_from_slice(line),
                    Field::Other => {}
                }
            } else if let Some(value) = header_value(line, b"content-type:") {
                field = Field::ContentType;
                content_type.clear();
                content_type.extend_from_slice(value);
            } else if let Some(value) = header_value(line, b"content-transfer-encoding:") {
                field = Field::TransferEncoding;
                transfer_encoding.clear();
                transfer_encoding.extend_from_slice(value);
            } else {
                field = Field::Other;
            }
        } else if let Some(rest) = line.strip_prefix(b"--") {
            if let Some(i) = open.iter().rposition(|(b, _)| rest.starts_with(b)) {
                let level = open[i].1;
                if rest[open[i].0.len()..].starts_with(b"--") {
                    open.truncate(i);
                    depth = level;
                } else {
                    open.truncate(i + 1);
                    depth = level + 1;
                    in_headers = true;
                }
            }
        }
        if depth > limit {
            return true;
        }
    }
    if let Some((encoding, body_start)) = encoded_body {
        let body = bytes.get(body_start..).unwrap_or_default();
        encoded.push_back((encoding.decode(body), depth));
    }
    false
}

/// The value of header `name` (lower case, with the colon) if `line` is it.
fn header_value<'a>(line: &'a [u8], name: &[u8]) -> Option<&'a [u8]> {
    (line.len() >= name.len() && line[..name.len()].eq_ignore_ascii_case(name))
        .then(|| &line[name.len()..])
}

/// MIME base64 as mail readers take it: characters outside the alphabet
/// (line breaks, padding, junk) are skipped; a trailing partial group gives
/// what bytes it can.
fn decode_base64(body: &[u8]) -> Vec<u8> {
    fn sextet(b: u8) -> Option<u32> {
        match b {
            b'A'..=b'Z' => Some(u32::from(b - b'A')),
            b'a'..=b'z' => Some(u32::from(b - b'a') + 26),
            b'0'..=b'9' => Some(u32::from(b - b'0') + 52),
            b'+' => Some(62),
            b'/' => Some(63),
            _ => None,
        }
    }
    let mut out = Vec::with_capacity(body.len() / 4 * 3);
    let mut group = 0u32;
    let mut bits = 0;
    for value in body.iter().filter_map(|&b| sextet(b)) {
        group = (group << 6) | value;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((group >> bits) as u8);
            group &= (1 << bits) - 1;
        }
    }
    out
}

/// Quoted-printable: `=XX` is a byte, `=` at a line end joins lines; any
/// other byte stands for itself.
fn decode_quoted_printable(body: &[u8]) -> Vec<u8> {
    let hex = |b: u8| (b as char).to_digit(16);
    let mut out = Vec::with_capacity(body.len());
    let mut i = 0;
    while i < body.len() {
        let b = body[i];
        if b != b'=' {
            out.push(b);
            i += 1;
            continue;
        }
        let rest = &body[i + 1..];
        if let (Some(hi), Some(lo)) = (
            rest.first().and_then(|&c| hex(c)),
            rest.get(1).and_then(|&c| hex(c)),
        ) {
            out.push((hi * 16 + lo) as u8);
            i += 3;
        } else if rest.starts_with(b"\r\n") {
            i += 3;
        } else if rest.starts_with(b"\n") {
            i += 2;
        } else {
            out.push(b);
            i += 1;
        }
    }
    out
}

/// The `boundary` parameter of a Content-Type value, quoted or not.
fn boundary(content_type: &[u8]) -> Option<&[u8]> {
    let lower = content_type.to_ascii_lowercase();
    let at = memchr::memmem::find(&lower, b"boundary=")? + "boundary=".len();
    let value = &content_type[at..];
    let value = match value.strip_prefix(b"\"") {
        Some(quoted) => &quoted[..memchr::memchr(b'"', quoted).unwrap_or(quoted.len())],
        None => {
            let end = value
                .iter()
                .position(|&b| b == b';' || b.is_ascii_whitespace())
                .unwrap_or(value.len());
            &value[..end]
        }
    };
    (!value.is_empty()).then_some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nested_rfc822(levels: usize) -> Vec<u8> {
        let mut mail = b"From: a@example.org\r\nSubject: outer\r\n".to_vec();
        for _ in 0..levels {
            mail.extend_from_slice(b"Content-Type: message/rfc822\r\n\r\nFrom: b@example.org\r\n");
        }
        mail.extend_from_slice(b"\r\nbody\r\n");
        mail
    }

    /// Issue 13: 50,000 nested message/rfc822 parts aborted the process
    /// (stack overflow freeing mail-parser's nested messages).
    #[test]
    fn fifty_thousand_nested_messages_are_refused_before_parsing() {
        assert_eq!(
            parse(&nested_rfc822(50_000)).err(),
            Some(MimeError::TooDeep)
        );
        // Nesting up to the cap still parses.
        assert!(parse(&nested_rfc822(MAX_DEPTH - 1)).is_ok());
        assert_eq!(
            parse(&nested_rfc822(MAX_DEPTH)).err(),
            Some(MimeError::TooDeep)
        );
    }

    /// `levels` nested messages inside a message/rfc822 part sent with
    /// Content-Transfer-Encoding `encoding` (its body encoded by `encode`).
    fn encoded_nest(levels: usize, encoding: &str, encode: fn(&[u8]) -> Vec<u8>) -> Vec<u8> {
        let mut mail = format!(
            "From: a@example.org\r\nSubject: outer\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n\
             --b\r\nContent-Type: text/plain\r\n\r\nhello\r\n\
             --b\r\nContent-Type: message/rfc822\r\nContent-Transfer-Encoding: {encoding}\r\n\r\n"
        )
        .into_bytes();
        mail.extend_from_slice(&encode(&nested_rfc822(levels)));
        mail.extend_from_slice(b"\r\n--b--\r\n");
        mail
    }

    fn base64_lines(bytes: &[u8]) -> Vec<u8> {
        use base64::Engine;
        let text = base64::engine::general_purpose::STANDARD.encode(bytes);
        let mut out = Vec::new();
        for line in text.as_bytes().chunks(76) {
            out.extend_from_slice(line);
            out.extend_from_slice(b"\r\n");
        }
        out
    }

    /// Quoted-printable with every header name split by a soft line break,
    /// so no line of the raw part looks like a header.
    fn quoted_printable_split(bytes: &[u8]) -> Vec<u8> {
        let text = String::from_utf8_lossy(bytes)
            .replace("Content-Type", "Content-=\r\nType")
            .replace("From:", "Fr=\r\nom=3A");
        text.into_bytes()
    }

    /// Issue 13: nesting inside a base64 (or quoted-printable) message/rfc822
    /// part was not counted, so 50,000 levels hidden in one reached
    /// mail-parser and overflowed the stack.
    #[test]
    fn nesting_inside_encoded_message_parts_is_counted() {
        for (encoding, encode) in [
            ("base64", base64_lines as fn(&[u8]) -> Vec<u8>),
            ("quoted-printable", quoted_printable_split),
        ] {
            let deep = encoded_nest(50_000, encoding, encode);
            assert_eq!(parse(&deep).err(), Some(MimeError::TooDeep), "{encoding}");
            // The part itself is level 2 and its message level 3: the
            // hidden levels add to them, up to the cap.
            let fits = encoded_nest(MAX_DEPTH - 3, encoding, encode);
            assert!(!deeper_than(&fits, MAX_DEPTH), "{encoding}");
            let message = parse(&fits).unwrap_or_else(|e| panic!("{encoding}: {e}"));
            assert!(message.attachments().count() > 0, "{encoding}");
            let over = encoded_nest(MAX_DEPTH - 2, encoding, encode);
            assert!(deeper_than(&over, MAX_DEPTH), "{encoding}");
        }
    }

    #[test]
    fn base64_and_quoted_printable_decode_as_mail_readers_do() {
        assert_eq!(decode_base64(b"aGVs\r\nbG8=\r\n"), b"hello");
        assert_eq!(decode_base64(b"aGVsbA"), b"hell");
        assert_eq!(decode_quoted_printable(b"a=3Db=\r\nc=\nd=ZZ"), b"a=bcd=ZZ");
    }

    #[test]
    fn nested_multiparts_are_counted_and_closed_parts_give_depth_back() {
        let mut deep = String::from("Subject: x\n");
        for i in 0..40 {
            deep.push_str(&format!(
                "Content-Type: multipart/mixed;\n boundary=\"b{i}\"\n\n--b{i}\n"
            ));
        }
        deep.push_str("\ntext\n");
        assert!(deeper_than(deep.as_bytes(), MAX_DEPTH));
        // Forty sibling parts, each closed: depth 2 all along.
        let mut wide = String::from("Subject: x\nContent-Type: multipart/digest; boundary=d\n\n");
        for _ in 0..40 {
            wide.push_str("--d\nContent-Type: message/rfc822\n\nSubject: inner\n\nhello\n");
        }
        wide.push_str("--d--\n");
        assert!(!deeper_than(wide.as_bytes(), 3));
        assert!(deeper_than(wide.as_bytes(), 2));
    }

    /// Every real message and digest under `../shared/data/mail` stays far
    /// below the cap (skipped when the shared data is absent).
    #[test]
    fn real_digests_and_announcements_pass() {
        let shared = std::env::var("ADVISORD_SHARED").unwrap_or_else(|_| "../shared".into());
        let root = std::path::Path::new(&shared).join("data/mail");
        if !root.is_dir() {
            eprintln!("skipped: {} absent", root.display());
            return;
        }
        let mut dirs = vec![root];
        let mut seen = 0;
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).expect("mail dir").flatten() {
                let path = entry.path();
                if path.is_dir() {
                    dirs.push(path);
                    continue;
                }
                let bytes = std::fs::read(&path).expect("mail file");
                let bytes = crate::formats::mail::split::decompress(&bytes).expect("gunzip");
                assert!(!deeper_than(&bytes, 8), "{}", path.display());
                seen += 1;
            }
        }
        assert!(seen > 10, "{seen}");
    }
}
