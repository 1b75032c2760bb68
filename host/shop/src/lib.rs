//! # The shop
//!
//! The customer dialogue of a Telegram shop: browse the catalog, fill a cart,
//! order with a phone number, leave feedback or ask a question, check an
//! order's status. Updates arrive through `switchboard-telegram`; leads go to
//! the CRM through the store's outbox (`switchboard-outbox`).
//!
//! # Layout
//! - [`settings`]: `[shop]`, validated.
//! - [`state`]: where a chat is in the dialogue (stored as JSON).
//! - [`callback`]: inline-button data that fits 64 bytes and resists tampering.
//! - [`route`]: what a message means where the chat stands (pure, unit-tested).
//! - [`flow`]: the flows as pure steps: (chat, facts, event) to writes and effects.
//! - [`dialogue`]: the runner: loads facts, commits a step's writes together, carries out its effects.
//! - [`keyboards`]: the dialogue's inline and reply keyboards.
//! - [`catalog`]: the cached catalog of the active CRM plugin, with paging and search.
//! - [`phone`]: phone numbers to E.164.
//! - [`delivery`]: delivery estimates from a distance tariff.
//! - [`followup`]: telling a customer their order's number once the CRM has it.
//! - [`service`]: starting the shop: store, client, commands, update loop.

pub mod callback;
pub mod catalog;
pub mod delivery;
pub mod dialogue;
pub mod flow;
pub mod followup;
pub mod keyboards;
pub mod phone;
pub mod route;
pub mod service;
pub mod settings;
pub mod state;
