//! Shared simulator state: users, chats, stored messages, the update queue and the records.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use tokio::sync::watch;

use crate::config::SimConfig;
use crate::faults::Faults;
use crate::limits::Limiter;
use crate::message::BotMessage;
use crate::transcript::{RejectedRequest, TranscriptEntry};

/// Unix time now, in seconds.
pub(crate) fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Everything the server, the webhook worker and the virtual users share.
pub(crate) struct Inner {
    pub config: SimConfig,
    pub bot_id: i64,
    state: Mutex<State>,
    /// Bumped whenever the update queue or the webhook setting changes.
    pub updates: watch::Sender<u64>,
    /// Per chat: bumped whenever a bot message there is created, edited or
    /// deleted. Per chat, so a message wakes only the user it is for (one
    /// channel for all would wake every waiting user for every message).
    bot_events: Mutex<HashMap<i64, watch::Sender<u64>>>,
    /// Set to true when the simulator shuts down.
    pub shutdown: watch::Sender<bool>,
}

impl Inner {
    pub fn new(config: SimConfig) -> Self {
        Self {
            bot_id: config.bot_id(),
            config,
            state: Mutex::new(State::default()),
            updates: watch::Sender::new(0),
            bot_events: Mutex::new(HashMap::new()),
            shutdown: watch::Sender::new(false),
        }
    }

    pub fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves plain data behind; keep serving.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn notify_updates(&self) {
        self.updates.send_modify(|n| *n += 1);
    }

    pub fn notify_bot_event(&self, chat_id: i64) {
        self.bot_events_of(chat_id).send_modify(|n| *n += 1);
    }

    /// The bot-event channel of one chat.
    pub fn bot_events_of(&self, chat_id: i64) -> watch::Sender<u64> {
        self.bot_events
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .entry(chat_id)
            .or_insert_with(|| watch::Sender::new(0))
            .clone()
    }

    pub fn is_shutting_down(&self) -> bool {
        *self.shutdown.borrow()
    }

    /// The bot as a User object.
    pub fn bot_user(&self) -> Value {
        json!({
            "id": self.bot_id,
            "is_bot": true,
            "first_name": self.config.bot_first_name,
            "username": self.config.bot_username,
        })
    }
}

/// A virtual user and so a private chat.
#[derive(Debug, Clone)]
pub(crate) struct UserProfile {
    pub id: i64,
    pub first_name: String,
    pub last_name: Option<String>,
    pub username: Option<String>,
    pub language_code: String,
    pub phone: String,
    pub location: (f64, f64),
    pub blocked: bool,
}

impl UserProfile {
    pub fn new(id: i64, first_name: &str) -> Self {
        Self {
            id,
            first_name: first_name.to_owned(),
            last_name: None,
            username: None,
            language_code: "uk".to_owned(),
            phone: format!("380{:09}", id.unsigned_abs() % 1_000_000_000),
            location: (50.4501, 30.5234),
            blocked: false,
        }
    }

    pub fn user_json(&self) -> Value {
        let mut user = json!({
            "id": self.id,
            "is_bot": false,
            "first_name": self.first_name,
            "language_code": self.language_code,
        });
        if let Some(last) = &self.last_name {
            user["last_name"] = json!(last);
        }
        if let Some(username) = &self.username {
            user["username"] = json!(username);
        }
        user
    }

    pub fn chat_json(&self) -> Value {
        let mut chat = json!({ "id": self.id, "type": "private", "first_name": self.first_name });
        if let Some(last) = &self.last_name {
            chat["last_name"] = json!(last);
        }
        if let Some(username) = &self.username {
            chat["username"] = json!(username);
        }
        chat
    }
}

/// A message in a chat, from either side.
#[derive(Debug, Clone)]
pub(crate) enum Stored {
    Bot(Box<BotMessage>),
    User(Value),
}

#[derive(Debug, Clone)]
pub(crate) struct StoredMessage {
    pub message_id: i64,
    pub message: Stored,
    /// Event sequence number when it was created.
    pub created: u64,
    /// Event sequence number of its last change.
    pub updated: u64,
    pub deleted: bool,
}

impl StoredMessage {
    pub fn json(&self) -> &Value {
        match &self.message {
            Stored::Bot(m) => &m.json,
            Stored::User(v) => v,
        }
    }

    pub fn bot(&self) -> Option<&BotMessage> {
        match &self.message {
            Stored::Bot(m) => Some(m),
            Stored::User(_) => None,
        }
    }
}

#[derive(Debug, Default)]
pub(crate) struct Chat {
    pub next_message_id: i64,
    pub messages: Vec<StoredMessage>,
    /// The reply keyboard the user currently sees, if any.
    pub reply_keyboard: Option<Value>,
    pub actions: Vec<String>,
    pub callback_answers: Vec<(String, Option<String>)>,
    pub opened_urls: Vec<String>,
}

impl Chat {
    pub fn take_message_id(&mut self) -> i64 {
        self.next_message_id += 1;
        self.next_message_id
    }

    pub fn find(&self, message_id: i64) -> Option<&StoredMessage> {
        self.messages
            .iter()
            .find(|m| m.message_id == message_id && !m.deleted)
    }

    pub fn find_mut(&mut self, message_id: i64) -> Option<&mut StoredMessage> {
        self.messages
            .iter_mut()
            .find(|m| m.message_id == message_id && !m.deleted)
    }
}

#[derive(Debug, Clone)]
pub(crate) struct QueuedUpdate {
    pub id: i64,
    pub value: Value,
}

#[derive(Debug, Clone)]
pub(crate) struct Webhook {
    pub url: String,
    pub secret_token: Option<String>,
    pub max_connections: u32,
    pub ip_address: Option<String>,
    pub has_certificate: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct CallbackRecord {
    pub chat_id: i64,
    pub answered: bool,
}

#[derive(Debug, Default)]
pub(crate) struct State {
    pub next_update_id: i64,
    pub queue: VecDeque<QueuedUpdate>,
    /// The last allowed_updates the bot set; empty means Telegram's default.
    pub allowed_updates: Vec<String>,
    pub webhook: Option<Webhook>,
    /// Bumped on every setWebhook/deleteWebhook so the worker drops stale attempts.
    pub webhook_generation: u64,
    pub webhook_error: Option<(i64, String)>,
    pub webhook_delivered: u64,
    /// Bumped by each getUpdates; an older long poll that sees a newer one gives up.
    pub poll_generation: u64,
    pub users: HashMap<i64, UserProfile>,
    pub chats: HashMap<i64, Chat>,
    pub callbacks: HashMap<String, CallbackRecord>,
    pub next_callback: u64,
    pub next_file: u64,
    pub event_seq: u64,
    pub transcript: Vec<TranscriptEntry>,
    pub rejected: Vec<RejectedRequest>,
    pub faults: Faults,
    pub limiter: Limiter,
    pub commands: HashMap<String, Value>,
}

/// Update kinds Telegram leaves out unless asked for by name.
const OPT_IN_UPDATES: &[&str] = &["chat_member", "message_reaction", "message_reaction_count"];

impl State {
    pub fn next_event(&mut self) -> u64 {
        self.event_seq += 1;
        self.event_seq
    }

    pub fn chat_mut(&mut self, chat_id: i64) -> &mut Chat {
        self.chats.entry(chat_id).or_default()
    }

    fn wants(&self, kind: &str) -> bool {
        if self.allowed_updates.is_empty() {
            !OPT_IN_UPDATES.contains(&kind)
        } else {
            self.allowed_updates.iter().any(|k| k == kind)
        }
    }

    /// Records an update of `kind` and queues it unless allowed_updates excludes it.
    pub fn push_update(&mut self, chat_id: Option<i64>, kind: &str, payload: Value) -> Value {
        self.next_update_id += 1;
        let id = self.next_update_id;
        let mut update = json!({ "update_id": id });
        update[kind] = payload;
        self.transcript.push(TranscriptEntry::Update {
            chat_id,
            update: update.clone(),
        });
        if self.wants(kind) {
            self.queue.push_back(QueuedUpdate {
                id,
                value: update.clone(),
            });
        }
        update
    }

    /// Queues a raw value as it is; objects without an integer update_id get one.
    pub fn push_raw(&mut self, mut value: Value) {
        let id = match value.get("update_id").and_then(Value::as_i64) {
            Some(id) => id,
            None => {
                let id = self.next_update_id + 1;
                if let Value::Object(map) = &mut value {
                    map.insert("update_id".to_owned(), json!(id));
                }
                id
            }
        };
        self.next_update_id = self.next_update_id.max(id);
        self.transcript.push(TranscriptEntry::Update {
            chat_id: None,
            update: value.clone(),
        });
        self.queue.push_back(QueuedUpdate { id, value });
    }

    pub fn new_file_id(&mut self) -> (String, String) {
        self.next_file += 1;
        let n = self.next_file;
        (
            format!("AgACAgIAAxkBAAIsim{n:06}"),
            format!("AQADsim{n:06}"),
        )
    }
}
