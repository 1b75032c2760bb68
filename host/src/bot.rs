//! The customer dialogue over Telegram.
//!
//! # Layout
//! - [`i18n`]: customer-facing texts from Fluent locale files (uk, en).
//! - [`text`]: escaping and cutting text for Telegram.
//! - [`phone`]: phone numbers to E.164.
//! - [`telegram`]: the Bot API client, token redaction, the polling loop.
//! - [`callback`]: inline-button data that fits 64 bytes and resists tampering.
//! - [`state`]: where a chat is in the dialogue (stored as JSON).
//! - [`dialogue`]: the handlers: one update in, replies out, state stored.
//! - [`keyboards`]: the dialogue's inline and reply keyboards.
//! - [`service`]: starting the dialogue: store, client, commands, update loop.
//! - [`webhook`]: webhook mode: the secret check and in-order handling per chat.
//! - [`delivery`]: delivery estimates from a distance tariff.
//! - [`catalog`]: the cached catalog of the active CRM plugin, with paging and search.

pub mod callback;
pub mod catalog;
pub mod delivery;
pub mod dialogue;
pub mod dispatch;
pub mod followup;
pub mod i18n;
pub mod keyboards;
pub mod outgoing;
pub mod phone;
pub mod service;
pub mod state;
pub mod telegram;
pub mod text;
pub mod webhook;
