//! Plugin runtime benchmarks. Run with `make bench` (builds the plugins,
//! then `cargo bench -p switchboard --bench plugin_runtime`).
//!
//! - `instantiate_call/info`: a fresh instance from the pre-linked component
//!   plus one call of a no-op export (the hostile plugin's `info`), which is
//!   what every plugin call pays on top of its own work.
//! - `keycrm/list_all_1000_offers`: the real KeyCRM plugin reading a
//!   1,000-offer catalog (20 pages of 50) from the simulator over loopback.
//! - `keycrm/page_of_1000_offers` minus `keycrm/empty_page`: one response
//!   carrying 1,000 offers against one carrying none, from a static loopback
//!   server; the difference is the plugin's own decoding and conversion of
//!   1,000 offers (plus copying them out of the instance).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::{Value, json};
use switchboard::config::{PluginSettings, RuntimeSettings};
use switchboard_plugin_runtime::{LoadedPlugin, Runtime};
use switchboard_sim::{KeyCrmConfig, KeyCrmSim};

fn dist(name: &str) -> PathBuf {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../plugins/dist")
        .join(name);
    assert!(
        path.is_file(),
        "{} is missing: run `make plugins`",
        path.display()
    );
    path
}

fn keycrm_settings(addr: std::net::SocketAddr, base_url: String) -> PluginSettings {
    let mut s = PluginSettings::new("keycrm", dist("keycrm.wasm"));
    s.allowed_hosts = Some(vec![addr.to_string()]);
    s.allow_http_loopback = true;
    s.config.insert("base_url".into(), base_url);
    s.config.insert("api_key".into(), "test-key".into());
    s.config.insert("source_id".into(), "1".into());
    s
}

/// A loopback server answering every request with the same JSON body.
async fn static_server(body: Value) -> std::net::SocketAddr {
    let body = Arc::new(body.to_string());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
    let app = axum::Router::new().fallback(move || {
        let body = Arc::clone(&body);
        async move {
            (
                [(axum::http::header::CONTENT_TYPE, "application/json")],
                body.as_str().to_owned(),
            )
        }
    });
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

fn offers_page(n: usize) -> Value {
    let data: Vec<Value> = (1..=n)
        .map(|i| {
            json!({
                "id": i, "product_id": i, "sku": format!("SKU-{i:05}"),
                "thumbnail_url": format!("https://img.example/{i}.jpg"),
                "price": 1299.5, "purchased_price": 700, "quantity": 12,
                "properties": [{"name": "Розмір", "value": "M"}, {"name": "Колір", "value": "чорний"}],
                "product": {"id": i, "name": format!("Футболка бавовняна «Карпати» {i}"),
                            "description": "Щільна бавовна, вільний крій.", "currency_code": "UAH",
                            "is_archived": false}
            })
        })
        .collect();
    json!({"total": n, "current_page": 1, "per_page": n, "data": data, "next_page_url": null})
}

fn benches(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let cache = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let runtime = Arc::new(
        Runtime::new(&RuntimeSettings {
            cache_dir: cache.path().to_path_buf(),
            max_instances: 16,
        })
        .unwrap_or_else(|e| panic!("{e}")),
    );

    let hostile = rt.block_on(async {
        LoadedPlugin::load(
            &runtime,
            &PluginSettings::new("hostile", dist("hostile.wasm")),
            None,
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"))
    });
    let mut group = c.benchmark_group("instantiate_call");
    group.bench_function("info", |b| {
        b.to_async(&rt).iter(|| async {
            hostile.call_info().await.unwrap_or_else(|e| panic!("{e}"));
        })
    });
    group.finish();

    let (sim, catalog_plugin, full, empty) = rt.block_on(async {
        let sim = KeyCrmSim::start(KeyCrmConfig::with_catalog(1000))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let catalog_plugin =
            LoadedPlugin::load(&runtime, &keycrm_settings(sim.addr(), sim.base_url()), None)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
        let full_addr = static_server(offers_page(1000)).await;
        let empty_addr = static_server(offers_page(0)).await;
        let full = LoadedPlugin::load(
            &runtime,
            &keycrm_settings(full_addr, format!("http://{full_addr}/v1")),
            None,
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        let empty = LoadedPlugin::load(
            &runtime,
            &keycrm_settings(empty_addr, format!("http://{empty_addr}/v1")),
            None,
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        (sim, catalog_plugin, full, empty)
    });

    let mut group = c.benchmark_group("keycrm");
    group.measurement_time(Duration::from_secs(10));
    group.sample_size(30);
    group.bench_function("list_all_1000_offers", |b| {
        b.to_async(&rt).iter(|| async {
            let items = catalog_plugin
                .list_all_products(50, 100)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(items.len(), 1000);
        })
    });
    group.bench_function("page_of_1000_offers", |b| {
        b.to_async(&rt).iter(|| async {
            let page = full
                .list_products(Some("offers:1:50"), 50)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(page.items.len(), 1000);
        })
    });
    group.bench_function("empty_page", |b| {
        b.to_async(&rt).iter(|| async {
            let page = empty
                .list_products(Some("offers:1:50"), 50)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            assert!(page.items.is_empty());
        })
    });
    group.finish();
    drop(sim);
}

criterion_group!(plugin_runtime, benches);
criterion_main!(plugin_runtime);
