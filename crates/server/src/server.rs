//! The transport-independent core: what each MCP method does.

use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use switchyard_protocol::jsonrpc::ErrorObject;
use switchyard_protocol::meta;
use switchyard_protocol::types::*;
use switchyard_protocol::{ErrorCode, ProtocolVersion};
use tokio::sync::broadcast;

use crate::handler::prompt::{complete_fn, CompleteFn};
use crate::mrtr::{args_digest, StateSealer};
use crate::registry::Registry;
use crate::{HandlerError, PromptDef, RequestContext, ResourceDef, TemplateDef, ToolDef};

/// Default page size of list results.
pub const DEFAULT_PAGE_SIZE: usize = 100;

/// A change the server announces to listening clients.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ServerEvent {
    /// The tool list changed.
    ToolsListChanged,
    /// The prompt list changed.
    PromptsListChanged,
    /// The resource list changed.
    ResourcesListChanged,
    /// A resource's contents changed.
    ResourceUpdated(String),
    /// The inner event, only for the 2026-07-28 `subscriptions/listen` streams whose HTTP
    /// request the audience accepts (for example, the streams of one authenticated user): the
    /// 2026-07-28 era has no session to address, so a change that concerns one caller is
    /// addressed by who opened the stream. Other transports drop it.
    Targeted(Audience, Box<ServerEvent>),
}

/// Who a [`ServerEvent::Targeted`] event is for: a test on the request extensions of a
/// `subscriptions/listen` stream (where an authentication layer leaves the caller's identity).
#[derive(Clone)]
pub struct Audience(Arc<dyn Fn(&http::Extensions) -> bool + Send + Sync>);

impl Audience {
    /// An audience of the streams whose request extensions pass `test`.
    pub fn new(test: impl Fn(&http::Extensions) -> bool + Send + Sync + 'static) -> Self {
        Self(Arc::new(test))
    }

    /// Whether a stream opened with these request extensions belongs to the audience.
    pub fn accepts(&self, extensions: &http::Extensions) -> bool {
        (self.0)(extensions)
    }
}

impl std::fmt::Debug for Audience {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Audience(..)")
    }
}

/// Two audiences are equal when they are the same test.
impl PartialEq for Audience {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for Audience {}

/// Builds a [`Server`].
pub struct ServerBuilder {
    info: Implementation,
    instructions: Option<String>,
    tools: Vec<ToolDef>,
    resources: Vec<ResourceDef>,
    templates: Vec<TemplateDef>,
    prompts: Vec<PromptDef>,
    completion: Option<CompleteFnDebug>,
    page_size: usize,
    sealer: Option<StateSealer>,
    ttl_ms: u64,
    cache_scope: CacheScope,
    logging: bool,
    extensions: Map<String, Value>,
    handler: Option<Arc<dyn RequestHandler>>,
    custom_capabilities: Option<ServerCapabilities>,
}

/// Handles requests at the JSON-RPC level, below the typed handler API: for servers whose
/// methods are not known up front (a gateway relaying upstream servers). Arguments and results
/// pass as raw JSON, so nothing is re-serialised on the way through.
///
/// The transport still does everything else: sessions, headers, SSE, `initialize`,
/// `server/discover`, `ping`, `subscriptions/listen`.
pub trait RequestHandler: Send + Sync + 'static {
    /// Answers `method`. `Ok` carries the result's JSON. Return
    /// `Err(method_not_found(method))` for methods it does not serve.
    fn handle(
        &self,
        method: &str,
        params: Option<Box<RawValue>>,
        ctx: RequestContext,
    ) -> crate::handler::BoxFuture<Result<Vec<u8>, ErrorObject>>;

    /// The input schema of a tool this handler serves, when it has properties marked
    /// `x-mcp-header`, so that the transport can check a 2026-07-28 request's `Mcp-Param-*`
    /// headers against its arguments before dispatch. `None` (the default) means no check.
    fn tool_input_schema(&self, name: &str) -> Option<Arc<Map<String, Value>>> {
        let _ = name;
        None
    }
}

impl std::fmt::Debug for ServerBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerBuilder")
            .field("info", &self.info)
            .field("tools", &self.tools.len())
            .field("handler", &self.handler.is_some())
            .finish_non_exhaustive()
    }
}

struct CompleteFnDebug(CompleteFn);
impl std::fmt::Debug for CompleteFnDebug {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<completion handler>")
    }
}

impl ServerBuilder {
    /// Adds a tool.
    pub fn tool(mut self, tool: ToolDef) -> Self {
        self.tools.push(tool);
        self
    }

    /// Adds a resource.
    pub fn resource(mut self, r: ResourceDef) -> Self {
        self.resources.push(r);
        self
    }

    /// Adds a resource template.
    pub fn resource_template(mut self, t: TemplateDef) -> Self {
        self.templates.push(t);
        self
    }

    /// Adds a prompt.
    pub fn prompt(mut self, p: PromptDef) -> Self {
        self.prompts.push(p);
        self
    }

    /// Sets the completion handler (enables the `completions` capability).
    pub fn completion<F, Fut>(mut self, f: F) -> Self
    where
        F: Fn(CompleteParams, RequestContext) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = Result<Completion, HandlerError>> + Send + 'static,
    {
        self.completion = Some(CompleteFnDebug(complete_fn(f)));
        self
    }

    /// Sets instructions for the model.
    pub fn instructions(mut self, s: impl Into<String>) -> Self {
        self.instructions = Some(s.into());
        self
    }

    /// Sets the page size of list results.
    pub fn page_size(mut self, n: usize) -> Self {
        self.page_size = n.max(1);
        self
    }

    /// Sets the key that seals `requestState` (share it between replicas behind one endpoint).
    pub fn request_state_key(mut self, key: [u8; 32]) -> Self {
        self.sealer = Some(StateSealer::new(key));
        self
    }

    /// Sets the 2026-07-28 cache hints on list results and reads.
    pub fn cache_hints(mut self, ttl_ms: u64, scope: CacheScope) -> Self {
        self.ttl_ms = ttl_ms;
        self.cache_scope = scope;
        self
    }

    /// Declares the `logging` capability.
    pub fn logging(mut self, on: bool) -> Self {
        self.logging = on;
        self
    }

    /// Routes every request method to `handler` instead of the registered tools, resources and
    /// prompts; `capabilities` is what `initialize` and `server/discover` then declare.
    pub fn request_handler(
        mut self,
        handler: Arc<dyn RequestHandler>,
        capabilities: ServerCapabilities,
    ) -> Self {
        self.handler = Some(handler);
        self.custom_capabilities = Some(capabilities);
        self
    }

    /// Declares a 2026-07-28 extension (for example `io.modelcontextprotocol/tasks`).
    pub fn extension(mut self, name: impl Into<String>, settings: Value) -> Self {
        self.extensions.insert(name.into(), settings);
        self
    }

    /// Builds the server.
    pub fn build(self) -> Server {
        let mut caps = ServerCapabilities {
            tools: Some(ListChangedCapability {
                list_changed: Some(true),
            }),
            ..ServerCapabilities::default()
        };
        if !self.resources.is_empty() || !self.templates.is_empty() {
            caps.resources = Some(ResourcesCapability {
                subscribe: Some(true),
                list_changed: Some(true),
            });
        }
        if !self.prompts.is_empty() {
            caps.prompts = Some(ListChangedCapability {
                list_changed: Some(true),
            });
        }
        if self.completion.is_some() {
            caps.completions = Some(Map::new());
        }
        if self.logging {
            caps.logging = Some(Map::new());
        }
        if !self.extensions.is_empty() {
            caps.extensions = Some(self.extensions);
        }
        if let Some(c) = self.custom_capabilities {
            caps = c;
        }
        let (events, _) = broadcast::channel(256);
        Server {
            inner: Arc::new(Inner {
                info: self.info,
                instructions: self.instructions,
                tools: Registry::new(self.tools),
                resources: Registry::new(self.resources),
                templates: Registry::new(self.templates),
                prompts: Registry::new(self.prompts),
                completion: self.completion.map(|c| c.0),
                page_size: self.page_size,
                sealer: self.sealer.unwrap_or_else(StateSealer::random),
                ttl_ms: self.ttl_ms,
                cache_scope: self.cache_scope,
                capabilities: caps,
                events,
                handler: self.handler,
            }),
        }
    }
}

/// An MCP server: handlers plus the logic of each method. Cheap to clone; serve it with
/// [`crate::http::McpService`] or [`crate::stdio::serve_stdio`].
#[derive(Clone)]
pub struct Server {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("name", &self.inner.info.name)
            .finish_non_exhaustive()
    }
}

pub(crate) struct Inner {
    pub(crate) info: Implementation,
    instructions: Option<String>,
    tools: Registry<ToolDef>,
    resources: Registry<ResourceDef>,
    templates: Registry<TemplateDef>,
    prompts: Registry<PromptDef>,
    completion: Option<CompleteFn>,
    page_size: usize,
    sealer: StateSealer,
    ttl_ms: u64,
    cache_scope: CacheScope,
    pub(crate) capabilities: ServerCapabilities,
    pub(crate) events: broadcast::Sender<ServerEvent>,
    handler: Option<Arc<dyn RequestHandler>>,
}

/// The outcome of a request: the result's JSON, or a JSON-RPC error.
pub(crate) type Reply = Result<Vec<u8>, ErrorObject>;

fn parse<T: DeserializeOwned>(params: Option<&RawValue>) -> Result<T, ErrorObject> {
    serde_json::from_str(params.map_or("{}", RawValue::get))
        .map_err(|e| ErrorObject::new(ErrorCode::INVALID_PARAMS, format!("invalid params: {e}")))
}

fn encode<T: Serialize>(v: &T) -> Reply {
    serde_json::to_vec(v).map_err(|e| ErrorObject::new(ErrorCode::INTERNAL_ERROR, e.to_string()))
}

/// [`encode`] for a tool result. The common one, a single plain text block and at most
/// `resultType`, is written directly: serde goes through a map serialiser for the flattened
/// era fields, several times the work. A test checks both write the same bytes.
fn encode_tool_result(r: &CallToolResult) -> Reply {
    let plain_fields =
        r.fields.ttl_ms.is_none() && r.fields.cache_scope.is_none() && r.fields.meta.is_none();
    match r.content.as_slice() {
        [ContentBlock::Text(t)]
            if t.annotations.is_none()
                && t.meta.is_none()
                && r.structured_content.is_none()
                && r.is_error.is_none()
                && plain_fields =>
        {
            let mut out = Vec::with_capacity(t.text.len() + 72);
            out.extend_from_slice(br#"{"content":[{"type":"text","text":"#);
            serde_json::to_writer(&mut out, &t.text)
                .map_err(|e| ErrorObject::new(ErrorCode::INTERNAL_ERROR, e.to_string()))?;
            out.extend_from_slice(b"}]");
            if let Some(rt) = &r.fields.result_type {
                out.extend_from_slice(br#","resultType":"#);
                serde_json::to_writer(&mut out, rt)
                    .map_err(|e| ErrorObject::new(ErrorCode::INTERNAL_ERROR, e.to_string()))?;
            }
            out.push(b'}');
            Ok(out)
        }
        _ => encode(r),
    }
}

fn encode_cursor(offset: usize) -> String {
    URL_SAFE_NO_PAD.encode(format!("o:{offset}"))
}

fn decode_cursor(c: Option<&str>) -> Result<usize, ErrorObject> {
    let Some(c) = c else { return Ok(0) };
    URL_SAFE_NO_PAD
        .decode(c)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| s.strip_prefix("o:").and_then(|n| n.parse().ok()))
        .ok_or_else(|| ErrorObject::new(ErrorCode::INVALID_PARAMS, "invalid cursor"))
}

impl From<HandlerError> for ErrorObject {
    fn from(e: HandlerError) -> Self {
        match e {
            HandlerError::Protocol(e) => e,
            HandlerError::Failed(m) => ErrorObject::new(ErrorCode::INTERNAL_ERROR, m),
            HandlerError::InputRequired => ErrorObject::new(
                ErrorCode::INTERNAL_ERROR,
                "input required outside a 2026-07-28 request",
            ),
            HandlerError::Cancelled => ErrorObject::new(ErrorCode::INTERNAL_ERROR, "cancelled"),
        }
    }
}

impl Server {
    /// Starts building a server with a name and version.
    pub fn builder(name: impl Into<String>, version: impl Into<String>) -> ServerBuilder {
        ServerBuilder {
            info: Implementation::new(name, version),
            instructions: None,
            tools: Vec::new(),
            resources: Vec::new(),
            templates: Vec::new(),
            prompts: Vec::new(),
            completion: None,
            page_size: DEFAULT_PAGE_SIZE,
            sealer: None,
            ttl_ms: 0,
            cache_scope: CacheScope::Public,
            logging: true,
            extensions: Map::new(),
            handler: None,
            custom_capabilities: None,
        }
    }

    /// The server's implementation info.
    pub fn info(&self) -> &Implementation {
        &self.inner.info
    }

    /// The server's capabilities.
    pub fn capabilities(&self) -> &ServerCapabilities {
        &self.inner.capabilities
    }

    /// Instructions for the model.
    pub fn instructions(&self) -> Option<&str> {
        self.inner.instructions.as_deref()
    }

    /// Adds or replaces a tool and tells listening clients.
    pub fn add_tool(&self, tool: ToolDef) {
        self.inner.tools.upsert(tool);
        self.notify(ServerEvent::ToolsListChanged);
    }

    /// Removes a tool and tells listening clients.
    pub fn remove_tool(&self, name: &str) -> bool {
        let removed = self.inner.tools.remove(name);
        if removed {
            self.notify(ServerEvent::ToolsListChanged);
        }
        removed
    }

    /// Adds or replaces a prompt and tells listening clients.
    pub fn add_prompt(&self, p: PromptDef) {
        self.inner.prompts.upsert(p);
        self.notify(ServerEvent::PromptsListChanged);
    }

    /// Adds or replaces a resource and tells listening clients.
    pub fn add_resource(&self, r: ResourceDef) {
        self.inner.resources.upsert(r);
        self.notify(ServerEvent::ResourcesListChanged);
    }

    /// Announces a change to every listening client.
    pub fn notify(&self, e: ServerEvent) {
        let _ = self.inner.events.send(e);
    }

    /// Subscribes to server events.
    pub fn subscribe(&self) -> broadcast::Receiver<ServerEvent> {
        self.inner.events.subscribe()
    }

    /// The tool definitions, in order.
    pub fn tools(&self) -> Vec<Tool> {
        self.inner
            .tools
            .snapshot()
            .items
            .iter()
            .map(|t| t.tool.clone())
            .collect()
    }

    /// The input schema a [`RequestHandler`] reports for a tool it serves (see
    /// [`RequestHandler::tool_input_schema`]).
    pub fn handler_tool_input_schema(&self, name: &str) -> Option<Arc<Map<String, Value>>> {
        self.inner.handler.as_ref()?.tool_input_schema(name)
    }

    /// Runs `f` on one tool's definition without copying it.
    pub fn with_tool<R>(&self, name: &str, f: impl FnOnce(&Tool) -> R) -> Option<R> {
        self.inner.tools.snapshot().get(name).map(|t| f(&t.tool))
    }

    /// The definition of one tool.
    pub fn tool_definition(&self, name: &str) -> Option<Tool> {
        self.inner
            .tools
            .snapshot()
            .get(name)
            .map(|t| t.tool.clone())
    }

    /// The era-dependent members a result of version `v` carries (`resultType`, and the cache
    /// hints when `cacheable`).
    pub fn result_fields(&self, v: ProtocolVersion, cacheable: bool) -> ResultFields {
        self.fields(v, cacheable)
    }

    fn fields(&self, v: ProtocolVersion, cacheable: bool) -> ResultFields {
        if !v.is_modern() {
            return ResultFields::default();
        }
        ResultFields {
            result_type: Some(ResultType::Complete),
            ttl_ms: cacheable.then_some(self.inner.ttl_ms),
            cache_scope: cacheable.then_some(self.inner.cache_scope),
            meta: None,
        }
    }

    /// The `initialize` result for a negotiated legacy version.
    pub(crate) fn initialize_result(&self, v: ProtocolVersion) -> InitializeResult {
        let mut caps = self.inner.capabilities.clone();
        caps.extensions = None;
        InitializeResult {
            protocol_version: v.as_str().to_owned(),
            capabilities: caps,
            server_info: self.inner.info.clone(),
            instructions: self.inner.instructions.clone(),
            meta: None,
        }
    }

    /// The `server/discover` result.
    pub(crate) fn discover_result(&self) -> DiscoverResult {
        let mut fields = self.fields(ProtocolVersion::LATEST, true);
        let mut m = Map::new();
        m.insert(
            meta::SERVER_INFO.into(),
            serde_json::to_value(&self.inner.info).unwrap_or(Value::Null),
        );
        fields.meta = Some(m);
        let mut caps = self.inner.capabilities.clone();
        caps.tasks = None;
        DiscoverResult {
            supported_versions: ProtocolVersion::ALL
                .iter()
                .rev()
                .map(|v| v.as_str().to_owned())
                .collect(),
            capabilities: caps,
            instructions: self.inner.instructions.clone(),
            fields,
        }
    }

    /// Runs one request of the methods both eras share (plus the small legacy ones).
    /// Lifecycle (`initialize`, sessions) and streaming methods are the transport's.
    pub(crate) async fn dispatch(
        &self,
        method: &str,
        params: Option<Box<RawValue>>,
        ctx: RequestContext,
    ) -> Reply {
        let v = ctx.protocol_version();
        match method {
            methods::DISCOVER if v.is_modern() => return encode(&self.discover_result()),
            methods::PING if !v.is_modern() => return Ok(b"{}".to_vec()),
            _ => {}
        }
        if let Some(h) = &self.inner.handler {
            return h.handle(method, params, ctx).await;
        }
        let p = params.as_deref();
        match method {
            methods::TOOLS_CALL => self.call_tool(params, ctx).await,
            methods::TOOLS_LIST => {
                let pp: PaginatedParams = parse(p)?;
                let set = self.inner.tools.snapshot();
                let (page, next) = self.page(&set.items, pp.cursor.as_deref())?;
                encode(&ListToolsResult {
                    tools: page.iter().map(|t| t.tool.clone()).collect(),
                    next_cursor: next,
                    fields: self.fields(v, true),
                })
            }
            methods::RESOURCES_LIST => {
                let pp: PaginatedParams = parse(p)?;
                let set = self.inner.resources.snapshot();
                let (page, next) = self.page(&set.items, pp.cursor.as_deref())?;
                encode(&ListResourcesResult {
                    resources: page.iter().map(|r| r.resource.clone()).collect(),
                    next_cursor: next,
                    fields: self.fields(v, true),
                })
            }
            methods::RESOURCES_TEMPLATES_LIST => {
                let pp: PaginatedParams = parse(p)?;
                let set = self.inner.templates.snapshot();
                let (page, next) = self.page(&set.items, pp.cursor.as_deref())?;
                encode(&ListResourceTemplatesResult {
                    resource_templates: page.iter().map(|t| t.template.clone()).collect(),
                    next_cursor: next,
                    fields: self.fields(v, true),
                })
            }
            methods::RESOURCES_READ => self.read_resource(p, ctx).await,
            methods::PROMPTS_LIST => {
                let pp: PaginatedParams = parse(p)?;
                let set = self.inner.prompts.snapshot();
                let (page, next) = self.page(&set.items, pp.cursor.as_deref())?;
                encode(&ListPromptsResult {
                    prompts: page.iter().map(|t| t.prompt.clone()).collect(),
                    next_cursor: next,
                    fields: self.fields(v, true),
                })
            }
            methods::PROMPTS_GET => self.get_prompt(p, ctx).await,
            methods::COMPLETION_COMPLETE => {
                let Some(f) = &self.inner.completion else {
                    return Err(method_not_found(method));
                };
                let cp: CompleteParams = parse(p)?;
                let mut completion = f(cp, ctx).await?;
                // The spec caps a completion at 100 values.
                if completion.values.len() > 100 {
                    completion
                        .total
                        .get_or_insert(completion.values.len() as u64);
                    completion.values.truncate(100);
                    completion.has_more = Some(true);
                }
                encode(&CompleteResult {
                    completion,
                    fields: self.fields(v, false),
                })
            }
            _ => Err(method_not_found(method)),
        }
    }

    fn page<'a, T>(
        &self,
        items: &'a [T],
        cursor: Option<&str>,
    ) -> Result<(&'a [T], Option<String>), ErrorObject> {
        let start = decode_cursor(cursor)?;
        if start > items.len() {
            return Err(ErrorObject::new(
                ErrorCode::INVALID_PARAMS,
                "invalid cursor",
            ));
        }
        let end = (start + self.inner.page_size).min(items.len());
        let next = (end < items.len()).then(|| encode_cursor(end));
        Ok((&items[start..end], next))
    }

    /// Merges the answers of a 2026-07-28 retry: sealed earlier answers plus new ones.
    fn open_inputs(
        &self,
        ctx: &RequestContext,
        method: &str,
        target: &str,
        args: &dyn Fn() -> String,
        state: Option<&str>,
        responses: Option<Map<String, Value>>,
    ) -> Result<(), ErrorObject> {
        if !ctx.protocol_version().is_modern() {
            return Ok(());
        }
        let mut known = match state {
            Some(s) => self
                .inner
                .sealer
                .open(s, method, target, &args())
                .map_err(|e| ErrorObject::new(ErrorCode::INVALID_PARAMS, e.to_string()))?,
            None => Map::new(),
        };
        if let Some(r) = responses {
            known.extend(r);
        }
        let mut st = ctx.inner.mrtr.lock().unwrap_or_else(|p| p.into_inner());
        st.responses = known;
        Ok(())
    }

    /// Turns a handler's outcome into a reply, producing an `input_required` result when the
    /// handler asked the client for input.
    #[allow(clippy::too_many_arguments)] // Private; each caller passes its method's pieces.
    fn finish<T: Serialize>(
        &self,
        ctx: &RequestContext,
        method: &str,
        target: &str,
        args: &dyn Fn() -> String,
        outcome: Result<T, HandlerError>,
        encode_ok: impl FnOnce(&T) -> Reply,
        on_failed: impl FnOnce(String) -> Reply,
    ) -> Reply {
        if ctx.protocol_version().is_modern() {
            let pending = ctx.take_pending_inputs();
            if !pending.is_empty() {
                let state = self
                    .inner
                    .sealer
                    .seal(method, target, &args(), ctx.known_responses());
                return encode(&InputRequiredResult {
                    result_type: ResultType::InputRequired,
                    input_requests: Some(pending),
                    request_state: Some(state),
                    meta: None,
                });
            }
        }
        match outcome {
            Ok(v) => encode_ok(&v),
            Err(HandlerError::Failed(m)) => on_failed(m),
            Err(e) => Err(e.into()),
        }
    }

    async fn call_tool(&self, params: Option<Box<RawValue>>, ctx: RequestContext) -> Reply {
        let cp: CallToolParams = parse(params.as_deref())?;
        self.call_tool_parsed(cp, ctx).await
    }

    /// Whether requests go to a [`RequestHandler`] instead of the registered handlers.
    pub(crate) fn has_request_handler(&self) -> bool {
        self.inner.handler.is_some()
    }

    /// `tools/call` with params the transport already read: what [`Self::dispatch`] does for
    /// it when no [`RequestHandler`] is set.
    pub(crate) async fn call_tool_parsed(&self, cp: CallToolParams, ctx: RequestContext) -> Reply {
        let set = self.inner.tools.snapshot();
        let Some(def) = set.get(&cp.name) else {
            return Err(ErrorObject::new(
                ErrorCode::INVALID_PARAMS,
                format!("unknown tool: {}", cp.name),
            ));
        };
        let v = ctx.protocol_version();
        // Hashing the arguments is only needed to open or seal a requestState.
        let digest = || args_digest(cp.arguments.as_deref().map_or("", RawValue::get));
        self.open_inputs(
            &ctx,
            methods::TOOLS_CALL,
            &cp.name,
            &digest,
            cp.request_state.as_deref(),
            cp.input_responses,
        )?;
        let outcome = (def.handler)(cp.arguments.as_deref(), ctx.clone()).await;
        let outcome = outcome.and_then(|mut r| {
            def.check_output(&r)?;
            r.fields = self.fields(v, false);
            Ok(r)
        });
        let fields = self.fields(v, false);
        let enc = encode_tool_result;
        self.finish(
            &ctx,
            methods::TOOLS_CALL,
            &cp.name,
            &digest,
            outcome,
            enc,
            |m| {
                // Tool failures are results the model can read, not protocol errors.
                let mut r = CallToolResult::error(m);
                r.fields = fields;
                encode(&r)
            },
        )
    }

    async fn read_resource(&self, p: Option<&RawValue>, ctx: RequestContext) -> Reply {
        let rp: ResourceParams = parse(p)?;
        let v = ctx.protocol_version();
        self.open_inputs(
            &ctx,
            methods::RESOURCES_READ,
            &rp.uri,
            &String::new,
            rp.request_state.as_deref(),
            rp.input_responses,
        )?;
        let set = self.inner.resources.snapshot();
        let outcome = if let Some(def) = set.get(&rp.uri) {
            (def.read)(rp.uri.clone(), Default::default(), ctx.clone()).await
        } else {
            let templates = self.inner.templates.snapshot();
            let found = templates
                .items
                .iter()
                .find_map(|t| t.pattern.matches(&rp.uri).map(|vars| (t, vars)));
            match found {
                Some((t, vars)) => (t.read)(rp.uri.clone(), vars, ctx.clone()).await,
                None => {
                    return Err(ErrorObject::new(
                        v.resource_not_found_code(),
                        format!("resource not found: {}", rp.uri),
                    )
                    .with_data(serde_json::json!({ "uri": rp.uri })))
                }
            }
        };
        let fields = self.fields(v, true);
        let outcome = outcome.map(|contents| ReadResourceResult { contents, fields });
        self.finish(
            &ctx,
            methods::RESOURCES_READ,
            &rp.uri,
            &String::new,
            outcome,
            encode,
            |m| Err(ErrorObject::new(ErrorCode::INTERNAL_ERROR, m)),
        )
    }

    async fn get_prompt(&self, p: Option<&RawValue>, ctx: RequestContext) -> Reply {
        let gp: GetPromptParams = parse(p)?;
        let set = self.inner.prompts.snapshot();
        let Some(def) = set.get(&gp.name) else {
            return Err(ErrorObject::new(
                ErrorCode::INVALID_PARAMS,
                format!("unknown prompt: {}", gp.name),
            ));
        };
        let args = gp.arguments.unwrap_or_default();
        def.check_required(&args)?;
        let v = ctx.protocol_version();
        let digest_value = if v.is_modern() {
            args_digest(&Value::Object(args.clone()).to_string())
        } else {
            String::new()
        };
        let digest = || digest_value.clone();
        self.open_inputs(
            &ctx,
            methods::PROMPTS_GET,
            &gp.name,
            &digest,
            gp.request_state.as_deref(),
            gp.input_responses,
        )?;
        let fields = self.fields(v, false);
        let outcome = (def.get)(args, ctx.clone()).await.map(|mut r| {
            r.fields = fields;
            r
        });
        self.finish(
            &ctx,
            methods::PROMPTS_GET,
            &gp.name,
            &digest,
            outcome,
            encode,
            |m| Err(ErrorObject::new(ErrorCode::INTERNAL_ERROR, m)),
        )
    }
}

/// The error for a method a server does not serve.
pub fn method_not_found(method: &str) -> ErrorObject {
    ErrorObject::new(
        ErrorCode::METHOD_NOT_FOUND,
        format!("method not found: {method}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tool_results_written_directly_match_serde() {
        let mut cases = vec![
            CallToolResult::text("hi"),
            CallToolResult::text("quote \" backslash \\ newline \n tab \t \u{1} é 日本"),
            CallToolResult::text(""),
            CallToolResult::error("failed"),
            CallToolResult {
                content: vec![ContentBlock::text("a"), ContentBlock::text("b")],
                ..CallToolResult::default()
            },
            CallToolResult {
                structured_content: Some(serde_json::json!({"x": 1})),
                ..CallToolResult::text("{\"x\":1}")
            },
        ];
        for rt in [
            None,
            Some(ResultType::Complete),
            Some(ResultType::InputRequired),
        ] {
            let mut r = CallToolResult::text("era");
            r.fields.result_type = rt;
            cases.push(r);
        }
        let mut cached = CallToolResult::text("cached");
        cached.fields.ttl_ms = Some(5);
        cases.push(cached);
        for r in cases {
            assert_eq!(
                encode_tool_result(&r).unwrap(),
                serde_json::to_vec(&r).unwrap(),
                "{r:?}"
            );
        }
    }
}
