//! The MCP client: connect to any MCP server — Streamable HTTP in either protocol era (with
//! fallback to the 2024-11-05 HTTP+SSE transport) or a stdio child process — do the handshake,
//! answer the server's requests, list and call tools, and hand authorization challenges to an
//! OAuth provider.
//!
//! ```no_run
//! # async fn run() -> Result<(), switchyard_client::ClientError> {
//! use switchyard_client::{Client, ClientOptions};
//! let client = Client::connect_http("http://127.0.0.1:8787/mcp", ClientOptions::default()).await?;
//! for tool in client.list_tools().await? {
//!     println!("{}", tool["name"]);
//! }
//! let result = client.call_tool("echo", serde_json::json!({"text": "hi"}), &Default::default()).await?;
//! println!("{result}");
//! client.close().await;
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]

mod conn;
mod error;
pub mod handler;
mod http;
pub mod sse;
mod stdio;

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use switchyard_protocol::types::{methods, ClientCapabilities, Implementation};
use tokio::sync::Mutex;

pub use error::ClientError;
pub use handler::{AcceptDefaults, BoxFuture, ClientHandler, DefaultHandler};
pub use http::{tool_headers_valid, HttpClient, MAX_INPUT_ROUNDS, MAX_RESPONSE_BYTES, MAX_RESUMES};
pub use stdio::{StdioCommand, MAX_LINE_BYTES as MAX_STDIO_LINE_BYTES};

/// One progress report.
#[derive(Debug, Clone, PartialEq)]
pub struct Progress {
    /// Progress so far.
    pub progress: f64,
    /// Total, if known.
    pub total: Option<f64>,
    /// Message.
    pub message: Option<String>,
}

impl Progress {
    /// Reads `notifications/progress` params: the token (as text) and the report.
    pub(crate) fn from_params(params: &Value) -> Option<(String, Self)> {
        let token = match params.get("progressToken")? {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            _ => return None,
        };
        Some((
            token,
            Self {
                progress: params
                    .get("progress")
                    .and_then(Value::as_f64)
                    .unwrap_or(0.0),
                total: params.get("total").and_then(Value::as_f64),
                message: params
                    .get("message")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
            },
        ))
    }
}

/// A progress callback.
pub type ProgressFn = Arc<dyn Fn(Progress) + Send + Sync>;

/// Which protocol era to speak.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProtocolPreference {
    /// Detect: a 2026-07-28 request first, then `initialize`, then HTTP+SSE.
    #[default]
    Auto,
    /// 2026-07-28 only.
    Modern,
    /// Legacy `initialize` asking for this version.
    Legacy(String),
}

/// Supplies and renews access tokens (the OAuth client implements this).
pub trait AuthProvider: Send + Sync {
    /// The token currently held for `url`.
    fn token<'a>(&'a self, url: &'a str) -> BoxFuture<'a, Option<String>>;
    /// Handles a 401 or 403 challenge; returns a new token.
    fn challenge<'a>(
        &'a self,
        url: &'a str,
        status: u16,
        www_authenticate: Option<String>,
    ) -> BoxFuture<'a, Result<String, String>>;
}

/// The OAuth 2.1 client as an [`AuthProvider`]: tokens from its store, challenges answered with
/// discovery, registration and the authorization-code flow.
#[derive(Clone, Debug)]
pub struct OAuth(pub switchyard_auth::client::OAuthClient);

impl AuthProvider for OAuth {
    fn token<'a>(&'a self, url: &'a str) -> BoxFuture<'a, Option<String>> {
        Box::pin(self.0.token_for(url))
    }
    fn challenge<'a>(
        &'a self,
        url: &'a str,
        status: u16,
        www_authenticate: Option<String>,
    ) -> BoxFuture<'a, Result<String, String>> {
        Box::pin(async move {
            self.0
                .handle_challenge(url, status, www_authenticate.as_deref())
                .await
                .map_err(|e| e.to_string())
        })
    }
}

/// A fixed bearer token (an API key, or a token obtained elsewhere).
#[derive(Clone)]
pub struct StaticToken(pub String);

impl std::fmt::Debug for StaticToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StaticToken(<redacted>)")
    }
}

impl AuthProvider for StaticToken {
    fn token<'a>(&'a self, _url: &'a str) -> BoxFuture<'a, Option<String>> {
        Box::pin(async move { Some(self.0.clone()) })
    }
    fn challenge<'a>(
        &'a self,
        _url: &'a str,
        status: u16,
        _w: Option<String>,
    ) -> BoxFuture<'a, Result<String, String>> {
        Box::pin(async move {
            Err(format!(
                "the server refused the static token (HTTP {status})"
            ))
        })
    }
}

/// How a client connects and behaves.
#[derive(Clone)]
pub struct ClientOptions {
    /// Sent as `clientInfo`.
    pub client_info: Implementation,
    /// Declared capabilities.
    pub capabilities: ClientCapabilities,
    /// Which era to speak.
    pub protocol: ProtocolPreference,
    /// Default per-request timeout.
    pub request_timeout: Duration,
    /// Extra HTTP headers on every request.
    pub headers: Vec<(String, String)>,
    /// Answers server-to-client requests.
    pub handler: Arc<dyn ClientHandler>,
    /// Authorization provider.
    pub auth: Option<Arc<dyn AuthProvider>>,
    /// Whether to open the legacy GET stream after `initialize`.
    pub open_get_stream: bool,
}

impl std::fmt::Debug for ClientOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientOptions")
            .field("client_info", &self.client_info)
            .field("protocol", &self.protocol)
            .field("request_timeout", &self.request_timeout)
            .finish_non_exhaustive()
    }
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            client_info: Implementation::new("switchyard", env!("CARGO_PKG_VERSION")),
            capabilities: ClientCapabilities::default(),
            protocol: ProtocolPreference::Auto,
            request_timeout: Duration::from_secs(60),
            headers: Vec::new(),
            handler: Arc::new(DefaultHandler),
            auth: None,
            open_get_stream: false,
        }
    }
}

/// Options of one request.
#[derive(Clone, Default)]
pub struct RequestOptions {
    /// Called for each progress notification of this request.
    pub progress: Option<ProgressFn>,
    /// Overrides the default timeout.
    pub timeout: Option<Duration>,
    /// Answers this request's server-to-client requests instead of the connection's handler
    /// (a relay passes them on to its own client).
    pub handler: Option<Arc<dyn ClientHandler>>,
    /// Extra `_meta` members; in the 2026-07-28 era they may override the client's own
    /// (`io.modelcontextprotocol/clientCapabilities`, `…/logLevel`).
    pub meta: Option<serde_json::Map<String, Value>>,
    /// Return an `input_required` result to the caller instead of answering it.
    pub return_input_required: bool,
    /// `tools/call` arguments to send verbatim (a relay passes them through unparsed).
    pub raw_arguments: Option<Box<serde_json::value::RawValue>>,
}

impl std::fmt::Debug for RequestOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestOptions")
            .field("progress", &self.progress.is_some())
            .field("timeout", &self.timeout)
            .field("handler", &self.handler.is_some())
            .field("return_input_required", &self.return_input_required)
            .finish_non_exhaustive()
    }
}

enum Transport {
    Http(HttpClient),
    Stdio(
        Box<Mutex<stdio::StdioProcess>>,
        Arc<conn::MsgConn>,
        Duration,
    ),
}

/// A connected MCP client over any transport.
pub struct Client {
    t: Transport,
    modern: bool,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.t {
            Transport::Http(h) => h.fmt(f),
            Transport::Stdio(..) => f.write_str("Client(stdio)"),
        }
    }
}

impl Client {
    /// Connects over HTTP.
    pub async fn connect_http(url: &str, opts: ClientOptions) -> Result<Self, ClientError> {
        let h = HttpClient::connect(url, opts).await?;
        let modern = h
            .protocol_version()
            .parse::<switchyard_protocol::ProtocolVersion>()
            .is_ok_and(|v| v.is_modern());
        Ok(Self {
            t: Transport::Http(h),
            modern,
        })
    }

    /// Starts a stdio server and does the legacy handshake.
    pub async fn connect_stdio(
        cmd: &StdioCommand,
        opts: ClientOptions,
    ) -> Result<Self, ClientError> {
        let p = stdio::StdioProcess::spawn(cmd, opts.handler.clone())?;
        let conn = p.conn.clone();
        let init = json!({
            "protocolVersion": switchyard_protocol::ProtocolVersion::LATEST_LEGACY.as_str(),
            "capabilities": opts.capabilities,
            "clientInfo": opts.client_info,
        });
        let timeout = opts.request_timeout;
        tokio::time::timeout(timeout, conn.request(methods::INITIALIZE, Some(init), None))
            .await
            .map_err(|_| ClientError::Timeout(timeout))??;
        conn.notify(methods::INITIALIZED, None).await?;
        Ok(Self {
            t: Transport::Stdio(Box::new(Mutex::new(p)), conn, timeout),
            modern: false,
        })
    }

    /// Whether this connection speaks the 2026-07-28 era, whose results always carry
    /// `resultType`.
    pub fn is_modern(&self) -> bool {
        self.modern
    }

    /// The HTTP client underneath, when there is one.
    pub fn http(&self) -> Option<&HttpClient> {
        match &self.t {
            Transport::Http(h) => Some(h),
            Transport::Stdio(..) => None,
        }
    }

    /// Sends any request.
    pub async fn request(
        &self,
        method: &str,
        params: Option<Value>,
        ro: &RequestOptions,
    ) -> Result<Value, ClientError> {
        match &self.t {
            Transport::Http(h) => h.request(method, params, ro).await,
            Transport::Stdio(_, c, default) => {
                let t = ro.timeout.unwrap_or(*default);
                let r =
                    tokio::time::timeout(t, c.request(method, params, ro.progress.clone())).await;
                r.map_err(|_| ClientError::Timeout(t))?
            }
        }
    }

    /// [`request`](Self::request), returning the result's JSON untouched (HTTP keeps it raw
    /// end to end; over stdio it is parsed once).
    pub async fn request_raw(
        &self,
        method: &str,
        params: Option<Value>,
        ro: &RequestOptions,
    ) -> Result<Box<serde_json::value::RawValue>, ClientError> {
        match &self.t {
            Transport::Http(h) => h.request_raw(method, params, ro).await,
            Transport::Stdio(_, c, default) => {
                let mut params = params;
                if let (Some(args), Some(Value::Object(p))) = (&ro.raw_arguments, params.as_mut()) {
                    p.insert(
                        "arguments".into(),
                        serde_json::from_str(args.get()).unwrap_or(Value::Null),
                    );
                }
                if let (Some(meta), Some(Value::Object(p))) = (&ro.meta, params.as_mut()) {
                    let m = p.entry("_meta").or_insert_with(|| json!({}));
                    if let Some(m) = m.as_object_mut() {
                        for (k, v) in meta {
                            if !k.starts_with("io.modelcontextprotocol/") {
                                m.insert(k.clone(), v.clone());
                            }
                        }
                    }
                }
                let t = ro.timeout.unwrap_or(*default);
                let v = tokio::time::timeout(t, c.request(method, params, ro.progress.clone()))
                    .await
                    .map_err(|_| ClientError::Timeout(t))??;
                serde_json::value::to_raw_value(&v)
                    .map_err(|e| ClientError::Protocol(e.to_string()))
            }
        }
    }

    /// Sends a notification.
    pub async fn notify(&self, method: &str, params: Option<Value>) -> Result<(), ClientError> {
        match &self.t {
            Transport::Http(h) => h.notify(method, params).await,
            Transport::Stdio(_, c, _) => c.notify(method, params).await,
        }
    }

    async fn list_all(&self, method: &str, key: &str) -> Result<Vec<Value>, ClientError> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        // A server that keeps returning cursors is cut off rather than followed forever.
        for _ in 0..1000 {
            let params = cursor.as_ref().map(|c| json!({"cursor": c}));
            let r = self
                .request(method, params, &RequestOptions::default())
                .await?;
            if let Some(items) = r.get(key).and_then(Value::as_array) {
                out.extend(items.iter().cloned());
            }
            match r.get("nextCursor").and_then(Value::as_str) {
                Some(c) if !c.is_empty() && Some(c) != cursor.as_deref() => {
                    cursor = Some(c.to_owned())
                }
                _ => return Ok(out),
            }
        }
        Err(ClientError::Protocol(format!(
            "{method} did not stop paginating"
        )))
    }

    /// Every tool, across pages. In the 2026-07-28 era, tools whose `x-mcp-header` annotations
    /// are invalid are dropped, as the spec requires.
    pub async fn list_tools(&self) -> Result<Vec<Value>, ClientError> {
        let mut tools = self.list_all(methods::TOOLS_LIST, "tools").await?;
        if let Transport::Http(h) = &self.t {
            if self.modern || h.protocol_version() == "2026-07-28" {
                tools.retain(tool_headers_valid);
            }
            h.remember_tools(&tools);
        }
        Ok(tools)
    }

    /// Calls a tool.
    pub async fn call_tool(
        &self,
        name: &str,
        arguments: Value,
        ro: &RequestOptions,
    ) -> Result<Value, ClientError> {
        self.request(
            methods::TOOLS_CALL,
            Some(json!({"name": name, "arguments": arguments})),
            ro,
        )
        .await
    }

    /// Every resource, across pages.
    pub async fn list_resources(&self) -> Result<Vec<Value>, ClientError> {
        self.list_all(methods::RESOURCES_LIST, "resources").await
    }

    /// Every resource template, across pages.
    pub async fn list_resource_templates(&self) -> Result<Vec<Value>, ClientError> {
        self.list_all(methods::RESOURCES_TEMPLATES_LIST, "resourceTemplates")
            .await
    }

    /// Reads a resource.
    pub async fn read_resource(&self, uri: &str) -> Result<Value, ClientError> {
        self.request(
            methods::RESOURCES_READ,
            Some(json!({"uri": uri})),
            &RequestOptions::default(),
        )
        .await
    }

    /// Every prompt, across pages.
    pub async fn list_prompts(&self) -> Result<Vec<Value>, ClientError> {
        self.list_all(methods::PROMPTS_LIST, "prompts").await
    }

    /// Gets a prompt.
    pub async fn get_prompt(
        &self,
        name: &str,
        arguments: Option<Value>,
    ) -> Result<Value, ClientError> {
        let mut p = json!({"name": name});
        if let Some(a) = arguments {
            p["arguments"] = a;
        }
        self.request(methods::PROMPTS_GET, Some(p), &RequestOptions::default())
            .await
    }

    /// Closes the connection (DELETE for a legacy HTTP session; kills a stdio child).
    pub async fn close(&self) {
        match &self.t {
            Transport::Http(h) => h.close().await,
            Transport::Stdio(p, _, _) => p.lock().await.shutdown().await,
        }
    }
}
