//! Entry points for the fuzz targets in `/fuzz` (feature `fuzzing`).
//!
//! Not a public API: the targets are three-line bins that call in here, so
//! the checks can also run from an ordinary test loop.

use serde_json::{Map, Value};

use crate::{Completion, Error, Event, Options, OwnedEvent, Parser};

/// Parses `data` whole and in chunks chosen by its first byte, and panics if
/// the two disagree, if a snapshot is not valid JSON, or if the result
/// disagrees with serde_json.
pub fn differential(data: &[u8]) {
    let Some((&pick, input)) = data.split_first() else {
        return;
    };
    let sizes: &[usize] = match pick % 6 {
        0 => &[1],
        1 => &[2, 3],
        2 => &[7],
        3 => &[16, 1, 5],
        4 => &[64],
        _ => &[usize::from(pick / 6).max(1)],
    };
    let whole = run(input, &[input.len().max(1)]);
    let chunked = run(input, sizes);

    match (&whole.done, &chunked.done) {
        (Ok(a), Ok(b)) => {
            assert_eq!(a, b, "completion differs with chunking");
            assert_eq!(whole.shape, chunked.shape, "events differ with chunking");
            assert_eq!(whole.value, chunked.value);
        }
        (Err(a), Err(b)) => assert_eq!(a.offset(), b.offset(), "error offset differs"),
        (a, b) => panic!("whole {a:?} but chunked {b:?}"),
    }

    let reference = serde_json::from_slice::<Value>(input);
    match (&reference, &whole.done) {
        // Numbers beyond f64 range are valid JSON that serde_json refuses,
        // and it stops there: nothing after them can be compared.
        (Err(e), _) if e.to_string().contains("out of range") => {}
        (Ok(v), Ok(Completion::Complete)) => assert_eq!(whole.value.as_ref(), Some(v)),
        (Ok(_), other) => panic!("serde_json accepts but we gave {other:?}"),
        (Err(e), Ok(Completion::Complete)) => panic!("serde_json says {e} but we accepted"),
        (Err(e), Ok(Completion::Truncated(_))) => {
            assert!(e.is_eof(), "serde_json says {e} but we saw truncation")
        }
        (Err(_), Err(_)) => {}
    }
}

struct Outcome {
    /// Events with string deltas merged, so chunkings can be compared.
    shape: Vec<(String, OwnedEvent)>,
    value: Option<Value>,
    done: Result<Completion, Error>,
}

fn run(input: &[u8], sizes: &[usize]) -> Outcome {
    let mut parser = Parser::with_options(Options::default());
    let mut rec = Recorder::default();
    let mut pos = 0;
    let mut k = 0;
    while pos < input.len() {
        let n = sizes[k % sizes.len()].min(input.len() - pos);
        k += 1;
        let fed = parser.feed(&input[pos..pos + n], |e, p| rec.event(e, &p.to_pointer()));
        if let Err(e) = fed {
            return rec.outcome(Err(e));
        }
        pos += n;
        if let Some(snap) = parser.snapshot() {
            check_snapshot(&snap.to_json());
        }
    }
    let done = parser.finish(|e, p| rec.event(e, &p.to_pointer()));
    rec.outcome(done)
}

/// A snapshot must be one complete JSON value.
fn check_snapshot(text: &str) {
    match serde_json::from_str::<Value>(text) {
        Ok(_) => {}
        // Valid JSON that serde_json refuses; our own parser must take it.
        Err(e) if e.to_string().contains("out of range") => {
            let mut p = Parser::new();
            let fed = p.feed(text.as_bytes(), |_, _| {});
            assert!(fed.is_ok(), "snapshot {text:?} is not JSON: {fed:?}");
            assert_eq!(p.finish(|_, _| {}), Ok(Completion::Complete), "{text:?}");
        }
        Err(e) => panic!("snapshot {text:?} is not JSON: {e}"),
    }
}

enum Open {
    Obj(Map<String, Value>, Option<String>),
    Arr(Vec<Value>),
}

#[derive(Default)]
struct Recorder {
    shape: Vec<(String, OwnedEvent)>,
    stack: Vec<Open>,
    string: String,
    value: Option<Value>,
}

impl Recorder {
    fn outcome(self, done: Result<Completion, Error>) -> Outcome {
        Outcome {
            shape: self.shape,
            value: self.value,
            done,
        }
    }

    fn complete(&mut self, v: Value) {
        match self.stack.last_mut() {
            None => self.value = Some(v),
            Some(Open::Obj(m, k)) => {
                m.insert(k.clone().unwrap_or_default(), v);
            }
            Some(Open::Arr(a)) => a.push(v),
        }
    }

    fn event(&mut self, e: Event<'_>, path: &str) {
        if let (Event::StringDelta(d), Some((_, OwnedEvent::StringDelta(prev)))) =
            (e, self.shape.last_mut())
        {
            prev.push_str(d);
        } else {
            self.shape.push((path.to_owned(), e.to_owned_event()));
        }
        match e {
            Event::ObjectStart => self.stack.push(Open::Obj(Map::new(), None)),
            Event::ArrayStart => self.stack.push(Open::Arr(Vec::new())),
            Event::ObjectEnd | Event::ArrayEnd => {
                let v = match self.stack.pop() {
                    Some(Open::Obj(m, _)) => Value::Object(m),
                    Some(Open::Arr(a)) => Value::Array(a),
                    None => panic!("end event without a container"),
                };
                self.complete(v);
            }
            Event::Key(k) => match self.stack.last_mut() {
                Some(Open::Obj(_, key)) => *key = Some(k.to_owned()),
                _ => panic!("key outside an object"),
            },
            Event::StringStart => self.string.clear(),
            Event::StringDelta(d) => self.string.push_str(d),
            Event::StringEnd => {
                let s = std::mem::take(&mut self.string);
                self.complete(Value::String(s));
            }
            Event::Number(n) => {
                // Out-of-range numbers are valid JSON that serde_json refuses.
                if let Ok(v) = serde_json::from_str::<Value>(n) {
                    self.complete(v);
                } else {
                    self.complete(Value::Null);
                }
            }
            Event::Bool(b) => self.complete(Value::Bool(b)),
            Event::Null => self.complete(Value::Null),
            Event::FieldComplete => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn differential_accepts_valid_invalid_and_truncated_input() {
        for (pick, doc) in [
            (
                0u8,
                &br#"{"a": [1, "x\u00e9", {"b": null}], "c": true}"#[..],
            ),
            (3, br#"{"a": "unterminated"#),
            (4, br#"[1, 2,, 3]"#),
            (200, b"\"\xff\""),
            // Found by the fuzzer: a number beyond f64 range in a snapshot.
            (2, b"[0, -0, 1.25, -12, 1e2384567890]"),
            (2, b"[0, -5,-12e+3, 1E-7,8E01234"),
            (1, b""),
        ] {
            let mut data = vec![pick];
            data.extend_from_slice(doc);
            differential(&data);
        }
    }

    #[test]
    fn fuzzing_corpus_replays_clean() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/stream");
        let mut n = 0;
        for entry in std::fs::read_dir(&dir).expect("committed seed corpus") {
            let data = std::fs::read(entry.expect("corpus entry").path()).expect("readable");
            differential(&data);
            n += 1;
        }
        assert!(n >= 10, "seed corpus has {n} entries");
    }
}
