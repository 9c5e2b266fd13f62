//! The store through the real binary: change log, per-record diff, merge of
//! two feeds, stats, and crash safety of an ingest killed with SIGKILL.

use std::collections::BTreeSet;
use std::path::Path;

use advisord::store::{ChangeKind, Store};
use serde_json::{json, Value};

use crate::common::{advisord, advisord_ok, shared};

fn ingest(db: &Path, feed: &str, path: &Path) -> Value {
    let out = advisord_ok(&[
        "--db",
        db.to_str().unwrap(),
        "ingest",
        "--feed",
        feed,
        "--json",
        path.to_str().unwrap(),
    ]);
    serde_json::from_str(&out).unwrap()
}

fn stats(db: &Path) -> Value {
    serde_json::from_str(&advisord_ok(&[
        "--db",
        db.to_str().unwrap(),
        "stats",
        "--json",
    ]))
    .unwrap()
}

fn write_record(dir: &Path, record: &Value) {
    let id = record["id"].as_str().unwrap();
    std::fs::write(dir.join(format!("{id}.json")), record.to_string()).unwrap();
}

fn record(id: &str, modified: &str, fixed: &str) -> Value {
    json!({
        "id": id,
        "modified": modified,
        "aliases": ["CVE-2099-0001"],
        "affected": [{"package": {"ecosystem": "PyPI", "name": "demo"},
                      "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": fixed}]}]}]
    })
}

#[test]
fn change_log_has_one_entry_per_real_change_and_no_gaps() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("a.redb");
    let feed_dir = dir.path().join("feed");
    std::fs::create_dir(&feed_dir).unwrap();
    write_record(
        &feed_dir,
        &record("TEST-1", "2024-01-01T00:00:00Z", "1.0.0"),
    );
    write_record(
        &feed_dir,
        &record("TEST-2", "2024-01-01T00:00:00Z", "2.0.0"),
    );

    let first = ingest(&db, "f", &feed_dir);
    assert_eq!(first["outcome"]["created"], 2);
    // Same bytes again: nothing written, no change entries.
    let again = ingest(&db, "f", &feed_dir);
    assert_eq!(again["outcome"]["unchanged"], 2);
    assert_eq!(stats(&db)["last_change_seq"], 2);

    // One record changes, one is withdrawn.
    write_record(
        &feed_dir,
        &record("TEST-1", "2024-02-01T00:00:00Z", "1.0.1"),
    );
    let mut withdrawn = record("TEST-2", "2024-02-01T00:00:00Z", "2.0.0");
    withdrawn["withdrawn"] = json!("2024-02-01T00:00:00Z");
    write_record(&feed_dir, &withdrawn);
    let third = ingest(&db, "f", &feed_dir);
    assert_eq!(
        (
            third["outcome"]["updated"].as_u64(),
            third["outcome"]["withdrawn"].as_u64()
        ),
        (Some(1), Some(1))
    );

    let s = stats(&db);
    assert_eq!(
        (s["records"].as_u64(), s["withdrawn"].as_u64()),
        (Some(2), Some(1))
    );
    assert_eq!(s["last_change_seq"], 4);

    let store = Store::open(&db).unwrap();
    let changes = store.changes_after(0, 100).unwrap();
    let seqs: Vec<u64> = changes.iter().map(|c| c.seq).collect();
    assert_eq!(seqs, vec![1, 2, 3, 4], "gap-free");
    let kinds: Vec<(String, ChangeKind)> = changes.iter().map(|c| (c.id.clone(), c.kind)).collect();
    assert_eq!(
        kinds,
        vec![
            ("TEST-1".into(), ChangeKind::Created),
            ("TEST-2".into(), ChangeKind::Created),
            ("TEST-1".into(), ChangeKind::Updated),
            ("TEST-2".into(), ChangeKind::Withdrawn),
        ]
    );
    assert_eq!(changes[2].modified, "2024-02-01T00:00:00Z");
    assert_eq!(changes[2].packages[0].name, "demo");
    assert_eq!(store.changes_after(3, 100).unwrap().len(), 1);
    // The update is visible to queries: 1.0.0 is now affected, the withdrawn record is gone.
    drop(store);
    let out = advisord_ok(&[
        "--db",
        db.to_str().unwrap(),
        "query",
        "--ecosystem",
        "PyPI",
        "--name",
        "demo",
        "--version",
        "1.0.0",
    ]);
    assert_eq!(
        out.lines()
            .map(|l| l.split('\t').next().unwrap())
            .collect::<Vec<_>>(),
        vec!["TEST-1"]
    );
}

#[test]
fn two_feeds_with_the_same_id_merge_into_one_record() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("a.redb");
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    std::fs::create_dir(&a).unwrap();
    std::fs::create_dir(&b).unwrap();
    write_record(&a, &record("TEST-9", "2024-01-01T00:00:00Z", "1.0.0"));
    let mut other = json!({
        "id": "TEST-9",
        "modified": "2024-03-01T00:00:00Z",
        "aliases": ["GHSA-aaaa-bbbb-cccc"],
        "affected": [{"package": {"ecosystem": "npm", "name": "demo-js"},
                      "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "3.0.0"}]}]}]
    });
    write_record(&b, &other);
    ingest(&db, "feed-a", &a);
    ingest(&db, "feed-b", &b);
    let json = advisord_ok(&["--db", db.to_str().unwrap(), "get", "TEST-9"]);
    let merged: Value = serde_json::from_str(&json).unwrap();
    let feeds: BTreeSet<&str> = merged["affected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["database_specific"]["advisord"]["feed"].as_str().unwrap())
        .collect();
    assert_eq!(feeds, BTreeSet::from(["feed-a", "feed-b"]));
    assert_eq!(
        merged["aliases"],
        json!(["CVE-2099-0001", "GHSA-aaaa-bbbb-cccc"])
    );
    assert_eq!(merged["modified"], "2024-03-01T00:00:00Z");
    assert_eq!(
        merged["database_specific"]["advisord"]["sources"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    // Both packages answer with the merged record.
    for (eco, name, version) in [("PyPI", "demo", "0.9.0"), ("npm", "demo-js", "2.0.0")] {
        let out = advisord_ok(&[
            "--db",
            db.to_str().unwrap(),
            "query",
            "--ecosystem",
            eco,
            "--name",
            name,
            "--version",
            version,
        ]);
        assert!(out.starts_with("TEST-9\t"), "{eco}/{name}: {out}");
    }
    // Feed B drops its package: only B's entries change, A's stay.
    other["affected"] = json!([]);
    other["modified"] = json!("2024-04-01T00:00:00Z");
    write_record(&b, &other);
    ingest(&db, "feed-b", &b);
    let out = advisord_ok(&[
        "--db",
        db.to_str().unwrap(),
        "query",
        "--ecosystem",
        "npm",
        "--name",
        "demo-js",
        "--version",
        "2.0.0",
    ]);
    assert_eq!(out, "");
    let out = advisord_ok(&[
        "--db",
        db.to_str().unwrap(),
        "query",
        "--ecosystem",
        "PyPI",
        "--name",
        "demo",
        "--version",
        "0.9.0",
    ]);
    assert!(out.starts_with("TEST-9\t"));
    let s = stats(&db);
    assert_eq!(
        (s["feeds"]["feed-a"].as_u64(), s["feeds"]["feed-b"].as_u64()),
        (Some(1), Some(1))
    );
}

#[test]
fn an_ingest_killed_midway_leaves_the_previous_state() {
    let Some(go) = shared("data/osv/bulk/golang-vulndb-data-osv.tar.gz") else {
        return;
    };
    let Some(big) = [
        "data/osv/bulk/pypa-advisory-database-vulns.tar.gz",
        "data/osv/bulk/oss-fuzz-vulns.tar.gz",
        "data/osv/bulk/almalinux-osv-advisories.tar.gz",
    ]
    .iter()
    .map(|p| shared(p))
    .collect::<Option<Vec<_>>>() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("a.redb");
    ingest(&db, "osv-go", &go);
    let db_arg = db.to_str().unwrap();
    let before = stats(&db);
    let probe = [
        "--db",
        db_arg,
        "query",
        "--ecosystem",
        "Go",
        "--name",
        "stdlib",
        "--version",
        "1.20.1",
    ];
    let answer_before = advisord_ok(&probe);
    assert!(answer_before.lines().count() > 10);

    // Kill the big ingest at several points: while reading, parsing, writing.
    let mut outcomes = Vec::new();
    for delay_ms in [150u64, 700, 1500, 3000] {
        let mut args = vec!["--db", db_arg, "ingest", "--feed", "big"];
        args.extend(big.iter().map(|p| p.to_str().unwrap()));
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_advisord"))
            .args(&args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        let finished = child.try_wait().unwrap().is_some();
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        // The database opens and Go answers are exactly as before.
        assert_eq!(
            advisord_ok(&probe),
            answer_before,
            "after kill at {delay_ms} ms"
        );
        let after = stats(&db);
        let big_records = after["feeds"]["big"].as_u64().unwrap_or(0);
        // All or nothing: either the whole batch committed or none of it did.
        if big_records == 0 {
            assert_eq!(
                after["records"], before["records"],
                "kill at {delay_ms} ms left a partial batch"
            );
            assert_eq!(after["last_change_seq"], before["last_change_seq"]);
        } else {
            assert_eq!(
                after["records"].as_u64().unwrap(),
                before["records"].as_u64().unwrap() + big_records,
                "kill at {delay_ms} ms"
            );
        }
        outcomes.push((delay_ms, finished, big_records));
        if big_records > 0 {
            break;
        }
    }
    assert!(
        outcomes.iter().any(|(_, finished, n)| !finished && *n == 0),
        "no kill landed midway: {outcomes:?}"
    );
    // A database left by a killed process is not locked: a new writer works.
    let out = advisord(&[
        "--db",
        db_arg,
        "ingest",
        "--feed",
        "osv-go",
        go.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn not_affected_statements_never_match_even_without_a_version() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("a.redb");
    let feed_dir = dir.path().join("feed");
    std::fs::create_dir(&feed_dir).unwrap();
    // A vendor "not affected" statement is kept as an entry with no ranges
    // and no versions; the other entry of the same record is a real range.
    write_record(
        &feed_dir,
        &json!({
            "id": "TEST-NA-1", "modified": "2024-01-01T00:00:00Z",
            "affected": [
                {"package": {"ecosystem": "PyPI", "name": "safe"},
                 "ecosystem_specific": {"status": "known_not_affected"}},
                {"package": {"ecosystem": "PyPI", "name": "unsafe"},
                 "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}]}]}
            ]
        }),
    );
    ingest(&db, "vex", &feed_dir);
    let query = |name: &str| {
        advisord_ok(&[
            "--db",
            db.to_str().unwrap(),
            "query",
            "--ecosystem",
            "PyPI",
            "--name",
            name,
        ])
    };
    assert_eq!(query("safe"), "");
    assert!(query("unsafe").starts_with("TEST-NA-1\t"));
}

/// Every served record (id, stored JSON), the change log and the stats.
type Visible = (Vec<(String, Vec<u8>)>, Vec<String>, advisord::store::Stats);

/// What a reader of the database can see (see [`Visible`]).
fn visible_state(store: &Store) -> Visible {
    let mut records = Vec::new();
    store
        .for_each_record(&mut |id, json| {
            records.push((id.to_string(), json.to_vec()));
            Ok(())
        })
        .unwrap();
    let changes = store
        .changes_after(0, usize::MAX)
        .unwrap()
        .into_iter()
        .map(|c| format!("{} {} {:?} {}", c.seq, c.id, c.kind, c.feed))
        .collect();
    (records, changes, store.stats().unwrap())
}

fn advisory(value: &Value, feed: &str) -> advisord::model::Advisory {
    let mut record: advisord::model::Advisory = serde_json::from_value(value.clone()).unwrap();
    let ctx = advisord::formats::SourceContext::for_bytes(
        feed,
        "x.json",
        "2026-01-01T00:00:00Z".parse().unwrap(),
        value.to_string().as_bytes(),
    );
    let id = record.id.to_string();
    ctx.stamp(&mut record, &id);
    record
}

#[test]
fn a_reingest_of_the_same_data_writes_no_change() {
    let Some(go) = shared("data/osv/bulk/golang-vulndb-data-osv.tar.gz") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("a.redb");
    let first = ingest(&db, "osv-go", &go);
    assert!(first["outcome"]["created"].as_u64().unwrap() > 1000);
    let store = Store::open(&db).unwrap();
    let before = visible_state(&store);
    drop(store);
    let again = ingest(&db, "osv-go", &go);
    assert_eq!(again["outcome"]["created"], 0);
    assert_eq!(again["outcome"]["updated"], 0);
    assert_eq!(again["outcome"]["last_seq"], Value::Null);
    assert_eq!(again["outcome"]["unchanged"], first["records"]);
    let store = Store::open(&db).unwrap();
    assert!(
        visible_state(&store) == before,
        "a re-ingest changed what is served"
    );
}

#[test]
fn an_id_given_twice_in_one_batch_keeps_the_last_and_reads_again_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("a.redb")).unwrap();
    let v1 = record("TEST-1", "2024-01-01T00:00:00Z", "1.0.0");
    let v2 = record("TEST-1", "2024-02-01T00:00:00Z", "2.0.0");
    let v3 = record("TEST-1", "2024-03-01T00:00:00Z", "3.0.0");
    let other = record("TEST-2", "2024-01-01T00:00:00Z", "1.0.0");
    store
        .apply_batch("f", vec![advisory(&v1, "f")], |_| {})
        .unwrap();
    let only_v1 = visible_state(&store);
    // The earlier TEST-1 is superseded: one update (to v3), one creation,
    // and the log stays gap-free.
    let batch = || {
        vec![
            advisory(&v2, "f"),
            advisory(&other, "f"),
            advisory(&v3, "f"),
        ]
    };
    let outcome = store.apply_batch("f", batch(), |_| {}).unwrap();
    assert_eq!(
        (outcome.created, outcome.updated, outcome.unchanged),
        (1, 1, 1)
    );
    assert_eq!(outcome.last_seq, Some(3));
    let kinds: Vec<_> = store
        .changes_after(1, 10)
        .unwrap()
        .into_iter()
        .map(|c| (c.seq, c.id, c.kind))
        .collect();
    assert_eq!(kinds.len(), 2, "{kinds:?}");
    assert!(
        kinds.contains(&(2, "TEST-2".into(), ChangeKind::Created))
            || kinds.contains(&(3, "TEST-2".into(), ChangeKind::Created)),
        "{kinds:?}"
    );
    assert!(kinds
        .iter()
        .any(|(_, id, kind)| id == "TEST-1" && *kind == ChangeKind::Updated));
    let served = store.get("TEST-1").unwrap().unwrap();
    assert_eq!(served.modified.to_string(), "2024-03-01T00:00:00Z");
    // The package index holds v3's range only: 2.5.0 is affected (fixed in 3.0.0).
    let key =
        advisord::store::PackageKey::of(&advisord::model::Ecosystem::new("PyPI").unwrap(), "demo");
    let rows = store.lookup_package(&key).unwrap();
    assert_eq!(rows.iter().filter(|r| r.id == "TEST-1").count(), 1);
    assert_eq!(
        rows.iter().find(|r| r.id == "TEST-1").unwrap().modified,
        "2024-03-01T00:00:00Z"
    );
    // The same batch again changes nothing.
    let after = visible_state(&store);
    let outcome = store.apply_batch("f", batch(), |_| {}).unwrap();
    assert_eq!(
        (outcome.created, outcome.updated, outcome.last_seq),
        (0, 0, None)
    );
    assert!(visible_state(&store) == after);
    // A batch whose last TEST-1 is the stored one writes no change at all.
    let fresh = tempfile::tempdir().unwrap();
    let store = Store::open(&fresh.path().join("b.redb")).unwrap();
    store
        .apply_batch("f", vec![advisory(&v1, "f")], |_| {})
        .unwrap();
    let outcome = store
        .apply_batch("f", vec![advisory(&v2, "f"), advisory(&v1, "f")], |_| {})
        .unwrap();
    assert_eq!(
        (outcome.updated, outcome.unchanged, outcome.last_seq),
        (0, 2, None)
    );
    assert!(visible_state(&store) == only_v1);
}

#[test]
fn dropping_one_feeds_contribution_restores_the_others_record() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("a.redb")).unwrap();
    let mine = record("TEST-9", "2024-01-01T00:00:00Z", "1.0.0");
    let theirs = json!({
        "id": "TEST-9",
        "modified": "2024-03-01T00:00:00Z",
        "aliases": ["GHSA-aaaa-bbbb-cccc"],
        "affected": [{"package": {"ecosystem": "npm", "name": "demo-js"},
                      "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "3.0.0"}]}]}]
    });
    store
        .apply_batch("feed-a", vec![advisory(&mine, "feed-a")], |_| {})
        .unwrap();
    let alone = store.get_json("TEST-9").unwrap().unwrap();
    store
        .apply_snapshot("feed-b", vec![advisory(&theirs, "feed-b")], |_| {})
        .unwrap();
    let merged = store.get("TEST-9").unwrap().unwrap();
    let feeds: BTreeSet<_> = merged.affected.iter().filter_map(|e| e.feed()).collect();
    assert_eq!(feeds, BTreeSet::from(["feed-a", "feed-b"]));
    let npm = advisord::store::PackageKey::of(
        &advisord::model::Ecosystem::new("npm").unwrap(),
        "demo-js",
    );
    assert_eq!(store.lookup_package(&npm).unwrap().len(), 1);
    // Re-reading either feed's version changes nothing.
    let outcome = store
        .apply_batch("feed-a", vec![advisory(&mine, "feed-a")], |_| {})
        .unwrap();
    assert_eq!((outcome.unchanged, outcome.last_seq), (1, None));
    // Feed B's snapshot no longer has TEST-9: A's record comes back byte for byte.
    let outcome = store
        .apply_snapshot(
            "feed-b",
            vec![advisory(
                &record("TEST-10", "2024-01-01T00:00:00Z", "1.0.0"),
                "feed-b",
            )],
            |_| {},
        )
        .unwrap();
    // (The record B leaves is logged as updated but, as before, counted
    // only as removed.)
    assert_eq!(
        (outcome.removed, outcome.created, outcome.updated),
        (1, 1, 0)
    );
    let last = store.changes_after(0, 100).unwrap().pop().unwrap();
    assert_eq!(
        (last.id.as_str(), last.kind),
        ("TEST-9", ChangeKind::Updated)
    );
    assert_eq!(store.get_json("TEST-9").unwrap().unwrap(), alone);
    assert!(store.lookup_package(&npm).unwrap().is_empty());
    // And A alone again re-reads as unchanged.
    let outcome = store
        .apply_batch("feed-a", vec![advisory(&mine, "feed-a")], |_| {})
        .unwrap();
    assert_eq!((outcome.unchanged, outcome.last_seq), (1, None));
}

#[test]
fn a_failed_batch_leaves_the_previous_data_byte_identical() {
    let Some(go) = shared("data/osv/bulk/golang-vulndb-data-osv.tar.gz") else {
        return;
    };
    let Some(pypa) = shared("data/osv/bulk/pypa-advisory-database-vulns.tar.gz") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("a.redb")).unwrap();
    let (records, _) = crate::common::parse_path(advisord::formats::Format::Osv, "osv", &go);
    store.apply_batch("osv", records, |_| {}).unwrap();
    let before = visible_state(&store);
    let feeds_before = store.feed_states().unwrap();
    // A batch that writes thousands of records (new ones, and a change to
    // every Go one), then fails.
    let (mut records, _) = crate::common::parse_path(advisord::formats::Format::Osv, "osv", &pypa);
    let (go_records, _) = crate::common::parse_path(advisord::formats::Format::Osv, "osv", &go);
    records.extend(go_records.into_iter().map(|mut r| {
        r.summary = Some("changed".into());
        r
    }));
    let result: Result<((), _), advisord::store::StoreError> = store.write_batch("osv", |w| {
        for record in records {
            w.push(record)?;
        }
        assert!(w.outcome().created > 1000 && w.outcome().updated > 100);
        Err(advisord::store::StoreError::BadMeta {
            key: "test: the batch fails".into(),
        })
    });
    assert!(result.is_err());
    assert!(
        visible_state(&store) == before,
        "a failed batch changed what is served"
    );
    assert_eq!(store.feed_states().unwrap(), feeds_before);
}

#[test]
fn records_are_stored_compressed_and_served_byte_for_byte() {
    use redb::ReadableDatabase;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("a.redb");
    let mut value = record("TEST-Z", "2024-01-01T00:00:00Z", "1.0.0");
    value["details"] = Value::String("the same sentence again. ".repeat(40));
    let store = Store::open(&db).unwrap();
    store
        .apply_batch("feed", vec![advisory(&value, "feed")], |_| {})
        .unwrap();
    let served = store.get_json("TEST-Z").unwrap().unwrap();
    let back: Value = serde_json::from_slice(&served).unwrap();
    assert_eq!(back["details"], value["details"]);
    assert_eq!(
        store.get_many_json(&["TEST-Z".to_string()]).unwrap(),
        vec![("TEST-Z".to_string(), served.clone())]
    );
    drop(store);
    let raw = redb::Database::open(&db).unwrap();
    let txn = raw.begin_read().unwrap();
    let records = txn.open_table(advisord::store::tables::RECORDS).unwrap();
    let stored = records.get("TEST-Z").unwrap().unwrap().value().to_vec();
    assert_ne!(stored, served);
    assert!(
        stored.len() * 2 < served.len(),
        "{} stored bytes for {} of JSON",
        stored.len(),
        served.len()
    );
}

#[test]
fn a_database_of_an_older_layout_is_refused_with_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("a.redb");
    drop(Store::open(&db).unwrap());
    let raw = redb::Database::open(&db).unwrap();
    let txn = raw.begin_write().unwrap();
    txn.open_table(advisord::store::tables::META)
        .unwrap()
        .insert("schema", b"2".as_slice())
        .unwrap();
    txn.commit().unwrap();
    drop(raw);
    let err = Store::open(&db).unwrap_err();
    assert!(
        matches!(&err, advisord::store::StoreError::Layout { found, .. } if found == "2"),
        "{err}"
    );
    assert!(err.to_string().contains("ingest or sync the feeds again"));
}
