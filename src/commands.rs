//! The subcommands' implementations (the binary's edge: errors are `anyhow`).

use std::io::{IsTerminal, Write};

use anyhow::{Context, Result};

use crate::api::{self, AppState};
use crate::cli::{CatalogArgs, Cli, Command, FetchArgs, MirrorCommand};
use crate::feeds::catalog::Catalog;
use crate::feeds::http::{FetchOptions, Fetcher};
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
            notify,
            catalog,
            fetch,
        } => {
            let syncer = Syncer::new(
                store.clone(),
                load_catalog(&catalog)?,
                sync_options(&cli.db, &fetch, false),
            )?;
            serve(store, listen, no_sync, notify.config(), syncer).await
        }
        Command::Sync {
            catalog,
            fetch,
            from_mirror,
            force,
            json,
            feeds,
        } => {
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
        Command::Feeds { catalog, json } => {
            let syncer = Syncer::new(
                store.clone(),
                load_catalog(&catalog)?,
                SyncOptions::for_db(&cli.db),
            )?;
            let views = syncer.views()?;
            if json {
                writeln!(out, "{}", serde_json::to_string_pretty(&views)?)?;
            } else {
                writeln!(out, "feed\tformat\tenabled\tinterval\trecords\tlast_attempt\tlast_success\tlast_error")?;
                for v in &views {
                    writeln!(
                        out,
                        "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
                        v.name,
                        v.format.as_deref().unwrap_or("-"),
                        v.enabled,
                        v.interval.as_deref().unwrap_or("-"),
                        v.records,
                        v.last_attempt.as_deref().unwrap_or("-"),
                        v.last_success.as_deref().unwrap_or("-"),
                        v.last_error.as_deref().unwrap_or("-"),
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
            file,
            format,
            ecosystem,
            json,
        } => scan(&store, &file, format.as_deref(), ecosystem.as_deref(), json),
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
            let report = ingest::ingest(&store, read, &feed, &inputs).await?;
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
            }
            Ok(())
        }
        Command::Query {
            ecosystem,
            name,
            version,
            purl,
            json,
        } => {
            let query = match (purl, ecosystem, name) {
                (Some(purl), _, _) => PackageQuery::from_purl(&purl, version.as_deref())?,
                (None, Some(e), Some(n)) => PackageQuery::new(&e, &n, version.as_deref())?,
                _ => anyhow::bail!("give --purl, or --ecosystem and --name"),
            };
            let matches = query.run(&store)?;
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
            if json {
                writeln!(out, "{}", serde_json::to_string_pretty(&stats)?)?;
            } else {
                writeln!(out, "records\t{}", stats.records)?;
                writeln!(out, "withdrawn\t{}", stats.withdrawn)?;
                writeln!(out, "packages\t{}", stats.packages)?;
                writeln!(out, "aliases\t{}", stats.aliases)?;
                writeln!(out, "changes\t{}", stats.changes)?;
                writeln!(out, "last_change_seq\t{}", stats.last_change_seq)?;
                for (feed, n) in &stats.feeds {
                    writeln!(out, "feed\t{feed}\t{n}")?;
                }
            }
            Ok(())
        }
        // Answered above, before the store is opened.
        Command::Vercmp { .. } => Ok(()),
    }
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
    Ok(Catalog::load(!args.no_builtin, &args.dirs)?)
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

/// `advisord scan`: the findings of an inventory, as a watch would list them.
fn scan(
    store: &Store,
    file: &std::path::Path,
    format: Option<&str>,
    ecosystem: Option<&str>,
    json: bool,
) -> Result<()> {
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
            "as_of": snapshot.last_seq()?,
            "findings": findings,
        });
        writeln!(out, "{}", serde_json::to_string_pretty(&value)?)?;
    } else {
        for skipped in &inventory.skipped {
            eprintln!("skipped: {skipped}");
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
    Ok(())
}

async fn serve(
    store: Store,
    listen: std::net::SocketAddr,
    no_sync: bool,
    notify: crate::notify::NotifyConfig,
    syncer: std::sync::Arc<Syncer>,
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
    let state = AppState {
        store,
        hub,
        sync: Some(syncer),
    };
    let result = api::serve(listener, state, shutdown_signal()).await;
    for task in scheduler {
        task.abort();
    }
    result.context("server failed")
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
