//! The authenticated amoCRM client and the plugin's configuration.

use serde::de::DeserializeOwned;
use switchboard_plugin_sdk::http::{Request, Response};
use switchboard_plugin_sdk::{CrmError, config, errors, log};

use crate::problem;

/// amoCRM settings from the plugin configuration.
pub struct Api {
    /// The account URL without a trailing slash (`https://shop.kommo.com`).
    base_url: String,
    token: String,
    /// The products list, when configured; else the first list of type
    /// `products`.
    pub catalog_id: Option<u64>,
    /// Where new leads go, when configured; else the main pipeline's first
    /// status.
    pub pipeline_id: Option<i64>,
    /// See `pipeline_id`.
    pub status_id: Option<i64>,
    /// The currency of catalog prices (an amoCRM account has one).
    pub currency: String,
    /// The `field_code` of the price field of catalog elements.
    pub price_field: String,
    /// The `field_code` of the SKU field of catalog elements.
    pub sku_field: String,
    /// The `field_code` of the description field of catalog elements.
    pub description_field: String,
    /// The `field_code` of a lead text field that receives the idempotency
    /// key; without one the key goes at the end of the lead name.
    pub key_field: Option<String>,
    /// When set, webhooks naming another account are refused.
    pub account_id: Option<i64>,
}

fn integer<T: std::str::FromStr>(key: &str) -> Result<Option<T>, CrmError> {
    match config::get(key) {
        None => Ok(None),
        Some(value) => value.trim().parse().map(Some).map_err(|_| {
            CrmError::InvalidRequest(format!(
                "config key `{key}` must be an integer, got `{value}`"
            ))
        }),
    }
}

/// The account URL as the operator may write it (`https://x.kommo.com/`,
/// `https://x.kommo.com/api/v4`), normalised to the bare origin.
pub fn normalise_base_url(text: &str) -> Result<String, CrmError> {
    let trimmed = text.trim().trim_end_matches('/');
    let trimmed = trimmed.strip_suffix("/api/v4").unwrap_or(trimmed);
    if !(trimmed.starts_with("https://") || trimmed.starts_with("http://")) {
        return Err(CrmError::InvalidRequest(format!(
            "config key `base_url` must be an http(s) URL like https://shop.kommo.com, got `{text}`"
        )));
    }
    Ok(trimmed.to_string())
}

impl Api {
    /// Reads the configuration the host handed over.
    pub fn from_config() -> Result<Self, CrmError> {
        let text = |key: &str, default: &str| config::get(key).unwrap_or_else(|| default.into());
        Ok(Self {
            base_url: normalise_base_url(&config::require("base_url")?)?,
            token: config::require("token")?,
            catalog_id: integer("catalog_id")?,
            pipeline_id: integer("pipeline_id")?,
            status_id: integer("status_id")?,
            currency: text("currency", "UAH").trim().to_ascii_uppercase(),
            price_field: text("price_field_code", "PRICE"),
            sku_field: text("sku_field_code", "SKU"),
            description_field: text("description_field_code", "DESCRIPTION"),
            key_field: config::get("key_field_code"),
            account_id: integer("account_id")?,
        })
    }

    fn send(&self, request: Request) -> Result<Response, CrmError> {
        let response = request
            .bearer(&self.token)
            .header("accept", "application/hal+json, application/json")
            .send()
            .map_err(|e| errors::from_http_error(&e))?;
        problem::check(response)
    }

    /// `GET {base_url}/api/v4{path_and_query}` decoded as `T`; `None` for
    /// amoCRM's 204, which means an empty list or a missing entity.
    pub fn get<T: DeserializeOwned>(&self, path_and_query: &str) -> Result<Option<T>, CrmError> {
        let response = self.send(Request::get(format!(
            "{}/api/v4{path_and_query}",
            self.base_url
        )))?;
        if response.status == 204 {
            return Ok(None);
        }
        errors::json(&response).map(Some)
    }

    /// `POST {base_url}/api/v4{path}` with a JSON body, decoded as `T`.
    pub fn post<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &serde_json::Value,
    ) -> Result<T, CrmError> {
        let response = self.send(Request::post_json(
            format!("{}/api/v4{path}", self.base_url),
            body,
        ))?;
        if response.status == 204 {
            log::warn(&format!("amoCRM answered POST {path} with 204"));
            return Err(CrmError::Unavailable(format!(
                "amoCRM answered POST {path} with no content"
            )));
        }
        errors::json(&response)
    }

    /// The lead's page in the amoCRM web interface.
    pub fn lead_url(&self, id: &str) -> String {
        format!("{}/leads/detail/{id}", self.base_url)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_are_normalised() {
        for text in [
            "https://shop.kommo.com",
            "https://shop.kommo.com/",
            " https://shop.kommo.com/api/v4/ ",
        ] {
            assert_eq!(
                normalise_base_url(text).ok().as_deref(),
                Some("https://shop.kommo.com")
            );
        }
        assert!(normalise_base_url("shop.kommo.com").is_err());
    }
}
