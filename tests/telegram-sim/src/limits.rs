//! Flood limits: rolling windows per bot and per chat, answered with 429 and `retry_after`.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

/// At most `max` events in any rolling `period`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Events allowed within one period; this is also the burst allowance.
    pub max: u32,
    /// Length of the rolling window.
    pub period: Duration,
}

impl Window {
    /// `max` events per `period`.
    pub const fn new(max: u32, period: Duration) -> Self {
        Self { max, period }
    }
}

/// Telegram's published flood limits for sending messages. Only methods that
/// create messages (`send*` except chat actions and drafts, `forward*`, `copy*`) count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimits {
    /// All chats together: default 30 per second.
    pub per_bot: Window,
    /// One private chat (positive chat id): default 3 per 3 seconds, i.e. about
    /// one a second with a burst of three.
    pub per_private_chat: Window,
    /// One group (negative chat id): default 20 per minute.
    pub per_group_chat: Window,
}

impl Default for RateLimits {
    fn default() -> Self {
        Self {
            per_bot: Window::new(30, Duration::from_secs(1)),
            per_private_chat: Window::new(3, Duration::from_secs(3)),
            per_group_chat: Window::new(20, Duration::from_secs(60)),
        }
    }
}

/// Sliding-window counters.
#[derive(Debug, Default)]
pub(crate) struct Limiter {
    bot: VecDeque<Instant>,
    chats: HashMap<i64, VecDeque<Instant>>,
}

/// Seconds to wait until `window` admits one more event, or `None` if it does now.
fn wait_for(events: &mut VecDeque<Instant>, window: Window, now: Instant) -> Option<u32> {
    while events
        .front()
        .is_some_and(|t| now.duration_since(*t) >= window.period)
    {
        events.pop_front();
    }
    if events.len() < window.max as usize {
        return None;
    }
    let oldest = *events.front()?;
    let wait = window.period.saturating_sub(now.duration_since(oldest));
    Some((wait.as_secs_f64().ceil() as u32).max(1))
}

impl Limiter {
    /// Records one message to `chat_id`, or says how many seconds to retry after.
    pub fn check(
        &mut self,
        limits: &RateLimits,
        chat_id: Option<i64>,
        now: Instant,
    ) -> Result<(), u32> {
        let mut retry = wait_for(&mut self.bot, limits.per_bot, now);
        if let Some(chat_id) = chat_id {
            let window = if chat_id < 0 {
                limits.per_group_chat
            } else {
                limits.per_private_chat
            };
            let events = self.chats.entry(chat_id).or_default();
            if let Some(wait) = wait_for(events, window, now) {
                retry = Some(retry.map_or(wait, |r| r.max(wait)));
            }
        }
        if let Some(retry) = retry {
            return Err(retry);
        }
        self.bot.push_back(now);
        if let Some(chat_id) = chat_id {
            self.chats.entry(chat_id).or_default().push_back(now);
        }
        Ok(())
    }
}

/// Whether calls of `method` count against the flood limits.
pub(crate) fn is_limited(method: &str) -> bool {
    (method.starts_with("send")
        && method != "sendChatAction"
        && !method.ends_with("Draft")
        && method != "sendChatJoinRequestWebApp")
        || method.starts_with("forward")
        || method.starts_with("copy")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_chat_allows_a_burst_then_asks_to_wait() {
        let limits = RateLimits::default();
        let mut limiter = Limiter::default();
        let t0 = Instant::now();
        for _ in 0..3 {
            assert_eq!(limiter.check(&limits, Some(7), t0), Ok(()));
        }
        assert_eq!(limiter.check(&limits, Some(7), t0), Err(3));
        assert_eq!(limiter.check(&limits, Some(8), t0), Ok(()));
        assert_eq!(
            limiter.check(&limits, Some(7), t0 + Duration::from_millis(2500)),
            Err(1)
        );
        assert_eq!(
            limiter.check(&limits, Some(7), t0 + Duration::from_secs(3)),
            Ok(())
        );
    }

    #[test]
    fn per_bot_window_spans_chats() {
        let limits = RateLimits::default();
        let mut limiter = Limiter::default();
        let t0 = Instant::now();
        for chat in 0..30 {
            assert_eq!(limiter.check(&limits, Some(chat + 100), t0), Ok(()));
        }
        assert_eq!(limiter.check(&limits, Some(999), t0), Err(1));
    }

    #[test]
    fn which_methods_count() {
        assert!(is_limited("sendMessage"));
        assert!(is_limited("copyMessage"));
        assert!(!is_limited("sendChatAction"));
        assert!(!is_limited("editMessageText"));
    }
}
