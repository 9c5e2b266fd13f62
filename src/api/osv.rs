//! OSV.dev-compatible endpoints: `/v1/query`, `/v1/querybatch`, `/v1/vulns/{id}`.
//!
//! Responses mirror OSV.dev: empty lists are omitted (`{}` when nothing
//! matches), records are the stored OSV JSON bytes, unchanged. Matches whose
//! ranges could not be evaluated are included (possibly affected) and their
//! ids listed in the `x-advisord-unevaluated` response header.

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;

use super::pool::{admit, HeavyPool};
use super::{blocking, ApiError, AppState};
use crate::query::{PackageQuery, QueryMatch};

/// Results per page of `/v1/query`, as on OSV.dev.
pub const PAGE_SIZE: usize = 1000;
/// Queries allowed in one `/v1/querybatch`.
pub const MAX_BATCH: usize = 1000;
/// Header naming matches that are "possibly affected".
pub const UNEVALUATED_HEADER: &str = "x-advisord-unevaluated";

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
    fn to_query(&self) -> Result<PackageQuery, ApiError> {
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
                PackageQuery::new(ecosystem, name, self.version.as_deref())?
            }
            (None, None, Some(_)) => {
                return Err(ApiError::BadRequest("package.ecosystem is required".into()))
            }
            (None, _, None) => return Err(ApiError::BadRequest("package.name is required".into())),
        };
        Ok(query)
    }
}

async fn query(State(state): State<AppState>, body: Bytes) -> Result<Response, ApiError> {
    let body: QueryBody = parse_body(&body)?;
    let query = body.to_query()?;
    let after = match &body.page_token {
        Some(token) => Some(decode_token(token)?),
        None => None,
    };
    let store = state.store.clone();
    let (next, unevaluated, records) = tokio::task::spawn_blocking(move || {
        let matches = query.run(&store)?;
        let start = match &after {
            Some(after) => matches.partition_point(|m| m.id.as_str() <= after.as_str()),
            None => 0,
        };
        let page: Vec<QueryMatch> = matches
            .iter()
            .skip(start)
            .take(PAGE_SIZE)
            .cloned()
            .collect();
        let next = (start + page.len() < matches.len())
            .then(|| page.last().map(|m| hex::encode(m.id.as_bytes())))
            .flatten();
        let ids: Vec<String> = page.iter().map(|m| m.id.clone()).collect();
        let unevaluated: Vec<String> = page
            .iter()
            .filter(|m| m.unevaluated.is_some())
            .map(|m| m.id.clone())
            .collect();
        let records = store.get_many_json(&ids)?;
        Ok::<_, ApiError>((next, unevaluated, records))
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
    if let Some(token) = next {
        if !records.is_empty() {
            out.push(b',');
        }
        out.extend_from_slice(format!("\"next_page_token\":\"{token}\"").as_bytes());
    }
    out.push(b'}');
    Ok(json_response(out, &unevaluated))
}

async fn querybatch(State(state): State<AppState>, body: Bytes) -> Result<Response, ApiError> {
    // Parsing, matching and writing the answer all run off the async
    // threads: a 1,000-query batch is milliseconds of CPU.
    let store = state.store.clone();
    let (bytes, unevaluated) = blocking(move || batch_answer(&store, &body)).await?;
    Ok(json_response(bytes, &unevaluated))
}

/// The `/v1/querybatch` answer to `body`, and the ids possibly affected.
fn batch_answer(
    store: &crate::store::Store,
    body: &[u8],
) -> Result<(Vec<u8>, Vec<String>), ApiError> {
    let body: BatchBody = parse_body(body)?;
    if body.queries.len() > MAX_BATCH {
        return Err(ApiError::BadRequest(format!(
            "Too many queries: {} given, at most {MAX_BATCH} per batch",
            body.queries.len()
        )));
    }
    let mut queries = Vec::with_capacity(body.queries.len());
    for (index, value) in body.queries.into_iter().enumerate() {
        let q: QueryBody = serde_json::from_value(value)
            .map_err(|e| ApiError::BadRequest(format!("queries[{index}]: {e}")))?;
        let query = q.to_query().map_err(|e| match e {
            ApiError::BadRequest(m) => ApiError::BadRequest(format!("queries[{index}]: {m}")),
            other => other,
        })?;
        queries.push(query);
    }
    let keys: Vec<_> = queries.iter().map(PackageQuery::index_key).collect();
    let rows = store.lookup_packages(&keys)?;
    let results = queries
        .iter()
        .zip(rows)
        .map(|(q, rows)| crate::query::match_rows(q.version.as_deref(), rows));
    let mut unevaluated = Vec::new();
    let results: Vec<serde_json::Value> = results
        .map(|matches| {
            if matches.is_empty() {
                return serde_json::json!({});
            }
            let vulns: Vec<_> = matches
                .into_iter()
                .map(|m| {
                    if m.unevaluated.is_some() {
                        unevaluated.push(m.id.clone());
                    }
                    serde_json::json!({"id": m.id, "modified": m.modified})
                })
                .collect();
            serde_json::json!({ "vulns": vulns })
        })
        .collect();
    unevaluated.sort();
    unevaluated.dedup();
    let bytes = serde_json::to_vec(&serde_json::json!({ "results": results }))
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok((bytes, unevaluated))
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
