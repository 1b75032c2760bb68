//! Pipeline cards: validation, storage and rendering.

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

use super::Shared;
use super::api::{filters, includes, int_list, model_not_found};
use super::catalog::{Catalog, offer_json};
use super::clock;
use super::json::{Reply, field_error, money, page_params, paginate};
use super::pipelines::{self, PIPELINES};
use super::record::RecordedRequest;

/// The associations `GET /pipelines/cards[/{id}]` accepts in `include`.
const CARD_INCLUDES: &[&str] = &[
    "contact",
    "contact.client",
    "products",
    "products.offer",
    "manager",
    "status",
    "payments",
    "custom_fields",
];

/// The filters `GET /pipelines/cards` accepts.
const CARD_FILTERS: &[&str] = &[
    "pipeline_id",
    "status_id",
    "source_id",
    "created_between",
    "updated_between",
];

const UTM_FIELDS: &[&str] = &[
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "utm_content",
];

/// Every card created so far, and the id sequences.
#[derive(Debug)]
pub(crate) struct CardStore {
    next_id: i64,
    next_contact_id: i64,
    next_client_id: i64,
    next_row_id: i64,
    cards: Vec<Card>,
}

#[derive(Debug, Clone)]
struct Card {
    id: i64,
    title: String,
    pipeline_id: i64,
    status_id: i64,
    contact_id: i64,
    client_id: i64,
    source_id: Option<i64>,
    manager_id: Option<i64>,
    /// The request body exactly as received.
    body: Map<String, Value>,
    /// Ids of the card's product rows, one per `products` entry.
    product_row_ids: Vec<i64>,
    /// Ids of the card's payments, one per `payments` entry.
    payment_ids: Vec<i64>,
    created_at: String,
    updated_at: String,
    status_changed_at: String,
}

/// What validation extracted from a card request.
struct ValidCard {
    title: Option<String>,
    pipeline_id: i64,
    source_id: Option<i64>,
    manager_id: Option<i64>,
    client_id: Option<i64>,
}

impl CardStore {
    /// Cards get ids from `first_id` on; contacts from 1001 and clients from 2001, so a
    /// plugin that mixes up the three kinds of id is caught.
    pub(crate) fn new(first_id: i64) -> Self {
        Self {
            next_id: first_id,
            next_contact_id: 1001,
            next_client_id: 2001,
            next_row_id: 1,
            cards: Vec::new(),
        }
    }

    /// Every card as the request body plus the assigned fields.
    pub(crate) fn stored(&self) -> Vec<Value> {
        self.cards.iter().map(Card::stored_json).collect()
    }

    /// Moves a card to another status; `false` if the card or the status is unknown.
    pub(crate) fn set_status(&mut self, card_id: i64, status_id: i64) -> bool {
        let Some(status) = pipelines::status(status_id) else {
            return false;
        };
        let Some(card) = self.cards.iter_mut().find(|c| c.id == card_id) else {
            return false;
        };
        let now = clock::now_utc();
        card.status_id = status.id;
        card.pipeline_id = status.pipeline_id;
        card.status_changed_at.clone_from(&now);
        card.updated_at = now;
        true
    }

    /// How many cards are in `status_id`.
    pub(crate) fn count_in_status(&self, status_id: i64) -> usize {
        self.cards
            .iter()
            .filter(|c| c.status_id == status_id)
            .count()
    }

    fn insert(&mut self, valid: ValidCard, body: Map<String, Value>) -> &Card {
        let id = self.next_id;
        self.next_id += 1;
        let contact_id = self.next_contact_id;
        self.next_contact_id += 1;
        let client_id = valid.client_id.unwrap_or_else(|| {
            let id = self.next_client_id;
            self.next_client_id += 1;
            id
        });
        let mut row_ids = |key: &str| -> Vec<i64> {
            let count = body.get(key).and_then(Value::as_array).map_or(0, Vec::len);
            (0..count)
                .map(|_| {
                    let id = self.next_row_id;
                    self.next_row_id += 1;
                    id
                })
                .collect()
        };
        let product_row_ids = row_ids("products");
        let payment_ids = row_ids("payments");
        let status_id = pipelines::statuses_of(valid.pipeline_id)
            .first()
            .map_or(1, |s| s.id);
        let now = clock::now_utc();
        self.cards.push(Card {
            id,
            title: valid.title.unwrap_or_else(|| format!("#{id}")),
            pipeline_id: valid.pipeline_id,
            status_id,
            contact_id,
            client_id,
            source_id: valid.source_id,
            manager_id: valid.manager_id,
            body,
            product_row_ids,
            payment_ids,
            created_at: now.clone(),
            updated_at: now.clone(),
            status_changed_at: now,
        });
        &self.cards[self.cards.len() - 1]
    }

    fn find(&self, id: i64) -> Option<&Card> {
        self.cards.iter().find(|c| c.id == id)
    }
}

/// `POST /pipelines/cards`.
pub(crate) fn create(shared: &Shared, request: &RecordedRequest) -> Reply {
    let body = input(request);
    match validate(&body, &shared.valid_source_ids) {
        Ok(valid) => {
            let mut state = shared.lock();
            let card = state.cards.insert(valid, body);
            Reply::json(201, &card.created_json())
        }
        Err(errors) => Reply::validation(&errors),
    }
}

/// `GET /pipelines/cards`.
pub(crate) fn list(shared: &Shared, request: &RecordedRequest) -> Reply {
    let page = match page_params(request) {
        Ok(page) => page,
        Err(reply) => return reply,
    };
    let includes = match includes(request, CARD_INCLUDES) {
        Ok(includes) => includes,
        Err(reply) => return reply,
    };
    let filters = match filters(request, CARD_FILTERS) {
        Ok(filters) => filters,
        Err(reply) => return reply,
    };
    let state = shared.lock();
    let cards: Vec<&Card> = state
        .cards
        .cards
        .iter()
        .filter(|card| {
            filters.iter().all(|&(name, value)| match name {
                "pipeline_id" => int_list(value).contains(&card.pipeline_id),
                "status_id" => int_list(value).contains(&card.status_id),
                "source_id" => card.source_id.is_some_and(|s| int_list(value).contains(&s)),
                "created_between" => between(&card.created_at, value),
                _ => between(&card.updated_at, value),
            })
        })
        .collect();
    Reply::json(
        200,
        &paginate(&shared.origin, request, page, &cards, |card| {
            card.full_json(&shared.catalog, &includes)
        }),
    )
}

/// `GET /pipelines/cards/{cardId}`: the card object itself, not an envelope.
pub(crate) fn show(shared: &Shared, request: &RecordedRequest, id: &str) -> Reply {
    let includes = match includes(request, CARD_INCLUDES) {
        Ok(includes) => includes,
        Err(reply) => return reply,
    };
    let state = shared.lock();
    match id.parse().ok().and_then(|id| state.cards.find(id)) {
        Some(card) => Reply::json(200, &card.full_json(&shared.catalog, &includes)),
        None => model_not_found("Lead", id),
    }
}

/// Whether `at` lies in `"from, to"` (either end may be left out). Timestamps in the
/// `YYYY-MM-DD HH:MM:SS` format compare correctly as text.
fn between(at: &str, range: &str) -> bool {
    let (from, to) = range.split_once(',').unwrap_or((range, ""));
    let (from, to) = (from.trim(), to.trim());
    (from.is_empty() || at >= from) && (to.is_empty() || at <= to)
}

/// The request input as Laravel sees it: a JSON object when the content type is JSON,
/// and nothing otherwise (so a form body or broken JSON fails validation).
fn input(request: &RecordedRequest) -> Map<String, Value> {
    let is_json = request
        .header("content-type")
        .is_some_and(|ct| ct.to_ascii_lowercase().contains("json"));
    if !is_json {
        return Map::new();
    }
    match request.json() {
        Some(Value::Object(map)) => map,
        _ => Map::new(),
    }
}

/// Validates a card request like KeyCRM's form request; every error is reported.
fn validate(
    body: &Map<String, Value>,
    valid_source_ids: &[i64],
) -> Result<ValidCard, Vec<(String, String)>> {
    let mut errors = Vec::new();

    let title = match present(body, "title") {
        None => None,
        Some(Value::String(title)) if title.chars().count() > 255 => {
            errors.push(field_error(
                "title",
                "The title field must not be greater than 255 characters.",
            ));
            None
        }
        Some(Value::String(title)) => Some(title.clone()),
        Some(_) => {
            errors.push(field_error("title", "The title field must be a string."));
            None
        }
    };

    let source_id = match present(body, "source_id") {
        None => None,
        Some(value) => match integer(value) {
            Some(id) if valid_source_ids.contains(&id) => Some(id),
            Some(_) => {
                errors.push(field_error(
                    "source_id",
                    "The selected source id is invalid.",
                ));
                None
            }
            None => {
                errors.push(field_error(
                    "source_id",
                    "The source id field must be an integer.",
                ));
                None
            }
        },
    };

    let pipeline_id = match present(body, "pipeline_id") {
        None => PIPELINES[0].id,
        Some(value) => match integer(value).and_then(pipelines::pipeline) {
            Some(pipeline) => pipeline.id,
            None => {
                errors.push(field_error(
                    "pipeline_id",
                    "The selected pipeline id is invalid.",
                ));
                PIPELINES[0].id
            }
        },
    };

    let manager_id = match present(body, "manager_id") {
        None => None,
        Some(value) => {
            let id = integer(value);
            if id.is_none() {
                errors.push(field_error(
                    "manager_id",
                    "The manager id field must be an integer.",
                ));
            }
            id
        }
    };

    for field in ["manager_comment", "communicate_at"]
        .iter()
        .chain(UTM_FIELDS)
    {
        if present(body, field).is_some_and(|v| !v.is_string()) {
            errors.push(field_error(
                field,
                &format!("The {} field must be a string.", field.replace('_', " ")),
            ));
        }
    }

    let client_id = validate_contact(body, &mut errors);
    validate_list(body, "products", &mut errors, |i, item, errors| {
        for key in ["price", "quantity"] {
            if present(item, key).is_some_and(|v| !is_numeric(v)) {
                errors.push(field_error(
                    &format!("products.{i}.{key}"),
                    &format!("The products.{i}.{key} field must be a number."),
                ));
            }
        }
        for key in ["sku", "name", "unit_type", "picture"] {
            if present(item, key).is_some_and(|v| !v.is_string()) {
                errors.push(field_error(
                    &format!("products.{i}.{key}"),
                    &format!("The products.{i}.{key} field must be a string."),
                ));
            }
        }
    });
    validate_list(
        body,
        "payments",
        &mut errors,
        |i, item, errors| match present(item, "amount") {
            None => errors.push(field_error(
                &format!("payments.{i}.amount"),
                &format!("The payments.{i}.amount field is required."),
            )),
            Some(v) if !is_numeric(v) => errors.push(field_error(
                &format!("payments.{i}.amount"),
                &format!("The payments.{i}.amount field must be a number."),
            )),
            Some(_) => {}
        },
    );
    validate_list(body, "custom_fields", &mut errors, |i, item, errors| {
        if !present(item, "uuid").is_some_and(Value::is_string) {
            errors.push(field_error(
                &format!("custom_fields.{i}.uuid"),
                &format!("The custom_fields.{i}.uuid field is required."),
            ));
        }
    });

    if errors.is_empty() {
        Ok(ValidCard {
            title,
            pipeline_id,
            source_id,
            manager_id,
            client_id,
        })
    } else {
        Err(errors)
    }
}

/// Checks `contact` and returns its `client_id`, if one was given.
fn validate_contact(body: &Map<String, Value>, errors: &mut Vec<(String, String)>) -> Option<i64> {
    let required = || field_error("contact", "The contact field is required.");
    let contact = match present(body, "contact") {
        None => {
            errors.push(required());
            return None;
        }
        Some(Value::Object(contact)) => contact,
        Some(_) => {
            errors.push(field_error(
                "contact",
                "The contact field must be an array.",
            ));
            return None;
        }
    };
    let filled = |key: &str| {
        present(contact, key)
            .and_then(Value::as_str)
            .is_some_and(|s| !s.trim().is_empty())
    };
    let client_id = present(contact, "client_id").and_then(integer);
    if present(contact, "client_id").is_some() && client_id.is_none() {
        errors.push(field_error(
            "contact.client_id",
            "The contact.client id field must be an integer.",
        ));
    }
    if !filled("full_name") && !filled("phone") && !filled("email") && client_id.is_none() {
        errors.push(required());
        return None;
    }
    for key in ["full_name", "phone", "email"] {
        if present(contact, key).is_some_and(|v| !v.is_string()) {
            errors.push(field_error(
                &format!("contact.{key}"),
                &format!(
                    "The contact.{} field must be a string.",
                    key.replace('_', " ")
                ),
            ));
        }
    }
    if let Some(email) = present(contact, "email").and_then(Value::as_str)
        && !looks_like_email(email)
    {
        errors.push(field_error(
            "contact.email",
            "The contact.email field must be a valid email address.",
        ));
    }
    client_id
}

/// Checks that `body[key]`, when present, is an array of objects, and runs `check` on each.
fn validate_list(
    body: &Map<String, Value>,
    key: &str,
    errors: &mut Vec<(String, String)>,
    check: impl Fn(usize, &Map<String, Value>, &mut Vec<(String, String)>),
) {
    let items = match present(body, key) {
        None => return,
        Some(Value::Array(items)) => items,
        Some(_) => {
            errors.push(field_error(
                key,
                &format!("The {} field must be an array.", key.replace('_', " ")),
            ));
            return;
        }
    };
    for (i, item) in items.iter().enumerate() {
        match item {
            Value::Object(item) => check(i, item, errors),
            _ => errors.push(field_error(
                &format!("{key}.{i}"),
                &format!("The {key}.{i} field must be an array."),
            )),
        }
    }
}

/// A field that is there and not null (Laravel's `nullable` treats null as absent).
fn present<'a>(map: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    map.get(key).filter(|v| !v.is_null())
}

/// An integer, also from an integral string, as Laravel's `integer` rule accepts.
fn integer(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Whether PHP's `is_numeric` would accept the value.
fn is_numeric(value: &Value) -> bool {
    match value {
        Value::Number(_) => true,
        Value::String(s) => numeric_text(s).is_some(),
        _ => false,
    }
}

fn numeric_text(text: &str) -> Option<f64> {
    let text = text.trim();
    let plain = text
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+' | b'e' | b'E'));
    if text.is_empty() || !plain {
        return None;
    }
    text.parse::<f64>().ok().filter(|v| v.is_finite())
}

/// A number as JSON, converting numeric strings.
fn as_number(value: &Value) -> Option<Value> {
    match value {
        Value::Number(_) => Some(value.clone()),
        Value::String(s) => numeric_text(s).map(|v| {
            if v.fract() == 0.0 && v.abs() < 1e15 {
                // The guard keeps the float exactly representable as an integer.
                #[allow(clippy::cast_possible_truncation)]
                Value::from(v as i64)
            } else {
                Value::from(v)
            }
        }),
        _ => None,
    }
}

fn looks_like_email(email: &str) -> bool {
    match email.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty() && !domain.is_empty() && !domain.contains('@') && !email.contains(' ')
        }
        None => false,
    }
}

impl Card {
    fn field(&self, key: &str) -> Value {
        self.body.get(key).cloned().unwrap_or(Value::Null)
    }

    fn is_finished(&self) -> bool {
        pipelines::status(self.status_id).is_some_and(|s| s.is_final)
    }

    /// The request body with the assigned fields set on top.
    fn stored_json(&self) -> Value {
        let mut stored = self.body.clone();
        let assigned = [
            ("id", json!(self.id)),
            ("title", json!(self.title)),
            ("pipeline_id", json!(self.pipeline_id)),
            ("status_id", json!(self.status_id)),
            ("contact_id", json!(self.contact_id)),
            ("client_id", json!(self.client_id)),
            ("source_id", json!(self.source_id)),
            ("created_at", json!(self.created_at)),
            ("updated_at", json!(self.updated_at)),
            ("status_changed_at", json!(self.status_changed_at)),
        ];
        for (key, value) in assigned {
            stored.insert(key.to_owned(), value);
        }
        Value::Object(stored)
    }

    /// The `PipelineCard` schema returned by `POST /pipelines/cards`.
    ///
    /// `is_finished` is a boolean (the spec types it as a string, which looks like a
    /// copy-paste slip in the document).
    fn created_json(&self) -> Value {
        json!({
            "id": self.id,
            "title": self.title,
            "source_id": self.source_id,
            "status_id": self.status_id,
            "manager_id": self.manager_id,
            "manager_comment": self.field("manager_comment"),
            "contact_id": self.contact_id,
            "is_finished": self.is_finished(),
            "status_changed_at": self.status_changed_at,
            "communicate_at": self.field("communicate_at"),
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        })
    }

    /// The `PipelineCardWithIncludes` schema with the requested associations.
    fn full_json(&self, catalog: &Catalog, includes: &BTreeSet<String>) -> Value {
        let mut value = json!({
            "id": self.id,
            "title": self.title,
            "source_id": self.source_id,
            "status_id": self.status_id,
            "manager_id": self.manager_id,
            "contact_id": self.contact_id,
            "target_id": null,
            "target_type": null,
            "manager_comment": self.field("manager_comment"),
            "is_finished": self.is_finished(),
            "status_changed_at": self.status_changed_at,
            "communicate_at": self.field("communicate_at"),
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        });
        for utm in UTM_FIELDS {
            value[*utm] = self.field(utm);
        }
        let has = |name: &str| includes.contains(name);
        if has("contact") || has("contact.client") {
            value["contact"] = self.contact_json(has("contact.client"));
        }
        if has("products") || has("products.offer") {
            value["products"] = self.products_json(catalog, has("products.offer"));
        }
        if has("status") {
            value["status"] =
                pipelines::status(self.status_id).map_or(Value::Null, pipelines::card_status_json);
        }
        if has("manager") {
            value["manager"] = self.manager_json();
        }
        if has("payments") {
            value["payments"] = self.payments_json();
        }
        if has("custom_fields") {
            value["custom_fields"] = self.custom_fields_json();
        }
        value
    }

    fn contact(&self) -> Map<String, Value> {
        self.body
            .get("contact")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default()
    }

    fn contact_json(&self, with_client: bool) -> Value {
        let contact = self.contact();
        let get = |key: &str| contact.get(key).cloned().unwrap_or(Value::Null);
        let mut value = json!({
            "id": self.contact_id,
            "full_name": get("full_name"),
            "email": get("email"),
            "phone": get("phone"),
            "picture": null,
            "additional_details": null,
            "client_id": self.client_id,
            "social_name": null,
            "social_id": null,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        });
        if with_client {
            value["client"] = json!({
                "id": self.client_id,
                "company_id": null,
                "full_name": get("full_name"),
                "phone": get("phone"),
                "formatted_phone": null,
                "additional_phone": null,
                "email": get("email"),
                "note": null,
                "picture": null,
                "image": null,
                "currency": "UAH",
                "orders_sum": "0.00",
                "orders_count": 0,
                "has_duplicates": 0,
                "manager_id": null,
                "created_at": self.created_at,
                "updated_at": self.updated_at,
            });
        }
        value
    }

    fn list(&self, key: &str) -> Vec<Map<String, Value>> {
        self.body
            .get(key)
            .and_then(Value::as_array)
            .map(|items| items.iter().filter_map(Value::as_object).cloned().collect())
            .unwrap_or_default()
    }

    fn products_json(&self, catalog: &Catalog, with_offer: bool) -> Value {
        let rows: Vec<Value> = self
            .list("products")
            .iter()
            .zip(&self.product_row_ids)
            .map(|(item, row_id)| {
                let get = |key: &str| item.get(key).cloned().unwrap_or(Value::Null);
                let sku = item.get("sku").and_then(Value::as_str);
                let offer = sku.and_then(|sku| catalog.offer_by_sku(sku));
                let price = item
                    .get("price")
                    .and_then(as_number)
                    .or_else(|| offer.map(|o| money(o.price_kopecks)))
                    .unwrap_or_else(|| Value::from(0));
                let quantity = item
                    .get("quantity")
                    .and_then(as_number)
                    .unwrap_or_else(|| Value::from(1));
                let mut row = json!({
                    "id": row_id,
                    "product_id": offer.map(|o| o.id),
                    "name": get("name"),
                    "sku": get("sku"),
                    "price": price,
                    "quantity": quantity,
                    "unit_type": get("unit_type"),
                    "picture": get("picture"),
                });
                if with_offer {
                    row["offer"] = offer.map_or(Value::Null, offer_json);
                }
                row
            })
            .collect();
        Value::Array(rows)
    }

    fn manager_json(&self) -> Value {
        match self.manager_id {
            None => Value::Null,
            Some(id) => json!({
                "id": id,
                "first_name": "Менеджер",
                "last_name": id.to_string(),
                "full_name": format!("Менеджер {id}"),
                "username": format!("manager{id}"),
                "email": format!("manager{id}@shop.example.com"),
                "phone": null,
                "role_id": 2,
                "status": "active",
                "created_at": self.created_at,
                "updated_at": self.updated_at,
                "last_logged_at": self.created_at,
            }),
        }
    }

    fn payments_json(&self) -> Value {
        let payments: Vec<Value> = self
            .list("payments")
            .iter()
            .zip(&self.payment_ids)
            .map(|(item, id)| {
                let get = |key: &str| item.get(key).cloned().unwrap_or(Value::Null);
                json!({
                    "id": id,
                    "payment_method_id": get("payment_method_id"),
                    "amount": item.get("amount").and_then(as_number),
                    "actual_currency": "UAH",
                    "transaction_uuid": null,
                    "description": get("description"),
                    "status": item.get("status").cloned().unwrap_or_else(|| json!("not_paid")),
                    "payment_date": item.get("payment_date").cloned().unwrap_or_else(|| json!(self.created_at)),
                    "created_at": self.created_at,
                    "updated_at": self.updated_at,
                })
            })
            .collect();
        Value::Array(payments)
    }

    fn custom_fields_json(&self) -> Value {
        let fields: Vec<Value> = self
            .list("custom_fields")
            .iter()
            .enumerate()
            .map(|(i, item)| {
                json!({
                    "id": i + 1,
                    "uuid": item.get("uuid").cloned().unwrap_or(Value::Null),
                    "name": item.get("uuid").cloned().unwrap_or(Value::Null),
                    "type": "text",
                    "value": item.get("value").cloned().unwrap_or(Value::Null),
                })
            })
            .collect();
        Value::Array(fields)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(body: Value) -> Result<ValidCard, Vec<(String, String)>> {
        let Value::Object(body) = body else {
            panic!("test bodies are objects");
        };
        validate(&body, &[1, 7])
    }

    fn fields(result: Result<ValidCard, Vec<(String, String)>>) -> Vec<String> {
        match result {
            Ok(_) => Vec::new(),
            Err(errors) => errors.into_iter().map(|(field, _)| field).collect(),
        }
    }

    #[test]
    fn it_accepts_a_minimal_card() {
        let valid =
            check(json!({ "contact": { "phone": "+380501112233" } })).expect("a phone is enough");
        assert_eq!(valid.pipeline_id, 1);
        assert_eq!(valid.source_id, None);
        assert_eq!(valid.title, None);
    }

    #[test]
    fn it_requires_a_usable_contact() {
        assert_eq!(fields(check(json!({}))), vec!["contact"]);
        assert_eq!(fields(check(json!({ "contact": {} }))), vec!["contact"]);
        assert_eq!(
            fields(check(
                json!({ "contact": { "full_name": "  ", "phone": null } })
            )),
            vec!["contact"]
        );
        assert_eq!(
            fields(check(json!({ "contact": "Олена" }))),
            vec!["contact"]
        );
        assert!(check(json!({ "contact": { "client_id": 55 } })).is_ok());
        assert_eq!(
            fields(check(
                json!({ "contact": { "full_name": "Олена", "email": "nope" } })
            )),
            vec!["contact.email"]
        );
    }

    #[test]
    fn it_checks_sources_pipelines_and_numbers() {
        assert_eq!(
            fields(check(
                json!({ "contact": { "full_name": "Олена" }, "source_id": 2 })
            )),
            vec!["source_id"]
        );
        assert!(check(json!({ "contact": { "full_name": "Олена" }, "source_id": "7" })).is_ok());
        assert_eq!(
            fields(check(
                json!({ "contact": { "full_name": "Олена" }, "pipeline_id": 9 })
            )),
            vec!["pipeline_id"]
        );
        assert_eq!(
            fields(check(json!({
                "contact": { "full_name": "Олена" },
                "products": [
                    { "sku": "TS-0001-1", "price": "12.50", "quantity": 1 },
                    { "sku": "TS-0001-2", "price": "дорого", "quantity": "x" },
                    { "sku": "TS-0001-3", "price": true, "quantity": 2.5 }
                ]
            }))),
            vec![
                "products.1.price",
                "products.1.quantity",
                "products.2.price"
            ]
        );
    }

    #[test]
    fn it_reports_every_error_at_once() {
        let errors = fields(check(
            json!({ "title": 5, "source_id": "abc", "products": {} }),
        ));
        assert_eq!(errors, vec!["title", "source_id", "contact", "products"]);
    }

    #[test]
    fn it_matches_date_ranges_as_text() {
        assert!(between(
            "2024-05-01 10:00:00",
            "2024-05-01 00:00:00, 2024-05-01 23:59:59"
        ));
        assert!(!between(
            "2024-05-02 00:00:00",
            "2024-05-01 00:00:00, 2024-05-01 23:59:59"
        ));
        assert!(between("2024-05-02 00:00:00", "2024-05-01 00:00:00"));
    }

    #[test]
    fn it_numbers_cards_contacts_and_clients_apart() {
        let mut store = CardStore::new(500);
        let valid = || ValidCard {
            title: None,
            pipeline_id: 2,
            source_id: None,
            manager_id: None,
            client_id: None,
        };
        let first = store.insert(valid(), Map::new()).stored_json();
        assert_eq!(first["id"], 500);
        assert_eq!(first["title"], "#500");
        assert_eq!(first["contact_id"], 1001);
        assert_eq!(first["client_id"], 2001);
        assert_eq!(first["status_id"], 5);
        let second = store.insert(valid(), Map::new()).stored_json();
        assert_eq!(second["id"], 501);
        assert!(store.set_status(500, 3));
        assert!(!store.set_status(500, 99));
        assert!(!store.set_status(42, 3));
        assert_eq!(store.stored()[0]["pipeline_id"], 1);
        assert_eq!(store.count_in_status(3), 1);
    }
}
