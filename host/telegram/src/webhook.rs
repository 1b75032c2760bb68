//! Webhook mode: Telegram posts each update to the host.
//!
//! Every request must carry the configured `X-Telegram-Bot-Api-Secret-Token`
//! (401 otherwise, compared in constant time). An update is answered 200
//! once it is in the durable [`Inbox`], the same one polling uses, and runs
//! on its chat's worker from there: in order per chat, isolated from a
//! panicking handler, replayed after a crash. When the store cannot take it
//! the answer is 500, so Telegram delivers it again.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use subtle::ConstantTimeEq;
use teloxide::types::Update;

use crate::inbox::Inbox;

/// The header Telegram puts the secret in.
pub const SECRET_HEADER: &str = "x-telegram-bot-api-secret-token";

#[derive(Clone)]
struct Hook {
    secret: Arc<str>,
    inbox: Arc<Inbox>,
}

async fn receive(State(hook): State<Hook>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let given = headers
        .get(SECRET_HEADER)
        .map(|v| v.as_bytes())
        .unwrap_or_default();
    if !bool::from(given.ct_eq(hook.secret.as_bytes())) {
        tracing::warn!("webhook request refused: missing or wrong secret token");
        return StatusCode::UNAUTHORIZED;
    }
    let update: Update = match serde_json::from_slice(&body) {
        Ok(update) => update,
        Err(e) => {
            // Answered 200 so Telegram does not redeliver it forever.
            tracing::warn!(error = %e, bytes = body.len(), "malformed update ignored");
            return StatusCode::OK;
        }
    };
    match hook.inbox.accept(vec![update], None).await {
        Ok(()) => StatusCode::OK,
        Err(e) => {
            tracing::error!(error = %e, "cannot store a webhook update; Telegram will deliver it again");
            StatusCode::INTERNAL_SERVER_ERROR
        }
    }
}

/// The webhook router: `POST <path>` with the secret header, feeding `inbox`.
pub fn router(path: &str, secret: &str, inbox: Arc<Inbox>) -> Router {
    let hook = Hook {
        secret: Arc::from(secret),
        inbox,
    };
    let path = if path.is_empty() { "/" } else { path };
    Router::new().route(path, post(receive)).with_state(hook)
}
