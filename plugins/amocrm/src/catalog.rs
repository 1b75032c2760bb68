//! The products list ("catalog" in API v4) as WIT products.
//!
//! amoCRM links `next` on every non-empty page, the last one included, and
//! answers the page after the last with an empty 204; so a listing ends on a
//! short page or on 204, never on a missing `next`. Elements have no total.

use serde::Deserialize;
use serde_json::Value;
use switchboard_plugin_sdk::{CrmError, Product, ProductPage, form, log, money};

use crate::api::Api;

/// amoCRM's largest page.
pub const MAX_PAGE: u32 = 250;

#[derive(Debug, Deserialize)]
pub struct Embedded<T> {
    #[serde(default = "Vec::new")]
    pub elements: Vec<T>,
    #[serde(default = "Vec::new")]
    pub catalogs: Vec<T>,
}

/// A HAL page: `{_page, _links, _embedded: {elements|catalogs: […]}}`.
#[derive(Debug, Deserialize)]
pub struct Page<T> {
    #[serde(rename = "_embedded")]
    pub embedded: Embedded<T>,
}

#[derive(Debug, Deserialize)]
pub struct Catalog {
    pub id: u64,
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct FieldValue {
    #[serde(default)]
    pub value: Option<Value>,
}

#[derive(Debug, Deserialize)]
pub struct Field {
    #[serde(default)]
    pub field_code: Option<String>,
    #[serde(default)]
    pub values: Option<Vec<FieldValue>>,
}

#[derive(Debug, Deserialize)]
pub struct Element {
    pub id: i64,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub is_deleted: Option<bool>,
    #[serde(default)]
    pub custom_fields_values: Option<Vec<Field>>,
}

/// Where a listing stands. The catalog id rides along so later pages need
/// no lookup, and the page size so a page number always means the same items.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub struct Cursor {
    pub catalog_id: u64,
    pub page: u32,
    pub limit: u32,
}

impl Cursor {
    /// Parses `<catalog id>:<page>:<limit>`.
    pub fn parse(text: &str) -> Result<Self, CrmError> {
        let bad = || CrmError::InvalidRequest(format!("invalid catalog cursor `{text}`"));
        let mut parts = text.split(':').map(|p| p.parse::<u64>().ok());
        let (Some(Some(catalog_id)), Some(Some(page)), Some(Some(limit)), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(bad());
        };
        let page = u32::try_from(page).map_err(|_| bad())?;
        let limit = u32::try_from(limit).map_err(|_| bad())?;
        if page == 0 || limit == 0 || limit > MAX_PAGE {
            return Err(bad());
        }
        Ok(Self {
            catalog_id,
            page,
            limit,
        })
    }

    /// The text form `parse` reads.
    pub fn render(self) -> String {
        format!("{}:{}:{}", self.catalog_id, self.page, self.limit)
    }
}

fn non_empty(text: Option<&str>) -> Option<String> {
    text.map(str::trim)
        .filter(|t| !t.is_empty())
        .map(String::from)
}

fn field<'a>(element: &'a Element, code: &str) -> Option<&'a Value> {
    element
        .custom_fields_values
        .as_deref()?
        .iter()
        .find(|f| {
            f.field_code
                .as_deref()
                .is_some_and(|c| c.eq_ignore_ascii_case(code))
        })?
        .values
        .as_deref()?
        .first()?
        .value
        .as_ref()
}

fn field_text(element: &Element, code: &str) -> Option<String> {
    match field(element, code)? {
        Value::String(s) => non_empty(Some(s.as_str())),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// An element as a WIT product; `None` when it is deleted or has no valid
/// price (a product without a price cannot be ordered, and one such element
/// must not hide the rest of the catalog).
pub fn element_to_product(element: &Element, api_fields: &Fields<'_>) -> Option<Product> {
    if element.is_deleted.unwrap_or(false) {
        return None;
    }
    let price =
        field(element, api_fields.price).and_then(|v| money::from_json(v, 2, api_fields.currency));
    let Some(price) = price else {
        log::warn(&format!(
            "catalog element {} has no valid `{}` field; left out",
            element.id, api_fields.price
        ));
        return None;
    };
    Some(Product {
        id: element.id.to_string(),
        name: non_empty(element.name.as_deref()).unwrap_or_else(|| format!("#{}", element.id)),
        variant_name: None,
        sku: field_text(element, api_fields.sku),
        price,
        description: field_text(element, api_fields.description),
        image_url: None,
        stock: None,
    })
}

/// The field codes and currency the decoding needs.
pub struct Fields<'a> {
    pub price: &'a str,
    pub sku: &'a str,
    pub description: &'a str,
    pub currency: &'a str,
}

impl<'a> Fields<'a> {
    fn of(api: &'a Api) -> Self {
        Self {
            price: &api.price_field,
            sku: &api.sku_field,
            description: &api.description_field,
            currency: &api.currency,
        }
    }
}

/// Converts one page of elements (`None`: amoCRM's 204) into a product page.
pub fn decode_page(
    page: Option<Page<Element>>,
    cursor: Cursor,
    fields: &Fields<'_>,
) -> ProductPage {
    let elements = page.map(|p| p.embedded.elements).unwrap_or_default();
    // A full page may be the last one; the next request then gets 204.
    let full = elements.len() >= cursor.limit as usize;
    let next = full.then(|| {
        Cursor {
            page: cursor.page + 1,
            ..cursor
        }
        .render()
    });
    ProductPage {
        items: elements
            .iter()
            .filter_map(|e| element_to_product(e, fields))
            .collect(),
        next_cursor: next,
        total: None,
    }
}

/// The products list: the configured one, else the first of type `products`.
pub fn catalog_id(api: &Api) -> Result<u64, CrmError> {
    if let Some(id) = api.catalog_id {
        return Ok(id);
    }
    let page: Option<Page<Catalog>> = api.get(&format!("/catalogs?limit={MAX_PAGE}"))?;
    page.into_iter()
        .flat_map(|p| p.embedded.catalogs)
        .find(|c| c.kind.as_deref() == Some("products"))
        .map(|c| c.id)
        .ok_or_else(|| {
            CrmError::InvalidRequest(
                "the amoCRM account has no list of type `products`; set `catalog_id`".into(),
            )
        })
}

/// One page of the catalog.
pub fn list(api: &Api, cursor: Option<&str>, limit: u32) -> Result<ProductPage, CrmError> {
    let cursor = match cursor {
        Some(text) => Cursor::parse(text)?,
        None => Cursor {
            catalog_id: catalog_id(api)?,
            page: 1,
            limit: limit.clamp(1, MAX_PAGE),
        },
    };
    let page: Option<Page<Element>> = api.get(&format!(
        "/catalogs/{}/elements?page={}&limit={}",
        cursor.catalog_id, cursor.page, cursor.limit
    ))?;
    Ok(decode_page(page, cursor, &Fields::of(api)))
}

/// One element by id.
pub fn get(api: &Api, id: &str) -> Result<Product, CrmError> {
    let not_found = || CrmError::NotFound(format!("no product `{id}`"));
    let element_id: u64 = id.trim().parse().map_err(|_| not_found())?;
    let catalog = catalog_id(api)?;
    let query = form::query_string(&[("filter[id]", element_id.to_string())]);
    let page: Option<Page<Element>> = api.get(&format!("/catalogs/{catalog}/elements?{query}"))?;
    let element = page
        .into_iter()
        .flat_map(|p| p.embedded.elements)
        .find(|e| u64::try_from(e.id).ok() == Some(element_id))
        .ok_or_else(not_found)?;
    element_to_product(&element, &Fields::of(api)).ok_or_else(not_found)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const FIELDS: Fields<'static> = Fields {
        price: "PRICE",
        sku: "SKU",
        description: "DESCRIPTION",
        currency: "UAH",
    };

    fn typed<T: serde::de::DeserializeOwned>(body: Value) -> T {
        serde_json::from_value(body).unwrap_or_else(|e| panic!("{e}"))
    }

    fn element(id: i64, price: Value) -> Value {
        json!({"id": id, "name": format!("Товар {id}"), "is_deleted": false,
        "custom_fields_values": [
            {"field_id": 1, "field_code": "SKU", "values": [{"value": format!("S-{id}")}]},
            {"field_id": 2, "field_code": "PRICE", "values": [{"value": price}]},
            {"field_id": 3, "field_code": "DESCRIPTION", "values": [{"value": "Опис"}]}
        ]})
    }

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let c = Cursor {
            catalog_id: 5001,
            page: 3,
            limit: 250,
        };
        assert_eq!(Cursor::parse(&c.render()).ok(), Some(c));
        for bad in [
            "", "1", "1:2", "1:0:50", "1:1:251", "1:1:0", "x:1:1", "1:1:1:1",
        ] {
            assert!(Cursor::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn elements_become_products_with_exact_prices() {
        let page = typed(json!({"_page": 1, "_links": {}, "_embedded": {"elements": [
            element(1, json!(1299.5)), element(2, json!("549.00")), element(3, json!(0.29)),
            element(4, json!(null)),
            {"id": 5, "name": "Gone", "is_deleted": true}
        ]}}));
        let cursor = Cursor {
            catalog_id: 5001,
            page: 2,
            limit: 5,
        };
        let out = decode_page(Some(page), cursor, &FIELDS);
        let prices: Vec<i64> = out.items.iter().map(|p| p.price.minor_units).collect();
        assert_eq!(prices, [129_950, 54_900, 29]);
        assert_eq!(out.items[0].sku.as_deref(), Some("S-1"));
        assert_eq!(out.items[0].description.as_deref(), Some("Опис"));
        assert_eq!(out.items[0].price.currency, "UAH");
        // Five raw elements fill the page, so there may be another.
        assert_eq!(out.next_cursor.as_deref(), Some("5001:3:5"));
    }

    #[test]
    fn a_short_page_or_204_ends_the_listing() {
        let cursor = Cursor {
            catalog_id: 1,
            page: 1,
            limit: 50,
        };
        let page = typed(json!({"_embedded": {"elements": [element(1, json!(1))]}}));
        assert_eq!(decode_page(Some(page), cursor, &FIELDS).next_cursor, None);
        let empty = decode_page(None, cursor, &FIELDS);
        assert!(empty.items.is_empty());
        assert_eq!(empty.next_cursor, None);
    }
}
