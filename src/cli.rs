//! The command line: clap definitions only; what each command does lives in
//! the `commands` module (which imports this one, not the other way).

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, CommandFactory, Parser, Subcommand};

use crate::feeds::catalog::{parse_size, SizeError};
use crate::formats::oval::Dialect;
use crate::formats::{parse_dialect, Format};
use crate::version::VersionScheme;

/// advisord: security advisories from every feed, one OSV-compatible store.
#[derive(Debug, Parser)]
#[command(name = "advisord", version, about)]
pub struct Cli {
    /// The redb database file.
    #[arg(long, global = true, env = "ADVISORD_DB", default_value = "./advisord.redb")]
    pub db: PathBuf,

    /// Page cache of the database, in MiB: redb keeps up to this much of
    /// the file in memory, written pages included (more can be faster;
    /// the default keeps the RSS flat however large the feeds).
    #[arg(
        long,
        global = true,
        env = "ADVISORD_DB_CACHE_MIB",
        default_value_t = crate::store::DEFAULT_CACHE_BYTES >> 20,
        value_parser = clap::value_parser!(usize)
    )]
    pub db_cache_mib: usize,

    /// Log filter (tracing `EnvFilter` syntax, e.g. `info`, `advisord=debug`).
    #[arg(long, global = true, env = "ADVISORD_LOG", default_value = "info")]
    pub log: String,

    /// Log format on standard error: `text` for people, `json` for log
    /// shippers (one object per line; requests carry id, route, status, latency).
    #[arg(
        long,
        global = true,
        env = "ADVISORD_LOG_FORMAT",
        value_enum,
        default_value = "text"
    )]
    pub log_format: LogFormat,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    /// Parses the process arguments like [`Parser::parse`], and also exits
    /// with a usage error (status 2) on combinations clap's rules cannot
    /// express (see [`Cli::check`]).
    pub fn parse_checked() -> Cli {
        let cli = Cli::parse();
        if let Err(e) = cli.check() {
            e.exit();
        }
        cli
    }

    /// Refuses argument combinations that depend on a value: `--dialect`
    /// is for `ingest --format oval` only.
    pub fn check(&self) -> Result<(), clap::Error> {
        if let Command::Ingest {
            read:
                ReadArgs {
                    format,
                    dialect: Some(dialect),
                    ..
                },
            ..
        } = &self.command
        {
            if *format != Format::Oval {
                let mut command = Cli::command();
                command.build();
                let message = format!(
                    "--dialect {dialect} applies to --format oval only, not --format {format}"
                );
                return Err(match command.find_subcommand_mut("ingest") {
                    Some(ingest) => ingest.error(clap::error::ErrorKind::ArgumentConflict, message),
                    None => command.error(clap::error::ErrorKind::ArgumentConflict, message),
                });
            }
        }
        Ok(())
    }
}

/// How log lines are written (`--log-format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the OSV-compatible HTTP API.
    Serve {
        /// Address to listen on.
        #[arg(long, env = "ADVISORD_LISTEN", default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// Serve only: do not run scheduled feed syncs.
        #[arg(long)]
        no_sync: bool,
        /// `/readyz` answers 200 once these feeds have synced (or been
        /// ingested) once; default: every enabled catalog feed.
        #[arg(long, value_name = "FEED,...", value_delimiter = ',', env = "ADVISORD_READY_FEEDS")]
        ready_feeds: Option<Vec<String>>,
        /// Connection and back-pressure limits.
        #[command(flatten)]
        limits: ServerArgs,
        /// Change feed, retention, webhooks and watches.
        #[command(flatten)]
        notify: NotifyArgs,
        /// The feed catalog.
        #[command(flatten)]
        catalog: CatalogArgs,
        /// How feeds are fetched.
        #[command(flatten)]
        fetch: FetchArgs,
        /// Scale-out: publish to, or follow, object storage.
        #[command(flatten)]
        replication: ReplicationArgs,
    },
    /// Bring feeds up to date from upstream (or from an offline mirror).
    Sync {
        /// The feed catalog.
        #[command(flatten)]
        catalog: CatalogArgs,
        /// How feeds are fetched.
        #[command(flatten)]
        fetch: FetchArgs,
        /// Ingest a directory written by `advisord mirror pull`, with no network.
        #[arg(long, value_name = "DIR")]
        from_mirror: Option<PathBuf>,
        /// With --from-mirror: send the mirror to this running server
        /// (`http://HOST:PORT`) instead of opening the database; the admin
        /// token comes from ADVISORD_ADMIN_TOKEN.
        #[arg(long, value_name = "URL", requires = "from_mirror")]
        server: Option<String>,
        /// Apply what a writer published (`serve --publish`): a directory,
        /// `file:///dir` or `s3://bucket/prefix`. Makes this database a read
        /// copy: the newest snapshot the first time, then only new segments.
        #[arg(long, value_name = "DIR|URL", conflicts_with = "from_mirror")]
        from_published: Option<String>,
        /// Object storage settings for --from-published s3://.
        #[command(flatten)]
        s3: S3Args,
        /// Parse and write even when no file changed.
        #[arg(long)]
        force: bool,
        /// Print the reports as JSON.
        #[arg(long)]
        json: bool,
        /// Feeds to sync (default: every enabled feed; with --from-mirror, every mirrored feed).
        #[arg(value_name = "FEED")]
        feeds: Vec<String>,
    },
    /// Show each feed: catalog entry, last attempt and success, validators, counts, last error.
    Feeds {
        /// The feed catalog.
        #[command(flatten)]
        catalog: CatalogArgs,
        /// As JSON.
        #[arg(long)]
        json: bool,
        /// Ask every enabled feed's URLs whether they answer (HEAD, conditional
        /// when the database holds validators): reachable, not modified,
        /// redirect, 404, TLS or connection error. Exit 1 when a feed is
        /// unreachable.
        #[arg(long)]
        check: bool,
        /// Seconds allowed per URL with --check.
        #[arg(long, default_value_t = 20, requires = "check")]
        timeout: u64,
    },
    /// Write the database in osv.dev's bucket layout (`<ECOSYSTEM>/all.zip`
    /// and `<ECOSYSTEM>/<ID>.json`), readable by osv-scanner's offline mode.
    Export {
        /// The output directory.
        #[arg(long, value_name = "DIR")]
        osv: PathBuf,
    },
    /// Load an osv.dev-style tree (from `advisord export --osv` or osv.dev's
    /// bucket) as one feed; records of our own exports are kept as they are.
    Import {
        /// Feed name (default: `import:<DIR name>`).
        #[arg(long)]
        feed: Option<String>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
        /// Follow symbolic links in the tree (only to files and directories
        /// inside it); by default they are skipped.
        #[arg(long)]
        follow_symlinks: bool,
        /// Send the tree to this running server (`http://HOST:PORT`)
        /// instead of opening the database; the admin token comes from
        /// ADVISORD_ADMIN_TOKEN.
        #[arg(long, value_name = "URL")]
        server: Option<String>,
        /// The tree.
        dir: PathBuf,
    },
    /// The offline mirror for air-gapped sites.
    Mirror {
        /// What to do.
        #[command(subcommand)]
        command: MirrorCommand,
    },
    /// Read advisories from files, directories, archives or URLs into the store.
    Ingest {
        /// How the sources are read.
        #[command(flatten)]
        read: ReadArgs,
        /// Feed name to attribute records to (default: FORMAT:NAME-OF-FIRST-SOURCE).
        #[arg(long)]
        feed: Option<String>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
        /// Send the sources to this running server (`http://HOST:PORT`)
        /// instead of opening the database; the admin token comes from
        /// ADVISORD_ADMIN_TOKEN.
        #[arg(long, value_name = "URL")]
        server: Option<String>,
        /// Paths (file, directory, .zip, .tar.gz, ...) or http(s) URLs.
        #[arg(required = true, value_name = "PATH|URL")]
        sources: Vec<String>,
    },
    /// Ask whether a package version is affected.
    Query {
        /// Ecosystem (`PyPI`, `Debian:12`, ...).
        #[arg(long, required_unless_present = "purl")]
        ecosystem: Option<String>,
        /// Package name.
        #[arg(long, required_unless_present = "purl")]
        name: Option<String>,
        /// Version (omit for every advisory of the package).
        #[arg(long)]
        version: Option<String>,
        /// Package URL instead of ecosystem and name.
        #[arg(long, conflicts_with_all = ["ecosystem", "name"])]
        purl: Option<String>,
        /// Print full OSV records as a JSON array.
        #[arg(long)]
        json: bool,
        /// Staleness: the catalog and whether a stale answer fails.
        #[command(flatten)]
        stale: StaleArgs,
    },
    /// Print one record as OSV JSON.
    Get {
        /// Record id (`GHSA-...`, `CVE-...`, `DSA-...`).
        id: String,
    },
    /// Print every source's statement about one CVE, per release and
    /// package, and where the sources disagree.
    Cve {
        /// The CVE id (`CVE-2024-1234`).
        id: String,
        /// As JSON (the `GET /v1/cves/{id}` answer).
        #[arg(long)]
        json: bool,
    },
    /// Print what affects an inventory (SBOM, dpkg status, apk db, rpm -qa
    /// output, purl list) without registering a watch.
    Scan {
        /// The inventory file (`-` for standard input).
        #[arg(required_unless_present = "image", conflicts_with = "image")]
        file: Option<PathBuf>,
        /// Scan a container image instead: `dir:ROOTFS`, `oci:DIR[:TAG]`,
        /// `oci-archive:FILE[:TAG]`, `docker-archive:FILE` or
        /// `[docker://]HOST[:PORT]/REPO[:TAG|@sha256:DIGEST]`.
        #[arg(long, value_parser = str::parse::<crate::image::ImageRef>)]
        image: Option<crate::image::ImageRef>,
        #[command(flatten)]
        pull: PullArgs,
        /// Output format (`--json` is short for `--output json`).
        #[arg(long, value_enum, conflicts_with = "json")]
        output: Option<crate::image::report::OutputFormat>,
        /// Package-list format (default: detected): dpkg-status, apk-installed, rpm-qa.
        #[arg(long)]
        format: Option<String>,
        /// Ecosystem of a package list (`Debian:12`, `Alpine:v3.19`, `AlmaLinux:9`).
        #[arg(long)]
        ecosystem: Option<String>,
        /// Print the findings as JSON.
        #[arg(long)]
        json: bool,
        /// Fix statuses whose advisories are not reported (comma-separated:
        /// fixed, affected, will_not_fix, fix_deferred, under_investigation,
        /// not_affected, end_of_life), as trivy's `--ignore-status`.
        #[arg(long, value_delimiter = ',')]
        ignore_status: Vec<crate::model::FixStatus>,
        /// Staleness: the catalog and whether a stale answer fails.
        #[command(flatten)]
        stale: StaleArgs,
    },
    /// Compare versions: reads `A<TAB>B` lines on stdin, prints `<`, `=`, `>` or
    /// `ERR` for each (one process, buffered; no database needed).
    Vercmp {
        /// Version scheme: deb, rpm, apk, pep440, semver, go, maven, gem, nuget, composer.
        #[arg(long, value_parser = str::parse::<VersionScheme>, required_unless_present = "ecosystem", conflicts_with = "ecosystem")]
        scheme: Option<VersionScheme>,
        /// Take the scheme of this ecosystem instead (`Debian:12`, `PyPI`, `Alpine:v3.19`, ...).
        #[arg(long)]
        ecosystem: Option<String>,
    },
    /// Print store statistics.
    Stats {
        /// As JSON.
        #[arg(long)]
        json: bool,
    },
}

/// How images are pulled (`scan --image`, image watches).
#[derive(Debug, Clone, clap::Args)]
pub struct PullArgs {
    /// Platform to pick from a multi-platform image (`os/arch[/variant]`; default: the host's).
    #[arg(long, value_parser = str::parse::<crate::image::Platform>)]
    pub platform: Option<crate::image::Platform>,
    /// Registry credentials `USER:PASS` (default: `~/.docker/config.json`).
    #[arg(long, env = "ADVISORD_REGISTRY_AUTH", hide_env_values = true)]
    pub registry_auth: Option<String>,
    /// Talk plain http to registries (loopback test registries).
    #[arg(long)]
    pub insecure: bool,
}

impl PullArgs {
    /// The scan options these flags describe.
    pub fn options(&self) -> crate::image::ScanOptions {
        crate::image::ScanOptions {
            platform: self
                .platform
                .clone()
                .unwrap_or_else(crate::image::Platform::host),
            registry: crate::image::registry::RegistryOptions {
                insecure: self.insecure,
                auth: self.registry_auth.clone(),
                docker_config: None,
            },
        }
    }
}

/// How `ingest` reads its sources: the format and its options, declared
/// once for the offline command and for `--server`.
#[derive(Debug, Clone, Args)]
pub struct ReadArgs {
    /// The upstream format.
    #[arg(long, default_value = "osv", value_parser = str::parse::<Format>)]
    pub format: Format,
    /// OVAL only: parse with this dialect instead of detecting it from the
    /// generator and definition ids: suse, redhat, ubuntu, debian, oracle,
    /// alma, photon, azure.
    #[arg(long, value_name = "NAME", value_parser = parse_dialect)]
    pub dialect: Option<Dialect>,
    /// Most bytes one decompressed file or archive member may hold, and
    /// all members of one archive together (`512M`, `8G`, `2GiB`, or
    /// bytes); a file past it fails the ingest. Default: 2G for files
    /// unpacked in memory, 8G for an OVAL file streamed from disk.
    #[arg(long, value_name = "SIZE", value_parser = parse_cap)]
    pub max_decompressed: Option<u64>,
    /// Most bytes one document (a file, an archive member, one package
    /// of the Debian tracker's JSON) may decompress to (`32M`, or
    /// bytes); a larger one is reported as refused and the rest of the
    /// feed is read. Default: 32M. OVAL is bounded by --max-decompressed.
    #[arg(long, value_name = "SIZE", value_parser = parse_cap)]
    pub max_document: Option<u64>,
    /// Follow symbolic links met while walking a directory (only to
    /// files and directories inside it, each directory once); by
    /// default they are skipped.
    #[arg(long)]
    pub follow_symlinks: bool,
}

impl ReadArgs {
    /// The read options these flags describe.
    pub fn options(&self) -> crate::formats::ReadOptions {
        crate::formats::ReadOptions {
            format: self.format,
            dialect: self.dialect,
            max_decompressed: self.max_decompressed,
            max_document: self.max_document,
            follow_symlinks: self.follow_symlinks,
        }
    }
}

/// How `serve` takes part in a scaled-out deployment: as the writer that
/// publishes (`--publish`), as a read replica (`--follow`), or alone.
#[derive(Debug, Clone, Args)]
pub struct ReplicationArgs {
    /// Publish this database after each committed change: `s3://bucket/prefix`
    /// or `file:///dir`.
    #[arg(long, value_name = "URL", env = "ADVISORD_PUBLISH", conflicts_with = "follow")]
    pub publish: Option<String>,
    /// Serve as a read replica of what a writer publishes at URL (no feed
    /// sync; own database, resumed after a restart).
    #[arg(long, value_name = "URL", env = "ADVISORD_FOLLOW")]
    pub follow: Option<String>,
    /// Replica: where write and admin requests are redirected (307); 503 without.
    #[arg(long, value_name = "URL", env = "ADVISORD_WRITER_URL")]
    pub writer_url: Option<String>,
    /// Replica: `/readyz` fails when behind for longer than this, or when the
    /// writer has published nothing (not even a heartbeat) for this long.
    #[arg(long, env = "ADVISORD_MAX_LAG_SECS", default_value_t = 120)]
    pub max_lag_secs: u64,
    /// Replica: seconds between reads of `latest.json`.
    #[arg(long, env = "ADVISORD_FOLLOW_POLL_SECS", default_value_t = 1)]
    pub follow_poll_secs: u64,
    /// Writer: seconds between publishes (changes in between are batched).
    #[arg(long, env = "ADVISORD_PUBLISH_INTERVAL_SECS", default_value_t = 2)]
    pub publish_interval_secs: u64,
    /// Writer: `latest.json` is rewritten at least this often (must be well
    /// under the replicas' --max-lag-secs).
    #[arg(long, env = "ADVISORD_PUBLISH_HEARTBEAT_SECS", default_value_t = 15)]
    pub publish_heartbeat_secs: u64,
    /// Writer: a new snapshot after this many seconds...
    #[arg(long, env = "ADVISORD_SNAPSHOT_EVERY_SECS", default_value_t = 21600)]
    pub snapshot_every_secs: u64,
    /// Writer: ...or after this many segments.
    #[arg(long, env = "ADVISORD_SNAPSHOT_AFTER_SEGMENTS", default_value_t = 500)]
    pub snapshot_after_segments: usize,
    /// Object storage settings.
    #[command(flatten)]
    pub s3: S3Args,
}

impl ReplicationArgs {
    /// The writer's publishing options.
    pub fn publish_options(&self) -> crate::publish::PublishOptions {
        use std::time::Duration;
        crate::publish::PublishOptions {
            interval: Duration::from_secs(self.publish_interval_secs.max(1)),
            heartbeat: Duration::from_secs(self.publish_heartbeat_secs.max(1)),
            snapshot_every: Duration::from_secs(self.snapshot_every_secs.max(1)),
            snapshot_after_segments: self.snapshot_after_segments.max(1),
        }
    }

    /// The replica's following options.
    pub fn follow_options(&self) -> crate::publish::FollowOptions {
        use std::time::Duration;
        crate::publish::FollowOptions {
            poll: Duration::from_secs(self.follow_poll_secs.max(1)),
            max_lag: Duration::from_secs(self.max_lag_secs.max(1)),
        }
    }
}

/// S3-compatible object storage; credentials come from `AWS_ACCESS_KEY_ID`
/// and `AWS_SECRET_ACCESS_KEY` (never from flags).
#[derive(Debug, Clone, Default, Args)]
pub struct S3Args {
    /// Endpoint of an S3-compatible service (MinIO, SeaweedFS, GCS's
    /// `https://storage.googleapis.com`); default: AWS.
    #[arg(long, value_name = "URL", env = "AWS_ENDPOINT_URL")]
    pub s3_endpoint: Option<String>,
    /// Region (default: `AWS_REGION`, else `AWS_DEFAULT_REGION`).
    #[arg(long, value_name = "REGION", env = "AWS_REGION")]
    pub s3_region: Option<String>,
}

impl S3Args {
    /// The settings for [`crate::publish::Remote::open`].
    pub fn settings(&self) -> crate::publish::S3Settings {
        crate::publish::S3Settings {
            endpoint: self.s3_endpoint.clone(),
            region: self.s3_region.clone(),
            credentials: None,
        }
    }
}

/// Settings of the change feed, retention, webhooks and watches.
#[derive(Debug, Clone, clap::Args)]
pub struct NotifyArgs {
    /// Bearer token for `/v1/subscriptions` and `/v1/watches` (unset: disabled).
    #[arg(long, env = "ADVISORD_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,
    /// Keep at most this many change-log entries.
    #[arg(long, env = "ADVISORD_RETAIN_CHANGES")]
    pub retain_changes: Option<u64>,
    /// Keep change-log entries at most this many days.
    #[arg(long, env = "ADVISORD_RETAIN_DAYS")]
    pub retain_days: Option<u64>,
    /// Seconds between retention runs.
    #[arg(long, env = "ADVISORD_PRUNE_INTERVAL_SECS", default_value_t = 60)]
    pub prune_interval_secs: u64,
    /// Milliseconds between polls of the change log.
    #[arg(long, env = "ADVISORD_POLL_MS", default_value_t = 500)]
    pub poll_ms: u64,
    /// Failed webhook attempts before a subscription is marked failing.
    #[arg(long, env = "ADVISORD_WEBHOOK_MAX_ATTEMPTS", default_value_t = 5)]
    pub webhook_max_attempts: u32,
    /// First webhook retry delay in milliseconds (doubles per failure).
    #[arg(long, env = "ADVISORD_WEBHOOK_BACKOFF_MS", default_value_t = 1000)]
    pub webhook_backoff_ms: u64,
    /// Longest webhook retry delay in milliseconds.
    #[arg(long, env = "ADVISORD_WEBHOOK_BACKOFF_MAX_MS", default_value_t = 300_000)]
    pub webhook_backoff_max_ms: u64,
    /// Most changes per webhook POST.
    #[arg(long, env = "ADVISORD_WEBHOOK_BATCH", default_value_t = 100)]
    pub webhook_batch: usize,
    /// Seconds between SSE heartbeat comments.
    #[arg(long, env = "ADVISORD_SSE_HEARTBEAT_SECS", default_value_t = 15)]
    pub sse_heartbeat_secs: u64,
    /// Seconds between re-resolutions of watched image references.
    #[arg(long, env = "ADVISORD_IMAGE_POLL_SECS", default_value_t = 3600)]
    pub image_poll_secs: u64,
    /// Let webhooks reach loopback, private, link-local and other internal
    /// addresses (for receivers inside your network, and tests).
    #[arg(long, env = "ADVISORD_ALLOW_PRIVATE_WEBHOOKS")]
    pub allow_private_webhooks: bool,
}

impl NotifyArgs {
    /// The hub settings these arguments ask for.
    pub fn config(&self) -> crate::notify::NotifyConfig {
        use std::time::Duration;
        crate::notify::NotifyConfig {
            admin_token: self.admin_token.clone().filter(|t| !t.is_empty()),
            poll: Duration::from_millis(self.poll_ms.max(10)),
            retain_changes: self.retain_changes,
            retain_age: self
                .retain_days
                .map(|d| Duration::from_secs(d.saturating_mul(86_400))),
            prune_every: Duration::from_secs(self.prune_interval_secs.max(1)),
            max_attempts: self.webhook_max_attempts.max(1),
            backoff_base: Duration::from_millis(self.webhook_backoff_ms),
            backoff_max: Duration::from_millis(self.webhook_backoff_max_ms),
            delivery_timeout: Duration::from_secs(10),
            batch: self.webhook_batch.clamp(1, 1000),
            heartbeat: Duration::from_secs(self.sse_heartbeat_secs.max(1)),
            image_poll: Duration::from_secs(self.image_poll_secs.max(1)),
            allow_private_webhooks: self.allow_private_webhooks,
        }
    }
}

/// Limits on connections and heavy requests of `serve`.
#[derive(Debug, Clone, Args)]
pub struct ServerArgs {
    /// Seconds a connection has to send a complete request head, after it
    /// opens and after each response (the HTTP/1 keep-alive idle timeout).
    #[arg(long, env = "ADVISORD_HEADER_TIMEOUT_SECS", default_value_t = 10)]
    pub header_timeout_secs: u64,
    /// Seconds without a byte moving either way after which a connection is
    /// closed (idle HTTP/2, clients that stopped reading); must exceed the
    /// SSE heartbeat interval.
    #[arg(long, env = "ADVISORD_IDLE_TIMEOUT_SECS", default_value_t = 60)]
    pub idle_timeout_secs: u64,
    /// Connections served at once (more wait in the listen backlog).
    #[arg(long, env = "ADVISORD_MAX_CONNECTIONS", default_value_t = 1024)]
    pub max_connections: usize,
    /// Heavy requests (querybatch, change pages, watch registration) run at
    /// once (default: the number of CPUs).
    #[arg(long, env = "ADVISORD_HEAVY_WORKERS")]
    pub heavy_workers: Option<usize>,
    /// Heavy requests that may wait for a worker; beyond that, 503 with Retry-After.
    #[arg(long, env = "ADVISORD_HEAVY_QUEUE", default_value_t = 128)]
    pub heavy_queue: usize,
}

impl ServerArgs {
    /// The server limits these arguments ask for.
    pub fn limits(&self) -> crate::api::ServerLimits {
        use std::time::Duration;
        let defaults = crate::api::ServerLimits::default();
        crate::api::ServerLimits {
            header_timeout: Duration::from_secs(self.header_timeout_secs.max(1)),
            idle_timeout: Duration::from_secs(self.idle_timeout_secs.max(1)),
            max_connections: self.max_connections.max(1),
            heavy_workers: self.heavy_workers.unwrap_or(defaults.heavy_workers).max(1),
            heavy_queue: self.heavy_queue,
        }
    }
}

/// Where feeds are defined.
#[derive(Debug, Clone, Args)]
pub struct CatalogArgs {
    /// A directory of extra feed files (`*.toml`); repeatable. A file
    /// defining a built-in feed's name replaces it.
    #[arg(long = "catalog", value_name = "DIR", env = "ADVISORD_CATALOG")]
    pub dirs: Vec<PathBuf>,
    /// Leave out the built-in catalog (only --catalog directories).
    #[arg(long)]
    pub no_builtin: bool,
    /// Enable OSV.dev's export of this ecosystem, as its name appears in
    /// OSV.dev's `ecosystems.txt` (`Root`, `Red Hat`), without a feed file:
    /// the feed `osv-<NAME>` (spaces as `-`). Repeatable, or comma-separated
    /// in the environment.
    #[arg(
        long = "osv-ecosystem",
        value_name = "NAME",
        env = "ADVISORD_OSV_ECOSYSTEMS",
        value_delimiter = ','
    )]
    pub osv_ecosystems: Vec<String>,
}

/// How `query` and `scan` judge whether their answer may be incomplete
/// because feeds it depends on never synced or are past their maximum age.
#[derive(Debug, Clone, Args)]
pub struct StaleArgs {
    /// The feed catalog (its enabled feeds are the ones expected to sync).
    #[command(flatten)]
    pub catalog: CatalogArgs,
    /// Exit with status 3 (after printing the answer) when it is stale.
    #[arg(long)]
    pub fail_on_stale: bool,
}

/// Download and concurrency settings.
#[derive(Debug, Clone, Args)]
pub struct FetchArgs {
    /// Where downloaded files are kept between syncs (default: DB path with `.cache`).
    #[arg(long, value_name = "DIR", env = "ADVISORD_CACHE")]
    pub cache_dir: Option<PathBuf>,
    /// Feeds synced at once.
    #[arg(long, default_value_t = 4)]
    pub jobs: usize,
    /// Seconds allowed to connect.
    #[arg(long, default_value_t = 15)]
    pub connect_timeout: u64,
    /// Seconds allowed for one whole download.
    #[arg(long, default_value_t = 600)]
    pub timeout: u64,
    /// Attempts per download (transient failures only: 5xx, 429, network).
    #[arg(long, default_value_t = 4)]
    pub attempts: u32,
    /// First retry delay in milliseconds (doubles each retry, plus jitter).
    #[arg(long, default_value_t = 500)]
    pub retry_delay_ms: u64,
    /// Largest download accepted per file (`512MiB`, `2GiB`), unless the feed sets its own.
    #[arg(long, default_value = "2GiB", value_parser = parse_size)]
    pub max_size: u64,
}

/// `advisord mirror ...`.
#[derive(Debug, Subcommand)]
pub enum MirrorCommand {
    /// Download the raw upstream files of feeds into DIR with a manifest.json
    /// (conditional and resumable); carry DIR across the air gap and run
    /// `advisord sync --from-mirror DIR` there.
    Pull {
        /// The feed catalog.
        #[command(flatten)]
        catalog: CatalogArgs,
        /// How feeds are fetched.
        #[command(flatten)]
        fetch: FetchArgs,
        /// The mirror directory.
        dir: PathBuf,
        /// Feeds to mirror (default: every enabled feed).
        #[arg(value_name = "FEED")]
        feeds: Vec<String>,
    },
}

/// A size that must be positive (a cap of 0 would refuse everything).
fn parse_cap(s: &str) -> Result<u64, SizeError> {
    match parse_size(s)? {
        0 => Err(SizeError::Zero { text: s.into() }),
        n => Ok(n),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn db_is_global_before_or_after_the_subcommand() {
        let before = Cli::try_parse_from(["advisord", "--db", "a.redb", "stats"]).unwrap();
        let after = Cli::try_parse_from(["advisord", "stats", "--db", "a.redb"]).unwrap();
        assert_eq!(before.db, after.db);
        assert!(Cli::try_parse_from(["advisord", "ingest", "--format", "nope", "x"]).is_err());
    }

    #[test]
    fn ingest_dialect_and_decompression_cap() {
        let cli = Cli::try_parse_from([
            "advisord",
            "ingest",
            "--format",
            "oval",
            "--dialect",
            "cbl-mariner",
            "--max-decompressed",
            "512M",
            "x.xml",
        ])
        .unwrap();
        cli.check().unwrap();
        let Command::Ingest { read, .. } = cli.command else {
            panic!("not ingest")
        };
        assert_eq!(read.dialect, Some(Dialect::Azure));
        assert_eq!(read.max_decompressed, Some(512 << 20));
        for (flag, value) in [
            ("--max-decompressed", "0"),
            ("--max-decompressed", "lots"),
            ("--max-decompressed", "1.5G"),
            ("--dialect", "gentoo"),
        ] {
            let err =
                Cli::try_parse_from(["advisord", "ingest", "--format", "oval", flag, value, "x"])
                    .unwrap_err();
            assert_eq!(
                err.kind(),
                clap::error::ErrorKind::ValueValidation,
                "{flag} {value}"
            );
            assert!(err.to_string().contains(value), "{err}");
        }
        // --dialect with another format parses, and is refused by check().
        let cli = Cli::try_parse_from([
            "advisord",
            "ingest",
            "--format",
            "osv",
            "--dialect",
            "suse",
            "x",
        ])
        .unwrap();
        let err = cli.check().unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::ArgumentConflict);
        assert!(err.to_string().contains("--format oval only"), "{err}");
        assert_eq!(err.exit_code(), 2);
        // The cap alone is fine with any format (archives are unpacked with it).
        let cli =
            Cli::try_parse_from(["advisord", "ingest", "--max-decompressed", "8G", "x"]).unwrap();
        assert!(cli.check().is_ok());
    }

    #[test]
    fn sync_and_mirror_arguments() {
        let cli = Cli::try_parse_from([
            "advisord",
            "sync",
            "--catalog",
            "a",
            "--catalog",
            "b",
            "--no-builtin",
            "x",
            "y",
        ])
        .unwrap();
        let Command::Sync { catalog, feeds, .. } = cli.command else {
            panic!("not sync")
        };
        assert_eq!(catalog.dirs.len(), 2);
        assert!(catalog.no_builtin);
        assert_eq!(feeds, ["x", "y"]);
        let cli = Cli::try_parse_from(["advisord", "mirror", "pull", "out", "f"]).unwrap();
        assert!(matches!(cli.command, Command::Mirror { .. }));
        assert!(Cli::try_parse_from(["advisord", "sync", "--max-size", "lots"]).is_err());
    }

    #[test]
    fn serve_limits_and_private_webhooks() {
        let cli = Cli::try_parse_from([
            "advisord",
            "serve",
            "--header-timeout-secs",
            "2",
            "--max-connections",
            "300",
            "--heavy-workers",
            "3",
            "--heavy-queue",
            "0",
            "--allow-private-webhooks",
        ])
        .unwrap();
        let Command::Serve { limits, notify, .. } = cli.command else {
            panic!("not serve")
        };
        let limits = limits.limits();
        assert_eq!(limits.header_timeout, std::time::Duration::from_secs(2));
        assert_eq!(limits.idle_timeout, std::time::Duration::from_secs(60));
        assert_eq!(
            (
                limits.max_connections,
                limits.heavy_workers,
                limits.heavy_queue
            ),
            (300, 3, 0)
        );
        assert!(notify.config().allow_private_webhooks);
        let cli = Cli::try_parse_from(["advisord", "serve"]).unwrap();
        let Command::Serve { notify, .. } = cli.command else {
            panic!("not serve")
        };
        assert!(!notify.config().allow_private_webhooks, "off by default");
    }

    #[test]
    fn vercmp_takes_a_scheme_or_an_ecosystem() {
        let cli = Cli::try_parse_from(["advisord", "vercmp", "--scheme", "rpm"]).unwrap();
        assert!(matches!(
            cli.command,
            Command::Vercmp {
                scheme: Some(VersionScheme::Rpm),
                ecosystem: None
            }
        ));
        assert!(Cli::try_parse_from(["advisord", "vercmp", "--ecosystem", "Debian:12"]).is_ok());
        assert!(Cli::try_parse_from(["advisord", "vercmp"]).is_err());
        assert!(Cli::try_parse_from(["advisord", "vercmp", "--scheme", "nope"]).is_err());
        assert!(Cli::try_parse_from([
            "advisord",
            "vercmp",
            "--scheme",
            "deb",
            "--ecosystem",
            "PyPI"
        ])
        .is_err());
    }
}
