//! The TOML configuration.
//!
//! Secrets are never written into the file itself: any string value may be
//! `env:NAME` (read from the environment) or `file:PATH` (the file's content,
//! trimmed). Every error names the key it is about and the reason.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use secrecy::SecretString;
use serde::Deserialize;

use switchboard_plugin_runtime::breaker::BreakerSettings;
pub use switchboard_plugin_runtime::settings::{
    DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_MEMORY_LIMIT_MIB, DEFAULT_TIMEOUT_MS, MAX_MEMORY_LIMIT_MIB,
    PluginSettings, RuntimeSettings,
};
pub use switchboard_ratelimit::RateLimit;

mod bot;

pub use switchboard_shop::settings::ShopSettings;
pub use switchboard_telegram::settings::{MessageLimits, TelegramSettings, UpdateMode};

/// A configuration problem, naming the key.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid TOML or does not have the expected shape.
    #[error("invalid config {path}: {message}")]
    Parse {
        /// The file.
        path: String,
        /// The parser's message, with the line and the key.
        message: String,
    },
    /// A value is present but wrong.
    #[error("config key `{key}`: {reason}")]
    Invalid {
        /// The dotted key path.
        key: String,
        /// Why it is wrong.
        reason: String,
    },
}

pub(crate) fn invalid(key: impl Into<String>, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key: key.into(),
        reason: reason.into(),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    crm: RawCrm,
    #[serde(default)]
    plugins: BTreeMap<String, RawPlugin>,
    #[serde(default)]
    admin: Option<RawAdmin>,
    #[serde(default)]
    runtime: RawRuntime,
    telegram: Option<bot::RawTelegram>,
    storage: Option<bot::RawStorage>,
    shop: Option<bot::RawShop>,
    delivery: Option<switchboard_shop::delivery::TariffConfig>,
    #[serde(default)]
    outbox: RawOutbox,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOutbox {
    retry_base_ms: Option<u64>,
    retry_max_ms: Option<u64>,
    in_doubt_ms: Option<u64>,
    max_plugin_faults: Option<u32>,
    concurrency: Option<u32>,
    breaker_failures: Option<u32>,
    breaker_cool_down_ms: Option<u64>,
}

impl RawOutbox {
    fn resolve(self) -> Result<(switchboard_outbox::RetryPolicy, BreakerSettings), ConfigError> {
        let mut retry = switchboard_outbox::RetryPolicy::default();
        let mut breaker = BreakerSettings::default();
        let ms = |key: &str, v: u64, min: u64, max: u64| {
            if (min..=max).contains(&v) {
                Ok(Duration::from_millis(v))
            } else {
                Err(invalid(
                    key,
                    format!("must be between {min} and {max} milliseconds"),
                ))
            }
        };
        if let Some(v) = self.retry_base_ms {
            retry.base = ms("outbox.retry_base_ms", v, 10, 3_600_000)?;
        }
        if let Some(v) = self.retry_max_ms {
            retry.max = ms("outbox.retry_max_ms", v, 10, 86_400_000)?;
        }
        if retry.max < retry.base {
            return Err(invalid(
                "outbox.retry_max_ms",
                "must not be less than outbox.retry_base_ms",
            ));
        }
        if let Some(v) = self.in_doubt_ms {
            retry.in_doubt = ms("outbox.in_doubt_ms", v, 0, 3_600_000)?;
        }
        if let Some(v) = self.max_plugin_faults {
            if !(1..=100).contains(&v) {
                return Err(invalid(
                    "outbox.max_plugin_faults",
                    "must be between 1 and 100",
                ));
            }
            retry.max_plugin_faults = v;
        }
        if let Some(v) = self.concurrency {
            if !(1..=64).contains(&v) {
                return Err(invalid("outbox.concurrency", "must be between 1 and 64"));
            }
            retry.concurrency = v as usize;
        }
        if let Some(v) = self.breaker_failures {
            if !(1..=1000).contains(&v) {
                return Err(invalid(
                    "outbox.breaker_failures",
                    "must be between 1 and 1000",
                ));
            }
            breaker.failures_to_open = v;
        }
        if let Some(v) = self.breaker_cool_down_ms {
            breaker.cool_down = ms("outbox.breaker_cool_down_ms", v, 10, 3_600_000)?;
        }
        Ok((retry, breaker))
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCrm {
    active: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPlugin {
    path: PathBuf,
    manifest: Option<PathBuf>,
    allowed_hosts: Option<Vec<String>>,
    #[serde(default)]
    allow_http_loopback: bool,
    memory_limit_mib: Option<u32>,
    timeout_ms: Option<u64>,
    max_response_bytes: Option<u64>,
    rate_limit: Option<RateLimit>,
    #[serde(default)]
    config: BTreeMap<String, toml::Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAdmin {
    listen: String,
    token: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRuntime {
    cache_dir: Option<PathBuf>,
    max_instances: Option<u32>,
}

/// The whole configuration, validated, with secrets resolved.
#[derive(Debug, Clone)]
pub struct Config {
    /// The id of the active CRM plugin (`[crm] active`).
    pub active: String,
    /// Every configured plugin by id (`[plugins.<id>]`).
    pub plugins: BTreeMap<String, PluginSettings>,
    /// The admin endpoint, when configured.
    pub admin: Option<AdminSettings>,
    /// Engine-wide settings.
    pub runtime: RuntimeSettings,
    /// The bot, when configured; without it the host serves only the
    /// plugin runtime and the admin endpoint.
    pub telegram: Option<TelegramSettings>,
    /// The store URL (`sqlite://switchboard.db` unless configured).
    pub storage_url: String,
    /// The name this host takes claims on leads under (`storage.host_id`;
    /// the machine's name unless configured).
    pub storage_host_id: Option<String>,
    /// The shop's links and dialogue settings.
    pub shop: ShopSettings,
    /// The delivery tariff (`[delivery]`), when configured.
    pub delivery: Option<switchboard_shop::delivery::Tariff>,
    /// How the outbox retries leads (`[outbox]`).
    pub retry: switchboard_outbox::RetryPolicy,
    /// When a plugin's circuit opens (`[outbox]`).
    pub breaker: BreakerSettings,
}

/// The operator's HTTP endpoint.
#[derive(Debug, Clone)]
pub struct AdminSettings {
    /// Where it listens.
    pub listen: SocketAddr,
    /// The bearer token it requires (its `Debug` never shows it).
    pub token: SecretString,
}

/// Resolves `env:NAME` and `file:PATH` indirections; other strings are
/// literal values.
pub fn resolve_secret(key: &str, value: &str) -> Result<String, ConfigError> {
    if let Some(name) = value.strip_prefix("env:") {
        return match std::env::var(name) {
            Ok(v) if !v.is_empty() => Ok(v),
            Ok(_) => Err(invalid(
                key,
                format!("environment variable {name} is empty"),
            )),
            Err(_) => Err(invalid(
                key,
                format!("environment variable {name} is not set"),
            )),
        };
    }
    if let Some(path) = value.strip_prefix("file:") {
        return std::fs::read_to_string(path)
            .map(|s| s.trim().to_string())
            .map_err(|e| invalid(key, format!("cannot read secret file {path}: {e}")));
    }
    Ok(value.to_string())
}

fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

fn plugin_value(key: &str, value: &toml::Value) -> Result<String, ConfigError> {
    match value {
        toml::Value::String(s) => resolve_secret(key, s),
        toml::Value::Integer(n) => Ok(n.to_string()),
        toml::Value::Float(x) => Ok(x.to_string()),
        toml::Value::Boolean(b) => Ok(b.to_string()),
        other => Err(invalid(
            key,
            format!(
                "must be a string, number or boolean, not a {}",
                other.type_str()
            ),
        )),
    }
}

impl Config {
    /// Reads and validates a config file. Relative paths in it are relative
    /// to the file's folder.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        Self::parse(&text, &path.display().to_string(), base)
    }

    /// Parses and validates config text; `origin` names it in errors and
    /// relative paths are resolved against `base`.
    pub fn parse(text: &str, origin: &str, base: &Path) -> Result<Self, ConfigError> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: origin.to_string(),
            message: e.to_string().trim().to_string(),
        })?;
        let resolve = |p: &Path| {
            if p.is_absolute() {
                p.to_path_buf()
            } else {
                base.join(p)
            }
        };

        let mut plugins = BTreeMap::new();
        for (id, raw) in raw.plugins {
            let prefix = format!("plugins.{id}");
            if !valid_id(&id) {
                return Err(invalid(
                    prefix,
                    "plugin ids use lower-case letters, digits, `-` and `_` (at most 64)",
                ));
            }
            let memory_mib = raw.memory_limit_mib.unwrap_or(DEFAULT_MEMORY_LIMIT_MIB);
            if !(1..=MAX_MEMORY_LIMIT_MIB).contains(&memory_mib) {
                return Err(invalid(
                    format!("{prefix}.memory_limit_mib"),
                    format!("must be between 1 and {MAX_MEMORY_LIMIT_MIB}"),
                ));
            }
            let timeout_ms = raw.timeout_ms.unwrap_or(DEFAULT_TIMEOUT_MS);
            if !(1..=600_000).contains(&timeout_ms) {
                return Err(invalid(
                    format!("{prefix}.timeout_ms"),
                    "must be between 1 and 600000",
                ));
            }
            let max_response_bytes = raw.max_response_bytes.unwrap_or(DEFAULT_MAX_RESPONSE_BYTES);
            if max_response_bytes == 0 {
                return Err(invalid(
                    format!("{prefix}.max_response_bytes"),
                    "must be at least 1",
                ));
            }
            if let Some(reason) = raw.rate_limit.as_ref().and_then(RateLimit::problem) {
                return Err(invalid(format!("{prefix}.rate_limit"), reason));
            }
            if let Some(hosts) = &raw.allowed_hosts {
                for (i, host) in hosts.iter().enumerate() {
                    switchboard_plugin_runtime::policy::HostPattern::parse(host).map_err(
                        |reason| invalid(format!("{prefix}.allowed_hosts[{i}]"), reason),
                    )?;
                }
            }
            let mut config = BTreeMap::new();
            for (key, value) in &raw.config {
                let value = plugin_value(&format!("{prefix}.config.{key}"), value)?;
                config.insert(key.clone(), value);
            }
            plugins.insert(
                id.clone(),
                PluginSettings {
                    id,
                    path: resolve(&raw.path),
                    manifest: raw.manifest.as_deref().map(resolve),
                    allowed_hosts: raw.allowed_hosts,
                    allow_http_loopback: raw.allow_http_loopback,
                    memory_limit_bytes: u64::from(memory_mib) * 1024 * 1024,
                    timeout: Duration::from_millis(timeout_ms),
                    max_response_bytes,
                    rate_limit: raw.rate_limit,
                    config,
                },
            );
        }

        if !plugins.contains_key(&raw.crm.active) {
            let known: Vec<&str> = plugins.keys().map(String::as_str).collect();
            return Err(invalid(
                "crm.active",
                format!(
                    "no [plugins.{}] section (configured: {})",
                    raw.crm.active,
                    if known.is_empty() {
                        "none".to_string()
                    } else {
                        known.join(", ")
                    }
                ),
            ));
        }

        let admin = match raw.admin {
            None => None,
            Some(a) => {
                let listen = a.listen.parse().map_err(|_| {
                    invalid(
                        "admin.listen",
                        format!("`{}` is not an address like 127.0.0.1:9090", a.listen),
                    )
                })?;
                let token = resolve_secret("admin.token", &a.token)?;
                if token.len() < 16 {
                    return Err(invalid("admin.token", "must be at least 16 characters"));
                }
                Some(AdminSettings {
                    listen,
                    token: token.into(),
                })
            }
        };

        let mut runtime = RuntimeSettings::default();
        if let Some(dir) = raw.runtime.cache_dir {
            runtime.cache_dir = resolve(&dir);
        }
        if let Some(n) = raw.runtime.max_instances {
            if !(1..=10_000).contains(&n) {
                return Err(invalid(
                    "runtime.max_instances",
                    "must be between 1 and 10000",
                ));
            }
            runtime.max_instances = n;
        }

        let telegram = raw.telegram.map(bot::RawTelegram::resolve).transpose()?;
        let (storage_url, storage_host_id) = match raw.storage {
            Some(storage) => storage.resolve()?,
            None => ("sqlite://switchboard.db".into(), None),
        };
        // A relative SQLite file lives next to the config, like every path.
        let storage_url = match storage_url.strip_prefix("sqlite://") {
            Some(file) if !file.starts_with('/') && !file.starts_with(':') => {
                format!("sqlite://{}", base.join(file).display())
            }
            _ => storage_url,
        };
        let shop = raw.shop.unwrap_or_default().resolve()?;
        let delivery = raw
            .delivery
            .map(|d| {
                d.into_tariff()
                    .map_err(|e| invalid("delivery", e.to_string()))
            })
            .transpose()?;
        let (retry, breaker) = raw.outbox.resolve()?;

        Ok(Self {
            active: raw.crm.active,
            plugins,
            admin,
            runtime,
            telegram,
            storage_url,
            storage_host_id,
            shop,
            delivery,
            retry,
            breaker,
        })
    }

    /// The settings of the active plugin.
    pub fn active_plugin(&self) -> &PluginSettings {
        // `parse` guarantees the active id is configured.
        &self.plugins[&self.active]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, "test.toml", Path::new("/etc/sb"))
    }

    const MINIMAL: &str = r#"
        [crm]
        active = "keycrm"
        [plugins.keycrm]
        path = "plugins/keycrm.wasm"
        [plugins.keycrm.config]
        source_id = 3
        base_url = "https://openapi.keycrm.app/v1"
    "#;

    #[test]
    fn it_applies_defaults_and_resolves_paths() {
        let c = parse(MINIMAL).unwrap_or_else(|e| panic!("{e}"));
        let p = c.active_plugin();
        assert_eq!(p.path, PathBuf::from("/etc/sb/plugins/keycrm.wasm"));
        assert_eq!(
            p.manifest_path(),
            PathBuf::from("/etc/sb/plugins/keycrm.toml")
        );
        assert_eq!(p.memory_limit_bytes, 64 * 1024 * 1024);
        assert_eq!(p.timeout, Duration::from_secs(10));
        assert_eq!(p.config["source_id"], "3");
        assert!(c.admin.is_none());
    }

    #[test]
    fn it_names_the_key_of_an_unset_secret() {
        let text = format!("{MINIMAL}\napi_key = \"env:SWITCHBOARD_TEST_SURELY_UNSET_VAR\"\n");
        let err = parse(&text)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert_eq!(
            err,
            "config key `plugins.keycrm.config.api_key`: environment variable SWITCHBOARD_TEST_SURELY_UNSET_VAR is not set"
        );
    }

    #[test]
    fn it_refuses_an_active_plugin_that_is_not_configured() {
        let err = parse("[crm]\nactive = \"amocrm\"\n")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            err.contains("`crm.active`") && err.contains("amocrm"),
            "{err}"
        );
    }

    #[test]
    fn it_refuses_unknown_keys_with_their_name() {
        let err = parse(&MINIMAL.replace("path =", "pth = \"x\"\npath ="))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("pth"), "{err}");
    }

    #[test]
    fn it_refuses_out_of_range_limits() {
        let text = MINIMAL.replace("path =", "memory_limit_mib = 0\npath =");
        let err = parse(&text)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("plugins.keycrm.memory_limit_mib"), "{err}");
        let text = MINIMAL.replace("path =", "allowed_hosts = [\"https://x\"]\npath =");
        let err = parse(&text)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("plugins.keycrm.allowed_hosts[0]"), "{err}");
    }

    #[test]
    fn a_host_id_is_taken_as_written_or_refused_with_its_key() {
        let c = parse(MINIMAL).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.storage_host_id, None);
        let text =
            format!("{MINIMAL}\n[storage]\nurl = \"sqlite://s.db\"\nhost_id = \"replica-2.eu\"\n");
        let c = parse(&text).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.storage_host_id.as_deref(), Some("replica-2.eu"));
        assert_eq!(c.storage_url, "sqlite:///etc/sb/s.db");
        for bad in ["", "two words", "слово", &"x".repeat(65)] {
            let text =
                format!("{MINIMAL}\n[storage]\nurl = \"sqlite://s.db\"\nhost_id = \"{bad}\"\n");
            let err = parse(&text)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(err.contains("`storage.host_id`"), "{bad}: {err}");
        }
    }

    #[test]
    fn it_refuses_short_admin_tokens_and_bad_addresses() {
        let text =
            format!("{MINIMAL}\n[admin]\nlisten = \"nowhere\"\ntoken = \"0123456789abcdef\"\n");
        let err = parse(&text)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("admin.listen"), "{err}");
        let text = format!("{MINIMAL}\n[admin]\nlisten = \"127.0.0.1:0\"\ntoken = \"short\"\n");
        let err = parse(&text)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("admin.token"), "{err}");
    }

    #[test]
    fn it_redacts_config_values_in_debug_output() {
        let text = format!("{MINIMAL}\napi_key = \"super-secret-value\"\n");
        let c = parse(&text).unwrap_or_else(|e| panic!("{e}"));
        let debug = format!("{c:?}");
        assert!(!debug.contains("super-secret-value"));
        assert!(debug.contains("api_key"));
    }
}
