//! advisord's integration tests: one binary, one module per area.

mod changes;
mod cli;
mod common;
mod hostile;
mod jsonfeeds;
mod mail;
mod osv;
mod oval;
mod server;
mod store;
mod sync;
mod version;
