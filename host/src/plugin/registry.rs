//! The active CRM plugin and runtime swaps.
//!
//! Callers take an `Arc` of the active plugin for the duration of a call, so
//! a swap never interrupts a call in flight: it finishes on the old plugin,
//! and the old plugin is dropped when its last call ends. A component that
//! fails to load is refused and the previous plugin stays active.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwapOption;

use crate::config::PluginSettings;
use crate::plugin::budget::RequestBudget;
use crate::plugin::{CallError, LoadError, LoadedPlugin, Runtime};

/// Holds the active plugin.
pub struct Registry {
    runtime: Arc<Runtime>,
    active: ArcSwapOption<LoadedPlugin>,
    /// One activation at a time, so two swaps cannot interleave.
    swapping: tokio::sync::Mutex<()>,
    /// Request budgets by plugin id, kept across versions of a plugin.
    budgets: Mutex<HashMap<String, Arc<RequestBudget>>>,
}

impl Registry {
    /// An empty registry on a runtime.
    pub fn new(runtime: Arc<Runtime>) -> Self {
        Self {
            runtime,
            active: ArcSwapOption::empty(),
            swapping: tokio::sync::Mutex::new(()),
            budgets: Mutex::new(HashMap::new()),
        }
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
        manifest_limit: Option<crate::config::RateLimit>,
    ) -> Option<Arc<RequestBudget>> {
        let limit = settings.rate_limit.or(manifest_limit)?;
        let mut budgets = self
            .budgets
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
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
        // The manifest is read twice (here for the budget, then by `load`);
        // it is a few hundred bytes and keeps `load` self-contained.
        let manifest_limit =
            crate::plugin::manifest::Manifest::load(&settings.manifest_path())?.rate_limit;
        let budget = self.budget_for(settings, manifest_limit);
        let plugin = Arc::new(LoadedPlugin::load(&self.runtime, settings, budget).await?);
        let previous = self.active.swap(Some(Arc::clone(&plugin)));
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
