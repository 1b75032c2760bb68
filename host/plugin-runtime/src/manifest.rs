//! The plugin manifest: `<plugin>.toml` next to `<plugin>.wasm`.
//!
//! It says what the host must know before running any plugin code: the id,
//! the WIT version the component targets, the hosts it needs to reach, its
//! CRM's request budget and the configuration keys it takes.
//!
//! ```toml
//! id = "keycrm"
//! name = "KeyCRM"
//! version = "0.1.0"
//! wit = "0.1.0"
//! allowed_hosts = ["openapi.keycrm.app"]
//! [rate_limit]
//! requests = 60
//! per_seconds = 60
//! [config.api_key]
//! description = "The KeyCRM API key"
//! required = true
//! secret = true
//! ```

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use crate::LoadError;
use crate::policy::HostPattern;
use crate::settings::PluginSettings;
use switchboard_ratelimit::RateLimit;

/// One configuration key a plugin takes.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ConfigKey {
    /// What the key is for.
    #[serde(default)]
    pub description: String,
    /// Whether loading fails without it.
    #[serde(default)]
    pub required: bool,
    /// Whether the value is a secret (never shown, only `env:`/`file:`
    /// indirection recommended).
    #[serde(default)]
    pub secret: bool,
    /// The value used when the operator sets none.
    #[serde(default)]
    pub default: Option<String>,
}

/// A plugin manifest.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// The plugin id; the config section `[plugins.<id>]` must use it.
    pub id: String,
    /// A human name.
    pub name: String,
    /// The plugin's version.
    pub version: String,
    /// The `switchboard:crm` WIT version the component targets.
    pub wit: String,
    /// A one-line description.
    #[serde(default)]
    pub description: String,
    /// The hosts the plugin may reach unless the operator overrides them.
    #[serde(default)]
    pub allowed_hosts: Vec<String>,
    /// The CRM's request budget, unless the operator overrides it.
    #[serde(default)]
    pub rate_limit: Option<RateLimit>,
    /// The configuration keys the plugin takes.
    #[serde(default)]
    pub config: BTreeMap<String, ConfigKey>,
}

/// `major.minor.patch` of a version string; missing parts are 0.
fn version_parts(text: &str) -> Option<(u64, u64, u64)> {
    let mut parts = text.trim().split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next().map_or(Some(0), |p| p.parse().ok())?;
    let patch = parts.next().map_or(Some(0), |p| p.parse().ok())?;
    parts.next().is_none().then_some((major, minor, patch))
}

impl Manifest {
    /// Reads and checks a manifest file.
    pub fn load(path: &Path) -> Result<Self, LoadError> {
        let text = std::fs::read_to_string(path).map_err(|e| LoadError::Manifest {
            path: path.to_path_buf(),
            reason: format!("cannot read it: {e}"),
        })?;
        Self::parse(&text).map_err(|reason| LoadError::Manifest {
            path: path.to_path_buf(),
            reason,
        })
    }

    /// Parses and checks manifest text.
    pub fn parse(text: &str) -> Result<Self, String> {
        let manifest: Manifest =
            toml::from_str(text).map_err(|e| e.to_string().trim().to_string())?;
        if version_parts(&manifest.wit).is_none() {
            return Err(format!(
                "`wit`: `{}` is not a version like 0.1.0",
                manifest.wit
            ));
        }
        for (i, host) in manifest.allowed_hosts.iter().enumerate() {
            HostPattern::parse(host).map_err(|e| format!("`allowed_hosts[{i}]`: {e}"))?;
        }
        if let Some(limit) = manifest.rate_limit
            && (limit.requests == 0 || limit.per_seconds == 0)
        {
            return Err("`rate_limit`: requests and per_seconds must be at least 1".into());
        }
        Ok(manifest)
    }

    /// The configuration handed to the plugin: the operator's values over
    /// the manifest's defaults. Fails naming a required key that is missing
    /// or a key the plugin does not take (a typo would otherwise be silently
    /// ignored).
    pub fn effective_config(
        &self,
        settings: &PluginSettings,
    ) -> Result<BTreeMap<String, String>, LoadError> {
        let mut out = BTreeMap::new();
        for (key, value) in &settings.config {
            if !self.config.contains_key(key) {
                let known: Vec<&str> = self.config.keys().map(String::as_str).collect();
                return Err(LoadError::Config {
                    key: format!("plugins.{}.config.{key}", settings.id),
                    reason: format!(
                        "plugin `{}` takes no such key (it takes: {})",
                        self.id,
                        if known.is_empty() {
                            "none".into()
                        } else {
                            known.join(", ")
                        }
                    ),
                });
            }
            out.insert(key.clone(), value.clone());
        }
        for (key, spec) in &self.config {
            if out.contains_key(key) {
                continue;
            }
            match (&spec.default, spec.required) {
                (Some(default), _) => {
                    out.insert(key.clone(), default.clone());
                }
                (None, true) => {
                    return Err(LoadError::Config {
                        key: format!("plugins.{}.config.{key}", settings.id),
                        reason: format!(
                            "required by plugin `{}`{}",
                            self.id,
                            if spec.description.is_empty() {
                                String::new()
                            } else {
                                format!(" ({})", spec.description)
                            }
                        ),
                    });
                }
                (None, false) => {}
            }
        }
        Ok(out)
    }

    /// The operator's values over the manifest's defaults, without any
    /// check: for inspecting a plugin without a full configuration.
    pub fn lenient_config(&self, settings: &PluginSettings) -> BTreeMap<String, String> {
        let mut out: BTreeMap<String, String> = self
            .config
            .iter()
            .filter_map(|(k, spec)| spec.default.clone().map(|d| (k.clone(), d)))
            .collect();
        out.extend(settings.config.clone());
        out
    }

    /// The allowed hosts in force: the operator's list if given, else the
    /// manifest's.
    pub fn allowed_hosts<'a>(&'a self, settings: &'a PluginSettings) -> &'a [String] {
        settings
            .allowed_hosts
            .as_deref()
            .unwrap_or(&self.allowed_hosts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEYCRM: &str = r#"
        id = "keycrm"
        name = "KeyCRM"
        version = "0.1.0"
        wit = "0.1.0"
        allowed_hosts = ["openapi.keycrm.app"]
        [rate_limit]
        requests = 60
        per_seconds = 60
        [config.api_key]
        required = true
        secret = true
        description = "The KeyCRM API key"
        [config.base_url]
        default = "https://openapi.keycrm.app/v1"
        [config.pipeline_id]
    "#;

    fn manifest() -> Manifest {
        Manifest::parse(KEYCRM).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn it_merges_defaults_under_operator_values() {
        let mut s = PluginSettings::new("keycrm", "k.wasm");
        s.config.insert("api_key".into(), "k".into());
        let c = manifest()
            .effective_config(&s)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c["base_url"], "https://openapi.keycrm.app/v1");
        assert_eq!(c["api_key"], "k");
        assert!(!c.contains_key("pipeline_id"));
    }

    #[test]
    fn it_names_a_missing_required_key() {
        let s = PluginSettings::new("keycrm", "k.wasm");
        let err = manifest().effective_config(&s).err().map(|e| e.to_string());
        assert_eq!(
            err.as_deref(),
            Some(
                "config key `plugins.keycrm.config.api_key`: required by plugin `keycrm` (The KeyCRM API key)"
            )
        );
    }

    #[test]
    fn it_refuses_a_key_the_plugin_does_not_take() {
        let mut s = PluginSettings::new("keycrm", "k.wasm");
        s.config.insert("api_key".into(), "k".into());
        s.config.insert("api_kye".into(), "k".into());
        let err = manifest()
            .effective_config(&s)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            err.contains("plugins.keycrm.config.api_kye") && err.contains("api_key"),
            "{err}"
        );
    }

    #[test]
    fn it_refuses_bad_manifests() {
        assert!(Manifest::parse("id = \"x\"").is_err());
        let bad_host = KEYCRM.replace("[\"openapi.keycrm.app\"]", "[\"https://x\"]");
        assert!(
            Manifest::parse(&bad_host)
                .unwrap_err()
                .contains("allowed_hosts[0]")
        );
        let bad_wit = KEYCRM.replace("wit = \"0.1.0\"", "wit = \"latest\"");
        assert!(Manifest::parse(&bad_wit).unwrap_err().contains("wit"));
    }
}
