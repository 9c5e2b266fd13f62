//! The unified advisory record and its parts.
//!
//! [`Advisory`] is a superset of OSV 1.7; identifiers, ecosystems and
//! timestamps are validated newtypes so an invalid value cannot exist.

mod advisory;
pub mod ecosystem;
mod id;
mod inventory;
mod provenance;
pub mod release;
mod scheme;
mod status;
mod timestamp;

pub(crate) use advisory::extend_unique;
pub use advisory::{
    AdvisordMeta, Advisory, Affected, Credit, DatabaseSpecific, Event, Package, Range, RangeKind,
    Reference, Severity, SeverityKind,
};
pub use ecosystem::{Ecosystem, EcosystemInfo, InvalidEcosystem, NameRule, ECOSYSTEMS};
pub use id::{is_cve_id, AdvisoryId, IdKind, InvalidId};
pub use inventory::{Finding, InventoryPackage};
pub use provenance::Provenance;
pub use scheme::{UnknownScheme, VersionScheme, ALL_SCHEMES};
pub use status::{FixStatus, StatusStatement, UnknownStatus};
pub use timestamp::{InvalidTimestamp, Timestamp};
