//! Telegram's flood limits on messages the bot sends.
//!
//! Telegram allows about 30 messages a second over all chats, about one a
//! second in a private chat (short bursts tolerated) and 20 a minute in a
//! group; past that it answers 429. Only methods that create messages count
//! (`sendMessage`, `sendPhoto`, …); edits and callback answers do not.
//!
//! Each send waits for its slot instead of polling on a timer (teloxide's
//! `Throttle` releases queued requests on a 250 ms tick, which put a quarter
//! of a second on every reply). A chat's slots are reserved in order, so a
//! chat waiting for its own limit never holds up another chat; the overall
//! limit is taken at the moment of sending.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use crate::settings::MessageLimits;
use switchboard_ratelimit::RateLimit;
use switchboard_ratelimit::RequestBudget;

/// The window over which a private chat's per-second limit is counted, so
/// a reply of two or three messages goes out at once.
const PRIVATE_WINDOW_SECS: u32 = 3;
/// Chats whose windows are kept before idle ones are forgotten.
const SWEEP_AT: usize = 10_000;
/// Added to every window: Telegram counts a message when it arrives, a
/// little after it was sent, so a message sent exactly one window after
/// another could still land inside it.
const SLACK: Duration = Duration::from_millis(150);

/// The outgoing message limiter of one bot.
#[derive(Debug)]
pub struct Outgoing {
    limits: MessageLimits,
    overall: RequestBudget,
    chats: Mutex<HashMap<i64, VecDeque<Instant>>>,
}

impl Outgoing {
    /// A limiter enforcing `limits` (nothing when they are disabled).
    pub fn new(limits: MessageLimits) -> Self {
        Self {
            limits,
            overall: RequestBudget::new(RateLimit {
                requests: limits.per_second.max(1),
                per_seconds: 1,
            }),
            chats: Mutex::new(HashMap::new()),
        }
    }

    /// The window of one chat: `(messages, period)`.
    fn window(&self, chat: i64) -> (usize, Duration) {
        if chat < 0 {
            (
                self.limits.per_group_per_minute.max(1) as usize,
                Duration::from_secs(60),
            )
        } else {
            (
                (self.limits.per_chat_per_second.max(1) * PRIVATE_WINDOW_SECS) as usize,
                Duration::from_secs(u64::from(PRIVATE_WINDOW_SECS)),
            )
        }
    }

    /// Reserves the chat's next slot and returns when it is.
    fn reserve(&self, chat: i64) -> Instant {
        let (max, period) = self.window(chat);
        let period = period + SLACK;
        let now = Instant::now();
        let mut chats = self.chats.lock().unwrap_or_else(|p| p.into_inner());
        if chats.len() > SWEEP_AT {
            chats.retain(|_, sent| sent.back().is_some_and(|t| *t + period > now));
        }
        let sent = chats.entry(chat).or_default();
        // Slots are handed out in order, so the queue stays sorted.
        let mut at = sent.back().map_or(now, |last| (*last).max(now));
        loop {
            while sent.front().is_some_and(|t| *t + period <= at) {
                sent.pop_front();
            }
            if sent.len() < max {
                break;
            }
            match sent.front() {
                Some(oldest) => at = *oldest + period,
                None => break,
            }
        }
        sent.push_back(at);
        at
    }

    /// Waits until a message may be sent to `chat`.
    pub async fn acquire(&self, chat: i64) {
        if !self.limits.enabled {
            return;
        }
        let at = self.reserve(chat);
        tokio::time::sleep_until(at).await;
        self.overall.acquire().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> MessageLimits {
        MessageLimits {
            enabled: true,
            per_second: 30,
            per_chat_per_second: 1,
            per_group_per_minute: 20,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_private_chat_gets_a_burst_of_three_then_one_a_second() {
        let out = Outgoing::new(limits());
        let start = Instant::now();
        let mut at = Vec::new();
        for _ in 0..5 {
            out.acquire(7).await;
            at.push((Instant::now() - start).as_millis());
        }
        assert_eq!(at, [0, 0, 0, 3150, 3150]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_waiting_chat_does_not_hold_up_another() {
        let out = std::sync::Arc::new(Outgoing::new(limits()));
        for _ in 0..3 {
            out.acquire(1).await;
        }
        let slow = {
            let out = std::sync::Arc::clone(&out);
            tokio::spawn(async move { out.acquire(1).await })
        };
        tokio::task::yield_now().await;
        let start = Instant::now();
        out.acquire(2).await;
        assert_eq!(Instant::now(), start, "chat 2 waited for chat 1");
        slow.await.unwrap_or_else(|e| panic!("{e}"));
    }

    #[tokio::test(start_paused = true)]
    async fn the_overall_limit_spreads_a_broadcast() {
        let out = Outgoing::new(limits());
        let start = Instant::now();
        for chat in 0..61 {
            out.acquire(chat).await;
        }
        // 30 a second: the 61st message goes out in the third second.
        assert!(Instant::now() - start >= Duration::from_secs(2));
    }

    #[tokio::test(start_paused = true)]
    async fn groups_get_twenty_a_minute_and_disabled_limits_never_wait() {
        let out = Outgoing::new(limits());
        let start = Instant::now();
        for _ in 0..21 {
            out.acquire(-100).await;
        }
        assert_eq!(Instant::now() - start, Duration::from_millis(60_150));

        let off = Outgoing::new(MessageLimits {
            enabled: false,
            ..limits()
        });
        let start = Instant::now();
        for _ in 0..100 {
            off.acquire(5).await;
        }
        assert_eq!(Instant::now(), start);
    }
}
