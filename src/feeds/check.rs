//! `advisord feeds --check`: whether each enabled feed's URLs answer, without
//! downloading them. One HEAD per URL (conditional when validators are known;
//! a GET of the first byte where HEAD is refused), redirects followed by hand
//! so they can be reported, and transport failures told apart (TLS,
//! connection, timeout). An OSV feed whose ecosystem its bucket's
//! `ecosystems.txt` does not list is reported "not published upstream".

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use reqwest::header;
use reqwest::StatusCode;
use serde::Serialize;

use super::catalog::{parse_ecosystem_index, FeedSpec};
use super::http::Validators;

/// Redirects followed before giving up.
const MAX_REDIRECTS: usize = 5;

/// URLs checked at once.
const PARALLEL: usize = 8;

/// What asking one URL found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Reachability {
    /// 2xx: the file is there.
    Reachable,
    /// 304: the file is there and unchanged since the validators we hold.
    NotModified,
    /// The URL redirects to a file that is there (the catalog could name
    /// the target instead).
    Redirect,
    /// 404 or 410 (at the end of any redirects).
    NotFound,
    /// Any other HTTP status, or too many redirects.
    HttpError,
    /// The TLS handshake failed (certificate, protocol).
    TlsError,
    /// No connection: DNS, refused, reset.
    ConnectionError,
    /// No answer in time.
    Timeout,
}

impl Reachability {
    /// Whether a sync could fetch the file.
    pub fn is_ok(self) -> bool {
        matches!(
            self,
            Reachability::Reachable | Reachability::NotModified | Reachability::Redirect
        )
    }

    /// The word printed for it.
    pub fn label(self) -> &'static str {
        match self {
            Reachability::Reachable => "reachable",
            Reachability::NotModified => "not modified",
            Reachability::Redirect => "redirect",
            Reachability::NotFound => "404",
            Reachability::HttpError => "http error",
            Reachability::TlsError => "TLS error",
            Reachability::ConnectionError => "connection error",
            Reachability::Timeout => "timeout",
        }
    }
}

/// The check of one URL.
#[derive(Debug, Clone, Serialize)]
pub struct UrlCheck {
    /// The URL as the catalog names it.
    pub url: String,
    /// What was found.
    pub result: Reachability,
    /// The last HTTP status received.
    pub status: Option<u16>,
    /// Where redirects led.
    pub location: Option<String>,
    /// The transport error, when there was no HTTP answer.
    pub detail: Option<String>,
}

/// The check of one feed.
#[derive(Debug, Clone, Serialize)]
pub struct FeedCheck {
    /// The feed name.
    pub feed: String,
    /// Every URL the feed fetches now.
    pub urls: Vec<UrlCheck>,
    /// Why upstream does not publish the feed (its URLs are then not asked).
    pub not_published: Option<String>,
    /// Whether a sync would get every file (or has nothing to get).
    pub reachable: bool,
}

/// An HTTP client that does not follow redirects, for checks.
#[derive(Debug, Clone)]
pub struct Checker {
    client: reqwest::Client,
}

impl Checker {
    /// A checker allowing `timeout` per request.
    pub fn new(timeout: Duration) -> Result<Checker, reqwest::Error> {
        let client = reqwest::Client::builder()
            .connect_timeout(timeout)
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("advisord/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Checker { client })
    }

    /// Asks `url` whether it is there: HEAD (GET of byte 0 when HEAD is
    /// refused), conditional on `validators`, following up to five redirects.
    pub async fn check(&self, url: &str, validators: &Validators) -> UrlCheck {
        let mut current = url.to_string();
        let mut redirected = false;
        for _ in 0..=MAX_REDIRECTS {
            let status = match self.ask(&current, validators).await {
                Ok(status) => status,
                Err(e) => {
                    let (result, detail) = classify(&e, &current);
                    return UrlCheck {
                        url: url.to_string(),
                        result,
                        status: None,
                        location: redirected.then_some(current),
                        detail: Some(detail),
                    };
                }
            };
            let (code, location) = status;
            if code.is_redirection() && code != StatusCode::NOT_MODIFIED {
                let next = location.and_then(|l| {
                    reqwest::Url::parse(&current)
                        .and_then(|base| base.join(&l))
                        .ok()
                });
                if let Some(next) = next {
                    current = next.to_string();
                    redirected = true;
                    continue;
                }
            }
            let result = match code {
                StatusCode::NOT_MODIFIED => Reachability::NotModified,
                StatusCode::NOT_FOUND | StatusCode::GONE => Reachability::NotFound,
                c if c.is_success() && redirected => Reachability::Redirect,
                c if c.is_success() => Reachability::Reachable,
                _ => Reachability::HttpError,
            };
            return UrlCheck {
                url: url.to_string(),
                result,
                status: Some(code.as_u16()),
                location: redirected.then_some(current),
                detail: None,
            };
        }
        UrlCheck {
            url: url.to_string(),
            result: Reachability::HttpError,
            status: None,
            location: Some(current),
            detail: Some(format!("more than {MAX_REDIRECTS} redirects")),
        }
    }

    /// One request: the status and the `Location` header.
    async fn ask(
        &self,
        url: &str,
        validators: &Validators,
    ) -> Result<(StatusCode, Option<String>), reqwest::Error> {
        let conditional = |mut request: reqwest::RequestBuilder| {
            if let Some(etag) = &validators.etag {
                request = request.header(header::IF_NONE_MATCH, etag);
            }
            if let Some(lm) = &validators.last_modified {
                request = request.header(header::IF_MODIFIED_SINCE, lm);
            }
            request
        };
        let mut response = conditional(self.client.head(url)).send().await?;
        if matches!(
            response.status(),
            StatusCode::METHOD_NOT_ALLOWED | StatusCode::NOT_IMPLEMENTED
        ) {
            // Some servers refuse HEAD: ask for the first byte instead (the
            // rest of the body is never read).
            response = conditional(self.client.get(url))
                .header(header::RANGE, "bytes=0-0")
                .send()
                .await?;
        }
        let location = response
            .headers()
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        Ok((response.status(), location))
    }

    /// The ecosystems an OSV bucket lists; `None` when its `ecosystems.txt`
    /// cannot be read (then nothing is concluded from it).
    async fn osv_listing(&self, index_url: &str) -> Option<BTreeSet<String>> {
        let response = self.client.get(index_url).send().await.ok()?;
        if !response.status().is_success() {
            return None;
        }
        let text = response.text().await.ok()?;
        Some(parse_ecosystem_index(&text))
    }
}

/// Timeout, TLS or connection error, with the whole cause chain as text.
fn classify(error: &reqwest::Error, url: &str) -> (Reachability, String) {
    let mut detail = error.to_string();
    let mut invalid_data = false;
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        let text = cause.to_string();
        if !detail.contains(&text) {
            detail.push_str(": ");
            detail.push_str(&text);
        }
        if cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::InvalidData)
        {
            invalid_data = true;
        }
        source = cause.source();
    }
    if error.is_timeout() {
        return (Reachability::Timeout, detail);
    }
    // rustls reports handshake failures as InvalidData I/O errors carrying
    // its own message (certificate, alert, corrupt message).
    let lower = detail.to_ascii_lowercase();
    let tls = url.starts_with("https://")
        && (invalid_data
            || ["certificate", "tls", "handshake", "corrupt message"]
                .iter()
                .any(|w| lower.contains(w)));
    if tls {
        (Reachability::TlsError, detail)
    } else {
        (Reachability::ConnectionError, detail)
    }
}

/// Checks `specs` (each URL as it would be fetched now), `validators(feed,
/// url)` giving what the store holds for a conditional request. Results are
/// in the order of `specs`.
pub async fn check_feeds(
    checker: &Checker,
    specs: &[FeedSpec],
    validators: impl Fn(&str, &str) -> Validators,
) -> Vec<FeedCheck> {
    // Each bucket's ecosystems.txt once.
    let mut listings: HashMap<String, Option<BTreeSet<String>>> = HashMap::new();
    for export in specs.iter().filter_map(FeedSpec::osv_export) {
        if let std::collections::hash_map::Entry::Vacant(slot) = listings.entry(export.index_url) {
            let listing = checker.osv_listing(slot.key()).await;
            slot.insert(listing);
        }
    }
    let now = time::OffsetDateTime::now_utc();
    let permits = Arc::new(tokio::sync::Semaphore::new(PARALLEL));
    let mut tasks = tokio::task::JoinSet::new();
    let mut out = Vec::new();
    for (index, spec) in specs.iter().enumerate() {
        let not_published = spec.osv_export().and_then(|export| {
            let listed = listings.get(&export.index_url)?.as_ref()?;
            (!listed.contains(&export.ecosystem)).then(|| export.not_published())
        });
        let urls = if not_published.is_some() {
            Vec::new()
        } else {
            spec.expanded_urls(now)
        };
        for (slot, url) in urls.iter().enumerate() {
            let (checker, permits) = (checker.clone(), Arc::clone(&permits));
            let (url, held) = (url.clone(), validators(&spec.name, url));
            tasks.spawn(async move {
                let _permit = permits.acquire_owned().await;
                (index, slot, checker.check(&url, &held).await)
            });
        }
        out.push(FeedCheck {
            feed: spec.name.clone(),
            urls: Vec::with_capacity(urls.len()),
            not_published,
            reachable: true,
        });
    }
    let mut done = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        if let Ok(result) = joined {
            done.push(result);
        }
    }
    done.sort_by_key(|(index, slot, _)| (*index, *slot));
    for (index, _, check) in done {
        if let Some(feed) = out.get_mut(index) {
            feed.reachable &= check.result.is_ok();
            feed.urls.push(check);
        }
    }
    out
}
