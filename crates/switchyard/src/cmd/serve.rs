//! `switchyard serve`: the main job. One secured MCP endpoint: the built-in authorization
//! server (or an external issuer), the bearer check, discovery documents, and behind them either
//! the built-in demo server or a gateway over the configured upstreams.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use axum::routing::get;
use switchyard_auth::resource::discovery::{discovery_router, McpManifest, ServerCard};
use switchyard_auth::resource::{
    protected_resource_metadata_router, BearerLayer, JwksSource, Principal, ResourceConfig,
};
use switchyard_auth::server::{
    add_user, register_static_client, AsConfig, AuthorizationServer, StaticClient,
};
use switchyard_gateway::{Caller, Gateway};

mod per_user;
use switchyard_server::http::OriginPolicy;
use switchyard_server::{HttpConfig, McpService, Server};
use switchyard_store::{AuthStore, SqlStore};

use crate::config::{AuthMode, Config};

/// Options of `switchyard serve`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Configuration file (TOML; see docs/configuration.md).
    #[arg(long, env = "SWITCHYARD_CONFIG")]
    config: Option<PathBuf>,
    /// Address to listen on (overrides the config).
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// Serve the demo server on stdin/stdout instead of HTTP (no authorization: stdio is local).
    #[arg(long)]
    stdio: bool,
    /// Also serve the 2024-11-05 HTTP+SSE transport (GET /sse, POST /messages) for old clients.
    #[arg(long)]
    legacy_sse: bool,
    /// Accept this public host name in Host/Origin headers (repeatable; loopback is always accepted).
    #[arg(long = "allow-host", value_name = "HOST")]
    allow_hosts: Vec<String>,
    /// Serve without authorization (local development only).
    #[arg(long)]
    danger_no_auth: bool,
}

pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    rt.block_on(serve(args))
}

/// Creates the first user when there is none: password from `SWITCHYARD_ADMIN_PASSWORD`, or a
/// random one printed once.
async fn ensure_admin(store: &dyn AuthStore) -> anyhow::Result<()> {
    if !store.list_users().await?.is_empty() {
        return Ok(());
    }
    let (password, generated) = match std::env::var("SWITCHYARD_ADMIN_PASSWORD") {
        Ok(p) if !p.is_empty() => (p, false),
        _ => {
            use base64::Engine as _;
            (
                base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(rand::random::<[u8; 18]>()),
                true,
            )
        }
    };
    add_user(store, "admin", &password).await?;
    if generated {
        eprintln!("switchyard: created the first user — username: admin  password: {password}");
        eprintln!("switchyard: (shown once; set SWITCHYARD_ADMIN_PASSWORD to choose it)");
    } else {
        eprintln!(
            "switchyard: created the first user 'admin' (password from SWITCHYARD_ADMIN_PASSWORD)"
        );
    }
    Ok(())
}

/// Command-line options win over the file (at start and on every reload alike).
fn apply_args(cfg: &mut Config, args: &Args) {
    if let Some(l) = args.listen {
        cfg.server.listen = l;
    }
    cfg.server
        .allowed_hosts
        .extend(args.allow_hosts.iter().cloned());
    cfg.server.legacy_sse |= args.legacy_sse;
    if args.danger_no_auth {
        cfg.auth.mode = AuthMode::None;
    }
}

/// Puts the gateway's view of the caller next to the bearer layer's [`Principal`]: the gateway
/// crate knows no authorization crate, only [`Caller`] (see its docs for why).
fn with_caller(
    mut req: axum::http::Request<axum::body::Body>,
) -> axum::http::Request<axum::body::Body> {
    if let Some(p) = req.extensions().get::<Principal>() {
        let caller = Caller::new(p.subject.clone(), p.scopes.clone());
        req.extensions_mut().insert(caller);
    }
    req
}

async fn serve(args: Args) -> anyhow::Result<ExitCode> {
    let mut cfg = match &args.config {
        Some(p) => Config::load(p)?,
        None => Config::default(),
    };
    apply_args(&mut cfg, &args);

    let (gateway, server) = if cfg.upstreams.is_empty() {
        (None, crate::demo::server())
    } else {
        let (gw, s) = Gateway::build(
            cfg.upstreams.clone(),
            "switchyard",
            env!("CARGO_PKG_VERSION"),
        );
        if let Some(ts) = cfg.gateway.tool_search.config() {
            gw.enable_tool_search(ts)?;
        }
        (Some(gw), s)
    };
    if args.stdio {
        switchyard_server::stdio::serve_stdio(server).await?;
        return Ok(ExitCode::SUCCESS);
    }

    let listener = tokio::net::TcpListener::bind(cfg.server.listen)
        .await
        .with_context(|| format!("binding {}", cfg.server.listen))?;
    let addr = listener.local_addr()?;
    if cfg.server.public_url.is_none() {
        cfg.server.public_url = Some(format!("http://{addr}"));
    }
    let public = cfg.public_url();
    let path = cfg.server.path.clone();
    let resource = format!("{public}{path}");

    let mut origin = OriginPolicy::default();
    for h in &cfg.server.allowed_hosts {
        origin = origin.allow_host(h);
    }
    let svc = McpService::new(
        server.clone(),
        HttpConfig {
            origin: origin.clone(),
            ..HttpConfig::default()
        },
    );
    let versions: Vec<String> = [
        "2026-07-28",
        "2025-11-25",
        "2025-06-18",
        "2025-03-26",
        "2024-11-05",
    ]
    .iter()
    .map(|v| (*v).to_owned())
    .collect();
    let metrics = switchyard_server::metrics::Metrics::new();
    let (m, msvc) = (metrics.clone(), svc.clone());
    let mut app = axum::Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(|| async { "ready" }))
        .route(
            "/metrics",
            get(move || {
                let (m, msvc) = (m.clone(), msvc.clone());
                async move {
                    (
                        [("content-type", "text/plain; version=0.0.4")],
                        m.render(msvc.session_count(), ""),
                    )
                }
            }),
        );
    let measured = switchyard_server::metrics::Measured::new(svc.clone(), metrics.clone());
    // Set when per-user upstream OAuth needs the built-in AS's store and login sessions.
    let mut per_user_parts: Option<(Arc<SqlStore>, AuthorizationServer)> = None;

    match cfg.auth.mode {
        AuthMode::None => {
            eprintln!("switchyard: WARNING: serving without authorization (--danger-no-auth / auth.mode = \"none\")");
            if let Some(gw) = &gateway {
                // Nobody is authenticated, so required_scopes cannot hide anything.
                gw.set_open_access(true);
            }
            app = app.route_service(&path, measured.clone());
        }
        AuthMode::Builtin | AuthMode::External => {
            let (issuer, jwks, as_router) = if cfg.auth.mode == AuthMode::Builtin {
                let url = match &cfg.auth.database_url {
                    Some(u) => u.clone(),
                    None => switchyard_store::default_sqlite_url()?,
                };
                let store = Arc::new(
                    SqlStore::open(&url)
                        .await
                        .with_context(|| format!("opening {url}"))?,
                );
                for c in &cfg.auth.clients {
                    let secret = match (&c.client_secret, &c.client_secret_env) {
                        (Some(s), _) => Some(s.clone()),
                        (None, Some(env)) => Some(std::env::var(env).with_context(|| {
                            format!("client {}: ${env} is not set", c.client_id)
                        })?),
                        (None, None) => None,
                    };
                    register_static_client(
                        store.as_ref(),
                        StaticClient {
                            client_id: c.client_id.clone(),
                            client_secret: secret,
                            client_name: c.name.clone().unwrap_or_else(|| c.client_id.clone()),
                            redirect_uris: c.redirect_uris.clone(),
                            grant_types: c.grant_types.clone(),
                            ..StaticClient::default()
                        },
                    )
                    .await?;
                }
                for u in &cfg.auth.users {
                    let pw = std::env::var(&u.password_env).with_context(|| {
                        format!("user {}: ${} is not set", u.username, u.password_env)
                    })?;
                    add_user(store.as_ref(), &u.username, &pw).await?;
                }
                ensure_admin(store.as_ref()).await?;
                let issuer = cfg.auth.issuer.clone().unwrap_or_else(|| public.clone());
                let mut as_cfg = AsConfig::new(&issuer)
                    .with_resources(vec![resource.clone()])
                    .with_scopes(cfg.auth.scopes.clone());
                if cfg.auth.danger_allow_loopback_metadata_documents {
                    eprintln!("switchyard: WARNING: client metadata documents may be fetched from loopback (auth.danger_allow_loopback_metadata_documents; development only)");
                    as_cfg = as_cfg.with_metadata_document_ssrf(
                        switchyard_auth::client::SsrfPolicy::danger_allow_loopback_http(),
                    );
                }
                let authz = AuthorizationServer::new(as_cfg, store.clone()).await?;
                per_user_parts = Some((store, authz.clone()));
                let router = authz.router();
                (issuer, JwksSource::Provider(Arc::new(authz)), Some(router))
            } else {
                let issuer = cfg.auth.issuer.clone().unwrap_or_default();
                (
                    issuer,
                    JwksSource::Url(cfg.auth.jwks_url.clone().unwrap_or_default()),
                    None,
                )
            };
            let mut rc = ResourceConfig::new(resource.clone(), issuer.clone(), jwks);
            rc.scopes_supported = cfg.auth.scopes.clone();
            rc.resource_name = Some("Switchyard".into());
            let layer = BearerLayer::new(rc.clone()).context("configuring the bearer check")?;
            let protected = switchyard_server::metrics::Measured::new(
                tower::Layer::layer(
                    &layer,
                    tower::util::MapRequest::new(svc.clone(), with_caller),
                ),
                metrics.clone(),
            );
            app = app
                .route_service(&path, protected)
                .merge(protected_resource_metadata_router(&rc))
                .merge(discovery_router(
                    McpManifest::new(
                        "switchyard",
                        env!("CARGO_PKG_VERSION"),
                        resource.clone(),
                        versions.clone(),
                    )
                    .with_oauth(
                        &rc,
                        format!("{issuer}/authorize"),
                        format!("{issuer}/token"),
                    ),
                    ServerCard::new(
                        "io.switchyard/switchyard",
                        env!("CARGO_PKG_VERSION"),
                        "A Switchyard MCP endpoint",
                        resource.clone(),
                        versions.clone(),
                    ),
                ));
            if let Some(r) = as_router {
                app = app.merge(r);
            }
        }
    }
    if cfg.server.legacy_sse {
        app = app.merge(switchyard_server::legacy_sse::router(
            server.clone(),
            origin,
            "/sse",
            "/messages",
        ));
    }
    if let Some(gw) = &gateway {
        if cfg.upstreams.iter().any(|u| u.per_user().is_some()) {
            let Some((store, authz)) = per_user_parts else {
                anyhow::bail!("oauth_per_user upstreams need auth.mode = \"builtin\"");
            };
            per_user::enable(gw, &cfg, store, authz)?;
            app = app.merge(gw.connect_router());
        }
        gw.refresh_all().await;
    }
    #[cfg(unix)]
    if let Some(path) = args.config.clone() {
        tokio::spawn(reload_on_sighup(path, args, cfg.clone(), gateway.clone()));
    }
    tracing::info!(endpoint = %resource, auth = ?cfg.auth.mode, upstreams = cfg.upstreams.len(), "serving");
    eprintln!("switchyard: serving MCP at {resource}");
    let shutdown = async move {
        shutdown_signal().await;
        eprintln!("switchyard: shutting down");
        svc.shutdown();
    };
    switchyard_server::serve(listener, app, shutdown).await?;
    let _: Option<Server> = None;
    Ok(ExitCode::SUCCESS)
}

/// SIGHUP: re-reads the config file. An invalid file is reported (key and line) and the running
/// configuration stays; a valid one has its upstreams applied live. Settings fixed at start
/// (listener, public URL, path, authorization, the demo server) are reported as needing a
/// restart and otherwise ignored.
#[cfg(unix)]
async fn reload_on_sighup(
    path: PathBuf,
    args: Args,
    mut running: Config,
    gateway: Option<Arc<Gateway>>,
) {
    use tokio::signal::unix::{signal, SignalKind};
    let mut hup = match signal(SignalKind::hangup()) {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(error = %e, "cannot watch SIGHUP; config reload is off");
            return;
        }
    };
    while hup.recv().await.is_some() {
        let mut next = match Config::load(&path) {
            Ok(c) => c,
            Err(e) => {
                let e = one_line(&format!("{e:#}"));
                tracing::error!(error = %e, "config reload failed; keeping the running configuration");
                eprintln!(
                    "switchyard: config reload failed, keeping the running configuration: {e}"
                );
                continue;
            }
        };
        apply_args(&mut next, &args);
        // The public URL was filled in from the bound address at start.
        if next.server.public_url.is_none() {
            next.server
                .public_url
                .clone_from(&running.server.public_url);
        }
        for key in running.fixed_settings_changed(&next) {
            tracing::warn!(key, "config reload: this setting needs a restart; ignored");
            eprintln!("switchyard: config reload: {key} changed; it needs a restart (ignored)");
        }
        match &gateway {
            Some(gw) if !next.upstreams.is_empty() => {
                let r = gw.reload(next.upstreams.clone()).await;
                tracing::info!(added = ?r.added, removed = ?r.removed, changed = ?r.changed, unchanged = r.unchanged.len(), "config reloaded");
                eprintln!(
                    "switchyard: config reloaded: added {:?}, removed {:?}, changed {:?}, unchanged {}",
                    r.added,
                    r.removed,
                    r.changed,
                    r.unchanged.len()
                );
                running.upstreams = next.upstreams;
            }
            _ if next.upstreams != running.upstreams => {
                // Switching between the demo server and a gateway replaces the whole server.
                tracing::warn!("config reload: switching between the demo server and upstreams needs a restart; ignored");
                eprintln!("switchyard: config reload: switching between the demo server and upstreams needs a restart (ignored)");
            }
            _ => eprintln!("switchyard: config reloaded: no upstream changes"),
        }
    }
}

/// A TOML error on one log line: its location and message, without the source excerpt and
/// caret lines drawn under it.
fn one_line(msg: &str) -> String {
    msg.lines()
        .map(str::trim)
        .filter(|l| {
            let excerpt = l.split_once('|').is_some_and(|(n, _)| {
                n.trim().is_empty() || n.trim().chars().all(|c| c.is_ascii_digit())
            });
            !l.is_empty() && !excerpt
        })
        .collect::<Vec<_>>()
        .join("; ")
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
