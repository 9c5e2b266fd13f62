//! The per-CVE page at `/cves/{id}`: the HTML face of `GET /v1/cves/{id}`
//! ([`CveView`]). Per release and package, each source's statement (status,
//! fixed versions, feed, upstream id, the source's own word), with packages
//! whose sources disagree flagged and their distinct claims listed.

use std::fmt::Write as _;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;

use super::super::{blocking, ApiError, AppState};
use super::{error_page, escape, page, url_segment};
use crate::cves::{Claim, CveView, PackageView, Statement};
use crate::model::is_cve_id;

/// `GET /cves/{id}`: the per-CVE view as a page; 404 (HTML) when the id is
/// not a CVE or no record names it.
pub(super) async fn cve_page(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    if !is_cve_id(&id) {
        return Ok(error_page(
            StatusCode::NOT_FOUND,
            "Not found",
            &format!("{id} is not a CVE id (CVE-YYYY-NNNN)."),
        ));
    }
    let store = state.store.clone();
    let lookup = id.clone();
    let view = blocking(move || Ok(CveView::read(&store, &lookup)?)).await?;
    match view {
        Some(view) => Ok(page(&id, &render_cve(&view))),
        None => Ok(error_page(
            StatusCode::NOT_FOUND,
            "Not found",
            &format!("No record names {id} here."),
        )),
    }
}

/// The body of the per-CVE page.
fn render_cve(view: &CveView) -> String {
    let mut out = String::new();
    let _ = write!(out, "<h1>{}</h1>", escape(&view.id));
    let disagreeing = view.disagreeing().count();
    if view.agree {
        out.push_str("<p>The sources agree.</p>");
    } else {
        let _ = write!(
            out,
            "<p class=\"stale\" role=\"alert\">The sources disagree on {disagreeing} package{}.</p>",
            if disagreeing == 1 { "" } else { "s" }
        );
    }
    out.push_str("<h2>Records</h2><ul>");
    for record in &view.records {
        let _ = write!(
            out,
            "<li><a href=\"/records/{}\">{}</a></li>",
            url_segment(record),
            escape(record)
        );
    }
    out.push_str("</ul>");
    for (index, release) in view.releases.iter().enumerate() {
        let _ = write!(
            out,
            "<section aria-labelledby=\"release-{index}\"><h2 id=\"release-{index}\">{}</h2>\
<table><thead><tr><th scope=\"col\">Package</th><th scope=\"col\">Agreement</th>\
<th scope=\"col\">Status</th><th scope=\"col\">Fixed in</th><th scope=\"col\">Feed</th>\
<th scope=\"col\">Upstream id</th><th scope=\"col\">Source's word</th></tr></thead><tbody>",
            escape(&release.ecosystem)
        );
        for package in &release.packages {
            render_package(&mut out, package);
        }
        out.push_str("</tbody></table></section>");
    }
    let _ = write!(
        out,
        "<p><a href=\"/v1/cves/{}\">JSON</a></p>",
        url_segment(&view.id)
    );
    out
}

/// One row per statement; the package's name and agreement span them.
fn render_package(out: &mut String, package: &PackageView) {
    let rows = package.statements.len().max(1);
    let agreement = if package.agree {
        "agree".to_string()
    } else {
        let claims: String = package.disagreements.iter().map(claim).collect();
        format!("<strong class=\"stale\">sources disagree</strong><ul>{claims}</ul>")
    };
    let _ = write!(
        out,
        "<tr><th scope=\"row\" rowspan=\"{rows}\">{}</th><td rowspan=\"{rows}\">{agreement}</td>",
        escape(&package.name)
    );
    if package.statements.is_empty() {
        out.push_str("<td colspan=\"5\">-</td></tr>");
    }
    for (index, statement) in package.statements.iter().enumerate() {
        if index > 0 {
            out.push_str("<tr>");
        }
        let _ = write!(out, "{}</tr>", statement_cells(statement));
    }
}

/// A fix status's name, or `unknown` for entries stored before statuses.
fn status_name(status: Option<crate::model::FixStatus>) -> String {
    status.map_or_else(|| "unknown".to_string(), |s| s.to_string())
}

/// A statement's cells: status (with the vendor's justification), fixed
/// versions, feed, upstream id and the source's own word for the status.
fn statement_cells(statement: &Statement) -> String {
    let justification = statement
        .justification
        .as_deref()
        .map(|j| format!(" ({})", escape(j)))
        .unwrap_or_default();
    let fixed = if statement.fixed.is_empty() {
        "-".to_string()
    } else {
        statement
            .fixed
            .iter()
            .map(|v| escape(v))
            .collect::<Vec<_>>()
            .join("<br>")
    };
    format!(
        "<td>{}{justification}</td><td>{fixed}</td><td>{}</td>\
<td><a href=\"/records/{}\">{}</a></td><td>{}</td>",
        escape(&status_name(statement.status)),
        escape(&statement.feed),
        url_segment(&statement.record),
        escape(&statement.upstream_id),
        escape(statement.status_source.as_deref().unwrap_or("-"))
    )
}

/// One distinct claim: `fixed 1.0-2: feed (upstream id), ...`.
fn claim(claim: &Claim) -> String {
    let fixed = if claim.fixed.is_empty() {
        String::new()
    } else {
        format!(" {}", escape(&claim.fixed.join(", ")))
    };
    format!(
        "<li>{}{fixed}: {}</li>",
        escape(&status_name(claim.status)),
        escape(&claim.sources.join(", "))
    )
}
