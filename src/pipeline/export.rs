//! The store as an OSV.dev-style bucket tree, and back.
//!
//! `advisord export --osv DIR` writes every record (removed ones excepted)
//! in osv.dev's layout: `DIR/<ECOSYSTEM>/<ID>.json` and
//! `DIR/<ECOSYSTEM>/all.zip` per base ecosystem (`Debian`, `PyPI`, ...), plus
//! `DIR/ecosystems.txt`; that is what osv-scanner's offline mode reads. A
//! record affecting several ecosystems is in each of them; one affecting
//! none is in `DIR/[EMPTY]/`. The stored JSON is written unchanged.
//!
//! `advisord import DIR` loads such a tree (ours or osv.dev's): from each
//! ecosystem directory its `all.zip` if present, else its `*.json` files.
//! A record that carries advisord provenance (one of our exports) is stored
//! exactly as it is; any other is read with the OSV parser like `ingest`.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::feeds::{self, FeedError};
use crate::formats;
use crate::model::{Advisory, Timestamp};
use crate::store::{BatchOutcome, Store, StoreError};

/// The directory of records that affect no package.
pub const NO_ECOSYSTEM_DIR: &str = "[EMPTY]";

/// Why an export or import failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// A zip could not be written.
    #[error("{path}: {reason}")]
    Zip {
        /// The archive.
        path: String,
        /// What failed.
        reason: String,
    },
    /// An input could not be read.
    #[error(transparent)]
    Feed(#[from] FeedError),
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> ExportError + '_ {
    move |source| ExportError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// What an export wrote.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ExportReport {
    /// Records exported.
    pub records: u64,
    /// Per ecosystem directory, records in it.
    pub ecosystems: BTreeMap<String, u64>,
}

/// A directory name for a base ecosystem (no path separators, never `..`).
fn dir_name(base: &str) -> String {
    let name: String = base
        .chars()
        .map(|c| {
            if matches!(c, '/' | '\\' | '\0') {
                '_'
            } else {
                c
            }
        })
        .collect();
    if name.is_empty() || name == "." || name == ".." {
        format!("_{name}")
    } else {
        name
    }
}

/// Longest record file name written (file systems allow 255 bytes).
const MAX_FILE_NAME: usize = 240;

/// The file name of record `id`: `<ID>.json` when the id is a safe file
/// name as it is; else (a character replaced, or too long) a prefix of the
/// safe name plus a hash of the id, so two ids never share a name (`Q\1`
/// and `Q_1`) and the name is the same at every export.
fn record_file_name(id: &str) -> String {
    let safe = dir_name(id);
    if safe == id && id.len() + ".json".len() <= MAX_FILE_NAME {
        return format!("{id}.json");
    }
    let hash = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(id.as_bytes()));
    let mut cut = safe.len().min(MAX_FILE_NAME - 1 - 16 - ".json".len());
    while !safe.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}-{}.json", &safe[..cut], &hash[..16])
}

/// The part of a stored record the export needs.
#[derive(serde::Deserialize)]
struct Shape {
    #[serde(default)]
    affected: Vec<ShapeAffected>,
}

#[derive(serde::Deserialize)]
struct ShapeAffected {
    #[serde(default)]
    package: Option<ShapePackage>,
}

#[derive(serde::Deserialize)]
struct ShapePackage {
    ecosystem: String,
}

/// Writes every record of `store` into `dir` in osv.dev's bucket layout
/// (blocking). The tree is written into a temporary directory beside `dir`
/// and renamed into place at the end: a failed export leaves `dir` as it
/// was, never a partial tree.
pub fn export_osv(store: &Store, dir: &Path) -> Result<ExportReport, ExportError> {
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent).map_err(io_err(&parent))?;
    let name = dir
        .file_name()
        .map_or_else(|| "export".into(), |n| n.to_string_lossy().into_owned());
    let staging = parent.join(format!(".{name}.partial-{}", std::process::id()));
    let result = write_tree(store, &staging).and_then(|report| {
        replace_dir(&staging, dir)?;
        Ok(report)
    });
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&staging);
    }
    result
}

/// Puts the finished tree `staging` at `dir`, moving an older `dir` aside
/// first and removing it once the new one is in place.
fn replace_dir(staging: &Path, dir: &Path) -> Result<(), ExportError> {
    let old = staging.with_extension("old");
    let had_old = dir.exists();
    if had_old {
        std::fs::rename(dir, &old).map_err(io_err(dir))?;
    }
    if let Err(e) = std::fs::rename(staging, dir) {
        if had_old {
            let _ = std::fs::rename(&old, dir);
        }
        return Err(io_err(dir)(e));
    }
    if had_old {
        std::fs::remove_dir_all(&old).map_err(io_err(&old))?;
    }
    Ok(())
}

/// Writes the bucket tree into the new directory `dir`.
fn write_tree(store: &Store, dir: &Path) -> Result<ExportReport, ExportError> {
    std::fs::create_dir(dir).map_err(io_err(dir))?;
    let mut zips: BTreeMap<String, zip::ZipWriter<std::fs::File>> = BTreeMap::new();
    let mut report = ExportReport::default();
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    let mut failure: Option<ExportError> = None;
    store.for_each_record(&mut |id, json| {
        // Only the ecosystems are needed: a light decode, not the whole record.
        let shape: Shape = match serde_json::from_slice(json) {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(%id, error = %e, "record not exported: undecodable");
                return Ok(());
            }
        };
        let mut bases: BTreeSet<String> = shape
            .affected
            .iter()
            .filter_map(|a| a.package.as_ref())
            .map(|p| dir_name(p.ecosystem.split(':').next().unwrap_or_default()))
            .collect();
        if bases.is_empty() {
            bases.insert(NO_ECOSYSTEM_DIR.to_string());
        }
        let file_name = record_file_name(id);
        for base in bases {
            let result = (|| -> Result<(), ExportError> {
                let eco_dir = dir.join(&base);
                if !zips.contains_key(&base) {
                    std::fs::create_dir_all(&eco_dir).map_err(io_err(&eco_dir))?;
                    let zip_path = eco_dir.join("all.zip");
                    let file = std::fs::File::create(&zip_path).map_err(io_err(&zip_path))?;
                    zips.insert(base.clone(), zip::ZipWriter::new(file));
                }
                let path = eco_dir.join(&file_name);
                std::fs::write(&path, json).map_err(io_err(&path))?;
                if let Some(writer) = zips.get_mut(&base) {
                    let zip_err = |e: String| ExportError::Zip {
                        path: eco_dir.join("all.zip").display().to_string(),
                        reason: e,
                    };
                    writer
                        .start_file(file_name.as_str(), options)
                        .map_err(|e| zip_err(e.to_string()))?;
                    writer.write_all(json).map_err(|e| zip_err(e.to_string()))?;
                }
                *report.ecosystems.entry(base.clone()).or_default() += 1;
                Ok(())
            })();
            if let Err(e) = result {
                failure.get_or_insert(e);
            }
        }
        report.records += 1;
        Ok(())
    })?;
    if let Some(e) = failure {
        return Err(e);
    }
    for (base, writer) in zips {
        writer.finish().map_err(|e| ExportError::Zip {
            path: dir.join(&base).join("all.zip").display().to_string(),
            reason: e.to_string(),
        })?;
    }
    let listing: String = report
        .ecosystems
        .keys()
        .filter(|k| k.as_str() != NO_ECOSYSTEM_DIR)
        .map(|k| format!("{k}\n"))
        .collect();
    let path = dir.join("ecosystems.txt");
    std::fs::write(&path, listing).map_err(io_err(&path))?;
    Ok(report)
}

/// What an import did (also the answer of `POST /v1/import`).
#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
pub struct ImportReport {
    /// The feed the records were attributed to.
    pub feed: String,
    /// Distinct records read.
    pub records: u64,
    /// Records kept exactly as exported by advisord.
    pub verbatim: u64,
    /// Records that could not be read.
    pub errors: Vec<String>,
    /// What the store write did.
    pub outcome: BatchOutcome,
}

/// The record files of an osv.dev-style tree: per ecosystem directory its
/// `all.zip`, else its `*.json` files. Symbolic links are skipped unless
/// `follow_symlinks`, and then followed only inside the tree.
fn tree_sources(dir: &Path, follow_symlinks: bool) -> Result<Vec<PathBuf>, ExportError> {
    let tree = feeds::Tree::new(dir, follow_symlinks)?;
    let mut dirs: Vec<PathBuf> = tree
        .entries(dir)?
        .into_iter()
        .filter_map(|(p, kind)| matches!(kind, feeds::EntryKind::Dir(_)).then_some(p))
        .collect();
    dirs.sort();
    let mut out = Vec::new();
    for eco in dirs {
        let mut files: Vec<PathBuf> = tree
            .entries(&eco)?
            .into_iter()
            .filter_map(|(p, kind)| matches!(kind, feeds::EntryKind::File).then_some(p))
            .collect();
        if let Some(zip) = files
            .iter()
            .find(|p| p.file_name().is_some_and(|n| n == "all.zip"))
        {
            out.push(zip.clone());
            continue;
        }
        files.retain(|p| p.extension().is_some_and(|x| x == "json"));
        files.sort();
        out.extend(files);
    }
    Ok(out)
}

/// Reads an osv.dev-style tree into records (blocking); duplicates across
/// ecosystems collapse to one. Symbolic links are followed (inside the
/// tree only) if `follow_symlinks`.
pub fn read_tree(
    dir: &Path,
    feed: &str,
    follow_symlinks: bool,
) -> Result<(Vec<Advisory>, ImportReport), ExportError> {
    let mut report = ImportReport {
        feed: feed.to_string(),
        ..ImportReport::default()
    };
    let mut records: BTreeMap<String, Advisory> = BTreeMap::new();
    let fetched = Timestamp::now();
    for source in tree_sources(dir, follow_symlinks)? {
        let location = source.display().to_string();
        let bytes = std::fs::read(&source).map_err(io_err(&source))?;
        feeds::unpack(&location, bytes, &mut |file| {
            if formats::osv::Syntax::from_path(&file.name).is_none() {
                return;
            }
            // One of our exports: keep it as it is.
            if let Ok(record) = serde_json::from_slice::<Advisory>(&file.bytes) {
                let ours = record
                    .database_specific
                    .advisord
                    .as_ref()
                    .is_some_and(|m| !m.sources.is_empty());
                if ours {
                    report.verbatim += 1;
                    records.insert(record.id.to_string(), record);
                    return;
                }
            }
            let ctx = file.context(feed, fetched.clone());
            let syntax = formats::osv::Syntax::sniff(&file.bytes);
            formats::osv::parse(&file.bytes, syntax, &ctx, &mut |item| match item {
                Ok(record) => {
                    records.insert(record.id.to_string(), record);
                }
                Err(e) => report.errors.push(e.to_string()),
            });
        })?;
    }
    report.records = records.len() as u64;
    Ok((records.into_values().collect(), report))
}

/// Loads the tree at `dir` as feed `feed`, one snapshot batch (blocking):
/// records of an earlier import of the same feed that are gone are removed.
/// Symbolic links in the tree are skipped.
pub fn import_tree(store: &Store, dir: &Path, feed: &str) -> Result<ImportReport, ExportError> {
    import_tree_with(store, dir, feed, false)
}

/// [`import_tree`], following symbolic links that stay inside the tree if
/// `follow_symlinks`.
pub fn import_tree_with(
    store: &Store,
    dir: &Path,
    feed: &str,
    follow_symlinks: bool,
) -> Result<ImportReport, ExportError> {
    let (records, mut report) = read_tree(dir, feed, follow_symlinks)?;
    let had = store.feed_state(feed)?.map_or(0, |s| s.records);
    if records.is_empty() && had > 0 {
        return Err(ExportError::Io {
            path: dir.display().to_string(),
            source: std::io::Error::other(format!(
                "no readable record; refusing to remove the {had} records of feed {feed}"
            )),
        });
    }
    let rejected = report.errors.len() as u64;
    report.outcome = store.apply_snapshot(feed, records, |s| s.last_errors = rejected)?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directory_names_never_escape() {
        assert_eq!(dir_name("PyPI"), "PyPI");
        assert_eq!(dir_name("Rocky Linux"), "Rocky Linux");
        assert_eq!(dir_name("../x"), ".._x");
        assert_eq!(dir_name(".."), "_..");
    }

    /// Issue 13: ids `Q\1` and `Q_1` were written to one file, and an id
    /// of 251 to 256 bytes made a name the file system refuses.
    #[test]
    fn record_file_names_are_distinct_short_and_stable() {
        assert_eq!(
            record_file_name("GHSA-1234-5678-9abc"),
            "GHSA-1234-5678-9abc.json"
        );
        let a = record_file_name("Q\\1");
        let b = record_file_name("Q_1");
        assert_ne!(a, b);
        assert!(
            a.starts_with("Q_1-") && a.len() == "Q_1-".len() + 16 + 5,
            "{a}"
        );
        assert_eq!(a, record_file_name("Q\\1"));
        for len in 230..=256 {
            let id = "é".repeat(len / 2) + &"X".repeat(len % 2);
            let name = record_file_name(&id);
            assert!(name.len() <= MAX_FILE_NAME, "{len}: {}", name.len());
            assert_ne!(name, record_file_name(&format!("{id}Y")));
        }
    }
}
