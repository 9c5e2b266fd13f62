//! The real server on a real port, queried over HTTP: OSV.dev request and
//! response shapes, matching checked against an independent evaluation of
//! the raw upstream JSON, bad input, and the single-process lock.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;

use serde_json::{json, Value};

use crate::common::{advisord, advisord_ok, ingest_osv as ingest, shared, Server};

const GO_BULK: &str = "data/osv/bulk/golang-vulndb-data-osv.tar.gz";
const PYPA_BULK: &str = "data/osv/bulk/pypa-advisory-database-vulns.tar.gz";

/// Every JSON record of a tar.gz, read with serde_json::Value only.
fn raw_records(path: &std::path::Path) -> Vec<Value> {
    let file = std::fs::File::open(path).unwrap();
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
    let mut out = Vec::new();
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let name = entry.path().unwrap().display().to_string();
        let mut text = String::new();
        if name.ends_with(".json") {
            entry.read_to_string(&mut text).unwrap();
            out.push(serde_json::from_str(&text).unwrap());
        } else if name.ends_with(".yaml") {
            entry.read_to_string(&mut text).unwrap();
            out.push(serde_norway::from_str(&text).unwrap());
        }
    }
    out
}

/// The OSV evaluation algorithm for SEMVER ranges, written here apart from
/// advisord's evaluator, over raw JSON and the semver crate.
fn semver_range_contains(events: &[Value], version: &semver::Version) -> bool {
    let parse = |s: &str| semver::Version::parse(s.trim_start_matches('v')).ok();
    let mut list: Vec<(Option<semver::Version>, &str)> = Vec::new();
    for event in events {
        let (kind, value) = event.as_object().unwrap().iter().next().unwrap();
        let value = value.as_str().unwrap();
        let at = if kind == "introduced" && value == "0" {
            None
        } else {
            parse(value)
        };
        list.push((at, kind.as_str()));
    }
    list.sort_by(|a, b| a.0.cmp(&b.0));
    let mut affected = false;
    for (at, kind) in list {
        match (kind, at) {
            ("introduced", None) => affected = true,
            ("introduced", Some(at)) if version.cmp_precedence(&at).is_ge() => affected = true,
            ("fixed", Some(at)) if version.cmp_precedence(&at).is_ge() => affected = false,
            ("last_affected", Some(at)) if version.cmp_precedence(&at).is_gt() => affected = false,
            _ => {}
        }
    }
    affected
}

/// Expected ids for (Go package, version), computed from the raw records.
fn expected_go(records: &[Value], package: &str, version: &str) -> BTreeSet<String> {
    let v = semver::Version::parse(version).unwrap();
    let mut ids = BTreeSet::new();
    for record in records {
        if record.get("withdrawn").is_some() {
            continue;
        }
        for affected in record["affected"].as_array().into_iter().flatten() {
            if affected["package"]["name"] != package || affected["package"]["ecosystem"] != "Go" {
                continue;
            }
            let hit = affected["ranges"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|r| r["type"] == "SEMVER")
                .any(|r| semver_range_contains(r["events"].as_array().unwrap(), &v));
            if hit {
                ids.insert(record["id"].as_str().unwrap().to_string());
            }
        }
    }
    ids
}

pub(crate) async fn post(client: &reqwest::Client, url: &str, body: &Value) -> (u16, Value) {
    let response = client.post(url).json(body).send().await.unwrap();
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap();
    (status, body)
}

pub(crate) fn ids_of(body: &Value) -> BTreeSet<String> {
    body["vulns"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|v| v["id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn go_queries_match_an_independent_evaluation_of_the_raw_dump() {
    let Some(go) = shared(GO_BULK) else { return };
    let raw = raw_records(&go);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("a.redb");
    ingest(&db, &go, "osv-go");
    let server = Server::start(&db);
    let client = reqwest::Client::new();

    // Packages with the most records, and for each every version named in an
    // event plus versions just around them: the boundaries are where bugs live.
    let mut per_package: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for record in &raw {
        for affected in record["affected"].as_array().into_iter().flatten() {
            let name = affected["package"]["name"].as_str().unwrap().to_string();
            for range in affected["ranges"].as_array().into_iter().flatten() {
                for event in range["events"].as_array().into_iter().flatten() {
                    let (_, v) = event.as_object().unwrap().iter().next().unwrap();
                    if let Ok(parsed) = semver::Version::parse(v.as_str().unwrap()) {
                        let set = per_package.entry(name.clone()).or_default();
                        set.insert(parsed.to_string());
                        set.insert(
                            semver::Version::new(parsed.major, parsed.minor, parsed.patch + 1)
                                .to_string(),
                        );
                        if parsed.patch > 0 {
                            set.insert(
                                semver::Version::new(parsed.major, parsed.minor, parsed.patch - 1)
                                    .to_string(),
                            );
                        }
                    }
                }
            }
        }
    }
    let mut packages: Vec<_> = per_package.into_iter().collect();
    packages.sort_by_key(|(_, versions)| std::cmp::Reverse(versions.len()));
    let mut by_package: BTreeMap<&str, Vec<Value>> = BTreeMap::new();
    for record in &raw {
        for affected in record["affected"].as_array().into_iter().flatten() {
            let name = affected["package"]["name"].as_str().unwrap();
            let list = by_package.entry(name).or_default();
            if list.last() != Some(record) {
                list.push(record.clone());
            }
        }
    }
    let expected =
        |package: &str, version: &str| expected_go(&by_package[package], package, version);
    let mut checked = 0;
    let mut nonempty = 0;
    // Every 7th boundary version keeps the run short while covering all kinds.
    for (package, versions) in packages.iter().take(25) {
        for version in versions.iter().step_by(7) {
            let want = expected(package, version);
            let (status, body) = post(
                &client,
                &server.url("/v1/query"),
                &json!({"package": {"ecosystem": "Go", "name": package}, "version": version}),
            )
            .await;
            assert_eq!(status, 200, "{package}@{version}: {body}");
            assert_eq!(ids_of(&body), want, "{package}@{version}");
            checked += 1;
            nonempty += usize::from(!want.is_empty());
        }
    }
    assert!(
        checked > 300 && nonempty > 100,
        "checked {checked}, non-empty {nonempty}"
    );

    // The same questions as one querybatch give the same answers, in order.
    let sample: Vec<(String, String)> = packages
        .iter()
        .take(25)
        .flat_map(|(p, vs)| {
            vs.iter()
                .skip(3)
                .step_by(5)
                .map(move |v| (p.clone(), v.clone()))
        })
        .take(1000)
        .collect();
    let queries: Vec<Value> = sample
        .iter()
        .map(|(p, v)| json!({"package": {"ecosystem": "Go", "name": p}, "version": v}))
        .collect();
    let (status, body) = post(
        &client,
        &server.url("/v1/querybatch"),
        &json!({"queries": queries}),
    )
    .await;
    assert_eq!(status, 200);
    let results = body["results"].as_array().unwrap();
    assert_eq!(results.len(), sample.len());
    for ((package, version), result) in sample.iter().zip(results) {
        assert_eq!(
            ids_of(result),
            expected_go(&raw, package, version),
            "batch {package}@{version}"
        );
        for vuln in result["vulns"].as_array().into_iter().flatten() {
            assert_eq!(
                vuln.as_object().unwrap().len(),
                2,
                "batch results carry id and modified only"
            );
            assert!(vuln["modified"].is_string());
        }
    }
}

#[tokio::test]
async fn pypi_names_are_pep503_normalized_and_versions_lists_match() {
    let Some(pypa) = shared(PYPA_BULK) else {
        return;
    };
    let raw = raw_records(&pypa);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("a.redb");
    ingest(&db, &pypa, "osv-pypa");
    let server = Server::start(&db);
    let client = reqwest::Client::new();
    let mut checked = 0;
    for record in raw
        .iter()
        .filter(|r| r.get("withdrawn").is_none())
        .step_by(40)
    {
        for affected in record["affected"].as_array().into_iter().flatten() {
            let name = affected["package"]["name"].as_str().unwrap();
            let Some(version) = affected["versions"].as_array().and_then(|v| v.last()) else {
                continue;
            };
            // Ask with a non-canonical spelling, as users type names.
            let spelled = name.to_uppercase().replace('-', "_");
            let (status, body) = post(
                &client,
                &server.url("/v1/query"),
                &json!({"package": {"purl": format!("pkg:pypi/{spelled}@{}", version.as_str().unwrap())}}),
            )
            .await;
            assert_eq!(status, 200, "{body}");
            let id = record["id"].as_str().unwrap();
            assert!(
                ids_of(&body).contains(id),
                "{spelled}@{version} should list {id}: {body}"
            );
            checked += 1;
        }
    }
    assert!(checked > 40, "checked {checked}");
}

#[tokio::test]
async fn osv_shapes_withdrawn_records_and_errors() {
    let Some(go) = shared(GO_BULK) else { return };
    let raw = raw_records(&go);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("a.redb");
    ingest(&db, &go, "osv-go");
    let cli_json = advisord_ok(&["--db", db.to_str().unwrap(), "get", "GO-2020-0001"]);
    let server = Server::start(&db);
    let client = reqwest::Client::new();

    // GET /v1/vulns/{id}: the stored bytes, valid OSV with our provenance.
    let response = client
        .get(server.url("/v1/vulns/GO-2020-0001"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body = response.text().await.unwrap();
    assert_eq!(body.trim(), cli_json.trim());
    let record: Value = serde_json::from_str(&body).unwrap();
    let source = &record["database_specific"]["advisord"]["sources"][0];
    assert_eq!(source["feed"], "osv-go");
    assert!(source["source"]
        .as_str()
        .unwrap()
        .ends_with("GO-2020-0001.json"));
    assert!(source["digest"].as_str().unwrap().starts_with("sha256:"));

    let response = client
        .get(server.url("/v1/vulns/NOPE-1"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], 5);
    assert!(body["message"].as_str().unwrap().contains("NOPE-1"));

    // A withdrawn record: served by id, never by a query.
    let withdrawn = raw.iter().find(|r| r.get("withdrawn").is_some()).unwrap();
    let id = withdrawn["id"].as_str().unwrap();
    let response = client
        .get(server.url(&format!("/v1/vulns/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let package = withdrawn["affected"][0]["package"]["name"]
        .as_str()
        .unwrap();
    let (status, body) = post(
        &client,
        &server.url("/v1/query"),
        &json!({"package": {"ecosystem": "Go", "name": package}}),
    )
    .await;
    assert_eq!(status, 200);
    assert!(
        !ids_of(&body).contains(id),
        "withdrawn {id} returned: {body}"
    );

    // Nothing matches: `{}` as OSV.dev answers.
    let (status, body) = post(
        &client,
        &server.url("/v1/query"),
        &json!({"package": {"ecosystem": "Go", "name": "example.com/none"}, "version": "1.0.0"}),
    )
    .await;
    assert_eq!((status, body), (200, json!({})));

    // Bad requests: 400 with a message saying what is wrong.
    let bad: &[(Value, &str)] = &[
        (
            json!({"package": {"purl": "pkg:golang/github.com/gin-gonic/gin@1.5.0"}, "version": "1.5.0"}),
            "version given twice",
        ),
        (
            json!({"package": {"ecosystem": "Go", "name": ""}, "version": "1.0.0"}),
            "empty",
        ),
        (
            json!({"package": {"ecosystem": "Go", "name": 7}}),
            "invalid type",
        ),
        (
            json!({"package": {"ecosystem": "Go", "name": "x"}, "version": 5}),
            "invalid type",
        ),
        (
            json!({"package": {"ecosystem": "Nonesuch", "name": "x"}}),
            "unknown ecosystem",
        ),
        (
            json!({"package": {"ecosystem": "Go", "name": "x"}, "bogus": 1}),
            "unknown field",
        ),
        (json!({"version": "1.0.0"}), "package is required"),
        (
            json!({"package": {"purl": "pkg:nosuchtype/x@1"}}),
            "invalid purl",
        ),
    ];
    for (request, message) in bad {
        let (status, body) = post(&client, &server.url("/v1/query"), request).await;
        assert_eq!(status, 400, "{request}: {body}");
        assert_eq!(body["code"], 3);
        assert!(
            body["message"].as_str().unwrap().contains(message),
            "{request}: {body}"
        );
    }
    let response = client
        .post(server.url("/v1/query"))
        .header("content-type", "application/json")
        .body(r#"{"package": {"ecosystem": "Go", "na"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400, "truncated JSON");

    // 1,001 queries: refused as OSV.dev does.
    let queries: Vec<Value> = (0..1001)
        .map(|i| json!({"package": {"ecosystem": "Go", "name": format!("example.com/m{i}")}}))
        .collect();
    let (status, body) = post(
        &client,
        &server.url("/v1/querybatch"),
        &json!({"queries": queries}),
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("Too many queries"),
        "{body}"
    );

    // A 50 MB body is cut off by the body limit, the server stays up.
    let huge = format!("{{\"queries\": [\"{}\"]}}", "x".repeat(50 << 20));
    let sent = client
        .post(server.url("/v1/querybatch"))
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await;
    // The server answers 413 as soon as the declared length exceeds the
    // limit; it may close the connection before the client has written the
    // whole body, which the client then sees as a broken pipe.
    match sent {
        Ok(response) => assert_eq!(response.status(), 413),
        Err(e) => assert!(e.is_request(), "unexpected error: {e}"),
    }
    let health = client.get(server.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
}

#[tokio::test]
async fn results_past_one_thousand_are_paged() {
    let dir = tempfile::tempdir().unwrap();
    let records = dir.path().join("records");
    std::fs::create_dir(&records).unwrap();
    let total = 2345;
    for i in 0..total {
        let record = json!({
            "id": format!("TEST-{i:05}"),
            "modified": "2024-01-01T00:00:00Z",
            "affected": [{"package": {"ecosystem": "npm", "name": "left-pad"},
                          "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "9.0.0"}]}]}]
        });
        std::fs::write(records.join(format!("{i}.json")), record.to_string()).unwrap();
    }
    let db = dir.path().join("a.redb");
    ingest(&db, &records, "synthetic");
    let server = Server::start(&db);
    let client = reqwest::Client::new();
    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut request =
            json!({"package": {"ecosystem": "npm", "name": "left-pad"}, "version": "1.0.0"});
        if let Some(t) = &token {
            request["page_token"] = json!(t);
        }
        let (status, body) = post(&client, &server.url("/v1/query"), &request).await;
        assert_eq!(status, 200);
        let page = body["vulns"].as_array().unwrap();
        assert!(page.len() <= 1000);
        seen.extend(page.iter().map(|v| v["id"].as_str().unwrap().to_string()));
        pages += 1;
        match body.get("next_page_token") {
            Some(t) => token = Some(t.as_str().unwrap().to_string()),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    let unique: BTreeSet<_> = seen.iter().cloned().collect();
    assert_eq!(seen.len(), total);
    assert_eq!(unique.len(), total);
    let (status, _) = post(
        &client,
        &server.url("/v1/query"),
        &json!({"package": {"ecosystem": "npm", "name": "left-pad"}, "page_token": "zz"}),
    )
    .await;
    assert_eq!(status, 400);
}

#[test]
fn a_second_process_on_a_database_in_use_fails_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("a.redb");
    let _server = Server::start(&db);
    let started = std::time::Instant::now();
    let out = advisord(&["--db", db.to_str().unwrap(), "stats"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("in use by another advisord process"),
        "{stderr}"
    );
    // "At once": well under the time a lock wait would take; not a benchmark.
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
}

#[tokio::test]
async fn unevaluable_ranges_are_reported_as_possibly_affected() {
    let dir = tempfile::tempdir().unwrap();
    let records = dir.path().join("records");
    std::fs::create_dir(&records).unwrap();
    // Android has no version comparator: its ECOSYSTEM ranges cannot be ordered.
    let android = json!({
        "id": "ASB-TEST-1", "modified": "2024-01-01T00:00:00Z",
        "affected": [{"package": {"ecosystem": "Android", "name": "platform/frameworks/base"},
                      "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "14"}]}],
                      "versions": ["12", "13"]}]
    });
    // A PyPI record whose fixed version is not PEP 440.
    let broken = json!({
        "id": "PYSEC-TEST-1", "modified": "2024-01-01T00:00:00Z",
        "affected": [{"package": {"ecosystem": "PyPI", "name": "demo"},
                      "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "not a version"}]}]}]
    });
    std::fs::write(records.join("a.json"), android.to_string()).unwrap();
    std::fs::write(records.join("b.json"), broken.to_string()).unwrap();
    let db = dir.path().join("a.redb");
    ingest(&db, &records, "synthetic");
    let server = Server::start(&db);
    let client = reqwest::Client::new();
    let ask = |eco: &str, name: &str, version: &str| {
        let body = json!({"package": {"ecosystem": eco, "name": name}, "version": version});
        client.post(server.url("/v1/query")).json(&body).send()
    };
    // In the explicit versions list: a definite match, no header.
    let response = ask("Android", "platform/frameworks/base", "13")
        .await
        .unwrap();
    assert!(response.headers().get("x-advisord-unevaluated").is_none());
    assert_eq!(
        ids_of(&response.json().await.unwrap()),
        BTreeSet::from(["ASB-TEST-1".to_string()])
    );
    // Not listed, range not evaluable: returned, and named in the header.
    for (eco, name, version, id) in [
        ("Android", "platform/frameworks/base", "15", "ASB-TEST-1"),
        ("PyPI", "demo", "1.0", "PYSEC-TEST-1"),
    ] {
        let response = ask(eco, name, version).await.unwrap();
        let header = response
            .headers()
            .get("x-advisord-unevaluated")
            .map(|h| h.to_str().unwrap().to_string());
        assert_eq!(header.as_deref(), Some(id), "{eco}/{name}@{version}");
        assert_eq!(
            ids_of(&response.json().await.unwrap()),
            BTreeSet::from([id.to_string()])
        );
    }
    // The CLI says so in words (once the server has released the database).
    drop(server);
    let out = advisord_ok(&[
        "--db",
        db.to_str().unwrap(),
        "query",
        "--ecosystem",
        "PyPI",
        "--name",
        "demo",
        "--version",
        "1.0",
    ]);
    assert!(out.contains("possibly affected"), "{out}");
}

#[tokio::test]
async fn ingest_reads_zip_dumps_and_urls() {
    let Some(go) = shared(GO_BULK) else { return };
    let raw = raw_records(&go);
    let dir = tempfile::tempdir().unwrap();
    // An OSV.dev-style all.zip: one <ID>.json per record at the top level.
    let zip_path = dir.path().join("all.zip");
    {
        let mut zip = zip::ZipWriter::new(std::fs::File::create(&zip_path).unwrap());
        let options = zip::write::SimpleFileOptions::default();
        for record in raw.iter().take(500) {
            zip.start_file(format!("{}.json", record["id"].as_str().unwrap()), options)
                .unwrap();
            std::io::Write::write_all(&mut zip, record.to_string().as_bytes()).unwrap();
        }
        zip.finish().unwrap();
    }
    let db = dir.path().join("a.redb");
    let report = ingest(&db, &zip_path, "zip");
    assert_eq!(report["records"], 500);
    assert_eq!(report["outcome"]["created"], 500);

    // The same archive over HTTP from a local server.
    let url = crate::common::serve_file("/Go/all.tar.gz", std::fs::read(&go).unwrap()).await;
    let addr = url
        .trim_start_matches("http://")
        .trim_end_matches("/Go/all.tar.gz")
        .to_string();
    let db2 = dir.path().join("b.redb");
    let db2_arg = db2.to_str().unwrap().to_string();
    let url_arg = url.clone();
    let out = tokio::task::spawn_blocking(move || {
        advisord_ok(&[
            "--db", &db2_arg, "ingest", "--json", "--feed", "go-http", &url_arg,
        ])
    })
    .await
    .unwrap();
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["records"].as_u64().unwrap() as usize, raw.len());
    let record = advisord_ok(&["--db", db2.to_str().unwrap(), "get", "GO-2020-0001"]);
    let record: Value = serde_json::from_str(&record).unwrap();
    let source = record["database_specific"]["advisord"]["sources"][0]["source"]
        .as_str()
        .unwrap();
    assert!(
        source.starts_with(&url) && source.ends_with("GO-2020-0001.json"),
        "{source}"
    );

    // A URL that answers 404 fails the ingest with the URL and status, writing nothing.
    // (The local server runs on this test's runtime: call the binary off it.)
    let db2_arg = db2.to_str().unwrap().to_string();
    let missing = format!("http://{addr}/missing.zip");
    let out =
        tokio::task::spawn_blocking(move || advisord(&["--db", &db2_arg, "ingest", &missing]))
            .await
            .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("404") && stderr.contains(addr.as_str()),
        "{stderr}"
    );
}

#[tokio::test]
async fn records_of_an_unknown_ecosystem_are_kept_and_served_as_possibly_affected() {
    let dir = tempfile::tempdir().unwrap();
    let record = json!({
        "id": "NEW-1", "modified": "2024-01-01T00:00:00Z",
        "affected": [{"package": {"ecosystem": "Nonesuch:1", "name": "x"}, "versions": ["1.0"],
                      "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "3.0"}]}]}]
    });
    let path = dir.path().join("NEW-1.json");
    std::fs::write(&path, record.to_string()).unwrap();
    let db = dir.path().join("a.redb");
    let report = ingest(&db, &path, "new");
    assert_eq!(report["unknown_ecosystems"], json!({"Nonesuch": 1}));
    assert_eq!(report["outcome"]["created"], 1);
    let query = |version: &str, ecosystem: &str| {
        advisord(&[
            "--db",
            db.to_str().unwrap(),
            "query",
            "--no-builtin",
            "--ecosystem",
            ecosystem,
            "--name",
            "x",
            "--version",
            version,
        ])
    };
    // Listed exactly: a definite match. Otherwise the range cannot be
    // ordered (no comparator): possibly affected, said so.
    let out = query("1.0", "Nonesuch");
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.starts_with("NEW-1\t") && !stdout.contains("possibly"),
        "{stdout}"
    );
    let out = query("2.0", "Nonesuch:1");
    assert!(String::from_utf8_lossy(&out.stdout).contains("possibly affected"));
    // An ecosystem neither in the table nor in the store is still refused.
    let out = query("1.0", "Nonesuchh");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown ecosystem"));
    assert!(advisord_ok(&["--db", db.to_str().unwrap(), "get", "NEW-1"]).contains("Nonesuch:1"));

    // Over HTTP the same.
    let server = Server::start(&db);
    let client = reqwest::Client::new();
    let url = server.url("/v1/query");
    let ask = |ecosystem: &str, version: &str| json!({"package": {"ecosystem": ecosystem, "name": "x"}, "version": version});
    let (status, body) = post(&client, &url, &ask("Nonesuch", "1.0")).await;
    assert_eq!(
        (status, ids_of(&body)),
        (200, BTreeSet::from(["NEW-1".to_string()]))
    );
    let response = client
        .post(&url)
        .json(&ask("Nonesuch:1", "2.0"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.headers().get("x-advisord-unevaluated").unwrap(),
        "NEW-1"
    );
    let (status, body) = post(&client, &url, &ask("Nonesuch:2", "1.0")).await;
    assert_eq!((status, body), (200, json!({})));
    let (status, body) = post(&client, &url, &ask("Nonesuchh", "1.0")).await;
    assert_eq!(status, 400);
    assert!(body["message"]
        .as_str()
        .unwrap()
        .contains("unknown ecosystem"));
}
