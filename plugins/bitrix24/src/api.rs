//! The Bitrix24 REST client over an incoming webhook, and the configuration.
//!
//! An incoming webhook is a URL with the credentials in its path
//! (`https://{portal}/rest/{user_id}/{code}/`); a method is called by
//! appending its name and `.json`. Every call is a POST with a JSON body, so
//! nested parameters (`filter`, `fields`) need no form encoding.

use serde::de::DeserializeOwned;
use serde_json::Value;
use switchboard_plugin_sdk::http::Request;
use switchboard_plugin_sdk::{CrmError, config, errors};

use crate::answer::{self, Answer};

/// Bitrix24 settings from the plugin configuration.
pub struct Api {
    /// The webhook URL, ending in `/`.
    webhook_url: String,
    /// `https://{portal}`, for links to leads.
    portal: String,
    /// The lead source (`SOURCE_ID`), when configured.
    pub source_id: Option<String>,
    /// The currency of catalog prices without a `CURRENCY_ID`.
    pub currency: String,
    /// The product field holding the SKU.
    pub sku_field: String,
    /// The outgoing webhook's token that events must carry.
    pub application_token: Option<String>,
}

/// Checks and splits `https://{portal}/rest/{user_id}/{code}/` into the URL
/// with a trailing slash and the portal origin.
pub fn parse_webhook_url(text: &str) -> Result<(String, String), CrmError> {
    let bad = || {
        CrmError::InvalidRequest(
            "config key `webhook_url` must look like https://PORTAL/rest/USER_ID/CODE/".into(),
        )
    };
    let url = text.trim();
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        return Err(bad());
    }
    let (portal, rest) = url.split_once("/rest/").ok_or_else(bad)?;
    let mut parts = rest.trim_end_matches('/').split('/');
    let (Some(user), Some(code), None) = (parts.next(), parts.next(), parts.next()) else {
        return Err(bad());
    };
    if user.parse::<u64>().is_err() || code.is_empty() {
        return Err(bad());
    }
    Ok((format!("{portal}/rest/{user}/{code}/"), portal.to_string()))
}

impl Api {
    /// Reads the configuration the host handed over.
    pub fn from_config() -> Result<Self, CrmError> {
        let (webhook_url, portal) = parse_webhook_url(&config::require("webhook_url")?)?;
        Ok(Self {
            webhook_url,
            portal,
            source_id: config::get("source_id").map(|s| s.trim().to_string()),
            currency: config::get("currency")
                .unwrap_or_else(|| "UAH".into())
                .trim()
                .to_ascii_uppercase(),
            sku_field: config::get("sku_field").unwrap_or_else(|| "XML_ID".into()),
            application_token: config::get("application_token"),
        })
    }

    /// Calls `method` with JSON `params`.
    pub fn call<T: DeserializeOwned>(
        &self,
        method: &str,
        params: &Value,
    ) -> Result<Answer<T>, CrmError> {
        let response = Request::post_json(format!("{}{method}.json", self.webhook_url), params)
            .header("accept", "application/json")
            .send()
            .map_err(|e| errors::from_http_error(&e))?;
        answer::decode(&response)
    }

    /// The lead's page in the Bitrix24 web interface.
    pub fn lead_url(&self, id: &str) -> String {
        format!("{}/crm/lead/details/{id}/", self.portal)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhook_urls_are_checked_and_split() {
        let split = |t: &str| parse_webhook_url(t).ok();
        assert_eq!(
            split("https://shop.bitrix24.ua/rest/1/abc123"),
            Some((
                "https://shop.bitrix24.ua/rest/1/abc123/".to_string(),
                "https://shop.bitrix24.ua".to_string()
            ))
        );
        assert_eq!(
            split(" http://127.0.0.1:9/rest/7/x/ ").map(|(u, _)| u),
            Some("http://127.0.0.1:9/rest/7/x/".to_string())
        );
        for bad in [
            "shop.bitrix24.ua/rest/1/abc",
            "https://shop.bitrix24.ua/rest/1/",
            "https://shop.bitrix24.ua/rest/one/abc/",
            "https://shop.bitrix24.ua/rest/1/abc/crm.lead.add",
            "https://shop.bitrix24.ua/",
        ] {
            assert!(parse_webhook_url(bad).is_err(), "{bad}");
        }
    }
}
