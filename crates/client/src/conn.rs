//! A persistent message connection (stdio child, 2024-11-05 HTTP+SSE): requests matched to
//! responses by id, server-to-client requests answered by the handler.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::{Map, Value};
use switchyard_protocol::jsonrpc::{self, ErrorObject, Message, RequestId};
use switchyard_protocol::types::methods;
use tokio::sync::oneshot;

use crate::handler::{dispatch, BoxFuture, ClientHandler};
use crate::{ClientError, ProgressFn};

type Sender = Box<dyn Fn(Vec<u8>) -> BoxFuture<'static, Result<(), ClientError>> + Send + Sync>;

/// One connection's request bookkeeping.
pub(crate) struct MsgConn {
    send: Sender,
    pending: Mutex<HashMap<RequestId, oneshot::Sender<Result<Value, ErrorObject>>>>,
    progress: Mutex<HashMap<String, ProgressFn>>,
    handler: Arc<dyn ClientHandler>,
    next_id: AtomicI64,
    closed: AtomicBool,
    close_reason: Mutex<Option<String>>,
}

impl MsgConn {
    pub(crate) fn new(send: Sender, handler: Arc<dyn ClientHandler>) -> Arc<Self> {
        Arc::new(Self {
            send,
            pending: Mutex::new(HashMap::new()),
            progress: Mutex::new(HashMap::new()),
            handler,
            next_id: AtomicI64::new(1),
            closed: AtomicBool::new(false),
            close_reason: Mutex::new(None),
        })
    }

    fn closed_error(&self) -> ClientError {
        let why = self
            .close_reason
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .unwrap_or_else(|| "closed".into());
        ClientError::Closed(why)
    }

    /// Sends a request and waits for its response.
    pub(crate) async fn request(
        &self,
        method: &str,
        params: Option<Value>,
        progress: Option<ProgressFn>,
    ) -> Result<Value, ClientError> {
        if self.closed.load(Ordering::Acquire) {
            return Err(self.closed_error());
        }
        let id = RequestId::Number(self.next_id.fetch_add(1, Ordering::Relaxed));
        let mut params = params;
        if let Some(p) = progress {
            let token = format!("p{id}");
            let obj = params.get_or_insert_with(|| Value::Object(Map::new()));
            if let Some(o) = obj.as_object_mut() {
                let meta = o
                    .entry("_meta")
                    .or_insert_with(|| Value::Object(Map::new()));
                if let Some(m) = meta.as_object_mut() {
                    m.insert("progressToken".into(), Value::String(token.clone()));
                }
            }
            self.progress
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(token, p);
        }
        let (tx, rx) = oneshot::channel();
        self.pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id.clone(), tx);
        let mut buf = Vec::with_capacity(128);
        jsonrpc::write_request(&mut buf, &id, method, params.as_ref())
            .map_err(|e| ClientError::Usage(e.to_string()))?;
        let guard = Cleanup {
            conn: self,
            id: &id,
        };
        (self.send)(buf).await?;
        let r = rx.await;
        drop(guard);
        match r {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(ClientError::Rpc(e)),
            Err(_) => Err(self.closed_error()),
        }
    }

    /// Sends a notification.
    pub(crate) async fn notify(
        &self,
        method: &str,
        params: Option<Value>,
    ) -> Result<(), ClientError> {
        let mut buf = Vec::with_capacity(64);
        jsonrpc::write_notification(&mut buf, method, params.as_ref())
            .map_err(|e| ClientError::Usage(e.to_string()))?;
        (self.send)(buf).await
    }

    /// Feeds one incoming message.
    pub(crate) fn on_incoming(self: &Arc<Self>, bytes: &[u8]) {
        let Ok(msg) = jsonrpc::parse_message(bytes) else {
            tracing::debug!("ignoring a malformed message from the server");
            return;
        };
        match msg {
            Message::Response(r) => {
                let v = serde_json::from_str(r.result.get()).unwrap_or(Value::Null);
                self.complete(&r.id, Ok(v));
            }
            Message::Error(e) => {
                if let Some(id) = &e.id {
                    self.complete(id, Err(e.error));
                }
            }
            Message::Notification(n) => {
                let params: Value = n
                    .params
                    .as_deref()
                    .and_then(|p| serde_json::from_str(p.get()).ok())
                    .unwrap_or(Value::Null);
                if n.method == methods::NOTIFICATION_PROGRESS {
                    deliver_progress(&self.progress, &params);
                }
                self.handler.notification(&n.method, &params);
            }
            Message::Request(r) => {
                let this = self.clone();
                tokio::spawn(async move {
                    let params: Value = r
                        .params
                        .as_deref()
                        .and_then(|p| serde_json::from_str(p.get()).ok())
                        .unwrap_or(Value::Null);
                    let answer = dispatch(&*this.handler, &r.method, params).await;
                    let mut buf = Vec::with_capacity(128);
                    match answer {
                        Ok(v) => {
                            let _ = jsonrpc::write_response(&mut buf, &r.id, &v);
                        }
                        Err(e) => jsonrpc::write_error(&mut buf, Some(&r.id), &e),
                    }
                    let _ = (this.send)(buf).await;
                });
            }
        }
    }

    fn complete(&self, id: &RequestId, r: Result<Value, ErrorObject>) {
        let tx = self
            .pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(id);
        if let Some(tx) = tx {
            let _ = tx.send(r);
        }
    }

    /// Fails every pending request: the peer is gone.
    pub(crate) fn close(&self, why: &str) {
        self.closed.store(true, Ordering::Release);
        *self.close_reason.lock().unwrap_or_else(|p| p.into_inner()) = Some(why.to_owned());
        self.pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }
}

struct Cleanup<'a> {
    conn: &'a MsgConn,
    id: &'a RequestId,
}

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        self.conn
            .pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(self.id);
        self.conn
            .progress
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&format!("p{}", self.id));
    }
}

/// Calls the progress callback registered for the notification's token.
pub(crate) fn deliver_progress(map: &Mutex<HashMap<String, ProgressFn>>, params: &Value) {
    let Some((token, p)) = crate::Progress::from_params(params) else {
        return;
    };
    let f = map
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get(&token)
        .cloned();
    if let Some(f) = f {
        f(p);
    }
}
