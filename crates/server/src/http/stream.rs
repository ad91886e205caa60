//! Responses that may stream: a POST answered as JSON or SSE, legacy GET streams and resumption,
//! 2026-07-28 `subscriptions/listen`, and DELETE.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::Stream;
use http::{Request, Response, StatusCode};

use switchyard_protocol::jsonrpc::{self, ErrorObject, RequestId};
use switchyard_protocol::types::SubscriptionsListenParams;
use switchyard_protocol::{meta, ErrorCode, ProtocolVersion};
use tokio::sync::{broadcast, mpsc};

use super::checks::accepts;
use super::post::{modern_status, response_bytes, sse_complete};
use super::session::Session;
use super::sse::{frame, ResumableStream, KEEPALIVE};
use super::{empty_response, error_response, json_response, sse_response, McpBody, McpService};
use crate::context::{Out, Outbox};
use crate::handler::BoxFuture;
use crate::server::{Reply, ServerEvent};
use crate::subscriptions::{event_notification, Subscription};
use crate::RequestContext;

/// Answers a 2026-07-28 request: JSON when the handler finishes without emitting anything, SSE
/// (progress, logs, then the result) otherwise. Dropping the SSE body drops the handler: closing
/// the stream is how a modern client cancels. The handler's notifications are read from the
/// inline outbox of `ctx` (none when the client did not accept SSE).
pub(super) async fn modern_sse(
    id: RequestId,
    mut fut: BoxFuture<Reply>,
    ctx: RequestContext,
) -> Response<McpBody> {
    // The handler first, then its notifications: a result that is ready wins.
    let first = std::future::poll_fn(|cx| {
        if let Poll::Ready(reply) = fut.as_mut().poll(cx) {
            return Poll::Ready(Err(reply));
        }
        match outbox(&ctx) {
            Some(b) => b.poll_recv(cx).map(Ok),
            None => Poll::Pending,
        }
    })
    .await;
    match first {
        Err(reply) => {
            let status = match &reply {
                Err(e) => modern_status(e.code),
                Ok(_) => StatusCode::OK,
            };
            let bytes = response_bytes(&id, &reply);
            let mut early = Vec::new();
            if let Some(b) = outbox(&ctx) {
                while let Some(m) = b.try_recv() {
                    if !m.is_empty() {
                        early.push(frame(None, &m));
                    }
                }
            }
            if early.is_empty() || status != StatusCode::OK {
                json_response(status, bytes)
            } else {
                early.push(frame(None, &bytes));
                sse_complete(early)
            }
        }
        Ok(first) => sse_response(McpBody::stream(InlineSse {
            first: Some(frame(None, &first)),
            fut: Some(fut),
            ctx,
            id,
        })),
    }
}

fn outbox(ctx: &RequestContext) -> Option<&Outbox> {
    match &ctx.inner.out {
        Some(Out::Inline(b)) => Some(b),
        _ => None,
    }
}

/// An SSE body that drives its handler: notifications as they come, then the response.
struct InlineSse {
    first: Option<Bytes>,
    fut: Option<BoxFuture<Reply>>,
    ctx: RequestContext,
    id: RequestId,
}

impl Stream for InlineSse {
    type Item = Bytes;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Bytes>> {
        if let Some(f) = self.first.take() {
            return Poll::Ready(Some(f));
        }
        if self.fut.is_none() {
            return Poll::Ready(None);
        }
        // Notifications queued before completion must precede the response.
        if let Some(b) = outbox(&self.ctx) {
            while let Poll::Ready(m) = b.poll_recv(cx) {
                if !m.is_empty() {
                    return Poll::Ready(Some(frame(None, &m)));
                }
            }
        }
        let this = &mut *self;
        let Some(fut) = this.fut.as_mut() else {
            return Poll::Ready(None);
        };
        match fut.as_mut().poll(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(reply) => {
                this.fut = None;
                let mut out = Vec::new();
                if let Some(b) = outbox(&this.ctx) {
                    while let Some(m) = b.try_recv() {
                        if !m.is_empty() {
                            out.extend_from_slice(&frame(None, &m));
                        }
                    }
                }
                out.extend_from_slice(&frame(None, &response_bytes(&this.id, &reply)));
                Poll::Ready(Some(Bytes::from(out)))
            }
        }
    }
}

/// Answers a legacy request: JSON when nothing is emitted before the result; otherwise a
/// resumable SSE stream, driven by a task so that a dropped connection does not cancel the
/// request (the client resumes with `Last-Event-ID`).
pub(super) async fn legacy_sse(
    svc: &McpService,
    s: Arc<Session>,
    id: RequestId,
    mut fut: BoxFuture<Option<Reply>>,
    mut rx: mpsc::UnboundedReceiver<Bytes>,
) -> Response<McpBody> {
    let first = tokio::select! {
        biased;
        reply = &mut fut => {
            s.in_flight.lock().unwrap_or_else(|p| p.into_inner()).remove(&id);
            let reply = reply.unwrap_or_else(|| Err(ErrorObject::new(ErrorCode::INTERNAL_ERROR, "request cancelled")));
            let bytes = response_bytes(&id, &reply);
            let mut early = Vec::new();
            while let Ok(m) = rx.try_recv() {
                if !m.is_empty() {
                    early.push(frame(None, &m));
                }
            }
            if early.is_empty() {
                return json_response(StatusCode::OK, bytes);
            }
            early.push(frame(None, &bytes));
            return sse_complete(early);
        }
        Some(first) = rx.recv() => first,
    };
    let stream = s.open_stream();
    let priming = (s.version >= ProtocolVersion::V2025_11_25)
        .then(|| stream.prime(svc.shared.cfg.sse_retry_ms));
    let conn = stream.attach(Vec::new());
    // An empty message is the handler's request to close this connection (see
    // `RequestContext::close_sse_stream`); the stream itself lives on.
    if first.is_empty() {
        stream.detach();
    } else {
        stream.push(&first);
    }
    let task_stream = stream.clone();
    let session = s.clone();
    tokio::spawn(async move {
        loop {
            tokio::select! {
                biased;
                Some(m) = rx.recv() => if m.is_empty() { task_stream.detach() } else { task_stream.push(&m) },
                reply = &mut fut => {
                    while let Ok(m) = rx.try_recv() {
                        if !m.is_empty() {
                            task_stream.push(&m);
                        }
                    }
                    if let Some(reply) = reply {
                        task_stream.push(&response_bytes(&id, &reply));
                    }
                    break;
                }
            }
        }
        task_stream.finish();
        session
            .in_flight
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&id);
        // Finished streams stay resumable for a while (a client may have lost the tail),
        // but only the most recent few: older ones are dropped with their events.
        session.retire_stream(task_stream.id);
    });
    let body = futures_util::stream::iter(priming).chain_rx(conn);
    sse_response(McpBody::stream(body))
}

/// `stream::iter(x).chain(rx)` for an unbounded receiver, without pulling in tokio-stream.
trait ChainRx: Stream<Item = Bytes> + Sized {
    fn chain_rx(self, rx: mpsc::UnboundedReceiver<Bytes>) -> RxChain<Self> {
        RxChain {
            head: Some(self),
            rx,
        }
    }
}
impl<S: Stream<Item = Bytes>> ChainRx for S {}

struct RxChain<S> {
    head: Option<S>,
    rx: mpsc::UnboundedReceiver<Bytes>,
}

impl<S: Stream<Item = Bytes> + Unpin> Stream for RxChain<S> {
    type Item = Bytes;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Bytes>> {
        if let Some(h) = self.head.as_mut() {
            match Pin::new(h).poll_next(cx) {
                Poll::Ready(Some(b)) => return Poll::Ready(Some(b)),
                Poll::Ready(None) => self.head = None,
                Poll::Pending => return Poll::Pending,
            }
        }
        self.rx.poll_recv(cx)
    }
}

/// 2026-07-28 `subscriptions/listen`: an acknowledgement, then the change notifications the
/// filter asks for, each tagged with the subscription id, until the client closes the stream.
pub(super) async fn listen(
    svc: &McpService,
    r: jsonrpc::Request,
    acc: super::checks::Accepts,
    extensions: &http::Extensions,
) -> Response<McpBody> {
    let params: SubscriptionsListenParams =
        match r.params.as_deref().map(|p| serde_json::from_str(p.get())) {
            Some(Ok(p)) => p,
            _ => {
                return error_response(
                    StatusCode::OK,
                    Some(&r.id),
                    ErrorObject::new(
                        ErrorCode::INVALID_PARAMS,
                        "params.notifications is required",
                    ),
                )
            }
        };
    if !acc.sse {
        return error_response(
            StatusCode::NOT_ACCEPTABLE,
            Some(&r.id),
            ErrorObject::new(
                ErrorCode::INVALID_REQUEST,
                "subscriptions/listen needs text/event-stream",
            ),
        );
    }
    let sub = Subscription::new(&svc.shared.server, r.id, params.notifications);
    let (tx, rx) = mpsc::unbounded_channel();
    let _ = tx.send(frame(None, &sub.ack()));
    let ticks = tx.clone();
    let gone = tx.clone();
    // Who opened the stream, for events addressed to one caller.
    let opener = extensions.clone();
    spawn_event_pump(
        svc,
        move |ev| {
            let ev = match ev {
                ServerEvent::Targeted(audience, inner) if audience.accepts(&opener) => inner,
                ServerEvent::Targeted(..) => return true,
                other => other,
            };
            sub.notification_for(ev)
                .is_none_or(|b| tx.send(frame(None, &b)).is_ok())
        },
        move || ticks.send(Bytes::from_static(KEEPALIVE)).is_ok(),
        async move { gone.closed().await },
        || {},
    );
    sse_response(McpBody::stream(futures_util::stream::empty().chain_rx(rx)))
}

#[allow(clippy::result_large_err)] // The error is a ready response; boxing only moves the cost.
fn session_required(
    svc: &McpService,
    headers: &http::HeaderMap,
) -> Result<Arc<Session>, Response<McpBody>> {
    let Some(sid) = headers
        .get(meta::HEADER_SESSION_ID)
        .and_then(|v| v.to_str().ok())
    else {
        let mut r = error_response(
            StatusCode::METHOD_NOT_ALLOWED,
            None,
            ErrorObject::new(
                ErrorCode::INVALID_REQUEST,
                "GET and DELETE need a legacy session (Mcp-Session-Id)",
            ),
        );
        r.headers_mut()
            .insert(http::header::ALLOW, http::HeaderValue::from_static("POST"));
        return Err(r);
    };
    svc.shared.sessions.get(sid).ok_or_else(|| {
        error_response(
            StatusCode::NOT_FOUND,
            None,
            ErrorObject::new(ErrorCode::INVALID_REQUEST, "session not found or expired"),
        )
    })
}

/// GET: opens the session's server-to-client stream, or resumes a stream with `Last-Event-ID`.
pub(super) async fn get<B>(svc: &McpService, req: Request<B>) -> Response<McpBody> {
    let headers = req.headers();
    if !accepts(headers).sse {
        return error_response(
            StatusCode::NOT_ACCEPTABLE,
            None,
            ErrorObject::new(
                ErrorCode::INVALID_REQUEST,
                "Accept must list text/event-stream",
            ),
        );
    }
    let s = match session_required(svc, headers) {
        Ok(s) => s,
        Err(r) => return r,
    };
    if let Some(last) = headers
        .get(meta::HEADER_LAST_EVENT_ID)
        .and_then(|v| v.to_str().ok())
    {
        let Some((n, events)) = s.store.replay_after(&s.id, last) else {
            return error_response(
                StatusCode::NOT_FOUND,
                None,
                ErrorObject::new(
                    ErrorCode::INVALID_REQUEST,
                    "cannot resume: unknown or expired event id",
                ),
            );
        };
        let rx = match s.stream(n) {
            Some(stream) => stream.attach(events),
            None => {
                let (tx, rx) = mpsc::unbounded_channel();
                for (id, d) in events {
                    if !d.is_empty() {
                        let _ = tx.send(frame(Some(&id), &d));
                    }
                }
                rx
            }
        };
        return sse_response(McpBody::stream(futures_util::stream::empty().chain_rx(rx)));
    }
    let stream = {
        let mut g = s.standalone.lock().unwrap_or_else(|p| p.into_inner());
        if g.as_ref().is_some_and(|tx| !tx.is_closed()) {
            return error_response(
                StatusCode::CONFLICT,
                None,
                ErrorObject::new(
                    ErrorCode::INVALID_REQUEST,
                    "this session already has an open GET stream",
                ),
            );
        }
        let stream = s.open_stream();
        let (tx, mut rx) = mpsc::unbounded_channel::<Bytes>();
        *g = Some(tx);
        let fwd = stream.clone();
        // Messages for the standalone stream go through the resumable stream so they can be
        // replayed after a reconnect.
        tokio::spawn(async move {
            while let Some(m) = rx.recv().await {
                fwd.push(&m);
            }
            fwd.finish();
        });
        stream
    };
    let priming = stream.prime(svc.shared.cfg.sse_retry_ms);
    let conn = stream.attach(Vec::new());
    spawn_session_events(svc, &s, &stream);
    sse_response(McpBody::stream(
        futures_util::stream::iter([priming]).chain_rx(conn),
    ))
}

/// Forwards server events a legacy session cares about to its GET stream.
fn spawn_session_events(svc: &McpService, s: &Arc<Session>, stream: &Arc<ResumableStream>) {
    let weak = Arc::downgrade(s);
    let ticking = weak.clone();
    let (ticks, finished) = (stream.clone(), stream.clone());
    spawn_event_pump(
        svc,
        move |ev| {
            let Some(s) = weak.upgrade() else {
                return false;
            };
            let wanted = match ev {
                ServerEvent::ResourceUpdated(u) => s
                    .subscriptions
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .contains(u),
                _ => true,
            };
            !wanted
                || event_notification(ev, None).is_none_or(|b| s.send_standalone(Bytes::from(b)))
        },
        move || ticking.upgrade().is_some() && ticks.send_raw(Bytes::from_static(KEEPALIVE)),
        std::future::pending(),
        move || finished.finish(),
    );
}

/// Drives a long-lived stream: each server event and keep-alive tick goes to its callback until
/// one returns `false`, `gone` completes (the client left) or the server shuts down (then
/// `on_shutdown` runs).
fn spawn_event_pump(
    svc: &McpService,
    mut on_event: impl FnMut(&ServerEvent) -> bool + Send + 'static,
    mut on_tick: impl FnMut() -> bool + Send + 'static,
    gone: impl std::future::Future<Output = ()> + Send + 'static,
    on_shutdown: impl FnOnce() + Send + 'static,
) {
    let mut events = svc.shared.server.subscribe();
    let shutdown = svc.shared.shutdown.clone();
    let keepalive = svc.shared.cfg.keepalive;
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(keepalive);
        tick.tick().await;
        tokio::pin!(gone);
        loop {
            tokio::select! {
                ev = events.recv() => match ev {
                    Ok(ev) => if !on_event(&ev) { break },
                    Err(broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(broadcast::error::RecvError::Closed) => break,
                },
                _ = tick.tick() => if !on_tick() { break },
                () = &mut gone => break,
                () = shutdown.cancelled() => {
                    on_shutdown();
                    break;
                }
            }
        }
    });
}

/// DELETE: ends a legacy session.
pub(super) fn delete<B>(svc: &McpService, req: Request<B>) -> Response<McpBody> {
    let s = match session_required(svc, req.headers()) {
        Ok(s) => s,
        Err(r) => return r,
    };
    svc.shared.sessions.remove(&s.id);
    empty_response(StatusCode::OK)
}
