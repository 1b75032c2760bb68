//! Serves a simulated amoCRM (Kommo) API v4 until Ctrl-C, for demos and manual testing.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use clap::Parser;
use switchboard_sim::{AmoCrmConfig, AmoCrmSim};

/// Simulated amoCRM API v4 with a generated Ukrainian products list.
#[derive(Debug, Parser)]
#[command(name = "switchboard-amocrm-sim", version)]
struct Args {
    /// Port to listen on (on 127.0.0.1 unless --host says otherwise).
    #[arg(long, default_value_t = 8082)]
    port: u16,
    /// Address to listen on.
    #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    host: IpAddr,
    /// Number of elements in the products list.
    #[arg(long, default_value_t = 120)]
    products: usize,
    /// The long-lived token clients must send as `Authorization: Bearer <token>`.
    #[arg(long, env = "AMOCRM_SIM_TOKEN", default_value = "amo-test-token")]
    token: String,
    /// Requests allowed per second (real amoCRM: 7); unlimited if absent.
    #[arg(long)]
    rate_limit: Option<u32>,
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args = Args::parse();
    let config = AmoCrmConfig {
        token: args.token,
        rate_limit_per_second: args.rate_limit,
        ..AmoCrmConfig::with_catalog(args.products)
    };
    let sim = AmoCrmSim::start_on(config, SocketAddr::new(args.host, args.port)).await?;
    println!("{}/api/v4", sim.base_url());
    tokio::signal::ctrl_c().await?;
    sim.shutdown().await;
    Ok(())
}
