//! The real `webhook.wasm` (Python, built with componentize-py by
//! `plugins/webhook-py/build.sh`) through the host runtime, against a small
//! catalog-and-webhook server on loopback.
//!
//! A Python component is ~18 MB: the first compile is measured once and
//! shared through the test binary's compiled-code cache, so the other tests
//! load it from the cache instead of compiling it again each.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use switchboard::config::PluginSettings;
use switchboard_crm::{Contact, CrmError, Lead, LeadKind, LineItem, Money, Operations};
use switchboard_plugin_runtime::{CallError, LoadedPlugin, Runtime};
use tokio::sync::OnceCell;

use crate::support::{dist, load, runtime};

/// What the server answers on one path.
#[derive(Clone)]
struct Reply {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
    delay: Duration,
}

impl Reply {
    fn json(status: u16, body: &Value) -> Self {
        Self {
            status,
            headers: vec![("content-type", "application/json".into())],
            body: body.to_string().into_bytes(),
            delay: Duration::ZERO,
        }
    }

    fn raw(status: u16, body: &str) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: body.as_bytes().to_vec(),
            delay: Duration::ZERO,
        }
    }

    fn header(mut self, name: &'static str, value: &str) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    fn after(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }
}

/// One request the server received.
#[derive(Clone, Debug)]
struct Seen {
    method: Method,
    path: String,
    headers: HeaderMap,
    body: Bytes,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

struct Shared {
    catalog: Mutex<Reply>,
    hook: Mutex<Reply>,
    seen: Mutex<Vec<Seen>>,
}

/// The catalog (`GET /catalog.json`) and the webhook (`POST /hook`).
struct Server {
    addr: SocketAddr,
    shared: Arc<Shared>,
}

fn locked<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_string();
    locked(&shared.seen).push(Seen {
        method,
        path: path.clone(),
        headers,
        body,
    });
    let reply = match path.as_str() {
        "/catalog.json" => locked(&shared.catalog).clone(),
        "/hook" => locked(&shared.hook).clone(),
        _ => Reply::raw(404, "no such path"),
    };
    if !reply.delay.is_zero() {
        tokio::time::sleep(reply.delay).await;
    }
    let mut response = (
        StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        reply.body,
    )
        .into_response();
    for (name, value) in reply.headers {
        if let Ok(value) = value.parse() {
            response.headers_mut().insert(name, value);
        }
    }
    response
}

impl Server {
    async fn start(catalog: Reply) -> Self {
        let shared = Arc::new(Shared {
            catalog: Mutex::new(catalog),
            hook: Mutex::new(Reply::json(200, &json!({"id": "hook-1"}))),
            seen: Mutex::new(Vec::new()),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("binding the test server: {e}"));
        let addr = listener
            .local_addr()
            .unwrap_or_else(|e| panic!("local addr: {e}"));
        let router = Router::new()
            .fallback(handle)
            .with_state(Arc::clone(&shared));
        tokio::spawn(async move { axum::serve(listener, router).await });
        Self { addr, shared }
    }

    fn set_catalog(&self, reply: Reply) {
        *locked(&self.shared.catalog) = reply;
    }

    fn set_hook(&self, reply: Reply) {
        *locked(&self.shared.hook) = reply;
    }

    fn seen(&self, path: &str) -> Vec<Seen> {
        locked(&self.shared.seen)
            .iter()
            .filter(|s| s.path == path)
            .cloned()
            .collect()
    }

    fn settings(&self) -> PluginSettings {
        let mut s = PluginSettings::new("webhook", dist("webhook.wasm"));
        s.allowed_hosts = Some(vec![self.addr.to_string()]);
        s.allow_http_loopback = true;
        s.timeout = Duration::from_secs(5);
        s.config.insert(
            "catalog_url".into(),
            format!("http://{}/catalog.json", self.addr),
        );
        s.config
            .insert("lead_url".into(), format!("http://{}/hook", self.addr));
        s.config
            .insert("auth_header".into(), "Bearer test-token".into());
        s
    }
}

/// How long the first, uncached load (compile included) took.
static FIRST_LOAD: OnceCell<Duration> = OnceCell::const_new();

/// Loads the plugin; the first load of the test binary compiles it (timed),
/// later ones come from the shared cache.
async fn plugin(rt: &Arc<Runtime>, settings: &PluginSettings) -> LoadedPlugin {
    FIRST_LOAD
        .get_or_init(|| async {
            let started = Instant::now();
            let first = load(rt, settings).await;
            // Another test of this binary may have compiled it already.
            if first.from_cache {
                Duration::ZERO
            } else {
                started.elapsed()
            }
        })
        .await;
    let plugin = load(rt, settings).await;
    assert!(plugin.from_cache);
    plugin
}

fn crm_error<T: std::fmt::Debug>(result: Result<T, CallError>) -> CrmError {
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

/// `n` products with prices that floats get wrong (`0.10`, `0.20`, ...,
/// `1299.95`), in every form the catalog document allows.
fn catalog_doc(n: usize) -> Value {
    let products: Vec<Value> = (0..n)
        .map(|i| match i % 4 {
            0 => json!({"id": format!("p{i}"), "name": format!("Product {i}"),
                        "price": format!("{}.{:02}", i, (i * 10) % 100), "sku": format!("SKU-{i}"),
                        "in_stock": i}),
            1 => json!({"id": i, "name": format!("Product {i}"), "price_minor": 129_995 + i as i64,
                        "description": "Тонка бавовна", "image_url": format!("https://img.example/{i}.jpg")}),
            2 => json!({"id": format!("p{i}"), "name": format!("Product {i}"), "variant_name": "M",
                        "price": "0.10", "in_stock": false}),
            _ => json!({"id": format!("p{i}"), "name": format!("Product {i}"), "price": "0.20",
                        "currency": "usd", "in_stock": true}),
        })
        .collect();
    json!({ "products": products })
}

fn expected_price(i: usize) -> Money {
    match i % 4 {
        0 => uah(i as i64 * 100 + ((i * 10) % 100) as i64),
        1 => uah(129_995 + i as i64),
        2 => uah(10),
        _ => Money {
            minor_units: 20,
            scale: 2,
            currency: "USD".into(),
        },
    }
}

fn order(key: &str) -> Lead {
    Lead {
        idempotency_key: key.into(),
        kind: LeadKind::Order(vec![
            LineItem {
                product_id: "p0".into(),
                name: "Футболка (M, чорний)".into(),
                sku: Some("TS-1".into()),
                quantity: 2,
                unit_price: uah(129_950),
                image_url: Some("https://img.example/1.jpg".into()),
            },
            LineItem {
                product_id: "1".into(),
                name: "Чашка".into(),
                sku: None,
                quantity: 3,
                unit_price: uah(10),
                image_url: None,
            },
        ]),
        contact: Contact {
            full_name: "Олена Петренко".into(),
            phone: Some("+380501234567".into()),
            email: None,
            telegram_user_id: Some(4242),
            telegram_username: Some("olena_p".into()),
        },
        title: "Замовлення з Telegram".into(),
        comment: Some("Нова пошта, відділення 5".into()),
        source: "telegram:@shop_bot".into(),
    }
}

#[tokio::test]
async fn webhook_py_says_what_it_is_and_imports_only_what_the_host_links() {
    let server = Server::start(Reply::json(200, &catalog_doc(1))).await;
    let rt = runtime();
    let plugin = plugin(&rt, &server.settings()).await;
    assert_eq!(plugin.info.id, "webhook");
    assert_eq!(plugin.info.name, "HTTP JSON webhook");
    assert_eq!(plugin.info.version, "0.1.0");
    // No idempotent-create: a webhook cannot look a key up.
    assert_eq!(plugin.info.operations, Operations::GET_PRODUCT);

    // What the component imports: everything resolved (the load linked it),
    // listed here so a componentize-py upgrade that adds imports shows up.
    let path = dist("webhook.wasm");
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{e}"));
    let compiled = rt
        .compile(&path, bytes)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let imports: BTreeSet<String> = compiled
        .component
        .component_type()
        .imports(rt.engine())
        .map(|(name, _)| name.to_string())
        .collect();
    eprintln!("webhook.wasm imports: {imports:#?}");
    for name in &imports {
        assert!(
            name.starts_with("wasi:") || name.starts_with("switchboard:crm/"),
            "unexpected import {name}"
        );
    }
    assert!(imports.contains("wasi:http/outgoing-handler@0.2.12"));
}

#[tokio::test]
async fn webhook_py_reads_every_page_with_exact_prices() {
    let server = Server::start(Reply::json(200, &catalog_doc(23))).await;
    let rt = runtime();
    let plugin = plugin(&rt, &server.settings()).await;

    let first = plugin
        .list_products(None, 10)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(first.items.len(), 10);
    assert_eq!(first.total, Some(23));
    let second = plugin
        .list_products(first.next_cursor.as_deref(), 10)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(second.items.len(), 10);
    let last = plugin
        .list_products(second.next_cursor.as_deref(), 10)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(last.items.len(), 3);
    assert_eq!(last.next_cursor, None);

    let all = plugin
        .list_all_products(7, 10)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(all.len(), 23);
    for (i, item) in all.iter().enumerate() {
        let id = if i % 4 == 1 {
            i.to_string()
        } else {
            format!("p{i}")
        };
        assert_eq!(item.id, id);
        assert_eq!(item.price, expected_price(i), "{id}");
        assert_eq!(item.name, format!("Product {i}"));
    }
    assert_eq!(all[0].sku.as_deref(), Some("SKU-0"));
    assert_eq!(all[4].stock, Some(4));
    assert_eq!(all[1].description.as_deref(), Some("Тонка бавовна"));
    assert_eq!(
        all[1].image_url.as_deref(),
        Some("https://img.example/1.jpg")
    );
    assert_eq!(all[2].variant_name.as_deref(), Some("M"));
    assert_eq!(all[2].stock, Some(0), "in_stock: false is zero");
    assert_eq!(all[3].stock, None, "in_stock: true is an unknown count");

    // A limit past the host's maximum is clamped; the cursor is opaque but
    // a foreign one is refused, not misread.
    let big = plugin
        .list_products(None, 1000)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(big.items.len(), 23);
    assert!(matches!(
        crm_error(plugin.list_products(Some("page=2"), 10).await),
        CrmError::InvalidRequest(_)
    ));

    for seen in server.seen("/catalog.json") {
        assert_eq!(seen.method, Method::GET);
        assert_eq!(seen.header("authorization"), Some("Bearer test-token"));
        assert_eq!(seen.header("accept"), Some("application/json"));
    }
}

#[tokio::test]
async fn webhook_py_finds_one_product_or_says_not_found() {
    let server = Server::start(Reply::json(200, &catalog_doc(6))).await;
    let rt = runtime();
    let plugin = plugin(&rt, &server.settings()).await;
    let product = plugin
        .get_product("5")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(product.price, uah(129_995 + 5));
    assert!(matches!(
        crm_error(plugin.get_product("nope").await),
        CrmError::NotFound(m) if m.contains("nope")
    ));
}

#[tokio::test]
async fn webhook_py_posts_the_documented_lead_json() {
    let server = Server::start(Reply::json(200, &catalog_doc(1))).await;
    let rt = runtime();
    let plugin = plugin(&rt, &server.settings()).await;

    let created = plugin
        .create_lead(&order("tg-4242-17"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(created.id, "hook-1");
    assert_eq!(created.url, None);

    let seen = server.seen("/hook");
    assert_eq!(seen.len(), 1);
    let request = &seen[0];
    assert_eq!(request.method, Method::POST);
    assert_eq!(
        request.header("content-type"),
        Some("application/json; charset=utf-8")
    );
    // A known length, not chunked: simple receivers cannot read chunked bodies.
    assert_eq!(
        request.header("content-length"),
        Some(request.body.len().to_string().as_str())
    );
    assert_eq!(request.header("transfer-encoding"), None);
    assert_eq!(request.header("idempotency-key"), Some("tg-4242-17"));
    assert_eq!(request.header("authorization"), Some("Bearer test-token"));
    assert_eq!(request.header("x-switchboard-attempt"), Some("1"));
    assert_eq!(
        request.header("user-agent"),
        Some("switchboard-webhook/0.1.0")
    );
    let body: Value = serde_json::from_slice(&request.body).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        body,
        json!({
            "schema": "switchboard.lead.v1",
            "idempotency_key": "tg-4242-17",
            "kind": "order",
            "title": "Замовлення з Telegram",
            "source": "telegram:@shop_bot",
            "comment": "Нова пошта, відділення 5",
            "contact": {
                "full_name": "Олена Петренко",
                "phone": "+380501234567",
                "email": null,
                "telegram_user_id": 4242,
                "telegram_username": "olena_p"
            },
            "items": [
                {"product_id": "p0", "name": "Футболка (M, чорний)", "sku": "TS-1", "quantity": 2,
                 "unit_price": "1299.50", "line_total": "2599.00", "currency": "UAH",
                 "image_url": "https://img.example/1.jpg"},
                {"product_id": "1", "name": "Чашка", "sku": null, "quantity": 3,
                 "unit_price": "0.10", "line_total": "0.30", "currency": "UAH", "image_url": null}
            ],
            "total": "2599.30",
            "currency": "UAH"
        })
    );

    // A retry carries the same body and key, and says it is a retry; a
    // receiver that answers without an id gets the key back as the id.
    server.set_hook(Reply::raw(200, "Workflow was started"));
    let again = plugin
        .create_lead_attempt(&order("tg-4242-17"), 2, 0)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(again.id, "tg-4242-17");
    let seen = server.seen("/hook");
    assert_eq!(seen[1].header("x-switchboard-attempt"), Some("2"));
    assert_eq!(seen[1].body, seen[0].body);

    // Feedback has no items and no total.
    let mut feedback = order("fb-1");
    feedback.kind = LeadKind::Feedback;
    plugin
        .create_lead(&feedback)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let body: Value =
        serde_json::from_slice(&server.seen("/hook")[2].body).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(body["kind"], "feedback");
    assert_eq!(body["items"], json!([]));
    assert_eq!(body["total"], Value::Null);
}

#[tokio::test]
async fn webhook_py_maps_every_http_failure() {
    let server = Server::start(Reply::json(200, &catalog_doc(1))).await;
    let rt = runtime();
    let mut settings = server.settings();
    settings.timeout = Duration::from_millis(2500);
    let plugin = plugin(&rt, &settings).await;
    let lead = order("k-1");

    server.set_hook(Reply::raw(500, "<html>boom</html>"));
    assert!(matches!(
        crm_error(plugin.create_lead(&lead).await),
        CrmError::Unavailable(m) if m.contains("HTTP 500") && m.contains("boom")
    ));

    server.set_hook(Reply::raw(429, "").header("retry-after", "17"));
    assert_eq!(
        crm_error(plugin.create_lead(&lead).await),
        CrmError::RateLimited(17)
    );

    server.set_hook(Reply::json(401, &json!({"error": "bad token"})));
    assert!(matches!(
        crm_error(plugin.create_lead(&lead).await),
        CrmError::Unauthorized(m) if m.contains("bad token")
    ));

    server.set_hook(Reply::json(
        422,
        &json!({"message": "phone is required", "errors": {"phone": ["required"]}}),
    ));
    assert!(matches!(
        crm_error(plugin.create_lead(&lead).await),
        CrmError::InvalidRequest(m) if m.contains("HTTP 422") && m.contains("phone is required")
    ));

    server.set_catalog(Reply::raw(200, r#"{"products": [{"id": "#));
    assert!(matches!(
        crm_error(plugin.list_products(None, 10).await),
        CrmError::Unavailable(m) if m.contains("malformed JSON")
    ));

    // Slower than the call's deadline: the host cuts the HTTP exchange a
    // little before it, so the plugin still answers, with `unavailable`.
    server.set_catalog(Reply::json(200, &catalog_doc(1)).after(Duration::from_secs(6)));
    let started = Instant::now();
    let result = plugin.list_products(None, 10).await;
    let took = started.elapsed();
    assert!(
        matches!(&result, Err(CallError::Crm { error: CrmError::Unavailable(m), .. }) if m.contains("timed out")),
        "{result:?}"
    );
    assert!(took < Duration::from_millis(3000), "{took:?}");

    // No error text carries the URLs (a webhook URL often embeds a secret).
    server.set_hook(Reply::raw(503, ""));
    let message = format!("{:?}", crm_error(plugin.create_lead(&lead).await));
    assert!(!message.contains(&server.addr.to_string()), "{message}");
}

#[tokio::test]
async fn webhook_py_reaches_nothing_with_the_manifests_empty_allow_list() {
    let server = Server::start(Reply::json(200, &catalog_doc(1))).await;
    let rt = runtime();
    let mut settings = server.settings();
    // The manifest ships `allowed_hosts = []`: until the operator sets the
    // list, every request is refused by the sandbox, loopback included.
    settings.allowed_hosts = None;
    let plugin = plugin(&rt, &settings).await;
    assert!(matches!(
        crm_error(plugin.list_products(None, 10).await),
        CrmError::Unauthorized(m) if m.contains("allowed_hosts")
    ));
    assert!(server.seen("/catalog.json").is_empty());
}

#[tokio::test]
async fn webhook_py_cost_of_a_python_component() {
    let server = Server::start(Reply::json(200, &catalog_doc(100))).await;
    let rt = runtime();
    let settings = server.settings();
    let plugin = plugin(&rt, &settings).await;
    let first_load = FIRST_LOAD.get().copied().unwrap_or_default();
    let size = std::fs::metadata(dist("webhook.wasm"))
        .map(|m| m.len())
        .unwrap_or_default();

    let started = Instant::now();
    let cached = load(&rt, &settings).await;
    let cached_load = started.elapsed();
    drop(cached);

    const N: u32 = 20;
    let started = Instant::now();
    for _ in 0..N {
        plugin.call_info().await.unwrap_or_else(|e| panic!("{e}"));
    }
    let info_call = started.elapsed() / N;
    let started = Instant::now();
    for _ in 0..N {
        plugin
            .list_products(None, 50)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let list_call = started.elapsed() / N;
    eprintln!(
        "webhook.wasm: {size} bytes; first load (compile, uncached) {first_load:?}; \
         load from cache {cached_load:?}; per call (instantiate + call): info {info_call:?}, \
         list-products of a 100-product catalog over loopback {list_call:?}"
    );
    // Figures, not assertions: speed belongs in benchmarks. First load 0 s
    // means another test compiled the component first.
}

#[tokio::test]
async fn webhook_py_sees_no_files_env_or_sockets() {
    // The probe is built by the same componentize-py against the same world
    // and asks CPython itself what it can reach (plugins/webhook-py/probe).
    let mut settings = PluginSettings::new("webhook-probe", dist("test/webhook-probe.wasm"));
    settings.timeout = Duration::from_secs(5);
    let rt = runtime();
    // SAFETY: set before the plugin runs; no other thread of this test reads
    // the environment, and the value only has to not show up.
    unsafe { std::env::set_var("SWITCHBOARD_PY_PROBE_SECRET", "must-not-leak") };
    let plugin = load(&rt, &settings).await;
    let page = plugin
        .list_products(None, 1)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let text = page.items[0].description.clone().unwrap_or_default();
    eprintln!("what Python sees in the sandbox: {text}");
    assert!(!text.contains("must-not-leak"));
    let report: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    assert_eq!(report["environ"], json!([]), "{text}");
    for key in [
        "listdir_root",
        "listdir_cwd",
        "read_etc_passwd",
        "read_proc_environ",
        "write_tmp",
        "tcp_socket",
        "tcp_connect",
        "dns",
    ] {
        let outcome = report[key].as_str().unwrap_or_default();
        assert!(!outcome.starts_with("ok"), "{key}: {outcome}");
    }
}
