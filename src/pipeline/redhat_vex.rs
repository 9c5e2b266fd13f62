//! Red Hat's CSAF VEX feed as an incremental catalog feed (`csaf-redhat-vex`).
//!
//! Red Hat publishes every CVE's VEX document under one base URL:
//! `archive_latest.txt` names a `.tar.zst` baseline of all documents;
//! `changes.csv` and `deletions.csv` list `"path","timestamp"` rows of
//! documents changed or deleted since. The first sync streams the baseline
//! (zstd-decoded with `ruzstd`, already used for image layers, then `tar`)
//! as a full snapshot and remembers the archive's `Last-Modified` as the
//! cursor. Later syncs fetch both CSV files conditionally; rows newer than
//! the cursor are applied: changed documents fetched and re-parsed, deleted
//! ones withdrawn. When both CSV files answer 304 nothing is written.

use std::io::{BufReader, Read};
use std::path::Path;

use time::OffsetDateTime;

use crate::feeds::http::{self, FetchError, FetchOptions, FetchOutcome, Fetcher, Validators};
use crate::formats::{csaf, RecordError, SourceContext};
use crate::model::{Advisory, Timestamp};
use crate::store::{BatchOutcome, FeedState, Store, StoreError};

/// The catalog `dialect` of a `csaf` feed synced this way.
pub const DIALECT: &str = "redhat-vex-feed";

/// Largest decompressed baseline member accepted (real documents are < 10 MiB).
const MAX_DOCUMENT_BYTES: u64 = 64 << 20;

/// Why the feed could not be synced.
#[derive(Debug, thiserror::Error)]
pub enum VexFeedError {
    /// A download failed.
    #[error(transparent)]
    Fetch(#[from] FetchError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// `archive_latest.txt` or the archive is unusable.
    #[error("feed {feed}: {reason}")]
    Archive {
        /// The feed.
        feed: String,
        /// What is wrong.
        reason: String,
    },
}

/// What one sync of the feed did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct VexFeedReport {
    /// The baseline archive read, on a first sync.
    pub baseline: Option<String>,
    /// Documents parsed (baseline members or changed documents).
    pub documents: u64,
    /// Changed documents applied from `changes.csv`.
    pub changed: u64,
    /// Records withdrawn from `deletions.csv`.
    pub deleted: u64,
    /// Both CSV files answered 304: nothing was written.
    pub not_modified: bool,
    /// Documents that could not be read (one never stops the feed).
    pub errors: Vec<String>,
    /// What the store write did.
    pub outcome: BatchOutcome,
}

/// Syncs feed `feed` from `base` (the directory URL holding
/// `archive_latest.txt`), keeping downloads under `cache_dir`.
pub async fn sync(
    store: &Store,
    options: &FetchOptions,
    feed: &str,
    base: &str,
    cache_dir: &Path,
) -> Result<VexFeedReport, VexFeedError> {
    let base = base.trim_end_matches('/');
    let fetcher = Fetcher::new(options.clone())?;
    let state = store.feed_state(feed)?.unwrap_or_default();
    let mut report = VexFeedReport::default();
    let cursor = match state
        .cursor
        .as_deref()
        .and_then(|c| c.parse::<Timestamp>().ok())
    {
        Some(cursor) => cursor,
        None => return baseline(store, &fetcher, feed, base, cache_dir, report).await,
    };
    let changes = csv(&fetcher, &state, &format!("{base}/changes.csv"), cache_dir).await?;
    let deletions = csv(
        &fetcher,
        &state,
        &format!("{base}/deletions.csv"),
        cache_dir,
    )
    .await?;
    if changes.is_none() && deletions.is_none() {
        report.not_modified = true;
        return Ok(report);
    }
    let mut newest = cursor.clone();
    let mut records = Vec::new();
    let fetched = Timestamp::now();
    for (path, at) in changes.iter().flat_map(|c| newer(&c.rows, &cursor)) {
        newest = newest.max(at.clone());
        let url = format!("{base}/{path}");
        match http::get(&url, options).await {
            Ok(bytes) => {
                let ctx = SourceContext::for_bytes(feed, &url, fetched.clone(), &bytes);
                report.documents += 1;
                report.changed += 1;
                parse_into(&bytes, &ctx, &mut records, &mut report.errors);
            }
            Err(e) => report.errors.push(format!("feed {feed}: {url}: {e}")),
        }
    }
    for (path, at) in deletions.iter().flat_map(|d| newer(&d.rows, &cursor)) {
        newest = newest.max(at.clone());
        for mut record in published_by(store, feed, path)? {
            record.withdrawn = Some(fetched.clone());
            record.modified = fetched.clone();
            report.deleted += 1;
            records.push(record);
        }
    }
    let validators: Vec<(String, Validators)> = [changes, deletions]
        .into_iter()
        .flatten()
        .map(|c| (c.url, c.validators))
        .collect();
    let errors = report.errors.len() as u64;
    let now = Timestamp::now().to_string();
    report.outcome = store.apply_batch(feed, records, |s| {
        for (url, v) in validators {
            remember(s, &url, v);
        }
        read_up_to(s, newest.to_string(), errors, now);
    })?;
    Ok(report)
}

/// First sync: the whole baseline archive as one snapshot.
async fn baseline(
    store: &Store,
    fetcher: &Fetcher,
    feed: &str,
    base: &str,
    cache_dir: &Path,
    mut report: VexFeedReport,
) -> Result<VexFeedReport, VexFeedError> {
    let latest = http::get(&format!("{base}/archive_latest.txt"), fetcher.options()).await?;
    let name = String::from_utf8_lossy(&latest).trim().to_string();
    if name.is_empty() || name.contains('/') || !name.ends_with(".tar.zst") {
        return Err(VexFeedError::Archive {
            feed: feed.into(),
            reason: format!("archive_latest.txt names {name:?}, not a .tar.zst file"),
        });
    }
    let url = format!("{base}/{name}");
    let dest = cache_dir.join(&name);
    let downloaded = match fetcher
        .fetch_to_file(&url, &dest, &Validators::default(), true, None)
        .await?
    {
        FetchOutcome::Downloaded(d) => d,
        FetchOutcome::NotModified => {
            return Err(VexFeedError::Archive {
                feed: feed.into(),
                reason: format!("{url} answered 304 to an unconditional GET"),
            })
        }
    };
    let cursor = downloaded
        .validators
        .last_modified
        .as_deref()
        .and_then(http_date)
        .unwrap_or_else(Timestamp::now);
    let fetched = Timestamp::now();
    let feed_name = feed.to_string();
    let archive_url = url.clone();
    let (records, documents, errors) = tokio::task::spawn_blocking(move || {
        read_archive(&downloaded.path, &feed_name, &archive_url, fetched)
    })
    .await
    .map_err(|e| VexFeedError::Archive {
        feed: feed.into(),
        reason: format!("archive reader panicked: {e}"),
    })??;
    report.baseline = Some(name);
    report.documents = documents;
    report.errors = errors;
    let error_count = report.errors.len() as u64;
    let now = Timestamp::now().to_string();
    report.outcome = store.apply_snapshot(feed, records, |s| {
        read_up_to(s, cursor.to_string(), error_count, now);
    })?;
    Ok(report)
}

/// Streams the `.tar.zst` at `path`: every `.json` member parsed as CSAF.
fn read_archive(
    path: &Path,
    feed: &str,
    url: &str,
    fetched: Timestamp,
) -> Result<(Vec<Advisory>, u64, Vec<String>), VexFeedError> {
    let fail = |reason: String| VexFeedError::Archive {
        feed: feed.into(),
        reason: format!("{url}: {reason}"),
    };
    let file = std::fs::File::open(path).map_err(|e| fail(e.to_string()))?;
    let decoder = ruzstd::decoding::StreamingDecoder::new(BufReader::new(file))
        .map_err(|e| fail(format!("zstd: {e}")))?;
    let mut archive = tar::Archive::new(decoder);
    let mut records = Vec::new();
    let mut errors = Vec::new();
    let mut documents = 0;
    for entry in archive.entries().map_err(|e| fail(e.to_string()))? {
        let entry = entry.map_err(|e| fail(e.to_string()))?;
        let member = entry
            .path()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        if !member.ends_with(".json") {
            continue;
        }
        let mut bytes = Vec::new();
        entry
            .take(MAX_DOCUMENT_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| fail(format!("{member}: {e}")))?;
        let source = format!("{url}!{member}");
        if bytes.len() as u64 > MAX_DOCUMENT_BYTES {
            errors.push(format!(
                "feed {feed}: {source}: larger than {MAX_DOCUMENT_BYTES} bytes"
            ));
            continue;
        }
        documents += 1;
        let ctx = SourceContext::for_bytes(feed, &source, fetched.clone(), &bytes);
        parse_into(&bytes, &ctx, &mut records, &mut errors);
    }
    Ok((records, documents, errors))
}

/// Parses one CSAF document, collecting records and per-record errors.
fn parse_into(
    bytes: &[u8],
    ctx: &SourceContext,
    records: &mut Vec<Advisory>,
    errors: &mut Vec<String>,
) {
    csaf::parse(
        bytes,
        ctx,
        &mut |item: Result<Advisory, RecordError>| match item {
            Ok(record) => records.push(record),
            Err(e) => errors.push(e.to_string()),
        },
    );
}

/// A downloaded CSV index and the validators it came with.
struct CsvIndex {
    url: String,
    rows: Vec<(String, Timestamp)>,
    validators: Validators,
}

/// Fetches `url` conditionally; `None` when it answered 304.
async fn csv(
    fetcher: &Fetcher,
    state: &FeedState,
    url: &str,
    cache_dir: &Path,
) -> Result<Option<CsvIndex>, VexFeedError> {
    let known = Validators {
        etag: state.etags.get(url).cloned(),
        last_modified: state.last_modified.get(url).cloned(),
    };
    let name = url.rsplit('/').next().unwrap_or("index.csv");
    let dest = cache_dir.join(name);
    match fetcher
        .fetch_to_file(url, &dest, &known, false, None)
        .await?
    {
        FetchOutcome::NotModified => Ok(None),
        FetchOutcome::Downloaded(d) => {
            let text = std::fs::read_to_string(&d.path).map_err(|e| FetchError::Io {
                path: d.path.display().to_string(),
                source: e,
            })?;
            Ok(Some(CsvIndex {
                url: url.to_string(),
                rows: csv_rows(&text),
                validators: d.validators,
            }))
        }
    }
}

/// The `"path","timestamp"` rows of a change or deletion list (rows whose
/// path is unsafe or whose time does not parse are skipped).
fn csv_rows(text: &str) -> Vec<(String, Timestamp)> {
    text.lines()
        .filter_map(|line| {
            let (path, at) = line.split_once(',')?;
            let path = path.trim().trim_matches('"');
            let at = at.trim().trim_matches('"').parse::<Timestamp>().ok()?;
            let safe = !path.is_empty()
                && !path.starts_with('/')
                && !path.split('/').any(|p| p == "..")
                && path.ends_with(".json");
            safe.then(|| (path.to_string(), at))
        })
        .collect()
}

/// Rows strictly newer than `cursor`.
fn newer<'a>(
    rows: &'a [(String, Timestamp)],
    cursor: &'a Timestamp,
) -> impl Iterator<Item = (&'a str, &'a Timestamp)> {
    rows.iter()
        .filter(move |(_, at)| at > cursor)
        .map(|(p, at)| (p.as_str(), at))
}

/// The stored records this feed published from the document at `path`
/// (`2023/cve-2023-0044.json` -> the records upstream-named `CVE-2023-0044`).
fn published_by(store: &Store, feed: &str, path: &str) -> Result<Vec<Advisory>, StoreError> {
    let stem = path
        .rsplit('/')
        .next()
        .unwrap_or(path)
        .trim_end_matches(".json")
        .to_ascii_uppercase();
    let mut out = Vec::new();
    for id in store.ids_for_alias(&stem)? {
        let Some(mut record) = store.get(&id)? else {
            continue;
        };
        let ours = record
            .sources()
            .iter()
            .any(|p| p.feed == feed && p.upstream_id.eq_ignore_ascii_case(&stem));
        if ours && !record.is_withdrawn() {
            record.affected.retain(|a| a.feed() == Some(feed));
            record.meta_mut().sources.retain(|p| p.feed == feed);
            out.push(record);
        }
    }
    Ok(out)
}

/// Marks the feed read up to `cursor` (RFC 3339) with `errors` documents
/// rejected, in a run that succeeded at `now`.
fn read_up_to(state: &mut FeedState, cursor: String, errors: u64, now: String) {
    state.cursor = Some(cursor);
    state.last_errors = errors;
    state.last_success = Some(now.clone());
    state.last_attempt = Some(now);
    state.last_error = None;
}

/// Stores the validators of `url` for the next conditional GET.
fn remember(state: &mut FeedState, url: &str, v: Validators) {
    match v.etag {
        Some(etag) => state.etags.insert(url.to_string(), etag),
        None => state.etags.remove(url),
    };
    match v.last_modified {
        Some(lm) => state.last_modified.insert(url.to_string(), lm),
        None => state.last_modified.remove(url),
    };
}

/// An HTTP date (`Mon, 11 Dec 2023 00:00:00 GMT`) as a timestamp.
fn http_date(text: &str) -> Option<Timestamp> {
    let format = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    let at: OffsetDateTime = time::PrimitiveDateTime::parse(text.trim(), format)
        .ok()?
        .assume_utc();
    at.format(&time::format_description::well_known::Rfc3339)
        .ok()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_rows_and_http_dates() {
        let rows = csv_rows(
            "\"2023/cve-2023-0030.json\",\"2023-12-10T00:00:00+00:00\"\n\"../etc/passwd.json\",\"2023-12-10T00:00:00+00:00\"\nbroken\n",
        );
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].0, "2023/cve-2023-0030.json");
        let cursor = http_date("Mon, 11 Dec 2023 00:00:00 GMT").expect("date");
        assert_eq!(cursor.to_string(), "2023-12-11T00:00:00Z");
        assert_eq!(newer(&rows, &cursor).count(), 0);
    }
}
