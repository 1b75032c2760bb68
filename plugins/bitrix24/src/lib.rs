//! # Bitrix24 plugin
//!
//! Talks to the Bitrix24 REST API through an incoming webhook. Reads the
//! catalog from CRM products (`crm.product.*`), writes leads with
//! `crm.lead.add` after a duplicate check by `ORIGIN_ID`, reports lead
//! statuses and decodes the `ONCRMLEADUPDATE` event of an outgoing webhook.
//!
//! # Layout
//! - `api`: the webhook client and its configuration.
//! - `answer`: Bitrix24's answers and errors → `crm-error`.
//! - `catalog`: CRM products → WIT products, `start` paging.
//! - `leads`: WIT leads → `crm.lead.add`, the duplicate check.
//! - `statuses`: lead statuses, named and judged by their semantics.
//! - `webhook`: the `ONCRMLEADUPDATE` form → status events.

mod answer;
mod api;
mod catalog;
mod leads;
mod statuses;
mod webhook;

use switchboard_plugin_sdk::{
    Crm, CrmError, Lead, LeadRef, Operations, PipelineStatus, PluginInfo, Product, ProductPage,
    StatusEvent,
};

struct Bitrix24;

impl Crm for Bitrix24 {
    fn info() -> PluginInfo {
        PluginInfo {
            id: "bitrix24".into(),
            name: "Bitrix24".into(),
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

switchboard_plugin_sdk::register_plugin!(Bitrix24);
