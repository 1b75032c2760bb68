//! A sliding-window request limiter (KeyCRM's per-minute and amoCRM's per-second limits).

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

/// Counts accepted requests per key over a sliding window.
#[derive(Debug)]
pub(crate) struct RateLimiter {
    limit: u32,
    window: Duration,
    hits: HashMap<String, VecDeque<Instant>>,
}

/// The limiter's answer for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// The request may go on; this many more fit in the window.
    Allowed { remaining: u32 },
    /// The request is refused; a slot frees up after this many whole seconds.
    Limited { retry_after_secs: u64 },
}

impl RateLimiter {
    /// At most `limit` requests per key in any 60-second window.
    pub(crate) fn per_minute(limit: u32) -> Self {
        Self::new(limit, Duration::from_secs(60))
    }

    /// At most `limit` requests per key in any window of length `window`.
    pub(crate) fn new(limit: u32, window: Duration) -> Self {
        Self {
            limit,
            window,
            hits: HashMap::new(),
        }
    }

    /// The limit, for the `X-RateLimit-Limit` header.
    pub(crate) fn limit(&self) -> u32 {
        self.limit
    }

    /// Decides on a request for `key` arriving at `now`. Refused requests are not counted,
    /// as in Laravel's throttle middleware.
    pub(crate) fn check(&mut self, key: &str, now: Instant) -> Verdict {
        let window = self.window;
        let hits = self.hits.entry(key.to_owned()).or_default();
        while hits
            .front()
            .is_some_and(|&t| now.saturating_duration_since(t) >= window)
        {
            hits.pop_front();
        }
        let used = u32::try_from(hits.len()).unwrap_or(u32::MAX);
        if used >= self.limit {
            let wait = hits.front().map_or(window, |&oldest| {
                window.saturating_sub(now.saturating_duration_since(oldest))
            });
            let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            return Verdict::Limited {
                retry_after_secs: secs.max(1),
            };
        }
        hits.push_back(now);
        Verdict::Allowed {
            remaining: self.limit - used - 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn it_allows_up_to_the_limit_then_refuses() {
        let mut limiter = RateLimiter::per_minute(3);
        let t0 = Instant::now();
        assert_eq!(limiter.check("k", t0), Verdict::Allowed { remaining: 2 });
        assert_eq!(limiter.check("k", t0), Verdict::Allowed { remaining: 1 });
        assert_eq!(limiter.check("k", t0), Verdict::Allowed { remaining: 0 });
        assert_eq!(
            limiter.check("k", t0 + Duration::from_millis(500)),
            Verdict::Limited {
                retry_after_secs: 60
            }
        );
    }

    #[test]
    fn it_slides_the_window() {
        let mut limiter = RateLimiter::per_minute(2);
        let t0 = Instant::now();
        assert!(matches!(limiter.check("k", t0), Verdict::Allowed { .. }));
        let t1 = t0 + Duration::from_secs(30);
        assert!(matches!(limiter.check("k", t1), Verdict::Allowed { .. }));
        assert_eq!(
            limiter.check("k", t0 + Duration::from_secs(45)),
            Verdict::Limited {
                retry_after_secs: 15
            }
        );
        // The first hit leaves the window at t0 + 60 s; the second one is still inside.
        let t2 = t0 + Duration::from_secs(60);
        assert_eq!(limiter.check("k", t2), Verdict::Allowed { remaining: 0 });
        assert_eq!(
            limiter.check("k", t2 + Duration::from_millis(100)),
            Verdict::Limited {
                retry_after_secs: 30
            }
        );
        assert_eq!(
            limiter.check("k", t1 + Duration::from_secs(60)),
            Verdict::Allowed { remaining: 0 }
        );
    }

    #[test]
    fn it_counts_each_key_separately() {
        let mut limiter = RateLimiter::per_minute(1);
        let t0 = Instant::now();
        assert!(matches!(limiter.check("a", t0), Verdict::Allowed { .. }));
        assert!(matches!(limiter.check("a", t0), Verdict::Limited { .. }));
        assert!(matches!(limiter.check("b", t0), Verdict::Allowed { .. }));
    }

    #[test]
    fn it_refuses_everything_with_a_zero_limit() {
        let mut limiter = RateLimiter::per_minute(0);
        assert_eq!(
            limiter.check("k", Instant::now()),
            Verdict::Limited {
                retry_after_secs: 60
            }
        );
    }
}
