//! Serves a simulated Bitrix24 REST API until Ctrl-C, for demos and manual testing.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use clap::Parser;
use switchboard_sim::bitrix24::Bitrix24RateLimit;
use switchboard_sim::{Bitrix24Config, Bitrix24Sim};

/// Simulated Bitrix24 REST with an incoming webhook and a generated Ukrainian catalog.
#[derive(Debug, Parser)]
#[command(name = "switchboard-bitrix24-sim", version)]
struct Args {
    /// Port to listen on (on 127.0.0.1 unless --host says otherwise).
    #[arg(long, default_value_t = 8083)]
    port: u16,
    /// Address to listen on.
    #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    host: IpAddr,
    /// Number of products in the catalog.
    #[arg(long, default_value_t = 120)]
    products: usize,
    /// The webhook's user id (`/rest/<user-id>/<code>/`).
    #[arg(long, default_value_t = 1)]
    user_id: u64,
    /// The webhook's secret code (`/rest/<user-id>/<code>/`).
    #[arg(
        long,
        env = "BITRIX24_SIM_WEBHOOK_CODE",
        default_value = "sim0webhook0code"
    )]
    webhook_code: String,
    /// Apply the real request limit of most plans (50 at once, 2 per second).
    #[arg(long)]
    rate_limit: bool,
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args = Args::parse();
    let config = Bitrix24Config {
        user_id: args.user_id,
        webhook_code: args.webhook_code,
        rate_limit: args.rate_limit.then_some(Bitrix24RateLimit::STANDARD),
        ..Bitrix24Config::with_catalog(args.products)
    };
    let sim = Bitrix24Sim::start_on(config, SocketAddr::new(args.host, args.port)).await?;
    println!("{}", sim.webhook_url());
    tokio::signal::ctrl_c().await?;
    sim.shutdown().await;
    Ok(())
}
