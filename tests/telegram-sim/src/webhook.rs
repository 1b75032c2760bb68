//! setWebhook, deleteWebhook, getWebhookInfo and the worker that POSTs updates to the webhook.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use crate::error::ApiError;
use crate::params::Params;
use crate::state::{Inner, State, Webhook, unix_now};
use crate::updates::remember_allowed_updates;

/// The webhook state as getWebhookInfo reports it, plus what only a test can see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookInfo {
    /// The webhook URL; empty when none is set.
    pub url: String,
    /// Whether a certificate was uploaded with setWebhook.
    pub has_custom_certificate: bool,
    /// Updates waiting to be delivered (or fetched with getUpdates).
    pub pending_update_count: usize,
    /// Unix time of the last failed delivery.
    pub last_error_date: Option<i64>,
    /// Why the last delivery failed, e.g. `Wrong response from the webhook: 500 Internal Server Error`.
    pub last_error_message: Option<String>,
    /// max_connections, when a webhook is set.
    pub max_connections: Option<u32>,
    /// The update kinds the bot asked for; empty means Telegram's default.
    pub allowed_updates: Vec<String>,
    /// The secret the sim sends in `X-Telegram-Bot-Api-Secret-Token` (Telegram does not report it).
    pub secret_token: Option<String>,
    /// Updates delivered successfully so far (Telegram does not report it).
    pub delivered_count: u64,
}

pub(crate) fn info(state: &State) -> WebhookInfo {
    let hook = state.webhook.as_ref();
    WebhookInfo {
        url: hook.map(|h| h.url.clone()).unwrap_or_default(),
        has_custom_certificate: hook.is_some_and(|h| h.has_certificate),
        pending_update_count: state.queue.len(),
        last_error_date: state.webhook_error.as_ref().map(|(date, _)| *date),
        last_error_message: state.webhook_error.as_ref().map(|(_, m)| m.clone()),
        max_connections: hook.map(|h| h.max_connections),
        allowed_updates: state.allowed_updates.clone(),
        secret_token: hook.and_then(|h| h.secret_token.clone()),
        delivered_count: state.webhook_delivered,
    }
}

/// The WebhookInfo object getWebhookInfo returns.
pub(crate) fn info_json(state: &State) -> Value {
    let info = info(state);
    let mut v = json!({
        "url": info.url,
        "has_custom_certificate": info.has_custom_certificate,
        "pending_update_count": info.pending_update_count,
    });
    if let Some(hook) = &state.webhook {
        v["max_connections"] = json!(hook.max_connections);
        if let Some(ip) = &hook.ip_address {
            v["ip_address"] = json!(ip);
        }
    }
    if let Some(date) = info.last_error_date {
        v["last_error_date"] = json!(date);
    }
    if let Some(message) = info.last_error_message {
        v["last_error_message"] = json!(message);
    }
    if !info.allowed_updates.is_empty() {
        v["allowed_updates"] = json!(info.allowed_updates);
    }
    v
}

fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// setWebhook. Plain http is accepted for loopback hosts only, so local bots can be tested.
pub(crate) fn set(inner: &Inner, params: &Params) -> Result<(Value, &'static str), ApiError> {
    let url = params.str("url").unwrap_or_default().trim().to_owned();
    if url.is_empty() {
        return delete(inner, params);
    }
    let bad = |why: &str| ApiError::bad_request(format!("bad webhook: {why}"));
    let parsed = reqwest::Url::parse(&url).map_err(|_| bad("invalid webhook URL specified"))?;
    let host = parsed.host_str().unwrap_or_default().to_owned();
    match parsed.scheme() {
        "https" => {}
        "http" if is_loopback(&host) => {}
        _ => return Err(bad("An HTTPS URL must be provided for webhook")),
    }
    let secret_token = match params.str("secret_token") {
        None | Some("") => None,
        Some(secret) if secret.chars().count() > 256 => {
            return Err(ApiError::bad_request("secret token is too long"));
        }
        Some(secret)
            if !secret
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') =>
        {
            return Err(ApiError::bad_request(
                "secret token contains unallowed characters",
            ));
        }
        Some(secret) => Some(secret.to_owned()),
    };
    let max_connections = params.i64("max_connections").unwrap_or(40).clamp(1, 100) as u32;
    let hook = Webhook {
        url,
        secret_token,
        max_connections,
        ip_address: params.str("ip_address").map(str::to_owned),
        has_certificate: params.get("certificate").is_some(),
    };
    let mut state = inner.lock();
    let unchanged = state.webhook.as_ref().is_some_and(|h| {
        h.url == hook.url
            && h.secret_token == hook.secret_token
            && h.max_connections == hook.max_connections
    });
    remember_allowed_updates(&mut state, params);
    if params.bool("drop_pending_updates") {
        state.queue.clear();
    }
    let description = if unchanged {
        "Webhook is already set"
    } else {
        if state.webhook.as_ref().map(|h| &h.url) != Some(&hook.url) {
            state.webhook_error = None;
        }
        state.webhook = Some(hook);
        state.webhook_generation += 1;
        "Webhook was set"
    };
    drop(state);
    inner.notify_updates();
    Ok((Value::Bool(true), description))
}

/// deleteWebhook (and setWebhook with an empty url).
pub(crate) fn delete(inner: &Inner, params: &Params) -> Result<(Value, &'static str), ApiError> {
    let mut state = inner.lock();
    if params.bool("drop_pending_updates") {
        state.queue.clear();
    }
    let description = if state.webhook.take().is_some() {
        state.webhook_generation += 1;
        state.webhook_error = None;
        "Webhook was deleted"
    } else {
        "Webhook is already deleted"
    };
    drop(state);
    inner.notify_updates();
    Ok((Value::Bool(true), description))
}

fn describe(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        "Read timeout expired".to_owned()
    } else if error.is_connect() {
        "Connection refused".to_owned()
    } else {
        format!("Failed to deliver the update: {error}")
    }
}

/// Delivers queued updates one at a time, in order, retrying with backoff.
pub(crate) async fn run_delivery(inner: Arc<Inner>) {
    let client = reqwest::Client::builder()
        .timeout(inner.config.webhook_timeout)
        .build()
        .unwrap_or_default();
    let mut changes = inner.updates.subscribe();
    let mut failures: u32 = 0;
    let mut last_generation = 0;
    loop {
        if inner.is_shutting_down() {
            return;
        }
        changes.borrow_and_update();
        let job = {
            let state = inner.lock();
            match (&state.webhook, state.queue.front()) {
                (Some(hook), Some(update)) => {
                    Some((hook.clone(), update.clone(), state.webhook_generation))
                }
                _ => None,
            }
        };
        let Some((hook, update, generation)) = job else {
            if changes.changed().await.is_err() {
                return;
            }
            continue;
        };
        if generation != last_generation {
            failures = 0;
            last_generation = generation;
        }
        let mut request = client.post(&hook.url).json(&update.value);
        if let Some(secret) = &hook.secret_token {
            request = request.header("X-Telegram-Bot-Api-Secret-Token", secret);
        }
        let outcome = match request.send().await {
            Ok(response) if response.status().is_success() => Ok(response.bytes().await.ok()),
            Ok(response) => {
                let status = response.status();
                Err(format!(
                    "Wrong response from the webhook: {} {}",
                    status.as_u16(),
                    status.canonical_reason().unwrap_or_default()
                )
                .trim_end()
                .to_owned())
            }
            Err(error) => Err(describe(&error)),
        };
        match outcome {
            Ok(body) => {
                failures = 0;
                {
                    let mut state = inner.lock();
                    if state.webhook_generation == generation
                        && state.queue.front().is_some_and(|u| u.id == update.id)
                    {
                        state.queue.pop_front();
                        state.webhook_delivered += 1;
                    }
                }
                if let Some(body) = body {
                    reply_in_response(&inner, &body).await;
                }
            }
            Err(message) => {
                failures = failures.saturating_add(1);
                {
                    let mut state = inner.lock();
                    if state.webhook_generation == generation {
                        state.webhook_error = Some((unix_now(), message));
                    }
                }
                let factor = 2u32.saturating_pow(failures.saturating_sub(1).min(16));
                let backoff = inner
                    .config
                    .webhook_retry_initial
                    .saturating_mul(factor)
                    .min(inner.config.webhook_retry_max);
                tokio::time::sleep(backoff.max(Duration::from_millis(1))).await;
            }
        }
    }
}

/// Telegram executes a method the bot puts in its webhook response (`{"method": ..., ...}`).
async fn reply_in_response(inner: &Arc<Inner>, body: &[u8]) {
    let Ok(Value::Object(mut map)) = serde_json::from_slice::<Value>(body) else {
        return;
    };
    let Some(Value::String(method)) = map.remove("method") else {
        return;
    };
    let params = Params {
        values: map,
        ..Params::default()
    };
    // The outcome is recorded in the transcript; there is nobody to answer.
    let _ = crate::methods::process(inner, &method, params).await;
}
