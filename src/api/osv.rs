//! OSV.dev-compatible endpoints: `/v1/query`, `/v1/querybatch`, `/v1/vulns/{id}`.
//!
//! Responses mirror OSV.dev: empty lists are omitted (`{}` when nothing
//! matches), records are the stored OSV JSON bytes, unchanged. Matches whose
//! ranges could not be evaluated are included (possibly affected) and their
//! ids listed in the `x-advisord-unevaluated` response header. A version its
//! ecosystem's scheme cannot read is answered, never refused: only exact
//! `versions` lists match it, and the answer says so (`version` in that
//! header; `unevaluated_version` on a batch result). Both endpoints page
//! past [`PAGE_SIZE`] matches with `next_page_token`, per query in a batch.

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize, Serializer};

use super::pool::{admit, HeavyPool};
use super::{blocking, ApiError, AppState};
use crate::freshness;
use crate::model::{Ecosystem, FixStatus};
use crate::query::{match_batch, PackageQuery, QueryMatch};
use crate::store::Store;

/// Results per page of `/v1/query` and per query of `/v1/querybatch`, as on OSV.dev.
pub const PAGE_SIZE: usize = 1000;
/// Queries allowed in one `/v1/querybatch`.
pub const MAX_BATCH: usize = 1000;
/// Header naming matches that are "possibly affected".
pub const UNEVALUATED_HEADER: &str = "x-advisord-unevaluated";
/// The entry of [`UNEVALUATED_HEADER`] saying that the query's version is
/// not valid in its ecosystem's scheme, so ranges were not evaluated.
pub const UNREADABLE_VERSION: &str = "version";
/// Header naming the feeds an answer depends on that never synced or are
/// past their maximum age: the answer may be incomplete.
pub const STALE_HEADER: &str = "x-advisord-stale";
/// The field of a `/v1/querybatch` result giving why its version was not
/// evaluated (OSV clients ignore fields they do not know).
pub const UNREADABLE_VERSION_FIELD: &str = "unevaluated_version";
/// The field giving the fix status of the matching entry on each
/// `/v1/querybatch` vuln (advisord extension: only for a query that sent
/// `ignore_status`, so OSV clients get OSV.dev's shape).
pub const MATCH_STATUS_FIELD: &str = "status";
/// The `/v1/query` answer's map from matched id to the fix status of the
/// matching entry (advisord extension: only when the query sent `ignore_status`).
pub const MATCH_STATUSES_FIELD: &str = "statuses";

pub(super) fn router(pool: &HeavyPool) -> Router<AppState> {
    Router::new()
        .route("/v1/query", post(query))
        .route(
            "/v1/querybatch",
            post(querybatch).route_layer(axum::middleware::from_fn_with_state(pool.clone(), admit)),
        )
        .route("/v1/vulns/{id}", get(vuln))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct QueryBody {
    #[serde(default)]
    package: Option<PackageBody>,
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    commit: Option<String>,
    #[serde(default)]
    page_token: Option<String>,
    /// Statuses whose entries do not count as matches (advisord extension;
    /// OSV clients never send it). Absent: `not_affected` only.
    #[serde(default)]
    ignore_status: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PackageBody {
    #[serde(default)]
    ecosystem: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    purl: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BatchBody {
    queries: Vec<serde_json::Value>,
}

/// Parses a JSON body with a message that says what is wrong and where.
fn parse_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError::BadRequest(format!("invalid request body: {e}")))
}

impl QueryBody {
    /// The query asked, checked; `store` answers whether an ecosystem
    /// missing from advisord's table has records (then it is served).
    fn to_query(&self, store: &Store) -> Result<PackageQuery, ApiError> {
        if self.commit.is_some() {
            return Err(ApiError::BadRequest(
                "commit queries are not supported by this server; query by package and version"
                    .into(),
            ));
        }
        let package = self
            .package
            .as_ref()
            .ok_or_else(|| ApiError::BadRequest("package is required".into()))?;
        let query = match (&package.purl, &package.ecosystem, &package.name) {
            (Some(purl), None, None) => PackageQuery::from_purl(purl, self.version.as_deref())?,
            (Some(_), _, _) => {
                return Err(ApiError::BadRequest(
                    "give either package.purl or package.ecosystem and package.name, not both"
                        .into(),
                ))
            }
            (None, Some(ecosystem), Some(name)) => {
                PackageQuery::new_served(ecosystem, name, self.version.as_deref(), store)?
            }
            (None, None, Some(_)) => {
                return Err(ApiError::BadRequest("package.ecosystem is required".into()))
            }
            (None, _, None) => return Err(ApiError::BadRequest("package.name is required".into())),
        };
        let Some(asked) = &self.ignore_status else {
            return Ok(query);
        };
        let ignore = asked
            .iter()
            .map(|s| s.parse::<FixStatus>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| ApiError::BadRequest(format!("ignore_status: {e}")))?;
        Ok(query.ignoring(&ignore))
    }
}

async fn query(State(state): State<AppState>, body: Bytes) -> Result<Response, ApiError> {
    let body: QueryBody = parse_body(&body)?;
    let query = body.to_query(&state.store)?;
    // Statuses are told only to clients that speak the extension, so an
    // OSV client's answer keeps OSV.dev's shape.
    let tell_status = body.ignore_status.is_some();
    let after = body.page_token.as_deref().map(decode_token).transpose()?;
    let store = state.store.clone();
    let unreadable = query.unevaluated.is_some();
    let (next, unevaluated, (records, statuses), stale) = tokio::task::spawn_blocking(move || {
        let stale = stale_feeds(&state, [&query.ecosystem])?;
        let matches = query.run(&store)?;
        let (page, next) = page_of(&matches, after.as_deref());
        let ids: Vec<String> = page.iter().map(|m| m.id.clone()).collect();
        let unevaluated: Vec<String> = page
            .iter()
            .filter(|m| m.unevaluated.is_some())
            .map(|m| m.id.clone())
            .collect();
        let records = store.get_many_json(&ids)?;
        let statuses: Vec<(String, FixStatus)> = page
            .iter()
            .filter(|_| tell_status)
            .filter_map(|m| Some((m.id.clone(), m.status?)))
            .collect();
        Ok::<_, ApiError>((next, unevaluated, (records, statuses), stale))
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))??;
    let mut out = Vec::with_capacity(records.iter().map(|(_, r)| r.len() + 1).sum::<usize>() + 64);
    out.push(b'{');
    if !records.is_empty() {
        out.extend_from_slice(b"\"vulns\":[");
        for (i, (_, json)) in records.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(json);
        }
        out.push(b']');
    }
    if !statuses.is_empty() && !records.is_empty() {
        // The status of the entry that matched, per id (advisord extension).
        let map: serde_json::Map<String, serde_json::Value> = statuses
            .into_iter()
            .map(|(id, status)| (id, status.name().into()))
            .collect();
        out.extend_from_slice(format!(",\"{MATCH_STATUSES_FIELD}\":").as_bytes());
        out.extend_from_slice(serde_json::Value::Object(map).to_string().as_bytes());
    }
    if let Some(token) = next {
        if !records.is_empty() {
            out.push(b',');
        }
        out.extend_from_slice(format!("\"next_page_token\":\"{token}\"").as_bytes());
    }
    out.push(b'}');
    let mut header = Vec::with_capacity(unevaluated.len() + 1);
    if unreadable {
        header.push(UNREADABLE_VERSION.to_string());
    }
    header.extend(unevaluated);
    Ok(with_stale(json_response(out, &header), &stale))
}

/// One page of `matches` (sorted by id) after the id `after`, and the token
/// of the next page when more remain.
fn page_of<'a>(
    matches: &'a [QueryMatch],
    after: Option<&str>,
) -> (&'a [QueryMatch], Option<String>) {
    let start = after.map_or(0, |after| {
        matches.partition_point(|m| m.id.as_str() <= after)
    });
    let end = (start + PAGE_SIZE).min(matches.len());
    let page = &matches[start..end];
    let next = (end < matches.len())
        .then(|| page.last().map(|m| hex::encode(m.id.as_bytes())))
        .flatten();
    (page, next)
}

async fn querybatch(State(state): State<AppState>, body: Bytes) -> Result<Response, ApiError> {
    // Parsing, matching and writing the answer all run off the async
    // threads: a 1,000-query batch is milliseconds of CPU.
    let answer = blocking(move || batch_answer(&state, &body)).await?;
    let mut response = with_stale(
        json_response(answer.bytes, &answer.unevaluated),
        &answer.stale,
    );
    response
        .extensions_mut()
        .insert(super::metrics::BatchQueries(answer.queries));
    Ok(response)
}

/// A `/v1/querybatch` answer, with what goes into its headers.
struct BatchAnswer {
    /// The JSON body.
    bytes: Vec<u8>,
    /// Ids only possibly affected (ranges not evaluated).
    unevaluated: Vec<String>,
    /// Feeds the answer depends on that are stale.
    stale: Vec<String>,
    /// Queries answered.
    queries: u64,
}

/// The body of a `/v1/querybatch` answer, written straight from the
/// matches (no JSON tree in between).
#[derive(Serialize)]
struct BatchResults<'a> {
    results: Vec<BatchResult<'a>>,
}

/// One query's result in a `/v1/querybatch` answer: its keys in sorted
/// order, empty ones left out, as OSV.dev writes them.
struct BatchResult<'a> {
    /// The page of matches.
    vulns: BatchVulns<'a>,
    /// The next page's token.
    next: Option<String>,
    /// Why the query's version was not evaluated.
    unreadable: Option<&'a str>,
}

impl Serialize for BatchResult<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        if let Some(token) = &self.next {
            map.serialize_entry("next_page_token", token)?;
        }
        if let Some(reason) = self.unreadable {
            map.serialize_entry(UNREADABLE_VERSION_FIELD, reason)?;
        }
        if !self.vulns.page.is_empty() {
            map.serialize_entry("vulns", &self.vulns)?;
        }
        map.end()
    }
}

/// A page of matches as `/v1/querybatch` vulns: id, `modified` and, for a
/// query that sent `ignore_status`, [`MATCH_STATUS_FIELD`].
struct BatchVulns<'a> {
    page: &'a [QueryMatch],
    tell_status: bool,
}

impl Serialize for BatchVulns<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.page.iter().map(|m| BatchVuln {
            id: &m.id,
            modified: &m.modified,
            status: m.status.filter(|_| self.tell_status),
        }))
    }
}

/// One vuln of [`BatchVulns`].
struct BatchVuln<'a> {
    id: &'a str,
    modified: &'a str,
    status: Option<FixStatus>,
}

impl Serialize for BatchVuln<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("id", self.id)?;
        map.serialize_entry("modified", self.modified)?;
        if let Some(status) = self.status {
            map.serialize_entry(MATCH_STATUS_FIELD, status.name())?;
        }
        map.end()
    }
}

/// The `/v1/querybatch` answer to `body`.
fn batch_answer(state: &AppState, body: &[u8]) -> Result<BatchAnswer, ApiError> {
    let body: BatchBody = parse_body(body)?;
    if body.queries.len() > MAX_BATCH {
        return Err(ApiError::BadRequest(format!(
            "Too many queries: {} given, at most {MAX_BATCH} per batch",
            body.queries.len()
        )));
    }
    let mut queries = Vec::with_capacity(body.queries.len());
    for (index, value) in body.queries.into_iter().enumerate() {
        let in_query = |e: ApiError| match e {
            ApiError::BadRequest(m) => ApiError::BadRequest(format!("queries[{index}]: {m}")),
            other => other,
        };
        let q: QueryBody = serde_json::from_value(value)
            .map_err(|e| ApiError::BadRequest(format!("queries[{index}]: {e}")))?;
        let query = q.to_query(&state.store).map_err(in_query)?;
        let after = q
            .page_token
            .as_deref()
            .map(decode_token)
            .transpose()
            .map_err(in_query)?;
        queries.push((query, after, q.ignore_status.is_some()));
    }
    let stale = stale_feeds(state, queries.iter().map(|(q, _, _)| &q.ecosystem))?;
    let answered = u64::try_from(queries.len()).unwrap_or(u64::MAX);
    let asked: Vec<&PackageQuery> = queries.iter().map(|(q, _, _)| q).collect();
    let answers = match_batch(&state.store.snapshot()?, &asked)?;
    let mut unevaluated = Vec::new();
    let results: Vec<BatchResult<'_>> = queries
        .iter()
        .zip(&answers)
        .map(|((q, after, tell_status), answer)| {
            let (vulns, next) = page_of(&answer.matches, after.as_deref());
            unevaluated.extend(
                vulns
                    .iter()
                    .filter(|m| m.unevaluated.is_some())
                    .map(|m| m.id.clone()),
            );
            BatchResult {
                vulns: BatchVulns {
                    page: vulns,
                    tell_status: *tell_status,
                },
                next,
                unreadable: q.unevaluated.as_deref(),
            }
        })
        .collect();
    unevaluated.sort();
    unevaluated.dedup();
    let bytes = serde_json::to_vec(&BatchResults { results })
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(BatchAnswer {
        bytes,
        unevaluated,
        stale,
        queries: answered,
    })
}

async fn vuln(State(state): State<AppState>, Path(id): Path<String>) -> Result<Response, ApiError> {
    let store = state.store.clone();
    let lookup = id.clone();
    let json = tokio::task::spawn_blocking(move || store.get_json(&lookup))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))??;
    match json {
        Some(bytes) => Ok(json_response(bytes, &[])),
        None => Err(ApiError::NotFound(format!("vulnerability {id} not found"))),
    }
}

/// The feeds that make answers for `ecosystems` possibly incomplete
/// (none without a catalog: nothing is then expected to sync).
fn stale_feeds<'a>(
    state: &AppState,
    ecosystems: impl IntoIterator<Item = &'a Ecosystem>,
) -> Result<Vec<String>, ApiError> {
    match &state.sync {
        Some(sync) => Ok(freshness::stale_for_all(&*sync.freshness()?, ecosystems)),
        None => Ok(Vec::new()),
    }
}

/// Adds [`STALE_HEADER`] naming `stale` feeds, when there are any.
fn with_stale(mut response: Response, stale: &[String]) -> Response {
    if !stale.is_empty() {
        if let Ok(value) = HeaderValue::from_str(&stale.join(",")) {
            response.headers_mut().insert(STALE_HEADER, value);
        }
    }
    response
}

fn decode_token(token: &str) -> Result<String, ApiError> {
    hex::decode(token)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| ApiError::BadRequest(format!("invalid page_token {token:?}")))
}

fn json_response(bytes: Vec<u8>, unevaluated: &[String]) -> Response {
    let mut response = Body::from(bytes).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if !unevaluated.is_empty() {
        if let Ok(value) = HeaderValue::from_str(&unevaluated.join(",")) {
            response.headers_mut().insert(UNEVALUATED_HEADER, value);
        }
    }
    response
}
