//! One fix-status vocabulary across sources.
//!
//! Every distribution says "is this package fixed?" in its own words
//! (Debian `resolved`/`open`/`<no-dsa>`, Ubuntu `needed`/`deferred`, Red Hat
//! `known_affected` + `no_fix_planned`, ...). advisord maps each to one
//! [`FixStatus`] stored on the affected entry under
//! `database_specific.advisord.status`, with the source's own word kept
//! next to it (`status_source`) and, for `not_affected`, the vendor's
//! justification when it gave one.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::{Affected, Event};

/// The fix status of one package in one release, as a source states it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FixStatus {
    /// A fixed version exists.
    Fixed,
    /// Affected, no fix yet (the vendor intends one or has not said).
    Affected,
    /// Affected, and the vendor has decided not to fix it.
    WillNotFix,
    /// Affected, and the vendor has postponed the fix.
    FixDeferred,
    /// The vendor has not decided yet whether the package is affected.
    UnderInvestigation,
    /// Not affected (the entry's justification says why, when given).
    NotAffected,
    /// Affected, but the release is out of support: no fix will come.
    EndOfLife,
}

impl FixStatus {
    /// Every status, in declaration order.
    pub const ALL: [FixStatus; 7] = [
        FixStatus::Fixed,
        FixStatus::Affected,
        FixStatus::WillNotFix,
        FixStatus::FixDeferred,
        FixStatus::UnderInvestigation,
        FixStatus::NotAffected,
        FixStatus::EndOfLife,
    ];

    /// The status as advisord writes it (`will_not_fix`, ...).
    pub fn name(self) -> &'static str {
        match self {
            FixStatus::Fixed => "fixed",
            FixStatus::Affected => "affected",
            FixStatus::WillNotFix => "will_not_fix",
            FixStatus::FixDeferred => "fix_deferred",
            FixStatus::UnderInvestigation => "under_investigation",
            FixStatus::NotAffected => "not_affected",
            FixStatus::EndOfLife => "end_of_life",
        }
    }

    /// The statuses reported when a query names none to ignore: all but
    /// `not_affected`, which states the absence of a vulnerability.
    pub fn is_reported_by_default(self) -> bool {
        self != FixStatus::NotAffected
    }
}

impl fmt::Display for FixStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A status word that is not in advisord's vocabulary.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown status {0:?} (expected one of: fixed, affected, will_not_fix, fix_deferred, under_investigation, not_affected, end_of_life)")]
pub struct UnknownStatus(pub String);

impl FromStr for FixStatus {
    type Err = UnknownStatus;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim().to_ascii_lowercase().replace('-', "_");
        FixStatus::ALL
            .into_iter()
            .find(|status| status.name() == wanted)
            .ok_or_else(|| UnknownStatus(s.to_string()))
    }
}

/// One source's status statement about an affected entry: the common word,
/// the source's own word(s), and the vendor's justification if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusStatement {
    /// The common status.
    pub status: FixStatus,
    /// The source's own word(s) for it (`resolved`, `known_affected/no_fix_planned`).
    pub source: String,
    /// Why the package is not affected, in the vendor's words.
    pub justification: Option<String>,
}

impl StatusStatement {
    /// A statement of `status`, which the source calls `source`.
    pub fn new(status: FixStatus, source: impl Into<String>) -> Self {
        StatusStatement {
            status,
            source: source.into(),
            justification: None,
        }
    }

    /// The same statement with the vendor's justification.
    pub fn justified(mut self, justification: Option<String>) -> Self {
        self.justification = justification.filter(|j| !j.trim().is_empty());
        self
    }

    /// The status read off an entry's ranges, for sources that state none
    /// (OSV input, announcements): a `fixed` event means fixed, other
    /// ranges or versions mean affected, nothing at all means not affected.
    pub fn derived(entry: &Affected) -> Self {
        let events = || entry.ranges.iter().flat_map(|r| r.events.iter());
        if events().any(|e| matches!(e, Event::Fixed(_))) {
            StatusStatement::new(FixStatus::Fixed, "fixed event")
        } else if events().any(|e| matches!(e, Event::LastAffected(_))) {
            StatusStatement::new(FixStatus::Affected, "last_affected event")
        } else if !entry.ranges.is_empty() || !entry.versions.is_empty() {
            StatusStatement::new(FixStatus::Affected, "no fixed event")
        } else {
            StatusStatement::new(FixStatus::NotAffected, "no affected versions")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_accept_dashes() {
        for status in FixStatus::ALL {
            assert_eq!(status.name().parse::<FixStatus>(), Ok(status));
            assert_eq!(
                serde_json::to_value(status).expect("serialize"),
                serde_json::json!(status.name())
            );
        }
        assert_eq!("Will-Not-Fix".parse(), Ok(FixStatus::WillNotFix));
        assert!("wontfix".parse::<FixStatus>().is_err());
    }

    #[test]
    fn derived_from_ranges() {
        let entry: Affected = serde_json::from_value(serde_json::json!({
            "package": {"ecosystem": "PyPI", "name": "x"},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2"}]}]
        }))
        .expect("entry");
        assert_eq!(StatusStatement::derived(&entry).status, FixStatus::Fixed);
        let open: Affected = serde_json::from_value(serde_json::json!({
            "package": {"ecosystem": "PyPI", "name": "x"},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}]}]
        }))
        .expect("entry");
        assert_eq!(StatusStatement::derived(&open).status, FixStatus::Affected);
        let none: Affected = serde_json::from_value(serde_json::json!({
            "package": {"ecosystem": "PyPI", "name": "x"}
        }))
        .expect("entry");
        assert_eq!(
            StatusStatement::derived(&none).status,
            FixStatus::NotAffected
        );
    }
}
