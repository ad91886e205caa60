//! The 2024-11-05 HTTP+SSE transport, for clients that predate Streamable HTTP: `GET /sse` opens
//! an event stream whose first `endpoint` event names the POST URL; responses come back on the
//! stream. Off unless mounted.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use tokio::sync::mpsc;

use crate::conn::Conn;
use crate::http::{McpBody, OriginPolicy};
use crate::Server;

/// Largest message accepted on the POST endpoint.
pub const MAX_MESSAGE_BYTES: usize = 4 * 1024 * 1024;

#[derive(Clone)]
struct LegacyState {
    server: Server,
    origin: OriginPolicy,
    conns: Arc<Mutex<HashMap<String, Arc<Conn>>>>,
    post_path: String,
}

/// Routes for the 2024-11-05 transport: `GET {sse_path}` and `POST {post_path}?sessionId=…`.
pub fn router(server: Server, origin: OriginPolicy, sse_path: &str, post_path: &str) -> Router {
    let state = LegacyState {
        server,
        origin,
        conns: Arc::new(Mutex::new(HashMap::new())),
        post_path: post_path.to_owned(),
    };
    Router::new()
        .route(sse_path, get(open))
        .route(post_path, post(message))
        .with_state(state)
}

async fn open(State(st): State<LegacyState>, headers: HeaderMap) -> Response {
    if st.origin.check(&headers).is_err() {
        return StatusCode::FORBIDDEN.into_response();
    }
    let id = {
        use base64::Engine as _;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(rand::random::<[u8; 16]>())
    };
    let (tx, mut rx) = mpsc::unbounded_channel::<bytes::Bytes>();
    let (sse_tx, sse_rx) = mpsc::unbounded_channel::<bytes::Bytes>();
    let _ = sse_tx.send(bytes::Bytes::from(format!(
        "event: endpoint\ndata: {}?sessionId={id}\n\n",
        st.post_path
    )));
    let conn = Conn::new(
        st.server.clone(),
        tx,
        switchyard_protocol::limits::DEFAULT_MAX_DEPTH,
    );
    st.conns
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(id.clone(), conn.clone());
    let conns = st.conns.clone();
    let mut events = st.server.subscribe();
    tokio::spawn(async move {
        loop {
            tokio::select! {
                m = rx.recv() => match m {
                    Some(m) if m.is_empty() => {}
                    Some(m) => {
                        let mut f = Vec::with_capacity(m.len() + 24);
                        f.extend_from_slice(b"event: message\ndata: ");
                        f.extend_from_slice(&m);
                        f.extend_from_slice(b"\n\n");
                        if sse_tx.send(f.into()).is_err() { break; }
                    }
                    None => break,
                },
                Ok(e) = events.recv() => conn.on_event(&e),
                () = sse_tx.closed() => break,
            }
        }
        conns.lock().unwrap_or_else(|p| p.into_inner()).remove(&id);
    });
    let body = McpBody::stream(futures_util::stream::unfold(sse_rx, |mut rx| async move {
        rx.recv().await.map(|b| (b, rx))
    }));
    let mut r = Response::new(axum::body::Body::new(body));
    r.headers_mut().insert(
        "content-type",
        axum::http::HeaderValue::from_static("text/event-stream"),
    );
    r.headers_mut().insert(
        "cache-control",
        axum::http::HeaderValue::from_static("no-cache"),
    );
    r
}

#[derive(Deserialize)]
struct Q {
    #[serde(rename = "sessionId")]
    session_id: String,
}

async fn message(
    State(st): State<LegacyState>,
    Query(q): Query<Q>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if st.origin.check(&headers).is_err() {
        return StatusCode::FORBIDDEN.into_response();
    }
    if body.len() > MAX_MESSAGE_BYTES {
        return StatusCode::PAYLOAD_TOO_LARGE.into_response();
    }
    let conn = st
        .conns
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get(&q.session_id)
        .cloned();
    match conn {
        Some(c) => {
            c.on_message(&body);
            StatusCode::ACCEPTED.into_response()
        }
        None => StatusCode::NOT_FOUND.into_response(),
    }
}
