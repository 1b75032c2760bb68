//! The embedded method table against the Bot API spec kept in the
//! repository (`tests/specs/telegram-bot-api.json`).

use std::path::PathBuf;

use serde_json::{Map, Value, json};
use switchboard_telegram_sim::{
    EMBEDDED_SPEC, IMPLEMENTED_METHODS, bot_api_version, spec_method_names,
};

fn shared_spec() -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../specs/telegram-bot-api.json");
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_json::from_str(&text).expect("spec is JSON")
}

fn fields(entry: &Value) -> Value {
    let list = entry["fields"].as_array().cloned().unwrap_or_default();
    Value::Array(
        list.iter()
            .map(|f| json!([f["name"], f["types"], f["required"]]))
            .collect(),
    )
}

/// Named entries in spec order.
type Entries = Vec<(String, Value)>;

/// The trimmed table the crate embeds: names, types and required flags only.
fn trim(full: &Value) -> (Value, Entries, Entries) {
    let mut methods = Vec::new();
    for (name, m) in full["methods"].as_object().expect("methods") {
        methods.push((
            name.clone(),
            json!({"returns": m["returns"], "fields": fields(m)}),
        ));
    }
    let mut types = Vec::new();
    for (name, t) in full["types"].as_object().expect("types") {
        let body = match t.get("subtypes") {
            Some(subtypes) => json!({"subtypes": subtypes}),
            None => json!({"fields": fields(t)}),
        };
        types.push((name.clone(), body));
    }
    (full["version"].clone(), methods, types)
}

fn render((version, methods, types): &(Value, Entries, Entries)) -> String {
    let entries = |list: &Entries| {
        list.iter()
            .map(|(k, v)| format!("{}:{}", Value::String(k.clone()), v))
            .collect::<Vec<_>>()
            .join(",\n")
    };
    format!(
        "{{\n\"version\":{version},\n\"methods\":{{\n{}\n}},\n\"types\":{{\n{}\n}}\n}}\n",
        entries(methods),
        entries(types)
    )
}

#[test]
fn implemented_methods_exist_in_the_spec() {
    let spec = shared_spec();
    let methods = spec["methods"].as_object().expect("methods");
    for name in IMPLEMENTED_METHODS {
        assert!(
            methods.contains_key(*name),
            "{name} is not a Bot API method"
        );
    }
    for name in [
        "getMe",
        "getUpdates",
        "setWebhook",
        "sendMessage",
        "answerCallbackQuery",
        "setMyCommands",
    ] {
        assert!(
            IMPLEMENTED_METHODS.contains(&name),
            "{name} must have a handler"
        );
    }
}

#[test]
fn embedded_table_matches_the_shared_spec() {
    let expected = render(&trim(&shared_spec()));
    if std::env::var_os("SIM_UPDATE_SPEC").is_some() {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src/bot_api_spec.json");
        std::fs::write(&path, &expected).expect("write embedded spec");
        return;
    }
    let embedded: Value = serde_json::from_str(EMBEDDED_SPEC).expect("embedded JSON");
    let expected_value: Value = serde_json::from_str(&expected).expect("rendered JSON");
    assert!(
        embedded == expected_value,
        "src/bot_api_spec.json is stale: rerun with SIM_UPDATE_SPEC=1"
    );
    let spec = shared_spec();
    assert_eq!(
        bot_api_version(),
        spec["version"].as_str().expect("version")
    );
    let mut names: Vec<String> = spec["methods"]
        .as_object()
        .map(Map::keys)
        .expect("methods")
        .cloned()
        .collect();
    names.sort_unstable();
    assert_eq!(spec_method_names(), names);
}
