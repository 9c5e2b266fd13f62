//! The one entry point orchestration calls to read a file in a given
//! format: which member files a format reads, whether it streams a local
//! file from disk, how its records of one file (and of one batch) are
//! joined, and what a whole-file failure drops. A new format touches only
//! `formats/`; `pipeline::ingest` reads, calls this, and stores.

use std::collections::BTreeMap;
use std::path::Path;

use super::oval::{self, Dialect, OvalError};
use super::{
    alpine, csaf, debian_tracker, mail, osv, stream, values, Format, ParseItem, SourceContext,
    Syntax,
};
use crate::model::Advisory;

/// How the sources of an ingest are read: the format, the options some
/// formats take, and how local inputs are unpacked and walked. A bare
/// [`Format`] converts into one with the defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadOptions {
    /// The upstream format.
    pub format: Format,
    /// OVAL only: parse with this dialect instead of detecting it (other
    /// formats ignore it; the command line refuses it with them).
    pub dialect: Option<Dialect>,
    /// Most bytes one decompressed file or archive member may hold (`None`:
    /// the in-memory unpacking default for files unpacked in memory, and
    /// [`oval::Options::default`]'s cap for files streamed from disk).
    /// Exceeding it fails the batch.
    pub max_decompressed: Option<u64>,
    /// Most bytes one document (a file, an archive member, one package of
    /// the Debian tracker's JSON) may hold once decompressed (`None`:
    /// [`stream::DEFAULT_MAX_DOCUMENT`]). A larger one is refused as an
    /// error of its file and the rest of the feed is read. OVAL, streamed
    /// definition by definition, is bounded by `max_decompressed` only.
    pub max_document: Option<u64>,
    /// A directory walk follows symbolic links (only inside the tree).
    pub follow_symlinks: bool,
}

/// A dialect name (catalog `dialect`, `--dialect`) that names no OVAL
/// dialect of this build; the text lists the ones it has.
pub use super::oval::UnknownDialectName as UnknownDialect;

/// The OVAL dialect called `name`.
pub fn parse_dialect(name: &str) -> Result<Dialect, UnknownDialect> {
    Dialect::parse_name(name)
}

impl ReadOptions {
    /// `format` with default options.
    pub fn new(format: Format) -> Self {
        ReadOptions {
            format,
            dialect: None,
            max_decompressed: None,
            max_document: None,
            follow_symlinks: false,
        }
    }

    /// The options of a catalog or mirror feed: for OVAL, its `dialect`
    /// (by name) is the one to parse with; other formats ignore it.
    pub fn for_feed(format: Format, dialect: Option<&str>) -> Result<Self, UnknownDialect> {
        let dialect = match (format, dialect) {
            (Format::Oval, Some(name)) => Some(parse_dialect(name)?),
            _ => None,
        };
        Ok(ReadOptions {
            dialect,
            ..ReadOptions::new(format)
        })
    }

    /// The per-document cap in bytes (see [`ReadOptions::max_document`]);
    /// none for OVAL, whose parser streams definition by definition
    /// wherever its bytes come from.
    pub fn document_cap(&self) -> u64 {
        match self.format {
            Format::Oval => u64::MAX,
            _ => self.max_document.unwrap_or(stream::DEFAULT_MAX_DOCUMENT),
        }
    }

    /// The options of the OVAL parser.
    fn oval(&self) -> oval::Options {
        let defaults = oval::Options::default();
        oval::Options {
            dialect: self.dialect,
            max_decompressed: self.max_decompressed.unwrap_or(defaults.max_decompressed),
        }
    }
}

impl From<Format> for ReadOptions {
    fn from(format: Format) -> Self {
        ReadOptions::new(format)
    }
}

impl Format {
    /// Whether a file met inside a directory tree or archive (not named by
    /// the user, which is always read) is one this format reads, by its
    /// name: `*.json` for CSAF, `*.json`/`*.yaml` for OSV, every file for
    /// OVAL and mail.
    pub fn reads_member(self, name: &str) -> bool {
        let lower = name.to_ascii_lowercase();
        let base = lower.rsplit(['/', '!']).next().unwrap_or(&lower);
        match self {
            Format::Osv => Syntax::from_path(name).is_some(),
            Format::AlpineSecdb => [".json", ".yaml", ".yml"].iter().any(|e| base.ends_with(e)),
            Format::DebianTracker => {
                base.ends_with(".json") || base == "list" || base.ends_with(".list")
            }
            Format::Csaf => base.ends_with(".json") || base.ends_with(".jsonl"),
            Format::Oval | Format::Mail => true,
        }
    }

    /// Whether a plain local file (not an archive) of this format is
    /// streamed from disk by [`read_path`] instead of loaded: RHEL and SUSE
    /// OVAL files expand to gigabytes, the Debian tracker's one JSON object
    /// to more than one document may hold (it is read a package at a time).
    pub fn streams_from_disk(self) -> bool {
        match self {
            Format::Oval | Format::DebianTracker => true,
            Format::Osv | Format::AlpineSecdb | Format::Csaf | Format::Mail => false,
        }
    }

    /// Whether one file's records of one id are joined ([`join_file`]) and
    /// a file is all or nothing: an OVAL file that proves malformed at its
    /// end keeps none of its records, so they cannot be stored as parsed.
    pub fn joins_within_file(self) -> bool {
        match self {
            Format::Oval => true,
            Format::Osv
            | Format::AlpineSecdb
            | Format::DebianTracker
            | Format::Csaf
            | Format::Mail => false,
        }
    }

    /// Whether records of one id are joined across the files of a batch
    /// ([`merge_batch`]: the Alpine secdb, one file per release), so a
    /// batch's records must all be read before any is stored.
    pub fn joins_across_files(self) -> bool {
        match self {
            Format::AlpineSecdb => true,
            Format::Osv | Format::Oval | Format::DebianTracker | Format::Csaf | Format::Mail => {
                false
            }
        }
    }
}

/// Where the items of one file's read go: `take` tallies each parsed item
/// and hands back the record to keep (or `None`); kept records are added
/// to `records`, joined with earlier ones of the same file and id where
/// the format says so.
pub struct ReadSink<'a> {
    /// The file's kept records.
    pub records: &'a mut Vec<Advisory>,
    /// Tallies an item; hands back the record to keep.
    pub take: &'a mut dyn FnMut(ParseItem) -> Option<Advisory>,
}

impl ReadSink<'_> {
    /// Takes `item`, keeping the record `take` hands back.
    fn keep(&mut self, item: ParseItem) {
        self.records.extend((self.take)(item));
    }
}

/// What reading one file gave besides its records.
#[derive(Debug, Default)]
pub struct FileOutcome {
    /// Records already handed to `take` that were dropped again because the
    /// file as a whole turned out unreadable (an OVAL file is all or nothing).
    pub dropped: u64,
    /// Messages that are not advisories (replies, discussion), by reason.
    pub skipped_messages: BTreeMap<String, u64>,
}

/// A failure that stops the batch: unlike a bad record or an unreadable
/// file, which are reported and skipped.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// A local file could not be read.
    #[error("reading {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The file decompresses past the cap.
    #[error("{path}: decompressed size exceeds the cap of {limit} bytes")]
    TooLarge {
        /// The file (as its records name it).
        path: String,
        /// The cap, in bytes.
        limit: u64,
    },
}

/// Reads one file's `bytes` (its syntax told by `name` where the format
/// has several) with `options`, every parsed item going to `sink`. A file
/// that is not the format at all yields one whole-file error.
pub fn read_bytes(
    options: &ReadOptions,
    ctx: &SourceContext,
    name: &str,
    bytes: &[u8],
    sink: &mut ReadSink<'_>,
) -> Result<FileOutcome, ReadError> {
    let mut outcome = FileOutcome::default();
    match options.format {
        Format::Oval => {
            let oval = options.oval();
            return read_oval(&oval, ctx, sink, |emit| {
                oval::parse_bytes_with(bytes, &oval, ctx, emit)
            });
        }
        Format::Osv => {
            let syntax = Syntax::from_path(name).unwrap_or_else(|| Syntax::sniff(bytes));
            read_capped(syntax, bytes, ctx, sink, |emit| {
                osv::parse(bytes, syntax, ctx, emit)
            });
        }
        Format::AlpineSecdb => {
            let syntax = Syntax::sniff(bytes);
            read_capped(syntax, bytes, ctx, sink, |emit| {
                alpine::parse_as(bytes, syntax, ctx, emit)
            });
        }
        Format::DebianTracker => debian_tracker::parse(bytes, ctx, &mut |item| sink.keep(item)),
        Format::Csaf => csaf::parse(bytes, ctx, &mut |item| sink.keep(item)),
        Format::Mail => {
            // Any container (mbox, pipermail, digest, message, .gz) is
            // detected from the bytes.
            let stats = mail::parse(bytes, ctx, &mut |item| sink.keep(item));
            for (reason, n) in stats.skipped {
                *outcome.skipped_messages.entry(reason).or_default() += n as u64;
            }
        }
    }
    Ok(outcome)
}

/// Reads the local file at `path` like [`read_bytes`]; a format that
/// [`Format::streams_from_disk`] streams it (plain or compressed), so a
/// multi-GB file never sits in memory; any other reads its bytes as they
/// are (unpack archives and compressed files before calling this).
pub fn read_path(
    options: &ReadOptions,
    ctx: &SourceContext,
    path: &Path,
    sink: &mut ReadSink<'_>,
) -> Result<FileOutcome, ReadError> {
    if options.format == Format::DebianTracker {
        return read_tracker(options, ctx, path, sink);
    }
    if options.format.streams_from_disk() {
        let oval = options.oval();
        return read_oval(&oval, ctx, sink, |emit| {
            oval::parse_path_with(path, &oval, ctx, emit)
        });
    }
    let bytes = std::fs::read(path).map_err(|source| ReadError::Io {
        path: path.display().to_string(),
        source,
    })?;
    let name = path.display().to_string();
    read_bytes(options, ctx, &name, &bytes, sink)
}

/// Default cap of what a streamed Debian tracker file may decompress to
/// (as for files unpacked in memory): what it holds is bounded per package
/// by the document cap, this bounds the time spent reading.
const TRACKER_MAX_DECOMPRESSED: u64 = 2 << 30;

/// Streams the Debian tracker file at `path` (plain or compressed) one
/// package at a time (see [`debian_tracker::parse_reader`]); past the
/// decompression cap the batch fails.
fn read_tracker(
    options: &ReadOptions,
    ctx: &SourceContext,
    path: &Path,
    sink: &mut ReadSink<'_>,
) -> Result<FileOutcome, ReadError> {
    let io_err = |source| ReadError::Io {
        path: path.display().to_string(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io_err)?;
    let limit = options.max_decompressed.unwrap_or(TRACKER_MAX_DECOMPRESSED);
    let total = stream::CappedReader::new(stream::decompress(file).map_err(io_err)?, limit);
    let whole = total.meter();
    let start = sink.records.len();
    debian_tracker::parse_reader(total, options.document_cap(), ctx, &mut |item| {
        sink.keep(item)
    });
    if whole.tripped().is_some() {
        sink.records.truncate(start);
        return Err(ReadError::TooLarge {
            path: ctx.source.clone(),
            limit,
        });
    }
    Ok(FileOutcome::default())
}

/// Joins the records of one batch that several files gave the same id:
/// the Alpine secdb has one file per release, each naming
/// `ALPINE-CVE-...` (see [`alpine::merge_releases`]); other formats keep
/// one record per id per file.
pub fn merge_batch(format: Format, records: Vec<Advisory>) -> Vec<Advisory> {
    match format {
        Format::AlpineSecdb => alpine::merge_releases(records),
        Format::Osv | Format::DebianTracker | Format::Csaf | Format::Oval | Format::Mail => records,
    }
}

/// Joins one file's records of one id as the reader joins them in memory
/// (OVAL's [`oval::SameIdMerger`]); a format that does not
/// [`Format::joins_within_file`] keeps them as they are.
pub fn join_file(format: Format, records: Vec<Advisory>) -> Vec<Advisory> {
    match format {
        Format::Oval => {
            let mut joined = Vec::with_capacity(1);
            let mut merger = oval::SameIdMerger::default();
            for record in records {
                merger.push(&mut joined, record);
            }
            joined
        }
        Format::Osv | Format::AlpineSecdb | Format::DebianTracker | Format::Csaf | Format::Mail => {
            records
        }
    }
}

/// Parses the JSON-or-YAML document `bytes` with `parse` when it holds no
/// more values than the cap (see [`values`]); past it, hands `sink` one
/// whole-file error instead and parses none of it.
fn read_capped(
    syntax: Syntax,
    bytes: &[u8],
    ctx: &SourceContext,
    sink: &mut ReadSink<'_>,
    parse: impl FnOnce(&mut dyn FnMut(ParseItem)),
) {
    match syntax.check_values(bytes, values::DEFAULT_MAX_VALUES) {
        Ok(()) => parse(&mut |item| sink.keep(item)),
        Err(refused) => sink.keep(Err(ctx.file_error(refused.to_string()))),
    }
}

/// Runs one OVAL parse (`parse` calls the parser with an emit callback):
/// records of one id are joined as they arrive; a file that is not
/// well-formed OVAL keeps none of its records but one error; a file past
/// the decompression cap fails the batch.
fn read_oval(
    options: &oval::Options,
    ctx: &SourceContext,
    sink: &mut ReadSink<'_>,
    parse: impl FnOnce(&mut dyn FnMut(ParseItem)) -> Result<Dialect, OvalError>,
) -> Result<FileOutcome, ReadError> {
    let start = sink.records.len();
    let mut merger = oval::SameIdMerger::default();
    let mut kept = 0u64;
    let result = parse(&mut |item| {
        if let Some(record) = (sink.take)(item) {
            kept += 1;
            merger.push(sink.records, record);
        }
    });
    match result {
        Ok(_) => Ok(FileOutcome::default()),
        Err(OvalError::TooLarge(_)) => Err(ReadError::TooLarge {
            path: ctx.source.clone(),
            limit: options.max_decompressed,
        }),
        Err(e) => {
            sink.records.truncate(start);
            (sink.take)(Err(ctx.file_error(e.to_string())));
            Ok(FileOutcome {
                dropped: kept,
                ..FileOutcome::default()
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Timestamp;

    fn read(format: Format, name: &str, bytes: &[u8]) -> Vec<ParseItem> {
        let ctx = SourceContext::for_bytes(
            "feed-x",
            name,
            "2024-01-01T00:00:00Z".parse::<Timestamp>().unwrap(),
            bytes,
        );
        let mut items = Vec::new();
        let mut records = Vec::new();
        let mut sink = ReadSink {
            records: &mut records,
            take: &mut |item| {
                items.push(item);
                None
            },
        };
        read_bytes(&ReadOptions::new(format), &ctx, name, bytes, &mut sink).unwrap();
        items
    }

    /// An OSV record whose `versions` list makes the document count
    /// exactly `total` (see `values`: 37 besides the versions).
    fn osv_counting(total: u64) -> String {
        let versions = vec!["\"1\""; (total - 37) as usize].join(",");
        format!(
            r#"{{"id": "OSV-1", "modified": "2024-01-01T00:00:00Z", "affected": [{{"package": {{"ecosystem": "PyPI", "name": "a"}}, "versions": [{versions}]}}]}}"#
        )
    }

    #[test]
    fn an_osv_document_past_the_value_cap_is_one_named_error() {
        let limit = values::DEFAULT_MAX_VALUES;
        let at = osv_counting(limit);
        let items = read(Format::Osv, "at.json", at.as_bytes());
        assert_eq!(items.len(), 1);
        let record = items[0].as_ref().unwrap();
        assert_eq!(record.affected[0].versions.len() as u64, limit - 37);
        let over = osv_counting(limit + 1);
        let items = read(Format::Osv, "over.json", over.as_bytes());
        assert_eq!(items.len(), 1);
        let error = items[0].as_ref().unwrap_err();
        assert!(error.is_whole_file());
        assert_eq!(
            (error.feed.as_str(), error.origin.as_str()),
            ("feed-x", "over.json")
        );
        assert_eq!(
            error.reason,
            format!("document holds more than {limit} values (keys and values, a mapping counting 8); refused")
        );
    }

    #[test]
    fn a_secdb_past_the_value_cap_is_refused_before_it_is_parsed() {
        let ids: Vec<String> = (0..values::DEFAULT_MAX_VALUES)
            .map(|i| format!("\"CVE-2024-{i:07}\""))
            .collect();
        let doc = format!(
            r#"{{"distroversion": "v3.20", "reponame": "main", "packages": [{{"pkg": {{"name": "a", "secfixes": {{"1.0-r0": [{}]}}}}}}]}}"#,
            ids.join(",")
        );
        let items = read(Format::AlpineSecdb, "v3.20-main.json", doc.as_bytes());
        assert_eq!(items.len(), 1);
        let error = items[0].as_ref().unwrap_err();
        assert!(error.is_whole_file());
        assert!(
            error.reason.starts_with("document holds more than"),
            "{}",
            error.reason
        );
    }
}
