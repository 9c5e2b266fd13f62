//! Every redb table advisord uses, in one place.

use redb::TableDefinition;

/// id -> the merged record as OSV JSON, LZ4-compressed (`store::compress`):
/// served by the API as decompressed, without re-encoding.
pub const RECORDS: TableDefinition<&str, &[u8]> = TableDefinition::new("records");

/// (id, feed) -> one feed's own version of the record: 32-byte content digest,
/// then nothing (the feed is the id's only one: its JSON is the record) or its
/// OSV JSON compressed (`store::contribution`). The merged record is rebuilt
/// from these.
pub const CONTRIBUTIONS: TableDefinition<(&str, &str), &[u8]> =
    TableDefinition::new("contributions");

/// (base ecosystem, index name, full ecosystem, id) -> an index row (`store::index`): the
/// record's `modified`, then a [`crate::version::RangeSpec`] per affected entry of that
/// package packed with its status and its events' order keys ([`crate::version::packed`]).
/// Withdrawn records are not indexed, so queries never see them.
pub const PACKAGES: TableDefinition<(&str, &str, &str, &str), &[u8]> =
    TableDefinition::new("packages");

/// (alias, id): which records name an alias, as id, alias or upstream id
/// (a CVE -> its DSA, USN, GHSA...).
pub const ALIASES: TableDefinition<(&str, &str), ()> = TableDefinition::new("aliases");

/// id -> (): the withdrawn records (for stats without decoding every record).
pub const WITHDRAWN: TableDefinition<&str, ()> = TableDefinition::new("withdrawn");

/// feed -> JSON [`super::FeedState`].
pub const FEEDS: TableDefinition<&str, &[u8]> = TableDefinition::new("feeds");

/// seq -> JSON [`super::ChangeEntry`]: the gap-free change log.
pub const CHANGES: TableDefinition<u64, &[u8]> = TableDefinition::new("changes");

/// key -> value: store metadata (`schema` = layout version).
pub const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");

/// id -> JSON `Subscription` (`store::subscriptions`): webhook subscriptions with their
/// delivery cursor and health.
pub const SUBSCRIPTIONS: TableDefinition<&str, &[u8]> = TableDefinition::new("subscriptions");

/// id -> JSON `Watch` (`store::watches`): inventory watches with their current
/// findings and the change seq they were evaluated at.
pub const WATCHES: TableDefinition<&str, &[u8]> = TableDefinition::new("watches");

/// id -> JSON list of the watch's [`crate::model::InventoryPackage`]s,
/// written once at creation (kept apart so re-evaluations rewrite only the
/// small watch record).
pub const WATCH_PACKAGES: TableDefinition<&str, &[u8]> = TableDefinition::new("watch_packages");

/// (watch id, event seq) -> JSON `WatchEvent` (`store::watches`); per watch,
/// event seqs are gap-free from 1.
pub const WATCH_EVENTS: TableDefinition<(&str, u64), &[u8]> = TableDefinition::new("watch_events");
/// (feed, id) -> (): which ids each feed contributes, so a full-snapshot
/// feed can find the records it no longer publishes.
pub const FEED_RECORDS: TableDefinition<(&str, &str), ()> = TableDefinition::new("feed_records");

/// id -> (): records no feed publishes any more. Their last version stays in
/// `records` (readable by id) but out of the package and alias indexes.
pub const REMOVED: TableDefinition<&str, ()> = TableDefinition::new("removed");
