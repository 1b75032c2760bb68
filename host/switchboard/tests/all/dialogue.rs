//! The customer dialogue end to end: the Bot API simulator, the real
//! `keycrm.wasm`, the KeyCRM simulator and a real SQLite store.

use std::sync::Arc;
use std::time::Duration;

use switchboard::config::{MessageLimits, RateLimit, ShopSettings, TelegramSettings, UpdateMode};
use switchboard_crm::Money;
use switchboard_outbox::RetryPolicy;
use switchboard_plugin_runtime::Registry;
use switchboard_shop::delivery::{Band, Tariff};
use switchboard_shop::service::{self, Parts};
use switchboard_sim::{Fault, KeyCrmConfig, KeyCrmSim};
use switchboard_store::LeadState;
use switchboard_store::Store;
use switchboard_telegram_sim::{SimConfig, TelegramSim, VirtualUser};

use crate::support::{keycrm_settings, runtime};

const WAIT: Duration = Duration::from_secs(15);

struct Shop {
    telegram: TelegramSim,
    crm: KeyCrmSim,
    store: Store,
    registry: Arc<Registry>,
    stop: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
    _dir: tempfile::TempDir,
}

impl Shop {
    async fn start_service(
        telegram: &TelegramSim,
        store: &Store,
        registry: &Arc<Registry>,
        mode: UpdateMode,
        tariff: Option<Tariff>,
        listener: Option<tokio::net::TcpListener>,
    ) -> (
        tokio::sync::watch::Sender<bool>,
        tokio::task::JoinHandle<()>,
    ) {
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let parts = Parts {
            telegram: TelegramSettings {
                token: telegram.token().into(),
                api_url: telegram.api_url(),
                mode,
                limits: MessageLimits {
                    enabled: false,
                    ..MessageLimits::default()
                },
            },
            shop: ShopSettings {
                website_url: Some("https://shop.example".into()),
                support_url: Some("https://t.me/shop_support".into()),
                delivery_text: Some("Нова пошта, 1–3 дні".into()),
                ..ShopSettings::default()
            },
            tariff,
            store: store.clone(),
            registry: Arc::clone(registry),
            retry: RetryPolicy::default(),
        };
        let task = service::start_on(parts, stop_rx, listener)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        (stop_tx, task)
    }

    /// Stops the dialogue (after its current batch) and starts a new one
    /// over the same store, like a restarted host.
    async fn restart(&mut self) {
        let _ = self.stop.send(true);
        let task = std::mem::replace(&mut self.task, tokio::spawn(async {}));
        tokio::time::timeout(WAIT, task)
            .await
            .unwrap_or_else(|_| panic!("the dialogue did not stop"))
            .unwrap_or_else(|e| panic!("{e}"));
        let (stop, task) = Self::start_service(
            &self.telegram,
            &self.store,
            &self.registry,
            UpdateMode::Polling,
            None,
            None,
        )
        .await;
        self.stop = stop;
        self.task = task;
    }
}

async fn shop(offers: usize) -> Shop {
    shop_with(offers, |_| UpdateMode::Polling, None).await
}

async fn shop_with(
    offers: usize,
    mode: impl FnOnce(&TelegramSim) -> UpdateMode,
    tariff: Option<Tariff>,
) -> Shop {
    shop_on(offers, mode, tariff, None).await
}

/// [`shop_with`], a webhook served on `listener` (bound by the test, so no
/// other process can take its port between a probe and the bind).
async fn shop_on(
    offers: usize,
    mode: impl FnOnce(&TelegramSim) -> UpdateMode,
    tariff: Option<Tariff>,
    listener: Option<tokio::net::TcpListener>,
) -> Shop {
    let telegram = TelegramSim::start(SimConfig::default())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let crm = KeyCrmSim::start(KeyCrmConfig::with_catalog(offers))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let url = format!("sqlite://{}", dir.path().join("shop.db").display());
    let store = Store::open(&url).await.unwrap_or_else(|e| panic!("{e}"));
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
    let mode = mode(&telegram);
    let (stop, task) =
        Shop::start_service(&telegram, &store, &registry, mode, tariff, listener).await;
    Shop {
        telegram,
        crm,
        store,
        registry,
        stop,
        task,
        _dir: dir,
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
    // The toast names what was added.
    let name = first.split(" • ").next().unwrap_or_default().to_string();
    let started = std::time::Instant::now();
    while !olena
        .callback_answers()
        .iter()
        .any(|(_, text)| text.as_deref().is_some_and(|t| t.contains(&name)))
    {
        assert!(
            started.elapsed() < WAIT,
            "no toast with `{name}`: {:?}",
            olena.callback_answers()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
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
        .leads_of(501, switchboard_crm::LeadType::Order, 10)
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

async fn press(user: &VirtualUser, label: &str) {
    user.press(label)
        .await
        .unwrap_or_else(|e| panic!("pressing `{label}`: {e:?}"));
}

/// Orders the first product of the catalog with "Order now" and the
/// customer's own contact; returns the confirmation text.
async fn order_first_product(user: &VirtualUser, locale_en: bool) -> String {
    let (order_now, confirm, number) = if locale_en {
        ("Order now", "Confirm", "No.")
    } else {
        ("Замовити зараз", "Підтвердити", "№")
    };
    user.send_command("/catalog").await;
    let page = reply(user, " 1 ").await;
    let first = page.inline_buttons()[0].0.clone();
    press(user, &first).await;
    reply(user, "SKU").await;
    press(user, order_now).await;
    // A new customer is asked for the phone with a reply keyboard.
    let started = std::time::Instant::now();
    while user.reply_keyboard().is_none() {
        assert!(started.elapsed() < WAIT, "no phone request");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    user.share_contact("+380501234567", true).await;
    let wanted = confirm.to_string();
    user.wait_until(
        move |m| m.inline_buttons().iter().any(|(t, _)| t.contains(&wanted)),
        WAIT,
    )
    .await
    .unwrap_or_else(|e| panic!("no order summary: {e:?}"));
    press(user, confirm).await;
    reply(user, number).await.body().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feedback_questions_and_order_status_in_english() {
    let shop = shop(12).await;
    let ann = shop
        .telegram
        .user(610, "Ann")
        .with_language("en")
        .with_username("ann_uk");
    ann.send_command("/start").await;
    reply(&ann, "Hello, Ann").await;

    press(&ann, "Feedback").await;
    reply(&ann, "feedback").await;
    ann.send_text("Lovely cups, fast delivery!").await;
    reply(&ann, "Thank you for your feedback").await;

    ann.send_text("Do you have the hoodie in XL?").await;
    reply(&ann, "as a question").await;
    press(&ann, "Yes, send it").await;
    reply(&ann, "question has been sent").await;

    let cards = shop.crm.cards();
    assert_eq!(cards.len(), 2);
    let comment = |i: usize| {
        cards[i]["manager_comment"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    assert!(
        comment(0).contains("Lovely cups") && comment(0).contains("Type: feedback"),
        "{}",
        comment(0)
    );
    assert!(
        comment(1).contains("hoodie in XL") && comment(1).contains("Type: question"),
        "{}",
        comment(1)
    );

    let done = order_first_product(&ann, true).await;
    assert!(done.contains("No. 3"), "{done}");
    ann.send_command("/status").await;
    reply(&ann, "Choose an order").await;
    press(&ann, "No. 3").await;
    let status = reply(&ann, "Order No. 3").await;
    assert!(
        status.body().contains("Новий") && status.body().contains("in progress"),
        "{}",
        status.body()
    );
    assert!(shop.crm.set_card_status(3, 3));
    ann.send_command("/status").await;
    reply(&ann, "Choose an order").await;
    press(&ann, "No. 3").await;
    let status = reply(&ann, "complete").await;
    assert!(status.body().contains("Успішно"), "{}", status.body());
    assert!(
        shop.telegram.rejected_requests().is_empty(),
        "{:?}",
        shop.telegram.rejected_requests()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_returns_to_the_menu_from_every_state() {
    let shop = shop(12).await;
    let user = shop.telegram.user(620, "Іван");
    user.send_command("/start").await;
    reply(&user, "Іван").await;
    let enter: [(&str, &str); 4] = [
        ("Відгук", "відгук"),
        ("Профіль", "профіль"),
        ("Каталог", "сторінка 1"),
        ("Доставка", "Доставка"),
    ];
    for (button, expect) in enter {
        user.send_command("/start").await;
        reply(&user, "Вітаємо").await;
        press(&user, button).await;
        reply(&user, expect).await;
        user.send_command("/cancel").await;
        reply(&user, "скасовано").await;
    }
    // Checkout waiting for a phone, then /cancel: the reply keyboard goes and
    // free text is a question again (the menu state).
    user.send_command("/catalog").await;
    let page = reply(&user, "сторінка 1").await;
    press(&user, &page.inline_buttons()[0].0).await;
    reply(&user, "Ціна").await;
    press(&user, "Замовити зараз").await;
    reply(&user, "номер").await;
    assert!(user.reply_keyboard().is_some());
    user.send_command("/cancel").await;
    reply(&user, "скасовано").await;
    assert!(
        user.reply_keyboard().is_none(),
        "{:?}",
        user.reply_keyboard()
    );
    user.send_text("Коли буде поповнення?").await;
    reply(&user, "запитання").await;
    user.send_command("/stop").await;
    reply(&user, "До зустрічі").await;
    assert!(
        shop.telegram.rejected_requests().is_empty(),
        "{:?}",
        shop.telegram.rejected_requests()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_mid_checkout_resumes_where_the_customer_was() {
    let mut shop = shop(12).await;
    let user = shop.telegram.user(630, "Марія");
    user.send_command("/catalog").await;
    let page = reply(&user, "сторінка 1").await;
    press(&user, &page.inline_buttons()[0].0).await;
    reply(&user, "Ціна").await;
    press(&user, "Замовити зараз").await;
    reply(&user, "номер").await;

    shop.restart().await;

    user.share_contact("+380931234567", true).await;
    reply(&user, "+380931234567").await;
    press(&user, "Підтвердити").await;
    reply(&user, "№ 1").await;
    assert_eq!(shop.crm.cards().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crm_outage_at_checkout_keeps_the_order_and_says_so() {
    let shop = shop(12).await;
    let user = shop.telegram.user(640, "Петро");
    user.send_command("/catalog").await;
    reply(&user, "сторінка 1").await;
    shop.crm
        .inject_for("/pipelines/cards", Fault::ServerError(503), None);
    let page = user.last_message().unwrap_or_else(|| panic!("no catalog"));
    press(&user, &page.inline_buttons()[0].0).await;
    reply(&user, "Ціна").await;
    press(&user, "Замовити зараз").await;
    reply(&user, "номер").await;
    user.send_text("050 765 43 21").await;
    reply(&user, "+380507654321").await;
    press(&user, "Підтвердити").await;
    reply(&user, "невдовзі його підтвердимо").await;
    let orders = shop
        .store
        .leads_of(640, switchboard_crm::LeadType::Order, 10)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(orders.len(), 1);
    assert_eq!(orders[0].state, LeadState::Pending);
    assert_eq!(orders[0].attempts, 1);
    assert!(
        orders[0]
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("503"))
    );

    // The catalog, when the CRM goes down entirely, is the last copy, said so.
    shop.crm.inject(Fault::ServerError(500), None);
    user.send_command("/catalog").await;
    reply(&user, "сторінка 1").await;
    press(&user, "Оновити").await;
    let stale = reply(&user, "не вдалося оновити").await;
    assert!(stale.body().contains("сторінка 1"), "{}", stale.body());
}

/// A shop in webhook mode on a free port: the shop, its hook URL, its secret.
async fn webhook_shop() -> (Shop, String, &'static str) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let listen = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
    let url = format!("http://{listen}/tg/hook");
    let secret = "webhook-secret-0123456789";
    let shop = shop_on(
        12,
        |_| UpdateMode::Webhook {
            listen,
            public_url: url.clone(),
            secret_token: secret.into(),
        },
        None,
        Some(listener),
    )
    .await;
    (shop, url, secret)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_mode_serves_customers_and_refuses_strangers() {
    let (shop, url, secret) = webhook_shop().await;
    assert_eq!(shop.telegram.webhook_info().url, url);

    let user = shop.telegram.user(650, "Оксана");
    user.send_command("/start").await;
    reply(&user, "Оксана").await;
    press(&user, "Каталог").await;
    reply(&user, "сторінка 1").await;

    let client = reqwest::Client::new();
    let body = serde_json::json!({"update_id": 1, "message": {"message_id": 1, "date": 0,
        "chat": {"id": 650, "type": "private", "first_name": "X"}, "text": "/start"}});
    let status =
        |r: Result<reqwest::Response, reqwest::Error>| r.map(|r| r.status().as_u16()).unwrap_or(0);
    assert_eq!(status(client.post(&url).json(&body).send().await), 401);
    assert_eq!(
        status(
            client
                .post(&url)
                .header("X-Telegram-Bot-Api-Secret-Token", "wrong")
                .json(&body)
                .send()
                .await
        ),
        401
    );
    // A malformed update is acknowledged (so it is not redelivered) and ignored.
    assert_eq!(
        status(
            client
                .post(&url)
                .header("X-Telegram-Bot-Api-Secret-Token", secret)
                .body("{not json")
                .send()
                .await
        ),
        200
    );
    assert_eq!(shop.telegram.webhook_info().last_error_message, None);
    assert!(
        shop.telegram.rejected_requests().is_empty(),
        "{:?}",
        shop.telegram.rejected_requests()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_profile_and_delivery_estimates() {
    let uah = |minor_units| Money {
        minor_units,
        scale: 2,
        currency: "UAH".into(),
    };
    let tariff = Tariff::new(
        (50.4501, 30.5234),
        vec![
            Band {
                up_to_km: 5.0,
                price: uah(6_000),
            },
            Band {
                up_to_km: 30.0,
                price: uah(15_000),
            },
        ],
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let shop = shop_with(40, |_| UpdateMode::Polling, Some(tariff)).await;
    let user = shop.telegram.user(660, "Тарас");

    // Search by a word of the name, any case.
    user.send_command("/catalog").await;
    reply(&user, "сторінка 1").await;
    press(&user, "Пошук").await;
    reply(&user, "Напишіть назву").await;
    user.send_text("чашка").await;
    let found = reply(&user, "«чашка»").await;
    let hits: Vec<String> = found
        .inline_buttons()
        .into_iter()
        .map(|(t, _)| t)
        .filter(|t| t.contains(" • "))
        .collect();
    assert!(
        !hits.is_empty() && hits.iter().all(|t| t.to_lowercase().contains("чашка")),
        "{hits:?}"
    );

    // Profile: a bad e-mail is refused, a good one saved and shown.
    user.send_command("/start").await;
    reply(&user, "Тарас").await;
    press(&user, "Профіль").await;
    reply(&user, "Telegram ID").await;
    press(&user, "mail").await;
    reply(&user, "електронної пошти").await;
    user.send_text("not-an-email").await;
    reply(&user, "не схоже").await;
    user.send_text("taras@example.com").await;
    reply(&user, "Збережено").await;
    let profile = reply(&user, "taras@example.com").await;
    assert!(profile.body().contains("660"), "{}", profile.body());
    let customer = shop
        .store
        .customer(660)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        customer.and_then(|c| c.email).as_deref(),
        Some("taras@example.com")
    );

    // Delivery: a location 3 km away is in the first band; Lviv is outside.
    user.send_command("/start").await;
    reply(&user, "Тарас").await;
    press(&user, "Доставка").await;
    reply(&user, "геолокацію").await;
    user.send_location(50.4501, 30.5660).await;
    let estimate = reply(&user, "км").await;
    assert!(estimate.body().contains("60,00"), "{}", estimate.body());
    press(&user, "Доставка").await;
    reply(&user, "геолокацію").await;
    user.send_location(49.8419, 24.0316).await;
    let outside = reply(&user, "467").await;
    assert!(!outside.body().contains("₴"), "{}", outside.body());
    assert!(
        shop.telegram.rejected_requests().is_empty(),
        "{:?}",
        shop.telegram.rejected_requests()
    );
}

/// A burst of replies to one chat against a simulator that enforces
/// Telegram's limits: with the host's limiter there is no 429; without it
/// there are (which shows the simulator really enforces them).
async fn burst(limited: bool) -> (usize, usize) {
    let telegram = TelegramSim::start(SimConfig {
        limits: Some(switchboard_telegram_sim::RateLimits::default()),
        ..SimConfig::default()
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let crm = KeyCrmSim::start(KeyCrmConfig::with_catalog(3))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let store = Store::open("sqlite::memory:")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let registry = Arc::new(Registry::new(runtime()));
    registry
        .activate(&keycrm_settings(&crm))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let (_stop, stop_rx) = tokio::sync::watch::channel(false);
    let parts = Parts {
        telegram: TelegramSettings {
            token: telegram.token().into(),
            api_url: telegram.api_url(),
            mode: UpdateMode::Polling,
            limits: MessageLimits {
                enabled: limited,
                ..MessageLimits::default()
            },
        },
        shop: ShopSettings::default(),
        tariff: None,
        store,
        registry,
        retry: RetryPolicy::default(),
    };
    service::start(parts, stop_rx)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let user = telegram.user(670, "Burst");
    for _ in 0..6 {
        user.send_command("/help").await;
    }
    let started = std::time::Instant::now();
    while user.messages().len() < 6 && started.elapsed() < Duration::from_secs(20) {
        if !limited && !telegram.rejected_requests().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let rejected = telegram
        .rejected_requests()
        .iter()
        .filter(|r| r.error_code == 429)
        .count();
    (user.messages().len(), rejected)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_replies_stays_within_telegrams_limits() {
    let (delivered, too_many) = burst(true).await;
    assert_eq!((delivered, too_many), (6, 0));
    let (_, too_many) = burst(false).await;
    assert!(too_many > 0, "the simulator did not enforce its limits");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_from_telegram_is_waited_out_not_dropped() {
    let shop = shop(3).await;
    shop.telegram.inject(
        "sendMessage",
        switchboard_telegram_sim::SimFault::RetryAfter(1),
        1,
    );
    let user = shop.telegram.user(680, "Віра");
    user.send_command("/start").await;
    reply(&user, "Віра").await;
    let rejected = shop.telegram.rejected_requests();
    assert_eq!(rejected.len(), 1, "{rejected:?}");
    assert_eq!(rejected[0].error_code, 429);
}

/// A generated update: a valid shape from a template, then mutated.
fn mutated_update(rng: &mut impl rand::Rng, n: i64) -> String {
    use serde_json::{Value, json};
    let chat = 90_000 + (n % 40);
    let from = json!({"id": chat, "is_bot": false, "first_name": "Фаз", "language_code": "uk"});
    let private = json!({"id": chat, "type": "private", "first_name": "Фаз"});
    let long_text: String = (0..rng.random_range(0..6000))
        .map(|_| char::from_u32(rng.random_range(0x20..0x2FFF)).unwrap_or('ї'))
        .collect();
    let texts = [
        "/start".to_string(),
        "/catalog".into(),
        "/cart".into(),
        "/status 42".into(),
        "/cancel".into(),
        "Привіт, коли доставка?".into(),
        "050 123 45 67".into(),
        long_text,
        String::new(),
    ];
    let text = texts[rng.random_range(0..texts.len())].clone();
    let mut update = match rng.random_range(0..5) {
        0 => {
            json!({"update_id": n, "message": {"message_id": n, "date": 0, "chat": private, "from": from, "text": text}})
        }
        1 => {
            json!({"update_id": n, "message": {"message_id": n, "date": 0, "chat": private, "from": from,
            "contact": {"phone_number": "+380501234567", "first_name": "Фаз", "user_id": if rng.random_bool(0.5) { chat } else { chat + 1 }}}})
        }
        2 => {
            json!({"update_id": n, "message": {"message_id": n, "date": 0, "chat": private, "from": from,
            "location": {"latitude": rng.random_range(-100.0..100.0), "longitude": rng.random_range(-200.0..200.0)}}})
        }
        3 => {
            let data: String = (0..rng.random_range(0..80))
                .map(|_| char::from(rng.random_range(0x21u8..0x7e)))
                .collect();
            json!({"update_id": n, "callback_query": {"id": format!("cb{n}"), "from": from, "chat_instance": "1",
                "data": data, "message": {"message_id": rng.random_range(1..1000), "date": 0, "chat": private, "text": "x"}}})
        }
        _ => json!({"update_id": n, "message": {"message_id": n, "date": 0,
            "chat": {"id": -100 - chat, "type": "supergroup", "title": "g"}, "from": from, "text": text}}),
    };
    // Mutate: drop, retype or blow up a few fields anywhere in the tree.
    fn paths(v: &Value, at: Vec<String>, out: &mut Vec<Vec<String>>) {
        if let Value::Object(map) = v {
            for (k, child) in map {
                let mut p = at.clone();
                p.push(k.clone());
                out.push(p.clone());
                paths(child, p, out);
            }
        }
    }
    let mut all = Vec::new();
    paths(&update, Vec::new(), &mut all);
    for _ in 0..rng.random_range(0..3) {
        let Some(path) = all.get(rng.random_range(0..all.len())).cloned() else {
            break;
        };
        let parent: String = path[..path.len() - 1]
            .iter()
            .map(|k| format!("/{k}"))
            .collect();
        if let Some(map) = update.pointer_mut(&parent).and_then(Value::as_object_mut) {
            let last = &path[path.len() - 1];
            let replacement = match rng.random_range(0..6) {
                0 => None,
                1 => Some(Value::Null),
                2 => Some(json!(-1)),
                3 => Some(json!("ℵ".repeat(rng.random_range(0..3000)))),
                4 => Some(json!({"nested": [1, 2, {"x": null}]})),
                _ => Some(json!(i64::MAX)),
            };
            match replacement {
                None => {
                    map.remove(last);
                }
                Some(v) => {
                    map.insert(last.clone(), v);
                }
            }
        }
    }
    let text = update.to_string();
    // Sometimes not even JSON.
    match rng.random_range(0..20) {
        0 => text.chars().take(text.chars().count() / 2).collect(),
        1 => String::new(),
        _ => text,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hundreds_of_mutated_updates_never_break_the_host() {
    use rand::SeedableRng;
    let (shop, url, secret) = webhook_shop().await;
    // A fixed seed, so a failure can be replayed; `SWITCHBOARD_FUZZ_CASES`
    // runs longer.
    let cases: i64 = std::env::var("SWITCHBOARD_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(400);
    let mut rng = rand::rngs::StdRng::seed_from_u64(0x5eed);
    let client = reqwest::Client::new();
    let mut tasks = tokio::task::JoinSet::new();
    for n in 1..=cases {
        let body = mutated_update(&mut rng, n);
        let request = client
            .post(&url)
            .header("X-Telegram-Bot-Api-Secret-Token", secret)
            .header("content-type", "application/json")
            .body(body.clone());
        tasks.spawn(async move {
            let status = request.send().await.map(|r| r.status().as_u16());
            (status.unwrap_or(0), body)
        });
        if tasks.len() >= 16 {
            let (status, body) = tasks
                .join_next()
                .await
                .unwrap_or_else(|| unreachable!())
                .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(status, 200, "answered {status} to {body}");
        }
    }
    while let Some(done) = tasks.join_next().await {
        let (status, body) = done.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(status, 200, "answered {status} to {body}");
    }
    println!("FUZZ {cases} mutated updates through the webhook: all answered 200");
    // Still serving, and a customer's order still goes through.
    let user = shop.telegram.user(691, "After").with_language("en");
    let confirmation = order_first_product(&user, true).await;
    assert!(confirmation.contains("No."), "{confirmation}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_message_is_cut_and_the_customer_is_told() {
    let shop = shop(3).await;
    let user = shop.telegram.user(692, "Довгий");
    let long: String = "Дуже довге запитання. ".repeat(170);
    assert!(long.chars().count() > 3000);
    user.send_text(&long).await;
    let notice = reply(&user, "задовге").await;
    assert!(notice.body().contains("3000"), "{}", notice.body());
    let confirm = reply(&user, "запитання?").await;
    let quoted = confirm.body().matches("Дуже довге запитання.").count();
    assert!(
        (130..=137).contains(&quoted),
        "the question should carry the first 3000 characters, got {quoted} sentences"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_number_sent_again_at_the_confirmation_replaces_the_first() {
    let shop = shop(3).await;
    let user = shop.telegram.user(693, "Зміна");
    user.send_command("/catalog").await;
    let page = reply(&user, "сторінка 1").await;
    press(&user, &page.inline_buttons()[0].0).await;
    reply(&user, "Ціна").await;
    press(&user, "Замовити зараз").await;
    reply(&user, "номер").await;
    user.send_text("050 111 22 33").await;
    reply(&user, "+380501112233").await;
    // Not a hint: the summary again, with the new number (also what a
    // contact replayed after a crash meets).
    user.share_contact("+380507654321", true).await;
    let summary = reply(&user, "+380507654321").await;
    assert!(
        summary
            .inline_buttons()
            .iter()
            .any(|(t, _)| t.contains("Підтвердити")),
        "{}",
        summary.body()
    );
    press(&user, "Підтвердити").await;
    reply(&user, "№").await;
    let cards = shop.crm.cards();
    assert_eq!(cards.len(), 1);
    assert_eq!(cards[0]["contact"]["phone"], "+380507654321");
}

/// Posts one update to the webhook twice, as Telegram does when the first
/// answer was lost; both must be answered 200.
/// Delivers `update` to the webhook, then again once the first delivery
/// was handled (it has left the inbox): Telegram redelivering an update
/// whose answer it did not get.
async fn deliver_twice(url: &str, secret: &str, update: &serde_json::Value, store: &Store) {
    for _ in 0..2 {
        assert_eq!(post_update(url, secret, update).await, 200);
        inbox_drained(store).await;
    }
}

async fn post_update(url: &str, secret: &str, update: &serde_json::Value) -> u16 {
    reqwest::Client::new()
        .post(url)
        .header("X-Telegram-Bot-Api-Secret-Token", secret)
        .json(update)
        .send()
        .await
        .map(|r| r.status().as_u16())
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Waits until every received update has been handled.
async fn inbox_drained(store: &Store) {
    let started = std::time::Instant::now();
    while !store
        .inbox_pending()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .is_empty()
    {
        assert!(started.elapsed() < WAIT, "updates stayed in the inbox");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

/// A button press on `message`, as Telegram sends it.
fn press_update(id: i64, user: i64, message: i64, data: &str) -> serde_json::Value {
    serde_json::json!({"update_id": id, "callback_query": {
        "id": format!("press-{id}"), "chat_instance": "1", "data": data,
        "from": {"id": user, "is_bot": false, "first_name": "Двічі"},
        "message": {"message_id": message, "date": 0, "text": "x",
            "chat": {"id": user, "type": "private", "first_name": "Двічі"}}}})
}

fn button_data(message: &switchboard_telegram_sim::BotMessage, label: &str) -> String {
    message
        .inline_buttons()
        .into_iter()
        .find(|(t, _)| t.contains(label))
        .map(|(_, data)| data)
        .unwrap_or_else(|| panic!("no `{label}` button in {}", message.body()))
}

fn count(user: &VirtualUser, contains: &str) -> usize {
    user.messages()
        .iter()
        .filter(|m| m.body().contains(contains))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_step_seen_twice_runs_once_and_the_customer_sees_where_they_are() {
    let (shop, url, secret) = webhook_shop().await;
    let id = 655;
    let user = shop.telegram.user(id, "Двічі");
    user.send_command("/catalog").await;
    let page = reply(&user, "сторінка 1").await;
    press(&user, &page.inline_buttons()[0].0).await;
    let card = reply(&user, "Ціна").await;
    let order_now = button_data(&card, "Замовити зараз");

    // "Order now", delivered twice: one unit in the cart, the phone asked
    // for again instead of a second unit.
    let update = press_update(9_100_001, id, card.message_id, &order_now);
    deliver_twice(&url, secret, &update, &shop.store).await;
    let cart = shop.store.cart(id).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(cart.len(), 1);
    assert_eq!(cart[0].quantity, 1, "a replayed press added twice");
    assert_eq!(count(&user, "поділіться, будь ласка, номером"), 2);

    // The contact, twice: the summary both times.
    let contact = serde_json::json!({"update_id": 9_100_002, "message": {
        "message_id": 9_100_002, "date": 0,
        "chat": {"id": id, "type": "private", "first_name": "Двічі"},
        "from": {"id": id, "is_bot": false, "first_name": "Двічі"},
        "contact": {"phone_number": "+380501234567", "first_name": "Двічі", "user_id": id}}});
    deliver_twice(&url, secret, &contact, &shop.store).await;
    assert_eq!(count(&user, "Перевірте, будь ласка, замовлення"), 2);
    let summary = reply(&user, "Перевірте").await;

    // Confirm, twice: one lead, one card in the CRM, and the second answer
    // tells the same number instead of "this button is out of date".
    let confirm = press_update(
        9_100_003,
        id,
        summary.message_id,
        &button_data(&summary, "Підтвердити"),
    );
    deliver_twice(&url, secret, &confirm, &shop.store).await;
    let orders = shop
        .store
        .leads_of(id, switchboard_crm::LeadType::Order, 10)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(orders.len(), 1);
    assert_eq!(shop.crm.cards().len(), 1);
    let number = orders[0]
        .crm_id
        .clone()
        .unwrap_or_else(|| panic!("not delivered: {:?}", orders[0].state));
    assert_eq!(count(&user, &format!("замовлення № {number}")), 2);
    assert_eq!(count(&user, "застаріла"), 0);
    assert!(shop.store.cart(id).await.unwrap_or_default().is_empty());

    // Free text in the menu is a question; seen twice, it is asked once.
    let question = serde_json::json!({"update_id": 9_100_004, "message": {
        "message_id": 9_100_004, "date": 0, "text": "Чи є розмір XL?",
        "chat": {"id": id, "type": "private", "first_name": "Двічі"},
        "from": {"id": id, "is_bot": false, "first_name": "Двічі"}}});
    deliver_twice(&url, secret, &question, &shop.store).await;
    assert_eq!(count(&user, "як запитання?"), 2);
    let ask = reply(&user, "як запитання?").await;
    let send = press_update(
        9_100_005,
        id,
        ask.message_id,
        &button_data(&ask, "Так, надіслати"),
    );
    deliver_twice(&url, secret, &send, &shop.store).await;
    let questions = shop
        .store
        .leads_of(id, switchboard_crm::LeadType::Question, 10)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(questions.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_step_the_store_cannot_keep_is_apologised_for_not_met_with_silence() {
    let (shop, url, secret) = webhook_shop().await;
    let user = shop.telegram.user(657, "Тиша").with_language("en");
    user.send_command("/start").await;
    reply(&user, "Тиша").await;
    // The dialogue's tables break (a corrupt page, a wrong migration) while
    // the update still reaches the inbox: no step can be stored, so none
    // is taken, and the customer is told to try again.
    let db = shop._dir.path().join("shop.db");
    let mut conn = <sqlx::SqliteConnection as sqlx::Connection>::connect(&format!(
        "sqlite://{}",
        db.display()
    ))
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    sqlx::query("DROP TABLE dialogues")
        .execute(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    user.send_command("/catalog").await;
    reply(&user, "Something went wrong").await;
    assert!(
        !user.messages().iter().any(|m| m.body().contains("page 1")),
        "a catalog was shown without its step stored"
    );

    // The database goes away entirely (a full disk, a lost server): the
    // update cannot even be kept, so the webhook answers 500 and Telegram
    // delivers it again later instead of it being lost.
    shop.store.close().await;
    let update = serde_json::json!({"update_id": 9_300_001, "message": {
        "message_id": 9_300_001, "date": 0, "text": "/catalog",
        "from": {"id": 657, "is_bot": false, "first_name": "Тиша"},
        "chat": {"id": 657, "type": "private", "first_name": "Тиша"}}});
    assert_eq!(post_update(&url, secret, &update).await, 500);
}
