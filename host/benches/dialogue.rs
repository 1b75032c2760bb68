//! Dialogue load benchmark. Run with `make bench-dialogue`, i.e.
//! `cargo bench -p switchboard --bench dialogue` (`SWITCHBOARD_BENCH_CUSTOMERS`
//! sets N, default 200).
//!
//! N virtual customers at once go through browse → product → cart → checkout
//! → confirm. The Bot API simulator enforces no limits and the host's
//! limiter is off, so this measures what the host itself carries. The
//! simulated KeyCRM answers at once, and the real keycrm.wasm runs in the
//! sandbox. Reported: updates/s, p50/p99 update→reply latency, idle and peak
//! RSS of the process (simulators included), and bytes stored per customer.

use std::sync::Arc;
use std::time::{Duration, Instant};

use switchboard::bot::service::{self, Parts};
use switchboard::config::{
    MessageLimits, PluginSettings, RateLimit, RuntimeSettings, ShopSettings, TelegramSettings,
    UpdateMode,
};
use switchboard::plugin::{Registry, Runtime};
use switchboard::store::Store;
use switchboard_sim::{KeyCrmConfig, KeyCrmSim};
use switchboard_telegram_sim::{SimConfig, TelegramSim, VirtualUser};

fn rss_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

const WAIT: Duration = Duration::from_secs(60);

/// One step: do something, then wait for the reply it causes.
async fn step<F: std::future::Future<Output = ()>>(
    user: &VirtualUser,
    latencies: &mut Vec<Duration>,
    action: F,
    expect: &str,
) -> VirtualUserReply {
    let started = Instant::now();
    action.await;
    let wanted = expect.to_string();
    let message = user
        .wait_until(
            move |m| {
                m.body().contains(&wanted)
                    || m.inline_buttons().iter().any(|(t, _)| t.contains(&wanted))
            },
            WAIT,
        )
        .await
        .unwrap_or_else(|e| panic!("waiting for `{expect}`: {e:?}"));
    latencies.push(started.elapsed());
    VirtualUserReply(
        message
            .inline_buttons()
            .into_iter()
            .map(|(t, _)| t)
            .collect(),
    )
}

struct VirtualUserReply(Vec<String>);

async fn customer(user: VirtualUser) -> Vec<Duration> {
    let mut l = Vec::new();
    step(&user, &mut l, user.send_command("/start"), "Вітаємо").await;
    let page = step(
        &user,
        &mut l,
        async {
            user.press("Каталог")
                .await
                .unwrap_or_else(|e| panic!("{e:?}"))
        },
        "сторінка 1",
    )
    .await;
    let product = page
        .0
        .iter()
        .find(|t| t.contains(" • "))
        .cloned()
        .unwrap_or_default();
    step(
        &user,
        &mut l,
        async {
            user.press(&product)
                .await
                .unwrap_or_else(|e| panic!("{e:?}"))
        },
        "У кошик",
    )
    .await;
    user.press("У кошик")
        .await
        .unwrap_or_else(|e| panic!("{e:?}"));
    step(&user, &mut l, user.send_command("/cart"), "Разом").await;
    step(
        &user,
        &mut l,
        async {
            user.press("Оформити")
                .await
                .unwrap_or_else(|e| panic!("{e:?}"))
        },
        "Надіслати мій номер",
    )
    .await;
    step(
        &user,
        &mut l,
        user.share_contact("+380501234567", true),
        "Підтвердити",
    )
    .await;
    step(
        &user,
        &mut l,
        async {
            user.press("Підтвердити")
                .await
                .unwrap_or_else(|e| panic!("{e:?}"))
        },
        "№",
    )
    .await;
    l
}

fn main() {
    let n: usize = std::env::var("SWITCHBOARD_BENCH_CUSTOMERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    rt.block_on(async move {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let db = dir.path().join("bench.db");
        let telegram = TelegramSim::start(SimConfig::default())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let crm = KeyCrmSim::start(KeyCrmConfig::with_catalog(230))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let store = Store::open(&format!("sqlite://{}", db.display()))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let runtime = Arc::new(
            Runtime::new(&RuntimeSettings {
                cache_dir: dir.path().join("cache"),
                max_instances: 64,
            })
            .unwrap_or_else(|e| panic!("{e}")),
        );
        let registry = Arc::new(Registry::new(runtime));
        let mut plugin = PluginSettings::new("keycrm", PathBufDist::keycrm());
        plugin.allowed_hosts = Some(vec![crm.addr().to_string()]);
        plugin.allow_http_loopback = true;
        plugin.rate_limit = Some(RateLimit {
            requests: 1_000_000,
            per_seconds: 1,
        });
        plugin.config.insert("base_url".into(), crm.base_url());
        plugin.config.insert("api_key".into(), "test-key".into());
        plugin.config.insert("source_id".into(), "1".into());
        registry
            .activate(&plugin)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let (_stop, stop_rx) = tokio::sync::watch::channel(false);
        service::start(
            Parts {
                telegram: TelegramSettings {
                    token: telegram.token().to_string(),
                    api_url: telegram.api_url(),
                    mode: UpdateMode::Polling,
                    limits: MessageLimits {
                        enabled: false,
                        ..MessageLimits::default()
                    },
                },
                shop: ShopSettings::default(),
                tariff: None,
                store: store.clone(),
                registry,
            },
            stop_rx,
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        // Warm the catalog cache so the run measures the dialogue.
        let warm = telegram.user(1, "Warm");
        customer(warm).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let idle_rss = rss_kib("VmRSS:");

        let started = Instant::now();
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..n {
            let user = telegram.user(10_000 + i as i64, "Покупець");
            tasks.spawn(customer(user));
        }
        let mut latencies = Vec::new();
        while let Some(done) = tasks.join_next().await {
            latencies.extend(done.unwrap_or_else(|e| panic!("{e}")));
        }
        let elapsed = started.elapsed();
        let peak_rss = rss_kib("VmHWM:");
        // Updates: 8 a customer (start, catalog, product, add, cart, checkout, contact, confirm).
        let updates = n * 8;
        latencies.sort();
        let pct =
            |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
        let cards = crm.cards().len();
        store.close().await;
        let bytes: u64 = ["bench.db", "bench.db-wal"]
            .iter()
            .filter_map(|f| std::fs::metadata(dir.path().join(f)).ok())
            .map(|m| m.len())
            .sum();
        println!("customers                 {n}");
        println!("orders in the CRM         {cards}");
        println!(
            "updates                   {updates} in {:.2} s",
            elapsed.as_secs_f64()
        );
        println!(
            "updates/s                 {:.0}",
            updates as f64 / elapsed.as_secs_f64()
        );
        println!(
            "update->reply p50         {:.2} ms",
            pct(0.50).as_secs_f64() * 1000.0
        );
        println!(
            "update->reply p99         {:.2} ms",
            pct(0.99).as_secs_f64() * 1000.0
        );
        println!(
            "idle RSS                  {:.1} MiB (process, simulators included)",
            idle_rss as f64 / 1024.0
        );
        println!(
            "peak RSS                  {:.1} MiB (process, simulators included)",
            peak_rss as f64 / 1024.0
        );
        println!(
            "stored per customer       {:.0} bytes (SQLite file + WAL / customers)",
            bytes as f64 / (n + 1) as f64
        );
    });
}

/// The bundled KeyCRM component.
struct PathBufDist;

impl PathBufDist {
    fn keycrm() -> std::path::PathBuf {
        let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../plugins/dist/keycrm.wasm");
        assert!(
            path.is_file(),
            "{} is missing: run `make plugins`",
            path.display()
        );
        path
    }
}
