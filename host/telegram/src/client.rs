//! The Telegram side: the Bot API client, token redaction, and the polling
//! loop, which confirms updates to Telegram only once they are stored.

use std::future::Future;
use std::time::Duration;

use teloxide::prelude::*;
use teloxide::types::{AllowedUpdate, Update};

use secrecy::ExposeSecret;

use crate::inbox::Inbox;
use crate::settings::TelegramSettings;
use switchboard_store::Store;

/// The client every handler uses. Telegram's flood limits are kept by
/// [`crate::outgoing::Outgoing`], not by a client adaptor.
pub type Client = Bot;

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

/// Builds the client for a Bot API server.
pub fn client(settings: &TelegramSettings) -> Result<Client, ClientError> {
    let url = reqwest::Url::parse(&settings.api_url).map_err(|e| ClientError(e.to_string()))?;
    Ok(Bot::new(settings.token.expose_secret()).set_api_url(url))
}

/// The longest a reply waits on Telegram's `retry_after`; a longer wait
/// would hold the chat's other updates too long.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(30);
/// How often a request is tried again, after a 429 or a transient failure.
const SEND_RETRIES: u32 = 3;

/// Sends a request, waiting out Telegram's `429 retry_after` and trying
/// again after a transient failure (see [`transient`]) with a growing
/// pause, up to [`SEND_RETRIES`] times, instead of dropping the reply.
pub async fn with_retries<T, F, R>(make: F, token: &str) -> Result<T, teloxide::RequestError>
where
    F: Fn() -> R,
    R: std::future::IntoFuture<Output = Result<T, teloxide::RequestError>>,
{
    let mut attempt = 0;
    loop {
        let wait = match make().await {
            Ok(done) => return Ok(done),
            Err(teloxide::RequestError::RetryAfter(wait))
                if attempt < SEND_RETRIES && wait.duration() <= MAX_RETRY_AFTER =>
            {
                wait.duration()
            }
            Err(e) if attempt < SEND_RETRIES && transient(&e) => {
                Duration::from_millis(250 << attempt)
            }
            Err(e) => {
                tracing::debug!(error = %redact(&e.to_string(), token), "send failed");
                return Err(e);
            }
        };
        attempt += 1;
        tracing::info!(
            wait_ms = wait.as_millis() as u64,
            attempt,
            "Telegram did not take a request; trying again"
        );
        tokio::time::sleep(wait).await;
    }
}

/// Descriptions of the Bot API's 5xx answers.
const SERVER_ERRORS: [&str; 4] = [
    "Internal Server Error",
    "Bad Gateway",
    "Service Unavailable",
    "Gateway Timeout",
];

/// A failure after which Telegram did not act on the request, so sending it
/// again cannot show the customer the same message twice: a 5xx answer, an
/// answer that is not the Bot API's JSON (a proxy's error page), or a
/// connection that could not be made. A timed-out request may have been
/// carried out, so it is not tried again.
pub fn transient(e: &teloxide::RequestError) -> bool {
    match e {
        teloxide::RequestError::Api(teloxide::ApiError::Unknown(text)) => {
            SERVER_ERRORS.iter().any(|s| text.starts_with(s))
        }
        teloxide::RequestError::InvalidJson { .. } => true,
        teloxide::RequestError::Network(e) => e.is_connect(),
        _ => false,
    }
}

/// How long a stopping poller or webhook lets in-flight updates finish.
pub const DRAIN_LIMIT: Duration = Duration::from_secs(10);

/// Polls `getUpdates` until `stop` resolves.
///
/// Each batch is written to the store's inbox, with the offset past it, in
/// one transaction; only then does the next `getUpdates` confirm it to
/// Telegram (see [`Inbox`]). The updates run on per-chat workers, so
/// polling goes on while a slow chat waits for its CRM, and a handled
/// update leaves the inbox before its chat's next one starts. After a crash
/// the inbox is replayed first, so no update is lost; the dialogue knows an
/// update whose step already ran and does not run it twice.
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
    let inbox = Inbox::open(store.clone(), handle).await;
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
            _ = stop.wait_for(|s| *s) => break,
            result = request.send() => result,
        };
        let failure = match updates {
            Ok(updates) => {
                let Some(last) = updates.iter().map(|u| u.id.0).max() else {
                    backoff = Duration::from_millis(500);
                    continue;
                };
                let next = i32::try_from(u64::from(last) + 1).unwrap_or(i32::MAX);
                match inbox
                    .accept(updates, Some((OFFSET_SETTING, i64::from(next))))
                    .await
                {
                    Ok(()) => {
                        backoff = Duration::from_millis(500);
                        offset = next;
                        continue;
                    }
                    // Not confirmed to Telegram, so the batch comes again.
                    Err(e) => (format!("cannot store received updates: {e}"), backoff),
                }
            }
            Err(e) => {
                let wait = match &e {
                    teloxide::RequestError::RetryAfter(secs) => secs.duration(),
                    _ => backoff,
                };
                (
                    format!("getUpdates failed: {}", redact(&e.to_string(), &token)),
                    wait,
                )
            }
        };
        let (error, wait) = failure;
        tracing::warn!(%error, wait_ms = wait.as_millis() as u64, "polling paused");
        backoff = (backoff * 2).min(Duration::from_secs(30));
        tokio::select! {
            _ = stop.wait_for(|s| *s) => break,
            _ = tokio::time::sleep(wait) => {}
        }
    }
    inbox.close(DRAIN_LIMIT).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_failures_telegram_did_not_act_on_are_sent_again() {
        use teloxide::{ApiError, RequestError};
        for text in [
            "Bad Gateway",
            "Internal Server Error",
            "Service Unavailable",
        ] {
            assert!(transient(&RequestError::Api(ApiError::Unknown(
                text.into()
            ))));
        }
        let not_json = serde_json::from_str::<serde_json::Value>("<html>502</html>")
            .err()
            .map(|e| RequestError::InvalidJson {
                source: std::sync::Arc::new(e),
                raw: "<html>502</html>".into(),
            });
        assert!(not_json.as_ref().is_some_and(transient));
        assert!(!transient(&RequestError::Api(ApiError::BotBlocked)));
        assert!(!transient(&RequestError::Api(ApiError::Unknown(
            "Bad Request: chat not found".into()
        ))));
        assert!(!transient(&RequestError::RetryAfter(
            teloxide::types::Seconds::from_seconds(1)
        )));
    }

    #[tokio::test]
    async fn a_reply_is_tried_again_after_a_transient_failure_only() {
        use std::sync::atomic::{AtomicU32, Ordering};
        use teloxide::{ApiError, RequestError};
        let calls = AtomicU32::new(0);
        let sent = with_retries(
            || {
                let n = calls.fetch_add(1, Ordering::SeqCst);
                async move {
                    match n {
                        0 | 1 => Err(RequestError::Api(ApiError::Unknown("Bad Gateway".into()))),
                        _ => Ok(n),
                    }
                }
            },
            "",
        )
        .await;
        assert_eq!(sent.ok(), Some(2));
        let calls = AtomicU32::new(0);
        let refused: Result<(), _> = with_retries(
            || {
                calls.fetch_add(1, Ordering::SeqCst);
                async { Err(RequestError::Api(ApiError::BotBlocked)) }
            },
            "",
        )
        .await;
        assert!(refused.is_err());
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

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
