//! The customer dialogue end to end: the Bot API simulator, the real
//! `keycrm.wasm`, the KeyCRM simulator and a real SQLite store.

use std::sync::Arc;
use std::time::Duration;

use switchboard::bot::service::{self, Parts};
use switchboard::config::{MessageLimits, RateLimit, ShopSettings, TelegramSettings, UpdateMode};
use switchboard::plugin::Registry;
use switchboard::store::Store;
use switchboard_sim::{KeyCrmConfig, KeyCrmSim};
use switchboard_telegram_sim::{SimConfig, TelegramSim, VirtualUser};

use crate::support::{keycrm_settings, runtime};

const WAIT: Duration = Duration::from_secs(15);

struct Shop {
    telegram: TelegramSim,
    crm: KeyCrmSim,
    store: Store,
    _stop: tokio::sync::watch::Sender<bool>,
}

async fn shop(offers: usize) -> Shop {
    let telegram = TelegramSim::start(SimConfig::default())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let crm = KeyCrmSim::start(KeyCrmConfig::with_catalog(offers))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let store = Store::open("sqlite::memory:")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let registry = Arc::new(Registry::new(runtime()));
    let mut settings = keycrm_settings(&crm);
    settings.rate_limit = Some(RateLimit {
        requests: 10_000,
        per_seconds: 1,
    });
    registry
        .activate(&settings)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let parts = Parts {
        telegram: TelegramSettings {
            token: telegram.token().to_string(),
            api_url: telegram.api_url(),
            mode: UpdateMode::Polling,
            limits: MessageLimits {
                enabled: false,
                ..MessageLimits::default()
            },
        },
        shop: ShopSettings {
            website_url: Some("https://shop.example".into()),
            support_url: Some("https://t.me/shop_support".into()),
            ..ShopSettings::default()
        },
        tariff: None,
        store: store.clone(),
        registry,
    };
    service::start(parts, stop_rx)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    Shop {
        telegram,
        crm,
        store,
        _stop: stop_tx,
    }
}

async fn reply(user: &VirtualUser, contains: &str) -> switchboard_telegram_sim::BotMessage {
    let wanted = contains.to_string();
    user.wait_until(move |m| m.body().contains(&wanted), WAIT)
        .await
        .unwrap_or_else(|e| {
            panic!(
                "waiting for `{contains}`: {e:?}\nlast: {:?}",
                user.last_message().map(|m| m.body().to_string())
            )
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_browses_orders_two_products_and_gets_the_crm_number() {
    let shop = shop(230).await;
    let olena = shop.telegram.user(501, "Олена").with_username("olena_p");

    olena.send_command("/start").await;
    let greeting = reply(&olena, "Олена").await;
    let labels: Vec<String> = greeting
        .inline_buttons()
        .into_iter()
        .map(|(t, _)| t)
        .collect();
    assert!(labels.iter().any(|l| l.contains("Каталог")), "{labels:?}");
    assert!(shop.telegram.commands().iter().any(|(c, _)| c == "catalog"));

    // The catalog: 230 products, 8 a page, to the last page.
    olena
        .press("Каталог")
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    let page = reply(&olena, "1 з 29").await;
    assert_eq!(
        page.inline_buttons()
            .iter()
            .filter(|(t, _)| t.contains(" • "))
            .count(),
        8
    );
    let mut last = page;
    for page in 2..=29 {
        olena
            .press("Наступна")
            .await
            .unwrap_or_else(|e| panic!("{e:?}"));
        last = reply(&olena, &format!("{page} з 29")).await;
    }
    assert_eq!(
        last.inline_buttons()
            .iter()
            .filter(|(t, _)| t.contains(" • "))
            .count(),
        6
    );

    // Two products into the cart, one of them twice.
    let first = last.inline_buttons()[0].0.clone();
    olena
        .press(&first)
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    reply(&olena, "Ціна").await;
    olena
        .press("У кошик")
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    olena
        .press("У кошик")
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    olena
        .press("Назад")
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    let page = reply(&olena, "29 з 29").await;
    let second = page.inline_buttons()[1].0.clone();
    olena
        .press(&second)
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    reply(&olena, "Ціна").await;
    olena
        .press("У кошик")
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    olena.send_command("/cart").await;
    let cart = reply(&olena, "Разом").await;
    assert!(
        cart.body().contains("× 2") && cart.body().contains("× 1"),
        "{}",
        cart.body()
    );

    // Checkout: someone else's contact is refused, her own is taken.
    olena
        .press("Оформити")
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    reply(&olena, "номер").await;
    olena.share_contact("+380671112233", false).await;
    reply(&olena, "іншої людини").await;
    olena.share_contact("380501234567", true).await;
    let summary = reply(&olena, "+380501234567").await;
    assert!(summary.body().contains("Разом"), "{}", summary.body());
    olena
        .press("Підтвердити")
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    let done = reply(&olena, "№").await;
    assert!(done.body().contains("№ 1"), "{}", done.body());

    // The card in KeyCRM has both lines and her Telegram username.
    let cards = shop.crm.cards();
    assert_eq!(cards.len(), 1);
    let products = cards[0]["products"].as_array().cloned().unwrap_or_default();
    assert_eq!(products.len(), 2);
    assert_eq!(
        products
            .iter()
            .map(|p| p["quantity"].as_i64().unwrap_or(0))
            .sum::<i64>(),
        3
    );
    assert_eq!(cards[0]["contact"]["phone"], "+380501234567");
    assert!(
        cards[0]["manager_comment"]
            .as_str()
            .is_some_and(|c| c.contains("@olena_p"))
    );
    // Stored, delivered, cart emptied.
    let orders = shop
        .store
        .leads_of(501, "order", 10)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(orders.len(), 1);
    assert_eq!(orders[0].crm_id.as_deref(), Some("1"));
    assert!(
        shop.store
            .cart(501)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .is_empty()
    );
    assert!(
        shop.telegram.rejected_requests().is_empty(),
        "{:?}",
        shop.telegram.rejected_requests()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tampered_button_gets_a_polite_answer_and_the_menu() {
    let shop = shop(5).await;
    let user = shop.telegram.user(777, "Tester").with_language("en");
    user.send_command("/start").await;
    reply(&user, "Tester").await;
    shop.telegram.push_raw_update(serde_json::json!({
        "update_id": 900_000,
        "callback_query": {
            "id": "forged-1",
            "from": {"id": 777, "is_bot": false, "first_name": "Tester", "language_code": "en"},
            "chat_instance": "x",
            "data": "p:3.AAAAAAAA",
            "message": {"message_id": 1, "date": 0, "chat": {"id": 777, "type": "private", "first_name": "Tester"}, "text": "x"}
        }
    }));
    let answer = user
        .wait_until(|m| m.body().to_lowercase().contains("out of date"), WAIT)
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert!(!answer.body().is_empty());
}
