//! The `switchboard-telegram-sim` binary prints its URL and serves.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

#[tokio::test]
async fn binary_prints_the_api_url_and_serves() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_switchboard-telegram-sim"))
        .args(["--listen", "127.0.0.1:0", "--token", "42:bin-token"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("binary starts");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("first line");
    let url = line.trim().to_owned();
    let outcome = async {
        assert!(url.starts_with("http://127.0.0.1:"), "{url}");
        let body: serde_json::Value = reqwest::get(format!("{url}/bot42:bin-token/getMe"))
            .await
            .expect("request")
            .json()
            .await
            .expect("json");
        assert_eq!(body["result"]["id"], 42);
    };
    let result = tokio::time::timeout(std::time::Duration::from_secs(5), outcome).await;
    let _ = child.kill();
    let _ = child.wait();
    result.expect("binary answered in time");
}
