//! The leaky bucket behind Bitrix24's request rate limit.
//!
//! Each request adds one to a counter that drains at `per_second`; a request that would
//! take the counter above `burst` is refused and not counted (`limits.md` in
//! `bitrix24/b24restdocs`). The simulator drains continuously rather than once a second,
//! which only makes it slightly more forgiving at sub-second scale.

use std::time::Instant;

/// Bitrix24's request rate limit: a burst allowance and a sustained rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bitrix24RateLimit {
    /// The counter value above which requests are refused (`X` in the docs).
    pub burst: u32,
    /// How much the counter drains per second (`Y` in the docs).
    pub per_second: u32,
}

impl Bitrix24RateLimit {
    /// The limit of every plan but Enterprise: 50, draining 2 per second.
    pub const STANDARD: Self = Self {
        burst: 50,
        per_second: 2,
    };
    /// The Enterprise plan's limit: 250, draining 5 per second.
    pub const ENTERPRISE: Self = Self {
        burst: 250,
        per_second: 5,
    };
}

/// The counter of one portal.
#[derive(Debug)]
pub(crate) struct LeakyBucket {
    limit: Bitrix24RateLimit,
    level: f64,
    updated: Option<Instant>,
}

impl LeakyBucket {
    pub(crate) fn new(limit: Bitrix24RateLimit) -> Self {
        Self {
            limit,
            level: 0.0,
            updated: None,
        }
    }

    /// Whether a request arriving at `now` may go on; an allowed request is counted.
    pub(crate) fn admit(&mut self, now: Instant) -> bool {
        if let Some(updated) = self.updated {
            let drained = now.saturating_duration_since(updated).as_secs_f64()
                * f64::from(self.limit.per_second);
            self.level = (self.level - drained).max(0.0);
        }
        self.updated = Some(now);
        if self.level + 1.0 > f64::from(self.limit.burst) {
            return false;
        }
        self.level += 1.0;
        true
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn it_allows_a_burst_then_refuses() {
        let mut bucket = LeakyBucket::new(Bitrix24RateLimit {
            burst: 3,
            per_second: 2,
        });
        let t0 = Instant::now();
        assert!(bucket.admit(t0));
        assert!(bucket.admit(t0));
        assert!(bucket.admit(t0));
        assert!(!bucket.admit(t0));
        // Half a second drains one request.
        assert!(bucket.admit(t0 + Duration::from_millis(500)));
        assert!(!bucket.admit(t0 + Duration::from_millis(500)));
    }

    #[test]
    fn it_sustains_the_drain_rate() {
        let mut bucket = LeakyBucket::new(Bitrix24RateLimit {
            burst: 1,
            per_second: 2,
        });
        let t0 = Instant::now();
        for i in 0..20 {
            assert!(
                bucket.admit(t0 + Duration::from_millis(500 * i)),
                "request {i}"
            );
        }
    }
}
