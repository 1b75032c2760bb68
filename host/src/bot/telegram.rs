//! The Telegram side: the Bot API client, token redaction, and the polling
//! loop that commits its offset only past updates it has processed.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use teloxide::adaptors::Throttle;
use teloxide::adaptors::throttle::Limits;
use teloxide::prelude::*;
use teloxide::types::{AllowedUpdate, Update};

use crate::config::TelegramSettings;
use crate::store::Store;

/// The client every handler uses: teloxide's `Bot` behind its throttle.
pub type Client = Throttle<Bot>;

/// The store setting that holds the next `getUpdates` offset.
pub const OFFSET_SETTING: &str = "telegram.offset";

/// Replaces the bot token wherever it appears (teloxide's and reqwest's
/// errors carry the request URL, which contains it).
pub fn redact(text: &str, token: &str) -> String {
    if token.is_empty() {
        return text.to_string();
    }
    text.replace(token, "<redacted>")
}

/// Why the client could not be built.
#[derive(Debug, thiserror::Error)]
#[error("config key `telegram.api_url`: {0}")]
pub struct ClientError(String);

/// Builds the client for a Bot API server, throttled to the configured
/// limits (the throttle is effectively off when limits are disabled).
pub fn client(settings: &TelegramSettings) -> Result<Client, ClientError> {
    let url = reqwest::Url::parse(&settings.api_url).map_err(|e| ClientError(e.to_string()))?;
    let bot = Bot::new(settings.token.clone()).set_api_url(url);
    let l = settings.limits;
    let limits = if l.enabled {
        Limits {
            messages_per_sec_chat: l.per_chat_per_second,
            // teloxide applies its per-minute chat limit to groups.
            messages_per_min_chat: l.per_group_per_minute,
            messages_per_min_channel_or_supergroup: l.per_group_per_minute,
            messages_per_sec_overall: l.per_second,
        }
    } else {
        Limits {
            messages_per_sec_chat: 1_000_000,
            messages_per_min_chat: 1_000_000,
            messages_per_min_channel_or_supergroup: 1_000_000,
            messages_per_sec_overall: 1_000_000,
        }
    };
    Ok(Throttle::new_spawn(bot, limits))
}

/// The chat an update belongs to, for ordering (`None`: no chat at all).
fn chat_of(update: &Update) -> Option<i64> {
    update.chat().map(|c| c.id.0)
}

/// Polls `getUpdates` until `stop` resolves. Each batch is handled with
/// chats in parallel and each chat's updates in order; only when the whole
/// batch is handled is the offset stored and confirmed to Telegram (by the
/// next `getUpdates`), so a crash mid-batch redelivers what was not done.
pub async fn poll<H, F>(
    bot: Client,
    store: Store,
    token: String,
    handle: H,
    mut stop: tokio::sync::watch::Receiver<bool>,
) where
    H: Fn(Update) -> F + Send + Sync + 'static,
    F: Future<Output = ()> + Send + 'static,
{
    let handle = Arc::new(handle);
    let mut offset: i32 = match store.setting(OFFSET_SETTING).await {
        Ok(Some(text)) => text.parse().unwrap_or(0),
        Ok(None) => 0,
        Err(e) => {
            tracing::error!(error = %e, "cannot read the polling offset; starting from Telegram's");
            0
        }
    };
    let mut backoff = Duration::from_millis(500);
    loop {
        let request = bot
            .get_updates()
            .offset(offset)
            .timeout(25)
            .allowed_updates(vec![AllowedUpdate::Message, AllowedUpdate::CallbackQuery]);
        let updates = tokio::select! {
            _ = stop.wait_for(|s| *s) => return,
            result = request.send() => result,
        };
        let updates = match updates {
            Ok(updates) => {
                backoff = Duration::from_millis(500);
                updates
            }
            Err(e) => {
                let wait = match &e {
                    teloxide::RequestError::RetryAfter(secs) => secs.duration(),
                    _ => backoff,
                };
                tracing::warn!(error = %redact(&e.to_string(), &token), wait_ms = wait.as_millis() as u64, "getUpdates failed");
                backoff = (backoff * 2).min(Duration::from_secs(30));
                tokio::select! {
                    _ = stop.wait_for(|s| *s) => return,
                    _ = tokio::time::sleep(wait) => {}
                }
                continue;
            }
        };
        let Some(last) = updates.iter().map(|u| u.id.0).max() else {
            continue;
        };
        let mut by_chat: BTreeMap<Option<i64>, Vec<Update>> = BTreeMap::new();
        for update in updates {
            by_chat.entry(chat_of(&update)).or_default().push(update);
        }
        let mut tasks = tokio::task::JoinSet::new();
        for (_, updates) in by_chat {
            let handle = Arc::clone(&handle);
            tasks.spawn(async move {
                for update in updates {
                    handle(update).await;
                }
            });
        }
        while let Some(done) = tasks.join_next().await {
            if let Err(e) = done {
                tracing::error!(error = %e, "an update handler panicked; its chat's remaining updates in this batch were skipped");
            }
        }
        offset = i32::try_from(u64::from(last) + 1).unwrap_or(i32::MAX);
        if let Err(e) = store.set_setting(OFFSET_SETTING, &offset.to_string()).await {
            tracing::error!(error = %e, "cannot store the polling offset; updates may be handled twice after a restart");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn it_redacts_the_token_from_error_texts() {
        let text =
            "error sending request for url (http://127.0.0.1:9/bot123:SECRET-abc/GetUpdates)";
        assert_eq!(
            redact(text, "123:SECRET-abc"),
            "error sending request for url (http://127.0.0.1:9/bot<redacted>/GetUpdates)"
        );
        assert_eq!(redact("nothing here", "123:SECRET-abc"), "nothing here");
    }
}
