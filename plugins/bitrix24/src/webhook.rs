//! The `ONCRMLEADUPDATE` event of an outgoing webhook: a PHP-style form with
//! `event`, `data[FIELDS][ID]` and `auth[application_token]`.
//!
//! The token is the only proof the event comes from the portal, so it is
//! required and compared in constant time. The event names only the lead
//! (it fires on any change, not just status moves), so the plugin reads the
//! lead's current status: two requests per event.

use switchboard_plugin_sdk::{CrmError, StatusEvent, form};

use crate::api::Api;
use crate::statuses;

/// The lead id of an authentic `ONCRMLEADUPDATE` event; `None` for another
/// authentic event, which the host has nothing to do with.
pub fn lead_id(
    pairs: &[(String, String)],
    expected_token: Option<&str>,
) -> Result<Option<u64>, CrmError> {
    let Some(expected) = expected_token.filter(|t| !t.is_empty()) else {
        return Err(CrmError::Unauthorized(
            "config key `application_token` is not set, so no event can be verified".into(),
        ));
    };
    let sent = form::get(pairs, "auth[application_token]").unwrap_or("");
    if !form::constant_time_eq(sent.as_bytes(), expected.as_bytes()) {
        return Err(CrmError::Unauthorized(
            "the event's application_token does not match".into(),
        ));
    }
    let event = form::get(pairs, "event").unwrap_or("");
    if !event.eq_ignore_ascii_case("ONCRMLEADUPDATE") {
        return Ok(None);
    }
    form::get(pairs, "data[FIELDS][ID]")
        .and_then(|id| id.trim().parse().ok())
        .map(Some)
        .ok_or_else(|| CrmError::InvalidRequest("the event has no numeric data[FIELDS][ID]".into()))
}

/// Decodes an event into the lead's current status.
pub fn handle(api: &Api, body: &[u8]) -> Result<Vec<StatusEvent>, CrmError> {
    let pairs = form::parse(body);
    let Some(id) = lead_id(&pairs, api.application_token.as_deref())? else {
        return Ok(Vec::new());
    };
    let id = id.to_string();
    let status = statuses::status(api, &id)?;
    Ok(vec![StatusEvent {
        lead_id: id,
        status,
    }])
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &str = "event=ONCRMLEADUPDATE&event_handler_id=17&data%5BFIELDS%5D%5BID%5D=42\
        &ts=1700000000&auth%5Bdomain%5D=shop.bitrix24.ua&auth%5Bapplication_token%5D=t0k3n";

    #[test]
    fn an_authentic_event_names_its_lead() {
        let pairs = form::parse(BODY.as_bytes());
        assert_eq!(lead_id(&pairs, Some("t0k3n")).ok(), Some(Some(42)));
    }

    #[test]
    fn a_wrong_or_missing_token_is_unauthorized() {
        let pairs = form::parse(BODY.as_bytes());
        assert!(matches!(
            lead_id(&pairs, Some("other")),
            Err(CrmError::Unauthorized(_))
        ));
        assert!(matches!(
            lead_id(&pairs, None),
            Err(CrmError::Unauthorized(_))
        ));
        let unsigned = form::parse(b"event=ONCRMLEADUPDATE&data[FIELDS][ID]=1");
        assert!(matches!(
            lead_id(&unsigned, Some("t0k3n")),
            Err(CrmError::Unauthorized(_))
        ));
    }

    #[test]
    fn other_events_are_ignored() {
        let pairs = form::parse(b"event=ONCRMLEADADD&data[FIELDS][ID]=1&auth[application_token]=t");
        assert_eq!(lead_id(&pairs, Some("t")).ok(), Some(None));
    }
}
