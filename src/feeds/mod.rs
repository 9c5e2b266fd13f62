//! Getting upstream bytes: local files, directory trees, archives
//! (zip, tar, tar.gz) and compressed files (gzip, bzip2, xz), and HTTP.
//!
//! Containers and compression are detected from content (magic bytes), not
//! from file names, so a mirrored `all.zip` saved under any name still works.

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::formats::stream::DocumentTooLarge;
use crate::formats::{sha256_digest, SourceContext};
use crate::model::Timestamp;

pub mod catalog;
pub mod check;
pub mod http;
pub mod naming;

/// One upstream file handed to a parser.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// What was read: the path or URL as given (`one.json.gz`), with
    /// `!member` for archive members. Records name it as their `source`.
    pub location: String,
    /// The name that tells the file's syntax: `location` without a
    /// compression suffix (`one.json.gz` -> `one.json`).
    pub name: String,
    /// The (decompressed) bytes.
    pub bytes: Vec<u8>,
    /// `sha256:<hex>` of the bytes as they were read: the file as fetched
    /// (compressed, if it was), or the archive member.
    pub digest: String,
    /// Set when the file decompresses past the per-document cap: reading
    /// stopped there, `bytes` is empty, and the file is to be reported as
    /// refused (the rest of the input is still read).
    pub too_large: Option<DocumentTooLarge>,
}

impl SourceFile {
    /// A member of the archive at `location`, named `location!name`, with
    /// the digest of its own bytes.
    fn member(location: &str, name: &str, bytes: Vec<u8>) -> SourceFile {
        let member_location = format!("{location}!{name}");
        SourceFile {
            name: member_location.clone(),
            location: member_location,
            digest: sha256_digest(&bytes),
            bytes,
            too_large: None,
        }
    }

    /// What a parser is told about this file when reading it for `feed`:
    /// its location as the source, the digest of its bytes as they were read.
    pub fn context(&self, feed: &str, fetched: Timestamp) -> SourceContext {
        SourceContext {
            feed: feed.to_string(),
            source: self.location.clone(),
            fetched,
            digest: self.digest.clone(),
        }
    }
}

/// Why a source could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FeedError {
    /// A file or directory could not be read.
    #[error("reading {path}: {source}")]
    Io {
        /// The path.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// An archive is corrupt.
    #[error("archive {path}: {reason}")]
    Archive {
        /// The archive.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// Decompressed data (a file or an archive member) exceeds the cap.
    #[error("{path}: decompressed size exceeds the cap of {limit} bytes")]
    TooLarge {
        /// The file or archive member.
        path: String,
        /// The cap, in bytes.
        limit: u64,
    },
    /// The files or members of one input (an archive, a compressed file)
    /// together decompress past the cap.
    #[error("{path}: decompressed size of all members together exceeds the cap of {limit} bytes")]
    TotalTooLarge {
        /// The archive or compressed file.
        path: String,
        /// The cap, in bytes.
        limit: u64,
    },
    /// Data expands far more than advisory text does (a decompression
    /// bomb); refused before it is held up to the size cap.
    #[error("{path}: expands more than {ratio} times its compressed size (a decompression bomb); refused")]
    Ratio {
        /// The file or archive member.
        path: String,
        /// The ratio refused, inflated to compressed.
        ratio: u64,
    },
    /// A download failed.
    #[error(transparent)]
    Http(#[from] http::FetchError),
}

/// What the first bytes of a file say it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Container {
    /// A zip archive.
    Zip,
    /// gzip-compressed data (maybe a tar inside).
    Gzip,
    /// bzip2-compressed data.
    Bzip2,
    /// xz-compressed data.
    Xz,
    /// An uncompressed tar archive.
    Tar,
    /// Anything else: a plain file.
    Plain,
}

impl Container {
    /// Detects the container from magic bytes.
    pub fn sniff(head: &[u8]) -> Container {
        if head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06") {
            Container::Zip
        } else if head.starts_with(&[0x1f, 0x8b]) {
            Container::Gzip
        } else if head.starts_with(b"BZh") {
            Container::Bzip2
        } else if head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0x00]) {
            Container::Xz
        } else if head.len() > 262 && &head[257..262] == b"ustar" {
            Container::Tar
        } else {
            Container::Plain
        }
    }
}

/// Whether a local file is a zip or tar archive (which [`for_each_file`]
/// opens), also under gzip, bzip2 or xz (`.tar.gz`, `.tar.xz`): a file that
/// is not can be streamed from disk by a format that reads streams.
pub fn is_archive(path: &Path) -> Result<bool, FeedError> {
    let file = std::fs::File::open(path).map_err(io_err(path))?;
    let mut head = Vec::with_capacity(512);
    // A compressed stream that cannot be read is not an archive: the
    // format's reader then reports it as a file error.
    if let Ok(reader) = crate::formats::oval::decompress(Box::new(file), u64::MAX) {
        let _ = reader.take(512).read_to_end(&mut head);
    }
    Ok(matches!(
        Container::sniff(&head),
        Container::Zip | Container::Tar
    ))
}

/// Default maximum size of one decompressed file or archive member, and of
/// all members of one archive together (guards against decompression
/// bombs); the `*_capped` functions take another.
pub const MAX_FILE_BYTES: u64 = 2 << 30;

/// Past this many inflated bytes, data that expands more than
/// [`MAX_INFLATE_RATIO`] times its compressed size is refused: advisory
/// JSON, YAML and mail compress 5 to 20 times, a bomb a thousand times, so
/// a bomb is stopped here instead of being held up to the size cap.
pub const RATIO_CHECK_AFTER: u64 = 32 << 20;

/// See [`RATIO_CHECK_AFTER`].
pub const MAX_INFLATE_RATIO: u64 = 100;

/// How local inputs are read: the decompression cap, and whether a
/// directory walk follows symbolic links.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadLimits {
    /// Most bytes one decompressed file or archive member may hold, and
    /// all members of one archive together.
    pub max_decompressed: u64,
    /// Most bytes one plain (leaf) file or member may decompress to: past
    /// it, reading stops and the file is handed on as
    /// [`SourceFile::too_large`] instead of failing the input.
    pub max_document: u64,
    /// Follow symbolic links met in a directory walk (only to files and
    /// directories inside the walked tree; loops are walked once).
    pub follow_symlinks: bool,
}

impl Default for ReadLimits {
    fn default() -> Self {
        ReadLimits {
            max_decompressed: MAX_FILE_BYTES,
            max_document: MAX_FILE_BYTES,
            follow_symlinks: false,
        }
    }
}

/// Calls `visit` for every file under `path`: a file, a directory tree (files
/// in sorted order, hidden entries and symbolic links skipped) or an
/// archive's members, with compression undone.
pub fn for_each_file(path: &Path, visit: &mut dyn FnMut(SourceFile)) -> Result<(), FeedError> {
    for_each_file_with(path, ReadLimits::default(), visit)
}

/// [`for_each_file`] with other [`ReadLimits`].
pub fn for_each_file_with(
    path: &Path,
    limits: ReadLimits,
    visit: &mut dyn FnMut(SourceFile),
) -> Result<(), FeedError> {
    let meta = std::fs::metadata(path).map_err(|source| FeedError::Io {
        path: path.display().to_string(),
        source,
    })?;
    if meta.is_dir() {
        let mut files = walk(path, limits.follow_symlinks)?;
        files.sort();
        for file in files {
            read_file(&file, limits, visit)?;
        }
        Ok(())
    } else {
        read_file(path, limits, visit)
    }
}

/// The regular files under `root`, without recursion. Hidden entries are
/// skipped; so are symbolic links unless `follow` is set, and then only
/// those resolving inside `root` (each directory is walked once, so link
/// loops end). Nothing outside the tree is ever opened.
pub fn walk(root: &Path, follow: bool) -> Result<Vec<PathBuf>, FeedError> {
    let tree = Tree::new(root, follow)?;
    let mut seen_dirs = std::collections::HashSet::from([tree.real_root.clone()]);
    let mut pending = vec![root.to_path_buf()];
    let mut out = Vec::new();
    while let Some(dir) = pending.pop() {
        for (path, kind) in tree.entries(&dir)? {
            match kind {
                EntryKind::Dir(real) => {
                    if seen_dirs.insert(real) {
                        pending.push(path);
                    }
                }
                EntryKind::File => out.push(path),
            }
        }
    }
    Ok(out)
}

/// A directory tree being read: where it really is, and whether symbolic
/// links inside it are followed.
pub struct Tree {
    real_root: PathBuf,
    follow: bool,
}

/// What a directory entry of a [`Tree`] is, links resolved.
pub enum EntryKind {
    /// A directory, with its canonical path (to walk each once).
    Dir(PathBuf),
    /// A regular file.
    File,
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> FeedError {
    let path = path.display().to_string();
    move |source| FeedError::Io { path, source }
}

impl Tree {
    /// The tree at `root`; links are followed (inside it only) if `follow`.
    pub fn new(root: &Path, follow: bool) -> Result<Tree, FeedError> {
        Ok(Tree {
            real_root: std::fs::canonicalize(root).map_err(io_err(root))?,
            follow,
        })
    }

    /// The directories and regular files directly in `dir`: hidden entries,
    /// other file types, and symbolic links not followed are left out (and
    /// logged); a followed link must resolve inside the tree.
    pub fn entries(&self, dir: &Path) -> Result<Vec<(PathBuf, EntryKind)>, FeedError> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(io_err(dir))? {
            let entry = entry.map_err(io_err(dir))?;
            if entry.file_name().to_string_lossy().starts_with('.') {
                continue;
            }
            let path = entry.path();
            let kind = entry.file_type().map_err(io_err(&path))?;
            if kind.is_symlink() && !self.follow {
                tracing::warn!(path = %path.display(), "symbolic link skipped (see --follow-symlinks)");
                continue;
            }
            let real = match std::fs::canonicalize(&path) {
                Ok(real) if real.starts_with(&self.real_root) => real,
                _ => {
                    tracing::warn!(path = %path.display(), "symbolic link leaving the tree (or dangling) skipped");
                    continue;
                }
            };
            let meta = std::fs::metadata(&real).map_err(io_err(&path))?;
            if meta.is_dir() {
                out.push((path, EntryKind::Dir(real)));
            } else if meta.is_file() {
                out.push((path, EntryKind::File));
            }
        }
        Ok(out)
    }
}

fn read_file(
    path: &Path,
    limits: ReadLimits,
    visit: &mut dyn FnMut(SourceFile),
) -> Result<(), FeedError> {
    read_saved(path, &path.display().to_string(), limits, visit)
}

/// Reads the file saved at `path` (a download's local copy) as
/// [`for_each_file_with`] reads a file, naming what it hands on after
/// `location` (the URL it came from), not the local copy.
pub fn read_saved(
    path: &Path,
    location: &str,
    limits: ReadLimits,
    visit: &mut dyn FnMut(SourceFile),
) -> Result<(), FeedError> {
    let location = location.to_string();
    // An archive is read from disk member by member, never loaded whole
    // (an OSV all.zip is tens of MB: held, the ingest's RSS grew with it);
    // a plain file past the document cap is refused unread.
    let mut file = std::fs::File::open(path).map_err(io_err(path))?;
    let size = file.metadata().map_err(io_err(path))?.len();
    let mut head = Vec::with_capacity(512);
    (&mut file)
        .take(512)
        .read_to_end(&mut head)
        .map_err(io_err(path))?;
    match Container::sniff(&head) {
        Container::Plain if size > limits.max_document => {
            visit(refused(&location, &location, limits.max_document));
            return Ok(());
        }
        Container::Plain => {}
        Container::Tar => {
            let members = head.as_slice().chain(std::io::BufReader::new(file));
            return untar(
                &location,
                members,
                limits.max_decompressed,
                limits.max_document,
                visit,
            );
        }
        Container::Zip => {
            let archive = std::io::BufReader::new(file);
            return unzip(
                &location,
                archive,
                &mut Budget::new(&location, limits),
                visit,
            );
        }
        // Compressed: held as it is (its size is the file's) and
        // inflated as it is read.
        Container::Gzip | Container::Bzip2 | Container::Xz => {}
    }
    // The rest after the sniffed head: the file is opened and read once.
    let mut bytes = head;
    file.read_to_end(&mut bytes).map_err(io_err(path))?;
    unpack_with(&location, bytes, limits, visit)
}

/// A file or member refused for passing the document cap `limit`.
fn refused(location: &str, name: &str, limit: u64) -> SourceFile {
    SourceFile {
        location: location.to_string(),
        name: name.to_string(),
        bytes: Vec::new(),
        digest: String::new(),
        too_large: Some(DocumentTooLarge { limit }),
    }
}

/// Undoes compression and opens archives in `bytes` read from `location`.
pub fn unpack(
    location: &str,
    bytes: Vec<u8>,
    visit: &mut dyn FnMut(SourceFile),
) -> Result<(), FeedError> {
    unpack_with(location, bytes, ReadLimits::default(), visit)
}

/// [`unpack`] within `limits`: a plain file or member past
/// `limits.max_document` is handed on as [`SourceFile::too_large`] (its
/// bytes never held past the cap); past `limits.max_decompressed` the
/// input fails.
pub fn unpack_with(
    location: &str,
    bytes: Vec<u8>,
    limits: ReadLimits,
    visit: &mut dyn FnMut(SourceFile),
) -> Result<(), FeedError> {
    let mut budget = Budget::new(location, limits);
    unpack_in(location, location, None, bytes, &mut budget, visit)
}

/// What inflating one stream gave: its bytes, or (for a plain document
/// past the document cap) nothing.
enum Inflated {
    Bytes(Vec<u8>),
    TooLarge,
}

/// The inflation budget of one input: `max` per file or member, `left` for
/// the rest of the input (named `location`) together.
struct Budget {
    location: String,
    max: u64,
    left: u64,
    /// Most bytes of one plain document.
    document: u64,
}

impl Budget {
    /// The whole budget of the input at `location` under `limits`.
    fn new(location: &str, limits: ReadLimits) -> Budget {
        Budget {
            location: location.to_string(),
            max: limits.max_decompressed,
            left: limits.max_decompressed,
            document: limits.max_document,
        }
    }

    /// The most the next file or member may inflate to before an error.
    fn allowance(&self) -> u64 {
        self.max.min(self.left)
    }

    /// Takes `n` inflated bytes of `member` off the budget, or says which
    /// cap they break (the member's, or the input's total).
    fn take(&mut self, member: &str, n: u64) -> Result<(), FeedError> {
        if n > self.max {
            return Err(too_large(member, self.max));
        }
        if n > self.left {
            return Err(FeedError::TotalTooLarge {
                path: self.location.clone(),
                limit: self.max,
            });
        }
        self.left -= n;
        Ok(())
    }
}

/// [`unpack_with`] of bytes read from `location` whose syntax `name`
/// tells; `digest` is that of the outermost compressed bytes, if any.
fn unpack_in(
    location: &str,
    name: &str,
    digest: Option<String>,
    bytes: Vec<u8>,
    budget: &mut Budget,
    visit: &mut dyn FnMut(SourceFile),
) -> Result<(), FeedError> {
    let taken = std::cell::Cell::new(0);
    let compressed = Counted {
        bytes: &bytes,
        taken: &taken,
    };
    let (reader, suffix): (Box<dyn Read + '_>, &str) = match Container::sniff(&bytes) {
        Container::Plain => {
            if bytes.len() as u64 > budget.document {
                visit(refused(location, name, budget.document));
                return Ok(());
            }
            visit(SourceFile {
                location: location.to_string(),
                name: name.to_string(),
                digest: digest.unwrap_or_else(|| sha256_digest(&bytes)),
                bytes,
                too_large: None,
            });
            return Ok(());
        }
        Container::Zip => return unzip(location, std::io::Cursor::new(&bytes), budget, visit),
        Container::Tar => return untar(location, &bytes[..], budget.max, budget.document, visit),
        Container::Gzip => (
            Box::new(flate2::read::MultiGzDecoder::new(compressed)),
            ".gz",
        ),
        Container::Bzip2 => (
            Box::new(bzip2::read::MultiBzDecoder::new(compressed)),
            ".bz2",
        ),
        Container::Xz => (
            Box::new(liblzma::read::XzDecoder::new_multi_decoder(compressed)),
            ".xz",
        ),
    };
    let compressed = || taken.get();
    let mut checked = Checked::new(location, reader, &compressed, budget.allowance());
    let mut head = Vec::with_capacity(512);
    if let Err(e) = (&mut checked).take(512).read_to_end(&mut head) {
        return Err(checked.failure(e, budget));
    }
    if Container::sniff(&head) == Container::Tar {
        // A compressed tar is read member by member as it inflates: only
        // one member is ever held, whatever the whole inflates to.
        let members = untar(
            location,
            head.as_slice().chain(&mut checked),
            budget.max,
            budget.document,
            visit,
        );
        if checked.stopped.is_some() {
            return Err(checked.failure(std::io::Error::other("stopped"), budget));
        }
        members?;
        return budget.take(location, checked.read);
    }
    let inner = match inflate(&mut checked, head, budget)? {
        Inflated::Bytes(inner) => inner,
        Inflated::TooLarge => {
            let name = name.strip_suffix(suffix).unwrap_or(name);
            visit(refused(location, name, budget.document));
            return Ok(());
        }
    };
    // A single compressed file: its name loses the compression suffix
    // (`x.json.gz` -> `x.json`) so its own extension still tells its
    // syntax; its digest is of the compressed bytes, as fetched. An archive
    // inside keeps its name and digests each member.
    if Container::sniff(&inner) == Container::Plain {
        let name = name.strip_suffix(suffix).unwrap_or(name);
        let digest = digest.unwrap_or_else(|| sha256_digest(&bytes));
        unpack_in(location, name, Some(digest), inner, budget, visit)
    } else {
        unpack_in(location, name, digest, inner, budget, visit)
    }
}

/// Compressed bytes that count how many of them a decompressor has taken.
struct Counted<'a> {
    bytes: &'a [u8],
    taken: &'a std::cell::Cell<u64>,
}

impl Read for Counted<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.bytes.read(buf)?;
        self.taken.set(self.taken.get() + n as u64);
        Ok(n)
    }
}

/// The error for data past the decompression cap.
fn too_large(location: &str, max: u64) -> FeedError {
    FeedError::TooLarge {
        path: location.to_string(),
        limit: max,
    }
}

/// Why a [`Checked`] reader stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    /// More bytes than the budget allows.
    PastAllowance,
    /// Expanding more than [`MAX_INFLATE_RATIO`] times.
    Ratio,
}

/// The inflated bytes of `location` checked as they are read: once past
/// `allowance`, or (past [`RATIO_CHECK_AFTER`]) expanding more than
/// [`MAX_INFLATE_RATIO`] times what `compressed()` says was taken, reads
/// fail and `stopped` says why, so a bomb is refused as soon as it shows,
/// whoever is reading (the in-memory [`inflate`], or a streamed tar).
struct Checked<'a, R> {
    location: &'a str,
    inner: R,
    compressed: &'a dyn Fn() -> u64,
    allowance: u64,
    read: u64,
    stopped: Option<Stop>,
}

impl<'a, R: Read> Checked<'a, R> {
    fn new(location: &'a str, inner: R, compressed: &'a dyn Fn() -> u64, allowance: u64) -> Self {
        Checked {
            location,
            inner,
            compressed,
            allowance,
            read: 0,
            stopped: None,
        }
    }

    /// The error of a failed read `error`: the cap or ratio that stopped
    /// the reader (taken off `budget`), else the decompressor's own.
    fn failure(&self, error: std::io::Error, budget: &mut Budget) -> FeedError {
        match self.stopped {
            Some(Stop::PastAllowance) => match budget.take(self.location, self.read) {
                Err(e) => e,
                Ok(()) => too_large(self.location, self.allowance),
            },
            Some(Stop::Ratio) => FeedError::Ratio {
                path: self.location.to_string(),
                ratio: MAX_INFLATE_RATIO,
            },
            None => FeedError::Archive {
                path: self.location.to_string(),
                reason: format!("decompression failed: {error}"),
            },
        }
    }
}

impl<R: Read> Read for Checked<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.stopped.is_none() {
            let n = self.inner.read(buf)?;
            self.read += n as u64;
            if self.read > self.allowance {
                self.stopped = Some(Stop::PastAllowance);
            } else if self.read > RATIO_CHECK_AFTER
                && self.read / (self.compressed)().max(1) > MAX_INFLATE_RATIO
            {
                self.stopped = Some(Stop::Ratio);
            } else {
                return Ok(n);
            }
        }
        Err(std::io::Error::other(format!(
            "{}: inflating stopped at {} bytes",
            self.location, self.read
        )))
    }
}

/// Reads the rest of `checked` after `out` (its first bytes) within
/// `budget`, in chunks, refusing it as soon as it passes a cap or
/// [`MAX_INFLATE_RATIO`]: a bomb is never held up to the cap. Once its
/// first bytes show a plain document (not an archive or another
/// compression layer), it stops at the document cap with
/// [`Inflated::TooLarge`].
fn inflate<R: Read>(
    checked: &mut Checked<'_, R>,
    mut out: Vec<u8>,
    budget: &mut Budget,
) -> Result<Inflated, FeedError> {
    let mut plain: Option<bool> = None;
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        let n = match checked.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(checked.failure(e, budget)),
        };
        out.extend_from_slice(&chunk[..n]);
        let size = out.len() as u64;
        if plain.is_none() && size >= 512 {
            plain = Some(Container::sniff(&out) == Container::Plain);
        }
        if plain == Some(true) && size > budget.document {
            budget.take(checked.location, size)?;
            return Ok(Inflated::TooLarge);
        }
    }
    budget.take(checked.location, out.len() as u64)?;
    Ok(Inflated::Bytes(out))
}

/// Hands on the members of the zip `archive` (in memory, or a file read
/// in place), each inflated within `budget`.
fn unzip(
    location: &str,
    archive: impl Read + std::io::Seek,
    budget: &mut Budget,
    visit: &mut dyn FnMut(SourceFile),
) -> Result<(), FeedError> {
    let archive_err = |reason: String| FeedError::Archive {
        path: location.to_string(),
        reason,
    };
    let mut archive = zip::ZipArchive::new(archive).map_err(|e| archive_err(e.to_string()))?;
    refuse_overlaps(&mut archive).map_err(|e| archive_err(e.to_string()))?;
    for index in 0..archive.len() {
        let member = archive
            .by_index(index)
            .map_err(|e| archive_err(format!("member {index}: {e}")))?;
        if !member.is_file() {
            continue;
        }
        let name = member.name().to_string();
        let member_location = format!("{location}!{name}");
        if member.size() > budget.max {
            return Err(too_large(&member_location, budget.max));
        }
        // The declared size is the header's word: inflating past it is
        // refused (the ratio is checked against the whole compressed member).
        let (declared, compressed) = (member.size(), member.compressed_size());
        let reader = member.take(declared.saturating_add(1));
        let compressed = || compressed;
        let mut checked = Checked::new(&member_location, reader, &compressed, budget.allowance());
        let data = match inflate(&mut checked, Vec::new(), budget)? {
            Inflated::Bytes(data) => data,
            Inflated::TooLarge => {
                visit(refused(&member_location, &member_location, budget.document));
                continue;
            }
        };
        if data.len() as u64 > declared {
            return Err(archive_err(format!(
                "member {name} inflates past its declared size of {declared} bytes"
            )));
        }
        visit(SourceFile::member(location, &name, data));
    }
    Ok(())
}

/// Why a zip is refused before any member is inflated.
#[derive(Debug, thiserror::Error)]
enum ZipLayoutError {
    /// A central-directory entry could not be read.
    #[error("member {index}: {source}")]
    Member {
        /// The entry's index.
        index: usize,
        /// The cause.
        source: zip::result::ZipError,
    },
    /// Two members share bytes.
    #[error("members {first:?} and {second:?} overlap (a zip bomb's shape); refused")]
    Overlap {
        /// The member that starts first.
        first: String,
        /// The member that starts inside it.
        second: String,
    },
}

/// Refuses a zip whose members' bytes overlap: a well-formed archive
/// stores each member once, while a bomb points many central-directory
/// entries at one deflate stream so it is inflated again for each.
fn refuse_overlaps<R: Read + std::io::Seek>(
    archive: &mut zip::ZipArchive<R>,
) -> Result<(), ZipLayoutError> {
    let mut spans = Vec::with_capacity(archive.len());
    for index in 0..archive.len() {
        let member = archive
            .by_index_raw(index)
            .map_err(|source| ZipLayoutError::Member { index, source })?;
        let end = member.data_start().saturating_add(member.compressed_size());
        spans.push((member.header_start(), end, member.name().to_string()));
    }
    spans.sort();
    match spans.windows(2).find(|w| w[1].0 < w[0].1) {
        Some(w) => Err(ZipLayoutError::Overlap {
            first: w[0].2.clone(),
            second: w[1].2.clone(),
        }),
        None => Ok(()),
    }
}

/// Hands on the members of a tar held in memory; each may hold `max`
/// bytes (they are slices of what was inflated, so they take nothing more
/// off the budget), a plain one `document` bytes (past it, it is handed
/// on refused).
fn untar(
    location: &str,
    reader: impl Read,
    max: u64,
    document: u64,
    visit: &mut dyn FnMut(SourceFile),
) -> Result<(), FeedError> {
    let archive_err = |reason: String| FeedError::Archive {
        path: location.to_string(),
        reason,
    };
    let mut archive = tar::Archive::new(reader);
    let entries = archive.entries().map_err(|e| archive_err(e.to_string()))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| archive_err(e.to_string()))?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let name = entry
            .path()
            .map(|p| p.display().to_string())
            .map_err(|e| archive_err(e.to_string()))?;
        let member_location = format!("{location}!{name}");
        let mut data = Vec::new();
        let first = document.min(max);
        (&mut entry)
            .take(first.saturating_add(1))
            .read_to_end(&mut data)
            .map_err(|e| archive_err(format!("member {name}: {e}")))?;
        if data.len() as u64 > first && first < max {
            if Container::sniff(&data) == Container::Plain {
                visit(refused(&member_location, &member_location, document));
                continue;
            }
            // An archive or compressed member: its own members are capped.
            (&mut entry)
                .take(max - first)
                .read_to_end(&mut data)
                .map_err(|e| archive_err(format!("member {name}: {e}")))?;
        }
        // A member past the cap is refused, never handed on cut short.
        if data.len() as u64 > max {
            return Err(too_large(&member_location, max));
        }
        visit(SourceFile::member(location, &name, data));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// [`unpack`] with `max` bytes allowed per decompressed file or archive
    /// member, and for all of them together.
    fn unpack_capped(
        location: &str,
        bytes: Vec<u8>,
        max: u64,
        visit: &mut dyn FnMut(SourceFile),
    ) -> Result<(), FeedError> {
        let limits = ReadLimits {
            max_decompressed: max,
            max_document: max,
            follow_symlinks: false,
        };
        unpack_with(location, bytes, limits, visit)
    }

    #[test]
    fn gzip_of_tar_yields_members() {
        let mut tar_bytes = Vec::new();
        {
            let mut builder = tar::Builder::new(&mut tar_bytes);
            for (name, body) in [("a/one.json", "{}"), ("b/two.yaml", "id: x")] {
                let mut header = tar::Header::new_gnu();
                header.set_size(body.len() as u64);
                header.set_mode(0o644);
                header.set_cksum();
                builder
                    .append_data(&mut header, name, body.as_bytes())
                    .unwrap();
            }
            builder.finish().unwrap();
        }
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&tar_bytes).unwrap();
        let gz = gz.finish().unwrap();
        let mut seen = Vec::new();
        unpack("x.tar.gz", gz, &mut |f| {
            seen.push((f.location, f.bytes.len()))
        })
        .unwrap();
        assert_eq!(
            seen,
            vec![
                ("x.tar.gz!a/one.json".to_string(), 2),
                ("x.tar.gz!b/two.yaml".to_string(), 5)
            ]
        );
    }

    /// Issue 21: `one.json.gz` was recorded as `one.json` with the digest
    /// of the decompressed bytes. The source is what was read; the digest
    /// covers the bytes as read; only the syntax name drops `.gz`.
    #[test]
    fn compressed_file_keeps_its_name_and_fetched_digest() {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(b"{\"id\": \"X-1\"}").unwrap();
        let gz = gz.finish().unwrap();
        let mut seen = Vec::new();
        unpack("http://h/one.json.gz", gz.clone(), &mut |f| seen.push(f)).unwrap();
        assert_eq!(seen.len(), 1);
        assert_eq!(seen[0].location, "http://h/one.json.gz");
        assert_eq!(seen[0].name, "http://h/one.json");
        assert_eq!(seen[0].digest, sha256_digest(&gz));
        assert_ne!(seen[0].digest, sha256_digest(&seen[0].bytes));
    }

    /// The document cap refuses a plain file or member past it (handed on
    /// empty, marked refused) but never an archive as a whole: a gzip of a
    /// tar larger than the cap, whose members are under it, is read.
    #[test]
    fn the_document_cap_refuses_plain_documents_not_archives() {
        let limits = ReadLimits {
            max_decompressed: 1 << 20,
            max_document: 4096,
            follow_symlinks: false,
        };
        let gz = |bytes: &[u8]| {
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            gz.write_all(bytes).unwrap();
            gz.finish().unwrap()
        };
        let seen = |bytes: Vec<u8>| {
            let mut seen = Vec::new();
            unpack_with("in", bytes, limits, &mut |f| {
                seen.push((f.location, f.bytes.len(), f.too_large.map(|e| e.limit)))
            })
            .unwrap();
            seen
        };
        let big = vec![b'x'; 5000];
        assert_eq!(seen(big.clone()), vec![("in".into(), 0, Some(4096))]);
        assert_eq!(seen(gz(&big)), vec![("in".into(), 0, Some(4096))]);
        assert_eq!(
            seen(gz(&tar_of("a.json", &big))),
            vec![("in!a.json".into(), 0, Some(4096))]
        );
        let mut tar_bytes = Vec::new();
        {
            let mut builder = tar::Builder::new(&mut tar_bytes);
            for i in 0..4 {
                let mut header = tar::Header::new_gnu();
                header.set_size(3000);
                header.set_mode(0o644);
                header.set_cksum();
                builder
                    .append_data(&mut header, format!("{i}.json"), &[b'y'; 3000][..])
                    .unwrap();
            }
            builder.finish().unwrap();
        }
        assert!(tar_bytes.len() > 4096);
        let members = seen(gz(&tar_bytes));
        assert_eq!(members.len(), 4);
        assert!(members
            .iter()
            .all(|(_, n, refused)| *n == 3000 && refused.is_none()));
    }

    fn tar_of(name: &str, body: &[u8]) -> Vec<u8> {
        let mut tar_bytes = Vec::new();
        {
            let mut builder = tar::Builder::new(&mut tar_bytes);
            let mut header = tar::Header::new_gnu();
            header.set_size(body.len() as u64);
            header.set_mode(0o644);
            header.set_cksum();
            builder.append_data(&mut header, name, body).unwrap();
            builder.finish().unwrap();
        }
        tar_bytes
    }

    #[test]
    fn decompression_cap_refuses_files_and_members_past_it() {
        let body = vec![b'x'; 10_000];
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&body).unwrap();
        let gz = gz.finish().unwrap();
        let mut zip_bytes = Vec::new();
        {
            let mut zip = zip::ZipWriter::new(std::io::Cursor::new(&mut zip_bytes));
            zip.start_file("big.json", zip::write::SimpleFileOptions::default())
                .unwrap();
            zip.write_all(&body).unwrap();
            zip.finish().unwrap();
        }
        for (location, bytes, member) in [
            ("a.json.gz", gz, "a.json.gz"),
            ("t.tar", tar_of("big.json", &body), "t.tar!big.json"),
            ("z.zip", zip_bytes, "z.zip!big.json"),
        ] {
            // At the cap: read whole.
            let mut sizes = Vec::new();
            unpack_capped(location, bytes.clone(), 10_000, &mut |f| {
                sizes.push(f.bytes.len())
            })
            .unwrap();
            assert_eq!(sizes, [10_000], "{location}");
            // One byte under: refused, nothing handed on (not cut short).
            let err = unpack_capped(location, bytes, 9_999, &mut |f| {
                panic!("{location}: {} handed on", f.location)
            })
            .unwrap_err();
            match &err {
                FeedError::TooLarge { path, limit } => {
                    assert_eq!((path.as_str(), *limit), (member, 9_999), "{location}")
                }
                other => panic!("{location}: {other}"),
            }
            assert!(err.to_string().contains("cap of 9999 bytes"), "{err}");
        }
    }

    fn zip_of(members: &[(&str, &[u8])]) -> Vec<u8> {
        let mut zip_bytes = Vec::new();
        {
            let mut zip = zip::ZipWriter::new(std::io::Cursor::new(&mut zip_bytes));
            for (name, body) in members {
                zip.start_file(*name, zip::write::SimpleFileOptions::default())
                    .unwrap();
                zip.write_all(body).unwrap();
            }
            zip.finish().unwrap();
        }
        zip_bytes
    }

    #[test]
    fn the_cap_also_holds_for_all_members_of_an_archive_together() {
        let body = [b'x'; 1000];
        let zip = zip_of(&[("a.json", &body), ("b.json", &body), ("c.json", &body)]);
        let mut seen = 0;
        unpack_capped("z.zip", zip.clone(), 3000, &mut |_| seen += 1).unwrap();
        assert_eq!(seen, 3);
        let err = unpack_capped("z.zip", zip, 2500, &mut |_| {}).unwrap_err();
        assert!(
            matches!(&err, FeedError::TotalTooLarge { path, limit: 2500 } if path == "z.zip"),
            "{err}"
        );
    }

    /// Issue 13: a gzip of zeros was inflated up to the 2 GiB cap before
    /// it was refused; the ratio stops it after RATIO_CHECK_AFTER bytes.
    #[test]
    fn a_decompression_bomb_is_refused_by_its_ratio() {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        let zeros = vec![0u8; 1 << 20];
        for _ in 0..(RATIO_CHECK_AFTER >> 20) + 8 {
            gz.write_all(&zeros).unwrap();
        }
        let gz = gz.finish().unwrap();
        let err = unpack("zeros.json.gz", gz, &mut |f| {
            panic!("{} handed on", f.location)
        })
        .unwrap_err();
        assert!(
            matches!(&err, FeedError::Ratio { path, .. } if path == "zeros.json.gz"),
            "{err}"
        );
        // Ordinary JSON (compressing about 10 times) passes.
        let record = br#"{"id": "GHSA-xxxx", "summary": "a text that repeats", "n": 12345}"#;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        for i in 0..600_000 {
            writeln!(gz, "{}{i}", String::from_utf8_lossy(record)).unwrap();
        }
        let gz = gz.finish().unwrap();
        let mut size = 0;
        unpack("x.json.gz", gz, &mut |f| size = f.bytes.len()).unwrap();
        assert!(size as u64 > RATIO_CHECK_AFTER, "{size}");
    }

    /// A tar or zip file (here one larger than the document cap) is read
    /// from disk member by member (not loaded whole); its members are
    /// handed on as from memory.
    #[test]
    fn a_large_archive_file_is_read_in_place() {
        let limits = ReadLimits {
            max_decompressed: 1 << 20,
            max_document: 4096,
            follow_symlinks: false,
        };
        // Bytes that do not compress, so the zip is larger than the cap too.
        let mut seed = 1u32;
        let body: Vec<u8> = (0..3000)
            .map(|_| {
                seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                (seed >> 16) as u8
            })
            .collect();
        let mut tar_bytes = Vec::new();
        {
            let mut builder = tar::Builder::new(&mut tar_bytes);
            for i in 0..4 {
                let mut header = tar::Header::new_gnu();
                header.set_size(body.len() as u64);
                header.set_mode(0o644);
                header.set_cksum();
                builder
                    .append_data(&mut header, format!("{i}.json"), &body[..])
                    .unwrap();
            }
            builder.finish().unwrap();
        }
        let names = ["0.json", "1.json", "2.json", "3.json"];
        let zip_bytes = zip_of(&names.map(|n| (n, &body[..])));
        let dir = tempfile::tempdir().unwrap();
        for (name, bytes) in [("a.tar", tar_bytes), ("a.zip", zip_bytes)] {
            assert!(bytes.len() > 4096, "{name}");
            let path = dir.path().join(name);
            std::fs::write(&path, bytes).unwrap();
            let mut seen = Vec::new();
            for_each_file_with(&path, limits, &mut |f| {
                seen.push((f.location, f.bytes.len(), f.too_large))
            })
            .unwrap();
            let want: Vec<_> = names
                .iter()
                .map(|n| (format!("{}!{n}", path.display()), 3000, None))
                .collect();
            assert_eq!(seen, want, "{name}");
        }
    }

    /// Issue 13: a tar.gz was inflated whole before its members were
    /// read, so 1.1 GiB of members each under the document cap (inflating
    /// about 90 times, under the ratio check) were all held at once. It is
    /// now read member by member as it inflates: a member before a bomb is
    /// handed on before the bomb is seen, and the bomb is still refused.
    #[test]
    fn a_compressed_tar_is_read_member_by_member() {
        let record = br#"{"id": "GHSA-aaaa-bbbb-cccc", "modified": "2024-01-01T00:00:00Z"}"#;
        let mut tar_bytes = Vec::new();
        {
            let mut builder = tar::Builder::new(&mut tar_bytes);
            for (name, body) in [
                ("a.json", record.to_vec()),
                (
                    "zeros.json",
                    vec![0u8; (RATIO_CHECK_AFTER as usize) + (8 << 20)],
                ),
            ] {
                let mut header = tar::Header::new_gnu();
                header.set_size(body.len() as u64);
                header.set_mode(0o644);
                header.set_cksum();
                builder.append_data(&mut header, name, &body[..]).unwrap();
            }
            builder.finish().unwrap();
        }
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(&tar_bytes).unwrap();
        let mut seen = Vec::new();
        let err = unpack("t.tar.gz", gz.finish().unwrap(), &mut |f| {
            seen.push((f.location, f.bytes.len()))
        })
        .unwrap_err();
        assert_eq!(seen, [("t.tar.gz!a.json".to_string(), record.len())]);
        assert!(
            matches!(&err, FeedError::Ratio { path, .. } if path == "t.tar.gz"),
            "{err}"
        );
    }

    #[test]
    fn walks_skip_links_unless_asked_and_never_leave_the_tree() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("tree");
        std::fs::create_dir_all(root.join("sub")).unwrap();
        std::fs::write(root.join("sub/a.json"), "{}").unwrap();
        std::fs::write(dir.path().join("outside.json"), "{}").unwrap();
        std::os::unix::fs::symlink(".", root.join("self1")).unwrap();
        std::os::unix::fs::symlink("..", root.join("sub/up")).unwrap();
        std::os::unix::fs::symlink("sub/a.json", root.join("b.json")).unwrap();
        std::os::unix::fs::symlink("../outside.json", root.join("out.json")).unwrap();
        std::os::unix::fs::symlink("/etc", root.join("etc")).unwrap();
        let names = |follow| {
            let mut files: Vec<String> = walk(&root, follow)
                .unwrap()
                .iter()
                .map(|p| p.strip_prefix(&root).unwrap().display().to_string())
                .collect();
            files.sort();
            files
        };
        assert_eq!(names(false), ["sub/a.json"]);
        // Followed: the link to a file inside counts, loops end, the
        // links leaving the tree are skipped.
        assert_eq!(names(true), ["b.json", "sub/a.json"]);
    }

    #[test]
    fn corrupt_zip_is_an_archive_error() {
        let err = unpack("bad.zip", b"PK\x03\x04garbage".to_vec(), &mut |_| {}).unwrap_err();
        assert!(matches!(err, FeedError::Archive { .. }), "{err}");
    }
}
