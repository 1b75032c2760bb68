//! The authenticated KeyCRM client.

use serde::de::DeserializeOwned;
use switchboard_plugin_sdk::http::Request;
use switchboard_plugin_sdk::{CrmError, config, errors};

/// KeyCRM settings from the plugin configuration.
pub struct Api {
    base_url: String,
    api_key: String,
    /// The `source_id` new cards are attributed to.
    pub source_id: i64,
    /// The pipeline for new cards, when configured.
    pub pipeline_id: Option<i64>,
    /// The custom field receiving the Telegram username, when configured.
    pub username_field: Option<String>,
    /// The currency of catalog prices when KeyCRM does not name one.
    pub currency: String,
}

fn integer(key: &str, value: &str) -> Result<i64, CrmError> {
    value.trim().parse().map_err(|_| {
        CrmError::InvalidRequest(format!(
            "config key `{key}` must be an integer, got `{value}`"
        ))
    })
}

impl Api {
    /// Reads the configuration the host handed over.
    pub fn from_config() -> Result<Self, CrmError> {
        let base_url = config::get("base_url")
            .unwrap_or_else(|| "https://openapi.keycrm.app/v1".into())
            .trim_end_matches('/')
            .to_string();
        let pipeline_id = match config::get("pipeline_id") {
            Some(v) => Some(integer("pipeline_id", &v)?),
            None => None,
        };
        Ok(Self {
            base_url,
            api_key: config::require("api_key")?,
            source_id: integer("source_id", &config::require("source_id")?)?,
            pipeline_id,
            username_field: config::get("username_custom_field_uuid"),
            currency: config::get("currency").unwrap_or_else(|| "UAH".into()),
        })
    }

    fn send<T: DeserializeOwned>(&self, request: Request) -> Result<T, CrmError> {
        let response = request
            .bearer(&self.api_key)
            .header("accept", "application/json")
            .send()
            .map_err(|e| errors::from_http_error(&e))?;
        let response = errors::check(response)?;
        // Straight from bytes into the typed shape: going through a
        // `serde_json::Value` first would double the decoding work.
        errors::json(&response)
    }

    /// `GET {base_url}{path_and_query}`, decoded as `T`.
    pub fn get<T: DeserializeOwned>(&self, path_and_query: &str) -> Result<T, CrmError> {
        self.send(Request::get(format!("{}{path_and_query}", self.base_url)))
    }

    /// `POST {base_url}{path}` with a JSON body, the answer decoded as `T`.
    pub fn post<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &serde_json::Value,
    ) -> Result<T, CrmError> {
        self.send(Request::post_json(format!("{}{path}", self.base_url), body))
    }
}
