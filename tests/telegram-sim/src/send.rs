//! Methods that create, edit or delete messages.

use std::time::Instant;

use serde_json::{Map, Value, json};

use crate::entities::{self, Formatted, utf16_len};
use crate::error::ApiError;
use crate::markup::{self, MarkupKind};
use crate::message::BotMessage;
use crate::params::{Params, Upload};
use crate::state::{Inner, State, Stored, StoredMessage, unix_now};
use crate::validate::missing;

const MAX_TEXT: usize = 4096;
const MAX_CAPTION: usize = 1024;

const NOT_MODIFIED: &str = "message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message";

/// The private chat `chat_id` names; only chats of virtual users exist.
pub(crate) fn resolve_chat(state: &State, params: &Params) -> Result<i64, ApiError> {
    let value = params.get("chat_id").ok_or_else(|| missing("chat_id"))?;
    let id = match value {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    };
    let user = id
        .and_then(|id| state.users.get(&id))
        .ok_or_else(|| ApiError::bad_request("chat not found"))?;
    if user.blocked {
        return Err(ApiError::forbidden("bot was blocked by the user"));
    }
    Ok(user.id)
}

fn message_id_param(params: &Params) -> Result<i64, ApiError> {
    params
        .i64("message_id")
        .ok_or_else(|| ApiError::bad_request("message identifier is not specified"))
}

/// A message about to be sent.
#[derive(Default)]
struct Draft {
    text: Option<Formatted>,
    caption: Option<Formatted>,
    raw_text: Option<String>,
    file: Option<String>,
    location: Option<(f64, f64)>,
    contact: Option<Value>,
    content: Map<String, Value>,
    markup: Option<(Value, MarkupKind)>,
    reply_to: Option<Value>,
}

fn check_text(
    text: &str,
    parse_mode: Option<&str>,
    entities: Option<&Value>,
) -> Result<Formatted, ApiError> {
    let formatted = entities::format(text, parse_mode, entities)?;
    if formatted.text.is_empty() {
        return Err(ApiError::bad_request("message text is empty"));
    }
    if utf16_len(&formatted.text) > MAX_TEXT {
        return Err(ApiError::bad_request("message is too long"));
    }
    Ok(formatted)
}

fn check_caption(params: &Params) -> Result<Option<Formatted>, ApiError> {
    let Some(caption) = params.str("caption") else {
        return Ok(None);
    };
    let formatted = entities::format(
        caption,
        params.str("parse_mode"),
        params.get("caption_entities"),
    )?;
    if utf16_len(&formatted.text) > MAX_CAPTION {
        return Err(ApiError::bad_request("message caption is too long"));
    }
    Ok((!formatted.text.is_empty()).then_some(formatted))
}

fn check_markup(
    params: &Params,
    inline_only: bool,
) -> Result<Option<(Value, MarkupKind)>, ApiError> {
    params
        .get("reply_markup")
        .map(|m| markup::validate(m, inline_only).map(|kind| (m.clone(), kind)))
        .transpose()
}

/// The message being replied to, checked to exist unless the bot allowed otherwise.
fn check_reply(state: &State, chat_id: i64, params: &Params) -> Result<Option<Value>, ApiError> {
    let (target, allow_missing) = match params.get("reply_parameters") {
        Some(rp) => (
            rp.get("message_id").and_then(Value::as_i64),
            rp.get("allow_sending_without_reply")
                .and_then(Value::as_bool)
                .unwrap_or(false),
        ),
        None => (
            params.i64("reply_to_message_id"),
            params.bool("allow_sending_without_reply"),
        ),
    };
    let Some(target) = target else {
        return Ok(None);
    };
    let found = state
        .chats
        .get(&chat_id)
        .and_then(|c| c.find(target))
        .map(|m| m.json().clone());
    match found {
        Some(json) => Ok(Some(json)),
        None if allow_missing => Ok(None),
        None => Err(ApiError::bad_request("message to be replied not found")),
    }
}

fn check_file(value: Option<&str>, name: &str) -> Result<String, ApiError> {
    let file = value.ok_or_else(|| missing(name))?;
    let lower = file.to_ascii_lowercase();
    let valid = lower.starts_with("http://")
        || lower.starts_with("https://")
        || lower.starts_with("attach://")
        || file
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if !valid {
        return Err(ApiError::bad_request(
            "wrong file identifier/HTTP URL specified",
        ));
    }
    Ok(file.to_owned())
}

/// The multipart part an `attach://<name>` value refers to.
fn upload<'a>(params: &'a Params, value: &str) -> Option<&'a Upload> {
    params.uploads.get(value.strip_prefix("attach://")?)
}

fn rate_limit(
    inner: &Inner,
    state: &mut State,
    method: &str,
    chat_id: i64,
) -> Result<(), ApiError> {
    let Some(limits) = &inner.config.limits else {
        return Ok(());
    };
    if !crate::limits::is_limited(method) {
        return Ok(());
    }
    state
        .limiter
        .check(limits, Some(chat_id), Instant::now())
        .map_err(ApiError::too_many_requests)
}

/// File-like media fields of generic send methods, with the placeholder object returned.
fn media_placeholder(
    method: &str,
    file_id: &str,
    unique_id: &str,
) -> Option<(&'static str, &'static str, Value)> {
    let ids = json!({ "file_id": file_id, "file_unique_id": unique_id });
    let with = |extra: Value| {
        let mut v = ids.clone();
        if let (Value::Object(map), Value::Object(more)) = (&mut v, extra) {
            map.extend(more);
        }
        v
    };
    Some(match method {
        "sendDocument" => (
            "document",
            "document",
            with(json!({ "file_name": "document" })),
        ),
        "sendVideo" => (
            "video",
            "video",
            with(json!({ "width": 640, "height": 360, "duration": 1 })),
        ),
        "sendAnimation" => (
            "animation",
            "animation",
            with(json!({ "width": 320, "height": 240, "duration": 1 })),
        ),
        "sendAudio" => ("audio", "audio", with(json!({ "duration": 1 }))),
        "sendVoice" => ("voice", "voice", with(json!({ "duration": 1 }))),
        "sendVideoNote" => (
            "video_note",
            "video_note",
            with(json!({ "length": 240, "duration": 1 })),
        ),
        "sendSticker" => (
            "sticker",
            "sticker",
            with(
                json!({ "type": "regular", "width": 512, "height": 512, "is_animated": false, "is_video": false }),
            ),
        ),
        _ => return None,
    })
}

/// Content objects of generic send methods that carry no file.
fn other_content(
    method: &str,
    params: &Params,
    state: &mut State,
) -> Option<(&'static str, Value)> {
    match method {
        "sendDice" => {
            state.next_file += 1;
            let value = (state.next_file % 6) + 1;
            Some((
                "dice",
                json!({ "emoji": params.str("emoji").unwrap_or("🎲"), "value": value }),
            ))
        }
        "sendVenue" => Some((
            "venue",
            json!({
                "location": { "latitude": params.f64("latitude"), "longitude": params.f64("longitude") },
                "title": params.str("title"),
                "address": params.str("address"),
            }),
        )),
        "sendPoll" => {
            let options: Vec<Value> = params
                .get("options")
                .and_then(Value::as_array)
                .map(|o| {
                    o.iter()
                        .map(|opt| json!({ "text": opt.get("text").cloned().unwrap_or(Value::Null), "voter_count": 0 }))
                        .collect()
                })
                .unwrap_or_default();
            state.next_file += 1;
            Some((
                "poll",
                json!({
                    "id": format!("poll{}", state.next_file),
                    "question": params.str("question"),
                    "options": options,
                    "total_voter_count": 0,
                    "is_closed": false,
                    "is_anonymous": params.get("is_anonymous").and_then(Value::as_bool).unwrap_or(true),
                    "type": params.str("type").unwrap_or("regular"),
                    "allows_multiple_answers": params.bool("allows_multiple_answers"),
                }),
            ))
        }
        "sendInvoice" => {
            let total: i64 = params
                .get("prices")
                .and_then(Value::as_array)
                .map(|p| {
                    p.iter()
                        .filter_map(|x| x.get("amount").and_then(Value::as_i64))
                        .sum()
                })
                .unwrap_or(0);
            Some((
                "invoice",
                json!({
                    "title": params.str("title"),
                    "description": params.str("description"),
                    "start_parameter": params.str("start_parameter").unwrap_or(""),
                    "currency": params.str("currency"),
                    "total_amount": total,
                }),
            ))
        }
        _ => None,
    }
}

/// Any method that returns a Message and addresses `chat_id`.
pub(crate) fn send(
    inner: &Inner,
    state: &mut State,
    method: &str,
    params: &Params,
) -> Result<Value, ApiError> {
    let chat_id = resolve_chat(state, params)?;
    let mut draft = Draft {
        markup: check_markup(params, false)?,
        reply_to: check_reply(state, chat_id, params)?,
        ..Draft::default()
    };
    match method {
        "sendMessage" => {
            let text = params.str("text").ok_or_else(|| missing("text"))?;
            draft.text = Some(check_text(
                text,
                params.str("parse_mode"),
                params.get("entities"),
            )?);
            draft.raw_text = Some(text.to_owned());
        }
        "sendPhoto" => {
            let photo = check_file(params.str("photo"), "photo")?;
            draft.caption = check_caption(params)?;
            draft.raw_text = params.str("caption").map(str::to_owned);
            let (file_id, unique) = if photo.contains("://") {
                state.new_file_id()
            } else {
                (photo.clone(), format!("u{photo}"))
            };
            let size = upload(params, &photo).map_or(65536, |u| u.size);
            draft.content.insert(
                "photo".to_owned(),
                json!([
                    { "file_id": file_id, "file_unique_id": unique, "width": 90, "height": 90, "file_size": 1024 },
                    { "file_id": file_id, "file_unique_id": unique, "width": 1280, "height": 720, "file_size": size },
                ]),
            );
            draft.file = Some(photo);
        }
        "sendLocation" => {
            let latitude = params.f64("latitude").ok_or_else(|| missing("latitude"))?;
            let longitude = params
                .f64("longitude")
                .ok_or_else(|| missing("longitude"))?;
            if !(-90.0..=90.0).contains(&latitude) || !(-180.0..=180.0).contains(&longitude) {
                return Err(ApiError::bad_request(
                    "wrong latitude or longitude specified",
                ));
            }
            draft.location = Some((latitude, longitude));
            draft.content.insert(
                "location".to_owned(),
                json!({ "latitude": latitude, "longitude": longitude }),
            );
        }
        "sendContact" => {
            let phone = params
                .str("phone_number")
                .ok_or_else(|| missing("phone_number"))?;
            let first_name = params
                .str("first_name")
                .ok_or_else(|| missing("first_name"))?;
            let mut contact = json!({ "phone_number": phone, "first_name": first_name });
            for key in ["last_name", "vcard"] {
                if let Some(v) = params.str(key) {
                    contact[key] = json!(v);
                }
            }
            draft.contact = Some(contact.clone());
            draft.content.insert("contact".to_owned(), contact);
        }
        _ => {
            draft.caption = check_caption(params)?;
            draft.raw_text = params.str("caption").map(str::to_owned);
            let (file_id, unique) = state.new_file_id();
            if let Some((key, param, mut value)) = media_placeholder(method, &file_id, &unique) {
                let file = check_file(params.str(param), param)?;
                if let Some(upload) = upload(params, &file) {
                    value["file_size"] = json!(upload.size);
                    if let Some(name) = &upload.file_name {
                        value["file_name"] = json!(name);
                    }
                    if let Some(mime) = &upload.content_type {
                        value["mime_type"] = json!(mime);
                    }
                }
                draft.file = Some(file);
                draft.content.insert(key.to_owned(), value);
            } else if let Some((key, value)) = other_content(method, params, state) {
                draft.content.insert(key.to_owned(), value);
            }
            if method == "sendVenue"
                && let (Some(lat), Some(lon)) = (params.f64("latitude"), params.f64("longitude"))
            {
                draft.location = Some((lat, lon));
                draft.content.insert(
                    "location".to_owned(),
                    json!({ "latitude": lat, "longitude": lon }),
                );
            }
        }
    }
    rate_limit(inner, state, method, chat_id)?;
    Ok(store(inner, state, chat_id, method, params, draft))
}

fn store(
    inner: &Inner,
    state: &mut State,
    chat_id: i64,
    method: &str,
    params: &Params,
    draft: Draft,
) -> Value {
    let chat_json = state
        .users
        .get(&chat_id)
        .map(|u| u.chat_json())
        .unwrap_or_else(|| json!({ "id": chat_id, "type": "private" }));
    let seq = state.next_event();
    let chat = state.chat_mut(chat_id);
    let message_id = chat.take_message_id();
    let date = unix_now();
    let mut message = json!({
        "message_id": message_id,
        "from": inner.bot_user(),
        "chat": chat_json,
        "date": date,
    });
    if let Some(text) = &draft.text {
        message["text"] = json!(text.text);
        if !text.entities.is_empty() {
            message["entities"] = json!(text.entities);
        }
    }
    if let Some(caption) = &draft.caption {
        message["caption"] = json!(caption.text);
        if !caption.entities.is_empty() {
            message["caption_entities"] = json!(caption.entities);
        }
    }
    if let Value::Object(map) = &mut message {
        map.extend(draft.content);
    }
    if let Some(reply_to) = draft.reply_to {
        message["reply_to_message"] = reply_to;
    }
    match &draft.markup {
        // Telegram echoes only inline keyboards in the returned Message.
        Some((markup, MarkupKind::Inline)) => message["reply_markup"] = markup.clone(),
        Some((markup, MarkupKind::Keyboard)) => chat.reply_keyboard = Some(markup.clone()),
        Some((_, MarkupKind::Remove)) => chat.reply_keyboard = None,
        _ => {}
    }
    let entities = draft
        .text
        .as_ref()
        .or(draft.caption.as_ref())
        .map(|f| f.entities.clone())
        .unwrap_or_default();
    let bot_message = BotMessage {
        message_id,
        chat_id,
        date,
        text: draft.text.map(|f| f.text),
        caption: draft.caption.map(|f| f.text),
        raw_text: draft.raw_text,
        photo: if method == "sendPhoto" {
            draft.file.clone()
        } else {
            None
        },
        file: draft.file,
        parse_mode: params.str("parse_mode").map(str::to_owned),
        entities,
        reply_markup: draft.markup.map(|(m, _)| m),
        location: draft.location,
        contact: draft.contact,
        method: method.to_owned(),
        params: params.to_json(),
        edit_count: 0,
        json: message.clone(),
    };
    chat.messages.push(StoredMessage {
        message_id,
        message: Stored::Bot(Box::new(bot_message)),
        created: seq,
        updated: seq,
        deleted: false,
    });
    inner.notify_bot_event(chat_id);
    message
}

/// editMessageText, editMessageCaption and editMessageReplyMarkup.
pub(crate) fn edit(
    inner: &Inner,
    state: &mut State,
    method: &str,
    params: &Params,
) -> Result<Value, ApiError> {
    if params.get("inline_message_id").is_some() {
        // Inline-mode messages are not simulated, so none can be found.
        return Err(ApiError::bad_request("message to edit not found"));
    }
    let chat_id = resolve_chat(state, params)?;
    let message_id = message_id_param(params)?;
    let markup = check_markup(params, true)?;
    let seq = state.event_seq + 1;
    let stored = state
        .chats
        .get_mut(&chat_id)
        .and_then(|c| c.find_mut(message_id))
        .ok_or_else(|| ApiError::bad_request("message to edit not found"))?;
    let Stored::Bot(message) = &mut stored.message else {
        return Err(ApiError::bad_request("message can't be edited"));
    };
    let new_markup = markup.map(|(m, _)| m);
    let current_markup = message
        .reply_markup
        .clone()
        .filter(|m| m.get("inline_keyboard").is_some());
    let mut updated = (**message).clone();
    match method {
        "editMessageText" => {
            let text = params.str("text").ok_or_else(|| missing("text"))?;
            if message.text.is_none() {
                return Err(ApiError::bad_request(
                    "there is no text in the message to edit",
                ));
            }
            let formatted = check_text(text, params.str("parse_mode"), params.get("entities"))?;
            updated.text = Some(formatted.text);
            updated.entities = formatted.entities;
            updated.raw_text = Some(text.to_owned());
            updated.parse_mode = params.str("parse_mode").map(str::to_owned);
        }
        "editMessageCaption" => {
            if message.text.is_some() || message.file.is_none() {
                return Err(ApiError::bad_request(
                    "there is no caption in the message to edit",
                ));
            }
            let caption = check_caption(params)?;
            updated.entities = caption
                .as_ref()
                .map(|c| c.entities.clone())
                .unwrap_or_default();
            updated.caption = caption.map(|c| c.text);
            updated.raw_text = params.str("caption").map(str::to_owned);
            updated.parse_mode = params.str("parse_mode").map(str::to_owned);
        }
        _ => {}
    }
    updated.reply_markup = new_markup.clone();
    if updated.text == message.text
        && updated.caption == message.caption
        && updated.entities == message.entities
        && new_markup == current_markup
    {
        return Err(ApiError::bad_request(NOT_MODIFIED));
    }
    updated.edit_count += 1;
    updated.params = params.to_json();
    let json = &mut updated.json;
    if let Some(text) = &updated.text {
        json["text"] = json!(text);
    }
    if let Value::Object(map) = json {
        map.remove("entities");
        map.remove("caption_entities");
        map.remove("reply_markup");
        if updated.text.is_none() && updated.caption.is_none() {
            map.remove("caption");
        }
    }
    let entity_key = if updated.text.is_some() {
        "entities"
    } else {
        "caption_entities"
    };
    if !updated.entities.is_empty() {
        json[entity_key] = json!(updated.entities);
    }
    if let Some(caption) = &updated.caption {
        json["caption"] = json!(caption);
    }
    if let Some(markup) = &new_markup {
        json["reply_markup"] = markup.clone();
    }
    json["edit_date"] = json!(unix_now());
    let result = updated.json.clone();
    **message = updated;
    stored.updated = seq;
    state.event_seq = seq;
    inner.notify_bot_event(chat_id);
    Ok(result)
}

/// deleteMessage and deleteMessages.
pub(crate) fn delete(
    inner: &Inner,
    state: &mut State,
    method: &str,
    params: &Params,
) -> Result<Value, ApiError> {
    let chat_id = resolve_chat(state, params)?;
    let ids: Vec<i64> = if method == "deleteMessages" {
        params
            .get("message_ids")
            .and_then(Value::as_array)
            .map(|ids| ids.iter().filter_map(Value::as_i64).collect())
            .unwrap_or_default()
    } else {
        vec![message_id_param(params)?]
    };
    let seq = state.next_event();
    let chat = state.chat_mut(chat_id);
    let mut deleted = 0;
    for id in &ids {
        if let Some(stored) = chat.find_mut(*id) {
            stored.deleted = true;
            stored.updated = seq;
            deleted += 1;
        }
    }
    if deleted == 0 && method == "deleteMessage" {
        return Err(ApiError::bad_request("message to delete not found"));
    }
    inner.notify_bot_event(chat_id);
    Ok(Value::Bool(true))
}

/// forwardMessage and copyMessage: the source must exist; the copy is stored as a bot message.
pub(crate) fn forward(
    inner: &Inner,
    state: &mut State,
    method: &str,
    params: &Params,
) -> Result<Value, ApiError> {
    let chat_id = resolve_chat(state, params)?;
    let from_chat = params
        .get("from_chat_id")
        .and_then(|v| v.as_i64().or_else(|| v.as_str()?.parse().ok()))
        .ok_or_else(|| missing("from_chat_id"))?;
    let message_id = message_id_param(params)?;
    let what = if method == "copyMessage" {
        "copy"
    } else {
        "forward"
    };
    let source = state
        .chats
        .get(&from_chat)
        .and_then(|c| c.find(message_id))
        .map(|m| m.json().clone())
        .ok_or_else(|| ApiError::bad_request(format!("message to {what} not found")))?;
    let mut draft = Draft {
        markup: check_markup(params, false)?,
        reply_to: check_reply(state, chat_id, params)?,
        ..Draft::default()
    };
    if let Some(text) = source.get("text").and_then(Value::as_str) {
        draft.text = Some(Formatted {
            text: text.to_owned(),
            entities: source
                .get("entities")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default(),
        });
    }
    if let Some(caption) = source.get("caption").and_then(Value::as_str) {
        draft.caption = Some(Formatted {
            text: caption.to_owned(),
            entities: Vec::new(),
        });
    }
    for key in [
        "photo", "location", "contact", "document", "video", "voice", "audio", "sticker",
    ] {
        if let Some(v) = source.get(key) {
            draft.content.insert(key.to_owned(), v.clone());
        }
    }
    if method == "forwardMessage" {
        let origin = match source.get("from") {
            Some(from) => {
                json!({ "type": "user", "sender_user": from, "date": source.get("date") })
            }
            None => {
                json!({ "type": "hidden_user", "sender_user_name": "", "date": source.get("date") })
            }
        };
        draft.content.insert("forward_origin".to_owned(), origin);
    }
    rate_limit(inner, state, method, chat_id)?;
    let message = store(inner, state, chat_id, method, params, draft);
    if method == "copyMessage" {
        return Ok(json!({ "message_id": message.get("message_id") }));
    }
    Ok(message)
}
