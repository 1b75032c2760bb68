//! The HTTP side: `/bot<token>/<method>` routing and Telegram-shaped responses.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::error::ApiError;
use crate::methods::{self, Success};
use crate::params::{self, Params};
use crate::state::Inner;

/// Telegram accepts uploads up to 50 MB; leave room for the rest of the form.
const MAX_BODY: usize = 64 * 1024 * 1024;

pub(crate) fn router(inner: Arc<Inner>) -> Router {
    Router::new().fallback(handle).with_state(inner)
}

fn respond(outcome: Result<Success, ApiError>) -> Response {
    match outcome {
        Ok(success) => {
            let mut body = json!({ "ok": true, "result": success.result });
            if let Some(description) = success.description {
                body["description"] = json!(description);
            }
            (StatusCode::OK, axum::Json(body)).into_response()
        }
        Err(error) => {
            let status =
                StatusCode::from_u16(error.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            (status, axum::Json(error.to_json())).into_response()
        }
    }
}

/// Splits `/bot<token>/<method>`; the method may be missing or empty.
fn split_path(path: &str) -> Option<(&str, &str)> {
    let rest = path.strip_prefix("/bot")?;
    Some(rest.split_once('/').unwrap_or((rest, "")))
}

async fn handle(State(inner): State<Arc<Inner>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let Some((token, method)) = split_path(parts.uri.path()) else {
        return respond(Err(ApiError::not_found()));
    };
    let method = method.trim_end_matches('/').to_owned();
    let token_ok = token == inner.config.token;
    let body = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(body) => body,
        Err(_) => {
            let error = ApiError::new(413, "Request Entity Too Large");
            methods::record_rejection(&inner, &method, &Params::default(), &error);
            return respond(Err(error));
        }
    };
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let parsed = params::parse(content_type, parts.uri.query(), body).await;
    let params = match (token_ok, parsed) {
        (false, parsed) => {
            let error = ApiError::unauthorized();
            methods::record_rejection(&inner, &method, &parsed.unwrap_or_default(), &error);
            return respond(Err(error));
        }
        (true, Err(error)) => {
            methods::record_rejection(&inner, &method, &Params::default(), &error);
            return respond(Err(error));
        }
        (true, Ok(params)) => params,
    };
    if method.is_empty() {
        let error = ApiError::not_found();
        methods::record_rejection(&inner, &method, &params, &error);
        return respond(Err(error));
    }
    respond(methods::process(&inner, &method, params).await)
}
