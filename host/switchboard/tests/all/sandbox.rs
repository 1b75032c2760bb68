//! The hostile plugin against the sandbox: every attack is contained, ends
//! in a typed error within the deadline, and the next ordinary call works.

use std::time::{Duration, Instant};

use switchboard_crm::CrmError;
use switchboard_plugin_runtime::{CallError, LoadedPlugin};
use switchboard_sim::{Fault, KeyCrmConfig, KeyCrmSim};

use crate::support::{cache_dir, dist, hostile_settings, load, runtime};

async fn sim() -> KeyCrmSim {
    KeyCrmSim::start(KeyCrmConfig::with_catalog(1))
        .await
        .unwrap_or_else(|e| panic!("starting the simulator: {e}"))
}

async fn still_serves(plugin: &LoadedPlugin) {
    let product = plugin
        .get_product("ordinary")
        .await
        .unwrap_or_else(|e| panic!("the call after an attack failed: {e}"));
    assert_eq!(product.id, "ordinary");
}

#[tokio::test]
async fn an_endless_loop_is_stopped_at_the_deadline() {
    let rt = runtime();
    let plugin = load(&rt, &hostile_settings()).await;
    let started = Instant::now();
    let result = plugin.get_product("loop").await;
    let took = started.elapsed();
    assert!(
        matches!(
            result,
            Err(CallError::Timeout {
                timeout_ms: 500,
                ..
            })
        ),
        "{result:?}"
    );
    assert!(took >= Duration::from_millis(500), "{took:?}");
    assert!(took < Duration::from_millis(1500), "stopped late: {took:?}");
    still_serves(&plugin).await;
}

#[tokio::test]
async fn a_gibibyte_allocation_hits_the_memory_limit() {
    let rt = runtime();
    let plugin = load(&rt, &hostile_settings()).await;
    let result = plugin.get_product("alloc").await;
    assert!(
        matches!(result, Err(CallError::OutOfMemory { limit_mib: 64, .. })),
        "{result:?}"
    );
    still_serves(&plugin).await;
}

#[tokio::test]
async fn a_panic_is_a_trap_not_a_host_crash() {
    let rt = runtime();
    let plugin = load(&rt, &hostile_settings()).await;
    let result = plugin.get_product("panic").await;
    assert!(matches!(result, Err(CallError::Trap { .. })), "{result:?}");
    still_serves(&plugin).await;
}

#[tokio::test]
async fn a_request_to_a_host_not_allowed_is_refused() {
    let forbidden = sim().await;
    let rt = runtime();
    let mut settings = hostile_settings();
    settings.allow_http_loopback = true;
    settings.config.insert(
        "forbidden_url".into(),
        format!("{}/offers", forbidden.base_url()),
    );
    let plugin = load(&rt, &settings).await;
    let result = plugin.get_product("forbidden-host").await;
    assert!(
        matches!(&result, Err(CallError::Crm { error: CrmError::Unauthorized(m), .. }) if m.contains("denied")),
        "{result:?}"
    );
    assert!(forbidden.requests().is_empty(), "the request went out");

    // Plain https to the public internet is refused just the same.
    settings
        .config
        .insert("forbidden_url".into(), "https://example.com/".into());
    let plugin = load(&rt, &settings).await;
    let result = plugin.get_product("forbidden-host").await;
    assert!(
        matches!(
            &result,
            Err(CallError::Crm {
                error: CrmError::Unauthorized(_),
                ..
            })
        ),
        "{result:?}"
    );
    still_serves(&plugin).await;
}

#[tokio::test]
async fn a_forged_host_header_does_not_open_another_host() {
    let allowed = sim().await;
    let forbidden = sim().await;
    let rt = runtime();
    let mut settings = hostile_settings();
    settings.allow_http_loopback = true;
    settings.allowed_hosts = Some(vec![allowed.addr().to_string()]);
    settings.config.insert(
        "allowed_url".into(),
        format!("{}/offers", allowed.base_url()),
    );
    settings.config.insert(
        "forbidden_url".into(),
        format!("{}/offers", forbidden.base_url()),
    );
    let plugin = load(&rt, &settings).await;
    let result = plugin.get_product("forged-host").await;
    assert!(result.is_err(), "{result:?}");
    assert!(
        forbidden.requests().is_empty(),
        "the forged request reached the forbidden host"
    );
    assert!(
        allowed.requests().is_empty(),
        "the forged request reached the allowed host"
    );
    still_serves(&plugin).await;
}

#[tokio::test]
async fn plain_http_to_loopback_needs_the_test_switch() {
    let server = sim().await;
    let rt = runtime();
    let mut settings = hostile_settings();
    settings.allowed_hosts = Some(vec![server.addr().to_string()]);
    settings.config.insert(
        "forbidden_url".into(),
        format!("{}/offers", server.base_url()),
    );
    let plugin = load(&rt, &settings).await;
    let result = plugin.get_product("forbidden-host").await;
    assert!(
        matches!(
            &result,
            Err(CallError::Crm {
                error: CrmError::Unauthorized(_),
                ..
            })
        ),
        "{result:?}"
    );
    assert!(server.requests().is_empty());
}

#[tokio::test]
async fn a_huge_response_is_cut_off_at_the_limit() {
    let server = sim().await;
    server.inject(Fault::HugeBody(64 * 1024 * 1024), None);
    let rt = runtime();
    let mut settings = hostile_settings();
    settings.timeout = Duration::from_secs(5);
    settings.allow_http_loopback = true;
    settings.allowed_hosts = Some(vec![server.addr().to_string()]);
    settings.max_response_bytes = 1024 * 1024;
    settings
        .config
        .insert("huge_url".into(), format!("{}/offers", server.base_url()));
    let plugin = load(&rt, &settings).await;
    let result = plugin.get_product("huge-response").await;
    assert!(
        matches!(&result, Err(CallError::Crm { error: CrmError::Unavailable(m), .. }) if m.contains("larger") || m.contains("Size")),
        "{result:?}"
    );
    still_serves(&plugin).await;
}

#[tokio::test]
async fn files_are_not_there() {
    let rt = runtime();
    let plugin = load(&rt, &hostile_settings()).await;
    let result = plugin.get_product("read-file").await;
    assert!(
        matches!(&result, Err(CallError::Crm { error: CrmError::NotFound(m), .. }) if m.starts_with("read /etc/passwd")),
        "{result:?}"
    );
    still_serves(&plugin).await;
}

#[tokio::test]
async fn environment_arguments_and_cwd_are_empty() {
    // SAFETY: set before any thread reads the environment in this test; the
    // variable only has to exist in the host process.
    unsafe { std::env::set_var("SWITCHBOARD_TEST_SECRET", "must-not-leak") };
    let rt = runtime();
    let plugin = load(&rt, &hostile_settings()).await;
    let product = plugin
        .get_product("env")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let description = product.description.unwrap_or_default();
    assert!(description.starts_with("vars=[] args=[]"), "{description}");
    assert!(!description.contains("must-not-leak"));
}

#[tokio::test]
async fn a_plugins_error_text_and_pause_are_bounded() {
    let rt = runtime();
    // With the breaker the registry gives every plugin.
    let plugin = load(&rt, &hostile_settings())
        .await
        .with_breaker(std::sync::Arc::new(
            switchboard_plugin_runtime::breaker::Breaker::default(),
        ));
    let result = plugin.get_product("forged-error").await;
    let Err(CallError::Crm {
        error: CrmError::Unavailable(text),
        ..
    }) = &result
    else {
        panic!("{result:?}")
    };
    // What the log, `leads.last_error` and the admin API get: one line,
    // no terminal escapes, a bounded length.
    assert!(!text.chars().any(char::is_control), "{text:?}");
    assert!(text.contains("\\n2026-12-08"), "{text:?}");
    assert!(text.len() <= CrmError::MAX_TEXT_BYTES + '…'.len_utf8());
    let shown = result
        .as_ref()
        .err()
        .map(ToString::to_string)
        .unwrap_or_default();
    assert!(
        !shown.contains('\n') && !shown.contains('\u{1b}'),
        "{shown:?}"
    );

    // 2^32−1 seconds asked; an hour at most taken: the next call finds the
    // circuit paused for no longer.
    let result = plugin.get_product("retry-forever").await;
    assert!(
        matches!(
            &result,
            Err(CallError::Crm {
                error: CrmError::RateLimited(CrmError::MAX_RETRY_AFTER_SECS),
                ..
            })
        ),
        "{result:?}"
    );
    let next = plugin.get_product("1").await;
    let Err(CallError::CircuitOpen { retry_in_ms, .. }) = next else {
        panic!("{next:?}")
    };
    assert!(
        (3_500_000..=3_600_000).contains(&retry_in_ms),
        "{retry_in_ms} ms"
    );
}

#[tokio::test]
async fn raw_sockets_are_refused() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
    let rt = runtime();
    let mut settings = hostile_settings();
    settings
        .config
        .insert("socket_addr".into(), addr.to_string());
    let plugin = load(&rt, &settings).await;
    let result = plugin.get_product("socket").await;
    assert!(
        matches!(&result, Err(CallError::Crm { error: CrmError::Unavailable(m), .. }) if m.starts_with("connect")),
        "{result:?}"
    );
    let accepted = tokio::time::timeout(Duration::from_millis(200), listener.accept()).await;
    assert!(accepted.is_err(), "the plugin opened a connection");
}

#[test]
fn printing_goes_nowhere_and_does_not_fail() {
    // The plugin prints 10,000 lines to its stdout and its stderr. Run by
    // the real binary, none of it reaches the host's own stdout or stderr:
    // the sandbox gives the plugin no inherited stdio.
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(["plugin", "call"])
        .arg(dist("hostile.wasm"))
        .args(["get-product", "stdout"])
        .env("XDG_CACHE_HOME", cache_dir())
        .env("SWITCHBOARD_LOG", "debug")
        .output()
        .unwrap_or_else(|e| panic!("running switchboard: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    // The call itself went through: the host printed the plugin's answer.
    let answer: serde_json::Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("stdout is not the answer alone ({e}): {stdout}"));
    assert_eq!(answer["description"], "printed", "{answer}");
    for line in ["hostile stdout line", "hostile stderr line"] {
        assert!(
            !stdout.contains(line),
            "the plugin's `{line}` reached the host's stdout"
        );
        assert!(
            !stderr.contains(line),
            "the plugin's `{line}` reached the host's stderr"
        );
    }
}

/// The call count the hostile plugin's instance reports in an ordinary
/// product's name (`Item <id> (call <n>)`): 1 for a fresh instance.
fn instance_calls(product: &switchboard_crm::Product) -> u32 {
    product
        .name
        .rsplit_once("(call ")
        .and_then(|(_, n)| n.strip_suffix(')'))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no call count in `{}`", product.name))
}

#[tokio::test]
async fn no_state_survives_between_calls() {
    // Each call gets a fresh instance: the plugin's static call counter
    // starts from zero every time, a plugin that traps mid-call leaves
    // nothing behind, and concurrent calls do not share memory.
    let rt = runtime();
    let plugin = std::sync::Arc::new(load(&rt, &hostile_settings()).await);

    // One after another on the same plugin.
    for i in 0..3 {
        let product = plugin
            .get_product(&format!("seq-{i}"))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(instance_calls(&product), 1, "call {i}: {}", product.name);
    }

    // Concurrently, with traps in between.
    let mut tasks = Vec::new();
    for i in 0..16 {
        let plugin = std::sync::Arc::clone(&plugin);
        tasks.push(tokio::spawn(async move {
            if i % 4 == 0 {
                plugin.get_product("panic").await.map(|_| ())
            } else {
                let id = format!("item-{i}");
                let p = plugin.get_product(&id).await?;
                assert_eq!(p.id, id);
                assert_eq!(instance_calls(&p), 1, "{}", p.name);
                Ok(())
            }
        }));
    }
    let mut traps = 0;
    for task in tasks {
        match task.await.unwrap_or_else(|e| panic!("{e}")) {
            Ok(()) => {}
            Err(CallError::Trap { .. }) => traps += 1,
            Err(other) => panic!("{other}"),
        }
    }
    assert_eq!(traps, 4);

    // After the traps, still a fresh counter.
    let product = plugin
        .get_product("after")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(instance_calls(&product), 1, "{}", product.name);
}
