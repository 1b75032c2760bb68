//! CRM products (`crm.product.list`, `crm.product.get`) as WIT products.
//!
//! Bitrix24 pages are always 50 records, addressed by `start`; `next` is
//! present only while more records follow. The host may ask for fewer than
//! 50 items, so the cursor is the absolute position in the (active-only,
//! id-ordered) list: a page starts at the 50-record page holding it and skips
//! into it. At the host's usual page size of 50 that is one request a page.

use serde::Deserialize;
use serde_json::{Value, json};
use switchboard_plugin_sdk::{CrmError, Product, ProductPage, log, money};

use crate::answer::Answer;
use crate::api::Api;

/// Bitrix24's fixed page size.
pub const PAGE: u64 = 50;

/// The product fields the plugin reads.
const SELECT: &[&str] = &[
    "ID",
    "NAME",
    "PRICE",
    "CURRENCY_ID",
    "DESCRIPTION",
    "DESCRIPTION_TYPE",
    "ACTIVE",
    "XML_ID",
    "CODE",
];

/// One product record; every scalar arrives as text.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub struct Record {
    #[serde(rename = "ID")]
    pub id: Value,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub price: Option<Value>,
    #[serde(default)]
    pub currency_id: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub description_type: Option<String>,
    #[serde(default)]
    pub active: Option<String>,
    /// Every other selected field, for the configurable SKU field.
    #[serde(flatten)]
    pub other: serde_json::Map<String, Value>,
}

fn text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Drops HTML tags and decodes the few entities Bitrix24's editor writes,
/// for descriptions stored as HTML (the host wants plain text).
pub fn html_to_text(html: &str) -> String {
    let with_breaks = html
        .replace("<br>", "\n")
        .replace("<br/>", "\n")
        .replace("<br />", "\n")
        .replace("</p>", "\n");
    let mut out = String::with_capacity(with_breaks.len());
    let mut in_tag = false;
    for c in with_breaks.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.replace("&nbsp;", " ")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
        .trim()
        .to_string()
}

/// A product record as a WIT product; `None` when inactive or without a
/// valid price (one bad record must not hide the rest of the catalog).
pub fn record_to_product(
    record: &Record,
    default_currency: &str,
    sku_field: &str,
) -> Option<Product> {
    let id = text(&record.id)?;
    if record.active.as_deref().is_some_and(|a| a != "Y") {
        return None;
    }
    let currency = record
        .currency_id
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .unwrap_or(default_currency);
    let Some(price) = record
        .price
        .as_ref()
        .and_then(|p| money::from_json(p, 2, currency))
    else {
        log::warn(&format!("product {id} has no valid PRICE; left out"));
        return None;
    };
    let description = record
        .description
        .as_deref()
        .map(|d| {
            if record
                .description_type
                .as_deref()
                .is_some_and(|t| t.eq_ignore_ascii_case("html"))
            {
                html_to_text(d)
            } else {
                d.trim().to_string()
            }
        })
        .filter(|d| !d.is_empty());
    let name = record
        .name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(String::from)
        .unwrap_or_else(|| format!("#{id}"));
    let sku = record.other.get(sku_field).and_then(text);
    Some(Product {
        id,
        name,
        variant_name: None,
        sku,
        price,
        description,
        image_url: None,
        stock: None,
    })
}

fn parse_cursor(text: &str) -> Result<u64, CrmError> {
    text.trim()
        .parse()
        .map_err(|_| CrmError::InvalidRequest(format!("invalid catalog cursor `{text}`")))
}

fn select(sku_field: &str) -> Vec<&str> {
    let mut fields = SELECT.to_vec();
    if !fields.contains(&sku_field) {
        fields.push(sku_field);
    }
    fields
}

/// The `crm.product.list` parameters for the page starting at `start`.
pub fn list_params(start: u64, sku_field: &str) -> Value {
    json!({
        "order": { "ID": "ASC" },
        "filter": { "ACTIVE": "Y" },
        "select": select(sku_field),
        "start": start,
    })
}

/// Cuts the 50-record page that starts at `start` to the host's window
/// `[offset, offset + limit)` and says where the next window starts.
pub fn window(
    answer: Answer<Vec<Record>>,
    start: u64,
    offset: u64,
    limit: u32,
    currency: &str,
    sku_field: &str,
) -> ProductPage {
    let skip = usize::try_from(offset - start).unwrap_or(usize::MAX);
    let records: Vec<&Record> = answer
        .result
        .iter()
        .skip(skip)
        .take(limit as usize)
        .collect();
    let taken = records.len() as u64;
    let rest_of_page = (skip as u64).saturating_add(taken) < answer.result.len() as u64;
    let next = if rest_of_page {
        Some(offset + taken)
    } else {
        // Past this page only if Bitrix24 says more follow.
        answer.next.filter(|n| *n > offset)
    };
    ProductPage {
        items: records
            .into_iter()
            .filter_map(|r| record_to_product(r, currency, sku_field))
            .collect(),
        next_cursor: next.map(|n| n.to_string()),
        total: answer.total,
    }
}

/// One page of the catalog.
pub fn list(api: &Api, cursor: Option<&str>, limit: u32) -> Result<ProductPage, CrmError> {
    let offset = cursor.map(parse_cursor).transpose()?.unwrap_or(0);
    let start = offset - offset % PAGE;
    let answer: Answer<Vec<Record>> =
        api.call("crm.product.list", &list_params(start, &api.sku_field))?;
    Ok(window(
        answer,
        start,
        offset,
        limit.clamp(1, 250),
        &api.currency,
        &api.sku_field,
    ))
}

/// One product by id; an inactive product is as gone as a deleted one.
pub fn get(api: &Api, id: &str) -> Result<Product, CrmError> {
    let not_found = || CrmError::NotFound(format!("no product `{id}`"));
    let product_id: u64 = id.trim().parse().map_err(|_| not_found())?;
    let answer: Answer<Record> = api.call("crm.product.get", &json!({ "id": product_id }))?;
    record_to_product(&answer.result, &api.currency, &api.sku_field).ok_or_else(not_found)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: u64, price: &str) -> Value {
        json!({"ID": id.to_string(), "NAME": format!("Товар {id}"), "PRICE": price,
            "CURRENCY_ID": "UAH", "DESCRIPTION": "Опис", "DESCRIPTION_TYPE": "text",
            "ACTIVE": "Y", "XML_ID": format!("S-{id}")})
    }

    fn answer(ids: std::ops::RangeInclusive<u64>, next: Option<u64>) -> Answer<Vec<Record>> {
        let records: Vec<Value> = ids.map(|i| record(i, "549.00")).collect();
        serde_json::from_value(json!({"result": records, "next": next, "total": 230}))
            .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn records_become_products_with_exact_prices() {
        let r: Record = serde_json::from_value(record(7, "1299.50")).unwrap_or_default();
        let p = record_to_product(&r, "USD", "XML_ID").unwrap_or_else(|| panic!("no product"));
        assert_eq!(p.id, "7");
        assert_eq!(p.price.minor_units, 129_950);
        assert_eq!(p.price.currency, "UAH");
        assert_eq!(p.sku.as_deref(), Some("S-7"));
        let r: Record =
            serde_json::from_value(json!({"ID": "8", "PRICE": null})).unwrap_or_default();
        assert!(record_to_product(&r, "UAH", "XML_ID").is_none());
        let r: Record = serde_json::from_value(json!({"ID": "9", "PRICE": "1", "ACTIVE": "N"}))
            .unwrap_or_default();
        assert!(record_to_product(&r, "UAH", "XML_ID").is_none());
    }

    #[test]
    fn full_pages_follow_next_and_the_last_stops() {
        let page = window(answer(1..=50, Some(50)), 0, 0, 50, "UAH", "XML_ID");
        assert_eq!(page.items.len(), 50);
        assert_eq!(page.next_cursor.as_deref(), Some("50"));
        assert_eq!(page.total, Some(230));
        let last = window(answer(201..=230, None), 200, 200, 50, "UAH", "XML_ID");
        assert_eq!(last.items.len(), 30);
        assert_eq!(last.next_cursor, None);
    }

    #[test]
    fn small_windows_walk_through_a_page() {
        let first = window(answer(1..=50, Some(50)), 0, 0, 20, "UAH", "XML_ID");
        assert_eq!(first.items.len(), 20);
        assert_eq!(first.next_cursor.as_deref(), Some("20"));
        let third = window(answer(1..=50, Some(50)), 0, 40, 20, "UAH", "XML_ID");
        assert_eq!(third.items.first().map(|p| p.id.as_str()), Some("41"));
        assert_eq!(third.items.len(), 10);
        assert_eq!(third.next_cursor.as_deref(), Some("50"));
    }

    #[test]
    fn html_descriptions_become_text() {
        assert_eq!(
            html_to_text("<p>Бавовна&nbsp;100%</p><br/><b>M</b> &amp; L"),
            "Бавовна 100%\n\nM & L"
        );
    }
}
