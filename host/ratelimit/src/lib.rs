//! # Request budgets
//!
//! A sliding-window budget shared by the two places that must not exceed a
//! remote's limit: a CRM plugin's outbound requests (KeyCRM: 60 a minute per
//! key) and the bot's messages to Telegram (about 30 a second). A sliding
//! window log guarantees the plugin never sends more than `requests` in any
//! window, however bursty the callers are; a token bucket refilling at the
//! average rate would let almost twice that through at the start.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::Instant;

/// A request budget: at most `requests` calls in any `per_seconds` window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    /// How many requests.
    pub requests: u32,
    /// In how many seconds.
    pub per_seconds: u32,
}

impl RateLimit {
    /// The window as a duration.
    pub fn window(&self) -> Duration {
        Duration::from_secs(u64::from(self.per_seconds))
    }

    /// Why this limit cannot be used, if it cannot.
    pub fn problem(&self) -> Option<&'static str> {
        if self.requests == 0 || self.per_seconds == 0 {
            return Some("requests and per_seconds must both be at least 1");
        }
        None
    }
}

/// Waits so that at most `limit.requests` requests start in any window.
#[derive(Debug)]
pub struct RequestBudget {
    limit: RateLimit,
    sent: Mutex<VecDeque<Instant>>,
}

impl RequestBudget {
    /// A budget for the given limit.
    pub fn new(limit: RateLimit) -> Self {
        Self {
            limit,
            sent: Mutex::new(VecDeque::with_capacity(limit.requests as usize)),
        }
    }

    /// The limit this budget enforces.
    pub fn limit(&self) -> RateLimit {
        self.limit
    }

    /// Waits until a request may be sent and records it. Returns how long it
    /// waited. Cancel-safe: a caller dropped while waiting takes no slot.
    pub async fn acquire(&self) -> Duration {
        let start = Instant::now();
        let window = self.limit.window();
        loop {
            let wait_until = {
                let mut sent = self.sent.lock().await;
                let now = Instant::now();
                while sent
                    .front()
                    .is_some_and(|t| now.duration_since(*t) >= window)
                {
                    sent.pop_front();
                }
                if sent.len() < self.limit.requests as usize {
                    sent.push_back(now);
                    return now.duration_since(start);
                }
                match sent.front() {
                    Some(oldest) => *oldest + window,
                    None => now,
                }
            };
            tokio::time::sleep_until(wait_until).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn it_never_exceeds_the_limit_in_any_window() {
        let budget = RequestBudget::new(RateLimit {
            requests: 3,
            per_seconds: 10,
        });
        let mut starts = Vec::new();
        for _ in 0..7 {
            budget.acquire().await;
            starts.push(Instant::now());
        }
        let t0 = starts[0];
        let offsets: Vec<u64> = starts
            .iter()
            .map(|t| t.duration_since(t0).as_secs())
            .collect();
        assert_eq!(offsets, vec![0, 0, 0, 10, 10, 10, 20]);
    }

    #[tokio::test(start_paused = true)]
    async fn it_does_not_wait_below_the_limit() {
        let budget = RequestBudget::new(RateLimit {
            requests: 60,
            per_seconds: 60,
        });
        for _ in 0..60 {
            assert_eq!(budget.acquire().await, Duration::ZERO);
        }
        assert_eq!(budget.acquire().await, Duration::from_secs(60));
    }
}
