//! # amoCRM (Kommo) plugin
//!
//! Talks to API v4 with a long-lived token. Reads the catalog from the
//! account's products list, writes leads with their contact in one
//! `POST /api/v4/leads/complex` and the order lines as a note, reports lead
//! statuses and decodes the status-change webhook.
//!
//! # Layout
//! - `api`: the authenticated HTTP client and its configuration.
//! - `problem`: amoCRM's error bodies → `crm-error`.
//! - `catalog`: list elements → WIT products, cursors.
//! - `leads`: WIT leads → complex leads and notes, the duplicate check.
//! - `statuses`: lead statuses named through their pipelines.
//! - `webhook`: the status-change form → status events.

mod api;
mod catalog;
mod leads;
mod problem;
mod statuses;
mod webhook;

use switchboard_plugin_sdk::{
    Crm, CrmError, Lead, LeadRef, Operations, PipelineStatus, PluginInfo, Product, ProductPage,
    StatusEvent,
};

struct AmoCrm;

impl Crm for AmoCrm {
    fn info() -> PluginInfo {
        PluginInfo {
            id: "amocrm".into(),
            name: "amoCRM (Kommo)".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            operations: Operations::GET_PRODUCT
                | Operations::LEAD_STATUS
                | Operations::HANDLE_WEBHOOK
                | Operations::IDEMPOTENT_CREATE,
        }
    }

    fn list_products(cursor: Option<String>, limit: u32) -> Result<ProductPage, CrmError> {
        let api = api::Api::from_config()?;
        catalog::list(&api, cursor.as_deref(), limit)
    }

    fn get_product(id: String) -> Result<Product, CrmError> {
        let api = api::Api::from_config()?;
        catalog::get(&api, &id)
    }

    fn create_lead(lead: Lead) -> Result<LeadRef, CrmError> {
        let api = api::Api::from_config()?;
        leads::create(&api, &lead)
    }

    fn lead_status(id: String) -> Result<PipelineStatus, CrmError> {
        let api = api::Api::from_config()?;
        statuses::status(&api, &id)
    }

    fn handle_webhook(
        _headers: Vec<(String, String)>,
        body: Vec<u8>,
    ) -> Result<Vec<StatusEvent>, CrmError> {
        let api = api::Api::from_config()?;
        webhook::handle(&api, &body)
    }
}

switchboard_plugin_sdk::register_plugin!(AmoCrm);
