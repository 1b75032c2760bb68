//! `[shop]`, validated: the shop's links and dialogue settings. The
//! binary's config parses into these.

use std::time::Duration;

/// `[shop]`, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShopSettings {
    /// The shop's website (opened as a Telegram web app).
    pub website_url: Option<String>,
    /// The shop's Instagram.
    pub instagram_url: Option<String>,
    /// Where people get human help (`https://t.me/…`).
    pub support_url: Option<String>,
    /// Forces the customers' language (`uk`, `en`); `None` follows each
    /// customer's Telegram language.
    pub language: Option<String>,
    /// The country of phone numbers typed without one (`+380`).
    pub phone_country: String,
    /// How long a loaded catalog is reused.
    pub catalog_ttl: Duration,
    /// A folder with `uk.ftl`/`en.ftl` overriding the built-in texts.
    pub locales_dir: Option<String>,
    /// Shown for delivery when there is no `[delivery]` tariff.
    pub delivery_text: Option<String>,
}

impl Default for ShopSettings {
    fn default() -> Self {
        Self {
            website_url: None,
            instagram_url: None,
            support_url: None,
            language: None,
            phone_country: "+380".into(),
            catalog_ttl: Duration::from_secs(300),
            locales_dir: None,
            delivery_text: None,
        }
    }
}
