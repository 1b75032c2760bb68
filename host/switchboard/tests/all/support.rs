//! Shared helpers: plugin paths, runtimes, settings.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use switchboard::config::{PluginSettings, RuntimeSettings};
use switchboard_plugin_runtime::{LoadedPlugin, Runtime};
use switchboard_sim::KeyCrmSim;

/// The repository root.
pub fn root() -> PathBuf {
    // host/switchboard → the repository root.
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .map(PathBuf::from)
        .unwrap_or_default()
}

/// A built plugin in `plugins/dist/`; panics with the fix when missing.
pub fn dist(name: &str) -> PathBuf {
    let path = root().join("plugins/dist").join(name);
    assert!(
        path.is_file(),
        "{} is missing: run `make plugins` (or `make test`) first",
        path.display()
    );
    path
}

/// A compiled-code cache folder shared by the tests of this binary.
pub fn cache_dir() -> PathBuf {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}")))
        .path()
        .to_path_buf()
}

/// A runtime with the shared cache.
pub fn runtime() -> Arc<Runtime> {
    let settings = RuntimeSettings {
        cache_dir: cache_dir(),
        max_instances: 32,
    };
    Arc::new(Runtime::new(&settings).unwrap_or_else(|e| panic!("{e}")))
}

/// KeyCRM plugin settings pointing at a simulator.
pub fn keycrm_settings(sim: &KeyCrmSim) -> PluginSettings {
    let mut s = PluginSettings::new("keycrm", dist("keycrm.wasm"));
    s.allowed_hosts = Some(vec![sim.addr().to_string()]);
    s.allow_http_loopback = true;
    s.timeout = Duration::from_secs(5);
    s.config.insert("base_url".into(), sim.base_url());
    s.config.insert("api_key".into(), "test-key".into());
    s.config.insert("source_id".into(), "1".into());
    s
}

/// Hostile plugin settings (no allowed hosts unless a test adds some).
pub fn hostile_settings() -> PluginSettings {
    let mut s = PluginSettings::new("hostile", dist("hostile.wasm"));
    s.timeout = Duration::from_millis(500);
    s
}

/// Loads a plugin strictly, panicking with the load error.
pub async fn load(runtime: &Arc<Runtime>, settings: &PluginSettings) -> LoadedPlugin {
    LoadedPlugin::load(runtime, settings, None)
        .await
        .unwrap_or_else(|e| panic!("loading {}: {e}", settings.id))
}
