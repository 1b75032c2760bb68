//! Routing, authentication, the rate limit, HAL paging and amoCRM's error bodies.
//!
//! The order of checks: an unknown route is 404 and a wrong method 405, then the
//! account's rate limit, then the token.

use std::time::Instant;

use serde_json::{Value, json};

use super::leads::{self, FieldError};
use super::{Shared, catalog, pipelines};
use crate::rate_limit::Verdict;
use crate::record::{RecordedRequest, encode};
use crate::reply::Reply;

/// Successful answers are HAL.
pub(crate) const HAL: &str = "application/hal+json";
/// Errors are RFC 7807 problems.
pub(crate) const PROBLEM: &str = "application/problem+json";

/// The default and the largest `limit` of a list.
const DEFAULT_LIMIT: usize = 50;
const MAX_LIMIT: usize = 250;

enum Route<'a> {
    Catalogs,
    Elements(&'a str),
    Leads,
    Lead(&'a str),
    LeadsComplex,
    LeadCustomFields,
    Notes,
    LeadNotes(&'a str),
    Pipelines,
    Pipeline(&'a str),
    PipelineStatuses(&'a str),
}

const READ: &[&str] = &["GET", "HEAD"];
const CREATE: &[&str] = &["POST"];
const READ_CREATE: &[&str] = &["GET", "HEAD", "POST"];

/// The part of `path` after `/api/v4`, if it is under it.
pub(crate) fn api_path(path: &str) -> Option<&str> {
    path.strip_prefix("/api/v4")
        .filter(|rest| rest.is_empty() || rest.starts_with('/'))
}

fn route(api_path: &str) -> Option<(Route<'_>, &'static [&'static str])> {
    let segments: Vec<&str> = api_path.trim_matches('/').split('/').collect();
    let found = match segments.as_slice() {
        ["catalogs"] => (Route::Catalogs, READ),
        ["catalogs", id, "elements"] => (Route::Elements(id), READ),
        ["leads"] => (Route::Leads, READ),
        ["leads", "complex"] => (Route::LeadsComplex, CREATE),
        ["leads", "custom_fields"] => (Route::LeadCustomFields, READ),
        ["leads", "notes"] => (Route::Notes, CREATE),
        ["leads", "pipelines"] => (Route::Pipelines, READ),
        ["leads", "pipelines", id] => (Route::Pipeline(id), READ),
        ["leads", "pipelines", id, "statuses"] => (Route::PipelineStatuses(id), READ),
        ["leads", id] => (Route::Lead(id), READ),
        ["leads", id, "notes"] => (Route::LeadNotes(id), READ_CREATE),
        _ => return None,
    };
    Some(found)
}

/// Answers one request, without any injected fault.
pub(crate) fn handle(shared: &Shared, request: &RecordedRequest) -> Reply {
    let Some((route, methods)) = api_path(&request.path).and_then(route) else {
        return problem(404, "Not Found", "Not Found");
    };
    if !methods.contains(&request.method.as_str()) {
        return problem(405, "Method Not Allowed", "Method Not Allowed")
            .with_header("allow", methods.join(", "));
    }
    if let Some(limiter) = shared.lock().limiter.as_mut() {
        // The limit is per account, whoever calls.
        if let Verdict::Limited { .. } = limiter.check("account", Instant::now()) {
            return too_many_requests();
        }
    }
    if !authorized(shared, request) {
        return problem(401, "Unauthorized", "Unauthorized");
    }
    let is_post = request.method == "POST";
    match route {
        Route::Catalogs => catalog::list_catalogs(shared, request),
        Route::Elements(id) => catalog::list_elements(shared, request, id),
        Route::Leads => leads::list(shared, request),
        Route::Lead(id) => leads::show(shared, request, id),
        Route::LeadsComplex => leads::create_complex(shared, request),
        Route::LeadCustomFields => leads::list_custom_fields(shared, request),
        Route::Notes => leads::add_notes(shared, request, None),
        Route::LeadNotes(id) if is_post => leads::add_notes(shared, request, Some(id)),
        Route::LeadNotes(id) => leads::list_notes(shared, request, id),
        Route::Pipelines => list_pipelines(shared, request),
        Route::Pipeline(id) => show_pipeline(shared, id),
        Route::PipelineStatuses(id) => list_statuses(shared, request, id),
    }
}

/// Whether the request carries `Authorization: Bearer <token>`.
fn authorized(shared: &Shared, request: &RecordedRequest) -> bool {
    let token = request
        .header("authorization")
        .and_then(|h| {
            h.get(..7)
                .filter(|s| s.eq_ignore_ascii_case("bearer "))
                .and(h.get(7..))
        })
        .map(str::trim);
    !shared.token.is_empty() && token == Some(shared.token.as_str())
}

/// An RFC 7807 problem as amoCRM writes it.
pub(crate) fn problem(status: u16, title: &str, detail: &str) -> Reply {
    Reply::json_as(
        status,
        PROBLEM,
        &json!({
            "title": title,
            "type": format!("https://httpstatus.es/{status}"),
            "status": status,
            "detail": detail,
        }),
    )
}

/// The 429 answer for going over the account's request rate.
pub(crate) fn too_many_requests() -> Reply {
    problem(429, "Too Many Requests", "Too Many Requests")
}

/// amoCRM's 400 for invalid entities: one entry per rejected entity, keyed by its
/// `request_id`.
pub(crate) fn validation_errors(rejected: &[(String, Vec<FieldError>)]) -> Reply {
    let entries: Vec<Value> = rejected
        .iter()
        .map(|(request_id, errors)| {
            json!({
                "request_id": request_id,
                "errors": errors.iter().map(|e| json!({
                    "code": e.code,
                    "path": e.path,
                    "detail": e.detail,
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    Reply::json_as(
        400,
        PROBLEM,
        &json!({
            "validation-errors": entries,
            "title": "Bad Request",
            "type": "https://httpstatus.es/400",
            "status": 400,
            "detail": "Request validation failed",
        }),
    )
}

/// The `page` and `limit` of a list request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Page {
    pub(crate) page: usize,
    pub(crate) limit: usize,
}

/// Reads `page` (default 1) and `limit` (default 50, capped at 250). amoCRM does not
/// refuse odd values, so neither does the simulator: they fall back to the defaults.
pub(crate) fn page_params(request: &RecordedRequest) -> Page {
    let number = |name: &str| {
        request
            .query_param(name)
            .and_then(|v| v.trim().parse::<usize>().ok())
            .filter(|&n| n > 0)
    };
    Page {
        page: number("page").unwrap_or(1),
        limit: number("limit").map_or(DEFAULT_LIMIT, |l| l.min(MAX_LIMIT)),
    }
}

/// One page of `items` as a HAL collection under `_embedded.<key>`, or 204 with no body
/// when the page is empty.
///
/// Every non-empty page links `next`, the last one included, as amoCRM does.
pub(crate) fn hal_page(
    shared: &Shared,
    request: &RecordedRequest,
    key: &str,
    items: Vec<Value>,
) -> Reply {
    let page = page_params(request);
    let start = page.limit.saturating_mul(page.page - 1);
    let data: Vec<Value> = items.into_iter().skip(start).take(page.limit).collect();
    if data.is_empty() {
        return Reply::empty(204);
    }
    let url = |n: usize| page_url(&shared.origin, request, n);
    Reply::json_as(
        200,
        HAL,
        &json!({
            "_page": page.page,
            "_links": {
                "self": { "href": url(page.page) },
                "next": { "href": url(page.page + 1) },
            },
            "_embedded": { key: data },
        }),
    )
}

/// The request's URL with `page` set to `page` and its other parameters kept.
fn page_url(origin: &str, request: &RecordedRequest, page: usize) -> String {
    let mut query: Vec<String> = request
        .query
        .iter()
        .filter(|(k, _)| k != "page")
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect();
    query.push(format!("page={page}"));
    format!("{origin}{}?{}", request.path, query.join("&"))
}

/// The integers of every `filter[<name>]`, `filter[<name>][]` or `filter[<name>][N]`
/// parameter, or `None` when there is no such filter.
pub(crate) fn id_filter(request: &RecordedRequest, name: &str) -> Option<Vec<i64>> {
    let prefix = format!("filter[{name}]");
    let mut found = None;
    for (key, value) in &request.query {
        let Some(rest) = key.strip_prefix(&prefix) else {
            continue;
        };
        if rest.is_empty() || (rest.starts_with('[') && rest.ends_with(']')) {
            let ids: &mut Vec<i64> = found.get_or_insert_with(Vec::new);
            ids.extend(
                value
                    .split(',')
                    .filter_map(|v| v.trim().parse::<i64>().ok()),
            );
        }
    }
    found
}

fn list_pipelines(shared: &Shared, request: &RecordedRequest) -> Reply {
    let ctx = shared.ctx();
    let pipelines: Vec<Value> = pipelines::PIPELINES
        .iter()
        .map(|p| pipelines::pipeline_json(&ctx, p))
        .collect();
    Reply::json_as(
        200,
        HAL,
        &json!({
            "_total_items": pipelines.len(),
            "_links": { "self": { "href": format!("{}{}", shared.origin, request.path) } },
            "_embedded": { "pipelines": pipelines },
        }),
    )
}

fn show_pipeline(shared: &Shared, id: &str) -> Reply {
    match id.parse().ok().and_then(pipelines::pipeline) {
        Some(pipeline) => {
            Reply::json_as(200, HAL, &pipelines::pipeline_json(&shared.ctx(), pipeline))
        }
        None => Reply::empty(204),
    }
}

fn list_statuses(shared: &Shared, request: &RecordedRequest, id: &str) -> Reply {
    let Some(pipeline) = id.parse().ok().and_then(pipelines::pipeline) else {
        return Reply::empty(204);
    };
    let ctx = shared.ctx();
    let statuses: Vec<Value> = pipelines::statuses_of(pipeline.id)
        .iter()
        .enumerate()
        .map(|(i, s)| pipelines::status_json(&ctx, pipeline.id, s, i))
        .collect();
    Reply::json_as(
        200,
        HAL,
        &json!({
            "_total_items": statuses.len(),
            "_links": { "self": { "href": format!("{}{}", shared.origin, request.path) } },
            "_embedded": { "statuses": statuses },
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::parse_query;

    fn get(path_and_query: &str) -> RecordedRequest {
        let (path, query) = path_and_query
            .split_once('?')
            .unwrap_or((path_and_query, ""));
        RecordedRequest {
            method: "GET".to_owned(),
            path: path.to_owned(),
            query: parse_query(query),
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    #[test]
    fn it_routes_known_paths() {
        assert!(matches!(route("/catalogs"), Some((Route::Catalogs, _))));
        assert!(matches!(
            route("/catalogs/5001/elements"),
            Some((Route::Elements("5001"), _))
        ));
        assert!(matches!(
            route("/leads/complex"),
            Some((Route::LeadsComplex, CREATE))
        ));
        assert!(matches!(route("/leads/12"), Some((Route::Lead("12"), _))));
        assert!(matches!(
            route("/leads/12/notes"),
            Some((Route::LeadNotes("12"), READ_CREATE))
        ));
        assert!(matches!(
            route("/leads/pipelines/7"),
            Some((Route::Pipeline("7"), _))
        ));
        assert!(route("/contacts").is_none());
        assert_eq!(api_path("/api/v4/leads"), Some("/leads"));
        assert_eq!(api_path("/api/v41/leads"), None);
    }

    #[test]
    fn it_caps_limit_and_defaults_odd_values() {
        assert_eq!(
            page_params(&get("/api/v4/leads")),
            Page { page: 1, limit: 50 }
        );
        assert_eq!(
            page_params(&get("/api/v4/leads?limit=500&page=3")),
            Page {
                page: 3,
                limit: 250
            }
        );
        assert_eq!(
            page_params(&get("/api/v4/leads?limit=0&page=-1")),
            Page { page: 1, limit: 50 }
        );
    }

    #[test]
    fn it_reads_id_filters_in_every_spelling() {
        let request = get(
            "/api/v4/leads?filter[id]=1&filter[id][]=2&filter%5Bid%5D%5B5%5D=3,4&filter[ids]=9",
        );
        assert_eq!(id_filter(&request, "id"), Some(vec![1, 2, 3, 4]));
        assert_eq!(id_filter(&request, "name"), None);
    }
}
