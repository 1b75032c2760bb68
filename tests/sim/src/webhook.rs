//! A generic JSON webhook "CRM", as an automation tool (Zapier, n8n, Make)
//! or a business's own endpoint would offer it, for the `webhook` plugin
//! (`plugins/webhook-py`, format in `docs/plugins.md`):
//!
//! - `GET /catalog.json`: `{"products": [{"id", "name", "price": "1299.50",
//!   "sku", "description", "in_stock"}]}`;
//! - `POST /leads`: a lead document (`switchboard.lead.v1`), answered
//!   `201 {"id": "wh-N"}`. A repeated `Idempotency-Key` header gets the first
//!   lead's id back without storing it again, as the docs ask receivers to.
//!
//! Both ask for `Authorization: Bearer <token>` when a token is configured.
//! Faults render as a generic JSON API would: `{"error": "…"}` bodies, 429
//! with `Retry-After`.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::{Value, json};

pub use crate::fault::Fault;
pub use crate::record::RecordedRequest;

use crate::fault::FaultQueue;
use crate::keycrm::catalog::generate_products_only;
use crate::reply::Reply;
use crate::server::{Backend, Running};

/// How the simulated webhook behaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookConfig {
    /// The bearer token both endpoints require; `None`: no authentication.
    pub token: Option<String>,
    /// How many products the catalog document lists.
    pub products: usize,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        Self {
            token: Some("webhook-test-token".into()),
            products: 10,
        }
    }
}

impl WebhookConfig {
    /// A catalog of `products` generated products (Ukrainian names, UAH).
    pub fn with_catalog(products: usize) -> Self {
        Self {
            products,
            ..Self::default()
        }
    }
}

#[derive(Default)]
struct State {
    faults: FaultQueue,
    requests: Vec<RecordedRequest>,
    leads: Vec<Value>,
    by_key: HashMap<String, String>,
}

struct Shared {
    token: Option<String>,
    catalog: Value,
    state: Mutex<State>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn error(status: u16, message: &str) -> Reply {
    Reply::json(status, &json!({ "error": message }))
}

impl Backend for Shared {
    const NAME: &'static str = "webhook sim";

    fn arrive(&self, request: &RecordedRequest) -> Option<Fault> {
        let mut state = self.lock();
        state.requests.push(request.clone());
        state.faults.take(|prefix| request.path.starts_with(prefix))
    }

    fn handle(&self, request: &RecordedRequest) -> Reply {
        if let Some(token) = &self.token {
            let given = request.header("authorization").unwrap_or_default();
            if given != format!("Bearer {token}") {
                return error(401, "a valid bearer token is required");
            }
        }
        match (request.method.as_str(), request.path.as_str()) {
            ("GET", "/catalog.json") => Reply::json(200, &self.catalog),
            ("POST", "/leads") => {
                let Some(lead) = request.json().filter(Value::is_object) else {
                    return error(400, "the body must be a JSON object");
                };
                if lead["idempotency_key"].as_str().is_none_or(str::is_empty) {
                    return error(422, "idempotency_key is required");
                }
                let key = request
                    .header("idempotency-key")
                    .unwrap_or_default()
                    .to_string();
                let mut state = self.lock();
                if let Some(id) = state.by_key.get(&key) {
                    return Reply::json(200, &json!({ "id": id, "duplicate": true }));
                }
                let id = format!("wh-{}", state.leads.len() + 1);
                state.leads.push(lead);
                if !key.is_empty() {
                    state.by_key.insert(key, id.clone());
                }
                Reply::json(201, &json!({ "id": id }))
            }
            (_, "/catalog.json" | "/leads") => error(405, "method not allowed"),
            _ => error(404, "not found"),
        }
    }

    fn fault_reply(&self, fault: &Fault) -> Reply {
        match fault {
            Fault::ServerError(status) => error(*status, "internal error"),
            Fault::RateLimited { retry_after_secs } => {
                let mut reply = error(429, "too many requests");
                reply
                    .headers
                    .push(("retry-after".into(), retry_after_secs.to_string()));
                reply
            }
            Fault::MalformedJson => Reply::raw(
                200,
                "application/json",
                b"{\"products\": [{\"id\": 1, \"na".to_vec(),
            ),
            Fault::HugeBody(bytes) => {
                let filler = "x".repeat(*bytes);
                Reply::json(200, &json!({ "products": [], "padding": filler }))
            }
            // Handled by the server loop before this is asked.
            Fault::Slow(_) | Fault::DropConnection | Fault::ApplyThenDrop => {
                error(500, "internal error")
            }
        }
    }

    fn too_large(&self) -> Reply {
        error(413, "payload too large")
    }
}

/// A running webhook simulator.
pub struct WebhookSim {
    running: Running,
    shared: Arc<Shared>,
}

impl WebhookSim {
    /// Starts on a free loopback port.
    pub async fn start(config: WebhookConfig) -> std::io::Result<Self> {
        Self::start_on(config, SocketAddr::from(([127, 0, 0, 1], 0))).await
    }

    /// Starts on `addr`.
    pub async fn start_on(config: WebhookConfig, addr: SocketAddr) -> std::io::Result<Self> {
        let products: Vec<Value> = generate_products_only(config.products)
            .into_iter()
            .map(|p| {
                json!({
                    "id": p.id.to_string(),
                    "name": p.name,
                    "price": format!("{}.{:02}", p.price_kopecks / 100, p.price_kopecks % 100),
                    "sku": p.sku,
                    "description": p.description,
                    "in_stock": p.quantity,
                })
            })
            .collect();
        let shared = Shared {
            token: config.token,
            catalog: json!({ "products": products }),
            state: Mutex::new(State::default()),
        };
        let (running, shared) = Running::start(addr, move |_| shared).await?;
        Ok(Self { running, shared })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.running.addr()
    }

    /// The catalog document's URL.
    pub fn catalog_url(&self) -> String {
        format!("http://{}/catalog.json", self.addr())
    }

    /// The URL leads are posted to.
    pub fn lead_url(&self) -> String {
        format!("http://{}/leads", self.addr())
    }

    /// The `Authorization` header value it wants, if any.
    pub fn auth_header(&self) -> Option<String> {
        self.shared.token.as_ref().map(|t| format!("Bearer {t}"))
    }

    /// Injects a fault for the next `times` requests (`None`: until cleared).
    pub fn inject(&self, fault: Fault, times: Option<u32>) {
        self.shared.lock().faults.push(None, fault, times);
    }

    /// Injects a fault for requests whose path starts with `path_prefix`.
    pub fn inject_for(&self, path_prefix: &str, fault: Fault, times: Option<u32>) {
        self.shared
            .lock()
            .faults
            .push(Some(path_prefix.to_string()), fault, times);
    }

    /// Removes every injected fault.
    pub fn clear_faults(&self) {
        self.shared.lock().faults.clear();
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.lock().requests.clone()
    }

    /// The leads received, once each.
    pub fn leads(&self) -> Vec<Value> {
        self.shared.lock().leads.clone()
    }

    /// Stops the server.
    pub async fn shutdown(self) {
        self.running.shutdown().await;
    }
}
