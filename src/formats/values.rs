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
/// description counts its commas and lines too). An alias (`*a`) repeats
/// its anchored node wherever it stands, which no count of the bytes can
/// see: a document with an anchor and a `*` is also counted as the parser
/// expands it (see [`count_expanded_yaml`]).
pub fn check_yaml(bytes: &[u8], limit: u64) -> Result<(), TooManyValues> {
    check_yaml_bytes(bytes, limit)?;
    if memchr::memchr(b'&', bytes).is_some() && memchr::memchr(b'*', bytes).is_some() {
        count_expanded_yaml(bytes, limit)?;
    }
    Ok(())
}

/// Counts the nodes of a YAML document as the parser hands them over,
/// aliases expanded, weighted as in the module doc, and stops past `limit`:
/// nothing is built, so memory is what the parser holds for the bytes.
/// A document the parser rejects passes here (the real parse names the fault).
fn count_expanded_yaml(bytes: &[u8], limit: u64) -> Result<(), TooManyValues> {
    let counter = NodeCounter {
        count: std::cell::Cell::new(0),
        limit,
    };
    let deserializer = serde_norway::Deserializer::from_slice(bytes);
    match serde::de::DeserializeSeed::deserialize(&counter, deserializer) {
        Err(_) if counter.count.get() > limit => Err(TooManyValues { limit }),
        _ => Ok(()),
    }
}

/// A serde seed that counts every node it is shown and errs past `limit`.
struct NodeCounter {
    count: std::cell::Cell<u64>,
    limit: u64,
}

impl NodeCounter {
    fn add<E: serde::de::Error>(&self, weight: u64) -> Result<(), E> {
        let count = self.count.get().saturating_add(weight);
        self.count.set(count);
        if count > self.limit {
            return Err(E::custom("too many values"));
        }
        Ok(())
    }
}

impl<'de> serde::de::DeserializeSeed<'de> for &NodeCounter {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for &NodeCounter {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any YAML node")
    }

    fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<(), E> {
        self.add(1)
    }
    fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<(), E> {
        self.add(1)
    }
    fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<(), E> {
        self.add(1)
    }
    fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<(), E> {
        self.add(1)
    }
    fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<(), E> {
        self.add(1)
    }
    fn visit_unit<E: serde::de::Error>(self) -> Result<(), E> {
        self.add(1)
    }
    fn visit_none<E: serde::de::Error>(self) -> Result<(), E> {
        self.add(1)
    }
    fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        serde::de::DeserializeSeed::deserialize(self, d)
    }
    fn visit_newtype_struct<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        serde::de::DeserializeSeed::deserialize(self, d)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        self.add(1)?;
        while seq.next_element_seed(self)?.is_some() {}
        Ok(())
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        self.add(MAPPING_WEIGHT)?;
        while map.next_key_seed(self)?.is_some() {
            map.next_value_seed(self)?;
        }
        Ok(())
    }
    fn visit_enum<A: serde::de::EnumAccess<'de>>(self, data: A) -> Result<(), A::Error> {
        use serde::de::VariantAccess;
        let ((), variant) = data.variant_seed(self)?;
        variant.newtype_variant_seed(self)
    }
}

/// The lexical count of [`check_yaml`].
fn check_yaml_bytes(bytes: &[u8], limit: u64) -> Result<(), TooManyValues> {
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
    fn yaml_aliases_count_as_often_as_they_are_expanded() {
        // 40 bytes of anchored list, then each alias repeats its 10 nodes.
        let list = (0..10)
            .map(|i| format!("'{i}'"))
            .collect::<Vec<_>>()
            .join(", ");
        let doc = |aliases: usize| {
            let mut doc = format!("id: OSV-1\nanchor: &a [{list}]\nmore:\n");
            doc.push_str(&"  - *a\n".repeat(aliases));
            doc
        };
        let small = doc(3);
        assert_eq!(check_yaml_bytes(small.as_bytes(), 100), Ok(()));
        assert_eq!(check_yaml(small.as_bytes(), 100), Ok(()));
        // Few bytes, many expanded nodes: the byte count passes, the
        // expanded count refuses.
        let big = doc(50);
        assert_eq!(check_yaml_bytes(big.as_bytes(), 300), Ok(()));
        assert_eq!(
            check_yaml(big.as_bytes(), 300),
            Err(TooManyValues { limit: 300 })
        );
        // The parser does expand every alias.
        let value: serde_json::Value = serde_norway::from_str(&big).unwrap();
        assert_eq!(value["more"].as_array().unwrap().len(), 50);
        // A `*` and `&` in text that are no alias change nothing.
        let text = "id: OSV-1\ndetails: 'R&D: *all* versions'\n";
        assert_eq!(check_yaml(text.as_bytes(), 100), Ok(()));
    }

    #[test]
    fn the_largest_real_osv_record_is_far_under_the_default() {
        // AlmaLinux's ALSA-2025:9318 (516 packages) holds 10,369 keys and
        // values; a record of a hundred thousand versions passes too.
        let doc = json_with_versions(100_000);
        assert_eq!(check_json(doc.as_bytes(), DEFAULT_MAX_VALUES), Ok(()));
    }
}
