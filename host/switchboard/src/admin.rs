//! The operator's HTTP endpoint.
//!
//! - `GET /healthz`: liveness, no authentication.
//! - `GET /admin/plugins`: the active plugin and the configured ones.
//! - `POST /admin/plugins/activate` with `{"id": "bitrix24"}`: swap the CRM.
//! - `POST /admin/reload`: re-read the config file (like SIGHUP).
//! - `GET /admin/outbox?state=dead`: lead counts by state and the leads in
//!   one state (default: pending and dead), newest first.
//!
//! Everything under `/admin` needs `Authorization: Bearer <admin.token>`.

use std::sync::Arc;
use subtle::ConstantTimeEq;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::app::{ActivationError, App};
use switchboard_plugin_runtime::{LoadError, LoadedPlugin};
use switchboard_store::LeadState;

/// What the admin handlers share.
#[derive(Clone)]
struct AdminState {
    app: Arc<App>,
    token: Arc<str>,
}

/// An admin API error with its status.
struct AdminError(StatusCode, String);

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        (self.0, Json(json!({ "error": self.1 }))).into_response()
    }
}

impl From<ActivationError> for AdminError {
    fn from(e: ActivationError) -> Self {
        let status = match &e {
            ActivationError::Load(LoadError::Unknown(_)) => StatusCode::NOT_FOUND,
            _ => StatusCode::UNPROCESSABLE_ENTITY,
        };
        Self(status, e.to_string())
    }
}

/// Compares without an early exit, so the time taken does not reveal how
/// much of a guessed token was right.
fn authorized(headers: &HeaderMap, token: &str) -> bool {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|given| bool::from(given.trim().as_bytes().ct_eq(token.as_bytes())))
}

async fn require_token(State(state): State<AdminState>, request: Request, next: Next) -> Response {
    if authorized(request.headers(), &state.token) {
        return next.run(request).await;
    }
    tracing::warn!(path = %request.uri().path(), "admin request refused: missing or wrong bearer token");
    let mut response = AdminError(
        StatusCode::UNAUTHORIZED,
        "a valid bearer token is required".into(),
    )
    .into_response();
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        header::HeaderValue::from_static("Bearer"),
    );
    response
}

/// The JSON description of a loaded plugin.
pub fn plugin_json(p: &LoadedPlugin) -> Value {
    let loaded_at = p
        .loaded_at
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    json!({
        "id": p.id(),
        "name": p.info.name,
        "version": p.info.version,
        "wit": p.manifest.wit,
        "digest": p.digest,
        "operations": crate::json::operations(p.info.operations),
        "compiled_from_cache": p.from_cache,
        "loaded_at_unix": loaded_at,
        "circuit": p.breaker_state(),
    })
}

async fn list_plugins(State(state): State<AdminState>) -> Json<Value> {
    let config = state.app.config().await;
    let active = state.app.registry().active().ok();
    Json(json!({
        "active": active.as_deref().map(plugin_json),
        "configured": config.plugins.keys().collect::<Vec<_>>(),
        "config_active": config.active,
    }))
}

#[derive(Deserialize)]
struct ActivateBody {
    id: String,
}

async fn activate(
    State(state): State<AdminState>,
    body: Result<Json<ActivateBody>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<Value>, AdminError> {
    let Json(body) = body.map_err(|e| {
        AdminError(
            StatusCode::BAD_REQUEST,
            format!(
                "expected a JSON body like {{\"id\": \"keycrm\"}}: {}",
                e.body_text()
            ),
        )
    })?;
    let plugin = state.app.activate(&body.id).await.inspect_err(|e| {
        tracing::error!(plugin = %body.id, error = %e, "plugin activation refused; the previous plugin stays active");
    })?;
    Ok(Json(json!({ "active": plugin_json(&plugin) })))
}

async fn reload(State(state): State<AdminState>) -> Result<Json<Value>, AdminError> {
    let plugin = state.app.reload().await.inspect_err(|e| {
        tracing::error!(error = %e, "reload refused; the previous plugin stays active");
    })?;
    Ok(Json(json!({ "active": plugin_json(&plugin) })))
}

#[derive(Deserialize)]
struct OutboxQuery {
    state: Option<String>,
    limit: Option<i64>,
}

async fn outbox(
    State(state): State<AdminState>,
    query: axum::extract::Query<OutboxQuery>,
) -> Result<Json<Value>, AdminError> {
    let Some(store) = state.app.store() else {
        return Err(AdminError(
            StatusCode::SERVICE_UNAVAILABLE,
            "the store is not open (no [telegram] section)".into(),
        ));
    };
    let states = match query.state.as_deref() {
        None => vec![LeadState::Pending, LeadState::Dead],
        Some(name) => vec![LeadState::parse(name).map_err(|_| {
            AdminError(
                StatusCode::BAD_REQUEST,
                format!("`state` must be pending, dead, delivered or dropped, not `{name}`"),
            )
        })?],
    };
    let failed = |e: switchboard_store::StoreError| {
        AdminError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
    };
    let counts = store.outbox_counts().await.map_err(failed)?;
    let mut leads = Vec::new();
    for s in states {
        for row in store
            .outbox(Some(s), query.limit.unwrap_or(100).clamp(1, 1000))
            .await
            .map_err(failed)?
        {
            leads.push(crate::json::lead_row(&row));
        }
    }
    Ok(Json(json!({
        "counts": counts.iter().map(|(s, n)| (s.as_str(), *n)).collect::<std::collections::BTreeMap<_, _>>(),
        "leads": leads,
    })))
}

/// The admin router.
pub fn router(app: Arc<App>, token: &str) -> Router {
    let state = AdminState {
        app,
        token: Arc::from(token),
    };
    let admin = Router::new()
        .route("/admin/plugins", get(list_plugins))
        .route("/admin/plugins/activate", post(activate))
        .route("/admin/reload", post(reload))
        .route("/admin/outbox", get(outbox))
        .route_layer(middleware::from_fn_with_state(state.clone(), require_token));
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .merge(admin)
        .with_state(state)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn it_accepts_only_the_exact_bearer_token() {
        let mut h = HeaderMap::new();
        assert!(!authorized(&h, "0123456789abcdef"));
        h.insert(
            header::AUTHORIZATION,
            "Bearer 0123456789abcdef"
                .parse()
                .unwrap_or_else(|_| unreachable!()),
        );
        assert!(authorized(&h, "0123456789abcdef"));
        assert!(!authorized(&h, "0123456789abcdeX"));
        assert!(!authorized(&h, "0123456789abcdef0"));
        h.insert(
            header::AUTHORIZATION,
            "Basic 0123456789abcdef"
                .parse()
                .unwrap_or_else(|_| unreachable!()),
        );
        assert!(!authorized(&h, "0123456789abcdef"));
    }
}
