//! Fix status end to end on real shared data: `ignore_status` in query,
//! querybatch, scan and watches; the per-CVE view; OpenVEX out, validated.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::{json, Value};

use crate::common::{advisord, advisord_ok, get_json, post_raw, shared, Server};

const TOKEN: &str = "status-admin-token";

/// `advisord ingest --format FORMAT --feed FEED PATH...` on `db`.
fn ingest(db: &Path, format: &str, feed: &str, paths: &[&Path]) {
    let mut args = vec![
        "--db",
        db.to_str().expect("utf-8 path"),
        "ingest",
        "--format",
        format,
        "--feed",
        feed,
    ];
    args.extend(paths.iter().map(|p| p.to_str().expect("utf-8 path")));
    advisord_ok(&args);
}

/// The ids a `/v1/query` answer lists.
fn ids(answer: &Value) -> BTreeSet<String> {
    answer["vulns"]
        .as_array()
        .map(|v| {
            v.iter()
                .map(|r| r["id"].as_str().expect("id").to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// A store with the Debian tracker mock of osv.dev (apparmor: one CVE not
/// affected, one open with urgency unimportant, one fixed in 2.11.0-3) and
/// Red Hat's VEX of CVE-2023-6238 (kernel: not affected, with a flag).
fn debian_and_redhat_vex(dir: &Path) -> Option<std::path::PathBuf> {
    let tracker = shared("data/debian-tracker/json/osvdev-debian_security_tracker_mock.json")?;
    let vex = shared("data/vex/redhat/cve-2023-6238.json")?;
    let db = dir.join("status.redb");
    ingest(&db, "debian-tracker", "debian-tracker", &[&tracker]);
    ingest(&db, "csaf", "csaf-redhat-vex", &[&vex]);
    Some(db)
}

#[tokio::test]
async fn ignore_status_filters_query_and_batch_and_each_match_carries_its_status() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(db) = debian_and_redhat_vex(tmp.path()) else {
        return;
    };
    let server = Server::start(&db);
    let client = reqwest::Client::new();
    let query = |version: Option<&str>, ignore: Option<Value>| {
        let mut body = json!({"package": {"ecosystem": "Debian:12", "name": "apparmor"}});
        if let Some(v) = version {
            body["version"] = v.into();
        }
        if let Some(i) = ignore {
            body["ignore_status"] = i;
        }
        body
    };
    let ask = |body: Value| {
        let client = client.clone();
        let url = server.url("/v1/query");
        async move {
            let r = post_raw(&client, &url, &body).await;
            let status = r.status().as_u16();
            (status, r.json::<Value>().await.unwrap())
        }
    };
    // 2.10: before the 2.11.0-3 fix, and the open (unimportant) issue.
    // An OSV client (no ignore_status) gets OSV.dev's shape, no statuses.
    let (code, plain) = ask(query(Some("2.10-1"), None)).await;
    assert_eq!(code, 200, "{plain}");
    assert!(plain.get("statuses").is_none(), "{plain}");
    let (code, answer) = ask(query(Some("2.10-1"), Some(json!(["not_affected"])))).await;
    assert_eq!(code, 200, "{answer}");
    assert_eq!(
        ids(&answer),
        ["DEBIAN-CVE-2016-1585", "DEBIAN-CVE-2017-6507"]
            .map(String::from)
            .into()
    );
    assert_eq!(answer["statuses"]["DEBIAN-CVE-2016-1585"], "will_not_fix");
    assert_eq!(answer["statuses"]["DEBIAN-CVE-2017-6507"], "fixed");
    assert_eq!(ids(&plain), ids(&answer));
    let (_, answer) = ask(query(Some("2.10-1"), Some(json!(["fixed"])))).await;
    assert_eq!(ids(&answer), ["DEBIAN-CVE-2016-1585".to_string()].into());
    let (_, answer) = ask(query(
        Some("2.10-1"),
        Some(json!(["will_not_fix", "fixed"])),
    ))
    .await;
    assert_eq!(answer, json!({}));
    // Without version: not_affected is left out by default, listed when
    // the query does not ignore it.
    let (_, answer) = ask(query(None, None)).await;
    assert!(!ids(&answer).contains("DEBIAN-CVE-2014-1424"), "{answer}");
    let (_, answer) = ask(query(None, Some(json!([])))).await;
    assert!(ids(&answer).contains("DEBIAN-CVE-2014-1424"), "{answer}");
    assert_eq!(answer["statuses"]["DEBIAN-CVE-2014-1424"], "not_affected");
    // A word outside the vocabulary is a 400 naming it.
    let (code, answer) = ask(query(None, Some(json!(["wontfix"])))).await;
    assert_eq!(code, 400);
    assert!(
        answer["message"].as_str().unwrap().contains("wontfix"),
        "{answer}"
    );

    // querybatch: per query, each vuln with its status.
    let body = json!({"queries": [
        query(Some("2.10-1"), Some(json!(["not_affected"]))),
        query(Some("2.10-1"), Some(json!(["will_not_fix"]))),
        query(Some("2.10-1"), None),
    ]});
    let r = post_raw(&client, &server.url("/v1/querybatch"), &body).await;
    assert_eq!(r.status(), 200);
    let answer: Value = r.json().await.unwrap();
    let first: Vec<(String, String)> = answer["results"][0]["vulns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["id"].as_str().unwrap().to_string(),
                v["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        first,
        vec![
            (
                "DEBIAN-CVE-2016-1585".to_string(),
                "will_not_fix".to_string()
            ),
            ("DEBIAN-CVE-2017-6507".to_string(), "fixed".to_string()),
        ]
    );
    let second = &answer["results"][1]["vulns"];
    assert_eq!(second.as_array().unwrap().len(), 1, "{answer}");
    assert_eq!(second[0]["id"], "DEBIAN-CVE-2017-6507");
    // Without ignore_status: id and modified only, as OSV.dev answers.
    for vuln in answer["results"][2]["vulns"].as_array().unwrap() {
        assert_eq!(vuln.as_object().unwrap().len(), 2, "{vuln}");
    }
}

#[tokio::test]
async fn scan_and_watches_take_ignore_status() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(db) = debian_and_redhat_vex(tmp.path()) else {
        return;
    };
    let inventory = tmp.path().join("purls.txt");
    std::fs::write(
        &inventory,
        "pkg:deb/debian/apparmor@2.10-1?distro=debian-12\n",
    )
    .unwrap();
    let db_arg = db.to_str().unwrap();
    let inv_arg = inventory.to_str().unwrap();
    let scan = |extra: &[&str]| -> Value {
        let mut args = vec!["--db", db_arg, "scan", inv_arg, "--json"];
        args.extend_from_slice(extra);
        serde_json::from_str(&advisord_ok(&args)).expect("scan JSON")
    };
    let all = scan(&[]);
    assert_eq!(
        all["findings"][0]["advisories"].as_array().unwrap().len(),
        2,
        "{all}"
    );
    assert_eq!(
        all["findings"][0]["statuses"]["DEBIAN-CVE-2016-1585"],
        "will_not_fix"
    );
    let some = scan(&["--ignore-status", "will_not_fix,fix_deferred"]);
    assert_eq!(
        some["findings"][0]["advisories"],
        json!(["DEBIAN-CVE-2017-6507"])
    );
    let bad = advisord(&[
        "--db",
        db_arg,
        "scan",
        inv_arg,
        "--ignore-status",
        "wontfix",
    ]);
    assert_eq!(bad.status.code(), Some(2));

    let server = Server::start_with(&db, &[("ADVISORD_ADMIN_TOKEN", TOKEN)]);
    let client = reqwest::Client::new();
    let response = client
        .post(server.url("/v1/watches"))
        .bearer_auth(TOKEN)
        .json(&json!({"name": "apparmor", "ignore_status": ["fixed"],
                      "packages": [{"purl": "pkg:deb/debian/apparmor@2.10-1?distro=debian-12"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let watch: Value = response.json().await.unwrap();
    assert_eq!(
        watch["findings"][0]["advisories"],
        json!(["DEBIAN-CVE-2016-1585"]),
        "{watch}"
    );
    let response = client
        .post(server.url("/v1/watches"))
        .bearer_auth(TOKEN)
        .json(&json!({"name": "bad", "ignore_status": ["wontfix"],
                      "packages": [{"purl": "pkg:deb/debian/apparmor@2.10-1?distro=debian-12"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
}

/// The compiled OpenVEX rules of `schemas/openvex.schema.json`.
fn openvex_schema() -> jsonschema::Validator {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/openvex.schema.json");
    let schema: Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("read schema")).expect("JSON");
    jsonschema::draft202012::new(&schema).expect("schema compiles")
}

fn assert_openvex(document: &Value) {
    let errors: Vec<String> = openvex_schema()
        .iter_errors(document)
        .map(|e| format!("{e} at {}", e.instance_path))
        .collect();
    assert!(
        errors.is_empty(),
        "not valid OpenVEX: {errors:#?}\n{document:#}"
    );
}

#[test]
fn the_openvex_rules_refuse_what_the_spec_refuses() {
    let good = json!({"@context": "https://openvex.dev/ns/v0.2.0", "@id": "urn:x:1",
        "author": "a", "timestamp": "2024-01-01T00:00:00Z", "version": 1,
        "statements": [{"vulnerability": {"name": "CVE-1"}, "status": "not_affected",
                        "justification": "component_not_present"}]});
    assert!(openvex_schema().is_valid(&good));
    let mut no_reason = good.clone();
    no_reason["statements"][0]
        .as_object_mut()
        .unwrap()
        .remove("justification");
    assert!(!openvex_schema().is_valid(&no_reason));
    let mut no_action = good.clone();
    no_action["statements"][0]["status"] = "affected".into();
    no_action["statements"][0]
        .as_object_mut()
        .unwrap()
        .remove("justification");
    assert!(!openvex_schema().is_valid(&no_action));
    let mut bad_label = good.clone();
    bad_label["statements"][0]["justification"] = "Out of support scope".into();
    assert!(!openvex_schema().is_valid(&bad_label));
    let mut empty = good;
    empty["statements"] = json!([]);
    assert!(!openvex_schema().is_valid(&empty));
}

#[tokio::test]
async fn openvex_of_a_scan_and_of_a_watch_validates() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(db) = debian_and_redhat_vex(tmp.path()) else {
        return;
    };
    let purls = [
        "pkg:deb/debian/apparmor@2.13.6-10?distro=debian-12",
        "pkg:deb/debian/apparmor@2.10-1?distro=debian-11",
        "pkg:rpm/redhat/kernel@5.14.0-362.8.1.el9_3",
    ];
    let inventory = tmp.path().join("purls.txt");
    std::fs::write(&inventory, purls.join("\n") + "\n").unwrap();
    let out = advisord_ok(&[
        "--db",
        db.to_str().unwrap(),
        "scan",
        inventory.to_str().unwrap(),
        "--output",
        "openvex",
    ]);
    let document: Value = serde_json::from_str(&out).expect("OpenVEX JSON");
    assert_openvex(&document);
    let statement = |vuln: &str, product: &str| -> Value {
        document["statements"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| {
                s["vulnerability"]["name"] == vuln
                    && s["products"][0]["identifiers"]["purl"]
                        .as_str()
                        .is_some_and(|p| p.starts_with(product))
            })
            .cloned()
            .unwrap_or_else(|| panic!("no statement on {vuln} / {product}: {document:#}"))
    };
    let bookworm = "pkg:deb/debian/apparmor@2.13.6-10?distro=debian-12";
    let bullseye = "pkg:deb/debian/apparmor@2.10-1?distro=debian-11";
    // Past the fix: fixed; open and unimportant: affected, will not be fixed.
    assert_eq!(
        statement("DEBIAN-CVE-2017-6507", bookworm)["status"],
        "fixed"
    );
    let open = statement("DEBIAN-CVE-2016-1585", bookworm);
    assert_eq!(open["status"], "affected");
    assert!(open["action_statement"]
        .as_str()
        .unwrap()
        .contains("will not fix"));
    assert!(open["status_notes"]
        .as_str()
        .unwrap()
        .contains("open, urgency unimportant"));
    assert_eq!(open["vulnerability"]["aliases"], json!(["CVE-2016-1585"]));
    // Before the fix: affected, the action names the fixed version.
    let before = statement("DEBIAN-CVE-2017-6507", bullseye);
    assert_eq!(before["status"], "affected");
    assert!(before["action_statement"]
        .as_str()
        .unwrap()
        .contains("2.11.0-3"));
    // The tracker's "resolved, fixed_version 0": not affected, in its words.
    let never = statement("DEBIAN-CVE-2014-1424", bookworm);
    assert_eq!(never["status"], "not_affected");
    assert!(never["impact_statement"]
        .as_str()
        .unwrap()
        .contains("resolved (fixed_version 0)"));
    // Red Hat's VEX flag becomes the OpenVEX justification.
    let kernel = statement("REDHAT-CVE-2023-6238", "pkg:rpm/redhat/kernel@");
    assert_eq!(kernel["status"], "not_affected");
    assert_eq!(kernel["justification"], "vulnerable_code_not_present");

    // The same document for a watch of the same packages.
    let server = Server::start_with(&db, &[("ADVISORD_ADMIN_TOKEN", TOKEN)]);
    let client = reqwest::Client::new();
    let packages: Vec<Value> = purls.iter().map(|p| json!({"purl": p})).collect();
    let response = client
        .post(server.url("/v1/watches"))
        .bearer_auth(TOKEN)
        .json(&json!({"name": "vex", "packages": packages}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let id = response.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let response = client
        .get(server.url(&format!("/v1/watches/{id}/vex")))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let watched: Value = response.json().await.unwrap();
    assert_openvex(&watched);
    assert_eq!(watched["statements"], document["statements"]);
    let (code, _) = get_json(&client, &server.url(&format!("/v1/watches/{id}/vex"))).await;
    assert_eq!(code, 401, "the VEX of a watch needs the admin token");
}

/// One package's statements in a `/v1/cves/{id}` answer.
fn package<'a>(view: &'a Value, ecosystem: &str, name: &str) -> &'a Value {
    view["releases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["ecosystem"] == ecosystem)
        .and_then(|r| {
            r["packages"]
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p["name"] == name)
        })
        .unwrap_or_else(|| panic!("no {ecosystem} {name} in {view:#}"))
}

#[tokio::test]
async fn the_cve_view_answers_for_debian_ubuntu_red_hat_and_alpine_and_shows_a_real_disagreement() {
    let files = [
        (
            "debian-tracker",
            "debian-tracker",
            "data/debian-tracker/json/vunnel-debian.json",
        ),
        (
            "debian-tracker",
            "debian-dsa-list",
            "data/debian-tracker/list/vunnel-DSA.list",
        ),
        ("mail", "mail-ubuntu", "data/mail/ubuntu/USN-1048-1.txt"),
        (
            "alpine-secdb",
            "alpine-v3.10-main",
            "data/alpine-secdb/yaml/v3.10-main.yaml",
        ),
        (
            "csaf",
            "csaf-redhat",
            "data/csaf/redhat/advisories/rhsa-2024_6163.json",
        ),
        (
            "csaf",
            "csaf-redhat",
            "data/csaf/redhat/advisories/rhsa-2024_9371.json",
        ),
        (
            "csaf",
            "csaf-redhat-vex",
            "data/vex/redhat/cve-2023-6238.json",
        ),
    ];
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("cves.redb");
    for (format, feed, relative) in files {
        let Some(path) = shared(relative) else {
            return;
        };
        ingest(&db, format, feed, &[&path]);
    }
    let server = Server::start(&db);
    let client = reqwest::Client::new();
    let view = |id: &str| {
        let client = client.clone();
        let url = server.url(&format!("/v1/cves/{id}"));
        async move { get_json(&client, &url).await }
    };

    // Debian: the tracker and the DSA list agree on sope's fix in bookworm.
    let (code, sope) = view("CVE-2025-53603").await;
    assert_eq!(code, 200, "{sope}");
    assert_eq!(
        sope["records"],
        json!(["DEBIAN-CVE-2025-53603", "DSA-5970-1"])
    );
    let bookworm = package(&sope, "Debian:12", "sope");
    assert_eq!(bookworm["agree"], true);
    let feeds: BTreeSet<&str> = bookworm["statements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            assert_eq!(s["status"], "fixed");
            assert_eq!(s["fixed"], json!(["5.8.0-1+deb12u1"]));
            s["feed"].as_str().unwrap()
        })
        .collect();
    assert_eq!(feeds, ["debian-dsa-list", "debian-tracker"].into());
    // Ubuntu: a USN mail, per release.
    let (_, tomcat) = view("CVE-2010-4172").await;
    let lucid = package(&tomcat, "Ubuntu:10.04:LTS", "tomcat6");
    assert_eq!(lucid["statements"][0]["upstream_id"], "USN-1048-1");
    assert_eq!(
        lucid["statements"][0]["fixed"],
        json!(["6.0.24-2ubuntu1.6"])
    );
    assert_eq!(lucid["statements"][0]["status_source"], "announced fix");
    // Alpine: the secdb's fix.
    let (code, expat) = view("CVE-2019-15903").await;
    assert_eq!(code, 200);
    assert_eq!(
        package(&expat, "Alpine:v3.10", "expat")["statements"][0]["status"],
        "fixed"
    );
    // Red Hat VEX: not affected, with the vendor's justification.
    let (_, kernel) = view("CVE-2023-6238").await;
    let rhel9 = package(&kernel, "Red Hat:enterprise_linux:9", "kernel");
    assert_eq!(rhel9["statements"][0]["status"], "not_affected");
    assert_eq!(
        rhel9["statements"][0]["justification"],
        "vulnerable_code_not_present"
    );
    // A real disagreement: two Red Hat advisories name different fixed
    // versions of python3.9 in RHEL 9 AppStream for CVE-2024-8088.
    let (_, python) = view("CVE-2024-8088").await;
    assert_eq!(python["agree"], false);
    let appstream = package(
        &python,
        "Red Hat:enterprise_linux:9::appstream",
        "python3.9",
    );
    assert_eq!(appstream["agree"], false);
    let claims: Vec<(Value, Value)> = appstream["disagreements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["fixed"].clone(), c["sources"].clone()))
        .collect();
    assert_eq!(
        claims,
        vec![
            (
                json!(["0:3.9.18-3.el9_4.5"]),
                json!(["csaf-redhat (RHSA-2024:6163)"])
            ),
            (
                json!(["0:3.9.19-8.el9"]),
                json!(["csaf-redhat (RHSA-2024:9371)"])
            ),
        ]
    );

    // Unknown CVE: 404; not a CVE id: 400.
    assert_eq!(view("CVE-1999-99999").await.0, 404);
    assert_eq!(view("DSA-5970-1").await.0, 400);

    // The CLI prints the same view.
    drop(server);
    let out = advisord_ok(&["--db", db.to_str().unwrap(), "cve", "CVE-2024-8088"]);
    assert!(out.contains("python3.9  DISAGREE"), "{out}");
    assert!(out.contains("RHSA-2024:9371"), "{out}");
    let json_out = advisord_ok(&[
        "--db",
        db.to_str().unwrap(),
        "cve",
        "--json",
        "CVE-2024-8088",
    ]);
    assert_eq!(serde_json::from_str::<Value>(&json_out).unwrap(), python);
}

/// Response headers of a served file.
type Headers = Vec<(String, String)>;

/// The files of the loopback feed server: path -> bytes and response headers.
type Served = std::collections::HashMap<String, (Vec<u8>, Headers)>;

/// Reads a txtar fixture: `-- /path name:value... --` sections, plus the
/// files its comment names (`server/NAME header:value\nheader:value`),
/// which lie beside it.
fn read_txtar(path: &Path) -> Served {
    let text = std::fs::read_to_string(path).expect("read txtar");
    let mut served = Served::new();
    let mut lines = text.split_inclusive('\n').peekable();
    let header = |spec: &str| -> Headers {
        spec.split("\\n")
            .flat_map(|part| part.split_whitespace())
            .filter_map(|h| h.split_once(':'))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    while let Some(line) = lines.next_if(|l| !l.starts_with("-- ")) {
        let line = line.trim_end();
        let Some((name, rest)) = line.split_once(' ') else {
            continue;
        };
        let file = name.rsplit('/').next().unwrap();
        let bytes = std::fs::read(path.with_file_name(file)).expect("fixture file");
        // `last-modified:Mon, 11 Dec ... GMT\nanother:header`: one value per `\n`.
        let headers = rest
            .split("\\n")
            .filter_map(|h| h.split_once(':'))
            .map(|(k, v)| (k.to_string(), v.trim().to_string()))
            .collect();
        served.insert(format!("/{file}"), (bytes, headers));
    }
    let mut current: Option<(String, Headers, Vec<u8>)> = None;
    for line in lines {
        if let Some(spec) = line
            .strip_prefix("-- ")
            .and_then(|l| l.trim_end().strip_suffix(" --"))
        {
            if let Some((p, h, b)) = current.take() {
                served.insert(p, (b, h));
            }
            let (p, rest) = spec.split_once(' ').unwrap_or((spec, ""));
            current = Some((p.to_string(), header(rest), Vec::new()));
        } else if let Some((_, _, body)) = current.as_mut() {
            body.extend_from_slice(line.as_bytes());
        }
    }
    if let Some((p, h, b)) = current {
        served.insert(p, (b, h));
    }
    served
}

/// Serves `files` on loopback, answering 304 to a matching `If-None-Match`
/// or `If-Modified-Since`, 404 to anything else; returns the base URL.
async fn serve_feed(files: std::sync::Arc<std::sync::Mutex<Served>>) -> String {
    use axum::http::{HeaderMap, StatusCode, Uri};
    let app = axum::Router::new().fallback(move |uri: Uri, headers: HeaderMap| {
        let files = files.clone();
        async move {
            let found = files.lock().unwrap().get(uri.path()).cloned();
            let Some((body, sent)) = found else {
                return (StatusCode::NOT_FOUND, HeaderMap::new(), Vec::new());
            };
            let mut out = HeaderMap::new();
            for (k, v) in &sent {
                if let (Ok(k), Ok(v)) = (
                    axum::http::HeaderName::from_bytes(k.as_bytes()),
                    axum::http::HeaderValue::from_str(v),
                ) {
                    out.insert(k, v);
                }
            }
            let asked = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
            let same = |name: &str, ours: &str| {
                asked(name).is_some_and(|a| sent.iter().any(|(k, v)| k == ours && v == a))
            };
            if same("if-none-match", "etag") || same("if-modified-since", "last-modified") {
                return (StatusCode::NOT_MODIFIED, out, Vec::new());
            }
            (StatusCode::OK, out, body)
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    base
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_redhat_vex_feed_syncs_baseline_changes_and_deletions_from_the_loopback_fixture() {
    let Some(txtar) = shared("data/vex/redhat-feed/server.txtar") else {
        return;
    };
    let files = std::sync::Arc::new(std::sync::Mutex::new(read_txtar(&txtar)));
    assert!(files
        .lock()
        .unwrap()
        .contains_key("/csaf_vex_2023-10-31.tar.zst"));
    let base = serve_feed(files.clone()).await;
    let tmp = tempfile::tempdir().unwrap();
    let catalog = tmp.path().join("catalog");
    std::fs::create_dir(&catalog).unwrap();
    std::fs::write(
        catalog.join("vex.toml"),
        format!(
            "name = \"rh-vex\"\nformat = \"csaf\"\ndialect = \"redhat-vex-feed\"\nurls = [\"{base}/\"]\ninterval = \"6h\"\nsnapshot = false\n"
        ),
    )
    .unwrap();
    let db = tmp.path().join("vex.redb");
    let db_arg = db.to_str().unwrap().to_string();
    let catalog_arg = catalog.to_str().unwrap().to_string();
    let run = move |args: Vec<String>| {
        tokio::task::spawn_blocking(move || {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            advisord_ok(&args)
        })
    };
    let sync = || {
        run(vec![
            "--db".into(),
            db_arg.clone(),
            "sync".into(),
            "--no-builtin".into(),
            "--catalog".into(),
            catalog_arg.clone(),
            "rh-vex".into(),
        ])
    };
    let stats = || {
        let db_arg = db.to_str().unwrap().to_string();
        async move {
            let out = run(vec!["--db".into(), db_arg, "stats".into(), "--json".into()])
                .await
                .unwrap();
            serde_json::from_str::<Value>(&out).unwrap()
        }
    };
    let get = |id: &str| {
        let db_arg = db.to_str().unwrap().to_string();
        let id = id.to_string();
        async move {
            let out = run(vec!["--db".into(), db_arg, "get".into(), id])
                .await
                .unwrap();
            serde_json::from_str::<Value>(&out).unwrap()
        }
    };

    // Baseline: the five documents of the .tar.zst.
    sync().await.unwrap();
    let after_baseline = stats().await;
    assert_eq!(after_baseline["feeds"]["rh-vex"], 5, "{after_baseline}");
    let before = get("REDHAT-CVE-2023-0044").await;
    assert!(before["withdrawn"].is_null());

    // Changes since the archive's Last-Modified (11 Dec 2023): 0044 and
    // 0118 (0030, changed on the 10th, is already in the baseline).
    sync().await.unwrap();
    let after_changes = stats().await;
    assert_eq!(after_changes["feeds"]["rh-vex"], 6, "{after_changes}");
    let added = get("REDHAT-CVE-2023-0118").await;
    assert_eq!(added["id"], "REDHAT-CVE-2023-0118");
    assert!(
        added["database_specific"]["advisord"]["sources"][0]["source"]
            .as_str()
            .unwrap()
            .ends_with("/2023/cve-2023-0118.json")
    );

    // Unchanged upstream: both lists answer 304 and nothing is written.
    sync().await.unwrap();
    assert_eq!(
        stats().await["last_change_seq"],
        after_changes["last_change_seq"]
    );

    // A deletion published later withdraws the document's record.
    files.lock().unwrap().insert(
        "/deletions.csv".into(),
        (
            b"\"2023/cve-2023-0044.json\",\"2023-12-20T00:00:00+00:00\"\n".to_vec(),
            vec![("etag".into(), "deletions-2".into())],
        ),
    );
    sync().await.unwrap();
    let deleted = get("REDHAT-CVE-2023-0044").await;
    assert!(deleted["withdrawn"].is_string(), "{deleted}");
    let after_deletion = stats().await;
    assert_eq!(after_deletion["withdrawn"], 1);
    assert!(after_deletion["last_change_seq"].as_u64() > after_changes["last_change_seq"].as_u64());
}
