//! A connection held for the store's life, for the busiest paths.
//!
//! SQLite takes one writer at a time, so the store writes through one
//! connection, and the read every update starts with (`Store::chat`) has
//! one of its own. Each is *held* rather than taken from a pool for every
//! statement: sqlx tests a pooled connection when it is given back (a
//! `ping`), and on SQLite every statement and every ping is a round trip to
//! the connection's worker thread, with a thread wake-up each way. Holding
//! the connection halves the round trips. A SQLite connection is a file
//! handle, so there is no dropped connection to detect; a transaction cut
//! off by cancellation is rolled back by sqlx before the connection's next
//! statement. Should sqlx give up on the connection anyway (its worker
//! thread stops when such a rollback fails), the held connection is tested
//! at most every [`CHECK_EVERY`] and replaced from the pool, so writes fail
//! for seconds, not until a restart. PostgreSQL (and an in-memory SQLite
//! database, whose one connection everyone shares) use the pool.

use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, AnyPool};
use tokio::sync::{MappedMutexGuard, Mutex, MutexGuard};

use crate::StoreError;

/// How often a held connection is tested (one round trip) before use.
pub(crate) const CHECK_EVERY: Duration = Duration::from_secs(5);

/// One held connection, or the pool.
#[derive(Debug, Clone)]
pub(crate) struct Held {
    pool: AnyPool,
    held: Option<Arc<Mutex<Slot>>>,
}

/// The held connection and when it was last known to work.
#[derive(Debug)]
struct Slot {
    conn: Option<PoolConnection<Any>>,
    checked: Instant,
    closed: bool,
}

/// A connection, for as long as it is borrowed.
pub(crate) enum Borrowed<'a> {
    Pooled(PoolConnection<Any>),
    Held(MappedMutexGuard<'a, PoolConnection<Any>>),
}

impl Held {
    /// Takes a connection of `pool` for each use.
    pub(crate) fn pooled(pool: AnyPool) -> Self {
        Self { pool, held: None }
    }

    /// Holds one connection of `pool` until [`Self::close`].
    pub(crate) async fn one(pool: AnyPool) -> Result<Self, StoreError> {
        let conn = pool.acquire().await?;
        Ok(Self {
            pool,
            held: Some(Arc::new(Mutex::new(Slot {
                conn: Some(conn),
                checked: Instant::now(),
                closed: false,
            }))),
        })
    }

    /// The connection; waits while another task has it.
    pub(crate) async fn acquire(&self) -> Result<Borrowed<'_>, StoreError> {
        let Some(held) = &self.held else {
            return Ok(Borrowed::Pooled(self.pool.acquire().await?));
        };
        let mut slot = held.lock().await;
        if slot.closed {
            return Err(sqlx::Error::PoolClosed.into());
        }
        if slot.checked.elapsed() >= CHECK_EVERY {
            let alive = match slot.conn.as_mut() {
                Some(conn) => sqlx::Connection::ping(&mut **conn).await.is_ok(),
                None => false,
            };
            if !alive {
                // Given back, the pool's own test closes a broken one.
                drop(slot.conn.take());
            }
            slot.checked = Instant::now();
        }
        if slot.conn.is_none() {
            slot.conn = Some(self.pool.acquire().await?);
        }
        MutexGuard::try_map(slot, |s| s.conn.as_mut())
            .map(Borrowed::Held)
            // Unreachable: the slot was just filled.
            .map_err(|_| sqlx::Error::PoolClosed.into())
    }

    /// Gives the held connection back and closes the pool.
    pub(crate) async fn close(&self) {
        if let Some(held) = &self.held {
            let mut slot = held.lock().await;
            slot.closed = true;
            drop(slot.conn.take());
        }
        self.pool.close().await;
    }
}

impl Deref for Borrowed<'_> {
    type Target = AnyConnection;

    fn deref(&self) -> &AnyConnection {
        match self {
            Self::Pooled(conn) => conn,
            Self::Held(conn) => conn,
        }
    }
}

impl DerefMut for Borrowed<'_> {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        match self {
            Self::Pooled(conn) => conn,
            Self::Held(conn) => conn,
        }
    }
}
