//! JSON renderings of CRM values, for the CLI and the admin API, and the
//! reverse for leads typed by hand (`switchboard plugin call … create-lead`).

use serde_json::{Value, json};

use switchboard_crm::{
    Contact, CrmError, Lead, LeadKind, LeadRef, LineItem, Money, Operations, PipelineStatus,
    PluginInfo, Product, ProductPage, StatusEvent,
};

/// `{"amount": "1299.50", "currency": "UAH", "minor_units": 129950, "scale": 2}`.
pub fn money(m: &Money) -> Value {
    json!({
        "amount": m.to_decimal_string(),
        "currency": m.currency,
        "minor_units": m.minor_units,
        "scale": m.scale,
    })
}

/// A product.
pub fn product(p: &Product) -> Value {
    json!({
        "id": p.id,
        "name": p.name,
        "variant": p.variant_name,
        "sku": p.sku,
        "price": money(&p.price),
        "description": p.description,
        "image_url": p.image_url,
        "stock": p.stock,
    })
}

/// A catalog page.
pub fn page(p: &ProductPage) -> Value {
    json!({
        "items": p.items.iter().map(product).collect::<Vec<_>>(),
        "next_cursor": p.next_cursor,
        "total": p.total,
    })
}

/// The names of a plugin's optional operations.
pub fn operations(ops: Operations) -> Vec<&'static str> {
    let mut names = Vec::new();
    if ops.contains(Operations::GET_PRODUCT) {
        names.push("get-product");
    }
    if ops.contains(Operations::LEAD_STATUS) {
        names.push("lead-status");
    }
    if ops.contains(Operations::HANDLE_WEBHOOK) {
        names.push("handle-webhook");
    }
    if ops.contains(Operations::IDEMPOTENT_CREATE) {
        names.push("idempotent-create");
    }
    names
}

/// A plugin's self-description.
pub fn info(i: &PluginInfo) -> Value {
    json!({
        "id": i.id,
        "name": i.name,
        "version": i.version,
        "operations": operations(i.operations),
    })
}

/// A created lead.
pub fn lead_ref(r: &LeadRef) -> Value {
    json!({ "id": r.id, "url": r.url })
}

/// A pipeline status.
pub fn status(s: &PipelineStatus) -> Value {
    json!({ "id": s.id, "name": s.name, "is_final": s.is_final })
}

/// Webhook events.
pub fn events(events: &[StatusEvent]) -> Value {
    Value::Array(
        events
            .iter()
            .map(|e| json!({ "lead_id": e.lead_id, "status": status(&e.status) }))
            .collect(),
    )
}

/// A CRM error as `{"kind": "...", "message": "..."}`.
pub fn crm_error(e: &CrmError) -> Value {
    match e {
        CrmError::Unauthorized(m) => json!({"kind": "unauthorized", "message": m}),
        CrmError::RateLimited(s) => json!({"kind": "rate-limited", "retry_after_secs": s}),
        CrmError::Unavailable(m) => json!({"kind": "unavailable", "message": m}),
        CrmError::InvalidRequest(m) => json!({"kind": "invalid-request", "message": m}),
        CrmError::NotFound(m) => json!({"kind": "not-found", "message": m}),
        CrmError::Unsupported(m) => json!({"kind": "unsupported", "message": m}),
    }
}

/// A lead as JSON, in the shape [`lead_from`] reads back (money amounts as
/// exact decimal strings).
pub fn lead(l: &Lead) -> Value {
    let c = &l.contact;
    let mut out = json!({
        "idempotency_key": l.idempotency_key,
        "title": l.title,
        "comment": l.comment,
        "source": l.source,
        "contact": {
            "full_name": c.full_name,
            "phone": c.phone,
            "email": c.email,
            "telegram_user_id": c.telegram_user_id,
            "telegram_username": c.telegram_username,
        },
    });
    match &l.kind {
        LeadKind::Order(items) => {
            out["kind"] = json!("order");
            out["items"] = Value::Array(
                items
                    .iter()
                    .map(|i| {
                        json!({
                            "product_id": i.product_id,
                            "name": i.name,
                            "sku": i.sku,
                            "quantity": i.quantity,
                            "unit_price": {"amount": i.unit_price.to_decimal_string(), "currency": i.unit_price.currency},
                            "image_url": i.image_url,
                        })
                    })
                    .collect(),
            );
        }
        LeadKind::Feedback => out["kind"] = json!("feedback"),
        LeadKind::Question => out["kind"] = json!("question"),
    }
    out
}

fn string(v: &Value, key: &str) -> Result<String, String> {
    v.get(key)
        .and_then(Value::as_str)
        .map(String::from)
        .ok_or_else(|| format!("`{key}` must be a string"))
}

fn opt_string(v: &Value, key: &str) -> Result<Option<String>, String> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(format!("`{key}` must be a string")),
    }
}

/// An outbox row for the admin view and `switchboard outbox list --json`.
pub fn lead_row(r: &switchboard_store::LeadRow) -> Value {
    json!({
        "id": r.id,
        "state": r.state.as_str(),
        "kind": r.kind.name(),
        "chat_id": r.chat_id,
        "title": r.lead.title,
        "idempotency_key": r.lead.idempotency_key,
        "plugin": r.plugin_id,
        "plugin_version": r.plugin_version,
        "attempts": r.attempts,
        "plugin_faults": r.plugin_faults,
        "next_attempt_at_ms": r.next_attempt_at,
        "last_error": r.last_error,
        "crm_id": r.crm_id,
        "crm_url": r.crm_url,
        "created_at_ms": r.created_at,
    })
}

/// Money from `{"amount": "12.50", "currency": "UAH"}` (the amount as a
/// decimal string, never a float).
pub fn money_from(v: &Value, key: &str) -> Result<Money, String> {
    let m = v.get(key).ok_or_else(|| format!("`{key}` is required"))?;
    let amount = m
        .get("amount")
        .and_then(Value::as_str)
        .ok_or_else(|| format!("`{key}.amount` must be a decimal string like \"12.50\""))?;
    let currency = string(m, "currency").map_err(|e| format!("`{key}`: {e}"))?;
    Money::from_decimal_str(amount, currency).map_err(|e| format!("`{key}.amount`: {e}"))
}

/// A lead from JSON: `{"idempotency_key", "kind": "order"|"feedback"|"question",
/// "items": [...], "contact": {...}, "title", "comment", "source"}`.
pub fn lead_from(v: &Value) -> Result<Lead, String> {
    let kind = match string(v, "kind")?.as_str() {
        "order" => {
            let items = v
                .get("items")
                .and_then(Value::as_array)
                .ok_or("an order needs `items`")?;
            let items = items
                .iter()
                .enumerate()
                .map(|(i, item)| {
                    let at = |e: String| format!("items[{i}]: {e}");
                    Ok(LineItem {
                        product_id: string(item, "product_id").map_err(at)?,
                        name: string(item, "name").map_err(at)?,
                        sku: opt_string(item, "sku").map_err(at)?,
                        quantity: item
                            .get("quantity")
                            .and_then(Value::as_u64)
                            .and_then(|q| u32::try_from(q).ok())
                            .ok_or_else(|| at("`quantity` must be a positive integer".into()))?,
                        unit_price: money_from(item, "unit_price").map_err(at)?,
                        image_url: opt_string(item, "image_url").map_err(at)?,
                    })
                })
                .collect::<Result<Vec<_>, String>>()?;
            LeadKind::Order(items)
        }
        "feedback" => LeadKind::Feedback,
        "question" => LeadKind::Question,
        other => {
            return Err(format!(
                "`kind`: unknown `{other}` (order, feedback, question)"
            ));
        }
    };
    let c = v.get("contact").ok_or("`contact` is required")?;
    let contact = Contact {
        full_name: string(c, "full_name").map_err(|e| format!("contact: {e}"))?,
        phone: opt_string(c, "phone")?,
        email: opt_string(c, "email")?,
        telegram_user_id: c.get("telegram_user_id").and_then(Value::as_i64),
        telegram_username: opt_string(c, "telegram_username")?,
    };
    Ok(Lead {
        idempotency_key: string(v, "idempotency_key")?,
        kind,
        contact,
        title: string(v, "title")?,
        comment: opt_string(v, "comment")?,
        source: opt_string(v, "source")?.unwrap_or_else(|| "telegram".into()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leads_round_trip_through_json() {
        let original = Lead {
            idempotency_key: "k-9".into(),
            kind: LeadKind::Order(vec![LineItem {
                product_id: "7".into(),
                name: "Чашка".into(),
                sku: None,
                quantity: 3,
                unit_price: Money {
                    minor_units: 25_005,
                    scale: 2,
                    currency: "UAH".into(),
                },
                image_url: Some("https://img.example/7.jpg".into()),
            }]),
            contact: Contact {
                full_name: "Ann".into(),
                phone: Some("+380501234567".into()),
                email: None,
                telegram_user_id: Some(42),
                telegram_username: Some("ann".into()),
            },
            title: "Order".into(),
            comment: None,
            source: "telegram".into(),
        };
        let back = lead_from(&lead(&original)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back, original);
        let question = Lead {
            kind: LeadKind::Question,
            comment: Some("Чи є розмір XL?".into()),
            ..original
        };
        assert_eq!(lead_from(&lead(&question)).ok(), Some(question));
    }

    #[test]
    fn reads_a_typed_order() {
        let lead = lead_from(&json!({
            "idempotency_key": "k", "kind": "order", "title": "Order",
            "contact": {"full_name": "Ann", "phone": "+380501234567"},
            "items": [{"product_id": "7", "name": "Cup", "quantity": 2,
                       "unit_price": {"amount": "99.90", "currency": "UAH"}}]
        }))
        .unwrap_or_else(|e| panic!("{e}"));
        let LeadKind::Order(items) = &lead.kind else {
            panic!("not an order")
        };
        assert_eq!(items[0].unit_price.minor_units, 9990);
        assert_eq!(items[0].unit_price.scale, 2);
        assert_eq!(lead.source, "telegram");
        assert!(lead_from(&json!({"kind": "gift"})).is_err());
        let err = lead_from(
            &json!({"idempotency_key": "k", "kind": "order", "title": "t",
            "contact": {"full_name": "A"},
            "items": [{"product_id": "7", "name": "Cup", "quantity": 2,
                       "unit_price": {"amount": 99.9, "currency": "UAH"}}]}),
        )
        .err()
        .unwrap_or_default();
        assert!(
            err.contains("items[0]") && err.contains("decimal string"),
            "{err}"
        );
    }
}
