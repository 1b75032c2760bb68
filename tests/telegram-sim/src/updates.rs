//! getUpdates: the update queue with offsets, limits, allowed_updates and real long polling.

use std::time::Duration;

use serde_json::Value;
use tokio::time::Instant;

use crate::error::ApiError;
use crate::params::Params;
use crate::state::{Inner, State};

fn webhook_conflict() -> ApiError {
    ApiError::conflict(
        "can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first",
    )
}

/// Drops updates the offset confirms: all below a positive offset, or all but the last `-offset`.
fn confirm(state: &mut State, offset: i64) {
    if offset > 0 {
        state.queue.retain(|u| u.id >= offset);
    } else if offset < 0 {
        let keep = offset.unsigned_abs() as usize;
        while state.queue.len() > keep {
            state.queue.pop_front();
        }
    }
}

/// Reads the allowed_updates parameter into the state, as Telegram remembers it.
pub(crate) fn remember_allowed_updates(state: &mut State, params: &Params) {
    if let Some(list) = params.get("allowed_updates").and_then(Value::as_array) {
        state.allowed_updates = list
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect();
    }
}

/// Answers getUpdates, holding the request until an update arrives or `timeout` ends.
pub(crate) async fn get_updates(inner: &Inner, params: &Params) -> Result<Value, ApiError> {
    let offset = params.i64("offset").unwrap_or(0);
    let limit = params.i64("limit").unwrap_or(100).clamp(1, 100) as usize;
    let max_timeout = i64::try_from(inner.config.max_poll_timeout).unwrap_or(i64::MAX);
    let timeout = params.i64("timeout").unwrap_or(0).clamp(0, max_timeout) as u64;
    let mut updates_rx = inner.updates.subscribe();
    let mut shutdown_rx = inner.shutdown.subscribe();
    let generation = {
        let mut state = inner.lock();
        if state.webhook.is_some() {
            return Err(webhook_conflict());
        }
        remember_allowed_updates(&mut state, params);
        confirm(&mut state, offset);
        state.poll_generation += 1;
        state.poll_generation
    };
    // Wakes an older long poll so it gives up instead of also taking these updates.
    inner.notify_updates();
    updates_rx.borrow_and_update();
    let deadline = Instant::now() + Duration::from_secs(timeout);
    loop {
        {
            let state = inner.lock();
            if state.webhook.is_some() {
                return Err(webhook_conflict());
            }
            if state.poll_generation != generation {
                return Ok(Value::Array(Vec::new()));
            }
            let batch: Vec<Value> = state
                .queue
                .iter()
                .take(limit)
                .map(|u| u.value.clone())
                .collect();
            if !batch.is_empty() || Instant::now() >= deadline || inner.is_shutting_down() {
                return Ok(Value::Array(batch));
            }
        }
        tokio::select! {
            changed = updates_rx.changed() => {
                if changed.is_err() {
                    return Ok(Value::Array(Vec::new()));
                }
            }
            _ = shutdown_rx.changed() => {}
            () = tokio::time::sleep_until(deadline) => {}
        }
    }
}
