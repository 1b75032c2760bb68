//! Errors of loading a plugin and of calling one.

use std::path::PathBuf;

use switchboard_crm::CrmError;

/// Why a component was refused. The previous plugin stays active.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The component file could not be read.
    #[error("cannot read plugin {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The manifest is missing or invalid.
    #[error("plugin manifest {path}: {reason}")]
    Manifest {
        /// The manifest file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The file is not a WebAssembly component wasmtime can compile.
    #[error("{path} is not a valid WebAssembly component: {reason}")]
    InvalidComponent {
        /// The file.
        path: PathBuf,
        /// The compiler's message.
        reason: String,
    },
    /// The component targets a WIT version this host does not implement.
    #[error("plugin `{id}` targets switchboard:crm@{found}; this host implements {supported}")]
    IncompatibleWit {
        /// The plugin id.
        id: String,
        /// The version it targets.
        found: String,
        /// The version the host implements.
        supported: String,
    },
    /// The component does not export the plugin interface.
    #[error(
        "{path} does not implement the `crm` world: it exports no `{wanted}` (it exports: {exports})"
    )]
    WrongWorld {
        /// The file.
        path: PathBuf,
        /// The interface the host needs.
        wanted: String,
        /// What it exports instead.
        exports: String,
    },
    /// The component imports something the sandbox does not provide.
    #[error("plugin `{id}` cannot be linked: {reason}")]
    Link {
        /// The plugin id.
        id: String,
        /// The linker's message (names the missing import).
        reason: String,
    },
    /// The configuration does not fit the manifest.
    #[error("config key `{key}`: {reason}")]
    Config {
        /// The dotted key.
        key: String,
        /// Why.
        reason: String,
    },
    /// The manifest's id is not the configured one.
    #[error("plugin manifest {path} declares id `{found}`, but it is configured as `{expected}`")]
    IdMismatch {
        /// The manifest.
        path: PathBuf,
        /// The configured id.
        expected: String,
        /// The manifest's id.
        found: String,
    },
    /// `info()` failed or disagrees with the manifest.
    #[error("plugin `{id}` failed its self-check: {reason}")]
    SelfCheck {
        /// The plugin id.
        id: String,
        /// What went wrong.
        reason: String,
    },
    /// No such plugin in the configuration.
    #[error("no plugin `{0}` is configured (add a [plugins.{0}] section)")]
    Unknown(String),
    /// The compiled-code cache failed in a way that prevents loading.
    #[error("compiling plugin {path}: {reason}")]
    Compile {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}

/// Why a call into a plugin failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum CallError {
    /// The plugin ran and answered with a typed CRM error.
    #[error("plugin `{plugin}`: {error}")]
    Crm {
        /// The plugin id.
        plugin: String,
        /// The plugin's error.
        error: CrmError,
    },
    /// The call ran past its deadline and was stopped.
    #[error("plugin `{plugin}` did not finish {operation} within {timeout_ms} ms")]
    Timeout {
        /// The plugin id.
        plugin: String,
        /// The operation.
        operation: &'static str,
        /// The deadline.
        timeout_ms: u64,
    },
    /// The instance tried to grow its memory past the limit and then trapped.
    #[error("plugin `{plugin}` ran out of memory in {operation} (limit {limit_mib} MiB)")]
    OutOfMemory {
        /// The plugin id.
        plugin: String,
        /// The operation.
        operation: &'static str,
        /// The limit.
        limit_mib: u64,
    },
    /// The instance trapped (a panic, `unreachable`, a bad memory access).
    #[error("plugin `{plugin}` crashed in {operation}: {reason}")]
    Trap {
        /// The plugin id.
        plugin: String,
        /// The operation.
        operation: &'static str,
        /// The trap message.
        reason: String,
    },
    /// No instance could be created (the instance pool is exhausted).
    #[error("plugin `{plugin}` could not be started for {operation}: {reason}")]
    Instantiate {
        /// The plugin id.
        plugin: String,
        /// The operation.
        operation: &'static str,
        /// Why.
        reason: String,
    },
    /// No plugin is active.
    #[error("no CRM plugin is active")]
    NoActivePlugin,
    /// The circuit breaker refused the call: the CRM failed repeatedly or
    /// asked for a pause.
    #[error(
        "plugin `{plugin}`: {operation} not attempted, CRM calls are paused for {retry_in_ms} ms after repeated failures"
    )]
    CircuitOpen {
        /// The plugin id.
        plugin: String,
        /// The operation.
        operation: &'static str,
        /// How long until a call is tried again.
        retry_in_ms: u64,
    },
}

impl CallError {
    /// The CRM error, when the plugin returned one.
    pub fn crm_error(&self) -> Option<&CrmError> {
        match self {
            Self::Crm { error, .. } => Some(error),
            _ => None,
        }
    }

    /// True when the plugin itself failed (trap, deadline, memory), as
    /// opposed to answering with a CRM error. Such failures count against
    /// the plugin's health.
    pub fn is_plugin_fault(&self) -> bool {
        matches!(
            self,
            Self::Timeout { .. } | Self::OutOfMemory { .. } | Self::Trap { .. }
        )
    }
}
