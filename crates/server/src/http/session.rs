//! Legacy (2025-11-25 and older) sessions: created by `initialize`, named by `Mcp-Session-Id`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use bytes::Bytes;
use serde_json::Value;
use switchyard_protocol::jsonrpc::{ErrorObject, RequestId};
use switchyard_protocol::types::{ClientCapabilities, Implementation, LoggingLevel};
use switchyard_protocol::ProtocolVersion;
use tokio::sync::mpsc;

use super::sse::{EventStore, ResumableStream};
use crate::context::{CancelToken, PendingRequests};

/// Finished response streams a session keeps resumable. A client resumes right after a
/// dropped connection, so a handful is plenty; more would let a long session grow without bound.
pub const RESUMABLE_FINISHED_STREAMS: usize = 16;

/// One legacy session.
pub(crate) struct Session {
    pub(crate) id: Arc<str>,
    pub(crate) version: ProtocolVersion,
    pub(crate) client_capabilities: Arc<ClientCapabilities>,
    #[allow(dead_code)] // Kept for diagnostics and future per-client policy.
    pub(crate) client_info: Implementation,
    pub(crate) initialized: AtomicBool,
    pub(crate) log_level: Mutex<Option<LoggingLevel>>,
    pub(crate) subscriptions: Mutex<Vec<String>>,
    pub(crate) peer: Arc<PendingRequests>,
    next_stream: AtomicU64,
    pub(crate) in_flight: Mutex<HashMap<RequestId, CancelToken>>,
    pub(crate) streams: Mutex<HashMap<u64, Arc<ResumableStream>>>,
    finished: Mutex<std::collections::VecDeque<u64>>,
    pub(crate) standalone: Mutex<Option<mpsc::UnboundedSender<Bytes>>>,
    last_seen: Mutex<Instant>,
    pub(crate) store: Arc<dyn EventStore>,
}

impl Session {
    pub(crate) fn touch(&self) {
        *self.last_seen.lock().unwrap_or_else(|p| p.into_inner()) = Instant::now();
    }

    fn idle_for(&self) -> Duration {
        self.last_seen
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .elapsed()
    }

    /// Opens a new resumable stream for a POST response or the GET stream.
    pub(crate) fn open_stream(&self) -> Arc<ResumableStream> {
        let n = self.next_stream.fetch_add(1, Ordering::Relaxed);
        let s = ResumableStream::new(self.id.clone(), n, self.store.clone());
        self.streams
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(n, s.clone());
        s
    }

    /// Marks a stream finished; beyond the last [`RESUMABLE_FINISHED_STREAMS`] finished ones,
    /// the oldest is forgotten together with its stored events, so a long session's memory
    /// stays bounded.
    pub(crate) fn retire_stream(&self, n: u64) {
        let evicted = {
            let mut f = self.finished.lock().unwrap_or_else(|p| p.into_inner());
            f.push_back(n);
            if f.len() > RESUMABLE_FINISHED_STREAMS {
                f.pop_front()
            } else {
                None
            }
        };
        if let Some(old) = evicted {
            self.streams
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&old);
            self.store.remove_stream(&self.id, old);
        }
    }

    /// Number of streams the session still holds (for tests and metrics).
    pub(crate) fn stream_count(&self) -> usize {
        self.streams.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    pub(crate) fn stream(&self, n: u64) -> Option<Arc<ResumableStream>> {
        self.streams
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&n)
            .cloned()
    }

    /// Routes a client's answer to a server-to-client request. Returns false if nothing waited.
    pub(crate) fn answer(&self, id: &RequestId, r: Result<Value, ErrorObject>) -> bool {
        self.peer.answer(id, r)
    }

    /// Sends a message on the standalone (GET) stream, if one is open.
    pub(crate) fn send_standalone(&self, data: Bytes) -> bool {
        let mut g = self.standalone.lock().unwrap_or_else(|p| p.into_inner());
        match &*g {
            Some(tx) if tx.send(data).is_ok() => true,
            Some(_) => {
                *g = None;
                false
            }
            None => false,
        }
    }
}

/// All live sessions.
pub(crate) struct Sessions {
    map: RwLock<HashMap<Arc<str>, Arc<Session>>>,
    idle_timeout: Duration,
    max_sessions: usize,
    store: Arc<dyn EventStore>,
}

/// Why a session could not be created.
#[derive(Debug)]
pub(crate) struct TooManySessions;

fn new_session_id() -> String {
    // 128 bits from the OS CSPRNG; base64url is visible ASCII (0x21–0x7E) as the spec requires.
    let bytes: [u8; 16] = rand::random();
    URL_SAFE_NO_PAD.encode(bytes)
}

impl Sessions {
    pub(crate) fn new(
        idle_timeout: Duration,
        max_sessions: usize,
        store: Arc<dyn EventStore>,
    ) -> Self {
        Self {
            map: RwLock::new(HashMap::new()),
            idle_timeout,
            max_sessions,
            store,
        }
    }

    pub(crate) fn create(
        &self,
        version: ProtocolVersion,
        caps: ClientCapabilities,
        info: Implementation,
    ) -> Result<Arc<Session>, TooManySessions> {
        let id: Arc<str> = Arc::from(new_session_id());
        let s = Arc::new(Session {
            id: id.clone(),
            version,
            client_capabilities: Arc::new(caps),
            client_info: info,
            initialized: AtomicBool::new(false),
            log_level: Mutex::new(None),
            subscriptions: Mutex::new(Vec::new()),
            peer: Arc::new(PendingRequests::default()),
            next_stream: AtomicU64::new(0),
            in_flight: Mutex::new(HashMap::new()),
            streams: Mutex::new(HashMap::new()),
            finished: Mutex::new(std::collections::VecDeque::new()),
            standalone: Mutex::new(None),
            last_seen: Mutex::new(Instant::now()),
            store: self.store.clone(),
        });
        let mut m = self.map.write().unwrap_or_else(|p| p.into_inner());
        if m.len() >= self.max_sessions {
            return Err(TooManySessions);
        }
        m.insert(id, s.clone());
        Ok(s)
    }

    pub(crate) fn get(&self, id: &str) -> Option<Arc<Session>> {
        let s = self
            .map
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(id)
            .cloned()?;
        if s.idle_for() > self.idle_timeout {
            self.remove(id);
            return None;
        }
        s.touch();
        Some(s)
    }

    pub(crate) fn remove(&self, id: &str) -> bool {
        let s = self
            .map
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(id);
        match s {
            Some(s) => {
                for t in s
                    .in_flight
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .values()
                {
                    t.cancel();
                }
                *s.standalone.lock().unwrap_or_else(|p| p.into_inner()) = None;
                self.store.remove_session(id);
                true
            }
            None => false,
        }
    }

    /// Drops sessions idle for longer than the timeout.
    pub(crate) fn sweep(&self) -> usize {
        let expired: Vec<Arc<str>> = self
            .map
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .filter(|(_, s)| s.idle_for() > self.idle_timeout)
            .map(|(k, _)| k.clone())
            .collect();
        for k in &expired {
            self.remove(k);
        }
        expired.len()
    }

    pub(crate) fn len(&self) -> usize {
        self.map.read().unwrap_or_else(|p| p.into_inner()).len()
    }
}
