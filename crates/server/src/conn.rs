//! A persistent bidirectional connection (stdio, 2024-11-05 HTTP+SSE): messages in, messages out,
//! with the legacy lifecycle or per-request 2026-07-28 `_meta`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;
use switchyard_protocol::jsonrpc::{self, ErrorObject, Message, RequestId};
use switchyard_protocol::types::{
    methods, CancelledParams, ClientCapabilities, InitializeParams, LoggingLevel, ProgressToken,
    SetLevelParams, SubscriptionsListenParams,
};
use switchyard_protocol::{ErrorCode, ProtocolVersion};
use tokio::sync::mpsc;

use crate::context::{CancelToken, CtxInner, MrtrState, PeerRequester, PendingRequests};
use crate::server::Reply;
use crate::subscriptions::{event_notification, Subscription};
use crate::{RequestContext, Server};

struct ConnState {
    version: Option<ProtocolVersion>,
    caps: Arc<ClientCapabilities>,
    log_level: Option<LoggingLevel>,
}

/// One client connection.
pub(crate) struct Conn {
    server: Server,
    out: mpsc::UnboundedSender<Bytes>,
    state: Mutex<ConnState>,
    peer: Arc<PendingRequests>,
    in_flight: Mutex<HashMap<RequestId, CancelToken>>,
    subscriptions: Mutex<Vec<Subscription>>,
    max_depth: usize,
}

#[derive(Deserialize, Default)]
struct Probe {
    #[serde(rename = "_meta", default)]
    meta: Option<ProbeMeta>,
}

#[derive(Deserialize, Default)]
struct ProbeMeta {
    #[serde(rename = "progressToken")]
    progress_token: Option<ProgressToken>,
    #[serde(rename = "io.modelcontextprotocol/protocolVersion")]
    protocol_version: Option<String>,
    #[serde(rename = "io.modelcontextprotocol/clientCapabilities")]
    client_capabilities: Option<ClientCapabilities>,
    #[serde(rename = "io.modelcontextprotocol/logLevel")]
    log_level: Option<LoggingLevel>,
}

impl Conn {
    pub(crate) fn new(
        server: Server,
        out: mpsc::UnboundedSender<Bytes>,
        max_depth: usize,
    ) -> Arc<Self> {
        Arc::new(Self {
            server,
            out,
            state: Mutex::new(ConnState {
                version: None,
                caps: Arc::new(ClientCapabilities::default()),
                log_level: None,
            }),
            peer: Arc::new(PendingRequests::default()),
            in_flight: Mutex::new(HashMap::new()),
            subscriptions: Mutex::new(Vec::new()),
            max_depth,
        })
    }

    fn send(&self, b: Vec<u8>) {
        if b.is_empty() {
            return;
        }
        let _ = self.out.send(Bytes::from(b));
    }

    fn reply(&self, id: &RequestId, r: &Reply) {
        self.send(crate::http::post_response_bytes(id, r));
    }

    /// Handles one incoming message. Requests run as tasks so many can be in flight.
    pub(crate) fn on_message(self: &Arc<Self>, bytes: &[u8]) {
        if let Err(e) = switchyard_protocol::limits::check_depth(bytes, self.max_depth) {
            let mut b = Vec::new();
            jsonrpc::write_error(&mut b, None, &ErrorObject::from(e));
            return self.send(b);
        }
        let msg = match jsonrpc::parse_message(bytes) {
            Ok(m) => m,
            Err(e) => {
                let mut b = Vec::new();
                jsonrpc::write_error(&mut b, e.id.as_ref(), &ErrorObject::from(e.error));
                return self.send(b);
            }
        };
        match msg {
            Message::Request(r) => self.request(r),
            Message::Notification(n) => {
                if n.method == methods::NOTIFICATION_CANCELLED {
                    if let Some(p) = n
                        .params
                        .as_deref()
                        .and_then(|p| serde_json::from_str::<CancelledParams>(p.get()).ok())
                    {
                        if let Some(t) = self
                            .in_flight
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .get(&p.request_id)
                        {
                            t.cancel();
                        }
                        // Cancelling a `subscriptions/listen` request ends that subscription.
                        self.subscriptions
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .retain(|s| s.id != p.request_id);
                    }
                }
            }
            Message::Response(r) => {
                let v = serde_json::from_str::<Value>(r.result.get()).unwrap_or(Value::Null);
                self.peer.answer(&r.id, Ok(v));
            }
            Message::Error(e) => {
                if let Some(id) = &e.id {
                    self.peer.answer(id, Err(e.error));
                }
            }
        }
    }

    fn request(self: &Arc<Self>, r: jsonrpc::Request) {
        let p = r.params.as_deref();
        let raw = p.map_or("{}", RawValue::get);
        let probe: Probe = serde_json::from_str(raw).unwrap_or_default();
        let meta_v = probe
            .meta
            .as_ref()
            .and_then(|m| m.protocol_version.as_deref());
        let modern = meta_v.is_some();
        if !modern {
            match r.method.as_str() {
                methods::INITIALIZE => {
                    let reply = match serde_json::from_str::<InitializeParams>(raw) {
                        Ok(ip) => {
                            let v = ProtocolVersion::negotiate_legacy(&ip.protocol_version);
                            let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
                            st.version = Some(v);
                            st.caps = Arc::new(ip.capabilities);
                            serde_json::to_vec(&self.server.initialize_result(v)).map_err(|e| {
                                ErrorObject::new(ErrorCode::INTERNAL_ERROR, e.to_string())
                            })
                        }
                        Err(e) => Err(ErrorObject::new(
                            ErrorCode::INVALID_PARAMS,
                            format!("invalid initialize params: {e}"),
                        )),
                    };
                    return self.reply(&r.id, &reply);
                }
                methods::LOGGING_SET_LEVEL => {
                    let reply = match serde_json::from_str::<SetLevelParams>(raw) {
                        Ok(sl) => {
                            self.state
                                .lock()
                                .unwrap_or_else(|p| p.into_inner())
                                .log_level = Some(sl.level);
                            Ok(b"{}".to_vec())
                        }
                        Err(e) => Err(ErrorObject::new(ErrorCode::INVALID_PARAMS, e.to_string())),
                    };
                    return self.reply(&r.id, &reply);
                }
                methods::RESOURCES_SUBSCRIBE | methods::RESOURCES_UNSUBSCRIBE => {
                    return self.reply(&r.id, &Ok(b"{}".to_vec()));
                }
                _ => {}
            }
        }
        let (version, caps, log_level) = if modern {
            let m = probe.meta.as_ref();
            let v = match meta_v.and_then(|v| v.parse::<ProtocolVersion>().ok()) {
                Some(v) if v.is_modern() => v,
                _ => {
                    let e = ErrorObject::new(ErrorCode::UNSUPPORTED_PROTOCOL_VERSION, "unsupported protocol version")
                        .with_data(serde_json::json!({"supported": crate::http::modern_versions_list(), "requested": meta_v}));
                    return self.reply(&r.id, &Err(e));
                }
            };
            if r.method == methods::SUBSCRIPTIONS_LISTEN {
                return self.listen(r.id, raw);
            }
            let caps = m
                .and_then(|m| m.client_capabilities.clone())
                .unwrap_or_default();
            (v, Arc::new(caps), m.and_then(|m| m.log_level))
        } else {
            let st = self.state.lock().unwrap_or_else(|p| p.into_inner());
            let Some(v) = st.version else {
                drop(st);
                return self.reply(
                    &r.id,
                    &Err(ErrorObject::new(
                        ErrorCode::INVALID_REQUEST,
                        "send initialize first (or 2026-07-28 _meta)",
                    )),
                );
            };
            (v, st.caps.clone(), st.log_level)
        };
        let cancel = CancelToken::default();
        self.in_flight
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(r.id.clone(), cancel.clone());
        let ctx = RequestContext {
            inner: Arc::new(CtxInner {
                version,
                request_id: r.id.clone(),
                client_capabilities: caps,
                progress_token: probe.meta.and_then(|m| m.progress_token),
                log_level,
                out: Some(self.out.clone().into()),
                cancel: cancel.clone(),
                peer: Some(self.peer.clone() as Arc<dyn PeerRequester>),
                mrtr: Mutex::new(MrtrState::default()),
                last_progress: Mutex::new(None),
                session_id: None,
                extensions: http::Extensions::new(),
                session_notify: None,
            }),
        };
        let this = self.clone();
        tokio::spawn(async move {
            let reply = tokio::select! {
                r = this.server.dispatch(&r.method, r.params, ctx) => Some(r),
                () = cancel.cancelled() => None,
            };
            this.in_flight
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&r.id);
            // A cancelled request gets no response, as the spec asks.
            if let Some(reply) = reply {
                this.reply(&r.id, &reply);
            }
        });
    }

    /// Starts a 2026-07-28 subscription: the acknowledgement now, tagged notifications later;
    /// the request stays open until the client cancels it.
    fn listen(&self, id: RequestId, raw: &str) {
        match serde_json::from_str::<SubscriptionsListenParams>(raw) {
            Ok(p) => {
                let sub = Subscription::new(&self.server, id, p.notifications);
                self.send(sub.ack());
                self.subscriptions
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push(sub);
            }
            Err(e) => self.reply(
                &id,
                &Err(ErrorObject::new(
                    ErrorCode::INVALID_PARAMS,
                    format!("params.notifications is required: {e}"),
                )),
            ),
        }
    }

    /// Sends a server event to whoever on this connection asked for it: 2026-07-28
    /// subscriptions get tagged notifications; a legacy session gets the list changes.
    pub(crate) fn on_event(&self, e: &crate::ServerEvent) {
        for s in self
            .subscriptions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
        {
            if let Some(b) = s.notification_for(e) {
                self.send(b);
            }
        }
        let legacy = self
            .state
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .version
            .is_some();
        if legacy && !matches!(e, crate::ServerEvent::ResourceUpdated(_)) {
            if let Some(b) = event_notification(e, None) {
                self.send(b);
            }
        }
    }
}
