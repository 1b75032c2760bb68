//! # The store
//!
//! The durable store: customers, dialogue states, carts, leads (the outbox),
//! catalog snapshots and small settings.
//!
//! One code path serves SQLite (the embedded default) and PostgreSQL through
//! `sqlx::Any`; the SQL is written in the subset both understand (numbered
//! `$N` parameters in increasing order, `RETURNING`), and only the schema
//! differs (`migrations/sqlite`, `migrations/postgres`). Times are Unix
//! milliseconds.
//!
//! SQLite runs in WAL mode. Ordinary dialogue steps commit with
//! `synchronous = NORMAL`: they survive a crash of the process (`kill -9`)
//! and the database stays consistent on a power cut, without an fsync per
//! button press. A confirmed lead is committed with `synchronous = FULL`, so
//! it also survives a power cut: "no confirmed order is ever lost". Readers
//! never block the writer.

use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sqlx::any::{AnyConnectOptions, AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Row};

use switchboard_crm::Lead;

pub mod persisted;

/// The migrations of each backend, embedded in the binary.
static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// How long a writer waits for SQLite's lock before `SQLITE_BUSY`.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// A storage failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The URL names no supported database.
    #[error("config key `storage.url`: {0}")]
    Url(String),
    /// The database refused or failed.
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    /// The schema could not be brought up to date.
    #[error("migrating the database: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A stored value could not be read back.
    #[error("corrupt {what} in the database: {reason}")]
    Corrupt {
        /// What was being read.
        what: &'static str,
        /// Why it failed.
        reason: String,
    },
}

/// Which database is behind the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite, a file or in memory.
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// A Telegram user as the update describes them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TelegramUser {
    /// The user id.
    pub user_id: i64,
    /// Their private chat with the bot.
    pub chat_id: i64,
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: Option<String>,
    /// Username without `@`.
    pub username: Option<String>,
    /// The client's language code.
    pub language: Option<String>,
}

/// A customer on file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Customer {
    /// What Telegram says.
    pub telegram: TelegramUser,
    /// The name the customer gave for orders, if they changed it.
    pub full_name: Option<String>,
    /// Their phone in E.164.
    pub phone: Option<String>,
    /// Their e-mail.
    pub email: Option<String>,
}

impl Customer {
    /// The name to put on leads.
    pub fn display_name(&self) -> String {
        if let Some(name) = &self.full_name {
            return name.clone();
        }
        match &self.telegram.last_name {
            Some(last) => format!("{} {last}", self.telegram.first_name),
            None => self.telegram.first_name.clone(),
        }
    }
}

/// A customer field the customer can edit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContactField {
    /// `full_name`.
    FullName,
    /// `phone`.
    Phone,
    /// `email`.
    Email,
}

impl ContactField {
    fn column(self) -> &'static str {
        match self {
            Self::FullName => "full_name",
            Self::Phone => "phone",
            Self::Email => "email",
        }
    }
}

/// One line of a cart, with the product as the customer saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CartItem {
    /// The CRM's product id.
    pub product_id: String,
    /// The name.
    pub name: String,
    /// The SKU.
    pub sku: Option<String>,
    /// The unit price.
    pub price: switchboard_crm::Money,
    /// The picture.
    pub image_url: Option<String>,
    /// How many, at least 1.
    pub quantity: u32,
    /// The plugin whose catalog the product is from (`None` on lines
    /// stored before plugins were recorded).
    pub plugin_id: Option<String>,
}

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

/// A chat's stored dialogue state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredDialogue {
    /// The serialized state.
    pub state: String,
    /// The Telegram update whose step stored it (`None`: stored outside a
    /// step, or before this was recorded).
    pub update_id: Option<i64>,
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
#[derive(Debug, Clone)]
pub struct LeadRow {
    /// The host's own number for it.
    pub id: i64,
    /// The chat it came from.
    pub chat_id: i64,
    /// The customer.
    pub user_id: i64,
    /// `order`, `feedback` or `question`.
    pub kind: String,
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

/// How a lead's kind is stored: `order`, `feedback` or `question`.
pub fn kind_name(kind: &switchboard_crm::LeadKind) -> &'static str {
    kind.name()
}

fn corrupt(what: &'static str) -> impl FnOnce(String) -> StoreError {
    move |reason| StoreError::Corrupt { what, reason }
}

/// A received update, as kept in the inbox until it is handled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxUpdate {
    /// Telegram's update id.
    pub update_id: i64,
    /// Its chat, if any.
    pub chat_id: Option<i64>,
    /// The update as JSON.
    pub body: String,
}

/// The store.
#[derive(Debug, Clone)]
pub struct Store {
    /// Reads run here, concurrently.
    pool: AnyPool,
    /// Writes run here. For a SQLite file this is one connection, so writers
    /// queue in tokio instead of in SQLite's busy handler, which sleeps for
    /// milliseconds at a time; otherwise it is `pool`.
    writer: AnyPool,
    backend: Backend,
}

impl Store {
    /// Opens (creating if needed) and migrates the database at `url`:
    /// `sqlite://path.db`, `sqlite::memory:` or `postgres://…`.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            return Err(StoreError::Url(format!(
                "`{}` is neither sqlite://… nor postgres://…",
                switchboard_crm::truncate(url, 40)
            )));
        };
        let url = match backend {
            // Create the file on first start.
            Backend::Sqlite if !url.contains("mode=") && !url.contains(":memory:") => {
                format!("{url}{}mode=rwc", if url.contains('?') { '&' } else { '?' })
            }
            _ => url.to_string(),
        };
        let options =
            AnyConnectOptions::from_str(&url).map_err(|e| StoreError::Url(e.to_string()))?;
        let memory = url.contains(":memory:");
        let pool = pool_options(backend, memory, if memory { 1 } else { 4 })
            .connect_with(options.clone())
            .await?;
        let writer = if backend == Backend::Sqlite && !memory {
            pool_options(backend, memory, 1)
                .connect_with(options)
                .await?
        } else {
            pool.clone()
        };
        match backend {
            Backend::Sqlite => SQLITE_MIGRATIONS.run(&writer).await?,
            Backend::Postgres => POSTGRES_MIGRATIONS.run(&writer).await?,
        }
        Ok(Self {
            pool,
            writer,
            backend,
        })
    }

    /// Folds SQLite's write-ahead log into the database file and empties
    /// it (a no-op on PostgreSQL).
    pub async fn checkpoint(&self) -> Result<(), StoreError> {
        if self.backend == Backend::Sqlite {
            sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                .execute(&self.writer)
                .await?;
        }
        Ok(())
    }

    /// Bytes a SQLite file keeps in use: its pages less the free ones that
    /// deleted rows (handled updates, emptied carts) leave for reuse.
    /// `None` on PostgreSQL.
    pub async fn sqlite_bytes_in_use(&self) -> Result<Option<u64>, StoreError> {
        if self.backend != Backend::Sqlite {
            return Ok(None);
        }
        let mut total = [0i64; 3];
        for (i, pragma) in ["page_count", "freelist_count", "page_size"]
            .iter()
            .enumerate()
        {
            let row = sqlx::query(&format!("PRAGMA {pragma}"))
                .fetch_one(&self.writer)
                .await?;
            total[i] = row.try_get(0)?;
        }
        let [pages, free, size] = total;
        Ok(Some(u64::try_from((pages - free) * size).unwrap_or(0)))
    }

    /// Which database this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Closes every connection.
    pub async fn close(&self) {
        self.writer.close().await;
        self.pool.close().await;
    }

    // --- customers -------------------------------------------------------

    /// Records what Telegram says about a user (new or changed), keeping
    /// what the customer told us, and returns the customer.
    pub async fn upsert_customer(&self, user: &TelegramUser) -> Result<Customer, StoreError> {
        let now = now_ms();
        sqlx::query(
            "INSERT INTO customers (user_id, chat_id, first_name, last_name, username, language, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
             ON CONFLICT (user_id) DO UPDATE SET
                chat_id = excluded.chat_id, first_name = excluded.first_name,
                last_name = excluded.last_name, username = excluded.username,
                language = excluded.language, updated_at = excluded.updated_at",
        )
        .bind(user.user_id)
        .bind(user.chat_id)
        .bind(&user.first_name)
        .bind(&user.last_name)
        .bind(&user.username)
        .bind(&user.language)
        .bind(now)
        .bind(now)
        .execute(&self.writer)
        .await?;
        self.customer(user.user_id)
            .await?
            .ok_or_else(|| corrupt("customer")("vanished right after it was written".into()))
    }

    /// The customer with this Telegram user id.
    pub async fn customer(&self, user_id: i64) -> Result<Option<Customer>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {CUSTOMER_COLUMNS} FROM customers c WHERE user_id = $1"
        ))
        .bind(user_id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(customer_row).transpose()
    }

    /// A chat as an update finds it, in one read: the customer, if known,
    /// and the chat's stored dialogue step, if any.
    pub async fn chat(
        &self,
        user_id: i64,
        chat_id: i64,
    ) -> Result<(Option<Customer>, Option<StoredDialogue>), StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {CUSTOMER_COLUMNS}, d.state, d.update_id
             FROM (SELECT 1 AS here) AS one
             LEFT JOIN customers c ON c.user_id = $1
             LEFT JOIN dialogues d ON d.chat_id = $2"
        ))
        .bind(user_id)
        .bind(chat_id)
        .fetch_one(&self.pool)
        .await?;
        let customer = match row.try_get::<Option<i64>, _>("user_id")? {
            Some(_) => Some(customer_row(&row)?),
            None => None,
        };
        let dialogue = match row.try_get::<Option<String>, _>("state")? {
            Some(state) => Some(StoredDialogue {
                state,
                update_id: row.try_get("update_id")?,
            }),
            None => None,
        };
        Ok((customer, dialogue))
    }

    /// Sets (or clears) one field the customer gave us.
    pub async fn set_contact(
        &self,
        user_id: i64,
        field: ContactField,
        value: Option<&str>,
    ) -> Result<(), StoreError> {
        // The column name comes from a closed enum, never from input.
        let sql = format!(
            "UPDATE customers SET {} = $1, updated_at = $2 WHERE user_id = $3",
            field.column()
        );
        sqlx::query(&sql)
            .bind(value)
            .bind(now_ms())
            .bind(user_id)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    // --- dialogue --------------------------------------------------------

    /// The stored dialogue state of a chat.
    pub async fn dialogue(&self, chat_id: i64) -> Result<Option<String>, StoreError> {
        Ok(self.dialogue_step(chat_id).await?.map(|d| d.state))
    }

    /// The dialogue state of a chat with the update whose step stored it.
    pub async fn dialogue_step(&self, chat_id: i64) -> Result<Option<StoredDialogue>, StoreError> {
        let row = sqlx::query("SELECT state, update_id FROM dialogues WHERE chat_id = $1")
            .bind(chat_id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| {
            Ok(StoredDialogue {
                state: r.try_get("state")?,
                update_id: r.try_get("update_id")?,
            })
        })
        .transpose()
    }

    /// Stores the dialogue state of a chat.
    pub async fn set_dialogue(&self, chat_id: i64, state: &str) -> Result<(), StoreError> {
        set_dialogue(&self.writer, chat_id, state, None).await
    }

    /// Stores the dialogue state a step of `update_id` moved the chat to.
    /// The same update seen again finds its id here and knows the step ran.
    pub async fn set_dialogue_step(
        &self,
        chat_id: i64,
        state: &str,
        update_id: i64,
    ) -> Result<(), StoreError> {
        set_dialogue(&self.writer, chat_id, state, Some(update_id)).await
    }

    /// Forgets the dialogue state of a chat.
    pub async fn clear_dialogue(&self, chat_id: i64) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM dialogues WHERE chat_id = $1")
            .bind(chat_id)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    // --- cart ------------------------------------------------------------

    /// The cart of a chat, in the order items were added.
    pub async fn cart(&self, chat_id: i64) -> Result<Vec<CartItem>, StoreError> {
        let rows = sqlx::query(
            "SELECT product_id, name, sku, price_minor, price_scale, currency, image_url, quantity, plugin_id
             FROM cart_items WHERE chat_id = $1 ORDER BY added_at, product_id",
        )
        .bind(chat_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(cart_item).collect()
    }

    /// Adds `item.quantity` units of a product (a new line, or more of an
    /// existing one, keeping its price as first seen), on behalf of the
    /// message or button press `changed_by`. The same press seen again (a
    /// replayed update) adds nothing: the line remembers its last change.
    pub async fn cart_add(
        &self,
        chat_id: i64,
        item: &CartItem,
        changed_by: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO cart_items (chat_id, product_id, name, sku, price_minor, price_scale, currency, image_url, quantity, added_at, changed_by, plugin_id)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
             ON CONFLICT (chat_id, product_id) DO UPDATE
             SET quantity = cart_items.quantity + excluded.quantity, changed_by = excluded.changed_by
             WHERE cart_items.changed_by IS DISTINCT FROM excluded.changed_by",
        )
        .bind(chat_id)
        .bind(&item.product_id)
        .bind(&item.name)
        .bind(&item.sku)
        .bind(item.price.minor_units)
        .bind(i32::from(item.price.scale))
        .bind(&item.price.currency)
        .bind(&item.image_url)
        .bind(i64::from(item.quantity.max(1)))
        .bind(now_ms())
        .bind(changed_by)
        .bind(&item.plugin_id)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    /// Takes out of a chat's cart the lines from another plugin's catalog
    /// than `plugin_id` (after the active CRM was swapped). Returns how many
    /// lines went. Lines with no recorded plugin stay.
    pub async fn cart_drop_foreign(
        &self,
        chat_id: i64,
        plugin_id: &str,
    ) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "DELETE FROM cart_items WHERE chat_id = $1 AND plugin_id IS NOT NULL AND plugin_id <> $2",
        )
        .bind(chat_id)
        .bind(plugin_id)
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected())
    }

    /// Changes the quantity of a line by `delta` on behalf of the press
    /// `changed_by`; a line that reaches zero is removed. The same press seen
    /// again changes nothing. Returns the line's quantity afterwards (0 when
    /// removed or absent).
    pub async fn cart_change(
        &self,
        chat_id: i64,
        product_id: &str,
        delta: i64,
        changed_by: &str,
    ) -> Result<u32, StoreError> {
        // Write first: in SQLite a transaction that reads before it writes
        // cannot wait for the lock and fails with SQLITE_BUSY instead.
        let mut tx = self.writer.begin().await?;
        let removed = sqlx::query(
            "DELETE FROM cart_items WHERE chat_id = $1 AND product_id = $2 AND quantity + $3 <= 0
             AND changed_by IS DISTINCT FROM $4
             RETURNING product_id",
        )
        .bind(chat_id)
        .bind(product_id)
        .bind(delta)
        .bind(changed_by)
        .fetch_optional(&mut *tx)
        .await?;
        let next = if removed.is_some() {
            0
        } else {
            let changed = sqlx::query(
                "UPDATE cart_items SET quantity = quantity + $1, changed_by = $2
                 WHERE chat_id = $3 AND product_id = $4 AND changed_by IS DISTINCT FROM $2
                 RETURNING quantity",
            )
            .bind(delta)
            .bind(changed_by)
            .bind(chat_id)
            .bind(product_id)
            .fetch_optional(&mut *tx)
            .await?;
            // Nothing changed: the line is absent, or this press changed it
            // already.
            let row =
                match changed {
                    Some(row) => Some(row),
                    None => sqlx::query(
                        "SELECT quantity FROM cart_items WHERE chat_id = $1 AND product_id = $2",
                    )
                    .bind(chat_id)
                    .bind(product_id)
                    .fetch_optional(&mut *tx)
                    .await?,
                };
            match row {
                Some(row) => row.try_get::<i64, _>("quantity")?,
                None => 0,
            }
        };
        tx.commit().await?;
        Ok(u32::try_from(next).unwrap_or(0))
    }

    /// Empties the cart of a chat.
    pub async fn cart_clear(&self, chat_id: i64) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM cart_items WHERE chat_id = $1")
            .bind(chat_id)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    // --- leads (the outbox) ---------------------------------------------

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
        let result =
            Self::insert_lead(&mut conn, new, &lead_json, now, next_state, clear_cart).await;
        if sqlite {
            // The connection goes back to the pool: restore the default.
            sqlx::query("PRAGMA synchronous = NORMAL")
                .execute(&mut *conn)
                .await?;
        }
        result
    }

    async fn insert_lead(
        conn: &mut sqlx::pool::PoolConnection<sqlx::Any>,
        new: &NewLead,
        lead_json: &str,
        now: i64,
        next_state: Option<&str>,
        clear_cart: bool,
    ) -> Result<(i64, bool), StoreError> {
        use sqlx::Connection;
        let mut tx = conn.begin().await?;
        let inserted = sqlx::query(
            "INSERT INTO leads (chat_id, user_id, kind, lead, idempotency_key, plugin_id, plugin_version,
                                state, attempts, next_attempt_at, claimed_until, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, $9, $10, $11, $12)
             ON CONFLICT (idempotency_key) DO NOTHING
             RETURNING id",
        )
        .bind(new.chat_id)
        .bind(new.user_id)
        .bind(kind_name(&new.lead.kind))
        .bind(lead_json)
        .bind(&new.lead.idempotency_key)
        .bind(&new.plugin_id)
        .bind(&new.plugin_version)
        .bind(LeadState::Pending.as_str())
        .bind(now)
        .bind(new.claimed_until)
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
        kind: &str,
        limit: i64,
    ) -> Result<Vec<LeadRow>, StoreError> {
        let rows = sqlx::query(&format!(
            "{LEAD_COLUMNS} WHERE user_id = $1 AND kind = $2 ORDER BY created_at DESC, id DESC LIMIT $3"
        ))
        .bind(user_id)
        .bind(kind)
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
        query.execute(&self.writer).await?;
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
        let mut tx = self.writer.begin().await?;
        // Write first (see `cart_change`).
        let claimed = sqlx::query(
            "UPDATE leads SET claimed_until = $1 WHERE id IN (
                 SELECT id FROM leads WHERE state = 'pending' AND next_attempt_at <= $2
                 AND (claimed_until IS NULL OR claimed_until <= $3)
                 ORDER BY next_attempt_at, id LIMIT $4)
             RETURNING id",
        )
        .bind(lease_until)
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

    /// Releases every claim on pending leads: at start, the claims of the
    /// process that ran before (killed mid-attempt) are void. One host owns
    /// a store. Returns how many were released.
    /// An attempt cut off mid-flight may still land in the CRM, so those
    /// leads are not due before `in_doubt_until` (see
    /// [`switchboard_outbox::RetryPolicy::in_doubt`]).
    pub async fn release_claims(&self, in_doubt_until: i64) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "UPDATE leads SET claimed_until = NULL,
                 next_attempt_at = CASE WHEN next_attempt_at < $1 THEN $1 ELSE next_attempt_at END
             WHERE state = 'pending' AND claimed_until IS NOT NULL",
        )
        .bind(in_doubt_until)
        .execute(&self.writer)
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
            .execute(&self.writer)
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
        .execute(&self.writer)
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
        .execute(&self.writer)
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
        .execute(&self.writer)
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
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    // --- catalog snapshots and settings -----------------------------------

    /// Stores the full catalog a plugin returned.
    pub async fn save_catalog(
        &self,
        plugin_id: &str,
        products_json: &str,
        fetched_at: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO catalog_snapshots (plugin_id, products, fetched_at) VALUES ($1, $2, $3)
             ON CONFLICT (plugin_id) DO UPDATE SET products = excluded.products, fetched_at = excluded.fetched_at",
        )
        .bind(plugin_id)
        .bind(products_json)
        .bind(fetched_at)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    /// The last full catalog of a plugin and when it was fetched.
    pub async fn catalog(&self, plugin_id: &str) -> Result<Option<(String, i64)>, StoreError> {
        let row =
            sqlx::query("SELECT products, fetched_at FROM catalog_snapshots WHERE plugin_id = $1")
                .bind(plugin_id)
                .fetch_optional(&self.pool)
                .await?;
        row.map(|r| -> Result<(String, i64), StoreError> {
            Ok((r.try_get("products")?, r.try_get("fetched_at")?))
        })
        .transpose()
    }

    /// A named setting.
    pub async fn setting(&self, name: &str) -> Result<Option<String>, StoreError> {
        let row = sqlx::query("SELECT value FROM settings WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.try_get("value")).transpose()?)
    }

    // --- inbox (polling) -----------------------------------------------------

    /// Stores a batch of received updates and the offset past them in one
    /// transaction. An update already stored is kept as it was.
    pub async fn inbox_put(
        &self,
        updates: &[InboxUpdate],
        offset_setting: &str,
        next_offset: i64,
    ) -> Result<(), StoreError> {
        let now = now_ms();
        let mut tx = self.writer.begin().await?;
        // Write first (see `cart_change`).
        sqlx::query(
            "INSERT INTO settings (name, value) VALUES ($1, $2)
             ON CONFLICT (name) DO UPDATE SET value = excluded.value",
        )
        .bind(offset_setting)
        .bind(next_offset.to_string())
        .execute(&mut *tx)
        .await?;
        for update in updates {
            sqlx::query(
                "INSERT INTO inbox (update_id, chat_id, body, received_at) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (update_id) DO NOTHING",
            )
            .bind(update.update_id)
            .bind(update.chat_id)
            .bind(&update.body)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Forgets handled updates.
    pub async fn inbox_done(&self, ids: &[i64]) -> Result<(), StoreError> {
        for chunk in ids.chunks(200) {
            let placeholders: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
            let sql = format!(
                "DELETE FROM inbox WHERE update_id IN ({})",
                placeholders.join(", ")
            );
            let mut query = sqlx::query(&sql);
            for id in chunk {
                query = query.bind(*id);
            }
            query.execute(&self.writer).await?;
        }
        Ok(())
    }

    /// Updates received and not yet handled, oldest first.
    pub async fn inbox_pending(&self) -> Result<Vec<InboxUpdate>, StoreError> {
        let rows = sqlx::query("SELECT update_id, chat_id, body FROM inbox ORDER BY update_id")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(InboxUpdate {
                    update_id: r.try_get("update_id")?,
                    chat_id: r.try_get("chat_id")?,
                    body: r.try_get("body")?,
                })
            })
            .collect()
    }

    /// Sets a named setting.
    pub async fn set_setting(&self, name: &str, value: &str) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO settings (name, value) VALUES ($1, $2)
             ON CONFLICT (name) DO UPDATE SET value = excluded.value",
        )
        .bind(name)
        .bind(value)
        .execute(&self.writer)
        .await?;
        Ok(())
    }
}

/// A pool of at most `max` connections, set up for the backend.
fn pool_options(backend: Backend, memory: bool, max: u32) -> AnyPoolOptions {
    AnyPoolOptions::new()
        // An in-memory SQLite database exists per connection: keep it open.
        .max_connections(max)
        .min_connections(if memory { 1 } else { 0 })
        .idle_timeout(if memory {
            None
        } else {
            Some(Duration::from_secs(600))
        })
        .max_lifetime(if memory {
            None
        } else {
            Some(Duration::from_secs(3600))
        })
        .after_connect(move |conn, _| {
            Box::pin(async move {
                if backend == Backend::Sqlite {
                    let busy = format!("PRAGMA busy_timeout = {}", SQLITE_BUSY_TIMEOUT.as_millis());
                    for pragma in [
                        "PRAGMA journal_mode = WAL",
                        "PRAGMA synchronous = NORMAL",
                        "PRAGMA foreign_keys = ON",
                        busy.as_str(),
                    ] {
                        sqlx::query(pragma).execute(&mut *conn).await?;
                    }
                }
                Ok(())
            })
        })
}

const LEAD_COLUMNS: &str =
    "SELECT id, chat_id, user_id, kind, lead, state, attempts, next_attempt_at, last_error,
    plugin_id, plugin_version, crm_id, crm_url, status_name, status_final, created_at,
    plugin_faults, followup FROM leads";

async fn set_dialogue<'e, E>(
    executor: E,
    chat_id: i64,
    state: &str,
    update_id: Option<i64>,
) -> Result<(), StoreError>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query(
        "INSERT INTO dialogues (chat_id, state, update_id, updated_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (chat_id) DO UPDATE SET state = excluded.state, update_id = excluded.update_id,
         updated_at = excluded.updated_at",
    )
    .bind(chat_id)
    .bind(state)
    .bind(update_id)
    .bind(now_ms())
    .execute(executor)
    .await?;
    Ok(())
}

/// The columns [`customer_row`] reads, from `customers` as `c`.
const CUSTOMER_COLUMNS: &str = "c.user_id, c.chat_id, c.first_name, c.last_name, c.username,
    c.language, c.full_name, c.phone, c.email";

fn customer_row(r: &AnyRow) -> Result<Customer, StoreError> {
    Ok(Customer {
        telegram: TelegramUser {
            user_id: r.try_get("user_id")?,
            chat_id: r.try_get("chat_id")?,
            first_name: r.try_get("first_name")?,
            last_name: r.try_get("last_name")?,
            username: r.try_get("username")?,
            language: r.try_get("language")?,
        },
        full_name: r.try_get("full_name")?,
        phone: r.try_get("phone")?,
        email: r.try_get("email")?,
    })
}

fn cart_item(r: &AnyRow) -> Result<CartItem, StoreError> {
    let scale: i32 = r.try_get("price_scale")?;
    let quantity: i64 = r.try_get("quantity")?;
    Ok(CartItem {
        product_id: r.try_get("product_id")?,
        name: r.try_get("name")?,
        sku: r.try_get("sku")?,
        price: switchboard_crm::Money {
            minor_units: r.try_get("price_minor")?,
            scale: u8::try_from(scale)
                .map_err(|_| corrupt("cart price")(format!("scale {scale}")))?,
            currency: r.try_get("currency")?,
        },
        image_url: r.try_get("image_url")?,
        quantity: u32::try_from(quantity)
            .map_err(|_| corrupt("cart quantity")(format!("{quantity}")))?,
        plugin_id: r.try_get("plugin_id")?,
    })
}

fn lead_row(r: &AnyRow) -> Result<LeadRow, StoreError> {
    let text: String = r.try_get("lead")?;
    let lead = persisted::decode(&text).map_err(corrupt("lead"))?;
    let attempts: i64 = r.try_get("attempts")?;
    let state: String = r.try_get("state")?;
    Ok(LeadRow {
        id: r.try_get("id")?,
        chat_id: r.try_get("chat_id")?,
        user_id: r.try_get("user_id")?,
        kind: r.try_get("kind")?,
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
