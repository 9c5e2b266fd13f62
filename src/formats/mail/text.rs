//! Text helpers shared by the announcement parsers: CVE ids, labelled
//! fields with continuation lines, package file names.

use std::sync::LazyLock;

use regex::Regex;

static CVE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?-u:\b)(?:CVE|CAN)[- ](\d{4})-(\d{4,7})(?-u:\b)").expect("constant regex")
});

/// CVE ids in `text`, in order of first appearance, deduplicated. The old
/// `CAN-` candidate prefix and the `CVE 2008-1693` typo are normalized.
pub fn cve_ids(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for caps in CVE.captures_iter(text) {
        let id = format!("CVE-{}-{}", &caps[1], &caps[2]);
        if !out.contains(&id) {
            out.push(id);
        }
    }
    out
}

/// A labelled field such as Debian's `Package        : foo` or Red Hat's
/// `Advisory ID:       RHSA-...`: the value of the first line whose label
/// (before the colon, whitespace-trimmed) equals one of `labels`
/// (case-insensitive), plus its continuation lines (indented, non-empty,
/// not themselves a label). Returns the joined value and its 0-based line.
pub fn field(lines: &[&str], labels: &[&str]) -> Option<(String, usize)> {
    for (index, line) in lines.iter().enumerate() {
        let Some((label, value)) = line.split_once(':') else {
            continue;
        };
        let label = label.trim();
        if !labels.iter().any(|l| l.eq_ignore_ascii_case(label)) {
            continue;
        }
        let mut value = value.trim().to_string();
        for next in &lines[index + 1..] {
            let indented = next.starts_with(' ') || next.starts_with('\t');
            if !indented || next.trim().is_empty() || is_label_line(next) {
                break;
            }
            value.push(' ');
            value.push_str(next.trim());
        }
        return Some((value, index));
    }
    None
}

fn is_label_line(line: &str) -> bool {
    line.split_once(':').is_some_and(|(label, _)| {
        let label = label.trim();
        !label.is_empty() && label.len() < 30 && !label.contains("CVE")
    }) && !line.trim_start().starts_with("CVE")
}

/// Splits `name-version-release` at its last two hyphens (RPM file names,
/// SUSE package lists). Returns `(name, "version-release")`.
pub fn split_name_version_release(text: &str) -> Option<(&str, &str)> {
    let release_dash = text.rfind('-')?;
    let version_dash = text[..release_dash].rfind('-')?;
    let name = &text[..version_dash];
    let evr = &text[version_dash + 1..];
    if name.is_empty() || evr.starts_with('-') || evr.ends_with('-') {
        return None;
    }
    Some((name, evr))
}

/// Parses an RPM file name `name-version-release.arch.rpm` into
/// `(name, "version-release", arch)`.
pub fn parse_rpm_filename(file: &str) -> Option<(&str, &str, &str)> {
    let stem = file.strip_suffix(".rpm")?;
    let (nvr, arch) = stem.rsplit_once('.')?;
    let (name, vr) = split_name_version_release(nvr)?;
    Some((name, vr, arch))
}

/// The text between the first line starting with one of `starts` (that line
/// excluded) and the next line starting with one of `ends` (both compared
/// after trimming leading whitespace and `#`), with surrounding blank lines
/// removed; `None` when absent or empty. Used for record details.
pub fn section(lines: &[&str], starts: &[&str], ends: &[&str]) -> Option<String> {
    let bare = |l: &str| {
        l.trim_start()
            .trim_start_matches('#')
            .trim_start()
            .to_string()
    };
    let begin = lines
        .iter()
        .position(|l| starts.iter().any(|s| bare(l).starts_with(s)))?;
    let end = lines[begin + 1..]
        .iter()
        .position(|l| ends.iter().any(|e| bare(l).starts_with(e)))
        .map_or(lines.len(), |i| begin + 1 + i);
    let text = lines[begin + 1..end]
        .iter()
        .map(|l| l.trim_end())
        .collect::<Vec<_>>()
        .join("\n");
    let text = text.trim_matches('\n').to_string();
    (!text.trim().is_empty()).then_some(text)
}

static PROSE_DATE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?-u:\b)(January|February|March|April|May|June|July|August|September|October|November|December) ([0-9]{1,2}), ([0-9]{4})(?-u:\b)",
    )
    .expect("constant regex")
});

/// The first `Month D, YYYY` date in the first `lines` lines of `text` (the
/// header block of DSA, DLA and USN texts), as midnight UTC. Used when a
/// message has no `Date` header, so the record's time does not depend on
/// when it was read.
pub fn prose_date(text: &str, lines: usize) -> Option<crate::model::Timestamp> {
    const MONTHS: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    text.lines().take(lines).find_map(|line| {
        if let Some(iso) = line.trim_start().strip_prefix("Issue date:") {
            // Red Hat: `Issue date:        2018-03-19`.
            return format!("{}T00:00:00Z", iso.trim()).parse().ok();
        }
        let caps = PROSE_DATE.captures(line)?;
        let month = MONTHS.iter().position(|m| *m == &caps[1])? + 1;
        let day: u32 = caps[2].parse().ok()?;
        let year: u32 = caps[3].parse().ok()?;
        if !(1..=31).contains(&day) {
            return None;
        }
        format!("{year:04}-{month:02}-{day:02}T00:00:00Z")
            .parse()
            .ok()
    })
}

/// `text` with every run of whitespace (newlines included) replaced by one
/// space, so prose wrapped anywhere can be matched by one pattern.
pub fn collapse(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for word in text.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cves_are_normalized() {
        assert_eq!(
            cve_ids("CAN-2005-1993, CVE 2008-1693 and CVE-2021-44228 CVE-2021-44228"),
            vec!["CVE-2005-1993", "CVE-2008-1693", "CVE-2021-44228"]
        );
    }

    #[test]
    fn fields_with_continuations() {
        let lines = [
            "Package        : vim",
            "CVE ID         : CVE-2021-1 CVE-2021-2",
            "                 CVE-2021-3",
            "Debian Bug     : 1",
        ];
        assert_eq!(field(&lines, &["Package"]).unwrap().0, "vim");
        let (cves, at) = field(&lines, &["CVE ID"]).unwrap();
        assert_eq!(at, 1);
        assert_eq!(cves, "CVE-2021-1 CVE-2021-2 CVE-2021-3");
    }

    #[test]
    fn rpm_names() {
        assert_eq!(
            parse_rpm_filename("firefox-debuginfo-52.7.2-1.el6_9.i686.rpm"),
            Some(("firefox-debuginfo", "52.7.2-1.el6_9", "i686"))
        );
        assert_eq!(
            split_name_version_release("libopenssl1_0_0-32bit-1.0.1i-47.1"),
            Some(("libopenssl1_0_0-32bit", "1.0.1i-47.1"))
        );
        assert_eq!(split_name_version_release("nohyphen"), None);
    }

    #[test]
    fn prose_dates() {
        let text = "Debian Security Advisory DSA-1-1\nhttps://www.debian.org/security/\nMay 07, 2024     https://www.debian.org/security/faq\n";
        assert_eq!(
            prose_date(text, 10).unwrap().as_str(),
            "2024-05-07T00:00:00Z"
        );
        assert!(prose_date("February 30, 2024", 1).is_none());
        assert!(prose_date("nothing here", 1).is_none());
        assert_eq!(
            prose_date("Issue date:        2018-03-19\n", 1)
                .unwrap()
                .as_str(),
            "2018-03-19T00:00:00Z"
        );
    }

    #[test]
    fn collapse_joins_wrapped_prose() {
        assert_eq!(
            collapse(" fixed in\n  version\n1.0.\n"),
            "fixed in version 1.0."
        );
    }
}
