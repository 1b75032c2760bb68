//! # Switchboard
//!
//! The `switchboard` binary: a host for Telegram shop and support bots whose
//! CRM integrations are sandboxed WebAssembly components (the
//! `switchboard:crm` WIT world). This crate parses the config, wires the
//! crates below together and serves the command line and the admin
//! endpoint; the work itself lives in those crates:
//!
//! ```text
//! switchboard (this crate: CLI, config, wiring, admin)
//!  ├─ switchboard-shop            the shop's dialogue
//!  │   ├─ switchboard-telegram    Bot API client, ingress, limits, texts
//!  │   └─ switchboard-outbox      delivering leads to the CRM
//!  ├─ switchboard-plugin-runtime  the wasmtime sandbox, contract versions
//!  ├─ switchboard-store           SQLite / PostgreSQL
//!  ├─ switchboard-crm             the CRM domain types
//!  └─ switchboard-ratelimit       request budgets
//! ```
//!
//! `docs/architecture.md` walks through it.
//!
//! # Layout
//! - [`config`]: the TOML configuration, secret indirection and validation.
//! - [`app`]: wiring for `switchboard run`: config reloads, SIGHUP, shutdown.
//! - [`admin`]: the operator's HTTP endpoint (plugin status and activation).
//! - [`cli`]: the command line (`run`, `demo`, `plugin inspect`, `plugin call`).
//! - [`check`]: `switchboard plugin check`, the conformance suite of the contract.
//! - [`demo`]: `switchboard demo`, the shop against simulated Telegram and
//!   KeyCRM (feature `simulators`).
//! - [`json`]: JSON renderings of CRM values for the CLI and the admin API.
//! - [`scaffold`]: `switchboard plugin new`.

pub mod admin;
pub mod app;
pub mod check;
pub mod cli;
pub mod config;
#[cfg(feature = "simulators")]
pub mod demo;
pub mod json;
pub mod scaffold;
