//! OVAL definitions (SUSE/openSUSE, Red Hat, Ubuntu, Debian, Oracle Linux),
//! read as a stream and normalized into unified records.
//!
//! # How it reads
//! OVAL puts the tests, objects, states and variables a definition refers to
//! *after* the definitions, so the input is read twice (never held whole in
//! memory, never as a DOM): pass 1 ([`xml::collect_tables`]) keeps compact
//! tables of tests/objects/states/variables; pass 2
//! ([`xml::for_each_definition`]) walks the definitions one by one and stops
//! at `</definitions>`. Each definition's criteria tree is expanded into
//! alternative branches (conjunctions of criteria, [`normalize`]), each
//! criterion is resolved through the tables into a fact (platform, package
//! below a fixed version, package installed, module stream enabled, ...),
//! and branches that name an affected package become `affected` entries.
//! Memory is bounded by the tables plus one definition.
//!
//! # Records
//! - **id**: per-CVE (`vulnerability`) definitions get the CVE id (aliases
//!   empty); patch definitions get the vendor advisory id (`RHSA-2024:1234`,
//!   `ELSA-2021-9151`, `DSA-5179-1`, `USN-6561-1`, `SUSE-SU-2024:1234-1`)
//!   with the CVEs as aliases. A SUSE patch definition without a SUSE-SU id
//!   (GA-media definitions of SLE 16) uses the OVAL definition id. Several
//!   definitions of one CVE (Debian writes one per source package) that
//!   follow each other are merged into one record.
//! - **severity**: the vendor rating goes to `vendor_severity` (lower case);
//!   CVSS vectors go to `severity` when the record is about one CVE (a patch
//!   fixing 30 CVEs gets no record-level CVSS vector).
//! - **affected**: one entry per (ecosystem, package, range); a fixed version
//!   is `introduced 0, fixed V`; a vendor "affected, no fix" is
//!   `introduced 0` alone. "Not affected" statements (SUSE `version equals
//!   0`, Debian `less than 0`, Red Hat "unaffected" definitions where a
//!   package must be both installed and not installed) never produce an
//!   entry.
//! - **package identity**: a package inside a Red Hat module stream is named
//!   `<module>:<stream>/<package>` (e.g. `maven:3.5/maven`) with
//!   `ecosystem_specific.module = "maven:3.5"`, so a query for the plain
//!   package never matches a module advisory. An Oracle ksplice user-space
//!   package is named `ksplice/<package>` for the same reason. Ubuntu entries
//!   are named by source package with the binary packages in
//!   `ecosystem_specific.binaries`.
//! - **provenance**: every record is stamped with the OVAL definition id.

pub mod debian;
pub mod normalize;
pub mod oracle;
pub mod redhat;
pub mod suse;
pub mod ubuntu;
pub mod xml;

use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;
use std::str::FromStr;

use super::{ParseItem, SourceContext};

/// The OVAL flavours advisord understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dialect {
    /// SUSE / openSUSE (`oval:org.opensuse.security:`).
    Suse,
    /// Red Hat OVAL v1 and v2 (`oval:com.redhat.*:`).
    RedHat,
    /// Ubuntu, classic dpkg and OCI manifest forms (`oval:com.ubuntu.*:`).
    Ubuntu,
    /// Debian (`oval:org.debian:`).
    Debian,
    /// Oracle Linux ELSA (`oval:com.oracle.elsa:`).
    Oracle,
}

impl Dialect {
    /// The name used on the command line (`--dialect`).
    pub fn name(self) -> &'static str {
        match self {
            Dialect::Suse => "suse",
            Dialect::RedHat => "redhat",
            Dialect::Ubuntu => "ubuntu",
            Dialect::Debian => "debian",
            Dialect::Oracle => "oracle",
        }
    }

    /// Detects the dialect from the generator name and the first definition id.
    pub fn detect(generator: &str, first_definition: Option<&str>) -> Option<Dialect> {
        if let Some(id) = first_definition {
            let ns = id.strip_prefix("oval:").unwrap_or(id);
            if ns.starts_with("org.opensuse") || ns.starts_with("com.suse") {
                return Some(Dialect::Suse);
            }
            if ns.starts_with("com.redhat") {
                return Some(Dialect::RedHat);
            }
            if ns.starts_with("com.ubuntu") {
                return Some(Dialect::Ubuntu);
            }
            if ns.starts_with("org.debian") {
                return Some(Dialect::Debian);
            }
            if ns.starts_with("com.oracle") {
                return Some(Dialect::Oracle);
            }
        }
        let g = generator.to_ascii_lowercase();
        if g.contains("marcus") || g.contains("suse") {
            Some(Dialect::Suse)
        } else if g.contains("red hat") {
            Some(Dialect::RedHat)
        } else if g.contains("canonical") {
            Some(Dialect::Ubuntu)
        } else if g == "debian" {
            Some(Dialect::Debian)
        } else if g.contains("oracle") {
            Some(Dialect::Oracle)
        } else {
            None
        }
    }
}

impl fmt::Display for Dialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Dialect {
    type Err = OvalError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "suse" | "opensuse" => Ok(Dialect::Suse),
            "redhat" | "rhel" | "red-hat" => Ok(Dialect::RedHat),
            "ubuntu" => Ok(Dialect::Ubuntu),
            "debian" => Ok(Dialect::Debian),
            "oracle" | "ol" => Ok(Dialect::Oracle),
            other => Err(OvalError::UnknownDialect(other.to_string())),
        }
    }
}

/// Why a whole OVAL file could not be read. Per-definition problems are
/// [`super::RecordError`]s instead and never stop the file.
#[derive(Debug, thiserror::Error)]
pub enum OvalError {
    /// The file could not be opened or read.
    #[error("cannot read OVAL input: {0}")]
    Io(#[from] io::Error),
    /// The XML is malformed.
    #[error("malformed OVAL XML at byte {position}: {message}")]
    Xml {
        /// Byte offset in the decompressed input.
        position: u64,
        /// The XML reader's message.
        message: String,
    },
    /// The input ends inside an element.
    #[error("truncated OVAL XML: input ends inside an element at byte {position}")]
    Truncated {
        /// Byte offset in the decompressed input.
        position: u64,
    },
    /// The decompressed input exceeds the configured cap.
    #[error("decompressed OVAL input too large: {0}")]
    TooLarge(String),
    /// The root element is not `oval_definitions`.
    #[error("not an OVAL definitions document (root {0:?})")]
    NotOval(String),
    /// No dialect could be detected and none was forced.
    #[error("cannot tell the OVAL dialect (generator {0:?}); pass one explicitly")]
    UnknownDialect(String),
}

/// Options of an OVAL parse.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Force a dialect instead of detecting it.
    pub dialect: Option<Dialect>,
    /// Maximum decompressed size in bytes (default 8 GiB).
    pub max_decompressed: u64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            dialect: None,
            max_decompressed: 8 << 30,
        }
    }
}

/// Marker in the I/O error raised when the decompressed size cap is hit.
pub(crate) const LIMIT_MARKER: &str = "decompressed size cap";

struct Capped<R> {
    inner: R,
    left: u64,
    limit: u64,
}

impl<R: Read> Read for Capped<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n as u64 > self.left {
            return Err(io::Error::other(format!(
                "{LIMIT_MARKER} of {} bytes exceeded",
                self.limit
            )));
        }
        self.left -= n as u64;
        Ok(n)
    }
}

/// Wraps `raw` in the decompressor its magic bytes call for (gzip, bzip2,
/// xz, or none), capped at `limit` decompressed bytes, buffered.
pub fn decompress<'a>(raw: Box<dyn Read + 'a>, limit: u64) -> io::Result<Box<dyn BufRead + 'a>> {
    let mut raw = BufReader::with_capacity(64 * 1024, raw);
    let head = raw.fill_buf()?;
    let inner: Box<dyn Read + 'a> = if head.starts_with(&[0x1f, 0x8b]) {
        Box::new(flate2::read::MultiGzDecoder::new(raw))
    } else if head.starts_with(b"BZh") {
        Box::new(bzip2::read::MultiBzDecoder::new(raw))
    } else if head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0x00]) {
        Box::new(liblzma::read::XzDecoder::new_multi_decoder(raw))
    } else {
        Box::new(raw)
    };
    Ok(Box::new(BufReader::with_capacity(
        64 * 1024,
        Capped {
            inner,
            left: limit,
            limit,
        },
    )))
}

/// Parses the OVAL file at `path` (plain, gzip, bzip2 or xz), emitting one
/// item per record or unreadable definition; returns the dialect used.
pub fn parse_path(
    path: &Path,
    ctx: &SourceContext,
    emit: &mut dyn FnMut(ParseItem),
) -> Result<Dialect, OvalError> {
    parse_path_with(path, &Options::default(), ctx, emit)
}

/// [`parse_path`] with options.
pub fn parse_path_with(
    path: &Path,
    options: &Options,
    ctx: &SourceContext,
    emit: &mut dyn FnMut(ParseItem),
) -> Result<Dialect, OvalError> {
    parse_source(
        &mut || Ok(Box::new(File::open(path)?) as Box<dyn Read>),
        options,
        ctx,
        emit,
    )
}

/// Parses OVAL held in memory (plain or compressed).
pub fn parse_bytes(
    bytes: &[u8],
    ctx: &SourceContext,
    emit: &mut dyn FnMut(ParseItem),
) -> Result<Dialect, OvalError> {
    parse_bytes_with(bytes, &Options::default(), ctx, emit)
}

/// [`parse_bytes`] with options.
pub fn parse_bytes_with(
    bytes: &[u8],
    options: &Options,
    ctx: &SourceContext,
    emit: &mut dyn FnMut(ParseItem),
) -> Result<Dialect, OvalError> {
    parse_source(
        &mut || Ok(Box::new(bytes) as Box<dyn Read + '_>),
        options,
        ctx,
        emit,
    )
}

/// Parses from a source that can be opened twice (one open per pass).
/// Nothing is emitted unless pass 1 read the whole input without error, so
/// a truncated or malformed file fails before any record is produced.
pub fn parse_source<'a>(
    open: &mut dyn FnMut() -> io::Result<Box<dyn Read + 'a>>,
    options: &Options,
    ctx: &SourceContext,
    emit: &mut dyn FnMut(ParseItem),
) -> Result<Dialect, OvalError> {
    let tables = xml::collect_tables(decompress(open()?, options.max_decompressed)?)?;
    let dialect = match options.dialect {
        Some(d) => d,
        None => Dialect::detect(&tables.generator, tables.first_definition.as_deref())
            .ok_or_else(|| OvalError::UnknownDialect(tables.generator.clone()))?,
    };
    let mut coalesce = normalize::Coalescer::new(ctx);
    xml::for_each_definition(decompress(open()?, options.max_decompressed)?, &mut |def| {
        for item in normalize::definition(dialect, &def, &tables, ctx) {
            coalesce.push(item, emit);
        }
    })?;
    coalesce.finish(emit);
    Ok(dialect)
}
