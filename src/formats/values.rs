//! The per-document value cap, checked on the bytes before a JSON or YAML
//! document is parsed into a tree: what a parse holds grows with the
//! number of values (each a tree node, a `String`, a struct), not with the
//! bytes, and 32 MiB of `"1",` is eight million of them. A document whose
//! weighted count passes [`DEFAULT_MAX_VALUES`] is refused by name before
//! any of it is built, whatever field holds the values (`versions`, range
//! events, affected entries, aliases, references, secfixes).
//!
//! The count is lexical and an upper bound. JSON: one per structural
//! character (`,` `:` `[` `{`) outside strings, which is one per key and
//! value. YAML: one per character that can start a node (`,` `:` `[` `{`
//! `-` `?` and line breaks), wherever it is. A mapping becomes a struct
//! (an OSV affected entry: hundreds of bytes), not a string, so its
//! opening (`{`, and `:` in YAML, where block mappings have no braces)
//! weighs [`MAPPING_WEIGHT`].

/// Default most values (keys and values) one JSON or YAML document may
/// hold. The largest real OSV records (AlmaLinux advisories listing
/// hundreds of packages) hold about 10,000; real secdb files of a release
/// a few tens of thousands. A million keeps every parser's tree of one
/// document well under 256 MB.
pub const DEFAULT_MAX_VALUES: u64 = 1 << 20;

/// What a mapping weighs in the count, against one for a string: an
/// empty OSV affected entry `{}` costs about eight times a version string
/// once parsed and stored.
pub const MAPPING_WEIGHT: u64 = 8;

/// A document holding more values than the cap: it is refused (an error
/// of its file) and the rest of the feed is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("document holds more than {limit} values (keys and values, a mapping counting {MAPPING_WEIGHT}); refused")]
pub struct TooManyValues {
    /// The cap.
    pub limit: u64,
}

/// Checks that the JSON document `bytes` holds at most `limit` keys and
/// values (stops counting at the first one past it).
pub fn check_json(bytes: &[u8], limit: u64) -> Result<(), TooManyValues> {
    let mut count = 1u64;
    let mut in_string = false;
    let mut escaped = false;
    for &b in bytes {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b',' | b':' | b'[' => count += 1,
            b'{' => count += MAPPING_WEIGHT,
            _ => continue,
        }
        if count > limit {
            return Err(TooManyValues { limit });
        }
    }
    Ok(())
}

/// Checks that the YAML document `bytes` holds at most `limit` nodes, by
/// the upper bound of the module doc (quoting is not followed: a long
/// description counts its commas and lines too).
pub fn check_yaml(bytes: &[u8], limit: u64) -> Result<(), TooManyValues> {
    let mut count = 1u64;
    for &b in bytes {
        match b {
            b',' | b'[' | b'-' | b'?' | b'\n' => count += 1,
            b':' | b'{' => count += MAPPING_WEIGHT,
            _ => continue,
        }
        if count > limit {
            return Err(TooManyValues { limit });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A JSON record whose `versions` list holds `n` entries; it counts
    /// 37 + `n`: three mappings (24), seven keys, four other commas, two
    /// lists, the first value, and `n` - 1 commas between versions. The
    /// package name holds every structural character, uncounted in a string.
    fn json_with_versions(n: usize) -> String {
        let versions = vec!["\"1\""; n].join(",");
        format!(
            r#"{{"id": "OSV-1", "modified": "2024-01-01T00:00:00Z", "affected": [{{"package": {{"ecosystem": "PyPI", "name": "a,b:c[d{{\"e"}}, "versions": [{versions}]}}]}}"#
        )
    }

    #[test]
    fn a_json_document_at_the_limit_passes_and_one_value_more_is_refused() {
        let doc = json_with_versions(5);
        assert_eq!(check_json(doc.as_bytes(), 42), Ok(()));
        assert_eq!(
            check_json(doc.as_bytes(), 41),
            Err(TooManyValues { limit: 41 })
        );
        let longer = json_with_versions(6);
        assert_eq!(
            check_json(longer.as_bytes(), 42),
            Err(TooManyValues { limit: 42 })
        );
        let doc = serde_json::from_str::<serde_json::Value>(&doc).unwrap();
        assert_eq!(doc["affected"][0]["package"]["name"], "a,b:c[d{\"e");
    }

    #[test]
    fn an_empty_mapping_weighs_more_than_a_string() {
        // One, then `[` and `,`: three for two strings.
        assert_eq!(check_json(br#"["a","b"]"#, 3), Ok(()));
        assert_eq!(check_json(b"[{},{}]", 1 + 2 + 2 * MAPPING_WEIGHT), Ok(()));
        assert!(check_json(b"[{},{}]", 2 + 2 * MAPPING_WEIGHT).is_err());
    }

    #[test]
    fn a_yaml_document_at_the_limit_passes_and_one_node_more_is_refused() {
        let doc = "id: OSV-1\naffected:\n  - package: {ecosystem: PyPI, name: a}\n    versions:\n      - '1'\n      - '2'\n";
        // Seven mapping starts (six `:`, one `{`); one `,`, one `-` in the
        // id, three entry dashes, six line breaks: 7 * 8 + 11, plus one.
        let total = 1 + 7 * MAPPING_WEIGHT + 11;
        assert_eq!(check_yaml(doc.as_bytes(), total), Ok(()));
        assert_eq!(
            check_yaml(doc.as_bytes(), total - 1),
            Err(TooManyValues { limit: total - 1 })
        );
    }

    #[test]
    fn the_largest_real_osv_record_is_far_under_the_default() {
        // AlmaLinux's ALSA-2025:9318 (516 packages) holds 10,369 keys and
        // values; a record of a hundred thousand versions passes too.
        let doc = json_with_versions(100_000);
        assert_eq!(check_json(doc.as_bytes(), DEFAULT_MAX_VALUES), Ok(()));
    }
}
