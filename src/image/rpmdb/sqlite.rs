//! The sqlite backend: table `Packages(hnum, blob)`.

use rusqlite::{Connection, OpenFlags, MAIN_DB};

use super::{RpmDbError, MAX_HEADERS};

/// The header blobs of an `rpmdb.sqlite` file's bytes, opened in memory.
pub(super) fn header_blobs(db: &[u8]) -> Result<Vec<Vec<u8>>, RpmDbError> {
    if !db.starts_with(b"SQLite format 3\0") || db.len() < 100 {
        return Err(RpmDbError::Layout {
            backend: "sqlite",
            reason: "no sqlite header".into(),
        });
    }
    // rpm keeps the database in WAL mode; an in-memory copy must say
    // "rollback journal" (bytes 18-19 = 1) or sqlite refuses to read it.
    let mut bytes = db.to_vec();
    bytes[18] = 1;
    bytes[19] = 1;
    let mut conn = Connection::open_with_flags(
        ":memory:",
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.deserialize_read_exact(MAIN_DB, &bytes[..], bytes.len(), true)?;
    let mut statement = conn.prepare("SELECT blob FROM Packages ORDER BY hnum")?;
    let mut rows = statement.query([])?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        if out.len() == MAX_HEADERS {
            return Err(RpmDbError::Layout {
                backend: "sqlite",
                reason: format!("more than {MAX_HEADERS} packages"),
            });
        }
        out.push(row.get::<_, Vec<u8>>(0)?);
    }
    Ok(out)
}
