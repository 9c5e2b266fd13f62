//! advisord's integration tests: one binary, one module per area.

mod common;
mod jsonfeeds;
mod osv;
mod oval;
mod server;
mod store;
mod sync;
mod version;
