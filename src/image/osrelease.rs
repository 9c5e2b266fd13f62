//! The image's operating system: `etc/os-release` (or `usr/lib/os-release`),
//! with `etc/alpine-release` and `etc/redhat-release` as fallbacks, mapped to
//! the OSV ecosystem advisord stores advisories under (`Alpine:v3.4`,
//! `Debian:12`, `Ubuntu:22.04:LTS`, `Red Hat:enterprise_linux:9`...).
//! An OS advisord has no ecosystem for is reported with `ecosystem: None`,
//! never guessed.

use serde::Serialize;

use super::layers::FileTree;

/// The operating system an image says it runs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct OsRelease {
    /// `ID` (`alpine`, `debian`, `rhel`).
    pub id: String,
    /// `VERSION_ID` (`3.4.6`, `12`).
    pub version_id: Option<String>,
    /// `PRETTY_NAME`, for people.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pretty_name: Option<String>,
    /// The OSV ecosystem its packages are matched in, when advisord has one.
    pub ecosystem: Option<String>,
}

/// Parses os-release `KEY=value` lines (values optionally quoted).
fn fields(text: &str) -> Vec<(&str, String)> {
    text.lines()
        .filter_map(|l| l.trim().split_once('='))
        .map(|(k, v)| {
            let v = v.trim();
            let unquoted = v
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .or_else(|| v.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
                .unwrap_or(v);
            (k.trim(), unquoted.replace("\\\"", "\""))
        })
        .collect()
}

/// `major.minor` of a dotted version (`3.4.6` -> `3.4`).
fn major_minor(v: &str) -> String {
    v.split('.').take(2).collect::<Vec<_>>().join(".")
}

/// The part before the first `.` (`8.8` -> `8`).
fn major(v: &str) -> &str {
    v.split('.').next().unwrap_or(v)
}

/// SUSE's service-pack spelling: `15.3` -> `15 SP3`, `15` -> `15`.
fn suse_service_pack(v: &str) -> String {
    match v.split_once('.') {
        Some((major, sp)) if sp != "0" => format!("{major} SP{sp}"),
        Some((major, _)) => major.to_string(),
        None => v.to_string(),
    }
}

/// The OSV ecosystem of an os-release `ID` / `VERSION_ID` / `VERSION`.
pub fn ecosystem(id: &str, version_id: Option<&str>, version: Option<&str>) -> Option<String> {
    let v = version_id.filter(|v| !v.is_empty());
    Some(match (id, v) {
        ("alpine", Some(v)) if v.contains("_alpha") => "Alpine:edge".to_string(),
        ("alpine", Some(v)) => format!("Alpine:v{}", major_minor(v)),
        ("debian", Some(v)) => format!("Debian:{}", major(v)),
        // testing / sid ship no VERSION_ID.
        ("debian", None) => "Debian:unstable".to_string(),
        ("ubuntu", Some(v)) if version.is_some_and(|ver| ver.contains("LTS")) => {
            format!("Ubuntu:{v}:LTS")
        }
        ("ubuntu", Some(v)) => format!("Ubuntu:{v}"),
        ("rhel", Some(v)) => format!("Red Hat:enterprise_linux:{}", major(v)),
        ("almalinux", Some(v)) => format!("AlmaLinux:{}", major(v)),
        ("rocky", Some(v)) => format!("Rocky Linux:{}", major(v)),
        ("ol", Some(v)) => format!("Oracle Linux:{}", major(v)),
        ("sles" | "sle_hpc" | "sle-micro", Some(v)) => {
            format!("SUSE:Linux Enterprise Server {}", suse_service_pack(v))
        }
        ("sled", Some(v)) => format!("SUSE:Linux Enterprise Desktop {}", suse_service_pack(v)),
        ("opensuse-leap", Some(v)) => format!("openSUSE:Leap {v}"),
        ("opensuse-leap-micro", Some(v)) => format!("openSUSE:Leap Micro {v}"),
        ("opensuse-tumbleweed", _) => "openSUSE:Tumbleweed".to_string(),
        ("mariner" | "azurelinux", Some(v)) => format!("Azure Linux:{}", major(v)),
        ("wolfi", _) => "Wolfi".to_string(),
        ("chainguard", _) => "Chainguard".to_string(),
        _ => return None,
    })
}

/// Parses os-release text.
pub fn parse_os_release(text: &str) -> Option<OsRelease> {
    let fields = fields(text);
    let get = |key: &str| {
        fields
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.clone())
            .filter(|v| !v.is_empty())
    };
    let id = get("ID")?.to_lowercase();
    let version_id = get("VERSION_ID");
    let ecosystem = ecosystem(&id, version_id.as_deref(), get("VERSION").as_deref());
    Some(OsRelease {
        id,
        version_id,
        pretty_name: get("PRETTY_NAME"),
        ecosystem,
    })
}

/// Parses `redhat-release` / `system-release` (`Rocky Linux release 8.5 (Green Obsidian)`).
pub fn parse_redhat_release(text: &str) -> Option<OsRelease> {
    let line = text.lines().next()?.trim();
    let (name, rest) = line.split_once(" release ")?;
    let version = rest.split_whitespace().next()?.to_string();
    let id = match name {
        n if n.starts_with("Red Hat Enterprise Linux") => "rhel",
        n if n.starts_with("AlmaLinux") => "almalinux",
        n if n.starts_with("Rocky Linux") => "rocky",
        n if n.starts_with("Oracle Linux") => "ol",
        n if n.starts_with("CBL-Mariner") => "mariner",
        n if n.starts_with("CentOS") => "centos",
        n if n.starts_with("Fedora") => "fedora",
        _ => return None,
    };
    Some(OsRelease {
        id: id.to_string(),
        ecosystem: ecosystem(id, Some(&version), None),
        version_id: Some(version),
        pretty_name: Some(line.to_string()),
    })
}

/// The image's OS from its release files, os-release first.
pub fn detect(tree: &FileTree) -> Option<OsRelease> {
    let text = |path: &str| {
        tree.get(path)
            .map(|f| String::from_utf8_lossy(&f.data).into_owned())
    };
    ["etc/os-release", "usr/lib/os-release"]
        .iter()
        .find_map(|p| text(p).and_then(|t| parse_os_release(&t)))
        .or_else(|| {
            let version = text("etc/alpine-release")?.trim().to_string();
            Some(OsRelease {
                id: "alpine".into(),
                ecosystem: ecosystem("alpine", Some(&version), None),
                version_id: Some(version),
                pretty_name: None,
            })
        })
        .or_else(|| {
            ["etc/redhat-release", "etc/system-release"]
                .iter()
                .find_map(|p| text(p).and_then(|t| parse_redhat_release(&t)))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn os_release_maps_to_stored_ecosystems() {
        let cases = [
            ("ID=alpine\nVERSION_ID=3.4.6\n", Some("Alpine:v3.4")),
            (
                "ID=alpine\nVERSION_ID=3.20.0_alpha20240329\n",
                Some("Alpine:edge"),
            ),
            (
                "ID=debian\nVERSION_ID=\"12\"\nVERSION=\"12 (bookworm)\"\n",
                Some("Debian:12"),
            ),
            (
                "ID=ubuntu\nVERSION_ID=\"22.04\"\nVERSION=\"22.04.3 LTS (Jammy Jellyfish)\"\n",
                Some("Ubuntu:22.04:LTS"),
            ),
            (
                "ID=ubuntu\nVERSION_ID=\"23.10\"\nVERSION=\"23.10 (Mantic Minotaur)\"\n",
                Some("Ubuntu:23.10"),
            ),
            (
                "ID=\"rhel\"\nVERSION_ID=\"8.8\"\n",
                Some("Red Hat:enterprise_linux:8"),
            ),
            (
                "ID=\"almalinux\"\nVERSION_ID=\"9.3\"\n",
                Some("AlmaLinux:9"),
            ),
            ("ID=\"rocky\"\nVERSION_ID=\"8.9\"\n", Some("Rocky Linux:8")),
            ("ID=\"ol\"\nVERSION_ID=\"7.9\"\n", Some("Oracle Linux:7")),
            (
                "ID=\"sles\"\nVERSION_ID=\"15.3\"\n",
                Some("SUSE:Linux Enterprise Server 15 SP3"),
            ),
            (
                "ID=\"opensuse-leap\"\nVERSION_ID=\"15.5\"\n",
                Some("openSUSE:Leap 15.5"),
            ),
            (
                "ID=opensuse-tumbleweed\nVERSION_ID=\"20240101\"\n",
                Some("openSUSE:Tumbleweed"),
            ),
            ("ID=mariner\nVERSION_ID=\"2.0\"\n", Some("Azure Linux:2")),
            ("ID=azurelinux\nVERSION_ID=\"3.0\"\n", Some("Azure Linux:3")),
            ("ID=wolfi\nVERSION_ID=20230201\n", Some("Wolfi")),
            ("ID=chainguard\n", Some("Chainguard")),
            ("ID=nixos\nVERSION_ID=\"23.11\"\n", None),
        ];
        for (text, want) in cases {
            let os = parse_os_release(text).unwrap();
            assert_eq!(os.ecosystem.as_deref(), want, "{text}");
            if let Some(want) = want {
                let eco = crate::model::Ecosystem::new(want).unwrap();
                assert!(eco.info().is_some(), "{want} is not a known ecosystem");
            }
        }
    }

    #[test]
    fn release_file_fallbacks() {
        let os = parse_redhat_release("Rocky Linux release 8.5 (Green Obsidian)\n").unwrap();
        assert_eq!(os.ecosystem.as_deref(), Some("Rocky Linux:8"));
        let os = parse_redhat_release("CentOS Linux release 7.9.2009 (Core)\n").unwrap();
        assert_eq!((os.id.as_str(), os.ecosystem), ("centos", None));
        let mut tree = FileTree::default();
        let file = |t: &str| super::super::layers::TreeFile {
            data: t.as_bytes().to_vec(),
            layer: 0,
        };
        tree.insert("etc/alpine-release".into(), file("3.14.2\n"));
        assert_eq!(
            detect(&tree).unwrap().ecosystem.as_deref(),
            Some("Alpine:v3.14")
        );
        tree.insert(
            "usr/lib/os-release".into(),
            file("ID=debian\nVERSION_ID=\"11\"\n"),
        );
        assert_eq!(
            detect(&tree).unwrap().ecosystem.as_deref(),
            Some("Debian:11")
        );
        assert!(detect(&FileTree::default()).is_none());
    }
}
