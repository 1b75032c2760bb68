//! A simulated Bitrix24 REST API with incoming-webhook authentication, served on loopback.
//!
//! The server follows the official documentation in the `bitrix24/b24restdocs`
//! repository (paths below are in it):
//! - calls, parameters and the `.json` suffix: `settings/how-to-call-rest-api/general-principles.md`
//!   and `settings/how-to-call-rest-api/data-encoding.md` (GET or POST, JSON or form bodies,
//!   nested keys such as `fields[TITLE]`);
//! - errors: `_includes/error-info.md` and `_includes/system-errors.md` (`{"error",
//!   "error_description"}`; 503 `QUERY_LIMIT_EXCEEDED`), and
//!   `api-reference/crm/universal/import/crm-item-import.md` for the 401
//!   `INVALID_CREDENTIALS` of a wrong user id or code in the webhook path;
//! - the rate limit: `limits.md` (a leaky bucket: 50 requests, draining 2 per second);
//! - list methods: `api-reference/crm/leads/crm-lead-list.md` (filter prefixes, `select`,
//!   `order`, `start` with fixed pages of 50, `next` only while more records follow,
//!   `total`);
//! - leads: `api-reference/crm/leads/crm-lead-add.md` (fields, `STATUS_ID`, `SOURCE_ID`,
//!   multiple fields; the result is the new id as an integer) and `crm-lead-get.md` (the
//!   record, and 400 `{"error":"","error_description":"Not found"}` for a missing id);
//! - products: `api-reference/crm/outdated/products/crm-product-list.md`,
//!   `crm-product-get.md` and `crm-product-fields.md`;
//! - statuses: `api-reference/crm/status/crm-status-list.md`;
//! - the `ONCRMLEADUPDATE` event: `api-reference/crm/leads/events/on-crm-lead-update.md`.
//!
//! Tests steer the server through [`Bitrix24Sim`]: they inject [`Fault`]s (per method
//! name), read the [`RecordedRequest`]s, inspect created leads, move leads between
//! statuses and build the event body Bitrix24 would POST about it. Faults look like
//! Bitrix24's: `ServerError(500)` answers `INTERNAL_SERVER_ERROR` (503: `OVERLOAD_LIMIT`;
//! 502/504: nginx HTML), `RateLimited` answers 503 `QUERY_LIMIT_EXCEEDED` with
//! `Retry-After`, `MalformedJson` a cut-off `crm.product.list` answer and `HugeBody` a
//! valid one.
//!
//! Left out: `batch`, OAuth (`auth=` tokens), multipart bodies, `catalog.product.list`,
//! and writes other than `crm.lead.add`.
//!
//! # Layout
//! - `api`: routing, webhook authentication, parameters, the rate limit and the methods.
//! - `list`: `filter`, `select`, `order` and `start` of the `*.list` methods.
//! - `leads`: `crm.lead.add` validation, stored leads, lead statuses and sources.
//! - `products`: [`Bitrix24Product`] and its record.
//! - `limit`: [`Bitrix24RateLimit`] and the leaky bucket.
//! - `event`: the `ONCRMLEADUPDATE` form body.
//! - `faults`: how injected faults look in Bitrix24.

mod api;
mod event;
mod faults;
mod leads;
mod limit;
mod list;
mod products;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

pub use crate::fault::Fault;
pub use crate::record::RecordedRequest;
pub use limit::Bitrix24RateLimit;
pub use products::Bitrix24Product;

use crate::fault::FaultQueue;
use crate::server::Running;
use leads::LeadStore;
use limit::LeakyBucket;

/// What a simulated Bitrix24 portal contains and how strict it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bitrix24Config {
    /// The user the incoming webhook belongs to: the `{user_id}` of `/rest/{user_id}/{code}/`.
    pub user_id: u64,
    /// The webhook's secret: the `{code}` of `/rest/{user_id}/{code}/`.
    pub webhook_code: String,
    /// The portal domain, sent in events as `auth[domain]`.
    pub domain: String,
    /// The portal's `member_id`, sent in events.
    pub member_id: String,
    /// The outgoing webhook's `application_token`, sent in events so handlers can check them.
    pub application_token: String,
    /// The `event_handler_id` sent in events.
    pub event_handler_id: u32,
    /// The products served by `crm.product.list` and `crm.product.get`.
    pub products: Vec<Bitrix24Product>,
    /// When set, requests over the leaky bucket get 503 `QUERY_LIMIT_EXCEEDED`;
    /// [`Bitrix24RateLimit::STANDARD`] is the real limit of most plans.
    pub rate_limit: Option<Bitrix24RateLimit>,
    /// The id given to the first created lead; later leads count up from it.
    pub first_lead_id: i64,
}

impl Default for Bitrix24Config {
    fn default() -> Self {
        Self {
            user_id: 1,
            webhook_code: "sim0webhook0code".to_owned(),
            domain: "switchboard-test.bitrix24.ua".to_owned(),
            member_id: "a223c6b3710f85df22e9377d6c4f7553".to_owned(),
            application_token: "51856fefc120afa4b628cc82d3935cce".to_owned(),
            event_handler_id: 17,
            products: Vec::new(),
            rate_limit: None,
            first_lead_id: 1,
        }
    }
}

impl Bitrix24Config {
    /// The default configuration with `products` products named and priced like the
    /// KeyCRM simulator's catalog (for example `"Футболка бавовняна «Карпати»"`,
    /// `PRICE` `"549.00"`, `CURRENCY_ID` `"UAH"`, `XML_ID` `"TS-0001"`).
    pub fn with_catalog(products: usize) -> Self {
        Self {
            products: products::generate(products),
            ..Self::default()
        }
    }
}

/// A running simulated Bitrix24 portal; dropping it or calling [`Bitrix24Sim::shutdown`] stops it.
#[derive(Debug)]
pub struct Bitrix24Sim {
    server: Running,
    shared: Arc<Shared>,
}

impl Bitrix24Sim {
    /// Starts a server on `127.0.0.1` with a port chosen by the operating system.
    pub async fn start(config: Bitrix24Config) -> std::io::Result<Self> {
        Self::start_on(config, SocketAddr::from(([127, 0, 0, 1], 0))).await
    }

    /// Starts a server on `addr`.
    pub async fn start_on(config: Bitrix24Config, addr: SocketAddr) -> std::io::Result<Self> {
        let (server, shared) = Running::start(addr, |addr| Shared::new(config, addr)).await?;
        Ok(Self { server, shared })
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// The portal URL, for example `http://127.0.0.1:40123`.
    pub fn base_url(&self) -> String {
        self.shared.origin.clone()
    }

    /// The incoming webhook URL, ending in `/`: append a method name such as
    /// `crm.lead.add.json`.
    pub fn webhook_url(&self) -> String {
        format!(
            "{}/rest/{}/{}/",
            self.shared.origin, self.shared.user_id, self.shared.webhook_code
        )
    }

    /// Applies `fault` to the next `times` requests (`None`: until [`clear_faults`](Self::clear_faults)).
    ///
    /// Faults are kept in the order they were injected; each request takes the first one
    /// that matches it. `Some(0)` injects nothing.
    pub fn inject(&self, fault: Fault, times: Option<u32>) {
        self.shared.lock().faults.push(None, fault, times);
    }

    /// Like [`inject`](Self::inject), but only for calls of methods whose name starts
    /// with `method_prefix` (for example `"crm.lead.add"`, or `"crm.lead."` for all lead
    /// methods). A prefix starting with `/` is matched against the request path instead.
    pub fn inject_for(&self, method_prefix: &str, fault: Fault, times: Option<u32>) {
        self.shared
            .lock()
            .faults
            .push(Some(method_prefix.to_owned()), fault, times);
    }

    /// Removes every injected fault.
    pub fn clear_faults(&self) {
        self.shared.lock().faults.clear();
    }

    /// Every request received so far, in arrival order, including faulted ones.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.lock().requests.clone()
    }

    /// Forgets the recorded requests.
    pub fn clear_requests(&self) {
        self.shared.lock().requests.clear();
    }

    /// Every created lead as `crm.lead.get` renders it, in creation order.
    pub fn leads(&self) -> Vec<serde_json::Value> {
        self.shared
            .lock()
            .leads
            .all()
            .iter()
            .map(|lead| serde_json::Value::Object(lead.clone()))
            .collect()
    }

    /// Moves lead `lead_id` to `status_id` (`NEW`, `IN_PROCESS`, `PROCESSED`, `JUNK` or
    /// `CONVERTED`), as a manager would. Returns `false` if the lead or status is unknown.
    pub fn set_lead_status(&self, lead_id: i64, status_id: &str) -> bool {
        self.shared.lock().leads.set_status(lead_id, status_id)
    }

    /// The `application/x-www-form-urlencoded` body of the `ONCRMLEADUPDATE` event
    /// Bitrix24 POSTs to an outgoing webhook when lead `lead_id` changes: `event`,
    /// `event_handler_id`, `data[FIELDS][ID]`, `ts` (now) and `auth[domain]`,
    /// `auth[client_endpoint]`, `auth[server_endpoint]`, `auth[member_id]`,
    /// `auth[application_token]` from the config.
    pub fn lead_update_event(&self, lead_id: i64) -> String {
        let shared = &self.shared;
        let sender = event::Sender {
            domain: &shared.domain,
            member_id: &shared.member_id,
            application_token: &shared.application_token,
            event_handler_id: shared.event_handler_id,
        };
        event::lead_update(&sender, lead_id, crate::clock::unix_now())
    }

    /// Stops accepting connections, closes the open ones and waits for the server task.
    pub async fn shutdown(self) {
        self.server.shutdown().await;
    }
}

/// State shared by the server tasks and the [`Bitrix24Sim`] handle.
#[derive(Debug)]
struct Shared {
    origin: String,
    user_id: u64,
    webhook_code: String,
    domain: String,
    member_id: String,
    application_token: String,
    event_handler_id: u32,
    products: Vec<Bitrix24Product>,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    requests: Vec<RecordedRequest>,
    faults: FaultQueue,
    leads: LeadStore,
    bucket: Option<LeakyBucket>,
}

impl Shared {
    fn new(config: Bitrix24Config, addr: SocketAddr) -> Self {
        let mut products = config.products;
        products.sort_by_key(|p| p.id);
        Self {
            origin: format!("http://{addr}"),
            user_id: config.user_id,
            webhook_code: config.webhook_code,
            domain: config.domain,
            member_id: config.member_id,
            application_token: config.application_token,
            event_handler_id: config.event_handler_id,
            products,
            state: Mutex::new(State {
                requests: Vec::new(),
                faults: FaultQueue::default(),
                leads: LeadStore::new(config.first_lead_id),
                bucket: config.rate_limit.map(LeakyBucket::new),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the state half-updated in a way
        // that matters to a test double, so keep serving.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Records an arriving request and takes the fault that applies to it, if any.
    fn arrive(&self, request: &RecordedRequest) -> Option<Fault> {
        let mut state = self.lock();
        state.requests.push(request.clone());
        let path = request.path.as_str();
        let method = api::parse_path(path)
            .map(|call| call.method)
            .unwrap_or_default();
        state.faults.take(|prefix| {
            if prefix.starts_with('/') {
                path.starts_with(prefix)
            } else {
                method.starts_with(prefix)
            }
        })
    }
}
