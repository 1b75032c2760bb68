//! The contract versions this host serves side by side.
//!
//! Each `switchboard:crm` WIT package version the host understands has a
//! module (`since_v0_1_0`, …) with its own bindings and its conversions into
//! the host's types, and a variant here. A component is served by the
//! module whose `MIN..=MAX` range holds the version of the
//! `switchboard:crm/plugin` interface it exports. Adding a contract version
//! is a new module, a row in [`VERSIONS`] and a variant in each enum.

use wasmtime::Store;
use wasmtime::component::InstancePre;

use crate::sandbox::PluginState;
use crate::since_v0_1_0;
use switchboard_crm::{
    CrmError, Lead, LeadRef, PipelineStatus, PluginInfo, Product, ProductPage, StatusEvent,
};

/// The prefix of the plugin interface's name in every version.
pub const INTERFACE_PREFIX: &str = "switchboard:crm/plugin@";

/// One contract version module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContractVersion {
    /// Which module serves it.
    pub module: Module,
    /// The oldest package version it serves.
    pub min: semver::Version,
    /// The newest package version it serves.
    pub max: semver::Version,
    /// The plugin interface's name in the version it was written for.
    pub interface: &'static str,
}

/// The version modules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Module {
    /// `since_v0_1_0`: `switchboard:crm@0.1.x`.
    V0_1,
}

/// Every contract version this host serves, oldest first.
pub const VERSIONS: &[ContractVersion] = &[ContractVersion {
    module: Module::V0_1,
    min: since_v0_1_0::MIN,
    max: since_v0_1_0::MAX,
    interface: since_v0_1_0::INTERFACE,
}];

impl ContractVersion {
    /// Whether this module serves package version `v`.
    pub fn serves(&self, v: &semver::Version) -> bool {
        self.min <= *v && *v <= self.max
    }
}

/// The module that serves package version `version` (`"0.1.0"`; a manifest
/// may leave out the patch or minor: `"0.1"`), if any.
pub fn serving(version: &str) -> Option<&'static ContractVersion> {
    let version = version.trim();
    let padded = match version.matches('.').count() {
        0 => format!("{version}.0.0"),
        1 => format!("{version}.0"),
        _ => version.to_string(),
    };
    let v = semver::Version::parse(&padded).ok()?;
    VERSIONS.iter().find(|c| c.serves(&v))
}

/// The versions served, for messages: `0.1.x`.
pub fn supported() -> String {
    VERSIONS
        .iter()
        .map(|c| format!("{}.{}.x", c.min.major, c.min.minor))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The plugin interfaces served, for messages:
/// `switchboard:crm/plugin@0.1.0`.
pub fn interfaces() -> String {
    VERSIONS
        .iter()
        .map(|c| c.interface)
        .collect::<Vec<_>>()
        .join(" or ")
}

/// A component linked against its version's bindings, ready to instantiate.
pub(crate) enum GuestPre {
    V0_1(since_v0_1_0::CrmPre<PluginState>),
}

/// One live instance of a plugin, of whichever version.
pub(crate) enum Guest {
    V0_1(since_v0_1_0::Crm),
}

impl GuestPre {
    pub(crate) fn new(module: Module, pre: InstancePre<PluginState>) -> wasmtime::Result<Self> {
        match module {
            Module::V0_1 => since_v0_1_0::CrmPre::new(pre).map(Self::V0_1),
        }
    }

    pub(crate) async fn instantiate(
        &self,
        store: &mut Store<PluginState>,
    ) -> wasmtime::Result<Guest> {
        match self {
            Self::V0_1(pre) => pre.instantiate_async(store).await.map(Guest::V0_1),
        }
    }
}

type Answer<T> = wasmtime::Result<Result<T, CrmError>>;

impl Guest {
    pub(crate) async fn info(
        &self,
        store: &mut Store<PluginState>,
    ) -> wasmtime::Result<PluginInfo> {
        match self {
            Self::V0_1(g) => g.info(store).await,
        }
    }

    pub(crate) async fn list_products(
        &self,
        store: &mut Store<PluginState>,
        cursor: Option<&str>,
        limit: u32,
    ) -> Answer<ProductPage> {
        match self {
            Self::V0_1(g) => g.list_products(store, cursor, limit).await,
        }
    }

    pub(crate) async fn get_product(
        &self,
        store: &mut Store<PluginState>,
        id: &str,
    ) -> Answer<Product> {
        match self {
            Self::V0_1(g) => g.get_product(store, id).await,
        }
    }

    pub(crate) async fn create_lead(
        &self,
        store: &mut Store<PluginState>,
        lead: &Lead,
    ) -> Answer<LeadRef> {
        match self {
            Self::V0_1(g) => g.create_lead(store, lead).await,
        }
    }

    pub(crate) async fn lead_status(
        &self,
        store: &mut Store<PluginState>,
        id: &str,
    ) -> Answer<PipelineStatus> {
        match self {
            Self::V0_1(g) => g.lead_status(store, id).await,
        }
    }

    pub(crate) async fn handle_webhook(
        &self,
        store: &mut Store<PluginState>,
        headers: &[(String, String)],
        body: &[u8],
    ) -> Answer<Vec<StatusEvent>> {
        match self {
            Self::V0_1(g) => g.handle_webhook(store, headers, body).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_patch_of_a_served_minor_is_served() {
        assert_eq!(serving("0.1.0").map(|c| c.module), Some(Module::V0_1));
        assert_eq!(serving("0.1.7").map(|c| c.module), Some(Module::V0_1));
        assert_eq!(serving("0.1").map(|c| c.module), Some(Module::V0_1));
        assert_eq!(serving("0.2.0"), None);
        assert_eq!(serving("1.0.0"), None);
        assert_eq!(serving("zero"), None);
        assert_eq!(supported(), "0.1.x");
    }
}
