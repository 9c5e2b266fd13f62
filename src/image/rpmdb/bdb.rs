//! The Berkeley DB hash backend (`Packages`): a metadata page, then hash
//! pages whose key/value pairs point ("off-page" items) at chains of
//! overflow pages holding one header each. Integers are in the database's
//! byte order, told by the magic number.

use super::{RpmDbError, MAX_HEADERS};

const HASH_MAGIC: u32 = 0x0006_1561;
const PAGE_HEADER: usize = 26;
/// Page types (`P_HASH_UNSORTED`, `P_HASH`) and item type `H_OFFPAGE`.
const P_HASH_UNSORTED: u8 = 2;
const P_HASH: u8 = 13;
const H_OFFPAGE: u8 = 3;

fn layout(reason: String) -> RpmDbError {
    RpmDbError::Layout {
        backend: "bdb",
        reason,
    }
}

/// Integer reader in the database's byte order.
#[derive(Clone, Copy)]
struct Order {
    little: bool,
}

impl Order {
    /// The `width`-byte unsigned integer at `at` (`None` past the end).
    fn uint(self, data: &[u8], at: usize, width: usize) -> Option<u32> {
        let bytes = data.get(at..at.checked_add(width)?)?;
        let push = |n: u32, b: &u8| n << 8 | u32::from(*b);
        Some(if self.little {
            bytes.iter().rev().fold(0, push)
        } else {
            bytes.iter().fold(0, push)
        })
    }
    fn u32(self, data: &[u8], at: usize) -> Option<u32> {
        self.uint(data, at, 4)
    }
    fn u16(self, data: &[u8], at: usize) -> Option<u16> {
        self.uint(data, at, 2).and_then(|n| u16::try_from(n).ok())
    }
}

/// The header blobs of a Berkeley DB hash `Packages` file, in page order.
pub(super) fn header_blobs(db: &[u8]) -> Result<Vec<Vec<u8>>, RpmDbError> {
    // The magic number, read in the right order, tells the order.
    let order = [Order { little: true }, Order { little: false }]
        .into_iter()
        .find(|order| order.u32(db, 12) == Some(HASH_MAGIC))
        .ok_or_else(|| layout("no hash magic (not a Berkeley DB hash file)".into()))?;
    let truncated = || layout("truncated metadata page".into());
    let page_size = order.u32(db, 20).ok_or_else(truncated)? as usize;
    if !(512..=65536).contains(&page_size) || !page_size.is_power_of_two() {
        return Err(layout(format!("page size {page_size}")));
    }
    if db.get(24) != Some(&0) {
        return Err(layout("encrypted database".into()));
    }
    let last_page = order.u32(db, 32).ok_or_else(truncated)? as usize;
    let page = |n: usize| -> Result<&[u8], RpmDbError> {
        db.get(n * page_size..(n + 1) * page_size)
            .ok_or_else(|| layout(format!("page {n} beyond the end of the file")))
    };
    let mut out = Vec::new();
    for n in 1..=last_page {
        let data = page(n)?;
        if data[25] != P_HASH && data[25] != P_HASH_UNSORTED {
            continue;
        }
        let entries = order.u16(data, 20).unwrap_or(0) as usize;
        if entries % 2 != 0 {
            return Err(layout(format!(
                "page {n}: {entries} index entries, not pairs"
            )));
        }
        // Index entries alternate key, value; only values hold headers.
        for pair in 0..entries / 2 {
            let at = PAGE_HEADER + pair * 4 + 2;
            let item = order
                .u16(data, at)
                .ok_or_else(|| layout(format!("page {n}: index past the page")))?
                as usize;
            if data.get(item) != Some(&H_OFFPAGE) {
                continue;
            }
            let (Some(first), Some(len)) = (order.u32(data, item + 4), order.u32(data, item + 8))
            else {
                return Err(layout(format!("page {n}: off-page item truncated")));
            };
            out.push(overflow_chain(
                db,
                order,
                page_size,
                first as usize,
                len as usize,
                &page,
            )?);
            if out.len() > MAX_HEADERS {
                return Err(layout(format!("more than {MAX_HEADERS} packages")));
            }
        }
    }
    Ok(out)
}

/// Concatenates a chain of overflow pages into the `len`-byte item it holds.
fn overflow_chain<'a>(
    db: &'a [u8],
    order: Order,
    page_size: usize,
    first: usize,
    len: usize,
    page: &dyn Fn(usize) -> Result<&'a [u8], RpmDbError>,
) -> Result<Vec<u8>, RpmDbError> {
    if len > db.len() {
        return Err(layout(format!(
            "item of {len} bytes is larger than the file"
        )));
    }
    let mut value = Vec::with_capacity(len);
    let mut next = first;
    let mut hops = 0;
    while next != 0 {
        hops += 1;
        if hops > db.len() / page_size {
            return Err(layout(format!("overflow chain from page {first} loops")));
        }
        let data = page(next)?;
        let following = order.u32(data, 16).unwrap_or(0) as usize;
        // On the last page, the "free area offset" field holds the bytes used.
        let used = if following == 0 {
            order.u16(data, 22).unwrap_or(0) as usize
        } else {
            page_size - PAGE_HEADER
        };
        let chunk = data
            .get(PAGE_HEADER..PAGE_HEADER + used)
            .ok_or_else(|| layout(format!("overflow page {next} claims {used} bytes")))?;
        value.extend_from_slice(chunk);
        next = following;
    }
    if value.len() != len {
        return Err(layout(format!(
            "overflow chain from page {first} holds {} bytes, item says {len}",
            value.len()
        )));
    }
    Ok(value)
}
