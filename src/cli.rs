//! The command line: clap definitions only; commands live in [`crate::commands`].

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::formats::Format;
use crate::version::VersionScheme;

/// advisord: security advisories from every feed, one OSV-compatible store.
#[derive(Debug, Parser)]
#[command(name = "advisord", version, about)]
pub struct Cli {
    /// The redb database file.
    #[arg(
        long,
        global = true,
        env = "ADVISORD_DB",
        default_value = "./advisord.redb"
    )]
    pub db: PathBuf,

    /// Log filter (tracing `EnvFilter` syntax, e.g. `info`, `advisord=debug`).
    #[arg(long, global = true, env = "ADVISORD_LOG", default_value = "info")]
    pub log: String,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
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
        /// Change feed, retention, webhooks and watches.
        #[command(flatten)]
        notify: NotifyArgs,
    },
    /// Read advisories from files, directories, archives or URLs into the store.
    Ingest {
        /// The upstream format.
        #[arg(long, default_value = "osv", value_parser = parse_format)]
        format: Format,
        /// Feed name to attribute records to (default: FORMAT:NAME-OF-FIRST-SOURCE).
        #[arg(long)]
        feed: Option<String>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
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
    },
    /// Print one record as OSV JSON.
    Get {
        /// Record id (`GHSA-...`, `CVE-...`, `DSA-...`).
        id: String,
    },
    /// Print what affects an inventory (SBOM, dpkg status, apk db, rpm -qa
    /// output, purl list) without registering a watch.
    Scan {
        /// The inventory file (`-` for standard input).
        file: PathBuf,
        /// Package-list format (default: detected): dpkg-status, apk-installed, rpm-qa.
        #[arg(long)]
        format: Option<String>,
        /// Ecosystem of a package list (`Debian:12`, `Alpine:v3.19`, `AlmaLinux:9`).
        #[arg(long)]
        ecosystem: Option<String>,
        /// Print the findings as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Compare versions: reads `A<TAB>B` lines on stdin, prints `<`, `=`, `>` or
    /// `ERR` for each (one process, buffered; no database needed).
    Vercmp {
        /// Version scheme: deb, rpm, apk, pep440, semver, go, maven, gem, nuget, composer.
        #[arg(long, value_parser = parse_scheme, required_unless_present = "ecosystem", conflicts_with = "ecosystem")]
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
    #[arg(
        long,
        env = "ADVISORD_WEBHOOK_BACKOFF_MAX_MS",
        default_value_t = 300_000
    )]
    pub webhook_backoff_max_ms: u64,
    /// Most changes per webhook POST.
    #[arg(long, env = "ADVISORD_WEBHOOK_BATCH", default_value_t = 100)]
    pub webhook_batch: usize,
    /// Seconds between SSE heartbeat comments.
    #[arg(long, env = "ADVISORD_SSE_HEARTBEAT_SECS", default_value_t = 15)]
    pub sse_heartbeat_secs: u64,
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
        }
    }
}

fn parse_scheme(s: &str) -> Result<VersionScheme, String> {
    s.parse::<VersionScheme>().map_err(|e| e.to_string())
}

fn parse_format(s: &str) -> Result<Format, String> {
    s.parse::<Format>().map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

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
