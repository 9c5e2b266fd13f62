//! One ingest batch: read sources, parse them with a format, write the
//! records to the store in one transaction, and report what happened.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;

use crate::feeds::{self, FeedError, SourceFile};
use crate::formats::oval::Dialect;
use crate::formats::{self, Format, RecordError, SourceContext};
use crate::model::{Advisory, Timestamp};
use crate::store::{BatchOutcome, Store, StoreError};

/// Where an ingest reads from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// A file, directory tree or archive on disk.
    Path(PathBuf),
    /// An http(s) URL to a file or archive.
    Url(String),
}

impl Input {
    /// Reads `http://` and `https://` as URLs, anything else as a path.
    pub fn parse(text: &str) -> Input {
        if text.starts_with("http://") || text.starts_with("https://") {
            Input::Url(text.to_string())
        } else {
            Input::Path(PathBuf::from(text))
        }
    }
}

/// How the sources of an ingest are read: the format, and the options some
/// formats take. A bare [`Format`] converts into one with the defaults, so
/// `collect_path(Format::Osv, ...)` reads as before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadOptions {
    /// The upstream format.
    pub format: Format,
    /// OVAL only: parse with this dialect instead of detecting it (other
    /// formats ignore it; the command line refuses it with them).
    pub dialect: Option<Dialect>,
    /// Most bytes one decompressed file or archive member may hold (`None`:
    /// [`feeds::MAX_FILE_BYTES`] for files unpacked in memory, and
    /// [`formats::oval::Options::default`]'s cap for OVAL files streamed
    /// from disk). Exceeding it fails the batch.
    pub max_decompressed: Option<u64>,
    /// A directory walk follows symbolic links (only inside the tree).
    pub follow_symlinks: bool,
}

impl ReadOptions {
    /// `format` with default options.
    pub fn new(format: Format) -> Self {
        ReadOptions {
            format,
            dialect: None,
            max_decompressed: None,
            follow_symlinks: false,
        }
    }

    /// The options of a catalog or mirror feed: for OVAL, its `dialect`
    /// (by name) is the one to parse with; other formats ignore it.
    pub fn for_feed(format: Format, dialect: Option<&str>) -> Result<Self, String> {
        let dialect = match (format, dialect) {
            (Format::Oval, Some(name)) => Some(Dialect::parse_name(name)?),
            _ => None,
        };
        Ok(ReadOptions {
            dialect,
            ..ReadOptions::new(format)
        })
    }

    /// The options of the OVAL parser.
    fn oval(&self) -> formats::oval::Options {
        let defaults = formats::oval::Options::default();
        formats::oval::Options {
            dialect: self.dialect,
            max_decompressed: self.max_decompressed.unwrap_or(defaults.max_decompressed),
        }
    }

    /// The cap of in-memory unpacking.
    fn unpack_cap(&self) -> u64 {
        self.max_decompressed.unwrap_or(feeds::MAX_FILE_BYTES)
    }

    /// How local files and trees are read.
    fn limits(&self) -> feeds::ReadLimits {
        feeds::ReadLimits {
            max_decompressed: self.unpack_cap(),
            follow_symlinks: self.follow_symlinks,
        }
    }
}

impl From<Format> for ReadOptions {
    fn from(format: Format) -> Self {
        ReadOptions::new(format)
    }
}

/// A failure that stops the whole batch (nothing is written).
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// A source could not be read.
    #[error("feed {feed}: {source}")]
    Source {
        /// The feed.
        feed: String,
        /// The cause.
        source: FeedError,
    },
    /// Every record of the inputs was rejected: nothing is written (an
    /// empty batch would look like a feed with no records). The report
    /// lists the rejections.
    #[error("feed {}: every record was rejected ({}), nothing written", .0.feed, .0.errors.len())]
    AllRejected(Box<IngestReport>),
    /// The store failed; the previous state is intact.
    #[error("feed {feed}: {source}")]
    Store {
        /// The feed.
        feed: String,
        /// The cause.
        source: StoreError,
    },
}

/// What one ingest did (also the answer of `POST /v1/ingest`, read back
/// by `ingest --server`).
#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
pub struct IngestReport {
    /// The feed name records were attributed to.
    pub feed: String,
    /// Files read (archive members count one each).
    pub files: u64,
    /// Files skipped because their name says they are not records.
    pub skipped_files: u64,
    /// Records parsed successfully.
    pub records: u64,
    /// Records rejected, with the reason.
    pub errors: Vec<RecordError>,
    /// Ecosystems advisord has no entry for, with record counts (stored,
    /// but their ranges are reported as unevaluable).
    pub unknown_ecosystems: BTreeMap<String, u64>,
    /// Messages of mail sources that are not advisories (replies,
    /// discussion, Livepatch notices), counted by reason.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub skipped_messages: BTreeMap<String, u64>,
    /// What the store write did.
    pub outcome: BatchOutcome,
}

/// Parses every file of `inputs` with `read` (a [`Format`] or
/// [`ReadOptions`]) as feed `feed`. Pure apart from reading the inputs;
/// nothing is written.
pub async fn collect(
    read: impl Into<ReadOptions>,
    feed: &str,
    inputs: &[Input],
) -> Result<(Vec<Advisory>, IngestReport), IngestError> {
    let read = read.into();
    let mut report = IngestReport {
        feed: feed.to_string(),
        ..IngestReport::default()
    };
    let mut records = Vec::new();
    for input in inputs {
        let source_err = |source| IngestError::Source {
            feed: feed.to_string(),
            source,
        };
        let fetched = Timestamp::now();
        let (location, bytes) = match input {
            Input::Path(path) => {
                let path = path.clone();
                let feed = feed.to_string();
                let (mut part, part_report) =
                    tokio::task::spawn_blocking(move || collect_path(read, &feed, &path, fetched))
                        .await
                        .map_err(|e| {
                            source_err(FeedError::Io {
                                path: input_label(input),
                                source: std::io::Error::other(e),
                            })
                        })?
                        .map_err(source_err)?;
                records.append(&mut part);
                merge_reports(&mut report, part_report);
                continue;
            }
            Input::Url(url) => {
                let bytes = feeds::http::get(url, &feeds::http::FetchOptions::default())
                    .await
                    .map_err(|e| source_err(FeedError::Http(e)))?;
                (url.clone(), bytes)
            }
        };
        let feed_name = feed.to_string();
        let (mut part, part_report) = tokio::task::spawn_blocking(move || {
            collect_bytes(&read, &feed_name, &location, bytes, &fetched)
        })
        .await
        .map_err(|e| {
            source_err(FeedError::Io {
                path: input_label(input),
                source: std::io::Error::other(e),
            })
        })?
        .map_err(source_err)?;
        records.append(&mut part);
        merge_reports(&mut report, part_report);
    }
    Ok((merge_same_ids(read.format, records), report))
}

/// Keeps the first fatal error of a file visitor (which cannot return one).
fn keep_first_error(slot: &mut Option<FeedError>, result: Result<(), FeedError>) {
    if let (None, Err(e)) = (&slot, result) {
        *slot = Some(e);
    }
}

/// One batch may hold several files that give the same id: the Alpine secdb
/// has one file per release, each naming `ALPINE-CVE-...`. Those records are
/// joined (see [`formats::alpine::merge_releases`]); other formats keep one
/// record per id per file and are left as they are.
fn merge_same_ids(format: Format, records: Vec<Advisory>) -> Vec<Advisory> {
    match format {
        Format::AlpineSecdb => formats::alpine::merge_releases(records),
        _ => records,
    }
}

/// Reads and parses a local file, directory tree or archive (blocking)
/// with `read` (a [`Format`] or [`ReadOptions`]).
pub fn collect_path(
    read: impl Into<ReadOptions>,
    feed: &str,
    path: &std::path::Path,
    fetched: Timestamp,
) -> Result<(Vec<Advisory>, IngestReport), FeedError> {
    let read = read.into();
    if read.format == Format::Oval && path.is_file() && !is_archive(path)? {
        return collect_oval_file(&read, feed, &path.display().to_string(), path, fetched);
    }
    let mut records = Vec::new();
    let mut report = IngestReport {
        feed: feed.to_string(),
        ..IngestReport::default()
    };
    let in_tree = path.is_dir();
    let mut fatal = None;
    feeds::for_each_file_with(path, read.limits(), &mut |file| {
        // After a fatal error the batch fails: parse nothing more.
        if fatal.is_some() {
            return;
        }
        let result = parse_file(
            &read,
            feed,
            &fetched,
            &file,
            in_tree,
            &mut records,
            &mut report,
        );
        keep_first_error(&mut fatal, result);
    })?;
    if let Some(e) = fatal {
        return Err(e);
    }
    Ok((merge_same_ids(read.format, records), report))
}

/// Reads and parses one downloaded file saved at `path` (blocking) with
/// `read` (a [`Format`] or [`ReadOptions`]); records and errors name
/// `location` (its URL), not the local copy.
pub fn collect_download(
    read: impl Into<ReadOptions>,
    feed: &str,
    location: &str,
    path: &std::path::Path,
    fetched: Timestamp,
) -> Result<(Vec<Advisory>, IngestReport), FeedError> {
    let read = read.into();
    // An OVAL download is streamed from its saved copy like a local file
    // (RHEL and SUSE files expand to gigabytes); archives are unpacked.
    if read.format == Format::Oval && !is_archive(path)? {
        return collect_oval_file(&read, feed, location, path, fetched);
    }
    let bytes = std::fs::read(path).map_err(|source| FeedError::Io {
        path: path.display().to_string(),
        source,
    })?;
    collect_bytes(&read, feed, location, bytes, &fetched)
}

/// Unpacks and parses fetched bytes whose records and errors name
/// `location` (blocking). A file past the decompression cap fails the
/// whole call; nothing after it is parsed.
fn collect_bytes(
    read: &ReadOptions,
    feed: &str,
    location: &str,
    bytes: Vec<u8>,
    fetched: &Timestamp,
) -> Result<(Vec<Advisory>, IngestReport), FeedError> {
    let mut records = Vec::new();
    let mut report = IngestReport {
        feed: feed.to_string(),
        ..IngestReport::default()
    };
    let mut fatal = None;
    feeds::unpack_capped(location, bytes, read.unpack_cap(), &mut |file| {
        // After a fatal error the batch fails: parse nothing more.
        if fatal.is_some() {
            return;
        }
        let result = parse_file(read, feed, fetched, &file, false, &mut records, &mut report);
        keep_first_error(&mut fatal, result);
    })?;
    fatal.map_or(Ok((records, report)), Err)
}

/// Reads, parses and stores `inputs` as one batch of feed `feed`, read with
/// `read` (a [`Format`] or [`ReadOptions`]).
pub async fn ingest(
    store: &Store,
    read: impl Into<ReadOptions>,
    feed: &str,
    inputs: &[Input],
) -> Result<IngestReport, IngestError> {
    let (records, mut report) = collect(read, feed, inputs).await?;
    if records.is_empty() && !report.errors.is_empty() {
        return Err(IngestError::AllRejected(Box::new(report)));
    }
    let store = store.clone();
    let feed_name = feed.to_string();
    let errors = report.errors.len() as u64;
    let outcome = tokio::task::spawn_blocking(move || {
        store.apply_batch(&feed_name, records, |state| state.last_errors = errors)
    })
    .await
    .map_err(|e| IngestError::Source {
        feed: feed.to_string(),
        source: FeedError::Io {
            path: "store writer".into(),
            source: std::io::Error::other(e),
        },
    })?
    .map_err(|source| IngestError::Store {
        feed: feed.to_string(),
        source,
    })?;
    report.outcome = outcome;
    Ok(report)
}

fn input_label(input: &Input) -> String {
    match input {
        Input::Path(p) => p.display().to_string(),
        Input::Url(u) => u.clone(),
    }
}

fn merge_reports(into: &mut IngestReport, part: IngestReport) {
    into.files += part.files;
    into.skipped_files += part.skipped_files;
    into.records += part.records;
    into.errors.extend(part.errors);
    for (k, v) in part.unknown_ecosystems {
        *into.unknown_ecosystems.entry(k).or_default() += v;
    }
    for (k, v) in part.skipped_messages {
        *into.skipped_messages.entry(k).or_default() += v;
    }
}

/// The parts of an [`IngestReport`] that each parsed item updates (borrowed
/// apart from the rest, which the format arms update meanwhile).
struct ItemTally<'a> {
    records: &'a mut u64,
    errors: &'a mut Vec<RecordError>,
    unknown_ecosystems: &'a mut BTreeMap<String, u64>,
}

impl IngestReport {
    fn tally(&mut self) -> ItemTally<'_> {
        ItemTally {
            records: &mut self.records,
            errors: &mut self.errors,
            unknown_ecosystems: &mut self.unknown_ecosystems,
        }
    }
}

/// Tallies a parser's item: a record (noting unknown ecosystems) is handed
/// back, an error is logged and kept in the report.
fn take_item(item: formats::ParseItem, tally: ItemTally<'_>) -> Option<Advisory> {
    match item {
        Ok(record) => {
            for affected in &record.affected {
                if let Some(package) = &affected.package {
                    if package.ecosystem.info().is_none() {
                        *tally
                            .unknown_ecosystems
                            .entry(package.ecosystem.base().to_string())
                            .or_default() += 1;
                    }
                }
            }
            *tally.records += 1;
            Some(record)
        }
        Err(error) => {
            tracing::warn!(%error, "record skipped");
            tally.errors.push(error);
            None
        }
    }
}

/// Streams one local OVAL file (plain or compressed) through the two-pass
/// reader, so a multi-GB file never sits in memory; the digest takes one
/// more read of the file before the parse (records are stamped with it).
/// Records and errors name `source` (the path, or the URL a download came
/// from).
fn collect_oval_file(
    read: &ReadOptions,
    feed: &str,
    source: &str,
    path: &std::path::Path,
    fetched: Timestamp,
) -> Result<(Vec<Advisory>, IngestReport), FeedError> {
    let mut records = Vec::new();
    let mut report = IngestReport {
        feed: feed.to_string(),
        ..IngestReport::default()
    };
    let io_err = |source| FeedError::Io {
        path: path.display().to_string(),
        source,
    };
    let mut hasher = <sha2::Sha256 as sha2::Digest>::new();
    let mut file = std::fs::File::open(path).map_err(io_err)?;
    std::io::copy(&mut file, &mut hasher).map_err(io_err)?;
    let ctx = SourceContext {
        feed: feed.to_string(),
        source: source.to_string(),
        fetched,
        digest: format!("sha256:{}", hex::encode(sha2::Digest::finalize(hasher))),
    };
    report.files += 1;
    let mut merger = formats::oval::SameIdMerger::default();
    let options = read.oval();
    let result = formats::oval::parse_path_with(path, &options, &ctx, &mut |item| {
        if let Some(record) = take_item(item, report.tally()) {
            merger.push(&mut records, record);
        }
    });
    finish_oval_file(result, &options, &ctx, 0, &mut records, &mut report)?;
    Ok((records, report))
}

/// Settles one OVAL file whose records start at `start`: a file that is not
/// well-formed OVAL contributes nothing but one error; a file past the
/// decompression cap fails the batch (like an archive past it).
fn finish_oval_file(
    result: Result<formats::oval::Dialect, formats::oval::OvalError>,
    options: &formats::oval::Options,
    ctx: &SourceContext,
    start: usize,
    records: &mut Vec<Advisory>,
    report: &mut IngestReport,
) -> Result<(), FeedError> {
    match result {
        Ok(_) => Ok(()),
        Err(formats::oval::OvalError::TooLarge(_)) => Err(FeedError::TooLarge {
            path: ctx.source.clone(),
            limit: options.max_decompressed,
        }),
        Err(e) => {
            let dropped = records.len().saturating_sub(start);
            records.truncate(start);
            report.records = report.records.saturating_sub(dropped as u64);
            report.errors.push(ctx.file_error(e.to_string()));
            Ok(())
        }
    }
}

/// Whether a local file is a zip or tar archive (which the generic reader
/// opens), also under gzip, bzip2 or xz (`.tar.gz`, `.tar.xz`).
fn is_archive(path: &std::path::Path) -> Result<bool, FeedError> {
    let file = std::fs::File::open(path).map_err(|source| FeedError::Io {
        path: path.display().to_string(),
        source,
    })?;
    let mut head = Vec::with_capacity(512);
    // A compressed stream that cannot be read is not an archive: the OVAL
    // reader then reports it as a file error.
    if let Ok(reader) = formats::oval::decompress(Box::new(file), u64::MAX) {
        let _ = std::io::Read::read_to_end(&mut std::io::Read::take(reader, 512), &mut head);
    }
    Ok(matches!(
        feeds::Container::sniff(&head),
        feeds::Container::Zip | feeds::Container::Tar
    ))
}

/// Parses one file with `read`, appending records and errors. `in_tree`
/// says the file was found by walking a directory (not named by the user).
/// Only a file past the decompression cap is an `Err` (it fails the batch).
fn parse_file(
    read: &ReadOptions,
    feed: &str,
    fetched: &Timestamp,
    file: &SourceFile,
    in_tree: bool,
    records: &mut Vec<Advisory>,
    report: &mut IngestReport,
) -> Result<(), FeedError> {
    let format = read.format;
    let ctx = SourceContext::for_file(feed, file, fetched.clone());
    // Records of this file start here (OVAL drops them again on a file error).
    let start = records.len();
    let mut merger = (format == Format::Oval).then(formats::oval::SameIdMerger::default);
    let mut emit = |item: formats::ParseItem| {
        let tally = ItemTally {
            records: &mut report.records,
            errors: &mut report.errors,
            unknown_ecosystems: &mut report.unknown_ecosystems,
        };
        if let Some(record) = take_item(item, tally) {
            match merger.as_mut() {
                Some(merger) => merger.push(records, record),
                None => records.push(record),
            }
        }
    };
    match format {
        Format::Osv => {
            let is_member = in_tree || file.location.contains('!');
            let syntax = match formats::osv::Syntax::from_path(&file.name) {
                Some(s) => s,
                // Inside archives and trees only record files count; a file
                // named on the command line is read whatever its name.
                None if is_member => {
                    report.skipped_files += 1;
                    return Ok(());
                }
                None => formats::osv::Syntax::sniff(&file.bytes),
            };
            report.files += 1;
            formats::osv::parse(&file.bytes, syntax, &ctx, &mut emit);
        }
        Format::Oval => {
            report.files += 1;
            let options = read.oval();
            let result = formats::oval::parse_bytes_with(&file.bytes, &options, &ctx, &mut emit);
            return finish_oval_file(result, &options, &ctx, start, records, report);
        }
        Format::AlpineSecdb | Format::DebianTracker | Format::Csaf => {
            let is_member = in_tree || file.location.contains('!');
            if is_member && !json_feed_member(format, &file.name) {
                report.skipped_files += 1;
                return Ok(());
            }
            report.files += 1;
            match format {
                Format::AlpineSecdb => formats::alpine::parse(&file.bytes, &ctx, &mut emit),
                Format::DebianTracker => {
                    formats::debian_tracker::parse(&file.bytes, &ctx, &mut emit)
                }
                _ => formats::csaf::parse(&file.bytes, &ctx, &mut emit),
            }
        }
        Format::Mail => {
            // Any container (mbox, pipermail, digest, message, .gz) is
            // detected from the bytes; a maildir walked as a tree yields
            // one message per file.
            report.files += 1;
            let stats = formats::mail::parse(&file.bytes, &ctx, &mut emit);
            for (reason, n) in stats.skipped {
                *report.skipped_messages.entry(reason).or_default() += n as u64;
            }
        }
    }
    Ok(())
}

/// Whether a file met inside a directory or archive is one the JSON-feed
/// formats read (a file named on the command line is always read).
fn json_feed_member(format: Format, location: &str) -> bool {
    let lower = location.to_ascii_lowercase();
    let name = lower.rsplit(['/', '!']).next().unwrap_or(&lower);
    match format {
        Format::AlpineSecdb => [".json", ".yaml", ".yml"].iter().any(|e| name.ends_with(e)),
        Format::DebianTracker => {
            name.ends_with(".json") || name == "list" || name.ends_with(".list")
        }
        Format::Csaf => name.ends_with(".json") || name.ends_with(".jsonl"),
        Format::Osv | Format::Oval | Format::Mail => false,
    }
}
