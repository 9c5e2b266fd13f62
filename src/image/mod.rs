//! Container images: read an image's layers (from an OCI layout, an
//! archive, an unpacked root file system or a registry), find its OS and
//! installed packages, and match them like any inventory.
//!
//! - [`reference`]: skopeo-style image references.
//! - [`source`]: manifests, indexes, platforms and blob stores.
//! - [`registry`]: the Registry HTTP API v2 client (pull, auth).
//! - [`layers`]: streaming layer application (whiteouts, compression,
//!   digests, hostile tars).
//! - [`osrelease`]: OS detection -> OSV ecosystem.
//! - [`packages`] and [`rpmdb`]: the package databases; [`language`]:
//!   language manifests (Python, npm, Cargo, Composer, Bundler).
//! - [`report`]: findings with their binary packages; table, JSON and
//!   CycloneDX output.

pub mod language;
pub mod layers;
pub mod osrelease;
pub mod packages;
pub mod reference;
pub mod registry;
pub mod report;
pub mod rpmdb;
pub mod source;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

pub use reference::ImageRef;
pub use source::Platform;

use layers::{FileTree, LayerError, TreeFile};
use osrelease::OsRelease;
use packages::{ImagePackage, PackageDbError};

/// Why an image cannot be scanned.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    /// The reference names no image.
    #[error(transparent)]
    Reference(#[from] reference::InvalidReference),
    /// A file of the image cannot be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The layout, manifest or config is not what it should be.
    #[error("image layout: {0}")]
    Layout(String),
    /// No manifest of the index is for the wanted platform.
    #[error("no image for platform {wanted} (the index has: {available})")]
    NoPlatform {
        /// The platform asked for.
        wanted: String,
        /// The platforms the index lists.
        available: String,
    },
    /// A layer is corrupt, hostile or unreadable.
    #[error(transparent)]
    Layer(#[from] LayerError),
    /// A package database is unreadable.
    #[error(transparent)]
    PackageDb(#[from] PackageDbError),
    /// The registry refused or failed.
    #[error(transparent)]
    Registry(#[from] registry::RegistryError),
}

impl ImageError {
    fn io(path: &Path, source: std::io::Error) -> ImageError {
        ImageError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// Identity of a scanned image.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ImageInfo {
    /// The reference as given.
    pub reference: String,
    /// The digest of its manifest (registry and OCI layouts).
    pub manifest_digest: Option<String>,
    /// `os/arch[/variant]` from its config.
    pub platform: Option<String>,
}

/// What an image holds: its OS and installed packages.
#[derive(Debug, Clone, Serialize)]
pub struct ImageContents {
    /// The image.
    pub image: ImageInfo,
    /// Its OS (`None`: no release file).
    pub os: Option<OsRelease>,
    /// Installed packages, sorted.
    pub packages: Vec<ImagePackage>,
    /// Entries that could not be used, with the reason.
    pub skipped: Vec<String>,
}

/// How to fetch images.
#[derive(Debug, Clone)]
pub struct ScanOptions {
    /// The platform to pick from an index.
    pub platform: Platform,
    /// Registry access.
    pub registry: registry::RegistryOptions,
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            platform: Platform::host(),
            registry: registry::RegistryOptions::default(),
        }
    }
}

/// Collects the paths under `root/rel` that [`layers::is_wanted`] keeps
/// beyond the fixed ones (dpkg `status.d`, language manifests); symbolic
/// links are not followed, pseudo file systems are skipped.
fn walk_manifests(root: &Path, rel: &str, depth: usize, out: &mut Vec<String>) {
    const SKIP: &[&str] = &["proc", "sys", "dev", "run", "tmp"];
    if depth > 24 {
        return;
    }
    let Ok(entries) = std::fs::read_dir(root.join(rel)) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = if rel.is_empty() {
            name.clone()
        } else {
            format!("{rel}/{name}")
        };
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() && !(depth == 0 && SKIP.contains(&name.as_str())) {
            walk_manifests(root, &path, depth + 1, out);
        } else if kind.is_file()
            && layers::is_wanted(&path)
            && !layers::WANTED_FILES.contains(&path.as_str())
        {
            out.push(path);
        }
    }
}

/// Reads an unpacked root file system: only the files [`layers::is_wanted`] keeps.
fn read_dir(root: &Path) -> Result<FileTree, ImageError> {
    if !root.is_dir() {
        return Err(ImageError::io(
            root,
            std::io::Error::new(std::io::ErrorKind::NotFound, "not a directory"),
        ));
    }
    let mut tree = FileTree::default();
    let mut candidates: Vec<String> = layers::WANTED_FILES.iter().map(|s| s.to_string()).collect();
    walk_manifests(root, "", 0, &mut candidates);
    for rel in candidates.into_iter().filter(|p| layers::is_wanted(p)) {
        let path = root.join(&rel);
        // Links are followed inside the root only.
        let Ok(real) = path.canonicalize() else {
            continue;
        };
        let root_real = root.canonicalize().map_err(|e| ImageError::io(root, e))?;
        if !real.starts_with(&root_real) || !real.is_file() {
            continue;
        }
        let size = real.metadata().map_err(|e| ImageError::io(&real, e))?.len();
        if size > layers::MAX_MEMBER {
            return Err(LayerError::TooLarge {
                layer: root.display().to_string(),
                path: rel,
                size,
            }
            .into());
        }
        let data = std::fs::read(&real).map_err(|e| ImageError::io(&real, e))?;
        tree.insert(rel, TreeFile { data, layer: 0 });
    }
    Ok(tree)
}

/// Per (package name, version), the index of the first layer that listed it.
type FirstSeen = HashMap<(String, String), usize>;

/// Applies the layers of `resolved` in order; returns the final tree and,
/// per (package, version), the index of the first layer whose databases
/// listed it (the layer that brought it).
fn apply_layers(
    store: &mut dyn source::BlobStore,
    resolved: &source::Resolved,
) -> Result<(FileTree, FirstSeen), ImageError> {
    let mut tree = FileTree::default();
    let mut first_seen = HashMap::new();
    for (index, layer) in resolved.layers.iter().enumerate() {
        let blob = store.open(&layer.locator)?;
        let changed = layers::apply_blob(&mut tree, index, &layer.digest, blob, &layer.expect)?;
        if changed {
            // A database broken half-way through the layers is judged on the final tree.
            if let Ok(found) = packages::read(&tree, None, &|_| None, &mut Vec::new()) {
                for p in found {
                    first_seen.entry((p.name, p.version)).or_insert(index);
                }
            }
        }
    }
    Ok((tree, first_seen))
}

/// Reads an image's OS and packages. Registry references need a tokio
/// runtime `handle` (this function blocks: call it off the async threads).
pub fn read_image(
    reference: &ImageRef,
    options: &ScanOptions,
    handle: Option<&tokio::runtime::Handle>,
) -> Result<ImageContents, ImageError> {
    let (tree, resolved, first_seen) = match reference {
        ImageRef::Dir(root) => (read_dir(root)?, None, HashMap::new()),
        ImageRef::Oci { dir, tag } => {
            let index_path = dir.join("index.json");
            let index = std::fs::read(&index_path).map_err(|e| ImageError::io(&index_path, e))?;
            let mut store = source::OciDir(dir.clone());
            let resolved =
                source::resolve_layout(&mut store, &index, tag.as_deref(), &options.platform)?;
            let (tree, seen) = apply_layers(&mut store, &resolved)?;
            (tree, Some(resolved), seen)
        }
        ImageRef::OciArchive { file, tag } => {
            let archive = source::TarFile::open(file)?;
            let index = archive.read_small("index.json")?;
            let mut store = source::OciArchive(archive);
            let resolved =
                source::resolve_layout(&mut store, &index, tag.as_deref(), &options.platform)?;
            let (tree, seen) = apply_layers(&mut store, &resolved)?;
            (tree, Some(resolved), seen)
        }
        ImageRef::DockerArchive { file } => {
            let mut store = source::DockerArchive(source::TarFile::open(file)?);
            let resolved = store.resolve()?;
            let (tree, seen) = apply_layers(&mut store, &resolved)?;
            (tree, Some(resolved), seen)
        }
        ImageRef::Registry { .. } => {
            let handle = handle.ok_or_else(|| {
                ImageError::Layout("pulling from a registry needs an async runtime".into())
            })?;
            let (mut store, digest, bytes) =
                registry::RegistryStore::connect(handle.clone(), reference, &options.registry)?;
            let resolved = source::resolve(&mut store, digest, bytes, &options.platform)?;
            let (tree, seen) = apply_layers(&mut store, &resolved)?;
            (tree, Some(resolved), seen)
        }
    };
    let os = osrelease::detect(&tree);
    let mut skipped = Vec::new();
    match &os {
        None => skipped.push("no os-release or release file: packages cannot be matched".into()),
        Some(o) if o.ecosystem.is_none() => skipped.push(format!(
            "OS {} {} has no advisory ecosystem in advisord: its packages are listed, not matched",
            o.id,
            o.version_id.as_deref().unwrap_or("")
        )),
        _ => {}
    }
    let digests: Vec<String> = resolved
        .as_ref()
        .map(|r| r.layers.iter().map(|l| l.digest.clone()).collect())
        .unwrap_or_default();
    let layer_of = |i: usize| digests.get(i).cloned();
    let mut packages = packages::read(&tree, os.as_ref(), &layer_of, &mut skipped)?;
    for p in &mut packages {
        if let Some(i) = first_seen.get(&(p.name.clone(), p.version.clone())) {
            p.layer = layer_of(*i);
        }
    }
    Ok(ImageContents {
        image: ImageInfo {
            reference: reference.to_string(),
            manifest_digest: resolved.as_ref().and_then(|r| r.manifest_digest.clone()),
            platform: resolved.and_then(|r| r.platform),
        },
        os,
        packages,
        skipped,
    })
}
