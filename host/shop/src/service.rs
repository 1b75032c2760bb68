//! Starts the dialogue: the store, the client, the commands menu, the
//! catalog cache, and the update loop.

use std::sync::Arc;

use secrecy::ExposeSecret;

use teloxide::payloads::{SetMyCommandsSetters, SetWebhookSetters};
use teloxide::prelude::Requester;
use teloxide::types::{AllowedUpdate, BotCommand, Update};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::callback::Codec;
use crate::catalog::Catalog;
use crate::delivery::Tariff;
use crate::dialogue::Dialogue;
use crate::phone::CountryCode;
use crate::settings::ShopSettings;
use switchboard_outbox::{Outbox, RetryPolicy};
use switchboard_plugin_runtime::Registry;
use switchboard_store::Store;
use switchboard_telegram::client::{self as telegram, redact};
use switchboard_telegram::i18n::{Locale, Texts};
use switchboard_telegram::settings::{TelegramSettings, UpdateMode};

/// The store setting holding the secret that signs inline buttons; kept so
/// buttons stay valid across restarts.
const CALLBACK_SECRET_SETTING: &str = "bot.callback_secret";

/// The commands shown in Telegram's menu.
const COMMANDS: [&str; 7] = [
    "start", "catalog", "cart", "status", "cancel", "help", "stop",
];

/// Why the dialogue could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] switchboard_store::StoreError),
    /// The client could not be built.
    #[error(transparent)]
    Client(#[from] telegram::ClientError),
    /// The Bot API refused the token or could not be reached.
    #[error("the Bot API at {api_url} refused getMe: {reason}")]
    GetMe {
        /// The server.
        api_url: String,
        /// Why (token redacted).
        reason: String,
    },
    /// The business's text overrides are invalid.
    #[error("config key `shop.locales_dir`: {0}")]
    Texts(#[from] switchboard_telegram::i18n::I18nError),
    /// A shop setting is invalid.
    #[error("config key `{key}`: {reason}")]
    Setting {
        /// The key.
        key: &'static str,
        /// Why.
        reason: String,
    },
    /// The webhook could not be set up.
    #[error("webhook: {0}")]
    Webhook(String),
}

/// Everything the dialogue is started with.
pub struct Parts {
    /// `[telegram]`.
    pub telegram: TelegramSettings,
    /// `[shop]`.
    pub shop: ShopSettings,
    /// The delivery tariff, if any.
    pub tariff: Option<Tariff>,
    /// The store.
    pub store: Store,
    /// The CRM plugins.
    pub registry: Arc<Registry>,
    /// How the outbox worker retries leads the CRM did not take at once.
    pub retry: RetryPolicy,
}

async fn callback_secret(store: &Store) -> Result<Vec<u8>, StartError> {
    if let Some(hex_secret) = store.setting(CALLBACK_SECRET_SETTING).await?
        && let Ok(secret) = hex::decode(hex_secret)
        && secret.len() >= 16
    {
        return Ok(secret);
    }
    let secret: [u8; 32] = rand::random();
    store
        .set_setting(CALLBACK_SECRET_SETTING, &hex::encode(secret))
        .await?;
    Ok(secret.to_vec())
}

/// Starts the dialogue; the returned task runs until `stop` turns true.
pub async fn start(
    parts: Parts,
    stop: watch::Receiver<bool>,
) -> Result<JoinHandle<()>, StartError> {
    start_on(parts, stop, None).await
}

/// [`start`], with webhook mode serving on `listener` (already bound, e.g.
/// to port 0 by a test) instead of binding `telegram.listen`.
pub async fn start_on(
    parts: Parts,
    stop: watch::Receiver<bool>,
    listener: Option<tokio::net::TcpListener>,
) -> Result<JoinHandle<()>, StartError> {
    let token = parts.telegram.token.expose_secret().to_string();
    let bot = telegram::client(&parts.telegram)?;
    let me = bot.get_me().await.map_err(|e| StartError::GetMe {
        api_url: parts.telegram.api_url.clone(),
        reason: redact(&e.to_string(), &token),
    })?;
    let default_locale = parts
        .shop
        .language
        .as_deref()
        .and_then(Locale::parse)
        .unwrap_or_default();
    let texts = match &parts.shop.locales_dir {
        Some(dir) => Texts::with_overrides(default_locale, std::path::Path::new(dir))?,
        None => Texts::new(default_locale),
    };
    for locale in Locale::ALL {
        let commands: Vec<BotCommand> = COMMANDS
            .iter()
            .map(|c| BotCommand::new(*c, texts.get(locale, &format!("cmd-{c}"), &[])))
            .collect();
        let mut request = bot.set_my_commands(commands);
        if locale != default_locale {
            request = request.language_code(locale.as_str());
        }
        if let Err(e) = request.await {
            // The bot works without its command menu.
            tracing::warn!(error = %redact(&e.to_string(), &token), "setMyCommands failed");
        }
    }
    let country =
        CountryCode::parse(&parts.shop.phone_country).map_err(|e| StartError::Setting {
            key: "shop.phone_country",
            reason: e.to_string(),
        })?;
    let codec = Codec::new(&callback_secret(&parts.store).await?);
    let catalog = Catalog::new(
        Arc::clone(&parts.registry),
        parts.store.clone(),
        parts.shop.catalog_ttl,
    );
    let outgoing = Arc::new(switchboard_telegram::outgoing::Outgoing::new(
        parts.telegram.limits,
    ));
    let followup_wake = Arc::new(tokio::sync::Notify::new());
    let outbox = Outbox::new(
        parts.store.clone(),
        Arc::clone(&parts.registry),
        parts.retry,
        Arc::clone(&followup_wake),
    );
    let dialogue = Arc::new(Dialogue {
        bot: bot.clone(),
        store: parts.store.clone(),
        registry: parts.registry,
        catalog,
        texts: Arc::new(texts),
        codec,
        country,
        tariff: parts.tariff,
        delivery_text: parts.shop.delivery_text.clone(),
        token: token.clone(),
        bot_username: me.username.clone().unwrap_or_default(),
        shop: parts.shop.clone(),
        outbox: outbox.waker(),
        retry: parts.retry,
        outgoing: Arc::clone(&outgoing),
    });
    let followups = crate::followup::FollowUps {
        bot: bot.clone(),
        store: parts.store.clone(),
        texts: Arc::clone(&dialogue.texts),
        shop: parts.shop,
        token: token.clone(),
        outgoing,
    };
    let background = vec![
        tokio::spawn(outbox.run(stop.clone())),
        tokio::spawn(followups.run(followup_wake, stop.clone())),
    ];
    let handler = move |update: Update| {
        let dialogue = Arc::clone(&dialogue);
        async move { dialogue.handle(update).await }
    };
    let username = me.username.clone().unwrap_or_default();
    match parts.telegram.mode {
        UpdateMode::Polling => {
            // A webhook left from an earlier run would make getUpdates fail.
            if let Err(e) = bot.delete_webhook().await {
                tracing::warn!(error = %redact(&e.to_string(), &token), "deleteWebhook failed");
            }
            tracing::info!(bot = %username, "Telegram dialogue started (polling)");
            let updates = tokio::spawn(telegram::poll(bot, parts.store, token, handler, stop));
            Ok(join_all(updates, background))
        }
        UpdateMode::Webhook {
            listen,
            public_url,
            secret_token,
        } => {
            let url = reqwest::Url::parse(&public_url)
                .map_err(|e| StartError::Webhook(format!("telegram.public_url: {e}")))?;
            let listener = match listener {
                Some(listener) => listener,
                None => tokio::net::TcpListener::bind(listen).await.map_err(|e| {
                    StartError::Webhook(format!("telegram.listen: cannot bind {listen}: {e}"))
                })?,
            };
            let inbox =
                Arc::new(switchboard_telegram::inbox::Inbox::open(parts.store, handler).await);
            let router = switchboard_telegram::webhook::router(
                url.path(),
                secret_token.expose_secret(),
                Arc::clone(&inbox),
            );
            bot.set_webhook(url)
                .secret_token(secret_token.expose_secret())
                .allowed_updates(vec![AllowedUpdate::Message, AllowedUpdate::CallbackQuery])
                .await
                .map_err(|e| StartError::Webhook(redact(&e.to_string(), &token)))?;
            tracing::info!(bot = %username, listen = %listen, "Telegram dialogue started (webhook)");
            let mut stop = stop;
            let updates = tokio::spawn(async move {
                let shutdown = async move {
                    let _ = stop.wait_for(|s| *s).await;
                };
                if let Err(e) = axum::serve(listener, router)
                    .with_graceful_shutdown(shutdown)
                    .await
                {
                    tracing::error!(error = %e, "the webhook server stopped");
                }
                // The server is gone, so this is the last holder.
                match Arc::try_unwrap(inbox) {
                    Ok(inbox) => inbox.close(telegram::DRAIN_LIMIT).await,
                    Err(_) => tracing::warn!(
                        "the webhook inbox is still shared at shutdown; updates in flight run again at the next start"
                    ),
                }
            });
            Ok(join_all(updates, background))
        }
    }
}

/// One handle for the update loop and the background tasks: it finishes
/// when the updates in flight are done, then the outbox attempts in flight.
fn join_all(updates: JoinHandle<()>, background: Vec<JoinHandle<()>>) -> JoinHandle<()> {
    tokio::spawn(async move {
        if let Err(e) = updates.await {
            tracing::error!(error = %e, "the update loop failed");
        }
        for task in background {
            if let Err(e) = task.await {
                tracing::error!(error = %e, "a background task failed");
            }
        }
    })
}
