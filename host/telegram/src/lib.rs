//! # The Telegram edge
//!
//! Everything that speaks the Bot API and is the same for every product (the
//! shop now, the support desk next): the client, how updates arrive (long
//! polling or a webhook, both through one durable inbox in the store), the
//! per-chat in-order dispatcher, Telegram's flood limits on what goes out,
//! and text: HTML escaping, cutting to Telegram's limits, Fluent locales.
//!
//! # Layout
//! - [`settings`]: `[telegram]`, validated.
//! - [`client`]: the Bot API client, token redaction, retries, the polling loop.
//! - [`webhook`]: webhook mode: the secret check, then the inbox.
//! - [`inbox`]: the durable inbox both modes write to before confirming.
//! - [`dispatch`]: one update per chat at a time, in order, with done-marks,
//!   a panicking handler isolated.
//! - [`outgoing`]: Telegram's flood limits for everything the bot sends.
//! - [`text`]: escaping, cutting and formatting text for Telegram.
//! - [`i18n`]: customer-facing texts from Fluent locale files (uk, en).

pub mod client;
pub mod dispatch;
pub mod i18n;
pub mod inbox;
pub mod outgoing;
pub mod settings;
pub mod text;
pub mod webhook;
