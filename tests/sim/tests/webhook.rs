//! The simulated JSON webhook over real loopback HTTP.

use std::time::Duration;

use serde_json::{Value, json};
use switchboard_sim::Fault;
use switchboard_sim::webhook::{WebhookConfig, WebhookSim};

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("the HTTP client builds")
}

async fn start() -> WebhookSim {
    WebhookSim::start(WebhookConfig::with_catalog(5))
        .await
        .expect("the sim binds a loopback port")
}

fn lead(key: &str) -> Value {
    json!({"schema": "switchboard.lead.v1", "kind": "order", "idempotency_key": key, "title": "t"})
}

#[tokio::test]
async fn the_catalog_needs_the_token_and_lists_exact_prices() {
    let sim = start().await;
    let c = client();
    let denied = c.get(sim.catalog_url()).send().await.expect("answers");
    assert_eq!(denied.status(), 401);
    let doc: Value = c
        .get(sim.catalog_url())
        .header("authorization", sim.auth_header().unwrap_or_default())
        .send()
        .await
        .expect("answers")
        .json()
        .await
        .expect("JSON");
    let products = doc["products"].as_array().cloned().unwrap_or_default();
    assert_eq!(products.len(), 5);
    for p in &products {
        let price = p["price"].as_str().unwrap_or_default();
        let (units, cents) = price.split_once('.').unwrap_or_default();
        assert!(units.parse::<u64>().is_ok() && cents.len() == 2, "{price}");
        assert!(p["id"].is_string() && p["name"].is_string());
    }
}

#[tokio::test]
async fn leads_are_stored_once_per_idempotency_key_and_validated() {
    let sim = start().await;
    let c = client();
    let post = |body: Value, key: &str| {
        c.post(sim.lead_url())
            .header("authorization", sim.auth_header().unwrap_or_default())
            .header("idempotency-key", key)
            .json(&body)
            .send()
    };
    let first = post(lead("k-1"), "k-1").await.expect("answers");
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await.expect("JSON");
    assert_eq!(first["id"], "wh-1");
    let again: Value = post(lead("k-1"), "k-1")
        .await
        .expect("answers")
        .json()
        .await
        .expect("JSON");
    assert_eq!(again["id"], "wh-1");
    assert_eq!(sim.leads().len(), 1);
    let missing = post(json!({"kind": "order"}), "k-2")
        .await
        .expect("answers");
    assert_eq!(missing.status(), 422);
    let not_json = c
        .post(sim.lead_url())
        .header("authorization", sim.auth_header().unwrap_or_default())
        .body("{nope")
        .send()
        .await
        .expect("answers");
    assert_eq!(not_json.status(), 400);
    assert_eq!(sim.leads().len(), 1);
}

#[tokio::test]
async fn faults_look_like_a_json_api_and_apply_then_drop_stores_the_lead() {
    let sim = start().await;
    let c = client();
    let auth = sim.auth_header().unwrap_or_default();
    sim.inject(Fault::ServerError(503), Some(1));
    sim.inject(
        Fault::RateLimited {
            retry_after_secs: 4,
        },
        Some(1),
    );
    let r = c
        .get(sim.catalog_url())
        .header("authorization", &auth)
        .send()
        .await
        .expect("answers");
    assert_eq!(r.status(), 503);
    let r = c
        .get(sim.catalog_url())
        .header("authorization", &auth)
        .send()
        .await
        .expect("answers");
    assert_eq!(r.status(), 429);
    assert_eq!(
        r.headers().get("retry-after").and_then(|v| v.to_str().ok()),
        Some("4")
    );
    sim.inject_for("/leads", Fault::ApplyThenDrop, Some(1));
    let dropped = c
        .post(sim.lead_url())
        .header("authorization", &auth)
        .header("idempotency-key", "k-9")
        .json(&lead("k-9"))
        .send()
        .await;
    assert!(dropped.is_err(), "the connection should drop");
    assert_eq!(sim.leads().len(), 1, "but the lead was stored");
    sim.inject(Fault::MalformedJson, Some(1));
    let r = c
        .get(sim.catalog_url())
        .header("authorization", &auth)
        .send()
        .await
        .expect("answers");
    assert!(r.json::<Value>().await.is_err());
    assert_eq!(sim.requests().len(), 4);
}
