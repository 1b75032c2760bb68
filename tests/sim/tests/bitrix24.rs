//! The simulated Bitrix24 REST API over real loopback HTTP.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};
use switchboard_sim::bitrix24::Bitrix24RateLimit;
use switchboard_sim::{Bitrix24Config, Bitrix24Sim, Fault};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("the HTTP client builds")
}

async fn start(config: Bitrix24Config) -> Bitrix24Sim {
    Bitrix24Sim::start(config)
        .await
        .expect("the sim binds a loopback port")
}

async fn read(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    let body = response.json().await.expect("the body is JSON");
    (status, body)
}

/// POSTs `params` as JSON to `method` through the webhook.
async fn call(sim: &Bitrix24Sim, method: &str, params: &Value) -> (StatusCode, Value) {
    let response = client()
        .post(format!("{}{method}.json", sim.webhook_url()))
        .json(params)
        .send()
        .await
        .expect("the request gets an answer");
    read(response).await
}

/// GETs `method` with a raw query string through the webhook.
async fn call_get(sim: &Bitrix24Sim, method: &str, query: &str) -> (StatusCode, Value) {
    let response = client()
        .get(format!("{}{method}?{query}", sim.webhook_url()))
        .send()
        .await
        .expect("the request gets an answer");
    read(response).await
}

fn telegram_lead() -> Value {
    json!({
        "fields": {
            "TITLE": "Замовлення з Telegram №17",
            "NAME": "Олена",
            "LAST_NAME": "Коваленко",
            "PHONE": [{ "VALUE": "+380671234567", "VALUE_TYPE": "MOBILE" }],
            "IM": [{ "VALUE": "123456789", "VALUE_TYPE": "TELEGRAM" }],
            "COMMENTS": "Футболка «Карпати» × 2. [order:tg-17-5a1f]",
            "SOURCE_ID": "STORE",
            "ORIGINATOR_ID": "switchboard",
            "ORIGIN_ID": "tg-17-5a1f",
            "OPPORTUNITY": 1098,
            "CURRENCY_ID": "UAH"
        }
    })
}

async fn add_lead(sim: &Bitrix24Sim) -> i64 {
    let (status, body) = call(sim, "crm.lead.add", &telegram_lead()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["result"].as_i64().expect("the new id is an integer")
}

#[tokio::test]
async fn wrong_user_or_code_is_401_invalid_credentials() {
    let sim = start(Bitrix24Config::with_catalog(3)).await;
    for path in [
        "/rest/2/sim0webhook0code/crm.product.list.json",
        "/rest/1/wrong/crm.product.list",
        "/rest/x/sim0webhook0code/crm.product.list",
    ] {
        let (status, body) = read(
            client()
                .get(format!("{}{path}", sim.base_url()))
                .send()
                .await
                .expect("answer"),
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}");
        assert_eq!(
            body,
            json!({ "error": "INVALID_CREDENTIALS", "error_description": "Invalid request credentials" })
        );
    }
    let (status, body) = call_get(&sim, "crm.product.list", "").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body["result"].is_array());
    // Without `.json` and with it, GET and POST all work.
    let response = client()
        .post(format!("{}crm.product.list", sim.webhook_url()))
        .send()
        .await
        .expect("answer");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/json; charset=utf-8")
    );
    let response = client()
        .get(format!("{}/not-rest", sim.base_url()))
        .send()
        .await
        .expect("answer");
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let (status, body) = call(&sim, "crm.deal.teleport", &json!({})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"], "ERROR_METHOD_NOT_FOUND");
}

#[tokio::test]
async fn products_page_by_50_with_next_and_total() {
    let sim = start(Bitrix24Config::with_catalog(120)).await;
    let mut start = Some(0_i64);
    let mut sizes = Vec::new();
    let mut ids = Vec::new();
    while let Some(offset) = start {
        let (status, body) = call(&sim, "crm.product.list", &json!({ "start": offset })).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["total"], 120);
        assert!(body["time"]["start"].is_f64());
        assert!(
            body["time"]["date_start"]
                .as_str()
                .is_some_and(|d| d.ends_with("+00:00"))
        );
        let result = body["result"].as_array().expect("result");
        sizes.push(result.len());
        ids.extend(
            result
                .iter()
                .filter_map(|p| p["ID"].as_str().and_then(|id| id.parse::<i64>().ok())),
        );
        start = body.get("next").and_then(Value::as_i64);
        assert!(sizes.len() <= 3, "pagination must end");
    }
    assert_eq!(sizes, [50, 50, 20]);
    assert_eq!(ids, (1..=120).collect::<Vec<i64>>());
    let (_, beyond) = call(&sim, "crm.product.list", &json!({ "start": 200 })).await;
    assert_eq!(beyond["result"], json!([]));
    assert!(beyond.get("next").is_none());

    let exactly = start_with(50).await;
    let (_, body) = call(&exactly, "crm.product.list", &json!({})).await;
    assert_eq!(body["result"].as_array().map(Vec::len), Some(50));
    assert!(body.get("next").is_none(), "no next when nothing follows");
}

async fn start_with(products: usize) -> Bitrix24Sim {
    start(Bitrix24Config::with_catalog(products)).await
}

#[tokio::test]
async fn products_have_the_crm_product_fields_and_can_be_filtered() {
    let sim = start_with(30).await;
    let (_, body) = call_get(&sim, "crm.product.get", "id=1").await;
    let product = &body["result"];
    assert_eq!(product["ID"], "1");
    assert_eq!(product["NAME"], "Футболка бавовняна «Карпати»");
    assert_eq!(product["PRICE"], "549.00");
    assert_eq!(product["CURRENCY_ID"], "UAH");
    assert_eq!(product["XML_ID"], "TS-0001");
    assert!(
        product["DESCRIPTION"]
            .as_str()
            .is_some_and(|d| !d.is_empty())
    );
    let (status, body) = call_get(&sim, "crm.product.get", "id=999").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        json!({ "error": "", "error_description": "Not found" })
    );

    let (_, body) = call_get(
        &sim,
        "crm.product.list",
        "filter[XML_ID]=TS-0001&select[]=ID&select[]=NAME&select[]=PRICE",
    )
    .await;
    assert_eq!(
        body["result"],
        json!([{ "ID": "1", "NAME": "Футболка бавовняна «Карпати»", "PRICE": "549.00" }])
    );
    assert_eq!(body["total"], 1);
    let (_, body) = call(
        &sim,
        "crm.product.list",
        &json!({ "filter": { ">ID": 25 }, "order": { "ID": "DESC" } }),
    )
    .await;
    let ids: Vec<&str> = body["result"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["ID"].as_str())
        .collect();
    assert_eq!(ids, ["30", "29", "28", "27", "26"]);
    let (_, body) = call(
        &sim,
        "crm.product.list",
        &json!({ "filter": { "%NAME": "карпати" } }),
    )
    .await;
    assert!(body["total"].as_u64().is_some_and(|n| n >= 1));
}

#[tokio::test]
async fn a_lead_is_added_with_json_and_read_back() {
    let sim = start(Bitrix24Config::default()).await;
    let id = add_lead(&sim).await;
    assert_eq!(id, 1);
    let (status, body) = call(&sim, "crm.lead.get", &json!({ "id": id })).await;
    assert_eq!(status, StatusCode::OK);
    let lead = &body["result"];
    assert_eq!(lead["ID"], "1");
    assert_eq!(lead["TITLE"], "Замовлення з Telegram №17");
    assert_eq!(lead["STATUS_ID"], "NEW");
    assert_eq!(lead["STATUS_SEMANTIC_ID"], "P");
    assert_eq!(lead["SOURCE_ID"], "STORE");
    assert_eq!(lead["OPPORTUNITY"], "1098.00");
    assert_eq!(lead["CURRENCY_ID"], "UAH");
    assert_eq!(lead["ORIGIN_ID"], "tg-17-5a1f");
    assert_eq!(lead["HAS_PHONE"], "Y");
    assert_eq!(lead["PHONE"][0]["VALUE"], "+380671234567");
    assert_eq!(lead["PHONE"][0]["VALUE_TYPE"], "MOBILE");
    assert_eq!(lead["PHONE"][0]["TYPE_ID"], "PHONE");
    assert_eq!(lead["IM"][0]["VALUE_TYPE"], "TELEGRAM");
    assert_eq!(sim.leads(), vec![lead.clone()]);

    let (status, body) = call_get(&sim, "crm.lead.get", "id=77").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        json!({ "error": "", "error_description": "Not found" })
    );
    let (status, body) = call_get(&sim, "crm.lead.get", "id=abc").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error_description"], "ID is not defined or invalid.");
}

#[tokio::test]
async fn a_lead_is_added_with_a_nested_form_body() {
    let sim = start(Bitrix24Config {
        first_lead_id: 501,
        ..Bitrix24Config::default()
    })
    .await;
    let response = client()
        .post(format!("{}crm.lead.add", sim.webhook_url()))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(
            "fields%5BTITLE%5D=%D0%9B%D1%96%D0%B4+%D0%B7+Telegram&fields%5BPHONE%5D%5B0%5D%5BVALUE%5D=%2B380501112233\
             &fields%5BPHONE%5D%5B0%5D%5BVALUE_TYPE%5D=WORK&fields%5BOPPORTUNITY%5D=12.5&fields%5BUF_CRM_ORDER%5D=tg-9",
        )
        .send()
        .await
        .expect("answer");
    let (status, body) = read(response).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["result"], 501);
    let lead = &sim.leads()[0];
    assert_eq!(lead["TITLE"], "Лід з Telegram");
    assert_eq!(lead["PHONE"][0]["VALUE"], "+380501112233");
    assert_eq!(lead["OPPORTUNITY"], "12.50");
    assert_eq!(lead["UF_CRM_ORDER"], "tg-9");
    // The same call as a GET query string.
    let (status, body) = call_get(
        &sim,
        "crm.lead.add",
        "fields[TITLE]=GET%20lead&fields[IM][0][VALUE]=tg&fields[IM][0][VALUE_TYPE]=TELEGRAM",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["result"], 502);
    assert_eq!(sim.leads()[1]["IM"][0]["VALUE_TYPE"], "TELEGRAM");
}

#[tokio::test]
async fn invalid_leads_are_400_and_not_created() {
    let sim = start(Bitrix24Config::default()).await;
    let (status, body) = call(&sim, "crm.lead.add", &json!({ "TITLE": "no fields" })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "");
    assert_eq!(
        body["error_description"],
        "Parameter 'fields' must be array."
    );
    for (fields, needle) in [
        (json!({ "STATUS_ID": "WON" }), "STATUS_ID"),
        (json!({ "SOURCE_ID": "TELEGRAM" }), "SOURCE_ID"),
        (json!({ "OPPORTUNITY": "багато" }), "OPPORTUNITY"),
        (json!({ "PHONE": [{ "VALUE": "" }] }), "PHONE"),
        (
            json!({ "IM": [{ "VALUE": "x", "VALUE_TYPE": "PIGEON" }] }),
            "VALUE_TYPE",
        ),
    ] {
        let (status, body) = call(&sim, "crm.lead.add", &json!({ "fields": fields })).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{fields}");
        assert!(
            body["error_description"]
                .as_str()
                .is_some_and(|d| d.contains(needle)),
            "{body}"
        );
    }
    assert!(sim.leads().is_empty());
}

#[tokio::test]
async fn leads_can_be_looked_up_by_filter_for_idempotency() {
    let sim = start(Bitrix24Config::default()).await;
    let id = add_lead(&sim).await;
    call(
        &sim,
        "crm.lead.add",
        &json!({ "fields": { "TITLE": "Інший", "ORIGIN_ID": "tg-18" } }),
    )
    .await;
    let ids = |body: &Value| -> Vec<String> {
        body["result"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|l| l["ID"].as_str().map(str::to_owned))
            .collect()
    };
    let (_, body) = call(
        &sim,
        "crm.lead.list",
        &json!({ "filter": { "ORIGIN_ID": "tg-17-5a1f" }, "select": ["ID", "STATUS_ID"] }),
    )
    .await;
    assert_eq!(
        body["result"],
        json!([{ "ID": id.to_string(), "STATUS_ID": "NEW" }])
    );
    assert_eq!(body["total"], 1);
    let (_, body) = call_get(
        &sim,
        "crm.lead.list",
        "filter[%25COMMENTS]=%5Border:tg-17-5a1f%5D",
    )
    .await;
    assert_eq!(ids(&body), [id.to_string()]);
    let (_, body) = call(
        &sim,
        "crm.lead.list",
        &json!({ "filter": { "ORIGIN_ID": "tg-99" } }),
    )
    .await;
    assert_eq!(body["result"], json!([]));
    assert_eq!(body["total"], 0);
    let (_, body) = call(
        &sim,
        "crm.lead.list",
        &json!({ "filter": { "PHONE": "+380671234567" } }),
    )
    .await;
    assert_eq!(ids(&body), [id.to_string()]);
    // `*` leaves out multiple fields; naming them brings them.
    let (_, body) = call(&sim, "crm.lead.list", &json!({ "select": ["*"] })).await;
    assert!(body["result"][0].get("PHONE").is_none());
    assert_eq!(body["result"][0]["TITLE"], "Замовлення з Telegram №17");
    let (_, body) = call(
        &sim,
        "crm.lead.list",
        &json!({ "select": ["ID", "PHONE"], "order": { "ID": "DESC" } }),
    )
    .await;
    assert_eq!(body["result"][1]["PHONE"][0]["VALUE"], "+380671234567");
    assert_eq!(ids(&body), ["2", "1"]);
}

#[tokio::test]
async fn lead_statuses_are_listed_and_changes_show_in_the_api_and_the_event() {
    let sim = start(Bitrix24Config::default()).await;
    let (_, body) = call(
        &sim,
        "crm.status.list",
        &json!({ "filter": { "ENTITY_ID": "STATUS" } }),
    )
    .await;
    let statuses: Vec<&str> = body["result"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["STATUS_ID"].as_str())
        .collect();
    assert_eq!(
        statuses,
        ["NEW", "IN_PROCESS", "PROCESSED", "JUNK", "CONVERTED"]
    );
    assert_eq!(body["result"][4]["EXTRA"]["SEMANTICS"], "success");
    assert_eq!(body["result"][3]["EXTRA"]["SEMANTICS"], "failure");
    let (_, sources) = call_get(&sim, "crm.status.list", "filter[ENTITY_ID]=SOURCE").await;
    assert!(
        sources["result"]
            .as_array()
            .is_some_and(|s| s.iter().any(|s| s["STATUS_ID"] == "STORE"))
    );

    let id = add_lead(&sim).await;
    assert!(sim.set_lead_status(id, "CONVERTED"));
    assert!(!sim.set_lead_status(id, "WON"));
    assert!(!sim.set_lead_status(99, "JUNK"));
    let (_, body) = call(&sim, "crm.lead.get", &json!({ "id": id })).await;
    assert_eq!(body["result"]["STATUS_ID"], "CONVERTED");
    assert_eq!(body["result"]["STATUS_SEMANTIC_ID"], "S");

    let event = sim.lead_update_event(id);
    let pairs: Vec<(String, String)> = reqwest::Url::parse(&format!("http://x/?{event}"))
        .expect("a valid query")
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let get = |key: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(get("event"), Some("ONCRMLEADUPDATE"));
    assert_eq!(get("data[FIELDS][ID]"), Some("1"));
    assert_eq!(get("event_handler_id"), Some("17"));
    assert_eq!(get("auth[domain]"), Some("switchboard-test.bitrix24.ua"));
    assert_eq!(
        get("auth[application_token]"),
        Some("51856fefc120afa4b628cc82d3935cce")
    );
    assert_eq!(
        get("auth[client_endpoint]"),
        Some("https://switchboard-test.bitrix24.ua/rest/")
    );
    assert!(
        get("ts")
            .and_then(|ts| ts.parse::<i64>().ok())
            .is_some_and(|ts| ts > 1_700_000_000)
    );
    assert!(event.contains("data%5BFIELDS%5D%5BID%5D=1"));
}

#[tokio::test]
async fn the_leaky_bucket_answers_503_query_limit_exceeded() {
    let limit = Bitrix24RateLimit {
        burst: 3,
        per_second: 2,
    };
    let sim = start(Bitrix24Config {
        rate_limit: Some(limit),
        ..Bitrix24Config::default()
    })
    .await;
    let started = Instant::now();
    for _ in 0..3 {
        assert_eq!(
            call(&sim, "crm.status.list", &json!({})).await.0,
            StatusCode::OK
        );
    }
    let (status, body) = call(&sim, "crm.status.list", &json!({})).await;
    assert!(
        started.elapsed() < Duration::from_millis(400),
        "the burst must arrive quickly"
    );
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        body,
        json!({ "error": "QUERY_LIMIT_EXCEEDED", "error_description": "Too many requests" })
    );
    // Two per second drain: after 600 ms there is room for one more.
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(
        call(&sim, "crm.status.list", &json!({})).await.0,
        StatusCode::OK
    );
    assert_eq!(
        Bitrix24RateLimit::STANDARD,
        Bitrix24RateLimit {
            burst: 50,
            per_second: 2
        }
    );

    let unlimited = start(Bitrix24Config::default()).await;
    for _ in 0..20 {
        assert_eq!(
            call(&unlimited, "crm.status.list", &json!({})).await.0,
            StatusCode::OK
        );
    }
}

#[tokio::test]
async fn faults_look_like_bitrix24() {
    let sim = start_with(5).await;
    sim.inject(Fault::ServerError(500), Some(1));
    assert_eq!(
        call(&sim, "crm.product.list", &json!({})).await,
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            json!({ "error": "INTERNAL_SERVER_ERROR", "error_description": "Internal server error" })
        )
    );
    sim.inject(Fault::ServerError(504), Some(1));
    let response = client()
        .get(format!("{}crm.product.list", sim.webhook_url()))
        .send()
        .await
        .expect("answer");
    assert_eq!(response.status(), StatusCode::GATEWAY_TIMEOUT);
    assert!(
        response
            .text()
            .await
            .expect("text")
            .contains("<center>nginx</center>")
    );

    sim.inject(
        Fault::RateLimited {
            retry_after_secs: 2,
        },
        Some(1),
    );
    let response = client()
        .get(format!("{}crm.product.list", sim.webhook_url()))
        .send()
        .await
        .expect("answer");
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok()),
        Some("2")
    );
    assert_eq!(read(response).await.1["error"], "QUERY_LIMIT_EXCEEDED");

    sim.inject(Fault::MalformedJson, Some(1));
    let text = client()
        .get(format!("{}crm.product.list", sim.webhook_url()))
        .send()
        .await
        .expect("answer")
        .text()
        .await
        .expect("text");
    assert!(text.starts_with("{\"result\""));
    assert!(serde_json::from_str::<Value>(&text).is_err());

    sim.inject(Fault::HugeBody(1_500_000), Some(1));
    let bytes = client()
        .get(format!("{}crm.product.list", sim.webhook_url()))
        .send()
        .await
        .expect("answer")
        .bytes()
        .await
        .expect("body");
    assert!(bytes.len() >= 1_500_000);
    let value: Value = serde_json::from_slice(&bytes).expect("valid JSON");
    assert!(value["result"].as_array().is_some_and(|r| r.len() > 100));

    sim.inject(Fault::Slow(Duration::from_millis(300)), Some(1));
    let started = Instant::now();
    assert_eq!(
        call(&sim, "crm.product.list", &json!({})).await.0,
        StatusCode::OK
    );
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(
        call(&sim, "crm.product.list", &json!({})).await.0,
        StatusCode::OK
    );
}

#[tokio::test]
async fn inject_for_matches_method_names_and_drop_faults_close_the_socket() {
    let sim = start_with(5).await;
    sim.inject_for("crm.lead.", Fault::ServerError(503), None);
    assert_eq!(
        call(&sim, "crm.product.list", &json!({})).await.0,
        StatusCode::OK
    );
    let (status, body) = call(&sim, "crm.lead.list", &json!({})).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["error"], "OVERLOAD_LIMIT");
    sim.clear_faults();

    sim.inject_for("crm.lead.add", Fault::ApplyThenDrop, Some(1));
    let result = client()
        .post(format!("{}crm.lead.add.json", sim.webhook_url()))
        .json(&telegram_lead())
        .send()
        .await;
    assert!(result.is_err());
    assert_eq!(sim.leads().len(), 1);
    let (_, found) = call(
        &sim,
        "crm.lead.list",
        &json!({ "filter": { "ORIGIN_ID": "tg-17-5a1f" } }),
    )
    .await;
    assert_eq!(found["total"], 1);

    sim.inject(Fault::DropConnection, Some(1));
    let mut stream = TcpStream::connect(sim.addr()).await.expect("connect");
    stream
        .write_all(b"GET /rest/1/sim0webhook0code/crm.product.list HTTP/1.1\r\nhost: sim\r\n\r\n")
        .await
        .expect("write");
    let mut received = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut received))
        .await
        .expect("the server closes the socket instead of hanging");
    if let Ok(n) = read {
        assert_eq!(n, 0);
    }
    assert!(received.is_empty());

    let requests = sim.requests();
    assert_eq!(requests.len(), 5);
    assert_eq!(
        requests[2].path,
        "/rest/1/sim0webhook0code/crm.lead.add.json"
    );
    assert_eq!(requests[2].json(), Some(telegram_lead()));
    assert_eq!(requests[4].method, "GET");
    sim.clear_requests();
    assert!(sim.requests().is_empty());

    let addr = sim.addr();
    assert_eq!(
        sim.webhook_url(),
        format!("http://127.0.0.1:{}/rest/1/sim0webhook0code/", addr.port())
    );
    sim.shutdown().await;
    assert!(TcpStream::connect(addr).await.is_err());
}
