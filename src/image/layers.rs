//! Image layers: decompression (gzip, zstd, plain, told by magic bytes),
//! blob digest verification, and streaming tar reading that keeps only the
//! files a scan needs ([`is_wanted`]) while applying whiteouts in layer order.
//!
//! Nothing is unpacked to disk: each layer is read once, front to back; the
//! members a scan does not need are skipped as the stream passes.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};

use sha2::{Digest, Sha256};

/// Largest member read into memory (a package database); larger ones are an error.
pub const MAX_MEMBER: u64 = 256 << 20;

/// Why a layer cannot be applied.
#[derive(Debug, thiserror::Error)]
pub enum LayerError {
    /// The blob's bytes do not hash to the digest that names it.
    #[error("layer {layer}: digest mismatch: expected {expected}, content is {actual}")]
    DigestMismatch {
        /// Layer digest or name.
        layer: String,
        /// The digest the manifest gives.
        expected: String,
        /// The digest of the bytes read.
        actual: String,
    },
    /// A digest other than `sha256:<64 hex>`.
    #[error("layer {layer}: unsupported digest {digest:?} (expected sha256:<hex>)")]
    UnsupportedDigest {
        /// Layer name.
        layer: String,
        /// The digest.
        digest: String,
    },
    /// A member path that is absolute or climbs out of the root.
    #[error("layer {layer}: hostile tar member {path:?}: {reason}")]
    Hostile {
        /// Layer digest or name.
        layer: String,
        /// The member path.
        path: String,
        /// What it does (`absolute path`, `".." leaves the root`, `link leaves the root`).
        reason: String,
    },
    /// A member the scan needs is larger than [`MAX_MEMBER`].
    #[error(
        "layer {layer}: member {path:?} is {size} bytes, more than the {MAX_MEMBER}-byte limit"
    )]
    TooLarge {
        /// Layer digest or name.
        layer: String,
        /// The member path.
        path: String,
        /// Its declared size.
        size: u64,
    },
    /// The stream is not a readable (compressed) tar.
    #[error("layer {layer}: {reason}")]
    Read {
        /// Layer digest or name.
        layer: String,
        /// The tar or decompression error.
        reason: String,
    },
}

/// The fixed paths of release files and package databases a scan reads.
pub const WANTED_FILES: &[&str] = &[
    "etc/os-release",
    "usr/lib/os-release",
    "etc/alpine-release",
    "etc/redhat-release",
    "etc/system-release",
    "var/lib/dpkg/status",
    "lib/apk/db/installed",
    "var/lib/rpm/rpmdb.sqlite",
    "var/lib/rpm/Packages",
    "var/lib/rpm/Packages.db",
    "usr/lib/sysimage/rpm/rpmdb.sqlite",
    "usr/lib/sysimage/rpm/Packages",
    "usr/lib/sysimage/rpm/Packages.db",
];

/// Whether the scan reads the file at `path` (relative to the root, no
/// leading `/`): release files, package databases, language manifests.
pub fn is_wanted(path: &str) -> bool {
    if WANTED_FILES.contains(&path) {
        return true;
    }
    if let Some(name) = path.strip_prefix("var/lib/dpkg/status.d/") {
        return !name.contains('/') && !name.ends_with(".md5sums");
    }
    super::language::is_manifest(path)
}

/// One kept file: its bytes and the index of the layer that wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeFile {
    /// The content.
    pub data: Vec<u8>,
    /// Index of the layer (0 = base) that last wrote it.
    pub layer: usize,
}

/// The wanted files of the image as the layers applied so far leave them.
#[derive(Debug, Default)]
pub struct FileTree {
    files: BTreeMap<String, TreeFile>,
}

impl FileTree {
    /// The file at `path`, if the image has it.
    pub fn get(&self, path: &str) -> Option<&TreeFile> {
        self.files.get(path)
    }

    /// Every kept file, by path.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &TreeFile)> {
        self.files.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// Adds a file directly (an unpacked root file system).
    pub fn insert(&mut self, path: String, file: TreeFile) {
        self.files.insert(path, file);
    }

    /// Whether `path` or anything below it is kept.
    fn covers(&self, path: &str) -> bool {
        if path.is_empty() {
            return !self.files.is_empty();
        }
        let prefix = format!("{path}/");
        self.files.contains_key(path)
            || self
                .files
                .range(prefix.clone()..)
                .next()
                .is_some_and(|(k, _)| k.starts_with(&prefix))
    }

    /// Removes `path` and everything below it.
    fn remove_tree(&mut self, path: &str) {
        self.files.remove(path);
        let prefix = format!("{path}/");
        let below: Vec<String> = self
            .files
            .range(prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(&prefix))
            .map(|(k, _)| k.clone())
            .collect();
        for k in below {
            self.files.remove(&k);
        }
    }

    /// Removes everything below directory `dir` (`""`: the root).
    fn clear_dir(&mut self, dir: &str) {
        if dir.is_empty() {
            self.files.clear();
        } else {
            let kept = self.files.remove(dir);
            self.remove_tree(dir);
            if let Some(kept) = kept {
                self.files.insert(dir.to_string(), kept);
            }
        }
    }
}

/// Normalizes a member path (`./etc//x` -> `etc/x`), refusing absolute
/// paths (except `/`, the root itself) and `..` components.
fn clean_path(raw: &str) -> Result<String, &'static str> {
    // umoci and others write the root directory itself as `/`.
    if raw.starts_with('/') && !raw.trim_matches('/').is_empty() {
        return Err("absolute path");
    }
    let mut parts = Vec::new();
    for part in raw.split('/') {
        match part {
            "" | "." => {}
            ".." => return Err("\"..\" in the path"),
            p => parts.push(p),
        }
    }
    Ok(parts.join("/"))
}

/// Whether a relative link target, seen from the member at `path`, climbs
/// above the root.
fn link_escapes(path: &str, target: &str) -> bool {
    if target.starts_with('/') {
        return false; // resolved against the image root, as runtimes do
    }
    let mut depth = path.matches('/').count() as i64; // parent dir depth
    for part in target.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                depth -= 1;
                if depth < 0 {
                    return true;
                }
            }
            _ => depth += 1,
        }
    }
    false
}

/// A reader that hashes what passes through it.
pub struct Hashing<R> {
    inner: R,
    hasher: Sha256,
}

impl<R: Read> Hashing<R> {
    /// Wraps `inner`.
    pub fn new(inner: R) -> Self {
        Hashing {
            inner,
            hasher: Sha256::new(),
        }
    }

    /// Reads the rest of the stream and returns `sha256:<hex>` of all of it.
    pub fn finish(mut self) -> std::io::Result<String> {
        std::io::copy(&mut self, &mut std::io::sink())?;
        Ok(format!("sha256:{}", hex::encode(self.hasher.finalize())))
    }
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

/// Checks that `digest` is one this reader verifies.
pub fn check_digest_form(layer: &str, digest: &str) -> Result<(), LayerError> {
    match digest.strip_prefix("sha256:") {
        Some(hex) if hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()) => Ok(()),
        _ => Err(LayerError::UnsupportedDigest {
            layer: layer.to_string(),
            digest: digest.to_string(),
        }),
    }
}

/// Wraps `raw` in the decompressor its first bytes call for.
fn decompress<'a, R: Read + 'a>(raw: R, layer: &str) -> Result<Box<dyn Read + 'a>, LayerError> {
    let mut buffered = BufReader::with_capacity(256 << 10, raw);
    let head = buffered.fill_buf().map_err(|e| LayerError::Read {
        layer: layer.to_string(),
        reason: e.to_string(),
    })?;
    Ok(if head.starts_with(&[0x1f, 0x8b]) {
        Box::new(flate2::bufread::MultiGzDecoder::new(buffered))
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        let decoder =
            ruzstd::decoding::StreamingDecoder::new(buffered).map_err(|e| LayerError::Read {
                layer: layer.to_string(),
                reason: format!("zstd: {e}"),
            })?;
        Box::new(decoder)
    } else {
        Box::new(buffered)
    })
}

/// What to check a layer's bytes against.
#[derive(Debug, Clone, Default)]
pub struct Expect {
    /// Digest of the stored (possibly compressed) blob.
    pub blob: Option<String>,
    /// Digest of the uncompressed tar (`diff_id`).
    pub diff_id: Option<String>,
}

/// Reads one layer blob (compressed or not) and applies it on `tree`,
/// verifying the digests in `expect`. Returns whether a wanted file changed.
/// A digest mismatch is reported in preference to the tar error it causes.
pub fn apply_blob<R: Read>(
    tree: &mut FileTree,
    index: usize,
    name: &str,
    raw: R,
    expect: &Expect,
) -> Result<bool, LayerError> {
    for d in [&expect.blob, &expect.diff_id].into_iter().flatten() {
        check_digest_form(name, d)?;
    }
    let io = |e: std::io::Error| LayerError::Read {
        layer: name.to_string(),
        reason: e.to_string(),
    };
    let mut blob = Hashing::new(raw);
    let (applied, diff) = match decompress(&mut blob, name) {
        Ok(stream) => {
            let mut tar = Hashing::new(stream);
            match apply_tar(tree, index, name, &mut tar) {
                // Drain what the tar reader left (end-of-archive padding).
                Ok(changed) => match tar.finish() {
                    Ok(diff) => (Ok(changed), Some(diff)),
                    Err(e) => (Err(io(e)), None),
                },
                Err(e) => (Err(e), None),
            }
        }
        Err(e) => (Err(e), None),
    };
    let check = |expected: &Option<String>, actual: Option<String>| match (expected, actual) {
        (Some(expected), Some(actual)) if *expected != actual => Err(LayerError::DigestMismatch {
            layer: name.to_string(),
            expected: expected.clone(),
            actual,
        }),
        _ => Ok(()),
    };
    // The blob digest is checked even when the tar failed: corruption is
    // the better explanation.
    let blob_digest = blob.finish().ok();
    check(&expect.blob, blob_digest)?;
    let changed = applied?;
    check(&expect.diff_id, diff)?;
    Ok(changed)
}

/// Applies one uncompressed tar stream on `tree`.
fn apply_tar<R: Read>(
    tree: &mut FileTree,
    index: usize,
    name: &str,
    tar: R,
) -> Result<bool, LayerError> {
    let read_err = |e: std::io::Error| LayerError::Read {
        layer: name.to_string(),
        reason: format!("tar: {e}"),
    };
    let hostile = |path: &str, reason: &str| LayerError::Hostile {
        layer: name.to_string(),
        path: path.to_string(),
        reason: reason.to_string(),
    };
    let mut archive = tar::Archive::new(tar);
    let mut added: BTreeMap<String, TreeFile> = BTreeMap::new();
    let mut whiteouts: Vec<String> = Vec::new();
    let mut opaque: Vec<String> = Vec::new();
    let mut replaced: Vec<String> = Vec::new();
    for entry in archive.entries().map_err(read_err)? {
        let mut entry = entry.map_err(read_err)?;
        let raw = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let path = clean_path(&raw).map_err(|reason| hostile(&raw, reason))?;
        let kind = entry.header().entry_type();
        if kind.is_symlink() || kind.is_hard_link() {
            let target = entry
                .link_name_bytes()
                .map(|t| String::from_utf8_lossy(&t).into_owned())
                .unwrap_or_default();
            let escapes = if kind.is_hard_link() {
                clean_path(&target).is_err()
            } else {
                link_escapes(&path, &target)
            };
            if escapes {
                return Err(hostile(
                    &raw,
                    &format!("link to {target:?} leaves the root"),
                ));
            }
            if kind.is_hard_link() && is_wanted(&path) {
                let target = clean_path(&target).unwrap_or_default();
                if let Some(file) = added.get(&target).or_else(|| tree.get(&target)).cloned() {
                    added.insert(
                        path,
                        TreeFile {
                            data: file.data,
                            layer: index,
                        },
                    );
                    continue;
                }
            }
            if tree.covers(&path) {
                replaced.push(path);
            }
            continue;
        }
        let (dir, base) = path.rsplit_once('/').unwrap_or(("", path.as_str()));
        if let Some(hidden) = base.strip_prefix(".wh.") {
            if hidden == ".wh..opq" {
                opaque.push(dir.to_string());
            } else if dir.is_empty() {
                whiteouts.push(hidden.to_string());
            } else {
                whiteouts.push(format!("{dir}/{hidden}"));
            }
            continue;
        }
        if !kind.is_file() || !is_wanted(&path) {
            if !kind.is_dir() && tree.covers(&path) {
                replaced.push(path);
            }
            continue;
        }
        let size = entry.header().size().map_err(read_err)?;
        if size > MAX_MEMBER {
            return Err(LayerError::TooLarge {
                layer: name.to_string(),
                path,
                size,
            });
        }
        let mut data = Vec::with_capacity(size as usize);
        entry.read_to_end(&mut data).map_err(read_err)?;
        added.insert(path, TreeFile { data, layer: index });
    }
    let mut changed = !added.is_empty();
    for dir in &opaque {
        changed |= tree.covers(dir);
        tree.clear_dir(dir);
    }
    for path in whiteouts.iter().chain(&replaced) {
        if tree.covers(path) {
            changed = true;
            tree.remove_tree(path);
        }
    }
    for (path, file) in added {
        tree.insert(path, file);
    }
    Ok(changed)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tar with the given (path, kind, body or link target) members.
    pub(crate) fn tar_of(members: &[(&str, tar::EntryType, &str)]) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        for (path, kind, body) in members {
            let mut header = tar::Header::new_gnu();
            header.set_entry_type(*kind);
            header.set_mode(0o644);
            // Write the name bytes directly so that hostile names survive.
            let name = &mut header.as_old_mut().name;
            name[..path.len()].copy_from_slice(path.as_bytes());
            if kind.is_symlink() || kind.is_hard_link() {
                header.set_size(0);
                let link = &mut header.as_old_mut().linkname;
                link[..body.len()].copy_from_slice(body.as_bytes());
                header.set_cksum();
                builder.append(&header, std::io::empty()).unwrap();
            } else {
                header.set_size(body.len() as u64);
                header.set_cksum();
                builder.append(&header, body.as_bytes()).unwrap();
            }
        }
        builder.into_inner().unwrap()
    }

    use tar::EntryType as T;

    fn apply(tree: &mut FileTree, i: usize, tar: &[u8]) -> Result<bool, LayerError> {
        apply_blob(tree, i, &format!("layer{i}"), tar, &Expect::default())
    }

    #[test]
    fn whiteouts_and_opaque_dirs_apply_in_order() {
        let mut tree = FileTree::default();
        let base = tar_of(&[
            ("etc/", T::Directory, ""),
            ("./etc/os-release", T::Regular, "ID=debian\n"),
            ("etc/alpine-release", T::Regular, "3.4.6\n"),
            ("var/lib/dpkg/status.d/base", T::Regular, "Package: base\n"),
            ("var/lib/dpkg/status.d/base.md5sums", T::Regular, "x"),
            ("usr/bin/big", T::Regular, "not wanted"),
        ]);
        assert!(apply(&mut tree, 0, &base).unwrap());
        assert_eq!(tree.iter().count(), 3);
        let upper = tar_of(&[
            ("etc/.wh.alpine-release", T::Regular, ""),
            ("var/lib/dpkg/status.d/.wh..wh..opq", T::Regular, ""),
            ("var/lib/dpkg/status.d/new", T::Regular, "Package: new\n"),
        ]);
        assert!(apply(&mut tree, 1, &upper).unwrap());
        let paths: Vec<_> = tree.iter().map(|(p, f)| (p.to_string(), f.layer)).collect();
        assert_eq!(
            paths,
            vec![
                ("etc/os-release".to_string(), 0),
                ("var/lib/dpkg/status.d/new".to_string(), 1)
            ]
        );
        let unrelated = tar_of(&[("usr/bin/x", T::Regular, "x")]);
        assert!(!apply(&mut tree, 2, &unrelated).unwrap());
    }

    #[test]
    fn compressed_layers_and_digests() {
        let tar = tar_of(&[("etc/os-release", T::Regular, "ID=alpine\n")]);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, &tar).unwrap();
        let gz = gz.finish().unwrap();
        let digest = format!("sha256:{}", hex::encode(Sha256::digest(&gz)));
        let diff_id = format!("sha256:{}", hex::encode(Sha256::digest(&tar)));
        let mut tree = FileTree::default();
        let expect = Expect {
            blob: Some(digest.clone()),
            diff_id: Some(diff_id),
        };
        assert!(apply_blob(&mut tree, 0, "gz", &gz[..], &expect).unwrap());
        assert_eq!(tree.get("etc/os-release").unwrap().data, b"ID=alpine\n");
        let mut corrupt = gz.clone();
        let last = corrupt.len() - 12;
        corrupt[last] ^= 0xff;
        let err = apply_blob(&mut tree, 0, "gz", &corrupt[..], &expect).unwrap_err();
        assert!(matches!(err, LayerError::DigestMismatch { .. }), "{err}");
        let wrong = Expect {
            blob: Some(format!("sha256:{}", "0".repeat(64))),
            diff_id: None,
        };
        let err = apply_blob(&mut tree, 0, "plain", &tar[..], &wrong).unwrap_err();
        assert!(err.to_string().contains("digest mismatch"), "{err}");
        let bad_form = Expect {
            blob: Some("md5:abc".into()),
            diff_id: None,
        };
        assert!(matches!(
            apply_blob(&mut tree, 0, "plain", &tar[..], &bad_form),
            Err(LayerError::UnsupportedDigest { .. })
        ));
    }

    #[test]
    fn hostile_members_are_named_errors() {
        for (members, needle) in [
            (vec![("../etc/passwd", T::Regular, "x")], "\"..\""),
            (vec![("/etc/os-release", T::Regular, "x")], "absolute"),
            (
                vec![("etc/x", T::Symlink, "../../../etc/shadow")],
                "leaves the root",
            ),
            (vec![("etc/x", T::Link, "../outside")], "leaves the root"),
        ] {
            let tar = tar_of(&members);
            let err = apply(&mut FileTree::default(), 0, &tar).unwrap_err();
            assert!(matches!(err, LayerError::Hostile { .. }), "{err}");
            assert!(err.to_string().contains(needle), "{err}");
        }
        // Absolute symlinks resolve inside the image and are fine.
        let ok = tar_of(&[
            ("bin/sh", T::Symlink, "/bin/busybox"),
            ("usr/lib/x", T::Symlink, "../../lib/x"),
        ]);
        assert!(apply(&mut FileTree::default(), 0, &ok).is_ok());
        let garbage = vec![0x55u8; 1500];
        assert!(matches!(
            apply(&mut FileTree::default(), 0, &garbage),
            Err(LayerError::Read { .. })
        ));
    }
}
