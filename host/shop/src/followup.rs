//! Follow-up messages: a customer told "received, we'll confirm shortly"
//! hears back when the outbox delivers the lead (with the CRM's number) or
//! gives up on it (an apology with the support link).
//!
//! What is owed is recorded on the lead row by the outbox worker, so a
//! restart or a Telegram outage delays a follow-up but never loses it.

use std::sync::Arc;
use std::time::Duration;

use teloxide::payloads::SendMessageSetters;
use teloxide::prelude::Requester;
use teloxide::types::{ChatId, InlineKeyboardButton, InlineKeyboardMarkup, ParseMode};
use tokio::sync::{Notify, watch};

use crate::settings::ShopSettings;
use switchboard_crm::LeadType;
use switchboard_store::{LeadRow, LeadState, Store};
use switchboard_telegram::client::{Client, redact, transient, with_retries};
use switchboard_telegram::i18n::{Locale, Texts};

/// How often owed follow-ups are looked for when nothing wakes the sender.
const TICK: Duration = Duration::from_secs(5);

/// Sends owed follow-ups.
pub struct FollowUps {
    /// The Bot API client.
    pub bot: Client,
    /// The store.
    pub store: Store,
    /// Customer-facing texts.
    pub texts: Arc<Texts>,
    /// The shop's settings (language override, support link).
    pub shop: ShopSettings,
    /// The bot token, only to redact it from errors.
    pub token: String,
    /// Telegram's flood limits, shared with the dialogue.
    pub outgoing: Arc<switchboard_telegram::outgoing::Outgoing>,
}

impl FollowUps {
    /// Runs until `stop` turns true.
    pub async fn run(self, wake: Arc<Notify>, mut stop: watch::Receiver<bool>) {
        loop {
            self.send_due().await;
            tokio::select! {
                _ = stop.wait_for(|s| *s) => break,
                _ = wake.notified() => {}
                _ = tokio::time::sleep(TICK) => {}
            }
        }
    }

    /// Sends every owed follow-up it can; returns how many were settled.
    pub async fn send_due(&self) -> usize {
        let due = match self.store.followups_due(50).await {
            Ok(due) => due,
            Err(e) => {
                tracing::error!(error = %e, "follow-ups: cannot read the store");
                return 0;
            }
        };
        let mut settled = 0;
        for (lead, language) in due {
            let locale = match self.shop.language.as_deref().and_then(Locale::parse) {
                Some(forced) => forced,
                None => self.texts.locale_for(language.as_deref()),
            };
            let Some((id, number)) = message_for(&lead) else {
                settled += usize::from(self.mark_sent(lead.id).await);
                continue;
            };
            let args: Vec<(&str, switchboard_telegram::i18n::Arg<'_>)> = match &number {
                Some(n) => vec![("number", n.as_str().into())],
                None => Vec::new(),
            };
            let text = self.texts.html(locale, id, &args);
            let mut request = self
                .bot
                .send_message(ChatId(lead.chat_id), text)
                .parse_mode(ParseMode::Html);
            if lead.state != LeadState::Delivered
                && let Some(url) = self
                    .shop
                    .support_url
                    .as_deref()
                    .and_then(|u| reqwest::Url::parse(u).ok())
            {
                let label = self.texts.get(locale, "btn-support", &[]);
                request = request.reply_markup(InlineKeyboardMarkup::new(vec![vec![
                    InlineKeyboardButton::url(label, url),
                ]]));
            }
            self.outgoing.acquire(lead.chat_id).await;
            match with_retries(|| request.clone(), &self.token).await {
                Ok(_) => settled += usize::from(self.mark_sent(lead.id).await),
                // The customer blocked the bot or the chat is gone: no
                // retry will reach them.
                Err(e @ teloxide::RequestError::Api(_)) if !transient(&e) => {
                    tracing::warn!(lead = lead.id, error = %e, "follow-up refused by Telegram; not retried");
                    settled += usize::from(self.mark_sent(lead.id).await);
                }
                // Telegram is unwell or asks to wait: the next round tries again.
                Err(e) => {
                    tracing::warn!(lead = lead.id, error = %redact(&e.to_string(), &self.token), "follow-up not sent; will retry");
                    break;
                }
            }
        }
        settled
    }

    async fn mark_sent(&self, id: i64) -> bool {
        match self.store.followup_sent(id).await {
            Ok(()) => true,
            Err(e) => {
                tracing::error!(lead = id, error = %e, "follow-up: cannot record it as sent");
                false
            }
        }
    }
}

/// The message owed for a lead and its number argument; `None` when nothing
/// is to be said after all (e.g. an operator retried it meanwhile).
fn message_for(lead: &LeadRow) -> Option<(&'static str, Option<String>)> {
    match (lead.state, lead.kind) {
        (LeadState::Delivered, LeadType::Order) => Some((
            "followup-order-delivered",
            Some(
                lead.crm_id
                    .clone()
                    .unwrap_or_else(|| format!("#{}", lead.id)),
            ),
        )),
        (LeadState::Dead, LeadType::Order) => Some(("followup-order-dead", None)),
        (LeadState::Dead, _) => Some(("followup-message-dead", None)),
        _ => None,
    }
}
