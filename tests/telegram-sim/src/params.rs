//! Turning a request (query string plus JSON, urlencoded or multipart body) into parameters.

use std::collections::HashMap;
use std::convert::Infallible;

use bytes::Bytes;
use serde_json::{Map, Value};

use crate::error::ApiError;

/// A file part of a multipart request. The parameter itself holds `attach://<part name>`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Upload {
    /// The file name the client gave, if any.
    pub file_name: Option<String>,
    /// The part's content type, if any.
    pub content_type: Option<String>,
    /// Size in bytes.
    pub size: usize,
}

/// Request parameters. Values from forms arrive as strings; validation converts
/// them to the types the spec names.
#[derive(Debug, Clone, Default)]
pub(crate) struct Params {
    pub values: Map<String, Value>,
    pub uploads: HashMap<String, Upload>,
}

impl Params {
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.values.get(name).filter(|v| !v.is_null())
    }

    pub fn str(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(Value::as_str)
    }

    pub fn i64(&self, name: &str) -> Option<i64> {
        self.get(name).and_then(Value::as_i64)
    }

    pub fn f64(&self, name: &str) -> Option<f64> {
        self.get(name).and_then(Value::as_f64)
    }

    pub fn bool(&self, name: &str) -> bool {
        self.get(name).and_then(Value::as_bool).unwrap_or(false)
    }

    /// The parameters as one JSON object, for transcripts.
    pub fn to_json(&self) -> Value {
        Value::Object(self.values.clone())
    }

    fn insert_pairs(&mut self, raw: &[u8]) {
        for (key, value) in form_urlencoded::parse(raw) {
            self.values
                .insert(key.into_owned(), Value::String(value.into_owned()));
        }
    }
}

/// Parses the parameters of one request; body values override query values.
pub(crate) async fn parse(
    content_type: Option<&str>,
    query: Option<&str>,
    body: Bytes,
) -> Result<Params, ApiError> {
    let mut params = Params::default();
    if let Some(query) = query {
        params.insert_pairs(query.as_bytes());
    }
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(params);
    }
    let mime = content_type
        .and_then(|ct| ct.split(';').next())
        .map(|m| m.trim().to_ascii_lowercase())
        .unwrap_or_default();
    match mime.as_str() {
        "multipart/form-data" => {
            parse_multipart(content_type.unwrap_or_default(), body, &mut params).await?
        }
        "application/x-www-form-urlencoded" => params.insert_pairs(&body),
        "application/json" => parse_json(&body, &mut params)?,
        // Telegram is lenient about a missing content type: try JSON, then a form.
        _ => {
            if parse_json(&body, &mut params).is_err() {
                params.insert_pairs(&body);
            }
        }
    }
    Ok(params)
}

fn parse_json(body: &[u8], params: &mut Params) -> Result<(), ApiError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => {
            params.values.extend(map);
            Ok(())
        }
        _ => Err(ApiError::bad_request("can't parse JSON object")),
    }
}

async fn parse_multipart(
    content_type: &str,
    body: Bytes,
    params: &mut Params,
) -> Result<(), ApiError> {
    let malformed = |_| ApiError::bad_request("can't parse multipart/form-data request");
    let boundary = multer::parse_boundary(content_type).map_err(malformed)?;
    let stream = futures::stream::once(async move { Ok::<Bytes, Infallible>(body) });
    let mut multipart = multer::Multipart::new(stream, boundary);
    while let Some(field) = multipart.next_field().await.map_err(malformed)? {
        let Some(name) = field.name().map(str::to_owned) else {
            continue;
        };
        let file_name = field.file_name().map(str::to_owned);
        let content_type = field.content_type().map(ToString::to_string);
        let data = field.bytes().await.map_err(malformed)?;
        if file_name.is_some() {
            params.uploads.insert(
                name.clone(),
                Upload {
                    file_name,
                    content_type,
                    size: data.len(),
                },
            );
            params
                .values
                .insert(name.clone(), Value::String(format!("attach://{name}")));
        } else {
            let text = String::from_utf8_lossy(&data).into_owned();
            params.values.insert(name, Value::String(text));
        }
    }
    Ok(())
}
