//! Routing, webhook authentication, parameters, the rate limit and the methods.
//!
//! A call is `GET|POST /rest/{user_id}/{code}/{method}[.json]`. Parameters come from the
//! query string and from the body (JSON or a form), merged as PHP's `$_REQUEST` would
//! (body keys win); nested form keys such as `fields[PHONE][0][VALUE]` become objects.
//! The order of checks: a path outside `/rest/` is nginx's 404, then the portal's rate
//! limit, then the webhook credentials, then the method name.

use std::time::Instant;

use serde_json::{Map, Value, json};

use super::list::ListQuery;
use super::{Shared, leads, products};
use crate::clock;
use crate::form::nest;
use crate::record::{RecordedRequest, parse_query};
use crate::reply::Reply;

/// Bitrix24 answers JSON with an explicit charset.
pub(crate) const JSON: &str = "application/json; charset=utf-8";

/// The parts of a REST path.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Call<'a> {
    pub(crate) user_id: &'a str,
    pub(crate) code: &'a str,
    pub(crate) method: &'a str,
}

/// Splits `/rest/{user_id}/{code}/{method}[.json]`.
pub(crate) fn parse_path(path: &str) -> Option<Call<'_>> {
    let rest = path.strip_prefix("/rest/")?;
    let mut parts = rest.splitn(3, '/');
    let user_id = parts.next().filter(|s| !s.is_empty())?;
    let code = parts.next().filter(|s| !s.is_empty())?;
    let method = parts.next()?.trim_end_matches('/');
    let method = method.strip_suffix(".json").unwrap_or(method);
    Some(Call {
        user_id,
        code,
        method,
    })
}

/// `{"error": code, "error_description": description}` with `status`.
pub(crate) fn error(status: u16, code: &str, description: &str) -> Reply {
    Reply::json_as(
        status,
        JSON,
        &json!({ "error": code, "error_description": description }),
    )
}

/// The 503 of the leaky bucket.
pub(crate) fn query_limit_exceeded() -> Reply {
    error(503, "QUERY_LIMIT_EXCEEDED", "Too many requests")
}

/// The `time` block every answer carries.
fn time_block(started: f64) -> Value {
    let finished = clock::unix_now_f64();
    // Whole seconds are enough for the dates; the fractions stay in the numbers.
    let secs = |t: f64| clock::format_iso8601(t.floor() as i64);
    json!({
        "start": started,
        "finish": finished,
        "duration": finished - started,
        "processing": finished - started,
        "date_start": secs(started),
        "date_finish": secs(finished),
        "operating_reset_at": clock::unix_now() + 600,
        "operating": 0,
    })
}

/// A successful answer: `{"result": result, "time": …}` plus any extra keys.
fn success(started: f64, mut answer: Map<String, Value>) -> Reply {
    answer.insert("time".to_owned(), time_block(started));
    Reply::json_as(200, JSON, &Value::Object(answer))
}

fn result(started: f64, value: Value) -> Reply {
    let mut answer = Map::new();
    answer.insert("result".to_owned(), value);
    success(started, answer)
}

/// The request's parameters: the query string, overlaid by the body.
pub(crate) fn params(request: &RecordedRequest) -> Map<String, Value> {
    let mut merged = match nest(&request.query) {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    let content_type = request
        .header("content-type")
        .unwrap_or_default()
        .to_ascii_lowercase();
    let body = if content_type.contains("json") {
        // PHP sees nothing in a body it cannot decode.
        serde_json::from_slice::<Value>(&request.body).ok()
    } else if content_type.contains("x-www-form-urlencoded") {
        Some(nest(&parse_query(&String::from_utf8_lossy(&request.body))))
    } else {
        None
    };
    if let Some(Value::Object(body)) = body {
        merged.extend(body);
    }
    merged
}

/// Answers one request, without any injected fault.
pub(crate) fn handle(shared: &Shared, request: &RecordedRequest) -> Reply {
    let started = clock::unix_now_f64();
    let Some(call) = parse_path(&request.path) else {
        return Reply::nginx_page(404);
    };
    if !matches!(request.method.as_str(), "GET" | "POST" | "HEAD") {
        return error(405, "METHOD_NOT_ALLOWED", "Method not allowed")
            .with_header("allow", "GET, POST");
    }
    if let Some(bucket) = shared.lock().bucket.as_mut()
        && !bucket.admit(Instant::now())
    {
        return query_limit_exceeded();
    }
    let user_ok = call
        .user_id
        .parse::<u64>()
        .is_ok_and(|u| u == shared.user_id);
    if !user_ok || shared.webhook_code.is_empty() || call.code != shared.webhook_code {
        return error(401, "INVALID_CREDENTIALS", "Invalid request credentials");
    }
    let params = params(request);
    match call.method.to_ascii_lowercase().as_str() {
        "crm.product.list" => product_list(shared, &params, started),
        "crm.product.get" => product_get(shared, &params, started),
        "crm.lead.add" => lead_add(shared, &params, started),
        "crm.lead.get" => lead_get(shared, &params, started),
        "crm.lead.list" => lead_list(shared, &params, started),
        "crm.status.list" => status_list(&params, started),
        _ => error(404, "ERROR_METHOD_NOT_FOUND", "Method not found!"),
    }
}

/// The `id` parameter as a positive integer.
fn id_param(params: &Map<String, Value>) -> Option<i64> {
    let value = params.get("id").or_else(|| params.get("ID"))?;
    let id = match value {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    };
    id.filter(|&id| id > 0)
}

fn product_list(shared: &Shared, params: &Map<String, Value>, started: f64) -> Reply {
    let records: Vec<Map<String, Value>> = shared.products.iter().map(products::record).collect();
    let answer = ListQuery::from_params(params).answer(records.iter().collect(), &products::SHAPE);
    success(started, answer)
}

fn product_get(shared: &Shared, params: &Map<String, Value>, started: f64) -> Reply {
    let Some(id) = id_param(params) else {
        return error(400, "", "ID is not defined or invalid.");
    };
    match shared.products.iter().find(|p| p.id == id) {
        Some(product) => result(started, Value::Object(products::record(product))),
        None => error(400, "", "Not found"),
    }
}

fn lead_add(shared: &Shared, params: &Map<String, Value>, started: f64) -> Reply {
    let Some(fields) = params.get("fields").and_then(Value::as_object) else {
        return error(400, "", "Parameter 'fields' must be array.");
    };
    match shared.lock().leads.add(fields, shared.user_id) {
        Ok(id) => result(started, Value::from(id)),
        Err(description) => error(400, "", &description),
    }
}

fn lead_get(shared: &Shared, params: &Map<String, Value>, started: f64) -> Reply {
    let Some(id) = id_param(params) else {
        return error(400, "", "ID is not defined or invalid.");
    };
    match shared.lock().leads.find(id) {
        Some(lead) => result(started, Value::Object(lead.clone())),
        None => error(400, "", "Not found"),
    }
}

fn lead_list(shared: &Shared, params: &Map<String, Value>, started: f64) -> Reply {
    let state = shared.lock();
    let answer =
        ListQuery::from_params(params).answer(state.leads.all().iter().collect(), &leads::SHAPE);
    drop(state);
    success(started, answer)
}

fn status_list(params: &Map<String, Value>, started: f64) -> Reply {
    let records = leads::status_records();
    let mut answer =
        ListQuery::from_params(params).answer(records.iter().collect(), &leads::STATUS_SHAPE);
    // `crm.status.list` is not paged: it answers every match at once.
    answer.remove("next");
    answer.remove("total");
    success(started, answer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn it_splits_rest_paths() {
        assert_eq!(
            parse_path("/rest/1/abc/crm.lead.add.json"),
            Some(Call {
                user_id: "1",
                code: "abc",
                method: "crm.lead.add"
            })
        );
        assert_eq!(
            parse_path("/rest/1/abc/crm.lead.add"),
            Some(Call {
                user_id: "1",
                code: "abc",
                method: "crm.lead.add"
            })
        );
        assert_eq!(parse_path("/rest/1/crm.lead.add"), None);
        assert_eq!(parse_path("/api/1/abc/x"), None);
    }

    #[test]
    fn it_merges_query_and_body_parameters() {
        let request = RecordedRequest {
            method: "POST".to_owned(),
            path: "/rest/1/abc/crm.lead.list".to_owned(),
            query: parse_query("start=50&filter[ID]=3"),
            headers: vec![(
                "content-type".to_owned(),
                "application/x-www-form-urlencoded".to_owned(),
            )],
            body: b"filter%5B%3EID%5D=1&select%5B%5D=ID".to_vec(),
        };
        let merged = params(&request);
        assert_eq!(merged["start"], "50");
        // Body keys replace query keys of the same name, as in `$_REQUEST`.
        assert_eq!(merged["filter"], json!({ ">ID": "1" }));
        assert_eq!(merged["select"], json!(["ID"]));
    }
}
