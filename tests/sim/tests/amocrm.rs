//! The simulated amoCRM API v4 over real loopback HTTP.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};
use switchboard_sim::amocrm::{
    AmoStatusChange, FIRST_STATUS_ID, LOST_STATUS_ID, MAIN_PIPELINE_ID, PRODUCTS_CATALOG_ID,
    WHOLESALE_PIPELINE_ID, WON_STATUS_ID,
};
use switchboard_sim::{AmoCrmConfig, AmoCrmSim, Fault};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const TOKEN: &str = "amo-test-token";

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("the HTTP client builds")
}

async fn start(config: AmoCrmConfig) -> AmoCrmSim {
    AmoCrmSim::start(config)
        .await
        .expect("the sim binds a loopback port")
}

/// An answer: status, content type and body (`Null` when empty).
async fn read(response: reqwest::Response) -> (StatusCode, String, Value) {
    let status = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let bytes = response.bytes().await.expect("a body");
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).expect("the body is JSON")
    };
    (status, content_type, body)
}

/// GET a path under `/api/v4` (may carry a query) with the right token.
async fn get(sim: &AmoCrmSim, path: &str) -> (StatusCode, String, Value) {
    let response = client()
        .get(format!("{}/api/v4{path}", sim.base_url()))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("the request gets an answer");
    read(response).await
}

async fn post(sim: &AmoCrmSim, path: &str, body: &Value) -> (StatusCode, String, Value) {
    let response = client()
        .post(format!("{}/api/v4{path}", sim.base_url()))
        .bearer_auth(TOKEN)
        .json(body)
        .send()
        .await
        .expect("the request gets an answer");
    read(response).await
}

fn order_lead() -> Value {
    json!([{
        "name": "Замовлення з Telegram №17",
        "price": 1098,
        "custom_fields_values": [
            { "field_code": "ORDER_KEY", "values": [{ "value": "tg-17-5a1f" }] }
        ],
        "_embedded": {
            "contacts": [{
                "first_name": "Олена",
                "last_name": "Коваленко",
                "custom_fields_values": [
                    { "field_code": "PHONE", "values": [{ "value": "+380671234567", "enum_code": "MOB" }] }
                ]
            }],
            "tags": [{ "name": "telegram" }]
        }
    }])
}

async fn create_lead(sim: &AmoCrmSim) -> i64 {
    let (status, _, body) = post(sim, "/leads/complex", &order_lead()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body[0]["id"].as_i64().expect("a lead id")
}

#[tokio::test]
async fn wrong_or_missing_token_is_401_problem_json() {
    let sim = start(AmoCrmConfig::with_catalog(3)).await;
    let url = format!("{}/api/v4/catalogs", sim.base_url());
    for request in [
        client().get(&url),
        client().get(&url).bearer_auth("wrong"),
        client().get(&url).header("authorization", TOKEN),
    ] {
        let (status, content_type, body) = read(request.send().await.expect("answer")).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(content_type, "application/problem+json");
        assert_eq!(body["title"], "Unauthorized");
        assert_eq!(body["type"], "https://httpstatus.es/401");
        assert_eq!(body["status"], 401);
        assert!(body["detail"].is_string());
    }
    let (status, content_type, _) = get(&sim, "/catalogs").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(content_type, "application/hal+json");
}

#[tokio::test]
async fn catalogs_list_one_products_list() {
    let sim = start(AmoCrmConfig::with_catalog(3)).await;
    let (_, _, body) = get(&sim, "/catalogs").await;
    let catalogs = body["_embedded"]["catalogs"].as_array().expect("catalogs");
    let products: Vec<&Value> = catalogs
        .iter()
        .filter(|c| c["type"] == "products")
        .collect();
    assert_eq!(products.len(), 1);
    assert_eq!(products[0]["id"], PRODUCTS_CATALOG_ID);
    assert!(catalogs.iter().any(|c| c["type"] == "regular"));
    let regular = catalogs
        .iter()
        .find(|c| c["type"] == "regular")
        .expect("regular");
    let (status, content_type, body) =
        get(&sim, &format!("/catalogs/{}/elements", regular["id"])).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(content_type, "");
    assert_eq!(body, Value::Null);
    let (status, _, _) = get(&sim, "/catalogs/999/elements").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn elements_carry_price_sku_and_description_fields() {
    let sim = start(AmoCrmConfig::with_catalog(3)).await;
    let (_, _, body) = get(&sim, &format!("/catalogs/{PRODUCTS_CATALOG_ID}/elements")).await;
    let element = &body["_embedded"]["elements"][0];
    assert_eq!(element["id"], 1);
    assert_eq!(element["name"], "Футболка бавовняна «Карпати»");
    assert_eq!(element["catalog_id"], PRODUCTS_CATALOG_ID);
    let field = |code: &str| {
        element["custom_fields_values"]
            .as_array()
            .and_then(|fields| fields.iter().find(|f| f["field_code"] == code))
            .map(|f| f["values"][0]["value"].clone())
    };
    assert_eq!(field("PRICE"), Some(json!(549)));
    assert_eq!(field("SKU"), Some(json!("TS-0001")));
    assert!(field("DESCRIPTION").is_some_and(|d| d.as_str().is_some_and(|d| !d.is_empty())));
}

#[tokio::test]
async fn elements_paginate_with_next_on_every_page_and_204_after_the_last() {
    let sim = start(AmoCrmConfig::with_catalog(120)).await;
    let mut url = Some(format!(
        "{}/api/v4/catalogs/{PRODUCTS_CATALOG_ID}/elements?limit=50",
        sim.base_url()
    ));
    let mut sizes = Vec::new();
    let mut ids = Vec::new();
    while let Some(next) = url.take() {
        let response = client()
            .get(&next)
            .bearer_auth(TOKEN)
            .send()
            .await
            .expect("answer");
        let (status, _, body) = read(response).await;
        if status == StatusCode::NO_CONTENT {
            break;
        }
        assert_eq!(status, StatusCode::OK);
        let elements = body["_embedded"]["elements"].as_array().expect("elements");
        sizes.push(elements.len());
        ids.extend(elements.iter().filter_map(|e| e["id"].as_i64()));
        assert_eq!(body["_page"], sizes.len());
        assert!(
            body["_links"]["self"]["href"]
                .as_str()
                .is_some_and(|h| h.contains(&format!("page={}", sizes.len())))
        );
        // The last page (20 items) still links a next page.
        url = body["_links"]["next"]["href"].as_str().map(str::to_owned);
        assert!(url.as_deref().is_some_and(|u| u.contains("limit=50")));
        assert!(sizes.len() <= 4, "pagination must end");
    }
    assert_eq!(sizes, [50, 50, 20]);
    assert_eq!(ids, (1..=120).collect::<Vec<i64>>());
}

#[tokio::test]
async fn limit_defaults_to_50_and_is_capped_at_250() {
    let sim = start(AmoCrmConfig::with_catalog(300)).await;
    let count = |body: &Value| body["_embedded"]["elements"].as_array().map(Vec::len);
    let path = format!("/catalogs/{PRODUCTS_CATALOG_ID}/elements");
    assert_eq!(count(&get(&sim, &path).await.2), Some(50));
    assert_eq!(
        count(&get(&sim, &format!("{path}?limit=500")).await.2),
        Some(250)
    );
    assert_eq!(
        count(&get(&sim, &format!("{path}?limit=0")).await.2),
        Some(50)
    );
    let (status, _, body) = get(&sim, &format!("{path}?limit=250&page=2")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(count(&body), Some(50));
    assert_eq!(
        get(&sim, &format!("{path}?limit=250&page=3")).await.0,
        StatusCode::NO_CONTENT
    );
}

#[tokio::test]
async fn elements_can_be_searched_and_filtered_by_id() {
    let sim = start(AmoCrmConfig::with_catalog(30)).await;
    let path = format!("/catalogs/{PRODUCTS_CATALOG_ID}/elements");
    let (_, _, body) = get(&sim, &format!("{path}?query=ts-0001")).await;
    let names: Vec<&str> = body["_embedded"]["elements"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["name"].as_str())
        .collect();
    assert_eq!(names, ["Футболка бавовняна «Карпати»"]);
    let (_, _, body) = get(&sim, &format!("{path}?filter[id][]=2&filter[id][]=5")).await;
    let ids: Vec<i64> = body["_embedded"]["elements"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["id"].as_i64())
        .collect();
    assert_eq!(ids, [2, 5]);
    assert_eq!(
        get(&sim, &format!("{path}?query=немає-такого")).await.0,
        StatusCode::NO_CONTENT
    );
}

#[tokio::test]
async fn complex_leads_answer_the_documented_shape_and_are_stored() {
    let sim = start(AmoCrmConfig::default()).await;
    let (status, content_type, body) = post(&sim, "/leads/complex", &order_lead()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(content_type, "application/hal+json");
    assert_eq!(
        body,
        json!([{ "id": 20_000_001, "contact_id": 30_000_001, "company_id": null, "request_id": ["0"], "merged": false }])
    );

    let leads = sim.leads();
    assert_eq!(leads.len(), 1);
    let lead = &leads[0];
    assert_eq!(lead["name"], "Замовлення з Telegram №17");
    assert_eq!(lead["price"], 1098);
    assert_eq!(lead["status_id"], FIRST_STATUS_ID);
    assert_eq!(lead["pipeline_id"], MAIN_PIPELINE_ID);
    assert_eq!(lead["custom_fields_values"][0]["field_code"], "ORDER_KEY");
    assert_eq!(
        lead["custom_fields_values"][0]["values"][0]["value"],
        "tg-17-5a1f"
    );
    assert_eq!(lead["_embedded"]["tags"][0]["name"], "telegram");
    assert_eq!(lead["_embedded"]["contacts"][0]["id"], 30_000_001);

    let contacts = sim.contacts();
    assert_eq!(contacts[0]["name"], "Олена Коваленко");
    assert_eq!(contacts[0]["first_name"], "Олена");
    let phone = &contacts[0]["custom_fields_values"][0];
    assert_eq!(phone["field_code"], "PHONE");
    assert_eq!(phone["values"][0]["value"], "+380671234567");
    assert_eq!(phone["values"][0]["enum_code"], "MOB");

    // Several leads, own request ids, a lead without a contact.
    let (status, _, body) = post(
        &sim,
        "/leads/complex",
        &json!([
            { "name": "Перший", "request_id": "a" },
            { "price": 10, "status_id": WON_STATUS_ID, "pipeline_id": WHOLESALE_PIPELINE_ID }
        ]),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body[0]["request_id"], json!(["a"]));
    assert_eq!(body[0]["contact_id"], Value::Null);
    assert_eq!(body[1]["request_id"], json!(["1"]));
    let unnamed = &sim.leads()[2];
    assert_eq!(unnamed["name"], "Сделка #20000003");
    assert_eq!(unnamed["pipeline_id"], WHOLESALE_PIPELINE_ID);
    assert_eq!(unnamed["status_id"], WON_STATUS_ID);
}

#[tokio::test]
async fn invalid_leads_are_400_validation_errors_and_nothing_is_created() {
    let sim = start(AmoCrmConfig::default()).await;
    let (status, content_type, body) = post(
        &sim,
        "/leads/complex",
        &json!([
            { "name": "Добрий" },
            {
                "request_id": "bad",
                "price": 12.5,
                "custom_fields_values": [{ "field_id": 123, "values": [{ "value": "x" }] }],
                "_embedded": { "contacts": [{ "custom_fields_values": [{ "field_code": "PHONE", "values": [{ "value": "+380", "enum_code": "PAGER" }] }] }] }
            }
        ]),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(content_type, "application/problem+json");
    assert_eq!(body["title"], "Bad Request");
    assert_eq!(body["type"], "https://httpstatus.es/400");
    assert_eq!(body["status"], 400);
    assert_eq!(body["detail"], "Request validation failed");
    let rejected = body["validation-errors"]
        .as_array()
        .expect("validation-errors");
    assert_eq!(rejected.len(), 1);
    assert_eq!(rejected[0]["request_id"], "bad");
    let paths: Vec<&str> = rejected[0]["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["path"].as_str())
        .collect();
    assert_eq!(
        paths,
        [
            "price",
            "custom_fields_values.0.field_id",
            "_embedded.contacts.0.custom_fields_values.0.values.0.enum_code"
        ]
    );
    assert_eq!(rejected[0]["errors"][1]["code"], "NotSupportedChoice");
    assert_eq!(
        rejected[0]["errors"][1]["detail"],
        "The value you selected is not a valid choice."
    );
    assert!(sim.leads().is_empty());
    assert!(sim.contacts().is_empty());

    let (status, _, body) = post(&sim, "/leads/complex", &json!({ "name": "not an array" })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["status"], 400);
    let (status, _, body) = post(&sim, "/leads/complex", &json!([])).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["validation-errors"][0]["errors"][0]["code"], "Count");
    let many: Vec<Value> = (0..51)
        .map(|i| json!({ "name": format!("#{i}") }))
        .collect();
    let (status, _, _) = post(&sim, "/leads/complex", &Value::Array(many)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let two_contacts = json!([{ "_embedded": { "contacts": [{ "name": "a" }, { "name": "b" }] } }]);
    let (status, _, body) = post(&sim, "/leads/complex", &two_contacts).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["validation-errors"][0]["errors"][0]["path"],
        "_embedded.contacts"
    );
    let response = client()
        .post(format!("{}/api/v4/leads/complex", sim.base_url()))
        .bearer_auth(TOKEN)
        .body("[{")
        .send()
        .await
        .expect("answer");
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(sim.leads().is_empty());
}

#[tokio::test]
async fn a_lead_reads_back_and_a_missing_one_is_204() {
    let sim = start(AmoCrmConfig::default()).await;
    let id = create_lead(&sim).await;
    let (status, _, lead) = get(&sim, &format!("/leads/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(lead["id"], id);
    assert_eq!(lead["status_id"], FIRST_STATUS_ID);
    assert_eq!(lead["pipeline_id"], MAIN_PIPELINE_ID);
    assert_eq!(lead["account_id"], 31_000_001);
    assert_eq!(lead["closed_at"], Value::Null);
    assert!(lead["_embedded"].get("contacts").is_none());
    assert!(
        lead["_links"]["self"]["href"]
            .as_str()
            .is_some_and(|h| h.ends_with(&format!("/api/v4/leads/{id}")))
    );
    let (_, _, with) = get(&sim, &format!("/leads/{id}?with=contacts")).await;
    assert_eq!(with["_embedded"]["contacts"][0]["is_main"], true);

    let (status, content_type, body) = get(&sim, "/leads/999").await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(content_type, "");
    assert_eq!(body, Value::Null);
}

#[tokio::test]
async fn leads_are_found_by_query_over_name_and_custom_fields() {
    let sim = start(AmoCrmConfig::default()).await;
    let id = create_lead(&sim).await;
    post(
        &sim,
        "/leads/complex",
        &json!([{ "name": "Інше замовлення", "price": 77 }]),
    )
    .await;
    let ids = |body: &Value| -> Vec<i64> {
        body["_embedded"]["leads"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|l| l["id"].as_i64())
            .collect()
    };
    let (status, _, body) = get(&sim, "/leads?query=tg-17-5a1f").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ids(&body), [id]);
    assert_eq!(
        ids(&get(&sim, "/leads?query=telegram%20%E2%84%9617").await.2),
        [id]
    );
    assert_eq!(
        ids(&get(
            &sim,
            "/leads?query=%D0%97%D0%90%D0%9C%D0%9E%D0%92%D0%9B%D0%95%D0%9D%D0%9D%D0%AF"
        )
        .await
        .2)
        .len(),
        2
    );
    assert_eq!(ids(&get(&sim, "/leads?query=77").await.2), [id + 1]);
    assert_eq!(
        ids(&get(&sim, &format!("/leads?filter[id]={id}")).await.2),
        [id]
    );
    let (_, _, all) = get(&sim, "/leads?limit=1&with=contacts").await;
    assert_eq!(ids(&all), [id]);
    assert!(all["_links"]["next"]["href"].is_string());
    assert_eq!(
        all["_embedded"]["leads"][0]["_embedded"]["contacts"][0]["id"],
        30_000_001
    );
    // Notes are not fields: their text is not searched.
    post(
        &sim,
        &format!("/leads/{id}/notes"),
        &json!([{ "note_type": "common", "params": { "text": "маркер-у-нотатці" } }]),
    )
    .await;
    let (status, _, body) = get(&sim, "/leads?query=маркер-у-нотатці").await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(body, Value::Null);
}

#[tokio::test]
async fn notes_are_added_listed_and_validated() {
    let sim = start(AmoCrmConfig::default()).await;
    let id = create_lead(&sim).await;
    let (status, _, body) = post(
        &sim,
        &format!("/leads/{id}/notes"),
        &json!([
            { "note_type": "common", "params": { "text": "Доставка: Нова пошта, відділення 12" } },
            { "note_type": "common", "params": { "text": "Оплата при отриманні" }, "request_id": "pay" }
        ]),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let notes = body["_embedded"]["notes"].as_array().expect("notes");
    assert_eq!(notes.len(), 2);
    assert_eq!(notes[0]["entity_id"], id);
    assert_eq!(notes[0]["request_id"], "0");
    assert_eq!(notes[1]["request_id"], "pay");
    assert_eq!(notes[0]["id"], 40_000_001);

    let stored = sim.notes();
    assert_eq!(stored.len(), 2);
    assert_eq!(stored[0]["note_type"], "common");
    assert_eq!(
        stored[0]["params"]["text"],
        "Доставка: Нова пошта, відділення 12"
    );
    let (_, _, listed) = get(&sim, &format!("/leads/{id}/notes")).await;
    assert_eq!(
        listed["_embedded"]["notes"].as_array().map(Vec::len),
        Some(2)
    );

    let (status, _, body) = post(
        &sim,
        "/leads/notes",
        &json!([{ "entity_id": id, "note_type": "common", "params": { "text": "ще" } }]),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let (status, _, body) = post(
        &sim,
        &format!("/leads/{id}/notes"),
        &json!([{ "note_type": "call_in", "params": {} }]),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let paths: Vec<&str> = body["validation-errors"][0]["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["path"].as_str())
        .collect();
    assert_eq!(paths, ["note_type", "params.text"]);
    let (status, _, body) = post(
        &sim,
        "/leads/999/notes",
        &json!([{ "note_type": "common", "params": { "text": "x" } }]),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["validation-errors"][0]["errors"][0]["code"],
        "NotFound"
    );
    assert_eq!(sim.notes().len(), 3);
    assert_eq!(
        get(&sim, "/leads/999/notes").await.0,
        StatusCode::NO_CONTENT
    );
}

#[tokio::test]
async fn pipelines_list_statuses_with_won_and_lost() {
    let sim = start(AmoCrmConfig::default()).await;
    let (status, _, body) = get(&sim, "/leads/pipelines").await;
    assert_eq!(status, StatusCode::OK);
    let pipelines = body["_embedded"]["pipelines"]
        .as_array()
        .expect("pipelines");
    assert_eq!(pipelines.len(), 2);
    assert_eq!(pipelines[0]["id"], MAIN_PIPELINE_ID);
    assert_eq!(pipelines[0]["is_main"], true);
    for pipeline in pipelines {
        let statuses = pipeline["_embedded"]["statuses"]
            .as_array()
            .expect("statuses");
        let name = |id: i64| {
            statuses
                .iter()
                .find(|s| s["id"] == id)
                .map(|s| s["name"].clone())
        };
        assert_eq!(name(WON_STATUS_ID), Some(json!("Успешно реализовано")));
        assert_eq!(
            name(LOST_STATUS_ID),
            Some(json!("Закрыто и не реализовано"))
        );
        assert!(statuses.iter().all(|s| s["pipeline_id"] == pipeline["id"]));
    }
    let (_, _, one) = get(&sim, &format!("/leads/pipelines/{MAIN_PIPELINE_ID}")).await;
    assert_eq!(one["name"], "Воронка");
    assert!(
        one["_embedded"]["statuses"]
            .as_array()
            .is_some_and(|s| s.iter().any(|s| s["id"] == FIRST_STATUS_ID))
    );
    let (_, _, statuses) = get(
        &sim,
        &format!("/leads/pipelines/{WHOLESALE_PIPELINE_ID}/statuses"),
    )
    .await;
    assert_eq!(
        statuses["_embedded"]["statuses"][0]["pipeline_id"],
        WHOLESALE_PIPELINE_ID
    );
    assert_eq!(
        get(&sim, "/leads/pipelines/1").await.0,
        StatusCode::NO_CONTENT
    );
    let (_, _, fields) = get(&sim, "/leads/custom_fields").await;
    assert!(
        fields["_embedded"]["custom_fields"]
            .as_array()
            .is_some_and(|f| f.iter().any(|f| f["code"] == "ORDER_KEY"))
    );
}

#[tokio::test]
async fn status_changes_show_in_the_api_and_in_the_webhook_body() {
    let sim = start(AmoCrmConfig::default()).await;
    let id = create_lead(&sim).await;
    let change = sim
        .set_lead_status(id, WON_STATUS_ID)
        .expect("the lead exists");
    assert_eq!(
        change,
        AmoStatusChange {
            lead_id: id,
            status_id: WON_STATUS_ID,
            pipeline_id: MAIN_PIPELINE_ID,
            old_status_id: FIRST_STATUS_ID,
            old_pipeline_id: MAIN_PIPELINE_ID,
        }
    );
    let (_, _, lead) = get(&sim, &format!("/leads/{id}")).await;
    assert_eq!(lead["status_id"], WON_STATUS_ID);
    assert!(lead["closed_at"].is_i64());

    let moved = sim
        .set_lead_status(id, 77_000_022)
        .expect("a status of the other pipeline");
    assert_eq!(moved.pipeline_id, WHOLESALE_PIPELINE_ID);
    assert_eq!(moved.old_status_id, WON_STATUS_ID);
    assert_eq!(
        get(&sim, &format!("/leads/{id}")).await.2["closed_at"],
        Value::Null
    );
    assert!(sim.set_lead_status(id, 1).is_none());
    assert!(sim.set_lead_status(1, WON_STATUS_ID).is_none());

    let body = sim.status_webhook_body(&[change]);
    let pairs: Vec<(String, String)> = url_pairs(&body);
    let expected: Vec<(String, String)> = [
        ("leads[status][0][id]", id.to_string()),
        ("leads[status][0][status_id]", "142".to_owned()),
        (
            "leads[status][0][pipeline_id]",
            MAIN_PIPELINE_ID.to_string(),
        ),
        (
            "leads[status][0][old_status_id]",
            FIRST_STATUS_ID.to_string(),
        ),
        (
            "leads[status][0][old_pipeline_id]",
            MAIN_PIPELINE_ID.to_string(),
        ),
        ("account[id]", "31000001".to_owned()),
        ("account[subdomain]", "switchboard-test".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    assert_eq!(pairs, expected);
    assert!(body.starts_with("leads%5Bstatus%5D%5B0%5D%5Bid%5D="));
    assert_eq!(change.webhook_body(31_000_001, "switchboard-test"), body);
    let two = url_pairs(&sim.status_webhook_body(&[change, moved]));
    assert!(two.contains(&(
        "leads[status][1][status_id]".to_owned(),
        "77000022".to_owned()
    )));
}

/// Decodes a form body with reqwest's own URL parser, independent of the sim's.
fn url_pairs(body: &str) -> Vec<(String, String)> {
    reqwest::Url::parse(&format!("http://x/?{body}"))
        .expect("a valid query")
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

#[tokio::test]
async fn the_rate_limit_refuses_the_eighth_request_in_a_second() {
    let sim = start(AmoCrmConfig::default().with_real_rate_limit()).await;
    let started = Instant::now();
    let mut statuses = Vec::new();
    for _ in 0..8 {
        statuses.push(get(&sim, "/leads/pipelines").await.0);
    }
    // Loopback requests take milliseconds; the window is a whole second.
    assert!(started.elapsed() < Duration::from_millis(900));
    assert_eq!(statuses[..7], [StatusCode::OK; 7]);
    let (status, content_type, body) = get(&sim, "/leads/pipelines").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(statuses[7], StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(content_type, "application/problem+json");
    assert_eq!(body["status"], 429);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(get(&sim, "/leads/pipelines").await.0, StatusCode::OK);

    let unlimited = start(AmoCrmConfig::default()).await;
    for _ in 0..20 {
        assert_eq!(get(&unlimited, "/leads/pipelines").await.0, StatusCode::OK);
    }
}

#[tokio::test]
async fn server_error_and_rate_limited_faults_look_like_amocrm() {
    let sim = start(AmoCrmConfig::with_catalog(5)).await;
    sim.inject(Fault::ServerError(500), Some(1));
    let (status, content_type, body) = get(&sim, "/catalogs").await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(content_type, "application/problem+json");
    assert_eq!(body["status"], 500);

    sim.inject(Fault::ServerError(502), Some(1));
    let response = client()
        .get(format!("{}/api/v4/catalogs", sim.base_url()))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("answer");
    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
    assert!(
        response
            .text()
            .await
            .expect("text")
            .contains("502 Bad Gateway")
    );

    sim.inject(
        Fault::RateLimited {
            retry_after_secs: 3,
        },
        Some(1),
    );
    let response = client()
        .get(format!("{}/api/v4/catalogs", sim.base_url()))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("answer");
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok()),
        Some("3")
    );
    assert_eq!(get(&sim, "/catalogs").await.0, StatusCode::OK);
}

#[tokio::test]
async fn slow_malformed_and_huge_faults() {
    let sim = start(AmoCrmConfig::with_catalog(5)).await;
    sim.inject(Fault::Slow(Duration::from_millis(300)), Some(1));
    let started = Instant::now();
    assert_eq!(get(&sim, "/catalogs").await.0, StatusCode::OK);
    assert!(started.elapsed() >= Duration::from_millis(300));

    // A client that gives up still leaves the lead created once the delay is over.
    sim.inject_for(
        "/leads/complex",
        Fault::Slow(Duration::from_millis(800)),
        Some(1),
    );
    let impatient = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_millis(100))
        .build()
        .expect("client");
    let result = impatient
        .post(format!("{}/api/v4/leads/complex", sim.base_url()))
        .bearer_auth(TOKEN)
        .json(&order_lead())
        .send()
        .await;
    assert!(result.is_err_and(|e| e.is_timeout()));
    let deadline = Instant::now() + Duration::from_secs(10);
    while sim.leads().is_empty() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(sim.leads().len(), 1);

    sim.inject(Fault::MalformedJson, Some(1));
    let response = client()
        .get(format!(
            "{}/api/v4/catalogs/{PRODUCTS_CATALOG_ID}/elements",
            sim.base_url()
        ))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("answer");
    assert_eq!(response.status(), StatusCode::OK);
    let text = response.text().await.expect("text");
    assert!(text.starts_with('{'));
    assert!(serde_json::from_str::<Value>(&text).is_err());

    sim.inject(Fault::HugeBody(2_000_000), Some(1));
    let response = client()
        .get(format!(
            "{}/api/v4/catalogs/{PRODUCTS_CATALOG_ID}/elements",
            sim.base_url()
        ))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("answer");
    let bytes = response.bytes().await.expect("body");
    assert!(bytes.len() >= 2_000_000);
    let value: Value = serde_json::from_slice(&bytes).expect("valid JSON");
    assert!(
        value["_embedded"]["elements"]
            .as_array()
            .is_some_and(|e| e.len() > 100)
    );
}

#[tokio::test]
async fn drop_faults_close_the_socket_and_apply_then_drop_still_creates() {
    let sim = start(AmoCrmConfig::default()).await;
    sim.inject(Fault::DropConnection, Some(1));
    let mut stream = TcpStream::connect(sim.addr()).await.expect("connect");
    stream
        .write_all(
            format!(
                "GET /api/v4/leads HTTP/1.1\r\nhost: sim\r\nauthorization: Bearer {TOKEN}\r\n\r\n"
            )
            .as_bytes(),
        )
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

    sim.inject_for("/leads/complex", Fault::ApplyThenDrop, Some(1));
    let result = client()
        .post(format!("{}/api/v4/leads/complex", sim.base_url()))
        .bearer_auth(TOKEN)
        .json(&order_lead())
        .send()
        .await;
    assert!(result.is_err());
    assert_eq!(sim.leads().len(), 1);
    // The retry a plugin would make finds the first lead by its order key.
    let (_, _, found) = get(&sim, "/leads?query=tg-17-5a1f").await;
    assert_eq!(
        found["_embedded"]["leads"].as_array().map(Vec::len),
        Some(1)
    );
}

#[tokio::test]
async fn inject_for_matches_api_paths_and_counts_down() {
    let sim = start(AmoCrmConfig::with_catalog(3)).await;
    sim.inject_for("/api/v4/leads/complex", Fault::ServerError(503), Some(2));
    assert_eq!(get(&sim, "/catalogs").await.0, StatusCode::OK);
    assert_eq!(
        post(&sim, "/leads/complex", &order_lead()).await.0,
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(
        post(&sim, "/leads/complex", &order_lead()).await.0,
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(
        post(&sim, "/leads/complex", &order_lead()).await.0,
        StatusCode::OK
    );
    sim.inject_for("/leads", Fault::ServerError(500), None);
    assert_eq!(
        get(&sim, "/leads/pipelines").await.0,
        StatusCode::INTERNAL_SERVER_ERROR
    );
    assert_eq!(get(&sim, "/catalogs").await.0, StatusCode::OK);
    sim.clear_faults();
    assert_eq!(get(&sim, "/leads/pipelines").await.0, StatusCode::OK);
}

#[tokio::test]
async fn requests_are_recorded_and_unknown_routes_are_404() {
    let sim = start(AmoCrmConfig::default()).await;
    create_lead(&sim).await;
    assert_eq!(get(&sim, "/contacts").await.0, StatusCode::NOT_FOUND);
    let response = client()
        .delete(format!("{}/api/v4/leads/complex", sim.base_url()))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("answer");
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    let requests = sim.requests();
    assert_eq!(requests.len(), 3);
    assert_eq!(requests[0].method, "POST");
    assert_eq!(requests[0].path, "/api/v4/leads/complex");
    assert_eq!(requests[0].json(), Some(order_lead()));
    assert_eq!(
        requests[0].header("authorization"),
        Some("Bearer amo-test-token")
    );
    sim.clear_requests();
    assert!(sim.requests().is_empty());

    let addr = sim.addr();
    assert_eq!(sim.base_url(), format!("http://127.0.0.1:{}", addr.port()));
    sim.shutdown().await;
    assert!(TcpStream::connect(addr).await.is_err());
}
