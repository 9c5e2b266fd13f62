//! The offline mirror, for air-gapped sites.
//!
//! On a connected machine `advisord mirror pull DIR [FEED...]` downloads
//! each feed's raw upstream files into `DIR/<feed>/` (conditionally, using
//! the validators of the previous pull, and resuming interrupted downloads)
//! and describes them in `DIR/manifest.json`: per file the feed, URL,
//! relative path, sha256, size, ETag, Last-Modified and fetch time, and per
//! feed its format and whether it is a full snapshot. The directory is
//! carried across the air gap; there `advisord sync --from-mirror DIR`
//! verifies every sha256 first, then ingests with no network. Records name
//! the upstream URL as their source, so a mirrored store answers exactly as
//! one synced directly.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::feeds::catalog::FeedSpec;
use crate::feeds::http::{self, FetchOutcome, Fetcher, Validators};
use crate::feeds::naming::{cache_file_name, safe_name};
use crate::model::Timestamp;

/// The manifest's file name inside a mirror directory.
pub const MANIFEST: &str = "manifest.json";
/// The manifest layout version written.
pub const MANIFEST_VERSION: u32 = 1;

/// Why a mirror could not be used.
#[derive(Debug, thiserror::Error)]
pub enum MirrorError {
    /// A file could not be read or written.
    #[error("mirror {path}: {source}")]
    Io {
        /// The path.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The manifest is missing or invalid.
    #[error("mirror manifest {path}: {reason}")]
    Manifest {
        /// The manifest path.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// A file does not have the digest the manifest records.
    #[error("mirror file {path}: sha256 is {found}, the manifest says {expected} (corrupt or altered copy; pull it again)")]
    Digest {
        /// The file.
        path: String,
        /// Digest in the manifest.
        expected: String,
        /// Digest of the file.
        found: String,
    },
}

/// `manifest.json`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Layout version ([`MANIFEST_VERSION`]).
    pub version: u32,
    /// When the mirror was last pulled.
    pub updated: String,
    /// The feeds, by name.
    pub feeds: BTreeMap<String, MirrorFeed>,
    /// Every file, by feed then URL order.
    pub files: Vec<MirrorFile>,
}

/// How to ingest one mirrored feed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MirrorFeed {
    /// Format name.
    pub format: String,
    /// Dialect, where the catalog gives one.
    #[serde(default)]
    pub dialect: Option<String>,
    /// Whether the files are a full snapshot of the feed.
    pub snapshot: bool,
}

/// One mirrored upstream file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MirrorFile {
    /// The feed it belongs to.
    pub feed: String,
    /// Where it came from.
    pub url: String,
    /// Path relative to the mirror directory, `/`-separated.
    pub path: String,
    /// `sha256:<hex>` of the bytes.
    pub sha256: String,
    /// Size in bytes.
    pub size: u64,
    /// The server's ETag.
    #[serde(default)]
    pub etag: Option<String>,
    /// The server's Last-Modified.
    #[serde(default)]
    pub last_modified: Option<String>,
    /// When it was downloaded (RFC 3339).
    pub fetched: String,
}

/// What a pull did for one feed.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PullReport {
    /// The feed.
    pub feed: String,
    /// Files of the feed.
    pub files: u64,
    /// Files that answered 304.
    pub not_modified: u64,
    /// Bytes transferred.
    pub downloaded_bytes: u64,
    /// Why the feed failed (its previous files stay in the mirror).
    pub error: Option<String>,
}

/// Reads `DIR/manifest.json` (an empty manifest when there is none).
pub fn load(dir: &Path) -> Result<Manifest, MirrorError> {
    let path = dir.join(MANIFEST);
    let text = match std::fs::read(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(Manifest {
                version: MANIFEST_VERSION,
                ..Manifest::default()
            })
        }
        Err(source) => {
            return Err(MirrorError::Io {
                path: path.display().to_string(),
                source,
            })
        }
    };
    let manifest: Manifest = serde_json::from_slice(&text).map_err(|e| MirrorError::Manifest {
        path: path.display().to_string(),
        reason: e.to_string(),
    })?;
    if manifest.version != MANIFEST_VERSION {
        return Err(MirrorError::Manifest {
            path: path.display().to_string(),
            reason: format!(
                "version {} (this advisord reads {MANIFEST_VERSION})",
                manifest.version
            ),
        });
    }
    for file in &manifest.files {
        relative_path(&file.path).ok_or_else(|| MirrorError::Manifest {
            path: path.display().to_string(),
            reason: format!("file path {:?} leaves the mirror directory", file.path),
        })?;
        if !manifest.feeds.contains_key(&file.feed) {
            return Err(MirrorError::Manifest {
                path: path.display().to_string(),
                reason: format!("file {} names unknown feed {:?}", file.path, file.feed),
            });
        }
    }
    Ok(manifest)
}

/// Reads the manifest of `dir` and checks every file's size and sha256
/// (blocking); fails on the first mismatch, before anything is ingested.
pub fn load_verified(dir: &Path) -> Result<Manifest, MirrorError> {
    let manifest_path = dir.join(MANIFEST);
    if !manifest_path.is_file() {
        return Err(MirrorError::Manifest {
            path: manifest_path.display().to_string(),
            reason: "not found (is this a directory written by `advisord mirror pull`?)".into(),
        });
    }
    let manifest = load(dir)?;
    for file in &manifest.files {
        let path = dir.join(&file.path);
        let (found, size) = http::sha256_file(&path).map_err(|source| MirrorError::Io {
            path: path.display().to_string(),
            source,
        })?;
        if found != file.sha256 || size != file.size {
            return Err(MirrorError::Digest {
                path: path.display().to_string(),
                expected: file.sha256.clone(),
                found,
            });
        }
    }
    Ok(manifest)
}

/// A manifest path as a relative path with no `..`, or `None`.
fn relative_path(text: &str) -> Option<PathBuf> {
    let path = Path::new(text);
    path.components()
        .all(|c| matches!(c, Component::Normal(_)))
        .then(|| path.to_path_buf())
}

fn save(dir: &Path, manifest: &Manifest) -> Result<(), MirrorError> {
    let path = dir.join(MANIFEST);
    let tmp = dir.join(format!("{MANIFEST}.tmp"));
    let io = |p: &Path| {
        let p = p.display().to_string();
        move |source| MirrorError::Io { path: p, source }
    };
    let text = serde_json::to_vec_pretty(manifest).map_err(|e| MirrorError::Manifest {
        path: path.display().to_string(),
        reason: e.to_string(),
    })?;
    std::fs::write(&tmp, text).map_err(io(&tmp))?;
    std::fs::rename(&tmp, &path).map_err(io(&path))?;
    Ok(())
}

/// Downloads `specs`' files into `dir` and updates its manifest after each
/// feed. A feed that fails keeps its previous files and entries.
pub async fn pull(
    dir: &Path,
    specs: &[FeedSpec],
    fetcher: &Fetcher,
) -> Result<Vec<PullReport>, MirrorError> {
    std::fs::create_dir_all(dir).map_err(|source| MirrorError::Io {
        path: dir.display().to_string(),
        source,
    })?;
    let mut manifest = load(dir)?;
    manifest.version = MANIFEST_VERSION;
    let mut reports = Vec::new();
    for spec in specs {
        let mut report = PullReport {
            feed: spec.name.clone(),
            ..PullReport::default()
        };
        match pull_feed(dir, spec, fetcher, &manifest, &mut report).await {
            Ok(files) => {
                manifest.files.retain(|f| f.feed != spec.name);
                manifest.files.extend(files);
                manifest.feeds.insert(
                    spec.name.clone(),
                    MirrorFeed {
                        format: spec.format.clone(),
                        dialect: spec.dialect.clone(),
                        snapshot: spec.snapshot,
                    },
                );
                manifest.updated = Timestamp::now().to_string();
                save(dir, &manifest)?;
                tracing::info!(
                    feed = %spec.name,
                    files = report.files,
                    not_modified = report.not_modified,
                    bytes = report.downloaded_bytes,
                    "mirrored"
                );
            }
            Err(e) => {
                tracing::warn!(feed = %spec.name, error = %e, "mirror pull failed");
                report.error = Some(e.to_string());
            }
        }
        reports.push(report);
    }
    Ok(reports)
}

/// Why one feed could not be mirrored (the mirror keeps its previous files).
#[derive(Debug, thiserror::Error)]
enum PullError {
    /// A file could not be downloaded.
    #[error(transparent)]
    Fetch(#[from] http::FetchError),
    /// A 304 answered a request the mirror sent validators for, yet it has no copy.
    #[error("{0}: 304 for a file the mirror does not have")]
    NotModifiedWithoutCopy(String),
    /// A finished download could not replace the previous copy.
    #[error("moving {path} into place: {source}")]
    Move {
        /// The downloaded file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
}

async fn pull_feed(
    dir: &Path,
    spec: &FeedSpec,
    fetcher: &Fetcher,
    manifest: &Manifest,
    report: &mut PullReport,
) -> Result<Vec<MirrorFile>, PullError> {
    let mut files = Vec::new();
    for url in spec.expanded_urls(time::OffsetDateTime::now_utc()) {
        let rel = format!("{}/{}", safe_name(&spec.name), cache_file_name(&url));
        let path = dir.join(&rel);
        let previous = manifest
            .files
            .iter()
            .find(|f| f.feed == spec.name && f.url == url && f.path == rel)
            .filter(|_| path.is_file());
        let validators = previous.map_or_else(Validators::default, |p| Validators {
            etag: p.etag.clone(),
            last_modified: p.last_modified.clone(),
        });
        // The previous copy stays in place until the new one is complete;
        // a partial download is resumed next time.
        let pending = http::with_suffix(&path, ".new");
        let outcome = fetcher
            .fetch_to_file(&url, &pending, &validators, true, spec.max_bytes)
            .await?;
        report.files += 1;
        match (outcome, previous) {
            (FetchOutcome::NotModified, Some(previous)) => {
                report.not_modified += 1;
                files.push(previous.clone());
            }
            (FetchOutcome::NotModified, None) => {
                return Err(PullError::NotModifiedWithoutCopy(url));
            }
            (FetchOutcome::Downloaded(d), _) => {
                report.downloaded_bytes += d.transferred;
                std::fs::rename(&d.path, &path).map_err(|source| PullError::Move {
                    path: d.path.display().to_string(),
                    source,
                })?;
                files.push(MirrorFile {
                    feed: spec.name.clone(),
                    url: url.clone(),
                    path: rel,
                    sha256: d.sha256,
                    size: d.size,
                    etag: d.validators.etag,
                    last_modified: d.validators.last_modified,
                    fetched: Timestamp::now().to_string(),
                });
            }
        }
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_paths_must_stay_inside() {
        assert!(relative_path("osv_PyPI/abc-all.zip").is_some());
        assert!(relative_path("../etc/passwd").is_none());
        assert!(relative_path("/etc/passwd").is_none());
    }

    #[test]
    fn verification_catches_an_altered_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("f")).unwrap();
        std::fs::write(dir.path().join("f/a.json"), b"{}").unwrap();
        let (sha256, size) = http::sha256_file(&dir.path().join("f/a.json")).unwrap();
        let mut manifest = Manifest {
            version: MANIFEST_VERSION,
            updated: "2026-01-01T00:00:00Z".into(),
            feeds: BTreeMap::from([(
                "f".to_string(),
                MirrorFeed {
                    format: "osv".into(),
                    dialect: None,
                    snapshot: true,
                },
            )]),
            files: vec![MirrorFile {
                feed: "f".into(),
                url: "https://example.org/a.json".into(),
                path: "f/a.json".into(),
                sha256,
                size,
                etag: None,
                last_modified: None,
                fetched: "2026-01-01T00:00:00Z".into(),
            }],
        };
        save(dir.path(), &manifest).unwrap();
        assert_eq!(load_verified(dir.path()).unwrap(), manifest);
        std::fs::write(dir.path().join("f/a.json"), b"[]").unwrap();
        assert!(matches!(
            load_verified(dir.path()),
            Err(MirrorError::Digest { .. })
        ));
        manifest.files[0].path = "../a.json".into();
        save(dir.path(), &manifest).unwrap();
        assert!(matches!(
            load(dir.path()),
            Err(MirrorError::Manifest { .. })
        ));
    }
}
