//! The form body of the `ONCRMLEADUPDATE` event Bitrix24 POSTs to a subscribed handler.
//!
//! Shape from `api-reference/crm/leads/events/on-crm-lead-update.md` and
//! `_includes/auth-params-in-events.md` in `bitrix24/b24restdocs`: `event`,
//! `event_handler_id`, `data[FIELDS][ID]`, `ts` and the `auth[…]` block. An outgoing
//! webhook carries no OAuth tokens, only `application_token` to check the sender by.

use crate::form::encode_pairs;

/// Who the event says it comes from.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sender<'a> {
    pub(crate) domain: &'a str,
    pub(crate) member_id: &'a str,
    pub(crate) application_token: &'a str,
    pub(crate) event_handler_id: u32,
}

/// The `application/x-www-form-urlencoded` body announcing that lead `lead_id` changed.
pub(crate) fn lead_update(sender: &Sender<'_>, lead_id: i64, ts: i64) -> String {
    let domain = sender.domain;
    encode_pairs(&[
        ("event", "ONCRMLEADUPDATE".to_owned()),
        ("event_handler_id", sender.event_handler_id.to_string()),
        ("data[FIELDS][ID]", lead_id.to_string()),
        ("ts", ts.to_string()),
        ("auth[domain]", domain.to_owned()),
        ("auth[client_endpoint]", format!("https://{domain}/rest/")),
        (
            "auth[server_endpoint]",
            "https://oauth.bitrix.info/rest/".to_owned(),
        ),
        ("auth[member_id]", sender.member_id.to_owned()),
        (
            "auth[application_token]",
            sender.application_token.to_owned(),
        ),
    ])
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::form::nest;
    use crate::record::parse_query;

    #[test]
    fn it_builds_the_event_form() {
        let sender = Sender {
            domain: "shop.bitrix24.ua",
            member_id: "m1",
            application_token: "t1",
            event_handler_id: 7,
        };
        let body = lead_update(&sender, 42, 1_700_000_000);
        assert!(
            body.starts_with(
                "event=ONCRMLEADUPDATE&event_handler_id=7&data%5BFIELDS%5D%5BID%5D=42&"
            )
        );
        assert_eq!(
            nest(&parse_query(&body)),
            json!({
                "event": "ONCRMLEADUPDATE",
                "event_handler_id": "7",
                "data": { "FIELDS": { "ID": "42" } },
                "ts": "1700000000",
                "auth": {
                    "domain": "shop.bitrix24.ua",
                    "client_endpoint": "https://shop.bitrix24.ua/rest/",
                    "server_endpoint": "https://oauth.bitrix.info/rest/",
                    "member_id": "m1",
                    "application_token": "t1"
                }
            })
        );
    }
}
