//! The per-document size cap, enforced while bytes are read: one file,
//! archive member or streamed unit (a tracker package, a message) may not
//! grow past it, whatever the container decompresses to, so a parser never
//! holds more than the cap of one document at a time.

use std::cell::Cell;
use std::io::{self, BufRead, BufReader, Read};
use std::rc::Rc;

/// Default most bytes one document may hold (`--max-document`): real
/// advisory documents are kilobytes to a few megabytes; 32 MiB leaves room
/// for the largest (Red Hat's kernel VEX files) and keeps a parser's peak
/// memory far under 256 MB.
pub const DEFAULT_MAX_DOCUMENT: u64 = 32 << 20;

/// A document larger than the per-document cap: it is refused (reported
/// as an error of its file or record) and the rest of the feed is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("document exceeds the cap of {limit} bytes (--max-document); refused")]
pub struct DocumentTooLarge {
    /// The cap, in bytes.
    pub limit: u64,
}

impl DocumentTooLarge {
    /// The [`DocumentTooLarge`] an I/O error carries, if it is one (as
    /// raised by [`CappedReader`]).
    pub fn from_io(error: &io::Error) -> Option<DocumentTooLarge> {
        error
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<DocumentTooLarge>())
            .copied()
    }
}

/// A shared handle on a [`CappedReader`]'s count, so a streaming parser
/// that hands the reader to a deserializer can still say where one
/// document ends and the next begins. Cloning is shallow.
#[derive(Debug, Clone, Default)]
pub struct DocumentMeter {
    read: Rc<Cell<u64>>,
    tripped: Rc<Cell<Option<u64>>>,
}

impl DocumentMeter {
    /// Starts counting a new document from zero.
    pub fn start_document(&self) {
        self.read.set(0);
    }

    /// The cap that stopped the reader, if one did.
    pub fn tripped(&self) -> Option<DocumentTooLarge> {
        self.tripped.get().map(|limit| DocumentTooLarge { limit })
    }
}

/// A reader that fails with [`DocumentTooLarge`] (inside an
/// [`io::Error`] of kind `InvalidData`) as soon as the current document
/// passes `limit` bytes; never more than `limit` bytes of one document are
/// handed on. A whole file is one document unless the parser marks
/// boundaries through [`CappedReader::meter`].
#[derive(Debug)]
pub struct CappedReader<R> {
    inner: R,
    limit: u64,
    meter: DocumentMeter,
}

impl<R: Read> CappedReader<R> {
    /// `inner` with documents capped at `limit` bytes.
    pub fn new(inner: R, limit: u64) -> Self {
        CappedReader {
            inner,
            limit,
            meter: DocumentMeter::default(),
        }
    }

    /// The handle that marks document boundaries and tells whether the
    /// cap was hit.
    pub fn meter(&self) -> DocumentMeter {
        self.meter.clone()
    }
}

impl<R: Read> Read for CappedReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let used = self.meter.read.get();
        let room = self.limit.saturating_sub(used);
        if room == 0 {
            // At the cap: the document may end here; one byte more passes it.
            let mut probe = [0u8; 1];
            return match self.inner.read(&mut probe)? {
                0 => Ok(0),
                _ => Err(self.trip()),
            };
        }
        // Never hand on more than the cap: a buffered reader above reads
        // ahead at most to it (so a document is held to within twice the
        // cap when its boundaries are marked while reading ahead).
        let want = buf.len().min(usize::try_from(room).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..want])?;
        self.meter.read.set(used + n as u64);
        Ok(n)
    }
}

impl<R> CappedReader<R> {
    fn trip(&self) -> io::Error {
        self.meter.tripped.set(Some(self.limit));
        io::Error::new(
            io::ErrorKind::InvalidData,
            DocumentTooLarge { limit: self.limit },
        )
    }
}

/// Wraps `raw` in the decompressor its magic bytes call for (gzip, bzip2,
/// xz, or none), so a streaming parser reads a compressed file as it is
/// on disk, never inflated whole.
pub fn decompress<'a>(raw: impl Read + Send + 'a) -> io::Result<Box<dyn Read + Send + 'a>> {
    let mut raw = BufReader::with_capacity(64 * 1024, raw);
    let head = raw.fill_buf()?;
    Ok(if head.starts_with(&[0x1f, 0x8b]) {
        Box::new(flate2::read::MultiGzDecoder::new(raw))
    } else if head.starts_with(b"BZh") {
        Box::new(bzip2::read::MultiBzDecoder::new(raw))
    } else if head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0x00]) {
        Box::new(liblzma::read::XzDecoder::new_multi_decoder(raw))
    } else {
        Box::new(raw)
    })
}

/// Reads all of `reader` as one document of at most `limit` bytes.
pub fn read_document(reader: impl Read, limit: u64) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    CappedReader::new(reader, limit).read_to_end(&mut out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_document_at_the_cap_passes_and_one_byte_more_is_refused() {
        let data = [b'x'; 100];
        assert_eq!(read_document(&data[..], 100).unwrap().len(), 100);
        let err = read_document(&data[..], 99).unwrap_err();
        assert_eq!(
            DocumentTooLarge::from_io(&err),
            Some(DocumentTooLarge { limit: 99 })
        );
    }

    #[test]
    fn the_meter_counts_each_document_on_its_own() {
        let data = [b'x'; 30];
        let mut reader = CappedReader::new(&data[..], 10);
        let meter = reader.meter();
        let mut buf = [0u8; 8];
        for _ in 0..3 {
            meter.start_document();
            reader.read_exact(&mut buf).unwrap();
        }
        assert_eq!(meter.tripped(), None);
        // Without a new document, the next 8 bytes pass the cap of 10.
        let mut rest = Vec::new();
        assert!(reader.read_to_end(&mut rest).is_err());
        assert_eq!(meter.tripped(), Some(DocumentTooLarge { limit: 10 }));
    }
}
