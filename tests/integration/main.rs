//! advisord's integration tests: one binary, one module per area.

mod common;
mod osv;
mod server;
mod store;
mod sync;
mod version;
