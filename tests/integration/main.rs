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
mod live_ingest;
mod logs;
mod mail;
mod metrics;
mod openapi;
mod osv;
mod oval;
mod page;
mod readme;
mod replicas;
mod server;
mod status;
mod store;
mod sync;
mod trust;
mod version;
