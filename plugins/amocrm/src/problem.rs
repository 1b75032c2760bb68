//! amoCRM's error answers: RFC 7807 problems, with `validation-errors` on 400.
//!
//! The SDK's mapping covers the statuses; what it cannot know is where
//! amoCRM puts the reason a lead was refused, so a 400 is read here.

use serde_json::Value;
use switchboard_plugin_sdk::http::Response;
use switchboard_plugin_sdk::{CrmError, errors};

/// The longest validation message carried in an error, in characters.
const MAX_MESSAGE_CHARS: usize = 500;

/// `Ok` for 2xx (204 included), else the mapped error.
pub fn check(response: Response) -> Result<Response, CrmError> {
    if response.is_success() {
        return Ok(response);
    }
    if response.status == 400
        && let Some(message) = validation_message(&response.body)
    {
        return Err(CrmError::InvalidRequest(format!("HTTP 400: {message}")));
    }
    Err(errors::from_status(&response))
}

/// `"Request validation failed: name: This value is too long…"` from a
/// problem body with `validation-errors`; `None` for any other body.
pub fn validation_message(body: &[u8]) -> Option<String> {
    let problem: Value = serde_json::from_slice(body).ok()?;
    let entries = problem.get("validation-errors")?.as_array()?;
    let mut reasons = Vec::new();
    for entry in entries {
        for error in entry
            .get("errors")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let detail = error.get("detail").and_then(Value::as_str).unwrap_or("");
            let path = error.get("path").and_then(Value::as_str).unwrap_or("");
            let code = error.get("code").and_then(Value::as_str).unwrap_or("");
            reasons.push(match (path.is_empty(), detail.is_empty()) {
                (false, false) => format!("{path}: {detail}"),
                (true, false) => detail.to_string(),
                (false, true) => format!("{path}: {code}"),
                (true, true) => code.to_string(),
            });
        }
    }
    let headline = problem
        .get("detail")
        .or_else(|| problem.get("title"))
        .and_then(Value::as_str)
        .unwrap_or("Bad Request");
    let text = if reasons.is_empty() {
        headline.to_string()
    } else {
        format!("{headline}: {}", reasons.join("; "))
    };
    Some(errors::shorten(&text, MAX_MESSAGE_CHARS))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(status: u16, body: &str) -> Response {
        Response {
            status,
            headers: vec![("retry-after".into(), "3".into())],
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn validation_errors_name_the_field() {
        let body = r#"{"validation-errors":[{"request_id":"0","errors":[
            {"code":"NotSupportedChoice","path":"status_id","detail":"The value you selected is not a valid choice."},
            {"code":"NotBlank","path":"_embedded.tags.0.name","detail":""}]}],
            "title":"Bad Request","type":"https://httpstatus.es/400","status":400,"detail":"Request validation failed"}"#;
        let e = check(response(400, body));
        assert!(
            matches!(&e, Err(CrmError::InvalidRequest(m)) if m == "HTTP 400: Request validation failed: status_id: The value you selected is not a valid choice.; _embedded.tags.0.name: NotBlank"),
            "{e:?}"
        );
    }

    #[test]
    fn other_answers_use_the_sdk_mapping() {
        assert!(matches!(
            check(response(429, "")),
            Err(CrmError::RateLimited(3))
        ));
        assert!(matches!(
            check(response(401, r#"{"title":"Unauthorized","status":401}"#)),
            Err(CrmError::Unauthorized(_))
        ));
        assert!(matches!(
            check(response(400, r#"{"title":"Bad Request","detail":"Request body is not valid JSON"}"#)),
            Err(CrmError::InvalidRequest(m)) if m.contains("Bad Request")
        ));
        assert!(matches!(
            check(response(502, "<html>Bad Gateway</html>")),
            Err(CrmError::Unavailable(_))
        ));
        assert!(check(response(204, "")).is_ok());
    }
}
