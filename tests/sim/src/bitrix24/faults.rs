//! How injected faults look in Bitrix24: `{"error", "error_description"}` bodies.

use http::StatusCode;

use super::api::{self, JSON, error};
use super::{Fault, Shared, products};
use crate::record::RecordedRequest;
use crate::reply::Reply;
use crate::server::Backend;

/// A `crm.product.list` answer cut off in the middle of a name.
const MALFORMED: &[u8] = "{\"result\":[{\"ID\":\"1\",\"NAME\":\"Фут".as_bytes();

impl Backend for Shared {
    const NAME: &'static str = "bitrix24 sim";

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
                api::query_limit_exceeded().with_header("retry-after", retry_after_secs.to_string())
            }
            Fault::MalformedJson => Reply::raw(200, JSON, MALFORMED.to_vec()),
            Fault::HugeBody(min_bytes) => Reply::raw(200, JSON, huge_body(*min_bytes)),
            // The server handles these at the socket and never asks for a reply.
            Fault::Slow(_) | Fault::DropConnection | Fault::ApplyThenDrop => server_error(500),
        }
    }

    fn too_large(&self) -> Reply {
        Reply::nginx_page(413)
    }
}

fn server_error(status: u16) -> Reply {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let code = status.as_u16();
    match code {
        500 => error(500, "INTERNAL_SERVER_ERROR", "Internal server error"),
        503 => error(503, "OVERLOAD_LIMIT", "REST API is blocked due to overload"),
        502 | 504 => Reply::nginx_page(code),
        _ => {
            let reason = status.canonical_reason().unwrap_or("Error");
            error(
                code,
                &reason.to_uppercase().replace([' ', '-'], "_"),
                reason,
            )
        }
    }
}

/// A valid `crm.product.list` answer with at least `min_bytes` bytes.
fn huge_body(min_bytes: usize) -> Vec<u8> {
    let filler = "Опис товару. ".repeat(40);
    let mut result = Vec::new();
    let mut size = 0usize;
    while size + 200 < min_bytes || result.is_empty() {
        let id = i64::try_from(result.len()).unwrap_or(i64::MAX) + 1;
        let record = products::record(&products::Bitrix24Product {
            id,
            name: format!("Товар {id}"),
            price_kopecks: 10_000,
            currency_id: "UAH".to_owned(),
            description: filler.clone(),
            xml_id: format!("HUGE-{id:06}"),
            section_id: None,
            active: true,
        });
        let record = serde_json::Value::Object(record);
        size += record.to_string().len() + 1;
        result.push(record);
    }
    let total = result.len();
    serde_json::to_vec(&serde_json::json!({ "result": result, "total": total })).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn it_renders_bitrix_error_codes() {
        let body = |reply: Reply| -> serde_json::Value {
            serde_json::from_slice(&reply.body).expect("JSON")
        };
        assert_eq!(body(server_error(500))["error"], "INTERNAL_SERVER_ERROR");
        assert_eq!(body(server_error(503))["error"], "OVERLOAD_LIMIT");
        assert_eq!(body(server_error(501))["error"], "NOT_IMPLEMENTED");
        assert_eq!(server_error(502).content_type, Some("text/html"));
    }

    #[test]
    fn it_makes_huge_bodies_that_parse() {
        let body = huge_body(100_000);
        assert!(body.len() >= 100_000);
        let value: serde_json::Value = serde_json::from_slice(&body).expect("valid JSON");
        assert_eq!(
            value["total"].as_u64(),
            value["result"].as_array().map(|r| r.len() as u64)
        );
        assert!(serde_json::from_slice::<serde_json::Value>(MALFORMED).is_err());
    }
}
