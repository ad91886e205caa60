//! `switchyard serve`: run an MCP endpoint.

use std::net::SocketAddr;
use std::process::ExitCode;

use anyhow::Context as _;
use switchyard_server::http::OriginPolicy;
use switchyard_server::{HttpConfig, McpService};

/// Options of `switchyard serve`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8787", env = "SWITCHYARD_LISTEN")]
    listen: SocketAddr,
    /// Path of the MCP endpoint.
    #[arg(long, default_value = "/mcp")]
    path: String,
    /// Serve on stdin/stdout instead of HTTP.
    #[arg(long)]
    stdio: bool,
    /// Also serve the 2024-11-05 HTTP+SSE transport (GET /sse, POST /messages) for old clients.
    #[arg(long)]
    legacy_sse: bool,
    /// Accept this public host name in Host/Origin headers (repeatable; loopback is always accepted).
    #[arg(long = "allow-host", value_name = "HOST")]
    allow_hosts: Vec<String>,
}

pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    rt.block_on(serve(args))
}

async fn serve(args: Args) -> anyhow::Result<ExitCode> {
    let server = crate::demo::server();
    if args.stdio {
        switchyard_server::stdio::serve_stdio(server).await?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut origin = OriginPolicy::default();
    for h in &args.allow_hosts {
        origin = origin.allow_host(h);
    }
    let cfg = HttpConfig {
        origin: origin.clone(),
        ..HttpConfig::default()
    };
    let svc = McpService::new(server.clone(), cfg);
    let mut app = axum::Router::new().route_service(&args.path, svc.clone());
    if args.legacy_sse {
        app = app.merge(switchyard_server::legacy_sse::router(
            server,
            origin,
            "/sse",
            "/messages",
        ));
    }
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("binding {}", args.listen))?;
    let addr = listener.local_addr()?;
    eprintln!("switchyard: serving MCP at http://{addr}{}", args.path);
    let shutdown = async move {
        shutdown_signal().await;
        eprintln!("switchyard: shutting down");
        svc.shutdown();
    };
    switchyard_server::serve(listener, app, shutdown).await?;
    Ok(ExitCode::SUCCESS)
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
