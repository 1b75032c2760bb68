//! How injected faults look in amoCRM: problem+json errors and HAL bodies.

use http::StatusCode;

use super::api::{self, HAL, problem};
use super::{Fault, Shared, catalog};
use crate::record::RecordedRequest;
use crate::reply::Reply;
use crate::server::Backend;

/// A page of catalog elements cut off in the middle of a name.
const MALFORMED: &[u8] = br#"{"_page":1,"_links":{"self":{"href":"http://127.0.0.1/api/v4/catalogs/5001/elements?page=1"}},"_embedded":{"elements":[{"id":1,"name":"\xd0\xa4\xd1\x83\xd1\x82"#;

impl Backend for Shared {
    const NAME: &'static str = "amocrm sim";

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
                api::too_many_requests().with_header("retry-after", retry_after_secs.to_string())
            }
            Fault::MalformedJson => Reply::raw(200, HAL, MALFORMED.to_vec()),
            Fault::HugeBody(min_bytes) => {
                Reply::raw(200, HAL, catalog::huge_page(&self.ctx(), *min_bytes))
            }
            // The server handles these at the socket and never asks for a reply.
            Fault::Slow(_) | Fault::DropConnection | Fault::ApplyThenDrop => server_error(500),
        }
    }

    fn too_large(&self) -> Reply {
        problem(413, "Payload Too Large", "Payload Too Large")
    }
}

fn server_error(status: u16) -> Reply {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let code = status.as_u16();
    let reason = status.canonical_reason().unwrap_or("Error");
    match code {
        502 | 504 => Reply::nginx_page(code),
        _ => problem(code, reason, reason),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn it_cuts_the_malformed_page_inside_a_utf8_name() {
        assert!(std::str::from_utf8(MALFORMED).is_ok());
        assert!(serde_json::from_slice::<serde_json::Value>(MALFORMED).is_err());
    }

    #[test]
    fn it_renders_server_errors_as_problems() {
        let reply = server_error(503);
        assert_eq!(reply.content_type, Some(api::PROBLEM));
        let body: serde_json::Value = serde_json::from_slice(&reply.body).expect("JSON");
        assert_eq!(body["status"], 503);
        assert_eq!(body["title"], "Service Unavailable");
        assert_eq!(server_error(504).content_type, Some("text/html"));
        assert_eq!(server_error(7).status, 500);
    }
}
