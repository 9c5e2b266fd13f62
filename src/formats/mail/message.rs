//! One decoded message: the headers the announcement parsers need and the
//! plain-text body (MIME decoded, PGP clear-signing removed).

use mail_parser::MimeHeaders;

use super::split::RawMessage;
use crate::model::Timestamp;

/// A message ready for the announcement parsers.
#[derive(Debug, Clone, Default)]
pub struct MailMessage {
    /// 1-based position of the message in its container.
    pub index: usize,
    /// 1-based line of the container where the message starts.
    pub line: usize,
    /// The decoded `Subject`, folded onto one line.
    pub subject: Option<String>,
    /// The `Message-ID`, without angle brackets.
    pub message_id: Option<String>,
    /// The `Date`, when present and valid.
    pub date: Option<Timestamp>,
    /// The sender address (pipermail's `user at domain` restored).
    pub from: Option<String>,
    /// The list archive URL from `List-Archive`, when present.
    pub list_archive: Option<String>,
    /// The text body with LF line ends, clear-signing stripped.
    pub body: String,
    /// 1-based line of the container where the body starts (approximate
    /// after MIME decoding; exact for plain messages).
    pub body_line: usize,
}

impl MailMessage {
    /// How errors name the message: its Message-ID, else its position.
    pub fn label(&self) -> String {
        match &self.message_id {
            Some(id) => format!("message {} <{id}>", self.index),
            None => format!("message {} (line {})", self.index, self.line),
        }
    }

    /// The container line of body line `n` (0-based), for error messages.
    pub fn line_of(&self, n: usize) -> usize {
        self.body_line + n
    }
}

/// Decodes one raw message. A header block is MIME-decoded with
/// `mail-parser`; a bare body is taken as text. Fails only when the bytes
/// cannot be read as a message at all or nest too deep ([`super::mime`]).
pub fn decode(raw: &RawMessage, index: usize) -> Result<MailMessage, super::mime::MimeError> {
    if !raw.has_headers {
        let text = normalize(&String::from_utf8_lossy(&raw.bytes));
        return Ok(MailMessage {
            index,
            line: raw.line,
            body: strip_clearsign(&text),
            body_line: raw.line,
            ..MailMessage::default()
        });
    }
    let message = super::mime::parse(&raw.bytes)?;
    let mut texts: Vec<String> = Vec::new();
    for i in 0..message.text_body_count() {
        let is_signature = message
            .text_part(i as u32)
            .and_then(|p| p.content_type())
            .is_some_and(|c| c.subtype() == Some("pgp-signature"));
        if is_signature {
            continue;
        }
        if let Some(text) = message.body_text(i) {
            texts.push(text.into_owned());
        }
    }
    let body = normalize(&texts.join("\n"));
    let body_offset = (message.root_part().offset_body as usize).min(raw.bytes.len());
    let header_lines = raw.bytes[..body_offset]
        .iter()
        .filter(|&&b| b == b'\n')
        .count();
    let date = message
        .date()
        .filter(|d| d.is_valid())
        .and_then(|d| d.to_rfc3339().parse::<Timestamp>().ok())
        .map(|t| Timestamp::from_instant(t.instant()));
    let from = message
        .from()
        .and_then(|list| list.first())
        .and_then(|m| m.address.as_deref().map(str::to_string))
        .map(|a| deobfuscate(&a));
    let list_archive = message
        .list_archive()
        .as_address()
        .and_then(|list| list.first())
        .and_then(|m| m.address.as_deref().map(str::to_string))
        .or_else(|| message.list_archive().as_text().map(str::to_string))
        .map(|u| u.trim_matches(['<', '>', ' ']).to_string())
        .filter(|u| u.starts_with("http"));
    Ok(MailMessage {
        index,
        line: raw.line,
        subject: message
            .subject()
            .map(|s| s.split_whitespace().collect::<Vec<_>>().join(" ")),
        message_id: message.message_id().map(str::to_string),
        date,
        from,
        list_archive,
        body: strip_clearsign(&body),
        body_line: raw.line + header_lines,
    })
}

/// CRLF and CR line ends become LF; no-break spaces (which some mail
/// clients put in indented tables) become spaces.
fn normalize(text: &str) -> String {
    let mut text = if text.contains('\r') {
        text.replace("\r\n", "\n").replace('\r', "\n")
    } else {
        text.to_string()
    };
    if text.contains('\u{a0}') {
        text = text.replace('\u{a0}', " ");
    }
    text
}

/// Pipermail writes `user at domain`; restores `user@domain`.
fn deobfuscate(address: &str) -> String {
    if address.contains('@') {
        return address.to_string();
    }
    match address.split_once(" at ") {
        Some((user, domain)) => format!("{}@{}", user.trim(), domain.trim()),
        None => address.to_string(),
    }
}

/// Removes inline PGP clear-signing (RFC 4880 section 7): the armor line
/// and its headers, the signature block, and the dash-escaping (`- `) of
/// signed lines. Text outside the armor is kept; line count is preserved
/// (removed lines become empty) so line numbers in errors stay right.
pub fn strip_clearsign(text: &str) -> String {
    if !text.contains("-----BEGIN PGP SIGNED MESSAGE-----") {
        return text.to_string();
    }
    #[derive(PartialEq)]
    enum State {
        Outside,
        ArmorHeaders,
        Signed,
        Signature,
    }
    let mut state = State::Outside;
    let mut out = String::with_capacity(text.len());
    for line in text.split('\n') {
        let kept = match state {
            State::Outside => {
                if line.trim_end() == "-----BEGIN PGP SIGNED MESSAGE-----" {
                    state = State::ArmorHeaders;
                    ""
                } else {
                    line
                }
            }
            State::ArmorHeaders => {
                if line.trim().is_empty() {
                    state = State::Signed;
                }
                ""
            }
            State::Signed => {
                if line.trim_end() == "-----BEGIN PGP SIGNATURE-----" {
                    state = State::Signature;
                    ""
                } else {
                    line.strip_prefix("- ").unwrap_or(line)
                }
            }
            State::Signature => {
                if line.trim_end() == "-----END PGP SIGNATURE-----" {
                    state = State::Outside;
                }
                ""
            }
        };
        out.push_str(kept);
        out.push('\n');
    }
    out.pop();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clearsign_is_stripped_and_dash_unescaped() {
        let text = "intro\n-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\n- ----------\nPackage : x\n- -- not a sig\n-----BEGIN PGP SIGNATURE-----\n\nabc\n=xyz\n-----END PGP SIGNATURE-----\noutro";
        let out = strip_clearsign(text);
        let lines: Vec<&str> = out.split('\n').collect();
        assert_eq!(lines.len(), text.split('\n').count());
        assert_eq!(lines[4], "----------");
        assert_eq!(lines[6], "-- not a sig");
        assert!(!out.contains("abc"));
        assert!(out.starts_with("intro\n") && out.ends_with("outro"));
    }

    #[test]
    fn quoted_printable_and_base64_bodies() {
        let eml = b"Subject: =?utf-8?q?caf=C3=A9?=\nMessage-ID: <a@b>\nContent-Type: multipart/mixed; boundary=XX\n\n--XX\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\nversion 1.0=\n-1\n--XX\nContent-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: base64\n\nY2Fm6Q==\n--XX--\n";
        let raw = RawMessage {
            bytes: eml.to_vec(),
            has_headers: true,
            line: 1,
        };
        let m = decode(&raw, 1).unwrap();
        assert_eq!(m.subject.as_deref(), Some("café"));
        assert_eq!(m.message_id.as_deref(), Some("a@b"));
        assert!(m.body.contains("version 1.0-1"), "{:?}", m.body);
        assert!(m.body.contains("café"), "{:?}", m.body);
    }

    #[test]
    fn pipermail_address() {
        assert_eq!(deobfuscate("kees at ubuntu.com"), "kees@ubuntu.com");
    }
}
