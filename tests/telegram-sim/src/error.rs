//! Errors: the ones the sim answers bots with, and the ones the test API returns.

use serde_json::{Value, json};

/// An `ok:false` answer exactly as Telegram shapes it; the HTTP status equals `code`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ApiError {
    pub code: u16,
    pub description: String,
    pub retry_after: Option<u32>,
}

impl ApiError {
    pub fn new(code: u16, description: impl Into<String>) -> Self {
        Self {
            code,
            description: description.into(),
            retry_after: None,
        }
    }

    /// 400 `Bad Request: <detail>`.
    pub fn bad_request(detail: impl AsRef<str>) -> Self {
        Self::new(400, format!("Bad Request: {}", detail.as_ref()))
    }

    /// 400 `Bad Request: can't parse entities: <detail>`.
    pub fn entities(detail: impl AsRef<str>) -> Self {
        Self::bad_request(format!("can't parse entities: {}", detail.as_ref()))
    }

    pub fn unauthorized() -> Self {
        Self::new(401, "Unauthorized")
    }

    pub fn forbidden(detail: impl AsRef<str>) -> Self {
        Self::new(403, format!("Forbidden: {}", detail.as_ref()))
    }

    pub fn not_found() -> Self {
        Self::new(404, "Not Found")
    }

    pub fn method_not_found() -> Self {
        Self::new(404, "Not Found: method not found")
    }

    pub fn conflict(detail: impl AsRef<str>) -> Self {
        Self::new(409, format!("Conflict: {}", detail.as_ref()))
    }

    pub fn too_many_requests(retry_after: u32) -> Self {
        Self {
            code: 429,
            description: format!("Too Many Requests: retry after {retry_after}"),
            retry_after: Some(retry_after),
        }
    }

    /// The JSON body Telegram sends with this error.
    pub fn to_json(&self) -> Value {
        let mut body = json!({
            "ok": false,
            "error_code": self.code,
            "description": self.description,
        });
        if let Some(retry_after) = self.retry_after {
            body["parameters"] = json!({ "retry_after": retry_after });
        }
        body
    }
}

/// Why a [`crate::VirtualUser`] action or wait did not succeed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SimError {
    /// Nothing matching arrived before the timeout.
    #[error("timed out after {waited:?} waiting for {what}")]
    Timeout {
        /// What was awaited.
        what: String,
        /// How long the wait lasted.
        waited: std::time::Duration,
    },
    /// No bot message in the chat has a button whose text matches.
    #[error("no button matching {label:?} in chat {chat_id}; buttons on screen: {available:?}")]
    ButtonNotFound {
        /// The label that was looked for.
        label: String,
        /// The chat that was searched.
        chat_id: i64,
        /// Button texts that were there (newest message first).
        available: Vec<String>,
    },
    /// The chat shows no reply keyboard (none was sent, or it was removed).
    #[error("chat {chat_id} shows no reply keyboard")]
    NoReplyKeyboard {
        /// The chat that was searched.
        chat_id: i64,
    },
    /// The button exists but pressing its kind is not simulated.
    #[error("button {label:?} is a {kind} button, which the sim cannot press")]
    UnsupportedButton {
        /// The button text.
        label: String,
        /// Its action field, such as `switch_inline_query`.
        kind: String,
    },
}
