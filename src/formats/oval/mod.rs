//! OVAL definitions (SUSE/openSUSE, Red Hat, Ubuntu, Debian, Oracle Linux,
//! AlmaLinux, Photon OS, Azure Linux / CBL-Mariner),
//! read as a stream and normalized into unified records.
//!
//! # How it reads
//! OVAL puts the tests, objects, states and variables a definition refers to
//! *after* the definitions, so the input is read twice (never held whole in
//! memory, never as a DOM): pass 1 ([`xml::collect_tables`]) keeps compact
//! tables of tests/objects/states/variables (skipping the definitions as raw
//! bytes); pass 2
//! ([`xml::for_each_definition`]) walks the definitions one by one and stops
//! at `</definitions>`. Each definition's criteria tree is expanded into
//! alternative branches (conjunctions of criteria, [`normalize`]), each
//! criterion is resolved through the tables into a fact (platform, package
//! below a fixed version, package installed, module stream enabled, ...),
//! and branches that name an affected package become `affected` entries.
//! Pass 2 reads on a second thread (starting while pass 1 runs) and hands
//! definitions to the calling thread, which normalizes and emits them.
//! Memory is bounded by the tables plus a bounded read-ahead of definitions.
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
//! - **provenance**: every record is stamped with the OVAL definition id
//!   (space-separated ids when several definitions were merged).
//! - **constraints that do not name a package** are dropped from branches:
//!   signing-key checks (per-release keys for Red Hat, Oracle, AlmaLinux,
//!   Photon), `uname`/architecture-independent checks, the Red Hat "must be
//!   installed" guard (`none satisfy`), applicability `extend_definition`s,
//!   and "kernel version equals V" guards of live patches. Architecture
//!   tests are kept only to tell per-architecture respins apart.
//!
//! # Errors
//! A definition that cannot be understood (unknown test type or operation,
//! dangling reference, negated version test, criteria expanding past
//! 200 000 branches) yields one [`super::RecordError`] naming the file and
//! the definition id; the others are emitted. A file that is not
//! well-formed (truncated, mismatched tags) fails in pass 1, before any
//! record is emitted; the decompressed size is capped
//! ([`Options::max_decompressed`]); DTD entities are never expanded.
//!
//! Dialects: SUSE, Red Hat, Ubuntu, Debian, Oracle, AlmaLinux, Photon and
//! Azure Linux / CBL-Mariner, detected from the first definition id or the
//! generator name. Azure Linux definitions do not name their release: it
//! comes from the dist tag of their EVRs (`.azl3`, `.cm2`) or else the file
//! name, and their range bounds (`less than or equal`, `greater than`) are
//! read by [`azure`] itself (see there).

pub mod alma;
pub mod azure;
pub mod criteria;
pub mod debian;
pub mod error;
pub mod identity;
pub mod normalize;
pub mod oracle;
pub mod photon;
pub mod record;
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
    /// AlmaLinux ALSA (`oval:org.almalinux.*:`).
    Alma,
    /// VMware Photon OS PHSA (`oval:com.vmware.phsa:`).
    Photon,
    /// Azure Linux / CBL-Mariner (`oval:com.microsoft.azurelinux:`,
    /// `oval:com.microsoft.cbl-mariner:`).
    Azure,
}

impl Dialect {
    /// Every dialect, in the order of [`Dialect::name`]s shown to users.
    pub const ALL: [Dialect; 8] = [
        Dialect::Suse,
        Dialect::RedHat,
        Dialect::Ubuntu,
        Dialect::Debian,
        Dialect::Oracle,
        Dialect::Alma,
        Dialect::Photon,
        Dialect::Azure,
    ];

    /// Parses a dialect name (as [`FromStr`]), with an error listing the
    /// names there are.
    pub fn parse_name(name: &str) -> Result<Dialect, UnknownDialectName> {
        name.parse()
            .map_err(|_| UnknownDialectName(name.to_string()))
    }

    /// The name used on the command line (`--dialect`).
    pub fn name(self) -> &'static str {
        match self {
            Dialect::Suse => "suse",
            Dialect::RedHat => "redhat",
            Dialect::Ubuntu => "ubuntu",
            Dialect::Debian => "debian",
            Dialect::Oracle => "oracle",
            Dialect::Alma => "alma",
            Dialect::Photon => "photon",
            Dialect::Azure => "azure",
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
            if ns.starts_with("org.almalinux") {
                return Some(Dialect::Alma);
            }
            if ns.starts_with("com.vmware") {
                return Some(Dialect::Photon);
            }
            if azure::is_azure(ns) {
                return Some(Dialect::Azure);
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
        } else if g.contains("almalinux") {
            Some(Dialect::Alma)
        } else if g.contains("photon") {
            Some(Dialect::Photon)
        } else if azure::is_azure(&g) {
            Some(Dialect::Azure)
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
            "alma" | "almalinux" => Ok(Dialect::Alma),
            "photon" => Ok(Dialect::Photon),
            "azure" | "azurelinux" | "azure-linux" | "mariner" | "cbl-mariner" => {
                Ok(Dialect::Azure)
            }
            other => Err(OvalError::UnknownDialect(other.to_string())),
        }
    }
}

/// A dialect name that is none of [`Dialect::ALL`]; the message lists the
/// names there are.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown OVAL dialect {0:?} (expected one of: {names})", names = dialect_names())]
pub struct UnknownDialectName(pub String);

fn dialect_names() -> String {
    let names: Vec<&str> = Dialect::ALL.iter().map(|d| d.name()).collect();
    names.join(", ")
}

/// Why a whole OVAL file could not be read. Per-definition problems are
/// [`super::RecordError`]s instead and never stop the file.
#[derive(Debug, thiserror::Error)]
pub enum OvalError {
    /// The file could not be opened or read.
    #[error("cannot read OVAL input: {0}")]
    Io(io::Error),
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
    /// Elements nest deeper than [`xml::MAX_DEPTH`] (real files nest about
    /// 15 deep); refused while reading, before any tree is built.
    #[error("OVAL elements nested deeper than {limit} at byte {position}")]
    TooDeep {
        /// Byte offset in the decompressed input.
        position: u64,
        /// The depth limit.
        limit: usize,
    },
    /// A text node or tag longer than [`MAX_MARKUP_FREE_RUN`]: no OVAL
    /// element holds that much, so the input is refused before the reader
    /// buffers it (10 GiB of zeros would otherwise be held whole).
    #[error("more than {0} bytes without markup: not OVAL")]
    TokenTooLong(u64),
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

impl From<io::Error> for OvalError {
    /// A limit hit inside the capped reader becomes its own variant; any
    /// other I/O error is [`OvalError::Io`].
    fn from(e: io::Error) -> Self {
        match InputLimit::of(&e) {
            Some(InputLimit::Decompressed(limit)) => {
                OvalError::TooLarge(InputLimit::Decompressed(limit).to_string())
            }
            Some(InputLimit::Token(limit)) => OvalError::TokenTooLong(limit),
            None => OvalError::Io(e),
        }
    }
}

/// The most bytes the reader takes between two `<` or `>`: a longer text
/// node or tag is refused (the XML reader buffers one whole token).
pub const MAX_MARKUP_FREE_RUN: u64 = 16 << 20;

/// A limit of [`decompress`]'s reader, carried inside the `io::Error` it
/// returns (through the XML reader) so it can be told from a read failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InputLimit {
    /// The decompressed size cap, in bytes.
    #[error("decompressed size cap of {0} bytes exceeded")]
    Decompressed(u64),
    /// [`MAX_MARKUP_FREE_RUN`].
    #[error("more than {0} bytes without markup")]
    Token(u64),
}

impl InputLimit {
    /// The limit an I/O error reports, if it is one.
    pub fn of(e: &io::Error) -> Option<InputLimit> {
        e.get_ref()?.downcast_ref::<InputLimit>().copied()
    }
}

struct Capped<R> {
    inner: R,
    left: u64,
    limit: u64,
    /// Bytes read since the last `<` or `>`.
    run: u64,
}

impl<R: Read> Read for Capped<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n as u64 > self.left {
            return Err(io::Error::other(InputLimit::Decompressed(self.limit)));
        }
        self.left -= n as u64;
        let chunk = &buf[..n];
        // The run ending at this chunk's first delimiter, then the one
        // starting after its last (a run inside one chunk is shorter than it).
        let ended = memchr::memchr2(b'<', b'>', chunk).map(|first| self.run + first as u64);
        self.run = match memchr::memrchr2(b'<', b'>', chunk) {
            Some(last) => (n - last - 1) as u64,
            None => self.run + n as u64,
        };
        if ended.unwrap_or(0).max(self.run) > MAX_MARKUP_FREE_RUN {
            return Err(io::Error::other(InputLimit::Token(MAX_MARKUP_FREE_RUN)));
        }
        Ok(n)
    }
}

/// Wraps `raw` in the decompressor its magic bytes call for (gzip, bzip2,
/// xz, or none), capped at `limit` decompressed bytes and at
/// [`MAX_MARKUP_FREE_RUN`] bytes between markup, buffered.
pub fn decompress<'a>(
    raw: Box<dyn Read + Send + 'a>,
    limit: u64,
) -> io::Result<Box<dyn BufRead + Send + 'a>> {
    let inner = crate::formats::stream::decompress(raw)?;
    Ok(Box::new(BufReader::with_capacity(
        64 * 1024,
        Capped {
            inner,
            left: limit,
            limit,
            run: 0,
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
        &mut || Ok(Box::new(File::open(path)?) as Box<dyn Read + Send>),
        options,
        ctx,
        emit,
    )
}

/// Joins records of one file that share an id as they arrive (Debian
/// writes one definition per CVE and source package, Ubuntu's pkg flavour
/// one per source package, and they need not be adjacent): the store keeps
/// one contribution per id and feed, so they must reach it as one record.
/// Memory stays at one record per distinct id. Order of first appearance
/// is kept.
#[derive(Debug, Default)]
pub struct SameIdMerger {
    index: std::collections::HashMap<String, usize>,
}

impl SameIdMerger {
    /// Appends `record` to `records`, or merges it into the earlier record
    /// of this file with the same id.
    pub fn push(
        &mut self,
        records: &mut Vec<crate::model::Advisory>,
        record: crate::model::Advisory,
    ) {
        match self.index.get(record.id.as_str()) {
            Some(&i) if i < records.len() => normalize::merge_records(&mut records[i], record),
            _ => {
                self.index.insert(record.id.to_string(), records.len());
                records.push(record);
            }
        }
    }
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
        &mut || Ok(Box::new(bytes) as Box<dyn Read + Send + '_>),
        options,
        ctx,
        emit,
    )
}

/// Definitions read ahead of the normalizer (bounded, so memory stays flat).
const READ_AHEAD: usize = 256;

/// Parses from a source that can be opened twice (one open per pass).
/// Nothing is emitted unless pass 1 read the whole input without error, so
/// a truncated or malformed file fails before any record is produced.
///
/// Pass 2 reads definitions on a second thread, starting while this one
/// still builds the pass-1 tables (up to [`READ_AHEAD`] definitions ahead),
/// then this thread normalizes them; `emit` is only called here.
pub fn parse_source<'a>(
    open: &mut dyn FnMut() -> io::Result<Box<dyn Read + Send + 'a>>,
    options: &Options,
    ctx: &SourceContext,
    emit: &mut dyn FnMut(ParseItem),
) -> Result<Dialect, OvalError> {
    let tables_input = decompress(open()?, options.max_decompressed)?;
    let definitions = decompress(open()?, options.max_decompressed)?;
    let mut dialect = options.dialect;
    let mut coalesce = normalize::Coalescer::new(ctx);
    let tables = std::thread::scope(|scope| {
        let (sender, receiver) = std::sync::mpsc::sync_channel(READ_AHEAD);
        // Normalized definitions go back to be freed by the thread that
        // allocated them (the system allocator frees fastest that way).
        let (spent, returned) = std::sync::mpsc::channel::<xml::Definition>();
        let reader = scope.spawn(move || {
            // A closed channel (the normalizer stopped) ends the reading.
            xml::for_each_definition(definitions, &mut |def| {
                while let Ok(old) = returned.try_recv() {
                    drop(old);
                }
                sender.send(def).is_ok()
            })
        });
        // On a pass-1 error the receiver is dropped here, which stops the reader.
        let tables = xml::collect_tables(tables_input)?;
        for def in receiver {
            // The dialect is known at the first definition, before anything is emitted.
            let d = match dialect {
                Some(d) => d,
                None => match Dialect::detect(&tables.generator, Some(&def.id)) {
                    Some(d) => {
                        dialect = Some(d);
                        d
                    }
                    None => break,
                },
            };
            for item in normalize::definition(d, &def, &tables, ctx) {
                coalesce.push(item, emit);
            }
            // A reader that has finished no longer takes them: drop here.
            let _ = spent.send(def);
        }
        drop(spent);
        reader
            .join()
            .unwrap_or_else(|_| Err(OvalError::Io(io::Error::other("definition reader failed"))))?;
        Ok::<_, OvalError>(tables)
    })?;
    let dialect = match dialect.or_else(|| Dialect::detect(&tables.generator, None)) {
        Some(d) => d,
        None => return Err(OvalError::UnknownDialect(tables.generator.clone())),
    };
    coalesce.finish(emit);
    Ok(dialect)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Advisory, Event};

    fn ctx() -> SourceContext {
        SourceContext::for_bytes(
            "oval-unit",
            "unit.xml",
            "2024-01-01T00:00:00Z".parse().expect("timestamp"),
            b"",
        )
    }

    fn run(xml: &str) -> (Result<Dialect, OvalError>, Vec<Advisory>, Vec<RecordError>) {
        let mut ok = Vec::new();
        let mut errs = Vec::new();
        let r = parse_bytes(xml.as_bytes(), &ctx(), &mut |i| match i {
            Ok(a) => ok.push(a),
            Err(e) => errs.push(e),
        });
        (r, ok, errs)
    }

    use super::super::RecordError;

    /// Written from the OVAL 5 schema and the shape of Red Hat v2 files:
    /// a module-stream patch, an "unaffected" CVE definition, a guard, and
    /// a definition with a dangling test reference.
    const REDHAT: &str = r#"<?xml version="1.0"?>
<oval_definitions xmlns="http://oval.mitre.org/XMLSchema/oval-definitions-5"
  xmlns:red-def="http://oval.mitre.org/XMLSchema/oval-definitions-5#linux"
  xmlns:ind-def="http://oval.mitre.org/XMLSchema/oval-definitions-5#independent">
 <generator><product_name>Red Hat OVAL Patch Definition Merger</product_name></generator>
 <definitions>
  <definition class="patch" id="oval:com.redhat.rhsa:def:20240001" version="1">
   <metadata><title>RHSA-2024:0001: maven:3.5 security update (Moderate)</title>
    <reference ref_id="RHSA-2024:0001" ref_url="https://access.example/errata/RHSA-2024:0001" source="RHSA"/>
    <reference ref_id="CVE-2024-0001" ref_url="https://access.example/cve/CVE-2024-0001" source="CVE"/>
    <advisory><severity>Moderate</severity><issued date="2024-01-02"/><updated date="2024-01-03"/>
     <cve cvss3="5.3/CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:L/I:N/A:N" href="https://access.example/cve/CVE-2024-0001">CVE-2024-0001</cve>
    </advisory></metadata>
   <criteria operator="OR">
    <criterion comment="Red Hat Enterprise Linux must be installed" test_ref="tst:guard"/>
    <criteria operator="AND">
     <criterion comment="Red Hat Enterprise Linux 8 is installed" test_ref="tst:rhel8"/>
     <criterion comment="Module maven:3.5 is enabled" test_ref="tst:module"/>
     <criteria operator="OR">
      <criteria operator="AND">
       <criterion comment="maven is earlier than 1:3.5.4-5.module+el8" test_ref="tst:maven-lt"/>
       <criterion comment="maven is signed with Red Hat redhatrelease2 key" test_ref="tst:maven-sig"/>
      </criteria>
      <criteria operator="AND">
       <criterion comment="x86_64 only" test_ref="tst:arch-x86"/>
       <criterion comment="maven-lib is earlier than 1:3.5.4-5.module+el8" test_ref="tst:lib-x86"/>
      </criteria>
      <criteria operator="AND">
       <criterion comment="aarch64 only" test_ref="tst:arch-arm"/>
       <criterion comment="maven-lib is earlier than 1:3.5.4-6.module+el8" test_ref="tst:lib-arm"/>
      </criteria>
     </criteria>
    </criteria>
   </criteria>
  </definition>
  <definition class="vulnerability" id="oval:com.redhat.unaffected:def:20240002" version="1">
   <metadata><title>Unaffected components for: CVE-2024-0002</title>
    <reference ref_id="CVE-2024-0002" ref_url="https://access.example/cve/CVE-2024-0002" source="CVE"/></metadata>
   <criteria operator="OR">
    <criterion comment="Red Hat Enterprise Linux must be installed" test_ref="tst:guard"/>
    <criteria operator="AND">
     <criterion comment="Red Hat Enterprise Linux 8 is installed" test_ref="tst:rhel8"/>
     <criterion comment="zlib is installed" test_ref="tst:zlib"/>
     <criterion comment="zlib is not installed" test_ref="tst:zlib-absent"/>
    </criteria>
   </criteria>
  </definition>
  <definition class="vulnerability" id="oval:com.redhat.cve:def:20240003" version="1">
   <metadata><title>CVE-2024-0003 tar: something (low)</title>
    <reference ref_id="CVE-2024-0003" ref_url="https://access.example/cve/CVE-2024-0003" source="CVE"/>
    <advisory><severity>Low</severity><affected><resolution state="Will not fix"><component>tar</component></resolution></affected></advisory></metadata>
   <criteria operator="AND">
    <criterion comment="Red Hat Enterprise Linux 8 is installed" test_ref="tst:rhel8"/>
    <criterion comment="tar is installed" test_ref="tst:tar"/>
   </criteria>
  </definition>
  <definition class="vulnerability" id="oval:com.redhat.cve:def:20240004" version="1">
   <metadata><title>CVE-2024-0004 broken</title></metadata>
   <criteria operator="AND">
    <criterion comment="Red Hat Enterprise Linux 8 is installed" test_ref="tst:rhel8"/>
    <criterion comment="ghost is earlier than 1" test_ref="tst:missing"/>
   </criteria>
  </definition>
 </definitions>
 <tests>
  <red-def:rpmverifyfile_test check="none satisfy" comment="Red Hat Enterprise Linux must be installed" id="tst:guard" version="1">
   <red-def:object object_ref="obj:release"/><red-def:state state_ref="ste:release-any"/></red-def:rpmverifyfile_test>
  <red-def:rpmverifyfile_test check="at least one" comment="Red Hat Enterprise Linux 8 is installed" id="tst:rhel8" version="1">
   <red-def:object object_ref="obj:release"/><red-def:state state_ref="ste:release8"/></red-def:rpmverifyfile_test>
  <ind-def:textfilecontent54_test check="all" comment="Module maven:3.5 is enabled" id="tst:module" version="1">
   <ind-def:object object_ref="obj:module"/><ind-def:state state_ref="ste:module"/></ind-def:textfilecontent54_test>
  <red-def:rpminfo_test check="at least one" comment="maven is earlier than 1:3.5.4-5.module+el8" id="tst:maven-lt" version="1">
   <red-def:object object_ref="obj:maven"/><red-def:state state_ref="ste:lt5"/></red-def:rpminfo_test>
  <red-def:rpminfo_test check="at least one" comment="maven is signed" id="tst:maven-sig" version="1">
   <red-def:object object_ref="obj:maven"/><red-def:state state_ref="ste:key"/></red-def:rpminfo_test>
  <red-def:rpminfo_test check="at least one" comment="arch x86_64" id="tst:arch-x86" version="1">
   <red-def:object object_ref="obj:release-pkg"/><red-def:state state_ref="ste:x86"/></red-def:rpminfo_test>
  <red-def:rpminfo_test check="at least one" comment="arch aarch64" id="tst:arch-arm" version="1">
   <red-def:object object_ref="obj:release-pkg"/><red-def:state state_ref="ste:arm"/></red-def:rpminfo_test>
  <red-def:rpminfo_test check="at least one" comment="maven-lib lt 5" id="tst:lib-x86" version="1">
   <red-def:object object_ref="obj:lib"/><red-def:state state_ref="ste:lt5"/></red-def:rpminfo_test>
  <red-def:rpminfo_test check="at least one" comment="maven-lib lt 6" id="tst:lib-arm" version="1">
   <red-def:object object_ref="obj:lib"/><red-def:state state_ref="ste:lt6"/></red-def:rpminfo_test>
  <red-def:rpminfo_test check="at least one" comment="zlib is installed" id="tst:zlib" version="1">
   <red-def:object object_ref="obj:zlib"/></red-def:rpminfo_test>
  <red-def:rpminfo_test check="at least one" check_existence="none_exist" comment="zlib is not installed" id="tst:zlib-absent" version="1">
   <red-def:object object_ref="obj:zlib"/></red-def:rpminfo_test>
  <red-def:rpminfo_test check="at least one" comment="tar is installed" id="tst:tar" version="1">
   <red-def:object object_ref="obj:tar"/></red-def:rpminfo_test>
 </tests>
 <objects>
  <red-def:rpmverifyfile_object id="obj:release" version="1"><red-def:filepath>/etc/redhat-release</red-def:filepath></red-def:rpmverifyfile_object>
  <ind-def:textfilecontent54_object id="obj:module" version="1">
   <ind-def:filepath datatype="string">/etc/dnf/modules.d/maven.module</ind-def:filepath>
   <ind-def:pattern operation="pattern match">\[maven\][\w\W]*</ind-def:pattern></ind-def:textfilecontent54_object>
  <red-def:rpminfo_object id="obj:maven" version="1"><red-def:name>maven</red-def:name></red-def:rpminfo_object>
  <red-def:rpminfo_object id="obj:lib" version="1"><red-def:name>maven-lib</red-def:name></red-def:rpminfo_object>
  <red-def:rpminfo_object id="obj:release-pkg" version="1"><red-def:name>redhat-release</red-def:name></red-def:rpminfo_object>
  <red-def:rpminfo_object id="obj:zlib" version="1"><red-def:name>zlib</red-def:name></red-def:rpminfo_object>
  <red-def:rpminfo_object id="obj:tar" version="1"><red-def:name>tar</red-def:name></red-def:rpminfo_object>
 </objects>
 <states>
  <red-def:rpmverifyfile_state id="ste:release-any" version="1"><red-def:name operation="pattern match">^redhat-release</red-def:name></red-def:rpmverifyfile_state>
  <red-def:rpmverifyfile_state id="ste:release8" version="1"><red-def:name operation="pattern match">^redhat-release</red-def:name><red-def:version operation="pattern match">^8[^\d]</red-def:version></red-def:rpmverifyfile_state>
  <ind-def:textfilecontent54_state id="ste:module" version="1"><ind-def:text operation="pattern match">\nstream\s*=\s*3\.5\b[\w\W]*\nstate\s*=\s*(enabled|1|true)</ind-def:text></ind-def:textfilecontent54_state>
  <red-def:rpminfo_state id="ste:lt5" version="1"><red-def:evr datatype="evr_string" operation="less than">1:3.5.4-5.module+el8</red-def:evr></red-def:rpminfo_state>
  <red-def:rpminfo_state id="ste:lt6" version="1"><red-def:evr datatype="evr_string" operation="less than">1:3.5.4-6.module+el8</red-def:evr></red-def:rpminfo_state>
  <red-def:rpminfo_state id="ste:key" version="1"><red-def:signature_keyid operation="equals">199e2f91fd431d51</red-def:signature_keyid></red-def:rpminfo_state>
  <red-def:rpminfo_state id="ste:x86" version="1"><red-def:arch operation="pattern match">x86_64</red-def:arch></red-def:rpminfo_state>
  <red-def:rpminfo_state id="ste:arm" version="1"><red-def:arch operation="pattern match">aarch64</red-def:arch></red-def:rpminfo_state>
 </states>
</oval_definitions>
"#;

    fn entry<'a>(adv: &'a Advisory, name: &str) -> Vec<&'a crate::model::Affected> {
        adv.affected
            .iter()
            .filter(|a| a.package.as_ref().is_some_and(|p| p.name == name))
            .collect()
    }

    #[test]
    fn redhat_modules_unaffected_unfixed_and_dangling() {
        let (dialect, records, errors) = run(REDHAT);
        assert_eq!(dialect.expect("parse"), Dialect::RedHat);
        let ids: Vec<&str> = records.iter().map(|r| r.id.as_str()).collect();
        // The unaffected definition yields nothing; the broken one an error.
        assert_eq!(ids, ["RHSA-2024:0001", "CVE-2024-0003"]);
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].record, "oval:com.redhat.cve:def:20240004");
        assert!(
            errors[0].reason.contains("tst:missing"),
            "{}",
            errors[0].reason
        );

        let rhsa = &records[0];
        assert_eq!(rhsa.aliases[0].as_str(), "CVE-2024-0001");
        assert_eq!(
            rhsa.database_specific
                .advisord
                .as_ref()
                .and_then(|m| m.vendor_severity.clone()),
            Some("moderate".to_string())
        );
        assert_eq!(
            rhsa.severity[0].score,
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:L/I:N/A:N"
        );
        // Module packages carry the stream in their name; the plain name never appears.
        assert!(entry(rhsa, "maven").is_empty());
        let maven = entry(rhsa, "maven:3.5/maven");
        assert_eq!(maven.len(), 1);
        let pkg = maven[0].package.as_ref().expect("package");
        assert_eq!(pkg.ecosystem.as_str(), "Red Hat:enterprise_linux:8");
        assert_eq!(
            maven[0].ranges[0].events,
            vec![
                Event::Introduced("0".into()),
                Event::Fixed("1:3.5.4-5.module+el8".into())
            ]
        );
        // Per-arch respins stay apart, each with its architectures.
        let lib = entry(rhsa, "maven:3.5/maven-lib");
        assert_eq!(lib.len(), 2);
        let arches: Vec<String> = lib
            .iter()
            .map(|a| a.ecosystem_specific.as_ref().expect("specific")["arches"].to_string())
            .collect();
        assert_eq!(arches, ["[\"x86_64\"]", "[\"aarch64\"]"]);

        let tar = &records[1];
        let e = entry(tar, "tar");
        assert_eq!(e[0].ranges[0].events, vec![Event::Introduced("0".into())]);
        assert_eq!(
            e[0].ecosystem_specific.as_ref().expect("specific")["resolution"],
            "Will not fix"
        );
        assert_eq!(
            tar.sources()[0].upstream_id,
            "oval:com.redhat.cve:def:20240003"
        );
    }

    #[test]
    fn truncated_input_fails_before_emitting() {
        let cut = &REDHAT[..REDHAT.len() / 2];
        let (r, records, errors) = run(cut);
        assert!(
            matches!(
                r,
                Err(OvalError::Truncated { .. }) | Err(OvalError::Xml { .. })
            ),
            "{r:?}"
        );
        assert!(records.is_empty() && errors.is_empty());
    }

    #[test]
    fn size_cap_is_enforced() {
        let options = Options {
            dialect: None,
            max_decompressed: 1000,
        };
        let r = parse_bytes_with(REDHAT.as_bytes(), &options, &ctx(), &mut |_| {});
        assert!(matches!(r, Err(OvalError::TooLarge(_))), "{r:?}");
    }

    /// Issue 13: criteria nested 50,000 deep overflowed the stack (the tree
    /// was built, then walked and dropped recursively). Refused while
    /// reading, in pass 2 (definitions) and pass 1 (tables) alike.
    #[test]
    fn criteria_nested_50000_deep_are_refused_while_reading() {
        let deep = format!(
            "{}<criterion test_ref=\"tst:rhel8\"/>{}",
            "<criteria operator=\"AND\">".repeat(50_000),
            "</criteria>".repeat(50_000)
        );
        let start = REDHAT.find("<criteria operator=\"OR\">").expect("criteria");
        let xml = format!("{}{deep}</definition>{}", &REDHAT[..start], {
            let rest = &REDHAT[start..];
            &rest[rest.find("</definition>").expect("end") + "</definition>".len()..]
        });
        let (r, records, errors) = run(&xml);
        assert!(
            matches!(
                r,
                Err(OvalError::TooDeep {
                    limit: xml::MAX_DEPTH,
                    ..
                })
            ),
            "{r:?}"
        );
        assert!(records.is_empty() && errors.is_empty());
        // The same nesting among the tests (read by pass 1).
        let deep_tests = format!("<tests>{}{}", "<x>".repeat(50_000), "</x>".repeat(50_000));
        let (r, records, _) = run(&REDHAT.replacen("<tests>", &deep_tests, 1));
        assert!(matches!(r, Err(OvalError::TooDeep { .. })), "{r:?}");
        assert!(records.is_empty());
    }

    /// Issue 13: gzip'd zeros were buffered whole as one text node (16.7 GB
    /// peak for 10 GiB); the reader now stops after MAX_MARKUP_FREE_RUN bytes.
    #[test]
    fn a_run_without_markup_is_refused_before_it_is_buffered() {
        use std::io::Write;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        let zeros = vec![0u8; 1 << 20];
        for _ in 0..64 {
            gz.write_all(&zeros).expect("gzip");
        }
        let gz = gz.finish().expect("gzip");
        let mut emitted = 0;
        let r = parse_bytes(&gz, &ctx(), &mut |_| emitted += 1);
        assert!(
            matches!(r, Err(OvalError::TokenTooLong(MAX_MARKUP_FREE_RUN))),
            "{r:?}"
        );
        assert_eq!(emitted, 0);
        // A long text node inside an element counts too.
        let long = REDHAT.replacen(
            "<title>",
            &format!("<title>{}", "a".repeat(MAX_MARKUP_FREE_RUN as usize + 1)),
            1,
        );
        let (r, _, _) = run(&long);
        assert!(matches!(r, Err(OvalError::TokenTooLong(_))), "{r:?}");
    }

    #[test]
    fn external_entities_are_not_expanded() {
        let xml = REDHAT.replace(
            "<title>CVE-2024-0003 tar: something (low)</title>",
            "<title>CVE-2024-0003 &xxe; tar</title>",
        );
        let xml = xml.replacen(
            "<oval_definitions",
            "<!DOCTYPE oval_definitions [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>\n<oval_definitions",
            1,
        );
        let (r, records, _) = run(&xml);
        assert!(r.is_ok(), "{r:?}");
        let tar = records
            .iter()
            .find(|r| r.id.as_str() == "CVE-2024-0003")
            .expect("tar");
        assert_eq!(tar.summary.as_deref(), Some("CVE-2024-0003 &xxe; tar"));
    }

    #[test]
    fn dialect_names_round_trip() {
        for d in [
            Dialect::Suse,
            Dialect::RedHat,
            Dialect::Ubuntu,
            Dialect::Debian,
            Dialect::Oracle,
            Dialect::Alma,
            Dialect::Photon,
            Dialect::Azure,
        ] {
            assert_eq!(d.name().parse::<Dialect>().expect("dialect"), d);
        }
        assert_eq!("mariner".parse::<Dialect>().expect("alias"), Dialect::Azure);
        assert!("windows".parse::<Dialect>().is_err());
    }
}
