//! advisord's integration tests: one binary, one module per area.

mod changes;
mod common;
mod osv;
mod server;
mod store;
mod version;
