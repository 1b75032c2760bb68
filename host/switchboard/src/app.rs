//! Wiring for `switchboard run`: the config, the registry, reloads.

use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::RwLock;

use crate::config::{Config, ConfigError};
use switchboard_plugin_runtime::{LoadError, LoadedPlugin, Registry, Runtime};

/// Why a reload or an activation was refused. Nothing changed.
#[derive(Debug, thiserror::Error)]
pub enum ActivationError {
    /// The config file is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The plugin failed to load.
    #[error(transparent)]
    Load(#[from] LoadError),
}

/// The running host's control surface, shared by the admin endpoint and the
/// signal handlers.
pub struct App {
    config_path: PathBuf,
    config: RwLock<Config>,
    registry: Arc<Registry>,
    store: std::sync::OnceLock<switchboard_store::Store>,
}

impl App {
    /// Loads the config, starts the runtime and activates the configured CRM
    /// plugin.
    pub async fn start(config_path: PathBuf) -> anyhow::Result<Arc<Self>> {
        let config = Config::load(&config_path)?;
        let runtime = Arc::new(Runtime::new(&config.runtime)?);
        let registry = Arc::new(Registry::with_breaker_settings(runtime, config.breaker));
        registry.activate(config.active_plugin()).await?;
        Ok(Arc::new(Self {
            config_path,
            config: RwLock::new(config),
            registry,
            store: std::sync::OnceLock::new(),
        }))
    }

    /// The registry of the active plugin.
    pub fn registry(&self) -> &Arc<Registry> {
        &self.registry
    }

    /// Makes the store visible to the admin endpoint (once).
    pub fn attach_store(&self, store: switchboard_store::Store) {
        let _ = self.store.set(store);
    }

    /// The store, once attached.
    pub fn store(&self) -> Option<&switchboard_store::Store> {
        self.store.get()
    }

    /// The config in force.
    pub async fn config(&self) -> Config {
        self.config.read().await.clone()
    }

    /// Re-reads the config file and activates its `crm.active` plugin (a new
    /// version of the same plugin, or another CRM). On any error the previous
    /// config and plugin stay in force.
    pub async fn reload(&self) -> Result<Arc<LoadedPlugin>, ActivationError> {
        let config = Config::load(&self.config_path)?;
        let plugin = self.registry.activate(config.active_plugin()).await?;
        *self.config.write().await = config;
        Ok(plugin)
    }

    /// Re-reads the config file and activates the plugin configured as `id`.
    /// This overrides `crm.active` until the next reload; edit the file to
    /// make it permanent.
    pub async fn activate(&self, id: &str) -> Result<Arc<LoadedPlugin>, ActivationError> {
        let config = Config::load(&self.config_path)?;
        let settings = config
            .plugins
            .get(id)
            .ok_or_else(|| LoadError::Unknown(id.to_string()))?;
        let plugin = self.registry.activate(settings).await?;
        *self.config.write().await = config;
        Ok(plugin)
    }
}
