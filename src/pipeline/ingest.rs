//! One ingest batch: read sources, parse them with a format, write the
//! records to the store in one transaction, and report what happened.
//!
//! Records go to a [`RecordSink`] file by file as they are parsed: `ingest`
//! streams them into the open store batch (memory holds one file's records,
//! not the batch; a file its format streams from disk, not even that); the
//! `collect_*` functions gather them in a `Vec`. What a format needs (which
//! members it reads, whether it streams, joins or is all or nothing) comes
//! from [`formats::Format`]: nothing here names a format.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;

use crate::feeds::{self, FeedError, SourceFile};
use crate::formats::{
    self, FileOutcome, ReadError, ReadOptions, ReadSink, RecordError, SourceContext,
};
use crate::model::{Advisory, Timestamp};
use crate::store::{BatchOutcome, BatchWriter, Store, StoreError};

use super::scratch::{ScratchFile, Spill};

/// Where parsed records go, one at a time: a `Vec`, or the open store batch
/// ([`BatchWriter::push`]); a sink that fails stops the read.
pub type RecordSink<'a> = dyn FnMut(Advisory) -> Result<(), StoreError> + 'a;

/// Why reading into a [`RecordSink`] stopped.
#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    /// A source could not be read.
    #[error(transparent)]
    Source(#[from] FeedError),
    /// The sink (the store) failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl StreamError {
    /// The error of a read into a `Vec`, whose sink cannot fail.
    fn into_feed_error(self) -> FeedError {
        match self {
            StreamError::Source(e) => e,
            StreamError::Store(e) => FeedError::Io {
                path: "records".into(),
                source: std::io::Error::other(e),
            },
        }
    }
}

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
    /// Messages of announcement sources that are not advisories (replies,
    /// discussion, Livepatch notices), counted by reason.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub skipped_messages: BTreeMap<String, u64>,
    /// What the store write did.
    pub outcome: BatchOutcome,
}

impl IngestReport {
    /// An empty report of feed `feed`.
    fn for_feed(feed: &str) -> IngestReport {
        IngestReport {
            feed: feed.to_string(),
            ..IngestReport::default()
        }
    }
}

/// Keeps the first fatal error of a file visitor (which cannot return one).
fn keep_first_error(slot: &mut Option<StreamError>, result: Result<(), StreamError>) {
    if let (None, Err(e)) = (&slot, result) {
        *slot = Some(e);
    }
}

/// Reads and parses a local file, directory tree or archive (blocking)
/// with `read` (a [`formats::Format`] or [`ReadOptions`]).
pub fn collect_path(
    read: impl Into<ReadOptions>,
    feed: &str,
    path: &std::path::Path,
    fetched: Timestamp,
) -> Result<(Vec<Advisory>, IngestReport), FeedError> {
    let read = read.into();
    let mut records = Vec::new();
    let report = stream_path(&read, feed, path, fetched, &mut |r| {
        records.push(r);
        Ok(())
    })
    .map_err(StreamError::into_feed_error)?;
    Ok((formats::merge_batch(read.format, records), report))
}

/// [`collect_path`] handing each file's records to `sink` as soon as the
/// file is parsed (records of one batch are not joined: see [`sink_for`]).
pub fn stream_path(
    read: &ReadOptions,
    feed: &str,
    path: &std::path::Path,
    fetched: Timestamp,
    sink: &mut RecordSink<'_>,
) -> Result<IngestReport, StreamError> {
    if read.format.streams_from_disk() && path.is_file() && !feeds::is_archive(path)? {
        let source = path.display().to_string();
        return stream_streamed(read, feed, &source, path, fetched, sink);
    }
    let in_tree = path.is_dir();
    parse_files(read, feed, fetched, in_tree, sink, |visit| {
        feeds::for_each_file_with(path, limits(read), visit)
    })
}

/// Reads and parses one downloaded file saved at `path` (blocking) with
/// `read` (a [`formats::Format`] or [`ReadOptions`]); records and errors name
/// `location` (its URL), not the local copy.
pub fn collect_download(
    read: impl Into<ReadOptions>,
    feed: &str,
    location: &str,
    path: &std::path::Path,
    fetched: Timestamp,
) -> Result<(Vec<Advisory>, IngestReport), FeedError> {
    let read = read.into();
    let mut records = Vec::new();
    let report = stream_download(&read, feed, location, path, fetched, &mut |r| {
        records.push(r);
        Ok(())
    })
    .map_err(StreamError::into_feed_error)?;
    Ok((records, report))
}

/// [`collect_download`] handing each file's records to `sink` as soon as
/// the file is parsed.
pub fn stream_download(
    read: &ReadOptions,
    feed: &str,
    location: &str,
    path: &std::path::Path,
    fetched: Timestamp,
    sink: &mut RecordSink<'_>,
) -> Result<IngestReport, StreamError> {
    // A download the format streams is read from its saved copy like a
    // local file.
    if read.format.streams_from_disk() && !feeds::is_archive(path)? {
        return stream_streamed(read, feed, location, path, fetched, sink);
    }
    // Read from the saved copy like a local file: an archive member by
    // member from disk, never the whole download in memory.
    parse_files(read, feed, fetched, false, sink, |visit| {
        feeds::read_saved(path, location, limits(read), visit)
    })
}

/// Parses every file `walk` hands its visitor (see [`parse_file`] for
/// `in_tree`) into `sink`; the first fatal error stops the parse and fails
/// the batch.
fn parse_files(
    read: &ReadOptions,
    feed: &str,
    fetched: Timestamp,
    in_tree: bool,
    sink: &mut RecordSink<'_>,
    walk: impl FnOnce(&mut dyn FnMut(SourceFile)) -> Result<(), FeedError>,
) -> Result<IngestReport, StreamError> {
    let mut report = IngestReport::for_feed(feed);
    let mut fatal = None;
    walk(&mut |file| {
        // After a fatal error the batch fails: parse nothing more.
        if fatal.is_some() {
            return;
        }
        let result = parse_file(read, feed, &fetched, &file, in_tree, sink, &mut report);
        keep_first_error(&mut fatal, result);
    })?;
    fatal.map_or(Ok(report), Err)
}

/// Runs `read` (which reads every input of a batch into the sink it is
/// given) with records going into `writer` as they are parsed; a format
/// that joins records across files ([`formats::Format::joins_across_files`])
/// waits in a [`Spill`] on disk (held in memory, a secdb batch grew by
/// kilobytes a record), then goes to `writer` joined by id.
pub fn sink_for<T, E: From<StoreError> + From<FeedError>>(
    format: formats::Format,
    writer: &mut BatchWriter<'_>,
    read: impl FnOnce(&mut RecordSink<'_>) -> Result<T, E>,
) -> Result<T, E> {
    if !format.joins_across_files() {
        return read(&mut |record| writer.push(record));
    }
    let mut spill = Spill::create()?;
    // The first failure of the spill; later records are dropped.
    let mut failed: Option<FeedError> = None;
    let value = read(&mut |record| {
        if failed.is_none() {
            if let Err(e) = spill.push(&record) {
                failed = Some(e);
            }
        }
        Ok(())
    })?;
    if let Some(e) = failed {
        return Err(e.into());
    }
    spill.replay(
        &|records| formats::merge_batch(format, records),
        &mut |record| writer.push(record).map_err(E::from),
    )?;
    Ok(value)
}

/// Downloads `url` to a new temporary file, streaming (as `sync` does): the
/// body is never held in memory; the file is removed when dropped.
async fn download(url: &str) -> Result<ScratchFile, FeedError> {
    let download = ScratchFile::new("ingest");
    let fetcher =
        feeds::http::Fetcher::new(feeds::http::FetchOptions::default()).map_err(FeedError::Http)?;
    fetcher
        .fetch_to_file(
            url,
            &download.path,
            &feeds::http::Validators::default(),
            false,
            None,
        )
        .await
        .map_err(FeedError::Http)?;
    Ok(download)
}

/// Why a streamed ingest batch was abandoned (nothing is written).
enum Abandoned {
    /// A source or the store failed.
    Stream(StreamError),
    /// Every record was rejected.
    AllRejected(Box<IngestReport>),
}

impl From<StoreError> for Abandoned {
    fn from(e: StoreError) -> Self {
        Abandoned::Stream(StreamError::Store(e))
    }
}

impl From<StreamError> for Abandoned {
    fn from(e: StreamError) -> Self {
        Abandoned::Stream(e)
    }
}

/// Reads, parses and stores `inputs` as one batch of feed `feed`, read with
/// `read` (a [`formats::Format`] or [`ReadOptions`]). URLs are downloaded
/// to temporary files first; then records are written into one store
/// transaction as each file is parsed, committed when every input was read.
pub async fn ingest(
    store: &Store,
    read: impl Into<ReadOptions>,
    feed: &str,
    inputs: &[Input],
) -> Result<IngestReport, IngestError> {
    let read = read.into();
    let source_err = |source| IngestError::Source {
        feed: feed.to_string(),
        source,
    };
    // Downloads first, so the write transaction is not held across the network.
    let mut sources = Vec::with_capacity(inputs.len());
    for input in inputs {
        sources.push(match input {
            Input::Path(path) => (path.display().to_string(), path.clone(), None),
            Input::Url(url) => {
                let download = download(url).await.map_err(source_err)?;
                (url.clone(), download.path.clone(), Some(download))
            }
        });
    }
    let store = store.clone();
    let feed_name = feed.to_string();
    let written = tokio::task::spawn_blocking(move || {
        store.write_batch(&feed_name, |writer| {
            let mut report = IngestReport::for_feed(&feed_name);
            sink_for(read.format, writer, |sink| {
                for (location, path, download) in &sources {
                    let fetched = Timestamp::now();
                    let part = match download {
                        None => stream_path(&read, &feed_name, path, fetched, sink)?,
                        Some(_) => {
                            stream_download(&read, &feed_name, location, path, fetched, sink)?
                        }
                    };
                    merge_reports(&mut report, part);
                }
                Ok::<_, StreamError>(())
            })?;
            if writer.pushed() == 0 && !report.errors.is_empty() {
                return Err(Abandoned::AllRejected(Box::new(report)));
            }
            writer.state_mut().last_errors = report.errors.len() as u64;
            Ok(report)
        })
    })
    .await
    .map_err(|e| IngestError::Source {
        feed: feed.to_string(),
        source: FeedError::Io {
            path: "store writer".into(),
            source: std::io::Error::other(e),
        },
    })?;
    match written {
        Ok((mut report, outcome)) => {
            report.outcome = outcome;
            Ok(report)
        }
        Err(Abandoned::AllRejected(report)) => Err(IngestError::AllRejected(report)),
        Err(Abandoned::Stream(StreamError::Source(source))) => Err(source_err(source)),
        Err(Abandoned::Stream(StreamError::Store(source))) => Err(IngestError::Store {
            feed: feed.to_string(),
            source,
        }),
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

/// Tallies a parser's item: a record (noting unknown ecosystems) is handed
/// back, an error is logged and kept in the report.
fn take_item(item: formats::ParseItem, report: &mut IngestReport) -> Option<Advisory> {
    match item {
        Ok(record) => {
            for affected in &record.affected {
                if let Some(package) = &affected.package {
                    if package.ecosystem.info().is_none() {
                        *report
                            .unknown_ecosystems
                            .entry(package.ecosystem.base().to_string())
                            .or_default() += 1;
                    }
                }
            }
            report.records += 1;
            Some(record)
        }
        Err(error) => {
            tracing::warn!(%error, "record skipped");
            report.errors.push(error);
            None
        }
    }
}

/// Reads one local file that its format streams from disk (see
/// [`formats::read_path`]); the digest takes one more read of the file
/// before the parse (records are stamped with it). Records and errors name
/// `source` (the path, or the URL a download came from). Memory holds no
/// more than the record at hand: records go to `sink` as they are parsed,
/// except those of a format that [`formats::Format::joins_within_file`],
/// which wait in a [`Spill`] on disk until the file proves well-formed
/// (it is all or nothing), then go to `sink` joined by id.
fn stream_streamed(
    read: &ReadOptions,
    feed: &str,
    source: &str,
    path: &std::path::Path,
    fetched: Timestamp,
    sink: &mut RecordSink<'_>,
) -> Result<IngestReport, StreamError> {
    let mut report = IngestReport::for_feed(feed);
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
    let mut spill = if read.format.joins_within_file() {
        Some(Spill::create()?)
    } else {
        None
    };
    // The first failure of the spill or the sink; later records are dropped.
    let mut fatal: Option<StreamError> = None;
    // Every record is taken here, so the reader keeps none.
    let mut kept = Vec::new();
    let mut take = |item| {
        let record = take_item(item, &mut report)?;
        if fatal.is_none() {
            let result = match &mut spill {
                Some(spill) => spill.push(&record).map_err(StreamError::from),
                None => sink(record).map_err(StreamError::from),
            };
            keep_first_error(&mut fatal, result);
        }
        None
    };
    let outcome = formats::read_path(
        read,
        &ctx,
        path,
        &mut ReadSink {
            records: &mut kept,
            take: &mut take,
        },
    );
    settle(outcome, &mut report)?;
    if let Some(e) = fatal {
        return Err(e);
    }
    if let Some(spill) = spill {
        // A malformed file keeps none of its records, only its one
        // whole-file error.
        if report.errors.iter().any(|e| e.is_whole_file()) {
            report.records = report.records.saturating_sub(spill.len());
        } else {
            let join = |records| formats::join_file(read.format, records);
            spill.replay(&join, &mut |record| sink(record).map_err(StreamError::from))?;
        }
    }
    Ok(report)
}

/// Adds what reading one file gave besides records to `report`; a read
/// that failed the batch becomes its [`FeedError`].
fn settle(
    outcome: Result<FileOutcome, ReadError>,
    report: &mut IngestReport,
) -> Result<(), FeedError> {
    let outcome = outcome.map_err(|e| match e {
        ReadError::Io { path, source } => FeedError::Io { path, source },
        ReadError::TooLarge { path, limit } => FeedError::TooLarge { path, limit },
    })?;
    report.records = report.records.saturating_sub(outcome.dropped);
    for (reason, n) in outcome.skipped_messages {
        *report.skipped_messages.entry(reason).or_default() += n;
    }
    Ok(())
}

/// The cap of in-memory unpacking.
fn unpack_cap(read: &ReadOptions) -> u64 {
    read.max_decompressed.unwrap_or(feeds::MAX_FILE_BYTES)
}

/// How local files and trees are read.
fn limits(read: &ReadOptions) -> feeds::ReadLimits {
    feeds::ReadLimits {
        max_decompressed: unpack_cap(read),
        max_document: read.document_cap(),
        follow_symlinks: read.follow_symlinks,
    }
}

/// Parses one file with `read`, appending records and errors. `in_tree`
/// says the file was found by walking a directory (not named by the user):
/// then, like an archive member, it is skipped unless its format reads
/// files of its name. Only a failure of the batch (a file past the
/// decompression cap) is an `Err`.
fn parse_file(
    read: &ReadOptions,
    feed: &str,
    fetched: &Timestamp,
    file: &SourceFile,
    in_tree: bool,
    sink: &mut RecordSink<'_>,
    report: &mut IngestReport,
) -> Result<(), StreamError> {
    let is_member = in_tree || file.location.contains('!');
    if is_member && !read.format.reads_member(&file.name) {
        report.skipped_files += 1;
        return Ok(());
    }
    report.files += 1;
    let ctx = file.context(feed, fetched.clone());
    if let Some(refused) = file.too_large {
        // Past the per-document cap: this file is an error, the rest lands.
        take_item(Err(ctx.file_error(refused.to_string())), report);
        return Ok(());
    }
    // Records go to `sink` as they are parsed (a secdb file gives a
    // record per id, kilobytes each), except where the format joins a
    // file's records by id and drops them all if the file proves
    // malformed: the reader does that in memory.
    let streams = !read.format.joins_within_file();
    let mut records = Vec::new();
    let mut fatal: Option<StreamError> = None;
    let mut take = |item| {
        let record = take_item(item, report)?;
        if !streams {
            return Some(record);
        }
        if fatal.is_none() {
            keep_first_error(&mut fatal, sink(record).map_err(StreamError::from));
        }
        None
    };
    let outcome = formats::read_bytes(
        read,
        &ctx,
        &file.name,
        &file.bytes,
        &mut ReadSink {
            records: &mut records,
            take: &mut take,
        },
    );
    settle(outcome, report)?;
    if let Some(e) = fatal {
        return Err(e);
    }
    for record in records {
        sink(record)?;
    }
    Ok(())
}
