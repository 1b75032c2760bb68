//! `filter`, `select`, `order` and `start` of Bitrix24's `*.list` methods, over records
//! kept as Bitrix24 renders them (every scalar a string).
//!
//! Filter keys take the documented prefixes (`api-reference/crm/leads/crm-lead-list.md`):
//! `=` (default), `!`/`!=`, `>`, `>=`, `<`, `<=`, `@` (IN), `!@`, `%` (substring),
//! `=%`/`%=` (LIKE with `%` wildcards), `!%`, `!%=`. Comparisons are numeric when both
//! sides are numbers and case-insensitive otherwise, as MySQL's collation makes them.
//! A multiple field (`PHONE`, `EMAIL`…) matches when any of its `VALUE`s does. An unknown
//! field compares as empty. Pages are always 50 records; `next` appears only when more
//! records follow.

use std::cmp::Ordering;

use serde_json::{Map, Value, json};

/// Bitrix24's fixed page size.
pub(crate) const PAGE_SIZE: usize = 50;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
    In,
    NotIn,
    Contains,
    NotContains,
    Like,
    NotLike,
}

/// Longest prefixes first, so `!%=` is not read as `!`.
const PREFIXES: &[(&str, Op)] = &[
    ("!%=", Op::NotLike),
    ("!=", Op::Ne),
    ("!@", Op::NotIn),
    ("!%", Op::NotContains),
    (">=", Op::Ge),
    ("<=", Op::Le),
    ("=%", Op::Like),
    ("%=", Op::Like),
    (">", Op::Gt),
    ("<", Op::Lt),
    ("@", Op::In),
    ("%", Op::Contains),
    ("!", Op::Ne),
    ("=", Op::Eq),
];

#[derive(Debug, Clone)]
struct Condition {
    op: Op,
    field: String,
    value: Value,
}

/// A list request's parameters.
#[derive(Debug, Clone, Default)]
pub(crate) struct ListQuery {
    conditions: Vec<Condition>,
    select: Vec<String>,
    order: Vec<(String, bool)>,
    start: usize,
}

/// What a record type looks like to `select`.
pub(crate) struct Shape<'a> {
    /// Fields `*` selects.
    pub(crate) scalar: &'a [&'a str],
    /// Fields kept as `[{"VALUE": …}]`, selected only by name.
    pub(crate) multiple: &'a [&'a str],
}

impl ListQuery {
    /// Reads `filter`, `select`, `order` and `start` from the merged parameters.
    pub(crate) fn from_params(params: &Map<String, Value>) -> Self {
        let conditions = params
            .get("filter")
            .and_then(Value::as_object)
            .map(|filter| {
                filter
                    .iter()
                    .map(|(key, value)| {
                        let (op, field) = PREFIXES
                            .iter()
                            .find_map(|(prefix, op)| key.strip_prefix(prefix).map(|f| (*op, f)))
                            .unwrap_or((Op::Eq, key.as_str()));
                        Condition {
                            op,
                            field: field.to_uppercase(),
                            value: value.clone(),
                        }
                    })
                    .collect()
            })
            .unwrap_or_default();
        let select = match params.get("select") {
            Some(Value::Array(items)) => items.iter().filter_map(text).collect(),
            Some(Value::Object(map)) => map.values().filter_map(text).collect(),
            Some(other) => text(other).into_iter().collect(),
            None => Vec::new(),
        };
        let order = params
            .get("order")
            .and_then(Value::as_object)
            .map(|order| {
                order
                    .iter()
                    .map(|(field, dir)| {
                        let desc = text(dir).is_some_and(|d| d.eq_ignore_ascii_case("desc"));
                        (field.to_uppercase(), desc)
                    })
                    .collect()
            })
            .unwrap_or_default();
        let start = params
            .get("start")
            .and_then(text)
            .and_then(|s| s.trim().parse::<i64>().ok())
            .map_or(0, |s| usize::try_from(s.max(0)).unwrap_or(0));
        Self {
            conditions,
            select: select.into_iter().map(|s| s.to_uppercase()).collect(),
            order,
            start,
        }
    }

    /// Whether `record` passes every filter condition.
    pub(crate) fn matches(&self, record: &Map<String, Value>) -> bool {
        self.conditions.iter().all(|c| condition_holds(c, record))
    }

    /// Filters, sorts and pages `records`, then renders the answer's `result`, `next`
    /// and `total` (the caller adds `time`).
    pub(crate) fn answer(
        &self,
        records: Vec<&Map<String, Value>>,
        shape: &Shape<'_>,
    ) -> Map<String, Value> {
        let mut found: Vec<&Map<String, Value>> =
            records.into_iter().filter(|r| self.matches(r)).collect();
        let order = if self.order.is_empty() {
            vec![("ID".to_owned(), false)]
        } else {
            self.order.clone()
        };
        found.sort_by(|a, b| {
            order
                .iter()
                .map(|(field, desc)| {
                    let ordering = compare(&field_text(a.get(field)), &field_text(b.get(field)));
                    if *desc { ordering.reverse() } else { ordering }
                })
                .find(|o| o.is_ne())
                .unwrap_or(Ordering::Equal)
        });
        let total = found.len();
        let page: Vec<Value> = found
            .iter()
            .skip(self.start)
            .take(PAGE_SIZE)
            .map(|r| Value::Object(self.project(r, shape)))
            .collect();
        let mut answer = Map::new();
        answer.insert("result".to_owned(), Value::Array(page));
        if self.start + PAGE_SIZE < total {
            answer.insert("next".to_owned(), json!(self.start + PAGE_SIZE));
        }
        answer.insert("total".to_owned(), json!(total));
        answer
    }

    /// The selected fields of `record`; `ID` is always there.
    fn project(&self, record: &Map<String, Value>, shape: &Shape<'_>) -> Map<String, Value> {
        let all = self.select.is_empty() || self.select.iter().any(|s| s == "*");
        let custom = self.select.iter().any(|s| s == "UF_*");
        record
            .iter()
            .filter(|(key, _)| {
                key.as_str() == "ID"
                    || (all && shape.scalar.contains(&key.as_str()))
                    || (custom && key.starts_with("UF_"))
                    || self.select.iter().any(|s| s == *key)
            })
            .filter(|(key, _)| {
                // Multiple fields come only when named, even with `*`.
                !shape.multiple.contains(&key.as_str()) || self.select.iter().any(|s| s == *key)
            })
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }
}

/// A scalar parameter as text.
fn text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(if *b { "Y" } else { "N" }.to_owned()),
        _ => None,
    }
}

fn field_text(value: Option<&Value>) -> String {
    value.and_then(text).unwrap_or_default()
}

/// Every text a field offers for matching: its value, or each `VALUE` of a multiple field.
fn field_texts(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|item| item.get("VALUE").and_then(text))
            .collect(),
        other => vec![field_text(other)],
    }
}

/// The filter value's entries: an array's items or the single value.
fn filter_texts(value: &Value) -> Vec<String> {
    match value {
        Value::Array(items) => items.iter().filter_map(text).collect(),
        Value::Object(map) => map.values().filter_map(text).collect(),
        other => text(other).into_iter().collect(),
    }
}

fn compare(a: &str, b: &str) -> Ordering {
    match (a.trim().parse::<f64>(), b.trim().parse::<f64>()) {
        (Ok(x), Ok(y)) => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
        _ => a.to_lowercase().cmp(&b.to_lowercase()),
    }
}

/// SQL `LIKE` with `%` as the only wildcard, ignoring case.
fn like(value: &str, pattern: &str) -> bool {
    let value = value.to_lowercase();
    let pattern = pattern.to_lowercase();
    let parts: Vec<&str> = pattern.split('%').collect();
    let (Some(first), Some(last)) = (parts.first(), parts.last()) else {
        return value.is_empty();
    };
    if parts.len() == 1 {
        return value == pattern;
    }
    if !value.starts_with(first) || !value[first.len()..].ends_with(last) {
        return false;
    }
    let mut rest = &value[first.len()..value.len() - last.len()];
    for middle in &parts[1..parts.len() - 1] {
        match rest.find(middle) {
            Some(i) => rest = &rest[i + middle.len()..],
            None => return false,
        }
    }
    true
}

fn condition_holds(condition: &Condition, record: &Map<String, Value>) -> bool {
    let have = field_texts(record.get(&condition.field));
    let want = filter_texts(&condition.value);
    let any =
        |test: &dyn Fn(&str, &str) -> bool| have.iter().any(|h| want.iter().any(|w| test(h, w)));
    let equal = |h: &str, w: &str| compare(h, w).is_eq();
    let contains = |h: &str, w: &str| h.to_lowercase().contains(&w.to_lowercase());
    match condition.op {
        // An empty array in a filter matches nothing, as an empty IN () would.
        Op::Eq | Op::In => any(&equal),
        Op::Ne | Op::NotIn => !any(&equal),
        Op::Gt => any(&|h, w| compare(h, w).is_gt()),
        Op::Ge => any(&|h, w| compare(h, w).is_ge()),
        Op::Lt => any(&|h, w| compare(h, w).is_lt()),
        Op::Le => any(&|h, w| compare(h, w).is_le()),
        Op::Contains => any(&contains),
        Op::NotContains => !any(&contains),
        Op::Like => any(&like),
        Op::NotLike => !any(&like),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap_or_default()
    }

    fn query(params: Value) -> ListQuery {
        ListQuery::from_params(params.as_object().expect("object"))
    }

    #[test]
    fn it_applies_every_prefix() {
        let lead = record(json!({
            "ID": "12", "TITLE": "Замовлення TG-17", "ORIGIN_ID": "tg-17",
            "PHONE": [{ "VALUE": "+380671234567", "VALUE_TYPE": "MOBILE" }]
        }));
        let holds = |filter: Value| query(json!({ "filter": filter })).matches(&lead);
        assert!(holds(json!({ "ORIGIN_ID": "TG-17" })));
        assert!(holds(json!({ "=ORIGIN_ID": "tg-17" })));
        assert!(!holds(json!({ "!ORIGIN_ID": "tg-17" })));
        assert!(holds(json!({ ">ID": 9, "<=ID": "12" })));
        assert!(!holds(json!({ ">ID": "12" })));
        assert!(holds(json!({ "@ID": ["1", "12"] })));
        assert!(holds(json!({ "!@ID": [1, 2] })));
        assert!(holds(json!({ "%TITLE": "tg-1" })));
        assert!(holds(json!({ "=%TITLE": "Замовлення%" })));
        assert!(!holds(json!({ "=%TITLE": "%TG" })));
        assert!(holds(json!({ "!%TITLE": "xyz" })));
        assert!(holds(json!({ "PHONE": "+380671234567" })));
        assert!(!holds(json!({ "NOT_A_FIELD": "x" })));
        assert!(holds(json!({ "id": "12" })));
    }

    #[test]
    fn it_pages_by_fifty_with_next_only_when_more_follow() {
        let records: Vec<Map<String, Value>> = (1..=120)
            .map(|i| record(json!({ "ID": i.to_string(), "NAME": format!("n{i}") })))
            .collect();
        let shape = Shape {
            scalar: &["ID", "NAME"],
            multiple: &[],
        };
        let page = |start: usize| {
            query(json!({ "start": start })).answer(records.iter().collect(), &shape)
        };
        let first = page(0);
        assert_eq!(first["next"], 50);
        assert_eq!(first["total"], 120);
        assert_eq!(first["result"][0]["ID"], "1");
        let last = page(100);
        assert!(last.get("next").is_none());
        assert_eq!(last["result"].as_array().map(Vec::len), Some(20));
        assert_eq!(page(150)["result"], json!([]));
    }

    #[test]
    fn it_selects_and_orders() {
        let records = [
            record(json!({ "ID": "2", "NAME": "b", "PHONE": [{ "VALUE": "1" }], "UF_CRM_1": "x" })),
            record(json!({ "ID": "10", "NAME": "a", "PHONE": [], "UF_CRM_1": "y" })),
        ];
        let shape = Shape {
            scalar: &["ID", "NAME"],
            multiple: &["PHONE"],
        };
        let answer =
            query(json!({ "order": { "ID": "DESC" } })).answer(records.iter().collect(), &shape);
        assert_eq!(
            answer["result"],
            json!([{ "ID": "10", "NAME": "a" }, { "ID": "2", "NAME": "b" }])
        );
        let answer =
            query(json!({ "select": ["NAME", "PHONE", "UF_*"], "order": { "NAME": "asc" } }))
                .answer(records.iter().collect(), &shape);
        assert_eq!(
            answer["result"][0],
            json!({ "ID": "10", "NAME": "a", "PHONE": [], "UF_CRM_1": "y" })
        );
    }

    #[test]
    fn it_matches_like_patterns() {
        assert!(like("Molotok", "mol%"));
        assert!(like("amol", "%mol"));
        assert!(like("a mol b", "%mol%"));
        assert!(!like("mo", "%mol%"));
        assert!(like("abc", "a%b%c"));
        assert!(!like("abc", "abcd"));
    }
}
