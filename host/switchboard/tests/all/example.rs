//! The annotated example config stays valid and loads the real plugin.

use switchboard::app::App;
use switchboard::config::Config;

use crate::support::root;

#[tokio::test]
async fn the_example_config_loads_and_activates_keycrm_offline() {
    // SAFETY: these variables are only read by this test's config loads.
    unsafe {
        std::env::set_var("KEYCRM_API_KEY", "example-key");
        std::env::set_var("SWITCHBOARD_ADMIN_TOKEN", "example-admin-token-123");
        std::env::set_var("TELEGRAM_BOT_TOKEN", "123456:example-token-abc");
    }
    let path = root().join("switchboard.example.toml");
    let config = Config::load(&path).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(config.active, "keycrm");
    let keycrm = config.active_plugin();
    assert_eq!(keycrm.path, root().join("plugins/dist/keycrm.wasm"));
    assert_eq!(keycrm.config["source_id"], "1");
    assert_eq!(keycrm.config["api_key"], "example-key");
    assert!(config.admin.is_some());
    assert!(config.telegram.is_some());
    assert_eq!(
        config.storage_url,
        format!("sqlite://{}", root().join("switchboard.db").display())
    );
    assert!(config.shop.delivery_text.is_some());

    // Activation only calls info(), which makes no request: it works offline.
    let app = App::start(path).await.unwrap_or_else(|e| panic!("{e:#}"));
    let active = app.registry().active().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(active.info.name, "KeyCRM");
    assert_eq!(active.manifest.allowed_hosts, ["openapi.keycrm.app"]);
}
