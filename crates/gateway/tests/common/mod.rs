//! Shared by the gateway's integration tests: serving on a free loopback port.
#![allow(clippy::unwrap_used)] // Test code: a panic is the failure report.

use switchyard_server::{HttpConfig, McpService, Server};

/// Serves `app` on 127.0.0.1 (a free port) for the rest of the test; returns its `/mcp` URL.
pub(crate) async fn serve_app(app: axum::Router) -> String {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = switchyard_server::serve(l, app, std::future::pending()).await;
    });
    format!("http://{addr}/mcp")
}

/// Serves `server` over Streamable HTTP at `/mcp`; returns the endpoint's URL.
pub(crate) async fn serve(server: Server) -> String {
    serve_app(
        axum::Router::new().route_service("/mcp", McpService::new(server, HttpConfig::default())),
    )
    .await
}
