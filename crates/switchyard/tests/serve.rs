//! `switchyard serve` as a user runs it: a real process, a real port, a graceful stop.
#![allow(clippy::unwrap_used)] // Test code: a panic is the failure report.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

#[test]
fn serve_answers_a_tool_call_and_stops_gracefully_on_sigterm() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .args(["serve", "--listen", "127.0.0.1:0", "--danger-no-auth"])
        .env(
            "XDG_DATA_HOME",
            std::env::temp_dir().join("switchyard-test-data"),
        )
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    while err.read_line(&mut line).unwrap() > 0 && !line.contains("serving MCP at") {
        line.clear();
    }
    let url = line.trim().rsplit(' ').next().unwrap().to_owned();
    assert!(
        url.starts_with("http://127.0.0.1:") && url.ends_with("/mcp"),
        "{line}"
    );
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let body = r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"add","arguments":{"a":2,"b":40},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}"#;
    let r = client
        .post(&url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", "tools/call")
        .header("mcp-name", "add")
        .body(body)
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: serde_json::Value = serde_json::from_str(&r.text().unwrap()).unwrap();
    assert_eq!(v["result"]["structuredContent"]["sum"], 42.0);
    let pid = child.id().to_string();
    let killed = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    assert!(status.success(), "graceful shutdown exits 0, got {status}");
}

#[test]
fn serve_by_default_protects_the_endpoint_with_its_own_authorization_server() {
    let data = std::env::temp_dir().join(format!("switchyard-secured-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    std::fs::create_dir_all(&data).unwrap();
    let cfg = data.join("switchyard.toml");
    std::fs::write(
        &cfg,
        "[[auth.clients]]\nclient_id = \"robot\"\nclient_secret_env = \"ROBOT_SECRET\"\nredirect_uris = []\ngrant_types = [\"client_credentials\"]\n",
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .args(["serve", "--listen", "127.0.0.1:0", "--config"])
        .arg(&cfg)
        .env("XDG_DATA_HOME", &data)
        .env("ROBOT_SECRET", "s3cret-for-tests")
        .env("SWITCHYARD_ADMIN_PASSWORD", "admin-pass-for-tests")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut url = String::new();
    let mut line = String::new();
    while err.read_line(&mut line).unwrap() > 0 {
        if let Some(u) = line.trim().strip_prefix("switchyard: serving MCP at ") {
            url = u.to_owned();
            break;
        }
        line.clear();
    }
    assert!(url.ends_with("/mcp"), "no serving line; last: {line}");
    let base = url.trim_end_matches("/mcp").to_owned();
    let http = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let call = |token: Option<&str>| {
        let mut r = http
            .post(&url)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", "2026-07-28")
            .header("mcp-method", "tools/list")
            .body(r#"{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}"#);
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        r.send().unwrap()
    };
    let anon = call(None);
    assert_eq!(anon.status(), 401);
    let www = anon.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        www.contains(&format!(
            "resource_metadata=\"{base}/.well-known/oauth-protected-resource/mcp\""
        )),
        "{www}"
    );
    let prm: serde_json::Value = http
        .get(format!("{base}/.well-known/oauth-protected-resource/mcp"))
        .send()
        .unwrap()
        .text()
        .unwrap()
        .parse::<serde_json::Value>()
        .unwrap();
    assert_eq!(prm["resource"], url);
    let tok: serde_json::Value = http
        .post(format!("{base}/token"))
        .basic_auth("robot", Some("s3cret-for-tests"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("resource", url.as_str()),
            ("scope", "mcp:read"),
        ])
        .send()
        .unwrap()
        .text()
        .unwrap()
        .parse()
        .unwrap();
    let token = tok["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("no token: {tok}"));
    let ok = call(Some(token));
    assert_eq!(ok.status(), 200);
    let v: serde_json::Value = serde_json::from_str(&ok.text().unwrap()).unwrap();
    assert!(v["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["name"] == "echo"));
    assert_eq!(call(Some("not-a-token")).status(), 401);
    let metrics = http
        .get(format!("{base}/metrics"))
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(
        metrics.contains("switchyard_requests_total{status=\"2xx\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("switchyard_requests_total{status=\"4xx\"} 2"),
        "{metrics}"
    );
    let manifest: serde_json::Value = http
        .get(format!("{base}/.well-known/mcp"))
        .send()
        .unwrap()
        .text()
        .unwrap()
        .parse::<serde_json::Value>()
        .unwrap();
    assert_eq!(manifest["endpoint"], url);
    assert_eq!(manifest["auth"]["token_url"], format!("{base}/token"));
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn user_add_list_remove_round_trips_through_the_database() {
    let data = std::env::temp_dir().join(format!("switchyard-users-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    std::fs::create_dir_all(&data).unwrap();
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_switchyard"))
            .args(args)
            .env("XDG_DATA_HOME", &data)
            .env("BOB_PW", "a long enough password")
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    assert!(run(&["user", "add", "bob", "--password-env", "BOB_PW"])
        .status
        .success());
    let list = run(&["user", "list"]);
    assert_eq!(String::from_utf8_lossy(&list.stdout).trim(), "bob");
    assert!(run(&["user", "remove", "bob"]).status.success());
    assert_eq!(run(&["user", "remove", "bob"]).status.code(), Some(1));
    assert!(String::from_utf8_lossy(&run(&["user", "list"]).stdout)
        .trim()
        .is_empty());
    assert!(
        !run(&["user", "add", "carol"]).status.success(),
        "an empty password is refused"
    );
}

#[test]
fn logs_can_be_json_lines() {
    let data = std::env::temp_dir().join(format!("switchyard-jsonlog-{}", std::process::id()));
    let mut child = Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .args(["serve", "--listen", "127.0.0.1:0", "--danger-no-auth"])
        .env("XDG_DATA_HOME", &data)
        .env("SWITCHYARD_LOG_FORMAT", "json")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    let mut found = None;
    while err.read_line(&mut line).unwrap() > 0 {
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(line.trim()) {
            if v["fields"]["message"] == "serving" {
                found = Some(v);
                break;
            }
        }
        line.clear();
    }
    let _ = child.kill();
    let _ = child.wait();
    let v = found.expect("a JSON log line for the serving event");
    assert_eq!(v["level"], "INFO");
    assert!(v["fields"]["endpoint"].as_str().unwrap().ends_with("/mcp"));
}
