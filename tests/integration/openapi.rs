//! `GET /openapi.json` held to the code: it validates with
//! openapi-spec-validator, names exactly the routes `src/api/` declares
//! (path and methods), and the real server serves every operation in it.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;

use crate::common::{require_shared, Server};

/// Every `(METHOD, path)` declared with `.route("path", ...)` in the Rust
/// files under `dir`: the methods are the `get(`/`post(`/... calls in the
/// route's argument list.
fn declared_routes(dir: &Path, out: &mut BTreeSet<(String, String)>) {
    let methods = regex::Regex::new(r"\b(get|post|put|delete|patch)\(").unwrap();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            declared_routes(&path, out);
            continue;
        }
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        // Code only: comments may mention `.route(` too.
        let text: String = std::fs::read_to_string(&path)
            .unwrap()
            .lines()
            .filter(|line| !line.trim_start().starts_with("//"))
            .map(|line| format!("{line}\n"))
            .collect();
        let mut rest = text.as_str();
        while let Some(at) = rest.find(".route(") {
            rest = &rest[at + ".route(".len()..];
            // The argument list: up to the parenthesis closing `.route(`.
            let mut depth = 1;
            let end = rest
                .char_indices()
                .find(|(_, c)| {
                    match c {
                        '(' => depth += 1,
                        ')' => depth -= 1,
                        _ => {}
                    }
                    depth == 0
                })
                .map(|(i, _)| i)
                .unwrap_or_else(|| panic!("unclosed .route( in {}", path.display()));
            let args = &rest[..end];
            let route = args.split('"').nth(1).unwrap_or_else(|| {
                panic!("route without a literal path in {}: {args}", path.display())
            });
            let found: Vec<_> = methods
                .captures_iter(args)
                .map(|c| c[1].to_uppercase())
                .collect();
            assert!(
                !found.is_empty(),
                "no method for {route} in {}",
                path.display()
            );
            for method in found {
                out.insert((method, route.to_string()));
            }
        }
    }
}

/// Whether python3 can import `module`; panics in CI when it cannot.
fn python_has(module: &str) -> bool {
    let ok = std::process::Command::new("python3")
        .args(["-c", &format!("import {module}")])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(!require_shared(), "python3 module {module} is missing");
        eprintln!("skipping: python3 module {module} is not installed");
    }
    ok
}

#[tokio::test]
async fn openapi_names_every_route_and_validates() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("a.redb");
    let server = Server::start(&db);
    let client = reqwest::Client::new();
    let response = client
        .get(server.url("/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    let text = response.text().await.unwrap();
    let document: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(document["openapi"], "3.1.0");

    // The document and the router list the same operations.
    let mut declared = BTreeSet::new();
    declared_routes(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src/api"),
        &mut declared,
    );
    assert!(declared.len() > 20, "{declared:?}");
    let mut documented = BTreeSet::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            documented.insert((method.to_uppercase(), path.clone()));
            assert!(operation["responses"].is_object(), "{method} {path}");
            // Every error answer is described with the one error shape.
            for (status, answer) in operation["responses"].as_object().unwrap() {
                let json = answer["content"].get("application/json").is_some();
                if json && (status.starts_with('4') || status.starts_with('5')) {
                    assert_eq!(
                        answer["content"]["application/json"]["schema"]["$ref"],
                        "#/components/schemas/Error",
                        "{method} {path} {status}"
                    );
                }
            }
        }
    }
    let undocumented: Vec<_> = declared.difference(&documented).collect();
    let unserved: Vec<_> = documented.difference(&declared).collect();
    assert!(
        undocumented.is_empty(),
        "routes missing from openapi.json: {undocumented:?}"
    );
    assert!(
        unserved.is_empty(),
        "openapi.json names routes the code does not declare: {unserved:?}"
    );

    // And the running server answers each of them (not "no such endpoint"
    // nor "method not allowed"; without a token or body, 4xx is expected).
    for (method, path) in &documented {
        let url = server.url(&path.replace("{id}", "x").replace("{name}", "x"));
        let request = match method.as_str() {
            "GET" => client.get(&url),
            "POST" => client
                .post(&url)
                .header("content-type", "application/json")
                .body("{}"),
            "DELETE" => client.delete(&url),
            other => panic!("unexpected method {other}"),
        };
        let answer = request.send().await.unwrap();
        let status = answer.status().as_u16();
        assert_ne!(status, 405, "{method} {path}");
        let json = answer
            .headers()
            .get("content-type")
            .is_some_and(|v| v == "application/json");
        if status == 404 && json {
            let body: Value = answer.json().await.unwrap();
            let message = body["message"].as_str().unwrap_or_default();
            assert!(
                !message.starts_with("no such endpoint"),
                "{method} {path}: {message}"
            );
        }
    }

    // A standard validator accepts it.
    if python_has("openapi_spec_validator") {
        let out = std::process::Command::new("python3")
            .args([
                "-c",
                "import json, sys\nfrom openapi_spec_validator import validate\nvalidate(json.load(sys.stdin))",
            ])
            .stdin(std::fs::File::open(Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/openapi.json")).unwrap())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "openapi-spec-validator: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            text,
            std::fs::read_to_string(
                Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/openapi.json")
            )
            .unwrap()
        );
    }
}
