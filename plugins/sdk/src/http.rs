//! A small blocking HTTP client over `wasi:http/outgoing-handler`.
//!
//! It writes and finishes the request body before it waits for the response,
//! which is what the host's implementation expects; a general-purpose async
//! client that interleaves the two was seen to fail a few percent of loopback
//! requests with spurious connection resets.

use crate::bindings::wasi::http::outgoing_handler;
use crate::bindings::wasi::http::types::{
    ErrorCode, Fields, IncomingBody, Method, OutgoingBody, OutgoingRequest, RequestOptions, Scheme,
};
use crate::bindings::wasi::io::streams::StreamError;

/// The largest response body a plugin reads by default (the host enforces
/// its own, usually smaller, limit as well).
pub const DEFAULT_MAX_BODY: usize = 16 * 1024 * 1024;

/// An HTTP request to send.
#[derive(Debug, Clone)]
pub struct Request {
    /// The method (`GET`, `POST`, …).
    pub method: String,
    /// An absolute `http(s)://host[:port]/path?query` URL.
    pub url: String,
    /// Header names and values.
    pub headers: Vec<(String, String)>,
    /// The body; empty for none.
    pub body: Vec<u8>,
    /// Connect and first-byte timeout in milliseconds (`None`: the host's).
    pub timeout_ms: Option<u64>,
    /// The most response bytes to read before failing.
    pub max_body: usize,
}

impl Request {
    /// A request with the given method and URL and nothing else.
    pub fn new(method: &str, url: impl Into<String>) -> Self {
        Self {
            method: method.to_string(),
            url: url.into(),
            headers: Vec::new(),
            body: Vec::new(),
            timeout_ms: None,
            max_body: DEFAULT_MAX_BODY,
        }
    }

    /// A `GET` request.
    pub fn get(url: impl Into<String>) -> Self {
        Self::new("GET", url)
    }

    /// A `POST` request with a JSON body.
    pub fn post_json(url: impl Into<String>, body: &serde_json::Value) -> Self {
        Self::new("POST", url)
            .header("content-type", "application/json")
            .body(body.to_string().into_bytes())
    }

    /// Adds a header.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    /// Adds `authorization: Bearer <token>`.
    pub fn bearer(self, token: &str) -> Self {
        self.header("authorization", &format!("Bearer {token}"))
    }

    /// Sets the body.
    pub fn body(mut self, body: Vec<u8>) -> Self {
        self.body = body;
        self
    }

    /// Sends the request and reads the whole response.
    pub fn send(self) -> Result<Response, HttpError> {
        send(self)
    }
}

/// A response read in full.
#[derive(Debug, Clone)]
pub struct Response {
    /// The HTTP status code.
    pub status: u16,
    /// Header names (lower case) and values.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Response {
    /// The first value of a header, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// True for 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// Why a request got no response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HttpError {
    /// The host's sandbox refused the destination (not an allowed host, or
    /// plain http where https is required).
    Denied(String),
    /// The URL could not be parsed.
    InvalidUrl(String),
    /// Connecting, sending or receiving failed, or timed out.
    Transport(String),
    /// The response body was larger than allowed.
    TooLarge(usize),
}

impl std::fmt::Display for HttpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Denied(what) => write!(f, "request denied by the host: {what}"),
            Self::InvalidUrl(url) => write!(f, "invalid URL `{url}`"),
            Self::Transport(why) => write!(f, "HTTP transport error: {why}"),
            Self::TooLarge(limit) => write!(f, "response body larger than {limit} bytes"),
        }
    }
}

/// The parts of an absolute URL the outgoing handler wants.
#[derive(Debug, PartialEq, Eq)]
pub struct UrlParts<'a> {
    /// `true` for https.
    pub https: bool,
    /// `host[:port]`.
    pub authority: &'a str,
    /// `/path?query`, at least `/`.
    pub path_with_query: &'a str,
}

/// Splits an absolute `http(s)` URL.
pub fn split_url(url: &str) -> Result<UrlParts<'_>, HttpError> {
    let invalid = || HttpError::InvalidUrl(url.to_string());
    let (https, rest) = if let Some(rest) = url.strip_prefix("https://") {
        (true, rest)
    } else if let Some(rest) = url.strip_prefix("http://") {
        (false, rest)
    } else {
        return Err(invalid());
    };
    let (authority, path) = match rest.find(['/', '?']) {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    if authority.is_empty() || authority.contains('@') {
        return Err(invalid());
    }
    // `https://host?x=1` has no path at all; callers always build `/path?query`.
    if path.starts_with('?') {
        return Err(invalid());
    }
    let path_with_query = path;
    Ok(UrlParts {
        https,
        authority,
        path_with_query,
    })
}

fn method_of(name: &str) -> Method {
    match name.to_ascii_uppercase().as_str() {
        "GET" => Method::Get,
        "HEAD" => Method::Head,
        "POST" => Method::Post,
        "PUT" => Method::Put,
        "DELETE" => Method::Delete,
        "CONNECT" => Method::Connect,
        "OPTIONS" => Method::Options,
        "TRACE" => Method::Trace,
        "PATCH" => Method::Patch,
        other => Method::Other(other.to_string()),
    }
}

fn error_code(code: &ErrorCode) -> HttpError {
    match code {
        ErrorCode::HttpRequestDenied => {
            HttpError::Denied("the destination is not allowed".to_string())
        }
        ErrorCode::HttpResponseBodySize(limit) => {
            HttpError::TooLarge(limit.map_or(0, |l| l as usize))
        }
        other => HttpError::Transport(format!("{other:?}")),
    }
}

/// Sends a request and reads the whole response.
pub fn send(req: Request) -> Result<Response, HttpError> {
    let url = split_url(&req.url)?;
    let headers = Fields::new();
    for (name, value) in &req.headers {
        headers
            .append(name, value.as_bytes())
            .map_err(|e| HttpError::Transport(format!("header `{name}` refused: {e:?}")))?;
    }
    let outgoing = OutgoingRequest::new(headers);
    let unit = |_| HttpError::InvalidUrl(req.url.clone());
    outgoing.set_method(&method_of(&req.method)).map_err(unit)?;
    outgoing
        .set_scheme(Some(if url.https {
            &Scheme::Https
        } else {
            &Scheme::Http
        }))
        .map_err(unit)?;
    outgoing.set_authority(Some(url.authority)).map_err(unit)?;
    outgoing
        .set_path_with_query(Some(url.path_with_query))
        .map_err(unit)?;
    let body = outgoing
        .body()
        .map_err(|_| HttpError::Transport("request body unavailable".into()))?;

    let options = RequestOptions::new();
    if let Some(ms) = req.timeout_ms {
        let ns = ms.saturating_mul(1_000_000);
        // The host may refuse to honour a timeout; its own then applies.
        let _ = options.set_connect_timeout(Some(ns));
        let _ = options.set_first_byte_timeout(Some(ns));
        let _ = options.set_between_bytes_timeout(Some(ns));
    }
    let pending = outgoing_handler::handle(outgoing, Some(options)).map_err(|e| error_code(&e))?;

    {
        let stream = body
            .write()
            .map_err(|_| HttpError::Transport("request body stream unavailable".into()))?;
        for chunk in req.body.chunks(4096) {
            stream
                .blocking_write_and_flush(chunk)
                .map_err(|e| HttpError::Transport(format!("writing the request body: {e:?}")))?;
        }
    }
    OutgoingBody::finish(body, None).map_err(|e| error_code(&e))?;

    pending.subscribe().block();
    let response = match pending.get() {
        Some(Ok(Ok(response))) => response,
        Some(Ok(Err(code))) => return Err(error_code(&code)),
        Some(Err(())) => return Err(HttpError::Transport("response already taken".into())),
        None => return Err(HttpError::Transport("response not ready".into())),
    };

    let status = response.status();
    let headers = response
        .headers()
        .entries()
        .into_iter()
        .map(|(name, value)| (name, String::from_utf8_lossy(&value).into_owned()))
        .collect();
    let incoming = response
        .consume()
        .map_err(|_| HttpError::Transport("response body unavailable".into()))?;
    let mut body = Vec::new();
    {
        let stream = incoming
            .stream()
            .map_err(|_| HttpError::Transport("response body stream unavailable".into()))?;
        loop {
            match stream.blocking_read(64 * 1024) {
                Ok(chunk) => {
                    if body.len() + chunk.len() > req.max_body {
                        return Err(HttpError::TooLarge(req.max_body));
                    }
                    body.extend_from_slice(&chunk);
                }
                Err(StreamError::Closed) => break,
                Err(StreamError::LastOperationFailed(e)) => {
                    let why = e.to_debug_string();
                    return Err(if why.contains("HttpResponseBodySize") {
                        HttpError::TooLarge(req.max_body)
                    } else {
                        HttpError::Transport(format!("reading the response body: {why}"))
                    });
                }
            }
        }
    }
    let _trailers = IncomingBody::finish(incoming);
    Ok(Response {
        status,
        headers,
        body,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_urls() {
        assert_eq!(
            split_url("https://openapi.keycrm.app/v1/offers?page=2"),
            Ok(UrlParts {
                https: true,
                authority: "openapi.keycrm.app",
                path_with_query: "/v1/offers?page=2"
            })
        );
        assert_eq!(
            split_url("http://127.0.0.1:8080"),
            Ok(UrlParts {
                https: false,
                authority: "127.0.0.1:8080",
                path_with_query: "/"
            })
        );
        assert!(split_url("ftp://x/").is_err());
        assert!(split_url("https:///path").is_err());
        assert!(split_url("https://user@evil.example/").is_err());
        assert!(split_url("https://host?x=1").is_err());
    }
}
