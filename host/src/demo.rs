//! `switchboard demo`: the plugin runtime end to end without any account.
//!
//! Starts the simulated KeyCRM on loopback with a sample catalog, loads the
//! real `keycrm.wasm` in the sandbox, reads the whole catalog, places an
//! order and reads its status back, printing what happens.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use switchboard_sim::{KeyCrmConfig, KeyCrmSim};

use crate::config::{PluginSettings, RateLimit, RuntimeSettings};
use crate::crm::{Contact, Lead, LeadKind, LineItem};
use crate::plugin::{Registry, Runtime};

/// Where the bundled plugins are: `plugins/dist` under the current folder,
/// or next to the repository the binary was built in.
pub fn find_dist(file: &str) -> anyhow::Result<PathBuf> {
    let candidates = [
        PathBuf::from("plugins/dist").join(file),
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../plugins/dist")
            .join(file),
    ];
    candidates
        .iter()
        .find(|p| p.is_file())
        .cloned()
        .with_context(|| {
            format!("plugins/dist/{file} not found: build the plugins with `make plugins`")
        })
}

/// Runs the demo with a catalog of `offers` offers.
pub async fn run(offers: usize) -> anyhow::Result<()> {
    let sim = KeyCrmSim::start(KeyCrmConfig::with_catalog(offers))
        .await
        .context("starting the simulated KeyCRM")?;
    println!("Simulated KeyCRM listening at {}", sim.base_url());

    let mut settings = PluginSettings::new("keycrm", find_dist("keycrm.wasm")?);
    settings.allowed_hosts = Some(vec![sim.addr().to_string()]);
    settings.allow_http_loopback = true;
    // The simulator enforces no limit; the real KeyCRM gets the manifest's 60/min.
    settings.rate_limit = Some(RateLimit {
        requests: 1000,
        per_seconds: 1,
    });
    settings.config.insert("base_url".into(), sim.base_url());
    settings.config.insert("api_key".into(), "test-key".into());
    settings.config.insert("source_id".into(), "1".into());

    let runtime = Arc::new(Runtime::new(&RuntimeSettings::default())?);
    let registry = Registry::new(runtime);
    let started = std::time::Instant::now();
    let plugin = registry.activate(&settings).await?;
    println!(
        "Loaded {} {} (sha256 {}…, {}) in {} ms",
        plugin.info.name,
        plugin.info.version,
        &plugin.digest[..12],
        if plugin.from_cache {
            "compiled code from cache"
        } else {
            "compiled now"
        },
        started.elapsed().as_millis()
    );

    let started = std::time::Instant::now();
    let catalog = plugin.list_all_products(50, 10_000).await?;
    println!(
        "\nCatalog: {} items read in {} ms ({} requests to the CRM). The first eight:",
        catalog.len(),
        started.elapsed().as_millis(),
        sim.requests().len()
    );
    for product in catalog.iter().take(8) {
        println!(
            "  {:<48} {:>10} {}",
            product.name,
            product.price.to_decimal_string(),
            product.price.currency
        );
    }

    let items: Vec<LineItem> = catalog
        .iter()
        .take(2)
        .enumerate()
        .map(|(i, p)| LineItem {
            product_id: p.id.clone(),
            name: p.name.clone(),
            sku: p.sku.clone(),
            quantity: i as u32 + 1,
            unit_price: p.price.clone(),
            image_url: p.image_url.clone(),
        })
        .collect();
    let lead = Lead {
        idempotency_key: "demo-order-1".into(),
        kind: LeadKind::Order(items),
        contact: Contact {
            full_name: "Олена Петренко".into(),
            phone: Some("+380501234567".into()),
            email: None,
            telegram_user_id: Some(100_200_300),
            telegram_username: Some("olena_demo".into()),
        },
        title: "Замовлення з Telegram".into(),
        comment: Some("Нова пошта, відділення 5".into()),
        source: "telegram".into(),
    };
    let created = plugin.create_lead(&lead).await?;
    println!("\nOrder sent: KeyCRM card #{}", created.id);
    if let Some(card) = sim.cards().last() {
        println!(
            "The card as the CRM stored it:\n{}",
            serde_json::to_string_pretty(card)?
        );
    }
    let status = plugin.lead_status(&created.id).await?;
    println!(
        "\nStatus of card #{}: {} ({})",
        created.id,
        status.name,
        if status.is_final {
            "final"
        } else {
            "in progress"
        }
    );
    Ok(())
}
