//! Runtime swaps: under concurrent calls, and refusals that keep the old
//! plugin serving.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use switchboard::config::{PluginSettings, RateLimit, RuntimeSettings};
use switchboard_plugin_runtime::{LoadError, Registry, Runtime};
use switchboard_sim::{KeyCrmConfig, KeyCrmSim};

use crate::support::{dist, hostile_settings, keycrm_settings, runtime};

/// A copy of a plugin (component and manifest) in a temp folder, with the
/// manifest edited by `edit`, so a test can break one thing at a time.
fn copy_plugin(
    dir: &std::path::Path,
    name: &str,
    wasm: &[u8],
    edit: impl Fn(String) -> String,
) -> PluginSettings {
    let manifest =
        std::fs::read_to_string(dist(&format!("{name}.toml"))).unwrap_or_else(|e| panic!("{e}"));
    let wasm_path = dir.join(format!("{name}.wasm"));
    std::fs::write(&wasm_path, wasm).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(dir.join(format!("{name}.toml")), edit(manifest))
        .unwrap_or_else(|e| panic!("{e}"));
    PluginSettings::new(name, wasm_path)
}

async fn keycrm_sim() -> KeyCrmSim {
    KeyCrmSim::start(KeyCrmConfig::with_catalog(120))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn swapping_under_concurrent_calls_fails_no_call() {
    let sim = keycrm_sim().await;
    let registry = Arc::new(Registry::new(runtime()));
    let mut keycrm = keycrm_settings(&sim);
    // The manifest's 60/min would make this a test of the budget instead.
    keycrm.rate_limit = Some(RateLimit {
        requests: 100_000,
        per_seconds: 1,
    });
    let hostile = hostile_settings();
    registry
        .activate(&keycrm)
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    let calls = Arc::new(AtomicUsize::new(0));
    let seen_hostile = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut workers = Vec::new();
    for _ in 0..6 {
        let registry = Arc::clone(&registry);
        let calls = Arc::clone(&calls);
        let seen_hostile = Arc::clone(&seen_hostile);
        let stop = Arc::clone(&stop);
        workers.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let plugin = registry.active().unwrap_or_else(|e| panic!("{e}"));
                let page = plugin
                    .list_products(None, 50)
                    .await
                    .unwrap_or_else(|e| panic!("call failed during a swap: {e}"));
                assert!(!page.items.is_empty());
                if plugin.id() == "hostile" {
                    seen_hostile.fetch_add(1, Ordering::Relaxed);
                }
                calls.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    // Waits until the workers have finished `n` more calls, and (when
    // `hostile` is set) one more on the hostile plugin: swaps happen between
    // calls in flight, never into an idle registry.
    let traffic = async |n: usize, hostile: bool| {
        let (calls_before, hostile_before) = (
            calls.load(Ordering::Relaxed),
            seen_hostile.load(Ordering::Relaxed),
        );
        let started = std::time::Instant::now();
        while calls.load(Ordering::Relaxed) < calls_before + n
            || (hostile && seen_hostile.load(Ordering::Relaxed) == hostile_before)
        {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "the workers stopped calling"
            );
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    };
    for round in 0..6 {
        traffic(6, false).await;
        let next = if round % 2 == 0 { &hostile } else { &keycrm };
        let plugin = registry
            .activate(next)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(plugin.id(), next.id);
        // The swap took effect: a call after it ran on the new plugin.
        traffic(1, next.id == "hostile").await;
    }
    traffic(6, false).await;
    stop.store(true, Ordering::Relaxed);
    for worker in workers {
        worker
            .await
            .unwrap_or_else(|e| panic!("worker panicked: {e}"));
    }
    assert!(
        calls.load(Ordering::Relaxed) > 20,
        "too few calls to mean anything"
    );
    assert!(
        seen_hostile.load(Ordering::Relaxed) > 0,
        "the swap never took effect"
    );
    assert_eq!(
        registry
            .active()
            .map(|p| p.id().to_string())
            .ok()
            .as_deref(),
        Some("keycrm")
    );
}

async fn assert_refused_and_old_serves(
    registry: &Registry,
    settings: &PluginSettings,
) -> LoadError {
    let err = registry
        .activate(settings)
        .await
        .err()
        .unwrap_or_else(|| panic!("{} was accepted", settings.path.display()));
    let active = registry.active().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        active.id(),
        "keycrm",
        "the previous plugin must stay active"
    );
    active
        .list_products(None, 10)
        .await
        .unwrap_or_else(|e| panic!("the previous plugin stopped serving: {e}"));
    err
}

#[tokio::test]
async fn broken_components_are_refused_and_the_old_plugin_keeps_serving() {
    let sim = keycrm_sim().await;
    let registry = Registry::new(runtime());
    registry
        .activate(&keycrm_settings(&sim))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let hostile_wasm = std::fs::read(dist("hostile.wasm")).unwrap_or_else(|e| panic!("{e}"));

    // Not WebAssembly at all.
    let garbage = copy_plugin(dir.path(), "hostile", b"definitely not wasm", |m| m);
    let err = assert_refused_and_old_serves(&registry, &garbage).await;
    assert!(matches!(err, LoadError::InvalidComponent { .. }), "{err}");

    // A valid component of another world: the empty component.
    let empty_component = [0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00];
    let other_world = copy_plugin(dir.path(), "hostile", &empty_component, |m| m);
    let err = assert_refused_and_old_serves(&registry, &other_world).await;
    assert!(matches!(err, LoadError::WrongWorld { .. }), "{err}");
    assert!(
        err.to_string().contains("switchboard:crm/plugin@0.1.0"),
        "{err}"
    );

    // A manifest declaring an incompatible WIT version.
    let future = copy_plugin(dir.path(), "hostile", &hostile_wasm, |m| {
        m.replace("wit = \"0.1.0\"", "wit = \"1.0.0\"")
    });
    let err = assert_refused_and_old_serves(&registry, &future).await;
    assert!(matches!(err, LoadError::IncompatibleWit { .. }), "{err}");

    // A manifest whose id is not the configured one.
    let renamed = copy_plugin(dir.path(), "hostile", &hostile_wasm, |m| {
        m.replace("id = \"hostile\"", "id = \"other\"")
    });
    let err = assert_refused_and_old_serves(&registry, &renamed).await;
    assert!(matches!(err, LoadError::IdMismatch { .. }), "{err}");

    // A missing file.
    let missing = PluginSettings::new("hostile", dir.path().join("nope.wasm"));
    std::fs::copy(dist("hostile.toml"), dir.path().join("nope.toml"))
        .unwrap_or_else(|e| panic!("{e}"));
    let err = assert_refused_and_old_serves(&registry, &missing).await;
    assert!(matches!(err, LoadError::Read { .. }), "{err}");

    // Missing required configuration, named by its key.
    let mut no_key = keycrm_settings(&sim);
    no_key.config.remove("api_key");
    let err = assert_refused_and_old_serves(&registry, &no_key).await;
    assert_eq!(
        err.to_string(),
        "config key `plugins.keycrm.config.api_key`: required by plugin `keycrm` (The KeyCRM API key (Settings → API).)"
    );
}

#[tokio::test]
async fn compiled_plugins_are_cached_on_disk_across_runtimes() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let settings = RuntimeSettings {
        cache_dir: dir.path().to_path_buf(),
        max_instances: 4,
    };
    let first = Arc::new(Runtime::new(&settings).unwrap_or_else(|e| panic!("{e}")));
    let a = Registry::new(first)
        .activate(&hostile_settings())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(!a.from_cache);

    // A new runtime stands for a restarted host.
    let second = Arc::new(Runtime::new(&settings).unwrap_or_else(|e| panic!("{e}")));
    let b = Registry::new(second)
        .activate(&hostile_settings())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(b.from_cache);
    assert_eq!(a.digest, b.digest);

    // A corrupt cache entry is discarded and the plugin compiled again.
    for entry in std::fs::read_dir(dir.path()).unwrap_or_else(|e| panic!("{e}")) {
        let path = entry.unwrap_or_else(|e| panic!("{e}")).path();
        std::fs::write(&path, b"corrupt").unwrap_or_else(|e| panic!("{e}"));
    }
    let third = Arc::new(Runtime::new(&settings).unwrap_or_else(|e| panic!("{e}")));
    let c = Registry::new(third)
        .activate(&hostile_settings())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(!c.from_cache);
    c.get_product("ok").await.unwrap_or_else(|e| panic!("{e}"));
}
