//! Test helpers: feed input in chunks, and rebuild a `serde_json::Value`
//! from events while checking that every event's path is where the event
//! stream says it should be.

use serde_json::{Map, Value};
use switchyard_stream::{Completion, Error, Event, Options, Parser};

/// Feeds `input` in chunks of the given sizes (cycled), then finishes.
pub(crate) fn run_chunked(
    input: &[u8],
    sizes: &[usize],
    opts: Options,
) -> (Rebuilder, Result<Completion, Error>) {
    let mut parser = Parser::with_options(opts);
    let mut rb = Rebuilder::default();
    let mut pos = 0;
    let mut k = 0;
    while pos < input.len() {
        let n = sizes[k % sizes.len()].max(1).min(input.len() - pos);
        k += 1;
        if let Err(e) = parser.feed(&input[pos..pos + n], |e, p| rb.event(e, &p.to_pointer())) {
            return (rb, Err(e));
        }
        pos += n;
    }
    let done = parser.finish(|e, p| rb.event(e, &p.to_pointer()));
    (rb, done)
}

enum Open {
    Obj(Map<String, Value>, Option<String>),
    Arr(Vec<Value>),
}

/// Rebuilds the value from events; records the first path mismatch.
#[derive(Default)]
pub(crate) struct Rebuilder {
    stack: Vec<Open>,
    string: Option<String>,
    pub(crate) value: Option<Value>,
    pub(crate) path_errors: Vec<String>,
    pub(crate) field_completes: Vec<String>,
    pub(crate) events: usize,
    just_completed_root_member: bool,
}

fn pointer_token(k: &str) -> String {
    k.replace('~', "~0").replace('/', "~1")
}

impl Rebuilder {
    fn expected_path(&self) -> String {
        let mut s = String::new();
        for o in &self.stack {
            match o {
                Open::Obj(_, Some(k)) => {
                    s.push('/');
                    s.push_str(&pointer_token(k));
                }
                Open::Obj(_, None) => {}
                Open::Arr(v) => {
                    s.push('/');
                    s.push_str(&v.len().to_string());
                }
            }
        }
        s
    }

    fn check(&mut self, what: &str, path: &str) {
        let want = self.expected_path();
        if want != path {
            self.path_errors
                .push(format!("{what}: event path {path:?}, expected {want:?}"));
        }
    }

    fn complete(&mut self, v: Value) {
        self.just_completed_root_member = self.stack.len() == 1;
        match self.stack.last_mut() {
            None => {
                assert!(self.value.is_none(), "two top-level values");
                self.value = Some(v);
            }
            Some(Open::Obj(m, k)) => {
                let key = k.clone().expect("value in object without a key");
                m.insert(key, v);
            }
            Some(Open::Arr(a)) => a.push(v),
        }
    }

    pub(crate) fn event(&mut self, e: Event<'_>, path: &str) {
        self.events += 1;
        let was_root_member = std::mem::take(&mut self.just_completed_root_member);
        match e {
            Event::ObjectStart => {
                self.check("object_start", path);
                self.stack.push(Open::Obj(Map::new(), None));
            }
            Event::ArrayStart => {
                self.check("array_start", path);
                self.stack.push(Open::Arr(Vec::new()));
            }
            Event::ObjectEnd => match self.stack.pop() {
                Some(Open::Obj(m, _)) => {
                    self.check("object_end", path);
                    self.complete(Value::Object(m));
                }
                _ => self.path_errors.push("object_end without object".into()),
            },
            Event::ArrayEnd => match self.stack.pop() {
                Some(Open::Arr(a)) => {
                    self.check("array_end", path);
                    self.complete(Value::Array(a));
                }
                _ => self.path_errors.push("array_end without array".into()),
            },
            Event::Key(k) => {
                match self.stack.last_mut() {
                    Some(Open::Obj(_, key)) => *key = Some(k.to_owned()),
                    _ => self.path_errors.push("key outside object".into()),
                }
                self.check("key", path);
            }
            Event::StringStart => {
                self.check("string_start", path);
                assert!(self.string.is_none(), "nested string_start");
                self.string = Some(String::new());
            }
            Event::StringDelta(d) => {
                self.check("string_delta", path);
                assert!(!d.is_empty(), "empty delta");
                self.string
                    .as_mut()
                    .expect("delta outside string")
                    .push_str(d);
            }
            Event::StringEnd => {
                self.check("string_end", path);
                let s = self.string.take().expect("string_end outside string");
                self.complete(Value::String(s));
            }
            Event::Number(n) => {
                self.check("number", path);
                let v: Value = serde_json::from_str(n).expect("number event is a JSON number");
                assert!(v.is_number(), "{n:?} is not a number");
                self.complete(v);
            }
            Event::Bool(b) => {
                self.check("bool", path);
                self.complete(Value::Bool(b));
            }
            Event::Null => {
                self.check("null", path);
                self.complete(Value::Null);
            }
            Event::FieldComplete => {
                if !was_root_member {
                    self.path_errors.push(format!(
                        "field_complete at {path:?} not after a root member"
                    ));
                }
                self.check("field_complete", path);
                self.field_completes.push(path.to_owned());
            }
            _ => self.path_errors.push(format!("unknown event {e:?}")),
        }
    }
}
