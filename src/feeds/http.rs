//! Downloading upstream files over HTTP(S): timeouts, bounded size,
//! retries with jittered exponential backoff on 5xx and network errors.

use std::time::Duration;

use reqwest::StatusCode;

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
    /// Network, TLS or timeout failure (after retries).
    #[error("GET {url}: {source}")]
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
}

impl Default for FetchOptions {
    fn default() -> Self {
        FetchOptions {
            connect_timeout: Duration::from_secs(15),
            total_timeout: Duration::from_secs(600),
            attempts: 4,
            max_bytes: 2 << 30,
        }
    }
}

/// Downloads `url` into memory, retrying transient failures.
pub async fn get(url: &str, options: &FetchOptions) -> Result<Vec<u8>, FetchError> {
    let client = reqwest::Client::builder()
        .connect_timeout(options.connect_timeout)
        .timeout(options.total_timeout)
        .user_agent(concat!("advisord/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|source| FetchError::Transport {
            url: url.to_string(),
            source,
        })?;
    let mut attempt = 0;
    loop {
        attempt += 1;
        match get_once(&client, url, options).await {
            Ok(bytes) => return Ok(bytes),
            Err(e) if attempt < options.attempts && is_transient(&e) => {
                let delay = backoff(attempt);
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
        FetchError::Transport { .. } => true,
        FetchError::TooLarge { .. } => false,
    }
}

/// Exponential backoff from 500 ms with up to 50% jitter.
fn backoff(attempt: u32) -> Duration {
    let base = 500u64.saturating_mul(1 << attempt.min(8));
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::from(d.subsec_nanos()));
    Duration::from_millis(base + nanos % (base / 2 + 1))
}
