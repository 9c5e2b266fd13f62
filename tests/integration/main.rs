//! advisord's integration tests: one binary, one module per area.

mod common;
mod mail;
mod osv;
mod server;
mod store;
mod version;
