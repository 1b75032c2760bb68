//! The hyper accept loop and the fault behaviours that need the socket.
//!
//! Each accepted connection is served by `hyper::server::conn::http1` in its own task.
//! To drop a connection without an answer, the request handler signals the connection
//! task and never completes; the task then drops the hyper connection, which closes the
//! TCP socket with nothing written.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, oneshot};
use tokio::task::JoinSet;

use super::json::Reply;
use super::record::RecordedRequest;
use super::{Fault, Shared, api};

/// Request bodies above this size get 413, like a PHP `post_max_size`.
const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;

/// Accepts connections until `stop` fires (or its sender is dropped), then aborts the
/// open connections.
pub(crate) async fn accept_loop(
    listener: TcpListener,
    shared: Arc<Shared>,
    mut stop: oneshot::Receiver<()>,
) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            _ = &mut stop => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    connections.spawn(serve_connection(stream, Arc::clone(&shared)));
                }
                Err(error) => {
                    // Usually out of file descriptors: back off instead of spinning.
                    tracing::debug!(%error, "keycrm sim: accept failed");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    drop(listener);
    connections.shutdown().await;
}

async fn serve_connection(stream: TcpStream, shared: Arc<Shared>) {
    let kill = Arc::new(Notify::new());
    let service_kill = Arc::clone(&kill);
    let service = service_fn(move |request| {
        let shared = Arc::clone(&shared);
        let kill = Arc::clone(&service_kill);
        async move { Ok::<_, Infallible>(respond(shared, kill, request).await) }
    });
    let connection = http1::Builder::new().serve_connection(TokioIo::new(stream), service);
    tokio::select! {
        result = connection => {
            if let Err(error) = result {
                tracing::debug!(%error, "keycrm sim: connection ended with an error");
            }
        }
        // Dropping the unfinished connection closes the socket without a response.
        () = kill.notified() => {}
    }
}

async fn respond(
    shared: Arc<Shared>,
    kill: Arc<Notify>,
    request: hyper::Request<Incoming>,
) -> Response<Full<Bytes>> {
    let (parts, body) = request.into_parts();
    let body = Limited::new(body, MAX_BODY_BYTES).collect().await;
    let (body, too_large) = match body {
        Ok(collected) => (collected.to_bytes().to_vec(), false),
        Err(_) => (Vec::new(), true),
    };
    let recorded = RecordedRequest::from_parts(&parts, body);
    let fault = shared.arrive(&recorded);
    if too_large && fault.is_none() {
        return to_response(Reply::message(413, "Request Entity Too Large"));
    }
    let reply = match fault {
        None => api::handle(&shared, &recorded),
        Some(Fault::Slow(delay)) => {
            // A separate task finishes the work even if the client hangs up meanwhile.
            let task = tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                api::handle(&shared, &recorded)
            });
            task.await
                .unwrap_or_else(|_| Reply::message(500, "Server Error"))
        }
        Some(Fault::DropConnection) => return hang_up(&kill).await,
        Some(Fault::ApplyThenDrop) => {
            let _applied = api::handle(&shared, &recorded);
            return hang_up(&kill).await;
        }
        Some(Fault::ServerError(status)) => server_error(status),
        Some(Fault::RateLimited { retry_after_secs }) => {
            api::too_many_attempts(u64::from(retry_after_secs), "60")
        }
        Some(Fault::MalformedJson) => Reply {
            status: 200,
            content_type: "application/json",
            headers: Vec::new(),
            body: br#"{"total":230,"current_page":1,"per_page":15,"data":[{"id":1,"product_id":1,"sku":"TS-0001-1","price":549,"properties":[{"name":"Col"#.to_vec(),
        },
        Some(Fault::HugeBody(min_bytes)) => Reply {
            status: 200,
            content_type: "application/json",
            headers: Vec::new(),
            body: huge_body(min_bytes),
        },
    };
    to_response(reply)
}

/// Asks the connection task to drop the connection and never answers.
async fn hang_up(kill: &Notify) -> Response<Full<Bytes>> {
    kill.notify_one();
    std::future::pending().await
}

fn server_error(status: u16) -> Reply {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let code = status.as_u16();
    let reason = status.canonical_reason().unwrap_or("Error");
    match code {
        500 => Reply::message(code, "Server Error"),
        502 | 504 => Reply {
            status: code,
            content_type: "text/html",
            headers: Vec::new(),
            body: format!(
                "<html>\r\n<head><title>{code} {reason}</title></head>\r\n<body>\r\n\
                 <center><h1>{code} {reason}</h1></center>\r\n<hr><center>nginx</center>\r\n\
                 </body>\r\n</html>\r\n"
            )
            .into_bytes(),
        },
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

fn to_response(reply: Reply) -> Response<Full<Bytes>> {
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = Response::new(Full::new(Bytes::from(reply.body)));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static(reply.content_type),
    );
    headers.insert(
        http::header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache, private"),
    );
    for (name, value) in reply.headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            headers.append(name, value);
        }
    }
    response
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
        assert_eq!(reply.content_type, "text/html");
        assert!(String::from_utf8_lossy(&reply.body).contains("502 Bad Gateway"));
        assert_eq!(server_error(500).content_type, "application/json");
        assert_eq!(server_error(42).status, 500);
    }
}
