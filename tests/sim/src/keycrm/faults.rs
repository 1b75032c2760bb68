//! How KeyCRM's injected faults look on the wire: Laravel and nginx error bodies.

use http::StatusCode;

use super::json::Reply;
use super::record::RecordedRequest;
use super::{Fault, Shared, api};
use crate::server::Backend;

impl Backend for Shared {
    const NAME: &'static str = "keycrm sim";

    fn arrive(&self, request: &RecordedRequest) -> Option<Fault> {
        Shared::arrive(self, request)
    }

    fn handle(&self, request: &RecordedRequest) -> Reply {
        api::handle(self, request)
    }

    fn fault_reply(&self, fault: &Fault) -> Reply {
        match fault {
            Fault::ServerError(status) => server_error(*status),
            Fault::RateLimited { retry_after_secs } => {
                api::too_many_attempts(u64::from(*retry_after_secs), "60")
            }
            Fault::HugeBody(min_bytes) => {
                Reply::raw(200, "application/json", huge_body(*min_bytes))
            }
            Fault::MalformedJson => Reply::raw(200, "application/json", MALFORMED.to_vec()),
            // The server handles these at the socket and never asks for a reply.
            Fault::Slow(_) | Fault::DropConnection | Fault::ApplyThenDrop => server_error(500),
        }
    }

    fn too_large(&self) -> Reply {
        Reply::message(413, "Request Entity Too Large")
    }
}

/// A paginated envelope cut off in the middle of an offer.
const MALFORMED: &[u8] = br#"{"total":230,"current_page":1,"per_page":15,"data":[{"id":1,"product_id":1,"sku":"TS-0001-1","price":549,"properties":[{"name":"Col"#;

fn server_error(status: u16) -> Reply {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let code = status.as_u16();
    let reason = status.canonical_reason().unwrap_or("Error");
    match code {
        500 => Reply::message(code, "Server Error"),
        502 | 504 => Reply::nginx_page(code),
        _ => Reply::message(code, reason),
    }
}

/// A valid paginated envelope of offers with at least `min_bytes` bytes.
fn huge_body(min_bytes: usize) -> Vec<u8> {
    let filler = "Опис варіанту. ".repeat(40);
    let mut data = String::with_capacity(min_bytes + 2048);
    let mut count = 0usize;
    // The envelope around `data` adds fewer than 200 bytes; overshoot to be safe.
    while data.len() + 200 < min_bytes || count == 0 {
        count += 1;
        if count > 1 {
            data.push(',');
        }
        data.push_str(&format!(
            r#"{{"id":{count},"product_id":{count},"sku":"HUGE-{count:06}","barcode":null,"thumbnail_url":null,"price":100,"purchased_price":55,"quantity":1,"weight":0.1,"length":1,"width":1,"height":1,"properties":[{{"name":"Опис","value":"{filler}"}}]}}"#
        ));
    }
    format!(
        r#"{{"total":{count},"current_page":1,"per_page":{count},"data":[{data}],"first_page_url":"http://127.0.0.1/v1/offers?page=1","last_page_url":"http://127.0.0.1/v1/offers?page=1","next_page_url":null}}"#
    )
    .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn it_makes_huge_bodies_that_parse() {
        for min in [0, 10, 5_000, 300_000] {
            let body = huge_body(min);
            assert!(body.len() >= min);
            let value: serde_json::Value = serde_json::from_slice(&body).expect("valid JSON");
            assert_eq!(
                value["total"].as_u64(),
                value["data"].as_array().map(|d| d.len() as u64)
            );
        }
    }

    #[test]
    fn it_renders_gateway_errors_as_html() {
        let reply = server_error(502);
        assert_eq!(reply.content_type, Some("text/html"));
        assert!(String::from_utf8_lossy(&reply.body).contains("502 Bad Gateway"));
        assert_eq!(server_error(500).content_type, Some("application/json"));
        assert_eq!(server_error(42).status, 500);
    }
}
