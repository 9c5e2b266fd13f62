//! Image watches: a watch created with an image reference stores the
//! image's packages; this task re-resolves each watched reference on an
//! interval and, when its manifest digest changed (a tag was pushed again),
//! replaces the packages and emits `image_changed` plus the finding changes
//! the new packages bring (`no_longer_affected` when the push fixed them,
//! `newly_affected` when it brought vulnerable ones). Advisory changes
//! between pushes are the ordinary watch engine's job.

use std::collections::HashMap;

use crate::image::{self, ImageContents, ImageError, ImageRef, ScanOptions};
use crate::inventory::findings;
use crate::model::InventoryPackage;
use crate::model::Timestamp;
use crate::notify::Hub;
use crate::store::watches::{
    ImageChange, Watch, WatchEvent, WatchEventKind, WatchUpdate, WatchedImage,
};
use crate::store::{Store, StoreError};

/// Why an image watch could not be refreshed.
#[derive(Debug, thiserror::Error)]
pub enum ImageWatchError {
    /// The image could not be read.
    #[error("watch {watch}: image {reference}: {source}")]
    Image {
        /// The watch id.
        watch: String,
        /// The image reference.
        reference: String,
        /// The cause.
        source: Box<ImageError>,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Scan options for a watched (or admin-scanned) image.
pub fn options(platform: Option<&str>, insecure: bool) -> Result<ScanOptions, ImageError> {
    let mut options = ScanOptions::default();
    if let Some(p) = platform {
        options.platform = p
            .parse()
            .map_err(|e: crate::image::source::InvalidPlatform| {
                ImageError::Layout(e.to_string())
            })?;
    }
    options.registry.insecure = insecure;
    options.registry.auth = std::env::var("ADVISORD_REGISTRY_AUTH").ok();
    Ok(options)
}

/// The packages a watch of `contents` holds (source packages, and binary
/// rpms, as [`image::report::inventory`] matches them).
pub fn watch_packages(contents: &ImageContents) -> Vec<InventoryPackage> {
    image::report::inventory(contents).into_keys().collect()
}

/// The stored description of a watched image.
pub fn watched(contents: &ImageContents, reference: &str, insecure: bool) -> WatchedImage {
    WatchedImage {
        reference: reference.to_string(),
        digest: contents.image.manifest_digest.clone(),
        platform: contents.image.platform.clone(),
        insecure,
        checked: Timestamp::now().to_string(),
    }
}

/// Re-resolves the image of `watch`; when its digest changed, stores the
/// new packages and findings with their events. Returns the events appended.
pub fn refresh(
    store: &Store,
    watch: &Watch,
    handle: &tokio::runtime::Handle,
) -> Result<usize, ImageWatchError> {
    let Some(image) = &watch.image else {
        return Ok(0);
    };
    let failed = |source: ImageError| ImageWatchError::Image {
        watch: watch.id.clone(),
        reference: image.reference.clone(),
        source: Box::new(source),
    };
    let reference: ImageRef = image
        .reference
        .parse()
        .map_err(|e| failed(ImageError::Reference(e)))?;
    let options = options(image.platform.as_deref(), image.insecure).map_err(failed)?;
    let contents = image::read_image(&reference, &options, Some(handle)).map_err(failed)?;
    if contents.image.manifest_digest == image.digest {
        return Ok(0);
    }
    let packages = watch_packages(&contents);
    let snapshot = store.snapshot()?;
    let as_of = snapshot.last_seq()?.max(watch.as_of);
    let fresh: Vec<_> = findings(&snapshot, &packages, &watch.ignore_status)?
        .into_iter()
        .flatten()
        .collect();
    let now = Timestamp::now().to_string();
    let ecosystem = contents
        .os
        .as_ref()
        .and_then(|o| o.ecosystem.clone())
        .unwrap_or_default();
    let mut events = vec![WatchEvent {
        seq: 0,
        kind: WatchEventKind::ImageChanged,
        advisory: String::new(),
        package: InventoryPackage {
            ecosystem,
            name: image.reference.clone(),
            version: contents.image.manifest_digest.clone(),
        },
        fixed: Vec::new(),
        change_seq: as_of,
        recorded: now.clone(),
        image: Some(ImageChange {
            reference: image.reference.clone(),
            from: image.digest.clone(),
            to: contents.image.manifest_digest.clone(),
        }),
    }];
    // A package is the same one across pushes when its ecosystem and name
    // are: an upgrade compares its old findings with its new ones.
    let name_key = |p: &InventoryPackage| (p.ecosystem.clone(), p.name.clone());
    let old: HashMap<_, _> = watch
        .findings
        .iter()
        .map(|f| (name_key(&f.package), f))
        .collect();
    let new: HashMap<_, _> = fresh.iter().map(|f| (name_key(&f.package), f)).collect();
    let mut keys: Vec<_> = old.keys().chain(new.keys()).cloned().collect();
    keys.sort();
    keys.dedup();
    for key in keys {
        let (before, after) = (old.get(&key).copied(), new.get(&key).copied());
        let Some(package) = after.or(before).map(|f| f.package.clone()) else {
            continue;
        };
        super::engine::diff(before, after, &package, as_of, &now, &mut events);
    }
    let n = events.len();
    let update = WatchUpdate {
        id: watch.id.clone(),
        from: watch.as_of,
        as_of,
        findings: fresh,
        events,
    };
    let written = store.replace_watch_image(
        update,
        &packages,
        watched(&contents, &image.reference, image.insecure),
    )?;
    Ok(if written.is_some() { n } else { 0 })
}

/// Refreshes every image watch each `image_poll`, until the task is dropped.
pub async fn run(hub: Hub) {
    loop {
        tokio::time::sleep(hub.config().image_poll).await;
        let store = hub.store().clone();
        let handle = tokio::runtime::Handle::current();
        let result = tokio::task::spawn_blocking(move || {
            let mut total = 0;
            for watch in store.watches()?.iter().filter(|w| w.image.is_some()) {
                match refresh(&store, watch, &handle) {
                    Ok(n) => total += n,
                    Err(e) => tracing::warn!(error = %e, "image watch refresh failed"),
                }
            }
            Ok::<_, StoreError>(total)
        })
        .await;
        match result {
            Ok(Ok(0)) => {}
            Ok(Ok(_)) => {
                // The engine reloads the replaced packages; deliveries wake up.
                hub.watches_changed();
                hub.events_appended();
            }
            Ok(Err(e)) => tracing::warn!(error = %e, "image watches: store failed"),
            Err(e) => tracing::error!(error = %e, "image watch task crashed"),
        }
    }
}
