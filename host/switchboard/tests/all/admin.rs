//! The admin endpoint and SIGHUP, through real HTTP and the real binary.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use switchboard::app::App;
use switchboard_sim::{KeyCrmConfig, KeyCrmSim};

use crate::support::{cache_dir, dist};

const TOKEN: &str = "test-admin-token-0123456789";

fn config_text(sim: &KeyCrmSim, active: &str, admin_listen: &str, keycrm_path: &Path) -> String {
    format!(
        r#"
[crm]
active = "{active}"

[runtime]
cache_dir = "{cache}"
max_instances = 8

[admin]
listen = "{admin_listen}"
token = "env:SWITCHBOARD_TEST_ADMIN_TOKEN"

[plugins.keycrm]
path = "{keycrm}"
allowed_hosts = ["{sim_addr}"]
allow_http_loopback = true

[plugins.keycrm.config]
base_url = "{base_url}"
api_key = "test-key"
source_id = 1

[plugins.hostile]
path = "{hostile}"
timeout_ms = 500
"#,
        cache = cache_dir().display(),
        keycrm = keycrm_path.display(),
        hostile = dist("hostile.wasm").display(),
        sim_addr = sim.addr(),
        base_url = sim.base_url(),
    )
}

fn set_token() {
    // SAFETY: every test sets the same value; nothing reads it concurrently
    // in a way that could observe a torn write.
    unsafe { std::env::set_var("SWITCHBOARD_TEST_ADMIN_TOKEN", TOKEN) };
}

async fn serve(app: Arc<App>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
    let router = switchboard::admin::router(app, TOKEN);
    tokio::spawn(async move { axum::serve(listener, router).await });
    format!("http://{addr}")
}

async fn send(
    client: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = client.request(method, url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request
        .send()
        .await
        .unwrap_or_else(|e| panic!("{url}: {e}"));
    let status = response.status().as_u16();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, body)
}

#[tokio::test]
async fn the_admin_endpoint_swaps_plugins_and_refuses_strangers() {
    set_token();
    let sim = KeyCrmSim::start(KeyCrmConfig::with_catalog(5))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let config_path = dir.path().join("switchboard.toml");
    std::fs::write(
        &config_path,
        config_text(&sim, "keycrm", "127.0.0.1:0", &dist("keycrm.wasm")),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let app = App::start(config_path.clone())
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let base = serve(Arc::clone(&app)).await;
    let client = reqwest::Client::new();
    let plugins = format!("{base}/admin/plugins");
    let activate = format!("{base}/admin/plugins/activate");

    assert_eq!(
        send(
            &client,
            reqwest::Method::GET,
            &format!("{base}/healthz"),
            None,
            None
        )
        .await
        .0,
        200
    );
    assert_eq!(
        send(&client, reqwest::Method::GET, &plugins, None, None)
            .await
            .0,
        401
    );
    assert_eq!(
        send(
            &client,
            reqwest::Method::GET,
            &plugins,
            Some("wrong-token-0123456789"),
            None
        )
        .await
        .0,
        401
    );
    let (status, _) = send(
        &client,
        reqwest::Method::POST,
        &activate,
        None,
        Some(json!({"id": "hostile"})),
    )
    .await;
    assert_eq!(status, 401);
    assert_eq!(
        app.registry()
            .active()
            .map(|p| p.id().to_string())
            .ok()
            .as_deref(),
        Some("keycrm")
    );

    let (status, body) = send(&client, reqwest::Method::GET, &plugins, Some(TOKEN), None).await;
    assert_eq!(status, 200);
    assert_eq!(body["active"]["id"], "keycrm");
    assert_eq!(body["configured"], json!(["hostile", "keycrm"]));

    let (status, body) = send(
        &client,
        reqwest::Method::POST,
        &activate,
        Some(TOKEN),
        Some(json!({"id": "hostile"})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["active"]["id"], "hostile");
    assert_eq!(
        app.registry()
            .active()
            .map(|p| p.id().to_string())
            .ok()
            .as_deref(),
        Some("hostile")
    );

    let (status, body) = send(
        &client,
        reqwest::Method::POST,
        &activate,
        Some(TOKEN),
        Some(json!({"id": "bitrix24"})),
    )
    .await;
    assert_eq!(status, 404, "{body}");
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|e| e.contains("bitrix24")),
        "{body}"
    );

    let (status, _) = send(
        &client,
        reqwest::Method::POST,
        &activate,
        Some(TOKEN),
        Some(json!({"name": 1})),
    )
    .await;
    assert_eq!(status, 400);

    // Break the KeyCRM path in the file: activating it is refused with the
    // reason, and the hostile plugin keeps serving.
    std::fs::write(
        &config_path,
        config_text(
            &sim,
            "keycrm",
            "127.0.0.1:0",
            &dir.path().join("missing.wasm"),
        ),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let (status, body) = send(
        &client,
        reqwest::Method::POST,
        &format!("{base}/admin/reload"),
        Some(TOKEN),
        None,
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|e| e.contains("missing.")),
        "{body}"
    );
    let active = app.registry().active().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(active.id(), "hostile");
    active
        .get_product("ok")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
}

struct Host(Child);

impl Drop for Host {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The lines a child writes to stderr (its log), collected as they come.
#[derive(Clone, Default)]
struct Log(Arc<std::sync::Mutex<Vec<String>>>);

impl Log {
    /// Collects `child`'s stderr on a thread of its own.
    fn of(child: &mut Child) -> Self {
        let log = Self::default();
        let stderr = child
            .stderr
            .take()
            .unwrap_or_else(|| panic!("the host's stderr is not piped"));
        let lines = Arc::clone(&log.0);
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                lines.lock().unwrap_or_else(|p| p.into_inner()).push(line);
            }
        });
        log
    }

    /// How many lines so far contain `text`.
    fn count(&self, text: &str) -> usize {
        self.0
            .lock()
            .map(|lines| lines.iter().filter(|l| l.contains(text)).count())
            .unwrap_or(0)
    }

    /// Waits until more than `seen` lines contain `text`.
    async fn wait_for(&self, text: &str, seen: usize) {
        let started = Instant::now();
        while self.count(text) <= seen {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "the host never logged `{text}`; its log:\n{}",
                self.0.lock().map(|l| l.join("\n")).unwrap_or_default()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Log {
    /// The address the host says its admin endpoint is bound to: it is
    /// started on port 0 and picks a free one itself, so no other process
    /// can take the port between a test's choice and the host's bind.
    async fn admin_address(&self) -> String {
        const SAID: &str = "admin endpoint listening";
        self.wait_for(SAID, 0).await;
        let lines = self.0.lock().map(|l| l.clone()).unwrap_or_default();
        lines
            .iter()
            .find(|l| l.contains(SAID))
            .and_then(|l| l.split_whitespace().find_map(|w| w.strip_prefix("listen=")))
            .map(str::to_string)
            .unwrap_or_else(|| panic!("no address in the host's log: {lines:?}"))
    }
}

async fn active_id(client: &reqwest::Client, base: &str) -> Option<String> {
    let response = client
        .get(format!("{base}/admin/plugins"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .ok()?;
    let body: Value = response.json().await.ok()?;
    body["active"]["id"].as_str().map(String::from)
}

async fn wait_for_active(client: &reqwest::Client, base: &str, want: &str) {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(60) {
        if active_id(client, base).await.as_deref() == Some(want) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the host never reported `{want}` as active");
}

fn hangup(host: &Host) {
    let status = Command::new("kill")
        .args(["-HUP", &host.0.id().to_string()])
        .status()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(status.success());
}

fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_switchboard"))
}

#[tokio::test]
async fn sighup_rereads_the_config_and_swaps_the_crm() {
    set_token();
    let sim = KeyCrmSim::start(KeyCrmConfig::with_catalog(5))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let config_path = dir.path().join("switchboard.toml");
    std::fs::write(
        &config_path,
        config_text(&sim, "keycrm", "127.0.0.1:0", &dist("keycrm.wasm")),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let mut child = Command::new(binary())
        .args(["run", "--config"])
        .arg(&config_path)
        .env("SWITCHBOARD_TEST_ADMIN_TOKEN", TOKEN)
        .env("SWITCHBOARD_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    let log = Log::of(&mut child);
    let host = Host(child);
    // From here on the config names the port the host took, as the CLI
    // (`plugin activate`) reads it from there.
    let listen = log.admin_address().await;
    let base = format!("http://{listen}");
    let client = reqwest::Client::new();
    wait_for_active(&client, &base, "keycrm").await;

    // An edit followed by SIGHUP is applied.
    std::fs::write(
        &config_path,
        config_text(&sim, "hostile", &listen, &dist("keycrm.wasm")),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    hangup(&host);
    wait_for_active(&client, &base, "hostile").await;
    log.wait_for("config reloaded", 0).await;

    // `switchboard plugin activate` asks the running host's admin endpoint.
    let activate = |id: &str| {
        Command::new(binary())
            .args(["plugin", "activate", id, "--config"])
            .arg(&config_path)
            .env("SWITCHBOARD_TEST_ADMIN_TOKEN", TOKEN)
            .output()
            .unwrap_or_else(|e| panic!("{e}"))
    };
    let out = activate("keycrm");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("\"keycrm\""));
    assert_eq!(active_id(&client, &base).await.as_deref(), Some("keycrm"));
    let out = activate("nonesuch");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("nonesuch"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(active_id(&client, &base).await.as_deref(), Some("keycrm"));
    let out = activate("hostile");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // A broken edit followed by SIGHUP changes nothing: the host reads it,
    // refuses it (and says so), and the plugin stays.
    let refused = log.count("reload refused");
    let hangups = log.count("SIGHUP: re-reading the config");
    std::fs::write(&config_path, "[crm]\nactive = 42\n").unwrap_or_else(|e| panic!("{e}"));
    hangup(&host);
    log.wait_for("SIGHUP: re-reading the config", hangups).await;
    log.wait_for("reload refused", refused).await;
    assert_eq!(active_id(&client, &base).await.as_deref(), Some("hostile"));
}
