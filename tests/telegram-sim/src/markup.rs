//! Reply markup validation: inline keyboards, reply keyboards, keyboard removal and force reply.

use serde_json::{Map, Value};

use crate::entities::utf16_len;
use crate::error::ApiError;

/// What kind of markup a message carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MarkupKind {
    Inline,
    Keyboard,
    Remove,
    ForceReply,
}

/// Fields of an InlineKeyboardButton of which exactly one must be set.
pub(crate) const INLINE_ACTIONS: &[&str] = &[
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
];

/// Fields of a KeyboardButton of which at most one may be set.
const KEYBOARD_ACTIONS: &[&str] = &[
    "request_users",
    "request_chat",
    "request_managed_bot",
    "request_contact",
    "request_location",
    "request_poll",
    "web_app",
];

const MAX_BUTTONS: usize = 100;

fn button_error(detail: impl AsRef<str>) -> ApiError {
    ApiError::bad_request(format!(
        "can't parse inline keyboard button: {}",
        detail.as_ref()
    ))
}

/// Validates `reply_markup`; `inline_only` is for edits, which accept only inline keyboards.
pub(crate) fn validate(markup: &Value, inline_only: bool) -> Result<MarkupKind, ApiError> {
    let Value::Object(map) = markup else {
        return Err(ApiError::bad_request("object expected as reply markup"));
    };
    let kind = if map.contains_key("inline_keyboard") {
        validate_inline(map)?;
        MarkupKind::Inline
    } else if map.contains_key("keyboard") {
        validate_keyboard(map)?;
        MarkupKind::Keyboard
    } else if map.contains_key("remove_keyboard") {
        if map.get("remove_keyboard") != Some(&Value::Bool(true)) {
            return Err(ApiError::bad_request(
                "field \"remove_keyboard\" of the ReplyKeyboardRemove must be true",
            ));
        }
        check_bools(map, &["selective"], "ReplyKeyboardRemove")?;
        MarkupKind::Remove
    } else if map.contains_key("force_reply") {
        if map.get("force_reply") != Some(&Value::Bool(true)) {
            return Err(ApiError::bad_request(
                "field \"force_reply\" of the ForceReply must be true",
            ));
        }
        check_bools(map, &["selective"], "ForceReply")?;
        check_placeholder(map, "ForceReply")?;
        MarkupKind::ForceReply
    } else {
        return Err(ApiError::bad_request(
            "can't parse reply keyboard markup JSON object",
        ));
    };
    if inline_only && kind != MarkupKind::Inline {
        return Err(ApiError::bad_request("inline keyboard expected"));
    }
    Ok(kind)
}

fn rows<'a>(
    map: &'a Map<String, Value>,
    field: &str,
    owner: &str,
) -> Result<Vec<&'a Vec<Value>>, ApiError> {
    let not_rows = || {
        ApiError::bad_request(format!(
            "field \"{field}\" of the {owner} should be an Array of Arrays"
        ))
    };
    let Some(Value::Array(rows)) = map.get(field) else {
        return Err(not_rows());
    };
    rows.iter()
        .map(|row| match row {
            Value::Array(buttons) => Ok(buttons),
            _ => Err(not_rows()),
        })
        .collect()
}

fn validate_inline(map: &Map<String, Value>) -> Result<(), ApiError> {
    let rows = rows(map, "inline_keyboard", "InlineKeyboardMarkup")?;
    if rows.iter().map(|r| r.len()).sum::<usize>() > MAX_BUTTONS {
        return Err(ApiError::bad_request("reply markup is too long"));
    }
    for button in rows.into_iter().flatten() {
        validate_inline_button(button)?;
    }
    Ok(())
}

fn validate_inline_button(button: &Value) -> Result<(), ApiError> {
    let Value::Object(b) = button else {
        return Err(button_error("InlineKeyboardButton must be an Object"));
    };
    match b.get("text") {
        Some(Value::String(text)) if !text.trim().is_empty() => {}
        Some(Value::String(_)) => return Err(ApiError::bad_request("BUTTON_TEXT_INVALID")),
        Some(_) => return Err(button_error("Field \"text\" must be of type String")),
        None => return Err(button_error("Can't find field \"text\"")),
    }
    let actions: Vec<&str> = INLINE_ACTIONS
        .iter()
        .copied()
        .filter(|a| b.get(*a).is_some_and(|v| !v.is_null()))
        .collect();
    match actions.len() {
        0 => {
            return Err(button_error(
                "Text buttons are unallowed in the inline keyboard",
            ));
        }
        1 => {}
        _ => {
            return Err(button_error(format!(
                "exactly one of the optional fields must be used, found {}",
                actions.join(", ")
            )));
        }
    }
    let value = &b[actions[0]];
    match actions[0] {
        "callback_data" => match value {
            Value::String(data) if (1..=64).contains(&data.len()) => Ok(()),
            _ => Err(ApiError::bad_request("BUTTON_DATA_INVALID")),
        },
        "url" => match value {
            Value::String(url) => check_button_url(url),
            _ => Err(button_error("Field \"url\" must be of type String")),
        },
        "web_app" => check_web_app(value, "inline keyboard button"),
        "login_url" => match value.get("url") {
            Some(Value::String(url)) => check_button_url(url),
            _ => Err(button_error("Field \"url\" must be of type String")),
        },
        "switch_inline_query" | "switch_inline_query_current_chat" => match value {
            Value::String(_) => Ok(()),
            _ => Err(button_error(format!(
                "Field \"{}\" must be of type String",
                actions[0]
            ))),
        },
        "copy_text" => match value.get("text") {
            Some(Value::String(text)) if (1..=256).contains(&text.chars().count()) => Ok(()),
            _ => Err(ApiError::bad_request("COPY_TEXT_INVALID")),
        },
        "pay" => match value {
            Value::Bool(true) => Ok(()),
            _ => Err(button_error("Field \"pay\" must be true")),
        },
        other => match value {
            Value::Object(_) => Ok(()),
            _ => Err(button_error(format!("Field \"{other}\" must be an Object"))),
        },
    }
}

/// Button URLs must be http(s) or tg links with a real host name (Telegram refuses `localhost`).
fn check_button_url(url: &str) -> Result<(), ApiError> {
    let invalid = |why: &str| {
        ApiError::bad_request(format!(
            "inline keyboard button URL '{url}' is invalid: {why}"
        ))
    };
    let lower = url.to_ascii_lowercase();
    if lower.starts_with("tg://") {
        return Ok(());
    }
    let Some(rest) = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"))
    else {
        return Err(invalid("Unsupported URL protocol"));
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = authority.rsplit('@').next().unwrap_or_default();
    let host = if host.starts_with('[') {
        host
    } else {
        host.split(':').next().unwrap_or_default()
    };
    if host.is_empty() || host.contains(char::is_whitespace) {
        return Err(invalid("Wrong HTTP URL"));
    }
    let is_ip = host.starts_with('[') || host.parse::<std::net::Ipv4Addr>().is_ok();
    if !is_ip && !host.contains('.') {
        return Err(invalid("Wrong HTTP URL"));
    }
    Ok(())
}

fn check_web_app(value: &Value, owner: &str) -> Result<(), ApiError> {
    match value.get("url") {
        Some(Value::String(url)) if url.to_ascii_lowercase().starts_with("https://") => Ok(()),
        Some(Value::String(url)) => Err(ApiError::bad_request(format!(
            "{owner} Web App URL '{url}' is invalid: Only HTTPS links are allowed"
        ))),
        _ => Err(ApiError::bad_request(format!(
            "can't parse {owner}: Field \"url\" of the WebAppInfo must be of type String"
        ))),
    }
}

fn check_bools(map: &Map<String, Value>, names: &[&str], owner: &str) -> Result<(), ApiError> {
    for name in names {
        if let Some(v) = map.get(*name)
            && !v.is_boolean()
            && !v.is_null()
        {
            return Err(ApiError::bad_request(format!(
                "field \"{name}\" of the {owner} must be of type Boolean"
            )));
        }
    }
    Ok(())
}

fn check_placeholder(map: &Map<String, Value>, owner: &str) -> Result<(), ApiError> {
    match map.get("input_field_placeholder") {
        None | Some(Value::Null) => Ok(()),
        Some(Value::String(p)) if utf16_len(p) <= 64 => Ok(()),
        Some(Value::String(_)) => Err(ApiError::bad_request("input field placeholder is too long")),
        Some(_) => Err(ApiError::bad_request(format!(
            "field \"input_field_placeholder\" of the {owner} must be of type String"
        ))),
    }
}

fn validate_keyboard(map: &Map<String, Value>) -> Result<(), ApiError> {
    let rows = rows(map, "keyboard", "ReplyKeyboardMarkup")?;
    let count: usize = rows.iter().map(|r| r.len()).sum();
    if count == 0 {
        return Err(ApiError::bad_request("keyboard must be non-empty"));
    }
    if count > MAX_BUTTONS * 3 {
        return Err(ApiError::bad_request("reply markup is too long"));
    }
    check_bools(
        map,
        &[
            "is_persistent",
            "resize_keyboard",
            "one_time_keyboard",
            "selective",
        ],
        "ReplyKeyboardMarkup",
    )?;
    check_placeholder(map, "ReplyKeyboardMarkup")?;
    for button in rows.into_iter().flatten() {
        match button {
            Value::String(text) if !text.is_empty() => {}
            Value::Object(b) => {
                match b.get("text") {
                    Some(Value::String(text)) if !text.is_empty() => {}
                    _ => {
                        return Err(ApiError::bad_request(
                            "can't parse keyboard button: Field \"text\" must be of type String",
                        ));
                    }
                }
                let actions: Vec<&str> = KEYBOARD_ACTIONS
                    .iter()
                    .copied()
                    .filter(|a| {
                        b.get(*a)
                            .is_some_and(|v| !v.is_null() && *v != Value::Bool(false))
                    })
                    .collect();
                if actions.len() > 1 {
                    return Err(ApiError::bad_request(format!(
                        "can't parse keyboard button: only one of {} can be used",
                        actions.join(", ")
                    )));
                }
                for flag in ["request_contact", "request_location"] {
                    if b.get(flag).is_some_and(|v| !v.is_boolean() && !v.is_null()) {
                        return Err(ApiError::bad_request(format!(
                            "can't parse keyboard button: Field \"{flag}\" must be of type Boolean"
                        )));
                    }
                }
                if let Some(web_app) = b.get("web_app") {
                    check_web_app(web_app, "keyboard button")?;
                }
            }
            _ => {
                return Err(ApiError::bad_request(
                    "can't parse keyboard button: KeyboardButton must be a String or an Object",
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn desc(markup: Value) -> String {
        validate(&markup, false).map_or_else(|e| e.description, |k| format!("{k:?}"))
    }

    #[test]
    fn kinds() {
        assert_eq!(
            desc(json!({"inline_keyboard":[[{"text":"a","callback_data":"x"}]]})),
            "Inline"
        );
        assert_eq!(
            desc(json!({"keyboard":[["a", {"text":"b","request_contact":true}]]})),
            "Keyboard"
        );
        assert_eq!(desc(json!({"remove_keyboard":true})), "Remove");
        assert_eq!(desc(json!({"force_reply":true})), "ForceReply");
    }

    #[test]
    fn inline_button_rules() {
        assert_eq!(
            desc(json!({"inline_keyboard":[{"text":"a","callback_data":"x"}]})),
            "Bad Request: field \"inline_keyboard\" of the InlineKeyboardMarkup should be an Array of Arrays"
        );
        assert_eq!(
            desc(json!({"inline_keyboard":[[{"text":"a"}]]})),
            "Bad Request: can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
        );
        assert_eq!(
            desc(json!({"inline_keyboard":[[{"text":"a","callback_data":""}]]})),
            "Bad Request: BUTTON_DATA_INVALID"
        );
        assert!(
            desc(json!({"inline_keyboard":[[{"text":"a","url":"ftp://x.org"}]]}))
                .contains("Unsupported URL protocol")
        );
        assert!(
            desc(json!({"inline_keyboard":[[{"text":"a","url":"http://localhost:8080/pay"}]]}))
                .contains("Wrong HTTP URL")
        );
        assert_eq!(
            desc(json!({"inline_keyboard":[[{"text":"a","url":"http://127.0.0.1:9/x"}]]})),
            "Inline"
        );
        assert!(
            desc(json!({"inline_keyboard":[[{"text":"a","web_app":{"url":"http://x.org"}}]]}))
                .contains("Only HTTPS")
        );
        assert!(desc(json!({"inline_keyboard":[[{"text":"a","url":"https://x.org","callback_data":"y"}]]})).contains("exactly one"));
    }

    #[test]
    fn edits_need_inline() {
        let e = validate(&json!({"remove_keyboard":true}), true).map_err(|e| e.description);
        assert_eq!(e, Err("Bad Request: inline keyboard expected".to_owned()));
    }
}
