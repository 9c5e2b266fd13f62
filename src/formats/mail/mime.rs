//! The one door to `mail-parser`: MIME nesting is measured and capped
//! before a message is handed to it.
//!
//! `mail-parser` reads nested `message/rfc822` parts into nested `Message`
//! values, and freeing them recurses once per level: 50,000 levels overflow
//! the stack and abort the process. [`parse`] first walks the raw bytes
//! line by line (no recursion, no allocation per level beyond the stack of
//! open multipart boundaries) and refuses a message nested deeper than
//! [`MAX_DEPTH`].

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
pub fn deeper_than(bytes: &[u8], limit: usize) -> bool {
    // Open multipart boundaries, with the depth of the entity declaring each.
    let mut open: Vec<(Vec<u8>, usize)> = Vec::new();
    let mut depth = 1;
    let mut in_headers = true;
    // The Content-Type header of the current header block (unfolded).
    let mut content_type: Vec<u8> = Vec::new();
    let mut in_content_type = false;
    for line in bytes.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
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
                    // The body is a message: its header block starts now.
                    depth += 1;
                    in_headers = true;
                }
                content_type.clear();
                in_content_type = false;
            } else if line[0] == b' ' || line[0] == b'\t' {
                if in_content_type {
                    content_type.extend_from_slice(line);
                }
            } else {
                in_content_type =
                    line.len() >= 13 && line[..13].eq_ignore_ascii_case(b"content-type:");
                if in_content_type {
                    content_type.clear();
                    content_type.extend_from_slice(&line[13..]);
                }
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
    false
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
