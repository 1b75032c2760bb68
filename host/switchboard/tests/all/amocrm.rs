//! The real `amocrm.wasm` against the simulated amoCRM (Kommo) API v4.

use std::collections::HashSet;
use std::time::Duration;

use serde_json::json;
use switchboard::config::PluginSettings;
use switchboard_crm::{Contact, CrmError, Lead, LeadKind, LineItem, Money, Operations};
use switchboard_plugin_runtime::CallError;
use switchboard_sim::amocrm::{
    FIRST_STATUS_ID, LOST_STATUS_ID, PRODUCTS_CATALOG_ID, WHOLESALE_PIPELINE_ID, WON_STATUS_ID,
};
use switchboard_sim::{AmoCrmConfig, AmoCrmSim, Fault};

use crate::support::{dist, load, runtime};

async fn sim(config: AmoCrmConfig) -> AmoCrmSim {
    AmoCrmSim::start(config)
        .await
        .unwrap_or_else(|e| panic!("starting the amoCRM simulator: {e}"))
}

/// Plugin settings pointing at a simulator, without a `catalog_id` (so the
/// plugin looks the products list up).
fn settings(sim: &AmoCrmSim) -> PluginSettings {
    let mut s = PluginSettings::new("amocrm", dist("amocrm.wasm"));
    s.allowed_hosts = Some(vec![sim.addr().to_string()]);
    s.allow_http_loopback = true;
    s.timeout = Duration::from_secs(5);
    s.config.insert("base_url".into(), sim.base_url());
    s.config.insert("token".into(), "amo-test-token".into());
    s
}

fn with_catalog_id(mut s: PluginSettings) -> PluginSettings {
    s.config
        .insert("catalog_id".into(), PRODUCTS_CATALOG_ID.to_string());
    s
}

fn crm_error(result: Result<impl std::fmt::Debug, CallError>) -> CrmError {
    match result {
        Err(CallError::Crm { error, .. }) => error,
        other => panic!("expected a CRM error, got {other:?}"),
    }
}

fn uah(minor_units: i64) -> Money {
    Money {
        minor_units,
        scale: 2,
        currency: "UAH".into(),
    }
}

fn order(key: &str) -> Lead {
    Lead {
        idempotency_key: key.into(),
        kind: LeadKind::Order(vec![
            LineItem {
                product_id: "1".into(),
                name: "Футболка (M, чорний)".into(),
                sku: Some("TS-1".into()),
                quantity: 2,
                unit_price: uah(129_950),
                image_url: Some("https://img.example/1.jpg".into()),
            },
            LineItem {
                product_id: "2".into(),
                name: "Чашка".into(),
                sku: None,
                quantity: 1,
                unit_price: uah(25_000),
                image_url: None,
            },
        ]),
        contact: Contact {
            full_name: "Олена Петренко".into(),
            phone: Some("+380501234567".into()),
            email: Some("olena@example.com".into()),
            telegram_user_id: Some(4242),
            telegram_username: Some("olena_p".into()),
        },
        title: "Замовлення з Telegram".into(),
        comment: Some("Нова пошта, відділення 5".into()),
        source: "telegram".into(),
    }
}

const ORDER_NOTE: &str = "Нова пошта, відділення 5\nOrder:\n\
    - Футболка (M, чорний), SKU TS-1: 2 × 1299.50 UAH = 2599.00 UAH\n\
    - Чашка: 1 × 250.00 UAH = 250.00 UAH\n\
    Total: 2849.00 UAH\nTelegram: @olena_p (id 4242)\nSource: telegram\nSwitchboard key: ";

/// `METHOD /path?query` of every request after `/api/v4`, for asserting sequences.
fn calls(sim: &AmoCrmSim) -> Vec<String> {
    sim.requests()
        .iter()
        .map(|r| {
            let path = r.path.strip_prefix("/api/v4").unwrap_or(&r.path);
            let query: Vec<String> = r.query.iter().map(|(k, v)| format!("{k}={v}")).collect();
            if query.is_empty() {
                format!("{} {path}", r.method)
            } else {
                format!("{} {path}?{}", r.method, query.join("&"))
            }
        })
        .collect()
}

#[tokio::test]
async fn it_says_what_it_implements() {
    let sim = sim(AmoCrmConfig::default()).await;
    let rt = runtime();
    let plugin = load(&rt, &settings(&sim)).await;
    let info = plugin.call_info().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(info.id, "amocrm");
    assert_eq!(
        info.operations,
        Operations::GET_PRODUCT
            | Operations::LEAD_STATUS
            | Operations::HANDLE_WEBHOOK
            | Operations::IDEMPOTENT_CREATE
    );
    assert!(sim.requests().is_empty(), "info() makes no request");
}

#[tokio::test]
async fn it_reads_every_page_of_a_230_product_catalog() {
    let sim = sim(AmoCrmConfig::with_catalog(230)).await;
    let expected = AmoCrmConfig::with_catalog(230).products;
    let rt = runtime();
    let plugin = load(&rt, &settings(&sim)).await;

    let items = plugin
        .list_all_products(50, 100)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(items.len(), 230);
    let ids: HashSet<&str> = items.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(ids.len(), 230, "ids are unique");
    for product in &expected {
        let item = items
            .iter()
            .find(|p| p.id == product.id.to_string())
            .unwrap_or_else(|| panic!("product {} missing", product.id));
        assert_eq!(item.name, product.name);
        assert_eq!(
            item.price,
            uah(product.price_kopecks),
            "product {}",
            product.id
        );
        assert_eq!(item.sku.as_deref(), Some(product.sku.as_str()));
        assert_eq!(
            item.description.as_deref(),
            Some(product.description.as_str())
        );
        assert_eq!(item.stock, None);
    }

    for r in sim.requests() {
        assert_eq!(r.method, "GET");
        assert_eq!(r.header("authorization"), Some("Bearer amo-test-token"));
    }
    // The products list is looked up once; the last page is short, so no
    // request for the (204) page after it.
    let mut want = vec!["GET /catalogs?limit=250".to_string()];
    want.extend((1..=5).map(|p| format!("GET /catalogs/5001/elements?page={p}&limit=50")));
    assert_eq!(calls(&sim), want);
}

#[tokio::test]
async fn a_full_last_page_ends_on_the_204_after_it() {
    let sim = sim(AmoCrmConfig::with_catalog(100)).await;
    let rt = runtime();
    let plugin = load(&rt, &with_catalog_id(settings(&sim))).await;
    let items = plugin
        .list_all_products(50, 100)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(items.len(), 100);
    // Page 2 is full and links `next`; page 3 is amoCRM's empty 204.
    assert_eq!(
        calls(&sim),
        (1..=3)
            .map(|p| format!("GET /catalogs/5001/elements?page={p}&limit=50"))
            .collect::<Vec<_>>()
    );

    // The host's largest page is amoCRM's largest page.
    sim.clear_requests();
    let page = plugin
        .list_products(None, 250)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(page.items.len(), 100);
    assert_eq!(page.next_cursor, None);
    assert_eq!(page.total, None);
}

#[tokio::test]
async fn it_gets_one_product_and_reports_missing_ones() {
    let sim = sim(AmoCrmConfig::with_catalog(20)).await;
    let product = AmoCrmConfig::with_catalog(20).products[3].clone();
    let rt = runtime();
    let plugin = load(&rt, &with_catalog_id(settings(&sim))).await;
    let found = plugin
        .get_product(&product.id.to_string())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(found.name, product.name);
    assert_eq!(found.sku.as_deref(), Some(product.sku.as_str()));
    assert_eq!(found.price, uah(product.price_kopecks));
    assert_eq!(
        calls(&sim),
        [format!(
            "GET /catalogs/5001/elements?filter[id]={}",
            product.id
        )]
    );
    assert!(matches!(
        crm_error(plugin.get_product("999999").await),
        CrmError::NotFound(_)
    ));
    assert!(matches!(
        crm_error(plugin.get_product("not-a-number").await),
        CrmError::NotFound(_)
    ));
}

#[tokio::test]
async fn it_creates_a_lead_with_its_contact_and_the_order_as_a_note() {
    let sim = sim(AmoCrmConfig::default()).await;
    let rt = runtime();
    let plugin = load(&rt, &settings(&sim)).await;

    let created = plugin
        .create_lead(&order("order-42"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(created.id, "20000001");
    assert_eq!(
        created.url,
        Some(format!("{}/leads/detail/20000001", sim.base_url()))
    );

    let requests = sim.requests();
    assert_eq!(
        calls(&sim),
        // A first attempt does not look its key up (`call.attempt` is 1).
        ["POST /leads/complex", "POST /leads/20000001/notes",]
    );
    assert_eq!(requests[0].header("content-type"), Some("application/json"));
    assert_eq!(
        requests[0].json(),
        Some(json!([{
            "name": "Замовлення з Telegram [order-42]",
            "price": 2849,
            "_embedded": {
                "contacts": [{
                    "name": "Олена Петренко",
                    "custom_fields_values": [
                        {"field_code": "PHONE", "values": [{"value": "+380501234567", "enum_code": "MOB"}]},
                        {"field_code": "EMAIL", "values": [{"value": "olena@example.com", "enum_code": "WORK"}]}
                    ]
                }],
                "tags": [{"name": "telegram"}]
            }
        }]))
    );
    let note_text = format!("{ORDER_NOTE}order-42");
    assert_eq!(
        requests[1].json(),
        Some(json!([{"note_type": "common", "params": {"text": note_text}}]))
    );

    // What amoCRM stored.
    let leads = sim.leads();
    assert_eq!(leads.len(), 1);
    assert_eq!(leads[0]["price"], 2849);
    assert_eq!(leads[0]["status_id"], FIRST_STATUS_ID);
    assert_eq!(leads[0]["_embedded"]["tags"][0]["name"], "telegram");
    let contacts = sim.contacts();
    assert_eq!(contacts.len(), 1);
    assert_eq!(contacts[0]["name"], "Олена Петренко");
    assert_eq!(
        contacts[0]["custom_fields_values"][0]["values"][0]["enum_code"],
        "MOB"
    );
    let notes = sim.notes();
    assert_eq!(notes.len(), 1);
    assert_eq!(notes[0]["entity_id"], 20_000_001);
    assert_eq!(notes[0]["params"]["text"], note_text.as_str());
}

#[tokio::test]
async fn a_key_field_and_a_placement_are_used_when_configured() {
    let sim = sim(AmoCrmConfig::default()).await;
    let rt = runtime();
    let mut s = settings(&sim);
    s.config.insert("key_field_code".into(), "ORDER_KEY".into());
    s.config
        .insert("pipeline_id".into(), WHOLESALE_PIPELINE_ID.to_string());
    s.config.insert("status_id".into(), "77000022".into());
    let plugin = load(&rt, &s).await;

    let mut question = order("q-7");
    question.kind = LeadKind::Question;
    question.contact.phone = None;
    question.contact.email = None;
    let created = plugin
        .create_lead(&question)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let complex = sim
        .requests()
        .into_iter()
        .find(|r| r.path == "/api/v4/leads/complex")
        .and_then(|r| r.json())
        .unwrap_or_else(|| panic!("no complex request"));
    assert_eq!(
        complex,
        json!([{
            "name": "Замовлення з Telegram",
            "pipeline_id": WHOLESALE_PIPELINE_ID,
            "status_id": 77_000_022,
            "custom_fields_values": [{"field_code": "ORDER_KEY", "values": [{"value": "q-7"}]}],
            "_embedded": {"contacts": [{"name": "Олена Петренко"}], "tags": [{"name": "telegram"}]}
        }])
    );
    let lead = &sim.leads()[0];
    assert_eq!(lead["pipeline_id"], WHOLESALE_PIPELINE_ID);
    assert!(
        sim.notes()[0]["params"]["text"]
            .as_str()
            .is_some_and(|t| t.contains("Type: question"))
    );

    // The key in the field is found again by a retry; a key it merely
    // starts with is not.
    let again = plugin
        .create_lead_attempt(&question, 2, 0)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(again.id, created.id);
    let mut other = question.clone();
    other.idempotency_key = "q-".into();
    let second = plugin
        .create_lead(&other)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_ne!(second.id, created.id);
    assert_eq!(sim.leads().len(), 2);
}

#[tokio::test]
async fn a_retry_after_a_lost_answer_returns_the_same_lead() {
    let sim = sim(AmoCrmConfig::default()).await;
    let rt = runtime();
    let plugin = load(&rt, &settings(&sim)).await;

    // amoCRM creates the lead, then the connection drops before the answer.
    sim.inject_for("/leads/complex", Fault::ApplyThenDrop, Some(1));
    let e = crm_error(plugin.create_lead(&order("tg-retry-1")).await);
    assert!(matches!(e, CrmError::Unavailable(_)), "{e:?}");
    assert_eq!(sim.leads().len(), 1, "amoCRM applied the first attempt");
    assert!(sim.notes().is_empty(), "the note never got written");

    sim.clear_requests();
    let retried = plugin
        .create_lead_attempt(&order("tg-retry-1"), 2, 0)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(retried.id, "20000001");
    assert_eq!(sim.leads().len(), 1, "exactly one lead");
    // The retry found the lead and finished the job the first attempt began.
    assert_eq!(
        calls(&sim),
        [
            "GET /leads?query=tg-retry-1&limit=50",
            "GET /leads/20000001/notes?limit=250",
            "POST /leads/20000001/notes",
        ]
    );
    assert_eq!(sim.notes().len(), 1);

    // A third attempt finds lead and note and writes nothing.
    sim.clear_requests();
    let third = plugin
        .create_lead_attempt(&order("tg-retry-1"), 3, 0)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(third.id, "20000001");
    assert!(sim.requests().iter().all(|r| r.method == "GET"));
    assert_eq!((sim.leads().len(), sim.notes().len()), (1, 1));
}

#[tokio::test]
async fn a_failed_note_does_not_fail_the_created_lead() {
    let sim = sim(AmoCrmConfig::default()).await;
    let rt = runtime();
    let plugin = load(&rt, &settings(&sim)).await;
    sim.inject_for("/leads/20000001/notes", Fault::ServerError(500), Some(1));
    let created = plugin
        .create_lead(&order("note-fails"))
        .await
        .unwrap_or_else(|e| panic!("the lead exists, so create must succeed: {e}"));
    assert_eq!(created.id, "20000001");
    assert_eq!((sim.leads().len(), sim.notes().len()), (1, 0));
}

#[tokio::test]
async fn it_reports_lead_statuses_and_final_states() {
    let sim = sim(AmoCrmConfig::default()).await;
    let rt = runtime();
    let plugin = load(&rt, &settings(&sim)).await;
    let created = plugin
        .create_lead(&order("status-1"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let lead_id: i64 = created.id.parse().unwrap_or_else(|e| panic!("{e}"));

    sim.clear_requests();
    let status = plugin
        .lead_status(&created.id)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        (status.id.as_str(), status.name.as_str(), status.is_final),
        ("77000011", "Нове замовлення", false)
    );
    assert_eq!(
        calls(&sim),
        ["GET /leads/20000001", "GET /leads/pipelines/7700001"]
    );

    // Moved to the other pipeline: named from that pipeline.
    assert!(sim.set_lead_status(lead_id, 77_000_022).is_some());
    let status = plugin
        .lead_status(&created.id)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        (status.name.as_str(), status.is_final),
        ("Рахунок виставлено", false)
    );

    assert!(sim.set_lead_status(lead_id, WON_STATUS_ID).is_some());
    let status = plugin
        .lead_status(&created.id)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        (status.id.as_str(), status.name.as_str(), status.is_final),
        ("142", "Успешно реализовано", true)
    );
    assert!(sim.set_lead_status(lead_id, LOST_STATUS_ID).is_some());
    let status = plugin
        .lead_status(&created.id)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        (status.name.as_str(), status.is_final),
        ("Закрыто и не реализовано", true)
    );

    // A missing lead is amoCRM's 204.
    assert!(matches!(
        crm_error(plugin.lead_status("29999999").await),
        CrmError::NotFound(_)
    ));
    assert!(matches!(
        crm_error(plugin.lead_status("nope").await),
        CrmError::NotFound(_)
    ));
}

#[tokio::test]
async fn it_turns_status_webhooks_into_events() {
    let sim = sim(AmoCrmConfig::default()).await;
    let rt = runtime();
    let mut s = settings(&sim);
    s.config.insert("account_id".into(), "31000001".into());
    let plugin = load(&rt, &s).await;
    let a = plugin
        .create_lead(&order("wh-1"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let b = plugin
        .create_lead(&order("wh-2"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let id = |r: &switchboard_crm::LeadRef| r.id.parse::<i64>().unwrap_or_default();
    let moved_a = sim
        .set_lead_status(id(&a), 77_000_012)
        .unwrap_or_else(|| panic!("no lead a"));
    let moved_b = sim
        .set_lead_status(id(&b), WON_STATUS_ID)
        .unwrap_or_else(|| panic!("no lead b"));
    let body = sim.status_webhook_body(&[moved_a, moved_b]);
    let headers = vec![(
        "content-type".to_string(),
        "application/x-www-form-urlencoded".to_string(),
    )];

    sim.clear_requests();
    let events = plugin
        .handle_webhook(&headers, body.as_bytes())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let got: Vec<(String, String, String, bool)> = events
        .into_iter()
        .map(|e| (e.lead_id, e.status.id, e.status.name, e.status.is_final))
        .collect();
    assert_eq!(
        got,
        [
            (
                a.id.clone(),
                String::from("77000012"),
                String::from("Підтверджено"),
                false
            ),
            (
                b.id.clone(),
                String::from("142"),
                String::from("Успешно реализовано"),
                true
            ),
        ]
    );
    assert_eq!(
        calls(&sim),
        ["GET /leads/pipelines"],
        "one request names all"
    );

    // Another account's webhook is refused, before any request.
    sim.clear_requests();
    let forged = body.replace("account%5Bid%5D=31000001", "account%5Bid%5D=666");
    assert!(matches!(
        crm_error(plugin.handle_webhook(&headers, forged.as_bytes()).await),
        CrmError::Unauthorized(_)
    ));
    // A webhook about something else has no events and costs nothing.
    let other = b"leads%5Badd%5D%5B0%5D%5Bid%5D=5&account%5Bid%5D=31000001";
    let events = plugin
        .handle_webhook(&headers, other)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(events.is_empty());
    assert!(sim.requests().is_empty());
}

#[tokio::test]
async fn it_maps_every_amocrm_failure_to_a_typed_error() {
    let sim = sim(AmoCrmConfig::with_catalog(10)).await;
    let rt = runtime();
    let mut s = with_catalog_id(settings(&sim));
    s.timeout = Duration::from_secs(2);
    s.max_response_bytes = 256 * 1024;
    let plugin = load(&rt, &s).await;

    sim.inject(Fault::ServerError(500), Some(1));
    let e = crm_error(plugin.list_products(None, 50).await);
    assert!(
        matches!(&e, CrmError::Unavailable(m) if m.contains("500")),
        "{e:?}"
    );

    sim.inject(Fault::ServerError(503), Some(1));
    assert!(matches!(
        crm_error(plugin.list_products(None, 50).await),
        CrmError::Unavailable(_)
    ));

    // nginx's HTML page in front of amoCRM.
    sim.inject(Fault::ServerError(504), Some(1));
    let e = crm_error(plugin.list_products(None, 50).await);
    assert!(
        matches!(&e, CrmError::Unavailable(m) if m.contains("504")),
        "{e:?}"
    );

    sim.inject(
        Fault::RateLimited {
            retry_after_secs: 7,
        },
        Some(1),
    );
    assert!(matches!(
        crm_error(plugin.list_products(None, 50).await),
        CrmError::RateLimited(7)
    ));

    sim.inject(Fault::MalformedJson, Some(1));
    let e = crm_error(plugin.list_products(None, 50).await);
    assert!(
        matches!(&e, CrmError::Unavailable(m) if m.contains("malformed JSON")),
        "{e:?}"
    );

    sim.inject(Fault::DropConnection, Some(1));
    assert!(matches!(
        crm_error(plugin.list_products(None, 50).await),
        CrmError::Unavailable(_)
    ));

    sim.inject(Fault::HugeBody(2 * 1024 * 1024), Some(1));
    assert!(matches!(
        crm_error(plugin.list_products(None, 50).await),
        CrmError::Unavailable(_)
    ));

    // Slower than the call deadline: an HTTP timeout inside the plugin,
    // reported before the host has to stop it.
    sim.inject(Fault::Slow(Duration::from_secs(4)), Some(1));
    let asked = sim.requests().len();
    let e = crm_error(plugin.list_products(None, 50).await);
    // A CRM error (not `CallError::Timeout`) that names the HTTP timeout:
    // the plugin's own request timed out before the call's deadline.
    assert!(
        matches!(&e, CrmError::Unavailable(m) if m.to_ascii_lowercase().contains("timeout")),
        "{e:?}"
    );
    assert_eq!(sim.requests().len(), asked + 1, "the slow CRM was asked");

    // Failures of the lead calls map the same way and create nothing twice.
    sim.inject_for("/leads/complex", Fault::ServerError(502), Some(1));
    assert!(matches!(
        crm_error(plugin.create_lead(&order("fail-1")).await),
        CrmError::Unavailable(_)
    ));
    sim.inject_for("/leads/pipelines", Fault::MalformedJson, Some(1));
    let created = plugin
        .create_lead(&order("fail-1"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(matches!(
        crm_error(plugin.lead_status(&created.id).await),
        CrmError::Unavailable(_)
    ));

    // After all that, an ordinary call works.
    let page = plugin
        .list_products(None, 50)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(page.items.len(), 10);
    assert_eq!(sim.leads().len(), 1);
}

#[tokio::test]
async fn it_maps_auth_and_validation_errors() {
    let sim = sim(AmoCrmConfig::with_catalog(3)).await;
    let rt = runtime();

    let mut wrong_token = settings(&sim);
    wrong_token.config.insert("token".into(), "wrong".into());
    let plugin = load(&rt, &wrong_token).await;
    assert!(matches!(
        crm_error(plugin.list_products(None, 50).await),
        CrmError::Unauthorized(_)
    ));
    assert!(matches!(
        crm_error(plugin.create_lead(&order("bad-token")).await),
        CrmError::Unauthorized(_)
    ));

    // A status of no pipeline: amoCRM's validation-errors, named.
    let mut bad_status = settings(&sim);
    bad_status.config.insert("status_id".into(), "999".into());
    let plugin = load(&rt, &bad_status).await;
    let e = crm_error(plugin.create_lead(&order("bad-status")).await);
    assert!(
        matches!(&e, CrmError::InvalidRequest(m) if m.contains("400") && m.contains("status_id") && m.contains("not a valid choice")),
        "{e:?}"
    );
    assert!(sim.leads().is_empty());

    // A host not on the list never sees the token.
    let mut elsewhere = settings(&sim);
    elsewhere.allowed_hosts = Some(vec!["example.kommo.com".into()]);
    let plugin = load(&rt, &elsewhere).await;
    assert!(matches!(
        crm_error(plugin.list_products(None, 50).await),
        CrmError::Unauthorized(m) if m.contains("denied")
    ));
}

#[tokio::test]
async fn it_keeps_to_the_request_budget_of_its_manifest() {
    // The simulator allows 8 a second, so one request of timing jitter is
    // absorbed; the manifest's budget is amoCRM's real 7.
    let mut config = AmoCrmConfig::with_catalog(3);
    config.rate_limit_per_second = Some(8);
    let sim = sim(config).await;
    let rt = runtime();
    let registry = switchboard_plugin_runtime::Registry::new(rt);
    let plugin = registry
        .activate(&with_catalog_id(settings(&sim)))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    // Fifteen calls one after another: the simulator refuses a ninth request
    // within a second, so every call succeeding means the budget spaced them;
    // the budget says when it held one back.
    let (results, log) = crate::keycrm::with_debug_log(async {
        let mut results = Vec::new();
        for _ in 0..15 {
            results.push(plugin.list_products(None, 50).await);
        }
        results
    })
    .await;
    for result in results {
        result.unwrap_or_else(|e| panic!("{e}"));
    }
    assert!(crate::keycrm::budget_waits(&log) >= 1, "{log}");
    assert_eq!(sim.requests().len(), 15);
}
