//! POST: every client message of both eras.

use std::borrow::Cow;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Request, Response, StatusCode};
use http_body_util::BodyExt;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use switchyard_protocol::jsonrpc::{
    self, CowStr, ErrorObject, Incoming, InvalidMessage, Message, MessageRef, RequestId, RequestRef,
};
use switchyard_protocol::types::{
    methods, CallToolParams, CancelledParams, ClientCapabilities, Implementation, InitializeParams,
    LoggingLevel, ProgressToken, SetLevelParams,
};
use switchyard_protocol::{meta, ErrorCode, ProtocolError, ProtocolVersion};
use tokio::sync::mpsc;

use super::checks::{accepts, decode_header_value, is_json_content_type, Accepts};
use super::session::Session;
use super::stream::{legacy_sse, listen, modern_sse};
use super::{error_response, json_response, sse_response, McpBody, McpService};
use crate::context::{CancelToken, CtxInner, MrtrState, Out, Outbox, PeerRequester};
use crate::handler::BoxFuture;
use crate::server::Reply;
use crate::RequestContext;

/// Writes a full JSON-RPC response for `reply`.
pub(crate) fn response_bytes(id: &RequestId, reply: &Reply) -> Vec<u8> {
    // Exactly the size of a success with an integer id: a `Vec` that is full becomes `Bytes`
    // without another allocation.
    let id_len = match id {
        RequestId::Number(n) => decimal_len(*n),
        RequestId::String(s) => s.len() + 16,
    };
    let out_len = RESPONSE_FRAME_LEN + id_len + reply.as_ref().map_or(64, Vec::len);
    let mut out = Vec::with_capacity(out_len);
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

/// `{"jsonrpc":"2.0","id":` + `,"result":` + `}`.
const RESPONSE_FRAME_LEN: usize = 22 + 10 + 1;

/// Characters of `n` in decimal.
fn decimal_len(n: i64) -> usize {
    let sign = usize::from(n < 0);
    let mut v = n.unsigned_abs();
    let mut digits = 1;
    while v >= 10 {
        v /= 10;
        digits += 1;
    }
    sign + digits
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
    let bytes = match read_body(body, cfg.max_body_bytes).await {
        Ok(b) => b,
        Err(BodyError::TooLarge) => return too_large(),
        Err(BodyError::Read(e)) => {
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
    let mut parts = parts;
    if bytes.iter().copied().find(|b| !b.is_ascii_whitespace()) == Some(b'{') {
        if let Some(resp) = modern_tools_call(svc, &mut parts, &bytes, acc).await {
            return resp;
        }
        // One message (the usual case): read its envelope without copying the params, and
        // serve a 2026-07-28 request straight from the borrowed bytes.
        return match jsonrpc::parse_message_ref(&bytes) {
            Err(InvalidMessage { id, error }) => {
                bad_request(id.as_ref(), error.code(), error.to_string())
            }
            Ok(MessageRef::Request(r))
                if r.method != methods::INITIALIZE
                    && parts.headers.get(&SESSION_ID).is_none()
                    && (!cfg.legacy || is_modern(&parts.headers, r.params)) =>
            {
                modern_ref(svc, &mut parts, r, acc).await
            }
            Ok(m) => single(svc, &parts, m.into_owned(), acc).await,
        };
    }
    match jsonrpc::parse_incoming(&bytes) {
        Err(InvalidMessage { id, error }) => {
            bad_request(id.as_ref(), error.code(), error.to_string())
        }
        Ok(Incoming::Single(msg)) => single(svc, &parts, msg, acc).await,
        Ok(Incoming::Batch(items)) => batch(svc, &parts, items).await,
    }
}

enum BodyError {
    TooLarge,
    Read(Box<dyn std::error::Error + Send + Sync>),
}

/// Reads a whole body of at most `limit` bytes (trailers are ignored). A body that arrives as
/// one data frame, the usual case, is kept as it came.
async fn read_body<B>(body: B, limit: usize) -> Result<Bytes, BodyError>
where
    B: http_body::Body<Data = Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let mut body = std::pin::pin!(body);
    let mut first: Option<Bytes> = None;
    let mut more: Option<bytes::BytesMut> = None;
    let mut total = 0usize;
    while let Some(frame) = body.as_mut().frame().await {
        let frame = frame.map_err(|e| BodyError::Read(e.into()))?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        total = total.saturating_add(data.len());
        if total > limit {
            return Err(BodyError::TooLarge);
        }
        match (&first, &mut more) {
            (None, _) => first = Some(data),
            (Some(f), None) => {
                let mut m = bytes::BytesMut::with_capacity(f.len() + data.len());
                m.extend_from_slice(f);
                m.extend_from_slice(&data);
                more = Some(m);
            }
            (Some(_), Some(m)) => m.extend_from_slice(&data),
        }
    }
    Ok(match more {
        Some(m) => m.freeze(),
        None => first.unwrap_or_default(),
    })
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
            out: acc.sse.then(|| tx.into()),
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

/// The params of a 2026-07-28 request as the borrowed path reads them: in one pass, with the
/// members `tools/call` needs so its params are not read again. Only an object is accepted
/// (derived structs also take arrays), a repeated member is an error, and `_meta` members it
/// does not know must still be valid as `Value`s, as `CallToolParams` reads them: it is at
/// least as strict as `ModernProbe` and `CallToolParams` together, and whatever it refuses goes
/// to the general path, which then reports exactly what it always did.
#[derive(Default)]
struct ProbeRef<'a> {
    meta: Option<MetaRef<'a>>,
    name: Option<Cow<'a, str>>,
    uri: Option<Cow<'a, str>>,
    task_id: Option<Cow<'a, str>>,
    arguments: Option<&'a RawValue>,
    task: Option<&'a RawValue>,
    input_responses: Option<&'a RawValue>,
    request_state: Option<Cow<'a, str>>,
}

/// The `_meta` of a 2026-07-28 request, borrowed; capabilities and client info stay raw.
#[derive(Default)]
struct MetaRef<'a> {
    protocol_version: Option<Cow<'a, str>>,
    client_capabilities: Option<&'a RawValue>,
    client_info: Option<&'a RawValue>,
    log_level: Option<LoggingLevel>,
    progress_token: Option<ProgressToken>,
}

/// Reads a member once: a second occurrence is an error, as for derived structs.
fn once<'de, A: serde::de::MapAccess<'de>, T: Deserialize<'de>>(
    slot: &mut Option<Option<T>>,
    map: &mut A,
) -> Result<(), A::Error> {
    if slot.is_some() {
        return Err(serde::de::Error::custom("duplicate member"));
    }
    *slot = Some(map.next_value()?);
    Ok(())
}

impl<'de: 'a, 'a> Deserialize<'de> for ProbeRef<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = ProbeRef<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("params object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<ProbeRef<'de>, A::Error> {
                let mut meta: Option<Option<MetaRef<'de>>> = None;
                let mut name: Option<Option<CowStr<'de>>> = None;
                let mut uri: Option<Option<CowStr<'de>>> = None;
                let mut task_id: Option<Option<CowStr<'de>>> = None;
                let mut arguments: Option<Option<&'de RawValue>> = None;
                let mut task: Option<Option<&'de RawValue>> = None;
                let mut input_responses: Option<Option<&'de RawValue>> = None;
                let mut request_state: Option<Option<CowStr<'de>>> = None;
                while let Some(key) = map.next_key::<CowStr<'de>>()? {
                    match &*key.0 {
                        "_meta" => once(&mut meta, &mut map)?,
                        "name" => once(&mut name, &mut map)?,
                        "uri" => once(&mut uri, &mut map)?,
                        "taskId" => once(&mut task_id, &mut map)?,
                        "arguments" => once(&mut arguments, &mut map)?,
                        "task" => once(&mut task, &mut map)?,
                        "inputResponses" => once(&mut input_responses, &mut map)?,
                        "requestState" => once(&mut request_state, &mut map)?,
                        _ => {
                            map.next_value::<serde::de::IgnoredAny>()?;
                        }
                    }
                }
                let cow = |s: Option<Option<CowStr<'de>>>| s.flatten().map(|c| c.0);
                Ok(ProbeRef {
                    meta: meta.flatten(),
                    name: cow(name),
                    uri: cow(uri),
                    task_id: cow(task_id),
                    arguments: arguments.flatten(),
                    task: task.flatten(),
                    input_responses: input_responses.flatten(),
                    request_state: cow(request_state),
                })
            }
        }
        d.deserialize_map(V)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for MetaRef<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = MetaRef<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("_meta object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<MetaRef<'de>, A::Error> {
                let mut pv: Option<Option<CowStr<'de>>> = None;
                let mut caps: Option<Option<&'de RawValue>> = None;
                let mut info: Option<Option<&'de RawValue>> = None;
                let mut level: Option<Option<LoggingLevel>> = None;
                let mut token: Option<Option<ProgressToken>> = None;
                while let Some(key) = map.next_key::<CowStr<'de>>()? {
                    match &*key.0 {
                        meta::PROTOCOL_VERSION => once(&mut pv, &mut map)?,
                        meta::CLIENT_CAPABILITIES => once(&mut caps, &mut map)?,
                        meta::CLIENT_INFO => once(&mut info, &mut map)?,
                        meta::LOG_LEVEL => once(&mut level, &mut map)?,
                        meta::PROGRESS_TOKEN => once(&mut token, &mut map)?,
                        _ => {
                            map.next_value::<ValidValue>()?;
                        }
                    }
                }
                Ok(MetaRef {
                    protocol_version: pv.flatten().map(|c| c.0),
                    client_capabilities: caps.flatten(),
                    client_info: info.flatten(),
                    log_level: level.flatten(),
                    progress_token: token.flatten(),
                })
            }
        }
        d.deserialize_map(V)
    }
}

/// Any JSON value that would also parse as a `serde_json::Value` (numbers in range, strings
/// without lone surrogates, nesting within the recursion limit), checked without building it.
struct ValidValue;

impl<'de> Deserialize<'de> for ValidValue {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = ValidValue;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("any valid JSON value")
            }
            fn visit_bool<E>(self, _: bool) -> Result<ValidValue, E> {
                Ok(ValidValue)
            }
            fn visit_i64<E>(self, _: i64) -> Result<ValidValue, E> {
                Ok(ValidValue)
            }
            fn visit_u64<E>(self, _: u64) -> Result<ValidValue, E> {
                Ok(ValidValue)
            }
            fn visit_f64<E>(self, _: f64) -> Result<ValidValue, E> {
                Ok(ValidValue)
            }
            fn visit_str<E>(self, _: &str) -> Result<ValidValue, E> {
                Ok(ValidValue)
            }
            fn visit_unit<E>(self) -> Result<ValidValue, E> {
                Ok(ValidValue)
            }
            fn visit_none<E>(self) -> Result<ValidValue, E> {
                Ok(ValidValue)
            }
            fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<ValidValue, D::Error> {
                ValidValue::deserialize(d)
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<ValidValue, A::Error> {
                while seq.next_element::<ValidValue>()?.is_some() {}
                Ok(ValidValue)
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<ValidValue, A::Error> {
                while map.next_key::<CowStr<'de>>()?.is_some() {
                    map.next_value::<ValidValue>()?;
                }
                Ok(ValidValue)
            }
        }
        d.deserialize_any(V)
    }
}

/// Whether raw JSON that the general path would build `Value`s from might fail there although
/// it is valid JSON: a `\u` escape (lone surrogates) or an exponent (out-of-range numbers).
/// False positives only send a request down the general path.
fn may_fail_as_value(raw: &RawValue) -> bool {
    raw.get()
        .as_bytes()
        .windows(2)
        .any(|w| (w[0] == b'\\' && w[1] == b'u') || (w[0].is_ascii_digit() && w[1] | 0x20 == b'e'))
}

/// The client capabilities of a request; the common empty object shares one allocation.
fn client_capabilities(raw: &RawValue) -> Option<Arc<ClientCapabilities>> {
    static EMPTY: std::sync::OnceLock<Arc<ClientCapabilities>> = std::sync::OnceLock::new();
    if raw.get() == "{}" {
        return Some(EMPTY.get_or_init(Default::default).clone());
    }
    serde_json::from_str::<ClientCapabilities>(raw.get())
        .ok()
        .map(Arc::new)
}

/// What the borrowed path read from a 2026-07-28 request, when it could read everything.
struct ModernRead<'a> {
    name: Option<Cow<'a, str>>,
    uri: Option<Cow<'a, str>>,
    task_id: Option<Cow<'a, str>>,
    arguments: Option<&'a RawValue>,
    task: Option<&'a RawValue>,
    input_responses: Option<&'a RawValue>,
    request_state: Option<Cow<'a, str>>,
    protocol_version: Cow<'a, str>,
    caps: Arc<ClientCapabilities>,
    log_level: Option<LoggingLevel>,
    progress_token: Option<ProgressToken>,
}

impl<'a> ModernRead<'a> {
    /// Reads raw params; `None` when anything is missing or malformed: the general path
    /// reports it.
    fn read(cfg: &super::HttpConfig, params: Option<&'a RawValue>) -> Option<Self> {
        if !depth_allows_fast_path(cfg) {
            return None;
        }
        Self::from_probe(serde_json::from_str(params?.get()).ok()?)
    }

    fn from_probe(probe: ProbeRef<'a>) -> Option<Self> {
        if let Some(a) = probe.arguments {
            if !a.get().starts_with('{') || may_fail_as_value(a) {
                return None;
            }
        }
        let m = probe.meta?;
        let caps = client_capabilities(m.client_capabilities?)?;
        if let Some(info) = m.client_info {
            if may_fail_as_value(info) {
                return None;
            }
            serde_json::from_str::<Implementation>(info.get()).ok()?;
        }
        Some(Self {
            name: probe.name,
            uri: probe.uri,
            task_id: probe.task_id,
            arguments: probe.arguments,
            task: probe.task,
            input_responses: probe.input_responses,
            request_state: probe.request_state,
            protocol_version: m.protocol_version?,
            caps,
            log_level: m.log_level,
            progress_token: m.progress_token,
        })
    }

    /// `tools/call` params built from what was read, or `None` where `CallToolParams` would
    /// have to say what is wrong.
    fn call_tool_params(&self) -> Option<CallToolParams> {
        Some(CallToolParams {
            name: self.name.as_deref()?.to_owned(),
            arguments: self.arguments.map(ToOwned::to_owned),
            task: match self.task {
                None => None,
                Some(t) => Some(serde_json::from_str(t.get()).ok()?),
            },
            input_responses: match self.input_responses {
                None => None,
                Some(r) => serde_json::from_str(r.get()).ok()?,
            },
            request_state: self.request_state.as_deref().map(str::to_owned),
            meta: None,
        })
    }
}

/// Beyond serde_json's recursion limit the general path's `Value`s fail where raw values do
/// not, so deeper bodies always take the general path.
fn depth_allows_fast_path(cfg: &super::HttpConfig) -> bool {
    cfg.max_json_depth <= 100
}

/// A `tools/call` body read in one pass: envelope, params and `_meta` together.
#[derive(Deserialize)]
struct CallEnvelope<'a> {
    #[serde(default, borrow)]
    jsonrpc: Option<&'a RawValue>,
    #[serde(default, borrow)]
    id: Option<&'a RawValue>,
    #[serde(default, borrow)]
    method: Option<CowStr<'a>>,
    #[serde(default, borrow)]
    params: Option<ProbeRef<'a>>,
    #[serde(default, borrow)]
    result: Option<&'a RawValue>,
    #[serde(default, borrow)]
    error: Option<&'a RawValue>,
}

/// The hot path: a stateless `tools/call` of a registered tool, read in one pass. `None` when
/// the request is anything else or anything about it is unusual; the caller then serves it
/// the general way.
async fn modern_tools_call(
    svc: &McpService,
    req: &mut http::request::Parts,
    bytes: &[u8],
    acc: Accepts,
) -> Option<Response<McpBody>> {
    let h = &req.headers;
    if h.get(&METHOD)?.as_bytes() != methods::TOOLS_CALL.as_bytes()
        || h.contains_key(&SESSION_ID)
        || !depth_allows_fast_path(&svc.shared.cfg)
        || svc.shared.server.has_request_handler()
    {
        return None;
    }
    // The same test as `is_modern`, from the header alone.
    let hv = header_str(h, &PROTOCOL_VERSION)?;
    if matches!(hv.parse::<ProtocolVersion>(), Ok(v) if !v.is_modern()) {
        return None;
    }
    let env: CallEnvelope<'_> = serde_json::from_slice(bytes).ok()?;
    if env.jsonrpc.map(RawValue::get) != Some("\"2.0\"")
        || env.method?.0 != methods::TOOLS_CALL
        || env.result.is_some()
        || env.error.is_some()
    {
        return None;
    }
    let id = jsonrpc::parse_request_id(env.id?.get())?;
    let read = ModernRead::from_probe(env.params?)?;
    let call = read.call_tool_params()?;
    Some(
        modern_checked(
            svc,
            req,
            &id,
            methods::TOOLS_CALL,
            read,
            Some(call),
            None,
            acc,
        )
        .await,
    )
}

/// A 2026-07-28 request served from its borrowed bytes: the same checks and answers as
/// [`modern`], which it hands anything unusual to.
async fn modern_ref(
    svc: &McpService,
    req: &mut http::request::Parts,
    r: RequestRef<'_>,
    acc: Accepts,
) -> Response<McpBody> {
    if r.method == methods::SUBSCRIPTIONS_LISTEN {
        return modern(svc, req, r.into_owned(), acc).await;
    }
    let Some(read) = ModernRead::read(&svc.shared.cfg, r.params) else {
        return modern(svc, req, r.into_owned(), acc).await;
    };
    let call = (r.method == methods::TOOLS_CALL && !svc.shared.server.has_request_handler())
        .then(|| read.call_tool_params())
        .flatten();
    modern_checked(svc, req, &r.id, &r.method, read, call, r.params, acc).await
}

/// [`modern`]'s checks and dispatch on what the borrowed path read. `call`, when given, is
/// served as `tools/call` without reading the params again; otherwise `params` go to
/// `Server::dispatch`.
#[allow(clippy::too_many_arguments)] // One private step of `modern_ref`, split for the hot path.
async fn modern_checked(
    svc: &McpService,
    req: &mut http::request::Parts,
    id: &RequestId,
    method: &str,
    read: ModernRead<'_>,
    call: Option<CallToolParams>,
    params: Option<&RawValue>,
    acc: Accepts,
) -> Response<McpBody> {
    let headers = &req.headers;
    let mismatch = |msg: String| bad_request(Some(id), ErrorCode::HEADER_MISMATCH, msg);
    let Some(hv) = header_str(headers, &PROTOCOL_VERSION) else {
        return mismatch("MCP-Protocol-Version header is required".into());
    };
    let pv: &str = &read.protocol_version;
    if hv.trim() != pv {
        return mismatch(format!(
            "MCP-Protocol-Version header {hv:?} does not match _meta protocolVersion {pv:?}"
        ));
    }
    let version = match pv.parse::<ProtocolVersion>() {
        Ok(v) if v.is_modern() => v,
        _ => return unsupported_version(id, pv),
    };
    match header_str(headers, &METHOD) {
        None => return mismatch("Mcp-Method header is required".into()),
        Some(h) if header_equals(h, method) => {}
        Some(_) => {
            return mismatch(format!(
                "Mcp-Method header does not match method {method:?}"
            ))
        }
    }
    let name = match method {
        methods::TOOLS_CALL | methods::PROMPTS_GET => read.name.as_deref(),
        methods::RESOURCES_READ => read.uri.as_deref(),
        methods::TASKS_GET | methods::TASKS_UPDATE | methods::TASKS_CANCEL => {
            read.task_id.as_deref()
        }
        _ => None,
    };
    if let Some(expected) = name {
        match header_str(headers, &NAME) {
            None => return mismatch("Mcp-Name header is required".into()),
            Some(v) if header_equals(v, expected) => {}
            Some(_) => return mismatch("Mcp-Name header does not match the request".into()),
        }
    }
    if method == methods::TOOLS_CALL {
        if let Some(tool) = read.name.as_deref() {
            let args = || {
                read.arguments
                    .and_then(|a| serde_json::from_str::<Map<String, Value>>(a.get()).ok())
            };
            if let Err(msg) = check_param_headers_lazy(svc, headers, tool, args) {
                return mismatch(msg);
            }
        }
    }
    let ctx = RequestContext {
        inner: Arc::new(CtxInner {
            version,
            request_id: id.clone(),
            client_capabilities: read.caps,
            progress_token: read.progress_token,
            log_level: read.log_level,
            out: acc.sse.then(|| Out::Inline(Outbox::default())),
            cancel: CancelToken::default(),
            peer: None,
            mrtr: Mutex::new(MrtrState::default()),
            last_progress: Mutex::new(None),
            session_id: None,
            extensions: std::mem::take(&mut req.extensions),
            session_notify: None,
        }),
    };
    let server = svc.shared.server.clone();
    let inbox = ctx.clone();
    let fut: BoxFuture<Reply> = match call {
        Some(cp) => Box::pin(async move { server.call_tool_parsed(cp, ctx).await }),
        None => {
            let method = method.to_owned();
            let params = params.map(ToOwned::to_owned);
            Box::pin(async move { server.dispatch(&method, params, ctx).await })
        }
    };
    modern_sse(id.clone(), fut, inbox).await
}

/// The -32022 answer to an unsupported 2026-07-28 version.
fn unsupported_version(id: &RequestId, pv: &str) -> Response<McpBody> {
    error_response(
        StatusCode::BAD_REQUEST,
        Some(id),
        ErrorObject::new(
            ErrorCode::UNSUPPORTED_PROTOCOL_VERSION,
            format!("unsupported protocol version {pv:?}"),
        )
        .with_data(serde_json::json!({ "supported": modern_versions(), "requested": pv })),
    )
}

/// Whether a 2026-07-28 header carries `want`, literally or in the base64 form, as
/// `decode_header_value` reads it.
fn header_equals(raw: &str, want: &str) -> bool {
    let v = raw.trim();
    if !v.starts_with("=?base64?") {
        return v == want;
    }
    decode_header_value(raw).is_some_and(|d| d == want)
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
        _ => return unsupported_version(id, pv),
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
        return listen(svc, r, acc, &req.extensions).await;
    }
    let ctx = RequestContext {
        inner: Arc::new(CtxInner {
            version,
            request_id: r.id.clone(),
            client_capabilities: Arc::new(caps),
            progress_token: m.progress_token,
            log_level: m.log_level,
            out: acc.sse.then(|| Out::Inline(Outbox::default())),
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
    let inbox = ctx.clone();
    let fut: BoxFuture<Reply> =
        Box::pin(async move { server.dispatch(&method, params, ctx).await });
    modern_sse(r.id, fut, inbox).await
}

/// Checks `Mcp-Param-*` headers against arguments marked `x-mcp-header` in the tool's schema.
fn check_param_headers(
    svc: &McpService,
    headers: &HeaderMap,
    tool: &str,
    args: Option<&Map<String, Value>>,
) -> Result<(), String> {
    check_param_headers_lazy(svc, headers, tool, || args.cloned())
}

/// [`check_param_headers`] with the arguments read only when the tool has such properties.
fn check_param_headers_lazy(
    svc: &McpService,
    headers: &HeaderMap,
    tool: &str,
    args: impl FnOnce() -> Option<Map<String, Value>>,
) -> Result<(), String> {
    let server = &svc.shared.server;
    let mut args = Some(args);
    let mut read = || args.take().and_then(|f| f());
    // Borrow the definition from the registry snapshot: cloning it per call cost ~11% of a
    // stateless call in profiles.
    if let Some(r) = server.with_tool(tool, |def| {
        check_tool_param_headers(&def.input_schema, headers, &mut read)
    }) {
        return r;
    }
    // A JSON-level handler (the gateway) knows the schemas of the tools it relays.
    match server.handler_tool_input_schema(tool) {
        Some(schema) => check_tool_param_headers(&schema, headers, read),
        None => Ok(()),
    }
}

fn check_tool_param_headers(
    input_schema: &Map<String, Value>,
    headers: &HeaderMap,
    args: impl FnOnce() -> Option<Map<String, Value>>,
) -> Result<(), String> {
    let Some(Value::Object(props)) = input_schema.get("properties") else {
        return Ok(());
    };
    if !props
        .values()
        .any(|schema| schema.get("x-mcp-header").is_some_and(Value::is_string))
    {
        return Ok(());
    }
    let args = args();
    let args = args.as_ref();
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Server, ToolDef};
    use http::Method;

    fn service() -> McpService {
        let server = Server::builder("t", "1")
            .tool(ToolDef::new("echo", "Echoes", |a: Value, _| async move {
                a.to_string()
            }))
            .build();
        McpService::new(server, super::super::HttpConfig::default())
    }

    fn parts(method: &str, name: Option<&str>) -> http::request::Parts {
        let mut b = Request::builder()
            .method(Method::POST)
            .uri("/mcp")
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", "2026-07-28")
            .header("mcp-method", method);
        if let Some(n) = name {
            b = b.header("mcp-name", n);
        }
        b.body(()).unwrap().into_parts().0
    }

    async fn answer(r: Response<McpBody>) -> (StatusCode, Bytes) {
        let status = r.status();
        (status, r.into_body().collect().await.unwrap().to_bytes())
    }

    /// Serves `body` through the borrowed path and through the general one, and checks both
    /// answer the same; returns the answer and whether the borrowed path read it itself.
    async fn same_answer(
        method: &str,
        name: Option<&str>,
        body: &str,
    ) -> ((StatusCode, Bytes), bool) {
        let svc = service();
        let acc = Accepts {
            json: true,
            sse: true,
        };
        let Ok(MessageRef::Request(r)) = jsonrpc::parse_message_ref(body.as_bytes()) else {
            panic!("not a request: {body}");
        };
        let fast = ModernRead::read(&svc.shared.cfg, r.params).is_some();
        let borrowed =
            answer(modern_ref(&svc, &mut parts(method, name), r.clone(), acc).await).await;
        let general = answer(modern(&svc, &parts(method, name), r.into_owned(), acc).await).await;
        assert_eq!(borrowed, general, "{body}");
        // The one-pass `tools/call` path, where it takes the request, answers alike too.
        let one_pass =
            modern_tools_call(&svc, &mut parts(method, name), body.as_bytes(), acc).await;
        if let Some(resp) = one_pass {
            assert_eq!(answer(resp).await, general, "one pass: {body}");
            assert!(
                fast,
                "the one-pass path took what the two-pass path refused: {body}"
            );
        }
        (borrowed, fast)
    }

    const META: &str = r#""_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}"#;

    fn call(params_before_meta: &str) -> String {
        format!(
            r#"{{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{{{params_before_meta}{META}}}}}"#
        )
    }

    #[test]
    fn responses_with_integer_ids_are_sized_exactly() {
        for n in [0, 7, 10, 99, 100, -1, -10, i64::MAX, i64::MIN] {
            assert_eq!(decimal_len(n), n.to_string().len(), "{n}");
            let b = response_bytes(&RequestId::Number(n), &Ok(b"{}".to_vec()));
            assert_eq!(b.len(), b.capacity(), "{n}");
            assert_eq!(
                b,
                format!(r#"{{"jsonrpc":"2.0","id":{n},"result":{{}}}}"#).into_bytes()
            );
        }
    }

    #[tokio::test]
    async fn bodies_are_read_whole_and_limited() {
        use futures_util::stream;
        use http_body_util::StreamBody;
        let chunks = |parts: &[&'static str]| {
            let frames: Vec<Result<http_body::Frame<Bytes>, std::io::Error>> = parts
                .iter()
                .map(|p| Ok(http_body::Frame::data(Bytes::from_static(p.as_bytes()))))
                .collect();
            StreamBody::new(stream::iter(frames))
        };
        let one = read_body(chunks(&["abc"]), 3).await.ok().unwrap();
        assert_eq!(one, Bytes::from_static(b"abc"));
        let three = read_body(chunks(&["ab", "c", "de"]), 5).await.ok().unwrap();
        assert_eq!(three, Bytes::from_static(b"abcde"));
        assert!(read_body(chunks(&[]), 0).await.ok().unwrap().is_empty());
        assert!(matches!(
            read_body(chunks(&["ab", "cd"]), 3).await,
            Err(BodyError::TooLarge)
        ));
        let failing = StreamBody::new(stream::iter(vec![
            Ok(http_body::Frame::data(Bytes::from_static(b"a"))),
            Err(std::io::Error::other("reset")),
        ]));
        match read_body(failing, 10).await {
            Err(BodyError::Read(e)) => assert_eq!(e.to_string(), "reset"),
            _ => panic!("a failing body is a read error"),
        }
    }

    #[tokio::test]
    async fn one_pass_path_takes_plain_calls_only() {
        let svc = service();
        let acc = Accepts {
            json: true,
            sse: true,
        };
        let plain = call(r#""name":"echo","arguments":{"text":"hi"},"#);
        let resp = modern_tools_call(
            &svc,
            &mut parts("tools/call", Some("echo")),
            plain.as_bytes(),
            acc,
        )
        .await;
        let (status, body) = answer(resp.expect("a plain call takes the one-pass path")).await;
        assert_eq!(status, StatusCode::OK);
        assert!(String::from_utf8_lossy(&body).contains(r#"\"text\":\"hi\""#));
        for (method, body) in [
            ("tools/list", plain.clone()),
            ("tools/call", plain.replace("\"2.0\"", "\"1.0\"")),
            ("tools/call", plain.replace("\"id\":7", "\"id\":null")),
            (
                "tools/call",
                call(r#""name":"echo","arguments":{"text":"\u00e9"},"#),
            ),
            ("tools/call", call(r#""name":"echo","_meta":{},"#)),
            ("tools/call", format!("{plain} x")),
        ] {
            let resp =
                modern_tools_call(&svc, &mut parts(method, Some("echo")), body.as_bytes(), acc)
                    .await;
            assert!(resp.is_none(), "{method} {body}");
        }
    }

    #[tokio::test]
    async fn borrowed_path_answers_a_plain_call() {
        let ((status, body), fast) = same_answer(
            "tools/call",
            Some("echo"),
            &call(r#""name":"echo","arguments":{"text":"hi"},"#),
        )
        .await;
        assert!(fast);
        assert_eq!(status, StatusCode::OK);
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["id"], 7);
        assert_eq!(v["result"]["content"][0]["text"], r#"{"text":"hi"}"#);
        // The base64 header form names the tool too.
        let (_, fast) = same_answer(
            "tools/call",
            Some("=?base64?ZWNobw==?="),
            &call(r#""name":"echo","arguments":{"text":"hi"},"#),
        )
        .await;
        assert!(fast);
    }

    #[tokio::test]
    async fn what_the_borrowed_path_cannot_read_gets_the_general_answer() {
        for (params, status) in [
            // A lone surrogate and an out-of-range number: valid raw JSON, invalid as `Value`.
            (
                r#""name":"echo","arguments":{"text":"\ud800"},"#,
                StatusCode::BAD_REQUEST,
            ),
            (
                r#""name":"echo","arguments":{"n":1e400},"#,
                StatusCode::BAD_REQUEST,
            ),
            (
                r#""name":"echo","arguments":"text","#,
                StatusCode::BAD_REQUEST,
            ),
            (r#""name":"echo","name":"echo","#, StatusCode::BAD_REQUEST),
            (r#""name":"echo","inputResponses":[1],"#, StatusCode::OK),
            (r#""name":"echo","requestState":"forged","#, StatusCode::OK),
            (r#""arguments":{},"#, StatusCode::OK),
        ] {
            let body = call(params);
            let ((got, text), _) = same_answer("tools/call", Some("echo"), &body).await;
            assert_eq!(got, status, "{body}: {}", String::from_utf8_lossy(&text));
        }
        for body in [
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","_meta":["2026-07-28",{}]}}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","_meta":{"io.modelcontextprotocol/protocolVersion":"2099-01-01","io.modelcontextprotocol/clientCapabilities":{}}}}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call"}"#,
        ] {
            let ((got, _), fast) = same_answer("tools/call", Some("echo"), body).await;
            assert!(!fast || got != StatusCode::OK, "{body}");
            assert_eq!(got, StatusCode::BAD_REQUEST, "{body}");
        }
    }

    #[tokio::test]
    async fn borrowed_path_checks_headers_as_the_general_one_does() {
        let body = call(r#""name":"echo","arguments":{},"#);
        for (method, name) in [
            ("tools/list", Some("echo")),
            ("tools/call", None),
            ("tools/call", Some("other")),
            ("tools/call", Some("=?base64?!!?=")),
        ] {
            let ((got, _), fast) = same_answer(method, name, &body).await;
            assert!(fast);
            assert_eq!(got, StatusCode::BAD_REQUEST, "{method} {name:?}");
        }
        let unknown = call(r#""name":"nope","#);
        let ((got, text), _) = same_answer("tools/call", Some("nope"), &unknown).await;
        assert_eq!(got, StatusCode::OK);
        assert!(String::from_utf8_lossy(&text).contains("unknown tool"));
        let list = format!(
            r#"{{"jsonrpc":"2.0","id":2,"method":"tools/list","params":{{{}}}}}"#,
            META
        );
        let ((got, text), fast) = same_answer("tools/list", None, &list).await;
        assert!(fast);
        assert_eq!(got, StatusCode::OK);
        assert!(String::from_utf8_lossy(&text).contains(r#""name":"echo""#));
    }
}
