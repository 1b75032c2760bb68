//! # Switchboard plugin SDK
//!
//! Write a Switchboard CRM plugin in Rust: implement [`Crm`] for a type and
//! call [`register_plugin!`] once. Build with
//! `cargo build --target wasm32-wasip2 --release`; the `cdylib` is a component.
//!
//! # Layout
//! - [`bindings`]: the generated WIT bindings (`switchboard:crm@0.1.0`, world `crm`).
//! - [`http`]: a blocking HTTP client over `wasi:http/outgoing-handler`.
//! - [`errors`]: mapping HTTP answers and transport failures to [`CrmError`].
//! - [`money`]: exact decimal parsing of prices into [`Money`], and exact
//!   sums and products for order totals.
//! - [`form`]: form and query-string encoding and decoding (webhooks, search
//!   parameters).
//! - [`lead_text`]: a lead as plain text for CRMs that keep order lines in a
//!   note or comment.
//! - [`config`] and [`log`]: the host's configuration and logging imports.

pub mod errors;
pub mod form;
pub mod http;
pub mod lead_text;
pub mod money;
pub mod time;

/// The generated bindings of the `crm` world. Prefer the re-exports at the
/// crate root; these are here for what they do not cover.
#[allow(missing_docs, clippy::all)]
pub mod bindings {
    wit_bindgen::generate!({
        world: "crm",
        path: "../../wit/since_v0.1.0",
        generate_all,
        pub_export_macro: true,
        default_bindings_module: "switchboard_plugin_sdk::bindings",
    });
}

pub use bindings::switchboard::crm::types::Lead;
pub use bindings::switchboard::crm::types::{
    Contact, CrmError, LeadKind, LeadRef, LineItem, Money, Operations, PipelineStatus, PluginInfo,
    Product, ProductPage, StatusEvent,
};
pub use serde_json;

/// The plugin's configuration as the operator set it.
pub mod config {
    use crate::CrmError;
    use crate::bindings::switchboard::crm::config as host;

    /// The value of `key`, if the operator set it to a non-empty string.
    pub fn get(key: &str) -> Option<String> {
        host::get(key).filter(|v| !v.trim().is_empty())
    }

    /// The value of `key`; an `invalid-request` error naming the key when it
    /// is missing (the host checks required keys at load, so this means the
    /// manifest and the code disagree).
    pub fn require(key: &str) -> Result<String, CrmError> {
        get(key).ok_or_else(|| CrmError::InvalidRequest(format!("config key `{key}` is not set")))
    }

    /// Every key the operator set.
    pub fn keys() -> Vec<String> {
        host::keys()
    }
}

/// What the host says about the current call (read through `config` under
/// the reserved `call.` prefix, which operators cannot set).
pub mod call {
    use crate::bindings::switchboard::crm::config as host;

    /// For `create-lead`: 1 on a lead's first offer to the CRM; 2 and up
    /// when an earlier attempt may have reached the CRM (its answer lost),
    /// so a plugin should look the idempotency key up before creating.
    /// Hosts older than this contract detail say nothing: 1.
    pub fn attempt() -> u32 {
        host::get("call.attempt")
            .and_then(|v| v.parse().ok())
            .unwrap_or(1)
    }

    /// For `create-lead`: when the lead was first offered (Unix ms), to
    /// bound a lookup of earlier attempts.
    pub fn first_attempt_unix_ms() -> Option<i64> {
        host::get("call.first-attempt-unix-ms").and_then(|v| v.parse().ok())
    }
}

/// Logging into the host's `tracing`, tagged with the plugin id.
///
/// In native builds (a plugin's unit tests) there is no host, so messages go
/// to stderr instead; decoding code may then log without breaking its tests.
pub mod log {
    #[cfg(target_arch = "wasm32")]
    use crate::bindings::switchboard::crm::log::{Level, log};

    #[cfg(not(target_arch = "wasm32"))]
    use crate::bindings::switchboard::crm::log::Level;

    #[cfg(not(target_arch = "wasm32"))]
    fn log(level: Level, message: &str) {
        eprintln!("[{level:?}] {message}");
    }

    /// Logs at debug level.
    pub fn debug(message: &str) {
        log(Level::Debug, message);
    }
    /// Logs at info level.
    pub fn info(message: &str) {
        log(Level::Info, message);
    }
    /// Logs at warn level.
    pub fn warn(message: &str) {
        log(Level::Warn, message);
    }
    /// Logs at error level.
    pub fn error(message: &str) {
        log(Level::Error, message);
    }
}

/// The error a plugin returns for an operation it does not implement.
pub fn unsupported(operation: &str) -> CrmError {
    CrmError::Unsupported(format!("{operation} is not supported by this plugin"))
}

/// A CRM integration. `info`, `list_products` and `create_lead` are required;
/// the other operations default to `unsupported` (and must then be left out
/// of `info().operations`).
pub trait Crm {
    /// See `plugin.info` in the WIT reference.
    fn info() -> PluginInfo;
    /// See `plugin.list-products`.
    fn list_products(cursor: Option<String>, limit: u32) -> Result<ProductPage, CrmError>;
    /// See `plugin.get-product`.
    fn get_product(_id: String) -> Result<Product, CrmError> {
        Err(unsupported("get-product"))
    }
    /// See `plugin.create-lead`.
    fn create_lead(lead: Lead) -> Result<LeadRef, CrmError>;
    /// See `plugin.lead-status`.
    fn lead_status(_id: String) -> Result<PipelineStatus, CrmError> {
        Err(unsupported("lead-status"))
    }
    /// See `plugin.handle-webhook`.
    fn handle_webhook(
        _headers: Vec<(String, String)>,
        _body: Vec<u8>,
    ) -> Result<Vec<StatusEvent>, CrmError> {
        Err(unsupported("handle-webhook"))
    }
}

/// Exports a type implementing [`Crm`] as the component's `plugin` interface.
///
/// ```ignore
/// struct MyCrm;
/// impl switchboard_plugin_sdk::Crm for MyCrm { /* … */ }
/// switchboard_plugin_sdk::register_plugin!(MyCrm);
/// ```
#[macro_export]
macro_rules! register_plugin {
    ($plugin:ty) => {
        // Component exports only exist on wasm; a native build of the plugin
        // crate (for its unit tests) has none.
        #[cfg(target_arch = "wasm32")]
        #[doc(hidden)]
        mod __switchboard_export {
            #[allow(unused_imports)]
            use super::*;

            pub struct __SwitchboardExport;

            impl $crate::bindings::exports::switchboard::crm::plugin::Guest for __SwitchboardExport {
                fn info() -> $crate::PluginInfo {
                    <$plugin as $crate::Crm>::info()
                }
                fn list_products(
                    cursor: Option<String>,
                    limit: u32,
                ) -> Result<$crate::ProductPage, $crate::CrmError> {
                    <$plugin as $crate::Crm>::list_products(cursor, limit)
                }
                fn get_product(id: String) -> Result<$crate::Product, $crate::CrmError> {
                    <$plugin as $crate::Crm>::get_product(id)
                }
                fn create_lead(lead: $crate::Lead) -> Result<$crate::LeadRef, $crate::CrmError> {
                    <$plugin as $crate::Crm>::create_lead(lead)
                }
                fn lead_status(id: String) -> Result<$crate::PipelineStatus, $crate::CrmError> {
                    <$plugin as $crate::Crm>::lead_status(id)
                }
                fn handle_webhook(
                    headers: Vec<(String, String)>,
                    body: Vec<u8>,
                ) -> Result<Vec<$crate::StatusEvent>, $crate::CrmError> {
                    <$plugin as $crate::Crm>::handle_webhook(headers, body)
                }
            }

            $crate::bindings::export!(__SwitchboardExport with_types_in $crate::bindings);
        }

        /// The plugin's operations, reachable in native builds (unit tests).
        #[cfg(not(target_arch = "wasm32"))]
        #[doc(hidden)]
        pub fn __switchboard_native_entry_points() {
            let _ = <$plugin as $crate::Crm>::info;
            let _ = <$plugin as $crate::Crm>::list_products;
            let _ = <$plugin as $crate::Crm>::get_product;
            let _ = <$plugin as $crate::Crm>::create_lead;
            let _ = <$plugin as $crate::Crm>::lead_status;
            let _ = <$plugin as $crate::Crm>::handle_webhook;
        }
    };
}
