//! Simulated third-party services for Switchboard's integration tests and demos.
//!
//! # Layout
//! - [`keycrm`]: a KeyCRM v1 API server on loopback (catalog, pipelines, cards, fault injection).
//! - [`amocrm`]: an amoCRM (Kommo) API v4 server on loopback (catalog list, leads, notes,
//!   pipelines, search, status webhooks).
//! - [`bitrix24`]: a Bitrix24 REST server with incoming-webhook authentication (products,
//!   leads, statuses, `ONCRMLEADUPDATE` events).
//! - `server`: the hyper accept loop all three run, and the faults that need the socket.
//! - `fault`: [`Fault`] and the queue of injected faults.
//! - `record`: [`RecordedRequest`] and query-string decoding.
//! - `form`: nested form keys (`fields[PHONE][0][VALUE]`) to JSON and back.
//! - `reply`: the answer an endpoint produces before it becomes a hyper response.
//! - `rate_limit`: the sliding-window limiter of KeyCRM and amoCRM.
//! - `clock`, `money`: timestamps and kopecks in each CRM's format.

#![warn(missing_docs)]

pub mod amocrm;
pub mod bitrix24;
mod clock;
mod fault;
mod form;
pub mod keycrm;
mod money;
mod rate_limit;
mod record;
mod reply;
mod server;
pub mod webhook;

pub use amocrm::{AmoCrmConfig, AmoCrmSim};
pub use bitrix24::{Bitrix24Config, Bitrix24Sim};

pub use keycrm::{
    Fault, KeyCrmConfig, KeyCrmSim, RecordedRequest, SimOffer, SimProduct, SimProperty,
};
