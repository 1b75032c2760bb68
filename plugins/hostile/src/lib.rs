//! # Hostile test plugin
//!
//! A component that attacks its sandbox when asked to: `get-product(id)`
//! performs the misbehaviour named by `id` (see [`Hostile::get_product`]).
//! Every other operation behaves, so tests can show that the next ordinary
//! call after an attack still succeeds. It is never shipped to businesses.

use std::hint::black_box;
use std::sync::atomic::{AtomicU32, Ordering};

use switchboard_plugin_sdk::http::Request;
use switchboard_plugin_sdk::{
    Crm, CrmError, Lead, LeadRef, Money, Operations, PipelineStatus, PluginInfo, Product,
    ProductPage, config, errors,
};

struct Hostile;

/// Bumped by every `get-product` call. An instance that served a call before
/// would report more than 1, so tests can see whether instances are reused.
static CALLS: AtomicU32 = AtomicU32::new(0);

fn product(id: &str, description: String) -> Product {
    Product {
        id: id.to_string(),
        name: format!("Item {id}"),
        variant_name: None,
        sku: Some(format!("SKU-{id}")),
        price: Money {
            minor_units: 1000,
            scale: 2,
            currency: "UAH".into(),
        },
        description: Some(description),
        image_url: None,
        stock: Some(1),
    }
}

fn fetch(url: &str, extra_header: Option<(&str, &str)>) -> Result<Product, CrmError> {
    let mut request = Request::get(url);
    request.max_body = 1 << 30;
    if let Some((name, value)) = extra_header {
        request = request.header(name, value);
    }
    let response = request.send().map_err(|e| errors::from_http_error(&e))?;
    Ok(product(
        "fetched",
        format!(
            "HTTP {} with {} bytes",
            response.status,
            response.body.len()
        ),
    ))
}

impl Crm for Hostile {
    fn info() -> PluginInfo {
        PluginInfo {
            id: "hostile".into(),
            name: "Hostile test plugin".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            operations: Operations::GET_PRODUCT | Operations::LEAD_STATUS,
        }
    }

    fn list_products(_cursor: Option<String>, _limit: u32) -> Result<ProductPage, CrmError> {
        Ok(ProductPage {
            items: vec![product("1", "harmless".into())],
            next_cursor: None,
            total: Some(1),
        })
    }

    /// Misbehaves as `id` says: `loop`, `alloc` (1 GiB), `panic`,
    /// `forbidden-host`, `forged-host`, `huge-response`, `read-file`, `env`,
    /// `socket`, `stdout`, `forged-error` (a 100 KB error text with forged
    /// log lines and terminal escapes), `retry-forever` (`rate-limited`
    /// for 2^32−1 seconds); any other id is an ordinary product whose name
    /// carries the instance's call count (`Item <id> (call <n>)`), which is
    /// 1 when every call gets a fresh instance.
    fn get_product(id: String) -> Result<Product, CrmError> {
        let call = CALLS.fetch_add(1, Ordering::Relaxed) + 1;
        match id.as_str() {
            "loop" => {
                let mut n: u64 = 0;
                loop {
                    n = black_box(n.wrapping_add(1));
                }
            }
            "alloc" => {
                let big = vec![7u8; 1 << 30];
                Ok(product(
                    "alloc",
                    format!("allocated {}", black_box(big).len()),
                ))
            }
            "panic" => panic!("hostile plugin panics on purpose"),
            "forbidden-host" => {
                let url =
                    config::get("forbidden_url").unwrap_or_else(|| "https://example.com/".into());
                fetch(&url, None)
            }
            "forged-host" => {
                let url = config::require("forbidden_url")?;
                let allowed = config::require("allowed_url")?;
                let allowed_host = allowed
                    .split("://")
                    .nth(1)
                    .and_then(|rest| rest.split('/').next())
                    .unwrap_or_default()
                    .to_string();
                fetch(&url, Some(("host", &allowed_host)))
            }
            "huge-response" => fetch(&config::require("huge_url")?, None),
            "read-file" => match std::fs::read_to_string("/etc/passwd") {
                Ok(text) => Ok(product("read-file", text)),
                Err(e) => Err(CrmError::NotFound(format!("read /etc/passwd: {e}"))),
            },
            "env" => {
                let vars: Vec<String> = std::env::vars().map(|(k, v)| format!("{k}={v}")).collect();
                let args: Vec<String> = std::env::args().collect();
                let cwd = std::env::current_dir()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default();
                Ok(product(
                    "env",
                    format!("vars={vars:?} args={args:?} cwd={cwd:?}"),
                ))
            }
            "socket" => {
                let addr = config::require("socket_addr")?;
                match std::net::TcpStream::connect(&addr) {
                    Ok(_) => Ok(product("socket", format!("connected to {addr}"))),
                    Err(e) => Err(CrmError::Unavailable(format!("connect {addr}: {e}"))),
                }
            }
            "forged-error" => {
                let line = "no such product\n2026-12-08T00:00:00Z  INFO switchboard: admin token accepted\u{1b}[2J\r";
                Err(CrmError::Unavailable(line.repeat(1_000)))
            }
            "retry-forever" => Err(CrmError::RateLimited(u32::MAX)),
            "stdout" => {
                for i in 0..10_000 {
                    println!("hostile stdout line {i}");
                    eprintln!("hostile stderr line {i}");
                }
                Ok(product("stdout", "printed".into()))
            }
            other => {
                let mut item = product(other, "an ordinary product".into());
                item.name = format!("Item {other} (call {call})");
                Ok(item)
            }
        }
    }

    fn create_lead(lead: Lead) -> Result<LeadRef, CrmError> {
        Ok(LeadRef {
            id: lead.idempotency_key,
            url: None,
        })
    }

    fn lead_status(id: String) -> Result<PipelineStatus, CrmError> {
        Ok(PipelineStatus {
            id,
            name: "new".into(),
            is_final: false,
        })
    }
}

switchboard_plugin_sdk::register_plugin!(Hostile);
