//! KeyCRM offers and products as WIT products.
//!
//! Offers are the sellable variants (each with its own price and SKU), so
//! they are the catalog; a shop without variants has no offers and the
//! products themselves are listed instead. Product ids of the second kind
//! carry a `p` prefix so `get-product` knows which endpoint to ask.

use serde::Deserialize;
use switchboard_plugin_sdk::{CrmError, Money, Product, ProductPage, money};

use crate::api::Api;

/// KeyCRM's largest page.
pub const MAX_PAGE: u32 = 50;

/// KeyCRM's paginated envelope.
#[derive(Debug, Deserialize)]
pub struct Page<T> {
    #[serde(default)]
    pub total: Option<u64>,
    #[serde(default)]
    pub current_page: Option<u64>,
    #[serde(default)]
    pub per_page: Option<u64>,
    #[serde(default = "Vec::new")]
    pub data: Vec<T>,
    #[serde(default)]
    pub next_page_url: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct Property {
    #[serde(default)]
    pub value: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct KProduct {
    pub id: i64,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub thumbnail_url: Option<String>,
    #[serde(default)]
    pub quantity: Option<serde_json::Value>,
    #[serde(default)]
    pub currency_code: Option<String>,
    #[serde(default)]
    pub sku: Option<String>,
    #[serde(default)]
    pub min_price: Option<serde_json::Value>,
    #[serde(default)]
    pub price: Option<serde_json::Value>,
    #[serde(default)]
    pub is_archived: Option<bool>,
}

#[derive(Debug, Deserialize)]
pub struct Offer {
    pub id: i64,
    #[serde(default)]
    pub sku: Option<String>,
    #[serde(default)]
    pub thumbnail_url: Option<String>,
    #[serde(default)]
    pub price: Option<serde_json::Value>,
    #[serde(default)]
    pub quantity: Option<serde_json::Value>,
    #[serde(default)]
    pub properties: Option<Vec<Property>>,
    #[serde(default)]
    pub product: Option<KProduct>,
    #[serde(default)]
    pub is_archived: Option<bool>,
}

/// Where a listing stands: which endpoint, which page, at what page size.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub enum Cursor {
    Offers { page: u64, limit: u32 },
    Products { page: u64, limit: u32 },
}

impl Cursor {
    /// Parses `offers:<page>:<limit>` or `products:<page>:<limit>`.
    pub fn parse(text: &str) -> Result<Self, CrmError> {
        let bad = || CrmError::InvalidRequest(format!("invalid catalog cursor `{text}`"));
        let mut parts = text.split(':');
        let kind = parts.next().ok_or_else(bad)?;
        let page: u64 = parts.next().and_then(|p| p.parse().ok()).ok_or_else(bad)?;
        let limit: u32 = parts.next().and_then(|p| p.parse().ok()).ok_or_else(bad)?;
        if parts.next().is_some() || page == 0 || limit == 0 || limit > MAX_PAGE {
            return Err(bad());
        }
        match kind {
            "offers" => Ok(Self::Offers { page, limit }),
            "products" => Ok(Self::Products { page, limit }),
            _ => Err(bad()),
        }
    }

    /// The text form `parse` reads.
    pub fn render(self) -> String {
        match self {
            Self::Offers { page, limit } => format!("offers:{page}:{limit}"),
            Self::Products { page, limit } => format!("products:{page}:{limit}"),
        }
    }

    fn next(self) -> Self {
        match self {
            Self::Offers { page, limit } => Self::Offers {
                page: page + 1,
                limit,
            },
            Self::Products { page, limit } => Self::Products {
                page: page + 1,
                limit,
            },
        }
    }
}

fn non_empty(s: Option<String>) -> Option<String> {
    let s = s?;
    let trimmed = s.trim();
    if trimmed.is_empty() {
        None
    } else if trimmed.len() == s.len() {
        // The common case: no copy.
        Some(s)
    } else {
        Some(trimmed.to_string())
    }
}

fn stock(value: Option<&serde_json::Value>) -> Option<i64> {
    value
        .and_then(serde_json::Value::as_f64)
        .filter(|q| q.is_finite())
        .map(|q| q.floor() as i64)
}

fn price(
    value: Option<&serde_json::Value>,
    currency: String,
    what: impl FnOnce() -> String,
) -> Result<Money, CrmError> {
    // Whole numbers need no decimal parsing.
    if let Some(units) = value.and_then(serde_json::Value::as_i64)
        && let Some(minor_units) = units.checked_mul(100)
    {
        return Ok(Money {
            minor_units,
            scale: 2,
            currency,
        });
    }
    value
        .and_then(|v| money::from_json(v, 2, &currency))
        .ok_or_else(|| CrmError::Unavailable(format!("{} has no valid price", what())))
}

/// An offer (with its product included) as a WIT product.
pub fn offer_to_product(offer: Offer, default_currency: &str) -> Result<Product, CrmError> {
    let (base_name, currency, description, product_image) = match offer.product {
        Some(p) => (
            non_empty(p.name),
            non_empty(p.currency_code),
            non_empty(p.description),
            non_empty(p.thumbnail_url),
        ),
        None => (None, None, None, None),
    };
    let base_name = base_name.unwrap_or_else(|| format!("#{}", offer.id));
    let mut variant = String::new();
    for value in offer
        .properties
        .unwrap_or_default()
        .into_iter()
        .filter_map(|p| non_empty(p.value))
    {
        if !variant.is_empty() {
            variant.push_str(", ");
        }
        variant.push_str(&value);
    }
    let (name, variant_name) = if variant.is_empty() {
        (base_name, None)
    } else {
        (format!("{base_name} ({variant})"), Some(variant))
    };
    let currency = currency.unwrap_or_else(|| default_currency.to_string());
    let id = offer.id;
    Ok(Product {
        id: id.to_string(),
        price: price(offer.price.as_ref(), currency, || format!("offer {id}"))?,
        name,
        variant_name,
        sku: non_empty(offer.sku),
        description,
        image_url: non_empty(offer.thumbnail_url).or(product_image),
        stock: stock(offer.quantity.as_ref()),
    })
}

/// A product without offers as a WIT product (id `p<product id>`).
pub fn product_to_product(product: KProduct, default_currency: &str) -> Result<Product, CrmError> {
    let currency = non_empty(product.currency_code).unwrap_or_else(|| default_currency.to_string());
    let id = product.id;
    Ok(Product {
        id: format!("p{id}"),
        name: non_empty(product.name).unwrap_or_else(|| format!("#{id}")),
        variant_name: None,
        sku: non_empty(product.sku),
        price: price(
            product.price.as_ref().or(product.min_price.as_ref()),
            currency,
            || format!("product {id}"),
        )?,
        description: non_empty(product.description),
        image_url: non_empty(product.thumbnail_url),
        stock: stock(product.quantity.as_ref()),
    })
}

fn has_next<T>(page: &Page<T>, requested: u64) -> bool {
    if let Some(url) = &page.next_page_url {
        return !url.is_empty();
    }
    // Without a next link, compare what was seen with the total.
    match (page.total, page.current_page, page.per_page) {
        (Some(total), Some(current), Some(per_page)) => current * per_page < total,
        (Some(total), _, _) => requested * u64::from(MAX_PAGE) < total && !page.data.is_empty(),
        _ => false,
    }
}

/// Converts one page of `GET /offers?include=product` into a product page.
pub fn decode_offers(
    page: Page<Offer>,
    cursor: Cursor,
    currency: &str,
) -> Result<ProductPage, CrmError> {
    let Cursor::Offers { page: number, .. } = cursor else {
        return Err(CrmError::InvalidRequest("offers cursor expected".into()));
    };
    let next = has_next(&page, number).then(|| cursor.next().render());
    let total = page.total;
    let mut items = Vec::with_capacity(page.data.len());
    for offer in page.data {
        let archived = offer.is_archived.unwrap_or(false)
            || offer
                .product
                .as_ref()
                .and_then(|p| p.is_archived)
                .unwrap_or(false);
        if !archived {
            items.push(offer_to_product(offer, currency)?);
        }
    }
    Ok(ProductPage {
        items,
        next_cursor: next,
        total,
    })
}

/// Converts one page of `GET /products` into a product page.
pub fn decode_products(
    page: Page<KProduct>,
    cursor: Cursor,
    currency: &str,
) -> Result<ProductPage, CrmError> {
    let Cursor::Products { page: number, .. } = cursor else {
        return Err(CrmError::InvalidRequest("products cursor expected".into()));
    };
    let next = has_next(&page, number).then(|| cursor.next().render());
    let total = page.total;
    let mut items = Vec::with_capacity(page.data.len());
    for product in page.data {
        if !product.is_archived.unwrap_or(false) {
            items.push(product_to_product(product, currency)?);
        }
    }
    Ok(ProductPage {
        items,
        next_cursor: next,
        total,
    })
}

fn fetch(api: &Api, cursor: Cursor) -> Result<ProductPage, CrmError> {
    match cursor {
        Cursor::Offers { page, limit } => {
            let body = api.get(&format!(
                "/offers?include=product&limit={limit}&page={page}"
            ))?;
            decode_offers(body, cursor, &api.currency)
        }
        Cursor::Products { page, limit } => {
            let body = api.get(&format!("/products?limit={limit}&page={page}"))?;
            decode_products(body, cursor, &api.currency)
        }
    }
}

/// One page of the catalog.
pub fn list(api: &Api, cursor: Option<&str>, limit: u32) -> Result<ProductPage, CrmError> {
    let cursor = match cursor {
        Some(text) => Cursor::parse(text)?,
        None => {
            let limit = limit.clamp(1, MAX_PAGE);
            let first = fetch(api, Cursor::Offers { page: 1, limit })?;
            let no_offers = first.items.is_empty() && first.next_cursor.is_none();
            if !no_offers {
                return Ok(first);
            }
            Cursor::Products { page: 1, limit }
        }
    };
    fetch(api, cursor)
}

/// One item by id: an offer id, or `p<product id>`.
pub fn get(api: &Api, id: &str) -> Result<Product, CrmError> {
    let not_found = || CrmError::NotFound(format!("no product `{id}`"));
    if let Some(product_id) = id.strip_prefix('p') {
        let product_id: u64 = product_id.parse().map_err(|_| not_found())?;
        let product: KProduct = api.get(&format!("/products/{product_id}"))?;
        return product_to_product(product, &api.currency);
    }
    let offer_id: u64 = id.parse().map_err(|_| not_found())?;
    let page: Page<Offer> = api.get(&format!("/offers?include=product&filter[id]={offer_id}"))?;
    let offer = page
        .data
        .into_iter()
        .find(|o| o.id == offer_id as i64)
        .ok_or_else(not_found)?;
    offer_to_product(offer, &api.currency)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn typed<T: serde::de::DeserializeOwned>(body: serde_json::Value) -> T {
        serde_json::from_value(body).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let c = Cursor::Offers { page: 3, limit: 50 };
        assert_eq!(Cursor::parse(&c.render()).ok(), Some(c));
        for bad in [
            "",
            "offers",
            "offers:0:50",
            "offers:1:51",
            "x:1:1",
            "offers:1:1:1",
        ] {
            assert!(Cursor::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn offers_become_named_variants() {
        let body = json!({
            "total": 3, "current_page": 1, "per_page": 2,
            "next_page_url": "https://openapi.keycrm.app/v1/offers?page=2",
            "data": [
                {"id": 7, "sku": "TS-M-BLK", "price": 1299.5, "quantity": 4,
                 "properties": [{"name": "Розмір", "value": "M"}, {"name": "Колір", "value": "чорний"}],
                 "product": {"id": 2, "name": "Футболка", "description": "Бавовна", "currency_code": "UAH",
                             "thumbnail_url": "https://img.example/2.jpg"}},
                {"id": 8, "sku": "", "price": 100, "properties": [], "thumbnail_url": "https://img.example/8.jpg",
                 "product": {"id": 3, "name": "Чашка", "is_archived": false}}
            ]
        });
        let page = decode_offers(typed(body), Cursor::Offers { page: 1, limit: 2 }, "UAH")
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(page.next_cursor.as_deref(), Some("offers:2:2"));
        assert_eq!(page.total, Some(3));
        let first = &page.items[0];
        assert_eq!(first.id, "7");
        assert_eq!(first.name, "Футболка (M, чорний)");
        assert_eq!(first.variant_name.as_deref(), Some("M, чорний"));
        assert_eq!(first.price.minor_units, 129_950);
        assert_eq!(first.price.currency, "UAH");
        assert_eq!(first.stock, Some(4));
        assert_eq!(
            first.image_url.as_deref(),
            Some("https://img.example/2.jpg")
        );
        let second = &page.items[1];
        assert_eq!(second.name, "Чашка");
        assert_eq!(second.sku, None);
        assert_eq!(second.price.minor_units, 10_000);
        assert_eq!(
            second.image_url.as_deref(),
            Some("https://img.example/8.jpg")
        );
        assert_eq!(second.stock, None);
    }

    #[test]
    fn last_page_has_no_cursor_and_archived_are_skipped() {
        let body = json!({"total": 51, "current_page": 2, "per_page": 50, "next_page_url": null,
            "data": [{"id": 1, "price": 1, "product": {"id": 1, "name": "Old", "is_archived": true}}]});
        let page = decode_offers(typed(body), Cursor::Offers { page: 2, limit: 50 }, "UAH")
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert!(page.items.is_empty());
        assert_eq!(page.next_cursor, None);
    }

    #[test]
    fn an_offer_without_a_price_is_an_error_not_a_zero() {
        let body = json!({"total": 1, "data": [{"id": 1, "product": {"id": 1, "name": "X"}}]});
        assert!(matches!(
            decode_offers(typed(body), Cursor::Offers { page: 1, limit: 50 }, "UAH"),
            Err(CrmError::Unavailable(_))
        ));
    }

    #[test]
    fn unexpected_shapes_are_refused() {
        let shape = serde_json::from_value::<Page<KProduct>>(json!({"data": "nope"}));
        assert!(shape.is_err());
    }

    #[test]
    fn products_get_prefixed_ids() {
        let body = json!({"total": 1, "current_page": 1, "per_page": 50, "next_page_url": null,
            "data": [{"id": 5, "name": "Свічка", "min_price": 250.0, "currency_code": "USD", "quantity": 2.5}]});
        let page = decode_products(typed(body), Cursor::Products { page: 1, limit: 50 }, "UAH")
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(page.items[0].id, "p5");
        assert_eq!(page.items[0].price.minor_units, 25_000);
        assert_eq!(page.items[0].price.currency, "USD");
        assert_eq!(page.items[0].stock, Some(2));
    }
}
