//! [`AmoStatusChange`] and the form body of amoCRM's "lead status changed" webhook.
//!
//! amoCRM POSTs `application/x-www-form-urlencoded` with PHP-style keys:
//! `leads[status][0][id]`, `…[status_id]`, `…[pipeline_id]`, `…[old_status_id]`,
//! `…[old_pipeline_id]`, then `account[id]` and `account[subdomain]`
//! (<https://developers.kommo.com/docs/webhooks-general>).

use crate::form::encode_pairs;

/// A lead's move from one status to another, as the status webhook reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AmoStatusChange {
    /// The lead that moved.
    pub lead_id: i64,
    /// The status it moved to.
    pub status_id: i64,
    /// The pipeline it is in now.
    pub pipeline_id: i64,
    /// The status it left.
    pub old_status_id: i64,
    /// The pipeline it was in before.
    pub old_pipeline_id: i64,
}

impl AmoStatusChange {
    /// The `application/x-www-form-urlencoded` webhook body reporting this change alone.
    pub fn webhook_body(&self, account_id: i64, subdomain: &str) -> String {
        status_body(std::slice::from_ref(self), account_id, subdomain)
    }
}

/// The webhook body reporting `changes`, in order.
pub(crate) fn status_body(changes: &[AmoStatusChange], account_id: i64, subdomain: &str) -> String {
    let mut pairs: Vec<(String, String)> = Vec::new();
    for (i, change) in changes.iter().enumerate() {
        let key = |field: &str| format!("leads[status][{i}][{field}]");
        pairs.push((key("id"), change.lead_id.to_string()));
        pairs.push((key("status_id"), change.status_id.to_string()));
        pairs.push((key("pipeline_id"), change.pipeline_id.to_string()));
        pairs.push((key("old_status_id"), change.old_status_id.to_string()));
        pairs.push((key("old_pipeline_id"), change.old_pipeline_id.to_string()));
    }
    pairs.push(("account[id]".to_owned(), account_id.to_string()));
    pairs.push(("account[subdomain]".to_owned(), subdomain.to_owned()));
    encode_pairs(&pairs)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::form::nest;
    use crate::record::parse_query;

    #[test]
    fn it_builds_the_php_style_form() {
        let change = AmoStatusChange {
            lead_id: 20_000_001,
            status_id: 142,
            pipeline_id: 7_700_001,
            old_status_id: 77_000_011,
            old_pipeline_id: 7_700_001,
        };
        let body = change.webhook_body(31_000_001, "shop");
        assert!(body.starts_with("leads%5Bstatus%5D%5B0%5D%5Bid%5D=20000001&"));
        assert_eq!(
            nest(&parse_query(&body)),
            json!({
                "leads": { "status": [{
                    "id": "20000001", "status_id": "142", "pipeline_id": "7700001",
                    "old_status_id": "77000011", "old_pipeline_id": "7700001"
                }] },
                "account": { "id": "31000001", "subdomain": "shop" }
            })
        );
    }
}
