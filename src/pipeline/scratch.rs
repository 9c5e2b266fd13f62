//! Scratch files of one ingest under the temporary directory, removed when
//! dropped: a download waiting to be read, and the [`Spill`] that keeps a
//! file's records on disk until the file is known good.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::path::PathBuf;

use crate::feeds::FeedError;
use crate::model::Advisory;

/// A new file name under the temporary directory, `advisord-<kind>-...`,
/// unique within and across processes; the file is removed when dropped.
pub(crate) struct ScratchFile {
    /// Where the file is (it may not exist yet).
    pub(crate) path: PathBuf,
}

impl ScratchFile {
    /// A fresh name for a scratch file of `kind` (`ingest`, `spill`).
    pub(crate) fn new(kind: &str) -> ScratchFile {
        use std::sync::atomic::{AtomicU64, Ordering};
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let name = format!(
            "advisord-{kind}-{}-{nanos}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        ScratchFile {
            path: std::env::temp_dir().join(name),
        }
    }
}

impl Drop for ScratchFile {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_file(&self.path) {
            if e.kind() != std::io::ErrorKind::NotFound {
                tracing::warn!(path = %self.path.display(), error = %e, "cannot remove a scratch file");
            }
        }
    }
}

/// Records held on disk as JSON, grouped by id in the order ids first
/// came, until they can be joined: an OVAL file is all or nothing and
/// joins the records of one id ([`crate::formats::join_file`]); a secdb batch joins one
/// id's records across its files (one per release). Either way they
/// cannot go to the store as they are parsed, and held in memory they grew
/// with the input. Memory holds the ids and where their records lie.
pub(crate) struct Spill {
    scratch: ScratchFile,
    out: BufWriter<File>,
    end: u64,
    groups: Vec<Vec<(u64, usize)>>,
    by_id: HashMap<String, usize>,
}

impl Spill {
    /// An empty spill in a new scratch file.
    pub(crate) fn create() -> Result<Spill, FeedError> {
        let scratch = ScratchFile::new("spill");
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&scratch.path)
            .map_err(|source| spill_err(&scratch, source))?;
        Ok(Spill {
            out: BufWriter::with_capacity(1 << 16, file),
            scratch,
            end: 0,
            groups: Vec::new(),
            by_id: HashMap::new(),
        })
    }

    /// Records held so far (an id given twice counts twice).
    pub(crate) fn len(&self) -> u64 {
        self.groups.iter().map(|g| g.len() as u64).sum()
    }

    /// Writes `record` to the end of the spill, under its id.
    pub(crate) fn push(&mut self, record: &Advisory) -> Result<(), FeedError> {
        let json = serde_json::to_vec(record)
            .map_err(|e| spill_err(&self.scratch, std::io::Error::other(e)))?;
        self.out
            .write_all(&json)
            .map_err(|source| spill_err(&self.scratch, source))?;
        let at = (self.end, json.len());
        self.end += json.len() as u64;
        let next = self.groups.len();
        let group = *self.by_id.entry(record.id.to_string()).or_insert(next);
        if group == next {
            self.groups.push(Vec::new());
        }
        self.groups[group].push(at);
        Ok(())
    }

    /// Hands `sink` the records of each id, in the order ids first came,
    /// as `join` makes them of the id's records in the order they came
    /// (one record, for both joins); the first error of `sink` stops the
    /// replay.
    pub(crate) fn replay<E: From<FeedError>>(
        self,
        join: &dyn Fn(Vec<Advisory>) -> Vec<Advisory>,
        sink: &mut dyn FnMut(Advisory) -> Result<(), E>,
    ) -> Result<(), E> {
        let Spill {
            scratch,
            out,
            groups,
            ..
        } = self;
        let mut file = out
            .into_inner()
            .map_err(|e| spill_err(&scratch, e.into_error()))?;
        let mut buf = Vec::new();
        for group in groups {
            let mut records = Vec::with_capacity(group.len());
            for (offset, len) in group {
                buf.resize(len, 0);
                file.seek(SeekFrom::Start(offset))
                    .and_then(|_| file.read_exact(&mut buf))
                    .map_err(|source| spill_err(&scratch, source))?;
                let record: Advisory = serde_json::from_slice(&buf)
                    .map_err(|e| spill_err(&scratch, std::io::Error::other(e)))?;
                records.push(record);
            }
            for record in join(records) {
                sink(record)?;
            }
        }
        Ok(())
    }
}

/// The error of reading or writing the spill file.
fn spill_err(scratch: &ScratchFile, source: std::io::Error) -> FeedError {
    FeedError::Io {
        path: scratch.path.display().to_string(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: &str, alias: &str) -> Advisory {
        serde_json::from_value(serde_json::json!({
            "id": id,
            "modified": "2024-01-01T00:00:00Z",
            "aliases": [alias],
        }))
        .unwrap()
    }

    #[test]
    fn replay_joins_one_id_in_first_seen_order_and_removes_the_file() {
        let mut spill = Spill::create().unwrap();
        let path = spill.scratch.path.clone();
        for (id, alias) in [
            ("RHSA-2019:0002", "CVE-2019-0001"),
            ("RHSA-2019:0001", "CVE-2019-0002"),
            ("RHSA-2019:0002", "CVE-2019-0003"),
        ] {
            spill.push(&record(id, alias)).unwrap();
        }
        assert_eq!(spill.len(), 3);
        let mut out = Vec::new();
        spill
            .replay(
                &|rs| crate::formats::join_file(crate::formats::Format::Oval, rs),
                &mut |r| {
                    out.push(r);
                    Ok::<_, FeedError>(())
                },
            )
            .unwrap();
        let got: Vec<(String, Vec<String>)> = out
            .iter()
            .map(|r| {
                let aliases = r.aliases.iter().map(|a| a.to_string()).collect();
                (r.id.to_string(), aliases)
            })
            .collect();
        assert_eq!(
            got,
            [
                (
                    "RHSA-2019:0002".to_string(),
                    vec!["CVE-2019-0001".to_string(), "CVE-2019-0003".to_string()]
                ),
                (
                    "RHSA-2019:0001".to_string(),
                    vec!["CVE-2019-0002".to_string()]
                ),
            ]
        );
        assert!(!path.exists(), "the spill file outlived its replay");
    }
}
