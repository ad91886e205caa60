//! A standalone authorization server for browser and conformance tests: SQLite in memory (or
//! `--database URL`), one pre-registered public client and one user.
//!
//! ```text
//! cargo run -p switchyard-auth --example auth_server -- --port 9400 \
//!     --client-id conformance-client --redirect-uri http://127.0.0.1:3000/callback \
//!     --user alice --password 'correct horse battery'
//! ```
//!
//! Prints `listening on http://127.0.0.1:PORT` once it accepts connections.

use std::net::SocketAddr;
use std::sync::Arc;

use switchyard_auth::client::SsrfPolicy;
use switchyard_auth::server::{
    add_user, register_static_client, AsConfig, AuthorizationServer, StaticClient,
};
use switchyard_store::SqlStore;

struct Args {
    port: u16,
    database: String,
    client_id: String,
    client_secret: Option<String>,
    redirect_uris: Vec<String>,
    user: String,
    password: String,
    resource: String,
}

fn parse() -> Result<Args, String> {
    let mut a = Args {
        port: 9400,
        database: "sqlite::memory:".into(),
        client_id: "conformance-client".into(),
        client_secret: None,
        redirect_uris: Vec::new(),
        user: "alice".into(),
        password: "correct horse battery".into(),
        resource: String::new(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut val = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--port" => a.port = val()?.parse().map_err(|e| format!("--port: {e}"))?,
            "--database" => a.database = val()?,
            "--client-id" => a.client_id = val()?,
            "--client-secret" => a.client_secret = Some(val()?),
            "--redirect-uri" => a.redirect_uris.push(val()?),
            "--user" => a.user = val()?,
            "--password" => a.password = val()?,
            "--resource" => a.resource = val()?,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if a.redirect_uris.is_empty() {
        a.redirect_uris
            .push("http://127.0.0.1:3000/callback".into());
    }
    if a.resource.is_empty() {
        a.resource = format!("http://127.0.0.1:{}/mcp", a.port);
    }
    Ok(a)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = parse()?;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", args.port)).await?;
    let addr = listener.local_addr()?;
    let issuer = format!("http://{addr}");
    let store = Arc::new(SqlStore::open(&args.database).await?);
    register_static_client(
        store.as_ref(),
        StaticClient {
            client_id: args.client_id.clone(),
            client_secret: args.client_secret.clone(),
            client_name: "Switchyard test client".into(),
            redirect_uris: args.redirect_uris.clone(),
            ..StaticClient::default()
        },
    )
    .await?;
    add_user(store.as_ref(), &args.user, &args.password).await?;
    let cfg = AsConfig::new(&issuer)
        .with_resources(vec![args.resource.clone()])
        .with_scopes(vec!["mcp:read".into(), "mcp:write".into()])
        .with_metadata_document_ssrf(SsrfPolicy::danger_allow_loopback_http());
    let server = AuthorizationServer::new(cfg, store).await?;
    println!("listening on {issuer}");
    axum::serve(
        listener,
        server
            .router()
            .into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Ok(())
}
