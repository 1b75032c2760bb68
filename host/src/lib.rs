//! # Switchboard
//!
//! A host for Telegram shop and support bots whose CRM integrations are
//! sandboxed WebAssembly components (the `switchboard:crm` WIT world).
//!
//! # Layout
//! - [`config`]: the TOML configuration, secret indirection and validation.
//! - [`crm`]: the CRM data types the host and plugins exchange.
//! - [`plugin`]: the wasmtime runtime, the sandbox, manifests and the registry
//!   of the active CRM plugin.
//! - [`admin`]: the operator's HTTP endpoint (plugin status and activation).
//! - [`bot`]: the customer dialogue over Telegram.
//! - [`app`]: wiring for `switchboard run`: config reloads, SIGHUP, shutdown.
//! - [`clock`]: calendar dates from Unix time.
//! - [`check`]: `switchboard plugin check`, the conformance suite of the contract.
//! - [`cli`]: the command line (`run`, `demo`, `plugin inspect`, `plugin call`).
//! - [`demo`]: `switchboard demo`, the runtime against a simulated KeyCRM.
//! - [`json`]: JSON renderings of CRM values for the CLI and the admin API.
//! - [`outbox`]: the worker that delivers confirmed leads to the CRM.
//! - [`scaffold`]: `switchboard plugin new`.
//! - [`store`]: the durable store (SQLite or PostgreSQL): customers, dialogues,
//!   carts, the lead outbox, catalog snapshots.

pub mod admin;
pub mod app;
pub mod bot;
pub mod check;
pub mod cli;
pub mod clock;
pub mod config;
pub mod crm;
pub mod demo;
pub mod json;
pub mod outbox;
pub mod plugin;
pub mod scaffold;
pub mod store;
