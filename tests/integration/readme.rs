//! The README's main examples, walked end to end as a newcomer would run
//! them: the first session on the command line, then the HTTP API of a real
//! server loaded from `../shared` data. When the README and the code drift
//! apart, this fails.

use serde_json::{json, Value};

use crate::common::{advisord, advisord_ok, get_json, header, post_raw, shared, Server};
use crate::server::{ids_of, post};

const PYPA_BULK: &str = "data/osv/bulk/pypa-advisory-database-vulns.tar.gz";
const GO_BULK: &str = "data/osv/bulk/golang-vulndb-data-osv.tar.gz";

#[tokio::test]
async fn the_readme_examples_hold() {
    let (Some(pypi), Some(go)) = (shared(PYPA_BULK), shared(GO_BULK)) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("advisord.redb");
    let db_arg = db.to_str().unwrap();

    // "A first session".
    let out = advisord_ok(&[
        "--db",
        db_arg,
        "ingest",
        "--format",
        "osv",
        "--feed",
        "osv-pypi",
        pypi.to_str().unwrap(),
    ]);
    assert!(
        out.starts_with("feed osv-pypi: ") && out.contains(" created, "),
        "{out}"
    );
    let out = advisord_ok(&[
        "--db",
        db_arg,
        "query",
        "--ecosystem",
        "PyPI",
        "--name",
        "jinja2",
        "--version",
        "2.4.1",
    ]);
    assert!(
        out.lines().any(|l| l.starts_with("PYSEC-2019-217\t")),
        "{out}"
    );
    let record: Value =
        serde_json::from_str(&advisord_ok(&["--db", db_arg, "get", "PYSEC-2019-217"])).unwrap();
    assert_eq!(record["id"], "PYSEC-2019-217");
    let stats = advisord_ok(&["--db", db_arg, "stats"]);
    assert!(
        stats.starts_with("records\t") && stats.contains("feed\tosv-pypi\t"),
        "{stats}"
    );
    advisord_ok(&[
        "--db",
        db_arg,
        "ingest",
        "--feed",
        "osv-go",
        go.to_str().unwrap(),
    ]);
    // `advisord vercmp`: `A<TAB>B` lines in, `<`, `=`, `>` or `ERR` out.
    let mut child = std::process::Command::new(crate::common::binary())
        .args(["vercmp", "--scheme", "deb"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(
        child.stdin.as_mut().unwrap(),
        b"1.0~rc1\t1.0\n2:1.0\t1.5\n1.0\t1.0\n",
    )
    .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(String::from_utf8(out.stdout).unwrap(), "<\n>\n=\n");
    // `advisord scan FILE`: purl lines.
    let purls = dir.path().join("purls.txt");
    std::fs::write(
        &purls,
        "pkg:pypi/jinja2@2.4.1\npkg:golang/github.com/gin-gonic/gin@1.5.0\n",
    )
    .unwrap();
    let out = advisord_ok(&["--db", db_arg, "scan", purls.to_str().unwrap()]);
    assert!(
        out.contains("PYSEC-2019-217") && out.contains("GO-2020-0001"),
        "{out}"
    );
    // Exit codes: 2 for a usage error.
    assert_eq!(advisord(&["--db", db_arg, "query"]).status.code(), Some(2));

    // "HTTP API".
    let server = Server::start(&db);
    let client = reqwest::Client::new();
    let query = server.url("/v1/query");
    let (status, by_name) = post(
        &client,
        &query,
        &json!({"package": {"ecosystem": "PyPI", "name": "jinja2"}, "version": "2.4.1"}),
    )
    .await;
    assert_eq!(status, 200);
    assert!(ids_of(&by_name).contains("PYSEC-2019-217"));
    let (_, by_purl) = post(
        &client,
        &query,
        &json!({"package": {"purl": "pkg:pypi/jinja2@2.4.1"}}),
    )
    .await;
    assert_eq!(ids_of(&by_purl), ids_of(&by_name));
    let (status, batch) = post(
        &client,
        &server.url("/v1/querybatch"),
        &json!({"queries": [{"package": {"purl": "pkg:golang/github.com/gin-gonic/gin@1.5.0"}},
                            {"package": {"ecosystem": "npm", "name": "lodash"}, "version": "4.17.15"}]}),
    )
    .await;
    assert_eq!(status, 200);
    let results = batch["results"].as_array().unwrap();
    assert!(ids_of(&results[0]).contains("GO-2020-0001"));
    for vuln in results[0]["vulns"].as_array().unwrap() {
        assert_eq!(
            vuln.as_object().unwrap().len(),
            2,
            "id and modified: {vuln}"
        );
        assert!(vuln["modified"].is_string());
    }
    assert_eq!(results[1], json!({}));
    let (status, one) = get_json(&client, &server.url("/v1/vulns/GO-2020-0001")).await;
    assert_eq!((status, &one["id"]), (200, &json!("GO-2020-0001")));
    let health = client.get(server.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    // Not ready and stale: the built-in catalog's feeds never synced here.
    assert_eq!(get_json(&client, &server.url("/readyz")).await.0, 503);
    let lodash = json!({"package": {"ecosystem": "npm", "name": "lodash"}, "version": "4.17.15"});
    let response = post_raw(&client, &query, &lodash).await;
    assert!(header(&response, "x-advisord-stale").is_some());

    // Without `version`, every advisory of the package.
    let (_, every) = post(
        &client,
        &query,
        &json!({"package": {"ecosystem": "PyPI", "name": "jinja2"}}),
    )
    .await;
    let (_, later) = post(
        &client,
        &query,
        &json!({"package": {"ecosystem": "PyPI", "name": "jinja2"}, "version": "2.11.0"}),
    )
    .await;
    assert!(ids_of(&every).is_superset(&ids_of(&by_name)));
    assert!(ids_of(&every).is_superset(&ids_of(&later)));
    assert!(!ids_of(&later).contains("PYSEC-2019-217"));
    // PyPI names compare as PEP 503 says.
    let (_, upper) = post(
        &client,
        &query,
        &json!({"package": {"ecosystem": "PyPI", "name": "Jinja2"}, "version": "2.4.1"}),
    )
    .await;
    assert_eq!(ids_of(&upper), ids_of(&by_name));
    // A version the scheme cannot read is answered and marked, not refused.
    let odd = json!({"package": {"ecosystem": "PyPI", "name": "jinja2"}, "version": "2019-09-12"});
    let response = post_raw(&client, &query, &odd).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        header(&response, "x-advisord-unevaluated").as_deref(),
        Some("version")
    );
    // Errors: {"code", "message"}; commit queries are refused.
    for bad in [
        json!({"package": {"ecosystem": "PyPI", "name": ""}, "version": "1.0"}),
        json!({"package": {"ecosystem": "Nonesuch", "name": "x"}}),
        json!({"commit": "6879efc2c1596d11a6a6ad296f80063b558d5e0f"}),
    ] {
        let (status, body) = post(&client, &query, &bad).await;
        assert_eq!((status, body["code"].clone()), (400, json!(3)), "{bad}");
        assert!(body["message"].is_string());
    }
    let (status, body) = post(
        &client,
        &server.url("/v1/querybatch"),
        &json!({"queries": vec![json!({"package": {"ecosystem": "PyPI", "name": "jinja2"}}); 1001]}),
    )
    .await;
    assert_eq!(status, 400, "{body}");
}
