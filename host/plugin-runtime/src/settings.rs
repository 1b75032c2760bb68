//! How a plugin is loaded and sandboxed, and engine-wide settings. The
//! binary's config parses `[plugins.<id>]` and `[runtime]` into these.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use switchboard_ratelimit::RateLimit;

/// Default memory limit of one plugin instance.
pub const DEFAULT_MEMORY_LIMIT_MIB: u32 = 64;
/// Default wall-clock deadline of one plugin call.
pub const DEFAULT_TIMEOUT_MS: u64 = 10_000;
/// Default largest HTTP response body a plugin may receive.
pub const DEFAULT_MAX_RESPONSE_BYTES: u64 = 8 * 1024 * 1024;
/// The largest memory limit the engine is set up for.
pub const MAX_MEMORY_LIMIT_MIB: u32 = 1024;

/// Engine-wide settings (`[runtime]`).
#[derive(Debug, Clone)]
pub struct RuntimeSettings {
    /// Where compiled plugins are cached.
    pub cache_dir: PathBuf,
    /// How many plugin instances may run at once.
    pub max_instances: u32,
}

impl Default for RuntimeSettings {
    fn default() -> Self {
        Self {
            cache_dir: default_cache_dir(),
            max_instances: 64,
        }
    }
}

fn default_cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir).join("switchboard");
    }
    if let Some(home) = std::env::var_os("HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(home).join(".cache").join("switchboard");
    }
    std::env::temp_dir().join("switchboard-cache")
}

/// How one plugin is loaded and sandboxed (`[plugins.<id>]`).
#[derive(Clone)]
pub struct PluginSettings {
    /// The id the operator gave it; must equal the manifest's id.
    pub id: String,
    /// The component file.
    pub path: PathBuf,
    /// The manifest file; `None` means `<path without .wasm>.toml`.
    pub manifest: Option<PathBuf>,
    /// Replaces the manifest's allowed hosts when set.
    pub allowed_hosts: Option<Vec<String>>,
    /// Allows plain `http` to loopback addresses (for tests and simulators).
    pub allow_http_loopback: bool,
    /// Memory limit of one instance, in bytes.
    pub memory_limit_bytes: u64,
    /// Wall-clock deadline of one call.
    pub timeout: Duration,
    /// Largest HTTP response body the plugin may receive.
    pub max_response_bytes: u64,
    /// Replaces the manifest's request budget when set.
    pub rate_limit: Option<RateLimit>,
    /// The values handed to the plugin, secrets resolved.
    pub config: BTreeMap<String, String>,
}

impl fmt::Debug for PluginSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Values may be secrets; only the keys are shown.
        f.debug_struct("PluginSettings")
            .field("id", &self.id)
            .field("path", &self.path)
            .field("manifest", &self.manifest)
            .field("allowed_hosts", &self.allowed_hosts)
            .field("allow_http_loopback", &self.allow_http_loopback)
            .field("memory_limit_bytes", &self.memory_limit_bytes)
            .field("timeout", &self.timeout)
            .field("max_response_bytes", &self.max_response_bytes)
            .field("rate_limit", &self.rate_limit)
            .field("config_keys", &self.config.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl PluginSettings {
    /// Settings with every default, for a component file.
    pub fn new(id: impl Into<String>, path: impl Into<PathBuf>) -> Self {
        Self {
            id: id.into(),
            path: path.into(),
            manifest: None,
            allowed_hosts: None,
            allow_http_loopback: false,
            memory_limit_bytes: u64::from(DEFAULT_MEMORY_LIMIT_MIB) * 1024 * 1024,
            timeout: Duration::from_millis(DEFAULT_TIMEOUT_MS),
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            rate_limit: None,
            config: BTreeMap::new(),
        }
    }

    /// The manifest path: the configured one, or the component's path with
    /// a `.toml` extension.
    pub fn manifest_path(&self) -> PathBuf {
        self.manifest
            .clone()
            .unwrap_or_else(|| self.path.with_extension("toml"))
    }
}
