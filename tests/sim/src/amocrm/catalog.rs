//! The account's lists ("catalogs"), the elements of the products list and [`AmoProduct`].

use serde_json::{Value, json};

use super::api::{hal_page, id_filter};
use super::{Ctx, Shared};
use crate::keycrm::catalog::generate_products_only;
use crate::money::money;
use crate::record::RecordedRequest;
use crate::reply::Reply;

/// The id of the list of type `products`.
pub const PRODUCTS_CATALOG_ID: i64 = 5_001;
/// A regular list with no elements, so a client must pick the list by its type.
const SUPPLIERS_CATALOG_ID: i64 = 5_003;

/// The custom fields of the products list, as amoCRM predefines them.
const SKU_FIELD: (i64, &str, &str, &str) = (4_000_001, "Артикул", "SKU", "text");
const PRICE_FIELD: (i64, &str, &str, &str) = (4_000_003, "Ціна", "PRICE", "price");
const DESCRIPTION_FIELD: (i64, &str, &str, &str) = (4_000_005, "Опис", "DESCRIPTION", "textarea");

/// Catalog elements were created on 2024-01-15 08:00:00 UTC.
const CREATED_AT: i64 = 1_705_305_600;

/// An element of the products list. Money is kept in kopecks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AmoProduct {
    /// The element id.
    pub id: i64,
    /// The element name, for example `"Футболка бавовняна «Карпати»"`.
    pub name: String,
    /// The `SKU` field.
    pub sku: String,
    /// The `PRICE` field in kopecks (`129950` is 1299.50 UAH).
    pub price_kopecks: i64,
    /// The `DESCRIPTION` field.
    pub description: String,
}

/// `count` products named and priced like the KeyCRM simulator's catalog.
pub(crate) fn generate(count: usize) -> Vec<AmoProduct> {
    generate_products_only(count)
        .into_iter()
        .map(|p| AmoProduct {
            id: p.id,
            name: p.name,
            sku: p.sku,
            price_kopecks: p.price_kopecks,
            description: p.description,
        })
        .collect()
}

fn field(def: (i64, &str, &str, &str), value: Value) -> Value {
    let (id, name, code, kind) = def;
    json!({
        "field_id": id,
        "field_name": name,
        "field_code": code,
        "field_type": kind,
        "values": [{ "value": value }],
    })
}

pub(crate) fn element_json(ctx: &Ctx<'_>, product: &AmoProduct) -> Value {
    json!({
        "id": product.id,
        "name": product.name,
        "created_by": 0,
        "updated_by": 0,
        "created_at": CREATED_AT,
        "updated_at": CREATED_AT + 86_400,
        "is_deleted": false,
        "custom_fields_values": [
            field(SKU_FIELD, Value::from(product.sku.clone())),
            field(PRICE_FIELD, money(product.price_kopecks)),
            field(DESCRIPTION_FIELD, Value::from(product.description.clone())),
        ],
        "catalog_id": PRODUCTS_CATALOG_ID,
        "account_id": ctx.account_id,
        "_links": { "self": { "href": format!(
            "{}/api/v4/catalogs/{PRODUCTS_CATALOG_ID}/elements/{}", ctx.origin, product.id
        ) } },
    })
}

fn catalog_json(ctx: &Ctx<'_>, id: i64, name: &str, kind: &str) -> Value {
    json!({
        "id": id,
        "name": name,
        "created_by": 0,
        "updated_by": 0,
        "created_at": CREATED_AT,
        "updated_at": CREATED_AT,
        "sort": if kind == "products" { 10 } else { 20 },
        "type": kind,
        "can_add_elements": true,
        "can_show_in_cards": false,
        "can_link_multiple": true,
        "can_be_deleted": kind == "regular",
        "sdk_widget_code": null,
        "account_id": ctx.account_id,
        "_links": { "self": { "href": format!("{}/api/v4/catalogs/{id}", ctx.origin) } },
    })
}

/// `GET /api/v4/catalogs`.
pub(crate) fn list_catalogs(shared: &Shared, request: &RecordedRequest) -> Reply {
    let ctx = shared.ctx();
    let catalogs = vec![
        catalog_json(&ctx, PRODUCTS_CATALOG_ID, "Товари", "products"),
        catalog_json(&ctx, SUPPLIERS_CATALOG_ID, "Постачальники", "regular"),
    ];
    hal_page(shared, request, "catalogs", catalogs)
}

/// `GET /api/v4/catalogs/{id}/elements` with `page`, `limit`, `query` and `filter[id]`.
pub(crate) fn list_elements(shared: &Shared, request: &RecordedRequest, id: &str) -> Reply {
    let ctx = shared.ctx();
    let items: Vec<Value> = match id.parse::<i64>() {
        Ok(PRODUCTS_CATALOG_ID) => {
            let ids = id_filter(request, "id");
            let query = request
                .query_param("query")
                .map(|q| q.trim().to_lowercase())
                .filter(|q| !q.is_empty());
            shared
                .products
                .iter()
                .filter(|p| ids.as_ref().is_none_or(|ids| ids.contains(&p.id)))
                .filter(|p| {
                    query.as_deref().is_none_or(|q| {
                        [&p.name, &p.sku, &p.description]
                            .iter()
                            .any(|text| text.to_lowercase().contains(q))
                    })
                })
                .map(|p| element_json(&ctx, p))
                .collect()
        }
        Ok(SUPPLIERS_CATALOG_ID) => Vec::new(),
        _ => {
            return super::api::problem(404, "Not Found", "Catalog not found");
        }
    };
    hal_page(shared, request, "elements", items)
}

/// A valid page of elements with at least `min_bytes` bytes, for `Fault::HugeBody`.
pub(crate) fn huge_page(ctx: &Ctx<'_>, min_bytes: usize) -> Vec<u8> {
    let filler = "Опис товару. ".repeat(40);
    let mut elements = Vec::new();
    let mut size = 0usize;
    while size + 200 < min_bytes || elements.is_empty() {
        let n = i64::try_from(elements.len()).unwrap_or(i64::MAX) + 1;
        let element = element_json(
            ctx,
            &AmoProduct {
                id: n,
                name: format!("Товар {n}"),
                sku: format!("HUGE-{n:06}"),
                price_kopecks: 10_000,
                description: filler.clone(),
            },
        );
        size += element.to_string().len() + 1;
        elements.push(element);
    }
    let body = json!({
        "_page": 1,
        "_links": { "self": { "href": format!("{}/api/v4/catalogs/{PRODUCTS_CATALOG_ID}/elements?page=1", ctx.origin) } },
        "_embedded": { "elements": elements },
    });
    serde_json::to_vec(&body).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn it_generates_ukrainian_products_with_amo_fields() {
        let products = generate(3);
        assert_eq!(products[0].name, "Футболка бавовняна «Карпати»");
        let ctx = Ctx {
            origin: "http://x",
            account_id: 1,
        };
        let element = element_json(&ctx, &products[0]);
        let codes: Vec<&str> = element["custom_fields_values"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|f| f["field_code"].as_str())
            .collect();
        assert_eq!(codes, ["SKU", "PRICE", "DESCRIPTION"]);
        assert_eq!(
            element["custom_fields_values"][1]["values"][0]["value"],
            json!(549)
        );
    }

    #[test]
    fn it_makes_huge_pages_that_parse() {
        let ctx = Ctx {
            origin: "http://x",
            account_id: 1,
        };
        for min in [0, 50_000] {
            let body = huge_page(&ctx, min);
            assert!(body.len() >= min);
            let value: Value = serde_json::from_slice(&body).expect("valid JSON");
            assert!(
                value["_embedded"]["elements"]
                    .as_array()
                    .is_some_and(|e| !e.is_empty())
            );
        }
    }
}
