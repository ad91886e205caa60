//! `switchyard tools | call` as a user runs them, against `switchyard serve` (HTTP and stdio).
#![allow(clippy::unwrap_used)] // Test code: a panic is the failure report.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_switchyard");

struct Served(Child, String);

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn serve() -> Served {
    let mut child = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--danger-no-auth"])
        .env(
            "XDG_DATA_HOME",
            std::env::temp_dir().join("switchyard-test-data"),
        )
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let url = url_of(&mut child);
    Served(child, url)
}

/// Reads the server's stderr until it names its URL, then keeps draining it in the background
/// (a closed pipe would make the server's later messages fail).
fn url_of(child: &mut Child) -> String {
    let mut r = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    while r.read_line(&mut line).unwrap() > 0 && !line.contains("serving MCP at") {
        line.clear();
    }
    std::thread::spawn(move || std::io::copy(&mut r, &mut std::io::sink()));
    line.trim().rsplit(' ').next().unwrap().to_owned()
}

fn run(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env(
            "SWITCHYARD_DATA_DIR",
            std::env::temp_dir().join("switchyard-cli-test"),
        )
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn tools_lists_the_servers_tools() {
    let s = serve();
    let o = run(&["tools", &s.1]);
    assert!(o.status.success(), "{o:?}");
    let out = stdout(&o);
    for name in ["echo", "add", "current_time", "count"] {
        assert!(
            out.lines().any(|l| l.starts_with(name)),
            "{name} missing from:\n{out}"
        );
    }
    let o = run(&[
        "tools",
        &s.1,
        "--output",
        "json",
        "--protocol",
        "2025-11-25",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 4);
}

#[test]
fn call_takes_key_value_or_json_arguments() {
    let s = serve();
    let o = run(&["call", &s.1, "echo", "text=hello world"]);
    assert!(o.status.success(), "{o:?}");
    assert_eq!(stdout(&o).trim(), "hello world");
    let o = run(&[
        "call",
        &s.1,
        "add",
        "--json",
        r#"{"a":1.5,"b":2}"#,
        "--output",
        "json",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["structuredContent"]["sum"], 3.5);
}

#[test]
fn call_reports_progress_on_stderr() {
    let s = serve();
    let o = run(&["call", &s.1, "count", "steps=2"]);
    assert!(o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("progress: 1/2") && err.contains("progress: 2/2"),
        "{err}"
    );
}

#[test]
fn exit_codes_tell_failures_apart() {
    let s = serve();
    assert_eq!(
        run(&["call", &s.1, "no_such_tool"]).status.code(),
        Some(6),
        "server error"
    );
    assert_eq!(
        run(&["call", &s.1, "add", "a=x"]).status.code(),
        Some(5),
        "tool reported isError"
    );
    assert_eq!(
        run(&["call", &s.1, "echo", "novalue"]).status.code(),
        Some(2),
        "usage"
    );
    assert_eq!(
        run(&["tools", "http://127.0.0.1:1/mcp"]).status.code(),
        Some(3),
        "cannot connect"
    );
}

#[test]
fn the_same_commands_work_against_a_stdio_server() {
    let o = run(&["tools", "--", BIN, "serve", "--stdio"]);
    assert!(o.status.success(), "{o:?}");
    assert!(stdout(&o).contains("current_time"));
    let o = run(&[
        "call",
        "echo",
        "text=over stdio",
        "--",
        BIN,
        "serve",
        "--stdio",
    ]);
    assert_eq!(stdout(&o).trim(), "over stdio", "{o:?}");
}
