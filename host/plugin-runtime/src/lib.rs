//! # The plugin runtime
//!
//! CRM plugins: WebAssembly components run in a sandbox.
//!
//! # Execution model
//! Each component is compiled once per process (and cached on disk by
//! content hash), linked once into an `InstancePre`, and then **instantiated
//! afresh for every call**. A call therefore never sees memory left by a
//! call made for another customer, and a trap, a timeout or an exhausted
//! memory limit only ever ruins the instance it happened in. With the
//! pooling allocator a fresh instance costs tens of microseconds.
//!
//! # Layout
//! - [`contract`]: the contract versions served side by side.
//! - [`settings`]: how a plugin is loaded and sandboxed (`[plugins.<id>]`).
//! - [`since_v0_1_0`]: the `switchboard:crm@0.1.0` world: its `bindgen!`
//!   output and the conversions into the host's own types
//!   (`switchboard-crm`).
//! - [`manifest`]: the plugin manifest (`<plugin>.toml` next to the `.wasm`).
//! - [`policy`]: which hosts a plugin may reach.
//! - [`breaker`]: per-plugin circuit breaker.
//! - [`sandbox`]: the per-call store state and the outbound HTTP hook.
//! - [`runtime`]: the engine, the epoch ticker and the compile cache.
//! - [`loaded`]: a linked plugin and its calls.
//! - [`registry`]: the active plugin and runtime swaps.
//! - [`error`]: load and call errors.

pub mod breaker;
pub mod contract;
pub mod error;
pub mod loaded;
pub mod manifest;
pub mod policy;
pub mod registry;
pub mod runtime;
pub mod sandbox;
pub mod settings;
pub mod since_v0_1_0;

pub use error::{CallError, LoadError};
pub use loaded::LoadedPlugin;
pub use registry::Registry;
pub use runtime::Runtime;
