//! [`RecordedRequest`] and query-string decoding.

use serde_json::Value;

/// One HTTP request as the simulator received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    /// The method, for example `"GET"`.
    pub method: String,
    /// The path without the query, as sent (for KeyCRM including the `/v1` prefix).
    pub path: String,
    /// The query parameters in order, percent-decoded (`+` is a space).
    pub query: Vec<(String, String)>,
    /// The headers in order, with lowercase names.
    pub headers: Vec<(String, String)>,
    /// The raw body.
    pub body: Vec<u8>,
}

impl RecordedRequest {
    /// The body parsed as JSON, or `None` if it is not JSON.
    pub fn json(&self) -> Option<Value> {
        serde_json::from_slice(&self.body).ok()
    }

    /// The value of the first query parameter called `name` (for example `"filter[sku]"`).
    pub fn query_param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The value of the first header called `name`, compared case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Builds a record from the parts hyper hands over.
    pub(crate) fn from_parts(parts: &http::request::Parts, body: Vec<u8>) -> Self {
        Self {
            method: parts.method.as_str().to_owned(),
            path: parts.uri.path().to_owned(),
            query: parts.uri.query().map(parse_query).unwrap_or_default(),
            headers: parts
                .headers
                .iter()
                .map(|(name, value)| {
                    (
                        name.as_str().to_ascii_lowercase(),
                        String::from_utf8_lossy(value.as_bytes()).into_owned(),
                    )
                })
                .collect(),
            body,
        }
    }
}

/// Splits and decodes an `application/x-www-form-urlencoded` query string.
pub(crate) fn parse_query(raw: &str) -> Vec<(String, String)> {
    raw.split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| match pair.split_once('=') {
            Some((k, v)) => (decode(k), decode(v)),
            None => (decode(pair), String::new()),
        })
        .collect()
}

/// Percent-encodes a query component, leaving only RFC 3986 unreserved characters.
pub(crate) fn encode(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for byte in raw.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Decodes `+` and `%XX`; malformed escapes are kept as they are.
fn decode(raw: &str) -> String {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                if let Some(byte) = hex {
                    out.push(byte);
                    i += 2;
                } else {
                    out.push(b'%');
                }
            }
            other => out.push(other),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn it_decodes_brackets_plus_and_utf8() {
        let query =
            parse_query("filter%5Bsku%5D=A%2CB&include=product&q=%D0%A7%D0%B0%D0%B9+50&flag");
        assert_eq!(
            query,
            vec![
                ("filter[sku]".to_owned(), "A,B".to_owned()),
                ("include".to_owned(), "product".to_owned()),
                ("q".to_owned(), "Чай 50".to_owned()),
                ("flag".to_owned(), String::new()),
            ]
        );
    }

    #[test]
    fn it_keeps_malformed_escapes() {
        assert_eq!(
            parse_query("a=100%&b=%zz"),
            vec![
                ("a".to_owned(), "100%".to_owned()),
                ("b".to_owned(), "%zz".to_owned()),
            ]
        );
    }

    #[test]
    fn it_round_trips_through_encode() {
        let raw = "filter[sku]=TS-0001-1, Чай";
        assert_eq!(decode(&encode(raw)), raw);
        assert_eq!(encode("filter[id]"), "filter%5Bid%5D");
    }
}
