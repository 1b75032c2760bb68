//! The `switchboard:crm@0.1.0` world: its host bindings and the conversions
//! between its types and the host's own (`switchboard-crm`).
//!
//! This module is frozen with the WIT package it binds (`wit/since_v0.1.0`).
//! A new contract version is a sibling module with its own `bindgen!` and
//! conversions, and a variant of [`crate::contract::Guest`]; nothing outside
//! this crate sees the generated types.

use wasmtime::Store;

use crate::sandbox::PluginState;
use switchboard_crm as domain;

wasmtime::component::bindgen!({
    path: "../../wit/since_v0.1.0",
    world: "crm",
    exports: { default: async },
    additional_derives: [PartialEq, Eq],
    with: {
        "wasi:http": wasmtime_wasi_http::p2::bindings::http,
        "wasi:io": wasmtime_wasi::p2::bindings::io,
        "wasi:clocks": wasmtime_wasi::p2::bindings::clocks,
    },
});

use switchboard::crm::types as wit;

/// The oldest package version this module serves.
pub const MIN: semver::Version = semver::Version::new(0, 1, 0);
/// The newest package version this module serves: components built against
/// any `0.1.x` up to this one load through it.
pub const MAX: semver::Version = semver::Version::new(0, 1, u64::MAX);
/// The exported interface, as named in a component of this version.
pub const INTERFACE: &str = "switchboard:crm/plugin@0.1.0";

/// What a call returns: a trap (outer) or the plugin's own answer (inner).
pub(crate) type Answer<T> = wasmtime::Result<Result<T, domain::CrmError>>;

fn answer<W, T: From<W>>(result: wasmtime::Result<Result<W, wit::CrmError>>) -> Answer<T> {
    result.map(|inner| inner.map(T::from).map_err(domain::CrmError::from))
}

/// The calls of this version, in the host's types.
impl Crm {
    pub(crate) async fn info(
        &self,
        store: &mut Store<PluginState>,
    ) -> wasmtime::Result<domain::PluginInfo> {
        self.switchboard_crm_plugin()
            .call_info(store)
            .await
            .map(domain::PluginInfo::from)
    }

    pub(crate) async fn list_products(
        &self,
        store: &mut Store<PluginState>,
        cursor: Option<&str>,
        limit: u32,
    ) -> Answer<domain::ProductPage> {
        answer(
            self.switchboard_crm_plugin()
                .call_list_products(store, cursor, limit)
                .await,
        )
    }

    pub(crate) async fn get_product(
        &self,
        store: &mut Store<PluginState>,
        id: &str,
    ) -> Answer<domain::Product> {
        answer(
            self.switchboard_crm_plugin()
                .call_get_product(store, id)
                .await,
        )
    }

    pub(crate) async fn create_lead(
        &self,
        store: &mut Store<PluginState>,
        lead: &domain::Lead,
    ) -> Answer<domain::LeadRef> {
        let lead = wit::Lead::from(lead);
        answer(
            self.switchboard_crm_plugin()
                .call_create_lead(store, &lead)
                .await,
        )
    }

    pub(crate) async fn lead_status(
        &self,
        store: &mut Store<PluginState>,
        id: &str,
    ) -> Answer<domain::PipelineStatus> {
        answer(
            self.switchboard_crm_plugin()
                .call_lead_status(store, id)
                .await,
        )
    }

    pub(crate) async fn handle_webhook(
        &self,
        store: &mut Store<PluginState>,
        headers: &[(String, String)],
        body: &[u8],
    ) -> Answer<Vec<domain::StatusEvent>> {
        self.switchboard_crm_plugin()
            .call_handle_webhook(store, headers, body)
            .await
            .map(|inner| {
                inner
                    .map(|events| events.into_iter().map(domain::StatusEvent::from).collect())
                    .map_err(domain::CrmError::from)
            })
    }
}

impl From<wit::Money> for domain::Money {
    fn from(m: wit::Money) -> Self {
        Self {
            minor_units: m.minor_units,
            scale: m.scale,
            currency: m.currency,
        }
    }
}

impl From<&domain::Money> for wit::Money {
    fn from(m: &domain::Money) -> Self {
        Self {
            minor_units: m.minor_units,
            scale: m.scale,
            currency: m.currency.clone(),
        }
    }
}

impl From<wit::Product> for domain::Product {
    fn from(p: wit::Product) -> Self {
        Self {
            id: p.id,
            name: p.name,
            variant_name: p.variant_name,
            sku: p.sku,
            price: p.price.into(),
            description: p.description,
            image_url: p.image_url,
            stock: p.stock,
        }
    }
}

impl From<wit::ProductPage> for domain::ProductPage {
    fn from(p: wit::ProductPage) -> Self {
        Self {
            items: p.items.into_iter().map(domain::Product::from).collect(),
            next_cursor: p.next_cursor,
            total: p.total,
        }
    }
}

impl From<&domain::Lead> for wit::Lead {
    fn from(l: &domain::Lead) -> Self {
        let kind = match &l.kind {
            domain::LeadKind::Order(items) => wit::LeadKind::Order(
                items
                    .iter()
                    .map(|i| wit::LineItem {
                        product_id: i.product_id.clone(),
                        name: i.name.clone(),
                        sku: i.sku.clone(),
                        quantity: i.quantity,
                        unit_price: (&i.unit_price).into(),
                        image_url: i.image_url.clone(),
                    })
                    .collect(),
            ),
            domain::LeadKind::Feedback => wit::LeadKind::Feedback,
            domain::LeadKind::Question => wit::LeadKind::Question,
        };
        let c = &l.contact;
        Self {
            idempotency_key: l.idempotency_key.clone(),
            kind,
            contact: wit::Contact {
                full_name: c.full_name.clone(),
                phone: c.phone.clone(),
                email: c.email.clone(),
                telegram_user_id: c.telegram_user_id,
                telegram_username: c.telegram_username.clone(),
            },
            title: l.title.clone(),
            comment: l.comment.clone(),
            source: l.source.clone(),
        }
    }
}

impl From<wit::LeadRef> for domain::LeadRef {
    fn from(r: wit::LeadRef) -> Self {
        Self {
            id: r.id,
            url: r.url,
        }
    }
}

impl From<wit::PipelineStatus> for domain::PipelineStatus {
    fn from(s: wit::PipelineStatus) -> Self {
        Self {
            id: s.id,
            name: s.name,
            is_final: s.is_final,
        }
    }
}

impl From<wit::StatusEvent> for domain::StatusEvent {
    fn from(e: wit::StatusEvent) -> Self {
        Self {
            lead_id: e.lead_id,
            status: e.status.into(),
        }
    }
}

/// A plugin's error enters the host bounded: see [`domain::CrmError::bounded`].
impl From<wit::CrmError> for domain::CrmError {
    fn from(e: wit::CrmError) -> Self {
        match e {
            wit::CrmError::Unauthorized(m) => Self::Unauthorized(m),
            wit::CrmError::RateLimited(s) => Self::RateLimited(s),
            wit::CrmError::Unavailable(m) => Self::Unavailable(m),
            wit::CrmError::InvalidRequest(m) => Self::InvalidRequest(m),
            wit::CrmError::NotFound(m) => Self::NotFound(m),
            wit::CrmError::Unsupported(m) => Self::Unsupported(m),
        }
        .bounded()
    }
}

impl From<wit::Operations> for domain::Operations {
    fn from(ops: wit::Operations) -> Self {
        let mut out = Self::empty();
        for (theirs, ours) in [
            (wit::Operations::GET_PRODUCT, Self::GET_PRODUCT),
            (wit::Operations::LEAD_STATUS, Self::LEAD_STATUS),
            (wit::Operations::HANDLE_WEBHOOK, Self::HANDLE_WEBHOOK),
            (wit::Operations::IDEMPOTENT_CREATE, Self::IDEMPOTENT_CREATE),
        ] {
            if ops.contains(theirs) {
                out |= ours;
            }
        }
        out
    }
}

impl From<wit::PluginInfo> for domain::PluginInfo {
    fn from(i: wit::PluginInfo) -> Self {
        Self {
            id: i.id,
            name: i.name,
            version: i.version,
            operations: i.operations.into(),
        }
    }
}
