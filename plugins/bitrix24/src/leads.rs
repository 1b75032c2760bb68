//! Leads: `crm.lead.add`, after a duplicate check by `ORIGIN_ID` on retries.
//!
//! Bitrix24 leads have fields for an external origin: `ORIGINATOR_ID` (who
//! created the lead: `switchboard`) and `ORIGIN_ID` (its id there: the
//! idempotency key), and `crm.lead.list` filters on both. When the host says
//! the lead may have been offered before (`call.attempt` ≥ 2), the key is
//! looked up before adding: a retry after a lost answer returns the lead the
//! first attempt created, and a first attempt costs no extra request.

use serde::Deserialize;
use serde_json::{Value, json};
use switchboard_plugin_sdk::{CrmError, Lead, LeadKind, LeadRef, lead_text, log, money};

use crate::answer::Answer;
use crate::api::Api;

/// The `ORIGINATOR_ID` of every lead this plugin writes.
pub const ORIGINATOR: &str = "switchboard";

fn multi(value: Option<&str>, value_type: &str) -> Option<Value> {
    let value = value.map(str::trim).filter(|v| !v.is_empty())?;
    Some(json!([{ "VALUE": value, "VALUE_TYPE": value_type }]))
}

/// The `crm.lead.add` parameters.
pub fn add_params(lead: &Lead, source_id: Option<&str>) -> Value {
    let c = &lead.contact;
    let mut fields = json!({
        "TITLE": lead.title.trim(),
        "NAME": c.full_name.trim(),
        "COMMENTS": lead_text::summary(lead),
        "SOURCE_DESCRIPTION": lead.source,
        "ORIGINATOR_ID": ORIGINATOR,
        "ORIGIN_ID": lead.idempotency_key,
    });
    // A Telegram customer's number is a mobile one.
    if let Some(phone) = multi(c.phone.as_deref(), "MOBILE") {
        fields["PHONE"] = phone;
    }
    if let Some(email) = multi(c.email.as_deref(), "WORK") {
        fields["EMAIL"] = email;
    }
    if let Some(im) = multi(c.telegram_username.as_deref(), "TELEGRAM") {
        fields["IM"] = im;
    }
    if let Some(source) = source_id.filter(|s| !s.is_empty()) {
        fields["SOURCE_ID"] = json!(source);
    }
    if let LeadKind::Order(items) = &lead.kind
        && let Some(total) = lead_text::order_total(items)
    {
        // A decimal string keeps the amount exact; Bitrix24 parses it as a number.
        fields["OPPORTUNITY"] = json!(money::to_decimal_string(&total));
        fields["CURRENCY_ID"] = json!(total.currency);
    }
    json!({ "fields": fields })
}

/// The `crm.lead.list` parameters that find the lead with `key`.
pub fn lookup_params(key: &str) -> Value {
    json!({
        "filter": { "ORIGINATOR_ID": ORIGINATOR, "ORIGIN_ID": key },
        "select": ["ID", "ORIGINATOR_ID", "ORIGIN_ID"],
    })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub struct Found {
    #[serde(rename = "ID")]
    id: Value,
    #[serde(default)]
    origin_id: Option<String>,
}

fn id_text(id: &Value) -> Option<String> {
    match id {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The first hit whose `ORIGIN_ID` is exactly `key` (the list's comparison
/// ignores case).
pub fn exact_hit(found: &[Found], key: &str) -> Option<String> {
    found
        .iter()
        .find(|f| f.origin_id.as_deref() == Some(key))
        .and_then(|f| id_text(&f.id))
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
    // Only a retry can find an earlier attempt (see the module docs).
    if switchboard_plugin_sdk::call::attempt() > 1 {
        let found: Answer<Vec<Found>> = api.call("crm.lead.list", &lookup_params(key))?;
        if let Some(id) = exact_hit(&found.result, key) {
            log::info(&format!("lead with key {key} already exists as {id}"));
            return Ok(lead_ref(api, id));
        }
    }
    let added: Answer<Value> =
        api.call("crm.lead.add", &add_params(lead, api.source_id.as_deref()))?;
    let id = id_text(&added.result)
        .ok_or_else(|| CrmError::Unavailable("Bitrix24 added a lead but sent no id".into()))?;
    Ok(lead_ref(api, id))
}

fn lead_ref(api: &Api, id: String) -> LeadRef {
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
                full_name: "Олена".into(),
                phone: Some("+380501234567".into()),
                email: Some(" ".into()),
                telegram_user_id: Some(42),
                telegram_username: Some("olena".into()),
            },
            title: "Order".into(),
            comment: None,
            source: "telegram".into(),
        }
    }

    #[test]
    fn an_order_carries_its_exact_total_and_origin() {
        let items = vec![LineItem {
            product_id: "1".into(),
            name: "Футболка".into(),
            sku: None,
            quantity: 3,
            unit_price: Money {
                minor_units: 33_333,
                scale: 2,
                currency: "UAH".into(),
            },
            image_url: None,
        }];
        let params = add_params(&lead(LeadKind::Order(items)), Some("STORE"));
        let f = &params["fields"];
        assert_eq!(f["OPPORTUNITY"], "999.99");
        assert_eq!(f["CURRENCY_ID"], "UAH");
        assert_eq!(f["ORIGIN_ID"], "tg-1");
        assert_eq!(f["ORIGINATOR_ID"], "switchboard");
        assert_eq!(f["SOURCE_ID"], "STORE");
        assert_eq!(
            f["PHONE"],
            json!([{"VALUE": "+380501234567", "VALUE_TYPE": "MOBILE"}])
        );
        assert_eq!(
            f["IM"],
            json!([{"VALUE": "olena", "VALUE_TYPE": "TELEGRAM"}])
        );
        assert!(f.get("EMAIL").is_none(), "a blank e-mail is left out");
    }

    #[test]
    fn a_question_has_no_amount() {
        let params = add_params(&lead(LeadKind::Question), None);
        assert!(params["fields"].get("OPPORTUNITY").is_none());
        assert!(params["fields"].get("SOURCE_ID").is_none());
    }

    #[test]
    fn only_the_exact_key_is_a_hit() {
        let found: Vec<Found> = serde_json::from_value(json!([
            {"ID": "3", "ORIGIN_ID": "TG-1"}, {"ID": "4", "ORIGIN_ID": "tg-1"}
        ]))
        .unwrap_or_default();
        assert_eq!(exact_hit(&found, "tg-1").as_deref(), Some("4"));
        assert_eq!(exact_hit(&found, "tg-2"), None);
    }
}
