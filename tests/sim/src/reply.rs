//! [`Reply`], the answer an endpoint produces before it becomes a hyper response.

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Response, StatusCode};
use http_body_util::Full;
use serde_json::Value;

/// An HTTP answer before it is turned into a hyper response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Reply {
    pub(crate) status: u16,
    /// `None` sends no `Content-Type` at all, as servers do for 204.
    pub(crate) content_type: Option<&'static str>,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
}

impl Reply {
    /// A JSON answer with `content-type: application/json`.
    pub(crate) fn json(status: u16, value: &Value) -> Self {
        Self::json_as(status, "application/json", value)
    }

    /// A JSON answer with another JSON media type, such as `application/hal+json`.
    pub(crate) fn json_as(status: u16, content_type: &'static str, value: &Value) -> Self {
        Self::raw(
            status,
            content_type,
            serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec()),
        )
    }

    /// An answer with exactly this body.
    pub(crate) fn raw(status: u16, content_type: &'static str, body: Vec<u8>) -> Self {
        Self {
            status,
            content_type: Some(content_type),
            headers: Vec::new(),
            body,
        }
    }

    /// An answer without a body or a content type, such as 204 No Content.
    pub(crate) fn empty(status: u16) -> Self {
        Self {
            status,
            content_type: None,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// The error page nginx renders for `status`, as the fronts of all three CRMs send
    /// for 502 and 504.
    pub(crate) fn nginx_page(status: u16) -> Self {
        let reason = StatusCode::from_u16(status)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or("Error");
        Self::raw(
            status,
            "text/html",
            format!(
                "<html>\r\n<head><title>{status} {reason}</title></head>\r\n<body>\r\n\
                 <center><h1>{status} {reason}</h1></center>\r\n<hr><center>nginx</center>\r\n\
                 </body>\r\n</html>\r\n"
            )
            .into_bytes(),
        )
    }

    /// Adds a header.
    pub(crate) fn with_header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_owned(), value.into()));
        self
    }

    /// The hyper response; an invalid status becomes 500 and invalid headers are skipped.
    pub(crate) fn into_response(self) -> Response<Full<Bytes>> {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = Response::new(Full::new(Bytes::from(self.body)));
        *response.status_mut() = status;
        let headers = response.headers_mut();
        if let Some(content_type) = self.content_type {
            headers.insert(
                http::header::CONTENT_TYPE,
                HeaderValue::from_static(content_type),
            );
        }
        headers.insert(
            http::header::CACHE_CONTROL,
            HeaderValue::from_static("no-cache, private"),
        );
        for (name, value) in self.headers {
            if let (Ok(name), Ok(value)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(&value),
            ) {
                headers.append(name, value);
            }
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn it_renders_gateway_errors_as_nginx_html() {
        let reply = Reply::nginx_page(502);
        assert_eq!(reply.content_type, Some("text/html"));
        assert!(String::from_utf8_lossy(&reply.body).contains("502 Bad Gateway"));
    }

    #[test]
    fn it_sends_no_content_type_for_empty_replies() {
        let response = Reply::empty(204).into_response();
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        assert!(response.headers().get("content-type").is_none());
    }
}
