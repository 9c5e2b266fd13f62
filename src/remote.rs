//! The CLI's way into a running server. redb lets one process open the
//! database, so while `advisord serve` runs, `ingest --server URL` sends its
//! sources to `POST /v1/ingest` (admin token from `ADVISORD_ADMIN_TOKEN`)
//! and gets back the report the offline command would have printed.
//!
//! `sync --from-mirror DIR --server URL` and `import --server URL DIR` send
//! their directory as a tar to `POST /v1/mirror/sync` and `POST /v1/import`.
//!
//! One file is sent as it is; several sources or a directory are packed
//! into one tar first, so the server reads them in one batch and one write
//! transaction, as the offline command does.

use std::path::{Path, PathBuf};

use crate::formats::ReadOptions;
use crate::pipeline::ingest::IngestReport;

/// Why a request to the server failed.
#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    /// `ADVISORD_ADMIN_TOKEN` is not set.
    #[error("--server needs the admin token in ADVISORD_ADMIN_TOKEN")]
    NoToken,
    /// A URL source: the server fetches URLs through its catalog.
    #[error("{0}: with --server, give local files (the server fetches URLs through its catalog)")]
    UrlSource(String),
    /// A local source could not be read or packed.
    #[error("reading {path}: {source}")]
    Read {
        /// The source.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The server could not be reached, or the answer not read.
    #[error("{url}: {source}")]
    Http {
        /// The request URL.
        url: String,
        /// The cause.
        source: reqwest::Error,
    },
    /// The server answered with an error.
    #[error("{url}: the server answered {status}: {message}")]
    Refused {
        /// The request URL.
        url: String,
        /// HTTP status.
        status: u16,
        /// Its message.
        message: String,
    },
    /// Every record was rejected; nothing was written (the report says why).
    #[error("feed {}: every record was rejected ({}), nothing written", .0.feed, .0.errors.len())]
    AllRejected(Box<IngestReport>),
    /// The answer is not what the API documents.
    #[error("{url}: unreadable answer: {source}")]
    Answer {
        /// The request URL.
        url: String,
        /// The cause.
        source: serde_json::Error,
    },
}

/// A running server's admin API.
#[derive(Debug, Clone)]
pub struct Remote {
    base: String,
    token: String,
    client: reqwest::Client,
}

impl Remote {
    /// The server at `base` (`http://host:port`), with the admin token from
    /// `ADVISORD_ADMIN_TOKEN`.
    pub fn from_env(base: &str) -> Result<Remote, RemoteError> {
        let token = std::env::var("ADVISORD_ADMIN_TOKEN")
            .ok()
            .filter(|t| !t.is_empty())
            .ok_or(RemoteError::NoToken)?;
        Ok(Remote {
            base: base.trim_end_matches('/').to_string(),
            token,
            client: reqwest::Client::new(),
        })
    }

    /// Sends `sources` to `POST /v1/ingest` as one batch of feed `feed`,
    /// read with `read`; the server's report.
    pub async fn ingest(
        &self,
        read: &ReadOptions,
        feed: &str,
        sources: &[String],
    ) -> Result<IngestReport, RemoteError> {
        if let Some(url) = sources
            .iter()
            .find(|s| s.starts_with("http://") || s.starts_with("https://"))
        {
            return Err(RemoteError::UrlSource(url.clone()));
        }
        let paths: Vec<PathBuf> = sources.iter().map(PathBuf::from).collect();
        let follow = read.follow_symlinks;
        let (name, body, packed) = tokio::task::spawn_blocking(move || pack(&paths, follow))
            .await
            .map_err(|e| RemoteError::Read {
                path: PathBuf::from("sources"),
                source: std::io::Error::other(e),
            })??;
        let mut query: Vec<(&str, String)> = vec![
            ("format", read.format.name().to_string()),
            ("feed", feed.to_string()),
            ("name", name),
        ];
        if let Some(dialect) = read.dialect {
            query.push(("dialect", dialect.to_string()));
        }
        if let Some(cap) = read.max_decompressed {
            query.push(("max_decompressed", cap.to_string()));
        }
        if let Some(cap) = read.max_document {
            query.push(("max_document", cap.to_string()));
        }
        let url = format!("{}/v1/ingest", self.base);
        let (status, bytes) = self.send(&url, &query, None, body).await?;
        let answer: serde_json::Value =
            serde_json::from_slice(&bytes).map_err(|source| RemoteError::Answer {
                url: url.clone(),
                source,
            })?;
        let report = |value: &serde_json::Value| {
            serde_json::from_value::<IngestReport>(value.clone()).map_err(|source| {
                RemoteError::Answer {
                    url: url.clone(),
                    source,
                }
            })
        };
        let restore = |mut report: IngestReport| {
            for error in &mut report.errors {
                error.origin = original_origin(&error.origin, sources, packed);
            }
            report
        };
        match status {
            200 => Ok(restore(report(&answer)?)),
            422 if answer.get("report").is_some() => Err(RemoteError::AllRejected(Box::new(
                restore(report(&answer["report"])?),
            ))),
            _ => Err(RemoteError::Refused {
                url: url.clone(),
                status,
                message: answer["message"]
                    .as_str()
                    .unwrap_or("no message")
                    .to_string(),
            }),
        }
    }
}

/// The name the server reports for a packed upload's members (`NAME!member`).
const PACKED_NAME: &str = "sources.tar";

/// A file name in the server's report as the offline command names it:
/// the upload's name becomes the source path given, and a packed member
/// `sources.tar!DIR/rest` becomes `SOURCE/rest`.
fn original_origin(origin: &str, sources: &[String], packed: bool) -> String {
    let Some(source) = sources.first() else {
        return origin.to_string();
    };
    if !packed {
        let name = base_name(Path::new(source));
        return match origin.strip_prefix(&name) {
            Some(rest) => format!("{source}{rest}"),
            None => origin.to_string(),
        };
    }
    let Some(member) = origin.strip_prefix(&format!("{PACKED_NAME}!")) else {
        return origin.to_string();
    };
    let (top, rest) = member.split_once('/').unwrap_or((member, ""));
    match sources
        .iter()
        .find(|s| base_name(Path::new(s.as_str())) == top)
    {
        Some(source) if rest.is_empty() => source.clone(),
        Some(source) => format!("{}/{rest}", source.trim_end_matches('/')),
        None => origin.to_string(),
    }
}

impl Remote {
    /// Sends the mirror directory `dir` (as a tar) to `POST /v1/mirror/sync`,
    /// syncing `feeds` (all mirrored feeds when empty); the server's reports.
    pub async fn mirror_sync(
        &self,
        dir: &Path,
        feeds: &[String],
    ) -> Result<Vec<crate::pipeline::sync::FeedReport>, RemoteError> {
        let body = tar_of_dir(dir).await?;
        let url = format!("{}/v1/mirror/sync", self.base);
        let mut query = Vec::new();
        if !feeds.is_empty() {
            query.push(("feeds", feeds.join(",")));
        }
        self.post_tar(&url, &query, body).await
    }
}

impl Remote {
    /// Sends the osv.dev-style tree `dir` (as a tar) to `POST /v1/import`
    /// as feed `feed`; the server's report, its error texts naming `dir`.
    pub async fn import(
        &self,
        dir: &Path,
        feed: &str,
    ) -> Result<crate::pipeline::export::ImportReport, RemoteError> {
        let body = tar_of_dir(dir).await?;
        let url = format!("{}/v1/import", self.base);
        let mut report: crate::pipeline::export::ImportReport = self
            .post_tar(&url, &[("feed", feed.to_string())], body)
            .await?;
        let shown = dir.display().to_string();
        let shown = shown.trim_end_matches('/');
        for error in &mut report.errors {
            *error = error.replace(crate::api::IMPORT_TREE_ROOT, shown);
        }
        Ok(report)
    }

    /// POSTs `body` to `url` with `query` and the admin token; the
    /// answer's status and bytes.
    async fn send(
        &self,
        url: &str,
        query: &[(&str, String)],
        content_type: Option<&'static str>,
        body: Vec<u8>,
    ) -> Result<(u16, bytes::Bytes), RemoteError> {
        let target =
            reqwest::Url::parse_with_params(url, query).map_err(|e| RemoteError::Refused {
                url: url.to_string(),
                status: 0,
                message: format!("not a URL: {e}"),
            })?;
        let mut request = self.client.post(target).bearer_auth(&self.token);
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        let http = |source| RemoteError::Http {
            url: url.to_string(),
            source,
        };
        let response = match request.body(body).send().await {
            Ok(response) => response,
            // A server refusing a request (a wrong token, say) answers before
            // reading the body and closes the connection; the client may then
            // see only its upload cut off. A read-only admin request learns
            // the refusal; any other answer keeps the first error.
            Err(cut) => match self.refusal().await {
                Some(refused) => return Ok(refused),
                None => return Err(http(cut)),
            },
        };
        let status = response.status().as_u16();
        let bytes = response.bytes().await.map_err(http)?;
        Ok((status, bytes))
    }

    /// The server's refusal of this client's token (401 or 403, with its
    /// body, empty if that cannot be read: the status alone names the
    /// refusal), asked with a request that changes nothing
    /// (`GET /v1/subscriptions`, admin only); `None` when it is accepted or
    /// the server cannot be asked.
    async fn refusal(&self) -> Option<(u16, bytes::Bytes)> {
        let response = self
            .client
            .get(format!("{}/v1/subscriptions", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .ok()?;
        let status = response.status().as_u16();
        if status != 401 && status != 403 {
            return None;
        }
        Some((status, response.bytes().await.unwrap_or_default()))
    }

    /// POSTs a tar to `url` with `query`; the JSON answer, or the
    /// server's error message.
    async fn post_tar<T: serde::de::DeserializeOwned>(
        &self,
        url: &str,
        query: &[(&str, String)],
        body: Vec<u8>,
    ) -> Result<T, RemoteError> {
        let url = url.to_string();
        let (status, bytes) = self
            .send(&url, query, Some("application/x-tar"), body)
            .await?;
        if status != 200 {
            let answer: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
            return Err(RemoteError::Refused {
                url,
                status,
                message: answer["message"]
                    .as_str()
                    .unwrap_or("no message")
                    .to_string(),
            });
        }
        serde_json::from_slice(&bytes).map_err(|source| RemoteError::Answer { url, source })
    }
}

/// `dir` as an uncompressed tar (symbolic links kept as links, which the
/// server's readers skip).
async fn tar_of_dir(dir: &Path) -> Result<Vec<u8>, RemoteError> {
    let owned = dir.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let mut builder = tar::Builder::new(Vec::new());
        builder.follow_symlinks(false);
        builder
            .append_dir_all(".", &owned)
            .and_then(|()| builder.into_inner())
            .map_err(|source| RemoteError::Read {
                path: owned.clone(),
                source,
            })
    })
    .await
    .map_err(|e| RemoteError::Read {
        path: dir.to_path_buf(),
        source: std::io::Error::other(e),
    })?
}

/// The body to send for `paths`: one regular file as it is (with its
/// name), anything else packed into one uncompressed tar; and whether it
/// was packed.
fn pack(paths: &[PathBuf], follow_symlinks: bool) -> Result<(String, Vec<u8>, bool), RemoteError> {
    let read = |path: &Path, source| RemoteError::Read {
        path: path.to_path_buf(),
        source,
    };
    if let [single] = paths {
        if single.is_file() {
            let bytes = std::fs::read(single).map_err(|e| read(single, e))?;
            return Ok((base_name(single), bytes, false));
        }
    }
    let mut builder = tar::Builder::new(Vec::new());
    builder.follow_symlinks(follow_symlinks);
    for path in paths {
        let name = base_name(path);
        let meta = std::fs::metadata(path).map_err(|e| read(path, e))?;
        if meta.is_dir() {
            builder
                .append_dir_all(&name, path)
                .map_err(|e| read(path, e))?;
        } else {
            builder
                .append_path_with_name(path, &name)
                .map_err(|e| read(path, e))?;
        }
    }
    let bytes = builder
        .into_inner()
        .map_err(|e| read(Path::new("tar"), e))?;
    Ok((PACKED_NAME.to_string(), bytes, true))
}

/// The last component of `path` (`sources` when it has none, e.g. `.`).
fn base_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "sources".to_string())
}
