//! The customer dialogue over Telegram.
//!
//! # Layout
//! - [`i18n`]: customer-facing texts from Fluent locale files (uk, en).
//! - [`text`]: escaping and cutting text for Telegram.
//! - [`phone`]: phone numbers to E.164.
//! - [`callback`]: inline-button data that fits 64 bytes and resists tampering.
//! - [`delivery`]: delivery estimates from a distance tariff.

pub mod callback;
pub mod delivery;
pub mod i18n;
pub mod phone;
pub mod text;
