//! The simulated KeyCRM API over real loopback HTTP.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};
use switchboard_sim::{Fault, KeyCrmConfig, KeyCrmSim};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const KEY: &str = "test-key";

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("the HTTP client builds")
}

async fn start(config: KeyCrmConfig) -> KeyCrmSim {
    KeyCrmSim::start(config)
        .await
        .expect("the sim binds a loopback port")
}

/// GET `path` (relative to the base URL, may carry a query) with the right key.
async fn get(sim: &KeyCrmSim, path: &str) -> (StatusCode, Value) {
    let response = client()
        .get(format!("{}{path}", sim.base_url()))
        .bearer_auth(KEY)
        .send()
        .await
        .expect("the request gets an answer");
    let status = response.status();
    let body = response.json().await.expect("the body is JSON");
    (status, body)
}

async fn post_card(sim: &KeyCrmSim, body: &Value) -> (StatusCode, Value) {
    let response = client()
        .post(format!("{}/pipelines/cards", sim.base_url()))
        .bearer_auth(KEY)
        .json(body)
        .send()
        .await
        .expect("the request gets an answer");
    let status = response.status();
    let body = response.json().await.expect("the body is JSON");
    (status, body)
}

fn order() -> Value {
    json!({
        "title": "Замовлення з Telegram №17",
        "source_id": 1,
        "manager_comment": "Доставка Новою поштою, відділення 12",
        "contact": {
            "full_name": "Олена Коваленко",
            "phone": "+380671234567",
            "email": "olena@example.com"
        },
        "products": [
            { "sku": "TS-0001-2", "price": 549, "quantity": 2, "name": "Футболка бавовняна «Карпати»" },
            { "sku": "HD-0002-2", "price": 1299.5, "quantity": 1, "name": "Худі оверсайз «Карпати»" }
        ],
        "custom_fields": [{ "uuid": "LD_1001", "value": "tg:123456" }],
        "utm_source": "telegram"
    })
}

#[tokio::test]
async fn offers_paginate_230_with_limit_50() {
    let sim = start(KeyCrmConfig::with_catalog(230)).await;
    let mut ids = Vec::new();
    let mut next = Some(format!("{}/offers?limit=50", sim.base_url()));
    let mut pages = 0;
    while let Some(url) = next {
        pages += 1;
        let body: Value = client()
            .get(&url)
            .bearer_auth(KEY)
            .send()
            .await
            .expect("answer")
            .json()
            .await
            .expect("JSON");
        assert_eq!(body["total"], 230);
        assert_eq!(body["per_page"], 50);
        assert_eq!(body["current_page"], pages);
        let expected_len = if pages == 5 { 30 } else { 50 };
        let data = body["data"].as_array().expect("data is an array");
        assert_eq!(data.len(), expected_len, "page {pages}");
        ids.extend(data.iter().map(|o| o["id"].as_i64().expect("integer id")));
        assert!(
            body["first_page_url"]
                .as_str()
                .expect("a URL")
                .ends_with("/v1/offers?limit=50&page=1")
        );
        assert!(
            body["last_page_url"]
                .as_str()
                .expect("a URL")
                .ends_with("/v1/offers?limit=50&page=5")
        );
        next = body["next_page_url"].as_str().map(str::to_owned);
        if pages < 5 {
            assert!(
                next.as_deref()
                    .is_some_and(|u| u.ends_with(&format!("page={}", pages + 1)))
            );
        }
        assert!(pages <= 5, "pagination must end");
    }
    assert_eq!(pages, 5);
    assert_eq!(ids, (1..=230).collect::<Vec<i64>>());

    let (_, beyond) = get(&sim, "/offers?limit=50&page=6").await;
    assert_eq!(beyond["data"], json!([]));
    assert_eq!(beyond["next_page_url"], Value::Null);
}

#[tokio::test]
async fn offers_default_to_15_per_page_and_follow_the_spec_shape() {
    let sim = start(KeyCrmConfig::with_catalog(230)).await;
    let (status, body) = get(&sim, "/offers").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["per_page"], 15);
    assert_eq!(body["data"].as_array().map(Vec::len), Some(15));
    let offer = &body["data"][0];
    assert_eq!(offer["id"], 1);
    assert_eq!(offer["product_id"], 1);
    assert_eq!(offer["sku"], "TS-0001-1");
    assert_eq!(offer["price"], json!(549));
    assert_eq!(
        offer["properties"],
        json!([{ "name": "Колір", "value": "Чорний" }, { "name": "Розмір", "value": "S" }])
    );
    for key in [
        "barcode",
        "thumbnail_url",
        "purchased_price",
        "quantity",
        "weight",
        "length",
        "width",
        "height",
    ] {
        assert!(offer.get(key).is_some(), "offer lacks {key}");
    }
    // Prices with kopecks are plain JSON numbers with at most two decimals.
    let (_, hoodies) = get(&sim, "/offers?filter[product_id]=2").await;
    assert_eq!(hoodies["data"][0]["price"], json!(1299.5));
    assert!(hoodies["data"][0]["price"].is_f64());
}

#[tokio::test]
async fn limit_above_50_or_below_1_is_a_validation_error() {
    let sim = start(KeyCrmConfig::with_catalog(20)).await;
    let (status, body) = get(&sim, "/offers?limit=51").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        body["errors"]["limit"][0],
        "The limit field must not be greater than 50."
    );
    assert_eq!(
        body["message"],
        "The limit field must not be greater than 50."
    );
    let (status, _) = get(&sim, "/offers?limit=0").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = get(&sim, "/products?limit=abc").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, body) = get(&sim, "/offers?limit=50").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["data"].as_array().map(Vec::len), Some(20));
}

#[tokio::test]
async fn include_product_embeds_the_product_only_when_asked() {
    let sim = start(KeyCrmConfig::with_catalog(30)).await;
    let (_, plain) = get(&sim, "/offers?limit=5").await;
    for offer in plain["data"].as_array().expect("array") {
        assert!(offer.get("product").is_none());
    }
    let (_, with) = get(&sim, "/offers?limit=5&include=product").await;
    let first = &with["data"][0];
    assert_eq!(first["product"]["id"], first["product_id"]);
    assert_eq!(first["product"]["name"], "Футболка бавовняна «Карпати»");
    assert_eq!(first["product"]["currency_code"], "UAH");
    assert_eq!(first["product"]["has_offers"], true);
    assert_eq!(first["product"]["sku"], "TS-0001");
    assert_eq!(
        first["product"]["properties_agg"]["Розмір"],
        json!(["S", "M"])
    );
    assert_eq!(first["product"]["min_price"], json!(549));

    let (status, body) = get(&sim, "/offers?include=warehouse").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("`warehouse`"))
    );
}

#[tokio::test]
async fn offers_filter_and_sort() {
    let sim = start(KeyCrmConfig::with_catalog(230)).await;
    let (_, by_product) = get(&sim, "/offers?filter[product_id]=1,3").await;
    let product_ids: HashSet<i64> = by_product["data"]
        .as_array()
        .expect("array")
        .iter()
        .map(|o| o["product_id"].as_i64().expect("id"))
        .collect();
    assert_eq!(product_ids, HashSet::from([1, 3]));
    assert_eq!(by_product["total"], 3);

    let (_, by_sku) = get(&sim, "/offers?filter%5Bsku%5D=HD-0002-3,TS-0001-2,nope").await;
    let skus: Vec<&str> = by_sku["data"]
        .as_array()
        .expect("array")
        .iter()
        .map(|o| o["sku"].as_str().expect("sku"))
        .collect();
    assert_eq!(skus, vec!["TS-0001-2", "HD-0002-3"]);

    let (_, by_id) = get(&sim, "/offers?filter[id]=7,9").await;
    assert_eq!(by_id["total"], 2);
    assert_eq!(by_id["data"][1]["id"], 9);

    let (_, desc) = get(&sim, "/offers?sort=-id&limit=2").await;
    assert_eq!(desc["data"][0]["id"], 230);
    assert_eq!(desc["data"][1]["id"], 229);

    let (status, _) = get(&sim, "/offers?filter[name]=Чай").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = get(&sim, "/offers?sort=price").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn products_only_mode_has_no_offers() {
    let sim = start(KeyCrmConfig::with_products_only(40)).await;
    let (status, offers) = get(&sim, "/offers").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(offers["total"], 0);
    assert_eq!(offers["data"], json!([]));
    assert_eq!(offers["next_page_url"], Value::Null);

    let (_, first) = get(&sim, "/products?limit=25").await;
    assert_eq!(first["total"], 40);
    assert_eq!(first["data"].as_array().map(Vec::len), Some(25));
    let product = &first["data"][0];
    assert_eq!(product["has_offers"], false);
    assert_eq!(product["sku"], "TS-0001");
    assert_eq!(product["price"], json!(549));
    assert_eq!(product["min_price"], product["price"]);
    let (_, second) = get(&sim, "/products?limit=25&page=2").await;
    assert_eq!(second["data"].as_array().map(Vec::len), Some(15));
    assert_eq!(second["data"][0]["id"], 26);
    assert_eq!(second["next_page_url"], Value::Null);
}

#[tokio::test]
async fn products_with_variants_hide_their_own_price_and_sku() {
    let sim = start(KeyCrmConfig::with_catalog(230)).await;
    let (status, product) = get(&sim, "/products/1").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(product["name"], "Футболка бавовняна «Карпати»");
    assert_eq!(product["has_offers"], true);
    assert!(product.get("sku").is_none());
    assert!(product.get("price").is_none());
    let (_, single) = get(&sim, "/products/3").await;
    assert_eq!(single["has_offers"], false);
    assert_eq!(single["sku"], "CP-0003");

    let (status, missing) = get(&sim, "/products/99999").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(missing["message"].is_string());
    let (status, _) = get(&sim, "/products/abc").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn wrong_or_missing_key_is_401() {
    let sim = start(KeyCrmConfig::with_catalog(5)).await;
    let url = format!("{}/offers", sim.base_url());
    let missing = client().get(&url).send().await.expect("answer");
    assert_eq!(missing.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        missing.json::<Value>().await.expect("JSON"),
        json!({ "message": "Unauthenticated." })
    );
    let wrong = client()
        .get(&url)
        .bearer_auth("other-key")
        .send()
        .await
        .expect("answer");
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let basic = client()
        .get(&url)
        .header("authorization", format!("Basic {KEY}"))
        .send()
        .await
        .expect("answer");
    assert_eq!(basic.status(), StatusCode::UNAUTHORIZED);
    let (status, _) = get(&sim, "/offers").await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn creating_a_card_returns_201_with_the_pipeline_card_shape() {
    let config = KeyCrmConfig {
        first_card_id: 5001,
        ..KeyCrmConfig::with_catalog(30)
    };
    let sim = start(config).await;
    let (status, card) = post_card(&sim, &order()).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(card["id"], 5001);
    assert_eq!(card["title"], "Замовлення з Telegram №17");
    assert_eq!(card["source_id"], 1);
    assert_eq!(card["status_id"], 1);
    assert_eq!(
        card["manager_comment"],
        "Доставка Новою поштою, відділення 12"
    );
    assert_eq!(card["contact_id"], 1001);
    assert_eq!(card["is_finished"], false);
    let created_at = card["created_at"].as_str().expect("a timestamp");
    assert_eq!(created_at.len(), 19);
    assert!(created_at.chars().enumerate().all(|(i, c)| match i {
        4 | 7 => c == '-',
        10 => c == ' ',
        13 | 16 => c == ':',
        _ => c.is_ascii_digit(),
    }));

    let (status, second) =
        post_card(&sim, &json!({ "contact": { "phone": "+380501112233" } })).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(second["id"], 5002);
    assert_eq!(second["title"], "#5002");
    assert_eq!(second["source_id"], Value::Null);

    let stored = sim.cards();
    assert_eq!(stored.len(), 2);
    assert_eq!(stored[0]["id"], 5001);
    assert_eq!(stored[0]["contact"]["full_name"], "Олена Коваленко");
    assert_eq!(stored[0]["products"][1]["price"], json!(1299.5));
    assert_eq!(stored[0]["custom_fields"][0]["value"], "tg:123456");
    assert_eq!(stored[0]["pipeline_id"], 1);
    assert_eq!(stored[1]["title"], "#5002");
}

#[tokio::test]
async fn invalid_cards_are_422_and_not_created() {
    let sim = start(KeyCrmConfig::with_catalog(10)).await;
    let contact_required = json!({
        "message": "The contact field is required.",
        "errors": { "contact": ["The contact field is required."] }
    });
    let (status, body) = post_card(&sim, &json!({ "title": "без контакту" })).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body, contact_required);
    let (status, body) = post_card(
        &sim,
        &json!({ "contact": { "full_name": "", "client_id": null } }),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body, contact_required);

    let (status, body) = post_card(
        &sim,
        &json!({ "source_id": 99, "contact": { "full_name": "Олена" } }),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        body["errors"]["source_id"],
        json!(["The selected source id is invalid."])
    );

    let (status, body) = post_card(
        &sim,
        &json!({
            "contact": { "phone": "+380671234567" },
            "products": [{ "sku": "TS-0001-1", "price": "549 грн", "quantity": "два" }]
        }),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        body["errors"]["products.0.price"],
        json!(["The products.0.price field must be a number."])
    );
    assert_eq!(
        body["errors"]["products.0.quantity"],
        json!(["The products.0.quantity field must be a number."])
    );
    assert_eq!(
        body["message"],
        "The products.0.price field must be a number. (and 1 more error)"
    );

    // A JSON body sent without a JSON content type is not read at all, as in Laravel.
    let response = client()
        .post(format!("{}/pipelines/cards", sim.base_url()))
        .bearer_auth(KEY)
        .header("content-type", "text/plain")
        .body(order().to_string())
        .send()
        .await
        .expect("answer");
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);

    assert!(sim.cards().is_empty());
    let (status, _) = post_card(&sim, &order()).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(sim.cards().len(), 1);
}

#[tokio::test]
async fn a_card_can_be_read_back_with_its_status() {
    let sim = start(KeyCrmConfig::with_catalog(30)).await;
    let (_, created) = post_card(&sim, &order()).await;
    let id = created["id"].as_i64().expect("id");

    let (status, card) = get(&sim, &format!("/pipelines/cards/{id}?include=status")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(card["id"], id);
    assert_eq!(card["status_id"], 1);
    assert_eq!(card["status"]["id"], 1);
    assert_eq!(card["status"]["pipeline_id"], 1);
    assert_eq!(card["status"]["title"], "Новий");
    assert_eq!(card["status"]["alias"], "new");
    assert_eq!(card["status"]["is_final"], false);
    assert!(card["status"]["color"].is_string());
    assert!(card.get("contact").is_none());

    assert!(sim.set_card_status(id, 3));
    let (_, won) = get(&sim, &format!("/pipelines/cards/{id}?include=status")).await;
    assert_eq!(won["status"]["title"], "Успішно");
    assert_eq!(won["status"]["alias"], "won");
    assert_eq!(won["status"]["is_final"], true);
    assert_eq!(won["is_finished"], true);
    assert!(!sim.set_card_status(id, 999));
    assert!(!sim.set_card_status(999, 3));

    let (_, full) = get(
        &sim,
        &format!("/pipelines/cards/{id}?include=contact.client,products.offer,custom_fields"),
    )
    .await;
    assert_eq!(full["contact"]["full_name"], "Олена Коваленко");
    assert_eq!(full["contact"]["phone"], "+380671234567");
    assert_eq!(full["contact"]["id"], created["contact_id"]);
    assert_eq!(
        full["contact"]["client"]["id"],
        full["contact"]["client_id"]
    );
    assert_eq!(full["products"][0]["sku"], "TS-0001-2");
    assert_eq!(full["products"][0]["quantity"], 2);
    assert_eq!(full["products"][0]["offer"]["id"], 2);
    assert_eq!(full["products"][0]["product_id"], 2);
    assert_eq!(full["utm_source"], "telegram");
    assert_eq!(full["custom_fields"][0]["uuid"], "LD_1001");

    let (status, missing) = get(&sim, "/pipelines/cards/424242?include=status").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(missing["message"].is_string());
}

#[tokio::test]
async fn cards_list_paginates_and_filters() {
    let sim = start(KeyCrmConfig::with_catalog(10)).await;
    for n in 0..4 {
        let (status, _) = post_card(
            &sim,
            &json!({ "title": format!("card {n}"), "contact": { "full_name": "Тарас" } }),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED);
    }
    assert!(sim.set_card_status(2, 4));
    let (_, all) = get(&sim, "/pipelines/cards?limit=3&include=contact").await;
    assert_eq!(all["total"], 4);
    assert_eq!(all["data"].as_array().map(Vec::len), Some(3));
    assert_eq!(all["data"][0]["contact"]["full_name"], "Тарас");
    assert!(all["next_page_url"].is_string());
    let (_, lost) = get(&sim, "/pipelines/cards?filter[status_id]=4").await;
    assert_eq!(lost["total"], 1);
    assert_eq!(lost["data"][0]["title"], "card 1");
    let (_, other) = get(&sim, "/pipelines/cards?filter[pipeline_id]=2").await;
    assert_eq!(other["total"], 0);
    let (status, _) = get(&sim, "/pipelines/cards?filter[title]=card").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn pipelines_and_statuses_are_listed() {
    let sim = start(KeyCrmConfig::default()).await;
    let (_, pipelines) = get(&sim, "/pipelines").await;
    assert_eq!(pipelines["total"], 2);
    assert_eq!(pipelines["data"][0]["id"], 1);
    let (status, statuses) = get(&sim, "/pipelines/1/statuses").await;
    assert_eq!(status, StatusCode::OK);
    let titles: Vec<(&str, &str, bool)> = statuses["data"]
        .as_array()
        .expect("array")
        .iter()
        .map(|s| {
            (
                s["title"].as_str().expect("title"),
                s["alias"].as_str().expect("alias"),
                s["is_final"].as_bool().expect("bool"),
            )
        })
        .collect();
    assert_eq!(
        titles,
        vec![
            ("Новий", "new", false),
            ("В роботі", "in_progress", false),
            ("Успішно", "won", true),
            ("Відмова", "lost", true),
        ]
    );
    let (_, card) = post_card(
        &sim,
        &json!({ "pipeline_id": 2, "contact": { "email": "a@b.ua" } }),
    )
    .await;
    assert_eq!(card["status_id"], 5);
    let (_, second) = get(&sim, "/pipelines/2/statuses").await;
    assert_eq!(second["data"][0]["leads_count"], 1);
    let (status, _) = get(&sim, "/pipelines/9/statuses").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn unknown_routes_are_404_and_wrong_methods_405() {
    let sim = start(KeyCrmConfig::default()).await;
    let (status, body) = get(&sim, "/orders/1").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["message"], "The route v1/orders/1 could not be found.");
    let outside = client()
        .get(format!("http://{}/offers", sim.addr()))
        .send()
        .await
        .expect("answer");
    assert_eq!(outside.status(), StatusCode::NOT_FOUND);
    let wrong = client()
        .delete(format!("{}/offers", sim.base_url()))
        .bearer_auth(KEY)
        .send()
        .await
        .expect("answer");
    assert_eq!(wrong.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(
        wrong.headers().get("allow").and_then(|v| v.to_str().ok()),
        Some("GET, HEAD")
    );
    assert!(
        wrong.json::<Value>().await.expect("JSON")["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("The DELETE method is not supported"))
    );
}

#[tokio::test]
async fn server_error_faults_answer_500_json_and_502_html() {
    let sim = start(KeyCrmConfig::with_catalog(5)).await;
    sim.inject(Fault::ServerError(500), Some(1));
    let (status, body) = get(&sim, "/offers").await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(body, json!({ "message": "Server Error" }));

    sim.inject(Fault::ServerError(502), Some(1));
    let response = client()
        .get(format!("{}/offers", sim.base_url()))
        .bearer_auth(KEY)
        .send()
        .await
        .expect("answer");
    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
    assert_eq!(
        response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("text/html")
    );
    assert!(
        response
            .text()
            .await
            .expect("text")
            .contains("502 Bad Gateway")
    );

    let (status, _) = get(&sim, "/offers").await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn rate_limited_fault_sends_retry_after() {
    let sim = start(KeyCrmConfig::with_catalog(5)).await;
    sim.inject(
        Fault::RateLimited {
            retry_after_secs: 7,
        },
        Some(1),
    );
    let response = client()
        .get(format!("{}/offers", sim.base_url()))
        .bearer_auth(KEY)
        .send()
        .await
        .expect("answer");
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok()),
        Some("7")
    );
    assert_eq!(
        response.json::<Value>().await.expect("JSON"),
        json!({ "message": "Too Many Attempts." })
    );
}

#[tokio::test]
async fn slow_fault_delays_a_normal_answer() {
    let sim = start(KeyCrmConfig::with_catalog(5)).await;
    sim.inject(Fault::Slow(Duration::from_millis(400)), Some(1));
    let started = Instant::now();
    let (status, body) = get(&sim, "/offers").await;
    assert!(started.elapsed() >= Duration::from_millis(400));
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["total"], 5);

    // A client that gives up still leaves the card created once the delay is over.
    sim.inject(Fault::Slow(Duration::from_millis(1500)), Some(1));
    let impatient = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_millis(100))
        .build()
        .expect("client");
    let result = impatient
        .post(format!("{}/pipelines/cards", sim.base_url()))
        .bearer_auth(KEY)
        .json(&order())
        .send()
        .await;
    assert!(result.is_err_and(|e| e.is_timeout()));
    assert!(sim.cards().is_empty());
    let deadline = Instant::now() + Duration::from_secs(10);
    while sim.cards().is_empty() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(sim.cards().len(), 1);
}

#[tokio::test]
async fn malformed_json_fault_is_not_parseable() {
    let sim = start(KeyCrmConfig::with_catalog(5)).await;
    sim.inject(Fault::MalformedJson, Some(1));
    let response = client()
        .get(format!("{}/offers", sim.base_url()))
        .bearer_auth(KEY)
        .send()
        .await
        .expect("answer");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/json")
    );
    let text = response.text().await.expect("text");
    assert!(text.starts_with('{'));
    assert!(serde_json::from_str::<Value>(&text).is_err());
}

#[tokio::test]
async fn drop_connection_fault_gives_a_client_error_and_no_bytes() {
    let sim = start(KeyCrmConfig::with_catalog(5)).await;
    sim.inject(Fault::DropConnection, Some(2));
    let result = client()
        .get(format!("{}/offers", sim.base_url()))
        .bearer_auth(KEY)
        .send()
        .await;
    let error = result.expect_err("a dropped connection is an error");
    assert!(!error.is_timeout());

    let mut stream = TcpStream::connect(sim.addr()).await.expect("connect");
    stream
        .write_all(
            b"GET /v1/offers HTTP/1.1\r\nhost: sim\r\nauthorization: Bearer test-key\r\n\r\n",
        )
        .await
        .expect("write");
    let mut received = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut received))
        .await
        .expect("the server closes the socket instead of hanging");
    // A close may surface as a clean end or as a reset; either way nothing was sent.
    if let Ok(n) = read {
        assert_eq!(n, 0);
    }
    assert!(
        received.is_empty(),
        "got {:?}",
        String::from_utf8_lossy(&received)
    );
    assert_eq!(sim.requests().len(), 2);

    let (status, _) = get(&sim, "/offers").await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn apply_then_drop_creates_the_card_but_the_client_sees_an_error() {
    let sim = start(KeyCrmConfig::with_catalog(5)).await;
    sim.inject_for("/pipelines/cards", Fault::ApplyThenDrop, Some(1));
    let result = client()
        .post(format!("{}/pipelines/cards", sim.base_url()))
        .bearer_auth(KEY)
        .json(&order())
        .send()
        .await;
    assert!(result.is_err());
    let cards = sim.cards();
    assert_eq!(cards.len(), 1);
    assert_eq!(cards[0]["title"], "Замовлення з Telegram №17");
    let (status, second) = post_card(&sim, &order()).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(second["id"], 2);
}

#[tokio::test]
async fn huge_body_fault_sends_at_least_the_asked_size() {
    let sim = start(KeyCrmConfig::with_catalog(5)).await;
    sim.inject(Fault::HugeBody(3_000_000), Some(1));
    let response = client()
        .get(format!("{}/offers", sim.base_url()))
        .bearer_auth(KEY)
        .send()
        .await
        .expect("answer");
    assert_eq!(response.status(), StatusCode::OK);
    let bytes = response.bytes().await.expect("body");
    assert!(bytes.len() >= 3_000_000, "{} bytes", bytes.len());
    let value: Value = serde_json::from_slice(&bytes).expect("valid JSON");
    assert!(value["data"].as_array().is_some_and(|d| d.len() > 100));
}

#[tokio::test]
async fn inject_times_counts_and_none_lasts_until_cleared() {
    let sim = start(KeyCrmConfig::with_catalog(5)).await;
    sim.inject(Fault::ServerError(503), Some(2));
    let mut statuses = Vec::new();
    for _ in 0..3 {
        statuses.push(get(&sim, "/offers").await.0);
    }
    assert_eq!(
        statuses,
        vec![
            StatusCode::SERVICE_UNAVAILABLE,
            StatusCode::SERVICE_UNAVAILABLE,
            StatusCode::OK
        ]
    );

    sim.inject(Fault::ServerError(500), None);
    for _ in 0..4 {
        assert_eq!(
            get(&sim, "/offers").await.0,
            StatusCode::INTERNAL_SERVER_ERROR
        );
    }
    sim.clear_faults();
    assert_eq!(get(&sim, "/offers").await.0, StatusCode::OK);
}

#[tokio::test]
async fn inject_for_only_hits_matching_paths() {
    let sim = start(KeyCrmConfig::with_catalog(5)).await;
    sim.inject_for("/pipelines/cards", Fault::ServerError(500), None);
    assert_eq!(get(&sim, "/offers").await.0, StatusCode::OK);
    assert_eq!(get(&sim, "/pipelines").await.0, StatusCode::OK);
    let (status, _) = post_card(&sim, &order()).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        get(&sim, "/pipelines/cards/1").await.0,
        StatusCode::INTERNAL_SERVER_ERROR
    );
    assert!(sim.cards().is_empty());
    sim.clear_faults();
    assert_eq!(post_card(&sim, &order()).await.0, StatusCode::CREATED);
}

#[tokio::test]
async fn the_rate_limiter_refuses_requests_over_the_limit() {
    let config = KeyCrmConfig {
        rate_limit_per_minute: Some(3),
        ..KeyCrmConfig::with_catalog(5)
    };
    let sim = start(config).await;
    let url = format!("{}/offers", sim.base_url());
    let mut remaining = Vec::new();
    for _ in 0..3 {
        let response = client()
            .get(&url)
            .bearer_auth(KEY)
            .send()
            .await
            .expect("answer");
        assert_eq!(response.status(), StatusCode::OK);
        remaining.push(
            response
                .headers()
                .get("x-ratelimit-remaining")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
        );
    }
    assert_eq!(
        remaining,
        vec![
            Some("2".to_owned()),
            Some("1".to_owned()),
            Some("0".to_owned())
        ]
    );
    let refused = client()
        .get(&url)
        .bearer_auth(KEY)
        .send()
        .await
        .expect("answer");
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = refused
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("a numeric Retry-After");
    assert!((55..=60).contains(&retry_after), "{retry_after}");
    assert_eq!(
        refused.json::<Value>().await.expect("JSON"),
        json!({ "message": "Too Many Attempts." })
    );
    // Another key has its own budget.
    let other = client()
        .get(&url)
        .bearer_auth("other")
        .send()
        .await
        .expect("answer");
    assert_eq!(other.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn requests_are_recorded_in_order_including_faulted_ones() {
    let sim = start(KeyCrmConfig::with_catalog(5)).await;
    let (status, _) = get(
        &sim,
        "/offers?limit=2&filter[sku]=TS-0001-1,TS-0001-2&include=product",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    sim.inject(Fault::DropConnection, Some(1));
    let dropped = client()
        .get(format!("{}/products/1", sim.base_url()))
        .bearer_auth(KEY)
        .send()
        .await;
    assert!(dropped.is_err());
    let (status, _) = post_card(&sim, &order()).await;
    assert_eq!(status, StatusCode::CREATED);

    let requests = sim.requests();
    assert_eq!(requests.len(), 3);
    assert_eq!(requests[0].method, "GET");
    assert_eq!(requests[0].path, "/v1/offers");
    assert_eq!(
        requests[0].query_param("filter[sku]"),
        Some("TS-0001-1,TS-0001-2")
    );
    assert_eq!(requests[0].query_param("limit"), Some("2"));
    assert_eq!(requests[0].header("Authorization"), Some("Bearer test-key"));
    assert!(
        requests[0]
            .headers
            .iter()
            .all(|(k, _)| *k == k.to_lowercase())
    );
    assert_eq!(requests[1].path, "/v1/products/1");
    assert_eq!(requests[2].method, "POST");
    assert_eq!(requests[2].path, "/v1/pipelines/cards");
    assert_eq!(requests[2].json(), Some(order()));
    assert_eq!(requests[2].header("content-type"), Some("application/json"));

    sim.clear_requests();
    assert!(sim.requests().is_empty());
    get(&sim, "/pipelines").await;
    assert_eq!(sim.requests().len(), 1);
}

#[tokio::test]
async fn shutdown_stops_the_server() {
    let sim = start(KeyCrmConfig::default()).await;
    let addr = sim.addr();
    assert_eq!(get(&sim, "/pipelines").await.0, StatusCode::OK);
    sim.shutdown().await;
    assert!(TcpStream::connect(addr).await.is_err());

    let dropped = start(KeyCrmConfig::default()).await;
    let addr = dropped.addr();
    drop(dropped);
    let mut refused = false;
    for _ in 0..50 {
        if TcpStream::connect(addr).await.is_err() {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(refused, "dropping the sim must close its listener");
}

#[tokio::test]
async fn base_url_points_at_the_bound_port() {
    let sim = start(KeyCrmConfig::default()).await;
    assert!(sim.addr().ip().is_loopback());
    assert_ne!(sim.addr().port(), 0);
    assert_eq!(
        sim.base_url(),
        format!("http://127.0.0.1:{}/v1", sim.addr().port())
    );
}
