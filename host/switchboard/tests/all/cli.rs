//! `switchboard plugin inspect` and `switchboard plugin call`.

use std::process::Command;

use serde_json::Value;
use switchboard_sim::{KeyCrmConfig, KeyCrmSim};

use crate::support::{cache_dir, dist};

fn switchboard(args: &[&str]) -> (i32, Value, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(args)
        .env("XDG_CACHE_HOME", cache_dir())
        .env("SWITCHBOARD_LOG", "warn")
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    let stderr = String::from_utf8_lossy(&output.stderr).to_string();
    let json = serde_json::from_str(&stdout).unwrap_or(Value::Null);
    (output.status.code().unwrap_or(-1), json, stderr)
}

#[test]
fn inspect_shows_the_manifest_and_the_contract() {
    let keycrm = dist("keycrm.wasm");
    let (code, out, stderr) = switchboard(&["plugin", "inspect", &keycrm.display().to_string()]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(out["id"], "keycrm");
    assert_eq!(out["wit"], "0.1.0");
    assert_eq!(out["info"]["name"], "KeyCRM");
    assert_eq!(out["allowed_hosts"][0], "openapi.keycrm.app");
    assert_eq!(out["rate_limit"]["requests"], 60);
    let exports: Vec<&str> = out["exports"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    assert_eq!(exports, ["switchboard:crm/plugin@0.1.0"]);
    let imports = out["imports"].to_string();
    assert!(imports.contains("wasi:http/outgoing-handler"), "{imports}");
    assert!(
        imports.contains("switchboard:crm/config@0.1.0"),
        "{imports}"
    );
    let api_key = out["config"]
        .as_array()
        .and_then(|keys| keys.iter().find(|k| k["key"] == "api_key"))
        .cloned()
        .unwrap_or(Value::Null);
    assert_eq!(api_key["required"], true);
    assert_eq!(api_key["secret"], true);
}

#[tokio::test]
async fn call_lists_the_whole_catalog_and_reports_errors() {
    let sim = KeyCrmSim::start(KeyCrmConfig::with_catalog(75))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let keycrm = dist("keycrm.wasm").display().to_string();
    let base_url = format!("base_url={}", sim.base_url());
    let host = sim.addr().to_string();
    let common = [
        "--config",
        &base_url,
        "--config",
        "api_key=test-key",
        "--config",
        "source_id=1",
        "--allow-host",
        &host,
        "--allow-http-loopback",
    ];

    let mut args = vec!["plugin", "call", &keycrm, "list-products", "--all"];
    args.extend(common);
    let (code, out, stderr) = tokio::task::spawn_blocking({
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        move || switchboard(&args.iter().map(String::as_str).collect::<Vec<_>>())
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(out["count"], 75);
    assert!(
        out["items"][0]["price"]["amount"]
            .as_str()
            .is_some_and(|a| a.contains('.'))
    );

    let mut args = vec!["plugin", "call", &keycrm, "lead-status", "999"];
    args.extend(common);
    let (code, out, _) = tokio::task::spawn_blocking({
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        move || switchboard(&args.iter().map(String::as_str).collect::<Vec<_>>())
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(code, 2);
    assert_eq!(out["error"]["kind"], "not-found");

    // A missing required key is named before any plugin code runs.
    let (code, _, stderr) = switchboard(&["plugin", "call", &keycrm, "info"]);
    assert_eq!(code, 1);
    assert!(stderr.contains("plugins.keycrm.config.api_key"), "{stderr}");
}

#[test]
fn call_reports_a_runaway_plugin() {
    let hostile = dist("hostile.wasm").display().to_string();
    let (code, _, stderr) = switchboard(&[
        "plugin",
        "call",
        &hostile,
        "get-product",
        "loop",
        "--timeout-ms",
        "300",
    ]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("did not finish get-product within 300 ms"),
        "{stderr}"
    );
}

#[test]
fn the_demo_greets_a_customer_in_the_terminal() {
    use std::io::{BufRead, Write};
    use std::process::Stdio;
    use std::time::{Duration, Instant};

    let mut child = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(["demo", "--offers", "20"])
        .env("XDG_CACHE_HOME", cache_dir())
        .env("SWITCHBOARD_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    // The demo's output, line by line, as it comes.
    let stdout = child
        .stdout
        .take()
        .unwrap_or_else(|| panic!("stdout is not piped"));
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let reader = std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut seen = String::new();
    // Waits until the output so far contains `text` (a generous cap only
    // turns a hang into a clear failure).
    let mut wait_for = |text: &str| {
        let deadline = Instant::now() + Duration::from_secs(120);
        while !seen.contains(text) {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => {
                    seen.push_str(&line);
                    seen.push('\n');
                }
                Err(e) => panic!("the demo never printed `{text}` ({e}); it printed:\n{seen}"),
            }
        }
    };
    // The bot greets, then the customer opens the catalog, then leaves.
    wait_for("Вітаємо, Олена");
    let mut stdin = child.stdin.take().unwrap_or_else(|| panic!("no stdin"));
    stdin
        .write_all(b"/catalog\n")
        .unwrap_or_else(|e| panic!("{e}"));
    wait_for("сторінка 1 з 3");
    stdin.write_all(b"quit\n").unwrap_or_else(|e| panic!("{e}"));
    drop(stdin);
    let status = child.wait().unwrap_or_else(|e| panic!("{e}"));
    reader
        .join()
        .unwrap_or_else(|_| panic!("the reader panicked"));
    assert!(status.success(), "{status:?}");
}

#[test]
fn plugin_check_passes_every_bundled_crm_plugin() {
    for (plugin, sim) in [
        ("keycrm.wasm", "keycrm-sim"),
        ("amocrm.wasm", "amocrm-sim"),
        ("bitrix24.wasm", "bitrix24-sim"),
    ] {
        let file = dist(plugin);
        let file = file.to_string_lossy();
        let (code, report, stderr) =
            switchboard(&["plugin", "check", &file, "--against", sim, "--json"]);
        assert_eq!(code, 0, "{plugin}: {report:#}\n{stderr}");
        assert_eq!(report["failed"], 0);
        let findings = report["findings"].as_array().cloned().unwrap_or_default();
        let passed: Vec<&str> = findings
            .iter()
            .filter(|f| f["outcome"] == "pass")
            .filter_map(|f| f["requirement"].as_str())
            .collect();
        assert_eq!(
            passed,
            [
                "info",
                "pagination",
                "money",
                "get-product",
                "create-lead",
                "idempotency",
                "errors",
                "deadline"
            ],
            "{plugin}: {report:#}"
        );
    }
}

#[test]
fn plugin_check_passes_the_python_webhook_plugin() {
    let file = dist("webhook.wasm");
    let (code, report, stderr) = switchboard(&[
        "plugin",
        "check",
        &file.to_string_lossy(),
        "--against",
        "webhook-sim",
        "--json",
    ]);
    assert_eq!(code, 0, "{report:#}\n{stderr}");
    let outcome = |name: &str| {
        report["findings"]
            .as_array()
            .and_then(|f| f.iter().find(|f| f["requirement"] == name))
            .map(|f| f["outcome"].as_str().unwrap_or_default().to_string())
            .unwrap_or_default()
    };
    for requirement in [
        "info",
        "pagination",
        "money",
        "get-product",
        "create-lead",
        "errors",
        "deadline",
    ] {
        assert_eq!(outcome(requirement), "pass", "{requirement}: {report:#}");
    }
    // It does not claim idempotent-create, and says so.
    assert_eq!(outcome("idempotency"), "skip");
}

#[test]
fn plugin_check_refuses_a_plugin_pointed_at_the_wrong_crm() {
    let file = dist("keycrm.wasm");
    let (code, _, stderr) = switchboard(&[
        "plugin",
        "check",
        &file.to_string_lossy(),
        "--against",
        "bitrix24-sim",
    ]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("api_key"), "{stderr}");
    let (code, _, stderr) = switchboard(&[
        "plugin",
        "check",
        &file.to_string_lossy(),
        "--against",
        "nowhere",
    ]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("keycrm-sim"), "{stderr}");
}

#[test]
fn plugin_new_writes_a_rust_plugin_that_builds_and_passes_the_check() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let out = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(["plugin", "new", "my-shop", "--dir"])
        .arg(dir.path())
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let root = dir.path().join("my-shop");
    for file in [
        "Cargo.toml",
        "manifest.toml",
        "build.sh",
        "README.md",
        "src/lib.rs",
    ] {
        assert!(root.join(file).is_file(), "{file} missing");
    }
    // A second time is refused: nothing is overwritten.
    let again = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(["plugin", "new", "my-shop", "--dir"])
        .arg(dir.path())
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));

    // It builds as it is (a target folder kept between runs, so only the
    // first run compiles the SDK's dependencies) ...
    let target = crate::support::root().join("target/scaffold");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let build = Command::new(cargo)
        .args([
            "build",
            "--release",
            "--target",
            "wasm32-wasip2",
            "--manifest-path",
        ])
        .arg(root.join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", &target)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        build.status.success(),
        "{}",
        String::from_utf8_lossy(&build.stderr)
    );
    // ... and passes the conformance check against the webhook simulator.
    let wasm = target.join("wasm32-wasip2/release/my_shop_crm.wasm");
    let (code, report, stderr) = switchboard(&[
        "plugin",
        "check",
        &wasm.to_string_lossy(),
        "--manifest",
        &root.join("manifest.toml").to_string_lossy(),
        "--against",
        "webhook-sim",
        "--json",
    ]);
    assert_eq!(code, 0, "{report:#}\n{stderr}");
    assert_eq!(report["failed"], 0);
}

#[test]
fn plugin_new_writes_a_python_plugin_that_builds_and_passes_the_check() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let out = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(["plugin", "new", "py-shop", "--lang", "python", "--dir"])
        .arg(dir.path())
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let root = dir.path().join("py-shop");
    let manifest = std::fs::read_to_string(root.join("manifest.toml")).unwrap_or_default();
    assert!(manifest.contains("id = \"py-shop\""), "{manifest}");
    // Its build runs its unit tests, then componentize-py.
    let build = Command::new(root.join("build.sh"))
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        build.status.success(),
        "{}{}",
        String::from_utf8_lossy(&build.stdout),
        String::from_utf8_lossy(&build.stderr)
    );
    let (code, report, stderr) = switchboard(&[
        "plugin",
        "check",
        &root.join("dist/py-shop.wasm").to_string_lossy(),
        "--against",
        "webhook-sim",
        "--json",
    ]);
    assert_eq!(code, 0, "{report:#}\n{stderr}");
    assert_eq!(
        report["findings"][0]["detail"]
            .as_str()
            .map(|d| d.starts_with("py-shop 0.1.0")),
        Some(true),
        "{report:#}"
    );
}
