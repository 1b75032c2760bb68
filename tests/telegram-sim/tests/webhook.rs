//! Webhooks: setWebhook, delivery with the secret header, failures, retries and the getUpdates conflict.

mod support {
    pub mod bot;
}

use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use serde_json::{Value, json};
use support::bot::{Bot, description};
use switchboard_telegram_sim::{SimConfig, TelegramSim};

/// A delivered update with the secret header it came with.
type Delivery = (Option<String>, Value);

#[derive(Clone, Default)]
struct Receiver {
    got: Arc<Mutex<Vec<Delivery>>>,
    /// The status to answer with.
    status: Arc<AtomicU16>,
}

async fn receive(
    State(r): State<Receiver>,
    headers: HeaderMap,
    axum::Json(update): axum::Json<Value>,
) -> StatusCode {
    let secret = headers
        .get("x-telegram-bot-api-secret-token")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let status = StatusCode::from_u16(r.status.load(Ordering::SeqCst)).unwrap_or(StatusCode::OK);
    if status.is_success() {
        r.got.lock().expect("lock").push((secret, update));
    }
    status
}

async fn start_receiver(status: u16) -> (Receiver, String) {
    let receiver = Receiver::default();
    receiver.status.store(status, Ordering::SeqCst);
    let app = Router::new()
        .route("/hook", post(receive))
        .with_state(receiver.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (receiver, url)
}

fn fast_config() -> SimConfig {
    SimConfig {
        webhook_retry_initial: Duration::from_millis(20),
        webhook_retry_max: Duration::from_millis(100),
        ..SimConfig::default()
    }
}

async fn eventually(what: &str, check: impl Fn() -> bool) {
    for _ in 0..200 {
        if check() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("timed out waiting for {what}");
}

#[tokio::test]
async fn updates_are_posted_in_order_with_the_secret_header() {
    let sim = TelegramSim::start(fast_config()).await.expect("sim");
    let bot = Bot::new(&sim);
    let (receiver, url) = start_receiver(200).await;
    let (status, body) = bot
        .call(
            "setWebhook",
            json!({"url": url, "secret_token": "s3cr3t_-X"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["description"], "Webhook was set");
    let user = sim.user(42, "Olena");
    for text in ["first", "second", "third"] {
        user.send_text(text).await;
    }
    let got = receiver.got.clone();
    eventually("three deliveries", || got.lock().expect("lock").len() == 3).await;
    let deliveries = receiver.got.lock().expect("lock").clone();
    let texts: Vec<&str> = deliveries
        .iter()
        .filter_map(|(_, u)| u["message"]["text"].as_str())
        .collect();
    assert_eq!(texts, ["first", "second", "third"]);
    assert!(
        deliveries
            .iter()
            .all(|(secret, _)| secret.as_deref() == Some("s3cr3t_-X"))
    );
    let info = sim.webhook_info();
    assert_eq!(info.url, url);
    assert_eq!(info.pending_update_count, 0);
    assert_eq!(info.delivered_count, 3);
    assert_eq!(info.last_error_message, None);

    let (status, body) = bot.call("getUpdates", json!({})).await;
    assert_eq!(
        (status, description(&body)),
        (
            409,
            "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"
        )
    );
    let (_, body) = bot.call("deleteWebhook", json!({})).await;
    assert_eq!(body["description"], "Webhook was deleted");
    let (status, _) = bot.call("getUpdates", json!({})).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn failing_webhook_keeps_updates_pending_and_reports_the_error() {
    let sim = TelegramSim::start(fast_config()).await.expect("sim");
    let bot = Bot::new(&sim);
    let (receiver, url) = start_receiver(500).await;
    let (status, _) = bot
        .call(
            "setWebhook",
            json!({"url": url, "allowed_updates": ["message"]}),
        )
        .await;
    assert_eq!(status, 200);
    let user = sim.user(42, "Olena");
    user.send_text("hello").await;
    user.send_text("again").await;
    eventually("a delivery error", || {
        sim.webhook_info().last_error_message.is_some()
    })
    .await;
    let (status, body) = bot.call("getWebhookInfo", json!({})).await;
    assert_eq!(status, 200);
    let info = &body["result"];
    assert_eq!(info["url"], url.as_str());
    assert_eq!(info["has_custom_certificate"], false);
    assert_eq!(info["pending_update_count"], 2);
    assert_eq!(
        info["last_error_message"],
        "Wrong response from the webhook: 500 Internal Server Error"
    );
    assert!(
        info["last_error_date"]
            .as_i64()
            .is_some_and(|d| d > 1_600_000_000)
    );
    assert_eq!(info["allowed_updates"], json!(["message"]));
    assert!(receiver.got.lock().expect("lock").is_empty());

    // Once the bot recovers, the retries deliver everything, in order.
    receiver.status.store(200, Ordering::SeqCst);
    let got = receiver.got.clone();
    eventually("redelivery", || got.lock().expect("lock").len() == 2).await;
    let texts: Vec<String> = receiver
        .got
        .lock()
        .expect("lock")
        .iter()
        .filter_map(|(_, u)| u["message"]["text"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(texts, ["hello", "again"]);
    // The receiver records an update before the simulator has read its 200.
    eventually("no pending updates", || {
        sim.webhook_info().pending_update_count == 0
    })
    .await;
}

#[tokio::test]
async fn unreachable_webhook_records_a_connection_error() {
    let sim = TelegramSim::start(fast_config()).await.expect("sim");
    let bot = Bot::new(&sim);
    // Bind and drop a listener so the port is very likely closed.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr").port()
    };
    let url = format!("http://127.0.0.1:{port}/hook");
    let (status, _) = bot.call("setWebhook", json!({"url": url})).await;
    assert_eq!(status, 200);
    sim.user(42, "Olena").send_text("anyone?").await;
    eventually("a connection error", || {
        sim.webhook_info().last_error_message.is_some()
    })
    .await;
    assert_eq!(
        sim.webhook_info().last_error_message.as_deref(),
        Some("Connection refused")
    );
    assert_eq!(sim.webhook_info().pending_update_count, 1);
    // drop_pending_updates forgets them.
    let (_, body) = bot
        .call("deleteWebhook", json!({"drop_pending_updates": true}))
        .await;
    assert_eq!(body["result"], true);
    assert_eq!(sim.webhook_info().pending_update_count, 0);
    assert_eq!(sim.webhook_info().url, "");
}

#[tokio::test]
async fn set_webhook_validates_url_and_secret() {
    let sim = TelegramSim::start(SimConfig::default()).await.expect("sim");
    let bot = Bot::new(&sim);
    let cases = [
        (
            json!({"url": "http://bot.example.com/hook"}),
            "Bad Request: bad webhook: An HTTPS URL must be provided for webhook",
        ),
        (
            json!({"url": "https://bot.example.com/hook", "secret_token": "has space"}),
            "Bad Request: secret token contains unallowed characters",
        ),
        (
            json!({"url": "https://bot.example.com/hook", "secret_token": "a".repeat(257)}),
            "Bad Request: secret token is too long",
        ),
        (json!({}), "Bad Request: parameter \"url\" is required"),
    ];
    for (params, expected) in cases {
        let (status, body) = bot.call("setWebhook", params.clone()).await;
        assert_eq!((status, description(&body)), (400, expected), "{params}");
    }
    let (status, body) = bot
        .call(
            "setWebhook",
            json!({"url": "https://bot.example.com/hook", "secret_token": "a".repeat(256)}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (_, body) = bot.call("setWebhook", json!({"url": ""})).await;
    assert_eq!(body["description"], "Webhook was deleted");
    assert_eq!(sim.webhook_info().url, "");
}

#[tokio::test]
async fn webhook_response_may_carry_a_method_call() {
    let sim = TelegramSim::start(fast_config()).await.expect("sim");
    let bot = Bot::new(&sim);
    let app = Router::new().route(
        "/hook",
        post(|axum::Json(update): axum::Json<Value>| async move {
            let chat = update["message"]["chat"]["id"].clone();
            axum::Json(json!({"method": "sendMessage", "chat_id": chat, "text": "pong"}))
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    bot.call("setWebhook", json!({"url": url})).await;
    let user = sim.user(42, "Olena");
    user.send_text("ping").await;
    let reply = user
        .wait_for_reply(Duration::from_secs(2))
        .await
        .expect("reply");
    assert_eq!(reply.text.as_deref(), Some("pong"));
}
