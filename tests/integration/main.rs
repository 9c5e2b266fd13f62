//! advisord's integration tests: one binary, one module per area.

mod answers;
mod changes;
mod cli;
mod common;
mod hostile;
mod image_registry;
mod images;
mod jsonfeeds;
mod limits;
mod mail;
mod osv;
mod oval;
mod readme;
mod replicas;
mod server;
mod store;
mod sync;
mod trust;
mod version;
