//! The command line: `switchboard run`, `demo`, `plugin inspect|call|check|new|activate`,
//! `outbox list|retry|drop`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use secrecy::ExposeSecret;
use serde_json::{Value, json};

use crate::app::App;
use crate::config::{self, PluginSettings, RuntimeSettings};
use switchboard_plugin_runtime::loaded::ConfigCheck;
use switchboard_plugin_runtime::manifest::Manifest;
use switchboard_plugin_runtime::{CallError, LoadedPlugin, Runtime};

/// Switchboard: Telegram shop and support bots with sandboxed CRM plugins.
#[derive(Debug, Parser)]
#[command(name = "switchboard", version, about)]
pub struct Cli {
    /// Log filter (`info`, `debug`, `switchboard=debug,wasmtime=warn`).
    #[arg(long, global = true, env = "SWITCHBOARD_LOG", default_value = "info")]
    pub log: String,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the host with a config file (SIGHUP re-reads it).
    Run {
        /// The TOML config file.
        #[arg(long, short, default_value = "switchboard.toml")]
        config: PathBuf,
    },
    /// Try it without any account: the real KeyCRM plugin against a simulated
    /// KeyCRM on loopback.
    #[cfg(feature = "simulators")]
    Demo {
        /// How many offers the simulated catalog has.
        #[arg(long, default_value_t = 230)]
        offers: usize,
    },
    /// Work with plugin components.
    Plugin {
        /// What to do with a plugin.
        #[command(subcommand)]
        command: PluginCommand,
    },
    /// Inspect and repair the lead outbox (works beside a running host).
    Outbox {
        /// The TOML config file (its `[storage]` is used).
        #[arg(long, short, default_value = "switchboard.toml", global = true)]
        config: PathBuf,
        /// What to do.
        #[command(subcommand)]
        command: OutboxCommand,
    },
}

/// `switchboard outbox …`.
#[derive(Debug, Subcommand)]
pub enum OutboxCommand {
    /// List leads: by default the pending and dead-lettered ones.
    List {
        /// Only this state: pending, dead, delivered, dropped.
        #[arg(long)]
        state: Option<String>,
        /// At most this many of each state.
        #[arg(long, default_value_t = 100)]
        limit: i64,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Put dead-lettered (or waiting) leads back in line, due now.
    Retry {
        /// Lead ids.
        ids: Vec<i64>,
        /// Every dead-lettered lead.
        #[arg(long, conflicts_with = "ids")]
        all_dead: bool,
    },
    /// Stop delivering leads; the rows are kept as `dropped`.
    Drop {
        /// Lead ids.
        #[arg(required = true)]
        ids: Vec<i64>,
    },
}

/// `switchboard plugin …`.
#[derive(Debug, Subcommand)]
pub enum PluginCommand {
    /// Show a plugin's manifest, exports, imports and self-description.
    Inspect {
        /// The component (`.wasm`).
        file: PathBuf,
        /// The manifest (default: the `.wasm` path with `.toml`).
        #[arg(long)]
        manifest: Option<PathBuf>,
    },
    /// Call one operation of a plugin and print the result as JSON.
    Call(CallArgs),
    /// Start a new plugin: a crate that builds and passes
    /// `plugin check --against webhook-sim` as it is.
    New {
        /// The plugin id: lower-case letters, digits and dashes.
        name: String,
        /// The language.
        #[arg(long, value_enum, default_value = "rust")]
        lang: Lang,
        /// The folder to create it in.
        #[arg(long, default_value = ".")]
        dir: PathBuf,
        /// Rust: the Switchboard plugin SDK (`plugins/sdk` of a checkout).
        #[arg(long)]
        sdk: Option<PathBuf>,
        /// Python: the WIT package (`wit/since_v0.1.0` of a checkout).
        #[arg(long)]
        wit: Option<PathBuf>,
    },
    /// Run the conformance suite of the `crm` contract on a plugin.
    Check {
        /// The component (`.wasm`).
        file: PathBuf,
        /// `keycrm-sim`, `amocrm-sim`, `bitrix24-sim`, `webhook-sim` (started for the check,
        /// with faults injected), or a real CRM's URL (read-only checks; point
        /// the plugin at it with `--config`).
        #[arg(long)]
        against: crate::check::Against,
        /// A plugin config value, `key=value` (`env:NAME` and `file:PATH` work).
        #[arg(long = "config", value_name = "KEY=VALUE")]
        config: Vec<String>,
        /// Replace the manifest's allowed hosts (repeatable; for `--against <url>`).
        #[arg(long = "allow-host", value_name = "HOST")]
        allow_hosts: Vec<String>,
        /// The manifest (default: the `.wasm` path with `.toml`).
        #[arg(long)]
        manifest: Option<PathBuf>,
        /// Print JSON instead of lines.
        #[arg(long)]
        json: bool,
    },
    /// Make a configured plugin the active CRM of the running host (through
    /// its admin endpoint); calls in flight finish on the old one.
    Activate {
        /// The plugin id (`[plugins.<id>]`).
        id: String,
        /// The running host's config file (its `[admin]` is used).
        #[arg(long, short, default_value = "switchboard.toml")]
        config: PathBuf,
    },
}

/// The languages `plugin new` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Lang {
    /// A Rust crate over `switchboard-plugin-sdk`.
    Rust,
    /// Python, built with componentize-py (from the bundled `webhook` plugin).
    Python,
}

/// The operations `plugin call` can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Operation {
    /// `info()`.
    Info,
    /// `list-products(cursor, limit)`; `--all` follows every page.
    ListProducts,
    /// `get-product(ARG)`.
    GetProduct,
    /// `create-lead(ARG)`, ARG being lead JSON, `@file` or `-` for stdin.
    CreateLead,
    /// `lead-status(ARG)`.
    LeadStatus,
    /// `handle-webhook(--header…, --body)`.
    HandleWebhook,
}

/// Arguments of `plugin call`.
#[derive(Debug, clap::Args)]
pub struct CallArgs {
    /// The component (`.wasm`).
    pub file: PathBuf,
    /// The operation.
    #[arg(value_enum)]
    pub operation: Operation,
    /// The operation's argument: a product or lead id, or lead JSON.
    pub arg: Option<String>,
    /// A plugin config value, `key=value` (`env:NAME` and `file:PATH` work).
    #[arg(long = "config", value_name = "KEY=VALUE")]
    pub config: Vec<String>,
    /// Replace the manifest's allowed hosts (repeatable).
    #[arg(long = "allow-host", value_name = "HOST")]
    pub allow_hosts: Vec<String>,
    /// Allow plain http to loopback (for simulators).
    #[arg(long)]
    pub allow_http_loopback: bool,
    /// The manifest (default: the `.wasm` path with `.toml`).
    #[arg(long)]
    pub manifest: Option<PathBuf>,
    /// The call deadline in milliseconds.
    #[arg(long, default_value_t = config::DEFAULT_TIMEOUT_MS)]
    pub timeout_ms: u64,
    /// The memory limit in MiB.
    #[arg(long, default_value_t = config::DEFAULT_MEMORY_LIMIT_MIB)]
    pub memory_mib: u32,
    /// `list-products`: the cursor of the page.
    #[arg(long)]
    pub cursor: Option<String>,
    /// `list-products`: the page size.
    #[arg(long, default_value_t = 50)]
    pub limit: u32,
    /// `list-products`: follow every page and print all items.
    #[arg(long)]
    pub all: bool,
    /// `handle-webhook`: a request header, `name=value` (repeatable).
    #[arg(long = "header", value_name = "NAME=VALUE")]
    pub headers: Vec<String>,
    /// `handle-webhook`: the request body, `@file` or literal text.
    #[arg(long)]
    pub body: Option<String>,
}

/// The binary's entry point.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let filter = tracing_subscriber::EnvFilter::try_new(&cli.log)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Colour only on a terminal: a log file or journald would keep the
    // escape codes.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(dispatch(cli.command)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn dispatch(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Run { config } => run(config).await.map(|()| ExitCode::SUCCESS),
        #[cfg(feature = "simulators")]
        Command::Demo { offers } => crate::demo::run(offers).await.map(|()| ExitCode::SUCCESS),
        Command::Plugin {
            command: PluginCommand::Inspect { file, manifest },
        } => inspect(&file, manifest).await.map(|()| ExitCode::SUCCESS),
        Command::Plugin {
            command: PluginCommand::Call(args),
        } => call(args).await,
        Command::Outbox { config, command } => outbox(&config, command).await,
        Command::Plugin {
            command: PluginCommand::Activate { id, config },
        } => activate(&id, &config).await,
        Command::Plugin {
            command:
                PluginCommand::New {
                    name,
                    lang,
                    dir,
                    sdk,
                    wit,
                },
        } => {
            let path = match lang {
                Lang::Rust => crate::scaffold::rust(&name, &dir, sdk.as_deref())?,
                Lang::Python => crate::scaffold::python(&name, &dir, wit.as_deref())?,
            };
            println!("{}", path.display());
            Ok(ExitCode::SUCCESS)
        }
        Command::Plugin {
            command:
                PluginCommand::Check {
                    file,
                    against,
                    config,
                    allow_hosts,
                    manifest,
                    json,
                },
        } => check(&file, manifest, &against, &config, &allow_hosts, json).await,
    }
}

async fn check(
    file: &Path,
    manifest: Option<PathBuf>,
    against: &crate::check::Against,
    config_pairs: &[String],
    allow_hosts: &[String],
    as_json: bool,
) -> anyhow::Result<ExitCode> {
    use crate::check::Outcome;
    let (mut settings, _) = settings_for(file, manifest)?;
    for pair in config_pairs {
        let (key, value) = key_value(pair, "--config")?;
        let value = config::resolve_secret(&format!("--config {key}"), &value)?;
        settings.config.insert(key, value);
    }
    if !allow_hosts.is_empty() {
        settings.allowed_hosts = Some(allow_hosts.to_vec());
    }
    let runtime = cli_runtime()?;
    let findings = crate::check::run(&runtime, settings, against).await?;
    let failed = findings
        .iter()
        .filter(|f| matches!(f.outcome, Outcome::Fail(_)))
        .count();
    if as_json {
        println!(
            "{}",
            serde_json::to_string_pretty(
                &json!({ "file": file, "findings": findings, "failed": failed })
            )?
        );
    } else {
        for f in &findings {
            let (word, detail) = match &f.outcome {
                Outcome::Pass(d) => ("PASS", d),
                Outcome::Fail(d) => ("FAIL", d),
                Outcome::Skip(d) => ("SKIP", d),
            };
            println!("{word}  {:<12} {detail}", f.requirement);
        }
        println!(
            "{}: {} passed, {failed} failed, {} skipped",
            file.display(),
            findings
                .iter()
                .filter(|f| matches!(f.outcome, Outcome::Pass(_)))
                .count(),
            findings
                .iter()
                .filter(|f| matches!(f.outcome, Outcome::Skip(_)))
                .count(),
        );
    }
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

async fn activate(id: &str, config_path: &Path) -> anyhow::Result<ExitCode> {
    let config = crate::config::Config::load(config_path)
        .with_context(|| format!("reading {}", config_path.display()))?;
    let Some(admin) = config.admin else {
        bail!(
            "{} has no [admin] section: the running host has no endpoint to ask (edit crm.active and send SIGHUP instead)",
            config_path.display()
        );
    };
    let mut addr = admin.listen;
    if addr.ip().is_unspecified() {
        addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    let url = format!("http://{addr}/admin/plugins/activate");
    let response = reqwest::Client::new()
        .post(&url)
        .bearer_auth(admin.token.expose_secret())
        .json(&json!({ "id": id }))
        .timeout(Duration::from_secs(60))
        .send()
        .await
        .with_context(|| format!("is the host running? {url}"))?;
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    if status.is_success() {
        println!("{}", serde_json::to_string_pretty(&body)?);
        Ok(ExitCode::SUCCESS)
    } else {
        let reason = body["error"].as_str().unwrap_or("no reason given");
        eprintln!("activation refused ({status}): {reason}");
        Ok(ExitCode::from(2))
    }
}

async fn outbox(config_path: &Path, command: OutboxCommand) -> anyhow::Result<ExitCode> {
    use switchboard_store::LeadState;
    let config = crate::config::Config::load(config_path)
        .with_context(|| format!("reading {}", config_path.display()))?;
    let store = open_store(&config).await?;
    let mut code = ExitCode::SUCCESS;
    match command {
        OutboxCommand::List { state, limit, json } => {
            let states = match state.as_deref() {
                None => vec![LeadState::Pending, LeadState::Dead],
                Some(name) => vec![LeadState::parse(name).map_err(|_| {
                    anyhow::anyhow!(
                        "--state must be pending, dead, delivered or dropped, not `{name}`"
                    )
                })?],
            };
            let mut rows = Vec::new();
            for s in states {
                rows.extend(store.outbox(Some(s), limit).await?);
            }
            if json {
                let counts = store.outbox_counts().await?;
                let value = json!({
                    "counts": counts.iter().map(|(s, n)| (s.as_str(), *n)).collect::<std::collections::BTreeMap<_, _>>(),
                    "leads": rows.iter().map(crate::json::lead_row).collect::<Vec<_>>(),
                });
                println!("{}", serde_json::to_string_pretty(&value)?);
            } else {
                println!(
                    "{:>6}  {:<9} {:<8} {:<10} {:>8}  {:<20} {:<10} last error",
                    "id", "state", "kind", "plugin", "attempts", "next attempt (UTC)", "crm id"
                );
                for r in &rows {
                    println!(
                        "{:>6}  {:<9} {:<8} {:<10} {:>8}  {:<20} {:<10} {}",
                        r.id,
                        r.state.as_str(),
                        r.kind,
                        r.plugin_id,
                        r.attempts,
                        utc(r.next_attempt_at),
                        r.crm_id.as_deref().unwrap_or("-"),
                        r.last_error.as_deref().unwrap_or("-")
                    );
                }
                for (state, n) in store.outbox_counts().await? {
                    eprintln!("{}: {n}", state.as_str());
                }
            }
        }
        OutboxCommand::Retry { ids, all_dead } => {
            if all_dead {
                let n = store.retry_dead().await?;
                println!("{n} dead-lettered lead(s) back in line");
            } else if ids.is_empty() {
                bail!("name lead ids or pass --all-dead");
            }
            for id in ids {
                if store.retry_lead(id).await? {
                    println!("lead {id}: back in line");
                } else {
                    eprintln!("lead {id}: not found, delivered or dropped; unchanged");
                    code = ExitCode::from(2);
                }
            }
        }
        OutboxCommand::Drop { ids } => {
            for id in ids {
                if store.drop_lead(id).await? {
                    println!("lead {id}: dropped");
                } else {
                    eprintln!("lead {id}: not found or already delivered; unchanged");
                    code = ExitCode::from(2);
                }
            }
        }
    }
    store.close().await;
    Ok(code)
}

/// A Unix-millisecond time as `YYYY-MM-DD HH:MM:SS`, UTC.
fn utc(ms: i64) -> String {
    match jiff::Timestamp::from_millisecond(ms) {
        Ok(t) => t
            .to_zoned(jiff::tz::TimeZone::UTC)
            .strftime("%Y-%m-%d %H:%M:%S")
            .to_string(),
        Err(_) => format!("{ms} ms"),
    }
}

async fn run(config_path: PathBuf) -> anyhow::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};

    // Installed first, so that a SIGHUP or SIGTERM sent as soon as the host
    // answers (the admin endpoint is up) is handled, not fatal.
    let mut hangup = signal(SignalKind::hangup()).context("installing the SIGHUP handler")?;
    let mut terminate =
        signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
    let app = App::start(config_path.clone())
        .await
        .with_context(|| format!("starting with {}", config_path.display()))?;
    let config = app.config().await;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let dialogue = match config.telegram.clone() {
        Some(telegram) => {
            let store = open_store(&config).await?;
            load_standby_plugins(&app, &store).await;
            app.attach_store(store.clone());
            let parts = switchboard_shop::service::Parts {
                telegram,
                shop: config.shop.clone(),
                tariff: config.delivery.clone(),
                store,
                registry: Arc::clone(app.registry()),
                retry: config.retry,
            };
            Some(switchboard_shop::service::start(parts, stop_rx.clone()).await?)
        }
        None => {
            tracing::info!(
                "no [telegram] section: serving the plugin runtime and the admin endpoint only"
            );
            None
        }
    };
    if let Some(admin) = &config.admin {
        let listener = tokio::net::TcpListener::bind(admin.listen)
            .await
            .with_context(|| format!("admin.listen: cannot bind {}", admin.listen))?;
        // The bound address, not the configured one: `listen = "…:0"` picks
        // a free port, and this line is where it can be read.
        let bound = listener.local_addr().unwrap_or(admin.listen);
        tracing::info!(listen = %bound, "admin endpoint listening");
        let router = crate::admin::router(Arc::clone(&app), admin.token.expose_secret());
        let mut stop = stop_rx.clone();
        tokio::spawn(async move {
            let shutdown = async move {
                let _ = stop.wait_for(|s| *s).await;
            };
            if let Err(e) = axum::serve(listener, router)
                .with_graceful_shutdown(shutdown)
                .await
            {
                tracing::error!(error = %e, "admin endpoint stopped");
            }
        });
    } else {
        tracing::info!("admin endpoint disabled (no [admin] section in the config)");
    }

    loop {
        tokio::select! {
            _ = hangup.recv() => {
                tracing::info!("SIGHUP: re-reading the config");
                match app.reload().await {
                    Ok(plugin) => tracing::info!(plugin = %plugin.id(), version = %plugin.info.version, "config reloaded"),
                    Err(e) => tracing::error!(error = %e, "reload refused; the previous plugin stays active"),
                }
            }
            _ = terminate.recv() => break,
            _ = tokio::signal::ctrl_c() => break,
        }
    }
    tracing::info!("shutting down: no new updates; finishing the ones in flight");
    let _ = stop_tx.send(true);
    if let Some(task) = dialogue {
        // Updates in flight and outbox attempts in flight finish first;
        // whatever is cut off stays in the inbox and the outbox for the next
        // start.
        if tokio::time::timeout(SHUTDOWN_LIMIT, task).await.is_err() {
            tracing::warn!(
                limit_s = SHUTDOWN_LIMIT.as_secs(),
                "stopped before everything in flight finished; it resumes at the next start"
            );
        }
    }
    tracing::info!("stopped");
    Ok(())
}

/// The configured store, taking claims under the configured host id.
async fn open_store(config: &crate::config::Config) -> anyhow::Result<switchboard_store::Store> {
    let store = switchboard_store::Store::open(&config.storage_url)
        .await
        .context("opening the store")?;
    Ok(match &config.storage_host_id {
        Some(id) => store.with_host_id(id),
        None => store,
    })
}

/// The longest a SIGTERM waits for work in flight (a plugin call's deadline
/// plus the update drain).
const SHUTDOWN_LIMIT: Duration = Duration::from_secs(20);

/// Loads, as standbys, the configured plugins that pending leads were made
/// with and that are not active, so the outbox can deliver them.
async fn load_standby_plugins(app: &App, store: &switchboard_store::Store) {
    let ids = match store.pending_plugins().await {
        Ok(ids) => ids,
        Err(e) => {
            tracing::error!(error = %e, "cannot list the outbox's plugins");
            return;
        }
    };
    let config = app.config().await;
    for id in ids {
        if id.is_empty() || app.registry().for_id(&id).is_some() {
            continue;
        }
        match config.plugins.get(&id) {
            Some(settings) => match app.registry().load_standby(settings).await {
                Ok(_) => {
                    tracing::info!(plugin = %id, "loaded as a standby for leads still in the outbox")
                }
                Err(e) => {
                    tracing::error!(plugin = %id, error = %e, "cannot load the plugin of leads still in the outbox; they wait")
                }
            },
            None => {
                tracing::warn!(plugin = %id, "leads in the outbox were made with a plugin that is no longer configured; they wait (see `switchboard outbox list`)")
            }
        }
    }
}

fn settings_for(
    file: &Path,
    manifest: Option<PathBuf>,
) -> anyhow::Result<(PluginSettings, Manifest)> {
    let manifest_path = manifest.unwrap_or_else(|| file.with_extension("toml"));
    let parsed = Manifest::load(&manifest_path)?;
    let mut settings = PluginSettings::new(parsed.id.clone(), file);
    settings.manifest = Some(manifest_path);
    Ok((settings, parsed))
}

fn cli_runtime() -> anyhow::Result<Arc<Runtime>> {
    let settings = RuntimeSettings {
        max_instances: 8,
        ..RuntimeSettings::default()
    };
    Ok(Arc::new(Runtime::new(&settings)?))
}

async fn inspect(file: &Path, manifest: Option<PathBuf>) -> anyhow::Result<()> {
    let (settings, parsed) = settings_for(file, manifest)?;
    let runtime = cli_runtime()?;
    let plugin = LoadedPlugin::load_with(&runtime, &settings, None, ConfigCheck::Lenient).await?;
    let component = runtime
        .compile(
            file,
            std::fs::read(file).with_context(|| format!("reading {}", file.display()))?,
        )
        .await?
        .component;
    let ty = component.component_type();
    let imports: Vec<String> = ty
        .imports(runtime.engine())
        .map(|(n, _)| n.to_string())
        .collect();
    let exports: Vec<String> = ty
        .exports(runtime.engine())
        .map(|(n, _)| n.to_string())
        .collect();
    let config: Vec<Value> = parsed
        .config
        .iter()
        .map(|(key, spec)| {
            json!({
                "key": key,
                "required": spec.required,
                "secret": spec.secret,
                "default": spec.default,
                "description": spec.description,
            })
        })
        .collect();
    let out = json!({
        "id": parsed.id,
        "name": parsed.name,
        "version": parsed.version,
        "wit": parsed.wit,
        "description": parsed.description,
        "digest_sha256": plugin.digest,
        "size_bytes": std::fs::metadata(file).map(|m| m.len()).unwrap_or(0),
        "info": crate::json::info(&plugin.info),
        "exports": exports,
        "imports": imports,
        "allowed_hosts": parsed.allowed_hosts,
        "rate_limit": parsed.rate_limit.map(|r| json!({"requests": r.requests, "per_seconds": r.per_seconds})),
        "config": config,
    });
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(())
}

fn read_arg(arg: &str) -> anyhow::Result<String> {
    if arg == "-" {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)?;
        return Ok(text);
    }
    if let Some(path) = arg.strip_prefix('@') {
        return std::fs::read_to_string(path).with_context(|| format!("reading {path}"));
    }
    Ok(arg.to_string())
}

fn key_value(text: &str, what: &str) -> anyhow::Result<(String, String)> {
    match text.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
        _ => bail!("{what} `{text}` must look like key=value"),
    }
}

async fn call(args: CallArgs) -> anyhow::Result<ExitCode> {
    let (mut settings, _) = settings_for(&args.file, args.manifest.clone())?;
    for pair in &args.config {
        let (key, value) = key_value(pair, "--config")?;
        let value = config::resolve_secret(&format!("--config {key}"), &value)?;
        settings.config.insert(key, value);
    }
    if !args.allow_hosts.is_empty() {
        settings.allowed_hosts = Some(args.allow_hosts.clone());
    }
    settings.allow_http_loopback = args.allow_http_loopback;
    settings.timeout = Duration::from_millis(args.timeout_ms);
    settings.memory_limit_bytes = u64::from(args.memory_mib) * 1024 * 1024;
    let runtime = cli_runtime()?;
    let plugin = LoadedPlugin::load(&runtime, &settings, None).await?;
    let need_arg = || {
        args.arg
            .clone()
            .ok_or_else(|| anyhow::anyhow!("{:?} needs an argument", args.operation))
    };
    let result: Result<Value, CallError> = match args.operation {
        Operation::Info => plugin.call_info().await.map(|i| crate::json::info(&i)),
        Operation::ListProducts if args.all => plugin
            .list_all_products(args.limit, 100_000)
            .await
            .map(|items| {
                json!({
                    "count": items.len(),
                    "items": items.iter().map(crate::json::product).collect::<Vec<_>>(),
                })
            }),
        Operation::ListProducts => plugin
            .list_products(args.cursor.as_deref(), args.limit)
            .await
            .map(|p| crate::json::page(&p)),
        Operation::GetProduct => plugin
            .get_product(&need_arg()?)
            .await
            .map(|p| crate::json::product(&p)),
        Operation::CreateLead => {
            let text = read_arg(&need_arg()?)?;
            let value: Value = serde_json::from_str(&text).context("the lead is not valid JSON")?;
            let lead = crate::json::lead_from(&value).map_err(|e| anyhow::anyhow!("lead: {e}"))?;
            plugin
                .create_lead(&lead)
                .await
                .map(|r| crate::json::lead_ref(&r))
        }
        Operation::LeadStatus => plugin
            .lead_status(&need_arg()?)
            .await
            .map(|s| crate::json::status(&s)),
        Operation::HandleWebhook => {
            let headers = args
                .headers
                .iter()
                .map(|h| key_value(h, "--header").map(|(k, v)| (k.to_ascii_lowercase(), v)))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let body = read_arg(args.body.as_deref().unwrap_or(""))?;
            plugin
                .handle_webhook(&headers, body.as_bytes())
                .await
                .map(|e| crate::json::events(&e))
        }
    };
    match result {
        Ok(value) => {
            println!("{}", serde_json::to_string_pretty(&value)?);
            Ok(ExitCode::SUCCESS)
        }
        Err(CallError::Crm { error, .. }) => {
            println!(
                "{}",
                serde_json::to_string_pretty(&json!({ "error": crate::json::crm_error(&error) }))?
            );
            Ok(ExitCode::from(2))
        }
        Err(other) => Err(other.into()),
    }
}
