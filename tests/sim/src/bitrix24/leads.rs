//! Leads: `crm.lead.add` validation, storage, the lead statuses and sources.
//!
//! Fields follow `api-reference/crm/leads/crm-lead-add.md`; stored leads render as in
//! `crm-lead-get.md`, every scalar as a string and multiple fields as
//! `[{"ID", "VALUE_TYPE", "VALUE", "TYPE_ID"}]`.

use serde_json::{Map, Value, json};

use super::list::Shape;
use crate::clock;

/// The default lead statuses (`crm.status.list` with `ENTITY_ID=STATUS`):
/// `(STATUS_ID, NAME, SORT, semantic)`, the semantic being `P`rocess, `S`uccess or `F`ailure.
pub(crate) const STATUSES: &[(&str, &str, u32, &str)] = &[
    ("NEW", "Не оброблений", 10, "P"),
    ("IN_PROCESS", "В роботі", 20, "P"),
    ("PROCESSED", "Оброблений", 30, "P"),
    ("JUNK", "Неякісний лід", 40, "F"),
    ("CONVERTED", "Якісний лід", 50, "S"),
];

/// The default sources (`crm.status.list` with `ENTITY_ID=SOURCE`).
pub(crate) const SOURCES: &[(&str, &str)] = &[
    ("CALL", "Дзвінок"),
    ("EMAIL", "E-mail"),
    ("WEB", "Веб-сайт"),
    ("ADVERTISING", "Реклама"),
    ("PARTNER", "Існуючий клієнт"),
    ("RECOMMENDATION", "За рекомендацією"),
    ("TRADE_SHOW", "Виставка"),
    ("WEBFORM", "CRM-форма"),
    ("CALLBACK", "Зворотний дзвінок"),
    ("RC_GENERATOR", "Генератор продажів"),
    ("STORE", "Інтернет-магазин"),
    ("OTHER", "Інше"),
];

/// Text fields copied as given (numbers become text).
const TEXT_FIELDS: &[&str] = &[
    "TITLE",
    "NAME",
    "SECOND_NAME",
    "LAST_NAME",
    "COMMENTS",
    "SOURCE_DESCRIPTION",
    "STATUS_DESCRIPTION",
    "ORIGINATOR_ID",
    "ORIGIN_ID",
    "POST",
    "COMPANY_TITLE",
    "ADDRESS",
    "ADDRESS_CITY",
    "ADDRESS_COUNTRY",
    "UTM_SOURCE",
    "UTM_MEDIUM",
    "UTM_CAMPAIGN",
    "UTM_CONTENT",
    "UTM_TERM",
];

/// Multiple fields and the `VALUE_TYPE`s each accepts (the first is the default).
const MULTI_FIELDS: &[(&str, &[&str])] = &[
    (
        "PHONE",
        &["WORK", "MOBILE", "FAX", "HOME", "PAGER", "MAILING", "OTHER"],
    ),
    ("EMAIL", &["WORK", "HOME", "MAILING", "OTHER"]),
    (
        "IM",
        &[
            "FACEBOOK",
            "TELEGRAM",
            "VK",
            "SKYPE",
            "VIBER",
            "INSTAGRAM",
            "BITRIX24",
            "OPENLINE",
            "IMOL",
            "ICQ",
            "MSN",
            "JABBER",
            "OTHER",
        ],
    ),
    (
        "WEB",
        &[
            "WORK",
            "HOME",
            "FACEBOOK",
            "VK",
            "LIVEJOURNAL",
            "TWITTER",
            "OTHER",
        ],
    ),
];

/// What `select: ["*"]` returns for a lead: every stored scalar field.
pub(crate) const SHAPE: Shape<'static> = Shape {
    scalar: &[
        "ID",
        "TITLE",
        "NAME",
        "SECOND_NAME",
        "LAST_NAME",
        "COMPANY_TITLE",
        "SOURCE_ID",
        "SOURCE_DESCRIPTION",
        "STATUS_ID",
        "STATUS_DESCRIPTION",
        "STATUS_SEMANTIC_ID",
        "POST",
        "ADDRESS",
        "ADDRESS_CITY",
        "ADDRESS_COUNTRY",
        "COMMENTS",
        "CURRENCY_ID",
        "OPPORTUNITY",
        "IS_MANUAL_OPPORTUNITY",
        "HAS_PHONE",
        "HAS_EMAIL",
        "HAS_IMOL",
        "ASSIGNED_BY_ID",
        "CREATED_BY_ID",
        "MODIFY_BY_ID",
        "DATE_CREATE",
        "DATE_MODIFY",
        "MOVED_TIME",
        "OPENED",
        "ORIGINATOR_ID",
        "ORIGIN_ID",
        "UTM_SOURCE",
        "UTM_MEDIUM",
        "UTM_CAMPAIGN",
        "UTM_CONTENT",
        "UTM_TERM",
    ],
    multiple: &["PHONE", "EMAIL", "IM", "WEB"],
};

/// Every lead created so far.
#[derive(Debug)]
pub(crate) struct LeadStore {
    next_id: i64,
    next_multi_id: i64,
    leads: Vec<Map<String, Value>>,
}

impl LeadStore {
    pub(crate) fn new(first_id: i64) -> Self {
        Self {
            next_id: first_id,
            next_multi_id: 1,
            leads: Vec::new(),
        }
    }

    pub(crate) fn all(&self) -> &[Map<String, Value>] {
        &self.leads
    }

    pub(crate) fn find(&self, id: i64) -> Option<&Map<String, Value>> {
        let id = id.to_string();
        self.leads.iter().find(|l| l["ID"] == id.as_str())
    }

    /// Moves a lead to `status_id`; `false` if the lead or the status is unknown.
    pub(crate) fn set_status(&mut self, lead_id: i64, status_id: &str) -> bool {
        let Some(&(status, _, _, semantic)) = STATUSES.iter().find(|s| s.0 == status_id) else {
            return false;
        };
        let id = Value::from(lead_id.to_string());
        let Some(lead) = self.leads.iter_mut().find(|l| l["ID"] == id) else {
            return false;
        };
        let now = Value::from(clock::format_iso8601(clock::unix_now()));
        lead.insert("STATUS_ID".to_owned(), Value::from(status));
        lead.insert("STATUS_SEMANTIC_ID".to_owned(), Value::from(semantic));
        lead.insert("DATE_MODIFY".to_owned(), now.clone());
        lead.insert("MOVED_TIME".to_owned(), now);
        true
    }

    /// Validates `fields` like `crm.lead.add` and stores the lead; the error is the
    /// `error_description` of the 400 answer.
    pub(crate) fn add(&mut self, fields: &Map<String, Value>, user_id: u64) -> Result<i64, String> {
        let mut record = Map::new();
        for field in TEXT_FIELDS {
            let value = match fields.get(*field) {
                None | Some(Value::Null) => Value::Null,
                Some(value) => Value::from(
                    scalar_text(value)
                        .ok_or_else(|| format!("Field '{field}' must be a string."))?,
                ),
            };
            record.insert((*field).to_owned(), value);
        }
        let status = text_of(fields, "STATUS_ID").unwrap_or_else(|| "NEW".to_owned());
        let Some(&(status, _, _, semantic)) = STATUSES.iter().find(|s| s.0 == status) else {
            return Err(format!("Unknown status '{status}' in field STATUS_ID."));
        };
        let source = match text_of(fields, "SOURCE_ID") {
            None => Value::Null,
            Some(source) if SOURCES.iter().any(|s| s.0 == source) => Value::from(source),
            Some(source) => return Err(format!("Unknown source '{source}' in field SOURCE_ID.")),
        };
        let opportunity = match fields.get("OPPORTUNITY") {
            None | Some(Value::Null) => 0.0,
            Some(value) => scalar_text(value)
                .and_then(|t| t.trim().replace(',', ".").parse::<f64>().ok())
                .filter(|v| v.is_finite() && *v >= 0.0)
                .ok_or_else(|| "Field 'OPPORTUNITY' must be a non-negative number.".to_owned())?,
        };
        let mut has = |name: &str, present: bool| {
            record.insert(
                name.to_owned(),
                Value::from(if present { "Y" } else { "N" }),
            );
        };
        let mut multi = Map::new();
        for (name, types) in MULTI_FIELDS {
            let values = self.multi_field(fields.get(*name), name, types)?;
            multi.insert((*name).to_owned(), Value::Array(values));
        }
        let non_empty = |name: &str| multi[name].as_array().is_some_and(|v| !v.is_empty());
        has("HAS_PHONE", non_empty("PHONE"));
        has("HAS_EMAIL", non_empty("EMAIL"));
        has("HAS_IMOL", false);

        let id = self.next_id;
        self.next_id += 1;
        let now = Value::from(clock::format_iso8601(clock::unix_now()));
        let user = Value::from(user_id.to_string());
        record.insert("ID".to_owned(), Value::from(id.to_string()));
        if record["TITLE"].is_null() {
            record.insert("TITLE".to_owned(), Value::from(format!("Лід #{id}")));
        }
        record.insert("STATUS_ID".to_owned(), Value::from(status));
        record.insert("STATUS_SEMANTIC_ID".to_owned(), Value::from(semantic));
        record.insert("SOURCE_ID".to_owned(), source);
        record.insert(
            "CURRENCY_ID".to_owned(),
            Value::from(text_of(fields, "CURRENCY_ID").unwrap_or_else(|| "UAH".to_owned())),
        );
        record.insert(
            "OPPORTUNITY".to_owned(),
            Value::from(format!("{opportunity:.2}")),
        );
        record.insert("IS_MANUAL_OPPORTUNITY".to_owned(), Value::from("N"));
        record.insert(
            "OPENED".to_owned(),
            Value::from(text_of(fields, "OPENED").unwrap_or_else(|| "Y".to_owned())),
        );
        let assigned = text_of(fields, "ASSIGNED_BY_ID").map_or(user.clone(), Value::from);
        record.insert("ASSIGNED_BY_ID".to_owned(), assigned);
        record.insert("CREATED_BY_ID".to_owned(), user.clone());
        record.insert("MODIFY_BY_ID".to_owned(), user);
        record.insert("DATE_CREATE".to_owned(), now.clone());
        record.insert("DATE_MODIFY".to_owned(), now.clone());
        record.insert("MOVED_TIME".to_owned(), now);
        for (key, value) in fields.iter().filter(|(k, _)| k.starts_with("UF_")) {
            record.insert(key.clone(), value.clone());
        }
        record.extend(multi);
        self.leads.push(record);
        Ok(id)
    }

    /// Validates and renders one multiple field.
    fn multi_field(
        &mut self,
        value: Option<&Value>,
        name: &str,
        types: &[&str],
    ) -> Result<Vec<Value>, String> {
        let items: Vec<&Value> = match value {
            None | Some(Value::Null) => return Ok(Vec::new()),
            Some(Value::Array(items)) => items.iter().collect(),
            // A form-encoded `PHONE[n0][VALUE]` arrives as an object keyed by row.
            Some(Value::Object(rows)) => rows.values().collect(),
            Some(_) => {
                return Err(format!(
                    "Field '{name}' must be an array of {{VALUE, VALUE_TYPE}}."
                ));
            }
        };
        let mut rendered = Vec::new();
        for item in items {
            let Some(value) = item
                .get("VALUE")
                .and_then(scalar_text)
                .filter(|v| !v.trim().is_empty())
            else {
                return Err(format!("Field '{name}': VALUE is empty."));
            };
            let kind = item
                .get("VALUE_TYPE")
                .and_then(scalar_text)
                .unwrap_or_else(|| types[0].to_owned())
                .to_uppercase();
            if !types.contains(&kind.as_str()) {
                return Err(format!("Field '{name}': unknown VALUE_TYPE '{kind}'."));
            }
            let id = self.next_multi_id;
            self.next_multi_id += 1;
            rendered.push(json!({
                "ID": id.to_string(),
                "VALUE_TYPE": kind,
                "VALUE": value,
                "TYPE_ID": name,
            }));
        }
        Ok(rendered)
    }
}

/// A scalar as Bitrix24 stores it: text.
fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(if *b { "Y" } else { "N" }.to_owned()),
        _ => None,
    }
}

fn text_of(fields: &Map<String, Value>, key: &str) -> Option<String> {
    fields
        .get(key)
        .and_then(scalar_text)
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty())
}

/// The `crm.status.list` records: lead statuses, then sources.
pub(crate) fn status_records() -> Vec<Map<String, Value>> {
    let statuses = STATUSES
        .iter()
        .enumerate()
        .map(|(i, (id, name, sort, semantic))| {
            let (semantics, color) = match *semantic {
                "S" => ("success", "#7BD500"),
                "F" => ("failure", "#FF5752"),
                _ => ("process", "#39A8EF"),
            };
            json!({
                "ID": (i + 1).to_string(),
                "ENTITY_ID": "STATUS",
                "STATUS_ID": id,
                "NAME": name,
                "NAME_INIT": name,
                "SORT": sort.to_string(),
                "SYSTEM": "Y",
                "CATEGORY_ID": null,
                "COLOR": color,
                "SEMANTICS": if *semantic == "P" { Value::Null } else { Value::from(*semantic) },
                "EXTRA": { "SEMANTICS": semantics, "COLOR": color },
            })
        });
    let sources = SOURCES.iter().enumerate().map(|(i, (id, name))| {
        json!({
            "ID": (i + 101).to_string(),
            "ENTITY_ID": "SOURCE",
            "STATUS_ID": id,
            "NAME": name,
            "NAME_INIT": name,
            "SORT": ((i + 1) * 10).to_string(),
            "SYSTEM": "Y",
            "CATEGORY_ID": null,
            "COLOR": null,
            "SEMANTICS": null,
        })
    });
    statuses
        .chain(sources)
        .filter_map(|v| v.as_object().cloned())
        .collect()
}

/// What `select: ["*"]` returns for a status.
pub(crate) const STATUS_SHAPE: Shape<'static> = Shape {
    scalar: &[
        "ID",
        "ENTITY_ID",
        "STATUS_ID",
        "NAME",
        "NAME_INIT",
        "SORT",
        "SYSTEM",
        "CATEGORY_ID",
        "COLOR",
        "SEMANTICS",
        "EXTRA",
    ],
    multiple: &[],
};

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn it_stores_a_telegram_lead_as_bitrix_renders_it() {
        let mut store = LeadStore::new(100);
        let id = store
            .add(
                &fields(json!({
                    "TITLE": "Замовлення з Telegram №17",
                    "NAME": "Олена",
                    "PHONE": [{ "VALUE": "+380671234567", "VALUE_TYPE": "MOBILE" }],
                    "IM": [{ "VALUE": "tg:123456", "VALUE_TYPE": "TELEGRAM" }],
                    "OPPORTUNITY": 1098.5,
                    "SOURCE_ID": "STORE",
                    "ORIGIN_ID": 17,
                    "UF_CRM_ORDER": "tg-17"
                })),
                1,
            )
            .expect("valid");
        assert_eq!(id, 100);
        let lead = store.find(100).expect("stored");
        assert_eq!(lead["ID"], "100");
        assert_eq!(lead["STATUS_ID"], "NEW");
        assert_eq!(lead["OPPORTUNITY"], "1098.50");
        assert_eq!(lead["ORIGIN_ID"], "17");
        assert_eq!(lead["HAS_PHONE"], "Y");
        assert_eq!(lead["PHONE"][0]["TYPE_ID"], "PHONE");
        assert_eq!(lead["IM"][0]["VALUE_TYPE"], "TELEGRAM");
        assert_eq!(lead["UF_CRM_ORDER"], "tg-17");
        assert!(
            SHAPE.scalar.iter().all(|f| lead.contains_key(*f)),
            "{lead:?}"
        );
    }

    #[test]
    fn it_refuses_bad_fields_and_stores_nothing() {
        let mut store = LeadStore::new(1);
        for bad in [
            json!({ "STATUS_ID": "WON" }),
            json!({ "SOURCE_ID": "TELEGRAM" }),
            json!({ "OPPORTUNITY": "lots" }),
            json!({ "PHONE": "+380" }),
            json!({ "PHONE": [{ "VALUE": "" }] }),
            json!({ "IM": [{ "VALUE": "x", "VALUE_TYPE": "PIGEON" }] }),
            json!({ "TITLE": ["a"] }),
        ] {
            assert!(store.add(&fields(bad.clone()), 1).is_err(), "{bad}");
        }
        assert!(store.all().is_empty());
    }

    #[test]
    fn it_moves_leads_between_known_statuses_only() {
        let mut store = LeadStore::new(1);
        store.add(&Map::new(), 1).expect("valid");
        assert!(store.set_status(1, "CONVERTED"));
        assert_eq!(store.find(1).expect("lead")["STATUS_SEMANTIC_ID"], "S");
        assert!(!store.set_status(1, "WON"));
        assert!(!store.set_status(2, "JUNK"));
    }
}
