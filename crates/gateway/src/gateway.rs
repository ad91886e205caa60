//! The gateway as a request handler: merged listings, routing, pass-through of arguments and
//! results as raw JSON, and relays for progress, logs and input requests.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock, RwLock};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{json, Map, Value};
use switchyard_client::{BoxFuture, ClientError, ClientHandler, Progress, RequestOptions};
use switchyard_protocol::jsonrpc::ErrorObject;
use switchyard_protocol::types::{
    methods, CompleteParams, CompletionRef, ListChangedCapability, LoggingLevel,
    ResourcesCapability, ServerCapabilities,
};
use switchyard_protocol::{meta, ErrorCode};
use switchyard_server::{method_not_found, RequestContext, RequestHandler, Server, ServerEvent};

use crate::access::Access;
use crate::config::UpstreamConfig;
use crate::park::{Ask, CallFuture, CurrentCaller, ParkingLot, STATE_PREFIX};
use crate::per_user::{Denied, PerUser, PerUserError, PerUserOptions};
use crate::tool_search::{Intercept, ToolSearch, ToolSearchConfig, ToolSearchError};
use crate::upstream::{ChangeFn, Upstream};

/// Page size of merged listings.
pub const PAGE_SIZE: usize = 200;

/// Where an exposed name leads. The route holds the upstream itself, not its position, so a
/// reload that reorders or removes upstreams never sends a call to the wrong one.
#[derive(Clone)]
struct Route {
    upstream: Arc<Upstream>,
    name: String,
}

/// The merged catalog, shared by every caller. Each item's owner sits at the same index in the
/// matching `*_owners` list, so a listing can be filtered per caller at list time.
#[derive(Default)]
struct Merged {
    tools: Vec<Value>,
    prompts: Vec<Value>,
    resources: Vec<Value>,
    templates: Vec<Value>,
    tool_owners: Vec<Arc<Upstream>>,
    prompt_owners: Vec<Arc<Upstream>>,
    resource_owners: Vec<Arc<Upstream>>,
    template_owners: Vec<Arc<Upstream>>,
    tool_routes: HashMap<String, Route>,
    /// Input schemas of the tools with `x-mcp-header` parameters, by exposed name: the
    /// transport checks a 2026-07-28 caller's `Mcp-Param-*` headers against them.
    header_schemas: HashMap<String, Arc<Map<String, Value>>>,
    prompt_routes: HashMap<String, Route>,
    resource_routes: HashMap<String, Arc<Upstream>>,
    /// Whether any upstream has `required_scopes` (else no listing needs filtering).
    gated: bool,
}

impl Merged {
    /// The items this access may see: the shared list itself when nothing is hidden.
    fn visible<'a>(
        &self,
        items: &'a [Value],
        owners: &[Arc<Upstream>],
        access: &Access<'_>,
    ) -> Cow<'a, [Value]> {
        if !self.gated || matches!(access, Access::All) {
            return Cow::Borrowed(items);
        }
        Cow::Owned(
            items
                .iter()
                .zip(owners)
                .filter(|(_, u)| u.visible_to(access))
                .map(|(v, _)| v.clone())
                .collect(),
        )
    }
}

/// What a [`Gateway::reload`] changed, by upstream name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReloadReport {
    /// Upstreams that are new.
    pub added: Vec<String>,
    /// Upstreams that are gone (their connections closed).
    pub removed: Vec<String>,
    /// Upstreams whose configuration changed (reconnected with the new one).
    pub changed: Vec<String>,
    /// Upstreams left as they were, live connections included.
    pub unchanged: Vec<String>,
}

impl ReloadReport {
    /// Whether the reload changed anything.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.changed.is_empty()
    }
}

/// Federates upstream MCP servers behind one endpoint.
pub struct Gateway {
    /// Swapped whole by [`Gateway::reload`]; readers take a snapshot.
    upstreams: RwLock<Arc<Vec<Arc<Upstream>>>>,
    merged: RwLock<Arc<Merged>>,
    server: Arc<OnceLock<Server>>,
    me: OnceLock<std::sync::Weak<Gateway>>,
    /// Given to every upstream, including ones a reload adds.
    on_change: ChangeFn,
    /// One reload at a time.
    reloading: tokio::sync::Mutex<()>,
    /// Authorization is off: `required_scopes` hide nothing.
    open_access: AtomicBool,
    /// Tool search mode, when enabled (see [`Gateway::enable_tool_search`]).
    tool_search: OnceLock<Arc<ToolSearch>>,
    /// Older upstreams' calls waiting for a 2026-07-28 caller's input (see `park`).
    parked: ParkingLot<RequestContext>,
    /// Per-user OAuth for `oauth_per_user` upstreams, when enabled (see `per_user`).
    per_user: OnceLock<Arc<PerUser>>,
}

impl std::fmt::Debug for Gateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gateway")
            .field(
                "upstreams",
                &self
                    .upstreams()
                    .iter()
                    .map(|u| u.cfg.name.clone())
                    .collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

fn rename(v: &Value, prefix: &str) -> Value {
    let mut v = v.clone();
    if let Some(n) = v.get("name").and_then(Value::as_str) {
        v["name"] = Value::String(format!("{prefix}{n}"));
    }
    v
}

impl Gateway {
    /// Builds the gateway and its server. Call [`Gateway::refresh_all`] before serving (or let
    /// the first listing do it).
    pub fn build(upstreams: Vec<UpstreamConfig>, name: &str, version: &str) -> (Arc<Self>, Server) {
        let server_slot: Arc<OnceLock<Server>> = Arc::new(OnceLock::new());
        let gw_slot: Arc<OnceLock<std::sync::Weak<Gateway>>> = Arc::new(OnceLock::new());
        let slot = gw_slot.clone();
        let on_change: ChangeFn = Arc::new(move |u: Arc<Upstream>, method: &str| {
            let Some(gw) = slot.get().and_then(std::sync::Weak::upgrade) else {
                return;
            };
            let method = method.to_owned();
            tokio::spawn(async move { gw.upstream_changed(&u, &method).await });
        });
        let ups = upstreams
            .into_iter()
            .map(|cfg| Upstream::new(cfg, on_change.clone()))
            .collect();
        let gw = Arc::new(Self {
            upstreams: RwLock::new(Arc::new(ups)),
            merged: RwLock::new(Arc::new(Merged::default())),
            server: server_slot.clone(),
            me: OnceLock::new(),
            on_change,
            reloading: tokio::sync::Mutex::new(()),
            open_access: AtomicBool::new(false),
            tool_search: OnceLock::new(),
            parked: ParkingLot::default(),
            per_user: OnceLock::new(),
        });
        let _ = gw_slot.set(Arc::downgrade(&gw));
        let _ = gw.me.set(Arc::downgrade(&gw));
        let caps = ServerCapabilities {
            tools: Some(ListChangedCapability {
                list_changed: Some(true),
            }),
            prompts: Some(ListChangedCapability {
                list_changed: Some(true),
            }),
            resources: Some(ResourcesCapability {
                subscribe: Some(true),
                list_changed: Some(true),
            }),
            completions: Some(Map::new()),
            logging: Some(Map::new()),
            ..ServerCapabilities::default()
        };
        let server = Server::builder(name, version)
            .request_handler(gw.clone(), caps)
            .build();
        let _ = server_slot.set(server.clone());
        (gw, server)
    }

    /// Declares that no authorization runs in front of the gateway (`--danger-no-auth`): every
    /// caller then sees every upstream, whatever its `required_scopes`. Otherwise a request
    /// whose extensions hold no [`Caller`](crate::Caller) sees only upstreams without them.
    pub fn set_open_access(&self, open: bool) {
        self.open_access.store(open, Ordering::Relaxed);
    }

    /// Turns on tool search mode: `tools/list` shows the pinned tools, the tools each session
    /// found, and the `search_tools` and `call_tool` gateway tools (see [`ToolSearchConfig`]).
    /// Call before serving; the index follows the merged catalog from then on.
    pub fn enable_tool_search(&self, cfg: ToolSearchConfig) -> Result<(), ToolSearchError> {
        let ts = Arc::new(ToolSearch::new(cfg, self.server.clone())?);
        self.tool_search
            .set(ts)
            .map_err(|_| ToolSearchError::AlreadyEnabled)?;
        self.rebuild();
        Ok(())
    }

    /// Turns on per-user OAuth for the `oauth_per_user` upstreams: invitations, sealed token
    /// storage and per-user clients. Mount [`Gateway::connect_router`] at the root of
    /// `public_url` for the browser pages.
    pub fn enable_per_user(&self, o: PerUserOptions) -> Result<(), PerUserError> {
        self.per_user
            .set(PerUser::new(o)?)
            .map_err(|_| PerUserError::AlreadyEnabled)
    }

    /// The browser pages of per-user OAuth: `GET /connect/<upstream>` and
    /// `GET /connect/callback`.
    pub fn connect_router(self: &Arc<Self>) -> axum::Router {
        crate::connect::router(self.clone())
    }

    pub(crate) fn per_user_hub(&self) -> Option<&Arc<PerUser>> {
        self.per_user.get()
    }

    pub(crate) fn upstream_named(&self, name: &str) -> Option<Arc<Upstream>> {
        self.upstreams()
            .iter()
            .find(|u| u.cfg.name == name)
            .cloned()
    }

    /// A user just connected upstream `name`: list its catalog through their client.
    pub(crate) async fn per_user_connected(&self, subject: &str, name: &str) {
        let (Some(hub), Some(u)) = (self.per_user.get(), self.upstream_named(name)) else {
            return;
        };
        if let Ok(c) = hub.client(subject, &u, false).await {
            u.set_lister(c);
            self.upstream_changed(&u, methods::NOTIFICATION_TOOLS_LIST_CHANGED)
                .await;
        }
    }

    /// A per-user upstream replaced by a reload: users' connections follow the new
    /// configuration, and the most recent user's new connection lists its catalog (instead
    /// of the placeholder).
    async fn per_user_relist(&self, u: &Arc<Upstream>) {
        let (Some(hub), Some(_)) = (self.per_user.get(), u.cfg.per_user()) else {
            return;
        };
        let recent = hub.recent_subject(&u.cfg.name);
        hub.evict_upstream(&u.cfg.name);
        if let Some(subject) = recent {
            if let Ok(c) = hub.client(&subject, u, false).await {
                u.set_lister(c);
            }
        }
    }

    /// The client a request to `u` goes through: the gateway's own connection, or for an
    /// `oauth_per_user` upstream the caller's own.
    async fn client_for(
        &self,
        u: &Upstream,
        method: &str,
        ctx: &RequestContext,
    ) -> Result<Arc<switchyard_client::Client>, Denied> {
        if u.cfg.per_user().is_none() {
            return u.client().await.map_err(Denied::Failed);
        }
        let Some(caller) = ctx.extensions().get::<crate::Caller>() else {
            return Err(Denied::Rpc(crate::per_user::anonymous_refusal(&u.cfg.name)));
        };
        let Some(hub) = self.per_user.get() else {
            return Err(Denied::Failed(ClientError::Connect(
                "per-user OAuth is not enabled on this gateway".into(),
            )));
        };
        let c = hub
            .client(&caller.subject, u, asks_as_input(method, ctx))
            .await?;
        // After a restart nobody has listed the catalog yet: the first connected user's
        // client does.
        if let Some(me) = u.arc() {
            if me.set_lister(c.clone()) {
                if let Some(gw) = self.self_arc() {
                    tokio::spawn(async move {
                        gw.upstream_changed(&me, methods::NOTIFICATION_TOOLS_LIST_CHANGED)
                            .await
                    });
                }
            }
        }
        Ok(c)
    }

    /// A snapshot of the current upstreams.
    fn upstreams(&self) -> Arc<Vec<Arc<Upstream>>> {
        self.upstreams
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// What this request may see.
    fn access<'a>(&self, ctx: &'a RequestContext) -> Access<'a> {
        Access::of(ctx, self.open_access.load(Ordering::Relaxed))
    }

    /// Reads every upstream's catalog; an upstream that fails is left out with a warning.
    pub async fn refresh_all(&self) {
        for u in self.upstreams().iter() {
            Self::refresh_one(u).await;
        }
        self.rebuild();
    }

    async fn refresh_one(u: &Upstream) {
        if let Err(e) = u.refresh().await {
            tracing::warn!(upstream = %u.cfg.name, error = %e, "upstream unavailable; its tools are not listed");
        }
    }

    /// Applies a new upstream list without dropping sessions: upstreams whose configuration
    /// is unchanged keep their live connections, new and changed ones connect and list their
    /// catalogs, removed and replaced ones are closed. Then the catalog is rebuilt and
    /// `tools`, `prompts` and `resources` `list_changed` go out. Names must be unique (the
    /// caller validates the configuration first).
    pub async fn reload(&self, configs: Vec<UpstreamConfig>) -> ReloadReport {
        let _one = self.reloading.lock().await;
        let old = self.upstreams();
        let mut report = ReloadReport::default();
        let mut next = Vec::with_capacity(configs.len());
        let mut fresh = Vec::new();
        for cfg in configs {
            match old.iter().find(|u| u.cfg.name == cfg.name) {
                Some(u) if u.cfg == cfg => {
                    report.unchanged.push(cfg.name.clone());
                    next.push(u.clone());
                }
                found => {
                    if found.is_some() {
                        report.changed.push(cfg.name.clone());
                    } else {
                        report.added.push(cfg.name.clone());
                    }
                    let u = Upstream::new(cfg, self.on_change.clone());
                    fresh.push(u.clone());
                    next.push(u);
                }
            }
        }
        // Catalogs first, so the swap exposes the new tools at once.
        for u in &fresh {
            self.per_user_relist(u).await;
            Self::refresh_one(u).await;
        }
        let retired: Vec<Arc<Upstream>> = old
            .iter()
            .filter(|o| !next.iter().any(|n| Arc::ptr_eq(o, n)))
            .cloned()
            .collect();
        for o in &retired {
            if !next.iter().any(|n| n.cfg.name == o.cfg.name) {
                report.removed.push(o.cfg.name.clone());
            }
        }
        *self.upstreams.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(next);
        self.rebuild();
        for o in retired {
            o.shutdown().await;
        }
        if let Some(hub) = self.per_user.get() {
            for name in &report.removed {
                hub.evict_upstream(name);
            }
        }
        if !report.is_empty() {
            if let Some(s) = self.server.get() {
                s.notify(ServerEvent::ToolsListChanged);
                s.notify(ServerEvent::PromptsListChanged);
                s.notify(ServerEvent::ResourcesListChanged);
            }
        }
        report
    }

    pub(crate) async fn upstream_changed(&self, u: &Arc<Upstream>, method: &str) {
        // A removed upstream's late notification changes nothing.
        if !self.upstreams().iter().any(|c| Arc::ptr_eq(c, u)) {
            return;
        }
        if u.refresh().await.is_ok() {
            self.rebuild();
        }
        let ev = match method {
            methods::NOTIFICATION_PROMPTS_LIST_CHANGED => ServerEvent::PromptsListChanged,
            methods::NOTIFICATION_RESOURCES_LIST_CHANGED => ServerEvent::ResourcesListChanged,
            _ => ServerEvent::ToolsListChanged,
        };
        if let Some(s) = self.server.get() {
            s.notify(ev);
        }
    }

    fn rebuild(&self) {
        let mut m = Merged::default();
        for u in self.upstreams().iter() {
            m.gated |= !u.cfg.required_scopes.is_empty();
            let prefix = u.cfg.effective_prefix();
            let cat = u.catalog.read().unwrap_or_else(|p| p.into_inner()).clone();
            for t in &cat.tools {
                let Some(n) = t.get("name").and_then(Value::as_str) else {
                    continue;
                };
                if !u.cfg.tool_allowed(n) {
                    continue;
                }
                let exposed = format!("{prefix}{n}");
                if m.tool_routes.contains_key(&exposed) {
                    tracing::warn!(tool = %exposed, "duplicate tool name; the first upstream wins");
                    continue;
                }
                if let Some(schema) = header_schema(t) {
                    m.header_schemas.insert(exposed.clone(), Arc::new(schema));
                }
                m.tool_routes.insert(
                    exposed,
                    Route {
                        upstream: u.clone(),
                        name: n.to_owned(),
                    },
                );
                m.tools.push(rename(t, &prefix));
                m.tool_owners.push(u.clone());
            }
            for p in &cat.prompts {
                let Some(n) = p.get("name").and_then(Value::as_str) else {
                    continue;
                };
                let exposed = format!("{prefix}{n}");
                if m.prompt_routes
                    .insert(
                        exposed,
                        Route {
                            upstream: u.clone(),
                            name: n.to_owned(),
                        },
                    )
                    .is_none()
                {
                    m.prompts.push(rename(p, &prefix));
                    m.prompt_owners.push(u.clone());
                }
            }
            for r in &cat.resources {
                if let Some(uri) = r.get("uri").and_then(Value::as_str) {
                    m.resource_routes
                        .entry(uri.to_owned())
                        .or_insert_with(|| u.clone());
                    m.resources.push(r.clone());
                    m.resource_owners.push(u.clone());
                }
            }
            m.templates.extend(cat.templates.iter().cloned());
            m.template_owners
                .extend(std::iter::repeat_n(u.clone(), cat.templates.len()));
        }
        if let Some(ts) = self.tool_search.get() {
            ts.sync(m.tools.iter().zip(&m.tool_owners).filter_map(|(t, u)| {
                let route = m.tool_routes.get(t.get("name")?.as_str()?)?;
                Some((u.cfg.name.as_str(), route.name.as_str(), t))
            }));
        }
        *self.merged.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(m);
    }

    fn merged(&self) -> Arc<Merged> {
        self.merged
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    async fn ensure_catalog(&self) {
        let empty = {
            let m = self.merged();
            m.tools.is_empty() && m.prompts.is_empty() && m.resources.is_empty()
        };
        if empty {
            self.refresh_all().await;
        }
    }

    fn list(
        &self,
        ctx: &RequestContext,
        params: Option<&RawValue>,
        items: &[Value],
        key: &str,
        cacheable: bool,
    ) -> Result<Vec<u8>, ErrorObject> {
        #[derive(Deserialize, Default)]
        struct P {
            cursor: Option<String>,
        }
        let p: P = params
            .and_then(|p| serde_json::from_str(p.get()).ok())
            .unwrap_or_default();
        let start = match p.cursor {
            None => 0,
            Some(c) => URL_SAFE_NO_PAD
                .decode(c)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .and_then(|s| s.strip_prefix("g:").and_then(|n| n.parse::<usize>().ok()))
                .filter(|&n| n <= items.len())
                .ok_or_else(|| ErrorObject::new(ErrorCode::INVALID_PARAMS, "invalid cursor"))?,
        };
        let end = (start + PAGE_SIZE).min(items.len());
        let mut out = Map::new();
        out.insert(key.into(), Value::Array(items[start..end].to_vec()));
        if end < items.len() {
            out.insert(
                "nextCursor".into(),
                Value::String(URL_SAFE_NO_PAD.encode(format!("g:{end}"))),
            );
        }
        if let Some(s) = self.server.get() {
            if let Ok(Value::Object(f)) =
                serde_json::to_value(s.result_fields(ctx.protocol_version(), cacheable))
            {
                out.extend(f);
            }
        }
        serde_json::to_vec(&Value::Object(out))
            .map_err(|e| ErrorObject::new(ErrorCode::INTERNAL_ERROR, e.to_string()))
    }

    /// Relays one request to an upstream, with the caller's progress, logs, capabilities and
    /// input requests carried across.
    // One call site per method kind; a parameter struct would only rename these.
    #[allow(clippy::too_many_arguments)]
    async fn relay(
        &self,
        u: &Upstream,
        method: &str,
        params: Value,
        raw_args: Option<Box<RawValue>>,
        ctx: &RequestContext,
        cacheable: bool,
        bridge: Option<Bridge>,
    ) -> Result<Vec<u8>, ErrorObject> {
        let is_tool = method == methods::TOOLS_CALL;
        let unavailable = |e: &ClientError| -> Result<Vec<u8>, ErrorObject> {
            let msg = format!("upstream {} failed: {e}", u.cfg.name);
            if is_tool {
                // A tool whose server is down fails as a tool, so the model can see why.
                Ok(tool_failure(&msg, ctx.protocol_version().is_modern()))
            } else {
                Err(ErrorObject::new(ErrorCode::INTERNAL_ERROR, msg))
            }
        };
        // A free permit is taken at once; only a full upstream arms the wait's timer.
        let permit = match u.permits.try_acquire() {
            Ok(p) => p,
            Err(_) => match tokio::time::timeout(u.cfg.timeout, u.permits.acquire()).await {
                Ok(Ok(p)) => p,
                _ => return unavailable(&ClientError::Timeout(u.cfg.timeout)),
            },
        };
        let client = match self.client_for(u, method, ctx).await {
            Ok(c) => c,
            Err(Denied::Failed(e)) => return unavailable(&e),
            Err(d) => return d.answer(),
        };
        let modern = ctx.protocol_version().is_modern();
        let mut extra = Map::new();
        if modern {
            extra.insert(
                meta::CLIENT_CAPABILITIES.into(),
                serde_json::to_value(ctx.client_capabilities()).unwrap_or(Value::Null),
            );
        }
        if let Some(l) = ctx.log_level() {
            extra.insert(
                meta::LOG_LEVEL.into(),
                serde_json::to_value(l).unwrap_or(Value::Null),
            );
        }
        let progress = match &bridge {
            // A parked call's progress goes to whichever retry is waiting on it now.
            Some(b) => {
                let caller = b.caller.clone();
                Some(Arc::new(move |p: Progress| {
                    caller
                        .get()
                        .progress(p.progress, p.total, p.message.as_deref())
                }) as switchyard_client::ProgressFn)
            }
            None => ctx.wants_progress().then(|| {
                let progress_ctx = ctx.clone();
                Arc::new(move |p: Progress| {
                    progress_ctx.progress(p.progress, p.total, p.message.as_deref())
                }) as switchyard_client::ProgressFn
            }),
        };
        // A bridged call may wait for a person between legs; each leg's wait on the upstream is
        // bounded by the parking lot instead (see `park`).
        let timeout = if bridge.is_some() {
            u.cfg.timeout + crate::park::PARK_TTL
        } else {
            u.cfg.timeout
        };
        let ro = RequestOptions {
            progress,
            timeout: Some(timeout),
            handler: Some(Arc::new(Relay {
                ctx: ctx.clone(),
                bridge,
            })),
            meta: (!extra.is_empty()).then_some(extra),
            // A modern caller answers input requests itself: pass them through untouched.
            return_input_required: modern,
            raw_arguments: raw_args,
        };
        let r = client.request_raw(method, Some(params), &ro).await;
        drop(permit);
        match r {
            Ok(raw) => {
                u.record(true);
                // A 2026-07-28 upstream's results already carry `resultType`; only an older
                // one's, or a cacheable result's, need looking at. Otherwise the upstream's
                // bytes go back as they came, without a copy.
                Ok(if modern && (cacheable || !client.is_modern()) {
                    ensure_modern_fields(raw.get(), cacheable)
                } else {
                    String::from(Box::<str>::from(raw)).into_bytes()
                })
            }
            Err(ClientError::Rpc(e)) => {
                u.record(true);
                Err(e)
            }
            Err(e) => {
                if let Some(d) = self.per_user_failed(u, method, ctx, &e).await {
                    return d.answer();
                }
                u.record(false);
                u.reset(&e).await;
                unavailable(&e)
            }
        }
    }
}

impl Gateway {
    /// A per-user call's failure: a refused token leads back to the `-32042` path.
    async fn per_user_failed(
        &self,
        u: &Upstream,
        method: &str,
        ctx: &RequestContext,
        e: &ClientError,
    ) -> Option<Denied> {
        u.cfg.per_user()?;
        let caller = ctx.extensions().get::<crate::Caller>()?;
        self.per_user
            .get()?
            .failed(&caller.subject, u, e, asks_as_input(method, ctx))
            .await
    }
}

/// Whether a per-user connect question goes to this caller as an `input_required` result
/// (2026-07-28, URL elicitation declared, a method that may answer so) rather than `-32042`.
fn asks_as_input(method: &str, ctx: &RequestContext) -> bool {
    ctx.protocol_version().is_modern()
        && ctx.client_capabilities().elicitation_url()
        && matches!(
            method,
            methods::TOOLS_CALL | methods::PROMPTS_GET | methods::RESOURCES_READ
        )
}

/// A failed tool call as a result the model can read (`isError`), with `resultType` for a
/// 2026-07-28 caller.
pub(crate) fn tool_failure(msg: &str, modern: bool) -> Vec<u8> {
    let mut r = json!({"content": [{"type": "text", "text": msg}], "isError": true});
    if modern {
        r["resultType"] = json!("complete");
    }
    r.to_string().into_bytes()
}

/// A 2026-07-28 `input_required` result asking one question (`method` with `params`) under
/// `key`, with the `requestState` the retry must echo.
pub(crate) fn input_required_result(
    key: &str,
    method: &str,
    params: Value,
    request_state: String,
) -> Vec<u8> {
    json!({
        "resultType": "input_required",
        "inputRequests": { key: {"method": method, "params": params} },
        "requestState": request_state,
    })
    .to_string()
    .into_bytes()
}

/// Adds what a 2026-07-28 result must carry when the upstream spoke an older era, splicing the
/// members in rather than re-serialising the result.
fn ensure_modern_fields(raw: &str, cacheable: bool) -> Vec<u8> {
    #[derive(Deserialize)]
    struct Probe {
        #[serde(rename = "resultType")]
        result_type: Option<serde::de::IgnoredAny>,
        #[serde(rename = "ttlMs")]
        ttl: Option<serde::de::IgnoredAny>,
    }
    let (has_type, has_ttl) = serde_json::from_str::<Probe>(raw)
        .map(|p| (p.result_type.is_some(), p.ttl.is_some()))
        .unwrap_or((true, true));
    let mut add = String::new();
    if !has_type {
        add.push_str(r#""resultType":"complete","#);
    }
    if cacheable && !has_ttl {
        add.push_str(r#""ttlMs":0,"cacheScope":"private","#);
    }
    let t = raw.trim_start();
    if add.is_empty() || !t.starts_with('{') {
        return raw.as_bytes().to_vec();
    }
    let body = t[1..].trim_start();
    let mut out = String::with_capacity(raw.len() + add.len());
    out.push('{');
    if body.starts_with('}') {
        add.pop();
    }
    out.push_str(&add);
    out.push_str(body);
    out.into_bytes()
}

/// Carries an upstream's input requests and logs to the caller of the relayed request.
struct Relay {
    ctx: RequestContext,
    /// Set when the caller speaks 2026-07-28 and the upstream an older era: questions go to the
    /// parking lot, which turns them into `input_required` results.
    bridge: Option<Bridge>,
}

/// Where a bridged call sends its upstream's questions, and who hears its progress and logs.
struct Bridge {
    asks: tokio::sync::mpsc::Sender<Ask>,
    caller: CurrentCaller<RequestContext>,
}

impl Relay {
    async fn ask(&self, method: &str, params: Value) -> Result<Value, ErrorObject> {
        let Some(b) = &self.bridge else {
            return self
                .ctx
                .input_request(method, params, None)
                .await
                .map_err(ErrorObject::from);
        };
        let (reply, answer) = tokio::sync::oneshot::channel();
        let ask = Ask {
            method: method.to_owned(),
            params,
            reply,
        };
        if b.asks.send(ask).await.is_err() {
            return Err(ErrorObject::new(
                ErrorCode::INTERNAL_ERROR,
                "the caller went away before answering",
            ));
        }
        answer.await.unwrap_or_else(|_| {
            Err(ErrorObject::new(
                ErrorCode::INTERNAL_ERROR,
                "the caller did not answer in time",
            ))
        })
    }
}

impl ClientHandler for Relay {
    fn create_message(&self, params: Value) -> BoxFuture<'_, Result<Value, ErrorObject>> {
        Box::pin(self.ask(methods::SAMPLING_CREATE_MESSAGE, params))
    }
    fn elicit(&self, params: Value) -> BoxFuture<'_, Result<Value, ErrorObject>> {
        Box::pin(self.ask(methods::ELICITATION_CREATE, params))
    }
    fn list_roots(&self) -> BoxFuture<'_, Result<Value, ErrorObject>> {
        Box::pin(self.ask(methods::ROOTS_LIST, json!({})))
    }
    fn notification(&self, method: &str, params: &Value) {
        if method == methods::NOTIFICATION_MESSAGE {
            let level = params
                .get("level")
                .and_then(|l| serde_json::from_value::<LoggingLevel>(l.clone()).ok())
                .unwrap_or(LoggingLevel::Info);
            let logger = params.get("logger").and_then(Value::as_str);
            let data = params.get("data").cloned().unwrap_or(Value::Null);
            match &self.bridge {
                Some(b) => b.caller.get().log(level, logger, data),
                None => self.ctx.log(level, logger, data),
            }
        }
    }
}

#[derive(Deserialize)]
struct CallParams {
    name: String,
    #[serde(default)]
    arguments: Option<Box<RawValue>>,
    #[serde(default, rename = "inputResponses")]
    input_responses: Option<Value>,
    #[serde(default, rename = "requestState")]
    request_state: Option<Value>,
}

fn parse<T: serde::de::DeserializeOwned>(p: Option<&RawValue>) -> Result<T, ErrorObject> {
    serde_json::from_str(p.map_or("{}", RawValue::get))
        .map_err(|e| ErrorObject::new(ErrorCode::INVALID_PARAMS, format!("invalid params: {e}")))
}

/// Copies the MRTR members of a retry onto the upstream request.
fn carry_inputs(
    to: &mut Map<String, Value>,
    input_responses: Option<Value>,
    request_state: Option<Value>,
) {
    // The answer to the gateway's own connect question (per-user OAuth) is not the upstream's.
    if request_state
        .as_ref()
        .and_then(Value::as_str)
        .is_some_and(|s| s.starts_with(crate::per_user::STATE_PREFIX))
    {
        return;
    }
    if let Some(r) = input_responses {
        to.insert("inputResponses".into(), r);
    }
    if let Some(s) = request_state {
        to.insert("requestState".into(), s);
    }
}

/// A tool's input schema, if any of its properties is mirrored into an `Mcp-Param-*` header.
fn header_schema(tool: &Value) -> Option<Map<String, Value>> {
    let schema = tool.get("inputSchema")?.as_object()?;
    let props = schema.get("properties")?.as_object()?;
    props
        .values()
        .any(|p| p.get("x-mcp-header").is_some())
        .then(|| schema.clone())
}

impl RequestHandler for Gateway {
    fn tool_input_schema(&self, name: &str) -> Option<Arc<Map<String, Value>>> {
        self.merged().header_schemas.get(name).cloned()
    }

    fn handle(
        &self,
        method: &str,
        params: Option<Box<RawValue>>,
        ctx: RequestContext,
    ) -> switchyard_server::handler::BoxFuture<Result<Vec<u8>, ErrorObject>> {
        let this = self.self_arc();
        let method = method.to_owned();
        Box::pin(async move {
            let Some(this) = this else {
                return Err(ErrorObject::new(
                    ErrorCode::INTERNAL_ERROR,
                    "gateway is shutting down",
                ));
            };
            this.ensure_catalog().await;
            let m = this.merged();
            let p = params.as_deref();
            let access = this.access(&ctx);
            // A route to an upstream this caller may not see is treated as no route at all, so
            // a hidden name fails exactly like an unknown one.
            let visible = |r: Option<&Route>| r.filter(|r| r.upstream.visible_to(&access)).cloned();
            match method.as_str() {
                methods::TOOLS_LIST => {
                    let items = m.visible(&m.tools, &m.tool_owners, &access);
                    if let Some(ts) = this.tool_search.get() {
                        return this.list(&ctx, p, &ts.visible_tools(&ctx, &items), "tools", true);
                    }
                    this.list(&ctx, p, &items, "tools", true)
                }
                methods::PROMPTS_LIST => {
                    let items = m.visible(&m.prompts, &m.prompt_owners, &access);
                    this.list(&ctx, p, &items, "prompts", true)
                }
                methods::RESOURCES_LIST => {
                    let items = m.visible(&m.resources, &m.resource_owners, &access);
                    this.list(&ctx, p, &items, "resources", true)
                }
                methods::RESOURCES_TEMPLATES_LIST => {
                    let items = m.visible(&m.templates, &m.template_owners, &access);
                    this.list(&ctx, p, &items, "resourceTemplates", true)
                }
                methods::TOOLS_CALL => {
                    let mut cp: CallParams = parse(p)?;
                    if let Some(ts) = this.tool_search.get() {
                        let allowed = |n: &str| visible(m.tool_routes.get(n)).is_some();
                        match ts.intercept(&cp.name, cp.arguments.as_deref(), &ctx, &allowed) {
                            Intercept::Reply(r) => return r,
                            Intercept::Forward { name, arguments } => {
                                cp.name = name;
                                cp.arguments = arguments;
                            }
                            Intercept::Pass => {}
                        }
                    }
                    let Some(route) = visible(m.tool_routes.get(&cp.name)) else {
                        return Err(ErrorObject::new(
                            ErrorCode::INVALID_PARAMS,
                            format!("unknown tool: {}", cp.name),
                        ));
                    };
                    let modern = ctx.protocol_version().is_modern();
                    if modern {
                        // A retry of a call the gateway parked (its upstream speaks an older era).
                        if let Some(state) = cp
                            .request_state
                            .as_ref()
                            .and_then(Value::as_str)
                            .filter(|s| s.starts_with(STATE_PREFIX))
                        {
                            let responses = cp.input_responses.as_ref().and_then(Value::as_object);
                            return this
                                .parked
                                .resume(
                                    state,
                                    &cp.name,
                                    responses,
                                    route.upstream.cfg.timeout,
                                    ctx.clone(),
                                )
                                .await;
                        }
                    }
                    let mut up = Map::new();
                    up.insert("name".into(), Value::String(route.name));
                    carry_inputs(&mut up, cp.input_responses, cp.request_state);
                    let args = cp
                        .arguments
                        .or_else(|| RawValue::from_string("{}".into()).ok());
                    if modern && route.upstream.speaks_older_era().await {
                        let (tx, rx) = tokio::sync::mpsc::channel(1);
                        let caller = CurrentCaller::new(ctx.clone());
                        let bridge = Bridge {
                            asks: tx,
                            caller: caller.clone(),
                        };
                        let leg = route.upstream.cfg.timeout;
                        let (gw, u, c) = (this.clone(), route.upstream.clone(), ctx.clone());
                        let call: CallFuture = Box::pin(async move {
                            gw.relay(
                                &u,
                                methods::TOOLS_CALL,
                                Value::Object(up),
                                args,
                                &c,
                                false,
                                Some(bridge),
                            )
                            .await
                        });
                        return this.parked.start(&cp.name, call, rx, caller, leg).await;
                    }
                    this.relay(
                        &route.upstream,
                        methods::TOOLS_CALL,
                        Value::Object(up),
                        args,
                        &ctx,
                        false,
                        None,
                    )
                    .await
                }
                methods::PROMPTS_GET => {
                    #[derive(Deserialize)]
                    struct G {
                        name: String,
                        #[serde(default)]
                        arguments: Option<Value>,
                        #[serde(default, rename = "inputResponses")]
                        input_responses: Option<Value>,
                        #[serde(default, rename = "requestState")]
                        request_state: Option<Value>,
                    }
                    let g: G = parse(p)?;
                    let Some(route) = visible(m.prompt_routes.get(&g.name)) else {
                        return Err(ErrorObject::new(
                            ErrorCode::INVALID_PARAMS,
                            format!("unknown prompt: {}", g.name),
                        ));
                    };
                    let mut up = Map::new();
                    up.insert("name".into(), Value::String(route.name));
                    if let Some(a) = g.arguments {
                        up.insert("arguments".into(), a);
                    }
                    carry_inputs(&mut up, g.input_responses, g.request_state);
                    this.relay(
                        &route.upstream,
                        methods::PROMPTS_GET,
                        Value::Object(up),
                        None,
                        &ctx,
                        false,
                        None,
                    )
                    .await
                }
                methods::RESOURCES_READ => {
                    #[derive(Deserialize)]
                    struct R {
                        uri: String,
                        #[serde(default, rename = "inputResponses")]
                        input_responses: Option<Value>,
                        #[serde(default, rename = "requestState")]
                        request_state: Option<Value>,
                    }
                    let r: R = parse(p)?;
                    let mut up = Map::new();
                    up.insert("uri".into(), Value::String(r.uri.clone()));
                    carry_inputs(&mut up, r.input_responses, r.request_state);
                    let params = Value::Object(up);
                    // A listed resource goes to its server; a templated one to each in turn
                    // until one knows it.
                    // Hidden upstreams are never asked, so their resources read as unknown.
                    let candidates: Vec<Arc<Upstream>> = match m
                        .resource_routes
                        .get(&r.uri)
                        .filter(|u| u.visible_to(&access))
                    {
                        Some(u) => vec![u.clone()],
                        None => this
                            .upstreams()
                            .iter()
                            .filter(|u| u.visible_to(&access))
                            .cloned()
                            .collect(),
                    };
                    let mut last = None;
                    for u in candidates {
                        match this
                            .relay(
                                &u,
                                methods::RESOURCES_READ,
                                params.clone(),
                                None,
                                &ctx,
                                true,
                                None,
                            )
                            .await
                        {
                            Err(e)
                                if e.code == ErrorCode::RESOURCE_NOT_FOUND
                                    || e.code == ErrorCode::INVALID_PARAMS =>
                            {
                                last = Some(e)
                            }
                            other => return other,
                        }
                    }
                    Err(last.unwrap_or_else(|| {
                        ErrorObject::new(
                            ctx.protocol_version().resource_not_found_code(),
                            format!("resource not found: {}", r.uri),
                        )
                        .with_data(json!({"uri": r.uri}))
                    }))
                }
                methods::COMPLETION_COMPLETE => {
                    let mut cp: CompleteParams = parse(p)?;
                    let upstream = match &mut cp.reference {
                        CompletionRef::Prompt { name } => {
                            let route = visible(m.prompt_routes.get(name));
                            let Some(route) = route else {
                                return Err(ErrorObject::new(
                                    ErrorCode::INVALID_PARAMS,
                                    format!("unknown prompt: {name}"),
                                ));
                            };
                            *name = route.name;
                            route.upstream
                        }
                        CompletionRef::Resource { uri } => {
                            let u = uri.clone();
                            let ups = this.upstreams();
                            let mut seen = ups.iter().filter(|up| up.visible_to(&access));
                            let first = seen.clone().next().cloned();
                            let Some(up) = seen
                                .find(|up| {
                                    up.catalog
                                        .read()
                                        .unwrap_or_else(|p| p.into_inner())
                                        .templates
                                        .iter()
                                        .any(|t| {
                                            t.get("uriTemplate").and_then(Value::as_str)
                                                == Some(u.as_str())
                                        })
                                })
                                .cloned()
                                .or(first)
                            else {
                                return Err(ErrorObject::new(
                                    ErrorCode::INVALID_PARAMS,
                                    format!("unknown resource template: {u}"),
                                ));
                            };
                            up
                        }
                    };
                    cp.meta = None;
                    let v = serde_json::to_value(&cp)
                        .map_err(|e| ErrorObject::new(ErrorCode::INTERNAL_ERROR, e.to_string()))?;
                    this.relay(
                        &upstream,
                        methods::COMPLETION_COMPLETE,
                        v,
                        None,
                        &ctx,
                        false,
                        None,
                    )
                    .await
                }
                other => Err(method_not_found(other)),
            }
        })
    }
}

impl Gateway {
    /// A strong handle for a request's lifetime (the handler API hands out `&self`).
    fn self_arc(&self) -> Option<Arc<Gateway>> {
        self.me.get().and_then(std::sync::Weak::upgrade)
    }
}
