//! Where a record came from: feed, upstream id, source, fetch time, digest.

use serde::{Deserialize, Serialize};

use super::Timestamp;

/// One feed's contribution to a record, stored under
/// `database_specific.advisord.sources` so users can trace every fact back
/// to the upstream bytes it was read from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Provenance {
    /// The feed name (`osv-pypi`, `suse-oval-sles15`, or the one given to `ingest`).
    pub feed: String,
    /// The id upstream gave the record (may differ from ours, e.g. an OVAL definition id).
    pub upstream_id: String,
    /// The URL or file (and archive member) the record was read from.
    pub source: String,
    /// When the upstream bytes were fetched or read.
    pub fetched: Timestamp,
    /// `sha256:<hex>` of the upstream bytes the record was parsed from.
    pub digest: String,
}
