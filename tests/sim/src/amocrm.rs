//! A simulated amoCRM (Kommo) API v4 served on loopback.
//!
//! The server follows the official documentation:
//! - authorization with a long-lived token ("OAuth 2.0 with Access Token/ Long-lived
//!   token" in <https://developers.kommo.com/reference/getting-a-lead-by-its-id>) and the
//!   `application/problem+json` error shape of
//!   <https://kommo.com/developers/content/api_v4/errors> (HTTP 204 "no content" when a
//!   list or an entity is empty or missing; `validation-errors` on 400);
//! - the products list: <https://kommo.com/developers/content/api_v4/lists>
//!   (`GET /api/v4/catalogs`, `GET /api/v4/catalogs/{id}/elements`, `limit` at most 250);
//! - leads: <https://www.amocrm.ru/developers/content/crm_platform/leads-api> (list with
//!   `query`, which "searches the filled fields of the entity", and a lead by id) and
//!   <https://developers.kommo.com/reference/complex-leads> (`POST /api/v4/leads/complex`,
//!   at most 50 leads, one contact per lead, the `[{id, contact_id, company_id,
//!   request_id, merged}]` answer);
//! - notes: <https://kommo.com/developers/content/api_v4/events-and-notes> and
//!   <https://developers.kommo.com/reference/notes-types> (`common` with `params.text`);
//! - pipelines: <https://www.amocrm.ru/developers/content/crm_platform/leads_pipelines>
//!   (system statuses 142 "Успешно реализовано" and 143 "Закрыто и не реализовано" in every
//!   pipeline);
//! - the limit of 7 requests per second: <https://es-developers.kommo.com/docs/limitaciones>;
//! - status-change webhooks, sent as a form: <https://developers.kommo.com/docs/webhooks-general>.
//!
//! Two behaviours a client must cope with are reproduced on purpose. A list page that
//! has items always carries a `_links.next` link, even when it is the last page, and the
//! page after the last one is an empty **204**: a client stops on a short page (or on
//! 204), never on a missing `next`. And `GET /api/v4/leads/{id}` for a missing lead is
//! **204** with no body, not 404.
//!
//! Tests steer the server through [`AmoCrmSim`]: they inject [`Fault`]s, read the
//! [`RecordedRequest`]s, inspect created leads, contacts and notes, move leads between
//! statuses and build the webhook body amoCRM would send about it. Faults look like
//! amoCRM's: `ServerError` answers problem+json (502/504: nginx HTML), `RateLimited`
//! answers 429 problem+json with `Retry-After`, `MalformedJson` a cut-off HAL page and
//! `HugeBody` a valid page of catalog elements.
//!
//! # Layout
//! - `api`: routing, authentication, the rate limit, HAL paging and error bodies.
//! - `catalog`: the catalogs, their elements and [`AmoProduct`].
//! - `leads`: leads, contacts and notes: validation, storage, rendering and search.
//! - `pipelines`: the account's two pipelines and their statuses.
//! - `webhook`: [`AmoStatusChange`] and the form body of the status webhook.
//! - `faults`: how injected faults look in amoCRM.

mod api;
mod catalog;
mod faults;
mod leads;
mod pipelines;
mod webhook;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

pub use crate::fault::Fault;
pub use crate::record::RecordedRequest;
pub use catalog::{AmoProduct, PRODUCTS_CATALOG_ID};
pub use pipelines::{
    FIRST_STATUS_ID, LOST_STATUS_ID, MAIN_PIPELINE_ID, UNSORTED_STATUS_ID, WHOLESALE_PIPELINE_ID,
    WON_STATUS_ID,
};
pub use webhook::AmoStatusChange;

use crate::fault::FaultQueue;
use crate::rate_limit::RateLimiter;
use crate::server::Running;
use leads::LeadStore;

/// What a simulated amoCRM account contains and how strict it is.
#[derive(Debug, Clone, PartialEq)]
pub struct AmoCrmConfig {
    /// The only token accepted in `Authorization: Bearer <token>` (a long-lived token).
    pub token: String,
    /// The account subdomain, sent in webhooks as `account[subdomain]`.
    pub subdomain: String,
    /// The account id, in every entity as `account_id` and in webhooks as `account[id]`.
    pub account_id: i64,
    /// The elements of the products list ([`PRODUCTS_CATALOG_ID`]).
    pub products: Vec<AmoProduct>,
    /// When set, at most this many requests per second for the account; further requests
    /// get 429. Real amoCRM allows 7.
    pub rate_limit_per_second: Option<u32>,
    /// The id given to the first created lead; later leads count up from it.
    pub first_lead_id: i64,
}

impl Default for AmoCrmConfig {
    fn default() -> Self {
        Self {
            token: "amo-test-token".to_owned(),
            subdomain: "switchboard-test".to_owned(),
            account_id: 31_000_001,
            products: Vec::new(),
            rate_limit_per_second: None,
            first_lead_id: 20_000_001,
        }
    }
}

impl AmoCrmConfig {
    /// The default configuration with `products` products in the products list, named
    /// and priced like the KeyCRM simulator's catalog (for example
    /// `"Футболка бавовняна «Карпати»"` at 549 UAH, SKU `TS-0001`).
    pub fn with_catalog(products: usize) -> Self {
        Self {
            products: catalog::generate(products),
            ..Self::default()
        }
    }

    /// Real amoCRM's limit: 7 requests per second.
    pub fn with_real_rate_limit(mut self) -> Self {
        self.rate_limit_per_second = Some(7);
        self
    }
}

/// A running simulated amoCRM server; dropping it or calling [`AmoCrmSim::shutdown`] stops it.
#[derive(Debug)]
pub struct AmoCrmSim {
    server: Running,
    shared: Arc<Shared>,
}

impl AmoCrmSim {
    /// Starts a server on `127.0.0.1` with a port chosen by the operating system.
    pub async fn start(config: AmoCrmConfig) -> std::io::Result<Self> {
        Self::start_on(config, SocketAddr::from(([127, 0, 0, 1], 0))).await
    }

    /// Starts a server on `addr`.
    pub async fn start_on(config: AmoCrmConfig, addr: SocketAddr) -> std::io::Result<Self> {
        let (server, shared) = Running::start(addr, |addr| Shared::new(config, addr)).await?;
        Ok(Self { server, shared })
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// The account URL, for example `http://127.0.0.1:40123`; the API is under `/api/v4`.
    pub fn base_url(&self) -> String {
        self.shared.origin.clone()
    }

    /// Applies `fault` to the next `times` requests (`None`: until [`clear_faults`](Self::clear_faults)).
    ///
    /// Faults are kept in the order they were injected; each request takes the first one
    /// that matches it. `Some(0)` injects nothing.
    pub fn inject(&self, fault: Fault, times: Option<u32>) {
        self.shared.lock().faults.push(None, fault, times);
    }

    /// Like [`inject`](Self::inject), but only for requests whose path after `/api/v4`
    /// starts with `path_prefix` (for example `"/leads/complex"`; `"/api/v4/leads/complex"`
    /// is understood too).
    pub fn inject_for(&self, path_prefix: &str, fault: Fault, times: Option<u32>) {
        self.shared
            .lock()
            .faults
            .push(Some(path_prefix.to_owned()), fault, times);
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

    /// Every created lead as `GET /api/v4/leads/{id}?with=contacts` renders it, in
    /// creation order.
    pub fn leads(&self) -> Vec<serde_json::Value> {
        let state = self.shared.lock();
        state.leads.all_leads_json(&self.shared.ctx())
    }

    /// Every created contact: `id`, `name`, `first_name`, `last_name`,
    /// `custom_fields_values` (with `field_code` `PHONE`/`EMAIL`) and `created_at`.
    pub fn contacts(&self) -> Vec<serde_json::Value> {
        let state = self.shared.lock();
        state.leads.all_contacts_json(&self.shared.ctx())
    }

    /// Every created note as `GET /api/v4/leads/{id}/notes` renders it (`entity_id`,
    /// `note_type`, `params`…), in creation order.
    pub fn notes(&self) -> Vec<serde_json::Value> {
        let state = self.shared.lock();
        state.leads.all_notes_json(&self.shared.ctx())
    }

    /// Moves lead `lead_id` to status `status_id`, as a manager would in the amoCRM UI.
    ///
    /// The system statuses 142 (won) and 143 (lost) keep the lead in its pipeline and
    /// close it; any other status moves the lead to that status's pipeline. Returns the
    /// change (for [`status_webhook_body`](Self::status_webhook_body)), or `None` if the
    /// lead or the status does not exist.
    pub fn set_lead_status(&self, lead_id: i64, status_id: i64) -> Option<AmoStatusChange> {
        self.shared.lock().leads.set_status(lead_id, status_id)
    }

    /// The `application/x-www-form-urlencoded` body amoCRM POSTs to a webhook subscribed
    /// to "lead status changed" for `changes`, with this account's `account[id]` and
    /// `account[subdomain]`.
    pub fn status_webhook_body(&self, changes: &[AmoStatusChange]) -> String {
        webhook::status_body(changes, self.shared.account_id, &self.shared.subdomain)
    }

    /// Stops accepting connections, closes the open ones and waits for the server task.
    pub async fn shutdown(self) {
        self.server.shutdown().await;
    }
}

/// State shared by the server tasks and the [`AmoCrmSim`] handle.
#[derive(Debug)]
struct Shared {
    /// `http://127.0.0.1:PORT`, used in every `_links` URL.
    origin: String,
    token: String,
    subdomain: String,
    account_id: i64,
    products: Vec<AmoProduct>,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    requests: Vec<RecordedRequest>,
    faults: FaultQueue,
    leads: LeadStore,
    limiter: Option<RateLimiter>,
}

/// What rendering needs to know about the account.
#[derive(Debug, Clone, Copy)]
struct Ctx<'a> {
    origin: &'a str,
    account_id: i64,
}

impl Shared {
    fn new(config: AmoCrmConfig, addr: SocketAddr) -> Self {
        let mut products = config.products;
        products.sort_by_key(|p| p.id);
        Self {
            origin: format!("http://{addr}"),
            token: config.token,
            subdomain: config.subdomain,
            account_id: config.account_id,
            products,
            state: Mutex::new(State {
                requests: Vec::new(),
                faults: FaultQueue::default(),
                leads: LeadStore::new(config.first_lead_id),
                limiter: config
                    .rate_limit_per_second
                    .map(|limit| RateLimiter::new(limit, Duration::from_secs(1))),
            }),
        }
    }

    fn ctx(&self) -> Ctx<'_> {
        Ctx {
            origin: &self.origin,
            account_id: self.account_id,
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
        let api_path = api::api_path(path).unwrap_or(path);
        state
            .faults
            .take(|prefix| api_path.starts_with(prefix) || path.starts_with(prefix))
    }
}
