//! Leads, the outbox: what customers confirmed, on its way to the CRM.

use super::*;
use crate::dialogues::set_dialogue;
use switchboard_crm::LeadType;

/// Where a lead stands in the outbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeadState {
    /// Not yet in the CRM; the worker will try (again).
    Pending,
    /// The CRM has it (`crm_id` is set).
    Delivered,
    /// The CRM refused it for good; an operator must look at it.
    Dead,
    /// An operator dropped it (`switchboard outbox drop`); kept for the record.
    Dropped,
}

impl LeadState {
    /// The name stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Dead => "dead",
            Self::Dropped => "dropped",
        }
    }

    /// Reads a stored name.
    pub fn parse(s: &str) -> Result<Self, StoreError> {
        match s {
            "pending" => Ok(Self::Pending),
            "delivered" => Ok(Self::Delivered),
            "dead" => Ok(Self::Dead),
            "dropped" => Ok(Self::Dropped),
            other => Err(StoreError::Corrupt {
                what: "lead state",
                reason: format!("unknown state `{other}`"),
            }),
        }
    }
}

/// A lead to record.
#[derive(Debug, Clone)]
pub struct NewLead {
    /// The chat it came from.
    pub chat_id: i64,
    /// The customer.
    pub user_id: i64,
    /// The lead itself (carries the idempotency key).
    pub lead: Lead,
    /// The plugin active when it was confirmed.
    pub plugin_id: String,
    /// That plugin's version.
    pub plugin_version: String,
    /// Until when the outbox worker leaves it alone because the caller is
    /// offering it to the CRM itself; `None`: due at once.
    pub claimed_until: Option<i64>,
    /// The Telegram update that confirmed it, stored with the chat's next
    /// state (see [`Store::set_dialogue_step`]).
    pub update_id: Option<i64>,
}

/// A recorded lead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeadRow {
    /// The host's own number for it.
    pub id: i64,
    /// The chat it came from.
    pub chat_id: i64,
    /// The customer.
    pub user_id: i64,
    /// Order, feedback or question.
    pub kind: LeadType,
    /// The lead.
    pub lead: Lead,
    /// Where it stands.
    pub state: LeadState,
    /// How many delivery attempts failed.
    pub attempts: u32,
    /// When the next attempt is due.
    pub next_attempt_at: i64,
    /// The last failure.
    pub last_error: Option<String>,
    /// The plugin that was active when it was confirmed.
    pub plugin_id: String,
    /// Its version.
    pub plugin_version: String,
    /// The CRM's id, once delivered.
    pub crm_id: Option<String>,
    /// The CRM's link, once delivered.
    pub crm_url: Option<String>,
    /// The last status seen in the CRM.
    pub status_name: Option<String>,
    /// Whether that status is final.
    pub status_final: Option<bool>,
    /// When it was confirmed.
    pub created_at: i64,
    /// How often the plugin trapped or timed out on it.
    pub plugin_faults: u32,
    /// Whether the customer is owed a message about it.
    pub followup: FollowUp,
}

/// Whether the customer is owed a message about a lead: they were told
/// "we'll confirm shortly" and the lead has since landed or died.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FollowUp {
    /// Nothing owed.
    None,
    /// A message is owed.
    Due,
    /// It was sent (or could not be, for good).
    Sent,
}

impl FollowUp {
    fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Due => "due",
            Self::Sent => "sent",
        }
    }

    fn parse(s: &str) -> Self {
        match s {
            "due" => Self::Due,
            "sent" => Self::Sent,
            _ => Self::None,
        }
    }
}

/// How an attempt to deliver a lead ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settle {
    /// The CRM has it.
    Delivered {
        /// The CRM's id.
        crm_id: String,
        /// The CRM's link.
        crm_url: Option<String>,
    },
    /// It failed and is tried again at `at`.
    Retry {
        /// Why.
        error: String,
        /// When.
        at: i64,
        /// True when the plugin itself failed (trap, deadline, memory).
        plugin_fault: bool,
    },
    /// Not attempted (circuit open, plugin not loaded); due again at `at`.
    Postpone {
        /// Why.
        reason: String,
        /// When.
        at: i64,
    },
    /// Refused for good.
    Dead {
        /// The CRM's or the plugin's message.
        error: String,
    },
}

const LEAD_COLUMNS: &str =
    "SELECT id, chat_id, user_id, kind, lead, state, attempts, next_attempt_at, last_error,
    plugin_id, plugin_version, crm_id, crm_url, status_name, status_final, created_at,
    plugin_faults, followup FROM leads";

fn lead_row(r: &AnyRow) -> Result<LeadRow, StoreError> {
    let text: String = r.try_get("lead")?;
    let lead = persisted::decode(&text).map_err(corrupt("lead"))?;
    let attempts: i64 = r.try_get("attempts")?;
    let state: String = r.try_get("state")?;
    Ok(LeadRow {
        id: r.try_get("id")?,
        chat_id: r.try_get("chat_id")?,
        user_id: r.try_get("user_id")?,
        kind: {
            let name: String = r.try_get("kind")?;
            LeadType::parse(&name).ok_or_else(|| corrupt("lead kind")(name))?
        },
        lead,
        state: LeadState::parse(&state)?,
        attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
        next_attempt_at: r.try_get("next_attempt_at")?,
        last_error: r.try_get("last_error")?,
        plugin_id: r.try_get("plugin_id")?,
        plugin_version: r.try_get("plugin_version")?,
        crm_id: r.try_get("crm_id")?,
        crm_url: r.try_get("crm_url")?,
        status_name: r.try_get("status_name")?,
        status_final: r.try_get::<Option<i32>, _>("status_final")?.map(|f| f != 0),
        created_at: r.try_get("created_at")?,
        plugin_faults: u32::try_from(r.try_get::<i64, _>("plugin_faults")?).unwrap_or(u32::MAX),
        followup: FollowUp::parse(&r.try_get::<String, _>("followup")?),
    })
}

impl Store {
    /// Records a confirmed lead and, in the same transaction, moves the chat
    /// to `next_state` and (for orders) empties its cart. Recording the same
    /// idempotency key twice returns the first row's id and changes nothing.
    pub async fn record_lead(
        &self,
        new: &NewLead,
        next_state: Option<&str>,
        clear_cart: bool,
    ) -> Result<i64, StoreError> {
        Ok(self.record_lead_once(new, next_state, clear_cart).await?.0)
    }

    /// Like [`Store::record_lead`], also saying whether this call recorded
    /// it (false: the key was known, e.g. a replayed update).
    pub async fn record_lead_once(
        &self,
        new: &NewLead,
        next_state: Option<&str>,
        clear_cart: bool,
    ) -> Result<(i64, bool), StoreError> {
        let now = now_ms();
        let lead_json = persisted::encode(&new.lead);
        // Write first (see `cart_change`); a known key inserts nothing.
        let mut conn = self.writer.acquire().await?;
        let sqlite = self.backend == Backend::Sqlite;
        if sqlite {
            sqlx::query("PRAGMA synchronous = FULL")
                .execute(&mut *conn)
                .await?;
        }
        let result = Self::insert_lead(
            &mut conn,
            new,
            &self.host_id,
            &lead_json,
            now,
            next_state,
            clear_cart,
        )
        .await;
        if sqlite {
            // The writer is held for the store's life: restore the default
            // for ordinary steps. (A call cut off in between leaves it at
            // FULL, safer and slower, until the next lead restores it.)
            sqlx::query("PRAGMA synchronous = NORMAL")
                .execute(&mut *conn)
                .await?;
        }
        result
    }

    async fn insert_lead(
        conn: &mut sqlx::AnyConnection,
        new: &NewLead,
        host_id: &str,
        lead_json: &str,
        now: i64,
        next_state: Option<&str>,
        clear_cart: bool,
    ) -> Result<(i64, bool), StoreError> {
        use sqlx::Connection;
        let mut tx = conn.begin().await?;
        let inserted = sqlx::query(
            "INSERT INTO leads (chat_id, user_id, kind, lead, idempotency_key, plugin_id, plugin_version,
                                state, attempts, next_attempt_at, claimed_until, claimed_by, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, $9, $10, $11, $12, $13)
             ON CONFLICT (idempotency_key) DO NOTHING
             RETURNING id",
        )
        .bind(new.chat_id)
        .bind(new.user_id)
        .bind(new.lead.kind.name())
        .bind(lead_json)
        .bind(&new.lead.idempotency_key)
        .bind(&new.plugin_id)
        .bind(&new.plugin_version)
        .bind(LeadState::Pending.as_str())
        .bind(now)
        .bind(new.claimed_until)
        .bind(new.claimed_until.map(|_| host_id))
        .bind(now)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = inserted else {
            let row = sqlx::query("SELECT id FROM leads WHERE idempotency_key = $1")
                .bind(&new.lead.idempotency_key)
                .fetch_one(&mut *tx)
                .await?;
            return Ok((row.try_get("id")?, false));
        };
        let id: i64 = row.try_get("id")?;
        if let Some(state) = next_state {
            set_dialogue(&mut *tx, new.chat_id, state, new.update_id).await?;
        }
        if clear_cart {
            sqlx::query("DELETE FROM cart_items WHERE chat_id = $1")
                .bind(new.chat_id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok((id, true))
    }

    /// The lead recorded with an idempotency key, if any.
    pub async fn lead_by_key(&self, key: &str) -> Result<Option<LeadRow>, StoreError> {
        let row = sqlx::query(&format!("{LEAD_COLUMNS} WHERE idempotency_key = $1"))
            .bind(key)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(lead_row).transpose()
    }

    /// One lead by the host's id.
    pub async fn lead(&self, id: i64) -> Result<Option<LeadRow>, StoreError> {
        let row = sqlx::query(&format!("{LEAD_COLUMNS} WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(lead_row).transpose()
    }

    /// A customer's leads of one kind, newest first.
    pub async fn leads_of(
        &self,
        user_id: i64,
        kind: LeadType,
        limit: i64,
    ) -> Result<Vec<LeadRow>, StoreError> {
        let rows = sqlx::query(&format!(
            "{LEAD_COLUMNS} WHERE user_id = $1 AND kind = $2 ORDER BY created_at DESC, id DESC LIMIT $3"
        ))
        .bind(user_id)
        .bind(kind.name())
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(lead_row).collect()
    }

    /// Pending leads whose next attempt is due, oldest first.
    pub async fn due_leads(&self, now: i64, limit: i64) -> Result<Vec<LeadRow>, StoreError> {
        let rows = sqlx::query(&format!(
            "{LEAD_COLUMNS} WHERE state = $1 AND next_attempt_at <= $2 ORDER BY next_attempt_at, id LIMIT $3"
        ))
        .bind(LeadState::Pending.as_str())
        .bind(now)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(lead_row).collect()
    }

    /// Marks a lead delivered with the CRM's id and link.
    pub async fn mark_delivered(
        &self,
        id: i64,
        crm_id: &str,
        crm_url: Option<&str>,
    ) -> Result<(), StoreError> {
        let outcome = Settle::Delivered {
            crm_id: crm_id.to_string(),
            crm_url: crm_url.map(str::to_string),
        };
        self.settle(id, &outcome, false).await
    }

    /// Records a failed attempt; the lead stays pending until `next_attempt_at`.
    pub async fn mark_retry(
        &self,
        id: i64,
        error: &str,
        next_attempt_at: i64,
    ) -> Result<(), StoreError> {
        let outcome = Settle::Retry {
            error: error.to_string(),
            at: next_attempt_at,
            plugin_fault: false,
        };
        self.settle(id, &outcome, false).await
    }

    /// Gives up on a lead (the CRM refused it for good).
    pub async fn mark_dead(&self, id: i64, error: &str) -> Result<(), StoreError> {
        let outcome = Settle::Dead {
            error: error.to_string(),
        };
        self.settle(id, &outcome, false).await
    }

    /// Records how a delivery attempt ended. With `follow_up`, a delivered
    /// or dead lead is marked as owing the customer a message. Only a
    /// pending lead changes: an operator may have dropped it meanwhile.
    pub async fn settle(
        &self,
        id: i64,
        outcome: &Settle,
        follow_up: bool,
    ) -> Result<(), StoreError> {
        let now = now_ms();
        let followup = if follow_up {
            FollowUp::Due
        } else {
            FollowUp::None
        };
        let query = match outcome {
            Settle::Delivered { crm_id, crm_url } => sqlx::query(
                "UPDATE leads SET state = $1, crm_id = $2, crm_url = $3, last_error = NULL,
                 followup = $4, claimed_until = NULL, updated_at = $5 WHERE id = $6 AND state = 'pending'",
            )
            .bind(LeadState::Delivered.as_str())
            .bind(crm_id.clone())
            .bind(crm_url.clone())
            .bind(followup.as_str())
            .bind(now)
            .bind(id),
            Settle::Retry {
                error,
                at,
                plugin_fault,
            } => sqlx::query(
                "UPDATE leads SET attempts = attempts + 1, plugin_faults = plugin_faults + $1,
                 last_error = $2, next_attempt_at = $3, claimed_until = NULL, updated_at = $4
                 WHERE id = $5 AND state = 'pending'",
            )
            .bind(i64::from(*plugin_fault))
            .bind(error.clone())
            .bind(*at)
            .bind(now)
            .bind(id),
            Settle::Postpone { reason, at } => sqlx::query(
                "UPDATE leads SET last_error = $1, next_attempt_at = $2, claimed_until = NULL,
                 updated_at = $3 WHERE id = $4 AND state = 'pending'",
            )
            .bind(reason.clone())
            .bind(*at)
            .bind(now)
            .bind(id),
            Settle::Dead { error } => sqlx::query(
                "UPDATE leads SET state = $1, attempts = attempts + 1, last_error = $2,
                 followup = $3, claimed_until = NULL, updated_at = $4 WHERE id = $5 AND state = 'pending'",
            )
            .bind(LeadState::Dead.as_str())
            .bind(error.clone())
            .bind(followup.as_str())
            .bind(now)
            .bind(id),
        };
        query.execute(&mut *self.writer.acquire().await?).await?;
        Ok(())
    }

    /// Takes up to `limit` due pending leads for delivery: each one is
    /// claimed until `lease_until`, so no other worker (or a second pass of
    /// this one) sends it while this attempt runs; after a crash of another
    /// host it is due again when the claim ends, and this host's own claims
    /// from before a restart are released by [`Store::release_claims`].
    pub async fn claim_due(
        &self,
        now: i64,
        limit: i64,
        lease_until: i64,
    ) -> Result<Vec<LeadRow>, StoreError> {
        let mut conn = self.writer.acquire().await?;
        let mut tx = sqlx::Connection::begin(&mut *conn).await?;
        // Write first (see `cart_change`).
        let claimed = sqlx::query(
            "UPDATE leads SET claimed_until = $1, claimed_by = $2 WHERE id IN (
                 SELECT id FROM leads WHERE state = 'pending' AND next_attempt_at <= $3
                 AND (claimed_until IS NULL OR claimed_until <= $4)
                 ORDER BY next_attempt_at, id LIMIT $5)
             RETURNING id",
        )
        .bind(lease_until)
        .bind(&*self.host_id)
        .bind(now)
        .bind(now)
        .bind(limit)
        .fetch_all(&mut *tx)
        .await?;
        let mut rows = Vec::with_capacity(claimed.len());
        for row in &claimed {
            let id: i64 = row.try_get("id")?;
            let lead = sqlx::query(&format!("{LEAD_COLUMNS} WHERE id = $1"))
                .bind(id)
                .fetch_one(&mut *tx)
                .await?;
            rows.push(lead_row(&lead)?);
        }
        tx.commit().await?;
        rows.sort_by_key(|r| (r.next_attempt_at, r.id));
        Ok(rows)
    }

    /// Releases this host's claims on pending leads (and claims with no
    /// recorded host): at start, the claims of this host's previous run
    /// (killed mid-attempt) are void. Another host's claims are left to run
    /// out. Returns how many were released.
    /// An attempt cut off mid-flight may still land in the CRM, so those
    /// leads are not due before `in_doubt_until` (see
    /// the outbox's `RetryPolicy::in_doubt`).
    pub async fn release_claims(&self, in_doubt_until: i64) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "UPDATE leads SET claimed_until = NULL,
                 next_attempt_at = CASE WHEN next_attempt_at < $1 THEN $1 ELSE next_attempt_at END
             WHERE state = 'pending' AND claimed_until IS NOT NULL
               AND (claimed_by = $2 OR claimed_by IS NULL)",
        )
        .bind(in_doubt_until)
        .bind(&*self.host_id)
        .execute(&mut *self.writer.acquire().await?)
        .await?;
        Ok(done.rows_affected())
    }

    /// Leads whose customer is owed a message, oldest first, with the
    /// customer's language.
    pub async fn followups_due(
        &self,
        limit: i64,
    ) -> Result<Vec<(LeadRow, Option<String>)>, StoreError> {
        let rows = sqlx::query(&format!(
            "{LEAD_COLUMNS} WHERE followup = 'due' ORDER BY updated_at, id LIMIT $1"
        ))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            let lead = lead_row(row)?;
            let language = match self.customer(lead.user_id).await? {
                Some(c) => c.telegram.language,
                None => None,
            };
            out.push((lead, language));
        }
        Ok(out)
    }

    /// The customer's message about a lead was sent (or given up on).
    pub async fn followup_sent(&self, id: i64) -> Result<(), StoreError> {
        sqlx::query("UPDATE leads SET followup = 'sent', updated_at = $1 WHERE id = $2")
            .bind(now_ms())
            .bind(id)
            .execute(&mut *self.writer.acquire().await?)
            .await?;
        Ok(())
    }

    /// Leads in one state (all states when `None`), newest first.
    pub async fn outbox(
        &self,
        state: Option<LeadState>,
        limit: i64,
    ) -> Result<Vec<LeadRow>, StoreError> {
        let rows = match state {
            Some(state) => {
                sqlx::query(&format!(
                    "{LEAD_COLUMNS} WHERE state = $1 ORDER BY id DESC LIMIT $2"
                ))
                .bind(state.as_str())
                .bind(limit)
                .fetch_all(&self.pool)
                .await?
            }
            None => {
                sqlx::query(&format!("{LEAD_COLUMNS} ORDER BY id DESC LIMIT $1"))
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await?
            }
        };
        rows.iter().map(lead_row).collect()
    }

    /// How many leads are in each state.
    pub async fn outbox_counts(&self) -> Result<Vec<(LeadState, i64)>, StoreError> {
        let rows =
            sqlx::query("SELECT state, COUNT(*) AS n FROM leads GROUP BY state ORDER BY state")
                .fetch_all(&self.pool)
                .await?;
        rows.iter()
            .map(|r| {
                let state: String = r.try_get("state")?;
                Ok((LeadState::parse(&state)?, r.try_get::<i64, _>("n")?))
            })
            .collect()
    }

    /// Puts a dead (or pending) lead back in line, due at once, with its
    /// plugin-fault count cleared. False when there is no such lead or it
    /// was delivered or dropped.
    pub async fn retry_lead(&self, id: i64) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE leads SET state = 'pending', next_attempt_at = $1, plugin_faults = 0,
             followup = 'none', claimed_until = NULL, updated_at = $2
             WHERE id = $3 AND state IN ('pending', 'dead')",
        )
        .bind(now_ms())
        .bind(now_ms())
        .bind(id)
        .execute(&mut *self.writer.acquire().await?)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Puts every dead lead back in line; returns how many.
    pub async fn retry_dead(&self) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "UPDATE leads SET state = 'pending', next_attempt_at = $1, plugin_faults = 0,
             followup = 'none', updated_at = $2 WHERE state = 'dead'",
        )
        .bind(now_ms())
        .bind(now_ms())
        .execute(&mut *self.writer.acquire().await?)
        .await?;
        Ok(done.rows_affected())
    }

    /// Stops delivering a pending or dead lead; the row is kept. False when
    /// there is no such lead or it was delivered.
    pub async fn drop_lead(&self, id: i64) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE leads SET state = 'dropped', followup = 'none', updated_at = $1
             WHERE id = $2 AND state IN ('pending', 'dead')",
        )
        .bind(now_ms())
        .bind(id)
        .execute(&mut *self.writer.acquire().await?)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// The plugin ids that pending leads were made with.
    pub async fn pending_plugins(&self) -> Result<Vec<String>, StoreError> {
        let rows = sqlx::query("SELECT DISTINCT plugin_id FROM leads WHERE state = 'pending'")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| Ok(r.try_get::<String, _>("plugin_id")?))
            .collect()
    }

    /// Remembers the last status the CRM reported for a lead.
    pub async fn set_lead_status(
        &self,
        id: i64,
        name: &str,
        is_final: bool,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE leads SET status_name = $1, status_final = $2, updated_at = $3 WHERE id = $4",
        )
        .bind(name)
        .bind(i32::from(is_final))
        .bind(now_ms())
        .bind(id)
        .execute(&mut *self.writer.acquire().await?)
        .await?;
        Ok(())
    }
}
