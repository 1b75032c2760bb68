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
//! statement. PostgreSQL (and an in-memory SQLite database, whose one
//! connection everyone shares) use the pool.

use std::ops::{Deref, DerefMut};
use std::sync::Arc;

use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, AnyPool};
use tokio::sync::{MappedMutexGuard, Mutex, MutexGuard};

use crate::StoreError;

/// One held connection, or the pool.
#[derive(Debug, Clone)]
pub(crate) struct Held {
    pool: AnyPool,
    held: Option<Arc<Mutex<Option<PoolConnection<Any>>>>>,
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
            held: Some(Arc::new(Mutex::new(Some(conn)))),
        })
    }

    /// The connection; waits while another task has it.
    pub(crate) async fn acquire(&self) -> Result<Borrowed<'_>, StoreError> {
        match &self.held {
            None => Ok(Borrowed::Pooled(self.pool.acquire().await?)),
            Some(held) => {
                MutexGuard::try_map(held.lock().await, Option::as_mut)
                    .map(Borrowed::Held)
                    // Closed: the connection was given back.
                    .map_err(|_| sqlx::Error::PoolClosed.into())
            }
        }
    }

    /// Gives the held connection back and closes the pool.
    pub(crate) async fn close(&self) {
        if let Some(held) = &self.held {
            drop(held.lock().await.take());
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
