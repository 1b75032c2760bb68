//! A Telegram Bot API simulator on loopback for end-to-end tests, benchmarks and demos.
//!
//! [`TelegramSim::start`] serves `/bot<token>/<method>` on `127.0.0.1` the way
//! `api.telegram.org` does: same JSON envelopes, error codes and descriptions,
//! method names matched case-insensitively, parameters from JSON, urlencoded
//! forms, query strings or multipart bodies. Method names, required parameters
//! and parameter types come from the embedded Bot API spec (see [`bot_api_version`]).
//!
//! Tests drive the human side with [`VirtualUser`]s and inspect what the bot did
//! through [`TelegramSim::transcript`] and [`TelegramSim::rejected_requests`].
//!
//! # What is checked
//!
//! Every call: the token (401 `Unauthorized`), the method name (404
//! `Not Found: method not found`), required parameters (400 naming the
//! parameter; `chat_id is empty` and `message text is empty` as Telegram words
//! them), parameter types including required fields and field types of nested
//! objects. Then, per method in [`IMPLEMENTED_METHODS`]:
//!
//! - text 1–4096 and captions ≤ 1024 UTF-16 code units after entity parsing and
//!   trimming; `parse_mode` HTML, MarkdownV2 and Markdown parsed like Telegram
//!   (unknown/unbalanced tags, unescaped reserved characters, unclosed entities);
//! - reply markup: inline keyboards (exactly one action per button,
//!   callback_data 1–64 bytes, http(s)/tg URLs with a real host, HTTPS Web Apps),
//!   reply keyboards, ReplyKeyboardRemove, ForceReply; edits take inline ones only;
//! - chats must belong to a virtual user (`chat not found`; 403 when blocked);
//!   replies must point at existing messages; edits and deletes at existing ones;
//!   `message is not modified` on identical edits;
//! - answerCallbackQuery needs an unanswered query id and text ≤ 200;
//!   setMyCommands needs 1–32 chars of `a-z0-9_` (a leading `/` is tolerated),
//!   descriptions 1–256 chars, at most 100 commands; sendChatAction a known action;
//! - getUpdates: offset confirmation, limit clamped to 1–100, real long polling,
//!   allowed_updates, 409 while a webhook is set; setWebhook: https (or http on
//!   loopback), secret token of 1–256 `A-Za-z0-9_-`.
//!
//! Every other method in the spec is accepted after the generic checks: those
//! returning a Message and taking `chat_id` (sendDocument, sendVideo, ...) store
//! and return a plausible message; all others return `true`.
//!
//! Not simulated: groups and channels, inline mode (`inline_message_id`), file
//! downloads (`/file/bot...`), payments beyond sendInvoice's message, the 409 a
//! second concurrent getUpdates gets from Telegram (the older poll returns `[]`).
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use std::time::Duration;
//! use switchboard_telegram_sim::{SimConfig, TelegramSim};
//!
//! let sim = TelegramSim::start(SimConfig::default()).await?;
//! // Point the bot at sim.api_url() with sim.token(), then:
//! let user = sim.user(1001, "Olena");
//! user.send_command("/start").await;
//! let reply = user.wait_for_reply(Duration::from_secs(2)).await?;
//! user.press("Catalog").await?;
//! assert!(sim.rejected_requests().is_empty());
//! # drop(reply);
//! # Ok(())
//! # }
//! ```

mod config;
mod entities;
mod error;
mod faults;
mod limits;
mod markup;
mod message;
mod methods;
mod params;
mod send;
mod server;
mod spec;
mod state;
mod transcript;
mod updates;
mod user;
mod validate;
mod webhook;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use config::SimConfig;
pub use entities::utf16_len;
pub use error::SimError;
pub use faults::SimFault;
pub use limits::{RateLimits, Window};
pub use message::BotMessage;
pub use methods::IMPLEMENTED_METHODS;
pub use spec::{EMBEDDED_SPEC, bot_api_version, spec_method_names};
pub use transcript::{RejectedRequest, TranscriptEntry};
pub use user::VirtualUser;
pub use webhook::WebhookInfo;

use state::Inner;

/// A running simulator. Dropping it stops serving; [`TelegramSim::shutdown`] also waits.
pub struct TelegramSim {
    inner: Arc<Inner>,
    addr: SocketAddr,
    server: Option<JoinHandle<()>>,
    delivery: JoinHandle<()>,
    stop: Option<oneshot::Sender<()>>,
}

impl std::fmt::Debug for TelegramSim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TelegramSim")
            .field("addr", &self.addr)
            .finish()
    }
}

impl TelegramSim {
    /// Starts serving on `127.0.0.1` at a free port.
    pub async fn start(config: SimConfig) -> std::io::Result<Self> {
        Self::start_on(config, SocketAddr::from(([127, 0, 0, 1], 0))).await
    }

    /// Starts serving on `addr` (port 0 picks a free one).
    pub async fn start_on(config: SimConfig, addr: SocketAddr) -> std::io::Result<Self> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let inner = Arc::new(Inner::new(config));
        let (stop, stopped) = oneshot::channel::<()>();
        let app = server::router(inner.clone());
        let server = tokio::spawn(async move {
            let serve = axum::serve(listener, app).with_graceful_shutdown(async move {
                let _ = stopped.await;
            });
            if let Err(error) = serve.await {
                tracing::warn!(%error, "telegram sim server stopped");
            }
        });
        let delivery = tokio::spawn(webhook::run_delivery(inner.clone()));
        Ok(Self {
            inner,
            addr,
            server: Some(server),
            delivery,
            stop: Some(stop),
        })
    }

    /// The Bot API base URL, e.g. `http://127.0.0.1:40123`; clients append `/bot<token>/<method>`.
    pub fn api_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The address the simulator listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The bot token the simulator accepts.
    pub fn token(&self) -> &str {
        &self.inner.config.token
    }

    /// The bot's user id (the digits of the token before `:`).
    pub fn bot_id(&self) -> i64 {
        self.inner.bot_id
    }

    /// A virtual user with a private chat whose id equals `user_id`; `language_code` is `uk`
    /// unless changed with [`VirtualUser::with_language`]. Calling it again for the same id
    /// keeps the profile and chat history (only `first_name` is updated) and returns a handle
    /// with its own read position.
    pub fn user(&self, user_id: i64, first_name: &str) -> VirtualUser {
        VirtualUser::register(self.inner.clone(), user_id, first_name)
    }

    /// Everything so far, all chats, in order.
    pub fn transcript(&self) -> Vec<TranscriptEntry> {
        self.inner.lock().transcript.clone()
    }

    /// Every call answered with `ok:false`, in order.
    pub fn rejected_requests(&self) -> Vec<RejectedRequest> {
        self.inner.lock().rejected.clone()
    }

    /// Answers the next `times` calls of `method` (case-insensitive; `*` for any) with `fault`
    /// instead of executing them.
    pub fn inject(&self, method: &str, fault: SimFault, times: u32) {
        self.inner.lock().faults.add(method, fault, times);
    }

    /// The webhook state, as getWebhookInfo would report it.
    pub fn webhook_info(&self) -> WebhookInfo {
        webhook::info(&self.inner.lock())
    }

    /// Queues a raw value as an update, unvalidated. An object without an integer
    /// `update_id` gets the next one; anything else is delivered exactly as given.
    pub fn push_raw_update(&self, update: Value) {
        self.inner.lock().push_raw(update);
        self.inner.notify_updates();
    }

    /// Commands set with setMyCommands for the default scope and no language, as (command, description).
    pub fn commands(&self) -> Vec<(String, String)> {
        let state = self.inner.lock();
        let key = format!("{}|", serde_json::json!({ "type": "default" }));
        state
            .commands
            .get(&key)
            .and_then(Value::as_array)
            .map(|list| {
                list.iter()
                    .filter_map(|c| {
                        Some((
                            c.get("command")?.as_str()?.to_owned(),
                            c.get("description")?.as_str()?.to_owned(),
                        ))
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Stops serving: open long polls return empty, then the server closes (waiting up to 2 s).
    pub async fn shutdown(mut self) {
        self.signal_stop();
        if let Some(server) = self.server.take() {
            let abort = server.abort_handle();
            if tokio::time::timeout(Duration::from_secs(2), server)
                .await
                .is_err()
            {
                abort.abort();
            }
        }
    }

    fn signal_stop(&mut self) {
        self.inner.shutdown.send_replace(true);
        self.inner.notify_updates();
        self.delivery.abort();
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

impl Drop for TelegramSim {
    fn drop(&mut self) {
        self.signal_stop();
    }
}
