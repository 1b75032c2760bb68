//! A simulated KeyCRM v1 HTTP API served on loopback.
//!
//! The server follows the shapes of the official OpenAPI description
//! (`https://openapi.keycrm.app/v1`): Bearer authentication, the paginated envelope,
//! Laravel-style validation errors, and the catalog and pipeline routes a shop bot uses.
//! Tests steer it through [`KeyCrmSim`]: they inject [`Fault`]s, read the
//! [`RecordedRequest`]s and inspect the cards the plugin created.
//!
//! # Layout
//! - `api`: routing, authentication, rate limiting and the catalog and pipeline endpoints.
//! - `cards`: pipeline cards: validation, storage and rendering.
//! - `catalog`: [`SimOffer`], [`SimProduct`] and the deterministic catalog generator
//!   (the amoCRM and Bitrix24 simulators seed their catalogs from it too).
//! - `faults`: how injected [`Fault`]s look in KeyCRM (Laravel and nginx bodies).
//! - `json`: the paginated envelope and Laravel's error replies.
//! - `pipelines`: the account's two pipelines and their statuses.
//!
//! The accept loop, [`Fault`], [`RecordedRequest`], the rate limiter and the clock are
//! shared with the other simulators and live at the crate root.

mod api;
mod cards;
pub(crate) mod catalog;
mod faults;
mod json;
mod pipelines;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

pub use crate::fault::Fault;
pub use crate::record::RecordedRequest;
pub use catalog::{SimOffer, SimProduct, SimProperty};

use crate::fault::FaultQueue;
use crate::rate_limit::RateLimiter;
use crate::server::Running;
// Re-bound here so the submodules reach them as `super::…`.
use crate::{clock, rate_limit, record};
use cards::CardStore;
use catalog::Catalog;

/// What a simulated KeyCRM account contains and how strict it is.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyCrmConfig {
    /// The only API key accepted in `Authorization: Bearer <key>`.
    pub api_key: String,
    /// The offers (product variants) served by `GET /offers`.
    pub offers: Vec<SimOffer>,
    /// The products served by `GET /products` and embedded by `include=product`.
    pub products: Vec<SimProduct>,
    /// The `source_id` values `POST /pipelines/cards` accepts.
    pub valid_source_ids: Vec<i64>,
    /// When set, at most this many requests per API key in any sliding 60-second window;
    /// further requests get 429 with `Retry-After`. Real KeyCRM allows 60.
    pub rate_limit_per_minute: Option<u32>,
    /// The id given to the first created pipeline card; later cards count up from it.
    pub first_card_id: i64,
}

impl Default for KeyCrmConfig {
    fn default() -> Self {
        Self {
            api_key: "test-key".to_owned(),
            offers: Vec::new(),
            products: Vec::new(),
            valid_source_ids: vec![1],
            rate_limit_per_minute: None,
            first_card_id: 1,
        }
    }
}

impl KeyCrmConfig {
    /// The default configuration with a deterministic catalog of exactly `offers` offers.
    ///
    /// Products have one to three variants each. A product is named
    /// `"<kind> «<collection>»"` (for example `"Футболка бавовняна «Карпати»"`); its variants
    /// differ by properties such as `Розмір`, `Колір` or `Об'єм`. A product with a single
    /// variant has `has_offers == false` and one offer with no properties whose SKU is the
    /// product's SKU. See [`SimProduct`] and [`SimOffer`] for every field.
    pub fn with_catalog(offers: usize) -> Self {
        let (offers, products) = catalog::generate_catalog(offers);
        Self {
            offers,
            products,
            ..Self::default()
        }
    }

    /// The default configuration with `products` products that have no variants
    /// (`has_offers == false`) and no offers at all, so `GET /offers` is empty.
    pub fn with_products_only(products: usize) -> Self {
        Self {
            products: catalog::generate_products_only(products),
            ..Self::default()
        }
    }
}

/// A running simulated KeyCRM server; dropping it or calling [`KeyCrmSim::shutdown`] stops it.
#[derive(Debug)]
pub struct KeyCrmSim {
    server: Running,
    shared: Arc<Shared>,
}

impl KeyCrmSim {
    /// Starts a server on `127.0.0.1` with a port chosen by the operating system.
    pub async fn start(config: KeyCrmConfig) -> std::io::Result<Self> {
        Self::start_on(config, SocketAddr::from(([127, 0, 0, 1], 0))).await
    }

    /// Starts a server on `addr`.
    pub async fn start_on(config: KeyCrmConfig, addr: SocketAddr) -> std::io::Result<Self> {
        let (server, shared) = Running::start(addr, |addr| Shared::new(config, addr)).await?;
        Ok(Self { server, shared })
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// The API base URL, for example `http://127.0.0.1:40123/v1`.
    pub fn base_url(&self) -> String {
        format!("{}/v1", self.shared.origin)
    }

    /// Applies `fault` to the next `times` requests (`None`: until [`clear_faults`](Self::clear_faults)).
    ///
    /// Faults are kept in the order they were injected; each request takes the first one
    /// that matches it. `Some(0)` injects nothing.
    pub fn inject(&self, fault: Fault, times: Option<u32>) {
        self.shared.lock().faults.push(None, fault, times);
    }

    /// Like [`inject`](Self::inject), but only for requests whose path after `/v1`
    /// starts with `path_prefix` (for example `"/pipelines/cards"`; `"/v1/pipelines/cards"`
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

    /// Every created card as stored: the full request body with the assigned fields
    /// (`id`, `title`, `pipeline_id`, `status_id`, `contact_id`, `client_id`, `source_id`,
    /// `created_at`, `updated_at`, `status_changed_at`) set on top.
    pub fn cards(&self) -> Vec<serde_json::Value> {
        self.shared.lock().cards.stored()
    }

    /// Moves card `card_id` to status `status_id` (possibly in another pipeline), as a
    /// manager would in the KeyCRM UI. Returns `false` if the card or status does not exist.
    pub fn set_card_status(&self, card_id: i64, status_id: i64) -> bool {
        self.shared.lock().cards.set_status(card_id, status_id)
    }

    /// Stops accepting connections, closes the open ones and waits for the server task.
    pub async fn shutdown(self) {
        self.server.shutdown().await;
    }
}

/// State shared by the server tasks and the [`KeyCrmSim`] handle.
#[derive(Debug)]
struct Shared {
    /// `http://127.0.0.1:PORT`, used for the pagination URLs.
    origin: String,
    api_key: String,
    catalog: Catalog,
    valid_source_ids: Vec<i64>,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    requests: Vec<RecordedRequest>,
    faults: FaultQueue,
    cards: CardStore,
    limiter: Option<RateLimiter>,
}

impl Shared {
    fn new(config: KeyCrmConfig, addr: SocketAddr) -> Self {
        Self {
            origin: format!("http://{addr}"),
            api_key: config.api_key,
            catalog: Catalog::new(config.offers, config.products),
            valid_source_ids: config.valid_source_ids,
            state: Mutex::new(State {
                requests: Vec::new(),
                faults: FaultQueue::default(),
                cards: CardStore::new(config.first_card_id),
                limiter: config.rate_limit_per_minute.map(RateLimiter::per_minute),
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
        let api_path = api_path(path);
        // A prefix matches the path after `/v1`, or the full path when it starts with `/v1/`.
        state.faults.take(|prefix| {
            api_path.starts_with(prefix) || (prefix.starts_with("/v1/") && path.starts_with(prefix))
        })
    }
}

/// The part of `path` after the `/v1` prefix, or all of it outside `/v1`.
fn api_path(path: &str) -> &str {
    match path.strip_prefix("/v1") {
        Some(rest) if rest.is_empty() || rest.starts_with('/') => rest,
        _ => path,
    }
}
