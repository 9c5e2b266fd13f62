//! Helpers shared by the integration test modules.
#![allow(dead_code)]

use std::path::PathBuf;

/// The `shared/` folder beside the repository (overridable with
/// `ADVISORD_SHARED`), or `None` when absent. With `ADVISORD_REQUIRE_SHARED=1`
/// (set by CI) a missing folder or file fails the test instead of skipping it.
pub fn shared(relative: &str) -> Option<PathBuf> {
    let root = std::env::var_os("ADVISORD_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared"));
    let path = root.join(relative);
    if path.exists() {
        return Some(path);
    }
    if require_shared() {
        panic!(
            "shared data {} is missing and ADVISORD_REQUIRE_SHARED=1",
            path.display()
        );
    }
    eprintln!("skipping: shared data {} not found", path.display());
    None
}

/// Whether CI demands the shared data and oracles.
pub fn require_shared() -> bool {
    std::env::var("ADVISORD_REQUIRE_SHARED").is_ok_and(|v| v == "1")
}

/// The directory holding the oracle commands (`deb-cmp`, ...), if installed:
/// `$ADVISORD_ORACLES/bin`, else `~/.cache/advisord-oracles/bin`.
pub fn oracle(command: &str) -> Option<PathBuf> {
    let root = std::env::var_os("ADVISORD_ORACLES")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/advisord-oracles"))
        })?;
    let path = root.join("bin").join(command);
    if path.exists() {
        return Some(path);
    }
    if require_shared() {
        panic!(
            "oracle {} is missing and ADVISORD_REQUIRE_SHARED=1",
            path.display()
        );
    }
    eprintln!("skipping: oracle {} not installed", path.display());
    None
}

/// The normalized facts of records that golden files pin: ids, aliases,
/// ecosystems, packages, ranges, versions, severity, fix status with the
/// source's word, withdrawn. No prose.
pub fn facts(records: &[advisord::model::Advisory]) -> serde_json::Value {
    let mut out: Vec<serde_json::Value> = records
        .iter()
        .map(|r| {
            let affected: Vec<serde_json::Value> = r
                .affected
                .iter()
                .map(|a| {
                    serde_json::json!({
                        "package": a.package.as_ref().map(|p| serde_json::json!({
                            "ecosystem": p.ecosystem.as_str(),
                            "name": p.name,
                            "purl": p.purl,
                        })),
                        "ranges": a.ranges,
                        "versions": a.versions,
                        "severity": a.severity,
                        "status": a.status_statement().map(|s| serde_json::json!({
                            "status": s.status,
                            "source": s.source,
                            "justification": s.justification,
                        })),
                    })
                })
                .collect();
            serde_json::json!({
                "id": r.id.as_str(),
                "aliases": r.aliases,
                "related": r.related,
                "upstream": r.upstream,
                "withdrawn": r.withdrawn.as_ref().map(|t| t.as_str().to_string()),
                "severity": r.severity,
                "vendor_severity": r.database_specific.advisord.as_ref().and_then(|m| m.vendor_severity.clone()),
                "affected": affected,
            })
        })
        .collect();
    out.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));
    serde_json::Value::Array(out)
}

/// Compares `actual` with `tests/golden/<name>.json`; with `UPDATE_GOLDEN=1`
/// (re)writes the file instead. On mismatch, prints the first differing line.
pub fn assert_golden(name: &str, actual: &serde_json::Value) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(format!("{name}.json"));
    let rendered = serde_json::to_string_pretty(actual).expect("serialize facts") + "\n";
    if std::env::var("UPDATE_GOLDEN").is_ok_and(|v| v == "1") {
        std::fs::create_dir_all(path.parent().expect("golden dir")).expect("create golden dir");
        std::fs::write(&path, &rendered).expect("write golden");
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "golden {} unreadable ({e}); run with UPDATE_GOLDEN=1",
            path.display()
        )
    });
    if expected != rendered {
        let (line, (want, got)) = expected
            .lines()
            .zip(rendered.lines())
            .enumerate()
            .find(|(_, (a, b))| a != b)
            .map(|(i, pair)| (i + 1, pair))
            .unwrap_or((0, ("<length differs>", "<length differs>")));
        panic!(
            "golden {} differs at line {line}:\n  want: {want}\n  got:  {got}\n(re-run with UPDATE_GOLDEN=1 after checking the change is right)",
            path.display()
        );
    }
}

/// The compiled JSON Schema of `schemas/advisory.schema.json`.
pub fn schema() -> &'static jsonschema::Validator {
    static SCHEMA: std::sync::OnceLock<jsonschema::Validator> = std::sync::OnceLock::new();
    SCHEMA.get_or_init(|| {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("schemas/advisory.schema.json");
        let text = std::fs::read_to_string(&path).expect("read schema");
        let schema: serde_json::Value = serde_json::from_str(&text).expect("schema is JSON");
        jsonschema::draft202012::new(&schema).expect("schema compiles")
    })
}

/// Asserts that every record serializes to JSON valid under our schema.
pub fn assert_schema_valid(records: &[advisord::model::Advisory]) {
    let validator = schema();
    for record in records {
        let value = serde_json::to_value(record).expect("record serializes");
        let errors: Vec<String> = validator
            .iter_errors(&value)
            .map(|e| format!("{} at {}", e, e.instance_path))
            .collect();
        assert!(
            errors.is_empty(),
            "record {} violates the schema: {errors:#?}",
            record.id
        );
    }
}

/// Parses a local path (file, tree or archive) with `format` as feed `feed`.
pub fn parse_path(
    format: advisord::formats::Format,
    feed: &str,
    path: &std::path::Path,
) -> (
    Vec<advisord::model::Advisory>,
    advisord::pipeline::ingest::IngestReport,
) {
    let fetched: advisord::model::Timestamp = "2026-01-01T00:00:00Z".parse().expect("timestamp");
    advisord::pipeline::ingest::collect_path(format, feed, path, fetched).expect("readable input")
}

/// The `advisord` binary under test: `$ADVISORD_BIN` if set (a copy taken
/// right after the build, when several worktrees share one target
/// directory and may overwrite its binary), else cargo's.
pub fn binary() -> std::path::PathBuf {
    std::env::var_os("ADVISORD_BIN")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::PathBuf::from(env!("CARGO_BIN_EXE_advisord")))
}

/// Runs the real `advisord` binary with `args`, returning its output.
pub fn advisord(args: &[&str]) -> std::process::Output {
    advisord_env(args, &[])
}

/// Like [`advisord`] with extra environment variables.
pub fn advisord_env(args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    std::process::Command::new(binary())
        .args(args)
        .env_remove("ADVISORD_DB")
        .env_remove("ADVISORD_LISTEN")
        .envs(env.iter().copied())
        .output()
        .expect("run advisord")
}

/// Runs `advisord` and asserts it succeeded; returns stdout.
pub fn advisord_ok(args: &[&str]) -> String {
    let out = advisord(args);
    assert!(
        out.status.success(),
        "advisord {args:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

/// A real `advisord serve` process on 127.0.0.1 with an OS-chosen port;
/// killed when dropped.
pub struct Server {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    child: std::process::Child,
}

impl Server {
    /// Starts `advisord --db DB serve --listen 127.0.0.1:0 --no-sync` and
    /// waits for its "listening on" line.
    pub fn start(db: &std::path::Path) -> Server {
        Server::start_with(db, &[])
    }

    /// Like [`Server::start`] with extra environment variables.
    pub fn start_with(db: &std::path::Path, env: &[(&str, &str)]) -> Server {
        Server::start_args(db, &[], env)
    }

    /// Like [`Server::start`] with extra `serve` arguments and environment variables.
    pub fn start_args(db: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> Server {
        let mut command = std::process::Command::new(binary());
        command
            .args(["--db", db.to_str().expect("utf-8 path")])
            .args(Server::ARGS)
            .args(args)
            .envs(env.iter().copied());
        Server::spawn(command)
    }

    /// The `serve` arguments [`Server::start`] passes after `--db DB`.
    pub const ARGS: [&str; 4] = ["serve", "--listen", "127.0.0.1:0", "--no-sync"];

    /// Runs `command` (an `advisord serve`, possibly under a wrapper that
    /// `exec`s it) and waits for its "listening on" line.
    pub fn spawn(command: std::process::Command) -> Server {
        Server::spawn_logging(command, std::process::Stdio::inherit())
    }

    /// Like [`Server::spawn`], its standard error (the log) going to `log`.
    pub fn spawn_logging(
        mut command: std::process::Command,
        log: impl Into<std::process::Stdio>,
    ) -> Server {
        use std::io::BufRead;
        let mut child = command
            .env("ADVISORD_LOG", "warn")
            .stdout(std::process::Stdio::piped())
            .stderr(log)
            .spawn()
            .expect("spawn advisord serve");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        std::io::BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read listening line");
        let base = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_string();
        Server { base, child }
    }

    /// The full URL of `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// `host:port` of the server.
    pub fn addr(&self) -> &str {
        self.base.trim_start_matches("http://")
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The server's resident memory in bytes (Linux `/proc`).
    pub fn rss(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()))
            .expect("read /proc status");
        let kib: u64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmRSS line");
        kib * 1024
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `advisord ingest --format FORMAT [--feed FEED] --json PATH` on `db`;
/// returns the report.
pub fn ingest_report(
    db: &std::path::Path,
    format: &str,
    feed: Option<&str>,
    path: &std::path::Path,
) -> serde_json::Value {
    let mut args = vec![
        "--db",
        db.to_str().expect("utf-8 path"),
        "--log",
        "error",
        "ingest",
        "--format",
        format,
        "--json",
    ];
    if let Some(feed) = feed {
        args.extend(["--feed", feed]);
    }
    args.push(path.to_str().expect("utf-8 path"));
    serde_json::from_str(&advisord_ok(&args)).expect("ingest report is JSON")
}

/// `advisord ingest --format osv --feed FEED --json PATH` on `db`; returns the report.
pub fn ingest_osv(db: &std::path::Path, path: &std::path::Path, feed: &str) -> serde_json::Value {
    ingest_report(db, "osv", Some(feed), path)
}

/// Serves `bytes` at `path` on a loopback port from the current runtime;
/// returns the file's URL.
pub async fn serve_file(path: &'static str, bytes: Vec<u8>) -> String {
    let app = axum::Router::new().route(
        path,
        axum::routing::get(move || {
            let bytes = bytes.clone();
            async move { bytes }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let url = format!("http://{}{path}", listener.local_addr().expect("address"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

/// GET `url`: the status and the JSON body.
pub async fn get_json(client: &reqwest::Client, url: &str) -> (u16, serde_json::Value) {
    let response = client.get(url).send().await.expect("GET");
    let status = response.status().as_u16();
    (status, response.json().await.expect("JSON body"))
}

/// POST `body` to `url`: the response, headers included.
pub async fn post_raw(
    client: &reqwest::Client,
    url: &str,
    body: &serde_json::Value,
) -> reqwest::Response {
    client.post(url).json(body).send().await.expect("POST")
}

/// A response header as text, if present.
pub fn header(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}
