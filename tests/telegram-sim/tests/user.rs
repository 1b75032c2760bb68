//! Virtual users: buttons, callbacks, edits, contacts, waits and the transcript.

mod support {
    pub mod bot;
}

use std::time::Duration;

use serde_json::{Value, json};
use support::bot::{Bot, description};
use switchboard_telegram_sim::{SimConfig, SimError, TelegramSim, TranscriptEntry};

async fn setup() -> (TelegramSim, Bot) {
    let sim = TelegramSim::start(SimConfig::default()).await.expect("sim");
    let bot = Bot::new(&sim);
    (sim, bot)
}

async fn next_update(bot: &Bot) -> Value {
    let (_, body) = bot.call("getUpdates", json!({"timeout": 2})).await;
    let update = body["result"][0].clone();
    if let Some(id) = update["update_id"].as_i64() {
        bot.call("getUpdates", json!({"offset": id + 1})).await;
    }
    update
}

fn menu() -> Value {
    json!({"inline_keyboard": [
        [{"text": "Catalog", "callback_data": "catalog"}, {"text": "Catalog (sale)", "callback_data": "sale"}],
        [{"text": "Site", "url": "https://shop.example.com"}, {"text": "Share", "switch_inline_query": "x"}],
    ]})
}

#[tokio::test]
async fn press_produces_a_callback_query_and_answers_are_recorded() {
    let (sim, bot) = setup().await;
    let user = sim.user(42, "Olena");
    let (status, body) = bot
        .call(
            "sendMessage",
            json!({"chat_id": 42, "text": "Menu", "reply_markup": menu()}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    user.press("Catalog").await.expect("exact match");
    let update = next_update(&bot).await;
    let query = &update["callback_query"];
    assert_eq!(
        query["data"], "catalog",
        "exact match preferred over substring"
    );
    assert_eq!(query["from"]["id"], 42);
    assert_eq!(query["message"]["message_id"], body["result"]["message_id"]);
    assert_eq!(query["message"]["text"], "Menu");
    assert!(query["chat_instance"].is_string());

    user.press("sale").await.expect("substring match");
    let sale = next_update(&bot).await;
    assert_eq!(sale["callback_query"]["data"], "sale");

    let id = query["id"].as_str().expect("id").to_owned();
    let (status, _) = bot
        .call(
            "answerCallbackQuery",
            json!({"callback_query_id": id, "text": "Opening catalog"}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        user.callback_answers(),
        [(id.clone(), Some("Opening catalog".to_owned()))]
    );
    let (status, body) = bot
        .call("answerCallbackQuery", json!({"callback_query_id": id}))
        .await;
    assert_eq!(status, 400, "answering twice is refused");
    assert!(description(&body).contains("query ID is invalid"));
    let (status, body) = bot
        .call("answerCallbackQuery", json!({"callback_query_id": "nope"}))
        .await;
    assert_eq!(
        (status, description(&body)),
        (
            400,
            "Bad Request: query is too old and response timeout expired or query ID is invalid"
        )
    );
    let sale_id = sale["callback_query"]["id"].as_str().expect("id");
    let (status, body) = bot
        .call(
            "answerCallbackQuery",
            json!({"callback_query_id": sale_id, "text": "x".repeat(201)}),
        )
        .await;
    assert_eq!(
        (status, description(&body)),
        (400, "Bad Request: MESSAGE_TOO_LONG")
    );
}

#[tokio::test]
async fn press_errors_and_url_buttons() {
    let (sim, bot) = setup().await;
    let user = sim.user(42, "Olena");
    assert!(matches!(
        user.press("Catalog").await,
        Err(SimError::ButtonNotFound { .. })
    ));
    bot.call(
        "sendMessage",
        json!({"chat_id": 42, "text": "Menu", "reply_markup": menu()}),
    )
    .await;
    match user.press("Checkout").await {
        Err(SimError::ButtonNotFound { available, .. }) => {
            assert_eq!(available, ["Catalog", "Catalog (sale)", "Site", "Share"]);
        }
        other => panic!("expected ButtonNotFound, got {other:?}"),
    }
    user.press("Site").await.expect("url button");
    assert_eq!(user.opened_urls(), ["https://shop.example.com"]);
    assert!(matches!(
        user.press("Share").await,
        Err(SimError::UnsupportedButton { kind, .. }) if kind == "switch_inline_query"
    ));
    // The url button produced no update.
    let (_, body) = bot.call("getUpdates", json!({})).await;
    assert_eq!(body["result"], json!([]));
}

#[tokio::test]
async fn reply_keyboard_buttons_send_text_contact_or_location() {
    let (sim, bot) = setup().await;
    let user = sim
        .user(42, "Olena")
        .with_phone("380501112233")
        .with_location(49.84, 24.03);
    let keyboard = json!({"keyboard": [["Menu"], [{"text": "📱 Share phone", "request_contact": true}], [{"text": "Where am I", "request_location": true}]], "one_time_keyboard": false});
    bot.call(
        "sendMessage",
        json!({"chat_id": 42, "text": "Choose", "reply_markup": keyboard}),
    )
    .await;
    user.press_reply("Menu").await.expect("text button");
    assert_eq!(next_update(&bot).await["message"]["text"], "Menu");
    user.press_reply("Share phone")
        .await
        .expect("contact button");
    let contact = next_update(&bot).await["message"]["contact"].clone();
    assert_eq!(contact["phone_number"], "380501112233");
    assert_eq!(contact["user_id"], 42);
    user.press_reply("Where").await.expect("location button");
    let location = next_update(&bot).await["message"]["location"].clone();
    assert_eq!(location, json!({"latitude": 49.84, "longitude": 24.03}));

    bot.call(
        "sendMessage",
        json!({"chat_id": 42, "text": "Done", "reply_markup": {"remove_keyboard": true}}),
    )
    .await;
    assert_eq!(
        user.press_reply("Menu").await,
        Err(SimError::NoReplyKeyboard { chat_id: 42 })
    );
}

#[tokio::test]
async fn share_contact_own_and_foreign() {
    let (sim, bot) = setup().await;
    let user = sim.user(42, "Olena");
    user.share_contact("+380671234567", true).await;
    let own = next_update(&bot).await["message"]["contact"].clone();
    assert_eq!(own["user_id"], 42);
    assert_eq!(own["phone_number"], "+380671234567");
    assert_eq!(own["first_name"], "Olena");
    user.share_contact("+380509999999", false).await;
    let foreign = next_update(&bot).await["message"]["contact"].clone();
    assert_ne!(foreign["user_id"], 42);
    assert!(foreign["user_id"].as_i64().is_some());
    assert_eq!(foreign["phone_number"], "+380509999999");
}

#[tokio::test]
async fn edits_update_the_stored_message() {
    let (sim, bot) = setup().await;
    let user = sim.user(42, "Olena");
    let (_, body) = bot
        .call(
            "sendMessage",
            json!({"chat_id": 42, "text": "Cart: 1 item", "reply_markup": menu()}),
        )
        .await;
    let id = body["result"]["message_id"].as_i64().expect("id");
    let (status, body) = bot
        .call("editMessageText", json!({"chat_id": 42, "message_id": id, "text": "Cart: <b>2</b> items", "parse_mode": "HTML", "reply_markup": menu()}))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"]["text"], "Cart: 2 items");
    assert!(body["result"]["edit_date"].is_i64());
    let stored = user.last_message().expect("message");
    assert_eq!(stored.text.as_deref(), Some("Cart: 2 items"));
    assert_eq!(stored.raw_text.as_deref(), Some("Cart: <b>2</b> items"));
    assert_eq!(stored.edit_count, 1);
    assert_eq!(stored.inline_buttons().len(), 4);

    let (status, body) = bot
        .call("editMessageText", json!({"chat_id": 42, "message_id": id, "text": "Cart: <b>2</b> items", "parse_mode": "HTML", "reply_markup": menu()}))
        .await;
    assert_eq!(status, 400);
    assert!(
        description(&body).starts_with("Bad Request: message is not modified: "),
        "{body}"
    );

    // Editing the text without reply_markup removes the keyboard, like Telegram.
    let (status, _) = bot
        .call(
            "editMessageText",
            json!({"chat_id": 42, "message_id": id, "text": "Cart: 2 items"}),
        )
        .await;
    assert_eq!(status, 200);
    assert!(
        user.last_message()
            .expect("message")
            .inline_buttons()
            .is_empty()
    );

    let (status, body) = bot
        .call(
            "editMessageReplyMarkup",
            json!({"chat_id": 42, "message_id": id, "reply_markup": menu()}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        user.last_message().expect("message").inline_buttons().len(),
        4
    );
    let (status, body) = bot
        .call(
            "editMessageReplyMarkup",
            json!({"chat_id": 42, "message_id": id, "reply_markup": menu()}),
        )
        .await;
    assert_eq!(status, 400);
    assert!(description(&body).contains("message is not modified"));

    let (status, body) = bot
        .call(
            "editMessageText",
            json!({"chat_id": 42, "message_id": 999, "text": "x"}),
        )
        .await;
    assert_eq!(
        (status, description(&body)),
        (400, "Bad Request: message to edit not found")
    );
    let (status, body) = bot
        .call(
            "editMessageCaption",
            json!({"chat_id": 42, "message_id": id, "caption": "x"}),
        )
        .await;
    assert_eq!(
        (status, description(&body)),
        (
            400,
            "Bad Request: there is no caption in the message to edit"
        )
    );
    user.send_text("mine").await;
    let mine = next_update(&bot).await["message"]["message_id"].clone();
    let (status, body) = bot
        .call(
            "editMessageText",
            json!({"chat_id": 42, "message_id": mine, "text": "x"}),
        )
        .await;
    assert_eq!(
        (status, description(&body)),
        (400, "Bad Request: message can't be edited")
    );
}

#[tokio::test]
async fn caption_edits_apply_to_photos() {
    let (sim, bot) = setup().await;
    let user = sim.user(42, "Olena");
    let (_, body) = bot
        .call(
            "sendPhoto",
            json!({"chat_id": 42, "photo": "https://example.com/p.jpg", "caption": "Red shoes"}),
        )
        .await;
    let id = body["result"]["message_id"].clone();
    let (status, body) = bot
        .call(
            "editMessageCaption",
            json!({"chat_id": 42, "message_id": id, "caption": "Red shoes, -20%"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let photo = user.last_message().expect("photo");
    assert_eq!(photo.caption.as_deref(), Some("Red shoes, -20%"));
    assert_eq!(photo.photo.as_deref(), Some("https://example.com/p.jpg"));
    assert_eq!(photo.body(), "Red shoes, -20%");
    let (status, body) = bot
        .call(
            "editMessageText",
            json!({"chat_id": 42, "message_id": id, "text": "x"}),
        )
        .await;
    assert_eq!(
        (status, description(&body)),
        (400, "Bad Request: there is no text in the message to edit")
    );
}

#[tokio::test]
async fn waits_follow_new_messages_and_edits() {
    let (sim, bot) = setup().await;
    let user = sim.user(42, "Olena");
    let sender = Bot::new(&sim);
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let (_, body) = sender
            .call(
                "sendMessage",
                json!({"chat_id": 42, "text": "Order #7: pending"}),
            )
            .await;
        sender
            .call("sendMessage", json!({"chat_id": 42, "text": "Thanks!"}))
            .await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        let id = body["result"]["message_id"].clone();
        sender
            .call(
                "editMessageText",
                json!({"chat_id": 42, "message_id": id, "text": "Order #7: paid"}),
            )
            .await;
    });
    let first = user
        .wait_for_reply(Duration::from_secs(2))
        .await
        .expect("first");
    assert_eq!(first.body(), "Order #7: pending");
    let second = user
        .wait_for_reply(Duration::from_secs(2))
        .await
        .expect("second");
    assert_eq!(second.body(), "Thanks!");
    let paid = user
        .wait_until(|m| m.body().ends_with("paid"), Duration::from_secs(2))
        .await
        .expect("edited");
    assert_eq!(paid.message_id, first.message_id);
    let timeout = user.wait_for_reply(Duration::from_millis(100)).await;
    assert!(
        matches!(timeout, Err(SimError::Timeout { .. })),
        "{timeout:?}"
    );
    drop(bot);
}

#[tokio::test]
async fn transcript_interleaves_updates_calls_and_rejections() {
    let (sim, bot) = setup().await;
    let user = sim.user(42, "Olena");
    user.send_command("start").await;
    bot.call("sendMessage", json!({"chat_id": 42, "text": "Hi"}))
        .await;
    bot.call("sendMessage", json!({"chat_id": 42, "text": ""}))
        .await;
    let transcript = sim.transcript();
    assert_eq!(transcript.len(), 3, "{transcript:#?}");
    match &transcript[0] {
        TranscriptEntry::Update { chat_id, update } => {
            assert_eq!(*chat_id, Some(42));
            assert_eq!(update["message"]["text"], "/start");
        }
        other => panic!("{other:?}"),
    }
    match &transcript[1] {
        TranscriptEntry::Call {
            method,
            params,
            result,
            ..
        } => {
            assert_eq!(method, "sendMessage");
            assert_eq!(params["text"], "Hi");
            assert_eq!(result["from"]["is_bot"], true);
            assert_eq!(result["message_id"], 2);
        }
        other => panic!("{other:?}"),
    }
    match &transcript[2] {
        TranscriptEntry::Rejected { request, .. } => {
            assert_eq!(request.description, "Bad Request: message text is empty");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(sim.rejected_requests().len(), 1);
    assert!(transcript[2].to_string().contains("REJECTED sendMessage"));
}
