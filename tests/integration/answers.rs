//! Answers a scanner can trust, over real data on a real server: an odd
//! version never sinks a batch, an empty or outdated database never passes
//! for "not affected", and batch results page past 1,000 matches.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use advisord::formats::Format;
use advisord::model::Advisory;
use serde_json::{json, Value};

use crate::common::{
    advisord, get_json, header, ingest_osv, parse_path, post_raw, serve_file, shared, Server,
};
use crate::server::{ids_of, post};

const PYPA_BULK: &str = "data/osv/bulk/pypa-advisory-database-vulns.tar.gz";
const GO_BULK: &str = "data/osv/bulk/golang-vulndb-data-osv.tar.gz";
const NPM: &str = "data/osv/npm";

/// An rpm EVR, asked under npm (no semver).
const RPM_EVR: &str = "1:2.3.4-5.el9";

/// The ids whose affected entry for PyPI package `name` lists `version`
/// exactly (how OSV.dev answers a version it cannot order).
fn listing(records: &[Advisory], name: &str, version: &str) -> BTreeSet<String> {
    let name = advisord::model::ecosystem::pep503_normalize(name);
    records
        .iter()
        .filter(|r| r.withdrawn.is_none())
        .filter(|r| {
            r.affected.iter().any(|a| {
                a.package
                    .as_ref()
                    .is_some_and(|p| advisord::model::ecosystem::pep503_normalize(&p.name) == name)
                    && a.versions.iter().any(|v| v == version)
            })
        })
        .map(|r| r.id.to_string())
        .collect()
}

/// POST `queries` to `/v1/querybatch`: status and body.
async fn batch(client: &reqwest::Client, server: &Server, queries: &[Value]) -> (u16, Value) {
    post(
        client,
        &server.url("/v1/querybatch"),
        &json!({ "queries": queries }),
    )
    .await
}

#[tokio::test]
async fn an_odd_version_never_sinks_a_batch() {
    let (Some(pypa), Some(npm)) = (shared(PYPA_BULK), shared(NPM)) else {
        return;
    };
    let (records, _) = parse_path(Format::Osv, "pypa", &pypa);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("a.redb");
    ingest_osv(&db, &pypa, "pypa");
    ingest_osv(&db, &npm, "npm-samples");
    let npm_package = parse_path(Format::Osv, "npm", &npm).0[0].affected[0]
        .package
        .clone()
        .unwrap()
        .name;
    // paramiko's advisories list pre-PEP 440 versions such as `0.9-doduo`.
    let listed = listing(&records, "paramiko", "0.9-doduo");
    assert!(listed.len() >= 2, "{listed:?}");

    // 997 real (package, listed version) pairs, plus three odd versions.
    let mut queries: Vec<Value> = records
        .iter()
        .flat_map(|r| r.affected.iter())
        .filter_map(|a| Some((a.package.as_ref()?.name.clone(), &a.versions)))
        .flat_map(|(name, versions)| versions.iter().map(move |v| (name.clone(), v.clone())))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .take(997)
        .map(|(name, version)| {
            json!({"package": {"ecosystem": "PyPI", "name": name}, "version": version})
        })
        .collect();
    assert_eq!(queries.len(), 997);
    let odd = [
        (
            0,
            json!({"package": {"ecosystem": "PyPI", "name": "paramiko"}, "version": "0.9-doduo"}),
        ),
        (
            500,
            json!({"package": {"ecosystem": "PyPI", "name": "django"}, "version": "2019-09-12"}),
        ),
        (
            999,
            json!({"package": {"ecosystem": "npm", "name": npm_package}, "version": RPM_EVR}),
        ),
    ];
    for (at, query) in &odd {
        queries.insert(*at, query.clone());
    }
    assert_eq!(queries.len(), 1000);

    let server = Server::start(&db);
    let client = reqwest::Client::new();
    let (status, body) = batch(&client, &server, &queries).await;
    assert_eq!(status, 200, "{body}");
    let results = body["results"].as_array().unwrap();
    assert_eq!(results.len(), 1000);
    // The odd ones: answered, marked, exact `versions` matches only.
    assert_eq!(ids_of(&results[0]), listed);
    assert_eq!(ids_of(&results[500]), BTreeSet::new());
    assert_eq!(ids_of(&results[999]), BTreeSet::new());
    for (at, _) in &odd {
        let reason = results[*at]["unevaluated_version"].as_str().unwrap_or("");
        assert!(reason.contains("not a valid"), "{at}: {}", results[*at]);
    }
    // Every query answers in the batch as it does alone; a marked one lists
    // exactly the advisories naming its version.
    let mut marked = 0;
    for (query, result) in queries.iter().zip(results) {
        let response = client
            .post(server.url("/v1/query"))
            .json(query)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{query}");
        let header = response
            .headers()
            .get("x-advisord-unevaluated")
            .map(|h| h.to_str().unwrap().to_string());
        let alone: Value = response.json().await.unwrap();
        assert_eq!(ids_of(&alone), ids_of(result), "{query}");
        if result.get("unevaluated_version").is_some() {
            marked += 1;
            assert_eq!(header.as_deref(), Some("version"), "{query}");
            if query["package"]["ecosystem"] == "PyPI" {
                let expected = listing(
                    &records,
                    query["package"]["name"].as_str().unwrap(),
                    query["version"].as_str().unwrap(),
                );
                assert_eq!(ids_of(result), expected, "{query}");
            }
        } else {
            assert!(
                header.is_none_or(|h| !h.split(',').any(|x| x == "version")),
                "{query}"
            );
        }
    }
    assert!(marked >= odd.len());
    // Structural errors still refuse the whole batch.
    let mut broken = queries.clone();
    broken[10] = json!({"package": {"ecosystem": "PyPI", "name": ""}, "version": "1.0"});
    let (status, body) = batch(&client, &server, &broken).await;
    assert_eq!(status, 400);
    assert!(body["message"].as_str().unwrap().contains("queries[10]"));

    // A watch takes the odd versions too, and says which were not evaluated.
    drop(server);
    let server = Server::start_with(&db, &[("ADVISORD_ADMIN_TOKEN", "t0ken")]);
    let response = client
        .post(server.url("/v1/watches"))
        .bearer_auth("t0ken")
        .json(&json!({"name": "odd", "packages": [
            {"ecosystem": "PyPI", "name": "paramiko", "version": "0.9-doduo"},
            {"ecosystem": "npm", "name": npm_package, "version": RPM_EVR}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let watch: Value = response.json().await.unwrap();
    assert_eq!(watch["unevaluated_versions"].as_array().unwrap().len(), 2);
    let found: BTreeSet<String> = watch["findings"][0]["advisories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    assert_eq!(found, listed);
    drop(server);

    // The CLI answers and warns: query and scan.
    let db_arg = db.to_str().unwrap();
    let out = advisord(&[
        "--db",
        db_arg,
        "query",
        "--no-builtin",
        "--ecosystem",
        "PyPI",
        "--name",
        "paramiko",
        "--version",
        "0.9-doduo",
    ]);
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    let printed: BTreeSet<String> = stdout
        .lines()
        .map(|l| l.split('\t').next().unwrap().to_string())
        .collect();
    assert_eq!(printed, listed);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("warning:") && stderr.contains("0.9-doduo"),
        "{stderr}"
    );
    let list = dir.path().join("purls.txt");
    std::fs::write(
        &list,
        format!("pkg:pypi/paramiko@0.9-doduo\npkg:npm/{npm_package}@{RPM_EVR}\n"),
    )
    .unwrap();
    let out = advisord(&[
        "--db",
        db_arg,
        "scan",
        "--no-builtin",
        list.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.matches("warning:").count(), 2, "{stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        listed.iter().all(|id| stdout.contains(id.as_str())),
        "{stdout}"
    );
}

/// A one-feed catalog directory: feed `go-test` reading `url`.
fn go_catalog(dir: &Path, url: &str, max_age: Option<&str>) -> std::path::PathBuf {
    let catalog = dir.join("catalog");
    std::fs::create_dir_all(&catalog).unwrap();
    let max_age = max_age.map_or(String::new(), |m| format!("max_age = \"{m}\"\n"));
    std::fs::write(
        catalog.join("go.toml"),
        format!("name = \"go-test\"\nformat = \"osv\"\nurls = [\"{url}\"]\ninterval = \"1h\"\n{max_age}"),
    )
    .unwrap();
    catalog
}

/// Runs the binary off the test's runtime (a local upstream runs on it).
async fn run(args: Vec<String>) -> std::process::Output {
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        advisord(&args)
    })
    .await
    .unwrap()
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// `/readyz` of `server`: status and body.
async fn readyz(client: &reqwest::Client, server: &Server) -> (u16, Value) {
    get_json(client, &server.url("/readyz")).await
}

/// The `x-advisord-stale` header of the answer to `body` at `path`.
async fn stale(
    client: &reqwest::Client,
    server: &Server,
    path: &str,
    body: &Value,
) -> Option<String> {
    header(
        &post_raw(client, &server.url(path), body).await,
        "x-advisord-stale",
    )
}

#[tokio::test]
async fn an_empty_or_outdated_database_is_never_silently_clean() {
    let Some(go) = shared(GO_BULK) else { return };
    let dir = tempfile::tempdir().unwrap();
    let client = reqwest::Client::new();
    let gin = json!({"package": {"ecosystem": "Go", "name": "github.com/gin-gonic/gin"}, "version": "1.5.0"});
    let lodash = json!({"package": {"ecosystem": "npm", "name": "lodash"}, "version": "4.17.15"});

    // A fresh server on an empty database, built-in catalog: alive, not
    // ready, and every answer says it may be incomplete.
    let server = Server::start(&dir.path().join("empty.redb"));
    let response = client.get(server.url("/healthz")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let (status, body) = readyz(&client, &server).await;
    assert_eq!(status, 503);
    assert!(
        body["never_synced"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f == "osv-Go"),
        "{body}"
    );
    let response = post_raw(&client, &server.url("/v1/query"), &gin).await;
    let named = header(&response, "x-advisord-stale").unwrap();
    assert!(named.split(',').any(|f| f == "osv-Go"), "{named}");
    assert_eq!(response.json::<Value>().await.unwrap(), json!({}));
    let batch = json!({"queries": [gin]});
    assert!(stale(&client, &server, "/v1/querybatch", &batch)
        .await
        .is_some());
    drop(server);

    // One catalog feed, served from a local upstream.
    let url = serve_file("/Go/all.tar.gz", std::fs::read(&go).unwrap()).await;
    let catalog = go_catalog(dir.path(), &url, None);
    let catalog_arg = catalog.to_str().unwrap();
    let db = dir.path().join("a.redb");
    let db_arg = db.to_str().unwrap();
    let own = ["--no-builtin", "--catalog", catalog_arg];
    let sync = args(&[
        "--db",
        db_arg,
        "sync",
        "--no-builtin",
        "--catalog",
        catalog_arg,
    ]);
    let server = Server::start_args(&db, &own, &[]);
    assert_eq!(
        readyz(&client, &server).await.1["never_synced"],
        json!(["go-test"])
    );
    drop(server);
    let out = run(sync.clone()).await;
    assert!(out.status.success(), "{out:?}");
    let server = Server::start_args(&db, &own, &[]);
    assert_eq!(readyz(&client, &server).await.0, 200);
    let response = post_raw(&client, &server.url("/v1/query"), &gin).await;
    assert_eq!(header(&response, "x-advisord-stale"), None);
    assert!(ids_of(&response.json().await.unwrap()).contains("GO-2020-0001"));
    drop(server);
    // A second sync gets the same bytes: its success counts as fresh too.
    let out = run(sync).await;
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("unchanged"),
        "{out:?}"
    );

    let query = |extra: &[&str]| {
        let mut a = args(&["--db", db_arg, "query", "--ecosystem", "Go"]);
        a.extend(args(&own));
        a.extend(args(&[
            "--name",
            "github.com/gin-gonic/gin",
            "--version",
            "1.5.0",
        ]));
        a.extend(args(extra));
        run(a)
    };
    let out = query(&["--fail-on-stale"]).await;
    assert!(out.status.success(), "{out:?}");
    assert!(!String::from_utf8_lossy(&out.stderr).contains("warning"));

    // Past its max age, the feed makes Go answers stale again (readiness,
    // "synced once", stays).
    go_catalog(dir.path(), &url, Some("1s"));
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let out = query(&[]).await;
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("warning:") && stderr.contains("go-test"),
        "{stderr}"
    );
    let out = query(&["--fail-on-stale"]).await;
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("GO-2020-0001"));
    let mut feeds = args(&["--db", db_arg, "feeds", "--json"]);
    feeds.extend(args(&own));
    let feeds: Value = serde_json::from_slice(&run(feeds).await.stdout).unwrap();
    let feed = &feeds[0];
    assert_eq!(
        (&feed["stale"], &feed["max_age"]),
        (&json!(true), &json!("1s"))
    );
    assert!(feed["age_secs"].as_u64().unwrap() >= 2, "{feed}");
    let stats = String::from_utf8(run(args(&["--db", db_arg, "stats"])).await.stdout).unwrap();
    let line = stats.lines().find(|l| l.starts_with("feed\tgo-test\t"));
    assert!(line.is_some_and(|l| l.contains("\tage ")), "{stats}");
    let server = Server::start_args(&db, &own, &[]);
    assert_eq!(readyz(&client, &server).await.0, 200);
    let named = stale(&client, &server, "/v1/query", &gin).await;
    assert_eq!(named.as_deref(), Some("go-test"));
    drop(server);

    // --ready-feeds narrows readiness to the feeds named, catalog or not;
    // a manual ingest has no schedule, so it is never stale.
    let manual = dir.path().join("manual.redb");
    let mut narrowed = own.to_vec();
    narrowed.extend(["--ready-feeds", "go-manual"]);
    let server = Server::start_args(&manual, &narrowed, &[]);
    assert_eq!(
        readyz(&client, &server).await.1["never_synced"],
        json!(["go-manual"])
    );
    drop(server);
    ingest_osv(&manual, &go, "go-manual");
    let server = Server::start_args(&manual, &narrowed, &[]);
    assert_eq!(readyz(&client, &server).await.0, 200);
    assert_eq!(stale(&client, &server, "/v1/query", &gin).await, None);
    // An ecosystem no feed supplied, while a catalog feed never synced.
    let named = stale(&client, &server, "/v1/query", &lodash).await;
    assert_eq!(named.as_deref(), Some("go-test"));
}

#[tokio::test]
async fn querybatch_pages_past_one_thousand_matches_per_query() {
    let Some(pypa) = shared(PYPA_BULK) else {
        return;
    };
    // Real tensorflow advisories, each copied under five renamed ids.
    let (records, _) = parse_path(Format::Osv, "pypa", &pypa);
    let tensorflow: Vec<&Advisory> = records
        .iter()
        .filter(|r| r.withdrawn.is_none())
        .filter(|r| {
            r.affected
                .iter()
                .any(|a| a.package.as_ref().is_some_and(|p| p.name == "tensorflow"))
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("records");
    std::fs::create_dir(&tree).unwrap();
    for copy in 0..5 {
        for record in &tensorflow {
            let mut value = serde_json::to_value(record).unwrap();
            let id = format!("{}-C{copy}", record.id);
            value["id"] = json!(id);
            std::fs::write(tree.join(format!("{id}.json")), value.to_string()).unwrap();
        }
    }
    let total = tensorflow.len() * 5;
    assert!(total > 1000, "{total}");
    let db = dir.path().join("a.redb");
    ingest_osv(&db, &tree, "tensorflow-copies");
    let server = Server::start(&db);
    let client = reqwest::Client::new();

    let tf = json!({"package": {"ecosystem": "PyPI", "name": "tensorflow"}});
    let few = json!({"package": {"ecosystem": "PyPI", "name": "paramiko"}});
    let mut pending: BTreeMap<usize, Option<String>> = BTreeMap::from([(0, None), (1, None)]);
    let mut seen: Vec<BTreeSet<String>> = vec![BTreeSet::new(), BTreeSet::new()];
    let mut rounds = 0;
    while !pending.is_empty() {
        rounds += 1;
        let queries: Vec<Value> = [&tf, &few]
            .iter()
            .enumerate()
            .map(|(i, q)| {
                let mut q = (*q).clone();
                if let Some(Some(token)) = pending.get(&i) {
                    q["page_token"] = json!(token);
                }
                q
            })
            .collect();
        let (status, body) = batch(&client, &server, &queries).await;
        assert_eq!(status, 200, "{body}");
        let mut next = BTreeMap::new();
        for (i, result) in body["results"].as_array().unwrap().iter().enumerate() {
            if !pending.contains_key(&i) {
                continue;
            }
            let page = ids_of(result);
            assert!(page.len() <= 1000);
            assert!(page.is_disjoint(&seen[i]), "a page repeats ids");
            seen[i].extend(page);
            if let Some(token) = result["next_page_token"].as_str() {
                next.insert(i, Some(token.to_string()));
            }
        }
        pending = next;
    }
    assert_eq!(rounds, 2);
    assert_eq!(seen[0].len(), total);
    assert!(seen[1].is_empty());
    // The same set /v1/query pages through.
    let mut alone = BTreeSet::new();
    let mut token: Option<String> = None;
    loop {
        let mut q = tf.clone();
        if let Some(t) = &token {
            q["page_token"] = json!(t);
        }
        let (_, body) = post(&client, &server.url("/v1/query"), &q).await;
        alone.extend(ids_of(&body));
        match body["next_page_token"].as_str() {
            Some(t) => token = Some(t.to_string()),
            None => break,
        }
    }
    assert_eq!(alone, seen[0]);
}
