//! The per-call store state: an empty WASI context, the plugin's
//! configuration, its log, its memory limiter and its outbound HTTP hook.
//!
//! What a plugin gets: no preopened directories, no environment variables,
//! no arguments, no inherited stdio, no sockets and no name lookups; random
//! numbers and clocks; outbound HTTP only through [`OutboundHooks`], which
//! enforces the host policy, the request budget and the response-size limit.

use std::collections::BTreeMap;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body::{Body, Frame};
use http_body_util::BodyExt;
use wasmtime::ResourceLimiter;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{
    Error as HttpError, RequestOptions, WasiBody, WasiHttpCtx, WasiHttpCtxView, WasiHttpHooks,
    WasiHttpView,
};

use crate::policy::HostPolicy;
use crate::since_v0_1_0::switchboard::crm;
use switchboard_ratelimit::RequestBudget;

/// The most log lines one call may write; the rest are counted and dropped.
const MAX_LOG_LINES_PER_CALL: u32 = 200;
/// The longest log line kept, in bytes.
const MAX_LOG_LINE_BYTES: usize = 2048;

/// What every call of one plugin shares.
#[derive(Debug)]
pub struct SandboxSpec {
    /// The plugin id, for logs and errors.
    pub plugin: Arc<str>,
    /// The configuration handed to the plugin.
    pub config: BTreeMap<String, String>,
    /// Where it may connect.
    pub policy: HostPolicy,
    /// Its request budget, shared by all its calls.
    pub budget: Option<Arc<RequestBudget>>,
    /// The most memory one instance may have.
    pub memory_limit_bytes: u64,
    /// The largest response body it may receive.
    pub max_response_bytes: u64,
    /// The call deadline, also the ceiling of HTTP timeouts.
    pub timeout: Duration,
}

/// Refuses memory growth past the limit and remembers that it did, so a
/// following trap can be reported as out-of-memory.
#[derive(Debug)]
pub struct MemoryLimiter {
    limit: u64,
    /// Set when a growth request was refused.
    pub refused: bool,
}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired as u64 > self.limit {
            self.refused = true;
            return Ok(false);
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 100_000)
    }
}

/// The outbound HTTP hook of one call.
pub struct OutboundHooks {
    spec: Arc<SandboxSpec>,
    deadline: Instant,
}

fn clamp(requested: Option<Duration>, ceiling: Duration) -> Option<Duration> {
    Some(requested.map_or(ceiling, |d| d.min(ceiling)))
}

/// The longest an HTTP exchange may take: a little less than what is left of
/// the call, so a slow CRM reaches the plugin as a timeout error it can map
/// to `unavailable` instead of the whole call being killed.
fn http_ceiling(deadline: Instant) -> Duration {
    let left = deadline.saturating_duration_since(Instant::now());
    left.saturating_sub((left / 10).min(Duration::from_millis(200)))
}

impl WasiHttpHooks for OutboundHooks {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        fut: Box<dyn Future<Output = Result<(), HttpError>> + Send>,
    ) -> Box<
        dyn Future<
                Output = Result<
                    (
                        http::Response<WasiBody>,
                        Box<dyn Future<Output = Result<(), HttpError>> + Send>,
                    ),
                    HttpError,
                >,
            > + Send,
    > {
        drop(fut);
        let spec = Arc::clone(&self.spec);
        if let Err(denial) = spec.policy.check(request.uri()) {
            tracing::warn!(
                plugin = %spec.plugin,
                method = %request.method(),
                reason = %denial,
                "outbound request refused by the sandbox"
            );
            return Box::new(async { Err(HttpError::HttpRequestDenied) });
        }
        let ceiling = http_ceiling(self.deadline);
        let options = RequestOptions {
            connect_timeout: clamp(options.and_then(|o| o.connect_timeout), ceiling),
            first_byte_timeout: clamp(options.and_then(|o| o.first_byte_timeout), ceiling),
            between_bytes_timeout: clamp(options.and_then(|o| o.between_bytes_timeout), ceiling),
        };
        Box::new(async move {
            if let Some(budget) = &spec.budget {
                let waited = budget.acquire().await;
                if !waited.is_zero() {
                    tracing::debug!(
                        plugin = %spec.plugin,
                        waited_ms = waited.as_millis() as u64,
                        "outbound request waited for the CRM's rate limit"
                    );
                }
            }
            let (response, io) =
                wasmtime_wasi_http::default_send_request(request, Some(options)).await?;
            let limit = spec.max_response_bytes;
            let declared = response
                .headers()
                .get(http::header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u64>().ok());
            if declared.is_some_and(|len| len > limit) {
                tracing::warn!(
                    plugin = %spec.plugin,
                    limit,
                    declared,
                    "response refused: larger than the plugin's response limit"
                );
                return Err(HttpError::HttpResponseBodySize(declared));
            }
            let plugin = Arc::clone(&spec.plugin);
            let response = response.map(|body| {
                LimitedBody {
                    inner: body.boxed_unsync(),
                    remaining: limit,
                    limit,
                    plugin,
                }
                .boxed_unsync()
            });
            Ok((
                response,
                Box::new(io) as Box<dyn Future<Output = Result<(), HttpError>> + Send>,
            ))
        })
    }
}

/// A response body that fails once more than `limit` bytes came through.
struct LimitedBody {
    inner: WasiBody,
    remaining: u64,
    limit: u64,
    plugin: Arc<str>,
}

impl Body for LimitedBody {
    type Data = Bytes;
    type Error = HttpError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, HttpError>>> {
        let frame = ready!(Pin::new(&mut self.inner).poll_frame(cx));
        if let Some(Ok(frame)) = &frame
            && let Some(data) = frame.data_ref()
        {
            let len = data.len() as u64;
            if len > self.remaining {
                tracing::warn!(
                    plugin = %self.plugin,
                    limit = self.limit,
                    "response cut off: larger than the plugin's response limit"
                );
                self.remaining = 0;
                return Poll::Ready(Some(Err(HttpError::HttpResponseBodySize(Some(self.limit)))));
            }
            self.remaining -= len;
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }
}

/// The state of one store: one call of one plugin.
pub struct PluginState {
    wasi: WasiCtx,
    table: ResourceTable,
    http: WasiHttpCtx,
    hooks: OutboundHooks,
    /// The memory limiter.
    pub limiter: MemoryLimiter,
    spec: Arc<SandboxSpec>,
    log_lines: u32,
    /// Per-call context, read through `config` under the reserved `call.`
    /// prefix (see [`CALL_PREFIX`]).
    call: BTreeMap<String, String>,
}

/// Config keys under this prefix describe the call, not the plugin's
/// configuration: `call.attempt` (1 for a lead's first offer to the CRM, 2
/// and up for retries) and `call.first-attempt-unix-ms`. An operator cannot
/// set them: manifests refuse unknown keys.
pub const CALL_PREFIX: &str = "call.";

impl PluginState {
    /// Adds the per-call context.
    pub fn with_call_context(mut self, call: BTreeMap<String, String>) -> Self {
        self.call = call;
        self
    }

    /// A fresh state for one call that must end by `deadline`.
    pub fn new(spec: Arc<SandboxSpec>, deadline: Instant) -> Self {
        let wasi = WasiCtx::builder()
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .socket_addr_check(|_, _| Box::pin(async { false }))
            .build();
        let mut http = WasiHttpCtx::new();
        http.set_field_size_limit(64 * 1024);
        Self {
            wasi,
            table: ResourceTable::new(),
            http,
            hooks: OutboundHooks {
                spec: Arc::clone(&spec),
                deadline,
            },
            limiter: MemoryLimiter {
                limit: spec.memory_limit_bytes,
                refused: false,
            },
            spec,
            log_lines: 0,
            call: BTreeMap::new(),
        }
    }
}

impl Drop for PluginState {
    fn drop(&mut self) {
        if self.log_lines > MAX_LOG_LINES_PER_CALL {
            tracing::warn!(
                plugin = %self.spec.plugin,
                dropped = self.log_lines - MAX_LOG_LINES_PER_CALL,
                "plugin log lines dropped (over the per-call limit)"
            );
        }
    }
}

impl WasiView for PluginState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for PluginState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.hooks,
        }
    }
}

impl crm::types::Host for PluginState {}

impl crm::config::Host for PluginState {
    fn get(&mut self, key: String) -> Option<String> {
        if key.starts_with(CALL_PREFIX) {
            return self.call.get(&key).cloned();
        }
        self.spec.config.get(&key).cloned()
    }

    fn keys(&mut self) -> Vec<String> {
        let mut keys: Vec<String> = self
            .spec
            .config
            .keys()
            .chain(self.call.keys())
            .cloned()
            .collect();
        keys.sort();
        keys
    }
}

impl crm::log::Host for PluginState {
    fn log(&mut self, level: crm::log::Level, message: String) {
        use crm::log::Level;
        self.log_lines = self.log_lines.saturating_add(1);
        if self.log_lines > MAX_LOG_LINES_PER_CALL {
            return;
        }
        let message = switchboard_crm::truncate(&message, MAX_LOG_LINE_BYTES);
        let plugin = &*self.spec.plugin;
        // `?message` escapes newlines, so a plugin cannot forge log lines.
        match level {
            Level::Trace => tracing::trace!(plugin, message = ?message, "plugin log"),
            Level::Debug => tracing::debug!(plugin, message = ?message, "plugin log"),
            Level::Info => tracing::info!(plugin, message = ?message, "plugin log"),
            Level::Warn => tracing::warn!(plugin, message = ?message, "plugin log"),
            Level::Error => tracing::error!(plugin, message = ?message, "plugin log"),
        }
    }
}
