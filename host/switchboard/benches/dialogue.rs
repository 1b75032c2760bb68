//! Dialogue load benchmark. Run with `make bench-dialogue`, i.e.
//! `cargo bench -p switchboard --bench dialogue`.
//!
//! Virtual customers go through browse → product → cart → checkout →
//! confirm (8 updates each), twice: a closed loop, N customers at once
//! (`SWITCHBOARD_BENCH_CUSTOMERS`, default 200), for the most the host
//! carries; then an open loop, customers arriving at a steady rate that
//! offers `SWITCHBOARD_BENCH_RATE` updates a second (default 1,500) for
//! `SWITCHBOARD_BENCH_SECONDS` (default 5), for the latency at that load. The Bot API simulator enforces no limits and the host's
//! limiter is off, so this measures what the host itself carries. The
//! simulated KeyCRM answers at once, and the real keycrm.wasm runs in the
//! sandbox. Reported: updates/s, p50/p99 update→reply latency, the host's
//! CPU time per update, idle and peak RSS of the process (simulators
//! included), and bytes stored per customer.
//!
//! The simulators and the virtual customers run on their own runtime (one
//! thread named `harness`), the host on the bench's runtime (threads named
//! `host`, plus SQLite's workers and the plugin engine's threads). Both share
//! the machine's cores, so updates/s is what the two carry together; the
//! CPU time of the host's threads per update (from the kernel's per-thread
//! accounting) is the host's own cost, and does not move with the
//! harness's.

use std::sync::Arc;
use std::time::{Duration, Instant};

use switchboard::config::{
    MessageLimits, PluginSettings, RateLimit, RuntimeSettings, ShopSettings, TelegramSettings,
    UpdateMode,
};
use switchboard_plugin_runtime::{Registry, Runtime};
use switchboard_shop::service::{self, Parts};
use switchboard_sim::{KeyCrmConfig, KeyCrmSim};
use switchboard_store::Store;
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
    let rate: f64 = std::env::var("SWITCHBOARD_BENCH_RATE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1500.0);
    let secs: f64 = std::env::var("SWITCHBOARD_BENCH_SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5.0);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("host")
        // A thread that exits takes its CPU time out of `host_cpu_ns`:
        // the blocking pool's threads stay for the whole run.
        .thread_keep_alive(Duration::from_secs(3600))
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let harness = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("harness")
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let on_harness = harness.handle().clone();
    rt.block_on(async move {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let db = dir.path().join("bench.db");
        let (telegram, crm) = on_harness
            .spawn(async {
                let telegram = TelegramSim::start(SimConfig::default())
                    .await
                    .unwrap_or_else(|e| panic!("{e}"));
                let crm = KeyCrmSim::start(KeyCrmConfig::with_catalog(230))
                    .await
                    .unwrap_or_else(|e| panic!("{e}"));
                (telegram, crm)
            })
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
                    token: telegram.token().into(),
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
                retry: switchboard_outbox::RetryPolicy::default(),
            },
            stop_rx,
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        // Warm the catalog cache so the run measures the dialogue.
        let warm = telegram.user(1, "Warm");
        on_harness
            .spawn(customer(warm))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        tokio::time::sleep(Duration::from_millis(300)).await;
        let idle_rss = rss_kib("VmRSS:");
        let db_bytes = |store: Store| {
            let dir = dir.path().to_path_buf();
            async move {
                // What stays stored, not the write-ahead log's transient pages.
                if let Err(e) = store.checkpoint().await {
                    eprintln!("checkpoint failed: {e}");
                }
                let file = std::fs::metadata(dir.join("bench.db")).map_or(0, |m| m.len());
                let in_use = store.sqlite_bytes_in_use().await.ok().flatten().unwrap_or(0);
                (file, in_use)
            }
        };
        let bytes_before = db_bytes(store.clone()).await;

        // Closed loop: all customers at once, as fast as replies come.
        let cpu_before = host_cpu_ns();
        let started = Instant::now();
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..n {
            let user = telegram.user(10_000 + i as i64, "Покупець");
            tasks.spawn_on(customer(user), &on_harness);
        }
        let mut latencies = Vec::new();
        while let Some(done) = tasks.join_next().await {
            latencies.extend(done.unwrap_or_else(|e| panic!("{e}")));
        }
        let elapsed = started.elapsed();
        let host_cpu = host_cpu_ns().saturating_sub(cpu_before);
        let bytes_after = db_bytes(store.clone()).await;
        // Updates: 8 a customer (start, catalog, product, add, cart, checkout, contact, confirm).
        let updates = n * 8;
        let (p50, p99) = percentiles(&mut latencies);

        // Open loop: customers arrive at a steady rate, as real ones do,
        // offering `rate` updates a second for `secs` seconds.
        let interval = Duration::from_secs_f64(8.0 / rate);
        let arrivals = (rate * secs / 8.0).ceil() as usize;
        let started_open = Instant::now();
        let mut tasks = tokio::task::JoinSet::new();
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
        for i in 0..arrivals {
            ticker.tick().await;
            let user = telegram.user(1_000_000 + i as i64, "Покупець");
            tasks.spawn_on(customer(user), &on_harness);
        }
        let mut open_latencies = Vec::new();
        while let Some(done) = tasks.join_next().await {
            open_latencies.extend(done.unwrap_or_else(|e| panic!("{e}")));
        }
        let open_elapsed = started_open.elapsed();
        let (open_p50, open_p99) = percentiles(&mut open_latencies);
        let peak_rss = rss_kib("VmHWM:");
        let cards = crm.cards().len();
        store.close().await;
        let (host_idle, host_peak) = host_alone_rss(&crm, dir.path()).await;

        println!("closed loop: {n} customers at once");
        println!(
            "  updates                 {updates} in {:.2} s",
            elapsed.as_secs_f64()
        );
        println!(
            "  updates/s               {:.0}",
            updates as f64 / elapsed.as_secs_f64()
        );
        println!("  update->reply p50       {:.2} ms", p50 * 1000.0);
        println!("  update->reply p99       {:.2} ms", p99 * 1000.0);
        println!(
            "  host CPU per update     {:.0} µs (the host's threads, not the simulators' or the customers')",
            host_cpu as f64 / 1000.0 / updates as f64
        );
        println!("open loop: {rate:.0} updates/s offered for {secs:.0} s ({arrivals} customers)");
        println!(
            "  updates/s achieved      {:.0}",
            (arrivals * 8) as f64 / open_elapsed.as_secs_f64()
        );
        println!("  update->reply p50       {:.2} ms", open_p50 * 1000.0);
        println!("  update->reply p99       {:.2} ms", open_p99 * 1000.0);
        println!("orders in the CRM         {cards}");
        println!(
            "idle RSS                  {:.1} MiB (process, simulators included)",
            idle_rss as f64 / 1024.0
        );
        println!(
            "peak RSS                  {:.1} MiB (process, simulators included)",
            peak_rss as f64 / 1024.0
        );
        println!(
            "host alone, idle RSS      {:.1} MiB (the `switchboard` binary after serving one customer)",
            host_idle as f64 / 1024.0
        );
        println!(
            "host alone, peak RSS      {:.1} MiB (the same, after 50 more customers at once)",
            host_peak as f64 / 1024.0
        );
        let per_customer = |after: u64, before: u64| after.saturating_sub(before) as f64 / n as f64;
        println!(
            "stored per customer       {:.0} bytes (growth of the pages in use in the SQLite file over the closed loop)",
            per_customer(bytes_after.1, bytes_before.1)
        );
        println!(
            "file growth per customer  {:.0} bytes (the checkpointed file, free pages included: they are reused by later customers)",
            per_customer(bytes_after.0, bytes_before.0)
        );
    });
}

/// CPU time (ns) the host's threads have run so far: every thread of this
/// process but the harness's, from `/proc/self/task/*/schedstat`.
fn host_cpu_ns() -> u64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    tasks
        .flatten()
        .filter(|t| {
            std::fs::read_to_string(t.path().join("comm"))
                .is_ok_and(|name| !name.trim_end().starts_with("harness"))
        })
        .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .sum()
}

/// Runs the real `switchboard` binary against its own Bot API simulator and
/// the shared KeyCRM one; returns its RSS (KiB) after one customer, and its
/// peak after 50 more at once.
async fn host_alone_rss(crm: &KeyCrmSim, dir: &std::path::Path) -> (u64, u64) {
    let telegram = TelegramSim::start(SimConfig::default())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let config = dir.join("host-alone.toml");
    let text = format!(
        r#"
[crm]
active = "keycrm"
[telegram]
token = "{token}"
api_url = "{api_url}"
[telegram.limits]
enabled = false
[storage]
url = "sqlite://{db}"
[runtime]
cache_dir = "{cache}"
[plugins.keycrm]
path = "{plugin}"
allowed_hosts = ["{crm_addr}"]
allow_http_loopback = true
[plugins.keycrm.config]
base_url = "{base_url}"
api_key = "test-key"
source_id = 1
"#,
        token = telegram.token(),
        api_url = telegram.api_url(),
        db = dir.join("host-alone.db").display(),
        cache = dir.join("cache").display(),
        plugin = PathBufDist::keycrm().display(),
        crm_addr = crm.addr(),
        base_url = crm.base_url(),
    );
    std::fs::write(&config, text).unwrap_or_else(|e| panic!("{e}"));
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(["run", "--config"])
        .arg(&config)
        .env("SWITCHBOARD_LOG", "warn")
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    let pid = child.id().unwrap_or_default();
    let status = |field: &str| {
        std::fs::read_to_string(format!("/proc/{pid}/status"))
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with(field))
                    .and_then(|l| l.split_whitespace().nth(1))
                    .and_then(|n| n.parse::<u64>().ok())
            })
            .unwrap_or(0)
    };
    customer(telegram.user(1, "Warm")).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let idle = status("VmRSS:");
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..50 {
        tasks.spawn(customer(telegram.user(500 + i, "Покупець")));
    }
    while tasks.join_next().await.is_some() {}
    let peak = status("VmHWM:");
    let _ = child.kill().await;
    (idle, peak)
}

/// p50 and p99 in seconds.
fn percentiles(latencies: &mut [Duration]) -> (f64, f64) {
    latencies.sort();
    let pct = |p: f64| {
        latencies
            .get(((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1)))
            .map_or(0.0, Duration::as_secs_f64)
    };
    (pct(0.50), pct(0.99))
}

/// The bundled KeyCRM component.
struct PathBufDist;

impl PathBufDist {
    fn keycrm() -> std::path::PathBuf {
        let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../plugins/dist/keycrm.wasm");
        assert!(
            path.is_file(),
            "{} is missing: run `make plugins`",
            path.display()
        );
        path
    }
}
