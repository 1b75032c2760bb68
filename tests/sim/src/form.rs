//! PHP-style nested form keys (`fields[PHONE][0][VALUE]`, `select[]`) to JSON and back.
//!
//! Bitrix24 reads its parameters the way PHP fills `$_REQUEST`, and both amoCRM and
//! Bitrix24 send their outbound webhooks as such forms, so the simulators need both ways.

use serde_json::{Map, Value};

use crate::record::encode;

/// Builds the JSON object PHP would make of decoded form pairs.
///
/// `a[b]=1` nests objects; `a[]=x` appends; an object whose keys are all integers
/// becomes an array ordered by key. Values stay strings, as PHP keeps them. A key with
/// unbalanced brackets is taken literally.
pub(crate) fn nest(pairs: &[(String, String)]) -> Value {
    let mut root = Map::new();
    for (key, value) in pairs {
        let path = split_key(key);
        insert(&mut root, &path, value);
    }
    finish(Value::Object(root))
}

/// Encodes pairs as `application/x-www-form-urlencoded`, brackets escaped as PHP's
/// `http_build_query` does.
pub(crate) fn encode_pairs<K: AsRef<str>, V: AsRef<str>>(pairs: &[(K, V)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k.as_ref()), encode(v.as_ref())))
        .collect::<Vec<_>>()
        .join("&")
}

/// `a[b][]` is `["a", "b", ""]`; anything malformed is the whole key.
fn split_key(key: &str) -> Vec<&str> {
    let Some(open) = key.find('[').filter(|&i| i > 0) else {
        return vec![key];
    };
    let mut parts = vec![&key[..open]];
    let mut rest = &key[open..];
    while !rest.is_empty() {
        let Some(close) = rest.strip_prefix('[').and_then(|r| r.find(']')) else {
            return vec![key];
        };
        parts.push(&rest[1..=close]);
        rest = &rest[close + 2..];
    }
    parts
}

fn insert(map: &mut Map<String, Value>, path: &[&str], value: &str) {
    let Some((&first, rest)) = path.split_first() else {
        return;
    };
    let key = if first.is_empty() {
        next_index(map).to_string()
    } else {
        first.to_owned()
    };
    if rest.is_empty() {
        map.insert(key, Value::from(value));
        return;
    }
    let child = map.entry(key).or_insert_with(|| Value::Object(Map::new()));
    if !child.is_object() {
        // A later `a[b]=…` replaces an earlier scalar `a=…`, as in PHP.
        *child = Value::Object(Map::new());
    }
    if let Value::Object(child) = child {
        insert(child, rest, value);
    }
}

/// The index `[]` appends at: one past the largest integer key, or 0.
fn next_index(map: &Map<String, Value>) -> u64 {
    map.keys()
        .filter_map(|k| k.parse::<u64>().ok())
        .max()
        .map_or(0, |max| max + 1)
}

/// Turns objects with only integer keys into arrays, recursively.
fn finish(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let all_indices = !map.is_empty() && map.keys().all(|k| k.parse::<u64>().is_ok());
            if all_indices {
                let mut items: Vec<(u64, Value)> = map
                    .into_iter()
                    .filter_map(|(k, v)| k.parse().ok().map(|i| (i, finish(v))))
                    .collect();
                items.sort_by_key(|(i, _)| *i);
                Value::Array(items.into_iter().map(|(_, v)| v).collect())
            } else {
                Value::Object(map.into_iter().map(|(k, v)| (k, finish(v))).collect())
            }
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::record::parse_query;

    #[test]
    fn it_nests_bitrix_style_keys() {
        let pairs = parse_query(
            "fields%5BTITLE%5D=%D0%9B%D1%96%D0%B4&fields[PHONE][0][VALUE]=%2B380&fields[PHONE][0][VALUE_TYPE]=WORK\
             &select[]=ID&select[]=TITLE&filter[>ID]=3&start=50",
        );
        assert_eq!(
            nest(&pairs),
            json!({
                "fields": {
                    "TITLE": "Лід",
                    "PHONE": [{ "VALUE": "+380", "VALUE_TYPE": "WORK" }]
                },
                "select": ["ID", "TITLE"],
                "filter": { ">ID": "3" },
                "start": "50"
            })
        );
    }

    #[test]
    fn it_takes_malformed_keys_literally() {
        let pairs = parse_query("a[b=1&c]=2&[x]=3");
        assert_eq!(nest(&pairs), json!({ "a[b": "1", "c]": "2", "[x]": "3" }));
    }

    #[test]
    fn it_orders_explicit_indices() {
        let pairs = parse_query("a[2]=z&a[0]=x&a[]=w");
        assert_eq!(nest(&pairs), json!({ "a": ["x", "z", "w"] }));
    }

    #[test]
    fn it_encodes_pairs_as_php_does() {
        assert_eq!(
            encode_pairs(&[("leads[status][0][id]", "7"), ("name", "Олена К")]),
            "leads%5Bstatus%5D%5B0%5D%5Bid%5D=7&name=%D0%9E%D0%BB%D0%B5%D0%BD%D0%B0%20%D0%9A"
        );
    }
}
