//! Runs the Telegram Bot API simulator until Ctrl-C.

use std::net::SocketAddr;

use clap::Parser;
use switchboard_telegram_sim::{SimConfig, TelegramSim};

/// Telegram Bot API simulator on loopback.
#[derive(Debug, Parser)]
#[command(name = "switchboard-telegram-sim", version)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8081")]
    listen: SocketAddr,
    /// The bot token to accept.
    #[arg(long, default_value = "123456:TEST-token")]
    token: String,
    /// The bot's username.
    #[arg(long, default_value = "switchboard_test_bot")]
    username: String,
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args = Args::parse();
    let config = SimConfig {
        token: args.token,
        bot_username: args.username,
        ..SimConfig::default()
    };
    let sim = TelegramSim::start_on(config, args.listen).await?;
    println!("{}", sim.api_url());
    tokio::signal::ctrl_c().await?;
    sim.shutdown().await;
    Ok(())
}
