//! Mapping HTTP answers and transport failures to [`CrmError`].

use crate::CrmError;
use crate::http::{HttpError, Response};

/// The longest CRM message carried in an error, in characters.
const MAX_MESSAGE_CHARS: usize = 500;

/// The error for a request that got no HTTP response.
pub fn from_http_error(err: &HttpError) -> CrmError {
    match err {
        // Only the operator can fix an allow-list, so retrying is pointless.
        HttpError::Denied(_) | HttpError::InvalidUrl(_) => CrmError::Unauthorized(err.to_string()),
        HttpError::Transport(_) | HttpError::TooLarge(_) => CrmError::Unavailable(err.to_string()),
    }
}

/// The error for a non-2xx response: 401/403 unauthorized, 404 not found,
/// 429 rate limited (with `Retry-After` seconds), 408 and 5xx unavailable,
/// other 4xx invalid request with the CRM's own message.
pub fn from_status(response: &Response) -> CrmError {
    let message = crm_message(&response.body);
    match response.status {
        401 | 403 => CrmError::Unauthorized(with_status(response.status, &message)),
        404 => CrmError::NotFound(with_status(response.status, &message)),
        429 => CrmError::RateLimited(retry_after_secs(response).unwrap_or(0)),
        408 | 425 | 500..=599 => CrmError::Unavailable(with_status(response.status, &message)),
        _ => CrmError::InvalidRequest(with_status(response.status, &message)),
    }
}

/// `Ok(response)` for 2xx, else the mapped error.
pub fn check(response: Response) -> Result<Response, CrmError> {
    if response.is_success() {
        Ok(response)
    } else {
        Err(from_status(&response))
    }
}

/// Decodes a JSON body; a body that is not the expected JSON is a transient
/// CRM fault (`unavailable`), never a trap.
pub fn json<T: serde::de::DeserializeOwned>(response: &Response) -> Result<T, CrmError> {
    serde_json::from_slice(&response.body).map_err(|e| {
        CrmError::Unavailable(format!(
            "malformed JSON from the CRM (HTTP {}): {e}",
            response.status
        ))
    })
}

/// The `Retry-After` header in seconds (delta-seconds form only).
pub fn retry_after_secs(response: &Response) -> Option<u32> {
    response.header("retry-after")?.trim().parse().ok()
}

fn with_status(status: u16, message: &str) -> String {
    if message.is_empty() {
        format!("HTTP {status}")
    } else {
        format!("HTTP {status}: {message}")
    }
}

/// The human message in a CRM error body: `message`, `error`,
/// `error_description` or `title` in JSON, plus validation `errors` when
/// present; else the body text itself, shortened.
pub fn crm_message(body: &[u8]) -> String {
    let text = match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(value) => {
            let mut parts = Vec::new();
            for key in ["message", "error_description", "error", "title", "detail"] {
                if let Some(s) = value.get(key).and_then(|v| v.as_str()) {
                    parts.push(s.to_string());
                    break;
                }
            }
            if let Some(errors) = value.get("errors").filter(|e| !e.is_null()) {
                parts.push(errors.to_string());
            }
            if parts.is_empty() {
                value.to_string()
            } else {
                parts.join(" ")
            }
        }
        Err(_) => String::from_utf8_lossy(body).trim().to_string(),
    };
    shorten(&text, MAX_MESSAGE_CHARS)
}

/// Cuts `text` to at most `max` characters, on a character boundary.
pub fn shorten(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resp(status: u16, headers: &[(&str, &str)], body: &str) -> Response {
        Response {
            status,
            headers: headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn maps_statuses() {
        assert!(matches!(
            from_status(&resp(401, &[], r#"{"message":"Unauthenticated."}"#)),
            CrmError::Unauthorized(m) if m == "HTTP 401: Unauthenticated."
        ));
        assert!(matches!(
            from_status(&resp(429, &[("Retry-After", "17")], "")),
            CrmError::RateLimited(17)
        ));
        assert!(matches!(
            from_status(&resp(429, &[], "")),
            CrmError::RateLimited(0)
        ));
        assert!(matches!(
            from_status(&resp(503, &[], "<html>down</html>")),
            CrmError::Unavailable(m) if m.contains("503")
        ));
        assert!(matches!(
            from_status(&resp(404, &[], "")),
            CrmError::NotFound(_)
        ));
        let invalid = from_status(&resp(
            422,
            &[],
            r#"{"message":"The contact field is required.","errors":{"contact":["required"]}}"#,
        ));
        assert!(matches!(
            invalid,
            CrmError::InvalidRequest(m) if m.contains("The contact field is required.") && m.contains("contact")
        ));
    }

    #[test]
    fn malformed_json_is_unavailable() {
        let r = resp(200, &[], r#"{"data": ["#);
        assert!(matches!(
            json::<serde_json::Value>(&r),
            Err(CrmError::Unavailable(m)) if m.contains("malformed JSON")
        ));
    }

    #[test]
    fn shortens_on_char_boundaries() {
        assert_eq!(shorten("привіт", 3), "при…");
        assert_eq!(shorten("hi", 3), "hi");
    }
}
