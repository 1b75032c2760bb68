//! A minimal bot-side client: calls the simulator the way a Bot API client does.

// Each test crate uses only some of these helpers.
#![allow(dead_code)]

use serde_json::Value;
use switchboard_telegram_sim::TelegramSim;

pub struct Bot {
    pub http: reqwest::Client,
    pub base: String,
}

impl Bot {
    pub fn new(sim: &TelegramSim) -> Self {
        Self {
            http: reqwest::Client::new(),
            base: format!("{}/bot{}", sim.api_url(), sim.token()),
        }
    }

    async fn finish(response: reqwest::Response) -> (u16, Value) {
        let status = response.status().as_u16();
        let body: Value = response.json().await.expect("the sim always answers JSON");
        if let Some(code) = body.get("error_code") {
            assert_eq!(
                code.as_u64(),
                Some(u64::from(status)),
                "error_code equals HTTP status"
            );
        }
        (status, body)
    }

    /// POSTs a JSON body.
    pub async fn call(&self, method: &str, params: Value) -> (u16, Value) {
        let response = self
            .http
            .post(format!("{}/{method}", self.base))
            .json(&params)
            .send()
            .await
            .expect("request reaches the sim");
        Self::finish(response).await
    }

    /// POSTs an urlencoded form.
    pub async fn call_form(&self, method: &str, form: &[(&str, &str)]) -> (u16, Value) {
        let body: String = form
            .iter()
            .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
            .collect::<Vec<_>>()
            .join("&");
        let response = self
            .http
            .post(format!("{}/{method}", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .expect("request reaches the sim");
        Self::finish(response).await
    }

    /// GETs with a query string.
    pub async fn call_get(&self, method_and_query: &str) -> (u16, Value) {
        let response = self
            .http
            .get(format!("{}/{method_and_query}", self.base))
            .send()
            .await
            .expect("request reaches the sim");
        Self::finish(response).await
    }

    /// POSTs a multipart form.
    pub async fn call_multipart(
        &self,
        method: &str,
        form: reqwest::multipart::Form,
    ) -> (u16, Value) {
        let response = self
            .http
            .post(format!("{}/{method}", self.base))
            .multipart(form)
            .send()
            .await
            .expect("request reaches the sim");
        Self::finish(response).await
    }
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The description of an error answer.
pub fn description(body: &Value) -> &str {
    body["description"].as_str().unwrap_or_default()
}
