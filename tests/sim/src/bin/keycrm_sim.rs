//! Serves a simulated KeyCRM API until Ctrl-C, for demos and manual testing.

use std::net::SocketAddr;

use clap::Parser;
use switchboard_sim::{KeyCrmConfig, KeyCrmSim};

/// Simulated KeyCRM v1 API with a generated Ukrainian shop catalog.
#[derive(Debug, Parser)]
#[command(name = "switchboard-keycrm-sim", version)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8081")]
    listen: SocketAddr,
    /// Number of offers (product variants) in the generated catalog.
    #[arg(long, default_value_t = 230)]
    offers: usize,
    /// Serve this many products without variants and no offers instead of a catalog.
    #[arg(long)]
    products_only: Option<usize>,
    /// The API key clients must send as `Authorization: Bearer <key>`.
    #[arg(long, env = "KEYCRM_SIM_API_KEY", default_value = "test-key")]
    api_key: String,
    /// Accepted `source_id` values for new cards, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1")]
    source_ids: Vec<i64>,
    /// Requests allowed per API key per minute (real KeyCRM: 60); unlimited if absent.
    #[arg(long)]
    rate_limit: Option<u32>,
    /// Id of the first created card.
    #[arg(long, default_value_t = 1)]
    first_card_id: i64,
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args = Args::parse();
    let mut config = match args.products_only {
        Some(products) => KeyCrmConfig::with_products_only(products),
        None => KeyCrmConfig::with_catalog(args.offers),
    };
    config.api_key = args.api_key;
    config.valid_source_ids = args.source_ids;
    config.rate_limit_per_minute = args.rate_limit;
    config.first_card_id = args.first_card_id;
    let sim = KeyCrmSim::start_on(config, args.listen).await?;
    println!("{}", sim.base_url());
    tokio::signal::ctrl_c().await?;
    sim.shutdown().await;
    Ok(())
}
