//! A gateway over the given upstreams, for trying it out and for running the conformance suite
//! through it:
//!
//! ```text
//! cargo run -p switchyard-gateway --example gateway -- --port 4000 --no-prefix --upstream http://127.0.0.1:3000/mcp
//! ```

use clap::Parser;
use switchyard_gateway::{Gateway, UpstreamConfig};
use switchyard_server::{HttpConfig, McpService};

#[derive(Parser)]
struct Args {
    /// Port on 127.0.0.1 (0 picks one).
    #[arg(long, default_value_t = 4000)]
    port: u16,
    /// Upstream MCP URL (repeatable); named u0, u1, …
    #[arg(long = "upstream")]
    upstreams: Vec<String>,
    /// Upstream stdio command line (repeatable), split on spaces.
    #[arg(long = "upstream-command")]
    commands: Vec<String>,
    /// Expose upstream names unprefixed (a transparent gateway over one server).
    #[arg(long)]
    no_prefix: bool,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let mut ups = Vec::new();
    for (i, u) in args.upstreams.iter().enumerate() {
        ups.push(UpstreamConfig::url(format!("u{i}"), u.clone()));
    }
    for (i, c) in args.commands.iter().enumerate() {
        let mut parts = c.split_whitespace().map(str::to_owned);
        let prog = parts.next().ok_or("empty --upstream-command")?;
        ups.push(UpstreamConfig::command(
            format!("c{i}"),
            prog,
            parts.collect(),
        ));
    }
    if args.no_prefix {
        for u in &mut ups {
            u.prefix = Some(String::new());
        }
    }
    let (gw, server) = Gateway::build(ups, "switchyard-gateway", env!("CARGO_PKG_VERSION"));
    gw.refresh_all().await;
    let svc = McpService::new(server, HttpConfig::default());
    let app = axum::Router::new().route_service("/mcp", svc.clone());
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", args.port)).await?;
    eprintln!("gateway on http://{}/mcp", listener.local_addr()?);
    switchyard_server::serve(listener, app, async move {
        let _ = tokio::signal::ctrl_c().await;
        svc.shutdown();
    })
    .await?;
    Ok(())
}
