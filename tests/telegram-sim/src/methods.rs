//! Method dispatch: faults, validation, flood limits, the handlers, and the records of each call.
//!
//! Methods with their own handler are listed in [`IMPLEMENTED_METHODS`]. Every
//! other method in the spec is accepted after the generic validation of
//! required parameters and types: methods returning a Message that address a
//! `chat_id` store and return a plausible message; all others return `true`.

use std::sync::Arc;

use serde_json::{Value, json};

use crate::entities::utf16_len;
use crate::error::ApiError;
use crate::faults::SimFault;
use crate::params::Params;
use crate::send;
use crate::spec::{MethodSpec, spec};
use crate::state::{Inner, State};
use crate::transcript::{RejectedRequest, TranscriptEntry};
use crate::validate;
use crate::{updates, webhook};

/// Methods with a dedicated handler (beyond generic validation).
pub const IMPLEMENTED_METHODS: &[&str] = &[
    "getMe",
    "logOut",
    "close",
    "getUpdates",
    "setWebhook",
    "deleteWebhook",
    "getWebhookInfo",
    "sendMessage",
    "sendPhoto",
    "sendLocation",
    "sendContact",
    "sendDocument",
    "sendVideo",
    "sendAnimation",
    "sendAudio",
    "sendVoice",
    "sendVideoNote",
    "sendSticker",
    "sendDice",
    "sendVenue",
    "sendPoll",
    "sendInvoice",
    "forwardMessage",
    "copyMessage",
    "editMessageText",
    "editMessageCaption",
    "editMessageReplyMarkup",
    "deleteMessage",
    "deleteMessages",
    "answerCallbackQuery",
    "setMyCommands",
    "getMyCommands",
    "deleteMyCommands",
    "sendChatAction",
];

const CHAT_ACTIONS: &[&str] = &[
    "typing",
    "upload_photo",
    "record_video",
    "upload_video",
    "record_voice",
    "upload_voice",
    "upload_document",
    "choose_sticker",
    "find_location",
    "record_video_note",
    "upload_video_note",
];

/// A successful answer; some methods add a `description` next to the result.
#[derive(Debug)]
pub(crate) struct Success {
    pub result: Value,
    pub description: Option<&'static str>,
}

impl From<Value> for Success {
    fn from(result: Value) -> Self {
        Self {
            result,
            description: None,
        }
    }
}

/// Runs one call (faults, validation, handler) and records it.
pub(crate) async fn process(
    inner: &Arc<Inner>,
    method_name: &str,
    mut params: Params,
) -> Result<Success, ApiError> {
    let outcome = run(inner, method_name, &mut params).await;
    let method = spec()
        .method(method_name)
        .map_or(method_name, |m| m.name.as_str());
    match &outcome {
        Ok(success) if method != "getUpdates" => {
            inner.lock().transcript.push(TranscriptEntry::Call {
                method: method.to_owned(),
                chat_id: chat_of(&params),
                params: params.to_json(),
                result: success.result.clone(),
            });
        }
        Ok(_) => {}
        Err(error) => record_rejection(inner, method_name, &params, error),
    }
    outcome
}

fn chat_of(params: &Params) -> Option<i64> {
    let value = params.get("chat_id")?;
    value
        .as_i64()
        .or_else(|| value.as_str()?.trim().parse().ok())
}

/// Records a call answered with `ok:false`.
pub(crate) fn record_rejection(inner: &Inner, method: &str, params: &Params, error: &ApiError) {
    let request = RejectedRequest {
        method: method.to_owned(),
        params: params.to_json(),
        error_code: error.code,
        description: error.description.clone(),
    };
    let mut state = inner.lock();
    state.rejected.push(request.clone());
    state.transcript.push(TranscriptEntry::Rejected {
        chat_id: chat_of(params),
        request,
    });
}

async fn run(
    inner: &Arc<Inner>,
    method_name: &str,
    params: &mut Params,
) -> Result<Success, ApiError> {
    let method = spec()
        .method(method_name)
        .ok_or_else(ApiError::method_not_found)?;
    let fault = inner.lock().faults.take(&method.name);
    match fault {
        Some(SimFault::Delay(delay)) => tokio::time::sleep(delay).await,
        Some(fault) => {
            if let Some(error) = fault.error() {
                return Err(error);
            }
        }
        None => {}
    }
    validate::normalize(method, params)?;
    match method.name.as_str() {
        "getUpdates" => updates::get_updates(inner, params).await.map(Success::from),
        "setWebhook" => webhook::set(inner, params).map(described),
        "deleteWebhook" => webhook::delete(inner, params).map(described),
        "getWebhookInfo" => Ok(webhook::info_json(&inner.lock()).into()),
        _ => {
            let mut state = inner.lock();
            handle(inner, &mut state, method, params).map(Success::from)
        }
    }
}

fn described((result, description): (Value, &'static str)) -> Success {
    Success {
        result,
        description: Some(description),
    }
}

fn handle(
    inner: &Inner,
    state: &mut State,
    method: &MethodSpec,
    params: &Params,
) -> Result<Value, ApiError> {
    let name = method.name.as_str();
    match name {
        "getMe" => {
            let mut me = inner.bot_user();
            for flag in [
                "can_read_all_group_messages",
                "supports_inline_queries",
                "can_connect_to_business",
                "has_main_web_app",
                "has_topics_enabled",
            ] {
                me[flag] = json!(false);
            }
            me["can_join_groups"] = json!(true);
            Ok(me)
        }
        "logOut" | "close" => Ok(Value::Bool(true)),
        "forwardMessage" | "copyMessage" => send::forward(inner, state, name, params),
        "editMessageText" | "editMessageCaption" | "editMessageReplyMarkup" => {
            send::edit(inner, state, name, params)
        }
        "deleteMessage" | "deleteMessages" => send::delete(inner, state, name, params),
        "answerCallbackQuery" => answer_callback(state, params),
        "setMyCommands" => set_commands(state, params),
        "getMyCommands" => Ok(state
            .commands
            .get(&commands_key(params))
            .cloned()
            .unwrap_or_else(|| json!([]))),
        "deleteMyCommands" => {
            state.commands.remove(&commands_key(params));
            Ok(Value::Bool(true))
        }
        "sendChatAction" => {
            let chat_id = send::resolve_chat(state, params)?;
            let action = params.str("action").unwrap_or_default();
            if !CHAT_ACTIONS.contains(&action) {
                return Err(ApiError::bad_request("wrong parameter action in request"));
            }
            state.chat_mut(chat_id).actions.push(action.to_owned());
            Ok(Value::Bool(true))
        }
        _ if method.returns == ["Message"] && method.field("chat_id").is_some() => {
            send::send(inner, state, name, params)
        }
        _ if method.returns.iter().any(|r| r == "Message") => {
            // Message | Boolean edits without a handler: return the stored message when there is one.
            let found = params
                .i64("chat_id")
                .zip(params.i64("message_id"))
                .and_then(|(chat, id)| {
                    state
                        .chats
                        .get(&chat)
                        .and_then(|c| c.find(id))
                        .map(|m| m.json().clone())
                });
            Ok(found.unwrap_or(Value::Bool(true)))
        }
        _ => Ok(Value::Bool(true)),
    }
}

fn answer_callback(state: &mut State, params: &Params) -> Result<Value, ApiError> {
    let id = params
        .str("callback_query_id")
        .unwrap_or_default()
        .to_owned();
    let invalid = || {
        ApiError::bad_request(
            "query is too old and response timeout expired or query ID is invalid",
        )
    };
    let record = state
        .callbacks
        .get(&id)
        .filter(|r| !r.answered)
        .ok_or_else(invalid)?;
    let chat_id = record.chat_id;
    let text = params.str("text").map(str::to_owned);
    if text.as_deref().is_some_and(|t| utf16_len(t) > 200) {
        return Err(ApiError::bad_request("MESSAGE_TOO_LONG"));
    }
    if let Some(record) = state.callbacks.get_mut(&id) {
        record.answered = true;
    }
    state.chat_mut(chat_id).callback_answers.push((id, text));
    Ok(Value::Bool(true))
}

/// Commands are kept per scope and language, like Telegram does.
fn commands_key(params: &Params) -> String {
    let scope = params
        .get("scope")
        .cloned()
        .unwrap_or_else(|| json!({ "type": "default" }));
    format!(
        "{scope}|{}",
        params.str("language_code").unwrap_or_default()
    )
}

fn set_commands(state: &mut State, params: &Params) -> Result<Value, ApiError> {
    let commands = params
        .get("commands")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if commands.len() > 100 {
        return Err(ApiError::bad_request("BOT_COMMANDS_TOO_MUCH"));
    }
    let mut stored = Vec::with_capacity(commands.len());
    for command in &commands {
        let name = command
            .get("command")
            .and_then(Value::as_str)
            .unwrap_or_default();
        // Telegram tolerates a leading slash, which teloxide's BotCommands includes.
        let name = name.strip_prefix('/').unwrap_or(name);
        let valid_name = (1..=32).contains(&name.len())
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !valid_name {
            return Err(ApiError::bad_request("BOT_COMMAND_INVALID"));
        }
        let description = command
            .get("description")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if description.trim().is_empty() || description.chars().count() > 256 {
            return Err(ApiError::bad_request("BOT_COMMAND_DESCRIPTION_INVALID"));
        }
        stored.push(json!({ "command": name, "description": description }));
    }
    state
        .commands
        .insert(commands_key(params), Value::Array(stored));
    Ok(Value::Bool(true))
}
