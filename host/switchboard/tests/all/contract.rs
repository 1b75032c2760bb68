//! Contract versions side by side: a component built against a newer patch
//! of a served WIT version (`plugins/contract-next`, a hypothetical
//! `switchboard:crm@0.1.1` with one added function) loads through the
//! `since_v0_1_0` module and serves every call; a version the host does not
//! serve is refused with the versions it does.

use switchboard::config::PluginSettings;
use switchboard_crm::{Contact, Lead, LeadKind};
use switchboard_plugin_runtime::contract;
use switchboard_plugin_runtime::{LoadError, LoadedPlugin};

use crate::support::{dist, runtime};

fn settings() -> PluginSettings {
    PluginSettings::new("contract-next", dist("contract-next.wasm"))
}

#[tokio::test]
async fn a_component_of_a_newer_patch_loads_and_serves_every_call() {
    let plugin = LoadedPlugin::load(&runtime(), &settings(), None)
        .await
        .unwrap_or_else(|e| panic!("a 0.1.1 component must load on a 0.1 host: {e}"));
    assert_eq!(plugin.manifest.wit, "0.1.1");
    assert_eq!(plugin.info.id, "contract-next");
    let products = plugin
        .list_all_products(2, 10)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let names: Vec<&str> = products.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "Product 1 (contract 0.1.1)",
            "Product 2 (contract 0.1.1)",
            "Product 3 (contract 0.1.1)"
        ]
    );
    assert_eq!(products[1].price.to_string(), "200.00 UAH");
    let one = plugin
        .get_product("next-3")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(one.id, "next-3");
    let lead = Lead {
        idempotency_key: "k-1".into(),
        kind: LeadKind::Feedback,
        contact: Contact {
            full_name: "Тест".into(),
            phone: None,
            email: None,
            telegram_user_id: Some(1),
            telegram_username: None,
        },
        title: "feedback".into(),
        comment: Some("ok".into()),
        source: "telegram".into(),
    };
    let created = plugin
        .create_lead(&lead)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(created.id, "next-k-1");
}

#[tokio::test]
async fn a_version_the_host_does_not_serve_is_refused_with_the_ones_it_does() {
    assert_eq!(contract::supported(), "0.1.x");
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let wasm = dir.path().join("contract-next.wasm");
    std::fs::copy(dist("contract-next.wasm"), &wasm).unwrap_or_else(|e| panic!("{e}"));
    let manifest = std::fs::read_to_string(dist("contract-next.toml"))
        .unwrap_or_else(|e| panic!("{e}"))
        .replace("wit = \"0.1.1\"", "wit = \"0.2.0\"");
    std::fs::write(dir.path().join("contract-next.toml"), manifest)
        .unwrap_or_else(|e| panic!("{e}"));
    let err = LoadedPlugin::load(
        &runtime(),
        &PluginSettings::new("contract-next", &wasm),
        None,
    )
    .await
    .err()
    .unwrap_or_else(|| panic!("a 0.2.0 manifest must be refused"));
    assert!(
        matches!(&err, LoadError::IncompatibleWit { found, supported, .. } if found == "0.2.0" && supported == "0.1.x"),
        "{err}"
    );
}
