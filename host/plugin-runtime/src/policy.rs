//! Which hosts a plugin may reach.
//!
//! The decision is made on the request's URI authority, the address the
//! connection is really made to, never on a `Host` header the plugin set
//! (the mistake behind Spin's CVE-2024-32980).

use std::net::IpAddr;

/// One allowed-host entry: `example.com`, `*.example.com`, `example.com:8443`,
/// `127.0.0.1:8081`, `[::1]:9000`. Without a port any port matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPattern {
    /// The host, lower case; for a wildcard, the suffix after `*.`.
    host: String,
    wildcard: bool,
    port: Option<u16>,
}

fn split_host_port(text: &str) -> Result<(String, Option<u16>), String> {
    if let Some(rest) = text.strip_prefix('[') {
        let (host, after) = rest
            .split_once(']')
            .ok_or_else(|| format!("`{text}`: unclosed `[`"))?;
        let port = match after.strip_prefix(':') {
            Some(p) => Some(p.parse().map_err(|_| format!("`{text}`: invalid port"))?),
            None if after.is_empty() => None,
            None => return Err(format!("`{text}`: unexpected `{after}`")),
        };
        return Ok((host.to_ascii_lowercase(), port));
    }
    match text.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') => Ok((
            host.to_ascii_lowercase(),
            Some(
                port.parse()
                    .map_err(|_| format!("`{text}`: invalid port"))?,
            ),
        )),
        // A bare IPv6 address.
        Some(_) => Ok((text.to_ascii_lowercase(), None)),
        None => Ok((text.to_ascii_lowercase(), None)),
    }
}

impl HostPattern {
    /// Parses an entry; the error says what is wrong with it.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if text.is_empty() {
            return Err("an allowed host may not be empty".into());
        }
        if text.contains("://") || text.contains('/') || text.contains('@') {
            return Err(format!(
                "`{text}`: give a host name (like `openapi.keycrm.app`), not a URL"
            ));
        }
        let (host, port) = split_host_port(text)?;
        let (host, wildcard) = match host.strip_prefix("*.") {
            Some(suffix) => (suffix.to_string(), true),
            None => (host, false),
        };
        let host = host.trim_end_matches('.').to_string();
        if host.is_empty() || host.contains('*') {
            return Err(format!("`{text}`: only a leading `*.` wildcard is allowed"));
        }
        Ok(Self {
            host,
            wildcard,
            port,
        })
    }

    /// Whether `host` (lower case, no brackets) and `port` match.
    pub fn matches(&self, host: &str, port: u16) -> bool {
        if self.port.is_some_and(|p| p != port) {
            return false;
        }
        if self.wildcard {
            host.len() > self.host.len()
                && host.ends_with(&self.host)
                && host.as_bytes()[host.len() - self.host.len() - 1] == b'.'
        } else {
            host == self.host
        }
    }
}

/// Why a request was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Denial {
    /// The request has no authority to check.
    #[error("the request has no host")]
    NoAuthority,
    /// The host is not on the list.
    #[error("`{0}` is not an allowed host")]
    NotAllowed(String),
    /// Plain http to a host that is not loopback, or loopback http not enabled.
    #[error("plain http to `{0}` is not allowed (https only)")]
    PlainHttp(String),
}

/// The outbound policy of one plugin.
#[derive(Debug, Clone)]
pub struct HostPolicy {
    patterns: Vec<HostPattern>,
    allow_http_loopback: bool,
}

/// True for `localhost`, 127.0.0.0/8 and ::1.
pub fn is_loopback(host: &str) -> bool {
    if host == "localhost" {
        return true;
    }
    host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

impl HostPolicy {
    /// A policy from entries already validated by [`HostPattern::parse`];
    /// invalid entries are an error naming them.
    pub fn new(entries: &[String], allow_http_loopback: bool) -> Result<Self, String> {
        let patterns = entries
            .iter()
            .map(|e| HostPattern::parse(e))
            .collect::<Result<_, _>>()?;
        Ok(Self {
            patterns,
            allow_http_loopback,
        })
    }

    /// Decides on a request by its URI.
    pub fn check(&self, uri: &http::Uri) -> Result<(), Denial> {
        let authority = uri.authority().ok_or(Denial::NoAuthority)?;
        let https = uri.scheme() == Some(&http::uri::Scheme::HTTPS);
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .trim_end_matches('.')
            .to_ascii_lowercase();
        let port = authority.port_u16().unwrap_or(if https { 443 } else { 80 });
        let plain_http_allowed = self.allow_http_loopback && is_loopback(&host);
        if !https && !plain_http_allowed {
            return Err(Denial::PlainHttp(authority.to_string()));
        }
        if self.patterns.iter().any(|p| p.matches(&host, port)) {
            Ok(())
        } else {
            Err(Denial::NotAllowed(authority.to_string()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(entries: &[&str], loopback: bool) -> HostPolicy {
        let entries: Vec<String> = entries.iter().map(|s| s.to_string()).collect();
        HostPolicy::new(&entries, loopback).unwrap_or_else(|e| panic!("{e}"))
    }

    fn check(p: &HostPolicy, uri: &str) -> Result<(), Denial> {
        p.check(&uri.parse().unwrap_or_else(|e| panic!("{uri}: {e}")))
    }

    #[test]
    fn it_allows_a_listed_https_host_on_any_port() {
        let p = policy(&["openapi.keycrm.app"], false);
        assert_eq!(check(&p, "https://openapi.keycrm.app/v1/offers"), Ok(()));
        assert_eq!(check(&p, "https://OpenAPI.KeyCRM.app:8443/"), Ok(()));
    }

    #[test]
    fn it_denies_an_unlisted_host() {
        let p = policy(&["openapi.keycrm.app"], false);
        assert_eq!(
            check(&p, "https://evil.example/"),
            Err(Denial::NotAllowed("evil.example".into()))
        );
        assert!(check(&p, "https://openapi.keycrm.app.evil.example/").is_err());
    }

    #[test]
    fn it_denies_plain_http_even_to_a_listed_host() {
        let p = policy(&["openapi.keycrm.app"], true);
        assert_eq!(
            check(&p, "http://openapi.keycrm.app/"),
            Err(Denial::PlainHttp("openapi.keycrm.app".into()))
        );
    }

    #[test]
    fn it_allows_http_to_loopback_only_when_enabled() {
        let on = policy(&["127.0.0.1:8081"], true);
        assert_eq!(check(&on, "http://127.0.0.1:8081/v1"), Ok(()));
        assert!(check(&on, "http://127.0.0.1:8082/v1").is_err());
        let off = policy(&["127.0.0.1:8081"], false);
        assert!(check(&off, "http://127.0.0.1:8081/v1").is_err());
    }

    #[test]
    fn it_matches_wildcards_on_label_boundaries() {
        let p = policy(&["*.bitrix24.ua"], false);
        assert_eq!(check(&p, "https://shop.bitrix24.ua/rest/"), Ok(()));
        assert!(check(&p, "https://bitrix24.ua/").is_err());
        assert!(check(&p, "https://evilbitrix24.ua/").is_err());
    }

    #[test]
    fn it_handles_ipv6_literals() {
        let p = policy(&["[::1]:9000"], true);
        assert_eq!(check(&p, "http://[::1]:9000/"), Ok(()));
        assert!(check(&p, "http://[::1]:9001/").is_err());
    }

    #[test]
    fn it_rejects_malformed_entries() {
        for bad in [
            "",
            "https://x.com",
            "x.com/path",
            "a.*.com",
            "user@x.com",
            "x.com:http",
        ] {
            assert!(HostPattern::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn it_denies_everything_with_an_empty_list() {
        let p = policy(&[], true);
        assert!(check(&p, "http://127.0.0.1:1/").is_err());
    }
}
