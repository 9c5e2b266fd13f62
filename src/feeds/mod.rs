//! Getting upstream bytes: local files, directory trees, archives
//! (zip, tar, tar.gz) and compressed files (gzip, bzip2, xz), and HTTP.
//!
//! Containers and compression are detected from content (magic bytes), not
//! from file names, so a mirrored `all.zip` saved under any name still works.

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::formats::sha256_digest;

pub mod catalog;
pub mod check;
pub mod http;

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

/// Default maximum size of one decompressed file or archive member (guards
/// against decompression bombs); the `*_capped` functions take another.
pub const MAX_FILE_BYTES: u64 = 2 << 30;

/// Calls `visit` for every file under `path`: a file, a directory tree (files
/// in sorted order, hidden entries skipped) or an archive's members, with
/// compression undone.
pub fn for_each_file(path: &Path, visit: &mut dyn FnMut(SourceFile)) -> Result<(), FeedError> {
    for_each_file_capped(path, MAX_FILE_BYTES, visit)
}

/// [`for_each_file`] with `max` bytes allowed per decompressed file or
/// archive member.
pub fn for_each_file_capped(
    path: &Path,
    max: u64,
    visit: &mut dyn FnMut(SourceFile),
) -> Result<(), FeedError> {
    let meta = std::fs::metadata(path).map_err(|source| FeedError::Io {
        path: path.display().to_string(),
        source,
    })?;
    if meta.is_dir() {
        let mut files = Vec::new();
        walk(path, &mut files)?;
        files.sort();
        for file in files {
            read_file(&file, max, visit)?;
        }
        Ok(())
    } else {
        read_file(path, max, visit)
    }
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), FeedError> {
    let entries = std::fs::read_dir(dir).map_err(|source| FeedError::Io {
        path: dir.display().to_string(),
        source,
    })?;
    for entry in entries {
        let entry = entry.map_err(|source| FeedError::Io {
            path: dir.display().to_string(),
            source,
        })?;
        let path = entry.path();
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        if path.is_dir() {
            walk(&path, out)?;
        } else {
            out.push(path);
        }
    }
    Ok(())
}

fn read_file(path: &Path, max: u64, visit: &mut dyn FnMut(SourceFile)) -> Result<(), FeedError> {
    let location = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|source| FeedError::Io {
        path: location.clone(),
        source,
    })?;
    unpack_capped(&location, bytes, max, visit)
}

/// Undoes compression and opens archives in `bytes` read from `location`.
pub fn unpack(
    location: &str,
    bytes: Vec<u8>,
    visit: &mut dyn FnMut(SourceFile),
) -> Result<(), FeedError> {
    unpack_capped(location, bytes, MAX_FILE_BYTES, visit)
}

/// [`unpack`] with `max` bytes allowed per decompressed file or archive
/// member (a plain file is taken as it is: its size is the download's).
pub fn unpack_capped(
    location: &str,
    bytes: Vec<u8>,
    max: u64,
    visit: &mut dyn FnMut(SourceFile),
) -> Result<(), FeedError> {
    unpack_named(location, location, None, bytes, max, visit)
}

/// [`unpack_capped`] of bytes read from `location` whose syntax `name`
/// tells; `digest` is that of the outermost compressed bytes, if any.
fn unpack_named(
    location: &str,
    name: &str,
    digest: Option<String>,
    bytes: Vec<u8>,
    max: u64,
    visit: &mut dyn FnMut(SourceFile),
) -> Result<(), FeedError> {
    let (suffix, inner) = match Container::sniff(&bytes) {
        Container::Plain => {
            visit(SourceFile {
                location: location.to_string(),
                name: name.to_string(),
                digest: digest.unwrap_or_else(|| sha256_digest(&bytes)),
                bytes,
            });
            return Ok(());
        }
        Container::Zip => return unzip(location, &bytes, max, visit),
        Container::Tar => return untar(location, &bytes[..], max, visit),
        Container::Gzip => (
            ".gz",
            decompress(location, flate2::read::MultiGzDecoder::new(&bytes[..]), max)?,
        ),
        Container::Bzip2 => (
            ".bz2",
            decompress(location, bzip2::read::MultiBzDecoder::new(&bytes[..]), max)?,
        ),
        Container::Xz => (
            ".xz",
            decompress(
                location,
                liblzma::read::XzDecoder::new_multi_decoder(&bytes[..]),
                max,
            )?,
        ),
    };
    // A single compressed file: its name loses the compression suffix
    // (`x.json.gz` -> `x.json`) so its own extension still tells its
    // syntax; its digest is of the compressed bytes, as fetched. An archive
    // inside keeps its name and digests each member.
    if Container::sniff(&inner) == Container::Plain {
        let name = name.strip_suffix(suffix).unwrap_or(name);
        let digest = digest.unwrap_or_else(|| sha256_digest(&bytes));
        unpack_named(location, name, Some(digest), inner, max, visit)
    } else {
        unpack_named(location, name, digest, inner, max, visit)
    }
}

/// The error for data past the decompression cap.
fn too_large(location: &str, max: u64) -> FeedError {
    FeedError::TooLarge {
        path: location.to_string(),
        limit: max,
    }
}

fn decompress(location: &str, reader: impl Read, max: u64) -> Result<Vec<u8>, FeedError> {
    let mut out = Vec::new();
    reader
        .take(max.saturating_add(1))
        .read_to_end(&mut out)
        .map_err(|e| FeedError::Archive {
            path: location.to_string(),
            reason: format!("decompression failed: {e}"),
        })?;
    if out.len() as u64 > max {
        return Err(too_large(location, max));
    }
    Ok(out)
}

fn unzip(
    location: &str,
    bytes: &[u8],
    max: u64,
    visit: &mut dyn FnMut(SourceFile),
) -> Result<(), FeedError> {
    let archive_err = |reason: String| FeedError::Archive {
        path: location.to_string(),
        reason,
    };
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .map_err(|e| archive_err(e.to_string()))?;
    for index in 0..archive.len() {
        let mut member = archive
            .by_index(index)
            .map_err(|e| archive_err(format!("member {index}: {e}")))?;
        if !member.is_file() {
            continue;
        }
        let name = member.name().to_string();
        let member_location = format!("{location}!{name}");
        if member.size() > max {
            return Err(too_large(&member_location, max));
        }
        // The declared size is the header's word: read no more than the cap.
        let mut data = Vec::with_capacity(member.size() as usize);
        (&mut member)
            .take(max.saturating_add(1))
            .read_to_end(&mut data)
            .map_err(|e| archive_err(format!("member {name}: {e}")))?;
        if data.len() as u64 > max {
            return Err(too_large(&member_location, max));
        }
        visit(SourceFile {
            name: member_location.clone(),
            location: member_location,
            digest: sha256_digest(&data),
            bytes: data,
        });
    }
    Ok(())
}

fn untar(
    location: &str,
    reader: impl Read,
    max: u64,
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
        let mut data = Vec::new();
        (&mut entry)
            .take(max.saturating_add(1))
            .read_to_end(&mut data)
            .map_err(|e| archive_err(format!("member {name}: {e}")))?;
        // A member past the cap is refused, never handed on cut short.
        if data.len() as u64 > max {
            return Err(too_large(&format!("{location}!{name}"), max));
        }
        let member_location = format!("{location}!{name}");
        visit(SourceFile {
            name: member_location.clone(),
            location: member_location,
            digest: sha256_digest(&data),
            bytes: data,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

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

    #[test]
    fn corrupt_zip_is_an_archive_error() {
        let err = unpack("bad.zip", b"PK\x03\x04garbage".to_vec(), &mut |_| {}).unwrap_err();
        assert!(matches!(err, FeedError::Archive { .. }), "{err}");
    }
}
