//! Leads, contacts and notes: validation, storage, rendering and search.

use serde_json::{Map, Value, json};

use super::api::{HAL, hal_page, id_filter, problem, validation_errors};
use super::pipelines::{self, MAIN_PIPELINE_ID};
use super::webhook::AmoStatusChange;
use super::{Ctx, Shared};
use crate::clock;
use crate::record::RecordedRequest;
use crate::reply::Reply;

/// The user every simulated entity is assigned to.
const RESPONSIBLE_USER_ID: i64 = 9_000_001;
/// `POST /api/v4/leads/complex` takes at most this many leads.
const MAX_COMPLEX_LEADS: usize = 50;

/// One problem with one field of a rejected entity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FieldError {
    pub(crate) code: &'static str,
    pub(crate) path: String,
    pub(crate) detail: &'static str,
}

impl FieldError {
    fn new(code: &'static str, path: impl Into<String>, detail: &'static str) -> Self {
        Self {
            code,
            path: path.into(),
            detail,
        }
    }

    fn invalid_choice(path: impl Into<String>) -> Self {
        Self::new(
            "NotSupportedChoice",
            path,
            "The value you selected is not a valid choice.",
        )
    }

    fn blank(path: impl Into<String>) -> Self {
        Self::new("NotBlank", path, "This value should not be blank.")
    }
}

/// A custom field of the account.
#[derive(Debug)]
struct FieldDef {
    id: i64,
    name: &'static str,
    code: &'static str,
    kind: &'static str,
    /// The `enum_code`s a `multitext` value may carry; the first is the default.
    enums: &'static [&'static str],
}

/// The lead fields a shop integration typically sets up.
const LEAD_FIELDS: &[FieldDef] = &[
    FieldDef {
        id: 1_001_001,
        name: "Telegram ID",
        code: "TELEGRAM_ID",
        kind: "text",
        enums: &[],
    },
    FieldDef {
        id: 1_001_003,
        name: "Ключ замовлення",
        code: "ORDER_KEY",
        kind: "text",
        enums: &[],
    },
    FieldDef {
        id: 1_001_005,
        name: "Доставка",
        code: "DELIVERY",
        kind: "textarea",
        enums: &[],
    },
];

/// The predefined contact fields.
const CONTACT_FIELDS: &[FieldDef] = &[
    FieldDef {
        id: 3_000_001,
        name: "Телефон",
        code: "PHONE",
        kind: "multitext",
        enums: &["WORK", "WORKDD", "MOB", "FAX", "HOME", "OTHER"],
    },
    FieldDef {
        id: 3_000_003,
        name: "Email",
        code: "EMAIL",
        kind: "multitext",
        enums: &["WORK", "PRIV", "OTHER"],
    },
];

/// Enum ids are derived from the field id and the enum's position.
fn enum_id(def: &FieldDef, index: usize) -> i64 {
    def.id * 10 + i64::try_from(index).unwrap_or(0) + 1
}

#[derive(Debug, Clone)]
struct Lead {
    id: i64,
    name: String,
    price: i64,
    status_id: i64,
    pipeline_id: i64,
    fields: Vec<Value>,
    tag_ids: Vec<i64>,
    contact_id: Option<i64>,
    created_at: i64,
    updated_at: i64,
    closed_at: Option<i64>,
}

#[derive(Debug, Clone)]
struct Contact {
    id: i64,
    name: String,
    first_name: String,
    last_name: String,
    fields: Vec<Value>,
    created_at: i64,
}

#[derive(Debug, Clone)]
struct Note {
    id: i64,
    entity_id: i64,
    note_type: String,
    params: Value,
    created_at: i64,
}

/// Every lead, contact, tag and note created so far, and the id sequences.
#[derive(Debug)]
pub(crate) struct LeadStore {
    next_lead: i64,
    next_contact: i64,
    next_note: i64,
    next_tag: i64,
    tags: Vec<(i64, String)>,
    leads: Vec<Lead>,
    contacts: Vec<Contact>,
    notes: Vec<Note>,
}

/// A lead that passed validation.
struct NewLead {
    request_id: String,
    name: Option<String>,
    price: i64,
    pipeline_id: i64,
    status_id: i64,
    fields: Vec<Value>,
    tags: Vec<TagRef>,
    contact: Option<ContactRef>,
}

enum TagRef {
    Id(i64),
    Name(String),
}

enum ContactRef {
    Existing(i64),
    New {
        name: String,
        first_name: String,
        last_name: String,
        fields: Vec<Value>,
    },
}

impl LeadStore {
    /// Leads get ids from `first_lead_id` on; contacts from 30 000 001 and notes from
    /// 40 000 001, so a plugin that mixes the kinds of id up is caught.
    pub(crate) fn new(first_lead_id: i64) -> Self {
        Self {
            next_lead: first_lead_id,
            next_contact: 30_000_001,
            next_note: 40_000_001,
            next_tag: 50_001,
            tags: Vec::new(),
            leads: Vec::new(),
            contacts: Vec::new(),
            notes: Vec::new(),
        }
    }

    pub(crate) fn all_leads_json(&self, ctx: &Ctx<'_>) -> Vec<Value> {
        self.leads
            .iter()
            .map(|lead| self.lead_json(ctx, lead, true))
            .collect()
    }

    pub(crate) fn all_contacts_json(&self, ctx: &Ctx<'_>) -> Vec<Value> {
        self.contacts.iter().map(|c| contact_json(ctx, c)).collect()
    }

    pub(crate) fn all_notes_json(&self, ctx: &Ctx<'_>) -> Vec<Value> {
        self.notes.iter().map(|n| note_json(ctx, n)).collect()
    }

    /// Moves a lead; see `AmoCrmSim::set_lead_status`.
    pub(crate) fn set_status(&mut self, lead_id: i64, status_id: i64) -> Option<AmoStatusChange> {
        let lead = self.leads.iter_mut().find(|l| l.id == lead_id)?;
        let pipeline_id = if pipelines::is_closed(status_id) {
            lead.pipeline_id
        } else {
            pipelines::pipeline_of(status_id)?
        };
        let change = AmoStatusChange {
            lead_id,
            status_id,
            pipeline_id,
            old_status_id: lead.status_id,
            old_pipeline_id: lead.pipeline_id,
        };
        let now = clock::unix_now();
        lead.status_id = status_id;
        lead.pipeline_id = pipeline_id;
        lead.updated_at = now;
        lead.closed_at = pipelines::is_closed(status_id).then_some(now);
        Some(change)
    }

    fn find(&self, id: i64) -> Option<&Lead> {
        self.leads.iter().find(|l| l.id == id)
    }

    fn tag_id(&mut self, name: &str) -> i64 {
        if let Some((id, _)) = self.tags.iter().find(|(_, n)| n == name) {
            return *id;
        }
        let id = self.next_tag;
        self.next_tag += 2;
        self.tags.push((id, name.to_owned()));
        id
    }

    /// Stores a validated lead and returns `(lead id, contact id)`.
    fn insert(&mut self, new: NewLead) -> (i64, Option<i64>) {
        let now = clock::unix_now();
        let contact_id = match new.contact {
            None => None,
            Some(ContactRef::Existing(id)) => Some(id),
            Some(ContactRef::New {
                name,
                first_name,
                last_name,
                fields,
            }) => {
                let id = self.next_contact;
                self.next_contact += 1;
                self.contacts.push(Contact {
                    id,
                    name,
                    first_name,
                    last_name,
                    fields,
                    created_at: now,
                });
                Some(id)
            }
        };
        let tag_ids = new
            .tags
            .into_iter()
            .map(|tag| match tag {
                TagRef::Id(id) => id,
                TagRef::Name(name) => self.tag_id(&name),
            })
            .collect();
        let id = self.next_lead;
        self.next_lead += 1;
        self.leads.push(Lead {
            id,
            // amoCRM names an unnamed lead after its id.
            name: new.name.unwrap_or_else(|| format!("Сделка #{id}")),
            price: new.price,
            status_id: new.status_id,
            pipeline_id: new.pipeline_id,
            fields: new.fields,
            tag_ids,
            contact_id,
            created_at: now,
            updated_at: now,
            closed_at: None,
        });
        (id, contact_id)
    }

    fn lead_json(&self, ctx: &Ctx<'_>, lead: &Lead, with_contacts: bool) -> Value {
        let tags: Vec<Value> = lead
            .tag_ids
            .iter()
            .map(|id| {
                let name = self
                    .tags
                    .iter()
                    .find(|(t, _)| t == id)
                    .map_or("", |(_, n)| n.as_str());
                json!({ "id": id, "name": name, "color": null })
            })
            .collect();
        let mut embedded = json!({ "tags": tags, "companies": [] });
        if with_contacts {
            embedded["contacts"] = lead
                .contact_id
                .iter()
                .map(|id| {
                    json!({
                        "id": id,
                        "is_main": true,
                        "_links": { "self": { "href": format!("{}/api/v4/contacts/{id}", ctx.origin) } },
                    })
                })
                .collect();
        }
        json!({
            "id": lead.id,
            "name": lead.name,
            "price": lead.price,
            "responsible_user_id": RESPONSIBLE_USER_ID,
            "group_id": 0,
            "status_id": lead.status_id,
            "pipeline_id": lead.pipeline_id,
            "loss_reason_id": null,
            "created_by": 0,
            "updated_by": 0,
            "created_at": lead.created_at,
            "updated_at": lead.updated_at,
            "closed_at": lead.closed_at,
            "closest_task_at": null,
            "is_deleted": false,
            "custom_fields_values": fields_or_null(&lead.fields),
            "score": null,
            "account_id": ctx.account_id,
            "labor_cost": null,
            "_links": { "self": { "href": format!("{}/api/v4/leads/{}", ctx.origin, lead.id) } },
            "_embedded": embedded,
        })
    }
}

/// amoCRM writes `null`, not `[]`, for an entity without custom field values.
fn fields_or_null(fields: &[Value]) -> Value {
    if fields.is_empty() {
        Value::Null
    } else {
        Value::Array(fields.to_vec())
    }
}

fn contact_json(ctx: &Ctx<'_>, contact: &Contact) -> Value {
    json!({
        "id": contact.id,
        "name": contact.name,
        "first_name": contact.first_name,
        "last_name": contact.last_name,
        "responsible_user_id": RESPONSIBLE_USER_ID,
        "group_id": 0,
        "created_by": 0,
        "updated_by": 0,
        "created_at": contact.created_at,
        "updated_at": contact.created_at,
        "custom_fields_values": fields_or_null(&contact.fields),
        "account_id": ctx.account_id,
        "_links": { "self": { "href": format!("{}/api/v4/contacts/{}", ctx.origin, contact.id) } },
    })
}

fn note_json(ctx: &Ctx<'_>, note: &Note) -> Value {
    json!({
        "id": note.id,
        "entity_id": note.entity_id,
        "created_by": 0,
        "updated_by": 0,
        "created_at": note.created_at,
        "updated_at": note.created_at,
        "responsible_user_id": RESPONSIBLE_USER_ID,
        "group_id": 0,
        "note_type": note.note_type,
        "params": note.params,
        "account_id": ctx.account_id,
        "_links": { "self": { "href": format!(
            "{}/api/v4/leads/{}/notes/{}", ctx.origin, note.entity_id, note.id
        ) } },
    })
}

/// The body as JSON, or the 400 amoCRM gives for a body it cannot read.
fn json_body(request: &RecordedRequest) -> Result<Value, Reply> {
    serde_json::from_slice(&request.body)
        .map_err(|_| problem(400, "Bad Request", "Request body is not valid JSON"))
}

/// The body as a JSON array of 1..=`max` items.
fn array_body(request: &RecordedRequest, max: usize) -> Result<Vec<Value>, Reply> {
    let Value::Array(items) = json_body(request)? else {
        return Err(problem(
            400,
            "Bad Request",
            "Request body must be a JSON array",
        ));
    };
    let count_error =
        |detail| validation_errors(&[("0".to_owned(), vec![FieldError::new("Count", "", detail)])]);
    if items.is_empty() {
        return Err(count_error(
            "This collection should contain 1 element or more.",
        ));
    }
    if items.len() > max {
        return Err(count_error(
            "This collection should contain 50 elements or less.",
        ));
    }
    Ok(items)
}

/// The entity's `request_id`, or its position when it has none.
fn request_id(item: &Value, index: usize) -> String {
    match item.get("request_id") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => index.to_string(),
    }
}

/// `POST /api/v4/leads/complex`: every lead is validated first; one bad lead rejects
/// the whole request and nothing is created.
pub(crate) fn create_complex(shared: &Shared, request: &RecordedRequest) -> Reply {
    let items = match array_body(request, MAX_COMPLEX_LEADS) {
        Ok(items) => items,
        Err(reply) => return reply,
    };
    let mut state = shared.lock();
    let mut valid = Vec::new();
    let mut rejected = Vec::new();
    for (index, item) in items.iter().enumerate() {
        match validate_lead(&state.leads, item, index) {
            Ok(lead) => valid.push(lead),
            Err(errors) => rejected.push((request_id(item, index), errors)),
        }
    }
    if !rejected.is_empty() {
        return validation_errors(&rejected);
    }
    let created: Vec<Value> = valid
        .into_iter()
        .map(|lead| {
            let request_id = lead.request_id.clone();
            let (id, contact_id) = state.leads.insert(lead);
            json!({
                "id": id,
                "contact_id": contact_id,
                "company_id": null,
                "request_id": [request_id],
                "merged": false,
            })
        })
        .collect();
    Reply::json_as(200, HAL, &Value::Array(created))
}

fn validate_lead(
    store: &LeadStore,
    item: &Value,
    index: usize,
) -> Result<NewLead, Vec<FieldError>> {
    let Value::Object(lead) = item else {
        return Err(vec![FieldError::new(
            "InvalidType",
            "",
            "This value should be of type object.",
        )]);
    };
    let mut errors = Vec::new();
    let name = match lead.get("name") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.chars().count() <= 255 => Some(s.clone()),
        Some(Value::String(_)) => {
            errors.push(FieldError::new(
                "Length",
                "name",
                "This value is too long. It should have 255 characters or less.",
            ));
            None
        }
        Some(_) => {
            errors.push(FieldError::new(
                "InvalidType",
                "name",
                "This value should be of type string.",
            ));
            None
        }
    };
    let price = match lead.get("price") {
        None | Some(Value::Null) => 0,
        Some(value) => match value.as_i64() {
            Some(p) if p >= 0 => p,
            Some(_) => {
                errors.push(FieldError::new(
                    "GreaterThanOrEqual",
                    "price",
                    "This value should be greater than or equal to 0.",
                ));
                0
            }
            None => {
                errors.push(FieldError::new(
                    "InvalidType",
                    "price",
                    "This value should be of type int.",
                ));
                0
            }
        },
    };
    let (pipeline_id, status_id) = pipeline_and_status(lead, &mut errors);
    let fields = custom_fields(
        lead.get("custom_fields_values"),
        LEAD_FIELDS,
        "custom_fields_values",
        &mut errors,
    );
    let embedded = lead.get("_embedded").and_then(Value::as_object);
    let tags = tags(embedded.and_then(|e| e.get("tags")), store, &mut errors);
    let contact = contact(embedded.and_then(|e| e.get("contacts")), store, &mut errors);
    if errors.is_empty() {
        Ok(NewLead {
            request_id: request_id(item, index),
            name,
            price,
            pipeline_id,
            status_id,
            fields,
            tags,
            contact,
        })
    } else {
        Err(errors)
    }
}

/// The lead's pipeline and status. A status of another pipeline brings its pipeline
/// along; the system statuses 142 and 143 need `pipeline_id` (or mean the main one).
fn pipeline_and_status(lead: &Map<String, Value>, errors: &mut Vec<FieldError>) -> (i64, i64) {
    let pipeline = match lead.get("pipeline_id") {
        None | Some(Value::Null) => None,
        Some(value) => match value.as_i64().and_then(pipelines::pipeline) {
            Some(p) => Some(p.id),
            None => {
                errors.push(FieldError::invalid_choice("pipeline_id"));
                None
            }
        },
    };
    let status = match lead.get("status_id") {
        None | Some(Value::Null) => None,
        Some(value) => value.as_i64().or_else(|| {
            errors.push(FieldError::invalid_choice("status_id"));
            None
        }),
    };
    let pipeline_id = pipeline
        .or_else(|| {
            status
                .filter(|&s| !pipelines::is_closed(s))
                .and_then(pipelines::pipeline_of)
        })
        .unwrap_or(MAIN_PIPELINE_ID);
    let status_id = match status {
        None => pipelines::first_status(pipeline_id),
        Some(s) if s != pipelines::UNSORTED_STATUS_ID && pipelines::has_status(pipeline_id, s) => s,
        Some(s) => {
            errors.push(FieldError::invalid_choice("status_id"));
            s
        }
    };
    (pipeline_id, status_id)
}

/// Validates `custom_fields_values` against `defs` and renders the stored form.
fn custom_fields(
    value: Option<&Value>,
    defs: &'static [FieldDef],
    base: &str,
    errors: &mut Vec<FieldError>,
) -> Vec<Value> {
    let items = match value {
        None | Some(Value::Null) => return Vec::new(),
        Some(Value::Array(items)) => items,
        Some(_) => {
            errors.push(FieldError::new(
                "InvalidType",
                base,
                "This value should be of type array.",
            ));
            return Vec::new();
        }
    };
    let mut rendered = Vec::new();
    for (j, item) in items.iter().enumerate() {
        let by_id = item.get("field_id").and_then(Value::as_i64);
        let by_code = item.get("field_code").and_then(Value::as_str);
        let def = defs.iter().find(|d| {
            by_id == Some(d.id) || by_code.is_some_and(|c| c.eq_ignore_ascii_case(d.code))
        });
        let Some(def) = def else {
            let key = if by_id.is_none() && by_code.is_some() {
                "field_code"
            } else {
                "field_id"
            };
            errors.push(FieldError::invalid_choice(format!("{base}.{j}.{key}")));
            continue;
        };
        let path = format!("{base}.{j}.values");
        let Some(values) = item
            .get("values")
            .and_then(Value::as_array)
            .filter(|v| !v.is_empty())
        else {
            errors.push(FieldError::blank(path));
            continue;
        };
        let mut stored = Vec::new();
        for (k, entry) in values.iter().enumerate() {
            let text = match entry.get("value") {
                Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
                Some(Value::Number(n)) => n.to_string(),
                _ => {
                    errors.push(FieldError::blank(format!("{path}.{k}.value")));
                    continue;
                }
            };
            if def.enums.is_empty() {
                stored.push(json!({ "value": text }));
                continue;
            }
            let code = entry
                .get("enum_code")
                .and_then(Value::as_str)
                .unwrap_or(def.enums[0]);
            match def.enums.iter().position(|e| e.eq_ignore_ascii_case(code)) {
                Some(i) => stored.push(json!({
                    "value": text,
                    "enum_id": enum_id(def, i),
                    "enum_code": def.enums[i],
                })),
                None => errors.push(FieldError::invalid_choice(format!("{path}.{k}.enum_code"))),
            }
        }
        rendered.push(json!({
            "field_id": def.id,
            "field_name": def.name,
            "field_code": def.code,
            "field_type": def.kind,
            "values": stored,
        }));
    }
    rendered
}

fn tags(value: Option<&Value>, store: &LeadStore, errors: &mut Vec<FieldError>) -> Vec<TagRef> {
    let Some(items) = value.and_then(Value::as_array) else {
        return Vec::new();
    };
    let mut tags = Vec::new();
    for (k, tag) in items.iter().enumerate() {
        if let Some(id) = tag.get("id").and_then(Value::as_i64) {
            if store.tags.iter().any(|(t, _)| *t == id) {
                tags.push(TagRef::Id(id));
            } else {
                errors.push(FieldError::invalid_choice(format!("_embedded.tags.{k}.id")));
            }
            continue;
        }
        match tag.get("name").and_then(Value::as_str).map(str::trim) {
            Some(name) if !name.is_empty() => tags.push(TagRef::Name(name.to_owned())),
            _ => errors.push(FieldError::blank(format!("_embedded.tags.{k}.name"))),
        }
    }
    tags
}

fn contact(
    value: Option<&Value>,
    store: &LeadStore,
    errors: &mut Vec<FieldError>,
) -> Option<ContactRef> {
    let items = value.and_then(Value::as_array)?;
    if items.len() > 1 {
        errors.push(FieldError::new(
            "Count",
            "_embedded.contacts",
            "This collection should contain 1 element or less.",
        ));
        return None;
    }
    let contact = items.first()?;
    if let Some(id) = contact.get("id").and_then(Value::as_i64) {
        if store.contacts.iter().any(|c| c.id == id) {
            return Some(ContactRef::Existing(id));
        }
        errors.push(FieldError::new(
            "NotFound",
            "_embedded.contacts.0.id",
            "Entity not found",
        ));
        return None;
    }
    let mut text = |key: &str| match contact.get(key) {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.trim().to_owned(),
        Some(_) => {
            errors.push(FieldError::new(
                "InvalidType",
                format!("_embedded.contacts.0.{key}"),
                "This value should be of type string.",
            ));
            String::new()
        }
    };
    let first_name = text("first_name");
    let last_name = text("last_name");
    let given_name = text("name");
    let fields = custom_fields(
        contact.get("custom_fields_values"),
        CONTACT_FIELDS,
        "_embedded.contacts.0.custom_fields_values",
        errors,
    );
    let name = if given_name.is_empty() {
        format!("{first_name} {last_name}").trim().to_owned()
    } else {
        given_name
    };
    Some(ContactRef::New {
        name,
        first_name,
        last_name,
        fields,
    })
}

/// Whether `lead` matches a `query`: a substring of its name or of a custom field
/// value, or its exact price when the query is a number. Case is ignored.
fn matches_query(lead: &Lead, query: &str) -> bool {
    let query = query.to_lowercase();
    let in_fields = lead.fields.iter().any(|field| {
        field["values"].as_array().is_some_and(|values| {
            values.iter().any(|v| {
                v["value"]
                    .as_str()
                    .is_some_and(|s| s.to_lowercase().contains(&query))
            })
        })
    });
    lead.name.to_lowercase().contains(&query)
        || in_fields
        || query.parse::<i64>().is_ok_and(|n| n == lead.price)
}

fn wants_contacts(request: &RecordedRequest) -> bool {
    request
        .query_param("with")
        .is_some_and(|w| w.split(',').any(|x| x.trim() == "contacts"))
}

/// `GET /api/v4/leads` with `query`, `filter[id]`, `with=contacts` and paging.
pub(crate) fn list(shared: &Shared, request: &RecordedRequest) -> Reply {
    let ctx = shared.ctx();
    let ids = id_filter(request, "id");
    let query = request
        .query_param("query")
        .map(str::trim)
        .filter(|q| !q.is_empty());
    let with_contacts = wants_contacts(request);
    let items: Vec<Value> = {
        let state = shared.lock();
        state
            .leads
            .leads
            .iter()
            .filter(|l| ids.as_ref().is_none_or(|ids| ids.contains(&l.id)))
            .filter(|l| query.is_none_or(|q| matches_query(l, q)))
            .map(|l| state.leads.lead_json(&ctx, l, with_contacts))
            .collect()
    };
    hal_page(shared, request, "leads", items)
}

/// `GET /api/v4/leads/{id}`: 204 with no body when there is no such lead.
pub(crate) fn show(shared: &Shared, request: &RecordedRequest, id: &str) -> Reply {
    let state = shared.lock();
    match id.parse().ok().and_then(|id| state.leads.find(id)) {
        Some(lead) => Reply::json_as(
            200,
            HAL,
            &state
                .leads
                .lead_json(&shared.ctx(), lead, wants_contacts(request)),
        ),
        None => Reply::empty(204),
    }
}

/// `GET /api/v4/leads/custom_fields`.
pub(crate) fn list_custom_fields(shared: &Shared, request: &RecordedRequest) -> Reply {
    let ctx = shared.ctx();
    let fields: Vec<Value> = LEAD_FIELDS
        .iter()
        .enumerate()
        .map(|(i, f)| {
            json!({
                "id": f.id,
                "name": f.name,
                "type": f.kind,
                "code": f.code,
                "sort": 500 + i * 10,
                "is_api_only": false,
                "enums": null,
                "entity_type": "leads",
                "account_id": ctx.account_id,
                "_links": { "self": { "href": format!("{}/api/v4/leads/custom_fields/{}", ctx.origin, f.id) } },
            })
        })
        .collect();
    hal_page(shared, request, "custom_fields", fields)
}

/// The note types the simulator accepts, all of which carry `params.text`.
const NOTE_TYPES: &[&str] = &["common", "service_message", "extended_service_message"];

/// `POST /api/v4/leads/{id}/notes` (`lead_id` from the path) or `POST /api/v4/leads/notes`
/// (`entity_id` in each note).
pub(crate) fn add_notes(
    shared: &Shared,
    request: &RecordedRequest,
    lead_id: Option<&str>,
) -> Reply {
    let items = match array_body(request, MAX_COMPLEX_LEADS) {
        Ok(items) => items,
        Err(reply) => return reply,
    };
    let path_lead = lead_id.map(|id| id.parse::<i64>().unwrap_or(0));
    let mut state = shared.lock();
    let mut valid = Vec::new();
    let mut rejected = Vec::new();
    for (index, item) in items.iter().enumerate() {
        let mut errors = Vec::new();
        let entity_id = path_lead.or_else(|| item.get("entity_id").and_then(Value::as_i64));
        match entity_id {
            Some(id) if state.leads.find(id).is_some() => {}
            Some(_) => errors.push(FieldError::new("NotFound", "entity_id", "Entity not found")),
            None => errors.push(FieldError::blank("entity_id")),
        }
        let note_type = item
            .get("note_type")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if !NOTE_TYPES.contains(&note_type) {
            errors.push(FieldError::invalid_choice("note_type"));
        }
        let params = item.get("params").cloned().unwrap_or(Value::Null);
        if params["text"].as_str().is_none_or(|t| t.trim().is_empty()) {
            errors.push(FieldError::blank("params.text"));
        }
        if note_type.ends_with("service_message")
            && params["service"]
                .as_str()
                .is_none_or(|s| s.trim().is_empty())
        {
            errors.push(FieldError::blank("params.service"));
        }
        if errors.is_empty() {
            valid.push((
                request_id(item, index),
                entity_id.unwrap_or_default(),
                note_type.to_owned(),
                params,
            ));
        } else {
            rejected.push((request_id(item, index), errors));
        }
    }
    if !rejected.is_empty() {
        return validation_errors(&rejected);
    }
    let now = clock::unix_now();
    let origin = &shared.origin;
    let created: Vec<Value> = valid
        .into_iter()
        .map(|(request_id, entity_id, note_type, params)| {
            let id = state.leads.next_note;
            state.leads.next_note += 1;
            state.leads.notes.push(Note {
                id,
                entity_id,
                note_type,
                params,
                created_at: now,
            });
            json!({
                "id": id,
                "entity_id": entity_id,
                "request_id": request_id,
                "_links": { "self": { "href": format!("{origin}/api/v4/leads/{entity_id}/notes/{id}") } },
            })
        })
        .collect();
    Reply::json_as(
        200,
        HAL,
        &json!({
            "_links": { "self": { "href": format!("{origin}{}", request.path) } },
            "_embedded": { "notes": created },
        }),
    )
}

/// `GET /api/v4/leads/{id}/notes`.
pub(crate) fn list_notes(shared: &Shared, request: &RecordedRequest, id: &str) -> Reply {
    let ctx = shared.ctx();
    let lead_id = id.parse::<i64>().unwrap_or(0);
    let items: Vec<Value> = shared
        .lock()
        .leads
        .notes
        .iter()
        .filter(|n| n.entity_id == lead_id)
        .map(|n| note_json(&ctx, n))
        .collect();
    hal_page(shared, request, "notes", items)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lead(value: Value) -> Result<NewLead, Vec<FieldError>> {
        validate_lead(&LeadStore::new(1), &value, 0)
    }

    fn paths(result: Result<NewLead, Vec<FieldError>>) -> Vec<String> {
        match result {
            Ok(_) => Vec::new(),
            Err(errors) => errors
                .into_iter()
                .map(|e| format!("{}:{}", e.code, e.path))
                .collect(),
        }
    }

    #[test]
    fn it_accepts_a_typical_shop_lead() {
        let new = lead(json!({
            "name": "Замовлення №17",
            "price": 1098,
            "custom_fields_values": [{ "field_code": "ORDER_KEY", "values": [{ "value": "tg-17" }] }],
            "_embedded": {
                "contacts": [{
                    "first_name": "Олена",
                    "custom_fields_values": [{ "field_code": "PHONE", "values": [{ "value": "+380671234567", "enum_code": "MOB" }] }]
                }],
                "tags": [{ "name": "telegram" }]
            }
        })).expect("valid");
        assert_eq!(new.price, 1098);
        assert_eq!(new.status_id, pipelines::FIRST_STATUS_ID);
        assert_eq!(new.fields[0]["field_id"], 1_001_003);
        assert!(
            matches!(new.contact, Some(ContactRef::New { ref fields, .. }) if fields[0]["values"][0]["enum_code"] == "MOB")
        );
    }

    #[test]
    fn it_reports_every_problem_with_its_path() {
        let found = paths(lead(json!({
            "name": 17,
            "price": 10.5,
            "status_id": 999,
            "custom_fields_values": [{ "field_id": 1, "values": [{ "value": "x" }] }],
            "_embedded": {
                "contacts": [{ "custom_fields_values": [{ "field_code": "PHONE", "values": [{ "value": "" }] }] }],
                "tags": [{ "name": " " }]
            }
        })));
        assert_eq!(
            found,
            [
                "InvalidType:name",
                "InvalidType:price",
                "NotSupportedChoice:status_id",
                "NotSupportedChoice:custom_fields_values.0.field_id",
                "NotBlank:_embedded.tags.0.name",
                "NotBlank:_embedded.contacts.0.custom_fields_values.0.values.0.value",
            ]
        );
        assert_eq!(
            paths(lead(
                json!({ "_embedded": { "contacts": [{ "name": "a" }, { "name": "b" }] } })
            )),
            ["Count:_embedded.contacts"]
        );
    }

    #[test]
    fn it_follows_the_status_to_its_pipeline() {
        let new = lead(json!({ "status_id": 77_000_022 })).expect("valid");
        assert_eq!(new.pipeline_id, pipelines::WHOLESALE_PIPELINE_ID);
        let won =
            lead(json!({ "status_id": 142, "pipeline_id": pipelines::WHOLESALE_PIPELINE_ID }))
                .expect("valid");
        assert_eq!(
            (won.pipeline_id, won.status_id),
            (pipelines::WHOLESALE_PIPELINE_ID, 142)
        );
        assert_eq!(
            paths(lead(json!({ "status_id": pipelines::UNSORTED_STATUS_ID }))),
            ["NotSupportedChoice:status_id"]
        );
    }
}
