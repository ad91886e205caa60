//! Streamable HTTP: one endpoint for both eras. POST carries every client message; GET opens a
//! legacy session's server stream (or resumes one); DELETE ends a legacy session.
//!
//! A request is **modern** (2026-07-28, stateless) when it has no `Mcp-Session-Id` and either a
//! non-legacy `MCP-Protocol-Version` or the `io.modelcontextprotocol/protocolVersion` `_meta`
//! key; `initialize` and session traffic are **legacy**.

mod body;
mod checks;
mod post;
pub(crate) mod session;
pub mod sse;
mod stream;

use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{header, HeaderValue, Method, Request, Response, StatusCode};
use switchyard_protocol::jsonrpc::{write_error, ErrorObject, RequestId};
use switchyard_protocol::ErrorCode;

pub use body::McpBody;
pub use checks::{encode_header_value, OriginPolicy};
pub use session::RESUMABLE_FINISHED_STREAMS;
pub use sse::{EventStore, MemoryEventStore};

use crate::context::CancelToken;
use crate::handler::BoxFuture;
use crate::Server;
use session::Sessions;

/// Default request body limit. Tool arguments are small; 4 MiB leaves room for embedded media.
pub const DEFAULT_MAX_BODY_BYTES: usize = 4 * 1024 * 1024;
/// Default idle lifetime of a legacy session.
pub const DEFAULT_SESSION_IDLE: Duration = Duration::from_secs(30 * 60);
/// Default cap on concurrent legacy sessions, so session creation cannot exhaust memory.
pub const DEFAULT_MAX_SESSIONS: usize = 250_000;
/// Default SSE `retry` hint, in milliseconds.
pub const DEFAULT_SSE_RETRY_MS: u64 = 1000;
/// Default interval of SSE keep-alive comments on long-lived streams.
pub const DEFAULT_KEEPALIVE: Duration = Duration::from_secs(15);

/// Settings of the HTTP transport.
#[derive(Clone)]
pub struct HttpConfig {
    /// Largest request body accepted (413 above it).
    pub max_body_bytes: usize,
    /// Deepest JSON nesting accepted (400 above it).
    pub max_json_depth: usize,
    /// Host and Origin checks against DNS rebinding (403 when they fail).
    pub origin: OriginPolicy,
    /// Idle lifetime of a legacy session (404 after it).
    pub session_idle: Duration,
    /// Cap on concurrent legacy sessions (503 above it).
    pub max_sessions: usize,
    /// `retry` hint on legacy SSE streams.
    pub sse_retry_ms: u64,
    /// Interval of keep-alive comments on long-lived streams.
    pub keepalive: Duration,
    /// Where legacy SSE events are kept for `Last-Event-ID` resumption.
    pub event_store: Arc<dyn EventStore>,
    /// Whether legacy (session) traffic is served at all.
    pub legacy: bool,
}

impl std::fmt::Debug for HttpConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpConfig")
            .field("max_body_bytes", &self.max_body_bytes)
            .field("max_json_depth", &self.max_json_depth)
            .field("origin", &self.origin)
            .field("legacy", &self.legacy)
            .finish_non_exhaustive()
    }
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            max_json_depth: switchyard_protocol::limits::DEFAULT_MAX_DEPTH,
            origin: OriginPolicy::default(),
            session_idle: DEFAULT_SESSION_IDLE,
            max_sessions: DEFAULT_MAX_SESSIONS,
            sse_retry_ms: DEFAULT_SSE_RETRY_MS,
            keepalive: DEFAULT_KEEPALIVE,
            event_store: Arc::new(MemoryEventStore::default()),
            legacy: true,
        }
    }
}

/// The MCP endpoint as a tower `Service`. Mount it at the endpoint path, e.g. with axum's
/// `Router::route_service("/mcp", svc)`. Its error type is `Infallible`: every failure is a
/// response.
#[derive(Clone)]
pub struct McpService {
    pub(crate) shared: Arc<Shared>,
}

impl std::fmt::Debug for McpService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("McpService").finish_non_exhaustive()
    }
}

pub(crate) struct Shared {
    pub(crate) server: Server,
    pub(crate) cfg: HttpConfig,
    pub(crate) sessions: Sessions,
    pub(crate) shutdown: CancelToken,
}

impl McpService {
    /// Serves `server` with `cfg`.
    pub fn new(server: Server, cfg: HttpConfig) -> Self {
        let sessions = Sessions::new(cfg.session_idle, cfg.max_sessions, cfg.event_store.clone());
        let shared = Arc::new(Shared {
            server,
            cfg,
            sessions,
            shutdown: CancelToken::default(),
        });
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            let weak = Arc::downgrade(&shared);
            rt.spawn(async move {
                let mut tick = tokio::time::interval(Duration::from_secs(30));
                loop {
                    tick.tick().await;
                    let Some(s) = weak.upgrade() else { break };
                    if s.shutdown.is_cancelled() {
                        break;
                    }
                    s.sessions.sweep();
                }
            });
        }
        Self { shared }
    }

    /// The server behind this endpoint.
    pub fn server(&self) -> &Server {
        &self.shared.server
    }

    /// Ends every long-lived stream so a graceful shutdown can complete.
    pub fn shutdown(&self) {
        self.shared.shutdown.cancel();
    }

    /// How many response streams a legacy session still holds, if the session exists.
    pub fn session_stream_count(&self, session_id: &str) -> Option<usize> {
        self.shared
            .sessions
            .get(session_id)
            .map(|s| s.stream_count())
    }

    /// Number of live legacy sessions.
    pub fn session_count(&self) -> usize {
        self.shared.sessions.len()
    }

    /// Handles one HTTP request.
    pub async fn handle<B>(&self, req: Request<B>) -> Response<McpBody>
    where
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        if let Err(why) = self.shared.cfg.origin.check(req.headers()) {
            return error_response(
                StatusCode::FORBIDDEN,
                None,
                ErrorObject::new(ErrorCode::INVALID_REQUEST, format!("Forbidden: {why}")),
            );
        }
        match *req.method() {
            Method::POST => post::handle(self, req).await,
            Method::GET => stream::get(self, req).await,
            Method::DELETE => stream::delete(self, req),
            _ => {
                let mut r = error_response(
                    StatusCode::METHOD_NOT_ALLOWED,
                    None,
                    ErrorObject::new(ErrorCode::INVALID_REQUEST, "method not allowed"),
                );
                r.headers_mut()
                    .insert(header::ALLOW, HeaderValue::from_static("GET, POST, DELETE"));
                r
            }
        }
    }
}

impl<B> tower::Service<Request<B>> for McpService
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Response = Response<McpBody>;
    type Error = Infallible;
    type Future = BoxFuture<Result<Response<McpBody>, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let this = self.clone();
        Box::pin(async move { Ok(this.handle(req).await) })
    }
}

/// The full JSON-RPC response for a reply (shared with the connection transports).
pub(crate) fn post_response_bytes(id: &RequestId, r: &crate::server::Reply) -> Vec<u8> {
    post::response_bytes(id, r)
}

/// Supported modern versions (shared with the connection transports).
pub(crate) fn modern_versions_list() -> Vec<&'static str> {
    post::modern_versions()
}

const JSON: HeaderValue = HeaderValue::from_static("application/json");
const SSE: HeaderValue = HeaderValue::from_static("text/event-stream");

pub(crate) fn json_response(status: StatusCode, body: Vec<u8>) -> Response<McpBody> {
    let mut r = Response::new(McpBody::full(body));
    *r.status_mut() = status;
    r.headers_mut().insert(header::CONTENT_TYPE, JSON);
    r
}

pub(crate) fn error_response(
    status: StatusCode,
    id: Option<&RequestId>,
    e: ErrorObject,
) -> Response<McpBody> {
    let mut buf = Vec::with_capacity(96);
    write_error(&mut buf, id, &e);
    json_response(status, buf)
}

pub(crate) fn sse_response(body: McpBody) -> Response<McpBody> {
    let mut r = Response::new(body);
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, SSE);
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    // Tell buffering proxies (nginx) to pass events through as they are written.
    h.insert("x-accel-buffering", HeaderValue::from_static("no"));
    r
}

pub(crate) fn empty_response(status: StatusCode) -> Response<McpBody> {
    let mut r = Response::new(McpBody::empty());
    *r.status_mut() = status;
    r
}
