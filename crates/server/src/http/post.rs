//! POST: every client message of both eras.

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Request, Response, StatusCode};
use http_body_util::{BodyExt, Limited};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use switchyard_protocol::jsonrpc::{
    self, ErrorObject, Incoming, InvalidMessage, Message, RequestId,
};
use switchyard_protocol::types::{
    methods, CancelledParams, ClientCapabilities, Implementation, InitializeParams, LoggingLevel,
    ProgressToken, SetLevelParams,
};
use switchyard_protocol::{meta, ErrorCode, ProtocolError, ProtocolVersion};
use tokio::sync::mpsc;

use super::checks::{accepts, decode_header_value, is_json_content_type, Accepts};
use super::session::Session;
use super::stream::{legacy_sse, listen, modern_sse};
use super::{error_response, json_response, sse_response, McpBody, McpService};
use crate::context::{CancelToken, CtxInner, MrtrState, PeerRequester};
use crate::handler::BoxFuture;
use crate::server::Reply;
use crate::RequestContext;

/// Writes a full JSON-RPC response for `reply`.
pub(crate) fn response_bytes(id: &RequestId, reply: &Reply) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + reply.as_ref().map_or(64, Vec::len));
    match reply {
        Ok(result) => {
            out.extend_from_slice(br#"{"jsonrpc":"2.0","id":"#);
            let _ = serde_json::to_writer(&mut out, id);
            out.extend_from_slice(br#","result":"#);
            out.extend_from_slice(result);
            out.push(b'}');
        }
        Err(e) => jsonrpc::write_error(&mut out, Some(id), e),
    }
    out
}

fn header_str<'a>(h: &'a HeaderMap, name: &HeaderName) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

// Prebuilt header names: looking a header up by `&str` lower-cases and hashes the name on
// every call, which showed in profiles of the stateless path.
static PROTOCOL_VERSION: HeaderName = HeaderName::from_static(meta::HEADER_PROTOCOL_VERSION);
static SESSION_ID: HeaderName = HeaderName::from_static(meta::HEADER_SESSION_ID);
static METHOD: HeaderName = HeaderName::from_static(meta::HEADER_METHOD);
static NAME: HeaderName = HeaderName::from_static(meta::HEADER_NAME);

fn bad_request(
    id: Option<&RequestId>,
    code: ErrorCode,
    msg: impl Into<String>,
) -> Response<McpBody> {
    error_response(StatusCode::BAD_REQUEST, id, ErrorObject::new(code, msg))
}

pub(super) async fn handle<B>(svc: &McpService, req: Request<B>) -> Response<McpBody>
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let (parts, body) = req.into_parts();
    let cfg = &svc.shared.cfg;
    if !is_json_content_type(&parts.headers) {
        return error_response(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            None,
            ErrorObject::new(
                ErrorCode::INVALID_REQUEST,
                "Content-Type must be application/json",
            ),
        );
    }
    let acc = accepts(&parts.headers);
    if !(acc.json && acc.sse) {
        return error_response(
            StatusCode::NOT_ACCEPTABLE,
            None,
            ErrorObject::new(
                ErrorCode::INVALID_REQUEST,
                "Accept must list both application/json and text/event-stream",
            ),
        );
    }
    let too_large = || {
        error_response(
            StatusCode::PAYLOAD_TOO_LARGE,
            None,
            ErrorObject::new(
                ErrorCode::INVALID_REQUEST,
                format!("request body larger than {} bytes", cfg.max_body_bytes),
            ),
        )
    };
    if let Some(len) = header_str(&parts.headers, &http::header::CONTENT_LENGTH)
        .and_then(|v| v.parse::<usize>().ok())
    {
        if len > cfg.max_body_bytes {
            return too_large();
        }
    }
    let bytes = match Limited::new(body, cfg.max_body_bytes).collect().await {
        Ok(c) => c.to_bytes(),
        Err(e) => {
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some()
            {
                return too_large();
            }
            return bad_request(
                None,
                ErrorCode::PARSE_ERROR,
                format!("could not read body: {e}"),
            );
        }
    };
    if let Err(e) = switchyard_protocol::limits::check_depth(&bytes, cfg.max_json_depth) {
        return bad_request(None, e.code(), e.to_string());
    }
    match jsonrpc::parse_incoming(&bytes) {
        Err(InvalidMessage { id, error }) => {
            bad_request(id.as_ref(), error.code(), error.to_string())
        }
        Ok(Incoming::Single(msg)) => single(svc, &parts, msg, acc).await,
        Ok(Incoming::Batch(items)) => batch(svc, &parts, items).await,
    }
}

/// Whether a request without a session speaks the modern era.
fn is_modern(headers: &HeaderMap, params: Option<&RawValue>) -> bool {
    if let Some(v) = header_str(headers, &PROTOCOL_VERSION) {
        match v.parse::<ProtocolVersion>() {
            Ok(v) if !v.is_modern() => {}
            _ => return true,
        }
    }
    params.is_some_and(|p| p.get().contains(meta::PROTOCOL_VERSION))
}

// The error is a ready response; boxing it would only move the allocation to the rare path.
#[allow(clippy::result_large_err)]
fn session_of(
    svc: &McpService,
    headers: &HeaderMap,
) -> Option<Result<Arc<Session>, Response<McpBody>>> {
    let sid = header_str(headers, &SESSION_ID)?;
    Some(svc.shared.sessions.get(sid).ok_or_else(|| {
        error_response(
            StatusCode::NOT_FOUND,
            None,
            ErrorObject::new(ErrorCode::INVALID_REQUEST, "session not found or expired"),
        )
    }))
}

async fn single(
    svc: &McpService,
    req: &http::request::Parts,
    msg: Message,
    acc: Accepts,
) -> Response<McpBody> {
    let headers = &req.headers;
    let legacy_ok = svc.shared.cfg.legacy;
    match msg {
        Message::Request(r) if r.method == methods::INITIALIZE && headers.get(&SESSION_ID).is_none() => {
            if !legacy_ok || is_modern_initialize(headers) {
                return modern(svc, req, r, acc).await;
            }
            initialize(svc, r)
        }
        Message::Request(r) => match session_of(svc, headers) {
            Some(Ok(s)) => legacy_request(svc, req, s, r, acc).await,
            Some(Err(resp)) => with_id(resp, &r.id),
            None if !legacy_ok || is_modern(headers, r.params.as_deref()) => modern(svc, req, r, acc).await,
            None => bad_request(
                Some(&r.id),
                ErrorCode::INVALID_REQUEST,
                "Mcp-Session-Id header is required (send initialize first, or use protocol version 2026-07-28)",
            ),
        },
        Message::Notification(n) => {
            if let Some(s) = session_of(svc, headers) {
                match s {
                    Ok(s) => legacy_notification(&s, &n.method, n.params.as_deref()),
                    Err(resp) => return resp,
                }
            }
            super::empty_response(StatusCode::ACCEPTED)
        }
        Message::Response(r) => match session_of(svc, headers) {
            Some(Ok(s)) => {
                let v = serde_json::from_str::<Value>(r.result.get()).unwrap_or(Value::Null);
                s.answer(&r.id, Ok(v));
                super::empty_response(StatusCode::ACCEPTED)
            }
            Some(Err(resp)) => resp,
            None => bad_request(None, ErrorCode::INVALID_REQUEST, "responses are only accepted within a session"),
        },
        Message::Error(e) => match session_of(svc, headers) {
            Some(Ok(s)) => {
                if let Some(id) = &e.id {
                    s.answer(id, Err(e.error));
                }
                super::empty_response(StatusCode::ACCEPTED)
            }
            Some(Err(resp)) => resp,
            None => bad_request(None, ErrorCode::INVALID_REQUEST, "responses are only accepted within a session"),
        },
    }
}

fn with_id(mut resp: Response<McpBody>, id: &RequestId) -> Response<McpBody> {
    // Re-render 404s for requests so the error names the request's id.
    if resp.status() == StatusCode::NOT_FOUND {
        resp = error_response(
            StatusCode::NOT_FOUND,
            Some(id),
            ErrorObject::new(ErrorCode::INVALID_REQUEST, "session not found or expired"),
        );
    }
    resp
}

fn is_modern_initialize(headers: &HeaderMap) -> bool {
    header_str(headers, &PROTOCOL_VERSION)
        .and_then(|v| v.parse::<ProtocolVersion>().ok())
        .is_some_and(ProtocolVersion::is_modern)
}

fn initialize(svc: &McpService, r: jsonrpc::Request) -> Response<McpBody> {
    let p: InitializeParams =
        match serde_json::from_str(r.params.as_deref().map_or("{}", RawValue::get)) {
            Ok(p) => p,
            Err(e) => {
                let reply: Reply = Err(ErrorObject::new(
                    ErrorCode::INVALID_PARAMS,
                    format!("invalid initialize params: {e}"),
                ));
                return json_response(StatusCode::OK, response_bytes(&r.id, &reply));
            }
        };
    let v = ProtocolVersion::negotiate_legacy(&p.protocol_version);
    let session = match svc.shared.sessions.create(v, p.capabilities, p.client_info) {
        Ok(s) => s,
        Err(_) => {
            return error_response(
                StatusCode::SERVICE_UNAVAILABLE,
                Some(&r.id),
                ErrorObject::new(ErrorCode::INTERNAL_ERROR, "too many sessions"),
            )
        }
    };
    let reply = serde_json::to_vec(&svc.shared.server.initialize_result(v))
        .map_err(|e| ErrorObject::new(ErrorCode::INTERNAL_ERROR, e.to_string()));
    let mut resp = json_response(StatusCode::OK, response_bytes(&r.id, &reply));
    if let Ok(h) = HeaderValue::from_str(&session.id) {
        resp.headers_mut().insert(meta::HEADER_SESSION_ID, h);
    }
    resp
}

fn legacy_notification(s: &Session, method: &str, params: Option<&RawValue>) {
    match method {
        methods::INITIALIZED => s
            .initialized
            .store(true, std::sync::atomic::Ordering::Relaxed),
        methods::NOTIFICATION_CANCELLED => {
            if let Some(p) =
                params.and_then(|p| serde_json::from_str::<CancelledParams>(p.get()).ok())
            {
                if let Some(t) = s
                    .in_flight
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .get(&p.request_id)
                {
                    t.cancel();
                }
            }
        }
        _ => {}
    }
}

#[derive(Deserialize, Default)]
struct LegacyMeta {
    #[serde(rename = "progressToken")]
    progress_token: Option<ProgressToken>,
}

#[derive(Deserialize, Default)]
struct LegacyProbe {
    #[serde(rename = "_meta", default)]
    meta: Option<LegacyMeta>,
}

async fn legacy_request(
    svc: &McpService,
    req: &http::request::Parts,
    s: Arc<Session>,
    r: jsonrpc::Request,
    acc: Accepts,
) -> Response<McpBody> {
    let headers = &req.headers;
    if let Some(v) = header_str(headers, &PROTOCOL_VERSION) {
        if v.parse::<ProtocolVersion>().is_err() {
            return bad_request(
                Some(&r.id),
                ErrorCode::INVALID_REQUEST,
                format!("unsupported MCP-Protocol-Version {v:?}"),
            );
        }
    }
    let p = r.params.as_deref();
    let small = |reply: Reply| json_response(StatusCode::OK, response_bytes(&r.id, &reply));
    match r.method.as_str() {
        methods::PING => return small(Ok(b"{}".to_vec())),
        methods::LOGGING_SET_LEVEL => {
            return small(
                match serde_json::from_str::<SetLevelParams>(p.map_or("{}", RawValue::get)) {
                    Ok(sl) => {
                        *s.log_level.lock().unwrap_or_else(|p| p.into_inner()) = Some(sl.level);
                        Ok(b"{}".to_vec())
                    }
                    Err(e) => Err(ErrorObject::new(
                        ErrorCode::INVALID_PARAMS,
                        format!("invalid level: {e}"),
                    )),
                },
            )
        }
        methods::RESOURCES_SUBSCRIBE | methods::RESOURCES_UNSUBSCRIBE => {
            #[derive(Deserialize)]
            struct U {
                uri: String,
            }
            return small(
                match serde_json::from_str::<U>(p.map_or("{}", RawValue::get)) {
                    Ok(u) => {
                        let mut subs = s.subscriptions.lock().unwrap_or_else(|p| p.into_inner());
                        subs.retain(|x| *x != u.uri);
                        if r.method == methods::RESOURCES_SUBSCRIBE {
                            subs.push(u.uri);
                        }
                        Ok(b"{}".to_vec())
                    }
                    Err(e) => Err(ErrorObject::new(
                        ErrorCode::INVALID_PARAMS,
                        format!("invalid params: {e}"),
                    )),
                },
            );
        }
        methods::INITIALIZE => {
            return small(Err(ErrorObject::new(
                ErrorCode::INVALID_REQUEST,
                "session is already initialized",
            )))
        }
        _ => {}
    }
    let probe: LegacyProbe = p
        .and_then(|p| serde_json::from_str(p.get()).ok())
        .unwrap_or_default();
    let cancel = CancelToken::default();
    s.in_flight
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(r.id.clone(), cancel.clone());
    let log_level = *s.log_level.lock().unwrap_or_else(|p| p.into_inner());
    let (tx, rx) = mpsc::unbounded_channel();
    let ctx = RequestContext {
        inner: Arc::new(CtxInner {
            version: s.version,
            request_id: r.id.clone(),
            client_capabilities: s.client_capabilities.clone(),
            progress_token: probe.meta.and_then(|m| m.progress_token),
            log_level,
            out: acc.sse.then_some(tx),
            cancel: cancel.clone(),
            peer: Some(s.peer.clone() as Arc<dyn PeerRequester>),
            mrtr: Mutex::new(MrtrState::default()),
            last_progress: Mutex::new(None),
            session_id: Some(s.id.clone()),
            extensions: req.extensions.clone(),
            session_notify: Some(session_notifier(&s)),
        }),
    };
    let server = svc.shared.server.clone();
    let method = r.method.clone();
    let params = r.params;
    let fut: BoxFuture<Option<Reply>> = Box::pin(async move {
        tokio::select! {
            reply = server.dispatch(&method, params, ctx) => Some(reply),
            () = cancel.cancelled() => None,
        }
    });
    legacy_sse(svc, s, r.id, fut, rx).await
}

/// The `_meta` of a 2026-07-28 request.
#[derive(Deserialize, Default)]
struct ModernMeta {
    #[serde(rename = "io.modelcontextprotocol/protocolVersion")]
    protocol_version: Option<String>,
    #[serde(rename = "io.modelcontextprotocol/clientCapabilities")]
    client_capabilities: Option<ClientCapabilities>,
    #[serde(rename = "io.modelcontextprotocol/clientInfo")]
    #[allow(dead_code)] // Validated for shape; kept for diagnostics.
    client_info: Option<Implementation>,
    #[serde(rename = "io.modelcontextprotocol/logLevel")]
    log_level: Option<LoggingLevel>,
    #[serde(rename = "progressToken")]
    progress_token: Option<ProgressToken>,
}

#[derive(Deserialize, Default)]
struct ModernProbe {
    #[serde(rename = "_meta")]
    meta: Option<ModernMeta>,
    name: Option<String>,
    uri: Option<String>,
    #[serde(rename = "taskId")]
    task_id: Option<String>,
    arguments: Option<Map<String, Value>>,
}

/// Supported modern versions, as `server/discover` and -32022 list them.
pub(crate) fn modern_versions() -> Vec<&'static str> {
    ProtocolVersion::ALL
        .iter()
        .rev()
        .filter(|v| v.is_modern())
        .map(|v| v.as_str())
        .collect()
}

/// The HTTP status a 2026-07-28 error travels with.
pub(crate) fn modern_status(code: ErrorCode) -> StatusCode {
    match code {
        ErrorCode::METHOD_NOT_FOUND => StatusCode::NOT_FOUND,
        ErrorCode::HEADER_MISMATCH
        | ErrorCode::MISSING_REQUIRED_CLIENT_CAPABILITY
        | ErrorCode::UNSUPPORTED_PROTOCOL_VERSION => StatusCode::BAD_REQUEST,
        _ => StatusCode::OK,
    }
}

async fn modern(
    svc: &McpService,
    req: &http::request::Parts,
    r: jsonrpc::Request,
    acc: Accepts,
) -> Response<McpBody> {
    let headers = &req.headers;
    let id = &r.id;
    let mismatch = |msg: String| bad_request(Some(id), ErrorCode::HEADER_MISMATCH, msg);
    let Some(hv) = header_str(headers, &PROTOCOL_VERSION) else {
        return mismatch("MCP-Protocol-Version header is required".into());
    };
    let probe: ModernProbe = match r
        .params
        .as_deref()
        .map(|p| serde_json::from_str::<ModernProbe>(p.get()))
    {
        None => ModernProbe::default(),
        Some(Ok(p)) => p,
        Some(Err(e)) => {
            return bad_request(
                Some(id),
                ErrorCode::INVALID_PARAMS,
                format!("invalid params: {e}"),
            )
        }
    };
    let Some(m) = probe.meta else {
        return bad_request(
            Some(id),
            ErrorCode::INVALID_PARAMS,
            "params._meta is required",
        );
    };
    let Some(pv) = m.protocol_version.as_deref() else {
        return bad_request(
            Some(id),
            ErrorCode::INVALID_PARAMS,
            format!("_meta[{:?}] is required", meta::PROTOCOL_VERSION),
        );
    };
    let Some(caps) = m.client_capabilities else {
        return bad_request(
            Some(id),
            ErrorCode::INVALID_PARAMS,
            format!("_meta[{:?}] is required", meta::CLIENT_CAPABILITIES),
        );
    };
    if hv.trim() != pv {
        return mismatch(format!(
            "MCP-Protocol-Version header {hv:?} does not match _meta protocolVersion {pv:?}"
        ));
    }
    let version = match pv.parse::<ProtocolVersion>() {
        Ok(v) if v.is_modern() => v,
        _ => {
            return error_response(
                StatusCode::BAD_REQUEST,
                Some(id),
                ErrorObject::new(
                    ErrorCode::UNSUPPORTED_PROTOCOL_VERSION,
                    format!("unsupported protocol version {pv:?}"),
                )
                .with_data(serde_json::json!({ "supported": modern_versions(), "requested": pv })),
            )
        }
    };
    match header_str(headers, &METHOD).map(decode_header_value) {
        None => return mismatch("Mcp-Method header is required".into()),
        Some(Some(m)) if m == r.method => {}
        Some(_) => {
            return mismatch(format!(
                "Mcp-Method header does not match method {:?}",
                r.method
            ))
        }
    }
    let name = match r.method.as_str() {
        methods::TOOLS_CALL | methods::PROMPTS_GET => probe.name.as_deref(),
        methods::RESOURCES_READ => probe.uri.as_deref(),
        methods::TASKS_GET | methods::TASKS_UPDATE | methods::TASKS_CANCEL => {
            probe.task_id.as_deref()
        }
        _ => None,
    };
    if let Some(expected) = name {
        match header_str(headers, &NAME).map(decode_header_value) {
            None => return mismatch("Mcp-Name header is required".into()),
            Some(Some(v)) if v == expected => {}
            Some(_) => return mismatch("Mcp-Name header does not match the request".into()),
        }
    }
    if r.method == methods::TOOLS_CALL {
        if let Some(tool) = probe.name.as_deref() {
            if let Err(msg) = check_param_headers(svc, headers, tool, probe.arguments.as_ref()) {
                return mismatch(msg);
            }
        }
    }
    if r.method == methods::SUBSCRIPTIONS_LISTEN {
        return listen(svc, r, acc).await;
    }
    let (tx, rx) = mpsc::unbounded_channel();
    let ctx = RequestContext {
        inner: Arc::new(CtxInner {
            version,
            request_id: r.id.clone(),
            client_capabilities: Arc::new(caps),
            progress_token: m.progress_token,
            log_level: m.log_level,
            out: acc.sse.then_some(tx),
            cancel: CancelToken::default(),
            peer: None,
            mrtr: Mutex::new(MrtrState::default()),
            last_progress: Mutex::new(None),
            session_id: None,
            extensions: req.extensions.clone(),
            session_notify: None,
        }),
    };
    let server = svc.shared.server.clone();
    let method = r.method;
    let params = r.params;
    let fut: BoxFuture<Reply> =
        Box::pin(async move { server.dispatch(&method, params, ctx).await });
    modern_sse(r.id, fut, rx).await
}

/// Checks `Mcp-Param-*` headers against arguments marked `x-mcp-header` in the tool's schema.
fn check_param_headers(
    svc: &McpService,
    headers: &HeaderMap,
    tool: &str,
    args: Option<&Map<String, Value>>,
) -> Result<(), String> {
    // Borrow the definition from the registry snapshot: cloning it per call cost ~11% of a
    // stateless call in profiles.
    svc.shared
        .server
        .with_tool(tool, |def| check_tool_param_headers(def, headers, args))
        .unwrap_or(Ok(()))
}

fn check_tool_param_headers(
    def: &switchyard_protocol::types::Tool,
    headers: &HeaderMap,
    args: Option<&Map<String, Value>>,
) -> Result<(), String> {
    let Some(Value::Object(props)) = def.input_schema.get("properties") else {
        return Ok(());
    };
    for (prop, schema) in props {
        let Some(h) = schema.get("x-mcp-header").and_then(Value::as_str) else {
            continue;
        };
        let header_name = format!("{}{}", meta::HEADER_PARAM_PREFIX, h);
        let got = headers
            .get(header_name.as_str())
            .map(|v| v.to_str().ok().and_then(decode_header_value));
        let want = args.and_then(|a| a.get(prop)).and_then(|v| match v {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        });
        match (got, want) {
            (None, None) => {}
            (Some(Some(g)), Some(w)) if g == w => {}
            (Some(None), _) => return Err(format!("{header_name} is not a valid header value")),
            _ => return Err(format!("{header_name} does not match argument {prop:?}")),
        }
    }
    Ok(())
}

async fn batch(
    svc: &McpService,
    req: &http::request::Parts,
    items: Vec<Result<Message, InvalidMessage>>,
) -> Response<McpBody> {
    let headers = &req.headers;
    let s = match session_of(svc, headers) {
        Some(Ok(s)) => s,
        Some(Err(resp)) => return resp,
        None => {
            return bad_request(
                None,
                ErrorCode::INVALID_REQUEST,
                "batches are only accepted within a 2025-03-26 session",
            )
        }
    };
    if !s.version.allows_batches() {
        return bad_request(
            None,
            ErrorCode::INVALID_REQUEST,
            format!(
                "JSON-RPC batches are not part of protocol version {}",
                s.version
            ),
        );
    }
    let mut out: Vec<Vec<u8>> = Vec::new();
    for item in items {
        match item {
            Err(InvalidMessage { id, error }) => {
                let mut b = Vec::new();
                jsonrpc::write_error(&mut b, id.as_ref(), &ErrorObject::from(error));
                out.push(b);
            }
            Ok(Message::Request(r)) if r.method == methods::INITIALIZE => {
                let reply: Reply = Err(ErrorObject::from(ProtocolError::InvalidRequest(
                    "initialize must not be batched".into(),
                )));
                out.push(response_bytes(&r.id, &reply));
            }
            Ok(Message::Request(r)) => {
                let resp = legacy_request(
                    svc,
                    req,
                    s.clone(),
                    r,
                    Accepts {
                        json: true,
                        sse: false,
                    },
                )
                .await;
                let bytes = resp
                    .into_body()
                    .collect()
                    .await
                    .map(|c| c.to_bytes())
                    .unwrap_or_default();
                if !bytes.is_empty() {
                    out.push(bytes.to_vec());
                }
            }
            Ok(Message::Notification(n)) => legacy_notification(&s, &n.method, n.params.as_deref()),
            Ok(Message::Response(r)) => {
                let v = serde_json::from_str::<Value>(r.result.get()).unwrap_or(Value::Null);
                s.answer(&r.id, Ok(v));
            }
            Ok(Message::Error(e)) => {
                if let Some(id) = &e.id {
                    s.answer(id, Err(e.error));
                }
            }
        }
    }
    if out.is_empty() {
        return super::empty_response(StatusCode::ACCEPTED);
    }
    let mut body = Vec::with_capacity(out.iter().map(Vec::len).sum::<usize>() + out.len() + 2);
    body.push(b'[');
    for (i, o) in out.iter().enumerate() {
        if i > 0 {
            body.push(b',');
        }
        body.extend_from_slice(o);
    }
    body.push(b']');
    json_response(StatusCode::OK, body)
}

/// Builds an SSE response whose body is already complete.
pub(crate) fn sse_complete(frames: Vec<Bytes>) -> Response<McpBody> {
    let total: usize = frames.iter().map(Bytes::len).sum();
    let mut b = Vec::with_capacity(total);
    for f in frames {
        b.extend_from_slice(&f);
    }
    sse_response(McpBody::full(b))
}

/// Sends one session's own events to its GET stream (held weakly: a request outliving its
/// session must not keep it alive).
fn session_notifier(s: &Arc<Session>) -> crate::context::SessionNotifier {
    let weak = Arc::downgrade(s);
    Arc::new(move |e| {
        weak.upgrade().is_some_and(|s| {
            crate::subscriptions::event_notification(e, None)
                .is_some_and(|b| s.send_standalone(Bytes::from(b)))
        })
    })
}
