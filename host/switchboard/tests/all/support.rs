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

/// A built plugin in `plugins/dist/`; panics with the fix when it is
/// missing or older than its sources (a plain `cargo test` after an edit to
/// a plugin would otherwise test the previous build).
pub fn dist(name: &str) -> PathBuf {
    let root = root();
    let path = root.join("plugins/dist").join(name);
    assert!(
        path.is_file(),
        "{} is missing: run `make plugins` (or `make test`) first",
        path.display()
    );
    let built = modified(&path);
    if let Some((source, when)) = sources_of(name)
        .iter()
        .filter_map(|dir| newest(&root.join(dir)))
        .max_by_key(|(_, when)| *when)
        && built.is_some_and(|built| when > built)
    {
        panic!(
            "{} is older than its source {}: run `make plugins` (or `make test`)",
            path.display(),
            source.display()
        );
    }
    path
}

/// The folders a bundled plugin is built from.
fn sources_of(name: &str) -> Vec<&'static str> {
    let stem = name
        .rsplit('/')
        .next()
        .unwrap_or(name)
        .trim_end_matches(".wasm");
    let own = match stem {
        "keycrm" => "plugins/keycrm",
        "amocrm" => "plugins/amocrm",
        "bitrix24" => "plugins/bitrix24",
        "hostile" => "plugins/hostile",
        "webhook" | "webhook-probe" => return vec!["plugins/webhook-py/src", "wit"],
        _ => return Vec::new(),
    };
    vec![own, "plugins/sdk", "wit"]
}

fn modified(path: &std::path::Path) -> Option<std::time::SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// The most recently modified file under `dir` (build outputs skipped).
fn newest(dir: &std::path::Path) -> Option<(PathBuf, std::time::SystemTime)> {
    let mut best: Option<(PathBuf, std::time::SystemTime)> = None;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name();
            if matches!(
                name.to_str(),
                Some("target" | "build" | "__pycache__" | ".mypy_cache")
            ) {
                continue;
            }
            if path.is_dir() {
                stack.push(path);
            } else if let Some(when) = modified(&path)
                && best.as_ref().is_none_or(|(_, b)| when > *b)
            {
                best = Some((path, when));
            }
        }
    }
    best
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
