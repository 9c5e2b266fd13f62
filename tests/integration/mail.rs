//! Mailing-list advisories: container splitting, announcement parsers and
//! golden records over the real mails in `shared/data/mail`.
//!
//! There is no real SUSE-SU, openSUSE-SU or GLSA mail in shared data: those
//! parsers are tested only by unit tests on layouts written from the
//! published formats (`src/formats/mail/{suse,glsa}.rs`).

use std::io::Write;
use std::path::Path;

use advisord::formats::mail::{self, Container, MailStats};
use advisord::formats::{ParseItem, RecordError, SourceContext};
use advisord::model::{Advisory, Event};

use crate::common::{assert_golden, facts, shared};

fn ctx(source: &str, bytes: &[u8]) -> SourceContext {
    SourceContext::for_bytes(
        "mail-test",
        source,
        "2024-06-01T00:00:00Z".parse().expect("timestamp"),
        bytes,
    )
}

struct Parsed {
    stats: MailStats,
    records: Vec<Advisory>,
    errors: Vec<RecordError>,
}

fn parse_bytes(source: &str, bytes: &[u8]) -> Parsed {
    let mut items: Vec<ParseItem> = Vec::new();
    let stats = mail::parse(bytes, &ctx(source, bytes), &mut |i| items.push(i));
    let (mut records, mut errors) = (Vec::new(), Vec::new());
    for item in items {
        match item {
            Ok(r) => records.push(r),
            Err(e) => errors.push(e),
        }
    }
    Parsed {
        stats,
        records,
        errors,
    }
}

fn parse_file(path: &Path) -> Parsed {
    let bytes = std::fs::read(path).expect("read shared file");
    parse_bytes(&path.display().to_string(), &bytes)
}

fn files_in(dir: &Path, suffix: &str) -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.to_string_lossy().ends_with(suffix))
        .collect();
    files.sort();
    files
}

/// `(ecosystem, package, fixed)` of every affected entry.
fn fixes(record: &Advisory) -> Vec<(String, String, String)> {
    record
        .affected
        .iter()
        .map(|a| {
            let p = a.package.as_ref().expect("package");
            let fixed = a.ranges[0]
                .events
                .iter()
                .find_map(|e| match e {
                    Event::Fixed(v) => Some(v.clone()),
                    _ => None,
                })
                .unwrap_or_default();
            (p.ecosystem.to_string(), p.name.clone(), fixed)
        })
        .collect()
}

fn has_fix(record: &Advisory, ecosystem: &str, package: &str, fixed: &str) -> bool {
    fixes(record)
        .iter()
        .any(|(e, p, f)| e == ecosystem && p == package && f == fixed)
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(bytes), &mut out).expect("gunzip");
    out
}

// ---------------------------------------------------------------- Debian

#[test]
fn debian_dsa_and_dla_golden() {
    let Some(dir) = shared("data/mail/debian") else {
        return;
    };
    let mut records = Vec::new();
    for file in files_in(&dir, "") {
        let parsed = parse_file(&file);
        assert!(parsed.errors.is_empty(), "{file:?}: {:?}", parsed.errors);
        assert_eq!(parsed.records.len(), 1, "{file:?}");
        records.extend(parsed.records);
    }
    assert_eq!(records.len(), 13);
    let by_id = |id: &str| {
        records
            .iter()
            .find(|r| r.id.as_str() == id)
            .unwrap_or_else(|| panic!("{id} missing"))
    };
    // Two suites in prose, source package (not the binary libglib2.0-0).
    let glib = by_id("DSA-5682-1");
    // A bare body has no Date header: the header block's date is used.
    assert_eq!(
        glib.published.as_ref().map(|t| t.as_str()),
        Some("2024-05-07T00:00:00Z")
    );
    assert_eq!(glib.modified.as_str(), "2024-05-07T00:00:00Z");
    let details = glib.details.as_deref().unwrap_or_default();
    assert!(
        details.starts_with("Alicia Boya Garcia reported"),
        "{details}"
    );
    assert!(
        details.ends_with("after fixing CVE-2024-34397."),
        "{details}"
    );
    assert_eq!(fixes(glib).len(), 2);
    assert!(has_fix(glib, "Debian:11", "glib2.0", "2.66.8-1+deb11u2"));
    assert!(has_fix(glib, "Debian:12", "glib2.0", "2.74.6-2+deb12u1"));
    // 40 CVEs wrapped under the value column; epoch kept; LTS wording.
    let vim = by_id("DLA-3182-1");
    assert_eq!(vim.aliases.len(), 40);
    assert_eq!(vim.aliases[39].as_str(), "CVE-2022-3705");
    assert!(has_fix(vim, "Debian:10", "vim", "2:8.1.0875-5+deb10u3"));
    // Version wrapped onto the next line.
    assert!(has_fix(
        by_id("DLA-4037-1"),
        "Debian:11",
        "openjdk-11",
        "11.0.26+4-1~deb11u1"
    ));
    // PGP armour stripped, tilde version.
    assert!(has_fix(
        by_id("DSA-5639-1"),
        "Debian:12",
        "chromium",
        "122.0.6261.128-1~deb12u1"
    ));
    // 2008 kernel: the rebuilt-packages matrix adds two source packages.
    let kernel = by_id("DSA-1565-1");
    assert_eq!(kernel.aliases.len(), 4);
    assert!(has_fix(
        kernel,
        "Debian:4.0",
        "linux-2.6",
        "2.6.18.dfsg.1-18etch3"
    ));
    assert!(has_fix(
        kernel,
        "Debian:4.0",
        "fai-kernels",
        "1.17+etch.18etch3"
    ));
    // "CVE 2008-1693" (space instead of hyphen) is still an alias.
    assert_eq!(by_id("DSA-1606-1").aliases[0].as_str(), "CVE-2008-1693");
    // sid fixes name no release: only etch is kept.
    assert_eq!(
        fixes(by_id("DSA-1553-1")),
        [("Debian:4.0".into(), "ikiwiki".into(), "1.33.5".into())]
    );
    // The subject of this mail says DSA 1627-1; its signed body says
    // DSA-1628-1, and the body wins.
    assert!(records.iter().any(|r| r.id.as_str() == "DSA-1628-1"));
    // References point at the tracker and the message.
    assert!(kernel
        .references
        .iter()
        .any(|r| r.url == "mid:20080501182504.GK7270@ldl.fc.hp.com"));
    assert_golden("mail/debian", &facts(&records));
}

// ---------------------------------------------------------------- Ubuntu

#[test]
fn ubuntu_usn_messages_golden() {
    let Some(dir) = shared("data/mail/ubuntu") else {
        return;
    };
    let mut records = Vec::new();
    let mut skipped = MailStats::default().skipped;
    for file in files_in(&dir, "") {
        let parsed = parse_file(&file);
        assert!(parsed.errors.is_empty(), "{file:?}: {:?}", parsed.errors);
        records.extend(parsed.records);
        for (reason, n) in parsed.stats.skipped {
            *skipped.entry(reason).or_default() += n;
        }
    }
    // 14 files: 13 USNs and one Livepatch notice, skipped with its reason.
    assert_eq!(records.len(), 13);
    assert_eq!(skipped.len(), 1);
    assert!(skipped.keys().next().is_some_and(|r| r.contains("LSN")));
    let by_id = |id: &str| {
        records
            .iter()
            .find(|r| r.id.as_str() == id)
            .unwrap_or_else(|| panic!("{id} missing"))
    };
    // 2021: three LTS releases, one package each.
    let spam = by_id("USN-4899-1");
    assert_eq!(fixes(spam).len(), 3);
    assert!(has_fix(
        spam,
        "Ubuntu:20.04:LTS",
        "spamassassin",
        "3.4.4-1ubuntu1.1"
    ));
    let details = spam.details.as_deref().unwrap_or_default();
    assert!(
        details.starts_with("Damian Lukowski discovered"),
        "{details}"
    );
    assert!(details.ends_with("run arbitrary code."), "{details}");
    assert!(by_id("USN-142-1")
        .details
        .as_deref()
        .is_some_and(|d| d.starts_with("Charles Morris discovered")));
    // Follow-up: CVE only under References, epoch versions, rows in
    // no-break spaces, the original notice as related.
    let ntp = by_id("USN-4563-2");
    assert_eq!(
        ntp.aliases.iter().map(|a| a.as_str()).collect::<Vec<_>>(),
        ["CVE-2019-8936"]
    );
    assert_eq!(ntp.related[0].as_str(), "USN-4563-1");
    assert!(has_fix(
        ntp,
        "Ubuntu:20.10",
        "ntp",
        "1:4.2.8p12+dfsg-3ubuntu4.20.10.1"
    ));
    assert!(has_fix(
        ntp,
        "Ubuntu:20.04:LTS",
        "ntp",
        "1:4.2.8p12+dfsg-3ubuntu4.20.04.1"
    ));
    // 2005 prose era: `CAN-` id, versions per release from the .dsc list.
    let sudo = by_id("USN-142-1");
    assert_eq!(sudo.aliases[0].as_str(), "CVE-2005-1993");
    assert!(has_fix(sudo, "Ubuntu:4.10", "sudo", "1.6.7p5-1ubuntu4.2"));
    assert!(has_fix(sudo, "Ubuntu:5.04", "sudo", "1.6.8p5-1ubuntu2.1"));
    // `Ubuntu 20.04:` above a 21.04 version next to `Ubuntu 20.04 LTS:`:
    // the mislabelled section is relabelled from its version markers.
    let firefox = by_id("USN-4926-1");
    assert!(has_fix(
        firefox,
        "Ubuntu:21.04",
        "firefox",
        "88.0+build2-0ubuntu0.21.04.1"
    ));
    assert!(has_fix(
        firefox,
        "Ubuntu:20.04:LTS",
        "firefox",
        "88.0+build2-0ubuntu0.20.04.1"
    ));
    assert_eq!(fixes(firefox).len(), 5);
    // Kernel: binary rows mapped to the `linux` source by version.
    let kernel = by_id("USN-3161-1");
    assert!(has_fix(kernel, "Ubuntu:16.04:LTS", "linux", "4.4.0-57.78"));
    // ESM section -> Ubuntu Pro ecosystem.
    assert!(fixes(by_id("USN-4904-1"))
        .iter()
        .any(|(e, _, _)| e == "Ubuntu:Pro:14.04:LTS"));
    // Full-header PGP/MIME message (CRLF, multipart/signed inside
    // multipart/mixed): decoded, list archive kept as a reference.
    let signed = by_id("USN-3159-1");
    assert!(has_fix(
        signed,
        "Ubuntu:12.04:LTS",
        "linux",
        "3.2.0-119.162"
    ));
    assert!(signed
        .references
        .iter()
        .any(|r| r.url == "https://lists.ubuntu.com/archives/ubuntu-security-announce"));
    assert_golden("mail/ubuntu", &facts(&records));
}

/// Expected `(messages, advisories, skipped)` per shared monthly archive,
/// counted by hand from the archives' subject lines (LSN notices are the
/// only non-USN messages on the list in these months).
const ARCHIVES: &[(&str, usize, usize, usize)] = &[
    ("archives/ubuntu-security-announce-2005-June.txt", 10, 10, 0),
    (
        "archives/ubuntu-security-announce/2006-March.txt.gz",
        6,
        6,
        0,
    ),
    (
        "archives/ubuntu-security-announce/2007-July.txt.gz",
        14,
        14,
        0,
    ),
    (
        "archives/ubuntu-security-announce/2008-October.txt.gz",
        12,
        12,
        0,
    ),
    (
        "archives/ubuntu-security-announce/2010-February.txt.gz",
        13,
        13,
        0,
    ),
    (
        "archives/ubuntu-security-announce/2012-May.txt.gz",
        31,
        31,
        0,
    ),
    (
        "archives/ubuntu-security-announce/2013-September.txt.gz",
        45,
        45,
        0,
    ),
    (
        "archives/ubuntu-security-announce/2015-January.txt.gz",
        42,
        42,
        0,
    ),
    (
        "archives/ubuntu-security-announce/2016-December.txt.gz",
        31,
        30,
        1,
    ),
    (
        "archives/ubuntu-security-announce/2018-June.txt.gz",
        42,
        42,
        0,
    ),
    (
        "archives/ubuntu-security-announce/2019-November.txt.gz",
        47,
        46,
        1,
    ),
    (
        "archives/ubuntu-security-announce/2020-August.txt.gz",
        45,
        45,
        0,
    ),
    (
        "archives/ubuntu-security-announce-2021-April.txt",
        40,
        39,
        1,
    ),
];

/// USN ids named in `Subject:` lines, read without the splitter.
fn subject_usn_ids(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| l.strip_prefix("Subject: ["))
        .filter(|l| l.starts_with("USN-"))
        .filter_map(|l| l.split(']').next())
        .map(str::to_string)
        .collect()
}

#[test]
fn every_pipermail_archive_is_accounted_for() {
    let Some(root) = shared("data/mail") else {
        return;
    };
    let mut total = MailStats::default();
    for &(file, messages, advisories, skipped) in ARCHIVES {
        let path = root.join(file);
        let bytes = std::fs::read(&path).expect("read archive");
        let parsed = parse_bytes(file, &bytes);
        let text = if file.ends_with(".gz") {
            gunzip(&bytes)
        } else {
            bytes.clone()
        };
        let text = String::from_utf8_lossy(&text);
        // Independent count: pipermail keeps one Message-ID header per message.
        let message_ids = text
            .lines()
            .filter(|l| l.starts_with("Message-ID: <"))
            .count();
        let s = &parsed.stats;
        eprintln!(
            "{file}: {} messages, {} advisories ({} with fixed versions), {} skipped {:?}, {} errors",
            s.messages, s.advisories, s.with_fixes, s.skipped_total(), s.skipped, s.errors
        );
        assert_eq!(s.container, Some(Container::Pipermail), "{file}");
        assert_eq!(s.messages, message_ids, "{file}: split vs Message-ID count");
        assert_eq!(
            (s.messages, s.advisories, s.skipped_total(), s.errors),
            (messages, advisories, skipped, 0),
            "{file}"
        );
        assert_eq!(
            s.with_fixes, s.advisories,
            "{file}: every notice has a fixed version"
        );
        assert!(parsed.errors.is_empty(), "{file}: {:?}", parsed.errors);
        // Every USN id of a subject line is a record (`[USN-1946]` in
        // 2013-September is USN-1946-1, as its reference URL says).
        for id in subject_usn_ids(&text) {
            let id = if id == "USN-1946" {
                "USN-1946-1".to_string()
            } else {
                id
            };
            assert!(
                parsed.records.iter().any(|r| r.id.as_str() == id),
                "{file}: {id} not found"
            );
        }
        for (reason, n) in &s.skipped {
            assert!(
                reason.contains("LSN"),
                "{file}: unexpected skip {reason} x{n}"
            );
        }
        total.messages += s.messages;
        total.advisories += s.advisories;
        total.with_fixes += s.with_fixes;
    }
    eprintln!(
        "all archives: {} messages, {} advisories, {} with fixed versions",
        total.messages, total.advisories, total.with_fixes
    );
    assert_eq!(total.messages, 378);
    assert_eq!(total.advisories, 375);
}

#[test]
fn usn_archive_eras_golden() {
    let Some(root) = shared("data/mail") else {
        return;
    };
    for (file, golden) in [
        (
            "archives/ubuntu-security-announce/2006-March.txt.gz",
            "mail/usn-2006-march",
        ),
        (
            "archives/ubuntu-security-announce/2013-September.txt.gz",
            "mail/usn-2013-september",
        ),
    ] {
        let parsed = parse_file(&root.join(file));
        assert_golden(golden, &facts(&parsed.records));
    }
}

// ---------------------------------------------------------------- Red Hat

#[test]
fn redhat_rhsa_golden() {
    let Some(dir) = shared("data/mail/redhat") else {
        return;
    };
    let mut records = Vec::new();
    for file in files_in(&dir, "") {
        let parsed = parse_file(&file);
        assert!(parsed.errors.is_empty(), "{file:?}: {:?}", parsed.errors);
        records.extend(parsed.records);
    }
    assert_eq!(records.len(), 2);
    let firefox = records
        .iter()
        .find(|r| r.id.as_str() == "RHSA-2018:0549")
        .expect("RHSA-2018:0549");
    assert_eq!(firefox.aliases[0].as_str(), "CVE-2018-5146");
    assert_eq!(
        firefox
            .database_specific
            .advisord
            .as_ref()
            .and_then(|m| m.vendor_severity.as_deref()),
        Some("critical")
    );
    assert_eq!(firefox.sources()[0].upstream_id, "RHSA-2018:0549-01");
    assert_eq!(firefox.modified.as_str(), "2018-03-19T00:00:00Z");
    let details = firefox.details.as_deref().unwrap_or_default();
    assert!(
        details.starts_with("Mozilla Firefox is an open-source web browser"),
        "{details}"
    );
    assert!(
        details.ends_with("listed in the References section."),
        "{details}"
    );
    assert!(has_fix(
        firefox,
        "Red Hat:enterprise_linux:7::server",
        "firefox",
        "52.7.2-1.el7_4"
    ));
    assert!(has_fix(
        firefox,
        "Red Hat:enterprise_linux:6::client",
        "firefox-debuginfo",
        "52.7.2-1.el6_9"
    ));
    // Forwarded and quoted with `>` inside a linux-kernel list message.
    let modutils = records
        .iter()
        .find(|r| r.id.as_str() == "RHSA-2000:108")
        .expect("forwarded RHSA-2000:108");
    assert!(has_fix(
        modutils,
        "Red Hat:Red Hat Linux 7.0",
        "modutils",
        "2.3.20-1"
    ));
    assert_golden("mail/redhat", &facts(&records));
}

// ---------------------------------------------------------------- containers

/// mboxrd-escapes `message` (`>*From ` lines gain one `>`).
fn mboxrd_escape(message: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for line in message.split_inclusive(|&b| b == b'\n') {
        let quotes = line.iter().take_while(|&&b| b == b'>').count();
        if line[quotes..].starts_with(b"From ") {
            out.push(b'>');
        }
        out.extend_from_slice(line);
    }
    out
}

/// The full-header Debian mails wrapped into one mbox (synthetic `From `
/// separators, mboxrd escaping of body lines starting with "From ").
fn debian_mbox(dir: &Path) -> (Vec<Vec<u8>>, Vec<u8>) {
    let mut originals = Vec::new();
    let mut mbox = Vec::new();
    for file in files_in(dir, ".eml") {
        let mut bytes = std::fs::read(&file).expect("read");
        if bytes.starts_with(b"From ") {
            // DSA-1553-1.eml already carries its own separator line.
            let eol = bytes.iter().position(|&b| b == b'\n').expect("eol");
            bytes.drain(..=eol);
        }
        // A body line that must be escaped to survive the round trip.
        bytes.extend_from_slice(b"\nFrom the mbox test: this line starts with From.\n");
        mbox.extend_from_slice(b"From security@debian.org Thu May  1 18:35:15 2008\n");
        mbox.extend_from_slice(&mboxrd_escape(&bytes));
        mbox.extend_from_slice(b"\n");
        originals.push(bytes);
    }
    (originals, mbox)
}

#[test]
fn mbox_plain_and_gzip_round_trip() {
    let Some(dir) = shared("data/mail/debian") else {
        return;
    };
    let (originals, mbox) = debian_mbox(&dir);
    assert_eq!(originals.len(), 7);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&mbox).expect("gzip");
    let gz = gz.finish().expect("gzip");
    for bytes in [&mbox, &gz] {
        let (container, messages) =
            mail::split::split(&mail::split::decompress(bytes).expect("gz"));
        assert_eq!(container, Container::Mbox);
        assert_eq!(messages.len(), originals.len());
        for (got, want) in messages.iter().zip(&originals) {
            assert_eq!(
                String::from_utf8_lossy(&got.bytes).trim_end(),
                String::from_utf8_lossy(want).trim_end(),
                "mboxrd round trip"
            );
        }
        let parsed = parse_bytes("debian.mbox", bytes);
        assert_eq!(parsed.stats.advisories, 7);
        assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
    }
}

/// Issue 13: an mbox was split into copies of all its messages before any
/// was decoded, none bounded. Each message is now cut one at a time and
/// capped at `MAX_MESSAGE`: the real Debian announcements, one of them
/// carrying a 5 MiB attachment (refused by name and line) and one a
/// 3.9 MiB one (still read), give every other advisory.
#[test]
fn a_message_past_the_cap_is_refused_and_the_rest_is_read() {
    let Some(dir) = shared("data/mail/debian") else {
        return;
    };
    let (originals, _) = debian_mbox(&dir);
    let attachment = |bytes: usize| "QUJD".repeat(19).repeat(bytes / 77) + "\n";
    let mut mbox = Vec::new();
    let mut refused_line = 0;
    for (i, original) in originals.iter().enumerate() {
        mbox.extend_from_slice(b"From security@debian.org Thu May  1 18:35:15 2008\n");
        let mut message = original.clone();
        match i {
            2 => {
                refused_line = 1 + mbox.iter().filter(|&&b| b == b'\n').count();
                message.extend(attachment(5 << 20).bytes());
            }
            4 => message.extend(attachment(mail::split::MAX_MESSAGE - (100 << 10)).bytes()),
            _ => {}
        }
        mbox.extend_from_slice(&mboxrd_escape(&message));
        mbox.extend_from_slice(b"\n");
    }
    let parsed = parse_bytes("debian.mbox", &mbox);
    assert_eq!(parsed.stats.messages, originals.len());
    assert_eq!(parsed.stats.advisories, originals.len() - 1);
    assert_eq!(parsed.errors.len(), 1, "{:?}", parsed.errors);
    let error = &parsed.errors[0];
    assert_eq!(error.record, format!("message 3 (line {refused_line})"));
    assert!(
        error.reason.contains(&format!(
            "exceeds the cap of {} bytes",
            mail::split::MAX_MESSAGE
        )),
        "{error}"
    );
    // The refused one is the third announcement; the others all landed.
    let unpadded = parse_bytes("debian.mbox", &debian_mbox(&dir).1);
    let ids = |records: &[Advisory]| -> Vec<String> {
        records.iter().map(|r| r.id.to_string()).collect()
    };
    let mut want = ids(&unpadded.records);
    want.remove(2);
    assert_eq!(ids(&parsed.records), want);
}

#[test]
fn maildir_directory() {
    let Some(dir) = shared("data/mail/debian") else {
        return;
    };
    let maildir = tempfile::tempdir().expect("tempdir");
    for sub in ["cur", "new", "tmp"] {
        std::fs::create_dir(maildir.path().join(sub)).expect("mkdir");
    }
    let files = files_in(&dir, ".eml");
    for (i, file) in files.iter().enumerate() {
        let sub = if i % 2 == 0 { "cur" } else { "new" };
        let name = format!("{}.{i}.test:2,S", 1_700_000_000 + i);
        std::fs::copy(file, maildir.path().join(sub).join(name)).expect("copy");
    }
    assert!(mail::is_maildir(maildir.path()));
    let mut count = 0;
    let via_path = mail::parse_path(
        maildir.path(),
        "mail-test",
        "2024-06-01T00:00:00Z".parse().expect("timestamp"),
        &mut |_| count += 1,
    )
    .expect("parse_path");
    assert_eq!((via_path.messages, count), (files.len(), files.len()));
    let mut items = Vec::new();
    let stats = mail::parse_maildir(maildir.path(), &ctx("maildir", b""), &mut |i| items.push(i))
        .expect("maildir");
    assert_eq!(stats.container, Some(Container::Maildir));
    assert_eq!(stats.messages, files.len());
    assert_eq!(stats.advisories, files.len());
    assert!(items.iter().all(Result::is_ok));
}

#[test]
fn mime_digest_is_split_into_its_messages() {
    let Some(path) = shared("data/mail/digests/mailman2-mime-digest-ppp-vol1-2.eml") else {
        return;
    };
    let bytes = std::fs::read(&path).expect("read");
    // Independent count: Mailman numbers each digest part `Message: N`.
    let numbered = String::from_utf8_lossy(&bytes)
        .lines()
        .filter(|l| l.starts_with("Message: "))
        .count();
    assert_eq!(numbered, 5);
    let parsed = parse_bytes("ppp-digest", &bytes);
    assert_eq!(parsed.stats.container, Some(Container::MimeDigest));
    assert_eq!(parsed.stats.messages, numbered);
    assert_eq!(parsed.stats.advisories, 0);
    assert_eq!(parsed.stats.skipped_total(), 5);
    let (_, messages) = mail::split::split(&bytes);
    let subjects: Vec<String> = messages
        .iter()
        .enumerate()
        .map(|(i, m)| {
            mail::message::decode(m, i + 1)
                .expect("decode")
                .subject
                .unwrap_or_default()
        })
        .collect();
    // Message 2 of this digest has no Subject header.
    assert_eq!(
        subjects,
        [
            "[Ppp] testing #1",
            "",
            "[Ppp] testing #3",
            "[Ppp] testing #4",
            "[Ppp] testing #5"
        ]
    );
}

#[test]
fn plain_digest_is_split_into_its_messages() {
    let Some(path) =
        shared("data/mail/digests/mailman2-plain-digest-bitcoin-dev-vol101-issue13.txt")
    else {
        return;
    };
    let bytes = std::fs::read(&path).expect("read");
    let text = String::from_utf8_lossy(&bytes);
    let numbered = text.lines().filter(|l| l.starts_with("Message: ")).count();
    assert_eq!(numbered, 2);
    let parsed = parse_bytes("bitcoin-dev-digest", &bytes);
    assert_eq!(parsed.stats.container, Some(Container::PlainDigest));
    assert_eq!(parsed.stats.messages, numbered);
    // Both are replies in a CVE thread: discussion, not advisories.
    assert_eq!(parsed.stats.skipped.get("reply"), Some(&2));
    let (_, messages) = mail::split::split(&bytes);
    let second = mail::message::decode(&messages[1], 2).expect("decode");
    assert_eq!(second.from.as_deref(), Some("ZmnSCPxj@protonmail.com"));
    assert!(second
        .subject
        .unwrap_or_default()
        .contains("CVE-2023-40234"));
}

#[test]
fn single_message_with_headers() {
    let Some(path) = shared("data/mail/ubuntu/USN-3159-1.eml") else {
        return;
    };
    let parsed = parse_file(&path);
    assert_eq!(parsed.stats.container, Some(Container::Single));
    assert_eq!(parsed.stats.messages, 1);
    assert_eq!(
        parsed.records[0].published.as_ref().map(|t| t.as_str()),
        Some("2016-12-20T20:09:06Z")
    );
}

// ---------------------------------------------------------------- errors

#[test]
fn broken_advisory_is_reported_and_the_rest_continue() {
    let Some(path) = shared("data/mail/archives/ubuntu-security-announce-2021-April.txt") else {
        return;
    };
    let text = std::fs::read_to_string(&path).expect("read");
    // Cut the package table out of the first notice (USN-4899-1).
    let start = text
        .find("The problem can be corrected")
        .expect("table start");
    let end = start + text[start..].find("References:").expect("table end");
    let broken = format!("{}{}", &text[..start], &text[end..]);
    let parsed = parse_bytes("broken-april", broken.as_bytes());
    assert_eq!(parsed.stats.messages, 40);
    assert_eq!(parsed.stats.errors, 1);
    assert_eq!(parsed.stats.advisories, 38);
    assert_eq!(parsed.errors.len(), 1);
    let error = &parsed.errors[0];
    assert!(
        error
            .record
            .contains("aee51577-9700-8419-bbc3-d3cfdd6701da@canonical.com"),
        "{error}"
    );
    assert!(error.record.contains("USN-4899-1"), "{error}");
    // The reported line is the notice's "Update instructions:" line.
    let line: usize = error
        .reason
        .strip_prefix("line ")
        .and_then(|r| r.split(':').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no line in {error}"));
    assert_eq!(
        broken.lines().nth(line - 1),
        Some("Update instructions:"),
        "{error}"
    );
    assert!(!parsed.records.iter().any(|r| r.id.as_str() == "USN-4899-1"));
}

#[test]
fn corrupt_gzip_is_one_file_error() {
    let parsed = parse_bytes("bad.gz", &[0x1f, 0x8b, 8, 0, 1, 2, 3]);
    assert_eq!(parsed.errors.len(), 1);
    assert!(parsed.errors[0].reason.contains("gzip"));
    assert_eq!(parsed.stats.messages, 0);
}

// ---------------------------------------------------------------- ingest

#[test]
fn ingest_format_mail_over_a_directory_of_archives() {
    let Some(dir) = shared("data/mail/archives/ubuntu-security-announce") else {
        return;
    };
    let (records, report) =
        crate::common::parse_path(advisord::formats::Format::Mail, "usn-mail", &dir);
    // The 11 gzipped months of ARCHIVES: 328 messages, two of them LSNs.
    let expected: usize = ARCHIVES
        .iter()
        .filter(|(f, ..)| f.ends_with(".gz"))
        .map(|&(_, _, advisories, _)| advisories)
        .sum();
    assert_eq!(report.files, 11);
    assert_eq!(records.len(), expected);
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(report.skipped_messages.values().sum::<u64>(), 2);
    assert!(records.iter().all(|r| r.sources()[0].feed == "usn-mail"));
}

/// README: non-advisory messages "are counted by reason in the report" —
/// the text report too, not only `--json`'s `skipped_messages`.
#[test]
fn skipped_messages_are_counted_by_reason_in_the_text_report() {
    let Some(dir) = shared("data/mail/archives/ubuntu-security-announce") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("db.redb");
    let (db, dir) = (db.to_str().unwrap(), dir.to_str().unwrap());
    let json: serde_json::Value = serde_json::from_str(&crate::common::advisord_ok(&[
        "--db", db, "ingest", "--format", "mail", "--feed", "usn", "--json", dir,
    ]))
    .unwrap();
    let skipped = json["skipped_messages"]
        .as_object()
        .expect("skipped_messages");
    assert!(!skipped.is_empty());
    let text = crate::common::advisord_ok(&[
        "--db", db, "ingest", "--format", "mail", "--feed", "usn", dir,
    ]);
    for (reason, n) in skipped {
        let line = format!("  {n} messages skipped: {reason}");
        assert!(text.lines().any(|l| l == line), "{line:?} in {text}");
    }
}

// ---------------------------------------------------------------- robustness

/// Truncations and byte corruptions of every real mail never panic, and
/// every message is accounted for (advisory, skip or error).
#[test]
fn damaged_inputs_never_panic() {
    let Some(root) = shared("data/mail") else {
        return;
    };
    let mut files = Vec::new();
    for sub in ["debian", "ubuntu", "redhat", "digests", "archives"] {
        files.extend(files_in(&root.join(sub), ""));
    }
    files.retain(|f| f.is_file());
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut runs = 0;
    for file in files {
        let original = std::fs::read(&file).expect("read");
        let plain = if original.starts_with(&[0x1f, 0x8b]) {
            gunzip(&original)
        } else {
            original.clone()
        };
        for cut in (1..=16).map(|i| plain.len() * i / 17) {
            let parsed = parse_bytes("cut", &plain[..cut]);
            let s = &parsed.stats;
            assert_eq!(
                s.messages,
                s.advisories + s.skipped_total() + s.errors,
                "{file:?} cut {cut}"
            );
            runs += 1;
        }
        for _ in 0..8 {
            let mut damaged = plain.clone();
            for _ in 0..(damaged.len() / 500).max(1) {
                let at = (next() as usize) % damaged.len().max(1);
                if let Some(b) = damaged.get_mut(at) {
                    *b = (next() & 0xff) as u8;
                }
            }
            let _ = parse_bytes("damaged", &damaged);
            runs += 1;
        }
        // Truncated gzip of the same bytes.
        if original.starts_with(&[0x1f, 0x8b]) {
            let parsed = parse_bytes("truncated.gz", &original[..original.len() / 2]);
            assert_eq!(parsed.errors.len(), 1, "{file:?}");
        }
    }
    assert!(runs > 500);
}

/// Mailman 2.1 style: `multipart/digest` whose parts are `message/rfc822`
/// (explicit, and implicit as RFC 2046 allows), here wrapping real DSAs.
#[test]
fn mime_digest_of_rfc822_parts() {
    let Some(dir) = shared("data/mail/debian") else {
        return;
    };
    let files = files_in(&dir, ".eml");
    let mut digest = b"From: list-request@example.org\nSubject: debian-security-announce Digest, Vol 1, Issue 1\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"OUTER\"\n\n--OUTER\nContent-Type: text/plain\n\nToday's Topics:\n\n--OUTER\nContent-Type: multipart/digest; boundary=\"INNER\"\n\n".to_vec();
    for (i, file) in files.iter().enumerate() {
        let mut bytes = std::fs::read(file).expect("read");
        if bytes.starts_with(b"From ") {
            let eol = bytes.iter().position(|&b| b == b'\n').expect("eol");
            bytes.drain(..=eol);
        }
        digest.extend_from_slice(b"--INNER\n");
        if i % 2 == 0 {
            digest.extend_from_slice(b"Content-Type: message/rfc822\nMIME-Version: 1.0\n");
        }
        digest.extend_from_slice(b"\n");
        digest.extend_from_slice(&bytes);
        digest.extend_from_slice(b"\n");
    }
    digest.extend_from_slice(
        b"--INNER--\n\n--OUTER\nContent-Type: text/plain\n\nfooter\n--OUTER--\n",
    );
    let parsed = parse_bytes("rfc822-digest", &digest);
    assert_eq!(parsed.stats.container, Some(Container::MimeDigest));
    assert_eq!(parsed.stats.messages, files.len());
    assert_eq!(parsed.stats.advisories, files.len(), "{:?}", parsed.errors);
    // The nested messages keep their own headers.
    assert!(parsed.records.iter().any(|r| r
        .references
        .iter()
        .any(|x| x.url == "mid:20080501182504.GK7270@ldl.fc.hp.com")));
}
