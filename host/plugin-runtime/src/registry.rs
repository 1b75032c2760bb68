//! The active CRM plugin and runtime swaps.
//!
//! Callers take an `Arc` of the active plugin for the duration of a call, so
//! a swap never interrupts a call in flight: it finishes on the old plugin,
//! and the old plugin is dropped when its last call ends. A component that
//! fails to load is refused and the previous plugin stays active.
//!
//! The plugin swapped out stays loaded as a *standby* for its id, so leads
//! already in the outbox still reach the CRM they were made for (see
//! [`Registry::for_id`]). Request budgets and circuit breakers are kept per
//! plugin id: a new version of a plugin talks to the same CRM.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwapOption;

use crate::breaker::{Breaker, BreakerSettings};
use crate::settings::PluginSettings;
use crate::{CallError, LoadError, LoadedPlugin, Runtime};
use switchboard_ratelimit::RequestBudget;

/// Holds the active plugin.
pub struct Registry {
    runtime: Arc<Runtime>,
    active: ArcSwapOption<LoadedPlugin>,
    /// One activation at a time, so two swaps cannot interleave.
    swapping: tokio::sync::Mutex<()>,
    /// Request budgets by plugin id, kept across versions of a plugin.
    budgets: Mutex<HashMap<String, Arc<RequestBudget>>>,
    /// Circuit breakers by plugin id.
    breakers: Mutex<HashMap<String, Arc<Breaker>>>,
    breaker_settings: BreakerSettings,
    /// Plugins swapped out, by id, kept for the leads made with them.
    standby: Mutex<HashMap<String, Arc<LoadedPlugin>>>,
}

impl Registry {
    /// An empty registry on a runtime.
    pub fn new(runtime: Arc<Runtime>) -> Self {
        Self::with_breaker_settings(runtime, BreakerSettings::default())
    }

    /// An empty registry whose circuit breakers use `breaker_settings`.
    pub fn with_breaker_settings(runtime: Arc<Runtime>, breaker_settings: BreakerSettings) -> Self {
        Self {
            runtime,
            active: ArcSwapOption::empty(),
            swapping: tokio::sync::Mutex::new(()),
            budgets: Mutex::new(HashMap::new()),
            breakers: Mutex::new(HashMap::new()),
            breaker_settings,
            standby: Mutex::new(HashMap::new()),
        }
    }

    /// The plugin to use for work made with plugin `id`: the active plugin
    /// when it has that id (whatever its version), else the one swapped out
    /// most recently with that id. `None` when no such plugin is loaded.
    pub fn for_id(&self, id: &str) -> Option<Arc<LoadedPlugin>> {
        if let Some(active) = self.active.load_full()
            && active.id() == id
        {
            return Some(active);
        }
        lock(&self.standby).get(id).cloned()
    }

    /// Loads a plugin as a standby for its id without activating it (for
    /// leads left in the outbox by a plugin that is no longer active).
    pub async fn load_standby(
        &self,
        settings: &PluginSettings,
    ) -> Result<Arc<LoadedPlugin>, LoadError> {
        let plugin = self.load(settings).await?;
        lock(&self.standby).insert(settings.id.clone(), Arc::clone(&plugin));
        Ok(plugin)
    }

    fn breaker_for(&self, id: &str) -> Arc<Breaker> {
        let mut breakers = lock(&self.breakers);
        Arc::clone(
            breakers
                .entry(id.to_string())
                .or_insert_with(|| Arc::new(Breaker::new(self.breaker_settings))),
        )
    }

    async fn load(&self, settings: &PluginSettings) -> Result<Arc<LoadedPlugin>, LoadError> {
        // The manifest is read twice (here for the budget, then by `load`);
        // it is a few hundred bytes and keeps `load` self-contained.
        let manifest_limit = crate::manifest::Manifest::load(&settings.manifest_path())?.rate_limit;
        let budget = self.budget_for(settings, manifest_limit);
        let plugin = LoadedPlugin::load(&self.runtime, settings, budget)
            .await?
            .with_breaker(self.breaker_for(&settings.id));
        Ok(Arc::new(plugin))
    }

    /// The runtime plugins run on.
    pub fn runtime(&self) -> &Arc<Runtime> {
        &self.runtime
    }

    /// The active plugin.
    pub fn active(&self) -> Result<Arc<LoadedPlugin>, CallError> {
        self.active.load_full().ok_or(CallError::NoActivePlugin)
    }

    fn budget_for(
        &self,
        settings: &PluginSettings,
        manifest_limit: Option<switchboard_ratelimit::RateLimit>,
    ) -> Option<Arc<RequestBudget>> {
        let limit = settings.rate_limit.or(manifest_limit)?;
        let mut budgets = lock(&self.budgets);
        let budget = budgets
            .entry(settings.id.clone())
            .and_modify(|b| {
                if b.limit() != limit {
                    *b = Arc::new(RequestBudget::new(limit));
                }
            })
            .or_insert_with(|| Arc::new(RequestBudget::new(limit)));
        Some(Arc::clone(budget))
    }

    /// Loads a plugin and makes it the active one. On error nothing changes.
    pub async fn activate(
        &self,
        settings: &PluginSettings,
    ) -> Result<Arc<LoadedPlugin>, LoadError> {
        let _one_at_a_time = self.swapping.lock().await;
        let plugin = self.load(settings).await?;
        let previous = self.active.swap(Some(Arc::clone(&plugin)));
        {
            let mut standby = lock(&self.standby);
            standby.remove(plugin.id());
            if let Some(old) = &previous
                && old.id() != plugin.id()
            {
                standby.insert(old.id().to_string(), Arc::clone(old));
            }
        }
        match previous {
            Some(old) => tracing::info!(
                from = %format!("{} {}", old.id(), old.manifest.version),
                to = %format!("{} {}", plugin.id(), plugin.manifest.version),
                digest = %plugin.digest,
                cached = plugin.from_cache,
                "CRM plugin swapped"
            ),
            None => tracing::info!(
                plugin = %plugin.id(),
                version = %plugin.manifest.version,
                digest = %plugin.digest,
                cached = plugin.from_cache,
                "CRM plugin activated"
            ),
        }
        Ok(plugin)
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
