//! The Switchyard gateway in front of one upstream, names unprefixed, for measuring what the
//! gateway adds: `gateway-server --upstream http://127.0.0.1:P/mcp --port Q`.

use clap::Parser;
use switchyard_gateway::{Gateway, UpstreamConfig};
use switchyard_server::{HttpConfig, McpService};

#[derive(Parser)]
struct Args {
    /// The upstream MCP endpoint.
    #[arg(long)]
    upstream: String,
    /// Port on 127.0.0.1.
    #[arg(long, default_value_t = 8900)]
    port: u16,
    /// Tokio worker threads.
    #[arg(long, default_value_t = 1)]
    threads: usize,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.threads.max(1))
        .enable_all()
        .build()?
        .block_on(async move {
            let mut up = UpstreamConfig::url("up", args.upstream.clone());
            up.prefix = Some(String::new());
            let (gw, server) = Gateway::build(vec![up], "bench-gateway", "0.1.0");
            gw.refresh_all().await;
            let svc = McpService::new(server, HttpConfig::default());
            let listener = tokio::net::TcpListener::bind(("127.0.0.1", args.port)).await?;
            eprintln!("gateway-server listening on http://{}/mcp", listener.local_addr()?);
            switchyard_server::serve(listener, svc, async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await?;
            Ok(())
        })
}
