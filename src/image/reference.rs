//! Image references, in skopeo's transport syntax: `dir:ROOTFS`,
//! `oci:DIR[:TAG]`, `oci-archive:FILE[:TAG]`, `docker-archive:FILE` and
//! `[docker://]HOST[:PORT]/REPO[:TAG|@sha256:DIGEST]`.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

/// A reference that cannot name an image.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid image reference {reference:?}: {reason}")]
pub struct InvalidReference {
    /// The reference as given.
    pub reference: String,
    /// Why it is refused.
    pub reason: String,
}

/// A tag or a manifest digest in a registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegistryTarget {
    /// `:latest`.
    Tag(String),
    /// `@sha256:...`.
    Digest(String),
}

/// Where an image comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageRef {
    /// An unpacked root file system.
    Dir(PathBuf),
    /// An OCI image layout directory, optionally one tag of it.
    Oci {
        /// The layout directory.
        dir: PathBuf,
        /// `org.opencontainers.image.ref.name` to pick.
        tag: Option<String>,
    },
    /// A tar of an OCI image layout.
    OciArchive {
        /// The archive.
        file: PathBuf,
        /// `org.opencontainers.image.ref.name` to pick.
        tag: Option<String>,
    },
    /// `docker save` output.
    DockerArchive {
        /// The archive.
        file: PathBuf,
    },
    /// An image in a registry speaking the Registry HTTP API v2.
    Registry {
        /// `host[:port]`.
        host: String,
        /// `library/alpine`.
        repository: String,
        /// Tag or digest (default tag `latest`).
        target: RegistryTarget,
    },
}

/// Splits `PATH[:TAG]`, the tag being a final `:` part without `/`.
fn path_and_tag(rest: &str) -> (PathBuf, Option<String>) {
    match rest.rsplit_once(':') {
        Some((path, tag)) if !tag.is_empty() && !tag.contains('/') && !path.is_empty() => {
            (PathBuf::from(path), Some(tag.to_string()))
        }
        _ => (PathBuf::from(rest), None),
    }
}

impl FromStr for ImageRef {
    type Err = InvalidReference;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let invalid = |reason: &str| InvalidReference {
            reference: s.to_string(),
            reason: reason.to_string(),
        };
        let nonempty = |rest: &str| {
            if rest.is_empty() {
                Err(invalid("no path after the transport"))
            } else {
                Ok(())
            }
        };
        if let Some(rest) = s.strip_prefix("dir:") {
            nonempty(rest)?;
            return Ok(ImageRef::Dir(PathBuf::from(rest)));
        }
        if let Some(rest) = s.strip_prefix("oci:") {
            nonempty(rest)?;
            let (dir, tag) = path_and_tag(rest);
            return Ok(ImageRef::Oci { dir, tag });
        }
        if let Some(rest) = s.strip_prefix("oci-archive:") {
            nonempty(rest)?;
            let (file, tag) = path_and_tag(rest);
            return Ok(ImageRef::OciArchive { file, tag });
        }
        if let Some(rest) = s.strip_prefix("docker-archive:") {
            nonempty(rest)?;
            return Ok(ImageRef::DockerArchive {
                file: PathBuf::from(rest),
            });
        }
        let rest = s.strip_prefix("docker://").unwrap_or(s);
        let (host, path) = rest
            .split_once('/')
            .ok_or_else(|| invalid("expected HOST[:PORT]/REPOSITORY[:TAG|@DIGEST] or a transport (dir:, oci:, oci-archive:, docker-archive:)"))?;
        if !(host.contains('.') || host.contains(':') || host == "localhost") {
            return Err(invalid("the first part must be a registry host (HOST[:PORT]); advisord has no default registry"));
        }
        let (repository, target) = match path.split_once('@') {
            Some((repo, digest)) => {
                if !digest.starts_with("sha256:") || digest.len() != 71 {
                    return Err(invalid("a digest must be sha256:<64 hex digits>"));
                }
                (repo, RegistryTarget::Digest(digest.to_string()))
            }
            None => match path.rsplit_once(':') {
                Some((repo, tag)) if !tag.contains('/') => {
                    (repo, RegistryTarget::Tag(tag.to_string()))
                }
                _ => (path, RegistryTarget::Tag("latest".into())),
            },
        };
        let valid_repo = !repository.is_empty()
            && repository.split('/').all(|part| {
                !part.is_empty()
                    && part.bytes().all(|b| {
                        b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b)
                    })
            });
        if !valid_repo {
            return Err(invalid(
                "repository names are lowercase letters, digits, '.', '_', '-' and '/'",
            ));
        }
        if let RegistryTarget::Tag(tag) = &target {
            let valid_tag = !tag.is_empty()
                && tag.len() <= 128
                && tag
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
            if !valid_tag {
                return Err(invalid("a tag is up to 128 letters, digits, '.', '_', '-'"));
            }
        }
        Ok(ImageRef::Registry {
            host: host.to_string(),
            repository: repository.to_string(),
            target,
        })
    }
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tagged =
            |f: &mut fmt::Formatter<'_>, kind: &str, p: &PathBuf, t: &Option<String>| match t {
                Some(t) => write!(f, "{kind}:{}:{t}", p.display()),
                None => write!(f, "{kind}:{}", p.display()),
            };
        match self {
            ImageRef::Dir(p) => write!(f, "dir:{}", p.display()),
            ImageRef::Oci { dir, tag } => tagged(f, "oci", dir, tag),
            ImageRef::OciArchive { file, tag } => tagged(f, "oci-archive", file, tag),
            ImageRef::DockerArchive { file } => write!(f, "docker-archive:{}", file.display()),
            ImageRef::Registry {
                host,
                repository,
                target: RegistryTarget::Tag(t),
            } => write!(f, "docker://{host}/{repository}:{t}"),
            ImageRef::Registry {
                host,
                repository,
                target: RegistryTarget::Digest(d),
            } => write!(f, "docker://{host}/{repository}@{d}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_transport_and_round_trips() {
        for (text, display) in [
            ("dir:/tmp/rootfs", "dir:/tmp/rootfs"),
            ("oci:/tmp/layout:3.4", "oci:/tmp/layout:3.4"),
            ("oci:/tmp/layout", "oci:/tmp/layout"),
            ("oci-archive:img.tar:v1", "oci-archive:img.tar:v1"),
            ("docker-archive:/x/save.tar", "docker-archive:/x/save.tar"),
            (
                "127.0.0.1:5000/alpine:3.4",
                "docker://127.0.0.1:5000/alpine:3.4",
            ),
            (
                "docker://localhost/team/app",
                "docker://localhost/team/app:latest",
            ),
        ] {
            let r: ImageRef = text.parse().unwrap();
            assert_eq!(r.to_string(), display);
            assert_eq!(r, display.parse().unwrap());
        }
        let digest = format!("registry.example:443/a/b@sha256:{}", "ab".repeat(32));
        assert!(matches!(
            digest.parse::<ImageRef>().unwrap(),
            ImageRef::Registry {
                target: RegistryTarget::Digest(_),
                ..
            }
        ));
    }

    #[test]
    fn refuses_what_names_no_image() {
        for bad in [
            "alpine:3.4",
            "dir:",
            "h.io/UPPER:1",
            "h.io/a@sha256:12",
            "h.io/a:b@d",
            "h.io/a:t%x",
        ] {
            assert!(bad.parse::<ImageRef>().is_err(), "{bad}");
        }
    }
}
