//! The rpm header blob as the package databases store it (no lead, no
//! header magic): an index of tagged entries into one data store.

use super::RpmDbError;

/// rpm tags advisord reads from an installed header.
mod tag {
    pub const NAME: u32 = 1000;
    pub const VERSION: u32 = 1001;
    pub const RELEASE: u32 = 1002;
    pub const EPOCH: u32 = 1003;
    pub const ARCH: u32 = 1022;
    pub const SOURCERPM: u32 = 1044;
    pub const MODULARITYLABEL: u32 = 5096;
}

/// rpm tag data types used here.
const TYPE_INT32: u32 = 4;
const TYPE_STRING: u32 = 6;
const TYPE_I18NSTRING: u32 = 9;

/// Most index entries one header may claim (rpm's own limit is 0xffff).
const MAX_ENTRIES: usize = 0x1_0000;

/// One installed rpm package as its header describes it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct RpmPackage {
    /// `NAME`.
    pub name: String,
    /// `EPOCH` (absent: 0, as `%{EPOCHNUM}` prints it).
    pub epoch: u32,
    /// `VERSION`.
    pub version: String,
    /// `RELEASE`.
    pub release: String,
    /// `ARCH` (absent on `gpg-pubkey` pseudo-packages).
    pub arch: Option<String>,
    /// `SOURCERPM` (`openssl-3.0.7-27.el9.src.rpm`).
    pub source_rpm: Option<String>,
    /// `MODULARITYLABEL` (`nodejs:10:8020020200707141642:6a468ee4`).
    pub modularity_label: Option<String>,
}

impl RpmPackage {
    /// The source package's name, read from `SOURCERPM`
    /// (`openssl` for `openssl-3.0.7-27.el9.src.rpm`).
    pub fn source_name(&self) -> Option<&str> {
        let srpm = self.source_rpm.as_deref()?;
        let base = srpm
            .strip_suffix(".src.rpm")
            .or_else(|| srpm.strip_suffix(".nosrc.rpm"))?;
        let mut parts = base.rsplitn(3, '-');
        let (_release, _version, name) = (parts.next()?, parts.next()?, parts.next()?);
        Some(name).filter(|n| !n.is_empty())
    }

    /// `[EPOCH:]VERSION-RELEASE`, the epoch only when not 0 (as advisories
    /// outside Red Hat's write it).
    pub fn evr(&self) -> String {
        match self.epoch {
            0 => format!("{}-{}", self.version, self.release),
            e => format!("{e}:{}-{}", self.version, self.release),
        }
    }

    /// The module stream (`nodejs:10`) of a modular package.
    pub fn module_stream(&self) -> Option<String> {
        let label = self.modularity_label.as_deref()?;
        let mut parts = label.split(':');
        match (parts.next(), parts.next()) {
            (Some(name), Some(stream)) if !name.is_empty() => Some(format!("{name}:{stream}")),
            _ => None,
        }
    }
}

fn be32(data: &[u8], at: usize) -> Option<u32> {
    data.get(at..at + 4)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

/// Parses one header blob (`il`, `dl`, `il` index entries, `dl` data bytes).
pub fn parse_header(blob: &[u8]) -> Result<RpmPackage, RpmDbError> {
    let bad = |reason: String| RpmDbError::Header(reason);
    let il = be32(blob, 0).ok_or_else(|| bad("shorter than 8 bytes".into()))? as usize;
    let dl = be32(blob, 4).ok_or_else(|| bad("shorter than 8 bytes".into()))? as usize;
    if il == 0 || il > MAX_ENTRIES {
        return Err(bad(format!("{il} index entries")));
    }
    let data_start = 8 + il * 16;
    let data = blob.get(data_start..data_start + dl).ok_or_else(|| {
        bad(format!(
            "{il} entries and {dl} data bytes exceed {} bytes",
            blob.len()
        ))
    })?;
    let mut strings: [Option<String>; 6] = Default::default();
    let mut epoch = 0;
    for i in 0..il {
        let at = 8 + i * 16;
        let (Some(tag), Some(ty), Some(offset), Some(count)) = (
            be32(blob, at),
            be32(blob, at + 4),
            be32(blob, at + 8),
            be32(blob, at + 12),
        ) else {
            return Err(bad(format!("index entry {i} truncated")));
        };
        let offset = offset as usize;
        let slot = match tag {
            tag::NAME => 0,
            tag::VERSION => 1,
            tag::RELEASE => 2,
            tag::ARCH => 3,
            tag::SOURCERPM => 4,
            tag::MODULARITYLABEL => 5,
            tag::EPOCH => {
                if ty != TYPE_INT32 || count == 0 {
                    return Err(bad(format!("EPOCH has type {ty}")));
                }
                epoch = be32(data, offset)
                    .ok_or_else(|| bad(format!("EPOCH offset {offset} out of the data")))?;
                continue;
            }
            _ => continue,
        };
        if ty != TYPE_STRING && ty != TYPE_I18NSTRING {
            return Err(bad(format!("tag {tag} has type {ty}, expected a string")));
        }
        let rest = data
            .get(offset..)
            .ok_or_else(|| bad(format!("tag {tag} offset {offset} out of the data")))?;
        let end = memchr::memchr(0, rest)
            .ok_or_else(|| bad(format!("tag {tag} string is not terminated")))?;
        let text = std::str::from_utf8(&rest[..end])
            .map_err(|_| bad(format!("tag {tag} is not UTF-8")))?;
        strings[slot] = Some(text.to_string());
    }
    let [name, version, release, arch, source_rpm, modularity_label] = strings;
    let need = |v: Option<String>, what: &str| v.ok_or_else(|| bad(format!("no {what} tag")));
    Ok(RpmPackage {
        name: need(name, "NAME")?,
        epoch,
        version: need(version, "VERSION")?,
        release: need(release, "RELEASE")?,
        arch,
        source_rpm,
        modularity_label,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds a header blob from (tag, type, payload) entries.
    pub(crate) fn blob(entries: &[(u32, u32, Vec<u8>)]) -> Vec<u8> {
        let mut index: Vec<u8> = Vec::new();
        let mut data: Vec<u8> = Vec::new();
        for (tag, ty, payload) in entries {
            index.extend(tag.to_be_bytes());
            index.extend(ty.to_be_bytes());
            index.extend((data.len() as u32).to_be_bytes());
            index.extend(1u32.to_be_bytes());
            data.extend(payload);
        }
        let mut out = (entries.len() as u32).to_be_bytes().to_vec();
        out.extend((data.len() as u32).to_be_bytes());
        out.extend(index);
        out.extend(data);
        out
    }

    fn s(text: &str) -> Vec<u8> {
        let mut v = text.as_bytes().to_vec();
        v.push(0);
        v
    }

    #[test]
    fn reads_tags_and_derives_source_and_stream() {
        let header = blob(&[
            (tag::EPOCH, TYPE_INT32, 1u32.to_be_bytes().to_vec()),
            (tag::NAME, TYPE_STRING, s("nodejs")),
            (tag::VERSION, TYPE_STRING, s("10.21.0")),
            (tag::RELEASE, TYPE_STRING, s("3.module_el8")),
            (tag::ARCH, TYPE_STRING, s("x86_64")),
            (
                tag::SOURCERPM,
                TYPE_STRING,
                s("nodejs-10.21.0-3.module_el8.src.rpm"),
            ),
            (
                tag::MODULARITYLABEL,
                TYPE_STRING,
                s("nodejs:10:8020020200707141642:6a468ee4"),
            ),
        ]);
        let p = parse_header(&header).unwrap();
        assert_eq!(p.evr(), "1:10.21.0-3.module_el8");
        assert_eq!(p.source_name(), Some("nodejs"));
        assert_eq!(p.module_stream().as_deref(), Some("nodejs:10"));
    }

    #[test]
    fn hostile_headers_are_errors() {
        assert!(parse_header(&[0, 0]).is_err());
        let mut header = blob(&[(tag::NAME, TYPE_STRING, b"unterminated".to_vec())]);
        assert!(parse_header(&header).is_err());
        header[4..8].copy_from_slice(&1000u32.to_be_bytes());
        assert!(parse_header(&header).is_err());
        let header = blob(&[(tag::NAME, TYPE_STRING, s("x"))]);
        assert!(
            matches!(parse_header(&header), Err(RpmDbError::Header(r)) if r.contains("VERSION"))
        );
    }
}
