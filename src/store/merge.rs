//! The merge rule: how several feeds' versions of one id become one record.
//!
//! Each feed's contribution is stored apart (table `contributions`); the
//! served record is rebuilt from all of them whenever one changes:
//!
//! - `affected`: every contribution's entries, each tagged with its feed;
//!   a feed re-ingesting an id replaces only its own entries.
//! - `aliases`, `related`, `upstream`: union, sorted, without the id itself.
//! - `severity`, `references`: union, first occurrence kept.
//! - `modified`: the latest; `published`: the earliest.
//! - `withdrawn`: only when every contributing feed withdrew the record.
//! - `summary`, `details`, `credits`, `schema_version`, upstream
//!   `database_specific` and the vendor severity: from the most recently
//!   modified contribution (ties broken by feed name).
//! - `database_specific.advisord.sources`: one provenance entry per feed.

use crate::model::{extend_unique, Advisory};

/// Merges the contributions for one id (non-empty, any order) into one record.
pub fn merge(mut parts: Vec<Advisory>) -> Option<Advisory> {
    if parts.len() <= 1 {
        return parts.pop();
    }
    // Primary first: latest modified, then by feed name for determinism.
    parts.sort_by(|a, b| {
        b.modified
            .cmp(&a.modified)
            .then_with(|| first_feed(a).cmp(first_feed(b)))
    });
    let mut iter = parts.into_iter();
    let mut merged = iter.next()?;
    let mut all_withdrawn = merged.withdrawn.is_some();
    for part in iter {
        if part.published.is_some()
            && (merged.published.is_none() || part.published < merged.published)
        {
            merged.published = part.published.clone();
        }
        match (&part.withdrawn, &merged.withdrawn) {
            (None, _) => all_withdrawn = false,
            (Some(w), Some(m)) if w > m => merged.withdrawn = Some(w.clone()),
            (Some(w), None) => merged.withdrawn = Some(w.clone()),
            _ => {}
        }
        merged.aliases.extend(part.aliases);
        merged.related.extend(part.related);
        merged.upstream.extend(part.upstream);
        extend_unique(&mut merged.severity, part.severity);
        for r in part.references {
            if !merged.references.iter().any(|m| m.url == r.url) {
                merged.references.push(r);
            }
        }
        merged.affected.extend(part.affected);
        let sources = part
            .database_specific
            .advisord
            .map(|m| m.sources)
            .unwrap_or_default();
        merged.meta_mut().sources.extend(sources);
    }
    if !all_withdrawn {
        merged.withdrawn = None;
    }
    let id = merged.id.clone();
    for list in [
        &mut merged.aliases,
        &mut merged.related,
        &mut merged.upstream,
    ] {
        list.sort();
        list.dedup();
        list.retain(|a| *a != id);
    }
    merged
        .meta_mut()
        .sources
        .sort_by(|a, b| a.feed.cmp(&b.feed));
    Some(merged)
}

fn first_feed(a: &Advisory) -> &str {
    a.sources().first().map_or("", |p| p.feed.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::SourceContext;

    fn record(json: &str, feed: &str) -> Advisory {
        let mut a: Advisory = serde_json::from_str(json).unwrap();
        let ctx = SourceContext::for_bytes(feed, "x", "2024-01-01T00:00:00Z".parse().unwrap(), b"");
        let id = a.id.to_string();
        ctx.stamp(&mut a, &id);
        a
    }

    #[test]
    fn union_of_entries_and_aliases_latest_text_wins() {
        let a = record(
            r#"{"id":"CVE-1","modified":"2024-01-01T00:00:00Z","summary":"old","aliases":["X-1"],
               "affected":[{"package":{"ecosystem":"Debian:12","name":"p"}}]}"#,
            "debian",
        );
        let b = record(
            r#"{"id":"CVE-1","modified":"2024-02-01T00:00:00Z","summary":"new","aliases":["Y-1","X-1"],
               "withdrawn":"2024-02-01T00:00:00Z",
               "affected":[{"package":{"ecosystem":"Ubuntu:22.04:LTS","name":"p"}}]}"#,
            "ubuntu",
        );
        let m = merge(vec![a, b]).unwrap();
        assert_eq!(m.summary.as_deref(), Some("new"));
        assert_eq!(m.aliases.len(), 2);
        assert_eq!(m.affected.len(), 2);
        assert_eq!(m.sources().len(), 2);
        // Only one of two feeds withdrew it: still live.
        assert!(m.withdrawn.is_none());
        let feeds: Vec<_> = m.affected.iter().filter_map(|e| e.feed()).collect();
        assert!(feeds.contains(&"debian") && feeds.contains(&"ubuntu"));
    }
}
