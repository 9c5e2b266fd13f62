//! Pulling images from a real registry (the `docker-registry` package's
//! distribution 2.x) on loopback: anonymous, and behind a bearer-token
//! realm served by the test (tokens are RS256 JWTs signed with a
//! throw-away key whose certificate the registry trusts).

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use base64::Engine;
use serde_json::Value;

use crate::common;
use crate::images::{db_arg, ingest, oci_layout, run, scan_json, scan_json_with, talk_case, tool};

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// A running `docker-registry`; killed when dropped.
struct Registry {
    host: String,
    child: Child,
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts a registry on loopback storing under `dir`, with `auth` YAML.
fn start_registry(dir: &Path, auth: &str) -> Option<Registry> {
    let binary = tool("docker-registry")?;
    let port = free_port();
    let config = dir.join("registry.yml");
    std::fs::write(
        &config,
        format!(
            "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:{port}\n{auth}",
            dir.join("storage").display()
        ),
    )
    .expect("write config");
    let host = format!("127.0.0.1:{port}");
    let registry = Registry {
        host: host.clone(),
        child: Command::new(binary)
            .args(["serve", config.to_str()?])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn docker-registry"),
    };
    for _ in 0..100 {
        if std::net::TcpStream::connect(&host).is_ok() {
            return Some(registry);
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!("docker-registry did not start on {host}");
}

/// `skopeo copy oci:LAYOUT:TAG docker://HOST/REPO:TAG` over plain http.
fn push(layout: &Path, tag: &str, host: &str, target: &str) {
    let skopeo = tool("skopeo").expect("skopeo");
    run(
        &skopeo,
        &[
            "copy",
            "-q",
            "--dest-tls-verify=false",
            &format!("oci:{}:{tag}", layout.display()),
            &format!("docker://{host}/{target}"),
        ],
    );
}

fn b64url(data: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(data)
}

/// A token realm: answers every GET with a JWT granting the requested
/// `scope`, signed by `key` (whose certificate `cert_der` goes in `x5c`).
/// Returns its URL and a counter of tokens issued.
fn token_realm(
    key: PathBuf,
    cert_der: Vec<u8>,
) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind realm");
    let url = format!("http://{}/token", listener.local_addr().unwrap());
    let issued = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = issued.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(&stream);
            let mut request_line = String::new();
            if reader.read_line(&mut request_line).is_err() {
                continue;
            }
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
            }
            let query = request_line
                .split_whitespace()
                .nth(1)
                .unwrap_or("")
                .split_once('?')
                .map_or("", |(_, q)| q);
            let mut access = Vec::new();
            for pair in query.split('&') {
                if let Some(scope) = pair.strip_prefix("scope=") {
                    let scope = scope
                        .replace("%3A", ":")
                        .replace("%2F", "/")
                        .replace("%2C", ",");
                    let parts: Vec<&str> = scope.splitn(3, ':').collect();
                    if parts.len() == 3 {
                        access.push(serde_json::json!({"type": parts[0], "name": parts[1],
                            "actions": parts[2].split(',').collect::<Vec<_>>()}));
                    }
                }
            }
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs();
            let header = serde_json::json!({"typ": "JWT", "alg": "RS256",
                "x5c": [base64::engine::general_purpose::STANDARD.encode(&cert_der)]});
            let claims = serde_json::json!({"iss": "advisord-test-issuer", "sub": "tester",
                "aud": "advisord-test", "exp": now + 600, "nbf": now - 10, "iat": now,
                "jti": format!("t{now}{}", counter.load(std::sync::atomic::Ordering::SeqCst)), "access": access});
            let signing_input = format!(
                "{}.{}",
                b64url(header.to_string().as_bytes()),
                b64url(claims.to_string().as_bytes())
            );
            let mut openssl = Command::new("openssl")
                .args(["dgst", "-sha256", "-sign", key.to_str().unwrap()])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .spawn()
                .expect("openssl");
            openssl
                .stdin
                .take()
                .unwrap()
                .write_all(signing_input.as_bytes())
                .unwrap();
            let signature = openssl.wait_with_output().unwrap().stdout;
            let token = format!("{signing_input}.{}", b64url(&signature));
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let body = serde_json::json!({"token": token}).to_string();
            let mut stream = &stream;
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    (url, issued)
}

fn findings_of(report: &Value) -> Value {
    report["findings"].clone()
}

#[test]
fn alpine_3_4_pulled_from_a_loopback_registry_anonymously_and_with_a_token() {
    let Some((rootfs, secdb)) = talk_case() else {
        return;
    };
    let tmp = tempfile::tempdir().expect("tempdir");
    let Some(layout) = oci_layout(tmp.path(), "3.4", &[&rootfs]) else {
        return;
    };
    let db = tmp.path().join("db");
    ingest(&db, "alpine-secdb", secdb.to_str().unwrap());
    let local = scan_json(&db, &format!("oci:{}:3.4", layout.display()));

    // Anonymous registry.
    let anon_dir = tmp.path().join("anon");
    std::fs::create_dir_all(&anon_dir).unwrap();
    let Some(registry) = start_registry(&anon_dir, "") else {
        return;
    };
    push(&layout, "3.4", &registry.host, "library/alpine:3.4");
    let reference = format!("{}/library/alpine:3.4", registry.host);
    let pulled = scan_json_with(&db, &reference, &["--insecure"]);
    assert_eq!(findings_of(&pulled), findings_of(&local));
    assert_eq!(pulled["packages"].as_array().unwrap().len(), 16);
    let digest = pulled["image"]["manifest_digest"]
        .as_str()
        .unwrap()
        .to_string();
    // By digest too; a wrong digest is refused by name.
    let by_digest = format!("{}/library/alpine@{digest}", registry.host);
    let again = scan_json_with(&db, &by_digest, &["--insecure"]);
    assert_eq!(findings_of(&again), findings_of(&local));
    let missing = format!("{}/library/alpine@sha256:{}", registry.host, "0".repeat(64));
    let out = common::advisord(&[
        "--db",
        db_arg(&db),
        "scan",
        "--image",
        &missing,
        "--insecure",
    ]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("HTTP 404"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    drop(registry);

    // Token auth: the registry trusts a throw-away certificate; the realm signs tokens.
    let Some(openssl) = tool("openssl") else {
        return;
    };
    let key = tmp.path().join("key.pem");
    let cert = tmp.path().join("cert.pem");
    let der = tmp.path().join("cert.der");
    run(
        &openssl,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            key.to_str().unwrap(),
            "-out",
            cert.to_str().unwrap(),
            "-subj",
            "/CN=advisord-test-token",
            "-days",
            "2",
        ],
    );
    run(
        &openssl,
        &[
            "x509",
            "-in",
            cert.to_str().unwrap(),
            "-outform",
            "der",
            "-out",
            der.to_str().unwrap(),
        ],
    );
    let (realm, issued) = token_realm(key, std::fs::read(&der).unwrap());
    let auth = format!(
        "auth:\n  token:\n    realm: {realm}\n    service: advisord-test\n    issuer: advisord-test-issuer\n    rootcertbundle: {}\n",
        cert.display()
    );
    let token_dir = tmp.path().join("token");
    std::fs::create_dir_all(&token_dir).unwrap();
    let registry = start_registry(&token_dir, &auth).expect("registry");
    push(&layout, "3.4", &registry.host, "team/alpine:3.4");
    let before = issued.load(std::sync::atomic::Ordering::SeqCst);
    let reference = format!("docker://{}/team/alpine:3.4", registry.host);
    let tokened = scan_json_with(&db, &reference, &["--insecure"]);
    assert_eq!(findings_of(&tokened), findings_of(&local));
    assert!(
        issued.load(std::sync::atomic::Ordering::SeqCst) > before,
        "no token was requested"
    );
}

/// The Alpine 3.4 root file system with openssl's binaries at `version`
/// (the apk database rewritten, as an upgrade would leave it).
fn alpine_with_openssl(rootfs: &Path, dir: &Path, version: &str) -> PathBuf {
    let out = dir.join(format!("rootfs-{version}"));
    for rel in [
        "etc/os-release",
        "etc/alpine-release",
        "lib/apk/db/installed",
    ] {
        let target = out.join(rel);
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        let text = std::fs::read_to_string(rootfs.join(rel)).unwrap();
        let text = if rel.ends_with("installed") {
            assert!(text.contains("V:1.0.2j-r0"));
            text.replace("V:1.0.2j-r0", &format!("V:{version}"))
        } else {
            text
        };
        std::fs::write(target, text).unwrap();
    }
    out
}

async fn admin_post(client: &reqwest::Client, url: &str, body: &Value) -> (u16, Value) {
    let response = client
        .post(url)
        .bearer_auth("t0ken")
        .json(body)
        .send()
        .await
        .expect("POST");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// The talk's case as a watch: the server pulls `app:prod` (old libssl)
/// from a loopback registry; when the tag is pushed again with openssl
/// 1.0.2k-r0 the watch says the image changed and the CVEs are gone.
#[tokio::test]
async fn image_watch_reports_the_push_that_fixes_libssl() {
    let Some((rootfs, secdb)) = talk_case() else {
        return;
    };
    let tmp = tempfile::tempdir().expect("tempdir");
    let fixed = alpine_with_openssl(&rootfs, tmp.path(), "1.0.2k-r0");
    let Some(layout) = oci_layout(tmp.path(), "old", &[&rootfs]) else {
        return;
    };
    oci_layout(tmp.path(), "new", &[&fixed]).expect("layout");
    let registry_dir = tmp.path().join("registry");
    std::fs::create_dir_all(&registry_dir).unwrap();
    let Some(registry) = start_registry(&registry_dir, "") else {
        return;
    };
    push(&layout, "old", &registry.host, "library/app:prod");
    let db = tmp.path().join("db");
    ingest(&db, "alpine-secdb", secdb.to_str().unwrap());
    let server = common::Server::start_with(
        &db,
        &[
            ("ADVISORD_ADMIN_TOKEN", "t0ken"),
            ("ADVISORD_IMAGE_POLL_SECS", "1"),
        ],
    );
    let client = reqwest::Client::new();
    let reference = format!("docker://{}/library/app:prod", registry.host);

    let (status, scan) = admin_post(
        &client,
        &server.url("/v1/scans"),
        &serde_json::json!({"image": reference, "insecure": true}),
    )
    .await;
    assert_eq!(status, 200, "{scan}");
    let (status, watch) = admin_post(
        &client,
        &server.url("/v1/watches"),
        &serde_json::json!({"name": "app", "image": reference, "insecure": true}),
    )
    .await;
    assert_eq!(status, 201, "{watch}");
    let old_digest = watch["image"]["digest"]
        .as_str()
        .expect("digest")
        .to_string();
    assert_eq!(scan["image"]["manifest_digest"], old_digest.as_str());
    // Watch findings equal the scan's (and so /v1/query's) for openssl.
    let openssl = |findings: &Value| -> Value {
        findings
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["package"]["name"] == "openssl")
            .map(|f| f["advisories"].clone())
            .unwrap_or(Value::Null)
    };
    assert_eq!(openssl(&watch["findings"]), openssl(&scan["findings"]));
    assert!(openssl(&watch["findings"])
        .to_string()
        .contains("CVE-2017-3731"));
    let (status, refused) = admin_post(
        &client,
        &server.url("/v1/scans"),
        &serde_json::json!({"image": "oci:/nonexistent"}),
    )
    .await;
    assert!(status == 400 || status == 502, "{status} {refused}");

    // Push the fixed image to the same tag; the watch notices within a few polls.
    push(&layout, "new", &registry.host, "library/app:prod");
    let id = watch["id"].as_str().unwrap();
    let events_url = server.url(&format!("/v1/watches/{id}/events?after=0"));
    let mut events = Value::Null;
    for _ in 0..120 {
        let response = client
            .get(&events_url)
            .bearer_auth("t0ken")
            .send()
            .await
            .expect("GET events");
        events = response.json().await.expect("events JSON");
        if events["events"].as_array().is_some_and(|e| !e.is_empty()) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    let events = events["events"].as_array().expect("events").clone();
    let changed = events
        .iter()
        .find(|e| e["kind"] == "image_changed")
        .unwrap_or_else(|| panic!("no image_changed in {events:?}"));
    assert_eq!(changed["image"]["from"], old_digest.as_str());
    assert_ne!(changed["image"]["to"], old_digest.as_str());
    for cve in ["CVE-2016-7055", "CVE-2017-3731", "CVE-2017-3732"] {
        assert!(
            events.iter().any(|e| e["kind"] == "no_longer_affected"
                && e["package"]["name"] == "openssl"
                && e["advisory"].as_str().unwrap().ends_with(cve)),
            "{cve} not reported fixed: {events:?}"
        );
    }
    let response = client
        .get(server.url(&format!("/v1/watches/{id}")))
        .bearer_auth("t0ken")
        .send()
        .await
        .unwrap();
    let now: Value = response.json().await.unwrap();
    let remaining = openssl(&now["findings"]).to_string();
    for cve in ["CVE-2016-7055", "CVE-2017-3731", "CVE-2017-3732"] {
        assert!(!remaining.contains(cve), "{cve} still in {remaining}");
    }
    drop(registry);
}
