//! How leads (`leads.lead`) and catalog snapshots (`catalog_snapshots`) are
//! kept: serde DTOs of their own, so that the stored form changes only when
//! this file does (not when the CLI's or the admin API's JSON changes). The
//! shapes are the ones rows written before these types existed already
//! have; tests below pin them.

use serde::{Deserialize, Serialize};
use switchboard_crm::{Contact, Lead, LeadKind, LineItem, Money, Product};

/// A stored lead.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct StoredLead {
    idempotency_key: String,
    title: String,
    comment: Option<String>,
    source: String,
    contact: StoredContact,
    kind: StoredKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    items: Option<Vec<StoredItem>>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum StoredKind {
    Order,
    Feedback,
    Question,
}

#[derive(Debug, Serialize, Deserialize)]
struct StoredContact {
    full_name: String,
    phone: Option<String>,
    email: Option<String>,
    telegram_user_id: Option<i64>,
    telegram_username: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
struct StoredItem {
    product_id: String,
    name: String,
    sku: Option<String>,
    quantity: u32,
    unit_price: StoredMoney,
    image_url: Option<String>,
}

/// An amount as an exact decimal string (`"12.50"`: scale 2), never a float.
#[derive(Debug, Serialize, Deserialize)]
struct StoredMoney {
    amount: String,
    currency: String,
}

impl From<&Money> for StoredMoney {
    fn from(m: &Money) -> Self {
        Self {
            amount: m.to_decimal_string(),
            currency: m.currency.clone(),
        }
    }
}

impl TryFrom<StoredMoney> for Money {
    type Error = String;

    fn try_from(m: StoredMoney) -> Result<Self, String> {
        Money::from_decimal_str(&m.amount, m.currency)
    }
}

impl From<&Lead> for StoredLead {
    fn from(l: &Lead) -> Self {
        let c = &l.contact;
        let (kind, items) = match &l.kind {
            LeadKind::Order(items) => (
                StoredKind::Order,
                Some(
                    items
                        .iter()
                        .map(|i| StoredItem {
                            product_id: i.product_id.clone(),
                            name: i.name.clone(),
                            sku: i.sku.clone(),
                            quantity: i.quantity,
                            unit_price: (&i.unit_price).into(),
                            image_url: i.image_url.clone(),
                        })
                        .collect(),
                ),
            ),
            LeadKind::Feedback => (StoredKind::Feedback, None),
            LeadKind::Question => (StoredKind::Question, None),
        };
        Self {
            idempotency_key: l.idempotency_key.clone(),
            title: l.title.clone(),
            comment: l.comment.clone(),
            source: l.source.clone(),
            contact: StoredContact {
                full_name: c.full_name.clone(),
                phone: c.phone.clone(),
                email: c.email.clone(),
                telegram_user_id: c.telegram_user_id,
                telegram_username: c.telegram_username.clone(),
            },
            kind,
            items,
        }
    }
}

impl TryFrom<StoredLead> for Lead {
    type Error = String;

    fn try_from(s: StoredLead) -> Result<Self, String> {
        let kind = match s.kind {
            StoredKind::Order => {
                let items = s.items.ok_or("an order needs `items`")?;
                let items = items
                    .into_iter()
                    .enumerate()
                    .map(|(i, item)| {
                        Ok(LineItem {
                            product_id: item.product_id,
                            name: item.name,
                            sku: item.sku,
                            quantity: item.quantity,
                            unit_price: Money::try_from(item.unit_price)
                                .map_err(|e| format!("items[{i}].unit_price: {e}"))?,
                            image_url: item.image_url,
                        })
                    })
                    .collect::<Result<Vec<_>, String>>()?;
                LeadKind::Order(items)
            }
            StoredKind::Feedback => LeadKind::Feedback,
            StoredKind::Question => LeadKind::Question,
        };
        Ok(Lead {
            idempotency_key: s.idempotency_key,
            kind,
            contact: Contact {
                full_name: s.contact.full_name,
                phone: s.contact.phone,
                email: s.contact.email,
                telegram_user_id: s.contact.telegram_user_id,
                telegram_username: s.contact.telegram_username,
            },
            title: s.title,
            comment: s.comment,
            source: s.source,
        })
    }
}

/// The stored text of a lead.
pub(crate) fn encode(lead: &Lead) -> String {
    // A struct of strings and integers always serializes.
    serde_json::to_string(&StoredLead::from(lead)).unwrap_or_default()
}

/// A lead from its stored text.
pub(crate) fn decode(text: &str) -> Result<Lead, String> {
    let stored: StoredLead = serde_json::from_str(text).map_err(|e| e.to_string())?;
    Lead::try_from(stored)
}

/// A product of a saved catalog. The price is kept exactly
/// (`minor_units`, `scale`); `amount` is written for people reading the row
/// and ignored on reading.
#[derive(Debug, Serialize, Deserialize)]
struct StoredProduct {
    id: String,
    name: String,
    variant: Option<String>,
    sku: Option<String>,
    price: StoredPrice,
    description: Option<String>,
    image_url: Option<String>,
    stock: Option<i64>,
}

#[derive(Debug, Serialize, Deserialize)]
struct StoredPrice {
    #[serde(default, skip_deserializing)]
    amount: String,
    currency: String,
    minor_units: i64,
    scale: u8,
}

impl From<&Product> for StoredProduct {
    fn from(p: &Product) -> Self {
        Self {
            id: p.id.clone(),
            name: p.name.clone(),
            variant: p.variant_name.clone(),
            sku: p.sku.clone(),
            price: StoredPrice {
                amount: p.price.to_decimal_string(),
                currency: p.price.currency.clone(),
                minor_units: p.price.minor_units,
                scale: p.price.scale,
            },
            description: p.description.clone(),
            image_url: p.image_url.clone(),
            stock: p.stock,
        }
    }
}

impl From<StoredProduct> for Product {
    fn from(p: StoredProduct) -> Self {
        Self {
            id: p.id,
            name: p.name,
            variant_name: p.variant,
            sku: p.sku,
            price: Money {
                minor_units: p.price.minor_units,
                scale: p.price.scale,
                currency: p.price.currency,
            },
            description: p.description,
            image_url: p.image_url,
            stock: p.stock,
        }
    }
}

/// The stored text of a catalog snapshot: a JSON array of products.
pub fn encode_products(products: &[Product]) -> String {
    let stored: Vec<StoredProduct> = products.iter().map(StoredProduct::from).collect();
    // A list of structs of strings and integers always serializes.
    serde_json::to_string(&stored).unwrap_or_else(|_| "[]".into())
}

/// The products of a stored catalog snapshot; an error names the first bad
/// item (`[3]: …`).
pub fn decode_products(text: &str) -> Result<Vec<Product>, String> {
    let items: Vec<serde_json::Value> = serde_json::from_str(text).map_err(|e| e.to_string())?;
    items
        .into_iter()
        .enumerate()
        .map(|(i, item)| {
            serde_json::from_value::<StoredProduct>(item)
                .map(Product::from)
                .map_err(|e| format!("[{i}]: {e}"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order() -> Lead {
        Lead {
            idempotency_key: "tg-1-2".into(),
            kind: LeadKind::Order(vec![LineItem {
                product_id: "p1".into(),
                name: "Чай".into(),
                sku: Some("T-1".into()),
                quantity: 2,
                unit_price: Money {
                    minor_units: 12_950,
                    scale: 2,
                    currency: "UAH".into(),
                },
                image_url: None,
            }]),
            contact: Contact {
                full_name: "Олена".into(),
                phone: Some("+380501234567".into()),
                email: None,
                telegram_user_id: Some(42),
                telegram_username: Some("olena".into()),
            },
            title: "Order".into(),
            comment: None,
            source: "telegram".into(),
        }
    }

    #[test]
    fn catalog_snapshots_round_trip_and_read_old_rows() {
        let products = vec![Product {
            id: "1".into(),
            name: "Чай".into(),
            variant_name: Some("100 г".into()),
            sku: None,
            price: Money {
                minor_units: 12_950,
                scale: 2,
                currency: "UAH".into(),
            },
            description: None,
            image_url: None,
            stock: Some(3),
        }];
        assert_eq!(
            decode_products(&encode_products(&products)),
            Ok(products.clone())
        );
        let old = r#"[{"description":null,"id":"1","image_url":null,"name":"Чай","price":{"amount":"129.50","currency":"UAH","minor_units":12950,"scale":2},"sku":null,"stock":3,"variant":"100 г"}]"#;
        assert_eq!(decode_products(old), Ok(products));
        assert!(decode_products("[{\"id\": \"1\"}]").is_err_and(|e| e.starts_with("[0]")));
        assert!(decode_products("{\"id\": 1}").is_err());
        assert!(decode_products("[").is_err());
    }

    #[test]
    fn round_trips_every_kind() {
        let mut lead = order();
        assert_eq!(decode(&encode(&lead)), Ok(lead.clone()));
        lead.kind = LeadKind::Feedback;
        lead.comment = Some("дякую".into());
        assert_eq!(decode(&encode(&lead)), Ok(lead.clone()));
        lead.kind = LeadKind::Question;
        assert_eq!(decode(&encode(&lead)), Ok(lead));
    }

    /// Rows written by earlier versions (through the CLI's JSON) still load.
    #[test]
    fn reads_rows_written_before_the_dto() {
        let old = r#"{"comment":null,"contact":{"email":null,"full_name":"Олена","phone":"+380501234567","telegram_user_id":42,"telegram_username":"olena"},"idempotency_key":"tg-1-2","items":[{"image_url":null,"name":"Чай","product_id":"p1","quantity":2,"sku":"T-1","unit_price":{"amount":"129.50","currency":"UAH"}}],"kind":"order","source":"telegram","title":"Order"}"#;
        assert_eq!(decode(old), Ok(order()));
    }

    #[test]
    fn refuses_an_order_without_items_and_a_float_price() {
        let no_items = r#"{"comment":null,"contact":{"email":null,"full_name":"A","phone":null,"telegram_user_id":null,"telegram_username":null},"idempotency_key":"k","kind":"order","source":"telegram","title":"t"}"#;
        assert!(decode(no_items).is_err());
        let float = encode(&order()).replace("\"129.50\"", "129.5");
        assert!(decode(&float).is_err());
    }
}
