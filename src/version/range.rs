//! The OSV range evaluator: is a version inside a set of ranges?
//!
//! Follows the OSV schema's algorithm: events are sorted by version (an
//! `introduced` of `"0"` sorts first), then walked in order; `introduced`
//! opens, `fixed` closes at that version, `last_affected` closes after it, and
//! a `limit` caps the range (`"*"` means no cap). Events may arrive unsorted;
//! ties sort `introduced` first so `introduced: X, fixed: X` affects nothing.
//!
//! Indexed ranges carry their events' order keys ([`KeyedRange`], see
//! [`super::key`]) and a query's version is parsed once per scheme
//! ([`Target`]), so evaluating such a range is byte comparisons; a range
//! or version without keys is evaluated by parsing, with the same answer.
//!
//! A range that cannot be evaluated (no comparator for its ecosystem, or an
//! event version the scheme rejects) yields [`AffectedVerdict::Unknown`]: the
//! caller reports it as *possibly affected* and says so, never silently drops
//! or silently matches it.

use std::cmp::Ordering;

use super::{OrderKey, SchemeVersion, VersionError, VersionScheme};
use crate::model::{Event, FixStatus};

/// One OSV range reduced to what matching needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvalRange {
    /// The scheme that orders this range's versions; `None` when the
    /// ecosystem has no comparator (the range is then unevaluable).
    pub scheme: Option<VersionScheme>,
    /// The range's events, as published.
    pub events: Vec<Event>,
    /// The events with their order keys, when every event version has one
    /// (see [`KeyedRange`]); the package index stores them packed beside
    /// the events (`version::packed`).
    pub keyed: Option<KeyedRange>,
}

impl EvalRange {
    /// A range of `events` ordered by `scheme`, with its order keys.
    pub fn new(scheme: Option<VersionScheme>, events: Vec<Event>) -> EvalRange {
        let keyed = scheme.and_then(|scheme| KeyedRange::new(scheme, &events));
        EvalRange {
            scheme,
            events,
            keyed,
        }
    }
}

/// A range's events reduced to order keys, sorted as the evaluator walks
/// them (version, then `introduced` < `last_affected` < `fixed`), with the
/// `limit`s apart: what [`contains`] computes from strings, computed once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyedRange {
    /// (event kind rank, key); `None` is the `introduced: "0"` sentinel.
    steps: Vec<(u8, Option<OrderKey>)>,
    /// The `limit` keys (`"*"` left out: no cap).
    limits: Vec<OrderKey>,
}

impl KeyedRange {
    /// The keyed form of `events` under `scheme`; `None` when an event
    /// version has no key (rejected, fallback parse, or no byte key).
    pub fn new(scheme: VersionScheme, events: &[Event]) -> Option<KeyedRange> {
        let mut steps = Vec::with_capacity(events.len());
        let mut limits = Vec::new();
        for event in events {
            match event {
                Event::Introduced(v) if v == "0" => steps.push((tie_rank(event), None)),
                Event::Limit(v) if v == "*" => {}
                Event::Limit(v) => limits.push(scheme.order_key(v)?),
                _ => steps.push((tie_rank(event), Some(scheme.order_key(event.version())?))),
            }
        }
        steps.sort_by(|(ra, a), (rb, b)| a.cmp(b).then(ra.cmp(rb)));
        Some(KeyedRange { steps, limits })
    }

    /// Whether the version whose key is `target` lies inside the range:
    /// [`contains`] on keys.
    pub fn contains(&self, target: &OrderKey) -> bool {
        keyed_contains(
            self.steps
                .iter()
                .map(|(rank, at)| (*rank, at.as_ref().map(OrderKey::as_bytes))),
            self.limits.iter().map(OrderKey::as_bytes),
            target.as_bytes(),
        )
    }

    /// The (event kind rank, key) steps in walking order; `None` is the
    /// `introduced: "0"` sentinel.
    pub(crate) fn steps(&self) -> &[(u8, Option<OrderKey>)] {
        &self.steps
    }

    /// The `limit` keys.
    pub(crate) fn limits(&self) -> &[OrderKey] {
        &self.limits
    }
}

/// [`contains`] on order keys: walks a keyed range's sorted `steps`
/// (rank, key; `None` the `introduced: "0"` sentinel) up to the first one
/// past `target` (no later step can reach it), then its `limits`.
pub(crate) fn keyed_contains<'k>(
    steps: impl IntoIterator<Item = (u8, Option<&'k [u8]>)>,
    limits: impl IntoIterator<Item = &'k [u8]>,
    target: &[u8],
) -> bool {
    let mut affected = false;
    for (rank, at) in steps {
        let Some(at) = at else {
            affected |= rank == 0;
            continue;
        };
        match (target.cmp(at), rank) {
            (Ordering::Less, _) => break,
            (_, 0) => affected = true,
            (Ordering::Greater, 1) | (_, 2) => affected = false,
            _ => {}
        }
    }
    affected && !limits.into_iter().any(|limit| target >= limit)
}

/// Why a range of an ecosystem without a comparator is not evaluated.
pub(crate) fn no_comparator(version: &str) -> VersionError {
    VersionError::new(
        "none",
        version,
        "no version comparator for this ecosystem; only the explicit versions list can be checked",
    )
}

/// A spec's verdict from its ranges' answers, in order: the first range
/// containing the version makes it affected; otherwise a range that could
/// not be evaluated makes it unknown (the first such reason is kept).
pub(crate) fn fold_ranges(
    results: impl IntoIterator<Item = Result<bool, VersionError>>,
) -> AffectedVerdict {
    let mut unknown: Option<String> = None;
    for result in results {
        match result {
            Ok(true) => return AffectedVerdict::Affected,
            Ok(false) => {}
            Err(e) => {
                unknown.get_or_insert_with(|| e.to_string());
            }
        }
    }
    match unknown {
        Some(reason) => AffectedVerdict::Unknown { reason },
        None => AffectedVerdict::NotAffected,
    }
}

/// How many schemes there are (the size of [`Target`]'s cache).
const SCHEMES: usize = super::ALL_SCHEMES.len();

/// A version being matched, parsed at most once per scheme however many
/// ranges it is checked against (one query's version).
#[derive(Debug, Clone)]
pub struct Target<'a> {
    text: &'a str,
    /// Per scheme (by position in the enum): not computed yet, or its key.
    keys: [Option<Option<OrderKey>>; SCHEMES],
}

impl<'a> Target<'a> {
    /// The version `text`, not parsed yet.
    pub fn new(text: &'a str) -> Self {
        Target {
            text,
            keys: Default::default(),
        }
    }

    /// The version as given.
    pub fn text(&self) -> &'a str {
        self.text
    }

    /// Its order key under `scheme`, computed on first use.
    pub(crate) fn key(&mut self, scheme: VersionScheme) -> Option<&OrderKey> {
        let text = self.text;
        self.keys
            .get_mut(scheme as usize)?
            .get_or_insert_with(|| scheme.order_key(text))
            .as_ref()
    }
}

/// What matching needs of one `affected` entry: its version ranges, its
/// explicit version list and its fix status (queries may ignore statuses).
/// `GIT` ranges are not version ranges and are left out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RangeSpec {
    /// `SEMVER` and `ECOSYSTEM` ranges.
    pub ranges: Vec<EvalRange>,
    /// The explicit `versions` list (matched by exact string equality).
    pub versions: Vec<String>,
    /// The entry's fix status, when its source states one.
    pub status: Option<FixStatus>,
}

/// The answer of the evaluator for one version against one [`RangeSpec`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AffectedVerdict {
    /// The version is inside a range or listed in `versions`.
    Affected,
    /// Every range was evaluated and none contains the version.
    NotAffected,
    /// At least one range could not be evaluated and none matched.
    Unknown {
        /// Why the range could not be evaluated.
        reason: String,
    },
}

impl RangeSpec {
    /// Decides whether `version` is affected.
    pub fn evaluate(&self, version: &str) -> AffectedVerdict {
        self.evaluate_target(&mut Target::new(version))
    }

    /// Decides whether `target` is affected, comparing order keys where the
    /// range and the version have them and parsing otherwise.
    pub fn evaluate_target(&self, target: &mut Target<'_>) -> AffectedVerdict {
        let version = target.text();
        if self.versions.iter().any(|v| v == version) {
            return AffectedVerdict::Affected;
        }
        fold_ranges(self.ranges.iter().map(|range| match range.scheme {
            Some(scheme) => match (&range.keyed, target.key(scheme)) {
                (Some(keyed), Some(key)) => Ok(keyed.contains(key)),
                _ => scheme.contains(version, &range.events),
            },
            None => Err(no_comparator(version)),
        }))
    }
}

/// The position of an event kind when two events carry the same version.
fn tie_rank(event: &Event) -> u8 {
    match event {
        Event::Introduced(_) => 0,
        Event::LastAffected(_) => 1,
        Event::Fixed(_) => 2,
        Event::Limit(_) => 3,
    }
}

/// Whether `version` lies inside the range made of `events`, under scheme `V`.
pub fn contains<V: SchemeVersion>(version: &str, events: &[Event]) -> Result<bool, VersionError> {
    let parse = |input: &str| -> Result<V, VersionError> {
        let parsed = V::parse(input)?;
        match parsed.fallback_reason() {
            Some(reason) => Err(VersionError::new("range", input, reason)),
            None => Ok(parsed),
        }
    };
    let target = parse(version)?;
    // `None` stands for the `introduced: "0"` sentinel, lower than every version.
    let mut parsed: Vec<(Option<V>, &Event)> = Vec::with_capacity(events.len());
    let mut limits: Vec<V> = Vec::new();
    for event in events {
        let value = event.version();
        match event {
            Event::Introduced(v) if v == "0" => parsed.push((None, event)),
            Event::Limit(v) if v == "*" => {}
            Event::Limit(v) => limits.push(parse(v)?),
            _ => parsed.push((Some(parse(value)?), event)),
        }
    }
    parsed.sort_by(|(a, ea), (b, eb)| a.cmp(b).then(tie_rank(ea).cmp(&tie_rank(eb))));
    let mut affected = false;
    for (at, event) in &parsed {
        match (event, at) {
            (Event::Introduced(_), None) => affected = true,
            (Event::Introduced(_), Some(at)) if target >= *at => affected = true,
            (Event::Fixed(_), Some(at)) if target >= *at => affected = false,
            (Event::LastAffected(_), Some(at)) if target > *at => affected = false,
            _ => {}
        }
    }
    if affected && limits.iter().any(|limit| target >= *limit) {
        affected = false;
    }
    Ok(affected)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(scheme: Option<VersionScheme>, events: Vec<Event>) -> RangeSpec {
        RangeSpec {
            ranges: vec![EvalRange::new(scheme, events)],
            versions: vec![],
            status: None,
        }
    }

    fn intro(v: &str) -> Event {
        Event::Introduced(v.into())
    }
    fn fixed(v: &str) -> Event {
        Event::Fixed(v.into())
    }

    #[test]
    fn introduced_fixed_and_last_affected() {
        let s = spec(
            Some(VersionScheme::Semver),
            vec![
                intro("1.0.0"),
                fixed("1.2.0"),
                intro("2.0.0"),
                Event::LastAffected("2.1.0".into()),
            ],
        );
        let cases = [
            ("0.9.0", false),
            ("1.0.0", true),
            ("1.1.9", true),
            ("1.2.0", false),
            ("1.9.0", false),
            ("2.0.0", true),
            ("2.1.0", true),
            ("2.1.1", false),
        ];
        for (v, want) in cases {
            assert_eq!(s.evaluate(v) == AffectedVerdict::Affected, want, "{v}");
        }
    }

    #[test]
    fn unsorted_events_are_sorted_numerically() {
        // "1.10.0" < "1.9.0" as strings; the evaluator must not care.
        let s = spec(
            Some(VersionScheme::Semver),
            vec![fixed("1.10.0"), intro("1.9.0")],
        );
        assert_eq!(s.evaluate("1.9.5"), AffectedVerdict::Affected);
        assert_eq!(s.evaluate("1.10.0"), AffectedVerdict::NotAffected);
        assert_eq!(s.evaluate("1.2.0"), AffectedVerdict::NotAffected);
    }

    #[test]
    fn introduced_and_fixed_at_same_version_affect_nothing() {
        let s = spec(
            Some(VersionScheme::Semver),
            vec![fixed("1.0.0"), intro("1.0.0")],
        );
        assert_eq!(s.evaluate("1.0.0"), AffectedVerdict::NotAffected);
    }

    #[test]
    fn limit_caps_an_open_range() {
        let s = spec(
            Some(VersionScheme::Semver),
            vec![intro("0"), Event::Limit("3.0.0".into())],
        );
        assert_eq!(s.evaluate("2.9.9"), AffectedVerdict::Affected);
        assert_eq!(s.evaluate("3.0.0"), AffectedVerdict::NotAffected);
        let star = spec(
            Some(VersionScheme::Semver),
            vec![intro("0"), Event::Limit("*".into())],
        );
        assert_eq!(star.evaluate("99.0.0"), AffectedVerdict::Affected);
    }

    #[test]
    fn versions_list_matches_exactly() {
        let s = RangeSpec {
            ranges: vec![],
            versions: vec!["4.0".into(), "4.1".into()],
            status: None,
        };
        assert_eq!(s.evaluate("4.1"), AffectedVerdict::Affected);
        assert_eq!(s.evaluate("4.1.0"), AffectedVerdict::NotAffected);
    }

    #[test]
    fn unknown_scheme_is_reported_not_dropped() {
        let s = RangeSpec {
            ranges: vec![EvalRange::new(None, vec![intro("0"), fixed("5")])],
            versions: vec!["1".into()],
            status: None,
        };
        assert_eq!(s.evaluate("1"), AffectedVerdict::Affected);
        assert!(matches!(s.evaluate("7"), AffectedVerdict::Unknown { .. }));
    }

    #[test]
    fn legacy_pypi_versions_are_not_trusted_for_matching() {
        let s = spec(
            Some(VersionScheme::Pep440),
            vec![intro("0"), fixed("not a version")],
        );
        assert!(matches!(s.evaluate("1.0"), AffectedVerdict::Unknown { .. }));
        let s = spec(Some(VersionScheme::Pep440), vec![intro("0"), fixed("2.0")]);
        assert_eq!(s.evaluate("1.0"), AffectedVerdict::Affected);
        assert!(matches!(
            s.evaluate("1.0-bulbasaur"),
            AffectedVerdict::Unknown { .. }
        ));
    }

    #[test]
    fn keyed_ranges_answer_like_parsed_ones() {
        let cases = [
            (
                VersionScheme::Deb,
                vec![
                    intro("1:1.0~rc1-1"),
                    fixed("1:1.2-1"),
                    intro("2.0"),
                    Event::LastAffected("2.1".into()),
                ],
                &[
                    "1.9",
                    "1:1.0~rc1-1",
                    "1:1.0",
                    "1:1.2-0.1",
                    "1:1.2-1",
                    "2.0",
                    "2.1",
                    "2.1.1",
                    "0:2.0",
                ][..],
            ),
            (
                VersionScheme::Go,
                vec![
                    intro("0"),
                    fixed("1.2.0"),
                    intro("1.5.0-rc.1"),
                    Event::Limit("1.6.0".into()),
                ],
                &[
                    "v0.1.0",
                    "1.1.9",
                    "v1.2.0",
                    "1.5.0-beta",
                    "1.5.0-rc.1",
                    "1.5.0",
                    "1.6.0",
                ][..],
            ),
            (
                VersionScheme::Rpm,
                vec![intro("0"), fixed("0:2.4.6-1.el9")],
                &[
                    "2.4.5-9.el9",
                    "2.4.6",
                    "2.4.6-1.el9",
                    "2.4.6~rc1-1.el9",
                    "1:1.0-1",
                ][..],
            ),
        ];
        for (scheme, events, versions) in cases {
            let keyed = spec(Some(scheme), events);
            assert!(keyed.ranges[0].keyed.is_some(), "{scheme}");
            let mut parsed = keyed.clone();
            parsed.ranges[0].keyed = None;
            for v in versions {
                assert_eq!(keyed.evaluate(v), parsed.evaluate(v), "{scheme} {v}");
            }
        }
    }

    #[test]
    fn unparsable_event_version_is_unknown() {
        let s = spec(
            Some(VersionScheme::Semver),
            vec![intro("0"), fixed("not-a-version")],
        );
        assert!(matches!(
            s.evaluate("1.0.0"),
            AffectedVerdict::Unknown { .. }
        ));
    }
}
