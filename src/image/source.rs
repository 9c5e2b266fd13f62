//! Finding an image's layers: OCI image layouts (directory or tar),
//! `docker save` archives, and (through [`BlobStore`]) registries. Indexes
//! and manifest lists are resolved to one manifest by platform; manifests
//! and configs are verified against their digests; layer blobs are opened as
//! streams and verified while they are read.

use std::collections::HashMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::layers::Expect;
use super::ImageError;

/// Largest manifest, index or config read into memory.
const MAX_JSON: u64 = 4 << 20;

/// `os/arch[/variant]` an image is built for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Platform {
    /// `linux`.
    pub os: String,
    /// `amd64`, `arm64`, `arm`.
    pub arch: String,
    /// `v7`, `v8`.
    pub variant: Option<String>,
}

impl Platform {
    /// The host's platform in OCI spelling.
    pub fn host() -> Platform {
        let (arch, variant) = match std::env::consts::ARCH {
            "x86_64" => ("amd64", None),
            "aarch64" => ("arm64", None),
            "x86" => ("386", None),
            "arm" => ("arm", Some("v7".to_string())),
            "powerpc64" => ("ppc64le", None),
            other => (other, None),
        };
        Platform {
            os: "linux".into(),
            arch: arch.into(),
            variant,
        }
    }

    /// Whether a descriptor's platform fits (a missing variant fits any).
    fn fits(&self, os: &str, arch: &str, variant: Option<&str>) -> bool {
        self.os == os
            && self.arch == arch
            && match (&self.variant, variant) {
                (Some(want), Some(have)) => want == have,
                _ => true,
            }
    }
}

/// A `--platform` that is not `os/arch[/variant]`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid platform {0:?}: expected os/arch[/variant]")]
pub struct InvalidPlatform(pub String);

impl std::str::FromStr for Platform {
    type Err = InvalidPlatform;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut parts = s.split('/');
        match (parts.next(), parts.next(), parts.next(), parts.next()) {
            (Some(os), Some(arch), variant, None) if !os.is_empty() && !arch.is_empty() => {
                Ok(Platform {
                    os: os.into(),
                    arch: arch.into(),
                    variant: variant.filter(|v| !v.is_empty()).map(str::to_string),
                })
            }
            _ => Err(InvalidPlatform(s.into())),
        }
    }
}

impl std::fmt::Display for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.os, self.arch)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

/// A content descriptor (OCI and Docker v2 share the fields read here).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    /// `application/vnd.oci.image.manifest.v1+json`, ...
    #[serde(default)]
    pub media_type: String,
    /// `sha256:...`.
    pub digest: String,
    /// Annotations (`org.opencontainers.image.ref.name`).
    #[serde(default)]
    pub annotations: HashMap<String, String>,
    /// The platform of an index entry.
    #[serde(default)]
    pub platform: Option<DescriptorPlatform>,
}

/// The platform of an index entry.
#[derive(Debug, Clone, Deserialize)]
pub struct DescriptorPlatform {
    /// `linux`.
    pub os: String,
    /// `amd64`.
    pub architecture: String,
    /// `v7`.
    #[serde(default)]
    pub variant: Option<String>,
}

/// An image manifest, or an index / manifest list (`manifests`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Manifest {
    #[serde(default)]
    media_type: String,
    #[serde(default)]
    manifests: Option<Vec<Descriptor>>,
    #[serde(default)]
    config: Option<Descriptor>,
    #[serde(default)]
    layers: Vec<Descriptor>,
}

/// The parts of an image config read here.
#[derive(Debug, Default, Deserialize)]
struct Config {
    #[serde(default)]
    os: String,
    #[serde(default)]
    architecture: String,
    #[serde(default)]
    variant: Option<String>,
    #[serde(default)]
    rootfs: Option<RootFs>,
}

#[derive(Debug, Default, Deserialize)]
struct RootFs {
    #[serde(default)]
    diff_ids: Vec<String>,
}

/// One layer to apply, in order.
#[derive(Debug, Clone)]
pub struct LayerRef {
    /// What names it in reports (blob digest, or `diff_id` in docker archives).
    pub digest: String,
    /// How the store finds it (a digest, or a path in a docker archive).
    pub locator: String,
    /// The digests its bytes must have.
    pub expect: Expect,
}

/// An image resolved to its layers.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// The digest of the image manifest (`None` for docker archives).
    pub manifest_digest: Option<String>,
    /// The platform its config names.
    pub platform: Option<String>,
    /// Its layers, base first.
    pub layers: Vec<LayerRef>,
}

/// Where blobs are read from: a layout directory, an archive, a registry.
pub trait BlobStore {
    /// Opens the blob `locator` (unverified: callers check digests).
    fn open(&mut self, locator: &str) -> Result<Box<dyn Read + Send + '_>, ImageError>;
}

/// `sha256:<hex>` of `data`.
pub fn sha256(data: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(data)))
}

/// Reads a small JSON blob and checks its digest.
fn read_verified(store: &mut dyn BlobStore, digest: &str) -> Result<Vec<u8>, ImageError> {
    super::layers::check_digest_form(digest, digest)?;
    let mut data = Vec::new();
    store
        .open(digest)?
        .take(MAX_JSON + 1)
        .read_to_end(&mut data)
        .map_err(|e| ImageError::Layout(format!("blob {digest}: {e}")))?;
    if data.len() as u64 > MAX_JSON {
        return Err(ImageError::Layout(format!(
            "blob {digest} is larger than {MAX_JSON} bytes"
        )));
    }
    let actual = sha256(&data);
    if actual != digest {
        return Err(super::layers::LayerError::DigestMismatch {
            layer: digest.to_string(),
            expected: digest.to_string(),
            actual,
        }
        .into());
    }
    Ok(data)
}

fn json<'a, T: Deserialize<'a>>(what: &str, data: &'a [u8]) -> Result<T, ImageError> {
    serde_json::from_slice(data).map_err(|e| ImageError::Layout(format!("{what}: {e}")))
}

/// Resolves a manifest or index (`bytes`, with digest `digest`) to an
/// image: an index picks the entry for `platform`.
pub fn resolve(
    store: &mut dyn BlobStore,
    digest: String,
    bytes: Vec<u8>,
    platform: &Platform,
) -> Result<Resolved, ImageError> {
    let mut digest = digest;
    let mut manifest: Manifest = json(&format!("manifest {digest}"), &bytes)?;
    for _depth in 0..4 {
        let Some(entries) = manifest.manifests.take() else {
            break;
        };
        let available: Vec<String> = entries
            .iter()
            .filter_map(|d| d.platform.as_ref())
            .map(|p| match &p.variant {
                Some(v) => format!("{}/{}/{v}", p.os, p.architecture),
                None => format!("{}/{}", p.os, p.architecture),
            })
            .collect();
        let chosen = entries
            .iter()
            .find(|d| {
                d.platform
                    .as_ref()
                    .is_some_and(|p| platform.fits(&p.os, &p.architecture, p.variant.as_deref()))
            })
            .or_else(|| (entries.len() == 1 && entries[0].platform.is_none()).then(|| &entries[0]))
            .ok_or_else(|| ImageError::NoPlatform {
                wanted: platform.to_string(),
                available: available.join(", "),
            })?;
        digest = chosen.digest.clone();
        let bytes = read_verified(store, &digest)?;
        manifest = json(&format!("manifest {digest}"), &bytes)?;
    }
    if manifest.manifests.is_some() {
        return Err(ImageError::Layout(format!("index {digest} nests too deep")));
    }
    let config = manifest.config.ok_or_else(|| {
        ImageError::Layout(format!(
            "manifest {digest} ({}) has no config",
            manifest.media_type
        ))
    })?;
    let config: Config = json(
        &format!("config {}", config.digest),
        &read_verified(store, &config.digest)?,
    )?;
    let layers = manifest
        .layers
        .into_iter()
        .map(|d| LayerRef {
            locator: d.digest.clone(),
            expect: Expect {
                blob: Some(d.digest.clone()),
                diff_id: None,
            },
            digest: d.digest,
        })
        .collect();
    Ok(Resolved {
        manifest_digest: Some(digest),
        platform: platform_of(&config),
        layers,
    })
}

fn platform_of(config: &Config) -> Option<String> {
    (!config.os.is_empty()).then(|| match &config.variant {
        Some(v) => format!("{}/{}/{v}", config.os, config.architecture),
        None => format!("{}/{}", config.os, config.architecture),
    })
}

/// `blobs/sha256/<hex>` for `sha256:<hex>`.
fn blob_path(digest: &str) -> Result<String, ImageError> {
    super::layers::check_digest_form(digest, digest)?;
    Ok(format!("blobs/{}", digest.replacen(':', "/", 1)))
}

/// Picks the manifest of `tag` (or the only one) from an OCI `index.json`.
fn pick_tagged(index: &[u8], tag: Option<&str>) -> Result<Descriptor, ImageError> {
    let index: Manifest = json("index.json", index)?;
    let entries = index.manifests.unwrap_or_default();
    const REF_NAME: &str = "org.opencontainers.image.ref.name";
    let tags: Vec<&str> = entries
        .iter()
        .filter_map(|d| d.annotations.get(REF_NAME).map(String::as_str))
        .collect();
    let found = match tag {
        Some(tag) => entries
            .iter()
            .find(|d| d.annotations.get(REF_NAME).is_some_and(|t| t == tag)),
        None if entries.len() == 1 => entries.first(),
        None => None,
    };
    found.cloned().ok_or_else(|| {
        ImageError::Layout(match tag {
            Some(tag) => format!(
                "index.json has no image tagged {tag:?} (tags: {})",
                tags.join(", ")
            ),
            None => format!(
                "index.json holds {} images: name one (tags: {})",
                entries.len(),
                tags.join(", ")
            ),
        })
    })
}

/// An OCI image layout directory.
pub struct OciDir(pub PathBuf);

impl BlobStore for OciDir {
    fn open(&mut self, locator: &str) -> Result<Box<dyn Read + Send + '_>, ImageError> {
        let path = self.0.join(blob_path(locator)?);
        let file = File::open(&path).map_err(|e| ImageError::io(&path, e))?;
        Ok(Box::new(file))
    }
}

/// Resolves an OCI layout (directory or archive) through its `index.json`.
pub fn resolve_layout(
    store: &mut dyn BlobStore,
    index: &[u8],
    tag: Option<&str>,
    platform: &Platform,
) -> Result<Resolved, ImageError> {
    let top = pick_tagged(index, tag)?;
    let bytes = read_verified(store, &top.digest)?;
    resolve(store, top.digest, bytes, platform)
}

/// An uncompressed tar file whose members are read in place, by offset.
pub struct TarFile {
    path: PathBuf,
    members: HashMap<String, (u64, u64)>,
}

impl TarFile {
    /// Indexes the members of the tar at `path` (one pass over its headers).
    pub fn open(path: &Path) -> Result<TarFile, ImageError> {
        let file = File::open(path).map_err(|e| ImageError::io(path, e))?;
        let mut archive = tar::Archive::new(std::io::BufReader::new(file));
        let mut members = HashMap::new();
        let bad = |e: std::io::Error| {
            ImageError::Layout(format!("{}: not a tar archive: {e}", path.display()))
        };
        let mut links = Vec::new();
        for entry in archive.entries().map_err(bad)? {
            let entry = entry.map_err(bad)?;
            let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
            let name = name.trim_start_matches("./").to_string();
            let kind = entry.header().entry_type();
            if kind.is_symlink() {
                // `docker save` links `<id>/layer.tar` to `../<hex>.tar`.
                if let Some(target) = entry.link_name_bytes() {
                    let dir = name.rsplit_once('/').map_or("", |(d, _)| d);
                    let target = String::from_utf8_lossy(&target).into_owned();
                    let joined = match target.strip_prefix("../") {
                        Some(up) => up.to_string(),
                        None if dir.is_empty() => target,
                        None => format!("{dir}/{target}"),
                    };
                    links.push((name, joined));
                }
            } else if kind.is_file() {
                members.insert(name, (entry.raw_file_position(), entry.size()));
            }
        }
        for (name, target) in links {
            if let Some(found) = members.get(&target).copied() {
                members.insert(name, found);
            }
        }
        Ok(TarFile {
            path: path.to_path_buf(),
            members,
        })
    }

    /// Opens member `name`.
    pub fn member(&self, name: &str) -> Result<Box<dyn Read + Send>, ImageError> {
        let (offset, size) = *self.members.get(name).ok_or_else(|| {
            ImageError::Layout(format!("{}: no member {name}", self.path.display()))
        })?;
        let mut file = File::open(&self.path).map_err(|e| ImageError::io(&self.path, e))?;
        file.seek(SeekFrom::Start(offset))
            .map_err(|e| ImageError::io(&self.path, e))?;
        Ok(Box::new(
            std::io::BufReader::with_capacity(256 << 10, file).take(size),
        ))
    }

    /// Reads a small member whole.
    pub fn read_small(&self, name: &str) -> Result<Vec<u8>, ImageError> {
        let mut data = Vec::new();
        self.member(name)?
            .take(MAX_JSON)
            .read_to_end(&mut data)
            .map_err(|e| ImageError::io(&self.path, e))?;
        Ok(data)
    }
}

/// A tar of an OCI layout: blobs are members.
pub struct OciArchive(pub TarFile);

impl BlobStore for OciArchive {
    fn open(&mut self, locator: &str) -> Result<Box<dyn Read + Send + '_>, ImageError> {
        self.0.member(&blob_path(locator)?)
    }
}

/// `docker save` output: layers are members named in `manifest.json`.
pub struct DockerArchive(pub TarFile);

impl BlobStore for DockerArchive {
    fn open(&mut self, locator: &str) -> Result<Box<dyn Read + Send + '_>, ImageError> {
        self.0.member(locator)
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DockerManifestEntry {
    config: String,
    layers: Vec<String>,
}

impl DockerArchive {
    /// Resolves the (only) image of the archive; layers are checked against
    /// the config's `diff_ids`, and the config against its file name.
    pub fn resolve(&self) -> Result<Resolved, ImageError> {
        let entries: Vec<DockerManifestEntry> =
            json("manifest.json", &self.0.read_small("manifest.json")?)?;
        let [entry] = entries.as_slice() else {
            return Err(ImageError::Layout(format!(
                "manifest.json holds {} images, expected one",
                entries.len()
            )));
        };
        let config_bytes = self.0.read_small(&entry.config)?;
        let config: Config = json(&format!("config {}", entry.config), &config_bytes)?;
        // The config is named by its digest (`<hex>.json`, `blobs/sha256/<hex>`).
        let hex = entry
            .config
            .trim_end_matches(".json")
            .rsplit('/')
            .next()
            .unwrap_or("");
        if hex.len() == 64 && sha256(&config_bytes) != format!("sha256:{hex}") {
            return Err(super::layers::LayerError::DigestMismatch {
                layer: entry.config.clone(),
                expected: format!("sha256:{hex}"),
                actual: sha256(&config_bytes),
            }
            .into());
        }
        let diff_ids = config
            .rootfs
            .as_ref()
            .map(|r| r.diff_ids.clone())
            .unwrap_or_default();
        if diff_ids.len() != entry.layers.len() {
            return Err(ImageError::Layout(format!(
                "config lists {} diff_ids for {} layers",
                diff_ids.len(),
                entry.layers.len()
            )));
        }
        Ok(Resolved {
            manifest_digest: None,
            platform: platform_of(&config),
            layers: entry
                .layers
                .iter()
                .zip(diff_ids)
                .map(|(path, diff_id)| LayerRef {
                    digest: diff_id.clone(),
                    locator: path.clone(),
                    expect: Expect {
                        blob: None,
                        diff_id: Some(diff_id),
                    },
                })
                .collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Blobs held in memory, by digest.
    #[derive(Default)]
    struct Memory(HashMap<String, Vec<u8>>);

    impl Memory {
        fn put(&mut self, value: serde_json::Value) -> String {
            let bytes = value.to_string().into_bytes();
            let digest = sha256(&bytes);
            self.0.insert(digest.clone(), bytes);
            digest
        }
    }

    impl BlobStore for Memory {
        fn open(&mut self, locator: &str) -> Result<Box<dyn Read + Send + '_>, ImageError> {
            let data = self
                .0
                .get(locator)
                .cloned()
                .ok_or_else(|| ImageError::Layout(format!("no blob {locator}")))?;
            Ok(Box::new(std::io::Cursor::new(data)))
        }
    }

    fn image(store: &mut Memory, arch: &str, variant: Option<&str>) -> String {
        let config =
            store.put(serde_json::json!({"os": "linux", "architecture": arch, "variant": variant}));
        let layer = format!("sha256:{}", hex::encode(Sha256::digest(arch.as_bytes())));
        store.put(serde_json::json!({"schemaVersion": 2, "config": {"digest": config},
            "layers": [{"digest": layer, "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip"}]}))
    }

    #[test]
    fn an_index_resolves_to_the_wanted_platform() {
        let mut store = Memory::default();
        let amd64 = image(&mut store, "amd64", None);
        let armv7 = image(&mut store, "arm", Some("v7"));
        let index = serde_json::json!({"schemaVersion": 2, "manifests": [
            {"digest": amd64, "platform": {"os": "linux", "architecture": "amd64"}},
            {"digest": armv7, "platform": {"os": "linux", "architecture": "arm", "variant": "v7"}}]});
        let bytes = index.to_string().into_bytes();
        let top = sha256(&bytes);
        let arm: Platform = "linux/arm/v7".parse().unwrap();
        let resolved = resolve(&mut store, top.clone(), bytes.clone(), &arm).unwrap();
        assert_eq!(resolved.manifest_digest.as_deref(), Some(armv7.as_str()));
        assert_eq!(resolved.platform.as_deref(), Some("linux/arm/v7"));
        assert_eq!(resolved.layers.len(), 1);
        let amd: Platform = "linux/amd64".parse().unwrap();
        assert_eq!(
            resolve(&mut store, top.clone(), bytes.clone(), &amd)
                .unwrap()
                .manifest_digest,
            Some(amd64)
        );
        let s390: Platform = "linux/s390x".parse().unwrap();
        let err = resolve(&mut store, top, bytes, &s390).unwrap_err();
        assert!(err.to_string().contains("linux/arm/v7"), "{err}");
        assert!("linux".parse::<Platform>().is_err());
    }

    #[test]
    fn a_tampered_manifest_is_refused() {
        let mut store = Memory::default();
        let digest = image(&mut store, "amd64", None);
        let index = serde_json::json!({"manifests": [{"digest": digest, "annotations": {"org.opencontainers.image.ref.name": "v1"}}]});
        if let Some(bytes) = store.0.get_mut(&digest) {
            bytes.push(b' ');
        }
        let err = resolve_layout(
            &mut store,
            index.to_string().as_bytes(),
            Some("v1"),
            &Platform::host(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("digest mismatch"), "{err}");
        let err = resolve_layout(
            &mut store,
            index.to_string().as_bytes(),
            Some("v2"),
            &Platform::host(),
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .contains("no image tagged \"v2\" (tags: v1)"),
            "{err}"
        );
    }
}
