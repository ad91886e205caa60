//! Black-box tests of `switchyard json-stream`, run through the binary.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_switchyard");

fn run(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(BIN)
        .arg("json-stream")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("switchyard starts");
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(stdin)
        .expect("write stdin");
    child.wait_with_output().expect("switchyard runs")
}

fn lines(out: &Output) -> Vec<Value> {
    String::from_utf8(out.stdout.clone())
        .expect("UTF-8 output")
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l:?} is not JSON: {e}")))
        .collect()
}

/// Rebuilds the input value from the printed events.
fn rebuild(events: &[Value]) -> Value {
    let mut stack: Vec<(Value, Option<String>)> = Vec::new();
    let mut done = None;
    let mut text = String::new();
    let mut put = |stack: &mut Vec<(Value, Option<String>)>, v: Value| match stack.last_mut() {
        None => done = Some(v),
        Some((Value::Array(a), _)) => a.push(v),
        Some((Value::Object(m), k)) => {
            m.insert(k.clone().expect("key"), v);
        }
        Some(_) => unreachable!(),
    };
    for e in events {
        let Some(name) = e["event"].as_str() else {
            continue;
        };
        match name {
            "object_start" => stack.push((json!({}), None)),
            "array_start" => stack.push((json!([]), None)),
            "object_end" | "array_end" => {
                let (v, _) = stack.pop().expect("open container");
                put(&mut stack, v);
            }
            "key" => stack.last_mut().expect("object").1 = e["value"].as_str().map(str::to_owned),
            "string_start" => text.clear(),
            "string_delta" => text.push_str(e["value"].as_str().expect("delta text")),
            "string_end" => put(&mut stack, Value::String(std::mem::take(&mut text))),
            "number" | "bool" => put(&mut stack, e["value"].clone()),
            "null" => put(&mut stack, Value::Null),
            _ => {}
        }
    }
    done.expect("a complete value")
}

const DOC: &str = r#"{"path": "src/ma\u00efn.rs", "edits": [{"line": 12, "text": "fn main() {\n}"}], "dry_run": false, "note": null}"#;

#[test]
fn events_are_one_json_object_per_line_and_rebuild_the_input() {
    let expected: Value = serde_json::from_str(DOC).expect("valid");
    for chunk in ["1", "3", "16", "64", "4096"] {
        let out = run(&["--chunk", chunk], DOC.as_bytes());
        assert!(out.status.success(), "chunk {chunk}: {out:?}");
        let events = lines(&out);
        assert_eq!(rebuild(&events), expected, "chunk {chunk}");
        assert_eq!(
            events.last(),
            Some(&json!({"done": "complete", "offset": DOC.len()}))
        );
    }
}

#[test]
fn each_top_level_argument_gets_field_complete() {
    let events = lines(&run(&[], DOC.as_bytes()));
    let fields: Vec<&str> = events
        .iter()
        .filter(|e| e["event"] == "field_complete")
        .map(|e| e["path"].as_str().expect("path"))
        .collect();
    assert_eq!(fields, ["/path", "/edits", "/dry_run", "/note"]);
}

#[test]
fn snapshot_prints_the_partial_value_after_each_chunk() {
    let out = run(&["--chunk", "10", "--snapshot"], DOC.as_bytes());
    assert!(out.status.success());
    let snaps: Vec<Value> = lines(&out)
        .into_iter()
        .filter(|l| l.get("snapshot").is_some())
        .collect();
    assert_eq!(snaps.len(), DOC.len().div_ceil(10));
    assert_eq!(snaps[0], json!({"snapshot": {"path": ""}, "offset": 10}));
    // The second chunk ends inside `\u00ef`: the escape is held back.
    assert_eq!(
        snaps[1],
        json!({"snapshot": {"path": "src/ma"}, "offset": 20})
    );
    let full: Value = serde_json::from_str(DOC).expect("valid");
    assert_eq!(snaps.last().map(|s| &s["snapshot"]), Some(&full));
}

#[test]
fn pretty_printed_input_still_gives_one_json_object_per_line() {
    let pretty = "{\n  \"a\": [\n    1,\n    \"x\"\n  ],\n  \"b\": {\n    \"c\": tr";
    let out = run(&["--chunk", "4", "--snapshot"], pretty.as_bytes());
    assert_eq!(out.status.code(), Some(3));
    let lines = lines(&out);
    let last_snapshot = lines
        .iter()
        .rev()
        .find_map(|l| l.get("snapshot"))
        .expect("snapshot lines");
    assert_eq!(last_snapshot, &json!({"a": [1, "x"], "b": {}}));
    assert_eq!(lines.last().map(|l| &l["partial"]), Some(last_snapshot));
}

#[test]
fn invalid_input_exits_non_zero_with_the_byte_offset() {
    let out = run(&["--chunk", "2"], br#"{"a": 1 "b": 2}"#);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("invalid JSON at byte 8"), "{stderr}");
}

#[test]
fn truncated_input_reports_partial_value_and_open_paths() {
    let out = run(&["--chunk", "5"], br#"{"a": [1, {"b": "hal"#);
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(
        lines(&out).last(),
        Some(&json!({
            "done": "truncated",
            "offset": 20,
            "partial": {"a": [1, {"b": "hal"}]},
            "incomplete": ["", "/a", "/a/1", "/a/1/b"],
        }))
    );
}

#[test]
fn reads_a_file_argument_and_dash_means_stdin() {
    let dir = std::env::temp_dir().join(format!("switchyard-json-stream-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("input.json");
    std::fs::write(&file, DOC).expect("write input");
    let from_file = run(&[file.to_str().expect("UTF-8 path")], b"");
    let from_dash = run(&["-"], DOC.as_bytes());
    std::fs::remove_dir_all(&dir).ok();
    assert!(from_file.status.success());
    assert_eq!(from_file.stdout, from_dash.stdout);
}

#[test]
fn missing_file_is_an_error() {
    let out = run(&["/nonexistent/switchyard-input.json"], b"");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot open"));
}

#[test]
fn chunk_of_zero_is_a_usage_error() {
    let out = run(&["--chunk", "0"], b"{}");
    assert_eq!(out.status.code(), Some(2));
}
