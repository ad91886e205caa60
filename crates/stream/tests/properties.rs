//! Property tests: for any valid JSON and any chunking the events rebuild
//! exactly what serde_json parses; for any prefix the snapshot is valid JSON
//! consistent with that prefix; invalid input fails at the same byte however
//! it is chunked.

use proptest::prelude::*;
use serde_json::Value;
use switchyard_stream::{Completion, Error, Options, Parser, SyntaxError};

use crate::rebuild::run_chunked;

/// A JSON document as generated: numbers keep their exact text.
#[derive(Clone, Debug)]
enum J {
    Null,
    Bool(bool),
    Num(String),
    Str(String),
    Arr(Vec<J>),
    Obj(Vec<(String, J)>),
}

fn arb_string() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[a-z \"\\\\/~]{0,12}",
        "[\u{0}-\u{1f}\u{7f}-\u{a0}é€😀𝄞]{0,8}",
    ]
}

fn arb_number() -> impl Strategy<Value = String> {
    "-?(0|[1-9][0-9]{0,18})(\\.[0-9]{1,12})?([eE][+-]?[0-9]{1,2})?"
}

fn arb_json() -> impl Strategy<Value = J> {
    let leaf = prop_oneof![
        Just(J::Null),
        any::<bool>().prop_map(J::Bool),
        arb_number().prop_map(J::Num),
        arb_string().prop_map(J::Str),
    ];
    leaf.prop_recursive(5, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(J::Arr),
            prop::collection::vec((arb_string(), inner), 0..8).prop_map(J::Obj),
        ]
    })
}

/// A tool-input-like document: the top level is an object.
fn arb_object() -> impl Strategy<Value = J> {
    prop::collection::vec((arb_string(), arb_json()), 0..6).prop_map(J::Obj)
}

/// Writes `j` as JSON text; `rng` picks whitespace and escape styles.
struct Writer {
    out: String,
    rng: u64,
}

impl Writer {
    fn next(&mut self) -> u64 {
        // xorshift64
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        self.rng
    }

    fn ws(&mut self) {
        const WS: [&str; 6] = ["", "", "", " ", "\n  ", "\t\r\n "];
        let i = (self.next() % 6) as usize;
        self.out.push_str(WS[i]);
    }

    fn u_escape(&mut self, unit: u32) {
        let upper = self.next().is_multiple_of(2);
        let s = format!("\\u{unit:04x}");
        self.out.push_str(&if upper {
            s.to_uppercase().replace("\\U", "\\u")
        } else {
            s
        });
    }

    fn string(&mut self, s: &str) {
        self.out.push('"');
        for c in s.chars() {
            let r = self.next() % 8;
            match c {
                '"' => self.out.push_str("\\\""),
                '\\' => self.out.push_str("\\\\"),
                '\n' if r < 4 => self.out.push_str("\\n"),
                '\t' if r < 4 => self.out.push_str("\\t"),
                '/' if r < 4 => self.out.push_str("\\/"),
                c if (c as u32) < 0x20 || r == 0 => {
                    let mut units = [0u16; 2];
                    for &u in c.encode_utf16(&mut units).iter() {
                        self.u_escape(u32::from(u));
                    }
                }
                c => self.out.push(c),
            }
        }
        self.out.push('"');
    }

    fn value(&mut self, j: &J) {
        self.ws();
        match j {
            J::Null => self.out.push_str("null"),
            J::Bool(b) => self.out.push_str(if *b { "true" } else { "false" }),
            J::Num(n) => self.out.push_str(n),
            J::Str(s) => self.string(s),
            J::Arr(items) => {
                self.out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        self.ws();
                        self.out.push(',');
                    }
                    self.value(item);
                }
                self.ws();
                self.out.push(']');
            }
            J::Obj(members) => {
                self.out.push('{');
                for (i, (k, v)) in members.iter().enumerate() {
                    if i > 0 {
                        self.ws();
                        self.out.push(',');
                    }
                    self.ws();
                    self.string(k);
                    self.ws();
                    self.out.push(':');
                    self.value(v);
                }
                self.ws();
                self.out.push('}');
            }
        }
        self.ws();
    }
}

/// `j` with only the first of any duplicate keys (serde_json keeps the last
/// one, which a prefix cannot know about yet).
fn dedup_keys(j: J) -> J {
    match j {
        J::Arr(items) => J::Arr(items.into_iter().map(dedup_keys).collect()),
        J::Obj(members) => {
            let mut seen = std::collections::HashSet::new();
            J::Obj(
                members
                    .into_iter()
                    .filter(|(k, _)| seen.insert(k.clone()))
                    .map(|(k, v)| (k, dedup_keys(v)))
                    .collect(),
            )
        }
        other => other,
    }
}

fn render(j: &J, seed: u64) -> String {
    let mut w = Writer {
        out: String::new(),
        rng: seed | 1,
    };
    w.value(j);
    w.out
}

/// `part` could be what a prefix of a document whose value is `full` shows:
/// strings are prefixes, containers hold a prefix of the members in which
/// at most one (the last one read) is itself partial.
fn is_partial_of(part: &Value, full: &Value) -> bool {
    match (part, full) {
        (Value::String(p), Value::String(f)) => f.starts_with(p.as_str()),
        (Value::Array(p), Value::Array(f)) => {
            p.len() <= f.len()
                && p.iter().zip(f).enumerate().all(|(i, (a, b))| {
                    if i + 1 == p.len() {
                        is_partial_of(a, b)
                    } else {
                        a == b
                    }
                })
        }
        (Value::Object(p), Value::Object(f)) => {
            let mut partial = 0;
            for (k, a) in p {
                let Some(b) = f.get(k) else { return false };
                if a != b {
                    partial += 1;
                    if !is_partial_of(a, b) {
                        return false;
                    }
                }
            }
            partial <= 1
        }
        (p, f) => p == f,
    }
}

proptest! {
    /// Any valid JSON, any chunking: events rebuild exactly serde_json's value.
    #[test]
    fn events_rebuild_what_serde_json_parses(
        j in arb_json(),
        seed in any::<u64>(),
        sizes in prop::collection::vec(1usize..24, 1..8),
    ) {
        let text = render(&j, seed);
        let expected: Value = serde_json::from_str(&text).expect("generated JSON is valid");
        for sizes in [&sizes[..], &[1], &[text.len().max(1)]] {
            let (rb, done) = run_chunked(text.as_bytes(), sizes, Options::default());
            prop_assert_eq!(done, Ok(Completion::Complete), "{:?}", text);
            prop_assert!(rb.path_errors.is_empty(), "{:?}", rb.path_errors);
            prop_assert_eq!(rb.value.as_ref(), Some(&expected));
        }
    }

    /// Every member of a top-level object gets a field_complete, in order.
    #[test]
    fn each_top_level_member_gets_field_complete(
        j in arb_object(),
        seed in any::<u64>(),
        sizes in prop::collection::vec(1usize..24, 1..8),
    ) {
        let text = render(&j, seed);
        let J::Obj(members) = &j else { unreachable!() };
        let (rb, done) = run_chunked(text.as_bytes(), &sizes, Options::default());
        prop_assert_eq!(done, Ok(Completion::Complete));
        prop_assert!(rb.path_errors.is_empty(), "{:?}", rb.path_errors);
        let want: Vec<String> = members
            .iter()
            .map(|(k, _)| format!("/{}", k.replace('~', "~0").replace('/', "~1")))
            .collect();
        prop_assert_eq!(rb.field_completes, want);
    }

    /// For every prefix, the snapshot is valid JSON consistent with the
    /// prefix: it grows monotonically, it is what a one-chunk parse of the
    /// prefix shows, and it ends as the full value.
    #[test]
    fn snapshot_of_every_prefix_is_valid_and_consistent(
        j in arb_json().prop_map(dedup_keys),
        seed in any::<u64>(),
    ) {
        let text = render(&j, seed);
        let bytes = text.as_bytes();
        let full: Value = serde_json::from_str(&text).expect("generated JSON is valid");
        let mut parser = Parser::new();
        let mut prev: Option<Value> = None;
        for end in 1..=bytes.len() {
            parser.feed(&bytes[end - 1..end], |_, _| {}).expect("valid prefix");
            let snap = parser.snapshot().map(|s| s.to_json());
            let first = text.trim_start().bytes().next();
            if end > text.len() - text.trim_start().len()
                && matches!(first, Some(b'{' | b'[' | b'"'))
            {
                prop_assert!(snap.is_some(), "no snapshot for {:?}", &text[..end]);
            }
            let Some(snap) = snap else {
                prop_assert!(prev.is_none(), "snapshot disappeared");
                continue;
            };
            let v: Value = match serde_json::from_str(&snap) {
                Ok(v) => v,
                Err(e) => return Err(TestCaseError::fail(format!("{snap:?} is not JSON: {e}"))),
            };
            prop_assert!(is_partial_of(&v, &full), "{:?} vs {:?}", snap, full);
            let compact = parser.snapshot().map(|s| s.to_compact_json()).unwrap_or_default();
            let reparsed = serde_json::from_str::<Value>(&compact).ok();
            prop_assert_eq!(reparsed.as_ref(), Some(&v));
            prop_assert!(!compact.contains('\n'));
            if let Some(p) = &prev {
                prop_assert!(is_partial_of(p, &v), "not monotonic: {:?} then {:?}", p, v);
            }
            if end % 7 == 0 || end == bytes.len() {
                let mut one = Parser::new();
                one.feed(&bytes[..end], |_, _| {}).expect("valid prefix");
                prop_assert_eq!(one.snapshot().map(|s| s.to_json()), Some(snap.clone()));
            }
            prev = Some(v);
        }
        let done = parser.finish(|_, _| {}).expect("valid document");
        prop_assert_eq!(done, Completion::Complete);
        if !matches!(j, J::Num(_)) {
            prop_assert_eq!(prev.as_ref(), Some(&full));
        }
    }

    /// A corrupted document: we accept exactly when serde_json does, report
    /// truncation exactly when serde_json hits end of input, and fail at the
    /// same byte however the input is chunked.
    #[test]
    fn corrupted_input_fails_like_serde_json_at_a_chunk_independent_offset(
        j in arb_json(),
        seed in any::<u64>(),
        pos in any::<prop::sample::Index>(),
        byte in any::<u8>(),
        cut in any::<bool>(),
        sizes in prop::collection::vec(1usize..24, 1..8),
    ) {
        let mut bytes = render(&j, seed).into_bytes();
        let at = pos.index(bytes.len());
        if cut {
            bytes.truncate(at);
        } else {
            bytes[at] = byte;
        }
        let reference = serde_json::from_slice::<Value>(&bytes);
        if let Err(e) = &reference {
            prop_assume!(!e.to_string().contains("out of range"));
        }
        let (_, whole) = run_chunked(&bytes, &[bytes.len().max(1)], Options::default());
        let (_, chunked) = run_chunked(&bytes, &sizes, Options::default());
        let (_, bytewise) = run_chunked(&bytes, &[1], Options::default());
        let offset = |r: &Result<Completion, Error>| r.as_ref().err().map(Error::offset);
        prop_assert_eq!(offset(&whole), offset(&chunked));
        prop_assert_eq!(offset(&whole), offset(&bytewise));
        match (&reference, &whole) {
            (Ok(_), Ok(Completion::Complete)) => {}
            (Err(e), Ok(Completion::Truncated(_))) if e.is_eof() => {}
            (Err(e), Err(Error::Syntax { .. })) if !e.is_eof() => {}
            // serde_json checks UTF-8 only once a string closes, so it may
            // reach the end of input first; we reject the bytes as they come.
            (Err(_), Err(Error::Syntax { kind: SyntaxError::InvalidUtf8, .. })) => {}
            (r, w) => prop_assert!(false, "serde_json {:?} but we {:?} on {:?}",
                r, w, String::from_utf8_lossy(&bytes)),
        }
    }
}
