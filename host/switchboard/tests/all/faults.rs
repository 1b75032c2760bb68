//! The fault suite: customers check out while the CRM, the plugin, Telegram
//! or the store misbehave. Every scenario ends with the same ledger check:
//! every order a customer confirmed is in the store, every one delivered is
//! in the simulated CRM exactly once (duplicates 0), and the customers who
//! were told "we'll confirm shortly" got their follow-up. Each scenario
//! prints its figures (`cargo test faults -- --nocapture`); they are
//! recorded in docs/RELIABILITY.md.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use switchboard::config::{
    MessageLimits, PluginSettings, RateLimit, ShopSettings, TelegramSettings, UpdateMode,
};
use switchboard_crm::LeadKind;
use switchboard_outbox::RetryPolicy;
use switchboard_plugin_runtime::Registry;
use switchboard_plugin_runtime::breaker::{BreakerSettings, BreakerState};
use switchboard_shop::service::{self, Parts};
use switchboard_sim::{Fault, KeyCrmConfig, KeyCrmSim};
use switchboard_store::{LeadState, Store};
use switchboard_telegram_sim::{SimConfig, SimFault, TelegramSim, TranscriptEntry, VirtualUser};

use crate::support::{keycrm_settings, root, runtime};

/// Generous: some scenarios wait out Retry-After and slow answers.
pub(crate) const WAIT: Duration = Duration::from_secs(60);

/// A quick retry policy, so a scenario drains in seconds.
pub(crate) fn quick_policy() -> RetryPolicy {
    RetryPolicy {
        base: Duration::from_millis(200),
        max: Duration::from_secs(2),
        max_plugin_faults: 3,
        lease: Duration::from_secs(30),
        concurrency: 4,
        tick: Duration::from_millis(100),
        in_doubt: Duration::from_secs(1),
    }
}

pub(crate) struct Rig {
    pub(crate) telegram: TelegramSim,
    pub(crate) crm: KeyCrmSim,
    pub(crate) store: Store,
    pub(crate) registry: Arc<Registry>,
    pub(crate) db_url: String,
    pub(crate) _stop: tokio::sync::watch::Sender<bool>,
    pub(crate) _dir: tempfile::TempDir,
}

pub(crate) fn plugin_settings(crm: &KeyCrmSim, test_build: bool) -> PluginSettings {
    let mut settings = keycrm_settings(crm);
    if test_build {
        let path = root().join("plugins/dist/test/keycrm.wasm");
        assert!(
            path.is_file(),
            "{} is missing: run `make plugins`",
            path.display()
        );
        settings.path = path;
    }
    settings.rate_limit = Some(RateLimit {
        requests: 10_000,
        per_seconds: 1,
    });
    settings
}

pub(crate) async fn rig(
    policy: RetryPolicy,
    plugin: impl FnOnce(&KeyCrmSim) -> PluginSettings,
) -> Rig {
    let telegram = TelegramSim::start(SimConfig::default())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let crm = KeyCrmSim::start(KeyCrmConfig::with_catalog(20))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let db_url = format!("sqlite://{}", dir.path().join("shop.db").display());
    let store = Store::open(&db_url).await.unwrap_or_else(|e| panic!("{e}"));
    let registry = Arc::new(Registry::with_breaker_settings(
        runtime(),
        BreakerSettings {
            failures_to_open: 3,
            cool_down: Duration::from_millis(500),
        },
    ));
    registry
        .activate(&plugin(&crm))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let (stop, stop_rx) = tokio::sync::watch::channel(false);
    service::start(
        Parts {
            telegram: TelegramSettings {
                token: telegram.token().into(),
                api_url: telegram.api_url(),
                mode: UpdateMode::Polling,
                limits: MessageLimits {
                    enabled: false,
                    ..MessageLimits::default()
                },
            },
            shop: ShopSettings {
                support_url: Some("https://t.me/shop_support".into()),
                ..ShopSettings::default()
            },
            tariff: None,
            store: store.clone(),
            registry: Arc::clone(&registry),
            retry: policy,
        },
        stop_rx,
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    Rig {
        telegram,
        crm,
        store,
        registry,
        db_url,
        _stop: stop,
        _dir: dir,
    }
}

/// What the customer was told after confirming.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Told {
    /// The CRM's number at once.
    Number,
    /// "Received, we'll confirm shortly".
    Pending,
    /// "Couldn't place your order".
    Failed,
}

pub(crate) async fn wait_text(user: &VirtualUser, any_of: &[&str]) -> String {
    let wanted: Vec<String> = any_of.iter().map(|s| s.to_string()).collect();
    user.wait_until(
        move |m| {
            wanted.iter().any(|w| {
                m.body().contains(w.as_str())
                    || m.inline_buttons()
                        .iter()
                        .any(|(t, _)| t.contains(w.as_str()))
            })
        },
        WAIT,
    )
    .await
    .unwrap_or_else(|e| {
        panic!(
            "user {} waiting for {any_of:?}: {e:?}; last: {:?}",
            user.id(),
            user.last_message().map(|m| m.body().to_string())
        )
    })
    .body()
    .to_string()
}

pub(crate) async fn press(user: &VirtualUser, label: &str) {
    user.press(label)
        .await
        .unwrap_or_else(|e| panic!("user {} pressing `{label}`: {e:?}", user.id()));
}

/// Waits until the bot asks `user` for their phone (a reply keyboard).
pub(crate) async fn wait_for_phone_request(user: &VirtualUser) {
    let started = Instant::now();
    while user.reply_keyboard().is_none() {
        assert!(
            started.elapsed() < WAIT,
            "user {} was never asked for their phone",
            user.id()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// One checkout: the first product with "Order now", the customer's own
/// contact, Confirm.
pub(crate) async fn checkout(user: VirtualUser) -> (VirtualUser, Told) {
    user.send_command("/catalog").await;
    wait_text(&user, &["сторінка 1"]).await;
    let first = user
        .last_message()
        .and_then(|m| m.inline_buttons().first().map(|(t, _)| t.clone()))
        .unwrap_or_else(|| panic!("no catalog buttons"));
    press(&user, &first).await;
    wait_text(&user, &["Замовити зараз"]).await;
    press(&user, "Замовити зараз").await;
    wait_for_phone_request(&user).await;
    user.share_contact("+380501234567", true).await;
    wait_text(&user, &["Підтвердити"]).await;
    press(&user, "Підтвердити").await;
    let told = wait_text(
        &user,
        &["№", "невдовзі його підтвердимо", "не вдалося оформити"],
    )
    .await;
    let told = if told.contains("невдовзі") {
        Told::Pending
    } else if told.contains("не вдалося") {
        Told::Failed
    } else {
        Told::Number
    };
    (user, told)
}

/// `n` customers (ids from `first`) check out at once.
async fn checkouts(rig: &Rig, first: i64, n: i64, name: &str) -> Vec<(VirtualUser, Told)> {
    let mut tasks = tokio::task::JoinSet::new();
    for id in first..first + n {
        tasks.spawn(checkout(rig.telegram.user(id, name)));
    }
    let mut done = Vec::new();
    while let Some(result) = tasks.join_next().await {
        done.push(result.unwrap_or_else(|e| panic!("{e}")));
    }
    done
}

/// Waits until no lead is pending; returns how long that took.
pub(crate) async fn drained(store: &Store, within: Duration) -> Duration {
    let started = Instant::now();
    loop {
        let counts = store
            .outbox_counts()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        if !counts
            .iter()
            .any(|(s, n)| *s == LeadState::Pending && *n > 0)
        {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < within,
            "the outbox did not drain: {counts:?}; {:?}",
            store
                .outbox(Some(LeadState::Pending), 5)
                .await
                .ok()
                .map(|rows| rows
                    .iter()
                    .map(|r| (r.id, r.attempts, r.last_error.clone()))
                    .collect::<Vec<_>>())
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Cards in the simulated CRM by the idempotency key in their comment.
pub(crate) fn cards_by_key(crm: &KeyCrmSim) -> HashMap<String, usize> {
    let mut keys = HashMap::new();
    for card in crm.cards() {
        let comment = card["manager_comment"].as_str().unwrap_or_default();
        let key = comment
            .lines()
            .find_map(|l| l.strip_prefix("Switchboard key: "))
            .unwrap_or_else(|| panic!("a card without a key: {card}"));
        *keys.entry(key.to_string()).or_insert(0) += 1;
    }
    keys
}

/// The ledger after a scenario.
#[derive(Debug, Default)]
struct Ledger {
    confirmed: usize,
    delivered: usize,
    dead: usize,
    in_crm: usize,
    duplicates: usize,
}

/// Checks the invariants and returns the figures.
async fn ledger(rig: &Rig, confirmed: usize) -> Ledger {
    ledger_of(&rig.store, &rig.crm, confirmed).await
}

/// [`ledger`] for any store and simulated KeyCRM.
async fn ledger_of(store: &Store, crm: &KeyCrmSim, confirmed: usize) -> Ledger {
    let rows = store
        .outbox(None, 10_000)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let keys = cards_by_key(crm);
    let ledger = Ledger {
        confirmed,
        delivered: rows
            .iter()
            .filter(|r| r.state == LeadState::Delivered)
            .count(),
        dead: rows.iter().filter(|r| r.state == LeadState::Dead).count(),
        in_crm: keys.len(),
        duplicates: keys.values().map(|n| n - 1).sum(),
    };
    assert_eq!(rows.len(), confirmed, "every confirmed order is stored");
    assert_eq!(ledger.duplicates, 0, "duplicates in the CRM: {keys:?}");
    for row in rows.iter().filter(|r| r.state == LeadState::Delivered) {
        assert!(
            keys.contains_key(&row.lead.idempotency_key),
            "lead {} is marked delivered but is not in the CRM",
            row.id
        );
    }
    assert_eq!(ledger.in_crm, ledger.delivered, "{ledger:?}");
    // Every customer pressed "Order now" once: a step run twice after a
    // restart or a redelivery would show as a second unit.
    for row in &rows {
        if let LeadKind::Order(lines) = &row.lead.kind {
            let units: u32 = lines.iter().map(|l| l.quantity).sum();
            assert_eq!(units, 1, "lead {} carries {units} units", row.id);
        }
    }
    ledger
}

/// Customers told "we'll confirm" hear back: the number, or an apology.
async fn followed_up(outcomes: &[(VirtualUser, Told)]) -> usize {
    let mut n = 0;
    for (user, told) in outcomes {
        if *told == Told::Pending {
            wait_text(user, &["підтверджено", "Нам дуже прикро"]).await;
            n += 1;
        }
    }
    n
}

fn report(scenario: &str, ledger: &Ledger, drain: Duration, followups: usize) {
    println!(
        "FAULTS {scenario}: confirmed {}, delivered {}, in CRM {}, duplicates {}, dead-lettered {}, follow-ups {followups}, drained {:.1} s after the last checkout",
        ledger.confirmed,
        ledger.delivered,
        ledger.in_crm,
        ledger.duplicates,
        ledger.dead,
        drain.as_secs_f64()
    );
}

async fn scenario(rig: &Rig, name: &str, customers: i64, first_id: i64) -> Ledger {
    let outcomes = checkouts(rig, first_id, customers, "Покупець").await;
    let drain = drained(&rig.store, WAIT).await;
    let followups = followed_up(&outcomes).await;
    let ledger = ledger(rig, outcomes.len()).await;
    report(name, &ledger, drain, followups);
    assert!(
        rig.telegram
            .rejected_requests()
            .iter()
            .all(|r| r.error_code != 400),
        "{:?}",
        rig.telegram.rejected_requests()
    );
    ledger
}

/// Asserts that the `times` faults injected for `/pipelines/cards` were all
/// met by the host's traffic and that they hit orders. The simulator hands a
/// fault to each request under the prefix while any are left, so `times`
/// such requests in its log mean every fault was served; a stored lead with
/// a failed attempt means an order met one.
async fn faults_met(rig: &Rig, times: usize) {
    let requests = rig.crm.requests();
    let under_prefix = requests
        .iter()
        .filter(|r| r.path.starts_with("/v1/pipelines/cards"))
        .count();
    assert!(
        under_prefix >= times,
        "only {under_prefix} requests met the {times} injected faults"
    );
    let rows = rig
        .store
        .outbox(None, 10_000)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        rows.iter().any(|r| r.attempts > 0),
        "no order met a fault: {:?}",
        rows.iter().map(|r| (r.id, r.attempts)).collect::<Vec<_>>()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crm_500s_for_a_while_then_recovers() {
    let rig = rig(quick_policy(), |crm| plugin_settings(crm, false)).await;
    rig.crm
        .inject_for("/pipelines/cards", Fault::ServerError(500), Some(12));
    let ledger = scenario(&rig, "500 for a while", 8, 1000).await;
    assert_eq!(ledger.delivered, 8);
    faults_met(&rig, 12).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_storm_with_retry_after_is_waited_out() {
    let rig = rig(quick_policy(), |crm| plugin_settings(crm, false)).await;
    rig.crm.inject_for(
        "/pipelines/cards",
        Fault::RateLimited {
            retry_after_secs: 1,
        },
        Some(10),
    );
    let ledger = scenario(&rig, "429 storm", 8, 2000).await;
    assert_eq!(ledger.delivered, 8);
    faults_met(&rig, 10).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crm_answering_after_15_s_is_not_duplicated() {
    // The plugin gives up after 5 s; the CRM still creates the card at 15 s.
    // The retry waits past that (`in_doubt`) and its lookup finds the card.
    let policy = RetryPolicy {
        in_doubt: Duration::from_secs(17),
        ..quick_policy()
    };
    let rig = rig(policy, |crm| plugin_settings(crm, false)).await;
    rig.crm.inject_for(
        "/pipelines/cards",
        Fault::Slow(Duration::from_secs(15)),
        Some(1),
    );
    let ledger = scenario(&rig, "CRM answers after 15 s", 3, 3000).await;
    assert_eq!(ledger.delivered, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_json_answers_are_retried() {
    let rig = rig(quick_policy(), |crm| plugin_settings(crm, false)).await;
    rig.crm
        .inject_for("/pipelines/cards", Fault::MalformedJson, Some(4));
    let ledger = scenario(&rig, "malformed JSON", 6, 4000).await;
    assert_eq!(ledger.delivered, 6);
    faults_met(&rig, 4).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_response_after_the_crm_applied_the_create_is_not_duplicated() {
    let rig = rig(quick_policy(), |crm| plugin_settings(crm, false)).await;
    rig.crm
        .inject_for("/pipelines/cards", Fault::ApplyThenDrop, Some(3));
    let ledger = scenario(&rig, "applied, then connection dropped", 6, 5000).await;
    assert_eq!(ledger.delivered, 6);
    // The lookups happened: retries listed the cards before creating.
    assert!(
        rig.crm
            .requests()
            .iter()
            .any(|r| r.method == "GET" && r.path.starts_with("/v1/pipelines/cards")),
        "no lookup was made"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_trapping_on_one_order_dead_letters_only_that_order() {
    let rig = rig(quick_policy(), |crm| plugin_settings(crm, true)).await;
    let mut outcomes = checkouts(&rig, 6000, 4, "Покупець").await;
    let (bomb, told) = checkout(rig.telegram.user(6100, "[trap] Бомба")).await;
    assert_eq!(told, Told::Pending, "a trap is not the customer's fault");
    outcomes.push((bomb.clone(), told));
    let drain = drained(&rig.store, WAIT).await;
    let followups = followed_up(&outcomes).await;
    let ledger = ledger(&rig, outcomes.len()).await;
    report("plugin traps on one order", &ledger, drain, followups);
    assert_eq!((ledger.delivered, ledger.dead), (4, 1));
    let dead = rig
        .store
        .outbox(Some(LeadState::Dead), 10)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(dead[0].user_id, 6100);
    assert!(
        dead[0]
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("3 times")),
        "{:?}",
        dead[0].last_error
    );
    // The apology (already waited for above) sends them to support.
    let apology = bomb
        .messages()
        .into_iter()
        .find(|m| m.body().contains("Нам дуже прикро"))
        .unwrap_or_else(|| panic!("no apology"));
    assert!(apology.body().contains("підтримку"), "{}", apology.body());
    assert!(
        apology
            .inline_buttons()
            .iter()
            .any(|(_, data)| data.contains("t.me/shop_support")),
        "{:?}",
        apology.inline_buttons()
    );
    // Three traps in a row opened the circuit; after its cool-down (500 ms
    // here) the next customer's order goes through at once.
    let active = rig.registry.active().unwrap_or_else(|e| panic!("{e}"));
    let started = Instant::now();
    while let Some(state @ BreakerState::Open { .. }) = active.breaker_state() {
        assert!(started.elapsed() < WAIT, "the circuit stays {state:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (_, told) = checkout(rig.telegram.user(6200, "Наступний")).await;
    assert_eq!(told, Told::Number);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn swapping_the_plugin_mid_run_loses_nothing() {
    let rig = rig(quick_policy(), |crm| plugin_settings(crm, false)).await;
    let settings = plugin_settings(&rig.crm, false);
    let done = std::sync::atomic::AtomicBool::new(false);
    // Swaps whenever the CRM has seen a request since the last swap, until
    // the scenario is over: every swap but the last has traffic after it.
    let swapper = async {
        let mut at = Vec::new();
        loop {
            let seen = at.last().copied().unwrap_or(0);
            while rig.crm.requests().len() <= seen {
                if done.load(std::sync::atomic::Ordering::SeqCst) {
                    return at;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            rig.registry
                .activate(&settings)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            at.push(rig.crm.requests().len());
        }
    };
    // Half of the orders fail at first, so the outbox works across swaps too.
    rig.crm
        .inject_for("/pipelines/cards", Fault::ServerError(503), Some(5));
    let run = async {
        let ledger = scenario(&rig, "plugin swapped mid-run", 10, 7000).await;
        done.store(true, std::sync::atomic::Ordering::SeqCst);
        ledger
    };
    let (ledger, swaps) = tokio::join!(run, swapper);
    assert_eq!(ledger.delivered, 10);
    faults_met(&rig, 5).await;
    // Several swaps, each between CRM requests of the run.
    let total = rig.crm.requests().len();
    assert!(swaps.len() >= 3, "only {} swaps: {swaps:?}", swaps.len());
    assert!(
        swaps[0] > 0 && swaps[swaps.len() - 2] < total,
        "swaps at requests {swaps:?} of {total}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn telegram_429_and_502_delay_replies_but_lose_nothing() {
    let rig = rig(quick_policy(), |crm| plugin_settings(crm, false)).await;
    rig.telegram
        .inject("sendMessage", SimFault::RetryAfter(1), 3);
    // After the 429s: replies the Bot API fails with a 502 are sent again,
    // not lost (every customer below waits for each of their replies).
    rig.telegram.inject("sendMessage", SimFault::Status(502), 2);
    rig.telegram.inject("getUpdates", SimFault::Status(502), 2);
    let ledger = scenario(&rig, "Telegram 429 and 502", 6, 8000).await;
    assert_eq!(ledger.delivered, 6);
    // The faults were really met, not left unused.
    let met: Vec<u16> = rig
        .telegram
        .rejected_requests()
        .iter()
        .map(|r| r.error_code)
        .collect();
    assert_eq!(met.iter().filter(|c| **c == 429).count(), 3, "{met:?}");
    assert_eq!(met.iter().filter(|c| **c == 502).count(), 4, "{met:?}");
}

/// Bot API calls to `chat` after transcript entry `from`.
fn calls_to(telegram: &TelegramSim, chat: i64, from: usize) -> usize {
    telegram
        .transcript()
        .iter()
        .skip(from + 1)
        .filter(|e| e.method().is_some() && e.chat_id() == Some(chat))
        .count()
}

/// Each customer's last update, where the bot has not called their chat
/// since: (position, chat).
fn unanswered(telegram: &TelegramSim) -> Vec<(usize, i64)> {
    let mut last = HashMap::new();
    for (at, chat) in updates_since(telegram, 0) {
        last.insert(chat, at);
    }
    let mut owed: Vec<(usize, i64)> = last
        .into_iter()
        .filter(|(chat, at)| calls_to(telegram, *chat, *at) == 0)
        .map(|(chat, at)| (at, chat))
        .collect();
    owed.sort_unstable();
    owed
}

/// Customer updates that arrived at transcript position `from` or later:
/// (position, chat).
fn updates_since(telegram: &TelegramSim, from: usize) -> Vec<(usize, i64)> {
    telegram
        .transcript()
        .iter()
        .enumerate()
        .skip(from)
        .filter_map(|(i, e)| match e {
            TranscriptEntry::Update {
                chat_id: Some(chat),
                ..
            } => Some((i, *chat)),
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_sqlite_database_slows_checkouts_but_loses_nothing() {
    use sqlx::Connection;
    let rig = rig(quick_policy(), |crm| plugin_settings(crm, false)).await;
    // Another process's write transactions: while one is open, every write
    // of the host waits for it.
    let mut conn = sqlx::SqliteConnection::connect(&rig.db_url)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let begin = async |conn: &mut sqlx::SqliteConnection| {
        sqlx::query("BEGIN IMMEDIATE")
            .execute(conn)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    };
    // How long each of the other process's transactions holds the lock.
    const BUSY: Duration = Duration::from_millis(1500);
    // The first window opens before any customer writes.
    begin(&mut conn).await;
    let blocker = async {
        let mut caught = Vec::new();
        for window in 0..3 {
            if window > 0 {
                // Open the next window once the host has answered the update
                // the last one held back: the customers are mid-checkout.
                let (at, chat) = caught.last().copied().unwrap_or_default();
                let started = Instant::now();
                while calls_to(&rig.telegram, chat, at) == 0 {
                    assert!(started.elapsed() < WAIT, "chat {chat} was never answered");
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
                begin(&mut conn).await;
            }
            // Updates the host still owes an answer when the window opens
            // (it has to write before it answers), and those that arrive
            // while it is open.
            let owed = unanswered(&rig.telegram);
            let from = rig.telegram.transcript().len();
            // The fault itself: the lock is held for this long.
            tokio::time::sleep(BUSY).await;
            // It overlapped the checkouts: some update waited for it.
            let arrived = updates_since(&rig.telegram, from);
            let held: Vec<(usize, i64)> = owed.iter().chain(&arrived).copied().collect();
            let Some(&(at, chat)) = held.first() else {
                panic!("no customer's update met window {window}")
            };
            if window == 0 {
                // The host must store an update before it answers, so
                // nobody got an answer while the first window was open.
                for &(at, chat) in &held {
                    assert_eq!(
                        calls_to(&rig.telegram, chat, at),
                        0,
                        "chat {chat} was answered while the database was locked"
                    );
                }
            }
            sqlx::query("COMMIT")
                .execute(&mut conn)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            caught.push((at, chat));
        }
        caught
    };
    let (ledger, caught) = tokio::join!(scenario(&rig, "SQLite busy", 6, 9000), blocker);
    assert_eq!(ledger.delivered, 6);
    // Each window overlapped the checkouts: a customer's update arrived
    // while it was open, and was answered.
    assert_eq!(caught.len(), 3, "{caught:?}");
    for (at, chat) in caught {
        assert!(calls_to(&rig.telegram, chat, at) > 0, "chat {chat}");
    }
}

/// The real binary, configured against the simulators.
struct Host {
    child: std::process::Child,
}

/// What a host writes to stderr, collected by a thread of its own.
struct HostLog {
    lines: Arc<std::sync::Mutex<Vec<String>>>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl HostLog {
    /// Every line, once the host has exited (its stderr closed) and the
    /// reader has stored the last of them.
    fn after_exit(mut self) -> Vec<String> {
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
        self.lines.lock().map(|l| l.clone()).unwrap_or_default()
    }
}

impl Host {
    fn start(config: &std::path::Path) -> Self {
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_switchboard"))
            .args(["run", "--config"])
            .arg(config)
            .env("SWITCHBOARD_LOG", "warn")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{e}"));
        Self { child }
    }

    /// Starts the host with its warnings collected.
    fn start_logged(config: &std::path::Path) -> (Self, HostLog) {
        use std::io::BufRead;
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_switchboard"))
            .args(["run", "--config"])
            .arg(config)
            .env("SWITCHBOARD_LOG", "warn")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{e}"));
        let lines = Arc::new(std::sync::Mutex::new(Vec::new()));
        let reader = child.stderr.take().map(|stderr| {
            let lines = Arc::clone(&lines);
            std::thread::spawn(move || {
                for line in std::io::BufReader::new(stderr)
                    .lines()
                    .map_while(Result::ok)
                {
                    if let Ok(mut all) = lines.lock() {
                        all.push(line);
                    }
                }
            })
        });
        (Self { child }, HostLog { lines, reader })
    }

    fn kill_9(&mut self) {
        let status = std::process::Command::new("kill")
            .args(["-KILL", &self.child.id().to_string()])
            .status()
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(status.success());
        let _ = self.child.wait();
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn host_config(
    telegram: &TelegramSim,
    crm: &KeyCrmSim,
    dir: &std::path::Path,
) -> std::path::PathBuf {
    let path = dir.join("switchboard.toml");
    let text = format!(
        r#"
[crm]
active = "keycrm"
[telegram]
token = "{token}"
api_url = "{api_url}"
[telegram.limits]
enabled = false
[storage]
url = "sqlite://{db}"
[runtime]
cache_dir = "{cache}"
[outbox]
retry_base_ms = 200
retry_max_ms = 2000
# Longer than the slow CRM below takes to apply a cut-off request.
in_doubt_ms = 1500
breaker_cool_down_ms = 500
[plugins.keycrm]
path = "{plugin}"
allowed_hosts = ["{crm_addr}"]
allow_http_loopback = true
[plugins.keycrm.config]
base_url = "{base_url}"
api_key = "test-key"
source_id = 1
"#,
        token = telegram.token(),
        api_url = telegram.api_url(),
        db = dir.join("shop.db").display(),
        cache = crate::support::cache_dir().display(),
        plugin = crate::support::dist("keycrm.wasm").display(),
        crm_addr = crm.addr(),
        base_url = crm.base_url(),
    );
    std::fs::write(&path, text).unwrap_or_else(|e| panic!("{e}"));
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_concurrent_checkouts_loses_no_order_and_no_dialogue() {
    let telegram = TelegramSim::start(SimConfig::default())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let crm = KeyCrmSim::start(KeyCrmConfig::with_catalog(20))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let config = host_config(&telegram, &crm, dir.path());
    let mut host = Host::start(&config);
    // Up and serving.
    let first = telegram.user(11_000, "Перший");
    first.send_command("/start").await;
    wait_text(&first, &["Вітаємо"]).await;

    // The CRM is slow to take cards, so some checkouts are mid-attempt
    // when the host dies.
    crm.inject_for(
        "/pipelines/cards",
        Fault::Slow(Duration::from_millis(400)),
        Some(6),
    );
    let customers = 12;
    let mut tasks = tokio::task::JoinSet::new();
    for id in 11_100..11_100 + customers {
        tasks.spawn(checkout(telegram.user(id, "Покупець")));
    }
    // Kill it when the first confirmations are in, while others are between
    // steps or waiting for the CRM.
    let started = Instant::now();
    while crm.cards().len() < 3 {
        assert!(started.elapsed() < WAIT, "no card reached the CRM");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // `kill_9` returns once the process is gone. Requests it had in flight
    // may still land in the CRM afterwards; the restarted host's in-doubt
    // lookup finds them either way, so there is nothing to wait for.
    host.kill_9();
    let killed_with = crm.cards().len();
    let _host = Host::start(&config);

    // Every customer finishes their checkout: nobody's dialogue was lost.
    let mut outcomes = Vec::new();
    while let Some(done) = tasks.join_next().await {
        outcomes.push(done.unwrap_or_else(|e| panic!("{e}")));
    }
    assert_eq!(outcomes.len(), customers as usize);
    // A step replayed after the restart shows where the chat stands; it never
    // meets the customer as a stale button.
    for (user, _) in &outcomes {
        let stale = user
            .messages()
            .iter()
            .any(|m| m.body().contains("застаріла"));
        assert!(
            !stale,
            "user {} was told a button is out of date",
            user.id()
        );
    }
    let store = Store::open(&format!(
        "sqlite://{}",
        dir.path().join("shop.db").display()
    ))
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let drain = drained(&store, WAIT).await;
    let followups = followed_up(&outcomes).await;
    let ledger = ledger_of(&store, &crm, outcomes.len()).await;
    report(
        &format!("SIGKILL mid-run ({killed_with} cards in when killed)"),
        &ledger,
        drain,
        followups,
    );
    // `ledger_of` checked one lead per customer, all in the CRM once.
    assert_eq!(ledger.delivered, customers as usize);
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_finishes_work_in_flight_and_exits_promptly() {
    let telegram = TelegramSim::start(SimConfig::default())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let crm = KeyCrmSim::start(KeyCrmConfig::with_catalog(5))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let config = host_config(&telegram, &crm, dir.path());
    let (mut host, log) = Host::start_logged(&config);
    let user = telegram.user(12_000, "Олег");
    user.send_command("/start").await;
    wait_text(&user, &["Вітаємо"]).await;

    // An order is being taken by a slow CRM when the host is told to stop.
    crm.inject_for(
        "/pipelines/cards",
        Fault::Slow(Duration::from_secs(2)),
        Some(1),
    );
    let checkout = tokio::spawn(checkout(telegram.user(12_001, "Покупець")));
    let started = Instant::now();
    while crm.requests().iter().all(|r| r.method != "POST") {
        assert!(started.elapsed() < WAIT, "the order never reached the CRM");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let status = std::process::Command::new("kill")
        .args(["-TERM", &host.child.id().to_string()])
        .status()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(status.success());
    let stopping = Instant::now();
    let exit = loop {
        if let Some(exit) = host.child.try_wait().unwrap_or_else(|e| panic!("{e}")) {
            break exit;
        }
        assert!(stopping.elapsed() < WAIT, "still running after SIGTERM");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(exit.success(), "{exit:?}");
    // Promptly: it finished what was in flight instead of running into its
    // own shutdown limit (which it says when it does).
    let said = log.after_exit();
    assert!(
        !said
            .iter()
            .any(|l| l.contains("stopped before everything in flight finished")),
        "{said:?}"
    );
    // The update in flight was finished, not cut off: the customer got
    // their number, and the order is delivered in the store.
    let (_, told) = checkout.await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(told, Told::Number);
    let store = Store::open(&format!(
        "sqlite://{}",
        dir.path().join("shop.db").display()
    ))
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let rows = store
        .outbox(None, 10)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].state, LeadState::Delivered);
    assert!(store.inbox_pending().await.unwrap_or_default().is_empty());
    println!(
        "FAULTS SIGTERM: exited {:.1} s after the signal, the order in flight delivered",
        stopping.elapsed().as_secs_f64()
    );
    store.close().await;
}
