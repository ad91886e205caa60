//! What a handler knows about the request it serves, and what it can send back while it runs.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use serde_json::{Map, Value};
use switchyard_protocol::jsonrpc::{write_notification, ErrorObject, RequestId};
use switchyard_protocol::types::{
    methods, ClientCapabilities, CreateMessageParams, CreateMessageResult, ElicitParams,
    ElicitResult, ListRootsResult, LoggingLevel, LoggingMessageParams, ProgressParams,
    ProgressToken,
};
use switchyard_protocol::ProtocolVersion;
use tokio::sync::{mpsc, oneshot, Notify};

use crate::HandlerError;

/// A message on its way to the client on the stream of the request that caused it.
pub(crate) type Outbound = Bytes;

/// Where a request's notifications go on their way to its response stream.
pub(crate) enum Out {
    /// A channel, drained by a task or a stream (legacy sessions, stdio).
    Channel(mpsc::UnboundedSender<Outbound>),
    /// A queue inside the request's own context, drained by its response (2026-07-28): nothing
    /// is allocated for requests whose handlers send nothing, the common case.
    Inline(Outbox),
}

impl From<mpsc::UnboundedSender<Outbound>> for Out {
    fn from(tx: mpsc::UnboundedSender<Outbound>) -> Self {
        Self::Channel(tx)
    }
}

impl Out {
    /// Queues `m`; false when a channel's receiver is gone.
    pub(crate) fn send(&self, m: Outbound) -> bool {
        match self {
            Self::Channel(tx) => tx.send(m).is_ok(),
            Self::Inline(b) => {
                b.push(m);
                true
            }
        }
    }
}

/// A single-consumer queue of outbound messages with the consumer's waker.
#[derive(Default)]
pub(crate) struct Outbox(Mutex<OutboxState>);

#[derive(Default)]
struct OutboxState {
    queue: std::collections::VecDeque<Outbound>,
    waker: Option<std::task::Waker>,
}

impl Outbox {
    fn push(&self, m: Outbound) {
        let waker = {
            let mut st = self.0.lock().unwrap_or_else(|p| p.into_inner());
            st.queue.push_back(m);
            st.waker.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
    }

    /// The oldest queued message, if any.
    pub(crate) fn try_recv(&self) -> Option<Outbound> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .queue
            .pop_front()
    }

    /// The oldest queued message, or `Pending` with the task woken by the next one.
    pub(crate) fn poll_recv(&self, cx: &mut std::task::Context<'_>) -> std::task::Poll<Outbound> {
        let mut st = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(m) = st.queue.pop_front() {
            return std::task::Poll::Ready(m);
        }
        if !st.waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
            st.waker = Some(cx.waker().clone());
        }
        std::task::Poll::Pending
    }
}

/// Cancellation of one request, observed by its handler.
#[derive(Debug, Clone, Default)]
pub struct CancelToken(Arc<CancelInner>);

#[derive(Debug, Default)]
struct CancelInner {
    flag: AtomicBool,
    notify: Notify,
}

impl CancelToken {
    /// Whether the request was cancelled.
    pub fn is_cancelled(&self) -> bool {
        self.0.flag.load(Ordering::Acquire)
    }

    /// Completes when the request is cancelled.
    pub async fn cancelled(&self) {
        loop {
            let notified = self.0.notify.notified();
            if self.is_cancelled() {
                return;
            }
            notified.await;
        }
    }

    /// Cancels the request.
    pub fn cancel(&self) {
        self.0.flag.store(true, Ordering::Release);
        self.0.notify.notify_waiters();
    }
}

/// Sends server-to-client requests on a legacy connection and routes the answers back.
pub(crate) trait PeerRequester: Send + Sync {
    /// Sends `method` with `params` on `out` and returns where the answer will arrive.
    fn request(
        &self,
        method: &str,
        params: Value,
        out: &mpsc::UnboundedSender<Outbound>,
    ) -> oneshot::Receiver<Result<Value, ErrorObject>>;
}

/// Server-to-client requests awaiting the client's answer, on one connection or session.
#[derive(Default)]
pub(crate) struct PendingRequests {
    map: Mutex<std::collections::HashMap<RequestId, oneshot::Sender<Result<Value, ErrorObject>>>>,
    next: std::sync::atomic::AtomicI64,
}

impl PendingRequests {
    /// Routes a client's answer; false if nothing waited for that id.
    pub(crate) fn answer(&self, id: &RequestId, r: Result<Value, ErrorObject>) -> bool {
        let tx = self
            .map
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(id);
        tx.is_some_and(|tx| tx.send(r).is_ok())
    }
}

impl PeerRequester for PendingRequests {
    fn request(
        &self,
        method: &str,
        params: Value,
        out: &mpsc::UnboundedSender<Outbound>,
    ) -> oneshot::Receiver<Result<Value, ErrorObject>> {
        let id = RequestId::Number(self.next.fetch_add(1, Ordering::Relaxed));
        let (tx, rx) = oneshot::channel();
        self.map
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id.clone(), tx);
        let mut buf = Vec::with_capacity(128);
        if switchyard_protocol::jsonrpc::write_request(&mut buf, &id, method, Some(&params)).is_ok()
        {
            let _ = out.send(Bytes::from(buf));
        }
        rx
    }
}

/// Delivers a server event to one session only; `true` if it was sent.
pub(crate) type SessionNotifier = Arc<dyn Fn(&crate::ServerEvent) -> bool + Send + Sync>;

/// Input-request bookkeeping of one 2026-07-28 request (multi round-trip requests).
#[derive(Debug, Default)]
pub(crate) struct MrtrState {
    /// Answers the client already gave, from `requestState` and `inputResponses`.
    pub(crate) responses: Map<String, Value>,
    /// Requests this execution made that have no answer yet.
    pub(crate) pending: Map<String, Value>,
    /// How many input requests this execution made (for default keys).
    pub(crate) count: usize,
}

/// The context of one request, handed to every handler.
#[derive(Clone)]
pub struct RequestContext {
    pub(crate) inner: Arc<CtxInner>,
}

pub(crate) struct CtxInner {
    pub(crate) version: ProtocolVersion,
    pub(crate) request_id: RequestId,
    pub(crate) client_capabilities: Arc<ClientCapabilities>,
    pub(crate) progress_token: Option<ProgressToken>,
    pub(crate) log_level: Option<LoggingLevel>,
    pub(crate) out: Option<Out>,
    pub(crate) cancel: CancelToken,
    pub(crate) peer: Option<Arc<dyn PeerRequester>>,
    pub(crate) mrtr: Mutex<MrtrState>,
    pub(crate) last_progress: Mutex<Option<f64>>,
    pub(crate) session_id: Option<Arc<str>>,
    pub(crate) extensions: http::Extensions,
    /// Reaches this request's session alone (its GET stream), where there is a session.
    pub(crate) session_notify: Option<SessionNotifier>,
}

impl std::fmt::Debug for RequestContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestContext")
            .field("version", &self.inner.version)
            .field("request_id", &self.inner.request_id)
            .finish_non_exhaustive()
    }
}

impl RequestContext {
    /// The protocol version this request speaks.
    pub fn protocol_version(&self) -> ProtocolVersion {
        self.inner.version
    }

    /// The JSON-RPC id of the request.
    pub fn request_id(&self) -> &RequestId {
        &self.inner.request_id
    }

    /// What the client declared it can do.
    pub fn client_capabilities(&self) -> &ClientCapabilities {
        &self.inner.client_capabilities
    }

    /// The log level the client asked for (legacy: `logging/setLevel`; 2026-07-28: `_meta`).
    pub fn log_level(&self) -> Option<LoggingLevel> {
        self.inner.log_level
    }

    /// Whether the client asked for progress on this request.
    pub fn wants_progress(&self) -> bool {
        self.inner.progress_token.is_some()
    }

    /// The legacy session id, if any.
    pub fn session_id(&self) -> Option<&str> {
        self.inner.session_id.as_deref()
    }

    /// Request extensions set by the transport (for example the authenticated principal).
    pub fn extensions(&self) -> &http::Extensions {
        &self.inner.extensions
    }

    /// The cancellation token of this request.
    pub fn cancellation(&self) -> &CancelToken {
        &self.inner.cancel
    }

    fn send(&self, method: &str, params: &impl serde::Serialize) {
        if let Some(out) = &self.inner.out {
            let mut buf = Vec::with_capacity(128);
            if write_notification(&mut buf, method, Some(params)).is_ok() {
                out.send(Bytes::from(buf));
            }
        }
    }

    /// Announces `e` to this request's session only, not to every client (a gateway whose tool
    /// list differs per session tells just the session whose list changed). On a legacy
    /// Streamable HTTP session it goes on the session's GET stream; when that is not open, on
    /// this request's own response stream if the client accepted SSE for it (the event is a
    /// consequence of this request). Returns `false` where nothing could carry it: no session
    /// (2026-07-28 is stateless; use [`crate::Server::notify`] for changes everyone sees) or no
    /// open stream.
    pub fn notify_session(&self, e: &crate::ServerEvent) -> bool {
        if self.inner.session_id.is_none() {
            return false;
        }
        if self.inner.session_notify.as_ref().is_some_and(|f| f(e)) {
            return true;
        }
        match (
            &self.inner.out,
            crate::subscriptions::event_notification(e, None),
        ) {
            (Some(out), Some(b)) if !self.inner.version.is_modern() => out.send(Bytes::from(b)),
            _ => false,
        }
    }

    /// Reports progress if the client asked for it (`_meta.progressToken`). Values that do not
    /// increase are dropped, since the spec requires progress to grow with every notification.
    pub fn progress(&self, progress: f64, total: Option<f64>, message: Option<&str>) {
        let Some(token) = &self.inner.progress_token else {
            return;
        };
        {
            let mut last = self
                .inner
                .last_progress
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            if last.is_some_and(|l| progress <= l) {
                return;
            }
            *last = Some(progress);
        }
        self.send(
            methods::NOTIFICATION_PROGRESS,
            &ProgressParams {
                progress_token: token.clone(),
                progress,
                total,
                message: message.map(str::to_owned),
            },
        );
    }

    /// Sends a log message if the client's level lets it through.
    pub fn log(&self, level: LoggingLevel, logger: Option<&str>, data: Value) {
        let Some(min) = self.inner.log_level else {
            return;
        };
        if level < min {
            return;
        }
        self.send(
            methods::NOTIFICATION_MESSAGE,
            &LoggingMessageParams {
                level,
                logger: logger.map(str::to_owned),
                data,
            },
        );
    }

    /// Closes the current SSE connection of a legacy request without ending the request
    /// (SEP-1699 polling): the client reconnects with `Last-Event-ID` and gets the rest. A no-op
    /// where streams are not resumable.
    pub fn close_sse_stream(&self) {
        if let Some(out) = &self.inner.out {
            out.send(Bytes::new());
        }
    }

    /// Asks the client to fill in a form or open a URL.
    pub async fn elicit(&self, params: ElicitParams) -> Result<ElicitResult, HandlerError> {
        self.elicit_keyed(None, params).await
    }

    /// [`elicit`](Self::elicit) under a chosen `inputRequests` key (2026-07-28).
    pub async fn elicit_keyed(
        &self,
        key: Option<&str>,
        params: ElicitParams,
    ) -> Result<ElicitResult, HandlerError> {
        let caps = self.client_capabilities();
        let url_mode = params.mode.as_deref() == Some("url");
        let supported = if url_mode {
            caps.elicitation_url()
        } else {
            caps.elicitation_form()
        };
        if !supported {
            return Err(HandlerError::failed(
                "the client did not declare the elicitation capability this needs",
            ));
        }
        self.typed_request(methods::ELICITATION_CREATE, to_value(&params)?, key)
            .await
    }

    /// Asks the client's model for a completion.
    pub async fn sample(
        &self,
        params: CreateMessageParams,
    ) -> Result<CreateMessageResult, HandlerError> {
        self.sample_keyed(None, params).await
    }

    /// [`sample`](Self::sample) under a chosen `inputRequests` key (2026-07-28).
    pub async fn sample_keyed(
        &self,
        key: Option<&str>,
        params: CreateMessageParams,
    ) -> Result<CreateMessageResult, HandlerError> {
        if self.client_capabilities().sampling.is_none() {
            return Err(HandlerError::failed(
                "the client did not declare the sampling capability",
            ));
        }
        self.typed_request(methods::SAMPLING_CREATE_MESSAGE, to_value(&params)?, key)
            .await
    }

    /// Asks the client for its roots.
    pub async fn list_roots(&self) -> Result<ListRootsResult, HandlerError> {
        self.list_roots_keyed(None).await
    }

    /// [`list_roots`](Self::list_roots) under a chosen `inputRequests` key (2026-07-28).
    pub async fn list_roots_keyed(
        &self,
        key: Option<&str>,
    ) -> Result<ListRootsResult, HandlerError> {
        if self.client_capabilities().roots.is_none() {
            return Err(HandlerError::failed(
                "the client did not declare the roots capability",
            ));
        }
        self.typed_request(methods::ROOTS_LIST, Value::Object(Map::new()), key)
            .await
    }

    /// Sends several input requests at once and returns the answers in order. In the 2026-07-28
    /// era all unanswered ones go out together in one `input_required` result.
    pub async fn input_requests(
        &self,
        requests: Vec<(String, String, Value)>,
    ) -> Result<Vec<Value>, HandlerError> {
        if self.inner.version.is_modern() {
            let mut st = self.inner.mrtr.lock().unwrap_or_else(|p| p.into_inner());
            let mut answers = Vec::with_capacity(requests.len());
            for (key, method, params) in requests {
                st.count += 1;
                match st.responses.get(&key) {
                    Some(v) if answer_shape_ok(&method, v) => answers.push(v.clone()),
                    _ => {
                        let mut req = Map::new();
                        req.insert("method".into(), Value::String(method));
                        req.insert("params".into(), params);
                        st.pending.insert(key, Value::Object(req));
                    }
                }
            }
            if st.pending.is_empty() {
                return Ok(answers);
            }
            return Err(HandlerError::InputRequired);
        }
        let mut out = Vec::with_capacity(requests.len());
        for (key, method, params) in requests {
            out.push(self.input_request(&method, params, Some(&key)).await?);
        }
        Ok(out)
    }

    async fn typed_request<T: serde::de::DeserializeOwned>(
        &self,
        method: &str,
        params: Value,
        key: Option<&str>,
    ) -> Result<T, HandlerError> {
        let modern = self.inner.version.is_modern();
        let v = self.input_request(method, params.clone(), key).await?;
        match serde_json::from_value::<T>(v) {
            Ok(t) => Ok(t),
            // An answer of the wrong shape counts as no answer: ask again rather than fail.
            Err(_) if modern => {
                let mut st = self.inner.mrtr.lock().unwrap_or_else(|p| p.into_inner());
                let key = key.map_or_else(|| format!("{method}#{}", st.count), str::to_owned);
                st.responses.remove(&key);
                let mut req = Map::new();
                req.insert("method".into(), Value::String(method.to_owned()));
                req.insert("params".into(), params);
                st.pending.insert(key, Value::Object(req));
                Err(HandlerError::InputRequired)
            }
            Err(e) => Err(HandlerError::failed(format!(
                "the client's answer was malformed: {e}"
            ))),
        }
    }

    /// Sends any server-to-client request and returns the client's raw answer.
    ///
    /// In the legacy era this is a JSON-RPC request on the request's SSE stream. In the
    /// 2026-07-28 era it becomes an entry of `inputRequests` under `key` (default
    /// `"<method>#<n>"`); the handler returns [`HandlerError::InputRequired`] through `?`, and is
    /// run again when the client retries with the answers.
    pub async fn input_request(
        &self,
        method: &str,
        params: Value,
        key: Option<&str>,
    ) -> Result<Value, HandlerError> {
        if self.inner.version.is_modern() {
            let mut st = self.inner.mrtr.lock().unwrap_or_else(|p| p.into_inner());
            st.count += 1;
            let key = key.map_or_else(|| format!("{method}#{}", st.count), str::to_owned);
            if let Some(v) = st.responses.get(&key) {
                return Ok(v.clone());
            }
            let mut req = Map::new();
            req.insert("method".into(), Value::String(method.to_owned()));
            req.insert("params".into(), params);
            st.pending.insert(key, Value::Object(req));
            return Err(HandlerError::InputRequired);
        }
        let (Some(peer), Some(Out::Channel(out))) = (&self.inner.peer, &self.inner.out) else {
            return Err(HandlerError::failed(
                "this transport cannot carry server-to-client requests",
            ));
        };
        let rx = peer.request(method, params, out);
        tokio::select! {
            r = rx => match r {
                Ok(Ok(v)) => Ok(v),
                Ok(Err(e)) => Err(HandlerError::Protocol(e)),
                Err(_) => Err(HandlerError::failed("the client went away before answering")),
            },
            () = self.inner.cancel.cancelled() => Err(HandlerError::Cancelled),
        }
    }

    /// Takes the unanswered input requests this execution made (2026-07-28).
    pub(crate) fn take_pending_inputs(&self) -> Map<String, Value> {
        let mut st = self.inner.mrtr.lock().unwrap_or_else(|p| p.into_inner());
        std::mem::take(&mut st.pending)
    }

    /// The answers known so far (2026-07-28), to seal into the next `requestState`.
    pub(crate) fn known_responses(&self) -> Map<String, Value> {
        let st = self.inner.mrtr.lock().unwrap_or_else(|p| p.into_inner());
        st.responses.clone()
    }
}

/// Whether an answer has the shape its method's result needs (an object with the key fields).
fn answer_shape_ok(method: &str, v: &Value) -> bool {
    let Some(o) = v.as_object() else { return false };
    match method {
        methods::ELICITATION_CREATE => o.get("action").is_some_and(Value::is_string),
        methods::SAMPLING_CREATE_MESSAGE => o.contains_key("content") && o.contains_key("role"),
        methods::ROOTS_LIST => o.get("roots").is_some_and(Value::is_array),
        _ => true,
    }
}

fn to_value<T: serde::Serialize>(v: &T) -> Result<Value, HandlerError> {
    serde_json::to_value(v).map_err(|e| HandlerError::internal(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use std::task::{Context, Poll, Wake, Waker};

    struct Count(AtomicUsize);
    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn outbox_delivers_in_order_and_wakes_its_reader() {
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let waker = Waker::from(count.clone());
        let mut cx = Context::from_waker(&waker);
        let out = Out::Inline(Outbox::default());
        let Out::Inline(b) = &out else { unreachable!() };
        assert!(b.poll_recv(&mut cx).is_pending());
        assert!(out.send(Bytes::from_static(b"one")));
        assert_eq!(
            count.0.load(Ordering::SeqCst),
            1,
            "a waiting reader is woken"
        );
        assert!(out.send(Bytes::from_static(b"two")));
        assert_eq!(
            b.poll_recv(&mut cx),
            Poll::Ready(Bytes::from_static(b"one"))
        );
        assert_eq!(b.try_recv(), Some(Bytes::from_static(b"two")));
        assert_eq!(b.try_recv(), None);
    }

    #[test]
    fn a_channel_reports_a_gone_receiver() {
        let (tx, rx) = mpsc::unbounded_channel();
        let out = Out::from(tx);
        assert!(out.send(Bytes::new()));
        drop(rx);
        assert!(!out.send(Bytes::new()));
    }
}
