//! Installed rpm packages, read natively from the three rpm database
//! backends: sqlite (`rpmdb.sqlite`), Berkeley DB hash (`Packages`) and ndb
//! (`Packages.db`). Each backend yields header blobs; [`header`] parses them.
//!
//! Readers take the database's bytes (pure: no file or clock access); the
//! sqlite one opens them as an in-memory database.

mod bdb;
pub mod header;
mod ndb;
mod sqlite;

pub use header::RpmPackage;

/// Why an rpm database cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum RpmDbError {
    /// The file is not a database of the expected backend, or its layout is broken.
    #[error("{backend} database: {reason}")]
    Layout {
        /// `sqlite`, `bdb` or `ndb`.
        backend: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// A package header blob is malformed.
    #[error("rpm header: {0}")]
    Header(String),
    /// sqlite refused the database.
    #[error("sqlite database: {0}")]
    Sqlite(#[from] rusqlite::Error),
}

/// The rpm database backends, named after the files that hold them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// `rpmdb.sqlite` (rpm >= 4.16 default on Fedora, RHEL 9, Mariner).
    Sqlite,
    /// `Packages`, Berkeley DB hash (RHEL <= 8, older SUSE).
    Bdb,
    /// `Packages.db`, rpm's own ndb format (SUSE >= 15 SP3).
    Ndb,
}

impl Backend {
    /// The backend whose file is called `file_name`, if any.
    pub fn from_file_name(file_name: &str) -> Option<Backend> {
        match file_name {
            "rpmdb.sqlite" => Some(Backend::Sqlite),
            "Packages" => Some(Backend::Bdb),
            "Packages.db" => Some(Backend::Ndb),
            _ => None,
        }
    }
}

/// Most header blobs one database may hold.
const MAX_HEADERS: usize = 100_000;

/// Reads every installed package of a database (`gpg-pubkey` pseudo-packages
/// included, as `rpm -qa` lists them), in database order.
pub fn read_packages(backend: Backend, db: &[u8]) -> Result<Vec<RpmPackage>, RpmDbError> {
    let blobs = match backend {
        Backend::Sqlite => sqlite::header_blobs(db)?,
        Backend::Bdb => bdb::header_blobs(db)?,
        Backend::Ndb => ndb::header_blobs(db)?,
    };
    blobs.iter().map(|b| header::parse_header(b)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrong_backend_is_a_layout_error() {
        let junk = vec![7u8; 8192];
        for backend in [Backend::Ndb, Backend::Bdb, Backend::Sqlite] {
            assert!(read_packages(backend, &junk).is_err(), "{backend:?}");
        }
    }
}
