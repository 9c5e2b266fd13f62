//! Where published objects live: an `object_store` bucket prefix, from a
//! `s3://bucket/prefix` URL (endpoint, region and credentials from the
//! usual `AWS_*` variables or the flags) or a `file:///dir` URL or plain
//! directory for air-gapped transfer.

use std::sync::Arc;

use bytes::Bytes;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};

use super::PublishError;

/// S3 settings given as flags; each falls back to its `AWS_*` variable.
#[derive(Debug, Clone, Default)]
pub struct S3Settings {
    /// Endpoint URL of an S3-compatible service (MinIO, SeaweedFS, GCS
    /// interoperability); `None`: AWS itself, or `AWS_ENDPOINT_URL`.
    pub endpoint: Option<String>,
    /// Region; `None`: `AWS_REGION` / `AWS_DEFAULT_REGION`.
    pub region: Option<String>,
    /// Access key and secret; `None`: `AWS_ACCESS_KEY_ID` and
    /// `AWS_SECRET_ACCESS_KEY` (or the other sources `object_store` knows).
    /// Never taken from a flag: only from the environment or code.
    pub credentials: Option<(String, String)>,
}

/// A bucket prefix holding a published tree; cloning is shallow.
#[derive(Debug, Clone)]
pub struct Remote {
    objects: Arc<dyn ObjectStore>,
    prefix: ObjectPath,
    url: String,
}

impl Remote {
    /// Opens the tree at `url`: `s3://bucket[/prefix]`, `file:///dir` or a
    /// plain directory path (created when missing).
    pub fn open(url: &str, s3: &S3Settings) -> Result<Remote, PublishError> {
        let bad = |reason: String| PublishError::Url {
            url: url.to_string(),
            reason,
        };
        if let Some(rest) = url.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err(bad("no bucket name".into()));
            }
            let mut builder =
                object_store::aws::AmazonS3Builder::from_env().with_bucket_name(bucket);
            let endpoint = s3
                .endpoint
                .clone()
                .or_else(|| std::env::var("AWS_ENDPOINT_URL").ok());
            if let Some(endpoint) = endpoint {
                // A plain-HTTP endpoint is a local service (MinIO, SeaweedFS)
                // named explicitly; S3 itself is always HTTPS.
                let plain = endpoint.starts_with("http://");
                builder = builder
                    .with_endpoint(endpoint)
                    .with_allow_http(plain)
                    .with_virtual_hosted_style_request(false);
            }
            if let Some(region) = &s3.region {
                builder = builder.with_region(region);
            }
            if let Some((key, secret)) = &s3.credentials {
                builder = builder
                    .with_access_key_id(key)
                    .with_secret_access_key(secret);
            }
            let objects = builder.build().map_err(|e| bad(e.to_string()))?;
            return Ok(Remote {
                objects: Arc::new(objects),
                prefix: ObjectPath::from(prefix.trim_matches('/')),
                url: url.to_string(),
            });
        }
        let dir = match url.strip_prefix("file://") {
            Some(path) => std::path::PathBuf::from(path),
            None if url.contains("://") => {
                return Err(bad(
                    "expected s3://bucket/prefix, file:///dir or a directory".into(),
                ))
            }
            None => std::path::PathBuf::from(url),
        };
        std::fs::create_dir_all(&dir).map_err(|source| PublishError::Local {
            path: dir.clone(),
            source,
        })?;
        let objects = object_store::local::LocalFileSystem::new_with_prefix(&dir)
            .map_err(|e| bad(e.to_string()))?;
        Ok(Remote {
            objects: Arc::new(objects),
            prefix: ObjectPath::default(),
            url: url.to_string(),
        })
    }

    /// The URL it was opened from (for logs and errors).
    pub fn url(&self) -> &str {
        &self.url
    }

    fn path(&self, name: &str) -> ObjectPath {
        name.split('/')
            .fold(self.prefix.clone(), |path, part| path.join(part))
    }

    /// The bytes of object `name`, `None` when it does not exist.
    pub async fn get(&self, name: &str) -> Result<Option<Bytes>, PublishError> {
        let failed = |e: object_store::Error| PublishError::Storage {
            operation: "read",
            object: format!("{}/{name}", self.url),
            reason: e.to_string(),
        };
        match self.objects.get(&self.path(name)).await {
            Ok(result) => result.bytes().await.map(Some).map_err(failed),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(failed(e)),
        }
    }

    /// Writes object `name` (whole: a reader sees the old bytes or the new,
    /// never part).
    pub async fn put(&self, name: &str, bytes: Vec<u8>) -> Result<(), PublishError> {
        self.objects
            .put(&self.path(name), PutPayload::from(bytes))
            .await
            .map(|_| ())
            .map_err(|e| PublishError::Storage {
                operation: "write",
                object: format!("{}/{name}", self.url),
                reason: e.to_string(),
            })
    }
}
