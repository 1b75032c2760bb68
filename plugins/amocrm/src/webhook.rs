//! The "lead status changed" webhook: a PHP-style form
//! (`leads[status][0][id]=…&leads[status][0][status_id]=…&account[id]=…`).
//!
//! amoCRM does not sign webhooks. The only check available is the account
//! id in the body, which the plugin compares with `account_id` when the
//! operator set it; the webhook URL itself should be kept secret.

use std::collections::BTreeMap;

use switchboard_plugin_sdk::{CrmError, StatusEvent, form};

use crate::api::Api;
use crate::statuses;

/// One status change from the form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Change {
    pub lead_id: i64,
    pub status_id: i64,
    pub pipeline_id: Option<i64>,
}

/// The body's account id, if it names one.
pub fn account_id(pairs: &[(String, String)]) -> Option<&str> {
    form::get(pairs, "account[id]")
}

/// The status changes in the body, in index order. Other events (`leads[add]`,
/// `contacts[…]`) are ignored; a status entry without a numeric lead or
/// status id is an invalid request.
pub fn changes(pairs: &[(String, String)]) -> Result<Vec<Change>, CrmError> {
    let mut by_index: BTreeMap<u32, BTreeMap<&str, &str>> = BTreeMap::new();
    for (key, value) in pairs {
        let Some(rest) = key.strip_prefix("leads[status][") else {
            continue;
        };
        let Some((index, field)) = rest.split_once("][") else {
            continue;
        };
        let (Ok(index), Some(field)) = (index.parse::<u32>(), field.strip_suffix(']')) else {
            continue;
        };
        by_index
            .entry(index)
            .or_default()
            .insert(field, value.as_str());
    }
    by_index
        .into_iter()
        .map(|(index, fields)| {
            let number = |name: &str| fields.get(name).and_then(|v| v.trim().parse::<i64>().ok());
            match (number("id"), number("status_id")) {
                (Some(lead_id), Some(status_id)) => Ok(Change {
                    lead_id,
                    status_id,
                    pipeline_id: number("pipeline_id"),
                }),
                _ => Err(CrmError::InvalidRequest(format!(
                    "webhook entry leads[status][{index}] lacks a numeric id or status_id"
                ))),
            }
        })
        .collect()
}

/// Decodes the webhook into status events, naming each status through its
/// pipeline (one request for all pipelines, none when the body has no status
/// change).
pub fn handle(api: &Api, body: &[u8]) -> Result<Vec<StatusEvent>, CrmError> {
    let pairs = form::parse(body);
    if let Some(expected) = api.account_id {
        let sent = account_id(&pairs).and_then(|a| a.trim().parse::<i64>().ok());
        if sent != Some(expected) {
            return Err(CrmError::Unauthorized(
                "the webhook is not from the configured amoCRM account".into(),
            ));
        }
    }
    let changes = changes(&pairs)?;
    if changes.is_empty() {
        return Ok(Vec::new());
    }
    let pipelines = statuses::all_pipelines(api)?;
    Ok(changes
        .into_iter()
        .map(|change| {
            let pipeline = change
                .pipeline_id
                .and_then(|id| pipelines.iter().find(|p| p.id == id))
                .or_else(|| {
                    // Without a pipeline id, any pipeline that lists the status.
                    pipelines.iter().find(|p| {
                        p.embedded
                            .as_ref()
                            .is_some_and(|e| e.statuses.iter().any(|s| s.id == change.status_id))
                    })
                });
            StatusEvent {
                lead_id: change.lead_id.to_string(),
                status: statuses::named(change.status_id, pipeline),
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_status_changes_in_index_order() {
        let body = "leads%5Bstatus%5D%5B1%5D%5Bid%5D=2&leads%5Bstatus%5D%5B1%5D%5Bstatus_id%5D=143\
            &leads%5Bstatus%5D%5B0%5D%5Bid%5D=1&leads%5Bstatus%5D%5B0%5D%5Bstatus_id%5D=142\
            &leads%5Bstatus%5D%5B0%5D%5Bpipeline_id%5D=7&account%5Bid%5D=31&account%5Bsubdomain%5D=shop";
        let pairs = form::parse(body.as_bytes());
        assert_eq!(account_id(&pairs), Some("31"));
        assert_eq!(
            changes(&pairs).ok(),
            Some(vec![
                Change {
                    lead_id: 1,
                    status_id: 142,
                    pipeline_id: Some(7)
                },
                Change {
                    lead_id: 2,
                    status_id: 143,
                    pipeline_id: None
                },
            ])
        );
    }

    #[test]
    fn other_events_are_ignored_and_broken_entries_refused() {
        let pairs = form::parse(b"leads[add][0][id]=5&account[id]=1");
        assert_eq!(changes(&pairs).ok(), Some(Vec::new()));
        let pairs = form::parse(b"leads[status][0][id]=x&leads[status][0][status_id]=1");
        assert!(matches!(changes(&pairs), Err(CrmError::InvalidRequest(_))));
    }
}
