//! The durable inbox both ingress modes share.
//!
//! An update is first written to the store's inbox; only then is it
//! confirmed to Telegram (the next `getUpdates` offset when polling, a 200
//! to the webhook request) and handed to the [`Dispatcher`]. A handled
//! update leaves the inbox before its chat's next update starts. After a
//! crash the inbox is replayed first, so no confirmed update is lost and at
//! most one per chat (the one in flight) runs again, where the dialogue
//! recognises a step that already ran.

use std::future::Future;
use std::time::Duration;

use teloxide::types::Update;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use switchboard_store::{InboxUpdate, Store, StoreError};

use crate::dispatch::{Dispatcher, Done, chat_of};

/// The inbox and the dispatcher behind it.
pub struct Inbox {
    store: Store,
    dispatcher: Dispatcher,
    forgetter: JoinHandle<()>,
}

impl Inbox {
    /// Opens the inbox: updates a crash left unhandled are replayed first,
    /// then [`Inbox::accept`] takes new ones. Every update runs `handle` on
    /// its chat's worker (a panicking handler costs only its update).
    pub async fn open<H, F>(store: Store, handle: H) -> Self
    where
        H: Fn(Update) -> F + Send + Sync + 'static,
        F: Future<Output = ()> + Send + 'static,
    {
        let (done_tx, done_rx) = mpsc::unbounded_channel();
        let dispatcher = Dispatcher::new(handle, done_tx);
        let forgetter = tokio::spawn(forget_handled(store.clone(), done_rx));
        let inbox = Self {
            store,
            dispatcher,
            forgetter,
        };
        inbox.replay().await;
        inbox
    }

    /// Stores `updates` durably (with the polling offset, when given, in the
    /// same transaction), then hands the new ones to their chats. On an
    /// error nothing was stored and nothing runs: the caller must not
    /// confirm the updates to Telegram, so they come again.
    pub async fn accept(
        &self,
        updates: Vec<Update>,
        offset: Option<(&str, i64)>,
    ) -> Result<(), StoreError> {
        let mut rows = Vec::with_capacity(updates.len());
        for update in &updates {
            match serde_json::to_string(update) {
                Ok(body) => rows.push(InboxUpdate {
                    update_id: i64::from(update.id.0),
                    chat_id: chat_of(update),
                    body,
                }),
                // Still handled now; only a crash before it finishes loses it.
                Err(e) => {
                    tracing::warn!(update = update.id.0, error = %e, "update not kept in the inbox")
                }
            }
        }
        let fresh = self.store.inbox_put(&rows, offset).await?;
        for update in updates {
            let id = i64::from(update.id.0);
            let kept = rows.iter().any(|r| r.update_id == id);
            // Not new: already in the inbox and running (or queued).
            if kept && !fresh.contains(&id) {
                tracing::debug!(
                    update = id,
                    "update received again while still in the inbox"
                );
                continue;
            }
            self.dispatcher.dispatch(update.id.0, update);
        }
        Ok(())
    }

    /// Updates handed out and not finished yet.
    pub fn in_flight(&self) -> usize {
        self.dispatcher.in_flight()
    }

    /// Lets the updates in flight finish, at most `limit`, then stops.
    /// Unfinished ones stay in the inbox and run at the next start.
    pub async fn close(self, limit: Duration) {
        if !self.dispatcher.drain(limit).await {
            tracing::warn!(
                in_flight = self.dispatcher.in_flight(),
                "stopping with updates still being handled; they stay in the inbox and run again at the next start"
            );
        }
        drop(self.dispatcher);
        let _ = self.forgetter.await;
    }

    /// Hands the updates a crash left unhandled to the dispatcher.
    async fn replay(&self) {
        let pending = match self.store.inbox_pending().await {
            Ok(pending) => pending,
            Err(e) => {
                tracing::error!(error = %e, "cannot read the inbox; updates received before the restart are not replayed");
                return;
            }
        };
        if !pending.is_empty() {
            tracing::info!(
                updates = pending.len(),
                "replaying updates received before the restart"
            );
        }
        for row in pending {
            let id = u32::try_from(row.update_id).unwrap_or(u32::MAX);
            match serde_json::from_str::<Update>(&row.body) {
                Ok(update) => self.dispatcher.dispatch(id, update),
                Err(e) => {
                    tracing::warn!(update = row.update_id, error = %e, "an unreadable update in the inbox is dropped");
                    if let Err(e) = self.store.inbox_done(&[row.update_id]).await {
                        tracing::error!(error = %e, "cannot drop an inbox row");
                    }
                }
            }
        }
    }
}

/// Deletes handled updates from the inbox, many per statement (the
/// updates of every chat that finished meanwhile), then lets their chats go
/// on to their next update.
async fn forget_handled(store: Store, mut done: mpsc::UnboundedReceiver<Done>) {
    let mut finished = Vec::new();
    while done.recv_many(&mut finished, 512).await > 0 {
        let batch: Vec<i64> = finished.iter().map(|d| i64::from(d.id)).collect();
        if let Err(e) = store.inbox_done(&batch).await {
            // They run again after a restart, where the step each stored
            // shows it already ran (see the shop's `Dialogue::handle`).
            tracing::error!(error = %e, updates = batch.len(), "cannot remove handled updates from the inbox");
        }
        for d in finished.drain(..) {
            let _ = d.ack.send(());
        }
    }
}
