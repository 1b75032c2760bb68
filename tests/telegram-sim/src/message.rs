//! Messages the bot sent, as the simulator stores them.

use serde_json::Value;

/// A message sent by the bot, in its current state (edits applied).
#[derive(Debug, Clone, PartialEq)]
pub struct BotMessage {
    /// Sequential per chat, shared with the user's messages, like Telegram.
    pub message_id: i64,
    /// The chat it is in.
    pub chat_id: i64,
    /// Unix time it was sent.
    pub date: i64,
    /// The visible text, after parse_mode was applied and whitespace trimmed.
    pub text: Option<String>,
    /// The visible caption of a media message.
    pub caption: Option<String>,
    /// The text or caption exactly as the bot sent it, before entity parsing.
    pub raw_text: Option<String>,
    /// The photo as sent: a URL, a file_id, or `attach://<part>` for an upload.
    pub photo: Option<String>,
    /// The media file of any media method (photo, document, video, ...) as sent.
    pub file: Option<String>,
    /// The parse_mode the bot used, if any.
    pub parse_mode: Option<String>,
    /// MessageEntity objects of the text or caption.
    pub entities: Vec<Value>,
    /// The reply_markup as sent (any kind: inline, reply keyboard, remove, force reply).
    pub reply_markup: Option<Value>,
    /// Latitude and longitude of a sendLocation.
    pub location: Option<(f64, f64)>,
    /// The Contact object of a sendContact.
    pub contact: Option<Value>,
    /// The method that created it, e.g. `sendMessage`.
    pub method: String,
    /// Parameters of the call that created or last edited it.
    pub params: Value,
    /// How many times it was edited.
    pub edit_count: u32,
    /// The Message object as the Bot API returned it to the bot.
    pub json: Value,
}

impl BotMessage {
    /// Inline buttons in order: (text, callback_data, or the url of url / web_app / login_url
    /// buttons, or the value of other kinds).
    pub fn inline_buttons(&self) -> Vec<(String, String)> {
        let Some(rows) = self
            .reply_markup
            .as_ref()
            .and_then(|m| m.get("inline_keyboard"))
            .and_then(Value::as_array)
        else {
            return Vec::new();
        };
        rows.iter()
            .filter_map(Value::as_array)
            .flatten()
            .filter_map(|button| {
                let text = button.get("text")?.as_str()?.to_owned();
                let target = button_target(button);
                Some((text, target))
            })
            .collect()
    }

    /// Texts of the reply-keyboard buttons this message carries.
    pub fn reply_buttons(&self) -> Vec<String> {
        let Some(rows) = self
            .reply_markup
            .as_ref()
            .and_then(|m| m.get("keyboard"))
            .and_then(Value::as_array)
        else {
            return Vec::new();
        };
        rows.iter()
            .filter_map(Value::as_array)
            .flatten()
            .filter_map(|b| b.as_str().or_else(|| b.get("text")?.as_str()))
            .map(str::to_owned)
            .collect()
    }

    /// The text, else the caption, else `""`.
    pub fn body(&self) -> &str {
        self.text
            .as_deref()
            .or(self.caption.as_deref())
            .unwrap_or("")
    }
}

fn button_target(button: &Value) -> String {
    if let Some(data) = button.get("callback_data").and_then(Value::as_str) {
        return data.to_owned();
    }
    if let Some(url) = button.get("url").and_then(Value::as_str) {
        return url.to_owned();
    }
    for kind in ["web_app", "login_url"] {
        if let Some(url) = button
            .get(kind)
            .and_then(|w| w.get("url"))
            .and_then(Value::as_str)
        {
            return url.to_owned();
        }
    }
    for kind in ["switch_inline_query", "switch_inline_query_current_chat"] {
        if let Some(query) = button.get(kind).and_then(Value::as_str) {
            return query.to_owned();
        }
    }
    String::new()
}
