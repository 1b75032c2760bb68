//! Follow-ups: a customer told "we'll confirm shortly" hears back even when
//! Telegram is unreachable for a while, and a customer who blocked the bot
//! is not retried forever.

use std::sync::Arc;

use switchboard::config::{MessageLimits, ShopSettings, TelegramSettings, UpdateMode};
use switchboard_shop::followup::FollowUps;
use switchboard_store::{Settle, Store};
use switchboard_telegram::client as telegram;
use switchboard_telegram::i18n::{Locale, Texts};
use switchboard_telegram::outgoing::Outgoing;
use switchboard_telegram_sim::{SimConfig, SimFault, TelegramSim};

/// An order of `chat` the outbox delivered after the customer was told
/// "we'll confirm shortly", so a follow-up with its number is owed.
async fn owed(store: &Store, chat: i64) -> i64 {
    let new = crate::store::order(&format!("followup-{chat}"), chat);
    let id = store
        .record_lead(&new, None, false)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let delivered = Settle::Delivered {
        crm_id: format!("C-{chat}"),
        crm_url: None,
    };
    store
        .settle(id, &delivered, true)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    id
}

fn sender(api_url: String, token: &str, store: &Store) -> FollowUps {
    let settings = TelegramSettings {
        token: token.into(),
        api_url,
        mode: UpdateMode::Polling,
        limits: MessageLimits {
            enabled: false,
            ..MessageLimits::default()
        },
    };
    FollowUps {
        bot: telegram::client(&settings).unwrap_or_else(|e| panic!("{e}")),
        store: store.clone(),
        texts: Arc::new(Texts::new(Locale::Uk)),
        shop: ShopSettings::default(),
        token: token.into(),
        outgoing: Arc::new(Outgoing::new(settings.limits)),
    }
}

async fn still_owed(store: &Store) -> usize {
    store
        .followups_due(50)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follow_up_waits_out_an_unreachable_telegram_and_skips_a_blocked_customer() {
    let sim = TelegramSim::start(SimConfig::default())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let store = Store::open("sqlite::memory:")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let customer = sim.user(4_001, "Чекає");
    let blocked = sim.user(4_002, "Заблокував");
    blocked.block();
    owed(&store, 4_001).await;
    owed(&store, 4_002).await;

    // Nothing listens there: every attempt fails to connect, so nothing is
    // marked sent and both are still owed.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap_or_else(|e| panic!("{e}"));
    let down = sender(format!("http://{closed}/"), sim.token(), &store);
    assert_eq!(down.send_due().await, 0);
    assert_eq!(still_owed(&store).await, 2);

    // Telegram is back but answers 502 twice: the follow-up is sent again,
    // not taken as refused. The waiting customer gets the number; the one
    // who blocked the bot is refused for good and no longer owed.
    sim.inject("sendMessage", SimFault::Status(502), 2);
    let up = sender(sim.api_url(), sim.token(), &store);
    assert_eq!(up.send_due().await, 2);
    assert_eq!(still_owed(&store).await, 0);
    let codes: Vec<u16> = sim
        .rejected_requests()
        .iter()
        .map(|r| r.error_code)
        .collect();
    assert_eq!(codes, [502, 502, 403], "the faults were met");
    let told = customer
        .wait_until(
            |m| m.body().contains("C-4001"),
            std::time::Duration::from_secs(5),
        )
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert!(told.body().contains("підтверджено"), "{}", told.body());
    assert!(blocked.messages().is_empty());
}
