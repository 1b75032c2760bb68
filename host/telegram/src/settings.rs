//! `[telegram]`, validated: the bot token, the Bot API server, how updates
//! arrive and the outgoing limits. The binary's config parses into these.

use std::net::SocketAddr;

use secrecy::SecretString;

/// How updates reach the host.
#[derive(Debug, Clone)]
pub enum UpdateMode {
    /// `getUpdates` long polling.
    Polling,
    /// Telegram posts updates to `public_url`; the host listens on `listen`.
    Webhook {
        /// The local address.
        listen: SocketAddr,
        /// The URL Telegram posts to.
        public_url: String,
        /// The `X-Telegram-Bot-Api-Secret-Token` every request must carry.
        secret_token: SecretString,
    },
}

/// Outgoing message limits (Telegram's, unless a paid broadcast plan or a
/// self-hosted Bot API server allows more).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MessageLimits {
    /// Whether the host throttles at all.
    pub enabled: bool,
    /// Messages per second over all chats (Telegram: about 30).
    pub per_second: u32,
    /// Messages per second in one private chat (Telegram: about 1).
    pub per_chat_per_second: u32,
    /// Messages per minute in one group (Telegram: 20).
    pub per_group_per_minute: u32,
}

impl Default for MessageLimits {
    fn default() -> Self {
        Self {
            enabled: true,
            per_second: 30,
            per_chat_per_second: 1,
            per_group_per_minute: 20,
        }
    }
}

/// `[telegram]`, validated.
/// Secrets are [`SecretString`]s: their `Debug` never shows them.
#[derive(Debug, Clone)]
pub struct TelegramSettings {
    /// The bot token (a secret).
    pub token: SecretString,
    /// The Bot API server.
    pub api_url: String,
    /// Polling or webhook.
    pub mode: UpdateMode,
    /// Outgoing limits.
    pub limits: MessageLimits,
}
