//! getUpdates: long polling, offsets, allowed_updates and raw updates.

mod support {
    pub mod bot;
}

use std::time::{Duration, Instant};

use serde_json::json;
use support::bot::Bot;
use switchboard_telegram_sim::{SimConfig, TelegramSim, TranscriptEntry};

#[tokio::test]
async fn long_poll_returns_as_soon_as_a_user_writes() {
    let sim = TelegramSim::start(SimConfig::default()).await.expect("sim");
    let bot = Bot::new(&sim);
    let user = sim
        .user(42, "Olena")
        .with_username("olena_k")
        .with_language("en");
    let writer = user.clone();
    let started = Instant::now();
    let poll = tokio::spawn(async move { bot.call("getUpdates", json!({"timeout": 5})).await });
    tokio::time::sleep(Duration::from_millis(150)).await;
    writer.send_command("/start promo").await;
    let (status, body) = poll.await.expect("poll task");
    let elapsed = started.elapsed();
    assert_eq!(status, 200);
    assert!(
        elapsed >= Duration::from_millis(150),
        "held until the message: {elapsed:?}"
    );
    assert!(
        elapsed < Duration::from_secs(3),
        "returned promptly: {elapsed:?}"
    );
    let updates = body["result"].as_array().expect("array");
    assert_eq!(updates.len(), 1);
    let message = &updates[0]["message"];
    assert_eq!(message["text"], "/start promo");
    assert_eq!(
        message["chat"],
        json!({"id": 42, "type": "private", "first_name": "Olena", "username": "olena_k"})
    );
    assert_eq!(message["from"]["language_code"], "en");
    assert_eq!(
        message["entities"],
        json!([{"type": "bot_command", "offset": 0, "length": 6}])
    );
}

#[tokio::test]
async fn offset_confirms_updates_and_limit_caps_the_batch() {
    let sim = TelegramSim::start(SimConfig::default()).await.expect("sim");
    let bot = Bot::new(&sim);
    let user = sim.user(42, "Olena");
    for text in ["one", "two", "three"] {
        user.send_text(text).await;
    }
    let (_, body) = bot.call("getUpdates", json!({"limit": 2})).await;
    let batch = body["result"].as_array().expect("array").clone();
    assert_eq!(batch.len(), 2);
    assert_eq!(batch[0]["message"]["text"], "one");
    let first_id = batch[0]["update_id"].as_i64().expect("id");
    assert_eq!(batch[1]["update_id"].as_i64(), Some(first_id + 1));
    // Without an offset nothing is confirmed: the same updates come again.
    let (_, body) = bot.call("getUpdates", json!({})).await;
    assert_eq!(body["result"].as_array().map(Vec::len), Some(3));
    let (_, body) = bot
        .call("getUpdates", json!({"offset": first_id + 2}))
        .await;
    let rest = body["result"].as_array().expect("array");
    assert_eq!(rest.len(), 1);
    assert_eq!(rest[0]["message"]["text"], "three");
    // A negative offset keeps only the last -offset updates.
    user.send_text("four").await;
    user.send_text("five").await;
    let (_, body) = bot.call("getUpdates", json!({"offset": -1})).await;
    let last = body["result"].as_array().expect("array");
    assert_eq!(last.len(), 1);
    assert_eq!(last[0]["message"]["text"], "five");
    let (_, body) = bot
        .call("getUpdates", json!({"offset": first_id + 5}))
        .await;
    assert_eq!(body["result"], json!([]));
    // message ids are per chat and sequential.
    assert_eq!(rest[0]["message"]["message_id"], 3);
}

#[tokio::test]
async fn timeout_returns_empty_after_the_wait() {
    let sim = TelegramSim::start(SimConfig::default()).await.expect("sim");
    let bot = Bot::new(&sim);
    let started = Instant::now();
    let (status, body) = bot.call("getUpdates", json!({"timeout": 1})).await;
    let elapsed = started.elapsed();
    assert_eq!(status, 200);
    assert_eq!(body["result"], json!([]));
    assert!(elapsed >= Duration::from_millis(950), "waited {elapsed:?}");
    assert!(elapsed < Duration::from_secs(3), "waited {elapsed:?}");
    let started = Instant::now();
    let (_, body) = bot.call("getUpdates", json!({"timeout": 0})).await;
    assert_eq!(body["result"], json!([]));
    assert!(started.elapsed() < Duration::from_millis(500));
}

#[tokio::test]
async fn allowed_updates_filters_new_updates() {
    let sim = TelegramSim::start(SimConfig::default()).await.expect("sim");
    let bot = Bot::new(&sim);
    let user = sim.user(42, "Olena");
    let (status, body) = bot
        .call("sendMessage", json!({"chat_id": 42, "text": "Menu", "reply_markup": {"inline_keyboard": [[{"text": "Catalog", "callback_data": "cat"}]]}}))
        .await;
    assert_eq!(status, 200, "{body}");
    let (_, body) = bot
        .call("getUpdates", json!({"allowed_updates": ["callback_query"]}))
        .await;
    assert_eq!(body["result"], json!([]));
    user.send_text("ignored").await;
    user.press("Catalog").await.expect("button exists");
    let (_, body) = bot.call("getUpdates", json!({})).await;
    let updates = body["result"].as_array().expect("array");
    assert_eq!(updates.len(), 1, "{body}");
    assert_eq!(updates[0]["callback_query"]["data"], "cat");
    // The transcript still shows what the user did.
    let user_updates = sim
        .transcript()
        .iter()
        .filter(|e| matches!(e, TranscriptEntry::Update { .. }))
        .count();
    assert_eq!(user_updates, 2);
}

#[tokio::test]
async fn raw_updates_are_delivered_verbatim() {
    let sim = TelegramSim::start(SimConfig::default()).await.expect("sim");
    let bot = Bot::new(&sim);
    sim.push_raw_update(json!({"message": {"message_id": "not a number"}}));
    sim.push_raw_update(json!("garbage"));
    let (_, body) = bot.call("getUpdates", json!({})).await;
    let updates = body["result"].as_array().expect("array");
    assert_eq!(updates.len(), 2);
    assert_eq!(updates[0]["message"]["message_id"], "not a number");
    assert_eq!(updates[0]["update_id"], 1);
    assert_eq!(updates[1], "garbage");
    let (_, body) = bot.call("getUpdates", json!({"offset": 3})).await;
    assert_eq!(body["result"], json!([]));
}

#[tokio::test]
async fn a_newer_poll_supersedes_an_older_one() {
    let sim = TelegramSim::start(SimConfig::default()).await.expect("sim");
    let bot = Bot::new(&sim);
    let other = Bot::new(&sim);
    let started = Instant::now();
    let old = tokio::spawn(async move { bot.call("getUpdates", json!({"timeout": 5})).await });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let (_, body) = other.call("getUpdates", json!({"timeout": 0})).await;
    assert_eq!(body["result"], json!([]));
    let (status, body) = old.await.expect("task");
    assert_eq!((status, body["result"].clone()), (200, json!([])));
    assert!(started.elapsed() < Duration::from_secs(2));
    assert!(
        sim.rejected_requests().is_empty(),
        "{:?}",
        sim.rejected_requests()
    );
}
