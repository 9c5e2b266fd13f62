//! Pulling from a registry with the Registry HTTP API v2: manifests (with
//! every manifest and index media type accepted), blobs streamed into the
//! layer reader, anonymous and bearer-token auth (answering the
//! `WWW-Authenticate` challenge), basic credentials from `--registry-auth`
//! or `~/.docker/config.json`, and plain http with `--insecure`.

use std::io::Read;
use std::path::PathBuf;
use std::sync::mpsc;

use base64::Engine;
use futures_util::StreamExt;
use reqwest::header::{HeaderMap, ACCEPT, AUTHORIZATION, WWW_AUTHENTICATE};
use reqwest::StatusCode;

use super::reference::{ImageRef, RegistryTarget};
use super::source::{sha256, BlobStore};
use super::ImageError;

/// Every manifest and index media type advisord reads.
const MANIFEST_TYPES: &str = "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.docker.distribution.manifest.v2+json";

/// Largest manifest accepted.
const MAX_MANIFEST: usize = 4 << 20;

/// How to reach registries.
#[derive(Debug, Clone, Default)]
pub struct RegistryOptions {
    /// Use plain http (loopback test registries).
    pub insecure: bool,
    /// `USER:PASS` for every registry (else `~/.docker/config.json`).
    pub auth: Option<String>,
    /// The Docker config to read credentials from (default `~/.docker/config.json`).
    pub docker_config: Option<PathBuf>,
}

/// Why a registry request failed.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The request could not be made or read.
    #[error("registry {url}: {reason}")]
    Http {
        /// The URL.
        url: String,
        /// The transport error.
        reason: String,
    },
    /// The registry answered with an error status.
    #[error("registry {url}: HTTP {status}: {body}")]
    Status {
        /// The URL.
        url: String,
        /// The status code.
        status: u16,
        /// The start of the answer.
        body: String,
    },
    /// Authentication failed or the challenge cannot be answered.
    #[error("registry {host}: authentication: {reason}")]
    Auth {
        /// The registry.
        host: String,
        /// What went wrong.
        reason: String,
    },
}

/// Basic credentials for `host`: the explicit `USER:PASS`, else the Docker config's.
fn credentials(host: &str, options: &RegistryOptions) -> Option<(String, String)> {
    if let Some((user, pass)) = options.auth.as_deref().and_then(|a| a.split_once(':')) {
        return Some((user.to_string(), pass.to_string()));
    }
    let path = options.docker_config.clone().or_else(|| {
        std::env::var_os("DOCKER_CONFIG")
            .map(|d| PathBuf::from(d).join("config.json"))
            .or_else(|| {
                std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".docker/config.json"))
            })
    })?;
    let config: serde_json::Value = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
    let auths = config.get("auths")?.as_object()?;
    let entry = auths.iter().find(|(k, _)| {
        let k = k
            .trim_start_matches("https://")
            .trim_start_matches("http://");
        k.split('/').next() == Some(host)
    })?;
    let encoded = entry.1.get("auth")?.as_str()?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, pass) = text.split_once(':')?;
    Some((user.to_string(), pass.to_string()))
}

/// The parameters of a `Bearer realm="...",service="...",scope="..."` challenge.
fn challenge_params(header: &str) -> Option<(String, Vec<(String, String)>)> {
    let rest = header.trim().strip_prefix("Bearer ")?;
    let mut params = Vec::new();
    let mut rest = rest.trim();
    while !rest.is_empty() {
        let (key, after) = rest.split_once('=')?;
        let after = after.trim_start();
        let (value, tail) = if let Some(quoted) = after.strip_prefix('"') {
            let end = quoted.find('"')?;
            (&quoted[..end], &quoted[end + 1..])
        } else {
            match after.find(',') {
                Some(end) => (&after[..end], &after[end..]),
                None => (after, ""),
            }
        };
        params.push((key.trim().to_string(), value.to_string()));
        rest = tail.trim_start_matches([',', ' ']);
    }
    let realm = params.iter().find(|(k, _)| k == "realm")?.1.clone();
    Some((
        realm,
        params.into_iter().filter(|(k, _)| k != "realm").collect(),
    ))
}

/// A connection to one repository of one registry.
pub struct RegistryStore {
    handle: tokio::runtime::Handle,
    client: reqwest::Client,
    host: String,
    base: String,
    basic: Option<(String, String)>,
    token: Option<String>,
}

impl RegistryStore {
    /// Connects and fetches the top manifest (or index) of `reference`:
    /// returns the store, the manifest's digest and its bytes.
    pub fn connect(
        handle: tokio::runtime::Handle,
        reference: &ImageRef,
        options: &RegistryOptions,
    ) -> Result<(RegistryStore, String, Vec<u8>), ImageError> {
        let ImageRef::Registry {
            host,
            repository,
            target,
        } = reference
        else {
            return Err(ImageError::Layout(format!(
                "{reference} is not a registry reference"
            )));
        };
        let scheme = if options.insecure { "http" } else { "https" };
        let client = reqwest::Client::builder()
            .user_agent(concat!("advisord/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| RegistryError::Http {
                url: host.clone(),
                reason: e.to_string(),
            })?;
        let mut store = RegistryStore {
            handle,
            client,
            host: host.clone(),
            base: format!("{scheme}://{host}/v2/{repository}"),
            basic: credentials(host, options),
            token: None,
        };
        let (name, wanted) = match target {
            RegistryTarget::Tag(t) => (t.clone(), None),
            RegistryTarget::Digest(d) => (d.clone(), Some(d.clone())),
        };
        let url = format!("{}/manifests/{name}", store.base);
        let handle = store.handle.clone();
        let (headers, body) = handle.block_on(store.get_small(&url, MANIFEST_TYPES))?;
        let actual = sha256(&body);
        let digest = match wanted {
            Some(wanted) if wanted != actual => {
                return Err(super::layers::LayerError::DigestMismatch {
                    layer: url,
                    expected: wanted,
                    actual,
                }
                .into())
            }
            _ => actual,
        };
        if let Some(said) = headers
            .get("docker-content-digest")
            .and_then(|v| v.to_str().ok())
        {
            if said != digest {
                return Err(super::layers::LayerError::DigestMismatch {
                    layer: url,
                    expected: said.to_string(),
                    actual: digest,
                }
                .into());
            }
        }
        Ok((store, digest, body))
    }

    fn http(url: &str, e: impl std::fmt::Display) -> RegistryError {
        RegistryError::Http {
            url: url.to_string(),
            reason: e.to_string(),
        }
    }

    /// GET with auth: on 401 answers the challenge once and retries.
    async fn send(&mut self, url: &str, accept: &str) -> Result<reqwest::Response, RegistryError> {
        for attempt in 0..2 {
            let mut request = self.client.get(url).header(ACCEPT, accept);
            if let Some(token) = &self.token {
                request = request.header(AUTHORIZATION, format!("Bearer {token}"));
            } else if let Some((user, pass)) = &self.basic {
                request = request.basic_auth(user, Some(pass));
            }
            let response = request.send().await.map_err(|e| Self::http(url, e))?;
            if response.status() == StatusCode::UNAUTHORIZED && attempt == 0 {
                let challenge = response
                    .headers()
                    .get(WWW_AUTHENTICATE)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_string();
                if challenge.starts_with("Bearer ") {
                    self.token = Some(self.fetch_token(&challenge).await?);
                    continue;
                }
                if challenge.starts_with("Basic") && self.basic.is_some() && self.token.is_none() {
                    return Err(RegistryError::Auth {
                        host: self.host.clone(),
                        reason: "the credentials were refused".into(),
                    });
                }
                return Err(RegistryError::Auth {
                    host: self.host.clone(),
                    reason: format!("401 with challenge {challenge:?} and no usable credentials"),
                });
            }
            if !response.status().is_success() {
                let status = response.status().as_u16();
                let body = response.text().await.unwrap_or_default();
                return Err(RegistryError::Status {
                    url: url.to_string(),
                    status,
                    body: body.chars().take(300).collect(),
                });
            }
            return Ok(response);
        }
        Err(RegistryError::Auth {
            host: self.host.clone(),
            reason: "the token was refused".into(),
        })
    }

    /// Gets a bearer token from the challenge's realm (with basic
    /// credentials when there are some, anonymously otherwise).
    async fn fetch_token(&self, challenge: &str) -> Result<String, RegistryError> {
        let auth_err = |reason: String| RegistryError::Auth {
            host: self.host.clone(),
            reason,
        };
        let (realm, params) = challenge_params(challenge)
            .ok_or_else(|| auth_err(format!("unreadable challenge {challenge:?}")))?;
        let url = reqwest::Url::parse_with_params(&realm, &params)
            .map_err(|e| auth_err(format!("token realm {realm:?}: {e}")))?;
        let mut request = self.client.get(url);
        if let Some((user, pass)) = &self.basic {
            request = request.basic_auth(user, Some(pass));
        }
        let response = request.send().await.map_err(|e| Self::http(&realm, e))?;
        if !response.status().is_success() {
            return Err(auth_err(format!(
                "token realm {realm} answered {}",
                response.status()
            )));
        }
        // The answer is read as bytes: the binary builds reqwest without its
        // `json` feature (only the tests enable it).
        let bytes = response
            .bytes()
            .await
            .map_err(|e| auth_err(format!("token realm {realm}: {e}")))?;
        let body: serde_json::Value = serde_json::from_slice(&bytes)
            .map_err(|e| auth_err(format!("token realm {realm}: {e}")))?;
        body.get("token")
            .or_else(|| body.get("access_token"))
            .and_then(|t| t.as_str())
            .map(str::to_string)
            .ok_or_else(|| auth_err(format!("token realm {realm} returned no token")))
    }

    /// GETs a small document whole.
    async fn get_small(
        &mut self,
        url: &str,
        accept: &str,
    ) -> Result<(HeaderMap, Vec<u8>), RegistryError> {
        let response = self.send(url, accept).await?;
        let headers = response.headers().clone();
        let mut body = Vec::new();
        let mut stream = response.bytes_stream();
        while let Some(chunk) = stream.next().await {
            body.extend_from_slice(&chunk.map_err(|e| Self::http(url, e))?);
            if body.len() > MAX_MANIFEST {
                return Err(Self::http(url, format!("larger than {MAX_MANIFEST} bytes")));
            }
        }
        Ok((headers, body))
    }
}

/// A layer download that broke off in its body.
#[derive(Debug, thiserror::Error)]
#[error("{url}: {source}")]
struct BodyError {
    /// The blob's URL.
    url: String,
    /// The cause.
    source: reqwest::Error,
}

/// A blocking reader fed by an async download.
struct ChannelReader {
    chunks: mpsc::Receiver<Result<bytes::Bytes, BodyError>>,
    current: bytes::Bytes,
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.current.is_empty() {
            match self.chunks.recv() {
                Ok(Ok(chunk)) => self.current = chunk,
                Ok(Err(e)) => return Err(std::io::Error::other(e)),
                Err(_) => return Ok(0), // sender done: end of body
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current[..n]);
        let _ = self.current.split_to(n);
        Ok(n)
    }
}

impl BlobStore for RegistryStore {
    fn open(&mut self, locator: &str) -> Result<Box<dyn Read + Send + '_>, ImageError> {
        super::layers::check_digest_form(locator, locator)?;
        let url = format!("{}/blobs/{locator}", self.base);
        let handle = self.handle.clone();
        let response = handle.block_on(self.send(&url, "*/*"))?;
        // A few chunks in flight: memory stays flat whatever the layer size.
        let (tx, rx) = mpsc::sync_channel(16);
        handle.spawn(async move {
            let mut stream = response.bytes_stream();
            while let Some(chunk) = stream.next().await {
                let item = chunk.map_err(|source| BodyError {
                    url: url.clone(),
                    source,
                });
                let failed = item.is_err();
                if tx.send(item).is_err() || failed {
                    break;
                }
            }
        });
        Ok(Box::new(ChannelReader {
            chunks: rx,
            current: bytes::Bytes::new(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_bearer_challenges() {
        let (realm, params) = challenge_params(
            r#"Bearer realm="http://127.0.0.1:1/token",service="registry",scope="repository:a/b:pull""#,
        )
        .unwrap();
        assert_eq!(realm, "http://127.0.0.1:1/token");
        assert_eq!(
            params,
            vec![
                ("service".to_string(), "registry".to_string()),
                ("scope".to_string(), "repository:a/b:pull".to_string())
            ]
        );
        assert!(challenge_params("Basic realm=\"x\"").is_none());
    }

    #[test]
    fn credentials_from_option_or_docker_config() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("config.json");
        let auth = base64::engine::general_purpose::STANDARD.encode("alice:s3cret");
        std::fs::write(
            &config,
            format!(r#"{{"auths":{{"127.0.0.1:5000":{{"auth":"{auth}"}}}}}}"#),
        )
        .unwrap();
        let options = RegistryOptions {
            docker_config: Some(config),
            ..Default::default()
        };
        assert_eq!(
            credentials("127.0.0.1:5000", &options),
            Some(("alice".into(), "s3cret".into()))
        );
        assert_eq!(credentials("other:1", &options), None);
        let explicit = RegistryOptions {
            auth: Some("bob:pw".into()),
            ..options
        };
        assert_eq!(
            credentials("other:1", &explicit),
            Some(("bob".into(), "pw".into()))
        );
    }
}
