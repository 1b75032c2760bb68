//! The record of a session: updates users produced, calls the bot made, calls the sim refused.

use std::fmt;

use serde_json::Value;

/// A call the sim answered with `ok:false`.
#[derive(Debug, Clone, PartialEq)]
pub struct RejectedRequest {
    /// The method as the client spelled it (empty when the URL had none).
    pub method: String,
    /// The parameters as received (after normalisation when validation got that far).
    pub params: Value,
    /// `error_code`, equal to the HTTP status.
    pub error_code: u16,
    /// `description`, e.g. `Bad Request: message text is empty`.
    pub description: String,
}

/// One entry of [`crate::TelegramSim::transcript`], in the order things happened.
#[derive(Debug, Clone, PartialEq)]
pub enum TranscriptEntry {
    /// An update produced by a virtual user (or pushed raw) for the bot.
    Update {
        /// The chat it belongs to, if any.
        chat_id: Option<i64>,
        /// The Update object as the bot receives it.
        update: Value,
    },
    /// A successful Bot API call. getUpdates is not recorded: its updates are.
    Call {
        /// Canonical method name, e.g. `sendMessage`.
        method: String,
        /// The chat it addressed, if any.
        chat_id: Option<i64>,
        /// Parameters after normalisation.
        params: Value,
        /// The `result` returned.
        result: Value,
    },
    /// A call answered with `ok:false`.
    Rejected {
        /// The chat it addressed, if any.
        chat_id: Option<i64>,
        /// What was refused and why.
        request: RejectedRequest,
    },
    /// A virtual user opened a URL or Web App button instead of sending a callback.
    OpenedUrl {
        /// The chat with the button.
        chat_id: i64,
        /// The URL opened.
        url: String,
    },
}

impl TranscriptEntry {
    /// The chat this entry belongs to, if any.
    pub fn chat_id(&self) -> Option<i64> {
        match self {
            TranscriptEntry::Update { chat_id, .. }
            | TranscriptEntry::Call { chat_id, .. }
            | TranscriptEntry::Rejected { chat_id, .. } => *chat_id,
            TranscriptEntry::OpenedUrl { chat_id, .. } => Some(*chat_id),
        }
    }

    /// The method name for calls and rejections.
    pub fn method(&self) -> Option<&str> {
        match self {
            TranscriptEntry::Call { method, .. } => Some(method),
            TranscriptEntry::Rejected { request, .. } => Some(&request.method),
            _ => None,
        }
    }
}

fn chat(chat_id: &Option<i64>) -> String {
    chat_id.map_or_else(|| "-".to_owned(), |id| id.to_string())
}

impl fmt::Display for TranscriptEntry {
    /// One line per entry, for test failure output and the demo mode.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TranscriptEntry::Update { chat_id, update } => {
                write!(f, "[{}] user -> bot: {update}", chat(chat_id))
            }
            TranscriptEntry::Call {
                method,
                chat_id,
                params,
                ..
            } => write!(f, "[{}] bot {method} {params}", chat(chat_id)),
            TranscriptEntry::Rejected { chat_id, request } => write!(
                f,
                "[{}] REJECTED {} {} -> {} {}",
                chat(chat_id),
                request.method,
                request.params,
                request.error_code,
                request.description
            ),
            TranscriptEntry::OpenedUrl { chat_id, url } => {
                write!(f, "[{chat_id}] user opened {url}")
            }
        }
    }
}
