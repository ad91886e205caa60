//! Streamable HTTP, both eras: stateless 2026-07-28 requests with per-request `_meta` and
//! input-required retries; legacy sessions with SSE, server-to-client requests, resumption and
//! re-initialisation; and fallback to the 2024-11-05 HTTP+SSE transport.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use futures_util::StreamExt;
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::value::RawValue;
use serde_json::{json, Map, Value};
use switchyard_protocol::jsonrpc::{self, Message, RequestId};
use switchyard_protocol::types::methods;
use switchyard_protocol::{meta, ErrorCode, ProtocolVersion};

use crate::conn::MsgConn;
use crate::handler::dispatch;
use crate::sse::Decoder;
use crate::{ClientError, ClientOptions, Progress, ProtocolPreference, RequestOptions};

/// Most MRTR rounds one request may take before the client gives up.
pub const MAX_INPUT_ROUNDS: usize = 16;
/// Most SSE resumptions of one request.
pub const MAX_RESUMES: usize = 5;
/// Largest JSON response body accepted.
pub const MAX_RESPONSE_BYTES: usize = 32 * 1024 * 1024;

#[derive(Clone, Debug)]
pub(crate) enum Era {
    Modern {
        version: String,
    },
    Legacy {
        version: Option<String>,
        session: Option<String>,
    },
    LegacySse,
}

/// Header names sent on (almost) every request, built once rather than parsed per call.
const H_CONTENT_TYPE: HeaderName = HeaderName::from_static("content-type");
const H_ACCEPT: HeaderName = HeaderName::from_static("accept");
const H_AUTHORIZATION: HeaderName = HeaderName::from_static("authorization");
const H_PROTOCOL_VERSION: HeaderName = HeaderName::from_static(meta::HEADER_PROTOCOL_VERSION);
const H_METHOD: HeaderName = HeaderName::from_static(meta::HEADER_METHOD);
const H_NAME: HeaderName = HeaderName::from_static(meta::HEADER_NAME);
const H_SESSION_ID: HeaderName = HeaderName::from_static(meta::HEADER_SESSION_ID);

/// POSTs to a plain `http://` URL go through this pooled hyper client (keep-alive, one
/// connection per request in flight, `TCP_NODELAY`) instead of reqwest: reqwest's per-request
/// URL parsing, redirect and retry layers were a third of a gateway relay's instructions.
/// `https://` URLs, proxies from the environment, GETs and redirects stay with reqwest.
struct FastPost {
    client: hyper_util::client::legacy::Client<HttpConnector, Full<Bytes>>,
    uri: http::Uri,
    /// The `host` header, which hyper would otherwise format from the URI on every request.
    host: HeaderValue,
}

impl FastPost {
    fn new(url: &str) -> Option<Self> {
        let uri: http::Uri = url.parse().ok()?;
        if uri.scheme_str() != Some("http") || uri.host().is_none() {
            return None;
        }
        // reqwest routes through a proxy named in the environment; so must every request here.
        let proxied = ["HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"]
            .iter()
            .any(|k| std::env::var_os(k).is_some_and(|v| !v.is_empty()));
        if proxied {
            return None;
        }
        let mut conn = HttpConnector::new();
        conn.set_nodelay(true);
        conn.set_connect_timeout(Some(Duration::from_secs(10)));
        let client = hyper_util::client::legacy::Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(90))
            .build(conn);
        let host = HeaderValue::from_str(uri.authority()?.as_str()).ok()?;
        Some(Self { client, uri, host })
    }
}

/// What a POST came back with.
enum Posted {
    /// A 200 `application/json` answer, read to its end (the common stateless case).
    Json(Bytes),
    /// Anything else, for the general path (statuses, SSE, session headers).
    Other(reqwest::Response),
    /// To be sent with reqwest instead: no fast path, or a redirect, which reqwest follows.
    /// Carries the headers when they were not used.
    Redirect(Option<HeaderMap>),
}

impl FastPost {
    /// POSTs `body`. With `json_ok`, a 200 JSON answer is read here, limited to
    /// [`MAX_RESPONSE_BYTES`].
    async fn post(
        &self,
        headers: HeaderMap,
        body: Bytes,
        json_ok: bool,
    ) -> Result<Posted, ClientError> {
        let mut req = http::Request::new(Full::new(body));
        *req.method_mut() = http::Method::POST;
        *req.uri_mut() = self.uri.clone();
        *req.headers_mut() = headers;
        req.headers_mut()
            .insert(http::header::HOST, self.host.clone());
        let resp = self
            .client
            .request(req)
            .await
            .map_err(|e| ClientError::Transport(error_chain(&e)))?;
        if matches!(resp.status().as_u16(), 301 | 302 | 303 | 307 | 308) {
            return Ok(Posted::Redirect(None));
        }
        let is_json = resp
            .headers()
            .get(http::header::CONTENT_TYPE)
            .is_some_and(|v| {
                v.as_bytes()
                    .get(..16)
                    .is_some_and(|p| p.eq_ignore_ascii_case(b"application/json"))
            });
        let (parts, body) = resp.into_parts();
        if json_ok && is_json && parts.status == http::StatusCode::OK {
            let body = Limited::new(body, MAX_RESPONSE_BYTES)
                .collect()
                .await
                .map_err(|e| {
                    if e.is::<http_body_util::LengthLimitError>() {
                        ClientError::Protocol(format!(
                            "response larger than {MAX_RESPONSE_BYTES} bytes"
                        ))
                    } else {
                        ClientError::Transport(error_chain(&*e))
                    }
                })?
                .to_bytes();
            return Ok(Posted::Json(body));
        }
        let resp = http::Response::from_parts(parts, reqwest::Body::wrap(body));
        Ok(Posted::Other(reqwest::Response::from(resp)))
    }
}

/// An error and its causes, one line (hyper's own message alone is terse: "client error
/// (Connect)").
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut s = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cause = c.source();
    }
    s
}

/// The client's own `_meta` members of the 2026-07-28 era, serialised once.
struct OwnMeta {
    capabilities: Box<RawValue>,
    client_info: Box<RawValue>,
}

pub(crate) struct HttpInner {
    http: reqwest::Client,
    fast: Option<FastPost>,
    url: String,
    opts: ClientOptions,
    /// `content-type`, `accept` and the configured extra headers, parsed once.
    static_headers: HeaderMap,
    own_meta: OwnMeta,
    era: RwLock<Era>,
    next_id: AtomicI64,
    /// The bearer token as its `authorization` header value.
    token: Mutex<Option<HeaderValue>>,
    tool_schemas: Mutex<HashMap<String, Value>>,
    sse_conn: Mutex<Option<Arc<MsgConn>>>,
    pub(crate) server_info: Mutex<Option<Value>>,
    get_stream: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

/// A connection to one MCP server over HTTP.
#[derive(Clone)]
pub struct HttpClient {
    pub(crate) inner: Arc<HttpInner>,
}

impl std::fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpClient")
            .field("url", &self.inner.url)
            .field(
                "era",
                &*self.inner.era.read().unwrap_or_else(|p| p.into_inner()),
            )
            .finish_non_exhaustive()
    }
}

fn header_value(v: &str) -> String {
    let unsafe_chars = v.bytes().any(|b| !(0x20..0x7f).contains(&b));
    let looks_encoded = v.starts_with("=?base64?") && v.ends_with("?=");
    if unsafe_chars || v.starts_with(' ') || v.ends_with(' ') || looks_encoded {
        format!(
            "=?base64?{}?=",
            base64::engine::general_purpose::STANDARD.encode(v.as_bytes())
        )
    } else {
        v.to_owned()
    }
}

/// Whether a header name is an RFC 9110 token.
fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// Checks a tool's `x-mcp-header` annotations (2026-07-28): a tool with an invalid one must not
/// be used.
pub fn tool_headers_valid(tool: &Value) -> bool {
    let Some(props) = tool
        .get("inputSchema")
        .and_then(|s| s.get("properties"))
        .and_then(Value::as_object)
    else {
        return true;
    };
    let mut seen = std::collections::HashSet::new();
    for schema in props.values() {
        let Some(h) = schema.get("x-mcp-header") else {
            continue;
        };
        let Some(h) = h.as_str() else { return false };
        if !is_token(h) || !seen.insert(h.to_ascii_lowercase()) {
            return false;
        }
        match schema.get("type").and_then(Value::as_str) {
            Some("string" | "integer" | "boolean") => {}
            _ => return false,
        }
    }
    true
}

impl HttpClient {
    /// Connects to `url`: era detection (or the forced era), handshake, optional GET stream.
    pub async fn connect(url: &str, opts: ClientOptions) -> Result<Self, ClientError> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::limited(5))
            .connect_timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| ClientError::Connect(e.to_string()))?;
        let era = match &opts.protocol {
            ProtocolPreference::Legacy(v) => Era::Legacy {
                version: Some(v.clone()),
                session: None,
            },
            _ => Era::Modern {
                version: ProtocolVersion::LATEST.as_str().to_owned(),
            },
        };
        let mut static_headers = HeaderMap::new();
        static_headers.insert(H_CONTENT_TYPE, HeaderValue::from_static("application/json"));
        static_headers.insert(
            H_ACCEPT,
            HeaderValue::from_static("application/json, text/event-stream"),
        );
        for (k, v) in &opts.headers {
            if let (Ok(k), Ok(v)) = (
                HeaderName::from_bytes(k.as_bytes()),
                HeaderValue::from_str(v),
            ) {
                static_headers.insert(k, v);
            }
        }
        let raw = |v: Result<Box<RawValue>, serde_json::Error>| {
            v.map_err(|e| ClientError::Usage(format!("client options: {e}")))
        };
        let own_meta = OwnMeta {
            capabilities: raw(serde_json::value::to_raw_value(&opts.capabilities))?,
            client_info: raw(serde_json::value::to_raw_value(&opts.client_info))?,
        };
        let c = Self {
            inner: Arc::new(HttpInner {
                http,
                fast: FastPost::new(url),
                url: url.to_owned(),
                opts,
                static_headers,
                own_meta,
                era: RwLock::new(era),
                next_id: AtomicI64::new(1),
                token: Mutex::new(None),
                tool_schemas: Mutex::new(HashMap::new()),
                sse_conn: Mutex::new(None),
                server_info: Mutex::new(None),
                get_stream: Mutex::new(None),
            }),
        };
        if let Some(a) = &c.inner.opts.auth {
            if let Some(t) = a.token(url).await {
                c.set_token(Some(t));
            }
        }
        match c.inner.opts.protocol.clone() {
            ProtocolPreference::Modern => Ok(c),
            ProtocolPreference::Legacy(v) => {
                c.initialize(&v).await?;
                Ok(c)
            }
            ProtocolPreference::Auto => {
                match c
                    .request("server/discover", None, &RequestOptions::default())
                    .await
                {
                    Ok(r) => {
                        *c.inner
                            .server_info
                            .lock()
                            .unwrap_or_else(|p| p.into_inner()) = Some(r);
                        return Ok(c);
                    }
                    Err(e @ (ClientError::Unauthorized { .. } | ClientError::Auth(_))) => {
                        return Err(e)
                    }
                    Err(ClientError::Transport(e)) => return Err(ClientError::Connect(e)),
                    Err(e) => {
                        tracing::debug!(error = %e, "no 2026-07-28 answer; trying initialize")
                    }
                }
                c.set_era(Era::Legacy {
                    version: None,
                    session: None,
                });
                match c.initialize(ProtocolVersion::LATEST_LEGACY.as_str()).await {
                    Ok(()) => Ok(c),
                    Err(ClientError::Http {
                        status: 400 | 404 | 405,
                        ..
                    })
                    | Err(ClientError::Rpc(_)) => {
                        c.connect_legacy_sse().await?;
                        Ok(c)
                    }
                    Err(e) => Err(e),
                }
            }
        }
    }

    fn era(&self) -> Era {
        self.inner
            .era
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn set_era(&self, e: Era) {
        *self.inner.era.write().unwrap_or_else(|p| p.into_inner()) = e;
    }

    fn set_token(&self, t: Option<String>) {
        // A token that is not a valid header value could not be sent anyway.
        let v = t.and_then(|t| HeaderValue::from_str(&format!("Bearer {t}")).ok());
        *self.inner.token.lock().unwrap_or_else(|p| p.into_inner()) = v;
    }

    fn token_header(&self) -> Option<HeaderValue> {
        self.inner
            .token
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The negotiated protocol version.
    pub fn protocol_version(&self) -> String {
        match self.era() {
            Era::Modern { version } => version,
            Era::Legacy { version, .. } => version.unwrap_or_default(),
            Era::LegacySse => ProtocolVersion::V2024_11_05.as_str().to_owned(),
        }
    }

    /// The legacy session id, if any.
    pub fn session_id(&self) -> Option<String> {
        match self.era() {
            Era::Legacy { session, .. } => session,
            _ => None,
        }
    }

    /// Remembers tool input schemas (for `Mcp-Param-*` headers).
    pub(crate) fn remember_tools(&self, tools: &[Value]) {
        let mut m = self
            .inner
            .tool_schemas
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        for t in tools {
            if let (Some(n), Some(s)) =
                (t.get("name").and_then(Value::as_str), t.get("inputSchema"))
            {
                m.insert(n.to_owned(), s.clone());
            }
        }
    }

    async fn initialize(&self, version: &str) -> Result<(), ClientError> {
        let params = json!({
            "protocolVersion": version,
            "capabilities": self.inner.opts.capabilities,
            "clientInfo": self.inner.opts.client_info,
        });
        let r = self
            .request(
                methods::INITIALIZE,
                Some(params),
                &RequestOptions::default(),
            )
            .await?;
        let negotiated = r
            .get("protocolVersion")
            .and_then(Value::as_str)
            .ok_or_else(|| {
                ClientError::Protocol("initialize result has no protocolVersion".into())
            })?
            .to_owned();
        match negotiated.parse::<ProtocolVersion>() {
            Ok(v) if !v.is_modern() => {}
            _ => {
                return Err(ClientError::Protocol(format!(
                    "server negotiated unsupported version {negotiated}"
                )))
            }
        }
        {
            let mut e = self.inner.era.write().unwrap_or_else(|p| p.into_inner());
            if let Era::Legacy { version, .. } = &mut *e {
                *version = Some(negotiated);
            }
        }
        *self
            .inner
            .server_info
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = Some(r);
        self.post_message(jsonrpc_notification(methods::INITIALIZED))
            .await?;
        if self.inner.opts.open_get_stream {
            self.open_get_stream().await;
        }
        Ok(())
    }

    fn base_headers(&self, era: &Era, method: &str, params: Option<&Value>) -> HeaderMap {
        let mut h = self.inner.static_headers.clone();
        if let Some(t) = self.token_header() {
            h.insert(H_AUTHORIZATION, t);
        }
        let mut set = |k: HeaderName, v: &str| {
            if let Ok(v) = HeaderValue::from_str(v) {
                h.insert(k, v);
            }
        };
        match era {
            Era::Modern { version } => {
                set(H_PROTOCOL_VERSION, version);
                set(H_METHOD, method);
                let name = match method {
                    methods::TOOLS_CALL | methods::PROMPTS_GET => {
                        params.and_then(|p| p.get("name"))
                    }
                    methods::RESOURCES_READ => params.and_then(|p| p.get("uri")),
                    _ => None,
                };
                if let Some(n) = name.and_then(Value::as_str) {
                    set(H_NAME, &header_value(n));
                }
                if method == methods::TOOLS_CALL {
                    for (k, v) in self.param_headers(params) {
                        if let Ok(k) = HeaderName::from_bytes(k.as_bytes()) {
                            set(k, &v);
                        }
                    }
                }
            }
            Era::Legacy { version, session } => {
                if method != methods::INITIALIZE {
                    if let Some(v) = version {
                        set(H_PROTOCOL_VERSION, v);
                    }
                }
                if let Some(s) = session {
                    set(H_SESSION_ID, s);
                }
            }
            Era::LegacySse => {}
        }
        h
    }

    fn has_param_headers(&self, params: &Map<String, Value>) -> bool {
        let Some(name) = params.get("name").and_then(Value::as_str) else {
            return false;
        };
        self.inner
            .tool_schemas
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(name)
            .and_then(|s| s.get("properties"))
            .and_then(Value::as_object)
            .is_some_and(|props| props.values().any(|s| s.get("x-mcp-header").is_some()))
    }

    fn param_headers(&self, params: Option<&Value>) -> Vec<(String, String)> {
        let Some(p) = params else { return Vec::new() };
        let (Some(name), Some(args)) = (p.get("name").and_then(Value::as_str), p.get("arguments"))
        else {
            return Vec::new();
        };
        let schemas = self
            .inner
            .tool_schemas
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let Some(props) = schemas
            .get(name)
            .and_then(|s| s.get("properties"))
            .and_then(Value::as_object)
        else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (prop, schema) in props {
            let Some(h) = schema.get("x-mcp-header").and_then(Value::as_str) else {
                continue;
            };
            let v = match args.get(prop) {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Bool(b)) => b.to_string(),
                Some(Value::Number(n)) => n.to_string(),
                _ => continue,
            };
            out.push((
                format!("{}{h}", meta::HEADER_PARAM_PREFIX),
                header_value(&v),
            ));
        }
        out
    }

    /// Writes a request's JSON-RPC body (see [`write_request_body`]).
    #[allow(clippy::too_many_arguments)]
    fn write_body(
        &self,
        out: &mut Vec<u8>,
        era: &Era,
        id: &RequestId,
        method: &str,
        params: Option<&Value>,
        progress_token: Option<&str>,
        ro: &RequestOptions,
    ) -> Result<(), serde_json::Error> {
        let own = &self.inner.own_meta;
        write_request_body(out, own, era, id, method, params, progress_token, ro)
    }

    /// Sends a request and returns its result, handling authorization, input-required rounds,
    /// SSE, resumption and session expiry.
    pub async fn request(
        &self,
        method: &str,
        params: Option<Value>,
        ro: &RequestOptions,
    ) -> Result<Value, ClientError> {
        let raw = self.request_raw(method, params, ro).await?;
        serde_json::from_str(raw.get()).map_err(|e| ClientError::Protocol(e.to_string()))
    }

    /// [`request`](Self::request), returning the result's JSON untouched (for relays).
    pub async fn request_raw(
        &self,
        method: &str,
        params: Option<Value>,
        ro: &RequestOptions,
    ) -> Result<Box<RawValue>, ClientError> {
        let timeout = ro.timeout.unwrap_or(self.inner.opts.request_timeout);
        let current = std::sync::Mutex::new(None);
        let fut = self.request_inner(method, params, ro, &current);
        let mut guard = CancelOnDrop {
            client: self,
            current: &current,
            armed: true,
        };
        let r = match tokio::time::timeout(timeout, fut).await {
            Ok(r) => r,
            Err(_) => Err(ClientError::Timeout(timeout)),
        };
        // Answered (or failed as a protocol matter): nothing to cancel. A timeout or a dropped
        // future leaves the guard armed, so the server is told to stop.
        guard.armed = matches!(r, Err(ClientError::Timeout(_)));
        r
    }

    async fn request_inner(
        &self,
        method: &str,
        params: Option<Value>,
        ro: &RequestOptions,
        current: &std::sync::Mutex<Option<RequestId>>,
    ) -> Result<Box<RawValue>, ClientError> {
        if matches!(self.era(), Era::LegacySse) {
            let conn = self
                .inner
                .sse_conn
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone();
            let conn = conn.ok_or_else(|| ClientError::Closed("no HTTP+SSE connection".into()))?;
            let v = conn.request(method, params, ro.progress.clone()).await?;
            return serde_json::value::to_raw_value(&v)
                .map_err(|e| ClientError::Protocol(e.to_string()));
        }
        let mut params = params;
        let mut auth_tries = 0u32;
        let mut reinitialized = false;
        let mut version_retry = false;
        let mut rounds = 0usize;
        let mut resent = false;
        'send: loop {
            let era = self.era();
            let id = RequestId::Number(self.inner.next_id.fetch_add(1, Ordering::Relaxed));
            *current.lock().unwrap_or_else(|p| p.into_inner()) = Some(id.clone());
            let token = ro.progress.as_ref().map(|_| format!("p{id}"));
            let args_len = ro.raw_arguments.as_ref().map_or(0, |a| a.get().len());
            let mut body = Vec::with_capacity(384 + args_len);
            self.write_body(
                &mut body,
                &era,
                &id,
                method,
                params.as_ref(),
                token.as_deref(),
                ro,
            )
            .map_err(|e| ClientError::Usage(e.to_string()))?;
            let body = Bytes::from(body);
            let with_args = match (&ro.raw_arguments, &params) {
                // Only a tool with `x-mcp-header` parameters needs its arguments read here.
                (Some(args), Some(Value::Object(p))) if self.has_param_headers(p) => {
                    let mut p = p.clone();
                    p.insert(
                        "arguments".into(),
                        serde_json::from_str(args.get()).unwrap_or(Value::Null),
                    );
                    Some(Value::Object(p))
                }
                _ => None,
            };
            let header_params = with_args.as_ref().or(params.as_ref());
            let headers = self.base_headers(&era, method, header_params);
            let posted = match &self.inner.fast {
                // Only a JSON answer to anything but `initialize` (whose session header is
                // read below) is taken as it stands.
                Some(f) => {
                    f.post(headers, body.clone(), method != methods::INITIALIZE)
                        .await?
                }
                None => Posted::Redirect(Some(headers)),
            };
            let outcome = 'answered: {
                let resp = match posted {
                    Posted::Json(b) => break 'answered json_outcome(200, &b),
                    Posted::Other(resp) => resp,
                    Posted::Redirect(headers) => {
                        let headers = headers
                            .unwrap_or_else(|| self.base_headers(&era, method, header_params));
                        self.inner
                            .http
                            .post(&self.inner.url)
                            .headers(headers)
                            .body(body)
                            .send()
                            .await?
                    }
                };
                let status = resp.status().as_u16();
                if status == 401 || status == 403 {
                    let www = resp
                        .headers()
                        .get("www-authenticate")
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned);
                    let insufficient = www
                        .as_deref()
                        .is_some_and(|w| w.contains("insufficient_scope"));
                    let Some(auth) = &self.inner.opts.auth else {
                        return Err(ClientError::Unauthorized {
                            status,
                            www_authenticate: www,
                        });
                    };
                    if (status == 403 && !insufficient) || auth_tries >= 2 {
                        return Err(ClientError::Unauthorized {
                            status,
                            www_authenticate: www,
                        });
                    }
                    auth_tries += 1;
                    let t = auth
                        .challenge(&self.inner.url, status, www)
                        .await
                        .map_err(ClientError::Auth)?;
                    self.set_token(Some(t));
                    continue 'send;
                }
                if status == 404 {
                    if let Era::Legacy {
                        session: Some(_),
                        version,
                    } = &era
                    {
                        if !reinitialized && method != methods::INITIALIZE {
                            reinitialized = true;
                            let v = version.clone().unwrap_or_else(|| {
                                ProtocolVersion::LATEST_LEGACY.as_str().to_owned()
                            });
                            self.set_era(Era::Legacy {
                                version: None,
                                session: None,
                            });
                            Box::pin(self.initialize(&v)).await?;
                            continue 'send;
                        }
                    }
                }
                if method == methods::INITIALIZE {
                    if let Some(sid) = resp
                        .headers()
                        .get(meta::HEADER_SESSION_ID)
                        .and_then(|v| v.to_str().ok())
                    {
                        let mut e = self.inner.era.write().unwrap_or_else(|p| p.into_inner());
                        if let Era::Legacy { session, .. } = &mut *e {
                            *session = Some(sid.to_owned());
                        }
                    }
                }
                self.read_response(resp, &id, &era, ro).await
            };
            let result = match outcome {
                Err(ClientError::Rpc(e))
                    if e.code == ErrorCode::UNSUPPORTED_PROTOCOL_VERSION && !version_retry =>
                {
                    version_retry = true;
                    let supported: Vec<String> = e
                        .data
                        .as_ref()
                        .and_then(|d| d.get("supported"))
                        .and_then(|s| serde_json::from_value(s.clone()).ok())
                        .unwrap_or_default();
                    match supported.iter().find(|v| {
                        v.parse::<ProtocolVersion>()
                            .is_ok_and(ProtocolVersion::is_modern)
                    }) {
                        Some(v) => {
                            self.set_era(Era::Modern { version: v.clone() });
                            continue;
                        }
                        None => return Err(ClientError::Rpc(e)),
                    }
                }
                Err(ClientError::Closed(_)) if matches!(era, Era::Modern { .. }) && !resent => {
                    // A modern stream that broke before the result: re-issue with a new id.
                    resent = true;
                    continue;
                }
                other => other?,
            };
            if matches!(era, Era::Modern { .. })
                && !ro.return_input_required
                && result_type(&result).as_deref() == Some("input_required")
            {
                let result: Value = serde_json::from_str(result.get())
                    .map_err(|e| ClientError::Protocol(e.to_string()))?;
                rounds += 1;
                if rounds > MAX_INPUT_ROUNDS {
                    return Err(ClientError::Protocol(
                        "too many input-required rounds".into(),
                    ));
                }
                let answers = self.answer_inputs(&result, ro).await;
                let p = params.get_or_insert_with(|| Value::Object(Map::new()));
                if let Some(o) = p.as_object_mut() {
                    o.insert("inputResponses".into(), Value::Object(answers));
                    match result.get("requestState") {
                        Some(s @ Value::String(_)) => {
                            o.insert("requestState".into(), s.clone());
                        }
                        _ => {
                            o.remove("requestState");
                        }
                    }
                }
                continue;
            }
            return Ok(result);
        }
    }

    async fn answer_inputs(&self, result: &Value, ro: &RequestOptions) -> Map<String, Value> {
        let handler = ro.handler.as_ref().unwrap_or(&self.inner.opts.handler);
        let mut out = Map::new();
        if let Some(reqs) = result.get("inputRequests").and_then(Value::as_object) {
            for (k, r) in reqs {
                let method = r.get("method").and_then(Value::as_str).unwrap_or_default();
                let params = r.get("params").cloned().unwrap_or(Value::Null);
                match dispatch(&**handler, method, params).await {
                    Ok(v) => {
                        out.insert(k.clone(), v);
                    }
                    Err(e) => {
                        tracing::debug!(key = %k, error = %e.message, "input request not answered")
                    }
                }
            }
        }
        out
    }

    async fn read_response(
        &self,
        resp: reqwest::Response,
        id: &RequestId,
        era: &Era,
        ro: &RequestOptions,
    ) -> Result<Box<RawValue>, ClientError> {
        let status = resp.status().as_u16();
        let ct = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        if ct.starts_with("text/event-stream") {
            return self.read_sse(resp, id, era, ro).await;
        }
        let body = read_limited(resp, MAX_RESPONSE_BYTES).await?;
        if ct.starts_with("application/json") || body.first() == Some(&b'{') {
            return json_outcome(status, &body);
        }
        Err(http_error(status, &body))
    }

    async fn read_sse(
        &self,
        resp: reqwest::Response,
        id: &RequestId,
        era: &Era,
        ro: &RequestOptions,
    ) -> Result<Box<RawValue>, ClientError> {
        let mut dec = Decoder::new();
        let mut resp = resp;
        let mut resumes = 0;
        loop {
            let mut stream = resp.bytes_stream();
            while let Some(chunk) = stream.next().await {
                let chunk = chunk.map_err(|e| ClientError::Transport(e.to_string()));
                let chunk = match chunk {
                    Ok(c) => c,
                    Err(_) => break,
                };
                let events = dec
                    .feed(&chunk)
                    .map_err(|e| ClientError::Protocol(e.to_string()))?;
                for ev in events {
                    if ev.data.is_empty() {
                        continue;
                    }
                    if let Some(r) = self
                        .on_stream_message(ev.data.as_bytes(), Some(id), ro)
                        .await
                    {
                        return r;
                    }
                }
            }
            // The stream ended without our response.
            let (Era::Legacy { .. }, Some(last)) = (era, dec.last_event_id.clone()) else {
                return Err(ClientError::Closed(
                    "the SSE stream ended before the response".into(),
                ));
            };
            resumes += 1;
            if resumes > MAX_RESUMES {
                return Err(ClientError::Closed(
                    "the SSE stream kept ending before the response".into(),
                ));
            }
            tokio::time::sleep(Duration::from_millis(dec.retry.unwrap_or(1000).min(30_000))).await;
            let mut h = self.base_headers(era, "", None);
            h.insert("accept", HeaderValue::from_static("text/event-stream"));
            h.remove("content-type");
            if let Ok(v) = HeaderValue::from_str(&last) {
                h.insert(meta::HEADER_LAST_EVENT_ID, v);
            }
            resp = self
                .inner
                .http
                .get(&self.inner.url)
                .headers(h)
                .send()
                .await?;
            if !resp.status().is_success() {
                return Err(ClientError::Http {
                    status: resp.status().as_u16(),
                    body: "resuming the SSE stream failed".into(),
                });
            }
        }
    }

    /// Handles one message from a stream; returns the outcome when it is the awaited response.
    async fn on_stream_message(
        &self,
        data: &[u8],
        id: Option<&RequestId>,
        ro: &RequestOptions,
    ) -> Option<Result<Box<RawValue>, ClientError>> {
        let msg = jsonrpc::parse_message(data).ok()?;
        match msg {
            Message::Response(r) if Some(&r.id) == id => Some(Ok(r.result)),
            Message::Error(e) if e.id.as_ref() == id => Some(Err(ClientError::Rpc(e.error))),
            Message::Notification(n) => {
                let params: Value = n
                    .params
                    .as_deref()
                    .and_then(|p| serde_json::from_str(p.get()).ok())
                    .unwrap_or(Value::Null);
                if n.method == methods::NOTIFICATION_PROGRESS {
                    // Notifications on a request's own stream belong to that request.
                    if let (Some(f), Some((_, p))) = (&ro.progress, Progress::from_params(&params))
                    {
                        f(p);
                    }
                }
                ro.handler
                    .as_ref()
                    .unwrap_or(&self.inner.opts.handler)
                    .notification(&n.method, &params);
                None
            }
            Message::Request(r) => {
                let params: Value = r
                    .params
                    .as_deref()
                    .and_then(|p| serde_json::from_str(p.get()).ok())
                    .unwrap_or(Value::Null);
                let handler = ro.handler.as_ref().unwrap_or(&self.inner.opts.handler);
                let answer = dispatch(&**handler, &r.method, params).await;
                let mut buf = Vec::with_capacity(128);
                match answer {
                    Ok(v) => {
                        let _ = jsonrpc::write_response(&mut buf, &r.id, &v);
                    }
                    Err(e) => jsonrpc::write_error(&mut buf, Some(&r.id), &e),
                }
                if let Err(e) = self.post_message(buf).await {
                    tracing::warn!(error = %e, "could not deliver an answer to the server");
                }
                None
            }
            _ => None,
        }
    }

    /// POSTs a notification or a response (expects 202).
    async fn post_message(&self, body: Vec<u8>) -> Result<(), ClientError> {
        let era = self.era();
        let h = self.base_headers(&era, "", None);
        let resp = self
            .inner
            .http
            .post(&self.inner.url)
            .headers(h)
            .body(body)
            .send()
            .await?;
        let s = resp.status().as_u16();
        if (200..300).contains(&s) {
            Ok(())
        } else {
            Err(ClientError::Http {
                status: s,
                body: "message not accepted".into(),
            })
        }
    }

    /// Sends a notification.
    pub async fn notify(&self, method: &str, params: Option<Value>) -> Result<(), ClientError> {
        if matches!(self.era(), Era::LegacySse) {
            let conn = self
                .inner
                .sse_conn
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone();
            if let Some(c) = conn {
                return c.notify(method, params).await;
            }
        }
        let mut b = Vec::new();
        jsonrpc::write_notification(&mut b, method, params.as_ref())
            .map_err(|e| ClientError::Usage(e.to_string()))?;
        self.post_message(b).await
    }

    /// Opens the legacy standalone GET stream and waits until it is established (or refused).
    async fn open_get_stream(&self) {
        let this = self.clone();
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let mut ready = Some(ready_tx);
            let mut last: Option<String> = None;
            let mut retry = 1000u64;
            for _ in 0..20 {
                let era = this.era();
                let mut h = this.base_headers(&era, "", None);
                h.insert("accept", HeaderValue::from_static("text/event-stream"));
                h.remove("content-type");
                if let Some(l) = last.as_deref().and_then(|l| HeaderValue::from_str(l).ok()) {
                    h.insert(meta::HEADER_LAST_EVENT_ID, l);
                }
                let resp = this.inner.http.get(&this.inner.url).headers(h).send().await;
                if let Some(r) = ready.take() {
                    let _ = r.send(());
                }
                let Ok(resp) = resp else { return };
                if !resp.status().is_success() {
                    return;
                }
                let Some(dec) = this.pump_events(resp).await else {
                    return;
                };
                last = dec.last_event_id.clone().or(last);
                retry = dec.retry.unwrap_or(retry);
                tokio::time::sleep(Duration::from_millis(retry.min(30_000))).await;
            }
        });
        let _ = tokio::time::timeout(Duration::from_secs(10), ready_rx).await;
        *self
            .inner
            .get_stream
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = Some(task);
    }

    /// Falls back to the 2024-11-05 HTTP+SSE transport: GET the URL, read the `endpoint` event.
    async fn connect_legacy_sse(&self) -> Result<(), ClientError> {
        let mut h = HeaderMap::new();
        h.insert("accept", HeaderValue::from_static("text/event-stream"));
        if let Some(t) = self.token_header() {
            h.insert(H_AUTHORIZATION, t);
        }
        let resp = self
            .inner
            .http
            .get(&self.inner.url)
            .headers(h.clone())
            .send()
            .await?;
        if !resp.status().is_success() {
            return Err(ClientError::Connect(format!(
                "no MCP transport answered at {} (HTTP {} to the HTTP+SSE probe)",
                self.inner.url,
                resp.status().as_u16()
            )));
        }
        let mut stream = resp.bytes_stream();
        let mut dec = Decoder::new();
        let endpoint = loop {
            let chunk = tokio::time::timeout(Duration::from_secs(10), stream.next())
                .await
                .map_err(|_| ClientError::Connect("no endpoint event".into()))?
                .ok_or_else(|| {
                    ClientError::Connect("stream ended before the endpoint event".into())
                })?
                .map_err(|e| ClientError::Transport(e.to_string()))?;
            let evs = dec
                .feed(&chunk)
                .map_err(|e| ClientError::Protocol(e.to_string()))?;
            if let Some(e) = evs.into_iter().find(|e| e.event == "endpoint") {
                break e.data;
            }
        };
        let base =
            reqwest::Url::parse(&self.inner.url).map_err(|e| ClientError::Usage(e.to_string()))?;
        let post_url = base
            .join(endpoint.trim())
            .map_err(|e| ClientError::Protocol(format!("bad endpoint: {e}")))?;
        if post_url.origin() != base.origin() {
            return Err(ClientError::Protocol(
                "the endpoint event points at another origin".into(),
            ));
        }
        let http = self.inner.http.clone();
        let post_url = post_url.to_string();
        let conn = MsgConn::new(
            Box::new(move |b| {
                let http = http.clone();
                let url = post_url.clone();
                let h = h.clone();
                Box::pin(async move {
                    let r = http
                        .post(&url)
                        .headers(h)
                        .header("content-type", "application/json")
                        .body(b)
                        .send()
                        .await?;
                    if r.status().is_success() {
                        Ok(())
                    } else {
                        Err(ClientError::Http {
                            status: r.status().as_u16(),
                            body: "message not accepted".into(),
                        })
                    }
                })
            }),
            self.inner.opts.handler.clone(),
        );
        let reader = conn.clone();
        tokio::spawn(async move {
            while let Some(Ok(chunk)) = stream.next().await {
                let Ok(evs) = dec.feed(&chunk) else { break };
                for e in evs {
                    if (e.event.is_empty() || e.event == "message") && !e.data.is_empty() {
                        reader.on_incoming(e.data.as_bytes());
                    }
                }
            }
            reader.close("the HTTP+SSE stream ended");
        });
        *self
            .inner
            .sse_conn
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = Some(conn.clone());
        self.set_era(Era::LegacySse);
        let params = json!({
            "protocolVersion": ProtocolVersion::V2024_11_05.as_str(),
            "capabilities": self.inner.opts.capabilities,
            "clientInfo": self.inner.opts.client_info,
        });
        let r = conn
            .request(methods::INITIALIZE, Some(params), None)
            .await?;
        *self
            .inner
            .server_info
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = Some(r);
        conn.notify(methods::INITIALIZED, None).await
    }

    /// Reads a long-lived SSE response to its end, handing every message to the connection's
    /// handler. Returns the decoder (last event id, retry) or `None` if the stream was not SSE.
    async fn pump_events(&self, resp: reqwest::Response) -> Option<Decoder> {
        let mut dec = Decoder::new();
        let mut stream = resp.bytes_stream();
        while let Some(Ok(chunk)) = stream.next().await {
            let events = dec.feed(&chunk).ok()?;
            for ev in events {
                if !ev.data.is_empty() {
                    let _ = self
                        .on_stream_message(ev.data.as_bytes(), None, &RequestOptions::default())
                        .await;
                }
            }
        }
        Some(dec)
    }

    /// Keeps a 2026-07-28 `subscriptions/listen` stream open (reconnecting with backoff) and
    /// hands each notification to the connection's handler. In the legacy era the GET stream
    /// does this job (see [`ClientOptions::open_get_stream`]); this returns `None` there.
    pub fn listen(&self, notifications: Value) -> Option<tokio::task::JoinHandle<()>> {
        if !matches!(self.era(), Era::Modern { .. }) {
            return None;
        }
        let this = self.clone();
        Some(tokio::spawn(async move {
            let mut backoff = Duration::from_millis(200);
            loop {
                let era = this.era();
                let id = RequestId::Number(this.inner.next_id.fetch_add(1, Ordering::Relaxed));
                let params = json!({ "notifications": notifications });
                let mut body = Vec::new();
                if this
                    .write_body(
                        &mut body,
                        &era,
                        &id,
                        methods::SUBSCRIPTIONS_LISTEN,
                        Some(&params),
                        None,
                        &RequestOptions::default(),
                    )
                    .is_err()
                {
                    return;
                }
                let h = this.base_headers(&era, methods::SUBSCRIPTIONS_LISTEN, None);
                if let Ok(resp) = this
                    .inner
                    .http
                    .post(&this.inner.url)
                    .headers(h)
                    .body(body)
                    .send()
                    .await
                {
                    if resp.status().is_success() {
                        backoff = Duration::from_millis(200);
                        let _ = this.pump_events(resp).await;
                    } else if resp.status().as_u16() == 404 {
                        // The server does not offer subscriptions.
                        return;
                    }
                }
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(30));
            }
        }))
    }

    /// Ends the connection: DELETE for a legacy session.
    pub async fn close(&self) {
        if let Some(t) = self
            .inner
            .get_stream
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
        {
            t.abort();
        }
        if let Era::Legacy {
            session: Some(_), ..
        } = self.era()
        {
            let h = self.base_headers(&self.era(), "", None);
            let _ = tokio::time::timeout(
                Duration::from_secs(5),
                self.inner.http.delete(&self.inner.url).headers(h).send(),
            )
            .await;
        }
        if let Some(c) = self
            .inner
            .sse_conn
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
        {
            c.close("closed by the client");
        }
    }
}

/// Tells a legacy server to stop a request the caller gave up on (timeout or dropped future) with
/// `notifications/cancelled`. In the 2026-07-28 era closing the stream is the cancellation, which
/// dropping the response already did.
struct CancelOnDrop<'a> {
    client: &'a HttpClient,
    current: &'a std::sync::Mutex<Option<RequestId>>,
    armed: bool,
}

impl Drop for CancelOnDrop<'_> {
    fn drop(&mut self) {
        if !self.armed || !matches!(self.client.era(), Era::Legacy { .. }) {
            return;
        }
        let Some(id) = self
            .current
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
        else {
            return;
        };
        let client = self.client.clone();
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move {
                let params = json!({"requestId": id, "reason": "the client stopped waiting"});
                let _ = client
                    .notify(methods::NOTIFICATION_CANCELLED, Some(params))
                    .await;
            });
        }
    }
}

/// Writes a request's JSON-RPC body straight from its parts: the caller's params, raw
/// `arguments` spliced in verbatim, and this era's `_meta` members (the client's own,
/// serialised once at connect; the progress token; the caller's extras) merged over any
/// `_meta` the params carry. No merged `Value` is built per call.
#[allow(clippy::too_many_arguments)]
fn write_request_body(
    out: &mut Vec<u8>,
    own: &OwnMeta,
    era: &Era,
    id: &RequestId,
    method: &str,
    params: Option<&Value>,
    progress_token: Option<&str>,
    ro: &RequestOptions,
) -> Result<(), serde_json::Error> {
    let modern = match era {
        Era::Modern { version } => Some((version.as_str(), own)),
        _ => None,
    };
    let wants_meta = modern.is_some() || progress_token.is_some() || ro.meta.is_some();
    let empty = Map::new();
    let base = match params {
        Some(Value::Object(o)) => o,
        // Params that are not an object are sent as they are.
        Some(other) => return jsonrpc::write_request(out, id, method, Some(other)),
        None if wants_meta => &empty,
        None => return jsonrpc::write_request::<Value>(out, id, method, None),
    };
    let meta = match base.get("_meta") {
        _ if !wants_meta => None,
        // A `_meta` that is not an object is left as the caller wrote it.
        Some(m) if !m.is_object() => None,
        existing => Some(SendMeta {
            existing: existing.and_then(Value::as_object),
            modern,
            token: progress_token,
            extra: ro.meta.as_ref(),
        }),
    };
    let p = SendParams {
        base,
        args: ro.raw_arguments.as_deref(),
        meta,
    };
    jsonrpc::write_request(out, id, method, Some(&p))
}

/// Request params as sent (see [`write_request_body`]).
struct SendParams<'a> {
    base: &'a Map<String, Value>,
    /// Written verbatim in place of any `arguments` member.
    args: Option<&'a RawValue>,
    /// Written in place of any `_meta` member.
    meta: Option<SendMeta<'a>>,
}

impl serde::Serialize for SendParams<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(None)?;
        for (k, v) in self.base {
            let replaced =
                (self.args.is_some() && k == "arguments") || (self.meta.is_some() && k == "_meta");
            if !replaced {
                m.serialize_entry(k, v)?;
            }
        }
        if let Some(a) = self.args {
            m.serialize_entry("arguments", a)?;
        }
        if let Some(meta) = &self.meta {
            m.serialize_entry("_meta", meta)?;
        }
        m.end()
    }
}

/// Prefix of the `_meta` keys that belong to the 2026-07-28 era.
const ERA_META_PREFIX: &str = "io.modelcontextprotocol/";

/// A request's `_meta`: the caller's own members, overridden by the era's (protocol version,
/// client capabilities and info), then the progress token, then the request's extras. Each key
/// is written once, with the value of its latest source.
struct SendMeta<'a> {
    existing: Option<&'a Map<String, Value>>,
    /// The protocol version and the client's own members, in the 2026-07-28 era.
    modern: Option<(&'a str, &'a OwnMeta)>,
    token: Option<&'a str>,
    extra: Option<&'a Map<String, Value>>,
}

impl SendMeta<'_> {
    /// Whether an extra member is sent (era keys only make sense in their era).
    fn extra_sent(&self, k: &str) -> bool {
        self.modern.is_some() || !k.starts_with(ERA_META_PREFIX)
    }

    /// Whether `k` is set by the extras, which win over every other source.
    fn set_by_extra(&self, k: &str) -> bool {
        self.extra.is_some_and(|e| e.contains_key(k)) && self.extra_sent(k)
    }
}

impl serde::Serialize for SendMeta<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(None)?;
        let era_key = |k: &str| {
            self.modern.is_some()
                && (k == meta::PROTOCOL_VERSION
                    || k == meta::CLIENT_CAPABILITIES
                    || k == meta::CLIENT_INFO)
        };
        for (k, v) in self.existing.into_iter().flatten() {
            let overridden = era_key(k)
                || (self.token.is_some() && k == meta::PROGRESS_TOKEN)
                || self.set_by_extra(k);
            if !overridden {
                m.serialize_entry(k, v)?;
            }
        }
        if let Some((version, own)) = self.modern {
            if !self.set_by_extra(meta::PROTOCOL_VERSION) {
                m.serialize_entry(meta::PROTOCOL_VERSION, version)?;
            }
            if !self.set_by_extra(meta::CLIENT_CAPABILITIES) {
                m.serialize_entry(meta::CLIENT_CAPABILITIES, &own.capabilities)?;
            }
            if !self.set_by_extra(meta::CLIENT_INFO) {
                m.serialize_entry(meta::CLIENT_INFO, &own.client_info)?;
            }
        }
        if let Some(t) = self.token {
            if !self.set_by_extra(meta::PROGRESS_TOKEN) {
                m.serialize_entry(meta::PROGRESS_TOKEN, t)?;
            }
        }
        for (k, v) in self.extra.into_iter().flatten() {
            if self.extra_sent(k) {
                m.serialize_entry(k, v)?;
            }
        }
        m.end()
    }
}

/// The outcome of a JSON answer: its result, its JSON-RPC error, or the HTTP status.
///
/// Reads only what a response needs (`jsonrpc`, `result` borrowed, `error`), not the general
/// message envelope: this runs once per relayed call.
fn json_outcome(status: u16, body: &[u8]) -> Result<Box<RawValue>, ClientError> {
    /// `Some` even for `"result": null` (a plain `Option` would read that as absent).
    fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<&'de RawValue>, D::Error> {
        <&RawValue as serde::Deserialize>::deserialize(d).map(Some)
    }
    #[derive(serde::Deserialize)]
    struct Reply<'a> {
        jsonrpc: Option<&'a str>,
        #[serde(borrow, default, deserialize_with = "present")]
        result: Option<&'a RawValue>,
        error: Option<switchyard_protocol::jsonrpc::ErrorObject>,
    }
    match serde_json::from_slice::<Reply<'_>>(body) {
        Ok(Reply {
            jsonrpc: Some("2.0"),
            result: Some(r),
            error: None,
        }) => Ok(r.to_owned()),
        Ok(Reply {
            jsonrpc: Some("2.0"),
            result: None,
            error: Some(e),
        }) => Err(ClientError::Rpc(e)),
        _ => Err(http_error(status, body)),
    }
}

fn http_error(status: u16, body: &[u8]) -> ClientError {
    ClientError::Http {
        status,
        body: String::from_utf8_lossy(&body[..body.len().min(512)]).into_owned(),
    }
}

/// The `resultType` of a raw result, read without building a tree.
pub(crate) fn result_type(raw: &RawValue) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Probe {
        #[serde(rename = "resultType")]
        result_type: Option<String>,
    }
    serde_json::from_str::<Probe>(raw.get())
        .ok()
        .and_then(|p| p.result_type)
}

fn jsonrpc_notification(method: &str) -> Vec<u8> {
    let mut b = Vec::new();
    let _ = jsonrpc::write_notification::<Value>(&mut b, method, None);
    b
}

async fn read_limited(resp: reqwest::Response, limit: usize) -> Result<Vec<u8>, ClientError> {
    let mut out = Vec::new();
    let mut s = resp.bytes_stream();
    while let Some(c) = s.next().await {
        let c = c?;
        if out.len() + c.len() > limit {
            return Err(ClientError::Protocol(format!(
                "response larger than {limit} bytes"
            )));
        }
        out.extend_from_slice(&c);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn own() -> OwnMeta {
        OwnMeta {
            capabilities: RawValue::from_string(r#"{"roots":{}}"#.into()).expect("json"),
            client_info: RawValue::from_string(r#"{"name":"c","version":"1"}"#.into())
                .expect("json"),
        }
    }

    fn modern() -> Era {
        Era::Modern {
            version: "2026-07-28".into(),
        }
    }

    /// Writes a body and reads it back, failing on duplicate keys (which `Value` would hide).
    fn body(era: &Era, params: Option<Value>, token: Option<&str>, ro: &RequestOptions) -> Value {
        let mut out = Vec::new();
        write_request_body(
            &mut out,
            &own(),
            era,
            &RequestId::Number(7),
            "tools/call",
            params.as_ref(),
            token,
            ro,
        )
        .expect("writes");
        let text = String::from_utf8(out).expect("utf-8");
        for key in [
            "\"arguments\"",
            "\"_meta\"",
            "\"progressToken\"",
            "clientCapabilities\"",
        ] {
            assert!(text.matches(key).count() <= 1, "{key} twice in {text}");
        }
        serde_json::from_str(&text).expect("valid JSON")
    }

    #[test]
    fn modern_body_splices_raw_arguments_and_merges_meta_by_precedence() {
        let mut extra = Map::new();
        extra.insert(meta::CLIENT_CAPABILITIES.into(), json!({"sampling": {}}));
        extra.insert(meta::LOG_LEVEL.into(), json!("debug"));
        let ro = RequestOptions {
            meta: Some(extra),
            raw_arguments: Some(
                RawValue::from_string(r#"{"text":"hi","n":[1,2]}"#.into()).expect("json"),
            ),
            ..RequestOptions::default()
        };
        let params = json!({
            "name": "echo",
            "arguments": {"ignored": true},
            "_meta": {"mine": 1, "progressToken": "old", (meta::PROTOCOL_VERSION): "old"},
        });
        let b = body(&modern(), Some(params), Some("p7"), &ro);
        assert_eq!(b["jsonrpc"], "2.0");
        assert_eq!(b["id"], 7);
        assert_eq!(b["method"], "tools/call");
        let p = &b["params"];
        assert_eq!(p["name"], "echo");
        assert_eq!(p["arguments"], json!({"text": "hi", "n": [1, 2]}));
        let m = &p["_meta"];
        assert_eq!(m["mine"], 1, "the caller's own members stay");
        assert_eq!(m[meta::PROTOCOL_VERSION], "2026-07-28");
        assert_eq!(m["progressToken"], "p7");
        assert_eq!(
            m[meta::CLIENT_CAPABILITIES],
            json!({"sampling": {}}),
            "the request's extras win over the client's own capabilities"
        );
        assert_eq!(m[meta::CLIENT_INFO], json!({"name": "c", "version": "1"}));
        assert_eq!(m[meta::LOG_LEVEL], "debug");
    }

    #[test]
    fn legacy_body_has_no_era_members_and_untouched_params_without_meta() {
        let mut extra = Map::new();
        extra.insert(meta::CLIENT_CAPABILITIES.into(), json!({}));
        extra.insert("vendor/x".into(), json!(true));
        let legacy = Era::Legacy {
            version: Some("2025-11-25".into()),
            session: None,
        };
        let ro = RequestOptions {
            meta: Some(extra),
            ..RequestOptions::default()
        };
        let b = body(&legacy, Some(json!({"uri": "a://b"})), None, &ro);
        assert_eq!(b["params"]["uri"], "a://b");
        assert_eq!(b["params"]["_meta"], json!({"vendor/x": true}));

        let plain = body(
            &legacy,
            Some(json!({"name": "echo", "arguments": {"a": 1}})),
            None,
            &RequestOptions::default(),
        );
        assert_eq!(
            plain["params"],
            json!({"name": "echo", "arguments": {"a": 1}})
        );
        let none = body(&legacy, None, None, &RequestOptions::default());
        assert!(none.get("params").is_none());
    }

    #[test]
    fn json_answers_give_the_raw_result_the_rpc_error_or_the_http_status() {
        let ok = json_outcome(200, br#"{"jsonrpc":"2.0","id":1,"result":{"a": [1, 2]}}"#);
        assert_eq!(
            ok.expect("result").get(),
            r#"{"a": [1, 2]}"#,
            "bytes kept as sent"
        );
        let null = json_outcome(200, br#"{"jsonrpc":"2.0","id":1,"result":null}"#);
        assert_eq!(null.expect("a null result is a result").get(), "null");
        match json_outcome(
            200,
            br#"{"jsonrpc":"2.0","id":1,"error":{"code":-32602,"message":"no"}}"#,
        ) {
            Err(ClientError::Rpc(e)) => assert_eq!((e.code.0, e.message.as_str()), (-32602, "no")),
            other => panic!("expected the RPC error, got {other:?}"),
        }
        for bad in [
            &br#"{"id":1,"result":{}}"#[..],
            br#"{"jsonrpc":"2.0","id":1}"#,
            br#"{"jsonrpc":"2.0","id":1,"result":{},"error":{"code":1,"message":"x"}}"#,
            b"not json",
        ] {
            match json_outcome(502, bad) {
                Err(ClientError::Http { status: 502, .. }) => {}
                other => panic!("expected HTTP 502 for {bad:?}, got {other:?}"),
            }
        }
    }

    #[test]
    fn modern_body_without_params_still_carries_meta_and_odd_meta_is_kept() {
        let b = body(&modern(), None, None, &RequestOptions::default());
        assert_eq!(b["params"]["_meta"][meta::PROTOCOL_VERSION], "2026-07-28");
        assert_eq!(
            b["params"]["_meta"][meta::CLIENT_CAPABILITIES],
            json!({"roots": {}})
        );

        let odd = body(
            &modern(),
            Some(json!({"name": "x", "_meta": "not an object"})),
            None,
            &RequestOptions::default(),
        );
        assert_eq!(odd["params"]["_meta"], "not an object");
    }
}
