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
        token: sim.token().to_string(),
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

/// Starts a poller whose handler records texts; a text `hang` never
/// finishes, like a host killed mid-update.
fn start(
    sim: &TelegramSim,
    store: &Store,
    seen: &Seen,
) -> (
    tokio::task::JoinHandle<()>,
    tokio::sync::watch::Sender<bool>,
) {
    let settings = settings(sim);
    let bot = telegram::client(&settings).unwrap_or_else(|e| panic!("{e}"));
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let seen = Arc::clone(seen);
    let handle = move |update: Update| {
        let seen = Arc::clone(&seen);
        async move {
            if let Some((chat, text)) = text_of(&update) {
                if text == "hang" {
                    std::future::pending::<()>().await;
                }
                if text == "slow" {
                    tokio::time::sleep(Duration::from_secs(3)).await;
                }
                // Chat 1 is slow, so chat 2 overtakes it unless ordering is per chat only.
                if chat == 1 {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                seen.lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push((chat, text));
            }
        }
    };
    let task = tokio::spawn(telegram::poll(
        bot,
        store.clone(),
        settings.token,
        handle,
        stop_rx,
    ));
    (task, stop_tx)
}

async fn wait_for(seen: &Seen, count: usize) {
    let started = Instant::now();
    while seen.lock().map(|s| s.len()).unwrap_or(0) < count {
        assert!(
            started.elapsed() < Duration::from_secs(40),
            "only {:?}",
            seen.lock().map(|s| s.clone())
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
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
    let seen: Seen = Arc::default();
    let (one, two) = (sim.user(1, "Ann"), sim.user(2, "Bo"));
    for i in 0..5 {
        one.send_text(&format!("a{i}")).await;
        two.send_text(&format!("b{i}")).await;
    }

    let (task, stop) = start(&sim, &store, &seen);
    wait_for(&seen, 10).await;
    assert_eq!(texts(&seen, 1), ["a0", "a1", "a2", "a3", "a4"]);
    assert_eq!(texts(&seen, 2), ["b0", "b1", "b2", "b3", "b4"]);
    // Chat 2 was not held up by slow chat 1.
    let order = seen.lock().map(|s| s.clone()).unwrap_or_default();
    assert_eq!(order[0].0, 2, "{order:?}");

    // The offset is stored with the batch; handled updates leave the inbox.
    let started = Instant::now();
    while store.setting(OFFSET_SETTING).await.ok().flatten().is_none() {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "offset never stored"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let _ = stop.send(true);
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .unwrap_or_else(|_| panic!("the poller did not stop"))
        .unwrap_or_else(|e| panic!("{e}"));

    // A host killed in the middle of an update gets it again after the restart.
    one.send_text("hang").await;
    let (task, _stop) = start(&sim, &store, &seen);
    tokio::time::sleep(Duration::from_millis(500)).await;
    task.abort();
    let _ = task.await;
    assert_eq!(texts(&seen, 1).len(), 5, "nothing new was handled");

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
        bot_settings.token,
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
    let seen: Seen = Arc::default();
    let (task, _stop) = start(&sim, &store, &seen);
    sim.user(3, "Cy").send_text("still there?").await;
    wait_for(&seen, 1).await;
    assert_eq!(texts(&seen, 3), ["still there?"]);
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
    let seen: Seen = Arc::default();
    let (task, stop) = start(&sim, &store, &seen);
    let (slow, quick) = (sim.user(4, "Di"), sim.user(5, "Ed"));
    slow.send_text("slow").await;
    slow.send_text("after slow").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    // Sent after the slow update was taken: with a batch barrier these
    // would wait for it.
    let started = Instant::now();
    for i in 0..3 {
        quick.send_text(&format!("q{i}")).await;
    }
    wait_for(&seen, 3).await;
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "the quick chat waited {:?} for the slow one",
        started.elapsed()
    );
    assert_eq!(texts(&seen, 5), ["q0", "q1", "q2"]);
    assert!(texts(&seen, 4).is_empty(), "the slow update finished early");
    wait_for(&seen, 5).await;
    assert_eq!(texts(&seen, 4), ["slow", "after slow"]);

    let started = Instant::now();
    loop {
        let pending = store
            .inbox_pending()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        if pending.is_empty() {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "still in the inbox: {pending:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let _ = stop.send(true);
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .unwrap_or_else(|_| panic!("the poller did not stop"))
        .unwrap_or_else(|e| panic!("{e}"));
}
