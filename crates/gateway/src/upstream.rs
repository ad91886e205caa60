//! One upstream server: its connection (re-established after failures, behind a circuit
//! breaker), its catalog, and a concurrency cap.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use switchyard_client::{
    AuthProvider, BoxFuture, Client, ClientError, ClientHandler, ClientOptions, ProtocolPreference,
    StaticToken, StdioCommand,
};
use switchyard_protocol::jsonrpc::ErrorObject;
use switchyard_protocol::types::{methods, Implementation};
use tokio::sync::{RwLock, Semaphore};

use crate::access::Access;
use crate::config::{UpstreamConfig, UpstreamTarget};
use crate::credentials::ClientCredentials;

/// Consecutive failures that open the circuit.
pub const BREAKER_THRESHOLD: u32 = 3;
/// How long an open circuit refuses calls before one is let through to probe.
pub const BREAKER_COOLDOWN: Duration = Duration::from_secs(5);
/// Attempts for idempotent list calls.
pub const LIST_ATTEMPTS: u32 = 3;

/// What an upstream offers, as it listed it.
#[derive(Debug, Default, Clone)]
pub(crate) struct Catalog {
    pub(crate) tools: Vec<Value>,
    pub(crate) prompts: Vec<Value>,
    pub(crate) resources: Vec<Value>,
    pub(crate) templates: Vec<Value>,
}

/// Receives the upstream's own notifications (list changes) for the gateway, with the upstream
/// they came from (an `Arc`, not a position: positions move when the configuration is reloaded).
pub(crate) type ChangeFn = Arc<dyn Fn(Arc<Upstream>, &str) + Send + Sync>;

struct Events(ChangeFn, Weak<Upstream>);

impl ClientHandler for Events {
    fn notification(&self, method: &str, _params: &Value) {
        if method.ends_with("/list_changed") {
            if let Some(u) = self.1.upgrade() {
                (self.0)(u, method);
            }
        }
    }
    fn elicit(&self, _params: Value) -> BoxFuture<'_, Result<Value, ErrorObject>> {
        // Requests outside a relayed call have no downstream user to ask.
        Box::pin(async { Ok(json!({"action": "decline"})) })
    }
}

/// One upstream.
pub(crate) struct Upstream {
    pub(crate) cfg: UpstreamConfig,
    client: RwLock<Option<Arc<Client>>>,
    pub(crate) catalog: std::sync::RwLock<Catalog>,
    failures: AtomicU32,
    opened_at: Mutex<Option<Instant>>,
    pub(crate) permits: Semaphore,
    on_change: ChangeFn,
    listener: Mutex<Option<tokio::task::JoinHandle<()>>>,
    me: Weak<Upstream>,
    /// Set once a reload removed this upstream: it never connects again.
    retired: AtomicBool,
    /// The gateway's own credential for this upstream; kept across reconnects so a fetched
    /// OAuth token is reused until it expires.
    auth: Option<Arc<dyn AuthProvider>>,
    /// Per-user upstreams (`oauth_per_user`) have no connection of the gateway's own: their
    /// catalog is listed through the client of the user who most recently connected.
    lister: Mutex<Option<Arc<Client>>>,
}

impl Upstream {
    pub(crate) fn new(cfg: UpstreamConfig, on_change: ChangeFn) -> Arc<Self> {
        let auth: Option<Arc<dyn AuthProvider>> = match &cfg.target {
            UpstreamTarget::Url {
                url,
                oauth: Some(o),
                ..
            } => Some(Arc::new(ClientCredentials::new(
                url,
                o.clone(),
                cfg.timeout,
            ))),
            UpstreamTarget::Url {
                bearer_token: Some(t),
                ..
            } => Some(Arc::new(StaticToken(t.clone()))),
            _ => None,
        };
        // Until a user connects a per-user upstream, it lists one tool that leads to connecting.
        let catalog = match cfg.per_user() {
            Some(_) => Catalog {
                tools: vec![crate::per_user::placeholder_tool(&cfg.name)],
                ..Catalog::default()
            },
            None => Catalog::default(),
        };
        Arc::new_cyclic(|me| Self {
            permits: Semaphore::new(cfg.max_concurrency.max(1)),
            cfg,
            client: RwLock::new(None),
            catalog: std::sync::RwLock::new(catalog),
            failures: AtomicU32::new(0),
            opened_at: Mutex::new(None),
            on_change,
            listener: Mutex::new(None),
            me: me.clone(),
            retired: AtomicBool::new(false),
            auth,
            lister: Mutex::new(None),
        })
    }

    /// Whether a request with this access may see and use this upstream.
    pub(crate) fn visible_to(&self, access: &Access<'_>) -> bool {
        access.allows(&self.cfg.required_scopes)
    }

    /// Closes the connection for good (the upstream was removed or replaced by a reload).
    /// Calls already holding the client finish or fail on their own.
    pub(crate) async fn shutdown(&self) {
        self.retired.store(true, Ordering::Release);
        if let Some(t) = self
            .listener
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
        {
            t.abort();
        }
        if let Some(c) = self.client.write().await.take() {
            c.close().await;
        }
    }

    /// A strong handle on this upstream.
    pub(crate) fn arc(&self) -> Option<Arc<Upstream>> {
        self.me.upgrade()
    }

    /// Makes a user's client the one this per-user upstream's catalog is listed through;
    /// `true` if there was none before (the catalog is still the placeholder).
    pub(crate) fn set_lister(&self, c: Arc<Client>) -> bool {
        self.lister
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .replace(c)
            .is_none()
    }

    pub(crate) fn options(&self) -> ClientOptions {
        let mut o = ClientOptions {
            client_info: Implementation::new("switchyard-gateway", env!("CARGO_PKG_VERSION")),
            capabilities: serde_json::from_value(
                json!({"elicitation": {"form": {}, "url": {}}, "sampling": {}, "roots": {}}),
            )
            .unwrap_or_default(),
            protocol: match &self.cfg.protocol {
                Some(v) if v == switchyard_protocol::ProtocolVersion::LATEST.as_str() => {
                    ProtocolPreference::Modern
                }
                Some(v) => ProtocolPreference::Legacy(v.clone()),
                None => ProtocolPreference::Auto,
            },
            request_timeout: self.cfg.timeout,
            handler: Arc::new(Events(self.on_change.clone(), self.me.clone())),
            open_get_stream: true,
            ..ClientOptions::default()
        };
        if let UpstreamTarget::Url { headers, .. } = &self.cfg.target {
            o.headers = headers
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
        }
        o.auth.clone_from(&self.auth);
        o
    }

    /// Whether the circuit is open (recent failures; calls fail fast).
    pub(crate) fn circuit_open(&self) -> bool {
        let opened = *self.opened_at.lock().unwrap_or_else(|p| p.into_inner());
        opened.is_some_and(|t| t.elapsed() < BREAKER_COOLDOWN)
    }

    /// Records the outcome of a call for the circuit breaker.
    pub(crate) fn record(&self, ok: bool) {
        if ok {
            self.failures.store(0, Ordering::Relaxed);
            *self.opened_at.lock().unwrap_or_else(|p| p.into_inner()) = None;
        } else if self.failures.fetch_add(1, Ordering::Relaxed) + 1 >= BREAKER_THRESHOLD {
            *self.opened_at.lock().unwrap_or_else(|p| p.into_inner()) = Some(Instant::now());
        }
    }

    /// Whether a failure means the connection itself is gone.
    fn is_connection_failure(e: &ClientError) -> bool {
        matches!(
            e,
            ClientError::Closed(_)
                | ClientError::Transport(_)
                | ClientError::Connect(_)
                | ClientError::Timeout(_)
        )
    }

    /// The live client, connecting (again) when needed.
    /// Whether this upstream speaks an era before 2026-07-28, in which its questions to the
    /// user arrive as requests in the middle of a call. Unknown (not connected) counts as no.
    pub(crate) async fn speaks_older_era(&self) -> bool {
        self.client().await.is_ok_and(|c| !c.is_modern())
    }

    pub(crate) async fn client(&self) -> Result<Arc<Client>, ClientError> {
        if self.cfg.per_user().is_some() {
            // Never a connection without a user's token (it could only be refused).
            return self
                .lister
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone()
                .ok_or_else(|| {
                    ClientError::Connect(format!(
                        "upstream {} lists its tools once a user has connected it",
                        self.cfg.name
                    ))
                });
        }
        if let Some(c) = self.client.read().await.as_ref() {
            return Ok(c.clone());
        }
        if self.retired.load(Ordering::Acquire) {
            return Err(ClientError::Connect(format!(
                "upstream {} was removed by a configuration reload",
                self.cfg.name
            )));
        }
        if self.circuit_open() {
            return Err(ClientError::Connect(format!(
                "upstream {} is unavailable (circuit open)",
                self.cfg.name
            )));
        }
        let mut slot = self.client.write().await;
        if let Some(c) = slot.as_ref() {
            return Ok(c.clone());
        }
        let opts = self.options();
        let connected = match &self.cfg.target {
            UpstreamTarget::Url { url, .. } => Client::connect_http(url, opts).await,
            UpstreamTarget::Command {
                command,
                args,
                env,
                cwd,
            } => {
                let cmd = StdioCommand {
                    program: command.clone(),
                    args: args.clone(),
                    env: env.clone(),
                    cwd: cwd.as_ref().map(Into::into),
                };
                Client::connect_stdio(&cmd, opts).await
            }
        };
        match connected {
            Ok(c) => {
                self.record(true);
                let c = Arc::new(c);
                if let Some(h) = c.http() {
                    let listener = h.listen(json!({"toolsListChanged": true, "promptsListChanged": true, "resourcesListChanged": true}));
                    *self.listener.lock().unwrap_or_else(|p| p.into_inner()) = listener;
                }
                *slot = Some(c.clone());
                Ok(c)
            }
            Err(e) => {
                self.record(false);
                Err(e)
            }
        }
    }

    /// Drops a broken connection so the next call reconnects.
    pub(crate) async fn reset(&self, e: &ClientError) {
        if self.cfg.per_user().is_some() {
            if Self::is_connection_failure(e) {
                self.lister.lock().unwrap_or_else(|p| p.into_inner()).take();
            }
            return;
        }
        if Self::is_connection_failure(e) {
            if let Some(t) = self
                .listener
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .take()
            {
                t.abort();
            }
            if let Some(c) = self.client.write().await.take() {
                tokio::spawn(async move { c.close().await });
            }
        }
    }

    async fn list(&self, method: &str, key: &str) -> Result<Vec<Value>, ClientError> {
        let mut last = None;
        for attempt in 0..LIST_ATTEMPTS {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(100 << attempt)).await;
            }
            let c = match self.client().await {
                Ok(c) => c,
                Err(e) => {
                    last = Some(e);
                    continue;
                }
            };
            let r = match method {
                methods::TOOLS_LIST => c.list_tools().await,
                methods::PROMPTS_LIST => c.list_prompts().await,
                methods::RESOURCES_LIST => c.list_resources().await,
                _ => c.list_resource_templates().await,
            };
            match r {
                Ok(v) => return Ok(v),
                // A server without the capability answers -32601: an empty list, not a failure.
                Err(ClientError::Rpc(e)) if e.code.0 == -32601 => return Ok(Vec::new()),
                Err(e) => {
                    self.reset(&e).await;
                    last = Some(e);
                }
            }
        }
        let _ = key;
        Err(last.unwrap_or_else(|| ClientError::Connect("no attempt made".into())))
    }

    /// Re-reads the catalog. On failure the old one stays (listings degrade, not break).
    pub(crate) async fn refresh(&self) -> Result<(), ClientError> {
        if self.cfg.per_user().is_some()
            && self
                .lister
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .is_none()
        {
            // Nobody has connected it yet: the placeholder stays.
            return Ok(());
        }
        let tools = self.list(methods::TOOLS_LIST, "tools").await?;
        let prompts = self
            .list(methods::PROMPTS_LIST, "prompts")
            .await
            .unwrap_or_default();
        let resources = self
            .list(methods::RESOURCES_LIST, "resources")
            .await
            .unwrap_or_default();
        let templates = self
            .list(methods::RESOURCES_TEMPLATES_LIST, "resourceTemplates")
            .await
            .unwrap_or_default();
        *self.catalog.write().unwrap_or_else(|p| p.into_inner()) = Catalog {
            tools,
            prompts,
            resources,
            templates,
        };
        Ok(())
    }
}
