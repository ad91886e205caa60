//! An incremental Server-Sent Events decoder (WHATWG event-stream format).

/// Longest line accepted, so a hostile server cannot make the client buffer without bound.
pub const MAX_LINE_BYTES: usize = 8 * 1024 * 1024;

/// One dispatched event.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Event {
    /// `event:` field (empty means "message").
    pub event: String,
    /// Joined `data:` lines.
    pub data: String,
    /// `id:` of this event, if it had one.
    pub id: Option<String>,
    /// `retry:` in milliseconds, if the event block set one.
    pub retry: Option<u64>,
}

/// Why decoding stopped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SseError {
    /// A line longer than [`MAX_LINE_BYTES`].
    #[error("SSE line longer than {MAX_LINE_BYTES} bytes")]
    LineTooLong,
    /// Not UTF-8.
    #[error("SSE stream is not UTF-8")]
    NotUtf8,
}

/// Feed bytes in, take events out.
#[derive(Debug, Default)]
pub struct Decoder {
    buf: Vec<u8>,
    cur: Event,
    has_data: bool,
    has_fields: bool,
    /// The last event id seen (persists across events, as the spec says).
    pub last_event_id: Option<String>,
    /// The last retry value seen.
    pub retry: Option<u64>,
}

impl Decoder {
    /// A fresh decoder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds bytes and returns the events they complete.
    pub fn feed(&mut self, bytes: &[u8]) -> Result<Vec<Event>, SseError> {
        self.buf.extend_from_slice(bytes);
        let mut out = Vec::new();
        loop {
            let Some(pos) = self.buf.iter().position(|&b| b == b'\n' || b == b'\r') else {
                if self.buf.len() > MAX_LINE_BYTES {
                    return Err(SseError::LineTooLong);
                }
                break;
            };
            // A CR at the very end might be the first half of CRLF: wait for more bytes.
            if self.buf[pos] == b'\r' && pos + 1 == self.buf.len() {
                break;
            }
            let skip = if self.buf[pos] == b'\r' && self.buf.get(pos + 1) == Some(&b'\n') {
                2
            } else {
                1
            };
            let line: Vec<u8> = self.buf.drain(..pos + skip).take(pos).collect();
            let line = String::from_utf8(line).map_err(|_| SseError::NotUtf8)?;
            if let Some(ev) = self.line(&line) {
                out.push(ev);
            }
        }
        Ok(out)
    }

    fn line(&mut self, line: &str) -> Option<Event> {
        if line.is_empty() {
            if !self.has_fields {
                return None;
            }
            self.has_fields = false;
            let mut ev = std::mem::take(&mut self.cur);
            if !self.has_data && ev.id.is_none() && ev.retry.is_none() {
                self.has_data = false;
                return None;
            }
            self.has_data = false;
            if ev.data.ends_with('\n') {
                ev.data.pop();
            }
            return Some(ev);
        }
        if line.starts_with(':') {
            return None;
        }
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (line, ""),
        };
        self.has_fields = true;
        match field {
            "event" => self.cur.event = value.to_owned(),
            "data" => {
                self.has_data = true;
                self.cur.data.push_str(value);
                self.cur.data.push('\n');
            }
            "id" if !value.contains('\0') => {
                self.cur.id = Some(value.to_owned());
                self.last_event_id = Some(value.to_owned());
            }
            "retry" => {
                if let Ok(n) = value.parse() {
                    self.cur.retry = Some(n);
                    self.retry = Some(n);
                }
            }
            _ => {}
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_events_split_anywhere_with_crlf() {
        let src = "id: 1\r\nretry: 500\r\ndata: \r\n\r\nevent: message\r\ndata: {\"a\":1}\r\n\r\n: comment\n\ndata: x\ndata: y\n\n";
        for split in 0..src.len() {
            let mut d = Decoder::new();
            let mut evs = d.feed(&src.as_bytes()[..split]).unwrap();
            evs.extend(d.feed(&src.as_bytes()[split..]).unwrap());
            assert_eq!(evs.len(), 3, "split at {split}: {evs:?}");
            assert_eq!(evs[0].id.as_deref(), Some("1"));
            assert_eq!(evs[0].data, "");
            assert_eq!(evs[0].retry, Some(500));
            assert_eq!(evs[1].data, "{\"a\":1}");
            assert_eq!(evs[2].data, "x\ny");
            assert_eq!(d.last_event_id.as_deref(), Some("1"));
        }
    }

    #[test]
    fn overlong_lines_are_refused() {
        let mut d = Decoder::new();
        let big = vec![b'a'; MAX_LINE_BYTES + 1];
        assert_eq!(d.feed(&big), Err(SseError::LineTooLong));
    }
}
