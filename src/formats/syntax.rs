//! JSON or YAML: the two syntaxes OSV records and the Alpine secdb are
//! published in, told from a file name or the bytes, and the value cap
//! (see [`super::values`]) that fits each.

use super::values::{self, TooManyValues};

/// The serialization of a JSON-or-YAML document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Syntax {
    /// JSON (`.json`; the published secdb `secdb/<release>/<repo>.json`).
    Json,
    /// YAML (`.yaml`, `.yml`), as the PyPA and OSS-Fuzz databases and the
    /// secdb source repository publish.
    Yaml,
}

impl Syntax {
    /// The syntax implied by a file name, if it names one.
    pub fn from_path(path: &str) -> Option<Syntax> {
        let lower = path.to_ascii_lowercase();
        if lower.ends_with(".json") {
            Some(Syntax::Json)
        } else if lower.ends_with(".yaml") || lower.ends_with(".yml") {
            Some(Syntax::Yaml)
        } else {
            None
        }
    }

    /// Guesses from content: JSON starts with `{` or `[` after whitespace.
    pub fn sniff(bytes: &[u8]) -> Syntax {
        match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
            Some(b'{') | Some(b'[') => Syntax::Json,
            _ => Syntax::Yaml,
        }
    }

    /// Checks that the document `bytes` in this syntax holds at most
    /// `limit` values ([`values::check_json`] or [`values::check_yaml`]).
    pub fn check_values(self, bytes: &[u8], limit: u64) -> Result<(), TooManyValues> {
        match self {
            Syntax::Json => values::check_json(bytes, limit),
            Syntax::Yaml => values::check_yaml(bytes, limit),
        }
    }
}
