//! Inventory watches at work: the engine that turns change-log entries into
//! watch events ([`engine`]) and the task that follows watched images
//! ([`image`]). A watch's stored form and its event log are the store's
//! (`store::watches`); its HTTP endpoints are `api::watches`.

pub mod engine;
pub mod image;
