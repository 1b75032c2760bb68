//! # KeyCRM plugin
//!
//! Reads the catalog from KeyCRM's offers (each a sellable variant with its
//! own price and SKU), falling back to products when a shop has no offers,
//! and writes leads as pipeline cards (`POST /pipelines/cards`).
//!
//! # Layout
//! - `api`: the authenticated HTTP client and its configuration.
//! - `catalog`: KeyCRM offers and products → WIT products, cursors.
//! - `cards`: WIT leads → KeyCRM pipeline cards, card status.

mod api;
mod cards;
mod catalog;

use switchboard_plugin_sdk::{
    Crm, CrmError, Lead, LeadRef, Operations, PipelineStatus, PluginInfo, Product, ProductPage,
};

struct KeyCrm;

impl Crm for KeyCrm {
    fn info() -> PluginInfo {
        PluginInfo {
            id: "keycrm".into(),
            name: "KeyCRM".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            operations: Operations::GET_PRODUCT
                | Operations::LEAD_STATUS
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
        #[cfg(feature = "fault-injection")]
        if lead.contact.full_name.contains("[trap]") {
            panic!("fault injection: trapping on a lead marked [trap]");
        }
        let api = api::Api::from_config()?;
        cards::create(&api, &lead)
    }

    fn lead_status(id: String) -> Result<PipelineStatus, CrmError> {
        let api = api::Api::from_config()?;
        cards::status(&api, &id)
    }
}

switchboard_plugin_sdk::register_plugin!(KeyCrm);
