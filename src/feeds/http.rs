//! Downloading upstream files over HTTP(S): timeouts, bounded size,
//! retries with jittered exponential backoff on 5xx and network errors,
//! conditional GET (ETag / Last-Modified), streaming to disk with the
//! sha256 computed on the way, and resuming partial downloads.

use std::path::{Path, PathBuf};
use std::time::Duration;

use reqwest::header;
use reqwest::StatusCode;
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

/// Why a download failed.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// The server answered with an error status that is not worth retrying.
    #[error("GET {url}: HTTP {status}")]
    Status {
        /// The URL.
        url: String,
        /// The status.
        status: u16,
    },
    /// Network, TLS or timeout failure (after retries). The message carries
    /// the whole cause chain (DNS, connection refused, TLS, timeout, body cut
    /// short), not only reqwest's "error sending request".
    #[error("GET {url}: {}", cause_chain(source))]
    Transport {
        /// The URL.
        url: String,
        /// The cause.
        source: reqwest::Error,
    },
    /// The body is larger than allowed.
    #[error("GET {url}: body larger than {limit} bytes")]
    TooLarge {
        /// The URL.
        url: String,
        /// The limit.
        limit: u64,
    },
    /// The body ended before its announced length (after retries).
    #[error("GET {url}: body truncated: {got} of {expected} bytes")]
    Truncated {
        /// The URL.
        url: String,
        /// Announced length.
        expected: u64,
        /// Bytes received.
        got: u64,
    },
    /// The downloaded file could not be written.
    #[error("writing {path}: {source}")]
    Io {
        /// The local file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
}

/// `error` and each of its causes, joined with `: `; a cause whose text is
/// already in the message is not repeated.
pub fn cause_chain(error: &dyn std::error::Error) -> String {
    let mut message = error.to_string();
    let mut cause = error.source();
    while let Some(e) = cause {
        let text = e.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        cause = e.source();
    }
    message
}

/// Download settings.
#[derive(Debug, Clone)]
pub struct FetchOptions {
    /// Time allowed to connect.
    pub connect_timeout: Duration,
    /// Time allowed for the whole request.
    pub total_timeout: Duration,
    /// Attempts in all (1 = no retry).
    pub attempts: u32,
    /// Largest body accepted.
    pub max_bytes: u64,
    /// First retry delay; each later one doubles, plus up to 50% jitter.
    pub retry_base: Duration,
}

impl Default for FetchOptions {
    fn default() -> Self {
        FetchOptions {
            connect_timeout: Duration::from_secs(15),
            total_timeout: Duration::from_secs(600),
            attempts: 4,
            max_bytes: 2 << 30,
            retry_base: Duration::from_millis(500),
        }
    }
}

/// Redirects a download follows at most.
pub const MAX_REDIRECTS: usize = 5;

/// The download client: `options`' timeouts, at most [`MAX_REDIRECTS`]
/// redirects, each to http or https only, and no transparent decoding of a
/// `Content-Encoding` (see [`crate::feeds`]'s capped readers).
fn client(options: &FetchOptions) -> Result<reqwest::Client, reqwest::Error> {
    let redirects = reqwest::redirect::Policy::custom(|attempt| {
        if attempt.previous().len() > MAX_REDIRECTS {
            attempt.error(format!("more than {MAX_REDIRECTS} redirects"))
        } else if !matches!(attempt.url().scheme(), "http" | "https") {
            let to = attempt.url().to_string();
            attempt.error(format!(
                "redirect to {to}: only http and https are followed"
            ))
        } else {
            attempt.follow()
        }
    });
    reqwest::Client::builder()
        // Bodies are kept as sent: compression (a Content-Encoding too) is
        // undone by `feeds`' reader, within --max-decompressed and the
        // inflation-ratio check; reqwest's decoder would inflate a bomb
        // without bound. This holds even if a dependency enables the feature.
        .no_gzip()
        .no_deflate()
        .connect_timeout(options.connect_timeout)
        .timeout(options.total_timeout)
        .user_agent(concat!("advisord/", env!("CARGO_PKG_VERSION")))
        .redirect(redirects)
        .build()
}

/// Downloads `url` into memory, retrying transient failures (a one-off
/// [`Fetcher`] with `options`).
pub async fn get(url: &str, options: &FetchOptions) -> Result<Vec<u8>, FetchError> {
    let fetcher = Fetcher::new(options.clone()).map_err(|e| match e {
        FetchError::Transport { source, .. } => FetchError::Transport {
            url: url.to_string(),
            source,
        },
        other => other,
    })?;
    fetcher.get(url).await
}

/// Runs `once` until it succeeds, fails for good, or `options.attempts`
/// are spent; transient failures wait a jittered exponential backoff.
async fn with_retries<T, F, Fut>(
    url: &str,
    options: &FetchOptions,
    mut once: F,
) -> Result<T, FetchError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, FetchError>>,
{
    let mut attempt = 0;
    loop {
        attempt += 1;
        match once().await {
            Ok(value) => return Ok(value),
            Err(e) if attempt < options.attempts && is_transient(&e) => {
                let delay = backoff(options.retry_base, attempt);
                tracing::warn!(%url, attempt, ?delay, error = %e, "download failed; retrying");
                tokio::time::sleep(delay).await;
            }
            Err(e) => return Err(e),
        }
    }
}

async fn get_once(
    client: &reqwest::Client,
    url: &str,
    options: &FetchOptions,
) -> Result<Vec<u8>, FetchError> {
    let transport = |source| FetchError::Transport {
        url: url.to_string(),
        source,
    };
    let mut response = client.get(url).send().await.map_err(transport)?;
    let status = response.status();
    if !status.is_success() {
        return Err(FetchError::Status {
            url: url.to_string(),
            status: status.as_u16(),
        });
    }
    if response
        .content_length()
        .is_some_and(|n| n > options.max_bytes)
    {
        return Err(FetchError::TooLarge {
            url: url.to_string(),
            limit: options.max_bytes,
        });
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(transport)? {
        if body.len() as u64 + chunk.len() as u64 > options.max_bytes {
            return Err(FetchError::TooLarge {
                url: url.to_string(),
                limit: options.max_bytes,
            });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn is_transient(e: &FetchError) -> bool {
    match e {
        FetchError::Status { status, .. } => StatusCode::from_u16(*status)
            .is_ok_and(|s| s.is_server_error() || s == StatusCode::TOO_MANY_REQUESTS),
        FetchError::Transport { .. } | FetchError::Truncated { .. } => true,
        FetchError::TooLarge { .. } | FetchError::Io { .. } => false,
    }
}

/// Exponential backoff from `base` (doubling per attempt) with up to 50% jitter.
fn backoff(base: Duration, attempt: u32) -> Duration {
    let base = (base.as_millis() as u64).saturating_mul(1 << attempt.saturating_sub(1).min(8));
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::from(d.subsec_nanos()));
    Duration::from_millis(base + nanos % (base / 2 + 1))
}

/// The validators of a copy we already have, for a conditional GET.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Validators {
    /// `ETag` as the server sent it.
    pub etag: Option<String>,
    /// `Last-Modified` as the server sent it.
    pub last_modified: Option<String>,
}

impl Validators {
    /// Whether there is nothing to send.
    pub fn is_empty(&self) -> bool {
        self.etag.is_none() && self.last_modified.is_none()
    }
}

/// A file saved to disk by [`Fetcher::fetch_to_file`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Downloaded {
    /// Where it was saved.
    pub path: PathBuf,
    /// Its size in bytes.
    pub size: u64,
    /// `sha256:<hex>` of its bytes.
    pub sha256: String,
    /// The validators the server sent with it.
    pub validators: Validators,
    /// Bytes actually transferred (less than `size` after a resume).
    pub transferred: u64,
}

/// What a conditional download found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchOutcome {
    /// The server answered 304: our copy is current, nothing was written.
    NotModified,
    /// A new copy was saved.
    Downloaded(Downloaded),
}

/// An HTTP client with advisord's download policy.
#[derive(Debug, Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    options: FetchOptions,
}

impl Fetcher {
    /// A client with `options`' timeouts.
    pub fn new(options: FetchOptions) -> Result<Fetcher, FetchError> {
        let client = client(&options).map_err(|source| FetchError::Transport {
            url: String::new(),
            source,
        })?;
        Ok(Fetcher { client, options })
    }

    /// The download settings.
    pub fn options(&self) -> &FetchOptions {
        &self.options
    }

    /// Downloads `url` to `dest`, streaming through `dest` + `.part` and
    /// renaming at the end, so `dest` is only ever a complete file. With
    /// `validators` the request is conditional (304 -> [`FetchOutcome::NotModified`]).
    /// With `resume`, a `.part` left by an interrupted download (and its
    /// `.part.etag`) is continued with a `Range` request when the server
    /// still has the same version. `max_bytes` overrides the options' limit.
    /// Transient failures (5xx, 429, network, timeouts, short bodies) are
    /// retried with jittered exponential backoff; 4xx are not.
    pub async fn fetch_to_file(
        &self,
        url: &str,
        dest: &Path,
        validators: &Validators,
        resume: bool,
        max_bytes: Option<u64>,
    ) -> Result<FetchOutcome, FetchError> {
        let limit = max_bytes.unwrap_or(self.options.max_bytes);
        with_retries(url, &self.options, || {
            self.fetch_once(url, dest, validators, resume, limit)
        })
        .await
    }

    /// Downloads `url` into memory (at most the options' `max_bytes`),
    /// retrying transient failures.
    pub async fn get(&self, url: &str) -> Result<Vec<u8>, FetchError> {
        with_retries(url, &self.options, || {
            get_once(&self.client, url, &self.options)
        })
        .await
    }

    async fn fetch_once(
        &self,
        url: &str,
        dest: &Path,
        validators: &Validators,
        resume: bool,
        limit: u64,
    ) -> Result<FetchOutcome, FetchError> {
        let transport = |source| FetchError::Transport {
            url: url.to_string(),
            source,
        };
        let part = with_suffix(dest, ".part");
        let part_etag = with_suffix(dest, ".part.etag");
        let io = |path: &Path| {
            let path = path.display().to_string();
            move |source| FetchError::Io {
                path: path.clone(),
                source,
            }
        };
        if let Some(parent) = dest.parent() {
            tokio::fs::create_dir_all(parent)
                .await
                .map_err(io(parent))?;
        }
        // A resumable partial: its length and the ETag it was fetched under.
        let mut offset = 0u64;
        let mut partial_etag = None;
        if resume {
            if let (Ok(meta), Ok(etag)) = (
                tokio::fs::metadata(&part).await,
                tokio::fs::read_to_string(&part_etag).await,
            ) {
                if meta.len() > 0 && !etag.trim().is_empty() {
                    offset = meta.len();
                    partial_etag = Some(etag.trim().to_string());
                }
            }
        }
        let mut request = self.client.get(url);
        if let Some(etag) = &validators.etag {
            request = request.header(header::IF_NONE_MATCH, etag);
        }
        if let Some(lm) = &validators.last_modified {
            request = request.header(header::IF_MODIFIED_SINCE, lm);
        }
        if let Some(etag) = &partial_etag {
            request = request
                .header(header::RANGE, format!("bytes={offset}-"))
                .header(header::IF_RANGE, etag);
        }
        let mut response = request.send().await.map_err(transport)?;
        let status = response.status();
        if status == StatusCode::NOT_MODIFIED {
            return Ok(FetchOutcome::NotModified);
        }
        if !status.is_success() {
            return Err(FetchError::Status {
                url: url.to_string(),
                status: status.as_u16(),
            });
        }
        let header_str = |name: header::HeaderName| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let got = Validators {
            etag: header_str(header::ETAG),
            last_modified: header_str(header::LAST_MODIFIED),
        };
        let resumed = status == StatusCode::PARTIAL_CONTENT
            && header_str(header::CONTENT_RANGE)
                .is_some_and(|r| r.starts_with(&format!("bytes {offset}-")));
        if status == StatusCode::PARTIAL_CONTENT && !resumed {
            // A range we did not ask for: start over without one.
            let _ = tokio::fs::remove_file(&part_etag).await;
            let _ = tokio::fs::remove_file(&part).await;
            return Err(FetchError::Status {
                url: url.to_string(),
                status: status.as_u16(),
            });
        }
        let start = if resumed { offset } else { 0 };
        let body_len = response.content_length();
        if body_len.is_some_and(|n| start + n > limit) {
            return Err(FetchError::TooLarge {
                url: url.to_string(),
                limit,
            });
        }
        let mut hasher = Sha256::new();
        let mut file = if resumed {
            // Hash what we already have, then append.
            let existing = tokio::fs::read(&part).await.map_err(io(&part))?;
            hasher.update(&existing);
            tokio::fs::OpenOptions::new()
                .append(true)
                .open(&part)
                .await
                .map_err(io(&part))?
        } else {
            tokio::fs::File::create(&part).await.map_err(io(&part))?
        };
        match &got.etag {
            Some(etag) => tokio::fs::write(&part_etag, etag)
                .await
                .map_err(io(&part_etag))?,
            None => {
                let _ = tokio::fs::remove_file(&part_etag).await;
            }
        }
        let mut size = start;
        let mut transferred = 0u64;
        loop {
            let chunk = match response.chunk().await {
                Ok(Some(chunk)) => chunk,
                Ok(None) => break,
                Err(source) => {
                    file.flush().await.map_err(io(&part))?;
                    return Err(transport(source));
                }
            };
            size += chunk.len() as u64;
            transferred += chunk.len() as u64;
            if size > limit {
                drop(file);
                let _ = tokio::fs::remove_file(&part).await;
                let _ = tokio::fs::remove_file(&part_etag).await;
                return Err(FetchError::TooLarge {
                    url: url.to_string(),
                    limit,
                });
            }
            hasher.update(&chunk);
            file.write_all(&chunk).await.map_err(io(&part))?;
        }
        file.flush().await.map_err(io(&part))?;
        file.sync_all().await.map_err(io(&part))?;
        drop(file);
        if let Some(expected) = body_len {
            if transferred != expected {
                return Err(FetchError::Truncated {
                    url: url.to_string(),
                    expected,
                    got: transferred,
                });
            }
        }
        tokio::fs::rename(&part, dest).await.map_err(io(dest))?;
        let _ = tokio::fs::remove_file(&part_etag).await;
        Ok(FetchOutcome::Downloaded(Downloaded {
            path: dest.to_path_buf(),
            size,
            sha256: format!("sha256:{}", hex::encode(hasher.finalize())),
            validators: got,
            transferred,
        }))
    }
}

/// `path` with `suffix` appended to its file name.
pub fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(suffix);
    path.with_file_name(name)
}

/// `sha256:<hex>` of a file on disk, read in blocks (blocking).
pub fn sha256_file(path: &Path) -> std::io::Result<(String, u64)> {
    use std::io::Read;
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut size = 0u64;
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        size += n as u64;
        hasher.update(&buf[..n]);
    }
    Ok((format!("sha256:{}", hex::encode(hasher.finalize())), size))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_bounded_jitter() {
        let base = Duration::from_millis(100);
        for attempt in 1..5u32 {
            let d = backoff(base, attempt).as_millis() as u64;
            let floor = 100u64 << (attempt - 1);
            assert!(
                d >= floor && d <= floor + floor / 2,
                "attempt {attempt}: {d}"
            );
        }
    }

    #[test]
    fn only_server_errors_and_transport_are_transient() {
        let status = |s| FetchError::Status {
            url: String::new(),
            status: s,
        };
        assert!(is_transient(&status(500)));
        assert!(is_transient(&status(503)));
        assert!(is_transient(&status(429)));
        assert!(!is_transient(&status(404)));
        assert!(!is_transient(&status(403)));
        assert!(is_transient(&FetchError::Truncated {
            url: String::new(),
            expected: 2,
            got: 1
        }));
    }
}
