//! Installed packages of an image, read from its package databases
//! (dpkg `status` and distroless `status.d/*`, apk `installed`, rpm in all
//! three backends), each with the source package advisories name it by,
//! and from its language manifests ([`super::language`]).

use serde::Serialize;

use super::layers::FileTree;
use super::osrelease::OsRelease;
use super::rpmdb::{self, Backend};
use crate::inventory::{apk_entries, dpkg_entries};

/// Where package databases live, and their kind.
const DATABASES: &[(&str, DbKind)] = &[
    ("var/lib/dpkg/status", DbKind::Dpkg),
    ("lib/apk/db/installed", DbKind::Apk),
    (
        "usr/lib/sysimage/rpm/rpmdb.sqlite",
        DbKind::Rpm(Backend::Sqlite),
    ),
    (
        "usr/lib/sysimage/rpm/Packages.db",
        DbKind::Rpm(Backend::Ndb),
    ),
    ("usr/lib/sysimage/rpm/Packages", DbKind::Rpm(Backend::Bdb)),
    ("var/lib/rpm/rpmdb.sqlite", DbKind::Rpm(Backend::Sqlite)),
    ("var/lib/rpm/Packages.db", DbKind::Rpm(Backend::Ndb)),
    ("var/lib/rpm/Packages", DbKind::Rpm(Backend::Bdb)),
];

/// A package database format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DbKind {
    Dpkg,
    Apk,
    Rpm(Backend),
}

/// One installed package found in an image.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct ImagePackage {
    /// The installed (binary) package name (`libssl1.0`).
    pub name: String,
    /// The installed version (rpm: `[epoch:]version-release`).
    pub version: String,
    /// The source package (`openssl`): what advisories name.
    pub source_name: String,
    /// The source package's version when it differs (dpkg binNMUs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_version: Option<String>,
    /// The OSV ecosystem (`None`: the OS is unknown, nothing can match).
    pub ecosystem: Option<String>,
    /// Package URL.
    pub purl: String,
    /// Digest of the layer that brought this version in (`None` for `dir:`).
    pub layer: Option<String>,
    /// The rpm module stream (`nodejs:10`) of a modular package.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub module: Option<String>,
    /// The database it was read from (`var/lib/dpkg/status`).
    #[serde(skip)]
    pub database: String,
}

impl ImagePackage {
    /// The (name, version) pairs matched against advisories: the source
    /// package for dpkg and apk; for rpm both the binary and the source
    /// package, since Red Hat, SUSE and Oracle name binary rpms and others
    /// name source rpms. A modular rpm is named `<stream>/<name>` so that it
    /// only meets advisories of its own stream.
    pub fn match_names(&self) -> Vec<(String, String)> {
        let version = self
            .source_version
            .clone()
            .unwrap_or_else(|| self.version.clone());
        let mut names = vec![self.source_name.clone()];
        if self.purl.starts_with("pkg:rpm/") && self.name != self.source_name {
            names.push(self.name.clone());
        }
        names
            .into_iter()
            .map(|n| match &self.module {
                Some(stream) => (format!("{stream}/{n}"), version.clone()),
                None => (n, version.clone()),
            })
            .collect()
    }
}

/// Why a package database cannot be read.
#[derive(Debug, thiserror::Error)]
#[error("package database {path}: {reason}")]
pub struct PackageDbError {
    /// The database's path in the image.
    pub path: String,
    /// What is wrong.
    pub reason: String,
}

fn purl(
    ty: &str,
    namespace: &str,
    name: &str,
    version: &str,
    qualifiers: &[(&str, &str)],
) -> String {
    let mut purl = match packageurl::PackageUrl::new(ty.to_string(), name.to_string()) {
        Ok(p) => p,
        Err(_) => return format!("pkg:{ty}/{namespace}/{name}@{version}"),
    };
    if !namespace.is_empty() {
        let _ = purl.with_namespace(namespace.to_string());
    }
    let _ = purl.with_version(version.to_string());
    let mut sorted = qualifiers.to_vec();
    sorted.sort();
    for (k, v) in sorted.into_iter().filter(|(_, v)| !v.is_empty()) {
        let _ = purl.add_qualifier(k.to_string(), v.to_string());
    }
    purl.to_string()
}

/// Raw fields of one package, before the purl and ecosystem are added.
struct Raw {
    name: String,
    version: String,
    source_name: String,
    source_version: Option<String>,
    arch: String,
    epoch: u32,
    module: Option<String>,
}

fn dpkg(text: &str, skipped: &mut Vec<String>) -> Vec<Raw> {
    dpkg_entries(text, skipped)
        .into_iter()
        .map(|e| Raw {
            source_version: e.source_version.filter(|v| *v != e.version),
            name: e.package,
            version: e.version,
            source_name: e.source_name,
            arch: e.arch,
            epoch: 0,
            module: None,
        })
        .collect()
}

fn apk(text: &str, skipped: &mut Vec<String>) -> Vec<Raw> {
    apk_entries(text, skipped)
        .into_iter()
        .map(|e| Raw {
            name: e.package,
            version: e.version,
            source_name: e.origin,
            source_version: None,
            arch: e.arch,
            epoch: 0,
            module: None,
        })
        .collect()
}

fn rpm(backend: Backend, db: &[u8], path: &str) -> Result<Vec<Raw>, PackageDbError> {
    let packages = rpmdb::read_packages(backend, db).map_err(|e| PackageDbError {
        path: path.to_string(),
        reason: e.to_string(),
    })?;
    Ok(packages
        .into_iter()
        .filter(|p| p.name != "gpg-pubkey")
        .map(|p| Raw {
            source_name: p.source_name().unwrap_or(&p.name).to_string(),
            version: p.evr(),
            module: p.module_stream(),
            arch: p.arch.clone().unwrap_or_default(),
            epoch: p.epoch,
            name: p.name,
            source_version: None,
        })
        .collect())
}

/// Every installed package of the image as `tree` holds it, sorted; the
/// entries that could not be used go to `skipped`. `layer_digest` names
/// the layer that wrote a database.
pub fn read(
    tree: &FileTree,
    os: Option<&OsRelease>,
    layer_digest: &dyn Fn(usize) -> Option<String>,
    skipped: &mut Vec<String>,
) -> Result<Vec<ImagePackage>, PackageDbError> {
    let mut dbs: Vec<(&str, DbKind, &[u8], usize)> = Vec::new();
    for (path, kind) in DATABASES {
        if let Some(file) = tree.get(path) {
            // `var/lib/rpm` is often a link to `usr/lib/sysimage/rpm`: one rpm database.
            if matches!(kind, DbKind::Rpm(_)) && dbs.iter().any(|d| matches!(d.1, DbKind::Rpm(_))) {
                continue;
            }
            dbs.push((path, *kind, &file.data, file.layer));
        }
    }
    for (path, file) in tree.iter() {
        if path.starts_with("var/lib/dpkg/status.d/") {
            dbs.push((path, DbKind::Dpkg, &file.data, file.layer));
        }
    }
    let os_id = os.map_or("unknown", |o| o.id.as_str());
    let distro = os.map(|o| match &o.version_id {
        Some(v) => format!("{}-{v}", o.id),
        None => o.id.clone(),
    });
    let distro = distro.as_deref().unwrap_or("");
    let mut out = Vec::new();
    for (path, kind, data, layer) in dbs {
        let text = || String::from_utf8_lossy(data);
        let (raws, ty) = match kind {
            DbKind::Dpkg => (dpkg(&text(), skipped), "deb"),
            DbKind::Apk => (apk(&text(), skipped), "apk"),
            DbKind::Rpm(backend) => (rpm(backend, data, path)?, "rpm"),
        };
        for r in raws {
            let epoch = r.epoch.to_string();
            let version = if ty == "rpm" {
                r.version
                    .split_once(':')
                    .map_or(r.version.as_str(), |(_, v)| v)
                    .to_string()
            } else {
                r.version.clone()
            };
            let mut qualifiers = vec![("arch", r.arch.as_str()), ("distro", distro)];
            if r.epoch != 0 {
                qualifiers.push(("epoch", &epoch));
            }
            out.push(ImagePackage {
                purl: purl(ty, os_id, &r.name, &version, &qualifiers),
                name: r.name,
                version: r.version,
                source_name: r.source_name,
                source_version: r.source_version,
                ecosystem: os.and_then(|o| o.ecosystem.clone()),
                layer: layer_digest(layer),
                module: r.module,
                database: path.to_string(),
            });
        }
    }
    for (path, file) in tree.iter().filter(|(p, _)| super::language::is_manifest(p)) {
        for lp in super::language::read(path, &file.data) {
            let (namespace, name) = match lp.name.rsplit_once('/') {
                Some((ns, n)) if matches!(lp.purl_type, "npm" | "composer") => (ns, n),
                _ => ("", lp.name.as_str()),
            };
            out.push(ImagePackage {
                purl: purl(lp.purl_type, namespace, name, &lp.version, &[]),
                source_name: lp.name.clone(),
                name: lp.name,
                version: lp.version,
                source_version: None,
                ecosystem: Some(lp.ecosystem.to_string()),
                layer: layer_digest(file.layer),
                module: None,
                database: path.to_string(),
            });
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::layers::TreeFile;

    #[test]
    fn dpkg_status_d_and_apk_keep_binaries_and_sources() {
        let mut tree = FileTree::default();
        let file = |t: &str, layer| TreeFile {
            data: t.as_bytes().to_vec(),
            layer,
        };
        tree.insert(
            "var/lib/dpkg/status.d/libssl3".into(),
            file("Package: libssl3\nVersion: 3.0.11-1~deb12u2+b1\nArchitecture: amd64\nSource: openssl (3.0.11-1~deb12u2)\n", 1),
        );
        tree.insert(
            "var/lib/dpkg/status.d/base-files".into(),
            file(
                "Package: base-files\nVersion: 12.4\nArchitecture: amd64\n",
                0,
            ),
        );
        let os = crate::image::osrelease::parse_os_release("ID=debian\nVERSION_ID=\"12\"\n");
        let mut skipped = Vec::new();
        let layer = |i: usize| Some(format!("layer{i}"));
        let got = read(&tree, os.as_ref(), &layer, &mut skipped).unwrap();
        assert_eq!(got.len(), 2);
        let ssl = got.iter().find(|p| p.name == "libssl3").unwrap();
        assert_eq!(ssl.source_name, "openssl");
        assert_eq!(
            ssl.match_names(),
            vec![("openssl".into(), "3.0.11-1~deb12u2".into())]
        );
        assert_eq!(
            ssl.purl,
            "pkg:deb/debian/libssl3@3.0.11-1~deb12u2%2Bb1?arch=amd64&distro=debian-12"
        );
        assert_eq!(ssl.layer.as_deref(), Some("layer1"));
        assert_eq!(ssl.ecosystem.as_deref(), Some("Debian:12"));
    }
}
