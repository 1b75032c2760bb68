//! Flood limits and fault injection.

mod support {
    pub mod bot;
}

use std::time::{Duration, Instant};

use serde_json::json;
use support::bot::{Bot, description};
use switchboard_telegram_sim::{RateLimits, SimConfig, SimFault, TelegramSim, Window};

#[tokio::test]
async fn rate_limit_answers_429_with_retry_after() {
    let config = SimConfig {
        limits: Some(RateLimits::default()),
        ..SimConfig::default()
    };
    let sim = TelegramSim::start(config).await.expect("sim");
    let bot = Bot::new(&sim);
    sim.user(42, "Olena");
    sim.user(43, "Taras");
    for i in 0..3 {
        let (status, body) = bot
            .call(
                "sendMessage",
                json!({"chat_id": 42, "text": format!("m{i}")}),
            )
            .await;
        assert_eq!(status, 200, "burst message {i}: {body}");
    }
    let (status, body) = bot
        .call(
            "sendMessage",
            json!({"chat_id": 42, "text": "one too many"}),
        )
        .await;
    assert_eq!(status, 429);
    assert_eq!(description(&body), "Too Many Requests: retry after 3");
    assert_eq!(body["parameters"], json!({"retry_after": 3}));
    // Other chats and non-sending methods are not affected.
    let (status, _) = bot
        .call("sendMessage", json!({"chat_id": 43, "text": "hi"}))
        .await;
    assert_eq!(status, 200);
    let (status, _) = bot
        .call("sendChatAction", json!({"chat_id": 42, "action": "typing"}))
        .await;
    assert_eq!(status, 200);
    let rejected = sim.rejected_requests();
    assert_eq!(rejected.len(), 1);
    assert_eq!(rejected[0].error_code, 429);
}

#[tokio::test]
async fn rate_limit_window_rolls() {
    let config = SimConfig {
        limits: Some(RateLimits {
            per_private_chat: Window::new(1, Duration::from_millis(300)),
            ..RateLimits::default()
        }),
        ..SimConfig::default()
    };
    let sim = TelegramSim::start(config).await.expect("sim");
    let bot = Bot::new(&sim);
    sim.user(42, "Olena");
    let (status, _) = bot
        .call("sendMessage", json!({"chat_id": 42, "text": "a"}))
        .await;
    assert_eq!(status, 200);
    let (status, body) = bot
        .call("sendMessage", json!({"chat_id": 42, "text": "b"}))
        .await;
    assert_eq!(
        (status, body["parameters"]["retry_after"].clone()),
        (429, json!(1))
    );
    tokio::time::sleep(Duration::from_millis(350)).await;
    let (status, _) = bot
        .call("sendMessage", json!({"chat_id": 42, "text": "c"}))
        .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn no_rate_limit_by_default() {
    let sim = TelegramSim::start(SimConfig::default()).await.expect("sim");
    let bot = Bot::new(&sim);
    let user = sim.user(42, "Olena");
    for i in 0..40 {
        let (status, _) = bot
            .call(
                "sendMessage",
                json!({"chat_id": 42, "text": format!("m{i}")}),
            )
            .await;
        assert_eq!(status, 200);
    }
    assert_eq!(user.messages().len(), 40);
    assert!(sim.rejected_requests().is_empty());
}

#[tokio::test]
async fn injected_faults_fail_the_next_calls_only() {
    let sim = TelegramSim::start(SimConfig::default()).await.expect("sim");
    let bot = Bot::new(&sim);
    let user = sim.user(42, "Olena");
    sim.inject("sendMessage", SimFault::Status(502), 2);
    sim.inject("answerCallbackQuery", SimFault::Status(429), 1);
    for _ in 0..2 {
        let (status, body) = bot
            .call("SendMessage", json!({"chat_id": 42, "text": "x"}))
            .await;
        assert_eq!((status, description(&body)), (502, "Bad Gateway"));
    }
    let (status, _) = bot
        .call("sendMessage", json!({"chat_id": 42, "text": "x"}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(user.messages().len(), 1, "faulted calls had no effect");
    let (status, body) = bot
        .call("answerCallbackQuery", json!({"callback_query_id": "1"}))
        .await;
    assert_eq!(status, 429);
    assert_eq!(body["parameters"]["retry_after"], 1);

    sim.inject(
        "*",
        SimFault::Error {
            code: 403,
            description: "Forbidden: bot was blocked by the user".into(),
        },
        1,
    );
    let (status, body) = bot.call("getMe", json!({})).await;
    assert_eq!(
        (status, description(&body)),
        (403, "Forbidden: bot was blocked by the user")
    );
    sim.inject("getMe", SimFault::Delay(Duration::from_millis(200)), 1);
    let started = Instant::now();
    let (status, _) = bot.call("getMe", json!({})).await;
    assert_eq!(status, 200);
    assert!(started.elapsed() >= Duration::from_millis(200));
    let codes: Vec<u16> = sim
        .rejected_requests()
        .iter()
        .map(|r| r.error_code)
        .collect();
    assert_eq!(codes, [502, 502, 429, 403]);
}

#[tokio::test]
async fn blocked_user_answers_403() {
    let sim = TelegramSim::start(SimConfig::default()).await.expect("sim");
    let bot = Bot::new(&sim);
    let user = sim.user(42, "Olena");
    user.block();
    let (status, body) = bot
        .call("sendMessage", json!({"chat_id": 42, "text": "promo"}))
        .await;
    assert_eq!(
        (status, description(&body)),
        (403, "Forbidden: bot was blocked by the user")
    );
    user.unblock();
    let (status, _) = bot
        .call("sendMessage", json!({"chat_id": 42, "text": "promo"}))
        .await;
    assert_eq!(status, 200);
}
