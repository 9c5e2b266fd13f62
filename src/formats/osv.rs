//! OSV records, as JSON or YAML, one record (or a JSON array of records) per file.

use serde_json::Value;

use super::{ParseItem, SourceContext};
use crate::model::{Advisory, RangeKind};

pub use super::syntax::Syntax;

/// Parses one OSV file and emits its record(s). A file holding a JSON array
/// emits one item per element, so one bad element does not hide the others.
pub fn parse(bytes: &[u8], syntax: Syntax, ctx: &SourceContext, emit: &mut dyn FnMut(ParseItem)) {
    match syntax {
        Syntax::Json => parse_json(bytes, ctx, emit),
        Syntax::Yaml => parse_yaml(bytes, ctx, emit),
    }
}

fn parse_json(bytes: &[u8], ctx: &SourceContext, emit: &mut dyn FnMut(ParseItem)) {
    // Fast path: a single well-formed record goes straight into the model.
    if let Ok(advisory) = serde_json::from_slice::<Advisory>(bytes) {
        emit(finish(advisory, ctx));
        return;
    }
    // Slow path: find out which record is wrong and why, or split an array.
    match serde_json::from_slice(bytes) {
        Ok(value) => emit_values(value, ctx, emit),
        Err(e) => emit(Err(ctx.file_error(format!("malformed JSON: {e}")))),
    }
}

fn parse_yaml(bytes: &[u8], ctx: &SourceContext, emit: &mut dyn FnMut(ParseItem)) {
    match serde_norway::from_slice(bytes) {
        Ok(value) => emit_values(value, ctx, emit),
        Err(e) => emit(Err(ctx.file_error(format!("malformed YAML: {e}")))),
    }
}

/// One record per element of an array, or the one record a document is.
fn emit_values(value: Value, ctx: &SourceContext, emit: &mut dyn FnMut(ParseItem)) {
    match value {
        Value::Array(items) => {
            for (index, item) in items.into_iter().enumerate() {
                emit(from_value(item, index, ctx));
            }
        }
        other => emit(from_value(other, 0, ctx)),
    }
}

/// Maps one JSON value to a record, naming the record by id (or position).
fn from_value(value: Value, index: usize, ctx: &SourceContext) -> ParseItem {
    let label = value
        .get("id")
        .and_then(Value::as_str)
        .map_or_else(|| format!("record #{index}"), str::to_string);
    match serde_json::from_value::<Advisory>(value) {
        Ok(advisory) => finish(advisory, ctx),
        Err(e) => Err(ctx.error(label, format!("not a valid OSV record: {e}"))),
    }
}

/// Checks what serde cannot express and stamps provenance.
fn finish(mut advisory: Advisory, ctx: &SourceContext) -> ParseItem {
    let id = advisory.id.to_string();
    for (i, affected) in advisory.affected.iter().enumerate() {
        if let Some(package) = &affected.package {
            if package.name.trim().is_empty() {
                return Err(ctx.error(&id, format!("affected[{i}]: empty package name")));
            }
        }
        for (j, range) in affected.ranges.iter().enumerate() {
            if range.events.is_empty() {
                return Err(ctx.error(&id, format!("affected[{i}].ranges[{j}]: no events")));
            }
            if range.kind == RangeKind::Git && range.repo.is_none() {
                return Err(ctx.error(
                    &id,
                    format!("affected[{i}].ranges[{j}]: GIT range without repo"),
                ));
            }
        }
    }
    ctx.stamp(&mut advisory, &id);
    Ok(advisory)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Timestamp;

    fn ctx() -> SourceContext {
        SourceContext::for_bytes(
            "test",
            "inline",
            "2024-01-01T00:00:00Z".parse::<Timestamp>().unwrap(),
            b"",
        )
    }

    fn collect(bytes: &[u8], syntax: Syntax) -> Vec<ParseItem> {
        let mut out = Vec::new();
        parse(bytes, syntax, &ctx(), &mut |item| out.push(item));
        out
    }

    #[test]
    fn array_with_one_bad_record_keeps_the_rest() {
        let json = br#"[
            {"id": "OSV-1", "modified": "2024-01-01T00:00:00Z"},
            {"id": "OSV-2", "modified": 7},
            {"id": "OSV-3", "modified": "2024-01-01T00:00:00Z",
             "affected": [{"package": {"ecosystem": "PyPI", "name": "x"},
                           "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}]}]}]}
        ]"#;
        let items = collect(json, Syntax::Json);
        assert_eq!(items.len(), 3);
        assert!(items[0].is_ok());
        let err = items[1].as_ref().unwrap_err();
        assert_eq!(err.record, "OSV-2");
        assert!(err.reason.contains("invalid type"), "{}", err.reason);
        let ok = items[2].as_ref().unwrap();
        assert_eq!(ok.affected[0].feed(), Some("test"));
    }

    #[test]
    fn truncated_json_is_one_file_error() {
        let items = collect(br#"{"id": "OSV-1", "modif"#, Syntax::Json);
        assert_eq!(items.len(), 1);
        assert!(items[0]
            .as_ref()
            .unwrap_err()
            .reason
            .contains("malformed JSON"));
    }

    #[test]
    fn yaml_null_lists_are_empty() {
        let yaml = b"id: PYSEC-1\nmodified: '2024-01-01T00:00:00Z'\naliases:\naffected: []\n";
        let items = collect(yaml, Syntax::Yaml);
        let record = items[0].as_ref().unwrap();
        assert!(record.aliases.is_empty());
    }

    #[test]
    fn event_with_two_keys_is_rejected() {
        let json = br#"{"id": "X-1", "modified": "2024-01-01T00:00:00Z", "affected": [{"package": {"ecosystem": "npm", "name": "a"}, "ranges": [{"type": "SEMVER", "events": [{"introduced": "0", "fixed": "1.0.0"}]}]}]}"#;
        let items = collect(json, Syntax::Json);
        assert!(items[0].is_err());
    }
}
