//! Generic validation against the spec: required parameters and parameter types.
//!
//! Values are also normalised on the way: numeric strings from forms become
//! numbers, `"true"` becomes `true`, and JSON-encoded objects or arrays (how
//! form and multipart requests carry `reply_markup` and friends) are parsed.

use serde_json::{Map, Value};

use crate::error::ApiError;
use crate::params::Params;
use crate::spec::{FieldSpec, MethodSpec, TypeSpec, spec};

/// How deep nested objects are checked; deeper parts are accepted as they are.
const MAX_DEPTH: usize = 8;

enum Fail {
    /// The value is not of the expected type.
    Type,
    /// Something inside an object is wrong; the text says what.
    Nested(String),
}

/// Checks `params` against the method's spec and normalises their values.
pub(crate) fn normalize(method: &MethodSpec, params: &mut Params) -> Result<(), ApiError> {
    for field in &method.fields {
        let value = params
            .values
            .get(&field.name)
            .cloned()
            .unwrap_or(Value::Null);
        if is_missing(method, field, &value) {
            if field.required {
                return Err(missing(&field.name));
            }
            continue;
        }
        match coerce(&value, &field.types, params, 0) {
            Ok(normalized) => {
                params.values.insert(field.name.clone(), normalized);
            }
            Err(Fail::Type) => return Err(type_error(field, &value)),
            Err(Fail::Nested(detail)) => {
                return Err(ApiError::bad_request(format!(
                    "can't parse {}: {detail}",
                    field.name
                )));
            }
        }
    }
    Ok(())
}

fn is_missing(method: &MethodSpec, field: &FieldSpec, value: &Value) -> bool {
    match value {
        Value::Null => true,
        // setWebhook with an empty url is how Telegram removes a webhook.
        Value::String(s) if s.is_empty() => !(method.name == "setWebhook" && field.name == "url"),
        _ => false,
    }
}

/// The error Telegram gives for a required parameter that is absent or empty.
pub(crate) fn missing(name: &str) -> ApiError {
    match name {
        "chat_id" => ApiError::bad_request("chat_id is empty"),
        "text" => ApiError::bad_request("message text is empty"),
        _ => ApiError::bad_request(format!("parameter \"{name}\" is required")),
    }
}

fn type_error(field: &FieldSpec, value: &Value) -> ApiError {
    let structured = field.types.iter().all(|t| !is_primitive(t));
    if structured && value.is_string() {
        if field.name == "reply_markup" {
            return ApiError::bad_request("can't parse reply keyboard markup JSON object");
        }
        return ApiError::bad_request(format!("can't parse {} JSON object", field.name));
    }
    ApiError::bad_request(format!(
        "parameter \"{}\" must be of type {}",
        field.name,
        field.types.join(" or ")
    ))
}

fn is_primitive(ty: &str) -> bool {
    matches!(
        ty,
        "Integer" | "Float" | "Boolean" | "True" | "String" | "InputFile"
    )
}

fn is_object_type(ty: &str) -> bool {
    !is_primitive(ty) && !ty.starts_with("Array of ")
}

fn coerce(value: &Value, types: &[String], params: &Params, depth: usize) -> Result<Value, Fail> {
    // A union of several object types (reply_markup) is only required to be an
    // object here; markup.rs knows each alternative's rules.
    if types.len() > 1 && types.iter().all(|t| is_object_type(t)) {
        return as_object(value).map(Value::Object).ok_or(Fail::Type);
    }
    let mut nested = None;
    for ty in types {
        match coerce_one(value, ty, params, depth) {
            Ok(v) => return Ok(v),
            Err(Fail::Nested(detail)) => {
                nested.get_or_insert(detail);
            }
            Err(Fail::Type) => {}
        }
    }
    Err(nested.map_or(Fail::Type, Fail::Nested))
}

fn as_object(value: &Value) -> Option<Map<String, Value>> {
    match value {
        Value::Object(map) => Some(map.clone()),
        Value::String(s) => match serde_json::from_str(s) {
            Ok(Value::Object(map)) => Some(map),
            _ => None,
        },
        _ => None,
    }
}

fn as_array(value: &Value) -> Option<Vec<Value>> {
    match value {
        Value::Array(items) => Some(items.clone()),
        Value::String(s) => match serde_json::from_str(s) {
            Ok(Value::Array(items)) => Some(items),
            _ => None,
        },
        _ => None,
    }
}

fn coerce_one(value: &Value, ty: &str, params: &Params, depth: usize) -> Result<Value, Fail> {
    match ty {
        "Integer" => match value {
            Value::Number(n) if n.is_i64() || n.is_u64() => Ok(value.clone()),
            Value::Number(n) => match n.as_f64() {
                Some(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Ok(Value::from(f as i64)),
                _ => Err(Fail::Type),
            },
            Value::String(s) => s
                .trim()
                .parse::<i64>()
                .map(Value::from)
                .map_err(|_| Fail::Type),
            _ => Err(Fail::Type),
        },
        "Float" => match value {
            Value::Number(_) => Ok(value.clone()),
            Value::String(s) => match s.trim().parse::<f64>() {
                Ok(f) if f.is_finite() => Ok(Value::from(f)),
                _ => Err(Fail::Type),
            },
            _ => Err(Fail::Type),
        },
        "Boolean" | "True" => match value {
            Value::Bool(_) => Ok(value.clone()),
            Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
                "true" | "1" => Ok(Value::Bool(true)),
                "false" | "0" => Ok(Value::Bool(false)),
                _ => Err(Fail::Type),
            },
            Value::Number(n) => match n.as_i64() {
                Some(1) => Ok(Value::Bool(true)),
                Some(0) => Ok(Value::Bool(false)),
                _ => Err(Fail::Type),
            },
            _ => Err(Fail::Type),
        },
        "String" => match value {
            Value::String(_) => Ok(value.clone()),
            Value::Number(n) => Ok(Value::String(n.to_string())),
            _ => Err(Fail::Type),
        },
        "InputFile" => match value {
            Value::String(s)
                if s.strip_prefix("attach://")
                    .is_some_and(|part| params.uploads.contains_key(part)) =>
            {
                Ok(value.clone())
            }
            _ => Err(Fail::Type),
        },
        _ => {
            if let Some(inner) = ty.strip_prefix("Array of ") {
                let items = as_array(value).ok_or(Fail::Type)?;
                let inner = [inner.to_owned()];
                let mut out = Vec::with_capacity(items.len());
                for item in &items {
                    out.push(coerce(item, &inner, params, depth + 1)?);
                }
                return Ok(Value::Array(out));
            }
            coerce_object(value, ty, params, depth)
        }
    }
}

fn coerce_object(value: &Value, ty: &str, params: &Params, depth: usize) -> Result<Value, Fail> {
    let Some(type_spec) = spec().types.get(ty) else {
        // A type the spec does not describe: nothing to check it against.
        return Ok(value.clone());
    };
    let mut map = as_object(value).ok_or(Fail::Type)?;
    let TypeSpec::Fields(fields) = type_spec else {
        return Ok(Value::Object(map));
    };
    if depth >= MAX_DEPTH {
        return Ok(Value::Object(map));
    }
    for field in fields {
        match map.get(&field.name) {
            None | Some(Value::Null) => {
                if field.required {
                    return Err(Fail::Nested(format!(
                        "field \"{}\" of {ty} is required",
                        field.name
                    )));
                }
            }
            Some(inner) => match coerce(inner, &field.types, params, depth + 1) {
                Ok(v) => {
                    map.insert(field.name.clone(), v);
                }
                Err(Fail::Type) => {
                    return Err(Fail::Nested(format!(
                        "field \"{}\" of {ty} must be of type {}",
                        field.name,
                        field.types.join(" or ")
                    )));
                }
                Err(nested) => return Err(nested),
            },
        }
    }
    Ok(Value::Object(map))
}
