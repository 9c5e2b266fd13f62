//! A consistent read view of the store: the change log and the package
//! index at one instant, so a pass that reads both never sees half a batch.

use redb::{ReadableDatabase, ReadableTable};

use crate::version::packed::Malformed;

use super::tables::*;
use super::{
    db_err, each_change_after, seconds_in_prefix, visit_in, ChangeEntry, PackageKey, PackageRow,
    Store, StoreError,
};

/// A consistent read view of the store: change log and package index at one
/// instant.
pub struct Snapshot {
    txn: redb::ReadTransaction,
}

impl Snapshot {
    /// Sequence number of the newest change, 0 when none.
    pub fn last_seq(&self) -> Result<u64, StoreError> {
        let table = self
            .txn
            .open_table(CHANGES)
            .map_err(db_err("open changes"))?;
        let last = table.last().map_err(db_err("read last change"))?;
        Ok(last.map_or(0, |(k, _)| k.value()))
    }

    /// Sequence number of the oldest change still kept, if any.
    pub fn oldest_seq(&self) -> Result<Option<u64>, StoreError> {
        let table = self
            .txn
            .open_table(CHANGES)
            .map_err(db_err("open changes"))?;
        let first = table.first().map_err(db_err("read first change"))?;
        Ok(first.map(|(k, _)| k.value()))
    }

    /// Change-log entries with `seq > after`, at most `limit`.
    pub fn changes_after(&self, after: u64, limit: usize) -> Result<Vec<ChangeEntry>, StoreError> {
        let table = self
            .txn
            .open_table(CHANGES)
            .map_err(db_err("open changes"))?;
        let mut out = Vec::new();
        each_change_after(&table, after, limit, |_, _, entry| out.push(entry))?;
        Ok(out)
    }

    /// Hands every index row of each package of `keys` to `visit`, with the
    /// position of its key, borrowed from the page it lies in (nothing is
    /// decoded into owned values: see [`PackageRow`]). A row `visit` finds
    /// damaged stops the walk with [`StoreError::Index`] naming it.
    pub fn visit_packages(
        &self,
        keys: &[PackageKey],
        mut visit: impl FnMut(usize, &PackageRow<'_>) -> Result<(), Malformed>,
    ) -> Result<(), StoreError> {
        let table = self
            .txn
            .open_table(PACKAGES)
            .map_err(db_err("open packages"))?;
        for (i, key) in keys.iter().enumerate() {
            visit_in(&table, key, |row| visit(i, row))?;
        }
        Ok(())
    }

    /// The ids of records naming `alias` (or having it as id).
    pub fn ids_for_alias(&self, alias: &str) -> Result<Vec<String>, StoreError> {
        let table = self
            .txn
            .open_table(ALIASES)
            .map_err(db_err("open aliases"))?;
        seconds_in_prefix(&table, alias, "scan aliases")
    }
}

impl Store {
    /// A consistent read view.
    pub fn snapshot(&self) -> Result<Snapshot, StoreError> {
        let txn = self.db.begin_read().map_err(db_err("begin read"))?;
        Ok(Snapshot { txn })
    }
}
