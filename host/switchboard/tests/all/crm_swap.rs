//! Switching the CRM from KeyCRM to Bitrix24 while customers are mid-dialogue:
//! no dialogue is interrupted, the catalog reloads from the new CRM, the
//! next order lands in Bitrix24, a cart line from KeyCRM's catalog is taken
//! out instead of being ordered from Bitrix24, and an order already in the
//! outbox still goes to KeyCRM, the CRM it was made for.

use std::time::Duration;

use switchboard::config::PluginSettings;
use switchboard_sim::Fault;
use switchboard_sim::bitrix24::{Bitrix24Config, Bitrix24Sim};
use switchboard_store::LeadState;

use crate::faults::{
    Told, WAIT, checkout, drained, plugin_settings, press, quick_policy, rig,
    wait_for_phone_request, wait_text,
};
use crate::support::dist;

fn bitrix24_settings(sim: &Bitrix24Sim) -> PluginSettings {
    let mut s = PluginSettings::new("bitrix24", dist("bitrix24.wasm"));
    s.allowed_hosts = Some(vec![sim.addr().to_string()]);
    s.allow_http_loopback = true;
    s.timeout = Duration::from_secs(5);
    s.config.insert("webhook_url".into(), sim.webhook_url());
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn switching_keycrm_to_bitrix24_mid_dialogue_interrupts_nobody() {
    let rig = rig(quick_policy(), |crm| plugin_settings(crm, false)).await;
    let bitrix = Bitrix24Sim::start(Bitrix24Config::with_catalog(50))
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    // A customer is mid-checkout with a KeyCRM product in the cart.
    let midway = rig.telegram.user(13_000, "Марта");
    midway.send_command("/catalog").await;
    let page = wait_text(&midway, &["сторінка 1"]).await;
    assert!(
        page.contains("сторінка 1 з 3"),
        "KeyCRM's 20 offers: {page}"
    );
    let first = midway
        .last_message()
        .and_then(|m| m.inline_buttons().first().map(|(t, _)| t.clone()))
        .unwrap_or_else(|| panic!("no catalog buttons"));
    press(&midway, &first).await;
    wait_text(&midway, &["Замовити зараз"]).await;
    press(&midway, "Замовити зараз").await;
    wait_for_phone_request(&midway).await;

    // Another customer's order waits in the outbox: KeyCRM is down.
    rig.crm
        .inject_for("/pipelines/cards", Fault::ServerError(503), None);
    let (waiting, told) = checkout(rig.telegram.user(13_001, "Остап")).await;
    assert_eq!(told, Told::Pending);

    // The operator switches to Bitrix24.
    rig.registry
        .activate(&bitrix24_settings(&bitrix))
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    // The customer mid-checkout goes on where they were. The KeyCRM product
    // in their cart means nothing to Bitrix24: it is taken out of the cart
    // and they are told, instead of an order reaching Bitrix24 under a
    // KeyCRM product id.
    midway.share_contact("+380501234567", true).await;
    let told = wait_text(&midway, &["Каталог магазину змінився"]).await;
    assert!(told.contains("позицій: 1"), "{told}");
    wait_text(&midway, &["кошик поки порожній"]).await;
    assert!(
        bitrix.leads().is_empty(),
        "nothing ordered under a foreign id"
    );

    // They order again from Bitrix24's catalog; their number was kept, so
    // the summary comes at once, and the order lands in Bitrix24.
    midway.send_command("/catalog").await;
    wait_text(&midway, &["сторінка 1 з 7"]).await;
    let first = midway
        .last_message()
        .and_then(|m| m.inline_buttons().first().map(|(t, _)| t.clone()))
        .unwrap_or_else(|| panic!("no catalog buttons"));
    press(&midway, &first).await;
    wait_text(&midway, &["Замовити зараз"]).await;
    press(&midway, "Замовити зараз").await;
    wait_text(&midway, &["Підтвердити"]).await;
    press(&midway, "Підтвердити").await;
    let done = wait_text(&midway, &["№", "невдовзі"]).await;
    assert!(done.contains("№"), "{done}");
    assert_eq!(bitrix.leads().len(), 1);
    assert_eq!(bitrix.leads()[0]["TITLE"], "Замовлення з Telegram");

    // The catalog now comes from Bitrix24 (50 products: 7 pages).
    let newcomer = rig.telegram.user(13_002, "Нова");
    newcomer.send_command("/catalog").await;
    let page = wait_text(&newcomer, &["сторінка 1"]).await;
    assert!(
        page.contains("сторінка 1 з 7"),
        "Bitrix24's 50 products: {page}"
    );

    // KeyCRM recovers: the waiting order goes to KeyCRM, not Bitrix24.
    rig.crm.clear_faults();
    drained(&rig.store, WAIT).await;
    let rows = rig
        .store
        .outbox(None, 10)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let by_user = |id: i64| {
        rows.iter()
            .find(|r| r.user_id == id)
            .unwrap_or_else(|| panic!("no lead of {id}"))
    };
    assert_eq!(by_user(13_001).state, LeadState::Delivered);
    assert_eq!(by_user(13_001).plugin_id, "keycrm");
    assert_eq!(by_user(13_000).plugin_id, "bitrix24");
    assert_eq!(rig.crm.cards().len(), 1, "the outbox order went to KeyCRM");
    assert_eq!(bitrix.leads().len(), 1, "and not to Bitrix24");
    // Its customer heard back with KeyCRM's number.
    wait_text(&waiting, &["підтверджено"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_python_plugin_serves_the_whole_dialogue() {
    use switchboard_sim::webhook::{WebhookConfig, WebhookSim};
    let hook = WebhookSim::start(WebhookConfig::with_catalog(12))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let rig = rig(quick_policy(), |_| {
        let mut s = PluginSettings::new("webhook", dist("webhook.wasm"));
        s.allowed_hosts = Some(vec![hook.addr().to_string()]);
        s.allow_http_loopback = true;
        // A Python component needs more memory than the Rust ones.
        s.memory_limit_bytes = 64 * 1024 * 1024;
        s.config.insert("catalog_url".into(), hook.catalog_url());
        s.config.insert("lead_url".into(), hook.lead_url());
        s.config
            .insert("auth_header".into(), hook.auth_header().unwrap_or_default());
        s
    })
    .await;
    let (user, told) = checkout(rig.telegram.user(13_100, "Пайтон")).await;
    assert_eq!(told, Told::Number);
    let last = user
        .messages()
        .into_iter()
        .rev()
        .find(|m| m.body().contains("№"));
    assert!(
        last.is_some_and(|m| m.body().contains("wh-1")),
        "the webhook's id is the order number"
    );
    let leads = hook.leads();
    assert_eq!(leads.len(), 1);
    assert_eq!(leads[0]["kind"], "order");
    assert_eq!(leads[0]["contact"]["phone"], "+380501234567");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_amocrm_shop_takes_an_order_end_to_end() {
    use switchboard_sim::amocrm::{AmoCrmConfig, AmoCrmSim};
    let amo = AmoCrmSim::start(AmoCrmConfig::with_catalog(12))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let rig = rig(quick_policy(), |_| {
        let mut s = PluginSettings::new("amocrm", dist("amocrm.wasm"));
        s.allowed_hosts = Some(vec![amo.addr().to_string()]);
        s.allow_http_loopback = true;
        s.timeout = Duration::from_secs(5);
        s.config.insert("base_url".into(), amo.base_url());
        s.config.insert("token".into(), "amo-test-token".into());
        s
    })
    .await;
    let (user, told) = checkout(rig.telegram.user(13_200, "Амо")).await;
    assert_eq!(told, Told::Number);
    let leads = amo.leads();
    assert_eq!(leads.len(), 1);
    let number = leads[0]["id"].to_string();
    assert!(
        user.messages()
            .iter()
            .any(|m| m.body().contains(&format!("№ {number}"))),
        "the customer gets amoCRM's lead id {number}"
    );
    // The order lines travel as the lead's note.
    let notes = amo.notes();
    assert_eq!(notes.len(), 1);
    assert!(
        notes[0]["params"]["text"]
            .as_str()
            .is_some_and(|t| t.contains("Switchboard key: tg-13200-")),
        "{notes:?}"
    );
}
