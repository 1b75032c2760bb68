//! Lead statuses: a lead's `status_id` named through its pipeline.
//!
//! Every pipeline has the system statuses 142 (won) and 143 (lost), with the
//! same ids everywhere; those two are final. A lead may have been moved to
//! another pipeline, so the pipeline comes from the lead, not the config.

use serde::Deserialize;
use switchboard_plugin_sdk::{CrmError, PipelineStatus};

use crate::api::Api;

/// "Closed - won".
pub const WON_STATUS_ID: i64 = 142;
/// "Closed - lost".
pub const LOST_STATUS_ID: i64 = 143;

#[derive(Debug, Deserialize)]
pub struct Status {
    pub id: i64,
    #[serde(default)]
    pub name: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct StatusesEmbedded {
    #[serde(default)]
    pub statuses: Vec<Status>,
}

#[derive(Debug, Deserialize)]
pub struct Pipeline {
    pub id: i64,
    #[serde(rename = "_embedded")]
    pub embedded: Option<StatusesEmbedded>,
}

#[derive(Debug, Deserialize)]
pub struct PipelinesEmbedded {
    #[serde(default)]
    pub pipelines: Vec<Pipeline>,
}

#[derive(Debug, Deserialize)]
pub struct Pipelines {
    #[serde(rename = "_embedded")]
    pub embedded: PipelinesEmbedded,
}

#[derive(Debug, Deserialize)]
struct LeadStatus {
    status_id: i64,
    pipeline_id: i64,
}

/// The WIT status of `status_id`, named from `pipeline` when it lists it.
pub fn named(status_id: i64, pipeline: Option<&Pipeline>) -> PipelineStatus {
    let name = pipeline
        .and_then(|p| p.embedded.as_ref())
        .into_iter()
        .flat_map(|e| &e.statuses)
        .find(|s| s.id == status_id)
        .and_then(|s| s.name.clone())
        .filter(|n| !n.trim().is_empty())
        .unwrap_or_else(|| format!("#{status_id}"));
    PipelineStatus {
        id: status_id.to_string(),
        name,
        is_final: status_id == WON_STATUS_ID || status_id == LOST_STATUS_ID,
    }
}

/// The lead's status: `GET /leads/{id}`, then its pipeline for the name.
pub fn status(api: &Api, id: &str) -> Result<PipelineStatus, CrmError> {
    let not_found = || CrmError::NotFound(format!("no lead `{id}`"));
    let lead_id: u64 = id.trim().parse().map_err(|_| not_found())?;
    // A missing lead is 204, not 404.
    let lead: LeadStatus = api
        .get(&format!("/leads/{lead_id}"))?
        .ok_or_else(not_found)?;
    let pipeline: Option<Pipeline> = api.get(&format!("/leads/pipelines/{}", lead.pipeline_id))?;
    Ok(named(lead.status_id, pipeline.as_ref()))
}

/// Every pipeline with its statuses, for naming webhook events.
pub fn all_pipelines(api: &Api) -> Result<Vec<Pipeline>, CrmError> {
    let pipelines: Option<Pipelines> = api.get("/leads/pipelines")?;
    Ok(pipelines.map(|p| p.embedded.pipelines).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_come_from_the_pipeline_and_142_143_are_final() {
        let pipeline: Pipeline = serde_json::from_value(json!({"id": 7, "name": "Воронка",
            "_embedded": {"statuses": [
                {"id": 70, "name": "Нове замовлення"}, {"id": 142, "name": "Успешно реализовано"},
                {"id": 143, "name": "Закрыто и не реализовано"}]}}))
        .unwrap_or_else(|e| panic!("{e}"));
        let s = named(70, Some(&pipeline));
        assert_eq!(
            (s.id.as_str(), s.name.as_str(), s.is_final),
            ("70", "Нове замовлення", false)
        );
        assert!(named(142, Some(&pipeline)).is_final);
        assert!(named(143, Some(&pipeline)).is_final);
        assert_eq!(named(99, None).name, "#99");
    }
}
