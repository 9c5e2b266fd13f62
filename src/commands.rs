//! The subcommands' implementations (the binary's edge: errors are `anyhow`).

use std::io::{IsTerminal, Write};

use anyhow::{Context, Result};

use crate::api::{self, AppState};
use crate::cli::{CatalogArgs, Cli, Command, FetchArgs, MirrorCommand, StaleArgs};
use crate::feeds::catalog::Catalog;
use crate::feeds::http::{FetchOptions, Fetcher};
use crate::freshness::Freshness;
use crate::ingest::{self, Input};
use crate::model::Ecosystem;
use crate::query::PackageQuery;
use crate::store::Store;
use crate::sync::{SyncOptions, SyncStatus, Syncer};
use crate::version::{batch, VersionScheme};

/// Runs the parsed command line.
pub async fn run(cli: Cli) -> Result<()> {
    cli.check()?;
    // Commands that need no database come first (the store takes a process lock).
    if let Command::Vercmp { scheme, ecosystem } = &cli.command {
        return vercmp(*scheme, ecosystem.as_deref());
    }
    // The mirror needs no database (it runs on the connected machine).
    if let Command::Mirror {
        command:
            MirrorCommand::Pull {
                catalog,
                fetch,
                dir,
                feeds,
            },
    } = &cli.command
    {
        return mirror_pull(catalog, fetch, dir, feeds).await;
    }
    let store = Store::open(&cli.db)?;
    // Output goes through `writeln!` (not `println!`, which panics when the
    // reader has gone): a closed pipe is an error that `main` ends quietly.
    let mut out = std::io::stdout();
    match cli.command {
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
            let mut options = sync_options(&cli.db, &fetch, false);
            options.ready_feeds = ready_feeds;
            let syncer = Syncer::new(store.clone(), load_catalog(&catalog)?, options)?;
            let notify = notify.config();
            let limits = limits.limits();
            // The idle timeout must not cut SSE streams between heartbeats.
            if limits.idle_timeout <= notify.heartbeat {
                anyhow::bail!(
                    "--idle-timeout-secs ({}) must exceed --sse-heartbeat-secs ({})",
                    limits.idle_timeout.as_secs(),
                    notify.heartbeat.as_secs()
                );
            }
            serve(store, listen, no_sync, notify, &limits, syncer, role).await
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
        } => {
            if let Some(url) = from_published {
                let remote = crate::publish::Remote::open(&url, &s3.settings())?;
                let follower = crate::publish::Follower::new(store, remote, Default::default());
                let position = follower.catch_up().await?;
                let status = follower.status();
                writeln!(
                    out,
                    "at seq {} (generation {}): {} snapshot(s) loaded, {} segment(s) applied",
                    position.seq,
                    position.generation,
                    status.snapshots_downloaded,
                    status.segments_applied
                )?;
                return Ok(());
            }
            let catalog = load_catalog(&catalog)?;
            let syncer = Syncer::new(store, catalog, sync_options(&cli.db, &fetch, force))?;
            let reports = match from_mirror {
                Some(dir) => syncer.sync_from_mirror(&dir, &feeds).await?,
                None => {
                    let specs = syncer
                        .catalog()
                        .select(&feeds)
                        .map_err(anyhow::Error::msg)?;
                    if specs.is_empty() {
                        anyhow::bail!("no feed to sync: the catalog has no enabled feed");
                    }
                    let progress = (!json && std::io::stderr().is_terminal())
                        .then(|| progress_bar(specs.len() as u64));
                    let hook = progress.clone().map(|bar| {
                        let hook: crate::sync::ProgressHook = std::sync::Arc::new(move |report| {
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
            if json {
                writeln!(out, "{}", serde_json::to_string_pretty(&reports)?)?;
            } else {
                for report in &reports {
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
        Command::Feeds {
            catalog,
            json,
            check: true,
            timeout,
        } => check_feeds(&store, &load_catalog(&catalog)?, timeout, json).await,
        Command::Feeds { catalog, json, .. } => {
            let syncer = Syncer::new(
                store.clone(),
                load_catalog(&catalog)?,
                SyncOptions::for_db(&cli.db),
            )?;
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
        Command::Mirror { .. } => Ok(()),
        Command::Export { osv } => {
            let report =
                tokio::task::spawn_blocking(move || crate::export::export_osv(&store, &osv))
                    .await??;
            writeln!(
                out,
                "{} records in {} ecosystem directories",
                report.records,
                report.ecosystems.len()
            )?;
            Ok(())
        }
        Command::Import {
            feed,
            json,
            follow_symlinks,
            dir,
        } => {
            let feed = feed.unwrap_or_else(|| {
                let trimmed = dir.to_string_lossy().trim_end_matches('/').to_string();
                let base = trimmed.rsplit('/').next().unwrap_or(&trimmed).to_string();
                format!("import:{base}")
            });
            let report = tokio::task::spawn_blocking(move || {
                crate::export::import_tree_with(&store, &dir, &feed, follow_symlinks)
            })
            .await??;
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
        Command::Scan {
            image: Some(image),
            pull,
            output,
            json,
            stale,
            ..
        } => {
            let output = match (output, json) {
                (Some(o), _) => o,
                (None, true) => crate::image::report::OutputFormat::Json,
                (None, false) => crate::image::report::OutputFormat::Table,
            };
            let ecosystems = scan_image(&store, image, pull.options(), output).await?;
            check_stale(&store, &stale, &ecosystems)
        }
        Command::Scan {
            file,
            format,
            ecosystem,
            json,
            output,
            stale,
            ..
        } => {
            let json = json || output == Some(crate::image::report::OutputFormat::Json);
            let file = file.context("give an inventory file or --image")?;
            let ecosystems = scan(&store, &file, format.as_deref(), ecosystem.as_deref(), json)?;
            check_stale(&store, &stale, &ecosystems)
        }
        Command::Ingest {
            format,
            dialect,
            max_decompressed,
            follow_symlinks,
            feed,
            json,
            sources,
        } => {
            let inputs: Vec<Input> = sources.iter().map(|s| Input::parse(s)).collect();
            let feed = feed.unwrap_or_else(|| default_feed_name(format.name(), &sources[0]));
            let read = ingest::ReadOptions {
                format,
                dialect,
                max_decompressed,
                follow_symlinks,
            };
            let (report, failure) = match ingest::ingest(&store, read, &feed, &inputs).await {
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
            match failure {
                Some(message) => anyhow::bail!(message),
                None => Ok(()),
            }
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
            let matches = query.run(&store)?;
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
            drop(out);
            check_stale(&store, &stale, std::slice::from_ref(&query.ecosystem))
        }
        Command::Get { id } => {
            let json = store
                .get_json(&id)?
                .with_context(|| format!("no record with id {id}"))?;
            let mut out = std::io::stdout().lock();
            out.write_all(&json)?;
            out.write_all(b"\n")?;
            Ok(())
        }
        Command::Stats { json } => {
            let stats = store.stats()?;
            // Ages of every feed the store knows (no catalog: stats is the
            // store's own view; `feeds` adds max ages and staleness).
            let freshness =
                Freshness::assess([], &store.feed_states()?, time::OffsetDateTime::now_utc());
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
        // Answered above, before the store is opened.
        Command::Vercmp { .. } => Ok(()),
    }
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
    let reports = crate::mirror::pull(dir, &specs, &fetcher).await?;
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

/// `advisord scan`: the findings of an inventory, as a watch would list
/// them; returns the inventory's ecosystems (for the staleness check).
fn scan(
    store: &Store,
    file: &std::path::Path,
    format: Option<&str>,
    ecosystem: Option<&str>,
    json: bool,
) -> Result<Vec<Ecosystem>> {
    let text = if file.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin()).context("cannot read standard input")?
    } else {
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?
    };
    let format = format
        .map(str::parse::<crate::inventory::ListFormat>)
        .transpose()?;
    let inventory = crate::inventory::detect_and_parse(&text, format, ecosystem)?;
    let snapshot = store.snapshot()?;
    let findings: Vec<_> = crate::inventory::findings(&snapshot, &inventory.packages)?
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
    let ecosystems: std::collections::BTreeSet<Ecosystem> = inventory
        .packages
        .iter()
        .filter_map(|p| Ecosystem::new(p.ecosystem.as_str()).ok())
        .collect();
    Ok(ecosystems.into_iter().collect())
}

/// `advisord scan --image`: read the image (off the async threads: layer
/// reading blocks), match its packages, print in `output`. Returns the
/// ecosystems asked about, for the staleness check.
async fn scan_image(
    store: &Store,
    image: crate::image::ImageRef,
    options: crate::image::ScanOptions,
    output: crate::image::report::OutputFormat,
) -> Result<Vec<Ecosystem>> {
    use crate::image::report::{self, OutputFormat};
    let handle = tokio::runtime::Handle::current();
    let contents = tokio::task::spawn_blocking(move || {
        crate::image::read_image(&image, &options, Some(&handle))
    })
    .await
    .context("image reader panicked")??;
    let snapshot = store.snapshot()?;
    let findings = report::image_findings(&snapshot, &contents)?;
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
    limits: &api::ServerLimits,
    syncer: std::sync::Arc<Syncer>,
    role: crate::publish::Role,
) -> Result<()> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let local = listener.local_addr()?;
    tracing::info!(address = %local, db = %store.path().display(), no_sync, "serving");
    // Printed on stdout so scripts (and tests) can learn the port when
    // listening on port 0.
    let hub = crate::notify::Hub::new(store.clone(), notify)?;
    hub.start()?;
    println!("listening on http://{local}");
    let scheduler = if no_sync {
        Vec::new()
    } else {
        syncer.spawn_scheduler()
    };
    let role_task = role.start();
    let state = AppState {
        store,
        hub: hub.clone(),
        sync: Some(syncer),
    };
    let pool = api::HeavyPool::new(limits.heavy_workers, limits.heavy_queue);
    let app = role.wrap(api::router_with(state, &pool), hub);
    let result = api::serve_app(listener, app, limits, shutdown_signal()).await;
    for task in scheduler.into_iter().chain(role_task) {
        task.abort();
    }
    result.context("server failed")
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
fn last_problem(view: &crate::sync::FeedView) -> String {
    match (&view.last_error, view.last_rejections.first()) {
        (Some(error), _) => error.clone(),
        (None, Some(first)) => format!("{} rejected; first: {first}", view.last_rejected),
        (None, None) => "-".into(),
    }
}
