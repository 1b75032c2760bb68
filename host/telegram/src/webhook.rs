//! Webhook mode: Telegram posts each update to the host.
//!
//! Every request must carry the configured `X-Telegram-Bot-Api-Secret-Token`
//! (401 otherwise). The host answers 200 only after the update's effects are
//! stored, so an update whose handling was cut short is delivered again.
//! Updates of one chat are handled one at a time, in arrival order.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use teloxide::types::Update;

/// The header Telegram puts the secret in.
pub const SECRET_HEADER: &str = "x-telegram-bot-api-secret-token";

type Handler =
    Arc<dyn Fn(Update) -> std::pin::Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

#[derive(Clone)]
struct Hook {
    secret: Arc<str>,
    handle: Handler,
    chats: Arc<Mutex<HashMap<i64, Arc<tokio::sync::Mutex<()>>>>>,
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn receive(State(hook): State<Hook>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let given = headers
        .get(SECRET_HEADER)
        .map(|v| v.as_bytes())
        .unwrap_or_default();
    if !constant_time_eq(given, hook.secret.as_bytes()) {
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
    let chat = update.chat().map(|c| c.id.0);
    let lock = chat.map(|chat| {
        let mut chats = hook.chats.lock().unwrap_or_else(|p| p.into_inner());
        Arc::clone(chats.entry(chat).or_default())
    });
    {
        let _in_order = match &lock {
            Some(lock) => Some(lock.lock().await),
            None => None,
        };
        (hook.handle)(update).await;
    }
    if let (Some(chat), Some(lock)) = (chat, lock) {
        let mut chats = hook.chats.lock().unwrap_or_else(|p| p.into_inner());
        // Forget idle chats so the map does not grow with every customer.
        if Arc::strong_count(&lock) == 2 {
            chats.remove(&chat);
        }
    }
    StatusCode::OK
}

/// The webhook router: `POST <path>` with the secret header.
pub fn router<H, F>(path: &str, secret: &str, handle: H) -> Router
where
    H: Fn(Update) -> F + Send + Sync + 'static,
    F: Future<Output = ()> + Send + 'static,
{
    let handle: Handler = Arc::new(move |u| Box::pin(handle(u)));
    let hook = Hook {
        secret: Arc::from(secret),
        handle,
        chats: Arc::default(),
    };
    let path = if path.is_empty() { "/" } else { path };
    Router::new().route(path, post(receive)).with_state(hook)
}
