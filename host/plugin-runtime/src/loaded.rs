//! A loaded plugin: its manifest, its linked component and its calls.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use wasmtime::component::types::ComponentItem;
use wasmtime::{Store, Trap, UpdateDeadline};

use crate::breaker::{Breaker, BreakerState, Health};
use crate::contract::{self, Guest, GuestPre, INTERFACE_PREFIX};
use crate::manifest::Manifest;
use crate::policy::HostPolicy;
use crate::sandbox::{CALL_PREFIX, PluginState, SandboxSpec};
use crate::settings::PluginSettings;
use crate::{CallError, LoadError, Runtime};
use switchboard_crm::{
    CrmError, Lead, LeadRef, PipelineStatus, PluginInfo, Product, ProductPage, StatusEvent,
};
use switchboard_ratelimit::RequestBudget;

/// Extra time past the call deadline before the call's future is dropped;
/// the epoch deadline normally stops CPU-bound code first, this catches a
/// plugin waiting on host I/O.
const DROP_GRACE: Duration = Duration::from_millis(250);

/// How strictly a plugin's configuration is checked at load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigCheck {
    /// Every required key must be set and every key must be known: for
    /// activation.
    Strict,
    /// Missing keys are left out: for `plugin inspect`, which only calls
    /// `info()`.
    Lenient,
}

/// A plugin ready to be called.
pub struct LoadedPlugin {
    /// Its manifest.
    pub manifest: Manifest,
    /// What its `info()` said at load.
    pub info: PluginInfo,
    /// The SHA-256 of its `.wasm`, hex.
    pub digest: String,
    /// True when its compiled code came from the disk cache.
    pub from_cache: bool,
    /// When it was loaded.
    pub loaded_at: std::time::SystemTime,
    spec: Arc<SandboxSpec>,
    pre: GuestPre,
    runtime: Arc<Runtime>,
    /// Set by the registry; a plugin loaded on its own (`plugin call`,
    /// tests) runs every call.
    breaker: Option<Arc<Breaker>>,
}

impl std::fmt::Debug for LoadedPlugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedPlugin")
            .field("id", &self.manifest.id)
            .field("version", &self.manifest.version)
            .field("digest", &self.digest)
            .finish_non_exhaustive()
    }
}

/// The interface versions a component exports under `switchboard:crm/plugin`.
fn exported_interfaces(
    runtime: &Runtime,
    component: &wasmtime::component::Component,
) -> Vec<String> {
    component
        .component_type()
        .exports(runtime.engine())
        .filter(|(_, item)| matches!(item.ty, ComponentItem::ComponentInstance(_)))
        .map(|(name, _)| name.to_string())
        .collect()
}

impl LoadedPlugin {
    /// Loads, checks and links a plugin; calls its `info()` as a self-check.
    /// `budget` is shared with earlier versions of the same plugin, so a swap
    /// does not reset the CRM's rate limit.
    pub async fn load(
        runtime: &Arc<Runtime>,
        settings: &PluginSettings,
        budget: Option<Arc<RequestBudget>>,
    ) -> Result<Self, LoadError> {
        Self::load_with(runtime, settings, budget, ConfigCheck::Strict).await
    }

    /// Like [`LoadedPlugin::load`], choosing how strictly the configuration
    /// is checked.
    pub async fn load_with(
        runtime: &Arc<Runtime>,
        settings: &PluginSettings,
        budget: Option<Arc<RequestBudget>>,
        check: ConfigCheck,
    ) -> Result<Self, LoadError> {
        let manifest_path = settings.manifest_path();
        let manifest = Manifest::load(&manifest_path)?;
        if manifest.id != settings.id {
            return Err(LoadError::IdMismatch {
                path: manifest_path,
                expected: settings.id.clone(),
                found: manifest.id,
            });
        }
        if contract::serving(&manifest.wit).is_none() {
            return Err(LoadError::IncompatibleWit {
                id: manifest.id,
                found: manifest.wit,
                supported: contract::supported(),
            });
        }
        let config = match check {
            ConfigCheck::Strict => manifest.effective_config(settings)?,
            ConfigCheck::Lenient => manifest.lenient_config(settings),
        };
        let policy = HostPolicy::new(
            manifest.allowed_hosts(settings),
            settings.allow_http_loopback,
        )
        .map_err(|reason| LoadError::Config {
            key: format!("plugins.{}.allowed_hosts", settings.id),
            reason,
        })?;

        let bytes = tokio::fs::read(&settings.path)
            .await
            .map_err(|source| LoadError::Read {
                path: settings.path.clone(),
                source,
            })?;
        let compiled = runtime.compile(&settings.path, bytes).await?;

        let exports = exported_interfaces(runtime, &compiled.component);
        let served = exports.iter().find_map(|e| {
            e.strip_prefix(INTERFACE_PREFIX)
                .and_then(contract::serving)
                .map(|c| c.module)
        });
        let Some(module) = served else {
            if let Some(other) = exports
                .iter()
                .find_map(|e| e.strip_prefix(INTERFACE_PREFIX))
            {
                return Err(LoadError::IncompatibleWit {
                    id: manifest.id,
                    found: other.to_string(),
                    supported: contract::supported(),
                });
            }
            return Err(LoadError::WrongWorld {
                path: settings.path.clone(),
                wanted: contract::interfaces(),
                exports: if exports.is_empty() {
                    "nothing".into()
                } else {
                    exports.join(", ")
                },
            });
        };
        let instance_pre = runtime
            .linker()
            .instantiate_pre(&compiled.component)
            .map_err(|e| LoadError::Link {
                id: manifest.id.clone(),
                reason: format!("{e:#}"),
            })?;
        let pre = GuestPre::new(module, instance_pre).map_err(|e| LoadError::Link {
            id: manifest.id.clone(),
            reason: format!("{e:#}"),
        })?;

        let spec = Arc::new(SandboxSpec {
            plugin: Arc::from(manifest.id.as_str()),
            config,
            policy,
            budget,
            memory_limit_bytes: settings.memory_limit_bytes,
            max_response_bytes: settings.max_response_bytes,
            timeout: settings.timeout,
        });
        let mut plugin = Self {
            info: PluginInfo {
                id: manifest.id.clone(),
                name: manifest.name.clone(),
                version: manifest.version.clone(),
                operations: switchboard_crm::Operations::empty(),
            },
            manifest,
            digest: compiled.digest,
            from_cache: compiled.from_cache,
            loaded_at: std::time::SystemTime::now(),
            spec,
            pre,
            runtime: Arc::clone(runtime),
            breaker: None,
        };
        let info = plugin.call_info().await.map_err(|e| LoadError::SelfCheck {
            id: plugin.manifest.id.clone(),
            reason: e.to_string(),
        })?;
        if info.id != plugin.manifest.id {
            return Err(LoadError::SelfCheck {
                id: plugin.manifest.id.clone(),
                reason: format!("info() reports id `{}`", info.id),
            });
        }
        plugin.info = info;
        Ok(plugin)
    }

    /// The plugin id.
    pub fn id(&self) -> &str {
        &self.manifest.id
    }

    /// The request budget, if the plugin has one.
    pub fn budget(&self) -> Option<&Arc<RequestBudget>> {
        self.spec.budget.as_ref()
    }

    /// The call deadline.
    pub fn timeout(&self) -> Duration {
        self.spec.timeout
    }

    async fn instantiate(
        &self,
        operation: &'static str,
        call: BTreeMap<String, String>,
    ) -> Result<(Store<PluginState>, Guest, tokio::sync::OwnedSemaphorePermit), CallError> {
        let permit = tokio::time::timeout(
            self.spec.timeout,
            Arc::clone(&self.runtime.slots).acquire_owned(),
        )
        .await
        .map_err(|_| CallError::Instantiate {
            plugin: self.id().into(),
            operation,
            reason: format!(
                "all {} instance slots stayed busy for {} ms",
                self.runtime.max_instances(),
                self.spec.timeout.as_millis()
            ),
        })?
        .map_err(|_| CallError::Instantiate {
            plugin: self.id().into(),
            operation,
            reason: "the runtime is shutting down".into(),
        })?;

        let deadline = Instant::now() + self.spec.timeout;
        let mut store = Store::new(
            self.runtime.engine(),
            PluginState::new(Arc::clone(&self.spec), deadline).with_call_context(call),
        );
        store.limiter(|state| &mut state.limiter);
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(move |_| {
            if Instant::now() >= deadline {
                Ok(UpdateDeadline::Interrupt)
            } else {
                Ok(UpdateDeadline::Yield(1))
            }
        });
        let instance = self
            .pre
            .instantiate(&mut store)
            .await
            .map_err(|e| self.classify(operation, &store, e))?;
        Ok((store, instance, permit))
    }

    fn classify(
        &self,
        operation: &'static str,
        store: &Store<PluginState>,
        error: wasmtime::Error,
    ) -> CallError {
        let plugin = self.id().to_string();
        let failure = if matches!(error.downcast_ref::<Trap>(), Some(Trap::Interrupt)) {
            CallError::Timeout {
                plugin,
                operation,
                timeout_ms: self.spec.timeout.as_millis() as u64,
            }
        } else if store.data().limiter.refused {
            CallError::OutOfMemory {
                plugin,
                operation,
                limit_mib: self.spec.memory_limit_bytes / (1024 * 1024),
            }
        } else {
            CallError::Trap {
                plugin,
                operation,
                reason: switchboard_crm::truncate(&format!("{error:#}"), 1000).into_owned(),
            }
        };
        tracing::warn!(plugin = %self.id(), operation, error = %failure, "plugin call failed; instance discarded");
        failure
    }

    fn permit(
        &self,
        operation: &'static str,
    ) -> Result<Option<crate::breaker::Permit<'_>>, CallError> {
        let Some(breaker) = &self.breaker else {
            return Ok(None);
        };
        breaker
            .check()
            .map(Some)
            .map_err(|wait| CallError::CircuitOpen {
                plugin: self.id().into(),
                operation,
                retry_in_ms: wait.as_millis() as u64,
            })
    }

    /// Shares a breaker (the registry keeps one per plugin id, so a new
    /// version of a plugin inherits the state of the CRM behind it).
    pub fn with_breaker(mut self, breaker: Arc<Breaker>) -> Self {
        self.breaker = Some(breaker);
        self
    }

    /// The circuit breaker's state (`None`: no breaker).
    pub fn breaker_state(&self) -> Option<BreakerState> {
        self.breaker.as_ref().map(|b| b.state())
    }

    fn timed_out(&self, operation: &'static str) -> CallError {
        let failure = CallError::Timeout {
            plugin: self.id().into(),
            operation,
            timeout_ms: self.spec.timeout.as_millis() as u64,
        };
        tracing::warn!(plugin = %self.id(), operation, error = %failure, "plugin call failed; instance discarded");
        failure
    }

    fn crm_result<T>(&self, result: Result<T, CrmError>) -> Result<T, CallError> {
        result.map_err(|error| CallError::Crm {
            plugin: self.id().into(),
            error,
        })
    }
}

/// Runs one export on a fresh instance, under the deadline, and maps every
/// way it can fail to a [`CallError`].
macro_rules! invoke {
    ($self:ident, $operation:literal, $context:expr, |$guest:ident, $store:ident| $call:expr) => {{
        let (mut $store, instance, _permit) = $self.instantiate($operation, $context).await?;
        let $guest = instance;
        let outcome = tokio::time::timeout($self.spec.timeout + DROP_GRACE, $call).await;
        match outcome {
            Err(_) => Err($self.timed_out($operation)),
            Ok(Err(e)) => Err($self.classify($operation, &$store, e)),
            Ok(Ok(value)) => Ok(value),
        }
    }};
}

/// [`invoke!`] behind the circuit breaker: refused at once while the
/// circuit is open, and every outcome reported to it.
macro_rules! guarded {
    ($self:ident, $operation:literal, |$guest:ident, $store:ident| $call:expr) => {
        guarded!($self, $operation, BTreeMap::new(), |$guest, $store| $call)
    };
    ($self:ident, $operation:literal, $context:expr, |$guest:ident, $store:ident| $call:expr) => {{
        let permit = $self.permit($operation)?;
        let result = invoke!($self, $operation, $context, |$guest, $store| $call);
        let result = match result {
            Ok(inner) => $self.crm_result(inner),
            Err(e) => Err(e),
        };
        if let Some(permit) = permit {
            permit.record(health_of(&result));
        }
        result
    }};
}

/// What a call's outcome says about the CRM's health.
fn health_of<T>(result: &Result<T, CallError>) -> Health {
    match result {
        Ok(_) => Health::Healthy,
        Err(CallError::Crm { error, .. }) => match error {
            CrmError::Unavailable(_) | CrmError::Unauthorized(_) => Health::Failed,
            CrmError::RateLimited(secs) => {
                Health::Pause(Duration::from_secs(u64::from(*secs).max(1)))
            }
            CrmError::InvalidRequest(_) | CrmError::NotFound(_) | CrmError::Unsupported(_) => {
                Health::Healthy
            }
        },
        Err(CallError::Timeout { .. } | CallError::OutOfMemory { .. } | CallError::Trap { .. }) => {
            Health::Failed
        }
        Err(
            CallError::Instantiate { .. }
            | CallError::NoActivePlugin
            | CallError::CircuitOpen { .. },
        ) => Health::Neutral,
    }
}

impl LoadedPlugin {
    /// `info()`.
    pub async fn call_info(&self) -> Result<PluginInfo, CallError> {
        invoke!(self, "info", BTreeMap::new(), |guest, store| guest
            .info(&mut store))
    }

    /// `list-products(cursor, limit)`.
    pub async fn list_products(
        &self,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<ProductPage, CallError> {
        guarded!(self, "list-products", |guest, store| guest
            .list_products(&mut store, cursor, limit))
    }

    /// Every page of the catalog, following cursors until the last page.
    /// `max_pages` guards against a plugin whose cursor never ends.
    pub async fn list_all_products(
        &self,
        page_size: u32,
        max_pages: usize,
    ) -> Result<Vec<Product>, CallError> {
        let mut items = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..max_pages {
            let page = self.list_products(cursor.as_deref(), page_size).await?;
            items.extend(page.items);
            match page.next_cursor {
                Some(next) if Some(&next) != cursor.as_ref() => cursor = Some(next),
                Some(_) => {
                    return Err(CallError::Crm {
                        plugin: self.id().into(),
                        error: CrmError::Unavailable("the catalog cursor did not advance".into()),
                    });
                }
                None => return Ok(items),
            }
        }
        Err(CallError::Crm {
            plugin: self.id().into(),
            error: CrmError::Unavailable(format!("the catalog has more than {max_pages} pages")),
        })
    }

    /// `get-product(id)`.
    pub async fn get_product(&self, id: &str) -> Result<Product, CallError> {
        guarded!(self, "get-product", |guest, store| guest
            .get_product(&mut store, id))
    }

    /// `create-lead(lead)`, as a first attempt.
    pub async fn create_lead(&self, lead: &Lead) -> Result<LeadRef, CallError> {
        self.create_lead_attempt(lead, 1, now_ms()).await
    }

    /// `create-lead(lead)` as attempt number `attempt` (1 = first) of a
    /// lead first offered at `first_attempt_unix_ms`. The plugin reads both
    /// through `config` (`call.attempt`, `call.first-attempt-unix-ms`): on a
    /// retry it can look up whether the CRM already took the lead, whose
    /// answer was lost, before creating it again.
    pub async fn create_lead_attempt(
        &self,
        lead: &Lead,
        attempt: u32,
        first_attempt_unix_ms: i64,
    ) -> Result<LeadRef, CallError> {
        let context = BTreeMap::from([
            (format!("{CALL_PREFIX}attempt"), attempt.max(1).to_string()),
            (
                format!("{CALL_PREFIX}first-attempt-unix-ms"),
                first_attempt_unix_ms.to_string(),
            ),
        ]);
        guarded!(self, "create-lead", context, |guest, store| guest
            .create_lead(&mut store, lead))
    }

    /// `lead-status(id)`.
    pub async fn lead_status(&self, id: &str) -> Result<PipelineStatus, CallError> {
        guarded!(self, "lead-status", |guest, store| guest
            .lead_status(&mut store, id))
    }

    /// `handle-webhook(headers, body)`.
    pub async fn handle_webhook(
        &self,
        headers: &[(String, String)],
        body: &[u8],
    ) -> Result<Vec<StatusEvent>, CallError> {
        guarded!(self, "handle-webhook", |guest, store| guest
            .handle_webhook(&mut store, headers, body))
    }
}

/// Unix time in milliseconds.
fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
