//! Leads: `POST /api/v4/leads/complex` (lead + contact in one request), the
//! order as a note, and the duplicate check that makes retries exactly-once.
//!
//! Idempotency: the key is stored in the lead, in the `key_field_code` text
//! field when the operator configured one, else at the end of the lead name
//! (`"Order from Telegram [tg-…]"`); amoCRM's `query` searches both. When
//! the host says the lead may have been offered before (`call.attempt` ≥ 2),
//! `GET /api/v4/leads?query=<key>` looks for it first, and only a lead whose
//! name or field carries exactly that key counts. A first attempt pays
//! nothing; a retry after a lost response returns the lead the first attempt
//! created.

use serde::Deserialize;
use serde_json::{Value, json};
use switchboard_plugin_sdk::{CrmError, Lead, LeadKind, LeadRef, form, lead_text, log, money};

use crate::api::Api;

/// amoCRM refuses longer lead names.
const MAX_NAME_CHARS: usize = 255;

/// The lead name: the title, plus the key when no field carries it.
pub fn lead_name(title: &str, key: &str, key_in_name: bool) -> String {
    let title = title.trim();
    if !key_in_name {
        return truncate(title, MAX_NAME_CHARS);
    }
    let suffix = format!(" [{key}]");
    let room = MAX_NAME_CHARS.saturating_sub(suffix.chars().count());
    format!("{}{suffix}", truncate(title, room))
}

fn truncate(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

fn contact_json(lead: &Lead) -> Value {
    let c = &lead.contact;
    let mut fields = Vec::new();
    if let Some(phone) = c.phone.as_deref().filter(|p| !p.trim().is_empty()) {
        // A Telegram customer's number is a mobile one.
        fields
            .push(json!({"field_code": "PHONE", "values": [{"value": phone, "enum_code": "MOB"}]}));
    }
    if let Some(email) = c.email.as_deref().filter(|e| !e.trim().is_empty()) {
        fields.push(
            json!({"field_code": "EMAIL", "values": [{"value": email, "enum_code": "WORK"}]}),
        );
    }
    let mut contact = json!({ "name": c.full_name.trim() });
    if !fields.is_empty() {
        contact["custom_fields_values"] = Value::Array(fields);
    }
    contact
}

/// Where a lead goes and how its key is stored.
pub struct Placement<'a> {
    pub pipeline_id: Option<i64>,
    pub status_id: Option<i64>,
    pub key_field: Option<&'a str>,
}

/// The `POST /api/v4/leads/complex` body: one lead with its contact.
pub fn complex_body(lead: &Lead, placement: &Placement<'_>) -> Value {
    let key = &lead.idempotency_key;
    let mut body = json!({
        "name": lead_name(&lead.title, key, placement.key_field.is_none()),
        "_embedded": { "contacts": [contact_json(lead)] },
    });
    if let LeadKind::Order(items) = &lead.kind
        && let Some(total) = lead_text::order_total(items)
        // amoCRM's budget is whole currency units; the note has the exact total.
        && let Some(units) = money::round_to_scale(&total, 0).filter(|u| *u >= 0)
    {
        body["price"] = json!(units);
    }
    if let Some(pipeline_id) = placement.pipeline_id {
        body["pipeline_id"] = json!(pipeline_id);
    }
    if let Some(status_id) = placement.status_id {
        body["status_id"] = json!(status_id);
    }
    if let Some(code) = placement.key_field {
        body["custom_fields_values"] = json!([{"field_code": code, "values": [{"value": key}]}]);
    }
    let source = lead.source.trim();
    if !source.is_empty() {
        body["_embedded"]["tags"] = json!([{ "name": source }]);
    }
    json!([body])
}

/// The note with everything the lead fields cannot hold.
pub fn note_body(lead: &Lead) -> Value {
    json!([{ "note_type": "common", "params": { "text": lead_text::summary(lead) } }])
}

#[derive(Debug, Deserialize)]
struct Created {
    id: i64,
}

#[derive(Debug, Deserialize)]
struct FieldValue {
    #[serde(default)]
    value: Option<Value>,
}

#[derive(Debug, Deserialize)]
struct Field {
    #[serde(default)]
    field_code: Option<String>,
    #[serde(default)]
    values: Option<Vec<FieldValue>>,
}

#[derive(Debug, Deserialize)]
pub struct FoundLead {
    id: i64,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    custom_fields_values: Option<Vec<Field>>,
}

#[derive(Debug, Deserialize)]
struct LeadsEmbedded {
    #[serde(default)]
    leads: Vec<FoundLead>,
}

#[derive(Debug, Deserialize)]
struct LeadsPage {
    #[serde(rename = "_embedded")]
    embedded: LeadsEmbedded,
}

/// Whether a search hit carries exactly `key` (the search matches substrings,
/// so `tg-1` would also find `tg-12`).
pub fn carries_key(lead: &FoundLead, key: &str, key_field: Option<&str>) -> bool {
    match key_field {
        Some(code) => lead
            .custom_fields_values
            .iter()
            .flatten()
            .filter(|f| {
                f.field_code
                    .as_deref()
                    .is_some_and(|c| c.eq_ignore_ascii_case(code))
            })
            .flat_map(|f| f.values.iter().flatten())
            .any(|v| v.value.as_ref().and_then(Value::as_str) == Some(key)),
        None => lead
            .name
            .as_deref()
            .is_some_and(|n| n.trim_end().ends_with(&format!("[{key}]"))),
    }
}

/// The lead an earlier attempt created with this key, if any.
fn find_existing(api: &Api, key: &str) -> Result<Option<i64>, CrmError> {
    let query = form::query_string(&[("query", key), ("limit", "50")]);
    let page: Option<LeadsPage> = api.get(&format!("/leads?{query}"))?;
    Ok(page
        .into_iter()
        .flat_map(|p| p.embedded.leads)
        .find(|l| carries_key(l, key, api.key_field.as_deref()))
        .map(|l| l.id))
}

#[derive(Debug, Deserialize)]
struct NoteParams {
    #[serde(default)]
    text: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Note {
    #[serde(default)]
    params: Option<NoteParams>,
}

#[derive(Debug, Deserialize)]
struct NotesEmbedded {
    #[serde(default)]
    notes: Vec<Note>,
}

#[derive(Debug, Deserialize)]
struct NotesPage {
    #[serde(rename = "_embedded")]
    embedded: NotesEmbedded,
}

fn has_note(api: &Api, lead_id: i64, key: &str) -> Result<bool, CrmError> {
    let page: Option<NotesPage> = api.get(&format!("/leads/{lead_id}/notes?limit=250"))?;
    Ok(page.into_iter().flat_map(|p| p.embedded.notes).any(|n| {
        n.params
            .and_then(|p| p.text)
            .is_some_and(|t| lead_text::has_key_line(&t, key))
    }))
}

/// Adds the note; a failure is logged, not returned, because the lead exists
/// by now and an error would make the host create it again.
fn add_note(api: &Api, lead_id: i64, lead: &Lead) {
    let result: Result<Value, CrmError> =
        api.post(&format!("/leads/{lead_id}/notes"), &note_body(lead));
    if let Err(e) = result {
        log::warn(&format!(
            "lead {lead_id} was created but its note was not: {e:?}"
        ));
    }
}

/// Creates the lead (or finds the one a lost answer hid) and returns it.
pub fn create(api: &Api, lead: &Lead) -> Result<LeadRef, CrmError> {
    if let LeadKind::Order(items) = &lead.kind
        && items.is_empty()
    {
        return Err(CrmError::InvalidRequest(
            "an order needs at least one item".into(),
        ));
    }
    let key = &lead.idempotency_key;
    let retry = switchboard_plugin_sdk::call::attempt() > 1;
    if retry && let Some(id) = find_existing(api, key)? {
        log::info(&format!("lead with key {key} already exists as {id}"));
        // The earlier attempt may have died between the lead and its note.
        match has_note(api, id, key) {
            Ok(true) => {}
            Ok(false) => add_note(api, id, lead),
            Err(e) => log::warn(&format!("could not read the notes of lead {id}: {e:?}")),
        }
        return Ok(lead_ref(api, id));
    }
    let placement = Placement {
        pipeline_id: api.pipeline_id,
        status_id: api.status_id,
        key_field: api.key_field.as_deref(),
    };
    let created: Vec<Created> = api.post("/leads/complex", &complex_body(lead, &placement))?;
    let id = created
        .first()
        .map(|c| c.id)
        .ok_or_else(|| CrmError::Unavailable("amoCRM created a lead but sent no id".into()))?;
    add_note(api, id, lead);
    Ok(lead_ref(api, id))
}

fn lead_ref(api: &Api, id: i64) -> LeadRef {
    let id = id.to_string();
    LeadRef {
        url: Some(api.lead_url(&id)),
        id,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_plugin_sdk::{Contact, LineItem, Money};

    fn lead(kind: LeadKind) -> Lead {
        Lead {
            idempotency_key: "tg-1".into(),
            kind,
            contact: Contact {
                full_name: "Олена Петренко".into(),
                phone: Some("+380501234567".into()),
                email: None,
                telegram_user_id: Some(42),
                telegram_username: Some("olena".into()),
            },
            title: "Order from Telegram".into(),
            comment: None,
            source: "telegram".into(),
        }
    }

    fn item(price: i64, quantity: u32) -> LineItem {
        LineItem {
            product_id: "1".into(),
            name: "Футболка".into(),
            sku: None,
            quantity,
            unit_price: Money {
                minor_units: price,
                scale: 2,
                currency: "UAH".into(),
            },
            image_url: None,
        }
    }

    #[test]
    fn an_order_is_one_lead_with_its_contact() {
        let placement = Placement {
            pipeline_id: Some(7),
            status_id: Some(70),
            key_field: None,
        };
        let body = complex_body(&lead(LeadKind::Order(vec![item(129_950, 1)])), &placement);
        assert_eq!(
            body,
            json!([{
                "name": "Order from Telegram [tg-1]",
                "price": 1300,
                "pipeline_id": 7,
                "status_id": 70,
                "_embedded": {
                    "contacts": [{"name": "Олена Петренко", "custom_fields_values": [
                        {"field_code": "PHONE", "values": [{"value": "+380501234567", "enum_code": "MOB"}]}
                    ]}],
                    "tags": [{"name": "telegram"}]
                }
            }])
        );
    }

    #[test]
    fn a_key_field_keeps_the_name_clean() {
        let placement = Placement {
            pipeline_id: None,
            status_id: None,
            key_field: Some("ORDER_KEY"),
        };
        let body = complex_body(&lead(LeadKind::Question), &placement);
        assert_eq!(body[0]["name"], "Order from Telegram");
        assert!(body[0].get("price").is_none());
        assert_eq!(
            body[0]["custom_fields_values"],
            json!([{"field_code": "ORDER_KEY", "values": [{"value": "tg-1"}]}])
        );
    }

    #[test]
    fn long_titles_leave_room_for_the_key() {
        let name = lead_name(&"я".repeat(400), "tg-77", true);
        assert_eq!(name.chars().count(), 255);
        assert!(name.ends_with(" [tg-77]"));
    }

    #[test]
    fn only_the_exact_key_matches() {
        let found: FoundLead = serde_json::from_value(json!({"id": 1, "name": "Order [tg-12]",
            "custom_fields_values": [{"field_code": "ORDER_KEY", "values": [{"value": "tg-12"}]}]}))
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(carries_key(&found, "tg-12", None));
        assert!(!carries_key(&found, "tg-1", None));
        assert!(carries_key(&found, "tg-12", Some("ORDER_KEY")));
        assert!(!carries_key(&found, "tg-1", Some("order_key")));
    }
}
