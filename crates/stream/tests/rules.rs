//! One test per rule, named as the rule.

use switchyard_stream::{
    Completion, Error, Expected, LimitExceeded, Limits, Options, OwnedEvent, Parser, SyntaxError,
    Truncated, DEFAULT_MAX_DEPTH, DEFAULT_MAX_STRING_LEN, DEFAULT_MAX_TOTAL_LEN,
};

use crate::rebuild::run_chunked;

/// Feeds `input` split at `split`, returning (pointer, event) pairs.
fn events_split(input: &[u8], split: usize) -> Vec<(String, OwnedEvent)> {
    let mut p = Parser::new();
    let mut out = p.feed_owned(&input[..split]).expect("valid");
    out.extend(p.feed_owned(&input[split..]).expect("valid"));
    let done = p.finish(|e, path| out.push((path.to_pointer(), e.to_owned_event())));
    assert_eq!(done, Ok(Completion::Complete));
    out
}

/// Concatenated string deltas, and the other events with deltas removed.
fn text_and_shape(events: &[(String, OwnedEvent)]) -> (String, Vec<(String, OwnedEvent)>) {
    let mut text = String::new();
    let mut shape = Vec::new();
    for (p, e) in events {
        match e {
            OwnedEvent::StringDelta(d) => text.push_str(d),
            other => shape.push((p.clone(), other.clone())),
        }
    }
    (text, shape)
}

fn error_of(input: &[u8], opts: Options) -> Error {
    let (_, whole) = run_chunked(input, &[input.len().max(1)], opts);
    let (_, bytewise) = run_chunked(input, &[1], opts);
    let e = whole.expect_err("input is invalid");
    assert_eq!(
        bytewise.expect_err("input is invalid"),
        e,
        "chunking changed the error"
    );
    e
}

fn syntax_error(input: &[u8]) -> (u64, SyntaxError) {
    match error_of(input, Options::default()) {
        Error::Syntax { offset, kind } => (offset, kind),
        other => panic!("expected a syntax error, got {other:?}"),
    }
}

fn limit_error(input: &[u8], limits: Limits) -> (u64, LimitExceeded) {
    let opts = Options {
        limits,
        ..Options::default()
    };
    match error_of(input, opts) {
        Error::Limit { offset, limit } => (offset, limit),
        other => panic!("expected a limit error, got {other:?}"),
    }
}

fn truncated(input: &[u8]) -> Truncated {
    let mut p = Parser::new();
    p.feed(input, |_, _| {}).expect("valid prefix");
    match p.finish(|_, _| {}) {
        Ok(Completion::Truncated(t)) => t,
        other => panic!("expected truncation, got {other:?}"),
    }
}

#[test]
fn split_anywhere_gives_the_same_text_and_events() {
    let input = r#"{"k\u00e9y": "a\n\"b\ud83d\ude00é€😀", "n": -12.5e+3, "t": true, "z": null}"#;
    let whole = events_split(input.as_bytes(), input.len());
    let (text, shape) = text_and_shape(&whole);
    assert_eq!(text, "a\n\"b😀é€😀");
    assert!(shape.contains(&("/kéy".to_owned(), OwnedEvent::Key("kéy".to_owned()))));
    assert!(shape.contains(&("/n".to_owned(), OwnedEvent::Number("-12.5e+3".to_owned()))));
    for split in 0..=input.len() {
        let got = events_split(input.as_bytes(), split);
        assert_eq!(
            text_and_shape(&got),
            (text.clone(), shape.clone()),
            "split at {split}"
        );
    }
}

#[test]
fn string_deltas_arrive_with_each_chunk() {
    let mut p = Parser::new();
    let mut deltas = Vec::new();
    for chunk in [&b"{\"a\": \"he"[..], b"ll", b"o\"}"] {
        p.feed(chunk, |e, path| {
            if let switchyard_stream::Event::StringDelta(d) = e {
                deltas.push((path.to_pointer(), d.to_owned()));
            }
        })
        .expect("valid");
    }
    let want = [("/a", "he"), ("/a", "ll"), ("/a", "o")];
    assert_eq!(deltas, want.map(|(p, d)| (p.to_owned(), d.to_owned())));
}

#[test]
fn field_complete_follows_each_top_level_member_only() {
    let input = br#"{"a": {"b": [1, {"c": 2}]}, "d": "x"}"#;
    let events = events_split(input, input.len());
    let fields: Vec<&str> = events
        .iter()
        .filter(|(_, e)| *e == OwnedEvent::FieldComplete)
        .map(|(p, _)| p.as_str())
        .collect();
    assert_eq!(fields, ["/a", "/d"]);
    let pos = events
        .iter()
        .position(|(p, e)| p == "/a" && *e == OwnedEvent::ObjectEnd);
    assert_eq!(
        events[pos.expect("object_end at /a") + 1].1,
        OwnedEvent::FieldComplete
    );
}

#[test]
fn paths_are_json_pointers_with_escaped_keys() {
    let input = br#"{"a/b": {"m~n": [0, 1]}}"#;
    let events = events_split(input, 3);
    assert!(events.contains(&(
        "/a~1b/m~0n/1".to_owned(),
        OwnedEvent::Number("1".to_owned())
    )));
}

#[test]
fn top_level_number_completes_at_finish() {
    assert_eq!(
        events_split(b"42", 1),
        [(String::new(), OwnedEvent::Number("42".to_owned()))]
    );
}

#[test]
fn unexpected_byte_reports_offset_and_expectation() {
    let (offset, kind) = syntax_error(br#"{"a" 1}"#);
    assert_eq!(offset, 5);
    assert_eq!(
        kind,
        SyntaxError::UnexpectedByte {
            byte: b'1',
            expected: Expected::Colon
        }
    );
    assert_eq!(syntax_error(b"[1 2]").0, 3);
    assert_eq!(syntax_error(b"{,}").0, 1);
    assert_eq!(syntax_error(b"[1,]").0, 3);
    assert_eq!(syntax_error(br#"{"a":1,}"#).0, 7);
}

#[test]
fn invalid_escape_is_rejected() {
    assert_eq!(syntax_error(br#""a\x""#), (3, SyntaxError::InvalidEscape));
}

#[test]
fn invalid_unicode_escape_is_rejected() {
    assert_eq!(
        syntax_error(br#""\u12g4""#),
        (5, SyntaxError::InvalidUnicodeEscape)
    );
}

#[test]
fn lone_surrogates_are_rejected() {
    assert_eq!(
        syntax_error(br#""\ud800""#),
        (7, SyntaxError::LoneSurrogate)
    );
    assert_eq!(
        syntax_error(br#""\udc00""#),
        (6, SyntaxError::LoneSurrogate)
    );
    assert_eq!(
        syntax_error(br#""\ud800\u0041""#),
        (12, SyntaxError::LoneSurrogate)
    );
}

#[test]
fn invalid_utf8_is_rejected_at_the_sequence_start() {
    assert_eq!(syntax_error(b"\"a\xffb\""), (2, SyntaxError::InvalidUtf8));
    assert_eq!(
        syntax_error(b"\"ab\xe2\x82\""),
        (3, SyntaxError::InvalidUtf8)
    );
    assert_eq!(
        syntax_error(b"\"\xf0\x80\x80\x80\""),
        (1, SyntaxError::InvalidUtf8)
    );
}

#[test]
fn raw_control_character_in_string_is_rejected() {
    assert_eq!(
        syntax_error(b"\"a\nb\""),
        (2, SyntaxError::ControlCharacterInString)
    );
}

#[test]
fn numbers_follow_the_json_grammar() {
    assert_eq!(syntax_error(b"[01]"), (2, SyntaxError::InvalidNumber));
    assert_eq!(syntax_error(b"[-x]"), (2, SyntaxError::InvalidNumber));
    assert_eq!(syntax_error(b"[1.e5]"), (3, SyntaxError::InvalidNumber));
    assert_eq!(syntax_error(b"[1e+]"), (4, SyntaxError::InvalidNumber));
    assert_eq!(syntax_error(b"[+1]").0, 1);
}

#[test]
fn misspelled_literals_are_rejected() {
    assert_eq!(syntax_error(b"[tru e]"), (4, SyntaxError::InvalidLiteral));
    assert_eq!(
        syntax_error(
            b"nul"[..2]
                .iter()
                .chain(b"x")
                .copied()
                .collect::<Vec<_>>()
                .as_slice()
        ),
        (2, SyntaxError::InvalidLiteral)
    );
}

#[test]
fn trailing_characters_are_rejected() {
    assert_eq!(syntax_error(b"{} x"), (3, SyntaxError::TrailingCharacters));
    assert_eq!(syntax_error(b"1 2"), (2, SyntaxError::TrailingCharacters));
}

#[test]
fn errors_are_sticky() {
    let mut p = Parser::new();
    let e = p.feed(b"[1 2", |_, _| {}).expect_err("invalid");
    assert_eq!(p.feed(b"]", |_, _| {}), Err(e.clone()));
    assert_eq!(p.finish(|_, _| {}), Err(e));
}

#[test]
fn depth_limit_is_enforced() {
    let limits = Limits {
        max_depth: 2,
        ..Limits::default()
    };
    assert_eq!(limit_error(b"[[[]]]", limits), (2, LimitExceeded::Depth(2)));
    let (_, ok) = run_chunked(
        b"[[1]]",
        &[1],
        Options {
            limits,
            ..Options::default()
        },
    );
    assert_eq!(ok, Ok(Completion::Complete));
}

#[test]
fn default_depth_limit_matches_serde_json() {
    let deep = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
    let (_, ok) = run_chunked(deep(DEFAULT_MAX_DEPTH).as_bytes(), &[7], Options::default());
    assert_eq!(ok, Ok(Completion::Complete));
    assert!(serde_json::from_str::<serde_json::Value>(&deep(DEFAULT_MAX_DEPTH)).is_ok());
    let too_deep = deep(DEFAULT_MAX_DEPTH + 1);
    let (offset, limit) = limit_error(too_deep.as_bytes(), Limits::default());
    assert_eq!(
        (offset, limit),
        (
            DEFAULT_MAX_DEPTH as u64,
            LimitExceeded::Depth(DEFAULT_MAX_DEPTH)
        )
    );
    assert!(serde_json::from_str::<serde_json::Value>(&too_deep).is_err());
}

#[test]
fn string_length_limit_covers_values_keys_and_numbers() {
    let limits = Limits {
        max_string_len: 4,
        ..Limits::default()
    };
    assert_eq!(
        limit_error(br#""abcde""#, limits),
        (5, LimitExceeded::StringLength(4))
    );
    assert_eq!(
        limit_error(br#"{"abcde":1}"#, limits),
        (6, LimitExceeded::StringLength(4))
    );
    assert_eq!(
        limit_error(br#"["\n\n\n\n\n"]"#, limits).1,
        LimitExceeded::StringLength(4)
    );
    assert_eq!(
        limit_error(b"[123456]", limits).1,
        LimitExceeded::StringLength(4)
    );
    let (_, ok) = run_chunked(
        br#"{"abcd":"abcd","n":1234}"#,
        &[1],
        Options {
            limits,
            ..Options::default()
        },
    );
    assert_eq!(ok, Ok(Completion::Complete));
}

#[test]
fn total_size_limit_is_enforced() {
    let limits = Limits {
        max_total_len: 5,
        ..Limits::default()
    };
    assert_eq!(
        limit_error(b"[1,2,3]", limits),
        (5, LimitExceeded::TotalSize(5))
    );
    let (_, ok) = run_chunked(
        b"[1,2]",
        &[2],
        Options {
            limits,
            ..Options::default()
        },
    );
    assert_eq!(ok, Ok(Completion::Complete));
}

#[test]
fn default_limits_have_room_for_real_tool_input() {
    const { assert!(DEFAULT_MAX_STRING_LEN >= 1 << 20) };
    const { assert!(DEFAULT_MAX_TOTAL_LEN >= DEFAULT_MAX_STRING_LEN as u64) };
    let big = format!("{{\"content\": \"{}\"}}", "x".repeat(1 << 20));
    let (_, ok) = run_chunked(big.as_bytes(), &[64], Options::default());
    assert_eq!(ok, Ok(Completion::Complete));
}

/// Feeds `parts` with default limits (snapshot off) and returns the error.
fn default_limit_error(parts: &[&[u8]]) -> Error {
    let mut p = Parser::with_options(Options {
        snapshot: false,
        ..Options::default()
    });
    for part in parts {
        if let Err(e) = p.feed(part, |_, _| {}) {
            return e;
        }
    }
    panic!("no limit was hit");
}

#[test]
fn default_string_length_limit_is_enforced() {
    let body = vec![b'x'; DEFAULT_MAX_STRING_LEN + 1];
    let e = default_limit_error(&[b"[\"", &body]);
    assert_eq!(
        e,
        Error::Limit {
            offset: 2 + DEFAULT_MAX_STRING_LEN as u64,
            limit: LimitExceeded::StringLength(DEFAULT_MAX_STRING_LEN),
        }
    );
}

#[test]
fn default_total_size_limit_is_enforced() {
    // Strings of 1 MiB each, so only the total limit can be hit.
    let item = format!("\"{}\",", "x".repeat(1 << 20));
    let items = vec![item.as_bytes(); (DEFAULT_MAX_TOTAL_LEN >> 20) as usize + 1];
    let mut parts: Vec<&[u8]> = vec![b"["];
    parts.extend(items);
    let e = default_limit_error(&parts);
    assert_eq!(
        e,
        Error::Limit {
            offset: DEFAULT_MAX_TOTAL_LEN,
            limit: LimitExceeded::TotalSize(DEFAULT_MAX_TOTAL_LEN),
        }
    );
}

#[test]
fn finish_reports_truncation_with_partial_value_and_open_paths() {
    let t = truncated(br#"{"a": {"b": "xy"#);
    assert_eq!(t.partial.as_deref(), Some(r#"{"a": {"b": "xy"}}"#));
    assert_eq!(t.incomplete, ["", "/a", "/a/b"]);
    assert_eq!(t.offset, 15);

    let t = truncated(br#"{"a": "x", "b": 12"#);
    assert_eq!(t.partial.as_deref(), Some(r#"{"a": "x"}"#));
    assert_eq!(t.incomplete, ["", "/b"]);

    let t = truncated(br#"{"a": "x","#);
    assert_eq!(t.partial.as_deref(), Some(r#"{"a": "x"}"#));
    assert_eq!(t.incomplete, [""]);

    let t = truncated(br#"[1, [tr"#);
    assert_eq!(t.partial.as_deref(), Some("[1, []]"));
    assert_eq!(t.incomplete, ["", "/1", "/1/0"]);

    let t = truncated(b"  ");
    assert_eq!(t.partial, None);
    assert_eq!(t.incomplete, [""]);
}

#[test]
fn snapshot_leaves_out_unfinished_numbers_literals_and_pending_keys() {
    let mut p = Parser::new();
    let mut snaps = Vec::new();
    for chunk in [
        &b"{\"a\": 1"[..],
        b"2, \"b",
        b"\": fa",
        b"lse, \"c\": \"q\\",
        b"\"\"}",
    ] {
        p.feed(chunk, |_, _| {}).expect("valid");
        snaps.push(p.snapshot().expect("started").to_json());
    }
    assert_eq!(
        snaps,
        [
            r#"{}"#,
            r#"{"a": 12}"#,
            r#"{"a": 12}"#,
            r#"{"a": 12, "b": false, "c": "q"}"#,
            r#"{"a": 12, "b": false, "c": "q\""}"#
        ]
    );
}

#[test]
fn snapshot_can_be_turned_off() {
    let mut p = Parser::with_options(Options {
        snapshot: false,
        ..Options::default()
    });
    p.feed(b"{\"a\": \"x", |_, _| {}).expect("valid");
    assert!(p.snapshot().is_none());
    let Ok(Completion::Truncated(t)) = p.finish(|_, _| {}) else {
        panic!("truncated")
    };
    assert_eq!(t.partial, None);
    assert_eq!(t.incomplete, ["", "/a"]);
}

#[test]
fn parser_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Parser>();
    check::<Error>();
}
