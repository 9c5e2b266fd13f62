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
