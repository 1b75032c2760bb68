//! The CRM data types the host and plugins exchange.
//!
//! These are the types of the `switchboard:crm@0.1.0` WIT package, generated
//! by `wasmtime::component::bindgen!`. When a `0.2` of the package appears,
//! this module becomes the host's own, version-independent types with
//! conversions from each supported WIT version.

use std::fmt;

pub use crate::plugin::bindings::switchboard::crm::types::{
    Contact, CrmError, Lead, LeadKind, LeadRef, LineItem, Money, Operations, PipelineStatus,
    PluginInfo, Product, ProductPage, StatusEvent,
};

impl CrmError {
    /// True when trying the same call later may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::RateLimited(_) | Self::Unavailable(_))
    }
}

impl Money {
    /// The amount as a decimal string (`"1299.50"`), exact.
    pub fn to_decimal_string(&self) -> String {
        let scale = u32::from(self.scale.min(18));
        if scale == 0 {
            return self.minor_units.to_string();
        }
        let divisor = 10u64.pow(scale);
        let abs = self.minor_units.unsigned_abs();
        let sign = if self.minor_units < 0 { "-" } else { "" };
        format!(
            "{sign}{}.{:0width$}",
            abs / divisor,
            abs % divisor,
            width = scale as usize
        )
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.to_decimal_string(), self.currency)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_renders_exactly() {
        let m = Money {
            minor_units: -129_905,
            scale: 2,
            currency: "UAH".into(),
        };
        assert_eq!(m.to_string(), "-1299.05 UAH");
        let m = Money {
            minor_units: 7,
            scale: 0,
            currency: "JPY".into(),
        };
        assert_eq!(m.to_string(), "7 JPY");
    }
}
