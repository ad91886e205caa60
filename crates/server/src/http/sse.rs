//! Server-sent events: framing, the resumable event store, and streams that outlive a connection.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use bytes::{BufMut, Bytes, BytesMut};
use tokio::sync::mpsc;

/// Most events kept per stream for replay; older ones are dropped (a client that is further
/// behind than this cannot resume and must retry its request).
pub const DEFAULT_MAX_EVENTS_PER_STREAM: usize = 1024;

/// Frames one JSON-RPC message as an SSE event, with an id when the stream is resumable.
pub(crate) fn frame(id: Option<&str>, data: &[u8]) -> Bytes {
    let mut b = BytesMut::with_capacity(data.len() + 48);
    b.put_slice(b"event: message\n");
    if let Some(id) = id {
        b.put_slice(b"id: ");
        b.put_slice(id.as_bytes());
        b.put_u8(b'\n');
    }
    b.put_slice(b"data: ");
    b.put_slice(data);
    b.put_slice(b"\n\n");
    b.freeze()
}

/// The priming event: an id and empty data, plus the reconnection delay.
pub(crate) fn priming(id: &str, retry_ms: u64) -> Bytes {
    Bytes::from(format!("id: {id}\nretry: {retry_ms}\ndata: \n\n"))
}

/// A keep-alive comment.
pub(crate) const KEEPALIVE: &[u8] = b": keep-alive\n\n";

/// Where resumable events are kept so a client can resume a stream with `Last-Event-ID`.
///
/// Event ids are `<stream>-<seq>`: unique within a session, and they name their stream so a
/// resume replays only that stream.
pub trait EventStore: Send + Sync + 'static {
    /// Stores an event of `stream` in `session` and returns its id.
    fn append(&self, session: &str, stream: u64, data: Bytes) -> String;
    /// The events of the stream named by `last_event_id` that came after it, oldest first, or
    /// `None` when the id is unknown or its events were already dropped.
    fn replay_after(
        &self,
        session: &str,
        last_event_id: &str,
    ) -> Option<(u64, Vec<(String, Bytes)>)>;
    /// Forgets one stream.
    fn remove_stream(&self, session: &str, stream: u64);
    /// Forgets everything of a session.
    fn remove_session(&self, session: &str);
}

/// Parses `<stream>-<seq>`.
pub fn parse_event_id(id: &str) -> Option<(u64, u64)> {
    let (s, n) = id.split_once('-')?;
    Some((s.parse().ok()?, n.parse().ok()?))
}

#[derive(Default)]
struct StreamLog {
    next_seq: u64,
    events: VecDeque<(u64, Bytes)>,
}

/// The default [`EventStore`]: in memory, bounded per stream.
pub struct MemoryEventStore {
    max_per_stream: usize,
    sessions: Mutex<HashMap<String, HashMap<u64, StreamLog>>>,
}

impl std::fmt::Debug for MemoryEventStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryEventStore")
            .field("max_per_stream", &self.max_per_stream)
            .finish_non_exhaustive()
    }
}

impl Default for MemoryEventStore {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_EVENTS_PER_STREAM)
    }
}

impl MemoryEventStore {
    /// A store keeping at most `max_per_stream` events per stream.
    pub fn new(max_per_stream: usize) -> Self {
        Self {
            max_per_stream: max_per_stream.max(1),
            sessions: Mutex::new(HashMap::new()),
        }
    }
}

impl EventStore for MemoryEventStore {
    fn append(&self, session: &str, stream: u64, data: Bytes) -> String {
        let mut s = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        let log = s
            .entry(session.to_owned())
            .or_default()
            .entry(stream)
            .or_default();
        let seq = log.next_seq;
        log.next_seq += 1;
        log.events.push_back((seq, data));
        while log.events.len() > self.max_per_stream {
            log.events.pop_front();
        }
        format!("{stream}-{seq}")
    }

    fn replay_after(
        &self,
        session: &str,
        last_event_id: &str,
    ) -> Option<(u64, Vec<(String, Bytes)>)> {
        let (stream, seq) = parse_event_id(last_event_id)?;
        let s = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        let log = s.get(session)?.get(&stream)?;
        // If the event after `seq` was already dropped, the client would silently miss it.
        if let Some((first, _)) = log.events.front() {
            if *first > seq + 1 {
                return None;
            }
        }
        let events = log
            .events
            .iter()
            .filter(|(n, _)| *n > seq)
            .map(|(n, d)| (format!("{stream}-{n}"), d.clone()))
            .collect();
        Some((stream, events))
    }

    fn remove_stream(&self, session: &str, stream: u64) {
        let mut s = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(m) = s.get_mut(session) {
            m.remove(&stream);
        }
    }

    fn remove_session(&self, session: &str) {
        let mut s = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        s.remove(session);
    }
}

/// A resumable stream of a legacy session: events are stored, then delivered to whichever
/// connection is attached now. A connection that drops leaves the stream running.
pub(crate) struct ResumableStream {
    pub(crate) id: u64,
    session: Arc<str>,
    store: Arc<dyn EventStore>,
    state: Mutex<LiveState>,
}

struct LiveState {
    conn: Option<mpsc::UnboundedSender<Bytes>>,
    finished: bool,
}

impl ResumableStream {
    pub(crate) fn new(session: Arc<str>, id: u64, store: Arc<dyn EventStore>) -> Arc<Self> {
        Arc::new(Self {
            id,
            session,
            store,
            state: Mutex::new(LiveState {
                conn: None,
                finished: false,
            }),
        })
    }

    /// Stores a message and sends it to the attached connection, if any.
    pub(crate) fn push(&self, data: &[u8]) {
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let id = self
            .store
            .append(&self.session, self.id, Bytes::copy_from_slice(data));
        if let Some(c) = &st.conn {
            if c.send(frame(Some(&id), data)).is_err() {
                st.conn = None;
            }
        }
    }

    /// Stores the priming event (empty data) and returns its frame.
    pub(crate) fn prime(&self, retry_ms: u64) -> Bytes {
        let id = self.store.append(&self.session, self.id, Bytes::new());
        priming(&id, retry_ms)
    }

    /// Attaches a new connection, first replaying `replay` under the same lock so no event falls
    /// between the replay and the live feed.
    pub(crate) fn attach(&self, replay: Vec<(String, Bytes)>) -> mpsc::UnboundedReceiver<Bytes> {
        let (tx, rx) = mpsc::unbounded_channel();
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        for (id, data) in replay {
            if !data.is_empty() {
                let _ = tx.send(frame(Some(&id), &data));
            }
        }
        if !st.finished {
            st.conn = Some(tx);
        }
        rx
    }

    /// Sends bytes that are not stored (keep-alive comments). False once the stream finished.
    pub(crate) fn send_raw(&self, data: Bytes) -> bool {
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if st.finished {
            return false;
        }
        if let Some(c) = &st.conn {
            if c.send(data).is_err() {
                st.conn = None;
            }
        }
        true
    }

    /// Detaches the current connection (the server chose to close it; the client will resume).
    pub(crate) fn detach(&self) {
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        st.conn = None;
    }

    /// Marks the stream complete and closes the attached connection.
    pub(crate) fn finish(&self) {
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        st.finished = true;
        st.conn = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replay_returns_only_later_events_of_that_stream() {
        let s = MemoryEventStore::default();
        let a0 = s.append("s", 1, Bytes::from_static(b"a0"));
        let _a1 = s.append("s", 1, Bytes::from_static(b"a1"));
        let _b0 = s.append("s", 2, Bytes::from_static(b"b0"));
        let (stream, ev) = s.replay_after("s", &a0).unwrap();
        assert_eq!(stream, 1);
        assert_eq!(ev.len(), 1);
        assert_eq!(&ev[0].1[..], b"a1");
        assert!(s.replay_after("other", &a0).is_none());
        assert!(s.replay_after("s", "garbage").is_none());
    }

    #[test]
    fn replay_refuses_when_events_were_dropped() {
        let s = MemoryEventStore::new(2);
        let first = s.append("s", 0, Bytes::from_static(b"0"));
        for i in 1..5 {
            s.append("s", 0, Bytes::from(format!("{i}")));
        }
        assert!(s.replay_after("s", &first).is_none());
    }
}
