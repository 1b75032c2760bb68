//! The outbox worker: delivers every confirmed lead to the CRM, exactly once
//! where the CRM allows it, whatever the CRM or the plugin does meanwhile.
//!
//! A lead is written to the store in the same transaction as the dialogue
//! step that confirmed it (see [`switchboard_store::Store::record_lead`]). The
//! dialogue offers it to the CRM at once, holding a lease on the row; when
//! that fails, or the host crashed before it finished, the row is due here.
//!
//! # Which plugin delivers a lead
//! A lead goes to the plugin id recorded on its row: the CRM the customer
//! ordered from. After a swap to another CRM the old plugin stays loaded as a
//! standby until its leads are delivered ([`switchboard_plugin_runtime::Registry::for_id`]);
//! after a restart the host loads it again from the config. A new version of
//! the same plugin id delivers its predecessor's leads. If the plugin id is
//! no longer configured, its leads wait (shown by `switchboard outbox list`).
//!
//! # Retry policy
//! - `unavailable`, a deadline, a trap, an exhausted memory limit: retried
//!   with exponential backoff and jitter ([`RetryPolicy`]); after a deadline
//!   not sooner than `in_doubt`, since the CRM may still be creating the
//!   lead and the retry's lookup must be able to see it. A plugin that
//!   fails on the same lead `max_plugin_faults` times dead-letters it, so a
//!   poison lead cannot keep tripping the circuit breaker.
//! - `rate-limited(secs)`: retried after exactly that long (the plugin's
//!   circuit breaker also pauses every other call for it).
//! - `invalid-request`, `unauthorized`, `not-found`, `unsupported`: dead
//!   letter, with the CRM's message, an error in the log, and a line in
//!   `switchboard outbox list` and the admin view.
//! - circuit open or plugin not loaded: postponed without counting an attempt.
//!
//! The customer who was told "we'll confirm shortly" gets a follow-up when
//! the lead lands or dies (`followup` on the row; sent by the dialogue).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Notify, Semaphore, watch};

use switchboard_crm::{CrmError, LeadRef};
use switchboard_plugin_runtime::{CallError, Registry};
use switchboard_store::{LeadRow, Settle, Store, StoreError, now_ms};

/// How failed deliveries are retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The first retry's delay.
    pub base: Duration,
    /// The longest delay between attempts.
    pub max: Duration,
    /// Plugin faults on one lead before it is dead-lettered.
    pub max_plugin_faults: u32,
    /// How long a claimed lead is left to its attempt before another may
    /// take it (longer than any plugin deadline).
    pub lease: Duration,
    /// How many leads are delivered at once.
    pub concurrency: usize,
    /// How often due leads are looked for when nothing wakes the worker.
    pub tick: Duration,
    /// The least delay after an attempt that ran out of time: the CRM may
    /// still be working on it, and the retry's idempotency lookup can only
    /// find a lead the CRM has finished creating.
    pub in_doubt: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            base: Duration::from_secs(2),
            max: Duration::from_secs(300),
            max_plugin_faults: 5,
            lease: Duration::from_secs(120),
            concurrency: 4,
            tick: Duration::from_secs(1),
            in_doubt: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// The delay before the next attempt after `attempts` failed ones:
    /// `base * 2^attempts`, capped at `max`, then jittered into its upper
    /// half so that leads failed together do not retry together.
    pub fn delay(&self, attempts: u32) -> Duration {
        let exp = self
            .base
            .saturating_mul(1u32.checked_shl(attempts.min(31)).unwrap_or(u32::MAX))
            .min(self.max);
        let half = exp / 2;
        half + half.mul_f64(rand::random::<f64>())
    }
}

/// What a delivery attempt's result means for the row.
pub fn judge(
    result: &Result<LeadRef, CallError>,
    row_attempts: u32,
    row_plugin_faults: u32,
    policy: &RetryPolicy,
    now: i64,
) -> Settle {
    let after = |d: Duration| now.saturating_add(d.as_millis() as i64);
    match result {
        Ok(created) => Settle::Delivered {
            crm_id: created.id.clone(),
            crm_url: created.url.clone(),
        },
        Err(CallError::CircuitOpen { retry_in_ms, .. }) => Settle::Postpone {
            reason: result_text(result),
            at: now.saturating_add((*retry_in_ms).max(100) as i64),
        },
        Err(CallError::NoActivePlugin) => Settle::Postpone {
            reason: result_text(result),
            at: after(Duration::from_secs(30)),
        },
        Err(CallError::Crm { error, .. }) => match error {
            CrmError::RateLimited(secs) => Settle::Retry {
                error: result_text(result),
                at: after(Duration::from_secs(u64::from(*secs).max(1))),
                plugin_fault: false,
            },
            CrmError::Unavailable(_) => Settle::Retry {
                error: result_text(result),
                at: after(policy.delay(row_attempts)),
                plugin_fault: false,
            },
            CrmError::InvalidRequest(_)
            | CrmError::Unauthorized(_)
            | CrmError::NotFound(_)
            | CrmError::Unsupported(_) => Settle::Dead {
                error: result_text(result),
            },
        },
        Err(e) if e.is_plugin_fault() => {
            if row_plugin_faults + 1 >= policy.max_plugin_faults {
                Settle::Dead {
                    error: format!(
                        "the plugin failed on this lead {} times; last: {e}",
                        row_plugin_faults + 1
                    ),
                }
            } else {
                let delay = policy.delay(row_attempts);
                let delay = if matches!(e, CallError::Timeout { .. }) {
                    delay.max(policy.in_doubt)
                } else {
                    delay
                };
                Settle::Retry {
                    error: e.to_string(),
                    at: after(delay),
                    plugin_fault: true,
                }
            }
        }
        Err(e) => Settle::Retry {
            error: e.to_string(),
            at: after(policy.delay(row_attempts)),
            plugin_fault: false,
        },
    }
}

fn result_text(result: &Result<LeadRef, CallError>) -> String {
    match result {
        Ok(created) => format!("delivered as {}", created.id),
        Err(e) => e.to_string(),
    }
}

/// Whether the customer is owed a message once the worker settles a lead:
/// an order that landed or died, or any lead that died (the customer was
/// told it was received).
pub fn owes_followup(row: &LeadRow, outcome: &Settle) -> bool {
    match outcome {
        Settle::Delivered { .. } => row.kind == switchboard_crm::LeadType::Order,
        Settle::Dead { .. } => true,
        Settle::Retry { .. } | Settle::Postpone { .. } => false,
    }
}

/// The worker.
#[derive(Clone)]
pub struct Outbox {
    store: Store,
    registry: Arc<Registry>,
    policy: RetryPolicy,
    wake: Arc<Notify>,
    followups: Arc<Notify>,
}

impl Outbox {
    /// A worker over the store and the plugins; `followups` is notified
    /// when a customer is owed a message.
    pub fn new(
        store: Store,
        registry: Arc<Registry>,
        policy: RetryPolicy,
        followups: Arc<Notify>,
    ) -> Self {
        Self {
            store,
            registry,
            policy,
            wake: Arc::new(Notify::new()),
            followups,
        }
    }

    /// Notify this to make the worker look for due leads now.
    pub fn waker(&self) -> Arc<Notify> {
        Arc::clone(&self.wake)
    }

    /// Runs until `stop` turns true; the attempts in flight finish first.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        // Attempts that a killed process left claimed are void now.
        let in_doubt_until = now_ms().saturating_add(self.policy.in_doubt.as_millis() as i64);
        match self.store.release_claims(in_doubt_until).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(
                leads = n,
                "outbox: released attempts cut off by the last stop"
            ),
            Err(e) => tracing::error!(error = %e, "outbox: cannot release old claims"),
        }
        loop {
            let full = match self.pass().await {
                Ok(n) => n >= self.batch(),
                Err(e) => {
                    tracing::error!(error = %e, "outbox: cannot read the store");
                    false
                }
            };
            if *stop.borrow() {
                break;
            }
            if full {
                continue;
            }
            tokio::select! {
                _ = stop.wait_for(|s| *s) => break,
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(self.policy.tick) => {}
            }
        }
        tracing::info!("outbox worker stopped");
    }

    fn batch(&self) -> usize {
        self.policy.concurrency * 8
    }

    /// Claims the due leads and attempts each once. Returns how many.
    pub async fn pass(&self) -> Result<usize, StoreError> {
        let now = now_ms();
        let lease_until = now.saturating_add(self.policy.lease.as_millis() as i64);
        let rows = self
            .store
            .claim_due(now, self.batch() as i64, lease_until)
            .await?;
        let count = rows.len();
        let limit = Arc::new(Semaphore::new(self.policy.concurrency.max(1)));
        let mut tasks = tokio::task::JoinSet::new();
        for row in rows {
            let this = self.clone();
            let limit = Arc::clone(&limit);
            tasks.spawn(async move {
                let _slot = limit.acquire().await;
                this.deliver(row).await;
            });
        }
        while let Some(done) = tasks.join_next().await {
            if let Err(e) = done {
                tracing::error!(error = %e, "outbox: a delivery task failed");
            }
        }
        Ok(count)
    }

    async fn deliver(&self, row: LeadRow) {
        let plugin = if row.plugin_id.is_empty() {
            self.registry.active().ok()
        } else {
            self.registry.for_id(&row.plugin_id)
        };
        let outcome = match plugin {
            None => Settle::Postpone {
                reason: format!("plugin `{}` is not loaded", row.plugin_id),
                at: now_ms() + 60_000,
            },
            Some(plugin) => {
                let result = plugin
                    // Every lead here may have been offered before (the
                    // dialogue's attempt, or one cut off by a crash).
                    .create_lead_attempt(&row.lead, row.attempts.max(1) + 1, row.created_at)
                    .await;
                judge(
                    &result,
                    row.attempts,
                    row.plugin_faults,
                    &self.policy,
                    now_ms(),
                )
            }
        };
        match &outcome {
            Settle::Delivered { crm_id, .. } => {
                tracing::info!(lead = row.id, plugin = %row.plugin_id, crm_id = %crm_id, attempts = row.attempts + 1, "outbox: lead delivered");
            }
            Settle::Dead { error } => {
                tracing::error!(lead = row.id, plugin = %row.plugin_id, kind = %row.kind, error = %error, "ALERT outbox: lead dead-lettered; see `switchboard outbox list`");
            }
            Settle::Retry { error, at, .. } => {
                tracing::warn!(lead = row.id, plugin = %row.plugin_id, error = %error, retry_in_ms = at - now_ms(), "outbox: delivery failed; will retry");
            }
            Settle::Postpone { reason, .. } => {
                tracing::debug!(lead = row.id, plugin = %row.plugin_id, reason = %reason, "outbox: delivery postponed");
            }
        }
        let followup = owes_followup(&row, &outcome);
        match self.store.settle(row.id, &outcome, followup).await {
            Ok(()) if followup => self.followups.notify_one(),
            Ok(()) => {}
            // The lease runs out and the lead is tried again; with the
            // plugin's idempotency lookup that does not duplicate it.
            Err(e) => {
                tracing::error!(lead = row.id, error = %e, "outbox: cannot record a delivery outcome")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crm(error: CrmError) -> Result<LeadRef, CallError> {
        Err(CallError::Crm {
            plugin: "keycrm".into(),
            error,
        })
    }

    #[test]
    fn delays_grow_exponentially_with_jitter_and_are_capped() {
        let p = RetryPolicy::default();
        for _ in 0..100 {
            let d0 = p.delay(0);
            assert!(
                d0 >= Duration::from_secs(1) && d0 <= Duration::from_secs(2),
                "{d0:?}"
            );
            let d3 = p.delay(3);
            assert!(
                d3 >= Duration::from_secs(8) && d3 <= Duration::from_secs(16),
                "{d3:?}"
            );
            let d40 = p.delay(40);
            assert!(
                d40 >= Duration::from_secs(150) && d40 <= Duration::from_secs(300),
                "{d40:?}"
            );
        }
        let spread: std::collections::HashSet<u128> =
            (0..20).map(|_| p.delay(5).as_millis()).collect();
        assert!(spread.len() > 10, "no jitter: {spread:?}");
    }

    #[test]
    fn each_error_gets_its_treatment() {
        let p = RetryPolicy::default();
        let now = 1_000_000;
        assert!(matches!(
            judge(&crm(CrmError::RateLimited(7)), 0, 0, &p, now),
            Settle::Retry { at, plugin_fault: false, .. } if at == now + 7_000
        ));
        assert!(matches!(
            judge(&crm(CrmError::Unavailable("503".into())), 2, 0, &p, now),
            Settle::Retry { at, plugin_fault: false, .. } if (now + 4_000..=now + 8_000).contains(&at)
        ));
        for refusal in [
            CrmError::InvalidRequest("phone is invalid".into()),
            CrmError::Unauthorized("bad key".into()),
            CrmError::NotFound("pipeline".into()),
            CrmError::Unsupported("no leads".into()),
        ] {
            match judge(&crm(refusal), 0, 0, &p, now) {
                Settle::Dead { error } => assert!(error.contains("keycrm"), "{error}"),
                other => panic!("{other:?}"),
            }
        }
        let trap = Err(CallError::Trap {
            plugin: "keycrm".into(),
            operation: "create-lead",
            reason: "unreachable".into(),
        });
        assert!(matches!(
            judge(&trap, 0, 3, &p, now),
            Settle::Retry {
                plugin_fault: true,
                ..
            }
        ));
        match judge(&trap, 4, 4, &p, now) {
            Settle::Dead { error } => assert!(error.contains("5 times"), "{error}"),
            other => panic!("{other:?}"),
        }
        let open = Err(CallError::CircuitOpen {
            plugin: "keycrm".into(),
            operation: "create-lead",
            retry_in_ms: 2_500,
        });
        assert!(matches!(
            judge(&open, 9, 0, &p, now),
            Settle::Postpone { at, .. } if at == now + 2_500
        ));
        let created = Ok(LeadRef {
            id: "1001".into(),
            url: None,
        });
        assert_eq!(
            judge(&created, 3, 0, &p, now),
            Settle::Delivered {
                crm_id: "1001".into(),
                crm_url: None
            }
        );
    }
}
