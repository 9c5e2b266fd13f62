//! The status and search page at `/`, and a record view at
//! `/records/{id}`: server-rendered HTML with no script and no external
//! asset, so it works with JavaScript off and by keyboard (plain forms and
//! links). It shows each feed's freshness, last error and record count
//! (stale feeds flagged), and searches by ecosystem + package (+ version),
//! by purl, or by advisory/CVE id. A CVE id opens the per-CVE view at
//! `/cves/{id}` (see [`cve`]).

mod cve;

use std::fmt::Write as _;

use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use serde::Deserialize;
use serde_json::Value;

use super::{blocking, ApiError, AppState};
use crate::model::is_cve_id;
use crate::query::PackageQuery;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/records/{id}", get(record))
        .route("/cves/{id}", get(cve::cve_page))
}

/// The search form's fields (all optional).
#[derive(Debug, Default, Deserialize)]
struct Search {
    #[serde(default)]
    ecosystem: Option<String>,
    #[serde(default)]
    package: Option<String>,
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    purl: Option<String>,
    #[serde(default)]
    id: Option<String>,
}

/// A form field's value, if it holds more than blanks.
fn given(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

/// Text made safe inside HTML elements and attribute values.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A path segment made safe in a URL (`/records/{id}`, `/cves/{id}`).
fn url_segment(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b':' => {
                (b as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

const STYLE: &str = "body{font-family:sans-serif;margin:1.5rem;max-width:70rem}\
table{border-collapse:collapse}td,th{border:1px solid #999;padding:.2rem .5rem;text-align:left}\
.stale{color:#a00;font-weight:bold}a:focus,input:focus,button:focus{outline:3px solid #36c}\
label{display:inline-block;margin:.2rem .8rem .2rem 0}";

fn page(title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width\"><title>{}</title><style>{STYLE}</style></head>\
<body><nav><a href=\"/\">advisord</a></nav><main>{body}</main></body></html>",
        escape(title)
    );
    let mut response = Html(html).into_response();
    response.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        axum::http::HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'"),
    );
    response
}

/// A page answering an error (`status`) in HTML, its message as an alert.
fn error_page(status: axum::http::StatusCode, title: &str, message: &str) -> Response {
    let mut response = page(
        title,
        &format!(
            "<h1>{}</h1><p role=\"alert\">{}</p>",
            escape(title),
            escape(message)
        ),
    );
    *response.status_mut() = status;
    response
}

/// Where a CVE id or other advisory id is shown: the per-CVE view for a
/// CVE, the record view for anything else.
fn id_link(id: &str) -> String {
    let base = if is_cve_id(id) { "cves" } else { "records" };
    format!("<a href=\"/{base}/{}\">{}</a>", url_segment(id), escape(id))
}

fn field(name: &str, label: &str, value: Option<&str>) -> String {
    format!(
        "<label for=\"{name}\">{label} <input id=\"{name}\" name=\"{name}\" value=\"{}\"></label>",
        escape(value.unwrap_or(""))
    )
}

async fn home(
    State(state): State<AppState>,
    Query(search): Query<Search>,
) -> Result<Response, ApiError> {
    if let Some(id) = given(&search.id) {
        // A CVE id opens what every source says about it.
        let upper = id.to_ascii_uppercase();
        if is_cve_id(&upper) {
            return Ok(Redirect::to(&format!("/cves/{}", url_segment(&upper))).into_response());
        }
        // An id opens its record; an alias (a CVE) the records naming it.
        let store = state.store.clone();
        let wanted = id.to_string();
        let ids = blocking(move || {
            if store.get_json(&wanted)?.is_some() {
                return Ok(vec![wanted]);
            }
            Ok(store.ids_for_alias(&wanted)?)
        })
        .await?;
        if let [only] = ids.as_slice() {
            return Ok(Redirect::to(&format!("/records/{}", url_segment(only))).into_response());
        }
        if ids.is_empty() {
            return Ok(Redirect::to(&format!("/records/{}", url_segment(id))).into_response());
        }
        let mut body = format!("<h1>Records naming {}</h1><ul>", escape(id));
        for found in &ids {
            let _ = write!(
                body,
                "<li><a href=\"/records/{}\">{}</a></li>",
                url_segment(found),
                escape(found)
            );
        }
        body.push_str("</ul>");
        return Ok(page(id, &body));
    }
    let mut body = String::from(
        "<h1>advisord</h1><section aria-labelledby=\"search\"><h2 id=\"search\">Search</h2>",
    );
    body.push_str("<form method=\"get\" action=\"/\">");
    body.push_str(&field(
        "ecosystem",
        "Ecosystem",
        search.ecosystem.as_deref(),
    ));
    body.push_str(&field("package", "Package", search.package.as_deref()));
    body.push_str(&field("version", "Version", search.version.as_deref()));
    body.push_str("<br>");
    body.push_str(&field("purl", "or purl", search.purl.as_deref()));
    body.push_str(&field("id", "or advisory / CVE id", search.id.as_deref()));
    body.push_str("<button type=\"submit\">Search</button></form>");
    let store = state.store.clone();
    let (ecosystem, package, version, purl) = (
        given(&search.ecosystem).map(str::to_string),
        given(&search.package).map(str::to_string),
        given(&search.version).map(str::to_string),
        given(&search.purl).map(str::to_string),
    );
    if purl.is_some() || (ecosystem.is_some() && package.is_some()) {
        let answer = blocking(move || {
            let query = match (&purl, &ecosystem, &package) {
                (Some(purl), _, _) => PackageQuery::from_purl(purl, version.as_deref()),
                (None, Some(e), Some(n)) => {
                    PackageQuery::new_served(e, n, version.as_deref(), &store)
                }
                _ => return Ok(Ok(Vec::new())),
            };
            match query {
                Ok(query) => Ok(Ok(query.run(&store)?)),
                Err(e) => Ok(Err(e.to_string())),
            }
        })
        .await?;
        body.push_str("<h2 id=\"results\">Results</h2>");
        match answer {
            Err(message) => {
                let _ = write!(body, "<p role=\"alert\">{}</p>", escape(&message));
            }
            Ok(matches) if matches.is_empty() => body.push_str("<p>No advisory matches.</p>"),
            Ok(matches) => {
                let _ = write!(body, "<p>{} advisories.</p><ul>", matches.len());
                for m in &matches {
                    let _ = write!(
                        body,
                        "<li><a href=\"/records/{}\">{}</a> (modified {}){}</li>",
                        url_segment(&m.id),
                        escape(&m.id),
                        escape(&m.modified),
                        m.unevaluated
                            .as_deref()
                            .map(|r| format!(" <em>possibly affected: {}</em>", escape(r)))
                            .unwrap_or_default()
                    );
                }
                body.push_str("</ul>");
            }
        }
    }
    body.push_str("</section>");
    body.push_str(&feeds_table(&state).await?);
    Ok(page("advisord", &body))
}

async fn feeds_table(state: &AppState) -> Result<String, ApiError> {
    let Some(syncer) = state.sync.clone() else {
        return Ok(String::new());
    };
    let views = blocking(move || Ok(syncer.views()?)).await?;
    let mut out = String::from(
        "<section aria-labelledby=\"feeds\"><h2 id=\"feeds\">Feeds</h2><table><thead><tr>\
<th scope=\"col\">Feed</th><th scope=\"col\">Records</th><th scope=\"col\">Last success</th>\
<th scope=\"col\">Age</th><th scope=\"col\">Fresh</th><th scope=\"col\">Last error</th></tr></thead><tbody>",
    );
    for view in &views {
        let age = view
            .age_secs
            .map_or_else(|| "never synced".to_string(), human_age);
        let fresh = if view.stale {
            "<span class=\"stale\">STALE</span>".to_string()
        } else {
            "fresh".to_string()
        };
        let error = view
            .last_error
            .as_deref()
            .or(view.last_rejections.first().map(String::as_str))
            .unwrap_or("");
        let _ = write!(
            out,
            "<tr><th scope=\"row\">{}</th><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&view.name),
            view.records,
            escape(view.last_success.as_deref().or(view.last_ingest.as_deref()).unwrap_or("-")),
            escape(&age),
            fresh,
            escape(error)
        );
    }
    out.push_str("</tbody></table></section>");
    Ok(out)
}

fn human_age(secs: u64) -> String {
    match secs {
        s if s < 120 => format!("{s} s"),
        s if s < 7200 => format!("{} min", s / 60),
        s if s < 172_800 => format!("{} h", s / 3600),
        s => format!("{} days", s / 86_400),
    }
}

async fn record(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let store = state.store.clone();
    let lookup = id.clone();
    let json = blocking(move || Ok(store.get_json(&lookup)?)).await?;
    let Some(bytes) = json else {
        return Ok(error_page(
            axum::http::StatusCode::NOT_FOUND,
            "Not found",
            &format!("No advisory {id} here."),
        ));
    };
    let record: Value =
        serde_json::from_slice(&bytes).map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(page(&id, &render_record(&record)))
}

fn text(value: &Value) -> String {
    escape(value.as_str().unwrap_or(""))
}

fn render_record(record: &Value) -> String {
    let mut out = String::new();
    let _ = write!(out, "<h1>{}</h1>", text(&record["id"]));
    if let Some(summary) = record["summary"].as_str() {
        let _ = write!(out, "<p><strong>{}</strong></p>", escape(summary));
    }
    if record["withdrawn"].is_string() {
        let _ = write!(
            out,
            "<p class=\"stale\">Withdrawn {}</p>",
            text(&record["withdrawn"])
        );
    }
    out.push_str("<dl>");
    for key in ["published", "modified"] {
        if record[key].is_string() {
            let _ = write!(out, "<dt>{key}</dt><dd>{}</dd>", text(&record[key]));
        }
    }
    let aliases: Vec<String> = record["aliases"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(id_link)
        .collect();
    if !aliases.is_empty() {
        let _ = write!(out, "<dt>aliases</dt><dd>{}</dd>", aliases.join(", "));
    }
    out.push_str("</dl>");
    if let Some(details) = record["details"].as_str() {
        let _ = write!(out, "<h2>Details</h2><pre>{}</pre>", escape(details));
    }
    out.push_str("<h2>Affected</h2><table><thead><tr><th scope=\"col\">Ecosystem</th><th scope=\"col\">Package</th><th scope=\"col\">Affected ranges</th><th scope=\"col\">Versions listed</th></tr></thead><tbody>");
    for affected in record["affected"].as_array().into_iter().flatten() {
        let ranges: Vec<String> = affected["ranges"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|range| {
                let events: Vec<String> = range["events"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_object)
                    .filter_map(|e| e.iter().next())
                    .map(|(kind, v)| format!("{} {}", kind.replace('_', " "), text(v)))
                    .collect();
                format!("{}: {}", text(&range["type"]), events.join(", "))
            })
            .collect();
        let versions = affected["versions"].as_array().map_or(0, Vec::len);
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            text(&affected["package"]["ecosystem"]),
            text(&affected["package"]["name"]),
            ranges.join("<br>"),
            versions
        );
    }
    out.push_str("</tbody></table><h2>Sources</h2><ul>");
    for source in record["database_specific"]["advisord"]["sources"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let _ = write!(
            out,
            "<li>feed {}: {} from {} (fetched {})</li>",
            text(&source["feed"]),
            text(&source["upstream_id"]),
            text(&source["source"]),
            text(&source["fetched"])
        );
    }
    out.push_str("</ul><h2>References</h2><ul>");
    for reference in record["references"].as_array().into_iter().flatten() {
        let raw = reference["url"].as_str().unwrap_or("");
        let url = escape(raw);
        // Only web links are links (never `javascript:` and the like).
        let shown = if raw.starts_with("https://") || raw.starts_with("http://") {
            format!("<a href=\"{url}\" rel=\"noreferrer\">{url}</a>")
        } else {
            url
        };
        let _ = write!(out, "<li>{}: {shown}</li>", text(&reference["type"]));
    }
    let id = record["id"].as_str().unwrap_or("");
    let _ = write!(
        out,
        "</ul><p><a href=\"/v1/vulns/{}\">OSV JSON</a></p>",
        url_segment(id)
    );
    if is_cve_id(id) {
        let _ = write!(
            out,
            "<p><a href=\"/cves/{}\">What every source says about {}</a></p>",
            url_segment(id),
            escape(id)
        );
    }
    out
}
