//! The status and search page in a real browser: headless Chromium loads the real server's pages (search, open a record by
//! id and by alias, see a stale feed flagged) and the test reads the DOM
//! Chromium built.

use serde_json::Value;

use crate::common::{get_json, ingest_osv, ingest_report, require_shared, shared, Server};

const GO_BULK: &str = "data/osv/bulk/golang-vulndb-data-osv.tar.gz";

/// The Chromium binary (Debian's `chromium`), or `None` (skip) when absent.
fn chromium() -> Option<&'static str> {
    let found = std::process::Command::new("chromium")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            !require_shared(),
            "chromium is missing (apt-get install chromium)"
        );
        eprintln!("skipping: chromium is not installed");
        return None;
    }
    Some("chromium")
}

/// The DOM headless Chromium builds from `url`. The pages carry no script
/// and their Content-Security-Policy forbids any, so this is the page as a
/// browser with JavaScript off shows it (`--dump-dom` itself needs scripts
/// enabled in the browser).
fn dom(browser: &str, url: &str) -> String {
    let profile = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            &format!("--user-data-dir={}", profile.path().display()),
            "--dump-dom",
            url,
        ])
        .output()
        .expect("run chromium");
    assert!(
        out.status.success(),
        "chromium: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 DOM")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_searches_opens_records_and_flags_stale_feeds_in_chromium() {
    let Some(go) = shared(GO_BULK) else { return };
    let Some(browser) = chromium() else { return };
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("a.redb");
    ingest_osv(&db, &go, "osv-go");
    // A catalog feed that never synced: stale.
    let catalog = dir.path().join("catalog");
    std::fs::create_dir(&catalog).unwrap();
    std::fs::write(
        catalog.join("never-synced.toml"),
        "name = \"never-synced\"\nformat = \"osv\"\nurls = [\"http://127.0.0.1:9/all.zip\"]\ninterval = \"1h\"\nenabled = true\nsnapshot = true\n",
    )
    .unwrap();
    let server = Server::start_args(
        &db,
        &["--catalog", catalog.to_str().unwrap(), "--no-builtin"],
        &[],
    );
    let base = server.base.clone();
    let b = browser.to_string();
    let page = |path: String| {
        let (b, base) = (b.clone(), base.clone());
        tokio::task::spawn_blocking(move || dom(&b, &format!("{base}{path}")))
    };

    // The status part: each feed's row; the never-synced one flagged.
    let home = page("/".into()).await.unwrap();
    let row = |name: &str| {
        let start = home
            .find(&format!("<th scope=\"row\">{name}</th>"))
            .unwrap_or_else(|| panic!("no row for {name}: {home}"));
        let end = home[start..].find("</tr>").unwrap() + start;
        home[start..end].to_string()
    };
    let stale = row("never-synced");
    assert!(
        stale.contains("STALE") && stale.contains("never synced"),
        "{stale}"
    );
    let fresh = row("osv-go");
    assert!(!fresh.contains("STALE"), "{fresh}");
    let stats: Value = reqwest::get(server.url("/v1/feeds"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let records = stats["feeds"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "osv-go")
        .unwrap()["records"]
        .as_u64()
        .unwrap();
    assert!(fresh.contains(&format!("<td>{records}</td>")), "{fresh}");

    // Search by ecosystem, package and version: the API's answer, as links.
    let results = page("/?ecosystem=Go&package=stdlib&version=1.20.0".into())
        .await
        .unwrap();
    let api: Value = reqwest::Client::new()
        .post(server.url("/v1/query"))
        .json(&serde_json::json!({"package": {"ecosystem": "Go", "name": "stdlib"}, "version": "1.20.0"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ids: Vec<&str> = api["vulns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["id"].as_str().unwrap())
        .collect();
    assert!(ids.len() > 5, "{api}");
    for id in &ids {
        assert!(
            results.contains(&format!("href=\"/records/{id}\"")),
            "{id} not linked"
        );
    }
    assert!(results.contains(&format!("<p>{} advisories.</p>", ids.len())));

    // The record page, opened by id and by one of its aliases (the form's id field).
    let id = ids[0];
    let osv: Value = reqwest::get(server.url(&format!("/v1/vulns/{id}")))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let record = page(format!("/records/{id}")).await.unwrap();
    assert!(record.contains(&format!("<h1>{id}</h1>")), "{record}");
    assert!(record.contains("<td>stdlib</td>"), "{record}");
    assert!(
        record.contains("introduced") && record.contains("fixed"),
        "{record}"
    );
    assert!(record.contains("feed osv-go"), "{record}");
    if let Some(alias) = osv["aliases"][0].as_str() {
        let by_alias = page(format!("/?id={alias}")).await.unwrap();
        // One record names it: its page; several: links to each.
        assert!(
            by_alias.contains(&format!("<h1>{id}</h1>"))
                || by_alias.contains(&format!("href=\"/records/{id}\"")),
            "{alias}: {by_alias}"
        );
    }
    let missing = page("/records/GO-1900-0001".into()).await.unwrap();
    assert!(missing.contains("No advisory GO-1900-0001"), "{missing}");
}

/// Red Hat's two advisories on CVE-2024-8088 name different fixed versions
/// of python3.9 in RHEL 9 AppStream; the per-CVE page shows both and flags
/// the package; the search's id field lands there; an unknown CVE is a 404.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cve_page_shows_each_source_and_flags_a_real_disagreement_in_chromium() {
    let mut advisories = Vec::new();
    for relative in [
        "data/csaf/redhat/advisories/rhsa-2024_6163.json",
        "data/csaf/redhat/advisories/rhsa-2024_9371.json",
    ] {
        let Some(path) = shared(relative) else { return };
        advisories.push(path);
    }
    let Some(browser) = chromium() else { return };
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cve.redb");
    for path in &advisories {
        ingest_report(&db, "csaf", Some("csaf-redhat"), path);
    }
    let server = Server::start(&db);
    let base = server.base.clone();
    let page = |path: &str| {
        let (b, url) = (browser.to_string(), format!("{base}{path}"));
        tokio::task::spawn_blocking(move || dom(&b, &url))
    };

    // Reached from the search form's id field (lower case too).
    let cve = page("/?id=cve-2024-8088").await.unwrap();
    assert!(cve.contains("<h1>CVE-2024-8088</h1>"), "{cve}");
    assert!(cve.contains("The sources disagree on"), "{cve}");
    // python3.9 in RHEL 9 AppStream: both statements, the flag, both claims.
    let release = cve
        .find("\">Red Hat:enterprise_linux:9::appstream</h2>")
        .unwrap_or_else(|| panic!("no RHEL 9 AppStream section: {cve}"));
    let release_end = cve[release..].find("</section>").unwrap() + release;
    let start = cve[release..release_end]
        .find("<th scope=\"row\" rowspan=\"2\">python3.9</th>")
        .unwrap_or_else(|| panic!("no python3.9 with two statements: {cve}"))
        + release;
    let end = cve[start + 1..release_end]
        .find("<th scope=\"row\"")
        .map_or(release_end, |next| next + start + 1);
    let python = &cve[start..end];
    assert!(python.contains("sources disagree"), "{python}");
    for (upstream, fixed) in [
        ("RHSA-2024:6163", "0:3.9.18-3.el9_4.5"),
        ("RHSA-2024:9371", "0:3.9.19-8.el9"),
    ] {
        assert!(
            python.contains(&format!("<li>fixed {fixed}: csaf-redhat ({upstream})</li>")),
            "{upstream}: {python}"
        );
        assert!(python.contains(&format!(">{upstream}</a>")), "{python}");
        assert!(python.contains(&format!("<td>{fixed}</td>")), "{python}");
    }
    assert_eq!(
        python.matches("<td>csaf-redhat</td>").count(),
        2,
        "{python}"
    );
    // The same view the JSON API answers: its release heads a section here.
    let (status, api) = get_json(
        &reqwest::Client::new(),
        &server.url("/v1/cves/CVE-2024-8088"),
    )
    .await;
    assert_eq!(status, 200, "{api}");
    for release in api["releases"].as_array().unwrap() {
        let ecosystem = release["ecosystem"].as_str().unwrap();
        assert!(cve.contains(&format!("\">{ecosystem}</h2>")), "{ecosystem}");
    }

    // The record view links its CVE alias to this page.
    let rhsa = api["records"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .find(|id| *id != "CVE-2024-8088")
        .expect("an advisory naming the CVE");
    let record = page(&format!("/records/{rhsa}")).await.unwrap();
    assert!(record.contains("href=\"/cves/CVE-2024-8088\""), "{record}");

    // An unknown CVE: a 404 page.
    let answer = reqwest::get(server.url("/cves/CVE-1999-99999"))
        .await
        .unwrap();
    assert_eq!(answer.status(), 404);
    let missing = page("/cves/CVE-1999-99999").await.unwrap();
    assert!(
        missing.contains("No record names CVE-1999-99999"),
        "{missing}"
    );
}
