//! Feed freshness: which feeds have synced, how old their data is, and so
//! which answers may be incomplete (`GET /readyz`, the `x-advisord-stale`
//! header, `query`/`scan --fail-on-stale`). An empty or outdated database
//! must never pass for "not affected".
//!
//! [`Freshness::assess`] is pure: the catalog, the stored feed states and a
//! clock reading in, a view out.
//!
//! Rules:
//! - a feed is *synced* once a sync or an ingest of it succeeded;
//! - an enabled catalog feed is *stale* when it never synced or its last
//!   success is older than its `max_age`; feeds outside the catalog (manual
//!   `ingest`/`import`) and disabled catalog feeds are never refreshed by
//!   advisord, so they have no age limit and are never stale;
//! - an answer for an ecosystem is stale when every feed that ever supplied
//!   it is stale, or, when no feed ever supplied it, while an enabled
//!   catalog feed has never synced (it may be the one that would) or a
//!   stale feed's ecosystems are not known yet (older databases).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde::Serialize;

use crate::feeds::catalog::FeedSpec;
use crate::model::{Ecosystem, Timestamp};
use crate::store::FeedState;

/// How fresh one feed is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FeedFreshness {
    /// The feed name.
    pub name: String,
    /// Seconds since its last successful sync or ingest; `None` if never.
    pub age_secs: Option<u64>,
    /// The age past which it is stale (enabled catalog feeds only).
    pub max_age_secs: Option<u64>,
    /// The full ecosystems (`Debian:12`) its records have named.
    #[serde(skip)]
    pub ecosystems: BTreeSet<String>,
    /// It holds records but no ecosystems were recorded for them (a
    /// database written before advisord recorded them): it may supply any
    /// ecosystem, until its next ingest records them.
    #[serde(skip)]
    pub ecosystems_unknown: bool,
}

impl FeedFreshness {
    /// Never synced, or synced longer ago than its maximum age.
    pub fn stale(&self) -> bool {
        match (self.age_secs, self.max_age_secs) {
            (None, _) => true,
            (Some(age), Some(max)) => age > max,
            (Some(_), None) => false,
        }
    }

    /// Whether this feed has named an ecosystem of base `base`.
    fn supplies_base(&self, base: &str) -> bool {
        self.ecosystems
            .iter()
            .any(|e| e.split_once(':').map_or(e.as_str(), |(b, _)| b) == base)
    }
}

/// The freshness of every feed known to the catalog or the store.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Freshness {
    feeds: BTreeMap<String, FeedFreshness>,
}

impl Freshness {
    /// Assesses the enabled feeds of `catalog` (that this build can parse)
    /// and every feed of `states` at `now`.
    pub fn assess<'a>(
        catalog: impl IntoIterator<Item = &'a FeedSpec>,
        states: &BTreeMap<String, FeedState>,
        now: time::OffsetDateTime,
    ) -> Freshness {
        let max_ages: BTreeMap<&str, Duration> = catalog
            .into_iter()
            .filter(|spec| spec.enabled && spec.format().is_ok())
            .map(|spec| (spec.name.as_str(), spec.max_age))
            .collect();
        let mut names: BTreeSet<&str> = max_ages.keys().copied().collect();
        names.extend(states.keys().map(String::as_str));
        let feeds = names
            .into_iter()
            .map(|name| {
                let state = states.get(name);
                let synced =
                    state.and_then(|s| latest(s.last_success.as_deref(), s.last_ingest.as_deref()));
                let age_secs = synced.map(|t| {
                    let elapsed = now - t.instant();
                    u64::try_from(elapsed.whole_seconds()).unwrap_or(0)
                });
                let feed = FeedFreshness {
                    name: name.to_string(),
                    age_secs,
                    max_age_secs: max_ages.get(name).map(Duration::as_secs),
                    ecosystems: state.map(|s| s.ecosystems.clone()).unwrap_or_default(),
                    ecosystems_unknown: state
                        .is_some_and(|s| s.records > 0 && s.ecosystems.is_empty()),
                };
                (name.to_string(), feed)
            })
            .collect();
        Freshness { feeds }
    }

    /// One feed's freshness, if the catalog or the store knows it.
    pub fn feed(&self, name: &str) -> Option<&FeedFreshness> {
        self.feeds.get(name)
    }

    /// The feeds that have never synced: among `only` when given, else
    /// among the enabled catalog feeds. Sorted.
    pub fn never_synced(&self, only: Option<&[String]>) -> Vec<String> {
        match only {
            Some(names) => {
                let names: BTreeSet<&String> = names.iter().collect();
                names
                    .into_iter()
                    .filter(|n| self.feeds.get(*n).is_none_or(|f| f.age_secs.is_none()))
                    .cloned()
                    .collect()
            }
            None => self
                .feeds
                .values()
                .filter(|f| f.max_age_secs.is_some() && f.age_secs.is_none())
                .map(|f| f.name.clone())
                .collect(),
        }
    }

    /// The feeds that make an answer for `ecosystem` possibly incomplete
    /// (empty when it is not): see the module rules. A release
    /// (`Alpine:v3.20`) is judged by the feeds that supplied that release,
    /// or by those of its base ecosystem when none did.
    pub fn stale_for(&self, ecosystem: &Ecosystem) -> Vec<String> {
        let exact: Vec<&FeedFreshness> = match ecosystem.release() {
            Some(_) => self
                .feeds
                .values()
                .filter(|f| f.ecosystems.contains(ecosystem.as_str()))
                .collect(),
            None => Vec::new(),
        };
        let suppliers = if exact.is_empty() {
            self.feeds
                .values()
                .filter(|f| f.supplies_base(ecosystem.base()))
                .collect()
        } else {
            exact
        };
        if suppliers.is_empty() {
            let mut out = self.never_synced(None);
            out.extend(
                self.feeds
                    .values()
                    .filter(|f| f.ecosystems_unknown && f.stale())
                    .map(|f| f.name.clone()),
            );
            out.sort();
            out.dedup();
            return out;
        }
        if suppliers.iter().all(|f| f.stale()) {
            return suppliers.iter().map(|f| f.name.clone()).collect();
        }
        Vec::new()
    }
}

/// The later of two RFC 3339 times, either of which may be absent or unreadable.
fn latest(a: Option<&str>, b: Option<&str>) -> Option<Timestamp> {
    let parse = |t: Option<&str>| t.and_then(|t| t.parse::<Timestamp>().ok());
    match (parse(a), parse(b)) {
        (Some(a), Some(b)) => Some(if a.instant() >= b.instant() { a } else { b }),
        (a, b) => a.or(b),
    }
}

/// The feeds stale for any of `ecosystems`, sorted and without repeats.
pub fn stale_for_all<'a>(
    freshness: &Freshness,
    ecosystems: impl IntoIterator<Item = &'a Ecosystem>,
) -> Vec<String> {
    let mut out: BTreeSet<String> = BTreeSet::new();
    let mut seen: BTreeSet<&Ecosystem> = BTreeSet::new();
    for ecosystem in ecosystems {
        if seen.insert(ecosystem) {
            out.extend(freshness.stale_for(ecosystem));
        }
    }
    out.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(name: &str, interval_secs: u64, enabled: bool) -> FeedSpec {
        let text = format!(
            "name = \"{name}\"\nformat = \"osv\"\nurls = [\"https://example.org/{name}.zip\"]\ninterval = \"{interval_secs}s\"\nenabled = {enabled}\n"
        );
        FeedSpec::from_toml(&text, "test").unwrap()
    }

    fn state(synced: &str, ecosystems: &[&str]) -> FeedState {
        FeedState {
            last_success: Some(synced.into()),
            ecosystems: ecosystems.iter().map(|e| e.to_string()).collect(),
            ..FeedState::default()
        }
    }

    fn eco(e: &str) -> Ecosystem {
        Ecosystem::new(e).unwrap()
    }

    #[test]
    fn never_synced_and_past_max_age_are_stale() {
        let now: Timestamp = "2026-01-02T00:00:00Z".parse().unwrap();
        let catalog = [
            spec("osv-npm", 3600, true),
            spec("alpine-v3.19", 3600, true),
            spec("alpine-v3.20", 3600, true),
            spec("off", 3600, false),
        ];
        let mut states = BTreeMap::new();
        // 2h old: within 3 x 1h.
        states.insert(
            "alpine-v3.20".to_string(),
            state("2026-01-01T22:00:00Z", &["Alpine:v3.20"]),
        );
        // 4h old: past 3 x 1h.
        states.insert(
            "alpine-v3.19".to_string(),
            state("2026-01-01T20:00:00Z", &["Alpine:v3.19"]),
        );
        // A manual ingest a year old: no age limit.
        states.insert(
            "manual".to_string(),
            state("2025-01-01T00:00:00Z", &["PyPI"]),
        );
        let f = Freshness::assess(&catalog, &states, now.instant());
        assert_eq!(f.never_synced(None), ["osv-npm"]);
        assert_eq!(
            f.never_synced(Some(&["manual".into(), "nope".into()])),
            ["nope"]
        );
        assert_eq!(f.feed("alpine-v3.19").unwrap().age_secs, Some(4 * 3600));
        assert!(f.feed("alpine-v3.19").unwrap().stale());
        assert!(!f.feed("manual").unwrap().stale());
        assert!(f.feed("off").is_none());
        // Per release, then per base ecosystem.
        assert_eq!(f.stale_for(&eco("Alpine:v3.19")), ["alpine-v3.19"]);
        assert!(f.stale_for(&eco("Alpine:v3.20")).is_empty());
        assert!(f.stale_for(&eco("Alpine")).is_empty());
        assert!(f.stale_for(&eco("Alpine:v3.99")).is_empty());
        // Supplied only by a manual ingest: never stale.
        assert!(f.stale_for(&eco("PyPI")).is_empty());
        // Supplied by nobody while a catalog feed never synced: stale.
        assert_eq!(f.stale_for(&eco("npm")), ["osv-npm"]);
        assert_eq!(
            stale_for_all(&f, [&eco("npm"), &eco("Alpine:v3.19"), &eco("npm")]),
            ["alpine-v3.19", "osv-npm"]
        );
    }

    #[test]
    fn an_empty_database_is_stale_everywhere() {
        let catalog = [spec("a", 60, true), spec("b", 60, true)];
        let f = Freshness::assess(&catalog, &BTreeMap::new(), time::OffsetDateTime::now_utc());
        assert_eq!(f.never_synced(None), ["a", "b"]);
        assert_eq!(f.stale_for(&eco("Go")), ["a", "b"]);
        // A feed written before ecosystems were recorded may supply any.
        let old = FeedState {
            records: 5,
            last_success: Some("2020-01-01T00:00:00Z".into()),
            ..FeedState::default()
        };
        let states = BTreeMap::from([("a".to_string(), old.clone()), ("b".to_string(), old)]);
        let f = Freshness::assess(&catalog, &states, time::OffsetDateTime::now_utc());
        assert!(f.never_synced(None).is_empty());
        assert_eq!(f.stale_for(&eco("Go")), ["a", "b"]);
        // Without a catalog nothing is expected, so nothing is stale.
        let f = Freshness::assess([], &BTreeMap::new(), time::OffsetDateTime::now_utc());
        assert!(f.stale_for(&eco("Go")).is_empty());
    }
}
