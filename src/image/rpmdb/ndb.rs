//! The ndb backend (`Packages.db`, rpm's lib/backend/ndb): a 32-byte file
//! header, then pages of 16-byte slots, each pointing at a blob of 16-byte
//! blocks that holds one header. All integers little-endian.

use super::{RpmDbError, MAX_HEADERS};

const HEADER_MAGIC: &[u8; 4] = b"RpmP";
const SLOT_MAGIC: &[u8; 4] = b"Slot";
const BLOB_MAGIC: &[u8; 4] = b"BlbS";
const PAGE_SIZE: usize = 4096;
const SLOT_SIZE: usize = 16;
const BLOCK_SIZE: usize = 16;
/// The file header takes the room of the first two slots.
const HEADER_SLOTS: usize = 2;

fn le32(data: &[u8], at: usize) -> Option<u32> {
    data.get(at..at + 4)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

fn layout(reason: String) -> RpmDbError {
    RpmDbError::Layout {
        backend: "ndb",
        reason,
    }
}

/// The header blobs of a `Packages.db` file, in slot order.
pub(super) fn header_blobs(db: &[u8]) -> Result<Vec<Vec<u8>>, RpmDbError> {
    if db.get(..4) != Some(HEADER_MAGIC) {
        return Err(layout("no RpmP magic".into()));
    }
    let version = le32(db, 4).ok_or_else(|| layout("truncated header".into()))?;
    if version != 0 {
        return Err(layout(format!("version {version}, expected 0")));
    }
    let slot_pages = le32(db, 12).ok_or_else(|| layout("truncated header".into()))? as usize;
    let slots_end = slot_pages
        .checked_mul(PAGE_SIZE)
        .filter(|end| *end <= db.len())
        .ok_or_else(|| layout(format!("{slot_pages} slot pages exceed the file")))?;
    let mut out = Vec::new();
    for at in (HEADER_SLOTS * SLOT_SIZE..slots_end).step_by(SLOT_SIZE) {
        if db.get(at..at + 4) != Some(SLOT_MAGIC) {
            return Err(layout(format!("slot at byte {at} has no Slot magic")));
        }
        let (Some(pkg_index), Some(block), Some(blocks)) =
            (le32(db, at + 4), le32(db, at + 8), le32(db, at + 12))
        else {
            return Err(layout(format!("slot at byte {at} truncated")));
        };
        if pkg_index == 0 {
            continue; // free slot
        }
        let start = block as usize * BLOCK_SIZE;
        let blob_end = start.saturating_add(blocks as usize * BLOCK_SIZE);
        if db.get(start..start + 4) != Some(BLOB_MAGIC) || blob_end > db.len() {
            return Err(layout(format!(
                "package {pkg_index}: no blob at block {block}"
            )));
        }
        if le32(db, start + 4) != Some(pkg_index) {
            return Err(layout(format!(
                "package {pkg_index}: blob at block {block} belongs to another package"
            )));
        }
        let len = le32(db, start + 12).unwrap_or(0) as usize;
        let body = db
            .get(start + BLOCK_SIZE..start + BLOCK_SIZE + len)
            .filter(|_| start + BLOCK_SIZE + len <= blob_end)
            .ok_or_else(|| layout(format!("package {pkg_index}: blob length {len} overruns")))?;
        if out.len() == MAX_HEADERS {
            return Err(layout(format!("more than {MAX_HEADERS} packages")));
        }
        out.push(body.to_vec());
    }
    Ok(out)
}
