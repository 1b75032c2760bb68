//! Lead statuses: `crm.lead.get` for the `STATUS_ID`, `crm.status.list` for
//! its name.
//!
//! Whether a status is final comes from its semantics, not its id: `S`
//! (success, `CONVERTED` by default) and `F` (failure, `JUNK` and any custom
//! failure status) are final; `P` (in process, `PROCESSED` included: that is
//! "handled, awaiting conversion", still open) is not. A portal may rename
//! or add statuses, so the ids are only the fallback.

use serde::Deserialize;
use serde_json::{Value, json};
use switchboard_plugin_sdk::{CrmError, PipelineStatus};

use crate::answer::Answer;
use crate::api::Api;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
struct LeadRecord {
    #[serde(default)]
    status_id: Option<String>,
    #[serde(default)]
    status_semantic_id: Option<String>,
}

/// One `crm.status.list` record.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub struct StatusRecord {
    #[serde(default)]
    pub status_id: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub semantics: Option<String>,
    #[serde(default)]
    pub extra: Option<Value>,
}

fn semantic_final(code: &str) -> Option<bool> {
    match code.trim().to_ascii_uppercase().as_str() {
        "S" | "F" | "SUCCESS" | "FAILURE" => Some(true),
        "P" | "PROCESS" => Some(false),
        _ => None,
    }
}

/// The WIT status of `status_id`: named from `statuses`, final by the lead's
/// semantic id, else the status's semantics, else by the default ids.
pub fn named(
    status_id: &str,
    lead_semantic: Option<&str>,
    statuses: &[StatusRecord],
) -> PipelineStatus {
    let record = statuses
        .iter()
        .find(|s| s.status_id.as_deref() == Some(status_id));
    let name = record
        .and_then(|r| r.name.as_deref())
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .unwrap_or(status_id)
        .to_string();
    let record_semantic = record.and_then(|r| {
        r.semantics.clone().or_else(|| {
            r.extra
                .as_ref()
                .and_then(|e| e.get("SEMANTICS"))
                .and_then(Value::as_str)
                .map(String::from)
        })
    });
    let is_final = lead_semantic
        .and_then(semantic_final)
        .or_else(|| record_semantic.as_deref().and_then(semantic_final))
        .unwrap_or(matches!(status_id, "CONVERTED" | "JUNK"));
    PipelineStatus {
        id: status_id.to_string(),
        name,
        is_final,
    }
}

/// The lead's current status.
pub fn status(api: &Api, id: &str) -> Result<PipelineStatus, CrmError> {
    let lead_id: u64 = id
        .trim()
        .parse()
        .map_err(|_| CrmError::NotFound(format!("no lead `{id}`")))?;
    let lead: Answer<LeadRecord> = api.call("crm.lead.get", &json!({ "id": lead_id }))?;
    let status_id = lead
        .result
        .status_id
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| {
            CrmError::Unavailable(format!("Bitrix24 sent lead {id} without a status"))
        })?;
    let statuses: Answer<Vec<StatusRecord>> = api.call(
        "crm.status.list",
        &json!({ "filter": { "ENTITY_ID": "STATUS" } }),
    )?;
    Ok(named(
        &status_id,
        lead.result.status_semantic_id.as_deref(),
        &statuses.result,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn statuses() -> Vec<StatusRecord> {
        serde_json::from_value(json!([
            {"STATUS_ID": "NEW", "NAME": "Не оброблений", "SEMANTICS": null, "EXTRA": {"SEMANTICS": "process"}},
            {"STATUS_ID": "PROCESSED", "NAME": "Оброблений", "SEMANTICS": null},
            {"STATUS_ID": "JUNK", "NAME": "Неякісний лід", "SEMANTICS": "F"},
            {"STATUS_ID": "UC_LOST", "NAME": "Відмова", "EXTRA": {"SEMANTICS": "failure"}},
            {"STATUS_ID": "CONVERTED", "NAME": "Якісний лід", "SEMANTICS": "S"}
        ]))
        .unwrap_or_default()
    }

    #[test]
    fn semantics_decide_finality() {
        let all = statuses();
        let s = named("NEW", Some("P"), &all);
        assert_eq!((s.name.as_str(), s.is_final), ("Не оброблений", false));
        assert!(!named("PROCESSED", None, &all).is_final);
        assert!(named("JUNK", None, &all).is_final);
        assert!(named("UC_LOST", None, &all).is_final);
        assert!(named("CONVERTED", Some("S"), &all).is_final);
        // Without any list, the default ids still tell.
        let bare = named("CONVERTED", None, &[]);
        assert_eq!((bare.name.as_str(), bare.is_final), ("CONVERTED", true));
    }
}
