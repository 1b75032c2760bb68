//! [`Bitrix24Product`], its record as `crm.product.*` renders it, and the generator.

use serde_json::{Map, Value, json};

use super::list::Shape;
use crate::clock;
use crate::keycrm::catalog::generate_products_only;
use crate::money::decimal_text;

/// The catalog every simulated product is in.
const CATALOG_ID: i64 = 25;
/// Products were created on 2024-01-15 08:00:00 UTC.
const CREATED_AT: i64 = 1_705_305_600;

/// A product of the CRM catalog. Money is kept in kopecks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bitrix24Product {
    /// `ID`.
    pub id: i64,
    /// `NAME`, for example `"Футболка бавовняна «Карпати»"`.
    pub name: String,
    /// `PRICE` in kopecks; rendered as text with two decimals (`"549.00"`).
    pub price_kopecks: i64,
    /// `CURRENCY_ID`, `"UAH"` in generated catalogs.
    pub currency_id: String,
    /// `DESCRIPTION`.
    pub description: String,
    /// `XML_ID`, the external code; generated catalogs put the SKU here.
    pub xml_id: String,
    /// `SECTION_ID`, the catalog section, if any.
    pub section_id: Option<i64>,
    /// `ACTIVE` (`"Y"`/`"N"`).
    pub active: bool,
}

/// `count` products named and priced like the KeyCRM simulator's catalog.
pub(crate) fn generate(count: usize) -> Vec<Bitrix24Product> {
    generate_products_only(count)
        .into_iter()
        .map(|p| Bitrix24Product {
            id: p.id,
            name: p.name,
            price_kopecks: p.price_kopecks,
            currency_id: p.currency_code,
            description: p.description,
            xml_id: p.sku,
            section_id: p.category_id,
            active: !p.is_archived,
        })
        .collect()
}

/// The fields `select: ["*"]` returns.
pub(crate) const SHAPE: Shape<'static> = Shape {
    scalar: &[
        "ID",
        "CATALOG_ID",
        "PRICE",
        "CURRENCY_ID",
        "NAME",
        "CODE",
        "DESCRIPTION",
        "DESCRIPTION_TYPE",
        "ACTIVE",
        "SECTION_ID",
        "SORT",
        "VAT_ID",
        "VAT_INCLUDED",
        "MEASURE",
        "XML_ID",
        "PREVIEW_PICTURE",
        "DETAIL_PICTURE",
        "DATE_CREATE",
        "TIMESTAMP_X",
        "MODIFIED_BY",
        "CREATED_BY",
    ],
    multiple: &[],
};

/// The product as `crm.product.get` renders it.
pub(crate) fn record(product: &Bitrix24Product) -> Map<String, Value> {
    let value = json!({
        "ID": product.id.to_string(),
        "CATALOG_ID": CATALOG_ID.to_string(),
        "PRICE": decimal_text(product.price_kopecks),
        "CURRENCY_ID": product.currency_id,
        "NAME": product.name,
        "CODE": product.xml_id.to_lowercase(),
        "DESCRIPTION": product.description,
        "DESCRIPTION_TYPE": "text",
        "ACTIVE": if product.active { "Y" } else { "N" },
        "SECTION_ID": product.section_id.map(|s| s.to_string()),
        "SORT": "500",
        "VAT_ID": null,
        "VAT_INCLUDED": "Y",
        "MEASURE": "9",
        "XML_ID": product.xml_id,
        "PREVIEW_PICTURE": null,
        "DETAIL_PICTURE": null,
        "DATE_CREATE": clock::format_iso8601(CREATED_AT),
        "TIMESTAMP_X": clock::format_iso8601(CREATED_AT + 86_400),
        "MODIFIED_BY": "1",
        "CREATED_BY": "1",
    });
    value.as_object().cloned().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn it_renders_prices_as_text_in_uah() {
        let products = generate(2);
        let first = record(&products[0]);
        assert_eq!(first["NAME"], "Футболка бавовняна «Карпати»");
        assert_eq!(first["PRICE"], "549.00");
        assert_eq!(first["CURRENCY_ID"], "UAH");
        assert_eq!(first["ID"], "1");
        assert!(SHAPE.scalar.iter().all(|field| first.contains_key(*field)));
    }
}
