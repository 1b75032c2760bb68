//! Virtual users: the human side of a private chat, driven by tests.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Map, Value, json};
use tokio::time::Instant;

use crate::entities::utf16_len;
use crate::error::SimError;
use crate::message::BotMessage;
use crate::state::{CallbackRecord, Inner, State, Stored, StoredMessage, UserProfile, unix_now};
use crate::transcript::TranscriptEntry;

/// A Telegram user in a private chat with the bot (`chat.id == user id`).
///
/// Clones share the same user and the same read position for
/// [`VirtualUser::wait_for_reply`].
#[derive(Clone)]
pub struct VirtualUser {
    inner: Arc<Inner>,
    id: i64,
    /// Event sequence number up to which bot messages count as consumed.
    cursor: Arc<Mutex<u64>>,
}

impl std::fmt::Debug for VirtualUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VirtualUser").field("id", &self.id).finish()
    }
}

/// A button found on screen.
struct Found {
    message: Value,
    button: Value,
}

impl VirtualUser {
    pub(crate) fn register(inner: Arc<Inner>, id: i64, first_name: &str) -> Self {
        let cursor = {
            let mut state = inner.lock();
            state
                .users
                .entry(id)
                .and_modify(|p| p.first_name = first_name.to_owned())
                .or_insert_with(|| UserProfile::new(id, first_name));
            state.chat_mut(id);
            state.event_seq
        };
        Self {
            inner,
            id,
            cursor: Arc::new(Mutex::new(cursor)),
        }
    }

    fn update_profile(&self, change: impl FnOnce(&mut UserProfile)) {
        if let Some(profile) = self.inner.lock().users.get_mut(&self.id) {
            change(profile);
        }
    }

    fn profile(&self) -> UserProfile {
        self.inner
            .lock()
            .users
            .get(&self.id)
            .cloned()
            .unwrap_or_else(|| UserProfile::new(self.id, "User"))
    }

    fn cursor(&self) -> std::sync::MutexGuard<'_, u64> {
        self.cursor.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The user id, which is also the private chat id.
    pub fn id(&self) -> i64 {
        self.id
    }

    /// Sets the IETF language tag sent in `from.language_code` (default `uk`).
    pub fn with_language(self, language_code: &str) -> Self {
        self.update_profile(|p| p.language_code = language_code.to_owned());
        self
    }

    /// Gives the user a username (without `@`).
    pub fn with_username(self, username: &str) -> Self {
        self.update_profile(|p| p.username = Some(username.to_owned()));
        self
    }

    /// Gives the user a last name.
    pub fn with_last_name(self, last_name: &str) -> Self {
        self.update_profile(|p| p.last_name = Some(last_name.to_owned()));
        self
    }

    /// The phone shared by a `request_contact` button (default `380` + 9 digits of the id).
    pub fn with_phone(self, phone: &str) -> Self {
        self.update_profile(|p| p.phone = phone.to_owned());
        self
    }

    /// The location shared by a `request_location` button (default central Kyiv).
    pub fn with_location(self, latitude: f64, longitude: f64) -> Self {
        self.update_profile(|p| p.location = (latitude, longitude));
        self
    }

    /// Blocks the bot: its sends to this chat get 403 `Forbidden: bot was blocked by the user`.
    pub fn block(&self) {
        self.update_profile(|p| p.blocked = true);
    }

    /// Unblocks the bot.
    pub fn unblock(&self) {
        self.update_profile(|p| p.blocked = false);
    }

    /// Stores a user message with `content` and queues the update; returns its message_id.
    fn push_message(&self, content: Map<String, Value>) -> i64 {
        let profile = self.profile();
        let mut state = self.inner.lock();
        let seq = state.next_event();
        let chat = state.chat_mut(self.id);
        let message_id = chat.take_message_id();
        let mut message = json!({
            "message_id": message_id,
            "from": profile.user_json(),
            "chat": profile.chat_json(),
            "date": unix_now(),
        });
        if let Value::Object(map) = &mut message {
            map.extend(content);
        }
        chat.messages.push(StoredMessage {
            message_id,
            message: Stored::User(message.clone()),
            created: seq,
            updated: seq,
            deleted: false,
        });
        state.push_update(Some(self.id), "message", message);
        drop(state);
        self.inner.notify_updates();
        message_id
    }

    /// Sends a text message; a leading `/command` gets a `bot_command` entity.
    pub async fn send_text(&self, text: &str) {
        let mut content = Map::new();
        content.insert("text".to_owned(), json!(text));
        if text.starts_with('/') {
            let command = text.split(char::is_whitespace).next().unwrap_or_default();
            if command.len() > 1 {
                content.insert(
                    "entities".to_owned(),
                    json!([{ "type": "bot_command", "offset": 0, "length": utf16_len(command) }]),
                );
            }
        }
        self.push_message(content);
    }

    /// Sends a command such as `/start` (the slash is added when missing).
    pub async fn send_command(&self, command: &str) {
        if command.starts_with('/') {
            self.send_text(command).await;
        } else {
            self.send_text(&format!("/{command}")).await;
        }
    }

    /// Shares a contact: the user's own (`user_id` = this user) or someone else's.
    pub async fn share_contact(&self, phone: &str, own: bool) {
        let profile = self.profile();
        let contact = if own {
            let mut c = json!({ "phone_number": phone, "first_name": profile.first_name, "user_id": self.id });
            if let Some(last) = &profile.last_name {
                c["last_name"] = json!(last);
            }
            c
        } else {
            json!({ "phone_number": phone, "first_name": "Someone", "last_name": "Else", "user_id": self.id + 1_000_000_000 })
        };
        let mut content = Map::new();
        content.insert("contact".to_owned(), contact);
        self.push_message(content);
    }

    /// Sends a location.
    pub async fn send_location(&self, latitude: f64, longitude: f64) {
        let mut content = Map::new();
        content.insert(
            "location".to_owned(),
            json!({ "latitude": latitude, "longitude": longitude }),
        );
        self.push_message(content);
    }

    fn bot_messages_newest_first(&self, state: &State) -> Vec<BotMessage> {
        self.bot_messages_newest_first_ref(state).cloned().collect()
    }

    /// The chat's bot messages, newest first, borrowed from the state: a
    /// press looks through them under the simulator's lock, which the Bot
    /// API handlers wait for, so it copies only what it returns.
    fn bot_messages_newest_first_ref<'s>(
        &self,
        state: &'s State,
    ) -> impl Iterator<Item = &'s BotMessage> + 's {
        state
            .chats
            .get(&self.id)
            .into_iter()
            .flat_map(|chat| chat.messages.iter().rev())
            .filter(|m| !m.deleted)
            .filter_map(StoredMessage::bot)
    }

    fn find_inline(&self, state: &State, label: &str) -> Result<Found, SimError> {
        fn text(b: &Value) -> &str {
            b.get("text").and_then(Value::as_str).unwrap_or_default()
        }
        let mut available = Vec::new();
        for message in self.bot_messages_newest_first_ref(state) {
            let buttons = || {
                message
                    .reply_markup
                    .as_ref()
                    .and_then(|m| m.get("inline_keyboard"))
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_array)
                    .flatten()
            };
            let chosen = buttons()
                .find(|b| text(b) == label)
                .or_else(|| buttons().find(|b| text(b).contains(label)));
            if let Some(button) = chosen {
                return Ok(Found {
                    message: message.json.clone(),
                    button: button.clone(),
                });
            }
            available.extend(buttons().map(|b| text(b).to_owned()));
        }
        Err(SimError::ButtonNotFound {
            label: label.to_owned(),
            chat_id: self.id,
            available,
        })
    }

    /// Presses the inline button whose text is `label` (else contains it) on the newest bot
    /// message that has one: a callback button produces a callback_query update, a
    /// url / web_app / login_url button is recorded as opened.
    pub async fn press(&self, label: &str) -> Result<(), SimError> {
        let profile = self.profile();
        let mut state = self.inner.lock();
        let found = self.find_inline(&state, label)?;
        let button = &found.button;
        if let Some(data) = button.get("callback_data").and_then(Value::as_str) {
            state.next_callback += 1;
            let id = format!("{}{:06}", self.id.unsigned_abs(), state.next_callback);
            state.callbacks.insert(
                id.clone(),
                CallbackRecord {
                    chat_id: self.id,
                    answered: false,
                },
            );
            let query = json!({
                "id": id,
                "from": profile.user_json(),
                "message": found.message,
                "chat_instance": format!("{}", self.id.unsigned_abs() * 31 + 7),
                "data": data,
            });
            state.push_update(Some(self.id), "callback_query", query);
            drop(state);
            self.inner.notify_updates();
            return Ok(());
        }
        let url = button.get("url").and_then(Value::as_str).or_else(|| {
            ["web_app", "login_url"]
                .iter()
                .find_map(|k| button.get(*k)?.get("url")?.as_str())
        });
        if let Some(url) = url {
            let url = url.to_owned();
            state.chat_mut(self.id).opened_urls.push(url.clone());
            state.transcript.push(TranscriptEntry::OpenedUrl {
                chat_id: self.id,
                url,
            });
            return Ok(());
        }
        let kind = button
            .as_object()
            .and_then(|b| {
                b.keys()
                    .find(|k| crate::markup::INLINE_ACTIONS.contains(&k.as_str()))
                    .cloned()
            })
            .unwrap_or_default();
        Err(SimError::UnsupportedButton {
            label: label.to_owned(),
            kind,
        })
    }

    /// Presses a button of the reply keyboard the chat currently shows: sends its text, or the
    /// user's contact / location for `request_contact` / `request_location` buttons.
    pub async fn press_reply(&self, label: &str) -> Result<(), SimError> {
        let profile = self.profile();
        let (button, one_time) = {
            let state = self.inner.lock();
            let keyboard = state
                .chats
                .get(&self.id)
                .and_then(|c| c.reply_keyboard.clone())
                .ok_or(SimError::NoReplyKeyboard { chat_id: self.id })?;
            let buttons: Vec<Value> = keyboard
                .get("keyboard")
                .and_then(Value::as_array)
                .map(|rows| {
                    rows.iter()
                        .filter_map(Value::as_array)
                        .flatten()
                        .cloned()
                        .collect()
                })
                .unwrap_or_default();
            let text = |b: &Value| {
                b.as_str()
                    .or_else(|| b.get("text")?.as_str())
                    .unwrap_or_default()
                    .to_owned()
            };
            let chosen = buttons
                .iter()
                .find(|b| text(b) == label)
                .or_else(|| buttons.iter().find(|b| text(b).contains(label)))
                .cloned();
            let Some(button) = chosen else {
                return Err(SimError::ButtonNotFound {
                    label: label.to_owned(),
                    chat_id: self.id,
                    available: buttons.iter().map(text).collect(),
                });
            };
            let one_time = keyboard.get("one_time_keyboard") == Some(&Value::Bool(true));
            (button, one_time)
        };
        let flag = |name: &str| button.get(name) == Some(&Value::Bool(true));
        let unsupported = [
            "request_users",
            "request_chat",
            "request_managed_bot",
            "request_poll",
            "web_app",
        ]
        .into_iter()
        .find(|k| button.get(*k).is_some_and(|v| !v.is_null()));
        if let Some(kind) = unsupported {
            return Err(SimError::UnsupportedButton {
                label: label.to_owned(),
                kind: kind.to_owned(),
            });
        }
        if one_time {
            self.inner.lock().chat_mut(self.id).reply_keyboard = None;
        }
        if flag("request_contact") {
            self.share_contact(&profile.phone, true).await;
        } else if flag("request_location") {
            self.send_location(profile.location.0, profile.location.1)
                .await;
        } else {
            let text = button
                .as_str()
                .or_else(|| button.get("text")?.as_str())
                .unwrap_or_default()
                .to_owned();
            self.send_text(&text).await;
        }
        Ok(())
    }

    /// Waits for the next new bot message in this chat after the last one consumed.
    pub async fn wait_for_reply(&self, timeout: Duration) -> Result<BotMessage, SimError> {
        self.wait(
            timeout,
            "a new bot message",
            |stored, cursor| (stored.created > cursor).then_some(stored.created),
            |_| true,
        )
        .await
    }

    /// Waits until a bot message created or edited after the last one consumed satisfies `pred`
    /// (in its current state); messages passed over on the way count as consumed.
    pub async fn wait_until<F: Fn(&BotMessage) -> bool>(
        &self,
        pred: F,
        timeout: Duration,
    ) -> Result<BotMessage, SimError> {
        self.wait(
            timeout,
            "a bot message matching the predicate",
            |stored, cursor| (stored.updated > cursor).then_some(stored.updated),
            pred,
        )
        .await
    }

    async fn wait(
        &self,
        timeout: Duration,
        what: &str,
        position: impl Fn(&StoredMessage, u64) -> Option<u64>,
        pred: impl Fn(&BotMessage) -> bool,
    ) -> Result<BotMessage, SimError> {
        let deadline = Instant::now() + timeout;
        let mut events = self.inner.bot_events_of(self.id).subscribe();
        loop {
            {
                let state = self.inner.lock();
                let mut cursor = self.cursor();
                let mut candidates: Vec<(u64, &BotMessage)> = state
                    .chats
                    .get(&self.id)
                    .map(|chat| {
                        chat.messages
                            .iter()
                            .filter(|m| !m.deleted)
                            .filter_map(|m| Some((position(m, *cursor)?, m.bot()?)))
                            .collect()
                    })
                    .unwrap_or_default();
                candidates.sort_by_key(|(pos, _)| *pos);
                if let Some((pos, message)) = candidates.into_iter().find(|(_, m)| pred(m)) {
                    *cursor = pos;
                    return Ok(message.clone());
                }
                if Instant::now() >= deadline {
                    let last = self
                        .bot_messages_newest_first(&state)
                        .first()
                        .map(|m| m.body().to_owned());
                    return Err(SimError::Timeout {
                        what: format!("{what} in chat {} (newest bot message: {last:?})", self.id),
                        waited: timeout,
                    });
                }
            }
            tokio::select! {
                changed = events.changed() => {
                    if changed.is_err() {
                        tokio::time::sleep_until(deadline).await;
                    }
                }
                () = tokio::time::sleep_until(deadline) => {}
            }
        }
    }

    /// Marks every bot message so far as consumed.
    pub fn mark_read(&self) {
        let seq = self.inner.lock().event_seq;
        *self.cursor() = seq;
    }

    /// Bot messages in this chat in their current state (edits applied, deleted ones gone).
    pub fn messages(&self) -> Vec<BotMessage> {
        let state = self.inner.lock();
        let mut messages = self.bot_messages_newest_first(&state);
        messages.reverse();
        messages
    }

    /// The newest bot message in this chat.
    pub fn last_message(&self) -> Option<BotMessage> {
        let state = self.inner.lock();
        self.bot_messages_newest_first(&state).into_iter().next()
    }

    /// answerCallbackQuery calls for this chat: (callback query id, text).
    pub fn callback_answers(&self) -> Vec<(String, Option<String>)> {
        self.inner
            .lock()
            .chats
            .get(&self.id)
            .map(|c| c.callback_answers.clone())
            .unwrap_or_default()
    }

    /// sendChatAction actions the bot sent to this chat, in order.
    pub fn chat_actions(&self) -> Vec<String> {
        self.inner
            .lock()
            .chats
            .get(&self.id)
            .map(|c| c.actions.clone())
            .unwrap_or_default()
    }

    /// URLs the user opened by pressing url / web_app / login_url buttons.
    pub fn opened_urls(&self) -> Vec<String> {
        self.inner
            .lock()
            .chats
            .get(&self.id)
            .map(|c| c.opened_urls.clone())
            .unwrap_or_default()
    }

    /// The ReplyKeyboardMarkup the chat currently shows, if any.
    pub fn reply_keyboard(&self) -> Option<Value> {
        self.inner
            .lock()
            .chats
            .get(&self.id)
            .and_then(|c| c.reply_keyboard.clone())
    }
}
