//! The real `keycrm.wasm` against the simulated KeyCRM.

use std::collections::HashSet;
use std::time::Duration;

use serde_json::json;
use switchboard_crm::{Contact, CrmError, Lead, LeadKind, LineItem, Money};
use switchboard_plugin_runtime::CallError;
use switchboard_ratelimit::RateLimit;
use switchboard_sim::{Fault, KeyCrmConfig, KeyCrmSim};

use crate::support::{keycrm_settings, load, runtime};

async fn sim(config: KeyCrmConfig) -> KeyCrmSim {
    KeyCrmSim::start(config)
        .await
        .unwrap_or_else(|e| panic!("starting the KeyCRM simulator: {e}"))
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

#[tokio::test]
async fn it_reads_every_page_of_a_230_offer_catalog() {
    let sim = sim(KeyCrmConfig::with_catalog(230)).await;
    let expected = KeyCrmConfig::with_catalog(230);
    let rt = runtime();
    let plugin = load(&rt, &keycrm_settings(&sim)).await;

    let items = plugin
        .list_all_products(50, 100)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(items.len(), 230);
    let ids: HashSet<&str> = items.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(ids.len(), 230, "ids are unique");

    // Every offer arrives with its exact price, SKU and variant name.
    for offer in &expected.offers {
        let item = items
            .iter()
            .find(|p| p.id == offer.id.to_string())
            .unwrap_or_else(|| panic!("offer {} missing", offer.id));
        assert_eq!(item.price, uah(offer.price_kopecks), "offer {}", offer.id);
        assert_eq!(item.sku.as_deref(), Some(offer.sku.as_str()));
        let product = expected
            .products
            .iter()
            .find(|p| p.id == offer.product_id)
            .unwrap_or_else(|| panic!("product {} missing", offer.product_id));
        assert!(item.name.starts_with(&product.name), "{}", item.name);
        for property in &offer.properties {
            assert!(
                item.name.contains(&property.value),
                "{} lacks {}",
                item.name,
                property.value
            );
        }
        assert_eq!(item.stock, Some(offer.quantity));
    }

    let pages: Vec<(String, String, String)> = sim
        .requests()
        .iter()
        .filter(|r| r.path == "/v1/offers")
        .map(|r| {
            assert_eq!(r.header("authorization"), Some("Bearer test-key"));
            (
                r.query_param("page").unwrap_or_default().to_string(),
                r.query_param("limit").unwrap_or_default().to_string(),
                r.query_param("include").unwrap_or_default().to_string(),
            )
        })
        .collect();
    let want: Vec<(String, String, String)> = (1..=5)
        .map(|p| (p.to_string(), "50".to_string(), "product".to_string()))
        .collect();
    assert_eq!(pages, want);
}

#[tokio::test]
async fn it_falls_back_to_products_when_there_are_no_offers() {
    let sim = sim(KeyCrmConfig::with_products_only(60)).await;
    let expected = KeyCrmConfig::with_products_only(60);
    let rt = runtime();
    let plugin = load(&rt, &keycrm_settings(&sim)).await;
    let items = plugin
        .list_all_products(50, 100)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(items.len(), 60);
    let first = &expected.products[0];
    let item = items
        .iter()
        .find(|p| p.id == format!("p{}", first.id))
        .unwrap_or_else(|| panic!("product {} missing", first.id));
    assert_eq!(item.name, first.name);
    assert_eq!(item.price, uah(first.price_kopecks));
    let paths: Vec<String> = sim
        .requests()
        .iter()
        .map(|r| format!("{}?page={}", r.path, r.query_param("page").unwrap_or("")))
        .collect();
    assert_eq!(
        paths,
        [
            "/v1/offers?page=1",
            "/v1/products?page=1",
            "/v1/products?page=2"
        ]
    );

    let one = plugin
        .get_product(&format!("p{}", first.id))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(one.name, first.name);
}

#[tokio::test]
async fn it_gets_one_offer_and_reports_missing_ones() {
    let sim = sim(KeyCrmConfig::with_catalog(20)).await;
    let offer = KeyCrmConfig::with_catalog(20).offers[3].clone();
    let rt = runtime();
    let plugin = load(&rt, &keycrm_settings(&sim)).await;
    let product = plugin
        .get_product(&offer.id.to_string())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(product.sku.as_deref(), Some(offer.sku.as_str()));
    assert_eq!(product.price, uah(offer.price_kopecks));
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
async fn it_creates_a_pipeline_card_with_the_exact_json_keycrm_expects() {
    let sim = sim(KeyCrmConfig::default()).await;
    let rt = runtime();
    let mut settings = keycrm_settings(&sim);
    settings
        .config
        .insert("username_custom_field_uuid".into(), "LD_1001".into());
    let plugin = load(&rt, &settings).await;

    let created = plugin
        .create_lead(&order("order-42"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(created.id, "1");

    let posts: Vec<_> = sim
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST")
        .collect();
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0].path, "/v1/pipelines/cards");
    assert_eq!(posts[0].header("content-type"), Some("application/json"));
    assert_eq!(
        posts[0].json(),
        Some(json!({
            "title": "Замовлення з Telegram",
            "source_id": 1,
            "manager_comment": "Нова пошта, відділення 5\nTelegram: @olena_p (id 4242)\nSource: telegram\nSwitchboard key: order-42",
            "contact": {
                "full_name": "Олена Петренко",
                "phone": "+380501234567",
                "email": "olena@example.com"
            },
            "products": [
                {"sku": "TS-1", "price": 1299.5, "quantity": 2, "name": "Футболка (M, чорний)",
                 "picture": "https://img.example/1.jpg"},
                {"price": 250.0, "quantity": 1, "name": "Чашка"}
            ],
            "custom_fields": [{"uuid": "LD_1001", "value": "@olena_p"}]
        }))
    );
    assert_eq!(sim.cards().len(), 1);
}

#[tokio::test]
async fn it_reports_the_card_status_and_whether_it_is_final() {
    let sim = sim(KeyCrmConfig::default()).await;
    let rt = runtime();
    let plugin = load(&rt, &keycrm_settings(&sim)).await;
    let created = plugin
        .create_lead(&order("status-1"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let status = plugin
        .lead_status(&created.id)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        (status.id.as_str(), status.name.as_str(), status.is_final),
        ("1", "Новий", false)
    );

    let card_id: i64 = created.id.parse().unwrap_or_else(|e| panic!("{e}"));
    assert!(sim.set_card_status(card_id, 3));
    let status = plugin
        .lead_status(&created.id)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((status.name.as_str(), status.is_final), ("Успішно", true));
    let last = sim.requests().pop().unwrap_or_else(|| panic!("no request"));
    assert_eq!(last.path, format!("/v1/pipelines/cards/{card_id}"));
    assert_eq!(last.query_param("include"), Some("status"));

    assert!(matches!(
        crm_error(plugin.lead_status("777").await),
        CrmError::NotFound(_)
    ));
}

#[tokio::test]
async fn it_maps_every_keycrm_failure_to_a_typed_error() {
    let sim = sim(KeyCrmConfig::with_catalog(10)).await;
    let rt = runtime();
    let mut settings = keycrm_settings(&sim);
    settings.timeout = Duration::from_secs(2);
    settings.max_response_bytes = 256 * 1024;
    let plugin = load(&rt, &settings).await;

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

    // A CRM slower than the call deadline: the plugin sees an HTTP timeout
    // and reports `unavailable` before the host has to stop it.
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

    // After all that, an ordinary call works.
    let page = plugin
        .list_products(None, 50)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(page.items.len(), 10);
}

#[tokio::test]
async fn it_maps_auth_and_validation_errors() {
    let sim = sim(KeyCrmConfig::with_catalog(3)).await;
    let rt = runtime();

    let mut wrong_key = keycrm_settings(&sim);
    wrong_key.config.insert("api_key".into(), "wrong".into());
    let plugin = load(&rt, &wrong_key).await;
    assert!(matches!(
        crm_error(plugin.list_products(None, 50).await),
        CrmError::Unauthorized(_)
    ));

    let mut bad_source = keycrm_settings(&sim);
    bad_source.config.insert("source_id".into(), "99".into());
    let plugin = load(&rt, &bad_source).await;
    let e = crm_error(plugin.create_lead(&order("bad-source")).await);
    assert!(
        matches!(&e, CrmError::InvalidRequest(m) if m.contains("422") && m.contains("source")),
        "{e:?}"
    );
    assert!(sim.cards().is_empty());
}

#[tokio::test]
async fn it_keeps_to_the_request_budget() {
    let sim = sim(KeyCrmConfig::with_catalog(3)).await;
    let rt = runtime();
    let mut settings = keycrm_settings(&sim);
    settings.rate_limit = Some(RateLimit {
        requests: 2,
        per_seconds: 1,
    });
    let registry = switchboard_plugin_runtime::Registry::new(rt);
    let plugin = registry
        .activate(&settings)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    // Five calls at once: two fit the window, three wait for the budget,
    // which says so in the host's log.
    let (results, log) = with_debug_log(async {
        let mut calls = tokio::task::JoinSet::new();
        for _ in 0..5 {
            let plugin = std::sync::Arc::clone(&plugin);
            calls.spawn(async move { plugin.list_products(None, 50).await });
        }
        calls.join_all().await
    })
    .await;
    for result in results {
        result.unwrap_or_else(|e| panic!("{e}"));
    }
    assert_eq!(budget_waits(&log), 3, "{log}");
    assert_eq!(sim.requests().len(), 5);
}

/// How many outbound requests the host logged as held back by a plugin's
/// request budget for a real wait (100 ms or more; shorter ones are the
/// budget's own lock, not its limit).
pub(crate) fn budget_waits(log: &str) -> usize {
    log.lines()
        .filter(|l| l.contains("outbound request waited for the CRM's rate limit"))
        .filter_map(|l| l.split("waited_ms=").nth(1))
        .filter_map(|ms| ms.split_whitespace().next()?.parse::<u64>().ok())
        .filter(|ms| *ms >= 100)
        .count()
}

/// A writer into a shared buffer, for [`with_debug_log`].
#[derive(Clone, Default)]
struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Runs `future` on this thread with the plugin runtime's debug log
/// captured, and returns its output with the log. Only for current-thread
/// tests: the capture is this thread's.
pub(crate) async fn with_debug_log<T>(future: impl Future<Output = T>) -> (T, String) {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(
            "switchboard_plugin_runtime=debug",
        ))
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let guard = tracing::subscriber::set_default(subscriber);
    let output = future.await;
    drop(guard);
    let log =
        String::from_utf8_lossy(&captured.0.lock().unwrap_or_else(|p| p.into_inner())).into_owned();
    (output, log)
}
