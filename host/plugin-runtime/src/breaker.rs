//! A circuit breaker per plugin id.
//!
//! After `failures_to_open` failures in a row (the CRM down, the plugin
//! trapping or running out of time), calls are refused at once for a
//! cool-down instead of piling up behind a dead CRM; then a single probe
//! call is let through, and its outcome closes or reopens the circuit. A
//! CRM's `rate-limited(retry-after)` opens it for exactly that long. Kept by
//! the registry across versions of a plugin, like the request budget.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// When the breaker opens and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerSettings {
    /// Failures in a row that open the circuit.
    pub failures_to_open: u32,
    /// How long it stays open before a probe.
    pub cool_down: Duration,
}

impl Default for BreakerSettings {
    fn default() -> Self {
        Self {
            failures_to_open: 5,
            cool_down: Duration::from_secs(30),
        }
    }
}

/// How a call went, for the breaker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    /// The CRM answered (even with a refusal of this one request).
    Healthy,
    /// The CRM or the plugin failed.
    Failed,
    /// The CRM asked for a pause.
    Pause(Duration),
    /// Says nothing about the CRM (e.g. the host's instance pool was full).
    Neutral,
}

/// What the breaker shows, for the admin view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum BreakerState {
    /// Calls go through.
    Closed {
        /// Failures in a row so far.
        failures: u32,
    },
    /// Calls are refused.
    Open {
        /// Milliseconds until a probe is let through.
        retry_in_ms: u64,
    },
    /// One probe call is deciding.
    HalfOpen,
}

#[derive(Debug)]
struct Inner {
    failures: u32,
    open_until: Option<Instant>,
    probing: bool,
}

/// The breaker.
#[derive(Debug)]
pub struct Breaker {
    settings: BreakerSettings,
    inner: Mutex<Inner>,
}

impl Default for Breaker {
    fn default() -> Self {
        Self::new(BreakerSettings::default())
    }
}

/// Leave to make one call; report its outcome with [`Permit::record`]. A
/// permit dropped unreported (the caller gave up) frees the probe slot.
#[derive(Debug)]
pub struct Permit<'a> {
    breaker: &'a Breaker,
    probe: bool,
    recorded: bool,
}

impl Permit<'_> {
    /// Reports how the call went.
    pub fn record(mut self, health: Health) {
        self.recorded = true;
        self.breaker.record(health, self.probe);
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        if !self.recorded && self.probe {
            self.breaker.lock().probing = false;
        }
    }
}

impl Breaker {
    /// A closed breaker.
    pub fn new(settings: BreakerSettings) -> Self {
        Self {
            settings,
            inner: Mutex::new(Inner {
                failures: 0,
                open_until: None,
                probing: false,
            }),
        }
    }

    /// Its settings.
    pub fn settings(&self) -> BreakerSettings {
        self.settings
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Leave to call, or how long until a call may be tried.
    pub fn check(&self) -> Result<Permit<'_>, Duration> {
        let mut inner = self.lock();
        let now = Instant::now();
        let probe = match inner.open_until {
            None => false,
            Some(until) if now < until => return Err(until - now),
            // Cool-down over: one probe at a time.
            Some(_) if inner.probing => return Err(Duration::from_millis(500)),
            Some(_) => {
                inner.probing = true;
                true
            }
        };
        Ok(Permit {
            breaker: self,
            probe,
            recorded: false,
        })
    }

    fn record(&self, health: Health, probe: bool) {
        let mut inner = self.lock();
        if probe {
            inner.probing = false;
        }
        match health {
            Health::Healthy => {
                if inner.open_until.is_some() {
                    tracing::info!("CRM answers again; circuit closed");
                }
                inner.failures = 0;
                inner.open_until = None;
            }
            Health::Failed => {
                inner.failures = inner.failures.saturating_add(1);
                if probe || inner.failures >= self.settings.failures_to_open {
                    if inner.open_until.is_none() || probe {
                        tracing::warn!(
                            failures = inner.failures,
                            cool_down_ms = self.settings.cool_down.as_millis() as u64,
                            "circuit opened: CRM calls paused"
                        );
                    }
                    inner.open_until = Some(Instant::now() + self.settings.cool_down);
                }
            }
            Health::Pause(wait) => {
                let until = Instant::now() + wait;
                if inner.open_until.is_none_or(|current| current < until) {
                    inner.open_until = Some(until);
                }
            }
            Health::Neutral => {}
        }
    }

    /// The current state.
    pub fn state(&self) -> BreakerState {
        let inner = self.lock();
        match inner.open_until {
            None => BreakerState::Closed {
                failures: inner.failures,
            },
            Some(until) => {
                let now = Instant::now();
                if now < until {
                    BreakerState::Open {
                        retry_in_ms: (until - now).as_millis() as u64,
                    }
                } else {
                    BreakerState::HalfOpen
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn breaker() -> Breaker {
        Breaker::new(BreakerSettings {
            failures_to_open: 3,
            cool_down: Duration::from_secs(10),
        })
    }

    fn fail(b: &Breaker) {
        b.check()
            .unwrap_or_else(|_| panic!("refused"))
            .record(Health::Failed);
    }

    #[tokio::test(start_paused = true)]
    async fn it_opens_after_failures_in_a_row_and_probes_after_the_cool_down() {
        let b = breaker();
        fail(&b);
        fail(&b);
        b.check()
            .unwrap_or_else(|_| panic!("refused"))
            .record(Health::Healthy);
        assert_eq!(b.state(), BreakerState::Closed { failures: 0 });
        for _ in 0..3 {
            fail(&b);
        }
        let wait = b.check().map(|_| ()).expect_err("should be open");
        assert_eq!(wait, Duration::from_secs(10));

        tokio::time::advance(Duration::from_secs(10)).await;
        assert_eq!(b.state(), BreakerState::HalfOpen);
        let probe = b.check().unwrap_or_else(|_| panic!("no probe"));
        // Only one probe at a time.
        assert!(b.check().is_err());
        // A failed probe reopens at once.
        probe.record(Health::Failed);
        assert!(matches!(b.state(), BreakerState::Open { .. }));

        tokio::time::advance(Duration::from_secs(10)).await;
        b.check()
            .unwrap_or_else(|_| panic!("no probe"))
            .record(Health::Healthy);
        assert_eq!(b.state(), BreakerState::Closed { failures: 0 });
    }

    #[tokio::test(start_paused = true)]
    async fn an_abandoned_probe_frees_the_slot() {
        let b = breaker();
        for _ in 0..3 {
            fail(&b);
        }
        tokio::time::advance(Duration::from_secs(10)).await;
        drop(b.check().unwrap_or_else(|_| panic!("no probe")));
        assert!(b.check().is_ok());
    }

    #[tokio::test(start_paused = true)]
    async fn retry_after_pauses_for_exactly_that_long_and_neutral_changes_nothing() {
        let b = breaker();
        b.check()
            .unwrap_or_else(|_| panic!("refused"))
            .record(Health::Pause(Duration::from_secs(7)));
        assert_eq!(
            b.check().map(|_| ()).expect_err("paused"),
            Duration::from_secs(7)
        );
        tokio::time::advance(Duration::from_secs(7)).await;
        let permit = b.check().unwrap_or_else(|_| panic!("no probe"));
        permit.record(Health::Neutral);
        assert_eq!(b.state(), BreakerState::HalfOpen);
    }
}
