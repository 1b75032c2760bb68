//! Simulated third-party services for Switchboard's integration tests and demos.
//!
//! # Layout
//! - [`keycrm`]: a KeyCRM v1 API server on loopback (catalog, pipelines, cards, fault injection).

#![warn(missing_docs)]

pub mod keycrm;

pub use keycrm::{
    Fault, KeyCrmConfig, KeyCrmSim, RecordedRequest, SimOffer, SimProduct, SimProperty,
};
