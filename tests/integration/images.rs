//! Container images: the rpm databases against rpm's own listing, images
//! built with umoci and skopeo from the root file systems in
//! `../shared/data/images`, scanned through every transport; corrupt and
//! hostile layers; the talk's Alpine 3.4 case end to end.

use std::path::{Path, PathBuf};
use std::process::Command;

use advisord::image::rpmdb::{read_packages, Backend};
use serde_json::Value;

use crate::common;

/// An external tool the image tests build with (`umoci`, `skopeo`), or
/// `None` (skip) when absent; CI installs them and requires them.
pub fn tool(name: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        assert!(
            !common::require_shared(),
            "{name} is missing and ADVISORD_REQUIRE_SHARED=1 (.ci/run installs it)"
        );
        eprintln!("skipping: {name} not installed");
    }
    found
}

pub fn run(program: &Path, args: &[&str]) {
    let out = Command::new(program).args(args).output().expect("run tool");
    assert!(
        out.status.success(),
        "{} {args:?}: {}",
        program.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// An OCI layout `DIR/layout` with image `tag` whose layers are `rootfs`
/// trees: for each, the image is unpacked into a fresh bundle, the tree
/// copied in and `umoci repack` commits the difference as a layer.
pub fn oci_layout(dir: &Path, tag: &str, rootfs: &[&Path]) -> Option<PathBuf> {
    let umoci = tool("umoci")?;
    let layout = dir.join("layout");
    if !layout.exists() {
        run(&umoci, &["init", "--layout", layout.to_str()?]);
    }
    run(
        &umoci,
        &["new", "--image", &format!("{}:{tag}", layout.display())],
    );
    for tree in rootfs {
        edit_layer(&layout, tag, |root| {
            run(
                Path::new("/bin/cp"),
                &[
                    "-r",
                    &format!("{}/.", tree.display()),
                    root.to_str().unwrap(),
                ],
            );
        })?;
    }
    Some(layout)
}

/// Adds one layer to `LAYOUT:TAG`: unpacks the image, lets `edit` change
/// the root file system, repacks.
pub fn edit_layer(layout: &Path, tag: &str, edit: impl FnOnce(&Path)) -> Option<()> {
    let umoci = tool("umoci")?;
    let image = format!("{}:{tag}", layout.display());
    let bundles = layout.with_file_name("bundles");
    std::fs::create_dir_all(&bundles).ok()?;
    let bundle = tempfile::tempdir_in(&bundles).ok()?;
    let path = bundle.path().join("b");
    run(&umoci, &["unpack", "--image", &image, path.to_str()?]);
    edit(&path.join("rootfs"));
    run(&umoci, &["repack", "--image", &image, path.to_str()?]);
    Some(())
}

/// `skopeo copy oci:LAYOUT:TAG DEST`.
fn skopeo_copy(layout: &Path, tag: &str, dest: &str) -> Option<()> {
    let skopeo = tool("skopeo")?;
    run(
        &skopeo,
        &[
            "copy",
            "-q",
            &format!("oci:{}:{tag}", layout.display()),
            dest,
        ],
    );
    Some(())
}

pub fn db_arg(db: &Path) -> &str {
    db.to_str().expect("utf-8 path")
}

/// `advisord scan --image REF --json` on `db`.
pub fn scan_json(db: &Path, reference: &str) -> Value {
    scan_json_with(db, reference, &[])
}

/// `advisord scan --image REF --json EXTRA...` on `db`.
pub fn scan_json_with(db: &Path, reference: &str, extra: &[&str]) -> Value {
    let mut args = vec![
        "--db",
        db_arg(db),
        "--log",
        "error",
        "scan",
        "--image",
        reference,
        "--json",
    ];
    args.extend_from_slice(extra);
    serde_json::from_str(&common::advisord_ok(&args)).expect("scan JSON")
}

/// `advisord ingest --format FORMAT PATH` into `db`.
pub fn ingest(db: &Path, format: &str, path: &str) {
    common::ingest_report(db, format, None, Path::new(path));
}

#[test]
fn rpm_databases_equal_what_rpm_lists() {
    let Some(root) = common::shared("data/images/rpmdb") else {
        return;
    };
    for (db, file, backend) in [
        ("sle15-bci", "Packages.db", Backend::Ndb),
        ("cbl-mariner-2.0", "rpmdb.sqlite", Backend::Sqlite),
        ("libuuid-bdb", "Packages", Backend::Bdb),
    ] {
        let bytes = std::fs::read(root.join(db).join(file)).expect("read database");
        let none = || "(none)".to_string();
        let mut got: Vec<String> = read_packages(backend, &bytes)
            .unwrap_or_else(|e| panic!("{db}: {e}"))
            .into_iter()
            .map(|p| {
                [
                    p.name,
                    p.epoch.to_string(),
                    p.version,
                    p.release,
                    p.arch.unwrap_or_else(none),
                    p.source_rpm.unwrap_or_else(none),
                    p.modularity_label.unwrap_or_else(none),
                ]
                .join("\t")
            })
            .collect();
        got.sort();
        let expected =
            std::fs::read_to_string(root.join(format!("{db}.expected.tsv"))).expect("tsv");
        let mut want: Vec<String> = expected.lines().map(str::to_string).collect();
        want.sort();
        assert!(!want.is_empty(), "{db}: empty expected list");
        assert_eq!(got, want, "{db}");
    }
}

#[test]
fn debian_12_image_lists_every_installed_package() {
    let Some(rootfs) = common::shared("data/images/debian-12") else {
        return;
    };
    let status = std::fs::read_to_string(rootfs.join("var/lib/dpkg/status")).expect("status");
    let installed: std::collections::BTreeSet<String> = status
        .split("\n\n")
        .filter(|p| {
            p.lines()
                .any(|l| l.starts_with("Status:") && l.ends_with(" installed"))
        })
        .filter_map(|p| {
            p.lines()
                .find_map(|l| l.strip_prefix("Package: "))
                .map(str::to_string)
        })
        .collect();
    assert!(installed.len() > 700, "{} installed", installed.len());
    let tmp = tempfile::tempdir().expect("tempdir");
    let db = tmp.path().join("db");
    let mut references = vec![format!("dir:{}", rootfs.display())];
    if let Some(layout) = oci_layout(tmp.path(), "bookworm", &[&rootfs]) {
        references.push(format!("oci:{}:bookworm", layout.display()));
    }
    for reference in references {
        let report = scan_json(&db, &reference);
        assert_eq!(report["os"]["ecosystem"], "Debian:12", "{reference}");
        let names: std::collections::BTreeSet<String> = report["packages"]
            .as_array()
            .expect("packages")
            .iter()
            .map(|p| p["name"].as_str().expect("name").to_string())
            .collect();
        assert_eq!(names, installed, "{reference}");
        let libssl = report["packages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == "libssl3")
            .expect("libssl3");
        assert_eq!(libssl["source_name"], "openssl");
        assert!(libssl["purl"]
            .as_str()
            .unwrap()
            .starts_with("pkg:deb/debian/libssl3@"));
    }
}

/// The talk's data: the Alpine 3.4.6 root file system and Alpine's v3.4
/// secdb (`None`: skip, shared data absent).
pub fn talk_case() -> Option<(PathBuf, PathBuf)> {
    Some((
        common::shared("data/images/alpine-3.4-rootfs")?,
        common::shared("data/alpine-secdb/yaml/v3.4-main.yaml")?,
    ))
}

/// The talk's case: Alpine 3.4 with libssl1.0 1.0.2j-r0 against Alpine's
/// v3.4 secdb, through every local transport, with the same findings.
#[test]
fn alpine_3_4_image_reports_the_missing_openssl_fixes_through_every_transport() {
    let Some((rootfs, secdb)) = talk_case() else {
        return;
    };
    let tmp = tempfile::tempdir().expect("tempdir");
    let db = tmp.path().join("db");
    ingest(&db, "alpine-secdb", secdb.to_str().unwrap());
    let mut references = vec![format!("dir:{}", rootfs.display())];
    if let Some(layout) = oci_layout(tmp.path(), "3.4", &[&rootfs]) {
        references.push(format!("oci:{}:3.4", layout.display()));
        let docker = tmp.path().join("docker.tar");
        let oci_tar = tmp.path().join("oci.tar");
        if skopeo_copy(
            &layout,
            "3.4",
            &format!("docker-archive:{}", docker.display()),
        )
        .is_some()
        {
            skopeo_copy(
                &layout,
                "3.4",
                &format!("oci-archive:{}:3.4", oci_tar.display()),
            );
            references.push(format!("docker-archive:{}", docker.display()));
            references.push(format!("oci-archive:{}:3.4", oci_tar.display()));
        }
    }
    let mut first: Option<Value> = None;
    for reference in &references {
        let report = scan_json(&db, reference);
        assert_eq!(report["os"]["ecosystem"], "Alpine:v3.4", "{reference}");
        assert_eq!(report["image"]["reference"], reference.as_str());
        let findings = report["findings"].as_array().expect("findings");
        let openssl = findings
            .iter()
            .find(|f| f["package"]["name"] == "openssl")
            .unwrap_or_else(|| panic!("{reference}: no openssl finding in {findings:?}"));
        assert_eq!(openssl["package"]["version"], "1.0.2j-r0");
        assert_eq!(
            openssl["binaries"],
            serde_json::json!(["libcrypto1.0", "libssl1.0"])
        );
        let ids: Vec<&str> = openssl["advisories"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        for cve in ["CVE-2016-7055", "CVE-2017-3731", "CVE-2017-3732"] {
            let id = ids
                .iter()
                .find(|id| id.ends_with(cve))
                .unwrap_or_else(|| panic!("{reference}: {cve} missing from {ids:?}"));
            assert_eq!(
                openssl["fixed"][id],
                serde_json::json!(["1.0.2k-r0"]),
                "{cve}"
            );
        }
        assert!(
            !ids.iter().any(|id| id.ends_with("CVE-2016-7052")),
            "{ids:?}"
        );
        let libssl = report["packages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == "libssl1.0")
            .expect("libssl1.0 package");
        assert_eq!(libssl["source_name"], "openssl");
        assert_eq!(libssl["ecosystem"], "Alpine:v3.4");
        assert!(libssl["purl"]
            .as_str()
            .unwrap()
            .starts_with("pkg:apk/alpine/libssl1.0@1.0.2j-r0"));
        if !reference.starts_with("dir:") {
            assert!(
                libssl["layer"].as_str().unwrap().starts_with("sha256:"),
                "{reference}"
            );
            assert!(report["image"]["platform"]
                .as_str()
                .unwrap()
                .starts_with("linux/"));
        }
        match &first {
            None => first = Some(report["findings"].clone()),
            Some(f) => assert_eq!(f, &report["findings"], "{reference} differs"),
        }
    }
    // The table leads with package, installed, fixed, advisory, aliases.
    let table = common::advisord_ok(&[
        "--db",
        db_arg(&db),
        "scan",
        "--image",
        &references[references.len() - 1],
    ]);
    let line = table
        .lines()
        .find(|l| l.contains("CVE-2017-3731"))
        .expect("table line for CVE-2017-3731");
    let cells: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(&cells[..3], ["openssl", "1.0.2j-r0", "1.0.2k-r0"], "{line}");
    assert!(line.contains("libcrypto1.0,libssl1.0"), "{line}");
    // CycloneDX: the SBOM lists the packages, the vulnerability hits both binaries.
    let out = common::advisord_ok(&[
        "--db",
        db_arg(&db),
        "scan",
        "--image",
        &references[0],
        "--output",
        "cyclonedx",
    ]);
    let bom: Value = serde_json::from_str(&out).expect("CycloneDX JSON");
    assert_eq!(bom["bomFormat"], "CycloneDX");
    assert_eq!(bom["components"].as_array().unwrap().len(), 16);
    let vuln = bom["vulnerabilities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["id"].as_str().unwrap().ends_with("CVE-2016-7055"))
        .expect("CVE-2016-7055 vulnerability");
    assert_eq!(vuln["affects"].as_array().unwrap().len(), 2);
}

#[test]
fn corrupt_layers_and_whiteouts_in_real_layouts() {
    let Some(rootfs) = common::shared("data/images/alpine-3.4-rootfs") else {
        return;
    };
    let tmp = tempfile::tempdir().expect("tempdir");
    let db = tmp.path().join("db");
    let Some(layout) = oci_layout(tmp.path(), "t", &[&rootfs]) else {
        return;
    };
    // A second layer deletes the apk database (a whiteout): no packages remain.
    edit_layer(&layout, "t", |root| {
        std::fs::remove_file(root.join("lib/apk/db/installed")).unwrap()
    });
    let report = scan_json(&db, &format!("oci:{}:t", layout.display()));
    assert_eq!(report["packages"], serde_json::json!([]));
    assert!(report["skipped"].as_array().unwrap().is_empty());
    let manifest_digest = report["image"]["manifest_digest"]
        .as_str()
        .unwrap()
        .replace("sha256:", "");
    let manifest: Value = serde_json::from_slice(
        &std::fs::read(layout.join("blobs/sha256").join(manifest_digest)).unwrap(),
    )
    .unwrap();
    assert_eq!(
        manifest["layers"].as_array().unwrap().len(),
        2,
        "{manifest}"
    );
    assert_eq!(report["os"]["ecosystem"], "Alpine:v3.4");
    // Corrupt the largest blob (the rootfs layer) in place: named digest error.
    let blobs = layout.join("blobs/sha256");
    let largest = std::fs::read_dir(&blobs)
        .unwrap()
        .flatten()
        .max_by_key(|e| e.metadata().unwrap().len())
        .unwrap()
        .path();
    let mut bytes = std::fs::read(&largest).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x40;
    std::fs::write(&largest, bytes).unwrap();
    let out = common::advisord(&[
        "--db",
        db_arg(&db),
        "scan",
        "--image",
        &format!("oci:{}:t", layout.display()),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "corrupt {} accepted: {}",
        largest.display(),
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(stderr.contains("digest mismatch"), "{stderr}");
    assert!(
        stderr.contains(largest.file_name().unwrap().to_str().unwrap()),
        "{stderr}"
    );
}

/// A `docker save` archive whose layer tar holds `member` (a hostile one).
fn docker_archive_with(path: &Path, members: &[(&str, tar::EntryType, &str)]) {
    use sha2::Digest;
    let mut layer = tar::Builder::new(Vec::new());
    for (name, kind, body) in members {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(*kind);
        header.set_mode(0o644);
        header.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
        if kind.is_symlink() {
            header.as_old_mut().linkname[..body.len()].copy_from_slice(body.as_bytes());
            header.set_size(0);
            header.set_cksum();
            layer.append(&header, std::io::empty()).unwrap();
        } else {
            header.set_size(body.len() as u64);
            header.set_cksum();
            layer.append(&header, body.as_bytes()).unwrap();
        }
    }
    let layer = layer.into_inner().unwrap();
    let diff_id = hex::encode(sha2::Sha256::digest(&layer));
    let config = serde_json::json!({"os": "linux", "architecture": "amd64",
        "rootfs": {"type": "layers", "diff_ids": [format!("sha256:{diff_id}")]}})
    .to_string();
    let config_hex = hex::encode(sha2::Sha256::digest(config.as_bytes()));
    let manifest = serde_json::json!([{"Config": format!("{config_hex}.json"), "RepoTags": [],
        "Layers": [format!("{diff_id}.tar")]}])
    .to_string();
    let mut archive = tar::Builder::new(std::fs::File::create(path).unwrap());
    for (name, data) in [
        (format!("{diff_id}.tar"), layer),
        (format!("{config_hex}.json"), config.into_bytes()),
        ("manifest.json".to_string(), manifest.into_bytes()),
    ] {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        archive.append_data(&mut header, name, &data[..]).unwrap();
    }
    archive.finish().unwrap();
}

#[test]
fn hostile_layers_fail_with_named_errors() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let db = tmp.path().join("db");
    let archive = tmp.path().join("evil.tar");
    for (members, needle) in [
        (
            vec![(
                "../../etc/cron.d/x",
                tar::EntryType::Regular,
                "* * * * * root sh",
            )],
            "\"..\"",
        ),
        (
            vec![(
                "etc/os-release",
                tar::EntryType::Symlink,
                "../../../../etc/os-release",
            )],
            "leaves the root",
        ),
        (
            vec![("/etc/os-release", tar::EntryType::Regular, "ID=alpine")],
            "absolute path",
        ),
    ] {
        docker_archive_with(&archive, &members);
        let out = common::advisord(&[
            "--db",
            db_arg(&db),
            "scan",
            "--image",
            &format!("docker-archive:{}", archive.display()),
        ]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{members:?} accepted");
        assert!(
            stderr.contains("hostile tar member") && stderr.contains(needle),
            "{stderr}"
        );
    }
    // The same archive builder with a benign layer scans fine.
    docker_archive_with(
        &archive,
        &[(
            "etc/os-release",
            tar::EntryType::Regular,
            "ID=alpine\nVERSION_ID=3.4.6\n",
        )],
    );
    let report = scan_json(&db, &format!("docker-archive:{}", archive.display()));
    assert_eq!(report["os"]["ecosystem"], "Alpine:v3.4");
}

/// Language manifests in an image layer (a Cargo.lock, a Python
/// dist-info, an npm package) get their ecosystems and purls and are
/// matched against OSV records of those ecosystems.
#[test]
fn language_packages_in_an_image_are_matched() {
    let Some(osv) = common::shared("data/osv") else {
        return;
    };
    let tmp = tempfile::tempdir().expect("tempdir");
    let db = tmp.path().join("db");
    for record in [
        "crates.io/RUSTSEC-2023-0072.json",
        "pypi/PYSEC-2023-1.json",
        "npm/GHSA-xxxq-chmp-67g4.json",
    ] {
        ingest(&db, "osv", osv.join(record).to_str().unwrap());
    }
    let root = tmp.path().join("rootfs");
    let write = |rel: &str, text: &str| {
        let path = root.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    write("etc/os-release", "ID=debian\nVERSION_ID=\"12\"\n");
    write(
        "srv/app/Cargo.lock",
        "version = 3\n\n[[package]]\nname = \"app\"\nversion = \"0.1.0\"\ndependencies = [\n \"openssl\",\n]\n\n[[package]]\nname = \"openssl\"\nversion = \"0.10.55\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\nchecksum = \"345df152bc43501c5eb9e4654ff05f794effb78d4efe3d53abc158baddc0703d\"\n",
    );
    write(
        "usr/local/lib/python3.11/site-packages/Adyen-2.2.0.dist-info/METADATA",
        "Metadata-Version: 2.1\nName: Adyen\nVersion: 2.2.0\nSummary: Adyen Python Api\n\nA Python client library for accessing Adyen APIs\n",
    );
    write(
        "srv/web/node_modules/jsrsasign/package.json",
        r#"{"name": "jsrsasign", "version": "8.0.12", "description": "opensource free pure JavaScript cryptographic library", "main": "lib/jsrsasign.js"}"#,
    );
    let mut references = vec![format!("dir:{}", root.display())];
    if let Some(layout) = oci_layout(tmp.path(), "app", &[&root]) {
        references.push(format!("oci:{}:app", layout.display()));
    }
    for reference in references {
        let report = scan_json(&db, &reference);
        let mut purls: Vec<&str> = report["packages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["purl"].as_str().unwrap())
            .collect();
        purls.sort();
        assert_eq!(
            purls,
            [
                "pkg:cargo/openssl@0.10.55",
                "pkg:npm/jsrsasign@8.0.12",
                "pkg:pypi/adyen@2.2.0"
            ],
            "{reference}"
        );
        let found: Vec<(String, String)> = report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                (
                    f["package"]["ecosystem"].as_str().unwrap().to_string(),
                    f["advisories"][0].as_str().unwrap().to_string(),
                )
            })
            .collect();
        assert_eq!(
            found,
            [
                ("PyPI".to_string(), "PYSEC-2023-1".to_string()),
                ("crates.io".to_string(), "RUSTSEC-2023-0072".to_string()),
                ("npm".to_string(), "GHSA-xxxq-chmp-67g4".to_string())
            ],
            "{reference}"
        );
    }
}
