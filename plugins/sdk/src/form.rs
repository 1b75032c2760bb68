//! `application/x-www-form-urlencoded` in both directions, and query strings.
//!
//! CRMs send their webhooks as forms with PHP-style keys
//! (`leads[status][0][id]=…`), and search parameters have to be
//! percent-encoded into URLs; both are needed by more than one plugin.

/// Percent-encodes `text` for a query-string key or value: everything but
/// the RFC 3986 unreserved characters is escaped, so `[`, `]`, `&`, `=`,
/// `+` and spaces survive any server's parser.
pub fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// `k1=v1&k2=v2` with keys and values percent-encoded.
pub fn query_string<K: AsRef<str>, V: AsRef<str>>(pairs: &[(K, V)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k.as_ref()), encode(v.as_ref())))
        .collect::<Vec<_>>()
        .join("&")
}

fn hex(byte: u8) -> Option<u8> {
    match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'a'..=b'f' => Some(byte - b'a' + 10),
        b'A'..=b'F' => Some(byte - b'A' + 10),
        _ => None,
    }
}

/// Decodes one form component: `+` is a space, `%XX` a byte; a `%` not
/// followed by two hex digits is kept as it is (as PHP does). Invalid UTF-8
/// becomes U+FFFD rather than an error: a webhook must not be lost over one
/// bad byte in a name.
pub fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b'%' => {
                let pair = bytes
                    .get(i + 1)
                    .and_then(|h| hex(*h))
                    .zip(bytes.get(i + 2).and_then(|l| hex(*l)));
                match pair {
                    Some((h, l)) => {
                        out.push(h * 16 + l);
                        i += 3;
                    }
                    None => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            other => {
                out.push(other);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The decoded `(key, value)` pairs of a form body or query string, in
/// order; empty segments are skipped and a key without `=` has an empty value.
pub fn parse(body: &[u8]) -> Vec<(String, String)> {
    let text = String::from_utf8_lossy(body);
    text.split('&')
        .filter(|segment| !segment.is_empty())
        .map(|segment| match segment.split_once('=') {
            Some((k, v)) => (decode(k), decode(v)),
            None => (decode(segment), String::new()),
        })
        .collect()
}

/// The value of the first pair called `key`.
pub fn get<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// Compares two secrets in time that depends only on their lengths, so a
/// webhook forger cannot find a token byte by byte from response times.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_brackets_spaces_and_utf8() {
        assert_eq!(encode("filter[id]"), "filter%5Bid%5D");
        assert_eq!(encode("a b+c&d=é"), "a%20b%2Bc%26d%3D%C3%A9");
        assert_eq!(encode("tg-1_2.3~"), "tg-1_2.3~");
        assert_eq!(
            query_string(&[("query", "tg 1"), ("limit", "50")]),
            "query=tg%201&limit=50"
        );
    }

    #[test]
    fn parses_php_style_forms() {
        let pairs = parse(b"leads%5Bstatus%5D%5B0%5D%5Bid%5D=7&name=%D0%9E%D0%BB%D1%8F+P&&flag");
        assert_eq!(
            pairs,
            [
                ("leads[status][0][id]".to_string(), "7".to_string()),
                ("name".to_string(), "Оля P".to_string()),
                ("flag".to_string(), String::new()),
            ]
        );
        assert_eq!(get(&pairs, "name"), Some("Оля P"));
        assert_eq!(decode("100%"), "100%");
        assert_eq!(decode("%zz%4"), "%zz%4");
    }

    #[test]
    fn round_trips() {
        let text = "Замовлення [tg-1] & co = 100%";
        assert_eq!(decode(&encode(text)), text);
    }

    #[test]
    fn compares_secrets() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
