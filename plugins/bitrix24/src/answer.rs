//! Bitrix24's answers: `{"result": …, "next": …, "total": …}` on success and
//! `{"error": "CODE", "error_description": "…"}` on failure, mapped to
//! `crm-error`.
//!
//! The statuses mean something else than in most REST APIs: the rate limit
//! is 503 `QUERY_LIMIT_EXCEEDED` (not 429), a missing record is 400 with the
//! description "Not found", and 404 means the method or the webhook path is
//! wrong (a configuration problem, not a missing record).

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use switchboard_plugin_sdk::http::Response;
use switchboard_plugin_sdk::{CrmError, errors};

/// A successful answer.
#[derive(Debug, Deserialize)]
pub struct Answer<T> {
    pub result: T,
    /// The `start` of the next page of a list, absent on the last page.
    #[serde(default)]
    pub next: Option<u64>,
    /// How many records the list has in all.
    #[serde(default)]
    pub total: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
struct Failure {
    #[serde(default)]
    error: Option<Value>,
    #[serde(default)]
    error_description: Option<String>,
}

fn failure(body: &[u8]) -> Option<(String, String)> {
    let failure: Failure = serde_json::from_slice(body).ok()?;
    let code = match failure.error? {
        Value::String(s) => s,
        Value::Null => String::new(),
        other => other.to_string(),
    };
    Some((code, failure.error_description.unwrap_or_default()))
}

fn describe(status: u16, code: &str, description: &str) -> String {
    let text = match (code.is_empty(), description.is_empty()) {
        (false, false) => format!("HTTP {status}: {code}: {description}"),
        (false, true) => format!("HTTP {status}: {code}"),
        (true, false) => format!("HTTP {status}: {description}"),
        (true, true) => format!("HTTP {status}"),
    };
    errors::shorten(&text, 500)
}

fn is_not_found(code: &str, description: &str) -> bool {
    code.eq_ignore_ascii_case("NOT_FOUND") || description.trim().eq_ignore_ascii_case("not found")
}

/// The error for a Bitrix24 failure answer with `status`.
fn mapped(response: &Response, code: &str, description: &str) -> CrmError {
    let status = response.status;
    let message = describe(status, code, description);
    if code.eq_ignore_ascii_case("QUERY_LIMIT_EXCEEDED") || status == 429 {
        return CrmError::RateLimited(errors::retry_after_secs(response).unwrap_or(0));
    }
    match status {
        401 | 403 => CrmError::Unauthorized(message),
        408 | 500..=599 => CrmError::Unavailable(message),
        _ if is_not_found(code, description) => CrmError::NotFound(message),
        // A 200 carrying an error is a refusal like a 400.
        _ => CrmError::InvalidRequest(message),
    }
}

/// Decodes an answer, or maps the failure it carries.
pub fn decode<T: DeserializeOwned>(response: &Response) -> Result<Answer<T>, CrmError> {
    if let Some((code, description)) = failure(&response.body) {
        return Err(mapped(response, &code, &description));
    }
    if !response.is_success() {
        // Not Bitrix24's JSON: nginx's HTML, a proxy, a cut-off body.
        return Err(match response.status {
            404 => CrmError::InvalidRequest(format!(
                "HTTP 404: no such REST path; check `webhook_url` ({})",
                errors::crm_message(&response.body)
            )),
            _ => errors::from_status(response),
        });
    }
    errors::json(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(status: u16, body: &str) -> Response {
        Response {
            status,
            headers: vec![("Retry-After".into(), "2".into())],
            body: body.as_bytes().to_vec(),
        }
    }

    fn err(status: u16, body: &str) -> CrmError {
        match decode::<Value>(&response(status, body)) {
            Err(e) => e,
            Ok(a) => panic!("expected an error, got {a:?}"),
        }
    }

    #[test]
    fn maps_bitrix_failures() {
        assert!(matches!(
            err(
                503,
                r#"{"error":"QUERY_LIMIT_EXCEEDED","error_description":"Too many requests"}"#
            ),
            CrmError::RateLimited(2)
        ));
        assert!(matches!(
            err(503, r#"{"error":"OVERLOAD_LIMIT","error_description":"REST API is blocked due to overload"}"#),
            CrmError::Unavailable(m) if m.contains("OVERLOAD_LIMIT")
        ));
        assert!(matches!(
            err(401, r#"{"error":"INVALID_CREDENTIALS","error_description":"Invalid request credentials"}"#),
            CrmError::Unauthorized(m) if m.contains("INVALID_CREDENTIALS")
        ));
        assert!(matches!(
            err(400, r#"{"error":"","error_description":"Not found"}"#),
            CrmError::NotFound(_)
        ));
        assert!(matches!(
            err(400, r#"{"error":"","error_description":"Unknown source 'X' in field SOURCE_ID."}"#),
            CrmError::InvalidRequest(m) if m == "HTTP 400: Unknown source 'X' in field SOURCE_ID."
        ));
        assert!(matches!(
            err(
                404,
                r#"{"error":"ERROR_METHOD_NOT_FOUND","error_description":"Method not found!"}"#
            ),
            CrmError::InvalidRequest(_)
        ));
        assert!(matches!(
            err(404, "<html>404 Not Found</html>"),
            CrmError::InvalidRequest(m) if m.contains("webhook_url")
        ));
        assert!(matches!(
            err(502, "<html>Bad Gateway</html>"),
            CrmError::Unavailable(_)
        ));
        assert!(matches!(
            err(200, r#"{"result":[{"ID":"1","NAME":"Фут"#),
            CrmError::Unavailable(m) if m.contains("malformed JSON")
        ));
    }

    #[test]
    fn decodes_pages() {
        let answer: Answer<Vec<Value>> = decode(&response(
            200,
            r#"{"result":[{"ID":"1"}],"next":50,"total":230,"time":{}}"#,
        ))
        .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!((answer.next, answer.total), (Some(50), Some(230)));
        assert_eq!(answer.result.len(), 1);
    }
}
