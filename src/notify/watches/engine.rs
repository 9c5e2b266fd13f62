//! The watch engine: turns change-log entries into watch events.
//!
//! Each watch stores the findings of its inventory as of a change seq
//! (`as_of`). A pass reads, from one snapshot, the changes after the oldest
//! `as_of`, re-evaluates only the watched packages those changes touch (a
//! package named by a change, or one whose findings list a changed record),
//! and diffs old and new findings: an advisory that appears is
//! `newly_affected`, one that disappears `no_longer_affected`, one that gains
//! a fixed version `fixed`. Findings, events and the new `as_of` are written
//! in one transaction per pass.

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::inventory::findings;
use crate::model::{Ecosystem, Timestamp};
use crate::model::{Finding, InventoryPackage};
use crate::notify::Hub;
use crate::store::snapshot::Snapshot;
use crate::store::watches::{Watch, WatchEvent, WatchEventKind, WatchUpdate};
use crate::store::{ChangeEntry, StoreError};

/// Most change entries one pass reads.
const PASS_LIMIT: usize = 50_000;

/// (base ecosystem, index name): how a change and a package are compared.
type Key = (String, String);

fn key_of(ecosystem: &str, name: &str) -> Option<Key> {
    let eco = Ecosystem::new(ecosystem.to_string()).ok()?;
    Some((eco.base().to_string(), eco.index_name(name)))
}

/// A watch held in memory with its package keys.
struct Loaded {
    watch: Watch,
    keys: Vec<Option<Key>>,
}

impl Loaded {
    fn new(watch: Watch) -> Self {
        let keys = watch
            .packages
            .iter()
            .map(|p| key_of(&p.ecosystem, &p.name))
            .collect();
        Loaded { watch, keys }
    }
}

/// The in-memory engine; [`Engine::pass`] is one evaluation round.
#[derive(Default)]
pub struct Engine {
    watches: BTreeMap<String, Loaded>,
}

/// What changed in one pass, for callers and benches.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PassOutcome {
    /// Change entries read.
    pub changes: usize,
    /// Watches whose evaluation advanced.
    pub watches: usize,
    /// Packages re-evaluated.
    pub packages: usize,
    /// Events appended.
    pub events: usize,
}

impl Engine {
    /// (Re)loads every watch from the store.
    pub fn reload(&mut self, store: &crate::store::Store) -> Result<(), StoreError> {
        self.watches = store
            .watches()?
            .into_iter()
            .map(|w| (w.id.clone(), Loaded::new(w)))
            .collect();
        Ok(())
    }

    /// Evaluates the changes not yet seen by every watch and stores the
    /// results.
    pub fn pass(&mut self, store: &crate::store::Store) -> Result<PassOutcome, StoreError> {
        let Some(from) = self.watches.values().map(|l| l.watch.as_of).min() else {
            return Ok(PassOutcome::default());
        };
        let snapshot = store.snapshot()?;
        let changes = snapshot.changes_after(from, PASS_LIMIT)?;
        let Some(through) = changes.last().map(|c| c.seq) else {
            return Ok(PassOutcome::default());
        };
        let mut outcome = PassOutcome {
            changes: changes.len(),
            ..PassOutcome::default()
        };
        let now = Timestamp::now().to_string();
        let mut updates = Vec::new();
        // Watches usually share one `as_of`: compute what its changes touch once.
        let mut touched: HashMap<u64, Touched> = HashMap::new();
        for loaded in self.watches.values() {
            if loaded.watch.as_of >= through {
                continue;
            }
            let t = touched
                .entry(loaded.watch.as_of)
                .or_insert_with(|| Touched::of(&changes, loaded.watch.as_of));
            let (update, packages) = evaluate(&snapshot, loaded, t, through, &now)?;
            outcome.packages += packages;
            outcome.events += update.events.len();
            updates.push(update);
        }
        let written = store.commit_watch_updates(updates)?;
        outcome.watches = written.len();
        for watch in written {
            if let Some(loaded) = self.watches.get_mut(&watch.id) {
                loaded.watch.findings = watch.findings;
                loaded.watch.as_of = watch.as_of;
                loaded.watch.events = watch.events;
            }
        }
        Ok(outcome)
    }
}

/// The package keys and record ids of the changes after some seq.
struct Touched {
    keys: HashSet<Key>,
    ids: HashSet<String>,
}

impl Touched {
    fn of(changes: &[ChangeEntry], after: u64) -> Self {
        let mut keys = HashSet::new();
        let mut ids = HashSet::new();
        for change in changes.iter().filter(|c| c.seq > after) {
            ids.insert(change.id.clone());
            for p in &change.packages {
                if let Some(k) = key_of(&p.ecosystem, &p.name) {
                    keys.insert(k);
                }
            }
        }
        Touched { keys, ids }
    }
}

/// Re-evaluates one watch against the changes after its `as_of`.
fn evaluate(
    snapshot: &Snapshot,
    loaded: &Loaded,
    touched_by: &Touched,
    through: u64,
    now: &str,
) -> Result<(WatchUpdate, usize), StoreError> {
    let watch = &loaded.watch;
    let (keys, ids) = (&touched_by.keys, &touched_by.ids);
    let old: HashMap<&InventoryPackage, &Finding> =
        watch.findings.iter().map(|f| (&f.package, f)).collect();
    let touched: Vec<usize> = watch
        .packages
        .iter()
        .enumerate()
        .filter(|(i, p)| {
            loaded.keys[*i].as_ref().is_some_and(|k| keys.contains(k))
                || old
                    .get(p)
                    .is_some_and(|f| f.advisories.iter().any(|a| ids.contains(a)))
        })
        .map(|(i, _)| i)
        .collect();
    let packages: Vec<InventoryPackage> =
        touched.iter().map(|&i| watch.packages[i].clone()).collect();
    let fresh = findings(snapshot, &packages, &watch.ignore_status)?;
    let mut events = Vec::new();
    let mut replaced: HashMap<InventoryPackage, Option<Finding>> = HashMap::new();
    for (package, new) in packages.into_iter().zip(fresh) {
        let before = old.get(&package).copied();
        diff(before, new.as_ref(), &package, through, now, &mut events);
        replaced.insert(package, new);
    }
    // Rebuild the findings in inventory order.
    let mut all = Vec::new();
    for p in &watch.packages {
        match replaced.remove(p) {
            Some(Some(f)) => all.push(f),
            Some(None) => {}
            None => {
                if let Some(f) = old.get(p) {
                    all.push((*f).clone());
                }
            }
        }
    }
    let n = touched.len();
    Ok((
        WatchUpdate {
            id: watch.id.clone(),
            from: watch.as_of,
            as_of: through,
            findings: all,
            events,
        },
        n,
    ))
}

/// The events that turn `before` into `after` for one package.
pub(crate) fn diff(
    before: Option<&Finding>,
    after: Option<&Finding>,
    package: &InventoryPackage,
    through: u64,
    now: &str,
    out: &mut Vec<WatchEvent>,
) {
    let empty = Vec::new();
    let old_ids = before.map_or(&empty, |f| &f.advisories);
    let new_ids = after.map_or(&empty, |f| &f.advisories);
    let fixed_of = |f: Option<&Finding>, id: &str| -> Vec<String> {
        f.and_then(|f| f.fixed.get(id)).cloned().unwrap_or_default()
    };
    let event = |kind, advisory: &str, fixed| WatchEvent {
        seq: 0,
        kind,
        advisory: advisory.to_string(),
        package: package.clone(),
        fixed,
        change_seq: through,
        recorded: now.to_string(),
        image: None,
    };
    for id in new_ids {
        if !old_ids.contains(id) {
            out.push(event(
                WatchEventKind::NewlyAffected,
                id,
                fixed_of(after, id),
            ));
        } else if fixed_of(before, id).is_empty() && !fixed_of(after, id).is_empty() {
            out.push(event(WatchEventKind::Fixed, id, fixed_of(after, id)));
        }
    }
    for id in old_ids {
        if !new_ids.contains(id) {
            out.push(event(WatchEventKind::NoLongerAffected, id, Vec::new()));
        }
    }
}

/// Runs the engine until the task is dropped: a pass whenever the change
/// log grows or watches are created or deleted.
pub async fn run(hub: Hub) {
    let mut changes = hub.changes();
    let mut watch_set = hub.watch_set();
    let mut engine = Engine::default();
    let mut reload = true;
    loop {
        let store = hub.store().clone();
        let must_reload = reload;
        let result = tokio::task::spawn_blocking(move || {
            if must_reload {
                engine.reload(&store)?;
            }
            let mut total = PassOutcome::default();
            loop {
                let outcome = engine.pass(&store)?;
                total.events += outcome.events;
                if outcome.changes < PASS_LIMIT {
                    break;
                }
            }
            Ok::<_, StoreError>((engine, total))
        })
        .await;
        engine = match result {
            Ok(Ok((engine, total))) => {
                reload = false;
                if total.events > 0 {
                    hub.events_appended();
                }
                engine
            }
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "watch evaluation failed");
                reload = true;
                tokio::time::sleep(hub.config().poll).await;
                Engine::default()
            }
            Err(e) => {
                tracing::error!(error = %e, "watch engine crashed");
                reload = true;
                Engine::default()
            }
        };
        tokio::select! {
            _ = changes.changed() => {}
            _ = watch_set.changed() => reload = true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(ids: &[&str], fixed: &[(&str, &str)]) -> Finding {
        Finding {
            package: pkg(),
            advisories: ids.iter().map(|s| s.to_string()).collect(),
            unevaluated: vec![],
            fixed: fixed
                .iter()
                .map(|(id, v)| (id.to_string(), vec![v.to_string()]))
                .collect(),
            statuses: Default::default(),
        }
    }

    fn pkg() -> InventoryPackage {
        InventoryPackage {
            ecosystem: "npm".into(),
            name: "lodash".into(),
            version: Some("1.0.0".into()),
        }
    }

    #[test]
    fn diff_kinds() {
        let mut out = Vec::new();
        let a = finding(&["A", "B"], &[]);
        let b = finding(&["B", "C"], &[("B", "2.0.0")]);
        diff(Some(&a), Some(&b), &pkg(), 7, "now", &mut out);
        let got: Vec<_> = out.iter().map(|e| (e.kind, e.advisory.as_str())).collect();
        assert_eq!(
            got,
            vec![
                (WatchEventKind::Fixed, "B"),
                (WatchEventKind::NewlyAffected, "C"),
                (WatchEventKind::NoLongerAffected, "A"),
            ]
        );
        out.clear();
        diff(None, None, &pkg(), 7, "now", &mut out);
        diff(Some(&a), Some(&a), &pkg(), 7, "now", &mut out);
        assert!(out.is_empty());
    }
}
