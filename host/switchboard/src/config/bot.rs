//! The `[telegram]`, `[storage]` and `[shop]` sections: what the customer
//! dialogue needs.

use std::time::Duration;

use serde::Deserialize;

use super::{ConfigError, invalid, resolve_secret};
use switchboard_shop::settings::ShopSettings;
use switchboard_telegram::settings::{MessageLimits, TelegramSettings, UpdateMode};

/// `[telegram]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTelegram {
    token: String,
    api_url: Option<String>,
    mode: Option<String>,
    listen: Option<String>,
    public_url: Option<String>,
    secret_token: Option<String>,
    limits: Option<RawLimits>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLimits {
    messages_per_second: Option<u32>,
    messages_per_chat_per_second: Option<u32>,
    messages_per_group_per_minute: Option<u32>,
    enabled: Option<bool>,
}

/// `[storage]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawStorage {
    url: String,
    host_id: Option<String>,
}

/// `[shop]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawShop {
    website_url: Option<String>,
    instagram_url: Option<String>,
    support_url: Option<String>,
    language: Option<String>,
    phone_country: Option<String>,
    catalog_ttl_secs: Option<u64>,
    locales_dir: Option<String>,
    delivery_text: Option<String>,
}

fn https_url(key: &str, value: &str) -> Result<String, ConfigError> {
    let value = value.trim();
    if value.starts_with("https://") && value.len() > "https://".len() {
        Ok(value.to_string())
    } else {
        Err(invalid(key, format!("`{value}` must be an https:// URL")))
    }
}

/// A token looks like `123456789:AA…`; the check catches a pasted URL or a
/// missing `env:` prefix without revealing the value.
fn valid_token(token: &str) -> bool {
    match token.split_once(':') {
        Some((id, secret)) => {
            !id.is_empty()
                && id.bytes().all(|b| b.is_ascii_digit())
                && secret.len() >= 8
                && secret
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        }
        None => false,
    }
}

impl RawTelegram {
    pub(super) fn resolve(self) -> Result<TelegramSettings, ConfigError> {
        let token = resolve_secret("telegram.token", &self.token)?;
        if !valid_token(&token) {
            return Err(invalid(
                "telegram.token",
                "does not look like a bot token (digits, a colon, then the secret)",
            ));
        }
        let api_url = self
            .api_url
            .unwrap_or_else(|| "https://api.telegram.org".into())
            .trim_end_matches('/')
            .to_string();
        if !(api_url.starts_with("https://") || api_url.starts_with("http://")) {
            return Err(invalid(
                "telegram.api_url",
                format!("`{api_url}` is not an http(s) URL"),
            ));
        }
        let mode = match self.mode.as_deref().unwrap_or("polling") {
            "polling" => UpdateMode::Polling,
            "webhook" => {
                let listen = self
                    .listen
                    .ok_or_else(|| invalid("telegram.listen", "is required in webhook mode"))?;
                let listen = listen.parse().map_err(|_| {
                    invalid(
                        "telegram.listen",
                        format!("`{listen}` is not an address like 0.0.0.0:8443"),
                    )
                })?;
                let public_url = self
                    .public_url
                    .ok_or_else(|| invalid("telegram.public_url", "is required in webhook mode"))?;
                let public_url = https_url("telegram.public_url", &public_url)?;
                let secret = self.secret_token.ok_or_else(|| {
                    invalid("telegram.secret_token", "is required in webhook mode")
                })?;
                let secret_token = resolve_secret("telegram.secret_token", &secret)?;
                let ok_chars = secret_token
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
                if !(16..=256).contains(&secret_token.len()) || !ok_chars {
                    return Err(invalid(
                        "telegram.secret_token",
                        "must be 16 to 256 characters of A-Z, a-z, 0-9, _ and -",
                    ));
                }
                UpdateMode::Webhook {
                    listen,
                    public_url,
                    secret_token: secret_token.into(),
                }
            }
            other => {
                return Err(invalid(
                    "telegram.mode",
                    format!("`{other}` is neither \"polling\" nor \"webhook\""),
                ));
            }
        };
        let mut limits = MessageLimits::default();
        if let Some(raw) = self.limits {
            limits.enabled = raw.enabled.unwrap_or(true);
            for (key, value, slot) in [
                (
                    "telegram.limits.messages_per_second",
                    raw.messages_per_second,
                    &mut limits.per_second,
                ),
                (
                    "telegram.limits.messages_per_chat_per_second",
                    raw.messages_per_chat_per_second,
                    &mut limits.per_chat_per_second,
                ),
                (
                    "telegram.limits.messages_per_group_per_minute",
                    raw.messages_per_group_per_minute,
                    &mut limits.per_group_per_minute,
                ),
            ] {
                if let Some(value) = value {
                    if value == 0 {
                        return Err(invalid(key, "must be at least 1"));
                    }
                    *slot = value;
                }
            }
        }
        Ok(TelegramSettings {
            token: token.into(),
            api_url,
            mode,
            limits,
        })
    }
}

/// The longest `storage.host_id`, in characters.
const MAX_HOST_ID_CHARS: usize = 64;

impl RawStorage {
    /// The store's URL and the host id claims are taken under, if set.
    pub(super) fn resolve(self) -> Result<(String, Option<String>), ConfigError> {
        let url = resolve_secret("storage.url", &self.url)?;
        let known = ["sqlite:", "postgres://", "postgresql://"];
        if !known.iter().any(|p| url.starts_with(p)) {
            return Err(invalid(
                "storage.url",
                "must start with sqlite: (e.g. sqlite://switchboard.db) or postgres://",
            ));
        }
        let host_id = match self.host_id {
            None => None,
            Some(id) => {
                let ok = !id.is_empty()
                    && id.chars().count() <= MAX_HOST_ID_CHARS
                    && id
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
                if !ok {
                    return Err(invalid(
                        "storage.host_id",
                        format!(
                            "must be 1-{MAX_HOST_ID_CHARS} characters of A-Z a-z 0-9 - _ . (e.g. the replica's name)"
                        ),
                    ));
                }
                Some(id)
            }
        };
        Ok((url, host_id))
    }
}

impl RawShop {
    pub(super) fn resolve(self) -> Result<ShopSettings, ConfigError> {
        let mut shop = ShopSettings::default();
        if let Some(url) = self.website_url {
            // Telegram opens the website as a web app, which must be https.
            shop.website_url = Some(https_url("shop.website_url", &url)?);
        }
        if let Some(url) = self.instagram_url {
            shop.instagram_url = Some(https_url("shop.instagram_url", &url)?);
        }
        if let Some(url) = self.support_url {
            shop.support_url = Some(https_url("shop.support_url", &url)?);
        }
        if let Some(language) = self.language {
            if !matches!(language.as_str(), "uk" | "en") {
                return Err(invalid(
                    "shop.language",
                    format!("`{language}` is not one of uk, en"),
                ));
            }
            shop.language = Some(language);
        }
        if let Some(country) = self.phone_country {
            switchboard_shop::phone::CountryCode::parse(&country)
                .map_err(|e| invalid("shop.phone_country", e.to_string()))?;
            shop.phone_country = country;
        }
        if let Some(ttl) = self.catalog_ttl_secs {
            if ttl == 0 {
                return Err(invalid("shop.catalog_ttl_secs", "must be at least 1"));
            }
            shop.catalog_ttl = Duration::from_secs(ttl);
        }
        shop.locales_dir = self.locales_dir;
        shop.delivery_text = self.delivery_text;
        Ok(shop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn telegram(toml_text: &str) -> Result<TelegramSettings, ConfigError> {
        let raw: RawTelegram = toml::from_str(toml_text).unwrap_or_else(|e| panic!("{e}"));
        raw.resolve()
    }

    #[test]
    fn it_defaults_to_polling_the_official_server() {
        let t = telegram("token = \"123456:ABCdef_-ghij\"").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(t.api_url, "https://api.telegram.org");
        assert!(matches!(t.mode, UpdateMode::Polling));
        assert_eq!(t.limits, MessageLimits::default());
        assert!(!format!("{t:?}").contains("ABCdef"));
    }

    #[test]
    fn it_refuses_a_malformed_token_without_printing_it() {
        let err = telegram("token = \"not a token at all\"")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.starts_with("config key `telegram.token`"), "{err}");
        assert!(!err.contains("not a token at all"));
    }

    #[test]
    fn webhook_mode_needs_its_keys() {
        let err = telegram("token = \"1:abcdefgh\"\nmode = \"webhook\"\nlisten = \"0.0.0.0:8443\"")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("telegram.public_url"), "{err}");
        let err = telegram(
            "token = \"1:abcdefgh\"\nmode = \"webhook\"\nlisten = \"0.0.0.0:8443\"\npublic_url = \"https://x.example/tg\"\nsecret_token = \"short\"",
        )
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
        assert!(err.contains("telegram.secret_token"), "{err}");
        let t = telegram(
            "token = \"1:abcdefgh\"\nmode = \"webhook\"\nlisten = \"0.0.0.0:8443\"\npublic_url = \"https://x.example/tg\"\nsecret_token = \"0123456789abcdef\"",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(t.mode, UpdateMode::Webhook { .. }));
    }

    #[test]
    fn shop_urls_must_be_https() {
        let raw: RawShop = toml::from_str("website_url = \"http://shop.example\"")
            .unwrap_or_else(|e| panic!("{e}"));
        let err = raw
            .resolve()
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("shop.website_url"), "{err}");
    }

    #[test]
    fn storage_names_supported_backends() {
        let raw: RawStorage =
            toml::from_str("url = \"mysql://x\"").unwrap_or_else(|e| panic!("{e}"));
        assert!(raw.resolve().is_err());
        let raw: RawStorage =
            toml::from_str("url = \"sqlite://switchboard.db\"").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            raw.resolve().ok(),
            Some(("sqlite://switchboard.db".to_string(), None))
        );
    }
}
