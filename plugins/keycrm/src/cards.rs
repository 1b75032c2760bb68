//! Leads as KeyCRM pipeline cards.
//!
//! KeyCRM has no `/leads` endpoint: a lead is a card in a pipeline
//! (`POST /pipelines/cards`). The Telegram username goes into the manager
//! comment, and into a custom field when the operator configured one. The
//! idempotency key is written into the comment too, so a manager (and a
//! later lookup) can tell a retried lead from a new one.
//!
//! KeyCRM cannot filter cards on the comment, so a retry lists this source's
//! cards created since the first attempt and matches the key line: one
//! request per 50 recent cards, paid only on retries.

use serde_json::{Value, json};
use switchboard_plugin_sdk::{CrmError, Lead, LeadKind, LeadRef, PipelineStatus, money};

use crate::api::Api;

/// The marker line carrying the idempotency key in the manager comment.
pub const KEY_MARKER: &str = "Switchboard key:";

fn manager_comment(lead: &Lead) -> String {
    let mut lines = Vec::new();
    if let Some(comment) = lead
        .comment
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty())
    {
        lines.push(comment.to_string());
    }
    match &lead.kind {
        LeadKind::Order(_) => {}
        LeadKind::Feedback => lines.push("Type: feedback".into()),
        LeadKind::Question => lines.push("Type: question".into()),
    }
    let c = &lead.contact;
    match (&c.telegram_username, c.telegram_user_id) {
        (Some(username), Some(id)) => lines.push(format!("Telegram: @{username} (id {id})")),
        (Some(username), None) => lines.push(format!("Telegram: @{username}")),
        (None, Some(id)) => lines.push(format!("Telegram: id {id}")),
        (None, None) => {}
    }
    lines.push(format!("Source: {}", lead.source));
    lines.push(format!("{KEY_MARKER} {}", lead.idempotency_key));
    lines.join("\n")
}

/// The `POST /pipelines/cards` body for a lead.
pub fn card_body(
    lead: &Lead,
    source_id: i64,
    pipeline_id: Option<i64>,
    username_field: Option<&str>,
) -> Value {
    let c = &lead.contact;
    let mut contact = json!({ "full_name": c.full_name });
    if let Some(phone) = &c.phone {
        contact["phone"] = json!(phone);
    }
    if let Some(email) = &c.email {
        contact["email"] = json!(email);
    }
    let mut body = json!({
        "title": lead.title,
        "source_id": source_id,
        "manager_comment": manager_comment(lead),
        "contact": contact,
    });
    if let Some(pipeline_id) = pipeline_id {
        body["pipeline_id"] = json!(pipeline_id);
    }
    if let LeadKind::Order(items) = &lead.kind {
        let products: Vec<Value> = items
            .iter()
            .map(|item| {
                let mut p = json!({
                    "price": money::to_json_number(&item.unit_price),
                    "quantity": item.quantity,
                    "name": item.name,
                });
                if let Some(sku) = &item.sku {
                    p["sku"] = json!(sku);
                }
                if let Some(picture) = &item.image_url {
                    p["picture"] = json!(picture);
                }
                p
            })
            .collect();
        body["products"] = Value::Array(products);
    }
    if let (Some(uuid), Some(username)) = (username_field, &c.telegram_username) {
        body["custom_fields"] = json!([{ "uuid": uuid, "value": format!("@{username}") }]);
    }
    body
}

/// How far before the first attempt the lookup reaches: KeyCRM filters on
/// its own local time, whose offset from UTC the plugin does not know.
const LOOKUP_SLACK_MS: i64 = 15 * 3600 * 1000;
/// The most card pages a lookup reads (50 cards each).
const LOOKUP_MAX_PAGES: u32 = 20;

/// A card of this source created since the first attempt whose manager
/// comment carries the lead's idempotency key: the CRM took an earlier
/// attempt whose answer was lost.
pub fn find_earlier(
    api: &Api,
    lead: &Lead,
    since_unix_ms: i64,
) -> Result<Option<LeadRef>, CrmError> {
    let marker = format!("{KEY_MARKER} {}", lead.idempotency_key);
    let from = switchboard_plugin_sdk::time::utc_datetime(since_unix_ms - LOOKUP_SLACK_MS);
    for page in 1..=LOOKUP_MAX_PAGES {
        let query = format!(
            "/pipelines/cards?limit=50&page={page}&filter[source_id]={}&filter[created_between]={}",
            api.source_id,
            from.replace(' ', "%20"),
        );
        let list: CardList = api.get(&query)?;
        if let Some(card) = list.data.iter().find(|c| {
            c.manager_comment
                .as_deref()
                .is_some_and(|m| m.lines().any(|line| line.trim() == marker))
        }) {
            return Ok(Some(LeadRef {
                id: card.id.to_string(),
                url: None,
            }));
        }
        if list.data.len() < 50 {
            break;
        }
    }
    Ok(None)
}

#[derive(serde::Deserialize)]
struct CardList {
    #[serde(default)]
    data: Vec<ListedCard>,
}

#[derive(serde::Deserialize)]
struct ListedCard {
    id: i64,
    #[serde(default)]
    manager_comment: Option<String>,
}

/// Creates the card and returns its id. On a retry (the host's
/// `call.attempt` ≥ 2) the card an earlier attempt created, if any, is
/// returned instead of a second one.
pub fn create(api: &Api, lead: &Lead) -> Result<LeadRef, CrmError> {
    if let LeadKind::Order(items) = &lead.kind
        && items.is_empty()
    {
        return Err(CrmError::InvalidRequest(
            "an order needs at least one item".into(),
        ));
    }
    if switchboard_plugin_sdk::call::attempt() > 1 {
        let since = switchboard_plugin_sdk::call::first_attempt_unix_ms().unwrap_or(0);
        if let Some(earlier) = find_earlier(api, lead, since)? {
            switchboard_plugin_sdk::log::info(&format!(
                "card {} already holds lead {}; not creating it again",
                earlier.id, lead.idempotency_key
            ));
            return Ok(earlier);
        }
    }
    let body = card_body(
        lead,
        api.source_id,
        api.pipeline_id,
        api.username_field.as_deref(),
    );
    let card: Value = api.post("/pipelines/cards", &body)?;
    let id = card
        .get("id")
        .and_then(|id| {
            id.as_i64()
                .map(|n| n.to_string())
                .or_else(|| id.as_str().map(String::from))
        })
        .ok_or_else(|| CrmError::Unavailable("KeyCRM created a card but sent no id".into()))?;
    Ok(LeadRef { id, url: None })
}

fn truthy(value: Option<&Value>) -> bool {
    match value {
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_f64().is_some_and(|n| n != 0.0),
        Some(Value::String(s)) => !s.is_empty() && s != "0" && s != "false",
        _ => false,
    }
}

/// The status of a card from `GET /pipelines/cards/{id}?include=status`.
pub fn decode_status(card: &Value) -> Result<PipelineStatus, CrmError> {
    let status = card.get("status").filter(|s| s.is_object());
    let id = status
        .and_then(|s| s.get("id"))
        .or_else(|| card.get("status_id"))
        .and_then(Value::as_i64)
        .ok_or_else(|| CrmError::Unavailable("KeyCRM sent a card without a status".into()))?;
    let name = status
        .and_then(|s| s.get("name").or_else(|| s.get("title")))
        .and_then(Value::as_str)
        .map(String::from)
        .unwrap_or_else(|| format!("#{id}"));
    let is_final =
        truthy(card.get("is_finished")) || truthy(status.and_then(|s| s.get("is_final")));
    Ok(PipelineStatus {
        id: id.to_string(),
        name,
        is_final,
    })
}

/// The card's current status.
pub fn status(api: &Api, id: &str) -> Result<PipelineStatus, CrmError> {
    let card_id: u64 = id
        .parse()
        .map_err(|_| CrmError::NotFound(format!("no lead `{id}`")))?;
    let card: Value = api.get(&format!("/pipelines/cards/{card_id}?include=status"))?;
    decode_status(&card)
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_plugin_sdk::{Contact, LineItem, Money};

    fn lead(kind: LeadKind) -> Lead {
        Lead {
            idempotency_key: "k-1".into(),
            kind,
            contact: Contact {
                full_name: "Олена Петренко".into(),
                phone: Some("+380501234567".into()),
                email: None,
                telegram_user_id: Some(42),
                telegram_username: Some("olena".into()),
            },
            title: "Order from Telegram".into(),
            comment: Some("Nova Poshta 5".into()),
            source: "telegram".into(),
        }
    }

    #[test]
    fn order_card_matches_keycrm_shape() {
        let items = vec![LineItem {
            product_id: "7".into(),
            name: "Футболка (M)".into(),
            sku: Some("TS-M".into()),
            quantity: 2,
            unit_price: Money {
                minor_units: 129_950,
                scale: 2,
                currency: "UAH".into(),
            },
            image_url: None,
        }];
        let body = card_body(&lead(LeadKind::Order(items)), 3, Some(9), Some("LD_1"));
        assert_eq!(
            body,
            json!({
                "title": "Order from Telegram",
                "source_id": 3,
                "pipeline_id": 9,
                "manager_comment": "Nova Poshta 5\nTelegram: @olena (id 42)\nSource: telegram\nSwitchboard key: k-1",
                "contact": {"full_name": "Олена Петренко", "phone": "+380501234567"},
                "products": [{"sku": "TS-M", "price": 1299.5, "quantity": 2, "name": "Футболка (M)"}],
                "custom_fields": [{"uuid": "LD_1", "value": "@olena"}],
            })
        );
    }

    #[test]
    fn feedback_has_no_products() {
        let body = card_body(&lead(LeadKind::Feedback), 1, None, None);
        assert!(body.get("products").is_none());
        assert!(body.get("pipeline_id").is_none());
        assert!(
            body["manager_comment"]
                .as_str()
                .is_some_and(|c| c.contains("Type: feedback"))
        );
    }

    #[test]
    fn status_decodes_both_shapes() {
        let s = decode_status(&json!({"id": 1, "status_id": 3, "is_finished": null,
            "status": {"id": 3, "name": "В роботі", "alias": "in_progress"}}))
        .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(
            (s.id.as_str(), s.name.as_str(), s.is_final),
            ("3", "В роботі", false)
        );
        let s = decode_status(&json!({"id": 1, "status_id": 4,
            "status": {"id": 4, "title": "Успішно", "is_final": true}}))
        .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!((s.name.as_str(), s.is_final), ("Успішно", true));
        assert!(decode_status(&json!({"id": 1})).is_err());
    }
}
