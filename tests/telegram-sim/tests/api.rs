//! The Bot API surface: routing, auth, parameter formats and validation.

mod support {
    pub mod bot;
}

use serde_json::json;
use support::bot::{Bot, description};
use switchboard_telegram_sim::{SimConfig, TelegramSim};

async fn sim() -> (TelegramSim, Bot) {
    let sim = TelegramSim::start(SimConfig::default())
        .await
        .expect("sim starts");
    let bot = Bot::new(&sim);
    (sim, bot)
}

#[tokio::test]
async fn get_me_returns_the_bot_user() {
    let (sim, bot) = sim().await;
    let (status, body) = bot.call("getMe", json!({})).await;
    assert_eq!(status, 200);
    assert_eq!(body["ok"], true);
    assert_eq!(body["result"]["id"], 123456);
    assert_eq!(body["result"]["is_bot"], true);
    assert_eq!(body["result"]["username"], "switchboard_test_bot");
    assert_eq!(body["result"]["can_join_groups"], true);
    assert!(sim.api_url().starts_with("http://127.0.0.1:"));
    assert!(sim.rejected_requests().is_empty());
}

#[tokio::test]
async fn method_names_are_case_insensitive() {
    let (sim, bot) = sim().await;
    let user = sim.user(42, "Olena");
    for method in ["GetMe", "GETME", "getme"] {
        let (status, body) = bot.call(method, json!({})).await;
        assert_eq!((status, body["ok"].clone()), (200, json!(true)), "{method}");
    }
    let (status, body) = bot
        .call("SendMessage", json!({"chat_id": 42, "text": "hi"}))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        user.last_message().map(|m| m.method),
        Some("sendMessage".to_owned())
    );
}

#[tokio::test]
async fn wrong_token_is_unauthorized_and_recorded() {
    let (sim, bot) = sim().await;
    let url = format!("{}/bot123456:wrong/getMe", sim.api_url());
    let response = bot.http.get(url).send().await.expect("request");
    assert_eq!(response.status().as_u16(), 401);
    let body: serde_json::Value = response.json().await.expect("json");
    assert_eq!(
        body,
        json!({"ok": false, "error_code": 401, "description": "Unauthorized"})
    );
    let rejected = sim.rejected_requests();
    assert_eq!(rejected.len(), 1);
    assert_eq!(rejected[0].error_code, 401);
}

#[tokio::test]
async fn unknown_method_is_not_found() {
    let (sim, bot) = sim().await;
    let (status, body) = bot.call("sendTelepathy", json!({})).await;
    assert_eq!(status, 404);
    assert_eq!(
        body,
        json!({"ok": false, "error_code": 404, "description": "Not Found: method not found"})
    );
    assert_eq!(sim.rejected_requests()[0].method, "sendTelepathy");
}

#[tokio::test]
async fn missing_required_parameters_are_named() {
    let (sim, bot) = sim().await;
    sim.user(42, "Olena");
    let (status, body) = bot.call("sendMessage", json!({"text": "hi"})).await;
    assert_eq!(
        (status, description(&body)),
        (400, "Bad Request: chat_id is empty")
    );
    let (status, body) = bot.call("sendMessage", json!({"chat_id": 42})).await;
    assert_eq!(
        (status, description(&body)),
        (400, "Bad Request: message text is empty")
    );
    let (status, body) = bot
        .call("sendLocation", json!({"chat_id": 42, "latitude": 50.4}))
        .await;
    assert_eq!(
        (status, description(&body)),
        (400, "Bad Request: parameter \"longitude\" is required")
    );
    let (status, body) = bot.call("answerCallbackQuery", json!({})).await;
    assert_eq!(
        (status, description(&body)),
        (
            400,
            "Bad Request: parameter \"callback_query_id\" is required"
        )
    );
    assert_eq!(sim.rejected_requests().len(), 4);
}

#[tokio::test]
async fn wrong_types_are_rejected() {
    let (sim, bot) = sim().await;
    sim.user(42, "Olena");
    let (status, body) = bot.call("getUpdates", json!({"limit": "many"})).await;
    assert_eq!(
        (status, description(&body)),
        (
            400,
            "Bad Request: parameter \"limit\" must be of type Integer"
        )
    );
    let (status, body) = bot
        .call(
            "sendMessage",
            json!({"chat_id": 42, "text": {"nested": true}}),
        )
        .await;
    assert_eq!(status, 400);
    assert!(description(&body).contains("\"text\""), "{body}");
    let (status, body) = bot
        .call(
            "sendMessage",
            json!({"chat_id": 42, "text": "x", "reply_parameters": {"chat_id": 42}}),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(
        description(&body),
        "Bad Request: can't parse reply_parameters: field \"message_id\" of ReplyParameters is required"
    );
    let (status, _) = bot
        .call(
            "sendMessage",
            json!({"chat_id": 42, "text": "x", "disable_notification": "yes"}),
        )
        .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn unknown_chat_is_not_found() {
    let (_sim, bot) = sim().await;
    let (status, body) = bot
        .call("sendMessage", json!({"chat_id": 777, "text": "hi"}))
        .await;
    assert_eq!(
        (status, description(&body)),
        (400, "Bad Request: chat not found")
    );
}

#[tokio::test]
async fn form_query_and_multipart_parameters_are_accepted() {
    let (sim, bot) = sim().await;
    let user = sim.user(42, "Olena");
    let markup = r#"{"inline_keyboard":[[{"text":"Buy","callback_data":"buy:1"}]]}"#;
    let (status, body) = bot
        .call_form(
            "sendMessage",
            &[
                ("chat_id", "42"),
                ("text", "from a form"),
                ("reply_markup", markup),
            ],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["result"]["reply_markup"]["inline_keyboard"][0][0]["callback_data"],
        "buy:1"
    );

    let (status, body) = bot
        .call_get("sendMessage?chat_id=42&text=from%20a%20query")
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"]["text"], "from a query");

    let form = reqwest::multipart::Form::new()
        .text("chat_id", "42")
        .text("caption", "uploaded")
        .text("reply_markup", markup)
        .part(
            "photo",
            reqwest::multipart::Part::bytes(vec![0xFF, 0xD8, 0xFF, 0x00])
                .file_name("cat.jpg")
                .mime_str("image/jpeg")
                .expect("mime"),
        );
    let (status, body) = bot.call_multipart("sendPhoto", form).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"]["caption"], "uploaded");
    assert!(
        body["result"]["photo"][0]["file_id"]
            .as_str()
            .is_some_and(|id| !id.is_empty())
    );
    assert_eq!(
        body["result"]["photo"][1]["file_size"], 4,
        "size of the uploaded part"
    );

    let texts: Vec<String> = user
        .messages()
        .iter()
        .map(|m| m.body().to_owned())
        .collect();
    assert_eq!(texts, ["from a form", "from a query", "uploaded"]);
    let photo = user.last_message().expect("photo message");
    assert_eq!(photo.photo.as_deref(), Some("attach://photo"));
    assert_eq!(
        photo.inline_buttons(),
        [("Buy".to_owned(), "buy:1".to_owned())]
    );
    assert!(sim.rejected_requests().is_empty());
}

#[tokio::test]
async fn text_length_counts_utf16_code_units() {
    let (sim, bot) = sim().await;
    let user = sim.user(42, "Olena");
    let (status, body) = bot
        .call("sendMessage", json!({"chat_id": 42, "text": ""}))
        .await;
    assert_eq!(
        (status, description(&body)),
        (400, "Bad Request: message text is empty")
    );
    let (status, body) = bot
        .call("sendMessage", json!({"chat_id": 42, "text": "   \n "}))
        .await;
    assert_eq!(
        (status, description(&body)),
        (400, "Bad Request: message text is empty")
    );

    // 2048 emoji are 2048 chars but 4096 UTF-16 code units: the maximum.
    let max = "😀".repeat(2048);
    let (status, body) = bot
        .call("sendMessage", json!({"chat_id": 42, "text": max}))
        .await;
    assert_eq!(status, 200, "{}", description(&body));
    assert_eq!(user.last_message().and_then(|m| m.text), Some(max.clone()));

    let over = format!("{max}a");
    let (status, body) = bot
        .call("sendMessage", json!({"chat_id": 42, "text": over}))
        .await;
    assert_eq!(
        (status, description(&body)),
        (400, "Bad Request: message is too long")
    );
    let plain_over = "a".repeat(4097);
    let (status, _) = bot
        .call("sendMessage", json!({"chat_id": 42, "text": plain_over}))
        .await;
    assert_eq!(status, 400);
    let plain_max = "a".repeat(4096);
    let (status, _) = bot
        .call("sendMessage", json!({"chat_id": 42, "text": plain_max}))
        .await;
    assert_eq!(status, 200);

    // Markup does not count: the limit applies after entity parsing.
    let html = format!("<b>{}</b>", "a".repeat(4096));
    let (status, body) = bot
        .call(
            "sendMessage",
            json!({"chat_id": 42, "text": html, "parse_mode": "HTML"}),
        )
        .await;
    assert_eq!(status, 200, "{}", description(&body));
    assert_eq!(
        body["result"]["entities"][0],
        json!({"type": "bold", "offset": 0, "length": 4096})
    );
}

#[tokio::test]
async fn caption_limit_is_1024() {
    let (sim, bot) = sim().await;
    sim.user(42, "Olena");
    let photo = "https://example.com/cat.jpg";
    let (status, body) = bot
        .call(
            "sendPhoto",
            json!({"chat_id": 42, "photo": photo, "caption": "c".repeat(1025)}),
        )
        .await;
    assert_eq!(
        (status, description(&body)),
        (400, "Bad Request: message caption is too long")
    );
    let (status, body) = bot
        .call(
            "sendPhoto",
            json!({"chat_id": 42, "photo": photo, "caption": "c".repeat(1024)}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = bot
        .call(
            "sendPhoto",
            json!({"chat_id": 42, "photo": "not a file id!"}),
        )
        .await;
    assert_eq!(
        (status, description(&body)),
        (400, "Bad Request: wrong file identifier/HTTP URL specified")
    );
}

#[tokio::test]
async fn parse_mode_errors() {
    let (sim, bot) = sim().await;
    let user = sim.user(42, "Olena");
    let send = |text: &str, mode: &str| {
        bot.call(
            "sendMessage",
            json!({"chat_id": 42, "text": text, "parse_mode": mode}),
        )
    };
    let (status, body) = send("<b>Total: 5", "HTML").await;
    assert_eq!(
        (status, description(&body)),
        (
            400,
            "Bad Request: can't parse entities: Can't find end tag corresponding to start tag \"b\""
        )
    );
    let (status, body) = send("<blink>x</blink>", "HTML").await;
    assert_eq!(status, 400);
    assert!(description(&body).contains("Unsupported start tag \"blink\""));
    let (status, body) = send("Price: 5.00 UAH", "MarkdownV2").await;
    assert_eq!(
        (status, description(&body)),
        (
            400,
            "Bad Request: can't parse entities: Character '.' is reserved and must be escaped with the preceding '\\'"
        )
    );
    let (status, body) = send("Price: *5\\.00* UAH", "MarkdownV2").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        user.last_message().and_then(|m| m.text),
        Some("Price: 5.00 UAH".to_owned())
    );
    let (status, body) = send("x", "Textile").await;
    assert_eq!(
        (status, description(&body)),
        (400, "Bad Request: unsupported parse_mode")
    );
}

#[tokio::test]
async fn callback_data_is_limited_to_64_bytes() {
    let (sim, bot) = sim().await;
    sim.user(42, "Olena");
    let markup = |data: &str| json!({"inline_keyboard": [[{"text": "Go", "callback_data": data}]]});
    // "ї" is 2 bytes in UTF-8: 32 of them are 64 bytes, one more ASCII byte is 65.
    let max = "ї".repeat(32);
    let (status, body) = bot
        .call(
            "sendMessage",
            json!({"chat_id": 42, "text": "t", "reply_markup": markup(&max)}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let over = format!("{max}x");
    let (status, body) = bot
        .call(
            "sendMessage",
            json!({"chat_id": 42, "text": "t", "reply_markup": markup(&over)}),
        )
        .await;
    assert_eq!(
        (status, description(&body)),
        (400, "Bad Request: BUTTON_DATA_INVALID")
    );
    let (status, body) = bot
        .call(
            "sendMessage",
            json!({"chat_id": 42, "text": "t", "reply_markup": markup(&"a".repeat(65))}),
        )
        .await;
    assert_eq!(
        (status, description(&body)),
        (400, "Bad Request: BUTTON_DATA_INVALID")
    );
}

#[tokio::test]
async fn malformed_reply_markup_is_rejected() {
    let (sim, bot) = sim().await;
    sim.user(42, "Olena");
    let cases = [
        (
            json!("{not json"),
            "Bad Request: can't parse reply keyboard markup JSON object",
        ),
        (
            json!({"inline_keyboard": [{"text": "a", "callback_data": "b"}]}),
            "Bad Request: field \"inline_keyboard\" of the InlineKeyboardMarkup should be an Array of Arrays",
        ),
        (
            json!({"inline_keyboard": [[{"text": "a"}]]}),
            "Bad Request: can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard",
        ),
        (
            json!({"inline_keyboard": [[{"callback_data": "b"}]]}),
            "Bad Request: can't parse inline keyboard button: Can't find field \"text\"",
        ),
        (
            json!({"inline_keyboard": [[{"text": "Pay", "url": "javascript:alert(1)"}]]}),
            "Bad Request: inline keyboard button URL 'javascript:alert(1)' is invalid: Unsupported URL protocol",
        ),
        (
            json!({"inline_keyboard": [[{"text": "App", "web_app": {"url": "http://shop.example.com"}}]]}),
            "Bad Request: inline keyboard button Web App URL 'http://shop.example.com' is invalid: Only HTTPS links are allowed",
        ),
        (
            json!({"keyboard": "Yes"}),
            "Bad Request: field \"keyboard\" of the ReplyKeyboardMarkup should be an Array of Arrays",
        ),
        (
            json!({"remove_keyboard": false}),
            "Bad Request: field \"remove_keyboard\" of the ReplyKeyboardRemove must be true",
        ),
        (
            json!({"something": 1}),
            "Bad Request: can't parse reply keyboard markup JSON object",
        ),
    ];
    for (markup, expected) in cases {
        let (status, body) = bot
            .call(
                "sendMessage",
                json!({"chat_id": 42, "text": "t", "reply_markup": markup}),
            )
            .await;
        assert_eq!(
            (status, description(&body)),
            (400, expected),
            "markup {markup}"
        );
    }
    let valid = [
        json!({"keyboard": [["Yes", {"text": "Share phone", "request_contact": true}], [{"text": "Where", "request_location": true}]], "resize_keyboard": true}),
        json!({"remove_keyboard": true}),
        json!({"force_reply": true, "input_field_placeholder": "Your name"}),
        json!({"inline_keyboard": [[{"text": "Site", "url": "https://example.com"}, {"text": "Me", "url": "tg://user?id=1"}]]}),
    ];
    for markup in valid {
        let (status, body) = bot
            .call(
                "sendMessage",
                json!({"chat_id": 42, "text": "t", "reply_markup": markup}),
            )
            .await;
        assert_eq!(status, 200, "{markup}: {body}");
    }
}

#[tokio::test]
async fn location_contact_chat_action_and_delete() {
    let (sim, bot) = sim().await;
    let user = sim.user(42, "Olena");
    let (status, body) = bot
        .call(
            "sendLocation",
            json!({"chat_id": 42, "latitude": 50.45, "longitude": 30.52}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"]["location"]["latitude"], 50.45);
    let (status, body) = bot
        .call(
            "sendContact",
            json!({"chat_id": 42, "phone_number": "+380501234567", "first_name": "Shop"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"]["contact"]["phone_number"], "+380501234567");
    let (status, _) = bot
        .call("sendChatAction", json!({"chat_id": 42, "action": "typing"}))
        .await;
    assert_eq!(status, 200);
    let (status, body) = bot
        .call(
            "sendChatAction",
            json!({"chat_id": 42, "action": "dancing"}),
        )
        .await;
    assert_eq!(
        (status, description(&body)),
        (400, "Bad Request: wrong parameter action in request")
    );
    assert_eq!(user.chat_actions(), ["typing"]);

    let messages = user.messages();
    assert_eq!(messages[0].location, Some((50.45, 30.52)));
    assert_eq!(messages[1].message_id, messages[0].message_id + 1);
    let (status, _) = bot
        .call(
            "deleteMessage",
            json!({"chat_id": 42, "message_id": messages[0].message_id}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(user.messages().len(), 1);
    let (status, body) = bot
        .call(
            "deleteMessage",
            json!({"chat_id": 42, "message_id": messages[0].message_id}),
        )
        .await;
    assert_eq!(
        (status, description(&body)),
        (400, "Bad Request: message to delete not found")
    );
}

#[tokio::test]
async fn commands_are_validated_and_stored() {
    let (sim, bot) = sim().await;
    let commands = json!([{"command": "/start", "description": "Start"}, {"command": "orders", "description": "My orders"}]);
    let (status, body) = bot
        .call("setMyCommands", json!({"commands": commands}))
        .await;
    assert_eq!(status, 200, "{body}");
    let (_, body) = bot.call("getMyCommands", json!({})).await;
    assert_eq!(
        body["result"],
        json!([{"command": "start", "description": "Start"}, {"command": "orders", "description": "My orders"}])
    );
    assert_eq!(
        sim.commands()[1],
        ("orders".to_owned(), "My orders".to_owned())
    );
    for bad in [
        json!([{"command": "Start", "description": "x"}]),
        json!([{"command": "a".repeat(33), "description": "x"}]),
        json!([{"command": "", "description": "x"}]),
    ] {
        let (status, body) = bot.call("setMyCommands", json!({"commands": bad})).await;
        assert_eq!(
            (status, description(&body)),
            (400, "Bad Request: BOT_COMMAND_INVALID")
        );
    }
    let (status, body) = bot
        .call(
            "setMyCommands",
            json!({"commands": [{"command": "ok", "description": "d".repeat(257)}]}),
        )
        .await;
    assert_eq!(
        (status, description(&body)),
        (400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
    );
    let many: Vec<_> = (0..101)
        .map(|i| json!({"command": format!("c{i}"), "description": "d"}))
        .collect();
    let (status, _) = bot.call("setMyCommands", json!({"commands": many})).await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn other_spec_methods_are_accepted_generically() {
    let (sim, bot) = sim().await;
    sim.user(42, "Olena");
    let (status, body) = bot
        .call("setMyDescription", json!({"description": "A shop"}))
        .await;
    assert_eq!((status, body["result"].clone()), (200, json!(true)));
    let (status, body) = bot.call("pinChatMessage", json!({"chat_id": 42})).await;
    assert_eq!(
        (status, description(&body)),
        (400, "Bad Request: parameter \"message_id\" is required")
    );
    let (status, body) = bot
        .call("sendDocument", json!({"chat_id": 42, "document": "https://example.com/invoice.pdf", "caption": "Invoice"}))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"]["caption"], "Invoice");
    assert!(body["result"]["document"]["file_id"].is_string());
    let transcript = sim.transcript();
    let methods: Vec<&str> = transcript.iter().filter_map(|e| e.method()).collect();
    assert_eq!(
        methods,
        ["setMyDescription", "pinChatMessage", "sendDocument"]
    );
}
