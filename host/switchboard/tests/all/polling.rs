//! The polling loop against the Bot API simulator: chats in parallel, each
//! chat in order, no chat waiting for another's batch, and every update kept
//! in the inbox until it is handled.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use switchboard::config::{MessageLimits, TelegramSettings, UpdateMode};
use switchboard_store::Store;
use switchboard_telegram::client::{self as telegram, OFFSET_SETTING};
use switchboard_telegram_sim::{SimConfig, SimFault, TelegramSim};
use teloxide::types::{Update, UpdateKind};

type Seen = Arc<Mutex<Vec<(i64, String)>>>;

fn settings(sim: &TelegramSim) -> TelegramSettings {
    TelegramSettings {
        token: sim.token().into(),
        api_url: sim.api_url(),
        mode: UpdateMode::Polling,
        limits: MessageLimits {
            enabled: false,
            ..MessageLimits::default()
        },
    }
}

fn text_of(update: &Update) -> Option<(i64, String)> {
    match &update.kind {
        UpdateKind::Message(m) => Some((m.chat.id.0, m.text()?.to_string())),
        _ => None,
    }
}

/// What the test handler shares with the test.
#[derive(Clone)]
struct Recorder {
    /// Texts whose handling finished, in that order.
    seen: Seen,
    /// Texts whose handling began, in that order.
    entered: Seen,
    /// Opened by the test to let `slow` updates finish.
    release: Arc<tokio::sync::watch::Sender<bool>>,
}

impl Recorder {
    fn new() -> Self {
        Self {
            seen: Seen::default(),
            entered: Seen::default(),
            release: Arc::new(tokio::sync::watch::channel(false).0),
        }
    }
}

fn count(seen: &Seen, chat: i64) -> usize {
    seen.lock()
        .map(|s| s.iter().filter(|(c, _)| *c == chat).count())
        .unwrap_or(0)
}

/// Starts a poller whose handler records texts: when it begins one in
/// `entered`, when it finishes one in `seen`. A text `hang` never finishes,
/// like a host killed mid-update; a text `slow` finishes when the test
/// opens `release`; chat 1's texts starting with `a` wait until chat 2 has
/// five texts handled, so they finish only if chats run in parallel.
fn start(
    sim: &TelegramSim,
    store: &Store,
    recorder: &Recorder,
) -> (
    tokio::task::JoinHandle<()>,
    tokio::sync::watch::Sender<bool>,
) {
    let settings = settings(sim);
    let bot = telegram::client(&settings).unwrap_or_else(|e| panic!("{e}"));
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let recorder = recorder.clone();
    let handle = move |update: Update| {
        let recorder = recorder.clone();
        async move {
            if let Some((chat, text)) = text_of(&update) {
                recorder
                    .entered
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push((chat, text.clone()));
                if text == "hang" {
                    std::future::pending::<()>().await;
                }
                if text == "slow" {
                    let mut release = recorder.release.subscribe();
                    let _ = release.wait_for(|open| *open).await;
                }
                if chat == 1 && text.starts_with('a') {
                    while count(&recorder.seen, 2) < 5 {
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    }
                }
                recorder
                    .seen
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push((chat, text));
            }
        }
    };
    let task = tokio::spawn(telegram::poll(
        bot,
        store.clone(),
        secrecy::ExposeSecret::expose_secret(&settings.token).to_string(),
        handle,
        stop_rx,
    ));
    (task, stop_tx)
}

/// A generous cap on waiting for any one event; reaching it is a failure.
const WAIT: Duration = Duration::from_secs(60);

/// Polls `done` until it holds, panicking with `what` after [`WAIT`].
async fn until(what: &str, mut done: impl AsyncFnMut() -> bool) {
    let started = Instant::now();
    while !done().await {
        assert!(started.elapsed() < WAIT, "gave up waiting: {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn wait_for(seen: &Seen, count: usize) {
    let started = Instant::now();
    while seen.lock().map(|s| s.len()).unwrap_or(0) < count {
        assert!(
            started.elapsed() < WAIT,
            "waited for {count} updates; only {:?}",
            seen.lock().map(|s| s.clone())
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn has(seen: &Seen, chat: i64, text: &str) -> bool {
    seen.lock()
        .map(|s| s.iter().any(|(c, t)| *c == chat && t == text))
        .unwrap_or(false)
}

/// Waits for the poller to end after `stop`.
async fn stopped(task: tokio::task::JoinHandle<()>) {
    tokio::time::timeout(WAIT, task)
        .await
        .unwrap_or_else(|_| panic!("the poller did not stop"))
        .unwrap_or_else(|e| panic!("{e}"));
}

fn texts(seen: &Seen, chat: i64) -> Vec<String> {
    seen.lock()
        .map(|s| {
            s.iter()
                .filter(|(c, _)| *c == chat)
                .map(|(_, t)| t.clone())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chats_run_in_parallel_each_in_order_and_nothing_is_lost_or_repeated() {
    let sim = TelegramSim::start(SimConfig::default())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let url = format!("sqlite://{}", dir.path().join("bot.db").display());
    let store = Store::open(&url).await.unwrap_or_else(|e| panic!("{e}"));
    let recorder = Recorder::new();
    let seen = &recorder.seen;
    let (one, two) = (sim.user(1, "Ann"), sim.user(2, "Bo"));
    for i in 0..5 {
        one.send_text(&format!("a{i}")).await;
        two.send_text(&format!("b{i}")).await;
    }

    let (task, stop) = start(&sim, &store, &recorder);
    wait_for(seen, 10).await;
    assert_eq!(texts(seen, 1), ["a0", "a1", "a2", "a3", "a4"]);
    assert_eq!(texts(seen, 2), ["b0", "b1", "b2", "b3", "b4"]);
    // Chat 1's first update was taken before chat 2's were done (it waits
    // for them), so chat 2 was not held up by chat 1: chats run in parallel.
    let order = seen.lock().map(|s| s.clone()).unwrap_or_default();
    assert!(order[..5].iter().all(|(c, _)| *c == 2), "{order:?}");
    assert!(has(&recorder.entered, 1, "a0"));

    // The offset is stored with the batch; handled updates leave the inbox.
    until("the offset to be stored", async || {
        store.setting(OFFSET_SETTING).await.ok().flatten().is_some()
    })
    .await;
    let _ = stop.send(true);
    stopped(task).await;

    // A host killed in the middle of an update gets it again after the restart.
    one.send_text("hang").await;
    let (task, _stop) = start(&sim, &store, &recorder);
    until("the handler to take the `hang` update", async || {
        has(&recorder.entered, 1, "hang")
    })
    .await;
    task.abort();
    let _ = task.await;
    assert_eq!(texts(seen, 1).len(), 5, "nothing new was handled");

    // Restarted: the unfinished update comes back (the test handler treats
    // it as done the second time) and the old ones do not.
    let seen_after: Seen = Arc::default();
    let bot_settings = settings(&sim);
    let bot = telegram::client(&bot_settings).unwrap_or_else(|e| panic!("{e}"));
    let (_stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let recorder = Arc::clone(&seen_after);
    let task = tokio::spawn(telegram::poll(
        bot,
        store.clone(),
        secrecy::ExposeSecret::expose_secret(&bot_settings.token).to_string(),
        move |u: Update| {
            let recorder = Arc::clone(&recorder);
            async move {
                if let Some(entry) = text_of(&u) {
                    recorder
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push(entry);
                }
            }
        },
        stop_rx,
    ));
    two.send_text("after").await;
    wait_for(&seen_after, 2).await;
    let mut after = seen_after.lock().map(|s| s.clone()).unwrap_or_default();
    after.sort();
    assert_eq!(after, [(1, "hang".to_string()), (2, "after".to_string())]);
    task.abort();
    assert!(
        sim.rejected_requests().is_empty(),
        "{:?}",
        sim.rejected_requests()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bot_api_outage_is_ridden_out() {
    let sim = TelegramSim::start(SimConfig::default())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let store = Store::open("sqlite::memory:")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    sim.inject("getUpdates", SimFault::Status(502), 2);
    let recorder = Recorder::new();
    let (task, _stop) = start(&sim, &store, &recorder);
    sim.user(3, "Cy").send_text("still there?").await;
    wait_for(&recorder.seen, 1).await;
    assert_eq!(texts(&recorder.seen, 3), ["still there?"]);
    let rejected = sim.rejected_requests();
    assert_eq!(rejected.len(), 2, "{rejected:?}");
    assert!(
        rejected
            .iter()
            .all(|r| r.error_code == 502 && r.method.eq_ignore_ascii_case("getUpdates"))
    );
    task.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_chat_does_not_hold_up_the_others_and_the_inbox_empties() {
    let sim = TelegramSim::start(SimConfig::default())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let url = format!("sqlite://{}", dir.path().join("bot.db").display());
    let store = Store::open(&url).await.unwrap_or_else(|e| panic!("{e}"));
    let recorder = Recorder::new();
    let seen = &recorder.seen;
    let (task, stop) = start(&sim, &store, &recorder);
    let (slow, quick) = (sim.user(4, "Di"), sim.user(5, "Ed"));
    slow.send_text("slow").await;
    slow.send_text("after slow").await;
    until("the handler to take the `slow` update", async || {
        has(&recorder.entered, 4, "slow")
    })
    .await;
    // Sent after the slow update was taken, which does not finish until the
    // test lets it: with a batch barrier (or one worker for all chats) these
    // would wait for it forever.
    for i in 0..3 {
        quick.send_text(&format!("q{i}")).await;
    }
    wait_for(seen, 3).await;
    assert_eq!(texts(seen, 5), ["q0", "q1", "q2"]);
    assert!(texts(seen, 4).is_empty(), "the slow update finished early");
    assert!(
        !has(&recorder.entered, 4, "after slow"),
        "the chat's next update started before the slow one finished"
    );
    recorder.release.send_replace(true);
    wait_for(seen, 5).await;
    assert_eq!(texts(seen, 4), ["slow", "after slow"]);

    until("the inbox to empty", async || {
        store
            .inbox_pending()
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .is_empty()
    })
    .await;
    let _ = stop.send(true);
    stopped(task).await;
}
