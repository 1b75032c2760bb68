//! The engine, the epoch ticker, the linker and the compiled-code cache.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;
use wasmtime::component::{Component, HasSelf, Linker};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use crate::LoadError;
use crate::sandbox::PluginState;
use crate::settings::{MAX_MEMORY_LIMIT_MIB, RuntimeSettings};
use crate::since_v0_1_0::switchboard::crm;

/// How often the epoch advances; deadlines are checked at this granularity
/// and a running plugin yields to the async executor this often.
pub const EPOCH_TICK: Duration = Duration::from_millis(5);

/// Why the runtime could not start.
#[derive(Debug, thiserror::Error)]
#[error("cannot start the plugin runtime: {0}")]
pub struct RuntimeError(String);

/// A compiled component and whether it came from the disk cache.
pub struct Compiled {
    /// The component.
    pub component: Component,
    /// The SHA-256 of the `.wasm` file, hex.
    pub digest: String,
    /// True when no compilation was needed.
    pub from_cache: bool,
}

/// One per process: the engine every plugin runs on.
pub struct Runtime {
    engine: Engine,
    linker: Linker<PluginState>,
    cache_dir: PathBuf,
    /// Bounds how many instances exist at once (the pool's size).
    pub(crate) slots: Arc<Semaphore>,
    max_instances: u32,
    ticker_stop: Arc<AtomicBool>,
}

impl Drop for Runtime {
    fn drop(&mut self) {
        self.ticker_stop.store(true, Ordering::Relaxed);
    }
}

impl Runtime {
    /// Builds the engine (pooling allocator, epoch interruption), links the
    /// sandbox's imports and starts the epoch ticker.
    pub fn new(settings: &RuntimeSettings) -> Result<Self, RuntimeError> {
        let n = settings.max_instances;
        let mut pool = PoolingAllocationConfig::default();
        pool.total_component_instances(n)
            .total_core_instances(n.saturating_mul(4))
            .total_memories(n.saturating_mul(2))
            .total_tables(n.saturating_mul(4))
            .total_stacks(n)
            .max_memories_per_component(4)
            .max_tables_per_component(8)
            .max_core_instances_per_component(16)
            .max_memory_size(MAX_MEMORY_LIMIT_MIB as usize * 1024 * 1024)
            .linear_memory_keep_resident(64 * 1024)
            .max_unused_warm_slots(n.min(16));

        let mut config = Config::new();
        config
            .wasm_component_model(true)
            .epoch_interruption(true)
            .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        let engine = Engine::new(&config).map_err(|e| RuntimeError(format!("{e:#}")))?;

        let mut linker = Linker::<PluginState>::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)
            .map_err(|e| RuntimeError(format!("linking WASI: {e:#}")))?;
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)
            .map_err(|e| RuntimeError(format!("linking wasi:http: {e:#}")))?;
        crm::config::add_to_linker::<_, HasSelf<PluginState>>(&mut linker, |s| s)
            .map_err(|e| RuntimeError(format!("linking config: {e:#}")))?;
        crm::log::add_to_linker::<_, HasSelf<PluginState>>(&mut linker, |s| s)
            .map_err(|e| RuntimeError(format!("linking log: {e:#}")))?;

        let ticker_stop = Arc::new(AtomicBool::new(false));
        {
            let engine = engine.clone();
            let stop = Arc::clone(&ticker_stop);
            // A thread rather than a task: deadlines must fire even when every
            // tokio worker is busy.
            std::thread::Builder::new()
                .name("switchboard-epoch".into())
                .spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        std::thread::sleep(EPOCH_TICK);
                        engine.increment_epoch();
                    }
                })
                .map_err(|e| RuntimeError(format!("starting the epoch ticker: {e}")))?;
        }

        Ok(Self {
            engine,
            linker,
            cache_dir: settings.cache_dir.clone(),
            slots: Arc::new(Semaphore::new(n as usize)),
            max_instances: n,
            ticker_stop,
        })
    }

    /// The engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The linker with the sandbox's imports.
    pub fn linker(&self) -> &Linker<PluginState> {
        &self.linker
    }

    /// How many instances may run at once.
    pub fn max_instances(&self) -> u32 {
        self.max_instances
    }

    fn cache_path(&self, digest: &str) -> PathBuf {
        let mut hasher = DefaultHasher::new();
        self.engine
            .precompile_compatibility_hash()
            .hash(&mut hasher);
        self.cache_dir
            .join(format!("{digest}-{:016x}.cwasm", hasher.finish()))
    }

    /// Compiles a component, or loads its compiled code from the cache
    /// (keyed by the file's SHA-256 and the engine's settings).
    pub async fn compile(&self, path: &Path, bytes: Vec<u8>) -> Result<Compiled, LoadError> {
        let digest = hex::encode(Sha256::digest(&bytes));
        let cache_path = self.cache_path(&digest);
        let engine = self.engine.clone();
        let path = path.to_path_buf();
        let cache_dir = self.cache_dir.clone();
        tokio::task::spawn_blocking(move || {
            // Read into memory rather than mapping the file: a cache file
            // truncated or rewritten while mapped would kill the process
            // with SIGBUS.
            if let Ok(cached) = std::fs::read(&cache_path) {
                // SAFETY: the cache folder is the host's own and holds only
                // artifacts this engine configuration serialized (the file
                // name carries its compatibility hash); whoever can write
                // there can already replace the host binary. A damaged file
                // is rejected by wasmtime's header checks.
                match unsafe { Component::deserialize(&engine, &cached) } {
                    Ok(component) => {
                        return Ok(Compiled {
                            component,
                            digest,
                            from_cache: true,
                        });
                    }
                    Err(e) => tracing::warn!(
                        cache = %cache_path.display(),
                        error = %format!("{e:#}"),
                        "discarding an unreadable compiled plugin"
                    ),
                }
            }
            let component =
                Component::new(&engine, &bytes).map_err(|e| LoadError::InvalidComponent {
                    path: path.clone(),
                    reason: format!("{e:#}"),
                })?;
            if let Err(e) = store_in_cache(&cache_dir, &cache_path, &component) {
                // The plugin still works; only the next start is slower.
                tracing::warn!(cache = %cache_dir.display(), error = %e, "cannot cache compiled plugin");
            }
            Ok(Compiled {
                component,
                digest,
                from_cache: false,
            })
        })
        .await
        .map_err(|e| LoadError::Compile {
            path: PathBuf::new(),
            reason: format!("compiler task failed: {e}"),
        })?
    }
}

fn store_in_cache(dir: &Path, path: &Path, component: &Component) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
    }
    let bytes = component.serialize().map_err(|e| format!("{e:#}"))?;
    let tmp = path.with_extension(format!(
        "tmp{}-{:x}",
        std::process::id(),
        rand::random::<u64>()
    ));
    std::fs::write(&tmp, bytes).map_err(|e| e.to_string())?;
    std::fs::rename(&tmp, path).map_err(|e| e.to_string())
}
