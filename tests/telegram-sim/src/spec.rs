//! The Bot API method and type tables, embedded from a trimmed copy of the spec.
//!
//! `bot_api_spec.json` is generated from `tests/specs/telegram-bot-api.json`
//! (names, types and required flags only); the `spec_table` test checks that it
//! is current and rewrites it when `SIM_UPDATE_SPEC=1` is set.

use std::collections::HashMap;
use std::sync::OnceLock;

use serde_json::Value;

/// The trimmed spec as embedded in the crate.
pub const EMBEDDED_SPEC: &str = include_str!("bot_api_spec.json");

/// One parameter of a method or field of a type.
#[derive(Debug, Clone)]
pub(crate) struct FieldSpec {
    pub name: String,
    pub types: Vec<String>,
    pub required: bool,
}

/// A method as the spec describes it.
#[derive(Debug, Clone)]
pub(crate) struct MethodSpec {
    /// Canonical spelling, e.g. `sendMessage`.
    pub name: String,
    pub returns: Vec<String>,
    pub fields: Vec<FieldSpec>,
}

impl MethodSpec {
    pub fn field(&self, name: &str) -> Option<&FieldSpec> {
        self.fields.iter().find(|f| f.name == name)
    }
}

/// A type: either concrete with fields, or abstract with subtypes.
#[derive(Debug, Clone)]
pub(crate) enum TypeSpec {
    Fields(Vec<FieldSpec>),
    Abstract,
}

pub(crate) struct Spec {
    pub version: String,
    /// Keyed by lowercase name, since Telegram matches method names case-insensitively.
    pub methods: HashMap<String, MethodSpec>,
    pub types: HashMap<String, TypeSpec>,
}

impl Spec {
    pub fn method(&self, name: &str) -> Option<&MethodSpec> {
        self.methods.get(&name.to_ascii_lowercase())
    }
}

fn parse_fields(value: Option<&Value>) -> Vec<FieldSpec> {
    let Some(Value::Array(items)) = value else {
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|item| {
            let name = item.get(0)?.as_str()?.to_owned();
            let types = item
                .get(1)?
                .as_array()?
                .iter()
                .filter_map(|t| t.as_str().map(str::to_owned))
                .collect();
            let required = item.get(2)?.as_bool()?;
            Some(FieldSpec {
                name,
                types,
                required,
            })
        })
        .collect()
}

fn parse(text: &str) -> Spec {
    // The embedded file is generated and checked by a test; a broken copy is a
    // build defect, not request input.
    let root: Value = serde_json::from_str(text).expect("embedded bot_api_spec.json is valid JSON");
    let version = root
        .get("version")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let mut methods = HashMap::new();
    if let Some(Value::Object(map)) = root.get("methods") {
        for (name, body) in map {
            let returns = body
                .get("returns")
                .and_then(Value::as_array)
                .map(|r| {
                    r.iter()
                        .filter_map(|t| t.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            methods.insert(
                name.to_ascii_lowercase(),
                MethodSpec {
                    name: name.clone(),
                    returns,
                    fields: parse_fields(body.get("fields")),
                },
            );
        }
    }
    let mut types = HashMap::new();
    if let Some(Value::Object(map)) = root.get("types") {
        for (name, body) in map {
            let spec = if body.get("subtypes").is_some() {
                TypeSpec::Abstract
            } else {
                TypeSpec::Fields(parse_fields(body.get("fields")))
            };
            types.insert(name.clone(), spec);
        }
    }
    Spec {
        version,
        methods,
        types,
    }
}

pub(crate) fn spec() -> &'static Spec {
    static SPEC: OnceLock<Spec> = OnceLock::new();
    SPEC.get_or_init(|| parse(EMBEDDED_SPEC))
}

/// The Bot API version of the embedded spec, e.g. `"Bot API 10.1"`.
pub fn bot_api_version() -> &'static str {
    &spec().version
}

/// Every method name in the embedded spec, canonically spelled, sorted.
pub fn spec_method_names() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = spec().methods.values().map(|m| m.name.as_str()).collect();
    names.sort_unstable();
    names
}
