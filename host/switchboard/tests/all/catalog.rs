//! The dialogue's catalog cache: the real `keycrm.wasm` against the
//! simulated KeyCRM, with a real SQLite store.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use switchboard::config::{PluginSettings, RateLimit};
use switchboard_crm::Product;
use switchboard_plugin_runtime::Registry;
use switchboard_shop::callback::ProductKey;
use switchboard_shop::catalog::{Catalog, CatalogError, Snapshot};
use switchboard_sim::{Fault, KeyCrmConfig, KeyCrmSim};
use switchboard_store::{Store, now_ms};

use crate::support::{keycrm_settings, runtime};

const LONG_TTL: Duration = Duration::from_secs(300);

async fn sim(offers: usize) -> KeyCrmSim {
    KeyCrmSim::start(KeyCrmConfig::with_catalog(offers))
        .await
        .unwrap_or_else(|e| panic!("starting the KeyCRM simulator: {e}"))
}

/// KeyCRM settings with a budget the tests cannot exhaust (the manifest
/// allows 60 requests a minute).
fn settings(sim: &KeyCrmSim) -> PluginSettings {
    let mut s = keycrm_settings(sim);
    s.rate_limit = Some(RateLimit {
        requests: 10_000,
        per_seconds: 1,
    });
    s
}

async fn registry(sim: &KeyCrmSim) -> Arc<Registry> {
    let registry = Arc::new(Registry::new(runtime()));
    registry
        .activate(&settings(sim))
        .await
        .unwrap_or_else(|e| panic!("activating keycrm: {e}"));
    registry
}

async fn memory_store() -> Store {
    Store::open("sqlite::memory:")
        .await
        .unwrap_or_else(|e| panic!("opening the store: {e}"))
}

/// How many catalog pages the simulator has served (faulted ones included).
fn offer_requests(sim: &KeyCrmSim) -> usize {
    sim.requests()
        .iter()
        .filter(|r| r.path == "/v1/offers")
        .count()
}

async fn get(catalog: &Catalog) -> Arc<Snapshot> {
    catalog
        .get()
        .await
        .unwrap_or_else(|e| panic!("catalog.get(): {e}"))
}

async fn refresh(catalog: &Catalog) -> Arc<Snapshot> {
    catalog
        .refresh()
        .await
        .unwrap_or_else(|e| panic!("catalog.refresh(): {e}"))
}

fn ids(products: &[Product]) -> Vec<String> {
    products.iter().map(|p| p.id.clone()).collect()
}

/// The offer ids of a simulated catalog, in the order KeyCRM lists them.
fn sim_ids(config: &KeyCrmConfig) -> Vec<String> {
    config.offers.iter().map(|o| o.id.to_string()).collect()
}

#[tokio::test]
async fn a_230_offer_catalog_loads_whole_and_is_cached_for_the_ttl() {
    let sim = sim(230).await;
    let expected = KeyCrmConfig::with_catalog(230);
    let store = memory_store().await;
    let catalog = Catalog::new(registry(&sim).await, store.clone(), LONG_TTL);

    let before = now_ms();
    let first = get(&catalog).await;
    assert_eq!(first.len(), 230);
    assert_eq!(
        ids(first.products()),
        sim_ids(&expected),
        "every offer, in order"
    );
    assert_eq!(offer_requests(&sim), 5, "230 offers are 5 pages of 50");
    assert!(!first.is_stale());
    assert_eq!(first.stale_reason(), None);
    assert_eq!(first.plugin_id(), "keycrm");
    assert!(
        (before..=now_ms()).contains(&first.fetched_at_ms()),
        "fetched_at {} is not the load time",
        first.fetched_at_ms()
    );

    // Within the TTL the same snapshot is served without a request.
    let second = get(&catalog).await;
    assert!(Arc::ptr_eq(&first, &second));
    assert_eq!(offer_requests(&sim), 5);

    // The copy persisted for a restart is the whole catalog, exactly.
    let (text, fetched_at) = store
        .catalog("keycrm")
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("the catalog was not persisted"));
    assert_eq!(fetched_at, first.fetched_at_ms());
    let saved: Vec<Product> =
        switchboard_store::persisted::decode_products(&text).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(saved, first.products());

    // Refresh always asks the CRM.
    let refreshed = refresh(&catalog).await;
    assert_eq!(offer_requests(&sim), 10);
    assert!(!Arc::ptr_eq(&first, &refreshed));
    assert_eq!(refreshed.products(), first.products());
    assert!(Arc::ptr_eq(&refreshed, &get(&catalog).await));
    assert_eq!(offer_requests(&sim), 10);
}

#[tokio::test]
async fn paging_find_and_search_work_on_the_real_catalog() {
    let sim = sim(230).await;
    let expected = KeyCrmConfig::with_catalog(230);
    let catalog = Catalog::new(registry(&sim).await, memory_store().await, LONG_TTL);
    let snapshot = get(&catalog).await;
    let all = sim_ids(&expected);

    // Paging: 230 by 8 is 28 full pages and a last one of 6.
    assert_eq!(snapshot.pages(8), 29);
    assert_eq!(snapshot.pages(230), 1);
    assert_eq!(snapshot.pages(229), 2);
    assert_eq!(ids(snapshot.page(0, 8)), all[..8]);
    assert_eq!(ids(snapshot.page(27, 8)), all[216..224]);
    assert_eq!(ids(snapshot.page(28, 8)), all[224..]);
    assert_eq!(snapshot.page(28, 8).len(), 6);
    assert_eq!(
        ids(snapshot.page(99, 8)),
        all[224..],
        "clamped to the last page"
    );

    // Find by the key a button carries.
    for (i, offer) in expected.offers.iter().enumerate().step_by(37) {
        let key = ProductKey::of(&offer.id.to_string());
        let found = snapshot
            .find(&key)
            .unwrap_or_else(|| panic!("offer {} not found by key", offer.id));
        assert_eq!(found.id, offer.id.to_string());
        assert_eq!(found.sku.as_deref(), Some(offer.sku.as_str()));
        assert_eq!(found.price.minor_units, offer.price_kopecks);
        assert_eq!(snapshot.position(&key), Some(i));
    }
    assert!(snapshot.find(&ProductKey::of("no-such-offer")).is_none());

    // Search, against the simulator's own data: an offer matches a word when
    // its product name, a property value or its SKU contains it.
    let products: HashMap<i64, &str> = expected
        .products
        .iter()
        .map(|p| (p.id, p.name.as_str()))
        .collect();
    let expect = |query: &str| -> Vec<String> {
        let words: Vec<String> = query.split_whitespace().map(str::to_lowercase).collect();
        expected
            .offers
            .iter()
            .filter(|o| {
                let name = products[&o.product_id].to_lowercase();
                let sku = o.sku.to_lowercase();
                words.iter().all(|w| {
                    name.contains(w.as_str())
                        || sku.contains(w.as_str())
                        || o.properties
                            .iter()
                            .any(|p| p.value.to_lowercase().contains(w.as_str()))
                })
            })
            .map(|o| o.id.to_string())
            .collect()
    };
    let found = |query: &str| -> Vec<String> {
        snapshot
            .search(query, usize::MAX)
            .iter()
            .map(|p| p.id.clone())
            .collect()
    };

    let shirts = expect("футболка");
    assert!(
        shirts.len() > 5 && shirts.len() < 230,
        "{} shirts",
        shirts.len()
    );
    assert_eq!(found("футболка"), shirts);
    assert_eq!(found("ФУТБОЛКА"), shirts, "case-insensitive (Cyrillic)");
    let both = expect("футболка карпати");
    assert!(!both.is_empty() && both.len() < shirts.len(), "{both:?}");
    assert_eq!(found("Футболка  КАРПАТИ"), both, "every word must match");
    let black = expect("футболка чорний");
    assert!(!black.is_empty() && black.len() < shirts.len(), "{black:?}");
    assert_eq!(
        found("футболка ЧОРНИЙ"),
        black,
        "a variant property in the name"
    );

    let offer = &expected.offers[7];
    assert_eq!(
        found(&offer.sku.to_lowercase()),
        [offer.id.to_string()],
        "by SKU ({})",
        offer.sku
    );
    assert_eq!(snapshot.search("футболка", 3).len(), 3);
    assert_eq!(ids_of(&snapshot.search("футболка", 3)), shirts[..3]);
    assert!(snapshot.search("", 10).is_empty());
    assert!(snapshot.search("футболка квазар", 10).is_empty());
}

/// A generous cap on waiting for any one event; reaching it is a failure.
const WAIT: Duration = Duration::from_secs(60);

/// Waits until a copy (or a back-off) set up before `since` for `ttl` has
/// run out. The catalog judges expiry by `std::time::Instant`, so this is
/// the condition itself, not a guessed margin: its deadline is at most
/// `since + ttl`.
async fn until_expired(since: Instant, ttl: Duration) {
    tokio::time::sleep_until(tokio::time::Instant::from_std(since + ttl)).await;
}

fn ids_of(products: &[&Product]) -> Vec<String> {
    products.iter().map(|p| p.id.clone()).collect()
}

#[tokio::test]
async fn an_expired_catalog_is_reloaded() {
    let sim = sim(60).await;
    let catalog = Catalog::new(
        registry(&sim).await,
        memory_store().await,
        Duration::from_millis(50),
    );
    let first = get(&catalog).await;
    assert_eq!(first.len(), 60);
    assert_eq!(offer_requests(&sim), 2);
    // While the copy is current, `get` serves it without asking the CRM;
    // the first `get` after its TTL reloads.
    let started = Instant::now();
    let second = loop {
        let next = get(&catalog).await;
        if !Arc::ptr_eq(&next, &first) {
            break next;
        }
        assert_eq!(
            offer_requests(&sim),
            2,
            "the CRM was asked for a current copy"
        );
        assert!(started.elapsed() < WAIT, "the copy never expired");
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    assert_eq!(offer_requests(&sim), 4, "one more reload of two pages");
    assert!(!Arc::ptr_eq(&first, &second));
    assert!(second.fetched_at_ms() > first.fetched_at_ms());
    assert!(!second.is_stale());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_gets_on_an_expired_cache_share_one_reload() {
    let sim = sim(230).await;
    let catalog = Catalog::new(
        registry(&sim).await,
        memory_store().await,
        Duration::from_millis(300),
    );
    let first = get(&catalog).await;
    until_expired(Instant::now(), Duration::from_millis(300)).await;
    assert_eq!(offer_requests(&sim), 5);

    // A slow first page keeps the reload in flight while all 20 ask.
    sim.inject(Fault::Slow(Duration::from_millis(300)), Some(1));
    let barrier = Arc::new(tokio::sync::Barrier::new(20));
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let catalog = catalog.clone();
            let barrier = Arc::clone(&barrier);
            tokio::spawn(async move {
                barrier.wait().await;
                catalog.get().await
            })
        })
        .collect();
    let mut snapshots = Vec::new();
    for task in tasks {
        let snapshot = task
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|e| panic!("{e}"));
        snapshots.push(snapshot);
    }
    assert_eq!(offer_requests(&sim), 10, "exactly one reload of 5 pages");
    for snapshot in &snapshots {
        assert!(Arc::ptr_eq(snapshot, &snapshots[0]), "all share its result");
        assert!(!snapshot.is_stale());
    }
    assert!(!Arc::ptr_eq(&snapshots[0], &first));
    assert_eq!(snapshots[0].len(), 230);

    // Refresh presses during a reload share it too.
    sim.inject(Fault::Slow(Duration::from_millis(500)), Some(1));
    let presses: Vec<_> = (0..5)
        .map(|_| {
            let catalog = catalog.clone();
            tokio::spawn(async move { catalog.refresh().await })
        })
        .collect();
    for press in presses {
        let snapshot = press
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(snapshot.len(), 230);
    }
    assert_eq!(
        offer_requests(&sim),
        15,
        "5 presses at once make one reload"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_in_flight_does_not_delay_readers_of_a_fresh_copy() {
    let sim = sim(60).await;
    let catalog = Catalog::new(registry(&sim).await, memory_store().await, LONG_TTL);
    let first = get(&catalog).await;

    sim.inject(Fault::Slow(Duration::from_millis(800)), Some(1));
    let reload = {
        let catalog = catalog.clone();
        tokio::spawn(async move { catalog.refresh().await })
    };
    // Wait until the refresh is at the CRM.
    let started = Instant::now();
    while offer_requests(&sim) < 3 {
        assert!(
            started.elapsed() < WAIT,
            "the refresh never reached the CRM"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let during = get(&catalog).await;
    // The reload is still at its slow first page: the read did not wait for
    // it (had it waited, the reload would have asked for the second page).
    assert_eq!(
        offer_requests(&sim),
        3,
        "a fresh read waited behind the reload"
    );
    assert!(Arc::ptr_eq(&first, &during));
    assert!(
        !reload.is_finished(),
        "the reload should still be in flight"
    );

    let reloaded = reload
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(!Arc::ptr_eq(&first, &reloaded));
    assert!(Arc::ptr_eq(&reloaded, &get(&catalog).await));
}

#[tokio::test]
async fn a_crm_outage_serves_the_last_copy_stale_and_backs_off() {
    let sim = sim(60).await;
    let catalog = Catalog::new(
        registry(&sim).await,
        memory_store().await,
        Duration::from_millis(50),
    )
    .with_retry_after(Duration::from_millis(400));
    let good = get(&catalog).await;
    let loaded = Instant::now();
    assert_eq!(offer_requests(&sim), 2);

    sim.inject(Fault::ServerError(500), None);
    until_expired(loaded, Duration::from_millis(50)).await;
    let stale = get(&catalog).await;
    assert!(stale.is_stale());
    let reason = stale.stale_reason().unwrap_or_default();
    assert!(
        reason.starts_with("plugin `keycrm`") && reason.contains("HTTP 500"),
        "reason: {reason}"
    );
    assert_eq!(stale.products(), good.products());
    assert_eq!(stale.fetched_at_ms(), good.fetched_at_ms());
    assert_eq!(stale.plugin_id(), "keycrm");
    let tried = sim.requests().len();
    assert!(offer_requests(&sim) > 2, "the CRM was asked first");

    // Within the back-off nobody asks the CRM again, however many ask.
    for _ in 0..10 {
        let again = get(&catalog).await;
        assert!(Arc::ptr_eq(&again, &stale));
    }
    assert_eq!(sim.requests().len(), tried, "no request storm");

    // Refresh asks at once; still down, still the old products.
    let pressed = refresh(&catalog).await;
    let backed_off = Instant::now();
    assert!(sim.requests().len() > tried);
    assert!(pressed.is_stale());
    assert_eq!(pressed.products(), good.products());
    assert_eq!(pressed.fetched_at_ms(), good.fetched_at_ms());

    // After the back-off `get` tries again.
    let tried = sim.requests().len();
    until_expired(backed_off, Duration::from_millis(400)).await;
    assert!(get(&catalog).await.is_stale());
    assert!(sim.requests().len() > tried, "retried after the back-off");

    // Back up: the next attempt is fresh.
    sim.clear_faults();
    let back = refresh(&catalog).await;
    assert!(!back.is_stale());
    assert_eq!(back.stale_reason(), None);
    assert!(back.fetched_at_ms() > good.fetched_at_ms());
    assert_eq!(back.products(), good.products());
}

#[tokio::test]
async fn a_restart_while_the_crm_is_down_serves_the_persisted_copy() {
    let sim = sim(75).await;
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let url = format!("sqlite://{}", dir.path().join("switchboard.db").display());

    let before = {
        let store = Store::open(&url).await.unwrap_or_else(|e| panic!("{e}"));
        let catalog = Catalog::new(registry(&sim).await, store, LONG_TTL);
        get(&catalog).await
    };
    assert_eq!(before.len(), 75);

    // A new process: new registry, new store handle, the CRM down.
    sim.inject(Fault::ServerError(503), None);
    let requests = offer_requests(&sim);
    let store = Store::open(&url).await.unwrap_or_else(|e| panic!("{e}"));
    let catalog = Catalog::new(registry(&sim).await, store, LONG_TTL);
    let after = get(&catalog).await;
    assert!(offer_requests(&sim) > requests, "the CRM is tried first");
    assert!(after.is_stale());
    let reason = after.stale_reason().unwrap_or_default();
    assert!(reason.contains("HTTP 503"), "reason: {reason}");
    assert_eq!(
        after.products(),
        before.products(),
        "exact, prices included"
    );
    assert_eq!(after.fetched_at_ms(), before.fetched_at_ms());
    assert_eq!(
        after.find(&ProductKey::of(&before.products()[40].id)),
        Some(&before.products()[40])
    );

    // Back up: the restarted cache reloads and replaces the copy.
    sim.clear_faults();
    let fresh = refresh(&catalog).await;
    assert!(!fresh.is_stale());
    assert!(fresh.fetched_at_ms() > before.fetched_at_ms());
}

/// The reason of a `CatalogError::Unavailable`.
fn unavailable(result: Result<Arc<Snapshot>, CatalogError>) -> String {
    match result {
        Err(CatalogError::Unavailable { reason }) => reason,
        other => panic!("expected Unavailable, got {other:?}"),
    }
}

#[tokio::test]
async fn a_crm_outage_with_nothing_cached_is_an_error_and_backs_off() {
    let sim = sim(60).await;
    let store = memory_store().await;
    let registry = registry(&sim).await;
    sim.inject(Fault::ServerError(500), None);

    let catalog = Catalog::new(Arc::clone(&registry), store.clone(), LONG_TTL);
    let reason = unavailable(catalog.get().await);
    assert!(
        reason.starts_with("plugin `keycrm`") && reason.contains("HTTP 500"),
        "{reason}"
    );
    let tried = sim.requests().len();
    assert!(tried > 0);
    assert_eq!(unavailable(catalog.get().await), reason, "the same failure");
    assert_eq!(sim.requests().len(), tried, "no retry within the back-off");

    // A persisted copy that cannot be parsed is ignored, not fatal.
    store
        .save_catalog("keycrm", "[{\"id\": 1}", 1_000)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let restarted = Catalog::new(Arc::clone(&registry), store.clone(), LONG_TTL);
    let reason = unavailable(restarted.get().await);
    assert!(reason.contains("HTTP 500"), "{reason}");

    // Refresh does not wait for the back-off.
    sim.clear_faults();
    let snapshot = refresh(&catalog).await;
    assert_eq!(snapshot.len(), 60);
    assert!(!snapshot.is_stale());
}

#[tokio::test]
async fn swapping_the_active_plugin_reloads_from_the_new_crm() {
    let old_crm = sim(120).await;
    let new_crm = sim(75).await;
    let store = memory_store().await;
    let registry = registry(&old_crm).await;
    let catalog = Catalog::new(Arc::clone(&registry), store.clone(), LONG_TTL);

    let before = get(&catalog).await;
    assert_eq!(before.len(), 120);
    assert_eq!(offer_requests(&old_crm), 3);

    // The same component (same id and digest), other settings.
    let swapped = registry
        .activate(&settings(&new_crm))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(swapped.id(), "keycrm");
    let after = get(&catalog).await;
    assert_eq!(after.len(), 75);
    assert_eq!(
        ids(after.products()),
        sim_ids(&KeyCrmConfig::with_catalog(75))
    );
    assert_eq!(offer_requests(&new_crm), 2);
    assert_eq!(offer_requests(&old_crm), 3, "the old CRM is not asked");
    assert_eq!(before.len(), 120, "snapshots are immutable");
    assert!(Arc::ptr_eq(&after, &get(&catalog).await));
    assert_eq!(offer_requests(&new_crm), 2);

    let (text, _) = store
        .catalog("keycrm")
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("not persisted"));
    let saved: Vec<serde_json::Value> =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(saved.len(), 75, "the new CRM's catalog is persisted");
}

#[tokio::test]
async fn without_an_active_plugin_there_is_no_catalog() {
    let catalog = Catalog::new(
        Arc::new(Registry::new(runtime())),
        memory_store().await,
        LONG_TTL,
    );
    assert!(matches!(
        catalog.get().await,
        Err(CatalogError::NoPlugin(_))
    ));
    assert!(matches!(
        catalog.refresh().await,
        Err(CatalogError::NoPlugin(_))
    ));
}
