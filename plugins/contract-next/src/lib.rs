//! A plugin built against `switchboard:crm@0.1.1` (`wit/crm.wit`), a
//! hypothetical patch of 0.1 that adds `describe`. The host serves 0.1.x
//! through its `since_v0_1_0` module; this plugin is what its tests load to
//! prove that. It serves a fixed catalog and takes leads without a CRM.

wit_bindgen::generate!({
    world: "crm",
    path: "wit",
    generate_all,
});

use exports::switchboard::crm::plugin::Guest;
use switchboard::crm::types::{
    CrmError, Lead, LeadRef, Money, Operations, PipelineStatus, PluginInfo, Product, ProductPage,
    StatusEvent,
};

struct Plugin;

fn product(n: u32) -> Product {
    Product {
        id: format!("next-{n}"),
        name: format!("Product {n} (contract 0.1.1)"),
        variant_name: None,
        sku: None,
        price: Money {
            minor_units: i64::from(n) * 10_000,
            scale: 2,
            currency: "UAH".into(),
        },
        description: None,
        image_url: None,
        stock: None,
    }
}

const CATALOG: u32 = 3;

impl Guest for Plugin {
    fn info() -> PluginInfo {
        PluginInfo {
            id: "contract-next".into(),
            name: "Contract 0.1.1 test plugin".into(),
            version: "0.1.0".into(),
            operations: Operations::GET_PRODUCT,
        }
    }

    fn list_products(cursor: Option<String>, limit: u32) -> Result<ProductPage, CrmError> {
        let start: u32 = match cursor {
            Some(c) => c
                .parse()
                .map_err(|_| CrmError::InvalidRequest(format!("bad cursor `{c}`")))?,
            None => 0,
        };
        let end = start.saturating_add(limit.max(1)).min(CATALOG);
        Ok(ProductPage {
            items: (start..end).map(|i| product(i + 1)).collect(),
            next_cursor: (end < CATALOG).then(|| end.to_string()),
            total: Some(u64::from(CATALOG)),
        })
    }

    fn get_product(id: String) -> Result<Product, CrmError> {
        (1..=CATALOG)
            .map(product)
            .find(|p| p.id == id)
            .ok_or(CrmError::NotFound(id))
    }

    fn create_lead(lead: Lead) -> Result<LeadRef, CrmError> {
        Ok(LeadRef {
            id: format!("next-{}", lead.idempotency_key),
            url: None,
        })
    }

    fn lead_status(_id: String) -> Result<PipelineStatus, CrmError> {
        Err(CrmError::Unsupported("lead-status".into()))
    }

    fn handle_webhook(
        _headers: Vec<(String, String)>,
        _body: Vec<u8>,
    ) -> Result<Vec<StatusEvent>, CrmError> {
        Err(CrmError::Unsupported("handle-webhook".into()))
    }

    fn describe() -> String {
        "a plugin of contract 0.1.1".into()
    }
}

export!(Plugin);
