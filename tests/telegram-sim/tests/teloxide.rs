//! teloxide 0.17, the client the project's bots use, against the simulator.

use std::time::Duration;

use switchboard_telegram_sim::{SimConfig, TelegramSim};
use teloxide::prelude::*;
use teloxide::types::{
    InlineKeyboardButton, InlineKeyboardMarkup, InputFile, ParseMode, UpdateKind,
};
use teloxide::utils::command::BotCommands;

#[derive(BotCommands, Clone)]
#[command(rename_rule = "lowercase")]
enum Command {
    /// Start shopping
    Start,
    /// Show my orders
    Orders,
}

fn bot(sim: &TelegramSim) -> Bot {
    let url = reqwest::Url::parse(&sim.api_url()).expect("api url");
    Bot::new(sim.token()).set_api_url(url)
}

#[tokio::test]
async fn teloxide_requests_and_responses_round_trip() {
    let sim = TelegramSim::start(SimConfig::default()).await.expect("sim");
    let bot = bot(&sim);
    let user = sim.user(4242, "Olena").with_username("olena");

    let me = bot.get_me().await.expect("getMe parses");
    assert_eq!(me.username(), "switchboard_test_bot");
    bot.set_my_commands(Command::bot_commands())
        .await
        .expect("setMyCommands");
    assert_eq!(sim.commands()[0].0, "start");
    bot.delete_webhook().await.expect("deleteWebhook");

    user.send_command("/start").await;
    let updates = bot
        .get_updates()
        .timeout(1)
        .await
        .expect("getUpdates parses");
    let UpdateKind::Message(message) = &updates[0].kind else {
        panic!("expected a message, got {:?}", updates[0].kind);
    };
    assert_eq!(message.text(), Some("/start"));
    let offset = updates[0].id.as_offset();

    let keyboard = InlineKeyboardMarkup::new([[InlineKeyboardButton::callback("Buy 🛒", "buy:7")]]);
    let sent = bot
        .send_message(message.chat.id, "<b>Red shoes</b>, 1200 UAH")
        .parse_mode(ParseMode::Html)
        .reply_markup(keyboard.clone())
        .await
        .expect("sendMessage parses");
    assert_eq!(sent.text(), Some("Red shoes, 1200 UAH"));

    user.press("Buy").await.expect("button");
    let updates = bot
        .get_updates()
        .offset(offset)
        .timeout(1)
        .await
        .expect("getUpdates");
    let UpdateKind::CallbackQuery(query) = &updates[0].kind else {
        panic!("expected a callback query, got {:?}", updates[0].kind);
    };
    assert_eq!(query.data.as_deref(), Some("buy:7"));
    bot.answer_callback_query(query.id.clone())
        .text("Added")
        .await
        .expect("answerCallbackQuery");
    bot.edit_message_text(sent.chat.id, sent.id, "Red shoes — in the cart")
        .reply_markup(keyboard)
        .await
        .expect("editMessageText parses");
    bot.send_photo(
        sent.chat.id,
        InputFile::url(reqwest::Url::parse("https://example.com/p.jpg").expect("url")),
    )
    .caption("Photo by URL")
    .await
    .expect("sendPhoto by URL");
    bot.send_photo(
        sent.chat.id,
        InputFile::memory(vec![1u8, 2, 3]).file_name("p.jpg"),
    )
    .caption("Uploaded")
    .await
    .expect("sendPhoto multipart");
    bot.send_chat_action(sent.chat.id, teloxide::types::ChatAction::Typing)
        .await
        .expect("sendChatAction");

    let bodies: Vec<String> = user
        .messages()
        .iter()
        .map(|m| m.body().to_owned())
        .collect();
    assert_eq!(
        bodies,
        ["Red shoes — in the cart", "Photo by URL", "Uploaded"]
    );
    assert_eq!(user.callback_answers()[0].1.as_deref(), Some("Added"));
    assert!(
        sim.rejected_requests().is_empty(),
        "{:#?}",
        sim.rejected_requests()
    );

    let error = bot
        .send_message(ChatId(4242), "")
        .await
        .expect_err("empty text");
    assert!(
        error.to_string().contains("message text is empty"),
        "{error}"
    );
}

#[tokio::test]
async fn teloxide_dispatcher_polls_and_replies() {
    let sim = TelegramSim::start(SimConfig::default()).await.expect("sim");
    let bot = bot(&sim);
    let user = sim.user(77, "Taras");
    let handler = Update::filter_message().endpoint(|bot: Bot, msg: Message| async move {
        let text = msg.text().unwrap_or_default().to_owned();
        bot.send_message(msg.chat.id, format!("echo: {text}"))
            .await?;
        respond(())
    });
    let mut dispatcher = Dispatcher::builder(bot, handler).build();
    let shutdown = dispatcher.shutdown_token();
    let running = tokio::spawn(async move { dispatcher.dispatch().await });

    user.send_text("hello").await;
    let reply = user
        .wait_for_reply(Duration::from_secs(5))
        .await
        .expect("echo");
    assert_eq!(reply.body(), "echo: hello");
    user.send_text("again").await;
    let reply = user
        .wait_for_reply(Duration::from_secs(5))
        .await
        .expect("echo");
    assert_eq!(reply.body(), "echo: again");

    if let Ok(done) = shutdown.shutdown() {
        tokio::time::timeout(Duration::from_secs(5), done)
            .await
            .expect("dispatcher stops");
    }
    let _ = tokio::time::timeout(Duration::from_secs(5), running).await;
    assert!(
        sim.rejected_requests().is_empty(),
        "{:#?}",
        sim.rejected_requests()
    );
}
