//! The real `bitrix24.wasm` against the simulated Bitrix24 REST API.

use std::collections::HashSet;
use std::time::Duration;

use serde_json::{Value, json};
use switchboard::config::PluginSettings;
use switchboard_crm::{Contact, CrmError, Lead, LeadKind, LineItem, Money, Operations};
use switchboard_plugin_runtime::CallError;
use switchboard_sim::bitrix24::Bitrix24RateLimit;
use switchboard_sim::{Bitrix24Config, Bitrix24Sim, Fault};

use crate::support::{dist, load, runtime};

/// The outgoing webhook's token the default simulator config sends.
const APP_TOKEN: &str = "51856fefc120afa4b628cc82d3935cce";

async fn sim(config: Bitrix24Config) -> Bitrix24Sim {
    Bitrix24Sim::start(config)
        .await
        .unwrap_or_else(|e| panic!("starting the Bitrix24 simulator: {e}"))
}

fn settings(sim: &Bitrix24Sim) -> PluginSettings {
    let mut s = PluginSettings::new("bitrix24", dist("bitrix24.wasm"));
    s.allowed_hosts = Some(vec![sim.addr().to_string()]);
    s.allow_http_loopback = true;
    s.timeout = Duration::from_secs(5);
    s.config.insert("webhook_url".into(), sim.webhook_url());
    s.config
        .insert("application_token".into(), APP_TOKEN.into());
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
                image_url: None,
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

/// The REST method each request called, in order.
fn methods(sim: &Bitrix24Sim) -> Vec<String> {
    sim.requests()
        .iter()
        .map(|r| {
            r.path
                .rsplit('/')
                .next()
                .unwrap_or_default()
                .trim_end_matches(".json")
                .to_string()
        })
        .collect()
}

fn bodies(sim: &Bitrix24Sim, method: &str) -> Vec<Value> {
    sim.requests()
        .into_iter()
        .filter(|r| r.path.ends_with(&format!("/{method}.json")))
        .map(|r| r.json().unwrap_or(Value::Null))
        .collect()
}

#[tokio::test]
async fn it_says_what_it_implements() {
    let sim = sim(Bitrix24Config::default()).await;
    let rt = runtime();
    let plugin = load(&rt, &settings(&sim)).await;
    let info = plugin.call_info().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(info.id, "bitrix24");
    assert_eq!(
        info.operations,
        Operations::GET_PRODUCT
            | Operations::LEAD_STATUS
            | Operations::HANDLE_WEBHOOK
            | Operations::IDEMPOTENT_CREATE
    );
    assert!(sim.requests().is_empty());
}

#[tokio::test]
async fn it_reads_every_page_of_a_230_product_catalog() {
    let sim = sim(Bitrix24Config::with_catalog(230)).await;
    let expected = Bitrix24Config::with_catalog(230).products;
    let rt = runtime();
    let plugin = load(&rt, &settings(&sim)).await;

    let first = plugin
        .list_products(None, 50)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(first.total, Some(230));
    sim.clear_requests();
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
            Money {
                currency: product.currency_id.clone(),
                ..uah(product.price_kopecks)
            },
            "product {}",
            product.id
        );
        assert_eq!(item.sku.as_deref(), Some(product.xml_id.as_str()));
        assert_eq!(
            item.description.as_deref(),
            Some(product.description.as_str())
        );
    }

    // Five calls, `start` 0…200, each the same JSON but for `start`; none
    // after the last page, which has no `next`.
    let sent = bodies(&sim, "crm.product.list");
    let want: Vec<Value> = (0..5)
        .map(|page| {
            json!({
                "order": {"ID": "ASC"},
                "filter": {"ACTIVE": "Y"},
                "select": ["ID", "NAME", "PRICE", "CURRENCY_ID", "DESCRIPTION",
                           "DESCRIPTION_TYPE", "ACTIVE", "XML_ID", "CODE"],
                "start": page * 50,
            })
        })
        .collect();
    assert_eq!(sent, want);
    for r in sim.requests() {
        assert_eq!(r.method, "POST");
        assert_eq!(r.header("content-type"), Some("application/json"));
        assert!(
            r.path.starts_with("/rest/1/sim0webhook0code/"),
            "{}",
            r.path
        );
    }
}

#[tokio::test]
async fn pages_smaller_than_fifty_walk_through_bitrix_pages() {
    let sim = sim(Bitrix24Config::with_catalog(120)).await;
    let rt = runtime();
    let plugin = load(&rt, &settings(&sim)).await;
    let items = plugin
        .list_all_products(20, 100)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let ids: Vec<String> = items.iter().map(|p| p.id.clone()).collect();
    let want: Vec<String> = (1..=120).map(|i| i.to_string()).collect();
    assert_eq!(ids, want, "every product once, in order");
    // Seven host pages (20, 20, 10 of each Bitrix24 page of 50, then 20).
    let starts: Vec<u64> = bodies(&sim, "crm.product.list")
        .iter()
        .filter_map(|b| b["start"].as_u64())
        .collect();
    assert_eq!(starts, [0, 0, 0, 50, 50, 50, 100]);
}

#[tokio::test]
async fn it_gets_one_product_and_reports_missing_ones() {
    let sim = sim(Bitrix24Config::with_catalog(20)).await;
    let product = Bitrix24Config::with_catalog(20).products[3].clone();
    let rt = runtime();
    let plugin = load(&rt, &settings(&sim)).await;
    let found = plugin
        .get_product(&product.id.to_string())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(found.name, product.name);
    assert_eq!(found.price, uah(product.price_kopecks));
    assert_eq!(bodies(&sim, "crm.product.get"), [json!({"id": product.id})]);
    // Bitrix24's 400 "Not found".
    assert!(matches!(
        crm_error(plugin.get_product("999999").await),
        CrmError::NotFound(_)
    ));
    assert!(matches!(
        crm_error(plugin.get_product("x").await),
        CrmError::NotFound(_)
    ));
}

#[tokio::test]
async fn it_adds_a_lead_with_the_exact_fields_bitrix_expects() {
    let sim = sim(Bitrix24Config::default()).await;
    let rt = runtime();
    let mut s = settings(&sim);
    s.config.insert("source_id".into(), "STORE".into());
    let plugin = load(&rt, &s).await;

    let created = plugin
        .create_lead(&order("order-42"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(created.id, "1");
    assert_eq!(
        created.url,
        Some(format!("{}/crm/lead/details/1/", sim.base_url()))
    );
    // A first attempt does not look its key up (`call.attempt` is 1).
    assert_eq!(methods(&sim), ["crm.lead.add"]);
    let comments = "Нова пошта, відділення 5\nOrder:\n\
        - Футболка (M, чорний), SKU TS-1: 2 × 1299.50 UAH = 2599.00 UAH\n\
        - Чашка: 1 × 250.00 UAH = 250.00 UAH\n\
        Total: 2849.00 UAH\nTelegram: @olena_p (id 4242)\nSource: telegram\nSwitchboard key: order-42";
    assert_eq!(
        bodies(&sim, "crm.lead.add"),
        [json!({"fields": {
            "TITLE": "Замовлення з Telegram",
            "NAME": "Олена Петренко",
            "PHONE": [{"VALUE": "+380501234567", "VALUE_TYPE": "MOBILE"}],
            "EMAIL": [{"VALUE": "olena@example.com", "VALUE_TYPE": "WORK"}],
            "IM": [{"VALUE": "olena_p", "VALUE_TYPE": "TELEGRAM"}],
            "COMMENTS": comments,
            "SOURCE_ID": "STORE",
            "SOURCE_DESCRIPTION": "telegram",
            "ORIGINATOR_ID": "switchboard",
            "ORIGIN_ID": "order-42",
            "OPPORTUNITY": "2849.00",
            "CURRENCY_ID": "UAH"
        }})]
    );

    let leads = sim.leads();
    assert_eq!(leads.len(), 1);
    let lead = &leads[0];
    assert_eq!(lead["OPPORTUNITY"], "2849.00");
    assert_eq!(lead["CURRENCY_ID"], "UAH");
    assert_eq!(lead["STATUS_ID"], "NEW");
    assert_eq!(lead["SOURCE_ID"], "STORE");
    assert_eq!(lead["ORIGIN_ID"], "order-42");
    assert_eq!(lead["HAS_PHONE"], "Y");
    assert_eq!(lead["IM"][0]["VALUE_TYPE"], "TELEGRAM");
}

#[tokio::test]
async fn a_retry_after_a_lost_answer_returns_the_same_lead() {
    let sim = sim(Bitrix24Config::default()).await;
    let rt = runtime();
    let plugin = load(&rt, &settings(&sim)).await;

    sim.inject_for("crm.lead.add", Fault::ApplyThenDrop, Some(1));
    let e = crm_error(plugin.create_lead(&order("tg-retry-1")).await);
    assert!(matches!(e, CrmError::Unavailable(_)), "{e:?}");
    assert_eq!(sim.leads().len(), 1, "Bitrix24 applied the first attempt");

    sim.clear_requests();
    let retried = plugin
        .create_lead_attempt(&order("tg-retry-1"), 2, 0)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(retried.id, "1");
    assert_eq!(sim.leads().len(), 1, "exactly one lead");
    assert_eq!(methods(&sim), ["crm.lead.list"], "found, not added again");
    assert_eq!(
        bodies(&sim, "crm.lead.list"),
        [json!({
            "filter": {"ORIGINATOR_ID": "switchboard", "ORIGIN_ID": "tg-retry-1"},
            "select": ["ID", "ORIGINATOR_ID", "ORIGIN_ID"]
        })]
    );

    // A different key (even one differing only in case) is a new lead.
    let other = plugin
        .create_lead_attempt(&order("TG-RETRY-1"), 2, 0)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(other.id, "2");
    assert_eq!(sim.leads().len(), 2);
}

#[tokio::test]
async fn it_reports_lead_statuses_by_their_semantics() {
    let sim = sim(Bitrix24Config::default()).await;
    let rt = runtime();
    let plugin = load(&rt, &settings(&sim)).await;
    let created = plugin
        .create_lead(&order("status-1"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    sim.clear_requests();
    let status = plugin
        .lead_status(&created.id)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        (status.id.as_str(), status.name.as_str(), status.is_final),
        ("NEW", "Не оброблений", false)
    );
    assert_eq!(methods(&sim), ["crm.lead.get", "crm.status.list"]);
    assert_eq!(
        bodies(&sim, "crm.status.list"),
        [json!({"filter": {"ENTITY_ID": "STATUS"}})]
    );

    for (status_id, name, is_final) in [
        ("IN_PROCESS", "В роботі", false),
        // "Processed" is still open: it awaits conversion.
        ("PROCESSED", "Оброблений", false),
        ("CONVERTED", "Якісний лід", true),
        ("JUNK", "Неякісний лід", true),
    ] {
        assert!(sim.set_lead_status(1, status_id));
        let status = plugin
            .lead_status(&created.id)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (status.id.as_str(), status.name.as_str(), status.is_final),
            (status_id, name, is_final)
        );
    }

    assert!(matches!(
        crm_error(plugin.lead_status("777").await),
        CrmError::NotFound(_)
    ));
    assert!(matches!(
        crm_error(plugin.lead_status("abc").await),
        CrmError::NotFound(_)
    ));
}

#[tokio::test]
async fn it_turns_lead_update_events_into_status_events() {
    let sim = sim(Bitrix24Config::default()).await;
    let rt = runtime();
    let plugin = load(&rt, &settings(&sim)).await;
    let created = plugin
        .create_lead(&order("wh-1"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(sim.set_lead_status(1, "CONVERTED"));
    let body = sim.lead_update_event(1);
    let headers = vec![(
        "content-type".to_string(),
        "application/x-www-form-urlencoded".to_string(),
    )];

    sim.clear_requests();
    let events = plugin
        .handle_webhook(&headers, body.as_bytes())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].lead_id, created.id);
    assert_eq!(
        (
            events[0].status.id.as_str(),
            events[0].status.name.as_str(),
            events[0].status.is_final
        ),
        ("CONVERTED", "Якісний лід", true)
    );
    assert_eq!(methods(&sim), ["crm.lead.get", "crm.status.list"]);

    // A forged token, or none configured: refused before any request.
    sim.clear_requests();
    let forged = body.replace(APP_TOKEN, "0123456789abcdef0123456789abcdef");
    assert!(matches!(
        crm_error(plugin.handle_webhook(&headers, forged.as_bytes()).await),
        CrmError::Unauthorized(_)
    ));
    let mut unverifiable = settings(&sim);
    unverifiable.config.remove("application_token");
    let plugin_without_token = load(&rt, &unverifiable).await;
    assert!(matches!(
        crm_error(
            plugin_without_token
                .handle_webhook(&headers, body.as_bytes())
                .await
        ),
        CrmError::Unauthorized(_)
    ));
    assert!(sim.requests().is_empty());

    // Another authentic event: nothing to report, nothing asked.
    let added = body.replace("ONCRMLEADUPDATE", "ONCRMLEADADD");
    let events = plugin
        .handle_webhook(&headers, added.as_bytes())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(events.is_empty());
    assert!(sim.requests().is_empty());
}

#[tokio::test]
async fn it_maps_every_bitrix24_failure_to_a_typed_error() {
    let sim = sim(Bitrix24Config::with_catalog(10)).await;
    let rt = runtime();
    let mut s = settings(&sim);
    s.timeout = Duration::from_secs(2);
    s.max_response_bytes = 256 * 1024;
    let plugin = load(&rt, &s).await;

    sim.inject(Fault::ServerError(500), Some(1));
    let e = crm_error(plugin.list_products(None, 50).await);
    assert!(
        matches!(&e, CrmError::Unavailable(m) if m.contains("500") && m.contains("INTERNAL_SERVER_ERROR")),
        "{e:?}"
    );

    // 503 OVERLOAD_LIMIT is an outage, not the request rate.
    sim.inject(Fault::ServerError(503), Some(1));
    let e = crm_error(plugin.list_products(None, 50).await);
    assert!(
        matches!(&e, CrmError::Unavailable(m) if m.contains("OVERLOAD_LIMIT")),
        "{e:?}"
    );

    sim.inject(Fault::ServerError(502), Some(1));
    assert!(matches!(
        crm_error(plugin.list_products(None, 50).await),
        CrmError::Unavailable(_)
    ));

    // 503 QUERY_LIMIT_EXCEEDED is the rate limit.
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

    // The lead calls map the same way; a failed add leaves nothing behind.
    sim.inject_for("crm.lead.add", Fault::ServerError(500), Some(1));
    assert!(matches!(
        crm_error(plugin.create_lead(&order("fail-1")).await),
        CrmError::Unavailable(_)
    ));
    // A retry's lookup fails the same way.
    sim.inject_for("crm.lead.list", Fault::MalformedJson, Some(1));
    assert!(matches!(
        crm_error(plugin.create_lead_attempt(&order("fail-1"), 2, 0).await),
        CrmError::Unavailable(_)
    ));
    assert!(sim.leads().is_empty());

    let page = plugin
        .list_products(None, 50)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(page.items.len(), 10);
}

#[tokio::test]
async fn it_maps_auth_and_validation_errors() {
    let sim = sim(Bitrix24Config::with_catalog(3)).await;
    let rt = runtime();

    let mut wrong_code = settings(&sim);
    wrong_code.config.insert(
        "webhook_url".into(),
        format!("{}/rest/1/not-the-code/", sim.base_url()),
    );
    let plugin = load(&rt, &wrong_code).await;
    let e = crm_error(plugin.list_products(None, 50).await);
    assert!(
        matches!(&e, CrmError::Unauthorized(m) if m.contains("INVALID_CREDENTIALS")),
        "{e:?}"
    );

    // `TELEGRAM` is not one of the portal's sources: Bitrix24's own message.
    let mut bad_source = settings(&sim);
    bad_source
        .config
        .insert("source_id".into(), "TELEGRAM".into());
    let plugin = load(&rt, &bad_source).await;
    let e = crm_error(plugin.create_lead(&order("bad-source")).await);
    assert!(
        matches!(&e, CrmError::InvalidRequest(m) if m.contains("400") && m.contains("Unknown source 'TELEGRAM'")),
        "{e:?}"
    );
    assert!(sim.leads().is_empty());

    // A webhook URL that is not one is refused before any request.
    let mut not_a_webhook = settings(&sim);
    not_a_webhook
        .config
        .insert("webhook_url".into(), sim.base_url());
    let plugin = load(&rt, &not_a_webhook).await;
    let before = sim.requests().len();
    assert!(matches!(
        crm_error(plugin.list_products(None, 50).await),
        CrmError::InvalidRequest(m) if m.contains("webhook_url")
    ));
    assert_eq!(sim.requests().len(), before);
}

#[tokio::test]
async fn it_keeps_to_the_request_budget_of_its_manifest() {
    // A bucket of three draining at two a second: without the budget the
    // fourth immediate request would be refused.
    let mut config = Bitrix24Config::with_catalog(3);
    config.rate_limit = Some(Bitrix24RateLimit {
        burst: 3,
        per_second: 2,
    });
    let sim = sim(config).await;
    let rt = runtime();
    let registry = switchboard_plugin_runtime::Registry::new(rt);
    let plugin = registry
        .activate(&settings(&sim))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    // Six calls at once at the manifest's two a second: four wait for the
    // budget, which says so in the host's log, and the simulator (which
    // would refuse a fourth immediate request) refuses none.
    let (results, log) = crate::keycrm::with_debug_log(async {
        let mut calls = tokio::task::JoinSet::new();
        for _ in 0..6 {
            let plugin = std::sync::Arc::clone(&plugin);
            calls.spawn(async move { plugin.list_products(None, 50).await });
        }
        calls.join_all().await
    })
    .await;
    for result in results {
        result.unwrap_or_else(|e| panic!("{e}"));
    }
    assert_eq!(crate::keycrm::budget_waits(&log), 4, "{log}");
    assert_eq!(sim.requests().len(), 6);
}
