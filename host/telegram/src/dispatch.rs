//! Hands updates to per-chat workers: one chat's updates run one at a time
//! in arrival order, different chats run at once, and nothing waits for an
//! unrelated chat. A chat's worker exists only while the chat has work, so
//! idle customers cost nothing.
//!
//! A chat's next update starts only once the previous one is reported
//! [`Done`] and that report is acknowledged (the poller acknowledges after
//! the update has left the durable inbox). So after a crash at most one
//! update per chat, the one in flight, is replayed, never an older one
//! behind steps that already ran.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use teloxide::types::Update;
use tokio::sync::{Notify, mpsc, oneshot};

/// The chat an update belongs to (`None`: no chat, e.g. an inline query).
pub fn chat_of(update: &Update) -> Option<i64> {
    update.chat().map(|c| c.id.0)
}

/// A finished update (handled, or its handler panicked).
#[derive(Debug)]
pub struct Done {
    /// The update.
    pub id: u32,
    /// Answered once the update is forgotten for good; the chat's next
    /// update waits for it. Dropping it unanswered lets the chat go on too.
    pub ack: oneshot::Sender<()>,
}

type Handler =
    Arc<dyn Fn(Update) -> std::pin::Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

struct Shared {
    /// Chats with a running worker and the updates still queued for them.
    queues: Mutex<HashMap<i64, VecDeque<(u32, Update)>>>,
    /// Updates handed out and not yet finished.
    in_flight: Mutex<usize>,
    idle: Notify,
}

/// Runs updates on per-chat workers and reports each finished update id.
#[derive(Clone)]
pub struct Dispatcher {
    handle: Handler,
    shared: Arc<Shared>,
    done: mpsc::UnboundedSender<Done>,
}

impl Dispatcher {
    /// A dispatcher calling `handle` for each update; every finished update
    /// goes to `done`, and its chat waits for the acknowledgement.
    pub fn new<H, F>(handle: H, done: mpsc::UnboundedSender<Done>) -> Self
    where
        H: Fn(Update) -> F + Send + Sync + 'static,
        F: Future<Output = ()> + Send + 'static,
    {
        Self {
            handle: Arc::new(move |u| Box::pin(handle(u))),
            shared: Arc::new(Shared {
                queues: Mutex::new(HashMap::new()),
                in_flight: Mutex::new(0),
                idle: Notify::new(),
            }),
            done,
        }
    }

    /// Queues an update behind its chat's earlier ones.
    pub fn dispatch(&self, id: u32, update: Update) {
        *lock(&self.shared.in_flight) += 1;
        let Some(chat) = chat_of(&update) else {
            let this = self.clone();
            tokio::spawn(async move { this.run(id, update).await });
            return;
        };
        let start_worker = {
            let mut queues = lock(&self.shared.queues);
            match queues.get_mut(&chat) {
                Some(queue) => {
                    queue.push_back((id, update));
                    None
                }
                None => {
                    queues.insert(chat, VecDeque::new());
                    Some((id, update))
                }
            }
        };
        if let Some(first) = start_worker {
            let this = self.clone();
            tokio::spawn(async move { this.worker(chat, first).await });
        }
    }

    async fn worker(self, chat: i64, first: (u32, Update)) {
        let mut next = Some(first);
        while let Some((id, update)) = next {
            self.run(id, update).await;
            let mut queues = lock(&self.shared.queues);
            next = queues.get_mut(&chat).and_then(VecDeque::pop_front);
            if next.is_none() {
                // Removed under the same lock `dispatch` takes, so an update
                // queued now starts a new worker instead of being stranded.
                queues.remove(&chat);
            }
        }
    }

    async fn run(&self, id: u32, update: Update) {
        // A panicking handler must not take the chat's worker with it.
        let handle = Arc::clone(&self.handle);
        if let Err(e) = tokio::spawn(async move { handle(update).await }).await {
            tracing::error!(update = id, error = %e, "an update handler panicked; the update is dropped");
        }
        let (ack, acked) = oneshot::channel();
        if self.done.send(Done { id, ack }).is_ok() {
            // An error only means the receiver is gone: nothing to wait for.
            let _ = acked.await;
        }
        let mut in_flight = lock(&self.shared.in_flight);
        *in_flight = in_flight.saturating_sub(1);
        if *in_flight == 0 {
            self.shared.idle.notify_waiters();
        }
    }

    /// Updates handed out and not finished yet.
    pub fn in_flight(&self) -> usize {
        *lock(&self.shared.in_flight)
    }

    /// Waits until every dispatched update has finished, at most `limit`;
    /// true when it got there.
    pub async fn drain(&self, limit: Duration) -> bool {
        let wait = async {
            loop {
                let idle = self.shared.idle.notified();
                if self.in_flight() == 0 {
                    return;
                }
                idle.await;
            }
        };
        tokio::time::timeout(limit, wait).await.is_ok()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
