//! The subcommands' implementations (the binary's edge: errors are `anyhow`).

use std::io::{IsTerminal, Write};

use anyhow::{Context, Result};

use crate::api::{self, AppState};
use crate::cli::{CatalogArgs, Cli, Command, FetchArgs, MirrorCommand, StaleArgs};
use crate::feeds::catalog::Catalog;
use crate::feeds::http::{FetchOptions, Fetcher};
use crate::freshness::Freshness;
use crate::model::Ecosystem;
use crate::pipeline::ingest::{self, Input};
use crate::pipeline::sync::{SyncOptions, SyncStatus, Syncer};
use crate::query::PackageQuery;
use crate::store::Store;
use crate::version::{batch, VersionScheme};

/// Runs the parsed command line: one function per subcommand.
pub async fn run(cli: Cli) -> Result<()> {
    cli.check()?;
    match cli.command {
        // Commands that need no database come first (the store takes a
        // process lock); the mirror runs on the connected machine.
        Command::Vercmp { scheme, ecosystem } => vercmp(scheme, ecosystem.as_deref()),
        Command::Mirror {
            command:
                MirrorCommand::Pull {
                    catalog,
                    fetch,
                    dir,
                    feeds,
                },
        } => mirror_pull(&catalog, &fetch, &dir, &feeds).await,
        // Into a running server, which holds the database.
        command @ Command::Ingest {
            server: Some(_), ..
        } => ingest_remote(&command).await,
        Command::Import {
            server: Some(server),
            feed,
            json,
            dir,
            ..
        } => {
            let remote = crate::remote::Remote::from_env(&server)?;
            let feed = feed.unwrap_or_else(|| import_feed_name(&dir));
            let report = remote.import(&dir, &feed).await?;
            print_import(&mut std::io::stdout(), &report, json)
        }
        Command::Sync {
            server: Some(server),
            from_mirror: Some(dir),
            json,
            feeds,
            ..
        } => {
            let remote = crate::remote::Remote::from_env(&server)?;
            let reports = remote.mirror_sync(&dir, &feeds).await?;
            print_sync_reports(&mut std::io::stdout(), &reports, json)
        }
        command => {
            let store =
                Store::open_with_cache(&cli.db, cli.db_cache_mib.max(1).saturating_mul(1 << 20))?;
            run_with_store(command, store, &cli.db).await
        }
    }
}

/// Runs a subcommand that reads or writes the store at `db`. Output goes
/// through `writeln!` (not `println!`, which panics when the reader has
/// gone): a closed pipe is an error that `main` ends quietly.
async fn run_with_store(command: Command, store: Store, db: &std::path::Path) -> Result<()> {
    match command {
        Command::Serve {
            listen,
            no_sync,
            ready_feeds,
            limits,
            notify,
            catalog,
            fetch,
            replication,
        } => {
            let role = replica_role(&store, &replication)?;
            let no_sync = no_sync || !role.syncs_feeds();
            let mut options = sync_options(db, &fetch, false);
            options.ready_feeds = ready_feeds;
            let syncer = Syncer::new(store.clone(), load_catalog(&catalog)?, options)?;
            let source = catalog.clone();
            syncer.set_catalog_source(crate::pipeline::sync::CatalogSource::new(move || {
                let mut catalog = Catalog::load(!source.no_builtin, &source.dirs)?;
                catalog.enable_osv_ecosystems(&source.osv_ecosystems)?;
                Ok(catalog)
            }));
            serve(
                store,
                listen,
                no_sync,
                notify.config(),
                limits.limits(),
                syncer,
                role,
            )
            .await
        }
        Command::Sync {
            catalog,
            fetch,
            from_mirror,
            from_published,
            s3,
            force,
            json,
            feeds,
            ..
        } => {
            if let Some(url) = from_published {
                return sync_published(store, &url, &s3).await;
            }
            let syncer = Syncer::new(
                store,
                load_catalog(&catalog)?,
                sync_options(db, &fetch, force),
            )?;
            sync_feeds(&syncer, from_mirror, &feeds, json).await
        }
        Command::Feeds {
            catalog,
            json,
            check: true,
            timeout,
        } => check_feeds(&store, &load_catalog(&catalog)?, timeout, json).await,
        Command::Feeds { catalog, json, .. } => list_feeds(store, db, &catalog, json),
        Command::Export { osv } => export_tree(store, osv).await,
        Command::Import {
            feed,
            json,
            follow_symlinks,
            dir,
            ..
        } => import_tree(store, feed, json, follow_symlinks, dir).await,
        Command::Scan {
            image: Some(image),
            pull,
            output,
            json,
            stale,
            ignore_status,
            ..
        } => {
            let output = match (output, json) {
                (Some(o), _) => o,
                (None, true) => crate::image::report::OutputFormat::Json,
                (None, false) => crate::image::report::OutputFormat::Table,
            };
            let ecosystems =
                scan_image(&store, image, pull.options(), output, &ignore_status).await?;
            check_stale(&store, &stale, &ecosystems)
        }
        Command::Scan {
            file,
            format,
            ecosystem,
            json,
            output,
            stale,
            ignore_status,
            ..
        } => {
            let json = json || output == Some(crate::image::report::OutputFormat::Json);
            let file = file.context("give an inventory file or --image")?;
            let asked = ScanAsked {
                format: format.as_deref(),
                ecosystem: ecosystem.as_deref(),
                json,
                openvex: output == Some(crate::image::report::OutputFormat::Openvex),
                ignore_status: &ignore_status,
            };
            let ecosystems = scan(&store, &file, asked)?;
            check_stale(&store, &stale, &ecosystems)
        }
        Command::Ingest {
            format,
            dialect,
            max_decompressed,
            max_document,
            follow_symlinks,
            feed,
            json,
            sources,
            ..
        } => {
            let read = crate::formats::ReadOptions {
                format,
                dialect,
                max_decompressed,
                max_document,
                follow_symlinks,
            };
            ingest_sources(&store, read, feed, &sources, json).await
        }
        Command::Query {
            ecosystem,
            name,
            version,
            purl,
            json,
            stale,
        } => {
            let query = match (purl, ecosystem, name) {
                (Some(purl), _, _) => PackageQuery::from_purl(&purl, version.as_deref())?,
                (None, Some(e), Some(n)) => {
                    PackageQuery::new_served(&e, &n, version.as_deref(), &store)?
                }
                _ => anyhow::bail!("give --purl, or --ecosystem and --name"),
            };
            query_package(&store, &query, json)?;
            check_stale(&store, &stale, std::slice::from_ref(&query.ecosystem))
        }
        Command::Get { id } => get_record(&store, &id),
        Command::Cve { id, json } => print_cve(&store, &id, json),
        Command::Stats { json } => print_stats(&store, json),
        // Answered by `run` before the store is opened.
        Command::Vercmp { .. } | Command::Mirror { .. } => Ok(()),
    }
}

/// `sync`: brings the catalog's feeds (or a mirror's) up to date and
/// prints one summary per feed; fails when any feed failed.
async fn sync_feeds(
    syncer: &std::sync::Arc<Syncer>,
    from_mirror: Option<std::path::PathBuf>,
    feeds: &[String],
    json: bool,
) -> Result<()> {
    let mut out = std::io::stdout();
    let reports = match from_mirror {
        Some(dir) => syncer.sync_from_mirror(&dir, feeds).await?,
        None => {
            let specs = syncer.catalog().select(feeds).map_err(anyhow::Error::msg)?;
            if specs.is_empty() {
                anyhow::bail!("no feed to sync: the catalog has no enabled feed");
            }
            let progress = (!json && std::io::stderr().is_terminal())
                .then(|| progress_bar(specs.len() as u64));
            let hook = progress.clone().map(|bar| {
                let hook: crate::pipeline::sync::ProgressHook =
                    std::sync::Arc::new(move |report| {
                        bar.inc(1);
                        bar.set_message(report.feed.clone());
                    });
                hook
            });
            let reports = syncer.sync_all_with(specs, hook).await;
            if let Some(bar) = progress {
                bar.finish_and_clear();
            }
            reports
        }
    };
    print_sync_reports(&mut out, &reports, json)
}

/// `sync --from-published`: applies what a writer published (the newest
/// snapshot the first time, then only new segments) to this read copy.
async fn sync_published(store: Store, url: &str, s3: &crate::cli::S3Args) -> Result<()> {
    let remote = crate::publish::Remote::open(url, &s3.settings())?;
    let follower = crate::publish::Follower::new(store, remote, Default::default());
    let position = follower.catch_up().await?;
    let status = follower.status();
    writeln!(
        std::io::stdout(),
        "at seq {} (generation {}): {} snapshot(s) loaded, {} segment(s) applied",
        position.seq,
        position.generation,
        status.snapshots_downloaded,
        status.segments_applied
    )?;
    Ok(())
}

/// `feeds`: the catalog's feeds with their sync state and freshness.
fn list_feeds(store: Store, db: &std::path::Path, catalog: &CatalogArgs, json: bool) -> Result<()> {
    let mut out = std::io::stdout();
    let syncer = Syncer::new(store, load_catalog(catalog)?, SyncOptions::for_db(db))?;
    let views = syncer.views()?;
    if json {
        writeln!(out, "{}", serde_json::to_string_pretty(&views)?)?;
    } else {
        writeln!(out, "feed\tformat\tenabled\tinterval\trecords\tlast_attempt\tlast_success\tlast_error\tage\tmax_age\tstale\tnotes")?;
        for v in &views {
            let mut notes: Vec<String> = Vec::new();
            if let Some(date) = &v.end_of_life {
                notes.push(format!("end of life {date}"));
            }
            notes.extend(v.not_published.clone());
            writeln!(
                out,
                "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
                v.name,
                v.format.as_deref().unwrap_or("-"),
                v.enabled,
                v.interval.as_deref().unwrap_or("-"),
                v.records,
                v.last_attempt.as_deref().unwrap_or("-"),
                v.last_success.as_deref().unwrap_or("-"),
                last_problem(v),
                age_text(v.age_secs),
                v.max_age.as_deref().unwrap_or("-"),
                if v.stale { "STALE" } else { "-" },
                if notes.is_empty() {
                    "-".to_string()
                } else {
                    notes.join("; ")
                },
            )?;
        }
    }
    Ok(())
}

/// `export`: the store as an osv.dev bucket tree under `osv`.
async fn export_tree(store: Store, osv: std::path::PathBuf) -> Result<()> {
    let mut out = std::io::stdout();
    let report =
        tokio::task::spawn_blocking(move || crate::pipeline::export::export_osv(&store, &osv))
            .await??;
    writeln!(
        out,
        "{} records in {} ecosystem directories",
        report.records,
        report.ecosystems.len()
    )?;
    Ok(())
}

/// `import`: an OSV tree as one feed (named after the directory unless given).
async fn import_tree(
    store: Store,
    feed: Option<String>,
    json: bool,
    follow_symlinks: bool,
    dir: std::path::PathBuf,
) -> Result<()> {
    let mut out = std::io::stdout();
    let feed = feed.unwrap_or_else(|| import_feed_name(&dir));
    let report = tokio::task::spawn_blocking(move || {
        crate::pipeline::export::import_tree_with(&store, &dir, &feed, follow_symlinks)
    })
    .await??;
    print_import(&mut out, &report, json)
}

/// `ingest`: reads `sources` in one format as one batch of a feed and
/// prints what was stored and what was rejected; fails when every record
/// was rejected.
async fn ingest_sources(
    store: &Store,
    read: crate::formats::ReadOptions,
    feed: Option<String>,
    sources: &[String],
    json: bool,
) -> Result<()> {
    let mut out = std::io::stdout();
    let inputs: Vec<Input> = sources.iter().map(|s| Input::parse(s)).collect();
    let feed = feed.unwrap_or_else(|| default_feed_name(read.format.name(), &sources[0]));
    let (report, failure) = match ingest::ingest(store, read, &feed, &inputs).await {
        Ok(report) => (report, None),
        // Still show what was rejected, then fail.
        Err(ingest::IngestError::AllRejected(report)) => {
            let message = format!(
                "feed {}: every record was rejected ({}), nothing written",
                report.feed,
                report.errors.len()
            );
            (*report, Some(message))
        }
        Err(e) => return Err(e.into()),
    };
    print_ingest(&mut out, &report, json)?;
    match failure {
        Some(message) => anyhow::bail!(message),
        None => Ok(()),
    }
}

/// `query`: the records affecting one package (and version), as ids or JSON.
fn query_package(store: &Store, query: &PackageQuery, json: bool) -> Result<()> {
    let matches = query.run(store)?;
    if let Some(reason) = &query.unevaluated {
        eprintln!("warning: {reason}; ranges not evaluated");
    }
    let mut out = std::io::stdout().lock();
    if json {
        let ids: Vec<String> = matches.iter().map(|m| m.id.clone()).collect();
        let records = store.get_many_json(&ids)?;
        out.write_all(b"[")?;
        for (i, (_, bytes)) in records.iter().enumerate() {
            if i > 0 {
                out.write_all(b",")?;
            }
            out.write_all(bytes)?;
        }
        out.write_all(b"]\n")?;
    } else {
        for m in &matches {
            match &m.unevaluated {
                None => writeln!(out, "{}\t{}", m.id, m.modified)?,
                Some(reason) => {
                    writeln!(out, "{}\t{}\tpossibly affected: {reason}", m.id, m.modified)?
                }
            }
        }
    }
    Ok(())
}

/// `get`: one record's JSON as stored.
fn get_record(store: &Store, id: &str) -> Result<()> {
    let json = store
        .get_json(id)?
        .with_context(|| format!("no record with id {id}"))?;
    let mut out = std::io::stdout().lock();
    out.write_all(&json)?;
    out.write_all(b"\n")?;
    Ok(())
}

/// `stats`: the store's counts and each feed's age.
fn print_stats(store: &Store, json: bool) -> Result<()> {
    let mut out = std::io::stdout();
    let stats = store.stats()?;
    // Ages of every feed the store knows (no catalog: stats is the
    // store's own view; `feeds` adds max ages and staleness).
    let freshness = Freshness::assess([], &store.feed_states()?, time::OffsetDateTime::now_utc());
    let age = |feed: &str| freshness.feed(feed).and_then(|f| f.age_secs);
    if json {
        let mut value = serde_json::to_value(&stats)?;
        let ages: serde_json::Map<String, serde_json::Value> = stats
            .feeds
            .keys()
            .map(|feed| (feed.clone(), age(feed).into()))
            .collect();
        value["feed_age_secs"] = ages.into();
        writeln!(out, "{}", serde_json::to_string_pretty(&value)?)?;
    } else {
        writeln!(out, "records\t{}", stats.records)?;
        writeln!(out, "withdrawn\t{}", stats.withdrawn)?;
        writeln!(out, "packages\t{}", stats.packages)?;
        writeln!(out, "aliases\t{}", stats.aliases)?;
        writeln!(out, "changes\t{}", stats.changes)?;
        writeln!(out, "last_change_seq\t{}", stats.last_change_seq)?;
        for (feed, n) in &stats.feeds {
            writeln!(out, "feed\t{feed}\t{n}\tage {}", age_text(age(feed)))?;
        }
    }
    Ok(())
}

/// An answer was printed, but feeds it depends on never synced or are past
/// their maximum age (see [`crate::freshness`]); with `--fail-on-stale` the
/// command exits with [`EXIT_STALE`].
#[derive(Debug, thiserror::Error)]
#[error("answer may be incomplete: {} never synced or past max age: {}", plural_feeds(.0.len()), shortened(.0))]
pub struct StaleAnswer(pub Vec<String>);

/// Exit status of a stale answer under `--fail-on-stale`.
pub const EXIT_STALE: u8 = 3;

fn plural_feeds(n: usize) -> String {
    if n == 1 {
        "1 feed".into()
    } else {
        format!("{n} feeds")
    }
}

/// At most ten names, then how many more.
fn shortened(names: &[String]) -> String {
    let mut text = names
        .iter()
        .take(10)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > 10 {
        text.push_str(&format!(" and {} more", names.len() - 10));
    }
    text
}

/// Warns (or, with `--fail-on-stale`, fails) when an answer about
/// `ecosystems` depends on feeds that never synced or are past their age.
fn check_stale(store: &Store, args: &StaleArgs, ecosystems: &[Ecosystem]) -> Result<()> {
    let catalog = load_catalog(&args.catalog)?;
    let freshness = Freshness::assess(
        catalog.feeds(),
        &store.feed_states()?,
        time::OffsetDateTime::now_utc(),
    );
    let stale = crate::freshness::stale_for_all(&freshness, ecosystems);
    if stale.is_empty() {
        return Ok(());
    }
    if args.fail_on_stale {
        return Err(StaleAnswer(stale).into());
    }
    eprintln!("warning: {}", StaleAnswer(stale));
    Ok(())
}

/// A feed age for people: `3h12m`, or `never`.
fn age_text(secs: Option<u64>) -> String {
    secs.map_or_else(
        || "never".to_string(),
        |s| crate::feeds::catalog::format_duration(std::time::Duration::from_secs(s)),
    )
}

/// A bar over feeds, shown on a terminal (plain log lines otherwise).
fn progress_bar(feeds: u64) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(feeds);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{spinner} [{elapsed_precise}] [{bar:30}] {pos}/{len} feeds  {msg}",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    bar
}

fn load_catalog(args: &CatalogArgs) -> Result<Catalog> {
    let mut catalog = Catalog::load(!args.no_builtin, &args.dirs)?;
    catalog.enable_osv_ecosystems(&args.osv_ecosystems)?;
    Ok(catalog)
}

/// `advisord feeds --check`: one line per URL (or JSON), error when an
/// enabled feed has a URL a sync could not fetch.
async fn check_feeds(store: &Store, catalog: &Catalog, timeout: u64, json: bool) -> Result<()> {
    let specs = catalog.select(&[]).map_err(anyhow::Error::msg)?;
    let states = store.feed_states()?;
    let checker =
        crate::feeds::check::Checker::new(std::time::Duration::from_secs(timeout.max(1)))?;
    let held = |feed: &str, url: &str| {
        let state = states.get(feed);
        crate::feeds::http::Validators {
            etag: state.and_then(|s| s.etags.get(url).cloned()),
            last_modified: state.and_then(|s| s.last_modified.get(url).cloned()),
        }
    };
    let checks = crate::feeds::check::check_feeds(&checker, &specs, held).await;
    let mut out = std::io::stdout();
    if json {
        writeln!(out, "{}", serde_json::to_string_pretty(&checks)?)?;
    } else {
        for feed in &checks {
            if let Some(note) = &feed.not_published {
                writeln!(out, "{}\t-\t{note}", feed.feed)?;
            }
            for url in &feed.urls {
                let mut line = format!("{}\t{}\t{}", feed.feed, url.url, url.result.label());
                if let Some(status) = url.status {
                    line.push_str(&format!(" (HTTP {status})"));
                }
                if let Some(location) = &url.location {
                    line.push_str(&format!(" -> {location}"));
                }
                if let Some(detail) = &url.detail {
                    line.push_str(&format!(": {detail}"));
                }
                writeln!(out, "{line}")?;
            }
        }
    }
    let unreachable: Vec<&str> = checks
        .iter()
        .filter(|c| !c.reachable)
        .map(|c| c.feed.as_str())
        .collect();
    if !unreachable.is_empty() {
        anyhow::bail!(
            "{} of {} enabled feeds unreachable: {}",
            unreachable.len(),
            checks.len(),
            unreachable.join(", ")
        );
    }
    Ok(())
}

fn fetch_options(args: &FetchArgs) -> FetchOptions {
    FetchOptions {
        connect_timeout: std::time::Duration::from_secs(args.connect_timeout),
        total_timeout: std::time::Duration::from_secs(args.timeout),
        attempts: args.attempts.max(1),
        max_bytes: args.max_size,
        retry_base: std::time::Duration::from_millis(args.retry_delay_ms),
    }
}

fn sync_options(db: &std::path::Path, args: &FetchArgs, force: bool) -> SyncOptions {
    let mut options = SyncOptions::for_db(db);
    options.fetch = fetch_options(args);
    options.jobs = args.jobs.max(1);
    options.force = force;
    if let Some(dir) = &args.cache_dir {
        options.cache_dir = dir.clone();
    }
    options
}

async fn mirror_pull(
    catalog: &CatalogArgs,
    fetch: &FetchArgs,
    dir: &std::path::Path,
    feeds: &[String],
) -> Result<()> {
    let catalog = load_catalog(catalog)?;
    let specs = catalog.select(feeds).map_err(anyhow::Error::msg)?;
    if specs.is_empty() {
        anyhow::bail!("no feed to mirror: the catalog has no enabled feed");
    }
    let fetcher = Fetcher::new(fetch_options(fetch))?;
    let reports = crate::pipeline::mirror::pull(dir, &specs, &fetcher).await?;
    let mut out = std::io::stdout();
    let mut failed = 0;
    for r in &reports {
        match &r.error {
            Some(e) => {
                failed += 1;
                writeln!(out, "feed {}: FAILED: {e}", r.feed)?;
            }
            None => writeln!(
                out,
                "feed {}: {} files, {} not modified, {} bytes downloaded",
                r.feed, r.files, r.not_modified, r.downloaded_bytes
            )?,
        }
    }
    if failed > 0 {
        anyhow::bail!("{failed} of {} feeds failed", reports.len());
    }
    Ok(())
}

/// `advisord vercmp`: the batch comparator on stdin/stdout.
fn vercmp(scheme: Option<VersionScheme>, ecosystem: Option<&str>) -> Result<()> {
    let scheme = match (scheme, ecosystem) {
        (Some(scheme), _) => scheme,
        (None, Some(name)) => {
            let ecosystem = Ecosystem::new(name)?;
            ecosystem.scheme().with_context(|| {
                format!(
                    "ecosystem {name:?} has no version comparator: only exact `versions` lists can be matched there"
                )
            })?
        }
        (None, None) => anyhow::bail!("give --scheme or --ecosystem"),
    };
    let stdin = std::io::stdin();
    let stdout = std::io::stdout();
    let (lines, errors) = batch::run_batch(scheme, stdin.lock(), stdout.lock())
        .context("reading stdin / writing stdout")?;
    tracing::debug!(%scheme, lines, errors, "vercmp done");
    Ok(())
}

/// `osv:all.zip` for `--format osv /data/all.zip`.
fn default_feed_name(format: &str, source: &str) -> String {
    let trimmed = source.trim_end_matches('/');
    let base = trimmed.rsplit('/').next().unwrap_or(trimmed);
    format!("{format}:{base}")
}

/// `cve`: every source's statement about one CVE.
fn print_cve(store: &Store, id: &str, json: bool) -> Result<()> {
    let view =
        crate::cves::CveView::read(store, id)?.with_context(|| format!("no record names {id}"))?;
    let mut out = std::io::stdout().lock();
    if json {
        writeln!(out, "{}", serde_json::to_string_pretty(&view)?)?;
    } else {
        write_cve_view(&mut out, &view)?;
    }
    Ok(())
}

/// `advisord cve ID` as text: one line per statement, grouped by release
/// and package, disagreements marked.
fn write_cve_view(out: &mut impl Write, view: &crate::cves::CveView) -> Result<()> {
    writeln!(out, "{} named by {}", view.id, view.records.join(", "))?;
    for release in &view.releases {
        for package in &release.packages {
            let mark = if package.agree { "" } else { "  DISAGREE" };
            writeln!(out, "{} {}{mark}", release.ecosystem, package.name)?;
            for s in &package.statements {
                let status = s.status.map_or("-", |st| st.name());
                let fixed = if s.fixed.is_empty() {
                    String::new()
                } else {
                    format!(" {}", s.fixed.join(","))
                };
                let word = s.status_source.as_deref().unwrap_or("");
                writeln!(
                    out,
                    "  {status}{fixed}  [{word}]  {} {}",
                    s.feed, s.upstream_id
                )?;
            }
        }
    }
    if view.agree {
        writeln!(out, "sources agree")?;
    } else {
        writeln!(
            out,
            "sources disagree on {} package(s)",
            view.disagreeing().count()
        )?;
    }
    Ok(())
}

/// What `advisord scan FILE` was asked besides the file.
struct ScanAsked<'a> {
    format: Option<&'a str>,
    ecosystem: Option<&'a str>,
    json: bool,
    openvex: bool,
    ignore_status: &'a [crate::model::FixStatus],
}

/// Prints the OpenVEX document of `packages`.
fn write_vex(
    out: &mut impl Write,
    store: &Store,
    packages: &[crate::model::InventoryPackage],
    name: &str,
    ignore: &[crate::model::FixStatus],
) -> Result<()> {
    let now = crate::model::Timestamp::now();
    let subject = crate::vex::VexSubject {
        name,
        ignore,
        now: &now,
    };
    let document = crate::vex::document(store, packages, &subject)?;
    if document.statements.is_empty() {
        eprintln!("no statement to make: no advisory names these packages");
    }
    writeln!(out, "{}", serde_json::to_string_pretty(&document)?)?;
    Ok(())
}

/// `advisord scan`: the findings of an inventory, as a watch would list
/// them; returns the inventory's ecosystems (for the staleness check).
fn scan(store: &Store, file: &std::path::Path, asked: ScanAsked<'_>) -> Result<Vec<Ecosystem>> {
    let ScanAsked {
        format,
        ecosystem,
        json,
        openvex,
        ignore_status,
    } = asked;
    let text = if file.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin()).context("cannot read standard input")?
    } else {
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?
    };
    let format = format
        .map(str::parse::<crate::inventory::ListFormat>)
        .transpose()?;
    let inventory = crate::inventory::detect_and_parse(&text, format, ecosystem)?;
    if openvex {
        let name = format!("scan {}", file.display());
        let mut out = std::io::stdout().lock();
        write_vex(&mut out, store, &inventory.packages, &name, ignore_status)?;
        return Ok(inventory_ecosystems(&inventory.packages));
    }
    let snapshot = store.snapshot()?;
    let findings: Vec<_> =
        crate::inventory::findings(&snapshot, &inventory.packages, ignore_status)?
            .into_iter()
            .flatten()
            .collect();
    let mut out = std::io::stdout().lock();
    if json {
        let value = serde_json::json!({
            "packages": inventory.packages.len(),
            "skipped": inventory.skipped,
            "unevaluated_versions": inventory.unevaluated,
            "as_of": snapshot.last_seq()?,
            "findings": findings,
        });
        writeln!(out, "{}", serde_json::to_string_pretty(&value)?)?;
    } else {
        for skipped in &inventory.skipped {
            eprintln!("skipped: {skipped}");
        }
        for reason in &inventory.unevaluated {
            eprintln!("warning: {reason}");
        }
        for f in &findings {
            for id in &f.advisories {
                let fixed = f.fixed.get(id).map(|v| v.join(",")).unwrap_or_default();
                let possibly = if f.unevaluated.contains(id) {
                    "\tpossibly affected"
                } else {
                    ""
                };
                writeln!(
                    out,
                    "{}\t{}\t{}\t{}\tfixed:{}{}",
                    f.package.ecosystem,
                    f.package.name,
                    f.package.version.as_deref().unwrap_or("*"),
                    id,
                    if fixed.is_empty() { "-" } else { &fixed },
                    possibly
                )?;
            }
        }
        eprintln!(
            "{} packages, {} affected, {} advisories",
            inventory.packages.len(),
            findings.len(),
            findings.iter().map(|f| f.advisories.len()).sum::<usize>()
        );
    }
    Ok(inventory_ecosystems(&inventory.packages))
}

/// The distinct ecosystems of an inventory (for the staleness check).
fn inventory_ecosystems(packages: &[crate::model::InventoryPackage]) -> Vec<Ecosystem> {
    let ecosystems: std::collections::BTreeSet<Ecosystem> = packages
        .iter()
        .filter_map(|p| Ecosystem::new(p.ecosystem.as_str()).ok())
        .collect();
    ecosystems.into_iter().collect()
}

/// `advisord scan --image`: read the image (off the async threads: layer
/// reading blocks), match its packages, print in `output`. Returns the
/// ecosystems asked about, for the staleness check.
async fn scan_image(
    store: &Store,
    image: crate::image::ImageRef,
    options: crate::image::ScanOptions,
    output: crate::image::report::OutputFormat,
    ignore_status: &[crate::model::FixStatus],
) -> Result<Vec<Ecosystem>> {
    use crate::image::report::{self, OutputFormat};
    let handle = tokio::runtime::Handle::current();
    let contents = tokio::task::spawn_blocking(move || {
        crate::image::read_image(&image, &options, Some(&handle))
    })
    .await
    .context("image reader panicked")??;
    let snapshot = store.snapshot()?;
    let findings = report::image_findings(&snapshot, &contents, ignore_status)?;
    let mut aliases = report::Aliases::new();
    for id in findings.iter().flat_map(|f| &f.finding.advisories) {
        if let Some(record) = store.get(id)? {
            aliases.insert(
                id.clone(),
                record.aliases.iter().map(|a| a.to_string()).collect(),
            );
        }
    }
    let mut out = std::io::stdout().lock();
    match output {
        OutputFormat::Json => {
            let value = report::json_report(&contents, &findings, snapshot.last_seq()?);
            writeln!(out, "{}", serde_json::to_string_pretty(&value)?)?;
        }
        OutputFormat::Cyclonedx => {
            let value = report::cyclonedx(&contents, &findings, &aliases);
            writeln!(out, "{}", serde_json::to_string_pretty(&value)?)?;
        }
        OutputFormat::Openvex => {
            let packages: Vec<_> = report::inventory(&contents).into_keys().collect();
            let name = format!("scan {}", contents.image.reference);
            write_vex(&mut out, store, &packages, &name, ignore_status)?;
        }
        OutputFormat::Table => {
            for skipped in &contents.skipped {
                eprintln!("skipped: {skipped}");
            }
            write!(out, "{}", report::table(&contents, &findings, &aliases))?;
        }
    }
    let ecosystems: std::collections::BTreeSet<Ecosystem> = contents
        .packages
        .iter()
        .filter_map(|p| Ecosystem::new(p.ecosystem.as_deref()?).ok())
        .collect();
    Ok(ecosystems.into_iter().collect())
}

async fn serve(
    store: Store,
    listen: std::net::SocketAddr,
    no_sync: bool,
    notify: crate::notify::NotifyConfig,
    limits: api::ServerLimits,
    syncer: std::sync::Arc<Syncer>,
    role: crate::publish::Role,
) -> Result<()> {
    // The idle timeout must not cut SSE streams between heartbeats.
    if limits.idle_timeout <= notify.heartbeat {
        anyhow::bail!(
            "--idle-timeout-secs ({}) must exceed --sse-heartbeat-secs ({})",
            limits.idle_timeout.as_secs(),
            notify.heartbeat.as_secs()
        );
    }
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let local = listener.local_addr()?;
    let hub = crate::notify::Hub::new(store.clone(), notify)?;
    hub.start()?;
    tracing::info!(address = %local, db = %store.path().display(), no_sync, "listening on http://{local}");
    // Also printed on stdout so scripts (and tests) can learn the port
    // when listening on port 0, whatever the log filter.
    println!("listening on http://{local}");
    let mut scheduler = if no_sync {
        Vec::new()
    } else {
        syncer.spawn_scheduler()
    };
    scheduler.push(reload_on_hangup(std::sync::Arc::clone(&syncer)));
    let role_task = role.start();
    let state = AppState {
        store,
        hub: hub.clone(),
        sync: Some(syncer),
    };
    let pool = api::HeavyPool::new(limits.heavy_workers, limits.heavy_queue);
    let mut app = role.wrap(api::router_with(state, &pool), hub);
    if role.metrics_text().is_some() {
        let role = role.clone();
        let more = move || role.metrics_text().unwrap_or_default();
        app = app.layer(axum::Extension(api::MetricsSource(std::sync::Arc::new(
            more,
        ))));
    }
    let result = api::serve_app(listener, app, &limits, shutdown_signal()).await;
    for task in scheduler.into_iter().chain(role_task) {
        task.abort();
    }
    result.context("server failed")
}

/// SIGHUP re-reads the catalog, as `POST /v1/catalog/reload` does.
fn reload_on_hangup(syncer: std::sync::Arc<Syncer>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            let Ok(mut hangups) = signal(SignalKind::hangup()) else {
                tracing::warn!("cannot listen for SIGHUP; reload the catalog over the API");
                return;
            };
            while hangups.recv().await.is_some() {
                let syncer = std::sync::Arc::clone(&syncer);
                match tokio::task::spawn_blocking(move || syncer.reload_catalog()).await {
                    Ok(Ok(_)) => {}
                    Ok(Err(e)) => tracing::error!(error = %e, "SIGHUP: catalog not reloaded"),
                    Err(e) => tracing::error!(error = %e, "SIGHUP: reload task failed"),
                }
            }
        }
        #[cfg(not(unix))]
        drop(syncer);
    })
}

/// The role `serve` plays under `--publish` / `--follow`.
fn replica_role(store: &Store, args: &crate::cli::ReplicationArgs) -> Result<crate::publish::Role> {
    use crate::publish::{Follower, Publisher, Remote, Role};
    let settings = args.s3.settings();
    if let Some(url) = &args.publish {
        let remote = Remote::open(url, &settings)?;
        return Ok(Role::Writer(Publisher::new(
            store.clone(),
            remote,
            args.publish_options(),
        )));
    }
    if let Some(url) = &args.follow {
        let remote = Remote::open(url, &settings)?;
        let follower = Follower::new(store.clone(), remote, args.follow_options());
        return Ok(Role::Replica(crate::publish::gate::ReplicaGate {
            follower,
            writer_url: args.writer_url.clone(),
        }));
    }
    Ok(Role::Alone)
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down");
}

/// The `last_error` column of `feeds`: the sync error, else the first
/// record the last batch could not read.
fn last_problem(view: &crate::pipeline::sync::FeedView) -> String {
    match (&view.last_error, view.last_rejections.first()) {
        (Some(error), _) => error.clone(),
        (None, Some(first)) => format!("{} rejected; first: {first}", view.last_rejected),
        (None, None) => "-".into(),
    }
}

/// Prints an ingest report as `ingest` does, offline or through a server.
fn print_ingest(out: &mut impl Write, report: &ingest::IngestReport, json: bool) -> Result<()> {
    if json {
        writeln!(out, "{}", serde_json::to_string_pretty(&report)?)?;
    } else {
        for error in &report.errors {
            eprintln!("skipped: {error}");
        }
        for (eco, n) in &report.unknown_ecosystems {
            eprintln!("warning: {n} affected entries in unknown ecosystem {eco:?}: stored, ranges not evaluable");
        }
        let o = &report.outcome;
        writeln!(out,
            "feed {}: {} files, {} records, {} rejected; {} created, {} updated, {} withdrawn, {} unchanged",
            report.feed,
            report.files,
            report.records,
            report.errors.len(),
            o.created,
            o.updated,
            o.withdrawn,
            o.unchanged
        )?;
        for (reason, n) in &report.skipped_messages {
            writeln!(out, "  {n} messages skipped: {reason}")?;
        }
    }
    Ok(())
}

/// `ingest --server URL`: the sources go to the running server's
/// `POST /v1/ingest`; the report and the exit status are the offline
/// command's.
async fn ingest_remote(command: &Command) -> Result<()> {
    let Command::Ingest {
        server: Some(server),
        format,
        dialect,
        max_decompressed,
        max_document,
        follow_symlinks,
        feed,
        json,
        sources,
        ..
    } = command
    else {
        anyhow::bail!("not an ingest command");
    };
    let feed = feed
        .clone()
        .unwrap_or_else(|| default_feed_name(format.name(), &sources[0]));
    let read = crate::formats::ReadOptions {
        format: *format,
        dialect: *dialect,
        max_decompressed: *max_decompressed,
        max_document: *max_document,
        follow_symlinks: *follow_symlinks,
    };
    let remote = crate::remote::Remote::from_env(server)?;
    let mut out = std::io::stdout();
    match remote.ingest(&read, &feed, sources).await {
        Ok(report) => print_ingest(&mut out, &report, *json),
        Err(crate::remote::RemoteError::AllRejected(report)) => {
            print_ingest(&mut out, &report, *json)?;
            anyhow::bail!(
                "feed {}: every record was rejected ({}), nothing written",
                report.feed,
                report.errors.len()
            )
        }
        Err(e) => Err(e.into()),
    }
}

/// Prints sync reports as `sync` does, offline or through a server; fails
/// when a feed failed.
fn print_sync_reports(
    out: &mut impl Write,
    reports: &[crate::pipeline::sync::FeedReport],
    json: bool,
) -> Result<()> {
    if json {
        writeln!(out, "{}", serde_json::to_string_pretty(&reports)?)?;
    } else {
        for report in reports {
            for error in &report.first_errors {
                eprintln!("skipped: {error}");
            }
            writeln!(out, "{}", report.summary())?;
        }
    }
    let failed = reports
        .iter()
        .filter(|r| r.status == SyncStatus::Failed)
        .count();
    if failed > 0 {
        anyhow::bail!("{failed} of {} feeds failed", reports.len());
    }
    Ok(())
}

/// The default feed of `import DIR`: `import:<DIR name>`.
fn import_feed_name(dir: &std::path::Path) -> String {
    let trimmed = dir.to_string_lossy().trim_end_matches('/').to_string();
    let base = trimmed.rsplit('/').next().unwrap_or(&trimmed).to_string();
    format!("import:{base}")
}

/// Prints an import report as `import` does, offline or through a server.
fn print_import(
    out: &mut impl Write,
    report: &crate::pipeline::export::ImportReport,
    json: bool,
) -> Result<()> {
    if json {
        writeln!(out, "{}", serde_json::to_string_pretty(&report)?)?;
    } else {
        for e in &report.errors {
            eprintln!("skipped: {e}");
        }
        let o = &report.outcome;
        writeln!(out,
            "feed {}: {} records ({} verbatim), {} rejected; {} created, {} updated, {} withdrawn, {} removed, {} unchanged",
            report.feed,
            report.records,
            report.verbatim,
            report.errors.len(),
            o.created,
            o.updated,
            o.withdrawn,
            o.removed,
            o.unchanged
        )?;
    }
    Ok(())
}
