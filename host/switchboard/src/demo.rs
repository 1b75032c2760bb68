//! `switchboard demo`: the whole shop on one machine, without any account.
//!
//! Starts the Bot API simulator, the simulated KeyCRM with a sample
//! catalog, the real `keycrm.wasm` in the sandbox, an SQLite store in a
//! temporary folder and the real dialogue, then lets a person chat with the
//! bot in the terminal as a Telegram user would.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use switchboard_sim::{KeyCrmConfig, KeyCrmSim};
use switchboard_telegram_sim::{BotMessage, SimConfig, TelegramSim, VirtualUser};
use tokio::io::AsyncBufReadExt;

use crate::config::{
    MessageLimits, PluginSettings, RateLimit, RuntimeSettings, ShopSettings, TelegramSettings,
    UpdateMode,
};
use switchboard_plugin_runtime::{Registry, Runtime};
use switchboard_shop::service::{self, Parts};
use switchboard_store::Store;

/// Where the bundled plugins are: `plugins/dist` under the current folder,
/// or next to the repository the binary was built in.
pub fn find_dist(file: &str) -> anyhow::Result<PathBuf> {
    let candidates = [
        PathBuf::from("plugins/dist").join(file),
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../plugins/dist")
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

const HELP: &str = "Type a message and press Enter. Also:
  /start, /catalog, /cart, /status, /help, /cancel, /stop   bot commands
  3            press inline button number 3 of the last message
  r2           press reply-keyboard button number 2
  contact      share your own phone number (+380501234567)
  contact other   share someone else's number
  location LAT LON   send a location
  crm          show the leads that landed in the simulated KeyCRM
  quit         leave";

fn print_message(m: &BotMessage, edited: bool) {
    let tag = if edited { "bot (edited)" } else { "bot" };
    if let Some(photo) = &m.photo {
        println!("\n[{tag}] [photo {photo}]");
    } else {
        println!("\n[{tag}]");
    }
    println!("{}", m.body());
    for (i, (label, _)) in m.inline_buttons().iter().enumerate() {
        println!("   ({}) {label}", i + 1);
    }
    for (i, label) in m.reply_buttons().iter().enumerate() {
        println!("   (r{}) {label}", i + 1);
    }
}

/// Prints every new or edited bot message in the user's chat.
async fn printer(user: VirtualUser) {
    let mut seen: HashMap<i64, u32> = HashMap::new();
    loop {
        for m in user.messages() {
            let edits = seen.get(&m.message_id).copied();
            if edits != Some(m.edit_count) {
                print_message(&m, edits.is_some());
                seen.insert(m.message_id, m.edit_count);
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Runs the demo with a catalog of `offers` offers.
pub async fn run(offers: usize) -> anyhow::Result<()> {
    let telegram = TelegramSim::start(SimConfig::default())
        .await
        .context("starting the Bot API simulator")?;
    let crm = KeyCrmSim::start(KeyCrmConfig::with_catalog(offers))
        .await
        .context("starting the simulated KeyCRM")?;
    let dir = tempfile_dir()?;
    let store = Store::open(&format!("sqlite://{}", dir.join("demo.db").display())).await?;

    let mut settings = PluginSettings::new("keycrm", find_dist("keycrm.wasm")?);
    settings.allowed_hosts = Some(vec![crm.addr().to_string()]);
    settings.allow_http_loopback = true;
    // The simulator enforces no limit; the real KeyCRM gets the manifest's 60/min.
    settings.rate_limit = Some(RateLimit {
        requests: 1000,
        per_seconds: 1,
    });
    settings.config.insert("base_url".into(), crm.base_url());
    settings.config.insert("api_key".into(), "test-key".into());
    settings.config.insert("source_id".into(), "1".into());
    let registry = Arc::new(Registry::new(Arc::new(Runtime::new(
        &RuntimeSettings::default(),
    )?)));
    registry.activate(&settings).await?;

    let (_stop, stop_rx) = tokio::sync::watch::channel(false);
    let parts = Parts {
        telegram: TelegramSettings {
            token: telegram.token().into(),
            api_url: telegram.api_url(),
            mode: UpdateMode::Polling,
            limits: MessageLimits::default(),
        },
        shop: ShopSettings {
            website_url: Some("https://shop.example".into()),
            instagram_url: Some("https://instagram.com/shop.example".into()),
            support_url: Some("https://t.me/shop_example_support".into()),
            delivery_text: Some("Нова пошта по всій Україні, 1–3 дні.".into()),
            ..ShopSettings::default()
        },
        tariff: None,
        store: store.clone(),
        registry,
        retry: switchboard_outbox::RetryPolicy::default(),
    };
    service::start(parts, stop_rx).await?;

    println!(
        "Switchboard demo: a shop with {offers} products in a simulated KeyCRM, the real keycrm.wasm,"
    );
    println!("the real dialogue, and you as Telegram user 100200300 (Олена).\n{HELP}\n");
    let user = telegram
        .user(100_200_300, "Олена")
        .with_username("olena_demo");
    tokio::spawn(printer(user.clone()));
    user.send_command("/start").await;

    let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
    while let Some(line) = lines.next_line().await? {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        match line {
            "quit" | "exit" => break,
            "help" | "?" => println!("{HELP}"),
            "crm" => {
                let cards = crm.cards();
                println!("\n{} lead(s) in the simulated KeyCRM:", cards.len());
                for card in cards {
                    println!("{}", serde_json::to_string_pretty(&card)?);
                }
            }
            "contact" => user.share_contact("+380501234567", true).await,
            "contact other" => user.share_contact("+380671112233", false).await,
            _ if line.starts_with("location ") => {
                let numbers: Vec<f64> = line
                    .split_whitespace()
                    .skip(1)
                    .filter_map(|n| n.parse().ok())
                    .collect();
                match numbers[..] {
                    [lat, lon] => user.send_location(lat, lon).await,
                    _ => println!("usage: location 50.45 30.52"),
                }
            }
            _ if line.starts_with('/') => user.send_command(line).await,
            _ if line.starts_with('r') && line[1..].parse::<usize>().is_ok() => {
                let n: usize = line[1..].parse().unwrap_or(0);
                let label = user
                    .messages()
                    .iter()
                    .rev()
                    .find_map(|m| m.reply_buttons().get(n.wrapping_sub(1)).cloned());
                match label {
                    Some(label) => {
                        if let Err(e) = user.press_reply(&label).await {
                            println!("cannot press it: {e:?}");
                        }
                    }
                    None => println!("no reply button r{n}"),
                }
            }
            _ if line.parse::<usize>().is_ok() => {
                let n: usize = line.parse().unwrap_or(0);
                let label = user.last_message().and_then(|m| {
                    m.inline_buttons()
                        .get(n.wrapping_sub(1))
                        .map(|(l, _)| l.clone())
                });
                match label {
                    Some(label) => {
                        if let Err(e) = user.press(&label).await {
                            println!("cannot press it: {e:?}");
                        }
                    }
                    None => println!("the last message has no button {n}"),
                }
            }
            text => user.send_text(text).await,
        }
    }
    // Let the last replies print before leaving.
    tokio::time::sleep(Duration::from_millis(300)).await;
    Ok(())
}

fn tempfile_dir() -> anyhow::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("switchboard-demo-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
}
