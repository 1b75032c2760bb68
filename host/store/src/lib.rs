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
//!
//! # Layout
//! One module per aggregate, each an `impl Store` block with its types:
//! - [`customers`](Customer): who wrote to the bot and their contact details.
//! - `dialogues`: where each chat stands, with the update that put it there.
//! - `carts`: the lines a customer collected, tied to their catalog.
//! - `leads`: the outbox of confirmed leads and their delivery state.
//! - `catalog`: the last full catalog of each plugin.
//! - `settings`: small named values (the polling offset).
//! - `inbox`: received updates kept until handled.
//! - `steps`: a dialogue step's writes ([`Write`]), committed together.
//! - [`persisted`]: the serde forms leads and catalogs are stored in.
//!
//! The API assumes no single owning process: a claim on a lead carries a
//! lease (`claimed_until`) and its host (`claimed_by`, [`Store::host_id`]),
//! and a starting host releases only its own claims, so several hosts on
//! one PostgreSQL can share the outbox (the rest of the host does not run
//! as replicas yet: one poller per bot token).

use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sqlx::any::{AnyConnectOptions, AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Row};

use switchboard_crm::Lead;

mod carts;
mod catalog;
mod customers;
mod dialogues;
mod held;
mod inbox;
mod leads;
pub mod persisted;
mod settings;
mod steps;

pub use carts::CartItem;
pub use customers::{ChatNow, ContactField, Customer, TelegramUser};
pub use dialogues::StoredDialogue;
pub use inbox::InboxUpdate;
pub use leads::{FollowUp, LeadRow, LeadState, NewLead, Settle};
pub use steps::Write;

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

fn corrupt(what: &'static str) -> impl FnOnce(String) -> StoreError {
    move |reason| StoreError::Corrupt { what, reason }
}

/// The store.
#[derive(Debug, Clone)]
pub struct Store {
    /// Reads run here, concurrently.
    pool: AnyPool,
    /// Writes run here. For a SQLite file this is one held connection, so
    /// writers queue in tokio instead of in SQLite's busy handler, which
    /// sleeps for milliseconds at a time; otherwise it is `pool`.
    writer: held::Held,
    /// The read every update starts with: one held connection of `pool`.
    chat_reader: held::Held,
    backend: Backend,
    /// Who this host is in `leads.claimed_by` (see [`Store::with_host_id`]).
    host_id: std::sync::Arc<str>,
}

/// This machine's name, the default host id: a restarted host keeps it,
/// two machines sharing a PostgreSQL differ.
fn default_host_id() -> std::sync::Arc<str> {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|n| n.trim().to_string())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "local".into());
    std::sync::Arc::from(name)
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
        let writes = if backend == Backend::Sqlite && !memory {
            pool_options(backend, memory, 1)
                .connect_with(options)
                .await?
        } else {
            pool.clone()
        };
        match backend {
            Backend::Sqlite => SQLITE_MIGRATIONS.run(&writes).await?,
            Backend::Postgres => POSTGRES_MIGRATIONS.run(&writes).await?,
        }
        let (writer, chat_reader) = if backend == Backend::Sqlite && !memory {
            (
                held::Held::one(writes).await?,
                held::Held::one(pool.clone()).await?,
            )
        } else {
            (held::Held::pooled(writes), held::Held::pooled(pool.clone()))
        };
        Ok(Self {
            pool,
            writer,
            chat_reader,
            backend,
            host_id: default_host_id(),
        })
    }

    /// Folds SQLite's write-ahead log into the database file and empties
    /// it (a no-op on PostgreSQL).
    pub async fn checkpoint(&self) -> Result<(), StoreError> {
        if self.backend == Backend::Sqlite {
            sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                .execute(&mut *self.writer.acquire().await?)
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
                .fetch_one(&mut *self.writer.acquire().await?)
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

    /// The same store acting as host `id`: the owner of the lead claims it
    /// takes, and whose claims [`Store::release_claims`] releases. Hosts
    /// sharing one PostgreSQL need different ids; a restarted host must
    /// keep its own. The default is the machine's name.
    pub fn with_host_id(mut self, id: &str) -> Self {
        self.host_id = std::sync::Arc::from(id);
        self
    }

    /// The host id claims are taken under.
    pub fn host_id(&self) -> &str {
        &self.host_id
    }

    /// Closes every connection.
    pub async fn close(&self) {
        self.writer.close().await;
        self.chat_reader.close().await;
        self.pool.close().await;
    }
}

/// A pool of at most `max` connections, set up for the backend.
fn pool_options(backend: Backend, memory: bool, max: u32) -> AnyPoolOptions {
    AnyPoolOptions::new()
        // A SQLite connection is a file handle on a worker thread: it cannot
        // drop the way a network connection can, so testing it before each
        // use only costs a round trip to that thread per statement (sqlx
        // still tests it when it comes back). PostgreSQL keeps the test.
        .test_before_acquire(backend == Backend::Postgres)
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
