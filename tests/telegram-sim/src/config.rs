//! Simulator configuration.

use std::time::Duration;

use crate::limits::RateLimits;

/// How a [`crate::TelegramSim`] behaves. `Default` gives token `123456:TEST-token`,
/// username `switchboard_test_bot` and no rate limits.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// The bot token; requests under any other `/bot<token>/` get 401.
    /// The digits before `:` are the bot's user id.
    pub token: String,
    /// The bot's username, without `@`.
    pub bot_username: String,
    /// The bot's display name returned by getMe.
    pub bot_first_name: String,
    /// Telegram-like flood limits on sending methods; `None` turns them off.
    pub limits: Option<RateLimits>,
    /// The first pause before re-delivering an update a webhook refused; doubles on each failure.
    pub webhook_retry_initial: Duration,
    /// The longest pause between webhook delivery attempts.
    pub webhook_retry_max: Duration,
    /// How long a webhook may take to answer before the attempt counts as failed.
    pub webhook_timeout: Duration,
    /// Upper bound for getUpdates `timeout`, in seconds.
    pub max_poll_timeout: u64,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            token: "123456:TEST-token".to_owned(),
            bot_username: "switchboard_test_bot".to_owned(),
            bot_first_name: "Switchboard Test Bot".to_owned(),
            limits: None,
            webhook_retry_initial: Duration::from_millis(100),
            webhook_retry_max: Duration::from_secs(2),
            webhook_timeout: Duration::from_secs(5),
            max_poll_timeout: 50,
        }
    }
}

impl SimConfig {
    /// The bot's user id: the numeric part of the token before `:`, or 1 if it has none.
    pub fn bot_id(&self) -> i64 {
        self.token
            .split(':')
            .next()
            .and_then(|id| id.parse().ok())
            .unwrap_or(1)
    }
}
